"""Chapter `fusion`: the AV-MNIST samples, and size against accuracy of the five networks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from reprolab import figures
from reprolab.registry import Variant
from reprolab.train import load_data

UNIMODAL = ("image_lenet5", "audio_lenet")


def nearest_mean_accuracy(train: torch.Tensor, train_y: torch.Tensor, test: torch.Tensor,
                          test_y: torch.Tensor, chunk: int = 2000) -> float:
    """Test accuracy (%) of the nearest class mean on flattened inputs: a baseline of difficulty."""
    classes = int(train_y.max()) + 1
    sums = torch.zeros(classes, train[0].numel())
    for start in range(0, len(train), chunk):
        sums.index_add_(0, train_y[start:start + chunk], train[start:start + chunk].flatten(1).float())
    means = sums / torch.bincount(train_y, minlength=classes).clamp(min=1)[:, None]
    correct = 0
    for start in range(0, len(test), chunk):
        distances = torch.cdist(test[start:start + chunk].flatten(1).float(), means)
        correct += int((distances.argmin(1) == test_y[start:start + chunk]).sum())
    return 100 * correct / len(test)


def samples(variant: Variant, prepared_dir: Path, out_dir: Path) -> dict:
    """Grid of the first training pairs; split sizes and a nearest-mean baseline per modality."""
    train, test, val = load_data(variant.params, Path(prepared_dir))
    n = min(int(variant.params["n_samples"]), len(train))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures.paired_grid(train.x["image"][:n, 0].float().numpy(), train.x["audio"][:n, 0].numpy(),
                        train.y[:n].tolist(), out_dir / "samples.png",
                        f"The first {n} training examples: image (top; red positive, blue negative), "
                        f"spectrogram (bottom), label")
    metrics = {"id": variant.id, "n_train": len(train), "n_val": len(val) if val is not None else 0,
               "n_test": len(test), "image_shape": list(train.x["image"].shape[1:]),
               "audio_shape": list(train.x["audio"].shape[1:]),
               "class_counts": torch.bincount(train.y).tolist()}
    for modality in ("image", "audio"):
        x = train.x[modality]  # uint8 audio or float raw / 255 images: scaled as the engine does
        scale = 1 / 255 if x.dtype == torch.uint8 else 1.0
        metrics[f"{modality}_mean"] = float(x.mean(dtype=torch.float64)) * scale
        metrics[f"{modality}_nearest_mean_acc"] = nearest_mean_accuracy(
            train.x[modality], train.y, test.x[modality], test.y)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics


def _data(summary: dict, loaded: dict, results_root: Path) -> None:
    rows = []
    for name, (v, m, _) in loaded.items():
        rows.append({"cells": [name, f"{m['n_train']:,} / {m['n_val']:,} / {m['n_test']:,}",
                               " x ".join(map(str, m["image_shape"])), " x ".join(map(str, m["audio_shape"])),
                               f"{min(m['class_counts']):,} – {max(m['class_counts']):,}",
                               f"{m['image_nearest_mean_acc']:.2f}", f"{m['audio_nearest_mean_acc']:.2f}"],
                     "verdict": "no reference"})
        summary["figures"].append({"path": str(results_root / v.id / "samples.png"),
                                   "caption": "AV-MNIST: images, their spectrograms and labels"})
        easier = "image" if m["image_nearest_mean_acc"] > m["audio_nearest_mean_acc"] else "audio"
        summary["observations"].append(
            f"A nearest-class-mean classifier reaches {m['image_nearest_mean_acc']:.2f} % on the images and "
            f"{m['audio_nearest_mean_acc']:.2f} % on the spectrograms: the {easier} modality is the easier "
            f"one before any learning.")
    summary["results"] = {"columns": ["variant", "train / validation / test", "image", "spectrogram",
                                      "examples per class (train)", "nearest mean, image (%)",
                                      "nearest mean, audio (%)"], "rows": rows}


def size_notes(models: dict[str, tuple[int, float]]) -> list[str]:
    """Observations on accuracy against size, from {model: (parameters, test accuracy)}."""
    notes = []
    ranked = sorted(models.items(), key=lambda item: item[1][1], reverse=True)
    best, (best_params, best_acc) = ranked[0]
    notes.append(f"{best} tests best at {best_acc:.2f} % with {best_params:,} parameters; "
                 + "; ".join(f"{name} {acc:.2f} % ({params:,})" for name, (params, acc) in ranked[1:]) + ".")
    unimodal = {k: v for k, v in models.items() if k in UNIMODAL}
    if unimodal:
        base, (base_params, base_acc) = max(unimodal.items(), key=lambda item: item[1][1])
        for name, (params, acc) in models.items():
            if name not in UNIMODAL:
                notes.append(f"{name}: {acc - base_acc:+.2f} points against the best unimodal network "
                             f"({base}, {base_acc:.2f} %), with {params / base_params:.2f}x its parameters.")
    front = [name for name, (params, acc) in models.items()
             if not any(p <= params and a > acc or p < params and a >= acc for p, a in models.values())]
    notes.append(f"Pareto-optimal (no other network is both smaller and more accurate): {', '.join(front)}.")
    rho = spearmanr([p for p, _ in models.values()], [a for _, a in models.values()]).statistic
    if len(models) >= 3 and np.isfinite(rho):
        trend = ("accuracy tends to grow with size" if rho > 0.5 else
                 "the larger networks tend to be less accurate" if rho < -0.5 else
                 "size alone does not explain accuracy")
        notes.append(f"Spearman correlation between parameter count and test accuracy: {rho:+.2f}: {trend}.")
    return notes


def _models(summary: dict, loaded: dict, figures_dir: Path) -> None:
    models = {name: (int(m["params"]), m["test_acc"]) for name, (_, m, _) in loaded.items()}
    rows = [{"cells": [name, f"{int(m['params']):,}",
                       "—" if m.get("val_acc") is None else f"{m['val_acc']:.2f}",
                       "—" if m.get("best_epoch") is None else f"{m['best_epoch']:g}", f"{m['test_acc']:.2f}",
                       f"{m['test_acc'] / (m['params'] / 1e4):.2f}"], "verdict": "no reference"}
            for name, (_, m, _) in loaded.items()]
    summary["tables"].append({"title": "Parameters and test accuracy (best model on validation)",
                              "columns": ["model", "parameters", "best validation acc. (%)", "best epoch",
                                          "test acc. (%)", "test acc. per 10k parameters"], "rows": rows})
    path = figures.labelled_scatter([p for p, _ in models.values()], [a for _, a in models.values()],
                                    list(models), figures_dir / "fusion_size_accuracy.png",
                                    "Test accuracy against parameter count", "parameters (log scale)",
                                    "test accuracy (%)", logx=True)
    summary["figures"].insert(0, {"path": str(path), "caption": "The five networks: accuracy against size"})
    summary["observations"] += size_notes(models)


def summarize(summary: dict, loaded: dict, results_root: Path, figures_dir: Path) -> None:
    """Data table and figure; the size/accuracy table, figure and discussion of the five networks."""
    for exp in summary["experiments"]:
        exp_loaded = loaded[exp["name"]]
        kinds = {v.kind for v, _, _ in exp_loaded.values()}
        if kinds == {"avmnist_samples"}:
            _data(exp, exp_loaded, Path(results_root))
        elif kinds == {"train"}:
            _models(exp, exp_loaded, Path(figures_dir))
