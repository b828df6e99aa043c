"""The figures of chapter `transfer`: predictions on photos, a labelled confusion matrix, per-class AP."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reprolab.figures import DPI, PALETTE, plt


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def predictions(images: list[np.ndarray], names: list[str], top: list[list[tuple[str, float]]], path: Path,
                title: str) -> Path:
    """One row per photo: the photo, then its top-k classes as horizontal bars (probability, %)."""
    n = len(images)
    fig, axes = plt.subplots(n, 2, figsize=(7.2, 1.9 * n), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1.6]}, constrained_layout=True)
    for row, (image, name, classes) in enumerate(zip(images, names, top, strict=True)):
        axes[row, 0].imshow(image)
        axes[row, 0].set_axis_off()
        axes[row, 0].set_title(name, fontsize=8)
        labels = [label for label, _ in classes][::-1]
        values = [p for _, p in classes][::-1]
        bars = axes[row, 1].barh(range(len(values)), values, color=PALETTE(0))
        axes[row, 1].set_yticks(range(len(values)), labels, fontsize=7)
        axes[row, 1].set_xlim(0, 100)
        axes[row, 1].bar_label(bars, [f"{v:.1f} %" for v in values], fontsize=7, padding=2)
        axes[row, 1].tick_params(axis="x", labelsize=7)
    axes[-1, 1].set_xlabel("softmax probability (%)", fontsize=8)
    fig.suptitle(title, fontsize=9)
    return _save(fig, path)


def confusion(matrix: np.ndarray, classes: list[str], path: Path, title: str) -> Path:
    """Confusion matrix (rows: true class, columns: predicted) with class names, counts in the cells."""
    matrix = np.asarray(matrix)
    k = len(matrix)
    fig, ax = plt.subplots(figsize=(0.42 * k + 2, 0.38 * k + 1.8))
    ax.imshow(matrix, cmap="Blues")
    threshold = matrix.max() / 2 if matrix.max() else 1
    for (i, j), count in np.ndenumerate(matrix):
        if count:
            ax.text(j, i, str(count), ha="center", va="center", fontsize=6,
                    color="white" if count > threshold else "black")
    ticks = np.arange(k)
    ax.set_xticks(ticks, classes, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(ticks, classes, fontsize=7)
    ax.set(xlabel="predicted class", ylabel="true class")
    ax.set_title(title, fontsize=9)
    return _save(fig, path)


def per_class(values: dict[str, dict[str, float]], path: Path, title: str, xlabel: str) -> Path:
    """Grouped horizontal bars: one group per class, one bar per series (e.g. per variant's AP)."""
    series = list(values)
    classes = list(next(iter(values.values())))
    height = 0.8 / len(series)
    fig, ax = plt.subplots(figsize=(6.5, 0.28 * len(classes) * max(1, len(series) * 0.7) + 1))
    for s, name in enumerate(series):
        ys = np.arange(len(classes)) + s * height
        ax.barh(ys, [values[name][c] for c in classes], height=height, color=PALETTE(s), label=name)
    ax.set_yticks(np.arange(len(classes)) + 0.4 - height / 2, classes, fontsize=7)
    ax.invert_yaxis()
    ax.set(xlabel=xlabel, xlim=(0, 100))
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=7, loc="lower right")
    return _save(fig, path)
