"""Every benchmark of issue 14, one command, one table: `python bench/run.py` (or `make bench`).

Runs, in this order, each in its own process (so that one's threads and imports do not slow the
next), printing each one's detailed output as it goes:

1. `bench/models.py`: engine vs the bare forward/backward/step loop (the compute limit) for every
   distinct network of the config's `train` variants, and vs the classic per-sample loop for the
   MNIST MLPs (CPU, 1 thread);
2. `bench/cifar_augment.py`: the cost of the batched augmentation;
3. `bench/plan.py`: in the full plan, each dataset, asset and feature set made by one job;
4. `bench/smoke_run.py`: the smoke DAG cold (every chapter), its peak memory, the no-op re-plan with
   and without a Slurm client that does not answer, and the jobs one changed hyper-parameter re-runs;
5. `bench/gpu_measure.py` (where a CUDA GPU is visible: the `train` variants' samples/s, memory and
   full-scale minutes measured on it), then `bench/gpu_budget.py`: the full-scale GPU minutes on
   one H100, ESTIMATED from FLOPs where not measured.

Then the summary table (Markdown, for the README). Each part writes `bench/out/<name>.json`.
`--skip smoke_run` (or models, augment, plan, gpu_budget) leaves a part out: the table then shows
its last results, marked "(earlier run)", if `bench/out/` has them.

Usage: python bench/run.py [--skip smoke_run] [--seconds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench/out"


def part(script: str, *args: str) -> str:
    """Run one benchmark script, echo its output, return it."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"),
                                                                      os.environ.get("PYTHONPATH")]))}
    print(f"\n== {script} {' '.join(args)}   (load average {os.getloadavg()[0]:.1f})", flush=True)
    tic = time.perf_counter()
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    print(done.stdout[-6000:], flush=True)
    if done.returncode:
        print(done.stderr[-3000:], flush=True)
        return ""
    print(f"({time.perf_counter() - tic:.0f} s)")
    return done.stdout


