# Features of pretrained backbones, extracted once per (backbone, layer, dataset) into
# features/<backbone>/<layer>/<dataset>.pt; every consumer reads that file (a variant says
# `features: {backbone: vgg16, layer: relu7}`, and `reprolab.kinds.prepared_data` makes it an input).


wildcard_constraints:
    backbone="[a-z0-9_]+",
    layer="[a-z0-9_]+",


def features_used():
    """Every features file the config's variants read, sorted."""
    return sorted({path for v in variants(config)
                   if (path := kinds.prepared_data(v, config).get("features"))})


rule extract_features:
    input:
        prepared=paths.prepared_dir(DATA, "{dataset}"),
        weights=paths.asset_manifest(DATA, "{backbone}"),  # fixtures: no file, a seeded random network
    output:
        features=paths.features("{backbone}", "{layer}", "{dataset}"),
    params:
        device=config["device"],
        size=config.get("features", {}).get("size", 224),  # the backbones' input size (smoke: smaller)
    threads: RESOURCES["train"]["threads"]
    resources:
        gpu=0 if config["device"] == "cpu" else 1,
        mem_mb=RESOURCES["train"]["mem_mb"],
        runtime=RESOURCES["train"]["runtime"],
    log:
        "logs/features/{backbone}/{layer}/{dataset}.log",
    benchmark:
        "benchmarks/features/{backbone}/{layer}/{dataset}.tsv"
    script:
        "../scripts/extract_features.py"


rule features:
    """Target: every features file the config's variants read."""
    input:
        features_used(),
