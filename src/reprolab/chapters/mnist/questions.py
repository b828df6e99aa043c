"""The course's questions of chapter `mnist`, answered with values computed from the models and results.

Seed 002 TP 2 (the Keras exercises and the untangling) and seed 000 ex. 1 (main_1 to main_4).
The per-layer tables are walks of the built models (`architecture.layers`), so they follow the
code; no count or shape is typed here but the seed's own, quoted and compared.
"""

from __future__ import annotations

import math

from reprolab import architecture
from reprolab.models import build_model
from reprolab.report.parts import (
    NOT_ENOUGH_EPOCHS,
    Context,
    Question,
    Row,
    Table,
    VariantResult,
    enough_epochs,
    fmt,
    trained_epochs,
)
from reprolab.report.questions import SMOKE_NOTE, initial_loss, layer_table

TP2 = "seed 002, TP 2"
SEED_000 = "seed 000, ex. 1"
# The seed's Keras summary of its perceptron (seed 002, TP 2, ex. 2, figure 4): parameters per Dense layer.
SEED_MLP_LAYERS = {"fc1 (Dense)": 78_500, "dense_1 (Dense)": 1_010}


def _smoke(ctx: Context) -> str:
    return SMOKE_NOTE if ctx.smoke else ""


def seed_verdict(ctx: Context, holds: bool) -> str:
    """Whether a seed's observation holds on our numbers; not judged at smoke scale."""
    return "is not judged at smoke scale" if ctx.smoke else "holds here" if holds else "does not hold here"


def has(r: VariantResult | None, *keys: str) -> bool:
    """Whether a variant is there and its metrics hold every key a question needs."""
    return r is not None and all(k in r.metrics for k in keys)


def model_layers(r: VariantResult) -> list[architecture.Layer] | None:
    """The variant's model, built as trained and walked on one example of its input shape."""
    shape = r.metrics.get("input_shape")
    if shape is None:
        return None
    p = r.variant.params
    model = build_model(p["model"], **p.get("model_options", {}))
    return architecture.layers(model, architecture.example_input(shape))


def _shape(shape) -> str:
    return " × ".join(map(str, shape))


def _steps(r: VariantResult) -> int:
    return math.ceil(r.metrics["n_train"] / int(r.variant.params["batch_size"]))


# ---------------------------------------------------------------- keras_style


