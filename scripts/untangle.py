"""t-SNE / PCA of raw or learned MNIST representations (rule untangle)."""
from pathlib import Path

from reprolab.chapters.mnist import untangle
from reprolab.job import job

with job(snakemake):  # noqa: F821
    model = snakemake.input.get("model")  # noqa: F821
    untangle(snakemake.params.variant, Path(snakemake.input.test).parent,  # noqa: F821
             Path(model) if model else None, Path(snakemake.output.metrics).parent)  # noqa: F821
