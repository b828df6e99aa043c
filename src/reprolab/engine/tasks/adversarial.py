"""Adversarial training (GANs): a generator and a discriminator, one optimizer each.

`model.generator` maps noise [N, latent_dim] (and the labels, when `conditional`) to samples;
`model.discriminator` maps samples (and the labels) to logits [N] or [N, 1]. Each batch of real
samples gives `d_steps` discriminator updates, then `g_steps` generator updates, each with fresh
noise (`d_steps=5`: 5 D updates per G update; `g_steps=5`: 5 G updates per D update). With
`fresh_batches`, the batch is cut into `d_steps` equal parts and each D update sees its own part
(the course's "each on a fresh batch": the batch size is then `d_steps` times a D update's). The
losses are binary cross-entropies on logits (the generator's is the non-saturating one); every
optimizer step is logged to `steps.csv`. The evaluation gives the same losses on a held-out
split, with fixed noise.

`transform` turns stored real samples into the networks' inputs batch by batch (uint8 images ->
[-1, 1]), so that a large image set stays compact on the device. `Snapshots` records the
generator's output on a fixed noise batch (and fixed labels) before training and after every
epoch, one file per epoch, in eval mode and from fixed noise: it draws no random number that
training uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from reprolab.atomic import save_torch
from reprolab.engine.data import Split
from reprolab.engine.optim import make_optimizer, make_scheduler
from reprolab.engine.task import Task, optimizer_step
from reprolab.errors import ConfigError


class GAN(nn.Module):
    """The two networks of an adversarial task, as one module."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module):
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] -> uint8 in [0, 255], as an image file would store them."""
    return ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


@dataclass
class Snapshots:
    """A fixed noise batch (and labels) whose images are saved as `epoch_<k>.pt` (uint8) in `folder`."""

    noise: torch.Tensor  # [n, latent_dim]
    labels: torch.Tensor | None
    folder: Path

    def path(self, epoch: int) -> Path:
        return snapshot_path(self.folder, epoch)


def snapshot_path(folder: Path, epoch: int) -> Path:
    return Path(folder) / f"epoch_{epoch:04d}.pt"


def load_snapshots(folder: Path, epochs: int) -> torch.Tensor:
    """The images `Snapshots` saved in `folder` for epochs 0..`epochs`: [epochs + 1, n, C, H, W] uint8."""
    return torch.stack([torch.load(snapshot_path(folder, k), weights_only=True) for k in range(epochs + 1)])


class AdversarialTask(Task):
    """D's loss, G's loss, and D's mean output (a probability) on real and on generated samples."""

    metrics = ("d_loss", "g_loss", "d_real", "d_fake")
    primary = ("g_loss", "min")

    def __init__(self, model: nn.Module, optimizer: dict, scheduler: dict | None = None, *,
                 latent_dim: int, d_steps: int = 1, g_steps: int = 1, conditional: bool = False,
                 d_optimizer: dict | None = None, fresh_batches: bool = False,
                 transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 snapshots: Snapshots | None = None):
        if min(d_steps, g_steps) < 1:
            raise ConfigError(f"adversarial: d_steps={d_steps} and g_steps={g_steps} must be >= 1")
        self.model, self.latent_dim, self.conditional = model, latent_dim, conditional
        self.d_steps, self.g_steps, self.fresh_batches = d_steps, g_steps, fresh_batches
        self.transform, self.snapshots, self.epoch = transform, snapshots, 0
        self.optimizers = {"generator": make_optimizer(model.generator, optimizer),
                           "discriminator": make_optimizer(model.discriminator, d_optimizer or optimizer)}
        self.schedulers = {k: s for k, o in self.optimizers.items() if (s := make_scheduler(o, scheduler))}
        self.steps: list[tuple[int, str, torch.Tensor]] = []  # (batch, network, loss) of the epoch
        self.batches = 0

    def generate(self, n: int, labels: torch.Tensor | None, device: torch.device,
                 noise: torch.Generator | None = None) -> torch.Tensor:
        z = torch.randn(n, self.latent_dim, device=device, generator=noise)
        return self.model.generator(z) if labels is None else self.model.generator(z, labels)

    def judge(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """The discriminator's logits [N]."""
        out = self.model.discriminator(x) if labels is None else self.model.discriminator(x, labels)
        return out.flatten()

    def step(self, network: str, loss: torch.Tensor) -> torch.Tensor:
        optimizer_step(self.optimizers[network], loss)
        self.steps.append((self.batches, network, loss.detach()))
        return loss.detach()

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """Stored real samples -> the networks' inputs."""
        return x if self.transform is None else self.transform(x)

    def train_step(self, batch: Split) -> dict[str, torch.Tensor]:
        device = batch.y.device
        self.batches += 1
        parts = self.d_steps if self.fresh_batches else 1
        reals = [(self.inputs(x), y if self.conditional else None)
                 for x, y in zip(batch.x.tensor_split(parts), batch.y.tensor_split(parts), strict=True)]
        d_stats = []
        for k in range(self.d_steps):
            real, labels = reals[k % parts]
            real_logits = self.judge(real, labels)
            fake_logits = self.judge(self.generate(len(real), labels, device).detach(), labels)
            loss = self.step("discriminator", _d_loss(real_logits, fake_logits))
            d_stats.append(torch.stack([loss, *_means(real_logits.detach(), fake_logits.detach())]))
        g_losses = []
        for k in range(self.g_steps):
            real, labels = reals[k % parts]
            fake_logits = self.judge(self.generate(len(real), labels, device), labels)
            g_losses.append(self.step("generator", _g_loss(fake_logits)))
        d_loss, d_real, d_fake = torch.stack(d_stats).mean(0)
        return {"d_loss": d_loss, "g_loss": torch.stack(g_losses).mean(), "d_real": d_real, "d_fake": d_fake}

    @torch.no_grad()
    def evaluate(self, data: Split, batch_size: int) -> dict[str, float]:
        self.model.eval()
        device = data.y.device
        noise = torch.Generator(device=device).manual_seed(0)
        sums = torch.zeros(4, device=device)
        for start in range(0, len(data), batch_size):
            batch = data[start:start + batch_size]
            labels = batch.y if self.conditional else None
            real_logits = self.judge(self.inputs(batch.x), labels)
            fake_logits = self.judge(self.generate(len(batch), labels, device, noise), labels)
            sums += len(batch) * torch.stack([_d_loss(real_logits, fake_logits), _g_loss(fake_logits),
                                              *_means(real_logits, fake_logits)])
        return dict(zip(self.metrics, (sums / len(data)).tolist(), strict=True))

    @torch.no_grad()
    def sample(self, noise: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """The generator's images for given noise (and labels), in eval mode (batch-norm running
        statistics), as uint8; the model is left in the mode it was in."""
        generator = self.model.generator
        was_training = generator.training
        generator.eval()
        try:
            images = generator(noise) if labels is None else generator(noise, labels)
        finally:
            generator.train(was_training)
        return to_uint8(images)

    def snapshot(self) -> None:
        """Save the images of the fixed noise batch for the current epoch (0: before training)."""
        if self.snapshots is None:
            return
        device = next(self.model.parameters()).device
        labels = None if self.snapshots.labels is None else self.snapshots.labels.to(device)
        self.snapshots.folder.mkdir(parents=True, exist_ok=True)
        images = self.sample(self.snapshots.noise.to(device), labels).cpu()
        save_torch(images, self.snapshots.path(self.epoch))

    def end_epoch(self) -> float:
        lr = super().end_epoch()
        self.epoch += 1
        self.snapshot()
        return lr

    def compile(self) -> None:
        """The train step calls the two networks, not `model` itself."""
        self.model.generator.compile()
        self.model.discriminator.compile()

    def state_dict(self) -> dict:
        return super().state_dict() | {"epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.epoch = int(state.get("epoch", 0))

    def pop_steps(self) -> list[dict]:
        """One row per optimizer step of the epoch: batch, step, network (which stepped), loss."""
        losses = torch.stack([loss for _, _, loss in self.steps]).tolist() if self.steps else []
        rows = [{"batch": b, "step": i + 1, "network": network, "loss": loss}
                for i, ((b, network, _), loss) in enumerate(zip(self.steps, losses, strict=True))]
        self.steps, self.batches = [], 0
        return rows


def _d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


def _g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def _means(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> list[torch.Tensor]:
    """D's mean probability that real, then generated, samples are real."""
    return [real_logits.sigmoid().mean(), fake_logits.sigmoid().mean()]
