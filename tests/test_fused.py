"""The fused kernel (dlgeom._fused, the landscape's 'fused' engine) against the sequential C², its
gradient and optimisers: equal to rounding, the same bytes at every vector width, and a clear
error where it is not built; its compiled L-BFGS against the numpy L-BFGS loop.  Its L-BFGS outcomes
against scipy's are in test_batched.py."""

import shutil
import sysconfig
from pathlib import Path

import numpy as np
import pytest

import dlgeom
from dlgeom import batched
from dlgeom.batched import cost_and_grad_batch, fused_unavailable, optimise_batch
from dlgeom.landscape import init_random, optimise
from dlgeom.network import Network, cost_and_grad
from dlgeom.validation import DlgeomInputError

needs_fused = pytest.mark.skipif(fused_unavailable() is not None, reason="dlgeom._fused is not built here")


def _starts(q, L, n, seed):
    seqs = np.random.SeedSequence(seed).spawn(n)
    return np.stack([init_random(q, L, np.random.default_rng(s), "he") for s in seqs]), [
        int(s.generate_state(1)[0]) for s in seqs
    ]


def test_the_kernel_is_built_where_a_compiler_is():
    """The extension is optional at install; where a C compiler exists it must have been built, so
    the tests below do not skip silently."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip(f"no C compiler ({compiler}) on this machine")
    assert fused_unavailable() is None


@needs_fused
@pytest.mark.parametrize("q, n, L", [(2, 15, 2), (3, 13, 4), (4, 9, 4), (5, 8, 6), (8, 3, 8)])
def test_fused_cost_and_gradient_equal_the_sequential_ones_to_rounding(q, n, L):
    """Every row is cost_and_grad of that network to 1e-12 relative (points per class not a multiple
    of 8: the padding points count for nothing), including networks with dead units."""
    data = dlgeom.make_clustered(q, n, 0.2, seed=q)
    X, _ = _starts(q, L, 19, seed=q)
    X[3, : q * q] *= -1.0  # a first layer that kills most units
    f, G = cost_and_grad_batch(X, data, q, L, kernel="fused")
    for i, x in enumerate(X):
        f_i, g_i = cost_and_grad(Network.from_flat(x, q, L), data)
        assert f[i] == pytest.approx(f_i, rel=1e-12, abs=1e-300)
        np.testing.assert_allclose(G[i], g_i, rtol=1e-11, atol=1e-13 * max(np.abs(g_i).max(), 1e-300))


@needs_fused
@pytest.mark.parametrize("q, L, n", [(4, 4, 29), (3, 3, 300), (8, 40, 20)])
def test_every_vector_width_gives_the_same_bytes(q, L, n):
    """AVX-512, AVX2 and the baseline build sum the same lanes in the same order, though their
    chunks of 16 vectors hold 128, 64 and 32 points: one chunk or several, the stack or (L = 40,
    Q = 8) the heap for the scratch space."""
    from dlgeom import _fused

    data = dlgeom.make_clustered(q, n, 0.3, seed=11, **({"theta": 2.8} if q == 4 else {}))
    X, _ = _starts(q, L, 12, seed=12)
    XT, T, w = batched._padded_columns(data)
    outs = []
    for simd in (w_ for w_ in (2, 4, 8) if w_ <= _fused.SIMD_WIDTH):
        f, G = np.empty(len(X)), np.empty_like(X)
        _fused.cost_and_grad(X, XT, T, w, q, L, f, G, simd)
        outs.append((f, G))
    for f, G in outs[1:]:
        np.testing.assert_array_equal(f, outs[0][0])
        np.testing.assert_array_equal(G, outs[0][1])
    with pytest.raises(ValueError, match="simd"):
        _fused.cost_and_grad(X, XT, T, w, q, L, f, G, 3)
    with pytest.raises(ValueError, match="width q"):
        _fused.cost_and_grad(X, XT, T, w, 9, L, f, G)
    with pytest.raises(ValueError, match="G: expected"):
        _fused.cost_and_grad(X, XT, T, w, q, L, f, G[:-1])


@needs_fused
@pytest.mark.parametrize("method", ["gd", "adam"])
def test_fused_gd_and_adam_end_points_equal_the_sequential_ones(method):
    """Same starts and seeds: the same end points to rounding, and the same statuses and iteration
    counts, run by run."""
    q, L = 3, 3
    data = dlgeom.make_clustered(q, 20, 0.1, seed=5, theta=3.4)
    X, seeds = _starts(q, L, 12, seed=6)
    res = optimise_batch(data, X, L, method, max_iter=300, seeds=seeds, kernel="fused")
    for i in range(len(X)):
        seq = optimise(data, X[i], L, method, max_iter=300, record_every=0, seed=seeds[i])
        np.testing.assert_allclose(res.x[i], seq.x, rtol=1e-8, atol=1e-8 * np.abs(seq.x).max())
        assert res.cost[i] == pytest.approx(seq.cost, rel=1e-8, abs=1e-12)
        assert (res.status[i], res.n_iter[i]) == (seq.status, seq.n_iter)


@needs_fused
def test_landscape_fused_engine_gives_the_gd_and_adam_rows_of_the_batched_one():
    """run_landscape with engine 'fused': the GD and Adam rows of 'batched' (same categories,
    statuses and iterations; costs to rounding)."""
    from dlgeom.study.landscape_run import run_landscape

    data = dlgeom.make_clustered(2, 12, 0.1, seed=3)
    kw = dict(
        runs=5, starts=("he", "global"), rhos=(1e-1,), optimisers=("gd", "adam"), max_iter=60, seed=(3,), shape=False
    )
    a = run_landscape(data, 2, engine="batched", **kw)
    b = run_landscape(data, 2, engine="fused", **kw)
    assert len(a["rows"]) == len(b["rows"]) == 20
    for ra, rb in zip(a["rows"], b["rows"]):
        for k in ("start", "optimiser", "run", "status", "n_iter", "category"):
            assert ra[k] == rb[k], k
        assert rb["cost"] == pytest.approx(ra["cost"], rel=1e-8, abs=1e-12)


def test_without_the_kernel_the_fused_engine_is_a_one_line_error(monkeypatch, tmp_path):
    """Where dlgeom._fused is not built: optimise_batch, the landscape command and the config all
    name the field and the alternatives, before any work."""
    monkeypatch.setattr(batched, "_fused", None)
    data = dlgeom.make_clustered(2, 12, 0.1, seed=3)
    with pytest.raises(
        DlgeomInputError, match="kernel: 'fused' cannot run: the compiled kernel dlgeom._fused is not built"
    ):
        optimise_batch(data, np.zeros((1, 18)), 2, "gd", kernel="fused")
    with pytest.raises(DlgeomInputError, match="kernel"):
        cost_and_grad_batch(np.zeros((1, 18)), data, 2, 2, kernel="simd")
    from dlgeom.study.landscape_run import run_landscape

    with pytest.raises(DlgeomInputError, match="'fused' cannot run"):
        run_landscape(data, 2, runs=1, engine="fused", shape=False)
    import yaml

    from dlgeom.study.config import load_schema, validate_config

    root = Path(__file__).resolve().parents[1]
    cfg = yaml.safe_load((root / "config" / "test.yaml").read_text())
    cfg["landscape"]["engine"] = "fused"
    with pytest.raises(
        DlgeomInputError,
        match=r"^config key 'landscape.engine': 'fused' cannot run here: the "
        r"compiled kernel dlgeom._fused is not built[^\n]*$",
    ):
        validate_config(cfg, load_schema(root / "workflow" / "schemas" / "config.schema.yaml"))


def _numpy_lbfgs(data, X, L, max_iter, maxfun=15000):
    """The numpy L-BFGS loop (batched._lbfgs) on the fused kernel: the fused path before the
    compiled loop."""
    q = data.n_classes
    runs = batched._Runs(len(X), X.shape[1])

    def fg(Z, idx):
        runs.n_evals[idx] += 1
        return batched._evaluate(Z, data, q, L, "fused")

    batched._lbfgs(fg, X.copy(), runs, max_iter, 1e-10, 1e-24, 20, maxfun=maxfun)
    return runs.result(0.0)


@pytest.fixture(scope="module")
def lbfgs_case():
    q, L = 3, 3
    data = dlgeom.make_clustered(q, 15, 0.1, seed=4, theta=3.4)
    X, _ = _starts(q, L, 600, seed=8)
    return data, X, L


@needs_fused
@pytest.mark.parametrize("max_iter, maxfun", [(3, 15000), (6, 5)])
def test_compiled_lbfgs_follows_the_numpy_loop_step_by_step(lbfgs_case, max_iter, maxfun):
    """Over the first iterations (600 He starts; with an evaluation limit of 5 too) the compiled
    L-BFGS takes the numpy loop's steps: the same statuses, messages, iteration and evaluation
    counts in every run, end points equal to rounding."""
    data, X, L = lbfgs_case
    if maxfun == 15000:
        new = optimise_batch(data, X, L, "lbfgs", max_iter=max_iter, kernel="fused")
    else:
        new = batched._Runs(len(X), X.shape[1])
        batched._lbfgs_compiled(data, X, new, max_iter, 1e-10, 1e-24, 20, None, maxfun=maxfun)
        new = new.result(0.0)
    old = _numpy_lbfgs(data, X, L, max_iter, maxfun)
    for k in ("status", "message", "n_iter", "n_evals"):
        np.testing.assert_array_equal(getattr(new, k), getattr(old, k), err_msg=k)
    if maxfun < 15000:
        assert (new.message == "evaluation limit reached").sum() > 100
    np.testing.assert_allclose(new.x, old.x, rtol=1e-12, atol=1e-12 * np.abs(old.x).max())
    np.testing.assert_allclose(new.cost, old.cost, rtol=1e-12, atol=1e-300)


@needs_fused
def test_compiled_lbfgs_outcomes_are_those_of_the_numpy_loop(lbfgs_case):
    """Whole runs (600 He starts, 300 iterations): rounding sends some runs elsewhere, the outcome
    distribution stays: the endings (χ² test of homogeneity over the messages), the fraction at
    zero cost (Fisher's exact test) and the end-point levels (χ² test, rare levels pooled) agree at
    the 1 % level, and more than 90 % of the runs reach the same level."""
    from scipy import stats

    from dlgeom.landscape import classify_endpoint, predicted_levels
    from dlgeom.local_minima import analyse_patterns

    data, X, L = lbfgs_case
    new = optimise_batch(data, X, L, "lbfgs", max_iter=300, kernel="fused")
    old = _numpy_lbfgs(data, X, L, 300)
    names = sorted(set(new.message) | set(old.message))
    table = np.array([[np.sum(r.message == k) for k in names] for r in (new, old)])
    assert table.shape[1] >= 3
    assert stats.chi2_contingency(table)[1] > 0.01
    levels = predicted_levels(data.Y, analyse_patterns(data, L, n_mu_samples=0))
    lev_n, lev_o = ([classify_endpoint(c, levels, 1e-6) for c in r.cost] for r in (new, old))
    zn, zo = (sum(c == "zero" for c, _ in lev) for lev in (lev_n, lev_o))
    assert 0 < zo < len(X)
    assert stats.fisher_exact([[zn, len(X) - zn], [zo, len(X) - zo]])[1] > 0.01
    names = sorted({n or "zero" for _, n in lev_n + lev_o})
    table = np.array([[sum((n or "zero") == k for _, n in lev) for k in names] for lev in (lev_n, lev_o)])
    common = table.sum(axis=0) >= 10
    table = np.column_stack([table[:, common], table[:, ~common].sum(axis=1)])
    table = table[:, table.sum(axis=0) > 0]
    assert table.shape[1] >= 3
    assert stats.chi2_contingency(table)[1] > 0.01
    assert np.mean([a == b for a, b in zip(lev_n, lev_o)]) > 0.9


@needs_fused
def test_compiled_lbfgs_runs_do_not_depend_on_their_batch(lbfgs_case):
    """A run's end point is the same bytes whether it runs with 79 others, alone, or in another
    order."""
    data, X, L = lbfgs_case
    X = X[:80]
    full = optimise_batch(data, X, L, "lbfgs", max_iter=200, kernel="fused")
    order = np.random.default_rng(1).permutation(len(X))
    shuffled = optimise_batch(data, X[order], L, "lbfgs", max_iter=200, kernel="fused")
    for k in ("x", "cost", "n_iter", "n_evals", "status", "message"):
        np.testing.assert_array_equal(getattr(shuffled, k), getattr(full, k)[order], err_msg=k)
    for i in (0, 17, 79):
        one = optimise_batch(data, X[i : i + 1], L, "lbfgs", max_iter=200, kernel="fused")
        np.testing.assert_array_equal(one.x[0], full.x[i])
        assert (one.status[0], one.n_iter[0], one.n_evals[0]) == (full.status[i], full.n_iter[i], full.n_evals[i])


@needs_fused
def test_compiled_lbfgs_gives_the_same_bytes_at_every_vector_width(lbfgs_case):
    """The compiled L-BFGS on the AVX-512, AVX2 and baseline kernels: the same end points, values
    and counts, byte for byte; bad arguments are a ValueError naming them."""
    from dlgeom import _fused

    data, X, L = lbfgs_case
    X = X[:40]
    q = data.n_classes
    XT, T, w = batched._padded_columns(data)
    outs = []
    for simd in (w_ for w_ in (2, 4, 8) if w_ <= _fused.SIMD_WIDTH):
        x, f, G = X.copy(), np.empty(len(X)), np.empty_like(X)
        ints = [np.zeros(len(X), dtype=np.int64) for _ in range(3)]
        _fused.lbfgs(x, XT, T, w, q, L, 200, 1e-10, 20, 1e-3, 0.9, 20, 15000, f, G, *ints, simd)
        outs.append((x, f, G, *ints))
    assert len(set(outs[0][-1])) >= 3  # several endings
    for out in outs[1:]:
        for a, b in zip(out, outs[0]):
            np.testing.assert_array_equal(a, b)
    x, f, G = X.copy(), np.empty(len(X)), np.empty_like(X)
    ints = [np.zeros(len(X), dtype=np.int64) for _ in range(3)]
    with pytest.raises(ValueError, match="n_evals: expected"):
        _fused.lbfgs(x, XT, T, w, q, L, 200, 1e-10, 20, 1e-3, 0.9, 20, 15000, f, G, ints[0], ints[1][:-1], ints[2])
    with pytest.raises(ValueError, match="code: expected a 1-D int64 array"):
        _fused.lbfgs(x, XT, T, w, q, L, 200, 1e-10, 20, 1e-3, 0.9, 20, 15000, f, G, *ints[:2], ints[2] * 1.0)
    with pytest.raises(ValueError, match="m, max_ls and max_iter must be at least 1"):
        _fused.lbfgs(x, XT, T, w, q, L, 200, 1e-10, 0, 1e-3, 0.9, 20, 15000, f, G, *ints)


@needs_fused
@pytest.mark.parametrize("method", ["lbfgs", "gd", "adam"])
def test_compiled_optimisers_hand_non_finite_runs_to_the_numpy_loop(method):
    """A start whose cost overflows, and one that does not: the first ends as on the numpy loop
    ('diverged', with the numpy kernel's values), the second is not disturbed by it."""
    q, L = 2, 2
    data = dlgeom.make_clustered(q, 12, 0.1, seed=3)
    X, seeds = _starts(q, L, 2, seed=9)
    X[0, :4] = 1e200
    with np.errstate(over="ignore", invalid="ignore"):  # the overflow is the point
        new = optimise_batch(data, X, L, method, max_iter=50, seeds=seeds, kernel="fused")
        ref = optimise_batch(data, X, L, method, max_iter=50, seeds=seeds, kernel="numpy")
    assert new.status[0] == ref.status[0] == "diverged"
    assert (new.message[0], new.n_iter[0], new.n_evals[0]) == (ref.message[0], ref.n_iter[0], ref.n_evals[0])
    np.testing.assert_array_equal(new.x[0], X[0])
    alone = optimise_batch(data, X[1:], L, method, max_iter=50, seeds=seeds[1:], kernel="fused")
    np.testing.assert_array_equal(new.x[1], alone.x[0])
    assert (new.n_iter[1], new.n_evals[1]) == (alone.n_iter[0], alone.n_evals[0])


def _python_first_order(data, X, L, method, max_iter, seeds, gtol=1e-10):
    """GD or Adam by the numpy loop (batched._first_order) on the fused kernel: what the fused
    engine ran before its loop was compiled."""
    runs = batched._Runs(*X.shape)
    q = data.n_classes

    def fg(Z, idx):
        runs.n_evals[idx] += 1
        return batched._evaluate(Z, data, q, L, "fused")

    batched._first_order(fg, X.copy(), runs, method, max_iter, gtol, 1e-24, None, seeds)
    return runs


@needs_fused
@pytest.mark.parametrize("method", ["gd", "adam"])
@pytest.mark.parametrize("q, L, n, max_iter", [(2, 2, 30, 2500), (3, 3, 25, 600), (4, 4, 12, 300)])
def test_compiled_gd_and_adam_follow_the_numpy_loop_bit_for_bit(method, q, L, n, max_iter):
    """Same starts and seeds: optimise_batch on the fused engine (the loop in C) ends every run
    where the numpy loop on the same kernel does, byte for byte, with the same statuses, messages,
    iterations and evaluations: He starts, one with dead units, one at a global minimiser (zero at
    once), one a step from it, one a dead network (a quadratic in the output bias, whose gradient
    falls below gtol = 1e-6 under GD; at 1e-10 it would stall on the cost's rounding)."""
    data = dlgeom.make_clustered(q, n, 0.2, seed=q)
    X, seeds = _starts(q, L, 14, seed=q + 10)
    X[3, : q * q] *= -1.0
    X[4] = dlgeom.construct_global(data, L).network.to_flat()
    X[5] = X[4] + 1e-3 * np.random.default_rng(1).standard_normal(X.shape[1])
    last = (L - 1) * (q * q + q)  # the last hidden layer dead: C² is a quadratic in the output bias
    X[6, last : last + q * q] = 0.0
    X[6, last + q * q : last + q * q + q] = -1.0
    new = optimise_batch(data, X, L, method, max_iter=max_iter, gtol=1e-6, seeds=seeds, kernel="fused")
    old = _python_first_order(data, X, L, method, max_iter, seeds, gtol=1e-6)
    np.testing.assert_array_equal(new.x, old.x)
    np.testing.assert_array_equal(new.cost, np.sqrt(old.f))
    np.testing.assert_array_equal(new.n_iter, old.n_iter)
    np.testing.assert_array_equal(new.n_evals, old.n_evals)
    assert new.status.tolist() == old.status.astype(str).tolist()
    assert new.message.tolist() == old.message.astype(str).tolist()
    assert new.status[4] == "zero" and new.n_iter[4] == 1
    assert {"max_iter", "zero"} <= set(new.status)
    if method == "gd":
        assert (new.status[6], new.message[6]) == ("converged", "gradient below gtol")


@needs_fused
def test_compiled_gd_reports_a_run_with_no_descent_step_as_the_numpy_loop():
    """A GD run whose step cannot lower the cost in 60 halvings ends 'converged', 'no descent step
    found', at its last point, in C as in the numpy loop (a learning rate so large no halving helps
    is not reachable from the power iteration's step, so the step is set through the C entry)."""
    from dlgeom import _fused

    q, L = 2, 2
    data = dlgeom.make_clustered(q, 12, 0.1, seed=3)
    X, _ = _starts(q, L, 3, seed=4)
    XT, T, w = batched._padded_columns(data)
    f, G = batched.cost_and_grad_batch(X, data, q, L, kernel="fused")
    x = X.copy()
    ints = [np.zeros(3, dtype=np.int64) for _ in range(3)]
    # a step of -1e30 climbs: every trial is above the start (or overflows) until 60 halvings
    # leave it at -1e30 / 2^59, still far too long a climb
    _fused.first_order(x, f, G, np.full(3, -1e30), XT, T, w, q, L, 0, 100, 1e-10, 1e-24, *ints)
    nit, nev, code = ints
    assert (code == 3).any()  # at least one run reaches the 60th halving in C (none handed back here)
    np.testing.assert_array_equal(code[code != 0], 3)  # FO_NO_DESCENT, or handed back (overflow)
    np.testing.assert_array_equal(x[code == 3], X[code == 3])
    assert (nit[code == 3] == 1).all() and (nev[code == 3] == 60).all()


@needs_fused
def test_compiled_gd_and_adam_give_the_same_bytes_at_every_vector_width():
    """The C loop on the AVX-512, AVX2 and baseline kernels: the same end points and counts, byte
    for byte; bad arguments are a ValueError naming them."""
    from dlgeom import _fused

    q, L = 3, 3
    data = dlgeom.make_clustered(q, 21, 0.2, seed=2)
    X, _ = _starts(q, L, 10, seed=3)
    XT, T, w = batched._padded_columns(data)
    f0, G0 = batched.cost_and_grad_batch(X, data, q, L, kernel="fused")
    for method in (0, 1):
        outs = []
        for simd in (w_ for w_ in (2, 4, 8) if w_ <= _fused.SIMD_WIDTH):
            x, f, G = X.copy(), f0.copy(), G0.copy()
            ints = [np.zeros(len(X), dtype=np.int64) for _ in range(3)]
            _fused.first_order(x, f, G, np.full(len(X), 1e-3), XT, T, w, q, L, method, 300, 1e-10, 1e-24, *ints, simd)
            outs.append((x, f, G, *ints))
        for out in outs[1:]:
            for a, b in zip(out, outs[0]):
                np.testing.assert_array_equal(a, b)
    x, f, G = X.copy(), f0.copy(), G0.copy()
    ints = [np.zeros(len(X), dtype=np.int64) for _ in range(3)]
    step = np.full(len(X), 1e-3)
    with pytest.raises(ValueError, match="step: expected"):
        _fused.first_order(x, f, G, step[:-1], XT, T, w, q, L, 0, 10, 1e-10, 1e-24, *ints)
    with pytest.raises(ValueError, match="method must be 0 \\(gd\\) or 1 \\(adam\\)"):
        _fused.first_order(x, f, G, step, XT, T, w, q, L, 2, 10, 1e-10, 1e-24, *ints)
    with pytest.raises(ValueError, match="code: expected a 1-D int64 array"):
        _fused.first_order(x, f, G, step, XT, T, w, q, L, 0, 10, 1e-10, 1e-24, *ints[:2], ints[2] * 1.0)
