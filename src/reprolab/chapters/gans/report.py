"""The report part of chapter `gans`: the method and networks of the GANs, their scores ranked, what the
logged losses say about stability, the grids, the questions of seed 003 TP 9-10, the discussion.

Every number is computed: parameters from the built networks, losses from each run's `steps.csv`
(every optimizer update) and `history.csv`, scores from `metrics.json` (the FID against held-out
faces, the MNIST classifier's accuracy on generated digits, diversity, noise). Training is called
unstable from the losses of the last half of the updates: D's loss under 0.1 for at least half of
them (D wins), G's loss above 6 for at least half (the seed's threshold), or G's loss swinging more
than its median (interquartile range above the median). Nothing about stability or quality is
claimed at smoke scale or under 5 epochs (`parts.NOT_ENOUGH_EPOCHS`).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from reprolab import figures  # noqa: E402
from reprolab.models import build_model  # noqa: E402
from reprolab.models.gans import Inputs  # noqa: E402
from reprolab.report import method  # noqa: E402
from reprolab.report.generic import Claim, claims_table  # noqa: E402
from reprolab.report.parts import (  # noqa: E402
    NOT_ENOUGH_EPOCHS,
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
)

SOURCE = "seed 003, TP 9-10"
D_NEAR_ZERO, G_HIGH, SHARE = 0.1, 6.0, 50.0  # loss thresholds (as jobs.loss_statistics's), share (%)
MODE_COLLAPSE = 0.5  # diversity (generated / real mean distance) under which the samples collapse
SMOKE_FID = ("At smoke scale the Inception network has random weights (no download): the «FID» only "
             "exercises the code.")


# ------------------------------------------------------------------------------------------ reading

def seed_dir(r: VariantResult) -> Path:
    """The folder of the variant's first seed (its grids and loss curves are that seed's)."""
    return Path(r.folder) / f"seed{r.variant.seeds[0]}"


def per_step(r: VariantResult) -> pd.DataFrame:
    """The first seed's losses per step (one batch: d_steps D updates then g_steps G updates), the
    mean of each network's updates of the step: columns step (1..), d, g."""
    steps = pd.read_csv(seed_dir(r) / "steps.csv")
    steps["step"] = steps.groupby(["epoch", "batch"], sort=False).ngroup() + 1
    table = steps.pivot_table(index="step", columns="network", values="loss", aggfunc="mean")
    return pd.DataFrame({"step": table.index, "d": table["discriminator"].to_numpy(),
                         "g": table["generator"].to_numpy()})


def judged(r: VariantResult, ctx_smoke: bool) -> bool:
    """Whether a run is long enough to judge its stability (not at smoke scale, at least 5 epochs)."""
    return enough_epochs(r.history, ctx_smoke)


def troubles(m: dict) -> list[str]:
    """What the last half of a run's updates shows, in words (empty: no sign of instability)."""
    found = []
    if m.get("d_loss_near_zero", 0) >= SHARE:
        found.append(f"D's loss collapses to about 0 (under {D_NEAR_ZERO:g} in {m['d_loss_near_zero']:.0f} % "
                     "of "
                     "its last updates): D wins")
    if m.get("g_loss_above_6", 0) >= SHARE:
        found.append(f"G's loss stays above {G_HIGH:g} ({m['g_loss_above_6']:.0f} % of its last updates)")
    if m.get("g_loss_iqr_end", 0) > m.get("g_loss_median_end", math.inf):
        found.append(f"G's loss swings more than its median (interquartile range {m['g_loss_iqr_end']:.2f}, "
                     f"median {m['g_loss_median_end']:.2f})")
    if m.get("diversity") is not None and m["diversity"] < MODE_COLLAPSE:
        found.append(f"the samples are {m['diversity']:.2f} times as varied as real ones: mode collapse")
    return found


def stability(r: VariantResult, smoke: bool) -> str:
    if not judged(r, smoke):
        return NOT_ENOUGH_EPOCHS
    found = troubles(r.metrics)
    return "unstable: " + "; ".join(found) if found else "stable: no collapse of either loss"


def score_of(r: VariantResult) -> tuple[str, float, str]:
    """The variant's score: (name in words, value, direction)."""
    if r.metrics.get("score") == "fid":
        return "FID", r.metrics["test_fid"], "min"
    return "classifier accuracy (%)", r.metrics["class_acc"], "max"


def ranked(results: dict[str, VariantResult]) -> list[VariantResult]:
    """The variants from best to worst score."""
    scored = list(results.values())
    return sorted(scored, key=lambda r: score_of(r)[1] * (1 if score_of(r)[2] == "min" else -1))


def fid(r: VariantResult) -> float:
    return r.metrics["test_fid"]


def seconds_per_step(r: VariantResult) -> float | None:
    h, steps = r.history, r.metrics.get("steps")
    if h is None or not steps or "seconds" not in h:
        return None
    return float(h.loc[h["epoch"] >= 1, "seconds"].sum()) / steps


# ------------------------------------------------------------------------------------------ method

