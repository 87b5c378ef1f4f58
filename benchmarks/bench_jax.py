"""Benchmark: the fused engine against JAX (jit + vmap, float64) on the same landscape workload,
in one process, one core.

What a researcher would write instead of dlgeom's batched engine: the class-balanced C² of the
network in JAX, its gradient by ``jax.grad``, and the optimiser vmapped over the runs and jitted.
Both sides start from the same He starts, run the same optimiser with the same constants and the
same stopping rules (zero cost C² ≤ 1e-24, max|∇C²| ≤ 1e-10, max_iter), and are timed in CPU
seconds (all threads), after a warm-up call that compiles the JAX functions:

* GD: step 0.2 / λ_max per run (λ_max by 30 power iterations on finite differences of the gradient,
  from the same seeded start vectors, as dlgeom), halved while the cost does not decrease;
* Adam: lr 1e-3, β = (0.9, 0.999), ε = 1e-12, bias-corrected;
* L-BFGS: ``optax.lbfgs`` (memory 20, its zoom line search) against dlgeom's batched L-BFGS
  (memory 20, strong Wolfe), at the same iteration budget.

Under ``vmap`` a ``while_loop`` runs until its slowest run stops (finished runs are carried along
masked), while the fused engine drops finished runs from the batch: that difference is part of
what the user gains, so the JAX side is timed as written.  Prints runs per CPU-second of each side
and their ratio, the fraction of runs reaching zero cost on each side, and for GD and Adam the
largest difference between end points.

JAX and optax are installed by hand for this benchmark only (``pip install jax optax``), never a
dependency of the study or the tests.

    python benchmarks/bench_jax.py [--runs 64 256] [--paper-runs 64] [--quick] [--out results/benchmarks/jax.json]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported: one core
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from bench_landscape_batched import cell_data  # noqa: E402  (the benchmarks' shared workload)
from bench_landscape_batched import starts as he_starts  # noqa: E402

from dlgeom.batched import fused_unavailable, optimise_batch  # noqa: E402
from dlgeom.study.perf_figures import _cpu_model as cpu_name  # noqa: E402

ZERO2, GTOL = 1e-24, 1e-10
CASES = {  # name: (cell key, points per class, L, max_iter)
    "default cell": ("Q3/theta3.4/r0.1", 60, 3, 500),
    "paper batch": ("Q4/theta2.8/r0.3", 200, 4, 5000),
}


def cpu_timed(fn):
    c = time.process_time()
    out = fn()
    return out, time.process_time() - c


def jax_side(data, q, L):
    """The jitted, vmapped optimisers of a JAX user, for this data set."""
    import jax
    import jax.numpy as jnp
    import optax

    jax.config.update("jax_enable_x64", True)
    X = jnp.asarray(data.X.T)  # (Q, N)
    T = jnp.asarray(data.targets_columns)
    w = jnp.asarray(data.weights)
    block = q * q + q

    def c2(p):
        H = X
        for ell in range(L + 1):
            W = p[ell * block : ell * block + q * q].reshape(q, q)
            b = p[ell * block + q * q : (ell + 1) * block]
            Z = W @ H + b[:, None]
            H = jnp.where(Z > 0, Z, 0.0) if ell < L else Z  # ReLU, derivative 0 at the kink (as dlgeom)
        R = H - T
        return jnp.sum(w * jnp.sum(R * R, axis=0))

    vg = jax.value_and_grad(c2)

    def stop(f, g, gnorm=jnp.linalg.norm):  # GD, Adam: |∇C²| (as dlgeom); L-BFGS: max|∇C²|
        return (f <= ZERO2) | (gnorm(g) <= GTOL) | ~jnp.isfinite(f)

    def gd_one(p, v0, max_iter):
        f, g = vg(p)
        h = 1e-6 * jnp.maximum(1.0, jnp.linalg.norm(p))

        def power(_, carry):  # dlgeom's power iteration: finite differences of the gradient
            v, lam, live = carry
            hv = (vg(p + h * v)[1] - g) / h
            n = jnp.linalg.norm(hv)
            ok = live & (n != 0) & jnp.isfinite(n)
            return jnp.where(ok, hv / jnp.where(ok, n, 1.0), v), jnp.where(live, n, lam), ok

        _, lam, _ = jax.lax.fori_loop(0, 30, power, (v0 / jnp.linalg.norm(v0), 0.0, True))
        step = jnp.where(lam > 0, 0.2 / jnp.where(lam > 0, lam, 1.0), 1e-2)

        def body(s):  # one evaluation: a step taken, or the step halved (at most 60 times in a row)
            p, f, g, step, it, fails = s
            pt = p - step * g
            ft, gt = vg(pt)
            ok = jnp.isfinite(ft) & (ft <= f)
            return (
                jnp.where(ok, pt, p),
                jnp.where(ok, ft, f),
                jnp.where(ok, gt, g),
                jnp.where(ok, step, 0.5 * step),
                it + ok.astype(jnp.int32),
                jnp.where(ok, 0, fails + 1),
            )

        cond = lambda s: (s[4] < max_iter) & (s[5] < 60) & ~stop(s[1], s[2])  # noqa: E731
        p, f, g, _, it, _ = jax.lax.while_loop(cond, body, (p, f, g, step, jnp.int32(0), jnp.int32(0)))
        return p, f, it

    def adam_one(p, max_iter):
        f, g = vg(p)
        b1, b2, eps, lr = 0.9, 0.999, 1e-12, 1e-3

        def body(s):
            p, f, g, m, v, it = s
            t = it + 1
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            p = p - lr * (m / (1 - b1**t)) / (jnp.sqrt(v / (1 - b2**t)) + eps)
            f, g = vg(p)
            return p, f, g, m, v, t

        cond = lambda s: (s[5] < max_iter) & ~stop(s[1], s[2])  # noqa: E731
        z = jnp.zeros_like(p)
        p, f, g, _, _, it = jax.lax.while_loop(cond, body, (p, f, g, z, z, jnp.int32(0)))
        return p, f, it

    opt = optax.lbfgs(memory_size=20)

    def lbfgs_one(p, max_iter):
        state = opt.init(p)
        f, g = vg(p)

        def body(s):
            p, state, f, g, it = s
            upd, state = opt.update(g, state, p, value=f, grad=g, value_fn=c2)
            p = optax.apply_updates(p, upd)
            f, g = vg(p)
            return p, state, f, g, it + 1

        cond = lambda s: (s[4] < max_iter) & ~stop(s[2], s[3], lambda g: jnp.max(jnp.abs(g)))  # noqa: E731
        p, _, f, _, it = jax.lax.while_loop(cond, body, (p, state, f, g, jnp.int32(0)))
        return p, f, it

    return {
        "gd": jax.jit(jax.vmap(gd_one, in_axes=(0, 0, None)), static_argnums=2),
        "adam": jax.jit(jax.vmap(adam_one, in_axes=(0, None)), static_argnums=1),
        "lbfgs": jax.jit(jax.vmap(lbfgs_one, in_axes=(0, None)), static_argnums=1),
        "value_and_grad": jax.jit(vg),
    }, jax


def run_case(name, key, n_per_class, L, max_iter, n_runs, engine):
    data = cell_data(key, n_per_class)
    q = data.n_classes
    fns, jax = jax_side(data, q, L)
    rows = []
    for R in n_runs:
        X0, seeds = he_starts(q, L, R)
        V0 = np.stack(
            [np.random.default_rng(np.random.SeedSequence(int(s))).standard_normal(X0.shape[1]) for s in seeds]
        )
        for opt in ("gd", "adam", "lbfgs"):
            args = (X0, V0, max_iter) if opt == "gd" else (X0, max_iter)
            fn = fns[opt]
            jax.block_until_ready(fn(*args))  # compile (not timed)
            (pj, fj, itj), c_jax = cpu_timed(lambda fn=fn, args=args: jax.block_until_ready(fn(*args)))
            ours, c_ours = cpu_timed(
                lambda opt=opt, X0=X0, seeds=seeds: optimise_batch(
                    data, X0, L, opt, max_iter=max_iter, seeds=seeds, kernel=engine, zero_tol=1e-12, gtol=GTOL
                )
            )
            pj, fj = np.asarray(pj), np.asarray(fj)
            row = {
                "case": name,
                "cell": key,
                "N": data.n_points,
                "Q": q,
                "L": L,
                "max_iter": max_iter,
                "optimiser": opt,
                "runs": R,
                "engine": engine,
                "engine_runs_per_cpu_s": R / c_ours,
                "jax_runs_per_cpu_s": R / c_jax,
                "engine_over_jax": c_jax / c_ours,
                "engine_p_zero": float(np.mean(ours.status == "zero")),
                "jax_p_zero": float(np.mean(fj <= ZERO2)),
                "engine_mean_iter": float(ours.n_iter.mean()),
                "jax_mean_iter": float(np.mean(np.asarray(itj))),
                "end_points_max_abs_diff": None if opt == "lbfgs" else float(np.max(np.abs(pj - ours.x))),
            }
            rows.append(row)
            print(
                f"{name:<13} {opt:<6} runs={R:<4} {engine} {row['engine_runs_per_cpu_s']:8.2f} runs/CPU-s"
                f"  JAX {row['jax_runs_per_cpu_s']:8.2f}  ratio {row['engine_over_jax']:5.1f}x"
                f"  zero cost {row['engine_p_zero']:.2f} / {row['jax_p_zero']:.2f}"
                + (
                    ""
                    if row["end_points_max_abs_diff"] is None
                    else f"  end points max |diff| {row['end_points_max_abs_diff']:.1e}"
                ),
                flush=True,
            )
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, nargs="+", default=[64, 256], help="batch sizes (default 64 256)")
    ap.add_argument(
        "--paper-runs",
        type=int,
        nargs="*",
        default=None,
        help="batch sizes of the paper batch (default: as --runs; none: skip it, JAX L-BFGS takes minutes there)",
    )
    ap.add_argument("--quick", action="store_true", help="16 runs and a tenth of the iterations (a smoke run)")
    ap.add_argument("--out", default=None, help="also write the rows to this JSON file")
    args = ap.parse_args()
    try:
        import jax  # noqa: F401
        import optax  # noqa: F401
    except ImportError:
        sys.exit("bench_jax: JAX and optax are not installed (pip install jax optax)")
    rows = []
    for name, (key, n, L, max_iter) in CASES.items():
        engine = "numpy" if fused_unavailable(int(key[1]), L) else "fused"
        sizes = args.paper_runs if name == "paper batch" and args.paper_runs is not None else args.runs
        runs, mi = ([16], max(10, max_iter // 10)) if args.quick else (sizes, max_iter)
        if runs:
            rows += run_case(name, key, n, L, mi, runs, engine)
    ratios = {o: [r["engine_over_jax"] for r in rows if r["optimiser"] == o] for o in ("gd", "adam", "lbfgs")}
    for o, v in ratios.items():
        print(f"{o:<6} engine / JAX: {min(v):.1f}-{max(v):.1f}x (median {float(np.median(v)):.1f}x)")
    if args.out:
        import jax as _jax

        out = {
            "cpu": cpu_name(),
            "python": platform.python_version(),
            "jax": _jax.__version__,
            "load_average_1min": os.getloadavg()[0],
            "rows": rows,
        }
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
