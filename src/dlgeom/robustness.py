"""Robustness beyond the paper's assumptions: perturbations of clustered data, the μ search and
the baselines.

The paper's assumptions (A1 X^red invertible, A2 r < 1/4, A3 θ_* < π) are sufficient
conditions.  This module moves data away from them one factor at a time and measures, at every
point, which assumptions hold and by what margin, whether the construction reaches zero cost at
the default μ, whether *any* μ does (:func:`search_mu`), and the held-out accuracy of the
induced-metric classifier against simple baselines (:func:`baseline_accuracies`).  The study's
measurement of one point, with its defaults, is :func:`dlgeom.study.measurements.measure_point`.

Perturbations (each records what it realised in ``meta``):

* :func:`flip_labels`: label noise, an exact number ``round(fraction · N)`` of labels moved to
  another class (seeded).
* :func:`imbalance_counts`: class sizes falling geometrically from ``n`` to ``n / ratio``.
* :func:`near_singular_means` / :func:`with_means`: class means with a prescribed cond(X^red).
  X^red = I − (1 − ε) w wᵀ with ε = 1/cond, so cond(X^red) = 1/ε exactly.  ``mode='flatten'``:
  w is the unit vector from the barycenter towards x̄_1 inside the plane Σ_k x_k = 1, i.e. the
  regular mean simplex is squashed along w; as ε → 0 the means become affinely dependent (for
  Q = 3: collinear, with x̄_1 between the other two), so r and θ_* move too.
  ``mode='shift'``: w = û = u_Q/√Q, i.e. the regular simplex is translated towards the origin;
  its affine geometry (r, θ_*, D) is unchanged and only A1 degrades.
* outliers and noise shapes: :func:`dlgeom.synthetic.make_clustered` (``outlier_fraction``,
  ``noise``, ``elongation``).

μ search (:func:`search_mu`).  The exact per-class collapse thresholds t_j of
:func:`dlgeom.construct.collapse_thresholds` say that μ_j < t_j maps the whole class j to its
apex p_j = x̄_j − μ_j f_j.  The apex moves from x̄_j towards the barycenter as μ_j decreases; it
stays a valid apex (between x̄_j and x̄, the D_eff-like constraint |μ_j| < |x̄_j − x̄|) down to
−|x̄_j − x̄|.  Candidates: (a) a per-class line μ_j(s) = t_j − s (t_j − ℓ_j), s ∈ (0, 1), from just
below the threshold to just above the lower end ℓ_j; (b) a common-value line μ_j = m for m between
max_j ℓ_j and min_j t_j; (c) random draws with μ_j uniform in (ℓ_j, t_j).  Where t_j ≤ −|x̄_j − x̄|
(no room) the interval is (t_j − |x̄_j − x̄|, t_j).  Every candidate gets the output layer by
weighted least squares with the free bias (what the network can do), and the best one is
re-checked with a full forward pass.
"""

from __future__ import annotations

import warnings

import numpy as np

from .construct import (
    collapse_thresholds,
    construct_pattern,
    hidden_network,
    output_lstsq,
)
from .data import Dataset
from .geometry import (
    class_means,
    geometry,
)
from .network import cost
from .thresholds import OPTIMISER_ZERO, ZERO_COST
from .validation import (
    DlgeomInputError,
    check_choice,
    check_float,
    check_int,
)

__all__ = [
    "baseline_accuracies",
    "clusteredness",
    "curation_check",
    "flip_labels",
    "imbalance_counts",
    "mu_candidates",
    "near_singular_means",
    "optimiser_comparison",
    "search_mu",
    "with_means",
]


def _rng(seed) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(s) for s in np.atleast_1d(seed).tolist()]))


# ---- perturbations ----------------------------------------------------------------------------


def flip_labels(data: Dataset, fraction: float, seed=0) -> Dataset:
    """Label noise: exactly ``round(fraction · N)`` points, chosen at random, get a label drawn
    uniformly from the *other* classes.  X is unchanged.  ``meta['label_noise']`` records the
    requested and realised fraction, the number flipped and the seed.

    Raises :class:`DlgeomInputError` if ``fraction`` is outside [0, 1 − 1/Q] or a class would
    keep fewer than 2 points.
    """
    q = data.n_classes
    fraction = check_float(fraction, "label_noise", low=0.0, high=1.0 - 1.0 / q)
    rng = _rng(seed)
    n_flip = round(fraction * data.n_points)
    rows = np.sort(rng.choice(data.n_points, size=n_flip, replace=False))
    y = data.y.copy()
    y[rows] = (y[rows] + rng.integers(1, q, size=n_flip)) % q
    counts = np.bincount(y, minlength=q)
    if counts.min() < 2:
        raise DlgeomInputError(
            f"label_noise: flipping {n_flip} of {data.n_points} labels leaves class {int(counts.argmin())} "
            f"with {int(counts.min())} point(s); every class needs at least 2 (use a smaller fraction)"
        )
    meta = {
        **data.meta,
        "label_noise": {
            "requested": fraction,
            "realised": n_flip / data.n_points,
            "n_flipped": n_flip,
            "seed": [int(s) for s in np.atleast_1d(seed)],
        },
    }
    return Dataset(data.X, y, data.Y, meta)


