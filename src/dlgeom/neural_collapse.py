"""Neural collapse layer by layer (Papyan, Han & Donoho 2020), adapted to the class-balanced L²
cost with targets Y (docs/mathematics.md §1).

Features of one layer are the rows of ``H`` (N, d); ``y`` are the labels 0..Q−1, ``Y`` the
targets (Q, Q), column j is y_j.  All statistics are class-balanced like the cost [P 2.36]:

* class means μ_j = (1/N_j) Σ_i h_{j,i}; global mean μ_G = (1/Q) Σ_j μ_j;
* within-class covariance Σ_W = (1/Q) Σ_j (1/N_j) Σ_i (h_{j,i} − μ_j)(h_{j,i} − μ_j)ᵀ;
* between-class covariance Σ_B = (1/Q) Σ_j (μ_j − μ_G)(μ_j − μ_G)ᵀ, rank ≤ Q − 1;
* M = [μ_1 − μ_G, …, μ_Q − μ_G] (d, Q), the centred means; Ỹ = Y − ȳ1ᵀ, ȳ = (1/Q) Σ_j y_j.

The quantities (each 0 at perfect collapse; the names say which definition a value holds, see
docs/mathematics.md §9):

* ``nc1_papyan`` = Tr(Σ_W Σ_B⁺)/Q, Papyan's NC1, with the Moore–Penrose pseudo-inverse
  (eigenvalues of Σ_B below ``PINV_RTOL`` × the largest are treated as 0), so it is defined when
  Σ_B is singular (merged classes, Q − 1 ≤ rank).  It ignores within-class spread orthogonal to
  the range of Σ_B; ``nc1_trace_ratio`` = Tr Σ_W / Tr Σ_B does not.  When Σ_B = 0 (all class
  means equal): +inf if Σ_W ≠ 0, NaN if Σ_W = 0 (everything at one point).
* ``cdnv`` (class-distance normalised variance, Galanti et al., arXiv 2112.15121) = the mean over
  the pairs i < j of (σ_i² + σ_j²) / (2|μ_i − μ_j|²), σ_j² = (1/N_j) Σ_i |h_{j,i} − μ_j|²; needs
  no inverse.  A pair whose means coincide contributes +inf (the two classes are not separated).
* ``separation_fuzziness`` (He & Su, arXiv 2210.17020) D = Tr(SS_w SS_b⁺) with the
  *sample-weighted* SS_w = (1/N) Σ (h_i − μ_{y_i})(h_i − μ_{y_i})ᵀ and
  SS_b = (1/N) Σ_j N_j (μ_j − μ)(μ_j − μ)ᵀ, μ the mean of all points (same pseudo-inverse rule and
  conventions as NC1).  For balanced classes D = Q · nc1_papyan.
* ``nc2_vs_targets`` = ‖G_M/‖G_M‖_F − G_Y/‖G_Y‖_F‖_F with G_M = MᵀM and G_Y = ỸᵀỸ: the geometry
  of the class means against the geometry of the centred targets (the reference for the L² cost
  with targets Y).  ``nc2_vs_etf`` uses the simplex ETF Gram I − 11ᵀ/Q instead (the field's NC2);
  for Y = I both agree (ỸᵀỸ = I − 11ᵀ/Q).  NaN when M = 0.
* ``nc3_vs_targets`` = ‖W/‖W‖_F − ỸMᵀ/‖ỸMᵀ‖_F‖_F and ``nc3_papyan`` = ‖W/‖W‖_F − Mᵀ/‖M‖_F‖_F
  (Papyan's self-duality) for the weights W (Q, d) that read the layer: the output layer
  W_{L+1}, so both are defined at the last hidden layer only (NaN elsewhere).  For Y = I they
  agree.
* ``nc4_ncc_mismatch`` = class-balanced fraction of points where the network's decision (the
  nearest target, argmin_j |f(x) − y_j|) differs from the nearest class mean in this layer
  (argmin_j |h − μ_j|): Papyan's NC4 as a mismatch rate (the agreement is 1 − this).

Within-class spread of class j in a layer: max_i |h_{j,i} − μ_j| / s, s = max_i |h_i| over the
whole layer (0/0 := 0: a layer with every unit dead collapses everything).  Class j is
*collapsed* at a layer when its spread is ≤ ``rel_tol``; its *collapse layer* is the first layer
ℓ ∈ 1..L+1 (L+1 = output) from which on it stays collapsed, 0 if it is not collapsed at the
output.  Layer 0 is the input X itself (reported, but not a candidate collapse layer).
"""

