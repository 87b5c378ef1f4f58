"""Neural-collapse quantities: values known in closed form, and the identity network against an
independent computation on the input."""

import numpy as np
import pytest

from dlgeom import DlgeomInputError
from dlgeom.construct import construct_global
from dlgeom.data import Dataset
from dlgeom.network import Network
from dlgeom.neural_collapse import (
    cdnv,
    collapse_layers,
    nc_metrics,
    network_decision,
    neural_collapse,
    separation_fuzziness,
)
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


def _published(H, y, decision, W):
    """The field's formulas written out sample by sample (balanced classes, targets Y = I):
    Papyan's NC1 Tr(Σ_W Σ_B⁺)/K, NC2 to the simplex ETF ‖MMᵀ/‖MMᵀ‖_F − (I − 11ᵀ/K)/√(K−1)‖_F,
    Papyan's NC3 ‖W/‖W‖ − M/‖M‖‖, NC4 as the agreement with the nearest class centre, CDNV
    (Galanti et al.) over pairs i ≠ j, and He & Su's fuzziness Tr(SS_w SS_b⁺)."""
    K = int(y.max()) + 1
    N, d = H.shape
    mu = [sum(H[i] for i in range(N) if y[i] == k) / sum(1 for i in range(N) if y[i] == k) for k in range(K)]
    mu_g = sum(H[i] for i in range(N)) / N
    sigma_w = np.zeros((d, d))
    for i in range(N):
        sigma_w += np.outer(H[i] - mu[y[i]], H[i] - mu[y[i]]) / N
    sigma_b = sum(np.outer(m - mu_g, m - mu_g) for m in mu) / K
    nc1 = np.trace(sigma_w @ np.linalg.pinv(sigma_b, rcond=1e-10)) / K
    M = np.array([m - mu_g for m in mu])  # K × d, the field's convention
    G = M @ M.T
    etf = (np.eye(K) - np.ones((K, K)) / K) / np.sqrt(K - 1)
    nc2 = np.linalg.norm(G / np.linalg.norm(G) - etf)
    nc3 = np.linalg.norm(W / np.linalg.norm(W) - M / np.linalg.norm(M))
    ncc = [min(range(K), key=lambda k: np.sum((H[i] - mu[k]) ** 2)) for i in range(N)]
    agreement = sum(ncc[i] == decision[i] for i in range(N)) / N
    var = [np.mean([np.sum((H[i] - mu[k]) ** 2) for i in range(N) if y[i] == k]) for k in range(K)]
    pairs = [(var[a] + var[b]) / (2 * np.sum((mu[a] - mu[b]) ** 2)) for a in range(K) for b in range(K) if a != b]
    ss_b = sum(np.outer(mu[y[i]] - mu_g, mu[y[i]] - mu_g) for i in range(N)) / N
    fuzz = np.trace(sigma_w @ np.linalg.pinv(ss_b, rcond=1e-10))
    return {
        "nc1_papyan": nc1,
        "nc2_vs_etf": nc2,
        "nc3_papyan": nc3,
        "agreement": agreement,
        "cdnv": np.mean(pairs),
        "separation_fuzziness": fuzz,
    }


@pytest.mark.parametrize("K,d,seed", [(2, 2, 0), (3, 3, 1), (4, 6, 2), (5, 3, 3)])
def test_every_metric_matches_the_published_formula_on_balanced_classes(K, d, seed):
    rng = np.random.default_rng(seed)
    n = 6
    y = np.repeat(np.arange(K), n)
    H = 3.0 * rng.normal(size=(K, d))[y] + rng.normal(size=(K * n, d))
    decision = rng.integers(0, K, size=K * n)
    W = rng.normal(size=(K, d))
    got = nc_metrics(H, y, np.eye(K), decision, W_read=W)
    want = _published(H, y, decision, W)
    for key in ("nc1_papyan", "nc2_vs_etf", "nc3_papyan", "cdnv", "separation_fuzziness"):
        assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-12), key
    assert 1.0 - got["nc4_ncc_mismatch"] == pytest.approx(want["agreement"], abs=1e-12)
    # with Y = I the target-adapted variants are the field's definitions
    assert got["nc2_vs_targets"] == pytest.approx(got["nc2_vs_etf"], abs=1e-12)
    assert got["nc3_vs_targets"] == pytest.approx(got["nc3_papyan"], abs=1e-12)
    # balanced classes: He & Su's fuzziness is K times Papyan's NC1
    assert got["separation_fuzziness"] == pytest.approx(K * got["nc1_papyan"], rel=1e-9)
    assert cdnv(H, y, K) == got["cdnv"] and separation_fuzziness(H, y, K) == got["separation_fuzziness"]


