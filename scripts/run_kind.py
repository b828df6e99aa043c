"""Run one job of any kind (the rules of rules/kinds.smk): the kind's function gets a `Job`."""
from pathlib import Path

from reprolab import kinds
from reprolab.job import job

with job(snakemake):  # noqa: F821
    wildcards = dict(snakemake.wildcards.items())  # noqa: F821
    kinds.get(snakemake.params.kind).run(kinds.Job(  # noqa: F821
        variant=snakemake.params.variant,  # noqa: F821
        inputs={name: Path(path) if isinstance(path, str) else [Path(p) for p in path]  # a list (`assets`)
                for name, path in snakemake.input.items()},  # noqa: F821
        outputs={name: Path(path) for name, path in snakemake.output.items()},  # noqa: F821
        seed=int(wildcards["seed"]) if "seed" in wildcards else None,
        options=snakemake.params.options,  # noqa: F821
    ))
