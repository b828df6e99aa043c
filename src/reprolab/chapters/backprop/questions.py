"""The course's questions of chapter `backprop`, answered with values computed from our code and results.

The derivations (softmax and cross-entropy, the gradients of the output and hidden layers, the
logistic regression's gradient) are shown as equations and checked at report time: the
hand-written `backward` of `jobs.py`, the one every `manual` variant trains with, against
autograd and against central finite differences, in float64 on a few random examples (CPU,
deterministic, a fraction of a second). A broken `backward` shows up here as a large difference.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import torch

from reprolab import architecture, figures
from reprolab.chapters.backprop import jobs
from reprolab.data.datasets import circle
from reprolab.report.parts import Context, Question, Row, Table, VariantResult, fmt
from reprolab.report.questions import SMOKE_NOTE, epoch_one, layer_table

TME = "seed 004, TME 3-4"
TP1 = "seed 002, TP 1"
GRADIENT_TOLERANCE = 1e-6  # hand-written against autograd or finite differences, in float64
EPSILON = 1e-6  # step of the central finite differences
CHECK_EXAMPLES = 16  # random examples of each gradient check
CHECK_COORDINATES = 24  # coordinates per parameter tensor checked by finite differences
# The non-convexity demonstration: a small tanh network trained on Circle with our `manual` step.
DEMO_SIZES, DEMO_EPOCHS, DEMO_BATCH, DEMO_LR = [2, 4, 2], 30, 10, 0.3


def single_thread(function):
    """Run on one thread: these checks are thousands of tiny operations, which several threads on a
    busy machine slow down a hundredfold."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return function(*args, **kwargs)
        finally:
            torch.set_num_threads(threads)

    return run


def _smoke(ctx: Context) -> str:
    return SMOKE_NOTE if ctx.smoke else ""


SIZED = ("n_inputs", "n_classes", "n_train", "params")  # what a hand-written variant's metrics must give


def has(r: VariantResult | None, *keys: str) -> bool:
    """Whether a variant is there and its metrics hold every key a question needs."""
    return r is not None and all(k in r.metrics for k in keys)


def sizes_of(r: VariantResult) -> list[int]:
    """The layer sizes of a variant's network: inputs, hidden layers, classes."""
    return [int(r.metrics["n_inputs"]), *r.variant.params.get("hidden", []), int(r.metrics["n_classes"])]


def network_layers(sizes: list[int], activation: str) -> list[architecture.Layer]:
    """The hand-written network `sizes` as torch.nn layers (`jobs.to_module`), walked layer by layer."""
    model = jobs.to_module(jobs.init_params(sizes, 0.1, seed=0), activation)
    return architecture.layers(model, architecture.example_input([sizes[0]]))


def equations(ctx: Context, name: str, *texs: str) -> list[str]:
    """Each display equation as an SVG in the chapter's figures folder."""
    return [
        str(figures.equation(tex, Path(ctx.figures_dir) / f"{name}_{i}.svg")) for i, tex in enumerate(texs)
    ]


def _loss(params: jobs.Params, x: torch.Tensor, y: torch.Tensor, activation: str) -> torch.Tensor:
    return jobs.cross_entropy(jobs.forward(params, x, activation)[0], y)


@single_thread
def gradient_check(sizes: list[int], activation: str, seed: int = 0) -> list[dict]:
    """The hand-written gradients of a random network `sizes` on random examples, against autograd
    (every entry) and central finite differences (`CHECK_COORDINATES` entries per tensor), in float64.
    One row per parameter tensor: name, shape, largest absolute differences."""
    gen = torch.Generator().manual_seed(seed)
    # weights of std 1/√(widest input), so that no softmax saturates; non-zero biases too
    params = {
        k: v.double() + (0.1 * torch.randn(v.shape, generator=gen, dtype=torch.float64) if k[0] == "b" else 0)
        for k, v in jobs.init_params(sizes, max(sizes[:-1]) ** -0.5, seed=seed).items()
    }
    x = torch.randn(CHECK_EXAMPLES, sizes[0], generator=gen, dtype=torch.float64)
    y = torch.randint(0, sizes[-1], (CHECK_EXAMPLES,), generator=gen)
    probs, outputs = jobs.forward(params, x, activation)
    hand = jobs.backward(params, outputs, probs, y, activation)
    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    _loss(leaves, x, y, activation).backward()
    rows = []
    for name, value in params.items():
        flat = torch.randperm(value.numel(), generator=gen)[:CHECK_COORDINATES]
        numeric = []
        for index in flat.tolist():
            shifted = {}
            for sign in (1, -1):
                moved = dict(params)
                moved[name] = value.clone().reshape(-1)
                moved[name][index] += sign * EPSILON
                moved[name] = moved[name].reshape(value.shape)
                shifted[sign] = _loss(moved, x, y, activation).item()
            numeric.append((shifted[1] - shifted[-1]) / (2 * EPSILON))
        rows.append(
            {
                "name": name,
                "shape": tuple(value.shape),
                "autograd": (hand[name] - leaves[name].grad).abs().max().item(),
                "finite": (hand[name].reshape(-1)[flat] - torch.tensor(numeric, dtype=torch.float64))
                .abs()
                .max()
                .item(),
                "checked": len(flat),
            }
        )
    return rows


