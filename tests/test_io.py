"""Dataset files: exact round trips (.npz, .csv), byte-stable .npz, errors naming the file,
and no partial files when a save fails."""

from __future__ import annotations

import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dlgeom import Dataset, DlgeomInputError, load_dataset, save_dataset

SETTINGS = settings(max_examples=30, deadline=None, database=None)


def make_data(q=3, n=7, seed=0, wide=False):
    """Imbalanced random data; ``wide`` spreads magnitudes over most of the float64 range."""
    rng = np.random.default_rng(seed)
    counts = n + np.arange(q)
    y = rng.permutation(np.repeat(np.arange(q), counts))
    X = rng.standard_normal((y.size, q))
    if wide:
        X *= 10.0 ** rng.uniform(-300, 300, size=X.shape)
    return X, y


def bits(a):
    return np.ascontiguousarray(a, dtype=np.float64).view(np.uint64)


def error_naming_file(path, fn=load_dataset):
    with pytest.raises(DlgeomInputError) as info:
        fn(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}:"), msg
    return msg


# --------------------------------------------------------------------------------------------
# round trips


def test_npz_round_trip_is_exact(tmp_path):
    X, y = make_data(wide=True)
    Y = np.array([[2.0, 0.5, 0.0], [0.1, 1.0, -1.0], [0.0, 0.3, 1.0 / 3.0]])
    meta = {"seed": [1, 2], "note": "δ-ratio r = 0.1 ✓", "nested": {"a": [1.5, None, True]}, "r": 0.1 + 0.2}
    d = Dataset(X, y, Y, meta)
    path = save_dataset(d, tmp_path / "d.npz")
    assert path == tmp_path / "d.npz" and path.is_file()
    e = load_dataset(path)
    np.testing.assert_array_equal(bits(e.X), bits(X))
    np.testing.assert_array_equal(e.y, y)
    np.testing.assert_array_equal(bits(e.Y), bits(Y))
    assert e.meta == meta
    assert e.X.dtype == np.float64 and e.y.dtype == np.int64 and e.Y.dtype == np.float64


def test_npz_contains_plain_arrays_readable_by_numpy(tmp_path):
    X, y = make_data()
    save_dataset(Dataset(X, y), tmp_path / "d.npz")
    with np.load(tmp_path / "d.npz", allow_pickle=False) as f:
        assert sorted(f.files) == ["X", "Y", "meta", "y"]
        np.testing.assert_array_equal(f["X"], X)
        np.testing.assert_array_equal(f["y"], y)
        np.testing.assert_array_equal(f["Y"], np.eye(3))


def test_csv_round_trip_is_exact(tmp_path):
    X, y = make_data(q=4, seed=3, wide=True)
    X[0, 0] = 5e-324  # smallest subnormal
    X[1, 1] = np.finfo(float).max
    X[2, 2] = -np.finfo(float).tiny
    X[3, 3] = 0.1 + 0.2
    path = save_dataset(Dataset(X, y, 2 * np.eye(4), {"k": 1}), tmp_path / "d.csv")
    text = path.read_text().splitlines()
    assert text[0] == "x1,x2,x3,x4,label"
    assert len(text) == 1 + y.size
    e = load_dataset(path)
    np.testing.assert_array_equal(bits(e.X), bits(X))
    np.testing.assert_array_equal(e.y, y)
    # Y and meta are not stored in .csv
    np.testing.assert_array_equal(e.Y, np.eye(4))
    assert e.meta == {"source": str(path)}


def test_csv_reads_columns_in_any_order(tmp_path):
    X, y = make_data(q=2)
    path = tmp_path / "d.csv"
    rows = ["label,a,b"] + [f"{int(l)},{float(a)!r},{float(b)!r}" for (a, b), l in zip(X, y)]
    path.write_text("\n".join(rows) + "\n")
    e = load_dataset(path)
    np.testing.assert_array_equal(bits(e.X), bits(X))
    np.testing.assert_array_equal(e.y, y)


@st.composite
def datasets(draw):
    q = draw(st.integers(2, 4))
    counts = draw(st.lists(st.integers(2, 4), min_size=q, max_size=q))
    y = np.repeat(np.arange(q), counts)
    y = y[np.array(draw(st.permutations(range(y.size))))]
    # any finite double except −0.0 (see test_csv_keeps_negative_zero)
    finite = st.floats(allow_nan=False, allow_infinity=False, width=64).filter(lambda v: not (v == 0 and np.signbit(v)))
    X = draw(hnp.arrays(np.float64, (y.size, q), elements=finite))
    return X, y


