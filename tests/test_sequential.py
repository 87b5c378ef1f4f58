"""Sequentially linearly separable data (dlgeom.sequential): the LP verdicts against geometric
certificates and brute force, and the network from Q(M+2) numbers against zero cost — including
numbers written by hand, not produced by the LP."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from dlgeom.cli import main
from dlgeom.highdim import make_clustered_highdim, network_cost
from dlgeom.sequential import (
    all_orderings,
    check_ordering,
    make_shadow,
    shadow_example,
    sls_network,
    sls_parameters,
    step_lp,
    truncate_path,
)
from dlgeom.validation import DlgeomInputError

ZERO = 1e-10


def _angle_bound(w, p, neg, pos):
    """Largest angle between w and z − p over pos, and between −w and x − p over neg."""
    w = w / np.linalg.norm(w)
    a = [np.arccos(np.clip(((z - p) @ w) / np.linalg.norm(z - p), -1, 1)) for z in pos]
    b = [np.arccos(np.clip(-((x - p) @ w) / np.linalg.norm(x - p), -1, 1)) for x in neg]
    return max(a + b)


@pytest.mark.parametrize("dim", [2, 3])
def test_hand_example_lp_against_geometry(dim):
    data = shadow_example(dim=dim)
    X, y = data.X, data.y
    xbar = data.barycenter
    np.testing.assert_allclose(xbar[:2], [0.0, 2.0], atol=1e-12)
    # (1, 0) is infeasible — certificate: a class-1 point is the midpoint of a class-0 point and x̄
    mids = (X[y == 0][:, None, :] + xbar) / 2
    hit = np.min(np.linalg.norm(mids - X[y == 1][None, :, :], axis=-1))
    assert hit < 1e-12
    bad = check_ordering(data, (1, 0))
    assert bad.status == "infeasible" and bad.failed_step == 0 and bad.reason == "data"
    # (0, 1) is feasible — witness by hand: y = 1/2 then y = 3 + 0.6 x
    e2 = np.zeros(dim)
    e2[1] = 1.0
    assert np.all(X[y == 0] @ e2 < 0.5) and np.all(X[y == 1] @ e2 > 0.5) and xbar @ e2 > 0.5
    g = lambda P: 3 + 0.6 * P[..., 0] - P[..., 1]  # > 0 below the line
    p1 = np.zeros(dim)
    p1[1] = 0.5
    assert np.all(g(X[y == 1]) < 0) and g(p1) > 0 and g(xbar) > 0
    good = check_ordering(data, (0, 1))
    assert good.feasible and all(0 < s.t < 1 for s in good.steps)


@pytest.mark.parametrize("dim", [2, 3])
def test_hand_numbers_give_zero_cost(dim):
    """Q(M+2) numbers written by hand from the two lines above, not by the LP."""
    data = shadow_example(dim=dim)
    X, y = data.X, data.y
    w1 = np.zeros(dim)
    w1[1] = 1.0  # class 0 below y = 1/2
    p1 = np.zeros(dim)
    p1[1] = 0.5  # t_1 = 1/4 on (x̄_0, x̄) = ((0, 0), (0, 2))
    w2 = np.zeros(dim)
    w2[:2] = [0.6, -1.0]  # class 1 above y = 3 + 0.6 x
    w2 /= np.linalg.norm(w2)
    p2 = np.zeros(dim)
    p2[1] = 3.0  # t_2 = 1/2 on ((0, 4), (0, 2))
    a1 = _angle_bound(w1, p1, X[y == 0], X[y == 1])
    a2 = _angle_bound(w2, p2, X[y == 1], p1[None, :])
    params = np.array([list(w1) + [0.25, np.pi / 2 + a1], list(w2) + [0.5, np.pi / 2 + a2]])
    assert params.size == 2 * (dim + 2)
    net = sls_network(data, (0, 1), params)
    assert network_cost(net, data) <= ZERO
    assert network_cost(sls_network(data, (0, 1), params, output="formula"), data) <= ZERO
    T = truncate_path(data, (0, 1), params)
    np.testing.assert_allclose(T[y == 0], np.broadcast_to(p1, T[y == 0].shape), atol=1e-12)
    np.testing.assert_allclose(T[y == 1], np.broadcast_to(p2, T[y == 1].shape), atol=1e-12)
    # a cone too narrow for the data (θ below 2α) does not collapse class 0: the cost is not zero
    narrow = params.copy()
    narrow[0, -1] = 2 * a1 * 0.9
    assert network_cost(sls_network(data, (0, 1), narrow), data) > 1e-3


def _brute_separable(neg, pos, n_dir=7200):
    """2-D: the best margin over a grid of unit directions u of min(u·pos) − max(u·neg)."""
    ang = np.linspace(0, 2 * np.pi, n_dir, endpoint=False)
    U = np.column_stack([np.cos(ang), np.sin(ang)])
    return float(np.max((pos @ U.T).min(axis=0) - (neg @ U.T).max(axis=0)))


def test_step_lp_against_brute_force_in_2d():
    rng = np.random.default_rng(3)
    agree = 0
    for _ in range(40):
        neg = rng.normal(rng.uniform(-1, 1, 2), 0.3, (12, 2))
        pos = rng.normal(rng.uniform(-1, 1, 2), 0.3, (15, 2))
        brute = _brute_separable(neg, pos)
        gamma, w, c, status = step_lp(neg, pos)
        assert status == "ok"
        if abs(brute) < 1e-3:
            continue
        assert (gamma > 1e-9) == (brute > 0)
        if gamma > 1e-9:
            assert np.all(neg @ w - c <= -gamma + 1e-9) and np.all(pos @ w - c >= gamma - 1e-9)
        agree += 1
    assert agree >= 30


@pytest.mark.parametrize("q,m", [(2, 2), (3, 3), (3, 5), (4, 6)])
def test_satellite_blocks_are_infeasible_and_the_rest_zero_cost(q, m):
    data = make_shadow(q, m, 20, seed=[q, m, 1])
    blocks = data.meta["blocks"]
    assert blocks
    xbar = data.barycenter
    for j, a in blocks:
        # geometric certificate: a class-j point is the midpoint of a class-a point and x̄
        mids = (data.X[data.y == a][:, None, :] + xbar) / 2
        assert np.min(np.linalg.norm(mids - data.X[data.y == j][None], axis=-1)) < 1e-12
    results = all_orderings(data)
    assert len(results) == len(list(itertools.permutations(range(q))))
    for res in results:
        pos = {c: i for i, c in enumerate(res.ordering)}
        if any(pos[j] < pos[a] for j, a in blocks):
            assert not res.feasible
    feasible = [r for r in results if r.feasible]
    assert feasible
    for res in feasible:
        params = sls_parameters(res)
        assert params.shape == (q, m + 2)
        net = sls_network(data, res.ordering, params)
        assert net.n_hidden == q and net.weights[0].shape == (m, m)
        assert network_cost(net, data) <= ZERO * np.sqrt(q)


@pytest.mark.parametrize("q,m", [(3, 3), (4, 4), (3, 8)])
def test_clustered_data_every_ordering_zero_cost(q, m):
    data = make_clustered_highdim(q, m, 15, 0.1, seed=[q, m, 2])
    results = all_orderings(data)
    assert all(r.feasible for r in results)
    for res in results[:3]:
        net = sls_network(data, res.ordering, sls_parameters(res))
        out = net.forward(data.X)
        assert np.max(np.abs(out - data.Y.T[data.y])) < 1e-9
        # the hyperplane points lie on the open segments (x̄_k, x̄)
        for s in res.steps:
            expected = data.means[s.cls] + s.t * (data.barycenter - data.means[s.cls])
            np.testing.assert_allclose(s.p, expected, atol=1e-12)


def test_sampled_orderings_when_q_is_large():
    data = make_clustered_highdim(4, 4, 8, 0.1, seed=9)
    res = all_orderings(data, max_q=3, max_orderings=5, seed=1)
    assert len(res) == 5 and (0, 1, 2, 3) in [r.ordering for r in res]
    again = all_orderings(data, max_q=3, max_orderings=5, seed=1)
    assert [r.ordering for r in res] == [r.ordering for r in again]


def test_bad_input():
    data = shadow_example()
    with pytest.raises(DlgeomInputError, match="ordering"):
        check_ordering(data, (0, 0))
    with pytest.raises(DlgeomInputError, match="params"):
        sls_network(data, (0, 1), np.zeros((2, 3)))
    good = sls_parameters(check_ordering(data, (0, 1)))
    bad_t = good.copy()
    bad_t[0, 2] = 1.0
    with pytest.raises(DlgeomInputError, match="t_k"):
        sls_network(data, (0, 1), bad_t)
    with pytest.raises(DlgeomInputError, match="not feasible"):
        sls_parameters(check_ordering(data, (1, 0)))
    with pytest.raises(DlgeomInputError, match="data"):
        check_ordering(np.zeros((3, 2)), (0, 1))
    with pytest.raises(DlgeomInputError, match="n_satellites"):
        make_shadow(3, 3, n_satellites=2)


def test_cli_sls(tmp_path, capsys):
    out = tmp_path / "sls.json"
    rc = main(
        [
            "sls",
            "--Q",
            "2",
            "--M",
            "3",
            "--replicates",
            "1",
            "--n",
            "10",
            "--hand",
            "--seed",
            "5",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert rc == 0
    doc = json.loads(out.read_text())
    hand = {r["M"]: {} for r in doc["rows"] if r["kind"] == "hand"}
    for r in doc["rows"]:
        if r["kind"] == "hand":
            hand[r["M"]][r["ordering"]] = r["feasible"]
    assert hand == {2: {"01": True, "10": False}, 3: {"01": True, "10": False}}
    assert {r["M"] for r in doc["rows"] if r["kind"] != "hand"} == {2, 3}  # M = Q is always added
    assert all(r["cost"] <= ZERO * r["Y_norm"] for r in doc["rows"] if r["feasible"])
    capsys.readouterr()
    bad = tmp_path / "bad.json"
    rc = main(["sls", "--Q", "3", "--M", "1", "--out", str(bad)])
    err = capsys.readouterr().err
    assert rc == 2 and not bad.exists() and err.count("\n") == 1 and "--M" in err


@pytest.mark.parametrize("seed", [[19, 3, 3], [21, 3, 3]])
def test_pushed_points_are_used_when_earlier_points_block(seed):
    """An ordering whose max-margin choice of an earlier p_i blocks a later step ('points') is
    feasible with p_i pushed towards x̄ (larger t_i), and its network still has zero cost."""
    from dlgeom.sequential import _Problem, _run

    data = make_shadow(3, 3, 25, seed=seed)
    pushed = [r for r in all_orderings(data) if r.feasible and r.push > 0]
    assert pushed
    prob = _Problem(data)
    for r in pushed:
        first = _run(prob, r.ordering, 0.0, {})
        assert not first.feasible and first.reason == "points" and first.failed_step > 0
        # the pushed pass moved an earlier point nearer x̄
        k = first.failed_step
        assert any(r.steps[i].t > first.steps[i].t + 1e-9 for i in range(k))
        assert network_cost(sls_network(data, r.ordering, sls_parameters(r)), data) <= ZERO * np.sqrt(3)
    json.dumps([r.to_dict() for r in pushed])  # serialisable
