"""The epoch runner, shared by every task.

Data lives on the device as tensors and is batched by index (no per-sample DataLoader). Each
epoch seeds its own shuffling and dropout from `(seed, epoch)`, so a run resumed from its last
checkpoint gives exactly the result of an uninterrupted one. The history starts with epoch 0: the
initial model evaluated on every split before any update.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from reprolab.atomic import atomic_write, load_torch, save_torch
from reprolab.engine.data import Split
from reprolab.engine.task import Task
from reprolab.errors import DataError, TrainingError

log = logging.getLogger(__name__)

CHECKPOINT_VERSION = 3  # checkpoints of another layout are not resumed (3: histories start at epoch 0)


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
    compile: bool = False  # torch.compile the task's networks (config key `compile`)
    fingerprint: str = ""  # a checkpoint made under other settings is never resumed

    @classmethod
    def from_params(cls, params: dict, seed: int, **given) -> TrainConfig:
        """One seed's settings from a variant's registry params; `given` fields (the fingerprint
        of a run that also depends on its data, the evaluation batch) as they are."""
        fields = {"epochs": int(params["epochs"]), "batch_size": int(params["batch_size"]),
                  "optimizer": params["optimizer"], "scheduler": params.get("scheduler"), "seed": seed,
                  "keep_best": bool(params.get("keep_best", False)),
                  "compile": bool(params.get("compile", False)), "fingerprint": fingerprint(params, seed)}
        return cls(**(fields | given))


def fingerprint(params: dict, seed: int) -> str:
    """A short hash of a run's settings and seed: its checkpoint is resumed only under the same."""
    return hashlib.sha256(json.dumps([params, seed], sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class FitResult:
    history: list[dict]
    final: dict = field(default_factory=dict)


def history_columns(task: Task) -> list[str]:
    """`epoch`, the task's metrics per split, `lr`, `seconds`."""
    return ["epoch", *(f"{split}_{m}" for split in ("train", "test", "val") for m in task.metrics),
            "lr", "seconds"]


def run_epochs(task: Task, train: Split, cfg: TrainConfig, out_dir: Path, *, device: torch.device,
               test: Split | None = None, val: Split | None = None) -> FitResult:
    """Train `task` on `train` for `cfg.epochs`, evaluating on `test` and `val` after each epoch.

    Row 0 of the history is the initial model on every split (`initial_row`); it is not a
    candidate for the best epoch, and the final metrics add its test metrics as `initial_*`.
    Writes `history.csv` (and `steps.csv` when the task logs its steps) and `checkpoint.pt` in
    `out_dir` after each epoch; resumes from the checkpoint when one made with the same
    fingerprint is there. With `cfg.keep_best` and `val`, the final model is the one of the
    epoch best on the task's primary validation metric.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path, history_path, steps_path = (out_dir / name for name in
                                           ("checkpoint.pt", "history.csv", "steps.csv"))
    task.model.to(device)
    if cfg.compile:
        task.compile()
    train = train.to(device)
    test, val = (None if s is None else s.to(device) for s in (test, val))
    metric, direction = task.primary
    columns = history_columns(task)
    history: list[dict] = []
    best = {"value": -math.inf if direction == "max" else math.inf, "epoch": None, "state": None}
    start_epoch = 0
    ckpt = _read_checkpoint(ckpt_path, device) if ckpt_path.exists() else None
    if ckpt is not None and (ckpt.get("version"), ckpt.get("fingerprint")) == (CHECKPOINT_VERSION,
                                                                               cfg.fingerprint):
        task.load_state_dict(ckpt["task"])
        history, best, start_epoch = ckpt["history"], ckpt["best"], ckpt["epoch"]
        log.info("resuming from %s after epoch %d", ckpt_path, start_epoch)
        _write_csv(history, columns, history_path)  # it may be gone (a failed job's outputs are removed)
    elif ckpt is not None:
        log.warning("ignoring %s: it was made with other settings", ckpt_path)
    _trim_steps(steps_path, start_epoch)

    n, bs = len(train), cfg.batch_size
    if n == 0:
        raise TrainingError(f"the training split is empty; check the dataset under {out_dir}")
    if cfg.epochs < 1:
        raise TrainingError(f"no epoch to train (epochs={cfg.epochs})")
    n_batches = math.ceil(n / bs)
    eval_bs = cfg.eval_batch_size if task.shuffle else bs  # ordered batches: the same in evaluation
    if not history:
        history.append(initial_row(task, {"train": train, "test": test, "val": val}, eval_bs))
        _write_csv(history, columns, history_path)
    train_seconds = 0.0
    bar = tqdm(range(start_epoch, cfg.epochs), initial=start_epoch, total=cfg.epochs,
               desc=out_dir.as_posix()[-40:], unit="epoch", disable=None)
    for epoch in bar:
        tic = time.perf_counter()
        torch.manual_seed(cfg.seed * 1_000_003 + epoch)  # dropout, augmentation
        if task.shuffle:
            order = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.seed * 7919 + epoch))
            order = order.to(device)
        task.model.train()
        scalars: dict[str, list[torch.Tensor]] = {}  # device tensors: no host sync inside the epoch
        for b in range(n_batches):
            index = order[b * bs:(b + 1) * bs] if task.shuffle else slice(b * bs, (b + 1) * bs)
            for key, value in task.train_step(train[index]).items():
                scalars.setdefault(key, []).append(value)
        steps = {key: torch.stack(values) for key, values in scalars.items()}
        _check_finite(steps, epoch, n_batches, ckpt_path)
        lr = task.end_epoch()
        seconds = time.perf_counter() - tic
        train_seconds += seconds
        row = {"epoch": epoch + 1, **_prefixed("train", task.summarize(steps)), "lr": lr, "seconds": seconds}
        if test is not None:
            row |= _prefixed("test", task.evaluate(test, eval_bs))
        if val is not None:
            row |= _prefixed("val", task.evaluate(val, eval_bs))
            value = row[f"val_{metric}"]
            if value > best["value"] if direction == "max" else value < best["value"]:
                best = {"value": value, "epoch": epoch + 1, "state": copy.deepcopy(task.model.state_dict())}
        history.append(row)
        shown = [k for k in (f"train_{task.metrics[0]}", f"test_{metric}") if k in row]
        bar.set_postfix({k: f"{row[k]:.3f}" for k in shown})
        log.info("epoch %d/%d  %s  (%.1f s)", epoch + 1, cfg.epochs,
                 "  ".join(f"{k} {row[k]:.4f}" for k in columns[1:-2] if k in row), seconds)
        _write_csv(history, columns, history_path)
        if step_rows := task.pop_steps():
            _append_steps([{"epoch": epoch + 1, **r} for r in step_rows], steps_path)
        save_torch({"version": CHECKPOINT_VERSION, "epoch": epoch + 1, "task": task.state_dict(),
                      "history": history, "best": best, "fingerprint": cfg.fingerprint}, ckpt_path)

    last = history[-1]
    final = {"epochs": last["epoch"],
             **{k: last[k] for k in columns if k.startswith(("train_", "test_")) and k in last},
             "train_samples_per_s": n * (cfg.epochs - start_epoch) / train_seconds if train_seconds else None}
    if val is not None and cfg.keep_best and best["state"] is not None:
        task.model.load_state_dict(best["state"])
        if test is not None:
            final |= _prefixed("test", task.evaluate(test, eval_bs))
        final["best_epoch"], final[f"val_{metric}"] = best["epoch"], best["value"]
    final |= {f"initial_{m}": history[0][f"test_{m}"] for m in task.metrics if f"test_{m}" in history[0]}
    return FitResult(history, final)


def initial_row(task: Task, splits: dict[str, Split | None], batch_size: int) -> dict:
    """Epoch 0: the untrained model evaluated (eval mode, whole splits) before any update.

    It draws no random numbers from the generators training uses, so every later number is the
    same with or without it.
    """
    row = {"epoch": 0}
    for name, split in splits.items():
        if split is not None:
            row |= _prefixed(name, task.evaluate(split, batch_size))
    log.info("epoch 0 (initial model)  %s", "  ".join(f"{k} {v:.4f}" for k, v in row.items() if k != "epoch"))
    return row | {"lr": task.lr(), "seconds": 0.0}


def _prefixed(split: str, metrics: dict[str, float]) -> dict[str, float]:
    return {f"{split}_{k}": v for k, v in metrics.items()}


def _read_checkpoint(path: Path, device: torch.device) -> dict | None:
    """The checkpoint, or None (and a warning) when it cannot be read: training starts again."""
    try:
        ckpt = load_torch(path, "training starts again from epoch 0", device)
    except DataError as e:
        log.warning("%s", e)
        return None
    return ckpt if isinstance(ckpt, dict) else None


def _check_finite(steps: dict[str, torch.Tensor], epoch: int, n_batches: int, ckpt_path: Path) -> None:
    for key, values in steps.items():
        if not values.is_floating_point():
            continue
        bad = (~torch.isfinite(values)).nonzero()
        if len(bad):
            raise TrainingError(
                f"{key} became {values[bad[0, 0]].item()} at epoch {epoch + 1}, batch "
                f"{bad[0, 0].item() + 1} of {n_batches}; lower the learning rate or check the "
                f"inputs (last good checkpoint: {ckpt_path if ckpt_path.exists() else 'none'})"
            )


def _write_csv(rows: list[dict], columns: list[str], path: Path) -> None:
    with atomic_write(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def _append_steps(rows: list[dict], path: Path) -> None:
    new = not path.exists()
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        if new:
            writer.writeheader()
        writer.writerows(rows)


def _trim_steps(path: Path, epochs: int) -> None:
    """Keep the rows of `steps.csv` of the first `epochs` epochs (those of the checkpoint)."""
    if not path.exists():
        return
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if int(r["epoch"]) <= epochs]
    if rows:
        _write_csv(rows, list(rows[0]), path)
    else:
        path.unlink()
