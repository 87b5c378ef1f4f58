# Stages 1+2: one job per cell makes its datasets (train and held-out parts per replicate) and
# analyses them: constructions, assumptions, patterns, degeneracy probe, accuracy.  One job, not
# two, halves the job count of a grid (the DAG of a 10,000-cell grid is built in half the time)
# and each cell's data are consumed where they are made, in the same process (`--make-data`).


rule cell:
    input:
        unpack(cell_inputs),
    output:
        data=f"{OUT}/data/{{cell}}/manifest.json",
        cell=f"{OUT}/cells/{{cell}}.json",
    log:
        f"{OUT}/logs/cells/{{cell}}.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/cells/{{cell}}.tsv"
    conda:
        CONDA_ENV
    resources:
        runtime=20,
        mem_mb=1000,
    shell:
        f"{JOB} cell --data {{output.data:q}} --out {{output.cell:q}} --make-data {{input.data:q}} > {{log:q}} 2>&1"
