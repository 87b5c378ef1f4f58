"""docs/mathematics.md §4 and §6: the global minimiser of Thm 2.3 and its zero set."""

import numpy as np
import pytest
from conftest import random_orthogonal

import dlgeom
from dlgeom.construct import (
    collapse_thresholds,
    output_paper,
    rotation_to_diagonal,
)
from dlgeom.geometry import cone_matrix
from dlgeom.local_minima import mu_samples

ZERO = 1e-12


@pytest.mark.parametrize("q", [2, 3, 5, 8])
def test_global_construction_reaches_zero_cost(q):
    """[P Thm 2.3] C ≤ 1e-12 for L ∈ {Q, Q+3}, several seeds and μ drawn from I_0 (D_eff)."""
    for seed in range(3):
        data = dlgeom.make_clustered(q, 25, 0.05, seed=[seed, q])
        g = dlgeom.geometry(data)
        assert dlgeom.assumptions(g).all_hold and g.box_nonempty()
        rng = np.random.default_rng(seed)
        for L in (q, q + 3):
            mus = [None] + list(mu_samples(g, np.zeros(q), 4, rng))
            for mu in mus:
                con = dlgeom.construct_global(data, L, mu, geom=g)
                assert con.mu_in_box
                assert dlgeom.cost(con.network, data) <= ZERO


@pytest.mark.parametrize("theta", [1.5, 2.2, 2.6])
def test_global_construction_tilted_simplices(theta):
    data = dlgeom.make_clustered(4, 25, 0.02, theta=theta, seed=7)
    g = dlgeom.geometry(data)
    assert dlgeom.assumptions(g).all_hold and g.box_nonempty()
    assert dlgeom.cost(dlgeom.construct_global(data, 4, geom=g).network, data) <= ZERO


def test_whole_ball_maps_to_the_apex():
    """[P 2.68] T_L sends every point of B_δ(x̄_j), not just the data, to p_j = x̄_j − μ_j f_j."""
    q = 4
    data = dlgeom.make_clustered(q, 30, 0.05, seed=1)
    con = dlgeom.construct_global(data, q + 1)
    g = con.geometry
    rng = np.random.default_rng(0)
    for j in range(q):
        v = rng.standard_normal((2000, q))
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        ball = g.means[j] + v * g.delta * rng.random(2000)[:, None] ** (1 / q)
        T = dlgeom.curate(con.network, ball)
        expected = g.means[j] - con.mu[j] * g.f[j]
        np.testing.assert_allclose(T, np.broadcast_to(expected, T.shape), atol=1e-12)
        np.testing.assert_allclose(con.network.forward(ball), np.broadcast_to(data.Y[:, j], T.shape), atol=1e-11)


def test_layer_ell_collapses_class_ell_and_keeps_the_rest():
    """Why it works (docs/mathematics.md §4.7): the pre-activations of class ℓ at layer ℓ are all negative,
    every other class and every earlier apex has all pre-activations positive."""
    q = 3
    data = dlgeom.make_clustered(q, 40, 0.1, seed=2)
    con = dlgeom.construct_global(data, q)
    pre = con.network.preactivations(data.X)
    for ell in range(q):
        assert np.all(pre[ell][data.y == ell] < 0)
        assert np.all(pre[ell][data.y > ell] > 0)
        if ell:
            assert np.all(pre[ell][data.y < ell] > 0)


def test_output_formula_equals_least_squares_at_zero():
    data = dlgeom.make_clustered(3, 30, 0.1, seed=3)
    for output in ("paper", "lstsq", "lstsq_affine"):
        con = dlgeom.construct_global(data, 4, output=output)
        assert dlgeom.cost(con.network, data) <= ZERO


def test_paper_D_alone_is_not_enough():
    """Needs a correction (docs/mathematics.md §3, D_eff): with μ from the paper's box (−D, −2δ√Q)
    but |μ| ≥ min_j|x̄_j − x̄|, an earlier collapsed point leaves a later forward cone: Q = 2,
    μ_1 = μ_2 = −0.95 D gives a positive cost, while every μ in the D_eff box gives zero."""
    data = dlgeom.make_clustered(2, 30, 0.1, seed=4)
    g = dlgeom.geometry(data)
    assert g.D > g.D_eff * 1.5  # the paper's D is much larger here
    mu = np.full(2, -0.95 * g.D)
    con = dlgeom.construct_global(data, 2, mu, use_D="paper", geom=g)
    assert dlgeom.cost(con.network, data) > 0.1
    # the mechanism: the apex p_1 is not in the forward cone of layer 2
    Wc, bc = con.network.cumulative()
    p1 = g.means[0] - mu[0] * g.f[0]
    assert np.any(Wc[1] @ p1 + bc[1] < 0)
    with pytest.raises(dlgeom.DlgeomInputError, match="mu"):
        dlgeom.construct_global(data, 2, mu, use_D="eff", geom=g)
    rng = np.random.default_rng(0)
    for m in mu_samples(g, np.zeros(2), 20, rng, "eff"):
        assert dlgeom.cost(dlgeom.construct_global(data, 2, m, geom=g).network, data) <= ZERO


