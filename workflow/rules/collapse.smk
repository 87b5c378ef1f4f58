# Neural collapse layer by layer and one extra neuron (config key `collapse`): one job for the
# constructed networks of every grid cell (replicate 0), one job per landscape cell for its end
# points (NC per layer, and the width Q+1 escape test of every distinct certified non-zero
# minimum), then one job for the tables and one for the two figures.

COLLAPSE = config["collapse"]
COLLAPSE_LANDSCAPE = [f"{OUT}/collapse/landscape/{c}.json" for c in config["landscape"]["cells"]]


rule collapse_constructed:
    input:
        [f"{OUT}/data/{c.key}/manifest.json" for c in CELLS],
    output:
        f"{OUT}/collapse/constructed.json",
    params:
        dirs=lambda w, input: " ".join(str(Path(p).parent) for p in input),
        cell_keys=" ".join(c.key for c in CELLS),
        offset=COLLAPSE["layers_offset"],
        rel_tol=COLLAPSE["rel_tol"],
    conda:
        CONDA_ENV
    log:
        f"{OUT}/logs/collapse/constructed.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/collapse/constructed.tsv"
    shell:
        "python -m dlgeom collapse-constructed --data-dirs {params.dirs} --cell-keys {params.cell_keys}"
        " --layers-offset {params.offset} --rel-tol {params.rel_tol} --out {output} > {log} 2>&1"


rule collapse_landscape:
    input:
        data=f"{OUT}/data/{{cell}}/manifest.json",
        runs=lambda w: [f"{OUT}/landscape/{w.cell}/runs_{s}.json" for s in config["landscape"]["starts"]],
        endpoints=lambda w: [f"{OUT}/landscape/{w.cell}/runs_{s}.npz" for s in config["landscape"]["starts"]],
    output:
        f"{OUT}/collapse/landscape/{{cell}}.json",
    params:
        data=lambda w, input: str(Path(input.data).parent / "train_0.npz"),
        embeddings=",".join(COLLAPSE["embeddings"]),
        representatives=COLLAPSE["representatives"],
        n_dirs=COLLAPSE["n_dirs"],
        opt_iter=COLLAPSE["opt_iter"],
        rel_tol=COLLAPSE["rel_tol"],
        seed=lambda w: seed_arg(w.cell, 3000),
    conda:
        CONDA_ENV
    log:
        f"{OUT}/logs/collapse/landscape/{{cell}}.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/collapse/landscape/{{cell}}.tsv"
    shell:
        "python -m dlgeom collapse-landscape --data {params.data} --runs {input.runs} --endpoints {input.endpoints}"
        " --cell-key {wildcards.cell} --embeddings {params.embeddings} --representatives {params.representatives}"
        " --n-dirs {params.n_dirs} --opt-iter {params.opt_iter} --rel-tol {params.rel_tol}"
        " --seed {params.seed} --out {output} > {log} 2>&1"


localrules:
    collapse_tables,
    collapse_figures,


rule collapse_tables:
    input:
        constructed=f"{OUT}/collapse/constructed.json",
        landscape=COLLAPSE_LANDSCAPE,
    output:
        nc=report(f"{OUT}/tables/neural_collapse.csv", caption="../report/neural_collapse_table.rst",
                  category="Beyond the paper"),
        width=report(f"{OUT}/tables/width_plus_one.csv", caption="../report/width_plus_one_table.rst",
                     category="Beyond the paper"),
        claims=f"{OUT}/tables/collapse_claims.csv",
    params:
        outdir=lambda w, output: str(Path(output.claims).parent),
        config_hash=CONFIG_HASH,
        seed=BASE_SEED,
    conda:
        CONDA_ENV
    log:
        f"{OUT}/logs/collapse/tables.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/collapse/tables.tsv"
    shell:
        "python -m dlgeom collapse-tables --constructed {input.constructed} --landscape {input.landscape}"
        " --out-dir {params.outdir} --config-hash {params.config_hash} --seed {params.seed} > {log} 2>&1"


rule collapse_figures:
    input:
        rules.collapse_tables.output.nc,
        rules.collapse_tables.output.width,
    output:
        nc=report(f"{OUT}/figures/neural_collapse.png", caption="../report/neural_collapse.rst",
                  category="Beyond the paper"),
        width=report(f"{OUT}/figures/width_plus_one.png", caption="../report/width_plus_one.rst",
                     category="Beyond the paper"),
        pdfs=[f"{OUT}/figures/{n}.pdf" for n in ("neural_collapse", "width_plus_one")],
    params:
        out_dir=lambda w, output: str(Path(output.nc).parent),
        tables=lambda w, input: str(Path(input[0]).parent),
        config_hash=CONFIG_HASH,
        seed=BASE_SEED,
    conda:
        CONDA_ENV
    log:
        f"{OUT}/logs/figures/collapse.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/figures/collapse.tsv"
    shell:
        "python -m dlgeom collapse-figure --tables {params.tables} --out-dir {params.out_dir}"
        " --config-hash {params.config_hash} --seed {params.seed} > {log} 2>&1"
