"""The `train` kind: one variant, one seed -> model.pt, history.csv, metrics.json.

The variant's `task` (default `classification`) picks the engine's task; other tasks get
`task_options` and take the stored inputs as they are (no normalizer).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from reprolab.architecture import input_shape
from reprolab.atomic import load_torch, save_torch, write_json
from reprolab.augment import make_augment
from reprolab.data.prepare import load_split
from reprolab.engine import Split, TrainConfig, confusion_matrix, fit, fit_normalizer, select_device
from reprolab.engine.data import load_normalizer, normalizer_state
from reprolab.engine.device import device_name
from reprolab.engine.runner import run_epochs
from reprolab.engine.tasks import make_task
from reprolab.errors import TrainingError
from reprolab.kinds import Job
from reprolab.models import build_model, count_parameters
from reprolab.registry import Variant


def load_data(params: dict, prepared_dir: Path) -> tuple[Split, Split, Split | None]:
    """Train, test and optional validation splits as the variant asks for them."""
    train = Split(**load_split(prepared_dir, "train"))
    test = Split(**load_split(prepared_dir, "test"))
    if params.get("swap_splits"):
        train, test = test, train
    val = None
    if n_val := params.get("validation_size"):
        n_val = min(int(n_val), len(train) // 5)
        train, val = train[:-n_val], train[-n_val:]
    return train, test, val


def out_of_memory(variant: Variant, device: torch.device, out_dir: Path) -> str:
    """What to change when a variant does not fit in the GPU's memory."""
    chapter, experiment, name = variant.id.split("/")
    return (f"{variant.id}: the GPU ({device_name(device)}) ran out of memory with batch_size "
            f"{variant.params['batch_size']}. Lower the variant's batch_size (config.yaml: chapters.{chapter}"
            f".experiments.{experiment}.variants.{name}.batch_size), run one GPU job at a time "
            f"(--resources gpu=1), or free the GPU memory other processes hold (nvidia-smi). The epochs "
            f"done are in {Path(out_dir) / 'checkpoint.pt'}: the same settings resume from it, a new "
            f"batch_size starts again")


def run(variant: Variant, seed: int, prepared_dir: Path, out_dir: Path) -> dict:
    """Train one seed of `variant`; write its artefacts in `out_dir`; return its metrics."""
    tic = time.perf_counter()
    params = variant.params
    out_dir = Path(out_dir)
    device = select_device(variant.device)
    train, test, val = load_data(params, Path(prepared_dir))
    torch.manual_seed(seed)
    model = build_model(params["model"], **params.get("model_options", {}))
    cfg = TrainConfig.from_params(params, seed)
    task = params.get("task", "classification")
    try:
        if task == "classification":
            normalizer = fit_normalizer(train.x, params.get("standardize", False))
            augment = make_augment(params.get("augment"), normalizer)
            result = fit(model, train, test, cfg, out_dir, device=device, transform=normalizer,
                         augment=augment, val=val)
        else:
            normalizer = None
            result = run_epochs(make_task(task, model.to(device), cfg.optimizer, cfg.scheduler,
                                          **params.get("task_options", {})),
                                train, cfg, out_dir, device=device, test=test, val=val)
    except torch.cuda.OutOfMemoryError as e:
        raise TrainingError(out_of_memory(variant, device, out_dir)) from e
    metrics = {"id": variant.id, "seed": seed, **result.final, "input_shape": input_shape(train.x),
               **run_facts(model, train, test, device, tic)}
    if task == "classification":
        metrics["n_classes"] = int(torch.cat([train.y, test.y]).max()) + 1
    if params.get("confusion_matrix") and task == "classification":
        metrics["confusion"] = confusion_matrix(model, test, normalizer, cfg.eval_batch_size, device).tolist()
    return save_seed(out_dir, {"model": params["model"], "model_options": params.get("model_options", {}),
                               "state_dict": model.state_dict(), "normalizer": normalizer_state(normalizer)},
                     metrics)


def run_facts(model: torch.nn.Module, train: Split, test: Split, device: torch.device,
              started: float) -> dict:
    """What every trained seed's metrics.json records besides its results: the network's and the
    data's sizes, the device, and the seconds since `started` (a `perf_counter` time)."""
    return {"params": count_parameters(model), "n_train": len(train), "n_test": len(test),
            "device": device.type,
            "device_name": device_name(device), "torch_threads": torch.get_num_threads(),
            "wall_time_s": time.perf_counter() - started}


def save_seed(out_dir: Path, model_file: dict, metrics: dict) -> dict:
    """A finished seed: `model.pt` then `metrics.json`, each written whole, then the checkpoint
    removed (a crash before that leaves it: the job then finishes without training again)."""
    save_torch(model_file, Path(out_dir) / "model.pt")
    write_json(Path(out_dir) / "metrics.json", metrics)
    (Path(out_dir) / "checkpoint.pt").unlink(missing_ok=True)
    return metrics


def load_trained(path: Path, device: torch.device | str = "cpu"):
    """A trained model and its input normalizer, from a `model.pt` written by `run`."""
    saved = load_torch(path, f"re-run the job that trains it (`snakemake {path} --force`)", device)
    model = build_model(saved["model"], **saved["model_options"])
    model.load_state_dict(saved["state_dict"])
    return model.to(device).eval(), load_normalizer(saved["normalizer"]).to(device)


def run_seed(job: Job) -> dict:
    """The `train` kind's job: one seed of a supervised variant (see `reprolab.kinds`)."""
    return run(job.variant, job.seed, job.inputs["prepared"], job.out_dir)

