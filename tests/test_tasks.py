"""The engine's tasks beyond classification, on tiny synthetic data."""

import pandas as pd
import pytest
import torch
from torch import nn

from reprolab.engine import Split, TrainConfig, make_task, run_epochs
from reprolab.engine.tasks.adversarial import GAN, AdversarialTask
from reprolab.errors import ConfigError
from reprolab.models import MODELS
from reprolab.registry import Variant
from reprolab.train import load_trained, run

CPU = torch.device("cpu")


class CharRNN(nn.Module):
    """Embedding, one tanh RNN layer, a linear read-out: `(x, state) -> (logits [N, T, V], state)`."""

    def __init__(self, vocab: int, hidden: int = 32):
        super().__init__()
        self.embed = nn.Embedding(vocab, 16)
        self.rnn = nn.RNN(16, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, x, state=None):
        h, state = self.rnn(self.embed(x), state)
        return self.out(h), state


def encode(text: str) -> tuple[torch.Tensor, int]:
    chars = sorted(set(text))
    return torch.tensor([chars.index(c) for c in text]), len(chars)


def train_lm(tmp_path, data, vocab, epochs, batch_size, **options):
    torch.manual_seed(0)
    task = make_task("language_model", CharRNN(vocab), {"name": "adam", "lr": 0.01}, **options)
    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, optimizer={})
    return run_epochs(task, data, cfg, tmp_path, device=CPU, test=data)


def test_language_model_learns_the_next_character(tmp_path):
    ids, vocab = encode("hello world " * 20)
    window = 8
    x = ids.unfold(0, window, 1)[:-1]  # every window of 8 characters...
    data = Split(x, ids[window:])  # ...and the character after it
    result = train_lm(tmp_path, data, vocab, epochs=6, batch_size=32)
    assert result.final["test_acc"] > 95
    history = pd.read_csv(tmp_path / "history.csv")
    last = history.iloc[-1]
    assert last["train_perplexity"] == pytest.approx(torch.tensor(last["train_loss"]).exp().item())
    assert last["train_perplexity"] < history["train_perplexity"].iloc[0]


def streams(ids: torch.Tensor, n_streams: int, steps: int) -> Split:
    """Stateful layout: sample i of each batch (of `n_streams`) continues sample i of the batch before."""
    length = (len(ids) - 1) // n_streams // steps * steps
    x = torch.stack([ids[i * length:(i + 1) * length] for i in range(n_streams)])
    y = torch.stack([ids[i * length + 1:(i + 1) * length + 1] for i in range(n_streams)])
    chunks = lambda t: t.unfold(1, steps, steps).transpose(0, 1).flatten(0, 1)  # noqa: E731
    return Split(chunks(x), chunks(y))


def test_stateful_language_model_carries_the_state_across_batches(tmp_path):
    ids, vocab = encode("aab" * 100)  # after "a", only the character before tells what comes next
    data = streams(ids, n_streams=10, steps=2)  # two steps: the first is ambiguous without the past
    stateful = train_lm(tmp_path / "stateful", data, vocab, epochs=6, batch_size=10,
                        sequence_targets=True, stateful=True)
    stateless = train_lm(tmp_path / "stateless", data, vocab, epochs=6, batch_size=10, sequence_targets=True)
    assert stateful.final["test_acc"] > 95
    assert stateless.final["test_acc"] < 90  # at most 1/2 * 2/3 + 1/2 of the steps


class Tagger(nn.Module):
    """Left-to-right GRU tagger over dict inputs `{tokens, mask}` (it never reads the mask)."""

    def __init__(self, vocab: int = 10, tags: int = 3):
        super().__init__()
        self.embed = nn.Embedding(vocab, 8)
        self.rnn = nn.GRU(8, 16, batch_first=True)
        self.out = nn.Linear(16, tags)

    def forward(self, x):
        return self.out(self.rnn(self.embed(x["tokens"] if isinstance(x, dict) else x))[0])


