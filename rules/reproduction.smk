# `snakemake reproduction`: every published cell of the paper (reproduction.published) beside
# this run's mean over seeds, with a verdict per cell, and each published figure redrawn as
# published | this run | difference. It needs metrics.csv, so it plans every run of the config.
REPRODUCTION_FIGURES = f"{TABLES}/reproduction_figures"


rule reproduction_table:
    input:
        metrics=METRICS_CSV,
        published=config["reproduction"]["published"],
    output:
        csv=report(
            f"{TABLES}/reproduction.csv",
            caption="../report/reproduction_table.rst",
            category="Reproduction",
            labels={"kind": "table", "name": "reproduction"},
        ),
        md=f"{TABLES}/reproduction.md",
        figures=report(
            directory(REPRODUCTION_FIGURES),
            patterns=["{figure}.png"],
            caption="../report/reproduction.rst",
            category="Reproduction",
            labels={"kind": "figure", "name": "{figure}"},
        ),
    log:
        "logs/report/reproduction.log",
    benchmark:
        "benchmarks/report/reproduction.tsv"
    localrule: True
    conda:
        "../envs/unlearning.yaml"
    params:
        tolerance=config["reproduction"]["tolerance"],
    script:
        "../workflow/scripts/reproduction.py"


rule reproduction:
    input:
        rules.reproduction_table.output,
