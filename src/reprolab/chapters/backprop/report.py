"""The report part of chapter `backprop`: hand-written networks and SVMs."""

from __future__ import annotations

from reprolab.chapters.backprop import questions
from reprolab.registry import Variant
from reprolab.report.generic import SETUP_COLUMNS, Claim, claims_table, train_setup_row
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
    fmt,
)
from reprolab.report.questions import seed_comparison

METHODS = {"manual": "forward and backward by hand", "autograd": "loss.backward()",
           "nn": "torch.nn layers", "optim": "torch.nn + torch.optim.SGD"}


def scratch_setup_row(variant: Variant, metrics: dict) -> Row:
    """The generic setup columns for a hand-written network."""
    p = variant.params
    sizes = "-".join(map(str, [metrics["n_inputs"], *p.get("hidden", []), metrics["n_classes"]]))
    hidden = f" {p.get('activation', 'tanh')}" if p.get("hidden") else ""
    init = "zero" if p.get("init") == "zero" else f"normal(0, {p.get('init_std', 0.1)})"
    return Row([variant.name, f"{sizes}{hidden}, softmax; {METHODS[p['method']]}; init {init}",
                fmt(int(metrics["params"])), p["dataset"], f"{metrics['n_train']:,} / {metrics['n_test']:,}",
                f"sgd lr {p['lr']} (mean loss)", str(p["batch_size"]), str(p["epochs"]),
                ", ".join(map(str, variant.seeds))])


def _boundaries(part: ExperimentPart, results: dict[str, VariantResult]) -> None:
    part.figures += [Figure(r.file("boundary.png"), f"{r.variant.id}: decision boundary "
                                                    "(regions and training points)")
                     for r in results.values() if r.variant.params.get("boundary")]


def _four_forms(part: ExperimentPart, results: dict[str, VariantResult]) -> None:
    """The forms of one network must compute the same training: the largest gap between them."""
    histories = {name: r.history for name, r in results.items() if r.variant.kind == "scratch"}
    (first, base), *others = histories.items()
    columns = ["train_loss", "test_loss", "train_acc", "test_acc"]
    gaps = {name: (h[columns] - base[columns]).abs().to_numpy().max() for name, h in others}
    same = max(gaps.values()) < 1e-4
    part.observations.append(
        f"Largest difference from {first} over every epoch's losses and accuracies: "
        + ", ".join(f"{name} {gap:.2g}" for name, gap in gaps.items())
        + (": the forms compute the same training, to float rounding." if same
           else ": the forms do not compute the same training."))
    part.observations.append(
        f"{first}: the test loss goes from {base['test_loss'].iloc[0]:.3f} before training (epoch 0) to "
        f"{base['test_loss'].iloc[-1]:.3f} after epoch {int(base['epoch'].iloc[-1])}.")


def _symmetry(part: ExperimentPart, results: dict[str, VariantResult]) -> None:
    """Hidden units after a zero initialisation stay equal: the table and what it means."""
    if not any(r.variant.params.get("init") == "zero" for r in results.values()):
        return
    rows = [Row([name, "zero" if r.variant.params.get("init") == "zero" else "random",
                 str(r.variant.params["hidden"][0]), str(int(r.metrics["distinct_hidden_units"])),
                 f"{r.metrics['hidden_spread']:.3g}", f"{r.metrics['test_acc']:.2f}"])
            for name, r in results.items() if "hidden_spread" in r.metrics]
    if rows:
        part.tables.append(Table(["variant", "initialisation", "hidden units", "distinct hidden units",
                                  "largest weight gap between units", "test acc. (%)"], rows,
                                 "Symmetry of the hidden units after training"))
    if {"mlp_zero_init", "mlp_manual"} <= results.keys():
        zero, rand = results["mlp_zero_init"].metrics, results["mlp_manual"].metrics
        part.observations.append(
            f"With every weight initialised to zero, the {int(rand['distinct_hidden_units'])} distinct "
            f"hidden units of the random initialisation become {int(zero['distinct_hidden_units'])} "
            f"(largest gap between two units' weights: {zero['hidden_spread']:.3g}): all units get the same "
            f"gradient at every step, so they stay equal and the network behaves as if it had a single "
            f"hidden unit. It tests at {zero['test_acc']:.2f} % against {rand['test_acc']:.2f} %.")
    if {"logreg_manual", "mlp_manual"} <= results.keys():
        lr_, mlp = results["logreg_manual"].metrics, results["mlp_manual"].metrics
        part.observations.append(
            f"The hidden layer ({int(mlp['params']):,} parameters against {int(lr_['params']):,}) moves the "
            f"test accuracy from {lr_['test_acc']:.2f} to {mlp['test_acc']:.2f} %.")


