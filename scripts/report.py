"""Render the whole report as HTML and PDF (rule report)."""
import json
from pathlib import Path

from reprolab.job import job
from reprolab.report.render import build_report

with job(snakemake, uses_torch=False):  # noqa: F821
    params = snakemake.params  # noqa: F821
    build_report(
        report=params.report, scale=params.scale, config_hash=params.config_hash,
        summaries=[json.loads(Path(p).read_text()) for p in snakemake.input.summaries],  # noqa: F821
        manifests=[Path(p) for p in snakemake.input.manifests],  # noqa: F821
        runs=[json.loads(Path(p).read_text()) for p in snakemake.input.runs],  # noqa: F821
        benchmark_dir=Path(params.benchmarks),
        templates_dir=Path(params.templates),
        html_path=Path(snakemake.output.html),  # noqa: F821
        pdf_path=Path(snakemake.output.pdf),  # noqa: F821
        references=Path(snakemake.input.references),  # noqa: F821
        references_schema=Path(snakemake.input.references_schema),  # noqa: F821
        variants=params.variants,
        scorecard_path=Path(snakemake.output.scorecard),  # noqa: F821
    )
