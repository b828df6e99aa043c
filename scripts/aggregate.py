"""Combine a variant's seeds into its metrics.json, history.csv and curves (rule aggregate_seeds)."""
from pathlib import Path

from reprolab.job import job
from reprolab.results import aggregate

with job(snakemake, uses_torch=False):  # noqa: F821
    seed_dirs = list(dict.fromkeys(Path(p).parent for p in snakemake.input))  # noqa: F821
    aggregate(snakemake.params.variant, seed_dirs, Path(snakemake.output.metrics).parent)  # noqa: F821