def scratch(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """Setup (hand-written and `train` variants alike), boundaries, image grid, forms, symmetry."""
    part.setup = Table(SETUP_COLUMNS, [train_setup_row(r.variant, r.metrics) if r.variant.kind == "train"
                                       else scratch_setup_row(r.variant, r.metrics)
                                       for r in results.values()])
    _boundaries(part, results)
    for r in results.values():
        if n_images := r.variant.params.get("image_grid"):
            part.figures.insert(0, Figure(r.file("images.png"), f"The first {n_images} training images"))
    if len({r.variant.params.get("method") for r in results.values() if r.variant.kind == "scratch"}) > 1:
        _four_forms(part, results)
    _symmetry(part, results)


def svm(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """Setup, boundaries, the C sweep and the linear-against-RBF observation."""
    part.setup = Table(["variant", "kernel", "C", "support vectors", "data", "train / test"],
                       [Row([name, m["kernel"], f"{m['C']:g}", str(m["support_vectors"]),
                             r.variant.params["dataset"], f"{m['n_train']:,} / {m['n_test']:,}"])
                        for name, r in results.items() for m in [r.metrics]])
    _boundaries(part, results)
    for name, r in results.items():
        sweep = r.metrics["c_sweep"]
        if not sweep:
            continue
        part.figures.append(Figure(r.file("c_sweep.png"),
                                   f"{r.variant.id}: train and test accuracy against C"))
        accs = [row["test_acc"] for row in sweep]
        best = max(sweep, key=lambda row: row["test_acc"])
        part.observations.append(
            f"{name}: over C in [{sweep[0]['C']:g}, {sweep[-1]['C']:g}] the test accuracy "
            f"ranges from {min(accs):.1f} to {max(accs):.1f} % (best at C={best['C']:g}).")
    if {"linear", "rbf"} <= results.keys():
        lin, rbf = results["linear"].metrics["test_acc"], results["rbf"].metrics["test_acc"]
        part.observations.append(
            f"The RBF kernel tests {rbf - lin:+.1f} points from the linear one ({rbf:.1f} vs {lin:.1f} %): "
            f"a line cannot separate a disc from the ring around it (chance is 50 %).")


def circle(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """The course's questions on the 2-4-2 network: its sizes, the derivations, the four forms."""
    part.questions += questions.circle_questions(results, ctx)


def svm_questions(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """The course's questions on the SVMs: why a non-linearity, the effect of C."""
    part.questions += questions.svm_questions(results, ctx)


def mnist(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """The seed's claim that the zero-initialised perceptron does as well as logistic regression, and the
    course's questions on MNIST by hand."""
    part.questions += questions.mnist_questions(results, ctx)
    if not {"mlp_zero_init", "logreg_manual"} <= results.keys():
        return
    zero, logreg = (results[n].metrics["test_acc"] for n in ("mlp_zero_init", "logreg_manual"))
    claim = Claim(
        "The perceptron with every weight initialised to zero performs as the logistic regression of ex. 1 "
        "(«La performance en initialisant la matrice des poids à 0 est égale à celle de la régression "
        "linéaire»; the seed writes «linéaire» for its logistic regression)", "seed 002, TP 1, ex. 2",
        f"test accuracy: mlp_zero_init {zero:.2f} %, logreg_manual {logreg:.2f} % ({zero - logreg:+.2f} "
        f"points; equal within {ctx.tolerance:g})", abs(zero - logreg) <= ctx.tolerance)
    part.tables.append(claims_table([claim], ctx, ZERO_INIT_TITLE))


ZERO_INIT_TITLE = "The seed's statement against our numbers"
EXPERIMENTS = {"circle": circle, "svm": svm_questions, "mnist": mnist}


def _acc(results: dict[str, VariantResult], name: str) -> float | None:
    r = results.get(name)
    return None if r is None else r.metrics.get("test_acc")


def _circle_paragraph(circle_r: dict[str, VariantResult], svm_r: dict[str, VariantResult],
                      worst: float | None, smoke: bool) -> str:
    """The four forms, the gradient check, and the network against the two SVMs."""
    text = "On Circle (two classes, chance is 50 %), "
    if (gaps := questions.form_gaps(circle_r)) is not None:
        text += (f"the four forms of the 2-4-2 network compute the same training: they differ by at most "
                 f"{max(gaps[1].values()):.1e} over every epoch, so torch.autograd, torch.nn and torch.optim "
                 f"change how the code is written, not what it computes. ")
    if worst is not None:
        text += f"The hand-written gradients equal autograd's and finite differences' to {worst:.1e}. "
    accs = {n: f"{r.metrics['test_acc']:.2f} %" for n, r in circle_r.items()}
    same = len(set(accs.values())) == 1
    text += "The network tests at " + (f"{next(iter(accs.values()))} in every form" if same
                                       else ", ".join(f"{n} {a}" for n, a in accs.items()))
    if {"linear", "rbf"} <= svm_r.keys():
        lin, rbf = _acc(svm_r, "linear"), _acc(svm_r, "rbf")
        text += (f"; the linear SVM at {lin:.1f} % and the RBF SVM at {rbf:.1f} %: a line cannot separate "
                 "the "
                 f"disc from the ring, a non-linear map can ({rbf - lin:+.1f} points for the kernel)")
    text += "."
    epochs = [int(r.metrics["epochs"]) for r in circle_r.values() if "epochs" in r.metrics]
    if smoke and epochs:
        text += (f" At smoke scale the network is trained {max(epochs)} epoch(s), so its accuracies say "
                 "nothing "
                 f"yet; the SVMs see the same Circle set at every scale.")
    return text


def _mnist_paragraph(summary: ChapterPart, mnist_r: dict[str, VariantResult]) -> str:
    """The hidden layer, the zero initialisation and the TME network on MNIST."""
    parts = []
    lr, mlp, zero = (_acc(mnist_r, n) for n in ("logreg_manual", "mlp_manual", "mlp_zero_init"))
    if lr is not None and mlp is not None:
        parts.append(f"the hidden layer takes the hand-written logistic regression from {lr:.2f} % to "
                     f"{mlp:.2f} % ({mlp - lr:+.2f} points)")
    if zero is not None and lr is not None:
        units = mnist_r["mlp_zero_init"].metrics.get("distinct_hidden_units")
        claim = next((t.rows[0].verdict for p in summary.experiments if p.name == "mnist" for t in p.tables
                      if t.title == ZERO_INIT_TITLE), None)
        agree = {"holds": "we agree",
                 "does not hold": "we do not: one hidden feature is less than one linear score per class"}
        parts.append(f"the same perceptron initialised at zero keeps {int(units)} distinct hidden unit(s) "
                     "and "
                     f"tests at {zero:.2f} % ({zero - lr:+.2f} points from the logistic regression): the "
                     "seed "
                     f"finds it equal to the logistic regression, and "
                     + agree.get(claim, "that is not judged at smoke scale"))
    if (opt := _acc(mnist_r, "mlp_optim")) is not None:
        parts.append(f"the TME's tanh network with torch.nn and torch.optim tests at {opt:.2f} %")
    return "On MNIST (ten classes, chance is 10 %), " + "; ".join(parts) + "."


def _fitting_paragraph(exps: list[dict[str, VariantResult]], smoke: bool) -> str | None:
    """Over- or under-fitting: not judged on short runs; otherwise the largest train − test gap."""
    trained = [r for exp in exps for r in exp.values() if r.history is not None]
    if not trained:
        return None
    if not all(enough_epochs(r.history, smoke) for r in trained):
        return (f"Over- or under-fitting: {NOT_ENOUGH_EPOCHS} for the networks trained fewer than 5 epochs"
                + (" and for every network at smoke scale, where the data are tiny synthetic fixtures "
                   "(Circle "
                   "excepted) and every trained number is meaningless." if smoke else "."))
    gaps = {r.name: r.metrics["train_acc"] - r.metrics["test_acc"]
            for r in trained if "train_acc" in r.metrics}
    name = max(gaps, key=gaps.get)
    return (f"The largest train − test accuracy gap is {gaps[name]:+.2f} points ({name}): "
            + ("no network learns its training set by heart." if gaps[name] < LARGE_GAP else
               "that network fits its training set better than it generalises."))


LARGE_GAP = 2.0  # train − test accuracy points above which a network is said to fit its training set by heart


def discuss(summary: ChapterPart, results: dict[str, dict[str, VariantResult]]) -> None:
    """The chapter's discussion and conclusion, from the numbers: what the hand-written network, the
    hidden layer and the initialisation change, and where we agree with the seeds."""
    smoke = summary.scale == "smoke"
    circle_r, svm_r, mnist_r = (results.get(e, {}) for e in ("circle", "svm", "mnist"))
    paragraphs, conclusion, worst = [], [], None
    if smoke:
        paragraphs.append("At smoke scale every network is trained for a few epochs on tiny synthetic "
                          "data: its accuracies and losses below are meaningless and are not compared with "
                          "the seeds. The Circle set and the SVMs are the same as at full scale, and the "
                          "derivation checks do not depend on the scale.")
    manual = next((r for r in circle_r.values() if r.variant.params.get("method") == "manual"), None)
    if manual is not None:
        activation = manual.variant.params.get("activation", "tanh")
        rows = questions.gradient_check(questions.sizes_of(manual), activation)
        worst = max(max(r["autograd"], r["finite"]) for r in rows)
    if circle_r:
        paragraphs.append(_circle_paragraph(circle_r, svm_r, worst, smoke))
    if mnist_r:
        paragraphs.append(_mnist_paragraph(summary, mnist_r))
    if not smoke and (comparisons := [c for p in summary.experiments if (c := seed_comparison(p))]):
        paragraphs.append("Against the seeds' numbers (test accuracy, %) — " + "; ".join(comparisons)
                          + ". The seed re-ran each Circle form from its own random start, so its four "
                          "numbers differ by what the initialisation alone gives; ours share one start, so "
                          "they can only all match or all miss a number that the seed's own runs scatter"
                          " around.")
    if fitting := _fitting_paragraph([circle_r, mnist_r], smoke):
        paragraphs.append(fitting)
    if worst is not None:
        conclusion.append(f"Backpropagation written by hand gives autograd's gradients (largest difference "
                          f"{worst:.1e}); autograd, torch.nn and torch.optim only automate the same "
                          "computation.")
    if {"linear", "rbf"} <= svm_r.keys():
        conclusion.append(f"A non-linearity is what Circle needs: the linear SVM stays at "
                          f"{_acc(svm_r, 'linear'):.1f} % where chance is 50 %, the RBF kernel reaches "
                          f"{_acc(svm_r, 'rbf'):.1f} %.")
    zero = mnist_r["mlp_zero_init"].metrics if "mlp_zero_init" in mnist_r else {}
    if "distinct_hidden_units" in zero:
        conclusion.append(f"Initialising every weight at zero leaves {int(zero['distinct_hidden_units'])} "
                          f"distinct hidden unit(s): random initialisation is what lets the hidden units "
                          "learn "
                          f"different features.")
    if smoke:
        conclusion.append("These results are at smoke scale: the trained accuracies are not meaningful, the "
                          "derivation checks and the SVMs are.")
    summary.discussion += paragraphs
    summary.conclusion += conclusion[:4]
