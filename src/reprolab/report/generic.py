"""What every experiment's report part has, and the summariser of the core `train` kind."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from reprolab import figures
from reprolab.registry import Variant
from reprolab.report import method
from reprolab.report.parts import Context, ExperimentPart, Figure, Row, Table, VariantResult, fmt, verdict

SETUP_COLUMNS = ["variant", "model", "parameters", "data", "train / test", "optimiser",
                 "batch", "epochs", "seeds"]


def optimizer_text(params: dict) -> str:
    """A variant's optimiser and schedule in words (`method.optimizer_words`)."""
    return method.optimizer_words(params.get("optimizer", {}), params.get("scheduler"))


def train_setup_row(variant: Variant, metrics: dict, model: str | None = None) -> Row:
    """A `train` variant's row of the setup table (`SETUP_COLUMNS`), in words (`model`: the model
    cell, `method.model_cells`)."""
    return Row(method.setup_row(variant, metrics, model))


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
    """The method of supervised variants (paragraphs, the setup table without the columns every
    variant shares, each distinct network layer by layer); their confusion matrices where asked for."""
    part.method += method.train_method(results)
    models = method.model_cells(results)
    part.setup = method.setup_table(SETUP_COLUMNS, [train_setup_row(r.variant, r.metrics, models.get(name))
                                                    for name, r in results.items()])
    part.method_tables += method.network_tables(results)
    for name, r in results.items():
        if "confusion" in r.metrics:
            path = figures.confusion(r.metrics["confusion"],
                                     ctx.figures_dir / f"{r.variant.experiment}_{name}_confusion.png",
                                     f"{name}: test confusion matrix")
            part.figures.append(Figure(str(path), f"{r.variant.id}: confusion matrix on the test set"))
            part.observations += [f"{name}: {note}" for note in confusion_notes(r.metrics["confusion"])]


def chance(metrics: dict) -> float | None:
    """Chance accuracy, 100 / K %, of a classifier whose metrics name its K classes."""
    k = metrics.get("n_classes")
    return 100 / k if k else None


def results_table(results: dict[str, VariantResult], ctx: Context) -> Table | None:
    """Ours against the seed's number for the experiment's primary metric, one row per variant; for
    accuracies of classifiers, chance (100 / K %) beside them. Each row's `record` holds the numbers
    unformatted (the scorecard and its CSV read them)."""
    scored = [r for r in results.values() if r.metrics.get(ctx.primary) is not None]
    if not scored:
        return None
    with_chance = ctx.primary.endswith("_acc") and any(chance(r.metrics) for r in scored)
    with_train = ctx.primary.startswith("test_")  # its train counterpart beside it
    train_metric = ctx.primary.replace("test_", "train_", 1)
    rows = []
    for r in scored:
        reference = ctx.reference(r.name)
        value, std = r.metrics[ctx.primary], r.metrics.get(f"{ctx.primary}_std")
        status, diff = verdict(value, reference, ctx.tolerance, ctx.smoke, ctx.direction)
        level = chance(r.metrics) if with_chance else None
        cells = [r.name, fmt(value, std)] + ([fmt(r.metrics.get(train_metric))] if with_train else [])
        cells += [fmt(level, digits=1)] if with_chance else []
        cells += [reference.text() if reference else "—", reference.source_text() if reference else "—",
                  "—" if diff is None else f"{diff:+.2f}", status]
        record = {"metric": ctx.primary, "direction": ctx.direction, "ours": value, "ours_std": std,
                  "chance": level, **(reference.record() if reference else {}), "difference": diff,
                  "verdict": status}
        rows.append(Row(cells, status, record))
    label = ctx.primary.replace("_acc", " acc. (%)").replace("_", " ")
    columns = ["variant", label] + ([label.replace("test", "train", 1)] if with_train else [])
    columns += ["chance (%)"] if with_chance else []
    return Table(columns + ["seed's reference", "source", "difference", "verdict"], rows)


def findings_table(ctx: Context) -> Table | None:
    """What the seed found in words about the experiment (references.yaml's `findings`), quoted, with
    its source: "What the seed found". Chapters check some of them against our numbers (`Claim`)."""
    if not ctx.findings:
        return None
    rows = [Row([", ".join(f.variants) or "all variants", f"«{f.quote}»" + (f" ({f.note})" if f.note else ""),
                 f.citation()]) for f in ctx.findings]
    return Table(["about", "the seed says", "source"], rows, "What the seed found, in its own words")


def curves(results: dict[str, VariantResult]) -> list[Figure]:
    """The per-epoch curves of every variant that has a history."""
    return [Figure(r.file("curves.png"), f"{r.variant.id}: loss and accuracy per epoch")
            for r in results.values() if r.history is not None]


# Per metric suffix: direction, tolerance (in units of `report.tolerance`) and digits shown. Losses are
# compared on the scale the seeds print them, as percentages ("loss: 8.31%", seed 002 TP 2), so one
# point of tolerance is 0.01 there. Metrics without a direction (parameter counts) get no verdict.
METRIC_KINDS = {"acc": ("max", 1.0, 2), "loss": ("min", 0.01, 4)}
EPOCH_METRIC = re.compile(r"epoch(\d+)_(\w+)")  # e.g. epoch1_test_acc: test_acc after epoch 1


