"""The study's measurements: what the robustness stage measures at one point of an axis and along
a real dataset's shrink sweep, with the study's defaults (θ_0 by :data:`dlgeom.study.STUDY_THETA0`).

* :func:`make_point` — the training and held-out data of one robustness point (seeded);
* :func:`measure_point` — every measurement of one point, as plain values (one row of
  robustness.csv and realdata.csv);
* :func:`shrink_sweep` — :func:`measure_point` at every shrink factor λ of a real dataset, and the
  λ thresholds; :func:`zero_at` — whether any searched μ reaches zero cost at one λ.

The mathematics they use stays in the library: the perturbations, the μ search and the baselines
in :mod:`dlgeom.robustness`, the shrink and the exact λ thresholds in :mod:`dlgeom.realdata`.
"""

from __future__ import annotations

import numpy as np

from ..construct import construct_global
from ..data import Dataset
from ..geometry import assumptions, geometry
from ..jsonutil import jsonable
from ..network import cost
from ..realdata import assumption_lambdas, largest_prefix, shrink_pair
from ..robustness import (
    baseline_accuracies,
    clusteredness,
    curation_check,
    flip_labels,
    imbalance_counts,
    near_singular_means,
    search_mu,
    with_means,
)
from ..synthetic import make_clustered
from ..thresholds import ZERO_COST
from ..validation import SINGULAR_COND, DlgeomInputError, check_float, check_int
from . import STUDY_THETA0

__all__ = ["make_point", "measure_point", "shrink_sweep", "zero_at"]


def make_point(params: dict, seed) -> tuple[Dataset, Dataset]:
    """Training and held-out data of one point: seeds [*seed, 0] (train), [*seed, 1] (test),
    [*seed, 2] (label flips).  The test set is balanced (``n_test_per_class`` per class), has the
    same means, δ, noise shape and outliers, and clean labels."""
    seed = [int(s) for s in np.atleast_1d(seed).tolist()]
    q = check_int(params["Q"], "Q", minimum=2)
    theta = None if params["theta"] in (None, "regular") else float(params["theta"])
    n = check_int(params["n_per_class"], "n_per_class", minimum=2)
    counts = imbalance_counts(q, n, params["imbalance"]) if params["imbalance"] != 1 else n
    kw = {
        "delta_ratio": params["delta_ratio"],
        "theta": theta,
        "noise": params["noise"],
        "outlier_fraction": params["outlier_fraction"],
        "elongation": params["elongation"],
    }
    train = make_clustered(q, counts, seed=seed + [0], **kw)
    test = make_clustered(q, params["n_test_per_class"], seed=seed + [1], **kw)
    if params["cond_xred"] is not None and params["cond_shift"] is not None:
        raise DlgeomInputError("cond_xred/cond_shift: set at most one of them")
    for key, mode in (("cond_xred", "flatten"), ("cond_shift", "shift")):
        if params[key] is not None:
            means = near_singular_means(q, params[key], mode)
            train, test = with_means(train, means), with_means(test, means)
    if params["label_noise"]:
        train = flip_labels(train, params["label_noise"], seed + [2])
    return train, test


_NAN_KEYS = (
    "cost_default",
    "cost_default_affine",
    "cost_best",
    "frac_zero_search",
    "acc_metric",
    "acc_best",
    "acc_train_metric",
    "mu_default_mean",
    "threshold_max",
)


def measure_point(
    train: Dataset,
    test: Dataset,
    L: int | None = None,
    zero_cost: float = ZERO_COST,
    n_line: int = 9,
    n_random: int = 16,
    seed=0,
    theta0=STUDY_THETA0,
) -> dict:
    """Every measurement of one robustness point, as plain values.

    ``theta0``: θ_0 or its rule (:func:`dlgeom.geometry.geometry`); by default the study's rule
    :data:`dlgeom.study.STUDY_THETA0` (the smallest θ_0 that opens the μ-box).

    Assumptions and margins (r, 1/4 − r, θ_*, π − θ_*, cond(X^red)); clusteredness; the global
    construction at the default μ (paper's output layer, and least squares with bias); the μ
    search (:func:`dlgeom.robustness.search_mu`); whether the curation is exact
    (:func:`dlgeom.robustness.curation_check`: every class on one point, so that C = 0 in exact
    arithmetic and a computed C > ``zero_cost`` is rounding); held-out accuracy against the nearest
    class mean and logistic regression of: the induced-metric classifier at the default μ
    (``acc_metric``: truncate, then the nearest apex p_j in the metric |Y X^red[μ]^{-1}(x − x')|,
    [P 2.61-2.68]) and the best-μ network's own rule argmin_j |f(x) − y_j| (``acc_best``; the same
    rule as the metric one when every class is curated to its apex, and the right one beyond the
    assumptions, where a class may be curated to another point).  ``status`` is 'ok',
    'singular_xred' (cond(X^red) ≥ 1e12: no construction, costs NaN) or 'numerical: …'; a
    numerical failure never raises.
    """
    from ..classifier import (  # imports scikit-learn: only when measuring
        predict_metric,
        predict_network,
    )

    if not isinstance(train, Dataset) or not isinstance(test, Dataset):
        raise DlgeomInputError("train/test: expected dlgeom.Dataset objects")
    q = train.n_classes
    if test.n_classes != q:
        raise DlgeomInputError(f"test: has Q = {test.n_classes}, the training data Q = {q}")
    L = q if L is None else check_int(L, "L", minimum=q)
    zero_cost = check_float(zero_cost, "zero_cost", low=0.0, low_open=True)
    row = {
        "Q": q,
        "L": L,
        "N": train.n_points,
        "N_test": test.n_points,
        "n_min_class": int(train.counts.min()),
        "n_max_class": int(train.counts.max()),
        **{k: float("nan") for k in _NAN_KEYS},
        "reaches_zero_default": False,
        "reaches_zero_any": False,
        "mu_best_min": float("nan"),
        "mu_best_max": float("nan"),
        "best_family": "",
        "n_search": 0,
        "spread_default": float("nan"),
        "spread_best": float("nan"),
        "exact_default": False,
        "exact_best": False,
        **{
            k: float("nan")
            for k in (
                "r",
                "A2_margin",
                "theta_max",
                "theta0",
                "theta_star",
                "A3_margin",
                "cond_xred",
                "delta",
                "D_eff",
                "collapse_bound",
            )
        },
        **{k: False for k in ("A1", "A2", "A3", "all_hold", "box_nonempty")},
    }
    row.update(clusteredness(train.X, train.y))
    row.update(baseline_accuracies(train, test))
    try:
        with np.errstate(all="ignore"):
            geom = geometry(train, theta0)
        rep = assumptions(geom)
        row.update(
            {
                "r": geom.r,
                "A2_margin": 0.25 - geom.r,
                "theta_max": geom.theta_max,
                "theta0": geom.theta0,
                "theta_star": geom.theta_star,
                "A3_margin": float(np.pi - geom.theta_max),
                "cond_xred": geom.cond_xred,
                "A1": rep.A1.holds,
                "A2": rep.A2.holds,
                "A3": rep.A3.holds,
                "all_hold": rep.all_hold,
                "box_nonempty": rep.box_nonempty,
                "delta": geom.delta,
                "D_eff": geom.D_eff,
                "collapse_bound": geom.collapse_bound,
            }
        )
        if not (np.isfinite(geom.cond_xred) and geom.cond_xred < SINGULAR_COND):
            row["status"] = "singular_xred"
            return row
        con = construct_global(train, L, geom=geom)
        con_aff = construct_global(train, L, geom=geom, output="lstsq_affine")
        row["mu_default_mean"] = float(np.mean(con.mu))
        row["cost_default"] = cost(con.network, train)
        row["reaches_zero_default"] = bool(row["cost_default"] <= zero_cost)
        row["cost_default_affine"] = cost(con_aff.network, train)
        found = search_mu(train, geom, L, zero_cost, n_line, n_random, seed)
        # the best of the search and the default μ (paper's output, least-squares output)
        best_cost, best_con, family = min(
            (found["best_cost"], found["construction"], found["best_family"]),
            (row["cost_default_affine"], con_aff, "default"),
            (row["cost_default"], con, "default-paper"),
            key=lambda t: t[0],
        )
        row.update(
            {
                "cost_best": best_cost,
                "reaches_zero_any": bool(best_cost <= zero_cost),
                "frac_zero_search": found["frac_zero"],
                "n_search": found["n_evaluated"],
                "mu_best_min": float(np.min(best_con.mu)),
                "mu_best_max": float(np.max(best_con.mu)),
                "best_family": family,
                "threshold_max": float(np.max(found["thresholds"])),
            }
        )
        row["spread_default"], row["exact_default"] = curation_check(con, train)
        row["spread_best"], row["exact_best"] = curation_check(best_con, train)
        row["acc_metric"] = float(np.mean(predict_metric(con, train.Y, test.X) == test.y))
        row["acc_train_metric"] = float(np.mean(predict_metric(con, train.Y, train.X) == train.y))
        row["acc_best"] = float(np.mean(predict_network(best_con, train.Y, test.X) == test.y))
        row["status"] = "ok"
    except DlgeomInputError as exc:
        row["status"] = "singular_xred" if "X^red" in str(exc) else f"invalid: {exc}"
    except (np.linalg.LinAlgError, FloatingPointError, ValueError) as exc:
        row["status"] = f"numerical: {type(exc).__name__}: {exc}"
    return row


