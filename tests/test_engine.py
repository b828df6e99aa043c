import copy
import logging
import math

import pandas as pd
import pytest
import torch

from reprolab.engine import Normalizer, Split, TrainConfig, fit, fit_normalizer, runner, select_device
from reprolab.engine.tasks.classification import ClassificationTask, evaluate
from reprolab.errors import ConfigError, TrainingError
from reprolab.models import build_model
from reprolab.registry import Variant
from reprolab.train import load_trained, run
from tests.conftest import toy_cifar


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
    assert list(history["epoch"]) == [0, 1, 2, 3, 4]  # 0: the model before any update
    assert history["lr"].iloc[0] == history["lr"].iloc[1] == 0.5 and history["seconds"].iloc[0] == 0
    assert history["lr"].iloc[2] == pytest.approx(0.45)  # the step schedule ran
    assert result.final["epochs"] == 4
    assert result.final["test_acc"] > 50  # far above chance (10 %)
    assert (tmp_path / "checkpoint.pt").exists()


def crash_at_call(monkeypatch, n):
    """Make the n-th training step of a classification task die (a killed job)."""
    real_step, calls = ClassificationTask.train_step, {"n": 0}

    def step(self, batch):
        calls["n"] += 1
        if calls["n"] == n:
            raise KeyboardInterrupt
        return real_step(self, batch)

    monkeypatch.setattr(ClassificationTask, "train_step", step)


def assert_same_state(a, b):
    """Nested dicts/lists of tensors and numbers, equal bit for bit."""
    if isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same_state(a[key], b[key])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same_state(x, y)
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b)
    else:
        assert a == b


@pytest.mark.parametrize("optimizer, scheduler", [
    ({"name": "sgd", "lr": 0.1, "momentum": 0.9}, {"name": "step", "step_size": 1, "gamma": 0.5}),
    ({"name": "adam", "lr": 1e-3}, {"name": "cosine", "T_max": 3}),
])
def test_resume_after_a_crash_gives_the_uninterrupted_result(tmp_path, monkeypatch, optimizer, scheduler):
    cfg = config(optimizer=optimizer, scheduler=scheduler)
    model_a, full = train_once(tmp_path / "a", cfg)

    with monkeypatch.context() as patch:
        crash_at_call(patch, 6 + 3)  # the job dies in the second epoch (6 batches per epoch)
        with pytest.raises(KeyboardInterrupt):
            train_once(tmp_path / "b", cfg)
    assert pd.read_csv(tmp_path / "b" / "history.csv")["epoch"].tolist() == [0, 1]
    evaluations = {"n": 0}
    real_evaluate = ClassificationTask.evaluate

    def counted(self, data, batch_size):
        evaluations["n"] += 1
        return real_evaluate(self, data, batch_size)

    with monkeypatch.context() as patch:
        patch.setattr(ClassificationTask, "evaluate", counted)
        model_b, resumed = train_once(tmp_path / "b", cfg)
    assert evaluations["n"] == 2  # the test split after epochs 2 and 3: epoch 0 is not evaluated again
    assert [row["epoch"] for row in resumed.history] == [0, 1, 2, 3]

    assert resumed.final["train_samples_per_s"] > 0
    drop = {"train_samples_per_s"}
    assert {k: v for k, v in resumed.final.items() if k not in drop} == \
        {k: v for k, v in full.final.items() if k not in drop}
    assert [{k: v for k, v in row.items() if k != "seconds"} for row in resumed.history] == \
        [{k: v for k, v in row.items() if k != "seconds"} for row in full.history]
    assert_same_state(model_a.state_dict(), model_b.state_dict())
    saved_a, saved_b = (torch.load(tmp_path / d / "checkpoint.pt", weights_only=True)["task"] for d in "ab")
    assert saved_a["optimizers"]["model"]["state"]  # momentum buffers / Adam moments are there
    assert_same_state(saved_a, saved_b)  # model, optimizer state, scheduler


