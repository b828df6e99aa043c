"""Figures of chapter `sequences`: the GloVe clusters in t-SNE."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from reprolab import figures


def plain(text: str) -> str:
    """Data shown as text in a figure: its `$` escaped, so matplotlib never reads it as mathtext."""
    return str(text).replace("$", r"\$")


def clusters_tsne(points: np.ndarray, labels: np.ndarray, centres: list[int], names: list[str], path: Path,
                  title: str) -> Path:
    """t-SNE of the word vectors coloured by cluster; each centre a cross on its nearest word, named."""
    plt = figures.plt
    fig, ax = plt.subplots(figsize=(7.5, 6.2), constrained_layout=True)
    size = float(np.clip(3000 / max(len(points), 1), 2, 14))
    for c in range(int(labels.max()) + 1):
        members = labels == c
        ax.scatter(points[members, 0], points[members, 1], s=size, color=figures.PALETTE(c % 10), alpha=0.6,
                   linewidths=0, label=plain(f"{c}: {names[c]}"))
    for c, index in enumerate(centres):
        x, y = points[index]
        ax.scatter([x], [y], marker="X", s=160, color=figures.PALETTE(c % 10), edgecolors="black",
                   linewidths=1)
        ax.annotate(plain(names[c]), (x, y), xytext=(4, 4), textcoords="offset points", fontsize=9,
                    weight="bold")
    ax.set(title=title, xticks=[], yticks=[])
    ax.title.set_fontsize(10)
    ax.legend(fontsize=7, markerscale=2, loc="center left", bbox_to_anchor=(1.01, 0.5), title="cluster")
    return figures._save(fig, path)
