"""Study runners beyond the paper: inputs in R^M (``highdim``), sequentially linearly
separable data (``sls``) and the shallow network (``shallow``), with their CLI subcommands.

:func:`register` adds the subcommands ``highdim``, ``sls``, ``shallow`` (one JSON per run, rows
for the tables), ``beyond-tables`` (JSON → results/tables/{highdim,sls,shallow}.csv) and
``beyond-figure`` (a table → PNG + PDF).  Seeds: every case draws from
``numpy.random.SeedSequence(seed + case ids)``; the entropy is stored in every row.  Outputs
carry no timings, so the same inputs give byte-identical files.  Bad input raises
:class:`dlgeom.validation.DlgeomInputError` before anything is written; a numerical failure
(singular projection, infeasible LP) is a row with a status.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .. import __version__
from ..argtypes import check_inputs_exist, check_out_dir
from ..argtypes import check_json_out as _check_out
from ..thresholds import ZERO_COST
from ..validation import DlgeomInputError, check_float, check_int, check_seed
from . import STUDY_THETA0, stage_logger
from .jobs import OUT_DIR_HELP, job_seed

__all__ = ["HIGHDIM_METHODS", "register", "run_highdim", "run_shallow", "run_sls"]

#: (method, projection, layers, mu) of the highdim comparison.
HIGHDIM_METHODS = (
    ("means_embed", "means", "embed", "box"),  # the construction in R^M: Q+1 layers
    ("means_fused", "means", "fused", "box"),  # the same with the embedding fused: Q layers
    ("means_near", "means", "embed", "near"),  # apex at 2.5 δ_V (the follow-up's box)
    ("pca_embed", "pca", "embed", "box"),  # project (PCA) then construct
)


def _seed_str(entropy) -> str:
    return "-".join(str(int(v)) for v in entropy)


# ---- highdim ----------------------------------------------------------------------------------------


def run_highdim(
    q: int,
    ms,
    delta_ratios,
    perp_scales,
    replicates: int = 3,
    n_per_class: int = 40,
    theta=None,
    seed=(0,),
    zero: float = ZERO_COST,
    log=None,
) -> dict:
    """Clustered data in R^M for every (M, δ-ratio, perp_scale, replicate), each constructed by
    the four :data:`HIGHDIM_METHODS` (and, for M = Q, by the R^Q construction directly).
    Values of M below Q are skipped; M = Q is always included."""
    from ..construct import construct_global
    from ..geometry import geometry
    from ..highdim import (
        captured_mean_energy,
        construct_highdim,
        make_clustered_highdim,
        subspace_pca,
    )
    from ..network import cost

    log = log or (lambda msg: None)
    q = check_int(q, "--Q", minimum=2, maximum=12)
    ms = sorted({check_int(m, "--M", minimum=2, maximum=2000) for m in ms} | {q})
    ms = [m for m in ms if m >= q]
    drs = [check_float(r, "--delta-ratio", low=0.0, low_open=True) for r in delta_ratios]
    pss = [check_float(p, "--perp-scale", low=0.0) for p in perp_scales]
    replicates = check_int(replicates, "--replicates", minimum=1)
    n_per_class = check_int(n_per_class, "--n", minimum=2)
    if theta is not None:
        theta = check_float(theta, "--theta", low=0.0, low_open=True)
    if not drs or not pss:
        raise DlgeomInputError("--delta-ratio/--perp-scale: give at least one value each")
    zero = check_float(zero, "--zero-cost", low=0.0, low_open=True)
    seed = check_seed(seed, "--seed")
    rows = []
    for m in ms:
        for di, dr in enumerate(drs):
            for pi, ps in enumerate(pss):
                for rep in range(replicates):
                    entropy = seed + [m, di, pi, rep]
                    data = make_clustered_highdim(q, m, n_per_class, dr, theta, ps, seed=entropy)
                    ynorm = float(np.linalg.norm(data.Y))
                    base = {
                        "Q": q,
                        "M": m,
                        "delta_ratio": dr,
                        "perp_scale": ps,
                        "replicate": rep,
                        "seed": _seed_str(entropy),
                        "N": data.n_points,
                        "Y_norm": ynorm,
                        "r_M": data.ratio,
                        "r_Q": data.meta["r_Q"],
                        "pca_captured": captured_mean_energy(data, subspace_pca(data)),
                    }
                    for name, proj, layers, mu in HIGHDIM_METHODS:
                        con = construct_highdim(data, proj, layers, mu)
                        s = con.summary(data)
                        row = dict(base, method=name, projection=proj, layers=layers, mu=mu, status=s["status"])
                        for key in (
                            "cost",
                            "n_hidden",
                            "n_params",
                            "r_V",
                            "theta_max_V",
                            "cond_zred",
                            "all_hold",
                            "A2",
                            "A3",
                            "mu_in_box",
                            "activation_margin",
                        ):
                            row[key] = s.get(key)
                        row["zero"] = bool(s["status"] == "ok" and s["cost"] <= zero * ynorm)
                        rows.append(row)
                    if m == q:  # the paper's own construction on the raw data, for reference
                        c = cost(construct_global(data, q, geom=geometry(data, STUDY_THETA0)).network, data)
                        rows.append(
                            dict(
                                base,
                                method="rq_direct",
                                projection="none",
                                layers="paper",
                                mu="box",
                                status="ok",
                                cost=c,
                                n_hidden=q,
                                n_params=(q + 1) * (q * q + q),
                                zero=bool(c <= zero * ynorm),
                            )
                        )
                    log(
                        f"highdim Q={q} M={m} r={dr:g} perp={ps:g} rep={rep}: "
                        + ", ".join(
                            f"{r['method']} C={r['cost']:.2e}"
                            if r.get("cost") is not None
                            else f"{r['method']} {r['status']}"
                            for r in rows[-len(HIGHDIM_METHODS) - (m == q) :]
                        )
                    )
    return {
        "kind": "highdim",
        "dlgeom_version": __version__,
        "Q": q,
        "M": ms,
        "delta_ratio": drs,
        "perp_scale": pss,
        "replicates": replicates,
        "n_per_class": n_per_class,
        "theta": theta,
        "seed": seed,
        "zero_cost": zero,
        "rows": rows,
    }


# ---- sls --------------------------------------------------------------------------------------------


def _sls_rows(data, kind: str, base: dict, max_orderings: int | None, seed, zero: float) -> list[dict]:
    from ..highdim import class_cost, network_cost
    from ..sequential import (
        _cumulative,
        all_orderings,
        output_affine,
        sls_network,
        sls_parameters,
        truncate_path,
    )

    q, m = data.n_classes, data.dim
    blocks = [tuple(b) for b in data.meta.get("blocks", [])]
    ynorm = float(np.linalg.norm(data.Y))
    results = all_orderings(data, max_orderings=max_orderings, seed=seed)
    rows = []
    for res in results:
        pos = {c: i for i, c in enumerate(res.ordering)}
        row = dict(
            base,
            kind=kind,
            ordering="".join(map(str, res.ordering)),
            status=res.status,
            feasible=res.feasible,
            failed_step=res.failed_step,
            reason=res.reason,
            push=res.push,
            min_gamma=float(np.nanmin(res.gammas)) if res.gammas else None,
            violates_block=any(pos[j] < pos[a] for j, a in blocks),
            n_numbers=q * (m + 2),
            Y_norm=ynorm,
            n_orderings_total=int(np.prod(np.arange(1, q + 1))),
        )
        if res.feasible:
            params = sls_parameters(res)
            net = sls_network(data, res.ordering, params)
            T = truncate_path(data, res.ordering, params)
            Wc, _, pts = _cumulative(data, res.ordering, params)
            # input-space check: the affine output applied to T_Q(X) (no ill-conditioned layers)
            k_of = np.empty(q, dtype=int)
            k_of[list(res.ordering)] = np.arange(q)
            t_err = float(np.max(np.linalg.norm(T - pts[k_of[data.y]], axis=1)))
            A, c0 = output_affine(data, res.ordering, pts)
            c_in = class_cost(T @ A.T + c0, data.y, data.Y)
            c = network_cost(net, data)
            c_formula = network_cost(sls_network(data, res.ordering, params, output="formula"), data)
            row.update(
                cost=c,
                zero=bool(c <= zero * ynorm),
                cost_formula_output=c_formula,
                cost_input_space=c_in,
                zero_input_space=bool(c_in <= zero * ynorm),
                truncation_error=t_err,
                min_margin=float(min(s.margin for s in res.steps)),
                max_theta=float(np.max(params[:, -1])),
                max_cond=float(max(np.linalg.cond(W) for W in Wc)),
                n_params=net.n_params,
            )
        rows.append(row)
    return rows


def run_sls(
    q: int,
    ms,
    replicates: int = 6,
    n_per_class: int = 25,
    half_length: float = 0.4,
    radius: float = 0.025,
    satellites: int | None = None,
    clustered_delta_ratio: float = 0.1,
    max_orderings: int | None = 120,
    hand: bool = False,
    seed=(0,),
    zero: float = ZERO_COST,
    log=None,
) -> dict:
    """Every ordering of: ``make_shadow`` data (satellites block some orderings) and clustered
    data in R^M, for each M (values below Q skipped, M = Q always added) and replicate; with ``hand`` also the
    hand-made 2-D and 3-D :func:`shadow_example` (Q = 2).  Rows per (dataset, ordering)."""
    from ..highdim import make_clustered_highdim
    from ..sequential import make_shadow, shadow_example

    log = log or (lambda msg: None)
    q = check_int(q, "--Q", minimum=2, maximum=8)
    ms = sorted({check_int(m, "--M", minimum=2, maximum=500) for m in ms} | {q})
    ms = [m for m in ms if m >= q]
    replicates = check_int(replicates, "--replicates", minimum=1)
    n_per_class = check_int(n_per_class, "--n", minimum=6)
    sats = max(1, q // 2) if satellites is None else check_int(satellites, "--satellites", minimum=0, maximum=q // 2)
    if max_orderings is not None:
        max_orderings = check_int(max_orderings, "--max-orderings", minimum=1)
    zero = check_float(zero, "--zero-cost", low=0.0, low_open=True)
    half_length = check_float(half_length, "--half-length", low=0.0, low_open=True)
    radius = check_float(radius, "--radius", low=0.0)
    clustered_delta_ratio = check_float(clustered_delta_ratio, "--clustered-delta-ratio", low=0.0, low_open=True)
    seed = check_seed(seed, "--seed")
    rows = []
    if hand:
        for dim in (2, 3):
            data = shadow_example(dim=dim)
            base = {"Q": 2, "M": dim, "replicate": 0, "seed": "hand"}
            rows += _sls_rows(data, "hand", base, None, seed, zero)
            log(f"sls hand-made example in R^{dim}: " + ", ".join(f"{r['ordering']} {r['status']}" for r in rows[-2:]))
    for m in ms:
        for rep in range(replicates):
            for kind in ("shadow", "clustered"):
                entropy = seed + [m, rep, 0 if kind == "shadow" else 1]
                if kind == "shadow":
                    data = make_shadow(q, m, n_per_class, half_length, radius, sats, seed=entropy)
                else:
                    data = make_clustered_highdim(q, m, n_per_class, clustered_delta_ratio, seed=entropy)
                base = {"Q": q, "M": m, "replicate": rep, "seed": _seed_str(entropy)}
                new = _sls_rows(data, kind, base, max_orderings, entropy, zero)
                rows += new
                feas = [r for r in new if r["feasible"]]
                log(
                    f"sls Q={q} M={m} {kind} rep={rep}: {len(feas)}/{len(new)} orderings feasible"
                    + (f", max C {max(r['cost'] for r in feas):.2e}" if feas else "")
                )
    return {
        "kind": "sls",
        "dlgeom_version": __version__,
        "Q": q,
        "M": ms,
        "replicates": replicates,
        "n_per_class": n_per_class,
        "half_length": half_length,
        "radius": radius,
        "satellites": sats,
        "clustered_delta_ratio": clustered_delta_ratio,
        "max_orderings": max_orderings,
        "hand": hand,
        "seed": seed,
        "zero_cost": zero,
        "rows": rows,
    }


# ---- shallow ------------------------------------------------------------------------------------------


def run_shallow(
    q: int,
    replicates: int = 3,
    n_per_class: int = 60,
    r_min: float = 1e-3,
    r_max: float = 0.5,
    points: int = 13,
    train_runs: int = 0,
    train_iter: int = 300,
    train_ratio: float = 0.1,
    seed=(0,),
    log=None,
) -> dict:
    """The shallow-network quantities over a sweep of the cluster radius, two ways: 'shrink'
    (one draw at r_max, deviations scaled down) and 'fresh' (a new draw at every δ-ratio,
    log-spaced in [r_min, r_max]).  With ``train_runs`` > 0, L-BFGS on the shallow network
    (one start from the best affine network, ``train_runs`` He starts) at δ-ratio
    ``train_ratio`` probes whether the true minimum lies below V_aff."""
    from ..construct import fit_affine
    from ..landscape import init_random, optimise
    from ..shallow import identity_network, shallow_values, shrink_dataset
    from ..synthetic import make_clustered

    log = log or (lambda msg: None)
    q = check_int(q, "--Q", minimum=2, maximum=12)
    replicates = check_int(replicates, "--replicates", minimum=1)
    n_per_class = check_int(n_per_class, "--n", minimum=2)
    r_min = check_float(r_min, "--r-min", low=0.0, low_open=True)
    r_max = check_float(r_max, "--r-max", low=r_min, low_open=True)
    points = check_int(points, "--points", minimum=3)
    train_runs = check_int(train_runs, "--train-runs", minimum=0)
    train_iter = check_int(train_iter, "--train-iter", minimum=1)
    train_ratio = check_float(train_ratio, "--train-ratio", low=0.0, low_open=True)
    seed = check_seed(seed, "--seed")
    ratios = np.geomspace(r_min, r_max, points)
    rows = []
    for rep in range(replicates):
        base_entropy = seed + [rep, 0]
        base = make_clustered(q, n_per_class, r_max, seed=base_entropy)
        for i, r in enumerate(ratios):
            for mode in ("shrink", "fresh"):
                if mode == "shrink":
                    entropy = base_entropy
                    data = shrink_dataset(base, r / r_max)
                else:
                    entropy = seed + [rep, 1, i]
                    data = make_clustered(q, n_per_class, float(r), seed=entropy)
                v = shallow_values(data)
                rows.append(
                    dict(
                        {
                            "Q": q,
                            "mode": mode,
                            "replicate": rep,
                            "level": i,
                            "delta_ratio": float(r),
                            "seed": _seed_str(entropy),
                        },
                        **v,
                    )
                )
        log(
            f"shallow Q={q} rep={rep}: {2 * points} sweep points, gap at the largest radius "
            f"{rows[-1]['gap_rel']:.3g}, V_aff/V {rows[-1]['ratio_aff']:.3g}"
        )
        if train_runs:
            entropy = seed + [rep, 2]
            data = make_clustered(q, n_per_class, train_ratio, seed=entropy)
            v = shallow_values(data)
            A, c, _ = fit_affine(data.X, data, bias=True)
            start = optimise(data, identity_network(data, A, c).to_flat(), 1, "lbfgs", train_iter)
            rng = np.random.default_rng(np.random.SeedSequence(entropy + [1]))
            runs = [
                optimise(data, init_random(q, 1, rng, "he"), 1, "lbfgs", train_iter).cost for _ in range(train_runs)
            ]
            best = min([start.cost] + runs)
            rows.append(
                dict(
                    {
                        "Q": q,
                        "mode": "train",
                        "replicate": rep,
                        "level": -1,
                        "delta_ratio": train_ratio,
                        "seed": _seed_str(entropy),
                    },
                    **v,
                    V_train=best,
                    V_train_from_aff=start.cost,
                    train_runs=train_runs,
                    train_iter=train_iter,
                )
            )
            log(f"shallow Q={q} rep={rep} training: V {v['V']:.4g}, V_aff {v['V_aff']:.4g}, best trained {best:.4g}")
    return {
        "kind": "shallow",
        "dlgeom_version": __version__,
        "Q": q,
        "replicates": replicates,
        "n_per_class": n_per_class,
        "r_min": r_min,
        "r_max": r_max,
        "points": points,
        "train_runs": train_runs,
        "train_iter": train_iter,
        "train_ratio": train_ratio,
        "seed": seed,
        "rows": rows,
    }


# ---- CLI -------------------------------------------------------------------------------------------------


def _cmd_highdim(args) -> dict:
    from ..jsonutil import write_json

    _check_out(args.out)
    t0 = time.perf_counter()
    log = stage_logger(args.quiet)
    theta = None if args.theta in (None, "regular") else _parse_theta(args.theta)
    out = run_highdim(
        args.Q,
        args.M,
        args.delta_ratio,
        args.perp_scale,
        args.replicates,
        args.n_per_class,
        theta,
        args.seed,
        args.zero_cost,
        log,
    )
    write_json(out, args.out)
    log(f"wrote {args.out} ({len(out['rows'])} rows) in {time.perf_counter() - t0:.2f} s")
    return {}


def _parse_theta(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise DlgeomInputError(f"--theta: expected 'regular' or a number (radians), got {text!r}") from None


def _cmd_sls(args) -> dict:
    from ..jsonutil import write_json

    _check_out(args.out)
    t0 = time.perf_counter()
    log = stage_logger(args.quiet)
    out = run_sls(
        args.Q,
        args.M,
        args.replicates,
        args.n_per_class,
        args.half_length,
        args.radius,
        args.satellites,
        args.clustered_delta_ratio,
        args.max_orderings,
        args.hand or (args.hand_Q is not None and args.hand_Q == args.Q),
        args.seed,
        args.zero_cost,
        log,
    )
    write_json(out, args.out)
    log(f"wrote {args.out} ({len(out['rows'])} rows) in {time.perf_counter() - t0:.2f} s")
    return {}


def _cmd_shallow(args) -> dict:
    from ..jsonutil import write_json

    _check_out(args.out)
    t0 = time.perf_counter()
    log = stage_logger(args.quiet)
    out = run_shallow(
        args.Q,
        args.replicates,
        args.n_per_class,
        args.delta_ratio_min,
        args.delta_ratio_max,
        args.points,
        args.train_runs,
        args.train_iter,
        args.train_delta_ratio,
        args.seed,
        log,
    )
    write_json(out, args.out)
    log(f"wrote {args.out} ({len(out['rows'])} rows) in {time.perf_counter() - t0:.2f} s")
    return {}


def _cmd_tables(args) -> dict:
    from .beyond_report import load_runs, write_beyond_tables
    from .provenance import write_provenance

    groups = {"highdim": args.highdim or [], "sls": args.sls or [], "shallow": args.shallow or []}
    for flag, paths in groups.items():
        check_inputs_exist(paths, f"--{flag}")
    out_dir = check_out_dir(args.out_dir)
    frames = load_runs(groups)
    from .beyond_report import FIT_MAX_DELTA_P

    fit_max = (
        FIT_MAX_DELTA_P
        if args.fit_max_delta_P is None
        else check_float(args.fit_max_delta_P, "--fit-max", low=0.0, low_open=True)
    )
    check_float(args.zero_cost, "--zero-cost", low=0.0, low_open=True)
    written = write_beyond_tables(frames, out_dir, args.zero_cost, fit_max)
    inputs = [p for paths in groups.values() for p in paths]
    for path in written:
        write_provenance(path, inputs, "dlgeom beyond-tables", args.config_hash, args.seed)
    print(f"wrote {len(written)} tables to {out_dir}")
    return {}


def _cmd_figure(args) -> dict:
    import pandas as pd

    from . import beyond_report as R
    from .figures import publish_figure

    zero = check_float(args.zero_cost, "--zero-cost", low=0.0, low_open=True)
    names = [n for n in args.name.split(",") if n]
    for n in names:
        if n not in ("highdim", "sls", "shallow"):
            raise DlgeomInputError(f"--name: unknown figure {n!r}; allowed: highdim, sls, shallow")
    if not names:
        raise DlgeomInputError("--name: give at least one of highdim, sls, shallow")
    tables = Path(args.out_dir).parent / "tables" if args.tables is None else Path(args.tables)
    paths = {n: tables / f"{n}.csv" for n in names}
    for path in paths.values():
        if not path.is_file():
            raise DlgeomInputError(f"--tables: {path} does not exist; run dlgeom beyond-tables first")
    out_dir = Path(args.out_dir)
    if not out_dir.is_dir():
        raise DlgeomInputError(f"--out-dir: directory {str(out_dir)!r} does not exist")
    fit_max = (
        R.FIT_MAX_DELTA_P
        if args.fit_max_delta_P is None
        else check_float(args.fit_max_delta_P, "--fit-max", low=0.0, low_open=True)
    )
    for n, path in paths.items():
        try:
            df = pd.read_csv(path, dtype={"ordering": str, "seed": str})
        except pd.errors.EmptyDataError:
            df = pd.DataFrame()
        fig = (
            R.fig_shallow(df, fit_max) if n == "shallow" else {"highdim": R.fig_highdim, "sls": R.fig_sls}[n](df, zero)
        )
        publish_figure(fig, out_dir / n, [path], f"dlgeom beyond-figure --name {n}", args.config_hash, args.seed)
    return {}


def register(sub) -> dict:
    """Add the subcommands to the ``dlgeom`` parser; returns {name: handler}."""
    from ..argtypes import float_list as _float_list
    from ..argtypes import int_list as _int_list

    h = sub.add_parser(
        "highdim",
        help="M >= Q: construction in R^M vs project-then-construct (JSON)",
        description="Clustered data in R^M (random isometric embedding of the R^Q data plus noise in "
        "the extra directions), constructed by the Q+1-layer construction "
        "(docs/mathematics.md §8) "
        "and, for comparison, by PCA to Q dimensions then the R^Q construction.",
    )
    h.add_argument("--Q", type=int, required=True, help="number of classes (>= 2)")
    h.add_argument(
        "--M", type=_int_list, required=True, help="input dimensions, comma-separated (M < Q skipped; M = Q added)"
    )
    h.add_argument(
        "--delta-ratio", type=_float_list, default=[0.05, 0.2], help="δ-ratios r of the R^Q data (default 0.05,0.2)"
    )
    h.add_argument(
        "--perp-scale",
        type=_float_list,
        default=[1.0, 10.0],
        help="noise in the M − Q extra directions, in units of δ (default 1,10)",
    )
    h.add_argument("--theta", default="regular", help="cone angle of the mean simplex ('regular' or radians)")
    h.add_argument("--replicates", type=int, default=3)
    h.add_argument("--n-per-class", "--n", type=int, default=40, help="points per class")
    h.add_argument("--zero-cost", type=float, default=ZERO_COST, help="C/|Y|_F below this counts as zero")
    h.add_argument("--seed", type=_int_list, default=[0], help="seed prefix (SeedSequence entropy)")
    h.add_argument("--out", required=True, help="output JSON")
    h.add_argument("--quiet", action="store_true")
    h.set_defaults(seed_key=job_seed(lambda a: f"beyond/highdim/Q{a.Q}", "beyond_highdim"))

    s = sub.add_parser(
        "sls",
        help="sequentially linearly separable data: LP per ordering, Q(M+2)-number networks (JSON)",
        description="For every ordering of the classes: one LP per step (scipy/HiGHS), and when the "
        "ordering is feasible the zero-cost network from Q(M+2) numbers.",
    )
    s.add_argument("--Q", type=int, required=True)
    s.add_argument("--M", type=_int_list, required=True, help="input dimensions (values < Q skipped; M = Q added)")
    s.add_argument("--replicates", type=int, default=4)
    s.add_argument("--n-per-class", "--n", type=int, default=25, help="points per class")
    s.add_argument("--half-length", type=float, default=0.4, help="half-length of the class bars")
    s.add_argument("--radius", type=float, default=0.025, help="thickness of the bars and satellites")
    s.add_argument("--satellites", type=int, default=None, help="classes with a satellite (default max(1, Q // 2))")
    s.add_argument("--clustered-delta-ratio", type=float, default=0.1, help="δ-ratio of the clustered comparison data")
    s.add_argument("--max-orderings", type=int, default=120, help="sample this many orderings when Q! is larger")
    s.add_argument("--hand", action="store_true", help="also the hand-made example (Q = 2, R^2 and R^3)")
    s.add_argument("--hand-Q", type=int, default=None, help="also the hand-made example when --Q is this")
    s.add_argument("--zero-cost", type=float, default=ZERO_COST, help="C/|Y|_F below this counts as zero")
    s.add_argument("--seed", type=_int_list, default=[0])
    s.add_argument("--out", required=True)
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(seed_key=job_seed(lambda a: f"beyond/sls/Q{a.Q}", "beyond_sls"))

    w = sub.add_parser(
        "shallow",
        help="shallow network: B, V, V_aff over a radius sweep (JSON)",
        description="B = |YΔ_1|_N, δ_P, V (closed form and least squares), V_aff over a sweep of the "
        "cluster radius; optional training probe of the true minimum.",
    )
    w.add_argument("--Q", type=int, required=True)
    w.add_argument("--replicates", type=int, default=3)
    w.add_argument("--n-per-class", "--n", type=int, default=60, help="points per class")
    w.add_argument("--delta-ratio-min", "--r-min", type=float, default=1e-3, help="smallest δ-ratio of the sweep")
    w.add_argument("--delta-ratio-max", "--r-max", type=float, default=0.5, help="largest δ-ratio of the sweep")
    w.add_argument("--points", type=int, default=13, help="sweep points (log-spaced)")
    w.add_argument("--train-runs", type=int, default=6, help="He starts of the training probe (0: none; default 6)")
    w.add_argument("--train-iter", type=int, default=300)
    w.add_argument(
        "--train-delta-ratio", "--train-ratio", type=float, default=0.1, help="δ-ratio of the training probe"
    )
    w.add_argument("--seed", type=_int_list, default=[0])
    w.add_argument("--out", required=True)
    w.add_argument("--quiet", action="store_true")
    w.set_defaults(seed_key=job_seed(lambda a: f"beyond/shallow/Q{a.Q}", "beyond_shallow"))

    t = sub.add_parser(
        "beyond-tables",
        help="highdim/sls/shallow run files -> tables (CSV)",
        description="Writes highdim.csv, sls.csv, shallow.csv and beyond_claims.csv.",
    )
    t.add_argument("--highdim", nargs="*", default=None)
    t.add_argument("--sls", nargs="*", default=None)
    t.add_argument("--shallow", nargs="*", default=None)
    t.add_argument("--out-dir", required=True, help=OUT_DIR_HELP.format("tables"))
    t.add_argument("--zero-cost", type=float, default=ZERO_COST, help="C/|Y|_F below this counts as zero")
    t.add_argument(
        "--fit-max-delta-P",
        "--fit-max",
        type=float,
        default=None,
        help="fit the shallow slope over δ_P <= this (default 0.05)",
    )
    t.add_argument("--config-hash", default=None)
    t.add_argument("--seed", type=_int_list, default=None)
    t.set_defaults(seed_key=job_seed(), check_inputs=("highdim", "sls", "shallow"), study_out_dir="tables")

    f = sub.add_parser("beyond-figure", help="figures of the beyond-the-paper tables (PNG + PDF)")
    f.add_argument(
        "--name", default="highdim,sls,shallow", help="comma-separated: highdim, sls, shallow (default: all three)"
    )
    f.add_argument(
        "--tables", default=None, help="directory with the tables (default: the study's tables/ beside --out-dir)"
    )
    f.add_argument(
        "--out-dir", required=True, help="writes NAME.png and NAME.pdf there; " + OUT_DIR_HELP.format("figures")
    )
    f.add_argument(
        "--fit-max-delta-P",
        "--fit-max",
        type=float,
        default=None,
        help="shallow: fit range δ_P <= this (default 0.05)",
    )
    f.add_argument("--zero-cost", type=float, default=ZERO_COST, help="C/|Y|_F below this counts as zero")
    f.add_argument("--config-hash", default=None)
    f.add_argument("--seed", type=_int_list, default=None)
    f.set_defaults(seed_key=job_seed(), study_out_dir="figures")
    return {
        "highdim": _cmd_highdim,
        "sls": _cmd_sls,
        "shallow": _cmd_shallow,
        "beyond-tables": _cmd_tables,
        "beyond-figure": _cmd_figure,
    }
