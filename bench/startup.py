"""Start-up of each Snakemake entry script: what a job pays before it works (seconds, this CPU).

Every job is a fresh Python process (`script:` rules), so the smoke run pays this 132 times. Each
row runs, in a fresh interpreter, what the script runs before its work: its top-level imports,
`job()` (torch's threads, unless the script passes `uses_torch=False`) and, for `run_kind.py`,
the kind's job module (for `summarize.py`, the chapter's report module and summarisers). Imports
made while a job runs are not counted, but two rows show the main ones: a training job's
optimizer (torch.optim imports torch._dynamo, ~1 s) and the seeds' curves of `aggregate.py`.

    PYTHONPATH=src python bench/startup.py [--repeats 3] [ROW ...]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
SNAKEMAKE = "class Snakemake:\n    params, threads, log = {'threads': 1}, 1, []\n"


def script(imports: str, uses_torch: bool = True) -> str:
    return (SNAKEMAKE + imports + "from reprolab.job import job\n"
            f"with job(Snakemake(), uses_torch={uses_torch}):\n    pass\n")


def run_kind(kind: str) -> str:
    return script("from reprolab import kinds\n") + f"kinds.resolve_function(kinds.get({kind!r}).job)\n"


def summarize(chapter: str) -> str:
    return script("import importlib\nfrom reprolab import kinds\n"
                  "from reprolab.report.parts import load_findings, load_references\n"
                  "from reprolab.report.summary import summarize_chapter, write_summary\n") + (
        f"importlib.import_module('reprolab.chapters.{chapter}.report')\n"
        f"[kinds.resolve_function(k.summarize) for k in kinds.load_all().values()\n"
        f" if '.{chapter}.' in k.job or k.name == 'train']\n")


CURVES = ("import json, tempfile\nfrom pathlib import Path\nfrom reprolab.registry import Variant\n"
          "d = Path(tempfile.mkdtemp()); s = d / 'seed0'; s.mkdir()\n"
          "(s / 'metrics.json').write_text(json.dumps({'seed': 0, 'device': 'cpu', 'device_name': 'cpu'}))\n"
          "(s / 'history.csv').write_text('epoch,train_loss,test_loss,train_acc,test_acc\\n'\n"
          "                               '1,0.5,0.6,80,70\\n2,0.25,0.5,90,80\\n')\n"
          "aggregate(Variant('c', 'e', 'v', {'kind': 'train'}), [s], d)\n")
OPTIMIZER = "import torch\ntorch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)\n"

ROWS = {
    "aggregate": script("from reprolab.results import aggregate\n", uses_torch=False),
    "download": script("from reprolab.data.download import fetch_dataset, fetch_options\n", uses_torch=False),
    "download_asset": script("from reprolab.data.assets import fetch_asset\n"
                             "from reprolab.data.download import fetch_options\n", uses_torch=False),
    "make_fixture": script("from reprolab.data.fixtures import write_fixture\n", uses_torch=False),
    "make_asset_fixture": script("from reprolab.data.assets import write_asset_fixture\n", uses_torch=False),
    "prepare": script("from reprolab.data.prepare import prepare_dataset\n"),
    "extract_features": script("from reprolab.data.assets import asset_file\n"
                               "from reprolab.features import extract_dataset\n"),
    "report": script("from reprolab.report.render import build_report\n", uses_torch=False),
    **{f"run_kind:{kind}": run_kind(kind) for kind in (
        "train", "scratch", "svm", "untangling", "recording_figures", "avmnist_samples", "gan", "charrnn",
        "glove_clusters", "show_and_tell", "anatomy", "linear_svm", "multilabel", "saliency", "cam")},
    **{f"summarize:{chapter}": summarize(chapter) for chapter in ("mnist", "cifar", "gans", "transfer")},
}
ROWS["aggregate +curves"] = ROWS["aggregate"] + CURVES
ROWS["run_kind:train +optimizer"] = ROWS["run_kind:train"] + OPTIMIZER


def measure(code: str) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh interpreter running `code`."""
    before, tic = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(SRC)})
    wall, after = time.perf_counter() - tic, resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode:
        raise SystemExit(result.stderr[-2000:])
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("rows", nargs="*", metavar="ROW", help=", ".join(ROWS))
    args = parser.parse_args()
    if unknown := set(args.rows) - set(ROWS):
        parser.error(f"unknown rows {sorted(unknown)}")
    print(f"{'script':28s} {'wall s':>7s} {'cpu s':>7s}   (median of {args.repeats})")
    for name in args.rows or ROWS:
        runs = [measure(ROWS[name]) for _ in range(args.repeats)]
        print(f"{name:28s} {statistics.median(w for w, _ in runs):7.2f} "
              f"{statistics.median(c for _, c in runs):7.2f}", flush=True)


if __name__ == "__main__":
    main()
