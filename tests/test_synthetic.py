"""make_clustered / mean_simplex: determinism, realised δ-ratio and cone angle, exact class
means, imbalanced classes, outliers and argument errors.  Geometry is recomputed with numpy."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from conftest import np_means

from dlgeom import DlgeomInputError, make_clustered, save_dataset
from dlgeom.geometry import cone_angles
from dlgeom.synthetic import NOISE_SHAPES, max_cone_angle, mean_simplex, regular_cone_angle

# --------------------------------------------------------------------------------------------
# independent recomputation


def np_r(X, y, q):
    """r = max_i |x_i − x̄_{y_i}| / min_j |x̄_j − x̄| (x̄ the unweighted mean of the means)."""
    m = np_means(X, y, q)
    delta = np.max(np.linalg.norm(X - m[y], axis=1))
    return delta / np.min(np.linalg.norm(m - m.mean(axis=0), axis=1))


def np_cone_angles(means, delta=0.0, margin=4.0):
    """θ_{*,j} = 2 max_{k≠j} [∠(x̄_k − x̄_j, x̄ − x̄_j) + arcsin(margin δ / |x̄_k − x̄_j|)]."""
    q = means.shape[0]
    bary = means.mean(axis=0)
    out = []
    for j in range(q):
        f = bary - means[j]
        best = -np.inf
        for k in range(q):
            if k == j:
                continue
            e = means[k] - means[j]
            c = e @ f / (np.linalg.norm(e) * np.linalg.norm(f))
            best = max(best, math.acos(min(1.0, max(-1.0, c))) + math.asin(margin * delta / np.linalg.norm(e)))
        out.append(2 * best)
    return np.array(out)


def bits(a):
    return np.ascontiguousarray(a, dtype=np.float64).view(np.uint64)


# --------------------------------------------------------------------------------------------
# determinism


def test_same_arguments_same_arrays_and_bytes(tmp_path):
    kw = dict(
        q=3,
        n_per_class=[20, 25, 30],
        delta_ratio=0.1,
        theta=2.0,
        noise="anisotropic",
        outlier_fraction=0.1,
        seed=[7, 11],
    )
    a, b = make_clustered(**kw), make_clustered(**kw)
    np.testing.assert_array_equal(bits(a.X), bits(b.X))
    np.testing.assert_array_equal(a.y, b.y)
    assert a.meta == b.meta
    (tmp_path / "sub").mkdir()
    pa = save_dataset(a, tmp_path / "a.npz")
    pb = save_dataset(b, tmp_path / "sub" / "b.npz")
    assert pa.read_bytes() == pb.read_bytes()
    ca = save_dataset(a, tmp_path / "a.csv")
    cb = save_dataset(b, tmp_path / "sub" / "b.csv")
    assert ca.read_bytes() == cb.read_bytes()


@pytest.mark.parametrize("s1,s2", [(0, 1), (1, 2), ([1, 2], [2, 1]), ([3], [3, 1])])
def test_different_seeds_differ(s1, s2):
    a = make_clustered(3, 20, 0.1, seed=s1)
    b = make_clustered(3, 20, 0.1, seed=s2)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.allclose(a.X, b.X)
    assert a.meta["seed"] == list(np.atleast_1d(s1)) and b.meta["seed"] == list(np.atleast_1d(s2))


def test_integer_seed_equals_one_element_sequence():
    np.testing.assert_array_equal(make_clustered(3, 10, seed=5).X, make_clustered(3, 10, seed=[5]).X)


# --------------------------------------------------------------------------------------------
# δ-ratio and class means


@pytest.mark.parametrize("noise", NOISE_SHAPES)
@pytest.mark.parametrize("q", [2, 3, 4])
@pytest.mark.parametrize("delta_ratio", [0.03, 0.2, 0.6])
def test_realised_r_equals_request(noise, q, delta_ratio):
    d = make_clustered(q, 25, delta_ratio, noise=noise, seed=q)
    r = np_r(d.X, d.y, q)
    assert abs(r - delta_ratio) <= 1e-12
    assert d.meta["n_outliers"] == 0
    assert abs(d.meta["realised"]["r"] - r) <= 1e-12
    assert d.X.dtype == np.float64


@pytest.mark.parametrize("noise", NOISE_SHAPES)
@pytest.mark.parametrize(
    "q,theta,scale", [(2, None, 1.0), (3, None, 1.0), (3, 2.5, 3.0), (4, 1.7, 0.25), (5, None, 1.0), (5, 3.5, 2.0)]
)
def test_class_means_equal_designed_simplex(noise, q, theta, scale):
    d = make_clustered(q, 20, 0.15, theta=theta, noise=noise, scale=scale, seed=1)
    designed = mean_simplex(q, theta) * scale
    means = np_means(d.X, d.y, q)
    assert np.max(np.abs(means - designed)) <= 1e-12 * max(1.0, scale)
    # the design lives in the hyperplane Σ_k x_k = scale with invertible X^red
    np.testing.assert_allclose(designed.sum(axis=1), scale, rtol=1e-12)
    assert np.linalg.cond(designed.T) < 1e6
    # and the δ-ratio is scale-free
    assert abs(np_r(d.X, d.y, q) - 0.15) <= 1e-12


def test_regular_simplex():
    np.testing.assert_array_equal(mean_simplex(3), np.eye(3))
    assert regular_cone_angle(3) == pytest.approx(np.pi / 3, abs=1e-15)
    assert regular_cone_angle(2) == 0.0
    for q in (3, 4, 5, 6):
        expected = np.max(np_cone_angles(np.eye(q)))
        assert regular_cone_angle(q) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("q", [3, 4, 5])
@pytest.mark.parametrize("frac", [0.0, 0.1, 0.3, 0.55, 0.8, 1.0])
def test_requested_theta_is_realised(q, frac):
    lo = regular_cone_angle(q)
    theta = lo + frac * (1.2 * np.pi - lo)
    means = mean_simplex(q, theta)
    assert abs(np.max(cone_angles(means, 0.0)) - theta) <= 1e-9
    assert abs(np.max(np_cone_angles(means)) - theta) <= 1e-9
    # and in generated data: the realised class means have that cone angle
    d = make_clustered(q, 12, 0.05, theta=theta, seed=2)
    assert abs(np.max(np_cone_angles(np_means(d.X, d.y, q))) - theta) <= 1e-9
    assert d.meta["theta"] == theta


@pytest.mark.parametrize("q", [3, 4, 5, 6, 8])
def test_root_finder_gives_scipy_brentq_bits(q):
    """mean_simplex's own Brent root finder (written out so data jobs skip importing
    scipy.optimize) returns exactly scipy.optimize.brentq's root, bit for bit, on the study's cone
    angle equation and on functions of other shapes; so the study's data do not move."""
    from scipy.optimize import brentq

    from dlgeom.synthetic import _PHI_MAX, _brentq, _tilted_simplex

    rng = np.random.default_rng(q)
    lo, hi = regular_cone_angle(q), max_cone_angle(q)
    thetas = [t for t in [1.6, 2.2, 2.8, 3.4, 3.77, *rng.uniform(lo, hi, 12)] if lo < t < hi]
    tol = {"xtol": 1e-15, "rtol": 4 * np.finfo(float).eps, "maxiter": 500}
    for theta in thetas:
        g = lambda phi, t=theta: float(np.max(cone_angles(_tilted_simplex(q, phi), 0.0))) - t
        assert _brentq(g, 0.0, _PHI_MAX, **tol) == brentq(g, 0.0, _PHI_MAX, **tol)
    shapes = [lambda x, c=c: math.sin(x) - c for c in rng.uniform(0.01, 0.9, 20)]
    shapes += [lambda x, c=c, p=p: x**p - c for c, p in zip(rng.uniform(0.01, 0.9, 20), rng.integers(1, 9, 20))]
    shapes += [lambda x, c=c: math.tanh(20 * (x - c)) for c in rng.uniform(0.01, 1.4, 20)]
    for f in shapes:
        for xtol, rtol in [(2e-12, 4 * np.finfo(float).eps), (1e-6, 1e-6)]:
            assert _brentq(f, 0.0, 1.5, xtol, rtol, 500) == brentq(f, 0.0, 1.5, xtol=xtol, rtol=rtol, maxiter=500)


