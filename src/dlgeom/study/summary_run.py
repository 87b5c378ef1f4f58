"""``dlgeom headline`` and ``dlgeom compare-studies``: print a generated Markdown block (the
headline of one study's tables, or two studies side by side), write it into a Markdown file
between its markers, or check that a file's block is current (:mod:`dlgeom.study.summary`,
:mod:`dlgeom.study.compare`); ``dlgeom verdicts-html``: the verdicts at a glance for the report
(:mod:`dlgeom.study.verdict_page`). pandas is imported only when a command runs."""

from __future__ import annotations

from pathlib import Path

from ..validation import DlgeomInputError


def register(sub) -> dict:
    p = sub.add_parser(
        "headline",
        help="the generated headline block (Markdown) from a tables directory",
        description="Print the headline block, or write it into a Markdown file between the "
        "markers, or check that a file's block is current (exit status 1 if not).",
    )
    p.add_argument("--tables", required=True, help="tables directory of a study")
    _target_options(p)
    c = sub.add_parser(
        "compare-studies",
        help="two studies side by side (Markdown): verdicts, CIs, rare minima",
        description="Print the comparison block of two studies' tables (e.g. the default and the "
        "paper-grade study), or write it into a Markdown file between its markers, or "
        "check that a file's block is current (exit status 1 if not).",
    )
    c.add_argument("--base", required=True, help="tables directory of the smaller study")
    c.add_argument("--other", required=True, help="tables directory of the larger study")
    _target_options(c)
    v = sub.add_parser(
        "verdicts-html",
        help="the verdicts at a glance (HTML) from a claims table, for the report",
        description="Write the compact verdict summary of a claims table (claims and findings with "
        "their verdicts and counts) as an HTML fragment; the Snakemake report shows it "
        "on its first screen.",
    )
    v.add_argument("--claims", required=True, help="claims.csv of a study")
    v.add_argument("--out", required=True, help="HTML file to write")
    return {"headline": _cmd_headline, "compare-studies": _cmd_compare, "verdicts-html": _cmd_verdicts_html}


def _target_options(p) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--update", default=None, help="Markdown file whose generated block is rewritten")
    g.add_argument("--check", default=None, help="Markdown file whose generated block must equal the output")


def _tables_dir(path: str, option: str) -> None:
    if not Path(path).is_dir():
        raise DlgeomInputError(f"{option}: no such directory: {path}")


def _cmd_headline(args) -> dict:
    from .summary import BEGIN, END, headline

    _tables_dir(args.tables, "--tables")
    return _emit(args, headline(args.tables), BEGIN, END, f"dlgeom headline --tables {args.tables}")


def _cmd_compare(args) -> dict:
    from .compare import BEGIN, END, comparison

    _tables_dir(args.base, "--base")
    _tables_dir(args.other, "--other")
    return _emit(
        args,
        comparison(args.base, args.other),
        BEGIN,
        END,
        f"dlgeom compare-studies --base {args.base} --other {args.other}",
    )


def _cmd_verdicts_html(args) -> dict:
    import pandas as pd

    from ..safe_write import open_output
    from .verdict_page import verdicts_html

    if not Path(args.claims).is_file():
        raise DlgeomInputError(f"--claims: no such file: {args.claims}")
    try:  # as text: the counts are shown as written
        claims = pd.read_csv(args.claims, dtype=str, keep_default_na=False)
    except (UnicodeDecodeError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DlgeomInputError(f"--claims: {args.claims}: not a readable CSV table ({exc})") from None
    page = verdicts_html(claims)
    with open_output(args.out, "w") as fh:
        fh.write(page)
    return {}


def _emit(args, block: str, begin: str, end: str, command: str) -> dict:
    """Print ``block``, or write it into / check it against the block of args.update / args.check."""
    import sys

    from .summary import extract_block, replace_block

    target = args.update or args.check
    if target is None:
        print(block, end="")
        return {}
    path = Path(target)
    if not path.is_file():
        raise DlgeomInputError(f"--{'update' if args.update else 'check'}: no such file: {path}")
    text = path.read_text()
    if extract_block(text, begin, end) is None:
        raise DlgeomInputError(f"{path}: no generated block; add the lines {begin} and {end}")
    if args.update:
        from ..safe_write import open_output

        with open_output(path, "w") as fh:  # a private temporary file, renamed into place
            fh.write(replace_block(text, block, begin, end))
        return {}
    if extract_block(text, begin, end) != block:
        print(
            f"dlgeom: {path}: the generated block differs from the tables; run {command} --update {path}",
            file=sys.stderr,
        )
        raise SystemExit(1)
    return {}
