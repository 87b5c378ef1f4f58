"""Inputs in R^M with M ≥ Q (docs/mathematics.md §8, after arXiv 2405.07098): a Q-wide ReLU network whose
first layer is Q×M, the zero-cost construction for clustered data, clustered data in R^M, and
the project-then-construct comparison.  M = Q − 1 is reduced to M = Q by a zero coordinate
(:func:`construct_highdim`).

Setting
-------
Data x_{j,i} ∈ R^M (rows of ``X``), Q classes, targets Y ∈ R^{Q×Q} invertible: a
:class:`dlgeom.Dataset` whose ``Y`` states Q (M ≠ Q allowed).
Network: hidden layer 1 is σ(W_1 x + b_1) with W_1 ∈ R^{Q×M}; hidden layers 2..L are Q×Q; the
output is affine, Q×Q with a bias.  Cost: the class-balanced C of docs/mathematics.md §1.

Construction (Q + 1 hidden layers)
----------------------------------
1. *Subspace.*  P ∈ R^{Q×M} with orthonormal rows spanning V ⊇ span{x̄_j − x̄}: rows 1..Q−1 an
   orthonormal basis of the mean differences (they must have rank Q − 1, i.e. the means are
   affinely independent: A1 in R^M), row Q the unit direction u of the orthogonal complement
   with the least within-class scatter uᵀSu (any complement direction works; this one keeps
   the projected δ small).  For M = Q, V = R^Q.
2. *Embedding layer.*  A = O P and c = −A x̄ + β1, where O ∈ SO(Q) turns the normal n of the
   projected mean differences into û = u_Q/√Q, and β = max_i |A(x_i − x̄)|_∞ + max_j |x̄_j − x̄|.
   Every pre-activation is ≥ max_j |x̄_j − x̄| > 0 on the data, so σ acts as the identity and
   layer 1 is the truncation map with the pseudo-inverse, τ_{A,c}(x) = A⁺(σ(Ax + c) − c) = A⁺A x:
   the orthogonal projection onto V, seen in the coordinates z = Ax + c.  The projected means
   z̄_j = A(x̄_j − x̄) + β1 lie in the affine hyperplane ûᵀz = β√Q, which misses the origin, so the
   reduced matrix Z^red is invertible (A1 after projection).
3. *Collapse layers 2..Q+1.*  The R^Q construction of docs/mathematics.md §4 (:func:`dlgeom.construct_global`)
   on the projected data z.  It has zero cost whenever A1–A3 hold for z.  Projection can only
   help: A is an isometry on V, so the mean differences are unchanged, and |AΔx| ≤ |Δx|, so
   δ_V ≤ δ_M.  The cone angles θ_{*,j} depend only on the mean differences and δ, hence A2–A3
   in R^M (the same formulas with δ_M) imply A2–A3 for z.  Sufficient conditions for zero cost:
   the means are affinely independent and A2–A3 hold for the projected data.
4. *Output.*  The paper's (4.74) in z-coordinates, composed with the above.

``layers='fused'`` merges the embedding into the first collapse layer (W_1 ← W_1' A,
b_1 ← W_1' c + b_1'): Q hidden layers computing the same function on the data.

Apex.  Layer ℓ + 1 collapses class ℓ to p_ℓ = z̄_ℓ − μ_ℓ f_ℓ with μ_ℓ < 0, i.e. z̄_ℓ + |μ_ℓ| f_ℓ:
on the barycentre side of the class mean.  The follow-up writes the apex x̄_ℓ + μ_ℓ f_ℓ with
μ_ℓ ∈ (2δ, 3δ): the same side (only the sign convention of μ differs) but a much nearer apex than
§4's box (2δ√Q, D_eff).  ``mu='near'`` puts every apex at distance 2.5 δ_V (the middle of the
follow-up's box), ``mu='box'`` (default) uses §4's default μ.

Project-then-construct.  The comparison replaces V by the span of the top-Q principal
directions of the centred data (PCA, unsupervised) and runs the same steps.  PCA keeps the mean
differences only while they dominate the variance; when the noise in the extra M − Q
dimensions is larger, the projected means become (nearly) affinely dependent or the clusters
overlap.  Such a failure is a status ('singular'), not an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .construct import Construction, construct_global, rotation_to_diagonal
from .data import Dataset
from .geometry import assumptions, geometry
from .validation import (
    DlgeomInputError,
    as_float_array,
    check_choice,
    check_float,
    check_int,
    check_seed,
)

__all__ = [
    "CHUNK",
    "HighDimConstruction",
    "ReluNet",
    "captured_mean_energy",
    "class_cost",
    "construct_highdim",
    "embedding",
    "make_clustered_highdim",
    "network_cost",
    "subspace_means",
    "subspace_pca",
]

CHUNK = 1 << 15
#: Relative singular-value threshold below which projected mean differences count as rank deficient.
RANK_TOL = 1e-9


# ---- a general ReLU network -------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ReluNet:
    """ReLU network with rectangular layers: hidden H ↦ σ(H W_ℓᵀ + b_ℓ), affine output.

    ``weights[ℓ]`` has shape (n_ℓ, n_{ℓ−1}) (n_0 = input dimension); the last pair is the output
    layer.  Points are rows; passes run in chunks of :data:`CHUNK` rows.

    Unlike :class:`dlgeom.Network` (every layer Q×Q: the flat parameter layout, cumulative
    parameters and truncation maps of the paper) the widths are free: the SLS networks of
    :mod:`dlgeom.sequential` are M wide with a Q×M output layer.  The forward pass is the row
    layout ``H W_ℓᵀ`` (the committed R^M results are computed this way).
    """

    weights: tuple
    biases: tuple

    def __post_init__(self):
        if len(self.weights) != len(self.biases) or len(self.weights) < 2:
            raise DlgeomInputError(
                "weights/biases: need the same number (>= 2) of matrices and vectors, "
                f"got {len(self.weights)} and {len(self.biases)}"
            )
        ws, bs = [], []
        prev = None
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            w = as_float_array(w, f"weights[{i}]", 2, (None, prev))
            b = as_float_array(b, f"biases[{i}]", 1, (w.shape[0],))
            prev = w.shape[0]
            ws.append(w)
            bs.append(b)
        object.__setattr__(self, "weights", tuple(ws))
        object.__setattr__(self, "biases", tuple(bs))

    @property
    def in_dim(self) -> int:
        return self.weights[0].shape[1]

    @property
    def n_hidden(self) -> int:
        return len(self.weights) - 1

    @property
    def n_params(self) -> int:
        return int(sum(w.size + b.size for w, b in zip(self.weights, self.biases)))

    def _check_X(self, X) -> np.ndarray:
        return as_float_array(X, "X", 2, (None, self.in_dim))

    def forward(self, X) -> np.ndarray:
        """Outputs for every row of ``X``, shape (N, output dimension)."""
        X = self._check_X(X)
        out = np.empty((X.shape[0], self.weights[-1].shape[0]))
        for s in range(0, X.shape[0], CHUNK):
            H = X[s : s + CHUNK]
            for W, b in zip(self.weights[:-1], self.biases[:-1]):
                H = H @ W.T
                H += b
                np.maximum(H, 0.0, out=H)
            out[s : s + H.shape[0]] = H @ self.weights[-1].T + self.biases[-1]
        return out

    def activation_margin(self, X) -> float:
        """min |pre-activation| over hidden layers, units and points (distance to a kink)."""
        X = self._check_X(X)
        m = np.inf
        for s in range(0, X.shape[0], CHUNK):
            H = X[s : s + CHUNK]
            for W, b in zip(self.weights[:-1], self.biases[:-1]):
                Z = H @ W.T + b
                m = min(m, float(np.min(np.abs(Z))))
                H = np.maximum(Z, 0.0)
        return m


def class_cost(outputs: np.ndarray, y: np.ndarray, Y: np.ndarray) -> float:
    """C = sqrt(Σ_j (1/N_j) Σ_i |f(x_{j,i}) − y_j|²) from the outputs (rows) and labels."""
    q = Y.shape[0]
    counts = np.bincount(y, minlength=q).astype(float)
    R = outputs - Y.T[y]
    per_point = np.einsum("ij,ij->i", R, R)
    return float(np.sqrt(np.dot(per_point, 1.0 / counts[y])))


def network_cost(net: ReluNet, data: Dataset) -> float:
    """The class-balanced cost C of ``net`` on ``data``."""
    return class_cost(net.forward(data.X), data.y, data.Y)


# ---- clustered data in R^M --------------------------------------------------------------------


def make_clustered_highdim(
    q: int,
    m: int,
    n_per_class: int = 50,
    delta_ratio: float = 0.1,
    theta: float | None = None,
    perp_scale: float = 1.0,
    elongation: float = 5.0,
    seed=0,
) -> Dataset:
    """Clustered data in R^M: :func:`dlgeom.make_clustered`'s data in R^Q (same arguments) mapped
    by a random isometry U ∈ R^{M×Q} (orthonormal columns), plus noise in the M − Q orthogonal
    directions: Gaussian with axis scales from 1 down to 1/``elongation`` along random axes,
    centred per class and scaled so its largest norm is ``perp_scale`` · δ (δ of the R^Q data).
    The class means are exactly U x̄_j.  ``meta`` records the arguments, the seed and the
    realised ratios in R^Q and R^M.
    """
    from .synthetic import make_clustered

    q = check_int(q, "Q", minimum=2)
    m = check_int(m, "M", minimum=q)
    perp_scale = check_float(perp_scale, "perp_scale", low=0.0)
    elongation = check_float(elongation, "elongation", low=1.0)
    entropy = check_seed(seed)
    base = make_clustered(q, n_per_class, delta_ratio, theta, seed=entropy + [0])
    rng = np.random.default_rng(np.random.SeedSequence(entropy + [1]))
    full, _ = np.linalg.qr(rng.standard_normal((m, m)))
    U, comp = full[:, :q], full[:, q:]
    X = base.X @ U.T
    delta = base.meta["realised"]["delta"]
    if m > q and perp_scale > 0:
        k = m - q
        axes, _ = np.linalg.qr(rng.standard_normal((k, k)))
        scales = np.geomspace(1.0, 1.0 / elongation, k)
        noise = (rng.standard_normal((X.shape[0], k)) * scales) @ axes.T
        for j in range(q):
            rows = base.y == j
            noise[rows] -= noise[rows].mean(axis=0)
        noise *= perp_scale * delta / float(np.max(np.linalg.norm(noise, axis=1)))
        X = X + noise @ comp.T
    meta = {
        "generator": "dlgeom.highdim.make_clustered_highdim",
        "Q": q,
        "M": m,
        "n_per_class": base.meta["n_per_class"],
        "delta_ratio": float(delta_ratio),
        "theta": None if theta is None else float(theta),
        "perp_scale": perp_scale,
        "elongation": elongation,
        "seed": entropy,
        "r_Q": base.meta["realised"]["r"],
    }
    out = Dataset(X, base.y, base.Y, meta)
    out.meta["r_M"] = out.ratio
    return out


# ---- subspaces and the embedding layer ----------------------------------------------------------


def _within_scatter(data: Dataset) -> np.ndarray:
    """S = Σ_j (1/N_j) Σ_i Δx Δxᵀ, (M, M)."""
    dev = data.X - data.means[data.y]
    return (dev * (1.0 / data.counts[data.y])[:, None]).T @ dev


def subspace_means(data: Dataset) -> np.ndarray:
    """P (Q, M), orthonormal rows: a basis of span{x̄_j − x̄} (rows 1..Q−1), then the complement
    direction with the least within-class scatter.  Raises if the mean differences have rank
    < Q − 1 (the means are affinely dependent: no construction can separate them)."""
    q, m = data.n_classes, data.dim
    if m < q:
        raise DlgeomInputError(
            f"X: the construction needs M >= Q input dimensions, got M = {m} < Q = {q} "
            "(construct_highdim pads M = Q - 1)"
        )
    D = (data.means - data.barycenter).T  # (M, Q)
    U, s, _ = np.linalg.svd(D, full_matrices=True)
    if s[q - 2] <= RANK_TOL * s[0]:
        raise DlgeomInputError(
            "X: the class means are affinely dependent (rank of x̄_j − x̄ below Q − 1); A1 fails in R^M"
        )
    basis = U[:, : q - 1]
    comp = U[:, q - 1 :]  # (M, M − Q + 1)
    S = _within_scatter(data)
    _, vecs = np.linalg.eigh(comp.T @ S @ comp)
    u = comp @ vecs[:, 0]
    return np.vstack([basis.T, u / np.linalg.norm(u)])


def subspace_pca(data: Dataset) -> np.ndarray:
    """P (Q, M): the top-Q principal directions of the centred data (unsupervised)."""
    q, m = data.n_classes, data.dim
    if m < q:
        raise DlgeomInputError(f"X: projecting to Q dimensions needs M >= Q, got M = {m} < Q = {q}")
    centred = data.X - data.X.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return vt[:q]


def captured_mean_energy(data: Dataset, P: np.ndarray) -> float:
    """Σ_j |P(x̄_j − x̄)|² / Σ_j |x̄_j − x̄|²: the share of the mean spread a projection keeps."""
    D = data.means - data.barycenter
    return float(np.sum((D @ P.T) ** 2) / np.sum(D**2))


def embedding(data: Dataset, P: np.ndarray):
    """The embedding layer z = A x + c for a subspace P (Q, M) (module docstring, step 2).

    Returns (A, c, rank_ok): ``rank_ok`` is False when the projected mean differences have rank
    < Q − 1, in which case the projected class means are affinely dependent.
    """
    q = data.n_classes
    D = (data.means - data.barycenter) @ P.T  # rows: P(x̄_j − x̄)
    U, s, _ = np.linalg.svd(D.T)
    rank_ok = bool(s[0] > 0 and s[q - 2] > RANK_TOL * s[0])
    n = U[:, q - 1]
    A = rotation_to_diagonal(n / np.linalg.norm(n)) @ P
    dev = (data.X - data.barycenter) @ A.T
    spread = float(np.max(np.linalg.norm(data.means - data.barycenter, axis=1)))
    beta = float(np.max(np.abs(dev))) + spread
    c = -A @ data.barycenter + beta
    return A, c, rank_ok


# ---- the construction ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class HighDimConstruction:
    """Result of :func:`construct_highdim`.  ``status`` is 'ok' or 'singular' (the projected
    means are affinely dependent; ``network`` is then None)."""

    status: str
    network: ReluNet | None
    projection: str
    layers: str
    A: np.ndarray
    c: np.ndarray
    projected: Dataset | None
    inner: Construction | None
    message: str = ""

    def summary(self, data: Dataset) -> dict:
        """Cost, projected geometry and assumptions, as plain numbers."""
        out = {"status": self.status, "projection": self.projection, "layers": self.layers, "message": self.message}
        if self.status != "ok":
            return out
        geom = self.inner.geometry
        ass = assumptions(geom)
        out.update(
            cost=network_cost(self.network, data),
            n_hidden=self.network.n_hidden,
            n_params=self.network.n_params,
            r_V=float(geom.r),
            delta_V=float(geom.delta),
            theta_max_V=float(geom.theta_max),
            cond_zred=float(geom.cond_xred),
            all_hold=bool(ass.all_hold),
            A1=bool(ass.A1.holds),
            A2=bool(ass.A2.holds),
            A3=bool(ass.A3.holds),
            mu_in_box=bool(self.inner.mu_in_box),
            activation_margin=self.network.activation_margin(data.X),
        )
        return out


def _mu_for(mu, geom_delta: float, q: int):
    if isinstance(mu, str):
        check_choice(mu, "mu", ("box", "near"))
        return None if mu == "box" else np.full(q, -2.5 * geom_delta)
    return as_float_array(mu, "mu", 1, (q,))


def _padded(data: Dataset) -> Dataset:
    """``data`` in R^{Q−1} embedded in R^Q by a zero last coordinate (an isometry)."""
    X = np.hstack([data.X, np.zeros((data.X.shape[0], 1))])
    return Dataset(X, data.y, data.Y, dict(data.meta))


def _unpadded(con: HighDimConstruction, m: int) -> HighDimConstruction:
    """The construction of the padded data as a network on R^M: the first layer drops the weight
    column of the zero coordinate (it only ever multiplies 0)."""
    A = con.A[:, :m]
    if con.network is None:
        return replace(con, A=A)
    weights = (con.network.weights[0][:, :m],) + con.network.weights[1:]
    return replace(con, A=A, network=ReluNet(weights, con.network.biases))


def construct_highdim(
    data: Dataset,
    projection: str = "means",
    layers: str = "embed",
    mu="box",
    n_layers: int | None = None,
    use_D: str = "eff",
    theta0: float | None = None,
) -> HighDimConstruction:
    """Zero-cost construction for clustered data in R^M, M ≥ Q − 1 (module docstring).

    ``projection``: 'means' (the construction proper: V ⊇ span of the mean differences) or
    'pca' (project-then-construct).  ``layers``: 'embed' (Q + 1 hidden layers: embedding, then
    one collapse per class) or 'fused' (Q hidden layers).  ``mu``: 'box' (§4's default μ),
    'near' (apex at distance 2.5 δ_V, the follow-up's box) or an array of Q values (μ_j < 0).
    ``n_layers``, ``use_D``, ``theta0``: passed to :func:`dlgeom.construct_global` for the
    collapse layers (None: Q collapse layers).

    M = Q − 1 (``projection='means'`` only): Q affinely independent means need at least Q − 1
    dimensions, and R^{Q−1} sits in R^Q isometrically (a zero last coordinate), so the data are
    padded, the construction is built in R^Q and its first layer keeps the weights of the Q − 1
    real inputs.  M < Q − 1 is an error: the means are then always affinely dependent.
    """
    if not isinstance(data, Dataset):
        raise DlgeomInputError(f"data: expected a dlgeom.Dataset, got {type(data).__name__}")
    check_choice(projection, "projection", ("means", "pca"))
    check_choice(layers, "layers", ("embed", "fused"))
    q = data.n_classes
    if data.dim < q - 1:
        raise DlgeomInputError(
            f"X: the construction needs M >= Q - 1 input dimensions (Q affinely independent "
            f"class means), got M = {data.dim} with Q = {q} classes"
        )
    if projection == "means" and data.dim == q - 1:
        return _unpadded(construct_highdim(_padded(data), projection, layers, mu, n_layers, use_D, theta0), data.dim)
    P = subspace_means(data) if projection == "means" else subspace_pca(data)
    A, c, rank_ok = embedding(data, P)
    if not rank_ok:
        return HighDimConstruction(
            "singular", None, projection, layers, A, c, None, None, "projected class means are affinely dependent"
        )
    Z = data.X @ A.T + c
    zdata = Dataset(Z, data.y, data.Y, {"projection": projection})
    try:
        geom = geometry(zdata, theta0)
        mu_arr = _mu_for(mu, geom.delta, q)
        inner = construct_global(
            zdata, q if n_layers is None else n_layers, mu_arr, use_D=use_D, geom=geom, strict_mu=False
        )
    except DlgeomInputError as exc:  # singular projected X^red: a status, not a crash
        if "must be invertible" not in str(exc):
            raise
        return HighDimConstruction("singular", None, projection, layers, A, c, zdata, None, str(exc))
    net = inner.network
    Ws, bs = list(net.weights), list(net.biases)
    if layers == "embed":
        weights = [A] + Ws
        biases = [c] + bs
    else:
        weights = [Ws[0] @ A] + Ws[1:]
        biases = [Ws[0] @ c + bs[0]] + bs[1:]
    return HighDimConstruction("ok", ReluNet(tuple(weights), tuple(biases)), projection, layers, A, c, zdata, inner)
