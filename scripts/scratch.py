"""Train a network written by hand, every seed (rule scratch)."""
from pathlib import Path

from reprolab.chapters.backprop import run_scratch
from reprolab.job import job

with job(snakemake):  # noqa: F821
    run_scratch(snakemake.params.variant, Path(snakemake.input.train).parent,  # noqa: F821
                Path(snakemake.output.metrics).parent)  # noqa: F821
