"""Benchmark: Snakemake dry-run (DAG) time for a large grid, and what the SLURM profile makes of it.

    python benchmarks/bench_dag.py [--cells 10000] [--quick] [--repeats 1] [--out results/benchmarks/dag.json]

Writes a config whose grid has at least --cells cells (Q = 2..10, θ × δ-ratio values; no
landscape cells, no user datasets) to a temporary directory and times, each in a fresh process:

* ``snakemake -n --cores 2`` on that config (the DAG of every job), job count from its job stats,
  and the same with ``--quiet`` (no per-job listing: the DAG alone);
* the same dry run with the SLURM workflow profile (``profiles/slurm``): the number of
  submissions is the number of group jobs Snakemake forms from ``groups`` / ``group-components``
  (no cluster is contacted in a dry run), checked against ceil(cells / group-components);
* the start-up constant: ``snakemake -n`` on a one-rule Snakefile, and the ``scontrol show config``
  probe that snakemake-executor-plugin-slurm runs when it is imported;
* in-process: the config validation and the grid expansion that the Snakefile runs.

A second, smaller grid (--small-cells, default 1,000) gives the cost per job.  --quick: the
1,000-cell grid only.  Prints a table and writes results/benchmarks/dag.json.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

# These imports need ROOT / "src" on sys.path (set just above): hence not at the top.
from dlgeom.jsonutil import write_json  # noqa: E402
from dlgeom.study.config import expand_grid, load_schema, validate_config  # noqa: E402
from dlgeom.study.perf_figures import machine_info  # noqa: E402

N_Q_SYNTH = 8  # Q = 3..10 carry every θ; Q = 2 only 'regular'


def grid_config(min_cells: int) -> dict:
    """A study config with a Q × θ × δ-ratio grid of at least ``min_cells`` cells."""
    n_r = 50
    n_theta = max(2, math.ceil((min_cells - n_r) / (N_Q_SYNTH * n_r)))
    while N_Q_SYNTH * n_theta * n_r + n_r < min_cells:
        n_theta += 1
    # θ must be reachable for every Q of the grid: regular(10) = 1.459 up to just below 2π
    thetas = ["regular"] + [round(float(t), 4) for t in np.linspace(1.5, 5.0, n_theta - 1)]
    rs = [float(f"{r:.4g}") for r in np.geomspace(0.01, 1.0, n_r)]
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    cfg["grid"] = {"Q": list(range(2, 11)), "theta": thetas, "delta_ratio": rs}
    cfg["landscape"] = {"cells": []}
    cfg["datasets"] = []
    return cfg


def snakemake_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "snakemake"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "snakemake"]


def timed_run(cmd, cwd, log: Path) -> tuple[float, str, int]:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    t = time.perf_counter()
    with open(log, "w") as fh:
        rc = subprocess.run(cmd, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT, env=env, check=False).returncode
    wall = time.perf_counter() - t
    return wall, log.read_text(), rc


def job_stats(text: str) -> dict:
    """The first 'Job stats' table of a dry run: rule -> count, plus 'total'."""
    out = {}
    block = text.split("Job stats:", 1)[-1]
    for line in block.splitlines()[1:]:
        m = re.match(r"^([A-Za-z_][\w]*)\s+(\d+)\s*$", line.strip())
        if m and m[1] != "job":
            out[m[1]] = int(m[2])
            if m[1] == "total":
                break
    return out


def median(xs):
    return float(np.median(xs))


def dry_runs(cells_min: int, repeats: int, schema, tmp: Path, slurm_profile: bool) -> dict:
    """Timed dry runs (with the job listing and with --quiet) of a grid of >= cells_min cells."""
    cfg = grid_config(cells_min)
    t_validate, t_expand = [], []
    for _ in range(3):
        t = time.perf_counter()
        valid = validate_config(cfg, schema, base_dir=ROOT)
        t_validate.append(time.perf_counter() - t)
        t = time.perf_counter()
        cells = expand_grid(valid)
        t_expand.append(time.perf_counter() - t)
    n_cells = len(cells)
    n_theta, n_r = len(cfg["grid"]["theta"]), len(cfg["grid"]["delta_ratio"])
    print(f"grid: Q = 2..10, {n_theta} θ values, {n_r} δ-ratios -> {n_cells} cells", flush=True)
    sub = tmp / f"cells{n_cells}"
    sub.mkdir()
    cfg_path = sub / "config.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    work = sub / "work"
    work.mkdir()
    base = snakemake_cmd() + [
        "-n",
        "--cores",
        "2",
        "-s",
        str(ROOT / "Snakefile"),
        "-d",
        str(work),
        "--configfile",
        str(cfg_path),
    ]
    walls, walls_quiet, stats = [], [], {}
    for i in range(repeats):
        w, text, rc = timed_run(base, ROOT, sub / f"dry{i}.log")
        if rc:
            raise SystemExit(f"dry run failed (exit {rc}); log:\n{text[-3000:]}")
        walls.append(w)
        stats = job_stats(text)
        print(f"  dry run {i + 1}: {w:.1f} s, {stats.get('total')} jobs", flush=True)
        w, text, rc = timed_run(base + ["--quiet"], ROOT, sub / f"dryq{i}.log")
        if rc:
            raise SystemExit(f"quiet dry run failed (exit {rc}); log:\n{text[-3000:]}")
        walls_quiet.append(w)
        print(f"  dry run --quiet {i + 1}: {w:.1f} s", flush=True)
    slurm = None
    if slurm_profile:
        sl_cmd = base + [
            "--workflow-profile",
            str(ROOT / "workflow" / "profiles" / "slurm"),
            "--default-resources",
            "slurm_partition=dryrun",
            "slurm_account=dryrun",
        ]
        w, text, rc = timed_run(sl_cmd, ROOT, sub / "slurm.log")
        if rc:
            print(f"SLURM-profile dry run failed (exit {rc}): {text[-1500:]}", file=sys.stderr)
        else:
            st = job_stats(text)
            slurm = {
                "dry_run_s": w,
                "group_jobs_in_dry_run": len(re.findall(r"Group job grid", text)),
                "jobs": st.get("total"),
            }
            print(
                f"  SLURM-profile dry run: {w:.1f} s, {slurm['group_jobs_in_dry_run']} group jobs (submissions)",
                flush=True,
            )
    return {
        "cells": n_cells,
        "n_theta": n_theta,
        "n_delta_ratio": n_r,
        "jobs": stats.get("total"),
        "jobs_by_rule": stats,
        "dry_run_s": walls,
        "dry_run_median_s": median(walls),
        "dry_run_quiet_s": walls_quiet,
        "dry_run_quiet_median_s": median(walls_quiet),
        "validate_config_s": median(t_validate),
        "expand_grid_s": median(t_expand),
        "slurm_dry_run": slurm,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=10_000, help="minimum number of grid cells")
    ap.add_argument("--small-cells", type=int, default=1_000, help="a second, smaller grid (per-job cost); 0: none")
    ap.add_argument("--repeats", type=int, default=1, help="timed dry runs of each kind")
    ap.add_argument("--quick", action="store_true", help="the 1,000-cell grid only")
    ap.add_argument("--no-slurm", action="store_true", help="skip the dry run with the SLURM profile")
    ap.add_argument("--out", default=str(ROOT / "results" / "benchmarks" / "dag.json"))
    args = ap.parse_args()
    if args.quick:
        args.cells, args.small_cells, args.repeats = 1000, 0, 1
    t0 = time.perf_counter()
    load_start = list(os.getloadavg())
    schema = load_schema(ROOT / "workflow" / "schemas" / "config.schema.yaml")
    prof = yaml.safe_load((ROOT / "workflow" / "profiles" / "slurm" / "config.yaml").read_text())
    per_sub = int(prof["group-components"]["grid"])
    grouped_rules = sorted(r for r, g in prof["groups"].items() if g == "grid")

    tmp = Path(tempfile.mkdtemp(prefix="dlgeom_dag_"))
    try:
        trivial = tmp / "trivial"
        trivial.mkdir()
        (trivial / "Snakefile").write_text("rule all:\n    output: 'x'\n    shell: 'touch {output}'\n")
        t_trivial = []
        for _ in range(args.repeats):
            w, _, _ = timed_run(
                snakemake_cmd() + ["-n", "--cores", "2", "-s", str(trivial / "Snakefile"), "-d", str(trivial)],
                trivial,
                tmp / "trivial.log",
            )
            t_trivial.append(w)
        probe = None
        if shutil.which("scontrol"):
            t = time.perf_counter()
            try:
                subprocess.run(["scontrol", "show", "config"], capture_output=True, timeout=15, check=False)
            except subprocess.TimeoutExpired:
                pass
            probe = time.perf_counter() - t
        print(
            f"start-up: trivial dry run {median(t_trivial):.1f} s"
            + (f"; 'scontrol show config' probe {probe:.1f} s" if probe is not None else ""),
            flush=True,
        )
        grids = []
        if args.small_cells:
            grids.append(dry_runs(args.small_cells, args.repeats, schema, tmp, slurm_profile=False))
        big = dry_runs(args.cells, args.repeats, schema, tmp, slurm_profile=not args.no_slurm)
        grids.append(big)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    per_job = {}
    if len(grids) == 2 and grids[1]["jobs"] != grids[0]["jobs"]:
        dj = grids[1]["jobs"] - grids[0]["jobs"]
        for key in ("dry_run_median_s", "dry_run_quiet_median_s"):
            slope = (grids[1][key] - grids[0][key]) / dj
            per_job[key.replace("_median_s", "")] = {
                "per_job_ms": 1e3 * slope,
                "intercept_s": grids[1][key] - slope * grids[1]["jobs"],
            }
    stats = big["jobs_by_rule"]
    grid_jobs = sum(v for k, v in stats.items() if k in grouped_rules)
    n_cells = big["cells"]
    # a cell's job (data + analysis) and its landscape jobs form one connected component; any
    # other grouped job (no grid job upstream) is a component of its own
    per_cell_rules = {"cell", "landscape_runs", "landscape_shape"}
    other_components = sum(v for k, v in stats.items() if k in grouped_rules and k not in per_cell_rules)
    components = n_cells + other_components
    result = {
        "what": "snakemake dry-run (DAG) time for a large grid; SLURM submissions from the group settings",
        "grid": {
            "Q": "2..10",
            "n_theta": big["n_theta"],
            "n_delta_ratio": big["n_delta_ratio"],
            "cells": n_cells,
            "landscape_cells": 0,
            "datasets": 0,
        },
        "dry_run_s": big["dry_run_s"],
        "dry_run_median_s": big["dry_run_median_s"],
        "dry_run_quiet_s": big["dry_run_quiet_s"],
        "dry_run_quiet_median_s": big["dry_run_quiet_median_s"],
        "goal_s": 30.0,
        "goal_met": big["dry_run_median_s"] < 30.0,
        "goal_met_quiet": big["dry_run_quiet_median_s"] < 30.0,
        "dry_run_without_probe_s": big["dry_run_median_s"] - (probe or 0.0),
        "dry_run_quiet_without_probe_s": big["dry_run_quiet_median_s"] - (probe or 0.0),
        "jobs": big["jobs"],
        "jobs_by_rule": stats,
        "grids": grids,
        "linear_model_in_jobs": per_job,
        "startup": {
            "trivial_dry_run_s": median(t_trivial),
            "scontrol_probe_s": probe,
            "note": "snakemake-executor-plugin-slurm runs `scontrol show config` when imported; "
            "with the SLURM client installed but no controller reachable it waits ~9 s",
        },
        "in_process": {"validate_config_s": big["validate_config_s"], "expand_grid_s": big["expand_grid_s"]},
        "slurm": {
            "profile": "profiles/slurm/config.yaml",
            "group": "grid",
            "grouped_rules": grouped_rules,
            "group_components": per_sub,
            "grid_jobs": grid_jobs,
            "components": components,
            "cell_components": n_cells,
            "other_components": other_components,
            "submissions_computed": math.ceil(components / per_sub),
            "local_rules": sorted(k for k in stats if k not in grouped_rules and k not in ("total", "all")),
            "dry_run": big["slurm_dry_run"],
        },
        "wall_s": time.perf_counter() - t0,
        "loadavg_start": load_start,
        "loadavg_end": list(os.getloadavg()),
        "machine": machine_info(),
    }
    print()
    print(f"{'grid cells':<34}" + "".join(f"{g['cells']:>12}" for g in grids))
    print(f"{'jobs (dry run)':<34}" + "".join(f"{g['jobs']:>12}" for g in grids))
    print(f"{'dry run, job listing (median)':<34}" + "".join(f"{g['dry_run_median_s']:>11.1f}s" for g in grids))
    print(f"{'dry run --quiet (median)':<34}" + "".join(f"{g['dry_run_quiet_median_s']:>11.1f}s" for g in grids))
    print(
        f"{'validate_config + expand_grid':<34}"
        + "".join(f"{g['validate_config_s'] + g['expand_grid_s']:>11.3f}s" for g in grids)
    )
    print(
        f"{'start-up constant (trivial run)':<34}{median(t_trivial):>11.1f}s"
        + (f"  (of which the scontrol probe {probe:.1f} s)" if probe is not None else "")
    )
    for k, v in per_job.items():
        print(f"{'per job, ' + k:<34}{v['per_job_ms']:>10.2f}ms  (intercept {v['intercept_s']:.1f} s)")
    print(
        f"goal < 30 s for {n_cells} cells: with listing {'met' if result['goal_met'] else 'MISSED'} "
        f"({big['dry_run_median_s']:.1f} s), --quiet {'met' if result['goal_met_quiet'] else 'MISSED'} "
        f"({big['dry_run_quiet_median_s']:.1f} s)"
    )
    print(
        f"SLURM submissions (computed): {math.ceil(components / per_sub)} ({components} components = {n_cells} cells"
        f" + {other_components} other grouped jobs, {per_sub} per submission)"
        + (
            f"; group jobs in the SLURM-profile dry run: {big['slurm_dry_run']['group_jobs_in_dry_run']}"
            if big["slurm_dry_run"]
            else ""
        )
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_json(result, args.out)
    print(f"wrote {args.out} ({result['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
