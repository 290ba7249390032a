rule aggregate_metrics:
    input:
        all_metrics(),
    output:
        metrics="results/tables/metrics.csv",
        summary="results/tables/summary.md",
    log:
        "logs/report/aggregate_metrics.log",
    benchmark:
        "benchmarks/report/aggregate_metrics.tsv"
    conda:
        "../envs/unlearning.yaml"
    script:
        "../workflow/scripts/aggregate.py"


rule tradeoff_figure:
    input:
        "results/tables/metrics.csv",
    output:
        "results/figures/tradeoff_{dataset}.png",
    log:
        "logs/report/tradeoff_{dataset}.log",
    benchmark:
        "benchmarks/report/tradeoff_{dataset}.tsv"
    conda:
        "../envs/unlearning.yaml"
    script:
        "../workflow/scripts/tradeoff_figure.py"


rule tables:
    input:
        "results/tables/metrics.csv",
        "results/tables/summary.md",


rule figures:
    input:
        tradeoff_figures(),
