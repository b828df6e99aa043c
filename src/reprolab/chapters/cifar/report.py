"""The report part of chapter `cifar`: the synthesis of the CIFAR-10 variants, the course's questions of
TME 5-6 (seed 004) answered from the built networks and the histories, the discussion and conclusion.

Every number below is computed: layer shapes, parameters and receptive fields from the networks as the
variants build them (`reprolab.architecture`), accuracies and losses from the results. The seed 004
report gives the students' answers ("Réponse N"), not the questions: each question quotes the answer it
corrects or confirms.
"""

from __future__ import annotations

import math

import pandas as pd
import torch
from torch import nn

from reprolab import figures
from reprolab.architecture import Layer, example_input, layers
from reprolab.models import build_model, count_parameters
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
    trained_epochs,
)

SEED = "seed 004, TME 5-6"
CIFAR_SHAPE = [3, 32, 32]  # an input shape for results recorded before metrics had `input_shape`
SMOKE = questions.SMOKE_NOTE

# Each variant against the one it improves on (the seed's order of improvements).
LADDER = {"normalized": "baseline", "augmented": "normalized", "augmented_alt": "augmented",
          "momentum_expdecay": "augmented", "momentum_stepdecay": "momentum_expdecay",
          "dropout": "momentum_expdecay", "batchnorm": "dropout"}
LADDER_TITLE = "Each improvement against the variant it builds on"
OVERFIT_RISE = 0.05  # a final test loss this much (relative) above its lowest: the test loss rises

# What the seed found at each step of the ladder, in its words.
STEPS = {
    "normalized": (
        "Réponse 19",
        "On observe toujours le phénomène de sur-apprentissage [...] Par contre, le modèle converge plus "
        "rapidement avec la normalisation (au bout de 5 époques tandis que sans normalisation, il converge "
        "après 20 époques), et on attend une accuracy de 76.15 % en test."),
    "augmented": (
        "Réponse 22",
        "On remarque une amélioration des résultats du test avec une accuracy de 80.16 % et une loss "
        "inférieure à 1. Le modèle prend un plus du temps pour converger (15 époques) dû à l'augmentation de "
        "la taille du dataset."),
    "augmented_alt": (
        "Réponse 25",
        "Crop aléatoire, Rotation de 20° et un color Jitter. On obtient une accuracy de 76.98% en test qui "
        "est moins bonne que la séquence de transformations initiale et l'exécution prend un peu plus du "
        "temps."),
    "momentum_expdecay": (
        "Réponses 26-27",
        "On remarque que les courbes sont plus lisses avec des petites variations entre les époques. On "
        "obtient une accuracy de 79.53% en test. [...] Le momentum [...] permet d'évoluer dans la bonne "
        "direction et donc converger rapidement sans trop osciller."),
    "momentum_stepdecay": (
        "Réponse 28",
        "La figure 15 montre les courbes de la loss et l'accuracy obtenues avec un learning rate scheduler "
        "Step Decay avec un step size=10. Les coubres sont moins lisses et l'accuracy ne dépasse pas 55%."),
    "dropout": (
        "Réponse 29",
        "On remarque une nette amélioration des résultats du test et le problème de sur-apprentissage est "
        "quasiment résolu. L'accuracy du test est 80.3%. Par contre, la convergence du modèle est plus lente "
        "(70 époques)"),
    "batchnorm": (
        "§ 2.4.5",
        "La figure 17 montre les courbes de la loss et l'accuracy obtenues avec le batch normalisation. On "
        "obtient une accuracy de 85.03% en test et le modèle converge rapidement (après 15 époques)."),
}


CHANCE_QUOTE = ("L'erreur au début de la première époque correspond à l'erreur d'une classification "
                "aléatoire puisque les paramètres ont été initialisé aléatoirement. Puisque la base CIFAR-10 "
                "contient 10 classes, on est sensé avoir une erreur au alentours de 1/10=0,1, ce qui est "
                "bien le cas.")


# --- the network, layer by layer -------------------------------------------------------------------

def layer_parameters(model: nn.Module) -> dict[str, int]:
    """Weights per layer, named like the seed: conv1, pool1, ..., fc4, fc5 (pooling has none)."""
    counts, index = {}, 0
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            index += 1
            kind = "conv" if isinstance(module, nn.Conv2d) else "fc"
            counts[f"{kind}{index}"] = count_parameters(module)
        elif isinstance(module, nn.BatchNorm2d):
            counts[f"bn{index}"] = count_parameters(module)
        elif isinstance(module, nn.MaxPool2d):
            counts[f"pool{index}"] = count_parameters(module)
    return counts


def seed_named(walk: list[Layer]) -> list[tuple[str, Layer]]:
    """The layers the seed names (conv1, pool1, ..., fc4, fc5; bn after a conv), in call order."""
    named, index = [], 0
    for layer in walk:
        if layer.kind in ("Conv2d", "Linear"):
            index += 1
            named.append((("conv" if layer.kind == "Conv2d" else "fc") + str(index), layer))
        elif layer.kind in ("MaxPool2d", "BatchNorm2d"):
            named.append((("pool" if layer.kind == "MaxPool2d" else "bn") + str(index), layer))
    return named


