import math

import pandas as pd
import pytest
import torch

from reprolab import engine
from reprolab.engine import Normalizer, Split, TrainConfig, fit, fit_normalizer, select_device
from reprolab.errors import ConfigError, TrainingError
from reprolab.models import build_model


def toy_data(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 10
    x = (torch.rand(n, 1, 28, 28, generator=g) * 60).to(torch.uint8)
    x[torch.arange(n), 0, y * 2, 5:20] = 255  # a learnable stripe per class
    return Split(x, y)


def config(epochs=3, **overrides):
    settings = dict(epochs=epochs, batch_size=32, optimizer={"name": "sgd", "lr": 0.5},
                    scheduler={"name": "step", "step_size": 1, "gamma": 0.9}, seed=1,
                    fingerprint="toy")
    return TrainConfig(**(settings | overrides))


def train_once(out_dir, cfg, model_name="dropout_cnn"):
    torch.manual_seed(0)
    model = build_model(model_name)
    data = toy_data()
    result = fit(model, data[:192], data[192:], cfg, out_dir, device=torch.device("cpu"),
                 transform=fit_normalizer(data.x, standardize=True))
    return model, result


def test_training_learns_and_writes_history(tmp_path):
    _, result = train_once(tmp_path, config(epochs=4), "mlp")
    history = pd.read_csv(tmp_path / "history.csv")
    assert list(history["epoch"]) == [1, 2, 3, 4]
    assert history["lr"].iloc[1] == pytest.approx(0.45)  # the step schedule ran
    assert result.final["test_acc"] > 50  # far above chance (10 %)
    assert (tmp_path / "checkpoint.pt").exists()


def test_resume_after_a_crash_gives_the_uninterrupted_result(tmp_path, monkeypatch):
    model_a, full = train_once(tmp_path / "a", config())

    real_evaluate, calls = engine.evaluate, {"n": 0}

    def crash_in_epoch_two(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the job dies during the second epoch's evaluation
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(engine, "evaluate", crash_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        train_once(tmp_path / "b", config())
    assert len(pd.read_csv(tmp_path / "b" / "history.csv")) == 1
    monkeypatch.setattr(engine, "evaluate", real_evaluate)
    model_b, resumed = train_once(tmp_path / "b", config())

    assert resumed.final["test_acc"] == full.final["test_acc"]
    assert resumed.final["test_loss"] == pytest.approx(full.final["test_loss"], abs=1e-6)
    for p, q in zip(model_a.parameters(), model_b.parameters(), strict=True):
        torch.testing.assert_close(p, q)


def test_checkpoint_of_other_settings_is_not_resumed(tmp_path):
    train_once(tmp_path, config(epochs=1), "mlp")
    _, result = train_once(tmp_path, config(epochs=2, fingerprint="other"), "mlp")
    assert [row["epoch"] for row in result.history] == [1, 2]


def test_nan_loss_stops_with_epoch_and_batch(tmp_path):
    data = toy_data()
    x = data.x.float()
    x[7, 0, 0, 0] = float("nan")  # one corrupt input poisons its batch
    with pytest.raises(TrainingError, match=r"loss became nan at epoch 1, batch \d+ of 6"):
        fit(build_model("mlp"), Split(x[:192], data.y[:192]), data[192:], config(), tmp_path,
            device=torch.device("cpu"))
    assert not (tmp_path / "checkpoint.pt").exists()  # the poisoned epoch is not saved


def test_best_on_validation_is_kept(tmp_path):
    data = toy_data()
    result = fit(build_model("mlp"), data[:160], data[224:], config(keep_best=True), tmp_path,
                 device=torch.device("cpu"), transform=fit_normalizer(data.x, False), val=data[160:224])
    best = max(result.history, key=lambda row: row["val_acc"])
    assert result.final["best_epoch"] == best["epoch"]


def test_dict_inputs_are_batched_per_modality():
    data = Split({"a": torch.arange(10), "b": torch.arange(10) * 2}, torch.arange(10))
    part = data[torch.tensor([3, 5])]
    assert part.x["b"].tolist() == [6, 10] and part.y.tolist() == [3, 5]


def test_normalizer_uses_training_statistics():
    x = torch.tensor([[[[0, 255]]], [[[255, 255]]]], dtype=torch.uint8)
    norm = Normalizer.fit(x, 1 / 255, standardize=True)
    out = norm(x)
    assert out.mean().item() == pytest.approx(0, abs=1e-6)
    assert not math.isnan(out.std().item())


def test_device_selection():
    assert select_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        assert select_device("auto").type == "cpu"
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            select_device("cuda")
