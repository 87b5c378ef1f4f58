"""docs/mathematics.md §5: the pattern networks, the value (2.85), the least-squares values and stationarity."""

import numpy as np
import pytest

import dlgeom
from dlgeom.construct import all_patterns, fit_affine, output_lstsq
from dlgeom.local_minima import (
    analyse_pattern,
    analyse_patterns,
    class_scatter,
    value_affine_closed,
    value_biasfree_closed,
    value_paper,
)


@pytest.fixture(scope="module")
def reports3(data3):
    return analyse_patterns(data3, 3, n_mu_samples=4, seed=0)


def test_closed_forms_equal_least_squares(data3, data3_tilted):
    """Our derivation: bias-free LS = V_P with the curated X^red; affine LS = V_aff; both to 1e-10."""
    for data in (data3, data3_tilted, dlgeom.make_clustered(4, 30, 0.08, seed=5, noise="anisotropic")):
        for rep in analyse_patterns(data, n_mu_samples=0):
            assert abs(rep.value_biasfree - rep.value_biasfree_closed) <= 1e-10
            assert abs(rep.value_affine - rep.value_affine_closed) <= 1e-10


def test_least_squares_values_from_an_independent_fit(data3):
    """The LS values used above equal a direct numpy lstsq on the curated data."""
    g = dlgeom.geometry(data3)
    for s in all_patterns(3):
        con = dlgeom.construct_pattern(data3, s, geom=g, output="paper")
        T = dlgeom.curate(con.network, data3.X)
        sw = np.sqrt(1.0 / data3.counts[data3.y])[:, None]
        for bias, key in ((False, "value_biasfree"), (True, "value_affine")):
            A = np.hstack([T, np.ones((len(T), 1))]) if bias else T
            coef = np.linalg.lstsq(A * sw, data3.Y.T[data3.y] * sw, rcond=None)[0]
            v = np.sqrt(np.sum(((A @ coef - data3.Y.T[data3.y]) * sw) ** 2))
            rep = analyse_pattern(data3, s, geom=g, n_mu_samples=0)
            assert getattr(rep, key) == pytest.approx(v, rel=1e-9, abs=1e-12)


def test_global_pattern_is_zero_and_stationary(reports3):
    rep = reports3[0]
    assert rep.s == [0, 0, 0]
    assert rep.value_paper == 0 and rep.value_affine <= 1e-12 and rep.stationary and not rep.mu_dependent


def test_no_collapse_pattern_is_a_flat_local_minimum(reports3, data3):
    """s = 1: (2.85) equals the bias-free value; the free bias lowers it; μ-independent;
    stationary with the output re-solved; no μ-step descends."""
    rep = reports3[-1]
    assert rep.s == [1, 1, 1]
    assert rep.value_paper == pytest.approx(rep.value_biasfree, rel=1e-10)
    assert rep.value_affine < rep.value_paper
    assert not rep.mu_dependent and rep.stationary and not rep.mu_descent
    # and it equals plain affine regression on the raw data (nothing is truncated)
    _, _, v2 = fit_affine(data3.X, data3, bias=True)
    assert rep.value_affine == pytest.approx(np.sqrt(v2), rel=1e-10)


def test_mixed_patterns_slide_along_mu(reports3):
    """Mixed patterns: (2.85) as printed differs from the bias-free LS value; the value depends
    on μ inside the box and a μ-step lowers it, so they are not local minima with the free bias."""
    for rep in reports3[1:-1]:
        assert 0 < sum(rep.s) < 3
        assert abs(rep.value_paper - rep.value_biasfree) > 1e-6
        assert rep.mu_dependent and rep.mu_descent and not rep.stationary
        assert rep.value_affine_min_over_mu < rep.value_affine_max_over_mu


def test_dF_dmu_matches_a_finite_step(data3):
    """dF/dμ_j against a one-sided difference with a larger step (consistency of the derivative)."""
    g = dlgeom.geometry(data3)
    s = np.array([0, 1, 0])
    rep = analyse_pattern(data3, s, geom=g, n_mu_samples=0)
    mu = np.array(rep.mu)
    from dlgeom.construct import hidden_network

    def F(m):
        return output_lstsq(hidden_network(g, m, 3), data3, bias=True)[2]

    h = 1e-4
    for j in (0, 2):
        e = np.zeros(3)
        e[j] = h
        assert rep.dF_dmu[j] == pytest.approx((F(mu + e) - F(mu - e)) / (2 * h), rel=1e-4)
    assert abs(rep.dF_dmu[1]) < 1e-9


def test_value_paper_uses_the_original_xred(data3):
    """(2.85) as printed is the bias-free value with the *original* X^red: recompute it by hand."""
    g = dlgeom.geometry(data3)
    S = class_scatter(data3, g.means)
    s = np.array([1, 0, 1])
    dX = np.where(s[data3.y][:, None] == 1, data3.X - g.means[data3.y], 0.0).T  # ΔX_0[s]
    D1 = np.linalg.solve(g.xred, dX)
    D2 = D1 @ np.diag(1.0 / data3.counts[data3.y]) @ D1.T
    w, V = np.linalg.eigh(D2)
    w = np.clip(w, 0, None)
    expected = np.linalg.norm(data3.Y @ V @ np.diag(np.sqrt(w / (1 + w))) @ V.T)
    assert value_paper(data3, g, s, S) == pytest.approx(expected, rel=1e-12)
    mu = dlgeom.construct.default_mu(g, s)
    assert value_biasfree_closed(data3, g, s, mu, S) != pytest.approx(expected, rel=1e-3)
    assert value_affine_closed(data3, g, s, mu, S) <= value_biasfree_closed(data3, g, s, mu, S) + 1e-12
