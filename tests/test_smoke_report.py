"""End to end: the smoke preset runs the whole DAG; the HTML and PDF say what they must."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from tests.conftest import snakemake

MNIST_VARIANTS = ["logreg", "mlp", "cnn", "main_1", "main_2", "main_3", "main_4",
                  "raw", "mlp_hidden", "cnn_penultimate"]


@pytest.fixture(scope="module")
def html(smoke_run):
    return BeautifulSoup((smoke_run / "report" / "report.html").read_text(), "html.parser")


def pdf_text(path, first=None, last=None):
    pages = [a for a, v in (("-f", first), ("-l", last)) for a in (a, str(v)) if v]
    return subprocess.run(["pdftotext", "-layout", *pages, str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def test_mnist_chapter_has_one_result_row_per_variant(html):
    section = html.find("section", id="mnist")
    assert section is not None
    results = [table for table in section.select("table.data")
               if table.caption and table.caption.get_text().endswith(": results")]
    first_cells = [row.find("td").get_text() for table in results for row in table.select("tbody tr")]
    assert sorted(first_cells) == sorted(MNIST_VARIANTS)


def test_reference_column_and_verdicts(html):
    keras = html.find("section", id="mnist-keras_style")
    text = keras.get_text()
    for reference in ("92.43", "97.88", "99.14", "0.0831", "0.0272"):
        assert reference in text
    assert "n/a (smoke scale)" in text
    assert "Test loss: ours against the seed's number" in text
    assert "Before training (epoch 0)" in text


def test_every_figure_is_embedded(html, smoke_run):
    images = html.find("section", id="mnist").find_all("img")
    assert len(images) == 7 + 6 + 2  # curves of trained variants, untangling plots, synthesis
    embedded = ("data:image/png;base64,", "data:image/svg+xml;base64,")  # figures; equations
    assert all(img["src"].startswith(embedded) for img in html.find_all("img"))


def test_observations_are_computed(html):
    notes = html.find("section", id="mnist-dropout_split").select("ul.observations li")
    assert any("train/test accuracy gap" in li.get_text() for li in notes)
    assert any("main_2" in li.get_text() and "main_1" in li.get_text() for li in notes)
    tables = html.find("section", id="mnist-dropout_split").get_text()
    assert "The effect of dropout" in tables and "The seed's statements (seed 000, ex. 1)" in tables


def test_provenance_appendix(html, smoke_run):
    appendix = html.find("section", id="appendix").get_text()
    manifest = json.loads((smoke_run / "data" / "raw" / "mnist" / "manifest.json").read_text())
    for record in manifest["files"]:
        assert record["sha256"] in appendix
    for package in ("torch", "snakemake", "weasyprint"):
        assert package in appendix
    assert "config hash" in appendix and "mnist/keras_style/logreg" in appendix


def test_pdf_is_stamped_smoke_on_its_first_page(smoke_run):
    pdf = smoke_run / "report" / "report.pdf"
    assert "Smoke scale — not meaningful" in pdf_text(pdf, 1, 1)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert pages >= 8
    text = pdf_text(pdf)
    assert "Appendix A: provenance and compute" in text and "main_4" in text


def test_pdf_embeds_the_figures(smoke_run):
    listing = subprocess.run(["pdfimages", "-list", str(smoke_run / "report" / "report.pdf")],
                             capture_output=True, text=True, check=True).stdout
    assert len(listing.strip().splitlines()) - 2 >= len(BeautifulSoup(
        (smoke_run / "report" / "report.html").read_text(), "html.parser").find_all("img"))


def test_second_run_has_nothing_to_do(smoke_run):
    out = snakemake("-n", "report", "--configfile", "presets/smoke.yaml", cwd=smoke_run).stdout
    assert "Nothing to be done" in out


def test_report_fails_naming_a_missing_figure(smoke_run, tmp_path):
    """A chapter figure is gone from a finished run, in a copy of it. Its folder is the declared
    output, so Snakemake sees nothing amiss: the forced report alone runs, fails, names the file."""
    work = tmp_path / "repo"
    shutil.copytree(smoke_run, work, symlinks=True)  # keeps the times: everything stays up to date
    figure = Path("results/cifar/figures/cifar10_test_acc.png")
    (work / figure).unlink()
    result = snakemake("report", "-R", "report", "--cores", "1", "--configfile", "presets/smoke.yaml",
                       cwd=work, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert re.findall(r"^(?:local)?rule (\w+):", output, re.M) == ["report"]
    assert "Error in rule report" in output
    assert f"reprolab: figure {figure} is missing or empty" in output
