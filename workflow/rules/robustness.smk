# Stage 2c: robustness beyond the paper's assumptions (issue 5), beside the main grid:
# one job per robustness axis (every value x replicate, plus gradient training at a few values),
# one job per bundled real dataset (scikit-learn, no download) and per user dataset (the shrink
# sweep over λ).  Config key `robustness` (workflow/schemas/config.schema.yaml).
# Every axis uses the same seed prefix, so the base point is the same dataset on every axis.

from dlgeom.study.robustness_run import cli_base_args, cli_list

ROB = config["robustness"]
ROBUSTNESS_AXES = [a for a, vals in ROB["axes"].items() if vals]
ROBUSTNESS_REAL = list(ROB["realdata"]["datasets"])
ROBUSTNESS_USER = [d["name"] for d in config["datasets"]] if ROB["realdata"]["user_datasets"] else []
ROBUSTNESS_AXIS_FILES = [f"results/robustness/axis_{a}.json" for a in ROBUSTNESS_AXES]
ROBUSTNESS_REAL_FILES = [f"results/robustness/real_{n}.json" for n in ROBUSTNESS_REAL] + [
    f"results/robustness/user_{n}.json" for n in ROBUSTNESS_USER]
ROBUSTNESS_FILES = ROBUSTNESS_AXIS_FILES + ROBUSTNESS_REAL_FILES


rule robustness_axis:
    output:
        "results/robustness/axis_{axis}.json",
    params:
        values=lambda w: cli_list(ROB["axes"][w.axis]),
        base=cli_base_args(ROB),
        replicates=ROB["replicates"],
        mu_line=ROB["mu_search"]["line"],
        mu_random=ROB["mu_search"]["random"],
        opt_at=lambda w: cli_list(ROB["optimisers"]["points"].get(w.axis, [])),
        optimisers=",".join(ROB["optimisers"]["optimisers"]),
        opt_runs=ROB["optimisers"]["runs"],
        opt_iter=ROB["optimisers"]["max_iter"],
        zero_cost=config["zero_cost"],
        seed=seed_arg("robustness", 3000),
    wildcard_constraints:
        axis="|".join(ROBUSTNESS_AXES) if ROBUSTNESS_AXES else "__none__",
    resources:
        runtime=10,
    conda:
        CONDA_ENV
    log:
        "results/logs/robustness/axis_{axis}.log",
    benchmark:
        "results/benchmarks/jobs/robustness/axis_{axis}.tsv"
    shell:
        "python -m dlgeom robustness --axis {wildcards.axis} --values '{params.values}' {params.base}"
        " --replicates {params.replicates} --mu-line {params.mu_line} --mu-random {params.mu_random}"
        " --optimiser-at '{params.opt_at}' --optimisers {params.optimisers} --optimiser-runs {params.opt_runs}"
        " --optimiser-iter {params.opt_iter} --zero-cost {params.zero_cost} --seed {params.seed}"
        " --out {output} > {log} 2>&1"


rule robustness_realdata:
    output:
        "results/robustness/real_{name}.json",
    params:
        lambdas=cli_list(ROB["realdata"]["lambdas"]),
        projections=",".join(ROB["realdata"]["projections"]),
        test_fraction=ROB["realdata"]["test_fraction"],
        max_train=ROB["realdata"]["max_train"],
        refine=ROB["realdata"]["refine"],
        mu_line=ROB["mu_search"]["line"],
        mu_random=ROB["mu_search"]["random"],
        zero_cost=config["zero_cost"],
        seed=seed_arg("realdata", 3001),
    wildcard_constraints:
        name="iris|wine|breast_cancer|digits",
    resources:
        runtime=10,
    conda:
        CONDA_ENV
    log:
        "results/logs/robustness/real_{name}.log",
    benchmark:
        "results/benchmarks/jobs/robustness/real_{name}.tsv"
    shell:
        "python -m dlgeom realdata --name {wildcards.name} --projections {params.projections}"
        " --lambdas {params.lambdas} --test-fraction {params.test_fraction} --max-train {params.max_train}"
        " --refine {params.refine} --mu-line {params.mu_line} --mu-random {params.mu_random}"
        " --zero-cost {params.zero_cost} --seed {params.seed} --out {output} > {log} 2>&1"


