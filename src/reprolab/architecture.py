"""A network described layer by layer, from the built model run on one example.

Every leaf module that the forward pass calls becomes a `Layer`: what it is in words, the shape
of its output, its parameters and, for the layers of a convolutional stack, its receptive field
(the side, in input pixels, of the window that one output unit sees). The report's method
tables and its answers to the course's questions are computed from this list, so they follow
the code when a layer changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

# Modules that keep each unit's window: the receptive field passes through them unchanged.
ELEMENTWISE = (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.LeakyReLU, nn.ELU, nn.GELU, nn.BatchNorm1d, nn.BatchNorm2d,
               nn.Dropout, nn.Dropout2d, nn.Identity)


@dataclass(frozen=True)
class Layer:
    name: str  # module path in the model, e.g. "body.3"
    kind: str  # class name, e.g. "Conv2d"
    description: str  # in words, e.g. "convolution 5×5, 3 → 32 channels, padding 2"
    output_shape: tuple[int, ...]  # one example's output, without the batch dimension
    params: int  # trainable parameters of this layer
    receptive_field: tuple[int, int] | None  # (height, width) in input pixels; None: the whole input


def _pair(value) -> tuple[int, int]:
    return tuple(value) if isinstance(value, tuple | list) else (value, value)


def describe(module: nn.Module) -> str:
    """A layer in words."""
    if isinstance(module, nn.Conv2d):
        (kh, kw), (sh, _), (ph, _) = _pair(module.kernel_size), _pair(module.stride), _pair(module.padding)
        text = f"convolution {kh}×{kw}, {module.in_channels} → {module.out_channels} channels"
        return text + (f", stride {sh}" if sh != 1 else "") + (f", padding {ph}" if ph else "")
    if isinstance(module, nn.ConvTranspose2d):
        (kh, kw), (sh, _), (ph, _) = _pair(module.kernel_size), _pair(module.stride), _pair(module.padding)
        text = f"transposed convolution {kh}×{kw}, {module.in_channels} → {module.out_channels} channels"
        return text + (f", stride {sh}" if sh != 1 else "") + (f", padding {ph}" if ph else "")
    if isinstance(module, nn.Unflatten):
        return f"reshape to {' × '.join(map(str, module.unflattened_size))}"
    if isinstance(module, nn.MaxPool2d | nn.AvgPool2d):
        (kh, kw), (sh, _) = _pair(module.kernel_size), _pair(module.stride or module.kernel_size)
        kind = "max" if isinstance(module, nn.MaxPool2d) else "average"
        return f"{kind} pooling {kh}×{kw}" + (f", stride {sh}" if sh != kh else "")
    if isinstance(module, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
        return f"adaptive pooling to {module.output_size}"
    if isinstance(module, nn.Linear):
        return f"fully connected {module.in_features} → {module.out_features}"
    if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
        return f"batch normalisation ({module.num_features} channels)"
    if isinstance(module, nn.Dropout | nn.Dropout2d):
        return f"dropout (p = {module.p:g})"
    if isinstance(module, nn.Flatten):
        return "flatten"
    if isinstance(module, nn.Embedding):
        return f"embedding {module.num_embeddings} → {module.embedding_dim}"
    if isinstance(module, nn.RNNBase):
        layers = f"{module.num_layers} layers" if module.num_layers > 1 else "1 layer"
        return f"{type(module).__name__} {module.input_size} → {module.hidden_size}, {layers}"
    paragraph = " ".join((type(module).__doc__ or "").strip().split("\n\n")[0].split())
    if not paragraph or isinstance(module, ELEMENTWISE):
        return type(module).__name__
    return paragraph.split(". ")[0].split("; ")[0].rstrip(".").replace("`", "")


def _window(module: nn.Module, field: tuple[int, int, int, int] | None, raw: bool,
            output: torch.Tensor) -> tuple[int, int, int, int] | None:
    """(size h, size w, jump h, jump w) after `module`, given it before; None once it is global.
    Other modules that give an image keep the window (a crop), or start one on a new pixel grid
    when they take the raw inputs (`raw`: several modalities stacked on one grid)."""
    if raw and output.dim() == 4:
        return 1, 1, 1, 1
    if field is None:
        return None
    rh, rw, jh, jw = field
    if isinstance(module, ELEMENTWISE):
        return field
    if isinstance(module, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d):
        (kh, kw) = _pair(module.kernel_size)
        (sh, sw) = _pair(module.stride or module.kernel_size)
        (dh, dw) = _pair(getattr(module, "dilation", 1))
        return rh + (kh - 1) * dh * jh, rw + (kw - 1) * dw * jw, jh * sh, jw * sw
    adaptive = isinstance(module, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d)
    return field if output.dim() == 4 and not adaptive else None


def layers(model: nn.Module, example) -> list[Layer]:
    """The leaf layers that `model` calls on one `example` (a batch of 1: a tensor or a dict of
    tensors), in call order; `Identity` placeholders are left out."""
    found: list[Layer] = []
    fields: dict[int, tuple[int, int, int, int] | None] = {}
    alive: list[torch.Tensor] = []  # keeps outputs alive so their ids stay unique
    inputs = example.values() if isinstance(example, dict) else [example]
    for x in inputs:
        fields[id(x)] = (1, 1, 1, 1)
    names = {module: name for name, module in model.named_modules()}

    def hook(module, args, output):
        if isinstance(module, nn.Identity) or not isinstance(output, torch.Tensor):
            return
        first = args[0] if args else None
        raw = isinstance(first, dict) and first is example
        after = _window(module, fields.get(id(first)), raw, output)
        fields[id(output)] = after
        alive.append(output)
        found.append(Layer(names[module], type(module).__name__, describe(module), tuple(output.shape[1:]),
                           sum(p.numel() for p in module.parameters() if p.requires_grad),
                           (after[0], after[1]) if after and output.dim() == 4 else None))

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(example)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return found


def example_input(shape) -> torch.Tensor | dict[str, torch.Tensor]:
    """A batch of one zero example of `shape` (a list, or a dict of lists for several modalities)."""
    if isinstance(shape, dict):
        return {key: example_input(value) for key, value in shape.items()}
    return torch.zeros(1, *shape)


def input_shape(x) -> list[int] | dict[str, list[int]]:
    """One example's shape, from a split's inputs (a tensor, or a dict of tensors)."""
    if isinstance(x, dict):
        return {key: input_shape(value) for key, value in x.items()}
    return list(x.shape[1:])
