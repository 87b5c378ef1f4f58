"""Batched C², gradient and optimisers against the sequential ones (dlgeom.batched)."""

import numpy as np
import pytest
from scipy import stats

import dlgeom
from dlgeom.batched import cost_and_grad_batch, cost_sq_batch, fused_unavailable, optimise_batch
from dlgeom.landscape import classify_endpoint, init_random, optimise, predicted_levels
from dlgeom.local_minima import analyse_patterns
from dlgeom.network import Network, activation_margin, cost_and_grad, cost_sq
from dlgeom.validation import DlgeomInputError


def _starts(q, L, n, seed, scheme="he"):
    seqs = np.random.SeedSequence(seed).spawn(n)
    return np.stack([init_random(q, L, np.random.default_rng(s), scheme) for s in seqs]), [
        int(s.generate_state(1)[0]) for s in seqs
    ]


@pytest.fixture(scope="module")
def small():
    data = dlgeom.make_clustered(2, 12, 0.1, seed=3)
    return data, dlgeom.construct_global(data, 2)


@pytest.mark.parametrize("q, n", [(2, 15), (3, 10), (5, 8)])
def test_batched_cost_and_gradient_are_the_sequential_ones(q, n):
    """Every row of the batch is bit-for-bit cost_and_grad / cost_sq of that network, whatever the
    run chunk."""
    data = dlgeom.make_clustered(q, n, 0.2, seed=q)
    X, _ = _starts(q, q + 1, 21, seed=q)
    for chunk in (1, 4, 16):
        f, G = cost_and_grad_batch(X, data, q, q + 1, run_chunk=chunk)
        c = cost_sq_batch(X, data, q, q + 1, run_chunk=chunk)
        for i, x in enumerate(X):
            net = Network.from_flat(x, q, q + 1)
            f_i, g_i = cost_and_grad(net, data)
            assert f[i] == f_i and c[i] == cost_sq(net, data)
            np.testing.assert_array_equal(G[i], g_i)


def test_batched_gradient_matches_finite_differences():
    """Central differences of C² with steps well below the activation margin (no kink crossed)."""
    q, L = 3, 3
    data = dlgeom.make_clustered(q, 10, 0.2, seed=7)
    X = np.random.default_rng(8).normal(0.0, 0.8, (4, (L + 1) * (q * q + q)))  # biases too: a generic point
    _, G = cost_and_grad_batch(X, data, q, L)
    for x, g in zip(X, G):
        margin = activation_margin(Network.from_flat(x, q, L), data.X)
        assert margin > 0
        h = 1e-3 * margin / (1.0 + np.abs(data.X).max() + np.abs(x).max())
        E = np.eye(x.size) * h
        fd = (cost_sq_batch(x + E, data, q, L) - cost_sq_batch(x - E, data, q, L)) / (2 * h)
        np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-7 * np.abs(g).max())


@pytest.mark.parametrize("method", ["gd", "adam"])
def test_batched_gd_and_adam_end_points_equal_the_sequential_ones(small, method):
    """Same starts and seeds: the same end points (to 1e-12 relative; in fact bit-for-bit), costs,
    statuses and iteration counts, run by run."""
    data, con = small
    X, seeds = _starts(2, 2, 9, seed=1)
    X[4] = con.network.to_flat()  # this run stops at once (zero cost)
    res = optimise_batch(data, X, 2, method, max_iter=150, seeds=seeds)
    for i in range(len(X)):
        seq = optimise(data, X[i], 2, method, max_iter=150, record_every=0, seed=seeds[i])
        np.testing.assert_allclose(res.x[i], seq.x, rtol=1e-12, atol=1e-12 * np.abs(seq.x).max())
        assert res.cost[i] == pytest.approx(seq.cost, rel=1e-12, abs=1e-300)
        assert (res.status[i], res.n_iter[i]) == (seq.status, seq.n_iter)
    assert res.status[4] == "zero" and res.n_iter[4] == 1
    assert set(res.status) - {"zero"}  # the others went on


