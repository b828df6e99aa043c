"""The report's building blocks as small dataclasses, and what every summariser shares.

A chapter summary is a `ChapterPart` holding one `ExperimentPart` per experiment; each is
built by the summariser of the experiment's kind (`reprolab.kinds`), then by the chapter's own
additions. They are written as JSON (`dataclasses.asdict`) and read by the templates. This
module imports no chapter, so chapters can import it without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from reprolab.errors import ReportError
from reprolab.registry import Variant


@dataclass
class Figure:
    path: str
    caption: str


@dataclass
class Row:
    cells: list[str]
    verdict: str | None = None
    record: dict | None = None  # the row's numbers unformatted, where a table has them (for the scorecard)


@dataclass
class Table:
    columns: list[str]
    rows: list[Row]
    title: str = ""


@dataclass
class Text:
    """Text a model generated (or a dataset holds), shown verbatim in a monospace block: data, never
    markup (the templates escape it, as everything else)."""

    title: str  # what it is, e.g. "T = 0.02, from «souvent, p»"
    text: str


@dataclass
class Question:
    """One of the course's questions, quoted in its own words, answered with values the code computed."""

    quote: str  # the course's wording (French where the course is French)
    source: str  # where it is asked, e.g. "seed 004, TME 5-6, Q. 1"
    answer: str  # our answer, in words, with the computed values
    tables: list[Table] = field(default_factory=list)  # the numbers behind the answer
    equations: list[str] = field(default_factory=list)  # SVG paths (`figures.equation`)


@dataclass
class ExperimentPart:
    """What the report shows of one experiment: its method, its results, the course's questions."""

    name: str
    title: str
    kind: str
    method: list[str] = field(default_factory=list)  # paragraphs: data, model, optimisation, in words
    setup: Table | None = None
    method_tables: list[Table] = field(default_factory=list)  # the networks, layer by layer
    results: Table | None = None
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    observations: list[str] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    origins: Table | None = None  # whose each setting is (the seed's or ours): the settings appendix
    texts: list[Text] = field(default_factory=list)  # generated text, shown verbatim (monospace)


@dataclass
class ChapterPart:
    """What the report shows of one chapter; discussion and conclusion are computed from the numbers."""

    chapter: str
    title: str
    sources: list[str]
    scale: str
    experiments: list[ExperimentPart]
    observations: list[str] = field(default_factory=list)
    discussion: list[str] = field(default_factory=list)  # paragraphs
    conclusion: list[str] = field(default_factory=list)  # a few sentences, the chapter's take-aways


@dataclass(frozen=True)
class Reference:
    """A number of a seed report, printed beside ours (one entry of references.yaml)."""

    metric: str  # a key of metrics.json: test_acc, train_acc, test_loss, params...
    source: str  # which seed report, e.g. "seed 002" (a key of references.yaml's `sources`)
    section: str  # where in it, e.g. "TP 2, ex. 1 (Régression Logistique avec Keras)"
    value: float | None = None
    max: float | None = None  # the seed only gives a bound
    min: float | None = None
    split: str | None = None  # train | test | validation (required for accuracies and losses)
    note: str = ""
    layers: dict | None = None  # per-layer counts, for `params`

    def text(self) -> str:
        """The reference as printed: `92.43`, `≤ 70` or `≥ 95`."""
        if self.value is not None:
            return f"{self.value:g}"
        return f"≤ {self.max:g}" if self.max is not None else f"≥ {self.min:g}"

    def citation(self) -> str:
        """Which report, where in it, which split: `seed 004, TME 5-6, Réponse 19 (test)`."""
        return f"{self.source}, {self.section}" + (f" ({self.split})" if self.split else "")

    def source_text(self) -> str:
        """The citation and, where the seed is ambiguous, the note: a table's source cell."""
        return self.citation() + (f"; {self.note}" if self.note else "")

    def record(self) -> dict:
        """The reference's fields for a CSV row (the scorecard)."""
        return {"reference": self.text(), "reference_value": self.value, "reference_max": self.max,
                "reference_min": self.min, "split": self.split, "source": self.source,
                "section": self.section}


@dataclass(frozen=True)
class Finding:
    """What a seed found in words (one entry of an experiment's `findings` in references.yaml)."""

    quote: str  # the seed's words, verbatim (French), "[...]" where cut
    source: str  # e.g. "seed 000"
    section: str  # e.g. "ex. 1, q. 4 (main_4.py, no dropout)"
    variants: tuple[str, ...] = ()  # what it is about; empty: the whole experiment
    note: str = ""  # how to read it, in English

    def citation(self) -> str:
        return f"{self.source}, {self.section}"

    def about(self, variant: str | None) -> bool:
        """Whether the finding concerns `variant` (any finding, when `variant` is None)."""
        return variant is None or not self.variants or variant in self.variants


@dataclass(frozen=True)
class VariantResult:
    """One variant's combined metrics and its history (None for kinds without epochs)."""

    variant: Variant
    metrics: dict
    history: pd.DataFrame | None = None
    folder: Path = Path(".")

    @property
    def name(self) -> str:
        return self.variant.name

    def file(self, name: str) -> str:
        """The path of one of the variant's own files (a figure), as the report embeds it."""
        return str(self.folder / name)


