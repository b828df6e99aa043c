"""The one supervised training loop, shared by every `train` variant.

Data lives on the device as tensors and is batched by index (no per-sample DataLoader);
each split is normalised once, on the device, when training starts (not once per batch).
Each epoch seeds its own shuffling and dropout from `(seed, epoch)`, so a run resumed from
its last checkpoint gives exactly the result of an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from reprolab.errors import ConfigError, TrainingError

log = logging.getLogger(__name__)

HISTORY_COLUMNS = ["epoch", "train_loss", "train_acc", "test_loss", "test_acc",
                   "val_loss", "val_acc", "lr", "seconds"]


Inputs = torch.Tensor | dict[str, torch.Tensor]  # one tensor, or one per modality


def take(x: Inputs, index) -> Inputs:
    """Rows `index` (a tensor of indices or a slice) of one input or of every modality."""
    return {k: v[index] for k, v in x.items()} if isinstance(x, dict) else x[index]


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
        return Split(take(self.x, index), self.y[index])


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


@dataclass
class TrainConfig:
    """Hyper-parameters of one run, straight from the experiment registry."""

    epochs: int
    batch_size: int
    optimizer: dict
    scheduler: dict | None = None
    seed: int = 0
    eval_batch_size: int = 1000
    keep_best: bool = False  # with a validation split: test the best-on-validation model
    fingerprint: str = ""  # a checkpoint made under other settings is never resumed


@dataclass
class FitResult:
    history: list[dict]
    final: dict = field(default_factory=dict)


def select_device(name: str) -> torch.device:
    """`auto` -> CUDA when present, else CPU; `cuda` fails clearly when there is none."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device: cuda was asked for but no CUDA GPU is visible; "
                          "use device: auto or device: cpu")
    return torch.device(name)


def make_optimizer(params, settings: dict) -> torch.optim.Optimizer:
    """Optimizer from `{name, lr, momentum?, weight_decay?, ...}`."""
    settings = dict(settings)
    name = settings.pop("name")
    classes = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
               "adadelta": torch.optim.Adadelta, "rmsprop": torch.optim.RMSprop}
    if name not in classes:
        raise ConfigError(f"unknown optimizer {name!r}; known: {', '.join(classes)}")
    return classes[name](params, **settings)


def make_scheduler(optimizer, settings: dict | None):
    """Per-epoch LR schedule from `{name: step|exponential|cosine, ...}`, or None."""
    if not settings:
        return None
    settings = dict(settings)
    name = settings.pop("name")
    classes = {"step": torch.optim.lr_scheduler.StepLR,
               "exponential": torch.optim.lr_scheduler.ExponentialLR,
               "cosine": torch.optim.lr_scheduler.CosineAnnealingLR}
    if name not in classes:
        raise ConfigError(f"unknown scheduler {name!r}; known: {', '.join(classes)}")
    return classes[name](optimizer, **settings)


@torch.no_grad()
def evaluate(model: nn.Module, data: Split, transform: nn.Module, batch_size: int,
             device: torch.device) -> tuple[float, float]:
    """Mean cross-entropy and accuracy (%) of `model` on `data`."""
    model.eval()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device)
    for start in range(0, len(data), batch_size):
        batch = data[start:start + batch_size]
        xb, yb = transform(batch.x), batch.y
        with _autocast(device):
            out = model(_layout(xb, device))
        loss_sum += nn.functional.cross_entropy(out.float(), yb, reduction="sum")
        correct += (out.argmax(1) == yb).sum()
    return loss_sum.item() / len(data), 100.0 * correct.item() / len(data)


@torch.no_grad()
def confusion_matrix(model: nn.Module, data: Split, transform: nn.Module, batch_size: int,
                     device: torch.device) -> torch.Tensor:
    """Counts [true class, predicted class] of `model` on `data` (classes: the model's outputs)."""
    model.eval()
    counts = None
    data = data.to(device)  # once, not batch by batch
    for start in range(0, len(data), batch_size):
        batch = data[start:start + batch_size]
        with _autocast(device):
            out = model(_layout(transform(batch.x), device))
        k = out.shape[1]
        found = torch.bincount(batch.y * k + out.argmax(1), minlength=k * k).view(k, k).cpu()
        counts = found if counts is None else counts + found
    return counts


@torch.no_grad()
def transform_all(transform: nn.Module, data: Split, chunk: int = 8192) -> Split:
    """Apply the input transform once to a whole split, in chunks, rather than to every batch."""
    parts = [transform(data[start:start + chunk].x) for start in range(0, len(data), chunk)]
    if isinstance(parts[0], dict):
        return Split({k: torch.cat([p[k] for p in parts]) for k in parts[0]}, data.y)
    return Split(torch.cat(parts), data.y)


def _autocast(device: torch.device):
    if device.type != "cuda":
        return contextlib.nullcontext()
    return torch.autocast("cuda", dtype=torch.bfloat16)


def _layout(x: Inputs, device: torch.device) -> Inputs:
    if isinstance(x, dict):
        return {k: _layout(v, device) for k, v in x.items()}
    if device.type == "cuda" and x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x


