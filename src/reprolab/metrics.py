"""Metrics that are not a one-liner in torch."""

from __future__ import annotations

import numpy as np


def neighbourhood_hit(points: np.ndarray, labels: np.ndarray, k: int = 6) -> float:
    """Mean fraction of each point's k nearest neighbours (itself excluded) sharing its label."""
    from sklearn.neighbors import NearestNeighbors  # here: importing scikit-learn costs every job a second

    labels = np.asarray(labels)
    k = min(k, len(points) - 1)
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points)
    neighbours = idx[:, 1:]
    return float((labels[neighbours] == labels[:, None]).mean())


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    arr = np.asarray(values, dtype=float)
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else 0.0