def check_table(rows: list[dict], labels: dict[str, str], title: str) -> Table:
    return Table(
        [
            "parameter",
            "shape",
            "largest |hand − autograd|",
            "entries checked by finite differences",
            "largest |hand − finite differences|",
        ],
        [
            Row(
                [
                    labels.get(r["name"], r["name"]),
                    " × ".join(map(str, r["shape"])),
                    f"{r['autograd']:.1e}",
                    str(r["checked"]),
                    f"{r['finite']:.1e}",
                ]
            )
            for r in rows
        ],
        title,
    )


def check_words(rows: list[dict]) -> str:
    """What the check says, in words, with its largest difference."""
    worst = max(max(r["autograd"], r["finite"]) for r in rows)
    verdict = (
        f"below {GRADIENT_TOLERANCE:g}: the derivation and the code agree"
        if worst < GRADIENT_TOLERANCE
        else f"above {GRADIENT_TOLERANCE:g}: the hand-written gradient is wrong"
    )
    return f"the largest difference over every parameter is {worst:.1e}, {verdict}"


def weight_labels(sizes: list[int], output: str = "y", hidden: str = "h") -> dict[str, str]:
    """The course's names of our tensors: W0, b0 are the hidden layer's (W_h, b_h), the last the output's."""
    last = len(sizes) - 2
    return {
        f"{p}{i}": f"{p}{i} ({'W' if p == 'W' else 'b'}_{output if i == last else hidden})"
        for i in range(last + 1)
        for p in ("W", "b")
    }


# ---------------------------------------------------------------- circle


