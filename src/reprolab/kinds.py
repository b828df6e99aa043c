"""Kinds of job: what a variant's `kind` runs, what it needs, what it writes, on what.

One registry for every kind. `rules/kinds.smk` makes one Snakemake rule per kind from it,
selected by the ids of the variants of that kind, and one script (`scripts/run_kind.py`) runs
any of them. A chapter declares its kinds in its package's `__init__.py`; the declaration is
light (no torch import: the Snakefile reads it to plan the DAG) and names the job and report
functions by their dotted path, imported only when they run.

    register(Kind("svm", job="reprolab.chapters.backprop.jobs:svm",
                  outputs=("metrics.json", "boundary.png"),
                  summarize="reprolab.chapters.backprop.report:svm"))
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reprolab import paths
from reprolab.errors import ConfigError
from reprolab.registry import Variant


@dataclass(frozen=True)
class Job:
    """What a job function gets: its variant, its seed (per-seed kinds) and its files."""

    variant: Variant
    inputs: dict[str, Any]  # name -> Path (or list of Paths)
    outputs: dict[str, Path]  # name (`output_name`) -> Path
    seed: int | None = None
    options: dict = field(default_factory=dict)  # the config slice the kind asks for

    @property
    def out_dir(self) -> Path:
        """The folder of the job's outputs."""
        return next(iter(self.outputs.values())).parent


def prepared_data(variant: Variant, config: dict) -> dict[str, Any]:
    """The usual inputs: the prepared folder of the variant's dataset (its splits and more), the
    features it reads (`features: {backbone, layer}`) and the assets it names (`assets: [...]`), by
    their manifest (what the asset rules write last; `reprolab.data.assets.asset_file` reads it)."""
    root, p = config["data"]["root"], variant.params
    inputs: dict[str, Any] = {"prepared": paths.prepared_dir(root, p["dataset"])} if "dataset" in p else {}
    if wanted := p.get("features"):
        inputs["features"] = paths.features(wanted["backbone"], wanted["layer"],
                                            wanted.get("dataset", p.get("dataset")))
    if p.get("assets"):
        inputs["assets"] = [paths.asset_manifest(root, name) for name in p["assets"]]
    return inputs


def no_options(variant: Variant, config: dict) -> dict:
    return {}


def no_extra_outputs(variant: Variant) -> tuple[str, ...]:
    return ()


@dataclass(frozen=True)
class Kind:
    """A kind of job: its function, inputs, declared outputs, resource class and GPU use."""

    name: str
    job: str  # "module:function", called with a `Job`
    outputs: tuple[str, ...]  # file names every variant of this kind writes in its folder
    summarize: str  # "module:function" that builds an experiment's report part
    extra_outputs: Callable[[Variant], tuple[str, ...]] = no_extra_outputs  # per-variant files
    inputs: Callable[[Variant, dict], dict[str, Any]] = prepared_data
    options: Callable[[Variant, dict], dict] = no_options  # config slice -> Job.options
    resources: str = "cpu"  # the class in config `resources:` (threads, mem_mb, runtime)
    gpu: bool = False  # takes the `gpu` resource, unless the variant runs on the CPU
    per_seed: bool = False  # one job per seed in `seed<k>/`, combined by `aggregate_seeds`

    def output_files(self, variant: Variant) -> tuple[str, ...]:
        return self.outputs + self.extra_outputs(variant)

    def uses_gpu(self, variant: Variant) -> bool:
        return self.gpu and variant.device != "cpu"

    def run(self, job: Job) -> Any:
        return resolve_function(self.job)(job)


# What `aggregate_seeds` writes for every per-seed kind (reprolab.results.aggregate).
AGGREGATE_OUTPUTS = ("metrics.json", "history.csv", "curves.png")

KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Add a kind to the registry (a chapter package calls this on import)."""
    if kind.name in KINDS and KINDS[kind.name] != kind:
        raise ConfigError(f"kind {kind.name!r} is registered twice")
    KINDS[kind.name] = kind
    return kind


def load_all() -> dict[str, Kind]:
    """Every kind: the core ones and those of each chapter package under `reprolab.chapters`."""
    import reprolab.chapters as chapters

    for module in pkgutil.iter_modules(chapters.__path__):
        importlib.import_module(f"{chapters.__name__}.{module.name}")
    return KINDS


def get(name: str) -> Kind:
    """The kind `name`, with the known ones listed when it does not exist."""
    load_all()
    try:
        return KINDS[name]
    except KeyError:
        raise ConfigError(f"unknown kind {name!r}; known kinds: {', '.join(sorted(KINDS))}") from None


def resolve_function(dotted: str) -> Callable:
    """`"package.module:function"` -> the function (imported now, not at DAG planning)."""
    module, _, name = dotted.partition(":")
    return getattr(importlib.import_module(module), name)


def output_patterns(kind: Kind, files: tuple[str, ...]) -> dict[str, str]:
    """The outputs of a rule of `kind` writing `files`, by name, with `{id}` (and `{seed}`) wildcards."""
    folder = paths.seed_dir("{id}", "{seed}") if kind.per_seed else paths.variant_dir("{id}")
    return {output_name(name): f"{folder}/{name}" for name in files}


def output_paths(kind: Kind, variant: Variant, seed: int | str | None = None) -> dict[str, str]:
    """The declared output files of one job of `kind`, by name."""
    patterns = output_patterns(kind, kind.output_files(variant))
    return {name: pattern.format(id=variant.id, seed=seed) for name, pattern in patterns.items()}


def output_name(file_name: str) -> str:
    """A job's name for an output: `curves.png` -> `curves`, `seed0/metrics.json` -> `seed0_metrics`."""
    return file_name.rsplit(".", 1)[0].replace("/", "_")


# The core kind: any supervised variant, through the shared engine, one job per seed.
register(Kind("train", job="reprolab.train:run_seed", outputs=("metrics.json", "history.csv", "model.pt"),
              summarize="reprolab.report.generic:train", resources="train", gpu=True, per_seed=True))
