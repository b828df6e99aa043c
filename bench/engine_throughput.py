"""Training throughput of the engine against two baselines (samples/s, on this machine's CPU).

1. The catalogue's MLP (784-100-10): the engine vs the classic per-sample loop (a
   torchvision-MNIST-style Dataset with PIL + ToTensor + Normalize, DataLoader, batch 100).
2. The `dropout_split` CNN: the engine vs a bare forward/backward/step loop over one pre-made
   batch (the compute limit).

Usage: python bench/engine_throughput.py [--samples 20000] [--cnn-samples 3200]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from reprolab.data.fixtures import digit_images
from reprolab.engine import Split, TrainConfig, fit, fit_normalizer
from reprolab.models import build_model


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


def classic_loop(images, labels, batch_size, optimizer_settings) -> float:
    torch.manual_seed(0)
    model = build_model("mlp")
    opt = torch.optim.SGD(model.parameters(), lr=optimizer_settings["lr"])
    loader = DataLoader(ClassicMNIST(images, labels), batch_size=batch_size, shuffle=True)
    tic = time.perf_counter()
    for x, y in loader:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return len(labels) / (time.perf_counter() - tic)


def engine_epoch(model_name, images, labels, batch_size, optimizer, standardize) -> float:
    """Samples/s of the engine's training loop (evaluation excluded), second epoch of two."""
    torch.manual_seed(0)
    data = Split(torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels.astype("int64")))
    cfg = TrainConfig(epochs=2, batch_size=batch_size, optimizer=optimizer, eval_batch_size=1000)
    with tempfile.TemporaryDirectory() as out:
        result = fit(build_model(model_name), data, data[:1000], cfg, Path(out),
                     device=torch.device("cpu"), transform=fit_normalizer(data.x, standardize))
    return len(labels) / result.history[-1]["seconds"]


def bare_loop(model_name, steps, batch_size) -> float:
    """Forward/backward/step on one pre-made float batch: no data handling at all."""
    torch.manual_seed(0)
    model = build_model(model_name)
    opt = torch.optim.Adadelta(model.parameters(), lr=1.0)
    x, y = torch.randn(batch_size, 1, 28, 28), torch.randint(0, 10, (batch_size,))
    model.train()
    for _ in range(3):  # warm-up, as the engine's first epoch is
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    tic = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return steps * batch_size / (time.perf_counter() - tic)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--cnn-samples", type=int, default=3_200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/out/engine_throughput.json"))
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    labels = (np.arange(args.samples) % 10).astype(np.uint8)
    images = digit_images(labels, rng)

    n = args.cnn_samples
    runs = {"classic": [], "engine_mlp": [], "bare_cnn": [], "engine_cnn": []}
    for _ in range(args.repeats):  # alternate the contenders; keep the median of each
        runs["classic"].append(classic_loop(images, labels, 100, {"lr": 1.0}))
        runs["engine_mlp"].append(engine_epoch("mlp", images, labels, 100, {"name": "sgd", "lr": 1.0}, False))
        runs["bare_cnn"].append(bare_loop("dropout_cnn", n // 64, 64))
        runs["engine_cnn"].append(engine_epoch("dropout_cnn", images[:n], labels[:n], 64,
                                               {"name": "adadelta", "lr": 1.0}, True))
    classic, engine_mlp, bare_cnn, engine_cnn = (float(np.median(v)) for v in runs.values())
    results = {
        "threads": torch.get_num_threads(),
        "mlp_classic_samples_per_s": classic, "mlp_engine_samples_per_s": engine_mlp,
        "mlp_speedup": engine_mlp / classic,
        "cnn_bare_samples_per_s": bare_cnn, "cnn_engine_samples_per_s": engine_cnn,
        "cnn_engine_over_bare": engine_cnn / bare_cnn,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"MLP 784-100-10, batch 100, {args.samples:,} samples, {results['threads']} threads")
    print(f"  classic per-sample DataLoader loop : {classic:>10,.0f} samples/s")
    print(f"  reprolab engine                    : {engine_mlp:>10,.0f} samples/s "
          f"({results['mlp_speedup']:.1f}x, target >= 10x)")
    print(f"dropout_split CNN, batch 64, {n:,} samples")
    print(f"  bare loop over one pre-made batch  : {bare_cnn:>10,.0f} samples/s")
    print(f"  reprolab engine                    : {engine_cnn:>10,.0f} samples/s "
          f"({results['cnn_engine_over_bare']:.2f}x, target >= 0.9x)")


if __name__ == "__main__":
    main()
