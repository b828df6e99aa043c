"""Train one seed of one variant with the shared engine (rule train)."""
from pathlib import Path

from reprolab import train
from reprolab.job import job

with job(snakemake):  # noqa: F821
    train.run(snakemake.params.variant, int(snakemake.wildcards.seed),  # noqa: F821
              Path(snakemake.input.train).parent, Path(snakemake.output.metrics).parent)  # noqa: F821
