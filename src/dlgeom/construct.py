"""Explicit constructions: the global minimiser [P Thm 2.3, §4] and the pattern networks
[P Thm 2.4–2.5] (docs/mathematics.md §4–§5), with output layers by the paper's formula or least squares.

Layer ℓ = 1..Q handles class ℓ (0-based: class ℓ−1): cumulative parameters
W^(ℓ) = W_* R_ℓ, b^(ℓ) = −W_* R_ℓ x̄_ℓ + (μ_ℓ/√Q) u_Q, apex p_ℓ = x̄_ℓ − μ_ℓ f_ℓ.  μ_ℓ < 0 in
I_0 = (−D_eff, −2δ√Q) collapses the class to p_ℓ; μ_ℓ > 2δ√Q (I_1) leaves it intact.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import numpy as np

from .data import Dataset, check_square
from .geometry import Geometry, _rotations_to_diagonal, cone_matrix, geometry, rotation_to_diagonal
from .network import Network, curate
from .validation import (
    SINGULAR_COND,
    DlgeomInputError,
    as_float_array,
    check_choice,
    check_int,
    check_invertible,
)

__all__ = [
    "rotation_to_diagonal",
    "default_mu",
    "hidden_cumulative",
    "curated_means",
    "hidden_network",
    "hidden_layer_stacks",
    "output_paper",
    "fit_affine",
    "output_lstsq",
    "Construction",
    "construct_global",
    "construct_pattern",
    "collapse_thresholds",
    "all_patterns",
]


def all_patterns(q: int) -> np.ndarray:
    """Every s ∈ {0,1}^Q as rows (s_j = 0: class j collapsed; 1: left intact), s = 0 first."""
    q = check_int(q, "Q", minimum=1, maximum=20)
    return ((np.arange(2**q)[:, None] >> np.arange(q)[None, :]) & 1).astype(np.int64)


def default_mu(geom: Geometry, pattern=None, use_D: str = "eff") -> np.ndarray:
    """The documented default μ.

    Collapsed classes (s_j = 0): the midpoint of I_0 = (−D_eff, −2δ√Q), i.e.
    μ_j = −(D_eff + 2δ√Q)/2 (with ``use_D='paper'`` D instead of D_eff).  When the box is empty
    this point lies outside it; the construction then reports ``mu_in_box = False``.
    Intact classes (s_j = 1): μ_j = 2δ√Q + min_j |x̄_j − x̄|, inside I_1 = (2δ√Q, ∞).
    """
    return _default_mu(geom, pattern, use_D)[0]


def _default_mu(geom: Geometry, pattern, use_D: str) -> tuple[np.ndarray, bool]:
    """(:func:`default_mu`, whether every μ_j lies in its box), in scalars: two values only."""
    q = geom.n_classes
    s = np.zeros(q, dtype=np.int64) if pattern is None else np.asarray(pattern)
    lo, hi = geom.mu_box(use_D)
    collapsed = (lo + hi) / 2 if math.isfinite(lo) else hi
    cb = geom.collapse_bound
    intact = cb + float(geom.dist_to_barycenter.min())
    n_intact = int(s.sum())
    in_box = (n_intact == q or lo < collapsed < hi) and (n_intact == 0 or intact > cb)
    return np.where(s == 1, intact, collapsed).astype(np.float64), bool(in_box)


def hidden_cumulative(geom: Geometry, mu, n_layers: int):
    """Cumulative hidden parameters (W^(ℓ), b^(ℓ)), ℓ = 1..L [P 4.56, 4.58], as two lists.

    For ℓ > Q (extra layers) W_ℓ = I, with b_{Q+1} = β·1 (β = min_j |x̄_j − x̄|) and b_ℓ = 0
    after it: every pre-activation of the extra layers is ≥ β > 0, so they keep every point with
    a positive activation margin (b_{Q+1} = 0 would put the collapsed points exactly on a kink).
    Adding β only once keeps the activations from growing with L, which would cost accuracy at
    large L (measured: C = 3.6e-10 at Q = 64, L = 128 with β in every extra layer, 1.6e-11 with
    β once).
    """
    Wc, bc = _hidden_stacks(geom, mu, n_layers)
    return list(Wc), list(bc)


def _hidden_stacks(geom: Geometry, mu, n_layers: int):
    """:func:`hidden_cumulative` as arrays (L, Q, Q) and (L, Q), each step batched over layers."""
    q = geom.n_classes
    Wq, bq, _ = _mu_free_parts(geom)
    Wc = np.empty((n_layers, q, q))
    bc = np.empty((n_layers, q))
    Wc[:q] = Wq  # W^(ℓ) = W_* R_ℓ
    bc[:q] = bq  # −W^(ℓ) x̄_ℓ
    bc[:q] += (np.asarray(mu)[:, None] / math.sqrt(q)) * np.ones(q)  # + μ_ℓ û
    if n_layers > q:
        Wc[q:] = Wc[q - 1]
        bc[q:] = bc[q - 1] + _extra_bias(geom)
    return Wc, bc


_MU_FREE: dict[int, tuple] = {}  # id(geometry) -> (weak reference to it, its μ-free parts)


def _mu_free_parts(geom: Geometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The parts of the hidden layers that do not involve μ, computed once per Geometry (a box
    check or a pattern analysis builds hundreds of networks of one geometry): W^(ℓ) = W_* R_ℓ
    (Q, Q, Q), −W^(ℓ) x̄_ℓ (Q, Q) and the layer weights W_ℓ = W^(ℓ)(W^(ℓ−1))^{-1} (Q, Q, Q), by
    one batched solve (backward stable, see :func:`hidden_network`).  Read-only arrays."""
    hit = _MU_FREE.get(id(geom))
    if hit is not None and hit[0]() is geom:
        return hit[1]
    q = geom.n_classes
    Wq, bq = np.empty((q, q, q)), np.empty((q, q))  # the operations and layouts of the first version
    np.matmul(cone_matrix(geom.theta_star, q), _rotations_to_diagonal(geom.f), out=Wq)
    np.matmul(Wq, geom.means[:, :, None], out=bq[:, :, None])
    np.negative(bq, out=bq)
    prev = np.concatenate([np.eye(q)[None], Wq[: q - 1]])
    sol = np.linalg.solve(prev.transpose(0, 2, 1), Wq.transpose(0, 2, 1)).transpose(0, 2, 1)
    parts = (Wq, bq, sol)  # sol keeps the solve's layout (a transposed view): products with it round as before
    for a in parts:
        a.setflags(write=False)
    if len(_MU_FREE) >= 64:  # geometries of finished jobs: drop them all
        _MU_FREE.clear()
    _MU_FREE[id(geom)] = (weakref.ref(geom), parts)
    return parts


