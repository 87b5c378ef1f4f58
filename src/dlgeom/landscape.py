"""The cost landscape around the constructed minima, and what gradient training finds.

Optimisers (full-batch gradient descent, Adam, L-BFGS) on C² with the analytic gradient,
random and perturbed starts, a classifier of end points (cost level and collapse structure),
Wilson intervals, finite-difference Hessians of the analytic gradient, the residual Jacobian and
its null space, μ-paths between pattern networks and 2D slices.  All parameter vectors are the
flat vectors of :meth:`Network.to_flat`.
"""

from __future__ import annotations

import time

import numpy as np

from .batched import cost_and_grad_batch, cost_sq_batch
from .construct import hidden_network, output_lstsq
from .data import Dataset
from .degeneracy import row_directions
from .geometry import Geometry
from .network import Network, activation_margin, cost_and_grad, cost_sq
from .optresult import OPTIMISERS, OptResult
from .validation import DlgeomInputError, check_choice, check_int

__all__ = [
    "OptResult",
    "optimise",
    "init_random",
    "INIT_SCHEMES",
    "perturb_relative",
    "classify_endpoint",
    "collapse_structure",
    "wilson_interval",
    "hessian",
    "residual_jacobian",
    "null_dimension",
    "mu_path",
    "slice_2d",
    "OPTIMISERS",
    "HESS_OUTLIER_RTOL",
    "HESS_ZERO_RTOL",
    "hessian_outliers",
    "dead_units",
]

#: an eigenvalue of the Hessian is an *outlier* (above the bulk) when it exceeds this times the largest
HESS_OUTLIER_RTOL = 1e-3
#: |eigenvalue| at or below this times the largest |eigenvalue| counts as zero (finite-difference level)
HESS_ZERO_RTOL = 1e-8


def hessian_outliers(eigenvalues) -> dict:
    """Outlier count of a Hessian spectrum (docs/mathematics.md §9): ``n_outliers`` eigenvalues
    λ > HESS_OUTLIER_RTOL · λ_max, ``n_nonzero`` eigenvalues λ > HESS_ZERO_RTOL · max|λ| (the
    rank of the positive part), and ``outlier_gap`` = the smallest outlier / the largest positive
    eigenvalue below the cut (+inf when every eigenvalue below the cut is zero or negative: no
    bulk).  A large gap means the count does not depend on the threshold."""
    ev = np.sort(np.asarray(eigenvalues, float).ravel())[::-1]
    if not ev.size or not np.all(np.isfinite(ev)) or ev[0] <= 0:
        return {"n_outliers": 0, "n_nonzero": 0, "outlier_gap": float("nan")}
    zero = HESS_ZERO_RTOL * max(abs(ev[0]), abs(ev[-1]))
    k = int(np.sum(ev > HESS_OUTLIER_RTOL * ev[0]))
    below = ev[k] if k < ev.size else 0.0
    gap = float(ev[k - 1] / below) if below > zero else float("inf")
    return {"n_outliers": k, "n_nonzero": int(np.sum(ev > zero)), "outlier_gap": gap}


def dead_units(net: Network, X) -> int:
    """Hidden units (over all layers) whose pre-activation is ≤ 0 on every row of ``X``."""
    return int(sum(int(np.sum(~np.any(z > 0, axis=0))) for z in net.preactivations(X)))


def _fg(x, data, q, L):
    return cost_and_grad(Network._from_flat_unchecked(np.ascontiguousarray(x, dtype=np.float64), q, L), data)


def _power_lambda_max(x, data, q, L, rng, iters=30) -> float:
    """Largest Hessian eigenvalue of C² at x by power iteration on finite-difference
    Hessian-vector products of the analytic gradient."""
    v = rng.standard_normal(x.size)
    v /= np.linalg.norm(v)
    _, g0 = _fg(x, data, q, L)
    h = 1e-6 * max(1.0, np.linalg.norm(x))
    lam = 0.0
    for _ in range(iters):
        _, g1 = _fg(x + h * v, data, q, L)
        hv = (g1 - g0) / h
        lam = float(np.linalg.norm(hv))
        if lam == 0 or not np.isfinite(lam):
            break
        v = hv / lam
    return lam


