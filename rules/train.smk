rule train_original:
    input:
        unpack(original_checkpoint),
        **DATASET_FILES,
    output:
        model=f"{ORIGINAL}/model.pt",
        description=f"{ORIGINAL}/model.json",
        run=f"{ORIGINAL}/run.json",
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
        imported=imported_checkpoint,
    script:
        "../workflow/scripts/train.py"


# One job trains a retrain reference and evaluates it: data and interpreter are loaded once.
rule train_retrain:
    input:
        **DATASET_FILES,
        split=SPLIT,
    output:
        model=f"{RETRAIN}/model.pt",
        description=f"{RETRAIN}/model.json",
        run=f"{RETRAIN}/run.json",
        metrics=f"{RETRAIN}/metrics.json",
        losses=f"{RETRAIN}/losses.npz",
    log:
        "logs/train_retrain/{dataset}/seed{seed}/{condition}/{retrain}.log",
    benchmark:
        "benchmarks/train_retrain/{dataset}/seed{seed}/{condition}/{retrain}.tsv"
    conda:
        "../envs/unlearning.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        model=model_config,
        train=train_config,
        seed=retrain_seed,
        identity=retrain_identity,
        evaluation=EVALUATION,
    script:
        "../workflow/scripts/train.py"
