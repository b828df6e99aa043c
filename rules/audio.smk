# Chapter `audio`: the CNN uses the generic training rule; the recording figures are their own kind.


ruleorder: recording_figures > aggregate_seeds


def recording_variant(wildcards):
    return resolve(config, "audio", "recordings", wildcards.variant)


rule recording_figures:
    input:
        manifest=lambda wc: f"{DATA}/raw/{recording_variant(wc).params['dataset']}/manifest.json",
    output:
        metrics="results/audio/recordings/{variant}/metrics.json",
        figure="results/audio/recordings/{variant}/recording.png",
    params:
        variant=recording_variant,
        mel=config["data"].get("prepare", {}).get("fsdd", {}),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/audio/recordings/{variant}.log",
    benchmark:
        "benchmarks/audio/recordings/{variant}.tsv"
    script:
        "../scripts/recording_figures.py"
