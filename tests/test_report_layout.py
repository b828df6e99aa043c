"""Layout of the report: on screen (headless Chromium at two widths) and on paper (the PDF's pages)."""

import json
import re
import shutil
import subprocess
from dataclasses import asdict

import pytest
from bs4 import BeautifulSoup

from reprolab.report.parts import ChapterPart, ExperimentPart, Figure, Question, Row, Table
from reprolab.report.render import numbered, render_html
from tests.conftest import REPO

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)

# Runs in the page once it has loaded: every element that sticks out of the viewport sideways, unless an
# ancestor scrolls sideways (a table's wrapper); then, half-way down the page, where the contents is.
CHECK = """<script>
window.addEventListener("load", () => {
  const width = document.documentElement.clientWidth;
  const inScroller = el => {
    for (let a = el.parentElement; a; a = a.parentElement) {
      if (["auto", "scroll"].includes(getComputedStyle(a).overflowX)) return true;
    }
    return false;
  };
  const overflowing = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width && (box.right > width + 1 || box.left < -1) && !inScroller(el)) {
      overflowing.push(`${el.tagName}#${el.id}.${el.className} ${box.left | 0}..${box.right | 0}`);
    }
  }
  window.scrollTo(0, document.documentElement.scrollHeight / 2);
  const toc = document.querySelector("nav.toc").getBoundingClientRect();
  const out = document.createElement("pre");
  out.id = "layout-check";
  out.hidden = true;
  out.textContent = JSON.stringify({width, scrollWidth: document.documentElement.scrollWidth, overflowing,
                                    scrolled: window.scrollY, tocTop: toc.top, tocHeight: toc.height});
  document.body.append(out);
});
</script>"""


def pdf_pages(pdf) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


def page_text(pdf, page: int, layout: bool = False) -> str:
    return subprocess.run(["pdftotext", *(["-layout"] if layout else []), "-f", str(page), "-l", str(page),
                           str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def page_images(pdf, page: int) -> int:
    listing = subprocess.run(["pdfimages", "-f", str(page), "-l", str(page), "-list", str(pdf)],
                             capture_output=True, text=True, check=True).stdout
    return len(listing.strip().splitlines()) - 2


@pytest.fixture(scope="module")
def report(smoke_run):
    return smoke_run / "report"


@pytest.fixture(scope="module")
def html(report):
    return BeautifulSoup((report / "report.html").read_text(), "html.parser")


@pytest.mark.parametrize("width", [1280, 500])
def test_no_horizontal_overflow_on_screen(report, tmp_path, width):
    if CHROMIUM is None:
        pytest.skip("no headless browser: install Debian's `chromium` to check the HTML on screen")
    page = tmp_path / "report.html"
    page.write_text((report / "report.html").read_text().replace("</body>", CHECK + "</body>"))
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                          f"--window-size={width},900", "--virtual-time-budget=10000", "--dump-dom",
                          page.as_uri()], capture_output=True, text=True, timeout=300).stdout
    found = BeautifulSoup(dom, "html.parser").find("pre", id="layout-check")
    assert found is not None, "the check did not run in the page"
    result = json.loads(found.get_text())
    assert result["width"] == width
    assert result["overflowing"] == [] and result["scrollWidth"] <= width, result
    assert result["scrolled"] > 0 and abs(result["tocTop"]) <= 1, f"the contents does not stick: {result}"
    assert result["tocHeight"] <= (900 if width > 1000 else 120), result


def test_the_html_is_made_for_screens(html):
    assert html.find("meta", attrs={"name": "viewport"})["content"] == "width=device-width, initial-scale=1"
    links = [a["href"] for a in html.select("nav.toc a")]
    experiments = html.select("section.experiment")
    assert {f"#{s['id']}" for s in experiments + html.select("section.chapter")} <= set(links)
    assert all(html.find(id=link[1:]) is not None for link in links)
    assert all("table-wrap" in t.parent.get("class", []) for t in html.select("table.data"))


