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
    params:
        stamp=settings_opts,
        seed=lambda w: seed_arg(f"landscape_scaling/Q{w.Q}", stream("landscape_scaling")),
    shell:
        f"{DLGEOM} {{params.stamp:q}} landscape-scaling --Q {{wildcards.Q:q}} --seed {{params.seed:q}}"
        " --out {output:q} > {log:q} 2>&1"


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
    params:
        stamp=settings_opts,
        outdir=lambda w, output: str(Path(output.table).parent),
        settings_dir=lambda w, input: str(Path(input.settings[0]).parent),
        seed=BASE_SEED,
    shell:
        f"{DLGEOM} check-settings --settings-dir {{params.settings_dir:q}} --inputs {{input.runs:q}} > {{log:q}} 2>&1"
        f" && {DLGEOM} {{params.stamp:q}} landscape-scaling-tables --runs {{input.runs:q}}"
        " --out-dir {params.outdir:q} --seed {params.seed:q} >> {log:q} 2>&1"


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
    params:
        stamp=settings_opts,
        out_dir=lambda w, output: str(Path(output.png).parent),
        tables=lambda w, input: str(Path(input.table).parent),
        seed=BASE_SEED,
    shell:
        f"{DLGEOM} {{params.stamp:q}} landscape-scaling-figure --tables {{params.tables:q}}"
        " --out-dir {params.out_dir:q} --seed {params.seed:q} > {log:q} 2>&1"
