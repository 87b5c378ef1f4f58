# Stage 3: all cells -> tables and the claims table (verdicts computed from the data).


localrules:
    aggregate,


rule aggregate:
    input:
        cells=[f"results/cells/{c.key}.json" for c in CELLS],
        landscape=LANDSCAPE_FILES,
        extra_claims=EXTRA_CLAIMS,
    output:
        claims=report("results/tables/claims.csv", caption="../report/claims.rst", category="Tables"),
        claims_md="results/tables/claims.md",
        constructions=report("results/tables/constructions.csv", caption="../report/constructions.rst", category="Tables"),
        patterns=report("results/tables/patterns.csv", caption="../report/patterns.rst", category="Tables"),
        degeneracy=report("results/tables/degeneracy.csv", caption="../report/degeneracy.rst", category="Tables"),
        prop22=report("results/tables/prop22.csv", caption="../report/prop22.rst", category="Tables"),
        curation=report("results/tables/curation.csv", caption="../report/curation_table.rst", category="Tables"),
        phase=report("results/tables/phase.csv", caption="../report/phase_table.rst", category="Tables"),
        l_end=report("results/tables/landscape_endpoints.csv", caption="../report/landscape_endpoints.rst", category="Tables"),
        l_basins=report("results/tables/landscape_basins.csv", caption="../report/landscape_basins.rst", category="Tables"),
        l_shape=report("results/tables/landscape_shape.csv", caption="../report/landscape_shape.rst", category="Tables"),
        l_paths=report("results/tables/landscape_paths.csv", caption="../report/landscape_paths.rst", category="Tables"),
        l_slice="results/tables/landscape_slice.csv",
        l_levels="results/tables/landscape_levels.csv",
        l_minima=report("results/tables/landscape_minima.csv", caption="../report/landscape_minima.rst", category="Tables"),
    params:
        outdir=lambda w, output: str(Path(output.claims).parent),
        zero_cost=config["zero_cost"],
        config_hash=CONFIG_HASH,
        seed=BASE_SEED,
    conda:
        CONDA_ENV
    log:
        "results/logs/aggregate.log",
    benchmark:
        "results/benchmarks/jobs/aggregate.tsv",
    shell:
        "python -m dlgeom aggregate --cells {input.cells} --landscape {input.landscape} --extra-claims {input.extra_claims} --out-dir {params.outdir} --zero-cost {params.zero_cost}"
        " --config-hash {params.config_hash} --seed {params.seed} > {log} 2>&1"
