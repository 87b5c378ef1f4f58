# Load and validate the config before any job runs; expand the grid into cells.
import sys
from pathlib import Path

from dlgeom.study.runlock import claim_study_run
from dlgeom.study.config import cell_ids, config_hash, expand_grid, load_schema, validate_config
from dlgeom.study import FIGURES
from dlgeom.validation import DlgeomInputError

ROOT = Path(workflow.basedir)

try:
    _validated = validate_config(config, load_schema(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
except DlgeomInputError as exc:
    print(f"dlgeom: config error: {exc}", file=sys.stderr)
    sys.exit(1)
config.clear()
config.update(_validated)
claim_study_run(workflow)  # one main run per working directory, with a message that says what to do

CELLS = expand_grid(config)
CELL_BY_KEY = {c.key: c for c in CELLS}
CONFIG_HASH = config_hash(config)
BASE_SEED = config["base_seed"]
TABLES = ["claims", "constructions", "patterns", "degeneracy", "prop22", "curation", "phase",
          "landscape_endpoints", "landscape_basins", "landscape_shape", "landscape_paths", "landscape_slice",
          "landscape_levels", "landscape_minima"]
LANDSCAPE_FILES = [f"results/landscape/{c}/runs_{s}.json" for c in config["landscape"]["cells"]
                   for s in config["landscape"]["starts"]] + [
                   f"results/landscape/{c}/shape.json" for c in config["landscape"]["cells"]]
TABLE_FILES = [f"results/tables/{t}.csv" for t in TABLES] + ["results/tables/claims.md"]
# claims rows of the other stages, appended to claims.csv by the aggregate rule
EXTRA_CLAIMS = ["results/tables/robustness_claims.csv", "results/tables/beyond_claims.csv"]
STAGE_FIGURES = ["robustness", "realdata", "highdim", "sls", "shallow"]
CURATION_CELL = f"Q{config['figures']['curation_Q']}/thetaregular/r{config['figures']['curation_delta_ratio']!r}"
# Every job runs single-threaded BLAS (parallelism is across jobs, and results do not depend on
# the thread count) and the dlgeom code of this repository, whatever Python environment runs it.
shell.prefix(
    "export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1"
    f" PYTHONPATH='{ROOT / 'src'}'${{{{PYTHONPATH:+:$PYTHONPATH}}}}; "
)
CONDA_ENV = "../envs/dlgeom.yaml"


def seed_arg(key, *more):
    """The comma-separated seed prefix of a cell: base_seed, two ids from its key, extras."""
    return ",".join(str(x) for x in [BASE_SEED, *cell_ids(key), *more])


def user_entry(name):
    return next(d for d in config["datasets"] if d["name"] == name)


def grid_cell(w):
    """The Cell of the wildcard {cell}, or a one-line error naming the target."""
    try:
        return CELL_BY_KEY[w.cell]
    except KeyError:
        raise ValueError(f"results/cells/{w.cell}.json: not a cell of the configured grid "
                         "(grid: Q, theta, delta_ratio; datasets: name, shrink)") from None


def cell_inputs(w):
    """The user's data file for a user cell; nothing for a synthetic one."""
    cell = grid_cell(w)
    return [cell.path] if cell.kind == "user" else []


def data_command(cell, outdir):
    """The `python -m dlgeom` arguments that write the datasets of ``cell`` to ``outdir``."""
    seed = seed_arg(cell.key)
    if cell.kind == "user":
        return (f"prepare-data --data {cell.path} --shrink {cell.shrink} --test-fraction {cell.test_fraction}"
                f" --replicates {config['replicates']} --seed {seed} --out-dir {outdir}")
    theta = "" if cell.theta == "regular" else f" --theta {cell.theta}"
    return (f"make-data --Q {cell.Q}{theta} --delta-ratio {cell.delta_ratio} --n {config['n_per_class']}"
            f" --test-n {config['n_test_per_class']} --noise {config['noise']}"
            f" --replicates {config['replicates']} --seed {seed} --out-dir {outdir}")
