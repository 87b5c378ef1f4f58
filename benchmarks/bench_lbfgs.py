"""Benchmark: fused L-BFGS compiled beside the kernel (dlgeom._fused.lbfgs) against the fused
L-BFGS before it (the numpy loop on the fused kernel), side by side in one process.

Runs per CPU-second of ``optimise_batch(method="lbfgs", kernel="fused")`` on the paper batch
(cell Q4/θ2.8/r0.3, 200 points per class (N = 800), L = 4, 5000 iterations, He starts), in
batches of 256 runs as a landscape job runs them, for the baseline and the new code from the same
starts; repetitions interleave the two (the order alternates) and the medians are compared, with
the load average before and after every timing (the machine may be shared).  Then the outcomes
of the two: endings (χ² test over the messages), the fraction at zero cost (Fisher's exact test),
the end-point levels (χ² test, rare levels pooled) and the runs that reach the same level.

The baseline is the code of ``--baseline-src`` (a src/ directory of an older checkout with its
compiled kernel built, e.g. ``git clone . /tmp/base && cd /tmp/base && python setup.py build_ext
--inplace``, then ``--baseline-src /tmp/base/src``), imported in this process under another package
name; without it, the numpy L-BFGS loop of this tree on the fused kernel (the same code).

    OMP_NUM_THREADS=1 python benchmarks/bench_lbfgs.py [--runs 512] [--repeats 3] [--baseline-src DIR] [--out FILE.json]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported: one core

import argparse  # noqa: E402
import importlib  # noqa: E402
import importlib.util  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from dlgeom import batched  # noqa: E402
from dlgeom.jsonutil import write_json  # noqa: E402
from dlgeom.landscape import classify_endpoint, init_random, predicted_levels  # noqa: E402
from dlgeom.local_minima import analyse_patterns  # noqa: E402
from dlgeom.study.config import cell_ids  # noqa: E402
from dlgeom.study.perf_figures import _cpu_model as cpu_model  # noqa: E402
from dlgeom.study.seeds import seed_list  # noqa: E402

BASE_SEED = 2309
CELL, N_PER_CLASS, L, MAX_ITER, BATCH = "Q4/theta2.8/r0.3", 200, 4, 5000, 256


def make_data(pkg):
    """Replicate 0 of the paper cell, as `dlgeom make-data` writes it, with package ``pkg``'s Dataset."""
    q, theta, r = CELL.split("/")
    return pkg.make_clustered(
        int(q[1:]),
        N_PER_CLASS,
        float(r[1:]),
        float(theta[5:]),
        "uniform",
        seed=seed_list([BASE_SEED, *cell_ids(CELL)], 0, 0),
    )


def he_starts(q, n, seed=7):
    seqs = np.random.SeedSequence(seed).spawn(n)
    return np.stack([init_random(q, L, np.random.default_rng(s), "he") for s in seqs])


def load_baseline(src: str):
    """The package dlgeom of ``src`` imported as ``dlgeom_baseline`` (its modules import each other
    relatively, so they stay in that copy)."""
    pkg_dir = Path(src).resolve() / "dlgeom"
    if not (pkg_dir / "__init__.py").is_file():
        raise SystemExit(f"--baseline-src: {src} has no dlgeom/__init__.py")
    spec = importlib.util.spec_from_file_location(
        "dlgeom_baseline", pkg_dir / "__init__.py", submodule_search_locations=[str(pkg_dir)]
    )
    mod = importlib.util.module_from_spec(spec)
    sys.modules["dlgeom_baseline"] = mod
    spec.loader.exec_module(mod)
    base = importlib.import_module("dlgeom_baseline.batched")
    if base.fused_unavailable(4, L):
        raise SystemExit(f"--baseline-src: {base.fused_unavailable(4, L)} (build it in that checkout)")
    return mod, base


def numpy_loop_here(data, X, max_iter):
    """The fused L-BFGS before the compiled loop: batched._lbfgs on the fused kernel (this tree)."""
    q, Lh = data.n_classes, L
    runs = batched._Runs(len(X), X.shape[1])

    def fg(Z, idx):
        runs.n_evals[idx] += 1
        return batched._evaluate(Z, data, q, Lh, "fused")

    t0 = time.perf_counter()
    batched._lbfgs(fg, X.copy(), runs, max_iter, 1e-10, 1e-24, 20)
    return runs.result(t0)


def timed_batches(fn, X):
    """``fn`` on batches of BATCH runs; the concatenated results and the CPU seconds."""
    c = time.process_time()
    outs = [fn(X[i : i + BATCH]) for i in range(0, len(X), BATCH)]
    cpu = time.process_time() - c
    keys = ("x", "cost", "n_iter", "n_evals", "status", "message")
    return {k: np.concatenate([getattr(o, k) for o in outs]) for k in keys}, cpu


