"""The ``dlgeom`` command line: one subcommand per step of the study.

Bad input prints one line ``dlgeom: error: …`` naming the argument or file, exits with status 2
and writes no output file; a failed write (disk full, I/O error) exits 1, an interrupt 130, also
with one line and nothing written.  Every output's directory is checked before the work, and all
files of a command are written through :mod:`dlgeom.safe_write` and appear together at the end.
The limits of every argument are in ``dlgeom COMMAND --help`` and ``docs/robust-input.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time

import numpy as np

from . import __version__
from .argtypes import check_inputs_exist, float_list, int_list
from .thresholds import ZERO_COST
from .validation import DlgeomInputError

# Modules that add their own subcommands: each defines ``register(sub) -> dict[name, handler]``,
# where ``sub`` is the subparsers object and a handler takes the parsed args.
EXTENSIONS: tuple[str, ...] = ("dlgeom.study.robustness_run", "dlgeom.study.beyond_run", "dlgeom.study.perf_run",
                               "dlgeom.study.collapse_run", "dlgeom.study.summary_run")


_int_list, _float_list = int_list, float_list


def _theta0(text: str):
    """--theta0: a number (radians) or a rule name ('midpoint', 'open_box')."""
    if text in ("midpoint", "open_box"):
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number in (0, pi), 'midpoint' or 'open_box', got {text!r}") from None


class _Parser(argparse.ArgumentParser):
    """argparse with the project's one-line error format (``dlgeom: error: …``, exit 2)."""

    def error(self, message):
        sub = self.prog.split()[-1]
        where = "" if sub == "dlgeom" else f"{sub}: "
        print(f"dlgeom: error: {where}{message} (see dlgeom {'' if not where else sub + ' '}--help)", file=sys.stderr)
        sys.exit(2)


