"""Chapter `backprop`: networks written by hand (seed 004 TME 3-4, seed 002 TP 1), and SVMs.

Kind `scratch`: a fully connected network `sizes` (e.g. 2-4-2 tanh, 784-100-10 sigmoid, 784-10)
with a softmax output and the cross-entropy loss, trained by mini-batch SGD in one of four forms
(`method`): `manual` (forward and backward written by hand, no autograd), `autograd`
(`loss.backward()`), `nn` (torch.nn layers) and `optim` (nn + torch.optim.SGD). Every form starts
from the same initial weights (`init`: normal with `init_std`, or `zero`) and sees the batches in
the same order, so the four forms must give the same numbers.
Kind `svm`: scikit-learn's SVC on a 2-D set, with a sweep over C.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import torch
from sklearn.svm import SVC
from torch import nn

from reprolab import figures
from reprolab.data.prepare import load_split
from reprolab.errors import ConfigError
from reprolab.registry import Variant
from reprolab.report.summary import SETUP_COLUMNS, fmt, train_setup_row
from reprolab.results import aggregate
from reprolab.train import device_name

Params = dict[str, torch.Tensor]  # W0, b0, W1, b1, ...: x @ W + b per layer
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    # activation, and its derivative written from its output h
    "tanh": (torch.tanh, lambda h: 1 - h ** 2),
    "sigmoid": (torch.sigmoid, lambda h: h * (1 - h)),
}


def init_params(sizes: list[int], std: float, seed: int, zero: bool = False) -> Params:
    """Weights normal(0, std) (or all zero) and zero biases, for layers `sizes[0] -> ... -> sizes[-1]`."""
    gen = torch.Generator().manual_seed(seed)
    params = {}
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:], strict=False)):
        params[f"W{i}"] = torch.zeros(n_in, n_out) if zero else torch.randn(n_in, n_out, generator=gen) * std
        params[f"b{i}"] = torch.zeros(n_out)
    return params


def forward(params: Params, x: torch.Tensor, activation: str) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Softmax probabilities and the outputs of every layer (the input first)."""
    act = ACTIVATIONS[activation][0]
    n_layers = len(params) // 2
    outputs = [x]
    for i in range(n_layers):
        z = outputs[-1] @ params[f"W{i}"] + params[f"b{i}"]
        outputs.append(act(z) if i < n_layers - 1 else torch.softmax(z, 1))
    return outputs[-1], outputs[:-1]


