"""Performance results: machine description, log-log fits, and the figures of the benchmarks.

The figure functions read the committed benchmark JSONs (``results/benchmarks/scaling.json`` and
``results/benchmarks/time_to_cost.json``, written by ``benchmarks/bench_scaling.py`` and
``benchmarks/bench_time_to_cost.py``) and return matplotlib Figures; save them with
:func:`dlgeom.study.figures.save_figure` (byte-stable PNG and PDF).
"""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

import numpy as np

__all__ = ["PERF_FIGURES", "fig_scaling", "fig_time_to_cost", "fit_loglog", "load_json", "machine_info"]

PERF_FIGURES = ("scaling", "time_to_cost")


# ---- machine ----------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _blas() -> dict:
    out = {}
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            if pool.get("user_api") == "blas":
                out = {
                    "library": pool.get("internal_api"),
                    "version": pool.get("version"),
                    "threads": pool.get("num_threads"),
                    "architecture": pool.get("architecture"),
                }
                break
    except Exception:  # pragma: no cover - threadpoolctl missing or failing
        pass
    if not out:
        try:
            cfg = np.show_config(mode="dicts")
            blas = cfg["Build Dependencies"]["blas"]
            out = {"library": blas.get("name"), "version": blas.get("version")}
        except Exception:  # pragma: no cover
            out = {"library": "unknown"}
    out["thread_env"] = {
        k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ
    }
    return out


def machine_info() -> dict:
    """CPU model, cores, RAM, Python, numpy and its BLAS, and the load average now."""
    import scipy

    return {
        "cpu": _cpu_model(),
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "ram_GiB": _ram_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "blas": _blas(),
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "argv": sys.argv,
    }


# ---- fits -------------------------------------------------------------------------------------