def test_checkpoint_of_other_settings_is_not_resumed(tmp_path, caplog):
    train_once(tmp_path / "run", config(epochs=1, fingerprint="first"), "mlp")
    other = config(epochs=2, optimizer={"name": "sgd", "lr": 0.1}, fingerprint="other")
    with caplog.at_level(logging.WARNING, logger="reprolab.engine.runner"):
        model, result = train_once(tmp_path / "run", other, "mlp")
    assert "it was made with other settings" in caplog.text
    fresh, expected = train_once(tmp_path / "fresh", other, "mlp")
    assert [row["train_loss"] for row in result.history] == [row["train_loss"] for row in expected.history]
    for p, q in zip(model.parameters(), fresh.parameters(), strict=True):
        assert torch.equal(p, q)


def test_checkpoint_holds_only_plain_data(tmp_path):
    data = toy_data()
    fit(build_model("mlp"), data[:160], data[224:], config(epochs=2, keep_best=True), tmp_path,
        device=torch.device("cpu"), val=data[160:224])
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)  # no pickled objects
    assert ckpt["best"]["epoch"] in (1, 2) and ckpt["epoch"] == 2


def test_train_run_files_load_with_weights_only(tmp_path):
    data = toy_data(120)
    for split, part in (("train", data[:80]), ("test", data[80:])):
        torch.save({"x": part.x, "y": part.y}, tmp_path / f"{split}.pt")
    params = {"model": "mlp", "epochs": 1, "batch_size": 16, "standardize": True, "validation_size": 16,
              "keep_best": True, "confusion_matrix": True, "optimizer": {"name": "sgd", "lr": 0.1},
              "device": "cpu"}
    metrics = run(Variant("c", "e", "v", params), 0, tmp_path, tmp_path / "out")
    assert list(metrics)[:10] == ["id", "seed", "epochs", "train_loss", "train_acc", "test_loss", "test_acc",
                                  "train_samples_per_s", "best_epoch", "val_acc"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["history.csv", "metrics.json", "model.pt"]
    saved = torch.load(tmp_path / "out" / "model.pt", weights_only=True)
    assert set(saved) == {"model", "model_options", "state_dict", "normalizer"}
    model, normalizer = load_trained(tmp_path / "out" / "model.pt")
    assert isinstance(normalizer, Normalizer) and normalizer.mean is not None
    assert model(normalizer(data.x[:4])).shape == (4, 10)


def test_runner_reproduces_a_hand_written_loop(tmp_path):
    cfg = config(epochs=2, scheduler=None)
    model, result = train_once(tmp_path, cfg, "dropout_cnn")

    torch.manual_seed(0)
    ref = build_model("dropout_cnn")
    data = toy_data()
    train = data[:192]
    x = fit_normalizer(data.x, standardize=True)(train.x)
    opt = torch.optim.SGD(ref.parameters(), lr=0.5)
    losses = []
    for epoch in range(cfg.epochs):
        torch.manual_seed(cfg.seed * 1_000_003 + epoch)
        order = torch.randperm(len(train), generator=torch.Generator().manual_seed(cfg.seed * 7919 + epoch))
        ref.train()
        for b in range(0, len(train), cfg.batch_size):
            index = order[b:b + cfg.batch_size]
            loss = torch.nn.functional.cross_entropy(ref(x[index]), train.y[index])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.detach())
    assert result.history[-1]["train_loss"] == torch.stack(losses[-6:]).mean().item()
    for p, q in zip(model.parameters(), ref.parameters(), strict=True):
        assert torch.equal(p, q)


def test_nan_loss_stops_with_epoch_and_batch(tmp_path):
    data = toy_data()
    x = data.x.float()
    x[7, 0, 0, 0] = float("nan")  # one corrupt input poisons its batch
    with pytest.raises(TrainingError, match=r"loss became nan at epoch 1, batch \d+ of 6"):
        fit(build_model("mlp"), Split(x[:192], data.y[:192]), data[192:], config(), tmp_path,
            device=torch.device("cpu"))
    assert not (tmp_path / "checkpoint.pt").exists()  # the poisoned epoch is not saved


