"""Benchmark: landscape optimiser runs, batched (dlgeom.batched.optimise_batch, numpy and fused
kernels) against sequential (dlgeom.landscape.optimise, L-BFGS through scipy), in one process,
single-threaded BLAS.

Prints runs per CPU-second (throughput per core) for every optimiser, on a default-study
landscape cell (Q = 3, θ = 3.4, δ-ratio 0.1, 60 points per class, L = 3, 500 iterations) and on a
paper-size batch (Q = 4, θ = 2.8, δ-ratio 0.3, 200 points per class, L = 4, 5000 iterations, the
largest landscape cell of config/paper.yaml), from He starts; then one whole landscape job
(optimiser runs and their end-point analysis, `dlgeom landscape --no-shape`) per engine on the
default cell (128 runs per optimiser) and on the paper-size cell (one full batch of 256 runs per
optimiser, 5000 iterations).  First, the ceiling of the numpy kernel: one batched
evaluation against its matrix products alone, and the fused kernel's time for the same evaluation.
The sequential side runs fewer runs (the rate is per run); both sides use the same starts and
seeds.

    OMP_NUM_THREADS=1 python benchmarks/bench_landscape_batched.py [--quick] [--out FILE.json] [--baseline-src DIR]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported: one core

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from dlgeom.batched import optimise_batch  # noqa: E402
from dlgeom.landscape import init_random, optimise  # noqa: E402
from dlgeom.study.config import cell_ids  # noqa: E402
from dlgeom.study.seeds import seed_list as _seed  # noqa: E402
from dlgeom.synthetic import make_clustered  # noqa: E402

BASE_SEED = 2309
CASES = {  # name: (cell key, points per class, L, max_iter, sequential runs (GD/Adam, L-BFGS), batched runs)
    "default cell": ("Q3/theta3.4/r0.1", 60, 3, 500, (48, 256), 256),
    "paper batch": ("Q4/theta2.8/r0.3", 200, 4, 5000, (8, 64), 256),
}


def cell_data(key: str, n_per_class: int):
    """Replicate 0 of a study cell, as `dlgeom make-data` writes it."""
    q, theta, r = key.split("/")
    theta = None if theta == "thetaregular" else float(theta[5:])
    return make_clustered(
        int(q[1:]), n_per_class, float(r[1:]), theta, "uniform", seed=_seed([BASE_SEED, *cell_ids(key)], 0, 0)
    )


def starts(q, L, n, seed=7):
    seqs = np.random.SeedSequence(seed).spawn(n)
    return (
        np.stack([init_random(q, L, np.random.default_rng(s), "he") for s in seqs]),
        [int(s.generate_state(1)[0]) for s in seqs],
    )


def timed(fn):
    c, w = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c, time.perf_counter() - w


def bench_optimisers(name, key, n_per_class, L, max_iter, n_seqs, n_bat):
    from dlgeom.batched import fused_unavailable

    data = cell_data(key, n_per_class)
    q = data.n_classes
    X0, seeds = starts(q, L, n_bat)
    kernels = ("numpy",) if fused_unavailable(q, L) else ("numpy", "fused")
    rows = []
    for opt in ("gd", "adam", "lbfgs"):
        n_seq = n_seqs[opt == "lbfgs"]  # L-BFGS run lengths vary most: more sequential runs
        seq, c_seq, w_seq = timed(
            lambda opt=opt, n_seq=n_seq: [
                optimise(data, X0[i], L, opt, max_iter=max_iter, record_every=0, seed=seeds[i]) for i in range(n_seq)
            ]
        )
        for kernel in kernels:
            bat, c_bat, w_bat = timed(
                lambda opt=opt, kernel=kernel: optimise_batch(
                    data, X0, L, opt, max_iter=max_iter, seeds=seeds, kernel=kernel
                )
            )
            same = diff = None
            if opt != "lbfgs":  # the same end points, run by run (fused: to rounding)
                same = all(np.array_equal(bat.x[i], seq[i].x) for i in range(n_seq))
                diff = float(max(np.max(np.abs(bat.x[i] - seq[i].x)) for i in range(n_seq)))
            row = {
                "case": name,
                "cell": key,
                "N": data.n_points,
                "Q": q,
                "L": L,
                "max_iter": max_iter,
                "optimiser": opt,
                "kernel": kernel,
                "runs_seq": n_seq,
                "runs_batch": n_bat,
                "seq_runs_per_cpu_s": n_seq / c_seq,
                "batch_runs_per_cpu_s": n_bat / c_bat,
                "speedup": (n_bat / c_bat) / (n_seq / c_seq),
                "seq_mean_iter": float(np.mean([r.n_iter for r in seq])),
                "batch_mean_iter": float(bat.n_iter.mean()),
                "seq_wall_s": w_seq,
                "batch_wall_s": w_bat,
                "end_points_identical": same,
                "end_points_max_abs_diff": diff,
                "status_same": None if same is None else all(str(bat.status[i]) == seq[i].status for i in range(n_seq)),
                "batch_status": dict(Counter(map(str, bat.status))),
            }
            rows.append(row)
            print(
                f"{name:<13} {opt:<6} {kernel:<6} N={data.n_points:<4} iters={max_iter:<5} "
                f"sequential {row['seq_runs_per_cpu_s']:8.2f} "
                f"runs/s ({n_seq} runs)  batched {row['batch_runs_per_cpu_s']:8.2f} runs/s ({n_bat} runs)  "
                f"x{row['speedup']:.1f}  mean iterations {row['seq_mean_iter']:.0f} / {row['batch_mean_iter']:.0f}"
                + ("" if same is None else f"  end points: identical {same}, max |diff| {diff:.1e}"),
                flush=True,
            )
    return rows


# runs with older source trees too (--baseline-src): only names that every version has
JOB_SCRIPT = """
import sys, time
from dlgeom.study.config import cell_ids
from dlgeom.study.landscape_run import run_landscape
from dlgeom.synthetic import make_clustered
key, n, L, max_iter, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
q, theta, r = key.split("/")
theta = None if theta == "thetaregular" else float(theta[5:])
data = make_clustered(int(q[1:]), n, float(r[1:]), theta, "uniform", seed=[2309, *cell_ids(key), 0, 0])
c = time.process_time()
out = run_landscape(data, L, runs, ("he",), (1e-4, 1e-1), ("lbfgs", "gd", "adam"), max_iter, (2309, 1), shape=False)
print(len(out["rows"]), time.process_time() - c)
"""


def bench_baseline_job(src, key, n_per_class, L, max_iter, runs):
    """The same job with another source tree (e.g. the code before batching), in a subprocess."""
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(src)}
    res = subprocess.run(
        [sys.executable, "-c", JOB_SCRIPT, key, str(n_per_class), str(L), str(max_iter), str(runs)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    n, cpu = res.stdout.split()
    return {"runs": int(n), "cpu_s": float(cpu), "runs_per_cpu_s": int(n) / float(cpu), "src": str(src)}


def bench_landscape_job(key, n_per_class, L, max_iter, runs, baseline_src=None):
    """One `dlgeom landscape --starts he --no-shape` job (optimiser runs and end-point analysis)."""
    from dlgeom.batched import fused_unavailable
    from dlgeom.study.landscape_run import run_landscape

    data = cell_data(key, n_per_class)
    out = {"cell": key, "N": data.n_points, "L": L, "max_iter": max_iter, "runs_per_optimiser": runs}
    if baseline_src:
        out["baseline"] = bench_baseline_job(baseline_src, key, n_per_class, L, max_iter, runs)
    engines = ("sequential", "batched") + (() if fused_unavailable(data.n_classes, L) else ("fused",))
    for engine in engines:
        res, c, w = timed(
            lambda engine=engine: run_landscape(
                data,
                L,
                runs,
                ("he",),
                (1e-4, 1e-1),
                ("lbfgs", "gd", "adam"),
                max_iter,
                (BASE_SEED, 1),
                shape=False,
                engine=engine,
            )
        )
        out[engine] = {"runs": len(res["rows"]), "cpu_s": c, "wall_s": w, "runs_per_cpu_s": len(res["rows"]) / c}
    seq = out["sequential"]["runs_per_cpu_s"]
    for engine in engines[1:]:
        out[f"speedup_{engine}"] = out[engine]["runs_per_cpu_s"] / seq
    print(
        f"landscape job {key} (he, 3 optimisers x {runs} runs, {max_iter} iterations, with end-point analysis): "
        + ", ".join(f"{e} {out[e]['runs_per_cpu_s']:.2f} runs/s" for e in engines)
        + "; "
        + ", ".join(f"{e} x{out[f'speedup_{e}']:.1f}" for e in engines[1:]),
        flush=True,
    )
    if baseline_src:
        b = out["baseline"]["runs_per_cpu_s"]
        for engine in engines[1:]:
            out[f"speedup_{engine}_vs_baseline"] = out[engine]["runs_per_cpu_s"] / b
        print(
            f"  the same job with the sources in {baseline_src}: {b:.2f} runs/s; "
            + ", ".join(f"{e} x{out[f'speedup_{e}_vs_baseline']:.1f}" for e in engines[1:]),
            flush=True,
        )
    return out


def bench_kernel(key, n_per_class, L, runs=256, repeats=20):
    """The ceiling of the batched pass: one C² + gradient evaluation of ``runs`` networks, against
    its stacked matrix products alone (the same shapes and count, no elementwise work).  The
    products' time bounds what any rearrangement of the elementwise passes could reach."""
    from dlgeom.batched import cost_and_grad_batch, evaluation_flops, fused_unavailable, run_chunk_for

    data = cell_data(key, n_per_class)
    q, n = data.n_classes, data.n_points
    X0, _ = starts(q, L, runs)
    r = run_chunk_for(n, q)
    rng = np.random.default_rng(0)
    W, H, G = rng.standard_normal((r, q, q)), rng.standard_normal((r, q, n)), rng.standard_normal((r, q, n))
    Z = np.empty((r, q, n))

    def products():  # per run chunk: L+1 forward, L back-propagated, L+1 weight-gradient products
        for _ in range(runs // r):
            for _ in range(2 * L + 1):
                np.matmul(W, H, out=Z)
            for _ in range(L + 1):
                np.matmul(G, H.transpose(0, 2, 1))

    def best(fn):
        fn()
        times = []
        for _ in range(repeats):
            c = time.process_time()
            fn()
            times.append(time.process_time() - c)
        return min(times)

    t_eval = best(lambda: cost_and_grad_batch(X0, data, q, L))
    t_mm = best(products)
    flops = runs * evaluation_flops(n, q, L)
    row = {
        "cell": key,
        "N": n,
        "Q": q,
        "L": L,
        "runs": runs,
        "run_chunk": r,
        "eval_us_per_run": 1e6 * t_eval / runs,
        "products_us_per_run": 1e6 * t_mm / runs,
        "eval_gflops": flops / t_eval / 1e9,
        "products_gflops": flops / t_mm / 1e9,
        "ceiling_speedup": t_eval / t_mm,
    }
    if not fused_unavailable(q, L):
        from dlgeom import _fused

        t_fused = best(lambda: cost_and_grad_batch(X0, data, q, L, kernel="fused"))
        row.update(
            fused_us_per_run=1e6 * t_fused / runs,
            fused_gflops=flops / t_fused / 1e9,
            fused_speedup=t_eval / t_fused,
            fused_simd_width=_fused.SIMD_WIDTH,
        )
    print(
        f"kernel {key} N={n} L={L}: one evaluation {row['eval_us_per_run']:.1f} us/run "
        f"({row['eval_gflops']:.1f} GFlop/s in the products' count); the matrix products alone "
        f"{row['products_us_per_run']:.1f} us/run ({row['products_gflops']:.1f} GFlop/s): with every elementwise "
        f"pass free the evaluation would be at most x{row['ceiling_speedup']:.2f} faster",
        flush=True,
    )
    if "fused_us_per_run" in row:
        print(
            f"  fused kernel ({row['fused_simd_width']} doubles a vector): {row['fused_us_per_run']:.1f} us/run "
            f"({row['fused_gflops']:.1f} GFlop/s), x{row['fused_speedup']:.1f} the numpy kernel",
            flush=True,
        )
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a quarter of the runs (a smoke run)")
    ap.add_argument("--skip-job", action="store_true", help="skip the whole-job comparisons")
    ap.add_argument(
        "--paper-job-runs",
        type=int,
        default=256,
        help="runs per optimiser of the paper-size landscape job (default 256: one full batch, as in "
        "the study's 1000-run jobs; the sequential side takes about 4.5 min per engine)",
    )
    ap.add_argument("--out", default=None, help="also write the figures to this JSON file")
    ap.add_argument(
        "--baseline-src",
        default=None,
        help="a src/ directory of older code (e.g. `git archive e4971cc src | tar -x -C /tmp/base`, then "
        "/tmp/base/src): the landscape job is also timed with it, in a subprocess",
    )
    args = ap.parse_args()
    kernel = [bench_kernel(key, n, L) for key, n, L, *_ in CASES.values()]
    rows = []
    for name, (key, n, L, mi, n_seqs, n_bat) in CASES.items():
        if args.quick:
            n_seqs, n_bat = tuple(max(2, k // 4) for k in n_seqs), max(8, n_bat // 4)
        rows += bench_optimisers(name, key, n, L, mi, n_seqs, n_bat)
    job = paper_job = None
    if not args.skip_job:
        job = bench_landscape_job("Q3/theta3.4/r0.1", 60, 3, 500, 32 if args.quick else 128, args.baseline_src)
        paper_job = bench_landscape_job(
            "Q4/theta2.8/r0.3", 200, 4, 5000, 16 if args.quick else args.paper_job_runs, args.baseline_src
        )
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(
            json.dumps(
                {"kernel": kernel, "optimisers": rows, "landscape_job": job, "landscape_job_paper": paper_job}, indent=2
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