def walk(result: VariantResult) -> list[Layer]:
    return questions.network_layers(result, CIFAR_SHAPE)


def multiply_adds(model: nn.Module, walked: list[Layer]) -> dict[str, int]:
    """Multiply-adds per example of each convolution and linear layer (by module path)."""
    counts = {}
    for layer in walked:
        if layer.kind in ("Conv2d", "Linear"):
            weights = model.get_submodule(layer.name).weight.numel()
            positions = math.prod(layer.output_shape[1:]) if layer.kind == "Conv2d" else 1
            counts[layer.name] = weights * positions
    return counts


def sizes_question(results: dict[str, VariantResult], reference: Reference | None) -> Question | None:
    """Réponses 8-10: each layer's output size and parameters, against the seed's counts (Réponse 11)."""
    if "baseline" not in results:
        return None
    named = seed_named(walk(results["baseline"]))
    seed = reference.layers if reference and reference.layers else {}
    rows = []
    for name, layer in named:
        rows.append(Row([name, layer.description, questions.shape_text(layer.output_shape), fmt(layer.params),
                         fmt(seed[name]) if name in seed else "—",
                         f"{layer.params - seed[name]:+,}" if name in seed else "—",
                         "×".join(map(str, layer.receptive_field)) if layer.receptive_field
                         else "whole image"]))
    total = sum(layer.params for _, layer in named)
    seed_total = int(reference.value) if reference and reference.value is not None else None
    rows.append(Row(["total", "", "", fmt(total), fmt(seed_total) if seed_total else "—",
                     f"{total - seed_total:+,}" if seed_total else "—", ""]))
    first_conv = next(layer for name, layer in named if name.startswith("conv"))
    params = results["baseline"].variant.params
    module = build_model(params["model"], **params.get("model_options", {})).get_submodule(first_conv.name)
    k, p, s = module.kernel_size[0], module.padding[0], module.stride[0]
    side_in = results["baseline"].metrics.get("input_shape", CIFAR_SHAPE)[-1]
    pools = [layer for name, layer in named if name.startswith("pool")]
    fc4 = next((layer for name, layer in named if name.startswith("fc")), None)
    answer = (f"A {k}×{k} convolution with padding {p} and stride {s} keeps the side: ({side_in} + 2·{p} − "
              f"{k})/{s} + 1 = {(side_in + 2 * p - k) // s + 1}; each {pools[0].description} of stride 2 "
              "halves it: "
              + " → ".join(str(x) for x in [side_in] + [layer.output_shape[-1] for layer in pools])
              + f" pixels. The last pooling leaves {questions.shape_text(pools[-1].output_shape)} = "
              f"{math.prod(pools[-1].output_shape):,} values, the input of fc4. The network has {total:,} "
              "parameters (computed from the built model)")
    if seed_total and seed_total != total:
        seed_pools = sum(v for key, v in seed.items() if key.startswith("pool"))
        answer += (f", not the seed's {seed_total:,}: pooling has no weights (the seed counted "
                   f"{seed_pools:,} for its three pooling layers), and fc4 maps "
                   f"{math.prod(pools[-1].output_shape):,} inputs to {fc4.output_shape[0]:,} units, i.e. "
                   f"{fc4.params:,} parameters (the seed wrote «64x1000+1000=64064», {seed.get('fc4', 0):,}: "
                   "an input of 64 values, and a wrong sum)")
    answer += "."
    others = {}
    for r in results.values():
        walked = walk(r)
        crop, last = walked[0].output_shape[-1], [x for x in walked if x.kind == "MaxPool2d"][-1]
        if crop != side_in or sum(x.params for x in walked) != total:
            others.setdefault((crop, last.output_shape[-1]), set()).add(sum(x.params for x in walked))
    for (crop, last), counts in sorted(others.items()):
        answer += (f" The variants that see {crop}×{crop} crops end at {last}×{last} after the last pooling: "
                   + ", ".join(f"{c:,}" for c in sorted(counts)) + " parameters.")
    source = f"; the seed's counts: {reference.citation()}" if reference else ""
    table = Table(["layer", "what it does", "output (channels × height × width)", "parameters", "seed",
                   "difference", "receptive field (pixels)"], rows,
                  "The network on "
                  f"{questions.shape_text(results['baseline'].metrics.get('input_shape', CIFAR_SHAPE))} "
                  f"images, layer by layer (computed from the built model){source}")
    return Question("Pour les convolutions, si on veut conserver en sortie les mêmes dimensions spatiales "
                    "qu'en entrée [...] Padding = 2, Stride = 1. [...] La taille de sortie et le nombre de "
                    "poids à apprendre pour chaque couche : [...] pool1 : max-pooling 2×2, sortie : "
                    "16x16x32, nombre de poids à apprendre est de 2×2x32x32+32=4128. [...] fc4 : [...] "
                    "nombre de poids à apprendre est de 64x1000+1000=64064.",
                    f"{SEED}, Réponses 8-10", answer, [table])


