"""Measured GPU throughput of every `train` variant, at its full-size inputs: the measured part of
the GPU budget (`gpu_budget.py` uses it in place of its FLOP estimate for these jobs).

For each `train` variant that may use the GPU (`device` not `cpu`), real-format data (the dataset's
fixture writer and its own `prepare`, as `models.py`) is tiled to `--batches` batches and trained
for three epochs through `reprolab.engine.fit`, exactly as the `train` job runs it (bf16 autocast,
channels-last, cuDNN autotuning, data resident on the device). The last epoch's time gives the
samples/s (the first ones pay for cuDNN's autotuning and the allocator); the peak GPU memory is
torch's. Full scale = seeds x epochs x (training examples + a third of the test examples, for the
evaluation each epoch) / samples/s.

Usage: python bench/gpu_measure.py [--device cuda] [--batches 40] [--only cifar]
(`--device cpu` runs the same code on the CPU: how the test checks this script.)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_budget import SIZES  # noqa: E402
from models import prepared, tiled  # noqa: E402

from reprolab.augment import make_augment  # noqa: E402
from reprolab.engine import TrainConfig, fit, fit_normalizer, select_device  # noqa: E402
from reprolab.engine.device import device_name  # noqa: E402
from reprolab.errors import ConfigError  # noqa: E402
from reprolab.models import build_model  # noqa: E402
from reprolab.registry import variants  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def measure(params: dict, data_dir: Path, prepare_options: dict | None, batches: int,
            device: torch.device) -> dict:
    """Samples/s of the variant's last of three epochs on `batches` batches, and the peak memory."""
    train, test = prepared(params["dataset"], data_dir, prepare_options)
    data = tiled(train, batches * params["batch_size"])
    torch.manual_seed(0)
    model = build_model(params["model"], **params.get("model_options", {}))
    normalizer = fit_normalizer(data.x, params.get("standardize", False))
    cfg = TrainConfig.from_params({**params, "epochs": 3}, seed=0)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    with tempfile.TemporaryDirectory() as out:
        result = fit(model, data, test[:100], cfg, Path(out), device=device, transform=normalizer,
                     augment=make_augment(params.get("augment"), normalizer))
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    return {"samples_per_s": len(data) / result.history[-1]["seconds"], "peak_gib": peak}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (fails clearly without one), or cpu")
    parser.add_argument("--batches", type=int, default=40, help="batches per measured epoch")
    parser.add_argument("--only", default="", help="only the variants whose id has this")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/out/gpu_measure.json")
    args = parser.parse_args()
    try:
        device = select_device(args.device)
    except ConfigError as e:  # no GPU: say so in one line
        raise SystemExit(f"gpu_measure.py: {e}") from None
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    options = config["data"].get("prepare", {})
    rows = []
    print(f"{device_name(device)}: the last of 3 epochs of {args.batches} batches, per variant")
    print("| variant | model | batch | samples/s | peak GPU memory (GiB) | full scale (min) |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for v in variants(config, kind="train"):
            p = v.params
            classification = p.get("task", "classification") == "classification"
            if v.device == "cpu" or args.only not in v.id or not classification:
                continue
            got = measure(p, Path(tmp), options.get(p["dataset"]), args.batches, device)
            n_train, n_test = SIZES[p["dataset"]]
            n_train -= int(p.get("validation_size") or 0)
            minutes = len(v.seeds) * p["epochs"] * (n_train + n_test / 3) / got["samples_per_s"] / 60
            rows.append({"id": v.id, "chapter": v.chapter, "model": p["model"], "batch": p["batch_size"],
                         **got, "minutes": minutes})
            peak = "-" if got["peak_gib"] is None else f"{got['peak_gib']:.2f}"
            print(f"| {v.id} | {p['model']} | {p['batch_size']} | {got['samples_per_s']:,.0f} | {peak} | "
                  f"{minutes:.2f} |", flush=True)
    result = {"device": device.type, "device_name": device_name(device), "batches": args.batches,
              "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
