"""References that can be checked: references.yaml's schema, the bibliography of the seed reports, the
links from citations to it, the seeds' findings in words, and chance beside accuracies."""

import re

import pytest
import yaml
from bs4 import BeautifulSoup
from markupsafe import Markup

from reprolab.errors import ReportError
from reprolab.registry import Variant, variants
from reprolab.report.bibliography import bibliography, compact, link_citations, linked
from reprolab.report.generic import findings_table, results_table
from reprolab.report.parts import (
    Context,
    Finding,
    Reference,
    VariantResult,
    load_findings,
    load_references,
    read_references,
)
from tests.conftest import REPO

REFERENCES, SCHEMA = REPO / "references.yaml", REPO / "references.schema.yaml"
CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())
SOURCES = ("sources: {seed 004: {file: 004_f4d50accc60ebd77.txt, title: T, kind: report, course: C, "
           "covers: X}}\n")


def entries(data: dict):
    """Every reference and finding of references.yaml's data, with its place."""
    for chapter, experiments in data.items():
        if chapter == "sources":
            continue
        for exp, items in experiments.items():
            for name, listed in items.items():
                for entry in listed:
                    yield f"{chapter}/{exp}/{name}", entry


def check(tmp_path, text: str):
    path = tmp_path / "references.yaml"
    path.write_text(SOURCES + text)
    return load_references(path, SCHEMA)


def test_every_number_and_finding_cites_a_described_seed_and_a_section():
    data = read_references(REFERENCES, SCHEMA)
    cited = {entry["source"] for _, entry in entries(data)}
    assert cited <= set(data["sources"]) and {"seed 000", "seed 001", "seed 002", "seed 004"} <= cited
    assert set(data["sources"]) == {f"seed 00{n}" for n in range(5)}
    for where, entry in entries(data):
        assert len(entry["section"]) >= 3, where
        if entry.get("metric", "").endswith(("_acc", "_loss")):
            assert entry["split"] in ("train", "test"), where
            assert entry["metric"].removeprefix("epoch1_").startswith(entry["split"]), where


@pytest.mark.parametrize("entry, message", [
    ("{metric: test_acc, value: 91.5, source: seed 004, section: TME 3-4}", "'split' is a required"),
    ("{metric: train_loss, value: 0.1, source: seed 004, section: TME 3-4}", "'split' is a required"),
    ("{metric: test_acc, split: train, value: 1, source: seed 004, section: TME 3-4}", "'test' was expected"),
    ("{metric: test_acc, split: test, value: 1, source: seed 009, section: TME 3-4}", "'seed 009' is not in"),
    ("{metric: test_acc, split: test, value: 91.5, source: seed 004}", "'section' is a required property"),
])
def test_a_reference_that_cannot_be_checked_is_refused(tmp_path, entry, message):
    with pytest.raises(ReportError, match=message):
        check(tmp_path, f"mnist: {{keras_style: {{cnn: [{entry}]}}}}\n")


def test_a_parameter_count_needs_no_split_and_a_finding_needs_its_source(tmp_path):
    good = check(tmp_path, "mnist: {keras_style: {cnn: [{metric: params, value: 7850, source: seed 004, "
                           "section: TP 2}], findings: [{quote: «une phrase du seed», source: seed 004, "
                           "section: TP 2}]}}\n")
    assert good == {"mnist": {"keras_style": {"cnn": [Reference("params", "seed 004", "TP 2", value=7850)]}}}
    with pytest.raises(ReportError, match="'source' is a required property"):
        check(tmp_path, "mnist: {keras_style: {findings: [{quote: «une phrase du seed», section: TP 2}]}}\n")


