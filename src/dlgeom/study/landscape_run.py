"""The landscape stage's runner and its command-line subcommands: on one dataset, optimiser runs from
random and perturbed starts, end-point classification, Hessian spectra at the constructed minima,
μ-paths and a 2D slice.  Returns plain rows for tables; a diverged run is a row with its status.

:func:`register` adds ``landscape`` (one JSON per cell and start type, optionally the end points'
parameter vectors as .npz) and the scaling stage's ``landscape-scaling`` (one JSON per Q:
:func:`run_landscape_scaling`), ``landscape-scaling-tables`` and ``landscape-scaling-figure``; the
tables, claims and figures are in :mod:`.landscape_report`.
"""

from __future__ import annotations

import time

import numpy as np

from ..argtypes import float_list, int_list
from ..batched import check_kernel, fused_unavailable, optimise_batch
from ..construct import construct_global, construct_pattern, default_mu
from ..data import Dataset
from ..degeneracy import relative_margin
from ..geometry import assumptions, geometry
from ..landscape import (
    HESS_ZERO_RTOL,
    INIT_SCHEMES,
    align_to,
    canonical_rescale,
    classify_endpoint,
    collapse_structure,
    dead_units,
    descent_probe,
    hessian,
    hessian_matrix,
    hessian_outliers,
    init_random,
    linear_path,
    mu_path,
    null_dimension,
    optimise,
    perturb_relative,
    predicted_levels,
    residual_jacobian,
    slice_2d,
    wilson_interval,
)
from ..local_minima import analyse_patterns
from ..network import Network, cost
from ..thresholds import OPTIMISER_ZERO, ZERO_COST
from ..validation import DlgeomInputError, check_choice, check_int
from . import STUDY_THETA0, stage_logger
from .jobs import OUT_DIR_HELP, cell_key_from, job_seed, parse_cell_key, train_file

ENGINES = ("batched", "fused", "sequential")


