"""Multi-label classification (PASCAL VOC): one sigmoid per class, binary cross-entropy, mAP.

A task of the shared epoch runner (seeding, resume, history, NaN stop), for a linear layer on
cached features or for a whole backbone fine-tuned end to end. Average precision is
scikit-learn's `average_precision_score` (the course's; not VOC's 11-point interpolated AP),
per class, then averaged over the classes that have a positive example.
"""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import average_precision_score
from torch import nn
from torch.nn import functional as F

from reprolab.data.prepare import load_split
from reprolab.engine import Split, TrainConfig, run_epochs, select_device
from reprolab.engine.device import autocast, layout
from reprolab.engine.optim import make_optimizer, make_scheduler
from reprolab.engine.task import Task, optimizer_step
from reprolab.kinds import Job
from reprolab.pretrained import backbone, load_backbone, weights_origin
from reprolab.train import run_facts, save_seed


def average_precisions(targets, scores, ignore=None) -> np.ndarray:
    """AP (%) of each class (columns of `targets` [N, K] in {0, 1} and `scores` [N, K]); NaN for a
    class without a positive example. `ignore` [N, K] (bool) leaves (image, class) pairs out, as
    VOC's protocol leaves out the difficult ones."""
    targets, scores = np.asarray(targets), np.asarray(scores, dtype=np.float64)
    aps = np.full(targets.shape[1], math.nan)
    for c in range(targets.shape[1]):
        keep = slice(None) if ignore is None else ~np.asarray(ignore)[:, c]
        t, s = targets[keep, c], scores[keep, c]
        if t.any():
            aps[c] = 100.0 * average_precision_score(t, s)
    return aps


def mean_average_precision(targets, scores, ignore=None) -> float:
    """The mean of `average_precisions` over the classes with a positive example (%)."""
    aps = average_precisions(targets, scores, ignore)
    if np.isnan(aps).all():
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.nanmean(aps))


class ImageNetInputs(nn.Module):
    """Stored uint8 images -> the normalised 224 x 224 inputs of torchvision's ImageNet networks."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from reprolab.features import preprocess  # torchvision: imported by fine-tuning jobs only

        return preprocess(x)


class FloatInputs(nn.Module):
    """Stored (float16) features -> float32."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.float()


def keras_dense(in_features: int, out_features: int) -> nn.Linear:
    """A linear layer initialised as Keras' `Dense` (Glorot-uniform weights, zero biases)."""
    layer = nn.Linear(in_features, out_features)
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


@torch.no_grad()
def predict(model: nn.Module, data: Split, batch_size: int, inputs: nn.Module) -> torch.Tensor:
    """The model's logits [N, K] for every example of `data` (eval mode), float32 on the data's device."""
    model.eval()
    device = data.y.device
    parts = []
    for start in range(0, len(data), batch_size):
        batch = data[start:start + batch_size]
        with autocast(device):
            parts.append(model(layout(inputs(batch.x), device)).float())
    return torch.cat(parts)


