"""docs/mathematics.md §3: cone angles, D, the assumptions report."""

import importlib

import numpy as np
import pytest

import dlgeom
from dlgeom.geometry import (
    ball_in_cone,
    class_means,
    cone_angles,
    forward_cone_depth,
    noise_radius,
)


def _sphere(rng, n, q):
    v = rng.standard_normal((n, q))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("q,theta,r", [(3, None, 0.05), (3, 2.2, 0.02), (4, 2.0, 0.05), (5, None, 0.1)])
def test_cone_angle_closed_form_is_the_smallest_cone(q, theta, r):
    """θ_{*,j} is the smallest full opening of x̄_j + C_θ[f_j] containing the 4δ-balls: the
    arcsin test accepts θ_{*,j}(1 + 1e-9) and rejects θ_{*,j}(1 − 1e-6); sampled points of the
    ball surfaces never exceed the half-angle."""
    data = dlgeom.make_clustered(q, 20, r, theta=theta, seed=3)
    g = dlgeom.geometry(data)
    rng = np.random.default_rng(0)
    for j in range(q):
        others = [k for k in range(q) if k != j]
        th = g.theta_j[j]
        assert all(ball_in_cone(g.means[k], 4 * g.delta, g.means[j], g.f[j], th * (1 + 1e-9)) for k in others)
        assert not all(ball_in_cone(g.means[k], 4 * g.delta, g.means[j], g.f[j], th * (1 - 1e-6)) for k in others)
        pts = np.concatenate([g.means[k] + 4 * g.delta * _sphere(rng, 4000, q) for k in others])
        v = pts - g.means[j]
        ang = np.arccos(np.clip(v @ g.f[j] / np.linalg.norm(v, axis=1), -1, 1))
        assert ang.max() <= th / 2 + 1e-12
        assert ang.max() >= th / 2 - 0.05  # sampling gets close to the bound


def test_D_is_the_largest_depth():
    """D_{ℓ,j}: the ball B_δ(x̄_j) lies in the cone with apex x̄_ℓ + t f_ℓ for t just below D_{ℓ,j}
    and not for t just above (the arcsin test of docs/mathematics.md §3)."""
    data = dlgeom.make_clustered(4, 30, 0.1, theta=1.8, seed=4)
    g = dlgeom.geometry(data)
    depth = forward_cone_depth(g.means, g.f, g.delta, g.theta_star)
    for l in range(4):
        for j in range(4):
            if l == j:
                continue
            t = depth[l, j]
            a = lambda s, l=l: g.means[l] + s * g.f[l]
            assert ball_in_cone(g.means[j], g.delta, a(t - 1e-9), g.f[l], g.theta_star)
            assert not ball_in_cone(g.means[j], g.delta, a(t + 1e-7), g.f[l], g.theta_star)
    assert g.D == pytest.approx(depth.min())
    assert g.D_eff == pytest.approx(min(depth.min(), g.dist_to_barycenter.min()))


def test_statistics_match_direct_computation(data3):
    X, y = data3.X, data3.y
    means = np.array([X[y == j].mean(axis=0) for j in range(3)])
    np.testing.assert_allclose(class_means(X, y, 3), means, atol=1e-14)
    delta = max(np.linalg.norm(X[i] - means[y[i]]) for i in range(len(y)))
    assert noise_radius(X, y, means) == pytest.approx(delta, rel=1e-14)
    g = dlgeom.geometry(data3)
    bary = means.mean(axis=0)
    assert g.r == pytest.approx(delta / min(np.linalg.norm(m - bary) for m in means), rel=1e-12)
    np.testing.assert_allclose(np.linalg.norm(g.f, axis=1), 1.0)
    assert g.cond_xred == pytest.approx(np.linalg.cond(means.T))


@pytest.mark.parametrize("q,d,n", [(3, 3, 10_000), (33, 33, 150_000), (40, 7, 700_000)])
def test_class_means_both_paths_match_direct_computation(q, d, n):
    """The one-hot path (Q ≤ 32) and the flat-bincount path (Q > 32), each over several blocks
    of rows, against the per-class mean; labels unsorted, d may differ from Q."""
    geo = importlib.import_module("dlgeom.data")  # class_means and its block sizes live there
    rng = np.random.default_rng(q)
    y = rng.permutation(np.arange(n) % q)
    X = rng.normal(size=(n, d)) * 10 + y[:, None]
    want = np.array([X[y == j].mean(axis=0) for j in range(q)])
    got = class_means(X, y, q)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    if q <= geo._ONE_HOT_MAX:
        assert n > geo._ONE_HOT_ROWS  # several one-hot blocks
    else:
        assert n * d > geo._FLAT_BLOCK  # several flat blocks


def test_assumptions_report_values_and_margins():
    inside = dlgeom.assumptions(dlgeom.geometry(dlgeom.make_clustered(3, 30, 0.1, seed=1)))
    assert inside.A1.holds and inside.A2.holds and inside.A3.holds and inside.all_hold
    assert inside.A2.value == pytest.approx(0.1, rel=1e-9)
    assert inside.A2.margin == pytest.approx(0.25 - 0.1, rel=1e-9)
    assert inside.A3.margin == pytest.approx(np.pi - inside.theta_max)
    assert inside.theta_star == pytest.approx(inside.theta0 + inside.theta_max, rel=1e-15)
    wide = dlgeom.assumptions(dlgeom.geometry(dlgeom.make_clustered(3, 30, 0.3, seed=1)))
    assert not wide.A2.holds and wide.A2.margin < 0
    obtuse = dlgeom.assumptions(dlgeom.geometry(dlgeom.make_clustered(3, 30, 0.02, theta=1.2 * np.pi, seed=1)))
    assert not obtuse.A3.holds and obtuse.A3.margin < 0 and obtuse.A2.holds
    d = obtuse.to_dict()
    for key in ("A1", "A2", "A3"):
        assert set(d[key]) == {"holds", "value", "bound", "margin"}
    assert d["r"] == pytest.approx(0.02, rel=1e-9)


def test_cone_angles_regular_simplex():
    """At δ = 0 the regular simplex has θ = 2 arccos √(Q/(2(Q−1))) at every vertex."""
    for q in (3, 4, 7):
        th = cone_angles(np.eye(q), 0.0)
        np.testing.assert_allclose(th, 2 * np.arccos(np.sqrt(q / (2 * (q - 1)))), atol=1e-12)


def test_a3_boundary_within_rounding_counts_as_failing():
    """Q = 2 at r = 0.5: the 4δ-ball touches the other mean, θ_* = π exactly in exact arithmetic;
    the computed value lands within ~1e-8 on either side of π (or at +inf when the rounded ratio
    4δ/|x̄_1 − x̄_0| reaches 1).  A3 must not hold (it needs
    θ_* < π − ANGLE_TOL), and the construction uses the cap instead of λ → 0."""
    from dlgeom.geometry import ANGLE_TOL, THETA_CAP

    seen_below = False
    for seed in range(20):
        g = dlgeom.geometry(dlgeom.make_clustered(2, 40, 0.5, seed=seed))
        assert g.theta_max == np.inf or abs(g.theta_max - np.pi) < ANGLE_TOL
        seen_below |= g.theta_max < np.pi
        assert not dlgeom.assumptions(g).A3.holds
        assert g.theta_star == THETA_CAP and g.lam > 0.01
    assert seen_below  # rounding put some of them below π: the tolerance is what decides