rule robustness_user:
    input:
        lambda w: user_entry(w.name)["path"],
    output:
        "results/robustness/user_{name}.json",
    params:
        lambdas=cli_list(ROB["realdata"]["lambdas"]),
        test_fraction=lambda w: user_entry(w.name)["test_fraction"],
        max_train=ROB["realdata"]["max_train"],
        refine=ROB["realdata"]["refine"],
        mu_line=ROB["mu_search"]["line"],
        mu_random=ROB["mu_search"]["random"],
        zero_cost=config["zero_cost"],
        seed=lambda w: seed_arg(f"user/{w.name}", 3002),
    wildcard_constraints:
        name="|".join(ROBUSTNESS_USER) if ROBUSTNESS_USER else "__none__",
    resources:
        runtime=10,
    conda:
        CONDA_ENV
    log:
        "results/logs/robustness/user_{name}.log",
    benchmark:
        "results/benchmarks/jobs/robustness/user_{name}.tsv"
    shell:
        "python -m dlgeom realdata --data {input} --label {wildcards.name} --projections auto"
        " --lambdas {params.lambdas} --test-fraction {params.test_fraction} --max-train {params.max_train}"
        " --refine {params.refine} --mu-line {params.mu_line} --mu-random {params.mu_random}"
        " --zero-cost {params.zero_cost} --seed {params.seed} --out {output} > {log} 2>&1"


localrules:
    robustness_tables,


rule robustness_tables:
    input:
        axes=ROBUSTNESS_AXIS_FILES,
        real=ROBUSTNESS_REAL_FILES,
    output:
        robustness=report("results/tables/robustness.csv", caption="../report/robustness_table.rst", category="Robustness"),
        summary=report("results/tables/robustness_summary.csv", caption="../report/robustness_summary.rst", category="Robustness"),
        optimisers="results/tables/robustness_optimisers.csv",
        realdata="results/tables/realdata.csv",
        real_summary=report("results/tables/realdata_summary.csv", caption="../report/realdata_summary.rst", category="Robustness"),
        claims="results/tables/robustness_claims.csv",
    params:
        outdir=lambda w, output: str(Path(output.claims).parent),
        zero_cost=config["zero_cost"],
        config_hash=CONFIG_HASH,
        seed=BASE_SEED,
    conda:
        CONDA_ENV
    log:
        "results/logs/robustness/tables.log",
    benchmark:
        "results/benchmarks/jobs/robustness/tables.tsv"
    shell:
        "python -m dlgeom robustness-tables --robustness {input.axes} --realdata {input.real} --out-dir {params.outdir}"
        " --zero-cost {params.zero_cost} --config-hash {params.config_hash} --seed {params.seed} > {log} 2>&1"


rule robustness_figure:
    input:
        rules.robustness_tables.output,
    output:
        png=report("results/figures/{rname}.png", caption="../report/robustness_figure.rst", category="Figures"),
        pdf="results/figures/{rname}.pdf",
    params:
        stem=lambda w, output: str(Path(output.png).with_suffix("")),
        tables=lambda w, input: str(Path(input[0]).parent),
        config_hash=CONFIG_HASH,
    wildcard_constraints:
        rname="robustness|realdata",
    conda:
        CONDA_ENV
    log:
        "results/logs/figures/{rname}.log",
    benchmark:
        "results/benchmarks/jobs/figures/{rname}.tsv"
    shell:
        "python -m dlgeom robustness-figure --name {wildcards.rname} --tables {params.tables} --out {params.stem}"
        " --config-hash {params.config_hash} > {log} 2>&1"