@pytest.mark.parametrize("method", ["gd", "adam", "lbfgs"])
def test_a_run_that_stops_early_keeps_its_end_point(small, method):
    """The batch goes on after a run stops; the stopped run is frozen at its own end point, the
    same as when it runs alone."""
    data, con = small
    X, seeds = _starts(2, 2, 5, seed=2)
    X[0] = con.network.to_flat()
    full = optimise_batch(data, X, 2, method, max_iter=120, seeds=seeds)
    alone = optimise_batch(data, X[:1], 2, method, max_iter=120, seeds=seeds[:1])
    np.testing.assert_array_equal(full.x[0], alone.x[0])
    np.testing.assert_array_equal(full.x[0], X[0])  # at zero cost from the start: not moved
    assert full.status[0] == "zero" and full.n_iter[0] <= 1
    assert full.n_evals[0] < full.n_evals[1:].min()  # no evaluation after it stopped
    # and every run of the batch is the run alone
    for i in range(1, 5):
        one = optimise_batch(data, X[i : i + 1], 2, method, max_iter=120, seeds=seeds[i : i + 1])
        np.testing.assert_array_equal(full.x[i], one.x[0])
        assert full.status[i] == one.status[0] and full.n_iter[i] == one.n_iter[0]


@pytest.mark.parametrize(
    "kernel",
    [
        "numpy",
        pytest.param(
            "fused", marks=pytest.mark.skipif(fused_unavailable() is not None, reason="dlgeom._fused is not built here")
        ),
    ],
)
def test_batched_lbfgs_outcomes_match_scipy(kernel):
    """Batched L-BFGS (on either kernel) against scipy's L-BFGS-B from the same 120 He starts: the
    fraction reaching zero cost (Fisher's exact test) and the distribution over end-point levels
    (χ² test of homogeneity on the levels reached, rare levels pooled) agree at the 1 % level; and
    the outcome categories agree run by run in most runs."""
    q, L = 3, 3
    data = dlgeom.make_clustered(q, 15, 0.1, seed=4, theta=3.4)
    levels = predicted_levels(data.Y, analyse_patterns(data, L, n_mu_samples=0))
    X, _ = _starts(q, L, 120, seed=5)
    bat = optimise_batch(data, X, L, "lbfgs", max_iter=300, kernel=kernel)
    seq = [optimise(data, x, L, "lbfgs", max_iter=300, record_every=0) for x in X]
    lev_b = [classify_endpoint(c, levels, 1e-6) for c in bat.cost]
    lev_s = [classify_endpoint(r.cost, levels, 1e-6) for r in seq]
    zb, zs = sum(c == "zero" for c, _ in lev_b), sum(c == "zero" for c, _ in lev_s)
    assert stats.fisher_exact([[zb, len(X) - zb], [zs, len(X) - zs]])[1] > 0.01
    names = sorted({n or "zero" for _, n in lev_b + lev_s})
    table = np.array([[sum((n or "zero") == k for _, n in lev) for k in names] for lev in (lev_b, lev_s)])
    common = table.sum(axis=0) >= 10
    table = np.column_stack([table[:, common], table[:, ~common].sum(axis=1)]) if (~common).any() else table
    table = table[:, table.sum(axis=0) > 0]
    assert table.shape[1] >= 2  # more than one level is reached
    assert stats.chi2_contingency(table)[1] > 0.01
    assert np.mean([a[0] == b[0] for a, b in zip(lev_b, lev_s)]) > 0.8
    assert set(bat.status) <= {"zero", "converged", "max_iter", "diverged"}


def test_batch_input_errors(small):
    data, _ = small
    with pytest.raises(DlgeomInputError, match="X: expected an"):
        cost_and_grad_batch(np.zeros((3, 5)), data, 2, 2)
    with pytest.raises(DlgeomInputError, match="method"):
        optimise_batch(data, np.zeros((1, 18)), 2, "sgd")
    with pytest.raises(DlgeomInputError, match="seeds"):
        optimise_batch(data, np.zeros((2, 18)), 2, "gd", seeds=[1])


def test_landscape_engines_give_the_same_gd_and_adam_rows(small):
    """run_landscape with the batched engine: GD and Adam rows identical to the sequential engine
    (batches smaller than the runs, so several batches)."""
    from dlgeom.study.landscape_run import run_landscape

    data, _ = small
    kw = dict(
        runs=5, starts=("he", "global"), rhos=(1e-1,), optimisers=("gd", "adam"), max_iter=60, seed=(3,), shape=False
    )
    msgs = []
    a = run_landscape(data, 2, engine="sequential", **kw)
    b = run_landscape(data, 2, engine="batched", batch=2, log=msgs.append, **kw)
    assert len(a["rows"]) == len(b["rows"]) == 20
    for ra, rb in zip(a["rows"], b["rows"]):
        assert ra.keys() == rb.keys()
        for k in ra:
            assert ra[k] == rb[k] or (ra[k] != ra[k] and rb[k] != rb[k]), k  # NaN == NaN here
    progress = [m for m in msgs if "runs done" in m]
    assert len(progress) == 12 and "20/20 runs done" in progress[-1]  # one progress line per batch