def run_landscape(
    data: Dataset,
    n_layers: int,
    runs: int = 20,
    starts=("he", "xavier", "global", "none"),
    rhos=(1e-3, 1e-1),
    optimisers=("lbfgs", "gd", "adam"),
    max_iter: int = 2000,
    seed=(0,),
    log=lambda msg: None,
    shape: bool = True,
    cell_key: str = "",
    theta0=STUDY_THETA0,
    engine: str = "batched",
    batch: int = 256,
    optimiser_runs: dict | None = None,
    zero_cost: float = ZERO_COST,
) -> dict:
    """Optimiser runs for every start type × optimiser × run (rows, basins, and the end points'
    parameter vectors ``endpoint_params``, one row per entry of ``rows``), and with ``shape``
    the local shape at the constructed minima (Hessian spectra, μ-paths, a 2D slice).  Every
    start type draws from its own SeedSequence child (keyed by its name), so splitting the start
    types over several jobs gives the same rows.  ``theta0``: θ_0 or its rule
    (:func:`dlgeom.geometry.geometry`); the study uses the paper's 'open_box'.

    ``engine`` 'batched' runs up to ``batch`` runs of one (start, optimiser) at once
    (:func:`dlgeom.batched.optimise_batch`: the same end points as 'sequential' for GD and Adam,
    a batched L-BFGS in place of scipy's); 'fused' does the same with the compiled kernel (GD and
    Adam end points equal to rounding, several times faster); 'sequential' runs
    :func:`dlgeom.landscape.optimise` run by run.  A progress line (runs done / total, elapsed
    seconds) is logged per batch.
    ``optimiser_runs`` maps an optimiser to its number of runs in place of ``runs``; the runs of
    an optimiser are the first ones of any longer list (the same starts and seeds).

    An end point counts as zero at C ≤ :data:`dlgeom.thresholds.OPTIMISER_ZERO`; the constructed
    global minimiser counts as zero cost at C ≤ ``zero_cost`` (the study's ``zero_cost``), which
    decides the predicted flat directions and rank of the local shape."""
    from ..zero_modes import null_space_report, predicted_directions  # scipy: not at CLI start

    check_choice(engine, "engine", ENGINES)
    if engine == "fused":
        check_kernel("fused", data.n_classes, n_layers)
    batch = check_int(batch, "batch", minimum=1)
    t0 = time.perf_counter()
    q, L = data.n_classes, n_layers
    geom = geometry(data, theta0)
    reps = analyse_patterns(data, L, geom, n_mu_samples=0)
    levels = predicted_levels(data.Y, reps)
    glob = construct_global(data, L, geom=geom)
    none = construct_pattern(data, np.ones(q, dtype=int), L, geom=geom, output="lstsq_affine")
    s1_level = next(r.value_affine for r in reps if all(r.s))
    anchors = {"global": glob.network, "none": none.network}
    info = {
        "cell": cell_key,
        "Q": q,
        "L": L,
        "all_hold": assumptions(geom).all_hold,
        "global_cost": cost(glob.network, data),
    }
    eps_safe = {k: relative_margin(n, data.X) for k, n in anchors.items()}

    # start types: random schemes, and each anchor at each radius ρ
    start_specs = []
    for st in starts:
        if st in INIT_SCHEMES:
            start_specs.append((st, st, None))
        else:
            for rho in rhos:
                start_specs.append((f"{st}@{rho:g}", st, float(rho)))
    glob_canon = canonical_rescale(glob.network)
    rows, params = [], []
    n_runs = {opt: int((optimiser_runs or {}).get(opt, runs)) for opt in optimisers}
    total = len(start_specs) * sum(n_runs.values())
    for name, kind, rho in start_specs:
        s_seq = np.random.SeedSequence(list(seed) + [_start_id(kind), int(round(1e6 * (rho or 0)))])
        for opt, o_seq in zip(optimisers, s_seq.spawn(len(optimisers))):
            r_seqs = o_seq.spawn(n_runs[opt])
            x0s = np.stack(
                [
                    init_random(q, L, np.random.default_rng(r), kind)
                    if rho is None
                    else perturb_relative(anchors[kind], rho, np.random.default_rng(r))
                    for r in r_seqs
                ]
            )
            seeds = [r.generate_state(1)[0] for r in r_seqs]
            for c0 in range(0, n_runs[opt], batch):
                ks = range(c0, min(c0 + batch, n_runs[opt]))
                if engine != "sequential":
                    out_b = optimise_batch(
                        data,
                        x0s[c0 : c0 + batch],
                        L,
                        opt,
                        max_iter=max_iter,
                        seeds=seeds[c0 : c0 + batch],
                        kernel="fused" if engine == "fused" else "numpy",
                    )
                    results = [out_b.run(i) for i in range(len(ks))]
                else:
                    results = [
                        optimise(data, x0s[k], L, opt, max_iter=max_iter, record_every=0, seed=seeds[k]) for k in ks
                    ]
                for k, res in zip(ks, results):
                    rows.append(
                        {
                            **info,
                            "start": name,
                            "start_kind": kind,
                            "rho": rho if rho is not None else float("nan"),
                            "eps_safe_start": eps_safe.get(kind, float("nan")),
                            "optimiser": opt,
                            "run": k,
                            **_endpoint(res, data, levels, opt, kind, rho, glob, glob_canon, r_seqs[k], k < 3),
                        }
                    )
                    params.append(res.x)
                log(f"{name} {opt}: {len(rows)}/{total} runs done, {time.perf_counter() - t0:.1f} s")
    # basins
    basins = []
    for (name, opt), _ in _groups(rows, ("start", "optimiser")).items():
        sub = [r for r in rows if r["start"] == name and r["optimiser"] == opt]
        for cat in ("zero", "pattern", "merge", "other"):
            kcat = sum(r["category"] == cat for r in sub)
            lo, hi = wilson_interval(kcat, len(sub))
            basins.append(
                {
                    **info,
                    "start": name,
                    "start_kind": sub[0]["start_kind"],
                    "rho": sub[0]["rho"],
                    "optimiser": opt,
                    "category": cat,
                    "k": kcat,
                    "n": len(sub),
                    "p": kcat / len(sub),
                    "wilson_lo": lo,
                    "wilson_hi": hi,
                }
            )
    # end-point parameters, one row per entry of ``rows`` (not JSON: the CLI writes them to .npz)
    n_par = (L + 1) * (q * q + q)
    out = {
        "rows": rows,
        "basins": basins,
        "levels": levels,
        "s1_level": s1_level,
        "cell": cell_key,
        "eps_safe": eps_safe,
        "endpoint_params": np.array(params, dtype=np.float64).reshape(len(params), n_par),
    }
    log(f"optimiser runs finished after {time.perf_counter() - t0:.1f} s")
    if not shape:
        return out
    # local shape at the constructed minima
    shape = []
    for name, con in (("global", glob), ("none", none)):
        net = con.network
        H, h, same = hessian(net, data)
        ev = np.linalg.eigvalsh(H)
        J = residual_jacobian(net, data, h)
        tol = 1e-8 * max(abs(ev[-1]), 1e-300)
        at_zero = name == "global" and info["global_cost"] <= zero_cost
        modes = null_space_report(H, predicted_directions(con, data, at_zero))
        # rank J on the data: per class one constant output after its collapse layer (Q·Q) at the
        # global minimiser; one affine map of the data (Q·(Q+1)) at s = 1
        rank_theory = q * q if at_zero else q * (q + 1)
        shape.append(
            {
                **info,
                "point": name,
                "n_params": int(H.shape[0]),
                "n_zero_eig": int(np.sum(np.abs(ev) <= tol)),
                "n_negative_eig": int(np.sum(ev < -tol)),
                "null_dim_J": null_dimension(J),
                "hess_n_outliers": hessian_outliers(ev)["n_outliers"],
                "dead_units": dead_units(net, data.X),
                "null_dim_theory": int(H.shape[0]) - rank_theory,
                **{f"modes_{k}": v for k, v in modes.items()},
                "min_eig": float(ev[0]),
                "max_eig": float(ev[-1]),
                "fd_step": h,
                "pattern_unchanged": same,
                "eigenvalues": ev.tolist(),
            }
        )
    # μ-paths from every mixed pattern (and s = 1) to the global minimiser
    paths = []
    mu_glob = default_mu(geom)
    for r in reps:
        if sum(r.s) == 0:
            continue
        F = mu_path(data, geom, np.array(r.mu), mu_glob, L)
        paths.append(
            {
                **info,
                "s": "".join(map(str, r.s)),
                "type": "none" if all(r.s) else "mixed",
                "F_start": float(F[0]),
                "F_end": float(F[-1]),
                "barrier": float(max(F.max() - F[0], 0.0)),
                "monotone": bool(np.all(np.diff(F) <= 1e-12 * max(1.0, F[0]))),
                "profile": F.tolist(),
            }
        )
    g = np.geomspace(1e-4, 0.5, 10)  # below and above the relative activation margin
    radii = np.concatenate([-g[::-1], [0.0], g])
    _, cos, grid = slice_2d(glob.network, data, radii, np.random.default_rng(np.random.SeedSequence(list(seed) + [99])))
    out.update(
        shape=shape,
        paths=paths,
        slice={
            "cell": cell_key,
            "radii": radii.tolist(),
            "cos": cos,
            "cost": grid.tolist(),
            "eps_safe": eps_safe["global"],
        },
    )
    log(f"local shape done in {time.perf_counter() - t0:.1f} s")
    return out


