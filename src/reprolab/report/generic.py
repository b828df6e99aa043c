"""What every experiment's report part has, and the summariser of the core `train` kind."""

from __future__ import annotations

import numpy as np

from reprolab import figures
from reprolab.registry import Variant
from reprolab.report.parts import Context, ExperimentPart, Figure, Row, Table, VariantResult, fmt, verdict

SETUP_COLUMNS = ["variant", "model", "parameters", "data", "train / test", "optimiser",
                 "batch", "epochs", "seeds"]


def optimizer_text(params: dict) -> str:
    opt = params.get("optimizer", {})
    extras = ", ".join(f"{k} {v}" for k, v in opt.items() if k not in ("name", "lr"))
    text = f"{opt.get('name', '?')} lr {opt.get('lr', '?')}" + (f" ({extras})" if extras else "")
    if sched := params.get("scheduler"):
        text += f"; {sched['name']} schedule " + ", ".join(
            f"{k} {v}" for k, v in sched.items() if k != "name")
    return text


def train_setup_row(variant: Variant, metrics: dict) -> Row:
    p = variant.params
    options = ", ".join(f"{k}={v}" for k, v in p.get("model_options", {}).items())
    data = p["dataset"] + (" (train/test swapped)" if p.get("swap_splits") else "")
    data += "; standardised" if p.get("standardize") else ""
    if augment := p.get("augment"):
        data += "; augment " + ", ".join(f"{k} {v}" for k, v in augment.items())
    return Row([variant.name, p["model"] + (f" ({options})" if options else ""), fmt(metrics.get("params")),
                data, f"{metrics.get('n_train', 0):,} / {metrics.get('n_test', 0):,}",
                optimizer_text(p), str(p["batch_size"]), str(p["epochs"]),
                ", ".join(map(str, variant.seeds))])


def confusion_notes(matrix) -> list[str]:
    """Per-class recall extremes and the most frequent confusion, from a confusion matrix."""
    matrix = np.asarray(matrix)
    recall = 100 * np.diag(matrix) / np.maximum(matrix.sum(1), 1)
    off = matrix - np.diag(np.diag(matrix))
    notes = [f"per-class test accuracy ranges from {recall.min():.1f} % (class {recall.argmin()}) "
             f"to {recall.max():.1f} % (class {recall.argmax()})."]
    if off.sum():
        true, predicted = np.unravel_index(off.argmax(), off.shape)
        notes.append(f"the most frequent confusion is {true} taken for {predicted} ({off.max()} of "
                     f"{matrix[true].sum()} test examples of {true}); {off.sum()} errors in all.")
    return notes


def train(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """The setup table of supervised variants; their confusion matrices where they were asked for."""
    part.setup = Table(SETUP_COLUMNS, [train_setup_row(r.variant, r.metrics) for r in results.values()])
    for name, r in results.items():
        if "confusion" in r.metrics:
            path = figures.confusion(r.metrics["confusion"],
                                     ctx.figures_dir / f"{r.variant.experiment}_{name}_confusion.png",
                                     f"{name}: test confusion matrix")
            part.figures.append(Figure(str(path), f"{r.variant.id}: confusion matrix on the test set"))
            part.observations += [f"{name}: {note}" for note in confusion_notes(r.metrics["confusion"])]


def results_table(results: dict[str, VariantResult], ctx: Context) -> Table | None:
    """Ours against the seed's number for the experiment's primary metric, one row per variant."""
    scored = [r for r in results.values() if r.metrics.get(ctx.primary) is not None]
    if not scored:
        return None
    rows = []
    for r in scored:
        reference = ctx.reference(r.name)
        status, diff = verdict(r.metrics[ctx.primary], reference, ctx.tolerance, ctx.smoke, ctx.direction)
        train_metric = ctx.primary.replace("test_", "train_", 1)
        rows.append(Row([r.name, fmt(r.metrics[ctx.primary], r.metrics.get(f"{ctx.primary}_std")),
                         fmt(r.metrics.get(train_metric)) if train_metric != ctx.primary else "—",
                         reference.text() if reference else "—",
                         reference.citation() if reference else "—",
                         "—" if diff is None else f"{diff:+.2f}", status], status))
    label = ctx.primary.replace("_acc", " acc. (%)").replace("_", " ")
    return Table(["variant", label, label.replace("test", "train", 1), "seed's reference", "source",
                  "difference", "verdict"], rows)


def curves(results: dict[str, VariantResult]) -> list[Figure]:
    """The per-epoch curves of every variant that has a history."""
    return [Figure(r.file("curves.png"), f"{r.variant.id}: loss and accuracy per epoch")
            for r in results.values() if r.history is not None]
