"""Tables, figures and observations of one chapter (rule chapter_summary)."""
from pathlib import Path

import yaml

from reprolab.job import job
from reprolab.report.summary import summarize_chapter, write_summary

with job(snakemake):  # noqa: F821
    out = Path(snakemake.output.summary)  # noqa: F821
    references = yaml.safe_load(Path(snakemake.input.references).read_text())  # noqa: F821
    summary = summarize_chapter(snakemake.config, snakemake.wildcards.chapter,  # noqa: F821
                                Path("results"), references, out.parent / "figures")
    write_summary(summary, out)
