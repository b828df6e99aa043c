"""Chapter summaries: setup and results tables, figures and observations, from the result files.

`summarize_chapter` builds what every chapter has (one setup row and one results row per
variant, with the seed's reference, the difference and a verdict); a chapter module in
`reprolab.chapters` may then add its own figures, tables and observations.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from reprolab.errors import ReportError
from reprolab.registry import Variant, variants
from reprolab.results import load_variant


def verdict(ours: float | None, reference, tolerance: float, smoke: bool) -> tuple[str, float | None]:
    """Compare our number with the seed's: a number, or `{max: x}` / `{min: x}` for bounds."""
    if ours is None:
        return "missing", None
    if reference is None:
        return "no reference", None
    if smoke:
        return "n/a (smoke scale)", ours - reference if isinstance(reference, int | float) else None
    if isinstance(reference, dict):
        if "max" in reference:
            return ("matches" if ours <= reference["max"] else "above"), None
        return ("matches" if ours >= reference["min"] else "below"), None
    diff = ours - reference
    if abs(diff) <= tolerance:
        return "matches", diff
    return ("above" if diff > 0 else "below"), diff


def format_reference(reference) -> str:
    if reference is None:
        return "—"
    if isinstance(reference, dict):
        return f"≤ {reference['max']}" if "max" in reference else f"≥ {reference['min']}"
    return f"{reference:g}"


def fmt(value, std=None, digits: int = 2) -> str:
    """A number with its std across seeds when there is one."""
    if value is None:
        return "—"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    text = f"{value:.{digits}f}"
    return f"{text} ± {std:.{digits}f}" if std is not None else text


def _optimizer_text(params: dict) -> str:
    opt = params.get("optimizer", {})
    extras = ", ".join(f"{k} {v}" for k, v in opt.items() if k not in ("name", "lr"))
    text = f"{opt.get('name', '?')} lr {opt.get('lr', '?')}" + (f" ({extras})" if extras else "")
    if sched := params.get("scheduler"):
        text += f"; {sched['name']} schedule " + ", ".join(
            f"{k} {v}" for k, v in sched.items() if k != "name")
    return text


def train_setup_row(variant: Variant, metrics: dict) -> list[str]:
    p = variant.params
    options = ", ".join(f"{k}={v}" for k, v in p.get("model_options", {}).items())
    data = p["dataset"] + (" (train/test swapped)" if p.get("swap_splits") else "")
    data += "; standardised" if p.get("standardize") else ""
    if augment := p.get("augment"):
        data += "; augment " + ", ".join(f"{k} {v}" for k, v in augment.items())
    return [variant.name, p["model"] + (f" ({options})" if options else ""), fmt(metrics.get("params")),
            data, f"{metrics.get('n_train', 0):,} / {metrics.get('n_test', 0):,}",
            _optimizer_text(p), str(p["batch_size"]), str(p["epochs"]),
            ", ".join(map(str, variant.seeds))]


SETUP_COLUMNS = ["variant", "model", "parameters", "data", "train / test", "optimiser",
                 "batch", "epochs", "seeds"]
RESULT_COLUMNS = ["variant", "test acc. (%)", "train acc. (%)", "seed's reference", "difference",
                  "verdict"]


def results_row(name: str, ours: float | None, std: float | None, train: float | None,
                reference, tolerance: float, smoke: bool) -> dict:
    status, diff = verdict(ours, reference, tolerance, smoke)
    return {"cells": [name, fmt(ours, std), fmt(train), format_reference(reference),
                      "—" if diff is None else f"{diff:+.2f}", status],
            "verdict": status}


def summarize_chapter(config: dict, chapter: str, results_root: Path, references: dict,
                      figures_dir: Path) -> dict:
    """Everything the report shows of `chapter`, as a JSON-serialisable dict."""
    results_root, figures_dir = Path(results_root), Path(figures_dir)
    smoke = config["scale"] == "smoke"
    tolerance = config["report"]["tolerance"]
    ch_config = config["chapters"][chapter]
    ch_refs = references.get(chapter, {})
    loaded: dict[str, dict[str, tuple[Variant, dict, object]]] = {}
    experiments = []
    for exp_name, exp_config in ch_config["experiments"].items():
        exp_variants = [v for v in variants(config, chapter) if v.experiment == exp_name]
        loaded[exp_name] = {}
        for v in exp_variants:
            try:
                metrics, history = load_variant(results_root, v)
            except FileNotFoundError as e:
                raise ReportError(f"result of {v.id} is missing ({e.filename}); "
                                  f"run `snakemake {results_root / v.id / 'metrics.json'}`") from e
            loaded[exp_name][v.name] = (v, metrics, history)
        summary = {"name": exp_name, "title": exp_config.get("title", exp_name),
                   "setup": None, "results": None, "figures": [], "tables": [], "observations": []}
        trained = [(v, m) for v, m, _ in loaded[exp_name].values() if v.kind == "train"]
        if trained:
            summary["setup"] = {"columns": SETUP_COLUMNS,
                                "rows": [train_setup_row(v, m) for v, m in trained]}
        # Any kind with a test accuracy gets a results row; any kind with a history, its curves.
        scored = [(v, m) for v, m, _ in loaded[exp_name].values() if m.get("test_acc") is not None]
        if scored:
            summary["results"] = {"columns": RESULT_COLUMNS, "rows": [
                results_row(v.name, m.get("test_acc"), m.get("test_acc_std"), m.get("train_acc"),
                            ch_refs.get(exp_name, {}).get(v.name, {}).get("test_acc"),
                            tolerance, smoke)
                for v, m in scored]}
        summary["figures"] = [{"path": str(results_root / v.id / "curves.png"),
                               "caption": f"{v.id}: loss and accuracy per epoch"}
                              for v, _, h in loaded[exp_name].values() if h is not None]
        experiments.append(summary)

    chapter_summary = {"chapter": chapter, "title": ch_config.get("title", chapter),
                       "sources": ch_config.get("sources", []), "scale": config["scale"],
                       "experiments": experiments, "observations": [], "references": ch_refs}
    try:
        module = importlib.import_module(f"reprolab.chapters.{chapter}")
    except ModuleNotFoundError:
        module = None
    if module is not None and hasattr(module, "summarize"):
        module.summarize(chapter_summary, loaded, results_root, figures_dir)
    rows = [r for e in experiments if e["results"] for r in e["results"]["rows"]]
    judged = [r for r in rows if r["verdict"] in ("matches", "above", "below")]
    if judged:
        matches = sum(r["verdict"] == "matches" for r in judged)
        chapter_summary["observations"].append(
            f"{matches} of {len(judged)} variants with a reference match it within "
            f"{tolerance:g} point(s); {sum(r['verdict'] == 'below' for r in judged)} fall below.")
    return chapter_summary


def write_summary(summary: dict, path: Path) -> None:
    Path(path).write_text(json.dumps(summary, indent=2))