def test_test_metrics_are_those_of_the_best_epoch_on_validation(tmp_path):
    """Validation peaks at epoch 1 while the test accuracy keeps rising: the final test metrics are
    an evaluation of epoch 1's weights (trained again, alone), not the last epoch's."""
    data = toy_data()
    train, test = data[:160], data[224:]
    val = Split(data.x[160:224], (data.y[160:224] + 1) % 10)  # labels shifted: learning hurts
    transform = fit_normalizer(train.x, standardize=True)

    def train_for(epochs):
        torch.manual_seed(0)
        model = build_model("mlp")
        cfg = config(epochs=epochs, keep_best=True, optimizer={"name": "sgd", "lr": 0.02})
        return model, fit(model, train, test, cfg, tmp_path / f"{epochs}", device=torch.device("cpu"),
                          transform=transform, val=val)

    model, result = train_for(4)
    val_acc = [row["val_acc"] for row in result.history if row["epoch"] >= 1]  # epoch 0: untrained
    assert result.final["best_epoch"] == 1 and val_acc[0] > max(val_acc[1:])
    assert result.final["val_acc"] == val_acc[0]
    best_model, _ = train_for(1)
    expected_loss, expected_acc = evaluate(best_model, Split(transform(test.x), test.y), 1000,
                                           torch.device("cpu"))
    assert (result.final["test_loss"], result.final["test_acc"]) == (expected_loss, expected_acc)
    last = result.history[-1]
    assert result.final["test_loss"] != last["test_loss"] and result.final["test_acc"] < last["test_acc"]
    assert_same_state(model.state_dict(), best_model.state_dict())  # the model left is the best one


def test_standardisation_statistics_come_from_the_training_rows_only(tmp_path):
    """`train.run` stores in model.pt the mean and std of the training rows: not of the validation
    rows cut from train.pt, and a test split of another distribution changes nothing."""
    data = toy_data(120)
    train_x = data.x[:80].clone()
    train_x[64:] = 255  # the 16 validation rows (the tail of train.pt) are all white
    params = {"model": "mlp", "epochs": 1, "batch_size": 16, "standardize": True, "validation_size": 16,
              "keep_best": True, "optimizer": {"name": "sgd", "lr": 0.1}, "device": "cpu"}

    def saved_normalizer(test_x, name):
        prepared = tmp_path / name / "prepared"
        prepared.mkdir(parents=True)
        torch.save({"x": train_x, "y": data.y[:80]}, prepared / "train.pt")
        torch.save({"x": test_x, "y": data.y[80:]}, prepared / "test.pt")
        run(Variant("c", "e", "v", params), 0, prepared, tmp_path / name / "out")
        return torch.load(tmp_path / name / "out" / "model.pt", weights_only=True)["normalizer"]

    plain = saved_normalizer(data.x[80:], "plain")
    inverted = saved_normalizer(255 - data.x[80:], "inverted")  # test images of another mean and std
    rows = train_x[:64].float() / 255
    assert plain["mean"].flatten().tolist() == pytest.approx([rows.mean().item()], rel=1e-6)
    assert plain["std"].flatten().tolist() == pytest.approx([rows.std().item()], rel=1e-6)
    assert torch.equal(plain["mean"], inverted["mean"]) and torch.equal(plain["std"], inverted["std"])


def test_epoch_zero_is_never_the_best_epoch(tmp_path):
    """Validation labels made of the untrained model's own predictions: epoch 0 scores 100 %."""
    data = toy_data()
    normalizer = fit_normalizer(data.x, False)
    torch.manual_seed(0)
    model = build_model("mlp")
    with torch.no_grad():
        guesses = copy.deepcopy(model).eval()(normalizer(data.x[160:224])).argmax(1)
    result = fit(model, data[:160], data[224:], config(keep_best=True), tmp_path, device=torch.device("cpu"),
                 transform=normalizer, val=Split(data.x[160:224], guesses))
    initial, trained = result.history[0], result.history[1:]
    assert initial["val_acc"] == 100 > max(row["val_acc"] for row in trained)
    assert result.final["best_epoch"] == max(trained, key=lambda row: row["val_acc"])["epoch"] >= 1


