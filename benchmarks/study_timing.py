"""Timing of a finished study run: job count, wall time, time inside and outside the jobs.

    python benchmarks/study_timing.py [--workdir .] [--study default] [--cores 2] [--out FILE]

Reads the per-job benchmark files (results/<study>/benchmarks/jobs/**.tsv, written by every rule)
and the newest Snakemake log (.snakemake/log/*.snakemake.log, for the elapsed wall time and the
rule of every job: the slowest job and peak memory per Snakemake rule feed the SLURM profile's
resources, benchmarks/slurm_resources.py).  Prints a
table and writes results/benchmarks/study_<study>.json (or --out).  "Outside the jobs" is wall time minus the summed job
time divided by the cores: scheduling, DAG building and process start-up that the jobs don't see.
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
    logs = [Path(args.log)] if args.log else sorted((root / ".snakemake" / "log").glob("*.snakemake.log"))
    wall, rule_of = None, {}
    for log in reversed(logs):
        text = log.read_text()
        m = re.search(r"Elapsed time: (\d+):(\d+):([\d.]+)", text)
        if m:
            wall = int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
            rule_of = snakemake_rules(text)
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
                "by_rule": by_rule.reset_index().to_dict("records"),
                "by_snakemake_rule": per_rule.reset_index().to_dict("records"),
            },
            indent=2,
        )
        + "\n"
    )
    if args.update_docs:
        update_docs(Path(args.update_docs), summary, by_rule.reset_index().to_dict("records"), out)


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
    lines = [
        BEGIN,
        "",
        f"* **Wall time {wall}** for {summary['jobs']} jobs on {summary['cores']} cores, with "
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
