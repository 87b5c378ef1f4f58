"""Benchmark: global construction (geometry checks included) + one verification pass, against
one forward pass of the same network over the same data; peak memory against the data size.

    python benchmarks/bench_core.py [--n 1000000] [--q 10] [--layers 10] [--repeats 3]

Prints a table and writes results/benchmarks/core.json.  Times are the best of --repeats runs.
Peak memory is measured with tracemalloc (numpy reports its allocations there) and excludes the
dataset itself, which exists before the construction starts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import tracemalloc
from pathlib import Path

import numpy as np

import dlgeom


def best_time(fn, repeats):
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def peak_bytes(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="total number of points N")
    ap.add_argument("--q", type=int, default=10, help="classes Q")
    ap.add_argument("--layers", type=int, default=10, help="hidden layers L")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="results/benchmarks/core.json")
    args = ap.parse_args()

    data = dlgeom.make_clustered(args.q, args.n // args.q, 0.05, seed=0)
    con = dlgeom.construct_global(data, args.layers)

    def construct_and_verify():
        c = dlgeom.construct_global(data, args.layers)  # geometry + assumptions inside
        rep = dlgeom.assumptions(c.geometry)
        return dlgeom.cost(c.network, data), rep

    t_fwd, _ = best_time(lambda: con.network.forward(data.X), args.repeats)
    t_con, (c, rep) = best_time(construct_and_verify, args.repeats)
    mem_fwd = peak_bytes(lambda: con.network.forward(data.X))
    mem_con = peak_bytes(construct_and_verify)
    data_bytes = data.X.nbytes + data.y.nbytes
    row = {
        "N": data.n_points,
        "Q": args.q,
        "L": args.layers,
        "cost": c,
        "assumptions_hold": rep.all_hold,
        "forward_s": t_fwd,
        "construct_verify_s": t_con,
        "time_ratio": t_con / t_fwd,
        "data_MB": data_bytes / 2**20,
        "peak_construct_verify_MB": mem_con / 2**20,
        "peak_forward_MB": mem_fwd / 2**20,
        "memory_ratio": mem_con / data_bytes,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {np.__version__}",
    }
    width = max(map(len, row))
    for k, v in row.items():
        print(f"{k:<{width}}  {v:.4g}" if isinstance(v, float) else f"{k:<{width}}  {v}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(row, indent=2) + "\n")


if __name__ == "__main__":
    main()
