rule prepare_data:
    input:
        unpack(user_files),
    output:
        **DATASET_FILES,
    log:
        "logs/prepare_data/{dataset}.log",
    benchmark:
        "benchmarks/prepare_data/{dataset}.tsv"
    conda:
        "../envs/unlearning.yaml"
    params:
        dataset=preparation_config,
    script:
        "../workflow/scripts/prepare_data.py"


rule make_split:
    input:
        **DATASET_FILES,
    output:
        SPLIT,
    log:
        "logs/make_split/{dataset}/seed{seed}/{condition}.log",
    benchmark:
        "benchmarks/make_split/{dataset}/seed{seed}/{condition}.tsv"
    conda:
        "../envs/unlearning.yaml"
    params:
        condition=condition_config,
    script:
        "../workflow/scripts/make_split.py"