def conv_versus_fc_question(results: dict[str, VariantResult]) -> Question | None:
    """Réponse 1: the weights of a convolution against a fully connected layer with the same output."""
    if "baseline" not in results:
        return None
    walked = walk(results["baseline"])
    conv = next(layer for layer in walked if layer.kind == "Conv2d")
    before = walked[walked.index(conv) - 1].output_shape if walked.index(conv) else None
    n_in = math.prod(before or results["baseline"].metrics.get("input_shape", CIFAR_SHAPE))
    n_out = math.prod(conv.output_shape)
    dense = n_in * n_out + n_out
    answer = ("No: a fully connected layer producing the output of conv1 "
              f"({questions.shape_text(conv.output_shape)} = {n_out:,} values) from the {n_in:,} input "
              f"values would need {n_in:,} × {n_out:,} + {n_out:,} = {dense:,} weights, against "
              f"{conv.params:,} for the convolution ({dense / conv.params:,.0f} times fewer): the "
              f"convolution shares one {conv.description.split(',')[0].split()[-1]} filter per output "
              "channel over every position of the image. The seed's count for the convolution, k·k·z·z' + "
              f"z', is right: it is our {conv.params:,}.")
    return Question("Le nombre de poids à apprendre est de : (kernel_size * kernel_size * channels_in * "
                    "channels_out) + (channels_out) [...] Le nombre de poids qu'il aurait fallu apprendre si "
                    "une couche fully-connected devait produire une sortie de la même taille correspond à la "
                    "taille de sortie du fully-connected.", f"{SEED}, Réponse 1", answer)


def fc_share(results: dict[str, VariantResult]) -> dict | None:
    """The baseline network's parameters and multiply-adds: convolutions, fc4, fc5, total."""
    if "baseline" not in results:
        return None
    r = results["baseline"]
    model = build_model(r.variant.params["model"], **r.variant.params.get("model_options", {}))
    walked = layers(model, example_input(r.metrics.get("input_shape") or CIFAR_SHAPE))
    macs = multiply_adds(model, walked)
    named = seed_named(walked)
    groups = {"convolutions": [layer for n, layer in named if n.startswith("conv")],
              "fc4": [layer for n, layer in named if n == "fc4"],
              "fc5": [layer for n, layer in named if n == "fc5"]}
    out = {key: (sum(layer.params for layer in group), sum(macs[layer.name] for layer in group))
           for key, group in groups.items()}
    out["total"] = (count_parameters(model), sum(macs.values()))
    out["input"] = r.metrics.get("input_shape") or CIFAR_SHAPE
    return out


def conv_share_question(results: dict[str, VariantResult]) -> Question | None:
    """Réponse 2: where the parameters are (fc4) and where the computation is (the convolutions)."""
    shares = fc_share(results)
    if not shares:
        return None
    total_p, total_m = shares["total"]
    rows = [Row([key, fmt(p), f"{100 * p / total_p:.1f}", fmt(m), f"{100 * m / total_m:.1f}"])
            for key, (p, m) in ((k, shares[k]) for k in ("convolutions", "fc4", "fc5"))]
    rows.append(Row(["total", fmt(total_p), "100.0", fmt(total_m), "100.0"]))
    conv_p, conv_m = shares["convolutions"]
    fc4_p, _ = shares["fc4"]
    answer = ("Convolutions are economical in weights, not in computation. The three convolutions hold "
              f"{conv_p:,} parameters ({100 * conv_p / total_p:.1f} % of {total_p:,}), fc4 alone {fc4_p:,} "
              f"({100 * fc4_p / total_p:.1f} %, {fc4_p / conv_p:.1f} times all the convolutions). In "
              f"computation the convolutions dominate: they do {100 * conv_m / total_m:.1f} % of the "
              f"{total_m:,} multiply-adds per image, since each weight is applied at every position. They "
              "shrink the map that reaches the fully connected layers, but the one wide fully connected "
              "layer, fc4, is what makes the network large.")
    table = Table(["part", "parameters", "share (%)", "multiply-adds per image", "share (%)"], rows,
                  "Parameters and computation of the convolutions and the fully connected layers (one "
                  f"{questions.shape_text(shares['input'])} input)")
    return Question("les couches convolutives résument les caractéristiques de l'image et produisent des "
                    "cartes de caractéristiques plus concises [...] les couches convolutives permettent de "
                    "réduire la dimension et de réduire la complexité de calcul. Ceci n'est pas possible "
                    "pour les fully-connected.", f"{SEED}, Réponse 2", answer, [table])


