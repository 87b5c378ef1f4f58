# Load and validate the config before any job runs; expand the grid into cells.
import sys
from pathlib import Path

from dlgeom.study.config import cell_ids, config_hash, expand_grid, load_schema, validate_config
from dlgeom.study.figures import FIGURES
from dlgeom.validation import DlgeomInputError

ROOT = Path(workflow.basedir)

try:
    _validated = validate_config(config, load_schema(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
except DlgeomInputError as exc:
    print(f"dlgeom: config error: {exc}", file=sys.stderr)
    sys.exit(1)
config.clear()
config.update(_validated)

CELLS = expand_grid(config)
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
