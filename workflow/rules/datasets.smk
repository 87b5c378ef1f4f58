# Stage 1: the datasets of every cell (train and held-out parts per replicate).


rule synthetic_data:
    output:
        "results/data/Q{Q}/theta{theta}/r{r}/manifest.json",
    params:
        theta=lambda w: "" if w.theta == "regular" else f"--theta {w.theta}",
        seed=lambda w: seed_arg(f"Q{w.Q}/theta{w.theta}/r{w.r}"),
        outdir=lambda w, output: str(Path(output[0]).parent),
        n=config["n_per_class"],
        n_test=config["n_test_per_class"],
        noise=config["noise"],
        replicates=config["replicates"],
    conda:
        CONDA_ENV
    log:
        "results/logs/data/Q{Q}/theta{theta}/r{r}.log",
    benchmark:
        "results/benchmarks/jobs/data/Q{Q}/theta{theta}/r{r}.tsv",
    wildcard_constraints:
        Q=r"\d+",
    shell:
        "python -m dlgeom make-data --Q {wildcards.Q} {params.theta} --delta-ratio {wildcards.r}"
        " --n {params.n} --test-n {params.n_test} --noise {params.noise}"
        " --replicates {params.replicates} --seed {params.seed} --out-dir {params.outdir} > {log} 2>&1"


rule user_data:
    input:
        lambda w: user_entry(w.name)["path"],
    output:
        "results/data/user/{name}/lambda{lam}/manifest.json",
    params:
        seed=lambda w: seed_arg(f"user/{w.name}/lambda{w.lam}"),
        test_fraction=lambda w: user_entry(w.name)["test_fraction"],
        outdir=lambda w, output: str(Path(output[0]).parent),
        replicates=config["replicates"],
    conda:
        CONDA_ENV
    log:
        "results/logs/data/user/{name}/lambda{lam}.log",
    benchmark:
        "results/benchmarks/jobs/data/user/{name}/lambda{lam}.tsv",
    shell:
        "python -m dlgeom prepare-data --data {input} --shrink {wildcards.lam} --test-fraction {params.test_fraction}"
        " --replicates {params.replicates} --seed {params.seed} --out-dir {params.outdir} > {log} 2>&1"
