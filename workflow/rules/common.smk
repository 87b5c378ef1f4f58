# Load and validate the config before any job runs; name the study and its folder; write each
# stage's settings file; expand the grid into cells.  A job's command gets its values from the
# stage's settings files (`JOB` hands them over), its key and its input and output files: the
# rules name files and wildcards only, every one quoted by Snakemake's `:q` (or `shlex.quote`).
import shlex
import sys
from pathlib import Path

from snakemake.settings.types import DeploymentMethod

# The repository root, found from this file (not workflow.basedir: when the study is used as a
# Snakemake module, workflow.basedir is the directory of the user's Snakefile).  Its src/ comes
# first on the path, so the workflow and every job run this repository's dlgeom.
ROOT = Path(workflow.current_basedir).parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dlgeom.study.config import expand_grid, load_schema, validate_config
from dlgeom.study.config_limits import check_config_files, check_config_limits, check_config_size
from dlgeom.study import FIGURES
from dlgeom.study.layout import check_no_truncated_outputs, stage_settings, study_name, write_settings
from dlgeom.study.provenance import CODE_ENV, CODE_PATHS, code_commit, write_machine_log
from dlgeom.study.runlock import claim_study_run
from dlgeom.validation import DlgeomInputError
from dlgeom.versions import check_versions


def _fail(msg):
    for line in str(msg).splitlines():  # every error of the config, one line each
        print(f"dlgeom: config error: {line}", file=sys.stderr)
    sys.exit(1)


# What the user wrote (--configfile files and --config values; the config itself when there are
# none): keys that depend on the grid and are not set there follow the grid (config.follow_grid).
_overrides = workflow.config_settings.overwrite_config
try:
    check_versions()  # a library older than pyproject.toml's lower bound is named before any job
    # sizes, duplicate keys and templating of the config files, before anything expands them
    check_config_files([ROOT / "config" / "config.yaml", *workflow.config_settings.configfiles])
    check_config_size(config)
except DlgeomInputError as exc:
    _fail(exc)
try:
    _validated = validate_config(
        config, load_schema(ROOT / "workflow" / "schemas" / "config.schema.yaml"), explicit=_overrides or None
    )
    check_config_limits(_validated)
except DlgeomInputError as exc:
    _validated = None
    _errors = str(exc).splitlines()
else:
    _errors = []
try:
    STUDY = study_name(_validated or config, _overrides)
except DlgeomInputError as exc:
    _errors.append(str(exc))
if _errors:
    _fail("\n".join(_errors))
config.clear()
config.update(_validated)
# one main run of a study per folder, with a message that says what to do; stale locks cleared
claim_study_run(workflow, ".", STUDY)

#: Every output of this run goes under OUT (one folder per study; nothing else writes there).
OUT = f"results/{STUDY}"
#: The study's figures folder, quoted for a shell command.
FIGURES_DIR = shlex.quote(f"{OUT}/figures")
SETTINGS = f"{OUT}/settings"
try:  # a truncated intermediate output is named before any job runs (and before Snakemake deletes anything)
    check_no_truncated_outputs(OUT)
except DlgeomInputError as exc:
    print(f"dlgeom: error: {exc}", file=sys.stderr)
    sys.exit(1)
write_settings(SETTINGS, stage_settings(config))  # the settings file of every stage, rewritten only on change


def settings(*stages):
    """The settings files of ``stages`` (inputs of their jobs: a changed value reruns exactly them)."""
    return [f"{SETTINGS}/{s}.json" for s in stages]


CELLS = expand_grid(config)
CELL_BY_KEY = {c.key: c for c in CELLS}
TABLES = [
    "claims",
    "constructions",
    "patterns",
    "degeneracy",
    "prop22",
    "curation",
    "phase",
    "landscape_endpoints",
    "landscape_basins",
    "landscape_shape",
    "landscape_paths",
    "landscape_slice",
    "landscape_levels",
    "landscape_minima",
]
LANDSCAPE_FILES = [
    f"{OUT}/landscape/{c}/runs_{s}.json" for c in config["landscape"]["cells"] for s in config["landscape"]["starts"]
] + [f"{OUT}/landscape/{c}/shape.json" for c in config["landscape"]["cells"]]
TABLE_FILES = [f"{OUT}/tables/{t}.csv" for t in TABLES] + [f"{OUT}/tables/claims.md"]
# claims rows of the other stages, appended to claims.csv by the aggregate rule
EXTRA_CLAIMS = [
    f"{OUT}/tables/robustness_claims.csv",
    f"{OUT}/tables/beyond_claims.csv",
    f"{OUT}/tables/collapse_claims.csv",
    f"{OUT}/tables/scaling_claims.csv",
]
STAGE_FIGURES = [
    "robustness",
    "realdata",
    "highdim",
    "sls",
    "shallow",
    "neural_collapse",
    "width_plus_one",
    "separation",
    "landscape_scaling",
]

# The interpreter that runs Snakemake runs every job (never an unrelated `python` from PATH),
# except under --software-deployment-method conda, where the rule's environment provides it.
_CONDA = DeploymentMethod.CONDA in (workflow.deployment_settings.deployment_method or ())
PY = "python" if _CONDA else shlex.quote(sys.executable)
DLGEOM = f"{PY} -m dlgeom"
# A job's command, handed the settings files of its stage (the input `settings`): every key is the
# default of the command's option of that name, and base_seed with the job's key gives its seed.
JOB = f"{DLGEOM} --settings {{input.settings:q}}"
# Every job runs single-threaded BLAS (parallelism is across jobs, and results do not depend on
# the thread count), the dlgeom code of this repository, and records the commit of the code and
# of the study's config files in its provenance.
_config_paths = []
for _f in [ROOT / "config" / "config.yaml", *workflow.config_settings.configfiles]:
    try:
        _config_paths.append(str(Path(_f).resolve().relative_to(ROOT.resolve())))
    except ValueError:
        pass  # a config file outside the repository: its hash is in the settings stamps
CODE_COMMIT = code_commit((*CODE_PATHS, *_config_paths), ROOT) or ""
shell.prefix(
    "export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1"
    f" {CODE_ENV}={shlex.quote(CODE_COMMIT)}"
    f" PYTHONPATH={shlex.quote(str(ROOT / 'src'))}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; "
)
CONDA_ENV = "../envs/dlgeom.yaml"


def user_entry(name):
    return next(d for d in config["datasets"] if d["name"] == name)


def grid_cell(w):
    """The Cell of the wildcard {cell}, or a one-line error naming the target."""
    try:
        return CELL_BY_KEY[w.cell]
    except KeyError:
        raise ValueError(
            f"{OUT}/cells/{w.cell}.json: not a cell of the configured grid "
            "(grid: Q, theta, delta_ratio; datasets: name, shrink)"
        ) from None


def cell_inputs(w):
    """A cell's settings files, and the user's data file for a user cell (none for a synthetic one)."""
    cell = grid_cell(w)
    if cell.kind == "user":
        return {"settings": settings("grid", f"dataset_{cell.name}"), "data": cell.path}
    return {"settings": settings("grid"), "data": []}


onerror:
    # Snakemake deletes the outputs of a failed job; their provenance sidecars go with them (a
    # sidecar never describes a file that is not there)
    from dlgeom.safe_write import SIDECAR_SUFFIX, remove_orphan_sidecars

    for _folder in sorted({p.parent for p in Path(OUT).rglob(f"*{SIDECAR_SUFFIX}")}):
        remove_orphan_sidecars(_folder)