def receptive_field_question(results: dict[str, VariantResult]) -> Question | None:
    """Réponse 7: receptive fields grow with depth (the seed's VGG layout and our network)."""
    if "baseline" not in results:
        return None
    ours = [(name, layer.receptive_field[0]) for name, layer in seed_named(walk(results["baseline"]))
            if layer.receptive_field]
    # The layout Réponse 7 describes: conv 3x3 pad 1, max pooling 2x2 stride 2, conv 3x3 pad 1.
    vgg = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.MaxPool2d(2, 2), nn.Conv2d(4, 4, 3, padding=1))
    seed_layout = [layer.receptive_field[0] for layer in layers(vgg, torch.zeros(1, 3, 32, 32))]
    last_name, last = ours[-1]
    side = results["baseline"].metrics.get("input_shape", CIFAR_SHAPE)[-1]
    answer = (f"Only the first convolution sees {seed_layout[0]}×{seed_layout[0]} pixels. A unit's receptive "
              "field grows with every layer below it: in the layout the seed describes (convolution 3×3, "
              f"pooling 2×2 of stride 2, convolution 3×3) it is {seed_layout[0]}, {seed_layout[1]} and "
              f"{seed_layout[2]} pixels wide, computed by walking the layers. In our CIFAR network: "
              + ", ".join(f"{name} {rf}" for name, rf in ours)
              + f". One unit after {last_name} sees {last}×{last} pixels, "
              + ("more than the whole" if last > side else "all of the" if last == side else "part of the")
              + f" {side}×{side} image (the padding included): the deepest convolutions combine features of "
              f"the whole object, the first ones only edges and colours.")
    return Question("La taille des receptive fields des deux premières couches de convolution est de 3 x 3 "
                    "[...] Deuxième couche de convolution : 128 channels, kernel 3x3, receptive field 3x3 "
                    "[...] On garde la même taille pour le receptive field qui est de 3x3.",
                    f"{SEED}, Réponse 7", answer)


def parameters_question(results: dict[str, VariantResult], reference: Reference | None,
                        ctx: Context) -> Question | None:
    """Réponse 11: the number of parameters against the number of training examples."""
    if "baseline" not in results or not results["baseline"].metrics.get("n_train"):
        return None
    m = results["baseline"].metrics
    params, n_train = int(m["params"]), int(m["n_train"])
    values = n_train * math.prod(m.get("input_shape") or CIFAR_SHAPE)
    seed = f" (the seed's {int(reference.value):,} is not the network's count)" if reference else ""
    answer = (f"The baseline network has {params:,} parameters{seed}, for {n_train:,} training images: "
              f"{params / n_train:,.1f} parameters per image"
              + (" — more parameters than examples, not fewer" if params > n_train else "")
              + f". Counted in input values ({n_train:,} × {values // n_train:,} = {values:,}), there are "
              f"{params / values:.3f} parameters per value. A network with more weights than training images "
              "can learn them by heart, which is why the regularisations of part 3 (augmentation, dropout) "
              "matter.")
    if reference:
        answer += (" The seed's «1 548 954 exemples» matches neither the training images nor their values.")
    return Question("Le nombre total de poids à apprendre est de 267 258, plus petit que le nombre "
                    "d'exemples qui est de 1 548 954.", f"{SEED}, Réponse 11",
                    answer + (SMOKE if ctx.smoke else ""))


# --- training: chance, overfitting, the improvements ---------------------------------------------------

def _histories(results: dict[str, VariantResult]) -> dict[str, pd.DataFrame]:
    return {name: trained_epochs(r.history) for name, r in results.items()
            if r.history is not None and len(trained_epochs(r.history))}


def loss_course(h: pd.DataFrame) -> tuple[int, float, float, bool]:
    """(epoch of the lowest test loss, lowest, final, whether the final one is clearly above it)."""
    return questions.test_loss_course(h, OVERFIT_RISE)


