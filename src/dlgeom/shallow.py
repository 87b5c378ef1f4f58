"""The shallow network (one hidden layer of width Q, input R^Q): the upper bound B and the exact
value V of docs/mathematics.md §8 (arXiv 2309.10370, as restated in [P 2.54]), checked by least squares.

Quantities (columns are points, 𝒩 = diag(N_j I_{N_j}), Y the targets):

* Δ_1 = (X^red)^{-1} ΔX_0, δ_P = max_{j,i} |(X^red)^{-1} Δx_{j,i}|, Δ_2 = Δ_1 𝒩^{-1} Δ_1ᵀ.
* B = ‖Y Δ_1‖_𝒩 = sqrt(Tr(Y Δ_2 Yᵀ)): the cost of the network whose hidden layer is the identity
  on the data (W_1 = I, b_1 = β1 with all pre-activations positive) and whose output maps every
  class mean to its target, W_2 = Y (X^red)^{-1}, b_2 = −W_2 b_1.
* V = ‖Y Δ_2^{1/2}(I + Δ_2)^{-1/2}‖_F = V_P[s = 1] of docs/mathematics.md §5: the minimum over W_2 of that
  network with the paper's output bias b_2 = −W_2 b_1 (f(x) = W_2 x, linear).  Least squares
  gives it directly: min_A Σ_j (1/N_j) Σ_i |A x_{j,i} − y_j|² = ‖AX^red − Y‖² + Tr(A S Aᵀ),
  minimised at A = Y X^redᵀ(X^red X^redᵀ + S)^{-1} with value V² = Tr(Y Δ_2 (I + Δ_2)^{-1} Yᵀ).
* B² − V² = Tr(Y Δ_2² (I + Δ_2)^{-1} Yᵀ) (computed in this form, without cancellation), so
  (B − V)/B ≤ ‖Δ_2‖ ≤ Q δ_P² (our derivation): V = B(1 − O(δ_P²)), and log((B − V)/B) against log δ_P has
  slope 2 as δ_P → 0 when the deviations shrink uniformly.
* V_aff: the minimum with the network's free output bias b_2 (best affine f), by the closed form
  of docs/mathematics.md §5 and by least squares.  V_aff ≤ V always; it is an upper bound on the shallow
  network's global minimum, which may be lower still (ReLU truncation), probed by training.
"""

from __future__ import annotations

import numpy as np

from .construct import fit_affine
from .data import Dataset
from .geometry import class_means, geometry
from .local_minima import class_scatter, value_affine_closed, value_paper
from .network import Network, cost
from .validation import DlgeomInputError, as_float_array, check_float, check_invertible

__all__ = ["fit_slope", "identity_network", "shallow_values", "shrink_dataset"]


def _check(data) -> None:
    if not isinstance(data, Dataset):
        raise DlgeomInputError(f"data: expected a dlgeom.Dataset, got {type(data).__name__}")


def identity_network(data: Dataset, W_out, b_out_affine=None) -> Network:
    """One hidden layer W_1 = I, b_1 = β1 with β = 1 − min X (every pre-activation ≥ 1 on the
    data, so σ acts as the identity), output W_2 = ``W_out`` and b_2 = c − W_2 b_1 with c =
    ``b_out_affine`` (default 0, the paper's bias-free form): f(x) = W_2 x + c on the data."""
    q = data.n_classes
    W_out = as_float_array(W_out, "W_out", 2, (q, q))
    c = np.zeros(q) if b_out_affine is None else as_float_array(b_out_affine, "b_out_affine", 1, (q,))
    beta = 1.0 - float(np.min(data.X))
    b1 = np.full(q, beta)
    return Network((np.eye(q), W_out), (b1, c - W_out @ b1))


