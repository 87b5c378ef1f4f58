"""Data geometry of the paper: class means, δ, cone angles, D, and the assumptions A1–A3.

Notation (docs/mathematics.md §1, §3): class means x̄_j (rows of ``means``; the paper's X^red = means.T),
barycenter x̄ = (1/Q) Σ_j x̄_j (unweighted), noise radius δ = max |x_{j,i} − x̄_j|,
f_j = (x̄ − x̄_j)/|x̄ − x̄_j|, cone angles θ_{*,j}, the δ-ratio r = δ / min_j |x̄_j − x̄|.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .data import Dataset, check_square, class_means, noise_radius
from .jsonutil import jsonable
from .validation import SINGULAR_COND, DlgeomInputError, check_float

__all__ = [
    "class_means",
    "noise_radius",
    "cone_angles",
    "simplex_angle",
    "cone_matrix",
    "ball_in_cone",
    "forward_cone_depth",
    "Geometry",
    "geometry",
    "Assumptions",
    "assumptions",
    "CONE_MARGIN_FACTOR",
    "THETA_CAP",
    "ANGLE_TOL",
    "A3_LIMIT",
    "THETA0_RULES",
    "THETA0_MIN",
    "COND_W_LIMIT",
    "BOX_MARGIN",
    "theta_cap_for_cond",
    "depth_at",
    "depth_sup",
    "choose_theta_star",
    "exact_collapse_bound",
    "regular_simplex_depth",
]

#: The paper measures θ_{*,j} against balls of radius 4δ around the other means [P 4.21].
CONE_MARGIN_FACTOR = 4.0
#: When A3 fails (max_j θ_{*,j} ≥ π) the construction still runs with θ_* capped here.
THETA_CAP = 0.99 * np.pi
#: A3 holds when max_j θ_{*,j} < π − ANGLE_TOL.  The cone angles come from arccos and arcsin,
#: whose rounding error near ±1 is about √ε ≈ 1.5e-8 each: an angle within 1e-7 of π cannot be
#: told from π (e.g. Q = 2 at r = 0.5, where the 4δ-ball touches the other mean, came out on
#: either side of π with the rounding of one dot product, and the construction then used
#: λ ≈ 2e-9, cond(W_*) ≈ 4e8).
ANGLE_TOL = 1e-7
A3_LIMIT = np.pi - ANGLE_TOL
#: How :func:`geometry` picks θ_0 when no number is given: 'midpoint' (the library's default,
#: θ_0 = (π − max_j θ_{*,j})/2) or 'open_box' (the paper's intent [P 4.24]: the smallest θ_0 that
#: opens the μ-box, see :func:`choose_theta_star`).
THETA0_RULES = ("midpoint", "open_box")
#: 'open_box': the smallest θ_0 tried (the paper needs θ_0 > 0).
THETA0_MIN = 1e-2
#: 'open_box': θ_* is capped so that cond(W_*) = 1/λ(θ_*) ≤ this limit.  Measured on the default
#: grid: at the cap the default-μ cost stays ≤ 1e-11 (9.2e-12), while a cap of 1e3 gave 1.25e-10.
COND_W_LIMIT = 300.0
#: 'open_box': the target is D ≥ (1 + BOX_MARGIN)·2δ√Q (a box of width BOX_MARGIN·2δ√Q).
BOX_MARGIN = 0.25


def _row_norms(x: np.ndarray) -> np.ndarray:
    """Euclidean norms along the last axis: ``np.linalg.norm(x, axis=-1)`` (same arithmetic,
    so the same bits) without its dispatch, which dominates for the Q×Q arrays here."""
    return np.sqrt(np.add.reduce(x * x, axis=-1))


def _cond(a: np.ndarray) -> float:
    """2-norm condition number, ``np.linalg.cond(a)`` (same bits) with a fast path for the
    regular case: σ_max/σ_min from the singular values."""
    s = np.linalg.svd(a, compute_uv=False)
    if s[-1] > 0:
        return float(s[0] / s[-1])
    return float(np.linalg.cond(a))


def _conds(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(:func:`_cond` of a, of b) from one batched SVD when both are square of the same size."""
    if a.shape == b.shape and a.shape[0] == a.shape[1]:
        s = np.linalg.svd(np.stack([a, b]), compute_uv=False)
        if (s[:, -1] > 0).all():
            return float(s[0, 0] / s[0, -1]), float(s[1, 0] / s[1, -1])
    return _cond(a), _cond(b)


