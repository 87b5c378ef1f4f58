"""Benchmark: per-item cost of the collapse stage (NC of one end point, one width Q+1 escape test,
the constructed networks of one cell) on data of the default study's size, and the job time it
adds to a study with the given counts (defaults: the committed default study's landscape tables).
Prints only.

    python benchmarks/bench_collapse.py [--n 60] [--runs 12] [--minima 146] [--endpoints 4100] [--cells 152]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from dlgeom.study.collapse_run import read_endpoints, run_collapse_constructed, run_collapse_landscape, write_endpoints
from dlgeom.study.landscape_run import run_landscape
from dlgeom.synthetic import make_clustered


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=60, help="points per class (default study: 60)")
    ap.add_argument("--runs", type=int, default=12, help="landscape runs per start to produce end points")
    ap.add_argument("--minima", type=int, default=146, help="distinct certified minima of the study")
    ap.add_argument("--endpoints", type=int, default=4100, help="zero-cost + certified end points of the study")
    ap.add_argument("--cells", type=int, default=152, help="grid cells (constructed networks)")
    ap.add_argument("--embeddings", type=int, default=3)
    args = ap.parse_args()
    import tempfile
    from pathlib import Path

    per_nc, per_test = [], []
    for q in (2, 3):
        data = make_clustered(q, args.n, 0.1, seed=[q])
        out = run_landscape(
            data,
            q,
            runs=args.runs,
            starts=("he", "global"),
            rhos=(1e-4, 0.1),
            optimisers=("lbfgs",),
            max_iter=500,
            seed=(q,),
            shape=False,
            cell_key=f"Q{q}",
        )
        with tempfile.TemporaryDirectory() as tmp:
            ep = read_endpoints(write_endpoints(Path(tmp) / "e.npz", out["endpoint_params"], out["rows"]))
        doc = json.loads(json.dumps({"rows": out["rows"]}, default=float))
        t0 = time.perf_counter()
        res = run_collapse_landscape(data, [doc], [ep], f"Q{q}", seed=[0], opt_iter=100, n_dirs=16)
        total = time.perf_counter() - t0
        t1 = time.perf_counter()
        run_collapse_landscape(data, [doc], [ep], f"Q{q}", seed=[0], embeddings=("zero",), opt_iter=0, n_dirs=0)
        n_nc = res["n_zero"] + res["n_certified"]
        t_nc = (time.perf_counter() - t1) / max(n_nc, 1)  # NC dominated (the escape tests are trivial here)
        t_test = (total - t_nc * n_nc) / max(len(res["width_rows"]), 1)
        per_nc.append(t_nc)
        per_test.append(t_test)
        esc = sum(r["escapable"] for r in res["width_rows"])
        print(
            f"Q={q}: {n_nc} end points for NC ({t_nc * 1e3:.1f} ms each), {len(res['width_rows'])} escape tests "
            f"({t_test * 1e3:.0f} ms each, {esc} escapable)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        from dlgeom.data import save_dataset

        for k in range(4):
            d = Path(tmp) / f"c{k}"
            d.mkdir()
            save_dataset(make_clustered(3 + k % 3, args.n, 0.1, seed=[k]), d / "train_0.npz")
        t0 = time.perf_counter()
        run_collapse_constructed([(f"c{k}", Path(tmp) / f"c{k}") for k in range(4)])
        t_cell = (time.perf_counter() - t0) / 4
    print(f"constructed networks: {t_cell * 1e3:.0f} ms per cell")
    nc = args.endpoints * float(np.mean(per_nc))
    tests = args.minima * args.embeddings * float(np.mean(per_test))
    cons = args.cells * t_cell
    start = 4 * 1.0 + 1.0 + 2 * 3.0  # Python start-up per job; tables; figures (measured on the tiny study)
    print(
        f"estimate for {args.endpoints} end points, {args.minima} minima x {args.embeddings} embeddings, "
        f"{args.cells} cells: NC {nc:.0f} s + escape tests {tests:.0f} s + constructed {cons:.0f} s + "
        f"start-up/tables/figures ~{start:.0f} s = {nc + tests + cons + start:.0f} s of job time"
    )


if __name__ == "__main__":
    main()