def test_root_finder_errors():
    from dlgeom.synthetic import _brentq

    with pytest.raises(ValueError, match="opposite signs"):
        _brentq(lambda x: x + 1.0, 0.0, 1.0, 1e-12, 1e-12, 100)
    with pytest.raises(RuntimeError, match="no convergence"):
        _brentq(lambda x: math.tanh(20 * (x - 0.3)), 0.0, 1.0, 1e-15, 4 * np.finfo(float).eps, 2)


@pytest.mark.parametrize("q", [3, 4])
def test_theta_range(q):
    hi = max_cone_angle(q)
    assert 1.99 * np.pi < hi <= 2 * np.pi
    with pytest.raises(DlgeomInputError, match=r"^theta:"):
        mean_simplex(q, regular_cone_angle(q) - 1e-3)
    with pytest.raises(DlgeomInputError, match=r"^theta:"):
        make_clustered(q, 5, theta=hi + 1e-3)


def test_q2_with_theta_raises():
    with pytest.raises(DlgeomInputError, match=r"^theta:"):
        make_clustered(2, 10, 0.1, theta=1.0)
    with pytest.raises(DlgeomInputError, match=r"^theta:"):
        mean_simplex(2, 0.0)
    np.testing.assert_array_equal(mean_simplex(2), np.eye(2))


# --------------------------------------------------------------------------------------------
# imbalance and outliers


def test_imbalanced_counts_via_list():
    counts = [3, 10, 25, 2]
    d = make_clustered(4, counts, 0.1, noise="gaussian", seed=4)
    np.testing.assert_array_equal(np.bincount(d.y, minlength=4), counts)
    np.testing.assert_array_equal(d.counts, counts)
    assert d.meta["n_per_class"] == counts
    assert abs(np_r(d.X, d.y, 4) - 0.1) <= 1e-12
    np.testing.assert_allclose(np_means(d.X, d.y, 4), np.eye(4), rtol=0, atol=1e-12)


