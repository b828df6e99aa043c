"""Slurm front door: the smoke DAG through `--profile profiles/slurm` on a real one-node Slurm."""

from __future__ import annotations

import re
import subprocess
from types import SimpleNamespace

import pytest
import slurm_cluster
import yaml
from conftest import REPO, copy_repo, snakemake

from reprolab import kinds
from reprolab.registry import resolve

PROFILE = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())


def test_profile_uses_the_plugin_without_a_global_gpu_cap():
    assert PROFILE["executor"] == "slurm"
    assert PROFILE["set-resource-scopes"] == {"gpu": "local"}
    assert "gpu" not in str(PROFILE.get("resources", ""))
    for resources in PROFILE.get("set-resources", {}).values():
        assert "--gres" not in str(resources.get("slurm_extra", "")), "the plugin rejects --gres there"


class Resources(dict):
    """A job's resources as the plugin reads them (`.get()` and attributes)."""

    __getattr__ = dict.__getitem__


def test_full_scale_training_asks_slurm_for_one_gpu_per_job(tmp_path):
    """At full scale (device auto), each training job and each feature extraction requests
    `--gpus=1`; other jobs none."""
    plugin = pytest.importorskip("snakemake_executor_plugin_slurm.utils")
    work = copy_repo(tmp_path / "repo")
    run = snakemake("-n", "--forceall", "--profile", "profiles/slurm", "report", cwd=work, slurm=True)
    job = r"^rule (\w+):\n(?:    .*\n)*?(?:    wildcards: (.*)\n)?    resources: (.*)$"
    jobs = re.findall(job, run.stdout, re.M)
    config = yaml.safe_load((work / "config.yaml").read_text())
    assert jobs
    for rule, wildcards, listed in jobs:
        resources = Resources(item.split("=", 1) for item in listed.split(", "))
        resources.pop("tmpdir")
        if "gpu" in resources:
            resources["gpu"] = int(resources["gpu"])
        gres = plugin.set_gres_string(SimpleNamespace(resources=resources))
        wanted = "--gpus=1" if rule == "extract_features" else ""  # the backbone runs on the GPU
        ids = dict(item.split("=", 1) for item in wildcards.split(", ")) if wildcards else {}
        if rule != "aggregate_seeds" and "id" in ids:
            variant = resolve(config, *ids["id"].split("/"))
            wanted = "--gpus=1" if kinds.get(variant.kind).uses_gpu(variant) else ""  # backprop: CPU
        assert gres.strip() == wanted, (rule, listed)


def slurm_jobs() -> dict[str, str]:
    """Every job the test cluster knows (finished ones included): id -> its TRES request."""
    shown = subprocess.run(["scontrol", "-o", "show", "job"], capture_output=True, text=True).stdout
    return dict(re.findall(r"JobId=(\d+) .*? TRES=(\S+)", shown))


@pytest.mark.slurm
@pytest.mark.e2e
@pytest.mark.timeout(1800)  # a guard against hangs, not a speed test: a shared machine runs it slower
def test_smoke_dag_through_the_slurm_profile(tmp_path):
    reason = slurm_cluster.unavailable()
    if reason:
        pytest.skip(reason)
    work = copy_repo(tmp_path / "repo")
    with slurm_cluster.cluster(tmp_path / "slurm"):
        run = snakemake("--profile", "profiles/slurm", "report", "--slurm-status-command", "squeue",
                        "--slurm-init-seconds-before-status-checks", "1", "--slurm-keep-successful-logs",
                        cwd=work, env={"REPROLAB_PRESET": "smoke"}, slurm=True)
        jobs = slurm_jobs()
    output = run.stdout + run.stderr
    submitted = dict(re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", output))
    finished = dict(re.findall(r"Finished jobid: (\d+) \(Rule: (\w+)\)", output))
    trainings = {job for job, rule in finished.items() if rule == "train"}
    assert trainings and trainings <= set(submitted) <= set(finished), "training jobs went through sbatch"
    assert set(submitted.values()) == set(jobs), "Slurm ran the jobs Snakemake submitted, and no other"
    for job_id, tres in jobs.items():
        assert "gpu" not in tres, f"Slurm job {job_id} (device cpu) asked for a GPU: {tres}"
    assert (work / "report" / "report.pdf").stat().st_size > 0
    assert list((work / ".snakemake" / "slurm_logs").rglob("*.log")), "no Slurm job logs"
