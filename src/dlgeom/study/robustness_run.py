"""Study runners of the robustness study and their command-line subcommands.

``dlgeom robustness``: one axis (one factor at a time from a base point, every value, every
replicate), plus gradient training at a few of its values.  ``dlgeom realdata``: one real
dataset (scikit-learn's bundled ones, or a user's file), projected to R^Q, and the shrink sweep
over λ for each projection.  Both write one JSON file that stores its seeds; same arguments, same
bytes (no timings are stored; they go to the progress lines on stderr).

Seeds.  Axis point (value v, replicate k): data SeedSequence([*seed, k, 0]) (train),
[*seed, k, 1] (test), [*seed, k, 2] (label flips), μ search [*seed, k, 3], gradient training
[*seed, k, 4].  The data seeds do not depend on v (common random numbers): along an axis only the
factor changes, and with the same ``--seed`` the base point is the same on every axis.  Real data:
split [*seed, 0], subsample [*seed, 1], μ search [*seed, 2].
"""

from __future__ import annotations

import time
from pathlib import Path

from .. import __version__
from ..argtypes import check_inputs_exist
from ..jsonutil import write_json
from ..robustness import optimiser_comparison
from ..thresholds import ZERO_COST
from ..validation import ConfigErrors, DlgeomInputError, check_choice, check_float, check_int
from . import stage_logger
from .jobs import OUT_DIR_HELP, figure_defaults, job_seed, seed_text
from .measurements import make_point, measure_point
from .robustness_axes import AXES, BASE, parse_axis_value, point_params
from .seeds import seed_list as _seed

__all__ = [
    "axis_x",
    "cli_list",
    "register",
    "run_axis",
    "run_optimisers",
    "run_realdata",
    "validate_robustness_config",
]

#: Sweep-row values a real-data summary repeats at λ = 1 (the data as given), as ``<key>_at_lambda1``.
LAMBDA1_KEYS = ("acc_metric", "acc_best", "acc_ncm", "acc_logreg", "silhouette", "davies_bouldin")


def axis_x(axis: str, value, q: int, index: int) -> float:
    """A number to plot the value at: the value itself, θ of the regular simplex for 'regular',
    and the position in the list for the noise shapes."""
    from ..synthetic import regular_cone_angle

    if axis == "noise":
        return float(index)
    if axis == "theta" and value == "regular":
        return float(regular_cone_angle(q))
    return float(value)


def _realised(train) -> dict:
    """What the perturbations realised (from the training set's meta)."""
    meta = train.meta
    counts = train.counts
    return {
        "realised_label_noise": meta.get("label_noise", {}).get("realised", 0.0),
        "realised_outlier_fraction": meta.get("n_outliers", 0) / train.n_points,
        "realised_imbalance": float(counts.max() / counts.min()),
        "realised_cond_target": meta.get("means", {}).get("cond_xred", float("nan")),
    }


def run_axis(
    axis: str,
    values,
    base: dict | None = None,
    seed_prefix=(0,),
    replicates: int = 3,
    layers_offset: int = 0,
    zero_cost: float = ZERO_COST,
    n_line: int = 9,
    n_random: int = 16,
    log=lambda msg: None,
) -> list[dict]:
    """Rows of :func:`.measurements.measure_point` for every (value, replicate) of one axis, with
    the axis, the value (text and number ``x``), the seeds and the realised perturbation."""
    check_choice(axis, "axis", tuple(AXES))
    base = dict(base or {})
    values = [parse_axis_value(axis, v) for v in values]
    if not values:
        raise DlgeomInputError("values: give at least one value")
    if len({str(v) for v in values}) != len(values):
        raise DlgeomInputError(f"values: must be distinct, got {', '.join(map(str, values))}")
    replicates = check_int(replicates, "replicates", minimum=1)
    layers_offset = check_int(layers_offset, "layers_offset", minimum=0)
    params = [point_params(base, axis, v) for v in values]  # validate everything before any work
    rows = []
    for i, (v, p) in enumerate(zip(values, params)):
        for k in range(replicates):
            t0 = time.perf_counter()
            train, test = make_point(p, _seed(seed_prefix, k))
            q = train.n_classes
            row = {
                "axis": axis,
                "value": str(v),
                "x": axis_x(axis, v, q, i),
                "replicate": k,
                "seed": "-".join(map(str, _seed(seed_prefix, k))),
                **_realised(train),
            }
            row.update(
                measure_point(train, test, q + layers_offset, zero_cost, n_line, n_random, _seed(seed_prefix, k, 3))
            )
            rows.append(row)
            log(
                f"{axis}={v} replicate {k}: all_hold={row.get('all_hold')} C_default={row['cost_default']:.3g} "
                f"C_best={row['cost_best']:.3g} status={row['status']} ({time.perf_counter() - t0:.2f} s)"
            )
    return rows


