"""Benchmark: the pattern analysis of one paper-grade Q = 5 cell (dlgeom.local_minima.analyse_patterns:
2^Q patterns, 32 μ samples each, L = Q and Q + 2), batched against the sequential reference, in one
process, single-threaded BLAS.

The sequential reference (``engine='sequential'``) computes each least-squares value the way the study
did before the batched path: a whole construction, a forward pass and ``np.linalg.lstsq`` per μ.  The
'fused' engine (the compiled kernel) and the 'batched' one (stacked numpy) value all μ of a replicate
in two stacked passes.  All run on the same
data, μ samples and seeds, interleaved replicate by replicate; the script prints CPU seconds of each,
their ratio, the largest differences of the reported numbers and whether every verdict (μ-in-box,
μ-dependent, stationary, μ-descent) agrees.  With ``--baseline-src DIR`` (e.g. ``git archive 8286c0b src``
unpacked: the code before batching) the same replicates also run with that source tree, in a
subprocess per replicate, timed inside it, and are compared the same way.

    python benchmarks/bench_patterns.py [--replicates K] [--cell Q5/thetaregular/r0.1] [--baseline-src DIR]
                                        [--out FILE.json]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported: one core

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from dlgeom.geometry import geometry  # noqa: E402
from dlgeom.local_minima import analyse_patterns  # noqa: E402
from dlgeom.study.config import cell_ids  # noqa: E402
from dlgeom.study.seeds import seed_list as _seed  # noqa: E402
from dlgeom.synthetic import make_clustered  # noqa: E402

BASE_SEED = 2309  # config/paper.yaml
N_PER_CLASS = 200
MU_SAMPLES = 32
LAYERS_OFFSETS = (0, 2)
VERDICTS = ("mu_in_box", "mu_dependent", "stationary", "mu_descent")


# runs with older source trees too (--baseline-src): only names that every version has
BASELINE_SCRIPT = """
import json, sys, time
from dlgeom.geometry import geometry
from dlgeom.local_minima import analyse_patterns
from dlgeom.study.config import cell_ids
from dlgeom.synthetic import make_clustered
key, k, n, mu_samples = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
offsets = [int(x) for x in sys.argv[5].split(",")]
q, theta, r = key.split("/")
theta = None if theta == "thetaregular" else float(theta[5:])
data = make_clustered(int(q[1:]), n, float(r[1:]), theta, "uniform", seed=[2309, *cell_ids(key), k, 0])
geom = geometry(data, "open_box")
cpu, reports = 0.0, []
for L in (data.n_classes + off for off in offsets):
    c = time.process_time()
    reps = analyse_patterns(data, L, geom, mu_samples, 1000 * k + L)
    cpu += time.process_time() - c
    reports.append([p.to_dict() for p in reps])
print(json.dumps({"cpu_s": cpu, "reports": reports}))
"""


class Report(dict):
    """A report read back from the baseline's JSON, with the interface :func:`compare` uses."""

    def to_dict(self):
        return self


