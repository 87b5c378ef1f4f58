"""The metric the constructed network induces on input space, and its classifier [P 2.61–2.68].

d(x, x') = |Y X^red[μ]^{-1}(x − x')|.  A point is classified by truncating it, x ↦ T_L(x), and
taking the nearest collapsed class point p_j = x̄_j − μ_j f_j in that metric; with the paper's
output layer this is the same as the network's own rule argmin_j |f(x) − y_j|.

The scikit-learn estimator built on these functions is :class:`dlgeom.estimator.TruncationClassifier`
(a separate module, so that study jobs do not pay for importing scikit-learn).
"""

from __future__ import annotations

import numpy as np

from .construct import Construction
from .highdim import HighDimConstruction
from .network import curate
from .validation import as_float_array

__all__ = ["metric_matrix", "induced_distance", "predict_metric", "predict_network"]


def metric_matrix(con: Construction, Y: np.ndarray) -> np.ndarray:
    """M = Y X^red[μ]^{-1}, so that d(x, x') = |M(x − x')|."""
    return np.linalg.solve(con.apexes, Y.T).T


def induced_distance(con: Construction, Y: np.ndarray, X1, X2) -> np.ndarray:
    """d(x, x') for matching rows of X1 and X2 (broadcasting), shape (N,)."""
    M = metric_matrix(con, Y)
    diff = np.atleast_2d(np.asarray(X1, float) - np.asarray(X2, float))
    return np.linalg.norm(diff @ M.T, axis=1)


def predict_metric(con: Construction | HighDimConstruction, Y: np.ndarray, X) -> np.ndarray:
    """argmin_j d(T_L(x), p_j) for every row of X.  For a construction on inputs in R^M
    (:func:`dlgeom.highdim.construct_highdim`) x is first mapped by the embedding layer,
    z = σ(Ax + c), and the rule is that of the collapse layers' construction on z."""
    if isinstance(con, HighDimConstruction):
        X = as_float_array(X, "X", 2, (None, con.A.shape[1]))
        X = np.maximum(X @ con.A.T + con.c, 0.0)
        con = con.inner
    X = as_float_array(X, "X", 2, (None, con.network.width))
    M = metric_matrix(con, Y)
    T = curate(con.network, X) @ M.T
    P = con.apexes @ M.T
    d2 = np.einsum("ij,ij->i", T, T)[:, None] - 2 * T @ P.T + np.einsum("ij,ij->i", P, P)[None, :]
    return np.argmin(d2, axis=1)


def predict_network(con: Construction | HighDimConstruction, Y: np.ndarray, X) -> np.ndarray:
    """The network's rule argmin_j |f(x) − y_j| (any construction with a ``network``)."""
    out = con.network.forward(X)
    d2 = np.einsum("ij,ij->i", out, out)[:, None] - 2 * out @ Y + np.einsum("ij,ij->j", Y, Y)[None, :]
    return np.argmin(d2, axis=1)
