"""Shared fixtures: the repository, and one smoke run of the whole DAG per test session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


def snakemake(*args: str, cwd: Path, env: dict | None = None,
              check: bool = True) -> subprocess.CompletedProcess:
    """Run Snakemake (this interpreter's) in `cwd`, with the copy's own `src/` first on the path."""
    full_env = {**os.environ, "PYTHONPATH": str(Path(cwd) / "src"), **(env or {})}
    result = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=cwd, env=full_env,
                            capture_output=True, text=True)
    if check and result.returncode != 0:
        pytest.fail(f"snakemake {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Path:
    """The smoke preset run once, report included, in a temporary copy of the repository."""
    work = copy_repo(tmp_path_factory.mktemp("smoke") / "repo")
    snakemake("--cores", "2", "report", "--configfile", "presets/smoke.yaml", cwd=work)
    return work