def padded_batch(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Tokens [8, 6] in 1..9, tags `token % 3`, a mask of real steps; padded steps are random."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([6, 5, 4, 3, 2, 6, 1, 3])
    real = torch.arange(6) < lengths[:, None]
    tokens = torch.randint(1, 10, (8, 6), generator=torch.Generator().manual_seed(0))
    noise = torch.randint(1, 10, (8, 6), generator=g)
    tokens = torch.where(real, tokens, noise)
    tags = torch.where(real, tokens % 3, noise % 3)
    return tokens, tags, real


@pytest.mark.parametrize("with_mask", [True, False])
def test_padded_steps_change_neither_loss_nor_gradients_nor_accuracy(with_mask):
    results = []
    for seed in (1, 2):
        tokens, tags, real = padded_batch(seed)
        if with_mask:
            batch = Split({"tokens": tokens, "mask": real}, tags)
        else:
            batch = Split(tokens, torch.where(real, tags, 3))  # 3: the pad id
        torch.manual_seed(0)
        task = make_task("masked_sequence", Tagger(tags=4), {"name": "sgd", "lr": 0.0},
                         pad_id=None if with_mask else 3)
        scalars = task.train_step(batch)
        grads = [p.grad.clone() for p in task.model.parameters()]
        results.append((scalars, grads))
    (a, grads_a), (b, grads_b) = results
    assert a["real"].item() == b["real"].item() == 30
    assert torch.equal(a["loss"], b["loss"]) and torch.equal(a["hits"], b["hits"])
    for p, q in zip(grads_a, grads_b, strict=True):
        assert torch.equal(p, q)
    assert not torch.equal(padded_batch(1)[0], padded_batch(2)[0])  # the padded steps did differ


def test_masked_sequence_model_learns(tmp_path):
    batches = [padded_batch(seed) for seed in range(40)]
    tokens, tags, real = (torch.cat(parts) for parts in zip(*batches, strict=True))
    data = Split({"tokens": tokens, "mask": real}, tags)
    torch.manual_seed(0)
    task = make_task("masked_sequence", Tagger(), {"name": "adam", "lr": 0.02})
    result = run_epochs(task, data, TrainConfig(epochs=10, batch_size=32, optimizer={}), tmp_path,
                        device=CPU, test=data)
    assert result.final["test_acc"] > 90  # chance: about 1/3


class Generator(nn.Module):
    def __init__(self, latent: int = 4, conditional: bool = False):
        super().__init__()
        self.labels = nn.Embedding(2, latent) if conditional else None
        self.net = nn.Linear(latent, 2)

    def forward(self, z, labels=None):
        assert (labels is None) == (self.labels is None)
        return self.net(z if labels is None else z + self.labels(labels))


class Discriminator(nn.Module):
    def __init__(self, conditional: bool = False):
        super().__init__()
        self.labels = nn.Embedding(2, 2) if conditional else None
        self.net = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))

    def forward(self, x, labels=None):
        assert (labels is None) == (self.labels is None)
        return self.net(x if labels is None else x + self.labels(labels))


def gan_data(n: int = 64) -> Split:
    g = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 2
    return Split(torch.randn(n, 2, generator=g) + 3 * y[:, None], y)


def train_gan(out, epochs=2, conditional=False, **options):
    torch.manual_seed(0)
    task = make_task("adversarial", GAN(Generator(conditional=conditional), Discriminator(conditional)),
                     {"name": "adam", "lr": 1e-3, "betas": [0.5, 0.999]}, latent_dim=4,
                     conditional=conditional, **options)
    cfg = TrainConfig(epochs=epochs, batch_size=16, optimizer={}, seed=3)
    return run_epochs(task, gan_data(), cfg, out, device=CPU, test=gan_data(32))