def imbalance_counts(q: int, n: int, ratio: float) -> list[int]:
    """Class sizes N_j = max(2, round(n · ratio^(−j/(Q−1)))), j = 0..Q−1: from n down to n/ratio."""
    q = check_int(q, "Q", minimum=2)
    n = check_int(n, "n_per_class", minimum=2)
    ratio = check_float(ratio, "imbalance", low=1.0)
    return [max(2, round(n * ratio ** (-j / (q - 1)))) for j in range(q)]


def near_singular_means(q: int, cond: float, mode: str = "flatten") -> np.ndarray:
    """Class means (rows) with cond(X^red) = ``cond``: X^red = I − (1 − ε) w wᵀ, ε = 1/cond.

    ``mode='flatten'``: w ⟂ u_Q, from the barycenter towards e_1 (the regular simplex squashed
    along w, near-collinear for Q = 3); ``mode='shift'``: w = u_Q/√Q (the simplex translated
    towards the origin, affine geometry unchanged).  X^red is symmetric with eigenvalues ε (once)
    and 1, so the condition number is exactly 1/ε up to rounding.
    """
    q = check_int(q, "Q", minimum=2)
    cond = check_float(cond, "cond_xred", low=1.0)
    mode = check_choice(mode, "mode", ("flatten", "shift"))
    eps = 1.0 / cond
    if mode == "shift":
        w = np.full(q, 1.0 / np.sqrt(q))
    else:
        w = np.eye(q)[0] - 1.0 / q
        w /= np.linalg.norm(w)
    return np.eye(q) - (1.0 - eps) * np.outer(w, w)


def with_means(data: Dataset, means: np.ndarray, keep_ratio: bool = True) -> Dataset:
    """Move every class to a new mean, keeping its deviations Δx_{j,i}.

    With ``keep_ratio`` the deviations are scaled by min_j|x̄'_j − x̄'| / min_j|x̄_j − x̄| so the
    δ-ratio r is unchanged.  ``meta['means']`` records the realised cond(X^red) and scale.
    """
    q = data.n_classes
    means = np.asarray(means, dtype=np.float64)
    if means.shape != (q, q):
        raise DlgeomInputError(f"means: expected shape ({q}, {q}), got {means.shape}")
    old = class_means(data.X, data.y, q)
    dist_old = float(np.min(np.linalg.norm(old - old.mean(axis=0), axis=1)))
    dist_new = float(np.min(np.linalg.norm(means - means.mean(axis=0), axis=1)))
    scale = dist_new / dist_old if keep_ratio and dist_old > 0 else 1.0
    X = means[data.y] + scale * (data.X - old[data.y])
    realised = class_means(X, data.y, q)
    meta = {**data.meta, "means": {"cond_xred": float(np.linalg.cond(realised.T)), "deviation_scale": scale}}
    return Dataset(X, data.y, data.Y, meta)


# ---- the μ search -------------------------------------------------------------------------------


