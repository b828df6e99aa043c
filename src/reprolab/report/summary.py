"""Chapter summaries: one loop over the experiments, each built by its kind's summariser.

For every experiment: the results table (ours against the seed's reference, by the
experiment's primary metric), the tables of the seed's other numbers (train accuracies, test
losses...), of what the seed found in words and of the untrained models (epoch 0), the curves,
then the summariser registered for the experiment's kind (`reprolab.kinds`), then which
settings are the seed's and which ours (config.yaml's comments, passed as `config["origins"]`),
then the chapter's own additions for that experiment, if its package has a `report` module with
an `EXPERIMENTS` table. Last, that module's `discuss(summary, results)` (results: experiment ->
variant -> `VariantResult`) writes the chapter's discussion and conclusion from the numbers. The
result is a `ChapterPart`, saved as JSON.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from reprolab import kinds
from reprolab.errors import ReportError
from reprolab.registry import Variant, variants
from reprolab.report.generic import curves, findings_table, initial_table, reference_tables, results_table
from reprolab.report.method import origins_sentence, origins_table
from reprolab.report.parts import ChapterPart, Context, ExperimentPart, Finding, Reference, VariantResult

DEFAULT_PRIMARY = {"metric": "test_acc", "direction": "max"}


def load_result(variant: Variant, results_root: Path) -> VariantResult:
    """A variant's combined metrics and history, with the command that makes them when missing."""
    folder = Path(results_root) / variant.id
    try:
        metrics = json.loads((folder / "metrics.json").read_text())
    except FileNotFoundError as e:
        raise ReportError(f"result of {variant.id} is missing ({e.filename}); "
                          f"run `snakemake {folder / 'metrics.json'}`") from e
    history = pd.read_csv(folder / "history.csv") if (folder / "history.csv").exists() else None
    return VariantResult(variant, metrics, history, folder)


def chapter_report(chapter: str):
    """The chapter's `report` module (its `EXPERIMENTS` additions, its `discuss`), or None."""
    name = f"reprolab.chapters.{chapter}.report"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name != name:
            raise
        return None


def summarize_chapter(config: dict, chapter: str, results_root: Path,
                      references: dict[str, dict[str, list[Reference]]], figures_dir: Path,
                      findings: dict[str, dict[str, list[Finding]]] | None = None) -> ChapterPart:
    """Everything the report shows of `chapter`, read from the result files."""
    ch_config = config["chapters"][chapter]
    module = chapter_report(chapter)
    additions = getattr(module, "EXPERIMENTS", {})
    parts, all_results = [], {}
    for exp_name, exp_config in ch_config["experiments"].items():
        results = {v.name: load_result(v, results_root)
                   for v in variants(config, chapter) if v.experiment == exp_name}
        all_results[exp_name] = results
        primary = exp_config.get("primary", DEFAULT_PRIMARY)
        ctx = Context(smoke=config["scale"] == "smoke", tolerance=config["report"]["tolerance"],
                      primary=primary["metric"], direction=primary["direction"],
                      references=references.get(chapter, {}).get(exp_name, {}), figures_dir=Path(figures_dir),
                      findings=(findings or {}).get(chapter, {}).get(exp_name, []))
        kind = kinds.get((exp_config.get("defaults") or {}).get("kind", "train"))
        part = ExperimentPart(exp_name, exp_config.get("title", exp_name), kind.name,
                              results=results_table(results, ctx), figures=curves(results),
                              tables=reference_tables(results, ctx))
        if seed_words := findings_table(ctx):
            part.tables.append(seed_words)
        if initial := initial_table(results, ctx):
            part.tables.append(initial)
        kinds.resolve_function(kind.summarize)(part, results, ctx)
        datasets = sorted({r.variant.params.get("dataset") for r in results.values()} - {None})
        if origins := origins_table(config.get("origins", {}), exp_name, datasets):
            part.method += [origins_sentence(origins)]
            part.origins = origins
        if exp_name in additions:
            additions[exp_name](part, results, ctx)
        asked = {table.title for question in part.questions for table in question.tables}
        part.tables = [table for table in part.tables if table.title not in asked]  # shown by its question
        parts.append(part)
    summary = ChapterPart(chapter, ch_config.get("title", chapter), ch_config.get("sources", []),
                          config["scale"], parts)
    judged = [row for p in parts if p.results for row in p.results.rows
              if row.verdict in ("matches", "better", "worse", "outside the bound")]
    if judged:
        matches = sum(row.verdict == "matches" for row in judged)
        summary.observations.append(
            f"{matches} of {len(judged)} variants with a reference match it within "
            f"{config['report']['tolerance']:g} point(s); "
            f"{sum(row.verdict == 'worse' for row in judged)} do worse.")
    if discuss := getattr(module, "discuss", None):
        discuss(summary, all_results)
    return summary


def write_summary(summary: ChapterPart, path: Path) -> None:
    Path(path).write_text(json.dumps(asdict(summary), indent=2))