def test_zero_set_rotations_about_u():
    """[P §4.3] Any R_ℓ' = G R_ℓ with G ∈ SO(Q) fixing û gives another zero-cost network."""
    q = 4
    data = dlgeom.make_clustered(q, 30, 0.1, seed=5)
    g = dlgeom.geometry(data)
    mu = dlgeom.construct.default_mu(g)
    rng = np.random.default_rng(1)
    u = np.ones(q) / np.sqrt(q)
    W_star = cone_matrix(g.theta_star, q)
    Wc, bc = [], []
    for ell in range(q):
        # a random rotation of û^⊥ that fixes û
        B = np.linalg.qr(np.column_stack([u, rng.standard_normal((q, q - 1))]))[0]
        G0 = random_orthogonal(rng, q - 1)
        if np.linalg.det(G0) < 0:
            G0[:, 0] *= -1
        G = np.outer(B[:, 0], B[:, 0]) + B[:, 1:] @ G0 @ B[:, 1:].T
        np.testing.assert_allclose(G @ u, u, atol=1e-12)
        W = W_star @ G @ rotation_to_diagonal(g.f[ell])
        Wc.append(W)
        bc.append(-W @ g.means[ell] + mu[ell] * u)
    W_out, b_out = output_paper(g, data.Y, mu, Wc[-1], bc[-1])
    net = dlgeom.Network.from_cumulative(Wc, bc, W_out, b_out)
    assert dlgeom.cost(net, data) <= ZERO
    ref = dlgeom.construct_global(data, q, mu, geom=g).network
    assert not np.allclose(net.weights[0], ref.weights[0])


def test_zero_set_per_unit_rescaling():
    """Scaling a hidden unit's row by c > 0 and the next layer's column by 1/c keeps the function."""
    data = dlgeom.make_clustered(3, 30, 0.1, seed=6)
    net = dlgeom.construct_global(data, 4).network
    rng = np.random.default_rng(2)
    ws, bs = list(net.weights), list(net.biases)
    for ell in range(4):
        c = rng.uniform(0.2, 5.0, 3)
        ws[ell] = ws[ell] * c[:, None]
        bs[ell] = bs[ell] * c
        ws[ell + 1] = ws[ell + 1] / c[None, :]
    scaled = dlgeom.Network(tuple(ws), tuple(bs))
    np.testing.assert_allclose(scaled.forward(data.X), net.forward(data.X), atol=1e-12)
    assert dlgeom.cost(scaled, data) <= ZERO


def test_exact_thresholds_are_inside_the_paper_bounds():
    """The exact collapse/identity thresholds of docs/mathematics.md §2 lie within ∓2δ√Q, and a μ between
    the exact collapse threshold and −2δ√Q still collapses the class (the paper is conservative)."""
    data = dlgeom.make_clustered(3, 50, 0.1, seed=8)
    g = dlgeom.geometry(data)
    th = collapse_thresholds(data, g)
    assert np.all(th[:, 0] > -g.collapse_bound) and np.all(th[:, 1] < g.collapse_bound)
    assert np.all(th[:, 0] < th[:, 1])
    mu = 0.5 * (th[:, 0] - g.collapse_bound)  # between −2δ√Q and the exact collapse threshold
    assert np.all(mu > -g.collapse_bound) and np.all(mu < th[:, 0])
    con = dlgeom.construct_global(data, 3, mu, geom=g, strict_mu=False)
    assert not con.mu_in_box
    assert dlgeom.cost(con.network, data) <= ZERO


def test_extra_layers_keep_a_positive_margin():
    data = dlgeom.make_clustered(3, 30, 0.1, seed=9)
    for L in (3, 4, 7):
        con = dlgeom.construct_global(data, L)
        assert dlgeom.activation_margin(con.network, data.X) > 1e-3


