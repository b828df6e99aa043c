import pytest
import yaml

from reprolab.errors import ReportError
from reprolab.report.render import embed
from reprolab.report.summary import summarize_chapter, verdict
from tests.conftest import REPO


@pytest.mark.parametrize("ours, reference, smoke, expected", [
    (92.0, 92.43, False, "matches"),
    (95.0, 92.43, False, "above"),
    (80.0, 92.43, False, "below"),
    (65.0, {"max": 70}, False, "matches"),
    (75.0, {"max": 70}, False, "above"),
    (80.0, None, False, "no reference"),
    (10.0, 92.43, True, "n/a (smoke scale)"),
    (None, 92.43, False, "missing"),
])
def test_verdict(ours, reference, smoke, expected):
    assert verdict(ours, reference, tolerance=1.0, smoke=smoke)[0] == expected


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
