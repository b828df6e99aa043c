# Helpers shared by every rule file: the registry lookups and path conventions.
from reprolab.registry import resolve, variants


DATA = config["data"]["root"]
RESOURCES = config["resources"]


wildcard_constraints:
    chapter="[a-z0-9_]+",
    experiment="[A-Za-z0-9_.-]+",
    variant="[A-Za-z0-9_.-]+",
    seed=r"\d+",
    dataset="[a-z0-9_]+",


def variant_of(wildcards):
    """The registry entry named by a job's chapter/experiment/variant wildcards."""
    return resolve(config, wildcards.chapter, wildcards.experiment, wildcards.variant)


def settings_of(wildcards):
    """A variant's resolved settings as a plain dict: Snakemake records builtin params (not a
    `Variant`), so a changed hyper-parameter re-runs that variant's jobs and only those."""
    return variant_of(wildcards).params


def prepared(dataset, split):
    return f"{DATA}/prepared/{dataset}/{split}.pt"


def uses_gpu(variant):
    """Jobs on device auto/cuda take the one `gpu` resource; CPU-pinned jobs never wait for it."""
    return 0 if variant.device == "cpu" else 1


def variant_results(chapter=None):
    """The combined metrics.json of every variant (of one chapter)."""
    return [f"results/{v.id}/metrics.json" for v in variants(config, chapter)]


def seed_runs():
    """The per-seed metrics.json of every trained variant."""
    return [
        f"results/{v.id}/seed{seed}/metrics.json"
        for v in variants(config, kind="train")
        for seed in v.seeds
    ]


def datasets_used():
    return sorted({v.params["dataset"] for v in variants(config) if "dataset" in v.params})
