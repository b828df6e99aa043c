"""The scorecard: one row per variant of every chapter, on one page after the contents, and as CSV."""

import csv
import re
import subprocess
from dataclasses import asdict

import pytest
import yaml

from reprolab.errors import ReportError
from reprolab.registry import Variant
from reprolab.report import scorecard
from reprolab.report.generic import results_table
from reprolab.report.parts import ChapterPart, Context, ExperimentPart, Reference, Row, Table, VariantResult
from reprolab.report.render import build_report, numbered
from tests.conftest import REPO

SECTION = "TME 5-6, § 2.4.3 (momentum and scheduler), Réponse 26, figure 14"


def summaries(tmp_path, shape: dict[str, dict[str, int]], smoke=True) -> list[dict]:
    """Chapter summaries as the report rule reads them: per chapter, per experiment, n variants (n = 0:
    a descriptive experiment, whose chapter-made table has one row `only`). Every other variant has a
    seed number, one in three a bound."""
    chapters = []
    for chapter, experiments in shape.items():
        parts = []
        for exp, n in experiments.items():
            if n == 0:
                parts.append(ExperimentPart(exp, exp.title(), "recording",
                                            results=Table(["variant", "file"], [Row(["only", "a.wav"])])))
                continue
            names = [f"{exp}_v{k}" for k in range(n)]
            results = {name: VariantResult(Variant(chapter, exp, name, {"kind": "train"}),
                                           {"test_acc": 50.0 + k, "train_acc": 60.0, "n_classes": 10})
                       for k, name in enumerate(names)}
            references = {name: [Reference("test_acc", "seed 004", SECTION, split="test",
                                           **({"max": 55.0} if k % 3 == 2 else {"value": 52.0}))]
                          for k, name in enumerate(names) if k % 2 == 0}
            ctx = Context(smoke=smoke, tolerance=1.0, primary="test_acc", direction="max",
                          references=references, figures_dir=tmp_path)
            parts.append(ExperimentPart(exp, f"The {exp} experiment", "train",
                                        results=results_table(results, ctx)))
        chapters.append(asdict(ChapterPart(chapter, chapter.title(), ["seed 004 TME 5-6"], "smoke", parts)))
    return chapters


def ids(chapters: list[dict]) -> list[str]:
    return [f"{ch['chapter']}/{exp['name']}/{row['cells'][0]}" for ch in chapters for exp in ch["experiments"]
            for row in exp["results"]["rows"]]


def test_one_row_per_variant_with_the_numbers_of_the_results_table(tmp_path):
    shape = {"alpha": {"circle": 3, "recordings": 0}, "beta": {"cifar": 2}}
    chapters = summaries(tmp_path, shape, smoke=False)
    rows = scorecard.scorecard(numbered(chapters), ids(chapters))
    assert [row["id"] for row in rows] == ["alpha/circle/circle_v0", "alpha/circle/circle_v1",
                                           "alpha/circle/circle_v2", "alpha/recordings/only",
                                           "beta/cifar/cifar_v0", "beta/cifar/cifar_v1"]
    first, second, bound, described, *_ = rows
    assert (first["number"], first["anchor"], first["ours"], first["reference_value"], first["difference"],
            first["verdict"], first["split"], first["seed_section"]) == (
        "1.1", "alpha-circle", 50.0, 52.0, -2.0, "worse", "test", SECTION)
    assert second["reference"] is None and second["verdict"] == "no reference" and second["chance"] == 10.0
    assert bound["reference"] == "≤ 55" and bound["reference_max"] == 55.0 and bound["verdict"] == "matches"
    assert described["verdict"] == scorecard.NOT_SCORED and described["metric"] is None
    shown = scorecard.display(described)
    assert shown["metric_text"] == "Table 1.2" and shown["ours_text"] == "—"
    shown = scorecard.display(first)
    assert (shown["ours_text"], shown["difference_text"], shown["section_text"]) == (
        "50.00", "-2.00", "TME 5-6, § 2.4.3, Réponse 26, figure 14 (test)")
    assert scorecard.counts(rows) == {"variants": 6, "chapters": 2, "referenced": 3, "verdicts": {
        "worse": 2, "no reference": 2, "matches": 1, "not scored": 1}}


