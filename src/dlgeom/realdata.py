"""Real data in the paper's setting: load, standardise, project to Q dimensions, split, and sweep
the shrink factor λ towards the class means.

Datasets: scikit-learn's bundled ``iris`` (Q = 3), ``wine`` (Q = 3), ``breast_cancer`` (Q = 2)
and ``digits`` (Q = 10), read from the package, never downloaded; or a user's file
(:func:`load_table`: ``.csv`` with a ``label`` column and any number of numeric feature columns,
or ``.npz`` with ``X`` and ``y``).

Projection to Q dimensions (the paper needs one feature per class).  Every projection is fitted
on the training part only and applied to both parts.

* ``'lda'`` (default): standardise (train mean and standard deviation; constant columns are left
  at 0), Fisher LDA to Q − 1 dimensions (``LinearDiscriminantAnalysis``, SVD solver), centre at the
  barycenter b of the training class means, then append a constant coordinate c.  Why this keeps
  A1: the Q class means z̄_j of a Q-class LDA are affinely independent in R^{Q−1} (LDA keeps the
  span of the between-class scatter, of rank Q − 1 when the original means are affinely
  independent), and the points (z̄_j − b, c) with c ≠ 0 are then linearly independent, i.e.
  X^red is invertible.  c = sqrt(Σ_j |z̄_j − b|² / (Q(Q − 1))) (the RMS distance of the means to b
  over √(Q−1)) balances the two blocks of X^redᵀX^red = Z̄ᵀZ̄ + c²11ᵀ: for a regular mean simplex it
  gives cond(X^red) = 1.  The realised cond(X^red) is reported.  All points lie in the hyperplane
  x_Q = c, like the synthetic data (which lie in Σ_k x_k = 1); the noise is (Q−1)-dimensional.
* ``'simplex'``: LDA as above, then barycentric coordinates with respect to the training class
  means (class mean j ↦ e_j, so X^red = I and the mean simplex is regular): the affine map that
  makes the class means the paper's best case, applied to all points.
* ``'pca'``: standardise, PCA to Q − 1 dimensions, centre and constant coordinate as for 'lda'
  (unsupervised: the class means may come out nearly affinely dependent; cond is reported).
* ``'none'``: use the features as they are (they must be Q columns).

Shrink (:func:`shrink_pair`): x ← x̄_j + λ(x − x̄_j) with the *training* class means, on the
training and the test part (test points move towards the training mean of their class).  The class
means are unchanged, δ scales by λ, so r(λ) = λ r(1) exactly and θ_*(λ) increases with λ:
:func:`assumption_lambdas` gives the exact λ where A2 and A3 stop holding.  The study's sweep over
λ on a grid in [0, 1] is :func:`dlgeom.study.measurements.shrink_sweep`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .data import Dataset, read_feature_csv, read_npz
from .geometry import A3_LIMIT, class_means, cone_angles, noise_radius
from .robustness import clusteredness
from .validation import (
    SINGULAR_COND,
    DlgeomInputError,
    as_float_array,
    check_choice,
    check_float,
    check_int,
    not_a_file_reason,
)

__all__ = [
    "PROJECTIONS",
    "REAL_DATASETS",
    "assumption_lambdas",
    "largest_prefix",
    "load_real",
    "load_table",
    "prepare",
    "prepare_real",
    "prepare_user",
    "project",
    "shrink_pair",
    "stratified_split",
]

REAL_DATASETS = ("iris", "wine", "breast_cancer", "digits")
PROJECTIONS = ("lda", "simplex", "pca", "none")


def _seed_list(seed) -> list[int]:
    return [int(s) for s in np.atleast_1d(seed).tolist()]


# ---- loading ------------------------------------------------------------------------------------


def load_real(name: str) -> tuple[np.ndarray, np.ndarray, dict]:
    """(X, y, meta) of a dataset bundled with scikit-learn (no download): iris, wine,
    breast_cancer or digits.  Labels are 0..Q−1 as scikit-learn gives them."""
    from sklearn import datasets

    name = check_choice(name, "name", REAL_DATASETS)
    bunch = getattr(datasets, f"load_{name}")()
    X = np.ascontiguousarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target, dtype=np.int64)
    return (
        X,
        y,
        {
            "source": f"sklearn.datasets.load_{name}",
            "name": name,
            "n_points": int(X.shape[0]),
            "n_features": int(X.shape[1]),
            "Q": int(np.unique(y).size),
        },
    )


def load_table(path) -> tuple[np.ndarray, np.ndarray, dict]:
    """(X, y, meta) from a user's file with any number of feature columns: ``.csv`` (numeric
    feature columns and a ``label`` column of any sortable values) or ``.npz`` (arrays ``X`` and
    ``y``).  Labels are mapped to 0..Q−1 in sorted order; every class needs ≥ 4 points (2 for
    training, 1 for testing, and one to spare)."""
    path = Path(path)
    why = not_a_file_reason(path)
    if why:
        raise DlgeomInputError(f"{path}: {why}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        X, labels = read_feature_csv(path, integer_labels=False)
    elif suffix == ".npz":
        arrays = read_npz(path, ("X", "y"))
        if "X" not in arrays or "y" not in arrays:
            raise DlgeomInputError(f"{path}: needs arrays X (N×d) and y (N,)")
        X, labels = arrays["X"], arrays["y"]
    else:
        raise DlgeomInputError(f"{path}: unsupported file type {suffix!r}; use .csv or .npz")
    X = as_float_array(X, f"{path}: X", 2)
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != X.shape[0]:
        raise DlgeomInputError(f"{path}: expected {X.shape[0]} labels, got shape {labels.shape}")
    if labels.dtype.kind == "f" and not np.all(np.isfinite(labels)):
        raise DlgeomInputError(f"{path}: labels have missing values")
    classes, y = np.unique(labels, return_inverse=True)
    counts = np.bincount(y)
    if classes.size < 2 or counts.min() < 4:
        raise DlgeomInputError(
            f"{path}: needs >= 2 classes with >= 4 points each (got {classes.size} "
            f"classes, smallest {int(counts.min())})"
        )
    return (
        X,
        y.astype(np.int64),
        {
            "source": path.name,
            "name": path.stem,
            "n_points": int(X.shape[0]),
            "n_features": int(X.shape[1]),
            "Q": int(classes.size),
            "classes": [str(c) for c in classes],
        },
    )


def stratified_split(y: np.ndarray, test_fraction: float, seed) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, test) row indices: per class, round(test_fraction · N_j) test points (at
    least 1, leaving at least 2 for training), drawn with SeedSequence(seed)."""
    test_fraction = check_float(test_fraction, "test_fraction", low=0.0, high=1.0, low_open=True, high_open=True)
    rng = np.random.default_rng(np.random.SeedSequence(_seed_list(seed)))
    test = np.zeros(y.size, dtype=bool)
    for j in range(int(y.max()) + 1):
        rows = np.flatnonzero(y == j)
        n_test = min(max(1, round(test_fraction * rows.size)), rows.size - 2)
        if n_test < 1:
            raise DlgeomInputError(f"test_fraction: class {j} has {rows.size} points, too few to split")
        test[rng.choice(rows, size=n_test, replace=False)] = True
    return np.flatnonzero(~test), np.flatnonzero(test)