from __future__ import annotations

import numpy as np

from .data import Dataset
from .network import Network
from .validation import DlgeomInputError, as_float_array, as_labels, check_float

__all__ = [
    "PINV_RTOL",
    "ClassStatistics",
    "class_statistics",
    "cdnv",
    "separation_fuzziness",
    "separation_rate",
    "nc_metrics",
    "layer_features",
    "network_decision",
    "neural_collapse",
    "collapse_layers",
]

PINV_RTOL = 1e-10


class ClassStatistics:
    """Class-balanced statistics of one layer (see the module docstring): ``means`` (Q, d),
    ``global_mean`` (d,), ``sigma_w`` and ``sigma_b`` (d, d), ``spread`` (Q,) relative spreads,
    ``scale`` the layer scale s."""

    __slots__ = ("means", "global_mean", "sigma_w", "sigma_b", "spread", "scale")

    def __init__(self, means, global_mean, sigma_w, sigma_b, spread, scale):
        self.means, self.global_mean = means, global_mean
        self.sigma_w, self.sigma_b, self.spread, self.scale = sigma_w, sigma_b, spread, scale


def class_statistics(H, y, n_classes: int) -> ClassStatistics:
    """Class-balanced means, covariances and relative spreads of the rows of ``H`` (N, d)."""
    H = as_float_array(H, "H", 2)
    y = as_labels(y, "y", n=H.shape[0], n_classes=n_classes)
    q = int(n_classes)
    counts = np.bincount(y, minlength=q).astype(float)
    if np.any(counts == 0):
        raise DlgeomInputError(f"y: every class 0..{q - 1} needs at least one point")
    onehot = np.zeros((H.shape[0], q))
    onehot[np.arange(H.shape[0]), y] = 1.0
    means = (onehot.T @ H) / counts[:, None]
    dev = H - means[y]
    w = 1.0 / (q * counts[y])
    sigma_w = (dev * w[:, None]).T @ dev
    gmean = means.mean(axis=0)
    M = means - gmean
    sigma_b = M.T @ M / q
    dist = np.linalg.norm(dev, axis=1)
    spread_abs = np.zeros(q)
    np.maximum.at(spread_abs, y, dist)
    scale = float(np.max(np.linalg.norm(H, axis=1))) if H.size else 0.0
    spread = spread_abs / scale if scale > 0 else np.zeros(q)
    return ClassStatistics(means, gmean, sigma_w, sigma_b, spread, scale)


def _normalised_distance(A: np.ndarray, B: np.ndarray) -> float:
    na, nb = np.linalg.norm(A), np.linalg.norm(B)
    if na == 0 or nb == 0:
        return float("nan")
    return float(np.linalg.norm(A / na - B / nb))


def _nc1(sigma_w: np.ndarray, sigma_b: np.ndarray, q: int) -> tuple[float, float]:
    nc1 = _trace_pinv(sigma_w, sigma_b)
    if not np.isfinite(nc1):
        return nc1, nc1
    return nc1 / q, float(np.trace(sigma_w)) / float(np.trace(sigma_b))


def _trace_pinv(A: np.ndarray, B: np.ndarray) -> float:
    """Tr(A B⁺) for symmetric B ⪰ 0 (eigenvalues below PINV_RTOL × the largest count as 0);
    B = 0: +inf if Tr A > 0, NaN if Tr A = 0."""
    vals, vecs = np.linalg.eigh((B + B.T) / 2)
    top = float(vals[-1]) if vals.size else 0.0
    if top <= 0:
        return float("inf") if float(np.trace(A)) > 0 else float("nan")
    keep = vals > PINV_RTOL * top
    V = vecs[:, keep]
    return float(np.trace(A @ ((V / vals[keep]) @ V.T)))


def _cdnv(H: np.ndarray, y: np.ndarray, means: np.ndarray) -> float:
    q = means.shape[0]
    if q < 2:
        return float("nan")
    var = np.bincount(y, weights=np.sum((H - means[y]) ** 2, axis=1), minlength=q) / np.bincount(y, minlength=q)
    i, j = np.triu_indices(q, 1)
    dist2 = np.sum((means[i] - means[j]) ** 2, axis=1)
    terms = np.full(dist2.shape, np.inf)
    ok = dist2 > 0
    terms[ok] = (var[i] + var[j])[ok] / (2 * dist2[ok])
    return float(np.mean(terms))


