"""The report part of chapter `visualization`: what each method computes (equations), its maps and
numbers, the course's questions of TP 8 (seed 003) and ex. 3 (seed 000) answered with the values
of this run, the seeds' statements checked against them, and the chapter's discussion.

The seeds judge pictures by eye ("plus clair", "distinguer le fond et l'objet", "converge plus
vite"); we check them with numbers measured on the maps and images, each defined where it is used:
the share of a map held by its largest 5 % (saliency) or 10 % (class images) of pixels, the steps
to reach a probability, the move of the CAM's peak.
"""

from __future__ import annotations

from pathlib import Path

from reprolab import figures
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
)

TP8 = "seed 003, TP 8"
EX3 = "seed 000, ex. 3"
NETWORKS = {"squeezenet1_1": "SqueezeNet 1.1", "vgg16": "VGG16", "resnet18": "ResNet-18"}
RANDOM = ("At smoke scale the networks are randomly initialised (no weights are downloaded): the maps and "
          "numbers only show that each step runs; they say nothing about what a trained network looks at.")
NOTE = (" At smoke scale the networks are randomly initialised: these numbers say nothing about trained "
        "networks.")
LAYERCAM = (r"L^{c} = \mathrm{ReLU}\left(\sum_k \mathrm{ReLU}\left(\frac{\partial s_c}{\partial A_k}\right)"
            r" \odot A_k\right)")
CONVERGED = 0.05  # relative rise of the mean score over the last steps under which a run has converged
CLEARER = 0.01  # a share of energy larger by this much is "more concentrated"


def network(m: dict) -> str:
    return NETWORKS.get(m["backbone"], m["backbone"])


def pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def share(value: float | None) -> str:
    """A fraction as a percentage; "no gradient" where the map is all zero (a class behind a dead ReLU)."""
    return "no gradient" if value is None else f"{100 * value:.1f}"


def steps(value: int | None, cap: int) -> str:
    return f"never in {cap}" if value is None else str(value)


def count(values) -> str:
    values = list(values)
    return f"{sum(values)} of {len(values)}"


def equation(ctx: Context, name: str, tex: str) -> str:
    return str(figures.equation(tex, Path(ctx.figures_dir) / f"{name}.svg"))


def photos_text(m: dict, full: bool = False) -> str:
    """Where the photos come from (`full`: each one's source and licence) and how they are prepared."""
    if full:
        sources = ("(the seeds used the course's ImageNet images and their own; ours ship with packages the "
                   "pipeline installs): "
                   + "; ".join(f"{p['photo']}: {p['source']}" for p in m["photo_sources"]))
    else:
        sources = (", ".join(p["photo"] for p in m["photo_sources"])
                   + " (their sources and licences are in the saliency experiment's method)")
    return (f"Photos {sources}. Each is resized to {m['image_size']} × {m['image_size']} (bilinear, both "
            f"sides, no crop), scaled to [0, 1] and normalised with ImageNet's mean and standard deviation.")


def classes_text(rows: list[dict]) -> str:
    return "; ".join(f"{r['photo']}: {r['class']} «{r['class_name']}» ({r['class_from']})" for r in rows)


def network_text(m: dict) -> str:
    return f"torchvision's {network(m)} with {weights_text(m)} weights, in eval mode, its weights frozen"


def observe_random(part: ExperimentPart, results: dict[str, VariantResult]) -> None:
    if any(not r.metrics["pretrained"] for r in results.values()):
        part.observations.append(RANDOM)


# --- saliency ----------------------------------------------------------------------------------------

