# Stage 4: one job per figure, PNG (in the report) and PDF.


localrules:
    figure,


rule figure:
    input:
        tables=TABLE_FILES,
    output:
        png=report("results/figures/{name}.png", caption="../report/figure.rst", category="Figures"),
        pdf="results/figures/{name}.pdf",
    params:
        stem=lambda w, output: str(Path(output.png).with_suffix("")),
        tables=lambda w, input: str(Path(input.tables[0]).parent),
        cell=CURATION_CELL,
        seed=BASE_SEED,
        config_hash=CONFIG_HASH,
    wildcard_constraints:
        name="|".join(FIGURES),
    conda:
        CONDA_ENV
    log:
        "results/logs/figures/{name}.log",
    benchmark:
        "results/benchmarks/jobs/figures/{name}.tsv",
    shell:
        "python -m dlgeom figure --name {wildcards.name} --tables {params.tables} --cell {params.cell}"
        " --seed {params.seed} --out {params.stem} --config-hash {params.config_hash} > {log} 2>&1"
