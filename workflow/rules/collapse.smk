# Neural collapse layer by layer and one extra neuron (config key `collapse`): one job for the
# constructed networks of every grid cell (replicate 0), one job per landscape cell for its end
# points (NC per layer, and the width Q+1 escape test of every distinct certified non-zero
# minimum), then one job for the tables and one for the three figures.

COLLAPSE_LANDSCAPE = [f"{OUT}/collapse/landscape/{c}.json" for c in config["landscape"]["cells"]]


rule collapse_constructed:
    input:
        data=[f"{OUT}/data/{c.key}/manifest.json" for c in CELLS],
        settings=settings("collapse"),
    output:
        f"{OUT}/collapse/constructed.json",
    log:
        f"{OUT}/logs/collapse/constructed.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/collapse/constructed.tsv"
    conda:
        CONDA_ENV
    shell:
        f"{JOB} collapse-constructed --data-dirs {{input.data:q}} --out {{output:q}} > {{log:q}} 2>&1"


rule collapse_landscape:
    input:
        data=f"{OUT}/data/{{cell}}/manifest.json",
        runs=lambda w: [f"{OUT}/landscape/{w.cell}/runs_{s}.json" for s in config["landscape"]["starts"]],
        endpoints=lambda w: [f"{OUT}/landscape/{w.cell}/runs_{s}.npz" for s in config["landscape"]["starts"]],
        settings=settings("collapse"),
    output:
        f"{OUT}/collapse/landscape/{{cell}}.json",
    log:
        f"{OUT}/logs/collapse/landscape/{{cell}}.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/collapse/landscape/{{cell}}.tsv"
    conda:
        CONDA_ENV
    shell:
        f"{JOB} collapse-landscape --data {{input.data:q}} --runs {{input.runs:q}} --out {{output:q}} > {{log:q}} 2>&1"


localrules:
    collapse_tables,
    collapse_figures,


rule collapse_tables:
    input:
        constructed=f"{OUT}/collapse/constructed.json",
        landscape=COLLAPSE_LANDSCAPE,
        settings=settings("collapse_tables"),
    output:
        nc=report(
            f"{OUT}/tables/neural_collapse.csv",
            caption="../report/neural_collapse_table.rst",
            category="Beyond the paper",
        ),
        width=report(
            f"{OUT}/tables/width_plus_one.csv",
            caption="../report/width_plus_one_table.rst",
            category="Beyond the paper",
        ),
        separation=report(
            f"{OUT}/tables/separation.csv",
            caption="../report/separation_table.rst",
            category="Beyond the paper",
        ),
        claims=f"{OUT}/tables/collapse_claims.csv",
    log:
        f"{OUT}/logs/collapse/tables.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/collapse/tables.tsv"
    conda:
        CONDA_ENV
    shell:
        f"{JOB} collapse-tables --constructed {{input.constructed:q}} --landscape {{input.landscape:q}} > {{log:q}} 2>&1"


rule collapse_figures:
    input:
        tables=[
            rules.collapse_tables.output.nc,
            rules.collapse_tables.output.width,
            rules.collapse_tables.output.separation,
        ],
        settings=settings("figures"),
    output:
        nc=report(
            f"{OUT}/figures/neural_collapse.png", caption="../report/neural_collapse.rst", category="Beyond the paper"
        ),
        width=report(
            f"{OUT}/figures/width_plus_one.png", caption="../report/width_plus_one.rst", category="Beyond the paper"
        ),
        separation=report(
            f"{OUT}/figures/separation.png", caption="../report/separation.rst", category="Beyond the paper"
        ),
        pdfs=[f"{OUT}/figures/{n}.pdf" for n in ("neural_collapse", "width_plus_one", "separation")],
    log:
        f"{OUT}/logs/figures/collapse.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/figures/collapse.tsv"
    conda:
        CONDA_ENV
    shell:
        f"{JOB} collapse-figure > {{log:q}} 2>&1"
