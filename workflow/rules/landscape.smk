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
    shell:
        f"{JOB} landscape --data {{input.data:q}} --starts {{wildcards.start:q}} --out {{output.runs:q}}"
        " --endpoints {output.endpoints:q} > {log:q} 2>&1"


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
    shell:
        f"{JOB} landscape --data {{input.data:q}} --out {{output:q}} > {{log:q}} 2>&1"