def networks(r: VariantResult):
    """The variant's generator and discriminator, built from its settings, ready to walk on one
    example (conditional networks take `{"noise" | "image": ..., "label": ...}`), with input shapes."""
    p, m = r.variant.params, r.metrics
    model = build_model(p["model"], **p.get("model_options", {}))
    g, d = model.generator, model.discriminator
    image = m.get("image_shape") or [1, 32, 32]
    if p.get("task_options", {}).get("conditional"):
        classes = g.classes
        return ((Inputs(g, "noise"), {"noise": [g.nz], "label": [classes]}),
                (Inputs(d, "image"), {"image": image, "label": [classes]}))
    return (g, [g.nz]), (d, image)


def network_tables(results: dict[str, VariantResult]) -> list[Table]:
    """G and D layer by layer, once per distinct network (model and options)."""
    groups: dict[str, list[str]] = {}
    first: dict[str, VariantResult] = {}
    for name, r in results.items():
        key = repr((r.variant.params["model"], sorted((r.variant.params.get("model_options") or {}).items()),
                    r.metrics.get("image_shape")))
        groups.setdefault(key, []).append(name)
        first.setdefault(key, r)
    tables = []
    for key, names in groups.items():
        r = first[key]
        which = ("every variant" if len(names) == len(results) > 1
                 else ("variant " if len(names) == 1 else "variants ") + ", ".join(names))
        title = method.model_title(r.variant.params["model"])
        for (net, shape), role in zip(networks(r), ("generator", "discriminator"), strict=True):
            tables.append(method.network_table(net, shape, f"{title}: the {role} layer by layer ({which})"))
    return tables


def steps_words(p: dict) -> str:
    o = p.get("task_options", {})
    d, g = int(o.get("d_steps", 1)), int(o.get("g_steps", 1))
    return (f"{d} D update{'s' if d > 1 else ''}" + (" (each on its own real batch)" if d > 1 and o.get(
        "fresh_batches") else "") + f" then {g} G update{'s' if g > 1 else ''}")


def real_batch(p: dict) -> int:
    """Real images per D update: the batch, cut in d_steps parts with `fresh_batches`."""
    o = p.get("task_options", {})
    return int(p["batch_size"]) // (int(o.get("d_steps", 1)) if o.get("fresh_batches") else 1)


def score_words(r: VariantResult) -> str:
    m, p = r.metrics, r.variant.params
    if m.get("score") == "fid":
        return (f"the FID between {m['fid_samples']:,} generated images and as many held-out test images "
                f"(Inception-v3 pool features, images resized to {m['fid_image_size']} px; weights: "
                f"{m['fid_weights']}), beside the FID between as many training and test images, the floor "
                "at that sample size; and the diversity: the mean distance between two generated images over "
                "that between two real ones")
    return (f"the accuracy of the CNN the mnist chapter trained ({p['classifier']}, first seed; not trained "
            f"again) on {m['scored_per_class']:,} "
            "generated digits per class (centre-cropped back to 28×28), beside its accuracy on the real "
            "test digits; the diversity per class (mean distance between two generated digits of a class "
            "over "
            "that between two real ones); the isolated-pixel noise")


def conditional(params: dict) -> bool:
    return bool(params.get("task_options", {}).get("conditional"))


def aspects(r: VariantResult) -> dict[str, str]:
    p, m = r.variant.params, r.metrics
    shape = m.get("image_shape") or []
    data = (f"{method.dataset_name(p['dataset'])}: {m.get('n_train', 0):,} training images"
            + (f" (the last {m['n_val']:,} of the training split held out)" if m.get("n_val") else "")
            + f" and {m.get('n_test', 0):,} held-out test images; images "
            + (f"padded by {p['pad']} px to " if p.get("pad") else "") + " × ".join(map(str, shape))
            + ", scaled to [−1, 1]")
    return {
        "data": data,
        "network": f"{method.model_title(p['model'])} (G {fmt(m.get('params_generator'))}, "
                   f"D {fmt(m.get('params_discriminator'))} parameters, noise of {m.get('latent_dim')} values"
                   + (", both networks given the one-hot label" if conditional(p) else "") + ")",
        "optimiser": method.optimizer_words(p.get("optimizer", {}), p.get("scheduler")) + " for each network",
        "batch": f"{real_batch(p)} real images per D update",
        "step": f"one step is {steps_words(p)}, each with fresh noise",
        "epochs": f"{p['epochs']} epochs ({fmt(m.get('steps'))} steps)",
        "seeds": method.seeds_words(r.variant.seeds),
        "score": score_words(r),
    }


TRAINING = ("optimiser", "batch", "step", "epochs", "seeds")  # the training paragraph's aspects
NAMES = {"data": "the data", "network": "the networks", "optimiser": "the optimiser", "batch": "the batch",
         "step": "the update ratio", "epochs": "the number of epochs and steps", "seeds": "the seeds",
         "score": "the scores"}