def overfitting_question(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    """Réponse 18: does the baseline's test loss fall then rise (and the other variants')?"""
    histories = _histories(results)
    if "baseline" not in histories:
        return None
    rows = []
    for name, h in histories.items():
        r = results[name]
        epoch, lowest, final, rises = loss_course(h)
        judged = enough_epochs(r.history, ctx.smoke)
        status = (NOT_ENOUGH_EPOCHS if not judged else
                  "test loss rises: overfitting" if rises else "no clear rise")
        gap = r.metrics["train_acc"] - r.metrics["test_acc"] if "train_acc" in r.metrics else None
        rows.append(Row([name, str(int(h["epoch"].iloc[-1])), str(epoch), f"{lowest:.3f}", f"{final:.3f}",
                         f"{final - lowest:+.3f}", "—" if gap is None else f"{gap:+.2f}", status],
                        None if not judged else "holds" if rises else "differs"))
    h = histories["baseline"]
    epoch, lowest, final, rises = loss_course(h)
    m = results["baseline"].metrics
    numbers = (f"The baseline's test loss is lowest at epoch {epoch} of {int(h['epoch'].iloc[-1])} "
               f"({lowest:.3f}) and ends at {final:.3f}; train accuracy "
               f"{m.get('train_acc', float('nan')):.2f} %, test {m.get('test_acc', float('nan')):.2f} %.")
    if not enough_epochs(results["baseline"].history, ctx.smoke):
        answer = (f"{numbers} With {len(h)} trained epoch(s)" + (" at smoke scale" if ctx.smoke else "")
                  + f" there are {NOT_ENOUGH_EPOCHS}: the seed saw the rise from epoch 12.")
    elif rises:
        answer = (f"Yes. {numbers} The test loss falls, then rises by {final - lowest:.3f} after epoch "
                  f"{epoch} while the training accuracy goes on improving: the network learns its training "
                  "images by heart (overfitting), as the seed found (it saw the rise from epoch 12).")
    else:
        answer = (f"Not in our run. {numbers} The final test loss is within {OVERFIT_RISE:.0%} of its "
                  "lowest, so we do not see the rise the seed saw from epoch 12.")
    others = [row.cells[0] for row in rows[1:] if row.cells[-1].startswith("test loss rises")]
    if others and rows[0].cells[0] == "baseline":
        answer += f" The test loss also rises after its minimum for {', '.join(others)}."
    table = Table(["variant", "epochs", "epoch of lowest test loss", "lowest test loss", "final test loss",
                   "rise", "train − test acc. (points)", "verdict"], rows,
                  "Test loss: its minimum and its end (epochs 1-N; a rise: the end more than "
                  f"{OVERFIT_RISE:.0%} above the minimum; judged from {5} epochs, never at smoke scale)")
    return Question("on remarque qu'en train la loss diminue puis augmente à partie de l'époque 12, pareil "
                    "pour l'accuracy qui arrête d'augmenter ne dépassant pas la valeur 0.7. Le phénomène "
                    "observé est de "
                    "l'over-fitting", f"{SEED}, Réponse 18", answer + (SMOKE if ctx.smoke else ""), [table])


def changes(before: dict, after: dict) -> str:
    """What a variant's settings change from the one it builds on, in words."""
    def text(value) -> str:
        if isinstance(value, dict):
            return ", ".join(f"{k} {text(v)}" for k, v in value.items()) or "none"
        return "none" if value is None else str(value).lower() if isinstance(value, bool) else str(value)

    labels = {"standardize": "standardised", "augment": "augmentation", "optimizer": "optimiser",
              "scheduler": "schedule", "model_options": "network"}
    out = []
    for key, label in labels.items():
        if before.get(key) != after.get(key):
            if isinstance(after.get(key), dict) and isinstance(before.get(key), dict):
                diff = {k: v for k, v in after[key].items() if before[key].get(k) != v}
                gone = [k for k in before[key] if k not in after[key]]
                out.append(f"{label}: {text(diff)}" + (f" (no {', '.join(gone)})" if gone else ""))
            else:
                out.append(f"{label}: {text(after.get(key))}")
    return "; ".join(out) or "nothing"


def seed_step(ctx: Context, name: str, before: str) -> tuple[str, float | None, float | None]:
    """The seed's numbers for a step: text, its change in points (None when it only gives a bound), and
    the bound of that change when one side is a bound."""
    a, b = ctx.reference(name), ctx.reference(before)
    if a is None or b is None:
        return ("—", None, None)
    text = f"{a.text()} % from {b.text()} %"
    if a.value is not None and b.value is not None:
        return text, a.value - b.value, None
    if a.max is not None and b.value is not None:
        return text, None, a.max - b.value  # the change is at most this
    return text, None, None


def smoothness(h: pd.DataFrame) -> float:
    """Mean absolute change of the test accuracy from one epoch to the next, over the second half."""
    tail = h["test_acc"].iloc[len(h) // 2:]
    return float(tail.diff().abs().mean()) if len(tail) > 1 else float("nan")


def ladder(results: dict[str, VariantResult], ctx: Context) -> list[dict]:
    """Each step of the ladder present in the results: ours and the seed's change."""
    steps = []
    for name, before in LADDER.items():
        if name in results and before in results:
            a, b = results[name].metrics["test_acc"], results[before].metrics["test_acc"]
            text, seed_diff, seed_bound = seed_step(ctx, name, before)
            if seed_diff is not None:
                agree = (a - b > 0) == (seed_diff > 0)
            elif seed_bound is not None:
                agree = a - b <= seed_bound if seed_bound < 0 else None
            else:
                agree = None
            steps.append({"name": name, "before": before, "ours": a, "from": b, "diff": a - b, "seed": text,
                          "seed_diff": seed_diff, "seed_bound": seed_bound, "agree": agree,
                          "what": changes(results[before].variant.params, results[name].variant.params)})
    return steps


def ladder_table(steps: list[dict], ctx: Context) -> Table | None:
    if not steps:
        return None
    rows = []
    for s in steps:
        seed_change = (f"{s['seed_diff']:+.2f}" if s["seed_diff"] is not None else
                       f"≤ {s['seed_bound']:+.2f}" if s["seed_bound"] is not None else "—")
        status = ("n/a (smoke scale)" if ctx.smoke else "no reference" if s["agree"] is None else
                  "same direction" if s["agree"] else "opposite direction")
        rows.append(Row([s["name"], s["what"], s["before"], f"{s['ours']:.2f}", f"{s['diff']:+.2f}",
                         s["seed"], seed_change, status],
                        "n/a (smoke scale)" if ctx.smoke else "no reference" if s["agree"] is None else
                        "matches" if s["agree"] else "differs"))
    return Table(["variant", "what changes", "builds on", "test acc. (%)", "change (points)", "seed (%)",
                  "seed's change (points)", "verdict"], rows, LADDER_TITLE)


def step_question(step: dict, results: dict[str, VariantResult], ctx: Context) -> Question:
    """One improvement: by how many points, against the seed's step; its convergence and curves."""
    name, before = step["name"], step["before"]
    where, quote = STEPS[name]
    histories = _histories(results)
    answer = (f"{name} ({step['what']}) against {before}: {step['ours']:.2f} % against {step['from']:.2f} % "
              f"test accuracy, {step['diff']:+.2f} points.")
    if step["seed_diff"] is not None:
        answer += (f" The seed: {step['seed']}, {step['seed_diff']:+.2f} points; "
                   + ("the same direction." if step["agree"] else "the opposite direction."))
    elif step["seed_bound"] is not None:
        answer += f" The seed: {step['seed']}, a change of at most {step['seed_bound']:+.2f} points."
    elif step["seed"] != "—":
        answer += f" The seed: {step['seed']} (a bound: no change to compare)."
    if name in histories and before in histories:
        h, hb = histories[name], histories[before]
        best, best_before = h.loc[h["test_acc"].idxmax()], hb.loc[hb["test_acc"].idxmax()]
        answer += (f" Best test accuracy at epoch {int(best['epoch'])} of {int(h['epoch'].iloc[-1])} "
                   f"({best['test_acc']:.2f} %; {before}: epoch {int(best_before['epoch'])}, "
                   f"{best_before['test_acc']:.2f} %).")
        if "momentum" in name and len(h) > 3:
            answer += (f" From one epoch to the next the test accuracy moves by {smoothness(h):.2f} points "
                       f"on average over the second half of training ({before}: {smoothness(hb):.2f}).")
        if "lr" in h.columns and h["lr"].iloc[0] != h["lr"].iloc[-1]:
            answer += (f" The learning rate goes from {h['lr'].iloc[0]:.3g} (epoch 1) to "
                       f"{h['lr'].iloc[-1]:.3g}.")
        if name == "dropout":
            if enough_epochs(results[name].history, ctx.smoke):
                _, low, final, rises = loss_course(h)
                _, low_b, final_b, rises_b = loss_course(hb)
                answer += (f" Test loss from its lowest to the end: {final - low:+.3f} ({before}: "
                           f"{final_b - low_b:+.3f}); "
                           + ("dropout removes the rise." if rises_b and not rises
                              else "the rise is still there." if rises else "neither rises."))
            else:
                answer += f" Whether dropout removes a rise of the test loss: {NOT_ENOUGH_EPOCHS}."
    answer += SMOKE if ctx.smoke else ""
    return Question(quote, f"{SEED}, {where}", answer)


def dropout_question(results: dict[str, VariantResult]) -> Question | None:
    """Réponse 33: what dropout does in training and at evaluation (PyTorch's inverted dropout)."""
    rates = {n: r.variant.params.get("model_options", {}).get("dropout") for n, r in results.items()}
    rates = {n: p for n, p in rates.items() if p}
    if not rates:
        return None
    name, p = next(iter(rates.items()))
    layer = nn.Dropout(p)
    ones = torch.ones(200_000)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        trained = layer.train()(ones)
    kept = trained[trained != 0]
    evaluated = layer.eval()(ones)
    answer = (f"Our {name} variant uses nn.Dropout with p = {p:g}, PyTorch's probability of dropping a unit "
              "(the seed's p is the probability of keeping it). Measured on 200,000 units: in training "
              f"{100 * len(kept) / len(ones):.1f} % are kept and each kept unit is multiplied by "
              f"{kept.mean():.3f} = 1/(1 − p), so the mean activation stays {trained.mean():.3f}; at "
              f"evaluation every unit is kept and nothing is scaled (mean {evaluated.mean():.3f}). PyTorch "
              "scales during training (inverted dropout) rather than multiplying the weights at test time as "
              "the seed describes: the expected activation is the same in both modes either way.")
    return Question("Durant l'apprentissage, une unité est présente avec une probabilité p. Durant "
                    "l'évaluation, une unité est toujours présente mais ses poids sont multipliés par p.",
                    f"{SEED}, Réponse 33", answer)


# --- the experiments ---------------------------------------------------------------------------------

def mnist_baseline(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """Réponse 14: why the test loss is better than the train loss at the start (the TME's MNIST code)."""
    question = questions.epoch_one(
        results, ctx,
        "Dans le code fourni, la loss et l'accuracy en train sont calculées à chaque apprentissage sur un "
        "batch tant dis qu'en test elle sont calculées à la fin de chaque epoch seulement, c'est pour ça "
        "qu'on remarque qu'au début la loss en test est meilleure que celle en train",
        f"{SEED}, Réponse 14 (the TME's MNIST code)")
    if question is None:
        return
    losses = []
    for name, r in results.items():
        first = r.history[r.history["epoch"] == 1] if r.history is not None else []
        if len(first) and {"train_loss", "test_loss"} <= set(first.columns):
            losses.append(f"{name}: train loss {first['train_loss'].iloc[0]:.4f}, test loss "
                          f"{first['test_loss'].iloc[0]:.4f}")
    if losses:
        question.answer += " After epoch 1, the losses: " + "; ".join(losses) + "."
    part.questions.append(question)


def cifar10(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """All test-accuracy curves on one figure, best epochs, each step of the ladder, and TME 5-6's questions.

    Best and lowest are over the trained epochs 1-N: epoch 0 is the model before any update.
    """
    path = figures.overlay({name: r.history for name, r in results.items()}, "test_acc",
                           ctx.figures_dir / "cifar10_test_acc.png",
                           "CIFAR-10: test accuracy of every variant", "test accuracy (%)")
    part.figures.insert(0, Figure(str(path), "All variants: test accuracy per epoch"))
    histories = _histories(results)
    rows = []
    for name, r in results.items():
        if name not in histories:
            continue
        m, h = r.metrics, histories[name]
        best = h.loc[h["test_acc"].idxmax()]
        low = h.loc[h["test_loss"].idxmin()]
        rows.append(Row([name, fmt(int(m["params"])), f"{m['test_acc']:.2f}", f"{best['test_acc']:.2f}",
                         str(int(best["epoch"])), str(int(low["epoch"])),
                         f"{m['train_acc'] - m['test_acc']:+.2f}"]))
    part.tables.append(Table(["variant", "parameters", "final test acc. (%)", "best test acc. (%)",
                              "best epoch", "epoch of lowest test loss", "train − test (points)"], rows,
                             "Final and best test accuracy, epoch of the lowest test loss (epochs 1-N)"))
    steps = ladder(results, ctx)
    if table := ladder_table(steps, ctx):
        part.tables.append(table)
    for name, h in histories.items():
        epoch, lowest, final, rises = loss_course(h)
        if not enough_epochs(results[name].history, ctx.smoke):
            continue
        if rises:
            part.observations.append(f"{name}: the test loss is lowest at epoch {epoch} ({lowest:.3f}) and "
                                     f"ends {final - lowest:.3f} higher: overfitting.")
    if any(not enough_epochs(r.history, ctx.smoke) for r in results.values()):
        part.observations.append(f"Over- or under-fitting: {NOT_ENOUGH_EPOCHS} for the variants trained "
                                 f"{'at smoke scale' if ctx.smoke else 'fewer than 5 epochs'}.")
    reference = ctx.reference("baseline", "params")
    found = [conv_versus_fc_question(results), conv_share_question(results),
             receptive_field_question(results),
             sizes_question(results, reference), parameters_question(results, reference, ctx),
             questions.initial_loss(results, ctx, CHANCE_QUOTE,
                                    f"{SEED}, Réponse 17 (the seed's «erreur» is the accuracy)"),
             overfitting_question(results, ctx),
             *[step_question(step, results, ctx) for step in steps],
             dropout_question(results)]
    part.questions += [q for q in found if q is not None]


EXPERIMENTS = {"mnist_baseline": mnist_baseline, "cifar10": cifar10}


# --- discussion and conclusion --------------------------------------------------------------------------

def seed_total(part: ExperimentPart) -> str | None:
    """The seed's parameter count, as the Réponses 8-10 table prints it (None without it)."""
    for q in part.questions:
        for table in q.tables:
            for row in table.rows:
                if row.cells[0] == "total" and "seed" in table.columns:
                    cell = row.cells[table.columns.index("seed")]
                    return None if cell == "—" else cell
    return None


def discuss(summary: ChapterPart, results: dict[str, dict[str, VariantResult]]) -> None:
    """What helped and by how much, against the seed; fitting; the network's size; the conclusion."""
    smoke = summary.scale == "smoke"
    cifar = results.get("cifar10", {})
    part = next((p for p in summary.experiments if p.name == "cifar10"), None)
    if not cifar or part is None:
        return
    accs = {n: r.metrics["test_acc"] for n, r in cifar.items() if r.metrics.get("test_acc") is not None}
    initial = [r.metrics["initial_acc"] for r in cifar.values() if r.metrics.get("initial_acc") is not None]
    ladder_rows = next((t.rows for t in part.tables if t.title == LADDER_TITLE), [])
    steps = [(row.cells[0], row.cells[2], float(row.cells[4]), row.verdict) for row in ladder_rows]
    best_step = max(steps, key=lambda s: s[2]) if steps else None
    agreeing = [v for *_, v in steps if v in ("matches", "differs")]

    text = (f"Chance on CIFAR-10's 10 balanced classes is 10 % (a loss of ln 10 = {math.log(10):.3f})"
            + (f"; before training every variant tests at {min(initial):.2f} to {max(initial):.2f} %. "
               if initial else ". "))
    if "baseline" in accs:
        best_name = max(accs, key=accs.get)
        text += (f"The baseline ends at {accs['baseline']:.2f} % test accuracy and the best variant, "
                 f"{best_name}, at {accs[best_name]:.2f} % ({accs[best_name] - accs['baseline']:+.2f} "
                 "points). ")
    if steps:
        helped = [f"{n} ({d:+.2f} from {b})" for n, b, d, _ in steps if d > 0]
        hurt = [f"{n} ({d:+.2f} from {b})" for n, b, d, _ in steps if d <= 0]
        text += ("Steps that helped: " + (", ".join(helped) or "none") + "; steps that did not: "
                 + (", ".join(hurt) or "none") + ".")
        differ = [n for n, _, _, v in steps if v == "differs"]
        if agreeing:
            text += (f" Against the seed's own steps, {sum(v == 'matches' for v in agreeing)} of "
                     f"{len(agreeing)} go in the same direction"
                     + (": " + ", ".join(differ) + (" does not." if len(differ) == 1 else " do not.")
                        if "differs" in agreeing else "."))
    summary.discussion.append(text)

    histories = _histories(cifar)
    judged = {n: loss_course(h) for n, h in histories.items() if enough_epochs(cifar[n].history, smoke)}
    rising = [n for n, (*_, rises) in judged.items() if rises]
    if smoke or len(judged) < len(histories):
        epochs = sorted({len(h) for h in histories.values()})
        summary.discussion.append(
            "Over- or under-fitting, and whether dropout or batch normalisation change it: "
            f"{NOT_ENOUGH_EPOCHS} with {'/'.join(map(str, epochs))} trained "
            "epoch(s)" + (" at smoke scale" if smoke else "")
            + ". The seed saw the baseline's test loss rise from epoch 12 and dropout «quasiment» remove the "
            "rise; these runs can neither confirm nor refute it.")
    else:
        summary.discussion.append(
            f"The test loss rises after its minimum for {len(rising)} of {len(judged)} variants"
            + (f" ({', '.join(rising)})" if rising else "") + ". "
            + ("As the seed found, the baseline overfits. " if "baseline" in rising else
               "Unlike the seed, the baseline's test loss does not clearly rise. " if "baseline" in judged
               else "")
            + ("Dropout removes the rise that momentum_expdecay shows." if "dropout" in judged
               and "dropout" not in rising and "momentum_expdecay" in rising else ""))

    shares = fc_share(cifar)
    if shares:
        total, _ = shares["total"]
        fc4, _ = shares["fc4"]
        conv_p, conv_m = shares["convolutions"]
        seed = seed_total(part)
        n_train = cifar["baseline"].metrics.get("n_train")
        summary.discussion.append(
            f"The network has {total:,} parameters"
            + (f", not the seed's {seed} (Réponse 11)" if seed else "")
            + f"; {100 * fc4 / total:.1f} % of them are in fc4 and {100 * conv_p / total:.1f} % in the three "
            f"convolutions, which do {100 * conv_m / shares['total'][1]:.1f} % of the computation."
            + (f" With {n_train:,} training images that is {total / n_train:,.1f} parameters per image: room "
               "to learn the training set by heart, which augmentation and dropout "
               "fight." if n_train else ""))
    mnist = results.get("mnist_baseline", {})
    if mnist and "baseline" in accs:
        name, r = next(iter(mnist.items()))
        mnist_acc = r.metrics["test_acc"]
        summary.discussion.append(
            f"The TME's MNIST network (LeNet-5 with tanh, {int(r.metrics['params']):,} parameters) reaches "
            f"{mnist_acc:.2f} % on MNIST with the same plain SGD, against {accs['baseline']:.2f} % for the "
            "CIFAR-10 baseline; both tasks have 10 classes and 10 % chance"
            + (", but CIFAR-10's small colour photographs vary far more within a class than handwritten "
               "digits."
               if not smoke and mnist_acc > accs["baseline"] else "."))
    if smoke:
        summary.discussion.append(
            "At smoke scale every model trains for a few epochs on a few hundred synthetic images: the "
            "accuracies and their differences say nothing about the methods, and no comparison with the "
            "seed's numbers is made.")

    if "baseline" in accs:
        best_name = max(accs, key=accs.get)
        summary.conclusion.append(
            f"From the baseline's {accs['baseline']:.2f} % to {best_name}'s {accs[best_name]:.2f} % test "
            "accuracy on CIFAR-10 (chance 10 %)" + (f"; the largest single step is {best_step[0]} "
                                            f"({best_step[2]:+.2f} points)." if best_step else "."))
    if shares:
        seed = seed_total(part)
        summary.conclusion.append(
            f"The network has {shares['total'][0]:,} parameters, "
            f"{100 * shares['fc4'][0] / shares['total'][0]:.1f} % of them in "
            "fc4" + (f"; the seed's {seed} is wrong." if seed else "."))
    if smoke or len(judged) < len(histories):
        summary.conclusion.append(
            f"Over- and under-fitting: {NOT_ENOUGH_EPOCHS}"
            + ("; at smoke scale these numbers only show that the pipeline runs." if smoke else "."))
    else:
        summary.conclusion.append(
            ("The baseline overfits, as the seed found" if "baseline" in rising else
             "The baseline does not clearly overfit, unlike the seed's")
            + (f"; {sum(v == 'matches' for v in agreeing)} of {len(agreeing)} of the seed's steps are "
               "confirmed in direction." if agreeing else "."))
