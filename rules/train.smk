# The one generic training rule: any `train` variant of the registry, one job per seed.


rule train:
    input:
        train=lambda wc: prepared(variant_of(wc).params["dataset"], "train"),
        test=lambda wc: prepared(variant_of(wc).params["dataset"], "test"),
    output:
        metrics="results/{chapter}/{experiment}/{variant}/seed{seed}/metrics.json",
        history="results/{chapter}/{experiment}/{variant}/seed{seed}/history.csv",
        model="results/{chapter}/{experiment}/{variant}/seed{seed}/model.pt",
    params:
        variant=variant_of,
    threads: RESOURCES["train"]["threads"]
    resources:
        gpu=lambda wc: uses_gpu(variant_of(wc)),
        mem_mb=RESOURCES["train"]["mem_mb"],
        runtime=RESOURCES["train"]["runtime"],
    log:
        "logs/train/{chapter}/{experiment}/{variant}/seed{seed}.log",
    benchmark:
        "benchmarks/train/{chapter}/{experiment}/{variant}/seed{seed}.tsv"
    script:
        "../scripts/train.py"


# Seconds of work on small files: on a cluster they run beside Snakemake, not through the queue.
localrules:
    aggregate_seeds,


rule aggregate_seeds:
    input:
        lambda wc: expand(
            "results/{id}/seed{seed}/metrics.json",
            id=variant_of(wc).id,
            seed=variant_of(wc).seeds,
        ),
    output:
        metrics="results/{chapter}/{experiment}/{variant}/metrics.json",
        history="results/{chapter}/{experiment}/{variant}/history.csv",
        curves="results/{chapter}/{experiment}/{variant}/curves.png",
    params:
        variant=variant_of,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/aggregate/{chapter}/{experiment}/{variant}.log",
    benchmark:
        "benchmarks/aggregate/{chapter}/{experiment}/{variant}.tsv"
    script:
        "../scripts/aggregate.py"
