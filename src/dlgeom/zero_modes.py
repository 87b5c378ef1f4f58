"""The flat directions the paper predicts at a constructed minimum, and how much of the Hessian's
null space they explain (docs/mathematics.md §6).

The paper names the μ-box and one positive rescaling per layer (**layer_rescaling**,
[P 2.66]); the other families are our extensions.  Families of parameter directions that leave
the cost of a constructed network unchanged:

* **rescaling** — per hidden unit, scale its incoming row [w_k, b_k] by c > 0 and the next
  layer's column k by 1/c (an exact symmetry of ReLU networks) [P 2.66];
* **mu** — move μ_j inside its box, with the output layer re-solved (the paper's formula for the
  global minimiser, least squares for a pattern);
* **rotation** — replace R_ℓ by G R_ℓ with G ∈ SO(Q), G û = û (the freedom in step 2 of the
  construction).  Because W_* commutes with G and G u_Q = u_Q, this is
  (W^(ℓ), b^(ℓ)) → (G W^(ℓ), G b^(ℓ)) on the cumulative parameters;
* **theta0** — the margin θ_0 of θ_* = θ_0 + max_j θ_{*,j} (W_* depends on it when θ_* > θ_Q);
* **output** (zero-cost points only) — the affine output maps that still send the Q collapsed
  hidden points to their targets: δW = a nᵀ, δb = −a nᵀ z_1 with n normal to their affine hull.

Directions are tangents of these curves, by central differences of the whole parameter vector.
:func:`null_space_report` compares them with the numerical null space of a Hessian.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.linalg import expm

from .construct import Construction, hidden_cumulative, output_lstsq, output_paper
from .data import Dataset
from .network import Network

__all__ = [
    "rescaling_directions",
    "layer_rescaling_directions",
    "construction_directions",
    "predicted_directions",
    "null_space_report",
]


def rescaling_directions(net: Network) -> np.ndarray:
    """One tangent per hidden unit of its positive rescaling, as columns, shape (P, L·Q)."""
    q, L = net.width, net.n_hidden
    cols = []
    zero = [np.zeros_like(w) for w in net.weights], [np.zeros_like(b) for b in net.biases]
    for ell in range(L):
        for k in range(q):
            dw, db = [w.copy() for w in zero[0]], [b.copy() for b in zero[1]]
            dw[ell][k] = net.weights[ell][k]
            db[ell][k] = net.biases[ell][k]
            dw[ell + 1][:, k] = -net.weights[ell + 1][:, k]
            cols.append(Network(tuple(dw), tuple(db)).to_flat())
    return np.array(cols).T


def layer_rescaling_directions(net: Network) -> np.ndarray:
    """One tangent per hidden layer ℓ: scale layer ℓ by c > 0 and the next layer's weights by
    1/c (the paper's rescaling [P 2.66], one scalar per layer; the sum of that layer's per-unit
    directions of :func:`rescaling_directions`), as columns, shape (P, L)."""
    per_unit = rescaling_directions(net)
    q, L = net.width, net.n_hidden
    return np.stack([per_unit[:, ell * q : (ell + 1) * q].sum(axis=1) for ell in range(L)], axis=1)


def _rotation_generators(q: int) -> list[np.ndarray]:
    """A basis of so(Q) restricted to û^⊥: antisymmetric A with A û = 0, (Q−1)(Q−2)/2 of them."""
    u = np.full(q, 1.0 / np.sqrt(q))
    basis = np.linalg.svd(np.eye(q) - np.outer(u, u))[0][:, : q - 1]  # orthonormal basis of û^⊥
    gens = []
    for a in range(q - 1):
        for b in range(a + 1, q - 1):
            gens.append(np.outer(basis[:, a], basis[:, b]) - np.outer(basis[:, b], basis[:, a]))
    return gens


def _builder(con: Construction, data: Dataset):
    """params(μ, rotations) → flat parameter vector of the construction's family; ``rotations``
    maps a layer ℓ (0-based, ℓ < Q) to G ∈ SO(Q) fixing û (extra layers follow layer Q−1)."""
    geom, L = con.geometry, con.network.n_hidden
    q = geom.n_classes

    def build(mu, rotations=None, dtheta=0.0):
        g = dataclasses.replace(geom, theta_star=geom.theta_star + dtheta) if dtheta else geom
        Wc, bc = hidden_cumulative(g, mu, L)
        for ell, G in (rotations or {}).items():
            layers = range(ell, L) if ell == q - 1 else (ell,)
            for m in layers:
                Wc[m], bc[m] = G @ Wc[m], G @ bc[m]
        if con.output == "paper":
            W_out, b_out = output_paper(geom, data.Y, mu, Wc[-1], bc[-1], con.pattern)
            return Network.from_cumulative(Wc, bc, W_out, b_out).to_flat()
        hidden = Network.from_cumulative(Wc, bc, np.eye(q), np.zeros(q))
        W_out, b_out, _ = output_lstsq(hidden, data, bias=(con.output == "lstsq_affine"))
        return hidden.with_output(W_out, b_out).to_flat()

    return build


def construction_directions(con: Construction, data: Dataset, h: float = 1e-6) -> dict[str, np.ndarray]:
    """Tangents of the μ-, rotation and θ_0 families at ``con`` (columns), by central differences with
    a step h relative to the scale of μ."""
    build = _builder(con, data)
    q = con.geometry.n_classes
    mu = np.asarray(con.mu, float)
    step = h * max(1.0, float(np.max(np.abs(mu))))
    mu_dirs = []
    for j in range(q):
        e = np.zeros(q)
        e[j] = step
        mu_dirs.append((build(mu + e) - build(mu - e)) / (2 * step))
    rot_dirs = []
    for ell in range(q):
        for A in _rotation_generators(q):
            rot_dirs.append((build(mu, {ell: expm(h * A)}) - build(mu, {ell: expm(-h * A)})) / (2 * h))
    theta_dir = (build(mu, dtheta=h) - build(mu, dtheta=-h)) / (2 * h)
    P = con.network.n_params
    as_cols = lambda vs: np.array(vs).T if vs else np.zeros((P, 0))  # noqa: E731
    return {
        "mu": as_cols(mu_dirs),
        "rotation": as_cols(rot_dirs),
        "theta0": as_cols([theta_dir] if np.linalg.norm(theta_dir) > 0 else []),
    }


def output_directions(net: Network, points_hidden: np.ndarray) -> np.ndarray:
    """The output-layer family at a zero-cost point: hidden class points z_j as rows (Q, Q);
    returns Q columns (one per output coordinate a = e_i), zero when the z_j are affinely
    dependent on a lower-dimensional hull (then there are more)."""
    q = net.width
    diffs = points_hidden[1:] - points_hidden[0]
    n = np.linalg.svd(diffs)[2][-1]  # normal of the affine hull
    cols = []
    for i in range(q):
        dw = [np.zeros_like(w) for w in net.weights]
        db = [np.zeros_like(b) for b in net.biases]
        dw[-1][i] = n
        db[-1][i] = -n @ points_hidden[0]
        cols.append(Network(tuple(dw), tuple(db)).to_flat())
    return np.array(cols).T


def predicted_directions(con: Construction, data: Dataset, zero_cost: bool) -> dict[str, np.ndarray]:
    """Every predicted family's tangents at ``con`` (columns), keyed by family name."""
    out = {
        "layer_rescaling": layer_rescaling_directions(con.network),
        "rescaling": rescaling_directions(con.network),
        **construction_directions(con, data),
    }
    if zero_cost:
        net = con.network
        z = np.array([net.last_hidden(data.X[data.y == j][:1])[0] for j in range(net.width)])
        out["output"] = output_directions(net, z)
    return out


