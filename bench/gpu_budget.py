"""The full-scale GPU budget: minutes per chapter on one H100, ESTIMATED from FLOPs where not measured.

For each GPU job of the full-scale config: work = examples x epochs x FLOPs per example, with the
forward FLOPs of the built model counted by `torch.utils.flop_counter.FlopCounterMode` on one
example of the full-size input, a training step = 3x forward (forward + backward), evaluation of the
test split each epoch = 1x forward. Time = max(FLOPs / (utilisation x peak), steps x step floor):
small networks at small batches are bound by kernel launches and Python, not by FLOPs, so each
optimizer step costs at least `--step-ms` (eager PyTorch, a few dozen kernels of ~5-10 us each).

Assumptions (state them next to any number printed): peak 989 TFLOP/s (H100 SXM dense bf16),
utilisation 30 %, step floor 0.5 ms. The GANs' FID (Inception at 299 px, 10,000 samples per
variant: about 0.1 PFLOP each) is left out: seconds. Data preparation, downloads, CPU jobs (the
backprop chapter's hand-written loops, SVMs, t-SNE, figures, the report) run beside the GPU jobs
and are not counted.
Where `gpu_measure.py` ran on a CUDA GPU (`bench/out/gpu_measure.json`), the `train` variants' minutes
are its measured ones instead; the table says how many minutes of each chapter are measured.

Usage: python bench/gpu_budget.py [--tflops 989] [--utilisation 0.3] [--step-ms 0.5]
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict
from pathlib import Path

import torch
import yaml
from torch.utils.flop_counter import FlopCounterMode

from reprolab.models import build_model
from reprolab.registry import variants

ROOT = Path(__file__).resolve().parents[1]
# Full-scale split sizes (training examples, test examples), from the dataset modules' docstrings and the
# config (a variant's validation_size is taken from its training split).
SIZES = {"mnist": (60_000, 10_000), "cifar10": (50_000, 10_000), "fsdd": (2_250, 750),
         "avmnist": (60_000, 10_000), "celeba": (162_770, 0), "voc2007": (5_011, 4_952)}
INPUTS = {"mnist": (1, 28, 28), "cifar10": (3, 32, 32), "fsdd": (1, 40, 128)}


def forward_flops(model: torch.nn.Module, *inputs) -> int:
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(*inputs)
    return counter.get_total_flops()


def example(dataset: str):
    if dataset == "avmnist":
        return {"image": torch.zeros(1, 1, 28, 28), "audio": torch.zeros(1, 1, 112, 112)}
    return torch.zeros(1, *INPUTS[dataset])


def jobs(config: dict) -> list[dict]:
    """One entry per GPU job family: chapter, what, training FLOPs, optimizer steps."""
    out = []
    for v in variants(config):
        p, chapter, seeds = v.params, v.id.split("/")[0], len(v.seeds)
        if v.kind == "train" and v.device != "cpu":
            n_train, n_test = SIZES[p["dataset"]]
            n_train -= int(p.get("validation_size") or 0)
            fwd = forward_flops(build_model(p["model"], **p.get("model_options", {})), example(p["dataset"]))
            flops = seeds * p["epochs"] * (3 * n_train + n_test) * fwd
            steps = seeds * p["epochs"] * math.ceil(n_train / p["batch_size"])
            out.append({"chapter": chapter, "id": v.id, "fwd": fwd, "flops": flops, "steps": steps})
        elif v.kind == "gan":
            gan = build_model(p["model"], **p.get("model_options", {}))
            opts = p.get("task_options", {})
            d, g = opts.get("d_steps", 1), opts.get("g_steps", 1)
            n = SIZES[p["dataset"]][0] - int(p.get("validation_size") or 0)
            per = p["batch_size"] // d  # each D update on a fresh batch of `per` images
            z, labels = torch.zeros(1, gan.generator.nz), torch.zeros(1, dtype=torch.long)
            conditional = p["model"] != "dcgan"  # cdcgan, cgan_mlp: G(z, labels), D(x, labels)
            g_f = forward_flops(gan.generator, *((z, labels) if conditional else (z,)))
            with torch.no_grad():
                fake = gan.generator(*((z, labels) if conditional else (z,)))
            d_f = forward_flops(gan.discriminator, *((fake, labels) if conditional else (fake,)))
            steps = p["epochs"] * math.ceil(n / p["batch_size"])
            # per step: d x (D on real + G + D on fake, fwd+bwd) + g x (G and D, fwd+bwd)
            flops = seeds * steps * per * (d * (6 * d_f + g_f) + g * (3 * g_f + 3 * d_f))
            out.append({"chapter": chapter, "id": v.id, "fwd": g_f + d_f, "flops": flops,
                        "steps": seeds * steps * (d + g)})
        elif v.kind == "multilabel":
            n_train, n_test = SIZES["voc2007"]
            if p.get("features"):
                fwd = 2048 * 20 * 2
            else:
                from torchvision.models import resnet50
                fwd = forward_flops(resnet50(), torch.zeros(1, 3, 224, 224))
            flops = seeds * p["epochs"] * (3 * n_train + n_test) * fwd
            out.append({"chapter": chapter, "id": v.id, "fwd": fwd, "flops": flops,
                        "steps": seeds * p["epochs"] * math.ceil(n_train / p["batch_size"])})
    out += feature_extraction()
    # Small sequential jobs, bound by steps, not FLOPs: the char-RNN (117k training sequences of 10
    # characters, batch 128, 50 epochs), show-and-tell (30k captions, batch 10, 10 epochs), the
    # visualisation chapter's single-image loops (6 class visualisations of <= 300 steps, fooling <= 100,
    # saliency, CAM with 20 distortion levels): a few thousand steps.
    out += [{"chapter": "sequences", "id": "sequences/charrnn/simple_rnn (steps)", "fwd": 0, "flops": 0,
             "steps": 50 * math.ceil(116_941 / 128) * 10},  # one launch group per character
            {"chapter": "captioning", "id": "captioning/show_and_tell/rnn (steps)", "fwd": 0, "flops": 0,
             "steps": 10 * math.ceil(30_000 / 10) * 5},
            {"chapter": "visualization", "id": "visualization (single-image steps)", "fwd": 0, "flops": 0,
             "steps": 6 * 300 + 100 + 200}]
    return out


def feature_extraction() -> list[dict]:
    """extract_features at 224 px: forward passes only, once per (backbone, layer, dataset)."""
    from torchvision.models import alexnet, resnet50, vgg16
    x = torch.zeros(1, 3, 224, 224)
    f = {"vgg16": forward_flops(vgg16(), x), "alexnet": forward_flops(alexnet(), x),
         "resnet50": forward_flops(resnet50(), x)}
    sets = [("transfer", "vgg16", "scene15", 4_485), ("transfer", "alexnet", "scene15", 4_485),
            ("transfer", "resnet50", "voc2007", 9_963), ("captioning", "vgg16", "flickr8k", 8_091)]
    return [{"chapter": ch, "id": f"features/{b}/{d}", "fwd": f[b], "flops": n * f[b], "steps": n // 32}
            for ch, b, d, n in sets]


def measured_minutes() -> dict:
    """Full-scale minutes per `train` variant measured on a GPU by `gpu_measure.py`, if it ran on one."""
    path = ROOT / "bench/out/gpu_measure.json"
    found = json.loads(path.read_text()) if path.exists() else {}
    if found.get("device") != "cuda":
        return {"device_name": None, "minutes": {}}
    return {"device_name": found["device_name"], "minutes": {r["id"]: r["minutes"] for r in found["rows"]}}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tflops", type=float, default=989.0, help="peak dense bf16 TFLOP/s (H100 SXM)")
    parser.add_argument("--utilisation", type=float, default=0.3)
    parser.add_argument("--step-ms", type=float, default=0.5, help="floor per optimizer step (ms)")
    args = parser.parse_args([]) if __name__ != "__main__" else parser.parse_args()
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    rate = args.tflops * 1e12 * args.utilisation
    measured = measured_minutes()
    per_chapter: dict[str, dict] = defaultdict(lambda: {"flops": 0, "steps": 0, "seconds": 0.0, "jobs": 0,
                                                        "measured_s": 0.0})
    for job in jobs(config):
        job["seconds"] = max(job["flops"] / rate, job["steps"] * args.step_ms / 1000)
        c = per_chapter[job["chapter"]]
        if job["id"] in measured["minutes"]:
            job["seconds"] = 60 * measured["minutes"][job["id"]]
            c["measured_s"] += job["seconds"]
        c["flops"] += job["flops"]
        c["steps"] += job["steps"]
        c["seconds"] += job["seconds"]
        c["jobs"] += 1
    total = sum(c["seconds"] for c in per_chapter.values()) / 60
    total_measured = sum(c["measured_s"] for c in per_chapter.values()) / 60
    print(f"ESTIMATES where not measured: one H100 at {args.utilisation:.0%} of {args.tflops:.0f} TFLOP/s "
          f"(bf16 dense), at least {args.step_ms} ms per optimizer step; measured: "
          f"{measured['device_name'] or 'nothing (no CUDA run of bench/gpu_measure.py)'}")
    print("| chapter | GPU jobs | training + eval PFLOP | optimizer steps | minutes | of which measured |")
    print("|---|---|---|---|---|---|")
    for name, c in sorted(per_chapter.items(), key=lambda kv: -kv[1]["seconds"]):
        print(f"| {name} | {c['jobs']} | {c['flops'] / 1e15:,.1f} | {c['steps']:,} | "
              f"{c['seconds'] / 60:.1f} | {c['measured_s'] / 60:.1f} |")
    verdict = "met" if total <= 60 else f"missed by {total - 60:.0f} min"
    print(f"| **total** | | | | **{total:.1f}** (target <= 60: {verdict}) | {total_measured:.1f} |")
    result = {"assumptions": vars(args), "chapters": dict(per_chapter), "total_min": total,
              "measured_min": total_measured, "measured_on": measured["device_name"]}
    (ROOT / "bench/out").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench/out/gpu_budget.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
