"""The pattern networks as candidate local minima [P Thm 2.4–2.5] (docs/mathematics.md §5).

For every s ∈ {0,1}^Q this module measures: the value (2.85) as printed (original X^red), the
bias-free and affine least-squares values on the curated data T_L(X_0), the closed forms of
docs/mathematics.md §5 against them, whether the value depends on μ inside the box, and stationarity.
Values are in the units of C (square roots of the minimal C²).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .construct import all_patterns, construct_pattern, curated_means, hidden_network, output_lstsq
from .data import Dataset
from .geometry import Geometry, geometry
from .jsonutil import jsonable
from .network import cost_and_grad

__all__ = [
    "class_scatter", "value_paper", "value_biasfree_closed", "value_affine_closed",
    "PatternReport", "analyse_pattern", "analyse_patterns", "mu_samples",
]


def class_scatter(data: Dataset, means: np.ndarray) -> np.ndarray:
    """S_j = (1/N_j) Σ_i Δx_{j,i} Δx_{j,i}ᵀ for every class, shape (Q, Q, Q)."""
    q = data.n_classes
    out = np.empty((q, q, q))
    for j in range(q):
        dev = data.X[data.y == j] - means[j]
        out[j] = dev.T @ dev / dev.shape[0]
    return out


def _v_formula(Y: np.ndarray, xred: np.ndarray, S: np.ndarray) -> float:
    """‖Y Δ_2^{1/2}(I + Δ_2)^{-1/2}‖_F with Δ_2 = (X^red)^{-1} S (X^red)^{-T}."""
    inv = np.linalg.inv(xred)
    d2 = inv @ S @ inv.T
    d2 = (d2 + d2.T) / 2
    vals, vecs = np.linalg.eigh(d2)
    vals = np.clip(vals, 0.0, None)
    M = (vecs * np.sqrt(vals / (1.0 + vals))) @ vecs.T
    return float(np.linalg.norm(Y @ M))


def _scatter_of(scatter: np.ndarray, pattern: np.ndarray) -> np.ndarray:
    """S[s] = Δ X_0[s] 𝒩^{-1} ΔX_0[s]ᵀ: the scatter of the intact classes only."""
    return np.tensordot(pattern.astype(float), scatter, axes=1)


def value_paper(data: Dataset, geom: Geometry, pattern, scatter=None) -> float:
    """V_P[s] of [P 2.85] as printed: Δ_1 = (X^red)^{-1} ΔX_0[s] with the *original* X^red."""
    scatter = class_scatter(data, geom.means) if scatter is None else scatter
    return _v_formula(data.Y, geom.xred, _scatter_of(scatter, np.asarray(pattern)))


def value_biasfree_closed(data: Dataset, geom: Geometry, pattern, mu, scatter=None) -> float:
    """Our derivation: V_P with the *curated* X^red (collapsed columns at x̄_j − μ_j f_j): the bias-free
    least-squares value when the curation is exact."""
    scatter = class_scatter(data, geom.means) if scatter is None else scatter
    xc = curated_means(geom, np.asarray(mu, float), pattern).T
    return _v_formula(data.Y, xc, _scatter_of(scatter, np.asarray(pattern)))


def value_affine_closed(data: Dataset, geom: Geometry, pattern, mu, scatter=None) -> float:
    """Our derivation: V_aff² = Tr(ỸỸᵀ) − Tr(ỸX̃ᵀ(X̃X̃ᵀ + S)^+X̃Ỹᵀ), Π = I − 11ᵀ/Q, Ỹ = YΠ, X̃ = X^red_cur Π:
    the least-squares value with the free output bias (evaluated as ‖AX̃ − Ỹ‖² + Tr(ASAᵀ) at the
    minimiser A = ỸX̃ᵀ(X̃X̃ᵀ + S)^+, which equals the trace formula without its cancellation)."""
    scatter = class_scatter(data, geom.means) if scatter is None else scatter
    q = geom.n_classes
    P = np.eye(q) - np.full((q, q), 1.0 / q)
    Yt = data.Y @ P
    Xt = curated_means(geom, np.asarray(mu, float), pattern).T @ P
    S = _scatter_of(scatter, np.asarray(pattern))
    A = Yt @ Xt.T @ np.linalg.pinv(Xt @ Xt.T + S, hermitian=True)
    # the minimum as a sum of non-negative terms (no cancellation near zero)
    v2 = np.linalg.norm(A @ Xt - Yt) ** 2 + np.trace(A @ S @ A.T)
    return float(np.sqrt(max(v2, 0.0)))


def mu_samples(geom: Geometry, pattern, n: int, rng: np.random.Generator, use_D: str = "eff") -> np.ndarray:
    """n draws of μ: uniform in I_0 for collapsed classes, uniform in (2δ√Q, 2δ√Q + 2 min_j|x̄_j − x̄|)
    for intact ones (a bounded part of I_1 = (2δ√Q, ∞)).  Shape (n, Q)."""
    pattern = np.asarray(pattern)
    lo, hi = geom.mu_box(use_D)
    c = geom.collapse_bound
    m = float(np.min(geom.dist_to_barycenter))
    u = rng.random((n, geom.n_classes))
    return np.where(pattern == 1, c + 2 * m * u, lo + (hi - lo) * u)


@dataclass(frozen=True)
class PatternReport:
    """Everything measured for one pattern s.  Values in units of C.

    ``value_paper``: (2.85) as printed.  ``value_biasfree``/``value_affine``: least squares on
    T_L(X_0) without/with output bias.  ``closed_form_error``: max deviation of our closed
    forms from those.  ``mu_dependent``: whether the affine value varies by more than
    ``MU_TOL`` (relative) over the μ samples.  ``grad_norm``: |∇C²| over all parameters with the
    output re-solved (affine).  ``dF_dmu``: derivatives of F(μ) = min C² (affine) by central
    differences.  ``mu_descent``: whether a finite step in μ inside the box lowers F.
    ``stationary``: grad_norm and |dF/dμ| below ``STAT_TOL`` (relative to |Y|_F²).
    """

    s: list
    mu: list
    mu_in_box: bool
    value_paper: float
    value_biasfree: float
    value_affine: float
    value_biasfree_closed: float
    value_affine_closed: float
    closed_form_error: float
    value_affine_min_over_mu: float
    value_affine_max_over_mu: float
    mu_dependent: bool
    grad_norm: float
    dF_dmu: list
    mu_descent: bool
    descent_drop: float
    stationary: bool

    def to_dict(self) -> dict:
        return jsonable(asdict(self))


MU_TOL = 1e-8
STAT_TOL = 1e-7


def _affine_value_sq(data, geom, pattern, mu, n_layers):
    _, _, v = output_lstsq(hidden_network(geom, np.asarray(mu, float), n_layers), data, bias=True)
    return v


def analyse_pattern(data: Dataset, pattern, n_layers: int | None = None, mu=None,
                    geom: Geometry | None = None, n_mu_samples: int = 8,
                    rng: np.random.Generator | None = None, scatter=None) -> PatternReport:
    """Measure one pattern (see :class:`PatternReport`).  ``rng`` drives the μ samples."""
    geom = geometry(data) if geom is None else geom
    rng = np.random.default_rng(np.random.SeedSequence(0)) if rng is None else rng
    scatter = class_scatter(data, geom.means) if scatter is None else scatter
    pattern = np.asarray(pattern, dtype=np.int64)
    q = data.n_classes
    L = q if n_layers is None else n_layers

    con = construct_pattern(data, pattern, L, mu, geom=geom, output="paper")
    mu = con.mu
    hidden = con.network
    _, _, v_bf2 = output_lstsq(hidden, data, bias=False)
    W_aff, b_aff, v_aff2 = output_lstsq(hidden, data, bias=True)
    v_bf, v_aff = np.sqrt(v_bf2), np.sqrt(v_aff2)
    vb_closed = value_biasfree_closed(data, geom, pattern, mu, scatter)
    va_closed = value_affine_closed(data, geom, pattern, mu, scatter)

    # μ-dependence of the affine value
    samples = mu_samples(geom, pattern, n_mu_samples, rng) if n_mu_samples else np.empty((0, q))
    vals = [v_aff] + [np.sqrt(_affine_value_sq(data, geom, pattern, m, L)) for m in samples]
    scale = max(1.0, float(np.linalg.norm(data.Y)))
    mu_dep = bool(max(vals) - min(vals) > MU_TOL * scale)

    # stationarity: gradient over all parameters at the re-solved output
    _, grad = cost_and_grad(hidden.with_output(W_aff, b_aff), data)
    grad_norm = float(np.linalg.norm(grad))
    lo, hi = geom.mu_box("eff")
    width = np.where(pattern == 1, np.abs(mu), (hi - lo) if hi > lo else np.abs(mu))
    h = 1e-6 * np.maximum(width, 1e-12)
    dF = np.empty(q)
    drop = 0.0
    for j in range(q):
        e = np.zeros(q)
        e[j] = h[j]
        fp = _affine_value_sq(data, geom, pattern, mu + e, L)
        fm = _affine_value_sq(data, geom, pattern, mu - e, L)
        dF[j] = (fp - fm) / (2 * h[j])
        # a finite step (10% of the box width, staying in the box) in the descent direction
        step = -np.sign(dF[j]) * 0.1 * width[j]
        if pattern[j] == 0 and hi > lo:
            target = np.clip(mu[j] + step, lo + 1e-3 * (hi - lo), hi - 1e-3 * (hi - lo))
        else:
            target = max(mu[j] + step, geom.collapse_bound * (1 + 1e-3) + 1e-12)
        m2 = mu.copy()
        m2[j] = target
        drop = max(drop, v_aff2 - _affine_value_sq(data, geom, pattern, m2, L))
    y2 = float(np.linalg.norm(data.Y)) ** 2
    stationary = bool(grad_norm <= STAT_TOL * y2 and np.max(np.abs(dF)) <= STAT_TOL * y2)
    return PatternReport(
        s=pattern.tolist(), mu=mu.tolist(), mu_in_box=con.mu_in_box,
        value_paper=value_paper(data, geom, pattern, scatter), value_biasfree=float(v_bf),
        value_affine=float(v_aff), value_biasfree_closed=vb_closed, value_affine_closed=va_closed,
        closed_form_error=float(max(abs(vb_closed - v_bf), abs(va_closed - v_aff))),
        value_affine_min_over_mu=float(min(vals)), value_affine_max_over_mu=float(max(vals)),
        mu_dependent=mu_dep, grad_norm=grad_norm, dF_dmu=dF.tolist(),
        mu_descent=bool(drop > MU_TOL * y2), descent_drop=float(drop), stationary=stationary,
    )


def analyse_patterns(data: Dataset, n_layers: int | None = None, geom: Geometry | None = None,
                     n_mu_samples: int = 8, seed=0) -> list[PatternReport]:
    """:func:`analyse_pattern` for all 2^Q patterns, μ samples from ``SeedSequence(seed)``."""
    geom = geometry(data) if geom is None else geom
    scatter = class_scatter(data, geom.means)
    seq = np.random.SeedSequence(seed)
    out = []
    for s, child in zip(all_patterns(data.n_classes), seq.spawn(2 ** data.n_classes)):
        out.append(analyse_pattern(data, s, n_layers, None, geom, n_mu_samples,
                                   np.random.default_rng(child), scatter))
    return out
