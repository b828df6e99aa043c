"""Shared fixtures: the repository, and one smoke run of the whole DAG per test session."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
OUTPUTS = {"data", "features", "results", "report", "logs", "benchmarks", ".snakemake", ".venv", ".git",
           "bench", "tests", ".dvc/cache", ".dvc/tmp"}


def copy_repo(dest: Path) -> Path:
    """A copy of the working tree without its outputs (data, results, venv...)."""
    def ignore(folder, names):
        rel = Path(folder).relative_to(REPO)
        return [n for n in names if str(rel / n) in OUTPUTS or n == "__pycache__"]

    shutil.copytree(REPO, dest, ignore=ignore)
    return dest


NO_SLURM_BIN = Path(tempfile.mkdtemp(prefix="no-slurm-"))
(NO_SLURM_BIN / "scontrol").write_text("#!/bin/sh\nexit 1\n")
(NO_SLURM_BIN / "scontrol").chmod(0o755)


def without_slurm(env: dict) -> dict:
    """`env` with a `scontrol` that fails at once first on the PATH. The Slurm executor plugin, once
    installed, asks `scontrol show config` at every Snakemake start; where the Slurm client is
    installed and no controller answers (CI), that waits 9 s. Local runs do not need the answer."""
    return {**env, "PATH": f"{NO_SLURM_BIN}{os.pathsep}{env.get('PATH', os.environ['PATH'])}"}


def snakemake(*args: str, cwd: Path, env: dict | None = None, check: bool = True,
              slurm: bool = False) -> subprocess.CompletedProcess:
    """Run Snakemake (this interpreter's) in `cwd`, with the copy's own `src/` first on the path;
    without a Slurm client (`without_slurm`) but for the tests of the Slurm profile (`slurm`)."""
    full_env = {**os.environ, "PYTHONPATH": str(Path(cwd) / "src"), **(env or {})}
    full_env = full_env if slurm else without_slurm(full_env)
    result = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=cwd, env=full_env,
                            capture_output=True, text=True)
    if check and result.returncode != 0:
        pytest.fail(f"snakemake {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def toy_cifar(folder: Path) -> None:
    """A prepared CIFAR-like dataset (96 train, 32 test uint8 images with a learnable stripe)."""
    g = torch.Generator().manual_seed(0)
    for split, n in (("train", 96), ("test", 32)):
        y = torch.arange(n) % 10
        x = (torch.rand(n, 3, 32, 32, generator=g) * 80).to(torch.uint8)
        x[torch.arange(n), y % 3, 4 + y, :] = 255
        torch.save({"x": x, "y": y}, Path(folder) / f"{split}.pt")


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Path:
    """The smoke preset run once, report included, in a temporary copy of the repository."""
    work = copy_repo(tmp_path_factory.mktemp("smoke") / "repo")
    snakemake("--cores", "2", "report", "--configfile", "presets/smoke.yaml", cwd=work)
    return work


@pytest.fixture(scope="session")
def full_plan(tmp_path_factory) -> list[str]:
    """The full-scale run's dry-run, one text block per job; planned once per test session."""
    clean = copy_repo(tmp_path_factory.mktemp("plan") / "repo")
    out = snakemake("report", "-n", "--cores", "8", "--resources", "gpu=1", cwd=clean,
                    env={"REPROLAB_PRESET": ""}).stdout
    return [block for block in out.split("\n\n") if re.search(r"^(?:local)?rule \w+:", block, re.M)]


@pytest.fixture(scope="session")
def full_plan_params(tmp_path_factory) -> list[dict]:
    """The full-scale run's jobs with the params their scripts will get ({rule, wildcards, params}).

    A dry-run prints no params: `tests/plan_params.py` builds the same DAG through Snakemake's API.
    """
    clean = copy_repo(tmp_path_factory.mktemp("plan_params") / "repo")
    out = clean / "planned.json"
    env = {**os.environ, "PYTHONPATH": str(clean / "src"), "REPROLAB_PRESET": ""}
    result = subprocess.run([sys.executable, str(REPO / "tests" / "plan_params.py"), "report", str(out)],
                            cwd=clean, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"planning the full run failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return json.loads(out.read_text())


def job_rule(block: str) -> str:
    """The rule of one job block of a dry-run."""
    return re.search(r"^(?:local)?rule (\w+):", block, re.M).group(1)


def job_wildcards(block: str) -> dict[str, str]:
    """The wildcards of one job block of a dry-run, e.g. {"id": "mnist/keras_style/cnn", "seed": "0"}."""
    found = re.search(r"^\s+wildcards: (.*)$", block, re.M)
    return dict(pair.split("=", 1) for pair in found.group(1).split(", ")) if found else {}


def pytest_collection_modifyitems(items):
    """Layers: tests that plan the DAG are marked `dag`, those that run it (smoke run, DVC, Slurm) `e2e`."""
    for item in items:
        if "smoke_run" in item.fixturenames:
            item.add_marker(pytest.mark.e2e)
        elif ({"full_plan", "full_plan_params"} & set(item.fixturenames)
              or item.module.__name__.endswith("test_dag")):
            item.add_marker(pytest.mark.dag)
