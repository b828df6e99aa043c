"""The job of chapter `gans`'s kind `gan`: train a GAN per seed, keep its fixed-noise grids, score it.

Per seed (`seed<k>/`): the engine's adversarial task trains the variant's `GAN` on the real images
(stored uint8, scaled to [-1, 1] batch by batch on the device, MNIST padded to 32x32), the images
of a fixed noise batch (and fixed labels) are kept before training and after every epoch, every
optimizer step's loss goes to `steps.csv`; then the generator is scored: the FID against held-out
real images (`score: {name: fid}`), or the accuracy of the `mnist` chapter's trained classifier on
generated digits and their diversity (`score: {name: classifier}`). The seeds are combined as the
`train` kind's are (mean and std); the first seed's grids become `samples.png` (the first and the
last epoch) and `evolution.png` (a few samples at every epoch), drawn with PIL.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image, ImageDraw, ImageFont
from torch import nn
from torch.nn import functional as F

from reprolab.atomic import write_json
from reprolab.chapters.gans import scores
from reprolab.engine import TrainConfig, run_epochs, select_device
from reprolab.engine.tasks.adversarial import AdversarialTask, Snapshots, load_snapshots
from reprolab.errors import ConfigError
from reprolab.kinds import Job
from reprolab.models import build_model, count_parameters
from reprolab.registry import Variant
from reprolab.results import aggregate
from reprolab.train import load_data, load_trained, run_facts, save_seed

log = logging.getLogger(__name__)
D_NEAR_ZERO, G_HIGH = 0.1, 6.0  # a D loss under 0.1: D wins; a G loss above 6: the seed's "supérieur à 6"
KEPT = ("score", "fid_weights", "fid_image_size", "fid_samples", "class_acc_per_class", "diversity_per_class",
        "classifier", "scored_per_class", "image_shape", "latent_dim", "snapshot_epochs", "grid_class_acc",
        "grid_change")
MAX_STRIP_EPOCHS = 16  # rows of evolution.png; evenly spaced epochs beyond that
DIVERSITY_SAMPLES = 1000  # generated and real faces whose mean pairwise distance is compared


class Pixels(nn.Module):
    """Stored uint8 images -> [-1, 1], padded by `pad` pixels of background (-1) on each side."""

    def __init__(self, pad: int = 0):
        super().__init__()
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float() / 127.5 - 1
        return F.pad(x, [self.pad] * 4, value=-1.0) if self.pad else x


def snapshot_batch(params: dict, latent_dim: int, seed: int, conditional: bool,
                   classes: int = 10) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The fixed noise batch of the grids (the same for every variant of a seed) and, for a
    conditional generator, its labels: one row per class, `columns` samples each."""
    shot = params["snapshot"]
    n = int(shot["samples"])
    noise = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(10_000 + seed))
    labels = torch.arange(n) // int(shot["columns"]) % classes if conditional else None
    return noise, labels