@pytest.mark.parametrize("noise", NOISE_SHAPES)
@pytest.mark.parametrize(
    "fraction,counts", [(0.05, [20, 31, 45]), (0.1, [20, 30, 40]), (0.3, [10, 11, 12]), (0.49, [2, 3, 4])]
)
def test_outliers(noise, fraction, counts):
    q = len(counts)
    delta_ratio = 0.1
    d = make_clustered(q, counts, delta_ratio, noise=noise, outlier_fraction=fraction, seed=9)
    expected = [min(math.ceil(fraction * n), n - 1) for n in counts]
    assert d.meta["n_outliers"] == sum(expected)
    # outliers raise the realised r above the request; class means stay exact
    r = np_r(d.X, d.y, q)
    assert r > delta_ratio * (1 + 1e-6)
    assert abs(d.meta["realised"]["r"] - r) <= 1e-12
    means = np_means(d.X, d.y, q)
    np.testing.assert_allclose(means, np.eye(q), rtol=0, atol=1e-12)
    # count the outliers from the data where inliers (≤ δ + shift) and outliers (≥ 2δ − shift)
    # are provably separated: the re-centring shift is at most 4δ · n_out / N_j
    if max(4 * k / n for k, n in zip(expected, counts)) < 0.5:
        delta = delta_ratio * np.min(np.linalg.norm(np.eye(q) - np.eye(q).mean(0), axis=1))
        dist = np.linalg.norm(d.X - means[d.y], axis=1)
        far = [int(np.count_nonzero(dist[d.y == j] > 1.5 * delta)) for j in range(q)]
        assert far == expected
        assert r > 1.5 * delta_ratio


def test_outlier_count_uses_exact_fraction():
    d = make_clustered(3, 100, 0.1, outlier_fraction=0.07, seed=0)
    assert d.meta["n_outliers"] == 3 * math.ceil(Fraction("0.07") * 100)


def test_anisotropic_clusters_are_elongated():
    an = make_clustered(3, 60, 0.1, noise="anisotropic", elongation=50.0, seed=3)
    ga = make_clustered(3, 60, 0.1, noise="gaussian", seed=3)
    for d, low, high in ((an, 10.0, np.inf), (ga, 1.0, 3.0)):
        m = np_means(d.X, d.y, 3)
        for j in range(3):
            sv = np.linalg.svd(d.X[d.y == j] - m[j], compute_uv=False)
            assert low < sv[0] / sv[-1] < high


# --------------------------------------------------------------------------------------------
# argument errors

BAD_ARGS = [
    (dict(q=1), "Q"),
    (dict(q=0), "Q"),
    (dict(q=3.0), "Q"),
    (dict(delta_ratio=0.0), "delta_ratio"),
    (dict(delta_ratio=-0.1), "delta_ratio"),
    (dict(delta_ratio=np.nan), "delta_ratio"),
    (dict(noise="laplace"), "noise"),
    (dict(noise="Uniform"), "noise"),
    (dict(outlier_fraction=0.5), "outlier_fraction"),
    (dict(outlier_fraction=0.7), "outlier_fraction"),
    (dict(outlier_fraction=-0.01), "outlier_fraction"),
    (dict(seed=-1), "seed"),
    (dict(seed=[1, -2]), "seed"),
    (dict(n_per_class=[10, 10]), "n_per_class"),
    (dict(n_per_class=[10, 10, 10, 10]), "n_per_class"),
    (dict(n_per_class=[[10, 10, 10]]), "n_per_class"),
    (dict(n_per_class=1), "n_per_class[0]"),
    (dict(n_per_class=0), "n_per_class[0]"),
    (dict(n_per_class=[10, 1, 10]), "n_per_class[1]"),
    (dict(n_per_class=[10, 10, -3]), "n_per_class[2]"),
    (dict(n_per_class=2.5), "n_per_class[0]"),
    (dict(elongation=0.5), "elongation"),
    (dict(scale=0.0), "scale"),
    (dict(scale=-1.0), "scale"),
    (dict(theta=0.5), "theta"),
]


@pytest.mark.parametrize("kwargs,name", BAD_ARGS, ids=[f"{n}-{i}" for i, (_, n) in enumerate(BAD_ARGS)])
def test_bad_arguments_name_the_argument(kwargs, name):
    kw = dict(q=3, n_per_class=10, delta_ratio=0.1)
    kw.update(kwargs)
    with pytest.raises(DlgeomInputError) as info:
        make_clustered(**kw)
    assert str(info.value).startswith(f"{name}:"), str(info.value)


@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_non_finite_n_per_class_names_the_argument(bad):
    with pytest.raises(DlgeomInputError, match=r"^n_per_class"):
        make_clustered(3, bad, 0.1)


def test_non_integer_seed_is_rejected():
    with pytest.raises(DlgeomInputError, match=r"^seed"):
        make_clustered(3, 10, 0.1, seed=1.5)