_NEGATIVE_VALUE = re.compile(r"^-[\d.]")


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--mu -0.3,-0.2`` → ``--mu=-0.3,-0.2``: argparse would read a value starting with '-'
    followed by commas as an option."""
    out, i = [], 0
    while i < len(argv):
        tok = argv[i]
        if tok.startswith("--") and "=" not in tok and i + 1 < len(argv) and _NEGATIVE_VALUE.match(argv[i + 1]):
            out.append(f"{tok}={argv[i + 1]}")
            i += 2
        else:
            out.append(tok)
            i += 1
    return out


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="dlgeom",
        description="Explicit L² minimisers of deep ReLU networks by truncation maps "
                    "(Chen & Muñoz Ewald, arXiv:2309.10639).",
    )
    p.add_argument("--version", action="version", version=f"dlgeom {__version__}")
    p.add_argument("--settings", action="append", default=None, metavar="FILE",
                   help="a settings file of this step (results/<study>/settings/*.json; repeat for several): "
                        "its hash is recorded in every output")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    cs = sub.add_parser("check-settings", help="refuse outputs made with other settings than the study's current ones",
                        description="Exit 2 with one line naming the files when any input records settings that "
                                    "differ from the settings files of --settings-dir.")
    cs.add_argument("--settings-dir", required=True, help="the study's settings folder (results/<study>/settings)")
    cs.add_argument("--inputs", nargs="*", default=[], help="JSON outputs, tables or figures to check")

    m = sub.add_parser("make-data", help="write a synthetic clustered dataset (.npz or .csv)",
                       description="Clustered data in R^Q with a controlled δ-ratio r and cone angle θ.")
    m.add_argument("--Q", type=int, required=True, help="number of classes = dimension (2..1000)")
    m.add_argument("--n", type=_int_list, default=[100],
                   help="points per class: one integer, or Q comma-separated integers, each 2..10^6 "
                        "and N·Q <= 5·10^7 (default 100)")
    m.add_argument("--delta-ratio", type=float, default=0.1,
                   help="r = δ / min_j |x̄_j − x̄| (> 0; the paper needs < 0.25; default 0.1)")
    m.add_argument("--theta", type=float, default=None,
                   help="cone angle max_j θ_{*,j} of the mean simplex at δ = 0, radians (Q >= 3; "
                        "default: the regular simplex)")
    m.add_argument("--noise", default="uniform", choices=["uniform", "gaussian", "anisotropic"],
                   help="noise shape (default uniform in the ball)")
    m.add_argument("--outliers", type=float, default=0.0, help="outlier fraction in [0, 0.5) (default 0)")
    m.add_argument("--elongation", type=float, default=5.0, help="axis ratio of anisotropic clusters (default 5)")
    m.add_argument("--scale", type=float, default=1.0, help="scale of all coordinates, in [1e-150, 1e150] (default 1)")
    m.add_argument("--seed", type=_int_list, default=[0],
                   help="seed: 1 to 32 integers in 0..2^63-1 for SeedSequence (default 0)")
    dest = m.add_mutually_exclusive_group(required=True)
    dest.add_argument("--out", help="output file, .npz (with metadata) or .csv")
    dest.add_argument("--out-dir", help="write a grid cell instead: train_<k>.npz and test_<k>.npz for "
                                       "k < --replicates, seeds [SEED..., k, 0] and [SEED..., k, 1], and manifest.json")
    m.add_argument("--replicates", type=int, default=1, help="with --out-dir: datasets per cell, 1..10000 (default 1)")
    m.add_argument("--test-n", type=int, default=200,
                   help="with --out-dir: held-out points per class, 1..10^6 (default 200)")

    c = sub.add_parser("check", help="assumptions report (A1–A3, r, θ_*, D) of a dataset file, as JSON",
                       description="Print the assumptions report of a dataset file as JSON.")
    c.add_argument("--data", required=True, help="dataset file (.npz or .csv)")
    c.add_argument("--theta0", type=_theta0, default=None,
                   help="angle margin θ_0: a number in (0, π], 'midpoint' ((π − θ_max)/2, the default) or 'open_box' "
                        "(the smallest θ_0 that opens the μ-box [P 4.24])")
    c.add_argument("--out", default=None, help="also write the JSON to this file")

    k = sub.add_parser("construct", help="global construction, pattern analysis, degeneracy probe (JSON)",
                       description="Build the global minimiser of Thm 2.3 on a dataset file and "
                                   "analyse the 2^Q pattern networks.")
    k.add_argument("--data", required=True, help="dataset file (.npz or .csv), coordinates max|x| in [1e-150, 1e150]")
    k.add_argument("--layers", type=int, required=True, help="number of hidden layers L (Q..10000)")
    k.add_argument("--out", required=True, help="output JSON file")
    k.add_argument("--mu", type=_float_list, default=None,
                   help="Q comma-separated finite μ_j in the box I_0 (default: its midpoint)")
    k.add_argument("--D", dest="use_D", default="eff", choices=["eff", "paper"],
                   help="μ-box bound: D_eff = min(D, min_j|x̄_j − x̄|) (default) or the paper's D")
    k.add_argument("--theta0", type=_theta0, default=None,
                   help="angle margin θ_0: a number in (0, π], 'midpoint' ((π − θ_max)/2, the default) or 'open_box' "
                        "(the smallest θ_0 that opens the μ-box [P 4.24])")
    k.add_argument("--mu-samples", type=int, default=8,
                   help="μ draws per box for the max cost over μ and the μ-dependence, 0..10000 (default 8)")
    k.add_argument("--no-patterns", action="store_true", help="skip the 2^Q pattern analysis (needed for Q > 12)")
    k.add_argument("--probe", action="store_true", help="run the degeneracy probe")
    k.add_argument("--zero-cost", type=float, default=ZERO_COST,
                   help=f"C at or below this counts as zero, in (0, 1] (default {ZERO_COST:g})")
    k.add_argument("--test-data", default=None,
                   help="held-out dataset file for the classifier accuracy (default: none)")
    k.add_argument("--seed", type=_int_list, default=[0],
                   help="seed for the μ samples and the probe: 1 to 32 integers in 0..2^63-1")
    k.add_argument("--quiet", action="store_true", help="no progress lines on stderr")

    pr = sub.add_parser("prepare-data", help="a user's dataset as a grid cell: shrink toward the class means, split",
                        description="Shrink a dataset toward its class means (x <- x̄_j + λ(x − x̄_j)) and split it "
                                    "into stratified train/test parts per replicate.")
    pr.add_argument("--data", required=True, help="dataset file (.npz or .csv), coordinates max|x| in [1e-150, 1e150]")
    pr.add_argument("--shrink", type=float, default=1.0, help="λ in [0, 1e6] (default 1: unchanged)")
    pr.add_argument("--test-fraction", type=float, default=0.3,
                    help="held-out fraction per class, in (0, 1) (default 0.3)")
    pr.add_argument("--replicates", type=int, default=1, help="random splits, 1..10000 (default 1)")
    pr.add_argument("--seed", type=_int_list, default=[0], help="seed prefix for the splits")
    pr.add_argument("--out-dir", required=True, help="cell directory (train_<k>.npz, test_<k>.npz, manifest.json)")

    ce = sub.add_parser("cell", help="every measurement of one grid cell (JSON)",
                        description="Global construction at the default μ and over μ samples "
                                    "(D_eff and the paper's D), "
                                    "assumptions, 2^Q patterns, degeneracy probe, Prop 2.2 checks and held-out "
                                    "accuracy for every replicate and L of a cell directory.")
    ce.add_argument("--data-dir", required=True, help="cell directory written by make-data/prepare-data --out-dir")
    ce.add_argument("--layers-offsets", type=_int_list, default=[0, 2],
                    help="L = Q + offset (0..1000), comma-separated (default 0,2)")
    ce.add_argument("--mu-samples", type=int, default=8, help="μ draws per box, 1..10000 (default 8)")
    ce.add_argument("--probe-eps", type=_float_list, default=[1e-10, 1e-8, 1e-6, 1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 3e-1],
                    help="relative perturbation sizes, each in (0, 10] (default 1e-10,1e-8,1e-6,1e-4,1e-3,1e-2,0.03,"
                         "0.1,0.3)")
    ce.add_argument("--probe-draws", type=int, default=3, help="random directions per ε, 1..10000 (default 3)")
    ce.add_argument("--zero-cost", type=float, default=ZERO_COST, help="C at or below this counts as zero, in (0, 1]")
    ce.add_argument("--seed", type=_int_list, default=[0], help="seed prefix (μ draws, patterns, probe)")
    ce.add_argument("--cell-key", default="", help="the cell's name in the tables")
    ce.add_argument("--theta0", type=_theta0, default="open_box",
                    help="angle margin θ_0: 'open_box' (default: the smallest θ_0 that opens the μ-box [P 4.24]), "
                         "'midpoint' or a number")
    ce.add_argument("--out", required=True, help="output JSON")
    ce.add_argument("--quiet", action="store_true")

    ag = sub.add_parser("aggregate", help="cell JSONs -> tables and the claims table",
                        description="Concatenate cell results into CSV tables and compute the claims table.")
    ag.add_argument("--cells", nargs="+", required=True, help="cell JSON files")
    ag.add_argument("--landscape", nargs="*", default=None, help="landscape JSON files (dlgeom landscape)")
    ag.add_argument("--extra-claims", nargs="*", default=[],
                    help="claims CSVs of other stages (robustness, beyond), appended to the claims table")
    ag.add_argument("--out-dir", required=True, help="directory for the tables")
    ag.add_argument("--zero-cost", type=float, default=ZERO_COST, help="C at or below this counts as zero, in (0, 1]")
    ag.add_argument("--config-hash", default=None, help="recorded in the provenance sidecars")
    ag.add_argument("--seed", type=_int_list, default=None, help="base seed, recorded in the provenance")

    fg = sub.add_parser("figure", help="one figure of the study (PNG and PDF)",
                        description="Draw one figure from the tables (byte-stable PNG and PDF).")
    from .study import FIGURES

    fg.add_argument("--name", required=True, choices=list(FIGURES))
    fg.add_argument("--tables", default=None, help="directory of the aggregated tables")
    fg.add_argument("--cell", default=None, help="curation: the cell to show (default: largest Q, regular θ)")
    fg.add_argument("--seed", type=_int_list, default=[0], help="truncation: seed of the illustration dataset")
    fg.add_argument("--zero-cost", type=float, default=ZERO_COST,
                    help="C at or below this counts as zero, in (0, 1] (phase labels, landscape cells shown)")
    fg.add_argument("--out", required=True, help="output stem (writes STEM.png and STEM.pdf)")
    fg.add_argument("--config-hash", default=None, help="recorded in the provenance sidecars")

    la = sub.add_parser("landscape", help="optimiser runs, end-point levels, Hessians, μ-paths, a 2D slice (JSON)",
                        description="What GD, Adam and L-BFGS find on C² from random (He, Xavier) and perturbed "
                                    "(global minimiser, s = 1 pattern) starts; Hessian spectra at the constructed "
                                    "minima; μ-paths from every pattern to the global minimiser; a 2D slice.")
    la.add_argument("--data", required=True, help="dataset file (.npz or .csv), coordinates max|x| in [1e-150, 1e150]")
    la.add_argument("--layers", type=int, required=True, help="hidden layers L (Q..10000)")
    la.add_argument("--runs", type=int, default=200, help="runs per start type and optimiser, 1..10000 (default 200)")
    la.add_argument("--optimiser-runs", default="",
                    help="runs for the optimisers named here in place of --runs, e.g. gd=250,adam=250 "
                         "(each 1..10000; an optimiser's runs are the first ones of any longer list)")
    la.add_argument("--starts", default="he,xavier,global,none",
                    help="comma-separated: he, xavier, global (perturbed global minimiser), none (perturbed s = 1)")
    la.add_argument("--rho", type=_float_list, default=[1e-4, 1e-1],
                    help="relative perturbation radii of the anchored starts, each in (0, 10] (default 1e-4,0.1)")
    la.add_argument("--optimisers", default="lbfgs,gd,adam", help="comma-separated: lbfgs, gd, adam")
    la.add_argument("--max-iter", type=int, default=500, help="iterations per run, 1..10^6 (default 500)")
    la.add_argument("--seed", type=_int_list, default=[0], help="seed prefix")
    la.add_argument("--engine", default="batched", choices=["batched", "sequential"],
                    help="batched: the runs of one (start, optimiser) at once (default); sequential: one by one, "
                         "L-BFGS through scipy")
    la.add_argument("--batch", type=int, default=256, help="runs per batch, one progress line each (default 256)")
    la.add_argument("--no-shape", action="store_true", help="skip Hessians, μ-paths and the slice")
    la.add_argument("--cell-key", default="", help="the cell's name in the tables")
    la.add_argument("--zero-cost", type=float, default=ZERO_COST,
                    help="the constructed minimiser counts as zero cost at C at or below this, in (0, 1] (local shape)")
    la.add_argument("--out", required=True, help="output JSON")
    la.add_argument("--endpoints", default=None,
                    help="also write the end points' parameter vectors (.npz: x, start, optimiser, run; "
                         "rows in the order of the JSON rows)")
    la.add_argument("--quiet", action="store_true")
    return p


def _activate_settings(paths) -> None:
    from .jsonutil import set_settings_stamp
    from .study.layout import settings_stamp

    for p in paths:
        if not os.path.isfile(p):
            raise DlgeomInputError(f"--settings: {p} is not a file")
    stamps = [settings_stamp(p) for p in paths]
    set_settings_stamp(stamps[0] if len(stamps) == 1 else stamps)


def _cmd_check_settings(args) -> dict:
    from .study.layout import check_settings

    check_settings(args.inputs, args.settings_dir)
    return {}


def _summary(data) -> dict:
    return {"N": data.n_points, "Q": data.n_classes, "counts": data.counts.tolist(), "meta": data.meta}


def _cmd_make_data(args) -> dict:
    from .data import save_dataset
    from .synthetic import make_clustered

    from .validation import (
        MAX_DATA_ENTRIES,
        MAX_DRAWS,
        MAX_POINTS_PER_CLASS,
        MAX_Q_DATA,
        MAX_SCALE,
        MIN_SCALE,
        check_float,
        check_int,
    )

    q = check_int(args.Q, "--Q", minimum=2, maximum=MAX_Q_DATA)
    for v in args.n:
        check_int(v, "--n", minimum=2, maximum=MAX_POINTS_PER_CLASS)
    check_float(args.scale, "--scale", low=MIN_SCALE, high=MAX_SCALE)
    if args.out is not None and not args.out.lower().endswith((".npz", ".csv")):
        raise DlgeomInputError(f"--out: must end in .npz or .csv, got {args.out!r}")
    total = (sum(args.n) if len(args.n) > 1 else args.n[0] * q) * q
    if args.out_dir:
        total = max(total, check_int(args.test_n, "--test-n", minimum=1, maximum=MAX_POINTS_PER_CLASS) * q * q)
        check_int(args.replicates, "--replicates", minimum=1, maximum=MAX_DRAWS)
    if total > MAX_DATA_ENTRIES:
        raise DlgeomInputError(f"--n/--Q: a dataset of N·Q = {total:.3g} entries is above the limit "
                               f"{MAX_DATA_ENTRIES:.0e}; use fewer points or classes")
    n = args.n[0] if len(args.n) == 1 else args.n
    if args.out_dir:
        from .study.cell import write_synthetic_cell
        from .validation import check_int

        check_int(args.replicates, "--replicates", minimum=1)
        check_int(args.test_n, "--test-n", minimum=1)
        if len(args.n) != 1:
            raise DlgeomInputError("--n: with --out-dir give one integer (points per class)")
        # validate all arguments on a tiny draw before writing anything
        make_clustered(args.Q, 2, args.delta_ratio, args.theta, args.noise, args.outliers,
                       args.elongation, args.scale, args.seed)
        write_synthetic_cell(args.out_dir, args.Q, args.theta, args.delta_ratio, n, args.test_n,
                             args.noise, args.replicates, args.seed)
        print(f"wrote {args.replicates} replicate(s) to {args.out_dir}")
        return {}
    data = make_clustered(args.Q, n, args.delta_ratio, args.theta, args.noise, args.outliers,
                          args.elongation, args.scale, args.seed)
    save_dataset(data, args.out)
    real = data.meta["realised"]
    print(f"wrote {args.out}: N={data.n_points} Q={data.n_classes} r={real['r']:.4g} "
          f"theta_max={real['theta_max']:.4g} cond_xred={real['cond_xred']:.4g}")
    return {}


def _cmd_check(args) -> dict:
    from .data import load_dataset
    from .geometry import assumptions, geometry
    from .jsonutil import jsonable, write_json

    data = load_dataset(args.data)
    report = {"data": args.data, "dataset": _summary(data),
              "assumptions": assumptions(geometry(data, args.theta0)).to_dict()}
    if args.out:
        write_json(report, args.out)
    print(json.dumps(jsonable(report), indent=2))
    return report


def _cmd_construct(args) -> dict:
    from .classifier import predict_metric, predict_network
    from .construct import construct_global
    from .data import load_dataset
    from .degeneracy import degeneracy_probe
    from .geometry import assumptions, geometry
    from .jsonutil import write_json
    from .local_minima import analyse_patterns, mu_samples
    from .network import activation_margin, cost
    from .validation import check_float, check_int

    t0 = time.perf_counter()
    log = (lambda *a: None) if args.quiet else (lambda msg: print(f"[dlgeom] {msg}", file=sys.stderr, flush=True))
    from .validation import check_coordinate_range

    data = load_dataset(args.data)
    check_coordinate_range(data.X, args.data)
    test = load_dataset(args.test_data) if args.test_data else None
    if test is not None:
        check_coordinate_range(test.X, args.test_data)
    if test is not None and test.n_classes != data.n_classes:
        raise DlgeomInputError(f"{args.test_data}: has Q = {test.n_classes}, the training data Q = {data.n_classes}")
    from .validation import MAX_DRAWS, MAX_LAYERS, MAX_PATTERN_Q

    q = data.n_classes
    L = check_int(args.layers, "--layers", minimum=q, maximum=MAX_LAYERS)
    check_int(args.mu_samples, "--mu-samples", minimum=0, maximum=MAX_DRAWS)
    check_float(args.zero_cost, "--zero-cost", low=0.0, high=1.0, low_open=True)
    if not args.no_patterns and q > MAX_PATTERN_Q:
        raise DlgeomInputError(f"--data: Q = {q} has 2^{q} patterns, above the limit Q <= {MAX_PATTERN_Q} of the "
                               "pattern analysis; add --no-patterns")
    if args.mu is not None and len(args.mu) != q:
        raise DlgeomInputError(f"--mu: expected {q} values (one per class), got {len(args.mu)}")
    geom = geometry(data, args.theta0)
    report_assumptions = assumptions(geom)
    con = construct_global(data, L, args.mu, use_D=args.use_D, geom=geom)
    c = cost(con.network, data)
    log(f"global construction: C = {c:.3e} (Q={q}, L={L}, r={geom.r:.3g}, theta*={geom.theta_max:.3g})")

    seq = np.random.SeedSequence(args.seed)
    mu_seq, pat_seq, probe_seq = seq.spawn(3)
    rng = np.random.default_rng(mu_seq)
    over_mu = {}
    for which in ("eff", "paper"):
        if geom.box_nonempty(which) and args.mu_samples:
            costs = [cost(construct_global(data, L, m, use_D=which, geom=geom).network, data)
                     for m in mu_samples(geom, np.zeros(q), args.mu_samples, rng, which)]
            over_mu[which] = {"max": max(costs), "mean": float(np.mean(costs)), "n": len(costs),
                              "fraction_zero": float(np.mean(np.array(costs) <= args.zero_cost))}
        else:
            over_mu[which] = {"max": None, "mean": None, "n": 0, "fraction_zero": None}
    out = {
        "dlgeom_version": __version__,
        "data": args.data,
        "dataset": _summary(data),
        "seed": args.seed,
        "layers": L,
        "use_D": args.use_D,
        "cost": c,
        "zero_cost": bool(c <= args.zero_cost),
        "mu": con.mu.tolist(),
        "mu_in_box": con.mu_in_box,
        "mu_box": list(geom.mu_box(args.use_D)),
        "theta0": geom.theta0,
        "theta_star_construction": geom.theta_star,
        "activation_margin": activation_margin(con.network, data.X),
        "cost_over_mu": over_mu,
        "assumptions": report_assumptions.to_dict(),
    }
    train_pred = predict_metric(con, data.Y, data.X)
    out["classifier"] = {
        "train_accuracy": float(np.mean(train_pred == data.y)),
        "agreement_with_network": float(np.mean(train_pred == predict_network(con, data.Y, data.X))),
    }
    if test is not None:
        test_pred = predict_metric(con, data.Y, test.X)
        out["classifier"]["test_accuracy"] = float(np.mean(test_pred == test.y))
        out["classifier"]["test_agreement_with_network"] = float(
            np.mean(test_pred == predict_network(con, data.Y, test.X)))
    if not args.no_patterns:
        log(f"analysing {2 ** q} patterns")
        reps = analyse_patterns(data, L, geom, args.mu_samples, pat_seq.generate_state(1)[0])
        out["patterns"] = [r.to_dict() for r in reps]
    if args.probe:
        log("degeneracy probe")
        out["degeneracy"] = degeneracy_probe(con.network, data, seed=probe_seq.generate_state(1)[0])
    write_json(out, args.out)
    log(f"wrote {args.out} in {time.perf_counter() - t0:.2f} s")
    return out


def _cmd_prepare_data(args) -> dict:
    from .data import load_dataset
    from .study.cell import write_user_cell
    from .validation import check_float, check_int

    from .validation import MAX_DRAWS

    check_float(args.shrink, "--shrink", low=0.0, high=1e6)
    check_float(args.test_fraction, "--test-fraction", low=0.0, high=1.0, low_open=True, high_open=True)
    check_int(args.replicates, "--replicates", minimum=1, maximum=MAX_DRAWS)
    from .validation import check_coordinate_range

    check_coordinate_range(load_dataset(args.data).X, args.data)  # fail before creating the directory
    write_user_cell(args.out_dir, args.data, args.shrink, args.test_fraction, args.replicates, args.seed)
    print(f"wrote {args.replicates} split(s) of {args.data} (λ = {args.shrink}) to {args.out_dir}")
    return {}


def _cmd_cell(args) -> dict:
    from .jsonutil import write_json
    from .study.cell import read_manifest, run_cell
    from .validation import check_float, check_int

    from .validation import MAX_DRAWS

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
    read_manifest(args.data_dir)
    log = (lambda msg: None) if args.quiet else (lambda msg: print(f"[dlgeom] {msg}", file=sys.stderr, flush=True))
    t0 = time.perf_counter()
    out = run_cell(args.data_dir, args.layers_offsets, args.mu_samples, tuple(args.probe_eps), args.probe_draws,
                   args.zero_cost, args.seed, args.cell_key or str(args.data_dir), log, args.theta0)
    write_json(out, args.out)
    log(f"wrote {args.out} in {time.perf_counter() - t0:.2f} s")
    return {}


def _cmd_aggregate(args) -> dict:
    from pathlib import Path

    from .study.aggregate import load_cells, load_landscape, read_claims, write_tables
    from .study.provenance import write_provenance

    from .validation import check_float

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


def _draw_figure(args, F, table):
    """The figure ``args.name`` from the tables read by ``table(name)``."""
    if args.name == "truncation":
        from .construct import construct_global
        from .synthetic import make_clustered

        data = make_clustered(2, 60, 0.15, seed=args.seed)
        return F.fig_truncation(data, construct_global(data, 2))
    elif args.name == "curation":
        cur = table("curation")
        cell = args.cell
        if cell is not None and cell not in set(cur.get("cell", ())):
            raise DlgeomInputError(f"--cell: {cell!r} is not a cell of {args.tables}/curation.csv")
        if cell is None:
            if not len(cur):
                raise DlgeomInputError(f"--tables: {args.tables}/curation.csv has no rows")
            cell = sorted(cur["cell"].unique(),
                          key=lambda c: (-int(c.split("/")[0][1:]) if c.startswith("Q") else 0, c))[0]
        return F.fig_curation(cur[cur["cell"] == cell], f"Curation layer by layer ({cell}, replicate 0)")
    elif args.name == "phase":
        return F.fig_phase(table("phase"), args.zero_cost)
    elif args.name == "local_minima":
        return F.fig_local_minima(table("patterns"))
    elif args.name == "accuracy":
        return F.fig_accuracy(table("constructions"))
    elif args.name == "landscape_runs":
        return F.fig_landscape_runs(table("landscape_endpoints"), table("landscape_basins"), table("landscape_levels"),
                                    args.zero_cost)
    elif args.name == "landscape_minima":
        return F.fig_landscape_minima(table("landscape_minima"), table("landscape_levels"))
    else:
        return F.fig_landscape_shape(table("landscape_shape"), table("landscape_paths"), table("landscape_slice"),
                                     args.zero_cost)


def _cmd_figure(args) -> dict:
    from pathlib import Path

    import pandas as pd

    from .study import figures as F
    from .study.provenance import write_provenance

    from .validation import check_float

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
                f"--tables: {path} is not a table of dlgeom aggregate ({type(exc).__name__})") from None

    try:
        fig = _draw_figure(args, F, table)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        if isinstance(exc, DlgeomInputError):
            raise
        raise DlgeomInputError(f"--tables: {args.tables} does not hold the tables of dlgeom aggregate the "
                               f"{args.name} figure needs ({type(exc).__name__}: {exc})") from None
    for path in F.save_figure(fig, args.out):
        write_provenance(path, inputs, f"dlgeom figure --name {args.name}", args.config_hash, args.seed)
    print(f"wrote {args.out}.png and {args.out}.pdf")
    return {}


def _cmd_landscape(args) -> dict:
    from .data import load_dataset
    from .jsonutil import write_json
    from .landscape import OPTIMISERS
    from .study.landscape_run import run_landscape
    from .validation import check_int

    from .validation import MAX_DRAWS, MAX_LAYERS, check_coordinate_range, check_float

    data = load_dataset(args.data)
    check_coordinate_range(data.X, args.data)
    L = check_int(args.layers, "--layers", minimum=data.n_classes, maximum=MAX_LAYERS)
    check_int(args.runs, "--runs", minimum=1, maximum=MAX_DRAWS)
    check_int(args.max_iter, "--max-iter", minimum=1, maximum=10**6)
    if not args.rho:
        raise DlgeomInputError("--rho: give at least one radius")
    for rho in args.rho:
        check_float(rho, "--rho", low=0.0, high=10.0, low_open=True)
    check_int(args.batch, "--batch", minimum=1, maximum=100000)
    check_float(args.zero_cost, "--zero-cost", low=0.0, high=1.0, low_open=True)
    starts = [s for s in args.starts.split(",") if s]
    opts = [o for o in args.optimisers.split(",") if o]
    for st in starts:
        if st not in ("he", "xavier", "global", "none"):
            raise DlgeomInputError(f"--starts: unknown start {st!r}; allowed: he, xavier, global, none")
    for o in opts:
        if o not in OPTIMISERS:
            raise DlgeomInputError(f"--optimisers: unknown optimiser {o!r}; allowed: {', '.join(OPTIMISERS)}")
    opt_runs = _optimiser_runs(args.optimiser_runs, opts)
    if args.endpoints is not None and not str(args.endpoints).endswith(".npz"):
        raise DlgeomInputError(f"--endpoints: must end in .npz, got {args.endpoints!r}")
    log = (lambda msg: None) if args.quiet else (lambda msg: print(f"[dlgeom] {msg}", file=sys.stderr, flush=True))
    t0 = time.perf_counter()
    out = run_landscape(data, L, args.runs, starts, args.rho, opts, args.max_iter, args.seed, log,
                        shape=not args.no_shape, cell_key=args.cell_key, engine=args.engine, batch=args.batch,
                        optimiser_runs=opt_runs, zero_cost=args.zero_cost)
    out["data"], out["seed"], out["layers"] = args.data, args.seed, L
    params = out.pop("endpoint_params")
    if args.endpoints is not None:
        from .study.collapse_run import write_endpoints

        write_endpoints(args.endpoints, params, out["rows"])
    write_json(out, args.out)
    log(f"wrote {args.out} in {time.perf_counter() - t0:.1f} s")
    return {}


def _optimiser_runs(text: str, opts: list[str]) -> dict[str, int]:
    """``--optimiser-runs``: 'name=count' pairs, comma-separated, each name one of ``opts``."""
    from .validation import MAX_DRAWS, check_int

    out: dict[str, int] = {}
    for item in (t for t in str(text).split(",") if t):
        name, sep, count = item.partition("=")
        if not sep or name not in opts or name in out:
            raise DlgeomInputError(f"--optimiser-runs: expected name=count pairs, each name once and one of "
                                   f"--optimisers ({', '.join(opts)}), got {item!r}")
        try:
            value = int(count)
        except ValueError:
            raise DlgeomInputError(f"--optimiser-runs: the count of {name} must be an integer, got {count!r}") from None
        out[name] = check_int(value, f"--optimiser-runs {name}", minimum=1, maximum=MAX_DRAWS)
    return out


def main(argv=None) -> int:
    import importlib

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = _parser()
    handlers = {"check-settings": _cmd_check_settings, "make-data": _cmd_make_data, "check": _cmd_check,
                "construct": _cmd_construct,
                "prepare-data": _cmd_prepare_data, "cell": _cmd_cell, "aggregate": _cmd_aggregate,
                "figure": _cmd_figure, "landscape": _cmd_landscape}
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name in EXTENSIONS:
        handlers.update(importlib.import_module(name).register(sub))
    args = parser.parse_args(_join_negative_values(argv))
    handler = handlers[args.command]
    from .safe_write import Outputs

    started = time.time()
    try:
        _check_seed(args)
        _check_destinations(args, started)
        if args.settings:
            _activate_settings(args.settings)
        with Outputs() as outputs, outputs.activate():   # every file of the command, or none
            handler(args)
    except DlgeomInputError as exc:
        print(f"dlgeom: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"dlgeom: error: {args.command}: out of memory; reduce the sizes (see dlgeom {args.command} --help "
              "for the limits)", file=sys.stderr)
        return 1
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"dlgeom: error: {args.command}: {where}{exc.strerror or exc}; nothing was written", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"dlgeom: {args.command}: interrupted; nothing was written", file=sys.stderr)
        return 130
    return 0


def _one_line(exc) -> str:
    return " ".join(str(exc).split())


#: Arguments naming outputs: a file (or figure stem) and a directory.
_OUT_FILE, _OUT_DIR = "out", "out_dir"


def _check_seed(args) -> None:
    """Every command's --seed: 1 to 32 integers in 0..2^63-1 (SeedSequence entropy)."""
    from .validation import check_seed

    seed = getattr(args, "seed", None)
    if seed is None:
        return
    if isinstance(seed, str):
        try:
            seed = [int(t) for t in seed.split(",") if t.strip()]
        except ValueError:
            raise DlgeomInputError(f"--seed: expected comma-separated integers, got {args.seed!r}") from None
    check_seed(seed, "--seed")


def _check_destinations(args, started: float) -> None:
    """Before any work: every output's directory exists and is writable, and provenance sidecars
    whose file is gone (removed by a workflow manager before a rerun) are removed."""
    from .safe_write import check_output_dir, check_output_file, remove_orphan_sidecars

    out = getattr(args, _OUT_FILE, None)
    if out:
        path = check_output_file(out, "--out")
        remove_orphan_sidecars(path.parent if str(path.parent) else ".", started)
    out_dir = getattr(args, _OUT_DIR, None)
    if out_dir:
        path = check_output_dir(out_dir, "--out-dir")
        remove_orphan_sidecars(path, started)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
