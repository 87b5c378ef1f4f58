"""The fused kernel at the edges: non-finite parameters and overflows give numpy's non-finite values
and statuses, a Dataset cannot go stale under the kernel's cache, the deepest supported networks run
on a small thread stack, and the private entry point refuses buffers of the wrong type or layout."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from dlgeom import batched
from dlgeom.batched import cost_and_grad_batch, cost_sq_batch, fused_unavailable, optimise_batch
from dlgeom.data import Dataset
from dlgeom.landscape import init_random
from dlgeom.synthetic import make_clustered
from dlgeom.validation import DlgeomInputError

needs_fused = pytest.mark.skipif(fused_unavailable() is not None, reason="dlgeom._fused is not built here")


def _starts(q, L, n, seed):
    rng = np.random.default_rng(seed)
    return np.stack([init_random(q, L, rng, "he") for _ in range(n)])


def _poison(X, q, L):
    """Rows with one non-finite or overflowing entry each, at every kind of place, and clean rows."""
    X = X.copy()
    block = q * q + q
    places = [0, q * q, block * (L // 2) + 1, block * L, block * L + q * q, X.shape[1] - 1]
    rows = []
    for value in (np.nan, np.inf, -np.inf, 1e300, -1e300):
        for place in places:
            rows.append((place, value))
    out = np.repeat(X[:1], len(rows) + 3, axis=0)
    out[-3:] = X[1:4]
    for i, (place, value) in enumerate(rows):
        out[i, place] = value
    huge = out[-1].copy()
    huge[: block * L] *= 1e80  # finite weights whose activations overflow to inf
    return np.vstack([out, huge[None]])


def _same_nonfinite(a, b):
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_array_equal(np.isposinf(a), np.isposinf(b))
    np.testing.assert_array_equal(np.isneginf(a), np.isneginf(b))
    fin = np.isfinite(a)
    np.testing.assert_allclose(a[fin], b[fin], rtol=1e-10, atol=0)


@needs_fused
@pytest.mark.parametrize("q, L", [(2, 2), (3, 4), (5, 3), (8, 2)])
def test_non_finite_parameters_give_numpys_non_finite_costs_and_gradients(q, L):
    data = make_clustered(q, 11, 0.1, seed=q)
    X = _poison(_starts(q, L, 4, q + L), q, L)
    with np.errstate(all="ignore"):
        f_np, G_np = cost_and_grad_batch(X, data, q, L, kernel="numpy")
        f_fu, G_fu = cost_and_grad_batch(X, data, q, L, kernel="fused")
    assert not np.isfinite(f_np[:10]).all()  # the poison reaches numpy's cost
    _same_nonfinite(f_fu, f_np)
    _same_nonfinite(G_fu, G_np)


@needs_fused
@pytest.mark.parametrize("method", ["gd", "adam", "lbfgs"])
def test_non_finite_starts_end_with_numpys_statuses(method):
    q, L = 3, 3
    data = make_clustered(q, 10, 0.1, seed=7)
    X = _poison(_starts(q, L, 4, 11), q, L)
    with np.errstate(all="ignore"):
        a = optimise_batch(data, X, L, method, max_iter=15, seeds=list(range(len(X))), kernel="numpy")
        b = optimise_batch(data, X, L, method, max_iter=15, seeds=list(range(len(X))), kernel="fused")
    assert "diverged" in list(a.status)
    assert list(b.status) == list(a.status)
    _same_nonfinite(np.asarray(b.cost), np.asarray(a.cost))


@needs_fused
def test_changing_the_callers_array_does_not_make_results_stale():
    q, L = 3, 2
    X = make_clustered(q, 9, 0.1, seed=1).X.copy()
    y = np.repeat(np.arange(q), 9)
    data = Dataset(X, y)
    P = _starts(q, L, 5, 3)
    before = [cost_and_grad_batch(P, data, q, L, kernel=k) for k in ("numpy", "fused")]
    X *= 3.0  # the caller changes its array in place
    y[:] = y[::-1]
    after = [cost_and_grad_batch(P, data, q, L, kernel=k) for k in ("numpy", "fused")]
    for (f0, g0), (f1, g1) in zip(before, after):
        np.testing.assert_array_equal(f0, f1)
        np.testing.assert_array_equal(g0, g1)
    fresh = Dataset(X, y)  # the changed values, as a new dataset
    f_np, _ = cost_and_grad_batch(P, fresh, q, L, kernel="numpy")
    f_fu, _ = cost_and_grad_batch(P, fresh, q, L, kernel="fused")
    np.testing.assert_allclose(f_fu, f_np, rtol=1e-12)
    assert not np.allclose(f_np, before[0][0])


def test_dataset_arrays_are_its_own_and_read_only():
    X = make_clustered(2, 6, 0.1, seed=2).X.copy()
    y = np.repeat([0, 1], 6)
    data = Dataset(X, y)
    assert not np.shares_memory(data.X, X) and not np.shares_memory(data.y, y)
    assert not data.X.flags.writeable and not data.y.flags.writeable and X.flags.writeable


@needs_fused
def test_the_deepest_widest_network_runs_on_a_small_thread_stack():
    """Q = 8 and L = 8 (scratch on the stack, under 64 KB) and L = the kernel's MAX_LAYERS (scratch on
    the heap) on a 256 KB thread stack, in a subprocess so that a crash fails the test, not the run."""
    code = textwrap.dedent("""
        import threading, numpy as np
        from dlgeom import batched
        from dlgeom.batched import cost_and_grad_batch
        from dlgeom.landscape import init_random
        from dlgeom.synthetic import make_clustered
        q = 8
        data = make_clustered(q, 3, 0.1, seed=1)
        threading.stack_size(256 * 1024)
        for L in (8, batched._fused.MAX_LAYERS):
            X = np.stack([init_random(q, L, np.random.default_rng(s), "he") for s in range(2)])
            ref = cost_and_grad_batch(X, data, q, L, kernel="fused")
            got = []
            t = threading.Thread(target=lambda: got.append(cost_and_grad_batch(X, data, q, L, kernel="fused")))
            t.start(); t.join()
            assert np.array_equal(got[0][0], ref[0]) and np.array_equal(got[0][1], ref[1])
        print("ok")
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr[-2000:]


