"""Benchmark: time to cost.  The explicit construction against gradient training (GD, Adam,
L-BFGS from He initialisations) on the same data: wall time to reach C ≤ 1e-3, 1e-6, 1e-10.

    python benchmarks/bench_time_to_cost.py [--quick] [--threads 1] [--out results/benchmarks/time_to_cost.json]

Data: one dataset per (Q, N) from ``make_clustered(Q, N/Q, r = 0.1)``, regular mean simplex,
seed ``SeedSequence([SEED, Q, N])``; L = Q hidden layers.  C is the paper's cost (a norm, not
squared); the optimisers minimise C² with the analytic gradient (``dlgeom.network.cost_and_grad``).

* Construction: ``construct_global(data, Q)`` + ``cost`` (median of repeats).  Its time to
  every threshold is that time when its cost is ≤ the threshold.
* GD: step 0.2/λ_max (λ_max by power iteration, counted in the time), halved whenever a step
  would raise C² (as ``dlgeom.landscape.optimise``).  Adam: lr 1e-3, β = (0.9, 0.999) (the
  study's default).  L-BFGS: scipy L-BFGS-B, maxcor 20, ftol 1e-30 as the study, but gtol 1e-30
  (the study's gtol 1e-10 on the gradient of C² stops it near C ≈ 5e-10, short of 1e-10).
* Every cost evaluation is recorded with its wall-clock time from the start of the run; the time
  to a threshold is the first time an evaluated point has C ≤ threshold.  A run stops at
  C ≤ 1e-10, at its wall-time budget, at its iteration cap, or when the optimiser stops
  ('not reached' is then the answer for the thresholds it did not reach).
* Starts: He initialisation (``landscape.init_random``), several seeds; the best and median
  over seeds are reported.

Goal: the construction reaches C ≤ 1e-10 at least 1000× sooner than the fastest optimiser
reaches 1e-6, wherever an optimiser gets there at all.  --quick: N ≤ 10^4, short budgets
(about a minute).  Prints tables and writes results/benchmarks/time_to_cost.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = 6102023
THRESHOLDS = (1e-3, 1e-6, 1e-10)
OPTIMISERS = ("gd", "adam", "lbfgs")


def _setup_threads(argv):
    threads = "1"
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            threads = argv[i + 1]
        elif a.startswith("--threads="):
            threads = a.split("=", 1)[1]
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[k] = threads


_setup_threads(sys.argv)  # before numpy is imported
sys.path.insert(0, str(ROOT / "src"))

# Imported only now, on purpose: the thread-count variables must be set before numpy (and its
# BLAS) is loaded, and dlgeom needs ROOT / "src" on sys.path.
import numpy as np  # noqa: E402
from scipy.optimize import minimize  # noqa: E402  (imported here: its import time is not a run's)

import dlgeom  # noqa: E402
from dlgeom.construct import construct_global  # noqa: E402
from dlgeom.jsonutil import write_json  # noqa: E402
from dlgeom.landscape import init_random  # noqa: E402
from dlgeom.network import Network, cost, cost_and_grad  # noqa: E402
from dlgeom.study.perf_figures import machine_info  # noqa: E402


class Budget(Exception):
    """Raised inside the objective to stop a run (budget or target reached)."""


class Tracker:
    """The objective with a record of (time, C) of every evaluation and stopping rules."""

    def __init__(self, data, q, L, budget_s, max_evals, target=THRESHOLDS[-1]):
        self.data, self.q, self.L = data, q, L
        self.budget, self.max_evals, self.target2 = budget_s, max_evals, target**2
        self.t0 = time.perf_counter()
        self.times, self.costs = [], []
        self.best = np.inf
        self.first = {thr: None for thr in THRESHOLDS}
        self.stop_reason = None

    def elapsed(self):
        return time.perf_counter() - self.t0

    def fg(self, x, check=True):
        f, g = cost_and_grad(
            Network._from_flat_unchecked(np.ascontiguousarray(x, dtype=np.float64), self.q, self.L), self.data
        )
        t = self.elapsed()
        c = float(np.sqrt(f)) if np.isfinite(f) and f >= 0 else float("inf")
        self.times.append(t)
        self.costs.append(c)
        if c < self.best:
            self.best = c
            for thr in THRESHOLDS:
                if self.first[thr] is None and c <= thr:
                    self.first[thr] = t
        if check:
            if f <= self.target2:
                self.stop_reason = "target reached (C <= 1e-10)"
                raise Budget
            if t > self.budget:
                self.stop_reason = "wall-time budget"
                raise Budget
            if len(self.costs) >= self.max_evals:
                self.stop_reason = "evaluation cap"
                raise Budget
        return f, g


def run_gd(tr: Tracker, x, seed):
    f, g = tr.fg(x)
    # λ_max of the Hessian of C² by power iteration on finite-difference Hessian-vector products
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    v = rng.standard_normal(x.size)
    v /= np.linalg.norm(v)
    h = 1e-6 * max(1.0, np.linalg.norm(x))
    lam = 0.0
    for _ in range(30):
        _, g1 = tr.fg(x + h * v)
        hv = (g1 - g) / h
        lam = float(np.linalg.norm(hv))
        if lam == 0 or not np.isfinite(lam):
            break
        v = hv / lam
    step = 0.2 / lam if lam > 0 else 1e-2
    while True:
        for _ in range(60):
            x_new = x - step * g
            f_new, g_new = tr.fg(x_new)
            if np.isfinite(f_new) and f_new <= f:
                break
            step *= 0.5
        else:
            tr.stop_reason = "no descent step found"
            return
        x, f, g = x_new, f_new, g_new


def run_adam(tr: Tracker, x, lr=1e-3):
    b1, b2, eps = 0.9, 0.999, 1e-12
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    f, g = tr.fg(x)
    it = 0
    while True:
        it += 1
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x = x - lr * (m / (1 - b1**it)) / (np.sqrt(v / (1 - b2**it)) + eps)
        f, g = tr.fg(x)
        if not np.isfinite(f):
            tr.stop_reason = "diverged"
            return


def run_lbfgs(tr: Tracker, x):
    res = minimize(
        tr.fg,
        x,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 10**9, "maxfun": 10**9, "gtol": 1e-30, "ftol": 1e-30, "maxcor": 20},
    )
    tr.stop_reason = f"L-BFGS-B stopped: {res.message}"


def thin_trace(times, costs, n_max=40):
    """The running minimum of C against time, thinned to at most n_max points (log-spaced in
    evaluation index, first and last kept), 4 significant digits (for the figure)."""
    if not times:
        return [], []
    run_min = np.minimum.accumulate(np.asarray(costs))
    idx = np.unique(np.concatenate([[0], np.geomspace(1, len(times), n_max).astype(int) - 1, [len(times) - 1]]))
    return [float(f"{times[i]:.4g}") for i in idx], [float(f"{run_min[i]:.4g}") for i in idx]


def one_run(data, q, L, method, seed, budget_s, max_evals):
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    x0 = init_random(q, L, rng, "he")
    tr = Tracker(data, q, L, budget_s, max_evals)
    try:
        {"gd": lambda: run_gd(tr, x0, seed), "adam": lambda: run_adam(tr, x0), "lbfgs": lambda: run_lbfgs(tr, x0)}[
            method
        ]()
    except Budget:
        pass
    t_trace, c_trace = thin_trace(tr.times, tr.costs)
    return {
        "method": method,
        "seed": list(seed),
        "evals": len(tr.costs),
        "wall_s": tr.elapsed(),
        "final_cost": float(tr.costs[-1]) if tr.costs else None,
        "best_cost": float(tr.best),
        "stop": tr.stop_reason,
        "budget_s": budget_s,
        "time_to": {f"{thr:g}": tr.first[thr] for thr in THRESHOLDS},
        "trace_t": t_trace,
        "trace_c": c_trace,
    }


def time_construction(data, q, repeats):
    ts, c = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        con = construct_global(data, q)
        c = cost(con.network, data)
        ts.append(time.perf_counter() - t)
    return float(np.median(ts)), float(np.min(ts)), float(c), con


def fmt_t(t):
    return "not reached" if t is None else (f"{t * 1e3:.3g} ms" if t < 1 else f"{t:.3g} s")


def summarise(runs):
    """Per optimiser: best and median over seeds of the time to each threshold ('not reached'
    counts as +inf in the median), final cost best/median, fraction of seeds reaching."""
    out = {}
    for m in OPTIMISERS:
        sel = [r for r in runs if r["method"] == m]
        if not sel:
            continue
        entry = {"runs": len(sel)}
        for thr in THRESHOLDS:
            k = f"{thr:g}"
            vals = [r["time_to"][k] for r in sel]
            reached = [v for v in vals if v is not None]
            med = float(np.median([np.inf if v is None else v for v in vals]))
            entry[k] = {
                "best_s": min(reached) if reached else None,
                "median_s": med if np.isfinite(med) else None,
                "reached": f"{len(reached)}/{len(sel)}",
            }
        finals = [r["final_cost"] for r in sel]
        bests = [r["best_cost"] for r in sel]
        entry["final_cost_median"] = float(np.median(finals))
        entry["best_cost_min"] = float(np.min(bests))
        entry["best_cost_median"] = float(np.median(bests))
        entry["evals_median"] = float(np.median([r["evals"] for r in sel]))
        out[m] = entry
    return out


def settings(quick: bool):
    if quick:
        return {
            "Q": [3, 5],
            "N": [1_000, 10_000],
            "budget_s": {1_000: 3.0, 10_000: 4.0},
            "seeds": {1_000: 2, 10_000: 1},
            "con_repeats": 5,
        }
    return {
        "Q": [3, 5, 10],
        "N": [1_000, 10_000, 100_000, 1_000_000],
        "budget_s": {1_000: 6.0, 10_000: 8.0, 100_000: 12.0, 1_000_000: 25.0},
        "seeds": {1_000: 5, 10_000: 3, 100_000: 2, 1_000_000: 1},
        "con_repeats": 7,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="Q ∈ {3, 5}, N ≤ 10^4, short budgets (about a minute)")
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads (set before numpy is imported)")
    ap.add_argument("--r", type=float, default=0.1, help="δ-ratio of the data")
    ap.add_argument("--budget-scale", type=float, default=1.0, help="multiplies every wall-time budget")
    ap.add_argument("--max-evals", type=int, default=200_000, help="cap on cost evaluations per run")
    ap.add_argument("--out", default=str(ROOT / "results" / "benchmarks" / "time_to_cost.json"))
    args = ap.parse_args()
    s = settings(args.quick)
    t_start = time.perf_counter()
    load_start = list(os.getloadavg())
    cases = []
    print(f"{'Q':>3}{'N':>9}  {'method':<13}{'C<=1e-3':>14}{'C<=1e-6':>14}{'C<=1e-10':>14}{'final C':>11}  seeds")
    for q in s["Q"]:
        for n in s["N"]:
            data = dlgeom.make_clustered(q, n // q, args.r, seed=[SEED, q, n])
            budget = s["budget_s"][n] * args.budget_scale
            t_med, t_min, c_con, con = time_construction(data, q, s["con_repeats"] if n < 1_000_000 else 3)
            con_to = {f"{thr:g}": (t_med if c_con <= thr else None) for thr in THRESHOLDS}
            runs = []
            for method in OPTIMISERS:
                for k in range(s["seeds"][n]):
                    runs.append(one_run(data, q, q, method, (SEED, q, n, 100 + k), budget, args.max_evals))
            summ = summarise(runs)
            fastest6 = [summ[m]["1e-06"]["best_s"] for m in OPTIMISERS if summ[m]["1e-06"]["best_s"] is not None]
            fastest6_med = [
                summ[m]["1e-06"]["median_s"] for m in OPTIMISERS if summ[m]["1e-06"]["median_s"] is not None
            ]
            t_fast = min(fastest6) if fastest6 else None
            speedup = (t_fast / t_med) if (t_fast is not None and con_to["1e-10"] is not None) else None
            case = {
                "Q": q,
                "N": data.n_points,
                "N_nominal": n,
                "L": q,
                "r": args.r,
                "data_seed": [SEED, q, n],
                "assumptions_hold": bool(dlgeom.assumptions(con.geometry).all_hold),
                "budget_s": budget,
                "construction": {"time_s": t_med, "time_min_s": t_min, "cost": c_con, "time_to": con_to},
                "optimisers": summ,
                "fastest_optimiser_to_1e-6_s": t_fast,
                "fastest_optimiser_to_1e-6_median_s": min(fastest6_med) if fastest6_med else None,
                "speedup_construction_1e-10_vs_fastest_1e-6": speedup,
                "goal_1000x": (
                    "no optimiser reached 1e-6" if t_fast is None else bool(speedup is not None and speedup >= 1000)
                ),
                "runs": runs,
                "loadavg": list(os.getloadavg()),
            }
            cases.append(case)
            print(
                f"{q:>3}{data.n_points:>9}  {'construction':<13}"
                + "".join(f"{fmt_t(con_to[f'{t:g}']):>14}" for t in THRESHOLDS)
                + f"{c_con:>11.2e}"
            )
            for m in OPTIMISERS:
                e = summ[m]
                cells = []
                for thr in THRESHOLDS:
                    v = e[f"{thr:g}"]
                    cells.append(f"{fmt_t(v['best_s'])}" if v["best_s"] is not None else "not reached")
                print(
                    f"{'':>12}  {m:<13}"
                    + "".join(f"{c:>14}" for c in cells)
                    + f"{e['best_cost_min']:>11.2e}  {e['1e-06']['reached']} reach 1e-6"
                )
            verdict = (
                "no optimiser reached 1e-6 within the budget"
                if t_fast is None
                else f"fastest optimiser to 1e-6 / construction to 1e-10 = {speedup:.3g}x "
                f"({'>= 1000x: met' if speedup >= 1000 else '< 1000x: MISSED'})"
            )
            print(f"{'':>12}  -> {verdict}", flush=True)
    met = [c for c in cases if c["fastest_optimiser_to_1e-6_s"] is not None]
    result = {
        "what": "wall time to C <= 1e-3 / 1e-6 / 1e-10: construction vs GD, Adam, L-BFGS from He starts",
        "thresholds": list(THRESHOLDS),
        "seed_prefix": SEED,
        "r": args.r,
        "theta": "regular",
        "L": "Q",
        "settings": {
            **s,
            "budget_s": {str(k): v * args.budget_scale for k, v in s["budget_s"].items()},
            "seeds": {str(k): v for k, v in s["seeds"].items()},
            "max_evals": args.max_evals,
            "threads": args.threads,
            "adam_lr": 1e-3,
            "gd": "0.2/lambda_max, halved on increase",
            "lbfgs": "L-BFGS-B maxcor 20 gtol 1e-30 ftol 1e-30",
        },
        "quick": args.quick,
        "cases": cases,
        "goal": "construction to 1e-10 at least 1000x sooner than the fastest optimiser to 1e-6",
        "goal_cases_with_optimiser_at_1e-6": len(met),
        "goal_met_in": sum(1 for c in met if c["goal_1000x"] is True),
        "min_speedup": min((c["speedup_construction_1e-10_vs_fastest_1e-6"] for c in met), default=None),
        "wall_s": time.perf_counter() - t_start,
        "loadavg_start": load_start,
        "loadavg_end": list(os.getloadavg()),
        "machine": machine_info(),
    }
    print(
        f"\ngoal (>= 1000x): met in {result['goal_met_in']}/{len(met)} cases where an optimiser reached 1e-6"
        + (f"; smallest speed-up {result['min_speedup']:.3g}x" if met else "")
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_json(result, args.out)
    print(f"wrote {args.out} ({result['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
