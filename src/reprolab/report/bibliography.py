"""The report's References: the seed reports as references.yaml's `sources` describe them, the sections
of each that the report cites, and a link from every "seed NNN" citation of the chapters to its entry."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from markupsafe import Markup, escape

from reprolab.report.parts import chapters_of

CITATION = re.compile(r"\bseed (\d{3})\b")


@dataclass(frozen=True)
class Source:
    """One seed report (an entry of references.yaml's `sources`)."""

    key: str  # "seed 004"
    file: str  # its file in shared/seeds/
    title: str  # as the report names itself
    kind: str  # report | assignment
    course: str
    covers: str
    level: str = ""

    @property
    def anchor(self) -> str:
        """The id of its entry in the References: `seed-004`."""
        return self.key.replace(" ", "-")


def sources(data: dict) -> dict[str, Source]:
    """The seed reports of references.yaml's data (`parts.read_references`), by key."""
    return {key: Source(key, **entry) for key, entry in sorted(data.get("sources", {}).items())}


def cited_sections(data: dict, chapters: list[dict] = ()) -> dict[str, list[str]]:
    """Per seed, the sections of it that the report cites, in order: those of references.yaml (numbers
    and findings), then those of the chapters' questions (a question's source is "seed NNN, section")."""
    cited: dict[str, dict[str, None]] = {}
    for experiments in chapters_of(data).values():
        for entries in experiments.values():
            for items in entries.values():
                for item in items:
                    cited.setdefault(item["source"], {})[item["section"]] = None
    for chapter in chapters:
        for exp in chapter["experiments"]:
            for question in exp.get("questions", []):
                if found := re.fullmatch(r"(seed \d{3}), (.+)", str(question["source"])):
                    cited.setdefault(found[1], {})[found[2]] = None
    return {key: list(sections) for key, sections in cited.items()}


def short_section(section: str | None) -> str:
    """A seed section without its parenthesised titles: `TME 5-6, § 2.4.1, Réponse 19, figure 11`."""
    return re.sub(r" \([^)]*\)", "", section or "")


def compact(sections: list[str]) -> list[str]:
    """Sections as the References list them: short (`short_section`), and without those that another
    one listed extends (`TME 3-4, § 1.3.1` goes when `TME 3-4, § 1.3.1, figure 2` is there)."""
    short = list(dict.fromkeys(map(short_section, sections)))
    return [s for s in short if not any(other != s and other.startswith(s + ",") for other in short)]


def bibliography(data: dict, chapters: list[dict]) -> list[dict]:
    """The References section: each seed report with its anchor, what it is, the sections cited and
    the chapters that draw on it (numbered chapter summaries, whose `sources` name the seeds)."""
    sections = cited_sections(data, chapters)
    entries = []
    for key, source in sources(data).items():
        drawn_on = [{"number": ch["number"], "title": ch["title"], "id": ch["chapter"]} for ch in chapters
                    if any(f"seed {n}" == key for s in ch.get("sources", []) for n in CITATION.findall(s))]
        entries.append({**asdict(source), "anchor": source.anchor, "chapters": drawn_on,
                        "sections": compact(sections.get(key, []))})
    return entries


def linked(text, anchors: set[str]):
    """`text` with each "seed NNN" that has an entry in the References made a link to it (escaped HTML);
    unchanged when it cites none (or is already markup)."""
    if not isinstance(text, str) or isinstance(text, Markup) or not CITATION.search(text):
        return text

    def link(match: re.Match) -> str:
        anchor = f"seed-{match[1]}"
        return f'<a href="#{anchor}">{match[0]}</a>' if anchor in anchors else match[0]

    return Markup(CITATION.sub(link, str(escape(text))))


def link_citations(chapters: list[dict], anchors: set[str]) -> None:
    """Make the seed citations of the numbered chapter summaries links to the References, in place: the
    chapters' sources, paragraphs and observations, every table cell, the questions' sources and answers."""
    def table(entry: dict) -> None:
        for row in entry["table"]["rows"]:
            row["cells"] = [linked(cell, anchors) for cell in row["cells"]]

    for chapter in chapters:
        for key in ("sources", "observations", "discussion", "conclusion"):
            chapter[key] = [linked(text, anchors) for text in chapter.get(key, [])]
        for exp in chapter["experiments"]:
            for key in ("method", "observations"):
                exp[key] = [linked(text, anchors) for text in exp.get(key, [])]
            for entry in exp["method_tables"] + exp["result_tables"]:
                table(entry)
            for question in exp.get("questions", []):
                question["source"] = linked(question["source"], anchors)
                question["answer"] = linked(question["answer"], anchors)
                for entry in question["numbered_tables"]:
                    table(entry)