def _endpoint(
    res, data: Dataset, levels: dict, opt: str, kind: str, rho, glob, glob_canon, r_seq, with_profile: bool
) -> dict:
    """The table fields of one optimiser end point: cost level, collapse structure, return to the
    start's level, the path from the global minimiser, and for L-BFGS the Hessian spectrum and
    the descent probe (the certification of a local minimum)."""
    q, L = data.n_classes, glob.network.n_hidden
    cat, near = classify_endpoint(res.cost, levels, OPTIMISER_ZERO)
    net = Network.from_flat(res.x, q, L)
    start_level = None if rho is None else ("zero" if kind == "global" else f"V_aff[{'1' * q}]")
    returned = (
        None
        if rho is None
        else bool((cat == "zero") if kind == "global" else (cat == "pattern" and near == f"V_aff[{'1' * q}]"))
    )
    # the straight path from the global minimiser to the end point, after removing hidden-unit
    # permutations and per-unit rescaling
    prof = linear_path(glob_canon, align_to(net, glob.network), data, 21)
    peak = int(np.argmax(prof))
    certify = opt == "lbfgs" and res.status != "max_iter" and cat != "zero"
    hess = _endpoint_hessian(net, data) if (opt == "lbfgs" and res.status != "max_iter") else {}
    probe = (
        descent_probe(net, data, np.random.default_rng(np.random.SeedSequence(r_seq.generate_state(4))))
        if certify
        else float("nan")
    )
    return {
        "cost": res.cost,
        "grad_norm": res.grad_norm,
        "n_iter": res.n_iter,
        "status": res.status,
        "category": cat,
        "nearest_level": near,
        "structure": "".join(map(str, collapse_structure(net, data))),
        "returned": returned,
        "start_level": start_level,
        "path_barrier": float(max(prof.max() - max(prof[0], prof[-1]), 0.0)),
        "path_peak_t": float(peak / (prof.size - 1)),
        "path_profile": " ".join(f"{v:.6g}" for v in prof) if with_profile else "",
        "hess_status": hess.get("status", ""),
        "hess_n_negative": hess.get("n_negative", float("nan")),
        "hess_n_zero": hess.get("n_zero", float("nan")),
        "hess_min_eig": hess.get("min_eig", float("nan")),
        "hess_n_outliers": hess.get("n_outliers", float("nan")),
        "hess_n_nonzero": hess.get("n_nonzero", float("nan")),
        "hess_outlier_gap": hess.get("outlier_gap", float("nan")),
        "dead_units": dead_units(net, data.X),
        "probe_min_rel_change": probe,
    }


