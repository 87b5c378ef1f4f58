# dlgeom study: the grid over (Q, θ, δ-ratio) and user datasets, the landscape, robustness
# and beyond-the-paper stages, to tables, figures, claims.  Every output goes to results/<study>/.
# Thin by design: config and its validation, the rule files, and the final targets.
# Run:   snakemake --cores all                               the default study (results/default/)
#        snakemake --cores all --configfile my.yaml           your study (`study: NAME` in my.yaml)
#        snakemake --workflow-profile profiles/slurm ...     on a SLURM cluster
# Snakemake loads profiles/default (keep-going, rerun-incomplete, greedy scheduler) by itself.

import compileall
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")


# the default study's config, found from this file (so `snakemake -d elsewhere` works too)
configfile: str(Path(workflow.current_basedir) / "config" / "config.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/datasets.smk"
include: "workflow/rules/landscape.smk"
include: "workflow/rules/scaling.smk"
include: "workflow/rules/robustness.smk"
include: "workflow/rules/beyond.smk"
include: "workflow/rules/collapse.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/figures.smk"


report: "workflow/report/workflow.rst"


# The machine a run ran on (CPU, the pinned BLAS kernel and numpy dispatch actually in force: see
# dlgeom/cpu_pin.py), in the run's logs, which are not committed: the outputs' sidecars record only
# what decides their bytes.
onstart:
    write_machine_log(f"{OUT}/logs/machine.json")
    # Every job imports dlgeom from src/: compile it to bytecode once here rather than in each job
    # (jobs cannot cache it where PYTHONDONTWRITEBYTECODE is set; about 0.1 s per job).
    compileall.compile_dir(str(ROOT / "src" / "dlgeom"), quiet=2)


rule all:
    default_target: True
    input:
        TABLE_FILES,
        f"{OUT}/report/verdicts.html",
        expand(f"{OUT}/figures/{{name}}.{{ext}}", name=FIGURES, ext=["png", "pdf"]),
        expand(f"{OUT}/figures/{{name}}.{{ext}}", name=STAGE_FIGURES, ext=["png", "pdf"]),
