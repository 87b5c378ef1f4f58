# Stage 2b: gradient-landscape checks on replicate 0 of the cells listed under `landscape.cells`:
# one job per (cell, start type) for the optimiser runs, one per cell for the local shape.  The
# runs job logs a progress line per batch of runs (runs done / total, elapsed seconds).


rule landscape_runs:
    input:
        "results/data/{cell}/manifest.json",
    output:
        "results/landscape/{cell}/runs_{start}.json",
    params:
        data=lambda w, input: str(Path(input[0]).parent / "train_0.npz"),
        layers=lambda w: int(w.cell.split("/")[0][1:]),
        seed=lambda w: seed_arg(w.cell, 2000),
        rho=",".join(map(repr, config["landscape"]["rho"])),
        optimisers=",".join(config["landscape"]["optimisers"]),
        runs=config["landscape"]["runs"],
        max_iter=config["landscape"]["max_iter"],
        engine=config["landscape"]["engine"],
    wildcard_constraints:
        start="he|xavier|global|none",
    resources:
        runtime=30,
    conda:
        CONDA_ENV
    log:
        "results/logs/landscape/{cell}/runs_{start}.log",
    benchmark:
        "results/benchmarks/jobs/landscape/{cell}/runs_{start}.tsv"
    shell:
        "python -m dlgeom landscape --data {params.data} --layers {params.layers} --starts {wildcards.start}"
        " --rho {params.rho} --optimisers {params.optimisers} --runs {params.runs} --max-iter {params.max_iter}"
        " --engine {params.engine} --seed {params.seed} --cell-key {wildcards.cell} --no-shape --out {output} > {log} 2>&1"


rule landscape_shape:
    input:
        "results/data/{cell}/manifest.json",
    output:
        "results/landscape/{cell}/shape.json",
    params:
        data=lambda w, input: str(Path(input[0]).parent / "train_0.npz"),
        layers=lambda w: int(w.cell.split("/")[0][1:]),
        seed=lambda w: seed_arg(w.cell, 2000),
    conda:
        CONDA_ENV
    log:
        "results/logs/landscape/{cell}/shape.log",
    benchmark:
        "results/benchmarks/jobs/landscape/{cell}/shape.tsv"
    shell:
        "python -m dlgeom landscape --data {params.data} --layers {params.layers} --starts ''"
        " --seed {params.seed} --cell-key {wildcards.cell} --out {output} > {log} 2>&1"
