# Stage 3: all cells -> tables and the claims table (verdicts computed from the data).


localrules:
    aggregate,


rule aggregate:
    input:
        cells=[f"{OUT}/cells/{c.key}.json" for c in CELLS],
        landscape=LANDSCAPE_FILES,
        extra_claims=EXTRA_CLAIMS,
        settings=settings("aggregate"),
    output:
        claims=report(f"{OUT}/tables/claims.csv", caption="../report/claims.rst", category="Tables"),
        claims_md=f"{OUT}/tables/claims.md",
        constructions=report(
            f"{OUT}/tables/constructions.csv", caption="../report/constructions.rst", category="Tables"
        ),
        # the three per-item tables (one row per pattern and case, probe point, optimiser run) are not embedded in
        # the report: tens of MB each in the paper-grade study; the report shows their summaries and figures
        patterns=f"{OUT}/tables/patterns.csv",
        degeneracy=f"{OUT}/tables/degeneracy.csv",
        prop22=report(f"{OUT}/tables/prop22.csv", caption="../report/prop22.rst", category="Tables"),
        curation=report(f"{OUT}/tables/curation.csv", caption="../report/curation_table.rst", category="Tables"),
        phase=report(f"{OUT}/tables/phase.csv", caption="../report/phase_table.rst", category="Tables"),
        l_end=f"{OUT}/tables/landscape_endpoints.csv",
        l_basins=report(
            f"{OUT}/tables/landscape_basins.csv", caption="../report/landscape_basins.rst", category="Tables"
        ),
        l_shape=report(f"{OUT}/tables/landscape_shape.csv", caption="../report/landscape_shape.rst", category="Tables"),
        l_paths=report(f"{OUT}/tables/landscape_paths.csv", caption="../report/landscape_paths.rst", category="Tables"),
        l_slice=f"{OUT}/tables/landscape_slice.csv",
        l_levels=f"{OUT}/tables/landscape_levels.csv",
        l_minima=report(
            f"{OUT}/tables/landscape_minima.csv", caption="../report/landscape_minima.rst", category="Tables"
        ),
    log:
        f"{OUT}/logs/aggregate.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/aggregate.tsv"
    conda:
        CONDA_ENV
    shell:
        f"{JOB} aggregate --cells {{input.cells:q}} --landscape {{input.landscape:q}}"
        " --extra-claims {input.extra_claims:q} > {log:q} 2>&1"


# The verdicts at a glance: claims and findings with their verdicts and counts, shown at the top of the
# report's landing page (workflow/report/workflow.rst) and as its first result category.
localrules:
    verdict_summary,


rule verdict_summary:
    input:
        claims=f"{OUT}/tables/claims.csv",
    output:
        html=report(f"{OUT}/report/verdicts.html", caption="../report/verdicts.rst", category="At a glance"),
    log:
        f"{OUT}/logs/verdict_summary.log",
    conda:
        CONDA_ENV
    shell:
        f"{DLGEOM} verdicts-html --claims {{input.claims:q}} --out {{output.html:q}} > {{log:q}} 2>&1"