def _subsample(idx: np.ndarray, y: np.ndarray, max_n: int, seed) -> np.ndarray:
    """At most ``max_n`` of the rows ``idx``, stratified (same fraction per class), sorted."""
    if max_n <= 0 or idx.size <= max_n:
        return idx
    rng = np.random.default_rng(np.random.SeedSequence(_seed_list(seed)))
    keep = []
    frac = max_n / idx.size
    for j in np.unique(y[idx]):
        rows = idx[y[idx] == j]
        keep.append(rng.choice(rows, size=max(2, round(frac * rows.size)), replace=False))
    return np.sort(np.concatenate(keep))


# ---- projection -------------------------------------------------------------------------------


def _standardise(Xtr: np.ndarray, Xte: np.ndarray):
    mu = Xtr.mean(axis=0)
    sd = Xtr.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (Xtr - mu) / sd, (Xte - mu) / sd


def _add_constant(Ztr: np.ndarray, Zte: np.ndarray, ytr: np.ndarray, q: int):
    """Centre at the barycenter of the training class means and append c (module docstring)."""
    m = class_means(Ztr, ytr, q)
    b = m.mean(axis=0)
    c = float(np.sqrt(np.sum((m - b) ** 2) / (q * (q - 1))))
    if not c > 0:
        raise DlgeomInputError("projection: the training class means coincide after projection; X^red is singular")
    add = lambda Z: np.column_stack([Z - b, np.full(Z.shape[0], c)])
    return add(Ztr), add(Zte), c


