"""Sequentially linearly separable (SLS) data in R^M and their zero-cost networks described by
Q(M+2) numbers (docs/mathematics.md §8, after arXiv 2405.07098).

Definition
----------
An ordering π of the classes is *SLS-feasible* if for every step k = 1..Q there is a hyperplane
H_k = {x : w_k·x = c_k} through a point p_k on the open segment (x̄_{π(k)}, x̄) with every point
of class π(k) strictly on its negative side and, strictly on its positive side, every point of
the later classes π(k+1..Q) and the earlier points p_1..p_{k−1}.  (x̄ is then strictly positive
too: it lies on the far side of p_k from x̄_{π(k)}.)

Feasibility test (one LP per step, :func:`step_lp`)
---------------------------------------------------
Write p_k = x̄_{π(k)} + t_k (x̄ − x̄_{π(k)}), t_k ∈ (0, 1).  A hyperplane (w, c) with class π(k)
negative and x̄ positive meets the segment exactly once, at t = (c − w·x̄_{π(k)}) / (w·(x̄ −
x̄_{π(k)})) ∈ (0, 1).  So step k is feasible iff the LP

    max γ  s.t.  w·x − c ≤ −γ (x in class π(k)),  w·z − c ≥ γ (z later point, earlier p_i, or x̄),
                 |w|_∞ ≤ 1

has γ* > 0 (coordinates centred at x̄ and scaled to unit size).  Numerically a step counts as
feasible when γ* > :data:`GAMMA_TOL` = 1e-6, above the LP solver's tolerances (~1e-7).
The earlier p_i enter the later steps, so the choice of t_i matters.  Every later positive
side contains x̄, and half-spaces are convex, so a p_i nearer x̄ (larger t_i) is never worse.
The first pass takes each step's max-margin hyperplane as it is (the
best-conditioned network).  If an earlier p_i blocks a later step, passes with a push ρ
follow: t_k = t_mm + ρ(t_hi − t_mm), between the max-margin t_mm and t_hi, the largest t with
margin ≥ 10⁻³ γ* (Dinkelbach iterations on the linear-fractional t, one LP each), and the
hyperplane is the max-margin one through that p_k (one more LP); ρ = 0.25, 0.5, 0.75, 0.9,
0.99, 1, the smallest that works is kept.  The ordering is declared infeasible when all fail; a
failure at a step that is infeasible even without the earlier points is exact ('data'),
otherwise it is 'points' (infeasible up to the 10⁻³ approximation of the supremum of t_k).

Network (:func:`sls_network`)
-----------------------------
Hidden width M, Q hidden layers, one per step, as truncation maps in input space (docs/mathematics.md §2):
cumulative W^(k) = W_{θ_k} R_k with R_k ∈ SO(M), R_k w_k/|w_k| = û, and b^(k) = −W^(k) p_k.  The
forward cone p_k + C_{θ_k}[w_k] and the backward cone p_k + C_{θ_k}[−w_k] approximate the two
half-spaces of H_k as θ_k → π.  Choosing θ_k/2 above the largest angle between w_k (resp. −w_k)
and z − p_k over the positive (resp. class) points — they are all < π/2 by strict separation —
layer k sends class π(k) to p_k and keeps everything else: after Q layers class π(k) sits at p_k.
Our θ_k is the midpoint between that angle (×2) and π.  The output layer is the affine map
A z + c0 with A p_k + c0 = y_{π(k)} (minimum-norm A); it needs the p_k affinely independent,
which holds when the class means are (M ≥ Q − 1).  So the minimiser is described by
Q(M+2) numbers, (w_k ∈ R^M, t_k, θ_k) per step, plus the data's class means and Y; its cost is
zero.  The network has Q(M² + M) + QM + Q parameters.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from .construct import rotation_to_diagonal
from .data import Dataset
from .geometry import cone_matrix
from .highdim import ReluNet
from .jsonutil import jsonable
from .validation import DlgeomInputError, check_float, check_int, check_seed

__all__ = [
    "ETA_MIN",
    "GAMMA_TOL",
    "PUSHES",
    "OrderingResult",
    "Step",
    "all_orderings",
    "check_ordering",
    "make_shadow",
    "output_affine",
    "shadow_example",
    "sls_network",
    "sls_parameters",
    "step_lp",
    "truncate_path",
]

#: Relative LP margin below which a step counts as infeasible (coordinates scaled to unit size).
GAMMA_TOL = 1e-6
#: Pushes ρ tried in turn: t_k = t_mm + ρ (t_hi − t_mm), t_mm of the max-margin hyperplane,
#: t_hi the largest t with margin ≥ ETA_MIN γ*; ρ = 0 is the best-conditioned network.
PUSHES = (0.0, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0)
ETA_MIN = 1e-3


@dataclass(frozen=True)
class Step:
    """One step: class ``cls`` cut off by the hyperplane w·x = c through p = x̄_cls + t(x̄ − x̄_cls).

    ``gamma``: the LP's max margin (unit-scaled coordinates); ``margin``: the geometric margin
    min |w·x − c| / |w| of the chosen hyperplane over the step's points (original units);
    ``theta``: the cone angle of the layer.
    """

    cls: int
    w: tuple
    c: float
    t: float
    p: tuple
    gamma: float
    margin: float
    theta: float


@dataclass(frozen=True)
class OrderingResult:
    """Feasibility of one ordering.  ``status``: 'feasible', 'infeasible' or 'lp_error'.
    ``failed_step`` (0-based) and ``reason`` ('data': infeasible even without the earlier
    points; 'points': blocked by them) when not feasible; ``push`` the ρ of the pass used
    (0: every step's max-margin hyperplane)."""

    ordering: tuple
    status: str
    steps: tuple = ()
    failed_step: int | None = None
    reason: str | None = None
    push: float | None = None
    gammas: tuple = ()

    @property
    def feasible(self) -> bool:
        return self.status == "feasible"

    def to_dict(self) -> dict:
        return jsonable(
            {
                "ordering": list(self.ordering),
                "status": self.status,
                "failed_step": self.failed_step,
                "reason": self.reason,
                "push": self.push,
                "gammas": list(self.gammas),
                "steps": [s.__dict__ for s in self.steps],
            }
        )


# ---- the LPs -----------------------------------------------------------------------------------


def _linprog(c, A_ub, b_ub, bounds, A_eq=None, b_eq=None):
    from scipy.optimize import linprog

    return linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs")


def step_lp(neg: np.ndarray, pos: np.ndarray):
    """Max-margin separation of ``neg`` (rows, strictly negative) from ``pos`` (rows, strictly
    positive) by w·x = c with |w|_∞ ≤ 1.  Returns (gamma, w, c, status); status is 'ok' or
    'lp_error' (then gamma is nan).  Coordinates should be O(1)."""
    m = neg.shape[1]
    A = np.vstack(
        [
            np.hstack([neg, -np.ones((len(neg), 1)), np.ones((len(neg), 1))]),
            np.hstack([-pos, np.ones((len(pos), 1)), np.ones((len(pos), 1))]),
        ]
    )
    obj = np.zeros(m + 2)
    obj[-1] = -1.0
    bounds = [(-1.0, 1.0)] * m + [(None, None), (0.0, 1.0)]
    res = _linprog(obj, A, np.zeros(len(A)), bounds)
    if res.status != 0:
        return float("nan"), None, None, "lp_error"
    return float(res.x[-1]), res.x[:m], float(res.x[m]), "ok"


def _max_t(neg, pos, mean_k, direction, floor, t0, iters=30):
    """Largest t = (c − w·x̄_k)/(w·d) over hyperplanes with margin ≥ ``floor`` (Dinkelbach)."""
    m = neg.shape[1]
    A = np.vstack([np.hstack([neg, -np.ones((len(neg), 1))]), np.hstack([-pos, np.ones((len(pos), 1))])])
    b = np.full(len(A), -floor)
    bounds = [(-1.0, 1.0)] * m + [(None, None)]
    t, best = t0, None
    for _ in range(iters):
        obj = np.concatenate([mean_k + t * direction, [-1.0]])  # minimise −(c − w·x̄_k) + t w·d
        res = _linprog(obj, A, b, bounds)
        if res.status != 0:
            break
        w, c = res.x[:m], res.x[m]
        t_new = (c - w @ mean_k) / (w @ direction)
        best = (w, c, t_new)
        if t_new <= t + 1e-13:
            break
        t = t_new
    return best


def _lp_through(neg, pos, p):
    """Max-margin hyperplane through the point p: max γ s.t. w·(x − p) ≤ −γ (neg),
    w·(z − p) ≥ γ (pos), |w|_∞ ≤ 1.  Returns (γ, w) or (None, None) on an LP failure."""
    m = neg.shape[1]
    A = np.vstack([np.hstack([neg - p, np.ones((len(neg), 1))]), np.hstack([-(pos - p), np.ones((len(pos), 1))])])
    obj = np.zeros(m + 1)
    obj[-1] = -1.0
    res = _linprog(obj, A, np.zeros(len(A)), [(-1.0, 1.0)] * m + [(0.0, 1.0)])
    if res.status != 0:
        return None, None
    return float(res.x[-1]), res.x[:m]


def _angle_bound(w, p, neg, pos) -> float:
    """Largest angle between w and z − p (positive points) or −w and x − p (class points)."""
    wn = w / np.linalg.norm(w)
    out = 0.0
    for pts, sign in ((pos, 1.0), (neg, -1.0)):
        if len(pts) == 0:
            continue
        v = pts - p
        cosang = sign * (v @ wn) / np.linalg.norm(v, axis=1)
        out = max(out, float(np.max(np.arccos(np.clip(cosang, -1.0, 1.0)))))
    return out


class _Problem:
    """Data of one SLS problem in unit-scaled coordinates centred at x̄."""

    def __init__(self, data: Dataset):
        self.data = data
        self.q, self.m = data.n_classes, data.dim
        self.xbar = data.barycenter
        self.scale = float(np.max(np.linalg.norm(data.X - self.xbar, axis=1))) or 1.0
        self.U = (data.X - self.xbar) / self.scale
        self.means = (data.means - self.xbar) / self.scale
        self.by_class = [self.U[data.y == j] for j in range(self.q)]

    def step(self, k_cls: int, later: list[int], earlier_p: list[np.ndarray], push: float):
        """(status, Step | None, gamma, reason)."""
        neg = self.by_class[k_cls]
        pos_parts = [self.by_class[j] for j in later] + [np.zeros((1, self.m))]
        pos_data = np.vstack(pos_parts)
        pos = np.vstack([pos_data] + [p[None, :] for p in earlier_p]) if earlier_p else pos_data
        gamma, w, c, st = step_lp(neg, pos)
        if st != "ok":
            return "lp_error", None, gamma, None
        if not gamma > GAMMA_TOL:
            reason = "data"
            if earlier_p:
                g0, *_ = step_lp(neg, pos_data)
                reason = "points" if g0 > GAMMA_TOL else "data"
            return "infeasible", None, gamma, reason
        mean_k = self.means[k_cls]
        d = -mean_k  # x̄ − x̄_k with x̄ = 0
        t0 = (c - w @ mean_k) / (w @ d)
        t = t0
        if push > 0:
            best = _max_t(neg, pos, mean_k, d, ETA_MIN * gamma, t0)
            t_hi = best[2] if best is not None else t0
            t = t0 + push * (t_hi - t0)
            p_unit = mean_k + t * d
            g_p, w_p = _lp_through(neg, pos, p_unit)
            if g_p is not None and g_p > 0:
                w, c = w_p, float(w_p @ p_unit)
            else:  # the pushed point itself (ρ = 1 and a degenerate LP): keep Dinkelbach's plane
                w, c, t = best
        p_unit = mean_k + t * d
        # geometry in original units
        w_orig = w / self.scale
        p = self.xbar + self.scale * p_unit
        c_orig = float(w_orig @ p)
        neg_o = self.data.X[self.data.y == k_cls]
        pos_net = [self.data.X[self.data.y == j] for j in later] + [
            self.xbar + self.scale * e[None, :] for e in earlier_p
        ]
        pos_o = np.vstack(pos_net) if pos_net else np.zeros((0, self.m))
        wn = np.linalg.norm(w_orig)
        margin = float(
            min(np.min(c_orig - neg_o @ w_orig), np.min(pos_o @ w_orig - c_orig) if len(pos_o) else np.inf) / wn
        )
        alpha = _angle_bound(w_orig, p, neg_o, pos_o)
        theta = np.pi / 2 + alpha
        step = Step(
            cls=int(k_cls),
            w=tuple((w_orig / wn).tolist()),
            c=c_orig / wn,
            t=float(t),
            p=tuple(p.tolist()),
            gamma=float(gamma),
            margin=margin,
            theta=float(theta),
        )
        return "ok", step, gamma, None


def _run(prob: _Problem, ordering, push: float, memo: dict):
    """Greedy pass over ``ordering`` with push ρ = ``push`` (prefix results memoised)."""
    steps, gammas = [], []
    earlier_p = []
    for k, cls in enumerate(ordering):
        key = (tuple(ordering[: k + 1]), push)
        if key not in memo:
            later = list(ordering[k + 1 :])
            memo[key] = prob.step(cls, sorted(later), earlier_p, push)
        status, step, gamma, reason = memo[key]
        gammas.append(gamma)
        if status != "ok":
            return OrderingResult(tuple(ordering), status, tuple(steps), k, reason, push, tuple(gammas))
        steps.append(step)
        earlier_p.append((np.asarray(step.p) - prob.xbar) / prob.scale)
    return OrderingResult(tuple(ordering), "feasible", tuple(steps), None, None, push, tuple(gammas))


def _check_ordering(prob: _Problem, ordering, memo: dict) -> OrderingResult:
    res = None
    for push in PUSHES:
        res = _run(prob, ordering, push, memo)
        if res.feasible or res.status == "lp_error" or res.reason == "data":
            return res
    return res


def _validated_ordering(ordering, q: int) -> tuple:
    try:
        ordering = tuple(int(v) for v in ordering)
    except (TypeError, ValueError):
        raise DlgeomInputError(f"ordering: expected a permutation of 0..{q - 1}, got {ordering!r}") from None
    if sorted(ordering) != list(range(q)):
        raise DlgeomInputError(f"ordering: expected a permutation of 0..{q - 1}, got {list(ordering)}")
    return ordering


def check_ordering(data: Dataset, ordering) -> OrderingResult:
    """Is ``ordering`` SLS-feasible for ``data``?  With the hyperplanes, points and angles."""
    if not isinstance(data, Dataset):
        raise DlgeomInputError(f"data: expected a dlgeom.Dataset, got {type(data).__name__}")
    ordering = _validated_ordering(ordering, data.n_classes)
    return _check_ordering(_Problem(data), ordering, {})


def all_orderings(data: Dataset, max_q: int = 6, max_orderings: int | None = None, seed=0) -> list[OrderingResult]:
    """:func:`check_ordering` for every ordering (lexicographic; prefixes shared).  For
    Q > ``max_q`` or when Q! exceeds ``max_orderings``, a random sample of that many orderings
    (``numpy.random.SeedSequence(seed)``), always including the identity."""
    if not isinstance(data, Dataset):
        raise DlgeomInputError(f"data: expected a dlgeom.Dataset, got {type(data).__name__}")
    q = data.n_classes
    max_q = check_int(max_q, "max_q", minimum=2, maximum=8)
    total = math.factorial(q)
    if max_orderings is not None:
        max_orderings = check_int(max_orderings, "max_orderings", minimum=1)
    if q <= max_q and (max_orderings is None or total <= max_orderings):
        orderings = list(itertools.permutations(range(q)))
    else:
        n = max_orderings or 120
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        seen = {tuple(range(q))}
        while len(seen) < min(n, total):
            seen.add(tuple(int(v) for v in rng.permutation(q)))
        orderings = sorted(seen)
    prob = _Problem(data)
    memo: dict = {}
    return [_check_ordering(prob, o, memo) for o in orderings]


# ---- the Q(M+2) numbers and the network --------------------------------------------------------


def sls_parameters(result: OrderingResult) -> np.ndarray:
    """The Q(M+2) numbers of a feasible ordering: row k = (w_k (unit, M), t_k, θ_k)."""
    if not result.feasible:
        raise DlgeomInputError(f"result: ordering {list(result.ordering)} is not feasible ({result.status})")
    return np.array([list(s.w) + [s.t, s.theta] for s in result.steps])


def _check_params(params, q: int, m: int) -> np.ndarray:
    from .validation import as_float_array

    params = as_float_array(params, "params", 2, (q, m + 2))
    if np.any(params[:, m] <= 0) or np.any(params[:, m] >= 1):
        raise DlgeomInputError("params: every t_k (column M) must lie in the open interval (0, 1)")
    if np.any(params[:, m + 1] <= 0) or np.any(params[:, m + 1] >= np.pi):
        raise DlgeomInputError("params: every θ_k (column M+1) must lie in (0, π)")
    if np.any(np.linalg.norm(params[:, :m], axis=1) == 0):
        raise DlgeomInputError("params: every normal w_k (columns 0..M-1) must be non-zero")
    return params


def _cumulative(data: Dataset, ordering, params):
    m = data.dim
    xbar = data.barycenter
    Wc, bc, pts = [], [], []
    for k, cls in enumerate(ordering):
        w = params[k, :m] / np.linalg.norm(params[k, :m])
        t, theta = params[k, m], params[k, m + 1]
        p = data.means[cls] + t * (xbar - data.means[cls])
        W = cone_matrix(theta, m) @ rotation_to_diagonal(w)
        Wc.append(W)
        bc.append(-W @ p)
        pts.append(p)
    return Wc, bc, np.array(pts)


def output_affine(data: Dataset, ordering, points: np.ndarray):
    """(A, c0) with A p_k + c0 = y_{π(k)} for the collapsed points p_k (rows of ``points``, in the
    order of ``ordering``); A is the minimum-norm solution (Q×M).  Exact when the p_k are
    affinely independent."""
    return _interpolate(points, data.Y[:, list(ordering)].T)


def sls_network(data: Dataset, ordering, params, output: str = "hidden") -> ReluNet:
    """The zero-cost network (width M, Q hidden layers) from the Q(M+2) numbers ``params``
    (rows (w_k, t_k, θ_k), in the order of ``ordering``), the class means and Y.

    Hidden layers by the inverse map W_k = W^(k)(W^(k−1))^{-1}, b_k = b^(k) − W_k b^(k−1).
    Output: ``'formula'`` — f = A T_Q + c0 with A p_k + c0 = y_{π(k)} (:func:`output_affine`),
    i.e. W_out = A (W^(Q))^{-1}, b_out = c0 − W_out b^(Q); ``'hidden'`` (default) — the
    minimum-norm affine map with W_out h_k + b_out = y_{π(k)}, where h_k is the last hidden layer
    of a point of class π(k) *as the network computes it*.  Every point of class π(k) reaches the
    same h_k bit for bit (its pre-activations at layer k are all negative, so σ returns exact
    zeros), and in exact arithmetic h_k = W^(Q) p_k + b^(Q), so both outputs interpolate the same
    values; 'hidden' avoids amplifying the rounding of the ill-conditioned layers (θ_k near π).
    """
    from .validation import check_choice

    if not isinstance(data, Dataset):
        raise DlgeomInputError(f"data: expected a dlgeom.Dataset, got {type(data).__name__}")
    check_choice(output, "output", ("hidden", "formula"))
    q, m = data.n_classes, data.dim
    ordering = _validated_ordering(ordering, q)
    params = _check_params(params, q, m)
    Wc, bc, pts = _cumulative(data, ordering, params)
    ws, bs = [], []
    W_prev, b_prev = np.eye(m), np.zeros(m)
    for W, b in zip(Wc, bc):
        Wl = np.linalg.solve(W_prev.T, W.T).T
        ws.append(Wl)
        bs.append(b - Wl @ b_prev)
        W_prev, b_prev = W, b
    if output == "formula":
        A, c0 = output_affine(data, ordering, pts)
        W_out = np.linalg.solve(W_prev.T, A.T).T
        b_out = c0 - W_out @ b_prev
    else:
        reps = np.array([np.flatnonzero(data.y == cls)[0] for cls in ordering])
        H = data.X[reps]
        for Wl, bl in zip(ws, bs):
            H = np.maximum(H @ Wl.T + bl, 0.0)
        W_out, b_out = _interpolate(H, data.Y[:, list(ordering)].T)
    return ReluNet(tuple(ws) + (W_out,), tuple(bs) + (b_out,))


def _interpolate(points: np.ndarray, targets: np.ndarray):
    """Minimum-norm (A, c) with A points[k] + c = targets[k] (rows), via the differences to the
    last point."""
    D = (points[:-1] - points[-1]).T
    R = (targets[:-1] - targets[-1]).T
    A = np.linalg.lstsq(D.T, R.T, rcond=None)[0].T
    return A, targets[-1] - A @ points[-1]


def truncate_path(data: Dataset, ordering, params) -> np.ndarray:
    """T_Q(X): the Q truncation maps applied in input space (rows), for checking the network."""
    q, m = data.n_classes, data.dim
    ordering = _validated_ordering(ordering, q)
    params = _check_params(params, q, m)
    Wc, bc, _ = _cumulative(data, ordering, params)
    T = data.X.copy()
    for W, b in zip(Wc, bc):
        T = np.linalg.solve(W, (np.maximum(T @ W.T + b, 0.0) - b).T).T
    return T


# ---- data ----------------------------------------------------------------------------------------


def _symmetric_noise(rng, k: int, m: int, radius: float) -> np.ndarray:
    """k offsets in the ball of ``radius`` summing exactly to zero: pairs ±d (and one 0 if k is odd)."""
    h = k // 2
    d = rng.standard_normal((h, m))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    d *= radius * rng.random((h, 1)) ** (1.0 / m)
    parts = [d, -d] + ([np.zeros((1, m))] if k % 2 else [])
    return np.vstack(parts)


def _bar(rng, centre, direction, half_length, n, m, radius) -> np.ndarray:
    """n points along centre + s·direction, s ∈ [−half_length, half_length], with noise in pairs
    mirrored about the centre (so the mean is exactly ``centre``); both ends exactly on the axis."""
    s = np.linspace(-half_length, half_length, n)
    noise = np.zeros((n, m))
    h = n // 2
    if h > 1:
        d = _symmetric_noise(rng, 2 * (h - 1), m, radius)[: h - 1]
        noise[1:h] = d
        noise[n - h : n - 1] = -d[::-1]
    return centre + s[:, None] * direction + noise


def make_shadow(
    q: int,
    m: int,
    n_per_class: int = 25,
    half_length: float = 0.4,
    radius: float = 0.025,
    n_satellites: int = 1,
    satellite_fraction: float = 0.2,
    seed=0,
) -> Dataset:
    """Data whose SLS-feasibility depends on the ordering, generalising :func:`shadow_example`.

    Class means: the vertices V_j = U e_j of a regular simplex (U ∈ R^{M×Q} random orthonormal
    columns), x̄ their centroid.  Class j is a bar of half-length ``half_length`` through V_j,
    along a random direction d_j ⊥ (x̄ − V_j), thickened by ``radius``, with both ends exactly on
    its axis.  ``n_satellites`` classes j (random) get a *satellite*: a fraction
    ``satellite_fraction`` of their points around s = (e_a + x̄)/2, the midpoint of an end e_a of
    another class a's bar and x̄ (s itself is a data point); the rest of class j is shifted so
    that its mean stays V_j exactly, hence x̄ is the centroid exactly.  Then j can never be cut
    off before a: s lies on the segment between a point of class a and x̄.  ``meta['blocks']``
    lists these (j, a) pairs.  Satellites are assigned to classes without one, bars are not
    shifted when they are another satellite's anchor (a class never gets both roles).
    """

    q = check_int(q, "Q", minimum=2)
    m = check_int(m, "M", minimum=max(2, q - 1))
    n = check_int(n_per_class, "n_per_class", minimum=6)
    half_length = check_float(half_length, "half_length", low=0.0, low_open=True)
    radius = check_float(radius, "radius", low=0.0)
    n_sat = check_int(n_satellites, "n_satellites", minimum=0, maximum=q // 2)
    frac = check_float(satellite_fraction, "satellite_fraction", low=0.0, high=0.5, low_open=True, high_open=True)
    entropy = check_seed(seed)
    rng = np.random.default_rng(np.random.SeedSequence(entropy))
    full, _ = np.linalg.qr(rng.standard_normal((m, m)))
    V = np.sqrt(2.0) * full[:, :q].T  # a regular simplex, edges of length 2
    xbar = V.mean(axis=0)
    dirs = []
    for j in range(q):
        f = (xbar - V[j]) / np.linalg.norm(xbar - V[j])
        v = rng.standard_normal(m)
        v -= (v @ f) * f
        dirs.append(v / np.linalg.norm(v))
    order = rng.permutation(q)
    owners, anchors = order[:n_sat], order[n_sat : 2 * n_sat]
    sat = {}
    for j, a in zip(owners.tolist(), anchors.tolist()):
        end = V[a] + (1.0 if rng.random() < 0.5 else -1.0) * half_length * dirs[a]
        sat[j] = (a, (end + xbar) / 2)
    X, y = [], []
    for j in range(q):
        k = round(frac * n) if j in sat else 0
        main = _bar(rng, V[j], dirs[j], half_length, n - k, m, radius)
        if k:
            a, s_pt = sat[j]
            main = main + (n * V[j] - k * s_pt) / (n - k) - V[j]
            noise = _symmetric_noise(rng, k, m, radius)
            noise[0] = noise[k // 2] = 0.0  # s itself is a data point (twice if k is even)
            sat_pts = s_pt + noise
            main = np.vstack([main, sat_pts])
        X.append(main)
        y += [j] * n
    meta = {
        "generator": "dlgeom.sequential.make_shadow",
        "Q": q,
        "M": m,
        "n_per_class": n,
        "half_length": half_length,
        "radius": radius,
        "n_satellites": n_sat,
        "satellite_fraction": frac,
        "seed": entropy,
        "blocks": [[int(j), int(a)] for j, (a, _) in sorted(sat.items())],
    }
    return Dataset(np.vstack(X), np.array(y), np.eye(q), meta)


def shadow_example(n: int = 11, dim: int = 2) -> Dataset:
    """Hand-made data (Q = 2) where the ordering (0, 1) is SLS-feasible and (1, 0) is not.

    Class 0: n points on the segment y = 0, x ∈ [−10, 10] (mean (0, 0)).  Class 1: a small
    cluster at (−5, 1) holding 1/5 of its points and one at (1.25, 4.75) holding 4/5 (mean
    (0, 4)), each a symmetric cross of points around its centre.  So x̄ = (0, 2).
    Why (1, 0) fails: (−5, 1) ∈ class 1 is the midpoint of (−10, 0) ∈ class 0 and x̄, so no
    hyperplane puts class 1 on one side and class 0 and x̄ on the other.
    Why (0, 1) works: y = 1/2 cuts class 0 off from class 1 and x̄ through p = (0, 1/2) on the
    segment (x̄_0, x̄); the line through (0, 3) parallel to class 1's two centres, y = 3 + 0.6x,
    then has class 1 above it and p and x̄ below.
    ``dim`` = 3 embeds the same points in the plane z = 0 of R^3.
    """
    n = check_int(n, "n", minimum=3)
    dim = check_int(dim, "dim", minimum=2, maximum=3)
    a = np.column_stack([np.linspace(-10.0, 10.0, n), np.zeros(n)])
    cross = np.array([[0.0, 0.0], [0.2, 0.0], [-0.2, 0.0], [0.0, 0.2], [0.0, -0.2]])
    b_small = np.array([-5.0, 1.0]) + cross  # 5 points
    b_big = np.array([1.25, 4.75]) + np.vstack([cross] * 4)  # 20 points, centre weight 4/5
    X = np.vstack([a, b_small, b_big])
    y = np.concatenate([np.zeros(n, int), np.ones(len(b_small) + len(b_big), int)])
    if dim == 3:
        X = np.column_stack([X, np.zeros(len(X))])
    return Dataset(X, y, np.eye(2), {"generator": "dlgeom.sequential.shadow_example", "n": n, "dim": dim})
