"""Write, as JSON, every job Snakemake plans for a target, with the params its script will get.

A dry-run prints no params. This builds the same DAG through Snakemake's Python API, in the
current folder with its Snakefile (so with the config as the Snakefile merges it: presets from
`REPROLAB_PRESET`, checks, order), and evaluates each job's `params` as the job's script receives
them (`snakemake.params`). Reaching the DAG's jobs needs the API's private `_workflow`.

Usage: python tests/plan_params.py TARGET OUT.json  (run it in a copy of the repository, `src/` on the path)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from snakemake.api import SnakemakeApi
from snakemake.settings.types import DAGSettings, OutputSettings, ResourceSettings

from reprolab.registry import Variant


def plain(value):
    """A param as JSON data: a `Variant` becomes a dict (its fields), not a list."""
    return value._asdict() if isinstance(value, Variant) else value


def planned_jobs(target: str) -> list[dict]:
    """{rule, wildcards, params} of every job that `snakemake TARGET` would run here."""
    with SnakemakeApi(OutputSettings(dryrun=True, quiet={"all"})) as api:
        workflow_api = api.workflow(ResourceSettings(cores=8, resources={"gpu": 1}),
                                    snakefile=Path("Snakefile"), workdir=Path.cwd())
        workflow_api.dag(DAGSettings(targets={target}))
        workflow = workflow_api._workflow
        workflow._prepare_dag(forceall=False, ignore_incomplete=True, lock_warn_only=True, nolock=True)
        workflow._build_dag()
        return [{"rule": job.rule.name, "wildcards": dict(job.wildcards_dict),
                 "params": {name: plain(value) for name, value in job.params.items()}}
                for job in workflow.dag.needrun_jobs()]


if __name__ == "__main__":
    Path(sys.argv[2]).write_text(json.dumps(planned_jobs(sys.argv[1]), default=repr))