def optimise(
    data: Dataset,
    x0,
    n_hidden: int,
    method: str = "lbfgs",
    max_iter: int = 2000,
    gtol: float = 1e-10,
    zero_tol: float = 1e-12,
    lr: float | None = None,
    record_every: int = 50,
    seed=0,
) -> OptResult:
    """Minimise C² from ``x0`` with 'gd' (step 0.2/λ_max, λ_max estimated at the start by power
    iteration, halved whenever a step raises the cost), 'adam' (lr default 1e-3) or 'lbfgs'
    (scipy).  Stops when |∇C²| ≤ gtol ('converged'), C² ≤ zero_tol² ('zero'), after max_iter,
    or on a non-finite value ('diverged', a status, not an exception)."""
    method = check_choice(method, "method", OPTIMISERS)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    q = data.n_classes
    L = check_int(n_hidden, "n_hidden", minimum=1)
    x = np.array(x0, dtype=np.float64)
    if x.shape != ((L + 1) * (q * q + q),):
        raise DlgeomInputError(f"x0: expected {(L + 1) * (q * q + q)} parameters for Q = {q}, L = {L}, got {x.shape}")
    t0 = time.perf_counter()
    hist = []
    zero2 = zero_tol**2

    def done(status, msg, x, f, g, it):
        return OptResult(
            x,
            float(np.sqrt(max(f, 0.0))) if np.isfinite(f) else float("inf"),
            float(np.linalg.norm(g)) if g is not None and np.all(np.isfinite(g)) else float("inf"),
            it,
            status,
            msg,
            time.perf_counter() - t0,
            hist,
        )

    if method == "lbfgs":
        from scipy.optimize import minimize

        calls = {"n": 0}

        def fun(z):
            f, g = _fg(z, data, q, L)
            calls["n"] += 1
            if record_every and calls["n"] % record_every == 1:
                hist.append(float(np.sqrt(max(f, 0.0))))
            return f, g

        res = minimize(
            fun,
            x,
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": max_iter, "gtol": gtol, "ftol": 1e-30, "maxcor": 20},
        )
        f, g = _fg(res.x, data, q, L)
        if not np.isfinite(f):
            return done("diverged", "non-finite cost", res.x, f, g, res.nit)
        status = "zero" if f <= zero2 else ("converged" if np.linalg.norm(g) <= gtol or res.success else "max_iter")
        return done(status, str(res.message), res.x, f, g, int(res.nit))

    f, g = _fg(x, data, q, L)
    if method == "gd":
        lam = _power_lambda_max(x, data, q, L, np.random.default_rng(np.random.SeedSequence(seed)))
        step = 0.2 / lam if lam > 0 else 1e-2
    else:
        step = 1e-3 if lr is None else float(lr)
        m = np.zeros_like(x)
        v = np.zeros_like(x)
        b1, b2, eps = 0.9, 0.999, 1e-12
    for it in range(1, max_iter + 1):
        if record_every and it % record_every == 1:
            hist.append(float(np.sqrt(max(f, 0.0))))
        if not np.isfinite(f):
            return done("diverged", "non-finite cost", x, f, g, it)
        if f <= zero2:
            return done("zero", "cost reached zero", x, f, g, it)
        if np.linalg.norm(g) <= gtol:
            return done("converged", "gradient below gtol", x, f, g, it)
        if method == "gd":
            for _ in range(60):
                x_new = x - step * g
                f_new, g_new = _fg(x_new, data, q, L)
                if np.isfinite(f_new) and f_new <= f:
                    break
                step *= 0.5
            else:
                return done("converged", "no descent step found", x, f, g, it)
        else:
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            x_new = x - step * (m / (1 - b1**it)) / (np.sqrt(v / (1 - b2**it)) + eps)
            f_new, g_new = _fg(x_new, data, q, L)
        x, f, g = x_new, f_new, g_new
    status = "zero" if f <= zero2 else "max_iter"
    return done(status, "max_iter reached", x, f, g, max_iter)


# ---- starts ------------------------------------------------------------------------------------

#: The random initialisations of :func:`init_random` (the study's random start types).
INIT_SCHEMES = ("he", "xavier")


def init_random(q: int, n_hidden: int, rng: np.random.Generator, scheme: str = "he") -> np.ndarray:
    """'he': W ~ N(0, 2/Q); 'xavier': W ~ N(0, 1/Q) (fan-in = fan-out = Q); biases 0."""
    check_choice(scheme, "scheme", INIT_SCHEMES)
    std = np.sqrt((2.0 if scheme == "he" else 1.0) / q)
    ws = tuple(rng.normal(0.0, std, (q, q)) for _ in range(n_hidden + 1))
    bs = tuple(np.zeros(q) for _ in range(n_hidden + 1))
    return Network(ws, bs).to_flat()


