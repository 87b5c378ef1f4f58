"""Timing of a finished study run: job count, wall time, time inside and outside the jobs.

    python benchmarks/study_timing.py [--workdir .] [--study default] [--cores 2] [--out FILE]

Reads the per-job benchmark files (results/<study>/benchmarks/jobs/**.tsv, written by every rule)
and the newest Snakemake log (.snakemake/log/*.snakemake.log, for the elapsed wall time and the
rule of every job: the slowest job and peak memory per Snakemake rule feed the SLURM profile's
resources, benchmarks/slurm_resources.py).  Prints a
table and writes results/benchmarks/study_<study>.json (or --out).  "Outside the jobs" is wall time minus the summed job
time divided by the cores: scheduling, DAG building and process start-up that the jobs don't see.
The JSON names the machine (CPU model, cores, Python, numpy and its BLAS) the script runs on, which
must be the one the study ran on: `make reference` runs it right after the study, in the same clone.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pandas as pd


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", default=".", help="the study's working directory")
    ap.add_argument("--study", default="default", help="the study (its folder under results/)")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--out", default=None, help="output JSON (default results/benchmarks/study_<study>.json)")
    ap.add_argument(
        "--update-docs",
        default=None,
        metavar="MD",
        help="also rewrite the block between the study-timing markers of this Markdown file",
    )
    ap.add_argument(
        "--log", default=None, help="the Snakemake log of the run (default: the newest with an elapsed time)"
    )
    args = ap.parse_args()
    root = Path(args.workdir)
    jobdir = root / "results" / args.study / "benchmarks" / "jobs"
    files = sorted(jobdir.rglob("*.tsv"))
    if not files:
        raise SystemExit(f"no job benchmark files under {jobdir}: run the study first")
    rows = []
    for f in files:
        t = pd.read_csv(f, sep="\t")
        rows.append(
            {
                "rule": f.relative_to(jobdir).parts[0].removesuffix(".tsv"),
                "s": float(t["s"].iloc[0]),
                "max_rss_MB": pd.to_numeric(t["max_rss"], errors="coerce").iloc[0],
            }
        )
    jobs = pd.DataFrame(rows)
    machine = this_machine()
    logs = [Path(args.log)] if args.log else sorted((root / ".snakemake" / "log").glob("*.snakemake.log"))
    wall, rule_of, started = None, {}, None
    for log in reversed(logs):
        text = log.read_text()
        m = re.search(r"Elapsed time: (\d+):(\d+):([\d.]+)", text)
        if m:
            wall = int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
            rule_of = snakemake_rules(text)
            started = run_started(text, log)
            break
    # the log names benchmark files relative to the working directory
    jobs["snakemake_rule"] = [
        rule_of.get(str(Path("results", args.study, "benchmarks", "jobs", f.relative_to(jobdir))), "") for f in files
    ]
    by_rule = jobs.groupby("rule").agg(
        jobs=("s", "size"),
        total_s=("s", "sum"),
        mean_s=("s", "mean"),
        max_s=("s", "max"),
        max_rss_MB=("max_rss_MB", "max"),
    )
    print(by_rule.to_string(float_format=lambda x: f"{x:.2f}"))
    summary = {
        "study": args.study,
        "jobs": int(len(jobs)),
        "job_seconds": float(jobs["s"].sum()),
        "cores": args.cores,
        "wall_seconds": wall,
        "started": started,
        "cpu": machine["cpu"],
    }
    if wall:
        summary["outside_jobs_seconds"] = wall - summary["job_seconds"] / args.cores
    print(json.dumps(summary, indent=2))
    out = Path(args.out) if args.out else root / "results" / "benchmarks" / f"study_{args.study}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    per_rule = (
        jobs[jobs["snakemake_rule"] != ""]
        .groupby("snakemake_rule")
        .agg(jobs=("s", "size"), max_s=("s", "max"), max_rss_MB=("max_rss_MB", "max"))
    )
    out.write_text(
        json.dumps(
            {
                "summary": summary,
                "machine": machine,
                "by_rule": by_rule.reset_index().to_dict("records"),
                "by_snakemake_rule": per_rule.reset_index().to_dict("records"),
            },
            indent=2,
        )
        + "\n"
    )
    if args.update_docs:
        update_docs(Path(args.update_docs), summary, by_rule.reset_index().to_dict("records"), out)


def this_machine() -> dict:
    """The CPU, cores, RAM, OS, Python, numpy and BLAS library of this machine (the benchmarks' record
    of it, without what belongs to this process rather than to the study's jobs: the load average,
    the command line, and BLAS's threads and kernel, which the jobs pin, docs/studies.md)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from dlgeom.study.perf_figures import machine_info

    info = machine_info()
    for k in ("loadavg", "argv"):
        info.pop(k, None)
    if isinstance(info.get("blas"), dict):
        info["blas"] = {k: v for k, v in info["blas"].items() if k in ("library", "version")}
    return info


def run_started(log_text: str, log: Path) -> str | None:
    """When the run started (its first job's time stamp in the log, as Snakemake prints it), else the
    time in the log file's name (YYYY-MM-DDTHHMMSS)."""
    m = re.search(r"^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]$", log_text, re.M)
    if m:
        return " ".join(m[1].split())
    m = re.match(r"(\d{4}-\d\d-\d\dT\d{6})", log.name)
    return m[1] if m else None


def snakemake_rules(log_text: str) -> dict[str, str]:
    """Benchmark file -> the Snakemake rule of its job, from the job blocks of a Snakemake log."""
    out = {}
    for m in re.finditer(r"^(?:local)?rule (\w+):\n((?:    .*\n)+)", log_text, re.M):
        b = re.search(r"^    benchmark: (\S+)$", m[2], re.M)
        if b:
            out[b[1]] = m[1]
    return out


BEGIN, END = "<!-- study-timing:begin (benchmarks/study_timing.py --update-docs) -->", "<!-- study-timing:end -->"


def timing_block(summary: dict, rows: list[dict], source: Path) -> str:
    """The Markdown block (markers included) of a study run's timing."""
    wall = f"{summary['wall_seconds'] / 60:.1f} min" if summary.get("wall_seconds") else "n/a"
    where = f" on an {summary['cpu']}" if summary.get("cpu") else ""
    if where and summary.get("started"):
        where += f" ({summary['started']})"
    lines = [
        BEGIN,
        "",
        f"* **Wall time {wall}** for {summary['jobs']} jobs on {summary['cores']} cores{where}, with "
        f"{summary['job_seconds']:.0f} s of work inside the jobs and "
        f"{summary.get('outside_jobs_seconds', float('nan')):.1f} s outside them (DAG, scheduling, start-up); "
        f"numbers in `results/benchmarks/{source.name}`.",
        "",
        "| stage | jobs | job-seconds | slowest job (s) | peak RSS (MB) |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['rule']} | {r['jobs']} | {r['total_s']:.0f} | {r['max_s']:.1f} | {r['max_rss_MB']:.0f} |" for r in rows
    ]
    return "\n".join(lines) + "\n" + END


def update_docs(md: Path, summary: dict, rows: list[dict], source: Path) -> None:
    """Rewrite the timing block between the markers of ``md``."""
    text = md.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{md}: no study-timing markers")
    head, rest = text.split(BEGIN, 1)
    md.write_text(head + timing_block(summary, rows, source) + rest.split(END, 1)[1])


if __name__ == "__main__":
    main()
