"""Benchmark: construction + verification against one forward pass, in time and peak memory,
as N, Q and L grow; log-log fits of the exponents.

    python benchmarks/bench_scaling.py [--quick] [--threads 1] [--out results/benchmarks/scaling.json]

"Construction + verification" is ``construct_global(data, L)`` (class means, δ, cone angles, D,
the assumption checks, the layers and the output layer) followed by ``cost(network, data)``; the
reference is one ``Network.forward(data.X)`` of the constructed network on the same data.

Sweeps (δ-ratio r = 0.02 so that the μ-box is non-empty up to Q = 64, regular simplex):
  N ∈ {10^3 … 10^7} at Q = 10, L = 10;  Q ∈ {2 … 64} at N = 10^5, L = Q;
  L ∈ {Q, 2Q, 3Q, 4Q} at Q = 10, N = 10^5;  L ∈ {Q … 4Q} at Q = 64, N = 10^4.
Every size runs in its own process (``--worker``), so that its peak RSS is its own:
* time: median over repeats, construction and forward interleaved in the same loop (the ratio is
  also the median of the per-repeat ratios, robust to other load on the machine);
* peak extra RSS: VmHWM − VmRSS after the data exist (the high-water mark is reset through
  /proc/self/clear_refs), for construction + verification and for one forward pass; the peak
  RSS of the whole process (data generation included) is reported too;
* peak traced bytes (tracemalloc, numpy's allocations) for both.
BLAS runs with --threads threads (default 1, as in the study's jobs).  --quick: N ≤ 10^5,
Q ≤ 16, fewer repeats (about a minute).  Prints tables, writes results/benchmarks/scaling.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
R_DEFAULT = 0.02
SEED = 20230919


def sweeps(quick: bool) -> list[dict]:
    if quick:
        ns, qs, ls, big = [1_000, 10_000, 100_000], [2, 4, 8, 16], [10, 20, 30, 40], []
    else:
        ns, qs, ls = [1_000, 10_000, 100_000, 1_000_000, 10_000_000], [2, 4, 8, 16, 32, 64], [10, 20, 30, 40]
        big = [64, 128, 192, 256]
    out = [{"sweep": "N", "Q": 10, "N": n, "L": 10} for n in ns]
    out += [{"sweep": "Q", "Q": q, "N": 100_000, "L": q} for q in qs]
    out += [{"sweep": "L", "Q": 10, "N": 100_000, "L": L} for L in ls]
    out += [{"sweep": "L_Q64", "Q": 64, "N": 10_000, "L": L} for L in big]
    return out


# ---- worker (one size, own process) -------------------------------------------------------------


def _status(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024.0  # kB -> MiB
    return float("nan")


def _reset_hwm() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def worker(q: int, n: int, L: int, r: float, repeats: int, seed: int) -> dict:
    import gc
    import tracemalloc

    import numpy as np

    import dlgeom
    from dlgeom.construct import construct_global
    from dlgeom.geometry import geometry
    from dlgeom.network import cost

    t = time.perf_counter()
    data = dlgeom.make_clustered(q, n // q, r, seed=[seed, q, n])
    t_gen = time.perf_counter() - t
    X = data.X
    peak_generation = _status("VmHWM")  # before any reset: the data generator's peak

    def construct_verify():
        con = construct_global(data, L)
        return con, cost(con.network, data)

    con, c = construct_verify()  # warm-up (imports, caches)
    net = con.network
    net.forward(X)
    gc.collect()

    # peak RSS above what exists once the data are there
    mem = {"peak_rss_generation_MB": peak_generation}
    hwm_after = []
    for name, fn in (("construct_verify", construct_verify), ("forward", lambda: net.forward(X))):
        gc.collect()
        ok = _reset_hwm()
        base = _status("VmRSS")
        fn()
        hwm_after.append(_status("VmHWM"))
        mem[name + "_peak_extra_rss_MB"] = (hwm_after[-1] - base) if ok else float("nan")
        gc.collect()
        tracemalloc.start()
        fn()
        mem[name + "_peak_traced_MB"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    mem["hwm_reset_supported"] = _reset_hwm()

    # time: everything interleaved in one loop
    keys = ("construct_verify", "forward", "geometry", "construct_given_geometry", "verify")
    ts = {k: [] for k in keys}
    g = con.geometry
    for _ in range(repeats):
        for k in keys:
            t = time.perf_counter()
            if k == "construct_verify":
                construct_verify()
            elif k == "forward":
                net.forward(X)
            elif k == "geometry":
                geometry(data)
            elif k == "construct_given_geometry":
                construct_global(data, L, geom=g)
            else:
                cost(net, data)
            ts[k].append(time.perf_counter() - t)
    ratios = np.array(ts["construct_verify"]) / np.array(ts["forward"])
    rep = dlgeom.assumptions(g)
    return {
        "Q": q,
        "N": int(data.n_points),
        "L": L,
        "r": r,
        "seed": [seed, q, n],
        "repeats": repeats,
        "cost": float(c),
        "zero_cost": bool(c <= 1e-10),
        "assumptions_hold": bool(rep.all_hold),
        "mu_in_box": bool(con.mu_in_box),
        "generate_s": t_gen,
        "data_MB": (X.nbytes + data.y.nbytes) / 2**20,
        "rss_after_data_MB": _status("VmRSS"),
        "peak_rss_process_MB": max([peak_generation, _status("VmHWM")] + hwm_after),
        **{f"{k}_s": float(np.median(v)) for k, v in ts.items()},
        **{f"{k}_min_s": float(np.min(v)) for k, v in ts.items()},
        "ratio": float(np.median(ts["construct_verify"]) / np.median(ts["forward"])),
        "ratio_median_of_pairs": float(np.median(ratios)),
        **mem,
        "loadavg": list(os.getloadavg()),
    }


# ---- driver ----------------------------------------------------------------------------------


def repeats_for(cfg: dict, quick: bool) -> int:
    work = cfg["N"] * cfg["Q"] ** 2 * cfg["L"]  # flops of a forward pass, up to a constant
    if work >= 5e10:
        return 3
    if work >= 5e9:
        return 5 if not quick else 3
    if work >= 1e8:
        return 9 if not quick else 5
    return 31 if not quick else 15


def run_worker(cfg: dict, r: float, repeats: int, threads: int) -> dict:
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(threads)
    env["PYTHONPATH"] = str(ROOT / "src") + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        "--q",
        str(cfg["Q"]),
        "--n",
        str(cfg["N"]),
        "--layers",
        str(cfg["L"]),
        "--r",
        repr(r),
        "--repeats",
        str(repeats),
        "--seed",
        str(SEED),
    ]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode:
        raise SystemExit(f"worker {cfg} failed:\n{proc.stderr[-3000:]}")
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    row["sweep"] = cfg["sweep"]
    row["process_wall_s"] = time.perf_counter() - t
    return row


def fits(rows: list[dict]) -> dict:
    from dlgeom.study.perf_figures import fit_loglog

    out = {}
    for sweep, var in (("N", "N"), ("Q", "Q"), ("L", "L"), ("L_Q64", "L")):
        sel = [r for r in rows if r["sweep"] == sweep]
        if len(sel) < 2:
            continue
        x = [r[var] for r in sel]
        entry = {"variable": var}
        for key in (
            "construct_verify_s",
            "forward_s",
            "geometry_s",
            "construct_given_geometry_s",
            "verify_s",
            "construct_verify_peak_extra_rss_MB",
            "construct_verify_peak_traced_MB",
        ):
            entry[key] = fit_loglog(x, [r[key] for r in sel])
        if sweep == "N":
            big = [r for r in sel if r["N"] >= 100_000]
            if len(big) >= 2:
                entry["construct_verify_s_N_ge_1e5"] = fit_loglog(
                    [r["N"] for r in big], [r["construct_verify_s"] for r in big]
                )
                entry["forward_s_N_ge_1e5"] = fit_loglog([r["N"] for r in big], [r["forward_s"] for r in big])
        out[sweep] = entry
    return out


HEADER = (
    f"{'sweep':<6}{'Q':>4}{'N':>10}{'L':>5} {'constr+verif':>12} {'forward':>10} {'ratio':>6} "
    f"{'geom':>9} {'constr':>9} {'verify':>9} {'peakRSS+':>9} {'fwdRSS+':>8} {'data':>8} {'cost':>9}"
)


def print_row(r):
    print(
        f"{r['sweep']:<6}{r['Q']:>4}{r['N']:>10}{r['L']:>5} {r['construct_verify_s']:>11.4g}s "
        f"{r['forward_s']:>9.4g}s {r['ratio']:>6.2f} {r['geometry_s']:>8.3g}s "
        f"{r['construct_given_geometry_s']:>8.3g}s "
        f"{r['verify_s']:>8.3g}s {r['construct_verify_peak_extra_rss_MB']:>7.1f}MB "
        f"{r['forward_peak_extra_rss_MB']:>6.1f}MB "
        f"{r['data_MB']:>6.1f}MB {r['cost']:>9.2e}",
        flush=True,
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes only (about a minute)")
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads in the workers")
    ap.add_argument("--r", type=float, default=R_DEFAULT, help="δ-ratio of the data")
    ap.add_argument("--only", default="", help="comma-separated sweeps to run (N,Q,L,L_Q64); default all")
    ap.add_argument("--out", default=str(ROOT / "results" / "benchmarks" / "scaling.json"))
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--q", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--layers", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--repeats", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=SEED, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.q, args.n, args.layers, args.r, args.repeats, args.seed)))
        return

    sys.path.insert(0, str(ROOT / "src"))
    from dlgeom.jsonutil import write_json
    from dlgeom.study.perf_figures import machine_info

    os.environ.update({k: str(args.threads) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    t0 = time.perf_counter()
    load_start = list(os.getloadavg())
    todo = sweeps(args.quick)
    if args.only:
        keep = set(args.only.split(","))
        todo = [c for c in todo if c["sweep"] in keep]
    rows = []
    for cfg in todo:
        rows.append(run_worker(cfg, args.r, repeats_for(cfg, args.quick), args.threads))
        if len(rows) == 1:
            print(HEADER + "\n" + "-" * len(HEADER))
        print_row(rows[-1])
    fit = fits(rows)
    worst = max(rows, key=lambda r: r["ratio"])
    big = [r for r in rows if r["Q"] == 10 and r["N"] >= 10_000_000]
    result = {
        "what": "construct_global + cost (verification) against one Network.forward, time and peak memory",
        "r": args.r,
        "theta": "regular",
        "seed_prefix": SEED,
        "threads": args.threads,
        "quick": args.quick,
        "rows": rows,
        "fits": fit,
        "worst_ratio": {k: worst[k] for k in ("sweep", "Q", "N", "L", "ratio")},
        "ratio_goal": 3.0,
        "ratio_goal_met_everywhere": all(r["ratio"] <= 3.0 for r in rows),
        "ratio_goal_missed_at": [
            {k: r[k] for k in ("sweep", "Q", "N", "L", "ratio")} for r in rows if r["ratio"] > 3.0
        ],
        "N1e7_Q10": (
            {
                k: big[0][k]
                for k in (
                    "N",
                    "peak_rss_process_MB",
                    "peak_rss_generation_MB",
                    "rss_after_data_MB",
                    "construct_verify_peak_extra_rss_MB",
                    "forward_peak_extra_rss_MB",
                    "data_MB",
                    "construct_verify_s",
                    "forward_s",
                    "ratio",
                    "cost",
                )
            }
            if big
            else None
        ),
        "wall_s": time.perf_counter() - t0,
        "loadavg_start": load_start,
        "loadavg_end": list(os.getloadavg()),
        "machine": machine_info(),
    }
    print()
    for sweep, entry in fit.items():
        parts = [
            f"{k.removesuffix('_s')} {v['slope']:.2f}±{v['se']:.2f}"
            for k, v in entry.items()
            if isinstance(v, dict) and (k.endswith("_s") or "_s_N_ge" in k)
        ]
        print(f"exponents vs {entry['variable']} ({sweep}): " + ", ".join(parts))
    missed = ", ".join(
        f"{m['sweep']} Q={m['Q']} N={m['N']} L={m['L']} ({m['ratio']:.2f})" for m in result["ratio_goal_missed_at"]
    )
    print(
        f"worst ratio to one forward pass: {worst['ratio']:.2f} at {worst['sweep']} "
        f"Q={worst['Q']} N={worst['N']} L={worst['L']}"
        f"  (goal <= 3: {'met everywhere' if not missed else 'missed at ' + missed})"
    )
    if big:
        print(
            f"N = 1e7, Q = 10: peak RSS of the process {big[0]['peak_rss_process_MB']:.0f} MB (data generation; "
            f"data {big[0]['data_MB']:.0f} MB; construction + verification adds "
            f"{big[0]['construct_verify_peak_extra_rss_MB']:.0f} MB "
            f"RSS, {big[0]['construct_verify_peak_traced_MB']:.0f} MB allocated)"
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_json(result, args.out)
    print(f"wrote {args.out} ({result['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