def perturb_relative(net: Network, rho: float, rng: np.random.Generator) -> np.ndarray:
    """Every unit's row [w_k, b_k] of every layer (output included) moved by ρ‖row‖ in a random
    direction: the start ρ away from a constructed network, relative to its own scale."""
    return net.to_flat() + rho * _direction(net, rng)


def _direction(net: Network, rng: np.random.Generator) -> np.ndarray:
    """A random row-normalised direction over all parameters, as a flat vector."""
    return np.concatenate([np.concatenate([dW.ravel(), db]) for dW, db in row_directions(net, rng)])


# ---- end points -----------------------------------------------------------------------------


def collapse_structure(net: Network, data: Dataset, rel_tol: float = 1e-8) -> list[int]:
    """For every class: the first hidden layer (1..L) at which all its points share one hidden
    representation (spread ≤ rel_tol × data scale), or 0 if it never collapses."""
    q = data.n_classes
    scale = max(1.0, float(np.abs(data.X).max()))
    first = [0] * q
    H = data.X
    for ell, (W, b) in enumerate(zip(net.weights[:-1], net.biases[:-1]), start=1):
        H = np.maximum(H @ W.T + b, 0.0)
        for j in range(q):
            if first[j]:
                continue
            Hj = H[data.y == j]
            if float(np.abs(Hj - Hj[0]).max()) <= rel_tol * scale:
                first[j] = ell
    return first


def classify_endpoint(
    c: float, levels: dict[str, float], zero_tol: float = 1e-6, rel_tol: float = 1e-3
) -> tuple[str, str]:
    """(category, nearest level name).  'zero' if C ≤ zero_tol; otherwise the nearest of
    ``levels`` (name → value): 'pattern' if it is a pattern level ('V_P[s]', 'V_bf[s]',
    'V_aff[s]') within rel_tol (relative), 'merge' if it is a class-merging level
    ('merge[…]') within rel_tol, else 'other' (the nearest name is still returned)."""
    if c <= zero_tol:
        return "zero", ""
    best, name = np.inf, ""
    for k, v in levels.items():
        if v > zero_tol:
            d = abs(c - v) / v
            if d < best:
                best, name = d, k
    if best > rel_tol:
        return "other", name
    return ("merge" if name.startswith("merge") else "pattern"), name


def descent_probe(
    net: Network, data: Dataset, rng: np.random.Generator, radii=(1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3), n_dirs: int = 16
) -> float:
    """The smallest relative change (C²(x + r d) − C²(x)) / C²(x) over ``n_dirs`` random
    row-normalised directions d (and −d) at every radius r: negative means a descent direction
    was found.  Works on kinks, where the Hessian is not defined."""
    q, L = net.width, net.n_hidden
    x = net.to_flat()
    c0 = cost_sq(net, data)
    dirs = [_direction(net, rng) for _ in range(n_dirs)]
    points = [x + sgn * r * d for d in dirs for r in radii for sgn in (1.0, -1.0)]
    c = cost_sq_batch(np.array(points), data, q, L)  # all probes in one batched pass
    return float(np.min((c - c0) / max(c0, 1e-300)))


