import json

import pandas as pd
import pytest

from reprolab.registry import Variant
from reprolab.results import aggregate


def write_run(folder, seed, test_acc, losses):
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps({
        "id": "c/e/v", "seed": seed, "test_acc": test_acc, "params": 7850, "wall_time_s": 10.0,
        "device": "cpu", "device_name": "CPU"}))
    history = pd.DataFrame({"epoch": [1, 2], "train_loss": losses, "train_acc": [50, 60],
                            "test_loss": losses, "test_acc": [40, test_acc]})
    history.to_csv(folder / "history.csv", index=False)


def test_seeds_are_combined_into_mean_and_std(tmp_path):
    write_run(tmp_path / "seed0", 0, 90.0, [1.0, 0.5])
    write_run(tmp_path / "seed1", 1, 92.0, [0.8, 0.3])
    variant = Variant("c", "e", "v", {"kind": "train", "seeds": [0, 1]})
    combined = aggregate(variant, [tmp_path / "seed0", tmp_path / "seed1"], tmp_path)
    assert combined["seeds"] == [0, 1]
    assert combined["test_acc"] == 91.0 and combined["test_acc_std"] == pytest.approx(2 ** 0.5)
    assert combined["params"] == 7850 and isinstance(combined["params"], int)
    assert combined["wall_time_s"] == 20.0  # compute adds up
    history = pd.read_csv(tmp_path / "history.csv")
    assert history["train_loss"].tolist() == pytest.approx([0.9, 0.4])
    assert (tmp_path / "curves.png").stat().st_size > 0
