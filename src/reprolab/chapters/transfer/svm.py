"""The `linear_svm` kind: linear SVMs on cached features, and a sweep over C."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import confusion_matrix
from sklearn.svm import LinearSVC

from reprolab import figures
from reprolab.chapters.transfer import plots
from reprolab.chapters.transfer.jobs import write_metrics
from reprolab.engine.device import device_name
from reprolab.errors import ConfigError
from reprolab.kinds import Job
from reprolab.pretrained import backbone, weights_origin


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Each row divided by its Euclidean norm (zero rows stay zero)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1)


def run(job: Job) -> dict:
    """Linear SVMs (scikit-learn's `LinearSVC`, one-vs-rest) on cached features: accuracy,
    confusion matrix, and the test accuracy over `c_sweep`."""
    tic = time.perf_counter()
    variant, p, out = job.variant, job.variant.params, job.outputs
    features = torch.load(job.inputs["features"], weights_only=True)
    meta = torch.load(Path(job.inputs["prepared"]) / "meta.pt", weights_only=True)
    normalise = p.get("normalize", "l2")
    if normalise not in ("l2", None):
        raise ConfigError(f"{variant.id}: normalize is {normalise!r}; use l2 or null")
    xs = {s: features[s]["x"].float().numpy() for s in ("train", "test")}
    if normalise == "l2":
        xs = {s: l2_normalise(x) for s, x in xs.items()}
    ys = {s: features[s]["y"].numpy() for s in ("train", "test")}

    def fit(c: float) -> tuple[LinearSVC, float]:
        start = time.perf_counter()
        svm = LinearSVC(C=c, random_state=0).fit(xs["train"], ys["train"])
        return svm, time.perf_counter() - start

    svm, fit_seconds = fit(float(p["C"]))
    acc = {s: 100.0 * svm.score(xs[s], ys[s]) for s in xs}
    classes = list(meta["categories"])
    matrix = confusion_matrix(ys["test"], svm.predict(xs["test"]), labels=range(len(classes)))
    sweep = []
    for c in p.get("c_sweep", []):
        model, seconds = fit(float(c))
        sweep.append({"C": float(c), **{f"{s}_acc": 100.0 * model.score(xs[s], ys[s]) for s in xs},
                      "iterations": int(np.max(model.n_iter_)), "fit_seconds": seconds})
    plots.confusion(matrix, classes, out["confusion"],
                    f"{variant.id}: test confusion matrix ({acc['test']:.1f} %)")
    if sweep:
        figures.sweep(pd.DataFrame(sweep), "C", ["train_acc", "test_acc"], out["c_sweep"],
                      f"{variant.id}: accuracy against C", "accuracy (%)")
    origin = {"backbone": backbone(variant), **weights_origin(job.inputs["weights"])}
    return write_metrics(job, {
        "id": variant.id, "seeds": variant.seeds, **origin, "layer": p["features"]["layer"],
        "feature_dim": int(xs["train"].shape[1]), "normalize": normalise, "C": float(p["C"]),
        "train_acc": acc["train"], "test_acc": acc["test"], "iterations": int(np.max(svm.n_iter_)),
        "max_iter": svm.max_iter, "fit_seconds": fit_seconds, "n_train": len(ys["train"]),
        "n_test": len(ys["test"]), "n_classes": len(classes), "classes": classes,
        "confusion": matrix.tolist(), "c_sweep": sweep, "channels_identical": meta.get("channels_identical"),
        "source_modes": meta.get("source_modes"), "image_size": meta.get("size"), "device": "cpu",
        "device_name": device_name(torch.device("cpu")), "wall_time_s": time.perf_counter() - tic})


