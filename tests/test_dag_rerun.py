"""After a complete smoke run, one changed hyper-parameter re-plans exactly what depends on it."""

import re

from tests.conftest import job_rule, job_wildcards, snakemake

# mnist/keras_style/mlp's learning rate, in a further config overlay (the smoke run's files untouched)
CHANGE = "chapters: {mnist: {experiments: {keras_style: {variants: {mlp: {optimizer: {lr: 0.5}}}}}}}\n"


def test_one_changed_hyper_parameter_reruns_that_variant_its_readers_and_the_report(smoke_run, tmp_path):
    change = tmp_path / "change.yaml"
    change.write_text(CHANGE)
    out = snakemake("report", "-n", "--cores", "2", "--configfile", "presets/smoke.yaml", str(change),
                    cwd=smoke_run).stdout
    blocks = {re.search(r"jobid: (\d+)", b).group(1): b for b in out.split("\n\n")
              if re.search(r"^(?:local)?rule \w+:", b, re.M) and "jobid:" in b}
    planned = sorted((job_rule(b), job_wildcards(b).get("id", job_wildcards(b).get("chapter", "")))
                     for b in blocks.values())
    assert planned == sorted([
        ("train", "mnist/keras_style/mlp"),  # the variant (its one seed)
        ("aggregate_seeds", "mnist/keras_style/mlp"),
        ("untangling", "mnist/untangling/mlp_hidden"),  # reads the MLP's model.pt
        ("chapter_summary", "mnist"),
        ("report", ""),
    ]), out[-3000:]
