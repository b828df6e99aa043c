import pytest
import yaml

from reprolab.errors import ReportError
from reprolab.report.parts import Reference, load_references, verdict
from reprolab.report.render import embed
from reprolab.report.summary import summarize_chapter
from tests.conftest import REPO


def ref(**bound):
    return Reference(metric="test_acc", source="seed 002", section="TP 2", **bound)


@pytest.mark.parametrize("ours, reference, smoke, direction, expected", [
    (92.0, ref(value=92.43), False, "max", "matches"),
    (95.0, ref(value=92.43), False, "max", "better"),
    (80.0, ref(value=92.43), False, "max", "worse"),
    (80.0, ref(value=92.43), False, "min", "better"),  # a loss or a perplexity: lower is better
    (65.0, ref(max=70), False, "max", "matches"),
    (75.0, ref(max=70), False, "max", "outside the bound"),
    (80.0, None, False, "max", "no reference"),
    (10.0, ref(value=92.43), True, "max", "n/a (smoke scale)"),
    (None, ref(value=92.43), False, "max", "missing"),
])
def test_verdict(ours, reference, smoke, direction, expected):
    assert verdict(ours, reference, tolerance=1.0, smoke=smoke, direction=direction)[0] == expected


def test_every_reference_names_its_source():
    references = load_references(REPO / "references.yaml", REPO / "references.schema.yaml")
    entries = [r for ch in references.values() for exp in ch.values() for refs in exp.values() for r in refs]
    assert len(entries) > 20
    assert all(r.source.startswith("seed ") and r.section for r in entries)
    assert all(r.split for r in entries if r.metric.endswith(("_acc", "_loss")))


def test_a_reference_without_source_is_refused(tmp_path):
    bad = tmp_path / "references.yaml"
    bad.write_text("mnist: {keras_style: {cnn: [{metric: test_acc, value: 99.14}]}}\n")
    with pytest.raises(ReportError, match=r"mnist/keras_style/cnn/0: 'source' is a required property"):
        load_references(bad, REPO / "references.schema.yaml")


def test_missing_figure_fails_the_report(tmp_path):
    with pytest.raises(ReportError, match="missing"):
        embed(tmp_path / "curves.png")


def test_missing_result_names_the_command(tmp_path):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    with pytest.raises(ReportError, match=r"snakemake .*keras_style/logreg/metrics.json"):
        summarize_chapter(config, "mnist", tmp_path, {}, tmp_path / "figures")


def test_weasyprint_missing_image_fails_the_pdf(tmp_path):
    from reprolab.report.render import write_pdf

    with pytest.raises(ReportError, match="nope.png"):
        write_pdf('<html><body><img src="nope.png"></body></html>', tmp_path / "r.pdf", tmp_path)
    assert not (tmp_path / "r.pdf").exists()


def test_report_building_blocks_import_no_chapter_and_chapters_never_import_the_loop():
    """No import cycle: chapters use report.parts/generic; only the loop looks chapters up, by name."""
    import subprocess
    import sys

    code = ("import sys, reprolab.report.parts, reprolab.report.generic\n"
            "assert not [m for m in sys.modules if m.startswith('reprolab.chapters')]\n"
            "import reprolab.chapters.backprop.report, reprolab.chapters.mnist.report\n"
            "import reprolab.chapters.cifar.report, reprolab.chapters.audio.report\n"
            "import reprolab.chapters.fusion.report\n"
            "assert 'reprolab.report.summary' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