def test_extra_layers_keep_the_margin_without_growing_activations():
    """L > Q: the extra layers keep every point with the same activation margin, and the last
    hidden activations do not grow with L (so rounding does not either)."""
    from dlgeom.network import activation_margin

    data = dlgeom.make_clustered(16, 20, 0.05, seed=2)
    nets = {L: dlgeom.construct_global(data, L).network for L in (17, 32, 64)}
    margins = {L: activation_margin(n, data.X) for L, n in nets.items()}
    top = {L: float(np.abs(n.last_hidden(data.X)).max()) for L, n in nets.items()}
    assert margins[17] > 0 and margins[64] == pytest.approx(margins[17], rel=1e-9)
    assert top[64] == pytest.approx(top[17], rel=1e-9)
    for L, n in nets.items():
        assert dlgeom.cost(n, data) <= 1e-10, L


@pytest.mark.parametrize("q,theta,L", [(2, None, 5), (3, 2.2, 3), (5, None, 9), (8, 2.8, 12)])
def test_layers_equal_the_cumulative_quotients(q, theta, L):
    """The layers of hidden_network (one batched solve for ℓ ≤ Q) equal the definition
    W_ℓ = W^(ℓ)(W^(ℓ−1))^{-1}, b_ℓ = b^(ℓ) − W_ℓ b^(ℓ−1) [P 2.45] solved layer by layer from
    hidden_cumulative, and the extra layers are exactly I with β·1 in the first of them only."""
    from dlgeom.construct import default_mu, hidden_cumulative, hidden_network
    from dlgeom.network import Network

    data = dlgeom.make_clustered(q, 20, 0.05, theta=theta, seed=q)
    g = dlgeom.geometry(data)
    mu = default_mu(g)
    net = hidden_network(g, mu, L)
    Wc, bc = hidden_cumulative(g, mu, L)
    ref = Network.from_cumulative(Wc, bc, np.eye(q), np.zeros(q))
    scale = max(np.abs(w).max() for w in ref.weights)
    for ell in range(L):
        np.testing.assert_allclose(net.weights[ell], ref.weights[ell], rtol=0, atol=1e-12 * scale)
        np.testing.assert_allclose(net.biases[ell], ref.biases[ell], rtol=0, atol=1e-12 * np.abs(bc).max())
    for ell in range(q, L):
        assert np.array_equal(net.weights[ell], np.eye(q))
        beta = g.dist_to_barycenter.min() if ell == q else 0.0
        assert np.array_equal(net.biases[ell], np.full(q, beta))


def test_default_mu_box_flag_matches_the_general_check():
    """The scalar box test of the default μ (construct_pattern's fast path) agrees with the
    vectorised _check_mu for every pattern, with the D_eff and the paper's box, empty or not."""
    from dlgeom.construct import _check_mu, _default_mu, all_patterns

    seen = set()
    for q, r in ((2, 0.05), (3, 0.1), (4, 0.3), (5, 0.2)):
        g = dlgeom.geometry(dlgeom.make_clustered(q, 20, r, seed=q))
        for use_D in ("eff", "paper"):
            for s in all_patterns(q):
                mu, fast = _default_mu(g, s, use_D)
                _, general = _check_mu(mu, g, s, use_D, strict=False)
                assert fast == general, (q, r, use_D, s)
                seen.add(fast)
    assert seen == {True, False}


def test_hidden_layers_follow_their_geometry_through_the_cache():
    """The μ-free layer parts are computed once per geometry: geometries made and dropped one after
    another (their ids may be reused) each get their own W^(ℓ) = W_* R_ℓ and b^(ℓ) = −W^(ℓ) x̄_ℓ + μ_ℓ û."""
    import gc

    from dlgeom.construct import hidden_cumulative
    from dlgeom.geometry import cone_matrix, geometry, rotation_to_diagonal
    from dlgeom.synthetic import make_clustered

    for seed in range(6):
        q = 2 + seed % 3
        theta = None if seed % 2 or q == 2 else 2.2
        geom = geometry(make_clustered(q, 8, 0.1, theta, "uniform", seed=[seed]), None)
        mu = -0.1 * (1 + np.arange(q))
        Wc, bc = hidden_cumulative(geom, mu, q + 1)
        for ell in range(q):
            W = cone_matrix(geom.theta_star, q) @ rotation_to_diagonal(geom.f[ell])
            np.testing.assert_allclose(Wc[ell], W, atol=1e-13)
            np.testing.assert_allclose(bc[ell], -W @ geom.means[ell] + mu[ell] / np.sqrt(q), atol=1e-12)
        del geom
        gc.collect()
