# One rule per kind of job (reprolab.kinds), selected by the ids of the variants of that kind;
# then `aggregate_seeds`, which combines the seeds of every per-seed kind. A kind whose variants
# declare different files (say, a boundary figure for 2-D data only) gets one rule per set of
# files: `<kind>`, `<kind>_2`, ...


def job_groups():
    """{(kind, its output files): [variants]}, in config order."""
    groups = {}
    for v in variants(config):
        kind = kinds.get(v.kind)
        groups.setdefault((kind.name, kind.output_files(v)), []).append(v)
    return groups


def rule_name(kind_name, seen):
    seen[kind_name] = seen.get(kind_name, 0) + 1
    return kind_name if seen[kind_name] == 1 else f"{kind_name}_{seen[kind_name]}"


_seen = {}
for (_kind_name, _files), _members in job_groups().items():
    _kind = kinds.get(_kind_name)
    _job = "{id}/seed{seed}" if _kind.per_seed else "{id}"

    rule:
        name:
            rule_name(_kind_name, _seen)
        input:
            unpack(lambda wc, kind=_kind: kind.inputs(variant_by_id(wc), config)),
        output:
            **kinds.output_patterns(_kind, _files),
        wildcard_constraints:
            id=ids_pattern(_members),
        params:
            kind=_kind.name,
            variant=variant_by_id,
            options=lambda wc, kind=_kind: kind.options(variant_by_id(wc), config),
            threads=RESOURCES[_kind.resources]["threads"],  # fixed, whatever --cores: see reprolab.job
        threads: RESOURCES[_kind.resources]["threads"]
        resources:
            gpu=lambda wc, kind=_kind: int(kind.uses_gpu(variant_by_id(wc))),
            mem_mb=RESOURCES[_kind.resources]["mem_mb"],
            runtime=RESOURCES[_kind.resources]["runtime"],
        log:
            f"logs/{_kind.name}/{_job}.log",
        benchmark:
            f"benchmarks/{_kind.name}/{_job}.tsv"
        script:
            "../scripts/run_kind.py"


# Seconds of work on small files: on a cluster they run beside Snakemake, not through the queue.
localrules:
    aggregate_seeds,


rule aggregate_seeds:
    input:
        lambda wc: [f"{paths.seed_dir(wc.id, seed)}/{name}" for seed in variant_by_id(wc).seeds
                    for name in ("metrics.json", "history.csv")],
    output:
        **{kinds.output_name(f): f"results/{{id}}/{f}" for f in kinds.AGGREGATE_OUTPUTS},
    wildcard_constraints:
        id=ids_pattern([v for v in variants(config) if kinds.get(v.kind).per_seed]),
    params:
        variant=variant_by_id,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/aggregate/{id}.log",
    benchmark:
        "benchmarks/aggregate/{id}.tsv"
    script:
        "../scripts/aggregate.py"
