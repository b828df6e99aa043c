"""The transfer chapter in the DAG: one feature extraction per (backbone, layer, dataset), whatever the
number of variants that read it, at full scale and at smoke scale."""

import re

import pytest
import yaml

from reprolab.registry import variants
from tests.conftest import REPO, copy_repo, job_rule, job_wildcards, snakemake


def job_inputs(block: str) -> list[str]:
    found = re.search(r"^\s+input: (.*)$", block, re.M)
    return found.group(1).split(", ") if found else []


def readers(plan: list[str]) -> dict[str, set[str]]:
    """features file -> the ids of the jobs that read it."""
    found: dict[str, set[str]] = {}
    for block in plan:
        for path in job_inputs(block):
            if path.startswith("features/"):
                found.setdefault(path, set()).add(job_wildcards(block).get("id", job_rule(block)))
    return found


def extractions(plan: list[str]) -> list[tuple[str, str, str]]:
    return [(w["backbone"], w["layer"], w["dataset"]) for w in
            (job_wildcards(block) for block in plan if job_rule(block) == "extract_features")]


def test_one_extraction_per_triple_whatever_the_number_of_readers(full_plan):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    triples = extractions(full_plan)
    used = {(f["backbone"], f["layer"], f.get("dataset", v.params["dataset"]))
            for v in variants(config) if (f := v.params.get("features"))}
    assert sorted(triples) == sorted(used)  # each triple once, and only those some variant reads
    assert {("vgg16", "relu7", "scene15"), ("alexnet", "relu7", "scene15"),
            ("resnet50", "avgpool", "voc2007")} <= set(triples)
    read = readers(full_plan)
    assert read["features/vgg16/relu7/scene15.pt"] == {"transfer/scene15/vgg16_svm",
                                                       "transfer/scene15/vgg16_svm_csweep"}
    assert read["features/alexnet/relu7/scene15.pt"] == {"transfer/scene15/alexnet_svm"}
    assert read["features/resnet50/avgpool/voc2007.pt"] == {"transfer/voc2007/resnet50_linear"}
    assert sum(len(ids) for ids in read.values()) > len(triples)  # more readers than extractions
    for block in full_plan:  # the backbones run on the GPU, the SVMs do not
        if job_rule(block) in ("extract_features", "multilabel"):
            assert "gpu=1" in block, block
        if job_rule(block).startswith(("linear_svm", "anatomy")):
            assert "gpu=0" in block, block
    fine_tune = [b for b in full_plan if job_wildcards(b).get("id") == "transfer/voc2007/resnet50_finetune"
                 and job_rule(b) == "multilabel"]
    assert len(fine_tune) == 1 and "data/assets/resnet50/manifest.json" in job_inputs(fine_tune[0])
    assert not any(p.startswith("features/") for p in job_inputs(fine_tune[0]))  # it reads the images


@pytest.mark.dag
def test_smoke_plan_of_the_chapter(tmp_path):
    clean = copy_repo(tmp_path / "repo")
    out = snakemake("results/transfer/summary.json", "-n", "--cores", "2", cwd=clean,
                    env={"REPROLAB_PRESET": "smoke"}).stdout
    plan = [block for block in out.split("\n\n") if re.search(r"^(?:local)?rule \w+:", block, re.M)]
    assert sorted(extractions(plan)) == [("alexnet", "relu7", "scene15"), ("resnet50", "avgpool", "voc2007"),
                                         ("vgg16", "relu7", "scene15")]
    rules = [job_rule(block) for block in plan]
    assert rules.count("fixture_asset") == 3 and rules.count("fixture_dataset") == 2
    assert "download_dataset" not in rules and "download_asset" not in rules
    assert all("gpu=0" in block for block in plan if job_rule(block) in ("extract_features", "multilabel"))
