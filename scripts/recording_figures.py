"""Waveform, spectrogram and mel spectrogram of one FSDD recording (rule recording_figures)."""
from pathlib import Path

from reprolab.chapters.audio import recording_figures
from reprolab.job import job

with job(snakemake):  # noqa: F821
    recording_figures(snakemake.params.variant, Path(snakemake.input.manifest).parent,  # noqa: F821
                      Path(snakemake.output.metrics).parent, snakemake.params.mel)  # noqa: F821