def mu_candidates(data: Dataset, geom, n_line: int = 9, n_random: int = 16, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """Candidate μ vectors (rows) for the global construction and the family of each
    ('class-line', 'common-line', 'random'); see the module docstring.  Also returns the exact
    thresholds t_j (rows of the first output are all strictly below them)."""
    t = collapse_thresholds(data, geom)[:, 0]
    d = geom.dist_to_barycenter
    lo = np.where(t > -d, -d, t - d)
    s = np.linspace(0.0, 1.0, n_line + 2)[1:-1]
    cands = [t[None, :] - s[:, None] * (t - lo)[None, :]]
    fam = ["class-line"] * len(s)
    top, bottom = float(np.min(t)), float(np.max(lo))
    if bottom < top:
        m = top - s * (top - bottom)
        cands.append(np.repeat(m[:, None], t.size, axis=1))
        fam += ["common-line"] * len(s)
    if n_random:
        u = _rng(seed).random((n_random, t.size))
        cands.append(lo[None, :] + u * (t - lo)[None, :])
        fam += ["random"] * n_random
    return np.vstack(cands), np.array(fam)


def _affine_cost(data: Dataset, geom, mu: np.ndarray, L: int) -> float:
    """C of the global construction at μ with the output layer by least squares with bias."""
    _, _, v = output_lstsq(hidden_network(geom, mu, L), data, bias=True)
    return float(np.sqrt(max(v, 0.0)))


def search_mu(
    data: Dataset,
    geom=None,
    L: int | None = None,
    zero_cost: float = ZERO_COST,
    n_line: int = 9,
    n_random: int = 16,
    seed=0,
) -> dict:
    """Search the μ-box for a zero-cost global construction (output by least squares with bias).

    Returns ``best_mu`` (array), ``best_cost`` (C re-checked by a forward pass of the full
    network), ``reaches_zero`` (best_cost ≤ zero_cost), ``frac_zero`` (fraction of candidates
    at zero), ``n_evaluated``, ``best_family`` and the exact thresholds ``thresholds``.
    """
    geom = geometry(data) if geom is None else geom
    q = data.n_classes
    L = q if L is None else L
    mus, fam = mu_candidates(data, geom, n_line, n_random, seed)
    costs = np.array([_affine_cost(data, geom, m, L) for m in mus])
    costs = np.where(np.isfinite(costs), costs, np.inf)
    k = int(np.argmin(costs))
    con = construct_pattern(
        data, np.zeros(q, dtype=np.int64), L, mus[k], output="lstsq_affine", strict_mu=False, geom=geom
    )
    best = cost(con.network, data)
    return {
        "best_mu": mus[k],
        "best_cost": best,
        "reaches_zero": bool(best <= zero_cost),
        "frac_zero": float(np.mean(costs <= zero_cost)),
        "n_evaluated": len(mus),
        "best_family": str(fam[k]),
        "thresholds": collapse_thresholds(data, geom)[:, 0],
        "construction": con,
    }


# ---- baselines and clusteredness ---------------------------------------------------------------


def baseline_accuracies(train: Dataset, test: Dataset) -> dict:
    """Held-out accuracy of the nearest class mean (train means) and of scikit-learn's
    LogisticRegression (lbfgs, C = 1, max_iter 2000) fitted on the training set."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    means = class_means(train.X, train.y, train.n_classes)
    d2 = ((test.X[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
    out = {"acc_ncm": float(np.mean(np.argmin(d2, axis=1) == test.y))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        lr = LogisticRegression(max_iter=2000).fit(train.X, train.y)
    out["acc_logreg"] = float(np.mean(lr.predict(test.X) == test.y))
    return out


def clusteredness(X: np.ndarray, y: np.ndarray) -> dict:
    """Silhouette (in [−1, 1], higher = better separated) and Davies–Bouldin (≥ 0, lower =
    better) scores of scikit-learn; NaN where undefined."""
    from sklearn.metrics import davies_bouldin_score, silhouette_score

    try:
        sil = float(silhouette_score(X, y))
        db = float(davies_bouldin_score(X, y))
    except ValueError:
        sil = db = float("nan")
    return {"silhouette": sil, "davies_bouldin": db}


def curation_check(con, data: Dataset, rel_tol: float = 1e-9) -> tuple[float, bool]:
    """Does the construction work in exact arithmetic?  Returns (spread, exact): ``spread`` is the
    largest within-class spread max_i |T_L(x_{j,i}) − T_L(x_{j,0})| relative to the diameter of the
    class means; ``exact`` says every class went to one point (spread ≤ rel_tol) and the Q points
    are affinely independent (smallest/largest singular value of the centred points > 1e-12), in
    which case an exact affine output layer has C = 0 and a non-zero computed C is rounding."""
    from .network import curate

    T = curate(con.network, data.X)
    first = np.zeros(data.n_classes, dtype=np.int64)
    for j in range(data.n_classes):
        first[j] = np.flatnonzero(data.y == j)[0]
    scale = float(np.ptp(class_means(data.X, data.y, data.n_classes), axis=0).max()) or 1.0
    spread = float(np.max(np.linalg.norm(T - T[first][data.y], axis=1))) / scale
    pts = T[first]
    sv = np.linalg.svd(pts[1:] - pts[0], compute_uv=False)
    independent = bool(sv[0] > 0 and sv[-1] / sv[0] > 1e-12)
    return spread, bool(spread <= rel_tol and independent)


# ---- gradient training at a point --------------------------------------------------------------


def optimiser_comparison(
    train: Dataset, L: int | None = None, optimisers=("lbfgs", "gd", "adam"), runs: int = 5, max_iter: int = 300, seed=0
) -> list[dict]:
    """What gradient training finds at this point (the landscape checks, small):
    ``runs`` He-initialised runs per optimiser on C², each from its own SeedSequence child.
    Rows: optimiser, run, final C, status, and whether C ≤ :data:`OPTIMISER_ZERO`."""
    from .landscape import OPTIMISERS, init_random, optimise

    q = train.n_classes
    L = q if L is None else check_int(L, "L", minimum=q)
    for o in optimisers:
        check_choice(o, "optimisers", OPTIMISERS)
    runs = check_int(runs, "runs", minimum=1)
    rows = []
    seq = np.random.SeedSequence([int(s) for s in np.atleast_1d(seed).tolist()])
    for opt, o_seq in zip(optimisers, seq.spawn(len(optimisers))):
        for k, r_seq in enumerate(o_seq.spawn(runs)):
            rng = np.random.default_rng(r_seq)
            x0 = init_random(q, L, rng, "he")
            res = optimise(train, x0, L, opt, max_iter, seed=int(r_seq.generate_state(1)[0]))
            rows.append(
                {
                    "optimiser": opt,
                    "run": k,
                    "cost": res.cost,
                    "status": res.status,
                    "n_iter": res.n_iter,
                    "zero": bool(res.cost <= OPTIMISER_ZERO),
                }
            )
    return rows
