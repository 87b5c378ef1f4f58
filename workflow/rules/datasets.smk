# Stages 1+2: one job per cell makes its datasets (train and held-out parts per replicate) and
# analyses them: constructions, assumptions, patterns, degeneracy probe, accuracy.  One job, not
# two, halves the job count of a grid (the DAG of a 10,000-cell grid is built in half the time)
# and each cell's data are consumed where they are made.


rule cell:
    input:
        cell_inputs,
    output:
        data="results/data/{cell}/manifest.json",
        cell="results/cells/{cell}.json",
    params:
        make_data=lambda w, output: data_command(grid_cell(w), Path(output.data).parent),
        datadir=lambda w, output: str(Path(output.data).parent),
        offsets=",".join(map(str, config["layers_offsets"])),
        eps=",".join(map(repr, config["probe_eps"])),
        seed=lambda w: seed_arg(w.cell, 1000),
        mu_samples=config["mu_samples"],
        probe_draws=config["probe_draws"],
        zero_cost=config["zero_cost"],
    resources:
        runtime=20,
        mem_mb=1000,
    conda:
        CONDA_ENV
    log:
        data="results/logs/data/{cell}.log",
        cell="results/logs/cells/{cell}.log",
    benchmark:
        "results/benchmarks/jobs/cells/{cell}.tsv"
    shell:
        "python -m dlgeom {params.make_data} > {log.data} 2>&1"
        " && python -m dlgeom cell --data-dir {params.datadir} --layers-offsets {params.offsets}"
        " --mu-samples {params.mu_samples} --probe-eps {params.eps} --probe-draws {params.probe_draws}"
        " --zero-cost {params.zero_cost} --seed {params.seed} --cell-key {wildcards.cell}"
        " --out {output.cell} > {log.cell} 2>&1"