def compare_outcomes(data, new, old):
    levels = predicted_levels(data.Y, analyse_patterns(data, L, n_mu_samples=0))
    lev_n, lev_o = ([classify_endpoint(c, levels, 1e-6) for c in r["cost"]] for r in (new, old))
    R = len(lev_n)
    names = sorted(set(new["message"]) | set(old["message"]))
    t_msg = np.array([[int(np.sum(r["message"] == k)) for k in names] for r in (new, old)])
    zn, zo = (sum(c == "zero" for c, _ in lev) for lev in (lev_n, lev_o))
    lnames = sorted({n or "zero" for _, n in lev_n + lev_o})
    t_lev = np.array([[sum((n or "zero") == k for _, n in lev) for k in lnames] for lev in (lev_n, lev_o)])
    common = t_lev.sum(axis=0) >= 10
    pooled = np.column_stack([t_lev[:, common], t_lev[:, ~common].sum(axis=1)])
    pooled = pooled[:, pooled.sum(axis=0) > 0]
    return {
        "runs": R,
        "messages": names,
        "messages_table": t_msg.tolist(),
        "messages_chi2_p": float(stats.chi2_contingency(t_msg[:, t_msg.sum(axis=0) > 0])[1]),
        "status_new": dict(Counter(map(str, new["status"]))),
        "status_baseline": dict(Counter(map(str, old["status"]))),
        "zero_new": int(zn),
        "zero_baseline": int(zo),
        "zero_fisher_p": float(stats.fisher_exact([[zn, R - zn], [zo, R - zo]])[1]),
        "levels": lnames,
        "levels_table": t_lev.tolist(),
        "levels_chi2_p": float(stats.chi2_contingency(pooled)[1]) if pooled.shape[1] >= 2 else None,
        "same_level_fraction": float(np.mean([a == b for a, b in zip(lev_n, lev_o)])),
        "same_n_iter_fraction": float(np.mean(new["n_iter"] == old["n_iter"])),
        "mean_iter_new": float(new["n_iter"].mean()),
        "mean_iter_baseline": float(old["n_iter"].mean()),
        "mean_evals_new": float(new["n_evals"].mean()),
        "mean_evals_baseline": float(old["n_evals"].mean()),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=512, help="He starts (default 512: two batches of 256)")
    ap.add_argument("--repeats", type=int, default=3, help="timed repetitions of each side (default 3)")
    ap.add_argument("--max-iter", type=int, default=MAX_ITER, help=f"iterations (default {MAX_ITER})")
    ap.add_argument("--baseline-src", default=None, help="a src/ directory of the code to compare against")
    ap.add_argument("--out", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args()
    if args.runs < 1 or args.repeats < 1 or args.max_iter < 1:
        raise SystemExit("--runs, --repeats and --max-iter: expected positive integers")
    if batched.fused_unavailable(4, L):
        raise SystemExit(batched.fused_unavailable(4, L))
    import dlgeom

    data = make_data(dlgeom)
    X = he_starts(data.n_classes, args.runs)
    if args.baseline_src:
        base_pkg, base = load_baseline(args.baseline_src)
        data_b = make_data(base_pkg)
        assert np.array_equal(data_b.X, data.X)

        def baseline(Xb):
            return base.optimise_batch(data_b, Xb, L, "lbfgs", max_iter=args.max_iter, kernel="fused")

        baseline_name = f"optimise_batch(kernel='fused') of {args.baseline_src}"
    else:

        def baseline(Xb):
            return numpy_loop_here(data, Xb, args.max_iter)

        baseline_name = "the numpy L-BFGS loop of this tree on the fused kernel"

    def new(Xb):
        return batched.optimise_batch(data, Xb, L, "lbfgs", max_iter=args.max_iter, kernel="fused")

    sides = {"baseline": baseline, "new": new}
    timings = {"baseline": [], "new": []}
    results = {}
    print(f"CPU {cpu_model()}; {args.runs} He starts, cell {CELL}, N = {data.n_points}, L = {L}, {args.max_iter} it.")
    print(f"baseline: {baseline_name}; new: optimise_batch(kernel='fused') of this tree", flush=True)
    for rep in range(args.repeats):
        for name in ("baseline", "new") if rep % 2 == 0 else ("new", "baseline"):
            load0 = os.getloadavg()[0]
            res, cpu = timed_batches(sides[name], X)
            load1 = os.getloadavg()[0]
            if name in results:  # every repetition reaches the same end points
                assert all(np.array_equal(res[k], results[name][k]) for k in res), name
            results[name] = res
            timings[name].append({"cpu_s": cpu, "runs_per_cpu_s": args.runs / cpu, "load": [load0, load1]})
            print(
                f"  repetition {rep + 1} {name:<8} {args.runs / cpu:8.2f} runs per CPU-second "
                f"({cpu:.1f} CPU-s; load average {load0:.2f} -> {load1:.2f})",
                flush=True,
            )
    med = {k: float(np.median([t["runs_per_cpu_s"] for t in v])) for k, v in timings.items()}
    outcome = compare_outcomes(data, results["new"], results["baseline"])
    speedup = med["new"] / med["baseline"]
    print(
        f"median runs per CPU-second: baseline {med['baseline']:.2f}, new {med['new']:.2f}: x{speedup:.2f}",
        flush=True,
    )
    print(
        f"outcomes over {args.runs} runs (new / baseline): statuses {outcome['status_new']} / "
        f"{outcome['status_baseline']}; endings chi2 p = {outcome['messages_chi2_p']:.3f}; zero cost "
        f"{outcome['zero_new']} / {outcome['zero_baseline']} (Fisher p = {outcome['zero_fisher_p']:.3f}); "
        f"levels chi2 p = {outcome['levels_chi2_p']:.3f}; same level in "
        f"{100 * outcome['same_level_fraction']:.1f} % of the runs; mean iterations "
        f"{outcome['mean_iter_new']:.0f} / {outcome['mean_iter_baseline']:.0f}",
        flush=True,
    )
    if args.out:
        write_json(
            {
                "cpu": cpu_model(),
                "cell": CELL,
                "N": data.n_points,
                "L": L,
                "max_iter": args.max_iter,
                "runs": args.runs,
                "batch": BATCH,
                "repeats": args.repeats,
                "baseline": baseline_name,
                "timings": timings,
                "median_runs_per_cpu_s": med,
                "speedup": speedup,
                "outcomes": outcome,
            },
            args.out,
        )


if __name__ == "__main__":
    main()
