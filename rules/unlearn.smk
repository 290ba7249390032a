# One job unlearns and evaluates: data, model and interpreter are loaded once for both.
rule unlearn:
    input:
        unpack(unlearn_inputs),
        **DATASET_FILES,
        split="results/{dataset}/seed{seed}/{condition}/split.json",
        original="results/{dataset}/seed{seed}/original/model.pt",
    output:
        model="results/{dataset}/seed{seed}/{condition}/{method}/{setting}/model.pt",
        description="results/{dataset}/seed{seed}/{condition}/{method}/{setting}/model.json",
        run="results/{dataset}/seed{seed}/{condition}/{method}/{setting}/run.json",
        metrics="results/{dataset}/seed{seed}/{condition}/{method}/{setting}/metrics.json",
        losses="results/{dataset}/seed{seed}/{condition}/{method}/{setting}/losses.npz",
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
        identity=unlearned_identity,
        evaluation=config["evaluation"],
    script:
        "../workflow/scripts/unlearn.py"
