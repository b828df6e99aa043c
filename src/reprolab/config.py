"""Checking the configuration when the Snakefile loads, before any job runs.

`config.schema.yaml` describes every key; the kinds a variant may name are the registered ones
(`reprolab.kinds`), added to the schema here so that the schema and the registry never disagree.
"""

from __future__ import annotations

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
    validator = jsonschema.Draft202012Validator(schema_with_kinds(schema_path))
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is None:
        return
    where = ".".join(map(str, error.absolute_path)) or "(top level)"
    if error.absolute_path and error.absolute_path[-1] == "kind":
        raise ConfigError(f"{where}: unknown kind {error.instance!r}; known kinds: "
                          f"{', '.join(sorted(kinds.KINDS))} (see reprolab/kinds.py)")
    raise ConfigError(f"config key {where}: {error.message} (see config.schema.yaml)")
