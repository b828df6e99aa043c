"""Next-token prediction (character-level language models, as the course's Keras SimpleRNN).

Inputs are token ids [N, T] (one-hot encoded for the model with `one_hot=V`) or one-hot [N, T, V];
targets are the token after each sequence [N], or, with `sequence_targets`, the next token at
every step [N, T]. The model maps `x` (and, when `stateful`, the previous batch's state) to
`(logits, state)` or to logits alone: [N, T, V] (the last step is used for [N] targets) or [N, V].
A state is a tensor [layers, N, H] (or a tuple of them, as an LSTM's), as torch's RNNs return.

The hidden state starts from zero in every batch by default. With `stateful`, it is carried
from batch to batch (detached: no back-propagation across batches) and the batches are taken in
order, so sequence i of a batch must continue sequence i of the batch before (as Keras'
`stateful=True`); it restarts at each epoch and whenever the batch size changes. The evaluation
then carries it too, over batches of the training batch size.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from reprolab.engine.data import Split
from reprolab.engine.optim import make_optimizer, make_scheduler
from reprolab.engine.task import Task, optimizer_step

State = torch.Tensor | tuple[torch.Tensor, ...] | None


class LanguageModelTask(Task):
    """Cross-entropy of the next token; accuracy (%) and perplexity (exp of the loss)."""

    metrics = ("loss", "acc", "perplexity")
    primary = ("loss", "min")

    def __init__(self, model: nn.Module, optimizer: dict, scheduler: dict | None = None, *,
                 sequence_targets: bool = False, stateful: bool = False, one_hot: int = 0):
        self.model = model
        self.optimizer = make_optimizer(model, optimizer)
        self.optimizers = {"model": self.optimizer}
        self.schedulers = {"model": s} if (s := make_scheduler(self.optimizer, scheduler)) else {}
        self.sequence_targets, self.stateful, self.one_hot = sequence_targets, stateful, one_hot
        self.shuffle = not stateful
        self.state: State = None  # carried across batches when stateful
        self.tokens = 0  # training targets of the epoch so far

    def forward(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """Logits [N * T, V] or [N, V] matching the flattened targets, and the new state."""
        if self.one_hot:
            x = F.one_hot(x, self.one_hot).float()
        out = self.model(x) if state is None else self.model(x, state)
        logits, state = out if isinstance(out, tuple) else (out, None)
        if not self.sequence_targets and logits.dim() == 3:
            logits = logits[:, -1]
        return logits.flatten(0, -2), state

    def carry(self, state: State, n: int) -> State:
        """The state to start a batch of `n` sequences from: None unless stateful."""
        return state if self.stateful and _batch_size(state) == n else None

    def train_step(self, batch: Split) -> dict[str, torch.Tensor]:
        logits, state = self.forward(batch.x, self.carry(self.state, len(batch)))
        y = batch.y.flatten()
        loss = F.cross_entropy(logits, y)
        optimizer_step(self.optimizer, loss)
        self.state = _detach(state)
        self.tokens += len(y)
        return {"loss": loss.detach(), "hits": (logits.detach().argmax(1) == y).sum()}

    def summarize(self, steps: dict[str, torch.Tensor]) -> dict[str, float]:
        tokens, self.tokens = self.tokens, 0
        loss = steps["loss"].mean().item()
        return {"loss": loss, "acc": 100.0 * steps["hits"].sum().item() / tokens, "perplexity": _exp(loss)}

    @torch.no_grad()
    def evaluate(self, data: Split, batch_size: int) -> dict[str, float]:
        self.model.eval()
        loss_sum = torch.zeros((), device=data.y.device)
        hits = torch.zeros((), device=data.y.device)
        state = None
        for start in range(0, len(data), batch_size):
            batch = data[start:start + batch_size]
            logits, state = self.forward(batch.x, self.carry(state, len(batch)))
            y = batch.y.flatten()
            loss_sum += F.cross_entropy(logits, y, reduction="sum")
            hits += (logits.argmax(1) == y).sum()
        loss = loss_sum.item() / data.y.numel()
        return {"loss": loss, "acc": 100.0 * hits.item() / data.y.numel(), "perplexity": _exp(loss)}

    def end_epoch(self) -> float:
        self.state = None
        return super().end_epoch()


def _exp(loss: float) -> float:
    return math.exp(loss) if loss < 700 else math.inf


def _detach(state: State) -> State:
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return None if state is None else state.detach()


def _batch_size(state: State) -> int | None:
    """The batch size of a state [layers, N, H], as torch's RNNs' (or of the first of an LSTM's pair)."""
    if state is None:
        return None
    return (state[0] if isinstance(state, tuple) else state).shape[1]