def project(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, q: int, method: str = "lda"):
    """(Z_train, Z_test, info): the features in R^Q by ``method`` (module docstring), fitted on
    the training part only."""
    method = check_choice(method, "projection", PROJECTIONS)
    d = Xtr.shape[1]
    info = {"projection": method, "n_features": int(d)}
    if method == "none":
        if d != q:
            raise DlgeomInputError(
                f"projection: 'none' needs Q = {q} feature columns, the data have {d}; use 'lda', 'simplex' or 'pca'"
            )
        return Xtr.copy(), Xte.copy(), info
    if d < q - 1:
        raise DlgeomInputError(f"projection: '{method}' needs at least Q - 1 = {q - 1} features, the data have {d}")
    Str, Ste = _standardise(Xtr, Xte)
    if method == "pca":
        from sklearn.decomposition import PCA

        pca = PCA(n_components=q - 1, svd_solver="full").fit(Str)
        Ztr, Zte = pca.transform(Str), pca.transform(Ste)
        info["pca_explained_variance"] = float(np.sum(pca.explained_variance_ratio_))
    else:
        from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

        lda = LinearDiscriminantAnalysis(n_components=q - 1, solver="svd").fit(Str, ytr)
        Ztr, Zte = lda.transform(Str), lda.transform(Ste)
    if method == "simplex":
        m = class_means(Ztr, ytr, q)  # Q points in R^{Q-1}
        A = np.vstack([m.T, np.ones(q)])  # [z̄_1 … z̄_Q; 1 … 1], Q×Q
        info["cond_barycentric_map"] = float(np.linalg.cond(A))
        if not info["cond_barycentric_map"] < SINGULAR_COND:
            raise DlgeomInputError(
                "projection: the training class means are affinely dependent after LDA; "
                "'simplex' needs them affinely independent"
            )
        bary = lambda Z: np.linalg.solve(A, np.vstack([Z.T, np.ones(Z.shape[0])])).T
        return bary(Ztr), bary(Zte), info
    Ztr, Zte, c = _add_constant(Ztr, Zte, ytr, q)
    info["constant_coordinate"] = c
    return Ztr, Zte, info


def prepare(
    X: np.ndarray,
    y: np.ndarray,
    meta: dict,
    projection: str = "lda",
    test_fraction: float = 0.3,
    seed=(0,),
    max_train: int = 0,
) -> tuple[Dataset, Dataset, dict]:
    """Split (stratified, seed [*seed, 0]), optionally subsample the training part to
    ``max_train`` points (stratified, seed [*seed, 1]; 0 = keep all), project to R^Q (fitted on
    the training part), and return (train, test, info).  ``info`` records the seeds, sizes, the
    projection, cond(X^red), the clusteredness of the standardised original features and of the
    projected training data, and logistic regression on the standardised original features."""
    seed = _seed_list(seed)
    q = int(meta["Q"])
    max_train = check_int(max_train, "max_train", minimum=0)
    tr, te = stratified_split(y, test_fraction, seed + [0])
    tr = _subsample(tr, y, max_train, seed + [1])
    Ztr, Zte, pinfo = project(X[tr], y[tr], X[te], q, projection)
    train = Dataset(Ztr, y[tr], None, {**meta, "part": "train", "projection": projection, "seed": seed})
    test = Dataset(Zte, y[te], None, {**meta, "part": "test", "projection": projection, "seed": seed})
    Str, Ste = _standardise(X[tr], X[te])
    raw = clusteredness(Str, y[tr])
    info = {
        **meta,
        **pinfo,
        "seed_split": seed + [0],
        "seed_subsample": seed + [1] if max_train else None,
        "test_fraction": test_fraction,
        "max_train": max_train,
        "n_train": int(tr.size),
        "n_test": int(te.size),
        "cond_xred": float(np.linalg.cond(class_means(Ztr, y[tr], q).T)),
        "silhouette_features": raw["silhouette"],
        "davies_bouldin_features": raw["davies_bouldin"],
        "acc_logreg_all_features": _logreg_full(Str, y[tr], Ste, y[te]),
    }
    return train, test, info


def _logreg_full(Xtr, ytr, Xte, yte) -> float:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        lr = LogisticRegression(max_iter=2000).fit(Xtr, ytr)
    return float(np.mean(lr.predict(Xte) == yte))


