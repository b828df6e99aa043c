"""Download and verify one dataset's release files (rule download_dataset)."""
from pathlib import Path

from reprolab.data.download import ChecksumLock, fetch_dataset
from reprolab.job import job

with job(snakemake):  # noqa: F821
    data = snakemake.params.data  # noqa: F821
    fetch_dataset(
        snakemake.wildcards.dataset,  # noqa: F821
        Path(snakemake.output.manifest).parent,  # noqa: F821
        prestaged_dir=data["prestaged_dir"] and Path(data["prestaged_dir"]),
        verify=data["verify"],
        lock=ChecksumLock(Path(data["lock_file"])),
    )