def loss_statistics(steps: pd.DataFrame) -> dict:
    """What the per-update losses say about stability, over the last half of the run's updates."""
    out = {}
    for network, short in (("discriminator", "d"), ("generator", "g")):
        loss = steps.loc[steps["network"] == network, "loss"].to_numpy()
        half = loss[len(loss) // 2:]
        q1, median, q3 = np.percentile(half, [25, 50, 75])
        out |= {f"{short}_updates": int(len(loss)), f"{short}_loss_median_end": float(median),
                f"{short}_loss_iqr_end": float(q3 - q1), f"{short}_loss_first": float(loss[0])}
    d_half = steps.loc[steps["network"] == "discriminator", "loss"].to_numpy()
    g_half = steps.loc[steps["network"] == "generator", "loss"].to_numpy()
    out["d_loss_near_zero"] = 100 * float((d_half[len(d_half) // 2:] < D_NEAR_ZERO).mean())
    out["g_loss_above_6"] = 100 * float((g_half[len(g_half) // 2:] > G_HIGH).mean())
    out["steps"] = int(steps[["epoch", "batch"]].drop_duplicates().shape[0])
    return out


@torch.no_grad()
def generate(task: AdversarialTask, n: int, labels: torch.Tensor | None, seed: int, device: torch.device,
             batch: int = 500) -> torch.Tensor:
    """`n` uint8 images of the trained generator from seeded noise (eval mode)."""
    noise = torch.randn(n, task.latent_dim, generator=torch.Generator().manual_seed(20_000 + seed))
    parts = []
    for start in range(0, n, batch):
        y = None if labels is None else labels[start:start + batch].to(device)
        parts.append(task.sample(noise[start:start + batch].to(device), y).cpu())
    return torch.cat(parts)


def fid_scores(task: AdversarialTask, train: torch.Tensor, test: torch.Tensor, score: dict,
               weights: Path | None, seed: int, device: torch.device) -> dict:
    """FID of generated images against the held-out test images (`test_fid`) and against as many
    training images (`train_fid`), and between those training and test images (`fid_real`: two real
    sets of the same size, the floor of the FID at that sample size); the diversity of the generated
    images (their mean distance over that of real ones)."""
    n = min(int(score["samples"]), len(test), len(train))
    size = int(score["image_size"])
    fake = generate(task, n, None, seed, device)
    net = scores.fid_network(weights)
    if weights is None:  # fixtures: random weights, batch norm set on the real test images
        scores.calibrate(net, test[:n], size)
    features = {name: scores.inception_features(net, images, size, device)
                for name, images in (("fake", fake), ("test", test[:n]), ("train", train[:n]))}
    few = min(n, DIVERSITY_SAMPLES)
    spread = scores.mean_distance(fake[:few]) / scores.mean_distance(test[:few])
    return {"test_fid": scores.frechet_from_features(features["fake"], features["test"]),
            "train_fid": scores.frechet_from_features(features["fake"], features["train"]),
            "fid_real": scores.frechet_from_features(features["train"], features["test"]),
            "diversity": spread,
            "fid_samples": n, "fid_image_size": size,
            "fid_weights": Path(weights).name if weights else "random (fixtures: not the FID's Inception)"}


def _crop(images: torch.Tensor, pad: int) -> torch.Tensor:
    return images[..., pad:-pad, pad:-pad] if pad else images


def classifier_scores(task: AdversarialTask, test_x: torch.Tensor, test_y: torch.Tensor, score: dict,
                      classifier_path: Path, pad: int, seed: int, device: torch.device,
                      shots: torch.Tensor, shot_labels: torch.Tensor) -> dict:
    """The trained classifier's accuracy on `per_class` generated digits of each class (centre-cropped
    back to the real size) and on the real test digits; the generated digits' diversity per class; the
    accuracy on the fixed grid (`shots`: its images at every epoch, labels `shot_labels`) epoch by epoch."""
    classifier, normalizer = load_trained(classifier_path, device)
    classes = int(test_y.max()) + 1
    per = int(score["per_class"])
    labels = torch.arange(classes).repeat_interleave(per)
    fake = _crop(generate(task, len(labels), labels, seed, device), pad)
    acc, per_class = scores.classifier_accuracy(classifier, normalizer, fake, labels)
    by_epoch = [scores.classifier_accuracy(classifier, normalizer, _crop(images, pad), shot_labels)[0]
                for images in shots]
    real_acc, _ = scores.classifier_accuracy(classifier, normalizer, test_x, test_y)
    keep = torch.cat([torch.nonzero(test_y == c).flatten()[:per] for c in range(classes)])
    spread, spreads = scores.diversity(fake, labels, test_x[keep], test_y[keep])
    noise = {"speckle": scores.speckle(fake), "real_speckle": scores.speckle(test_x[keep])}
    return {"class_acc": acc, "class_acc_per_class": per_class, "real_class_acc": real_acc,
            "diversity": spread, "diversity_per_class": spreads, "scored_per_class": per,
            "n_classes": classes, "classifier": str(classifier_path), "grid_class_acc": by_epoch, **noise}


def run_seed(variant: Variant, seed: int, inputs: dict, out_dir: Path) -> dict:
    """Train one seed of a `gan` variant in `out_dir`, score it, write its metrics.json and model.pt."""
    tic = time.perf_counter()
    p, out_dir = variant.params, Path(out_dir)
    device = select_device(variant.device)
    train, test, val = load_data(p, Path(inputs["prepared"]))
    options = dict(p.get("task_options", {}))
    conditional = bool(options.get("conditional", False))
    torch.manual_seed(seed)
    model = build_model(p["model"], **p.get("model_options", {})).to(device)
    latent_dim = model.generator.nz
    pixels = Pixels(int(p.get("pad", 0)))
    noise, labels = snapshot_batch(p, latent_dim, seed, conditional)
    with torch.no_grad():
        conditions = [] if labels is None else [labels[:2].to(device)]
        made = model.generator.eval()(noise[:2].to(device), *conditions)
    real = pixels(train.x[:1])
    if made.shape[1:] != real.shape[1:]:
        raise ConfigError(f"{variant.id}: the generator makes {list(made.shape[1:])} images but the prepared "
                          f"{p['dataset']} images are {list(real.shape[1:])} once padded; match "
                          "model_options "
                          f"(image_size) with data.prepare.{p['dataset']} and `pad`")
    task = AdversarialTask(model, p["optimizer"], p.get("scheduler"), latent_dim=latent_dim, transform=pixels,
                           snapshots=Snapshots(noise, labels, out_dir / "snapshots"), **options)
    task.snapshot()  # epoch 0: the untrained generator
    cfg = TrainConfig.from_params(p, seed)
    result = run_epochs(task, train, cfg, out_dir, device=device, test=test, val=val)
    score = p["score"]
    shots = load_snapshots(out_dir / "snapshots", int(result.final["epochs"]))
    if score["name"] == "fid":
        weights = _asset_file(Path(inputs["asset_fid_inception"]).parent)
        scored = fid_scores(task, train.x, test.x, score, weights, seed, device)
    elif score["name"] == "classifier":
        scored = classifier_scores(task, test.x, test.y, score, Path(inputs["classifier"]),
                                   int(p.get("pad", 0)), seed, device, shots, labels)
    else:
        raise ConfigError(f"{variant.id}: score.name {score['name']!r} is not fid or classifier")
    metrics = {"id": variant.id, "seed": seed, **result.final,
               **loss_statistics(pd.read_csv(out_dir / "steps.csv")),
               **scored, "grid_change": scores.grid_change(shots), "score": score["name"],
               "params_generator": count_parameters(model.generator),
               "params_discriminator": count_parameters(model.discriminator),
               "latent_dim": latent_dim, "image_shape": list(real.shape[1:]),
               "n_val": len(val) if val is not None else 0, "snapshot_epochs": int(result.final["epochs"]),
               **run_facts(model, train, test, device, tic)}
    return save_seed(out_dir, {"model": p["model"], "model_options": p.get("model_options", {}),
                               "state_dict": model.state_dict(), "normalizer": None}, metrics)


def _asset_file(asset_dir: Path) -> Path | None:
    """The FID's Inception weights in their asset folder; None for a fixture (no file)."""
    from reprolab.data.assets import asset_file

    return asset_file("fid_inception", asset_dir)


# ------------------------------------------------------------------------------------------ figures

def grid(images: torch.Tensor, columns: int, gap: int = 2) -> np.ndarray:
    """uint8 images [N, C, H, W] tiled `columns` per row on a white background: [rows·H, columns·W, 3]."""
    n, c, h, w = images.shape
    rows = -(-n // columns)
    out = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap, 3), 255, dtype=np.uint8)
    pictures = images.expand(-1, 3, -1, -1) if c == 1 else images
    for i, image in enumerate(pictures.permute(0, 2, 3, 1).numpy()):
        r, k = divmod(i, columns)
        out[r * (h + gap):r * (h + gap) + h, k * (w + gap):k * (w + gap) + w] = image
    return out


def _zoom(images: torch.Tensor, least: int = 32) -> torch.Tensor:
    """Small images enlarged by a whole factor (nearest neighbour) to at least `least` pixels."""
    factor = max(1, -(-least // images.shape[-1]))
    return images.repeat_interleave(factor, -1).repeat_interleave(factor, -2) if factor > 1 else images


def _font(size: int = 14):
    return ImageFont.load_default(size=size)


def _labelled(panels: list[tuple[str, np.ndarray]], path: Path) -> Path:
    """Panels side by side, each under its title; saved as PNG."""
    font, top, gap = _font(16), 24, 16
    width = sum(p.shape[1] for _, p in panels) + gap * (len(panels) - 1)
    canvas = Image.new("RGB", (width, top + max(p.shape[0] for _, p in panels)), "white")
    draw, x = ImageDraw.Draw(canvas), 0
    for title, panel in panels:
        draw.text((x, 2), title, fill="black", font=font)
        canvas.paste(Image.fromarray(panel), (x, top))
        x += panel.shape[1] + gap
    canvas.save(path)
    return path


def strip_epochs(epochs: int, most: int = MAX_STRIP_EPOCHS) -> list[int]:
    """The epochs the evolution strip shows: all of 0..epochs, or `most` evenly spaced (0 and the last
    kept)."""
    if epochs + 1 <= most:
        return list(range(epochs + 1))
    return sorted({int(round(k)) for k in np.linspace(0, epochs, most)})


def draw_samples(shots: torch.Tensor, columns: int, path: Path) -> Path:
    """The fixed batch after the first and after the last epoch, side by side."""
    last = len(shots) - 1
    panels = [(f"after epoch {k}", grid(_zoom(shots[k]), columns)) for k in (min(1, last), last)]
    return _labelled(panels, path)


def draw_evolution(shots: torch.Tensor, columns: int, strip: int, path: Path) -> Path:
    """One row per shown epoch: the first sample of each of the first `strip` rows of the fixed batch
    (for a conditional generator, one sample per class), always from the same noise."""
    picked = [r * columns for r in range(min(strip, -(-shots.shape[1] // columns)))]
    epochs = strip_epochs(len(shots) - 1)
    rows = grid(_zoom(shots[epochs][:, picked].flatten(0, 1)), len(picked))
    label_width, font = 90, _font(14)
    canvas = Image.new("RGB", (label_width + rows.shape[1], rows.shape[0]), "white")
    canvas.paste(Image.fromarray(rows), (label_width, 0))
    draw, height = ImageDraw.Draw(canvas), rows.shape[0] / len(epochs)
    for i, epoch in enumerate(epochs):
        draw.text((4, int(i * height + height / 2 - 8)), f"epoch {epoch}", fill="black", font=font)
    canvas.save(path)
    return path


def gan(job: Job) -> dict:
    """Every seed of a `gan` variant, combined like the `train` kind's; the first seed's grids drawn."""
    variant, p = job.variant, job.variant.params
    seed_dirs = [job.out_dir / f"seed{seed}" for seed in variant.seeds]
    runs = [run_seed(variant, seed, job.inputs, folder) for seed, folder in zip(variant.seeds, seed_dirs,
                                                                                strict=True)]
    shots = load_snapshots(seed_dirs[0] / "snapshots", runs[0]["snapshot_epochs"])
    columns = int(p["snapshot"]["columns"])
    draw_samples(shots, columns, job.outputs["samples"])
    draw_evolution(shots, columns, int(p["snapshot"]["strip"]), job.outputs["evolution"])
    for folder in seed_dirs:
        shutil.rmtree(folder / "snapshots", ignore_errors=True)
    combined = aggregate(variant, seed_dirs, job.out_dir, curves=False)
    combined |= {key: runs[0][key] for key in KEPT if key in runs[0]}
    write_json(job.outputs["metrics"], combined)
    return combined
