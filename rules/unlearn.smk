rule unlearn:
    input:
        unpack(dataset_files),
        unpack(earlier_run_files),
        split="results/{dataset}/seed{seed}/{condition}/split.json",
        original="results/{dataset}/seed{seed}/original/model.pt",
    output:
        model="results/{dataset}/seed{seed}/{condition}/{method}/{setting}/model.pt",
        description="results/{dataset}/seed{seed}/{condition}/{method}/{setting}/model.json",
        run="results/{dataset}/seed{seed}/{condition}/{method}/{setting}/run.json",
    log:
        "logs/unlearn/{dataset}/seed{seed}/{condition}/{method}/{setting}.log",
    benchmark:
        "benchmarks/unlearn/{dataset}/seed{seed}/{condition}/{method}/{setting}.tsv"
    conda:
        "../envs/unlearning.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        hyperparameters=method_params,
        sources=method_sources,
        device=config["device"],
    script:
        "../workflow/scripts/unlearn.py"
