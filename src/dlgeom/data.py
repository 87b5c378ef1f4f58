"""The validated dataset type, its class statistics and its file formats (``.npz`` and ``.csv``).

Layout: features ``X`` are N×M (one row per point, the usual ML layout; the paper stacks points
as columns, ``X_0 = X.T``), labels ``y`` are integers 0..Q-1, and the target matrix ``Y`` is Q×Q
with column ``j`` the target ``y_j`` of class ``j`` (default: the identity).  The paper's setting
has as many features as classes (M = Q, the default: Q is the number of feature columns unless
``Y`` says otherwise); inputs in R^M with M ≠ Q (docs/mathematics.md §8) state Q through ``Y``.
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from .validation import (
    MAX_CSV_ROWS,
    MAX_DATASET_BYTES,
    DlgeomInputError,
    as_float_array,
    as_labels,
    check_class_counts,
    not_a_file_reason,
)

__all__ = ["Dataset", "check_square", "class_means", "load_dataset", "noise_radius", "save_dataset"]

#: Rows per pass of :func:`noise_radius`.
CHUNK = 1 << 16

#: :func:`class_means`: one-hot products up to this many classes (rows per block), flat
#: ``bincount`` above (entries per block).
_ONE_HOT_MAX, _ONE_HOT_ROWS, _FLAT_BLOCK = 32, 4096, 1 << 22


def class_means(X: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """Class means x̄_j as rows, shape (n_classes, X.shape[1]), in one pass over the data.

    Up to :data:`_ONE_HOT_MAX` classes the sums are one-hot products E @ X over blocks of 4096
    rows (a BLAS matrix product; E is Q × 4096), above it one ``bincount`` over the flat index
    y_i·d + k per block of about 4M entries (Q ``bincount`` calls would each pass over the data).
    Both bound their temporaries; measured 2–3× faster than one ``bincount`` per column."""
    n, d = X.shape
    if n_classes <= _ONE_HOT_MAX:
        sums = np.zeros((n_classes, d))
        classes = np.arange(n_classes)[:, None]
        for start in range(0, n, _ONE_HOT_ROWS):
            onehot = (y[start : start + _ONE_HOT_ROWS] == classes).astype(np.float64)
            sums += onehot @ X[start : start + _ONE_HOT_ROWS]
    else:
        sums = np.zeros(n_classes * d)
        cols = np.arange(d)
        step = max(1, _FLAT_BLOCK // max(d, 1))
        for start in range(0, n, step):
            idx = (y[start : start + step] * d)[:, None] + cols
            sums += np.bincount(idx.ravel(), weights=X[start : start + step].ravel(), minlength=n_classes * d)
        sums = sums.reshape(n_classes, d)
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    return sums / counts[:, None]


def noise_radius(X: np.ndarray, y: np.ndarray, means: np.ndarray) -> float:
    """δ = max_{j,i} |x_{j,i} − x̄_j|, computed in chunks of rows."""
    delta2 = 0.0
    for start in range(0, X.shape[0], CHUNK):
        dev = np.take(means, y[start : start + CHUNK], axis=0)
        np.subtract(X[start : start + CHUNK], dev, out=dev)
        delta2 = max(delta2, float(np.einsum("ij,ij->i", dev, dev).max()))
    return float(np.sqrt(delta2))


@dataclass(frozen=True, eq=False)
class Dataset:
    """Clustered training data: N points in R^M, Q classes.

    Parameters
    ----------
    X : array (N, M)
        Points, one per row.  M = Q in the paper's setting.
    y : array (N,)
        Integer labels 0..Q-1; every class needs at least two points.
    Y : array (Q, Q), optional
        Targets, column ``j`` is ``y_j`` [P 2.35]; default the identity with Q = M.  Giving ``Y``
        fixes Q (then M may differ from Q).  Must be invertible for the constructions (checked
        there, not here, so that singular targets can be reported).
    meta : dict, optional
        Free-form provenance (generator arguments, seed, realised geometry).  JSON-serialisable.

    The arrays are read-only copies (the caller's arrays stay writable; changing them later does not
    change the dataset).
    """

    X: np.ndarray
    y: np.ndarray
    Y: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        X = as_float_array(self.X, "X", ndim=2)
        n, m = X.shape
        if self.Y is None:  # the paper's setting: Q = M
            q = m
            if q < 2:
                raise DlgeomInputError(f"X: needs Q >= 2 feature columns (one per class), got {q}")
            why = f"X has Q = {q} feature columns, one per class in the paper's setting"
            y = as_labels(self.y, "y", n=n, n_classes=q, why=why)
            Y = np.eye(q)
        else:  # Q is the size of Y, M any
            if m < 1:
                raise DlgeomInputError("X: needs at least one feature column")
            y = as_labels(self.y, "y", n=n, n_classes=m if m >= 2 and np.shape(self.Y) == (m, m) else None)
            Y = as_float_array(self.Y, "Y", ndim=2)
            q = Y.shape[0]
            if Y.shape[1] != q or q < 2:
                raise DlgeomInputError(f"Y: expected a square (Q, Q) target matrix with Q >= 2, got shape {Y.shape}")
            if int(y.max()) >= q:
                raise DlgeomInputError(
                    f"Y: is {q}×{q} (Q = {q} classes) but y has labels up to {int(y.max())}; "
                    "Y needs one column per class"
                )
        present = np.unique(y).size
        if present != q:
            if m == q:
                raise DlgeomInputError(
                    f"y: labels cover {present} classes but X has Q = {q} feature columns; "
                    "the paper's setting needs one feature column per class, each class present"
                )
            raise DlgeomInputError(f"y: labels cover {present} of the Q = {q} classes of Y; each class must be present")
        counts = check_class_counts(y, q, "y")
        # read-only arrays of its own: the dataset cannot be changed through them nor through the
        # caller's arrays (which stay writable), so values cached from it (the fused kernel's padded
        # columns, targets, weights, means) never go stale
        X, y, Y = (
            a.copy() if given is not None and np.may_share_memory(a, given) else a.view()
            for a, given in ((X, self.X), (y, self.y), (Y, self.Y))
        )
        for arr in (X, y, Y):
            arr.setflags(write=False)
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "Y", Y)
        object.__setattr__(self, "_counts", counts)
        try:
            json.dumps(self.meta, sort_keys=True)
        except TypeError as exc:
            raise DlgeomInputError(f"meta: must be JSON-serialisable ({exc})") from None

    @property
    def n_points(self) -> int:
        return self.X.shape[0]

    @property
    def dim(self) -> int:
        """M, the input dimension (the number of feature columns)."""
        return self.X.shape[1]

    @property
    def n_classes(self) -> int:
        """Q, the number of classes (= the feature dimension in the paper's setting)."""
        return self.Y.shape[0]

    @property
    def counts(self) -> np.ndarray:
        """N_j, points per class, shape (Q,)."""
        return self._counts

    @cached_property
    def targets(self) -> np.ndarray:
        """Target of every point, shape (N, Q): row i is ``Y[:, y_i]`` (computed once)."""
        out = self.Y.T[self.y]
        out.setflags(write=False)
        return out

    @cached_property
    def targets_columns(self) -> np.ndarray:
        """The targets as columns, shape (Q, N), C-contiguous (the layout of the gradient pass)."""
        out = np.ascontiguousarray(self.targets.T)
        out.setflags(write=False)
        return out

    @cached_property
    def weights(self) -> np.ndarray:
        """Class-balancing weight 1/N_j of every point, shape (N,) [P 2.36] (computed once)."""
        out = 1.0 / self._counts[self.y]
        out.setflags(write=False)
        return out

    @cached_property
    def means(self) -> np.ndarray:
        """Class means x̄_j as rows, (Q, M) (computed once, read-only)."""
        out = class_means(self.X, self.y, self.n_classes)
        out.setflags(write=False)
        return out

    @property
    def barycenter(self) -> np.ndarray:
        """x̄ = (1/Q) Σ_j x̄_j (unweighted), (M,)."""
        return self.means.mean(axis=0)

    @cached_property
    def delta(self) -> float:
        """δ = max |x_{j,i} − x̄_j| in R^M."""
        return noise_radius(self.X, self.y, self.means)

    @property
    def ratio(self) -> float:
        """r = δ / min_j |x̄_j − x̄| in R^M."""
        d = float(np.min(np.linalg.norm(self.means - self.barycenter, axis=1)))
        return self.delta / d if d > 0 else float("inf")


def check_square(data: Dataset, name: str = "data") -> None:
    """One-line :class:`DlgeomInputError` unless ``data`` is in the paper's setting, M = Q."""
    if data.dim != data.n_classes:
        raise DlgeomInputError(
            f"{name}: needs one feature column per class (M = Q), got M = {data.dim} "
            f"feature columns and Q = {data.n_classes} classes"
        )


# --------------------------------------------------------------------------------------------
# files

_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def save_dataset(data: Dataset, path) -> Path:
    """Write ``data`` to ``.npz`` (X, y, Y, meta) or ``.csv`` (x1..xM, label).

    ``.npz`` files are byte-stable: same data, same bytes (fixed zip timestamps).  ``.csv``
    stores features with 17 significant digits (exact float64 round trip); ``Y`` and ``meta``
    are not stored there (so a ``.csv`` file reads back with Q = M only).  The file is written
    through :func:`dlgeom.safe_write.open_output` (a private temporary file renamed into place),
    so a failure never leaves a partial file.
    """
    from .safe_write import open_output

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npz", ".csv"):
        raise DlgeomInputError(f"{path}: unsupported file type {suffix!r}; use .npz or .csv")
    with open_output(path, "wb") as tmp:
        if suffix == ".npz":
            arrays = {"X": data.X, "y": data.y, "Y": data.Y, "meta": np.array(json.dumps(data.meta, sort_keys=True))}
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for name, arr in arrays.items():
                    buf = io.BytesIO()
                    np.lib.format.write_array(buf, np.asarray(arr), allow_pickle=False)
                    info = zipfile.ZipInfo(name + ".npy", date_time=_FIXED_ZIP_TIME)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = 0o644 << 16
                    zf.writestr(info, buf.getvalue())
        else:
            m = data.dim
            header = ",".join([f"x{k + 1}" for k in range(m)] + ["label"])
            body = np.column_stack([data.X, data.y.astype(np.float64)])
            fmt = ["%.17g"] * m + ["%d"]
            np.savetxt(tmp, body, delimiter=",", header=header, comments="", fmt=fmt, encoding="utf-8")
    return path


def load_dataset(path) -> Dataset:
    """Read a dataset from ``.npz`` (arrays ``X``, ``y``, optional ``Y`` and ``meta``; with ``Y``
    the number of feature columns M may differ from Q) or ``.csv`` (Q numeric feature columns and
    a ``label`` column).  Errors name the file."""
    path = Path(path)
    if path.is_dir():
        raise DlgeomInputError(f"{path}: is a directory, not a dataset file")
    why = not_a_file_reason(path)
    if why:
        raise DlgeomInputError(f"{path}: {why}")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return _load_npz(path)
    if suffix == ".csv":
        return _load_csv(path)
    raise DlgeomInputError(f"{path}: unsupported file type {suffix!r}; use .npz or .csv")


def _unpacked_bytes(zf: zipfile.ZipFile) -> int:
    """The bytes the arrays of an open .npz take once read: the larger of each member's unpacked
    size (zip directory) and the size its .npy header declares (shape × item size)."""
    total = 0
    for info in zf.infolist():
        declared = 0
        if info.filename.endswith(".npy"):
            try:
                with zf.open(info) as fh:
                    fmt = np.lib.format
                    read = fmt.read_array_header_1_0 if fmt.read_magic(fh) == (1, 0) else fmt.read_array_header_2_0
                    shape, _, dtype = read(fh)
                declared = math.prod(shape) * dtype.itemsize
            except Exception:  # not a readable .npy header: np.load names the problem below
                declared = 0
        total += max(info.file_size, declared)
    return total


def read_npz(path: Path, names=None) -> dict:
    """The arrays of a .npz (``names``: only these, if present), refused with one line when the file
    is not a zip archive of .npy arrays or would unpack to more than :data:`MAX_DATASET_BYTES`
    (checked from the zip directory and the array headers, before anything is inflated)."""
    if not zipfile.is_zipfile(path):
        raise DlgeomInputError(f"{path}: not a .npz file (a zip archive of .npy arrays, as numpy.savez writes)")
    try:
        with zipfile.ZipFile(path) as zf:
            size = _unpacked_bytes(zf)
    except (OSError, zipfile.BadZipFile, ValueError, NotImplementedError) as exc:
        raise DlgeomInputError(f"{path}: not a readable .npz file ({type(exc).__name__}: {exc})") from None
    if size > MAX_DATASET_BYTES:
        raise DlgeomInputError(
            f"{path}: its arrays unpack to {size:,} bytes; a dataset file may hold at most "
            f"{MAX_DATASET_BYTES:,} bytes of arrays"
        )
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files if names is None or k in names}
    except Exception as exc:
        raise DlgeomInputError(f"{path}: not a readable .npz file ({type(exc).__name__}: {exc})") from None


