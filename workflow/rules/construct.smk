# Stage 2: one job per cell: constructions, assumptions, patterns, degeneracy probe, accuracy.


rule cell:
    input:
        "results/data/{cell}/manifest.json",
    output:
        "results/cells/{cell}.json",
    params:
        offsets=",".join(map(str, config["layers_offsets"])),
        eps=",".join(map(repr, config["probe_eps"])),
        seed=lambda w: seed_arg(w.cell, 1000),
        datadir=lambda w, input: str(Path(input[0]).parent),
        mu_samples=config["mu_samples"],
        probe_draws=config["probe_draws"],
        zero_cost=config["zero_cost"],
    resources:
        runtime=20,
        mem_mb=1000,
    conda:
        CONDA_ENV
    log:
        "results/logs/cells/{cell}.log",
    benchmark:
        "results/benchmarks/jobs/cells/{cell}.tsv",
    shell:
        "python -m dlgeom cell --data-dir {params.datadir} --layers-offsets {params.offsets}"
        " --mu-samples {params.mu_samples} --probe-eps {params.eps} --probe-draws {params.probe_draws}"
        " --zero-cost {params.zero_cost} --seed {params.seed} --cell-key {wildcards.cell}"
        " --out {output} > {log} 2>&1"
