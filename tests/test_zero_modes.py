"""The paper's degenerate directions (docs/mathematics.md §6) against the Hessian's null space."""

import numpy as np
import pytest

from dlgeom import make_clustered
from dlgeom.construct import construct_global, construct_pattern
from dlgeom.landscape import hessian
from dlgeom.network import Network, cost_sq
from dlgeom.zero_modes import null_space_report, predicted_directions, rescaling_directions


@pytest.fixture(scope="module")
def q3():
    data = make_clustered(3, 20, 0.1, seed=5)
    con = construct_global(data, 4)
    H, _, same = hessian(con.network, data)
    assert same
    return data, con, H


def _cost_along(con, data, d, t):
    x = con.network.to_flat()
    net = Network.from_flat(x + t * d / np.linalg.norm(d), con.network.width, con.network.n_hidden)
    return cost_sq(net, data)


def test_each_predicted_direction_keeps_zero_cost_to_second_order(q3):
    data, con, _ = q3
    dirs = predicted_directions(con, data, zero_cost=True)
    assert set(dirs) == {"layer_rescaling", "rescaling", "mu", "rotation", "theta0", "output"}
    for name, D in dirs.items():
        for d in D.T:
            # along a flat direction C² grows at most like t⁴ (tangent of a zero-cost curve)
            assert _cost_along(con, data, d, 1e-4) < 1e-12, name


def test_random_direction_is_not_flat(q3):
    data, con, H = q3
    d = np.random.default_rng(0).standard_normal(H.shape[0])
    assert _cost_along(con, data, d, 1e-4) > 1e-10
    rep = null_space_report(H, {"random": d[:, None]})
    assert rep["in_null_random"] == 0


def test_predicted_directions_lie_in_the_null_space_and_count(q3):
    data, con, H = q3
    q, L = 3, 4
    rep = null_space_report(H, predicted_directions(con, data, zero_cost=True))
    assert rep["rank_rescaling"] == L * q
    assert rep["rank_layer_rescaling"] == L  # the paper's reading: one scalar per layer
    assert rep["rank_rotation"] == q * (q - 1) * (q - 2) // 2
    assert rep["rank_mu"] == q and rep["rank_output"] == q and rep["rank_theta0"] == 1
    for fam in ("layer_rescaling", "rescaling", "mu", "rotation", "theta0", "output"):
        assert rep[f"in_null_{fam}"] == rep[f"rank_{fam}"], fam
    # the whole null space: each class's output is constant after its collapse layer -> rank J = Q²
    assert rep["null_dim"] == con.network.n_params - q * q
    assert 0 < rep["explained"] < rep["null_dim"]


def test_rescaling_directions_are_exact_symmetries():
    data = make_clustered(2, 10, 0.1, seed=1)
    net = construct_pattern(data, np.ones(2, int), 3).network
    R = rescaling_directions(net)
    assert R.shape == (net.n_params, 3 * 2)
    # a finite rescaling: scale unit k of layer ell by c, the next column by 1/c
    ws, bs = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    ws[1][0] *= 2.5
    bs[1][0] *= 2.5
    ws[2][:, 0] /= 2.5
    moved = Network(tuple(ws), tuple(bs))
    np.testing.assert_allclose(moved.forward(data.X), net.forward(data.X), rtol=1e-12, atol=1e-12)
    # its tangent at c = 1 is the column of R for (layer 1, unit 0)
    d = moved.to_flat() - net.to_flat()
    col = R[:, 1 * 2 + 0]
    assert abs(d @ col) / (np.linalg.norm(d) * np.linalg.norm(col)) > 0.9