def _load_npz(path: Path) -> Dataset:
    arrays = read_npz(path)
    missing = [k for k in ("X", "y") if k not in arrays]
    if missing:
        raise DlgeomInputError(f"{path}: missing array(s) {', '.join(missing)}; a dataset needs X (N×M) and y (N,)")
    meta = {}
    if "meta" in arrays:
        try:
            meta = json.loads(str(arrays["meta"]))
        except json.JSONDecodeError:
            raise DlgeomInputError(f"{path}: array 'meta' is not valid JSON") from None
    try:
        return Dataset(arrays["X"], arrays["y"], arrays.get("Y"), meta)
    except DlgeomInputError as exc:
        raise DlgeomInputError(f"{path}: {exc}") from None


def read_feature_csv(path: Path, integer_labels: bool = True):
    """(features as float64 (N, d), labels (N,)) of a CSV with numeric feature columns and a
    ``label`` column; one-line :class:`DlgeomInputError` naming the file and column otherwise.
    ``integer_labels``: the label column must be numeric (the paper's 0..Q−1); else any values."""
    import pandas as pd

    size = Path(path).stat().st_size
    if size > MAX_DATASET_BYTES:
        raise DlgeomInputError(f"{path}: {size:,} bytes; a CSV dataset may have at most {MAX_DATASET_BYTES:,} bytes")
    try:
        frame = pd.read_csv(path, nrows=MAX_CSV_ROWS + 1)
    except Exception as exc:
        raise DlgeomInputError(f"{path}: not a readable CSV file ({type(exc).__name__}: {exc})") from None
    if len(frame) > MAX_CSV_ROWS:
        raise DlgeomInputError(
            f"{path}: more than {MAX_CSV_ROWS:,} data rows; a CSV dataset may have at most {MAX_CSV_ROWS:,}"
        )
    if len(frame) == 0:
        raise DlgeomInputError(f"{path}: no data rows (only a header)")
    if "label" not in frame.columns:
        raise DlgeomInputError(f"{path}: no 'label' column (columns: {', '.join(map(str, frame.columns))})")
    features = [c for c in frame.columns if c != "label"]
    for col in features:
        if not pd.api.types.is_numeric_dtype(frame[col]):
            raise DlgeomInputError(f"{path}: column {col!r} is not numeric")
        if frame[col].isna().any():
            raise DlgeomInputError(
                f"{path}: column {col!r} has missing values (row {int(frame[col].isna().to_numpy().argmax()) + 2})"
            )
    if frame["label"].isna().any():
        raise DlgeomInputError(f"{path}: column 'label' has missing values")
    if integer_labels and not pd.api.types.is_numeric_dtype(frame["label"]):
        raise DlgeomInputError(f"{path}: column 'label' must hold integers 0..Q-1")
    if any(pd.api.types.is_integer_dtype(frame[c]) for c in features):
        # integer-looking columns: read them again as floats so that e.g. -0.0 keeps its sign
        frame = pd.read_csv(path, dtype={c: "float64" for c in features})
    return frame[features].to_numpy(np.float64), frame["label"].to_numpy()


def _load_csv(path: Path) -> Dataset:
    X, labels = read_feature_csv(path)
    try:
        return Dataset(X, labels, None, {"source": str(path)})
    except DlgeomInputError as exc:
        raise DlgeomInputError(f"{path}: {exc}") from None
