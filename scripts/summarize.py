"""Tables, figures and observations of one chapter (rule chapter_summary)."""
from pathlib import Path

from reprolab.job import job
from reprolab.report.parts import load_findings, load_references
from reprolab.report.summary import summarize_chapter, write_summary

with job(snakemake):  # noqa: F821
    out = snakemake.output  # noqa: F821
    Path(out.figures).mkdir(parents=True, exist_ok=True)
    references = load_references(Path(snakemake.input.references),  # noqa: F821
                                 Path(snakemake.input.references_schema))  # noqa: F821
    findings = load_findings(Path(snakemake.input.references),  # noqa: F821
                             Path(snakemake.input.references_schema))  # noqa: F821
    summary = summarize_chapter(snakemake.params.settings, snakemake.wildcards.chapter,  # noqa: F821
                                Path("results"), references, Path(out.figures), findings)
    write_summary(summary, Path(out.summary))
