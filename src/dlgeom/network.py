"""The Q-wide ReLU network, its cost and gradient, and the truncation map (docs/mathematics.md §1–§2).

Layout: points are rows.  A hidden layer maps rows ``H ↦ σ(H W_ℓᵀ + b_ℓ)``; the output layer is
affine with no activation.  The paper writes the same maps on columns (X^(ℓ) = σ(W_ℓ X^(ℓ−1) +
b_ℓ 1ᵀ)); the matrices ``W_ℓ`` are the paper's, unchanged.

Passes over the data run in chunks of rows, so memory stays near the size of the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import Dataset
from .validation import DlgeomInputError, as_float_array, check_int

__all__ = [
    "Network",
    "relu",
    "truncate",
    "curate",
    "cost",
    "cost_sq",
    "cost_and_grad",
    "activation_margin",
    "CHUNK",
]

CHUNK = 1 << 16


def relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0)


@dataclass(frozen=True, eq=False)
class Network:
    """Parameters of a ReLU network with L hidden layers of width Q and an affine output.

    ``weights[ℓ]`` and ``biases[ℓ]`` for ℓ = 0..L−1 are the hidden layers W_{ℓ+1}, b_{ℓ+1};
    ``weights[L]``, ``biases[L]`` the output layer W_{L+1}, b_{L+1}.  (L+1)(Q²+Q) parameters.
    """

    weights: tuple
    biases: tuple

    def __post_init__(self):
        if len(self.weights) != len(self.biases) or len(self.weights) < 2:
            raise DlgeomInputError(
                "weights/biases: need the same number (L+1 >= 2) of weight matrices and bias vectors, "
                f"got {len(self.weights)} and {len(self.biases)}"
            )
        q = np.asarray(self.weights[0]).shape[-1] if np.ndim(self.weights[0]) == 2 else None
        if q is None:
            raise DlgeomInputError("weights[0]: expected a square (Q, Q) matrix")
        ws = tuple(as_float_array(w, f"weights[{i}]", 2, (q, q)) for i, w in enumerate(self.weights))
        bs = tuple(as_float_array(b, f"biases[{i}]", 1, (q,)) for i, b in enumerate(self.biases))
        object.__setattr__(self, "weights", ws)
        object.__setattr__(self, "biases", bs)

    # ---- shape -------------------------------------------------------------------------
    @property
    def width(self) -> int:
        """Q."""
        return self.weights[0].shape[0]

    @property
    def n_hidden(self) -> int:
        """L, the number of hidden layers."""
        return len(self.weights) - 1

    @property
    def n_params(self) -> int:
        q = self.width
        return (self.n_hidden + 1) * (q * q + q)

    # ---- flat vector ---------------------------------------------------------------------
    def to_flat(self) -> np.ndarray:
        """All parameters in one vector: [W_1.ravel(), b_1, …, W_{L+1}.ravel(), b_{L+1}]."""
        return np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(self.weights, self.biases)])

    @classmethod
    def from_flat(cls, vec, width: int, n_hidden: int) -> "Network":
        q = check_int(width, "width", minimum=1)
        L = check_int(n_hidden, "n_hidden", minimum=1)
        vec = as_float_array(vec, "vec", 1, ((L + 1) * (q * q + q),))
        block = q * q + q
        ws, bs = [], []
        for i in range(L + 1):
            chunk = vec[i * block : (i + 1) * block]
            ws.append(chunk[: q * q].reshape(q, q))
            bs.append(chunk[q * q :])
        return cls(tuple(ws), tuple(bs))

    @classmethod
    def _from_flat_unchecked(cls, vec: np.ndarray, width: int, n_hidden: int) -> "Network":
        """Views into a trusted float64 vector, no validation: the optimisers' hot path."""
        q, block = width, width * width + width
        net = object.__new__(cls)
        object.__setattr__(
            net, "weights", tuple(vec[i * block : i * block + q * q].reshape(q, q) for i in range(n_hidden + 1))
        )
        object.__setattr__(net, "biases", tuple(vec[i * block + q * q : (i + 1) * block] for i in range(n_hidden + 1)))
        return net

    @classmethod
    def _trusted(cls, weights, biases) -> "Network":
        """A network from float64 arrays of the right shapes, no validation or copies: for the
        constructions' own computed layers (validation costs more than the rest at small N)."""
        net = object.__new__(cls)
        object.__setattr__(net, "weights", tuple(weights))
        object.__setattr__(net, "biases", tuple(biases))
        return net

    def with_output(self, W, b) -> "Network":
        """The same hidden layers with a new output layer (validated: a finite (Q, Q) matrix and
        (Q,) vector; the hidden layers are this network's, kept as they are)."""
        q, n = self.width, len(self.weights) - 1
        W = as_float_array(W, f"weights[{n}]", 2, (q, q))
        b = as_float_array(b, f"biases[{n}]", 1, (q,))
        return Network._trusted(self.weights[:-1] + (W,), self.biases[:-1] + (b,))

    # ---- cumulative parameters [P 2.43, 2.45] -------------------------------------------
    def cumulative(self) -> tuple[list, list]:
        """W^(ℓ) = W_ℓ⋯W_1 and b^(ℓ) = W_ℓ b^(ℓ−1) + b_ℓ for ℓ = 1..L."""
        Wc, bc = [], []
        W, b = np.eye(self.width), np.zeros(self.width)
        for Wl, bl in zip(self.weights[:-1], self.biases[:-1]):
            W, b = Wl @ W, Wl @ b + bl
            Wc.append(W)
            bc.append(b)
        return Wc, bc

    @classmethod
    def from_cumulative(cls, Wc, bc, W_out, b_out) -> "Network":
        """Inverse map [P 2.45]: W_ℓ = W^(ℓ)(W^(ℓ−1))^{-1}, b_ℓ = b^(ℓ) − W_ℓ b^(ℓ−1)."""
        q = np.asarray(Wc[0]).shape[0]
        ws, bs = [], []
        W_prev, b_prev = np.eye(q), np.zeros(q)
        for W, b in zip(Wc, bc):
            Wl = np.linalg.solve(W_prev.T, np.asarray(W, float).T).T
            ws.append(Wl)
            bs.append(np.asarray(b, float) - Wl @ b_prev)
            W_prev, b_prev = np.asarray(W, float), np.asarray(b, float)
        return cls(tuple(ws) + (W_out,), tuple(bs) + (b_out,))

    # ---- evaluation ------------------------------------------------------------------------
    def _check_X(self, X) -> np.ndarray:
        return as_float_array(X, "X", 2, (None, self.width))

    def _hidden_chunks(self, X):
        """Yield (start row, X^(L) of that chunk of rows in column layout, shape (Q, n)).

        Inside, points are columns (the paper's layout): adding a bias and applying σ then run
        along the long axis, which is about twice as fast as the row layout for small Q."""
        for s in range(0, X.shape[0], CHUNK):
            H = X[s : s + CHUNK].T
            for W, b in zip(self.weights[:-1], self.biases[:-1]):
                H = W @ H
                H += b[:, None]
                np.maximum(H, 0.0, out=H)
            yield s, H

    def last_hidden(self, X) -> np.ndarray:
        """X^(L) (rows), shape (N, Q)."""
        X = self._check_X(X)
        out = np.empty_like(X)
        for s, H in self._hidden_chunks(X):
            out[s : s + H.shape[1]] = H.T
        return out

    def forward(self, X) -> np.ndarray:
        """Network output X^(L+1) for every row of X, shape (N, Q)."""
        X = self._check_X(X)
        out = np.empty_like(X)
        W_out, b_out = self.weights[-1], self.biases[-1]
        for s, H in self._hidden_chunks(X):
            O = W_out @ H
            O += b_out[:, None]
            out[s : s + H.shape[1]] = O.T
        return out

    def preactivations(self, X) -> list[np.ndarray]:
        """Pre-activations H_{ℓ−1}W_ℓᵀ + b_ℓ of every hidden layer, a list of L arrays (N, Q)."""
        H = self._check_X(X)
        pre = []
        for W, b in zip(self.weights[:-1], self.biases[:-1]):
            Z = H @ W.T + b
            pre.append(Z)
            H = relu(Z)
        return pre

    def activation_pattern(self, X) -> np.ndarray:
        """Boolean (L, N, Q): which hidden units are active (pre-activation > 0)."""
        return np.stack([z > 0 for z in self.preactivations(X)])