def _endpoint_hessian(net: Network, data: Dataset) -> dict:
    """Spectrum summary of the Hessian of C² at an optimiser end point (steps below its activation
    margin); empty when the margin is zero (a point on a kink: the Hessian is not defined)."""
    try:
        H, _ = hessian_matrix(net, data)
    except Exception:  # zero margin: a pre-activation sits exactly on a kink (often a dead unit
        return {"status": "kink"}  # feeding a zero-bias unit); the Hessian is not defined there
    ev = np.linalg.eigvalsh(H)
    tol = HESS_ZERO_RTOL * max(abs(ev[-1]), abs(ev[0]), 1e-300)
    return {
        "status": "ok",
        "n_negative": int(np.sum(ev < -tol)),
        "n_zero": int(np.sum(np.abs(ev) <= tol)),
        "min_eig": float(ev[0]),
        **hessian_outliers(ev),
    }


def _start_id(kind: str) -> int:
    return {"he": 1, "xavier": 2, "global": 3, "none": 4}[kind]


def _groups(rows, keys):
    out = {}
    for r in rows:
        out.setdefault(tuple(r[k] for k in keys), []).append(r)
    return out


# ---- the landscape as Q grows --------------------------------------------------------------------

SCALING_Q = (2, 8)  # the Q of the scaling stage: 2..8, the widths the compiled kernel runs
SCALING_STARTS = INIT_SCHEMES  # the scaling stage starts from random initialisations only


def scaling_cell_key(q: int, delta_ratio: float) -> str:
    """The name of the scaling stage's dataset at ``q`` in its rows (a grid-cell style key)."""
    return f"Q{int(q)}/thetaregular/r{float(delta_ratio)!r}"


