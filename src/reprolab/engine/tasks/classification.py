"""Supervised classification: cross-entropy on logits [N, classes], accuracy in %."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from reprolab.engine.data import Inputs, Normalizer, Split, transform_all
from reprolab.engine.device import autocast, layout
from reprolab.engine.optim import make_optimizer, make_scheduler
from reprolab.engine.runner import FitResult, TrainConfig, run_epochs
from reprolab.engine.task import Task, optimizer_step

# Splits whose float32 model inputs would take more than this stay as stored (uint8 images) on
# the device and are converted batch by batch; smaller ones are converted once.
RESIDENT_FLOAT_BYTES = 2 << 30


class ClassificationTask(Task):
    """One model, one optimizer; `augment` (optional) maps a training batch's inputs to new ones;
    `inputs` (optional) turns stored batches into model inputs when the splits are kept as stored."""

    metrics = ("loss", "acc")
    primary = ("acc", "max")

    def __init__(self, model: nn.Module, optimizer: dict, scheduler: dict | None = None, *,
                 augment: Callable[[Inputs], Inputs] | None = None, inputs: nn.Module | None = None):
        self.model, self.augment, self.inputs = model, augment, inputs or nn.Identity()
        self.optimizer = make_optimizer(model, optimizer)
        self.optimizers = {"model": self.optimizer}
        self.schedulers = {"model": s} if (s := make_scheduler(self.optimizer, scheduler)) else {}
        self.seen = 0  # training samples of the epoch so far

    def train_step(self, batch: Split) -> dict[str, torch.Tensor]:
        xb, yb = self.inputs(batch.x), batch.y
        if self.augment is not None:
            xb = self.augment(xb)
        with autocast(yb.device):
            out = self.model(layout(xb, yb.device))
            loss = F.cross_entropy(out.float(), yb)
        optimizer_step(self.optimizer, loss)
        self.seen += len(yb)
        return {"loss": loss.detach(), "hits": (out.detach().argmax(1) == yb).sum()}

    def summarize(self, steps: dict[str, torch.Tensor]) -> dict[str, float]:
        seen, self.seen = self.seen, 0
        return {"loss": steps["loss"].mean().item(), "acc": 100.0 * steps["hits"].sum().item() / seen}

    def evaluate(self, data: Split, batch_size: int) -> dict[str, float]:
        loss, acc = evaluate(self.model, data, batch_size, data.y.device, self.inputs)
        return {"loss": loss, "acc": acc}


@torch.no_grad()
def evaluate(model: nn.Module, data: Split, batch_size: int, device: torch.device,
             inputs: nn.Module | None = None) -> tuple[float, float]:
    """Mean cross-entropy and accuracy (%) of `model` on `data` (on `device`; model inputs, or
    stored inputs that `inputs` converts batch by batch)."""
    model.eval()
    inputs = inputs or nn.Identity()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device)
    for start in range(0, len(data), batch_size):
        batch = data[start:start + batch_size]
        with autocast(device):
            out = model(layout(inputs(batch.x), device))
        loss_sum += F.cross_entropy(out.float(), batch.y, reduction="sum")
        correct += (out.argmax(1) == batch.y).sum()
    return loss_sum.item() / len(data), 100.0 * correct.item() / len(data)


def float_bytes(split: Split) -> int:
    """Bytes the split's inputs would take as float32."""
    xs = split.x.values() if isinstance(split.x, dict) else [split.x]
    return sum(4 * x.numel() for x in xs)


@torch.no_grad()
def confusion_matrix(model: nn.Module, data: Split, transform: nn.Module, batch_size: int,
                     device: torch.device) -> torch.Tensor:
    """Counts [true class, predicted class] of `model` on `data` (classes: the model's outputs)."""
    model.eval()
    counts = None
    data = data.to(device)  # once, not batch by batch
    for start in range(0, len(data), batch_size):
        batch = data[start:start + batch_size]
        with autocast(device):
            out = model(layout(transform(batch.x), device))
        k = out.shape[1]
        found = torch.bincount(batch.y * k + out.argmax(1), minlength=k * k).view(k, k).cpu()
        counts = found if counts is None else counts + found
    return counts


def fit(
    model: nn.Module,
    train: Split,
    test: Split,
    cfg: TrainConfig,
    out_dir: Path,
    *,
    device: torch.device,
    transform: nn.Module | None = None,
    augment: Callable[[Inputs], Inputs] | None = None,
    val: Split | None = None,
) -> FitResult:
    """Train a classifier: the splits on the device, normalised by `transform` once (or batch by
    batch, for splits too large to hold as float32: `RESIDENT_FLOAT_BYTES`), then the runner."""
    transform = (transform or Normalizer()).to(device)
    model.to(device)
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    splits = [s.to(device) if s is not None else None for s in (train, test, val)]
    per_batch = max(float_bytes(s) for s in splits if s is not None) > RESIDENT_FLOAT_BYTES
    if not per_batch:
        splits = [transform_all(transform, s) if s is not None else None for s in splits]
    train, test, val = splits
    task = ClassificationTask(model, cfg.optimizer, cfg.scheduler, augment=augment,
                              inputs=transform if per_batch else None)
    return run_epochs(task, train, cfg, out_dir, device=device, test=test, val=val)