def fit_loglog(x, y) -> dict:
    """Least squares on log10 values: log y = a + k log x.  Returns the exponent k ('slope'), its
    standard error ('se', nan with fewer than 3 points), the intercept and the point count."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    lx, ly = np.log10(x[ok]), np.log10(y[ok])
    n = lx.size
    if n < 2 or np.ptp(lx) == 0:
        return {"slope": float("nan"), "se": float("nan"), "intercept": float("nan"), "n": int(n)}
    A = np.column_stack([lx, np.ones(n)])
    coef, *_ = np.linalg.lstsq(A, ly, rcond=None)
    se = float("nan")
    if n > 2:
        resid = ly - A @ coef
        s2 = float(resid @ resid) / (n - 2)
        se = float(np.sqrt(s2 / np.sum((lx - lx.mean()) ** 2)))
    return {"slope": float(coef[0]), "se": se, "intercept": float(coef[1]), "n": int(n)}


def load_json(path) -> dict:
    return json.loads(Path(path).read_text())


def _as_dict(obj) -> dict:
    return obj if isinstance(obj, dict) else load_json(obj)


def _plt():
    """The study's pyplot (:mod:`dlgeom.study.figures`: the Agg backend and the study's style), imported
    when a figure is drawn, not when this module is (the benchmarks import it for the CPU's name)."""
    from .figures import plt

    return plt


_SWEEPS = (
    ("N", "N", "N (points), Q = L = 10"),
    ("Q", "Q", "Q (classes), L = Q, N = 10^5"),
    ("L", "L/Q", "L (hidden layers), as L / Q"),
)
_L_SERIES = (("L", "Q = 10, N = 10^5"), ("L_Q64", "Q = 64, N = 10^4"))


def _label(name: str, fit: dict | None) -> str:
    if not fit or not np.isfinite(fit.get("slope", np.nan)):
        return name
    se = fit.get("se", np.nan)
    return f"{name}: slope {fit['slope']:.2f}" + (f" ± {se:.2f}" if np.isfinite(se) else "")


def fig_scaling(scaling):
    """Construction + verification against one forward pass, from ``scaling.json``.

    Three columns (against N, Q and L, log-log) and three rows: median wall time with the fitted
    log-log exponents (slope ± standard error) in the legends; the ratio to one forward pass
    with the goal ≤ 3×; and the peak of the bytes allocated (tracemalloc, numpy's arrays included)
    with the size of the data for scale.  The L column shows L / Q, so that its two series
    (Q = 10 and Q = 64) share the axis; the fitted exponent is the same against L or L / Q."""
    plt = _plt()
    res = _as_dict(scaling)
    rows = res["rows"]
    fig, axes = plt.subplots(3, 3, figsize=(13, 10.5), squeeze=False)
    colours = {"construct_verify": "C0", "forward": "C1"}
    for col, (sweep, var, title) in enumerate(_SWEEPS):
        series = _L_SERIES if sweep == "L" else ((sweep, ""),)
        for s_i, (sw, tag) in enumerate(series):
            sel = sorted((r for r in rows if r["sweep"] == sw), key=lambda r: r["L"] if var == "L/Q" else r[var])
            if not sel:
                continue
            x = np.array([r["L"] / r["Q"] if var == "L/Q" else r[var] for r in sel], float)
            ls = "-" if s_i == 0 else "--"
            suffix = f" ({tag})" if tag else ""
            for key, name in (("construct_verify", "construction + verification"), ("forward", "one forward pass")):
                y = np.array([r[f"{key}_s"] for r in sel])
                fit = fit_loglog(x, y)
                axes[0, col].loglog(x, y, ls, marker="o", ms=4, color=colours[key], label=_label(name + suffix, fit))
            ratio = np.array([r["ratio"] for r in sel])
            axes[1, col].semilogx(
                x, ratio, ls, marker="o", ms=4, color="C0", label="construction + verification / forward" + suffix
            )
            mem_c = np.array([r["construct_verify_peak_traced_MB"] for r in sel])
            mem_f = np.array([r["forward_peak_traced_MB"] for r in sel])
            data_mb = np.array([r["data_MB"] for r in sel])
            fit_m = fit_loglog(x, mem_c)
            axes[2, col].loglog(
                x,
                np.maximum(mem_c, 1e-3),
                ls,
                marker="o",
                ms=4,
                color="C0",
                label=_label("construction + verification" + suffix, fit_m),
            )
            axes[2, col].loglog(
                x, np.maximum(mem_f, 1e-3), ls, marker="s", ms=4, color="C1", label="one forward pass" + suffix
            )
            axes[2, col].loglog(x, data_mb, ls, color="0.5", lw=1, label="the data (X, y)" + suffix)
            if var != "N":
                for r_ in range(3):
                    axes[r_, col].set_xticks(x, [f"{v:g}" for v in x])
                    axes[r_, col].minorticks_off()
        axes[0, col].set_title(title, fontsize=10)
        axes[0, col].set_ylabel("wall time [s] (median)")
        axes[1, col].axhline(3.0, color="C3", lw=1, ls=":", label="goal ≤ 3×")
        axes[1, col].set_ylabel("time / one forward pass")
        axes[2, col].set_ylabel("peak allocated [MB] (tracemalloc)")
        axes[2, col].set_xlabel(var)
        ratios = [r["ratio"] for r in rows if r["sweep"] in [sw for sw, _ in series]]
        axes[1, col].set_ylim(0, 1.5 * max([3.0] + ratios))
        for r in (0, 2):  # room above the curves for the legend
            lo, hi = axes[r, col].get_ylim()
            axes[r, col].set_ylim(lo, hi * (hi / lo) ** 0.6)
        for r in range(3):
            axes[r, col].legend(fontsize=7, loc="upper left")
            axes[r, col].grid(True, which="major", alpha=0.3)
    m = res.get("machine", {})
    fig.suptitle(
        f"Construction + verification vs one forward pass ({m.get('cpu', '?')}, {m.get('cores', '?')} cores, "
        f"BLAS threads {res.get('threads', '?')}, r = {res.get('r', '?')})",
        fontsize=11,
    )
    fig.tight_layout()
    return fig


_OPT_COLOURS = {"gd": "C1", "adam": "C2", "lbfgs": "C0"}
_OPT_NAMES = {"gd": "GD", "adam": "Adam", "lbfgs": "L-BFGS"}


def fig_time_to_cost(ttc):
    """Cost against wall time, from ``time_to_cost.json``: one panel per (Q, N), the running
    minimum of C of every optimiser run (GD, Adam, L-BFGS from He starts; one line per seed) and
    the construction as a star at (its time, its cost); the thresholds 1e-3, 1e-6, 1e-10 dotted."""
    plt = _plt()
    res = _as_dict(ttc)
    cases = res["cases"]
    qs = sorted({c["Q"] for c in cases})
    ns = sorted({c.get("N_nominal", c["N"]) for c in cases})
    fig, axes = plt.subplots(
        len(qs), len(ns), figsize=(3.3 * len(ns) + 0.5, 2.7 * len(qs) + 0.8), squeeze=False, sharey=True
    )
    floor = 1e-16
    for c in cases:
        ax = axes[qs.index(c["Q"]), ns.index(c.get("N_nominal", c["N"]))]
        for run in c["runs"]:
            t = np.maximum(np.asarray(run["trace_t"], float), 1e-5)
            y = np.maximum(np.asarray(run["trace_c"], float), floor)
            ax.loglog(t, y, color=_OPT_COLOURS.get(run["method"], "k"), lw=1, alpha=0.8)
        con = c["construction"]
        ax.loglog([max(con["time_s"], 1e-5)], [max(con["cost"], floor)], marker="*", ms=13, color="C3", ls="none")
        for thr in res.get("thresholds", (1e-3, 1e-6, 1e-10)):
            ax.axhline(thr, color="0.6", lw=0.8, ls=":")
        sp = c.get("speedup_construction_1e-10_vs_fastest_1e-6")
        note = "no optimiser reached 1e-6" if sp is None else f"fastest to 1e-6 / construction: {sp:.3g}×"
        ax.set_title(f"Q = {c['Q']}, N = {c['N']:,}\n{note}", fontsize=8)
        ax.set_ylim(floor / 3, 30)
        ax.grid(True, which="major", alpha=0.3)
    for i in range(len(qs)):
        axes[i, 0].set_ylabel("C (running minimum)")
    for j in range(len(ns)):
        axes[-1, j].set_xlabel("wall time [s]")
    handles = [plt.Line2D([], [], color=_OPT_COLOURS[m], label=_OPT_NAMES[m]) for m in ("gd", "adam", "lbfgs")]
    handles.append(plt.Line2D([], [], color="C3", marker="*", ms=12, ls="none", label="construction (+ its cost)"))
    fig.legend(handles=handles, loc="upper center", ncol=4, fontsize=9, bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig
