"""Worst-case checks of the global construction over a μ-box [P Thm 2.3] (docs/mathematics.md §3–§4).

A claim over the box I_0^Q = (lo, hi)^Q is a claim about its worst point.  :func:`box_points`
lists the points tested, deterministic ones first: the 2^Q corners, the Q·2^(Q−1) edge midpoints
(each set pulled into the open box by a relative ``inset`` of its width), then random interior
points on top.  :func:`check_box` builds the construction at each point and reports, per kind of
point, how many were tested and how many missed zero cost, and how the failing points relate to
the predicate "some μ_j reaches past the barycenter distance": μ_j < −min_k |x̄_k − x̄|
(``past_min``) and μ_j < −|x̄_j − x̄| (``past_own``), and to the exact geometric test
:func:`apex_leaves_cone` (an earlier class's apex p_j leaves the region a later layer ℓ keeps,
W^(ℓ) p_j + b^(ℓ) ≱ 0, so layer ℓ moves it and the output layer (4.74) no longer fits).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .construct import construct_global, hidden_cumulative
from .data import Dataset
from .geometry import Geometry
from .network import cost, curate
from .thresholds import ZERO_COST

__all__ = [
    "box_points",
    "check_box",
    "apex_leaves_cone",
    "apex_leaves_cone_batch",
    "curation_is_exact",
    "INSET",
    "MAX_CORNER_Q",
    "APEX_TOL",
    "CURATION_TOL",
]

#: Corners and edge midpoints are pulled into the open box by this fraction of its width.
INSET = 1e-3
#: Above this Q the corners (2^Q) and edge midpoints are not enumerated (random points only).
MAX_CORNER_Q = 10
#: :func:`apex_leaves_cone`: a pre-activation below −APEX_TOL·max(1, |p_j|) counts as negative.
APEX_TOL = 1e-9
#: :func:`curation_is_exact`: every point within this distance (relative to max(1, spread of the
#: means)) of its class's apex.
CURATION_TOL = 1e-9


def curation_is_exact(con, data: Dataset) -> bool:
    """Whether T_L maps every point of class j onto its apex p_j (to :data:`CURATION_TOL`): then the
    output layer (4.74) gives C = 0 in exact arithmetic and a computed C > 0 is rounding (from
    cond X^red[μ] and cond W_*)."""
    T = curate(con.network, data.X)
    scale = max(1.0, float(np.ptp(con.geometry.means, axis=0).max()))
    return bool(np.max(np.linalg.norm(T - con.apexes[data.y], axis=1)) <= CURATION_TOL * scale)


def apex_leaves_cone(geom: Geometry, mu) -> bool:
    """Whether some apex p_j = x̄_j − μ_j f_j of a class collapsed at layer j has a negative
    pre-activation (W^(ℓ) p_j + b^(ℓ))_k at a later layer ℓ > j: the point is then moved by layer
    ℓ and the curated matrix X^red[μ] of (4.74) is no longer where the points are."""
    return bool(apex_leaves_cone_batch(geom, np.asarray(mu, dtype=np.float64)[None])[0])


def apex_leaves_cone_batch(geom: Geometry, mus) -> np.ndarray:
    """:func:`apex_leaves_cone` for every row of ``mus`` (M, Q) at once: a boolean per row."""
    mus = np.asarray(mus, dtype=np.float64)
    q = geom.n_classes
    Wc, bc0 = hidden_cumulative(geom, np.zeros(q), q)  # W^(ℓ) and −W^(ℓ) x̄_ℓ: μ enters b^(ℓ) as μ_ℓ û
    apex = geom.means[None] - mus[:, :, None] * geom.f[None]  # (M, Q, Q): p_j of every μ as rows
    scale = np.maximum(1.0, np.linalg.norm(apex, axis=2))
    out = np.zeros(mus.shape[0], dtype=bool)
    for ell in range(1, q):
        b = bc0[ell][None] + (mus[:, ell, None] / math.sqrt(q)) * np.ones(q)  # b^(ℓ) of every μ
        pre = apex[:, :ell] @ Wc[ell].T + b[:, None, :]
        out |= (pre.min(axis=2) < -APEX_TOL * scale[:, :ell]).any(axis=1)
    return out


def box_points(
    lo: float, hi: float, q: int, n_random: int, rng: np.random.Generator, inset: float = INSET
) -> tuple[np.ndarray, np.ndarray]:
    """(points as rows, kind of each: 'corner' | 'edge' | 'random') of the cube (lo, hi)^q.

    Corners: every coordinate at lo' = lo + inset·w or hi' = hi − inset·w (w = hi − lo).  Edge
    midpoints: one coordinate at (lo + hi)/2, the others at lo' or hi'.  Then ``n_random``
    uniform interior points.  Requires lo < hi."""
    w = hi - lo
    ends = np.array([lo + inset * w, hi - inset * w])
    pts, kinds = [], []
    if q <= MAX_CORNER_Q:
        for bits in itertools.product((0, 1), repeat=q):
            pts.append(ends[list(bits)])
            kinds.append("corner")
        mid = (lo + hi) / 2
        for j in range(q):
            for bits in itertools.product((0, 1), repeat=q - 1):
                p = ends[list(bits)]
                pts.append(np.insert(p, j, mid))
                kinds.append("edge")
    if n_random:
        pts.extend(lo + w * rng.random((n_random, q)))
        kinds.extend(["random"] * n_random)
    return np.array(pts, dtype=np.float64).reshape(-1, q), np.array(kinds)


def check_box(
    data: Dataset,
    geom: Geometry,
    n_layers: int,
    use_D: str,
    n_random: int,
    rng: np.random.Generator,
    zero_cost: float = ZERO_COST,
) -> dict:
    """Costs of the construction over the μ-box of ``use_D`` ('eff' or 'paper'); an empty box
    gives n_points = 0.  Keys (prefixed by nothing; the caller adds ``box_<use_D>_``):
    n_corner/n_edge/n_random (points tested), fail_corner/fail_edge/fail_random (cost >
    ``zero_cost``), cost_max, frac_zero, past_min/past_own (points where some μ_j reaches past
    min_k |x̄_k − x̄| / its own |x̄_j − x̄|), apex_out (points where :func:`apex_leaves_cone`),
    fail_rounding (failing points whose curation is exact, :func:`curation_is_exact`: rounding, not
    a counterexample), and fail_past_min/fail_past_own/fail_apex_out (the other failing points
    among the points of each predicate)."""
    out = {f"{a}_{k}": 0 for a in ("n", "fail") for k in ("corner", "edge", "random")}
    out.update(
        {
            "cost_max": float("nan"),
            "frac_zero": float("nan"),
            "past_min": 0,
            "past_own": 0,
            "fail_past_min": 0,
            "fail_past_own": 0,
            "apex_out": 0,
            "fail_apex_out": 0,
            "fail_rounding": 0,
        }
    )
    if not geom.box_nonempty(use_D):
        return out
    lo, hi = geom.mu_box(use_D)
    pts, kinds = box_points(lo, hi, geom.n_classes, n_random, rng)
    costs, rounding = np.empty(len(pts)), np.zeros(len(pts), dtype=bool)
    for i, m in enumerate(pts):
        con = construct_global(data, n_layers, m, use_D=use_D, geom=geom)
        costs[i] = cost(con.network, data)
        if not costs[i] <= zero_cost:
            rounding[i] = curation_is_exact(con, data)
    fail = ~(costs <= zero_cost)
    real = fail & ~rounding
    dist = geom.dist_to_barycenter
    past_min = (pts < -float(dist.min())).any(axis=1)
    past_own = (pts < -dist[None, :]).any(axis=1)
    apex_out = apex_leaves_cone_batch(geom, pts)
    for k in ("corner", "edge", "random"):
        sel = kinds == k
        out[f"n_{k}"] = int(sel.sum())
        out[f"fail_{k}"] = int((fail & sel).sum())
    out.update(
        {
            "cost_max": float(np.nanmax(costs)),
            "frac_zero": float(np.mean(~fail)),
            "past_min": int(past_min.sum()),
            "past_own": int(past_own.sum()),
            "fail_past_min": int((real & past_min).sum()),
            "fail_past_own": int((real & past_own).sum()),
            "apex_out": int(apex_out.sum()),
            "fail_apex_out": int((real & apex_out).sum()),
            "fail_rounding": int((fail & rounding).sum()),
        }
    )
    return out