def test_findings_name_experiments_and_variants_of_the_config():
    findings = load_findings(REFERENCES, SCHEMA)
    known = {(v.chapter, v.experiment): set() for v in variants(CONFIG)}
    for v in variants(CONFIG):
        known[v.chapter, v.experiment].add(v.name)
    found = [(chapter, exp, f) for chapter, exps in findings.items() for exp, fs in exps.items() for f in fs]
    assert len(found) >= 25
    for chapter, exp, finding in found:
        assert (chapter, exp) in known, (chapter, exp)
        assert set(finding.variants) <= known[chapter, exp], (chapter, exp, finding.variants)
    main_4 = [f for c, e, f in found if (c, e) == ("mnist", "dropout_split") and f.about("main_4")]
    assert any("surapprentissage" in f.quote and f.section.startswith("ex. 1, q. 4") for f in main_4)
    svm = [f.quote for c, e, f in found if (c, e) == ("backprop", "svm")]
    assert any("C n'a pas beaucoup d'impact" in q for q in svm)


def context(tmp_path, references=None, findings=(), smoke=True):
    return Context(smoke=smoke, tolerance=1.0, primary="test_acc", direction="max",
                   references=references or {}, figures_dir=tmp_path, findings=list(findings))


def test_findings_are_shown_quoted_with_their_source_and_chapters_can_ask_for_them(tmp_path):
    about_c = Finding("C n'a pas beaucoup d'impact", "seed 004", "TME 3-4, § 1.3.6", ("rbf",),
                      "ours sweeps C")
    general = Finding("les données des deux classes sont séparées", "seed 004", "TME 3-4, § 1.3.6")
    ctx = context(tmp_path, findings=[about_c, general])
    assert ctx.seed_findings("rbf") == [about_c, general] and ctx.seed_findings("linear") == [general]
    table = findings_table(ctx)
    assert table.title.startswith("What the seed found")
    assert table.columns == ["about", "the seed says", "source"]
    assert table.rows[0].cells == ["rbf", "«C n'a pas beaucoup d'impact» (ours sweeps C)",
                                   "seed 004, TME 3-4, § 1.3.6"]
    assert table.rows[1].cells[0] == "all variants"
    assert findings_table(context(tmp_path)) is None


def result(name, metrics):
    return VariantResult(Variant("backprop", "circle", name, {"kind": "train"}), metrics)


def test_results_state_chance_and_the_report_section_and_split_of_the_reference(tmp_path):
    reference = Reference("test_acc", "seed 004", "TME 3-4, § 1.3.1", value=94.0, split="test")
    results = {"manual": result("manual", {"test_acc": 93.5, "train_acc": 95.0, "n_classes": 2}),
               "mnist": result("mnist", {"test_acc": 91.0, "n_classes": 10})}
    table = results_table(results, context(tmp_path, {"manual": [reference]}, smoke=False))
    assert table.columns[:4] == ["variant", "test acc. (%)", "train acc. (%)", "chance (%)"]
    manual, mnist = table.rows
    assert manual.cells[3:6] == ["50.0", "94", "seed 004, TME 3-4, § 1.3.1 (test)"]
    assert mnist.cells[3] == "10.0"
    assert manual.record == {"metric": "test_acc", "direction": "max", "ours": 93.5, "ours_std": None,
                             "chance": 50.0, "reference": "94", "reference_value": 94.0,
                             "reference_max": None, "reference_min": None, "split": "test",
                             "source": "seed 004", "section": "TME 3-4, § 1.3.1", "difference": -0.5,
                             "verdict": "matches"}
    assert mnist.record["verdict"] == "no reference" and "reference" not in mnist.record
    no_classes = results_table({"a": result("a", {"test_acc": 50.0})}, context(tmp_path))
    assert "chance (%)" not in no_classes.columns


def test_citations_link_to_the_bibliography_and_stay_escaped():
    anchors = {"seed-004"}
    text = linked("seed 004, TME 5-6 <b>; seed 003 too", anchors)
    assert isinstance(text, Markup)
    assert str(text) == '<a href="#seed-004">seed 004</a>, TME 5-6 &lt;b&gt;; seed 003 too'
    assert linked(text, anchors) is text and linked("no citation", anchors) == "no citation"
    chapters = [{"chapter": "x", "sources": ["seed 004 TME 3-4"], "observations": [], "experiments": [
        {"method": [], "observations": ["as seed 004 says"], "method_tables": [],
         "result_tables": [{"table": {"rows": [{"cells": ["a", "seed 004, TME 5-6"]}]}}],
         "questions": [{"source": "seed 004, TME 5-6, Q. 1", "answer": "42", "numbered_tables": []}]}]}]
    link_citations(chapters, anchors)
    exp = chapters[0]["experiments"][0]
    cell = exp["result_tables"][0]["table"]["rows"][0]["cells"][1]
    for text in (chapters[0]["sources"][0], exp["observations"][0], cell, exp["questions"][0]["source"]):
        assert '<a href="#seed-004">seed 004</a>' in text


