"""The figures of chapter `visualization`: images beside their maps, in grids, drawn with matplotlib.

Images are RGB arrays [H, W, 3] in [0, 1]; maps are [H, W] arrays. Labels and titles come from
the data (class names) and are drawn as text, never interpreted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reprolab.figures import DPI, PALETTE, plt

CELL = 1.25  # inches per image
ALPHA = 0.5  # CAM overlays: TorchCAM's demo blends image and heat map half and half


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def heat(values: np.ndarray, cmap: str = "jet") -> np.ndarray:
    """A map [H, W] in [0, 1] as RGB [H, W, 3] through a colour map."""
    return plt.get_cmap(cmap)(np.clip(values, 0, 1))[..., :3]


def overlay(image: np.ndarray, values: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """An image with a map [H, W] in [0, 1] laid over it (jet colour map), as TorchCAM's `overlay_mask`."""
    return (1 - alpha) * image + alpha * heat(values)


def grid(cells: list[list[np.ndarray]], path: Path, title: str, column_titles: list[str] | None = None,
         cell_titles: list[list[str]] | None = None, row_labels: list[str] | None = None) -> Path:
    """A grid of RGB images, `cells[row][column]` (maps made RGB by `heat` or `overlay`), with optional
    titles per column or per cell, and labels per row."""
    rows, columns = len(cells), max(len(r) for r in cells)
    fig, axes = plt.subplots(rows, columns, figsize=(CELL * columns,
                                                     CELL * rows + 0.35 * (1 + bool(cell_titles))),
                             squeeze=False, constrained_layout=True)
    for i, row in enumerate(cells):
        for j in range(columns):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= len(row):
                ax.set_axis_off()
                continue
            ax.imshow(row[j], interpolation="nearest" if row[j].shape[0] < 100 else "antialiased")
            if cell_titles and cell_titles[i][j]:
                ax.set_title(cell_titles[i][j], fontsize=6)
            elif column_titles and i == 0:
                ax.set_title(column_titles[j], fontsize=7)
        if row_labels:
            axes[i, 0].set_ylabel(row_labels[i], fontsize=7)
    fig.suptitle(title, fontsize=9)
    return _save(fig, path)


def class_visualization(runs: list[dict], path: Path, title: str) -> Path:
    """One row per run: its snapshots (iteration above each), then the target's score and probability per
    iteration. `runs`: {label, snapshots: {iteration: RGB}, scores, probabilities}."""
    columns = max(len(r["snapshots"]) for r in runs) + 1
    fig = plt.figure(figsize=(CELL * (columns + 1), CELL * len(runs) + 0.5), constrained_layout=True)
    spec = fig.add_gridspec(len(runs), columns + 1)
    for i, run in enumerate(runs):
        for j, (iteration, image) in enumerate(run["snapshots"].items()):
            ax = fig.add_subplot(spec[i, j])
            ax.imshow(image)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"t = {iteration}", fontsize=6)
            if j == 0:
                ax.set_ylabel(run["label"], fontsize=7)
        ax = fig.add_subplot(spec[i, columns - 1:])
        steps = np.arange(len(run["scores"]))
        ax.plot(steps, run["scores"], color=PALETTE(0), lw=1)
        ax.set_ylabel("score s_y", fontsize=6, color=PALETTE(0))
        ax.tick_params(labelsize=6)
        twin = ax.twinx()
        twin.plot(steps, run["probabilities"], color=PALETTE(1), lw=1)
        twin.set_ylim(0, 100)
        twin.set_ylabel("probability (%)", fontsize=6, color=PALETTE(1))
        twin.tick_params(labelsize=6)
        ax.set_xlabel("iteration", fontsize=6)
    fig.suptitle(title, fontsize=9)
    return _save(fig, path)
