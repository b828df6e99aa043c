"""The experiment registry: `chapter/experiment/variant` ids -> resolved settings.

The config's `chapters` tree is the single source of truth. Each variant's settings are its
experiment's `defaults` overlaid with the variant's own keys (dicts merged key by key), then
the run-wide caps (`max_epochs`) and seeds applied.
"""

from __future__ import annotations

import copy
from typing import Any, NamedTuple

from reprolab.errors import ConfigError


def deep_merge(base: dict, override: dict) -> dict:
    """Return `base` overlaid with `override`, merging nested dicts key by key."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def order_like(config: dict, reference: dict) -> dict:
    """`config` with its keys, at every depth, in the order they have in `reference`.

    Snakemake merges `--configfile` overlays before the main config file, so the overlay's
    key order would win; the catalogue order of config.yaml is the report's order.
    """
    if not isinstance(config, dict) or not isinstance(reference, dict):
        return config
    keys = [k for k in reference if k in config] + [k for k in config if k not in reference]
    return {k: order_like(config[k], reference.get(k)) for k in keys}


class Variant(NamedTuple):
    """One trained (or computed) model of the catalogue.

    A tuple, so that Snakemake records it (with its settings) among a job's params: a changed
    hyper-parameter re-runs that variant's jobs and only those.
    """

    chapter: str
    experiment: str
    name: str
    params: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.chapter}/{self.experiment}/{self.name}"

    @property
    def kind(self) -> str:
        return self.params["kind"]

    @property
    def seeds(self) -> list[int]:
        return list(self.params["seeds"])

    @property
    def device(self) -> str:
        return self.params["device"]


def resolve(config: dict, chapter: str, experiment: str, name: str) -> Variant:
    """The settings of one variant, with defaults and run-wide settings applied."""
    try:
        exp = config["chapters"][chapter]["experiments"][experiment]
        own = exp["variants"][name]
    except KeyError as missing:
        raise ConfigError(
            f"unknown experiment id {chapter}/{experiment}/{name} (no {missing} in config "
            f"'chapters'); run `snakemake --list-target-rules` or read config.yaml for the ids"
        ) from None
    params = deep_merge(exp.get("defaults", {}), own or {})
    params.setdefault("kind", "train")
    params.setdefault("seeds", config.get("seeds", [0]))
    params.setdefault("device", config.get("device", "auto"))
    if config.get("compile"):  # only when asked: eager runs keep their params (and fingerprints)
        params.setdefault("compile", True)
    cap = config.get("max_epochs")
    if cap is not None and "epochs" in params:
        params["epochs"] = min(int(params["epochs"]), int(cap))
    return Variant(chapter, experiment, name, params)


def variants(config: dict, chapter: str | None = None, kind: str | None = None) -> list[Variant]:
    """Every variant of the config (or of one chapter, or of one kind), in config order."""
    found = []
    for ch_name, ch in config["chapters"].items():
        if chapter is not None and ch_name != chapter:
            continue
        for exp_name, exp in ch["experiments"].items():
            for var_name in exp["variants"]:
                variant = resolve(config, ch_name, exp_name, var_name)
                if kind is None or variant.kind == kind:
                    found.append(variant)
    return found
