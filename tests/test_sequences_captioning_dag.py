"""Chapters `sequences` and `captioning` in the DAG: every job at full scale, one VGG16 extraction for the
captions, the word vectors passed from one chapter to the other, the catalogue's settings."""

import re

import yaml

from reprolab.registry import resolve, variants
from tests.conftest import REPO, job_rule, job_wildcards

CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())


def job_inputs(block: str) -> list[str]:
    found = re.search(r"^\s+input: (.*)$", block, re.M)
    return found.group(1).split(", ") if found else []


def jobs_of(plan: list[str], rule: str) -> list[str]:
    return [block for block in plan if job_rule(block) == rule]


def test_the_full_plan_lists_every_job_of_both_chapters(full_plan):
    ids = {v.id for chapter in ("sequences", "captioning") for v in variants(CONFIG, chapter)}
    planned = {job_wildcards(b).get("id") for b in full_plan}
    assert ids <= planned
    assert [job_wildcards(b)["id"] for b in jobs_of(full_plan, "charrnn")] == ["sequences/charrnn/simple_rnn"]
    assert [job_wildcards(b)["id"] for b in jobs_of(full_plan, "glove_clusters")] == [
        "sequences/glove_clusters/kmeans"]
    [caption] = jobs_of(full_plan, "show_and_tell")
    inputs = job_inputs(caption)
    assert "features/vgg16/relu7/flickr8k.pt" in inputs  # read, not recomputed
    assert "results/sequences/glove_clusters/kmeans/embeddings.pt" in inputs  # chapter 8's rows
    extractions = [job_wildcards(b) for b in jobs_of(full_plan, "extract_features")]
    assert extractions.count({"backbone": "vgg16", "layer": "relu7", "dataset": "flickr8k"}) == 1
    downloads = {job_wildcards(b).get("asset") for b in jobs_of(full_plan, "download_asset")}
    assert {"fleurs_du_mal", "glove6b", "vgg16"} <= downloads
    assert "flickr8k" in {job_wildcards(b).get("dataset") for b in jobs_of(full_plan, "download_dataset")}
    for block in jobs_of(full_plan, "charrnn") + [caption]:
        assert "gpu=1" in block, block  # training waits for the GPU; the clusters do not
    assert "gpu=1" not in jobs_of(full_plan, "glove_clusters")[0]
    for chapter in ("sequences", "captioning"):
        assert any(f"results/{chapter}/summary.json" in b for b in jobs_of(full_plan, "chapter_summary"))


def test_full_scale_settings_are_the_catalogues():
    rnn = resolve(CONFIG, "sequences", "charrnn", "simple_rnn").params
    assert (rnn["seqlen"], rnn["train_fraction"], rnn["batch_size"], rnn["epochs"]) == (10, 0.8, 128, 50)
    assert rnn["optimizer"] == {"name": "rmsprop", "lr": 0.001, "alpha": 0.9, "eps": 1e-7}
    assert rnn["generation"]["temperatures"] == [0.02, 0.5, 1.0, 10]
    clusters = resolve(CONFIG, "sequences", "glove_clusters", "kmeans").params
    assert (clusters["clusters"], clusters["max_iter"], clusters["words_per_cluster"]) == (10, 1000, 20)
    show = resolve(CONFIG, "captioning", "show_and_tell", "rnn").params
    assert (show["pca"], show["vocabulary"], show["batch_size"]) == (100, 1000, 10)
    assert show["optimizer"] == {"name": "adam", "lr": 0.001} and show["per_sequence_loss"]
    assert CONFIG["features"]["size"] == 224
