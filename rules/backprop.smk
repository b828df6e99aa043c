# Chapter `backprop`: networks written by hand (kind `scratch`) and SVMs (kind `svm`).
# Tiny CPU jobs: no `gpu` resource, so they never wait for the GPU.
import re


ruleorder: scratch > aggregate_seeds
ruleorder: svm > aggregate_seeds


def ids_of(kind):
    """A regex matching exactly the ids of the variants of `kind`."""
    return "|".join(re.escape(v.id) for v in variants(config, kind=kind)) or "$^"


def variant_by_id(wildcards):
    return resolve(config, *wildcards.id.split("/"))


def prepared_splits(wildcards):
    dataset = variant_by_id(wildcards).params["dataset"]
    return {"train": prepared(dataset, "train"), "test": prepared(dataset, "test")}


rule scratch:
    input:
        unpack(prepared_splits),
    output:
        metrics="results/{id}/metrics.json",
        history="results/{id}/history.csv",
        curves="results/{id}/curves.png",
    wildcard_constraints:
        id=ids_of("scratch"),
    params:
        variant=variant_by_id,
    threads: 1
    resources:
        mem_mb=RESOURCES["cpu"]["mem_mb"],
        runtime=RESOURCES["cpu"]["runtime"],
    log:
        "logs/scratch/{id}.log",
    benchmark:
        "benchmarks/scratch/{id}.tsv"
    script:
        "../scripts/scratch.py"


rule svm:
    input:
        unpack(prepared_splits),
    output:
        metrics="results/{id}/metrics.json",
        boundary="results/{id}/boundary.png",
    wildcard_constraints:
        id=ids_of("svm"),
    params:
        variant=variant_by_id,
    threads: 1
    resources:
        mem_mb=RESOURCES["cpu"]["mem_mb"],
        runtime=RESOURCES["cpu"]["runtime"],
    log:
        "logs/svm/{id}.log",
    benchmark:
        "benchmarks/svm/{id}.tsv"
    script:
        "../scripts/svm.py"