def run_optimisers(
    axis: str,
    values,
    base: dict | None = None,
    seed_prefix=(0,),
    optimisers=("lbfgs", "gd", "adam"),
    runs: int = 10,
    max_iter: int = 500,
    layers_offset: int = 0,
    log=lambda msg: None,
) -> list[dict]:
    """Gradient training (He starts) on replicate 0 of the given axis values, as rows."""
    base = dict(base or {})
    rows = []
    for v in values:
        v = parse_axis_value(axis, v)
        train, _ = make_point(point_params(base, axis, v), _seed(seed_prefix, 0))
        t0 = time.perf_counter()
        found = optimiser_comparison(
            train, train.n_classes + layers_offset, optimisers, runs, max_iter, _seed(seed_prefix, 0, 4)
        )
        rows.extend({"axis": axis, "value": str(v), "replicate": 0, **r} for r in found)
        zero = {o: sum(r["zero"] for r in found if r["optimiser"] == o) for o in optimisers}
        log(
            f"{axis}={v}: gradient training reaches zero in "
            + ", ".join(f"{o} {z}/{runs}" for o, z in zero.items())
            + f" ({time.perf_counter() - t0:.2f} s)"
        )
    return rows


def run_realdata(
    name: str | None = None,
    lambdas=(0.0, 0.5, 1.0),
    seed_prefix=(0,),
    test_fraction: float = 0.3,
    projections=("lda",),
    max_train: int = 0,
    path=None,
    refine_steps: int = 6,
    zero_cost: float = ZERO_COST,
    n_line: int = 9,
    n_random: int = 16,
    log=lambda msg: None,
) -> tuple[list[dict], list[dict]]:
    """The shrink sweep of one dataset for every projection: (rows, summaries).  ``name`` is a
    bundled dataset (``path`` None) or the label of a user's file ``path``; a user's file with
    exactly Q columns may use projection 'none' ('auto' picks 'none' for such a file and 'lda'
    otherwise)."""
    from ..realdata import REAL_DATASETS, load_real, load_table, prepare
    from .measurements import shrink_sweep

    if name is None and path is None:
        raise DlgeomInputError("name/data: give a bundled dataset name or a data file")
    if path is None:
        check_choice(name, "--name", REAL_DATASETS)
        X, y, meta = load_real(name)
    else:
        X, y, meta = load_table(path)
        name = name or meta["name"]
    test_fraction = check_float(test_fraction, "test_fraction", low=0.0, high=1.0, low_open=True, high_open=True)
    rows, summaries = [], []
    for proj in projections:
        if proj == "auto":  # a user's file already in the paper's format is used as it is
            proj = "none" if X.shape[1] == meta["Q"] else "lda"
        t0 = time.perf_counter()
        train, test, info = prepare(X, y, meta, proj, test_fraction, seed_prefix, max_train)
        log(
            f"{name} [{proj}]: Q={train.n_classes}, {train.n_points} train / {test.n_points} test points, "
            f"cond(X^red)={info['cond_xred']:.4g}"
        )
        sweep, summary = shrink_sweep(
            train,
            test,
            lambdas,
            None,
            zero_cost,
            n_line,
            n_random,
            _seed(seed_prefix, 2),
            refine_steps,
            log=lambda m, p=proj: log(f"{name} [{p}] {m}"),
        )
        for r in sweep:
            rows.append({"dataset": name, "projection": proj, **r})
        at1 = next((r for r in sweep if r["lambda"] == 1.0), {})  # the data as given (NaN if λ = 1 is not swept)
        summaries.append(
            {
                "dataset": name,
                "projection": proj,
                **{k: v for k, v in info.items() if k != "classes"},
                **summary,
                **{f"{k}_at_lambda1": at1.get(k, float("nan")) for k in LAMBDA1_KEYS},
            }
        )
        log(
            f"{name} [{proj}]: lambda_assumptions={summary['lambda_assumptions']} "
            f"lambda_zero_any={summary['lambda_zero_any_refined']} ({time.perf_counter() - t0:.2f} s)"
        )
    return rows, summaries


