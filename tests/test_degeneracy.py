"""docs/mathematics.md §6: the cost stays zero under small perturbations of the hidden layers."""

import numpy as np

import dlgeom
from dlgeom.degeneracy import degeneracy_probe, perturb_hidden, relative_margin


def test_perturbation_has_the_requested_relative_size():
    data = dlgeom.make_clustered(3, 20, 0.1, seed=1)
    net = dlgeom.construct_global(data, 4).network
    pert = perturb_hidden(net, 1e-3, np.random.default_rng(0))
    for W, b, W2, b2 in zip(net.weights[:-1], net.biases[:-1], pert.weights[:-1], pert.biases[:-1]):
        rows, rows2 = np.hstack([W, b[:, None]]), np.hstack([W2, b2[:, None]])
        np.testing.assert_allclose(np.linalg.norm(rows2 - rows, axis=1), 1e-3 * np.linalg.norm(rows, axis=1))
    assert np.array_equal(pert.weights[-1], net.weights[-1])


def test_cost_stays_zero_below_the_margin_and_rises_above():
    data = dlgeom.make_clustered(3, 40, 0.1, seed=2)
    net = dlgeom.construct_global(data, 3).network
    eps_safe = relative_margin(net, data.X)
    assert eps_safe > 0
    rows = degeneracy_probe(net, data, eps=(1e-3 * eps_safe, 1e-1 * eps_safe, 30 * eps_safe, 0.3), n_draws=4, seed=0)
    small = [r for r in rows if r["eps"] <= 0.1 * eps_safe]
    assert all(r["cost"] <= 1e-10 and r["flips"] == 0 for r in small)
    large = [r for r in rows if r["eps"] >= 30 * eps_safe]
    assert max(r["cost"] for r in large) > 1e-6
    assert all(r["flips"] > 0 for r in large if r["cost"] > 1e-6)


def test_probe_is_reproducible():
    data = dlgeom.make_clustered(2, 20, 0.1, seed=3)
    net = dlgeom.construct_global(data, 2).network
    a = degeneracy_probe(net, data, eps=(1e-2, 1e-1), n_draws=2, seed=5)
    b = degeneracy_probe(net, data, eps=(1e-2, 1e-1), n_draws=2, seed=5)
    assert a == b
