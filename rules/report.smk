# Chapter summaries (tables, synthesis figures, observations), then the HTML and PDF report.


# Light jobs on small files: on a cluster they run beside Snakemake, not through the queue.
localrules:
    report,
    chapter_summary,


rule report:
    input:
        summaries=expand("results/{chapter}/summary.json", chapter=config["chapters"]),
        manifests=expand(f"{DATA}/raw/{{dataset}}/manifest.json", dataset=datasets_used()),
        runs=seed_runs(),
        templates=[str(p) for p in Path("report_templates").rglob("*") if p.is_file()],
    output:
        html="report/report.html",
        pdf="report/report.pdf",
    params:
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
    output:
        summary="results/{chapter}/summary.json",
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
