"""The pattern networks as candidate local minima [P Thm 2.4–2.5] (docs/mathematics.md §5).

For every s ∈ {0,1}^Q this module measures: the value (2.85) as printed (original X^red), the
bias-free and affine least-squares values on the curated data T_L(X_0), the closed forms of
docs/mathematics.md §5 against them, whether the value depends on μ inside the box, and stationarity.
Values are in the units of C (square roots of the minimal C²).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .construct import (
    _build_pattern,
    _with_output,
    all_patterns,
    construct_pattern,
    curated_means,
    fit_affine,
    hidden_layer_stacks,
    hidden_network,
    output_lstsq,
)
from .data import Dataset
from .geometry import Geometry, geometry
from .jsonutil import jsonable
from .network import cost_and_grad
from .validation import DlgeomInputError, check_choice

try:
    from . import _fused_patterns
except ImportError:  # built only where a C compiler was present at install
    _fused_patterns = None

__all__ = [
    "class_scatter",
    "value_paper",
    "value_biasfree_closed",
    "value_affine_closed",
    "PatternReport",
    "analyse_pattern",
    "analyse_patterns",
    "mu_samples",
    "affine_values_sq",
    "affine_values_sq_sequential",
    "fused_patterns_unavailable",
    "ENGINES",
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
BLOCK = 64  # μ values per stacked forward pass (a few MB at N = 1000, Q = 5)
RANK_TOL = 1e-8  # eigenvalues of the centred Gram matrix G at most this × λ_max(G) are not inverted
NULL_EPS = float(np.finfo(float).eps)  # their directions must be null to lstsq's rcond, NULL_EPS max(N, Q+1)


def _affine_value_sq(data, geom, pattern, mu, n_layers):
    """One least-squares value, by a whole construction and ``np.linalg.lstsq`` (the reference path)."""
    _, _, v = output_lstsq(hidden_network(geom, np.asarray(mu, float), n_layers), data, bias=True)
    return v


def affine_values_sq_sequential(data: Dataset, geom: Geometry, mus, n_layers: int) -> np.ndarray:
    """:func:`affine_values_sq` one μ at a time (a construction and ``np.linalg.lstsq`` each): the
    reference the batched version is tested and benchmarked against."""
    return np.array([_affine_value_sq(data, geom, None, m, n_layers) for m in np.asarray(mus, float)])


def fused_patterns_unavailable() -> str | None:
    """Why the compiled pattern kernel cannot run here, or None if it can."""
    if _fused_patterns is None:
        return (
            "the compiled kernel dlgeom._fused_patterns is not built on this machine (it needs a C compiler when "
            "dlgeom is installed: reinstall with `make test` or `pip install -e .` where gcc or clang exists)"
        )
    return None


def affine_values_sq(data: Dataset, geom: Geometry, mus, n_layers: int, kernel: str = "numpy") -> np.ndarray:
    """min over (A, c) of C² = Σ_i (1/N_{y_i}) |A x^(L)_i + c − y_{y_i}|² for the hidden network of every
    row μ of ``mus`` (shape (M, Q)), batched (docs/mathematics.md §5, "Batched least squares").

    The hidden weights do not depend on μ, only the biases do: one set of layers, M bias stacks, one
    pass over the points per μ: stacked numpy (``kernel='numpy'``) or the compiled kernel
    ``dlgeom._fused_patterns`` (``kernel='fused'``, widths Q ≤ 16 and L ≤ 64; numpy beyond), equal to
    rounding.  The free bias c is eliminated by centring X^(L) and the targets at their
    weighted means; the Q × Q normal equations G A = B of the centred data are solved by a stacked
    eigendecomposition of G, and the value is the squared norm of the explicit residual (an error δ
    in A raises it by ‖δᵀH‖² only, second order).  Eigenvalues λ ≤ ``RANK_TOL`` λ_max(G) are left out
    (a pseudo-inverse) when their directions v are null to rounding, ‖vᵀH‖ ≤ ε max(N, Q+1) √λ_max(G)
    (the singular values ``np.linalg.lstsq`` drops), as when every class is collapsed; otherwise the
    value comes from :func:`affine_values_sq_sequential` (lstsq)."""
    check_choice(kernel, "kernel", ("numpy", "fused"))
    if kernel == "fused" and fused_patterns_unavailable():
        raise DlgeomInputError(
            f"kernel: 'fused' cannot run here: {fused_patterns_unavailable()}; 'numpy' needs nothing compiled"
        )
    mus = np.atleast_2d(np.asarray(mus, float))
    out = np.empty(mus.shape[0])
    if not mus.shape[0]:
        return out
    n, q = data.X.shape
    weights, biases = hidden_layer_stacks(geom, mus, n_layers)
    if not all(np.isfinite(W).all() for W in weights):  # the reference path raises the errors that name them
        return affine_values_sq_sequential(data, geom, mus, n_layers)
    w = np.ascontiguousarray(data.weights, dtype=float)
    sw = np.sqrt(w)
    T = data.targets.T  # (Q, N)
    Tc = np.ascontiguousarray((T - (T @ w / w.sum())[:, None]) * sw)  # centred, weighted targets
    compiled = kernel == "fused" and q <= _fused_patterns.MAX_WIDTH and n_layers <= 64
    if compiled:
        XT = np.ascontiguousarray(data.X.T, dtype=float)
        W = np.ascontiguousarray(np.stack(weights))
    else:
        first = weights[0] @ data.X.T  # (Q, N), shared by every μ
    null_tol = NULL_EPS * max(n, q + 1)
    if compiled:  # one set of buffers for every block (fresh megabytes per block cost page faults)
        bufs = (
            np.empty((min(BLOCK, len(mus)), q, n)),
            np.empty((min(BLOCK, len(mus)), q, q)),
            np.empty((min(BLOCK, len(mus)), q, q)),
        )
    exact = []
    for start in range(0, len(mus), BLOCK):
        b = np.ascontiguousarray(biases[start : start + BLOCK])
        m = len(b)
        if compiled:
            H, G, C = (buf[:m] for buf in bufs)
            _fused_patterns.moments(q, n_layers, m, n, XT, W, b, w, sw, Tc, H, G, C)
        else:
            H = first + b[:, 0, :, None]
            np.maximum(H, 0.0, out=H)
            for layer in range(1, n_layers):
                H = np.matmul(weights[layer], H)
                H += b[:, layer, :, None]
                np.maximum(H, 0.0, out=H)
            H -= (H @ w / w.sum())[:, :, None]  # centred at the weighted mean
            H *= sw
            G = np.matmul(H, H.transpose(0, 2, 1))
            C = np.matmul(H, Tc.T)
        lam, V = np.linalg.eigh(G)
        big = lam > RANK_TOL * lam[:, -1:]
        ok = big.all(axis=1)
        for i in np.flatnonzero(~ok):
            # small eigenvalues: null directions (collapsed classes) are dropped, as lstsq drops them; anything
            # else goes to lstsq.  ‖vᵀH‖ comes from H itself: accurate far below the √ε √λ_max of G's rounding
            sigma = np.linalg.norm(V[i][:, ~big[i]].T @ H[i], axis=1)
            ok[i] = bool(np.all(sigma <= null_tol * np.sqrt(lam[i, -1])))
        inv = np.matmul(V / np.where(big, lam, np.inf)[:, None, :], V.transpose(0, 2, 1))  # pseudo-inverse of G
        A = np.ascontiguousarray(np.matmul(inv, C))  # (M, Q, Q): z ↦ Aᵀz
        if compiled:
            _fused_patterns.residuals(q, m, n, H, A, Tc, out[start : start + m])
        else:
            R = Tc - np.matmul(A.transpose(0, 2, 1), H)
            out[start : start + m] = np.einsum("mij,mij->m", R, R)
        exact += (start + np.flatnonzero(~ok)).tolist()
    if exact:
        out[exact] = affine_values_sq_sequential(data, geom, mus[exact], n_layers)
    return out


ENGINES = ("batched", "fused", "sequential")


def _values_fn(engine: str):
    """The least-squares values of an engine: 'batched' (stacked numpy), 'fused' (the compiled kernel),
    'sequential' (one construction and ``np.linalg.lstsq`` per μ: the values of the code before batching,
    bit for bit)."""
    check_choice(engine, "engine", ENGINES)
    if engine == "sequential":
        return affine_values_sq_sequential
    kernel = "fused" if engine == "fused" else "numpy"
    if kernel == "fused" and fused_patterns_unavailable():
        raise DlgeomInputError(
            f"engine: 'fused' cannot run here: {fused_patterns_unavailable()}; 'batched' and "
            "'sequential' need nothing compiled"
        )
    return lambda data, geom, mus, L: affine_values_sq(data, geom, mus, L, kernel)


def analyse_pattern(
    data: Dataset,
    pattern,
    n_layers: int | None = None,
    mu=None,
    geom: Geometry | None = None,
    n_mu_samples: int = 8,
    rng: np.random.Generator | None = None,
    scatter=None,
    engine: str = "batched",
) -> PatternReport:
    """Measure one pattern (see :class:`PatternReport`).  ``rng`` drives the μ samples.  ``engine``: how
    the least-squares values at the μ samples and steps are computed, 'batched' (stacked numpy),
    'fused' (the compiled kernel) by :func:`affine_values_sq`, or 'sequential' (one construction and
    ``np.linalg.lstsq`` each, :func:`affine_values_sq_sequential`); all equal to rounding."""
    geom = geometry(data) if geom is None else geom
    rng = np.random.default_rng(np.random.SeedSequence(0)) if rng is None else rng
    scatter = class_scatter(data, geom.means) if scatter is None else scatter
    L = data.n_classes if n_layers is None else n_layers
    return _analyse(data, [pattern], [mu], L, geom, n_mu_samples, [rng], scatter, _values_fn(engine))[0]


def analyse_patterns(
    data: Dataset,
    n_layers: int | None = None,
    geom: Geometry | None = None,
    n_mu_samples: int = 8,
    seed=0,
    engine: str = "batched",
) -> list[PatternReport]:
    """:func:`analyse_pattern` for all 2^Q patterns, μ samples from ``SeedSequence(seed)``; with the
    'batched' and 'fused' engines the least-squares values of every pattern's μ samples and steps
    come in two stacked batches."""
    geom = geometry(data) if geom is None else geom
    scatter = class_scatter(data, geom.means)
    q = data.n_classes
    rngs = [np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(2**q)]
    L = q if n_layers is None else n_layers
    return _analyse(data, all_patterns(q), [None] * 2**q, L, geom, n_mu_samples, rngs, scatter, _values_fn(engine))


def _analyse(data, patterns, mus, L, geom, n_mu_samples, rngs, scatter, values) -> list[PatternReport]:
    """The measurements of :class:`PatternReport` for each pattern; ``values(data, geom, mus, L)``
    gives the affine least-squares values C² of many μ at once.  Three passes: each pattern at its μ
    (construction, exact fits, closed forms, gradient) with its μ samples and central-difference
    points queued; one call of ``values`` for the queue; the descent steps (their direction needs
    dF/dμ) queued and valued in a second call."""
    q = data.n_classes
    lo, hi = geom.mu_box("eff")
    scale = max(1.0, float(np.linalg.norm(data.Y)))
    y2 = float(np.linalg.norm(data.Y)) ** 2
    base, queue = [], []
    for i, (pattern, mu, rng) in enumerate(zip(patterns, mus, rngs)):
        if i == 0:  # checks data, L, X^red and Y once
            con = construct_pattern(data, pattern, L, mu, geom=geom, output="paper")
        else:
            pattern = np.asarray(pattern)
            if pattern.shape != (q,) or not ((pattern == 0) | (pattern == 1)).all():
                con = construct_pattern(data, pattern, L, mu, geom=geom, output="paper")  # its error
            con = _build_pattern(data, pattern.astype(np.int64), L, mu, "eff", "paper", geom, True)
        pattern = con.pattern
        mu = con.mu
        hidden = con.network
        _, _, v_bf2 = output_lstsq(hidden, data, bias=False)
        W_aff, b_aff, v_aff2 = fit_affine(hidden.last_hidden(data.X), data, bias=True)  # = output_lstsq(bias=True)
        samples = mu_samples(geom, pattern, n_mu_samples, rng) if n_mu_samples else np.empty((0, q))
        # stationarity: gradient over all parameters at the re-solved output
        _, grad = cost_and_grad(_with_output(hidden, W_aff, b_aff), data)
        width = np.where(pattern == 1, np.abs(mu), (hi - lo) if hi > lo else np.abs(mu))
        h = 1e-6 * np.maximum(width, 1e-12)
        queue += [samples, mu + np.diag(h), mu - np.diag(h)]
        base.append((pattern, con, v_bf2, v_aff2, float(np.linalg.norm(grad)), width, h, len(samples)))
    vals_all = values(data, geom, np.concatenate(queue), L) if queue else np.empty(0)

    steps, partial, at = [], [], 0
    for pattern, con, _, v_aff2, _, width, h, n_s in base:
        mu = con.mu
        sampled, fp, fm = np.split(vals_all[at : at + n_s + 2 * q], [n_s, n_s + q])
        at += n_s + 2 * q
        v_aff = np.sqrt(v_aff2)
        vals = [v_aff] + [np.sqrt(v) for v in sampled]
        dF = np.empty(q)
        targets = np.empty((q, q))
        for j in range(q):
            dF[j] = (fp[j] - fm[j]) / (2 * h[j])
            # a finite step (10% of the box width, staying in the box) in the descent direction
            step = -np.sign(dF[j]) * 0.1 * width[j]
            if pattern[j] == 0 and hi > lo:
                target = np.clip(mu[j] + step, lo + 1e-3 * (hi - lo), hi - 1e-3 * (hi - lo))
            else:
                target = max(mu[j] + step, geom.collapse_bound * (1 + 1e-3) + 1e-12)
            targets[j] = mu
            targets[j, j] = target
        steps.append(targets)
        partial.append((vals, dF))
    stepped = values(data, geom, np.concatenate(steps), L) if steps else np.empty(0)

    out = []
    for i, ((pattern, con, v_bf2, v_aff2, grad_norm, *_), (vals, dF)) in enumerate(zip(base, partial)):
        mu = con.mu
        drop = 0.0
        for v in stepped[i * q : (i + 1) * q]:
            drop = max(drop, v_aff2 - v)
        v_bf, v_aff = np.sqrt(v_bf2), np.sqrt(v_aff2)
        vb_closed = value_biasfree_closed(data, geom, pattern, mu, scatter)
        va_closed = value_affine_closed(data, geom, pattern, mu, scatter)
        stationary = bool(grad_norm <= STAT_TOL * y2 and np.max(np.abs(dF)) <= STAT_TOL * y2)
        out.append(
            PatternReport(
                s=pattern.tolist(),
                mu=mu.tolist(),
                mu_in_box=con.mu_in_box,
                value_paper=value_paper(data, geom, pattern, scatter),
                value_biasfree=float(v_bf),
                value_affine=float(v_aff),
                value_biasfree_closed=vb_closed,
                value_affine_closed=va_closed,
                closed_form_error=float(max(abs(vb_closed - v_bf), abs(va_closed - v_aff))),
                value_affine_min_over_mu=float(min(vals)),
                value_affine_max_over_mu=float(max(vals)),
                mu_dependent=bool(max(vals) - min(vals) > MU_TOL * scale),
                grad_norm=grad_norm,
                dF_dmu=dF.tolist(),
                mu_descent=bool(drop > MU_TOL * y2),
                descent_drop=float(drop),
                stationary=stationary,
            )
        )
    return out
