# Assets: pretrained weights, word vectors and text corpora, fetched like datasets into
# {DATA}/assets/<asset>/ (or written as fixtures by the smoke preset). A variant lists the
# ones it uses in `assets: [vgg16, glove6b]`; a variant reading `features:` needs its backbone.

# On a cluster, downloads run beside Snakemake: compute nodes often have no internet access.
localrules:
    fixture_asset,
    download_asset,


wildcard_constraints:
    asset="[a-z0-9_]+",


def assets_used():
    """Every asset the config's variants use (their `assets:` and their features' backbones), sorted."""
    names = set()
    for v in variants(config):
        names.update(v.params.get("assets", []))
        if "features" in v.params:
            names.add(v.params["features"]["backbone"])
    return sorted(names)


def asset_manifests():
    """The manifest.json of every asset the config uses: the report's provenance lists them."""
    return [paths.asset_manifest(DATA, a) for a in assets_used()]


if config["data"]["fixtures"]:

    rule fixture_asset:
        output:
            manifest=paths.asset_manifest(DATA, "{asset}"),
        threads: 1
        resources:
            mem_mb=2000,
            runtime=10,
        log:
            "logs/assets/fixture_{asset}.log",
        benchmark:
            "benchmarks/assets/fixture_{asset}.tsv"
        script:
            "../scripts/make_asset_fixture.py"

else:

    rule download_asset:
        output:
            manifest=paths.asset_manifest(DATA, "{asset}"),
        params:
            data=config["data"],
        threads: 1
        resources:
            mem_mb=2000,
            runtime=120,
        retries: 1
        log:
            "logs/assets/download_{asset}.log",
        benchmark:
            "benchmarks/assets/download_{asset}.tsv"
        script:
            "../scripts/download_asset.py"


rule assets:
    """Target: every asset the config uses, downloaded (or fixtures)."""
    input:
        asset_manifests(),