@pytest.mark.parametrize("ratio, per_batch", [({"d_steps": 5}, ["discriminator"] * 5 + ["generator"]),
                                              ({"g_steps": 5}, ["discriminator"] + ["generator"] * 5)])
def test_adversarial_steps_are_logged_and_follow_the_update_ratio(tmp_path, ratio, per_batch):
    result = train_gan(tmp_path, **ratio)
    steps = pd.read_csv(tmp_path / "steps.csv")
    assert list(steps.columns) == ["epoch", "batch", "step", "network", "loss"]
    assert len(steps) == 2 * 4 * len(per_batch)  # 2 epochs of 4 batches
    for (_, _), rows in steps.groupby(["epoch", "batch"]):
        assert list(rows["network"]) == per_batch
    history = pd.read_csv(tmp_path / "history.csv")
    for split in ("train", "test"):
        assert history[[f"{split}_{m}" for m in ("d_loss", "g_loss", "d_real", "d_fake")]].notna().all().all()
    assert 0 < result.final["train_d_real"] < 1
    last_d = steps[(steps.epoch == 2) & (steps.network == "discriminator")]["loss"].mean()
    assert history["train_d_loss"].iloc[-1] == pytest.approx(last_d, rel=1e-5)


def test_conditional_gan_passes_the_labels_to_both_networks(tmp_path):
    result = train_gan(tmp_path, epochs=1, conditional=True)  # the networks assert they got labels
    assert [row["epoch"] for row in result.history] == [0, 1]  # epoch 0 evaluates with the labels too


def test_resumed_gan_logs_each_step_once(tmp_path, monkeypatch):
    train_gan(tmp_path / "full", epochs=3, d_steps=2)
    real_step, calls = AdversarialTask.train_step, {"n": 0}

    def crash_in_epoch_three(self, batch):
        calls["n"] += 1
        if calls["n"] == 4 + 4 + 2:
            raise KeyboardInterrupt
        return real_step(self, batch)

    with monkeypatch.context() as patch:
        patch.setattr(AdversarialTask, "train_step", crash_in_epoch_three)
        with pytest.raises(KeyboardInterrupt):
            train_gan(tmp_path / "resumed", epochs=3, d_steps=2)
    train_gan(tmp_path / "resumed", epochs=3, d_steps=2)
    full, resumed = (pd.read_csv(tmp_path / d / "steps.csv") for d in ("full", "resumed"))
    pd.testing.assert_frame_equal(full, resumed)


def test_train_run_selects_the_task_of_the_variant(tmp_path, monkeypatch):
    monkeypatch.setitem(MODELS, "toy_char_rnn", CharRNN)
    ids, vocab = encode("hello world " * 10)
    windows = Split(ids.unfold(0, 8, 1)[:-1], ids[8:])
    for split in ("train", "test"):
        torch.save({"x": windows.x, "y": windows.y}, tmp_path / f"{split}.pt")
    params = {"model": "toy_char_rnn", "model_options": {"vocab": vocab}, "task": "language_model",
              "task_options": {"one_hot": 0}, "epochs": 2, "batch_size": 16,
              "optimizer": {"name": "adam", "lr": 0.01, "clip_grad_norm": 1.0}, "device": "cpu"}
    metrics = run(Variant("c", "e", "v", params), 0, tmp_path, tmp_path / "out")
    assert {"test_acc", "test_perplexity", "train_perplexity"} <= set(metrics)
    model, normalizer = load_trained(tmp_path / "out" / "model.pt")
    assert isinstance(model, CharRNN) and isinstance(normalizer, nn.Identity)


def test_unknown_task_or_option_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown task 'gan'.*adversarial"):
        make_task("gan", nn.Linear(1, 1), {"name": "sgd", "lr": 0.1})
    with pytest.raises(ConfigError, match="'language_model' does not accept options"):
        make_task("language_model", nn.Linear(1, 1), {"name": "sgd", "lr": 0.1}, window=3)
