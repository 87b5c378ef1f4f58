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
    shell:
        f"{JOB} figure --out {FIGURES_DIR}/{{wildcards.name:q}} > {{log:q}} 2>&1"
