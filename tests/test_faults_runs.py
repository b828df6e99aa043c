"""Fault injection, training jobs (issue 15, faults 1, 7 and 9).

`kill -9` in the middle of an epoch, then the same command: the run resumes from the last
checkpoint and ends with the uninterrupted run's numbers, bit for bit (CPU, fresh processes, one
thread each, as `tests/test_determinism.py` compares them). The disk fills up while the results
are written: no declared output is left half-written, and the next run finishes from the
checkpoint. NaN loss, a CUDA device where there is none, a GPU out of memory: an error that says
what to change.
"""

from __future__ import annotations

import builtins
import errno
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from reprolab import kinds, train
from reprolab.engine.tasks.classification import ClassificationTask
from reprolab.errors import ConfigError, TrainingError
from reprolab.registry import Variant
from tests.conftest import REPO

# Shuffling, a random flip per image, momentum and a schedule: all must resume where they were.
PARAMS = {"kind": "train", "dataset": "toy", "model": "mlp", "model_options": {"hidden": 1000}, "epochs": 4,
          "batch_size": 100, "standardize": True, "augment": {"hflip": True},
          "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
          "scheduler": {"name": "step", "step_size": 1, "gamma": 0.7}, "seeds": [0], "device": "cpu"}

# Trains one seed of a variant in each folder named, one after the other, and prints their metrics.
TRAIN = """
import json, logging, sys, torch
from pathlib import Path
from reprolab import train
from reprolab.registry import Variant
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True, warn_only=True)
variant = Variant("toy", "faults", "mlp", json.loads(sys.argv[2]))
print(json.dumps([train.run(variant, 0, Path(sys.argv[1]), Path(out)) for out in sys.argv[3:]]))
"""


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    """A prepared toy dataset: 2,000 training and 200 test images (1 x 28 x 28, a stripe per class)."""
    folder = tmp_path_factory.mktemp("prepared")
    g = torch.Generator().manual_seed(0)
    for split, n in (("train", 2000), ("test", 200)):
        y = torch.arange(n) % 10
        x = (torch.rand(n, 1, 28, 28, generator=g) * 60).to(torch.uint8)
        x[torch.arange(n), 0, 2 * y + 4, 4:24] = 255
        torch.save({"x": x, "y": y}, folder / f"{split}.pt")
    return folder


def start(prepared: Path, *outs: Path) -> subprocess.Popen:
    """A fresh Python process training `PARAMS` into each of `outs`."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.Popen([sys.executable, "-c", TRAIN, str(prepared), json.dumps(PARAMS), *map(str, outs)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> tuple[list[dict], str]:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1]), err


@pytest.fixture(autouse=True)
def one_thread():
    """In-process training on one thread, as the subprocesses do (fast and the same bits on a busy CPU)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def same_run(a: Path, b: Path, metrics_a: dict, metrics_b: dict) -> None:
    """Equal metrics (but timings), history (but seconds) and weights, bit for bit."""
    timing = {"wall_time_s", "train_samples_per_s"}
    assert {k: v for k, v in metrics_a.items() if k not in timing} == \
        {k: v for k, v in metrics_b.items() if k not in timing}
    ha, hb = (pd.read_csv(d / "history.csv").drop(columns="seconds") for d in (a, b))
    pd.testing.assert_frame_equal(ha, hb, check_exact=True)
    wa, wb = (torch.load(d / "model.pt", weights_only=True)["state_dict"] for d in (a, b))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


# -- fault 1: kill -9 mid-epoch ---------------------------------------------------------------

def test_kill_9_mid_epoch_then_the_same_command_resumes_to_the_same_bits(prepared, tmp_path):
    killed = start(prepared, tmp_path / "b")
    checkpoint = tmp_path / "b" / "checkpoint.pt"
    deadline = time.monotonic() + 240
    while not checkpoint.exists() and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert killed.poll() is None, "the run ended before its first checkpoint: nothing to kill"
    os.kill(killed.pid, signal.SIGKILL)  # epoch 1 is saved, epoch 2 has begun
    killed.wait()
    assert killed.returncode == -signal.SIGKILL
    assert not (tmp_path / "b" / "metrics.json").exists() and not (tmp_path / "b" / "model.pt").exists()
    saved = torch.load(checkpoint, weights_only=True)["epoch"]
    assert 1 <= saved < PARAMS["epochs"]

    # The same command again, in a fresh process; then, in that process, an uninterrupted run.
    (resumed, expected), log = finish(start(prepared, tmp_path / "b", tmp_path / "a"))
    assert f"resuming from {checkpoint} after epoch {saved}" in log
    same_run(tmp_path / "a", tmp_path / "b", expected, resumed)
    assert not checkpoint.exists()  # a finished run leaves its declared outputs only


# -- fault 7: disk full while writing a result ------------------------------------------------

