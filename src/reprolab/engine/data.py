"""Splits held as tensors on the device, and the input normalisation applied to them once."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

Inputs = torch.Tensor | dict[str, torch.Tensor]  # one tensor, or one per modality


def rows(x: torch.Tensor, index) -> torch.Tensor:
    """`x[index]`; with a 1-d tensor of indices, `index_select` (the same rows, about 10x less
    overhead per call on a CPU than advanced indexing: it counts once per batch of every epoch)."""
    if isinstance(index, torch.Tensor) and index.dim() == 1 and index.dtype == torch.int64:
        return x.index_select(0, index)
    return x[index]


def take(x: Inputs, index) -> Inputs:
    """Rows `index` (a tensor of indices or a slice) of one input or of every modality."""
    return {k: rows(v, index) for k, v in x.items()} if isinstance(x, dict) else rows(x, index)


@dataclass
class Split:
    """Inputs (a tensor, or a dict of tensors for multimodal data) and labels of one split."""

    x: Inputs
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)

    def to(self, device: torch.device) -> Split:
        x = {k: v.to(device) for k, v in self.x.items()} if isinstance(self.x, dict) else self.x.to(device)
        return Split(x, self.y.to(device))

    def __getitem__(self, index) -> Split:
        return Split(take(self.x, index), rows(self.y, index))


class Normalizer(nn.Module):
    """Stored inputs -> float model inputs: `(x * scale - mean) / std`, per channel."""

    def __init__(self, scale: float = 1.0, mean: torch.Tensor | None = None,
                 std: torch.Tensor | None = None):
        super().__init__()
        self.scale = scale
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    @classmethod
    def fit(cls, x: torch.Tensor, scale: float, standardize: bool) -> Normalizer:
        """Per-channel statistics of the training inputs `x` [N, C, ...] (train split only)."""
        if not standardize:
            return cls(scale)
        dims = [0] + list(range(2, x.dim()))
        xf = x.float() * scale
        shape = [1, x.shape[1]] + [1] * (x.dim() - 2)
        return cls(scale, xf.mean(dims).view(shape), xf.std(dims).view(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(torch.float32, copy=True).mul_(self.scale)
        if self.mean is not None:
            x = x.sub_(self.mean).div_(self.std)
        return x


class MultiNormalizer(nn.ModuleDict):
    """One `Normalizer` per modality of dict inputs."""

    def forward(self, x: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: self[k](v) for k, v in x.items()}


def fit_normalizer(x: Inputs, standardize: bool) -> nn.Module:
    """A normalizer for stored inputs: uint8 is scaled to [0, 1]; statistics from train only."""
    if isinstance(x, dict):
        return MultiNormalizer({k: fit_normalizer(v, standardize) for k, v in x.items()})
    return Normalizer.fit(x, 1 / 255 if x.dtype == torch.uint8 else 1.0, standardize)


def normalizer_state(normalizer: nn.Module | None) -> dict | None:
    """A normalizer as plain data (loadable with `torch.load(..., weights_only=True)`)."""
    if normalizer is None:
        return None
    if isinstance(normalizer, MultiNormalizer):
        return {"modalities": {k: normalizer_state(v) for k, v in normalizer.items()}}
    return {"scale": normalizer.scale, "mean": normalizer.mean, "std": normalizer.std}


def load_normalizer(state: dict | None) -> nn.Module:
    """The normalizer of `normalizer_state` (the identity for None)."""
    if state is None:
        return nn.Identity()
    if "modalities" in state:
        return MultiNormalizer({k: load_normalizer(v) for k, v in state["modalities"].items()})
    return Normalizer(state["scale"], state["mean"], state["std"])


@torch.no_grad()
def transform_all(transform: nn.Module, data: Split, chunk: int = 8192) -> Split:
    """Apply the input transform once to a whole split, in chunks, rather than to every batch."""
    parts = [transform(data[start:start + chunk].x) for start in range(0, len(data), chunk)]
    if isinstance(parts[0], dict):
        return Split({k: torch.cat([p[k] for p in parts]) for k in parts[0]}, data.y)
    return Split(torch.cat(parts), data.y)