def validate_robustness_config(cfg: dict) -> None:
    """Semantic checks of the (schema-validated, defaults filled) ``robustness`` config key, for
    the study's config validation: every axis value valid and θ reachable for the base Q, values
    distinct, gradient-training points among their axis's values, λ distinct.  Raises
    :class:`ConfigErrors` with every error, one line each naming the key."""
    from ..synthetic import max_cone_angle, regular_cone_angle

    rob = cfg.get("robustness", cfg)
    base = rob["base"]
    q = int(base["Q"])
    errors = []

    def theta_error(t, key):
        if t == "regular":
            return None
        if q == 2:
            return f"config key '{key}': base Q = 2 has no cone-angle axis; use 'regular'"
        lo, hi = regular_cone_angle(q), max_cone_angle(q)
        if not lo <= float(t) <= hi:
            return f"config key '{key}': {t} is not reachable for Q = {q}; allowed [{lo:.4f}, {hi:.4f}] (or 'regular')"
        return None

    errors.append(theta_error(base["theta"], "robustness.base.theta"))
    parsed = {}
    for axis, values in rob["axes"].items():
        out = []
        for i, v in enumerate(values):
            key = f"robustness.axes.{axis}[{i}]"
            try:
                out.append(parse_axis_value(axis, v))
            except DlgeomInputError as exc:
                errors.append(f"config key '{key}': {exc}")
                continue
            if axis == "theta":
                errors.append(theta_error(v, key))
        if len({str(v) for v in out}) != len(out):
            errors.append(f"config key 'robustness.axes.{axis}': values must be distinct")
        parsed[axis] = out
    for axis, values in rob["optimisers"]["points"].items():
        if not values:
            continue
        if axis not in parsed or not parsed[axis]:
            errors.append(
                f"config key 'robustness.optimisers.points.{axis}': not an axis of robustness.axes "
                f"with values (axes: {', '.join(a for a, v in parsed.items() if v) or 'none'})"
            )
            continue
        for i, v in enumerate(values):
            key = f"robustness.optimisers.points.{axis}[{i}]"
            try:
                pv = parse_axis_value(axis, v)
            except DlgeomInputError as exc:
                errors.append(f"config key '{key}': {exc}")
                continue
            if str(pv) not in {str(x) for x in parsed[axis]}:
                errors.append(f"config key '{key}': {v} is not one of the values of robustness.axes.{axis}")
    lams = rob["realdata"]["lambdas"]
    if len(set(map(float, lams))) != len(lams):
        errors.append("config key 'robustness.realdata.lambdas': values must be distinct")
    errors = [e for e in errors if e]
    if errors:
        raise ConfigErrors(errors)


def cli_list(values) -> str:
    """Values for a comma-separated command-line option (floats by repr, strings as they are)."""
    return ",".join(v if isinstance(v, str) else repr(v) for v in values)


# ---- command line ------------------------------------------------------------------------------


def _list(text: str) -> list[str]:
    return [t.strip() for t in str(text).split(",") if t.strip()]


def _ints(text: str, name: str) -> list[int]:
    try:
        out = [int(t) for t in _list(text)]
    except ValueError:
        raise DlgeomInputError(f"{name}: expected comma-separated non-negative integers, got {text!r}") from None
    if not out or any(s < 0 for s in out):
        raise DlgeomInputError(f"{name}: expected comma-separated non-negative integers, got {text!r}")
    return out


def _floats(text: str, name: str) -> list[float]:
    try:
        return [float(t) for t in _list(text)]
    except ValueError:
        raise DlgeomInputError(f"{name}: expected comma-separated numbers, got {text!r}") from None


