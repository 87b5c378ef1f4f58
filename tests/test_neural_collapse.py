"""Neural-collapse quantities: values known in closed form, and the identity network against an
independent computation on the input."""

import numpy as np
import pytest

from dlgeom import DlgeomInputError
from dlgeom.construct import construct_global
from dlgeom.data import Dataset
from dlgeom.network import Network
from dlgeom.neural_collapse import collapse_layers, nc_metrics, network_decision, neural_collapse
from dlgeom.synthetic import make_clustered


def _independent_nc(H, y, Y, decision):
    """NC1, NC1 (trace), NC2 (Y and ETF) and NC4 by loops over classes, from the definitions."""
    q = Y.shape[1]
    means = np.array([H[y == j].mean(axis=0) for j in range(q)])
    g = means.mean(axis=0)
    sw = sum(np.cov(H[y == j].T, bias=True) for j in range(q)) / q
    sb = sum(np.outer(m - g, m - g) for m in means) / q
    nc1 = np.trace(sw @ np.linalg.pinv(sb, rcond=1e-10, hermitian=True)) / q
    M = (means - g).T
    Yc = Y - Y.mean(axis=1, keepdims=True)

    def nd(A, B):
        return np.linalg.norm(A / np.linalg.norm(A) - B / np.linalg.norm(B))

    nc2_y = nd(M.T @ M, Yc.T @ Yc)
    nc2_etf = nd(M.T @ M, np.eye(q) - 1.0 / q)
    nearest = np.array([np.argmin([np.linalg.norm(h - m) for m in means]) for h in H])
    nc4 = np.mean([np.mean(nearest[y == j] != decision[y == j]) for j in range(q)])
    return nc1, np.trace(sw) / np.trace(sb), nc2_y, nc2_etf, nc4


def test_collapsed_classes_give_nc1_zero():
    rng = np.random.default_rng(1)
    means = rng.normal(size=(3, 4))
    y = np.repeat(np.arange(3), [5, 7, 4])
    m = nc_metrics(means[y], y, np.eye(3), y)
    assert m["nc1"] <= 1e-28 and m["nc1_trace"] <= 1e-28          # zero to rounding of the means
    assert m["spread_max"] <= 1e-15 and m["nc4"] == 0.0


def test_spread_positive_gives_nc1_positive_and_infinite_when_means_coincide():
    y = np.repeat(np.arange(2), 3)
    H = np.array([[0.0, 0], [1, 0], [2, 0], [0, 1], [1, 1], [2, 1]])
    m = nc_metrics(H, y, np.eye(2), y)
    # Σ_B = diag(0, 1/4), Σ_W = diag(2/3, 0): Tr(Σ_W Σ_B⁺) = 0 (spread outside the range of Σ_B)
    assert m["nc1"] == pytest.approx(0.0, abs=1e-15)
    assert m["nc1_trace"] == pytest.approx((2 / 3) / (1 / 4))
    same = nc_metrics(np.vstack([H[:3], H[:3]]), y, np.eye(2), y)
    assert same["nc1"] == np.inf and np.isnan(same["nc2_y"])


def test_nc2_is_zero_for_means_at_the_targets_and_etf_differs_for_other_targets():
    Y = np.array([[1.0, 0.0, 0.5], [0.0, 2.0, 0.0], [0.0, 0.0, 1.0]])
    y = np.arange(3)
    m = nc_metrics(Y.T, y, Y, y)
    assert m["nc2_y"] == pytest.approx(0.0, abs=1e-14)
    assert m["nc2_etf"] > 0.1
    eye = nc_metrics(np.eye(3), y, np.eye(3), y)
    assert eye["nc2_y"] == pytest.approx(0.0, abs=1e-14) and eye["nc2_etf"] == pytest.approx(0.0, abs=1e-14)


def test_nc3_is_zero_for_self_dual_weights_and_positive_otherwise():
    rng = np.random.default_rng(2)
    means = rng.normal(size=(3, 3))
    y = np.repeat(np.arange(3), 4)
    M = (means - means.mean(axis=0)).T
    assert nc_metrics(means[y], y, np.eye(3), y, W_read=2.5 * M.T)["nc3"] == pytest.approx(0.0, abs=1e-14)
    assert nc_metrics(means[y], y, np.eye(3), y, W_read=rng.normal(size=(3, 3)))["nc3"] > 0.05


def test_identity_network_gives_the_inputs_values():
    data = make_clustered(3, 25, 0.3, seed=[5])
    q = 3
    shift = 10.0 + np.abs(data.X).max()
    eye = np.eye(q)
    net = Network((eye, eye, eye), (np.full(q, shift), np.zeros(q), np.full(q, -shift)))
    assert np.allclose(net.forward(data.X), data.X, atol=1e-12)
    rows, _ = neural_collapse(net, data)
    decision = network_decision(data.X, data.Y)
    want = _independent_nc(data.X, data.y, data.Y, decision)
    for r in rows:
        got = (r["nc1"], r["nc1_trace"], r["nc2_y"], r["nc2_etf"], r["nc4"])
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert rows[-1]["nc4"] == want[4]


def test_constructed_minimiser_collapses_class_j_at_layer_j():
    data = make_clustered(3, 20, 0.1, seed=[3])
    net = construct_global(data, 3).network
    rows, layers = neural_collapse(net, data, rel_tol=1e-6)
    assert layers == [1, 2, 3]
    assert [r["n_collapsed"] for r in rows] == [1, 2, 3, 3]
    assert rows[2]["nc1"] < 1e-12 and rows[0]["nc1"] > 1e-6
    assert np.isfinite(rows[2]["nc3"]) and all(np.isnan(r["nc3"]) for i, r in enumerate(rows) if i != 2)


def test_collapse_layers_needs_collapse_to_the_end():
    S = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert collapse_layers(S, 1e-6) == [3, 2, 0]


def test_bad_input_names_the_field():
    data = make_clustered(2, 5, 0.1, seed=[1])
    net3 = construct_global(make_clustered(3, 5, 0.1, seed=[1]), 3).network
    with pytest.raises(DlgeomInputError, match="data"):
        neural_collapse(net3, data)
    with pytest.raises(DlgeomInputError, match="y"):
        nc_metrics(np.zeros((4, 2)), [0, 0, 0, 0], np.eye(2), [0, 0, 0, 0])
    assert isinstance(data, Dataset)
