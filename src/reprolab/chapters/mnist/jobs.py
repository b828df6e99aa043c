"""The job of chapter `mnist`'s kind `untangling`: t-SNE and PCA of raw and learned representations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from reprolab import figures
from reprolab.atomic import write_json
from reprolab.data.prepare import load_split
from reprolab.kinds import Job
from reprolab.metrics import neighbourhood_hit
from reprolab.train import load_trained


@torch.no_grad()
def representation(images: torch.Tensor, model_path: Path | None) -> np.ndarray:
    """Flattened pixels in [0, 1], or the body output of a trained model."""
    if model_path is None:
        return (images.float() / 255).flatten(1).numpy()
    model, normalizer = load_trained(model_path)
    return model.body(normalizer(images)).flatten(1).numpy()


def untangle(job: Job) -> dict:
    """t-SNE and PCA of a fixed test subset; neighbourhood hit; hull/ellipse figures."""
    variant, p = job.variant, job.variant.params
    model_path = job.inputs.get("model")
    test = load_split(job.inputs["prepared"], "test")
    n = min(int(p["n_points"]), len(test["y"]))
    features = representation(test["x"][:n], model_path)
    labels = test["y"][:n].numpy()
    embeddings = {
        "pca": PCA(n_components=2, random_state=0).fit_transform(features),
        "tsne": TSNE(n_components=2, init="pca", random_state=0,
                     perplexity=min(30.0, (n - 1) / 3)).fit_transform(features),
    }
    metrics = {"id": variant.id, "representation": p["representation"], "n_points": n,
               "dimensions": int(features.shape[1]), "neighbours": int(p["neighbours"]),
               "n_classes": int(len(np.unique(labels))),
               # the neighbourhood hit of labels drawn at random with the classes' frequencies
               "nh_chance": float((np.bincount(labels) / len(labels)) @ (np.bincount(labels) / len(labels)))}
    for method, points in embeddings.items():
        hit = neighbourhood_hit(points, labels, int(p["neighbours"]))
        metrics[f"nh_{method}"] = hit
        figures.embedding(points, labels, job.outputs[method],
                          f"{variant.name}: {method.upper()} of {n} test images "
                          f"(neighbourhood hit {hit:.3f}, k={p['neighbours']})")
    write_json(job.outputs["metrics"], metrics)
    return metrics
