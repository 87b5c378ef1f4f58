"""docs/mathematics.md §2: the truncation map τ, its cones, the cumulative parameters and the μ-lemmas."""

import numpy as np
from conftest import random_network, random_orthogonal
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import dlgeom
from dlgeom.construct import rotation_to_diagonal
from dlgeom.geometry import cone_matrix, simplex_angle
from dlgeom.network import relu, truncate

finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)


@st.composite
def map_and_points(draw):
    q = draw(st.integers(2, 6))
    W = draw(arrays(np.float64, (q, q), elements=finite))
    # keep W well conditioned: add a multiple of the identity
    W = W + (np.abs(W).sum() + 1.0) * np.eye(q)
    b = draw(arrays(np.float64, (q,), elements=finite))
    X = draw(arrays(np.float64, (draw(st.integers(1, 20)), q), elements=finite))
    return W, b, X


@settings(max_examples=60, deadline=None)
@given(map_and_points())
def test_tau_idempotent(args):
    W, b, X = args
    once = truncate(X, W, b)
    np.testing.assert_allclose(truncate(once, W, b), once, atol=1e-9 * (1 + np.abs(once).max()))


@settings(max_examples=60, deadline=None)
@given(map_and_points(), st.floats(1e-3, 1e3))
def test_tau_scale_invariant(args, lam):
    """[P 2.66] τ_{λW,λb} = τ_{W,b} for λ > 0."""
    W, b, X = args
    np.testing.assert_allclose(truncate(X, lam * W, lam * b), truncate(X, W, b), atol=1e-9 * (1 + np.abs(X).max()))


@settings(max_examples=60, deadline=None)
@given(map_and_points())
def test_tau_image_is_forward_cone(args):
    """Every image point has non-negative chart coordinates W(τx − p) ≥ 0."""
    W, b, X = args
    p = -np.linalg.solve(W, b)
    coords = (truncate(X, W, b) - p) @ W.T
    assert np.all(coords >= -1e-9 * (1 + np.abs(coords).max()))


@settings(max_examples=60, deadline=None)
@given(map_and_points(), st.integers(0, 2**31 - 1))
def test_tau_forward_identity_backward_collapse(args, seed):
    W, b, _ = args
    q = W.shape[0]
    rng = np.random.default_rng(seed)
    p = -np.linalg.solve(W, b)
    V = rng.random((30, q)) + 1e-3
    forward = p + np.linalg.solve(W, V.T).T
    backward = p - np.linalg.solve(W, V.T).T
    scale = 1 + np.abs(forward).max()
    np.testing.assert_allclose(truncate(forward, W, b), forward, atol=1e-9 * scale)
    np.testing.assert_allclose(truncate(backward, W, b), np.broadcast_to(p, backward.shape), atol=1e-9 * scale)
    # mixed: negative chart coordinates are zeroed
    M = rng.standard_normal((30, q))
    mixed = p + np.linalg.solve(W, M.T).T
    np.testing.assert_allclose(truncate(mixed, W, b), p + np.linalg.solve(W, relu(M).T).T, atol=1e-9 * scale)


def test_cumulative_identity_and_inverse_map():
    """[P 2.43–2.45] X^(ℓ) = T_ℓ(X) W^(ℓ)ᵀ + b^(ℓ), σ(X^(ℓ)) = X^(ℓ), and the inverse map."""
    rng = np.random.default_rng(0)
    for q, L in [(2, 2), (3, 5), (5, 4)]:
        net = random_network(rng, q, L)
        X = rng.standard_normal((200, q))
        Wc, bc = net.cumulative()
        H = X
        for ell in range(L):
            H = relu(H @ net.weights[ell].T + net.biases[ell])
            T = dlgeom.curate(net, X, ell + 1)
            np.testing.assert_allclose(T @ Wc[ell].T + bc[ell], H, atol=1e-10)
            assert np.all(H >= 0)
        back = dlgeom.Network.from_cumulative(Wc, bc, net.weights[-1], net.biases[-1])
        np.testing.assert_allclose(back.to_flat(), net.to_flat(), atol=1e-10)
        # the network is an affine map after L truncations in input space
        f = dlgeom.curate(net, X) @ (net.weights[-1] @ Wc[-1]).T + (net.weights[-1] @ bc[-1] + net.biases[-1])
        np.testing.assert_allclose(f, net.forward(X), atol=1e-10)


