"""The smoke preset end to end: wall time, peak memory, the no-op re-plan, one changed variant.

Runs `snakemake --cores 2 report --configfile presets/smoke.yaml` in a fresh temporary copy
of the repository (every chapter of the config), sampling the resident memory of the whole
process tree every 0.2 s, then:

- times a second `snakemake -n report` (nothing to do), without a Slurm client (a `scontrol`
  that fails at once, as local runs should be) and, where `scontrol` is installed, with the
  machine's own (which waits for a controller when none answers);
- changes one hyper-parameter of one variant (`mnist/keras_style/mlp`'s learning rate, in a
  further `--configfile` overlay) and counts the jobs a dry run then plans, by rule: the target
  is that variant's jobs, the jobs that read its model (`untangling/mlp_hidden`), its chapter's
  summary and the report, nothing else.

Usage: python bench/smoke_run.py [--cores 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.conftest import copy_repo, without_slurm  # noqa: E402

LOADS: list[float] = []  # the 1-min load average, sampled while the commands run
CHANGE = "chapters: {mnist: {experiments: {keras_style: {variants: {mlp: {optimizer: {lr: 0.5}}}}}}}\n"
EXPECTED = {"train": 1, "aggregate_seeds": 1, "untangling": 1, "chapter_summary": 1, "report": 1}


def tree_rss(process: psutil.Process) -> int:
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run(cmd: list[str], cwd: Path, env: dict, output: list | None = None) -> tuple[float, int]:
    """Wall time and peak summed RSS of `cmd` and all its descendants (its output into `output`)."""
    tic = time.perf_counter()
    with tempfile.TemporaryFile() as log:  # a file, not a pipe: a full pipe would block Snakemake
        proc = psutil.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, tree_rss(proc))
            LOADS.append(os.getloadavg()[0])
            time.sleep(0.2)
        if proc.returncode != 0:
            log.seek(0)
            sys.exit(f"{' '.join(cmd)} failed:\n{log.read().decode()[-3000:]}")
        if output is not None:
            log.seek(0)
            output.append(log.read().decode())
    return time.perf_counter() - tic, peak


def planned(dry_run: str) -> dict[str, int]:
    """Jobs per rule of a dry run (its "Job stats" table)."""
    stats = dry_run.split("Job stats:")[-1].split("\n\n")[0] if "Job stats:" in dry_run else ""
    found = {}
    for line in stats.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] != "total":
            found[parts[0]] = int(parts[1])
    return found


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", default="2")
    parser.add_argument("--overlay", default="", help="YAML text of a further config overlay for every run")
    parser.add_argument("--out", type=Path, default=Path("bench/out/smoke_run.json"))
    args = parser.parse_args([] if __name__ != "__main__" else None)
    with tempfile.TemporaryDirectory() as tmp:
        work = copy_repo(Path(tmp) / "repo")
        env = {**os.environ, "PYTHONPATH": str(work / "src"), "REPROLAB_PRESET": ""}
        local = without_slurm(env)
        snakemake = [sys.executable, "-m", "snakemake", "report", "--configfile", "presets/smoke.yaml"]
        if args.overlay:
            (work / "overlay.yaml").write_text(args.overlay)
            snakemake.append("overlay.yaml")
        load = os.getloadavg()[0]
        wall, peak = run([*snakemake, "--cores", args.cores], work, local)
        load_end, load_mean, load_max = os.getloadavg()[0], sum(LOADS) / len(LOADS), max(LOADS)
        replan, _ = run([*snakemake, "-n"], work, local)
        replan_slurm = run([*snakemake, "-n"], work, env)[0] if shutil.which("scontrol") else None
        (work / "change.yaml").write_text(CHANGE)
        out: list[str] = []
        run([*snakemake, "change.yaml", "-n"], work, local, out)
        rerun = planned(out[0])
        chapters = len(yaml.safe_load((work / "config.yaml").read_text())["chapters"])
        jobs = len(list((work / "benchmarks").rglob("*.tsv")))
    results = {"cores": args.cores, "chapters": chapters, "jobs": jobs, "wall_s": wall,
               "peak_rss_gib": peak / 2**30, "load_start": load, "load_end": load_end,
               "load_mean": load_mean, "load_max": load_max,
               "noop_dry_run_s": replan, "noop_dry_run_unanswered_slurm_s": replan_slurm,
               "rerun_after_one_change": rerun, "rerun_expected": EXPECTED, "overlay": args.overlay}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    def met(ok: bool) -> str:
        return "met" if ok else "MISSED"
    print(f"smoke DAG, {chapters} chapters, {jobs} jobs on {args.cores} cores: {wall:.0f} s "
          f"(target <= 300 s: {met(wall <= 300)}); load average {load:.1f} at the start, "
          f"{load_end:.1f} at the end, {load_mean:.1f} mean and {load_max:.1f} max during the run")
    print(f"peak memory of the process tree: {peak / 2**30:.2f} GiB "
          f"(target <= 4 GiB: {met(peak <= 4 * 2**30)})")
    print(f"second `snakemake -n report`, no Slurm client: {replan:.1f} s "
          f"(target <= 5 s: {met(replan <= 5)})")
    if replan_slurm is not None:
        print(f"same, with this machine's scontrol (no controller answers): {replan_slurm:.1f} s "
              f"(target <= 5 s: {met(replan_slurm <= 5)})")
    print(f"after changing mnist/keras_style/mlp's lr, a dry run plans {rerun} "
          f"(target {EXPECTED}: {met(rerun == EXPECTED)})")
    return results


if __name__ == "__main__":
    main()
