"""Figures of the report, drawn with matplotlib (Agg) and saved as PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402
from scipy.spatial import ConvexHull, QhullError  # noqa: E402

DPI = 150
PALETTE = plt.get_cmap("tab10")


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def curves(history: pd.DataFrame, path: Path, title: str) -> Path:
    """Loss and accuracy per epoch, train and test (and validation when present)."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.2))
    for split, style in (("train", "-"), ("test", "--"), ("val", ":")):
        if f"{split}_loss" in history and history[f"{split}_loss"].notna().any():
            ax_loss.plot(history["epoch"], history[f"{split}_loss"], style, marker=".", label=split)
            ax_acc.plot(history["epoch"], history[f"{split}_acc"], style, marker=".", label=split)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return _save(fig, path)


def overlay(histories: dict[str, pd.DataFrame], column: str, path: Path, title: str,
            ylabel: str) -> Path:
    """One curve per variant of `column` against the epoch (the synthesis figures)."""
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for i, (name, history) in enumerate(histories.items()):
        ax.plot(history["epoch"], history[column], marker=".", color=PALETTE(i % 10), label=name)
    ax.set(xlabel="epoch", ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    if len(histories) > 4:  # many variants: the legend beside the axes, not over the curves
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    else:
        ax.legend()
    return _save(fig, path)


def embedding(points: np.ndarray, labels: np.ndarray, path: Path, title: str) -> Path:
    """2-D embedding coloured by class, with per-class convex hulls and 2-sigma ellipses."""
    fig, (ax_hull, ax_gmm) = plt.subplots(1, 2, figsize=(10, 4.6))
    for ax, panel in ((ax_hull, "convex hulls"), (ax_gmm, "Gaussian ellipses (2 std)")):
        ax.scatter(points[:, 0], points[:, 1], c=[PALETTE(int(c) % 10) for c in labels], s=3,
                   alpha=0.6, linewidths=0)
        ax.set_title(panel, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    for c in np.unique(labels):
        pts = points[labels == c]
        color = PALETTE(int(c) % 10)
        if len(pts) >= 3:
            try:
                hull = ConvexHull(pts)
                loop = np.append(hull.vertices, hull.vertices[0])
                ax_hull.plot(pts[loop, 0], pts[loop, 1], color=color, lw=1.2)
            except QhullError:
                pass
        if len(pts) >= 2:
            mean, cov = pts.mean(0), np.cov(pts.T)
            values, vectors = np.linalg.eigh(cov)
            angle = np.degrees(np.arctan2(vectors[1, -1], vectors[0, -1]))
            width, height = 4 * np.sqrt(np.maximum(values[::-1], 0))
            ax_gmm.add_patch(Ellipse(mean, width, height, angle=angle, fill=False, color=color, lw=1.5))
            ax_gmm.annotate(str(int(c)), mean, color=color, weight="bold", ha="center")
    handles = [plt.Line2D([], [], marker="o", ls="", color=PALETTE(int(c) % 10), label=str(int(c)))
               for c in np.unique(labels)]
    fig.legend(handles=handles, loc="center right", title="class")
    fig.suptitle(title)
    return _save(fig, path)


def image_grid(images: np.ndarray, path: Path, title: str, columns: int = 20) -> Path:
    """A grid of grayscale images [N, H, W]."""
    rows = int(np.ceil(len(images) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 0.4, rows * 0.4))
    for ax, i in zip(np.ravel(axes), range(rows * columns), strict=True):
        ax.axis("off")
        if i < len(images):
            ax.imshow(images[i], cmap="gray")
    fig.suptitle(title)
    return _save(fig, path)


def decision_boundary(score, x: np.ndarray, y: np.ndarray, path: Path, title: str,
                      level: float = 0.5, steps: int = 200) -> Path:
    """A 2-D classifier's regions (`score(points) -> [N]`, class 1 above `level`) and the points."""
    pad = 0.3
    (x0, y0), (x1, y1) = x.min(0) - pad, x.max(0) + pad
    gx, gy = np.meshgrid(np.linspace(x0, x1, steps), np.linspace(y0, y1, steps))
    scores = np.asarray(score(np.c_[gx.ravel(), gy.ravel()])).reshape(gx.shape)
    fig, ax = plt.subplots(figsize=(4.2, 4))
    ax.contourf(gx, gy, scores > level, levels=[-0.5, 0.5, 1.5], colors=[PALETTE(0), PALETTE(1)],
                alpha=0.25)
    ax.contour(gx, gy, scores, levels=[level], colors="k", linewidths=1)
    for c in np.unique(y):
        ax.scatter(*x[y == c].T, s=10, color=PALETTE(int(c)), label=f"class {int(c)}")
    ax.set(aspect="equal", title=title)
    ax.title.set_fontsize(8)
    ax.legend(fontsize=7, loc="upper right")
    return _save(fig, path)


def sweep(table: pd.DataFrame, x: str, columns: list[str], path: Path, title: str, ylabel: str) -> Path:
    """Metrics against one hyper-parameter, on a log axis (e.g. accuracy against an SVM's C)."""
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for i, column in enumerate(columns):
        ax.plot(table[x], table[column], marker="o", color=PALETTE(i), label=column)
    ax.set(xscale="log", xlabel=x, ylabel=ylabel, title=title)
    ax.title.set_fontsize(9)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)
