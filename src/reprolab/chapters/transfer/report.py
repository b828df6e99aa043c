"""The report part of chapter `transfer`: networks described from the built models, the course's
questions of TP 7 (seed 003) answered with computed values, the seed's numbers beside ours, and
the chapter's discussion, all written from the result files."""

from __future__ import annotations

import math

import numpy as np

from reprolab import figures
from reprolab.chapters.transfer import networks, plots
from reprolab.pretrained import weights_text
from reprolab.report.generic import Claim, claims_table
from reprolab.report.parts import (
    ChapterPart,
    Context,
    ExperimentPart,
    Figure,
    Question,
    Row,
    Table,
    VariantResult,
    enough_epochs,
    fmt,
    verdict,
)
from reprolab.report.questions import SMOKE_NOTE

TP7 = "seed 003, TP 7"
TP3 = "seed 002, TP 3"
FLAT = 1.0  # points: a C sweep is "almost flat" when the test accuracy moves less than this for C >= 1
RANDOM = ("At smoke scale every network is randomly initialised (no weights are downloaded), so its "
          "features and predictions carry no ImageNet knowledge.")
TABLE_KINDS = ("Conv2d", "MaxPool2d", "AdaptiveAvgPool2d", "Linear")  # rows of the layer tables
LAYER_COLUMNS = ["layer", "what it does", "output (C × H × W)", "parameters", "receptive field (px)"]


def joined(values, digits: str = "g") -> str:
    return ", ".join(format(v, digits) for v in values)


# --- networks, from the built models -------------------------------------------------------------

def layer_table(layers: list[dict], title: str, feature_layer: str | None = None) -> Table:
    """Convolutions, pooling and fully connected layers (and the feature layer), one row each:
    output size, parameters, receptive field; the total of every layer last."""
    rows = []
    for layer in layers:
        if layer["kind"] in TABLE_KINDS or layer["label"] == feature_layer:
            label = layer["label"] + (" (features)" if layer["label"] == feature_layer else "")
            rows.append(Row([label, layer["description"], networks.shape_text(layer["output_shape"]),
                             f"{layer['params']:,}", networks.field_text(layer["receptive_field"])]))
    rows.append(Row(["total", f"{len(layers)} layers (ReLU and dropout included)", "",
                     f"{sum(layer['params'] for layer in layers):,}", ""]))
    return Table(LAYER_COLUMNS, rows, title)


def stage_table(arch: str, title: str) -> tuple[Table, list[dict]]:
    """A network summed up per stage (ResNet), and its layers."""
    layers = list(networks.described(arch))
    rows = [Row([s["stage"], str(s["layers"]), networks.shape_text(s["output_shape"]), f"{s['params']:,}",
                 networks.field_text(s["receptive_field"])]) for s in networks.stages(layers)]
    rows.append(Row(["total", str(len(layers)), "", f"{sum(d['params'] for d in layers):,}", ""]))
    columns = ["stage", "layers", "output (C × H × W)", "parameters", "receptive field (px)"]
    return Table(columns, rows, title), layers


def by_label(layers) -> dict[str, dict]:
    return {layer["label"]: layer for layer in layers}


# --- vgg16_anatomy -------------------------------------------------------------------------------

