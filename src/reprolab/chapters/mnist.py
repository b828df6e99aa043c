"""Chapter `mnist`: manifold untangling, and the observations of the dropout/split study."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from reprolab import figures
from reprolab.data.prepare import load_split
from reprolab.metrics import neighbourhood_hit
from reprolab.registry import Variant
from reprolab.train import load_trained


@torch.no_grad()
def representation(images: torch.Tensor, model_path: Path | None) -> np.ndarray:
    """Flattened pixels in [0, 1], or the body output of a trained model."""
    if model_path is None:
        return (images.float() / 255).flatten(1).numpy()
    model, normalizer = load_trained(model_path)
    return model.body(normalizer(images)).flatten(1).numpy()


def rising_tail(values: list[float]) -> int:
    """How many of the last epochs each raised the value over the epoch before."""
    count = 0
    for before, after in zip(values[-2::-1], values[:0:-1], strict=False):
        if after <= before:
            break
        count += 1
    return count


def untangle(variant: Variant, prepared_dir: Path, model_path: Path | None, out_dir: Path) -> dict:
    """t-SNE and PCA of a fixed test subset; neighbourhood hit; hull/ellipse figures."""
    p = variant.params
    test = load_split(prepared_dir, "test")
    n = min(int(p["n_points"]), len(test["y"]))
    features = representation(test["x"][:n], model_path)
    labels = test["y"][:n].numpy()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    embeddings = {
        "pca": PCA(n_components=2, random_state=0).fit_transform(features),
        "tsne": TSNE(n_components=2, init="pca", random_state=0,
                     perplexity=min(30.0, (n - 1) / 3)).fit_transform(features),
    }
    metrics = {"id": variant.id, "representation": p["representation"], "n_points": n,
               "dimensions": int(features.shape[1]), "neighbours": int(p["neighbours"])}
    for method, points in embeddings.items():
        hit = neighbourhood_hit(points, labels, int(p["neighbours"]))
        metrics[f"nh_{method}"] = hit
        figures.embedding(points, labels, out_dir / f"{method}.png",
                          f"{variant.name}: {method.upper()} of {n} test images "
                          f"(neighbourhood hit {hit:.3f}, k={p['neighbours']})")
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics


def _dropout_split(summary: dict, loaded: dict, figures_dir: Path) -> None:
    histories = {name: h for name, (_, _, h) in loaded.items()}
    for column, label in (("train_loss", "train loss"), ("test_loss", "test loss")):
        path = figures.overlay(histories, column, figures_dir / f"dropout_split_{column}.png",
                               f"dropout_split: {label} of every variant", label)
        summary["figures"].append({"path": str(path), "caption": f"All variants: {label} per epoch"})
    notes = summary["observations"]
    for name, (_, metrics, history) in loaded.items():
        rises = rising_tail(list(history["test_loss"]))
        if rises >= 2:
            notes.append(f"{name}'s test loss rises over its last {rises} epochs "
                         f"({history['test_loss'].iloc[-rises - 1]:.4f} → "
                         f"{history['test_loss'].iloc[-1]:.4f}): overfitting.")
        gap = metrics["train_acc"] - metrics["test_acc"]
        notes.append(f"{name}: train/test accuracy gap {gap:+.2f} points.")
    pairs = [("main_2", "main_1", "training on the 10k test split"),
             ("main_3", "main_4", "training on the 10k split, without dropout")]
    for swapped, plain, what in pairs:
        if swapped in loaded and plain in loaded:
            a, b = loaded[swapped][1]["test_acc"], loaded[plain][1]["test_acc"]
            word = "below" if a < b else "above"
            notes.append(f"{swapped} ({what}) tests at {a:.2f} %, {abs(a - b):.2f} points {word} "
                         f"{plain} ({b:.2f} %).")


def _untangling(summary: dict, loaded: dict, results_root: Path) -> None:
    rows = []
    for name, (v, m, _) in loaded.items():
        rows.append({"cells": [name, v.params["representation"], f"{m['dimensions']:,}",
                               f"{m['n_points']:,}", f"{m['nh_pca']:.3f}", f"{m['nh_tsne']:.3f}"],
                     "verdict": "no reference"})
        for method in ("tsne", "pca"):
            summary["figures"].append({
                "path": str(results_root / v.id / f"{method}.png"),
                "caption": f"{name}: {method.upper()} with convex hulls and Gaussian ellipses"})
    summary["results"] = {"columns": ["variant", "representation", "dimensions", "points",
                                      "neighbourhood hit (PCA)", "neighbourhood hit (t-SNE)"],
                          "rows": rows}
    ordered = sorted(loaded.items(), key=lambda item: item[1][1]["nh_tsne"])
    chain = " < ".join(f"{name} {m['nh_tsne']:.3f}" for name, (_, m, _) in ordered)
    summary["observations"].append(f"t-SNE neighbourhood hit, lowest to highest: {chain}.")
    for name, (_, m, _) in loaded.items():
        better = "t-SNE" if m["nh_tsne"] > m["nh_pca"] else "PCA"
        summary["observations"].append(
            f"{name}: {better} separates the classes better "
            f"(neighbourhood hit {m['nh_tsne']:.3f} t-SNE vs {m['nh_pca']:.3f} PCA).")


def _keras_style(summary: dict, loaded: dict) -> None:
    ranked = sorted(loaded.items(), key=lambda item: item[1][1]["test_acc"], reverse=True)
    best_name, (_, best, _) = ranked[0]
    for name, (_, m, _) in ranked[1:]:
        summary["observations"].append(
            f"{best_name} ({best['params']:,} parameters) tests {best['test_acc'] - m['test_acc']:.2f} "
            f"points above {name} ({m['params']:,} parameters).")


def summarize(summary: dict, loaded: dict, results_root: Path, figures_dir: Path) -> None:
    """Add the chapter's synthesis figures, untangling table and computed observations."""
    for exp in summary["experiments"]:
        exp_loaded = loaded[exp["name"]]
        if exp["name"] == "dropout_split":
            _dropout_split(exp, exp_loaded, Path(figures_dir))
        elif exp["name"] == "untangling":
            _untangling(exp, exp_loaded, Path(results_root))
        elif exp["name"] == "keras_style":
            _keras_style(exp, exp_loaded)