@needs_fused
def test_the_private_entry_point_checks_dtype_layout_and_shape():
    q, L, R = 3, 2, 4
    data = make_clustered(q, 8, 0.1, seed=5)
    XT, T, w = batched._padded_columns(data)
    X = _starts(q, L, R, 1)
    P = X.shape[1]
    f, G = np.empty(R), np.empty((R, P))
    batched._fused.cost_and_grad(X, XT, T, w, q, L, f, G)  # the valid call
    bad = {
        "X float32 of the right byte size": dict(X=np.zeros((R, 2 * P), np.float32)),
        "X int64": dict(X=np.zeros((R, P), np.int64)),
        "X transposed": dict(X=np.asfortranarray(X)),
        "X strided": dict(X=np.zeros((R, 2 * P))[:, ::2]),
        "X flat": dict(X=X.ravel()),
        "XT transposed": dict(XT=np.ascontiguousarray(XT.T).T),
        "XT wrong rows": dict(XT=np.zeros((q + 1, XT.shape[1]))),
        "T of another size": dict(T=np.zeros((q, XT.shape[1] + 8))),
        "w of bytes": dict(w=bytes(8 * XT.shape[1])),
        "w float32": dict(w=np.zeros(2 * XT.shape[1], np.float32)),
        "f read-only": dict(f=np.frombuffer(bytes(8 * R))),
        "f too short": dict(f=np.empty(R - 1)),
        "G transposed": dict(G=np.empty((P, R)).T),
        "G int64": dict(G=np.empty((R, P), np.int64)),
    }
    for name, change in bad.items():
        args = dict(X=X, XT=XT, T=T, w=w, f=f, G=G, **{})
        args.update(change)
        with pytest.raises(ValueError) as info:
            batched._fused.cost_and_grad(args["X"], args["XT"], args["T"], args["w"], q, L, args["f"], args["G"])
        arg = next(iter(change))
        assert str(info.value).startswith(f"{arg}:"), (name, str(info.value))


@pytest.mark.parametrize("run_chunk", [0, -1, 2.5, True])
def test_run_chunk_must_be_a_positive_integer(run_chunk):
    data = make_clustered(2, 6, 0.1, seed=1)
    X = _starts(2, 2, 3, 1)
    for fn in (cost_and_grad_batch, cost_sq_batch):
        with pytest.raises(DlgeomInputError, match="run_chunk"):
            fn(X, data, 2, 2, run_chunk=run_chunk)


def test_landscape_of_a_very_deep_network_ends_in_data_rows_not_a_traceback(tmp_path):
    """L = 3000 (within --layers' limit): the rescaled networks overflow; the end points are rows."""
    import contextlib
    import io
    import json

    from dlgeom.cli import main
    from dlgeom.data import save_dataset

    save_dataset(make_clustered(2, 8, 0.1, seed=1), tmp_path / "d.npz")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = main(
            [
                "landscape",
                "--data",
                str(tmp_path / "d.npz"),
                "--layers",
                "3000",
                "--runs",
                "2",
                "--starts",
                "he",
                "--optimisers",
                "gd",
                "--max-iter",
                "5",
                "--no-shape",
                "--quiet",
                "--out",
                str(tmp_path / "l.json"),
            ]
        )
    assert rc == 0 and err.getvalue() == ""
    rows = json.loads((tmp_path / "l.json").read_text())["rows"]
    assert len(rows) == 2 and {r["status"] for r in rows} <= {"zero", "converged", "max_iter", "diverged"}
