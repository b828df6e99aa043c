"""Samples/s of one training epoch of `cifar/cifar10/augmented`, with and without its augmentation.

The batched on-device augmentation (random crop 28 + flip) must cost little: the target is an
augmented epoch at >= 0.85x the samples/s of the same epoch with no augmentation at all (the
model then centre-crops the 32x32 images itself). Synthetic CIFAR-sized uint8 images, CPU by
default; each setting is run `--repeats` times, alternating, and the best epoch is kept.

    python bench/cifar_augment.py [--images 10000] [--repeats 2] [--device cpu]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
import yaml

from reprolab.augment import make_augment
from reprolab.engine import Split, TrainConfig, fit, fit_normalizer, select_device
from reprolab.models import build_model
from reprolab.registry import resolve

ROOT = Path(__file__).resolve().parents[1]


def epoch_samples_per_s(params: dict, train: Split, test: Split, device: torch.device,
                        augmented: bool) -> float:
    """Train one epoch of the variant from scratch; its training samples/s."""
    torch.manual_seed(0)
    model = build_model(params["model"], **params.get("model_options", {}))
    normalizer = fit_normalizer(train.x, params.get("standardize", False))
    augment = make_augment(params["augment"], normalizer) if augmented else None
    cfg = TrainConfig(epochs=1, batch_size=params["batch_size"], optimizer=params["optimizer"])
    with tempfile.TemporaryDirectory() as out:
        result = fit(model, train, test, cfg, Path(out), device=device, transform=normalizer,
                     augment=augment)
    return result.final["train_samples_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    params = resolve(config, "cifar", "cifar10", "augmented").params
    gen = torch.Generator().manual_seed(0)
    train = Split(torch.randint(0, 256, (args.images, 3, 32, 32), dtype=torch.uint8, generator=gen),
                  torch.randint(0, 10, (args.images,), generator=gen))
    test = train[:500]
    device = select_device(args.device)
    best = {False: 0.0, True: 0.0}
    for _ in range(args.repeats):
        for augmented in best:
            best[augmented] = max(best[augmented],
                                  epoch_samples_per_s(params, train, test, device, augmented))
    ratio = best[True] / best[False]
    print(f"device {device}, threads {torch.get_num_threads()}, {args.images} images, "
          f"batch {params['batch_size']}, augment {params['augment']}")
    print(f"no augmentation:      {best[False]:8.1f} samples/s")
    print(f"batched augmentation: {best[True]:8.1f} samples/s  ({ratio:.3f}x, target >= 0.85x)")


if __name__ == "__main__":
    main()
