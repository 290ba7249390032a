rule evaluate_original:
    input:
        unpack(reference_files),
        **DATASET_FILES,
        split=SPLIT,
        model=f"{ORIGINAL}/model.pt",
        run=f"{ORIGINAL}/run.json",
    output:
        metrics=f"{ORIGINAL_EVALUATION}/metrics.json",
        losses=f"{ORIGINAL_EVALUATION}/losses.npz",
    log:
        "logs/evaluate/{dataset}/seed{seed}/{condition}/original.log",
    benchmark:
        "benchmarks/evaluate/{dataset}/seed{seed}/{condition}/original.tsv"
    conda:
        "../envs/unlearning.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        identity=original_identity,
        evaluation=EVALUATION,
    script:
        "../workflow/scripts/evaluate.py"
