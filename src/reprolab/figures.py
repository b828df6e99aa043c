"""Figures of the report, drawn with matplotlib (Agg) and saved as PNG.

pandas and scipy are imported where they are used, not with the module: many jobs import it to
draw one figure, each in a fresh process.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Ellipse, Polygon  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

if TYPE_CHECKING:
    import pandas as pd

from reprolab.atomic import atomic_write  # noqa: E402

DPI = 150
PALETTE = plt.get_cmap("tab10")


def _save(fig, path: Path) -> Path:
    path = Path(path)
    try:
        with atomic_write(path, "wb") as f:
            fig.savefig(f, format=path.suffix[1:] or "png", dpi=DPI, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def _epoch_axis(ax) -> None:
    """Whole epochs only on the x axis."""
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch (0: before training)")


def curves(history: pd.DataFrame, path: Path, title: str) -> Path:
    """Loss above accuracy per epoch, train and test (and validation when present).

    Sized to be read two per row on an A4 page; `title` is the figure's only title.
    """
    fig, (ax_loss, ax_acc) = plt.subplots(2, 1, figsize=(4.6, 4.2), sharex=True, constrained_layout=True)
    for split, style in (("train", "-"), ("test", "--"), ("val", ":")):
        if f"{split}_loss" in history and history[f"{split}_loss"].notna().any():
            ax_loss.plot(history["epoch"], history[f"{split}_loss"], style, marker=".", label=split)
            ax_acc.plot(history["epoch"], history[f"{split}_acc"], style, marker=".", label=split)
    ax_loss.set_ylabel("loss")
    ax_acc.set_ylabel("accuracy (%)")
    ax_loss.set_title(title, fontsize=9)
    _epoch_axis(ax_acc)
    ax_loss.legend(fontsize=8)
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
    return _save(fig, path)


def overlay(histories: dict[str, pd.DataFrame], column: str, path: Path, title: str,
            ylabel: str) -> Path:
    """One curve per variant of `column` against the epoch (the synthesis figures)."""
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for i, (name, history) in enumerate(histories.items()):
        ax.plot(history["epoch"], history[column], marker=".", color=PALETTE(i % 10), label=name)
    ax.set(ylabel=ylabel, title=title)
    ax.title.set_fontsize(10)
    _epoch_axis(ax)
    ax.grid(alpha=0.3)
    if len(histories) > 4:  # many variants: the legend beside the axes, not over the curves
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    else:
        ax.legend()
    return _save(fig, path)


def embedding(points: np.ndarray, labels: np.ndarray, path: Path, title: str) -> Path:
    """2-D embedding coloured by class, with per-class convex hulls (lightly filled) and 2-sigma ellipses.

    The points are larger when they are few (a smoke run's hundreds, a full run's thousands).
    """
    from scipy.spatial import ConvexHull, QhullError

    size = float(np.clip(4000 / max(len(points), 1), 3, 16))
    fig, (ax_hull, ax_gmm) = plt.subplots(1, 2, figsize=(10, 4.6), constrained_layout=True)
    for ax, panel in ((ax_hull, "convex hulls"), (ax_gmm, "Gaussian ellipses (2 std)")):
        ax.scatter(points[:, 0], points[:, 1], c=[PALETTE(int(c) % 10) for c in labels], s=size,
                   alpha=0.7, linewidths=0)
        ax.set_title(panel, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    for c in np.unique(labels):
        pts = points[labels == c]
        color = PALETTE(int(c) % 10)
        if len(pts) >= 3:
            try:
                hull = ConvexHull(pts)
                ax_hull.add_patch(Polygon(pts[hull.vertices], facecolor=(*color[:3], 0.08), edgecolor=color,
                                          lw=1.2))
            except QhullError:
                pass
        if len(pts) >= 2:
            mean, cov = pts.mean(0), np.cov(pts.T)
            values, vectors = np.linalg.eigh(cov)
            angle = np.degrees(np.arctan2(vectors[1, -1], vectors[0, -1]))
            width, height = 4 * np.sqrt(np.maximum(values[::-1], 0))
            ax_gmm.add_patch(Ellipse(mean, width, height, angle=angle, fill=False, color=color, lw=1.5))
            ax_gmm.annotate(str(int(c)), mean, color=color, weight="bold", ha="center", va="center",
                            bbox={"boxstyle": "circle,pad=0.15", "fc": "white", "ec": color, "alpha": 0.8})
    handles = [plt.Line2D([], [], marker="o", ls="", color=PALETTE(int(c) % 10), label=str(int(c)))
               for c in np.unique(labels)]
    fig.legend(handles=handles, loc="outside right center", title="class")
    fig.suptitle(title, fontsize=11)
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


def hz_to_mel(hz):
    """HTK mel scale (torchaudio's default)."""
    return 2595 * np.log10(1 + np.asarray(hz) / 700)


def mel_to_hz(mel):
    return 700 * (10 ** (np.asarray(mel) / 2595) - 1)


def audio_views(samples: np.ndarray, rate: int, spectrogram_db: np.ndarray, mel_db: np.ndarray,
                hop_length: int, path: Path, title: str) -> Path:
    """Waveform, linear spectrogram and mel spectrogram of one recording, time in s, frequency in Hz.

    The mel panel puts each band at its centre frequency on a mel-scaled axis labelled in Hz.
    """
    fig, (ax_wave, ax_spec, ax_mel) = plt.subplots(3, 1, figsize=(7, 7.5), constrained_layout=True)
    ax_wave.plot(np.arange(len(samples)) / rate, samples, lw=0.6)
    ax_wave.set(xlabel="time (s)", ylabel="amplitude", title="waveform", xlim=(0, len(samples) / rate))
    frames = np.arange(spectrogram_db.shape[1]) * hop_length / rate
    freqs = np.linspace(0, rate / 2, spectrogram_db.shape[0])
    mesh = ax_spec.pcolormesh(frames, freqs, spectrogram_db, shading="nearest", cmap="magma")
    ax_spec.set(xlabel="time (s)", ylabel="frequency (Hz)", title="spectrogram (power, dB)")
    fig.colorbar(mesh, ax=ax_spec, label="dB")
    edges = hz_to_mel([0, rate / 2])
    centres = mel_to_hz(np.linspace(*edges, mel_db.shape[0] + 2)[1:-1])
    mesh = ax_mel.pcolormesh(frames, centres, mel_db, shading="nearest", cmap="magma")
    ax_mel.set_yscale("function", functions=(hz_to_mel, mel_to_hz))
    ax_mel.set_yticks([100, 250, 500, 1000, 2000, 3000, 4000])
    ax_mel.set(xlabel="time (s)", ylabel="frequency (Hz, mel scale)",
               title=f"mel spectrogram ({mel_db.shape[0]} bands, dB)")
    fig.colorbar(mesh, ax=ax_mel, label="dB")
    fig.suptitle(title)
    return _save(fig, path)


def confusion(matrix: np.ndarray, path: Path, title: str) -> Path:
    """Confusion matrix (rows: true class, columns: predicted), counts written in the cells."""
    matrix = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(5, 4.4))
    ax.imshow(matrix, cmap="Blues")
    threshold = matrix.max() / 2
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=7,
                color="white" if count > threshold else "black")
    ticks = np.arange(len(matrix))
    ax.set(xticks=ticks, yticks=ticks, xlabel="predicted class", ylabel="true class", title=title)
    return _save(fig, path)


