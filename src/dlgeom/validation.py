"""Input validation at the library's boundary.

Every public entry point funnels its arrays through these helpers, so that bad input fails early
with one message that names the argument and what is allowed (scikit-learn's ``check_array``
style).  All of them raise :class:`DlgeomInputError`, a ``ValueError``.
"""

from __future__ import annotations

import numpy as np

#: Condition number above which a matrix that must be invertible is treated as singular.
SINGULAR_COND = 1e12

# Documented limits of the command line (checked before anything is allocated; see
# docs/robust-input.md).  They keep every array below a few hundred MB on a laptop.
#: Seeds: non-negative integers below 2^63, at most this many entries.
MAX_SEED, MAX_SEED_WORDS = 2**63 - 1, 32
#: Classes of a synthetic dataset (make-data): Q×Q matrices and Q×N data.
MAX_Q_DATA = 1000
#: Points per class (make-data --n, --test-n) and total N·Q entries of one dataset.
MAX_POINTS_PER_CLASS, MAX_DATA_ENTRIES = 10**6, 5 * 10**7
#: Hidden layers L of a constructed network (construct, landscape: (L+1)·Q·(Q+1) parameters).
MAX_LAYERS = 10_000
#: The 2^Q pattern analysis runs up to this Q (use --no-patterns above it).
MAX_PATTERN_Q = 12
#: Draws, samples, replicates and runs per command.
MAX_DRAWS = 10_000
#: A dataset file: at most this many bytes on disk (CSV) or once unpacked (the arrays of a .npz,
#: checked from the zip directory and the .npy headers before anything is inflated), and a CSV at
#: most this many rows.
MAX_DATASET_BYTES, MAX_CSV_ROWS = 2**29, 10**7
#: Coordinates of synthetic data: |--scale| in [MIN_SCALE, MAX_SCALE].
MIN_SCALE, MAX_SCALE = 1e-150, 1e150


class DlgeomInputError(ValueError):
    """Invalid input: the message names the argument (or file and column) and what is allowed.

    The message is always one line (whitespace, including newlines from quoted parser messages,
    is collapsed)."""

    def __init__(self, message="", *args):
        super().__init__(" ".join(str(message).split()), *args)


class ConfigErrors(DlgeomInputError):
    """Every error of a study config at once: one line per error, each ``config key '…': …``."""

    def __init__(self, lines):
        self.lines = [" ".join(str(line).split()) for line in lines]
        super().__init__(self.lines[0] if self.lines else "")

    def __str__(self) -> str:
        return "\n".join(self.lines)