def _check_out(path: str) -> Path:
    out = Path(path)
    if out.suffix.lower() != ".json":
        raise DlgeomInputError(f"--out: must end in .json, got {path!r}")
    return out


def _cmd_robustness(args) -> dict:
    from ..landscape import OPTIMISERS

    t0 = time.perf_counter()
    log = stage_logger(args.quiet)
    axis = check_choice(args.axis, "--axis", tuple(AXES))
    out = _check_out(args.out)
    seed = _ints(args.seed, "--seed")
    values = _list(args.values)
    if not values:
        raise DlgeomInputError("--values: give at least one value")
    base = {
        "Q": check_int(args.base_Q, "--base-Q", minimum=2, maximum=10),
        "theta": args.base_theta,
        "delta_ratio": args.base_delta_ratio,
        "noise": args.base_noise,
        "elongation": args.base_elongation,
        "outlier_fraction": args.outliers,
        "label_noise": args.label_noise,
        "imbalance": args.imbalance,
        "n_per_class": check_int(args.base_n_per_class, "--base-n-per-class", minimum=2, maximum=100000),
        "n_test_per_class": check_int(args.n_test_per_class, "--n-test-per-class", minimum=1, maximum=100000),
    }
    for key in ("theta", "delta_ratio", "noise", "elongation", "outlier_fraction", "label_noise", "imbalance"):
        if key != axis:
            parse_axis_value(key, base[key])
    opt_at = _list(args.optimisers_points)
    for v in opt_at:
        parse_axis_value(axis, v)
    optimisers = _list(args.optimisers)
    for o in optimisers:
        check_choice(o, "--optimisers", OPTIMISERS)
    check_int(args.optimisers_runs, "--optimisers-runs", minimum=1)
    check_int(args.optimisers_max_iter, "--optimisers-max-iter", minimum=1)
    check_int(args.mu_search_line, "--mu-search-line", minimum=1)
    check_int(args.mu_search_random, "--mu-search-random", minimum=0)
    check_float(args.zero_cost, "--zero-cost", low=0.0, low_open=True)
    rows = run_axis(
        axis,
        values,
        base,
        seed,
        args.replicates,
        args.layers_offset,
        args.zero_cost,
        args.mu_search_line,
        args.mu_search_random,
        log,
    )
    opt_rows = (
        run_optimisers(
            axis,
            opt_at,
            base,
            seed,
            optimisers,
            args.optimisers_runs,
            args.optimisers_max_iter,
            args.layers_offset,
            log,
        )
        if opt_at
        else []
    )
    result = {
        "kind": "robustness",
        "dlgeom_version": __version__,
        "axis": axis,
        "description": AXES[axis],
        "values": values,
        "base": {**BASE, **base},
        "seed": seed,
        "replicates": args.replicates,
        "layers_offset": args.layers_offset,
        "zero_cost": args.zero_cost,
        "mu_search": {"line": args.mu_search_line, "random": args.mu_search_random},
        "optimisers": {
            "at": opt_at,
            "optimisers": optimisers,
            "runs": args.optimisers_runs,
            "max_iter": args.optimisers_max_iter,
        },
        "rows": rows,
        "optimiser_rows": opt_rows,
    }
    write_json(result, out)
    log(f"wrote {out} ({len(rows)} points, {len(opt_rows)} training runs) in {time.perf_counter() - t0:.2f} s")
    return result