def met(ok: bool, missed: str = "") -> str:
    return "**met**" if ok else f"missed{': ' + missed if missed else ''}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["models", "augment", "plan", "smoke_run", "gpu_budget"])
    parser.add_argument("--seconds", default="1", help="models.py: minimum length of a timed window")
    args = parser.parse_args()
    load0 = os.getloadavg()[0]
    gpu = torch.cuda.is_available()  # then gpu_measure.py measures the `train` variants on it
    rows: list[tuple[str, str, str]] = []
    def ran(name: str, *command: str) -> str | None:
        """Run a part; None if it neither ran now nor left results earlier, else "" or " (earlier run)"."""
        if name not in args.skip and part(*command):
            return ""
        return " (earlier run)" if (OUT / f"{name}.json").exists() else None

    if (note := ran("models", "models.py", "--seconds", args.seconds)) is not None:
        data = json.loads((OUT / "models.json").read_text())
        for r in data["rows"]:
            m = r["median"]
            ratio = m["loop"] / m["bare"]
            rows.append((f"engine vs limit: {r['id']} ({r['model']}, batch {r['batch']}), training loop",
                         ">= 0.9x", f"{m['loop']:,.0f} vs {m['bare']:,.0f} samples/s: {ratio:.2f}x "
                         f"{met(ratio >= 0.9, f'{100 * (1 - ratio / 0.9):.0f} % short')}; "
                         f"{m['loop'] / m['fresh']:.2f}x the bare loop on fresh batches; whole fit "
                         f"{m['engine'] / m['bare']:.2f}x (load {r['load']:.1f}){note}"))
            if "classic" in m:
                c = m["engine"] / m["classic"]
                rows.append((f"engine vs classic loop: {r['id']} ({r['model']})", ">= 10x",
                             f"{m['engine']:,.0f} vs {m['classic']:,.0f} samples/s: {c:.1f}x "
                             f"{met(c >= 10, f'{100 * (1 - c / 10):.0f} % short')}{note}"))
    if "augment" not in args.skip and (text := part("cifar_augment.py", "--images", "4000")):
        found = re.search(r"samples/s \(wall\): no augmentation ([\d.]+), batched augmentation ([\d.]+), "
                          r"ratio ([\d.]+)x", text)
        if found:
            ratio = float(found.group(3))
            rows.append(("cifar augmented epoch vs none", ">= 0.85x",
                         f"{float(found.group(2)):,.0f} vs {float(found.group(1)):,.0f} samples/s: "
                         f"{ratio:.2f}x {met(ratio >= 0.85)}"))
    if (note := ran("plan", "plan.py")) is not None:
        plan = json.loads((OUT / "plan.json").read_text())
        counts = {}
        for r in plan["shared"]:
            counts.setdefault(r["what"], []).append(r["made_by"])
        rows.append(("work done once (full plan): each output's making jobs", "1 each",
                     "; ".join(f"{len(v)} {k}, {max(v)} job max" for k, v in counts.items())
                     + f" {met(plan['once'])}{note}"))
    if (note := ran("smoke_run", "smoke_run.py")) is not None:
        s = json.loads((OUT / "smoke_run.json").read_text())
        wall = s["wall_s"]
        rows.append((f"smoke DAG cold, {s['chapters']} chapters, {s['jobs']} jobs, {s['cores']} cores",
                     "<= 300 s",
                     f"{wall:.0f} s {met(wall <= 300, f'by {wall - 300:.0f} s')} "
                     f"(load average {s.get('load_mean', s['load_start']):.1f} mean, "
                     f"{s.get('load_max', s['load_end']):.1f} max){note}"))
        rows.append(("same: peak memory of the process tree", "<= 4 GiB",
                     f"{s['peak_rss_gib']:.2f} GiB {met(s['peak_rss_gib'] <= 4)}{note}"))
        rows.append(("no-op `snakemake -n report`, no Slurm client", "<= 5 s",
                     f"{s['noop_dry_run_s']:.1f} s {met(s['noop_dry_run_s'] <= 5)}{note}"))
        if s.get("noop_dry_run_unanswered_slurm_s") is not None:
            t = s["noop_dry_run_unanswered_slurm_s"]
            rows.append(("same, Slurm plugin installed, client with no controller", "<= 5 s",
                         f"{t:.1f} s {met(t <= 5, f'by {t - 5:.0f} s')}{note}"))
        rows.append(("one hyper-parameter changed (mnist/keras_style/mlp lr): jobs planned",
                     ", ".join(f"{k} {v}" for k, v in s["rerun_expected"].items()),
                     ", ".join(f"{k} {v}" for k, v in s["rerun_after_one_change"].items())
                     + f" {met(s['rerun_after_one_change'] == s['rerun_expected'])}{note}"))
    if gpu and "gpu_budget" not in args.skip:
        part("gpu_measure.py")
    if (note := ran("gpu_budget", "gpu_budget.py")) is not None:
        g = json.loads((OUT / "gpu_budget.json").read_text())
        a = g["assumptions"]
        how = (f"{g['measured_min']:.1f} min of it measured on {g['measured_on']}, the rest estimated"
               if g.get("measured_on") else "estimate, not measured")
        rows.append(("full-scale report on one H100, ESTIMATED from FLOPs where not measured "
                     f"({a['utilisation']:.0%} of {a['tflops']:.0f} TFLOP/s, >= {a['step_ms']} ms/step)",
                     "<= 60 min", f"~{g['total_min']:.0f} min ({how}) {met(g['total_min'] <= 60)}{note}"))
    print(f"\n## Summary ({platform.node() or 'this machine'}: {os.cpu_count()} CPUs, {platform.machine()}, "
          f"{torch.cuda.get_device_name() if gpu else 'no GPU'}; load average {load0:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end; "
          f"{time.strftime('%Y-%m-%d')})\n")
    print("| benchmark | target | measured |\n|---|---|---|")
    for name, target, value in rows:
        print(f"| {name} | {target} | {value} |")


if __name__ == "__main__":
    main()
