"""Synthetic clustered data in R^Q with a controlled δ-ratio and cone angle.

Mean simplex.  Q = 2: x̄_1 = e_1, x̄_2 = e_2.  Q ≥ 3: the regular simplex x̄_j = e_j (X^red = I,
cone angle θ_Q^reg = 2 arccos √(Q/(2(Q−1))), e.g. π/3 for Q = 3), deformed by tilting the first
vertex about the centroid c' of the others: x̄_0(φ) = c' + h (cos φ n + sin φ w), with n the unit
vector from c' to the regular x̄_0, w the unit vector from c' to x̄_1 and h the regular height.
The cone angle at δ = 0, θ(φ) = max_j θ_{*,j}, grows from the regular value (φ = 0) towards 2π
(φ → π/2, where x̄_1 lies almost between x̄_0 and the rest); φ is found for the requested θ by
root finding.  Everything stays in the affine hyperplane Σ_k x_k = 1, so X^red is invertible.

Noise.  Deviations are drawn per class ('uniform' in the ball, 'gaussian', or 'anisotropic':
Gaussian with a random covariance of axis ratios up to 1:``elongation``), centred per class (so
the class means are exactly the designed ones) and scaled by one factor so that the largest
inlier deviation is exactly δ = r · min_j |x̄_j − x̄|.  Outliers (a fraction of each class, at
least one point when the fraction is positive) sit at 2–4 δ in random directions, so they raise
the realised δ-ratio above the requested one; the realised value is stored.
"""

from __future__ import annotations

import numpy as np

from .data import Dataset
from .geometry import class_means, cone_angles, noise_radius
from .validation import DlgeomInputError, check_choice, check_float, check_int

__all__ = ["mean_simplex", "regular_cone_angle", "max_cone_angle", "make_clustered", "NOISE_SHAPES"]

NOISE_SHAPES = ("uniform", "gaussian", "anisotropic")
_PHI_MAX = np.pi / 2 * (1 - 1e-9)


def regular_cone_angle(q: int) -> float:
    """max_j θ_{*,j} of the regular simplex at δ = 0: 2 arccos √(Q / (2(Q−1))) (0 for Q = 2)."""
    return 2.0 * np.arccos(min(1.0, np.sqrt(q / (2.0 * (q - 1)))))


def _tilted_simplex(q: int, phi: float) -> np.ndarray:
    means = np.eye(q)
    others = means[1:].mean(axis=0)
    n = means[0] - others
    h = np.linalg.norm(n)
    n /= h
    w = means[1] - others
    w /= np.linalg.norm(w)
    means[0] = others + h * (np.cos(phi) * n + np.sin(phi) * w)
    return means


def max_cone_angle(q: int) -> float:
    """Largest cone angle the family reaches for this Q (up to 2π within rounding)."""
    return float(np.max(cone_angles(_tilted_simplex(q, _PHI_MAX), 0.0)))


