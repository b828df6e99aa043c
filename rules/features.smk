# Features of pretrained backbones, extracted once per (backbone, layer, dataset); every
# consumer reads the file. A variant says `features: {backbone: vgg16, layer: relu7}`; the
# dataset is the variant's own `dataset` unless `features:` names another.
from reprolab.features import features_path


wildcard_constraints:
    backbone="[a-z0-9_]+",
    layer="[a-z0-9_]+",


def variant_features(variant):
    """The features file a variant reads, or None when it has no `features:` settings."""
    wanted = variant.params.get("features")
    if wanted is None:
        return None
    dataset = wanted.get("dataset", variant.params.get("dataset"))
    return str(features_path(wanted["backbone"], wanted["layer"], dataset))


def features_input(wildcards):
    """Input function for a variant's job (chapter/experiment/variant wildcards): its features file."""
    path = variant_features(variant_of(wildcards))
    return [path] if path else []


def features_used():
    """Every features file the config's variants read, sorted."""
    return sorted({path for v in variants(config) if (path := variant_features(v))})


rule extract_features:
    input:
        train=prepared("{dataset}", "train"),
        test=prepared("{dataset}", "test"),
        weights=asset_manifest("{backbone}"),  # fixtures: no file, a seeded random network
    output:
        features=str(features_path("{backbone}", "{layer}", "{dataset}")),
    params:
        device=config["device"],
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
