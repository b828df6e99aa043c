"""What the networks look at: the methods of TP 8 (seed 003) and ex. 3 (seed 000), on any classifier.

Every function takes a network in eval mode and images in its input space (ImageNet-normalised,
[N, 3, H, W]); none changes the network. The gradients are taken with respect to the input (or to
an inner layer's activations), never to the weights.

- `saliency`: |∂s_y/∂x|, max over the colour channels (Simonyan et al., 2014; the course's form).
- `fooling_image`: gradient ascent on the target class's score, normalised steps, stop when the
  network's top class is the target (the course's `make_fooling_image`).
- `class_visualization`: gradient ascent from noise (or a photo) on s_y(I) − λ‖I‖², with jitter,
  clamping and blur (the course's `create_class_visualization`).
- `cam`, `grad_cam`, `layer_cams`, `input_gradient`: class activation maps of a ResNet's last
  stage (Zhou et al., 2016), Grad-CAM (Selvaraju et al., 2017), LayerCAM at every stage (Jiang et
  al., 2021: pytorch-cnn-visualizations' "Hierarchical Gradient Visualization") and the vanilla
  input gradient.
- `elastic`, `contrast`: the distortions of the robustness study; `peak`, `correlation` compare maps.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return (x.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1), x.new_tensor(IMAGENET_STD).view(1, 3, 1, 1))


def normalize(images: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] -> the network's input (ImageNet mean and standard deviation)."""
    mean, std = _stats(images)
    return (images - mean) / std


def denormalize(x: torch.Tensor) -> torch.Tensor:
    """The network's input -> RGB, not clamped (an adversarial image may leave [0, 1])."""
    mean, std = _stats(x)
    return x * std + mean


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 [N, 3, H, W] -> float RGB in [0, 1], [N, 3, size, size] (bilinear, antialiased, no crop)."""
    return F.interpolate(images.float() / 255, size=(size, size), mode="bilinear", antialias=True).clamp(0, 1)


def frozen(model: nn.Module) -> nn.Module:
    """The network in eval mode with its weights out of autograd: only inputs get gradients."""
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


# --- saliency ----------------------------------------------------------------------------------------

def input_gradient(model: nn.Module, x: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """∂s_y/∂x for each image, s_y the raw score (logit) of its class: [N, 3, H, W]."""
    x = x.detach().clone().requires_grad_(True)
    scores = model(x).gather(1, classes.view(-1, 1)).sum()
    (grad,) = torch.autograd.grad(scores, x)
    return grad


def saliency(model: nn.Module, x: torch.Tensor, classes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The saliency map, max over RGB of |∂s_y/∂x| ([N, H, W]), and the gradient it comes from."""
    grad = input_gradient(model, x, classes)
    return grad.abs().amax(1), grad


def top_share(values: torch.Tensor, fraction: float) -> torch.Tensor:
    """Per map [N, ...]: the share of its total held by its largest `fraction` of entries (a uniform map
    gives `fraction`; all in one entry gives 1)."""
    flat = values.flatten(1).float()
    k = max(1, round(fraction * flat.shape[1]))
    return flat.topk(k, dim=1).values.sum(1) / flat.sum(1).clamp_min(1e-30)


def box_share(values: torch.Tensor, fraction: float) -> torch.Tensor:
    """Per map [N, H, W]: the area of the bounding box of its largest `fraction` of pixels, as a share of
    the image (a segmentation from the map alone)."""
    n, h, w = values.shape
    flat = values.flatten(1)
    k = max(1, round(fraction * h * w))
    threshold = flat.topk(k, dim=1).values[:, -1:]
    shares = []
    for mask in (flat >= threshold).view(n, h, w):
        rows, cols = mask.any(1).nonzero(), mask.any(0).nonzero()
        shares.append(float((rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)) / (h * w))
    return torch.tensor(shares)


# --- fooling images ----------------------------------------------------------------------------------

@dataclass
class Fooled:
    image: torch.Tensor  # [1, 3, H, W], the network's input space
    iterations: int  # gradient steps taken
    fooled: bool  # the network's top class is the target
    scores: list[float] = field(default_factory=list)  # the target's score before each step