def gan_method(results: dict[str, VariantResult]) -> list[str]:
    """Data, networks, training and scores in words: what every variant shares said once."""
    described = [aspects(r) for r in results.values()]
    shared = {k: v for k, v in described[0].items() if all(d[k] == v for d in described)}
    varying = [NAMES[k] for k in described[0] if k not in shared]
    paragraphs = [f"Data: {shared['data']}." if "data" in shared else "",
                  f"Networks: {shared['network']}; layer by layer in the tables below." if "network" in shared
                  else "Networks: one per variant (setup table), layer by layer in the tables below.",
                  "Training: binary cross-entropy on D's logits; D minimises −[log D(x) + log(1 − D(G(z)))] "
                  "over a real and a generated batch, G minimises −log D(G(z)) (the non-saturating loss); "
                  + "; ".join(shared[k] for k in TRAINING if k in shared)
                  + ".",
                  f"Scores (ours; the seed only looked at the pictures): {shared['score']}."
                  if "score" in shared else ""]
    if varying:
        paragraphs.append(f"What varies between the variants (setup table): {'; '.join(varying)}.")
    return [p for p in paragraphs if p]


SETUP = ["variant", "networks", "parameters G / D", "optimiser", "real images per D update", "D / G updates "
                                                                                             "per step",
         "epochs", "steps", "seeds"]


def setup_row(r: VariantResult) -> Row:
    p, m = r.variant.params, r.metrics
    o = p.get("task_options", {})
    return Row([r.name, method.model_title(p["model"]),
                f"{fmt(m.get('params_generator'))} / {fmt(m.get('params_discriminator'))}",
                method.optimizer_words(p.get("optimizer", {}), p.get("scheduler")), str(real_batch(p)),
                f"{o.get('d_steps', 1)} / {o.get('g_steps', 1)}", str(p["epochs"]), fmt(m.get("steps")),
                ", ".join(map(str, r.variant.seeds))])


# ------------------------------------------------------------------------------------------ figures

def loss_figure(results: dict[str, VariantResult], path: Path, title: str) -> Path:
    """One panel per variant: D's and G's loss at every step (the mean of the step's updates of each),
    light, and their moving average over a fiftieth of the run, dark."""
    n = len(results)
    cols = 2 if n > 1 else 1
    rows = -(-n // cols)
    height = 2.8 * rows
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, height), squeeze=False)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.5 / height, top=1 - 0.5 / height, hspace=0.6,
                        wspace=0.2)
    for ax, (name, r) in zip(axes.flat, results.items(), strict=False):
        losses = per_step(r)
        window = max(1, len(losses) // 50)
        for column, label, color in (("d", "D", figures.PALETTE(0)), ("g", "G", figures.PALETTE(3))):
            ax.plot(losses["step"], losses[column], color=color, alpha=0.25, lw=0.6)
            ax.plot(losses["step"], losses[column].rolling(window, min_periods=1).mean(), color=color, lw=1.4,
                    label=f"{label} loss")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step (one batch)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=figures.DPI)  # fixed margins: a tight bounding box costs a second per figure
    plt.close(fig)
    return path


def accuracy_figure(results: dict[str, VariantResult], path: Path) -> Path | None:
    """The classifier's accuracy on the fixed 10x10 grid after each epoch, one curve per variant."""
    curves = {name: r.metrics["grid_class_acc"] for name, r in results.items()
              if r.metrics.get("grid_class_acc")}
    if not curves:
        return None
    histories = {name: pd.DataFrame({"epoch": range(len(acc)), "acc": acc}) for name, acc in curves.items()}
    return figures.overlay(histories, "acc", path, "Classifier accuracy on the fixed grid (100 digits, 10 "
                                                   "per "
                           "class) after each epoch", "accuracy (%)")


# ------------------------------------------------------------------------------------------ summariser

def scores_table(results: dict[str, VariantResult], smoke: bool) -> Table:
    """The variants ranked by their score, with what the losses say about their training."""
    fid = all(r.metrics.get("score") == "fid" for r in results.values())
    scored = (["FID (test)", "FID (train)", "FID train/test (floor)", "diversity"] if fid
              else ["classifier acc. (%)", "on real digits (%)", "diversity", "noise / real"])
    columns = ["rank", "variant", *scored, "D loss, median", "G loss, median", f"D < {D_NEAR_ZERO:g} (%)",
               f"G > {G_HIGH:g} (%)", "training"]
    rows = []
    for rank, r in enumerate(ranked(results), 1):
        m = r.metrics
        if fid:
            cells = [fmt(m["test_fid"], m.get("test_fid_std")), fmt(m["train_fid"]), fmt(m["fid_real"]),
                     fmt(m.get("diversity"))]
        else:
            ratio = m["speckle"] / m["real_speckle"] if m.get("real_speckle") else None
            cells = [fmt(m["class_acc"], m.get("class_acc_std")), fmt(m["real_class_acc"]),
                     fmt(m["diversity"]), fmt(ratio)]
        cells += [fmt(m["d_loss_median_end"], digits=3), fmt(m["g_loss_median_end"], digits=3),
                  fmt(m["d_loss_near_zero"], digits=0), fmt(m["g_loss_above_6"], digits=0),
                  stability(r, smoke)]
        rows.append(Row([str(rank), r.name, *cells]))
    return Table(columns, rows, "The variants ranked by their score, and their losses over the last half of "
                                "the updates (first seed)")


