"""Targeted unlearning: prepare data, train, unlearn, evaluate, aggregate (see README)."""

import os
import sys

# The embedded default, unless a config is given with --configfile (which then replaces it
# instead of being merged into it, so paper.yaml and user configs list only their own datasets).
if not workflow.overwrite_configfiles:
    # Snakemake's own loader names neither the file nor the line of a YAML error.
    sys.path.insert(0, os.path.join(workflow.basedir, "src"))
    from unlearning.config_load import check_config_file

    check_config_file(os.path.join(workflow.basedir, "config/config.yaml"))

    configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/unlearn.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"
include: "rules/audit.smk"
include: "rules/reproduction.smk"
include: "rules/verify.smk"
include: "rules/warnings.smk"


# The report opens on the warnings and summary tables once a run has written them.
report: os.path.abspath(REPORT_FRONT) if os.path.exists(REPORT_FRONT) else REPORT_DESCRIPTION


# A run ends by stopping the warm worker (adding its share into the benchmark files); a successful
# run then prints the metrics' warnings after whatever the included files print (Snakemake keeps
# one onsuccess and one onerror handler: the last ones defined).
_INCLUDED_ONSUCCESS = workflow._onsuccess
_INCLUDED_ONERROR = workflow._onerror


onsuccess:
    finish_worker()
    _INCLUDED_ONSUCCESS(log)
    print_metric_warnings()


onerror:
    finish_worker()
    _INCLUDED_ONERROR(log)


# Seconds of reading JSON and CSV: on a cluster they run beside Snakemake, not as Slurm jobs.
localrules:
    make_split,
    aggregate_metrics,
    summary_tables,
    dataset_figures,


# Every result file, not only the tables: a plain run then rebuilds whatever is missing.
rule all:
    default_target: True
    input:
        METRICS_CSV,
        rules.summary_tables.output,
        figure_folders(),
        result_files(),
        reproduction_targets(),
