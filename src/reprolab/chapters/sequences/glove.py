"""GloVe vectors of the Flickr8k caption words, as the course's `Caption_Embeddings` file.

The rows are the words of the training captions (lower-cased, split on whitespace) that GloVe
knows, in GloVe's order (most frequent first), plus GloVe's own "unk", then `<start>` and `<end>`;
each word's 100 values are followed by two zeros, and `<start>` / `<end>` are the two extra one-hot
dimensions (102-d). Every row is L2-normalised. Chapter `captioning` reads the same file.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import torch

from reprolab.data.assets.vectors import read_glove

START, END, UNKNOWN = "<start>", "<end>", "unk"


def caption_words(captions: list[list[str]]) -> Counter:
    """Occurrences of each word of the captions (each image's list of captions), lower-cased, split on
    whitespace."""
    return Counter(word for image in captions for caption in image for word in caption.lower().split())


def caption_embeddings(captions: list[list[str]], glove: Path, dim: int = 100) -> dict:
    """The words, their 102-d rows (L2-normalised) and the facts the report gives about them."""
    counts = caption_words(captions)
    found, vectors = read_glove(glove, dim, vocabulary=set(counts) | {UNKNOWN})
    norms = vectors.norm(dim=1)
    rows = torch.cat([torch.cat([vectors, torch.zeros(len(found), 2)], 1),
                      torch.cat([torch.zeros(2, dim), torch.eye(2)], 1)])
    rows = rows / rows.norm(dim=1, keepdim=True).clamp(min=1e-12)
    in_glove = [w for w in counts if w in set(found)]
    missing = Counter({w: c for w, c in counts.items() if w not in set(found)})
    facts = {"caption_words": len(counts), "caption_occurrences": sum(counts.values()),
             "found_in_glove": len(in_glove), "unk_in_glove": UNKNOWN in found,
             "found_pct": 100 * len(in_glove) / max(len(counts), 1),
             "occurrences_covered_pct": 100 * sum(counts[w] for w in in_glove) / max(sum(counts.values()), 1),
             "rows": len(found) + 2, "dim": dim + 2,
             "glove_norm_min": float(norms.min()) if len(norms) else None,
             "glove_norm_mean": float(norms.mean()) if len(norms) else None,
             "glove_norm_max": float(norms.max()) if len(norms) else None,
             "glove_norm_rank_spearman": rank_correlation(norms.numpy()),
             "most_frequent_missing": [[w, c] for w, c in missing.most_common(10)]}
    return {"words": [*found, START, END], "vectors": rows.float(), "facts": facts}


def rank_correlation(values: np.ndarray) -> float | None:
    """Spearman's correlation between `values` and their order (GloVe's file order: most frequent first)."""
    if len(values) < 3:
        return None
    ranks = np.argsort(np.argsort(values, kind="stable"), kind="stable").astype(float)
    return float(np.corrcoef(ranks, np.arange(len(values), dtype=float))[0, 1])


def nearest(vectors: np.ndarray, point: np.ndarray, k: int) -> np.ndarray:
    """Indices of the `k` rows nearest `point` (Euclidean; on unit rows, the largest cosine)."""
    return np.argsort(np.linalg.norm(vectors - point, axis=1), kind="stable")[:k]