def mean_simplex(q: int, theta: float | None = None) -> np.ndarray:
    """Class means (rows) with max_j θ_{*,j} = ``theta`` at δ = 0 (regular simplex if None)."""
    q = check_int(q, "Q", minimum=2)
    if theta is None or q == 2:
        if theta is not None and q == 2:
            raise DlgeomInputError("theta: Q = 2 has no cone-angle axis (two means always give 0); omit theta")
        return np.eye(q)
    lo = regular_cone_angle(q)
    hi = max_cone_angle(q)
    theta = check_float(theta, "theta", low=lo, high=hi)
    if np.isclose(theta, lo, rtol=0, atol=1e-13):
        return np.eye(q)
    g = lambda phi: float(np.max(cone_angles(_tilted_simplex(q, phi), 0.0))) - theta
    phi = _brentq(g, 0.0, _PHI_MAX, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
    return _tilted_simplex(q, phi)


def _brentq(f, xa: float, xb: float, xtol: float, rtol: float, maxiter: int) -> float:
    """A root of f in [xa, xb] (f(xa), f(xb) of opposite signs) by Brent's method, step for step
    the algorithm of ``scipy.optimize.brentq`` (the same comparisons and the same float64
    operations in the same order, so the same iterates to the last bit; a test checks it against
    scipy).  Written out so that a data job does not import scipy.optimize, which costs a third of
    a second per job, for one root.  Stops when the bracket is below xtol + rtol·|x|."""
    xpre, xcur = float(xa), float(xb)
    xblk = fblk = spre = scur = 0.0
    fpre, fcur = float(f(xpre)), float(f(xcur))
    if fpre * fcur > 0:
        raise ValueError("_brentq: f(xa) and f(xb) must have opposite signs")
    if fpre == 0:
        return xpre
    if fcur == 0:
        return xcur
    for _ in range(maxiter):
        if fpre * fcur < 0:
            xblk, fblk = xpre, fpre
            spre = scur = xcur - xpre
        if abs(fblk) < abs(fcur):
            xpre, xcur, xblk = xcur, xblk, xcur
            fpre, fcur, fblk = fcur, fblk, fcur
        delta = (xtol + rtol * abs(xcur)) / 2
        sbis = (xblk - xcur) / 2
        if fcur == 0 or abs(sbis) < delta:
            return xcur
        if abs(spre) > delta and abs(fcur) < abs(fpre):
            if xpre == xblk:  # interpolate
                stry = -fcur * (xcur - xpre) / (fcur - fpre)
            else:  # extrapolate
                dpre = (fpre - fcur) / (xpre - xcur)
                dblk = (fblk - fcur) / (xblk - xcur)
                stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
            bound = abs(spre) if abs(spre) < 3 * abs(sbis) - delta else 3 * abs(sbis) - delta
            if 2 * abs(stry) < bound:  # good short step
                spre, scur = scur, stry
            else:  # bisect
                spre = scur = sbis
        else:  # bisect
            spre = scur = sbis
        xpre, fpre = xcur, fcur
        xcur += scur if abs(scur) > delta else (delta if sbis > 0 else -delta)
        fcur = float(f(xcur))
    raise RuntimeError(f"_brentq: no convergence in {maxiter} iterations")


def _integral(value, name):
    """An integral number as int (1.0 -> 1); anything else is returned for check_int to reject."""
    if isinstance(value, (bool, np.bool_)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        return int(value)
    raise DlgeomInputError(f"{name}: expected an integer, got {value!r}")


def _unit_directions(rng, n, q):
    v = rng.standard_normal((n, q))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _raw_noise(rng, n, q, shape, elongation):
    if shape == "uniform":
        return _unit_directions(rng, n, q) * rng.random(n)[:, None] ** (1.0 / q)
    z = rng.standard_normal((n, q))
    if shape == "gaussian":
        return z
    # anisotropic: random orthogonal axes, axis scales log-spaced from 1 to elongation
    axes, _ = np.linalg.qr(rng.standard_normal((q, q)))
    scales = np.geomspace(1.0, elongation, q)
    return (z * scales) @ axes.T


def make_clustered(
    q: int,
    n_per_class=100,
    delta_ratio: float = 0.1,
    theta: float | None = None,
    noise: str = "uniform",
    outlier_fraction: float = 0.0,
    elongation: float = 5.0,
    scale: float = 1.0,
    seed=0,
) -> Dataset:
    """Clustered data in R^Q, Q classes.

    Parameters
    ----------
    q : number of classes and dimension Q ≥ 2.
    n_per_class : int or sequence of Q ints (≥ 2 each; a sequence makes classes imbalanced).
    delta_ratio : r = δ / min_j |x̄_j − x̄| > 0 of the inliers (the paper needs r < 1/4).
    theta : cone angle max_j θ_{*,j} of the mean simplex at δ = 0 (Q ≥ 3), from the regular
        simplex's value (default) up to just below 2π.
    noise : 'uniform' (in the ball, default), 'gaussian' or 'anisotropic'.
    outlier_fraction : in [0, 0.5); outliers at 2–4 δ.
    elongation : axis ratio of 'anisotropic' clusters (≥ 1).
    scale : multiplies every coordinate (means and noise).
    seed : int or sequence of ints, fed to ``numpy.random.SeedSequence``.

    Returns a :class:`Dataset` whose ``meta`` records the arguments, the seed and the realised
    r, θ_* = max_j θ_{*,j} (with the 4δ margins) and cond(X^red).  Same arguments, same arrays.
    """
    q = check_int(q, "Q", minimum=2)
    counts = np.broadcast_to(np.asarray(n_per_class), (q,)) if np.ndim(n_per_class) == 0 else np.asarray(n_per_class)
    if counts.shape != (q,):
        raise DlgeomInputError(f"n_per_class: expected one integer or {q} integers, got {np.shape(n_per_class)}")
    counts = np.array(
        [
            check_int(_integral(c, f"n_per_class[{j}]"), f"n_per_class[{j}]", minimum=2)
            for j, c in enumerate(counts.tolist())
        ]
    )
    delta_ratio = check_float(delta_ratio, "delta_ratio", low=0.0, low_open=True)
    noise = check_choice(noise, "noise", NOISE_SHAPES)
    outlier_fraction = check_float(outlier_fraction, "outlier_fraction", low=0.0, high=0.5, high_open=True)
    elongation = check_float(elongation, "elongation", low=1.0)
    scale = check_float(scale, "scale", low=0.0, low_open=True)
    seed_entropy = [_integral(s, "seed") for s in np.atleast_1d(seed).tolist()]
    if any(not isinstance(s, int) for s in seed_entropy) or any(s < 0 for s in seed_entropy):
        raise DlgeomInputError(f"seed: must be non-negative integers, got {seed}")
    rng = np.random.default_rng(np.random.SeedSequence(seed_entropy))

    means = mean_simplex(q, theta) * scale
    bary = means.mean(axis=0)
    delta = delta_ratio * float(np.min(np.linalg.norm(means - bary, axis=1)))

    y = np.repeat(np.arange(q), counts)
    dev = np.empty((y.size, q))
    inlier = np.ones(y.size, dtype=bool)
    for j in range(q):
        rows = np.flatnonzero(y == j)
        d = _raw_noise(rng, rows.size, q, noise, elongation)
        # the tolerance keeps e.g. 0.07 * 100 = 7.000000000000001 from rounding up to 8
        n_out = int(np.ceil(outlier_fraction * rows.size - 1e-9)) if outlier_fraction > 0 else 0
        n_out = min(n_out, rows.size - 1)
        if n_out:
            pick = rng.choice(rows.size, size=n_out, replace=False)
            inlier[rows[pick]] = False
            d[pick] = np.nan  # placed after scaling
        dev[rows] = d
    # centre inliers per class and scale so the largest inlier deviation is δ
    for j in range(q):
        rows = np.flatnonzero((y == j) & inlier)
        dev[rows] -= dev[rows].mean(axis=0)
    radius = float(np.max(np.linalg.norm(dev[inlier], axis=1)))
    dev[inlier] *= (delta / radius) if radius > 0 else 0.0
    n_outliers = int(np.count_nonzero(~inlier))
    if n_outliers:
        out_rows = np.flatnonzero(~inlier)
        dev[out_rows] = (
            _unit_directions(rng, out_rows.size, q) * (delta * rng.uniform(2.0, 4.0, out_rows.size))[:, None]
        )
        for j in range(q):  # re-centre the whole class so the mean is exact again
            rows = np.flatnonzero(y == j)
            dev[rows] -= dev[rows].mean(axis=0)
    X = means[y] + dev

    realised_means = class_means(X, y, q)
    realised_delta = noise_radius(X, y, realised_means)
    dist = np.linalg.norm(realised_means - realised_means.mean(axis=0), axis=1)
    meta = {
        "generator": "dlgeom.make_clustered",
        "Q": q,
        "n_per_class": counts.tolist(),
        "delta_ratio": delta_ratio,
        "theta": None if theta is None else float(theta),
        "noise": noise,
        "outlier_fraction": outlier_fraction,
        "elongation": elongation,
        "scale": scale,
        "seed": seed_entropy,
        "n_outliers": n_outliers,
        "realised": {
            "r": realised_delta / float(np.min(dist)),
            "theta_max": float(np.max(cone_angles(realised_means, realised_delta))),
            "theta_mean_simplex": float(np.max(cone_angles(realised_means, 0.0))),
            "cond_xred": float(np.linalg.cond(realised_means.T)),
            "delta": realised_delta,
        },
    }
    return Dataset(X, y, None, meta)
