# Helpers shared by every rule file: the registry lookups and path conventions.
import re

from reprolab import kinds, paths
from reprolab.registry import resolve, variants
from reprolab.report.origins import chapter_origins, setting_origins


DATA = config["data"]["root"]
RESOURCES = config["resources"]
ORIGINS = setting_origins(Path("config.yaml").read_text())  # whose each setting is, from its comment


wildcard_constraints:
    chapter="[a-z0-9_]+",
    seed=r"\d+",
    dataset="[a-z0-9_]+",


def variant_by_id(wildcards):
    """The registry entry named by a job's `id` wildcard (`chapter/experiment/variant`)."""
    return resolve(config, *wildcards.id.split("/"))


def ids_pattern(selected):
    """A regex matching exactly the ids of the `selected` variants."""
    return "|".join(re.escape(v.id) for v in selected) or "$^"


def variant_results(chapter=None):
    """The combined metrics.json of every variant (of one chapter)."""
    return [f"{paths.variant_dir(v.id)}/metrics.json" for v in variants(config, chapter)]


def seed_runs():
    """The per-seed metrics.json of every variant of a per-seed kind."""
    return [f"{paths.seed_dir(v.id, seed)}/metrics.json"
            for v in variants(config) if kinds.get(v.kind).per_seed for seed in v.seeds]


def datasets_used():
    return sorted({v.params["dataset"] for v in variants(config) if "dataset" in v.params})


def summary_settings(chapter):
    """What summarising a chapter reads of the config: its registry entry, the verdict rules and
    whose each of its settings is (the seed's or ours: config.yaml's comments)."""
    return {"scale": config["scale"], "seeds": config["seeds"], "device": config["device"],
            "max_epochs": config.get("max_epochs"), "report": {"tolerance": config["report"]["tolerance"]},
            "chapters": {chapter: config["chapters"][chapter]},
            "origins": chapter_origins(ORIGINS, chapter)}
