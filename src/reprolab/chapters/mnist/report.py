"""The report part of chapter `mnist`: the dropout/split study, manifold untangling, the Keras models."""

from __future__ import annotations

from reprolab import figures
from reprolab.report.generic import Claim, claims_table
from reprolab.report.parts import Context, ExperimentPart, Figure, Row, Table, VariantResult, trained_epochs

SEED_000 = "seed 000, ex. 1"
# Each variant without dropout against the same network with it: (without, with, what they train on).
DROPOUT_PAIRS = [("main_4", "main_1", "the 60k training split"), ("main_3", "main_2", "the 10k test split")]


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
        losses = trained_epochs(r.history)["test_loss"]
        rises = rising_tail(list(losses))
        if rises >= 2:
            notes.append(f"{name}'s test loss rises over its last {rises} epochs "
                         f"({losses.iloc[-rises - 1]:.4f} → {losses.iloc[-1]:.4f}): overfitting.")
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
    if table := dropout_table(results):
        part.tables.append(table)
    if table := claims_table(dropout_claims(results), ctx,
                             f"The seed's statements ({SEED_000}) against our numbers"):
        part.tables.append(table)


def first_epoch_losses(r: VariantResult) -> tuple[float, float]:
    """The train and test losses of epoch 1 (mean over seeds)."""
    row = r.history.loc[r.history["epoch"] == 1].iloc[0]
    return float(row["train_loss"]), float(row["test_loss"])


def rising_test_loss(r: VariantResult) -> int:
    """How many of the last trained epochs raised the test loss."""
    return rising_tail(list(trained_epochs(r.history)["test_loss"]))


def dropout_table(results: dict[str, VariantResult]) -> Table | None:
    """The effect of dropout on each split: test accuracy, final test loss and its rising tail."""
    rows = []
    for without, with_, data in DROPOUT_PAIRS:
        if without in results and with_ in results:
            a, b = results[without].metrics, results[with_].metrics
            tails = [rising_test_loss(results[n]) for n in (without, with_)]
            rows.append(Row([f"{without} vs {with_}", data, f"{a['test_acc']:.2f} vs {b['test_acc']:.2f}",
                             f"{a['test_acc'] - b['test_acc']:+.2f}",
                             f"{a['test_loss']:.4f} vs {b['test_loss']:.4f}",
                             f"{a['test_loss'] - b['test_loss']:+.4f}", f"{tails[0]} / {tails[1]}"]))
    if not rows:
        return None
    return Table(["without dropout vs with", "trained on", "test acc. (%)", "difference (points)",
                  "final test loss", "difference", "last epochs of rising test loss"], rows,
                 "The effect of dropout: the same network without and with it")


def dropout_claims(results: dict[str, VariantResult]) -> list[Claim]:
    """What the seed saw on its curves of main_1 to main_4, checked on ours."""
    claims = []
    if "main_4" in results:
        losses = trained_epochs(results["main_4"].history)["test_loss"]
        rises = rising_test_loss(results["main_4"])
        claims.append(Claim(
            "main_4 (no dropout) overfits: its test loss rises over the last 4 epochs («on observe un "
            "surapprentissage pour le jeu de Test, la moyenne de loss étant en augmentation sur les 4 "
            "dernières époques»)", f"{SEED_000}, q. 4",
            (f"main_4's test loss rises over its last {rises} epoch(s)" if rises else
             "main_4's test loss does not rise over its last epoch")
            + f" ({' → '.join(f'{v:.4f}' for v in losses.iloc[-max(rises, 1) - 1:])})", rises >= 2))
    if {"main_1", "main_4"} <= results.keys():
        first = {n: first_epoch_losses(results[n]) for n in ("main_1", "main_4")}
        claims.append(Claim(
            "Without dropout the epoch-1 losses are lower, on train and on test («la moyenne de loss de "
            "l'époque 1 est bien inférieur [...] pour le jeu de Train. De même pour le jeu de Test»)",
            f"{SEED_000}, q. 4",
            "epoch 1, train / test loss: main_4 {:.4f} / {:.4f}, main_1 {:.4f} / {:.4f}".format(
                *first["main_4"], *first["main_1"]),
            all(a < b for a, b in zip(first["main_4"], first["main_1"], strict=True))))
    if {"main_1", "main_2"} <= results.keys():
        one, two = (first_epoch_losses(results[n]) for n in ("main_1", "main_2"))
        claims.append(Claim(
            "Trained on the 10k split, the epoch-1 test loss is much higher and the train loss lower "
            "(«la moyenne de loss de la première époque du Test est bien [plus] importante [...] pour le "
            "jeu Train, la moyenne des losse est bien inférieure dès la première époque»)",
            f"{SEED_000}, q. 2",
            f"epoch 1, train / test loss: main_2 {two[0]:.4f} / {two[1]:.4f}, "
            f"main_1 {one[0]:.4f} / {one[1]:.4f}", two[1] > one[1] and two[0] < one[0]))
    if {"main_2", "main_3"} <= results.keys():
        a, b = (results[n].metrics["test_loss"] for n in ("main_3", "main_2"))
        claims.append(Claim(
            "With swapped splits, removing dropout raises the test loss further («La moyenne des loss du "
            "jeu de Test est encore plus élevée que lorsqu'on avait les fonctions de dropout»)",
            f"{SEED_000}, q. 3", f"final test loss: main_3 {a:.4f}, main_2 {b:.4f}", a > b))
    pairs = [(w, d) for w, d, _ in DROPOUT_PAIRS if {w, d} <= results.keys()]
    if pairs:
        losses = {n: results[n].metrics["train_loss"] for pair in pairs for n in pair}
        claims.append(Claim(
            "Removing dropout strongly lowers the training loss («lorsque l'on a enlevé les fonctions de "
            "dropout, cela a permis de fortement diminuer la moyenne de loss»)", f"{SEED_000}, q. 5",
            "final train loss: " + "; ".join(f"{w} {losses[w]:.4f}, {d} {losses[d]:.4f}" for w, d in pairs),
            all(losses[w] < losses[d] for w, d in pairs)))
    return claims


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