class _Filling:
    """A file on a disk with `state["free"]` bytes left: the write that needs more fails (ENOSPC),
    after writing what fits, as the kernel does."""

    def __init__(self, f, state):
        self._f, self._state = f, state

    def write(self, data):
        if len(data) > self._state["free"]:
            self._f.write(data[: self._state["free"]])
            self._state["free"] = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), getattr(self._f, "name", None))
        self._state["free"] -= len(data)
        return self._f.write(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._f.close()


def disk_full(monkeypatch, under: Path, free: int) -> None:
    """From now on, files opened for writing under `under` share `free` bytes (open, Path.write_*)."""
    real_open, state = builtins.open, {"free": free}

    def filling_open(file, mode="r", *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)
        writing = any(c in mode for c in "wax+")
        inside = isinstance(file, str | Path) and Path(file).resolve().is_relative_to(under)
        return _Filling(f, state) if writing and inside else f

    monkeypatch.setattr(builtins, "open", filling_open)
    monkeypatch.setattr(io, "open", filling_open)


def train_job(prepared: Path, out: Path, **params) -> kinds.Job:
    """One seed of a small variant, as the `train` rule runs it."""
    variant = Variant("toy", "faults", "mlp", PARAMS | {"model_options": {}, "epochs": 2} | params)
    outputs = {name.split(".")[0]: out / name for name in kinds.get("train").outputs}
    return kinds.Job(variant=variant, inputs={"prepared": prepared}, outputs=outputs, seed=0)


def test_disk_full_while_writing_the_results_leaves_no_half_file(prepared, tmp_path, monkeypatch):
    clean = train_job(prepared, tmp_path / "clean")
    expected = kinds.get("train").run(clean)

    job = train_job(prepared, tmp_path / "full")
    real_fit = train.fit

    with monkeypatch.context() as patch:
        def fit_then_fill_the_disk(*args, **kwargs):
            result = real_fit(*args, **kwargs)
            disk_full(patch, tmp_path, free=4096)  # the model file (about 320 kB) will not fit
            return result

        patch.setattr(train, "fit", fit_then_fill_the_disk)
        with pytest.raises(OSError) as err:
            kinds.get("train").run(job)
        assert err.value.errno == errno.ENOSPC
    out = tmp_path / "full"
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt"]  # no result, no temp file
    assert torch.load(out / "checkpoint.pt", weights_only=True)["epoch"] == 2  # whole, and final

    again = kinds.get("train").run(job)  # space freed: the same job again finishes from the checkpoint
    same_run(tmp_path / "clean", out, expected, again)


def half_writer(job: kinds.Job) -> None:
    """A kind's job writing as chapters do, with plain `Path.write_*`."""
    job.outputs["figure"].write_bytes(b"\x89PNG" + bytes(1000))
    job.outputs["metrics"].write_text(json.dumps({"values": list(range(2000))}))


def test_a_kind_job_that_fails_on_a_full_disk_leaves_none_of_its_outputs(tmp_path, monkeypatch):
    kind = kinds.Kind("half_writer", job=f"{__name__}:half_writer", outputs=("figure.png", "metrics.json"),
                      summarize="-")
    outputs = {"figure": tmp_path / "figure.png", "metrics": tmp_path / "metrics.json"}
    disk_full(monkeypatch, tmp_path, free=3000)  # the figure fits, the metrics do not
    with pytest.raises(OSError, match="No space left"):
        kind.run(kinds.Job(variant=Variant("c", "e", "v", {}), inputs={}, outputs=outputs))
    assert list(tmp_path.iterdir()) == []


# -- fault 9: NaN, no CUDA, out of GPU memory -------------------------------------------------

def test_nan_loss_stops_the_job_naming_epoch_batch_and_what_to_change(prepared, tmp_path):
    data = torch.load(prepared / "train.pt", weights_only=True)
    x = data["x"].float()
    x[1234, 0, 5, 5] = float("nan")  # one corrupt value in batch 13
    torch.save({"x": x, "y": data["y"]}, tmp_path / "train.pt")
    (tmp_path / "test.pt").write_bytes((prepared / "test.pt").read_bytes())
    with pytest.raises(TrainingError, match=r"became nan at epoch 1, batch \d+ of 20; lower the learning"):
        kinds.get("train").run(train_job(tmp_path, tmp_path / "out", standardize=False))
    assert not (tmp_path / "out" / "metrics.json").exists() and not (tmp_path / "out" / "model.pt").exists()


def test_cuda_asked_for_where_there_is_none_says_what_to_set(prepared, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="no CUDA GPU is visible.*device: auto.*device: cpu"):
        kinds.get("train").run(train_job(prepared, tmp_path / "out", device="cuda"))
    assert not (tmp_path / "out").exists()  # stopped before anything was written


def test_gpu_out_of_memory_names_the_batch_size_key_and_keeps_the_checkpoint(prepared, tmp_path,
                                                                              monkeypatch):
    real_step, calls = ClassificationTask.train_step, {"n": 0}

    def step(self, batch):
        calls["n"] += 1
        if calls["n"] > 20:  # epoch 2 (20 batches an epoch)
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_step(self, batch)

    monkeypatch.setattr(ClassificationTask, "train_step", step)
    with pytest.raises(TrainingError) as err:
        kinds.get("train").run(train_job(prepared, tmp_path / "out"))
    message = str(err.value)
    assert "ran out of memory with batch_size 100" in message and "--resources gpu=1" in message
    assert "chapters.toy.experiments.faults.variants.mlp.batch_size" in message
    assert torch.load(tmp_path / "out" / "checkpoint.pt", weights_only=True)["epoch"] == 1


def test_any_job_out_of_gpu_memory_says_what_to_change(tmp_path, capfd):
    from reprolab.job import job

    snakemake = type("Snakemake", (), {"log": [str(tmp_path / "job.log")], "params": {"threads": 1},
                                       "threads": 1})()
    with pytest.raises(torch.cuda.OutOfMemoryError), job(snakemake):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")
    assert "lower the batch size" in capfd.readouterr().err
