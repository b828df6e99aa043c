# reprolab: one DAG from the dataset downloads to the lab report.
#   snakemake --resources gpu=1 --cores 8 report                       (full scale)
#   snakemake --cores 2 report --configfile presets/smoke.yaml          (smoke, offline, CPU)
#   REPROLAB_PRESET=smoke snakemake --cores 2 report                    (same, for DVC and CI)
import os
from pathlib import Path

import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, update_config

from reprolab.config import check_config
from reprolab.registry import order_like
from reprolab.report.provenance import config_hash

min_version("9.0")


configfile: "config.yaml"


if preset := os.environ.get("REPROLAB_PRESET"):
    preset_path = Path("presets") / f"{preset}.yaml"
    if not preset_path.is_file():
        raise WorkflowError(
            f"REPROLAB_PRESET={preset!r}: no file {preset_path}; "
            f"available presets: {', '.join(p.stem for p in Path('presets').glob('*.yaml'))}"
        )
    update_config(config, yaml.safe_load(preset_path.read_text()))

check_config(config, Path("config.schema.yaml"))
config.update(order_like(config, yaml.safe_load(Path("config.yaml").read_text())))


rule all:
    input:
        "report/report.html",
        "report/report.pdf",


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/assets.smk"
include: "rules/features.smk"
include: "rules/kinds.smk"
include: "rules/report.smk"


onstart:
    # Before any job: every file the planned downloads need is here, pre-staged or reachable
    # (reprolab.preflight); on a machine without internet, all the missing ones are listed at once.
    from reprolab.preflight import check_inputs

    _planned = [j for j in workflow.dag.needrun_jobs() if j.rule.name in ("download_dataset", "download_asset")]
    check_inputs([j.wildcards.dataset for j in _planned if j.rule.name == "download_dataset"],
                 [j.wildcards.asset for j in _planned if j.rule.name == "download_asset"], config["data"])
