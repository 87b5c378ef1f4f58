# dlgeom study: the grid over (Q, θ, δ-ratio) and user datasets, the landscape, robustness
# and beyond-the-paper stages, to tables, figures, claims.
# Thin by design: config and its validation, the rule files, and the final targets.
# Run:   make study, i.e. snakemake --workflow-profile workflow/profiles/default   (locally)
#        snakemake --workflow-profile workflow/profiles/slurm     (on a SLURM cluster)

from snakemake.utils import min_version

min_version("8.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/datasets.smk"
include: "workflow/rules/landscape.smk"
include: "workflow/rules/robustness.smk"
include: "workflow/rules/beyond.smk"
include: "workflow/rules/collapse.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/performance.smk"


report: "workflow/report/workflow.rst"


rule all:
    default_target: True
    input:
        TABLE_FILES,
        expand("results/figures/{name}.{ext}", name=FIGURES, ext=["png", "pdf"]),
        expand("results/figures/{name}.{ext}", name=STAGE_FIGURES, ext=["png", "pdf"]),
        expand("results/figures/{name}.{ext}", name=["scaling", "time_to_cost"], ext=["png", "pdf"]),
