# `snakemake verify`: a file changed with its modification time kept (a disk fault, a partial
# copy) is invisible to Snakemake until a job loads it. This checks every checkpoint under
# results/ and removes the corrupt ones, so the next plain run rebuilds them and what depends on
# them. It has no output, so it runs whenever it is asked for.
rule verify:
    log:
        "logs/verify.log",
    localrule: True
    conda:
        "../envs/unlearning.yaml"
    threads: 1
    params:
        folder="results",
    script:
        "../workflow/scripts/verify.py"
