"""One extra neuron: function-preserving embeddings of a width-Q network into width Q + 1 and a
test whether a descent direction opens at the same cost.

The Q-wide network of docs/mathematics.md §1 (:class:`dlgeom.Network`) has square layers.  Here
:class:`WideNet` is the same network with any hidden widths (input and output stay Q): layer k
maps rows ``H ↦ σ(H W_kᵀ + b_k)`` with W_k of shape (n_k, n_{k−1}); the output is affine.  The
cost is the class-balanced C² of [P 2.35–2.36].

Embeddings into hidden width Q + 1 (every hidden layer gains one unit; the function on every input
is unchanged):

* ``zero``: the new unit of layer k has zero incoming weights and bias and zero outgoing weights
  (its pre-activation sits on the ReLU kink everywhere);
* ``zero_out``: the new unit has a given (e.g. random) incoming row and bias and zero outgoing
  weights, so it is smooth where its pre-activation is away from 0;
* ``split``: unit u_k of layer k is duplicated (same incoming row and bias) and its outgoing column
  c is shared as α_k c and (1 − α_k) c with α_k ∈ (0, 1) (positive split weights).

:func:`escape_test` then looks for a lower cost near the embedded point: the gradient, the Hessian
of C² (central differences of the analytic gradient, steps below the activation margin; only
where the point is smooth), random-direction probes like the landscape stage's, and finally a
short L-BFGS run.  The result is data (:class:`EscapeResult`), never an exception.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from .data import Dataset
from .network import Network
from .validation import DlgeomInputError, as_float_array, check_choice, check_float, check_int

__all__ = [
    "WideNet",
    "EMBEDDINGS",
    "EscapeResult",
    "embed",
    "embed_zero",
    "embed_zero_out",
    "embed_split",
    "wide_cost_sq",
    "wide_cost_and_grad",
    "escape_test",
    "ESCAPE_REL",
    "DESCENT_REL",
]

EMBEDDINGS = ("zero", "zero_out", "split")
#: cost_after < cost_before (1 − ESCAPE_REL) counts as escaped.
ESCAPE_REL = 1e-6
#: a relative change of C² below −DESCENT_REL counts as a descent step found.
DESCENT_REL = 1e-9


@dataclass(frozen=True, eq=False)
class WideNet:
    """A ReLU network with hidden layers of any width: ``weights[k]`` (n_k, n_{k−1}) and
    ``biases[k]`` (n_k,) for k = 0..L (the last pair is the affine output)."""

    weights: tuple
    biases: tuple

    def __post_init__(self):
        if len(self.weights) != len(self.biases) or len(self.weights) < 2:
            raise DlgeomInputError("weights/biases: need the same number (L+1 >= 2) of matrices and vectors")
        ws, bs, prev = [], [], None
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            w = as_float_array(w, f"weights[{i}]", 2, (None, prev))
            ws.append(w)
            bs.append(as_float_array(b, f"biases[{i}]", 1, (w.shape[0],)))
            prev = w.shape[0]
        object.__setattr__(self, "weights", tuple(ws))
        object.__setattr__(self, "biases", tuple(bs))

    @classmethod
    def from_network(cls, net: Network) -> "WideNet":
        return cls(tuple(w.copy() for w in net.weights), tuple(b.copy() for b in net.biases))

    @property
    def n_hidden(self) -> int:
        return len(self.weights) - 1

    @property
    def widths(self) -> tuple:
        return tuple(w.shape[0] for w in self.weights[:-1])

    @property
    def shapes(self) -> tuple:
        return tuple(w.shape for w in self.weights)

    def to_flat(self) -> np.ndarray:
        return np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(self.weights, self.biases)])

    @classmethod
    def from_flat(cls, vec, shapes) -> "WideNet":
        ws, bs, pos = [], [], 0
        vec = np.asarray(vec, float)
        for m, n in shapes:
            ws.append(vec[pos : pos + m * n].reshape(m, n))
            pos += m * n
            bs.append(vec[pos : pos + m])
            pos += m
        if pos != vec.size:
            raise DlgeomInputError(f"vec: expected {pos} parameters for shapes {shapes}, got {vec.size}")
        net = object.__new__(cls)
        object.__setattr__(net, "weights", tuple(ws))
        object.__setattr__(net, "biases", tuple(bs))
        return net

    def preactivations(self, X) -> list[np.ndarray]:
        H, out = np.asarray(X, float), []
        for W, b in zip(self.weights[:-1], self.biases[:-1]):
            Z = H @ W.T + b
            out.append(Z)
            H = np.maximum(Z, 0.0)
        return out

    def forward(self, X) -> np.ndarray:
        """Outputs (N, Q) for the rows of X."""
        H = np.asarray(X, float)
        for W, b in zip(self.weights[:-1], self.biases[:-1]):
            H = np.maximum(H @ W.T + b, 0.0)
        return H @ self.weights[-1].T + self.biases[-1]

    def activation_margin(self, X) -> float:
        """min |pre-activation| over hidden layers, units and points."""
        return float(min(np.min(np.abs(z)) for z in self.preactivations(X)))


# ---- cost --------------------------------------------------------------------------------------


def wide_cost_sq(net: WideNet, data: Dataset) -> float:
    """C² = Σ_j (1/N_j) Σ_i |f(x_{j,i}) − y_j|²."""
    R = net.forward(data.X) - data.targets
    return float(np.dot(np.einsum("ij,ij->i", R, R), data.weights))


def wide_cost_and_grad(net: WideNet, data: Dataset) -> tuple[float, np.ndarray]:
    """C² and its gradient (backpropagation, ReLU derivative 0 at the kink) as a flat vector like
    :meth:`WideNet.to_flat`."""
    acts = [data.X]
    for W, b in zip(net.weights[:-1], net.biases[:-1]):
        acts.append(np.maximum(acts[-1] @ W.T + b, 0.0))
    R = acts[-1] @ net.weights[-1].T + net.biases[-1] - data.targets
    G = R * (2.0 * data.weights)[:, None]
    f = 0.5 * float(np.vdot(G, R))
    grads = []
    for k in range(net.n_hidden, -1, -1):
        grads.append((G.sum(axis=0), G.T @ acts[k]))
        if k:
            G = (G @ net.weights[k]) * (acts[k] > 0)
    return f, np.concatenate([np.concatenate([gW.ravel(), gb]) for gb, gW in reversed(grads)])


# ---- embeddings -----------------------------------------------------------------------------------


def _check_net(net) -> WideNet:
    if isinstance(net, Network):
        return WideNet.from_network(net)
    if isinstance(net, WideNet):
        return net
    raise DlgeomInputError(f"net: expected a dlgeom.Network or WideNet, got {type(net).__name__}")


def embed_zero_out(net, incoming=None) -> WideNet:
    """Every hidden layer k gains a unit with incoming row ``incoming[k]`` = (w, b) (w of the
    previous layer's new width; default zeros) and zero outgoing weights."""
    net = _check_net(net)
    L = net.n_hidden
    ws, bs = [], []
    for k in range(L + 1):
        W, b = net.weights[k], net.biases[k]
        if k:  # a zero column for the previous layer's new unit
            W = np.hstack([W, np.zeros((W.shape[0], 1))])
        if k < L:
            if incoming is None:
                w_new, b_new = np.zeros(W.shape[1]), 0.0
            else:
                w_new, b_new = incoming[k]
                w_new = as_float_array(w_new, f"incoming[{k}][0]", 1, (W.shape[1],))
                b_new = check_float(float(b_new), f"incoming[{k}][1]")
            W = np.vstack([W, w_new[None, :]])
            b = np.append(b, b_new)
        ws.append(W)
        bs.append(b)
    return WideNet(tuple(ws), tuple(bs))


def embed_zero(net) -> WideNet:
    """The zero-neuron embedding: zero incoming weights and bias, zero outgoing weights."""
    return embed_zero_out(net, None)


def embed_split(net, units, alphas) -> WideNet:
    """Split unit ``units[k]`` of hidden layer k into two copies with outgoing weights α_k c and
    (1 − α_k) c, ``alphas[k]`` ∈ (0, 1).  Layers are split one after the other (the copy in layer
    k + 1 also copies the already split columns)."""
    net = _check_net(net)
    L = net.n_hidden
    if len(units) != L or len(alphas) != L:
        raise DlgeomInputError(f"units/alphas: need one per hidden layer ({L}), got {len(units)} and {len(alphas)}")
    ws, bs = list(net.weights), list(net.biases)
    for k in range(L):
        u = check_int(int(units[k]), f"units[{k}]", 0, ws[k].shape[0] - 1)
        a = check_float(float(alphas[k]), f"alphas[{k}]", low=0.0, high=1.0, low_open=True, high_open=True)
        ws[k] = np.vstack([ws[k], ws[k][u][None, :]])
        bs[k] = np.append(bs[k], bs[k][u])
        col = ws[k + 1][:, u].copy()
        nxt = np.hstack([ws[k + 1], (1.0 - a) * col[:, None]])
        nxt[:, u] = a * col
        ws[k + 1] = nxt
    return WideNet(tuple(ws), tuple(bs))


def _central_gap(z: np.ndarray) -> float:
    """The midpoint of the widest gap between consecutive sorted values of ``z`` among its middle
    half (collapsed classes give runs of equal values: the midpoint of two order statistics could
    sit on them)."""
    zs = np.sort(z)
    if zs.size < 2:
        return float(zs[0]) - 1.0 if zs.size else 0.0
    lo, hi = zs.size // 4, max(zs.size // 4 + 1, (3 * zs.size) // 4)
    gaps = np.diff(zs)[lo:hi]
    i = lo + int(np.argmax(gaps))
    return 0.5 * float(zs[i] + zs[i + 1])


def _zero_out_draw(net: WideNet, rng: np.random.Generator, data: Dataset | None) -> list:
    """One draw of the new units' incoming rows (see :func:`embed`)."""
    incoming, H = [], None if data is None else data.X  # H: rows of the embedded network's layer k
    for k in range(net.n_hidden):
        n_in = net.weights[k].shape[1] + (1 if k else 0)
        rows = np.hstack([net.weights[k], net.biases[k][:, None]])
        scale = float(np.mean(np.linalg.norm(rows, axis=1))) or 1.0
        w = rng.standard_normal(n_in)
        w *= scale / np.linalg.norm(w)
        b = 0.0
        if H is not None:
            z_new = H @ w
            b = -_central_gap(z_new)
            H_old = H[:, :-1] if k else H
            H = np.hstack(
                [np.maximum(H_old @ net.weights[k].T + net.biases[k], 0.0), np.maximum(z_new + b, 0.0)[:, None]]
            )
        incoming.append((w, b))
    return incoming


def embed(
    net, kind: str, rng: np.random.Generator, data: Dataset | None = None, n_draws: int = 8
) -> tuple[WideNet, dict]:
    """The embedding ``kind`` (one of :data:`EMBEDDINGS`) with its free choices drawn from ``rng``.

    ``zero_out``: every new incoming row is random with the mean row norm of its layer; given
    ``data``, its bias puts 0 in the middle of the widest gap between consecutive pre-activations
    in their middle half (the unit is active on part of the points and away from its kink), and
    of ``n_draws`` draws the one with the largest gradient norm of C² at the embedded point is
    kept (the first-order test of the new units' outgoing weights over their incoming rows).
    ``split``: splits a unit active on the most points (ties: random) with α_k uniform in
    [1/4, 3/4].  Returns (network, a record of the choices)."""
    kind = check_choice(kind, "kind", EMBEDDINGS)
    net = _check_net(net)
    if kind == "zero":
        return embed_zero(net), {}
    L = net.n_hidden
    if kind == "zero_out":
        n_draws = check_int(n_draws, "n_draws", minimum=1)
        best, best_g = None, -1.0
        for _ in range(n_draws if data is not None else 1):
            cand = embed_zero_out(net, _zero_out_draw(net, rng, data))
            g = float(np.linalg.norm(wide_cost_and_grad(cand, data)[1])) if data is not None else 0.0
            if g > best_g:
                best, best_g = cand, g
        return best, {
            "incoming_scale": [float(np.linalg.norm(w[-1, :])) for w in best.weights[:-1]],
            "draws": n_draws if data is not None else 1,
        }
    # split
    units, alphas = [], []
    H = None if data is None else data.X
    for k in range(L):
        n = net.weights[k].shape[0]
        if H is not None:
            Z = H @ net.weights[k].T + net.biases[k]
            active = np.sum(Z > 0, axis=0)
            best = np.flatnonzero(active == active.max())
            H = np.maximum(Z, 0.0)
        else:
            best = np.arange(n)
        units.append(int(rng.choice(best)))
        alphas.append(float(rng.uniform(0.25, 0.75)))
    return embed_split(net, units, alphas), {"units": units, "alphas": alphas}


# ---- escape test ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EscapeResult:
    """Outcome of :func:`escape_test`.  Costs are C (not C²).  ``method``: the first of
    'gradient', 'hessian', 'probe', 'optimiser' that found a lower cost, or 'none'.
    ``status``: 'ok', 'kink' (the Hessian was skipped: a pre-activation sits on a kink) or
    'diverged' (a non-finite cost)."""

    escapable: bool
    cost_before: float
    cost_embedded: float
    cost_after: float
    method: str
    status: str
    grad_norm: float
    min_hess_eig: float
    probe_min_rel_change: float
    n_iter: int
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def _directions(net: WideNet, rng: np.random.Generator) -> np.ndarray:
    """A random direction, each unit's row [w_k, b_k] with the norm of that row or, if larger, the
    layer's mean row norm (so rows that are zero, like a new unit's, move too)."""
    parts = []
    for W, b in zip(net.weights, net.biases):
        rows = np.hstack([W, b[:, None]])
        norms = np.linalg.norm(rows, axis=1)
        scale = np.maximum(norms, norms.mean() if norms.mean() > 0 else 1.0)
        d = rng.standard_normal(rows.shape)
        d *= (scale / np.linalg.norm(d, axis=1))[:, None]
        parts.append(np.concatenate([d[:, :-1].ravel(), d[:, -1]]))
    return np.concatenate(parts)


def _hessian(x, shapes, data, h) -> np.ndarray:
    P = x.size
    H = np.empty((P, P))
    for i in range(P):
        e = np.zeros(P)
        e[i] = h
        gp = wide_cost_and_grad(WideNet.from_flat(x + e, shapes), data)[1]
        gm = wide_cost_and_grad(WideNet.from_flat(x - e, shapes), data)[1]
        H[:, i] = (gp - gm) / (2 * h)
    return (H + H.T) / 2


def escape_test(
    net,
    data: Dataset,
    rng: np.random.Generator,
    cost_before: float | None = None,
    radii=(1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3),
    n_dirs: int = 16,
    opt_iter: int = 100,
    hessian: bool = True,
) -> EscapeResult:
    """Look for a lower cost than at ``net`` (typically an embedded minimum) in four ways, in order:

    1. the gradient: if |∇C²| > 1e-10 max(1, C²), a backtracking step along −∇C²;
    2. the Hessian of C² over all parameters (central differences of the analytic gradient with
       steps of 1 % of the activation margin, so no kink is crossed; skipped on a kink or within
       1e-9 (relative) of one, status 'kink'): along the eigenvector of the smallest eigenvalue,
       if negative, steps ±t v for t = 10^-6..10^-1 (relative to |x|);
    3. ``n_dirs`` random directions (:func:`_directions`) and their negatives at every radius;
    4. L-BFGS (``opt_iter`` iterations) from the best point found so far.

    A step counts when it lowers C² by more than DESCENT_REL (relative); ``escapable`` when the
    final cost is below ``cost_before`` (1 − ESCAPE_REL).  ``cost_before`` defaults to the cost at
    ``net``; pass the width-Q cost to compare with the minimum before embedding."""
    from scipy.optimize import minimize

    t0 = time.perf_counter()
    net = _check_net(net)
    if not isinstance(data, Dataset):
        raise DlgeomInputError(f"data: expected a dlgeom.Dataset, got {type(data).__name__}")
    if net.weights[0].shape[1] != data.n_classes or net.weights[-1].shape[0] != data.n_classes:
        raise DlgeomInputError(f"net: input and output width must be Q = {data.n_classes}")
    n_dirs = check_int(n_dirs, "n_dirs", minimum=0)
    opt_iter = check_int(opt_iter, "opt_iter", minimum=0)
    shapes = net.shapes
    x0 = net.to_flat()
    f0, g0 = wide_cost_and_grad(net, data)
    c_emb = float(np.sqrt(max(f0, 0.0)))
    before = c_emb if cost_before is None else float(cost_before)
    if not np.isfinite(f0):
        return EscapeResult(
            False,
            before,
            c_emb,
            float("inf"),
            "none",
            "diverged",
            float("inf"),
            float("nan"),
            float("nan"),
            0,
            time.perf_counter() - t0,
        )
    best_x, best_f, method = x0, f0, "none"
    thresh = DESCENT_REL * max(f0, 1e-300)

    def consider(x, how):
        nonlocal best_x, best_f, method
        f = wide_cost_sq(WideNet.from_flat(x, shapes), data)
        if np.isfinite(f) and f < best_f and f0 - f > thresh:
            best_x, best_f = x, f
            if method == "none":
                method = how
        return f

    gnorm = float(np.linalg.norm(g0))
    if gnorm > 1e-10 * max(1.0, f0):
        step = 1.0 / max(gnorm, 1e-300) * 1e-3 * max(1.0, np.linalg.norm(x0))
        for _ in range(40):
            if consider(x0 - step * g0, "gradient") < f0 - thresh:
                break
            step *= 0.5
    status, min_eig = "ok", float("nan")
    margin = net.activation_margin(data.X)
    biggest = max([float(np.abs(data.X).max())] + [float(np.abs(z).max()) for z in net.preactivations(data.X)]) + 1.0
    if hessian and margin > 1e-9 * biggest:  # below: within rounding of a kink
        h = 0.01 * margin / biggest
        ev, V = np.linalg.eigh(_hessian(x0, shapes, data, h))
        min_eig = float(ev[0])
        if min_eig < -1e-8 * max(abs(ev[-1]), 1e-300):
            v = V[:, 0]
            for t in np.geomspace(1e-6, 1e-1, 11) * max(1.0, np.linalg.norm(x0)):
                consider(x0 + t * v, "hessian")
                consider(x0 - t * v, "hessian")
    elif hessian:
        status = "kink"
    worst = np.inf
    for _ in range(n_dirs):
        d = _directions(net, rng)
        for r in radii:
            for sgn in (1.0, -1.0):
                f = consider(x0 + sgn * r * d, "probe")
                worst = min(worst, (f - f0) / max(f0, 1e-300))
    n_iter = 0
    if opt_iter:

        def fun(z):
            return wide_cost_and_grad(WideNet.from_flat(z, shapes), data)

        res = minimize(
            fun,
            best_x,
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": opt_iter, "gtol": 1e-10, "ftol": 1e-30, "maxcor": 20},
        )
        n_iter = int(res.nit)
        consider(res.x, "optimiser")
    after = float(np.sqrt(max(best_f, 0.0))) if np.isfinite(best_f) else float("inf")
    escapable = bool(after < before * (1.0 - ESCAPE_REL))
    return EscapeResult(
        escapable,
        before,
        c_emb,
        after,
        method if escapable else "none",
        status,
        gnorm,
        min_eig,
        float(worst) if np.isfinite(worst) else float("nan"),
        n_iter,
        time.perf_counter() - t0,
    )