def labelled_scatter(x: list[float], y: list[float], labels: list[str], path: Path, title: str,
                     xlabel: str, ylabel: str, logx: bool = False) -> Path:
    """One labelled point per model (e.g. accuracy against parameter count)."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for i, (xi, yi, label) in enumerate(zip(x, y, labels, strict=True)):
        ax.scatter(xi, yi, color=PALETTE(i % 10), s=40, zorder=3)
        ax.annotate(label, (xi, yi), textcoords="offset points", xytext=(6, 4), fontsize=8)
    if logx:
        ax.set_xscale("log")
    ax.margins(x=0.25, y=0.15)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3, which="both")
    return _save(fig, path)


def paired_grid(top: np.ndarray, bottom: np.ndarray, labels: list, path: Path, title: str,
                rows: tuple[str, str] = ("image", "spectrogram")) -> Path:
    """Two rows of images [N, H, W] (e.g. a digit and its spectrogram), labels on top.

    The top row may be signed (AV-MNIST's PCA-residual digits): a diverging colour map, symmetric
    about 0 per image (white 0, red positive, blue negative). The bottom row is min-max scaled per image.
    """
    n = len(labels)
    fig, axes = plt.subplots(2, n, figsize=(n * 0.9, 2.3), squeeze=False)
    for i in range(n):
        limit = float(np.abs(top[i]).max()) or 1.0
        axes[0, i].imshow(top[i], cmap="RdBu_r", vmin=-limit, vmax=limit)
        axes[1, i].imshow(bottom[i], cmap="magma")
        axes[0, i].set_title(str(labels[i]), fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].set_ylabel(rows[0], fontsize=8)
    axes[1, 0].set_ylabel(rows[1], fontsize=8)
    fig.suptitle(title, fontsize=10)
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


def equation(tex: str, path: Path, fontsize: int = 13) -> Path:
    """A display equation (matplotlib's mathtext, a subset of LaTeX) as an SVG with its text as
    paths, so that it looks the same in the HTML and in the PDF."""
    with plt.rc_context({"svg.fonttype": "path", "mathtext.fontset": "dejavuserif"}):
        fig = plt.figure(figsize=(0.01, 0.01))
        fig.text(0, 0, f"${tex}$", fontsize=fontsize)
        path = Path(path)
        try:
            with atomic_write(path, "wb") as f:
                fig.savefig(f, format="svg", bbox_inches="tight", pad_inches=0.04, transparent=True)
        finally:
            plt.close(fig)
    return path