def fooling_image(model: nn.Module, x: torch.Tensor, target: int, lr: float, max_iterations: int) -> Fooled:
    """Gradient ascent on the target's score, x ← x + lr · g / ‖g‖₂, until the top class is the target
    (checked before each step) or `max_iterations` steps. One image [1, 3, H, W]."""
    x = x.detach().clone()
    scores = []
    for step in range(max_iterations + 1):
        x.requires_grad_(True)
        logits = model(x)
        if int(logits.argmax(1)) == target:
            return Fooled(x.detach(), step, True, scores)
        if step == max_iterations:
            break
        score = logits[0, target]
        scores.append(float(score.detach()))
        (grad,) = torch.autograd.grad(score, x)
        x = (x.detach() + lr * grad / grad.norm().clamp_min(1e-30)).detach()
    return Fooled(x.detach(), max_iterations, False, scores)


def pixel_norms(x: torch.Tensor, adversarial: torch.Tensor) -> dict[str, float]:
    """The perturbation, in the network's input space (L2) and in 8-bit pixel levels (L2, L∞, mean |·|)."""
    delta_input = adversarial - x
    delta = (denormalize(adversarial) - denormalize(x)) * 255
    return {"l2_input": float(delta_input.norm()), "l2_pixels": float(delta.norm()),
            "linf_pixels": float(delta.abs().max()), "mean_abs_pixels": float(delta.abs().mean())}


def quantized(x: torch.Tensor) -> torch.Tensor:
    """An input rounded to what an 8-bit image file holds (clamped to [0, 255], whole levels)."""
    return normalize((denormalize(x) * 255).round().clamp(0, 255) / 255)


# --- class visualisation ----------------------------------------------------------------------------

def gaussian_kernel(sigma: float, truncate: float = 4.0) -> torch.Tensor:
    """scipy's `gaussian_filter1d` kernel: radius round(truncate · sigma), normalised."""
    radius = int(truncate * sigma + 0.5)
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (t / sigma) ** 2)
    return (kernel / kernel.sum()).float()


def symmetric_pad(x: torch.Tensor, r: int, dim: int) -> torch.Tensor:
    """Pad `r` values on both sides of `dim`, mirrored with the edge repeated (scipy's `reflect`:
    d c b a | a b c d | d c b a); torch's own `reflect` leaves the edge out."""
    size = x.shape[dim]
    while r > 0:
        k = min(r, size)
        x = torch.cat([x.narrow(dim, 0, k).flip(dim), x, x.narrow(dim, x.shape[dim] - k, k).flip(dim)], dim)
        r -= k
    return x


def blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur along H and W, each channel apart, edges mirrored: scipy's `gaussian_filter1d` (mode
    `reflect`) along each axis, as the course's `blur_image`."""
    kernel = gaussian_kernel(sigma).to(x)
    r, c = len(kernel) // 2, x.shape[1]
    out = F.conv2d(symmetric_pad(x, r, 3), kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(symmetric_pad(out, r, 2), kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


@dataclass
class Visualization:
    image: torch.Tensor  # [1, 3, H, W], the network's input space
    scores: list[float]  # s_y before each step (on the jittered image)
    probabilities: list[float]  # softmax probability of y before each step (%)
    top1: list[int]  # the top class before each step
    snapshots: dict[int, torch.Tensor]  # iteration -> image [3, H, W] (RGB in [0, 1])
    final_score: float  # s_y of the final image (no jitter)
    final_probability: float  # %
    final_top1: int


def class_visualization(model: nn.Module, start: torch.Tensor, target: int, iterations: int, lr: float,
                        reg: float, jitter: int, blur_every: int, sigma: float, show_every: int,
                        generator: torch.Generator) -> Visualization:
    """The course's class visualisation: for each iteration t (0-based), shift the image by (ox, oy) drawn
    in 0..jitter, step I ← I + lr · ∇(s_y(I) − reg · ‖I‖²), shift back, clamp each channel to the image
    of [0, 1], blur (sigma) when t % blur_every == 0. Snapshots at t = 0 (the start), every
    `show_every` iterations and at the end."""
    img = start.detach().clone()
    mean, std = _stats(img)
    low, high = -mean / std, (1 - mean) / std
    scores, probabilities, top1 = [], [], []
    snapshots = {0: denormalize(img)[0].clamp(0, 1)}
    for t in range(iterations):
        ox, oy = (int(v) for v in torch.randint(0, jitter + 1, (2,), generator=generator))
        img = torch.roll(img, shifts=(oy, ox), dims=(2, 3)).requires_grad_(True)
        logits = model(img)
        score = logits[0, target]
        scores.append(float(score.detach()))
        probabilities.append(100 * float(logits.detach().softmax(1)[0, target]))
        top1.append(int(logits.detach().argmax(1)))
        (grad,) = torch.autograd.grad(score - reg * img.pow(2).sum(), img)
        img = torch.roll(img.detach() + lr * grad, shifts=(-oy, -ox), dims=(2, 3))
        img = torch.maximum(torch.minimum(img, high), low)
        if t % blur_every == 0:
            img = blur(img, sigma)
        if (t + 1) % show_every == 0 or t + 1 == iterations:
            snapshots[t + 1] = denormalize(img)[0].clamp(0, 1)
    with torch.no_grad():
        logits = model(img)
    return Visualization(img, scores, probabilities, top1, snapshots, float(logits[0, target]),
                         100 * float(logits.softmax(1)[0, target]), int(logits.argmax(1)))


def energy(x: torch.Tensor) -> torch.Tensor:
    """Per image [N, 3, H, W] in input space: each pixel's squared distance to the mean image (0), [N, H, W]
    (the mean image is 0 in the normalised space)."""
    return x.pow(2).sum(1)


def first_reaching(values: list[float], level: float) -> int | None:
    """The number of steps after which a traced value (one per step, taken before it) first reaches
    `level`, or None."""
    return next((i for i, v in enumerate(values) if v >= level), None)


# --- class activation maps ---------------------------------------------------------------------------

@contextmanager
def caught(model: nn.Module, names: list[str]) -> Iterator[dict[str, torch.Tensor]]:
    """The outputs of `model`'s submodules `names` during the forward passes inside the block."""
    outputs: dict[str, torch.Tensor] = {}
    hooks = [model.get_submodule(name).register_forward_hook(
        lambda _m, _i, out, name=name: outputs.__setitem__(name, out)) for name in names]
    try:
        yield outputs
    finally:
        for hook in hooks:
            hook.remove()


def cam(model: nn.Module, x: torch.Tensor, classes: torch.Tensor, layer: str = "layer4",
        fc: str = "fc") -> tuple[torch.Tensor, torch.Tensor]:
    """CAM: the last stage's maps A_k weighted by the classifier's weights of the class, Σ_k w_ck A_k
    ([N, h, w], not normalised), and the logits. Needs a network whose classifier is one linear layer
    after global average pooling of `layer` (ResNet)."""
    with torch.no_grad(), caught(model, [layer]) as out:
        logits = model(x)
    weights = model.get_submodule(fc).weight[classes]  # [N, K]
    return torch.einsum("nk,nkhw->nhw", weights, out[layer]), logits


def grad_cam(model: nn.Module, x: torch.Tensor, classes: torch.Tensor, layer: str = "layer4") -> torch.Tensor:
    """Grad-CAM: ReLU(Σ_k α_k A_k) with α_k the spatial mean of ∂s_y/∂A_k ([N, h, w])."""
    return layer_maps(model, x, classes, [layer], "grad_cam")[layer]


def layer_cams(model: nn.Module, x: torch.Tensor, classes: torch.Tensor, layers: list[str]) -> dict:
    """LayerCAM at each layer: ReLU(Σ_k ReLU(∂s_y/∂A_k) ⊙ A_k), element by element ([N, h, w] each)."""
    return layer_maps(model, x, classes, layers, "layer_cam")


def layer_maps(model: nn.Module, x: torch.Tensor, classes: torch.Tensor, layers: list[str],
               method: str) -> dict[str, torch.Tensor]:
    x = x.detach().clone().requires_grad_(True)  # the weights are frozen: the graph starts at the input
    with torch.enable_grad(), caught(model, layers) as out:
        scores = model(x).gather(1, classes.view(-1, 1)).sum()
        acts = [out[name] for name in layers]
        grads = torch.autograd.grad(scores, acts)
    maps = {}
    for name, a, g in zip(layers, acts, grads, strict=True):
        if method == "grad_cam":
            maps[name] = F.relu((g.mean((2, 3), keepdim=True) * a).sum(1)).detach()
        else:
            maps[name] = F.relu((F.relu(g) * a).sum(1)).detach()
    return maps


def minmax(maps: torch.Tensor) -> torch.Tensor:
    """Each map [N, h, w] scaled to [0, 1] (a constant map gives 0)."""
    flat = maps.flatten(1)
    low, high = flat.min(1, keepdim=True).values, flat.max(1, keepdim=True).values
    return ((flat - low) / (high - low).clamp_min(1e-12)).view_as(maps)


def upsample(maps: torch.Tensor, size: int) -> torch.Tensor:
    """Maps [N, h, w] -> [N, size, size], bilinear."""
    return F.interpolate(maps[:, None].float(), size=(size, size), mode="bilinear", align_corners=False)[:, 0]


def peak(maps: torch.Tensor) -> list[tuple[int, int]]:
    """The (row, column) of each map's maximum, in its own grid."""
    w = maps.shape[-1]
    return [divmod(int(i), w) for i in maps.flatten(1).argmax(1)]


def shift(a: tuple[int, int], b: tuple[int, int]) -> int:
    """Chebyshev distance between two grid cells (1: neighbours, diagonals included)."""
    return max(abs(a[0] - b[0]), abs(a[1] - b[1]))


def correlation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pearson correlation of each pair of maps [N, ...] (0 where one is constant)."""
    a, b = a.flatten(1).double(), b.flatten(1).double()
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    denominator = (a.norm(dim=1) * b.norm(dim=1))
    return torch.where(denominator > 0, (a * b).sum(1) / denominator.clamp_min(1e-300), 0.0).float()


# --- distortions -------------------------------------------------------------------------------------

def contrast(images: torch.Tensor, factor: float) -> torch.Tensor:
    """torchvision's `adjust_contrast`: each RGB image [N, 3, H, W] in [0, 1] blended with the mean of
    its grey levels, factor 0 all grey, 1 unchanged, > 1 more contrast (clamped to [0, 1])."""
    from torchvision.transforms.v2 import functional as TF

    return TF.adjust_contrast(images, factor)


def elastic(images: torch.Tensor, alpha: float, sigma: float,
            generator: torch.Generator) -> tuple[torch.Tensor, float]:
    """torchvision's elastic transform (`ElasticTransform`'s field, drawn from `generator`): uniform noise
    in [−1, 1] per pixel and axis, Gaussian-smoothed (sigma, px), times alpha / size in the sampling
    grid's [−1, 1] units; bilinear, black outside. Images [N, 3, H, W] in [0, 1], one field per image.
    Also returns the root mean square displacement in pixels."""
    from torchvision.transforms.v2 import functional as TF

    n, _, h, w = images.shape
    noise = torch.rand((n, 2, h, w), generator=generator) * 2 - 1
    if sigma > 0:
        size = int(8 * sigma + 1) | 1
        noise = TF.gaussian_blur(noise, [size, size], [sigma, sigma])
    displacement = torch.stack([noise[:, 0] * alpha / w, noise[:, 1] * alpha / h], dim=-1)  # [N, H, W, 2]
    pixels = displacement * displacement.new_tensor([w / 2, h / 2])
    rms = float(pixels.pow(2).sum(-1).mean().sqrt())
    out = torch.cat([TF.elastic(image[None], displacement[i:i + 1].to(images))
                     for i, image in enumerate(images)])
    return out, rms