def run_landscape_scaling(
    q: int,
    delta_ratio: float = 0.1,
    n_per_class: int = 60,
    noise: str = "uniform",
    runs: int = 64,
    starts=SCALING_STARTS,
    optimisers=("lbfgs", "gd", "adam"),
    max_iter: int = 500,
    seed=(0,),
    engine: str = "batched",
    batch: int = 256,
    log=lambda msg: None,
) -> dict:
    """Random-start training at one Q of the scaling stage: data on a regular simplex (Q classes
    in R^Q, ``n_per_class`` points each, drawn from ``SeedSequence(seed + [0])``), a network with
    L = Q hidden layers, and the optimiser runs of :func:`run_landscape` (no local shape) from
    ``SeedSequence(seed + [1, ...])``.  Returns the per-run rows (end-point category, certification
    fields of L-BFGS end points) and the dataset's summary; the table is
    :func:`dlgeom.study.landscape_report.scaling_table`."""
    from ..synthetic import make_clustered

    q = check_int(q, "Q", minimum=SCALING_Q[0], maximum=SCALING_Q[1])
    seed = [int(x) for x in seed]
    data = make_clustered(q, n_per_class=n_per_class, delta_ratio=delta_ratio, noise=noise, seed=seed + [0])
    key = scaling_cell_key(q, delta_ratio)
    out = run_landscape(
        data,
        q,
        runs,
        tuple(starts),
        (),
        tuple(optimisers),
        max_iter,
        seed + [1],
        log,
        shape=False,
        cell_key=key,
        engine=engine,
        batch=batch,
    )
    return {
        "cell": key,
        "Q": q,
        "L": q,
        "delta_ratio": float(delta_ratio),
        "n_per_class": int(n_per_class),
        "noise": noise,
        "runs": int(runs),
        "max_iter": int(max_iter),
        "engine": engine,
        "data": {"N": data.n_points, "realised": data.meta["realised"], "seed": data.meta["seed"]},
        "rows": out["rows"],
    }


# ---- command line ---------------------------------------------------------------------------------


def register(sub) -> dict:
    """Add the ``landscape`` subcommand to the CLI's subparsers; returns {name: handler}."""
    la = sub.add_parser(
        "landscape",
        help="optimiser runs, end-point levels, Hessians, μ-paths, a 2D slice (JSON)",
        description="What GD, Adam and L-BFGS find on C² from random (He, Xavier) and perturbed "
        "(global minimiser, s = 1 pattern) starts; Hessian spectra at the constructed "
        "minima; μ-paths from every pattern to the global minimiser; a 2D slice.",
    )
    la.add_argument(
        "--data",
        required=True,
        help="dataset file (.npz or .csv), coordinates max|x| in [1e-150, 1e150]; or a grid cell's manifest.json "
        "(its train_0.npz)",
    )
    la.add_argument("--layers", type=int, default=None, help="hidden layers L (Q..10000; default: the Q of --cell-key)")
    la.add_argument("--runs", type=int, default=200, help="runs per start type and optimiser, 1..10000 (default 200)")
    la.add_argument(
        "--optimiser-runs",
        default="",
        help="runs for the optimisers named here in place of --runs, e.g. gd=250,adam=250 "
        "(each 1..10000; an optimiser's runs are the first ones of any longer list)",
    )
    la.add_argument(
        "--starts",
        default="he,xavier,global,none",
        help="comma-separated: he, xavier, global (perturbed global minimiser), none (perturbed s = 1)",
    )
    la.add_argument(
        "--rho",
        type=float_list,
        default=[1e-4, 1e-1],
        help="relative perturbation radii of the anchored starts, each in (0, 10] (default 1e-4,0.1)",
    )
    la.add_argument("--optimisers", default="lbfgs,gd,adam", help="comma-separated: lbfgs, gd, adam")
    la.add_argument("--max-iter", type=int, default=500, help="iterations per run, 1..10^6 (default 500)")
    la.add_argument("--seed", type=int_list, default=[0], help="seed prefix")
    fused_note = (
        ""
        if fused_unavailable() is None
        else " [UNAVAILABLE here: the compiled kernel was not built (no C compiler at install); install gcc "
        "or clang, then rerun `make test` or `pip install -e .`]"
    )
    la.add_argument(
        "--engine",
        default="batched",
        choices=list(ENGINES),
        help="batched: the runs of one (start, optimiser) at once (default); fused: the same with the "
        "compiled kernel (several times faster, GD/Adam end points equal to rounding)"
        + fused_note
        + "; sequential: one by one, L-BFGS through scipy",
    )
    la.add_argument("--batch", type=int, default=256, help="runs per batch, one progress line each (default 256)")
    la.add_argument("--no-shape", action="store_true", help="skip Hessians, μ-paths and the slice")
    la.add_argument(
        "--cell-key",
        default="",
        help="the cell's name in the tables (default: for a --data manifest.json, its path after the study's data/)",
    )
    la.add_argument(
        "--zero-cost",
        type=float,
        default=ZERO_COST,
        help="the constructed minimiser counts as zero cost at C at or below this, in (0, 1] (local shape)",
    )
    la.add_argument("--out", required=True, help="output JSON")
    la.add_argument(
        "--endpoints",
        default=None,
        help="also write the end points' parameter vectors (.npz: x, start, optimiser, run; "
        "rows in the order of the JSON rows)",
    )
    la.add_argument("--quiet", action="store_true")
    # --endpoints is checked before the work, as --out; the seed follows the cell key
    la.set_defaults(
        more_output_files=("endpoints",), seed_key=job_seed(lambda a: cell_key_from(a, "data"), "landscape")
    )
    _register_scaling(sub, fused_note)
    return {
        "landscape": _cmd_landscape,
        "landscape-scaling": _cmd_scaling,
        "landscape-scaling-tables": _cmd_scaling_tables,
        "landscape-scaling-figure": _cmd_scaling_figure,
    }