def _fuzziness(H: np.ndarray, y: np.ndarray, means: np.ndarray) -> float:
    n, q = H.shape[0], means.shape[0]
    counts = np.bincount(y, minlength=q).astype(float)
    dev = H - means[y]
    C = means - H.mean(axis=0)
    return _trace_pinv(dev.T @ dev / n, (C * (counts / n)[:, None]).T @ C)


def cdnv(H, y, n_classes: int) -> float:
    """Class-distance normalised variance of the rows of ``H`` (N, d): the mean over class pairs
    i < j of (σ_i² + σ_j²) / (2|μ_i − μ_j|²) (module docstring); +inf when two means coincide."""
    st = class_statistics(H, y, n_classes)
    return _cdnv(np.asarray(H, float), np.asarray(y), st.means)


def separation_fuzziness(H, y, n_classes: int) -> float:
    """He & Su's separation fuzziness Tr(SS_w SS_b⁺) of the rows of ``H`` (N, d), with the
    sample-weighted scatter matrices of the module docstring."""
    st = class_statistics(H, y, n_classes)
    return _fuzziness(np.asarray(H, float), np.asarray(y), st.means)


def network_decision(outputs, Y) -> np.ndarray:
    """argmin_j |f(x) − y_j| for every row of ``outputs`` (N, Q); ``Y`` (Q, Q) columns y_j."""
    outputs = as_float_array(outputs, "outputs", 2)
    Y = as_float_array(Y, "Y", 2, (outputs.shape[1], None))
    d2 = np.sum(outputs**2, axis=1)[:, None] - 2 * outputs @ Y + np.sum(Y**2, axis=0)[None, :]
    return np.argmin(d2, axis=1)


def nc_metrics(H, y, Y, decision, W_read=None) -> dict:
    """``nc1_papyan``, ``nc1_trace_ratio``, ``cdnv``, ``separation_fuzziness``, ``nc2_vs_targets``,
    ``nc2_vs_etf``, ``nc3_vs_targets`` and ``nc3_papyan`` (with ``W_read`` (Q, d), the weights
    reading this layer; NaN without), ``nc4_ncc_mismatch`` (against ``decision``, (N,) labels) and
    the per-class relative spreads of the features ``H`` (N, d).  See the module docstring."""
    Y = as_float_array(Y, "Y", 2)
    q = Y.shape[1]
    st = class_statistics(H, y, q)
    H = np.asarray(H, float)
    y = np.asarray(y)
    nc1, nc1_trace = _nc1(st.sigma_w, st.sigma_b, q)
    M = (st.means - st.global_mean).T  # (d, Q)
    Yc = Y - Y.mean(axis=1, keepdims=True)  # Ỹ, columns y_j − ȳ
    G_M = M.T @ M
    nc2_y = _normalised_distance(G_M, Yc.T @ Yc)
    nc2_etf = _normalised_distance(G_M, np.eye(q) - np.full((q, q), 1.0 / q))
    nc3 = nc3_papyan = float("nan")
    if W_read is not None:
        W_read = as_float_array(W_read, "W_read", 2, (q, H.shape[1]))
        nc3 = _normalised_distance(W_read, Yc @ M.T)
        nc3_papyan = _normalised_distance(W_read, M.T)
    decision = as_labels(decision, "decision", n=H.shape[0], n_classes=q)
    d2 = np.sum(H**2, axis=1)[:, None] - 2 * H @ st.means.T + np.sum(st.means**2, axis=1)[None, :]
    ncc = np.argmin(d2, axis=1)
    counts = np.bincount(y, minlength=q).astype(float)
    nc4 = float(np.sum((ncc != decision) / counts[y]) / q)
    return {
        "nc1_papyan": nc1,
        "nc1_trace_ratio": nc1_trace,
        "cdnv": _cdnv(H, y, st.means),
        "separation_fuzziness": _fuzziness(H, y, st.means),
        "nc2_vs_targets": nc2_y,
        "nc2_vs_etf": nc2_etf,
        "nc3_vs_targets": nc3,
        "nc3_papyan": nc3_papyan,
        "nc4_ncc_mismatch": nc4,
        "spread": st.spread.tolist(),
        "spread_max": float(st.spread.max()),
        "layer_scale": st.scale,
    }


