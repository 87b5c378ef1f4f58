"""Benchmark: the fused kernel's C² and gradient, and GD and Adam on it, against a baseline
checkout's, side by side in one process, with a check that both give the same bytes.

At the shapes of the paper-grade landscape (Q = L = 2, 3, 4 with 200 points per class, regular
simplex, δ-ratio 0.1; 256 He starts, one batch as a landscape job runs it): CPU microseconds per
network for one evaluation (best of 7), and runs per CPU-second of ``optimise_batch`` with GD and
with Adam (``--max-iter`` iterations, default 500), repetitions interleaved (medians). Every
value and end point of the new code must equal the baseline's bit for bit, or the script stops.

The baseline is the code of ``--baseline-src``, a src/ directory of an older checkout with its
kernel built (``git clone . /tmp/base && cd /tmp/base && git checkout COMMIT && python setup.py
build_ext --inplace``, then ``--baseline-src /tmp/base/src``), imported in this process under
another package name (as in ``bench_lbfgs.py``).

    python benchmarks/bench_kernel.py --baseline-src DIR [--max-iter 500] [--repeats 3] [--out FILE.json]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported: one core

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from bench_landscape_batched import starts as he_starts  # noqa: E402
from bench_lbfgs import load_baseline  # noqa: E402

import dlgeom  # noqa: E402
from dlgeom import batched  # noqa: E402
from dlgeom.jsonutil import write_json  # noqa: E402
from dlgeom.study.perf_figures import _cpu_model as cpu_model  # noqa: E402

SHAPES = [(2, 2), (3, 3), (4, 4)]  # (Q, L) of the paper-grade landscape cells
N_PER_CLASS, RUNS = 200, 256


def eval_us(mod, X, data, q, L, repeats=7):
    """Best CPU microseconds per network of one fused evaluation, and its (f, G)."""
    out = mod.cost_and_grad_batch(X, data, q, L, kernel="fused")
    best = np.inf
    for _ in range(repeats):
        c = time.process_time()
        mod.cost_and_grad_batch(X, data, q, L, kernel="fused")
        best = min(best, time.process_time() - c)
    return 1e6 * best / len(X), out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline-src", required=True, help="a src/ directory of the code to compare against")
    ap.add_argument("--max-iter", type=int, default=500, help="GD and Adam iterations (default 500)")
    ap.add_argument("--repeats", type=int, default=3, help="timed repetitions of each side (default 3)")
    ap.add_argument("--out", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args()
    if args.max_iter < 1 or args.repeats < 1:
        raise SystemExit("--max-iter and --repeats: expected positive integers")
    base_pkg, base = load_baseline(args.baseline_src)
    print(
        f"CPU {cpu_model()}; {RUNS} He starts a shape, {N_PER_CLASS} points a class; load average "
        f"{os.getloadavg()[0]:.2f}",
        flush=True,
    )
    rows = []
    for q, L in SHAPES:
        data = dlgeom.make_clustered(q, N_PER_CLASS, 0.1, seed=1)
        data_b = base_pkg.make_clustered(q, N_PER_CLASS, 0.1, seed=1)
        X, _ = he_starts(q, L, RUNS)
        t_base, (f0, G0) = eval_us(base, X, data_b, q, L)
        t_new, (f1, G1) = eval_us(batched, X, data, q, L)
        if f0.tobytes() != f1.tobytes() or G0.tobytes() != G1.tobytes():
            raise SystemExit(f"Q = {q}, L = {L}: the kernels' values differ")
        row = {"Q": q, "L": L, "N": data.n_points, "eval_us_baseline": t_base, "eval_us_new": t_new}
        for method in ("gd", "adam"):
            rate = {"baseline": [], "new": []}
            ends = {}
            for rep in range(args.repeats):
                for name in ("baseline", "new") if rep % 2 == 0 else ("new", "baseline"):
                    mod, d = (base, data_b) if name == "baseline" else (batched, data)
                    c = time.process_time()
                    res = mod.optimise_batch(d, X, L, method, max_iter=args.max_iter, kernel="fused")
                    rate[name].append(RUNS / (time.process_time() - c))
                    ends[name] = (res.x.tobytes(), res.cost.tobytes(), res.n_iter.tobytes())
            if ends["baseline"] != ends["new"]:
                raise SystemExit(f"Q = {q}, L = {L}, {method}: the end points differ")
            row[f"{method}_runs_per_cpu_s_baseline"] = float(np.median(rate["baseline"]))
            row[f"{method}_runs_per_cpu_s_new"] = float(np.median(rate["new"]))
        rows.append(row)
        print(
            f"  Q = {q}, L = {L}, N = {data.n_points}: one evaluation {t_base:.2f} -> {t_new:.2f} us a network "
            f"(x{t_base / t_new:.2f}); GD {row['gd_runs_per_cpu_s_baseline']:.1f} -> "
            f"{row['gd_runs_per_cpu_s_new']:.1f} "
            f"runs per CPU-s (x{row['gd_runs_per_cpu_s_new'] / row['gd_runs_per_cpu_s_baseline']:.2f}); Adam "
            f"{row['adam_runs_per_cpu_s_baseline']:.1f} -> {row['adam_runs_per_cpu_s_new']:.1f} "
            f"(x{row['adam_runs_per_cpu_s_new'] / row['adam_runs_per_cpu_s_baseline']:.2f}); same bytes",
            flush=True,
        )
    if args.out:
        write_json(
            {
                "cpu": cpu_model(),
                "baseline_src": args.baseline_src,
                "max_iter": args.max_iter,
                "repeats": args.repeats,
                "load_average_end": os.getloadavg()[0],
                "rows": rows,
            },
            args.out,
        )
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