def activation_margin(net: Network, X) -> float:
    """m = min |pre-activation| over hidden layers, units and points (the distance to a kink)."""
    X = net._check_X(X)
    m = np.inf
    for s in range(0, X.shape[0], CHUNK):
        H = X[s : s + CHUNK]
        for W, b in zip(net.weights[:-1], net.biases[:-1]):
            Z = H @ W.T + b
            m = min(m, float(np.min(np.abs(Z))))
            H = np.maximum(Z, 0.0)
    return m


# ---- truncation maps [P Def 2.1] --------------------------------------------------------------


def truncate(X, W, b) -> np.ndarray:
    """τ_{W,b}(x) = W^{-1}(σ(Wx + b) − b) on every row of X.

    Identity on the forward cone p + W^{-1}R^Q_+, constant (the apex p = −W^{-1}b) on the
    backward cone p + W^{-1}R^Q_−.
    """
    X = as_float_array(X, "X", 2)
    W = as_float_array(W, "W", 2, (X.shape[1], X.shape[1]))
    b = as_float_array(b, "b", 1, (X.shape[1],))
    return _truncate(X, W, b)


def _truncate(X: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:func:`truncate` of checked float64 arrays."""
    Z = relu(X @ W.T + b) - b
    return np.linalg.solve(W, Z.T).T


def curate(net: Network, X, layers: int | None = None) -> np.ndarray:
    """T_ℓ(X) = τ_{W^(ℓ),b^(ℓ)} ∘ ⋯ ∘ τ_{W^(1),b^(1)}(X) in input space [P 2.43], ℓ = ``layers``
    (default L).  Satisfies X^(ℓ) = T_ℓ(X) W^(ℓ)ᵀ + b^(ℓ)."""
    Wc, bc = net.cumulative()
    L = net.n_hidden if layers is None else check_int(layers, "layers", 0, net.n_hidden)
    T = net._check_X(X)
    for W, b in zip(Wc[:L], bc[:L]):
        T = _truncate(T, W, b)  # the network's own float64 layers: checked when it was built
    return T


# ---- cost [P 2.35–2.36] and its gradient --------------------------------------------------


def _check_data(net: Network, data: Dataset) -> None:
    if not isinstance(data, Dataset):
        raise DlgeomInputError(f"data: expected a dlgeom.Dataset, got {type(data).__name__}")
    if data.n_classes != net.width:
        raise DlgeomInputError(f"data: has Q = {data.n_classes} but the network has width {net.width}")
    if data.dim != net.width:
        raise DlgeomInputError(
            f"data: has M = {data.dim} feature columns but the network's input dimension is {net.width}"
        )


def cost_sq(net: Network, data: Dataset) -> float:
    """C² = Σ_j (1/N_j) Σ_i |x^(L+1)_{j,i} − y_j|² (class-balanced, no ½)."""
    _check_data(net, data)
    W_out, b_out = net.weights[-1], net.biases[-1]
    Y, inv_counts = data.Y, 1.0 / data.counts
    total = 0.0
    for s, H in net._hidden_chunks(data.X):
        labels = data.y[s : s + H.shape[1]]
        R = W_out @ H
        R += b_out[:, None]
        R -= Y[:, labels]
        total += float(np.dot(np.einsum("ij,ij->j", R, R), inv_counts[labels]))
    return total


_WORKSPACE: dict = {}


def _workspace(L: int, q: int, n: int) -> np.ndarray:
    """Reused scratch arrays for :func:`cost_and_grad`: L hidden activations, the residual, the
    back-propagated signal (two, alternating), and a mask, each (Q, n).  Reusing them avoids
    fresh allocations of Q×n floats on every call (page faults dominate at small Q), which is the
    optimisers' hot path.  Not thread-safe."""
    key = (L, q, n)
    ws = _WORKSPACE.get(key)
    if ws is None:
        if len(_WORKSPACE) > 8:
            _WORKSPACE.clear()
        ws = _WORKSPACE[key] = np.empty((L + 5, q, n))
    return ws


def cost(net: Network, data: Dataset) -> float:
    """The paper's cost C = sqrt(C²), a class-balanced norm [P 2.35]."""
    return float(np.sqrt(cost_sq(net, data)))


def cost_and_grad(net: Network, data: Dataset) -> tuple[float, np.ndarray]:
    """C² and its analytic gradient (backpropagation) as a flat vector like ``net.to_flat()``.

    The ReLU derivative is taken as 0 at the kink.  Work is chunked over the data.
    """
    _check_data(net, data)
    L, q = net.n_hidden, net.width
    gW = [np.zeros((q, q)) for _ in range(L + 1)]
    gb = [np.zeros(q) for _ in range(L + 1)]
    total = 0.0
    X, T, w = data.X, data.targets_columns, data.weights
    for s in range(0, X.shape[0], CHUNK):
        n = min(CHUNK, X.shape[0] - s)
        buf = _workspace(L, q, n)
        acts = [X[s : s + n].T]  # column layout (Q, n), see Network._hidden_chunks
        for ell, (W, b) in enumerate(zip(net.weights[:-1], net.biases[:-1])):
            Z = np.matmul(W, acts[-1], out=buf[ell])
            Z += b[:, None]
            np.maximum(Z, 0.0, out=Z)  # H = σ(Z); H > 0 exactly where Z > 0
            acts.append(Z)
        R = np.matmul(net.weights[-1], acts[-1], out=buf[L])
        R += net.biases[-1][:, None]
        R -= T[:, s : s + n]
        G = np.multiply(R, 2.0 * w[s : s + n], out=buf[L + 1])
        total += 0.5 * float(np.vdot(G, R))
        mask = buf[L + 2]
        for layer in range(L, -1, -1):
            gW[layer] += G @ acts[layer].T
            gb[layer] += G.sum(axis=1)
            if layer:
                G = np.matmul(net.weights[layer].T, G, out=buf[L + 3 + layer % 2])  # alternate buffers
                np.greater(acts[layer], 0.0, out=mask)
                G *= mask
    grad = np.concatenate([np.concatenate([a.ravel(), c]) for a, c in zip(gW, gb)])
    return total, grad
