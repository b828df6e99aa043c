"""The report part of chapter `fusion`: the AV-MNIST data, size against accuracy of the networks, and the
questions of seed 001 (the TP's own wording) answered from the built networks and the results.

Every number is computed: layer outputs and parameters from the networks as the variants build them,
accuracies from the results. The one outside number, plain MNIST's accuracy, is the catalogue's, cited.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.stats import spearmanr

from reprolab import figures
from reprolab.architecture import example_input, layers
from reprolab.models import build_model, count_parameters
from reprolab.models.fusion import Concat, Pick, StackOnGrid
from reprolab.report import questions
from reprolab.report.parts import (
    NOT_ENOUGH_EPOCHS,
    ChapterPart,
    Context,
    ExperimentPart,
    Figure,
    Question,
    Reference,
    Row,
    Table,
    VariantResult,
    enough_epochs,
    fmt,
)

UNIMODAL = ("image_lenet5", "audio_lenet")
SOURCE = "seed 001 (TP fusion)"
AVMNIST_SHAPE = {"image": [1, 28, 28], "audio": [1, 112, 112]}  # when the metrics predate `input_shape`
# Plain MNIST, for the difficulty of AV-MNIST's images: the catalogue's number for LeNet-5 (cited, not ours).
MNIST_LENET5 = Reference("test_acc", source="EXPERIMENTS.md", value=98.62,
                         section="§ 3, a public run of the TME's LeNet-5 over 5 epochs, test split")


def samples(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """The split sizes, the sample grid and the nearest-mean difficulty of each modality."""
    rows = []
    for name, r in results.items():
        m = r.metrics
        rows.append(Row([name, f"{m['n_train']:,} / {m['n_val']:,} / {m['n_test']:,}",
                         " x ".join(map(str, m["image_shape"])), " x ".join(map(str, m["audio_shape"])),
                         f"{min(m['class_counts']):,} – {max(m['class_counts']):,}",
                         f"{m['image_nearest_mean_acc']:.2f}", f"{m['audio_nearest_mean_acc']:.2f}"],
                        "no reference"))
        part.figures.append(Figure(r.file("samples.png"), "AV-MNIST: images, their spectrograms and labels"))
        easier = "image" if m["image_nearest_mean_acc"] > m["audio_nearest_mean_acc"] else "audio"
        part.observations.append(
            f"A nearest-class-mean classifier reaches {m['image_nearest_mean_acc']:.2f} % on the images and "
            f"{m['audio_nearest_mean_acc']:.2f} % on the spectrograms: the {easier} modality is the easier "
            "one before any learning.")
    part.results = Table(["variant", "train / validation / test", "image", "spectrogram",
                          "examples per class (train)", "nearest mean, image (%)", "nearest mean, audio (%)"],
                         rows)


def size_notes(models: dict[str, tuple[int, float]]) -> list[str]:
    """Observations on accuracy against size, from {model: (parameters, test accuracy)}."""
    notes = []
    ranked = sorted(models.items(), key=lambda item: item[1][1], reverse=True)
    best, (best_params, best_acc) = ranked[0]
    notes.append(f"{best} tests best at {best_acc:.2f} % with {best_params:,} parameters; "
                 + "; ".join(f"{name} {acc:.2f} % ({params:,})" for name, (params, acc) in ranked[1:]) + ".")
    unimodal = {k: v for k, v in models.items() if k in UNIMODAL}
    if unimodal:
        base, (base_params, base_acc) = max(unimodal.items(), key=lambda item: item[1][1])
        for name, (params, acc) in models.items():
            if name not in UNIMODAL:
                notes.append(f"{name}: {acc - base_acc:+.2f} points against the best unimodal network "
                             f"({base}, {base_acc:.2f} %), with {params / base_params:.2f}x its parameters.")
    front = [name for name, (params, acc) in models.items()
             if not any(p <= params and a > acc or p < params and a >= acc for p, a in models.values())]
    notes.append(f"Pareto-optimal (no other network is both smaller and more accurate): {', '.join(front)}.")
    rho = spearmanr([p for p, _ in models.values()], [a for _, a in models.values()]).statistic
    if len(models) >= 3 and np.isfinite(rho):
        trend = ("accuracy tends to grow with size" if rho > 0.5 else
                 "the larger networks tend to be less accurate" if rho < -0.5 else
                 "size alone does not explain accuracy")
        notes.append(f"Spearman correlation between parameter count and test accuracy: {rho:+.2f}: {trend}.")
    return notes


def models(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """Parameters against accuracy: the table, the figure and the discussion."""
    sizes = {name: (int(r.metrics["params"]), r.metrics["test_acc"]) for name, r in results.items()}
    rows = [Row([name, f"{int(m['params']):,}", "—" if m.get("val_acc") is None else f"{m['val_acc']:.2f}",
                 "—" if m.get("best_epoch") is None else f"{m['best_epoch']:g}", f"{m['test_acc']:.2f}",
                 f"{m['test_acc'] / (m['params'] / 1e4):.2f}"], "no reference")
            for name, r in results.items() for m in [r.metrics]]
    part.tables.append(Table(["model", "parameters", "best validation acc. (%)", "best epoch",
                              "test acc. (%)", "test acc. per 10k parameters"], rows,
                             "Parameters and test accuracy (best model on validation)"))
    path = figures.labelled_scatter([p for p, _ in sizes.values()], [a for _, a in sizes.values()],
                                    list(sizes), ctx.figures_dir / "fusion_size_accuracy.png",
                                    "Test accuracy against parameter count", "parameters (log scale)",
                                    "test accuracy (%)", logx=True)
    part.figures.insert(0, Figure(str(path), "The five networks: accuracy against size"))
    part.observations += size_notes(sizes)
    part.questions += model_questions(results, ctx)


EXPERIMENTS = {"models": models}


# --- the networks, justified from their layers --------------------------------------------------------

def anatomy(r: VariantResult) -> dict:
    """A fusion network from its built model: what it reads, its convolution part(s), its head."""
    params = r.variant.params
    model = build_model(params["model"], **params.get("model_options", {}))
    x = example_input(r.metrics.get("input_shape") or AVMNIST_SHAPE)
    walked = layers(model, x)
    model.eval()
    with torch.no_grad():
        features = model.body(x).flatten(1).shape[1]
    if isinstance(model.body, Concat):
        encoders = {key: (count_parameters(enc), int(enc(x[key]).flatten(1).shape[1]),
                          sum(isinstance(m, torch.nn.Conv2d) for m in enc.modules()))
                    for key, enc in model.body.encoders.items()}
        reads = " and ".join(model.body.encoders)
    else:
        convs = sum(isinstance(m, torch.nn.Conv2d) for m in model.body.modules())
        encoders = {"both" if any(isinstance(m, StackOnGrid) for m in model.modules()) else
                    next(m.key for m in model.modules() if isinstance(m, Pick)):
                    (count_parameters(model.body), features, convs)}
        reads = next(iter(encoders))
        reads = "image and audio stacked on the image grid" if reads == "both" else reads
    heads = [layer for layer in walked if layer.name.startswith("head") and layer.kind == "Linear"]
    maps = [layer for layer in walked if layer.kind in ("Conv2d", "MaxPool2d")]
    return {"reads": reads, "encoders": encoders, "features": int(features), "maps": maps,
            "body": count_parameters(model.body), "head": count_parameters(model.head),
            "head_widths": [heads[0].description.split()[2]] + [str(layer.output_shape[0]) for layer in heads]
            if heads else [], "total": count_parameters(model), "walked": walked}


def _acc(r: VariantResult) -> str:
    m = r.metrics
    best = f", best validation epoch {m['best_epoch']:g}" if m.get("best_epoch") is not None else ""
    return f"test accuracy {m['test_acc']:.2f} %{best}"


def justify_question(results: dict[str, VariantResult], shapes: dict[str, dict]) -> Question:
    rows = []
    for name, a in shapes.items():
        enc = "; ".join(f"{key}: {convs} conv., {feats:,} features ({p:,} param.)"
                        for key, (p, feats, convs) in a["encoders"].items())
        rows.append(Row([name, a["reads"], enc, f"{a['features']:,}", "-".join(a["head_widths"]),
                         fmt(a["body"]), fmt(a["head"]), fmt(a["total"]),
                         f"{results[name].metrics['test_acc']:.2f}"]))
    smallest = min(shapes, key=lambda n: shapes[n]["total"])
    largest = max(shapes, key=lambda n: shapes[n]["total"])
    answer = ("Every network is a convolution part that turns each input into a vector, then a small fully "
              "connected head; the table gives each part's size, computed from the built models. The sizes "
              f"range from {shapes[smallest]['total']:,} ({smallest}) to {shapes[largest]['total']:,} "
              f"parameters ({largest}). The choices are justified one by one in the answers below.")
    table = Table(["model", "reads", "convolution part(s)", "features into the head", "head", "convolution "
                   "parameters", "head parameters", "parameters", "test acc. (%)"], rows,
                  "The five networks, part by part (computed from the built models)")
    return Question("vous justifierez votre implémentation des algorithmes, analyserez l'influence de leurs "
                    "paramètres, et commenterez les résultats obtenus.", f"{SOURCE}, § 1", answer, [table])


def _maps(a: dict, prefix: str = "") -> str:
    return " → ".join(questions.shape_text(m.output_shape) for m in a["maps"] if m.name.startswith(prefix))


def image_question(r: VariantResult, a: dict) -> Question:
    side = (r.metrics.get("input_shape") or AVMNIST_SHAPE)["image"][-1]
    answer = (f"image_lenet5 is LeNet-5: two 5×5 convolutions (the first padded so that the {side}×{side} "
              f"image keeps its side), each followed by ReLU and 2×2 max pooling ({_maps(a)}), so "
              f"{a['features']:,} features, then fully connected layers {'-'.join(a['head_widths'])}. It has "
              f"{a['total']:,} parameters, {100 * a['head'] / a['total']:.1f} % of them in the fully "
              f"connected head; {_acc(r)}.")
    return Question("Définissez un modèle LeNet5 et entraînez le sur les données image. [...] Notez le "
                    "nombre de paramètres et l'accuracy obtenue.", f"{SOURCE}, § 2.3", answer)


def audio_question(r: VariantResult, a: dict, image: dict | None) -> Question:
    shape = r.metrics.get("input_shape") or AVMNIST_SHAPE
    answer = (f"The spectrogram is {questions.shape_text(shape['audio'])}, "
              f"{shape['audio'][-1] / shape['image'][-1]:g} times the image's side: audio_lenet keeps "
              "LeNet's blocks (convolution, ReLU, 2×2 max pooling) and adds two, "
              f"{a['encoders'][next(iter(a['encoders']))][2]} in all ({_maps(a)}), so that the map reaching "
              f"the head, {a['features']:,} values, is of the order of the image network's"
              + (f" {image['features']:,}" if image else "")
              + f"; the head is the same {'-'.join(a['head_widths'])}. It has {a['total']:,} parameters"
              + (f" ({a['total'] / image['total']:.2f} times image_lenet5)" if image else "")
              + f"; {_acc(r)}.")
    return Question("De même, proposez et entraînez un modèle inspiré de LeNet5 sur les données audio. Notez "
                    "le nombre de paramètres et l'accuracy obtenue.", f"{SOURCE}, § 2.3", answer)


def early_question(r: VariantResult, a: dict, shapes: dict, results: dict, ctx: Context) -> Question:
    shape = r.metrics.get("input_shape") or AVMNIST_SHAPE
    n_raw = sum(math.prod(s) for s in shape.values())
    first = a["head_widths"][1] if len(a["head_widths"]) > 1 else None
    dense = (n_raw * int(first) + int(first)) if first else None
    answer = ("early_fusion average-pools the spectrogram to the image's 28×28 grid and stacks it with the "
              f"image as a second channel; a LeNet-5 with two input channels follows ({_maps(a)}). No fully "
              f"connected layer touches the raw inputs: one of {first} units on the {n_raw:,} raw values "
              f"would alone need {dense:,} parameters. The network has {a['total']:,} parameters")
    if "image_lenet5" in shapes:
        answer += (f", {a['total'] - shapes['image_lenet5']['total']:+,} against image_lenet5 (its first "
                   "convolution)")
    answer += f"; {_acc(r)}."
    answer += expectation(r, results, ctx)
    return Question("Proposez et entraînez un modèle qui récupère en entrée les deux types de données "
                    "brutes. Évitez l'utilisation des couches FC tout de suite en entrée du réseau car cela "
                    "demanderait beaucoup de paramètres à optimiser. Normalement, l'accuracy obtenue devrait "
                    "être supérieure à celles obtenues aux questions précédentes. Quel est le nombre de "
                    "paramètres du nouveau modèle ?",
                    f"{SOURCE}, § 2.4", answer)


def expectation(r: VariantResult, results: dict, ctx: Context) -> str:
    """The TP expects a fusion to beat both unimodal networks: does it?"""
    unimodal = {n: results[n].metrics["test_acc"] for n in UNIMODAL if n in results}
    if not unimodal:
        return ""
    best = max(unimodal, key=unimodal.get)
    diff = r.metrics["test_acc"] - unimodal[best]
    if ctx.smoke:
        return (f" Against the best unimodal network ({best}, {unimodal[best]:.2f} %): {diff:+.2f} points, "
                "not judged at smoke scale.")
    return (f" Against the best unimodal network ({best}, {unimodal[best]:.2f} %): {diff:+.2f} points: "
            + ("higher, as the TP expects." if diff > 0 else "not higher, unlike what the TP expects."))


def intermediate_question(r: VariantResult, a: dict, shapes: dict, results: dict, ctx: Context) -> Question:
    parts = " + ".join(f"{feats:,} ({key})" for key, (_, feats, _) in a["encoders"].items())
    answer = ("intermediate_fusion runs the convolution stacks of image_lenet5 and audio_lenet, unchanged, "
              f"and concatenates their flattened outputs, {parts} = {a['features']:,} values, into one head "
              f"{'-'.join(a['head_widths'])}; everything is trained together. It has {a['total']:,} "
              "parameters"
              + (" (image_lenet5 + audio_lenet: "
                 f"{shapes['image_lenet5']['total'] + shapes['audio_lenet']['total']:,}, as the two heads "
                 "become one)" if {"image_lenet5", "audio_lenet"} <= set(shapes) else "")
              + f"; {_acc(r)}.")
    answer += expectation(r, results, ctx)
    if "early_fusion" in results:
        answer += (" Against early_fusion: "
                   f"{r.metrics['test_acc'] - results['early_fusion'].metrics['test_acc']:+.2f} points.")
    return Question("A partir des deux architectures séparées de type LeNet proposées initialement, "
                    "concaténez les vecteurs latents flattened obtenus après les convolutions, afin "
                    "d'obtenir un seul modèle à entraîner conjointement [...] Quel est le nombre de "
                    "paramètres et la performance de ce modèle ?",
                    f"{SOURCE}, § 2.5", answer)


def comparison_question(results: dict, shapes: dict, ctx: Context) -> Question:
    sizes = {name: (shapes[name]["total"], r.metrics["test_acc"]) for name, r in results.items()}
    notes = size_notes(sizes)
    answer = ""
    if "multibench_concat" in shapes:
        a = shapes["multibench_concat"]
        enc = ", ".join(f"{key} {convs} convolutions with batch norm, {feats} features after a global max "
                        "pooling" for key, (_, feats, convs) in a["encoders"].items())
        answer += (f"MultiBench's model ({enc}; head {'-'.join(a['head_widths'])}) has {a['total']:,} "
                   f"parameters and {_acc(results['multibench_concat'])}. ")
    answer += " ".join([notes[0], *notes[-2:]]) if len(notes) > 2 else " ".join(notes)
    rho = spearmanr([p for p, _ in sizes.values()], [a for _, a in sizes.values()]).statistic
    if ctx.smoke:
        answer += (questions.SMOKE_NOTE
                   + " Whether accuracy is consistent with size: not judged at smoke scale.")
    elif len(sizes) >= 3 and np.isfinite(rho):
        answer += (" Consistent with size: the larger networks are the more accurate ones." if rho > 0.5 else
                   " Not consistent with size alone: what the networks read and how they fuse it matters "
                   "more than their parameter count.")
    return Question("Comparez la performance obtenue avec celle du code suivant, est-ce que les résultats "
                    "sont cohérents si on regarde l'accuracy et la taille du modèle "
                    "?", f"{SOURCE}, § 2.6", answer)


def model_questions(results: dict[str, VariantResult], ctx: Context) -> list[Question]:
    """The TP's questions on the five networks, answered from the built models and the results."""
    shapes = {name: anatomy(r) for name, r in results.items()}
    found = [justify_question(results, shapes)]
    if "image_lenet5" in results:
        found.append(image_question(results["image_lenet5"], shapes["image_lenet5"]))
    if "audio_lenet" in results:
        found.append(audio_question(results["audio_lenet"], shapes["audio_lenet"],
                                    shapes.get("image_lenet5")))
    if "early_fusion" in results:
        found.append(early_question(results["early_fusion"], shapes["early_fusion"], shapes, results, ctx))
    if "intermediate_fusion" in results:
        found.append(intermediate_question(results["intermediate_fusion"], shapes["intermediate_fusion"],
                                           shapes, results, ctx))
    found.append(comparison_question(results, shapes, ctx))
    if ctx.smoke:
        for q in found[1:-1]:
            q.answer += questions.SMOKE_NOTE
    return found