def test_no_pdf_page_is_nearly_empty(report):
    """A page with almost no text and no figure (a heading alone, a stray line) fails."""
    pdf = report / "report.pdf"
    empty = [n for n in range(1, pdf_pages(pdf) + 1)
             if len(re.sub(r"\s", "", page_text(pdf, n))) < 200 and page_images(pdf, n) == 0]
    assert empty == [], f"nearly empty pages: {empty}"


def test_no_pdf_page_ends_with_a_heading(report, html):
    pdf = report / "report.pdf"
    headings = [" ".join(h.get_text().split()) for h in html.select("main h1, main h2, main h3")]
    for n in range(2, pdf_pages(pdf) + 1):
        lines = [line.strip() for line in page_text(pdf, n).splitlines()
                 if line.strip() and not line.startswith("reprolab report — page")]
        last = " ".join(lines[-1].split())
        assert not (len(last) >= 8 and any(last in h for h in headings)), f"page {n} ends with {last!r}"


def test_figures_and_tables_are_numbered(html, report):
    for chapter in html.select("section.chapter:not(.appendix)"):
        number = re.match(r"(\d+)\. ", chapter.h1.get_text()).group(1)
        for kind, captions in (("Figure", "figcaption"), ("Table", "caption")):
            labels = [c.find(class_="label").get_text() for c in chapter.select(captions)]
            assert labels == [f"{kind} {number}.{k}:" for k in range(1, len(labels) + 1)]
        assert len(chapter.select("table.data")) == len(chapter.select("table.data > caption"))
    assert len(html.select("figure")) == len(html.select("figcaption .label")) > 10
    text = "".join(page_text(report / "report.pdf", n) for n in range(1, 6))
    assert "Table 1.1:" in text and "Figure 1.1:" in text


def test_pdf_contents_gives_the_page_of_every_experiment(report, html):
    pdf = report / "report.pdf"
    contents = page_text(pdf, 1, layout=True) + page_text(pdf, 2, layout=True)
    entries = re.findall(r"^\s*(\d+\.\d+) (.+?)[ .]*\b(\d+)\s*$", contents, re.M)
    assert len(entries) == len(html.select("section.experiment"))
    for number, title, page in entries:
        text = " ".join(page_text(pdf, int(page)).split())
        assert f"{number} {' '.join(title.split()[:3])}" in text, (number, title, page)


def test_numbers_and_layout_classes_from_a_small_report(tmp_path):
    from PIL import Image

    Image.new("RGB", (400, 300), "white").save(tmp_path / "cell.png")
    Image.new("RGB", (900, 300), "white").save(tmp_path / "wide.png")
    table = Table(["variant", "path"], [Row(["a", "x" * 40])])
    figures = [Figure(str(tmp_path / "cell.png"), "one"), Figure(str(tmp_path / "wide.png"), "two")]
    exps = [ExperimentPart(name, "E", "train", setup=table, tables=[Table(table.columns, table.rows, "More")],
                           figures=figures) for name in ("first", "second")]
    exps[0].questions = [Question("«Combien ?»", "seed 004", "Four.", [Table(["n"], [Row(["4"])], "Count")])]
    chapters = [asdict(ChapterPart("x", "X", [], "smoke", exps))]
    context = {"title": "T", "scale": "smoke", "generated": "now", "chapters": numbered(chapters),
               "provenance": {"commit": "c", "config_hash": "h", "platform": "p", "packages": {},
                              "datasets": [], "assets": [], "runs": [], "jobs": []}}
    page = BeautifulSoup(render_html(context, REPO / "report_templates"), "html.parser")
    assert "number" not in chapters[0]  # the summaries are not changed
    assert [c.get_text(" ", strip=True) for c in page.select("section#x caption")] == [
        "Table 1.1: E: setup of each variant", "Table 1.2: More", "Table 1.3: Count",
        "Table 1.4: E: setup of each variant", "Table 1.5: More"]
    assert [f["class"] for f in page.select("figure")] == [["cell"], ["wide"]] * 2
    assert page.select_one("section#x-second figcaption").get_text(" ", strip=True) == "Figure 1.3: one"
    assert [td.get("class") for td in page.select("section#x-first td")][:2] == [None, ["long"]]