def test_epoch_zero_evaluates_the_untrained_model(tmp_path):
    torch.manual_seed(0)
    fresh = build_model("dropout_cnn")
    untrained = copy.deepcopy(fresh)
    data = toy_data()
    normalizer = fit_normalizer(data.x, standardize=True)
    result = fit(fresh, data[:192], data[192:], config(), tmp_path, device=torch.device("cpu"),
                 transform=normalizer)
    cpu = torch.device("cpu")
    row = result.history[0]
    for split, part in (("train", data[:192]), ("test", data[192:])):
        loss, acc = evaluate(untrained, Split(normalizer(part.x), part.y), 1000, cpu)
        assert (row[f"{split}_loss"], row[f"{split}_acc"]) == (loss, acc)
    assert row["epoch"] == 0 and row["lr"] == 0.5 and row["seconds"] == 0
    assert (result.final["initial_loss"], result.final["initial_acc"]) == (row["test_loss"], row["test_acc"])
    assert pd.read_csv(tmp_path / "history.csv")["epoch"].tolist() == [0, 1, 2, 3]


def test_epoch_zero_changes_no_later_number(tmp_path, monkeypatch):
    """Dropout, batch norm, augmentation, a validation split, keep_best: epochs 1-N are the same bits
    with the epoch-0 evaluation and without it (a stand-in row that evaluates nothing)."""
    toy_cifar(tmp_path)
    params = {"model": "cifar_cnn", "epochs": 2, "batch_size": 16, "standardize": True,
              "model_options": {"input_size": 28, "batchnorm": True, "dropout": 0.5},
              "augment": {"crop": 28, "hflip": True}, "validation_size": 16, "keep_best": True,
              "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9}, "device": "cpu"}
    variant = Variant("c", "e", "v", params)
    with_it = run(variant, 0, tmp_path, tmp_path / "with")
    with monkeypatch.context() as patch:
        patch.setattr(runner, "initial_row",
                      lambda task, splits, batch_size: {"epoch": 0, "lr": task.lr(), "seconds": 0.0})
        without = run(variant, 0, tmp_path, tmp_path / "without")
    assert "initial_loss" in with_it and "initial_loss" not in without
    varying = {"initial_loss", "initial_acc", "train_samples_per_s", "wall_time_s"}
    assert {k: v for k, v in with_it.items() if k not in varying} == \
        {k: v for k, v in without.items() if k not in varying}
    h_with, h_without = (pd.read_csv(tmp_path / d / "history.csv").drop(columns="seconds").iloc[1:]
                         for d in ("with", "without"))
    pd.testing.assert_frame_equal(h_with, h_without, check_exact=True)
    assert_same_state(*(torch.load(tmp_path / d / "model.pt", weights_only=True)["state_dict"]
                        for d in ("with", "without")))


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


def test_large_splits_stay_stored_and_are_converted_per_batch_with_the_same_result(tmp_path, monkeypatch):
    """Above RESIDENT_FLOAT_BYTES the splits stay uint8 on the device; the numbers do not change."""
    from reprolab.engine.tasks import classification

    _, resident = train_once(tmp_path / "resident", config(epochs=2))
    monkeypatch.setattr(classification, "RESIDENT_FLOAT_BYTES", 1000)
    converted = []
    real = classification.Normalizer.forward
    monkeypatch.setattr(classification.Normalizer, "forward",
                        lambda self, x: converted.append(x.dtype) or real(self, x))
    _, per_batch = train_once(tmp_path / "per_batch", config(epochs=2))
    assert converted and set(converted) == {torch.uint8} and len(converted) > 3  # batch by batch
    def timeless(history):
        return [{k: v for k, v in row.items() if k != "seconds"} for row in history]

    assert timeless(per_batch.history) == timeless(resident.history)
    assert per_batch.final["test_loss"] == resident.final["test_loss"]


@pytest.mark.skipif(not torch.cuda.is_available(),
                    reason="needs a CUDA GPU: bf16 autocast and channels-last images are used only there")
def test_a_cuda_epoch_uses_bf16_and_channels_last_and_matches_the_cpu(tmp_path):
    """One epoch of a small colour CNN on CUDA: every convolution sees channels-last inputs and
    gives bf16 outputs (training and evaluation), the loss is finite and close to the CPU's."""
    g = torch.Generator().manual_seed(0)
    y = torch.arange(256) % 10
    x = (torch.rand(256, 3, 16, 16, generator=g) * 60).to(torch.uint8)
    x[torch.arange(256), y % 3, y, :] = 255  # a learnable stripe per class
    data = Split(x, y)

    def one_epoch(device):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                    torch.nn.Flatten(), torch.nn.Linear(8 * 7 * 7, 10))
        seen = []  # (input is channels-last, output dtype) of every call of the convolution
        model[0].register_forward_hook(lambda _, args, out: seen.append(
            (args[0].is_contiguous(memory_format=torch.channels_last), out.dtype)))
        cfg = config(epochs=1, optimizer={"name": "sgd", "lr": 0.02}, scheduler=None)
        result = fit(model, data[:192], data[192:], cfg, tmp_path / device, device=torch.device(device),
                     transform=fit_normalizer(data[:192].x, standardize=True))
        return model, result.final, seen

    model, cuda, seen = one_epoch("cuda")
    assert len(seen) == 6 + 1 and set(seen) == {(True, torch.bfloat16)}  # 6 batches, one evaluation
    assert model[0].weight.is_contiguous(memory_format=torch.channels_last)
    _, cpu, seen_on_cpu = one_epoch("cpu")
    assert set(seen_on_cpu) == {(False, torch.float32)}
    assert math.isfinite(cuda["train_loss"]) and math.isfinite(cuda["test_loss"])
    assert cuda["train_loss"] == pytest.approx(cpu["train_loss"], abs=0.1)
    assert cuda["test_loss"] == pytest.approx(cpu["test_loss"], abs=0.1)