@SETTINGS
@given(xy=datasets(), suffix=st.sampled_from([".npz", ".csv"]))
def test_round_trip_property(xy, suffix):
    X, y = xy
    with tempfile.TemporaryDirectory() as tmp:
        path = save_dataset(Dataset(X, y), Path(tmp) / f"data{suffix}")
        e = load_dataset(path)
    np.testing.assert_array_equal(bits(e.X), bits(X))
    np.testing.assert_array_equal(e.y, y)


def test_csv_keeps_negative_zero(tmp_path):
    X = np.array([[-0.0, 1.5], [0.0, 2.5], [1.0, -0.0], [3.0, 0.5]])
    y = np.array([0, 0, 1, 1])
    e = load_dataset(save_dataset(Dataset(X, y), tmp_path / "z.csv"))
    np.testing.assert_array_equal(bits(e.X), bits(X))


# --------------------------------------------------------------------------------------------
# byte stability


def test_npz_is_byte_stable_across_saves_and_paths(tmp_path, monkeypatch):
    X, y = make_data(seed=5)
    meta = {"b": 1, "a": [1, 2]}
    p1 = save_dataset(Dataset(X, y, None, meta), tmp_path / "one.npz")
    (tmp_path / "sub").mkdir()
    # a later "now" must not change the bytes (no wall-clock timestamps in the zip)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 400 * 86400)
    monkeypatch.setattr(time, "localtime", lambda *a: time.gmtime(real_time() + 400 * 86400))
    # same data built separately, meta with another key order
    p2 = save_dataset(Dataset(X.copy(), y.copy(), None, {"a": [1, 2], "b": 1}), tmp_path / "sub" / "other-name.npz")
    monkeypatch.undo()
    p3 = save_dataset(Dataset(X, y, None, meta), tmp_path / "one.npz")  # overwrite in place
    b1 = p1.read_bytes()
    assert b1 == p2.read_bytes() == p3.read_bytes()
    # the comparison is not vacuous: one changed bit changes the bytes
    X2 = X.copy()
    X2[0, 0] = np.nextafter(X2[0, 0], np.inf)
    p4 = save_dataset(Dataset(X2, y, None, meta), tmp_path / "four.npz")
    assert p4.read_bytes() != b1
    with zipfile.ZipFile(p1) as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_csv_is_deterministic(tmp_path):
    X, y = make_data(seed=6)
    a = save_dataset(Dataset(X, y), tmp_path / "a.csv").read_bytes()
    b = save_dataset(Dataset(X.copy(), y.copy()), tmp_path / "b.csv").read_bytes()
    assert a == b


# --------------------------------------------------------------------------------------------
# malformed files


def test_nonexistent_path(tmp_path):
    for name in ("nope.npz", "nope.csv", "nope.txt"):
        msg = error_naming_file(tmp_path / name)
        assert "no such file" in msg


def test_directory_is_not_a_file(tmp_path):
    (tmp_path / "dir.npz").mkdir()
    error_naming_file(tmp_path / "dir.npz")


@pytest.mark.parametrize("name", ["d.txt", "d.json", "d", "d.npy"])
def test_unsupported_suffix_on_load(tmp_path, name):
    path = tmp_path / name
    path.write_text("x1,x2,label\n0,1,0\n")
    msg = error_naming_file(path)
    assert "unsupported" in msg


def test_text_file_named_npz(tmp_path):
    path = tmp_path / "fake.npz"
    path.write_text("x1,x2,label\n1,0,0\n1,0,0\n0,1,1\n0,1,1\n")
    msg = error_naming_file(path)
    assert "not a .npz file" in msg


