"""Per-step prediction over padded sequences: inputs [N, T, ...], targets [N, T], logits [N, T, C].

Padded steps are those whose target is `pad_id`, or, with dict inputs holding a bool `mask`
[N, T] (True: a real step), those where it is False; the model gets the whole dict. Padded steps
never count: the loss is summed over the real steps and divided by their number, and so is the
accuracy. With `per_sequence`, the loss is each sequence's mean over its real steps, averaged over
the sequences (Keras' masked loss as seed 002 describes it: "l'erreur ... sur chaque légende est
calculée comme une moyenne de prédictions sur chaque mot"); the accuracy stays per real step.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from reprolab.engine.data import Split
from reprolab.engine.optim import make_optimizer, make_scheduler
from reprolab.engine.task import Task, optimizer_step
from reprolab.errors import ConfigError

IGNORE = -100  # cross_entropy's ignore_index


class MaskedSequenceTask(Task):
    """Cross-entropy and accuracy (%) over the real (unpadded) steps."""

    metrics = ("loss", "acc")
    primary = ("loss", "min")

    def __init__(self, model: nn.Module, optimizer: dict, scheduler: dict | None = None, *,
                 pad_id: int | None = None, per_sequence: bool = False):
        self.model, self.pad_id, self.per_sequence = model, pad_id, per_sequence
        self.optimizer = make_optimizer(model, optimizer)
        self.optimizers = {"model": self.optimizer}
        self.schedulers = {"model": s} if (s := make_scheduler(self.optimizer, scheduler)) else {}

    def sums(self, batch: Split) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Summed loss, correct steps, real steps and the loss's units (real steps, or sequences with
        a real step when `per_sequence`) of a batch (no host sync)."""
        if isinstance(batch.x, dict) and "mask" in batch.x:
            real = batch.x["mask"]
        elif self.pad_id is not None:
            real = batch.y != self.pad_id
        else:
            raise ConfigError("masked_sequence needs a pad_id or a `mask` input")
        logits = self.model(batch.x)
        y = batch.y.masked_fill(~real, IGNORE)
        steps = F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), reduction="none").view_as(y)
        hits = ((logits.detach().argmax(-1) == batch.y) & real).sum()
        if self.per_sequence:
            counts = real.sum(1)
            means = steps.sum(1) / counts.clamp(min=1)
            return means.sum(), hits, counts.sum(), (counts > 0).sum()
        return steps.sum(), hits, real.sum(), real.sum()

    def train_step(self, batch: Split) -> dict[str, torch.Tensor]:
        loss_sum, hits, real, units = self.sums(batch)
        loss = loss_sum / units.clamp(min=1)
        optimizer_step(self.optimizer, loss)
        return {"loss": loss.detach(), "loss_sum": loss_sum.detach(), "hits": hits, "real": real,
                "units": units}

    def summarize(self, steps: dict[str, torch.Tensor]) -> dict[str, float]:
        loss_sum, hits, real, units = (steps[k].sum().item() for k in ("loss_sum", "hits", "real", "units"))
        return {"loss": loss_sum / max(units, 1), "acc": 100.0 * hits / max(real, 1)}

    @torch.no_grad()
    def evaluate(self, data: Split, batch_size: int) -> dict[str, float]:
        self.model.eval()
        totals = [self.sums(data[start:start + batch_size]) for start in range(0, len(data), batch_size)]
        loss_sum, hits, real, units = (torch.stack(t).sum().item() for t in zip(*totals, strict=True))
        return {"loss": loss_sum / max(units, 1), "acc": 100.0 * hits / max(real, 1)}