def saliency(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """The `saliency` kind: method, the maps, a table per photo and network."""
    first = next(iter(results.values())).metrics
    part.method += [
        "A saliency map (Simonyan et al., 2014) shows how much each pixel moves the raw score s_y of a "
        "class (the logit, before the softmax): the gradient of s_y with respect to the input, in absolute "
        "value, and for each pixel the largest of its three colour channels. One backward pass per image; "
        "the network's weights are not changed.",
        "Networks: " + "; ".join(f"{name}: {network_text(r.metrics)}" for name, r in results.items()) + ". "
        + photos_text(first, full=True) + f" The class of each photo: {classes_text(first['photos'])}.",
        "To compare maps we measure how concentrated they are: the share of a map's total held by its "
        f"{100 * first['salient_fraction']:g} % largest pixels ({100 * first['salient_fraction']:g} % for a "
        "uniform map, 100 % when one pixel holds everything), and the area of the bounding box of those "
        f"pixels (a crude segmentation from the map alone).",
    ]
    part.setup = Table(["variant", "network", "weights", "input", "photos"],
                       [Row([name, network(m), weights_text(m), f"3 × {m['image_size']} × {m['image_size']}",
                             str(len(m["photos"]))]) for name, r in results.items() for m in [r.metrics]])
    rows = []
    for name, r in results.items():
        for p in r.metrics["photos"]:
            rows.append(Row([name, p["photo"], f"{p['class']} «{p['class_name']}»",
                             f"«{p['top1_name']}» {p['top1_probability']:.1f}", pct(p["probability"], 2),
                             share(p["top_share"]), share(p["box_share"]), share(p["rgb_max_share"]),
                             share(p["negative_share"])]))
        part.figures.append(Figure(r.file("saliency.png"), f"{r.variant.id}: the photos with their class "
                                                           "(top), the saliency maps (bottom, hot colours)"))
    fraction = f"{100 * first['salient_fraction']:g}"
    part.tables.append(Table(
        ["variant", "photo", "class", "network's top-1 (%)", "class probability (%)",
         f"saliency in the top {fraction} % pixels (%)", "their bounding box (% of the image)",
         "max over RGB / sum over RGB (%)", "negative gradient (% of |gradient|)"], rows,
        "Saliency maps: how concentrated they are, and what the max over RGB and the absolute value drop"))
    observe_random(part, results)


def saliency_questions(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """TP 8, questions 1 to 4."""
    asked = (saliency_q1, saliency_q2, saliency_q3, saliency_q4)
    part.questions += [q for q in (ask(results, ctx) for ask in asked) if q]
    if part.questions:
        part.questions[0].equations.append(equation(
            ctx, "saliency", r"M_{ij} = \max_{c \in \{R,G,B\}} \left|\frac{\partial s_y(x)}{\partial "
                             r"x_{c,i,j}}"
                             r"\right|"))


def _shares(results: dict[str, VariantResult], key: str) -> str:
    """Each network's mean of a per-photo share (over the photos whose map is not all zero)."""
    return ", ".join(f"{network(r.metrics)} {share(r.metrics[key])} %" for r in results.values())


def saliency_q1(results: dict[str, VariantResult], ctx: Context) -> Question:
    first = next(iter(results.values())).metrics
    fraction = 100 * first["salient_fraction"]
    right = {name: count(p["top1"] == p["class"] for p in r.metrics["photos"]) for name, r in results.items()}
    answer = ("Each map (figure) is bright where a small change of the pixel changes the class's score "
              f"most. They are concentrated: on average the {fraction:g} % largest pixels hold "
              f"{_shares(results, 'top_share')} of the map (a uniform map would give {fraction:g} %). The "
              "networks' top-1 class is the photo's class for "
              + ", ".join(f"{right[name]} photos ({network(r.metrics)})" for name, r in results.items())
              + "; where it is, the bright pixels are the evidence the network uses for that class. The map "
                "says where the score is sensitive, not why: it is a first-order (linear) view of the "
                "network around this image.")
    dead = sum(r.metrics["n_zero_gradient"] for r in results.values())
    if dead:
        answer += (f" {dead} map(s) are all zero: the class's score is a ReLU output at zero for that image, "
                   f"so no pixel moves it (left out of the averages).")
    if not first["pretrained"]:
        answer += " " + RANDOM
    return Question("Montrer et interpréter les résultats obtenus.", f"{TP8}, partie 1, Q. 1", answer)


def saliency_q2(results: dict[str, VariantResult], ctx: Context) -> Question:
    answer = (f"Three limits, measured here. (1) The max over RGB keeps one channel of three: it holds "
              f"{_shares(results, 'rgb_max_share')} of the gradient's total absolute value (at least 33.3 % "
              "by construction), the rest is dropped, and with it which colour matters. (2) The absolute "
              f"value drops the sign: {_shares(results, 'negative_share')} of the gradient's absolute value "
              "is negative (pixels that, made brighter, lower the score), shown as bright as the positive "
              "part. (3) The gradient is local: it says how s_y changes for an infinitesimal change of one "
              "pixel, not what the network needs; a saturated ReLU or max pooling gives zero gradient to "
              "pixels that matter, and the maps are noisy, with bright pixels off the object (the seed's "
              f"vase). Pixels are also judged one by one, never as parts or objects.")
    return Question("Discutez les limites de cette technique pour visualiser l'importance des différents "
                    "pixels.",
                    f"{TP8}, partie 1, Q. 2", answer + (NOTE if ctx.smoke else ""))


def saliency_q3(results: dict[str, VariantResult], ctx: Context) -> Question:
    first = next(iter(results.values())).metrics
    fraction = 100 * first["salient_fraction"]
    answer = (f"Yes: the map localises the class without any box or mask in training. Thresholding it is a "
              "weakly supervised localisation or segmentation (Simonyan et al. seed a GraphCut with it): "
              f"here the bounding box of the {fraction:g} % most salient pixels covers on average "
              f"{_shares(results, 'box_share')} of the image. It can also check a dataset (a classifier "
              "looking at a watermark or the background instead of the object) and, as the next part shows, "
              f"the same gradient builds adversarial examples.")
    return Question("Cette technique pourrait-elle servir à autre chose qu'à interpréter le réseau ?",
                    f"{TP8}, partie 1, Q. 3", answer + (NOTE if ctx.smoke else ""))


def saliency_q4(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    if not {"squeezenet", "vgg16"} <= results.keys():
        return None
    sq, vgg = (results[n].metrics for n in ("squeezenet", "vgg16"))
    fraction = 100 * sq["salient_fraction"]
    pairs = [(a, b) for a in sq["photos"] for b in vgg["photos"]
             if a["photo"] == b["photo"] and a["top_share"] is not None and b["top_share"] is not None]
    if not pairs:
        return None
    sq_mean = sum(a["top_share"] for a, _ in pairs) / len(pairs)
    vgg_mean = sum(b["top_share"] for _, b in pairs) / len(pairs)
    more = sum(b["top_share"] > a["top_share"] for a, b in pairs)
    claim = Claim("VGG16's saliency maps are clearer («On peut observer qu'il est plus clair»)",
                  f"{TP8}, partie 1, Q. 4",
                  f"share of the map in its {fraction:g} % largest pixels: VGG16 {100 * vgg_mean:.1f} %, "
                  f"SqueezeNet {100 * sq_mean:.1f} % on average; VGG16's larger on {more} of {len(pairs)} "
                  f"photos", vgg_mean > sq_mean + CLEARER)
    answer = (f"Same photos, same classes, VGG16 ({weights_text(vgg)} weights) instead of SqueezeNet. We "
              f"read the seed's «plus clair» as more concentrated: {claim.ours}.")
    if not ctx.smoke:
        answer += (" The seed's impression holds." if claim.holds else
                   " By this measure VGG16's maps are not more concentrated than SqueezeNet's.")
    else:
        answer += NOTE
    return Question("Bonus : Tester avec un autre réseau, par exemple VGG16.", f"{TP8}, partie 1, Q. 4",
                    answer,
                    [claims_table([claim], ctx, "The seed's statement on VGG16's saliency maps")])


# --- fooling images ----------------------------------------------------------------------------------

def fooling(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """The `fooling` kind: method, per-photo steps and norms, the figure."""
    for name, r in results.items():
        m = r.metrics
        part.method += [
            "A fooling image (Szegedy et al., 2014) is the photo pushed, by gradient ascent on the raw "
            "score of a chosen class, until the network's top class is that class; the image changes, not "
            f"the network. Step: x ← x + lr · g / ‖g‖₂, g = ∂s_t/∂x, lr = {m['lr']:g}, at most "
            f"{m['max_iterations']} steps, stopping as soon as the top class is the target (checked before "
            f"each step). Target: class {m['target']} «{m['target_name']}» (the course's). "
            f"Network: {network_text(m)}. " + photos_text(m),
            "The perturbation is measured in the network's input space (normalised, where the steps are "
            "taken: L2) and in 8-bit pixel levels of the 0-255 image (L2, L∞ and mean |·|); the fooling "
            "image is then "
            "rounded to whole levels in 0-255, as an image file would store it, and classified again.",
        ]
        part.setup = Table(["variant", "network", "weights", "input", "target", "lr", "max. steps"],
                           [Row([name, network(m), weights_text(m),
                                 f"3 × {m['image_size']} × {m['image_size']}",
                                 f"{m['target']} «{m['target_name']}»", f"{m['lr']:g}",
                                 str(m["max_iterations"])])])
        rows = [Row([p["photo"], f"«{p['top1_name']}» {p['top1_probability']:.1f}",
                     pct(p["target_probability_before"], 2), str(p["iterations"]),
                     "yes" if p["fooled"] else "no",
                     f"«{p['top1_after_name']}» / {p['target_probability']:.1f}", f"{p['l2_input']:.2f}",
                     f"{p['l2_pixels']:.1f}", f"{p['linf_pixels']:.2f}", f"{p['mean_abs_pixels']:.3f}",
                     "yes" if p["fooled_after_rounding"] else "no"]) for p in m["photos"]]
        part.tables.append(Table(["photo", "top-1 before (%)", "target before (%)", "steps", "fooled",
                                  "top-1 after / target (%)", "L2 (input space)", "L2 (pixel levels)",
                                  "L∞ (pixel levels)", "mean |Δ| (pixel levels)",
                                  "fooled after 8-bit rounding"],
                                 rows, f"{name}: the fooling images, class {m['target']} "
                                       f"«{m['target_name']}»"))
        part.figures.append(Figure(r.file("fooling.png"),
                                   f"{r.variant.id}: photo, fooling image (top-1 and steps above), their "
                                   "difference (grey = 0) and the difference magnified "
                                   f"×{m.get('magnify', 10):g}"))
    observe_random(part, results)


def fooling_questions(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """TP 8, questions 5 and 6."""
    for r in results.values():
        m = r.metrics
        n, fooled = m["n_photos"], m["n_fooled"]
        done = [p for p in m["photos"] if p["fooled"]]
        text = (f"{fooled} of {n} photos become «{m['target_name']}» for {network(m)} within "
                f"{m['max_iterations']} steps")
        if done:
            text += (f", after {min(p['iterations'] for p in done)} to {max(p['iterations'] for p in done)} "
                     f"steps, with a target probability of {min(p['target_probability'] for p in done):.1f} "
                     f"to {max(p['target_probability'] for p in done):.1f} %. The change is small: at most "
                     f"{max(p['linf_pixels'] for p in done):.1f} levels of 255 on any pixel and colour (L∞), "
                     f"{max(p['mean_abs_pixels'] for p in done):.2f} levels on average; magnified ten times, "
                     "the difference is a faint, structured texture spread over the whole image, not an "
                     "object")
        text += "."
        if done:
            text += (" The network's decision is moved across a class boundary by a change far smaller than "
                     "the difference between two photos of the same object: the boundary runs very close to "
                     "each natural image, along directions that do not look like the target class at all.")
        if len(done) < n:
            text += (f" {n - len(done)} photo(s) did not reach the target within the {m['max_iterations']} "
                     f"steps of lr {m['lr']:g}: a longer or larger ascent would be needed.")
        answer5 = text
        if not m["pretrained"]:
            answer5 += " " + RANDOM
        survived = m["n_fooled_after_rounding"]
        answer6 = ("A network can be made to see what an attacker chooses by changes a person does not "
                   f"notice: traffic signs, face or malware recognition, content filters. Here {survived} of "
                   f"{n} fooling images still fool the network once rounded to an 8-bit image (the "
                   "perturbation survives being saved as a file). Consequences: do not trust a network's "
                   "output on inputs an adversary controls; test robustness, not only accuracy; defences "
                   "(adversarial training, input preprocessing, certified bounds) cost accuracy and "
                   "computation. The seed's remedy, «choisir des images avec moins de bruit», does not "
                   "help: the perturbation is not noise in "
                   f"the data, it is computed from the network.")
        part.questions += [
            Question("Montrer et interpréter les résultats obtenus.", f"{TP8}, partie 2, Q. 5", answer5,
                     equations=[equation(ctx, "fooling", r"x \leftarrow x + "
                                                         r"\mathrm{lr}\,\frac{g}{\|g\|_2},\quad "
                                                         r"g = \frac{\partial s_t(x)}{\partial x}")]),
            Question("Quelles conséquences cela peut-il avoir pour l'utilisation de réseaux de convolution "
                     "en pratique ?", f"{TP8}, partie 2, Q. 6", answer6 + (NOTE if ctx.smoke else "")),
        ]


# --- class visualisation -----------------------------------------------------------------------------

def start_text(run: dict) -> str:
    return "noise" if run["start"] == "noise" else f"photo {run['start']}"


def class_visualization(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """The `class_visualization` kind: method, one row per run, the score every `show_every` steps."""
    first = next(iter(results.values()))
    m, p = first.metrics, first.variant.params
    part.method += [
        "Class visualisation (Simonyan et al., 2014; Yosinski et al., 2015) starts from an image I, "
        f"{m['image_size']} × {m['image_size']}, and climbs the raw score of a class y minus an L2 penalty, "
        "the network's weights fixed. Each iteration t (the course's code): shift I circularly by (ox, oy), "
        f"each drawn in 0..{m['jitter']} px; take a plain gradient step I ← I + lr · ∇(s_y(I) − λ‖I‖²); "
        f"shift back; clamp each channel to the normalised image of [0, 1]; every {m['blur_every']} "
        f"iterations (t = 0, {m['blur_every']}, ...) blur along height and width (Gaussian, σ = "
        f"{m['blur_sigma']:g} px). From noise, I starts as N(0, 1) in the normalised input space; from a "
        f"photo, as the photo, with its own class as target. Defaults: lr {p['lr']:g}, {p['iterations']} "
        f"iterations, λ = {p['reg']:g}, class "
        f"{p['target']} from noise; each variant changes one of them.",
        "We trace, at every iteration, the class's score and softmax probability (on the shifted image, "
        "before the step), and keep the image every few iterations. To read the seed's claims we count the "
        "steps until the class is the top-1 and until its probability reaches 90 %, and we measure how much "
        "the image stands out from the background: the share of its energy (squared distance of each pixel "
        f"to the mean image, summed over RGB) held by its {100 * m['energetic_fraction']:g} % most energetic "
        f"pixels ({100 * m['energetic_fraction']:g} % when all pixels are alike).",
        "Networks: " + "; ".join(dict.fromkeys(network_text(r.metrics) for r in results.values())) + ". "
        + photos_text(m),
    ]
    rows, trace_rows, snapshots = [], [], []
    for name, r in results.items():
        mm = r.metrics
        for run in mm["runs"]:
            rows.append(Row([name, network(mm), start_text(run), f"{run['target']} «{run['target_name']}»",
                             f"{mm['lr']:g}", str(mm["iterations"]), f"{mm['reg']:g}",
                             f"{run['start_score']:.2f} → {run['final_score']:.2f}",
                             f"{run['start_probability']:.2f} → {run['final_probability']:.2f}",
                             steps(run["steps_to_top1"], mm["iterations"]),
                             steps(run["steps_to_p90"], mm["iterations"]), pct(100 * run["energy_share"])]))
            snapshots = sorted(set(snapshots) | set(run["snapshot_iterations"]))
        part.figures.append(Figure(r.file("class_viz.png"),
                                   f"{r.variant.id}: the image every few iterations, then the class's score "
                                   f"(blue) and probability (orange) per iteration"))
    part.setup = Table(["variant", "network", "start", "class", "lr", "iterations", "λ", "score s_y",
                        "probability (%)", "steps to top-1", "steps to 90 %",
                        f"energy in the top {100 * m['energetic_fraction']:g} % pixels (%)"], rows)
    shown = [t for t in snapshots if t > 0]
    for name, r in results.items():
        for run in r.metrics["runs"]:
            trace_rows.append(Row([name, start_text(run)] + [
                pct(run["scores"][t - 1], 2) if t - 1 < len(run["scores"]) else "" for t in shown]))
    part.tables.append(Table(["variant", "start", *(f"t = {t}" for t in shown)], trace_rows,
                             "The class's score s_y at iteration t (before its step; jittered image)"))
    observe_random(part, results)


def runs_of(results: dict[str, VariantResult], name: str) -> list[dict]:
    return results[name].metrics["runs"] if name in results else []


def window_mean(scores: list[float], end: int, width: int) -> float | None:
    """The mean score over the `width` steps before step `end` (smooths the jitter's noise)."""
    part = scores[max(0, end - width):end]
    return sum(part) / len(part) if part else None


def sooner(a: int | None, b: int | None) -> bool:
    """Whether a count of steps `a` is smaller than `b` (None: never reached)."""
    return a is not None and (b is None or a < b)


def class_viz_claims(results: dict[str, VariantResult]) -> list[Claim]:
    """The seed's statements of questions 8-11, against our numbers."""
    claims = []
    default = next(iter(runs_of(results, "default")), None)
    if default is None:
        return claims
    cap = results["default"].metrics["iterations"]
    if long := next(iter(runs_of(results, "iter300")), None):
        total = results["iter300"].metrics["iterations"]
        width = max(1, total // 12)
        before, after = window_mean(long["scores"], cap, width), window_mean(long["scores"], total, width)
        change = long["snapshot_changes"].get(str(total)) or long["snapshot_changes"].get(total)
        rise = (after - before) / abs(before) if before else float("inf")
        text = (f"mean score over the {width} steps before step {cap}: {before:.2f}; before step {total}: "
                f"{after:.2f} ({100 * rise:+.1f} %)")
        if change is not None:
            text += f"; the last snapshot differs from the one before by {100 * change:.1f} % (RGB L2)"
        claims.append(Claim(f"Converged by {cap} iterations; {total} give almost the same image («atteint la "
                            "convergence lorsque iter = 200. Après iter = 200, le résultat est presque le "
                            "même»)",
                            f"{TP8}, partie 3, Q. 9", text, abs(rise) < CONVERGED))
    if fast := next(iter(runs_of(results, "lr10")), None):
        claims.append(Claim("A larger learning rate (10) converges faster («atteint le point de convergence "
                            "plus vite»)", f"{TP8}, partie 3, Q. 9",
                            f"steps to 90 %: lr 10 {steps(fast['steps_to_p90'], cap)}, lr 5 "
                            f"{steps(default['steps_to_p90'], cap)}; to top-1: "
                            f"{steps(fast['steps_to_top1'], cap)} "
                            f"against {steps(default['steps_to_top1'], cap)}",
                            sooner(fast["steps_to_p90"], default["steps_to_p90"])))
    if strong := next(iter(runs_of(results, "reg1e-2")), None):
        claims.append(Claim("A stronger regularisation (1e-2) separates object and background better («peut "
                            "bien distinguer le fond et l'objet»)", f"{TP8}, partie 3, Q. 9",
                            f"energy in the most energetic pixels: λ 1e-2 {100 * strong['energy_share']:.1f} "
                            f"%, λ 1e-3 {100 * default['energy_share']:.1f} %",
                            strong["energy_share"] > default["energy_share"] + CLEARER))
    image = next((run for run in runs_of(results, "from_image") if run["start"] != "noise"), None)
    if image:
        claims.append(Claim("Starting from an ImageNet image converges faster («la vitesse de convergence "
                            "est plus rapide»)", f"{TP8}, partie 3, Q. 10",
                            f"steps to 90 %: from {image['start']} {steps(image['steps_to_p90'], cap)} "
                            f"(«{image['target_name']}»), from noise {steps(default['steps_to_p90'], cap)} "
                            f"(«{default['target_name']}»)", sooner(image["steps_to_p90"],
                                                                    default["steps_to_p90"])))
    vgg_noise = next((run for run in runs_of(results, "vgg16") if run["start"] == "noise"), None)
    if vgg_noise:
        claims.append(Claim("VGG16's images are clearer («l'image observée est plus claire»)",
                            f"{TP8}, partie 3, Q. 11",
                            "energy in the most energetic pixels, from noise: VGG16 "
                            f"{100 * vgg_noise['energy_share']:.1f} %, SqueezeNet "
                            f"{100 * default['energy_share']:.1f} %",
                            vgg_noise["energy_share"] > default["energy_share"] + CLEARER))
    return claims


def class_viz_questions(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """TP 8, questions 8 to 11, with the seed's statements checked."""
    claims = class_viz_claims(results)
    by_source = {}
    for claim in claims:
        by_source.setdefault(claim.source.rsplit("Q. ", 1)[-1], []).append(claim)
    note = NOTE if ctx.smoke else ""
    objective = equation(ctx, "class_viz", r"I^{*} = \arg\max_{I}\; s_y(I) - \lambda \|I\|_2^2")
    if "default" in results:
        m, run = results["default"].metrics, results["default"].metrics["runs"][0]
        answer = (f"From noise, {m['iterations']} steps of lr {m['lr']:g} take the score of "
                  f"«{run['target_name']}» from {run['start_score']:.2f} to {run['final_score']:.2f} and its "
                  f"probability from {run['start_probability']:.2f} to {run['final_probability']:.2f} %; the "
                  f"class is the top-1 after {steps(run['steps_to_top1'], m['iterations'])} steps. The image "
                  "is what most excites the class's score under the penalty; for a trained network it is "
                  "usually parts of the object (legs, hairy textures for a tarantula) repeated at several "
                  "places and sizes, not one realistic object. The jitter and the blur keep out of it the "
                  "high-frequency patterns that the network would also accept.")
        part.questions.append(Question("Montrer et interpréter les résultats.", f"{TP8}, partie 3, Q. 8",
                                       answer + note, equations=[objective]))
    if (nine := by_source.get("9")):
        table = claims_table(nine, ctx, "The seed's statements on the number of iterations, the learning "
                                        "rate and the regularisation")
        words = "; ".join(f"{claim.statement.split(' («')[0]}: {claim.ours}"
                          + ("" if ctx.smoke else " (holds)" if claim.holds else " (does not hold)")
                          for claim in nine)
        answer = (f"One setting changed at a time, the other two as in the default run. {words}. The penalty "
                  "λ‖I‖² pulls every pixel back to the mean image, so only the pixels the score needs stay "
                  "away from it; the learning rate scales each step (the step is not normalised, unlike the "
                  f"fooling images').")
        part.questions.append(Question("Essayer de varier le nombre d'itérations et le learning rate, le "
                                       "poids de la régularisation.", f"{TP8}, partie 3, Q. 9", answer + note,
                                       [table]))
    if (ten := by_source.get("10")):
        answer = ("Starting from a photo of the class, the image already scores high for it: the ascent only "
                  "strengthens the features the network finds, and the result stays readable as the photo, "
                  f"with the class's patterns drawn over it. {ten[0].ours}. Its interest: it shows which "
                  "parts of a real image the network would amplify, and it reaches a confident image in "
                  "fewer steps.")
        part.questions.append(Question(
            "Essayer d'utiliser une image d'ImageNet comme image source au lieu d'une image aléatoire "
            "(paramètre init_img). Vous pouvez utiliser pour classe cible la classe réelle. Commenter "
            "l'intérêt.",
            f"{TP8}, partie 3, Q. 10", answer + note,
            [claims_table(ten, ctx, "The seed's statement on a photo as the start")]))
    if (eleven := by_source.get("11")) and "vgg16" in results:
        runs = results["vgg16"].metrics["runs"]
        words = "; ".join(f"from {start_text(run)}: «{run['target_name']}» {run['final_probability']:.1f} % "
                          f"after {results['vgg16'].metrics['iterations']} steps" for run in runs)
        answer = (f"VGG16, same settings: {words}. {eleven[0].ours}. VGG16's 3 × 3 convolutions stacked 13 "
                  f"deep, without SqueezeNet's 1 × 1 squeeze layers, give larger, smoother patterns.")
        part.questions.append(Question("Bonus : Essayer avec un autre réseau, par exemple VGG16.",
                                       f"{TP8}, partie 3, Q. 11", answer + note,
                                       [claims_table(eleven, ctx, "The seed's statement on VGG16")]))


# --- CAM ---------------------------------------------------------------------------------------------

def level_text(m: dict, level: float) -> str:
    return f"α = {level:g} px" if m["transform"] == "elastic" else f"× {level:g}"


def cam(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """The `cam` kind: method, the maps, the robustness tables (one row per level)."""
    first = next(iter(results.values())).metrics
    size = first["image_size"]
    part.method += [
        f"Class activation map (CAM; Zhou et al., 2016) of {network_text(first)}: ResNet-18 ends with global "
        f"average pooling of its last stage, {first['layer']} ({first['grid'][0]} × {first['grid'][1]} cells "
        "of 512 maps A_k at this image size), then one linear layer; the CAM of class c is Σ_k w_ck A_k, "
        "the maps weighted by the linear layer's weights of c, scaled to [0, 1], upsampled to the image "
        "(bilinear) and laid over it half and half with the jet colour map (TorchCAM's demo, which the seed "
        "used). Grad-CAM (Selvaraju et al., 2017) weights the maps by the spatial mean of ∂s_c/∂A_k and "
        f"keeps the positive part. " + photos_text(first) + f" Classes: {classes_text(first['photos'])}.",
    ]
    part.setup = Table(["variant", "network", "weights", "layer", "input", "changes"],
                       [Row([name, network(m), weights_text(m), m["layer"], f"3 × {size} × {size}",
                             "none" if not m.get("transform") else f"{m['transform']}: "
                             + ", ".join(level_text(m, v) for v in m["levels"])])
                        for name, r in results.items() for m in [r.metrics]])
    for name, r in results.items():
        m = r.metrics
        if not m.get("transform"):
            part.figures.append(Figure(r.file("cam.png"),
                                       f"{r.variant.id}: CAM and Grad-CAM of each photo's class"))
            part.tables.append(Table(
                ["photo", "class", "its probability (%)", "network's top-1 (%)", "CAM peak (row, column, px)",
                 "|Grad-CAM · h·w − ReLU(CAM)|, relative"],
                [Row([p["photo"], f"{p['class']} «{p['class_name']}»", pct(p["probability"], 2),
                      f"«{p['top1_name']}» {p['top1_probability']:.1f}", f"{p['peak'][0]}, {p['peak'][1]}",
                      f"{p['gradcam_identity_error']:.1e}"]) for p in m["photos"]],
                f"{name}: the CAM of each photo's class"))
            if m.get("stages"):
                part.figures.append(Figure(r.file("gradients.png"),
                                           f"{r.variant.id}: the vanilla gradient (coloured: signed, per "
                                           f"channel; grey: |·| summed over RGB) and LayerCAM at each stage"))
        else:
            tolerance = m["peak_tolerance_px"]
            columns = ["level", *(["RMS displacement (px)"] if m["transform"] == "elastic" else []),
                       "top-1 kept", "CAM peak kept", "mean peak shift (px)",
                       "CAM correlation with the original"]
            rows = [Row([level_text(m, lv["level"]),
                         *([f"{lv['displacement_rms_px']:.1f}"] if m["transform"] == "elastic" else []),
                         f"{lv['top1_kept']} of {lv['n']}", f"{lv['peak_kept']} of {lv['n']}",
                         f"{lv['peak_shift_px']:.1f}", f"{lv['correlation']:.3f}"]) for lv in m["per_level"]]
            n = len(m["copies"])
            rows.append(Row(["all levels", *([""] if m["transform"] == "elastic" else []),
                             f"{m['top1_kept']:.0f} %", f"{m['cam_peak_kept']:.0f} %",
                             f"{sum(c['peak_shift_px'] for c in m['copies']) / n:.1f}",
                             f"{m['cam_correlation']:.3f}"]))
            part.tables.append(Table(columns, rows,
                                     f"{name}: one row per level, over the {len(m['photos'])} photos (the "
                                     f"peak is kept within {tolerance:.1f} px; the CAM is of the photo's "
                                     "class)"))
            part.figures.append(Figure(r.file("cam.png"), f"{r.variant.id}: the CAM of the photo's class on "
                                                          "each changed copy (the network's top-1 above)"))
    observe_random(part, results)


def cam_claims(results: dict[str, VariantResult]) -> list[Claim]:
    claims = []
    distortion = results.get("distortion")
    contrast = results.get("contrast")
    if contrast:
        m = contrast.metrics
        claims.append(Claim("Under contrast changes the CAM is the same as the original's about 8 times in "
                            "10 («8 fois sur 10 environ la même chose que pour l'image de base»)",
                            f"{EX3}, Q4 (Contraste)",
                            f"peak kept in {m['cam_peak_kept']:.0f} % of {len(m['copies'])} copies, mean "
                            f"correlation {m['cam_correlation']:.2f}", 70 <= m["cam_peak_kept"] <= 90))
    if distortion and contrast:
        d, c = distortion.metrics, contrast.metrics
        claims.append(Claim("Distortion hurts more than contrast («sensibles aux variations d'images "
                            "notamment à la "
                            "distorsion [...] le contraste de l'image ne semble pas déranger plus que ça»)",
                            f"{EX3}, Q5",
                            f"top-1 kept: distortion {d['top1_kept']:.0f} %, contrast {c['top1_kept']:.0f} "
                            f"%; CAM peak kept: {d['cam_peak_kept']:.0f} % against {c['cam_peak_kept']:.0f} "
                            "%",
                            d["top1_kept"] < c["top1_kept"] and d["cam_peak_kept"] <= c["cam_peak_kept"]))
    if distortion:
        d = distortion.metrics
        last = d["per_level"][-1]
        claims.append(Claim("At the strongest distortion the network «ne comprend rien»",
                            f"{EX3}, Q4 (Distorsion)",
                            f"at {level_text(d, last['level'])}: top-1 kept {last['top1_kept']} of "
                            f"{last['n']}, "
                            f"CAM correlation {last['correlation']:.2f}", last["top1_kept"] == 0))
    return claims


def cam_questions(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """Seed 000, ex. 3: its questions are not in the report, only its answers' headings, which we quote."""
    note = NOTE if ctx.smoke else ""
    claims = cam_claims(results)
    if table := claims_table(claims, ctx, "The seed's statements on distortion and contrast"):
        part.tables.append(table)
    if (original := results.get("original")) and original.metrics.get("stages"):
        m = original.metrics
        stages = "; ".join(f"{s['stage']}: {s['grid'][0]} × {s['grid'][1]} cells, top 5 % of pixels hold "
                           f"{100 * s['top_share']:.1f} % of the map" for s in m["stages"])
        part.questions.append(Question(
            "Q1) Gradient Visualization : représentation graphique des gradients [...] Hierarchical Gradient "
            "Visualization : gradient visualization qui prend en compte la hiérarchie",
            f"{EX3}, Q1 (the seed's answer; the question is not in the seed)",
            "Both are section headings of pytorch-cnn-visualizations. The vanilla gradient is ∂s_c/∂x, the "
            "saliency map's gradient before the absolute value and the max over RGB: drawn in colour (each "
            "channel scaled to [0, 1]) and in grey (|·| summed over RGB, clipped at its 99th percentile). "
            "The hierarchical one is LayerCAM (Jiang et al., 2021): at any layer, ReLU(Σ_k ReLU(∂s_c/∂A_k) "
            "⊙ A_k), element by element, so that early layers give fine maps and late ones coarse, "
            "class-specific maps. "
            f"On ResNet-18's four stages: {stages}.{note}",
            equations=[equation(ctx, "layercam", LAYERCAM)]))
    if original:
        m = original.metrics
        peaks = "; ".join(f"{p['photo']} («{p['class_name']}»): peak at row {p['peak'][0]}, column "
                          f"{p['peak'][1]} "
                          f"of {m['image_size']} px, top-1 «{p['top1_name']}»" for p in m["photos"])
        part.questions.append(Question(
            "Q2) et Q3) Paramètres choisis: 516 - Cowboy hat, resnet_18, CAM",
            f"{EX3}, Q2-Q3 (the seed's answer; the question is not in the seed)",
            "The seed ran TorchCAM's demo with «516 - Cowboy hat», which is ImageNet class 515 (the menu "
            "counts from 1; class 516 is «cradle»); its photos are not available, so we use ours and their "
            f"own classes. {peaks}. For ResNet-18, Grad-CAM at {m['layer']} is the CAM up to a positive "
            "factor: global average pooling makes ∂s_c/∂A_kij = w_ck / (h·w) at every cell, so Grad-CAM's "
            f"weights are the CAM's divided by {m['grid'][0] * m['grid'][1]}, and Grad-CAM · "
            f"{m['grid'][0] * m['grid'][1]} = ReLU(CAM): measured, they differ by at most "
            f"{m['gradcam_identity_error']:.1e} of the CAM's largest value (rounding). The map marks the "
            "image regions whose features vote for the class; like the seed's (the glasses under the hat, "
            "the faces, the horse), it often "
            f"lands on what co-occurs with the class rather than on the object itself.{note}",
            equations=[equation(ctx, "cam", r"M_c = \sum_k w_{ck}\, A_k,\qquad \mathrm{GradCAM}_c = "
                                            r"\mathrm{ReLU}\left(\sum_k \alpha_k A_k\right),\ \alpha_k = "
                                            r"\frac{1}{hw}\sum_{ij}\frac{\partial s_c}{\partial A_{kij}}")]))
    robustness = [results[n].metrics for n in ("distortion", "contrast") if n in results]
    if robustness:
        words = "; ".join(f"{m['transform']} ({', '.join(level_text(m, v) for v in m['levels'])}): top-1 "
                          f"kept {m['top1_kept']:.0f} %, CAM peak kept {m['cam_peak_kept']:.0f} %, mean "
                          f"correlation {m['cam_correlation']:.2f}" for m in robustness)
        part.questions.append(Question(
            "Q4) Distorsion: [...] Contraste:", f"{EX3}, Q4 (the seed's answer's headings)",
            f"Over {len(robustness[0]['photos'])} photos and every level: {words}. The tables give each "
            "level. A contrast change keeps every edge where it was, only scaled; an elastic distortion "
            "moves pixels "
            f"and breaks the textures and shapes the filters respond to.{note}"))
        holds = [c for c in claims if "Q5" in c.source]
        if holds:
            ours = holds[0].ours
            verdict = "" if ctx.smoke else (" As the seed concludes." if holds[0].holds else
                                            " Unlike the seed's conclusion.")
            part.questions.append(Question(
                "Q5) Pour conclure [...]", f"{EX3}, Q5 (the seed's answer)",
                f"{ours[0].upper()}{ours[1:]}.{verdict} ImageNet's training photos vary in contrast and "
                "exposure far more than in geometry, and training with colour jitter makes the network "
                f"invariant to it; nothing in training bends images elastically.{note}"))


EXPERIMENTS = {"saliency": saliency_questions, "adversarial": fooling_questions,
               "class_viz": class_viz_questions,
               "cam": cam_questions}


# --- discussion ----------------------------------------------------------------------------------------

def discuss(summary: ChapterPart, results: dict[str, dict[str, VariantResult]]) -> None:
    """Discussion and conclusion from the numbers of the four experiments."""
    smoke = summary.scale == "smoke"
    paragraphs, conclusion = [], []
    if smoke:
        paragraphs.append("This run is at smoke scale: randomly initialised networks, small images, a few "
                          "steps. The maps and numbers only show that every step runs; they say nothing "
                          "about what trained networks look at.")
    if sal := results.get("saliency"):
        paragraphs.append("Saliency maps: " + "; ".join(
            f"{network(r.metrics)}'s {100 * r.metrics['salient_fraction']:g} % most salient pixels hold "
            f"{share(r.metrics['top_share'])} % of its map" for r in sal.values())
                          + ". A map is a gradient: where the score is sensitive, one pixel at a time.")
    if adv := results.get("adversarial"):
        for r in adv.values():
            m = r.metrics
            text = (f"Fooling images: {m['n_fooled']} of {m['n_photos']} photos become «{m['target_name']}» "
                    f"within {m['max_iterations']} steps")
            if m["n_fooled"]:
                text += (", changing no pixel by more than "
                         f"{max(p['linf_pixels'] for p in m['photos'] if p['fooled']):.1f}"
                         f" levels of 255")
            paragraphs.append(text + ".")
            conclusion.append(f"Fooling: {m['n_fooled']} of {m['n_photos']} photos turned into "
                              f"«{m['target_name']}».")
    if viz := results.get("class_viz"):
        claims = class_viz_claims(viz)
        if claims and not smoke:
            held = [c for c in claims if c.holds]
            verdicts = "; ".join(f"{c.statement.split(' («')[0]}: {'holds' if c.holds else 'does not hold'}"
                                 for c in claims)
            paragraphs.append(f"Class visualisation: {len(held)} of {len(claims)} of the seed's statements "
                              f"hold by our measures ({verdicts}).")
            conclusion.append(f"Class visualisation: {len(held)} of {len(claims)} of the seed's statements "
                              "hold.")
    if cams := results.get("cam"):
        if original := cams.get("original"):
            paragraphs.append(f"On ResNet-18, Grad-CAM at {original.metrics['layer']} is the CAM's positive "
                              "part up to a factor (largest relative difference "
                              f"{original.metrics['gradcam_identity_error']:.1e}): global average pooling "
                              "makes the gradient of the score the classifier's weight at "
                              f"every cell.")
        found = [cams[n].metrics for n in ("distortion", "contrast") if n in cams]
        if found:
            paragraphs.append("Robustness: " + "; ".join(
                f"under {m['transform']} the top-1 class survives in {m['top1_kept']:.0f} % of the copies "
                f"and the CAM's peak in {m['cam_peak_kept']:.0f} %" for m in found)
                              + (" (the seed: about 80 % for contrast)." if "contrast" in cams else "."))
            conclusion.append("CAM peak kept: " + ", ".join(f"{m['transform']} {m['cam_peak_kept']:.0f} %"
                                                            for m in found) + ".")
    if smoke:
        conclusion.append("Smoke scale: random networks; no real numbers yet.")
    summary.discussion += paragraphs
    summary.conclusion += conclusion
