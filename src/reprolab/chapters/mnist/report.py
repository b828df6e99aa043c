"""The report part of chapter `mnist`: the dropout/split study, manifold untangling, the Keras models."""

from __future__ import annotations

from reprolab import figures
from reprolab.chapters.mnist import questions
from reprolab.chapters.mnist.questions import rising_tail
from reprolab.report.generic import Claim, claims_table
from reprolab.report.parts import (
    NOT_ENOUGH_EPOCHS,
    ChapterPart,
    Context,
    ExperimentPart,
    Figure,
    Row,
    Table,
    VariantResult,
    enough_epochs,
    trained_epochs,
)
from reprolab.report.questions import seed_comparison

SEED_000 = "seed 000, ex. 1"
# Each variant without dropout against the same network with it: (without, with, what they train on).
DROPOUT_PAIRS = [("main_4", "main_1", "the 60k training split"), ("main_3", "main_2", "the 10k test split")]


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
        if rises >= 2 and enough_epochs(r.history, ctx.smoke):
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
    if not all(enough_epochs(r.history, ctx.smoke) for r in results.values()):
        notes.append(f"Whether a variant over-fits: {NOT_ENOUGH_EPOCHS} (fewer than 5 trained epochs, or "
                     "smoke "
                     f"scale).")
    part.questions += questions.dropout_questions(results, ctx)


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
    # the over-fitting statement needs a curve long enough to judge (the question of q. 4 says so otherwise)
    if "main_4" in results and enough_epochs(results["main_4"].history, smoke=False):
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
    part.questions += questions.untangling_questions(results, ctx)


