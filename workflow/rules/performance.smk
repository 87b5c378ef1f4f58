# Stage 4b: the performance figures, drawn from the committed benchmark results (the benchmark
# scripts in benchmarks/ are run by hand on a quiet machine; the workflow only draws them).


localrules:
    perf_figure,


rule perf_figure:
    input:
        # the repository's committed results, whatever the working directory
        str(ROOT / "results" / "benchmarks" / "{pname}.json"),
    output:
        png=report("results/figures/{pname}.png", caption="../report/performance.rst", category="Performance"),
        pdf="results/figures/{pname}.pdf",
    params:
        stem=lambda w, output: str(Path(output.png).with_suffix("")),
        config_hash=CONFIG_HASH,
    wildcard_constraints:
        pname="scaling|time_to_cost",
    conda:
        CONDA_ENV
    log:
        "results/logs/figures/{pname}.log",
    benchmark:
        "results/benchmarks/jobs/figures/{pname}.tsv"
    shell:
        "python -m dlgeom perf-figure --name {wildcards.pname} --data {input} --out {params.stem}"
        " --config-hash {params.config_hash} > {log} 2>&1"
