"""Bad input at the public entries raises DlgeomInputError naming the argument.

Covers ``Dataset`` (X, y, Y, meta), ``construct_global`` / ``construct_pattern`` (singular X^red
and Y, L < Q, μ outside its box, bad patterns) and property-based checks with hypothesis.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dlgeom
from dlgeom import Dataset, DlgeomInputError, construct_global, construct_pattern

SETTINGS = settings(max_examples=40, deadline=None, database=None)


# --------------------------------------------------------------------------------------------
# helpers


def clustered(means, n_per_class=6, radius=0.01, seed=0):
    """Points around the rows of ``means``: class means equal ``means`` up to rounding and the
    largest deviation is ``radius``."""
    rng = np.random.default_rng(seed)
    means = np.asarray(means, dtype=np.float64)
    q = means.shape[0]
    y = np.repeat(np.arange(q), n_per_class)
    dev = rng.standard_normal((y.size, means.shape[1]))
    for j in range(q):
        dev[y == j] -= dev[y == j].mean(axis=0)
    dev *= radius / np.max(np.linalg.norm(dev, axis=1))
    return means[y] + dev, y


def raises_naming(name, fn, *args, **kwargs) -> str:
    """Call ``fn`` and require a DlgeomInputError whose message starts with ``name:``."""
    with pytest.raises(DlgeomInputError) as info:
        fn(*args, **kwargs)
    msg = str(info.value)
    assert msg.startswith(f"{name}:"), msg
    return msg


def numpy_delta(X, y, q):
    """δ = max_i |x_i − x̄_{y_i}|, recomputed directly."""
    means = np.array([X[y == j].mean(axis=0) for j in range(q)])
    return float(np.max(np.linalg.norm(X - means[y], axis=1)))


X3, Y3 = clustered(np.eye(3), n_per_class=5)


@pytest.fixture(scope="module")
def ds3():
    X, y = clustered(np.eye(3), n_per_class=8, radius=0.02, seed=1)
    return Dataset(X, y)


def test_error_type_is_value_error():
    assert issubclass(DlgeomInputError, ValueError)
    with pytest.raises(ValueError):
        Dataset(np.ones(4), [0, 0, 1, 1])


# --------------------------------------------------------------------------------------------
# Dataset: X

BAD_X = {
    "1-D": np.ones(15),
    "3-D": X3[None],
    "strings": X3.astype(str),
    "object": np.array(X3, dtype=object),
    "complex": X3 + 0j,
    "bytes": np.array([[b"a", b"b", b"c"]] * 15),
    "one column": X3[:, :1],
    "no columns": np.empty((15, 0)),
}


@pytest.mark.parametrize("label", list(BAD_X))
def test_bad_X_names_X(label):
    raises_naming("X", Dataset, BAD_X[label], Y3)


def test_ragged_X_names_X():
    raises_naming("X", Dataset, [[1.0, 2.0], [3.0]], [0, 1])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", [(0, 0), (7, 1), (14, 2)])
def test_non_finite_X_names_X(bad, where):
    X = X3.copy()
    X[where] = bad
    msg = raises_naming("X", Dataset, X, Y3)
    assert "1 entries" in msg


# --------------------------------------------------------------------------------------------
# Dataset: y

BAD_Y = {
    "2-D": Y3[:, None],
    "too short": Y3[:-1],
    "too long": np.r_[Y3, 0],
    "strings": Y3.astype(str),
    "complex": Y3 + 0j,
    "negative": np.r_[Y3[:-1], -1],
    "equal to Q": np.r_[Y3[:-1], 3],
    "far above Q": np.r_[Y3[:-1], 10**6],
    "float non-integral": np.r_[Y3[:-1], 1.5].astype(np.float64),
    "float almost integral": np.r_[Y3[:-1], 2 + 1e-9],
    "float NaN": np.r_[Y3[:-1], np.nan],
    "float inf": np.r_[Y3[:-1], np.inf],
    "class with 1 point": np.array([0] * 5 + [1] * 9 + [2]),
    "class with 0 points (missing)": np.array([0] * 7 + [1] * 8),
}


@pytest.mark.parametrize("label", list(BAD_Y))
def test_bad_y_names_y(label):
    raises_naming("y", Dataset, X3, BAD_Y[label])


def test_label_equal_to_Q_is_out_of_range():
    # every class 0..3 has >= 2 points, but X has only Q = 3 columns
    y = np.array([0] * 4 + [1] * 4 + [2] * 4 + [3] * 3)
    msg = raises_naming("y", Dataset, X3, y)
    assert "labels must lie in 0..2" in msg and "0..3" in msg and "Q = 3 feature columns" in msg


def test_empty_data_names_y():
    raises_naming("y", Dataset, np.empty((0, 3)), np.empty(0, dtype=np.int64))


def test_class_with_one_point_is_reported_by_class():
    y = np.array([0] * 5 + [1] * 9 + [2])
    msg = raises_naming("y", Dataset, X3, y)
    assert "class 2: 1" in msg


def test_missing_class_reports_counts_of_classes_and_columns():
    # labels 0 and 1 only, but X has 3 feature columns: feature dimension != number of classes
    msg = raises_naming("y", Dataset, X3, np.array([0] * 7 + [1] * 8))
    assert "2 classes" in msg and "Q = 3" in msg


def test_more_classes_than_columns_names_y():
    # 3 classes but only 2 feature columns: the message says where the range of labels comes from
    msg = raises_naming("y", Dataset, X3[:, :2], Y3)
    assert "X has Q = 2 feature columns" in msg and "found values in 0..2" in msg


def test_more_columns_than_classes_names_y():
    X, y = clustered(np.eye(4)[:3], n_per_class=5)  # 3 classes in R^4
    raises_naming("y", Dataset, X, y)


def test_integral_float_and_bool_labels_are_accepted():
    d = Dataset(X3, Y3.astype(np.float64))
    assert d.y.dtype == np.int64
    np.testing.assert_array_equal(d.y, Y3)
    X2, y2 = clustered(np.eye(2), n_per_class=3)
    d2 = Dataset(X2, y2.astype(bool))
    np.testing.assert_array_equal(d2.y, y2)


# --------------------------------------------------------------------------------------------
# Dataset: Y and meta

BAD_TARGETS = {
    "2x2": np.eye(2),
    "3x4": np.ones((3, 4)),
    "4x3": np.ones((4, 3)),
    "1-D": np.ones(3),
    "3-D": np.ones((3, 3, 1)),
    "NaN": np.where(np.eye(3) > 0, np.nan, 0.0),
    "inf": np.where(np.eye(3) > 0, np.inf, 0.0),
    "strings": np.eye(3).astype(str),
}


@pytest.mark.parametrize("label", list(BAD_TARGETS))
def test_bad_Y_names_Y(label):
    raises_naming("Y", Dataset, X3, Y3, BAD_TARGETS[label])


def test_non_json_meta_names_meta():
    raises_naming("meta", Dataset, X3, Y3, None, {"when": object()})


# --------------------------------------------------------------------------------------------
# constructions


def test_singular_xred_raises_from_construct_global():
    # class means (1,0,0), (0,1,0), (1,1,0): distinct but linearly dependent
    means = np.array([[1.0, 0, 0], [0, 1, 0], [1, 1, 0]])
    X, y = clustered(means, n_per_class=6)
    data = Dataset(X, y)  # the Dataset itself is valid
    assert np.linalg.matrix_rank(np.array([X[y == j].mean(0) for j in range(3)]), tol=1e-9) == 2
    raises_naming("X^red (the matrix of class means)", construct_global, data)
    raises_naming("X^red (the matrix of class means)", construct_pattern, data, [1, 0, 1])


def test_mean_at_origin_raises_singular_xred():
    # one class mean is the zero vector (also the barycenter): X^red singular, f_j undefined
    means = np.array([[1.0, 0, 0], [-1, 0, 0], [0, 0, 0]])
    X, y = clustered(means, n_per_class=4)
    raises_naming("X^red (the matrix of class means)", construct_global, Dataset(X, y))


@pytest.mark.parametrize(
    "targets",
    [
        np.ones((3, 3)),
        np.array([[1.0, 2, 3], [2, 4, 6], [0, 0, 1]]),
        np.zeros((3, 3)),
    ],
)
def test_singular_Y_raises_from_construct_global(ds3, targets):
    assert np.linalg.matrix_rank(targets) < 3
    data = Dataset(ds3.X, ds3.y, targets)
    raises_naming("Y (the target matrix)", construct_global, data)


def test_invertible_non_identity_Y_is_accepted(ds3):
    targets = np.array([[2.0, 0, 1], [0, 1, 0], [0, 0, 3]])
    con = construct_global(Dataset(ds3.X, ds3.y, targets))
    assert dlgeom.cost(con.network, Dataset(ds3.X, ds3.y, targets)) < 1e-10


@pytest.mark.parametrize("L", [0, 1, 2])
def test_fewer_layers_than_classes_raises(ds3, L):
    msg = raises_naming("n_layers (L)", construct_global, ds3, n_layers=L)
    assert ">= 3" in msg
    raises_naming("n_layers (L)", construct_pattern, ds3, [0, 1, 0], n_layers=L)


@pytest.mark.parametrize("L", [3.0, 3.5, "3", True])
def test_non_integer_layers_raise(ds3, L):
    raises_naming("n_layers (L)", construct_global, ds3, n_layers=L)


def test_data_must_be_a_dataset(ds3):
    raises_naming("data", construct_global, ds3.X)
    raises_naming("data", construct_pattern, (ds3.X, ds3.y), [0, 0, 0])


def test_bad_choices_name_the_argument(ds3):
    raises_naming("use_D", construct_global, ds3, use_D="huge")
    raises_naming("output", construct_global, ds3, output="exact")
    raises_naming("theta0", construct_global, ds3, theta0=-0.1)


def _box(data):
    g = dlgeom.geometry(data)
    lo, hi = g.mu_box()
    # the upper end −2δ√Q recomputed from the data
    hi_np = -2.0 * numpy_delta(data.X, data.y, data.n_classes) * np.sqrt(data.n_classes)
    assert hi == pytest.approx(hi_np, rel=1e-12)
    assert lo < hi
    return float(lo), float(hi)


@pytest.mark.parametrize("j", [0, 1, 2])
@pytest.mark.parametrize("where", ["above", "below", "at upper end", "at lower end", "positive"])
def test_mu_outside_box_names_mu_j(ds3, j, where):
    lo, hi = _box(ds3)
    mu = np.full(3, (lo + hi) / 2)
    mu[j] = {
        "above": hi + 1e-3 * (hi - lo),
        "below": lo - 1e-3 * (hi - lo),
        "at upper end": hi,
        "at lower end": lo,
        "positive": 0.5,
    }[where]
    msg = raises_naming(f"mu[{j}]", construct_global, ds3, mu=mu)
    assert "for this pattern" in msg


def test_mu_inside_box_is_used_exactly(ds3):
    lo, hi = _box(ds3)
    mu = lo + (hi - lo) * np.array([0.1, 0.5, 0.9])
    con = construct_global(ds3, mu=mu)
    np.testing.assert_array_equal(con.mu, mu)
    assert con.mu_in_box


def test_mu_wrong_count_or_non_finite_names_mu(ds3):
    lo, hi = _box(ds3)
    mid = (lo + hi) / 2
    raises_naming("mu", construct_global, ds3, mu=[mid, mid])
    raises_naming("mu", construct_global, ds3, mu=[mid] * 4)
    raises_naming("mu", construct_global, ds3, mu=[[mid] * 3])
    raises_naming("mu", construct_global, ds3, mu=[mid, np.nan, mid])
    raises_naming("mu", construct_global, ds3, mu=["a", "b", "c"])


def test_intact_class_mu_below_collapse_bound_names_mu_j(ds3):
    _, hi = _box(ds3)
    bound = -hi  # 2δ√Q
    raises_naming("mu[1]", construct_pattern, ds3, [1, 1, 0], mu=[2 * bound, bound, -bound * 1.5])


@pytest.mark.parametrize(
    "pattern",
    [
        [0, 1],
        [0, 1, 0, 1],
        [0, 1, 2],
        [0, -1, 1],
        [0, 0.5, 1],
        [0, np.nan, 1],
        "011",
        [[0, 1, 0]],
        [],
        0,
    ],
)
def test_bad_pattern_names_pattern(ds3, pattern):
    raises_naming("pattern", construct_pattern, ds3, pattern)


@pytest.mark.parametrize(
    "pattern", [[0, 0, 0], [1, 0, 1], [1, 1, 1], np.array([0.0, 1.0, 1.0]), np.array([True, False, True])]
)
def test_good_patterns_are_accepted(ds3, pattern):
    con = construct_pattern(ds3, pattern)
    np.testing.assert_array_equal(con.pattern, np.asarray(pattern).astype(np.int64))


# --------------------------------------------------------------------------------------------
# property-based


_FINITE_FLOATS = st.floats(allow_nan=False, allow_infinity=False, width=64)


@st.composite
def valid_inputs(draw, finite=_FINITE_FLOATS):
    q = draw(st.integers(2, 4))
    counts = draw(st.lists(st.integers(2, 5), min_size=q, max_size=q))
    y = np.repeat(np.arange(q), counts)
    perm = draw(st.permutations(range(y.size)))
    y = y[np.array(perm)]
    X = draw(hnp.arrays(np.float64, (y.size, q), elements=finite))
    return X, y, q


@SETTINGS
@given(inp=valid_inputs(finite=st.floats(-1e6, 1e6)), data=st.data())
def test_nan_or_inf_anywhere_in_X_raises_naming_X(inp, data):
    X, y, q = inp
    n = X.size
    positions = data.draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=n))
    X = X.copy()
    flat = X.reshape(-1)
    for p in positions:
        flat[p] = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    msg = raises_naming("X", Dataset, X, y)
    assert f"{len(positions)} entries are NaN or infinite" in msg


@SETTINGS
@given(inp=valid_inputs(finite=st.floats(-10, 10)), data=st.data())
def test_out_of_range_integer_labels_raise_naming_y(inp, data):
    X, y, q = inp
    dtype = data.draw(st.sampled_from([np.int64, np.int32, np.int16]))
    bad_value = st.one_of(st.sampled_from([-1, q]), st.integers(-1000, -1), st.integers(q, q + 1000))
    positions = data.draw(st.sets(st.integers(0, y.size - 1), min_size=1, max_size=y.size))
    y = y.copy()
    for p in positions:
        y[p] = data.draw(bad_value)
    y = y.astype(dtype)
    msg = raises_naming("y", Dataset, X, y)
    assert f"found values in {int(y.min())}..{int(y.max())}" in msg


@SETTINGS
@given(inp=valid_inputs(finite=st.floats(-10, 10)), data=st.data())
def test_non_integral_float_labels_raise_naming_y(inp, data):
    X, y, q = inp
    y = y.astype(np.float64)
    p = data.draw(st.integers(0, y.size - 1))
    frac = data.draw(st.floats(1e-6, 1 - 1e-6))
    y[p] += frac
    msg = raises_naming("y", Dataset, X, y)
    assert "non-integral" in msg


@SETTINGS
@given(inp=valid_inputs())
def test_valid_inputs_never_raise_and_round_trip_exactly(inp):
    X, y, q = inp
    X_in, y_in = X.copy(), y.copy()
    d = Dataset(X, list(y) if q == 3 else y)
    assert d.X.dtype == np.float64 and d.y.dtype == np.int64
    assert d.X.shape == X_in.shape
    # bit-exact, including signed zeros and subnormals
    np.testing.assert_array_equal(d.X.view(np.uint64), X_in.view(np.uint64))
    np.testing.assert_array_equal(d.y, y_in)
    np.testing.assert_array_equal(d.counts, np.bincount(y_in, minlength=q))
    np.testing.assert_array_equal(d.Y, np.eye(q))
    assert d.n_classes == q and d.n_points == y_in.size
    np.testing.assert_array_equal(d.weights, 1.0 / np.bincount(y_in)[y_in])


@pytest.fixture(scope="module")
def box3(ds3):
    return _box(ds3)


@SETTINGS
@given(data=st.data())
def test_mu_accepted_iff_inside_open_box(ds3, box3, data):
    lo, hi = box3
    width = hi - lo
    component = st.one_of(
        st.floats(lo + 1e-9 * width, hi - 1e-9 * width),  # inside
        st.floats(lo - width, hi + width),  # anywhere nearby
        st.sampled_from([lo, hi, 0.0, -lo]),  # endpoints and far outside
    )
    mu = np.array(data.draw(st.lists(component, min_size=3, max_size=3)))
    inside = (mu > lo) & (mu < hi)
    if inside.all():
        con = construct_global(ds3, mu=mu)
        np.testing.assert_array_equal(con.mu, mu)
        assert con.mu_in_box
    else:
        first = int(np.flatnonzero(~inside)[0])
        raises_naming(f"mu[{first}]", construct_global, ds3, mu=mu)
        # with strict_mu=False the same μ is accepted and flagged as outside the box, unless it makes
        # X^red[μ] singular (e.g. every μ_j = −D_eff puts every apex at the barycentre): then an error naming μ
        try:
            con = construct_global(ds3, mu=mu, strict_mu=False)
        except DlgeomInputError as exc:
            assert str(exc).startswith("mu: X^red[μ]") and isinstance(exc, np.linalg.LinAlgError)
        else:
            assert not con.mu_in_box


# --------------------------------------------------------------------------------------------
# side effects


def test_dataset_does_not_freeze_the_callers_arrays():
    X, y = X3.copy(), Y3.astype(np.int64)
    Dataset(X, y)
    assert X.flags.writeable and y.flags.writeable


def test_huge_float_label_is_reported_faithfully():
    import warnings

    y = np.r_[Y3[:-1], 1e20].astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        msg = raises_naming("y", Dataset, X3, y)
    assert "-9223372036854775808" not in msg


def test_a_singular_curated_matrix_is_a_named_error(ds3):
    """An exactly singular X^red[μ] (here every collapsed point equal) is reported as an error
    naming μ, which is also a LinAlgError, so the study's numerical-failure handlers keep it as a row."""
    from dlgeom.construct import output_paper

    g = dlgeom.geometry(ds3)
    with pytest.raises(DlgeomInputError, match=r"^mu: X\^red\[μ\]") as err:
        output_paper(g, np.eye(3), np.full(3, -0.5), np.eye(3), np.zeros(3), apexes=np.ones((3, 3)))
    assert isinstance(err.value, np.linalg.LinAlgError)


