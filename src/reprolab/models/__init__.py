"""Model zoo: every network of the catalogue, built by name from the config.

Each model is a `Classifier`: a `body` that maps inputs to a representation (what the
untangling and feature-extraction steps look at) and a `head` that maps it to logits.
Chapters register their models with `@register("name")`. The first sentence of a builder's
docstring names the network in words: the report prints it (`reprolab.report.method.model_title`),
never the registry name, so it is a short title ("The TME's CIFAR-10 CNN."), details after it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from torch import nn

from reprolab.errors import ConfigError


class Classifier(nn.Module):
    """`head(body(x))`, with the body's output available as the learned representation."""

    def __init__(self, body: nn.Module, head: nn.Module):
        super().__init__()
        self.body = body
        self.head = head

    def forward(self, x):
        return self.head(self.body(x))


MODELS: dict[str, Callable[..., nn.Module]] = {}


def register(name: str):
    """Decorator adding a model builder to the zoo under `name`."""

    def add(builder):
        MODELS[name] = builder
        return builder

    return add


def build_model(name: str, **options) -> nn.Module:
    """Build the model `name` with its options; a clear error for unknown names or options."""
    _register_all()
    try:
        builder = MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; known: {', '.join(sorted(MODELS))}") from None
    try:
        return builder(**options)
    except TypeError as e:
        raise ConfigError(f"model {name!r} does not accept options {options}: {e}") from None


def _register_all() -> None:
    """Import every module of this package, so that their `@register` calls have run."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters, computed from the built model."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