def wilson_interval(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion k/n (95 % by default)."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, centre - half), min(1.0, centre + half))


# ---- local shape ----------------------------------------------------------------------------


def _safe_step(net: Network, data: Dataset, frac: float = 0.01) -> float:
    """A parameter step that moves no pre-activation by more than frac × the activation margin."""
    margin = activation_margin(net, data.X)
    biggest = max([float(np.abs(data.X).max())] + [float(np.abs(z).max()) for z in net.preactivations(data.X)]) + 1.0
    return frac * margin / biggest


def hessian(net: Network, data: Dataset, h: float | None = None) -> tuple[np.ndarray, float, bool]:
    """Hessian of C² by central differences of the analytic gradient, symmetrised.

    Steps default to 1 % of the activation margin (relative to the largest activation), so no
    ReLU kink is crossed; returns (H, h, pattern_unchanged) where the last entry checks that the
    activation pattern is the same at every ±h evaluation."""
    q, L = net.width, net.n_hidden
    x = net.to_flat()
    H, h = hessian_matrix(net, data, h)
    base = net.activation_pattern(data.X)
    P = x.size
    same = True
    for i in range(0, P, 7):  # spot-check the pattern (every parameter would double the cost)
        e = np.zeros(P)
        e[i] = h
        up, dn = Network.from_flat(x + e, q, L), Network.from_flat(x - e, q, L)
        same &= bool(
            np.array_equal(up.activation_pattern(data.X), base) and np.array_equal(dn.activation_pattern(data.X), base)
        )
    return H, h, same


def hessian_matrix(net: Network, data: Dataset, h: float | None = None) -> tuple[np.ndarray, float]:
    """(H, h): the Hessian of :func:`hessian` without its check of the activation pattern (the
    end-point analysis, which needs only the spectrum)."""
    q, L = net.width, net.n_hidden
    x = net.to_flat()
    h = _safe_step(net, data) if h is None else float(h)
    if not h > 0:
        raise DlgeomInputError("hessian: the activation margin is zero (a point sits on a kink); give h explicitly")
    P = x.size
    # the gradients at x ± h e_i for every i, in one batched pass (bit-for-bit cost_and_grad)
    E = np.diag(np.full(P, h))
    _, G = cost_and_grad_batch(np.concatenate([x + E, x - E]), data, q, L)
    H = ((G[:P] - G[P:]) / (2 * h)).T
    return (H + H.T) / 2, h


def residual_jacobian(net: Network, data: Dataset, h: float | None = None) -> np.ndarray:
    """J of the weighted residual r = (√(1/N_j)(f(x_{j,i}) − y_j))_{j,i} ∈ R^{NQ} by central
    differences (steps below the margin).  C² = |r|², and at a zero-cost point the Hessian is
    2JᵀJ."""
    q, L = net.width, net.n_hidden
    x = net.to_flat()
    h = _safe_step(net, data) if h is None else float(h)
    sw = np.sqrt(data.weights)[:, None]

    def r(z):
        return ((Network.from_flat(z, q, L).forward(data.X) - data.targets) * sw).ravel()

    J = np.empty((data.n_points * q, x.size))
    for i in range(x.size):
        e = np.zeros(x.size)
        e[i] = h
        J[:, i] = (r(x + e) - r(x - e)) / (2 * h)
    return J


def null_dimension(M: np.ndarray, rel_tol: float = 1e-8) -> int:
    """Number of singular values of M below rel_tol × the largest."""
    s = np.linalg.svd(M, compute_uv=False)
    return int(np.sum(s <= rel_tol * s[0])) + max(0, M.shape[1] - s.size) if s.size else M.shape[1]


# ---- paths and slices ---------------------------------------------------------------------------


def mu_path(data: Dataset, geom: Geometry, mu_start, mu_end, n_layers: int, n_points: int = 41) -> np.ndarray:
    """F(t) = min over the affine output layer of C, along μ(t) = (1−t)μ_start + t μ_end."""
    a, b = np.asarray(mu_start, float), np.asarray(mu_end, float)
    out = np.empty(n_points)
    for k, t in enumerate(np.linspace(0.0, 1.0, n_points)):
        _, _, v = output_lstsq(hidden_network(geom, (1 - t) * a + t * b, n_layers), data, bias=True)
        out[k] = np.sqrt(max(v, 0.0))
    return out


def slice_2d(net: Network, data: Dataset, radii, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """C on the plane x + α d₁ + β d₂, α, β ∈ ``radii``, with random directions normalised row by
    row (each unit's weights and bias scaled to that row's norm).  Returns (radii, d₁·d₂ cosine,
    grid of C with rows α, columns β)."""
    q, L = net.width, net.n_hidden
    x = net.to_flat()
    d1 = _direction(net, rng)
    d2 = _direction(net, rng)
    radii = np.asarray(radii, float)
    grid = np.empty((radii.size, radii.size))
    for i, a in enumerate(radii):
        for k, b in enumerate(radii):
            grid[i, k] = np.sqrt(max(cost_sq(Network.from_flat(x + a * d1 + b * d2, q, L), data), 0.0))
    cos = float(d1 @ d2 / (np.linalg.norm(d1) * np.linalg.norm(d2)))
    return radii, cos, grid


# ---- predicted cost levels ------------------------------------------------------------------------


def _set_partitions(items):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in _set_partitions(rest):
        for i in range(len(part)):
            yield part[:i] + [[first] + part[i]] + part[i + 1 :]
        yield [[first]] + part


def merge_levels(Y: np.ndarray) -> dict[str, float]:
    """Cost C when the classes of each block of a partition are sent to one common point and the
    output fits the block means: C² = Σ_blocks Σ_{j∈block} |y_j − ȳ_block|².  These are the
    levels of networks whose hidden layers merge classes (e.g. dead units); the partition into
    singletons is the zero level and is left out.  Keys like 'merge[01|2]'."""
    q = Y.shape[1]
    out = {}
    for part in _set_partitions(list(range(q))):
        if len(part) == q:
            continue
        c2 = 0.0
        for block in part:
            cols = Y[:, block]
            c2 += float(np.sum((cols - cols.mean(axis=1, keepdims=True)) ** 2))
        key = "merge[" + "|".join("".join(map(str, sorted(b))) for b in sorted(part, key=min)) + "]"
        out[key] = float(np.sqrt(c2))
    return out


def predicted_levels(Y: np.ndarray, pattern_reports) -> dict[str, float]:
    """Every level an end point could sit at: the pattern values (2.85) as printed ('V_P[s]'),
    the bias-free and affine least-squares values ('V_bf[s]', 'V_aff[s]') of every pattern, and
    the class-merging levels of :func:`merge_levels`."""
    levels = {}
    for r in pattern_reports:
        s = "".join(map(str, r.s))
        if sum(r.s) == 0:
            continue
        levels[f"V_P[{s}]"] = r.value_paper
        levels[f"V_bf[{s}]"] = r.value_biasfree
        levels[f"V_aff[{s}]"] = r.value_affine
    levels.update(merge_levels(Y))
    return levels


# ---- symmetries: permutations and per-unit rescaling ---------------------------------------------


def canonical_rescale(net: Network) -> Network:
    """The same function with every hidden unit's incoming row [w_k, b_k] scaled to unit norm
    (the positive rescaling is pushed into the next layer's column k).  Dead rows stay as they are."""
    ws, bs = list(net.weights), list(net.biases)
    for ell in range(net.n_hidden):
        norms = np.sqrt(np.sum(ws[ell] ** 2, axis=1) + bs[ell] ** 2)
        c = np.where(norms > 0, 1.0 / np.where(norms > 0, norms, 1.0), 1.0)
        ws[ell] = ws[ell] * c[:, None]
        bs[ell] = bs[ell] * c
        ws[ell + 1] = ws[ell + 1] / c[None, :]
    return Network._trusted(ws, bs)  # float64 arrays of the right shapes, computed from a Network


def align_to(net: Network, reference: Network) -> Network:
    """``net`` with its hidden units permuted (and rows rescaled to unit norm) to match
    ``reference`` layer by layer: the Hungarian assignment maximising the cosine similarity of the
    units' incoming rows [w_k, b_k], with the previous layer's permutation applied to the columns
    first.  The network function is unchanged."""
    from scipy.optimize import linear_sum_assignment

    a, r = canonical_rescale(net), canonical_rescale(reference)
    ws, bs = list(a.weights), list(a.biases)
    perm_prev = np.arange(net.width)
    for ell in range(net.n_hidden):
        W = ws[ell][:, perm_prev] if ell else ws[ell]
        rows = np.hstack([W, bs[ell][:, None]])
        ref = np.hstack([r.weights[ell], r.biases[ell][:, None]])
        with np.errstate(all="ignore"):
            sim = ref @ rows.T  # [reference unit, unit]
        # a deep network's rescaled rows may overflow (inf, NaN): such entries match nothing in particular
        sim = np.nan_to_num(sim, nan=0.0, posinf=1e300, neginf=-1e300)
        _, perm = linear_sum_assignment(-sim)
        ws[ell] = W[perm]
        bs[ell] = bs[ell][perm]
        perm_prev = perm
    ws[-1] = ws[-1][:, perm_prev]
    return Network._trusted(ws, bs)


def linear_path(a: Network, b: Network, data: Dataset, n_points: int = 41) -> np.ndarray:
    """C along the straight line between two parameter vectors (output layer not re-solved)."""
    xa, xb = a.to_flat(), b.to_flat()
    q, L = a.width, a.n_hidden
    points = np.array([(1 - t) * xa + t * xb for t in np.linspace(0.0, 1.0, n_points)])
    return np.sqrt(np.maximum(cost_sq_batch(points, data, q, L), 0.0))