def keras_style(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """How far the best model is above each other one, with their sizes."""
    ranked = sorted(results.items(), key=lambda item: item[1].metrics["test_acc"], reverse=True)
    best_name, best = ranked[0][0], ranked[0][1].metrics
    for name, r in ranked[1:]:
        part.observations.append(
            f"{best_name} ({best['params']:,} parameters) tests "
            f"{best['test_acc'] - r.metrics['test_acc']:.2f} "
            f"points above {name} ({r.metrics['params']:,} parameters).")
    part.questions += questions.keras_questions(results, ctx)


EXPERIMENTS = {"dropout_split": dropout_split, "keras_style": keras_style}


def _keras_paragraph(chain: list[tuple[str, dict]], smoke: bool) -> str:
    """The three Keras models: what each step adds, and whether we rank them as the seed did."""
    steps = [f"{b} ({mb['params']:,} parameters) {mb['test_acc'] - ma['test_acc']:+.2f} points over {a}"
             for (a, ma), (b, mb) in zip(chain, chain[1:], strict=False)]
    ordered = [n for n, _ in chain] == [n for n, _ in sorted(chain, key=lambda c: c[1]["test_acc"])]
    ranking = ("(not compared at smoke scale)." if smoke else "and ours do too." if ordered
               else "but ours do not.")
    return ("Ten classes, so chance is 10 %. Test accuracy: "
            + ", ".join(f"{n} {m['test_acc']:.2f} %" for n, m in chain)
            + ". What each step adds: " + "; ".join(steps)
            + ". A hidden layer lets the model draw non-linear boundaries; convolutions look at small "
              "windows with shared weights, which suits images. The seed's numbers rank the three models "
              "in this order " + ranking)


def _dropout_paragraph(m: dict[str, dict], drop: dict[str, VariantResult], judged: bool) -> str:
    """Dropout and the swapped split: their effects on the test accuracy, and main_4's curve."""
    without = m["main_4"]["test_acc"] - m["main_1"]["test_acc"]
    swapped_without = m["main_3"]["test_acc"] - m["main_2"]["test_acc"]
    split = m["main_2"]["test_acc"] - m["main_1"]["test_acc"]
    text = (f"Dropout: without it the test accuracy changes by {without:+.2f} points on the normal split "
            f"(main_4 against main_1) and by {swapped_without:+.2f} on the swapped one (main_3 against "
            f"main_2); the final training loss goes from {m['main_1']['train_loss']:.4f} to "
            f"{m['main_4']['train_loss']:.4f} and from {m['main_2']['train_loss']:.4f} to "
            f"{m['main_3']['train_loss']:.4f}. Training on the {m['main_2']['n_train']:,}-image split "
            f"instead of the {m['main_1']['n_train']:,}-image one changes the test accuracy by {split:+.2f} "
            f"points with dropout: the split moves it {'more' if abs(split) > abs(without) else 'less'} "
            f"than dropout does. ")
    if judged:
        rising = rising_tail(list(trained_epochs(drop["main_4"].history)["test_loss"]))
        return text + (f"main_4's test loss rises over its last {rising} epoch(s): "
                       + ("the over-fitting the seed saw." if rising >= 2
                          else "we do not see the seed's over-fitting."))
    return text + f"Whether main_4 over-fits as the seed saw: {NOT_ENOUGH_EPOCHS}."


def discuss(summary: ChapterPart, results: dict[str, dict[str, VariantResult]]) -> None:
    """The chapter's discussion and conclusion, from the numbers: what each architecture, dropout and the
    size of the training split change, and what training does to the representation."""
    smoke = summary.scale == "smoke"
    keras, drop, untangle = (results.get(e, {}) for e in ("keras_style", "dropout_split", "untangling"))
    paragraphs, conclusion = [], []
    if smoke:
        epochs = max((int(r.metrics.get("epochs", 0)) for exp in results.values() for r in exp.values()),
                     default=0)
        paragraphs.append(f"At smoke scale the data are tiny synthetic fixtures trained for at most {epochs} "
                          f"epoch(s): every accuracy, loss and neighbourhood hit below is meaningless, "
                          f"none is compared with the seeds, and over- or under-fitting is "
                          f"{NOT_ENOUGH_EPOCHS}.")
    chain = [(n, keras[n].metrics) for n in ("logreg", "mlp", "cnn") if n in keras]
    if len(chain) >= 2:
        paragraphs.append(_keras_paragraph(chain, smoke))
        best, worst = (f(chain, key=lambda c: c[1]["test_acc"]) for f in (max, min))
        if not smoke:
            conclusion.append(f"On MNIST, {best[0]} is the best of the three ({best[1]['test_acc']:.2f} % "
                              f"against {worst[1]['test_acc']:.2f} % for {worst[0]}; chance is 10 %).")
    m = {n: drop[n].metrics for n in ("main_1", "main_2", "main_3", "main_4") if n in drop}
    if len(m) == 4:
        judged = all(enough_epochs(r.history, smoke) for r in drop.values())
        paragraphs.append(_dropout_paragraph(m, drop, judged))
        if not smoke:
            change = m["main_4"]["train_loss"] - m["main_1"]["train_loss"]
            conclusion.append(
                f"Removing dropout {'lowers' if change < 0 else 'raises'} the final training loss "
                f"({m['main_1']['train_loss']:.4f} → {m['main_4']['train_loss']:.4f}) and changes the test "
                f"accuracy by {m['main_4']['test_acc'] - m['main_1']['test_acc']:+.2f} points"
                + ("." if judged else f"; whether it over-fits: {NOT_ENOUGH_EPOCHS}."))
    if "raw" in untangle and len(untangle) > 1:
        raw = untangle["raw"].metrics["nh_tsne"]
        learned = {n: r.metrics["nh_tsne"] for n, r in untangle.items() if n != "raw"}
        verdict = (": not compared with the seed at smoke scale." if smoke
                   else ": training moves the classes apart, as the seed saw."
                   if all(v > raw for v in learned.values())
                   else ": the seed's untangling is not seen for every network here.")
        paragraphs.append(f"Untangling: the t-SNE neighbourhood hit goes from {raw:.3f} on the pixels to "
                          + ", ".join(f"{v:.3f} in {n}" for n, v in learned.items()) + verdict)
        if not smoke:
            top = max(learned, key=learned.get)
            conclusion.append(f"Training untangles the classes: the t-SNE neighbourhood hit goes from "
                              f"{raw:.3f} (pixels) to {learned[top]:.3f} ({top}).")
    comparisons = [c for p in summary.experiments if (c := seed_comparison(p))]
    if comparisons and not smoke:
        paragraphs.append("Against the seeds' numbers (test accuracy, %) — " + "; ".join(comparisons) + ".")
    sized = {n: mm["params"] for n, mm in chain if mm.get("params")}
    if {"mlp", "cnn"} <= sized.keys():
        fewer = sized["cnn"] < sized["mlp"]
        conclusion.append(f"The CNN has {sized['cnn']:,} parameters, {'fewer' if fewer else 'more'} than the "
                          f"perceptron's {sized['mlp']:,}: "
                          + ("its convolutions share their weights across the image, so depth costs few "
                             "parameters." if fewer else "its fully connected layers dominate."))
    if smoke:
        conclusion.append("These results are at smoke scale: the accuracies, losses and neighbourhood hits "
                          "are not meaningful and no model is ranked; the parameter counts and the epoch-0 "
                          "check against ln K are.")
    summary.discussion += paragraphs
    summary.conclusion += conclusion[:4]