def _cmd_realdata(args) -> dict:
    from ..realdata import PROJECTIONS, REAL_DATASETS

    t0 = time.perf_counter()
    log = stage_logger(args.quiet)
    out = _check_out(args.out)
    if (args.name is None) == (args.data is None):
        raise DlgeomInputError("--name/--data: give exactly one of them (a bundled dataset name, or a data file)")
    if args.data is None:
        check_choice(args.name, "--name", REAL_DATASETS)
    seed = _ints(args.seed, "--seed")
    lambdas = _floats(args.lambdas, "--lambdas")
    if not lambdas:
        raise DlgeomInputError("--lambdas: give at least one λ >= 0")
    for lam in lambdas:
        check_float(lam, "--lambdas", low=0.0)
    projections = _list(args.projections)
    if not projections:
        raise DlgeomInputError("--projections: give at least one of " + ", ".join(PROJECTIONS))
    for p in projections:
        check_choice(p, "--projections", PROJECTIONS + ("auto",))
    check_float(args.test_fraction, "--test-fraction", low=0.0, high=1.0, low_open=True, high_open=True)
    check_int(args.max_train, "--max-train", minimum=0)
    check_int(args.refine, "--refine", minimum=0)
    rows, summaries = run_realdata(
        args.label or args.name,
        lambdas,
        seed,
        args.test_fraction,
        projections,
        args.max_train,
        args.data,
        args.refine,
        args.zero_cost,
        args.mu_search_line,
        args.mu_search_random,
        log,
    )
    result = {
        "kind": "realdata",
        "dlgeom_version": __version__,
        "dataset": rows[0]["dataset"] if rows else args.name,
        "data": Path(args.data).name if args.data else None,
        "seed": seed,
        "lambdas": lambdas,
        "projections": projections,
        "test_fraction": args.test_fraction,
        "max_train": args.max_train,
        "refine": args.refine,
        "zero_cost": args.zero_cost,
        "mu_search": {"line": args.mu_search_line, "random": args.mu_search_random},
        "rows": rows,
        "summary": summaries,
    }
    write_json(result, out)
    log(f"wrote {out} in {time.perf_counter() - t0:.2f} s")
    return result


