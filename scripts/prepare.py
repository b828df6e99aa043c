"""Turn a dataset's raw files into tensors, once (rule prepare_dataset)."""
from pathlib import Path

from reprolab.data.prepare import prepare_dataset
from reprolab.job import job

with job(snakemake):  # noqa: F821
    prepare_dataset(snakemake.wildcards.dataset, Path(snakemake.input.manifest).parent,  # noqa: F821
                    Path(snakemake.output.prepared), snakemake.params.options)  # noqa: F821
