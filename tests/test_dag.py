"""Dry-runs of the DAG: what the full configuration schedules, and config errors at parse time."""

import re

import pytest
import yaml

from reprolab.registry import resolve, variants
from tests.conftest import REPO, copy_repo, snakemake


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A copy of the repository without outputs, so that every job is planned."""
    return copy_repo(tmp_path_factory.mktemp("dag") / "repo")


@pytest.fixture(scope="module")
def full_plan(clean):
    """Every job of the full run, with its resources (dry-run, detailed)."""
    out = snakemake("report", "-n", "--cores", "8", "--resources", "gpu=1", cwd=clean,
                    env={"REPROLAB_PRESET": ""}).stdout
    return out.split("\n\n")


def test_full_run_lists_every_variant_and_the_report(full_plan):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    text = "\n".join(full_plan)
    for v in variants(config):
        assert f"results/{v.id}/metrics.json" in text, v.id
    assert "report/report.pdf" in text


def test_training_jobs_take_the_gpu_with_full_epochs(full_plan):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    train_jobs = [job for job in full_plan if re.search(r"^rule train:", job, re.M)]
    assert len(train_jobs) == sum(len(v.seeds) for v in variants(config, kind="train"))
    for job in train_jobs:
        ids = dict(re.findall(r"(chapter|experiment|variant)=([^,\s]+)", job))
        device = resolve(config, ids["chapter"], ids["experiment"], ids["variant"]).device
        assert re.search(r"resources: .*gpu=1" if device != "cpu" else r"resources: .*gpu=0", job), job
    cpu_jobs = [job for job in full_plan if re.search(r"^rule (untangle|chapter_summary):", job, re.M)]
    assert cpu_jobs and not any("gpu=1" in job for job in cpu_jobs)


def test_wrong_config_value_fails_before_any_job(clean):
    result = snakemake("-n", "report", "--config", "device=tpu", cwd=clean, check=False)
    assert result.returncode != 0
    assert "device" in result.stderr + result.stdout and "tpu" in result.stderr + result.stdout


def test_unknown_config_key_is_named(clean, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: {verfy: strict}\n")
    result = snakemake("-n", "report", "--configfile", str(bad), cwd=clean, check=False)
    assert result.returncode != 0 and "verfy" in result.stderr + result.stdout


def test_unknown_preset_is_named(clean):
    result = snakemake("-n", "report", cwd=clean, env={"REPROLAB_PRESET": "tiny"}, check=False)
    assert result.returncode != 0 and "presets/tiny.yaml" in result.stderr + result.stdout


def test_preset_from_the_environment_equals_the_flag(clean):
    by_env = snakemake("-n", "report", cwd=clean, env={"REPROLAB_PRESET": "smoke"}).stdout
    by_flag = snakemake("-n", "report", "--configfile", "presets/smoke.yaml", cwd=clean,
                        env={"REPROLAB_PRESET": ""}).stdout
    def jobs(text):
        return sorted(re.findall(r"^(?:local)?rule (\w+):", text, re.M))
    assert jobs(by_env) == jobs(by_flag) and "fixture_dataset" in jobs(by_env)