def metric_label(metric: str) -> str:
    """`test_acc` -> "test acc. (%)", `epoch1_train_acc` -> "train acc. (%) after epoch 1"."""
    epoch = EPOCH_METRIC.fullmatch(metric)
    text = (epoch[2] if epoch else metric).replace("_acc", " acc. (%)").replace("_", " ")
    return text + (f" after epoch {epoch[1]}" if epoch else "")


def ours(result: VariantResult, metric: str) -> tuple[float | None, float | None]:
    """Our value of a metric and its std across seeds: from metrics.json, or `epoch<k>_<column>`
    read from the history (mean over seeds, no std)."""
    if metric in result.metrics:
        return result.metrics[metric], result.metrics.get(f"{metric}_std")
    epoch, history = EPOCH_METRIC.fullmatch(metric), result.history
    if epoch and history is not None and epoch[2] in history:
        found = history.loc[history["epoch"] == int(epoch[1]), epoch[2]]
        if len(found):
            return float(found.iloc[0]), None
    return None, None


def reference_tables(results: dict[str, VariantResult], ctx: Context) -> list[Table]:
    """Ours against the seed for each metric besides the primary one that the seed gives for some
    variant (train accuracies, test losses, accuracies after epoch k): one table per metric."""
    metrics = dict.fromkeys(ref.metric for refs in ctx.references.values() for ref in refs
                            if ref.metric != ctx.primary and ref.metric.rsplit("_", 1)[-1] in METRIC_KINDS)
    tables = []
    for metric in metrics:
        direction, scale, digits = METRIC_KINDS[metric.rsplit("_", 1)[-1]]
        rows = []
        for name, result in results.items():
            if (reference := ctx.reference(name, metric)) is None:
                continue
            value, std = ours(result, metric)
            status, diff = verdict(value, reference, ctx.tolerance * scale, ctx.smoke, direction)
            rows.append(Row([name, fmt(value, std, digits), reference.text(), reference.source_text(),
                             "—" if diff is None else f"{diff:+.{digits}f}", status], status))
        if rows:
            label = metric_label(metric)
            columns = ["variant", label, "seed's reference", "source", "difference", "verdict"]
            tables.append(Table(columns, rows, f"{label[0].upper()}{label[1:]}: ours against the seed's "
                                               f"number (matches within {ctx.tolerance * scale:g})"))
    return tables


CHANCE_LOSS = 0.1  # relative distance to ln K under which the initial loss is "at chance"
CHANCE_ACC = 5.0  # points from 100 / K under which the initial accuracy is "at chance"


def initial_table(results: dict[str, VariantResult], ctx: Context) -> Table | None:
    """Before any update (epoch 0): the test loss against ln K and the test accuracy against chance,
    100 / K %, for the classifiers with K classes. A model that predicts uniformly sits at both."""
    rows = []
    for name, r in results.items():
        m = r.metrics
        if m.get("initial_loss") is None or not m.get("n_classes"):
            continue
        k, loss, acc = m["n_classes"], m["initial_loss"], m["initial_acc"]
        at_chance = abs(loss - math.log(k)) <= CHANCE_LOSS * math.log(k) and abs(acc - 100 / k) <= CHANCE_ACC
        status = "n/a (smoke scale)" if ctx.smoke else "matches" if at_chance else "differs"
        rows.append(Row([name, str(k), fmt(loss, m.get("initial_loss_std"), 3), f"{math.log(k):.3f}",
                         f"{loss - math.log(k):+.3f}", fmt(acc, m.get("initial_acc_std")), f"{100 / k:.1f}",
                         f"{acc - 100 / k:+.2f}", status], status))
    if not rows:
        return None
    return Table(["variant", "classes K", "initial test loss", "ln K", "difference", "initial test acc. (%)",
                  "chance (%)", "difference", "verdict"], rows,
                 f"Before training (epoch 0): test loss against ln K, test accuracy against 100 / K "
                 f"(matches: within {CHANCE_LOSS:.0%} of ln K and {CHANCE_ACC:g} points of chance)")


@dataclass(frozen=True)
class Claim:
    """A statement of a seed, checked against our numbers."""

    statement: str  # what the seed says, quoted or paraphrased
    source: str  # e.g. "seed 000, ex. 1, q. 4"
    ours: str  # our numbers, in words
    holds: bool


def claims_table(claims: list[Claim], ctx: Context, title: str) -> Table | None:
    """The seed's statements beside our numbers, with whether each holds (not judged at smoke scale)."""
    if not claims:
        return None
    rows = []
    for claim in claims:
        status = "n/a (smoke scale)" if ctx.smoke else "holds" if claim.holds else "does not hold"
        rows.append(Row([claim.statement, claim.source, claim.ours, status], status))
    return Table(["the seed says", "source", "ours", "verdict"], rows, title)
