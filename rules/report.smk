rule aggregate_metrics:
    input:
        all_metrics(),
    output:
        "results/tables/metrics.csv",
    log:
        "logs/report/aggregate_metrics.log",
    benchmark:
        "benchmarks/report/aggregate_metrics.tsv"
    conda:
        "../envs/unlearning.yaml"
    script:
        "../workflow/scripts/aggregate.py"


rule summary_tables:
    input:
        "results/tables/metrics.csv",
    output:
        summary_csv="results/tables/summary.csv",
        summary_md="results/tables/summary.md",
        summary_tex="results/tables/summary.tex",
        grid_csv="results/tables/psg_grid.csv",
        grid_md="results/tables/psg_grid.md",
        grid_tex="results/tables/psg_grid.tex",
        html=report(
            directory("results/tables/html"),
            patterns=["{dataset}/{condition}/{table}.html"],
            caption="../report/table.rst",
            category="{dataset}",
            subcategory="{condition}",
            labels={"kind": "table", "name": "{table}"},
        ),
    log:
        "logs/report/summary_tables.log",
    benchmark:
        "benchmarks/report/summary_tables.tsv"
    conda:
        "../envs/unlearning.yaml"
    script:
        "../workflow/scripts/summary_tables.py"


rule embed_models:
    input:
        unpack(embedded_models),
        **DATASET_FILES,
        split="results/{dataset}/seed{seed}/{condition}/split.json",
    output:
        "results/{dataset}/seed{seed}/{condition}/{method}/{setting}/tsne.npz",
    log:
        "logs/report/embed/{dataset}/seed{seed}/{condition}/{method}/{setting}.log",
    benchmark:
        "benchmarks/report/embed/{dataset}/seed{seed}/{condition}/{method}/{setting}.tsv"
    conda:
        "../envs/unlearning.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        max_points=config["report"]["tsne_points"],
        batch_size=config["evaluation"]["batch_size"],
    script:
        "../workflow/scripts/embed_models.py"


rule dataset_figures:
    input:
        unpack(figure_arrays),
        metrics="results/tables/metrics.csv",
        info="resources/data/{dataset}/info.json",
    output:
        report(
            directory("results/figures/{dataset}"),
            patterns=["{condition}/{figure}.png"],
            caption="../report/figure.rst",
            category="{dataset}",
            subcategory="{condition}",
            labels={"kind": "figure", "name": "{figure}"},
        ),
    log:
        "logs/report/figures_{dataset}.log",
    benchmark:
        "benchmarks/report/figures_{dataset}.tsv"
    conda:
        "../envs/unlearning.yaml"
    params:
        tsne=tsne_runs,
    script:
        "../workflow/scripts/dataset_figures.py"


rule tables:
    input:
        "results/tables/metrics.csv",
        rules.summary_tables.output,


rule figures:
    input:
        figure_folders(),
