"""θ_0 as the paper uses it [P 4.24]: D increases with θ_0; the 'open_box' rule; the regular
simplex closed form of D; the deterministic μ-box check."""

import math

import numpy as np
import pytest

from dlgeom.data import Dataset
from dlgeom.geometry import (
    BOX_MARGIN,
    COND_W_LIMIT,
    THETA0_MIN,
    assumptions,
    depth_at,
    depth_sup,
    exact_collapse_bound,
    geometry,
    regular_simplex_depth,
    theta_cap_for_cond,
)
from dlgeom.mu_box import apex_leaves_cone, box_points, check_box
from dlgeom.synthetic import make_clustered
from dlgeom.validation import DlgeomInputError


def simplex_data(q: int, r: float) -> Dataset:
    """Means e_1..e_Q (a regular simplex, barycenter distance ρ = √((Q−1)/Q)), points x̄_j ± rρ e_k:
    the means and δ = rρ are exact."""
    means = np.eye(q)
    rho = math.sqrt((q - 1) / q)
    X = np.concatenate([means[j] + s * r * rho * np.eye(q) for j in range(q) for s in (1, -1)])
    y = np.repeat(np.arange(q), 2 * q)
    return Dataset(X, y, np.eye(q), {})


@pytest.mark.parametrize("q", [2, 3, 4, 5, 8])
@pytest.mark.parametrize("r", [0.05, 0.2, 0.24])
def test_regular_simplex_depth_closed_form(q, r):
    data = simplex_data(q, r)
    for rule in ("midpoint", "open_box", 0.3):
        g = geometry(data, rule)
        rho = float(g.dist_to_barycenter.min())
        assert g.r == pytest.approx(r, rel=1e-12)
        assert g.D == pytest.approx(regular_simplex_depth(q, g.r, g.theta_star, rho), rel=1e-10, abs=1e-12)
    assert depth_sup(g.means, g.f, g.delta) == pytest.approx(regular_simplex_depth(q, r, None, rho), rel=1e-12)


def test_depth_increases_with_theta0_towards_its_supremum():
    data = make_clustered(3, 30, 0.1, 2.2, "uniform", seed=[3, 1])
    g = geometry(data)
    thetas = np.linspace(g.theta_max + 1e-3, np.pi - 1e-9, 50)
    d = np.array([depth_at(g.means, g.f, g.delta, t) for t in thetas])
    assert (np.diff(d) > 0).all()
    assert d[-1] == pytest.approx(depth_sup(g.means, g.f, g.delta), abs=1e-6)
    assert (d < depth_sup(g.means, g.f, g.delta)).all()


def test_a1_a3_do_not_imply_a_box_regular_simplex():
    """c_0 = 0.24 < 1/4: A1-A3 hold for the regular simplex at Q = 5, but sup_θ0 D ≤ 2δ√Q."""
    q, r = 5, 0.24
    g = geometry(simplex_data(q, r), "open_box")
    assert assumptions(g).all_hold
    assert depth_sup(g.means, g.f, g.delta) <= g.collapse_bound
    assert not g.box_nonempty("paper")
    # one class fewer, the box opens
    g4 = geometry(simplex_data(4, r), "open_box")
    assert depth_sup(g4.means, g4.f, g4.delta) > g4.collapse_bound and g4.box_nonempty("paper")


def test_open_box_rule():
    data = make_clustered(3, 30, 0.1, None, "uniform", seed=[3, 2])
    g_mid, g_open = geometry(data), geometry(data, "open_box")
    assert g_mid.theta0 == pytest.approx((np.pi - g_mid.theta_max) / 2)
    assert geometry(data, "midpoint").theta0 == g_mid.theta0
    target = (1 + BOX_MARGIN) * g_open.collapse_bound
    assert g_open.D >= target
    assert g_open.theta0 >= THETA0_MIN
    if g_open.theta0 > THETA0_MIN * (1 + 1e-9):  # smallest: a slightly smaller θ_0 misses the target
        assert depth_at(g_open.means, g_open.f, g_open.delta, g_open.theta_star - 1e-6) < target
    assert 1 / g_open.lam <= COND_W_LIMIT * (1 + 1e-9)
    with pytest.raises(DlgeomInputError, match="theta0"):
        geometry(data, "widest")
    # Q = 3 regular simplex at r = 0.2: the target is met strictly inside (θ_max + THETA0_MIN, cap)
    g = geometry(simplex_data(3, 0.2), "open_box")
    target = (1 + BOX_MARGIN) * g.collapse_bound
    assert g.theta0 > 2 * THETA0_MIN and 1 / g.lam < COND_W_LIMIT
    assert g.D == pytest.approx(target, rel=1e-9)
    assert depth_at(g.means, g.f, g.delta, g.theta_star - 1e-6) < target


