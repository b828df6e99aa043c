"""Checking the configuration when the Snakefile loads, before any job runs.

`config.schema.yaml` describes every key; the kinds a variant may name are the registered ones
(`reprolab.kinds`), added to the schema here so that the schema and the registry never disagree.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import jsonschema
import yaml

from reprolab import kinds
from reprolab.errors import ConfigError


def schema_with_kinds(schema_path: Path) -> dict:
    """The config schema, its `kind` restricted to the registered kinds."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    schema["$defs"]["settings"]["properties"]["kind"] = {"enum": sorted(kinds.load_all())}
    return schema


def check_config(config: dict, schema_path: Path) -> None:
    """Raise a `ConfigError` naming the first wrong key (its path in the config) and why."""
    schema = schema_with_kinds(schema_path)
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is None:
        check_settings(config, set(schema["$defs"]["settings"]["properties"]))
        return
    where = ".".join(map(str, error.absolute_path)) or "(top level)"
    if error.absolute_path and error.absolute_path[-1] == "kind":
        raise ConfigError(f"{where}: unknown kind {error.instance!r}; known kinds: "
                          f"{', '.join(sorted(kinds.KINDS))} (see reprolab/kinds.py)")
    raise ConfigError(f"config key {where}: {error.message} (see config.schema.yaml)")


def check_settings(config: dict, known_keys: set[str]) -> None:
    """What the schema cannot see: a variant naming a dataset that has no module, and a misspelt key.

    A kind may read keys of its own (`n_points`, `C`...), so a key the schema does not list is
    accepted, unless it is one or two letters away from one it lists (`epocs`, `batchsize`): a
    typo that would otherwise leave the setting at its default without a word.
    """
    from reprolab.data.datasets import known

    for chapter, part in config["chapters"].items():
        for experiment, exp in part["experiments"].items():
            entries = {"defaults": exp.get("defaults"),
                       **{f"variants.{v}": s for v, s in exp["variants"].items()}}
            for where, settings in entries.items():
                at, settings = f"chapters.{chapter}.experiments.{experiment}.{where}", settings or {}
                for key in settings:
                    close = difflib.get_close_matches(key, known_keys, n=1, cutoff=0.8)
                    if key not in known_keys and close:
                        raise ConfigError(f"config key {at}.{key}: unknown key; did you mean {close[0]!r}? "
                                          "(see config.schema.yaml)")
                named = {"dataset": settings.get("dataset"),
                         "features.dataset": (settings.get("features") or {}).get("dataset")}
                for key, dataset in named.items():
                    if dataset is not None and dataset not in known():
                        raise ConfigError(f"config key {at}.{key}: unknown dataset {dataset!r}; known: "
                                          f"{', '.join(known())} (a module each in reprolab/data/datasets/)")
