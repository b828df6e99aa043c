"""Write an asset's tiny fixture in the real format; none for weights (rule fixture_asset, smoke preset)."""
from pathlib import Path

from reprolab.data.assets import write_asset_fixture
from reprolab.job import job

with job(snakemake, uses_torch=False):  # noqa: F821
    write_asset_fixture(snakemake.wildcards.asset, Path(snakemake.output.manifest).parent)  # noqa: F821
