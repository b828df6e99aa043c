"""Training throughput of the engine against three baselines (samples/s, on this machine's CPU).

Two networks of the catalogue, with their variant's batch size and optimizer:
`mnist/keras_style/mlp` (784-100-10) and `mnist/dropout_split/main_1` (the `dropout_cnn`).

- engine: `reprolab.engine.fit` with the classification task, as a `train` job runs it (splits
  normalised once, batches gathered by index, per-epoch history, evaluation of a 100-sample test
  split and checkpoint); timed by the wall clock around whole `fit` calls, model built afresh.
- classic: the per-sample loop of torchvision's MNIST (uint8 -> PIL -> ToTensor -> Normalize per
  sample, `DataLoader`, batch collation, 0 workers). MLP only.
- tensor_loader: the same data already as float tensors in a `TensorDataset` + `DataLoader`
  (0 workers), the fairer baseline. MLP only.
- bare: forward/backward/step over one pre-made batch, no data handling: the compute limit.

Every contender first runs one untimed window (warm-up), then `--repeats` timed windows of at
least `--seconds` seconds each (whole epochs, or whole `fit` calls, until the time is reached).
The order of the contenders is shuffled in each repeat (fixed seed). Each window's samples/s is
printed, then a table of the medians and their min-max spread.

Usage: python bench/engine_throughput.py [--repeats 5] [--seconds 2] [--samples 20000]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import yaml
from PIL import Image
from torch.utils.data import DataLoader, Dataset, TensorDataset
from torchvision import transforms

from reprolab.data.fixtures import digit_images
from reprolab.engine import Split, TrainConfig, fit, fit_normalizer, make_optimizer
from reprolab.models import build_model
from reprolab.registry import resolve

ROOT = Path(__file__).resolve().parents[1]
CPU = torch.device("cpu")


class ClassicMNIST(Dataset):
    """What torchvision.datasets.MNIST does per sample: uint8 -> PIL -> ToTensor -> Normalize."""

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        self.images, self.labels = images, labels
        self.transform = transforms.Compose([transforms.ToTensor(),
                                             transforms.Normalize((0.1307,), (0.3081,))])

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.images[i], mode="L")), int(self.labels[i])


def step(model, optimizer, x, y) -> None:
    optimizer.zero_grad(set_to_none=True)
    torch.nn.functional.cross_entropy(model(x), y).backward()
    optimizer.step()


def loader_epochs(params: dict, dataset: Dataset) -> Callable[[], int]:
    """One epoch of a plain PyTorch loop over a shuffled `DataLoader` (0 workers) per call."""
    torch.manual_seed(0)
    model = build_model(params["model"], **params.get("model_options", {}))
    optimizer = make_optimizer(model, params["optimizer"])
    loader = DataLoader(dataset, batch_size=params["batch_size"], shuffle=True, num_workers=0)

    def epoch() -> int:
        model.train()
        for x, y in loader:
            step(model, optimizer, x, y)
        return len(dataset)
    return epoch


def bare_steps(params: dict, shape: tuple[int, ...], steps: int = 10) -> Callable[[], int]:
    """`steps` forward/backward/steps on one pre-made float batch per call."""
    torch.manual_seed(0)
    model = build_model(params["model"], **params.get("model_options", {}))
    optimizer = make_optimizer(model, params["optimizer"])
    x, y = torch.randn(params["batch_size"], *shape), torch.randint(0, 10, (params["batch_size"],))
    model.train()

    def chunk() -> int:
        for _ in range(steps):
            step(model, optimizer, x, y)
        return steps * len(y)
    return chunk


def engine_fits(params: dict, train: Split, test: Split, seconds: float) -> Callable[[], int]:
    """One `fit` call per call, from scratch, of as many epochs as fill about `seconds`."""
    epochs = {"n": 1}

    def run() -> int:
        torch.manual_seed(0)
        model = build_model(params["model"], **params.get("model_options", {}))
        cfg = TrainConfig(epochs=epochs["n"], batch_size=params["batch_size"], optimizer=params["optimizer"],
                          scheduler=params.get("scheduler"))
        with tempfile.TemporaryDirectory() as out:
            tic = time.perf_counter()
            fit(model, train, test, cfg, Path(out), device=CPU,
                transform=fit_normalizer(train.x, params.get("standardize", False)))
            per_epoch = (time.perf_counter() - tic) / epochs["n"]
        done = epochs["n"] * len(train)
        epochs["n"] = max(1, math.ceil(1.1 * seconds / per_epoch))  # the next call fills the window
        return done
    return run


def window(chunk: Callable[[], int], seconds: float) -> tuple[float, float]:
    """Samples/s of `chunk` called until `seconds` have passed, and the window's length."""
    samples, tic = 0, time.perf_counter()
    while time.perf_counter() - tic < seconds:
        samples += chunk()
    elapsed = time.perf_counter() - tic
    return samples / elapsed, elapsed


