"""The job of chapter `fusion`'s kind `avmnist_samples`: what AV-MNIST looks like, and how hard it is."""

from __future__ import annotations

import torch

from reprolab import figures
from reprolab.atomic import write_json
from reprolab.kinds import Job
from reprolab.train import load_data


def nearest_mean_accuracy(train: torch.Tensor, train_y: torch.Tensor, test: torch.Tensor,
                          test_y: torch.Tensor, chunk: int = 2000) -> float:
    """Test accuracy (%) of the nearest class mean on flattened inputs: a baseline of difficulty."""
    classes = int(train_y.max()) + 1
    sums = torch.zeros(classes, train[0].numel())
    for start in range(0, len(train), chunk):
        sums.index_add_(0, train_y[start:start + chunk], train[start:start + chunk].flatten(1).float())
    means = sums / torch.bincount(train_y, minlength=classes).clamp(min=1)[:, None]
    correct = 0
    for start in range(0, len(test), chunk):
        distances = torch.cdist(test[start:start + chunk].flatten(1).float(), means)
        correct += int((distances.argmin(1) == test_y[start:start + chunk]).sum())
    return 100 * correct / len(test)


def samples(job: Job) -> dict:
    """Grid of the first training pairs; split sizes and a nearest-mean baseline per modality."""
    variant = job.variant
    train, test, val = load_data(variant.params, job.inputs["prepared"])
    n = min(int(variant.params["n_samples"]), len(train))
    figures.paired_grid(train.x["image"][:n, 0].float().numpy(), train.x["audio"][:n, 0].numpy(),
                        train.y[:n].tolist(), job.outputs["samples"],
                        f"The first {n} training examples: image (top; red positive, blue negative), "
                        f"spectrogram (bottom), label")
    metrics = {"id": variant.id, "n_train": len(train), "n_val": len(val) if val is not None else 0,
               "n_test": len(test), "image_shape": list(train.x["image"].shape[1:]),
               "audio_shape": list(train.x["audio"].shape[1:]),
               "class_counts": torch.bincount(train.y).tolist()}
    for modality in ("image", "audio"):
        x = train.x[modality]  # uint8 audio or float raw / 255 images: scaled as the engine does
        scale = 1 / 255 if x.dtype == torch.uint8 else 1.0
        metrics[f"{modality}_mean"] = float(x.mean(dtype=torch.float64)) * scale
        metrics[f"{modality}_nearest_mean_acc"] = nearest_mean_accuracy(
            train.x[modality], train.y, test.x[modality], test.y)
    write_json(job.outputs["metrics"], metrics)
    return metrics
