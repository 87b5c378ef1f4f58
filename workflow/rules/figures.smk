# Stage 4: one job per figure, PNG (in the report) and PDF.


localrules:
    figure,


rule figure:
    input:
        tables=TABLE_FILES,
        settings=settings("figures"),
    output:
        png=report(f"{OUT}/figures/{{name}}.png", caption="../report/figure.rst", category="Figures"),
        pdf=f"{OUT}/figures/{{name}}.pdf",
    log:
        f"{OUT}/logs/figures/{{name}}.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/figures/{{name}}.tsv"
    wildcard_constraints:
        name="|".join(FIGURES),
    conda:
        CONDA_ENV
    params:
        stamp=settings_opts,
        stem=lambda w, output: str(Path(output.png).with_suffix("")),
        tables=lambda w, input: str(Path(input.tables[0]).parent),
        cell=CURATION_CELL,
        seed=BASE_SEED,
    shell:
        f"{DLGEOM} {{params.stamp:q}} figure --name {{wildcards.name:q}} --tables {{params.tables:q}}"
        " --cell {params.cell:q} --seed {params.seed:q}"
        " --out {params.stem:q} > {log:q} 2>&1"
