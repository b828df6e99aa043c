# Chapter `mnist`: the trained variants use the generic rule; untangling is its own kind.


ruleorder: untangle > aggregate_seeds


def untangling_variant(wildcards):
    return resolve(config, wildcards.chapter, "untangling", wildcards.variant)


def untangling_model(wildcards):
    """`keras_style/mlp` -> that variant's first-seed model; `pixels` -> no model."""
    source = untangling_variant(wildcards).params["representation"]
    if source == "pixels":
        return {}
    trained = resolve(config, wildcards.chapter, *source.split("/"))
    return {"model": f"results/{trained.id}/seed{trained.seeds[0]}/model.pt"}


rule untangle:
    input:
        unpack(untangling_model),
        test=lambda wc: prepared(untangling_variant(wc).params["dataset"], "test"),
    output:
        metrics="results/{chapter}/untangling/{variant}/metrics.json",
        tsne="results/{chapter}/untangling/{variant}/tsne.png",
        pca="results/{chapter}/untangling/{variant}/pca.png",
    params:
        variant=untangling_variant,
        settings=lambda wc: untangling_variant(wc).params,
    threads: RESOURCES["cpu"]["threads"]
    resources:
        mem_mb=RESOURCES["cpu"]["mem_mb"],
        runtime=RESOURCES["cpu"]["runtime"],
    log:
        "logs/untangle/{chapter}/{variant}.log",
    benchmark:
        "benchmarks/untangle/{chapter}/{variant}.tsv"
    script:
        "../scripts/untangle.py"
