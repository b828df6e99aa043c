"""Write a tiny dataset in the release's on-disk format (rule fixture_dataset, smoke preset)."""
from pathlib import Path

from reprolab.data.fixtures import write_fixture
from reprolab.job import job

with job(snakemake, uses_torch=False):  # noqa: F821
    size = snakemake.params.size  # noqa: F821
    write_fixture(snakemake.wildcards.dataset, Path(snakemake.output.manifest).parent,  # noqa: F821
                  n_train=size["train"], n_test=size["test"])
