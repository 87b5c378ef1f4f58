"""Study runners for neural collapse layer by layer and for one extra neuron, with their CLI
subcommands.

* ``collapse-constructed``: the constructed global minimiser and the s = 1 network (L = Q + offset,
  replicate 0) of every grid cell where A1–A3 hold → NC rows per layer (JSON).
* ``collapse-landscape``: one landscape cell's end points (the runs JSON files of the landscape
  stage and the parameter files written by ``dlgeom landscape --endpoints``): NC rows per layer
  of every zero-cost and every certified non-zero end point, and the width-(Q+1) escape test of
  every distinct certified non-zero minimum under each embedding (JSON).
* ``collapse-tables`` and ``collapse-figure``: see :mod:`dlgeom.study.collapse_report` (tables
  neural_collapse, width_plus_one, separation; figures of the same names).

Seeds: every escape test draws from ``SeedSequence(seed + [minimum index, embedding index])``;
the entropy is stored in its row.  Outputs carry no timings (byte-stable); timings go to the log.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .. import __version__
from ..argtypes import check_inputs_exist, check_out_dir
from ..argtypes import check_json_out as _check_out
from ..validation import DlgeomInputError, check_float, check_int, check_seed
from . import stage_logger
from .jobs import OUT_DIR_HELP, cell_key_from, cell_key_of_data, job_seed, train_file

__all__ = [
    "LEVEL_TYPES",
    "register",
    "run_collapse_constructed",
    "run_collapse_landscape",
    "read_endpoints",
    "write_endpoints",
]

#: landscape category → level type of the width-(Q+1) table
LEVEL_TYPES = {"merge": "class-merging", "pattern": "pattern", "other": "other"}
NC_KEYS = (
    "nc1_papyan",
    "nc1_trace_ratio",
    "cdnv",
    "separation_fuzziness",
    "nc2_vs_targets",
    "nc2_vs_etf",
    "nc3_vs_targets",
    "nc3_papyan",
    "nc4_ncc_mismatch",
    "spread_max",
    "n_collapsed",
)


# ---- end-point parameter files ------------------------------------------------------------------


def write_endpoints(path, params: np.ndarray, rows: list[dict]) -> Path:
    """The end points' parameter vectors (one row per landscape row, same order) with the keys
    start, optimiser, run, as .npz, through :func:`dlgeom.safe_write.open_output` (the command's
    output group: a private temporary file renamed in with the JSON, or nothing)."""
    from ..safe_write import open_output

    path = Path(path)
    params = np.asarray(params, dtype=np.float64)
    if params.shape[0] != len(rows):
        raise DlgeomInputError(f"endpoints: {params.shape[0]} parameter vectors for {len(rows)} rows")
    with open_output(path, "wb") as fh:
        np.savez(
            fh,
            x=params,
            start=np.array([r["start"] for r in rows], dtype=str),
            optimiser=np.array([r["optimiser"] for r in rows], dtype=str),
            run=np.array([int(r["run"]) for r in rows], dtype=np.int64),
        )
    return path


def read_endpoints(path) -> dict:
    """{'x', 'start', 'optimiser', 'run'} of a file written by :func:`write_endpoints`."""
    try:
        with np.load(path) as z:
            return {k: z[k] for k in ("x", "start", "optimiser", "run")}
    except (OSError, KeyError, ValueError) as exc:
        raise DlgeomInputError(f"--endpoints: {path} is not an end-point file of dlgeom landscape ({exc})") from None


# ---- constructed networks ---------------------------------------------------------------------------


def _nc_rows(net, data, base: dict, rel_tol: float) -> tuple[list[dict], str]:
    from ..neural_collapse import neural_collapse

    layers, first = neural_collapse(net, data, rel_tol)
    pattern = "-".join(map(str, first))
    rows = []
    for r in layers:
        rows.append(
            {
                **base,
                "layer": r["layer"],
                "layer_kind": r["layer_kind"],
                "collapse_layers": pattern,
                **{k: r[k] for k in NC_KEYS},
            }
        )
    return rows, pattern


def run_collapse_constructed(cells, layers_offset: int = 0, rel_tol: float = 1e-6, log=None) -> dict:
    """``cells``: (cell key, data directory) pairs (each with manifest.json and train_0.npz).  For
    every cell where A1–A3 hold: NC rows of the global minimiser (output (4.74)) and of the s = 1
    network (affine least-squares output) with L = Q + ``layers_offset``."""
    from ..construct import construct_global, construct_pattern
    from ..data import load_dataset
    from ..geometry import assumptions, geometry
    from ..network import cost
    from . import STUDY_THETA0

    log = log or (lambda msg: None)
    offset = check_int(layers_offset, "--layers-offset", minimum=0)
    rel_tol = check_float(rel_tol, "--rel-tol", low=0.0, low_open=True)
    rows, skipped = [], []
    for key, ddir in cells:
        data = load_dataset(Path(ddir) / "train_0.npz")
        q = data.n_classes
        L = q + offset
        geom = geometry(data, STUDY_THETA0)
        if not assumptions(geom).all_hold:
            skipped.append(key)
            continue
        nets = {
            "global": construct_global(data, L, geom=geom).network,
            "s1": construct_pattern(data, np.ones(q, dtype=int), L, geom=geom, output="lstsq_affine").network,
        }
        for src, net in nets.items():
            base = {
                "cell": key,
                "source": src,
                "optimiser": "",
                "start": "",
                "run": -1,
                "category": "",
                "Q": q,
                "L": L,
                "cost": cost(net, data),
            }
            new, _ = _nc_rows(net, data, base, rel_tol)
            rows += new
    log(f"constructed: {len(cells) - len(skipped)} cells with A1-A3, {len(skipped)} without (skipped)")
    return {
        "kind": "collapse_constructed",
        "dlgeom_version": __version__,
        "layers_offset": offset,
        "rel_tol": rel_tol,
        "n_cells": len(cells),
        "skipped": skipped,
        "rows": rows,
    }


# ---- landscape end points -------------------------------------------------------------------------


def run_collapse_landscape(
    data,
    runs: list[dict],
    endpoints: list[dict],
    cell_key: str,
    seed=(0,),
    embeddings=("zero", "zero_out", "split"),
    representatives: int = 1,
    n_dirs: int = 16,
    opt_iter: int = 100,
    rel_tol: float = 1e-6,
    log=None,
) -> dict:
    """``runs``: the landscape runs documents of one cell (all start types); ``endpoints``: their
    parameter files (:func:`read_endpoints`), in the same order.  NC rows of every zero-cost end
    point (any optimiser) and every certified non-zero one (L-BFGS, criteria of
    :func:`dlgeom.study.landscape_report.certified_endpoints`); escape-test rows of the first
    ``representatives`` end points (in cost order) of every distinct certified minimum."""
    import pandas as pd

    from ..network import Network
    from ..width_extension import EMBEDDINGS, embed, escape_test
    from .landscape_report import certified_endpoints, distinct_minima
    from .tables import restore_nonfinite as _restore_nonfinite

    log = log or (lambda msg: None)
    seed = check_seed(seed, "--seed")
    representatives = check_int(representatives, "--representatives", minimum=1)
    n_dirs = check_int(n_dirs, "--n-dirs", minimum=0)
    opt_iter = check_int(opt_iter, "--opt-iter", minimum=0)
    rel_tol = check_float(rel_tol, "--rel-tol", low=0.0, low_open=True)
    for e in embeddings:
        if e not in EMBEDDINGS:
            raise DlgeomInputError(f"--embeddings: unknown embedding {e!r}; allowed: {', '.join(EMBEDDINGS)}")
    if len(runs) != len(endpoints):
        raise DlgeomInputError(f"--runs/--endpoints: {len(runs)} runs files but {len(endpoints)} end-point files")
    q = data.n_classes
    rows, xs = [], []
    for doc, ep in zip(runs, endpoints):
        r = doc.get("rows", [])
        if len(r) != ep["x"].shape[0]:
            raise DlgeomInputError(f"--endpoints: {ep['x'].shape[0]} parameter vectors for {len(r)} runs rows")
        for i, row in enumerate(r):
            if (row["start"], row["optimiser"], int(row["run"])) != (
                str(ep["start"][i]),
                str(ep["optimiser"][i]),
                int(ep["run"][i]),
            ):
                raise DlgeomInputError("--endpoints: rows are not in the order of the runs file")
        rows += r
        xs += list(ep["x"])
    L = int(rows[0]["L"]) if rows else q
    t0 = time.perf_counter()
    end = _restore_nonfinite(pd.DataFrame(rows))
    if len(end):
        end["x_index"] = np.arange(len(end))
    nc_rows = []

    def net_of(i):
        return Network.from_flat(xs[i], q, L)

    zero = end[end["category"] == "zero"] if len(end) else end
    cert = certified_endpoints(end) if len(end) else end
    for src, part in (("trained_zero", zero), ("trained_minimum", cert)):
        for r in part.itertuples():
            base = {
                "cell": cell_key,
                "source": src,
                "optimiser": r.optimiser,
                "start": r.start,
                "run": int(r.run),
                "category": r.category,
                "Q": q,
                "L": L,
                "cost": float(r.cost),
            }
            new, _ = _nc_rows(net_of(int(r.x_index)), data, base, rel_tol)
            nc_rows += new
    log(
        f"{cell_key}: NC of {len(zero)} zero-cost and {len(cert)} certified end points in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    t1 = time.perf_counter()
    width_rows = []
    minima = list(distinct_minima(cert)) if len(cert) else []
    for m_id, part in enumerate(minima):
        for rep in range(min(representatives, len(part))):
            r = part.iloc[rep]
            net = net_of(int(r["x_index"]))
            c0 = float(r["cost"])
            for e_id, kind in enumerate(embeddings):
                entropy = seed + [m_id, rep, e_id]
                rng = np.random.default_rng(np.random.SeedSequence(entropy))
                wide, choice = embed(net, kind, rng, data)
                res = escape_test(wide, data, rng, cost_before=c0, n_dirs=n_dirs, opt_iter=opt_iter)
                width_rows.append(
                    {
                        "cell": cell_key,
                        "Q": q,
                        "L": L,
                        "minimum": m_id,
                        "representative": rep,
                        "level_type": LEVEL_TYPES.get(r["category"], r["category"]),
                        "category": r["category"],
                        "nearest_level": r["nearest_level"],
                        "structure": r["structure"],
                        "kind": r["kind"],
                        "multiplicity": len(part),
                        "start": r["start"],
                        "optimiser": r["optimiser"],
                        "run": int(r["run"]),
                        "embedding": kind,
                        "escapable": res.escapable,
                        "cost_before": c0,
                        "cost_embedded": res.cost_embedded,
                        "cost_after": res.cost_after,
                        "rel_drop": (c0 - res.cost_after) / c0 if c0 > 0 else 0.0,
                        "method": res.method,
                        "status": res.status,
                        "grad_norm": res.grad_norm,
                        "min_hess_eig": res.min_hess_eig,
                        "probe_min_rel_change": res.probe_min_rel_change,
                        "n_iter": res.n_iter,
                        "choice": json.dumps(choice, sort_keys=True),
                        "seed": "-".join(str(int(v)) for v in entropy),
                    }
                )
    n_tests = len(width_rows)
    log(
        f"{cell_key}: {len(minima)} distinct certified minima, {n_tests} escape tests in "
        f"{time.perf_counter() - t1:.1f} s ({(time.perf_counter() - t1) / max(n_tests, 1) * 1e3:.0f} ms each); "
        f"escapable {sum(r['escapable'] for r in width_rows)}/{n_tests}"
    )
    return {
        "kind": "collapse_landscape",
        "dlgeom_version": __version__,
        "cell": cell_key,
        "Q": q,
        "L": L,
        "seed": seed,
        "rel_tol": rel_tol,
        "embeddings": list(embeddings),
        "representatives": representatives,
        "n_dirs": n_dirs,
        "opt_iter": opt_iter,
        "n_zero": int(len(zero)),
        "n_certified": int(len(cert)),
        "n_minima": len(minima),
        "nc_rows": nc_rows,
        "width_rows": width_rows,
    }


# ---- CLI -----------------------------------------------------------------------------------------------


def _cmd_constructed(args) -> dict:
    from ..jsonutil import write_json

    _check_out(args.out)
    dirs = [str(Path(d).parent) if Path(d).name == "manifest.json" else d for d in args.data_dirs or []]
    keys = [cell_key_of_data(d) for d in dirs] if args.cell_keys is None else args.cell_keys
    if len(dirs) != len(keys):
        raise DlgeomInputError(f"--cell-keys: {len(keys)} keys for {len(dirs)} --data-dirs")
    missing = [d for d in dirs if not (Path(d) / "train_0.npz").is_file()]
    if missing:
        raise DlgeomInputError(f"--data-dirs: {len(missing)} without train_0.npz, e.g. {missing[0]}")
    log = stage_logger(args.quiet)
    t0 = time.perf_counter()
    out = run_collapse_constructed(list(zip(keys, dirs)), args.layers_offset, args.rel_tol, log)
    write_json(out, args.out)
    log(f"wrote {args.out} ({len(out['rows'])} rows) in {time.perf_counter() - t0:.2f} s")
    return {}


def _cmd_landscape(args) -> dict:
    from ..data import load_dataset
    from ..jsonutil import write_json

    _check_out(args.out)
    args.cell_key = cell_key_from(args, "data")
    runs_paths = args.runs or []
    ep_paths = [str(Path(p).with_suffix(".npz")) for p in runs_paths] if args.endpoints is None else args.endpoints
    for flag, paths in (("--runs", runs_paths), ("--endpoints", ep_paths)):
        check_inputs_exist(paths, flag)
    if len(runs_paths) != len(ep_paths):
        raise DlgeomInputError(f"--endpoints: {len(ep_paths)} files for {len(runs_paths)} --runs files")
    from ..width_extension import EMBEDDINGS

    embeddings = [e for e in args.embeddings.split(",") if e]
    bad = [e for e in embeddings if e not in EMBEDDINGS] or ([] if embeddings else ["(none)"])
    if bad:
        raise DlgeomInputError(f"--embeddings: unknown embedding {bad[0]!r}; allowed: {', '.join(EMBEDDINGS)}")
    data = load_dataset(train_file(args.data))
    runs = []
    for p in runs_paths:
        try:
            runs.append(json.loads(Path(p).read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            raise DlgeomInputError(f"--runs: {p} is not a readable JSON file ({exc})") from None
    eps = [read_endpoints(p) for p in ep_paths]
    log = stage_logger(args.quiet)
    t0 = time.perf_counter()
    out = run_collapse_landscape(
        data,
        runs,
        eps,
        args.cell_key,
        args.seed,
        embeddings,
        args.representatives,
        args.n_dirs,
        args.opt_iter,
        args.rel_tol,
        log,
    )
    write_json(out, args.out)
    log(f"wrote {args.out} in {time.perf_counter() - t0:.2f} s")
    return {}


def _cmd_tables(args) -> dict:
    from .collapse_report import load_collapse, write_collapse_tables
    from .provenance import write_provenance

    paths = list(args.constructed or []) + list(args.landscape or [])
    check_inputs_exist(paths, "--constructed/--landscape")
    out_dir = check_out_dir(args.out_dir)
    frames = load_collapse(args.constructed or [], args.landscape or [])
    written = write_collapse_tables(frames, out_dir)
    for path in written:
        write_provenance(path, paths, "dlgeom collapse-tables", args.config_hash, args.seed)
    print(f"wrote {len(written)} tables to {out_dir}")
    return {}


def _cmd_figure(args) -> dict:
    from . import collapse_report as R
    from .figures import publish_figure

    tables = Path(args.out_dir).parent / "tables" if args.tables is None else Path(args.tables)
    out_dir = Path(args.out_dir)
    if not out_dir.is_dir():
        raise DlgeomInputError(f"--out-dir: directory {str(out_dir)!r} does not exist")
    for name in ("neural_collapse", "width_plus_one", "separation"):
        path = tables / f"{name}.csv"
        if not path.is_file():
            raise DlgeomInputError(f"--tables: {path} does not exist; run dlgeom collapse-tables first")
    frames = R.read_collapse_tables(tables)
    figures = (
        ("neural_collapse", R.fig_neural_collapse(frames["neural_collapse"]), ["neural_collapse"]),
        ("width_plus_one", R.fig_width_plus_one(frames["width_plus_one"]), ["width_plus_one"]),
        (
            "separation",
            R.fig_separation(frames["neural_collapse"], frames["separation"]),
            ["neural_collapse", "separation"],
        ),
    )
    for name, fig, sources in figures:
        inputs = [tables / f"{t}.csv" for t in sources]
        publish_figure(fig, out_dir / name, inputs, "dlgeom collapse-figure", args.config_hash, args.seed)
    return {}


def register(sub) -> dict:
    """Add the subcommands to the ``dlgeom`` parser; returns {name: handler}."""
    from ..argtypes import int_list as _int_list

    c = sub.add_parser(
        "collapse-constructed",
        help="neural collapse per layer of the constructed networks (JSON)",
        description="NC1-NC4 per layer of the global minimiser and the s = 1 network of every cell "
        "where A1-A3 hold (replicate 0).",
    )
    c.add_argument(
        "--data-dirs",
        nargs="*",
        default=None,
        help="cell data directories (manifest.json, train_0.npz), or their manifest.json files",
    )
    c.add_argument(
        "--cell-keys",
        nargs="*",
        default=None,
        help="the cells' names, one per data directory (default: each directory's path after the study's data/)",
    )
    c.add_argument("--layers-offset", type=int, default=0, help="L = Q + this (default 0)")
    c.add_argument("--rel-tol", type=float, default=1e-6, help="relative within-class spread counted as collapsed")
    c.add_argument("--out", required=True)
    c.add_argument("--quiet", action="store_true")

    la = sub.add_parser(
        "collapse-landscape",
        help="NC of landscape end points; width Q+1 escape tests (JSON)",
        description="NC1-NC4 per layer of every zero-cost and certified non-zero end point of one "
        "landscape cell, and the escape test at width Q+1 of every distinct certified "
        "non-zero minimum under each function-preserving embedding.",
    )
    la.add_argument("--data", required=True, help="the cell's training data (train_0.npz), or its manifest.json")
    la.add_argument("--runs", nargs="*", default=None, help="runs JSON files of dlgeom landscape (one cell)")
    la.add_argument(
        "--endpoints",
        nargs="*",
        default=None,
        help="their end-point .npz files, same order (default: the .npz beside each runs file)",
    )
    la.add_argument(
        "--cell-key", default="", help="the cell's name (default: for a --data manifest.json, its path after data/)"
    )
    la.add_argument("--embeddings", default="zero,zero_out,split", help="comma-separated: zero, zero_out, split")
    la.add_argument("--representatives", type=int, default=1, help="end points tested per distinct minimum")
    la.add_argument("--n-dirs", type=int, default=16, help="random directions of the probe")
    la.add_argument("--opt-iter", type=int, default=100, help="L-BFGS iterations from the embedded point")
    la.add_argument("--rel-tol", type=float, default=1e-6, help="relative within-class spread counted as collapsed")
    la.add_argument("--seed", type=_int_list, default=[0])
    la.add_argument("--out", required=True)
    la.add_argument("--quiet", action="store_true")
    la.set_defaults(seed_key=job_seed(lambda a: cell_key_from(a, "data"), "collapse"))

    t = sub.add_parser(
        "collapse-tables",
        help="collapse JSON files -> neural_collapse.csv, width_plus_one.csv, separation.csv, collapse_claims.csv",
    )
    t.add_argument("--constructed", nargs="*", default=None)
    t.add_argument("--landscape", nargs="*", default=None)
    t.add_argument("--out-dir", required=True, help=OUT_DIR_HELP.format("tables"))
    t.add_argument("--config-hash", default=None)
    t.add_argument("--seed", type=_int_list, default=None)
    t.set_defaults(seed_key=job_seed(), check_inputs=("constructed", "landscape"), study_out_dir="tables")

    f = sub.add_parser("collapse-figure", help="figures neural_collapse, width_plus_one, separation (PNG + PDF)")
    f.add_argument(
        "--tables", default=None, help="directory with the tables (default: the study's tables/ beside --out-dir)"
    )
    f.add_argument("--out-dir", required=True, help=OUT_DIR_HELP.format("figures"))
    f.add_argument("--config-hash", default=None)
    f.add_argument("--seed", type=_int_list, default=None)
    f.set_defaults(seed_key=job_seed(), study_out_dir="figures")
    return {
        "collapse-constructed": _cmd_constructed,
        "collapse-landscape": _cmd_landscape,
        "collapse-tables": _cmd_tables,
        "collapse-figure": _cmd_figure,
    }
