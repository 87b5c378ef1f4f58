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
from .argtypes import float_list, int_list, theta0
from .thresholds import ZERO_COST
from .validation import DlgeomInputError

# Modules that add their own subcommands, one ``<stage>_run.py`` per study stage (the generic
# commands are below): each defines ``register(sub) -> dict[name, handler]``, where ``sub`` is the
# subparsers object and a handler takes the parsed args.
EXTENSIONS: tuple[str, ...] = (
    "dlgeom.study.grid_run",
    "dlgeom.study.landscape_run",
    "dlgeom.study.robustness_run",
    "dlgeom.study.beyond_run",
    "dlgeom.study.perf_run",
    "dlgeom.study.collapse_run",
    "dlgeom.study.summary_run",
    "dlgeom.study.verify_run",
)


_int_list, _float_list, _theta0 = int_list, float_list, theta0

#: The end of ``dlgeom --help``: the commands a user starts with (a test runs each line as written).
EPILOG = """start here:
  dlgeom make-data --Q 3 --out data.npz                 synthetic clustered data in R^3
  dlgeom check --data data.npz                          the paper's assumptions A1-A3 on it
  dlgeom construct --data data.npz --layers 3 --out construction.json
                                                        the explicit zero-cost minimiser
  dlgeom realdata --data mydata.csv --out real.json     the shrink sweep on your CSV
                                                        (a `label` column and any number of features)

The other commands are the steps of the Snakemake workflow (make study); each has --help.
Documentation: docs/running.md in the repository."""


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
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"dlgeom {__version__}")
    p.add_argument(
        "--settings",
        action="append",
        default=None,
        metavar="FILE",
        help="the settings files of this step (results/<study>/settings/*.json; one or several after one "
        "--settings, or --settings repeated; a later file "
        "wins): their hashes are recorded in every output, and each key is the default of the command's option "
        "of the same name, a nested group's keys as GROUP_KEY (a flag on the command line still wins); "
        "their base_seed gives a stage command its seed (docs/studies.md)",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    cs = sub.add_parser(
        "check-settings",
        help="refuse outputs made with other settings than the study's current ones",
        description="Exit 2 with one line naming the files when any input records settings that "
        "differ from the settings files of --settings-dir.",
    )
    cs.add_argument("--settings-dir", required=True, help="the study's settings folder (results/<study>/settings)")
    cs.add_argument("--inputs", nargs="*", default=[], help="JSON outputs, tables or figures to check")

    m = sub.add_parser(
        "make-data",
        help="write a synthetic clustered dataset (.npz or .csv)",
        description="Clustered data in R^Q with a controlled δ-ratio r and cone angle θ.",
    )
    m.add_argument("--Q", type=int, required=True, help="number of classes = dimension (2..1000)")
    m.add_argument(
        "--n",
        type=_int_list,
        default=[100],
        help="points per class: one integer, or Q comma-separated integers, each 2..10^6 "
        "and N·Q <= 5·10^7 (default 100)",
    )
    m.add_argument(
        "--delta-ratio",
        type=float,
        default=0.1,
        help="r = δ / min_j |x̄_j − x̄| (> 0; the paper needs < 0.25; default 0.1)",
    )
    m.add_argument(
        "--theta",
        type=float,
        default=None,
        help="cone angle max_j θ_{*,j} of the mean simplex at δ = 0, radians (Q >= 3; default: the regular simplex)",
    )
    m.add_argument(
        "--noise",
        default="uniform",
        choices=["uniform", "gaussian", "anisotropic"],
        help="noise shape (default uniform in the ball)",
    )
    m.add_argument("--outliers", type=float, default=0.0, help="outlier fraction in [0, 0.5) (default 0)")
    m.add_argument("--elongation", type=float, default=5.0, help="axis ratio of anisotropic clusters (default 5)")
    m.add_argument("--scale", type=float, default=1.0, help="scale of all coordinates, in [1e-150, 1e150] (default 1)")
    m.add_argument(
        "--seed", type=_int_list, default=[0], help="seed: 1 to 32 integers in 0..2^63-1 for SeedSequence (default 0)"
    )
    dest = m.add_mutually_exclusive_group(required=True)
    dest.add_argument("--out", help="output file, .npz (with metadata) or .csv")
    dest.add_argument(
        "--out-dir",
        help="write a grid cell instead: train_<k>.npz and test_<k>.npz for "
        "k < --replicates, seeds [SEED..., k, 0] and [SEED..., k, 1], and manifest.json",
    )
    m.add_argument("--replicates", type=int, default=1, help="with --out-dir: datasets per cell, 1..10000 (default 1)")
    m.add_argument(
        "--test-n", type=int, default=200, help="with --out-dir: held-out points per class, 1..10^6 (default 200)"
    )

    c = sub.add_parser(
        "check",
        help="assumptions report (A1–A3, r, θ_*, D) of a dataset file, as JSON",
        description="Print the assumptions report of a dataset file as JSON.",
    )
    c.add_argument("--data", required=True, help="dataset file (.npz or .csv)")
    c.add_argument(
        "--theta0",
        type=_theta0,
        default=None,
        help="angle margin θ_0: a number in (0, π], 'midpoint' ((π − θ_max)/2, the default) or 'open_box' "
        "(the smallest θ_0 that opens the μ-box [P 4.24])",
    )
    c.add_argument("--out", default=None, help="also write the JSON to this file")

    k = sub.add_parser(
        "construct",
        help="global construction, pattern analysis, degeneracy probe (JSON)",
        description="Build the global minimiser of Thm 2.3 on a dataset file and analyse the 2^Q pattern networks.",
    )
    k.add_argument("--data", required=True, help="dataset file (.npz or .csv), coordinates max|x| in [1e-150, 1e150]")
    k.add_argument("--layers", type=int, required=True, help="number of hidden layers L (Q..10000)")
    k.add_argument("--out", required=True, help="output JSON file")
    k.add_argument(
        "--mu",
        type=_float_list,
        default=None,
        help="Q comma-separated finite μ_j in the box I_0 (default: its midpoint)",
    )
    k.add_argument(
        "--D",
        dest="use_D",
        default="eff",
        choices=["eff", "paper"],
        help="μ-box bound: D_eff = min(D, min_j|x̄_j − x̄|) (default) or the paper's D",
    )
    k.add_argument(
        "--theta0",
        type=_theta0,
        default=None,
        help="angle margin θ_0: a number in (0, π], 'midpoint' ((π − θ_max)/2, the default) or 'open_box' "
        "(the smallest θ_0 that opens the μ-box [P 4.24])",
    )
    k.add_argument(
        "--mu-samples",
        type=int,
        default=8,
        help="μ draws per box for the max cost over μ and the μ-dependence, 0..10000 (default 8)",
    )
    k.add_argument("--no-patterns", action="store_true", help="skip the 2^Q pattern analysis (needed for Q > 12)")
    k.add_argument("--probe", action="store_true", help="run the degeneracy probe")
    k.add_argument(
        "--zero-cost",
        type=float,
        default=ZERO_COST,
        help=f"C at or below this counts as zero, in (0, 1] (default {ZERO_COST:g})",
    )
    k.add_argument(
        "--test-data", default=None, help="held-out dataset file for the classifier accuracy (default: none)"
    )
    k.add_argument(
        "--seed",
        type=_int_list,
        default=[0],
        help="seed for the μ samples and the probe: 1 to 32 integers in 0..2^63-1",
    )
    k.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p


def _settings_paths(argv: list[str], commands) -> tuple[list[str], str | None]:
    """The ``--settings`` files given before the command (``--settings A B`` or repeated), and the
    command's name."""
    paths, i, taking = [], 0, False
    while i < len(argv):
        tok = argv[i]
        if tok in commands:
            return paths, tok
        if tok == "--settings":
            taking = True
        elif tok.startswith("--settings="):
            paths.append(tok.split("=", 1)[1])
            taking = False
        elif tok.startswith("-"):
            taking = False
        elif taking:
            paths.append(tok)
        i += 1
    return paths, None


def normalise_argv(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """The command line as argparse reads it: negative values joined to their option
    (``--mu=-0.3``), several files after one ``--settings`` one option each."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return _settings_one_by_one(_join_negative_values(argv), sub.choices)


def _settings_one_by_one(argv: list[str], commands) -> list[str]:
    """``--settings A B cmd …`` → ``--settings=A --settings=B cmd …``: argparse would take the
    command's name for one more settings file."""
    out, taking = [], False
    for i, tok in enumerate(argv):
        if tok in commands:
            return out + argv[i:]
        if tok == "--settings":
            nxt = argv[i + 1] if i + 1 < len(argv) else "-"
            taking = not (nxt.startswith("-") or nxt in commands)
            if not taking:
                out.append(tok)  # no file follows: argparse names the error
            continue
        if taking and not tok.startswith("-"):
            out.append(f"--settings={tok}")
            continue
        taking = False
        out.append(tok)
    return out


def _option_text(value) -> str:
    """A settings value as the command line would spell it: lists comma-separated, mappings as
    ``key=value`` pairs, floats by repr."""
    if isinstance(value, dict):
        return ",".join(f"{k}={_option_text(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ",".join(_option_text(v) for v in value)
    return repr(value) if isinstance(value, float) else str(value)


def _settings_values(paths) -> dict:
    values = {}
    for p in paths:
        if not os.path.isfile(p):
            raise DlgeomInputError(f"--settings: {p} is not a file")
        try:
            with open(p, encoding="utf-8") as fh:
                record = json.load(fh)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise DlgeomInputError(f"--settings: {p} is not a JSON settings file ({exc})") from None
        if not isinstance(record, dict):
            raise DlgeomInputError(f"--settings: {p} holds {type(record).__name__}, expected a JSON object")
        values.update(record)  # a later file (e.g. a dataset's own settings) wins
    return values


def settings_values(paths) -> dict:
    """The keys of the settings files ``paths`` (a later file wins), nested groups flattened."""
    return flatten_settings(_settings_values(paths))


def flatten_settings(values: dict) -> dict:
    """The keys of a settings file as option names: a nested group ``{"mu_search": {"line": 9}}``
    also gives ``mu_search_line`` (option ``--mu-search-line``), recursively; a group's key named
    like the group (``optimisers.optimisers``) takes the group's own name.  A key written at the
    top level wins over a flattened one."""
    out = dict(values)
    for key, value in values.items():
        if not isinstance(value, dict):
            continue
        for sub, v in flatten_settings(value).items():
            name = key if sub == key else f"{key}_{sub}"
            if name == key or name not in values:
                out[name] = v
    return out


def apply_settings(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """Make every key of the ``--settings`` files the default of the command's option of the same
        name (``max_iter`` → ``--max-iter``; nested groups flattened by :func:`flatten_settings`),
        converted and checked as if given on the command line; an option given on the command line
        wins.  A command with a ``study_out_dir`` default (``tables`` or ``figures``) writes into that
    folder of the study whose settings folder holds the first file, unless ``--out-dir`` is given.
    A command that names its seed (a ``seed_key`` default: a function of its arguments
        giving the job's key and seed stream) gets ``--seed`` from the settings' ``base_seed`` after
        parsing (:func:`derive_seed`).  A job of the workflow hands its command the stage's settings
        files instead of one flag per value (docs/studies.md, "Reruns follow the config")."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    paths, command = _settings_paths(argv, sub.choices)
    if not paths or command is None:
        return
    values = settings_values(paths)
    rest = argv[argv.index(command) + 1 :]
    given = {tok.split("=", 1)[0] for tok in rest if tok.startswith("-")}
    cmd_parser = sub.choices[command]
    for action in cmd_parser._actions:
        if not action.option_strings or action.dest not in values or action.dest == "help":
            continue
        if given & set(action.option_strings):  # the command line wins, and its value is checked there
            continue
        raw, flag = values[action.dest], action.option_strings[0]
        if isinstance(raw, dict) and any(isinstance(v, (dict, list)) for v in raw.values()):
            continue  # a nested group of the config (e.g. robustness.optimisers), not this option's value
        if action.nargs == 0:  # a switch
            action.default = bool(raw)
        else:
            action.default = _typed(action, _option_text(raw), f"--settings: key {action.dest!r} ({flag})")
        action.required = False
    folder = cmd_parser.get_default("study_out_dir")  # a study command's tables/ or figures/
    out_dir = next((a for a in cmd_parser._actions if a.dest == "out_dir"), None)
    if folder and out_dir is not None and not (given & set(out_dir.option_strings)):
        out_dir.default = os.path.normpath(os.path.join(os.path.dirname(paths[0]) or ".", os.pardir, folder))
        out_dir.required = False
    seed = next((a for a in cmd_parser._actions if a.dest == "seed"), None)
    if seed is not None and "base_seed" in values and not (given & set(seed.option_strings)):
        if cmd_parser.get_default("seed_key") is not None:
            seed.required = False
            cmd_parser.set_defaults(derived_seed_base=values["base_seed"])


def _typed(action, text: str, where: str):
    try:
        value = action.type(text) if action.type else text
    except (argparse.ArgumentTypeError, TypeError, ValueError) as exc:
        raise DlgeomInputError(f"{where}: {exc}") from None
    if action.choices is not None and value not in action.choices:
        raise DlgeomInputError(f"{where}: {value!r} is not one of {', '.join(map(str, action.choices))}")
    return value


def derive_seed(parser: argparse.ArgumentParser, args) -> None:
    """A stage command run with settings and without ``--seed``: its seed is the settings'
    ``base_seed``, then two ids from the job's key and the number of its seed stream, as the
    command's ``seed_key(args)`` names them (``(None, None)``: the base seed alone).  The same
    comma-separated text the workflow once wrote out, converted by the option's type."""
    base = getattr(args, "derived_seed_base", None)
    seed_key = getattr(args, "seed_key", None)
    if base is None or seed_key is None:
        return
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    action = next(a for a in sub.choices[args.command]._actions if a.dest == "seed")
    args.seed = _typed(action, seed_key(args, base), "--seed (from the settings' base_seed)")


def _activate_settings(paths) -> None:
    from .jsonutil import set_settings_stamp
    from .study.layout import settings_stamp

    for p in paths:
        if not os.path.isfile(p):
            raise DlgeomInputError(f"--settings: {p} is not a file")
    stamps = [settings_stamp(p) for p in paths]
    set_settings_stamp(stamps[0] if len(stamps) == 1 else stamps)


def _check_input_settings(args) -> None:
    """A command that combines outputs of other jobs (a ``check_inputs`` default: the dests of its
    input files) refuses inputs made with other settings than the files beside its own settings
    file (the study's settings folder), as ``dlgeom check-settings`` does."""
    dests = getattr(args, "check_inputs", ())
    if not dests:
        return
    from .study.layout import check_settings

    inputs = [f for dest in dests for f in (getattr(args, dest, None) or [])]
    check_settings(inputs, os.path.dirname(args.settings[0]) or ".")


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
        raise DlgeomInputError(
            f"--n/--Q: a dataset of N·Q = {total:.3g} entries is above the limit "
            f"{MAX_DATA_ENTRIES:.0e}; use fewer points or classes"
        )
    n = args.n[0] if len(args.n) == 1 else args.n
    if args.out_dir:
        from .study.cell import write_synthetic_cell
        from .validation import check_int

        check_int(args.replicates, "--replicates", minimum=1)
        check_int(args.test_n, "--test-n", minimum=1)
        if len(args.n) != 1:
            raise DlgeomInputError("--n: with --out-dir give one integer (points per class)")
        # validate all arguments on a tiny draw before writing anything
        make_clustered(
            args.Q, 2, args.delta_ratio, args.theta, args.noise, args.outliers, args.elongation, args.scale, args.seed
        )
        write_synthetic_cell(
            args.out_dir, args.Q, args.theta, args.delta_ratio, n, args.test_n, args.noise, args.replicates, args.seed
        )
        print(f"wrote {args.replicates} replicate(s) to {args.out_dir}")
        return {}
    data = make_clustered(
        args.Q, n, args.delta_ratio, args.theta, args.noise, args.outliers, args.elongation, args.scale, args.seed
    )
    save_dataset(data, args.out)
    real = data.meta["realised"]
    print(
        f"wrote {args.out}: N={data.n_points} Q={data.n_classes} r={real['r']:.4g} "
        f"theta_max={real['theta_max']:.4g} cond_xred={real['cond_xred']:.4g}"
    )
    return {}


def _cmd_check(args) -> dict:
    from .data import load_dataset
    from .geometry import assumptions, geometry
    from .jsonutil import jsonable, write_json

    data = load_dataset(args.data)
    report = {
        "data": args.data,
        "dataset": _summary(data),
        "assumptions": assumptions(geometry(data, args.theta0)).to_dict(),
    }
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
    from .study import stage_logger

    log = stage_logger(args.quiet)
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
        raise DlgeomInputError(
            f"--data: Q = {q} has 2^{q} patterns, above the limit Q <= {MAX_PATTERN_Q} of the "
            "pattern analysis; add --no-patterns"
        )
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
            costs = [
                cost(construct_global(data, L, m, use_D=which, geom=geom).network, data)
                for m in mu_samples(geom, np.zeros(q), args.mu_samples, rng, which)
            ]
            over_mu[which] = {
                "max": max(costs),
                "mean": float(np.mean(costs)),
                "n": len(costs),
                "fraction_zero": float(np.mean(np.array(costs) <= args.zero_cost)),
            }
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
            np.mean(test_pred == predict_network(con, data.Y, test.X))
        )
    if not args.no_patterns:
        log(f"analysing {2**q} patterns")
        reps = analyse_patterns(data, L, geom, args.mu_samples, pat_seq.generate_state(1)[0])
        out["patterns"] = [r.to_dict() for r in reps]
    if args.probe:
        log("degeneracy probe")
        out["degeneracy"] = degeneracy_probe(con.network, data, seed=probe_seq.generate_state(1)[0])
    write_json(out, args.out)
    log(f"wrote {args.out} in {time.perf_counter() - t0:.2f} s")
    return out


def full_parser() -> tuple[argparse.ArgumentParser, dict]:
    """The parser with every command (the study's stages included) and {command: handler}."""
    import importlib

    parser = _parser()
    handlers = {
        "check-settings": _cmd_check_settings,
        "make-data": _cmd_make_data,
        "check": _cmd_check,
        "construct": _cmd_construct,
    }
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name in EXTENSIONS:
        handlers.update(importlib.import_module(name).register(sub))
    return parser, handlers


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser, handlers = full_parser()
    argv = normalise_argv(parser, argv)
    try:
        apply_settings(parser, argv)
    except DlgeomInputError as exc:
        print(f"dlgeom: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    handler = handlers[args.command]
    try:
        derive_seed(parser, args)
    except DlgeomInputError as exc:
        print(f"dlgeom: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    from .safe_write import Outputs

    started = time.time()
    try:
        from .versions import check_versions

        check_versions()  # a too-old library is named before any work
        _check_seed(args)
        _check_destinations(args, started)
        if args.settings:
            _activate_settings(args.settings)
            _check_input_settings(args)
        with Outputs() as outputs, outputs.activate():  # every file of the command, or none
            handler(args)
    except DlgeomInputError as exc:
        print(f"dlgeom: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except MemoryError:
        print(
            f"dlgeom: error: {args.command}: out of memory; reduce the sizes (see dlgeom {args.command} --help "
            "for the limits)",
            file=sys.stderr,
        )
        return 1
    except OSError as exc:
        if isinstance(exc, BrokenPipeError) and _stdout_closed():
            return 141  # the reader of stdout went away (`| head`): stop quietly, as Unix tools do
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"dlgeom: error: {args.command}: {where}{exc.strerror or exc}; nothing was written", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"dlgeom: {args.command}: interrupted; nothing was written", file=sys.stderr)
        return 130
    return 0


def _stdout_closed() -> bool:
    """Whether standard output is a pipe whose reader has gone (the pipe reports an error to
    poll); if so it is pointed at /dev/null, so that Python's flush at exit adds no second error."""
    import select

    try:
        fd = sys.stdout.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        closed = any(event & select.POLLERR for _, event in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no real stdout (captured), or no poll here
        return False
    if closed:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    return closed


def _one_line(exc) -> str:
    return " ".join(str(exc).split())


#: Arguments naming outputs: a file (or figure stem) and a directory.
_OUT_FILE, _OUT_DIR = "out", "out_dir"
#: A subcommand's further output-file arguments (its parser sets this default: a tuple of dests).
_MORE_OUT_FILES = "more_output_files"


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
    for dest in getattr(args, _MORE_OUT_FILES, ()):  # further output files of a command (e.g. --endpoints)
        more = getattr(args, dest, None)
        if more:
            check_output_file(more, "--" + dest.replace("_", "-"))
    out_dir = getattr(args, _OUT_DIR, None)
    if out_dir:
        path = check_output_dir(out_dir, "--out-dir")
        remove_orphan_sidecars(path, started)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
