"""The `metrics:` and `plots:` sections of dvc.yaml, generated from the experiment registry.

DVC 3 takes no globs in top-level `metrics:`, so every variant's `metrics.json` (and every trained
variant's `history.csv`) is listed. `python -m reprolab.dvcfile` rewrites the sections after
variants or chapters are added; tests/test_dvc.py fails while they are stale. Stages need no
edit: dvc.yaml makes one `chapter@<name>` stage per chapter of config.yaml with `foreach`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from reprolab.atomic import write_text
from reprolab.errors import ConfigError
from reprolab.registry import variants

MARKER = "# Generated from config.yaml by `python -m reprolab.dvcfile`"
PLOTTED = ["train_acc", "test_acc"]


def tracked_sections(config: dict) -> str:
    """The text of dvc.yaml from MARKER to its end: per-variant metrics, per-train-variant plots."""
    lines = [f"{MARKER}; tests/test_dvc.py checks it is current.", "metrics:"]
    lines += [f"  - results/{v.id}/metrics.json" for v in variants(config)]
    lines.append("plots:")
    for v in variants(config, kind="train"):
        lines += [f"  - results/{v.id}/history.csv:", "      x: epoch", f"      y: [{', '.join(PLOTTED)}]"]
    return "\n".join(lines) + "\n"


def update(dvc_yaml: Path, config: dict) -> bool:
    """Rewrite the generated sections of `dvc_yaml`; True when they were stale."""
    text = dvc_yaml.read_text()
    if MARKER not in text:
        raise ConfigError(f"{dvc_yaml} has no line starting with {MARKER!r}; restore it from git")
    fresh = text[: text.index(MARKER)] + tracked_sections(config)
    if fresh != text:
        write_text(dvc_yaml, fresh)
    return fresh != text


if __name__ == "__main__":
    stale = update(Path("dvc.yaml"), yaml.safe_load(Path("config.yaml").read_text()))
    print("dvc.yaml: metrics and plots " + ("updated" if stale else "already current"), file=sys.stderr)