def as_float_array(value, name: str, ndim: int, shape: tuple | None = None) -> np.ndarray:
    """Return ``value`` as a finite C-contiguous float64 array with ``ndim`` dimensions.

    ``shape`` may fix some axes (``None`` entries are free).  Raises :class:`DlgeomInputError`
    naming ``name`` for a wrong dimension or shape, a non-numeric dtype, NaN or inf.
    """
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise DlgeomInputError(f"{name}: could not be read as a numeric array ({exc})") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise DlgeomInputError(f"{name}: expected numeric values, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise DlgeomInputError(f"{name}: expected real numbers, got complex dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise DlgeomInputError(f"{name}: expected a {ndim}-D array, got shape {arr.shape}")
    if shape is not None:
        for axis, (got, want) in enumerate(zip(arr.shape, shape)):
            if want is not None and got != want:
                raise DlgeomInputError(f"{name}: expected shape {_fmt_shape(shape)}, got {arr.shape} (axis {axis})")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise DlgeomInputError(f"{name}: {bad} entries are NaN or infinite; all must be finite")
    return arr


def as_labels(value, name: str, n: int, n_classes: int | None = None, why: str | None = None) -> np.ndarray:
    """Return integer class labels 0..n_classes-1 of length ``n`` as an int64 array.  ``why``: where
    the number of classes comes from, for the message of an out-of-range label.

    Float arrays are accepted only when every entry is integral.  With ``n_classes=None`` the
    number of classes is ``max(label) + 1``.
    """
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise DlgeomInputError(f"{name}: expected a 1-D array of {n} labels, got shape {arr.shape}")
    if arr.shape[0] != n:
        raise DlgeomInputError(f"{name}: expected {n} labels (one per row of X), got {arr.shape[0]}")
    if n == 0:
        raise DlgeomInputError(f"{name}: no labels given; at least 2 points per class are needed")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise DlgeomInputError(f"{name}: labels must be integers 0..Q-1, got non-integral values")
    elif not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
        raise DlgeomInputError(f"{name}: labels must be integers 0..Q-1, got dtype {arr.dtype}")
    lo, hi = arr.min().item(), arr.max().item()  # on the original dtype: no overflow in messages
    q = int(hi) + 1 if n_classes is None else int(n_classes)
    if lo < 0 or hi >= q:
        raise DlgeomInputError(
            f"{name}: labels must lie in 0..{q - 1} ({why or f'Q = {q} classes'}), found values in {lo:.0f}..{hi:.0f}"
        )
    return np.ascontiguousarray(arr, dtype=np.int64)


def check_class_counts(labels: np.ndarray, n_classes: int, name: str = "y") -> np.ndarray:
    """Counts N_j per class; every class 0..Q-1 must have at least 2 points."""
    counts = np.bincount(labels, minlength=n_classes)
    small = np.flatnonzero(counts < 2)
    if small.size:
        listing = ", ".join(f"class {j}: {counts[j]}" for j in small[:5])
        raise DlgeomInputError(f"{name}: every class needs at least 2 points ({listing})")
    return counts


def check_invertible(matrix: np.ndarray, name: str) -> float:
    """Return the 2-norm condition number; raise if the matrix is numerically singular."""
    cond = float(np.linalg.cond(matrix))
    if not np.isfinite(cond) or cond > SINGULAR_COND:
        raise DlgeomInputError(
            f"{name}: must be invertible, got condition number {cond:.3g} (allowed: below {SINGULAR_COND:.0e})"
        )
    return cond


def check_coordinate_range(X, name: str) -> None:
    """The constructions square coordinates and build weights of size 1/scale: they need
    max|x| in [:data:`MIN_SCALE`, :data:`MAX_SCALE`] (the geometry alone works at any scale)."""
    top = float(np.max(np.abs(X))) if np.size(X) else 0.0
    if not MIN_SCALE <= top <= MAX_SCALE:
        raise DlgeomInputError(
            f"{name}: coordinates up to |x| = {top:.3g}; the constructions need max|x| in [{MIN_SCALE:.0e}, "
            f"{MAX_SCALE:.0e}] (the geometry is scale invariant: divide the data by a common factor; "
            "dlgeom check works at any scale)"
        )


def check_int(value, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer within [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise DlgeomInputError(f"{name}: expected an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise DlgeomInputError(f"{name}: must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise DlgeomInputError(f"{name}: must be <= {maximum}, got {value}")
    return value


def check_float(
    value,
    name: str,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite float within the given (open or closed) bounds."""
    if isinstance(value, bool):
        raise DlgeomInputError(f"{name}: expected a number, got {value!r}")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise DlgeomInputError(f"{name}: expected a number, got {value!r}") from None
    if not np.isfinite(value):
        raise DlgeomInputError(f"{name}: must be finite, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        raise DlgeomInputError(f"{name}: must be {'>' if low_open else '>='} {low:g}, got {value:g}")
    if high is not None and (value > high or (high_open and value == high)):
        raise DlgeomInputError(f"{name}: must be {'<' if high_open else '<='} {high:g}, got {value:g}")
    return value


def check_seed(seed, name: str = "seed") -> list[int]:
    """A seed for ``numpy.random.SeedSequence``: 1 to :data:`MAX_SEED_WORDS` integers in
    0..:data:`MAX_SEED` (2^63 − 1), as a list."""
    vals = list(np.atleast_1d(np.asarray(seed, dtype=object)).tolist())
    if (
        not vals
        or len(vals) > MAX_SEED_WORDS
        or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v <= MAX_SEED for v in vals)
    ):
        raise DlgeomInputError(f"{name}: expected 1 to {MAX_SEED_WORDS} integers in 0..2^63-1, got {seed!r}")
    return [int(v) for v in vals]


def check_choice(value, name: str, allowed) -> str:
    if value not in allowed:
        raise DlgeomInputError(f"{name}: must be one of {', '.join(map(str, allowed))}; got {value!r}")
    return value


def not_a_file_reason(path) -> str | None:
    """Why ``path`` cannot be read as an input file ('no such file', 'is a directory', 'is a FIFO,
    not a regular file', ...), or None for a regular file (also through a symlink).  Reading a FIFO
    or a device would block or never end, so they are named, not opened."""
    import os
    import stat

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "no such file"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return None
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    kind = next((name for test, name in kinds if test(mode)), "a special file")
    return f"is {kind}, not a regular file"


def _fmt_shape(shape) -> str:
    parts = ["*" if s is None else str(s) for s in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