def shallow_values(data: Dataset) -> dict:
    """B, δ_P, V (closed form, least squares, network), V_aff (closed form, least squares) and
    the gap (B − V)/B for one dataset.  Raises if X^red or Y is singular."""
    _check(data)
    q = data.n_classes
    means = class_means(data.X, data.y, q)
    xred = means.T
    check_invertible(xred, "X^red (the matrix of class means)")
    check_invertible(data.Y, "Y (the target matrix)")
    inv = np.linalg.inv(xred)
    dev = data.X - means[data.y]
    d1 = dev @ inv.T  # rows: (X^red)^{-1} Δx
    delta_P = float(np.sqrt(np.max(np.einsum("ij,ij->i", d1, d1))))
    scatter = class_scatter(data, means)
    S = scatter.sum(axis=0)
    d2 = inv @ S @ inv.T
    d2 = (d2 + d2.T) / 2
    Y = data.Y
    B2 = float(np.trace(Y @ d2 @ Y.T))
    I = np.eye(q)
    diff2 = float(np.trace(Y @ d2 @ np.linalg.solve(I + d2, d2) @ Y.T))
    V2 = B2 - diff2
    B, V = np.sqrt(B2), np.sqrt(max(V2, 0.0))
    gap = diff2 / (B * (B + V)) if B > 0 else float("nan")
    # both sides: least squares and explicit networks
    A_lin, _, v_lin2 = fit_affine(data.X, data, bias=False)
    A_aff, c_aff, v_aff2 = fit_affine(data.X, data, bias=True)
    geom = geometry(data)
    ones = np.ones(q, dtype=np.int64)
    v_aff_closed = value_affine_closed(data, geom, ones, np.zeros(q), scatter)
    v_paper = value_paper(data, geom, ones, scatter)
    B_net = cost(identity_network(data, Y @ inv), data)
    V_net = cost(identity_network(data, A_lin), data)
    V_aff_net = cost(identity_network(data, A_aff, c_aff), data)
    return {
        "delta_P": delta_P,
        "norm_Delta2": float(np.linalg.norm(d2, 2)),
        "B": float(B),
        "B_network": B_net,
        "V": float(V),
        "V_paper_formula": v_paper,
        "V_lstsq": float(np.sqrt(v_lin2)),
        "V_network": V_net,
        "gap_rel": float(gap),
        "gap_bound": float(np.linalg.norm(d2, 2)),
        "gap_bound_Q": q * delta_P**2,
        "V_aff": v_aff_closed,
        "V_aff_lstsq": float(np.sqrt(v_aff2)),
        "V_aff_network": V_aff_net,
        "ratio_aff": v_aff_closed / V if V > 0 else float("nan"),
    }


def shrink_dataset(data: Dataset, lam: float) -> Dataset:
    """x ← x̄_j + λ(x − x̄_j): the same clusters with every deviation scaled by λ > 0."""
    _check(data)
    lam = check_float(lam, "lambda", low=0.0, low_open=True)
    means = class_means(data.X, data.y, data.n_classes)
    X = means[data.y] + lam * (data.X - means[data.y])
    return Dataset(X, data.y, data.Y, dict(data.meta, shrink=lam))


def fit_slope(x, y) -> dict:
    """Least-squares line log y = a + s log x: slope s, its standard error, intercept, n.
    Non-positive or non-finite pairs are dropped; fewer than 3 points give nan."""
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    lx, ly = np.log(x[ok]), np.log(y[ok])
    n = int(lx.size)
    if n < 3 or np.ptp(lx) == 0:
        return {"slope": float("nan"), "se": float("nan"), "intercept": float("nan"), "n": n}
    X = np.column_stack([np.ones(n), lx])
    coef, *_ = np.linalg.lstsq(X, ly, rcond=None)
    resid = ly - X @ coef
    s2 = float(resid @ resid) / (n - 2)
    cov = s2 * np.linalg.inv(X.T @ X)
    return {"slope": float(coef[1]), "se": float(np.sqrt(cov[1, 1])), "intercept": float(coef[0]), "n": n}
