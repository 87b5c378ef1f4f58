"""The fused kernel (dlgeom._fused, the landscape's 'fused' engine) against the sequential C², its
gradient and optimisers: equal to rounding, the same bytes at every vector width, and a clear
error where it is not built.  Its L-BFGS outcomes against scipy's are in test_batched.py."""

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
def test_every_vector_width_gives_the_same_bytes():
    """AVX-512, AVX2 and the baseline build sum the same lanes in the same order."""
    from dlgeom import _fused

    q, L = 4, 4
    data = dlgeom.make_clustered(q, 29, 0.3, seed=11, theta=2.8)
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
