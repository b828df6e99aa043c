"""The `backprop` chapter: hand-written gradients, the four forms, zero initialisation, Circle, report."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from reprolab.chapters.backprop.jobs import (
    backward,
    cross_entropy,
    forward,
    hidden_symmetry,
    init_params,
    run_scratch_seed,
    trainer,
)
from reprolab.data.datasets import circle
from reprolab.errors import ConfigError
from reprolab.registry import Variant


@pytest.mark.parametrize("sizes, activation", [([2, 4, 2], "tanh"), ([30, 7, 5], "sigmoid"),
                                               ([30, 5], "tanh"), ([10, 6, 5, 3], "tanh")])
def test_manual_gradients_equal_autograd(sizes, activation):
    gen = torch.Generator().manual_seed(1)
    params = {k: v.double() for k, v in init_params(sizes, 0.5, seed=3).items()}
    params = {k: v + 0.1 * torch.randn(v.shape, generator=gen, dtype=torch.float64)
              for k, v in params.items()}  # non-zero biases too
    x = torch.randn(17, sizes[0], generator=gen, dtype=torch.float64)
    y = torch.randint(0, sizes[-1], (17,), generator=gen)

    probs, outputs = forward(params, x, activation)
    manual = backward(params, outputs, probs, y, activation)

    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    cross_entropy(forward(leaves, x, activation)[0], y).backward()
    assert manual.keys() == leaves.keys()
    for k in manual:
        torch.testing.assert_close(manual[k], leaves[k].grad, atol=1e-6, rtol=0)


def test_manual_gradients_are_not_trivially_equal():
    """The check above can fail: a wrong derivative gives other gradients."""
    params = {k: v.double() for k, v in init_params([2, 4, 2], 0.5, seed=0).items()}
    x, y = torch.randn(8, 2, dtype=torch.float64), torch.tensor([0, 1] * 4)
    probs, outputs = forward(params, x, "tanh")
    right = backward(params, outputs, probs, y, "tanh")
    wrong = backward(params, outputs, probs, y, "sigmoid")
    assert not torch.allclose(right["W0"], wrong["W0"], atol=1e-6)


def test_the_four_forms_train_the_same_network():
    data = circle.prepare(None)["train"]
    x, y = data["x"][:60], data["y"][:60]
    final = {}
    for method in ("manual", "autograd", "nn", "optim"):
        step, predict, weights = trainer(method, init_params([2, 4, 2], 0.3, seed=0), "tanh", lr=0.3)
        for start in range(0, 60, 10):
            step(x[start:start + 10], y[start:start + 10])
        final[method] = weights()
        assert predict(x).shape == (60, 2)
    for method in ("autograd", "nn", "optim"):
        for k, v in final["manual"].items():
            torch.testing.assert_close(final[method][k], v, atol=1e-6, rtol=0)


def test_unknown_method_fails_clearly():
    with pytest.raises(ConfigError, match="unknown scratch method"):
        trainer("keras", init_params([2, 4, 2], 0.3, seed=0), "tanh", lr=0.1)


def test_zero_initialisation_keeps_hidden_units_equal():
    gen = torch.Generator().manual_seed(0)
    x, y = torch.rand(50, 20, generator=gen), torch.randint(0, 3, (50,), generator=gen)
    for zero, expected in ((True, 1), (False, 6)):
        step, _, weights = trainer("manual", init_params([20, 6, 3], 0.1, seed=0, zero=zero), "sigmoid", 1.0)
        for _ in range(20):
            step(x, y)
        symmetry = hidden_symmetry(weights())
        assert symmetry["distinct_hidden_units"] == expected
        assert (symmetry["hidden_spread"] < 1e-6) == zero


def test_scratch_history_starts_with_the_initial_weights(tmp_path):
    """Epoch 0 evaluates the initial weights; the trained epochs are those of a loop without it."""
    data = circle.prepare(None)
    for split in ("train", "test"):
        torch.save(data[split], tmp_path / f"{split}.pt")
    params = {"kind": "scratch", "dataset": "circle", "method": "manual", "hidden": [4], "activation": "tanh",
              "init_std": 0.3, "lr": 0.3, "batch_size": 10, "epochs": 3}
    metrics = run_scratch_seed(Variant("backprop", "circle", "manual", params), 0, tmp_path, tmp_path / "out")
    history = pd.read_csv(tmp_path / "out" / "history.csv")
    assert history["epoch"].tolist() == [0, 1, 2, 3] and metrics["epochs"] == 3

    step, predict, _ = trainer("manual", init_params([2, 4, 2], 0.3, seed=0), "tanh", lr=0.3)

    def evaluate(split):
        probs, y = predict(data[split]["x"]), data[split]["y"]
        return cross_entropy(probs, y).item(), 100.0 * (probs.argmax(1) == y).float().mean().item()

    assert evaluate("test") == (metrics["initial_loss"], metrics["initial_acc"])
    assert evaluate("train") == tuple(history.loc[0, ["train_loss", "train_acc"]])
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        order = torch.randperm(200, generator=gen)
        for start in range(0, 200, 10):
            step(data["train"]["x"][order[start:start + 10]], data["train"]["y"][order[start:start + 10]])
    assert evaluate("test") == (metrics["test_loss"], metrics["test_acc"])


def test_circle_is_fixed_balanced_and_a_disc_inside_a_ring():
    first, second = circle.prepare(None), circle.prepare(None)
    for split in ("train", "test"):
        assert first[split]["x"].shape == (200, 2)
        assert torch.equal(first[split]["x"], second[split]["x"])
        assert first[split]["y"].sum() == 100
    radius = first["train"]["x"].norm(dim=1)
    labels = first["train"]["y"]
    assert radius[labels == 0].mean() < 0.75 < radius[labels == 1].mean()
    assert not torch.equal(first["train"]["x"], first["test"]["x"])


def test_smoke_report_has_every_backprop_variant(smoke_run):
    html = (smoke_run / "report" / "report.html").read_text()
    for variant_id in ("backprop/circle/manual", "backprop/circle/autograd", "backprop/circle/nn",
                       "backprop/circle/optim", "backprop/svm/linear", "backprop/svm/rbf",
                       "backprop/mnist/logreg_manual", "backprop/mnist/mlp_manual",
                       "backprop/mnist/mlp_zero_init", "backprop/mnist/mlp_optim"):
        assert (smoke_run / "results" / variant_id / "metrics.json").is_file()
        assert variant_id in html
    assert "decision boundary" in html
    assert "Symmetry of the hidden units" in html
    assert "first 200 training images" in html
    assert "the forms compute the same training" in html
    assert "Train acc. (%): ours against the seed" in html and "after epoch 1" in html
    assert "«La performance en initialisant la matrice des poids à 0" in html
