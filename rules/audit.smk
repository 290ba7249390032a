# The per-example membership audit (U-LiRA, docs/audit.md): `snakemake --configfile
# config/audit.yaml --cores 2 audit`. Its own target, never part of `all`; it reads the audit block.


include: "audit_common.smk"


rule audit_split:
    input:
        **DATASET_FILES,
    output:
        split=AUDIT_SPLIT,
        original=AUDIT_ORIGINAL_SPLIT,
    log:
        "logs/audit/{dataset}/{audit_split}/split.log",
    benchmark:
        "benchmarks/audit/{dataset}/{audit_split}/split.tsv"
    wildcard_constraints:
        audit_split=SPLIT_PATTERN,
    conda:
        "../envs/unlearning.yaml"
    params:
        forget_size=audit_forget_size,
        seed=audit_draw_seed,
    script:
        "../workflow/scripts/audit_split.py"


rule audit_train:
    input:
        **DATASET_FILES,
        split=AUDIT_SPLIT,
        training=audit_training_split,
    output:
        model=f"{AUDIT_REFERENCE}/model.pt",
        description=f"{AUDIT_REFERENCE}/model.json",
        run=f"{AUDIT_REFERENCE}/run.json",
        confidence=f"{AUDIT_REFERENCE}/confidence.npz",
    log:
        "logs/audit/{dataset}/{audit_split}/{audit_model}.log",
    benchmark:
        "benchmarks/audit/{dataset}/{audit_split}/{audit_model}.tsv"
    wildcard_constraints:
        audit_split=SPLIT_PATTERN,
        audit_model="|".join(REFERENCES),
    conda:
        "../envs/unlearning.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        model=model_config,
        train=train_config,
        seed=audit_reference_seed,
        batch_size=config["evaluation"]["batch_size"],
    script:
        "../workflow/scripts/audit_train.py"


rule audit_unlearn:
    input:
        **DATASET_FILES,
        split=AUDIT_SPLIT,
        original=f"{audit_model_dir('{dataset}', '{audit_split}', 'original')}/model.pt",
    output:
        model=f"{AUDIT_RUN}/model.pt",
        description=f"{AUDIT_RUN}/model.json",
        run=f"{AUDIT_RUN}/run.json",
        confidence=f"{AUDIT_RUN}/confidence.npz",
    log:
        "logs/audit/{dataset}/{audit_split}/{method}/{setting}.log",
    benchmark:
        "benchmarks/audit/{dataset}/{audit_split}/{method}/{setting}.tsv"
    wildcard_constraints:
        audit_split=SPLIT_PATTERN,
    conda:
        "../envs/unlearning.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        hyperparameters=method_params,
        seed=audit_unlearn_seed,
        batch_size=config["evaluation"]["batch_size"],
    script:
        "../workflow/scripts/audit_unlearn.py"


rule audit_report:
    input:
        confidences=audit_confidences,
    output:
        csv=f"{TABLES}/audit.csv",
        md=f"{TABLES}/audit.md",
        png=f"{AUDIT_FIGURE}.png",
        pdf=f"{AUDIT_FIGURE}.pdf",
    log:
        "logs/audit/report.log",
    benchmark:
        "benchmarks/audit/report.tsv"
    conda:
        "../envs/unlearning.yaml"
    params:
        models=audit_models,
        splits=audit_split_names,
        audited=audit_audited,
        dataset=audit_dataset,
    script:
        "../workflow/scripts/audit_report.py"


# Seconds of reading and writing small files: beside Snakemake, not as cluster jobs.
localrules:
    audit_split,
    audit_report,


rule audit:
    input:
        rules.audit_report.output,
