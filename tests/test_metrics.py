import numpy as np
import pytest

from reprolab.chapters.mnist.report import rising_tail
from reprolab.metrics import mean_std, neighbourhood_hit


def test_neighbourhood_hit_of_separated_clusters_is_one():
    rng = np.random.default_rng(0)
    points = np.concatenate([rng.normal(0, 0.1, (20, 2)), rng.normal(10, 0.1, (20, 2))])
    labels = np.repeat([0, 1], 20)
    assert neighbourhood_hit(points, labels, k=6) == 1.0


def test_neighbourhood_hit_of_alternating_labels_on_a_line():
    # points 0..9 on a line, labels alternate; with k=2 each inner point's two neighbours
    # are of the other class; each end point has one same-class neighbour out of two.
    points = np.arange(10, dtype=float)[:, None]
    labels = np.arange(10) % 2
    assert neighbourhood_hit(points, labels, k=2) == pytest.approx(2 * 0.5 / 10)


def test_mean_std():
    assert mean_std([1.0]) == (1.0, 0.0)
    assert mean_std([1.0, 3.0]) == (2.0, pytest.approx(np.sqrt(2)))


def test_rising_tail_counts_the_last_increases():
    assert rising_tail([3, 2, 1, 1.5, 2, 2.5]) == 3
    assert rising_tail([3, 2, 1]) == 0