def prepare_real(
    name: str, projection: str = "lda", test_fraction: float = 0.3, seed=(0,), max_train: int = 0
) -> tuple[Dataset, Dataset, dict]:
    """:func:`prepare` on a bundled scikit-learn dataset."""
    X, y, meta = load_real(name)
    return prepare(X, y, meta, projection, test_fraction, seed, max_train)


def prepare_user(
    source, projection: str = "auto", test_fraction: float = 0.3, seed=(0,), max_train: int = 0
) -> tuple[Dataset, Dataset, dict]:
    """:func:`prepare` on a user's file (:func:`load_table`) or a :class:`Dataset`.
    ``projection='auto'`` uses the features as they are when there are exactly Q of them
    ('none'), and 'lda' otherwise."""
    if isinstance(source, Dataset):
        X, y = np.array(source.X), np.array(source.y)
        meta = {
            "source": str(source.meta.get("source", "Dataset")),
            "name": str(source.meta.get("name", "dataset")),
            "n_points": int(X.shape[0]),
            "n_features": int(X.shape[1]),
            "Q": source.n_classes,
        }
    else:
        X, y, meta = load_table(source)
    check_choice(projection, "projection", ("auto",) + PROJECTIONS)
    if projection == "auto":
        projection = "none" if X.shape[1] == meta["Q"] else "lda"
    return prepare(X, y, meta, projection, test_fraction, seed, max_train)


# ---- the shrink ------------------------------------------------------------------------------


def shrink_pair(train: Dataset, test: Dataset, lam: float) -> tuple[Dataset, Dataset]:
    """x ← x̄_j + λ(x − x̄_j) on both parts, with the training class means."""
    lam = check_float(lam, "lambda", low=0.0)
    m = class_means(train.X, train.y, train.n_classes)
    move = lambda d: Dataset(m[d.y] + lam * (d.X - m[d.y]), d.y, d.Y, {**d.meta, "shrink": lam})
    return move(train), move(test)


def assumption_lambdas(train: Dataset) -> dict:
    """Exact λ where each assumption stops holding under the shrink (λ = 1: the data as given).

    r(λ) = λ r(1), so A2 holds for λ < λ_A2 = 1/(4 r(1)).  θ_*(λ) = max_j θ_{*,j} with δ(λ) = λδ
    increases with λ; A3 holds for λ < λ_A3, found by bisection (0 if A3 fails already at λ = 0,
    the mean simplex itself being obtuse).  A1 does not depend on λ.  ``lambda_assumptions`` is
    min(λ_A2, λ_A3), NaN if A1 fails or A3 fails at λ = 0 (the assumptions hold for no λ).
    """
    q = train.n_classes
    means = class_means(train.X, train.y, q)
    delta = noise_radius(train.X, train.y, means)
    dist = float(np.min(np.linalg.norm(means - means.mean(axis=0), axis=1)))
    cond = float(np.linalg.cond(means.T))
    a1 = bool(np.isfinite(cond) and cond < SINGULAR_COND)
    r1 = delta / dist if dist > 0 else np.inf
    lam_a2 = 0.25 / r1 if r1 > 0 else np.inf
    with np.errstate(all="ignore"):
        theta = lambda lam: float(np.max(cone_angles(means, lam * delta)))
        theta0 = theta(0.0)
        if not theta0 < A3_LIMIT:
            lam_a3 = 0.0
        elif delta == 0:
            lam_a3 = np.inf
        else:
            lo, hi = 0.0, 1.0
            while theta(hi) < A3_LIMIT:
                lo, hi = hi, 2 * hi
            for _ in range(200):
                mid = 0.5 * (lo + hi)
                if theta(mid) < A3_LIMIT:
                    lo = mid
                else:
                    hi = mid
                if hi - lo <= 1e-14 * hi:
                    break
            lam_a3 = lo
    both = min(lam_a2, lam_a3)
    return {
        "A1": a1,
        "r_at_lambda1": r1,
        "theta_max_at_lambda0": theta0,
        "theta_max_at_lambda1": theta(1.0),
        "lambda_A2": lam_a2,
        "lambda_A3": lam_a3,
        "lambda_assumptions": both if a1 and both > 0 else float("nan"),
    }


def largest_prefix(lambdas, ok) -> float:
    """The largest grid λ such that ``ok`` holds at every grid λ' ≤ λ (NaN if it fails at the
    smallest)."""
    order = np.argsort(lambdas)
    best = float("nan")
    for k in order:
        if not ok[k]:
            break
        best = float(lambdas[k])
    return best