def test_fuzziness_is_sample_weighted_and_nc1_class_balanced_on_unbalanced_classes():
    rng = np.random.default_rng(7)
    y = np.repeat(np.arange(3), [4, 9, 20])
    H = 2.0 * rng.normal(size=(3, 3))[y] + rng.normal(size=(33, 3))
    N = len(y)
    mu = np.array([H[y == k].mean(axis=0) for k in range(3)])
    ss_w = sum(np.outer(H[i] - mu[y[i]], H[i] - mu[y[i]]) for i in range(N)) / N
    ss_b = sum(np.outer(mu[y[i]] - H.mean(axis=0), mu[y[i]] - H.mean(axis=0)) for i in range(N)) / N
    want = np.trace(ss_w @ np.linalg.pinv(ss_b))
    got = nc_metrics(H, y, np.eye(3), y)
    assert got["separation_fuzziness"] == pytest.approx(want, rel=1e-9)
    assert abs(got["separation_fuzziness"] - 3 * got["nc1_papyan"]) > 1e-3 * want


def test_cdnv_is_infinite_when_two_class_means_coincide_and_zero_at_collapse():
    y = np.repeat(np.arange(3), 2)
    H = np.array([[0.0, 1], [0.0, -1], [1, 0], [-1, 0], [5, 5], [5, 5]])
    assert cdnv(H, y, 3) == np.inf
    means = np.array([[0.0, 0], [1, 0], [0, 2]])
    assert cdnv(means[y], y, 3) == 0.0


def test_collapsed_classes_give_nc1_zero():
    rng = np.random.default_rng(1)
    means = rng.normal(size=(3, 4))
    y = np.repeat(np.arange(3), [5, 7, 4])
    m = nc_metrics(means[y], y, np.eye(3), y)
    assert m["nc1_papyan"] <= 1e-28 and m["nc1_trace_ratio"] <= 1e-28  # zero to rounding of the means
    assert m["spread_max"] <= 1e-15 and m["nc4_ncc_mismatch"] == 0.0


def test_spread_positive_gives_nc1_positive_and_infinite_when_means_coincide():
    y = np.repeat(np.arange(2), 3)
    H = np.array([[0.0, 0], [1, 0], [2, 0], [0, 1], [1, 1], [2, 1]])
    m = nc_metrics(H, y, np.eye(2), y)
    # Σ_B = diag(0, 1/4), Σ_W = diag(2/3, 0): Tr(Σ_W Σ_B⁺) = 0 (spread outside the range of Σ_B)
    assert m["nc1_papyan"] == pytest.approx(0.0, abs=1e-15)
    assert m["nc1_trace_ratio"] == pytest.approx((2 / 3) / (1 / 4))
    same = nc_metrics(np.vstack([H[:3], H[:3]]), y, np.eye(2), y)
    assert same["nc1_papyan"] == np.inf and np.isnan(same["nc2_vs_targets"]) and same["cdnv"] == np.inf


def test_nc2_is_zero_for_means_at_the_targets_and_etf_differs_for_other_targets():
    Y = np.array([[1.0, 0.0, 0.5], [0.0, 2.0, 0.0], [0.0, 0.0, 1.0]])
    y = np.arange(3)
    m = nc_metrics(Y.T, y, Y, y)
    assert m["nc2_vs_targets"] == pytest.approx(0.0, abs=1e-14)
    assert m["nc2_vs_etf"] > 0.1
    eye = nc_metrics(np.eye(3), y, np.eye(3), y)
    assert eye["nc2_vs_targets"] == pytest.approx(0.0, abs=1e-14)
    assert eye["nc2_vs_etf"] == pytest.approx(0.0, abs=1e-14)