def register(sub) -> dict:
    """Add the ``robustness`` and ``realdata`` subcommands to the CLI's subparsers; returns
    {name: handler}."""
    r = sub.add_parser(
        "robustness",
        help="one robustness axis beyond the paper's assumptions (JSON)",
        description="Move one factor away from a base point (" + ", ".join(AXES) + ") and measure, "
        "per value and replicate: the assumptions and their margins, zero cost at the "
        "default μ and at any searched μ, held-out accuracy against nearest-mean and "
        "logistic regression baselines; optionally gradient training at a few values.",
    )
    r.add_argument("--axis", required=True, help="one of: " + ", ".join(AXES))
    r.add_argument(
        "--values", required=True, help="comma-separated axis values (θ: radians or 'regular'; noise: shapes)"
    )
    r.add_argument(
        "--base-Q", "--Q", type=int, default=BASE["Q"], help=f"base: classes = dimension (default {BASE['Q']})"
    )
    r.add_argument(
        "--base-theta", "--theta", default=BASE["theta"], help="base: cone angle of the mean simplex (default regular)"
    )
    r.add_argument(
        "--base-delta-ratio",
        "--delta-ratio",
        type=float,
        default=BASE["delta_ratio"],
        help="base: δ-ratio r (default 0.1)",
    )
    r.add_argument(
        "--base-noise",
        "--noise",
        default=BASE["noise"],
        help="base: uniform, gaussian or anisotropic (default uniform)",
    )
    r.add_argument(
        "--base-elongation",
        "--elongation",
        type=float,
        default=BASE["elongation"],
        help="base: anisotropic axis ratio (default 5)",
    )
    r.add_argument(
        "--outliers", type=float, default=BASE["outlier_fraction"], help="base: outlier fraction (default 0)"
    )
    r.add_argument(
        "--label-noise", type=float, default=BASE["label_noise"], help="base: label-noise fraction (default 0)"
    )
    r.add_argument("--imbalance", type=float, default=BASE["imbalance"], help="base: N_max/N_min (default 1)")
    r.add_argument(
        "--base-n-per-class",
        "--n",
        type=int,
        default=BASE["n_per_class"],
        help="base: training points per class (default 60)",
    )
    r.add_argument(
        "--n-test-per-class",
        "--test-n",
        type=int,
        default=BASE["n_test_per_class"],
        help="held-out points per class (default 100)",
    )
    r.add_argument("--replicates", type=int, default=5, help="datasets per value (default 5)")
    r.add_argument("--layers-offset", type=int, default=0, help="L = Q + offset (default 0)")
    r.add_argument(
        "--mu-search-line", "--mu-line", type=int, default=9, help="μ search: points per line family (default 9)"
    )
    r.add_argument(
        "--mu-search-random", "--mu-random", type=int, default=16, help="μ search: random draws (default 16)"
    )
    r.add_argument(
        "--optimisers-points",
        "--optimiser-at",
        default="",
        help="comma-separated axis values for gradient training (default none)",
    )
    r.add_argument("--optimisers", default="lbfgs,gd,adam", help="comma-separated: lbfgs, gd, adam")
    r.add_argument(
        "--optimisers-runs",
        "--optimiser-runs",
        type=int,
        default=10,
        help="He-initialised runs per optimiser (default 10)",
    )
    r.add_argument(
        "--optimisers-max-iter", "--optimiser-iter", type=int, default=500, help="iterations per run (default 500)"
    )
    r.add_argument("--zero-cost", type=float, default=ZERO_COST, help="C at or below this counts as zero")
    r.add_argument("--seed", default="0", help="seed prefix: comma-separated non-negative integers")
    r.add_argument("--out", required=True, help="output JSON")
    r.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    r.set_defaults(seed_key=job_seed("robustness", "robustness"))

    d = sub.add_parser(
        "realdata",
        help="real data projected to R^Q: assumptions and the shrink sweep over λ (JSON)",
        description="Load a bundled scikit-learn dataset (iris, wine, breast_cancer, digits; "
        "no download) or a data file, standardise, project to Q dimensions (LDA to Q-1 "
        "plus a constant coordinate, or alternatives), split, and sweep the shrink factor "
        "λ toward the class means: assumptions, zero cost, accuracy against baselines, "
        "and the λ thresholds.",
    )
    d.add_argument("--name", default=None, help="bundled dataset: iris, wine, breast_cancer or digits")
    d.add_argument("--data", default=None, help="or a data file: .csv (label column + numeric features) or .npz (X, y)")
    d.add_argument(
        "--label",
        default=None,
        help="name of the dataset in the tables (default: --name or the file stem); not a column: a CSV's "
        "class labels are its column named `label`",
    )
    d.add_argument(
        "--projections",
        default="lda,simplex",
        help="comma-separated: lda, simplex, pca, none, auto (none if the data have Q columns, else lda); "
        "default lda,simplex",
    )
    d.add_argument(
        "--lambdas",
        default=",".join(f"{k / 20:g}" for k in range(21)),
        help="comma-separated shrink factors λ >= 0 (default 0, 0.05, ..., 1)",
    )
    d.add_argument("--test-fraction", type=float, default=0.3, help="held-out fraction per class (default 0.3)")
    d.add_argument("--max-train", type=int, default=0, help="subsample the training part to this many points (0: all)")
    d.add_argument("--refine", type=int, default=6, help="bisection steps for the last λ with zero cost (default 6)")
    d.add_argument(
        "--mu-search-line", "--mu-line", type=int, default=9, help="μ search: points per line family (default 9)"
    )
    d.add_argument(
        "--mu-search-random", "--mu-random", type=int, default=16, help="μ search: random draws (default 16)"
    )
    d.add_argument("--zero-cost", type=float, default=ZERO_COST, help="C at or below this counts as zero")
    d.add_argument("--seed", default="0", help="seed prefix: comma-separated non-negative integers")
    d.add_argument("--out", required=True, help="output JSON")
    d.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    d.set_defaults(seed_key=_realdata_seed)

    t = sub.add_parser(
        "robustness-tables",
        help="robustness and real-data JSONs -> tables and claims rows",
        description="Write robustness.csv, robustness_summary.csv, robustness_optimisers.csv, "
        "realdata.csv, realdata_summary.csv and robustness_claims.csv.",
    )
    t.add_argument("--robustness", nargs="*", default=[], help="JSON files of dlgeom robustness")
    t.add_argument("--realdata", nargs="*", default=[], help="JSON files of dlgeom realdata")
    t.add_argument("--out-dir", required=True, help=OUT_DIR_HELP.format("tables"))
    t.add_argument("--zero-cost", type=float, default=ZERO_COST)
    t.add_argument("--config-hash", default=None, help="recorded in the provenance sidecars")
    t.add_argument("--seed", default=None, help="base seed, recorded in the provenance")
    t.set_defaults(seed_key=job_seed(), check_inputs=("robustness", "realdata"), study_out_dir="tables")

    f = sub.add_parser(
        "robustness-figure",
        help="the robustness or real-data figure (PNG and PDF)",
        description="Draw the robustness (one panel per axis) or real-data (λ curves) figure from "
        "the tables of dlgeom robustness-tables (byte-stable PNG and PDF).",
    )
    f.add_argument("--name", default=None, help="robustness or realdata (default: the name of --out)")
    f.add_argument(
        "--tables",
        default=None,
        help="directory of the tables (default: the study's tables/ beside the folder of --out)",
    )
    f.add_argument("--out", required=True, help="output stem (writes STEM.png and STEM.pdf)")
    f.add_argument("--zero-cost", type=float, default=ZERO_COST, help="realdata: the dotted line C = this")
    f.add_argument("--config-hash", default=None, help="recorded in the provenance sidecars")
    return {
        "robustness": _cmd_robustness,
        "realdata": _cmd_realdata,
        "robustness-tables": _cmd_tables,
        "robustness-figure": _cmd_figure,
    }


