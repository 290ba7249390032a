rule train_original:
    input:
        unpack(original_checkpoint),
        **DATASET_FILES,
    output:
        model="results/{dataset}/seed{seed}/original/model.pt",
        description="results/{dataset}/seed{seed}/original/model.json",
        run="results/{dataset}/seed{seed}/original/run.json",
    log:
        "logs/train_original/{dataset}/seed{seed}.log",
    benchmark:
        "benchmarks/train_original/{dataset}/seed{seed}.tsv"
    conda:
        "../envs/unlearning.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        model=model_config,
        train=train_config,
        normalization=normalization,
    script:
        "../workflow/scripts/train.py"


rule train_retrain:
    input:
        **DATASET_FILES,
        split="results/{dataset}/seed{seed}/{condition}/split.json",
    output:
        model="results/{dataset}/seed{seed}/{condition}/retrain/model.pt",
        description="results/{dataset}/seed{seed}/{condition}/retrain/model.json",
        run="results/{dataset}/seed{seed}/{condition}/retrain/run.json",
    log:
        "logs/train_retrain/{dataset}/seed{seed}/{condition}.log",
    benchmark:
        "benchmarks/train_retrain/{dataset}/seed{seed}/{condition}.tsv"
    conda:
        "../envs/unlearning.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        model=model_config,
        train=train_config,
    script:
        "../workflow/scripts/train.py"
