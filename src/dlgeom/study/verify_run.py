"""``dlgeom verify``: a rerun's tables against the committed reference (:mod:`dlgeom.study.verify`),
with the machine it ran on; exit status 1 when the rerun breaks the contract of docs/studies.md
(a verdict, or a claim's counts, differ) or, with ``--identical``, when any table or figure is not
byte-identical.  pandas is imported only when the command runs."""

from __future__ import annotations

from pathlib import Path

from ..validation import DlgeomInputError


def register(sub) -> dict:
    p = sub.add_parser(
        "verify",
        help="a rerun of a study against its committed reference: tables, claims, verdict",
        description="Print, per table, 'identical' or the largest relative difference, per row of "
        "claims.csv the verdict and counts of both side by side, and the machine; exit "
        "status 1 when a verdict or a claim's counts differ (docs/studies.md, 'Check a "
        "rerun'). `make verify` reruns a study in a clean clone and calls this.",
    )
    p.add_argument("--reference", required=True, help="the committed tables directory (results/<study>/tables)")
    p.add_argument("--rerun", required=True, help="the rerun's tables directory")
    p.add_argument(
        "--identical",
        action="store_true",
        help="also fail unless every table and figure is byte-identical (expected on x86-64 with AVX2)",
    )
    return {"verify": _cmd_verify}


def _cmd_verify(args) -> dict:
    import sys

    from ..cpu_pin import machine_report
    from .verify import render, verify_tables

    for option, path in (("--reference", args.reference), ("--rerun", args.rerun)):
        if not (Path(path) / "claims.csv").is_file():
            raise DlgeomInputError(f"{option}: not a study's tables directory (no claims.csv): {path}")
    tables, claims, same_figs, n_figs = verify_tables(Path(args.reference), Path(args.rerun))
    text, ok = render(tables, claims, same_figs, n_figs)
    m = machine_report()
    kernels = ", ".join(sorted({str(k["kernel"]) for k in m["blas"]})) or "unknown"
    print(
        f"Machine: {m['cpu']} ({m['machine']}); BLAS kernel {kernels}; numpy dispatch "
        f"{' '.join(m['numpy_dispatch']) or 'baseline'}; pinned: {'yes' if m['pin'] else 'no'}"
    )
    print(text)
    identical = all(t.status == "identical" for t in tables) and same_figs == n_figs
    if args.identical and not identical:
        print("FAIL: --identical: not every table and figure is byte-identical", file=sys.stderr)
    if not ok or (args.identical and not identical):
        raise SystemExit(1)
    return {}
