"""The jobs of chapter `backprop`: networks written by hand, and SVMs.

Kind `scratch`: a fully connected network `sizes` (e.g. 2-4-2 tanh, 784-100-10 sigmoid, 784-10)
with a softmax output and the cross-entropy loss, trained by mini-batch SGD in one of four forms
(`method`): `manual` (forward and backward written by hand, no autograd), `autograd`
(`loss.backward()`), `nn` (torch.nn layers) and `optim` (nn + torch.optim.SGD). Every form starts
from the same initial weights (`init`: normal with `init_std`, or `zero`) and sees the batches in
the same order, so the four forms must give the same numbers.
Kind `svm`: scikit-learn's SVC on a 2-D set, with a sweep over C.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from reprolab import figures
from reprolab.atomic import write_json
from reprolab.data.prepare import load_split
from reprolab.engine.device import device_name
from reprolab.errors import ConfigError
from reprolab.kinds import Job
from reprolab.registry import Variant
from reprolab.results import aggregate

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
    bs, lr = int(p["batch_size"]), float(p["lr"])
    step, predict, weights = trainer(p["method"], init, p.get("activation", "tanh"), lr)
    gen = torch.Generator().manual_seed(seed)

    def row(epoch: int, seconds: float) -> dict:
        """Loss and accuracy of the current weights on both whole splits."""
        values = {"epoch": epoch}
        for split, x, y in (("train", x_train, train["y"]), ("test", x_test, test["y"])):
            probs = predict(x)
            values[f"{split}_loss"] = cross_entropy(probs, y).item()
            values[f"{split}_acc"] = 100.0 * (probs.argmax(1) == y).float().mean().item()
        return values | {"lr": lr, "seconds": seconds}

    history = [row(0, 0.0)]  # the initial weights, before any update (as the `train` kind's epoch 0)
    for epoch in range(int(p["epochs"])):
        epoch_tic = time.perf_counter()
        order = torch.randperm(len(x_train), generator=gen)
        for start in range(0, len(order), bs):
            idx = order[start:start + bs]
            step(x_train[idx], train["y"][idx])
        history.append(row(epoch + 1, time.perf_counter() - epoch_tic))
    pd.DataFrame(history).to_csv(out_dir / "history.csv", index=False)
    final = weights()
    metrics = {"id": variant.id, "seed": seed, "epochs": history[-1]["epoch"],
               **{k: history[-1][k] for k in ("train_loss", "train_acc", "test_loss", "test_acc")},
               "initial_loss": history[0]["test_loss"], "initial_acc": history[0]["test_acc"],
               "params": sum(v.numel() for v in final.values()), **hidden_symmetry(final),
               "n_train": len(x_train), "n_test": len(x_test), "n_inputs": sizes[0], "n_classes": sizes[-1],
               "device": "cpu",
               "device_name": device_name(torch.device("cpu")), "wall_time_s": time.perf_counter() - tic}
    write_json(out_dir / "metrics.json", metrics)
    if p.get("boundary"):
        figures.decision_boundary(
            lambda grid: predict(torch.from_numpy(grid).float())[:, 1].numpy(),
            x_train.numpy(), train["y"].numpy(), out_dir / "boundary.png",
            f"{variant.id}: epoch {metrics['epochs']}, train {metrics['train_acc']:.1f} %, "
            f"test {metrics['test_acc']:.1f} %")
    return metrics


def scratch(job: Job) -> dict:
    """Every seed of a `scratch` variant, combined like the `train` kind's (and its figures)."""
    variant, prepared_dir = job.variant, job.inputs["prepared"]
    seed_dirs = [job.out_dir / f"seed{seed}" for seed in variant.seeds]
    for seed, folder in zip(variant.seeds, seed_dirs, strict=True):
        run_scratch_seed(variant, seed, prepared_dir, folder)
    if "boundary" in job.outputs:
        job.outputs["boundary"].write_bytes((seed_dirs[0] / "boundary.png").read_bytes())
    if "images" in job.outputs:
        images = load_split(prepared_dir, "train")["x"][:variant.params["image_grid"]]
        figures.image_grid(images.squeeze(1).numpy(), job.outputs["images"],
                           f"The first {len(images)} training images of {variant.params['dataset']}")
    return aggregate(variant, seed_dirs, job.out_dir)


def svm(job: Job) -> dict:
    """SVC on the 2-D set: accuracy, decision boundary, and test accuracy across `c_sweep`."""
    from sklearn.svm import SVC  # here: scikit-learn costs every `scratch` job 1 s to import

    tic = time.perf_counter()
    variant, p, out = job.variant, job.variant.params, job.outputs
    train, test = (load_split(job.inputs["prepared"], s) for s in ("train", "test"))
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
                              out["boundary"],
                              f"{variant.id}: C={p['C']:g}, train {acc['train']:.1f} %, "
                              f"test {acc['test']:.1f} %", level=0.0)
    if sweep:
        figures.sweep(pd.DataFrame(sweep), "C", ["train_acc", "test_acc"], out["c_sweep"],
                      f"{variant.id}: accuracy against C", "accuracy (%)")
    write_json(out["metrics"], metrics)
    return metrics
