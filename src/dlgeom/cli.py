"""The ``dlgeom`` command line: one subcommand per step of the study.

Bad input prints one line ``dlgeom: error: …`` naming the argument or file, exits with status 2
and writes no output file.  Outputs are written atomically (temporary file, then rename).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from . import __version__
from .validation import DlgeomInputError

ZERO_COST = 1e-10


def _int_list(text: str) -> list[int]:
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer or comma-separated integers, got {text!r}") from None


def _float_list(text: str) -> list[float]:
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dlgeom",
        description="Explicit L² minimisers of deep ReLU networks by truncation maps "
                    "(Chen & Muñoz Ewald, arXiv:2309.10639).",
    )
    p.add_argument("--version", action="version", version=f"dlgeom {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    m = sub.add_parser("make-data", help="write a synthetic clustered dataset (.npz or .csv)",
                       description="Clustered data in R^Q with a controlled δ-ratio r and cone angle θ.")
    m.add_argument("--Q", type=int, required=True, help="number of classes = dimension (>= 2)")
    m.add_argument("--n", type=_int_list, default=[100],
                   help="points per class: one integer, or Q comma-separated integers (default 100)")
    m.add_argument("--delta-ratio", type=float, default=0.1,
                   help="r = δ / min_j |x̄_j − x̄| (> 0; the paper needs < 0.25; default 0.1)")
    m.add_argument("--theta", type=float, default=None,
                   help="cone angle max_j θ_{*,j} of the mean simplex at δ = 0, radians (Q >= 3; "
                        "default: the regular simplex)")
    m.add_argument("--noise", default="uniform", choices=["uniform", "gaussian", "anisotropic"],
                   help="noise shape (default uniform in the ball)")
    m.add_argument("--outliers", type=float, default=0.0, help="outlier fraction in [0, 0.5) (default 0)")
    m.add_argument("--elongation", type=float, default=5.0, help="axis ratio of anisotropic clusters (default 5)")
    m.add_argument("--scale", type=float, default=1.0, help="scale of all coordinates (default 1)")
    m.add_argument("--seed", type=_int_list, default=[0], help="seed: integer(s) for SeedSequence (default 0)")
    m.add_argument("--out", required=True, help="output file, .npz (with metadata) or .csv")

    c = sub.add_parser("check", help="assumptions report (A1–A3, r, θ_*, D) of a dataset file, as JSON",
                       description="Print the assumptions report of a dataset file as JSON.")
    c.add_argument("--data", required=True, help="dataset file (.npz or .csv)")
    c.add_argument("--theta0", type=float, default=None, help="angle margin θ_0 (default (π − θ_*)/2)")
    c.add_argument("--out", default=None, help="also write the JSON to this file")

    k = sub.add_parser("construct", help="global construction, pattern analysis, degeneracy probe (JSON)",
                       description="Build the global minimiser of Thm 2.3 on a dataset file and "
                                   "analyse the 2^Q pattern networks.")
    k.add_argument("--data", required=True, help="dataset file (.npz or .csv)")
    k.add_argument("--layers", type=int, required=True, help="number of hidden layers L (>= Q)")
    k.add_argument("--out", required=True, help="output JSON file")
    k.add_argument("--mu", type=_float_list, default=None,
                   help="Q comma-separated μ_j in the box I_0 (default: its midpoint)")
    k.add_argument("--D", dest="use_D", default="eff", choices=["eff", "paper"],
                   help="μ-box bound: D_eff = min(D, min_j|x̄_j − x̄|) (default) or the paper's D")
    k.add_argument("--theta0", type=float, default=None, help="angle margin θ_0 (default (π − θ_*)/2)")
    k.add_argument("--mu-samples", type=int, default=8,
                   help="μ draws per box for the max cost over μ and the μ-dependence (default 8)")
    k.add_argument("--no-patterns", action="store_true", help="skip the 2^Q pattern analysis")
    k.add_argument("--probe", action="store_true", help="run the degeneracy probe")
    k.add_argument("--test-data", default=None,
                   help="held-out dataset file for the classifier accuracy (default: none)")
    k.add_argument("--seed", type=_int_list, default=[0], help="seed for the μ samples and the probe")
    k.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p


def _summary(data) -> dict:
    return {"N": data.n_points, "Q": data.n_classes, "counts": data.counts.tolist(), "meta": data.meta}


def _cmd_make_data(args) -> dict:
    from .data import save_dataset
    from .synthetic import make_clustered

    n = args.n[0] if len(args.n) == 1 else args.n
    data = make_clustered(args.Q, n, args.delta_ratio, args.theta, args.noise, args.outliers,
                          args.elongation, args.scale, args.seed)
    if not args.out.lower().endswith((".npz", ".csv")):
        raise DlgeomInputError(f"--out: must end in .npz or .csv, got {args.out!r}")
    save_dataset(data, args.out)
    real = data.meta["realised"]
    print(f"wrote {args.out}: N={data.n_points} Q={data.n_classes} r={real['r']:.4g} "
          f"theta_star={real['theta_star']:.4g} cond_xred={real['cond_xred']:.4g}")
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
    from .validation import check_int

    t0 = time.perf_counter()
    log = (lambda *a: None) if args.quiet else (lambda msg: print(f"[dlgeom] {msg}", file=sys.stderr, flush=True))
    data = load_dataset(args.data)
    test = load_dataset(args.test_data) if args.test_data else None
    if test is not None and test.n_classes != data.n_classes:
        raise DlgeomInputError(f"{args.test_data}: has Q = {test.n_classes}, the training data Q = {data.n_classes}")
    q = data.n_classes
    L = check_int(args.layers, "--layers", minimum=q)
    check_int(args.mu_samples, "--mu-samples", minimum=0)
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
                              "fraction_zero": float(np.mean(np.array(costs) <= ZERO_COST))}
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
        "zero_cost": bool(c <= ZERO_COST),
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
    out["seconds"] = time.perf_counter() - t0
    write_json(out, args.out)
    log(f"wrote {args.out} in {out['seconds']:.2f} s")
    return out


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    handler = {"make-data": _cmd_make_data, "check": _cmd_check, "construct": _cmd_construct}[args.command]
    try:
        handler(args)
    except DlgeomInputError as exc:
        print(f"dlgeom: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
