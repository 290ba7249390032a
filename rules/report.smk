rule aggregate_metrics:
    input:
        all_metrics(),
    output:
        METRICS_CSV,
    log:
        "logs/report/aggregate_metrics.log",
    benchmark:
        "benchmarks/report/aggregate_metrics.tsv"
    conda:
        "../envs/unlearning.yaml"
    script:
        "../workflow/scripts/aggregate_metrics.py"


rule summary_tables:
    input:
        metrics=METRICS_CSV,
    output:
        summary_csv=f"{TABLES}/summary.csv",
        summary_md=f"{TABLES}/summary.md",
        summary_tex=f"{TABLES}/summary.tex",
        grid_csv=f"{TABLES}/{GRID_TABLE}.csv",
        grid_md=f"{TABLES}/{GRID_TABLE}.md",
        grid_tex=f"{TABLES}/{GRID_TABLE}.tex",
        html=report(
            directory(f"{TABLES}/html"),
            patterns=["{dataset}/{condition}/{table}.html"],
            caption="../report/table.rst",
            category="{dataset}",
            subcategory="{condition}",
            labels={"kind": "table", "name": "{table}"},
        ),
        front=REPORT_FRONT,
    log:
        "logs/report/summary_tables.log",
    benchmark:
        "benchmarks/report/summary_tables.tsv"
    conda:
        "../envs/unlearning.yaml"
    params:
        # relative to the workflow's folder: an absolute path would rerun the tables whenever
        # the folder moves (a copied results tree, another clone)
        description=REPORT_DESCRIPTION,
    script:
        "../workflow/scripts/summary_tables.py"


rule embed_models:
    input:
        unpack(embedded_models),
        **DATASET_FILES,
        split=SPLIT,
    output:
        f"{RUN}/tsne.npz",
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
        metrics=METRICS_CSV,
        info=DATASET_FILES["info"],
    output:
        report(
            directory(figure_dir("{dataset}")),
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
        loss_runs=loss_runs,
        tsne_runs=tsne_runs,
    script:
        "../workflow/scripts/dataset_figures.py"


rule tables:
    input:
        METRICS_CSV,
        rules.summary_tables.output,


rule figures:
    input:
        figure_folders(),
