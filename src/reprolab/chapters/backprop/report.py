"""The report part of chapter `backprop`: hand-written networks and SVMs."""

from __future__ import annotations

from reprolab.registry import Variant
from reprolab.report.generic import SETUP_COLUMNS, Claim, claims_table, train_setup_row
from reprolab.report.parts import Context, ExperimentPart, Figure, Row, Table, VariantResult, fmt

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


def mnist(part: ExperimentPart, results: dict[str, VariantResult], ctx: Context) -> None:
    """The seed's claim that the zero-initialised perceptron does as well as logistic regression."""
    if not {"mlp_zero_init", "logreg_manual"} <= results.keys():
        return
    zero, logreg = (results[n].metrics["test_acc"] for n in ("mlp_zero_init", "logreg_manual"))
    claim = Claim(
        "The perceptron with every weight initialised to zero performs as the logistic regression of ex. 1 "
        "(«La performance en initialisant la matrice des poids à 0 est égale à celle de la régression "
        "linéaire»; the seed writes «linéaire» for its logistic regression)", "seed 002, TP 1, ex. 2",
        f"test accuracy: mlp_zero_init {zero:.2f} %, logreg_manual {logreg:.2f} % ({zero - logreg:+.2f} "
        f"points; equal within {ctx.tolerance:g})", abs(zero - logreg) <= ctx.tolerance)
    part.tables.append(claims_table([claim], ctx, "The seed's statement against our numbers"))


EXPERIMENTS = {"mnist": mnist}
