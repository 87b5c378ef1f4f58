"""The grid stage's command-line subcommands: a user's dataset as a grid cell, every measurement of
one cell, the study's tables and its figures.

:func:`register` adds ``prepare-data`` (a user's dataset as a cell directory), ``cell`` (one JSON
per cell; the measurements are :func:`dlgeom.study.cell.run_cell`), ``aggregate`` (cell JSONs →
the grid tables; with ``--landscape`` also the landscape stage's tables, and with
``--extra-claims`` the claims rows of the other stages → the study's claims table,
:func:`dlgeom.study.aggregate.write_tables`) and ``figure`` (one figure of the grid or the
landscape stage from those tables: :mod:`.grid_report`, :mod:`.landscape_report`).  A synthetic
cell directory is written by the generic ``dlgeom make-data --out-dir``.  Heavy libraries are
imported by the handlers only, so building the parser stays cheap.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..argtypes import check_inputs_exist, float_list, int_list, theta0
from ..thresholds import ZERO_COST
from ..validation import DlgeomInputError
from . import FIGURES, STUDY_THETA0, stage_logger
from .jobs import OUT_DIR_HELP, cell_key_from, figure_defaults, job_seed

__all__ = ["register"]

_int_list, _float_list, _theta0 = int_list, float_list, theta0


def register(sub) -> dict:
    """Add the ``prepare-data``, ``cell``, ``aggregate`` and ``figure`` subcommands to the CLI's
    subparsers; returns {name: handler}."""
    pr = sub.add_parser(
        "prepare-data",
        help="a user's dataset as a grid cell: shrink toward the class means, split",
        description="Shrink a dataset toward its class means (x <- x̄_j + λ(x − x̄_j)) and split it "
        "into stratified train/test parts per replicate.",
    )
    pr.add_argument("--data", required=True, help="dataset file (.npz or .csv), coordinates max|x| in [1e-150, 1e150]")
    pr.add_argument(
        "--name", default=None, help="the dataset's name in the tables (default: the file name without its extension)"
    )
    pr.add_argument("--shrink", type=float, default=1.0, help="λ in [0, 1e6] (default 1: unchanged)")
    pr.add_argument(
        "--test-fraction", type=float, default=0.3, help="held-out fraction per class, in (0, 1) (default 0.3)"
    )
    pr.add_argument("--replicates", type=int, default=1, help="random splits, 1..10000 (default 1)")
    pr.add_argument("--seed", type=_int_list, default=[0], help="seed prefix for the splits")
    pr.add_argument("--out-dir", required=True, help="cell directory (train_<k>.npz, test_<k>.npz, manifest.json)")

    cd = sub.add_parser(
        "cell-data",
        help="a grid cell's datasets from its key and the grid's settings (make-data or prepare-data)",
        description="Write the datasets of the cell --cell-key: make-data for a synthetic cell "
        "(Q, θ, r from the key), prepare-data of DATA for a user cell (name and λ from the key), with "
        "replicates, points per class, noise and the seed from the --settings files.",
    )
    cd.add_argument(
        "--cell-key",
        default="",
        help="e.g. Q3/theta2.2/r0.1 or user/iris/lambda0.5 (default: the path of --out after the study's data/)",
    )
    cd.add_argument("--out", required=True, help="the cell's manifest (…/manifest.json): the datasets go beside it")
    cd.add_argument("data", nargs="?", default=None, help="a user cell's data file")

    ce = sub.add_parser(
        "cell",
        help="every measurement of one grid cell (JSON)",
        description="Global construction at the default μ and over μ samples "
        "(D_eff and the paper's D), "
        "assumptions, 2^Q patterns, degeneracy probe, Prop 2.2 checks and held-out "
        "accuracy for every replicate and L of a cell directory.",
    )
    ce.add_argument(
        "--data-dir",
        "--data",
        required=True,
        help="cell directory written by make-data/prepare-data --out-dir, or its manifest.json",
    )
    ce.add_argument(
        "--layers-offsets",
        type=_int_list,
        default=[0, 2],
        help="L = Q + offset (0..1000), comma-separated (default 0,2)",
    )
    ce.add_argument("--mu-samples", type=int, default=8, help="μ draws per box, 1..10000 (default 8)")
    ce.add_argument(
        "--probe-eps",
        type=_float_list,
        default=[1e-10, 1e-8, 1e-6, 1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 3e-1],
        help="relative perturbation sizes, each in (0, 10] (default 1e-10,1e-8,1e-6,1e-4,1e-3,1e-2,0.03,0.1,0.3)",
    )
    ce.add_argument("--probe-draws", type=int, default=3, help="random directions per ε, 1..10000 (default 3)")
    ce.add_argument("--zero-cost", type=float, default=ZERO_COST, help="C at or below this counts as zero, in (0, 1]")
    ce.add_argument("--seed", type=_int_list, default=[0], help="seed prefix (μ draws, patterns, probe)")
    ce.add_argument(
        "--cell-key",
        default="",
        help="the cell's name in the tables (default: for a --data manifest.json, its path after the study's data/)",
    )
    ce.add_argument(
        "--patterns-engine",
        default="batched",
        choices=["batched", "fused", "sequential"],
        help="how the pattern analysis solves its least-squares problems: batched (stacked numpy, the "
        "default), fused (dlgeom's compiled kernel), sequential (one lstsq per μ); equal to rounding",
    )
    ce.add_argument(
        "--theta0",
        type=_theta0,
        default=STUDY_THETA0,
        help="angle margin θ_0: 'open_box' (default: the smallest θ_0 that opens the μ-box [P 4.24]), "
        "'midpoint' or a number",
    )
    ce.add_argument(
        "--make-data",
        nargs="?",
        const="",
        default=None,
        metavar="DATA",
        help="first write the cell's datasets beside the --data manifest, as `dlgeom cell-data` does (DATA: a user "
        "cell's data file): one process for both steps",
    )
    ce.add_argument("--out", required=True, help="output JSON")
    ce.add_argument("--quiet", action="store_true")
    ce.set_defaults(seed_key=job_seed(lambda a: cell_key_from(a, "data_dir"), "cell_data"))

    ag = sub.add_parser(
        "aggregate",
        help="cell JSONs -> tables and the claims table",
        description="Concatenate cell results into CSV tables and compute the claims table.",
    )
    ag.add_argument("--cells", nargs="+", required=True, help="cell JSON files")
    ag.add_argument("--landscape", nargs="*", default=None, help="landscape JSON files (dlgeom landscape)")
    ag.add_argument(
        "--extra-claims",
        nargs="*",
        default=[],
        help="claims CSVs of other stages (robustness, beyond), appended to the claims table",
    )
    ag.add_argument("--out-dir", required=True, help=OUT_DIR_HELP.format("tables"))
    ag.add_argument("--zero-cost", type=float, default=ZERO_COST, help="C at or below this counts as zero, in (0, 1]")
    ag.add_argument("--config-hash", default=None, help="recorded in the provenance sidecars")
    ag.add_argument("--seed", type=_int_list, default=None, help="base seed, recorded in the provenance")
    ag.set_defaults(seed_key=job_seed(), check_inputs=("cells", "landscape", "extra_claims"), study_out_dir="tables")

    fg = sub.add_parser(
        "figure",
        help="one figure of the study (PNG and PDF)",
        description="Draw one figure from the tables (byte-stable PNG and PDF).",
    )
    fg.add_argument("--name", default=None, choices=list(FIGURES), help="the figure (default: the name of --out)")
    fg.add_argument(
        "--tables",
        default=None,
        help="directory of the aggregated tables (default: the study's tables/ beside the folder of --out)",
    )
    fg.add_argument("--cell", default=None, help="curation: the cell to show (default: largest Q, regular θ)")
    fg.add_argument("--curation-Q", type=int, default=None, help="curation: with --curation-delta-ratio, the cell")
    fg.add_argument("--curation-delta-ratio", default=None, help="curation: the cell (Q, regular θ, this r)")
    fg.add_argument("--seed", type=_int_list, default=[0], help="truncation: seed of the illustration dataset")
    fg.add_argument(
        "--zero-cost",
        type=float,
        default=ZERO_COST,
        help="C at or below this counts as zero, in (0, 1] (phase labels, landscape cells shown)",
    )
    fg.add_argument("--out", required=True, help="output stem (writes STEM.png and STEM.pdf)")
    fg.add_argument("--config-hash", default=None, help="recorded in the provenance sidecars")
    fg.set_defaults(seed_key=job_seed())
    return {
        "prepare-data": _cmd_prepare_data,
        "cell-data": _cmd_cell_data,
        "cell": _cmd_cell,
        "aggregate": _cmd_aggregate,
        "figure": _cmd_figure,
    }


def _cmd_cell_data(args) -> dict:
    from ..cli import full_parser, settings_values
    from .jobs import cell_data_argv

    if Path(args.out).name != "manifest.json":
        raise DlgeomInputError(f"--out: the cell's manifest, a file named manifest.json; got {args.out!r}")
    values = settings_values(args.settings or [])
    for key in ("base_seed", "replicates", "n_per_class", "n_test_per_class", "noise"):
        if key not in values:
            raise DlgeomInputError(f"--settings: cell-data needs the grid's settings file (no key {key!r})")
    key = cell_key_from(args, "out")
    if not key:
        raise DlgeomInputError("--cell-key: give the cell's key (or an --out inside the study's data/ folder)")
    argv = cell_data_argv(key, values, Path(args.out).parent, args.data)
    parser, handlers = full_parser()
    return handlers[argv[0]](parser.parse_args(argv))


def _cmd_prepare_data(args) -> dict:
    from ..data import load_dataset
    from ..validation import MAX_DRAWS, check_coordinate_range, check_float, check_int
    from .cell import write_user_cell

    check_float(args.shrink, "--shrink", low=0.0, high=1e6)
    check_float(args.test_fraction, "--test-fraction", low=0.0, high=1.0, low_open=True, high_open=True)
    check_int(args.replicates, "--replicates", minimum=1, maximum=MAX_DRAWS)
    check_coordinate_range(load_dataset(args.data).X, args.data)  # fail before creating the directory
    write_user_cell(
        args.out_dir, args.data, args.shrink, args.test_fraction, args.replicates, args.seed, name=args.name
    )
    print(f"wrote {args.replicates} split(s) of {args.data} (λ = {args.shrink}) to {args.out_dir}")
    return {}


def _cmd_cell(args) -> dict:
    from ..jsonutil import write_json
    from ..validation import MAX_DRAWS, check_float, check_int
    from .cell import read_manifest, run_cell

    if not args.layers_offsets:
        raise DlgeomInputError("--layers-offsets: give at least one offset")
    for off in args.layers_offsets:
        if off < 0:
            raise DlgeomInputError(f"--layers-offsets: L = Q + {off} < Q; the global construction needs offsets >= 0")
        check_int(off, "--layers-offsets", maximum=1000)
    check_int(args.mu_samples, "--mu-samples", minimum=1, maximum=MAX_DRAWS)
    check_int(args.probe_draws, "--probe-draws", minimum=1, maximum=MAX_DRAWS)
    check_float(args.zero_cost, "--zero-cost", low=0.0, high=1.0, low_open=True)
    if not args.probe_eps:
        raise DlgeomInputError("--probe-eps: give at least one size")
    for e in args.probe_eps:
        check_float(e, "--probe-eps", low=0.0, high=10.0, low_open=True)
    if args.patterns_engine == "fused":
        from ..local_minima import fused_patterns_unavailable

        why = fused_patterns_unavailable()
        if why:
            raise DlgeomInputError(
                f"--patterns-engine: 'fused' cannot run here: {why}; 'batched' and 'sequential' need nothing compiled"
            )
    args.cell_key = cell_key_from(args, "data_dir")
    if args.make_data is not None:
        if Path(args.data_dir).name != "manifest.json":
            raise DlgeomInputError(
                f"--data: with --make-data, the cell's manifest.json to write; got {args.data_dir!r}"
            )
        made = argparse.Namespace(
            out=args.data_dir, data=args.make_data or None, settings=args.settings, cell_key=args.cell_key
        )
        _cmd_cell_data(made)
    if Path(args.data_dir).name == "manifest.json":
        args.data_dir = str(Path(args.data_dir).parent)
    read_manifest(args.data_dir)
    log = stage_logger(args.quiet)
    t0 = time.perf_counter()
    out = run_cell(
        args.data_dir,
        args.layers_offsets,
        args.mu_samples,
        tuple(args.probe_eps),
        args.probe_draws,
        args.zero_cost,
        args.seed,
        args.cell_key or str(args.data_dir),
        log,
        args.theta0,
        args.patterns_engine,
    )
    write_json(out, args.out)
    log(f"wrote {args.out} in {time.perf_counter() - t0:.2f} s")
    return {}


def _cmd_aggregate(args) -> dict:
    from ..validation import check_float
    from .aggregate import read_claims, write_tables
    from .grid_report import load_cells
    from .landscape_report import load_landscape
    from .provenance import write_provenance

    check_float(args.zero_cost, "--zero-cost", low=0.0, high=1.0, low_open=True)
    check_inputs_exist(args.cells, "--cells")
    frames = load_cells(args.cells)
    inputs = list(args.cells)
    if args.landscape is not None:
        check_inputs_exist(args.landscape, "--landscape")
        frames.update(load_landscape(args.landscape))
        inputs += list(args.landscape)
    extra = []
    for path in args.extra_claims:
        if not Path(path).is_file():
            raise DlgeomInputError(f"--extra-claims: file missing: {path}")
        extra.append(read_claims(path))
        inputs.append(path)
    written = write_tables(frames, args.out_dir, args.zero_cost, extra)
    for path in written:
        write_provenance(path, inputs, "dlgeom aggregate", args.config_hash, args.seed)
    print(f"wrote {len(written)} tables to {args.out_dir}")
    return {}


def _draw_figure(args, table):
    """The figure ``args.name`` from the tables read by ``table(name)``: a grid figure of
    :mod:`.grid_report` or a landscape figure of :mod:`.landscape_report`."""
    from . import grid_report as G
    from . import landscape_report as LR

    if args.name == "truncation":
        from ..construct import construct_global
        from ..synthetic import make_clustered

        data = make_clustered(2, 60, 0.15, seed=args.seed)
        return G.fig_truncation(data, construct_global(data, 2))
    elif args.name == "curation":
        cur = table("curation")
        cell = args.cell
        if cell is not None and cell not in set(cur.get("cell", ())):
            raise DlgeomInputError(f"--cell: {cell!r} is not a cell of {args.tables}/curation.csv")
        if cell is None:
            if not len(cur):
                raise DlgeomInputError(f"--tables: {args.tables}/curation.csv has no rows")
            cell = sorted(
                cur["cell"].unique(), key=lambda c: (-int(c.split("/")[0][1:]) if c.startswith("Q") else 0, c)
            )[0]
        return G.fig_curation(cur[cur["cell"] == cell], f"Curation layer by layer ({cell}, replicate 0)")
    elif args.name == "phase":
        return G.fig_phase(table("phase"), args.zero_cost)
    elif args.name == "local_minima":
        return G.fig_local_minima(table("patterns"))
    elif args.name == "accuracy":
        return G.fig_accuracy(table("constructions"))
    elif args.name == "landscape_runs":
        return LR.fig_landscape_runs(
            table("landscape_endpoints"), table("landscape_basins"), table("landscape_levels"), args.zero_cost
        )
    elif args.name == "landscape_minima":
        return LR.fig_landscape_minima(table("landscape_minima"), table("landscape_levels"))
    else:
        return LR.fig_landscape_shape(
            table("landscape_shape"), table("landscape_paths"), table("landscape_slice"), args.zero_cost
        )


def _cmd_figure(args) -> dict:
    import pandas as pd

    from ..validation import check_float
    from .figures import publish_figure
    from .jobs import synthetic_key

    figure_defaults(args, FIGURES)
    if args.cell is None and args.curation_Q is not None and args.curation_delta_ratio is not None:
        args.cell = synthetic_key(args.curation_Q, "regular", args.curation_delta_ratio)

    check_float(args.zero_cost, "--zero-cost", low=0.0, high=1.0, low_open=True)
    inputs = []

    def table(name):
        if args.tables is None:
            raise DlgeomInputError(f"--tables: the {args.name} figure needs the tables directory")
        path = Path(args.tables) / f"{name}.csv"
        if not path.is_file():
            raise DlgeomInputError(f"--tables: {path} does not exist; run dlgeom aggregate first")
        inputs.append(path)
        try:
            return pd.read_csv(path, keep_default_na=True, dtype={"theta": str, "s": str, "structure": str})
        except pd.errors.EmptyDataError:
            return pd.DataFrame()
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            raise DlgeomInputError(
                f"--tables: {path} is not a table of dlgeom aggregate ({type(exc).__name__})"
            ) from None

    try:
        fig = _draw_figure(args, table)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        if isinstance(exc, DlgeomInputError):
            raise
        raise DlgeomInputError(
            f"--tables: {args.tables} does not hold the tables of dlgeom aggregate the "
            f"{args.name} figure needs ({type(exc).__name__}: {exc})"
        ) from None
    publish_figure(fig, args.out, inputs, f"dlgeom figure --name {args.name}", args.config_hash, args.seed)
    return {}
