"""Benchmark: one analytic gradient of C² against one forward pass (N = 10^4, Q = 5, L = 5 by
default), best of --repeats.  Prints the table and writes results/benchmarks/gradient.json.

    python benchmarks/bench_gradient.py [--n 10000] [--q 5] [--layers 5] [--repeats 200]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import dlgeom


def best(fn, repeats):
    t_best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        t_best = min(t_best, time.perf_counter() - t)
    return t_best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--q", type=int, default=5)
    ap.add_argument("--layers", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--out", default="results/benchmarks/gradient.json")
    args = ap.parse_args()
    data = dlgeom.make_clustered(args.q, args.n // args.q, 0.1, seed=0)
    net = dlgeom.construct_global(data, args.layers).network
    t_fwd = best(lambda: net.forward(data.X), args.repeats)
    t_cost = best(lambda: dlgeom.cost_sq(net, data), args.repeats)
    t_grad = best(lambda: dlgeom.cost_and_grad(net, data), args.repeats)
    row = {
        "N": data.n_points,
        "Q": args.q,
        "L": args.layers,
        "forward_ms": 1e3 * t_fwd,
        "cost_ms": 1e3 * t_cost,
        "gradient_ms": 1e3 * t_grad,
        "gradient_over_forward": t_grad / t_fwd,
    }
    for k, v in row.items():
        print(f"{k:<22} {v:.4g}" if isinstance(v, float) else f"{k:<22} {v}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(row, indent=2) + "\n")


if __name__ == "__main__":
    main()
