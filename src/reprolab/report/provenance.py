"""Provenance of a report: code version, config hash, packages, hardware, data, compute."""

from __future__ import annotations

import csv
import hashlib
import json
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

PACKAGES = ["torch", "torchvision", "torchaudio", "snakemake", "numpy", "pandas", "scikit-learn",
            "matplotlib", "jinja2", "weasyprint", "dvc"]


def git_commit(repo: Path = Path(".")) -> str:
    """HEAD's commit, marked `+dirty` when tracked files differ from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + ("+dirty" if dirty else "")


def config_hash(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def package_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def dataset_records(manifests: list[Path]) -> list[dict]:
    """One row per dataset file, from the `manifest.json` of each raw dataset folder."""
    rows = []
    for path in manifests:
        manifest = json.loads(Path(path).read_text())
        if "dataset" in manifest:
            rows += [{"dataset": manifest["dataset"], **f} for f in manifest["files"]]
    return rows


def asset_records(manifests: list[Path]) -> list[dict]:
    """One row per asset file, from `data/assets/<asset>/manifest.json` (dataset manifests skipped).

    A weights fixture has no file: its row says so.
    """
    rows = []
    for path in manifests:
        manifest = json.loads(Path(path).read_text())
        if "asset" not in manifest:
            continue
        about = {key: manifest[key] for key in ("asset", "kind", "description")}
        rows += [{**about, **f} for f in manifest["files"]] or [
            {**about, "name": "—", "size": None, "sha256": "—", "status": "fixture",
             "source": manifest.get("note", "")}]
    return rows


def job_times(benchmark_dir: Path) -> list[dict]:
    """Wall time and peak memory of every job, from Snakemake's benchmark files."""
    rows = []
    for path in sorted(Path(benchmark_dir).rglob("*.tsv")):
        with open(path) as f:
            for record in csv.DictReader(f, delimiter="\t"):
                rows.append({"job": str(path.relative_to(benchmark_dir).with_suffix("")),
                             "seconds": float(record["s"]),
                             "max_rss_mb": _number(record.get("max_rss"))})
    return rows


def _number(text: str | None) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def collect(config_digest: str, manifests: list[Path], benchmark_dir: Path, run_devices: list[dict]) -> dict:
    """Everything the appendix prints; `manifests` are the datasets' and the assets'."""
    return {"commit": git_commit(), "config_hash": config_digest,
            "packages": package_versions(), "platform": platform.platform(),
            "datasets": dataset_records(manifests), "assets": asset_records(manifests),
            "jobs": job_times(benchmark_dir),
            "runs": run_devices}
