"""Figures of chapter `captioning`: the words' frequencies, and test photos with their captions."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from reprolab import figures
from reprolab.chapters.sequences.plots import plain


def word_frequencies(words: list[str], counts: list[int], total: int, kept_share: float, path: Path,
                     title: str) -> Path:
    """The most frequent words' shares (bars) and their cumulative share (line), in % of all occurrences."""
    plt = figures.plt
    shares = 100 * np.asarray(counts, dtype=float) / max(total, 1)
    fig, ax = plt.subplots(figsize=(10, 4.2), constrained_layout=True)
    ax.bar(range(len(words)), shares, color=figures.PALETTE(0), label="share of the word")
    ax.set_xticks(range(len(words)), [plain(w) for w in words], rotation=90, fontsize=6)
    ax.set(ylabel="% of word occurrences", xlim=(-0.7, len(words) - 0.3))
    cumulative = ax.twinx()
    cumulative.plot(range(len(words)), np.cumsum(shares), color=figures.PALETTE(1), marker=".",
                    label="cumulative share")
    cumulative.axhline(kept_share, color=figures.PALETTE(2), linestyle="--",
                       label=f"all kept words: {kept_share:.1f} %")
    cumulative.set(ylabel="cumulative %", ylim=(0, 100))
    handles = ax.get_legend_handles_labels()[0] + cumulative.get_legend_handles_labels()[0]
    ax.legend(handles, [h.get_label() for h in handles], fontsize=8, loc="center right")
    ax.set_title(title, fontsize=10)
    return figures._save(fig, path)


def captioned_photos(photos: list[np.ndarray], texts: list[list[str]], path: Path, title: str) -> Path:
    """Photos (uint8 [3, H, W]) side by side, each with its lines of text (captions) below it."""
    plt = figures.plt
    n = len(photos)
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 3.4), squeeze=False)
    fig.subplots_adjust(left=0.01, right=0.99, top=0.9, bottom=0.02, wspace=0.06)
    for ax, photo, lines in zip(axes[0], photos, texts, strict=True):
        ax.imshow(np.asarray(photo).transpose(1, 2, 0))
        ax.set(xticks=[], yticks=[])
        wrapped = "\n".join(textwrap.fill(plain(line), 38, subsequent_indent="  ") for line in lines)
        ax.text(0, -0.04, wrapped, transform=ax.transAxes, va="top", ha="left", fontsize=6.5,
                family="monospace")
    fig.suptitle(title, fontsize=10)
    return figures._save(fig, path)
