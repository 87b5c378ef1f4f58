# Stage 2b: gradient-landscape checks on replicate 0 of the cells listed under `landscape.cells`:
# one job per (cell, start type) for the optimiser runs, one per cell for the local shape.  The
# runs job logs a progress line per batch of runs (runs done / total, elapsed seconds).


rule landscape_runs:
    input:
        data=f"{OUT}/data/{{cell}}/manifest.json",
        settings=settings("landscape_runs"),
    output:
        runs=f"{OUT}/landscape/{{cell}}/runs_{{start}}.json",
        endpoints=f"{OUT}/landscape/{{cell}}/runs_{{start}}.npz",
    log:
        f"{OUT}/logs/landscape/{{cell}}/runs_{{start}}.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/landscape/{{cell}}/runs_{{start}}.tsv"
    wildcard_constraints:
        start="he|xavier|global|none",
    conda:
        CONDA_ENV
    resources:
        runtime=30,
    params:
        stamp=settings_opts,
        data=lambda w, input: str(Path(input.data).parent / "train_0.npz"),
        layers=lambda w: int(w.cell.split("/")[0][1:]),
        seed=lambda w: seed_arg(w.cell, stream("landscape")),
    shell:
        f"{DLGEOM} {{params.stamp:q}} landscape --data {{params.data:q}} --layers {{params.layers:q}}"
        " --starts {wildcards.start:q} --seed {params.seed:q} --cell-key {wildcards.cell:q} --no-shape"
        " --out {output.runs:q} --endpoints {output.endpoints:q} > {log:q} 2>&1"


rule landscape_shape:
    input:
        data=f"{OUT}/data/{{cell}}/manifest.json",
        settings=settings("landscape_shape"),
    output:
        f"{OUT}/landscape/{{cell}}/shape.json",
    log:
        f"{OUT}/logs/landscape/{{cell}}/shape.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/landscape/{{cell}}/shape.tsv"
    conda:
        CONDA_ENV
    params:
        stamp=settings_opts,
        data=lambda w, input: str(Path(input.data).parent / "train_0.npz"),
        layers=lambda w: int(w.cell.split("/")[0][1:]),
        seed=lambda w: seed_arg(w.cell, stream("landscape")),
    shell:
        f"{DLGEOM} {{params.stamp:q}} landscape --data {{params.data:q}} --layers {{params.layers:q}}"
        " --starts '' --seed {params.seed:q} --cell-key {wildcards.cell:q} --out {output:q} > {log:q} 2>&1"