def zero_at(
    train: Dataset,
    lam: float,
    L: int | None = None,
    zero_cost: float = ZERO_COST,
    n_line: int = 9,
    n_random: int = 16,
    seed=(0,),
) -> bool:
    """Does any searched μ give zero cost at shrink λ (training data only; no baselines)?"""
    tr, _ = shrink_pair(train, train, lam)
    try:
        with np.errstate(all="ignore"):
            geom = geometry(tr, STUDY_THETA0)
        if not geom.cond_xred < SINGULAR_COND:
            return False
        if cost(construct_global(tr, L, geom=geom).network, tr) <= zero_cost:
            return True
        return bool(search_mu(tr, geom, L, zero_cost, n_line, n_random, seed)["reaches_zero"])
    except (DlgeomInputError, np.linalg.LinAlgError, FloatingPointError, ValueError):
        return False


def shrink_sweep(
    train: Dataset,
    test: Dataset,
    lambdas,
    L: int | None = None,
    zero_cost: float = ZERO_COST,
    n_line: int = 9,
    n_random: int = 16,
    seed=(0,),
    refine_steps: int = 6,
    log=lambda msg: None,
) -> tuple[list[dict], dict]:
    """:func:`measure_point` at every λ, and the thresholds.

    Summary: the exact λ_A2, λ_A3 and λ_assumptions (:func:`dlgeom.realdata.assumption_lambdas`);
    on the grid, the largest λ such that every grid λ' ≤ λ has the assumptions holding / zero cost
    at the default μ / zero cost at some μ (``lambda_*_grid``); ``lambda_zero_any_refined``: bisection
    (``refine_steps`` halvings, :func:`zero_at`) between that grid λ and the next grid λ, the
    last λ found with zero cost, and ``lambda_zero_any_lost`` the first λ found without it (the
    bracket's upper end; reaching zero need not be monotone in λ: this is *a* crossing inside that
    bracket).  ``zero_any_extent``: 'never' (no zero cost at the smallest grid λ; the λ_zero values
    are NaN), 'lost_in_sweep' (zero cost is lost between ``lambda_zero_any_refined`` and
    ``lambda_zero_any_lost``) or 'whole_sweep' (zero cost at every grid λ: the refined value is
    the largest grid λ, a lower bound, and ``lambda_zero_any_lost`` is NaN).  The μ search uses the
    same seed at every λ.
    """
    lambdas = np.array([check_float(v, "lambdas", low=0.0) for v in lambdas], dtype=np.float64)
    if lambdas.size == 0:
        raise DlgeomInputError("lambdas: give at least one λ >= 0")
    if np.unique(lambdas).size != lambdas.size:
        raise DlgeomInputError("lambdas: values must be distinct")
    refine_steps = check_int(refine_steps, "refine_steps", minimum=0)
    seed = [int(s) for s in np.atleast_1d(seed).tolist()]
    rows = []
    for lam in np.sort(lambdas):
        tr, te = shrink_pair(train, test, float(lam))
        row = {"lambda": float(lam), **measure_point(tr, te, L, zero_cost, n_line, n_random, seed)}
        rows.append(row)
        log(
            f"lambda={lam:g}: all_hold={row.get('all_hold')} C_default={row['cost_default']:.3g} "
            f"C_best={row['cost_best']:.3g} acc={row['acc_metric']:.3f} status={row['status']}"
        )
    lam_sorted = np.array([r["lambda"] for r in rows])
    ok = lambda key: [bool(r.get(key, False)) and r["status"] == "ok" for r in rows]
    summary = {
        **assumption_lambdas(train),
        "lambda_assumptions_grid": largest_prefix(lam_sorted, [bool(r.get("all_hold", False)) for r in rows]),
        "lambda_zero_default_grid": largest_prefix(lam_sorted, ok("reaches_zero_default")),
        "lambda_zero_any_grid": largest_prefix(lam_sorted, ok("reaches_zero_any")),
        "lambda_exact_default_grid": largest_prefix(lam_sorted, ok("exact_default")),
    }
    lo = summary["lambda_zero_any_grid"]
    refined, lost = lo, float("nan")
    above = lam_sorted[lam_sorted > lo] if np.isfinite(lo) else lam_sorted[:0]
    if above.size:
        a, b = lo, float(above.min())
        for _ in range(refine_steps):
            mid = 0.5 * (a + b)
            if zero_at(train, mid, L, zero_cost, n_line, n_random, seed):
                a = mid
            else:
                b = mid
        refined, lost = a, b
    summary["lambda_zero_any_refined"] = refined
    summary["lambda_zero_any_lost"] = lost
    summary["zero_any_extent"] = (
        "never" if not np.isfinite(lo) else "lost_in_sweep" if np.isfinite(lost) else "whole_sweep"
    )
    return rows, jsonable(summary)
