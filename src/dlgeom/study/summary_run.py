"""``dlgeom headline``: print the generated headline block of a study's tables, write it into a
Markdown file between its markers, or check that a file's block is current
(:mod:`dlgeom.study.summary`; pandas is imported only when the command runs)."""

from __future__ import annotations

from pathlib import Path

from ..validation import DlgeomInputError


def register(sub) -> dict:
    p = sub.add_parser("headline", help="the generated headline block (Markdown) from a tables directory",
                       description="Print the headline block, or write it into a Markdown file between the "
                                   "markers, or check that a file's block is current (exit status 1 if not).")
    p.add_argument("--tables", required=True, help="tables directory of a study")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--update", default=None, help="Markdown file whose generated block is rewritten")
    g.add_argument("--check", default=None, help="Markdown file whose generated block must equal the output")
    return {"headline": _cmd_headline}


def _cmd_headline(args) -> dict:
    import sys

    from .summary import BEGIN, END, extract_block, headline, replace_block

    if not Path(args.tables).is_dir():
        raise DlgeomInputError(f"--tables: no such directory: {args.tables}")
    block = headline(args.tables)
    target = args.update or args.check
    if target is None:
        print(block, end="")
        return {}
    path = Path(target)
    if not path.is_file():
        raise DlgeomInputError(f"--{'update' if args.update else 'check'}: no such file: {path}")
    text = path.read_text()
    if extract_block(text) is None:
        raise DlgeomInputError(f"{path}: no generated block; add the lines {BEGIN} and {END}")
    if args.update:
        from ..safe_write import open_output

        with open_output(path, "w") as fh:        # a private temporary file, renamed into place
            fh.write(replace_block(text, block))
        return {}
    if extract_block(text) != block:
        print(f"dlgeom: {path}: the generated block differs from the tables in {args.tables}; run "
              f"dlgeom headline --tables {args.tables} --update {path}", file=sys.stderr)
        raise SystemExit(1)
    return {}
