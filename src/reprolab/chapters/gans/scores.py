"""Scores of a trained generator, beyond the seed (which only looked at pictures).

- The Fréchet Inception distance (FID, Heusel et al. 2017): the Fréchet distance between Gaussians
  fitted to the Inception features of generated and of held-out real images,
  d² = |μ₁ − μ₂|² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^½), computed in float64 here (`frechet_distance`).
  Tr((Σ₁Σ₂)^½) is the sum of the square roots of the eigenvalues of Σ₁^½ Σ₂ Σ₁^½ (symmetric,
  positive semi-definite): no complex square root to clean up. With fewer samples than features
  the covariances are low-rank and the same trace is the nuclear norm of A Bᵀ / √((n−1)(m−1)),
  A and B the centred features (`frechet_from_features` picks the cheaper of the two).
- For conditional digit generators: the accuracy of an MNIST classifier on the generated digits
  (does the digit follow its label?) and their diversity (are the digits of a class as different
  from each other as real ones?).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from reprolab.chapters.gans.inception import FIDInception


def _sqrt_psd(matrix: np.ndarray) -> np.ndarray:
    """The symmetric square root of a symmetric positive semi-definite matrix."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """The squared Fréchet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2)."""
    mu1, mu2 = (np.atleast_1d(np.asarray(mu, np.float64)) for mu in (mu1, mu2))
    sigma1, sigma2 = (np.atleast_2d(np.asarray(sigma, np.float64)) for sigma in (sigma1, sigma2))
    root = _sqrt_psd(sigma1)
    middle = root @ sigma2 @ root
    cross = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * cross)


def gaussian(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of feature rows [n, d], in float64."""
    features = np.asarray(features, np.float64)
    return features.mean(0), np.cov(features, rowvar=False)


def frechet_from_features(a: np.ndarray, b: np.ndarray) -> float:
    """The Fréchet distance between Gaussians fitted to feature rows `a` [n, d] and `b` [m, d]."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    n, m, d = len(a), len(b), a.shape[1]
    if min(n, m) > d:
        return frechet_distance(*gaussian(a), *gaussian(b))
    ca, cb = a - a.mean(0), b - b.mean(0)
    cross = np.linalg.svd(ca @ cb.T, compute_uv=False).sum() / np.sqrt((n - 1) * (m - 1))
    diff = a.mean(0) - b.mean(0)
    traces = (ca * ca).sum() / (n - 1) + (cb * cb).sum() / (m - 1)
    return float(diff @ diff + traces - 2 * cross)


def fid_network(weights: Path | None, seed: int = 0) -> FIDInception:
    """The FID's Inception with the asset's weights; without them (smoke fixtures) randomly
    initialised from `seed`, its batch-norm statistics to be set by `calibrate`."""
    from reprolab.data.assets.weights import load_weights

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = FIDInception(tf_pools=True)
    if weights is not None:
        net.load_state_dict(load_weights(weights))
    return net.eval()


def _inputs(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 images [N, C, H, W] -> [-1, 1] RGB at `size` x `size` (bilinear), as pytorch-fid feeds them."""
    x = images.float() / 255
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return 2 * F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False) - 1


@torch.no_grad()
def calibrate(net: FIDInception, images: torch.Tensor, size: int, batch: int = 250) -> None:
    """Set the batch-norm statistics of a randomly initialised network to those of `images` (so
    that its features neither vanish nor explode): one pass in training mode, cumulative averages."""
    norms = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    net.train()
    for start in range(0, len(images), batch):
        net.features(_inputs(images[start:start + batch], size))
    net.eval()


@torch.no_grad()
def inception_features(net: FIDInception, images: torch.Tensor, size: int, device: torch.device,
                       batch: int = 250) -> np.ndarray:
    """The 2,048 pool features of uint8 images [N, C, H, W], float64 [N, 2048]."""
    net.to(device)
    parts = [net.features(_inputs(images[start:start + batch].to(device), size)).double().cpu()
             for start in range(0, len(images), batch)]
    return torch.cat(parts).numpy()


@torch.no_grad()
def classifier_accuracy(classifier: nn.Module, normalizer: nn.Module, images: torch.Tensor,
                        labels: torch.Tensor, batch: int = 1000) -> tuple[float, list[float]]:
    """Accuracy (%) of `classifier` on uint8 images against `labels`, overall and per class."""
    device = next(classifier.parameters()).device
    predicted = torch.cat([classifier(normalizer(images[start:start + batch].to(device))).argmax(1).cpu()
                           for start in range(0, len(images), batch)])
    right = (predicted == labels).float()
    per_class = [100 * float(right[labels == c].mean()) if (labels == c).any() else float("nan")
                 for c in range(int(labels.max()) + 1)]
    return 100 * float(right.mean()), per_class


def mean_distance(images: torch.Tensor) -> float:
    """Mean Euclidean distance between two different images of a set (pixels in [0, 1])."""
    x = images.flatten(1).double() / 255
    n = len(x)
    return float(torch.cdist(x, x).sum() / (n * (n - 1))) if n > 1 else 0.0


def diversity(fake: torch.Tensor, fake_labels: torch.Tensor, real: torch.Tensor,
              real_labels: torch.Tensor) -> tuple[float, list[float]]:
    """Per class, the mean distance between generated digits over that between real ones (1: as
    varied as real digits; near 0: one digit drawn again and again, mode collapse); their mean."""
    ratios = []
    for c in range(int(fake_labels.max()) + 1):
        real_spread = mean_distance(real[real_labels == c])
        ratios.append(mean_distance(fake[fake_labels == c]) / real_spread if real_spread else float("nan"))
    return float(np.nanmean(ratios)), ratios


def speckle(images: torch.Tensor) -> float:
    """Isolated-pixel noise of uint8 images: the mean |x - median of its 3x3 neighbourhood|, pixels in
    [0, 1] (clean strokes and background: near 0)."""
    x = images.float() / 255
    patches = F.unfold(F.pad(x, [1, 1, 1, 1], mode="replicate"), 3)  # [N, C*9, H*W]
    median = patches.view(len(x), x.shape[1], 9, -1).median(dim=2).values.view_as(x)
    return float((x - median).abs().mean())


def grid_change(shots: torch.Tensor) -> list[float]:
    """Mean absolute change of the fixed batch's pixels (in [0, 1]) from each epoch to the next."""
    x = shots.float() / 255
    return [float(d) for d in (x[1:] - x[:-1]).abs().flatten(1).mean(1)]

