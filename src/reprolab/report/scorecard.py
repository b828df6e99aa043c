"""The scorecard: every variant of every chapter on one page, with our primary metric, the seed's
reference, the difference and the verdict; the same rows as `report/scorecard.csv`.

Built from the numbered chapter summaries: the results table of an experiment (`generic.results_table`)
keeps each row's numbers unformatted in its `record`. A variant whose experiment has no such table (a
chapter's own, descriptive one: a recording, samples, projections) is listed as not scored, with the
table to read instead. Every variant of the config gets a row; one missing from the summaries fails.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from reprolab.errors import ReportError
from reprolab.report.bibliography import short_section
from reprolab.report.parts import fmt

CSV_COLUMNS = ["id", "number", "chapter", "experiment", "variant", "metric", "direction", "ours", "ours_std",
               "chance", "reference", "reference_value", "reference_max", "reference_min", "split", "source",
               "seed_section", "difference", "verdict"]
NOT_SCORED = "not scored"
DIGITS = {"acc": 2, "loss": 4}  # digits shown, by the metric's suffix (as the chapters' tables)


def scorecard(chapters: list[dict], variant_ids: list[str]) -> list[dict]:
    """One row per variant id (`chapter/experiment/variant`, in config order), from the numbered
    chapter summaries (`render.numbered`)."""
    experiments = {(ch["chapter"], exp["name"]): (ch, exp) for ch in chapters for exp in ch["experiments"]}
    rows = []
    for variant_id in variant_ids:
        chapter_name, exp_name, name = variant_id.split("/")
        if (chapter_name, exp_name) not in experiments:
            raise ReportError(f"the scorecard has no summary of {chapter_name}/{exp_name} (variant "
                              f"{variant_id}); run `snakemake results/{chapter_name}/summary.json`")
        chapter, exp = experiments[chapter_name, exp_name]
        results = exp.get("results") or {"rows": []}
        record = next((r.get("record") for r in results["rows"] if r["cells"][0] == name), None)
        table = exp["result_tables"][0]["number"] if exp.get("result_tables") else None
        row = {"id": variant_id, "number": exp["number"], "chapter": chapter_name, "experiment": exp_name,
               "variant": name, "title": exp["title"], "anchor": f"{chapter_name}-{exp_name}", "table": table,
               **dict.fromkeys(CSV_COLUMNS[5:]), "verdict": NOT_SCORED}
        if record:
            row.update(record, seed_section=record.get("section"))
        rows.append(row)
    return rows


def counts(rows: list[dict]) -> dict:
    """How many variants, how many with a seed number for their primary metric, and the verdicts."""
    verdicts = Counter(row["verdict"] for row in rows)
    return {"variants": len(rows), "chapters": len({row["chapter"] for row in rows}),
            "referenced": sum(row["reference"] is not None for row in rows),
            "verdicts": dict(verdicts.most_common())}


def display(row: dict) -> dict:
    """The row's cells as printed on the scorecard page."""
    metric = row["metric"] or ""
    digits = DIGITS.get(metric.rsplit("_", 1)[-1], 2)
    label = (metric.replace("_acc", " acc.").replace("_", " ") if metric
             else f"Table {row['table']}" if row["table"] else "—")
    diff = row["difference"]
    ours = fmt(row["ours"], row["ours_std"], digits) if metric else "—"
    return {**row, "metric_text": label, "ours_text": ours,
            "chance_text": fmt(row["chance"], digits=0) if row["chance"] is not None else "",
            "source_text": row["source"] or "", "section_text": short_section(row["seed_section"])
            + (f" ({row['split']})" if row["split"] else ""),
            "difference_text": "—" if diff is None else f"{diff:+.{digits}f}"}


def by_experiment(rows: list[dict]) -> list[dict]:
    """The printed rows grouped by experiment, in order: `{number, chapter, experiment, anchor, rows}`."""
    groups: list[dict] = []
    for row in rows:
        if not groups or groups[-1]["anchor"] != row["anchor"]:
            keys = ("number", "chapter", "experiment", "title", "anchor")
            groups.append({k: row[k] for k in keys} | {"rows": []})
        groups[-1]["rows"].append(display(row))
    return groups


def write_csv(rows: list[dict], path: Path) -> None:
    """The scorecard as CSV, one row per variant (empty cells where there is no number; numbers to 6
    decimals, which is below any difference a verdict looks at)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: round(v, 6) if isinstance(v, float) else v for k, v in row.items()})
