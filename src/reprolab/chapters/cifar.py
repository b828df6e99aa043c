"""Chapter `cifar`: the synthesis of the CIFAR-10 variants and the network's true parameter count."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from reprolab import figures
from reprolab.models import build_model, count_parameters

# Each variant against the one it improves on (the seed's order of improvements).
LADDER = {"normalized": "baseline", "augmented": "normalized", "augmented_alt": "augmented",
          "momentum_expdecay": "augmented", "momentum_stepdecay": "momentum_expdecay",
          "dropout": "momentum_expdecay", "batchnorm": "dropout"}


def layer_parameters(model: nn.Module) -> dict[str, int]:
    """Weights per layer, named like the seed: conv1, pool1, ..., fc4, fc5 (pooling has none)."""
    counts, index = {}, 0
    for module in model.modules():
        if isinstance(module, nn.Conv2d | nn.Linear):
            index += 1
            kind = "conv" if isinstance(module, nn.Conv2d) else "fc"
            counts[f"{kind}{index}"] = count_parameters(module)
        elif isinstance(module, nn.BatchNorm2d):
            counts[f"bn{index}"] = count_parameters(module)
        elif isinstance(module, nn.MaxPool2d):
            counts[f"pool{index}"] = count_parameters(module)
    return counts


def _network(exp: dict, seed_counts: dict) -> None:
    """Per-layer parameters of the network (32x32 inputs) against the seed's counts."""
    ours = layer_parameters(build_model("cifar_cnn"))
    seed_layers = seed_counts.get("layers", {})
    rows = [{"cells": [name, f"{count:,}", f"{seed_layers[name]:,}" if name in seed_layers else "—",
                       f"{count - seed_layers[name]:+,}" if name in seed_layers else "—"]}
            for name, count in ours.items()]
    total, seed_total = sum(ours.values()), seed_counts.get("total")
    rows.append({"cells": ["total", f"{total:,}", f"{seed_total:,}" if seed_total else "—",
                           f"{total - seed_total:+,}" if seed_total else "—"]})
    exp["tables"].append({"title": "Parameters of the network on 32x32 images, per layer: ours "
                                   "(computed from the built model) and the seed's",
                          "columns": ["layer", "ours", "seed", "difference"], "rows": rows})
    if seed_total and seed_total != total:
        pools = sum(v for k, v in seed_layers.items() if k.startswith("pool"))
        fc4 = build_model("cifar_cnn").body[-3]
        exp["observations"].append(
            f"The network has {total:,} parameters, not the seed's {seed_total:,}: pooling has no weights "
            f"(the seed counted {pools:,} for its three pooling layers), and fc4 maps "
            f"{fc4.in_features:,} inputs to {fc4.out_features:,} units, i.e. {ours['fc4']:,} parameters "
            f"(the seed counted {seed_layers.get('fc4', 0):,}, as if its input were 64).")


def _cifar10(exp: dict, exp_loaded: dict, figures_dir: Path) -> None:
    histories = {name: h for name, (_, _, h) in exp_loaded.items()}
    path = figures.overlay(histories, "test_acc", figures_dir / "cifar10_test_acc.png",
                           "CIFAR-10: test accuracy of every variant", "test accuracy (%)")
    exp["figures"].insert(0, {"path": str(path), "caption": "All variants: test accuracy per epoch"})
    rows = []
    for name, (_, m, h) in exp_loaded.items():
        best = h.loc[h["test_acc"].idxmax()]
        low = h.loc[h["test_loss"].idxmin()]
        rows.append({"cells": [name, f"{int(m['params']):,}", f"{m['test_acc']:.2f}",
                               f"{best['test_acc']:.2f}", str(int(best["epoch"])), str(int(low["epoch"])),
                               f"{m['train_acc'] - m['test_acc']:+.2f}"]})
    exp["tables"].append({"title": "Final and best test accuracy, epoch of the lowest test loss",
                          "columns": ["variant", "parameters", "final test acc. (%)", "best test acc. (%)",
                                      "best epoch", "epoch of lowest test loss", "train − test (points)"],
                          "rows": rows})
    notes = exp["observations"]
    for name, before in LADDER.items():
        if name in exp_loaded and before in exp_loaded:
            a, b = exp_loaded[name][1]["test_acc"], exp_loaded[before][1]["test_acc"]
            notes.append(f"{name}: {a:.2f} %, {a - b:+.2f} points from {before} ({b:.2f} %).")
    for name, h in histories.items():
        low = int(h["test_loss"].idxmin())
        rise = h["test_loss"].iloc[-1] - h["test_loss"].iloc[low]
        if low < len(h) - 1 and rise > 0:
            notes.append(f"{name}: the test loss is lowest at epoch {int(h['epoch'].iloc[low])} "
                         f"({h['test_loss'].iloc[low]:.3f}) and ends {rise:.3f} higher: overfitting.")


def summarize(summary: dict, loaded: dict, results_root: Path, figures_dir: Path) -> None:
    """The all-variants test-accuracy figure, the best-epoch table, the parameter count."""
    for exp in summary["experiments"]:
        if exp["name"] == "cifar10":
            _cifar10(exp, loaded["cifar10"], Path(figures_dir))
            _network(exp, summary.get("references", {}).get("network", {}))
