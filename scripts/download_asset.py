"""Download and verify one asset's files: weights, word vectors, a corpus (rule download_asset)."""
from pathlib import Path

from reprolab.data.assets import fetch_asset
from reprolab.data.download import ChecksumLock
from reprolab.job import job

with job(snakemake):  # noqa: F821
    data = snakemake.params.data  # noqa: F821
    fetch_asset(
        snakemake.wildcards.asset,  # noqa: F821
        Path(snakemake.output.manifest).parent,  # noqa: F821
        prestaged_dir=data["prestaged_dir"] and Path(data["prestaged_dir"]),
        verify=data["verify"],
        lock=ChecksumLock(Path(data["lock_file"])),
    )
