# Chapter summaries (tables, synthesis figures, observations), then the HTML and PDF report.
# Each takes the slice of the config it reads through `params:`, so that an edit re-runs exactly
# the jobs it concerns: `report.title` the report, a chapter's settings that chapter's summary.


# Light jobs on small files: on a cluster they run beside Snakemake, not through the queue.
localrules:
    report,
    chapter_summary,


rule report:
    input:
        summaries=expand(paths.chapter_summary("{chapter}"), chapter=config["chapters"]),
        manifests=expand(paths.raw_manifest(DATA, "{dataset}"), dataset=datasets_used()) + asset_manifests(),
        runs=seed_runs(),
        templates=[str(p) for p in Path("report_templates").rglob("*") if p.is_file()],
        references="references.yaml",
        references_schema="references.schema.yaml",
    output:
        html="report/report.html",
        pdf="report/report.pdf",
        scorecard="report/scorecard.csv",
    params:
        report=config["report"],
        variants=[v.id for v in variants(config)],
        scale=config["scale"],
        config_hash=config_hash(config),
        benchmarks="benchmarks",
        templates="report_templates",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    log:
        "logs/report.log",
    benchmark:
        "benchmarks/report.tsv"
    script:
        "../scripts/report.py"


rule chapter_summary:
    input:
        variant_results=lambda wc: variant_results(wc.chapter),
        references="references.yaml",
        references_schema="references.schema.yaml",
    output:
        summary=paths.chapter_summary("{chapter}"),
        figures=directory(paths.chapter_figures("{chapter}")),
    params:
        settings=lambda wc: summary_settings(wc.chapter),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/summary/{chapter}.log",
    benchmark:
        "benchmarks/summary/{chapter}.tsv"
    script:
        "../scripts/summarize.py"