def scores_metrics(logits: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
    """Mean binary cross-entropy (over examples and classes), binary accuracy (%, threshold 0.5 on
    the sigmoid: Keras' `binary_accuracy`) and mAP (%)."""
    y = targets.float()
    return {"loss": F.binary_cross_entropy_with_logits(logits, y).item(),
            "acc": 100.0 * ((logits > 0) == (y > 0.5)).float().mean().item(),
            "map": mean_average_precision(targets.cpu().numpy(), logits.cpu().numpy())}


class MultiLabelTask(Task):
    """One model with K outputs, each a sigmoid: binary cross-entropy on every (example, class).

    The training metrics of an epoch are measured on its batches as they are seen (loss: mean of
    the batches'; accuracy and mAP over the epoch's predictions), like Keras' running metrics.
    """

    metrics = ("loss", "acc", "map")
    primary = ("map", "max")

    def __init__(self, model: nn.Module, optimizer: dict, scheduler: dict | None = None, *,
                 inputs: nn.Module | None = None):
        self.model, self.inputs = model, inputs or nn.Identity()
        self.optimizer = make_optimizer(model, optimizer)
        self.optimizers = {"model": self.optimizer}
        self.schedulers = {"model": s} if (s := make_scheduler(self.optimizer, scheduler)) else {}
        self.seen: list[tuple[torch.Tensor, torch.Tensor]] = []  # (logits, targets) of the epoch

    def train_step(self, batch: Split) -> dict[str, torch.Tensor]:
        y = batch.y.float()
        with autocast(y.device):
            out = self.model(layout(self.inputs(batch.x), y.device))
        loss = F.binary_cross_entropy_with_logits(out.float(), y)
        optimizer_step(self.optimizer, loss)
        self.seen.append((out.detach().float(), batch.y))
        return {"loss": loss.detach()}

    def summarize(self, steps: dict[str, torch.Tensor]) -> dict[str, float]:
        logits, targets = (torch.cat(part) for part in zip(*self.seen, strict=True))
        self.seen = []
        return {**scores_metrics(logits, targets), "loss": steps["loss"].mean().item()}

    def evaluate(self, data: Split, batch_size: int) -> dict[str, float]:
        return scores_metrics(predict(self.model, data, batch_size, self.inputs), data.y)


def run(job: Job) -> dict:
    """One seed of a multi-label variant: a linear layer with sigmoid outputs on cached features
    (`features:`), or the whole backbone fine-tuned with that layer in place of its classifier."""
    tic = time.perf_counter()
    variant, p, seed = job.variant, job.variant.params, job.seed
    out_dir = job.out_dir
    device = select_device(variant.device)
    meta = torch.load(Path(job.inputs["prepared"]) / "meta.pt", weights_only=True)
    classes = list(meta["classes"])
    if "features" in p:
        cached = torch.load(job.inputs["features"], weights_only=True)
        train, test = (Split(cached[s]["x"], cached[s]["y"]) for s in ("train", "test"))
        origin = {"backbone": backbone(variant), **weights_origin(job.inputs["weights"])}
        torch.manual_seed(seed)
        model, inputs, eval_batch = keras_dense(train.x.shape[1], len(classes)), FloatInputs(), 1000
    else:
        train, test = (Split(**load_split(job.inputs["prepared"], s)) for s in ("train", "test"))
        model, origin = load_backbone(job, seed)
        torch.manual_seed(seed)
        model.fc = keras_dense(model.fc.in_features, len(classes))  # ResNet's classifier, replaced
        inputs, eval_batch = ImageNetInputs(), int(p.get("eval_batch_size", 128))
    model.to(device)
    if device.type == "cuda" and "features" not in p:
        model.to(memory_format=torch.channels_last)
    cfg = TrainConfig.from_params(p, seed, eval_batch_size=eval_batch)
    task = MultiLabelTask(model, cfg.optimizer, cfg.scheduler, inputs=inputs.to(device))
    result = run_epochs(task, train, cfg, out_dir, device=device, test=test)
    train, test = train.to(device), test.to(device)
    final = {}
    for name, split in (("train", train), ("test", test)):
        logits = predict(model, split, eval_batch, task.inputs)
        final |= {f"{name}_{k}": v for k, v in scores_metrics(logits, split.y).items()}
        scores, targets = logits.cpu().numpy(), split.y.cpu().numpy()
        difficult = meta["difficult"][name].numpy()
        final[f"{name}_map_voc"] = mean_average_precision(targets, scores, ignore=difficult)
        if name == "test":
            aps = average_precisions(targets, scores)
            final |= {f"test_ap_{c}": (None if np.isnan(ap) else float(ap)) for c, ap in zip(classes, aps,
                                                                                              strict=True)}
            final["map_classes"] = int((~np.isnan(aps)).sum())
    metrics = {"id": variant.id, "seed": seed, **origin, **result.final, **final,
               "total_params": sum(t.numel() for t in model.parameters()),
               "input_shape": list(train.x.shape[1:]), "n_labels": len(classes), "classes": classes,
               "train_positives": int(train.y.sum()), "test_positives": int(test.y.sum()),
               "train_difficult": int(meta["difficult"]["train"].sum()),
               "test_difficult": int(meta["difficult"]["test"].sum()),
               **run_facts(model, train, test, device, tic)}
    saved = {"backbone": origin["backbone"], "features": "features" in p, "classes": classes,
             "state_dict": model.state_dict()}
    return save_seed(out_dir, saved, metrics)
