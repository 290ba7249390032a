# One job unlearns and evaluates: data, model and interpreter are loaded once for both.
rule unlearn:
    input:
        unpack(unlearn_inputs),
        **DATASET_FILES,
        split=SPLIT,
        original=f"{ORIGINAL}/model.pt",
    output:
        model=f"{RUN}/model.pt",
        description=f"{RUN}/model.json",
        run=f"{RUN}/run.json",
        metrics=f"{RUN}/metrics.json",
        losses=f"{RUN}/losses.npz",
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
        evaluation=EVALUATION,
    script:
        "../workflow/scripts/unlearn.py"
