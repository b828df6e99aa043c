"""A grid of AV-MNIST images and spectrograms with their labels (rule avmnist_samples)."""
from pathlib import Path

from reprolab.chapters.fusion import samples
from reprolab.job import job

with job(snakemake):  # noqa: F821
    samples(snakemake.params.variant, Path(snakemake.input.train).parent,  # noqa: F821
            Path(snakemake.output.metrics).parent)  # noqa: F821