def test_the_bibliography_has_an_entry_for_every_cited_seed():
    data = read_references(REFERENCES, SCHEMA)
    chapters = [{"chapter": name, "number": n, "title": ch["title"], "sources": ch.get("sources", []),
                 "experiments": []} for n, (name, ch) in enumerate(CONFIG["chapters"].items(), 1)]
    entries_ = {e["key"]: e for e in bibliography(data, chapters)}
    assert [e["anchor"] for e in entries_.values()] == [f"seed-00{n}" for n in range(5)]
    cited = {m for ch in CONFIG["chapters"].values() for s in ch.get("sources", [])
             for m in re.findall(r"seed \d{3}", s)} | {entry["source"] for _, entry in entries(data)}
    assert cited <= set(entries_)
    seed_004 = entries_["seed 004"]
    assert seed_004["title"].startswith("Rapport TME 3-4-5-6 RDFIA") and seed_004["file"].startswith("004_")
    assert {ch["id"] for ch in seed_004["chapters"]} == {"backprop", "cifar"}
    assert "TME 5-6, § 2.4.1, Réponse 19, figure 11" in seed_004["sections"]
    assert entries_["seed 001"]["kind"] == "assignment"
    assert {ch["id"] for ch in entries_["seed 003"]["chapters"]} == {"transfer", "visualization", "gans"}
    assert "TP 8, partie 3, Q. 10" in entries_["seed 003"]["sections"]
    assert "TP 9-10, Q. 11" in entries_["seed 003"]["sections"]


def test_sections_are_listed_short_and_once():
    assert compact(["TME 3-4, § 1.3.1 (Forward), Résultats", "TME 3-4, § 1.3.1, Résultats, figure 2",
                    "TME 5-6, Réponse 17", "TME 5-6, Réponse 17"]) == [
        "TME 3-4, § 1.3.1, Résultats, figure 2", "TME 5-6, Réponse 17"]


def test_the_report_renders_references_with_anchors_for_every_citation(tmp_path):
    from reprolab.report.render import numbered, render_html

    table = {"columns": ["variant", "source"], "rows": [{"cells": ["a", "seed 000, ex. 1, q. 4"],
                                                         "verdict": None}], "title": "What the seed found"}
    exp = {"name": "e", "title": "E", "kind": "train", "setup": None, "results": None, "tables": [table],
           "observations": [], "figures": [], "method": [], "method_tables": [], "questions": []}
    chapters = numbered([{"chapter": "x", "title": "X", "sources": ["seed 000 ex. 1"], "scale": "smoke",
                          "observations": [], "discussion": [], "conclusion": [], "experiments": [exp]}])
    data = read_references(REFERENCES, SCHEMA)
    sources = bibliography(data, chapters)
    link_citations(chapters, {s["anchor"] for s in sources})
    context = {"title": "T", "scale": "smoke", "generated": "now", "chapters": chapters,
               "bibliography": sources,
               "provenance": {"commit": "c", "config_hash": "h", "platform": "p", "packages": {},
                              "datasets": [], "assets": [], "runs": [], "jobs": []}}
    page = BeautifulSoup(render_html(context, REPO / "report_templates"), "html.parser")
    links = page.select('a[href^="#seed-"]')
    assert {a["href"] for a in links} == {"#seed-000"} and len(links) == 2  # the table cell, the sources line
    assert all(page.find(id=a["href"][1:]) for a in page.select('a[href^="#"]'))
    entry = page.find(id="seed-000")
    assert "TP noté Perception Multimodales" in entry.get_text()
    assert "000_360c781f0eec3153.txt" in entry.get_text()
    assert page.select_one("nav.toc a[href='#references']") is not None
    assert "What the seed found" in page.select_one("section#x-e caption").get_text()