def gan(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """The `gan` kind's summariser: method, networks, scores ranked, stability, grids and losses."""
    ours = {str(Path(r.folder) / "curves.png") for r in results.values()}
    part.figures = [f for f in part.figures if f.path not in ours]  # the generic accuracy curves: not a GAN's
    table = part.results
    if table is not None and len(table.columns) > 2 and table.columns[1] == table.columns[2]:
        # a score without a train counterpart: the classifier's accuracy on real digits beside it instead
        table.columns[2] = "classifier on real test digits (%)"
        for row, r in zip(table.rows, results.values(), strict=False):
            row.cells[2] = fmt(r.metrics.get("real_class_acc"))
    part.method += gan_method(results)
    part.setup = method.setup_table(SETUP, [setup_row(r) for r in results.values()])
    part.method_tables += network_tables(results)
    part.tables.append(scores_table(results, ctx.smoke))
    for r in results.values():
        epochs = int(r.metrics["epochs"])
        part.figures.append(Figure(r.file("samples.png"), f"{r.variant.id}: the fixed noise batch"
                                   + (", one row per digit," if conditional(r.variant.params) else "")
                                   + f" after the first and the last epoch ({epochs}), seed "
                                     f"{r.variant.seeds[0]}"))
        part.figures.append(Figure(r.file("evolution.png"), f"{r.variant.id}: the same noise (the first "
                                                            "sample of "
                                   "each row) from epoch 0, the untrained generator, to epoch " f"{epochs}"))
    part.figures.append(Figure(str(loss_figure(results, ctx.figures_dir / f"{part.name}_losses.png",
                                               f"{part.name}: D and G losses at every step")),
                               f"{part.name}: D's and G's losses at every step (first seed), and their "
                               "moving "
                               "average"))
    if path := accuracy_figure(results, ctx.figures_dir / f"{part.name}_grid_accuracy.png"):
        part.figures.append(Figure(str(path), f"{part.name}: the classifier's accuracy on the fixed grid "
                                              "after "
                                   "each epoch (epoch 0: the untrained generator)"))
    part.observations += observations(results, ctx)


def observations(results: dict[str, VariantResult], ctx: Context) -> list[str]:
    order = ranked(results)
    name, _, direction = score_of(order[0])
    better = "lower" if direction == "min" else "higher"
    notes = [f"Ranked by {name} ({better} is better): "
             + ", ".join(f"{r.name} {score_of(r)[1]:.2f}" for r in order) + "."]
    first = order[0].metrics
    if first.get("score") == "fid":
        notes.append(f"{first['fid_samples']:,} generated and {first['fid_samples']:,} test images per FID; "
                     "two "
                     f"real sets of that size (training against test images) are {first['fid_real']:.2f} "
                     "apart, "
                     "the best a generator can do at this sample size.")
        if ctx.smoke:
            notes.append(SMOKE_FID)
    else:
        notes.append(f"The classifier recognises {first['real_class_acc']:.2f} % of the real test digits; "
                     "chance "
                     f"is {100 / first['n_classes']:.0f} %.")
    if not any(judged(r, ctx.smoke) for r in results.values()):
        notes.append(f"Stability of the trainings: {NOT_ENOUGH_EPOCHS}"
                     + (" at smoke scale." if ctx.smoke else " (fewer than 5 epochs)."))
    else:
        notes += [f"{r.name}: {stability(r, ctx.smoke)}." for r in results.values()]
    return notes


# ------------------------------------------------------------------------------------------ questions

def _equations(ctx: Context, name: str, texs: list[str]) -> list[str]:
    folder = Path(ctx.figures_dir)
    return [str(figures.equation(tex, folder / f"{name}_{i}.svg")) for i, tex in enumerate(texs)]


def history_value(r: VariantResult, column: str, epoch: int) -> float | None:
    h = r.history
    if h is None or column not in h:
        return None
    found = h.loc[h["epoch"] == epoch, column]
    return float(found.iloc[0]) if len(found) else None


def q_equations(results: dict[str, VariantResult], ctx: Context) -> Question:
    r = results.get("default") or next(iter(results.values()))
    m = r.metrics
    answer = ("Equation (7) trains D to tell real images from generated ones: it is maximal, 0, when D says "
              "1 "
              "on every real image and 0 on every generated one; our D loss is its negative, the binary "
              "cross-entropy −[log D(x) + log(1 − D(G(z)))] over a real and a generated batch. Equation (6) "
              "trains G to make D say «real» on its images; our G loss is −log D(G(z)). "
              f"Before any update ({r.name}), D gives {m['initial_d_real']:.3f} on real and "
              f"{m['initial_d_fake']:.3f} on generated images, so its loss is {m['initial_d_loss']:.3f} "
              f"(2 ln 2 = {2 * math.log(2):.3f}) and G's {m['initial_g_loss']:.3f} (ln 2 = "
              f"{math.log(2):.3f}). "
              "With (7) alone G never moves: D learns to reject its fixed outputs, its loss goes to 0 and "
              "nothing "
              "is generated. With (6) alone D stays as initialised: G learns to please a random judge, and "
              "nothing pulls its images towards faces. Each network is the other's training signal.")
    return Question("Interprétez les équations (6) et (7). Que se passe-t-il si on utilisait seulement une "
                    "des "
                    "deux ?", f"{SOURCE}, Q. 1", answer, equations=_equations(ctx, "gans_q1", [
                        r"(6)\quad \max_G\ \mathbb{E}_{z\sim P(z)}\left[\log D(G(z))\right]",
                        r"(7)\quad \max_D\ \mathbb{E}_{x^*\sim P(X)}\left[\log D(x^*)\right] + "
                        r"\mathbb{E}_{z\sim P(z)}\left[\log\left(1 - D(G(z))\right)\right]"]))


def q_distribution(results: dict[str, VariantResult], ctx: Context) -> Question:
    r = results.get("default") or next(iter(results.values()))
    m = r.metrics
    values = math.prod(m["image_shape"])
    answer = (f"G maps the noise distribution P(z), a standard normal in {m['latent_dim']} dimensions, to a "
              f"distribution over images of {' × '.join(map(str, m['image_shape']))} = {values:,} values; "
              "ideally "
              "that distribution is P(X), the distribution of the real images, so that a sample of G cannot "
              "be "
              "told from a real one. The FID measures how far the two are, through Gaussians fitted to "
              "Inception "
              f"features: for {r.name}, {m['test_fid']:.2f} between {m['fid_samples']:,} generated and as "
              "many test "
              f"images, against {m['fid_real']:.2f} between two real sets of that size.")
    return Question("Idéalement, en quoi le générateur G transforme la distribution P(z) ?",
                    f"{SOURCE}, Q. 2", answer + (" " + SMOKE_FID if ctx.smoke else ""))


def q_saturation(results: dict[str, VariantResult], ctx: Context) -> Question:
    lows = {}
    for name, r in results.items():
        h = r.history
        if h is not None and "train_d_fake" in h:
            trained = h[h["epoch"] >= 1]
            lows[name] = float(trained["train_d_fake"].min())
    answer = ("The «true» objective of G in the minimax game (5) is to minimise E[log(1 − D(G(z)))]. With s "
              "D's logit and D = σ(s), the gradient of log(1 − σ(s)) with respect to s is −σ(s) = −D(G(z)): "
              "it "
              "vanishes exactly when D rejects the generated images, early in training, and G stops "
              "learning. "
              "The gradient of −log σ(s), equation (6), is −(1 − D(G(z))): close to −1 then.")
    if lows:
        worst = min(lows, key=lows.get)
        d = lows[worst]
        answer += (f" In our runs the mean D(G(z)) of an epoch falls as low as {d:.3f} ({worst}): there the "
                   f"saturating loss would pass G a gradient {d:.3f} per image on the logit, the "
                   "non-saturating one "
                   f"{1 - d:.3f}: {(1 - d) / max(d, 1e-12):.1f} times as much.")
    return Question("Notez que l'équation (6) n'est pas directement dérivée de l'équation 5. [...] Quelle "
                    "aurait "
                    "dû être la \"vraie\" équation ici ?", f"{SOURCE}, Q. 3",
                    answer + (" At smoke scale these numbers say nothing." if ctx.smoke else ""),
                    equations=_equations(ctx, "gans_q3", [
                        r"\min_G\ \mathbb{E}_{z\sim P(z)}\left[\log\left(1 - D(G(z))\right)\right]"]))


def run_words(r: VariantResult) -> str:
    """One run's losses, D's outputs, the change of its grid and its score, in words."""
    m, h = r.metrics, r.history
    last = h[h["epoch"] == h["epoch"].max()].iloc[0] if h is not None else None
    change = m.get("grid_change") or []
    words = (f"{r.name}: {fmt(m.get('steps'))} steps; D's loss from {m['d_loss_first']:.3f} at the first "
             "update "
             f"to a median of {m['d_loss_median_end']:.3f} over the last half (interquartile range "
             f"{m['d_loss_iqr_end']:.3f}), G's from {m['g_loss_first']:.3f} to {m['g_loss_median_end']:.3f} "
             f"({m['g_loss_iqr_end']:.3f})")
    if last is not None:
        words += (f"; at the last epoch D gives {last['train_d_real']:.2f} on real and "
                  f"{last['train_d_fake']:.2f} "
                  "on generated images")
    if len(change) > 1:
        words += (f"; the fixed batch's pixels change by {change[0]:.3f} in epoch 1 and {change[-1]:.3f} in "
                  "the "
                  "last epoch")
    name, value, _ = score_of(r)
    words += f"; {name} {value:.2f}"
    if m.get("diversity") is not None:
        words += f", diversity {m['diversity']:.2f}"
    return words


def q_default(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    r = results.get("default")
    if r is None:
        return None
    answer = run_words(r) + ". "
    if judged(r, ctx.smoke):
        found = troubles(r.metrics)
        answer += ("The losses do not converge to a value, as the seed saw: they trade places as each "
                   "network "
                   "adapts to the other; " + ("; ".join(found) if found else "neither collapses")
                   + ". The evolution figure shows the same noise from epoch 0 to the last.")
    else:
        answer += f"Stability and quality: {NOT_ENOUGH_EPOCHS} at smoke scale." if ctx.smoke else \
            f"Stability and quality: {NOT_ENOUGH_EPOCHS} (fewer than 5 epochs)."
    return Question("Commentez l'apprentissage du GAN avec les hyperparamètres proposés par défaut "
                    "(évolution des "
                    "générations, de la loss, stabilité, diversité des images, etc.)", f"{SOURCE}, Q. 4",
                    answer)


def q_variants(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    base = results.get("default")
    others = {n: r for n, r in results.items() if n != "default"}
    if base is None or not others:
        return None
    notes = []
    for name, r in others.items():
        m, speed, base_speed = r.metrics, seconds_per_step(r), seconds_per_step(base)
        note = (f"{name}: FID {m['test_fid']:.2f} ({m['test_fid'] - base.metrics['test_fid']:+.2f} against "
                "default), diversity "
                f"{m['diversity']:.2f}, losses over the last half D {m['d_loss_median_end']:.3f}, G "
                f"{m['g_loss_median_end']:.3f}")
        if speed and base_speed:
            note += f", {speed / base_speed:.1f} times default's time per step"
        note += f"; {stability(r, ctx.smoke)}"
        notes.append(note)
    answer = "; ".join(notes) + "."
    if ctx.smoke:
        answer += " " + SMOKE_FID
    return Question("Commentez les diverses expériences complémentaires que vous avez réalisées (consignes "
                    "ci-dessus), comment influe-t-elle sur la qualité de l'apprentissage (vitesse, "
                    "stabilité, "
                    "évolution de la loss, qualité visuelle, diversité des générations, etc.)",
                    f"{SOURCE}, Q. 5",
                    answer, [t for t in [dcgan_claims(results, ctx)] if t])


def dcgan_claims(results: dict[str, VariantResult], ctx: Context) -> Table | None:
    base = results.get("default")
    if base is None:
        return None
    fid = base.metrics["test_fid"]
    claims = []
    if r := results.get("beta1_0.9"):
        m = r.metrics
        claims += [
            Claim("«on obtient le résultat plus mauvais que 0.5»", f"{SOURCE}, Q. 5 (1)",
                  f"FID {m['test_fid']:.2f} against default's {fid:.2f}", m["test_fid"] > fid),
            Claim("«Loss de discriminateur est souvent presque nul»", f"{SOURCE}, Q. 5 (1)",
                  f"D's loss under {D_NEAR_ZERO:g} in {m['d_loss_near_zero']:.0f} % of its last half's "
                  "updates",
                  m["d_loss_near_zero"] >= SHARE),
            Claim("«la loss du générateur est toujours élevée (la plupart est supérieur à 6)»",
                  f"{SOURCE}, Q. 5 (1)",
                  f"G's loss above {G_HIGH:g} in {m['g_loss_above_6']:.0f} % of its last half's updates",
                  m["g_loss_above_6"] >= SHARE)]
    if r := results.get("g5_d1"):
        m = r.metrics
        claims += [
            Claim("«On obtient de mauvaises images aussi»", f"{SOURCE}, Q. 5 (2)",
                  f"FID {m['test_fid']:.2f} against default's {fid:.2f}", m["test_fid"] > fid),
            Claim("«la loss du générateur est très petite»", f"{SOURCE}, Q. 5 (2)",
                  f"G's median loss {m['g_loss_median_end']:.3f} against default's "
                  f"{base.metrics['g_loss_median_end']:.3f}",
                  m["g_loss_median_end"] < base.metrics["g_loss_median_end"])]
    if r := results.get("d5_g1"):
        m = r.metrics
        best = min(results.values(), key=lambda x: x.metrics["test_fid"]).name
        claims.append(Claim("«Les images générées sont de bonne qualité, on peut distinguer les visages»",
                            f"{SOURCE}, Q. 5 (3)", f"FID {m['test_fid']:.2f} against default's {fid:.2f}; "
                                                   f"best: {best}",
                            m["test_fid"] < fid))
    return claims_table(claims, ctx, "The seed's statements on the variants, checked against our scores and "
                                     "losses")


def dcgan_celeba(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    found = [q_equations(results, ctx), q_distribution(results, ctx), q_saturation(results, ctx),
             q_default(results, ctx), q_variants(results, ctx)]
    part.questions += [q for q in found if q is not None]


def q_conditional_objective(results: dict[str, VariantResult], ctx: Context) -> Question:
    r = next(iter(results.values()))
    answer = (f"G and D both take the label y, one-hot over {r.metrics['n_classes']} classes: G(z, y) must "
              "draw a "
              "digit of class y, D(x, y) must say whether x is a real image of class y. The generated batch "
              "takes "
              "the labels of the real batch it is judged with, so the classes come with their real "
              "frequencies; "
              "our losses are those of the unconditional GAN with y passed to both networks.")
    return Question("Formellement dans le cas cGAN, quel est le problème qu'on cherche à optimiser ?",
                    f"{SOURCE}, Q. 6", answer, equations=_equations(ctx, "gans_q6", [
                        r"\min_G \max_D\ \mathbb{E}_{x,y\sim P_{data}}\left[\log D(x,y)\right] + "
                        r"\mathbb{E}_{y\sim P_y,\,z\sim P_z}\left[\log\left(1 - D(G(z,y),y)\right)\right]"]))


def grid_words(r: VariantResult) -> str:
    acc = r.metrics.get("grid_class_acc") or []
    if len(acc) < 2:
        return ""
    best = int(np.argmax(acc))
    return (f"; on the fixed 10×10 grid the classifier recognises {acc[0]:.0f} % of the digits before "
            "training, "
            f"{acc[1]:.0f} % after epoch 1 and {acc[-1]:.0f} % after the last epoch (best: epoch {best}, "
            f"{acc[best]:.0f} %)")


def cgan_words(r: VariantResult) -> str:
    m = r.metrics
    return (f"{r.name}: the classifier recognises {m['class_acc']:.2f} % of its generated digits (real "
            "digits "
            f"{m['real_class_acc']:.2f} %), diversity {m['diversity']:.2f} (lowest class "
            f"{int(np.nanargmin(m['diversity_per_class']))}: {np.nanmin(m['diversity_per_class']):.2f}), "
            "isolated-"
            f"pixel noise {m['speckle']:.4f} against {m['real_speckle']:.4f} for real digits" + grid_words(r))


def q_cdcgan(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    r = results.get("cdcgan")
    if r is None:
        return None
    answer = cgan_words(r) + f"; {stability(r, ctx.smoke)}."
    return Question("Commentez vos expériences avec le DCGAN conditionnel", f"{SOURCE}, Q. 10",
                    answer + (" At smoke scale these numbers say nothing." if ctx.smoke else ""))


def q_without_label(results: dict[str, VariantResult], ctx: Context) -> Question:
    accs = {n: r.metrics["class_acc"] for n, r in results.items()}
    chance = 100 / next(iter(results.values())).metrics["n_classes"]
    answer = ("No. D is G's only teacher: if D does not see y, any realistic digit fools it whatever its "
              "label, "
              "nothing in G's loss rewards drawing the asked class, and the label becomes one more noise "
              "input. "
              "What our runs show is the other side: with y given to D, the classifier reads the asked class "
              "in "
              + ", ".join(f"{a:.2f} % of {n}'s digits" for n, a in accs.items())
              + f", where a generator that ignores y would score chance, {chance:.0f} %. (We did not train a "
                "D "
              "without y.)")
    return Question("Pourrait-on enlever le vecteur y des entrées du discriminateur (c'est-à-dire avoir "
                    "cD(x) et "
                    "non cD(x, y)) ?", f"{SOURCE}, Q. 11",
                    answer + (" At smoke scale these numbers say nothing." if ctx.smoke else ""))


def q_cgan(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    r = results.get("cgan_mlp")
    if r is None:
        return None
    answer = cgan_words(r) + f"; {stability(r, ctx.smoke)}. Its last grid is in the figures above."
    return Question("Commentez vos expériences avec le GAN conditionnel, reportez la meilleure génération de "
                    "chiffres conditionnés", f"{SOURCE}, Q. 12",
                    answer + (" At smoke scale these numbers say nothing." if ctx.smoke else ""))


def q_why_harder(results: dict[str, VariantResult], ctx: Context) -> Question | None:
    conv, mlp = results.get("cdcgan"), results.get("cgan_mlp")
    if conv is None or mlp is None:
        return None
    c, f = conv.metrics, mlp.metrics
    answer = ("A convolution applies the same small filter at every position of the image: the generator "
              "builds strokes from local patterns that hold anywhere, and neighbouring pixels are made "
              "together. "
              "A fully connected layer gives each output pixel its own weights and knows nothing of which "
              "pixels "
              "are neighbours: it must learn every stroke at every place from the data, and nothing ties a "
              "pixel "
              f"to its neighbours, hence speckled digits. Ours: cDCGAN's generator has "
              f"{c['params_generator']:,} parameters, the MLP's {f['params_generator']:,}; the classifier "
              f"recognises {c['class_acc']:.2f} % of cDCGAN's digits and {f['class_acc']:.2f} % of the "
              "MLP's; "
              f"isolated-pixel noise {c['speckle']:.4f} against {f['speckle']:.4f} (real digits "
              f"{c['real_speckle']:.4f}).")
    return Question("Il est relativement plus difficile de générer des chiffres conditionnés avec un cGAN "
                    "qu'avec "
                    "un cDCGAN, pourquoi ?", f"{SOURCE}, Q. 13",
                    answer + (" At smoke scale these numbers say nothing." if ctx.smoke else ""))


def cgan_claims(results: dict[str, VariantResult], ctx: Context) -> Table | None:
    claims = []
    for name in ("cdcgan", "cgan_mlp"):
        acc = (results[name].metrics.get("grid_class_acc") or []) if name in results else []
        if len(acc) > 1:
            claims.append(Claim("«plus le nombre d'itérations augmente, plus les chiffres générés deviennent "
                                "réalistes»", f"{SOURCE}, Q. {10 if name == 'cdcgan' else 12}",
                                f"{name}: classifier accuracy on the fixed grid {acc[1]:.0f} % after epoch "
                                "1, "
                                f"{acc[-1]:.0f} % after the last", acc[-1] > acc[1]))
    if "cdcgan" in results and "cgan_mlp" in results:
        c, f = results["cdcgan"], results["cgan_mlp"]
        claims.append(Claim("«les résultats de cGAN ont plus de bruit»", f"{SOURCE}, Q. 12",
                            f"isolated-pixel noise {f.metrics['speckle']:.4f} (cGAN) against "
                            f"{c.metrics['speckle']:.4f} (cDCGAN)",
                            f.metrics["speckle"] > c.metrics["speckle"]))
        fast, slow = seconds_per_step(f), seconds_per_step(c)
        if fast and slow:
            claims.append(Claim("«ils ont un temps de formation plus court»", f"{SOURCE}, Q. 12",
                                f"{1000 * fast:.1f} ms per step (cGAN) against {1000 * slow:.1f} ms (cDCGAN)",
                                fast < slow))
    return claims_table(claims, ctx,
                        "The seed's statements on the conditional GANs, checked against our runs")


def cgan_mnist(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    found = [q_conditional_objective(results, ctx), q_cdcgan(results, ctx), q_without_label(results, ctx),
             q_cgan(results, ctx), q_why_harder(results, ctx)]
    part.questions += [q for q in found if q is not None]
    if claims := cgan_claims(results, ctx):
        part.questions[-1].tables.append(claims)


EXPERIMENTS = {"dcgan_celeba": dcgan_celeba, "cgan_mnist": cgan_mnist}


# ------------------------------------------------------------------------------------------ discussion

def discuss(summary: ChapterPart, results: dict[str, dict[str, VariantResult]]) -> None:
    """The variants ranked, the unstable ones named from their losses, the seed's view checked; the
    conclusion."""
    smoke = summary.scale == "smoke"
    for experiment in ("dcgan_celeba", "cgan_mnist"):
        runs = results.get(experiment)
        if not runs:
            continue
        order = ranked(runs)
        name, _, direction = score_of(order[0])
        text = (f"{experiment}, from best to worst {name} ({'lower' if direction == 'min' else 'higher'} is "
                "better): " + ", ".join(f"{r.name} {score_of(r)[1]:.2f}" for r in order) + ". ")
        if all(judged(r, smoke) for r in runs.values()):
            unstable = {r.name: troubles(r.metrics) for r in order if troubles(r.metrics)}
            text += ("Unstable from the logged losses: " + "; ".join(f"{n} ({', '.join(t)})"
                                                                    for n, t in unstable.items())
                     if unstable else "No run's losses collapse.")
        else:
            text += f"Stability and quality: {NOT_ENOUGH_EPOCHS}" + (" at smoke scale." if smoke else ".")
        summary.discussion.append(text)
    celeba = results.get("dcgan_celeba", {})
    if "default" in celeba and len(celeba) > 1 and not smoke:
        seed_view = {"beta1_0.9": "worse", "g5_d1": "worse", "d5_g1": "better"}
        agree = [n for n, view in seed_view.items() if n in celeba and
                 (fid(celeba[n]) > fid(celeba["default"])) == (view == "worse")]
        summary.discussion.append(
            "The seed judged beta1 0.9 and 5 G updates per D update worse than the default, and 5 D updates "
            "per "
            f"G update better, from the pictures; our FIDs agree for {len(agree)} of "
            f"{sum(n in celeba for n in seed_view)} ({', '.join(agree) or 'none'}).")
    if smoke:
        summary.discussion.append("At smoke scale the faces and digits are synthetic, the networks small and "
                                  "the "
                                  "training a few steps long; the Inception network has random weights. The "
                                  "numbers exercise the code and say nothing about GANs.")
    for experiment in ("dcgan_celeba", "cgan_mnist"):
        if runs := results.get(experiment):
            best = ranked(runs)[0]
            name, value, _ = score_of(best)
            summary.conclusion.append(f"{experiment}: the best {name} is {best.name}'s, {value:.2f}"
                                      + (" (smoke scale: not meaningful)." if smoke else "."))
    if smoke:
        summary.conclusion.append(f"Stability of the trainings: {NOT_ENOUGH_EPOCHS} at smoke scale.")