def cross_entropy(probs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean of -log p(true class)."""
    return -torch.log(probs.gather(1, y[:, None]).clamp_min(1e-12)).mean()


def backward(params: Params, outputs: list[torch.Tensor], probs: torch.Tensor, y: torch.Tensor,
             activation: str) -> Params:
    """Gradients of the mean cross-entropy, by hand: dL/dz_out = (Y_hat - Y) / N, then the chain rule."""
    derivative = ACTIVATIONS[activation][1]
    delta = (probs - nn.functional.one_hot(y, probs.shape[1]).to(probs.dtype)) / len(y)
    grads = {}
    for i in reversed(range(len(params) // 2)):
        grads[f"W{i}"] = outputs[i].T @ delta
        grads[f"b{i}"] = delta.sum(0)
        if i > 0:
            delta = (delta @ params[f"W{i}"].T) * derivative(outputs[i])
    return grads


def to_module(params: Params, activation: str) -> nn.Sequential:
    """The same network as torch.nn layers, holding a copy of `params`."""
    layers: list[nn.Module] = []
    n_layers = len(params) // 2
    for i in range(n_layers):
        w = params[f"W{i}"]
        linear = nn.Linear(*w.shape)
        with torch.no_grad():
            linear.weight.copy_(w.T)
            linear.bias.copy_(params[f"b{i}"])
        layers.append(linear)
        if i < n_layers - 1:
            layers.append(nn.Tanh() if activation == "tanh" else nn.Sigmoid())
    return nn.Sequential(*layers)


def trainer(method: str, params: Params, activation: str, lr: float):
    """(step(x, y), predict(x) -> probabilities, weights() -> Params) for one of the four forms."""
    if method in ("manual", "autograd"):
        if method == "autograd":
            params = {k: v.clone().requires_grad_(True) for k, v in params.items()}

        def step(x, y):
            if method == "manual":
                probs, outputs = forward(params, x, activation)
                grads = backward(params, outputs, probs, y, activation)
            else:
                probs, _ = forward(params, x, activation)
                cross_entropy(probs, y).backward()
                grads = {k: v.grad for k, v in params.items()}
            with torch.no_grad():
                for k in params:
                    params[k] -= lr * grads[k]
                    if params[k].grad is not None:
                        params[k].grad = None

        def predict(x):
            with torch.no_grad():
                return forward(params, x, activation)[0]

        return step, predict, lambda: {k: v.detach() for k, v in params.items()}
    if method not in ("nn", "optim"):
        raise ConfigError(f"unknown scratch method {method!r}; known: manual, autograd, nn, optim")
    model = to_module(params, activation)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr) if method == "optim" else None

    def step(x, y):
        model.zero_grad()
        loss_fn(model(x), y).backward()
        if optimizer is not None:
            optimizer.step()
        else:
            with torch.no_grad():
                for p in model.parameters():
                    p -= lr * p.grad

    def predict(x):
        with torch.no_grad():
            return torch.softmax(model(x), 1)

    def weights():
        linears = [m for m in model if isinstance(m, nn.Linear)]
        return {k: v for i, m in enumerate(linears)
                for k, v in ((f"W{i}", m.weight.detach().T), (f"b{i}", m.bias.detach()))}

    return step, predict, weights


def flat_inputs(x: torch.Tensor) -> torch.Tensor:
    """Stored inputs as float rows: uint8 images scaled to [0, 1] and flattened."""
    return (x.float() / 255 if x.dtype == torch.uint8 else x.float()).flatten(1)


def hidden_symmetry(params: Params) -> dict:
    """How different the hidden units are: the largest gap between two units' incoming weights."""
    if "W1" not in params:
        return {}
    w = params["W0"]
    spread = (w - w[:, :1]).abs().max().item()
    distinct = len({tuple(col) for col in torch.round(w.T * 1e6).tolist()})
    return {"hidden_spread": spread, "distinct_hidden_units": distinct}


def run_scratch_seed(variant: Variant, seed: int, prepared_dir: Path, out_dir: Path) -> dict:
    """Train one seed of a `scratch` variant; write history.csv and metrics.json in `out_dir`."""
    tic = time.perf_counter()
    p = variant.params
    out_dir.mkdir(parents=True, exist_ok=True)
    train, test = (load_split(prepared_dir, s) for s in ("train", "test"))
    x_train, x_test = flat_inputs(train["x"]), flat_inputs(test["x"])
    sizes = [x_train.shape[1], *p.get("hidden", []), int(train["y"].max()) + 1]
    init = init_params(sizes, float(p.get("init_std", 0.1)), seed, zero=p.get("init") == "zero")
    step, predict, weights = trainer(p["method"], init, p.get("activation", "tanh"), float(p["lr"]))
    gen = torch.Generator().manual_seed(seed)
    bs, history = int(p["batch_size"]), []
    for epoch in range(int(p["epochs"])):
        epoch_tic = time.perf_counter()
        order = torch.randperm(len(x_train), generator=gen)
        for start in range(0, len(order), bs):
            idx = order[start:start + bs]
            step(x_train[idx], train["y"][idx])
        row = {"epoch": epoch + 1}
        for split, x, y in (("train", x_train, train["y"]), ("test", x_test, test["y"])):
            probs = predict(x)
            row[f"{split}_loss"] = cross_entropy(probs, y).item()
            row[f"{split}_acc"] = 100.0 * (probs.argmax(1) == y).float().mean().item()
        row.update(lr=float(p["lr"]), seconds=time.perf_counter() - epoch_tic)
        history.append(row)
    pd.DataFrame(history).to_csv(out_dir / "history.csv", index=False)
    final = weights()
    metrics = {"id": variant.id, "seed": seed, "epochs": len(history),
               **{k: history[-1][k] for k in ("train_loss", "train_acc", "test_loss", "test_acc")},
               "params": sum(v.numel() for v in final.values()), **hidden_symmetry(final),
               "n_train": len(x_train), "n_test": len(x_test), "n_inputs": sizes[0], "n_classes": sizes[-1],
               "device": "cpu",
               "device_name": device_name(torch.device("cpu")), "wall_time_s": time.perf_counter() - tic}
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    if x_train.shape[1] == 2:
        figures.decision_boundary(
            lambda grid: predict(torch.from_numpy(grid).float())[:, 1].numpy(),
            x_train.numpy(), train["y"].numpy(), out_dir / "boundary.png",
            f"{variant.id}: epoch {len(history)}, train {metrics['train_acc']:.1f} %, "
            f"test {metrics['test_acc']:.1f} %")
    return metrics


def run_scratch(variant: Variant, prepared_dir: Path, out_dir: Path) -> dict:
    """Every seed of a `scratch` variant, combined like the `train` kind's (and its figures)."""
    out_dir = Path(out_dir)
    seed_dirs = [out_dir / f"seed{seed}" for seed in variant.seeds]
    for seed, folder in zip(variant.seeds, seed_dirs, strict=True):
        run_scratch_seed(variant, seed, Path(prepared_dir), folder)
    if (seed_dirs[0] / "boundary.png").exists():
        (out_dir / "boundary.png").write_bytes((seed_dirs[0] / "boundary.png").read_bytes())
    if n_images := variant.params.get("image_grid"):
        images = load_split(Path(prepared_dir), "train")["x"][:n_images]
        figures.image_grid(images.squeeze(1).numpy(), out_dir / "images.png",
                           f"The first {len(images)} training images of {variant.params['dataset']}")
    return aggregate(variant, seed_dirs, out_dir)


def run_svm(variant: Variant, prepared_dir: Path, out_dir: Path) -> dict:
    """SVC on the 2-D set: accuracy, decision boundary, and test accuracy across `c_sweep`."""
    tic = time.perf_counter()
    p = variant.params
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    train, test = (load_split(Path(prepared_dir), s) for s in ("train", "test"))
    xs = {s: flat_inputs(d["x"]).numpy() for s, d in (("train", train), ("test", test))}
    ys = {"train": train["y"].numpy(), "test": test["y"].numpy()}

    def fit(c: float) -> SVC:
        return SVC(kernel=p["kernel"], C=c, gamma="scale").fit(xs["train"], ys["train"])

    svm = fit(float(p["C"]))
    acc = {s: 100.0 * svm.score(xs[s], ys[s]) for s in xs}
    sweep = [{"C": c, **{f"{s}_acc": 100.0 * m.score(xs[s], ys[s]) for s in xs}}
             for c in p.get("c_sweep", []) for m in [fit(float(c))]]
    metrics = {"id": variant.id, "seeds": variant.seeds, "kernel": p["kernel"], "C": float(p["C"]),
               "train_acc": acc["train"], "test_acc": acc["test"],
               "support_vectors": int(svm.n_support_.sum()),
               "n_train": len(ys["train"]), "n_test": len(ys["test"]), "c_sweep": sweep, "device": "cpu",
               "device_name": device_name(torch.device("cpu")), "wall_time_s": time.perf_counter() - tic}
    figures.decision_boundary(lambda grid: svm.decision_function(grid), xs["train"], ys["train"],
                              out_dir / "boundary.png",
                              f"{variant.id}: C={p['C']:g}, train {acc['train']:.1f} %, "
                              f"test {acc['test']:.1f} %", level=0.0)
    if sweep:
        figures.sweep(pd.DataFrame(sweep), "C", ["train_acc", "test_acc"], out_dir / "c_sweep.png",
                      f"{variant.id}: accuracy against C", "accuracy (%)")
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics


METHODS = {"manual": "forward and backward by hand", "autograd": "loss.backward()",
           "nn": "torch.nn layers", "optim": "torch.nn + torch.optim.SGD"}


def scratch_setup_row(variant: Variant, metrics: dict) -> list[str]:
    """The generic setup columns for a hand-written network."""
    p = variant.params
    sizes = "-".join(map(str, [metrics["n_inputs"], *p.get("hidden", []), metrics["n_classes"]]))
    hidden = f" {p.get('activation', 'tanh')}" if p.get("hidden") else ""
    init = "zero" if p.get("init") == "zero" else f"normal(0, {p.get('init_std', 0.1)})"
    return [variant.name, f"{sizes}{hidden}, softmax; {METHODS[p['method']]}; init {init}",
            fmt(int(metrics["params"])), p["dataset"], f"{metrics['n_train']:,} / {metrics['n_test']:,}",
            f"sgd lr {p['lr']} (mean loss)", str(p["batch_size"]), str(p["epochs"]),
            ", ".join(map(str, variant.seeds))]


def _setup(exp: dict, exp_loaded: dict) -> None:
    rows = []
    for v, m, _ in exp_loaded.values():
        rows.append(train_setup_row(v, m) if v.kind == "train" else scratch_setup_row(v, m))
    exp["setup"] = {"columns": SETUP_COLUMNS, "rows": rows}


def _boundaries(exp: dict, exp_loaded: dict, results_root: Path) -> None:
    exp["figures"] += [{"path": str(results_root / v.id / "boundary.png"),
                        "caption": f"{v.id}: decision boundary (regions and training points)"}
                       for v, _, _ in exp_loaded.values()]


def _circle(exp: dict, exp_loaded: dict, results_root: Path) -> None:
    _setup(exp, exp_loaded)
    _boundaries(exp, exp_loaded, results_root)
    histories = {name: h for name, (_, _, h) in exp_loaded.items()}
    (first, base), *others = histories.items()
    columns = ["train_loss", "test_loss", "train_acc", "test_acc"]
    gaps = {name: (h[columns] - base[columns]).abs().to_numpy().max() for name, h in others}
    if gaps:
        same = max(gaps.values()) < 1e-4
        exp["observations"].append(
            f"Largest difference from {first} over every epoch's losses and accuracies: "
            + ", ".join(f"{name} {gap:.2g}" for name, gap in gaps.items())
            + (": the forms compute the same training, to float rounding." if same
               else ": the forms do not compute the same training."))
    exp["observations"].append(
        f"{first}: the test loss goes from {base['test_loss'].iloc[0]:.3f} after epoch 1 to "
        f"{base['test_loss'].iloc[-1]:.3f} after epoch {len(base)}.")


def _svm(exp: dict, exp_loaded: dict, results_root: Path) -> None:
    exp["setup"] = {"columns": ["variant", "kernel", "C", "support vectors", "data", "train / test"],
                    "rows": [[name, m["kernel"], f"{m['C']:g}", str(m["support_vectors"]),
                              v.params["dataset"], f"{m['n_train']:,} / {m['n_test']:,}"]
                             for name, (v, m, _) in exp_loaded.items()]}
    _boundaries(exp, exp_loaded, results_root)
    for name, (v, m, _) in exp_loaded.items():
        if not m["c_sweep"]:
            continue
        exp["figures"].append({"path": str(results_root / v.id / "c_sweep.png"),
                               "caption": f"{v.id}: train and test accuracy against C"})
        accs = [row["test_acc"] for row in m["c_sweep"]]
        best = max(m["c_sweep"], key=lambda row: row["test_acc"])
        exp["observations"].append(
            f"{name}: over C in [{m['c_sweep'][0]['C']:g}, {m['c_sweep'][-1]['C']:g}] the test accuracy "
            f"ranges from {min(accs):.1f} to {max(accs):.1f} % (best at C={best['C']:g}).")
    if {"linear", "rbf"} <= exp_loaded.keys():
        lin, rbf = exp_loaded["linear"][1]["test_acc"], exp_loaded["rbf"][1]["test_acc"]
        exp["observations"].append(
            f"The RBF kernel tests {rbf - lin:+.1f} points from the linear one ({rbf:.1f} vs {lin:.1f} %): "
            f"a line cannot separate a disc from the ring around it (chance is 50 %).")


def _mnist(exp: dict, exp_loaded: dict, results_root: Path) -> None:
    _setup(exp, exp_loaded)
    for v, _, _ in exp_loaded.values():
        if (results_root / v.id / "images.png").exists():
            exp["figures"].insert(0, {"path": str(results_root / v.id / "images.png"),
                                      "caption": f"The first {v.params['image_grid']} training images"})
    rows = []
    for name, (v, m, _) in exp_loaded.items():
        if "hidden_spread" in m:
            rows.append({"cells": [name, "zero" if v.params.get("init") == "zero" else "random",
                                   str(v.params["hidden"][0]), str(int(m["distinct_hidden_units"])),
                                   f"{m['hidden_spread']:.3g}", f"{m['test_acc']:.2f}"]})
    if rows:
        exp["tables"].append({"title": "Symmetry of the hidden units after training",
                              "columns": ["variant", "initialisation", "hidden units",
                                          "distinct hidden units", "largest weight gap between units",
                                          "test acc. (%)"], "rows": rows})
    if {"mlp_zero_init", "mlp_manual"} <= exp_loaded.keys():
        zero, rand = exp_loaded["mlp_zero_init"][1], exp_loaded["mlp_manual"][1]
        exp["observations"].append(
            f"With every weight initialised to zero, the {int(rand['distinct_hidden_units'])} distinct "
            f"hidden units of the random initialisation become {int(zero['distinct_hidden_units'])} "
            f"(largest gap between two units' weights: {zero['hidden_spread']:.3g}): all units get the same "
            f"gradient at every step, so they stay equal and the network behaves as if it had a single "
            f"hidden unit. It tests at {zero['test_acc']:.2f} % against {rand['test_acc']:.2f} %.")
    if {"logreg_manual", "mlp_manual"} <= exp_loaded.keys():
        lr_, mlp = exp_loaded["logreg_manual"][1], exp_loaded["mlp_manual"][1]
        exp["observations"].append(
            f"The hidden layer ({int(mlp['params']):,} parameters against {int(lr_['params']):,}) moves the "
            f"test accuracy from {lr_['test_acc']:.2f} to {mlp['test_acc']:.2f} %.")


def summarize(summary: dict, loaded: dict, results_root: Path, figures_dir: Path) -> None:
    """Setup tables of the hand-written kinds, boundaries, C sweeps, the symmetry table."""
    handlers = {"circle": _circle, "svm": _svm, "mnist": _mnist}
    for exp in summary["experiments"]:
        if exp["name"] in handlers:
            handlers[exp["name"]](exp, loaded[exp["name"]], Path(results_root))
