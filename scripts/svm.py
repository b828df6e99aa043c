"""Fit an SVM and sweep its C (rule svm)."""
from pathlib import Path

from reprolab.chapters.backprop import run_svm
from reprolab.job import job

with job(snakemake):  # noqa: F821
    run_svm(snakemake.params.variant, Path(snakemake.input.train).parent,  # noqa: F821
            Path(snakemake.output.metrics).parent)  # noqa: F821