def _register_scaling(sub, fused_note: str) -> None:
    sc = sub.add_parser(
        "landscape-scaling",
        help="the landscape as Q grows: random-start training at one Q, regular simplex, L = Q (JSON)",
        description="Draw data on a regular simplex with Q classes, train networks with L = Q hidden layers "
        "from random starts with each optimiser, and record every run's end point (category, certification "
        "of L-BFGS end points as local minima).",
    )
    sc.add_argument("--Q", type=int, required=True, help=f"number of classes, {SCALING_Q[0]}..{SCALING_Q[1]}")
    sc.add_argument("--delta-ratio", type=float, default=0.1, help="δ-ratio r of the data, in (0, 10] (default 0.1)")
    sc.add_argument("--n-per-class", type=int, default=60, help="training points per class, 2..10^6 (default 60)")
    sc.add_argument("--noise", default="uniform", choices=["uniform", "gaussian", "anisotropic"], help="noise shape")
    sc.add_argument("--runs", type=int, default=64, help="runs per start type and optimiser, 1..10000 (default 64)")
    sc.add_argument("--starts", default="he,xavier", help="comma-separated: he, xavier")
    sc.add_argument("--optimisers", default="lbfgs,gd,adam", help="comma-separated: lbfgs, gd, adam")
    sc.add_argument("--max-iter", type=int, default=500, help="iterations per run, 1..10^6 (default 500)")
    sc.add_argument("--engine", default="batched", choices=list(ENGINES), help="as for `dlgeom landscape`" + fused_note)
    sc.add_argument("--batch", type=int, default=256, help="runs per batch (default 256)")
    sc.add_argument("--seed", type=int_list, default=[0], help="seed prefix")
    sc.add_argument("--out", required=True, help="output JSON")
    sc.add_argument("--quiet", action="store_true")
    sc.set_defaults(seed_key=job_seed(lambda a: f"landscape_scaling/Q{a.Q}", "landscape_scaling"))
    t = sub.add_parser(
        "landscape-scaling-tables",
        help="landscape-scaling JSON files -> landscape_scaling.csv and scaling_claims.csv",
    )
    t.add_argument("--runs", nargs="*", default=None, help="the JSON files of `dlgeom landscape-scaling`")
    t.add_argument("--out-dir", required=True, help=OUT_DIR_HELP.format("tables"))
    t.add_argument("--config-hash", default=None)
    t.add_argument("--seed", type=int_list, default=None)
    t.set_defaults(seed_key=job_seed(), check_inputs=("runs",), study_out_dir="tables")
    f = sub.add_parser("landscape-scaling-figure", help="figure landscape_scaling (PNG + PDF)")
    f.add_argument(
        "--tables",
        default=None,
        help="directory with landscape_scaling.csv (default: the study's tables/ beside --out-dir)",
    )
    f.add_argument("--out-dir", required=True, help=OUT_DIR_HELP.format("figures"))
    f.add_argument("--config-hash", default=None)
    f.add_argument("--seed", type=int_list, default=None)
    f.set_defaults(seed_key=job_seed(), study_out_dir="figures")