def test_lbfgs_direction_is_the_two_loop_recursion():
    """Both batched forms of the L-BFGS direction on ring buffers (wrapped, partly filled,
    empty) against the textbook two-loop recursion over the same pairs, oldest to newest."""
    from dlgeom.batched import _lbfgs_direction, _two_loop

    def two_loop(g, pairs):
        q, alphas = g.copy(), []
        for s, y in reversed(pairs):
            alphas.append((s @ q) / (s @ y))
            q -= alphas[-1] * y
        gamma = (pairs[-1][0] @ pairs[-1][1]) / (pairs[-1][1] @ pairs[-1][1]) if pairs else 1.0
        r = gamma * q
        for (s, y), a in zip(pairs, reversed(alphas)):
            r += (a - (y @ r) / (s @ y)) * s
        return -r

    rng = np.random.default_rng(0)
    m, P = 5, 9
    A = rng.standard_normal((P, P))
    H = A @ A.T + P * np.eye(P)  # curvature pairs y = H s
    writes = [0, 2, 5, 7, 12]  # pairs written per run (ring wraps past m)
    R = len(writes)
    S, Y, head = np.zeros((R, m, P)), np.zeros((R, m, P)), np.zeros(R, dtype=int)
    pairs = [[] for _ in range(R)]
    for i, k in enumerate(writes):
        for _ in range(k):
            s = rng.standard_normal(P)
            S[i, head[i]], Y[i, head[i]] = s, H @ s
            head[i] = (head[i] + 1) % m
            pairs[i] = (pairs[i] + [(s, H @ s)])[-m:]
    count = np.minimum(writes, m)
    g = rng.standard_normal((R, P))
    for direction in (_lbfgs_direction, _two_loop):
        d = direction(g, S, Y, S @ Y.transpose(0, 2, 1), Y @ Y.transpose(0, 2, 1), count, head)
        for i in range(R):
            np.testing.assert_allclose(d[i], two_loop(g[i], pairs[i]), rtol=1e-10, atol=1e-12)


def test_optimiser_runs_are_the_first_runs_of_a_longer_list(small):
    """Fewer runs for one optimiser (``optimiser_runs``) give exactly the first rows of the
    full list: the same starts and seeds, and the other optimisers untouched."""
    from dlgeom.study.landscape_run import run_landscape

    data, _ = small
    kw = dict(starts=("he",), optimisers=("lbfgs", "gd"), max_iter=40, seed=(5,), shape=False)
    full = run_landscape(data, 2, runs=5, **kw)
    part = run_landscape(data, 2, runs=5, optimiser_runs={"gd": 2}, **kw)
    by = {o: [r for r in part["rows"] if r["optimiser"] == o] for o in ("lbfgs", "gd")}
    full_by = {o: [r for r in full["rows"] if r["optimiser"] == o] for o in ("lbfgs", "gd")}
    assert [len(by["lbfgs"]), len(by["gd"])] == [5, 2]
    same = [
        ra[k] == rb[k] or (ra[k] != ra[k] and rb[k] != rb[k])  # NaN == NaN here
        for ra, rb in zip(by["lbfgs"] + by["gd"], full_by["lbfgs"] + full_by["gd"][:2])
        for k in ra
    ]
    assert all(same) and len(same) == 7 * len(by["gd"][0])
    assert part["endpoint_params"].shape[0] == 7


@pytest.mark.parametrize("q, L, n", [(2, 2, 7), (3, 5, 11), (4, 4, 6)])
def test_evaluation_flops_counts_the_products_of_the_numpy_pass(monkeypatch, q, L, n):
    """The benchmarks' flop count of one evaluation equals the multiply-adds of every matrix
    product the numpy engine computes (2 per multiply-add), counted while it runs, less the final
    dot product of the cost (2·Q·N per network, not in the count)."""
    from dlgeom import batched

    data = dlgeom.make_clustered(q, n, 0.2, seed=q)
    runs = 5
    X, _ = _starts(q, L, runs, seed=q)
    counted = []
    real = np.matmul

    def counting(a, b, **kw):
        a, b = np.asarray(a), np.asarray(b)
        counted.append(2 * a.shape[0] * a.shape[-2] * a.shape[-1] * b.shape[-1])
        return real(a, b, **kw)

    monkeypatch.setattr(np, "matmul", counting)
    f, _ = batched._cost_and_grad_batch(X, data, q, L)
    monkeypatch.undo()
    n_points = data.n_points
    assert sum(counted) - runs * 2 * q * n_points == runs * batched.evaluation_flops(n_points, q, L)
    assert np.isfinite(f).all()