def difficulty_question(data: dict[str, VariantResult], models: dict[str, VariantResult],
                        smoke: bool) -> Question | None:
    """§ 2.2: AV-MNIST against MNIST: what the images have lost, and what the networks reach."""
    if not data:
        return None
    m = next(iter(data.values())).metrics
    harder = ("image_lenet5" in models and not smoke
              and models["image_lenet5"].metrics["test_acc"] < MNIST_LENET5.value)
    answer = (("Harder, for the images. " if harder else "")
              + "AV-MNIST's images are MNIST digits from which MultiBench removed most of the energy with "
              "a PCA projection: faint, signed residuals rather than pixels (see the grid of samples). A "
              f"nearest-class-mean classifier reaches {m['image_nearest_mean_acc']:.2f} % on them and "
              f"{m['audio_nearest_mean_acc']:.2f} % on the spectrograms (chance 10 %).")
    if "image_lenet5" in models:
        acc = models["image_lenet5"].metrics["test_acc"]
        answer += (f" LeNet-5 reaches {acc:.2f} % on AV-MNIST's images, against {MNIST_LENET5.text()} % on "
                   f"plain MNIST ({MNIST_LENET5.citation()}): {acc - MNIST_LENET5.value:+.2f} points.")
    if smoke:
        answer += (" At smoke scale the data are a synthetic fixture in AV-MNIST's format: these accuracies "
                   "say nothing about the real data.")
    return Question("Affichez un tableau d'images et leurs annotations. Qu'en pensez vous en terme de "
                    "difficulté par rapport à MNIST ?", f"{SOURCE}, § 2.2", answer)


