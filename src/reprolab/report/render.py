"""Render the report: Jinja templates -> self-contained HTML -> PDF with WeasyPrint."""

from __future__ import annotations

import base64
import copy
import itertools
import logging
import mimetypes
from datetime import UTC
from pathlib import Path

import jinja2

from reprolab.errors import ReportError

LONG_WORD = 24


def figure_file(path: str | Path) -> Path:
    """The figure's file, or a `ReportError` naming it when it is missing or empty."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise ReportError(f"figure {path} is missing or empty; re-run the rule that makes it")
    return path


def embed(path: str | Path) -> str:
    """A figure as a data URI, so the HTML is one self-contained file; missing -> error."""
    path = figure_file(path)
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def is_wide(path: str | Path) -> bool:
    """A figure much wider than tall (two panels side by side, an image strip): it takes a whole row."""
    from PIL import Image

    with Image.open(figure_file(path)) as image:
        width, height = image.size
    return width > 1.8 * height


def has_long_word(text) -> bool:
    """A cell with a word too long for a narrow column (a path, a hash): it may break anywhere."""
    return any(len(word) > LONG_WORD for word in str(text).split())


def _titled(tables: list[dict]) -> list[tuple[dict, str]]:
    return [(t, t.get("title") or "") for t in tables]


def _numbered_tables(tables: list, chapter: int | str, counter) -> list[dict]:
    """`(table, caption)` pairs -> `{"number", "caption", "table"}` entries, skipping absent tables."""
    return [{"number": f"{chapter}.{next(counter)}", "caption": caption, "table": table}
            for table, caption in tables if table]


def numbered(chapters: list[dict]) -> list[dict]:
    """A copy of the chapter summaries with numbers, in reading order: chapter `n`, experiment `n.m`,
    and per chapter its tables and figures `n.k`. An experiment's tables become
    `{"number", "caption", "table"}` entries: `method_tables` (the setup, then the networks),
    `result_tables` (the results, then the others), and each question's `numbered_tables`; the
    tables of whose each setting is go to the settings appendix, `B.k` (`origins_entry`)."""
    chapters = copy.deepcopy(chapters)
    for n, chapter in enumerate(chapters, 1):
        chapter["number"] = n
        tables, figures = itertools.count(1), itertools.count(1)
        for m, exp in enumerate(chapter["experiments"], 1):
            exp["number"] = f"{n}.{m}"
            setup = [(exp["setup"], f"{exp['title']}: setup of each variant")]
            exp["method_tables"] = _numbered_tables(setup + _titled(exp["method_tables"]), n, tables)
            results = [(exp["results"], f"{exp['title']}: results")]
            exp["result_tables"] = _numbered_tables(results + _titled(exp["tables"]), n, tables)
            for figure in exp["figures"]:
                figure["number"] = f"{n}.{next(figures)}"
            for question in exp["questions"]:
                question["numbered_tables"] = _numbered_tables(_titled(question["tables"]), n, tables)
    settings = itertools.count(1)
    for chapter in chapters:
        for exp in chapter["experiments"]:
            if exp.get("origins"):
                caption = f"{chapter['number']}.{exp['number'].split('.')[1]} {exp['title']}"
                exp["origins_entry"] = _numbered_tables([(exp["origins"], caption)], "B", settings)[0]
    return chapters


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def render_html(context: dict, templates_dir: Path) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir)),
                             autoescape=jinja2.select_autoescape(["html", "j2"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["embed"] = embed
    env.tests["wide"] = is_wide
    env.tests["long"] = has_long_word
    chapters_dir = Path(templates_dir) / "chapters"
    env.tests["chapter_template"] = lambda name: (chapters_dir / f"{name}.html.j2").exists()
    return env.get_template("base.html.j2").render(**context)


def write_pdf(html: str, pdf_path: Path, base_url: Path) -> None:
    """HTML -> PDF; any error WeasyPrint only logs (a missing image...) fails the step."""
    import weasyprint

    handler = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        weasyprint.HTML(string=html, base_url=str(base_url)).write_pdf(pdf_path)
    finally:
        logger.removeHandler(handler)
    errors = [m for m in handler.messages if "image" in m.lower() or "failed" in m.lower()]
    if errors:
        Path(pdf_path).unlink(missing_ok=True)
        raise ReportError("WeasyPrint could not render the report: " + "; ".join(errors))


def render(context: dict, templates_dir: Path, html_path: Path, pdf_path: Path) -> None:
    html = render_html(context, templates_dir)
    Path(html_path).parent.mkdir(parents=True, exist_ok=True)
    Path(html_path).write_text(html)
    write_pdf(html, Path(pdf_path), Path(templates_dir))


def build_report(*, report: dict, scale: str, config_hash: str, summaries: list[dict], manifests: list[Path],
                 runs: list[dict], benchmark_dir: Path, templates_dir: Path, html_path: Path,
                 pdf_path: Path, references: Path, references_schema: Path, variants: list[str],
                 scorecard_path: Path) -> None:
    """Assemble the context (scorecard, chapters, references, provenance), write the scorecard's CSV,
    the HTML and the PDF. Every "seed NNN" the chapters cite links to its entry in the References."""
    from datetime import datetime

    from reprolab.report import scorecard
    from reprolab.report.bibliography import bibliography, link_citations
    from reprolab.report.parts import read_references
    from reprolab.report.provenance import collect

    chapters = numbered(summaries)
    rows = scorecard.scorecard(chapters, variants)
    scorecard.write_csv(rows, scorecard_path)
    sources = bibliography(read_references(references, references_schema), chapters)
    link_citations(chapters, {entry["anchor"] for entry in sources})
    context = {
        "title": report["title"],
        "scale": scale,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "scorecard": {"experiments": scorecard.by_experiment(rows), "counts": scorecard.counts(rows),
                      "csv": Path(scorecard_path).name, "tolerance": report.get("tolerance")},
        "chapters": chapters,
        "bibliography": sources,
        "provenance": collect(config_hash, manifests, benchmark_dir, runs),
    }
    render(context, templates_dir, html_path, pdf_path)