def _comma_choices(text: str, flag: str, allowed) -> list[str]:
    items = [x for x in str(text).split(",") if x]
    if not items:
        raise DlgeomInputError(f"{flag}: give at least one of {', '.join(allowed)}")
    for x in items:
        if x not in allowed:
            raise DlgeomInputError(f"{flag}: unknown value {x!r}; allowed: {', '.join(allowed)}")
    if len(set(items)) != len(items):
        raise DlgeomInputError(f"{flag}: a value is given twice in {text!r}")
    return items


def _cmd_scaling(args) -> dict:
    from ..argtypes import check_json_out
    from ..jsonutil import write_json
    from ..landscape import OPTIMISERS
    from ..validation import MAX_DRAWS, MAX_POINTS_PER_CLASS, check_float

    check_json_out(args.out)
    q = check_int(args.Q, "--Q", minimum=SCALING_Q[0], maximum=SCALING_Q[1])
    check_float(args.delta_ratio, "--delta-ratio", low=0.0, high=10.0, low_open=True)
    check_int(args.n_per_class, "--n-per-class", minimum=2, maximum=MAX_POINTS_PER_CLASS)
    check_int(args.runs, "--runs", minimum=1, maximum=MAX_DRAWS)
    check_int(args.max_iter, "--max-iter", minimum=1, maximum=10**6)
    check_int(args.batch, "--batch", minimum=1, maximum=100000)
    starts = _comma_choices(args.starts, "--starts", SCALING_STARTS)
    opts = _comma_choices(args.optimisers, "--optimisers", OPTIMISERS)
    if args.engine == "fused":
        why = fused_unavailable(q, q)
        if why:
            raise DlgeomInputError(f"--engine: 'fused' cannot run here: {why}; 'batched' needs nothing compiled")
    log = stage_logger(args.quiet)
    t0 = time.perf_counter()
    with np.errstate(all="ignore"):  # overflow in deep networks: non-finite values are data (statuses, NaN)
        out = run_landscape_scaling(
            q,
            args.delta_ratio,
            args.n_per_class,
            args.noise,
            args.runs,
            starts,
            opts,
            args.max_iter,
            args.seed,
            args.engine,
            args.batch,
            log,
        )
    out["seed"] = list(args.seed)
    write_json(out, args.out)
    log(f"wrote {args.out} in {time.perf_counter() - t0:.1f} s")
    return {}


def _cmd_scaling_tables(args) -> dict:
    from ..argtypes import check_inputs_exist, check_out_dir
    from .landscape_report import write_scaling_tables
    from .provenance import write_provenance

    paths = list(args.runs or [])
    check_inputs_exist(paths, "--runs")
    out_dir = check_out_dir(args.out_dir)
    written = write_scaling_tables(paths, out_dir)
    for path in written:
        write_provenance(path, paths, "dlgeom landscape-scaling-tables", args.config_hash, args.seed)
    print(f"wrote {len(written)} tables to {out_dir}")
    return {}


def _cmd_scaling_figure(args) -> dict:
    from pathlib import Path

    from .figures import publish_figure
    from .landscape_report import fig_landscape_scaling, read_scaling_table

    tables = args.tables if args.tables is not None else Path(args.out_dir).parent / "tables"
    table = Path(tables) / "landscape_scaling.csv"
    if not table.is_file():
        raise DlgeomInputError(f"--tables: {table} does not exist; run dlgeom landscape-scaling-tables first")
    out_dir = Path(args.out_dir)
    if not out_dir.is_dir():
        raise DlgeomInputError(f"--out-dir: directory {str(out_dir)!r} does not exist")
    fig = fig_landscape_scaling(read_scaling_table(table))
    publish_figure(
        fig, out_dir / "landscape_scaling", [table], "dlgeom landscape-scaling-figure", args.config_hash, args.seed
    )
    return {}