def _ball(rng, n, q, center, radius):
    v = rng.standard_normal((n, q))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return center + v * radius * rng.random(n)[:, None] ** (1 / q)


def test_collapse_and_identity_lemmas():
    """[P Lemma 4.1, 5.1] ‖W‖ = 1, b = −W x̄ + μ u/√Q: μ < −2δ√Q collapses the δ-ball to the
    apex, μ > 2δ√Q keeps it; the exact thresholds are −√Q max/min (WΔx)_k."""
    rng = np.random.default_rng(1)
    for q in (2, 3, 5):
        W = random_orthogonal(rng, q)
        xbar = rng.standard_normal(q)
        delta = 0.3
        X = _ball(rng, 500, q, xbar, delta)
        u = np.ones(q) / np.sqrt(q)
        for mu in (-2 * delta * np.sqrt(q) * 1.001, -5.0):
            b = -W @ xbar + mu * u
            p = -np.linalg.solve(W, b)
            np.testing.assert_allclose(truncate(X, W, b), np.broadcast_to(p, X.shape), atol=1e-12)
        for mu in (2 * delta * np.sqrt(q) * 1.001, 5.0):
            b = -W @ xbar + mu * u
            np.testing.assert_allclose(truncate(X, W, b), X, atol=1e-12)
        proj = (X - xbar) @ W.T
        lo, hi = -np.sqrt(q) * proj.max(), -np.sqrt(q) * proj.min()
        assert lo > -2 * delta * np.sqrt(q) and hi < 2 * delta * np.sqrt(q)
        p_lo = -np.linalg.solve(W, -W @ xbar + lo * (1 - 1e-9) * u)
        np.testing.assert_allclose(
            truncate(X, W, -W @ xbar + lo * (1 - 1e-9) * u), np.broadcast_to(p_lo, X.shape), atol=1e-12
        )
        np.testing.assert_allclose(truncate(X, W, -W @ xbar + hi * (1 + 1e-9) * u), X, atol=1e-12)
        # inside the transition band the class is only partly truncated
        mid = truncate(X, W, -W @ xbar + 0.5 * (lo + hi) * u)
        moved = np.linalg.norm(mid - X, axis=1) > 1e-12
        assert 0 < moved.sum() < len(X)


def test_cone_lemma():
    """W = W_θ R with R h = û, b = −W p: identity on p + C_θ[h], p + C_θ[−h] ↦ p."""
    rng = np.random.default_rng(2)
    for q in (2, 3, 4, 6):
        theta_q = simplex_angle(q)
        for theta in (theta_q * 0.9, (theta_q + np.pi) / 2, 0.97 * np.pi):
            Wt = cone_matrix(theta, q)
            assert abs(np.linalg.norm(Wt, 2) - 1) < 1e-12
            h = rng.standard_normal(q)
            h /= np.linalg.norm(h)
            R = rotation_to_diagonal(h)
            assert abs(np.linalg.det(R) - 1) < 1e-12
            np.testing.assert_allclose(R @ h, np.ones(q) / np.sqrt(q), atol=1e-12)
            W = Wt @ R
            p = rng.standard_normal(q)
            b = -W @ p
            # points at angle < θ/2 from h (up to the cone's mantle)
            v = rng.standard_normal((400, q))
            v -= np.outer(v @ h, h)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            ang = rng.random(400) * theta / 2 * (1 - 1e-9)
            dirs = np.cos(ang)[:, None] * h + np.sin(ang)[:, None] * v
            r = rng.random(400)[:, None] * 3
            inside = p + r * dirs
            np.testing.assert_allclose(truncate(inside, W, b), inside, atol=1e-9)
            behind = p - r * dirs
            np.testing.assert_allclose(truncate(behind, W, b), np.broadcast_to(p, behind.shape), atol=1e-9)
