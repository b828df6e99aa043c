"""Dry-runs of the DAG: what the full configuration schedules, and config errors at parse time."""

import re

import pytest
import yaml

from reprolab import kinds
from reprolab.registry import resolve, variants
from tests.conftest import REPO, copy_repo, job_rule, job_wildcards, snakemake


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A copy of the repository without outputs, so that every job is planned."""
    return copy_repo(tmp_path_factory.mktemp("dag") / "repo")


def test_full_run_lists_every_variant_and_the_report(full_plan):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    text = "\n".join(full_plan)
    for v in variants(config):
        assert f"results/{v.id}/metrics.json" in text, v.id
    assert "report/report.pdf" in text


def test_training_jobs_take_the_gpu_unless_pinned_to_the_cpu(full_plan):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    train_jobs = [job for job in full_plan if job_rule(job) == "train"]
    assert len(train_jobs) == sum(len(v.seeds) for v in variants(config, kind="train"))
    for job in train_jobs:
        device = resolve(config, *job_wildcards(job)["id"].split("/")).device
        assert re.search(r"resources: .*gpu=1" if device != "cpu" else r"resources: .*gpu=0", job), job
    cpu_jobs = [job for job in full_plan if job_rule(job) in ("untangling", "chapter_summary", "svm")]
    assert cpu_jobs and not any("gpu=1" in job for job in cpu_jobs)


def test_training_jobs_run_with_the_full_epochs(full_plan, full_plan_params):
    """The epochs every job of the full run will train for, read from the plan, not from config.yaml.

    A dry-run does not print params, so `full_plan_params` builds the same DAG through Snakemake's
    API and evaluates each job's params: `variant` is the object the job's script receives, resolved
    from the config as the Snakefile merged it (preset, checks). Its jobs are the dry-run's.
    """
    def jobs(pairs):
        return sorted((rule, sorted(wildcards.items())) for rule, wildcards in pairs)

    assert jobs((job["rule"], job["wildcards"]) for job in full_plan_params) == \
        jobs((job_rule(block), job_wildcards(block)) for block in full_plan)
    epochs = {}  # (rule, variant id) -> the epochs its job(s) will train for
    for job in full_plan_params:
        variant = job["params"].get("variant")
        if job["rule"] != "aggregate_seeds" and variant and "epochs" in variant["params"]:
            epochs.setdefault((job["rule"], job["wildcards"]["id"]), set()).add(variant["params"]["epochs"])
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    catalogue = {v.id: v.params["epochs"] for v in variants(config) if "epochs" in v.params}
    assert config["max_epochs"] is None  # config.yaml as written: the catalogue's own counts
    assert {i: n for (_, i), n in epochs.items()} == {i: {n} for i, n in catalogue.items()}
    assert len([key for key in epochs if key[0] == "train"]) == len(variants(config, kind="train"))
    for name in ("baseline", "augmented", "batchnorm"):
        assert epochs["train", f"cifar/cifar10/{name}"] == {100}
    assert epochs["train", "fusion/models/early_fusion"] == {30}
    assert epochs["train", "audio/spectrogram_cnn/cnn"] == {30}
    assert epochs["scratch", "backprop/circle/manual"] == {150}


def test_every_variant_runs_under_the_rule_of_its_kind(full_plan):
    """One mechanism for all kinds: each variant's jobs are planned by its kind's rule."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    planned = {}
    for job in full_plan:
        if "id" in job_wildcards(job) and job_rule(job) != "aggregate_seeds":
            planned.setdefault(job_wildcards(job)["id"], set()).add(re.sub(r"_\d+$", "", job_rule(job)))
    assert planned == {v.id: {v.kind} for v in variants(config)}
    aggregated = {job_wildcards(job)["id"] for job in full_plan if job_rule(job) == "aggregate_seeds"}
    assert aggregated == {v.id for v in variants(config) if kinds.get(v.kind).per_seed}


def test_a_mistyped_kind_is_named_with_the_known_kinds(clean, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("chapters: {mnist: {experiments: {untangling: {variants: {raw: {kind: untangle}}}}}}\n")
    result = snakemake("-n", "report", "--configfile", str(bad), cwd=clean, check=False)
    output = result.stderr + result.stdout
    assert result.returncode != 0
    assert "chapters.mnist.experiments.untangling.variants.raw.kind" in output
    assert "'untangle'" in output and "untangling" in output and "train" in output


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