def _extra_bias(geom: Geometry) -> np.ndarray:
    """b_{Q+1} = β·1 with β = min_j |x̄_j − x̄| (see :func:`hidden_cumulative`)."""
    return float(geom.dist_to_barycenter.min()) * np.ones(geom.n_classes)


def hidden_network(geom: Geometry, mu, n_layers: int) -> Network:
    """The hidden layers of :func:`hidden_cumulative` as a network with an identity output.

    W_ℓ = W^(ℓ)(W^(ℓ−1))^{-1} [P 2.45] for ℓ = 1..Q by one batched solve (backward stable: the
    product of the computed layers reproduces W^(ℓ) to rounding even when W_* is ill-conditioned,
    θ_* near π; the closed form W_* R_ℓ R_{ℓ−1}ᵀ W_*^{-1} was measured 2× less accurate there),
    b_ℓ = b^(ℓ) − W_ℓ b^(ℓ−1).  The extra layers are exactly W_ℓ = I, with b_{Q+1} = β·1 and
    b_ℓ = 0 after it.  The computed layers are not re-validated (at small N that cost more than
    the rest of the construction)."""
    return _hidden_layers(geom, mu, n_layers)[0]


def _hidden_layers(geom: Geometry, mu, n_layers: int) -> tuple[Network, np.ndarray, np.ndarray]:
    """(:func:`hidden_network`, W^(L), b^(L)): the network and the last cumulative parameters
    as designed, which the output layer (4.74) uses (measured: more accurate than the product of
    the computed layers, lower cost in 80–90 % of ill-conditioned cases)."""
    Wc, bc = _hidden_stacks(geom, mu, n_layers)
    q = geom.n_classes
    sol = _mu_free_parts(geom)[2]
    bl = np.zeros_like(bc)
    bl[:q] = bc[:q]
    bl[1:q] -= np.matmul(sol[1:], bc[: q - 1, :, None])[:, :, 0]
    Wl = np.empty_like(Wc)
    Wl[:q] = sol
    Wl[q:] = np.eye(q)
    if n_layers > q:
        bl[q] = _extra_bias(geom)
    if not (np.isfinite(Wl).all() and np.isfinite(bl).all()):
        net = Network.from_cumulative(list(Wc), list(bc), np.eye(q), np.zeros(q))  # its errors name the layer
    else:
        net = Network._trusted(list(Wl) + [np.eye(q)], list(bl) + [np.zeros(q)])
    return net, Wc[-1], bc[-1]


