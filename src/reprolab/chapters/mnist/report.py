"""The report part of chapter `mnist`: the dropout/split study, manifold untangling, the Keras models."""

from __future__ import annotations

from reprolab import figures
from reprolab.report.parts import Context, ExperimentPart, Figure, Row, Table, VariantResult


def rising_tail(values: list[float]) -> int:
    """How many of the last epochs each raised the value over the epoch before."""
    count = 0
    for before, after in zip(values[-2::-1], values[:0:-1], strict=False):
        if after <= before:
            break
        count += 1
    return count


def dropout_split(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """Train and test losses of every variant on one figure each; overfitting, gaps, swapped splits."""
    histories = {name: r.history for name, r in results.items()}
    for column, label in (("train_loss", "train loss"), ("test_loss", "test loss")):
        path = figures.overlay(histories, column, ctx.figures_dir / f"dropout_split_{column}.png",
                               f"dropout_split: {label} of every variant", label)
        part.figures.append(Figure(str(path), f"All variants: {label} per epoch"))
    notes = part.observations
    for name, r in results.items():
        rises = rising_tail(list(r.history["test_loss"]))
        if rises >= 2:
            notes.append(f"{name}'s test loss rises over its last {rises} epochs "
                         f"({r.history['test_loss'].iloc[-rises - 1]:.4f} → "
                         f"{r.history['test_loss'].iloc[-1]:.4f}): overfitting.")
        gap = r.metrics["train_acc"] - r.metrics["test_acc"]
        notes.append(f"{name}: train/test accuracy gap {gap:+.2f} points.")
    pairs = [("main_2", "main_1", "training on the 10k test split"),
             ("main_3", "main_4", "training on the 10k split, without dropout")]
    for swapped, plain, what in pairs:
        if swapped in results and plain in results:
            a, b = results[swapped].metrics["test_acc"], results[plain].metrics["test_acc"]
            word = "below" if a < b else "above"
            notes.append(f"{swapped} ({what}) tests at {a:.2f} %, {abs(a - b):.2f} points {word} "
                         f"{plain} ({b:.2f} %).")


def untangling(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """The neighbourhood-hit table, the embeddings, and which representation separates best."""
    rows = []
    for name, r in results.items():
        m = r.metrics
        rows.append(Row([name, r.variant.params["representation"], f"{m['dimensions']:,}",
                         f"{m['n_points']:,}", f"{m['nh_pca']:.3f}", f"{m['nh_tsne']:.3f}"], "no reference"))
        for method in ("tsne", "pca"):
            part.figures.append(Figure(r.file(f"{method}.png"),
                                       f"{name}: {method.upper()} with convex hulls and Gaussian ellipses"))
    part.results = Table(["variant", "representation", "dimensions", "points",
                          "neighbourhood hit (PCA)", "neighbourhood hit (t-SNE)"], rows)
    ordered = sorted(results.items(), key=lambda item: item[1].metrics["nh_tsne"])
    chain = " < ".join(f"{name} {r.metrics['nh_tsne']:.3f}" for name, r in ordered)
    part.observations.append(f"t-SNE neighbourhood hit, lowest to highest: {chain}.")
    for name, r in results.items():
        m = r.metrics
        better = "t-SNE" if m["nh_tsne"] > m["nh_pca"] else "PCA"
        part.observations.append(
            f"{name}: {better} separates the classes better "
            f"(neighbourhood hit {m['nh_tsne']:.3f} t-SNE vs {m['nh_pca']:.3f} PCA).")


def keras_style(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """How far the best model is above each other one, with their sizes."""
    ranked = sorted(results.items(), key=lambda item: item[1].metrics["test_acc"], reverse=True)
    best_name, best = ranked[0][0], ranked[0][1].metrics
    for name, r in ranked[1:]:
        part.observations.append(
            f"{best_name} ({best['params']:,} parameters) tests "
            f"{best['test_acc'] - r.metrics['test_acc']:.2f} "
            f"points above {name} ({r.metrics['params']:,} parameters).")


EXPERIMENTS = {"dropout_split": dropout_split, "keras_style": keras_style}
