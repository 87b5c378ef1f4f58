"""``dlgeom perf-figure``: the performance figures of the report, drawn from the committed
benchmark results (``results/benchmarks/{scaling,time_to_cost}.json``; the benchmarks themselves
are scripts in ``benchmarks/``, run by hand on a quiet machine, never by the workflow)."""

from __future__ import annotations

from pathlib import Path

from ..validation import DlgeomInputError


def register(sub) -> dict:
    p = sub.add_parser(
        "perf-figure",
        help="a performance figure (scaling or time_to_cost) from a benchmark JSON",
        description="Draw the scaling or time-to-cost figure from the JSON written by "
        "benchmarks/bench_scaling.py or benchmarks/bench_time_to_cost.py.",
    )
    p.add_argument("--name", required=True, help="scaling or time_to_cost")
    p.add_argument("--data", required=True, help="the benchmark JSON")
    p.add_argument("--out", required=True, help="output stem (writes STEM.png and STEM.pdf)")
    p.add_argument("--config-hash", default=None, help="recorded in the provenance sidecars")
    return {"perf-figure": _cmd_perf_figure}


def _cmd_perf_figure(args) -> dict:
    import json

    from .figures import publish_figure
    from .perf_figures import PERF_FIGURES, fig_scaling, fig_time_to_cost

    if args.name not in PERF_FIGURES:
        raise DlgeomInputError(f"--name: must be one of {', '.join(PERF_FIGURES)}, got {args.name!r}")
    path = Path(args.data)
    if not path.is_file():
        raise DlgeomInputError(f"--data: no such file: {path}")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DlgeomInputError(f"--data: {path} is not a JSON file ({exc})") from None
    try:
        fig = (fig_scaling if args.name == "scaling" else fig_time_to_cost)(data)
    except (KeyError, TypeError) as exc:
        raise DlgeomInputError(f"--data: {path} is not a {args.name} benchmark result (missing {exc})") from None
    publish_figure(fig, args.out, [path], f"dlgeom perf-figure --name {args.name}", args.config_hash)
    return {}