def hidden_layer_stacks(geom: Geometry, mus, n_layers: int) -> tuple[list, np.ndarray]:
    """The layers of :func:`hidden_network` for many μ at once: (weights, biases) with ``weights`` the
    L matrices W_ℓ, the same for every μ (W^(ℓ) = W_* R_ℓ does not involve μ), and ``biases`` of
    shape (M, L, Q), row m the b_ℓ of μ = ``mus[m]``, computed as :func:`hidden_network` does."""
    mus = np.atleast_2d(np.asarray(mus, float))
    q = geom.n_classes
    _, bc = _hidden_stacks(geom, np.zeros(q), n_layers)  # bc[:q] at μ = 0: −W^(ℓ) x̄_ℓ
    sol = _mu_free_parts(geom)[2].transpose(0, 2, 1).copy().transpose(0, 2, 1)  # writable, same layout
    bcum = bc[None, :q] + (mus[:, :, None] / math.sqrt(q)) * np.ones(q)  # (M, Q, Q): b^(ℓ), ℓ ≤ Q
    biases = np.zeros((mus.shape[0], n_layers, q))
    biases[:, :q] = bcum
    biases[:, 1:q] -= np.matmul(sol[1:], bcum[:, : q - 1, :, None])[..., 0]
    if n_layers > q:
        biases[:, q] = _extra_bias(geom)
    weights = list(sol) + [np.eye(q)] * (n_layers - q)
    return weights, biases


def _with_output(hidden: Network, W_out, b_out) -> Network:
    """``hidden.with_output(W_out, b_out)`` for computed float64 layers, validated only if not finite."""
    W_out = np.ascontiguousarray(W_out, dtype=np.float64)
    b_out = np.ascontiguousarray(b_out, dtype=np.float64)
    if not (np.isfinite(W_out).all() and np.isfinite(b_out).all()):
        return hidden.with_output(W_out, b_out)
    return Network._trusted(hidden.weights[:-1] + (W_out,), hidden.biases[:-1] + (b_out,))


def curated_means(geom: Geometry, mu, pattern=None) -> np.ndarray:
    """Curated reduced matrix as rows: p_j = x̄_j − μ_j f_j for collapsed classes, x̄_j for intact
    ones.  For the global minimiser this is X^red[μ] of [P 4.74] (transposed)."""
    s = np.zeros(geom.n_classes, dtype=np.int64) if pattern is None else np.asarray(pattern)
    apex = geom.means - mu[:, None] * geom.f
    return np.where(s[:, None] == 1, geom.means, apex)


class SingularCurationError(DlgeomInputError, np.linalg.LinAlgError):
    """X^red[μ] is singular at the requested μ (e.g. every apex at the barycentre, μ_j = −|x̄_j − x̄|,
    reachable only with ``strict_mu=False``).  Both an input error (it names μ) and a LinAlgError, so
    the study's handlers of numerical failures record it as a row."""


def output_paper(geom: Geometry, Y: np.ndarray, mu, Wc_L, bc_L, pattern=None, apexes=None):
    """Output layer of [P 4.74]: W_{L+1} = Y X^red[μ]^{-1} (W^(L))^{-1}, b_{L+1} = −W_{L+1} b^(L),
    so that f = Y X^red[μ]^{-1} T_L.  ``apexes``: :func:`curated_means` if already computed."""
    xred_mu = (curated_means(geom, mu, pattern) if apexes is None else apexes).T
    try:
        A = np.linalg.solve(xred_mu.T, Y.T).T  # Y X^red[μ]^{-1}
    except np.linalg.LinAlgError:
        raise SingularCurationError(
            f"mu: X^red[μ] (the collapsed class points x̄_j − μ_j f_j) is singular at μ = {np.round(mu, 6).tolist()}; "
            "choose μ inside the box"
        ) from None
    W_out = np.linalg.solve(Wc_L.T, A.T).T  # A (W^(L))^{-1}
    return W_out, -W_out @ bc_L


