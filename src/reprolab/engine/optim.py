"""Optimizers (with parameter groups, frozen modules and gradient clipping) and LR schedules."""

from __future__ import annotations

import torch
from torch import nn

from reprolab.errors import ConfigError

OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
              "adadelta": torch.optim.Adadelta, "rmsprop": torch.optim.RMSprop}
SCHEDULERS = {"step": torch.optim.lr_scheduler.StepLR,
              "multistep": torch.optim.lr_scheduler.MultiStepLR,
              "exponential": torch.optim.lr_scheduler.ExponentialLR,
              "cosine": torch.optim.lr_scheduler.CosineAnnealingLR}


def make_optimizer(model: nn.Module, settings: dict) -> torch.optim.Optimizer:
    """Optimizer of `model` from `{name, lr, momentum?, weight_decay?, ...}` and optionally:

    - `frozen`: modules whose parameters are not trained (`requires_grad=False`, not optimised);
    - `groups`: `[{modules: [...], lr: ..., ...}]`, parameter groups with their own options; the
      other parameters form the default group, first;
    - `clip_grad_norm`: the total gradient norm is clipped to it before each step.

    Modules are named by their dotted path in `model.named_modules()`.
    """
    settings = dict(settings)
    name = settings.pop("name", None)
    frozen, groups = settings.pop("frozen", []), settings.pop("groups", [])
    clip = settings.pop("clip_grad_norm", None)
    if name not in OPTIMIZERS:
        raise ConfigError(f"optimizer name {name!r} is not one of {', '.join(OPTIMIZERS)}; set "
                          "`optimizer: {name: ...}` in the variant or its experiment's defaults")
    frozen_ids = set()
    for module in frozen:
        for p in _module(model, module, "frozen").parameters():
            frozen_ids.add(id(p.requires_grad_(False)))
    grouped, param_groups = set(), []
    for group in groups:
        group = dict(group)
        params = {}
        for module in group.pop("modules"):
            for p in _module(model, module, "groups").parameters():
                if id(p) in grouped:
                    raise ConfigError(f"optimizer.groups: module {module!r} is in two groups")
                if id(p) not in frozen_ids:
                    params[id(p)] = p
        grouped.update(params)
        param_groups.append({"params": list(params.values()), **group})
    placed = frozen_ids | grouped
    default = [p for p in model.parameters() if id(p) not in placed]
    param_groups = [g for g in [{"params": default}, *param_groups] if g["params"]]
    if not param_groups:
        raise ConfigError("optimizer: every parameter of the model is frozen")
    optimizer = OPTIMIZERS[name](param_groups, **settings)
    if clip is not None:
        trained = [p for g in param_groups for p in g["params"]]

        def clip_gradients(*_) -> None:
            nn.utils.clip_grad_norm_(trained, float(clip))

        optimizer.register_step_pre_hook(clip_gradients)
    return optimizer


def _module(model: nn.Module, name: str, key: str) -> nn.Module:
    modules = dict(model.named_modules())
    if name not in modules:
        top = ", ".join(n for n, _ in model.named_children())
        raise ConfigError(f"optimizer.{key}: unknown module {name!r}; top-level modules: {top}")
    return modules[name]


def make_scheduler(optimizer: torch.optim.Optimizer, settings: dict | None):
    """Per-epoch LR schedule from `{name: step|multistep|exponential|cosine, ...}`, or None."""
    if not settings:
        return None
    settings = dict(settings)
    name = settings.pop("name")
    if name not in SCHEDULERS:
        raise ConfigError(f"unknown scheduler {name!r}; known: {', '.join(SCHEDULERS)}")
    return SCHEDULERS[name](optimizer, **settings)
