"""Samples/s of one training epoch of a `cifar/cifar10` variant, with and without its augmentation.

The batched on-device augmentation (random crop 28 + flip; `--variant augmented_alt`: crop,
rotation and colour jitter with kornia) must cost little: the target is an
augmented epoch at >= 0.85x the samples/s of the same epoch with no augmentation at all (the
model then centre-crops the 32x32 images itself). Synthetic CIFAR-sized uint8 images, CPU by
default. A warm-up epoch on a few batches runs first (one-time costs: allocator, kernels); then
each setting runs `--repeats` times, alternating, and the median epoch of each is reported.

    python bench/cifar_augment.py [--images 10000] [--repeats 3] [--device cpu] [--variant augmented]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
import yaml

from reprolab.augment import make_augment
from reprolab.engine import Split, TrainConfig, fit, fit_normalizer, select_device
from reprolab.models import build_model
from reprolab.registry import resolve

ROOT = Path(__file__).resolve().parents[1]


def epoch_samples_per_s(params: dict, train: Split, test: Split, device: torch.device,
                        augmented: bool) -> tuple[float, float]:
    """Train one epoch of the variant from scratch: training samples per second of wall time, and
    per second of this process's CPU time (steadier on a shared machine; includes the test pass)."""
    torch.manual_seed(0)
    model = build_model(params["model"], **params.get("model_options", {}))
    normalizer = fit_normalizer(train.x, params.get("standardize", False))
    augment = make_augment(params["augment"], normalizer) if augmented else None
    cfg = TrainConfig(epochs=1, batch_size=params["batch_size"], optimizer=params["optimizer"])
    with tempfile.TemporaryDirectory() as out:
        cpu = time.process_time()
        result = fit(model, train, test, cfg, Path(out), device=device, transform=normalizer,
                     augment=augment)
        cpu = time.process_time() - cpu
    return result.final["train_samples_per_s"], len(train) / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--variant", default="augmented", help="a cifar10 variant with `augment`")
    args = parser.parse_args()
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    params = resolve(config, "cifar", "cifar10", args.variant).params
    gen = torch.Generator().manual_seed(0)
    train = Split(torch.randint(0, 256, (args.images, 3, 32, 32), dtype=torch.uint8, generator=gen),
                  torch.randint(0, 10, (args.images,), generator=gen))
    test = train[:500]
    device = select_device(args.device)
    for augmented in (False, True):  # warm-up
        epoch_samples_per_s(params, train[:4 * params["batch_size"]], test, device, augmented)
    runs: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for _ in range(args.repeats):
        for augmented, speeds in runs.items():
            speeds.append(epoch_samples_per_s(params, train, test, device, augmented))
    print(f"device {device}, threads {torch.get_num_threads()}, {args.images} images, "
          f"batch {params['batch_size']}, augment {params['augment']}")
    for i, unit in enumerate(("samples/s (wall)", "samples per CPU-second")):
        median = {augmented: statistics.median(r[i] for r in speeds) for augmented, speeds in runs.items()}
        print(f"{unit}: no augmentation {median[False]:.1f}, batched augmentation {median[True]:.1f}, "
              f"ratio {median[True] / median[False]:.3f}x (target >= 0.85x); runs: "
              + " / ".join(", ".join(f"{r[i]:.0f}" for r in runs[a]) for a in (False, True)))


if __name__ == "__main__":
    main()
