"""docs/mathematics.md §1: the network, the cost C, the analytic gradient of C²."""

import numpy as np
import pytest
from conftest import random_network

import dlgeom
import dlgeom.network as netmod


def _data(rng, q, counts):
    y = np.repeat(np.arange(q), counts)
    X = rng.standard_normal((y.size, q))
    Y = np.eye(q) + 0.3 * rng.standard_normal((q, q))
    return dlgeom.Dataset(X, y, Y)


def test_cost_matches_the_definition():
    """C² = Σ_j (1/N_j) Σ_i |x^(L+1)_{j,i} − y_j|², by an explicit loop over points."""
    rng = np.random.default_rng(0)
    data = _data(rng, 3, [5, 9, 14])
    net = random_network(rng, 3, 4)
    total = 0.0
    for x, label in zip(data.X, data.y):
        h = x
        for W, b in zip(net.weights[:-1], net.biases[:-1]):
            h = np.maximum(W @ h + b, 0)
        out = net.weights[-1] @ h + net.biases[-1]
        total += np.sum((out - data.Y[:, label]) ** 2) / data.counts[label]
    assert dlgeom.cost_sq(net, data) == pytest.approx(total, rel=1e-13)
    assert dlgeom.cost(net, data) == pytest.approx(np.sqrt(total), rel=1e-13)
    c2, _ = dlgeom.cost_and_grad(net, data)
    assert c2 == pytest.approx(total, rel=1e-13)


def test_gradient_against_central_differences():
    """∇C² by backpropagation against central differences with steps below the activation margin."""
    rng = np.random.default_rng(1)
    for q, L in [(2, 2), (3, 3), (4, 6)]:
        data = _data(rng, q, [7] * q)
        net = random_network(rng, q, L)
        theta = net.to_flat()
        margin = dlgeom.activation_margin(net, data.X)
        # a parameter step h moves any pre-activation by at most h·(1 + max|activation|)
        biggest = max(np.abs(a).max() for a in net.preactivations(data.X)) + np.abs(data.X).max() + 1
        h = min(1e-6, 0.01 * margin / biggest)
        assert h > 0
        _, grad = dlgeom.cost_and_grad(net, data)
        fd = np.empty_like(theta)
        for i in range(theta.size):
            e = np.zeros_like(theta)
            e[i] = h
            up = dlgeom.Network.from_flat(theta + e, q, L)
            dn = dlgeom.Network.from_flat(theta - e, q, L)
            assert np.array_equal(up.activation_pattern(data.X), net.activation_pattern(data.X))
            fd[i] = (dlgeom.cost_sq(up, data) - dlgeom.cost_sq(dn, data)) / (2 * h)
        np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-6 * np.abs(grad).max())


def test_flat_vector_round_trip_and_count():
    rng = np.random.default_rng(2)
    net = random_network(rng, 4, 3)
    assert net.n_params == (3 + 1) * (16 + 4) == net.to_flat().size
    back = dlgeom.Network.from_flat(net.to_flat(), 4, 3)
    assert np.array_equal(back.to_flat(), net.to_flat())
    with pytest.raises(dlgeom.DlgeomInputError, match="vec"):
        dlgeom.Network.from_flat(net.to_flat()[:-1], 4, 3)


def test_chunked_passes_agree(monkeypatch):
    """Results do not depend on the chunk size used for passes over the data."""
    rng = np.random.default_rng(3)
    data = _data(rng, 3, [50, 60, 70])
    net = random_network(rng, 3, 3)
    full = (
        net.forward(data.X),
        dlgeom.cost_sq(net, data),
        dlgeom.cost_and_grad(net, data)[1],
        dlgeom.activation_margin(net, data.X),
    )
    monkeypatch.setattr(netmod, "CHUNK", 16)
    small = (
        net.forward(data.X),
        dlgeom.cost_sq(net, data),
        dlgeom.cost_and_grad(net, data)[1],
        dlgeom.activation_margin(net, data.X),
    )
    np.testing.assert_allclose(small[0], full[0], rtol=1e-14)
    assert small[1] == pytest.approx(full[1], rel=1e-13)
    np.testing.assert_allclose(small[2], full[2], rtol=1e-12, atol=1e-14)
    assert small[3] == full[3]


def test_activation_margin_is_the_smallest_preactivation():
    rng = np.random.default_rng(4)
    net = random_network(rng, 3, 4)
    X = rng.standard_normal((100, 3))
    expected = min(np.abs(z).min() for z in net.preactivations(X))
    assert dlgeom.activation_margin(net, X) == expected