def fit_affine(Z: np.ndarray, data: Dataset, bias: bool = True):
    """Weighted least squares: min over A (and c) of Σ_i (1/N_{y_i}) |A z_i + c − y_{y_i}|².

    Returns (A, c, C²_min) with c = 0 when ``bias`` is False.  Minimum-norm solution when the
    problem is rank deficient (e.g. collapsed data).  The minimum is recomputed from the residual.
    """
    sw = np.sqrt(data.weights)[:, None]
    design = Z * sw
    if bias:
        design = np.hstack([design, sw])
    rhs = data.targets * sw
    coef, *_ = np.linalg.lstsq(design, rhs, rcond=None)
    resid = design @ coef - rhs
    value = float(np.einsum("ij,ij->", resid, resid))
    q = Z.shape[1]
    A = coef[:q].T
    c = coef[q] if bias else np.zeros(data.Y.shape[0])
    return A, c, value


def output_lstsq(hidden: Network, data: Dataset, bias: bool = True):
    """Re-solve the output layer by weighted least squares.

    With ``bias=True``: the best affine map of X^(L) (the network's own freedom).  With
    ``bias=False``: the best *linear* map of the curated data T_L(X_0), i.e. b_{L+1} =
    −W_{L+1} b^(L) as in the paper's (4.74).  Returns (W_out, b_out, C²_min).
    """
    Wc, bc = hidden.cumulative()
    if bias:
        A, c, value = fit_affine(hidden.last_hidden(data.X), data, bias=True)
        return A, c, value
    A, _, value = fit_affine(curate(hidden, data.X), data, bias=False)
    W_out = np.linalg.solve(Wc[-1].T, A.T).T
    return W_out, -W_out @ bc[-1], value


@dataclass(frozen=True, eq=False)
class Construction:
    """A constructed network and how it was made.

    ``pattern[j] = 0``: class j collapsed (μ_j < 0); ``1``: intact.  ``apexes`` are the curated
    class points (p_j for collapsed classes, x̄_j for intact ones) as rows.  ``mu_in_box`` says
    whether every μ_j lies in its box (I_0 with the chosen D, or I_1).
    """

    network: Network
    mu: np.ndarray
    pattern: np.ndarray
    apexes: np.ndarray
    geometry: Geometry
    use_D: str
    output: str
    mu_in_box: bool


def _check_mu(mu, geom: Geometry, pattern: np.ndarray, use_D: str, strict: bool) -> tuple[np.ndarray, bool]:
    """(μ validated, whether every μ_j lies in its box); with ``strict`` outside is an error."""
    q = geom.n_classes
    mu = as_float_array(mu, "mu", 1, (q,))
    lo, hi = geom.mu_box(use_D)
    cb = geom.collapse_bound
    in_box = np.where(pattern == 1, mu > cb, (mu > lo) & (mu < hi))
    if strict and not in_box.all():
        j = int(np.flatnonzero(~in_box)[0])
        allowed = (
            f"({cb:.6g}, inf)" if pattern[j] == 1 else f"({lo:.6g}, {hi:.6g})" + (" which is empty" if lo >= hi else "")
        )
        raise DlgeomInputError(f"mu[{j}]: must lie in {allowed} for this pattern, got {mu[j]:.6g}")
    return mu, bool(in_box.all())


def construct_pattern(
    data: Dataset,
    pattern,
    n_layers: int | None = None,
    mu=None,
    use_D: str = "eff",
    output: str = "lstsq_affine",
    theta0: float | None = None,
    geom: Geometry | None = None,
    strict_mu: bool = True,
) -> Construction:
    """The network of pattern s [P Thm 2.4–2.5]: class j collapsed at layer j if s_j = 0, intact
    if s_j = 1.  ``output``: 'paper' (4.74 with the curated means), 'lstsq' (bias-free least
    squares on T_L(X_0)) or 'lstsq_affine' (with the free output bias).

    Raises :class:`DlgeomInputError` for bad input: L < Q, singular X^red or Y, μ outside its
    box (when ``strict_mu``).  A failed paper assumption is not an error.
    """
    if not isinstance(data, Dataset):
        raise DlgeomInputError(f"data: expected a dlgeom.Dataset, got {type(data).__name__}")
    check_square(data)
    q = data.n_classes
    L = q if n_layers is None else check_int(n_layers, "n_layers (L)", minimum=q)
    check_choice(use_D, "use_D", ("eff", "paper"))
    check_choice(output, "output", ("paper", "lstsq", "lstsq_affine"))
    pattern = np.asarray(pattern)
    if pattern.shape != (q,) or not ((pattern == 0) | (pattern == 1)).all():
        raise DlgeomInputError(
            f"pattern: expected {q} entries, each 0 (collapse) or 1 (intact), got {pattern.tolist()}"
        )
    pattern = pattern.astype(np.int64)
    if geom is None:
        geom = geometry(data, theta0)
        # geometry() computed both condition numbers exactly as check_invertible does: only a
        # failing one needs the check again (for its error message)
        if not (math.isfinite(geom.cond_xred) and geom.cond_xred <= SINGULAR_COND):
            check_invertible(geom.xred, "X^red (the matrix of class means)")
        if not (math.isfinite(geom.cond_Y) and geom.cond_Y <= SINGULAR_COND):
            check_invertible(data.Y, "Y (the target matrix)")
    else:
        _check_invertible_once(geom, data.Y)
    return _build_pattern(data, pattern, L, mu, use_D, output, geom, strict_mu)


