"""The benchmark scripts stay runnable: each one imports against the current library and prints
its usage (the benchmarks themselves are run by hand, `make bench`; never timed in tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "benchmarks").glob("*.py"))


def _script(name: str):
    """A benchmark script loaded as a module (benchmarks/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_benchmark_script_imports_and_prints_usage(script):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    res = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert "usage" in res.stdout.lower()


def test_slurm_profile_resources_are_the_measured_ones(tmp_path):
    """profiles/slurm's per-rule runtimes and memory are generated from the recorded study runs
    (results/benchmarks/study_*.json), and the generator follows a new measurement."""
    import json

    mod = _script("slurm_resources")
    profile = (ROOT / "profiles" / "slurm" / "config.yaml").read_text()
    assert mod.replace(profile, mod.block(ROOT / "results" / "benchmarks")) == profile, (
        "run python benchmarks/slurm_resources.py"
    )
    # a slower job in a new study raises that rule's runtime to twice its time
    (tmp_path / "study_x.json").write_text(
        json.dumps(
            {
                "summary": {"study": "x"},
                "by_snakemake_rule": [
                    {"snakemake_rule": "landscape_runs", "jobs": 3, "max_s": 1801.0, "max_rss_MB": 700.0},
                    {"snakemake_rule": "cell", "jobs": 9, "max_s": 4.0, "max_rss_MB": 80.0},
                ],
            }
        )
    )
    lines = mod.block(tmp_path).splitlines()
    assert "  landscape_runs: {runtime: 61, mem_mb: 1400}" in [ln.split("  #")[0] for ln in lines]
    assert "  cell: {runtime: 5, mem_mb: 1000}" in [ln.split("  #")[0] for ln in lines]


def test_study_floor_splits_a_landscape_log_by_optimiser(tmp_path):
    """benchmarks/study_floor.py reads the seconds of each optimiser from a landscape job's
    cumulative progress lines (two start groups here), and the rest of the command from its
    'wrote ... in' line."""
    mod = _script("study_floor")
    log = tmp_path / "runs_global.log"
    log.write_text(
        "[dlgeom] global@0.0001 lbfgs: 256/1200 runs done, 1.5 s\n"
        "[dlgeom] global@0.0001 lbfgs: 300/1200 runs done, 2.0 s\n"
        "[dlgeom] global@0.0001 gd: 600/1200 runs done, 5.0 s\n"
        "[dlgeom] global@0.0001 adam: 900/1200 runs done, 6.5 s\n"
        "[dlgeom] global@0.1 lbfgs: 1000/1200 runs done, 7.0 s\n"
        "[dlgeom] global@0.1 gd: 1100/1200 runs done, 9.0 s\n"
        "[dlgeom] global@0.1 adam: 1200/1200 runs done, 9.5 s\n"
        "[dlgeom] optimiser runs finished after 9.5 s\n"
        "[dlgeom] wrote results/x/landscape/c/runs_global.json in 10.25 s\n"
    )
    got = mod.optimiser_seconds(log)
    assert got == pytest.approx({"lbfgs": 2.5, "gd": 5.0, "adam": 2.0, "analysis": 0.75})


def test_kernel_benchmark_compares_bytes_with_a_baseline(tmp_path):
    """bench_kernel.py against this tree itself as the baseline: every shape reports the same bytes
    and the JSON has one row a shape (no timing is checked)."""
    import json

    from dlgeom import batched

    if batched.fused_unavailable(4, 4):
        pytest.skip(batched.fused_unavailable(4, 4))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = tmp_path / "kernel.json"
    cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_kernel.py"), "--baseline-src", str(ROOT / "src")]
    res = subprocess.run(
        [*cmd, "--max-iter", "3", "--repeats", "1", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.count("same bytes") == 3
    rows = json.loads(out.read_text())["rows"]
    assert [(r["Q"], r["L"]) for r in rows] == [(2, 2), (3, 3), (4, 4)]


def test_study_timing_reads_the_jobs_and_names_the_machine(tmp_path):
    """benchmarks/study_timing.py sums the job benchmark files, takes the wall time, the start and
    every job's rule from the Snakemake log, and records the CPU it ran on in the JSON and the docs
    block."""
    import json

    jobs = tmp_path / "results" / "s" / "benchmarks" / "jobs"
    for rel, s in (("cells/Q2/a.tsv", 1.5), ("cells/Q3/b.tsv", 2.5), ("landscape/Q2/runs_he.tsv", 10.0)):
        (jobs / rel).parent.mkdir(parents=True, exist_ok=True)
        (jobs / rel).write_text(f"s\th:m:s\tmax_rss\n{s}\t0:00:01\t50.5\n")
    blocks = [
        ("cell", "results/s/benchmarks/jobs/cells/Q2/a.tsv"),
        ("cell", "results/s/benchmarks/jobs/cells/Q3/b.tsv"),
        ("landscape_runs", "results/s/benchmarks/jobs/landscape/Q2/runs_he.tsv"),
    ]
    log = "".join(
        f"[Mon Dec  7 0{i}:00:00 2026]\nlocalrule {rule}:\n    jobid: {i}\n    benchmark: {bench}\n"
        for i, (rule, bench) in enumerate(blocks, start=1)
    )
    (tmp_path / "run.log").write_text(log + "Elapsed time: 0:00:09.5\n")
    md = tmp_path / "perf.md"
    mod = _script("study_timing")
    md.write_text(f"before\n{mod.BEGIN}\nold\n{mod.END}\nafter\n")
    out = tmp_path / "study_s.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    args = ["--workdir", str(tmp_path), "--study", "s", "--log", str(tmp_path / "run.log"), "--out", str(out)]
    res = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "study_timing.py"), *args, "--update-docs", str(md)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    rec = json.loads(out.read_text())
    s = rec["summary"]
    assert (s["jobs"], s["job_seconds"], s["wall_seconds"]) == (3, 14.0, 9.5)
    assert s["outside_jobs_seconds"] == 9.5 - 14.0 / 2 and s["started"] == "Mon Dec 7 01:00:00 2026"
    assert s["cpu"] == rec["machine"]["cpu"] == mod.this_machine()["cpu"] and s["cpu"]
    assert set(rec["machine"]["blas"]) <= {"library", "version"}  # not this process's BLAS threads
    assert {r["snakemake_rule"]: (r["jobs"], r["max_s"]) for r in rec["by_snakemake_rule"]} == {
        "cell": (2, 2.5),
        "landscape_runs": (1, 10.0),
    }
    text = md.read_text()
    assert text.startswith("before\n") and text.endswith("after\n") and "old" not in text
    assert f"on 2 cores on an {s['cpu']} (Mon Dec 7 01:00:00 2026)" in text