def _orthonormal(M: np.ndarray, rel_tol: float = 1e-8) -> np.ndarray:
    if M.shape[1] == 0:
        return M
    norms = np.linalg.norm(M, axis=0)
    M = M[:, norms > 0] / norms[norms > 0]
    if M.shape[1] == 0:
        return M
    U, s, _ = np.linalg.svd(M, full_matrices=False)
    return U[:, s > rel_tol * s[0]] if s.size and s[0] > 0 else M[:, :0]


def null_space_report(
    H: np.ndarray, directions: dict[str, np.ndarray], rel_tol: float = 1e-8, cos_tol: float = 1e-6
) -> dict:
    """How the predicted directions sit in the numerical null space of the symmetric matrix H
    (eigenvalues within rel_tol × the largest |eigenvalue|).

    Per family: ``n_<family>`` directions, their rank, and how many independent ones lie in the
    null space (principal-angle cosines ≥ 1 − cos_tol).  Overall: the null dimension, the rank
    of all predicted directions together, the dimension they explain, and the rest.
    """
    ev, V = np.linalg.eigh(H)
    tol = rel_tol * max(float(np.max(np.abs(ev))), 1e-300)
    N = V[:, np.abs(ev) <= tol]

    def explained(S):
        if S.shape[1] == 0 or N.shape[1] == 0:
            return 0
        return int(np.sum(np.linalg.svd(N.T @ S, compute_uv=False) >= 1 - cos_tol))

    out = {"null_dim": int(N.shape[1])}
    all_dirs = []
    for name, D in directions.items():
        S = _orthonormal(D)
        out[f"n_{name}"] = int(D.shape[1])
        out[f"rank_{name}"] = int(S.shape[1])
        out[f"in_null_{name}"] = explained(S)
        all_dirs.append(D)
    S_all = _orthonormal(np.hstack(all_dirs)) if all_dirs else np.zeros((H.shape[0], 0))
    out["rank_predicted"] = int(S_all.shape[1])
    out["explained"] = explained(S_all)
    out["unexplained"] = out["null_dim"] - out["explained"]
    return out