def _realdata_seed(args, base_seed) -> str:
    """``realdata``'s seed: a user's data file on the stream ``user_data`` (key ``user/<label>``),
    a bundled dataset on the stream ``realdata`` (key ``realdata``: one split per dataset name)."""
    if args.data is not None:
        return seed_text(base_seed, f"user/{args.label}", "user_data")
    return seed_text(base_seed, "realdata", "realdata")


def _cmd_tables(args) -> dict:
    import pandas as pd

    from .provenance import write_provenance
    from .robustness_report import (
        read_robustness_tables,
        robustness_claims,
        write_robustness_tables,
    )
    from .tables import write_csv
    from .verdicts import COLUMNS as CLAIMS_COLUMNS

    inputs = list(args.robustness) + list(args.realdata)
    check_inputs_exist(inputs, "--robustness/--realdata")
    for p in inputs:
        if Path(p).suffix.lower() != ".json":
            raise DlgeomInputError(f"--robustness/--realdata: expected JSON files, got {p}")
    check_float(args.zero_cost, "--zero-cost", low=0.0, low_open=True)
    seed = _ints(args.seed, "--seed") if args.seed is not None else None
    written = write_robustness_tables(args.robustness, args.realdata, args.out_dir)
    t = read_robustness_tables(args.out_dir)
    claims = pd.DataFrame(
        robustness_claims(
            t["robustness"], t["realdata"], t["realdata_summary"], t["robustness_optimisers"], args.zero_cost
        ),
        columns=CLAIMS_COLUMNS,
    )
    written.append(write_csv(claims, Path(args.out_dir) / "robustness_claims.csv"))
    for p in written:
        write_provenance(p, inputs, "dlgeom robustness-tables", args.config_hash, seed)
    print(f"wrote {len(written)} tables to {args.out_dir}")
    return {}


def _cmd_figure(args) -> dict:
    from .figures import publish_figure
    from .robustness_report import fig_realdata, fig_robustness, read_robustness_tables

    figure_defaults(args, ("robustness", "realdata"))
    name = check_choice(args.name, "--name", ("robustness", "realdata"))
    zero = check_float(args.zero_cost, "--zero-cost", low=0.0, low_open=True)
    tables = Path(args.tables)
    need = ("robustness_summary", "robustness_optimisers") if name == "robustness" else ("realdata", "realdata_summary")
    missing = [n for n in need if not (tables / f"{n}.csv").is_file()]
    if missing:
        raise DlgeomInputError(
            f"--tables: {tables / (missing[0] + '.csv')} does not exist; run dlgeom robustness-tables first"
        )
    t = read_robustness_tables(tables)
    fig = (
        fig_robustness(t["robustness_summary"], t["robustness_optimisers"])
        if name == "robustness"
        else fig_realdata(t["realdata"], t["realdata_summary"], zero)
    )
    publish_figure(
        fig, args.out, [tables / f"{n}.csv" for n in need], f"dlgeom robustness-figure --name {name}", args.config_hash
    )
    return {}