MIN_EPOCHS_TO_JUDGE = 5  # fewer trained epochs (or smoke scale): no claim about over- or under-fitting
NOT_ENOUGH_EPOCHS = "not enough epochs to judge"


def enough_epochs(history: pd.DataFrame | None, smoke: bool) -> bool:
    """Whether a run is long enough to say anything about its curves' shape (overfitting...)."""
    return not smoke and history is not None and len(trained_epochs(history)) >= MIN_EPOCHS_TO_JUDGE


def trained_epochs(history: pd.DataFrame) -> pd.DataFrame:
    """The rows of epochs 1..N: the history without epoch 0 (the model before any update)."""
    return history[history["epoch"] >= 1]


@dataclass
class Context:
    """What a summariser needs besides the results: scale, verdict rules, references, figures."""

    smoke: bool
    tolerance: float
    primary: str  # the experiment's primary metric (a key of metrics.json)
    direction: str  # "max" (accuracy) or "min" (loss, perplexity, FID)
    references: dict[str, list[Reference]]  # variant name -> its references
    figures_dir: Path
    findings: list[Finding] = field(default_factory=list)  # the experiment's, from references.yaml

    def reference(self, variant: str, metric: str | None = None) -> Reference | None:
        """The seed's reference for one metric (the primary one by default) of a variant."""
        metric = metric or self.primary
        return next((r for r in self.references.get(variant, []) if r.metric == metric), None)

    def seed_findings(self, variant: str | None = None) -> list[Finding]:
        """What the seeds found in words about this experiment, or about one variant of it (with the
        findings about the whole experiment); for chapters that check them against our numbers."""
        return [f for f in self.findings if f.about(variant)]


def fmt(value, std=None, digits: int = 2) -> str:
    """A number with its std across seeds when there is one."""
    if value is None:
        return "—"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    text = f"{value:.{digits}f}"
    return f"{text} ± {std:.{digits}f}" if std is not None else text


def verdict(ours: float | None, reference: Reference | None, tolerance: float, smoke: bool,
            direction: str = "max") -> tuple[str, float | None]:
    """Ours against the seed's number or bound: matches, better, worse (by the metric's direction)."""
    if ours is None:
        return "missing", None
    if reference is None:
        return "no reference", None
    diff = ours - reference.value if reference.value is not None else None
    if smoke:
        return "n/a (smoke scale)", diff
    if diff is None:
        inside = ours <= reference.max if reference.max is not None else ours >= reference.min
        return ("matches" if inside else "outside the bound"), None
    if abs(diff) <= tolerance:
        return "matches", diff
    return ("better" if (diff > 0) == (direction == "max") else "worse"), diff


SECTIONS = ("sources",)  # top-level keys of references.yaml that are not chapters
FINDINGS = "findings"  # the experiment-level key of the seed's words (not a variant)


def read_references(path: Path, schema_path: Path) -> dict:
    """references.yaml as data, checked against its schema; a bad entry names its place and the reason."""
    import jsonschema
    import yaml

    data = yaml.safe_load(Path(path).read_text()) or {}
    schema = yaml.safe_load(Path(schema_path).read_text())
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(data))
    if error is not None:
        where = "/".join(map(str, error.absolute_path)) or "(top level)"
        raise ReportError(f"{path}: entry {where}: {error.message}; see {schema_path} for the fields")
    sources = data.get("sources", {})
    for chapter, experiments in data.items():
        if chapter in SECTIONS:
            continue
        for exp, entries in experiments.items():
            for name, items in entries.items():
                for k, item in enumerate(items):
                    if item["source"] not in sources:
                        raise ReportError(f"{path}: entry {chapter}/{exp}/{name}/{k}: {item['source']!r} is "
                                          f"not in `sources` ({', '.join(sources) or 'none'})")
    return data


def chapters_of(data: dict) -> dict:
    """The chapter entries of references.yaml's data (without `sources`)."""
    return {chapter: experiments for chapter, experiments in data.items() if chapter not in SECTIONS}


def load_references(path: Path, schema_path: Path) -> dict[str, dict[str, dict[str, list[Reference]]]]:
    """references.yaml, checked against its schema: chapter -> experiment -> variant -> references."""
    return {chapter: {exp: {name: [Reference(**r) for r in refs] for name, refs in variants.items()
                            if name != FINDINGS}
                      for exp, variants in experiments.items()}
            for chapter, experiments in chapters_of(read_references(path, schema_path)).items()}


def load_findings(path: Path, schema_path: Path) -> dict[str, dict[str, list[Finding]]]:
    """The seeds' words of references.yaml, checked: chapter -> experiment -> findings."""
    return {chapter: {exp: [Finding(**{**f, "variants": tuple(f.get("variants", ()))})
                            for f in entries.get(FINDINGS, [])]
                      for exp, entries in experiments.items()}
            for chapter, experiments in chapters_of(read_references(path, schema_path)).items()}