def discuss(summary: ChapterPart, results: dict[str, dict[str, VariantResult]]) -> None:
    """Fusion against the best single modality, size against accuracy, AV-MNIST's difficulty; conclusion."""
    smoke = summary.scale == "smoke"
    data, models_ = results.get("data", {}), results.get("models", {})
    data_part = next((p for p in summary.experiments if p.name == "data"), None)
    if data_part is not None and (q := difficulty_question(data, models_, smoke)):
        data_part.questions.append(q)
    if not models_:
        return
    accs = {n: r.metrics["test_acc"] for n, r in models_.items()}
    params = {n: int(r.metrics["params"]) for n, r in models_.items()}
    unimodal = {n: a for n, a in accs.items() if n in UNIMODAL}
    fused = {n: a for n, a in accs.items() if n not in UNIMODAL}
    text = f"Chance on AV-MNIST's 10 digits is 10 % (a loss of ln 10 = {math.log(10):.3f}). "
    if unimodal:
        best_uni = max(unimodal, key=unimodal.get)
        text += (f"Alone, the images give {accs.get('image_lenet5', float('nan')):.2f} % and the "
                 f"spectrograms {accs.get('audio_lenet', float('nan')):.2f} %; the best single modality is "
                 f"{best_uni} ({unimodal[best_uni]:.2f} %). ")
        if fused:
            above = [n for n, a in fused.items() if a > unimodal[best_uni]]
            text += ("Fusions: " + ", ".join(f"{n} {a:.2f} % ({a - unimodal[best_uni]:+.2f})"
                                             for n, a in fused.items()) + ". ")
            text += ("The TP expects fusion to beat the single modalities: not judged at smoke scale."
                     if smoke else
                     ("As the TP expects, " if len(above) == len(fused) else "The TP expects every fusion to "
                      "beat the single modalities; here ")
                     + f"{len(above)} of {len(fused)} fusions beat the best single modality"
                     + (f" ({', '.join(above)})." if above else "."))
    summary.discussion.append(text)
    sizes = {n: (params[n], accs[n]) for n in accs}
    notes = size_notes(sizes)
    summary.discussion.append(
        "Size against accuracy (the TP's § 2.6): " + " ".join(notes[-2:])
        + (" At smoke scale the ranking reflects two epochs on synthetic data, not the architectures."
           if smoke else ""))
    if "image_lenet5" in accs:
        gap = accs["image_lenet5"] - MNIST_LENET5.value
        summary.discussion.append(
            f"AV-MNIST's images are harder than MNIST's: LeNet-5 reaches {accs['image_lenet5']:.2f} % on "
            f"them against {MNIST_LENET5.text()} % on plain MNIST ({MNIST_LENET5.citation()}), "
            f"{gap:+.2f} points, because most of each digit's energy was removed; that is why the audio has "
            "something to add."
            if not smoke and gap < 0 else
            f"AV-MNIST against MNIST: LeNet-5 reaches {accs['image_lenet5']:.2f} % on AV-MNIST's images "
            f"against {MNIST_LENET5.text()} % on plain MNIST ({MNIST_LENET5.citation()}), {gap:+.2f} points."
            if not smoke else
            f"AV-MNIST against MNIST: LeNet-5 reaches {accs['image_lenet5']:.2f} % on the (synthetic) images "
            f"against {MNIST_LENET5.text()} % on plain MNIST ({MNIST_LENET5.citation()}); at smoke scale no "
            "conclusion.")
    judged = [n for n, r in models_.items() if enough_epochs(r.history, smoke)]
    if len(judged) < len(models_):
        summary.discussion.append(f"Over- or under-fitting of the five networks: {NOT_ENOUGH_EPOCHS}"
                                  + (" at smoke scale." if smoke else " (fewer than 5 trained epochs).")
                                  + " Each is tested with its best epoch on the validation split.")
    best = max(accs, key=accs.get)
    summary.conclusion.append(f"The best network is {best}, {accs[best]:.2f} % test accuracy with "
                              f"{params[best]:,} parameters (chance 10 %).")
    front = [line for line in notes if line.startswith("Pareto")]
    if front:
        summary.conclusion.append(front[0])
    if smoke:
        summary.conclusion.append("At smoke scale these numbers only show that the pipeline runs: "
                                  f"{NOT_ENOUGH_EPOCHS} whether fusion helps.")
    elif unimodal and fused:
        best_fused, best_uni = max(fused, key=fused.get), max(unimodal, key=unimodal.get)
        diff = fused[best_fused] - unimodal[best_uni]
        summary.conclusion.append(
            f"Fusing the modalities {'helps' if diff > 0 else 'does not help'}: the best fusion, "
            f"{best_fused}, is {diff:+.2f} points from the best single modality, {best_uni}.")