def measure(group: str, contenders: dict[str, Callable[[], int]], repeats: int, seconds: float,
            rng: random.Random) -> dict[str, list[float]]:
    """Warm every contender with one untimed window, then `repeats` rounds in shuffled order."""
    for chunk in contenders.values():
        window(chunk, seconds)
    runs: dict[str, list[float]] = {name: [] for name in contenders}
    for r in range(repeats):
        order = list(contenders)
        rng.shuffle(order)
        for name in order:
            speed, elapsed = window(contenders[name], seconds)
            runs[name].append(speed)
            print(f"{group} run {r + 1}  {name:<13} {speed:>9,.0f} samples/s  ({elapsed:.2f} s)", flush=True)
    return runs


def spread(values: list[float], fmt: str) -> str:
    return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0, help="minimum length of a timed window")
    parser.add_argument("--samples", type=int, default=20_000, help="training images of the MLP")
    parser.add_argument("--cnn-samples", type=int, default=3_200, help="training images of the CNN")
    parser.add_argument("--seed", type=int, default=0, help="seed of the contenders' order")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/out/engine_throughput.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    mlp = resolve(config, "mnist", "keras_style", "mlp").params
    cnn = resolve(config, "mnist", "dropout_split", "main_1").params
    labels = (np.arange(args.samples) % 10).astype(np.uint8)
    images = digit_images(labels, np.random.default_rng(0))
    data = Split(torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels.astype("int64")))
    floats = transforms.Normalize((0.1307,), (0.3081,))(data.x.float() / 255)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads of {os.cpu_count()} CPUs, windows "
          f">= {args.seconds} s, {args.repeats} repeats; load average {os.getloadavg()[0]:.1f}")
    rng = random.Random(args.seed)
    n = args.cnn_samples
    runs = {
        "mlp": measure("mlp", {
            "engine": engine_fits(mlp, data, data[:100], args.seconds),
            "classic": loader_epochs(mlp, ClassicMNIST(images, labels)),
            "tensor_loader": loader_epochs(mlp, TensorDataset(floats, data.y)),
            "bare": bare_steps(mlp, (1, 28, 28)),
        }, args.repeats, args.seconds, rng),
        "cnn": measure("cnn", {
            "engine": engine_fits(cnn, data[:n], data[n:n + 100], args.seconds),
            "bare": bare_steps(cnn, (1, 28, 28), steps=4),
        }, args.repeats, args.seconds, rng),
    }
    rows = [("MLP 784-100-10, batch 100", "mlp", "classic", "classic per-sample loop (PIL, DataLoader)"),
            ("MLP 784-100-10, batch 100", "mlp", "tensor_loader", "TensorDataset + DataLoader"),
            ("MLP 784-100-10, batch 100", "mlp", "bare", "bare loop, one pre-made batch"),
            ("dropout_cnn, batch 64", "cnn", "bare", "bare loop, one pre-made batch")]
    print("\nsamples/s: median (min-max) of the timed windows; ratio: engine / baseline, of the medians "
          "(min-max of the per-repeat ratios)")
    print(f"| network | baseline | engine | baseline samples/s | ratio |\n|{'---|' * 5}")
    summary = []
    for network, group, base, label in rows:
        engine, other = runs[group]["engine"], runs[group][base]
        ratios = [e / b for e, b in zip(engine, other, strict=True)]
        ratio = statistics.median(engine) / statistics.median(other)
        print(f"| {network} | {label} | {spread(engine, ',.0f')} | {spread(other, ',.0f')} | "
              f"{ratio:.2f}x ({min(ratios):.2f}-{max(ratios):.2f}) |")
        summary.append({"network": network, "baseline": base, "engine": engine, base: other, "ratio": ratio})
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (1 min), {os.getloadavg()[1]:.1f} (5 min)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"threads": torch.get_num_threads(), "seconds": args.seconds,
                                    "runs": runs, "summary": summary}, indent=2))


if __name__ == "__main__":
    main()