_INVERTIBLE: list = [None, None]  # weak references to the last geometry and Y found invertible


def _check_invertible_once(geom: Geometry, Y: np.ndarray) -> None:
    """X^red of ``geom`` and ``Y`` invertible (:func:`check_invertible`), checked once for a run
    of constructions with one geometry and one (read-only) target matrix."""
    last_geom, last_Y = _INVERTIBLE
    if last_geom is not None and last_geom() is geom and last_Y() is Y:
        return
    check_invertible(geom.xred, "X^red (the matrix of class means)")
    check_invertible(Y, "Y (the target matrix)")
    _INVERTIBLE[:] = [weakref.ref(geom), weakref.ref(Y)]


def _build_pattern(
    data: Dataset, pattern: np.ndarray, L: int, mu, use_D: str, output: str, geom: Geometry, strict_mu: bool
) -> Construction:
    """:func:`construct_pattern` after its checks (data, L, choices, the int64 pattern, X^red and Y
    invertible): callers that build many patterns of one dataset check once."""
    if mu is None:
        mu, in_box = _default_mu(geom, pattern, use_D)
    else:
        mu, in_box = _check_mu(mu, geom, pattern, use_D, strict=strict_mu)
    hidden, W_L, b_L = _hidden_layers(geom, mu, L)
    apexes = curated_means(geom, mu, pattern)
    if output == "paper":
        W_out, b_out = output_paper(geom, data.Y, mu, W_L, b_L, pattern, apexes=apexes)
    else:
        W_out, b_out, _ = output_lstsq(hidden, data, bias=(output == "lstsq_affine"))
    return Construction(
        network=_with_output(hidden, W_out, b_out),
        mu=mu,
        pattern=pattern,
        apexes=apexes,
        geometry=geom,
        use_D=use_D,
        output=output,
        mu_in_box=in_box,
    )


def construct_global(
    data: Dataset,
    n_layers: int | None = None,
    mu=None,
    use_D: str = "eff",
    output: str = "paper",
    theta0: float | None = None,
    geom: Geometry | None = None,
    strict_mu: bool = True,
) -> Construction:
    """The zero-cost global minimiser of [P Thm 2.3] for L ≥ Q: pattern s = 0, output layer by
    the paper's formula (4.74) unless ``output`` says otherwise.  Default μ: :func:`default_mu`.
    D_eff = min(D, min_j |x̄_j − x̄|) by default; ``use_D='paper'`` uses the paper's D (4.26)."""
    q = data.n_classes if isinstance(data, Dataset) else 0
    return construct_pattern(data, np.zeros(q, dtype=np.int64), n_layers, mu, use_D, output, theta0, geom, strict_mu)


def collapse_thresholds(data: Dataset, geom: Geometry) -> np.ndarray:
    """Exact per-class thresholds of the μ-lemmas (docs/mathematics.md §2), shape (Q, 2).

    For class j and W = W_* R_j (‖W‖ = 1): μ_j below ``[j, 0] = −√Q max_{i,k}(WΔx_i)_k`` maps the
    whole class to the apex; μ_j above ``[j, 1] = −√Q min_{i,k}(WΔx_i)_k`` leaves it intact; in
    between the class is partly truncated (the transition band).  Compare with ∓2δ√Q.
    """
    q = geom.n_classes
    W_star = cone_matrix(geom.theta_star, q)
    out = np.empty((q, 2))
    for j in range(q):
        dev = data.X[data.y == j] - geom.means[j]
        proj = dev @ (W_star @ rotation_to_diagonal(geom.f[j])).T
        out[j] = -np.sqrt(q) * proj.max(), -np.sqrt(q) * proj.min()
    return out
