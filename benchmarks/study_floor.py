"""How near a finished study run is to its floor: where its job time goes, what the landscape
optimisers' work costs at the fused kernel's measured rate, and what fewer GD/Adam runs would save.

    python benchmarks/study_floor.py [--workdir .] [--study paper] [--cores 2] [--out FILE.json]

Reads, under <workdir>/results/<study>/: the per-job benchmark files (benchmarks/jobs/**.tsv, job
seconds per stage), the landscape jobs' logs (logs/landscape/**/runs_*.log: the seconds each
optimiser took in each job, from its progress lines), the end-point table
(tables/landscape_endpoints.csv: iterations per run) and the grid settings (points per class).

The floor of the landscape stage is its iterations times the time of one evaluation of C² and its
gradient on the fused kernel, measured here for every cell shape (Q, L, N) on a full batch of 256
runs: every iteration of GD, Adam and L-BFGS evaluates at least once, so this is a lower bound
(GD's backtracking and L-BFGS's line search evaluate more).  With --peak (the JSON of
bench_peak_flops.py for this CPU), it also prints the floor of the arithmetic itself: the flops
of those evaluations (dlgeom.batched.evaluation_flops) at 100 % of the core's peak without FMA,
the ceiling of a kernel that gives the same bytes on every x86-64 CPU.  The other stages are counted as
measured.  The projection scales the GD and Adam seconds of every landscape job by the given
fraction of runs (their time is linear in the runs: one batch, the same iterations per run on
average) and divides the study's job-seconds by the cores, a lower bound of the wall time.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported: one core, as the study's jobs

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from dlgeom.batched import cost_and_grad_batch, evaluation_flops  # noqa: E402
from dlgeom.landscape import init_random  # noqa: E402
from dlgeom.study.jobs import parse_cell_key  # noqa: E402
from dlgeom.study.perf_figures import _cpu_model as cpu_model  # noqa: E402
from dlgeom.synthetic import make_clustered  # noqa: E402

PROGRESS = re.compile(r"\[dlgeom\] (\S+) (lbfgs|gd|adam): \d+/\d+ runs done, ([\d.]+) s")
WROTE = re.compile(r"wrote \S+ in ([\d.]+) s")
OPTIMISERS = ("lbfgs", "gd", "adam")


def job_seconds(run: Path) -> pd.DataFrame:
    """One row per job: its stage (the first folder under benchmarks/jobs) and its seconds."""
    jobdir = run / "benchmarks" / "jobs"
    files = sorted(jobdir.rglob("*.tsv"))
    if not files:
        raise SystemExit(f"study_floor: no job benchmark files under {jobdir}: run the study first")
    return pd.DataFrame(
        [
            {
                "stage": f.relative_to(jobdir).parts[0].removesuffix(".tsv"),
                "s": float(pd.read_csv(f, sep="\t")["s"].iloc[0]),
            }
            for f in files
        ]
    )


def optimiser_seconds(log: Path) -> dict[str, float]:
    """Seconds per optimiser in one landscape job (progress lines are cumulative), plus the rest
    of the command ('analysis': end points, Hessians, paths; from the 'wrote ... in' line)."""
    out = dict.fromkeys(OPTIMISERS, 0.0)
    last_t = 0.0
    text = log.read_text()
    for _start, opt, t in PROGRESS.findall(text):  # each line closes a batch of that optimiser
        out[opt] += float(t) - last_t
        last_t = float(t)
    wrote = WROTE.findall(text)
    out["analysis"] = max(float(wrote[-1]) - last_t, 0.0) if wrote else 0.0
    return out


def eval_seconds(key: str, q: int, L: int, n_per_class: int, runs: int = 256, repeats: int = 5) -> float:
    """Seconds of CPU time per run for one fused evaluation of C² and its gradient, best of repeats."""
    cell = parse_cell_key(key)
    theta = None if cell.theta == "regular" else float(cell.theta)
    data = make_clustered(q, n_per_class, float(cell.delta_ratio), theta, "uniform", seed=[0])
    seqs = np.random.SeedSequence(0).spawn(runs)
    X = np.stack([init_random(q, L, np.random.default_rng(s), "he") for s in seqs])
    cost_and_grad_batch(X, data, q, L, kernel="fused")
    best = np.inf
    for _ in range(repeats):
        t = time.process_time()
        cost_and_grad_batch(X, data, q, L, kernel="fused")
        best = min(best, time.process_time() - t)
    return best / runs


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", default=".", help="the study's working directory")
    ap.add_argument("--study", default="paper", help="the study (its folder under results/)")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.4, 0.25], help="GD/Adam run fractions to project")
    ap.add_argument("--peak", default=None, help="bench_peak_flops.py's JSON for this CPU: adds the arithmetic floor")
    ap.add_argument("--out", default=None, help="also write the numbers to this JSON file")
    args = ap.parse_args(argv)
    run = Path(args.workdir) / "results" / args.study
    jobs = job_seconds(run)
    by_stage = jobs.groupby("stage")["s"].sum().sort_values(ascending=False)
    total = float(jobs["s"].sum())

    opt_s = {k: 0.0 for k in (*OPTIMISERS, "analysis")}
    for log in sorted((run / "logs" / "landscape").rglob("runs_*.log")):
        for k, v in optimiser_seconds(log).items():
            opt_s[k] += v

    n_per_class = json.loads((run / "settings" / "grid.json").read_text())["n_per_class"]
    end = pd.read_csv(run / "tables" / "landscape_endpoints.csv", usecols=["cell", "Q", "L", "optimiser", "n_iter"])
    iters = end.groupby(["cell", "Q", "L", "optimiser"])["n_iter"].sum().reset_index()
    per_eval = {
        (c, q, L): eval_seconds(c, int(q), int(L), n_per_class)
        for c, q, L in iters[["cell", "Q", "L"]].drop_duplicates().itertuples(index=False)
    }
    iters["floor_s"] = [
        per_eval[(c, q, L)] * n for c, q, L, n in iters[["cell", "Q", "L", "n_iter"]].itertuples(index=False)
    ]
    floor = iters.groupby("optimiser")["floor_s"].sum()
    iters["flops"] = [
        float(n) * evaluation_flops(n_per_class * int(q), int(q), int(L))
        for q, L, n in iters[["Q", "L", "n_iter"]].itertuples(index=False)
    ]
    flops = iters.groupby("optimiser")["flops"].sum()

    cores = args.cores
    cpu, load = cpu_model(), os.getloadavg()[0]
    print(f"kernel timed on one thread of {cpu} (load average {load:.1f}); the jobs ran on the machine of the run")
    print(
        f"{args.study} study: {len(jobs)} jobs, {total:.0f} job-seconds ({total / cores / 60:.1f} min on {cores} cores)"
    )
    print("  job-seconds by stage: " + ", ".join(f"{s} {v:.0f}" for s, v in by_stage.items()))
    print("  landscape jobs, seconds by optimiser: measured (with its runs' end-point analysis) | kernel floor")
    for opt in OPTIMISERS:
        n = int(iters.loc[iters["optimiser"] == opt, "n_iter"].sum())
        f = float(floor.get(opt, 0.0))
        ratio = opt_s[opt] / f if f else float("nan")
        print(f"    {opt:6s} {opt_s[opt]:8.0f} | {f:8.0f}   {n:,} run-iterations, measured / floor {ratio:.2f}")
    kernel_floor = float(floor.sum())
    print(f"  the landscape's kernel floor alone: {kernel_floor / cores / 60:.1f} min on {cores} cores")
    first_order = opt_s["gd"] + opt_s["adam"]
    peak = None
    if args.peak:
        peak = float(json.loads(Path(args.peak).read_text())["peak_no_fma_gflops"])
        first_order_flops = float(flops.get("gd", 0.0) + flops.get("adam", 0.0))
        at_peak = first_order_flops / (peak * 1e9) / cores
        print(
            f"  GD and Adam's arithmetic ({first_order_flops:.3g} flops) at 100 % of the peak without FMA "
            f"({peak:.1f} GFlop/s per core, {args.peak}): {at_peak / 60:.1f} min on {cores} cores"
        )
    other = total - float(by_stage.get("landscape", 0.0))
    floor_wall = (other + kernel_floor + opt_s["analysis"]) / cores
    print(f"  the study with its landscape at the kernel floor: {floor_wall / 60:.1f} min on {cores} cores")
    projections = []
    for frac in args.fractions:
        s = total - (1 - frac) * first_order
        projections.append({"gd_adam_run_fraction": frac, "job_seconds": s, "wall_lower_bound_s": s / cores})
        print(f"  GD and Adam at {frac:g} runs: {s:.0f} job-seconds, >= {s / cores / 60:.1f} min on {cores} cores")
    out = {
        "study": args.study,
        "cpu": cpu,
        "load_average": load,
        "cores": cores,
        "jobs": len(jobs),
        "job_seconds": total,
        "job_seconds_by_stage": {k: float(v) for k, v in by_stage.items()},
        "landscape_seconds_by_optimiser": opt_s,
        "landscape_floor_seconds_by_optimiser": {k: float(v) for k, v in floor.items()},
        "run_iterations_by_optimiser": {k: int(v) for k, v in iters.groupby("optimiser")["n_iter"].sum().items()},
        "seconds_per_evaluation": {f"{c} L{L}": v for (c, q, L), v in per_eval.items()},
        "landscape_kernel_floor_wall_s": kernel_floor / cores,
        "study_floor_wall_s": floor_wall,
        "projections": projections,
        "landscape_flops_by_optimiser": {k: float(v) for k, v in flops.items()},
    }
    if peak is not None:
        out["peak_no_fma_gflops"] = peak
        out["gd_adam_arithmetic_at_peak_wall_s"] = at_peak
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    return out


if __name__ == "__main__":
    main()
