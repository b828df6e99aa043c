"""Generic additions of the audio chapter: the confusion matrix of a run, summed over seeds, and
per-dataset preparation options."""

import json

import pandas as pd
import pytest
import torch
from torch import nn

from reprolab.data.prepare import prepare_dataset
from reprolab.engine import Normalizer, Split, confusion_matrix
from reprolab.errors import ConfigError
from reprolab.registry import Variant
from reprolab.results import aggregate


def test_confusion_matrix_counts_true_against_predicted():
    model = nn.Linear(1, 3, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[-1.0], [0.0], [1.0]]))  # x<0 -> 0, x>0 -> 2
    data = Split(torch.tensor([[-1.0], [-2.0], [3.0], [4.0], [-5.0]]), torch.tensor([0, 1, 2, 2, 0]))
    counts = confusion_matrix(model, data, Normalizer(), batch_size=2, device=torch.device("cpu"))
    assert counts.tolist() == [[2, 0, 0], [1, 0, 0], [0, 0, 2]]


def test_aggregate_sums_confusion_matrices_over_seeds(tmp_path):
    dirs = []
    for seed, matrix in ((0, [[3, 1], [0, 4]]), (1, [[4, 0], [1, 3]])):
        folder = tmp_path / f"seed{seed}"
        folder.mkdir()
        (folder / "metrics.json").write_text(json.dumps({"seed": seed, "test_acc": 80.0 + seed,
                                                         "device": "cpu", "device_name": "cpu",
                                                         "confusion": matrix}))
        pd.DataFrame({"epoch": [1], "train_loss": [1.0], "test_loss": [1.0], "train_acc": [50.0],
                      "test_acc": [50.0]}).to_csv(folder / "history.csv", index=False)
        dirs.append(folder)
    combined = aggregate(Variant("audio", "e", "v", {}), dirs, tmp_path)
    assert combined["confusion"] == [[7, 1], [1, 7]]
    assert combined["test_acc"] == pytest.approx(80.5)


def test_unknown_preparation_option_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="data.prepare.fsdd.*n_bands"):
        prepare_dataset("fsdd", tmp_path, tmp_path / "out", {"n_bands": 40})