def anatomy(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """The `anatomy` kind: setup, the network layer by layer, the predictions on the photos."""
    part.setup = Table(["variant", "network", "weights", "input", "parameters", "photos"],
                       [Row([name, m["backbone"], weights_text(m), networks.shape_text(m["input_shape"]),
                             f"{m['params']:,}", ", ".join(p["photo"] for p in m["predictions"])])
                        for name, r in results.items() for m in [r.metrics]])
    for name, r in results.items():
        m = r.metrics
        title = f"{m['backbone']} layer by layer, computed from the built model on one 224 × 224 image"
        part.method_tables.append(layer_table(m["layers"], title, "relu7"))
        part.figures.append(Figure(r.file("predictions.png"),
                                   f"{r.variant.id}: top-{m['top_k']} classes and softmax probabilities "
                                   f"on the photos"))
        rows = [Row([p["photo"], str(rank), label, f"{prob:.2f}"])
                for p in m["predictions"] for rank, (label, prob) in enumerate(p["top"], 1)]
        part.tables.append(Table(["photo", "rank", "ImageNet class", "probability (%)"], rows,
                                 f"{name}: top-{m['top_k']} predictions on our photos"))
        sources = "; ".join(f"{p['photo']}: {p['source']}" for p in m["predictions"])
        part.method.append(
            f"torchvision's {m['backbone']} with {weights_text(m)} weights, in eval mode. Each photo is "
            f"resized to 224 × 224 (bilinear, both sides, no crop), scaled to [0, 1] and normalised with "
            f"ImageNet's mean and standard deviation, as the course does. Photos (the seed used the "
            f"students' own, a malamute and a Persian cat; ours ship with packages the pipeline installs): "
            f"{sources}. The class names are the {m['n_categories']:,} of torchvision's weights metadata "
            f"(no file downloaded).")
        if not m["pretrained"]:
            part.observations.append(RANDOM)


def vgg16_anatomy(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """The course's questions 1-3 of TP 7, answered from the model and its predictions."""
    for name, r in results.items():
        m, layers = r.metrics, by_label(r.metrics["layers"])
        found = (parameters_question(m, layers, ctx, name), output_question(m, layers),
                 photos_question(m, ctx, name))
        part.questions += [q for q in found if q]


def fc_estimate(fc7: dict, fc8: dict) -> int:
    """The seed's hand estimate from the layers' sizes: (4096 + 1) × 4096 + (4096 + 1) × 1000."""
    n7, n8 = fc7["output_shape"][0], fc8["output_shape"][0]
    return (n7 + 1) * n7 + (n7 + 1) * n8


def parameters_question(m: dict, layers: dict[str, dict], ctx: Context, name: str) -> Question | None:
    if not {"fc6", "fc7", "fc8", "pool5"} <= layers.keys():
        return None
    total = m["params"]
    fc = {k: layers[k]["params"] for k in ("fc6", "fc7", "fc8")}
    conv = sum(layer["params"] for layer in m["layers"] if layer["kind"] == "Conv2d")
    estimate = fc_estimate(layers["fc7"], layers["fc8"])
    reference = ctx.reference(name, "params")
    seed_value = int(reference.value) if reference else estimate
    pool5 = layers["pool5"]["output_shape"]
    inputs = math.prod(pool5)

    def share(v: int) -> str:
        return f"{100 * v / total:.1f}"

    rows = [Row([k, layers[k]["description"], f"{v:,}", share(v)]) for k, v in fc.items()]
    rows += [Row(["13 convolutions", "conv1_1 ... conv5_3", f"{conv:,}", share(conv)]),
             Row(["total", "", f"{total:,}", "100.0"]),
             Row(["seed's estimate", "(4096+1)×4096 + (4096+1)×1000: fc7 and fc8", f"{seed_value:,}",
                  share(seed_value)])]
    same = " (the same number, computed from the layer sizes)" if seed_value == estimate else \
        f" (the layer sizes give {estimate:,})"
    answer = (f"Computed from torchvision's VGG16: {total:,} parameters, of which the three fully connected "
              f"layers hold {sum(fc.values()):,} ({share(sum(fc.values()))} %) and the 13 convolutions "
              f"{conv:,} ({share(conv)} %). The seed's estimate, (4096 + 1) × 4096 + (4096 + 1) × 1000 = "
              f"{seed_value:,}{same}, counts fc7 and fc8 only and is {total / seed_value:.1f} times too "
              f"small: it misses fc6, which maps the {networks.shape_text(pool5)} = {inputs:,} outputs of "
              f"pool5 to {layers['fc6']['output_shape'][0]:,} units, ({inputs:,} + 1) × "
              f"{layers['fc6']['output_shape'][0]:,} = {fc['fc6']:,} parameters, the largest layer "
              f"({share(fc['fc6'])} % of the network). With fc6, the fully connected layers alone give "
              f"{sum(fc.values()):,}, {share(sum(fc.values()))} % of the exact count: the premise of the "
              f"question holds.")
    return Question("Sachant que les couches fully connected comptent la majorité des paramètres du modèle, "
                    "estimer grossièrement le nombre de paramètres de VGG16 (en utilisant les tailles "
                    "données sur la Figure 1).", f"{TP7}, Q. 1", answer,
                    [Table(["layer", "what it does", "parameters", "share of the total (%)"], rows,
                           "VGG16's parameters: the fully connected layers, the convolutions, the seed's "
                           "estimate")])


def output_question(m: dict, layers: dict[str, dict]) -> Question | None:
    if "fc8" not in layers:
        return None
    fc8, sums = layers["fc8"], [p["probability_sum"] for p in m["predictions"]]
    conv5 = layers.get("conv5_3")
    first, last = m["categories_first_last"]
    window = networks.field_text(conv5["receptive_field"]) if conv5 else "?"
    answer = (f"The last layer, fc8, gives {networks.shape_text(fc8['output_shape'])} scores, one per "
              f"ImageNet class (the {m['n_categories']:,} classes of ILSVRC 2012, from «{first}» to "
              f"«{last}»). A softmax turns them into probabilities: on our photos they sum to "
              f"{min(sums):.4f} to {max(sums):.4f} %. Each score sees the whole image (fully connected), "
              f"whereas a unit of the last convolution, conv5_3, sees a window of {window} pixels of the "
              f"224 × 224 input (its receptive field, in the layer table).")
    return Question("Quelle est la taille de sortie de la dernière couche de VGG16 ? À quoi "
                    "correspond-elle ?", f"{TP7}, Q. 2", answer)


def photos_question(m: dict, ctx: Context, name: str) -> Question | None:
    if not m["predictions"]:
        return None
    tops = "; ".join(f"{p['photo']}: «{p['top'][0][0]}» {p['top'][0][1]:.2f} % (then «{p['top'][1][0]}» "
                     f"{p['top'][1][1]:.2f} %)" for p in m["predictions"] if len(p["top"]) > 1)
    seed = [r for r in ctx.references.get(name, []) if r.metric == "top1_probability"]
    rows = [Row([f"seed: {r.note}", f"{r.value:.2f}", r.citation()]) for r in seed]
    rows += [Row([f"ours, {p['photo']}: «{p['top'][0][0]}»", f"{p['top'][0][1]:.2f}", "this run"])
             for p in m["predictions"]]
    confident = [p for p in m["predictions"] if p["top"][0][1] >= 50]
    answer = (f"Top-1 on our photos: {tops}. {len(confident)} of {len(m['predictions'])} photos get a top-1 "
              f"probability of 50 % or more.")
    if seed:
        answer += (f" The seed's photos were the students' own ({'; '.join(r.note for r in seed)}); ours "
                   f"are other photos, so the probabilities cannot be compared, only their form: one "
                   f"confident class, then its visual neighbours.")
    if not m["pretrained"]:
        answer += (f" Here the network is randomly initialised: its probabilities are close to uniform "
                   f"(1/{m['n_categories']:,} = {100 / m['n_categories']:.2f} %) and its classes arbitrary.")
    tables = [Table(["photo and class", "top-1 probability (%)", "source"], rows,
                    "Top-1 probabilities: the seed's photos and ours")]
    return Question("Bonus : Appliquer le réseau sur plusieurs images de votre choix et commenter les "
                    "résultats de classification.", f"{TP7}, Q. 3", answer, tables)


# --- scene15 -------------------------------------------------------------------------------------

def linear_svm(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """The `linear_svm` kind: setup, confusion matrices, the C sweep, per-class accuracy."""
    part.setup = Table(["variant", "features", "weights", "dimensions", "normalisation", "C",
                        "train / test", "classes"],
                       [Row([name, f"{m['backbone']} {m['layer']}", weights_text(m), str(m["feature_dim"]),
                             m["normalize"] or "none", f"{m['C']:g}", f"{m['n_train']:,} / {m['n_test']:,}",
                             str(m["n_classes"])]) for name, r in results.items() for m in [r.metrics]])
    shown = set()
    for name, r in results.items():
        m, classes = r.metrics, r.metrics["classes"]
        matrix = np.asarray(m["confusion"])
        recall = 100 * np.diag(matrix) / np.maximum(matrix.sum(1), 1)
        worst, best = int(recall.argmin()), int(recall.argmax())
        text = (f"{name}: test accuracy {m['test_acc']:.2f} % (train {m['train_acc']:.2f} %); per class "
                f"from {recall[worst]:.1f} % ({classes[worst]}) to {recall[best]:.1f} % ({classes[best]})")
        off = matrix - np.diag(np.diag(matrix))
        if off.sum():
            i, j = (int(v) for v in np.unravel_index(off.argmax(), off.shape))
            text += (f"; most frequent confusion: {classes[i]} taken for {classes[j]} ({off[i, j]} "
                     f"image{'s' if off[i, j] > 1 else ''})")
        part.observations.append(text + ".")
        if m["iterations"] >= m["max_iter"]:
            part.observations.append(f"{name}: LinearSVC stopped at its {m['max_iter']} iterations without "
                                     f"converging.")
        key = (m["backbone"], m["layer"], m["C"])
        if key not in shown:  # the sweep variant at C = 1 repeats vgg16_svm's matrix
            shown.add(key)
            part.figures.append(Figure(r.file("confusion.png"), f"{r.variant.id}: test confusion matrix"))
        if sweep := m["c_sweep"]:
            part.figures.append(Figure(r.file("c_sweep.png"),
                                       f"{r.variant.id}: train and test accuracy against C"))
            part.tables.append(Table(["C", "train acc. (%)", "test acc. (%)", "iterations"],
                                     [Row([f"{s['C']:g}", f"{s['train_acc']:.2f}", f"{s['test_acc']:.2f}",
                                           str(s["iterations"])]) for s in sweep],
                                     f"{name}: the sweep over C"))
        if not m["pretrained"]:
            part.observations.append(f"{name}: {RANDOM}")


def sweep_claim(sweep: list[dict]) -> Claim | None:
    high = [s for s in sweep if s["C"] >= 1]
    if len(high) < 2:
        return None
    accs = [s["test_acc"] for s in high]
    spread = max(accs) - min(accs)
    return Claim("For C ≥ 1 the accuracy hardly changes («pour C ≥ 1, l'accuracy ne varie presque pas»)",
                 f"{TP7}, Q. 11", f"test accuracy {min(accs):.2f} to {max(accs):.2f} % for C in "
                 f"{joined(s['C'] for s in high)} (spread {spread:.2f} points; flat: under {FLAT:g})",
                 spread < FLAT)


def scene15(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """Method (data, AlexNet layer by layer), the seed's statements, questions 5-11 of TP 7."""
    m = next(iter(results.values())).metrics
    modes = ", ".join(f"{n:,} in PIL mode {mode}" for mode, n in (m.get("source_modes") or {}).items())
    size = m["image_size"]
    checked = "identical" if m.get("channels_identical") else "NOT identical"
    part.method += [
        f"15-Scene: {m['n_train'] + m['n_test']:,} grayscale photos of {m['n_classes']} scene categories "
        f"({modes}). {m['n_train'] // m['n_classes']} training images per category are drawn with a fixed "
        f"seed (the seed does not say which; the course's pre-split 15SceneData has 100), the rest for "
        f"test. Each image is resized to {size} × {size} (bilinear, both sides, no crop), its gray channel "
        f"duplicated to three (checked: the three channels are {checked}), scaled to [0, 1] and normalised "
        f"with ImageNet's statistics.",
        "Features: the output of relu7, the ReLU after the second fully connected layer (4,096 values), of "
        "VGG16 and of AlexNet in eval mode (dropout off), computed once per network and cached; the seed "
        "names the layer for VGG16 only, we take the same for AlexNet. Each feature vector is "
        "L2-normalised (the seed does not say; public solutions of the course do), then scikit-learn's "
        "LinearSVC (one-vs-rest, squared hinge loss) is trained with C = 1 (seed).",
    ]
    part.method_tables.append(layer_table(list(networks.described("alexnet")),
                                          "AlexNet layer by layer, computed from the built model on one "
                                          "224 × 224 image (VGG16: see its own table)", "relu7"))
    claims = []
    if {"vgg16_svm", "alexnet_svm"} <= results.keys():
        vgg, alex = (results[n].metrics["test_acc"] for n in ("vgg16_svm", "alexnet_svm"))
        claims.append(Claim("AlexNet does worse than VGG16 («0.868342 qui est moins bonne que VGG16 avec "
                            "accuracy=0.888107»)", f"{TP7}, Q. 11",
                            f"AlexNet {alex:.2f} %, VGG16 {vgg:.2f} % ({alex - vgg:+.2f} points)",
                            alex < vgg))
    for r in results.values():
        if r.metrics["c_sweep"] and (claim := sweep_claim(r.metrics["c_sweep"])):
            claims.append(claim)
    if table := claims_table(claims, ctx, "The seed's statements against our numbers"):
        part.tables.append(table)
    part.questions += scene15_questions(results, ctx)


def scene15_questions(results: dict[str, VariantResult], ctx: Context) -> list[Question]:
    """TP 7, questions 5 to 11, with the numbers of this run."""
    m = (results.get("vgg16_svm") or next(iter(results.values()))).metrics
    k, n_train, size = m["n_classes"], m["n_train"], m["image_size"]
    vgg = by_label(networks.described("vgg16"))
    alexnet = networks.described("alexnet")
    vgg_params = sum(layer["params"] for layer in vgg.values())
    note = SMOKE_NOTE if ctx.smoke else ""
    head = 4096 * k + k
    windows = ", ".join(f"{name}: {networks.field_text(vgg[name]['receptive_field'])} pixels"
                        for name in ("conv1_1", "conv3_3", "conv5_3"))
    conv5 = vgg["conv5_3"]["output_shape"]
    modes = ", ".join(f"{n:,} source images in PIL mode {mode}" for mode, n in
                      (m.get("source_modes") or {}).items())
    checked = "identical (checked on every image)" if m.get("channels_identical") else "NOT identical"
    random = " With random weights (this smoke run) the features carry no such knowledge." \
        if not m["pretrained"] else ""
    questions = [
        Question("Pourquoi ne pas directement apprendre VGG16 sur 15 Scene ?", f"{TP7}, Q. 5",
                 f"VGG16 has {vgg_params:,} parameters; 15-Scene gives {n_train:,} training images here, "
                 f"{vgg_params / n_train:,.0f} parameters per image (ImageNet's training set has about "
                 f"1.28 million images of 1,000 classes). Trained from scratch on so few images such a "
                 f"network would learn the training set by heart, and it is slow to train. Reusing the "
                 f"ImageNet weights leaves a linear classifier to learn: {head:,} parameters for {k} "
                 f"classes on 4,096 features, {head / n_train:,.1f} per training image."),
        Question("En quoi le pré-apprentissage sur ImageNet peut aider à la classification de 15 Scene ?",
                 f"{TP7}, Q. 6",
                 f"The convolutional layers learnt on ImageNet detect edges, textures, parts and objects, "
                 f"which scenes are made of; relu7 sums them up in 4,096 values that a linear classifier can "
                 f"separate. Measured: with {weights_text(m)} weights, a linear SVM on VGG16's relu7 reaches "
                 f"{m['test_acc']:.2f} % test accuracy on {k} classes (chance: {100 / k:.1f} %)."
                 + random + note),
        Question("Quelles sont les limites de cette approche par feature extraction ?", f"{TP7}, Q. 7",
                 "The features are frozen: they were learnt for ImageNet's 1,000 object classes, not for "
                 "scenes, and only the linear classifier adapts; images far from ImageNet's (15-Scene's "
                 "grayscale, medical images, spectrograms) lose more. The network also fixes the input "
                 "(224 × 224 RGB: grayscale images must be duplicated to three channels) and the cost (a "
                 "VGG16 forward pass per image). Fine-tuning the whole network lifts the first limit: the "
                 "VOC 2007 experiment measures it against a linear layer on frozen features."),
        Question("Quelle est l'influence de la couche à laquelle les features sont extraites ?",
                 f"{TP7}, Q. 8",
                 f"Early layers see small windows ({windows}, from VGG16's receptive fields) and code "
                 f"generic patterns (edges, textures) in many values (conv5_3: {networks.shape_text(conv5)} "
                 f"= {math.prod(conv5):,}); the fully connected layers see the whole image and code "
                 f"ImageNet's classes more and more specifically, fc8 being the 1,000 class scores "
                 f"themselves. relu7 (4,096 values, the last layer before the ImageNet classifier) is the "
                 f"usual compromise: global and compact, yet not tied to ImageNet's labels. The "
                 f"classifier's input size must match the layer's: 4,096 for relu7. We extract relu7 only "
                 f"(the seed's choice); the AlexNet variant changes the network, not the layer."),
        Question("Les images de 15 Scene sont en noir et blanc, alors que VGG16 attend des images RGB. "
                 "Comment contourner ce problème ?", f"{TP7}, Q. 9",
                 f"Duplicate the gray channel into the three RGB channels (the course's duplicateChannel). "
                 f"We do it once, when preparing the data: {modes} become uint8 tensors of 3 × {size} × "
                 f"{size} whose three channels are {checked}. The ImageNet normalisation then subtracts a "
                 f"different mean per channel, as for colour images."),
        Question("Plutôt que d'apprendre un classifieur indépendant, est-il possible de n'utiliser que le "
                 "réseau de neurones ? Si oui, expliquer comment.", f"{TP7}, Q. 10",
                 f"Yes: replace VGG16's last layer (fc8, 4,096 → 1,000) by a fully connected layer 4,096 → "
                 f"{k} ({head:,} parameters) followed by a softmax, and train it with the cross-entropy, "
                 f"the other layers frozen (the SVM's model on relu7, with another loss), or every layer "
                 f"with a small learning rate (fine-tuning). The VOC 2007 experiment of this chapter does "
                 f"both on ResNet-50, with one sigmoid per class since its labels are multiple."),
    ]
    improvements = []
    if "vgg16_svm_csweep" in results:
        sweep = results["vgg16_svm_csweep"].metrics["c_sweep"]
        best = max(sweep, key=lambda s: s["test_acc"])
        tests, trains = [s["test_acc"] for s in sweep], [s["train_acc"] for s in sweep]
        improvements.append(
            f"C (the cost of margin violations; a small C widens the margin and regularises more): over "
            f"C = {joined(s['C'] for s in sweep)} the test accuracy goes from {min(tests):.2f} to "
            f"{max(tests):.2f} % (best {best['test_acc']:.2f} % at C = {best['C']:g}) and the training "
            f"accuracy from {min(trains):.2f} to {max(trains):.2f} %")
    if {"vgg16_svm", "alexnet_svm"} <= results.keys():
        vgg_acc, alex = (results[n].metrics["test_acc"] for n in ("vgg16_svm", "alexnet_svm"))
        improvements.append(
            f"AlexNet instead of VGG16 (larger early filters, {networks.depth(alexnet)} layers with weights "
            f"instead of {networks.depth(vgg.values())}): {alex:.2f} % against {vgg_acc:.2f} % "
            f"({alex - vgg_acc:+.2f} points)")
    if improvements:
        questions.append(Question("Pour chaque amélioration testée, expliquer ses justifications et "
                                  "commenter les résultats obtenus.", f"{TP7}, Q. 11",
                                  "; ".join(improvements) + "." + note))
    return questions


# --- voc2007 -------------------------------------------------------------------------------------

def class_aps(m: dict) -> dict[str, float]:
    """Test AP per class, from the `test_ap_<class>` keys (classes without a test positive are absent)."""
    return {k.removeprefix("test_ap_"): v for k, v in m.items()
            if k.startswith("test_ap_") and not k.endswith("_std") and v is not None}


def multilabel(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """The `multilabel` kind: setup, mAP per epoch, per-class AP."""
    rows = []
    for name, r in results.items():
        m, p = r.metrics, r.variant.params
        trained = "linear layer on cached features" if "features" in p else "whole network"
        rows.append(Row([name, trained, weights_text(m), fmt(m.get("params")),
                         f"{m['n_train']:,} / {m['n_test']:,}",
                         f"{p['optimizer']['name']} lr {p['optimizer']['lr']}", str(p["batch_size"]),
                         str(p["epochs"]), ", ".join(map(str, r.variant.seeds))]))
    part.setup = Table(["variant", "trained", "weights", "trained parameters", "train / test", "optimiser",
                        "batch", "epochs", "seeds"], rows)
    histories = {name: r.history for name, r in results.items() if r.history is not None}
    if histories:
        path = figures.overlay(histories, "test_map", ctx.figures_dir / "voc2007_test_map.png",
                               "VOC 2007: test mAP per epoch", "test mAP (%)")
        part.figures.insert(0, Figure(str(path), "Test mAP per epoch (epoch 0: before training)"))
    aps = {name: class_aps(r.metrics) for name, r in results.items()}
    classes = list(dict.fromkeys(c for variant in aps.values() for c in variant))
    if classes:
        rows = [Row([c, *(fmt(aps[name].get(c)) for name in results)]) for c in classes]
        rows.append(Row(["mean (mAP)", *(fmt(r.metrics.get("test_map")) for r in results.values())]))
        part.tables.append(Table(["class", *(f"{name} AP (%)" for name in results)], rows,
                                 "Test average precision per class (scikit-learn's average_precision_score)"))
        path = plots.per_class({name: {c: aps[name].get(c, 0.0) for c in classes} for name in results},
                               ctx.figures_dir / "voc2007_class_ap.png", "VOC 2007: test AP per class",
                               "average precision (%)")
        part.figures.append(Figure(str(path), "Test average precision per class"))
        for name, variant_aps in aps.items():
            worst, best = min(variant_aps, key=variant_aps.get), max(variant_aps, key=variant_aps.get)
            part.observations.append(f"{name}: AP from {variant_aps[worst]:.1f} % ({worst}) to "
                                     f"{variant_aps[best]:.1f} % ({best}) over {len(variant_aps)} classes.")
    for name, r in results.items():
        if not r.metrics.get("pretrained"):
            part.observations.append(f"{name}: {RANDOM}")


def voc2007(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """Method (labels, ResNet-50 per stage), the seed's other numbers, the seed's statements."""
    m = next(iter(results.values())).metrics
    table, layers = stage_table("resnet50", "ResNet-50 per stage, computed from the built model on one "
                                            "224 × 224 image (fc: ImageNet's classifier, replaced)")
    pooled = next(d for d in layers if d["name"] == "avgpool")
    part.method += [
        f"PASCAL VOC 2007: {m['n_labels']} classes, several per image; trainval for training "
        f"({m['n_train']:,} images here), test for testing ({m['n_test']:,}). The labels are read from the "
        f"XML annotations: a class is positive for an image when one of its objects there is not marked "
        f"difficult; an image whose objects of a class are all difficult counts as negative for it, as in "
        f"the course's data generator ({m.get('test_difficult', 0):,} such (image, class) pairs in test). "
        f"VOC's own protocol leaves those pairs out of the evaluation: the mAP table gives both. Images "
        f"are resized to 224 × 224 (bilinear, no crop, no augmentation).",
        f"Backbone: torchvision's ResNet-50 with its V1 ImageNet weights and normalisation (the seed used "
        f"Keras' ResNet50 and its caffe-style BGR mean subtraction). resnet50_linear trains one linear "
        f"layer {networks.shape_text(pooled['output_shape'])} → {m['n_labels']} with a sigmoid per class "
        f"and the binary cross-entropy on the global-average-pool features (extracted once, cached); "
        f"resnet50_finetune puts the same layer in place of ResNet-50's classifier and trains every layer. "
        f"Both: SGD lr 0.1, batch 32 (the course code; the seed gives no setting); the layer starts as "
        f"Keras' Dense (Glorot-uniform weights, zero biases). mAP is the mean over classes of "
        f"scikit-learn's average_precision_score (the course's; not VOC's 11-point AP); train numbers are "
        f"the final model's on the whole training set, in eval mode.",
    ]
    part.method_tables.append(table)
    rows = []
    for name, r in results.items():
        mm = r.metrics
        positives = mm.get("test_positives")
        negatives = 100 * (1 - positives / (mm["n_test"] * mm["n_labels"])) if positives is not None else None
        rows.append(Row([name, fmt(mm.get("train_map")), fmt(mm.get("test_map")), fmt(mm.get("test_map_voc")),
                         fmt(mm.get("test_acc")), fmt(negatives), fmt(mm.get("initial_map"))]))
    part.tables.append(Table(["variant", "train mAP (%)", "test mAP (%)", "test mAP, difficult left out (%)",
                              "test binary accuracy (%)", "all-negative binary accuracy (%)",
                              "test mAP before training (%)"], rows,
                             "mAP by split and protocol; the binary accuracy against a predictor that says "
                             "no to every class"))
    refs = []
    for name, r in results.items():
        if (reference := ctx.reference(name, "train_map")) is not None:
            status, diff = verdict(r.metrics.get("train_map"), reference, ctx.tolerance, ctx.smoke)
            refs.append(Row([name, fmt(r.metrics.get("train_map")), reference.text(), reference.source_text(),
                             "—" if diff is None else f"{diff:+.2f}", status], status))
    if refs:
        part.tables.append(Table(["variant", "train mAP (%)", "seed's reference", "source", "difference",
                                  "verdict"], refs, "Train mAP: ours against the seed's number"))
    both = {"resnet50_linear", "resnet50_finetune"} <= results.keys()
    if both:
        lin, fine = (results[n].metrics["test_map"] for n in ("resnet50_linear", "resnet50_finetune"))
        claim = Claim("Fine-tuning improves on the linear layer over frozen features, though not by much "
                      "(«cela ne diffère pas beaucoup des performances de l'exercice 3, mais [...] a permis "
                      "d'améliorer les performances»)", f"{TP3}, ex. 4",
                      f"test mAP: fine-tuned {fine:.2f} %, linear {lin:.2f} % ({fine - lin:+.2f} points)",
                      fine > lin)
        part.tables.append(claims_table([claim], ctx, "The seed's statement against our numbers"))
    for name, r in results.items():
        if enough_epochs(r.history, ctx.smoke) and {"train_map", "test_map"} <= r.metrics.keys():
            gap = r.metrics["train_map"] - r.metrics["test_map"]
            part.observations.append(f"{name}: train mAP {r.metrics['train_map']:.2f} % against test "
                                     f"{r.metrics['test_map']:.2f} % ({gap:+.2f} points).")
    if both:
        a, b = (results[n].metrics.get("initial_map") for n in ("resnet50_linear", "resnet50_finetune"))
        if a is not None and b is not None:
            same = math.isclose(a, b, abs_tol=0.05)
            part.observations.append(
                f"Before training (epoch 0) both variants compute the same function, the backbone's pooled "
                f"features through the same initial layer: test mAP {a:.2f} % on the cached features, "
                f"{b:.2f} % from the images"
                + (": the cached features are the backbone's." if same else ", which differ."))


EXPERIMENTS = {"vgg16_anatomy": vgg16_anatomy, "scene15": scene15, "voc2007": voc2007}


# --- discussion ----------------------------------------------------------------------------------

def seed_number(summary: ChapterPart, experiment: str, variant: str) -> str | None:
    """The seed's reference of a variant, as its results table prints it."""
    for part in summary.experiments:
        if part.name == experiment and part.results:
            for row in part.results.rows:
                if row.cells[0] == variant and row.cells[3] != "—":
                    return row.cells[3]
    return None


def with_seed(summary: ChapterPart, experiment: str, variant: str) -> str:
    number = seed_number(summary, experiment, variant)
    return f" (seed: {number})" if number else ""


def discuss(summary: ChapterPart, results: dict[str, dict[str, VariantResult]]) -> None:
    """Discussion and conclusion from the numbers of the three experiments."""
    smoke = summary.scale == "smoke"
    scene, voc = results.get("scene15", {}), results.get("voc2007", {})
    paragraphs, conclusion = [], []
    if smoke:
        paragraphs.append("This run is at smoke scale: tiny synthetic images and randomly initialised "
                          "networks. The numbers only show that every step runs; they say nothing about "
                          "transfer learning.")
    if vgg := results.get("vgg16_anatomy", {}).get("vgg16"):
        layers, total = by_label(vgg.metrics["layers"]), vgg.metrics["params"]
        if {"fc6", "fc7", "fc8"} <= layers.keys():
            fc = sum(layers[k]["params"] for k in ("fc6", "fc7", "fc8"))
            paragraphs.append(
                f"VGG16 has {total:,} parameters, {100 * fc / total:.1f} % of them in its three fully "
                f"connected layers and {100 * layers['fc6']['params'] / total:.1f} % in fc6 alone, which "
                f"the seed's estimate ({fc_estimate(layers['fc7'], layers['fc8']):,}) leaves out.")
            conclusion.append(f"VGG16: {total:,} parameters, {100 * fc / total:.0f} % in the fully connected "
                              f"layers.")
    if {"vgg16_svm", "alexnet_svm"} <= scene.keys():
        v, a = (scene[n].metrics for n in ("vgg16_svm", "alexnet_svm"))
        text = (f"On 15-Scene, a linear SVM on frozen relu7 features reaches {v['test_acc']:.2f} % with VGG16"
                f"{with_seed(summary, 'scene15', 'vgg16_svm')} and {a['test_acc']:.2f} % with AlexNet"
                f"{with_seed(summary, 'scene15', 'alexnet_svm')}, chance being {100 / v['n_classes']:.1f} %.")
        if v["pretrained"]:
            text += (" The deeper network gives the better features." if v["test_acc"] > a["test_acc"] else
                     " AlexNet's features do as well or better here.")
            text += (f" The classifier learns {v['n_classes']} × {v['feature_dim'] + 1:,} weights from "
                     f"{v['n_train']:,} images: the ImageNet features do most of the work.")
        paragraphs.append(text)
        conclusion.append(f"15-Scene, linear SVM on relu7: VGG16 {v['test_acc']:.1f} %, AlexNet "
                          f"{a['test_acc']:.1f} %.")
    if (c := scene.get("vgg16_svm_csweep")) and (claim := sweep_claim(c.metrics["c_sweep"])):
        judged = (" Past C = 1 the margin's cost hardly matters, as the seed found." if claim.holds
                  else " The accuracy still moves past C = 1, unlike the seed's curve.")
        judged = "" if smoke else judged
        paragraphs.append(f"The sweep over C: {claim.ours}.{judged}")
    if {"resnet50_linear", "resnet50_finetune"} <= voc.keys():
        lin, fine = (voc[n].metrics for n in ("resnet50_linear", "resnet50_finetune"))
        negatives = 100 * (1 - lin["test_positives"] / (lin["n_test"] * lin["n_labels"]))
        paragraphs.append(
            f"On VOC 2007, the linear layer on cached ResNet-50 features reaches a test mAP of "
            f"{lin['test_map']:.2f} %{with_seed(summary, 'voc2007', 'resnet50_linear')} and fine-tuning the "
            f"whole network {fine['test_map']:.2f} %{with_seed(summary, 'voc2007', 'resnet50_finetune')}, "
            f"{fine['test_map'] - lin['test_map']:+.2f} points, with {fine['params'] / lin['params']:,.0f} "
            f"times more trained parameters and the backbone run on every image at every epoch instead of "
            f"once. The binary accuracy the seed also reports says little: {negatives:.1f} % of the test "
            f"(image, class) pairs are negative, which a predictor saying no to every class gets right.")
        conclusion.append(f"VOC 2007 test mAP: linear layer on frozen features {lin['test_map']:.1f} %, "
                          f"fine-tuned {fine['test_map']:.1f} %.")
    if smoke:
        conclusion.append("Smoke scale: random networks and synthetic images; no real numbers yet.")
    summary.discussion += paragraphs
    summary.conclusion += conclusion