def test_open_box_capped_by_cond():
    # Q = 5 regular simplex at r = 0.2: the target needs θ_* beyond the cap; θ_* is the cap
    g = geometry(simplex_data(5, 0.2), "open_box")
    assert g.theta_star == pytest.approx(theta_cap_for_cond(5), rel=1e-12)
    assert 1 / g.lam == pytest.approx(COND_W_LIMIT, rel=1e-6)


def test_exact_collapse_bound_below_paper_bound():
    data = make_clustered(3, 40, 0.1, None, "uniform", seed=[3, 3])
    g = geometry(data, "open_box")
    b = exact_collapse_bound(data.X, data.y, g.means, g.f, g.theta_star)
    assert 0 < b <= math.sqrt(3) * g.delta * (1 + 1e-12) < g.collapse_bound


def test_box_points_deterministic_then_random():
    pts, kinds = box_points(-2.0, -1.0, 3, 5, np.random.default_rng(0))
    assert (kinds == "corner").sum() == 8 and (kinds == "edge").sum() == 3 * 4 and (kinds == "random").sum() == 5
    assert ((pts > -2.0) & (pts < -1.0)).all()
    corners = pts[kinds == "corner"]
    assert len({tuple(c) for c in corners}) == 8


def test_check_box_failing_set_is_where_an_apex_leaves_a_cone():
    """Q = 2 regular simplex with the midpoint θ_0: D > ρ, the paper's box fails exactly at the μ
    where the earlier apex leaves the later layer's cone (for Q = 2: |μ_1| + |μ_2| ≥ 2ρ)."""
    data = simplex_data(2, 0.05)
    g = geometry(data, "midpoint")
    rho = float(g.dist_to_barycenter.min())
    assert g.D > rho
    out = check_box(data, g, 2, "paper", 16, np.random.default_rng(1))
    n_fail = out["fail_corner"] + out["fail_edge"] + out["fail_random"]
    assert n_fail > 0 and out["fail_apex_out"] == n_fail == out["apex_out"]
    assert out["fail_past_min"] == n_fail
    eff = check_box(data, g, 2, "eff", 16, np.random.default_rng(1))
    assert eff["fail_corner"] + eff["fail_edge"] + eff["fail_random"] == 0 and eff["apex_out"] == 0
    # the closed form of the crossing for Q = 2
    assert apex_leaves_cone(g, np.array([-1.2 * rho, -1.2 * rho]))
    assert not apex_leaves_cone(g, np.array([-0.9 * rho, -0.9 * rho]))


def _apex_leaves_cone_by_hand(geom, mu) -> bool:
    """The definition, one μ and one layer at a time: W^(ℓ) = W_* R_ℓ, b^(ℓ) = −W^(ℓ) x̄_ℓ + μ_ℓ û."""
    from dlgeom.geometry import cone_matrix, rotation_to_diagonal
    from dlgeom.mu_box import APEX_TOL

    q = geom.n_classes
    apex = geom.means - mu[:, None] * geom.f
    W_star = cone_matrix(geom.theta_star, q)
    for ell in range(1, q):
        W = W_star @ rotation_to_diagonal(geom.f[ell])
        b = -W @ geom.means[ell] + mu[ell] / math.sqrt(q)
        for j in range(ell):
            if (W @ apex[j] + b).min() < -APEX_TOL * max(1.0, float(np.linalg.norm(apex[j]))):
                return True
    return False


@pytest.mark.parametrize("q", [2, 3, 5])
def test_apex_leaves_cone_batch_is_the_definition_for_every_mu(q):
    """The batched test of check_box against the definition, point by point, over a box and far
    beyond it (both answers occur), for fresh geometries (the layer parts are cached per geometry)."""
    from dlgeom.mu_box import apex_leaves_cone_batch

    answers = set()
    for seed in range(3):
        geom = geometry(make_clustered(q, 10, 0.1, None, "uniform", seed=[seed]), None)
        rng = np.random.default_rng(seed)
        mus = rng.uniform(-1.5, 0.0, (40, q)) * geom.dist_to_barycenter.min()
        got = apex_leaves_cone_batch(geom, mus)
        want = [_apex_leaves_cone_by_hand(geom, m) for m in mus]
        assert got.tolist() == want
        assert [apex_leaves_cone(geom, m) for m in mus[:5]] == want[:5]
        answers |= set(want)
    assert answers == {True, False}
