"""Many small optimiser runs at once: C² and its gradient for a batch of R networks, and batched
gradient descent, Adam and L-BFGS with a per-run stopping rule.

The runs of one landscape experiment are independent small problems (width Q ≤ 5, a few hundred
points).  Here they share every numpy call: parameters are an (R, P) array of flat vectors (the
layout of :meth:`Network.to_flat`), the forward and backward passes are stacked matrix products
over a leading run axis, and a run that has stopped is frozen while the batch carries on for the
others.

:func:`cost_and_grad_batch` performs, for every run, the same floating-point operations in the
same order as :func:`dlgeom.network.cost_and_grad` (one BLAS product per run and layer, the same
reductions), so its values are bit-for-bit those of the sequential function; batched gradient
descent and Adam repeat :func:`dlgeom.landscape.optimise` step by step and reach the same end
points.  Batched L-BFGS is a vectorised L-BFGS (the compact form of the two-loop recursion) with
a batched strong-Wolfe line search (bisection and doubling); it is not scipy's L-BFGS-B line for
line, and its outcomes agree with scipy's in distribution (see ``tests/test_batched.py``).

Two kernels evaluate C² and its gradient: 'numpy' (the stacked matrix products above, bit-for-bit
the sequential values) and 'fused' (the compiled extension ``dlgeom._fused``: one pass per network
that keeps 8 points at a time in SIMD registers through every layer and back; the same values to
rounding, several times faster at width Q ≤ 8; see docs/performance.md).  The fused kernel is
built at install when a C compiler is present; :func:`fused_unavailable` says why it is not.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .data import Dataset
from .network import CHUNK
from .optresult import OPTIMISERS, OptResult
from .validation import DlgeomInputError, check_choice, check_int

try:
    from . import _fused
except ImportError:  # built only where a C compiler was present at install
    _fused = None

__all__ = [
    "cost_and_grad_batch",
    "cost_sq_batch",
    "BatchResult",
    "optimise_batch",
    "run_chunk_for",
    "KERNELS",
    "fused_unavailable",
    "evaluation_flops",
]

KERNELS = ("numpy", "fused")


def evaluation_flops(n_points: int, width: int, n_hidden: int) -> int:
    """Floating-point operations of one evaluation of C² and its gradient for one network of
    width Q and L hidden layers on N points, counting a multiply-add as 2: per point and each of the
    L + 1 layers, 2Q² for the forward product and 2Q² for the weight gradient, and 2Q² for the
    signal back-propagated through every layer but the first, so 2·N·Q²·(3(L+1) − 1).  The count in which the
    benchmarks quote kernel rates (docs/performance.md)."""
    return 2 * n_points * width * width * (3 * (n_hidden + 1) - 1)


def fused_unavailable(width: int | None = None, n_hidden: int | None = None) -> str | None:
    """Why the fused kernel cannot run networks of this width and depth here, or None if it can."""
    if _fused is None:
        return (
            "the compiled kernel dlgeom._fused is not built on this machine (it needs a C compiler when "
            "dlgeom is installed: install gcc or clang, then rerun `make test`, which rebuilds when a compiler "
            "appears, or `pip install -e .`)"
        )
    if width is not None and not 1 <= width <= _fused.MAX_WIDTH:
        return f"the fused kernel handles widths Q = 1..{_fused.MAX_WIDTH}, got Q = {width}"
    if n_hidden is not None and not 1 <= n_hidden <= _fused.MAX_LAYERS:
        return f"the fused kernel handles L = 1..{_fused.MAX_LAYERS} hidden layers, got L = {n_hidden}"
    return None


def check_kernel(kernel: str, width: int, n_hidden: int) -> str:
    """``kernel`` if it is one of KERNELS and can run here, else a DlgeomInputError naming why."""
    kernel = check_choice(kernel, "kernel", KERNELS)
    why = fused_unavailable(width, n_hidden) if kernel == "fused" else None
    if why:
        raise DlgeomInputError(f"kernel: 'fused' cannot run: {why}; 'numpy' needs nothing compiled")
    return kernel


def run_chunk_for(n_points: int, width: int) -> int:
    """Runs per stacked pass: about 260,000 activations per layer, between 8 and 64 runs.  Measured
    on one core (benchmarks/bench_landscape_batched.py): fewer numpy calls outweigh the larger
    working set up to 64 runs of 800 points at Q = 4 (6 % faster than 16 runs)."""
    target = 262144 / max(n_points * width, 1)
    return int(min(64, max(8, 2 ** round(np.log2(max(target, 1.0))))))


def _check_batch(X, data: Dataset, width: int, n_hidden: int) -> np.ndarray:
    if not isinstance(data, Dataset):
        raise DlgeomInputError(f"data: expected a dlgeom.Dataset, got {type(data).__name__}")
    q = check_int(width, "width", minimum=1)
    L = check_int(n_hidden, "n_hidden", minimum=1)
    if data.n_classes != q:
        raise DlgeomInputError(f"data: has Q = {data.n_classes} but the networks have width {q}")
    X = np.asarray(X, dtype=np.float64)
    P = (L + 1) * (q * q + q)
    if X.ndim != 2 or X.shape[1] != P:
        raise DlgeomInputError(
            f"X: expected an (R, {P}) array of flat parameter vectors for Q = {q}, L = {L}, got shape {X.shape}"
        )
    return np.ascontiguousarray(X)


def cost_and_grad_batch(
    X, data: Dataset, width: int, n_hidden: int, run_chunk: int | None = None, kernel: str = "numpy"
) -> tuple[np.ndarray, np.ndarray]:
    """C² and its gradient for R networks at once.

    Parameters
    ----------
    X : (R, P) array, one flat parameter vector per row (P = (L+1)(Q²+Q), layout of
        :meth:`Network.to_flat`).
    data : the Dataset (N points, Q classes).
    run_chunk : runs per stacked pass (a speed knob; the values do not depend on it); default
        :func:`run_chunk_for` the data size.
    kernel : 'numpy' or 'fused' (see the module's docstring).

    Returns
    -------
    (f, G): f (R,) the costs C², G (R, P) the gradients; with 'numpy' each row is bit-for-bit
    :func:`dlgeom.network.cost_and_grad` of that network, with 'fused' equal to it to rounding.
    """
    X = _check_batch(X, data, width, n_hidden)
    run_chunk = _check_run_chunk(run_chunk)
    return _evaluate(X, data, width, n_hidden, check_kernel(kernel, width, n_hidden), run_chunk)


def _check_run_chunk(run_chunk):
    """None (the default size) or a positive integer (0 or a negative number would skip every run)."""
    return None if run_chunk is None else check_int(run_chunk, "run_chunk", minimum=1)


def _evaluate(X, data, q, L, kernel, run_chunk=None):
    """C² and its gradient of checked rows X with a checked kernel."""
    if kernel == "fused":
        return _cost_and_grad_fused(X, data, q, L)
    return _cost_and_grad_batch(X, data, q, L, run_chunk)


_PADDED: list = [None, None]  # the last dataset and its padded arrays


def _padded_columns(data: Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The points, targets (as columns, (Q, Np)) and weights (Np,) of ``data``, padded with
    weight-0 points to a multiple of 8 points (the fused kernel's block); kept for the last dataset."""
    if _PADDED[0] is not data:
        n = data.n_points
        n_pad = -(-n // 8) * 8
        XT, T, w = np.zeros((data.X.shape[1], n_pad)), np.zeros((data.n_classes, n_pad)), np.zeros(n_pad)
        XT[:, :n], T[:, :n], w[:n] = data.X.T, data.targets_columns, data.weights
        _PADDED[:] = [data, (XT, T, w)]
    return _PADDED[1]


def _cost_and_grad_fused(X, data, q, L):
    XT, T, w = _padded_columns(data)
    X = np.ascontiguousarray(X, dtype=np.float64)
    f, G = np.empty(X.shape[0]), np.empty(X.shape)
    _fused.cost_and_grad(X, XT, T, w, q, L, f, G)
    # A run whose cost or gradient is not finite (a NaN or infinite parameter, an overflow) gets
    # the numpy engine's values, so both engines give the same non-finite values and statuses
    # (the kernel's masks would turn some NaN and inf products into zeros where numpy keeps NaN).
    if np.isfinite(f.sum() + G.sum()):  # the common case, in one pass: every value finite
        return f, G
    bad = ~np.isfinite(f) | ~np.isfinite(G).all(axis=1)
    if bad.any():
        f[bad], G[bad] = _cost_and_grad_batch(X[bad], data, q, L)
    return f, G


_WORKSPACE: dict = {}


def _workspace(L: int, q: int, r: int, n: int) -> dict:
    """Reused scratch arrays of the batched passes, for up to r runs and n points: the L hidden
    activations, the residual, two back-propagated signals, a mask and zeros (σ as the maximum
    against an array of zeros: the same values as against the scalar 0, 2.4× faster).  Fresh arrays of this size
    on every call would cost page faults that outweigh the arithmetic (as in
    :func:`dlgeom.network.cost_and_grad`).  Not thread-safe."""
    key = (L, q, r, n)
    ws = _WORKSPACE.get(key)
    if ws is None:
        if len(_WORKSPACE) > 8:
            _WORKSPACE.clear()
        ws = _WORKSPACE[key] = {
            "acts": np.empty((L, r, q, n)),
            "res": np.empty((r, q, n)),
            "sig": np.empty((2, r, q, n)),
            "mask": np.empty((r, q, n), dtype=bool),
            "zeros": np.zeros((r, q, n)),
        }
    return ws


def _layer_views(xs: np.ndarray, q: int, L: int) -> tuple[list, list]:
    """Views of the L+1 layers of r flat parameter vectors (r, P): weights (r, Q, Q) and biases
    (r, Q, 1), in the layout of :meth:`Network.to_flat`."""
    r, block = xs.shape[0], q * q + q
    Ws = [xs[:, i * block : i * block + q * q].reshape(r, q, q) for i in range(L + 1)]
    bs = [xs[:, i * block + q * q : (i + 1) * block][:, :, None] for i in range(L + 1)]
    return Ws, bs


def _cost_and_grad_batch(X, data, q, L, run_chunk=None):
    R, P = X.shape
    run_chunk = run_chunk or run_chunk_for(data.n_points, q)
    f = np.zeros(R)
    G_out = np.zeros((R, P))
    Xd, T, w = data.X, data.targets_columns, data.weights
    N = Xd.shape[0]
    for r0 in range(0, R, run_chunk):
        xs = X[r0 : r0 + run_chunk]
        r = xs.shape[0]
        Ws, bs = _layer_views(xs, q, L)
        WsT = [W.transpose(0, 2, 1) for W in Ws]
        g = G_out[r0 : r0 + r]
        gW, gb = _layer_views(g, q, L)  # views into G_out: the sums land there
        gb = [b[:, :, 0] for b in gb]
        for s in range(0, N, CHUNK):
            n = min(CHUNK, N - s)
            ws = _workspace(L, q, min(run_chunk, R), n)
            mask = ws["mask"][:r]
            acts = [np.broadcast_to(Xd[s : s + n].T, (r, q, n))]  # column layout, as cost_and_grad
            for ell in range(L):
                Z = np.matmul(Ws[ell], acts[-1], out=ws["acts"][ell, :r])
                Z += bs[ell]
                np.maximum(Z, ws["zeros"][:r], out=Z)  # H = σ(Z); H > 0 exactly where Z > 0
                acts.append(Z)
            Res = np.matmul(Ws[L], acts[-1], out=ws["res"][:r])
            Res += bs[L]
            Res -= T[:, s : s + n]
            Gm = np.multiply(Res, 2.0 * w[s : s + n], out=ws["sig"][(L + 1) % 2, :r])
            # one BLAS dot per run (as np.vdot in cost_and_grad)
            f[r0 : r0 + r] += 0.5 * np.matmul(Gm.reshape(r, 1, q * n), Res.reshape(r, q * n, 1))[:, 0, 0]
            for layer in range(L, -1, -1):
                gW[layer] += np.matmul(Gm, acts[layer].transpose(0, 2, 1))
                gb[layer] += Gm.sum(axis=2)
                if layer:
                    Gm = np.matmul(WsT[layer], Gm, out=ws["sig"][layer % 2, :r])  # alternate buffers
                    np.greater(acts[layer], 0.0, out=mask)
                    Gm *= mask
    return f, G_out


def cost_sq_batch(X, data: Dataset, width: int, n_hidden: int, run_chunk: int | None = None) -> np.ndarray:
    """C² of R networks at once (forward passes only): X (R, P) flat parameter vectors, returns
    (R,), each entry bit-for-bit :func:`dlgeom.network.cost_sq` of that network."""
    X = _check_batch(X, data, width, n_hidden)
    run_chunk = _check_run_chunk(run_chunk)
    q, L = width, n_hidden
    R = X.shape[0]
    run_chunk = run_chunk or run_chunk_for(data.n_points, q)
    out = np.zeros(R)
    Xd, Y, inv_counts = data.X, data.Y, 1.0 / data.counts
    N = Xd.shape[0]
    for r0 in range(0, R, run_chunk):
        xs = X[r0 : r0 + run_chunk]
        r = xs.shape[0]
        Ws, bs = _layer_views(xs, q, L)
        for s in range(0, N, CHUNK):
            n = min(CHUNK, N - s)
            labels = data.y[s : s + n]
            ws = _workspace(L, q, min(run_chunk, R), n)
            H = np.broadcast_to(Xd[s : s + n].T, (r, q, n))
            for ell in range(L):
                H = np.matmul(Ws[ell], H, out=ws["sig"][ell % 2, :r])  # alternate buffers
                H += bs[ell]
                np.maximum(H, ws["zeros"][:r], out=H)
            Res = np.matmul(Ws[L], H, out=ws["res"][:r])
            Res += bs[L]
            Res -= Y[:, labels]
            sq = np.einsum("rij,rij->rj", Res, Res)
            out[r0 : r0 + r] += np.matmul(sq[:, None, :], inv_counts[labels][:, None])[:, 0, 0]
    return out


def _norms(A: np.ndarray) -> np.ndarray:
    """Euclidean norm of every row, bit-for-bit ``np.linalg.norm`` of that row (a BLAS dot)."""
    return np.sqrt(np.matmul(A[:, None, :], A[:, :, None])[:, 0, 0])


# ---- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchResult:
    """End points of R optimiser runs.  ``cost`` is C (not C²); ``status`` per run is 'zero',
    'converged', 'max_iter' or 'diverged' (as :class:`dlgeom.landscape.OptResult`)."""

    x: np.ndarray  # (R, P)
    cost: np.ndarray  # (R,)
    grad_norm: np.ndarray  # (R,)
    n_iter: np.ndarray  # (R,) int
    status: np.ndarray  # (R,) str
    message: np.ndarray  # (R,) str
    n_evals: np.ndarray  # (R,) gradient evaluations of each run
    seconds: float

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def success(self) -> np.ndarray:
        return np.isin(self.status, ("converged", "zero"))

    def run(self, i: int):
        """Run i as a :class:`dlgeom.landscape.OptResult` (no history)."""
        return OptResult(
            self.x[i].copy(),
            float(self.cost[i]),
            float(self.grad_norm[i]),
            int(self.n_iter[i]),
            str(self.status[i]),
            str(self.message[i]),
            self.seconds / max(len(self), 1),
            [],
        )


class _Runs:
    """Per-run bookkeeping shared by the optimisers: end points, statuses, evaluation counts."""

    def __init__(self, R, P):
        self.x = np.zeros((R, P))
        self.f = np.full(R, np.nan)
        self.g = np.zeros((R, P))
        self.n_iter = np.zeros(R, dtype=np.int64)
        self.status = np.full(R, "", dtype=object)
        self.message = np.full(R, "", dtype=object)
        self.n_evals = np.zeros(R, dtype=np.int64)

    def finish(self, idx, status, msg, x, f, g, it):
        idx = np.asarray(idx)
        if idx.size == 0:
            return
        self.x[idx], self.f[idx], self.g[idx] = x, f, g
        self.n_iter[idx] = it
        self.status[idx] = status
        self.message[idx] = msg

    def result(self, t0) -> BatchResult:
        f = self.f
        fin = np.isfinite(f)
        cost = np.where(fin, np.sqrt(np.maximum(np.where(fin, f, 0.0), 0.0)), np.inf)
        gfin = np.all(np.isfinite(self.g), axis=1)
        gn = np.where(gfin, _norms(np.where(gfin[:, None], self.g, 0.0)), np.inf)
        return BatchResult(
            self.x,
            cost,
            gn,
            self.n_iter,
            self.status.astype(str),
            self.message.astype(str),
            self.n_evals,
            time.perf_counter() - t0,
        )


# ---- the optimisers -----------------------------------------------------------------------------


def optimise_batch(
    data: Dataset,
    X0,
    n_hidden: int,
    method: str = "lbfgs",
    max_iter: int = 2000,
    gtol: float = 1e-10,
    zero_tol: float = 1e-12,
    lr: float | None = None,
    seeds=None,
    run_chunk: int | None = None,
    history_size: int = 20,
    kernel: str = "numpy",
) -> BatchResult:
    """Minimise C² from every row of ``X0`` (R, P) at once.

    'gd' and 'adam' are :func:`dlgeom.landscape.optimise` run by run (same steps, stopping rule
    and statuses; ``seeds[i]`` seeds run i's power iteration for the GD step, as ``seed`` there).
    'lbfgs' is a batched L-BFGS (memory ``history_size``, first step 1/|∇|, then 1) with a strong
    Wolfe line search (c₁ = 1e-3, c₂ = 0.9, bisection and doubling, at most 20 evaluations; a
    bracket narrower than 10 % takes its best point, as scipy's dcsrch does).  A failed line
    search clears the run's memory and retries along −∇; failing again ends the run
    ('max_iter', message 'line search failed', as scipy's abnormal termination is reported by
    :func:`dlgeom.landscape.optimise`).  L-BFGS stops a run at max|∇C²| ≤ gtol or when a step
    leaves C² unchanged ('converged'), as L-BFGS-B does.  Every run stops at C² ≤ zero_tol²
    ('zero'), after max_iter iterations ('max_iter') or on a non-finite cost ('diverged').

    ``kernel`` evaluates C² and its gradient: 'numpy' (GD and Adam then reach the sequential end
    points bit for bit) or 'fused' (the same to rounding, several times faster).  On 'fused', the
    optimisers run in C beside the kernel, run by run: GD and Adam (:func:`_first_order_compiled`:
    the numpy loop's end points on that kernel bit for bit) and L-BFGS (:func:`_lbfgs_compiled`:
    the same algorithm, outcomes equal in distribution, 3.6× the numpy loop's runs per CPU-second
    at paper size)."""
    method = check_choice(method, "method", OPTIMISERS)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    q = data.n_classes if isinstance(data, Dataset) else None
    X0 = _check_batch(X0, data, q, n_hidden)
    L = n_hidden
    kernel = check_kernel(kernel, q, L)
    R = X0.shape[0]
    if seeds is None:
        seeds = [0] * R
    if len(seeds) != R:
        raise DlgeomInputError(f"seeds: expected one seed per run ({R}), got {len(seeds)}")
    run_chunk = run_chunk_for(data.n_points, q) if run_chunk is None else check_int(run_chunk, "run_chunk", minimum=1)
    runs = _Runs(R, X0.shape[1])
    t0 = time.perf_counter()

    def fg(Z, idx):
        runs.n_evals[idx] += 1
        return _evaluate(Z, data, q, L, kernel, run_chunk)

    if R == 0:
        pass
    elif method == "lbfgs" and kernel == "fused":
        _lbfgs_compiled(data, X0, runs, max_iter, gtol, zero_tol**2, history_size, fg)
    elif method == "lbfgs":
        _lbfgs(fg, X0.copy(), runs, max_iter, gtol, zero_tol**2, history_size)
    elif kernel == "fused":
        _first_order_compiled(data, X0, runs, method, max_iter, gtol, zero_tol**2, lr, seeds, fg)
    else:
        _first_order(fg, X0.copy(), runs, method, max_iter, gtol, zero_tol**2, lr, seeds)
    return runs.result(t0)


def _power_lambda_max(fg, x, g0, seeds, iters=30):
    """Largest Hessian eigenvalue of C² at every row of x, as the sequential power iteration:
    each run draws its start vector from its own seed and stops on its own."""
    R, P = x.shape
    V = np.stack([np.random.default_rng(np.random.SeedSequence(int(s))).standard_normal(P) for s in seeds])
    V /= _norms(V)[:, None]
    h = 1e-6 * np.maximum(1.0, _norms(x))
    lam = np.zeros(R)
    live = np.arange(R)
    for _ in range(iters):
        if live.size == 0:
            break
        _, g1 = fg(x[live] + h[live, None] * V[live], live)
        hv = (g1 - g0[live]) / h[live, None]
        lv = _norms(hv)
        lam[live] = lv
        ok = (lv != 0) & np.isfinite(lv)
        V[live[ok]] = hv[ok] / lv[ok, None]
        live = live[ok]
    return lam


def _first_order(fg, x, runs, method, max_iter, gtol, zero2, lr, seeds):
    idx = np.arange(x.shape[0])
    f, g, step = _first_steps(fg, x, method, lr, seeds)
    if method == "adam":
        m = np.zeros_like(x)
        v = np.zeros_like(x)
        b1, b2, eps = 0.9, 0.999, 1e-12
    # live runs are the rows of x, f, g (compacted as runs stop); idx maps them to run numbers
    for it in range(1, max_iter + 1):
        bad = ~np.isfinite(f)
        zero = ~bad & (f <= zero2)
        rest = ~(bad | zero)
        small = np.zeros(idx.size, dtype=bool)
        small[rest] = _norms(g[rest]) <= gtol
        for mask, status, msg in (
            (bad, "diverged", "non-finite cost"),
            (zero, "zero", "cost reached zero"),
            (small, "converged", "gradient below gtol"),
        ):
            if mask.any():
                runs.finish(idx[mask], status, msg, x[mask], f[mask], g[mask], it)
        keep = rest & ~small
        if not keep.all():
            idx, x, f, g, step = idx[keep], x[keep], f[keep], g[keep], step[keep]
            if method == "adam":
                m, v = m[keep], v[keep]
        if idx.size == 0:
            return
        if method == "gd":
            x_new, f_new, g_new = np.empty_like(x), np.empty_like(f), np.empty_like(g)
            pend = np.arange(idx.size)
            for _ in range(60):
                xt = x[pend] - step[pend, None] * g[pend]
                ft, gt = fg(xt, idx[pend])
                ok = np.isfinite(ft) & (ft <= f[pend])
                acc = pend[ok]
                x_new[acc], f_new[acc], g_new[acc] = xt[ok], ft[ok], gt[ok]
                pend = pend[~ok]
                step[pend] *= 0.5
                if pend.size == 0:
                    break
            if pend.size:
                runs.finish(idx[pend], "converged", "no descent step found", x[pend], f[pend], g[pend], it)
                keep = np.ones(idx.size, dtype=bool)
                keep[pend] = False
                idx, x, f, g, step = idx[keep], x[keep], f[keep], g[keep], step[keep]
                x_new, f_new, g_new = x_new[keep], f_new[keep], g_new[keep]
                if idx.size == 0:
                    return
        else:
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            x_new = x - step[:, None] * (m / (1 - b1**it)) / (np.sqrt(v / (1 - b2**it)) + eps)
            f_new, g_new = fg(x_new, idx)
        x, f, g = x_new, f_new, g_new
    zero = f <= zero2
    runs.finish(idx[zero], "zero", "max_iter reached", x[zero], f[zero], g[zero], max_iter)
    runs.finish(idx[~zero], "max_iter", "max_iter reached", x[~zero], f[~zero], g[~zero], max_iter)


def _first_steps(fg, x, method, lr, seeds):
    """Cost, gradient and first step (GD: 0.2 / λ_max by the power iteration; Adam: the learning
    rate) of every row of x: the start of :func:`_first_order`."""
    f, g = fg(x, np.arange(x.shape[0]))
    if method == "gd":
        lam = _power_lambda_max(fg, x, g, seeds)
        return f, g, np.where(lam > 0, 0.2 / np.where(lam > 0, lam, 1.0), 1e-2)
    return f, g, np.full(x.shape[0], 1e-3 if lr is None else float(lr))


# the endings of the compiled GD and Adam (the FO_ codes of _fused_first_order.h): status and message
_FO_ENDINGS = {
    1: ("zero", "cost reached zero"),
    2: ("converged", "gradient below gtol"),
    3: ("converged", "no descent step found"),
    4: ("max_iter", "max_iter reached"),
}


def _first_order_compiled(data, X0, runs, method, max_iter, gtol, zero2, lr, seeds, fg, simd=0):
    """:func:`_first_order` compiled beside the fused kernel (``dlgeom._fused.first_order``,
    _fused_first_order.h), run by run: the same first steps (found here), updates, tests, statuses,
    messages and iteration counts, so the same end points bit for bit wherever no |∇| lies within
    rounding of gtol (the C loop sums |∇|² in another order).  A run that meets a non-finite cost or
    gradient is rerun by :func:`_first_order` on the fused kernel, as the whole batch ran before."""
    XT, T, w = _padded_columns(data)
    q, (R, P) = data.n_classes, X0.shape
    L = P // (q * q + q) - 1
    x = X0.copy()
    f, g, step = _first_steps(fg, x, method, lr, seeds)
    f, g = np.ascontiguousarray(f, dtype=np.float64), np.ascontiguousarray(g, dtype=np.float64)
    nit, nev, code = np.zeros(R, dtype=np.int64), np.zeros(R, dtype=np.int64), np.zeros(R, dtype=np.int64)
    adam = int(method == "adam")
    _fused.first_order(x, f, g, step, XT, T, w, q, L, adam, max_iter, gtol, zero2, nit, nev, code, simd)
    runs.n_evals += nev
    # as _first_order's end: a run at the zero level after max_iter is 'zero' (the other endings
    # are above it: the zero test comes first in every iteration)
    _finish_compiled(runs, code, _FO_ENDINGS, x, f, g, nit, zero2)
    _rerun_in_numpy(
        runs,
        code,
        X0,
        fg,
        lambda fg_sub, X, sub, redo: _first_order(
            fg_sub, X, sub, method, max_iter, gtol, zero2, lr, [seeds[i] for i in redo]
        ),
    )


def _finish_compiled(runs, code, endings, x, f, g, nit, zero2, gtol=None):
    """Record the end points of a compiled optimiser's runs by their ending ``code`` (``endings``:
    code → status and message).  A run with C² ≤ zero2 is 'zero' whatever its ending; with
    ``gtol``, a 'max_iter' run with |∇| ≤ gtol is 'converged'."""
    for c, (status, msg) in endings.items():
        ids = np.flatnonzero(code == c)
        if ids.size == 0:
            continue
        stat = np.full(ids.size, status, dtype=object)
        if status == "max_iter" and gtol is not None:
            stat[_norms(g[ids]) <= gtol] = "converged"
        stat[f[ids] <= zero2] = "zero"
        for s_ in np.unique(stat):
            sel = ids[stat == s_]
            runs.finish(sel, s_, msg, x[sel], f[sel], g[sel], nit[sel])


def _rerun_in_numpy(runs, code, X0, fg, loop):
    """The runs that met a non-finite value in C (code 0), rerun from their starts by a numpy
    ``loop(fg, X, sub_runs, run_numbers)`` on ``fg`` (whose evaluation of such points follows the
    numpy kernel), their evaluations counted afresh."""
    redo = np.flatnonzero(code == 0)
    if redo.size == 0:
        return
    sub = _Runs(redo.size, X0.shape[1])

    def fg_sub(Z, idx):
        sub.n_evals[idx] += 1
        return fg(Z, redo[idx])

    runs.n_evals[redo] = 0
    loop(fg_sub, X0[redo].copy(), sub, redo)
    runs.n_evals[redo] = sub.n_evals
    for i, r in enumerate(redo):
        runs.finish([r], sub.status[i], sub.message[i], sub.x[i], sub.f[i], sub.g[i], sub.n_iter[i])


def _lbfgs_direction(g, S, Y, SY, YY, count, head):
    """L-BFGS direction −H∇ for every row, by the compact representation of H (Byrd, Nocedal &
    Schnabel 1994): equal to the two-loop recursion in exact arithmetic, and a few batched
    products whatever the memory size m.  S, Y: (R, m, P) ring buffers of the stored pairs (the
    ``count`` newest end at slot head − 1), SY = SᵀY and YY = YᵀY their (R, m, m) Gram matrices;
    H₀ = γI with γ = sᵀy / yᵀy of the newest pair."""
    R, m, P = S.shape
    order = (head[:, None] + np.arange(m)) % m  # chronological slot order
    valid = np.arange(m)[None, :] >= (m - count)[:, None]  # in chronological order
    both = valid[:, :, None] & valid[:, None, :]

    rows = np.arange(R)[:, None]
    SYc = SY[rows[:, :, None], order[:, :, None], order[:, None, :]]
    YYc = YY[rows[:, :, None], order[:, :, None], order[:, None, :]]
    Rm = np.where(both, np.triu(SYc), 0.0) + np.eye(m) * (~valid)[:, :, None]  # unused slots: identity
    D = np.where(valid, np.diagonal(SYc, axis1=1, axis2=2), 0.0)
    yy = YYc[:, -1, -1]
    gamma = np.where(count > 0, SYc[:, -1, -1] / np.where(count > 0, yy, 1.0), 1.0)
    Sg = np.matmul(S, g[:, :, None])[:, :, 0]
    Yg = np.matmul(Y, g[:, :, None])[:, :, 0]
    a = np.where(valid, Sg[rows, order], 0.0)  # Sᵀg
    b = np.where(valid, gamma[:, None] * Yg[rows, order], 0.0)  # γ Yᵀg
    Rinv = np.linalg.inv(Rm)
    u = np.matmul(Rinv, a[:, :, None])[:, :, 0]  # R⁻¹ a
    inner = D[:, :, None] * np.eye(m) + gamma[:, None, None] * np.where(both, YYc, 0.0)
    p = np.matmul(Rinv.transpose(0, 2, 1), (np.matmul(inner, u[:, :, None])[:, :, 0] - b)[:, :, None])[:, :, 0]
    p_ring, u_ring = np.empty_like(p), np.empty_like(u)  # back to slot order
    p_ring[rows, order] = p
    u_ring[rows, order] = u
    Hg = (
        gamma[:, None] * g
        + np.matmul(p_ring[:, None, :], S)[:, 0, :]
        - gamma[:, None] * np.matmul(u_ring[:, None, :], Y)[:, 0, :]
    )
    return -Hg


def _two_loop(g, S, Y, SY, YY, count, head):
    """The same direction by the two-loop recursion, vectorised over runs: 2m steps of a few
    (R, P) operations each, cheaper than the compact form when many runs share the steps."""
    R, m, P = S.shape
    rows = np.arange(R)
    qv = g.copy()
    alpha = np.zeros((R, m))
    for k in range(min(m, int(count.max(initial=0)))):  # newest to oldest
        slot = (head - 1 - k) % m
        use = k < count
        s, y = S[rows, slot], Y[rows, slot]
        a = np.where(use, np.einsum("ij,ij->i", s, qv) / np.where(use, SY[rows, slot, slot], 1.0), 0.0)
        alpha[:, k] = a
        qv -= a[:, None] * y
    newest = (head - 1) % m
    yy = YY[rows, newest, newest]
    gamma = np.where(count > 0, SY[rows, newest, newest] / np.where(count > 0, yy, 1.0), 1.0)
    r = gamma[:, None] * qv
    for k in range(min(m, int(count.max(initial=0))) - 1, -1, -1):  # oldest to newest
        slot = (head - 1 - k) % m
        use = k < count
        s, y = S[rows, slot], Y[rows, slot]
        b = np.einsum("ij,ij->i", y, r) / np.where(use, SY[rows, slot, slot], 1.0)
        r += np.where(use, alpha[:, k] - b, 0.0)[:, None] * s
    return -r


def _lbfgs(fg, x, runs, max_iter, gtol, zero2, m, c1=1e-3, c2=0.9, max_ls=20, maxfun=15000):
    R, P = x.shape
    eps = np.finfo(float).eps
    st = {
        "idx": np.arange(R),
        "x": x,
        "S": np.zeros((R, m, P)),
        "Y": np.zeros((R, m, P)),
        "SY": np.zeros((R, m, m)),
        "YY": np.zeros((R, m, m)),
        "count": np.zeros(R, dtype=np.int64),
        "head": np.zeros(R, dtype=np.int64),
        "nit": np.zeros(R, dtype=np.int64),
    }
    st["f"], st["g"] = fg(x, st["idx"])

    def stop(mask, status, msg, *extra):
        """End the runs in ``mask`` ('zero' wins where C² is at zero level; an unfinished run
        whose gradient is below gtol counts as 'converged', as in landscape.optimise), drop
        them from the state and from the ``extra`` per-run arrays."""
        if not mask.any():
            return extra
        f, g = st["f"][mask], st["g"][mask]
        stat = np.full(f.size, status, dtype=object)
        if status == "max_iter":
            stat[_norms(np.where(np.isfinite(g), g, np.inf)) <= gtol] = "converged"
        if status != "diverged":
            stat[f <= zero2] = "zero"
        ids = st["idx"][mask]
        for s_ in np.unique(stat):
            sel = stat == s_
            runs.finish(ids[sel], s_, msg, st["x"][mask][sel], f[sel], g[sel], st["nit"][mask][sel])
        keep = ~mask
        for k in st:
            st[k] = st[k][keep]
        return tuple(a[keep] for a in extra)

    stop(~np.isfinite(st["f"]), "diverged", "non-finite cost")
    stop(np.abs(st["g"]).max(axis=1) <= gtol, "converged", "projected gradient below gtol")
    while st["idx"].size:
        x, f, g, count = st["x"], st["f"], st["g"], st["count"]
        # the two forms of the same direction: per-step work over runs, or a fixed number of calls
        direction = _two_loop if count.size >= 32 else _lbfgs_direction
        d = direction(g, st["S"], st["Y"], st["SY"], st["YY"], count, st["head"])
        gd = np.einsum("ij,ij->i", g, d)
        uphill = ~(gd < 0)
        if uphill.any():  # not a descent direction: forget the memory
            count[uphill] = 0
            d[uphill] = -g[uphill]
            gd[uphill] = np.einsum("ij,ij->i", g[uphill], d[uphill])
        t = np.where(st["nit"] == 0, np.minimum(1.0 / np.maximum(_norms(d), 1e-300), 1e10), 1.0)
        lo, hi = np.zeros(t.size), np.full(t.size, np.inf)
        done = np.zeros(t.size, dtype=bool)
        x_new, f_new, g_new = x.copy(), f.copy(), g.copy()  # the accepted (or best) point
        pend = np.arange(t.size)
        for _ in range(max_ls):
            xt = x[pend] + t[pend, None] * d[pend]
            ft, gt = fg(xt, st["idx"][pend])
            slope = np.einsum("ij,ij->i", gt, d[pend])
            armijo = np.isfinite(ft) & (ft <= f[pend] + c1 * t[pend] * gd[pend])
            ok = armijo & (np.abs(slope) <= -c2 * gd[pend])  # strong Wolfe
            keep = ok | (armijo & (ft < f_new[pend]))  # accepted, or the best so far
            sel = pend[keep]
            x_new[sel], f_new[sel], g_new[sel] = xt[keep], ft[keep], gt[keep]
            done[pend[ok]] = True
            short = armijo & ~ok & (slope < 0)  # still steeply downhill
            lo[pend[short]] = t[pend[short]]
            hi[pend[~ok & ~short]] = t[pend[~ok & ~short]]
            pend = pend[~ok]
            # the bracket is tight (relative width ≤ 0.1, dcsrch's xtol): take the best point found
            tight = np.isfinite(hi[pend]) & (hi[pend] - lo[pend] <= 0.1 * hi[pend])
            done[pend[tight]] = True
            pend = pend[~tight]
            if pend.size == 0:
                break
            t[pend] = np.where(np.isinf(hi[pend]), 2.0 * lo[pend], 0.5 * (lo[pend] + hi[pend]))
        # a failed line search: retry along −∇ with an empty memory; with an empty memory, end
        retry = ~done & (count > 0)
        count[retry] = 0
        x_new, f_new, g_new, done, gd, d, t = stop(
            ~done & ~retry, "max_iter", "line search failed", x_new, f_new, g_new, done, gd, d, t
        )
        if not st["idx"].size:
            break
        x, f, g = st["x"], st["f"], st["g"]
        s_vec = x_new - x
        y_vec = g_new - g
        sy = np.einsum("ij,ij->i", s_vec, y_vec)
        # store the pair where the curvature s·y is clearly positive (the test of L-BFGS-B)
        store = np.flatnonzero(done & (sy > eps * -np.einsum("ij,ij->i", s_vec, g)))
        if store.size:  # the new pair replaces the oldest one
            j = st["head"][store]
            S_, Y_ = st["S"], st["Y"]
            S_[store, j], Y_[store, j] = s_vec[store], y_vec[store]
            sv, yv = s_vec[store][:, None, :], y_vec[store][:, None, :]
            st["SY"][store, j, :] = np.matmul(sv, Y_[store].transpose(0, 2, 1))[:, 0, :]
            st["SY"][store, :, j] = np.matmul(S_[store], yv.transpose(0, 2, 1))[:, :, 0]
            yy_row = np.matmul(yv, Y_[store].transpose(0, 2, 1))[:, 0, :]
            st["YY"][store, j, :] = yy_row
            st["YY"][store, :, j] = yy_row
            st["head"][store] = (j + 1) % m
            st["count"][store] = np.minimum(st["count"][store] + 1, m)
        f_old = f
        st["x"], st["f"], st["g"] = x_new, f_new, g_new
        st["nit"][done] += 1
        (f_old, done) = stop(~np.isfinite(st["f"]), "diverged", "non-finite cost", f_old, done)
        (f_old, done) = stop(done & (st["nit"] >= max_iter), "max_iter", "max_iter reached", f_old, done)
        (f_old, done) = stop(runs.n_evals[st["idx"]] > maxfun, "max_iter", "evaluation limit reached", f_old, done)
        (f_old, done) = stop(
            done & (np.abs(st["g"]).max(axis=1) <= gtol), "converged", "projected gradient below gtol", f_old, done
        )
        f = st["f"]
        stop(
            done & (f_old - f <= 1e-30 * np.maximum(np.maximum(np.abs(f_old), np.abs(f)), 1.0)),
            "converged",
            "no relative reduction of the cost",
        )


# the endings of the compiled L-BFGS (the LB_ codes of _fused_lbfgs.h): status and message
_LB_ENDINGS = {
    1: ("converged", "projected gradient below gtol"),
    2: ("max_iter", "line search failed"),
    3: ("max_iter", "max_iter reached"),
    4: ("max_iter", "evaluation limit reached"),
    5: ("converged", "projected gradient below gtol"),
    6: ("converged", "no relative reduction of the cost"),
}


def _lbfgs_compiled(data, X0, runs, max_iter, gtol, zero2, m, fg, c1=1e-3, c2=0.9, max_ls=20, maxfun=15000, simd=0):
    """:func:`_lbfgs` compiled beside the fused kernel (``dlgeom._fused.lbfgs``, _fused_lbfgs.h): the
    same algorithm with the same constants, statuses, messages and iteration counts, run by run from
    start to end (no batch: a run's trajectory does not depend on the other runs).  Its direction
    is always the two-loop recursion (the numpy loop takes the compact form for fewer than 32 live
    runs: equal in exact arithmetic) and its sums run in another order, so end points agree with the
    numpy loop's to rounding along short runs and in distribution over long ones.  A run that meets
    a non-finite cost or gradient is rerun by the numpy loop on the fused kernel (whose evaluation
    then falls back to the numpy kernel's values, as everywhere on this engine)."""
    XT, T, w = _padded_columns(data)
    q, P = data.n_classes, X0.shape[1]
    L = P // (q * q + q) - 1
    R = X0.shape[0]
    x, f, g = X0.copy(), np.empty(R), np.empty((R, P))
    nit, nev, code = np.zeros(R, dtype=np.int64), np.zeros(R, dtype=np.int64), np.zeros(R, dtype=np.int64)
    _fused.lbfgs(x, XT, T, w, q, L, max_iter, gtol, m, c1, c2, max_ls, maxfun, f, g, nit, nev, code, simd)
    runs.n_evals[:] = nev
    # as _lbfgs's stop(): at max_iter, below gtol counts as converged; the zero level as zero
    _finish_compiled(runs, code, _LB_ENDINGS, x, f, g, nit, zero2, gtol)
    _rerun_in_numpy(
        runs,
        code,
        X0,
        fg,
        lambda fg_sub, X, sub, redo: _lbfgs(fg_sub, X, sub, max_iter, gtol, zero2, m, c1, c2, max_ls, maxfun),
    )