def test_nc3_is_zero_for_self_dual_weights_and_positive_otherwise():
    rng = np.random.default_rng(2)
    means = rng.normal(size=(3, 3))
    y = np.repeat(np.arange(3), 4)
    M = (means - means.mean(axis=0)).T
    assert nc_metrics(means[y], y, np.eye(3), y, W_read=2.5 * M.T)["nc3_vs_targets"] == pytest.approx(0.0, abs=1e-14)
    assert nc_metrics(means[y], y, np.eye(3), y, W_read=rng.normal(size=(3, 3)))["nc3_vs_targets"] > 0.05


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
        got = (r["nc1_papyan"], r["nc1_trace_ratio"], r["nc2_vs_targets"], r["nc2_vs_etf"], r["nc4_ncc_mismatch"])
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    assert [r["layer"] for r in rows] == [0, 1, 2, 3] and rows[0]["layer_kind"] == "input"
    assert rows[-1]["nc4_ncc_mismatch"] == want[4]


def test_constructed_minimiser_collapses_class_j_at_layer_j():
    data = make_clustered(3, 20, 0.1, seed=[3])
    net = construct_global(data, 3).network
    rows, layers = neural_collapse(net, data, rel_tol=1e-6)
    assert layers == [1, 2, 3]
    assert [r["layer_kind"] for r in rows] == ["input", "hidden", "hidden", "hidden", "output"]
    assert [r["n_collapsed"] for r in rows] == [0, 1, 2, 3, 3]
    assert rows[3]["nc1_papyan"] < 1e-12 and rows[1]["nc1_papyan"] > 1e-6
    # the input row is the data's own statistics
    assert rows[0]["nc1_papyan"] == nc_metrics(data.X, data.y, data.Y, data.y)["nc1_papyan"]
    assert np.isfinite(rows[3]["nc3_vs_targets"]) and np.isfinite(rows[3]["nc3_papyan"])
    assert all(np.isnan(r["nc3_vs_targets"]) for i, r in enumerate(rows) if i != 3)


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


def test_separation_rate_is_the_least_squares_line_through_the_positive_layers():
    from dlgeom.neural_collapse import separation_rate

    rng = np.random.default_rng(4)
    D = np.exp(rng.normal(size=7))
    D[2], D[5] = 0.0, np.inf
    zero = np.zeros(7, bool)
    zero[6] = True
    got = separation_rate(D, zero)
    keep = np.array([0, 1, 3, 4])
    slope, _ = np.polyfit(keep, np.log(D[keep]), 1)
    assert got["rho"] == pytest.approx(np.exp(slope), rel=1e-12)
    assert got["pearson_r"] == pytest.approx(np.corrcoef(keep, np.log(D[keep]))[0, 1], rel=1e-12)
    assert got["n_layers_fitted"] == 4 and got["status"] == "ok"
    geo = separation_rate(0.3 * 0.5 ** np.arange(5))
    assert geo["rho"] == pytest.approx(0.5, rel=1e-12) and geo["pearson_r"] == pytest.approx(-1.0, abs=1e-12)
    assert separation_rate([1.0, 2.0])["status"] == "two_layers"
    few = separation_rate([1.0, 0.0, 0.0])
    assert few["status"] == "too_few_layers" and np.isnan(few["rho"]) and few["n_layers_fitted"] == 1
    assert np.isnan(separation_rate([2.0, 2.0, 2.0])["pearson_r"])


def test_constructed_minimiser_fuzziness_is_a_staircase_to_zero():
    data = make_clustered(3, 20, 0.1, seed=[3])
    rows, _ = neural_collapse(construct_global(data, 3).network, data)
    D = np.array([r["separation_fuzziness"] for r in rows])
    assert np.all(D[:3] > 1e-8) and D[3] < 1e-20  # positive until layer L = 3, then 0
    assert [r["n_collapsed"] == 3 for r in rows] == [False, False, False, True, True]
