"""Landscape tools: Hessian, Jacobian, optimisers, end-point classification, Wilson intervals."""

import numpy as np
import pytest
from conftest import random_network

import dlgeom
from dlgeom.landscape import (
    classify_endpoint,
    collapse_structure,
    hessian,
    init_random,
    merge_levels,
    mu_path,
    null_dimension,
    optimise,
    perturb_relative,
    residual_jacobian,
    slice_2d,
    wilson_interval,
)


@pytest.fixture(scope="module")
def small():
    data = dlgeom.make_clustered(2, 12, 0.1, seed=3)
    return data, dlgeom.construct_global(data, 2)


def test_hessian_against_second_differences_of_the_cost():
    """The Hessian (central differences of the analytic gradient) against second differences of
    C² itself, on a random network, with steps below the activation margin."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(2), 6)
    data = dlgeom.Dataset(rng.standard_normal((12, 2)), y)
    net = random_network(rng, 2, 2)
    H, h, same = hessian(net, data)
    assert same
    x = net.to_flat()
    c = lambda z: dlgeom.cost_sq(dlgeom.Network.from_flat(z, 2, 2), data)
    for i, j in [(0, 0), (1, 5), (7, 13), (17, 17), (3, 16)]:
        ei, ej = np.zeros(x.size), np.zeros(x.size)
        ei[i], ej[j] = h, h
        fd = (c(x + ei + ej) - c(x + ei - ej) - c(x - ei + ej) + c(x - ei - ej)) / (4 * h * h)
        assert H[i, j] == pytest.approx(fd, rel=1e-4, abs=1e-6 * np.abs(H).max())


def test_hessian_at_zero_cost_is_gauss_newton(small):
    """At the global minimiser C = 0, so the Hessian is 2JᵀJ and its zero modes are the null
    space of J."""
    data, con = small
    H, h, _ = hessian(con.network, data)
    J = residual_jacobian(con.network, data, h)
    np.testing.assert_allclose(H, 2 * J.T @ J, atol=1e-8 * np.abs(H).max())
    ev = np.linalg.eigvalsh(H)
    zero = int(np.sum(np.abs(ev) <= 1e-8 * ev[-1]))
    assert zero == null_dimension(J) and 0 < zero < H.shape[0]
    assert ev[0] > -1e-8 * ev[-1]


def test_optimisers_decrease_the_cost_and_stop(small):
    data, _ = small
    rng = np.random.default_rng(1)
    x0 = init_random(2, 2, rng, "he")
    c0 = np.sqrt(dlgeom.cost_sq(dlgeom.Network.from_flat(x0, 2, 2), data))
    for method in ("lbfgs", "gd", "adam"):
        res = optimise(data, x0, 2, method, max_iter=300, record_every=10)
        assert res.cost <= c0 and res.n_iter <= 300 and res.status in ("converged", "zero", "max_iter")
        assert np.isclose(res.cost, np.sqrt(dlgeom.cost_sq(dlgeom.Network.from_flat(res.x, 2, 2), data)))
        if method == "gd":  # monotone by construction
            assert all(b <= a * (1 + 1e-12) for a, b in zip(res.history, res.history[1:]))
    # a start at the global minimiser stops at once with zero cost
    _, con = small
    res = optimise(data, con.network.to_flat(), 2, "gd", max_iter=50)
    assert res.status == "zero" and res.n_iter == 1


def test_small_perturbations_return_to_zero(small):
    data, con = small
    rng = np.random.default_rng(2)
    x0 = perturb_relative(con.network, 1e-4, rng)
    assert np.linalg.norm(x0 - con.network.to_flat()) > 0
    res = optimise(data, x0, 2, "lbfgs", max_iter=2000)
    assert res.cost <= 1e-6


def test_endpoint_classifier_on_hand_made_cases():
    levels = {"V_aff[11]": 0.5, "V_P[10]": 0.3, "merge[01]": np.sqrt(2)}
    assert classify_endpoint(1e-9, levels) == ("zero", "")
    assert classify_endpoint(0.5 * (1 + 1e-5), levels) == ("pattern", "V_aff[11]")
    assert classify_endpoint(np.sqrt(2) - 1e-6, levels) == ("merge", "merge[01]")
    assert classify_endpoint(0.9, levels)[0] == "other"
    m = merge_levels(np.eye(3))
    assert m["merge[012]"] == pytest.approx(np.sqrt(2)) and m["merge[01|2]"] == pytest.approx(1.0)
    assert len(merge_levels(np.eye(4))) == 15 - 1  # Bell(4) partitions minus the singletons


def test_collapse_structure_reads_the_construction(small):
    data, con = small
    assert collapse_structure(con.network, data) == [1, 2]
    s1 = dlgeom.construct_pattern(data, [1, 1], 2)
    assert collapse_structure(s1.network, data) == [0, 0]


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(0, 10)
    assert lo == 0 and hi == pytest.approx(0.2775, abs=1e-4)
    lo, hi = wilson_interval(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)


def test_mu_path_ends_at_zero_and_slice_centre(small):
    data, con = small
    g = con.geometry
    s1 = dlgeom.construct_pattern(data, [1, 1], 2, geom=g)
    F = mu_path(data, g, s1.mu, con.mu, 2, n_points=11)
    assert F[-1] <= 1e-10 and F[0] > 1e-3
    radii, cos, grid = slice_2d(con.network, data, np.linspace(-0.1, 0.1, 5), np.random.default_rng(0))
    assert grid[2, 2] <= 1e-12 and grid.max() > 0 and abs(cos) < 1


def test_alignment_keeps_the_function_and_finds_a_permutation():
    from dlgeom.landscape import align_to, canonical_rescale, linear_path

    rng = np.random.default_rng(5)
    data = dlgeom.make_clustered(3, 15, 0.1, seed=5)
    ref = dlgeom.construct_global(data, 3).network
    # a permuted and rescaled copy of ref: alignment must undo it
    ws, bs = list(ref.weights), list(ref.biases)
    for ell in range(3):
        p = rng.permutation(3)
        c = rng.uniform(0.3, 3.0, 3)
        ws[ell], bs[ell] = ws[ell][p] * c[:, None], bs[ell][p] * c
        ws[ell + 1] = ws[ell + 1][:, p] / c[None, :]
    shuffled = dlgeom.Network(tuple(ws), tuple(bs))
    X = rng.standard_normal((200, 3))
    np.testing.assert_allclose(shuffled.forward(X), ref.forward(X), atol=1e-10)
    aligned = align_to(shuffled, ref)
    np.testing.assert_allclose(aligned.forward(X), shuffled.forward(X), atol=1e-10)
    np.testing.assert_allclose(aligned.to_flat(), canonical_rescale(ref).to_flat(), atol=1e-10)
    path = linear_path(canonical_rescale(ref), aligned, data, 9)
    assert path.max() <= 1e-10  # the same point after alignment: a flat (zero) path
    # and a random network keeps its function under alignment too
    other = random_network(rng, 3, 3)
    np.testing.assert_allclose(align_to(other, ref).forward(X), other.forward(X), atol=1e-10)


def test_descent_probe_separates_minima_from_non_minima():
    from dlgeom.landscape import descent_probe

    data = dlgeom.make_clustered(2, 20, 0.1, seed=4)
    s1 = dlgeom.construct_pattern(data, np.ones(2, int), 2).network  # a flat local minimum
    assert descent_probe(s1, data, np.random.default_rng(0)) >= -1e-9
    rnd = dlgeom.Network.from_flat(init_random(2, 2, np.random.default_rng(1)), 2, 2)
    assert descent_probe(rnd, data, np.random.default_rng(0)) < -1e-6


def test_certified_minima_groups_and_filters():
    import pandas as pd

    from dlgeom.study.landscape_report import certified_minima

    base = {
        "cell": "c",
        "Q": 2,
        "optimiser": "lbfgs",
        "category": "merge",
        "nearest_level": "merge[01]",
        "start_kind": "he",
        "grad_norm": 1e-9,
        "hess_status": "ok",
        "hess_n_negative": 0,
        "probe_min_rel_change": 0.0,
        "structure": "12",
        "cost": 1.0,
    }
    rows = [
        base,
        {**base, "cost": 1.0 + 1e-9},  # same minimum twice
        {**base, "cost": 1.5},  # another level
        {**base, "hess_status": "kink", "grad_norm": 0.3, "cost": 2.0},  # nonsmooth minimum
        {**base, "probe_min_rel_change": -1e-4, "cost": 3.0},  # descent found: not a minimum
        {**base, "hess_n_negative": 1, "cost": 4.0},  # saddle
        {**base, "optimiser": "gd", "cost": 5.0},  # not certified (GD)
        {**base, "category": "zero", "cost": 0.0},
    ]
    m = certified_minima(pd.DataFrame(rows))
    assert m["cost"].round(6).tolist() == [1.0, 1.5, 2.0]
    assert m["multiplicity"].tolist() == [2, 1, 1]
    assert m["kind"].tolist() == ["smooth", "smooth", "nonsmooth"]


def test_hessian_outliers_counts_and_gap():
    from dlgeom.landscape import hessian_outliers

    ev = np.array([-1e-12, 0.0, 2e-6, 5e-5, 0.01, 0.3, 1.0])
    got = hessian_outliers(ev[::-1])
    assert got["n_outliers"] == 3 and got["n_nonzero"] == 5
    assert got["outlier_gap"] == pytest.approx(0.01 / 5e-5)
    no_bulk = hessian_outliers([1.0, 0.2, 1e-14, -1e-14])
    assert no_bulk["n_outliers"] == no_bulk["n_nonzero"] == 2 and no_bulk["outlier_gap"] == np.inf


def test_constructed_minimiser_has_q_squared_outliers_equal_to_the_rank_of_the_jacobian():
    """At a zero-cost point H = 2JᵀJ: the non-zero eigenvalues are rank J = Q² (one constant output
    per class), computed here from the residual Jacobian independently of the spectrum."""
    from dlgeom.landscape import hessian, hessian_outliers, residual_jacobian

    for q in (2, 3):
        data = dlgeom.make_clustered(q, 15, 0.1, seed=[q])
        net = dlgeom.construct_global(data, q).network
        H, h, _ = hessian(net, data)
        got = hessian_outliers(np.linalg.eigvalsh(H))
        sv = np.linalg.svd(residual_jacobian(net, data, h), compute_uv=False)
        rank_j = int(np.sum(sv > 1e-6 * sv[0]))
        assert rank_j == q * q
        assert got["n_nonzero"] == rank_j and got["n_outliers"] == rank_j


def test_dead_units_counts_units_inactive_on_every_point():
    from dlgeom.landscape import dead_units

    data = dlgeom.make_clustered(3, 10, 0.1, seed=[1])
    rng = np.random.default_rng(0)
    net = dlgeom.Network.from_flat(init_random(3, 3, rng), 3, 3)
    ws, bs = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    bs[0][1] = -1e3  # unit 2 of layer 1 never fires
    bs[2][0] = -1e3  # unit 1 of layer 3 never fires
    dead = dlgeom.Network(tuple(ws), tuple(bs))
    want, H = 0, data.X
    for W, b in zip(dead.weights[:-1], dead.biases[:-1]):
        Z = H @ W.T + b
        want += sum(all(Z[i, u] <= 0 for i in range(Z.shape[0])) for u in range(Z.shape[1]))
        H = np.maximum(Z, 0)
    assert dead_units(dead, data.X) == want >= 2


def test_outlier_and_dead_unit_findings_count_from_the_tables():
    import pandas as pd

    from dlgeom.study.landscape_report import landscape_claims

    minima = pd.DataFrame(
        {
            "cell": ["c"] * 4,
            "Q": [2, 2, 3, 3],
            "kind": "smooth",
            "cost": [0.1, 0.2, 0.3, 0.4],
            "category": ["pattern", "merge", "merge", "other"],
            "nearest_level": "-",
            "structure": "0",
            "multiplicity": [5, 1, 2, 1],
            "starts": "he",
            "hess_n_outliers": [4, 2, 9, np.nan],
            "hess_n_nonzero": [6, 2, 9, np.nan],
            "hess_outlier_gap": [100.0, np.inf, 5.0, np.nan],
            "dead_units": [0, 2, 0, 1],
        }
    )
    end = pd.DataFrame(
        {
            "cell": "c",
            "Q": [2, 2, 3],
            "start_kind": "he",
            "optimiser": "lbfgs",
            "status": "zero",
            "category": "zero",
            "global_cost": 0.0,
            "hess_n_outliers": [4, 3, np.nan],
            "hess_n_nonzero": [4, 5, np.nan],
            "hess_outlier_gap": [np.inf, 7.0, np.nan],
            "dead_units": [0, 1, 0],
        }
    )
    rows = {r["id"]: r for r in landscape_claims({"landscape_minima": minima, "landscape_endpoints": end})}
    # 3 minima and 2 zero-cost end points with a Hessian; outliers ≠ Q² at one minimum (2 ≠ 4) and one end point
    assert (rows["hessian_outliers"]["n_cases"], rows["hessian_outliers"]["n_counter"]) == (5, 2)
    # every minimum has a dead-unit count; two have none (outside the dead-neuron picture)
    assert (rows["dead_units"]["n_cases"], rows["dead_units"]["n_counter"]) == (4, 2)
    assert "zero-cost end points (all optimisers): 3, without a dead unit 2/3" in rows["dead_units"]["evidence"]