def _angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angle between rows of u and v (broadcasting), in [0, π]."""
    nu = np.linalg.norm(u, axis=-1)
    nv = np.linalg.norm(v, axis=-1)
    c = np.einsum("...k,...k->...", u, v) / (nu * nv)
    return np.arccos(np.clip(c, -1.0, 1.0))


def cone_angles(means: np.ndarray, delta: float, margin: float = CONE_MARGIN_FACTOR) -> np.ndarray:
    """θ_{*,j}: the smallest full opening with x̄_j + C_θ[f_j] ⊇ ∪_{j'≠j} B_{margin·δ}(x̄_{j'}).

    Closed form (docs/mathematics.md §3): θ_{*,j}/2 = max_{j'≠j} [∠(x̄_{j'} − x̄_j, f_j) +
    arcsin(margin·δ/|x̄_{j'} − x̄_j|)].  ``inf`` where a ball reaches x̄_j itself (no cone works).
    Values above π mean that no convex cone works (A3 fails).
    """
    q = means.shape[0]
    to_bary = np.add.reduce(means, axis=0) / q - means  # x̄ − x̄_j (as means.mean(axis=0))
    edges = means[None, :, :] - means[:, None, :]  # [j, j'] = x̄_{j'} − x̄_j
    return _cone_angles(edges, _row_norms(edges), to_bary, _row_norms(to_bary), delta, margin)


def _cone_angles(edges, lengths, to_bary, dist, delta: float, margin: float) -> np.ndarray:
    """:func:`cone_angles` from the pairwise differences and the directions to the barycenter
    (and their norms), which :func:`geometry` computes once for this and the cone depths."""
    q = edges.shape[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.einsum("jik,jk->ji", edges, to_bary) / (lengths * dist[:, None])
        ratio = margin * delta / lengths
        half = np.arccos(np.maximum(np.minimum(cos, 1.0), -1.0)) + np.arcsin(np.minimum(ratio, 1.0))
    half[~(ratio < 1.0)] = np.inf  # a ball reaches x̄_j
    half[np.arange(q), np.arange(q)] = -np.inf
    return 2.0 * half.max(axis=1)


def simplex_angle(q: int) -> float:
    """θ_Q = 2 arcsin(1/√Q): full opening of the largest round cone about û inside R^Q_+."""
    return 2.0 * np.arcsin(1.0 / math.sqrt(q))


def cone_matrix(theta: float, q: int) -> np.ndarray:
    """W_θ = λI + (1−λ)ûûᵀ with λ = tan(θ_Q/2)/tan(θ/2) (λ = 1 for θ ≤ θ_Q); ‖W_θ‖ = 1.

    W_θ maps the round cone C_θ[û] into R^Q_+ (docs/mathematics.md §2, cone lemma).  Needs θ < π.
    """
    theta_q = simplex_angle(q)
    if not theta < np.pi:
        raise ValueError(f"theta: the cone matrix needs theta < pi, got {theta}")
    lam = 1.0 if theta <= theta_q else np.tan(theta_q / 2) / np.tan(theta / 2)
    return lam * np.eye(q) + (1.0 - lam) * np.full((q, q), 1.0 / q)  # ûûᵀ = 1/Q everywhere


def ball_in_cone(center, radius: float, apex, axis, theta: float) -> bool:
    """Is B_radius(center) ⊂ apex + C_θ[axis]?  The arcsin test of docs/mathematics.md §3:
    |c − a| > r and ∠(c − a, f) + arcsin(r/|c − a|) ≤ θ/2."""
    v = np.asarray(center, float) - np.asarray(apex, float)
    dist = float(np.linalg.norm(v))
    if dist <= radius:
        return False
    return bool(_angle(v, np.asarray(axis, float)) + np.arcsin(radius / dist) <= theta / 2)


def forward_cone_depth(means: np.ndarray, f: np.ndarray, delta: float, theta: float) -> np.ndarray:
    """D_{ℓ,j}: the largest t with B_δ(x̄_j) ⊂ x̄_ℓ + t f_ℓ + C_θ[f_ℓ], for θ < π.

    With v = x̄_j − x̄_ℓ split along f_ℓ into v_∥ and |v_⊥|, the ball lies in the cone with apex
    x̄_ℓ + t f_ℓ iff (v_∥ − t) sin(θ/2) − |v_⊥| cos(θ/2) ≥ δ (distance to the cone's mantle), so
    D_{ℓ,j} = v_∥ − (δ + |v_⊥| cos(θ/2)) / sin(θ/2).  Diagonal entries are +inf.  Shape (Q, Q),
    row ℓ (the layer's class), column j (the class that must stay in the forward cone).
    """
    return _forward_cone_depth(means[None, :, :] - means[:, None, :], f, delta, theta)


def _forward_cone_depth(v: np.ndarray, f: np.ndarray, delta: float, theta: float) -> np.ndarray:
    """:func:`forward_cone_depth` from the pairwise differences v[ℓ, j] = x̄_j − x̄_ℓ."""
    half = theta / 2
    v_par = np.einsum("ljk,lk->lj", v, f)
    v_perp = _row_norms(v - v_par[..., None] * f[:, None, :])
    depth = v_par - (delta + v_perp * np.cos(half)) / np.sin(half)
    np.fill_diagonal(depth, np.inf)
    return depth


def theta_cap_for_cond(q: int, cond_limit: float = COND_W_LIMIT) -> float:
    """The largest θ with cond(W_θ) = 1/λ(θ) ≤ ``cond_limit``: 2 arctan(cond_limit · tan(θ_Q/2))."""
    return float(2.0 * np.arctan(cond_limit * np.tan(simplex_angle(q) / 2)))


def depth_at(means: np.ndarray, f: np.ndarray, delta: float, theta_star: float) -> float:
    """D [P 4.26] for the cone angle θ_*: min over ℓ ≠ j of :func:`forward_cone_depth`."""
    return float(forward_cone_depth(means, f, delta, theta_star).min())


def depth_sup(means: np.ndarray, f: np.ndarray, delta: float) -> float:
    """sup over θ_0 of D: D increases with θ_* [P 4.24] and tends, as θ_* → π, to
    min_{ℓ≠j} ((x̄_j − x̄_ℓ)·f_ℓ − δ) (the ball must lie beyond the apex's half-space)."""
    v = means[None, :, :] - means[:, None, :]
    v_par = np.einsum("ljk,lk->lj", v, f) - delta
    np.fill_diagonal(v_par, np.inf)
    return float(v_par.min())


def choose_theta_star(
    edges: np.ndarray,
    f: np.ndarray,
    delta: float,
    theta_max: float,
    q: int,
    box_margin: float = BOX_MARGIN,
    cond_limit: float = COND_W_LIMIT,
    theta0_min: float = THETA0_MIN,
) -> float:
    """θ_* = θ_0 + max_j θ_{*,j} by the rule 'open_box' (the paper's use of θ_0 [P 4.24]).

    Target: D(θ_*) ≥ (1 + ``box_margin``)·2δ√Q.  D is increasing in θ_*, so: the smallest θ_*
    in [θ_max + ``theta0_min``, θ_cap] reaching the target by bisection (60 halvings), where
    θ_cap = :func:`theta_cap_for_cond` keeps cond(W_*) ≤ ``cond_limit``; θ_max + ``theta0_min``
    when the target is met there already; θ_cap (the largest D allowed) when it is met nowhere,
    so that the box is as wide as the limit allows (it may still be empty).  When θ_cap ≤ θ_max +
    ``theta0_min`` the midpoint rule is used."""
    target = (1.0 + box_margin) * 2.0 * delta * math.sqrt(q)
    lo, hi = theta_max + theta0_min, min(theta_cap_for_cond(q, cond_limit), A3_LIMIT)
    if not lo < hi:
        return theta_max + (np.pi - theta_max) / 2

    def depth(theta):
        return float(_forward_cone_depth(edges, f, delta, theta).min())

    if depth(lo) >= target:
        return lo
    if depth(hi) < target:
        return hi
    for _ in range(60):
        mid = (lo + hi) / 2
        if depth(mid) >= target:
            hi = mid
        else:
            lo = mid
    return hi


def exact_collapse_bound(X: np.ndarray, y: np.ndarray, means: np.ndarray, f: np.ndarray, theta_star: float) -> float:
    """The exact collapse threshold b: μ_j < −b collapses class j for every j (docs/mathematics.md §2), with
    b = max_j √Q max_{i,k} (W_* R_j (x_{j,i} − x̄_j))_k ≤ √Q δ (‖W_*‖ = 1); compare 2δ√Q."""
    q = means.shape[0]
    W_star = cone_matrix(theta_star, q)
    worst = -np.inf
    for j in range(q):
        dev = X[y == j] - means[j]
        worst = max(worst, float((dev @ (W_star @ rotation_to_diagonal(f[j])).T).max()))
    return math.sqrt(q) * worst


def regular_simplex_depth(q: int, r: float, theta_star: float | None = None, rho: float = 1.0) -> float:
    """Closed form of D for Q means on a regular simplex at distance ρ from the barycenter, δ = rρ.

    For ℓ ≠ j: (x̄_j − x̄_ℓ)·f_ℓ = ρQ/(Q−1) and the orthogonal part is ρ√(Q(Q−2))/(Q−1), so
    D(θ_*) = ρ [Q/(Q−1) − (r + √(Q(Q−2))/(Q−1)·cos(θ_*/2)) / sin(θ_*/2)], and its supremum over
    θ_0 (θ_* → π) is ρ (Q/(Q−1) − r).  ``theta_star=None`` returns the supremum."""
    par = q / (q - 1)
    if theta_star is None:
        return rho * (par - r)
    perp = math.sqrt(q * (q - 2)) / (q - 1)
    return rho * (par - (r + perp * math.cos(theta_star / 2)) / math.sin(theta_star / 2))


@dataclass(frozen=True)
class Geometry:
    """Everything the constructions need to know about the data (docs/mathematics.md §3).

    Attributes are float64 arrays or floats; ``means`` and ``f`` hold x̄_j and f_j as rows.
    ``theta_star`` is the angle the construction uses, θ_* = θ_0 + max_j θ_{*,j} (< π; it is
    :data:`THETA_CAP` when max_j θ_{*,j} ≥ π); ``theta_max`` is max_j θ_{*,j}, the quantity of A3.
    The μ-box of the global construction is I_0 = (−D_eff, −2δ√Q) [P Thm 2.3].
    """

    means: np.ndarray
    counts: np.ndarray
    delta: float
    barycenter: np.ndarray
    dist_to_barycenter: np.ndarray
    f: np.ndarray
    theta_j: np.ndarray
    theta_max: float
    theta0: float
    theta_star: float
    lam: float
    D: float
    D_eff: float
    r: float
    cond_xred: float
    cond_Y: float

    @property
    def n_classes(self) -> int:
        return self.means.shape[0]

    @property
    def xred(self) -> np.ndarray:
        """X^red = [x̄_1 … x̄_Q] (means as columns)."""
        return self.means.T

    @property
    def collapse_bound(self) -> float:
        """2δ√Q: the paper's sufficient collapse threshold (μ < −2δ√Q collapses a class)."""
        return 2.0 * self.delta * math.sqrt(self.n_classes)

    def mu_box(self, use_D: str = "eff") -> tuple[float, float]:
        """I_0 = (−D_eff, −2δ√Q), or (−D, −2δ√Q) with ``use_D='paper'``.  May be empty."""
        d = self.D_eff if use_D == "eff" else self.D
        return (-d, -self.collapse_bound)

    def box_nonempty(self, use_D: str = "eff") -> bool:
        lo, hi = self.mu_box(use_D)
        return bool(lo < hi)


def geometry(data: Dataset, theta0: float | None = None) -> Geometry:
    """Compute the geometry of ``data`` (one pass for the means, one for δ).

    ``theta0`` is the margin θ_0 > 0 of [P 2.52]: a number, or a rule (:data:`THETA0_RULES`).
    ``None`` or 'midpoint' (the library default): (π − max_j θ_{*,j})/2, the middle of the allowed
    range.  'open_box': the paper's intent [P 4.24], the smallest θ_0 whose μ-box is open with a
    margin, within cond(W_*) ≤ :data:`COND_W_LIMIT` (:func:`choose_theta_star`).  A θ_0 that would
    reach π is replaced by (π − max_j θ_{*,j})/2.  If
    max_j θ_{*,j} ≥ π (A3 fails) θ_* falls back to :data:`THETA_CAP`.
    """
    check_square(data)
    scale = data_scale(data.X)
    if scale != 1.0:
        # The geometry is scale invariant: compute it on X / 2^e (exact) so that no square over-
        # or underflows, then give lengths back in the data's units.
        with np.errstate(under="ignore"):
            scaled = _geometry(data.X / scale, data, theta0)
        return _rescaled(scaled, scale)
    return _geometry(data.X, data, theta0)


#: Data with max|x| in [2^-100, 2^100] is used as it is (same bits as always); beyond, the
#: geometry is computed on the data divided by a power of two (exact) near 1.
_SAFE_EXPONENT = 100


def data_scale(X: np.ndarray) -> float:
    """1.0 when max|X| lies in [2^-100, 2^100], else the power of two 2^e with max|X|/2^e in [1, 2)."""
    top = float(np.max(np.abs(X))) if X.size else 0.0
    if top == 0.0 or 2.0**-_SAFE_EXPONENT <= top <= 2.0**_SAFE_EXPONENT:
        return 1.0
    return math.ldexp(1.0, math.frexp(top)[1] - 1)


def _rescaled(g: "Geometry", s: float) -> "Geometry":
    """The geometry of data s·X from that of X (lengths times s; angles, ratios, conditions unchanged)."""
    from dataclasses import replace

    with np.errstate(over="ignore", under="ignore"):
        return replace(
            g,
            means=g.means * s,
            delta=g.delta * s,
            barycenter=g.barycenter * s,
            dist_to_barycenter=g.dist_to_barycenter * s,
            D=g.D * s,
            D_eff=g.D_eff * s,
        )


def _geometry(X: np.ndarray, data: Dataset, theta0) -> "Geometry":
    q = data.n_classes
    means = class_means(X, data.y, q)
    delta = noise_radius(X, data.y, means)
    bary = np.add.reduce(means, axis=0) / q  # means.mean(axis=0), without its dispatch
    to_bary = bary - means
    dist = _row_norms(to_bary)
    edges = means[None, :, :] - means[:, None, :]  # computed once for θ_{*,j} and D
    with np.errstate(invalid="ignore", divide="ignore"):
        f = to_bary / dist[:, None]
    theta_j = _cone_angles(edges, _row_norms(edges), to_bary, dist, delta, CONE_MARGIN_FACTOR)
    theta_max = float(np.max(theta_j))
    min_dist = float(dist.min())
    depth_ok = min_dist > 0 and bool(np.isfinite(f).all())
    if theta0 is None or isinstance(theta0, str):
        rule = "midpoint" if theta0 is None else theta0
        if rule not in THETA0_RULES:
            raise DlgeomInputError(
                f"theta0: expected a number in (0, pi) or one of {', '.join(THETA0_RULES)}, got {theta0!r}"
            )
        if not theta_max < A3_LIMIT:
            theta0 = 0.0
        elif rule == "open_box" and depth_ok:
            theta0 = choose_theta_star(edges, f, delta, theta_max, q) - theta_max
        else:
            theta0 = (np.pi - theta_max) / 2
    else:
        theta0 = check_float(theta0, "theta0", low=0.0, high=np.pi, low_open=True)
    if not theta_max < A3_LIMIT:
        theta_star = THETA_CAP
    else:  # θ_* must contain every θ_{*,j} and stay below π (a cap below θ_max would miss classes)
        theta_star = theta_max + theta0 if theta_max + theta0 < np.pi else (theta_max + np.pi) / 2
    theta_q = simplex_angle(q)
    lam = 1.0 if theta_star <= theta_q else float(np.tan(theta_q / 2) / np.tan(theta_star / 2))
    D = float(_forward_cone_depth(edges, f, delta, theta_star).min()) if depth_ok else -np.inf
    D_eff = min(D, min_dist)
    r = delta / min_dist if min_dist > 0 else np.inf
    cond_xred, cond_Y = _conds(means.T, data.Y)
    return Geometry(
        means=means,
        counts=data.counts.copy(),
        delta=delta,
        barycenter=bary,
        dist_to_barycenter=dist,
        f=f,
        theta_j=theta_j,
        theta_max=theta_max,
        theta0=float(theta0),
        theta_star=float(theta_star),
        lam=lam,
        D=D,
        D_eff=D_eff,
        r=r,
        cond_xred=cond_xred,
        cond_Y=cond_Y,
    )


@dataclass(frozen=True)
class Check:
    """One assumption: whether it holds, its value, the bound, and the signed margin."""

    holds: bool
    value: float
    bound: float
    margin: float


@dataclass(frozen=True)
class Assumptions:
    """The assumptions report of [P 2.14, 2.48–2.52] (docs/mathematics.md §3).

    ``theta_max`` = max_j θ_{*,j} (the quantity of A3), ``theta0`` the margin used and
    ``theta_star`` = θ_0 + θ_max the angle of the construction.
    A1: X^red and Y invertible (value: the larger condition number; margin 1/cond − 1/bound).
    A2: δ-ratio r < 1/4 (margin 1/4 − r).  A3: max_j θ_{*,j} < π − :data:`ANGLE_TOL` (margin
    π − ANGLE_TOL − θ; angles within 1e-7 of π cannot be told from π in floating point).
    ``box_nonempty``: whether I_0 = (−D_eff, −2δ√Q) is non-empty (not an assumption of the
    paper, but the construction needs it).
    """

    A1: Check
    A2: Check
    A3: Check
    r: float
    theta_max: float
    theta0: float
    theta_star: float
    cond_xred: float
    cond_Y: float
    delta: float
    D: float
    D_eff: float
    collapse_bound: float
    box_nonempty: bool
    box_nonempty_paper_D: bool

    @property
    def all_hold(self) -> bool:
        return self.A1.holds and self.A2.holds and self.A3.holds

    def to_dict(self) -> dict:
        out = asdict(self)
        out["all_hold"] = self.all_hold
        return jsonable(out)


def assumptions(geom: Geometry) -> Assumptions:
    """The assumptions report from a :class:`Geometry`."""
    cond = max(geom.cond_xred, geom.cond_Y)
    a1 = Check(
        bool(np.isfinite(cond) and cond < SINGULAR_COND),
        cond,
        SINGULAR_COND,
        (1.0 / cond if np.isfinite(cond) else 0.0) - 1.0 / SINGULAR_COND,
    )
    a2 = Check(bool(geom.r < 0.25), geom.r, 0.25, 0.25 - geom.r)
    a3 = Check(bool(geom.theta_max < A3_LIMIT), geom.theta_max, float(A3_LIMIT), float(A3_LIMIT - geom.theta_max))
    return Assumptions(
        A1=a1,
        A2=a2,
        A3=a3,
        r=geom.r,
        theta_max=geom.theta_max,
        theta0=geom.theta0,
        theta_star=geom.theta_star,
        cond_xred=geom.cond_xred,
        cond_Y=geom.cond_Y,
        delta=geom.delta,
        D=geom.D,
        D_eff=geom.D_eff,
        collapse_bound=geom.collapse_bound,
        box_nonempty=geom.box_nonempty("eff"),
        box_nonempty_paper_D=geom.box_nonempty("paper"),
    )


# ---- rotations onto the diagonal (docs/mathematics.md §4, step 4.2) ----------------------------------


def _second_reflection(q: int) -> tuple[np.ndarray, np.ndarray]:
    """(û, H2) of :func:`rotation_to_diagonal`; they depend on Q only (cached)."""
    hit = _H2_CACHE.get(q)
    if hit is None:
        u = np.full(q, 1.0 / np.sqrt(q))
        # a unit vector orthogonal to û: e_k minus its û-component, for the k least aligned with û
        e = np.zeros(q)
        e[0] = 1.0
        w = e - u * (u @ e)
        w /= np.linalg.norm(w)
        hit = _H2_CACHE[q] = (u, np.eye(q) - 2.0 * np.outer(w, w))
        for arr in hit:
            arr.setflags(write=False)
    return hit


_H2_CACHE: dict = {}


def rotation_to_diagonal(f: np.ndarray) -> np.ndarray:
    """R ∈ SO(Q) with R f = û = u_Q/√Q, for a unit vector f.

    Two Householder reflections: H1 maps f to û, H2 reflects in a hyperplane containing û (so
    R f = û still) and makes det R = +1.  R = I when f = û.
    """
    q = f.shape[0]
    u, H2 = _second_reflection(q)
    v = f - u
    if np.linalg.norm(v) < 1e-15:
        return np.eye(q)
    H1 = np.eye(q) - 2.0 * np.outer(v, v) / (v @ v)
    return H2 @ H1


def _rotations_to_diagonal(F: np.ndarray) -> np.ndarray:
    """:func:`rotation_to_diagonal` of every row of F at once, shape (Q, Q, Q):
    R = H2 (I − 2vvᵀ/vᵀv) = H2 − (2/vᵀv)(H2 v)vᵀ, batched over the rows."""
    q = F.shape[1]
    u, H2 = _second_reflection(q)
    V = F - u
    vv = np.einsum("ij,ij->i", V, V)
    HV = V @ H2.T  # rows H2 v
    R = H2 - (2.0 / vv)[:, None, None] * HV[:, :, None] * V[:, None, :]
    for k in np.flatnonzero(np.sqrt(vv) < 1e-15):  # f = û: R = I (as rotation_to_diagonal)
        R[k] = np.eye(q)
    return R