def test_truncated_npz(tmp_path):
    X, y = make_data()
    good = save_dataset(Dataset(X, y), tmp_path / "good.npz").read_bytes()
    path = tmp_path / "cut.npz"
    path.write_bytes(good[: len(good) // 2])
    error_naming_file(path)


@pytest.mark.parametrize("keep", [("X",), ("y",), ()])
def test_npz_missing_arrays(tmp_path, keep):
    X, y = make_data()
    path = tmp_path / "m.npz"
    arrays = {k: v for k, v in {"X": X, "y": y}.items() if k in keep}
    arrays.setdefault("other", np.zeros(2))
    np.savez(path, **arrays)
    msg = error_naming_file(path)
    for k in ("X", "y"):
        if k not in keep:
            assert k in msg.split("missing array(s)")[1].split(";")[0]


def test_npz_with_bad_contents_names_file_and_array(tmp_path):
    X, y = make_data()
    X_nan = X.copy()
    X_nan[2, 1] = np.nan
    np.savez(tmp_path / "nan.npz", X=X_nan, y=y)
    msg = error_naming_file(tmp_path / "nan.npz")
    assert f"{tmp_path / 'nan.npz'}: X:" in msg
    np.savez(tmp_path / "lab.npz", X=X, y=np.r_[y[:-1], 7])
    msg = error_naming_file(tmp_path / "lab.npz")
    assert f"{tmp_path / 'lab.npz'}: y:" in msg
    np.savez(tmp_path / "Y.npz", X=X, y=y, Y=np.eye(2))
    msg = error_naming_file(tmp_path / "Y.npz")
    assert f"{tmp_path / 'Y.npz'}: Y:" in msg
    np.savez(tmp_path / "meta.npz", X=X, y=y, meta=np.array("{not json"))
    msg = error_naming_file(tmp_path / "meta.npz")
    assert "meta" in msg


def write_csv(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


GOOD_ROWS = ["1.0,0.1,0", "0.9,0.0,0", "0.1,1.0,1", "0.0,0.9,1"]


def test_csv_without_label_column(tmp_path):
    path = write_csv(tmp_path / "d.csv", ["x1,x2,class"] + GOOD_ROWS)
    msg = error_naming_file(path)
    assert "'label'" in msg


def test_csv_with_non_numeric_feature_column(tmp_path):
    rows = list(GOOD_ROWS)
    rows[2] = "0.1,abc,1"
    path = write_csv(tmp_path / "d.csv", ["x1,x2,label"] + rows)
    msg = error_naming_file(path)
    assert "'x2'" in msg and "not numeric" in msg


def test_csv_with_missing_value(tmp_path):
    rows = list(GOOD_ROWS)
    rows[3] = ",0.9,1"
    path = write_csv(tmp_path / "d.csv", ["x1,x2,label"] + rows)
    msg = error_naming_file(path)
    assert "'x1'" in msg and "missing" in msg and "row 5" in msg


def test_csv_with_missing_label(tmp_path):
    rows = list(GOOD_ROWS)
    rows[0] = "1.0,0.1,"
    path = write_csv(tmp_path / "d.csv", ["x1,x2,label"] + rows)
    msg = error_naming_file(path)
    assert "'label'" in msg


@pytest.mark.parametrize("bad_label", ["2", "-1", "5", "0.5", "one"])
def test_csv_with_bad_labels(tmp_path, bad_label):
    rows = list(GOOD_ROWS)
    rows[1] = "0.9,0.0," + bad_label
    path = write_csv(tmp_path / "d.csv", ["x1,x2,label"] + rows)
    error_naming_file(path)


def test_empty_csv(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("")
    error_naming_file(path)
    write_csv(path, ["x1,x2,label"])
    error_naming_file(path)


# --------------------------------------------------------------------------------------------
# failing saves


@pytest.mark.parametrize("name", ["d.txt", "d.json", "d", "d.npz.bak"])
def test_unsupported_suffix_on_save_leaves_nothing(tmp_path, name):
    X, y = make_data()
    error_naming_file(tmp_path / name, fn=lambda p: save_dataset(Dataset(X, y), p))
    assert list(tmp_path.iterdir()) == []


def test_uppercase_suffix_is_accepted(tmp_path):
    X, y = make_data()
    e = load_dataset(save_dataset(Dataset(X, y), tmp_path / "D.NPZ"))
    np.testing.assert_array_equal(e.X, X)


def _boom(*args, **kwargs):
    raise OSError("simulated disk full")


def test_failed_write_keeps_previous_file_intact(tmp_path, monkeypatch):
    X, y = make_data(seed=1)
    path = save_dataset(Dataset(X, y), tmp_path / "d.npz")
    before = path.read_bytes()
    monkeypatch.setattr(np.lib.format, "write_array", _boom)
    with pytest.raises(OSError):
        save_dataset(Dataset(X + 1.0, y), path)
    assert path.read_bytes() == before


def test_failed_write_never_creates_the_target(tmp_path, monkeypatch):
    X, y = make_data()
    monkeypatch.setattr(np.lib.format, "write_array", _boom)
    with pytest.raises(OSError):
        save_dataset(Dataset(X, y), tmp_path / "d.npz")
    monkeypatch.setattr(np, "savetxt", _boom)
    with pytest.raises(OSError):
        save_dataset(Dataset(X, y), tmp_path / "d.csv")
    assert not (tmp_path / "d.npz").exists() and not (tmp_path / "d.csv").exists()


def test_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    X, y = make_data()
    monkeypatch.setattr(np.lib.format, "write_array", _boom)
    with pytest.raises(OSError):
        save_dataset(Dataset(X, y), tmp_path / "d.npz")
    assert list(tmp_path.iterdir()) == []


def test_meta_accepted_by_dataset_can_be_saved(tmp_path):
    X, y = make_data()
    try:
        d = Dataset(X, y, None, {1: "one", "b": 2})
    except DlgeomInputError:
        return  # rejecting it up front would also be fine
    save_dataset(d, tmp_path / "m.npz")
