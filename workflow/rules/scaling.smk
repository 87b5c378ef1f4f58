# The landscape as Q grows (config key `landscape.scaling`): one job per Q (random-start training on
# a regular simplex with L = Q, data drawn inside the job), then one job for the table and its
# findings row and one for the figure.  `Q: []` runs no job: the table is empty, the figure says so.

SCALING_FILES = [f"{OUT}/landscape_scaling/Q{q}.json" for q in config["landscape"]["scaling"]["Q"]]


rule landscape_scaling:
    input:
        settings=settings("landscape_scaling"),
    output:
        f"{OUT}/landscape_scaling/Q{{Q}}.json",
    log:
        f"{OUT}/logs/landscape_scaling/Q{{Q}}.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/landscape_scaling/Q{{Q}}.tsv"
    wildcard_constraints:
        Q="[2-8]",
    conda:
        CONDA_ENV
    shell:
        f"{JOB} landscape-scaling --Q {{wildcards.Q:q}} --out {{output:q}} > {{log:q}} 2>&1"


localrules:
    landscape_scaling_tables,
    landscape_scaling_figure,


rule landscape_scaling_tables:
    input:
        runs=SCALING_FILES,
        settings=settings("landscape_scaling_tables"),
    output:
        table=report(
            f"{OUT}/tables/landscape_scaling.csv",
            caption="../report/landscape_scaling_table.rst",
            category="Tables",
        ),
        claims=f"{OUT}/tables/scaling_claims.csv",
    log:
        f"{OUT}/logs/landscape_scaling/tables.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/landscape_scaling/tables.tsv"
    conda:
        CONDA_ENV
    shell:
        f"{JOB} landscape-scaling-tables --runs {{input.runs:q}} > {{log:q}} 2>&1"


rule landscape_scaling_figure:
    input:
        table=rules.landscape_scaling_tables.output.table,
        settings=settings("figures"),
    output:
        png=report(
            f"{OUT}/figures/landscape_scaling.png", caption="../report/landscape_scaling.rst", category="Figures"
        ),
        pdf=f"{OUT}/figures/landscape_scaling.pdf",
    log:
        f"{OUT}/logs/figures/landscape_scaling.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/figures/landscape_scaling.tsv"
    conda:
        CONDA_ENV
    shell:
        f"{JOB} landscape-scaling-figure > {{log:q}} 2>&1"
