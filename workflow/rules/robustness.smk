# Stage 2c: robustness beyond the paper's assumptions, beside the main grid: one job per
# robustness axis (every value x replicate, plus gradient training at a few values), one job per
# bundled real dataset (scikit-learn, no download) and per user dataset (the shrink sweep over λ).
# Config key `robustness` (workflow/schemas/config.schema.yaml).  Every axis uses the same seed
# prefix, so the base point is the same dataset on every axis.

ROB = config["robustness"]
ROBUSTNESS_AXES = [a for a, vals in ROB["axes"].items() if vals]
ROBUSTNESS_REAL = list(ROB["realdata"]["datasets"])
ROBUSTNESS_USER = [d["name"] for d in config["datasets"]] if ROB["realdata"]["user_datasets"] else []
ROBUSTNESS_AXIS_FILES = [f"{OUT}/robustness/axis_{a}.json" for a in ROBUSTNESS_AXES]
ROBUSTNESS_REAL_FILES = [f"{OUT}/robustness/real_{n}.json" for n in ROBUSTNESS_REAL] + [
    f"{OUT}/robustness/user_{n}.json" for n in ROBUSTNESS_USER
]
ROBUSTNESS_FILES = ROBUSTNESS_AXIS_FILES + ROBUSTNESS_REAL_FILES


rule robustness_axis:
    input:
        settings=lambda w: settings(f"robustness_axis_{w.axis}"),
    output:
        f"{OUT}/robustness/axis_{{axis}}.json",
    log:
        f"{OUT}/logs/robustness/axis_{{axis}}.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/robustness/axis_{{axis}}.tsv"
    wildcard_constraints:
        axis="|".join(ROBUSTNESS_AXES) if ROBUSTNESS_AXES else "__none__",
    conda:
        CONDA_ENV
    resources:
        runtime=10,
    shell:
        f"{JOB} robustness --axis {{wildcards.axis:q}} --out {{output:q}} > {{log:q}} 2>&1"


rule robustness_realdata:
    input:
        settings=settings("robustness_realdata"),
    output:
        f"{OUT}/robustness/real_{{name}}.json",
    log:
        f"{OUT}/logs/robustness/real_{{name}}.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/robustness/real_{{name}}.tsv"
    wildcard_constraints:
        name="iris|wine|breast_cancer|digits",
    conda:
        CONDA_ENV
    resources:
        runtime=10,
    shell:
        f"{JOB} realdata --name {{wildcards.name:q}} --out {{output:q}} > {{log:q}} 2>&1"


rule robustness_user:
    input:
        data=lambda w: user_entry(w.name)["path"],
        settings=lambda w: settings("robustness_realdata", f"dataset_{w.name}"),
    output:
        f"{OUT}/robustness/user_{{name}}.json",
    log:
        f"{OUT}/logs/robustness/user_{{name}}.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/robustness/user_{{name}}.tsv"
    wildcard_constraints:
        name="|".join(ROBUSTNESS_USER) if ROBUSTNESS_USER else "__none__",
    conda:
        CONDA_ENV
    resources:
        runtime=10,
    shell:
        f"{JOB} realdata --data {{input.data:q}} --out {{output:q}} > {{log:q}} 2>&1"


localrules:
    robustness_tables,


rule robustness_tables:
    input:
        axes=ROBUSTNESS_AXIS_FILES,
        real=ROBUSTNESS_REAL_FILES,
        settings=settings("robustness_tables"),
    output:
        robustness=report(
            f"{OUT}/tables/robustness.csv", caption="../report/robustness_table.rst", category="Robustness"
        ),
        summary=report(
            f"{OUT}/tables/robustness_summary.csv", caption="../report/robustness_summary.rst", category="Robustness"
        ),
        optimisers=f"{OUT}/tables/robustness_optimisers.csv",
        realdata=f"{OUT}/tables/realdata.csv",
        real_summary=report(
            f"{OUT}/tables/realdata_summary.csv", caption="../report/realdata_summary.rst", category="Robustness"
        ),
        claims=f"{OUT}/tables/robustness_claims.csv",
    log:
        f"{OUT}/logs/robustness/tables.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/robustness/tables.tsv"
    conda:
        CONDA_ENV
    shell:
        f"{JOB} robustness-tables --robustness {{input.axes:q}} --realdata {{input.real:q}} > {{log:q}} 2>&1"


rule robustness_figure:
    input:
        tables=rules.robustness_tables.output,
        settings=settings("figures"),
    output:
        png=report(f"{OUT}/figures/{{rname}}.png", caption="../report/robustness_figure.rst", category="Figures"),
        pdf=f"{OUT}/figures/{{rname}}.pdf",
    log:
        f"{OUT}/logs/figures/{{rname}}.log",
    benchmark:
        f"{OUT}/benchmarks/jobs/figures/{{rname}}.tsv"
    wildcard_constraints:
        rname="robustness|realdata",
    conda:
        CONDA_ENV
    shell:
        f"{JOB} robustness-figure --out {FIGURES_DIR}/{{wildcards.rname:q}} > {{log:q}} 2>&1"
