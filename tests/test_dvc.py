"""DVC front door: dvc.yaml agrees with the Snakefile, and `dvc repro` works on a fresh clone."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml
from conftest import REPO, copy_repo, snakemake, without_slurm

from reprolab import dvcfile
from reprolab.registry import variants

dvc_repo = pytest.importorskip("dvc.repo")

CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())
DVC_YAML = yaml.safe_load((REPO / "dvc.yaml").read_text())
SNAKEMAKE_CMD = ["snakemake", "--resources", "gpu=1", "--cores", "all"]


@pytest.fixture(scope="module")
def stages() -> dict:
    """The stages of dvc.yaml as DVC resolves them (templating included), by name."""
    with dvc_repo.Repo(str(REPO)) as repo:
        repo.index.graph  # noqa: B018  (builds the graph: DVC refuses overlapping outs here)
        return {s.addressing: {"cmd": s.cmd, "outs": [(str(o.def_path), o.persist) for o in s.outs]}
                for s in repo.index.stages}


def snakemake_targets(cmd: str) -> list[str]:
    """The Snakemake targets a stage command builds."""
    words, n = shlex.split(cmd), len(SNAKEMAKE_CMD)
    assert words[:n] == SNAKEMAKE_CMD, f"{cmd!r} must start with {shlex.join(SNAKEMAKE_CMD)}"
    return words[n:]


def test_every_chapter_has_its_stage(stages):
    for chapter in CONFIG["chapters"]:
        stage = stages.get(f"chapter@{chapter}")
        assert stage, f"dvc.yaml makes no stage chapter@{chapter}: its `foreach` must read config.yaml"
        assert snakemake_targets(stage["cmd"]) == [f"results/{chapter}/summary.json"]
        assert stage["outs"] == [(f"results/{chapter}", True)]
    assert {"data", "report"} <= set(stages)


def test_every_out_persists(stages):
    for name, stage in stages.items():
        for path, persist in stage["outs"]:
            assert persist, f"stage {name}: out {path} needs `persist: true`, or DVC deletes it first"


def test_metrics_and_plots_sections_are_current():
    text = (REPO / "dvc.yaml").read_text()
    assert dvcfile.MARKER in text
    stale = text[text.index(dvcfile.MARKER):] != dvcfile.tracked_sections(CONFIG)
    assert not stale, "dvc.yaml's metrics/plots are stale: run `python -m reprolab.dvcfile`"
    assert DVC_YAML["metrics"] == [f"results/{v.id}/metrics.json" for v in variants(CONFIG)]


def test_declared_files_are_made_by_rules_under_stage_outs(stages, tmp_path):
    """The stages' command, dry-run from scratch, builds their targets and every metrics/plots file."""
    plots = [next(iter(p)) if isinstance(p, dict) else p for p in DVC_YAML["plots"]]
    declared = DVC_YAML["metrics"] + plots
    outs = [path for stage in stages.values() for path, _ in stage["outs"]]
    for path in declared:
        assert any(path.startswith(out + "/") for out in outs), f"{path} is under no stage's out"
    targets = [t for stage in stages.values() for t in snakemake_targets(stage["cmd"])]
    work = copy_repo(tmp_path / "repo")
    result = snakemake(*SNAKEMAKE_CMD[1:], *targets, *declared, "-n", "--forceall", cwd=work, check=False)
    output = result.stdout[-3000:] + result.stderr[-3000:]
    assert result.returncode == 0, f"a dvc.yaml target has no rule:\n{output}"


def test_update_rewrites_stale_sections(tmp_path):
    dvc_yaml = tmp_path / "dvc.yaml"
    dvc_yaml.write_text("stages: {}\n" + dvcfile.MARKER + "\nmetrics: []\n")
    assert dvcfile.update(dvc_yaml, CONFIG)
    assert not dvcfile.update(dvc_yaml, CONFIG)
    assert yaml.safe_load(dvc_yaml.read_text())["metrics"] == DVC_YAML["metrics"]


# --- fresh clone ------------------------------------------------------------------------------

def dvc(*args: str, cwd: Path) -> str:
    """Run `dvc` in `cwd` with the smoke preset, this interpreter's Snakemake and the clone's code."""
    env = without_slurm({**os.environ, "REPROLAB_PRESET": "smoke", "PYTHONPATH": str(cwd / "src"),
                         "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"})
    result = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=cwd, env=env,
                            capture_output=True, text=True)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"dvc {' '.join(args)} failed:\n{output[-6000:]}"
    return output


def jobs_run(output: str) -> Counter:
    """Snakemake's finished jobs in a `dvc repro` output, by rule (target rules excluded)."""
    rules = Counter(re.findall(r"Finished jobid: \d+ \(Rule: (\w+)\)", output))
    for target in ("datasets", "assets"):
        rules.pop(target, None)
    return rules


def seed_results(work: Path) -> dict[str, int]:
    runs = work.glob("results/**/seed*/metrics.json")
    return {str(p.relative_to(work)): p.stat().st_mtime_ns for p in runs}


@pytest.mark.e2e
@pytest.mark.timeout(1800)  # a guard against hangs, not a speed test: a shared machine runs it slower
def test_dvc_repro_on_a_fresh_clone(tmp_path):
    work = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(work)], check=True)

    first = dvc("repro", cwd=work)
    assert (work / "report" / "report.pdf").stat().st_size > 0
    config = yaml.safe_load((work / "config.yaml").read_text())
    trained = sum(len(v.seeds) for v in variants(config, kind="train"))
    assert jobs_run(first)["train"] == trained > 0

    second = dvc("repro", cwd=work)
    assert not jobs_run(second) and "Running stage" not in second, second

    # Edit config.yaml as a user would, by hand: its comments (whose each setting is) stay.
    config_path = work / "config.yaml"
    text = config_path.read_text()
    assert text.count("logreg: {model: logreg}") == 1
    config_path.write_text(text.replace("logreg: {model: logreg}", "logreg: {model: logreg, batch_size: 50}"))
    before = seed_results(work)
    third = dvc("repro", cwd=work)
    assert jobs_run(third) == {"train": 1, "aggregate_seeds": 1, "chapter_summary": 1, "report": 1}, third
    after = seed_results(work)
    changed = [path for path in before if after[path] != before[path]]
    assert changed == ["results/mnist/keras_style/logreg/seed0/metrics.json"]

    shown = json.loads(dvc("metrics", "show", "--json", cwd=work).splitlines()[-1])
    files = next(iter(shown.values()))["data"]
    for path in DVC_YAML["metrics"]:
        shown_id = files.get(path, {}).get("data", {}).get("id")
        assert shown_id == path.removeprefix("results/").removesuffix("/metrics.json"), path

    # Share the results: a remote, `dvc push`, commit dvc.lock; another clone pulls them, no rerun.
    dvc("remote", "add", "-d", "shared", str(tmp_path / "remote"), cwd=work)
    dvc("push", cwd=work)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.org"]
    subprocess.run([*git, "add", "-A"], cwd=work, check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "smoke results"], cwd=work, check=True)
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "--quiet", str(work), str(other)], check=True)
    dvc("pull", "--allow-missing", cwd=other)
    assert (other / "report" / "report.pdf").read_bytes() == (work / "report" / "report.pdf").read_bytes()
    assert "up to date" in dvc("status", cwd=other)
    env = {"REPROLAB_PRESET": "smoke"}
    snakemake("--touch", "--cores", "1", "report", cwd=other, env=env)
    assert "Nothing to be done" in snakemake("-n", "--cores", "1", "report", cwd=other, env=env).stdout
