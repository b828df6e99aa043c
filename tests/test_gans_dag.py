"""The gans chapter in the DAG: every job planned, the MNIST GANs scored by the mnist chapter's CNN."""

import re

import pytest
import yaml

from reprolab import kinds, paths
from reprolab.errors import ConfigError
from reprolab.registry import resolve, variants
from tests.conftest import REPO, job_rule, job_wildcards

CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())


def inputs_of(block: str) -> list[str]:
    found = re.search(r"^\s+input: (.*)$", block, re.M)
    return found.group(1).split(", ") if found else []


def test_every_gan_variant_is_planned_with_its_files(full_plan):
    planned = {job_wildcards(b)["id"]: b for b in full_plan if job_rule(b) == "gan"}
    gans = variants(CONFIG, "gans")
    assert set(planned) == {v.id for v in gans} and len(gans) == 6
    for v in gans:
        block = planned[v.id]
        assert f"results/{v.id}/samples.png" in block and f"results/{v.id}/seed0/steps.csv" in block
        assert "gpu=1" in block  # a training job: one at a time on the workstation's GPU
    celeba = [b for b in full_plan if job_wildcards(b).get("dataset") == "celeba"]
    assert {job_rule(b) for b in celeba} == {"download_dataset", "prepare_dataset"}
    assert any(job_rule(b) == "download_asset" and job_wildcards(b).get("asset") == "fid_inception"
               for b in full_plan)
    assert "results/gans/summary.json" in "\n".join(b for b in full_plan if job_rule(b) == "chapter_summary")


def test_mnist_gans_are_scored_by_the_mnist_chapters_trained_cnn(full_plan):
    classifier = resolve(CONFIG, *CONFIG["chapters"]["gans"]["experiments"]["cgan_mnist"]["defaults"]
                         ["classifier"].split("/"))
    assert classifier.chapter == "mnist" and classifier.kind == "train"
    model = f"{paths.seed_dir(classifier.id, classifier.seeds[0])}/model.pt"
    for block in full_plan:
        if job_rule(block) == "gan" and "/cgan_mnist/" in job_wildcards(block)["id"]:
            assert model in inputs_of(block)
        elif job_rule(block) == "gan":  # the faces are scored by the FID's Inception
            assert "data/assets/fid_inception/manifest.json" in inputs_of(block)
    trains = [b for b in full_plan if job_rule(b) == "train" and job_wildcards(b)["id"] == classifier.id]
    assert len(trains) == len(classifier.seeds)  # trained once, in its own chapter: no second training
    assert any(model in b for b in trains)


def test_the_gan_kind_names_its_inputs():
    kind = kinds.get("gan")
    cdcgan = kind.inputs(resolve(CONFIG, "gans", "cgan_mnist", "cdcgan"), CONFIG)
    assert cdcgan == {"prepared": "data/prepared/mnist",
                      "classifier": "results/mnist/keras_style/cnn/seed0/model.pt"}
    faces = kind.inputs(resolve(CONFIG, "gans", "dcgan_celeba", "d5_g1"), CONFIG)
    assert faces == {"prepared": "data/prepared/celeba",
                     "asset_fid_inception": "data/assets/fid_inception/manifest.json"}
    bad = {**CONFIG, "chapters": {**CONFIG["chapters"], "gans": {"experiments": {"cgan_mnist": {
        "defaults": {"kind": "gan", "dataset": "mnist", "classifier": "mnist/untangling/raw"},
        "variants": {"cdcgan": {}}}}}}}
    with pytest.raises(ConfigError, match="not a trained network"):
        kind.inputs(resolve(bad, "gans", "cgan_mnist", "cdcgan"), bad)


def test_full_scale_follows_the_catalogue():
    dcgan = {v.name: v.params for v in variants(CONFIG, "gans") if v.experiment == "dcgan_celeba"}
    default = dcgan["default"]
    assert default["model_options"] == {"image_size": 64, "nz": 100, "ngf": 64, "ndf": 64}
    assert default["optimizer"] == {"name": "adam", "lr": 0.0002, "betas": [0.5, 0.999]}
    assert CONFIG["data"]["prepare"]["celeba"]["image_size"] == 64
    assert dcgan["beta1_0.9"]["optimizer"]["betas"] == [0.9, 0.999]
    assert (dcgan["g5_d1"]["task_options"]["d_steps"], dcgan["g5_d1"]["task_options"]["g_steps"]) == (1, 5)
    assert (dcgan["d5_g1"]["task_options"]["d_steps"], dcgan["d5_g1"]["task_options"]["g_steps"]) == (5, 1)
    # the default's steps kept: 162,770 training faces, 5 batches of 256 per d5_g1 step
    steps = {name: p["epochs"] * -(-162_770 // p["batch_size"]) for name, p in dcgan.items()}
    assert all(abs(n - 8_000) / 8_000 < 0.04 for n in steps.values()), steps
    assert dcgan["d5_g1"]["batch_size"] == 5 * 256
    cgan = {v.name: v.params for v in variants(CONFIG, "gans") if v.experiment == "cgan_mnist"}
    assert {p["model"] for p in cgan.values()} == {"cdcgan", "cgan_mlp"}
    for p in cgan.values():
        assert p["task_options"]["conditional"] and p["pad"] == 2
        assert (p["epochs"], p["batch_size"]) == (20, 128)
        steps = p["epochs"] * -(-(60_000 - p["validation_size"]) // p["batch_size"])
        assert steps == 7_820  # the course's 7,812 (20 epochs of 50,000 digits)
