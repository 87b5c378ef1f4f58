# Beyond the paper (docs/mathematics.md §8): inputs in R^M with M >= Q (highdim), sequentially
# linearly separable data (sls) and the shallow network (shallow).  One job per study and Q
# (config key `beyond`), then one job for the tables and one for the three figures.  An empty Q list
# switches a study off (its table is then empty and its claims rows 'untested').

BEYOND = config["beyond"]
BEYOND_RUNS = {
    study: [f"{OUT}/beyond/{study}/Q{q}.json" for q in BEYOND[study]["Q"]] for study in ("highdim", "sls", "shallow")
}
BEYOND_TABLES = [f"{OUT}/tables/{t}.csv" for t in ("highdim", "sls", "shallow", "beyond_claims")]
BEYOND_FIGURES = [f"{OUT}/figures/{n}.{ext}" for n in ("highdim", "sls", "shallow") for ext in ("png", "pdf")]


rule beyond_highdim:
    input:
        settings=settings("beyond_highdim"),
    output:
        f"{OUT}/beyond/highdim/Q{{q}}.json",
    log:
        f"{OUT}/logs/beyond/highdim/Q{{q}}.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/beyond/highdim/Q{{q}}.tsv"
    wildcard_constraints:
        q=r"\d+",
    conda:
        CONDA_ENV
    shell:
        f"{JOB} highdim --Q {{wildcards.q:q}} --out {{output:q}} > {{log:q}} 2>&1"


rule beyond_sls:
    input:
        settings=settings("beyond_sls"),
    output:
        f"{OUT}/beyond/sls/Q{{q}}.json",
    log:
        f"{OUT}/logs/beyond/sls/Q{{q}}.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/beyond/sls/Q{{q}}.tsv"
    wildcard_constraints:
        q=r"\d+",
    conda:
        CONDA_ENV
    shell:
        f"{JOB} sls --Q {{wildcards.q:q}} --out {{output:q}} > {{log:q}} 2>&1"


rule beyond_shallow:
    input:
        settings=settings("beyond_shallow"),
    output:
        f"{OUT}/beyond/shallow/Q{{q}}.json",
    log:
        f"{OUT}/logs/beyond/shallow/Q{{q}}.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/beyond/shallow/Q{{q}}.tsv"
    wildcard_constraints:
        q=r"\d+",
    conda:
        CONDA_ENV
    shell:
        f"{JOB} shallow --Q {{wildcards.q:q}} --out {{output:q}} > {{log:q}} 2>&1"


localrules:
    beyond_tables,
    beyond_figures,


rule beyond_tables:
    input:
        highdim=BEYOND_RUNS["highdim"],
        sls=BEYOND_RUNS["sls"],
        shallow=BEYOND_RUNS["shallow"],
        settings=settings("beyond_tables"),
    output:
        highdim=report(
            f"{OUT}/tables/highdim.csv", caption="../report/beyond_highdim_table.rst", category="Beyond the paper"
        ),
        sls=report(f"{OUT}/tables/sls.csv", caption="../report/beyond_sls_table.rst", category="Beyond the paper"),
        shallow=report(
            f"{OUT}/tables/shallow.csv", caption="../report/beyond_shallow_table.rst", category="Beyond the paper"
        ),
        claims=f"{OUT}/tables/beyond_claims.csv",
    log:
        f"{OUT}/logs/beyond/tables.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/beyond/tables.tsv"
    conda:
        CONDA_ENV
    shell:
        f"{JOB} beyond-tables --highdim {{input.highdim:q}} --sls {{input.sls:q}} --shallow {{input.shallow:q}}"
        " > {log:q} 2>&1"


rule beyond_figures:
    input:
        tables=[f"{OUT}/tables/{n}.csv" for n in ("highdim", "sls", "shallow")],
        settings=settings("figures", "beyond_tables"),
    output:
        highdim=report(
            f"{OUT}/figures/highdim.png", caption="../report/beyond_highdim.rst", category="Beyond the paper"
        ),
        sls=report(f"{OUT}/figures/sls.png", caption="../report/beyond_sls.rst", category="Beyond the paper"),
        shallow=report(
            f"{OUT}/figures/shallow.png", caption="../report/beyond_shallow.rst", category="Beyond the paper"
        ),
        pdfs=[f"{OUT}/figures/{n}.pdf" for n in ("highdim", "sls", "shallow")],
    log:
        f"{OUT}/logs/figures/beyond.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/figures/beyond.tsv"
    conda:
        CONDA_ENV
    shell:
        f"{JOB} beyond-figure > {{log:q}} 2>&1"