def layer_features(net: Network, X) -> list[np.ndarray]:
    """The rows of every hidden layer X^(1..L) and of the output X^(L+1): L + 1 arrays (N, Q)."""
    X = net._check_X(X)
    out, H = [], X
    for W, b in zip(net.weights[:-1], net.biases[:-1]):
        H = np.maximum(H @ W.T + b, 0.0)
        out.append(H)
    out.append(H @ net.weights[-1].T + net.biases[-1])
    return out


def collapse_layers(spreads, rel_tol: float) -> list[int]:
    """Collapse layer of every class from ``spreads`` (n_layers, Q) (rows: layers 1..L+1): the
    first layer from which the class's spread stays ≤ rel_tol, 0 if not collapsed at the last."""
    S = np.asarray(spreads, float)
    ok = S <= rel_tol
    out = []
    for j in range(S.shape[1]):
        col = ok[:, j]
        if not col[-1]:
            out.append(0)
            continue
        k = S.shape[0] - 1
        while k > 0 and col[k - 1]:
            k -= 1
        out.append(k + 1)
    return out


def neural_collapse(net: Network, data: Dataset, rel_tol: float = 1e-6) -> tuple[list[dict], list[int]]:
    """NC quantities at the input (layer 0), every hidden layer ℓ = 1..L and the output (layer
    L+1): a list of L + 2 dicts (``layer``, ``layer_kind`` 'input'/'hidden'/'output', the keys of
    :func:`nc_metrics`, ``n_collapsed`` classes with spread ≤ rel_tol), and the collapse layer of
    every class (layers 1..L+1)."""
    if not isinstance(data, Dataset):
        raise DlgeomInputError(f"data: expected a dlgeom.Dataset, got {type(data).__name__}")
    if data.n_classes != net.width:
        raise DlgeomInputError(f"data: has Q = {data.n_classes} but the network has width {net.width}")
    rel_tol = check_float(rel_tol, "rel_tol", low=0.0)
    feats = layer_features(net, data.X)
    decision = network_decision(feats[-1], data.Y)
    L = net.n_hidden
    rows = []
    for ell, H in enumerate([np.asarray(data.X, float)] + feats):
        m = nc_metrics(H, data.y, data.Y, decision, net.weights[-1] if ell == L else None)
        kind = "input" if ell == 0 else ("hidden" if ell <= L else "output")
        m.update(layer=ell, layer_kind=kind, n_collapsed=int(np.sum(np.asarray(m["spread"]) <= rel_tol)))
        rows.append(m)
    return rows, collapse_layers([r["spread"] for r in rows[1:]], rel_tol)


def separation_rate(fuzziness, zero=None) -> dict:
    """He & Su's law of data separation for one network: the least-squares line
    log D_ℓ = log D̂_0 + ℓ log ρ through the layers ℓ (0, 1, …: the index into ``fuzziness``) whose
    D_ℓ is finite, > 0 and not flagged in ``zero`` (a boolean per layer: D_ℓ is exactly 0 in exact
    arithmetic, e.g. every class collapsed, and only rounding is left).  Returns ``rho``,
    ``pearson_r`` (of ℓ and log D_ℓ over the fitted layers), ``n_layers_fitted`` and ``status``:
    'ok' (≥ 3 layers), 'two_layers' (ρ is exact, |r| = 1 by construction) or 'too_few_layers'
    (ρ and r NaN); r is NaN when every fitted D_ℓ is equal."""
    D = np.asarray(fuzziness, float).ravel()
    keep = np.isfinite(D) & (D > 0)
    if zero is not None:
        keep &= ~np.asarray(zero, bool).ravel()
    ell = np.flatnonzero(keep).astype(float)
    n = int(ell.size)
    if n < 2:
        return {"rho": float("nan"), "pearson_r": float("nan"), "n_layers_fitted": n, "status": "too_few_layers"}
    logd = np.log(D[keep])
    le, ld = ell - ell.mean(), logd - logd.mean()
    slope = float(le @ ld / (le @ le))
    denom = float(np.sqrt((le @ le) * (ld @ ld)))
    r = float(le @ ld / denom) if denom > 0 else float("nan")
    return {
        "rho": float(np.exp(slope)),
        "pearson_r": r,
        "n_layers_fitted": n,
        "status": "ok" if n >= 3 else "two_layers",
    }
