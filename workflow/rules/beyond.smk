# Beyond the paper (issue 7, MATH.md §8): inputs in R^M with M >= Q (highdim), sequentially
# linearly separable data (sls) and the shallow network (shallow).  One job per study and Q
# (config key `beyond`), then one job for the tables and one for the three figures.  An empty Q list
# switches a study off (its table is then empty and its claims rows 'untested').

BEYOND = config["beyond"]
BEYOND_RUNS = {
    study: [f"results/beyond/{study}/Q{q}.json" for q in BEYOND[study]["Q"]]
    for study in ("highdim", "sls", "shallow")
}
BEYOND_TABLES = [f"results/tables/{t}.csv" for t in ("highdim", "sls", "shallow", "beyond_claims")]
BEYOND_FIGURES = [f"results/figures/{n}.{ext}" for n in ("highdim", "sls", "shallow") for ext in ("png", "pdf")]


rule beyond_highdim:
    output:
        "results/beyond/highdim/Q{q}.json",
    params:
        M=",".join(map(repr, BEYOND["highdim"]["M"])),
        delta_ratio=",".join(map(repr, BEYOND["highdim"]["delta_ratio"])),
        perp_scale=",".join(map(repr, BEYOND["highdim"]["perp_scale"])),
        theta=BEYOND["highdim"]["theta"],
        replicates=BEYOND["highdim"]["replicates"],
        n=BEYOND["highdim"]["n_per_class"],
        zero_cost=config["zero_cost"],
        seed=lambda w: seed_arg(f"beyond/highdim/Q{w.q}", 7001),
    wildcard_constraints:
        q=r"\d+",
    conda:
        CONDA_ENV
    log:
        "results/logs/beyond/highdim/Q{q}.log",
    benchmark:
        "results/benchmarks/jobs/beyond/highdim/Q{q}.tsv"
    shell:
        "python -m dlgeom highdim --Q {wildcards.q} --M {params.M} --delta-ratio {params.delta_ratio}"
        " --perp-scale {params.perp_scale} --theta {params.theta} --replicates {params.replicates} --n {params.n}"
        " --zero-cost {params.zero_cost} --seed {params.seed} --out {output} > {log} 2>&1"


rule beyond_sls:
    output:
        "results/beyond/sls/Q{q}.json",
    params:
        M=",".join(map(repr, BEYOND["sls"]["M"])),
        replicates=BEYOND["sls"]["replicates"],
        n=BEYOND["sls"]["n_per_class"],
        max_orderings=BEYOND["sls"]["max_orderings"],
        hand=lambda w: "--hand" if int(w.q) == min(BEYOND["sls"]["Q"]) else "",
        zero_cost=config["zero_cost"],
        seed=lambda w: seed_arg(f"beyond/sls/Q{w.q}", 7002),
    wildcard_constraints:
        q=r"\d+",
    conda:
        CONDA_ENV
    log:
        "results/logs/beyond/sls/Q{q}.log",
    benchmark:
        "results/benchmarks/jobs/beyond/sls/Q{q}.tsv"
    shell:
        "python -m dlgeom sls --Q {wildcards.q} --M {params.M} --replicates {params.replicates} --n {params.n}"
        " --max-orderings {params.max_orderings} {params.hand} --zero-cost {params.zero_cost}"
        " --seed {params.seed} --out {output} > {log} 2>&1"


rule beyond_shallow:
    output:
        "results/beyond/shallow/Q{q}.json",
    params:
        replicates=BEYOND["shallow"]["replicates"],
        n=BEYOND["shallow"]["n_per_class"],
        r_min=BEYOND["shallow"]["delta_ratio_min"],
        r_max=BEYOND["shallow"]["delta_ratio_max"],
        points=BEYOND["shallow"]["points"],
        train_runs=BEYOND["shallow"]["train_runs"],
        train_iter=BEYOND["shallow"]["train_iter"],
        train_ratio=BEYOND["shallow"]["train_delta_ratio"],
        seed=lambda w: seed_arg(f"beyond/shallow/Q{w.q}", 7003),
    wildcard_constraints:
        q=r"\d+",
    conda:
        CONDA_ENV
    log:
        "results/logs/beyond/shallow/Q{q}.log",
    benchmark:
        "results/benchmarks/jobs/beyond/shallow/Q{q}.tsv"
    shell:
        "python -m dlgeom shallow --Q {wildcards.q} --replicates {params.replicates} --n {params.n}"
        " --r-min {params.r_min} --r-max {params.r_max} --points {params.points} --train-runs {params.train_runs}"
        " --train-iter {params.train_iter} --train-ratio {params.train_ratio}"
        " --seed {params.seed} --out {output} > {log} 2>&1"


localrules:
    beyond_tables,
    beyond_figures,


rule beyond_tables:
    input:
        highdim=BEYOND_RUNS["highdim"],
        sls=BEYOND_RUNS["sls"],
        shallow=BEYOND_RUNS["shallow"],
    output:
        highdim=report("results/tables/highdim.csv", caption="../report/beyond_highdim_table.rst", category="Beyond the paper"),
        sls=report("results/tables/sls.csv", caption="../report/beyond_sls_table.rst", category="Beyond the paper"),
        shallow=report("results/tables/shallow.csv", caption="../report/beyond_shallow_table.rst", category="Beyond the paper"),
        claims="results/tables/beyond_claims.csv",
    params:
        outdir=lambda w, output: str(Path(output.claims).parent),
        zero_cost=config["zero_cost"],
        fit_max=BEYOND["shallow"]["fit_max_delta_P"],
        config_hash=CONFIG_HASH,
        seed=BASE_SEED,
    conda:
        CONDA_ENV
    log:
        "results/logs/beyond/tables.log",
    benchmark:
        "results/benchmarks/jobs/beyond/tables.tsv"
    shell:
        "python -m dlgeom beyond-tables --highdim {input.highdim} --sls {input.sls} --shallow {input.shallow}"
        " --out-dir {params.outdir} --zero-cost {params.zero_cost} --fit-max {params.fit_max}"
        " --config-hash {params.config_hash} --seed {params.seed} > {log} 2>&1"


rule beyond_figures:
    input:
        [f"results/tables/{n}.csv" for n in ("highdim", "sls", "shallow")],
    output:
        highdim=report("results/figures/highdim.png", caption="../report/beyond_highdim.rst", category="Beyond the paper"),
        sls=report("results/figures/sls.png", caption="../report/beyond_sls.rst", category="Beyond the paper"),
        shallow=report("results/figures/shallow.png", caption="../report/beyond_shallow.rst", category="Beyond the paper"),
        pdfs=[f"results/figures/{n}.pdf" for n in ("highdim", "sls", "shallow")],
    params:
        out_dir=lambda w, output: str(Path(output.highdim).parent),
        tables=lambda w, input: str(Path(input[0]).parent),
        fit_max=BEYOND["shallow"]["fit_max_delta_P"],
        config_hash=CONFIG_HASH,
        seed=BASE_SEED,
    conda:
        CONDA_ENV
    log:
        "results/logs/figures/beyond.log",
    benchmark:
        "results/benchmarks/jobs/figures/beyond.tsv"
    shell:
        "python -m dlgeom beyond-figure --name highdim,sls,shallow --tables {params.tables} --fit-max {params.fit_max}"
        " --out-dir {params.out_dir} --config-hash {params.config_hash} --seed {params.seed} > {log} 2>&1"