def circle_sizes(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    """Réponse 4: what n_x, n_h and n_y are, read from our network."""
    r = next((r for r in results.values() if r.variant.kind == "scratch"), None)
    if not has(r, *SIZED):
        return None
    sizes = sizes_of(r)
    found = network_layers(sizes, r.variant.params.get("activation", "tanh"))
    answer = (
        f"Our network on Circle is {'-'.join(map(str, sizes))}: n_x = {sizes[0]} inputs (the two "
        f"coordinates of a point), n_h = {sizes[1]} hidden units "
        f"({r.variant.params.get('activation', 'tanh')}) "
        f"and n_y = {sizes[-1]} outputs, one per class, turned into probabilities by the softmax. "
        f"It has {sum(layer.params for layer in found)} parameters "
        f"({' + '.join(f'{layer.params}' for layer in found if layer.params)}), against "
        f"{r.metrics['n_train']:,} training points. n_x and n_y are fixed by the data; n_h is the one "
        f"choice, the capacity of the network."
    )
    return Question(
        "«n_x = 2 : représente la taille des données. n_h = 4 : la dimension de la couche cachée du "
        "modèle d'apprentissage [...] n_y = 2 : représente le nombre de classes en sortie du modèle.»",
        f"{TME}, Réponse 4",
        answer,
        [
            layer_table(
                found, f"The {'-'.join(map(str, sizes))} network, layer by layer (from the built model)"
            )
        ],
    )


@single_thread
def softmax_identity(ctx: Context) -> Question:
    """Réponse 14: the cross-entropy of a softmax is −ỹ_{true} + log Σ exp ỹ, checked on random logits."""
    gen = torch.Generator().manual_seed(0)
    logits = 5 * torch.randn(CHECK_EXAMPLES, 10, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 10, (CHECK_EXAMPLES,), generator=gen)
    one_hot = torch.nn.functional.one_hot(y, 10).double()
    left = -(one_hot * torch.log(torch.softmax(logits, 1))).sum(1)
    right = -(one_hot * logits).sum(1) + torch.logsumexp(logits, 1)
    ours = jobs.cross_entropy(torch.softmax(logits, 1), y)
    gap = (left - right).abs().max().item()
    answer = (
        f"With ŷ = softmax(ỹ), log ŷ_i = ỹ_i − log Σ_j exp ỹ_j, and Σ_i y_i = 1 for a one-hot y, which "
        f"gives the identity. Checked on {CHECK_EXAMPLES} random logit vectors of 10 classes (float64): the "
        f"largest difference between the two sides is {gap:.1e}; the mean of the left side is "
        f"{left.mean().item():.4f} and our code's loss (cross_entropy) gives {ours.item():.4f}. The "
        f"right side is the one to compute: it never takes the log of a probability that rounds to 0."
    )
    return Question(
        "«La fonction SoftMax et la loss de cross-entropy sont souvent utilisées ensemble et leur "
        "gradient est très simple. Montrons que : −Σ_i y_i log(ŷ_i) = −Σ_i y_i ỹ_i + "
        "log(Σ_j exp ỹ_j)»",
        f"{TME}, Réponse 14",
        answer,
        equations=equations(
            ctx,
            "backprop_softmax_ce",
            r"\hat{y}_i = \mathrm{softmax}(\tilde{y})_i = "
            r"\dfrac{e^{\tilde{y}_i}}{\sum_j e^{\tilde{y}_j}}",
            r"\ell(y, \hat{y}) = -\sum_i y_i \log \hat{y}_i = -\sum_i y_i "
            r"\left(\tilde{y}_i - \log \sum_j e^{\tilde{y}_j}\right) = "
            r"-\sum_i y_i \tilde{y}_i + \log \sum_j e^{\tilde{y}_j}",
        ),
    )


def circle_gradients(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    """Réponses 15-16: the gradients of the 2-4-2 tanh network, derived and checked."""
    r = next((r for r in results.values() if r.variant.params.get("method") == "manual"), None)
    if not has(r, *SIZED):
        return None
    sizes, activation = sizes_of(r), r.variant.params.get("activation", "tanh")
    rows = gradient_check(sizes, activation)
    answer = (
        f"For one example, ∂ℓ/∂ỹ = ŷ − y (differentiate the identity of Réponse 14: the derivative of "
        f"log Σ_j exp ỹ_j is the softmax). For a batch of N examples as rows (our code writes each layer "
        f"X W + b, the transpose of the course's W x + b) and the mean loss, the output layer's gradients "
        f"are Hᵀ(Ŷ − Y)/N and the column sums of (Ŷ − Y)/N; the error goes back through W_yᵀ and is "
        f"multiplied by tanh′ = 1 − h², then the hidden layer's gradients follow as the output layer's. "
        f"This is backward in our code, which trains the manual variant. Checked on the "
        f"{'-'.join(map(str, sizes))} {activation} network with random weights and {CHECK_EXAMPLES} random "
        f"examples: {check_words(rows)}."
    )
    return Question(
        "«Le gradient de la loss (cross-entropy) par rapport à la sortie ỹ : ∇_ỹ l = ŷ − y [...] "
        "∇_{W_y} l = ∇_ỹ h^T [...] ∇_h̃ l = W_y^T ∇_ỹ ⊙ (1 − h²), ∇_{W_h} l = ∇_h̃ x^T»",
        f"{TME}, Réponses 15-16",
        answer,
        [
            check_table(
                rows,
                weight_labels(sizes),
                "The hand-written gradients (backward) against autograd and finite differences",
            )
        ],
        equations(
            ctx,
            "backprop_circle_gradients",
            r"\dfrac{\partial \ell}{\partial \tilde{y}} = \hat{y} - y \qquad "
            r"\Delta_y = \dfrac{1}{N}(\hat{Y} - Y)",
            r"\nabla_{W_y} L = H^{\top} \Delta_y \qquad \nabla_{b_y} L = \sum_{i=1}^{N} "
            r"\Delta_{y,i}",
            r"\Delta_h = (\Delta_y W_y^{\top}) \odot (1 - H^{2}) \qquad "
            r"\nabla_{W_h} L = X^{\top} \Delta_h \qquad \nabla_{b_h} L = \sum_{i=1}^{N} \Delta_{h,i}",
        ),
    )


def form_gaps(results: dict[str, VariantResult]) -> tuple[str, dict[str, float]] | None:
    """The largest difference, over every epoch's losses and accuracies, of each form from the first."""
    histories = {
        n: r.history for n, r in results.items() if r.variant.kind == "scratch" and r.history is not None
    }
    if len(histories) < 2:
        return None
    (first, base), *others = histories.items()
    columns = ["train_loss", "test_loss", "train_acc", "test_acc"]
    return first, {name: float((h[columns] - base[columns]).abs().to_numpy().max()) for name, h in others}


def four_forms(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    """§ 1.3.2-1.3.4: the four forms give «similar» results; ours are the same training."""
    found = form_gaps(results)
    if found is None:
        return None
    first, gaps = found
    rows = [
        Row(
            [
                name,
                r.variant.params.get("method", ""),
                fmt(r.metrics["train_acc"]),
                fmt(r.metrics["test_acc"]),
                "—" if name == first else f"{gaps[name]:.1e}",
                ref.text() if (ref := ctx.reference(name)) else "—",
            ]
        )
        for name, r in results.items()
        if r.variant.kind == "scratch"
    ]
    worst = max(gaps.values())
    accs = [r.metrics["test_acc"] for r in results.values() if r.variant.kind == "scratch"]
    refs = [ref.value for name in results if (ref := ctx.reference(name)) and ref.value is not None]
    seed_spread = (
        f"; the seed's four test accuracies spread over {max(refs) - min(refs):.1f} points," if refs else ";"
    )
    answer = (
        f"Our four forms start from the same weights and see the same batches in the same order, so "
        f"they compute the same training: the largest difference from {first}, over every epoch's "
        f"losses and accuracies, is {worst:.1e} (float rounding), and the final test accuracies span "
        f"{max(accs) - min(accs):.2f} points{seed_spread} which is what separate random "
        f"initialisations and batch orders give, not a difference between autograd, torch.nn and "
        f"torch.optim: they only automate the gradient, the layers and the update of the same "
        f"algorithm."
    ) + _smoke(ctx)
    return Question(
        "«L'accuracy à la dernière itération est de 95.0% pour le test et le train, qui est similaire à "
        "celle trouvée avec l'implémentation manuelle.» «On obtient des résultats similaires à celles "
        "obtenues précédemment»",
        f"{TME}, § 1.3.2-1.3.4",
        answer,
        [
            Table(
                [
                    "variant",
                    "form",
                    "train acc. (%)",
                    "test acc. (%)",
                    f"largest difference from {first} (any epoch)",
                    "seed's test acc. (%)",
                ],
                rows,
                "The four forms of the 2-4-2 network",
            )
        ],
    )


# ---------------------------------------------------------------- svm


def c_impact(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    """§ 1.3.6: «C n'a pas beaucoup d'impact»: the test accuracy across the C sweep, per kernel."""
    swept = {n: r.metrics["c_sweep"] for n, r in results.items() if r.metrics.get("c_sweep")}
    if not swept:
        return None
    first = results[next(iter(swept))].metrics
    cs = [row["C"] for row in next(iter(swept.values()))]
    rows = [
        Row(
            [
                f"{c:g}",
                *[
                    f"{next(s for s in sweep if s['C'] == c)[f'{split}_acc']:.1f}"
                    for sweep in swept.values()
                    for split in ("train", "test")
                ],
            ]
        )
        for c in cs
    ]
    columns = ["C", *[f"{name}: {split} acc. (%)" for name in swept for split in ("train", "test")]]
    parts = []
    for name, sweep in swept.items():
        test = [row["test_acc"] for row in sweep]
        best, worst = max(sweep, key=lambda s: s["test_acc"]), min(sweep, key=lambda s: s["test_acc"])
        parts.append(
            f"{name}: the test accuracy goes from {worst['test_acc']:.1f} % (C = {worst['C']:g}) to "
            f"{best['test_acc']:.1f} % (C = {best['C']:g}), a range of {max(test) - min(test):.1f} points"
        )
    flat = [
        n
        for n, sweep in swept.items()
        if max(s["test_acc"] for s in sweep) - min(s["test_acc"] for s in sweep) <= 2 * ctx.tolerance
    ]
    verdict = (
        f"The seed's statement holds for {', '.join(flat)} (a range within {2 * ctx.tolerance:g} points)"
        if flat
        else "The seed's statement holds for no kernel here"
    ) + (f" and not for {', '.join(n for n in swept if n not in flat)}" if len(flat) < len(swept) else "")
    answer = (
        f"Over C from {min(cs):g} to {max(cs):g}: " + "; ".join(parts) + f". {verdict}. C trades the "
        f"margin against the training errors: a large C fits the training points harder (the train "
        f"accuracy rises with it), a small C keeps a wide margin. Where the classes overlap only at the "
        f"border, as Circle's disc and ring, few points are in the margin and the boundary moves little. "
        f"Chance is 50 %. Circle is generated from a fixed seed: these are the same "
        f"{first['n_train']:,} / {first['n_test']:,} points at every scale, smoke included."
    )
    return Question(
        "«Le paramètre de régularisation C n'a pas beaucoup d'impact ici car les données des deux "
        "classes sont plus ou moins bien séparés.»",
        f"{TME}, § 1.3.6",
        answer,
        [Table(columns, rows, "The C sweep: train and test accuracy for each C")],
    )


@single_thread
def nonlinearity(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    """Réponse 3: without activations, layers collapse into one linear map; a linear boundary fails on "
      "Circle."""
    if not (has(results.get("linear"), "test_acc") and has(results.get("rbf"), "test_acc")):
        return None
    params = {k: v.double() for k, v in jobs.init_params([2, 4, 2], 1.0, seed=0).items()}
    params = {k: v + 0.1 for k, v in params.items()}
    x = torch.randn(CHECK_EXAMPLES, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    stacked = (x @ params["W0"] + params["b0"]) @ params["W1"] + params["b1"]
    merged = x @ (params["W0"] @ params["W1"]) + (params["b0"] @ params["W1"] + params["b1"])
    gap = (stacked - merged).abs().max().item()
    lin, rbf = (results[n].metrics for n in ("linear", "rbf"))
    answer = (
        f"Two linear layers without an activation between them are one linear layer: (xW₀ + b₀)W₁ + b₁ = "
        f"x(W₀W₁) + (b₀W₁ + b₁). On a 2-4-2 network with random weights the two sides differ by at most "
        f"{gap:.1e}, rounding. A linear model can only draw a line, and a line cannot put a disc on one side "
        f"and the ring around it on the other: the linear SVM tests at {lin['test_acc']:.1f} % (chance is "
        "50 %), "
        f"the RBF kernel, a non-linear map, at {rbf['test_acc']:.1f} %."
    )
    return Question(
        "«Il est important d'ajouter des fonctions d'activation entre des transformations linéaires "
        "puisque une succession de fonctions linéaires induit une fonction linéaire [...] pour un jeu de "
        "données non séparables linéairement.»",
        f"{TME}, Réponse 3",
        answer,
        equations=equations(
            ctx, "backprop_linear_collapse", r"(x W_0 + b_0)\, W_1 + b_1 = x\, (W_0 W_1) + (b_0 W_1 + b_1)"
        ),
    )


# ---------------------------------------------------------------- mnist by hand


def logreg_parameters(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    """TP 1, ex. 0-1: the image as a 784-vector, and the logistic regression's 7,850 parameters."""
    r = results.get("logreg_manual")
    if not has(r, *SIZED):
        return None
    sizes = sizes_of(r)
    found = network_layers(sizes, "sigmoid")
    side = math.isqrt(sizes[0])
    image = f"{side} × {side} = {sizes[0]}" if side * side == sizes[0] else str(sizes[0])
    answer = (
        f"Each image is flattened to a vector of {image} values. One weight vector of {sizes[0]} values "
        f"and one bias per class: {sizes[0]} × {sizes[-1]} + {sizes[-1]} = "
        f"{sizes[0] * sizes[-1] + sizes[-1]:,} parameters; the built model counts "
        f"{sum(layer.params for layer in found):,} and the trained one {int(r.metrics['params']):,}, "
        f"{int(r.metrics['params']) / r.metrics['n_train']:.3f} per training image "
        f"({r.metrics['n_train']:,} images)."
    )
    return Question(
        "«Le nombre de paramètres du modèle est alors égal à : Nombre de paramètre par couche × Nombre "
        "de couches + biais = 784 × 10 + 10 = 7850»",
        f"{TP1}, ex. 1",
        answer,
        [layer_table(found, "The logistic regression, layer by layer (from the built model)")],
    )


def logreg_gradient(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    """TP 1, ex. 1: ∂L/∂W = (1/N) Xᵀ(Ŷ − Y*), ∂L/∂b = mean of (ŷ − y*), derived and checked."""
    r = results.get("logreg_manual")
    if not has(r, *SIZED):
        return None
    sizes = sizes_of(r)
    rows = gradient_check(sizes, "sigmoid")
    answer = (
        f"With z = xW + b and ŷ = softmax(z), the gradient of −log ŷ_{{c*}} with respect to z is ŷ − y* "
        f"(the softmax's derivative cancels the log's); z is linear in W and b, so the chain rule gives "
        f"the two formulas below, averaged over the N examples of the batch. Our backward computes "
        f"exactly this for a network without hidden layer, and logreg_manual trains with it. Checked "
        f"on the {sizes[0]}-{sizes[-1]} model with random weights and {CHECK_EXAMPLES} random examples: "
        f"{check_words(rows)}."
    )
    return Question(
        "«On calcule alors ∂L/∂z_i = δ_i^y = ∇_{z_i} L(ŷ_i, y_i*) [...] = ŷ_i − y_i* [...] "
        "∂L/∂w = (1/N) X^T (Ŷ − Y*) = (1/N) X^T Δ^y (3), ∂L/∂b = (1/N) Σ_i (ŷ_i − y_i*) (4)»",
        f"{TP1}, ex. 1 (the seed leaves ∂L/∂z «à revoir»)",
        answer,
        [
            check_table(
                rows,
                {"W0": "W0 (W)", "b0": "b0 (b)"},
                "The logistic regression's hand-written gradient against autograd and finite differences",
            )
        ],
        equations(
            ctx,
            "backprop_logreg_gradient",
            r"\nabla_{z} L(\hat{y}, y^{*}) = \nabla_{z}\left(-z_{c^{*}} + \log \sum_j e^{z_j}"
            r"\right) = \hat{y} - y^{*}",
            r"\dfrac{\partial L}{\partial W} = \dfrac{1}{N} X^{\top} (\hat{Y} - Y^{*}) \qquad "
            r"\dfrac{\partial L}{\partial b} = \dfrac{1}{N} \sum_{i=1}^{N} (\hat{y}_i - y^{*}_i)",
        ),
    )


def mlp_backward(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    """TP 1, ex. 2: the sizes of W_y, b_y, W_h, b_h and their gradients, from our 784-L-10 perceptron."""
    r = results.get("mlp_manual")
    if not has(r, *SIZED):
        return None
    sizes, activation = sizes_of(r), r.variant.params.get("activation", "sigmoid")
    found = network_layers(sizes, activation)
    rows = gradient_check(sizes, activation)
    shapes = ", ".join(
        f"{label.split(' ')[1].strip('()')} {' × '.join(map(str, row['shape']))}"
        for row in rows
        for label in [weight_labels(sizes)[row["name"]]]
    )
    answer = (
        f"Our perceptron is {'-'.join(map(str, sizes))} ({activation} hidden layer, L = {sizes[1]}, K = "
        f"{sizes[-1]}): {shapes}, {sum(layer.params for layer in found):,} parameters in all "
        f"({int(r.metrics['params']) / r.metrics['n_train']:.2f} per training image, "
        f"{r.metrics['n_train']:,} images). The gradients with respect to all four come from one backward "
        f"pass: the output layer's as in the logistic regression, with H in place of X, then "
        f"Δ_h = (Δ_y W_yᵀ) ⊙ σ(ũ)(1 − σ(ũ)) for the hidden layer. Checked on this network with random "
        f"weights and {CHECK_EXAMPLES} random examples: {check_words(rows)}."
    )
    return Question(
        "«[...] calculer le gradient de l'erreur par rapport à tous les paramètres du modèle, i.e. W_y "
        "(taille (L,K)), b_y (taille (1,K)), W_h (taille (784,L)), et b_h (taille (1,L)).»",
        f"{TP1}, ex. 2",
        answer,
        [
            layer_table(
                found, f"The {'-'.join(map(str, sizes))} perceptron, layer by layer (from the built model)"
            ),
            check_table(
                rows,
                weight_labels(sizes),
                "Its hand-written gradients against autograd and finite differences",
            ),
        ],
        equations(
            ctx,
            "backprop_mlp_gradient",
            r"\Delta_h = (\Delta_y W_y^{\top}) \odot H \odot (1 - H) \qquad "
            r"\nabla_{W_h} L = X^{\top} \Delta_h \qquad \nabla_{b_h} L = \sum_{i=1}^{N} "
            r"\Delta_{h,i}",
        ),
    )


@single_thread
def convexity(ctx: Context) -> Question:
    """TP 1, ex. 1-2: the logistic regression's loss is convex, the perceptron's is not; both shown.

    Convex: the Hessian of the logistic regression's mean loss (on Circle, 6 parameters) has no
    negative eigenvalue. Not convex: a trained 2-4-2 network and the same network with its hidden
    units in reverse order have the same loss, and the loss halfway between them is higher, which
    a convex function cannot do (it would lie below the chord).
    """
    data = circle.prepare(None)
    x, y = data["train"]["x"].double(), data["train"]["y"]
    n_in, k = x.shape[1], int(y.max()) + 1

    def logreg_loss(flat):
        w, b = flat[: n_in * k].reshape(n_in, k), flat[n_in * k :]
        return jobs.cross_entropy(torch.softmax(x @ w + b, 1), y)

    point = torch.randn(n_in * k + k, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    eigen = torch.linalg.eigvalsh(torch.autograd.functional.hessian(logreg_loss, point))
    flat_directions = int((eigen.abs() < 1e-9).sum())

    step, _, weights = jobs.trainer("manual", jobs.init_params(DEMO_SIZES, 0.5, seed=0), "tanh", DEMO_LR)
    xf = x.float()
    for _ in range(DEMO_EPOCHS):
        for start in range(0, len(xf), DEMO_BATCH):
            step(xf[start : start + DEMO_BATCH], y[start : start + DEMO_BATCH])
    trained = {k: v.double() for k, v in weights().items()}
    order = torch.arange(DEMO_SIZES[1] - 1, -1, -1)
    swapped = {
        "W0": trained["W0"][:, order],
        "b0": trained["b0"][order],
        "W1": trained["W1"][order],
        "b1": trained["b1"],
    }
    ts = np.linspace(0, 1, 11)
    path = [
        _loss({k: (1 - t) * trained[k] + t * swapped[k] for k in trained}, x, y, "tanh").item() for t in ts
    ]
    middle = path[len(ts) // 2]
    rows = [
        Row([f"{t:.1f}", f"{value:.4f}", f"{(1 - t) * path[0] + t * path[-1]:.4f}"])
        for t, value in zip(ts, path, strict=True)
    ]
    answer = (
        f"Logistic regression: its loss is a log-sum-exp of linear functions of (W, b) minus a linear one, "
        f"so it is convex. On Circle ({len(point)} parameters) the Hessian at a random point has "
        "eigenvalues from "
        f"{eigen.min().item():.1e} to {eigen.max().item():.3f}: none is negative beyond rounding. But "
        f"{flat_directions} are zero: adding the same vector to every class's weights changes no "
        "probability, "
        f"so the minimum is a flat valley, not a single point as the seed writes («un seul minimum "
        f"global»). The perceptron: swapping two hidden units (with their "
        f"weights) changes nothing, so every minimum has copies. We trained a "
        f"{'-'.join(map(str, DEMO_SIZES))} tanh network on Circle ({DEMO_EPOCHS} epochs, our manual "
        "step) and reversed the order of its hidden units: both have the train "
        f"loss {path[0]:.4f} and {path[-1]:.4f}, but halfway between them the loss is {middle:.4f}, "
        f"{'above' if middle > max(path[0], path[-1]) else 'not above'} the chord. A convex function "
        f"never rises above its chord: the perceptron's loss is not convex, and gradient descent may stop "
        f"in a local minimum, depending on the initialisation."
    )
    return Question(
        "«La fonction de coût [...] par rapport aux paramètres w, b est convexe car la régression "
        "logistique est un classifieur linéaire probabiliste [...] ce qui garantit une existence d'un "
        "seul minimum global.» «La fonction coût [...] n'est pas forcément convexe, puisqu'on peut "
        "trouver des minima locaux au lieu de minimum global.»",
        f"{TP1}, ex. 1 and ex. 2",
        answer,
        [
            Table(
                ["t", "train loss at (1 − t) W + t W_swapped", "chord"],
                rows,
                "The 2-4-2 network's loss on the segment from its trained weights W to the same "
                "network with its hidden units reversed",
            )
        ],
    )


def zero_init(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    """TP 1, ex. 2: with every weight at zero, the hidden units stay equal: one hidden feature."""
    if not has(results.get("mlp_zero_init"), "distinct_hidden_units", "hidden_spread", "test_acc"):
        return None
    zero = results["mlp_zero_init"].metrics
    hidden = results["mlp_zero_init"].variant.params["hidden"][0]
    others = {n: results[n].metrics for n in ("logreg_manual", "mlp_manual") if n in results}
    rows = [
        Row(
            [
                n,
                "zero"
                if n == "mlp_zero_init"
                else "random"
                if "hidden" in results[n].variant.params
                else "—",
                str(int(m["distinct_hidden_units"])) if "distinct_hidden_units" in m else "—",
                f"{m['hidden_spread']:.2g}" if "hidden_spread" in m else "—",
                fmt(m["test_acc"]),
            ]
        )
        for n, m in {"mlp_zero_init": zero, **others}.items()
    ]
    answer = (
        f"At zero, every hidden unit computes σ(0) = 0.5 for every image, and W_y = 0 sends no error "
        "back: the "
        f"first step leaves W_h at zero and gives every row of W_y the same update. From then on all "
        f"hidden units have the same incoming and outgoing weights, so they get the same gradient at every "
        f"step and stay equal forever. The {hidden} hidden units are one unit repeated: the network is "
        f"ŷ = softmax(σ(xw + b) a + b_y), one feature of the image and a line in logit space. Ours: "
        f"{int(zero['distinct_hidden_units'])} distinct hidden unit(s) of {hidden} after training (largest "
        f"gap between two units' weights {zero['hidden_spread']:.2g}), test accuracy "
        f"{zero['test_acc']:.2f} % (chance is 10 %)"
    )
    if "logreg_manual" in others:
        diff = zero["test_acc"] - others["logreg_manual"]["test_acc"]
        answer += (
            f", against {others['logreg_manual']['test_acc']:.2f} % for the logistic regression "
            f"({diff:+.2f} points)"
        )
    if "mlp_manual" in others:
        answer += (
            f" and {others['mlp_manual']['test_acc']:.2f} % for the same perceptron initialised at random"
        )
    answer += (
        ". The seed's reason does not hold: the non-linearity is still there, but it acts on a single "
        "direction w of the image, where the logistic regression has one direction per class: the "
        "zero-initialised perceptron is a weaker model, not the same one."
    ) + _smoke(ctx)
    return Question(
        "«La performance en initialisant la matrice des poids à 0 est égale à celle de la régression "
        "linéaire. En effet initialiser les poids à 0 va permettre au réseau de ne pas tenir en compte "
        "les non linéarité du réseau.»",
        f"{TP1}, ex. 2",
        answer,
        [
            Table(
                [
                    "variant",
                    "initialisation",
                    "distinct hidden units",
                    "largest weight gap between units",
                    "test acc. (%)",
                ],
                rows,
                "Zero against random initialisation",
            )
        ],
        equations(
            ctx,
            "backprop_zero_init",
            r"W_h = 0,\ W_y = 0 \ \Rightarrow\ h_1 = \dots = h_L = \sigma(x\,w + b) "
            r"\ \Rightarrow\ \hat{y} = \mathrm{softmax}\left(\sigma(x\,w + b)\ a + b_y\right),"
            r"\quad a = \sum_{j=1}^{L} W_{y,j}",
        ),
    )


def first_epoch(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    """§ 1.3.5: the TME network on MNIST, train below test after the first epoch (the `train` kind only:
    the hand-written loop measures both splits with the weights at the end of the epoch)."""
    trained = {n: r for n, r in results.items() if r.variant.kind == "train"}
    return epoch_one(
        trained,
        ctx,
        "«On remarque que le modèle converge rapidement avec une accuracy de 85.7% pour "
        "le train et 86.2% pour le test dès la première itération»",
        f"{TME}, § 1.3.5",
    )


def circle_questions(results: dict[str, VariantResult], ctx: Context) -> list[Question]:
    return [
        q
        for q in (
            circle_sizes(results, ctx),
            softmax_identity(ctx),
            circle_gradients(results, ctx),
            four_forms(results, ctx),
        )
        if q is not None
    ]


def svm_questions(results: dict[str, VariantResult], ctx: Context) -> list[Question]:
    return [q for q in (nonlinearity(results, ctx), c_impact(results, ctx)) if q is not None]


def mnist_questions(results: dict[str, VariantResult], ctx: Context) -> list[Question]:
    return [
        q
        for q in (
            logreg_parameters(results, ctx),
            logreg_gradient(results, ctx),
            mlp_backward(results, ctx),
            convexity(ctx),
            zero_init(results, ctx),
            first_epoch(results, ctx),
        )
        if q is not None
    ]
