# Raw datasets (downloaded and verified, or written as fixtures by the smoke preset),
# then prepared once into tensors.

# On a cluster, downloads run beside Snakemake: compute nodes often have no internet access.
localrules:
    fixture_dataset,
    download_dataset,


if config["data"]["fixtures"]:

    rule fixture_dataset:
        output:
            manifest=paths.raw_manifest(DATA, "{dataset}"),
        params:
            size=config["data"]["fixture_size"],
        threads: 1
        resources:
            mem_mb=2000,
            runtime=10,
        log:
            "logs/data/fixture_{dataset}.log",
        benchmark:
            "benchmarks/data/fixture_{dataset}.tsv"
        script:
            "../scripts/make_fixture.py"

else:

    rule download_dataset:
        output:
            manifest=paths.raw_manifest(DATA, "{dataset}"),
        params:
            data=config["data"],
        threads: 1
        resources:
            mem_mb=2000,
            runtime=120,
        retries: 1
        log:
            "logs/data/download_{dataset}.log",
        benchmark:
            "benchmarks/data/download_{dataset}.tsv"
        script:
            "../scripts/download.py"


rule prepare_dataset:
    input:
        manifest=paths.raw_manifest(DATA, "{dataset}"),
    output:
        prepared=directory(paths.prepared_dir(DATA, "{dataset}")),
    params:
        options=lambda wc: config["data"].get("prepare", {}).get(wc.dataset, {}),
    threads: RESOURCES["cpu"]["threads"]
    resources:
        mem_mb=RESOURCES["cpu"]["mem_mb"],
        runtime=RESOURCES["cpu"]["runtime"],
    log:
        "logs/data/prepare_{dataset}.log",
    benchmark:
        "benchmarks/data/prepare_{dataset}.tsv"
    script:
        "../scripts/prepare.py"


rule datasets:
    """Target: every dataset the config uses, downloaded (or fixtures) and prepared (DVC's `data` stage)."""
    input:
        expand(paths.prepared_dir(DATA, "{dataset}"), dataset=datasets_used()),
