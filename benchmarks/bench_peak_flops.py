"""Benchmark: this core's float64 ceilings, and the fused landscape kernel as a fraction of them.

Compiles a small C probe with the system C compiler (`cc`) and times, on one thread:

* the peak float64 rate **without FMA**: 24 independent chains of vector multiplies and adds
  (x ← x·a, y ← y + b, contraction off), the instruction mix of dlgeom's kernels, which are built
  with ``-ffp-contract=off`` so that every build gives the same bytes;
* the peak **with FMA**: 24 independent chains of x ← x·a + b contracted into fused multiply-adds;
* a large matrix product, numpy's DGEMM (2000 × 2000, single-threaded BLAS): not a peak, a
  library's best on big matrices;
* the fused kernel (`dlgeom._fused`) on the paper-size batch of `bench_landscape_batched.py`
  (Q4/θ2.8/r0.3, N = 800, L = 4, 256 networks), counted as that benchmark counts it: the matrix
  products' 2 flops per multiply-add.

It prints the CPU (`lscpu`'s model name), each rate in GFlop/s of CPU time (best of several runs; a
busy host still lowers them, so run it on a quiet machine), and the kernel's fraction of each.

    python benchmarks/bench_peak_flops.py [--out FILE.json]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported: one core

import argparse  # noqa: E402
import ctypes  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

CHAINS = 24
PROBE = r"""
typedef double v8 __attribute__((vector_size(64)));
#define CHAINS %(chains)d
/* x_i <- x_i * a (CHAINS/2 chains) and y_i <- y_i + b (CHAINS/2 chains): 2 flops per lane and step pair */
double mul_add(long steps, double a, double b)
{
    v8 x[CHAINS / 2], y[CHAINS / 2];
    for (int i = 0; i < CHAINS / 2; i++)
        for (int k = 0; k < 8; k++) { x[i][k] = 1.0 + 1e-3 * (i + k); y[i][k] = 1e-3 * (i - k); }
    for (long s = 0; s < steps; s++) {
#pragma GCC unroll 32
        for (int i = 0; i < CHAINS / 2; i++) { x[i] = x[i] * a; y[i] = y[i] + b; }
    }
    double t = 0.0;
    for (int i = 0; i < CHAINS / 2; i++) for (int k = 0; k < 8; k++) t += x[i][k] + y[i][k];
    return t;
}
/* x_i <- x_i * a + b, contracted to one FMA (CHAINS chains): 2 flops per lane and step */
double fma_chain(long steps, double a, double b)
{
    v8 x[CHAINS];
    for (int i = 0; i < CHAINS; i++) for (int k = 0; k < 8; k++) x[i][k] = 1.0 + 1e-3 * (i + k);
    for (long s = 0; s < steps; s++) {
#pragma GCC unroll 32
        for (int i = 0; i < CHAINS; i++) x[i] = x[i] * a + b;
    }
    double t = 0.0;
    for (int i = 0; i < CHAINS; i++) for (int k = 0; k < 8; k++) t += x[i][k];
    return t;
}
"""


def cpu_name() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        return "unknown"


def build_probe(tmp: Path, fma: bool) -> ctypes.CDLL:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        sys.exit("bench_peak_flops: needs a C compiler (cc or gcc) on PATH")
    src = tmp / "probe.c"
    src.write_text(PROBE % {"chains": CHAINS})
    lib = tmp / f"probe_{'fma' if fma else 'nofma'}.so"
    flags = [
        "-O3",
        "-march=native",
        "-shared",
        "-fPIC",
        "-Wno-psabi",
        "-ffp-contract=fast" if fma else "-ffp-contract=off",
    ]
    subprocess.run([cc, *flags, str(src), "-o", str(lib)], check=True)
    probe = ctypes.CDLL(str(lib))
    for name in ("mul_add", "fma_chain"):
        getattr(probe, name).restype = ctypes.c_double
        getattr(probe, name).argtypes = [ctypes.c_long, ctypes.c_double, ctypes.c_double]
    return probe


def best_rate(fn, flops: float, repeats: int = 7) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return flops / min(times) / 1e9


def fused_kernel_gflops() -> float | None:
    """The fused kernel's rate on the paper batch of bench_landscape_batched.py, in its flop count."""
    from dlgeom.batched import cost_and_grad_batch, evaluation_flops, fused_unavailable

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_landscape_batched import cell_data, starts

    key, n_per_class, L, runs = "Q4/theta2.8/r0.3", 200, 4, 256
    data = cell_data(key, n_per_class)
    q, n = data.n_classes, data.n_points
    if fused_unavailable(q, L):
        return None
    X0, _ = starts(q, L, runs)
    flops = runs * evaluation_flops(n, q, L)
    return best_rate(lambda: cost_and_grad_batch(X0, data, q, L, kernel="fused"), flops)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=None, help="also write the numbers to this JSON file")
    args = ap.parse_args(argv)
    steps = 20_000_000 // CHAINS
    with tempfile.TemporaryDirectory() as tmp:
        nofma, fma = build_probe(Path(tmp), False), build_probe(Path(tmp), True)
        peak = best_rate(lambda: nofma.mul_add(steps, 1.0, 0.0), steps * CHAINS * 8.0)
        peak_fma = best_rate(lambda: fma.fma_chain(steps, 1.0, 0.0), steps * CHAINS * 8 * 2.0)
    a = np.random.default_rng(0).standard_normal((2000, 2000))
    dgemm = best_rate(lambda: a @ a, 2 * 2000.0**3, repeats=3)
    kernel = fused_kernel_gflops()
    res = {
        "cpu": cpu_name(),
        "load_average": os.getloadavg()[0],
        "peak_no_fma_gflops": peak,
        "peak_fma_gflops": peak_fma,
        "dgemm_gflops": dgemm,
        "fused_kernel_gflops": kernel,
    }
    print(f"one thread of {res['cpu']} (load average {res['load_average']:.1f})")
    print(f"  peak without FMA   {peak:7.1f} GFlop/s")
    print(f"  peak with FMA      {peak_fma:7.1f} GFlop/s")
    print(f"  DGEMM 2000x2000    {dgemm:7.1f} GFlop/s (numpy's BLAS)")
    if kernel is None:
        print("  fused kernel: not built here")
    else:
        print(
            f"  fused kernel       {kernel:7.1f} GFlop/s (paper batch Q4, N = 800, L = 4): "
            f"{kernel / peak:.0%} of the peak without FMA, {kernel / peak_fma:.0%} of the peak with FMA"
        )
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(res, fh, indent=2)
            fh.write("\n")
    return res


if __name__ == "__main__":
    main()
