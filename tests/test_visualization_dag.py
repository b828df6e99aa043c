"""The visualization chapter in the DAG: its jobs at smoke scale (random networks, no download) and in the
full-scale plan (ImageNet weights downloaded once per network, the iterative jobs on the GPU)."""

import re

import pytest
import yaml

from reprolab.registry import variants
from tests.conftest import REPO, copy_repo, job_rule, job_wildcards, snakemake

KINDS = {"saliency", "fooling", "class_visualization", "cam"}


def outputs(block: str) -> list[str]:
    found = re.search(r"^\s+output: (.*)$", block, re.M)
    return found.group(1).split(", ") if found else []


def chapter_jobs(plan: list[str]) -> dict[str, str]:
    """variant id -> its job's block, for the chapter's kinds."""
    return {job_wildcards(b)["id"]: b for b in plan if re.sub(r"_\d+$", "", job_rule(b)) in KINDS}


@pytest.mark.dag
def test_smoke_plan_of_the_chapter(tmp_path):
    clean = copy_repo(tmp_path / "repo")
    out = snakemake("results/visualization/summary.json", "-n", "--cores", "2", cwd=clean,
                    env={"REPROLAB_PRESET": "smoke"}).stdout
    plan = [block for block in out.split("\n\n") if re.search(r"^(?:local)?rule \w+:", block, re.M)]
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    jobs = chapter_jobs(plan)
    assert sorted(jobs) == sorted(v.id for v in variants(config, "visualization"))
    assert sorted(job_wildcards(b)["asset"] for b in plan if job_rule(b) == "fixture_asset") == \
        ["resnet18", "squeezenet1_1", "vgg16"]
    assert not any(job_rule(b).startswith("download") for b in plan)
    assert all("gpu=0" in block for block in jobs.values())  # smoke runs on the CPU


def test_full_plan_lists_every_job_and_figure_of_the_chapter(full_plan):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    jobs = chapter_jobs(full_plan)
    expected = {v.id: v for v in variants(config, "visualization")}
    assert sorted(jobs) == sorted(expected)
    figures = {"saliency": ["saliency.png"], "fooling": ["fooling.png"],
               "class_visualization": ["class_viz.png"],
               "cam": ["cam.png"]}
    for vid, block in jobs.items():
        variant = expected[vid]
        assert re.sub(r"_\d+$", "", job_rule(block)) == variant.kind
        files = {f"results/{vid}/{name}" for name in ["metrics.json", *figures[variant.kind]]}
        if vid == "visualization/cam/original":
            files.add(f"results/{vid}/gradients.png")
        assert set(outputs(block)) == files, vid
        network = variant.params["assets"][0]
        assert f"data/assets/{network}/manifest.json" in block
        gpu = variant.kind in ("fooling", "class_visualization")  # saliency and CAM: a few photos on the CPU
        assert ("gpu=1" if gpu else "gpu=0") in block, vid
    downloads = sorted(job_wildcards(b)["asset"] for b in full_plan if job_rule(b) == "download_asset")
    assert {"squeezenet1_1", "vgg16", "resnet18"} <= set(downloads) and len(downloads) == len(set(downloads))
    summary = next(b for b in full_plan if job_wildcards(b).get("chapter") == "visualization")
    assert all(f"results/{vid}/metrics.json" in summary for vid in expected)
