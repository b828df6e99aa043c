"""Chapters `audio` and `fusion`: computed observations, the full-scale plan, the smoke report."""


import numpy as np
import torch
import yaml

from reprolab.chapters.fusion.jobs import nearest_mean_accuracy
from reprolab.chapters.fusion.report import size_notes
from reprolab.registry import variants
from reprolab.report.generic import confusion_notes
from tests.conftest import REPO, job_rule, job_wildcards


def test_confusion_notes_name_the_worst_class_and_the_top_confusion():
    matrix = np.diag([10] * 10)
    matrix[3, 3], matrix[3, 8] = 6, 4
    worst, confusion = confusion_notes(matrix)
    assert "60.0 % (class 3)" in worst and "100.0 %" in worst
    assert "3 taken for 8 (4 of 10" in confusion


def test_size_notes_compare_fusions_with_the_best_unimodal_network():
    notes = size_notes({"image_lenet5": (60_000, 98.0), "audio_lenet": (100_000, 80.0),
                        "early_fusion": (61_000, 98.5), "multibench_concat": (260_922, 97.0)})
    text = "\n".join(notes)
    assert notes[0].startswith("early_fusion tests best at 98.50 %")
    assert "early_fusion: +0.50 points against the best unimodal network (image_lenet5" in text
    assert "multibench_concat: -1.00 points" in text and "4.35x its parameters" in text
    assert "more accurate): image_lenet5, early_fusion." in text
    assert "Spearman" in text


def test_nearest_mean_separates_separable_classes():
    x = torch.cat([torch.zeros(20, 1, 4, 4), torch.ones(20, 1, 4, 4)])
    y = torch.tensor([0] * 20 + [1] * 20)
    assert nearest_mean_accuracy(x, y, x, y, chunk=7) == 100.0


def test_full_plan_has_every_audio_and_fusion_variant_at_full_scale(full_plan, full_plan_params):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    text = "\n".join(full_plan)
    epochs = {job["wildcards"]["id"]: job["params"]["variant"]["params"]["epochs"]
              for job in full_plan_params if job["rule"] == "train"}  # as the jobs will get them
    for v in variants(config, "audio") + variants(config, "fusion"):
        assert f"results/{v.id}/metrics.json" in text, v.id
        if v.kind == "train":
            assert epochs[v.id] == 30, v.id
    downloads = {job_wildcards(job)["dataset"] for job in full_plan if job_rule(job) == "download_dataset"}
    assert {"fsdd", "avmnist"} <= downloads


def test_smoke_report_has_both_chapters(smoke_run):
    html = (smoke_run / "report" / "report.html").read_text()
    for heading in ("Spoken digits as mel spectrograms", "Audio-visual fusion on AV-MNIST"):
        assert heading in html
    for caption in ("0_lucas_49.wav: waveform, spectrogram and mel spectrogram",
                    "audio/spectrogram_cnn/cnn: confusion matrix on the test set",
                    "AV-MNIST: images, their spectrograms and labels",
                    "The five networks: accuracy against size",
                    "Parameters and test accuracy (best model on validation)",
                    "Pareto-optimal", "per-class test accuracy"):
        assert caption in html, caption
    assert "260,922" in html
    for name in ("image_lenet5", "audio_lenet", "early_fusion", "intermediate_fusion", "multibench_concat"):
        assert f"<td>{name}</td>" in html
    assert (smoke_run / "results" / "audio" / "recordings" / "0_lucas_49" / "recording.png").stat().st_size
