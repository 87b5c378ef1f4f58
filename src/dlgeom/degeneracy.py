"""Degeneracy probe (docs/mathematics.md §6): perturb every hidden unit, re-solve the output, watch the cost.

Each hidden unit's row (its weights and bias together) is moved by ε times its own norm in a
random direction.  While ε stays below the relative activation margin no pre-activation changes
sign, every class stays collapsed to one point, and the re-solved affine output fits the Q
points exactly: the cost stays zero.  Above it, classes start to split and the cost rises.
"""

from __future__ import annotations

import numpy as np

from .construct import output_lstsq
from .data import Dataset
from .network import CHUNK, Network, activation_margin, cost

__all__ = ["DEFAULT_EPS", "relative_margin", "row_directions", "perturb_hidden", "degeneracy_probe"]

DEFAULT_EPS = tuple(10.0 ** np.arange(-12, 0))


def relative_margin(net: Network, X: np.ndarray) -> float:
    """ε_safe: below this relative row perturbation no activation can flip (to first order in ε).

    A perturbation of unit k of layer ℓ by ε‖r_k‖ (r_k = [w_k, b_k]) changes its pre-activation at
    input h by at most ε‖r_k‖‖(h, 1)‖, plus ‖w_k‖ times the change ‖Δh‖ arriving from the layers
    below; ReLU does not increase changes, so ‖Δz^(ℓ)‖ ≤ ε a_ℓ with
    a_ℓ = ‖R_ℓ‖_F ‖(h, 1)‖ + ‖W_ℓ‖₂ a_{ℓ−1}, a_0 = 0.  ε_safe is the smallest |z_k| divided by its
    bound over layers, units and points.
    """
    best = np.inf
    for s in range(0, X.shape[0], CHUNK):
        H = X[s : s + CHUNK]
        a = np.zeros(H.shape[0])
        for W, b in zip(net.weights[:-1], net.biases[:-1]):
            Z = H @ W.T + b
            row_norm = np.sqrt(np.sum(W * W, axis=1) + b * b)
            h_norm = np.sqrt(np.einsum("ij,ij->i", H, H) + 1.0)
            bound = np.outer(h_norm, row_norm) + np.outer(a, np.linalg.norm(W, axis=1))
            best = min(best, float(np.min(np.abs(Z) / bound)))
            a = np.linalg.norm(row_norm) * h_norm + np.linalg.norm(W, 2) * a
            H = np.maximum(Z, 0.0)
    return best


def row_directions(net: Network, rng: np.random.Generator, layers=None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Random directions (dW, db) per layer, each unit's row [dw_k, db_k] uniformly random with the
    norm of that unit's row [w_k, b_k] ("row-normalised", as in filter-normalised slices).
    ``layers``: indices into the layers (default: all, output included)."""
    layers = range(len(net.weights)) if layers is None else layers
    out = []
    for i in layers:
        rows = np.hstack([net.weights[i], net.biases[i][:, None]])
        d = rng.standard_normal(rows.shape)
        d *= (np.linalg.norm(rows, axis=1) / np.linalg.norm(d, axis=1))[:, None]
        out.append((d[:, :-1], d[:, -1]))
    return out


def perturb_hidden(net: Network, eps: float, rng: np.random.Generator) -> Network:
    """Move every hidden unit's row [w_k, b_k] by ε‖[w_k, b_k]‖ in a uniformly random direction."""
    dirs = row_directions(net, rng, range(net.n_hidden))
    ws = tuple(W + eps * dW for W, (dW, _) in zip(net.weights, dirs)) + (net.weights[-1],)
    bs = tuple(b + eps * db for b, (_, db) in zip(net.biases, dirs)) + (net.biases[-1],)
    return Network(ws, bs)


def degeneracy_probe(net: Network, data: Dataset, eps=DEFAULT_EPS, n_draws: int = 3, seed=0) -> list[dict]:
    """Rows (eps, draw, cost, flips, margin, eps_safe, cost_unperturbed): the paper's C after a
    relative perturbation of all hidden parameters and an affine least-squares output.

    ``flips`` counts (layer, unit, point) activations that changed sign; ``margin`` is the
    absolute activation margin of ``net``; ``eps_safe`` is :func:`relative_margin`.
    """
    base_pattern = net.activation_pattern(data.X)
    margin = activation_margin(net, data.X)
    eps_safe = relative_margin(net, data.X)
    W, b, _ = output_lstsq(net, data, bias=True)
    base_cost = cost(net.with_output(W, b), data)
    seq = np.random.SeedSequence(seed)
    rows = []
    for e, child in zip(eps, seq.spawn(len(eps))):
        draws = child.spawn(n_draws)
        for d, grand in enumerate(draws):
            pert = perturb_hidden(net, float(e), np.random.default_rng(grand))
            W, b, _ = output_lstsq(pert, data, bias=True)
            flips = int(np.count_nonzero(pert.activation_pattern(data.X) != base_pattern))
            rows.append(
                {
                    "eps": float(e),
                    "draw": d,
                    "cost": cost(pert.with_output(W, b), data),
                    "flips": flips,
                    "margin": margin,
                    "eps_safe": eps_safe,
                    "cost_unperturbed": base_cost,
                }
            )
    return rows
