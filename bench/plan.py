"""Work done once: in the full-scale plan, how many jobs make and how many read each shared output.

Plans `snakemake report -n` (full scale, the config as written) in a fresh copy of the repository
and counts, from the dry run's job blocks, the jobs that write each downloaded dataset, prepared
dataset, asset (weights, vectors, corpora) and extracted feature set, and the jobs that read it.
Target: every one made by exactly one job, whatever the number of readers.

Usage: python bench/plan.py
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.conftest import copy_repo, without_slurm  # noqa: E402

SHARED = {"download_dataset": "dataset downloaded", "prepare_dataset": "dataset prepared",
          "download_asset": "asset downloaded", "extract_features": "features extracted"}


def dry_run(work: Path, *args: str) -> str:
    env = without_slurm({**os.environ, "PYTHONPATH": str(work / "src"), "REPROLAB_PRESET": ""})
    out = subprocess.run([sys.executable, "-m", "snakemake", "report", "-n", "--cores", "8", "--resources",
                          "gpu=1", *args], cwd=work, env=env, capture_output=True, text=True, check=True)
    return out.stdout


def jobs(text: str) -> list[dict]:
    """One {rule, input, output} per job of a dry run (each job once, by its jobid)."""
    found = {}
    for block in text.split("\n\n"):
        rule = re.search(r"^(?:local)?rule (\w+):", block, re.M)
        jobid = re.search(r"^\s+jobid: (\d+)", block, re.M)
        if rule and jobid:
            field = {k: re.search(rf"^\s+{k}: (.*)$", block, re.M) for k in ("input", "output")}
            found[jobid.group(1)] = {"rule": rule.group(1),
                                     **{k: m.group(1).split(", ") if m else [] for k, m in field.items()}}
    return list(found.values())


def shared_outputs(planned: list[dict]) -> list[dict]:
    """Each output of the SHARED rules: what it is, how many jobs make it, how many read it."""
    makers: Counter = Counter()
    what = {}
    for job in planned:
        if job["rule"] in SHARED:
            for path in job["output"]:
                makers[path] += 1
                what[path] = SHARED[job["rule"]]
    readers = Counter(path for job in planned for path in job["input"] if path in makers)
    return [{"output": p, "what": what[p], "made_by": makers[p], "read_by": readers[p]}
            for p in sorted(makers)]


def main() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        work = copy_repo(Path(tmp) / "repo")
        planned = jobs(dry_run(work))
    rows = shared_outputs(planned)
    by_rule = Counter(job["rule"] for job in planned)
    print(f"full-scale plan: {len(planned)} jobs; " + ", ".join(f"{r} {by_rule[r]}" for r in SHARED))
    print("| output | what | jobs that make it (target 1) | jobs that read it |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['output']} | {r['what']} | {r['made_by']}{'' if r['made_by'] == 1 else ' MISSED'} "
              f"| {r['read_by']} |")
    once = all(r["made_by"] == 1 for r in rows)
    print(f"every shared output made once: {'met' if once else 'MISSED'}")
    result = {"jobs": len(planned), "by_rule": dict(by_rule), "shared": rows, "once": once}
    (ROOT / "bench/out").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench/out/plan.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
