"""What a kind of training does with one batch and one split; the epoch runner does the rest."""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn

from reprolab.engine.data import Split


class Task(ABC):
    """A training task: its model, optimizers and schedulers, a train step and an evaluation.

    Subclasses set `model` (every network, as one module), `optimizers` and `schedulers` (dicts
    by name), and declare `metrics` (history columns `train_*`, `test_*`, `val_*`), `primary`
    (the validation metric and direction, "max" or "min", that picks the best epoch) and
    `shuffle` (False: batches taken in order).
    """

    model: nn.Module
    optimizers: dict[str, torch.optim.Optimizer]
    schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler]
    metrics: tuple[str, ...] = ("loss",)
    primary: tuple[str, str] = ("loss", "min")
    shuffle: bool = True

    @abstractmethod
    def train_step(self, batch: Split) -> dict[str, torch.Tensor]:
        """Train on one batch; its scalars, as device tensors (no host sync)."""

    def summarize(self, steps: dict[str, torch.Tensor]) -> dict[str, float]:
        """The epoch's training metrics from its per-batch scalars, stacked: their means."""
        return {k: v.mean().item() for k, v in steps.items()}

    @abstractmethod
    def evaluate(self, data: Split, batch_size: int) -> dict[str, float]:
        """The `metrics` of the model on `data`."""

    def lr(self) -> float:
        """The learning rate the next epoch trains with (of the first optimizer's first group)."""
        return next(iter(self.optimizers.values())).param_groups[0]["lr"]

    def end_epoch(self) -> float:
        """Step the schedulers; return the learning rate the epoch trained with."""
        lr = self.lr()
        for scheduler in self.schedulers.values():
            scheduler.step()
        return lr

    def pop_steps(self) -> list[dict]:
        """Rows logged per optimizer step since the last call, for `steps.csv` (none here)."""
        return []

    def compile(self) -> None:
        """`torch.compile` the networks the train step calls, in place (state dicts keep their keys)."""
        self.model.compile()

    def state_dict(self) -> dict:
        """Everything a resumed run needs: the model, optimizers and schedulers."""
        return {"model": self.model.state_dict(),
                "optimizers": {k: v.state_dict() for k, v in self.optimizers.items()},
                "schedulers": {k: v.state_dict() for k, v in self.schedulers.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        for key, part in (("optimizers", self.optimizers), ("schedulers", self.schedulers)):
            for name, value in state[key].items():
                part[name].load_state_dict(value)


def optimizer_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """Zero the gradients, back-propagate `loss`, step."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