def baseline_replicate(src, key: str, k: int) -> tuple[float, list]:
    """CPU seconds and the reports (per L) of one replicate with the source tree ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    res = subprocess.run(
        [
            sys.executable,
            "-c",
            BASELINE_SCRIPT,
            key,
            str(k),
            str(N_PER_CLASS),
            str(MU_SAMPLES),
            ",".join(map(str, LAYERS_OFFSETS)),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(res.stdout)
    return out["cpu_s"], [[Report(r) for r in reps] for reps in out["reports"]]


def cell_data(key: str, replicate: int):
    """Training data of one replicate of a study cell, as `dlgeom make-data` writes it."""
    q, theta, r = key.split("/")
    theta = None if theta == "thetaregular" else float(theta[5:])
    return make_clustered(
        int(q[1:]), N_PER_CLASS, float(r[1:]), theta, "uniform", seed=_seed([BASE_SEED, *cell_ids(key)], replicate, 0)
    )


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        return platform.processor() or "unknown"


def compare(new, old, worst: dict) -> int:
    """Update ``worst`` (field -> largest |difference|) and return the number of verdicts that differ."""
    n_bad = 0
    for a, b in zip(new, old):
        a, b = a.to_dict(), b.to_dict()
        n_bad += sum(a[k] != b[k] for k in VERDICTS)
        for k, v in a.items():
            if k in VERDICTS or k == "s":
                continue
            d = float(np.max(np.abs(np.asarray(v, float) - np.asarray(b[k], float))))
            worst[k] = max(worst.get(k, 0.0), d)
    return n_bad


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cell", default="Q5/thetaregular/r0.1", help="a synthetic cell key of the paper grid")
    ap.add_argument("--replicates", type=int, default=20, help="replicates of the cell (the paper study: 20)")
    ap.add_argument(
        "--baseline-src",
        default=None,
        help="a source tree (its src/ folder) to time and compare as well, e.g. the code before batching",
    )
    ap.add_argument("--out", default=None, help="also write the numbers to this JSON file")
    args = ap.parse_args(argv)
    t_old = t_new = t_base = t_numpy = 0.0
    worst_numpy, n_bad_numpy = {}, 0
    worst, n_bad, n_reports = {}, 0, 0
    worst_base, n_bad_base = {}, 0
    for k in range(args.replicates):
        data = cell_data(args.cell, k)
        geom = geometry(data, "open_box")
        if args.baseline_src:
            cpu, base_reports = baseline_replicate(args.baseline_src, args.cell, k)
            t_base += cpu
        for i, L in enumerate(data.n_classes + off for off in LAYERS_OFFSETS):
            seed = 1000 * k + L
            t0 = time.process_time()
            old = analyse_patterns(data, L, geom, MU_SAMPLES, seed, engine="sequential")
            t1 = time.process_time()
            new = analyse_patterns(data, L, geom, MU_SAMPLES, seed, engine="fused")
            t2 = time.process_time()
            plain = analyse_patterns(data, L, geom, MU_SAMPLES, seed, engine="batched")
            t3 = time.process_time()
            t_old += t1 - t0
            t_new += t2 - t1
            t_numpy += t3 - t2
            n_bad += compare(new, old, worst)
            n_bad_numpy += compare(plain, old, worst_numpy)
            n_reports += len(new)
            if args.baseline_src:
                n_bad_base += compare(new, base_reports[i], worst_base)
        print(
            f"replicate {k}: sequential {t_old:.2f} s, fused {t_new:.2f} s, batched (numpy) {t_numpy:.2f} s"
            + (f", baseline {t_base:.2f} s" if args.baseline_src else "")
            + " so far",
            flush=True,
        )
    res = {
        "cell": args.cell,
        "replicates": args.replicates,
        "mu_samples": MU_SAMPLES,
        "cpu": cpu_name(),
        "cpu_seconds_sequential": t_old,
        "cpu_seconds_fused": t_new,
        "speedup": t_old / t_new,
        "cpu_seconds_batched_numpy": t_numpy,
        "speedup_batched_numpy": t_old / t_numpy,
        "pattern_reports": n_reports,
        "verdicts_differing": n_bad,
        "max_abs_difference": worst,
        "verdicts_differing_numpy": n_bad_numpy,
        "max_abs_difference_numpy": worst_numpy,
    }
    print(
        f"\n{args.cell}, {args.replicates} replicates x L in {{Q, Q+2}}, {MU_SAMPLES} μ samples, "
        f"one thread on {res['cpu']}"
    )
    print(
        f"pattern analysis CPU time: sequential {t_old:.2f} s, fused {t_new:.2f} s (speedup {res['speedup']:.1f}x), "
        f"batched numpy {t_numpy:.2f} s (speedup {res['speedup_batched_numpy']:.1f}x)"
    )
    print(
        f"{n_reports} pattern reports; verdicts differing: fused {n_bad}, numpy {n_bad_numpy}; "
        f"largest |fused - sequential| (numpy - sequential):"
    )
    for k, v in worst.items():
        print(f"  {k:28s} {v:.2e} ({worst_numpy[k]:.2e})")
    if args.baseline_src:
        res.update(
            baseline_src=str(args.baseline_src),
            cpu_seconds_baseline=t_base,
            speedup_vs_baseline=t_base / t_new,
            speedup_numpy_vs_baseline=t_base / t_numpy,
            verdicts_differing_from_baseline=n_bad_base,
            max_abs_difference_from_baseline=worst_base,
        )
        print(
            f"the sources in {args.baseline_src}: {t_base:.2f} s, fused {t_base / t_new:.1f}x faster, numpy "
            f"{t_base / t_numpy:.1f}x; verdicts differing from fused: {n_bad_base}; largest |fused - baseline|:"
        )
        for k, v in worst_base.items():
            print(f"  {k:28s} {v:.2e}")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(res, fh, indent=2)
            fh.write("\n")
    return res


if __name__ == "__main__":
    main()