def _save_atomic(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _write_history(rows: list[dict], path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=HISTORY_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


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
    """Train `model` on `train`, evaluating on `test` (and `val`) after every epoch.

    Writes `history.csv` and `checkpoint.pt` in `out_dir` after each epoch and resumes from
    the checkpoint when one made with the same fingerprint is there.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path, history_path = out_dir / "checkpoint.pt", out_dir / "history.csv"
    transform = (transform or Normalizer()).to(device)
    model.to(device)
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    train, test = transform_all(transform, train.to(device)), transform_all(transform, test.to(device))
    val = transform_all(transform, val.to(device)) if val is not None else None
    transform = nn.Identity()  # the splits are model inputs now
    optimizer = make_optimizer(model.parameters(), cfg.optimizer)
    scheduler = make_scheduler(optimizer, cfg.scheduler)

    history: list[dict] = []
    best = {"val_acc": -math.inf, "epoch": None, "state": None}
    start_epoch = 0
    if ckpt_path.exists():
        ckpt = torch.load(ckpt_path, map_location=device, weights_only=False)
        if ckpt["fingerprint"] == cfg.fingerprint:
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            if scheduler is not None:
                scheduler.load_state_dict(ckpt["scheduler"])
            history, best, start_epoch = ckpt["history"], ckpt["best"], ckpt["epoch"]
            log.info("resuming from %s after epoch %d", ckpt_path, start_epoch)
        else:
            log.warning("ignoring %s: it was made with other settings", ckpt_path)

    n, bs = len(train), cfg.batch_size
    if n == 0:
        raise TrainingError(f"the training split is empty; check the dataset under {out_dir}")
    n_batches = math.ceil(n / bs)
    loss_fn = nn.CrossEntropyLoss()
    train_seconds = 0.0
    bar = tqdm(range(start_epoch, cfg.epochs), initial=start_epoch, total=cfg.epochs,
               desc=out_dir.as_posix()[-40:], unit="epoch", disable=None)
    for epoch in bar:
        tic = time.perf_counter()
        torch.manual_seed(cfg.seed * 1_000_003 + epoch)  # dropout, augmentation
        order = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.seed * 7919 + epoch))
        order = order.to(device)
        model.train()
        losses, hits = [], []  # device tensors: no host sync inside the epoch
        for b in range(n_batches):
            batch = train[order[b * bs:(b + 1) * bs]]
            xb, yb = batch.x, batch.y
            if augment is not None:
                xb = augment(xb)
            with _autocast(device):
                out = model(_layout(xb, device))
                loss = loss_fn(out.float(), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.detach())
            hits.append((out.detach().argmax(1) == yb).sum())
        batch_losses, correct = torch.stack(losses), torch.stack(hits).sum()
        bad = (~torch.isfinite(batch_losses)).nonzero()
        if len(bad):
            raise TrainingError(
                f"loss became {batch_losses[bad[0, 0]].item()} at epoch {epoch + 1}, batch "
                f"{bad[0, 0].item() + 1} of {n_batches}; lower the learning rate or check the "
                f"inputs (last good checkpoint: {ckpt_path if ckpt_path.exists() else 'none'})"
            )
        lr = optimizer.param_groups[0]["lr"]
        if scheduler is not None:
            scheduler.step()
        seconds = time.perf_counter() - tic
        train_seconds += seconds
        row = {"epoch": epoch + 1,
               "train_loss": batch_losses.mean().item(),
               "train_acc": 100.0 * correct.item() / n, "lr": lr, "seconds": seconds}
        row["test_loss"], row["test_acc"] = evaluate(model, test, transform, cfg.eval_batch_size, device)
        if val is not None:
            row["val_loss"], row["val_acc"] = evaluate(model, val, transform, cfg.eval_batch_size, device)
            if row["val_acc"] > best["val_acc"]:
                best = {"val_acc": row["val_acc"], "epoch": epoch + 1,
                        "state": copy.deepcopy(model.state_dict())}
        history.append(row)
        bar.set_postfix(loss=f"{row['train_loss']:.3f}", test_acc=f"{row['test_acc']:.2f}")
        log.info("epoch %d/%d  train loss %.4f acc %.2f  test loss %.4f acc %.2f  (%.1f s)",
                 epoch + 1, cfg.epochs, row["train_loss"], row["train_acc"],
                 row["test_loss"], row["test_acc"], seconds)
        _write_history(history, history_path)
        _save_atomic({"epoch": epoch + 1, "model": model.state_dict(),
                      "optimizer": optimizer.state_dict(),
                      "scheduler": scheduler.state_dict() if scheduler else None,
                      "history": history, "best": best, "fingerprint": cfg.fingerprint}, ckpt_path)

    if not history:
        raise TrainingError(f"no epoch to train (epochs={cfg.epochs})")
    last = history[-1]
    final = {"epochs": len(history), "train_loss": last["train_loss"], "train_acc": last["train_acc"],
             "test_loss": last["test_loss"], "test_acc": last["test_acc"],
             "train_samples_per_s": n * (cfg.epochs - start_epoch) / train_seconds
             if train_seconds else None}
    if val is not None and cfg.keep_best and best["state"] is not None:
        model.load_state_dict(best["state"])
        final["test_loss"], final["test_acc"] = evaluate(model, test, transform,
                                                         cfg.eval_batch_size, device)
        final["best_epoch"], final["val_acc"] = best["epoch"], best["val_acc"]
    return FitResult(history, final)
