rule evaluate_retrain:
    input:
        **DATASET_FILES,
        split="results/{dataset}/seed{seed}/{condition}/split.json",
        model="results/{dataset}/seed{seed}/{condition}/retrain/model.pt",
        run="results/{dataset}/seed{seed}/{condition}/retrain/run.json",
    output:
        metrics="results/{dataset}/seed{seed}/{condition}/retrain/metrics.json",
        losses="results/{dataset}/seed{seed}/{condition}/retrain/losses.npz",
    log:
        "logs/evaluate/{dataset}/seed{seed}/{condition}/retrain.log",
    benchmark:
        "benchmarks/evaluate/{dataset}/seed{seed}/{condition}/retrain.tsv"
    conda:
        "../envs/unlearning.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        identity=retrain_identity,
        evaluation=config["evaluation"],
    script:
        "../workflow/scripts/evaluate.py"


rule evaluate_original:
    input:
        unpack(reference_files),
        **DATASET_FILES,
        split="results/{dataset}/seed{seed}/{condition}/split.json",
        model="results/{dataset}/seed{seed}/original/model.pt",
        run="results/{dataset}/seed{seed}/original/run.json",
    output:
        metrics="results/{dataset}/seed{seed}/{condition}/original/metrics.json",
        losses="results/{dataset}/seed{seed}/{condition}/original/losses.npz",
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
        evaluation=config["evaluation"],
    script:
        "../workflow/scripts/evaluate.py"
