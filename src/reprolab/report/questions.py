"""Answers to the questions several chapters of the course ask, computed from the histories.

Each function takes the course's wording and where it is asked, and returns a `Question` whose
answer quotes our numbers (or None when no variant has what it needs). A chapter's report
module calls them with its seed's own words.
"""

from __future__ import annotations

import math

from torch import nn

from reprolab.architecture import example_input, layers
from reprolab.models import build_model
from reprolab.report.generic import initial_table
from reprolab.report.parts import Context, ExperimentPart, Question, Row, Table, VariantResult, trained_epochs

SMOKE_NOTE = " At smoke scale these numbers come from tiny synthetic data and say nothing about the model."


def _span(values: list[float], digits: int = 2) -> str:
    low, high = min(values), max(values)
    if round(low, digits) == round(high, digits):
        return f"{low:.{digits}f}"
    return f"{low:.{digits}f} to {high:.{digits}f}"


def initial_loss(results: dict[str, VariantResult], ctx: Context, quote: str, source: str) -> Question | None:
    """Before any update (epoch 0), is the test loss ln K and the accuracy chance, 100 / K %?"""
    rows = {n: r.metrics for n, r in results.items() if r.metrics.get("initial_loss") is not None
            and r.metrics.get("n_classes")}
    if not rows:
        return None
    ks = sorted({m["n_classes"] for m in rows.values()})
    losses = [m["initial_loss"] for m in rows.values()]
    accs = [m["initial_acc"] for m in rows.values()]
    expected = " and ".join(f"ln {k} = {math.log(k):.3f} and {100 / k:.1f} % for {k} classes" for k in ks)
    answer = (f"A network that has not learnt anything gives every class about the same probability 1/K, so "
              f"its cross-entropy is −ln(1/K) = ln K and it is right once in K: {expected}. We evaluate "
              f"every model before its first update (epoch 0): over {len(rows)} variant(s) the test loss is "
              f"{_span(losses, 3)} and the test accuracy {_span(accs)} %.")
    far = [n for n, m in rows.items() if abs(m["initial_loss"] - math.log(m["n_classes"]))
           > 0.1 * math.log(m["n_classes"])]
    if far:
        answer += (f" {len(far)} variant(s) start more than 10 % away from ln K ({', '.join(far)}): their "
                   f"initial weights do not give near-uniform outputs.")
    answer += SMOKE_NOTE if ctx.smoke else ""
    table = initial_table(results, ctx)
    return Question(quote, source, answer, [table] if table else [])


def epoch_one(results: dict[str, VariantResult], ctx: Context, quote: str, source: str) -> Question | None:
    """Why is the train accuracy below the test accuracy after the first epoch?"""
    pairs = {}
    for name, r in results.items():
        h = r.history
        if h is None or not {"train_acc", "test_acc"} <= set(h.columns):
            continue
        first = h[h["epoch"] == 1]
        if len(first):
            pairs[name] = (float(first["train_acc"].iloc[0]), float(first["test_acc"].iloc[0]))
    if not pairs:
        return None
    below = [n for n, (train, test) in pairs.items() if train < test]
    gaps = [test - train for train, test in pairs.values()]
    noisy = [n for n in pairs if _regularised(results[n])]
    answer = (f"After epoch 1 the train accuracy is below the test accuracy for {len(below)} of {len(pairs)} "
              f"variant(s) (test − train: {_span(gaps)} points). The train accuracy of an epoch is the mean "
              f"over its batches, each measured with the weights of that moment, most of them worse than "
              f"at the end of the epoch; the test accuracy is measured once, with the weights at the end of "
              f"the epoch. Early in training, when the weights improve fast, the average lags well behind: "
              f"the gap closes in later epochs.")
    if noisy:
        answer += (f" For {', '.join(noisy)}, dropout or augmentation is also active while training and off "
                   f"at test time, which lowers the train accuracy further.")
    return Question(quote, source, answer + (SMOKE_NOTE if ctx.smoke else ""))


def _regularised(result: VariantResult) -> bool:
    """Whether a variant trains with augmentation or with dropout in its network."""
    params = result.variant.params
    if params.get("augment"):
        return True
    if "model" not in params:
        return False
    model = build_model(params["model"], **params.get("model_options", {}))
    return any(isinstance(m, nn.Dropout) and m.p > 0 for m in model.modules())


def layer_table(found: list, title: str) -> Table:
    """The layers of a network (`architecture.layers`), as a course's per-layer question asks them:
    what each layer is, the shape of its output for one example, its parameters, and the total."""
    rows = [Row([layer.name, layer.description, " × ".join(map(str, layer.output_shape)),
                 f"{layer.params:,}"]) for layer in found]
    rows.append(Row(["total", "", "", f"{sum(layer.params for layer in found):,}"]))
    return Table(["layer", "what it is", "output shape (one example)", "parameters"], rows, title)


def seed_comparison(part: ExperimentPart) -> str | None:
    """The experiment's results table in words, for a discussion: each variant with a reference, ours
    against the seed's number and the verdict (or that smoke-scale numbers are not judged)."""
    table = part.results
    if table is None or "seed's reference" not in table.columns:
        return None
    col = {name: i for i, name in enumerate(table.columns)}
    ref, diff = col["seed's reference"], col["difference"]
    rows = [row for row in table.rows if row.cells[ref] != "—"]
    if not rows:
        return None
    if all(row.verdict == "n/a (smoke scale)" for row in rows):
        return f"{part.name}: the seed's numbers are not compared at smoke scale"
    return f"{part.name}: " + ", ".join(
        f"{row.cells[0]} {row.cells[1]} against {row.cells[ref]} ({row.cells[diff]}, {row.verdict})"
        for row in rows)


def network_layers(result: VariantResult, default_shape=None) -> list:
    """The layers of a variant's network (`architecture.Layer`s), built from its settings (`model`,
    `model_options`) and run on one zero example of its input shape (`input_shape` in its metrics,
    else `default_shape`): output shapes, parameters and receptive fields follow the code."""
    params = result.variant.params
    shape = result.metrics.get("input_shape") or default_shape
    if shape is None:
        raise ValueError(f"{result.variant.id}: no input_shape in its metrics and no default shape")
    return layers(build_model(params["model"], **params.get("model_options", {})), example_input(shape))


def shape_text(shape) -> str:
    """A shape as printed: `32 × 16 × 16` (channels × height × width), or a dict's shapes by key."""
    if isinstance(shape, dict):
        return ", ".join(f"{key} {shape_text(value)}" for key, value in shape.items())
    return " × ".join(str(int(s)) for s in shape)


def test_loss_course(history, rise: float = 0.05) -> tuple[int, float, float, bool]:
    """Over the trained epochs (1-N): the epoch of the lowest test loss, that loss, the final one, and whether
    the final one ends more than `rise` (relative) above the lowest (the test loss rises after its minimum).
    Only meaningful where `parts.enough_epochs` says so."""
    h = trained_epochs(history)
    low = int(h["test_loss"].to_numpy().argmin())
    lowest, final = float(h["test_loss"].iloc[low]), float(h["test_loss"].iloc[-1])
    return int(h["epoch"].iloc[low]), lowest, final, low < len(h) - 1 and final - lowest > rise * lowest