def _cmd_landscape(args) -> dict:
    from ..data import load_dataset
    from ..jsonutil import write_json
    from ..landscape import OPTIMISERS
    from ..validation import MAX_DRAWS, MAX_LAYERS, check_coordinate_range, check_float

    args.cell_key = cell_key_from(args, "data")
    args.data = train_file(args.data)
    if args.layers is None:
        if not args.cell_key:
            raise DlgeomInputError("--layers: give L, or a --cell-key (L = its Q)")
        args.layers = parse_cell_key(args.cell_key).Q
        if args.layers is None:
            raise DlgeomInputError(f"--layers: the cell {args.cell_key!r} has no Q in its key; give L")
    data = load_dataset(args.data)
    check_coordinate_range(data.X, args.data)
    L = check_int(args.layers, "--layers", minimum=data.n_classes, maximum=MAX_LAYERS)
    check_int(args.runs, "--runs", minimum=1, maximum=MAX_DRAWS)
    check_int(args.max_iter, "--max-iter", minimum=1, maximum=10**6)
    if not args.rho:
        raise DlgeomInputError("--rho: give at least one radius")
    for rho in args.rho:
        check_float(rho, "--rho", low=0.0, high=10.0, low_open=True)
    check_int(args.batch, "--batch", minimum=1, maximum=100000)
    check_float(args.zero_cost, "--zero-cost", low=0.0, high=1.0, low_open=True)
    starts = [s for s in args.starts.split(",") if s]
    opts = [o for o in args.optimisers.split(",") if o]
    for st in starts:
        if st not in ("he", "xavier", "global", "none"):
            raise DlgeomInputError(f"--starts: unknown start {st!r}; allowed: he, xavier, global, none")
    for o in opts:
        if o not in OPTIMISERS:
            raise DlgeomInputError(f"--optimisers: unknown optimiser {o!r}; allowed: {', '.join(OPTIMISERS)}")
    opt_runs = _optimiser_runs(args.optimiser_runs, opts)
    if args.engine == "fused":
        from ..batched import fused_unavailable

        why = fused_unavailable(data.n_classes, L)
        if why:
            raise DlgeomInputError(f"--engine: 'fused' cannot run here: {why}; 'batched' needs nothing compiled")
    if args.endpoints is not None and not str(args.endpoints).endswith(".npz"):
        raise DlgeomInputError(f"--endpoints: must end in .npz, got {args.endpoints!r}")
    log = stage_logger(args.quiet)
    t0 = time.perf_counter()
    with np.errstate(all="ignore"):  # overflow in deep networks: non-finite values are data (statuses, NaN)
        out = run_landscape(
            data,
            L,
            args.runs,
            starts,
            args.rho,
            opts,
            args.max_iter,
            args.seed,
            log,
            shape=not args.no_shape,
            cell_key=args.cell_key,
            engine=args.engine,
            batch=args.batch,
            optimiser_runs=opt_runs,
            zero_cost=args.zero_cost,
        )
    out["data"], out["seed"], out["layers"] = args.data, args.seed, L
    params = out.pop("endpoint_params")
    if args.endpoints is not None:
        from .collapse_run import write_endpoints

        write_endpoints(args.endpoints, params, out["rows"])
    write_json(out, args.out)
    log(f"wrote {args.out} in {time.perf_counter() - t0:.1f} s")
    return {}


def _optimiser_runs(text: str, opts: list[str]) -> dict[str, int]:
    """``--optimiser-runs``: 'name=count' pairs, comma-separated, each name one of ``opts``."""
    from ..validation import MAX_DRAWS

    out: dict[str, int] = {}
    for item in (t for t in str(text).split(",") if t):
        name, sep, count = item.partition("=")
        if not sep or name not in opts or name in out:
            raise DlgeomInputError(
                f"--optimiser-runs: expected name=count pairs, each name once and one of "
                f"--optimisers ({', '.join(opts)}), got {item!r}"
            )
        try:
            value = int(count)
        except ValueError:
            raise DlgeomInputError(f"--optimiser-runs: the count of {name} must be an integer, got {count!r}") from None
        out[name] = check_int(value, f"--optimiser-runs {name}", minimum=1, maximum=MAX_DRAWS)
    return out
