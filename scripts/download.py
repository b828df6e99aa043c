"""Download and verify one dataset's release files (rule download_dataset)."""
from pathlib import Path

from reprolab.data.download import fetch_dataset, fetch_options
from reprolab.job import job

with job(snakemake, uses_torch=False):  # noqa: F821
    fetch_dataset(snakemake.wildcards.dataset, Path(snakemake.output.manifest).parent,  # noqa: F821
                  **fetch_options(snakemake.params.data))  # noqa: F821
