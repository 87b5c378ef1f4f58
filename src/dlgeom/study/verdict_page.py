"""The verdicts at a glance: a compact HTML summary of the claims table for the report's first screen.

:func:`verdicts_html` turns ``claims.csv`` into one HTML fragment: a line counting the verdicts, then
two narrow tables side by side, the paper's claims (id, the start of the statement, verdict, cases,
counter-cases) and our findings (id, statement, cases, counter-cases). The full statement of a row
is its tooltip; the evidence stays in ``claims.csv``. The Snakemake report shows the fragment at the
top of its landing page (``workflow/report/workflow.rst``) and as the item *At a glance*.
Only the columns ``id, kind, statement, verdict, n_cases, n_counter`` are read.
"""

from __future__ import annotations

import html

import pandas as pd

from ..validation import DlgeomInputError

__all__ = ["COLUMNS", "VERDICTS", "verdict_counts", "verdicts_html"]

#: The columns of claims.csv the summary reads.
COLUMNS = ["id", "kind", "statement", "verdict", "n_cases", "n_counter"]
#: The verdicts of a claim, in the order they are counted.
VERDICTS = ("holds", "holds with correction", "fails", "untested")

# The landing column of the Snakemake report is 32rem wide (`.prose.max-w-lg`) and vertically centred in
# the window (its top is cut off when it is taller): the fragment widens the column to what the two tables
# need (the rule graph beside it moves right) and aligns it to the top. Tailwind's prose styles are
# overridden by the more specific selectors.
_STYLE = """\
.prose:has(.dlgeom-verdicts) { max-width: none; width: min-content; }
div:has(> .prose .dlgeom-verdicts) { flex-shrink: 0; }
div.items-center:has(.dlgeom-verdicts) { align-items: flex-start; justify-content: flex-start; }
.dlgeom-verdicts { font: 13px/1.35 system-ui, sans-serif; color: #1e293b; margin: 0 0 1.5em; }
.dlgeom-verdicts p { margin: 0 0 6px; max-width: 68em; }
.dlgeom-verdicts p.dlgeom-counts { font-size: 14px; }
.dlgeom-verdicts .dlgeom-cols { display: flex; gap: 18px; align-items: flex-start; }
.dlgeom-verdicts table { border-collapse: collapse; margin: 0 0 6px; font-size: 11.5px; line-height: 1.15;
  width: auto; }
.dlgeom-verdicts caption { text-align: left; font-weight: 600; font-size: 13px; padding: 0 0 2px; }
.dlgeom-verdicts th, .dlgeom-verdicts td { padding: 0 5px; text-align: left; white-space: nowrap;
  border-bottom: 1px solid #e2e8f0; vertical-align: baseline; }
.dlgeom-verdicts th { font-weight: 600; border-bottom: 1px solid #94a3b8; }
.dlgeom-verdicts td.dlgeom-id { font-family: ui-monospace, monospace; font-size: 11px; }
.dlgeom-verdicts td.dlgeom-statement { max-width: max(12em, calc(20vw - 130px)); overflow: hidden;
  text-overflow: ellipsis; color: #475569; }
.dlgeom-verdicts .dlgeom-num { text-align: right; font-variant-numeric: tabular-nums; }
.dlgeom-verdicts td.dlgeom-verdict { font-weight: 600; }
.dlgeom-verdicts .dlgeom-holds { color: #166534; }
.dlgeom-verdicts .dlgeom-holds-with-correction { color: #92400e; }
.dlgeom-verdicts .dlgeom-fails { color: #b91c1c; }
.dlgeom-verdicts .dlgeom-untested { color: #64748b; }
"""


_HEAD_TIPS = {
    "cases": "n_cases: the cases the statement applies to",
    "against": "n_counter: the cases that contradict it",
}


def _check(claims: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in COLUMNS if c not in claims.columns]
    if missing:
        raise DlgeomInputError(
            f"claims table: missing column(s) {', '.join(map(str, missing))}; expected the columns {', '.join(COLUMNS)}"
        )
    other = sorted(set(map(str, claims["kind"])) - {"claim", "finding"})
    if other:
        raise DlgeomInputError(f"claims table: column kind holds {', '.join(other)}; allowed: claim, finding")
    return claims[COLUMNS]


def verdict_counts(claims: pd.DataFrame) -> dict[str, int]:
    """Number of claims per verdict (every verdict of :data:`VERDICTS`, zeros included)."""
    c = _check(claims)
    n = c.loc[c["kind"] == "claim", "verdict"].value_counts()
    return {v: int(n.get(v, 0)) for v in VERDICTS}


def _cell(text, cls: str, title: str | None = None) -> str:
    tip = f' title="{html.escape(title)}"' if title else ""
    return f'<td class="{html.escape(cls)}"{tip}>{html.escape(str(text))}</td>'


def _row(r, with_verdict: bool) -> str:
    cells = [_cell(r.id, "dlgeom-id"), _cell(r.statement, "dlgeom-statement", r.statement)]
    if with_verdict:
        cells.append(_cell(r.verdict, f"dlgeom-verdict dlgeom-{str(r.verdict).replace(' ', '-')}"))
    cells += [_cell(r.n_cases, "dlgeom-num"), _cell(r.n_counter, "dlgeom-num")]
    return f'<tr data-id="{html.escape(str(r.id))}">{"".join(cells)}</tr>'


def _table(rows: pd.DataFrame, caption: str, cls: str, with_verdict: bool) -> str:
    head = ["id", "statement"] + (["verdict"] if with_verdict else []) + ["cases", "against"]
    ths = "".join(
        f'<th class="dlgeom-num" title="{_HEAD_TIPS[h]}">{h}</th>' if h in _HEAD_TIPS else f"<th>{h}</th>" for h in head
    )
    body = "\n".join(_row(r, with_verdict) for r in rows.itertuples(index=False))
    return (
        f'<table class="{cls}"><caption>{html.escape(caption)}</caption>\n<thead><tr>{ths}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody></table>"
    )


def verdicts_html(claims: pd.DataFrame) -> str:
    """The HTML fragment (UTF-8, with its own ``<style>``) summarising ``claims`` (the claims table)."""
    c = _check(claims)
    claim_rows, finding_rows = c[c["kind"] == "claim"], c[c["kind"] == "finding"]
    counts = verdict_counts(c)
    told = ", ".join(f'<span class="dlgeom-{v.replace(" ", "-")}">{n} {v}</span>' for v, n in counts.items())
    n_data = int((pd.to_numeric(finding_rows["n_cases"], errors="coerce") > 0).sum())
    return "\n".join(
        [
            '<meta charset="utf-8">',
            f"<style>\n{_STYLE}</style>",
            '<div class="dlgeom-verdicts">',
            f'<p class="dlgeom-counts"><b>Verdicts.</b> {len(claim_rows)} claims of the paper: {told}; '
            f"{len(finding_rows)} findings of ours ({n_data} with data in this study).</p>",
            '<div class="dlgeom-cols">',
            _table(claim_rows, "Claims of the paper", "dlgeom-claim-verdicts", with_verdict=True),
            _table(finding_rows, "Findings beyond the paper", "dlgeom-finding-verdicts", with_verdict=False),
            "</div>",
            "<p><i>cases</i>: the cases a statement applies to (n_cases); <i>against</i>: those that contradict it "
            "(n_counter). Hover over a statement to read it whole; the evidence of every row is in the claims table "
            "(Results → Tables → claims.csv), the definitions in docs/claims.md.</p>",
            "</div>",
            "",
        ]
    )