def test_a_variant_missing_from_the_summaries_fails(tmp_path):
    chapters = numbered(summaries(tmp_path, {"alpha": {"circle": 1}}))
    with pytest.raises(ReportError, match=r"alpha/svm .*snakemake results/alpha/summary.json"):
        scorecard.scorecard(chapters, ["alpha/circle/circle_v0", "alpha/svm/linear"])


def test_the_csv_has_one_row_per_variant_and_its_columns(tmp_path):
    chapters = summaries(tmp_path, {"alpha": {"circle": 3, "recordings": 0}})
    scorecard.write_csv(scorecard.scorecard(numbered(chapters), ids(chapters)), tmp_path / "report" / "s.csv")
    with open(tmp_path / "report" / "s.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == scorecard.CSV_COLUMNS
    assert [row["id"] for row in rows] == ids(chapters)
    assert rows[0]["ours"] == "50.0" and rows[0]["chance"] == "10.0" and rows[0]["source"] == "seed 004"
    assert rows[0]["verdict"] == "n/a (smoke scale)"
    assert rows[3]["verdict"] == "not scored" and rows[3]["ours"] == ""


def test_the_report_rule_writes_the_csv_where_dvc_keeps_it():
    rule = (REPO / "rules" / "report.smk").read_text()
    assert re.search(r'scorecard="report/scorecard\.csv"', rule) and 'references="references.yaml"' in rule
    stage = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]["report"]
    outs = [next(iter(out)) if isinstance(out, dict) else out for out in stage["outs"]]
    assert any("report/scorecard.csv".startswith(out + "/") for out in outs)
    assert {"references.yaml", "references.schema.yaml"} <= set(stage["deps"])


def pdf_text(pdf, page: int) -> str:
    return subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout


def test_45_variants_fit_one_page_after_the_contents(tmp_path):
    shape = {"alpha": {"circle": 4, "svm": 2, "mnist": 4},
             "beta": {"keras": 3, "dropout": 4, "untangling": 0}, "gamma": {"lenet": 1, "cifar": 8},
             "delta": {"recordings": 0, "spectrogram": 2},
             "epsilon": {"samples": 0, "models": 5}, "zeta": {"transfer": 6, "gans": 3}}
    chapters = summaries(tmp_path, shape)
    variant_ids = ids(chapters)
    assert len(variant_ids) == 45
    report = tmp_path / "report"
    build_report(report={"title": "T", "tolerance": 1.0}, scale="smoke", config_hash="h", summaries=chapters,
                 manifests=[], runs=[], benchmark_dir=tmp_path, templates_dir=REPO / "report_templates",
                 html_path=report / "report.html", pdf_path=report / "report.pdf",
                 references=REPO / "references.yaml", references_schema=REPO / "references.schema.yaml",
                 variants=variant_ids, scorecard_path=report / "scorecard.csv")
    assert len((report / "scorecard.csv").read_text().splitlines()) == 46
    pages = [pdf_text(report / "report.pdf", n) for n in (1, 2, 3)]
    assert "Contents" in pages[0] and "Scorecard: every variant against the seeds" in pages[0]
    card = pages[1]
    assert card.split()[:2] == ["Scorecard", "Scorecard"]  # the running header, then the heading
    assert all(name.split("/")[-1] in card for name in variant_ids), "the scorecard runs over its page"
    assert "gans_v2" not in pages[2] and "45 variants in 6 chapters" in " ".join(card.split())
    html = (report / "report.html").read_text()
    assert html.count('<td class="exp" rowspan=') == 14 and 'href="#zeta-gans"' in html