# --------------------------------------------------------------------------------------------
# inputs in R^M with M != Q: the same type, the same guarantees

X5, _ = clustered(np.eye(5)[:3] * 2, n_per_class=5)  # 3 classes in R^5
Y5 = np.repeat(np.arange(3), 5)


@pytest.mark.parametrize("m", [2, 3, 5])
def test_dataset_in_r_m_is_read_only_and_leaves_the_callers_arrays_writable(m):
    X, y, Y = np.ascontiguousarray(X5[:, :m]), Y5.astype(np.int64), np.eye(3)
    d = Dataset(X, y, Y)
    assert (d.dim, d.n_classes) == (m, 3)
    for arr in (d.X, d.y, d.Y, d.means, d.targets, d.weights):
        assert not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[0] = 1
    assert X.flags.writeable and y.flags.writeable and Y.flags.writeable


def test_dataset_in_r_m_without_y_keeps_the_papers_setting():
    """Without Y, Q is the number of feature columns (M = Q): 3 classes in R^5 are an error naming y."""
    msg = raises_naming("y", Dataset, X5, Y5)
    assert "\n" not in msg and "Q = 5" in msg


@pytest.mark.parametrize(
    "args,field",
    [
        ((X5, Y5, np.eye(2)), "Y"),  # labels up to 2 but Y is 2×2
        ((X5, Y5, np.ones((3, 2))), "Y"),  # not square
        ((X5, Y5, np.ones((1, 1))), "Y"),  # Q < 2
        ((X5, Y5, np.eye(4)), "y"),  # class 3 of Y absent
        ((X5, Y5[:-1], np.eye(3)), "y"),  # one label short
        ((X5, np.r_[Y5[:-1], -1], np.eye(3)), "y"),  # negative label
        ((np.empty((15, 0)), Y5, np.eye(3)), "X"),  # no feature column
        ((X5, Y5, np.eye(3), {"x": object()}), "meta"),
    ],
)
def test_bad_input_in_r_m_is_a_one_line_error_naming_the_field(args, field):
    msg = raises_naming(field, Dataset, *args)
    assert "\n" not in msg


def test_the_papers_constructions_and_cost_refuse_m_other_than_q():
    d = Dataset(X5, Y5, np.eye(3))
    for fn in (dlgeom.geometry, construct_global):
        msg = raises_naming("data", fn, d)
        assert "M = 5" in msg and "Q = 3" in msg and "\n" not in msg
    net = dlgeom.Network.from_flat(np.zeros(4 * 12), 3, 3)
    msg = raises_naming("data", dlgeom.cost, net, d)
    assert "M = 5" in msg


def test_class_statistics_match_a_direct_computation_in_r_m():
    d = Dataset(X5, Y5, np.eye(3))
    means = np.array([X5[Y5 == j].mean(axis=0) for j in range(3)])
    np.testing.assert_allclose(d.means, means, rtol=0, atol=1e-15)
    np.testing.assert_allclose(d.barycenter, means.mean(axis=0), rtol=0, atol=1e-15)
    delta = max(np.linalg.norm(X5[i] - means[Y5[i]]) for i in range(len(Y5)))
    assert d.delta == pytest.approx(delta, rel=1e-14)
    assert d.ratio == pytest.approx(delta / np.min(np.linalg.norm(means - means.mean(axis=0), axis=1)), rel=1e-14)