def test_a_gpu_turns_on_cudnn_autotuning(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    assert select_device("cuda").type == "cuda" and torch.backends.cudnn.benchmark
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    assert select_device("auto").type == "cuda" and torch.backends.cudnn.benchmark


def test_train_config_reads_a_variants_params():
    params = {"epochs": 3, "batch_size": 16, "optimizer": {"name": "sgd", "lr": 0.1}, "compile": True}
    cfg = TrainConfig.from_params(params, seed=2)
    assert (cfg.epochs, cfg.batch_size, cfg.seed, cfg.compile, cfg.keep_best) == (3, 16, 2, True, False)
    assert cfg.fingerprint == runner.fingerprint(params, 2) != runner.fingerprint(params, 3)
    assert cfg.fingerprint != TrainConfig.from_params({**params, "batch_size": 8}, seed=2).fingerprint
    given = TrainConfig.from_params(params, seed=2, fingerprint="data too", eval_batch_size=7)
    assert (given.fingerprint, given.eval_batch_size) == ("data too", 7)


def test_compile_switch_compiles_the_network_and_agrees_with_eager(tmp_path, monkeypatch):
    """`compile: true`: the network runs compiled, its state dict keeps its keys (checkpoints and
    model.pt stay interchangeable), and training gives the eager numbers up to rounding. Compiled
    with `aot_eager` (the graph capture and autograd of torch.compile, without Inductor's code
    generation, which takes a minute on 2 cores)."""
    real = torch.nn.Module.compile
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, **kw: real(self, backend="aot_eager", **kw))
    eager_model, eager = train_once(tmp_path / "eager", config(epochs=2), "mlp")
    model, compiled = train_once(tmp_path / "compiled", config(epochs=2, compile=True), "mlp")
    assert model._compiled_call_impl is not None and eager_model._compiled_call_impl is None
    assert list(model.state_dict()) == list(eager_model.state_dict())
    for key in ("train_loss", "test_loss", "test_acc"):
        assert compiled.final[key] == pytest.approx(eager.final[key], rel=1e-4, abs=1e-4), key


def test_a_gan_compiles_both_networks():
    from reprolab.engine.tasks.adversarial import GAN, AdversarialTask

    gan = GAN(torch.nn.Linear(4, 6), torch.nn.Linear(6, 1))
    task = AdversarialTask(gan, {"name": "adam", "lr": 1e-3}, latent_dim=4)
    task.compile()
    assert gan.generator._compiled_call_impl is not None
    assert gan.discriminator._compiled_call_impl is not None
