# Chapter `fusion`: the five networks use the generic training rule; the data figure is its own kind.


ruleorder: avmnist_samples > aggregate_seeds


def samples_variant(wildcards):
    return resolve(config, "fusion", "data", wildcards.variant)


rule avmnist_samples:
    input:
        train=lambda wc: prepared(samples_variant(wc).params["dataset"], "train"),
        test=lambda wc: prepared(samples_variant(wc).params["dataset"], "test"),
    output:
        metrics="results/fusion/data/{variant}/metrics.json",
        figure="results/fusion/data/{variant}/samples.png",
    params:
        variant=samples_variant,
    threads: 1
    resources:
        mem_mb=RESOURCES["cpu"]["mem_mb"],
        runtime=10,
    log:
        "logs/fusion/data/{variant}.log",
    benchmark:
        "benchmarks/fusion/data/{variant}.tsv"
    script:
        "../scripts/avmnist_samples.py"
