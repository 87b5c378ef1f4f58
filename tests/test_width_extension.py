"""One extra neuron: function-preserving embeddings into width Q + 1, the general-width gradient,
and the escape test on a known escapable minimum and on a global minimiser."""

import numpy as np
import pytest

from dlgeom import DlgeomInputError
from dlgeom.construct import construct_global
from dlgeom.landscape import descent_probe, init_random
from dlgeom.network import Network, cost_and_grad, cost_sq
from dlgeom.synthetic import make_clustered
from dlgeom.width_extension import (
    EMBEDDINGS,
    WideNet,
    embed,
    embed_split,
    embed_zero,
    escape_test,
    wide_cost_and_grad,
    wide_cost_sq,
)


def _random_net(q, L, rng):
    x = init_random(q, L, rng)
    net = Network.from_flat(x, q, L)
    return Network(net.weights, tuple(0.3 * rng.standard_normal(q) for _ in range(L + 1)))


@pytest.mark.parametrize("q,L,seed", [(2, 2, 0), (3, 3, 1), (3, 5, 2), (4, 4, 3)])
@pytest.mark.parametrize("kind", EMBEDDINGS)
def test_embeddings_preserve_the_function(q, L, seed, kind):
    rng = np.random.default_rng(seed)
    net = _random_net(q, L, rng)
    data = make_clustered(q, 30, 0.3, seed=[seed])
    X = rng.normal(scale=2.0, size=(200, q))  # any inputs, not only the data
    wide, _ = embed(net, kind, rng, data)
    assert wide.widths == (q + 1,) * L
    ref = net.forward(X)
    np.testing.assert_allclose(wide.forward(X), ref, rtol=0, atol=1e-13 * max(1.0, np.abs(ref).max()))
    assert wide_cost_sq(wide, data) == pytest.approx(cost_sq(net, data), rel=1e-12)


def test_wide_gradient_matches_the_square_network_and_finite_differences():
    rng = np.random.default_rng(4)
    net = _random_net(3, 3, rng)
    data = make_clustered(3, 20, 0.3, seed=[4])
    f, g = cost_and_grad(net, data)
    f2, g2 = wide_cost_and_grad(WideNet.from_network(net), data)
    assert f2 == pytest.approx(f, rel=1e-13) and np.allclose(g2, g, rtol=1e-12, atol=1e-12)
    wide = embed_split(net, [0, 1, 2], [0.3, 0.6, 0.5])
    x = wide.to_flat()
    _, gw = wide_cost_and_grad(wide, data)
    v = rng.standard_normal(x.size)
    v /= np.linalg.norm(v)
    h = 1e-5
    up, dn = WideNet.from_flat(x + h * v, wide.shapes), WideNet.from_flat(x - h * v, wide.shapes)
    pattern = [z > 0 for z in wide.preactivations(data.X)]
    for other in (up, dn):  # no kink crossed: central differences are exact to O(h²)
        assert all(np.array_equal(a, z > 0) for a, z in zip(pattern, other.preactivations(data.X)))
    fd = (wide_cost_sq(up, data) - wide_cost_sq(dn, data)) / (2 * h)
    assert fd == pytest.approx(gw @ v, rel=1e-7)


def _dead_minimum(q=2, seed=6):
    """All hidden units dead on an open set (pre-activations -1): the output is constant, its bias
    the class-balanced mean target ȳ.  A local minimum of the width-Q network (any small change
    keeps the units dead; ȳ minimises the constant output's cost) at the class-merging level."""
    data = make_clustered(q, 20, 0.2, seed=[seed])
    ws = tuple(np.zeros((q, q)) for _ in range(2))
    bs = (np.full(q, -1.0), data.Y.mean(axis=1))
    return Network(ws, bs), data


def test_dead_unit_minimum_is_a_minimum_at_width_q_and_escapable_at_width_q_plus_one():
    net, data = _dead_minimum()
    rng = np.random.default_rng(0)
    c0 = np.sqrt(cost_sq(net, data))
    assert c0 == pytest.approx(1.0)  # the level merge[01] with Y = I
    _, g = cost_and_grad(net, data)
    assert np.linalg.norm(g) < 1e-12
    assert descent_probe(net, data, rng) >= -1e-12  # no descent at width Q
    same = escape_test(WideNet.from_network(net), data, rng, opt_iter=50)
    assert not same.escapable  # nor by this test at width Q
    for kind in ("zero", "zero_out"):
        wide, _ = embed(net, kind, np.random.default_rng(1), data)
        res = escape_test(wide, data, np.random.default_rng(2), cost_before=c0, opt_iter=50)
        assert res.escapable and res.cost_after < 0.9 * c0, (kind, res)
        assert res.cost_embedded == pytest.approx(c0, rel=1e-14)
    # the first-order test sees it for the zero_out embedding: the new unit reads the data
    res = escape_test(embed(net, "zero_out", np.random.default_rng(1), data)[0], data, np.random.default_rng(2))
    assert res.method == "gradient"
    # splitting a dead unit gives two dead units: still a minimum
    split = escape_test(
        embed(net, "split", np.random.default_rng(1), data)[0], data, np.random.default_rng(2), opt_iter=50
    )
    assert not split.escapable and split.method == "none"


@pytest.mark.parametrize("kind", EMBEDDINGS)
def test_global_minimiser_is_not_escapable(kind):
    data = make_clustered(3, 20, 0.1, seed=[7])
    net = construct_global(data, 3).network
    assert np.sqrt(cost_sq(net, data)) < 1e-10
    wide, _ = embed(net, kind, np.random.default_rng(3), data)
    res = escape_test(wide, data, np.random.default_rng(4))
    assert not res.escapable and res.method == "none" and res.status in ("ok", "kink")


def test_bad_input_names_the_field():
    net, data = _dead_minimum()
    with pytest.raises(DlgeomInputError, match="kind"):
        embed(net, "double", np.random.default_rng(0))
    with pytest.raises(DlgeomInputError, match="alphas"):
        embed_split(net, [0], [1.5])
    with pytest.raises(DlgeomInputError, match="net"):
        escape_test("not a net", data, np.random.default_rng(0))
    assert embed_zero(net).widths == (3,)
