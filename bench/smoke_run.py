"""The smoke preset end to end: wall time, peak memory, and the no-op re-plan time.

Runs `snakemake --cores 2 report --configfile presets/smoke.yaml` in a fresh temporary copy
of the repository, sampling the resident memory of the whole process tree every 0.2 s, then
times a second `snakemake -n report` (nothing to do).

Usage: python bench/smoke_run.py [--cores 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import copy_repo  # noqa: E402


def tree_rss(process: psutil.Process) -> int:
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run(cmd: list[str], cwd: Path, env: dict) -> tuple[float, int]:
    """Wall time and peak summed RSS of `cmd` and all its descendants."""
    tic = time.perf_counter()
    with tempfile.TemporaryFile() as log:  # a file, not a pipe: a full pipe would block Snakemake
        proc = psutil.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, tree_rss(proc))
            time.sleep(0.2)
        if proc.returncode != 0:
            log.seek(0)
            sys.exit(f"{' '.join(cmd)} failed:\n{log.read().decode()[-3000:]}")
    return time.perf_counter() - tic, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", default="2")
    parser.add_argument("--out", type=Path, default=Path("bench/out/smoke_run.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = copy_repo(Path(tmp) / "repo")
        env = {**os.environ, "PYTHONPATH": str(work / "src"), "REPROLAB_PRESET": ""}
        snakemake = [sys.executable, "-m", "snakemake", "report", "--configfile", "presets/smoke.yaml"]
        wall, peak = run([*snakemake, "--cores", args.cores], work, env)
        replan, _ = run([*snakemake, "-n"], work, env)
        jobs = len(list((work / "benchmarks").rglob("*.tsv")))
    results = {"cores": args.cores, "jobs": jobs, "wall_s": wall, "peak_rss_gib": peak / 2**30,
               "noop_dry_run_s": replan}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"smoke DAG, {jobs} jobs on {args.cores} cores: {wall:.0f} s (target <= 300 s)")
    print(f"peak memory of the process tree: {peak / 2**30:.2f} GiB (target <= 4 GiB)")
    print(f"second `snakemake -n report`: {replan:.1f} s (target <= 5 s)")


if __name__ == "__main__":
    main()