def logreg_parameters(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    """TP 2, ex. 1: (784 + 1) × 10 = 7,850 parameters."""
    r = results.get("logreg")
    found = model_layers(r) if has(r, "params") else None
    if not found:
        return None
    linear = next(layer for layer in found if layer.kind == "Linear")
    n_in, n_out = r.metrics["input_shape"], linear.output_shape[0]
    inputs = math.prod(n_in)
    answer = (
        f"Each {_shape(n_in)} image is flattened to {inputs} inputs; each of the {n_out} outputs has one "
        f"weight per input and a bias: ({inputs} + 1) × {n_out} = {(inputs + 1) * n_out:,}. The built "
        f"model counts {sum(layer.params for layer in found):,}, the trained one "
        f"{int(r.metrics['params']):,}."
    )
    return Question(
        "«Le nombre total de paramètre est de 7850, En effet (784+1) × 10 = 7850.»",
        f"{TP2}, ex. 1",
        answer,
        [layer_table(found, "logreg, layer by layer (from the built model)")],
    )


def mlp_parameters(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    """TP 2, ex. 2: the Keras summary of the perceptron, layer by layer, against ours."""
    r = results.get("mlp")
    found = model_layers(r) if has(r, "params") else None
    if not found:
        return None
    linears = [layer for layer in found if layer.kind == "Linear"]
    ours = [layer.params for layer in linears]
    same = ours == list(SEED_MLP_LAYERS.values())
    answer = (
        "Ours, from the built model: "
        + ", ".join(
            f"{layer.description} ({_shape(layer.output_shape)} outputs): {layer.params:,} parameters"
            for layer in linears
        )
        + f"; {sum(layer.params for layer in found):,} in all (activations, like Keras' Activation rows, "
          "have "
        f"none). "
        + (
            "The same counts, layer by layer, as the seed's summary."
            if same
            else "The seed's summary counts "
            + ", ".join(f"{name} {value:,}" for name, value in SEED_MLP_LAYERS.items())
            + ": not ours."
        )
        + f" The first layer holds {ours[0] / sum(ours):.0%} of them: one weight per pixel and hidden unit."
    )
    return Question(
        "«Le modèle créé et ses différents paramètres sont alors résumés dans la figure ci-dessous : "
        "fc1 (Dense) (None, 100) 78500 / activation_1 (Activation) (None, 100) 0 / dense_1 (Dense) "
        "(None, 10) 1010 / activation_2 (Activation) (None, 10) 0 / Total params: 79,510»",
        f"{TP2}, ex. 2, figure 4",
        answer,
        [layer_table(found, "mlp, layer by layer (from the built model)")],
    )


def cnn_parameters(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    """TP 2, ex. 3: a convolution maps n_x × n_y × p to n_x' × n_y' × n_h; the CNN's shapes and counts."""
    r = results.get("cnn")
    found = model_layers(r) if has(r, "params") else None
    if not found:
        return None
    convs = [layer for layer in found if layer.kind == "Conv2d"]
    shapes = " → ".join(
        [_shape(r.metrics["input_shape"])]
        + [_shape(layer.output_shape) for layer in found if layer.kind in ("Conv2d", "MaxPool2d")]
    )
    total = sum(layer.params for layer in found)
    dense = sum(layer.params for layer in found if layer.kind == "Linear")
    answer = (
        f"Channels × height × width, from the built model: {shapes}. Each convolution without padding "
        f"takes (k − 1) pixels off each side's length and each 2×2 pooling halves it. A convolution's "
        f"parameters are k × k × p × n_h + n_h, whatever the image size: "
        + ", ".join(f"{layer.description}: {layer.params:,}" for layer in convs)
        + f". In all {total:,} parameters, {dense / total:.0%} of them in the fully connected layers"
        + (
            f", against {int(results['mlp'].metrics['params']):,} for the perceptron"
            if "mlp" in results and results["mlp"].metrics.get("params")
            else ""
        )
        + "."
    )
    return Question(
        "«Les couches de convolution transforme un tenseur d'entrée de n_x × n_y × p en un tenseur de "
        "sortie n_x' × n_y' × n_h où n_h est le nombre de filtres.»",
        f"{TP2}, ex. 3",
        answer,
        [layer_table(found, "cnn, layer by layer (from the built model)")],
    )


def parameters_against_data(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    """Parameters against training examples, the comparison the course asks of its CIFAR network."""
    rows, words, judged = [], [], True
    for name, r in results.items():
        m = r.metrics
        if not m.get("params") or not m.get("n_train"):
            continue
        ratio = m["params"] / m["n_train"]
        judged &= enough_epochs(r.history, ctx.smoke)
        rows.append(
            Row(
                [
                    name,
                    f"{int(m['params']):,}",
                    f"{m['n_train']:,}",
                    f"{ratio:.2f}",
                    fmt(m.get("train_acc")),
                    fmt(m.get("test_acc")),
                    fmt(m["train_acc"] - m["test_acc"]) if "train_acc" in m else "—",
                ]
            )
        )
        words.append(
            f"{name} {int(m['params']):,} parameters for {m['n_train']:,} images ({ratio:.2f} per image)"
        )
    if not rows:
        return None
    more = [r.cells[0] for r in rows if float(r.cells[3]) > 1]
    answer = (
        "; ".join(words)
        + ". "
        + (
            f"{', '.join(more)} {'has' if len(more) == 1 else 'have'} more parameters than training images. "
            if more
            else ""
        )
        + "A count above the number of examples does not by itself mean over-fitting: each image brings "
        "all its pixels, not one number, and the convolutions share their weights across positions. "
        "The train − test gap says whether a model learnt its training set by heart: "
    )
    if judged:
        gaps = {r.cells[0]: float(r.cells[6]) for r in rows if r.cells[6] != "—"}
        answer += ", ".join(f"{n} {g:+.2f} points" for n, g in gaps.items()) + "."
    else:
        answer += f"{NOT_ENOUGH_EPOCHS} here (fewer than 5 trained epochs, or smoke scale)." + _smoke(ctx)
    return Question(
        "«Le nombre total de poids à apprendre est de 267 258, plus petit que le nombre d'exemples qui "
        "est de 1 548 954.»",
        "seed 004, TME 5-6, Réponse 11 (asked there of the CIFAR-10 network; "
        "asked here of the three MNIST models)",
        answer,
        [
            Table(
                [
                    "variant",
                    "parameters",
                    "training images",
                    "parameters per image",
                    "train acc. (%)",
                    "test acc. (%)",
                    "train − test (points)",
                ],
                rows,
                "Parameters against the size of the training set",
            )
        ],
    )


def chance_at_start(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    """Before training the loss is ln 10 and the accuracy 10 % (the course asks it of CIFAR-10, ten "
      "classes too)."""
    return initial_loss(
        results,
        ctx,
        "«L'erreur au début de la première époque correspond à l'erreur d'une "
        "classification aléatoire puisque les paramètres ont été initialisé aléatoirement. Puisque la "
        "base CIFAR-10 contient 10 classes, on est sensé avoir une erreur au alentours de 1/10=0,1»",
        "seed 004, TME 5-6, Réponse 17 (asked there of CIFAR-10; MNIST has ten classes too)",
    )


def keras_questions(results: dict[str, VariantResult], ctx: Context) -> list[Question]:
    return [
        q
        for q in (
            logreg_parameters(results, ctx),
            mlp_parameters(results, ctx),
            cnn_parameters(results, ctx),
            parameters_against_data(results, ctx),
            chance_at_start(results, ctx),
        )
        if q is not None
    ]


# ---------------------------------------------------------------- dropout_split


def _losses(r: VariantResult, epoch: int) -> tuple[float, float]:
    row = r.history.loc[r.history["epoch"] == epoch].iloc[0]
    return float(row["train_loss"]), float(row["test_loss"])


def rising_tail(values: list[float]) -> int:
    """How many of the last epochs each raised the value over the epoch before."""
    count = 0
    for before, after in zip(values[-2::-1], values[:0:-1], strict=False):
        if after <= before:
            break
        count += 1
    return count


def first_epoch_mean(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    """Q. 1: main_1's first-epoch mean training loss is far above the later ones."""
    r = results.get("main_1")
    if not has(r, "n_train") or r.history is None or "batch_size" not in r.variant.params:
        return None
    h = trained_epochs(r.history)
    train, test = list(h["train_loss"]), list(h["test_loss"])
    start = (
        float(r.history.loc[r.history["epoch"] == 0, "test_loss"].iloc[0])
        if (r.history["epoch"] == 0).any()
        else None
    )
    later = max(train[1:]) if len(train) > 1 else None
    ups = sum(b > a for a, b in zip(train, train[1:], strict=False))
    answer = (
        f"main_1's mean training loss is {train[0]:.4f} over epoch 1"
        + (
            f", and at most {later:.4f} over epoch{f's 2 to {len(train)}' if len(train) > 2 else ' 2'}"
            if later is not None
            else ""
        )
        + f"; it rises from one epoch to the next {ups} time(s) in {len(train) - 1}. The mean of epoch 1 "
        f"includes its first batches, computed with weights that have hardly moved from the initial ones"
        + (
            f" (loss {start:.4f} before any update, close to ln 10 = {math.log(10):.3f})"
            if start is not None
            else ""
        )
        + f"; over {_steps(r):,} updates of batch {r.variant.params['batch_size']} the loss falls fast, so "
        f"that average is far above the loss at the end of the epoch. The test loss is measured once, "
        f"after the epoch, without those early batches"
    )
    if len(test) > 1:
        answer += (
            f", so it drops less between epochs 1 and 2 ({test[0]:.4f} → {test[1]:.4f}; train "
            f"{train[0]:.4f} → {train[1]:.4f})"
        )
    answer += "."
    table = Table(
        ["epoch", "train loss (mean over the epoch's batches)", "test loss (after the epoch)"],
        [
            Row([str(int(e)), f"{a:.4f}", f"{b:.4f}"])
            for e, a, b in zip(
                r.history["epoch"], r.history["train_loss"], r.history["test_loss"], strict=True
            )
        ],
        "main_1's losses per epoch (epoch 0: before any update)",
    )
    return Question(
        "«On voit sur le graphe Training Loss que la moyenne des loss de la première époque est bien plus "
        "élevée que pour les autres époques, cette moyenne diminue au fur et à mesure que les époques "
        "passent. On observe la même tendance pour Test Loss avec une diminution moins forte entre les "
        "époques 1 et 2.»",
        f"{SEED_000}, q. 1",
        answer + _smoke(ctx),
        [table],
    )


def swapped_split(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    """Q. 2: trained on the 10k split, the epoch-1 test loss is higher and the train loss lower."""
    pair = [results.get(n) for n in ("main_1", "main_2")]
    if not all(has(r, "n_train", "n_test", "test_acc") and "batch_size" in r.variant.params for r in pair):
        return None
    one, two = results["main_1"], results["main_2"]
    (tr1, te1), (tr2, te2) = _losses(one, 1), _losses(two, 1)
    holds = te2 > te1 and tr2 < tr1
    answer = (
        f"main_2 trains on {two.metrics['n_train']:,} images and tests on {two.metrics['n_test']:,}; main_1 "
        f"the other way round. After epoch 1, test loss {te2:.4f} (main_2) against {te1:.4f} (main_1), train "
        f"loss {tr2:.4f} against {tr1:.4f}: the seed's observation {seed_verdict(ctx, holds)}. Final test "
        f"accuracy {two.metrics['test_acc']:.2f} % against {one.metrics['test_acc']:.2f} % "
        f"(chance is 10 %). With fewer images an epoch is {_steps(two):,} updates instead of "
        f"{_steps(one):,}, "
        f"so the model has learnt less after one epoch, and it learns from "
        f"{one.metrics['n_train'] / two.metrics['n_train']:.0f} times fewer examples. The "
        f"mean training loss of epoch 1 covers those fewer updates, less of the fast early fall: it is "
        f"{'lower' if tr2 < tr1 else 'not lower'} here"
        f"{', despite that' if tr2 < tr1 else ', as that predicts'}."
    ) + _smoke(ctx)
    return Question(
        "«la moyenne de loss de la première époque du Test est bien importante que lorsqu'on avait "
        "beaucoup de données pour l'entrainement. En revanche, pour le jeu Train, la moyenne des losse est "
        "bien inférieure dès la première époque.»",
        f"{SEED_000}, q. 2",
        answer,
    )


def no_dropout_swapped(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    """Q. 3: without dropout, with the swapped split: a higher test loss, about the same training loss."""
    if not all(has(results.get(n), "train_loss", "test_loss", "test_acc") for n in ("main_2", "main_3")):
        return None
    two, three = results["main_2"].metrics, results["main_3"].metrics
    answer = (
        f"Final test loss {three['test_loss']:.4f} without dropout (main_3) against {two['test_loss']:.4f} "
        f"with it (main_2); final training loss {three['train_loss']:.4f} against {two['train_loss']:.4f}; "
        f"test accuracy {three['test_acc']:.2f} % against {two['test_acc']:.2f} %. The seed's observation "
        f"(a higher test loss without dropout) {seed_verdict(ctx, three['test_loss'] > two['test_loss'])}"
        f". Dropout trains a different random sub-network at each step, so no unit can rely on "
        f"another to memorise a training image; without it a small training split can be fitted faster, "
        f"at the test loss's expense."
    ) + _smoke(ctx)
    return Question(
        "«La moyenne des loss du jeu de Test est encore plus élevée que lorsqu'on avait les fonctions de "
        "dropout alors qu'elle est un peu près équivalente pour le jeu de Train.»",
        f"{SEED_000}, q. 3",
        answer,
    )


def overfitting(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    """Q. 4: main_4 (no dropout) overfits: its test loss rises over the last 4 epochs."""
    r = results.get("main_4")
    if r is None or r.history is None:
        return None
    h = trained_epochs(r.history)
    losses = list(h["test_loss"])
    best = int(h["epoch"].iloc[int(h["test_loss"].to_numpy().argmin())])
    curve = " → ".join(f"{v:.4f}" for v in losses)
    if not enough_epochs(r.history, ctx.smoke):
        verdict = (
            f"{NOT_ENOUGH_EPOCHS}: {len(losses)} trained epoch(s)"
            + (" at smoke scale" if ctx.smoke else "")
            + ", and a rise needs at least 5 to be told from noise"
        )
    else:
        rises = rising_tail(losses)
        verdict = (
            f"its test loss is lowest after epoch {best} of {len(losses)} and rises over the last "
            f"{rises} epoch(s): {'over-fitting, as the seed saw' if rises >= 2 else 'no sustained rise'}"
            + ("" if rises >= 2 else ", so the seed's over-fitting is not seen here")
        )
    one = results.get("main_1")
    answer = (
        f"main_4's test loss per epoch: {curve}; {verdict}."
        + (
            f" Epoch 1, train / test loss: main_4 {_losses(r, 1)[0]:.4f} / {_losses(r, 1)[1]:.4f}, main_1 "
            f"{_losses(one, 1)[0]:.4f} / {_losses(one, 1)[1]:.4f}: the seed's «bien inférieur» on both "
            f"{seed_verdict(ctx, all(a < b for a, b in zip(_losses(r, 1), _losses(one, 1), strict=True)))} "
            f"(dropout slows the fit of the training set)."
            if one is not None
            else ""
        )
    ) + _smoke(ctx)
    return Question(
        "«On observe que la moyenne de loss de l'époque 1 est bien inférieur à ce qu'on a déjà vu pour le "
        "jeu de Train. De même pour le jeu de Test. En revanche, on observe un surapprentissage pour le "
        "jeu de Test, la moyenne de loss étant en augmentation sur les 4 dernières époques.»",
        f"{SEED_000}, q. 4",
        answer,
    )


def synthesis(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    """Q. 5: the synthesis of the four variants' training and test losses."""
    keys = ("train_loss", "test_loss", "test_acc", "n_train")
    if not all(has(results.get(n), *keys) for n in ("main_1", "main_2", "main_3", "main_4")):
        return None
    m = {n: r.metrics for n, r in results.items()}
    highest = max(m, key=lambda n: m[n]["train_loss"])
    rows = [
        Row(
            [
                n,
                "yes" if r.variant.params.get("swap_splits") else "no",
                "no" if r.variant.params.get("model_options", {}).get("dropout") is False else "yes",
                f"{m[n]['train_loss']:.4f}",
                f"{m[n]['test_loss']:.4f}",
                fmt(m[n]["test_acc"]),
            ]
        )
        for n, r in results.items()
    ]
    judged = all(enough_epochs(r.history, ctx.smoke) for r in results.values())
    tail = ""
    if judged:
        rising = {n: rising_tail(list(trained_epochs(r.history)["test_loss"])) for n, r in results.items()}
        tail = (
            " Test loss rising over the last epochs (over-fitting): "
            + ", ".join(f"{n} {k} epoch(s)" for n, k in rising.items())
            + "."
        )
    else:
        tail = f" Whether any of them over-fits: {NOT_ENOUGH_EPOCHS}."
    answer = (
        f"Final training loss is highest for {highest} ({m[highest]['train_loss']:.4f}); without dropout it "
        f"is {m['main_4']['train_loss']:.4f} (main_4) against {m['main_1']['train_loss']:.4f} (main_1), and "
        f"{m['main_3']['train_loss']:.4f} (main_3) against {m['main_2']['train_loss']:.4f} (main_2). The "
        f"swapped variants test at {m['main_2']['test_acc']:.2f} and {m['main_3']['test_acc']:.2f} %, the "
        f"others at {m['main_1']['test_acc']:.2f} and {m['main_4']['test_acc']:.2f} % (chance is 10 %): "
        f"{m['main_2']['n_train']:,} training images against {m['main_1']['n_train']:,}.{tail}"
    ) + _smoke(ctx)
    return Question(
        "«lorsque l'on a enlevé les fonctions de dropout, cela a permis de fortement diminuer la moyenne de "
        "loss. [...] Sur les données de Test, on voit qu'il est bien plus mauvais lorsqu'on a inversé les "
        "corpus [...] Lorsqu'on enlève les dropout, on observe un léger sur-apprentissage.»",
        f"{SEED_000}, q. 5",
        answer,
        [
            Table(
                [
                    "variant",
                    "splits swapped",
                    "dropout",
                    "final train loss",
                    "final test loss",
                    "test acc. (%)",
                ],
                rows,
                "The four variants at their last epoch",
            )
        ],
    )


def dropout_questions(results: dict[str, VariantResult], ctx: Context) -> list[Question]:
    return [
        q
        for q in (
            first_epoch_mean(results, ctx),
            swapped_split(results, ctx),
            no_dropout_swapped(results, ctx),
            overfitting(results, ctx),
            synthesis(results, ctx),
        )
        if q is not None
    ]


# ---------------------------------------------------------------- untangling


def _chance(m: dict) -> str:
    return (
        f"{m['nh_chance']:.3f}, the hit of labels scattered at random"
        if "nh_chance" in m
        else "the share of a point's own class, about 1/K for K balanced classes"
    )


def raw_tsne_pca(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    """TP 2, ex. 4: on the raw pixels, t-SNE separates the classes better than PCA."""
    r = results.get("raw")
    if r is None:
        return None
    m = r.metrics
    better = "t-SNE" if m["nh_tsne"] > m["nh_pca"] else "PCA"
    answer = (
        f"On {m['n_points']:,} test images in pixel space ({m['dimensions']:,} dimensions), the "
        "neighbourhood hit "
        f"(k = {m['neighbours']}: the share of each point's {m['neighbours']} nearest neighbours in 2-D that "
        f"have its class; 1 is perfect separation, chance is {_chance(m)}) is {m['nh_tsne']:.3f} with t-SNE "
        f"and {m['nh_pca']:.3f} with PCA: {better} separates better; the seed's observation "
        f"{seed_verdict(ctx, better == 't-SNE')}. PCA keeps the two directions of "
        f"largest variance, a linear projection where classes pile up; t-SNE keeps each point's "
        f"neighbours, the local structure the neighbourhood hit measures."
    ) + _smoke(ctx)
    return Question(
        "«Dans l'ensemble, on remarque une meilleure séparabilité entre les classes par la méthode t-SNE, "
        "ceci se voit aussi d'après la métrique des ellipses. Quant à la méthode de PCA, les ellipses "
        "semblent confendus» «La séparation entre les classes est meilleur lorsque ce coefficient "
        "s'approche de 1.»",
        f"{TP2}, ex. 4",
        answer,
    )


def learned_representations(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    """TP 2, ex. 5: the trained networks' hidden representations untangle the classes."""
    if "raw" not in results or len(results) < 2:
        return None
    raw = results["raw"].metrics
    rows = [
        Row(
            [
                n,
                r.variant.params["representation"],
                f"{r.metrics['dimensions']:,}",
                f"{r.metrics['nh_pca']:.3f}",
                f"{r.metrics['nh_tsne']:.3f}",
                "—" if n == "raw" else f"{r.metrics['nh_tsne'] - raw['nh_tsne']:+.3f}",
            ]
        )
        for n, r in results.items()
    ]
    learned = {n: r.metrics for n, r in results.items() if n != "raw"}
    answer = (
        "t-SNE neighbourhood hit: pixels "
        + f"{raw['nh_tsne']:.3f}; "
        + "; ".join(
            f"{n} ({r['dimensions']:,} dimensions) {r['nh_tsne']:.3f} "
            f"({r['nh_tsne'] - raw['nh_tsne']:+.3f}), PCA "
            f"{r['nh_pca']:.3f} against {raw['nh_pca']:.3f}"
            for n, r in learned.items()
        )
        + f". Chance is {_chance(raw)}. "
        + ", ".join(
            f"{n} {'separates' if r['nh_tsne'] > raw['nh_tsne'] else 'does not separate'} the classes better "
            f"than the pixels"
            for n, r in learned.items()
        )
        + ", and t-SNE beats PCA for "
        + (", ".join(n for n, r in learned.items() if r["nh_tsne"] > r["nh_pca"]) or "none")
        + ". A network trained to classify maps each class towards its own region, where a linear layer can "
        "separate them: that is the untangling the course shows."
    ) + _smoke(ctx)
    return Question(
        "«on remarque bien que les différentes ellipses ne sont ni confondues, ni chevauchantes, par la "
        "méthode de la t-sne (qui dans ce cas a donné une meilleure séparation que pca)»",
        f"{TP2}, ex. 5",
        answer,
        [
            Table(
                [
                    "variant",
                    "representation",
                    "dimensions",
                    "neighbourhood hit (PCA)",
                    "neighbourhood hit (t-SNE)",
                    "t-SNE, against pixels",
                ],
                rows,
                "Before (pixels) and after training (the networks' hidden layers)",
            )
        ],
    )


def untangling_questions(results: dict[str, VariantResult], ctx: Context) -> list[Question]:
    return [q for q in (raw_tsne_pca(results, ctx), learned_representations(results, ctx)) if q is not None]
