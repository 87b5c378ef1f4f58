"""Property-based fuzz of the dataset readers: whatever the bytes, ``load_dataset`` returns a valid
:class:`Dataset` or raises one-line :class:`DlgeomInputError` naming the file - never another
exception, never a warning.  Bounded example counts keep this to a few seconds."""

from __future__ import annotations

import io
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dlgeom.data import Dataset, load_dataset
from dlgeom.validation import DlgeomInputError

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_DIR = Path(tempfile.mkdtemp(prefix="dlgeom-fuzz-"))


def _load(name: str, payload: bytes):
    path = _DIR / name
    path.write_bytes(payload)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            try:
                data = load_dataset(path)
            except DlgeomInputError as exc:
                msg = str(exc)
                assert "\n" not in msg and str(path) in msg, msg
                return None
    _assert_valid(data)
    return data


def _assert_valid(data: Dataset) -> None:
    n, q = data.X.shape
    assert q >= 2 and data.X.dtype == np.float64 and np.isfinite(data.X).all()
    assert data.y.shape == (n,) and data.y.min() >= 0 and data.y.max() == q - 1
    assert (np.bincount(data.y, minlength=q) >= 2).all()
    assert data.Y.shape == (q, q) and np.isfinite(data.Y).all()


@FUZZ
@given(st.binary(max_size=400), st.sampled_from(["f.npz", "f.csv"]))
def test_random_bytes(payload, name):
    _load(name, payload)


_FLOATS = hnp.from_dtype(np.dtype(np.float64), allow_nan=True, allow_infinity=True)
_ARRAY_DTYPES = st.sampled_from([np.float64, np.float32, np.int64, np.int8, np.uint8, np.bool_, np.complex128])


@st.composite
def npz_payloads(draw):
    arrays = {}
    n = draw(st.integers(0, 12))
    q = draw(st.integers(0, 4))
    if draw(st.booleans()):
        shape = draw(st.sampled_from([(n, q), (n,), (n, q, 1), (q, n)]))
        dtype = draw(_ARRAY_DTYPES)
        arrays["X"] = draw(hnp.arrays(dtype, shape))
    if draw(st.booleans()):
        shape = draw(st.sampled_from([(n,), (n, 1), (max(n - 1, 0),)]))
        ydtype = draw(st.sampled_from([np.int64, np.float64, np.int8, np.uint64]))
        low = 0 if ydtype is np.uint64 else -2
        arrays["y"] = draw(hnp.arrays(ydtype, shape, elements=st.integers(low, 5) if draw(st.booleans()) else None))
    if draw(st.booleans()):
        arrays["Y"] = draw(hnp.arrays(np.float64, draw(st.sampled_from([(q, q), (2, 2), (q,)])), elements=_FLOATS))
    if draw(st.booleans()):
        arrays["meta"] = np.array(draw(st.text(max_size=20)))
    if draw(st.booleans()):
        arrays[draw(st.sampled_from(["x", "labels", "data"]))] = np.zeros(3)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@FUZZ
@given(npz_payloads())
def test_structured_npz(payload):
    _load("s.npz", payload)


@st.composite
def valid_then_mangled(draw):
    """A valid dataset with a few entries replaced: NaN, inf, huge, a label moved out of range."""
    q = draw(st.integers(2, 4))
    per = draw(st.integers(2, 5))
    y = np.repeat(np.arange(q), per)
    X = np.eye(q)[y] + 0.01 * draw(hnp.arrays(np.float64, (q * per, q), elements=st.floats(-1, 1)))
    for _ in range(draw(st.integers(0, 2))):
        i, j = draw(st.integers(0, q * per - 1)), draw(st.integers(0, q - 1))
        X[i, j] = draw(st.sampled_from([np.nan, np.inf, -np.inf, 1e308, 1e-308, 0.0]))
    if draw(st.booleans()):
        y = y.copy()
        y[draw(st.integers(0, q * per - 1))] = draw(st.integers(-1, q))
    buf = io.BytesIO()
    np.savez(buf, X=X, y=y)
    return buf.getvalue()


@FUZZ
@given(valid_then_mangled())
def test_mangled_valid_npz(payload):
    _load("m.npz", payload)


_CELLS = st.sampled_from(
    ["0", "1", "2", "-1", "0.5", "1e308", "1e-320", "nan", "inf", "-inf", "", "a", "label", " ", "1,2", '"3"', "x1"]
)


@st.composite
def csv_payloads(draw):
    header = draw(st.sampled_from(["x1,x2,label", "x1,x2,x3,label", "label,x1,x2", "x1,x2", "a;b;label", ""]))
    rows = draw(st.lists(st.lists(_CELLS, min_size=0, max_size=4), max_size=8))
    text = header + "\n" + "\n".join(",".join(r) for r in rows)
    return text.encode(draw(st.sampled_from(["utf-8", "latin-1"])), errors="replace")


@FUZZ
@given(csv_payloads())
def test_structured_csv(payload):
    _load("c.csv", payload)


@pytest.mark.parametrize("q", [2, 3])
def test_a_valid_csv_round_trips(q):
    """The fuzz could pass by refusing everything: a valid CSV is read back exactly."""
    y = np.repeat(np.arange(q), 3)
    X = np.eye(q)[y] + 0.01 * np.arange(3 * q * q).reshape(3 * q, q)
    text = (
        ",".join([f"x{k}" for k in range(q)] + ["label"])
        + "\n"
        + "\n".join(",".join([repr(float(v)) for v in X[i]] + [str(y[i])]) for i in range(len(y)))
        + "\n"
    )
    data = _load("v.csv", text.encode())
    assert data is not None and np.array_equal(data.X, X) and np.array_equal(data.y, y)
