"""The verdicts at a glance (dlgeom.study.verdict_page): every row of the claims table, with its verdict and
counts, in the HTML the report shows first; read back with an HTML parser and compared with the CSV."""

from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from dlgeom import DlgeomInputError
from dlgeom.cli import main
from dlgeom.study.verdict_page import COLUMNS, verdict_counts, verdicts_html

ROOT = Path(__file__).resolve().parents[1]
CLAIMS = ROOT / "results" / "default" / "tables" / "claims.csv"


class _Rows(HTMLParser):
    """The tables of the fragment: caption -> rows of (cell text, cell title); and the text of the first <p>."""

    def __init__(self):
        super().__init__()
        self.tables, self.caption, self.row, self.cell, self.first_p, self.in_p = {}, None, None, None, None, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "caption":
            self.caption = ""
        elif tag == "tr" and "data-id" in a:
            self.row = []
        elif tag == "td" and self.row is not None:
            self.cell = ["", a.get("title")]
        elif tag == "p" and self.first_p is None:
            self.in_p, self.first_p = True, ""

    def handle_endtag(self, tag):
        if tag == "caption":
            self.tables[self.caption] = []
            self.current = self.caption
            self.caption = None
        elif tag == "td" and self.cell is not None:
            self.row.append(tuple(self.cell))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.tables[self.current].append(self.row)
            self.row = None
        elif tag == "p":
            self.in_p = False

    def handle_data(self, data):
        if self.caption is not None:
            self.caption += data
        if self.cell is not None:
            self.cell[0] += data
        if self.in_p:
            self.first_p += data


def _parse(page: str) -> _Rows:
    p = _Rows()
    p.feed(page)
    return p


def _claims() -> pd.DataFrame:
    return pd.read_csv(CLAIMS, dtype=str, keep_default_na=False)


def test_every_claim_and_finding_with_its_verdict_and_counts():
    claims = _claims()
    parsed = _parse(verdicts_html(claims))
    assert list(parsed.tables) == ["Claims of the paper", "Findings beyond the paper"]
    for kind, caption in (("claim", "Claims of the paper"), ("finding", "Findings beyond the paper")):
        rows = claims[claims["kind"] == kind]
        shown = parsed.tables[caption]
        assert len(shown) == len(rows) > 0
        for r, cells in zip(rows.itertuples(index=False), shown):
            texts = [t for t, _ in cells]
            expected = ([r.id, r.statement, r.verdict] if kind == "claim" else [r.id, r.statement]) + [
                r.n_cases,
                r.n_counter,
            ]
            assert texts == expected, r.id
            assert cells[1][1] == r.statement  # the whole statement is the tooltip
    counts = verdict_counts(claims)
    verdicts = claims.loc[claims["kind"] == "claim", "verdict"]
    assert counts == {v: int((verdicts == v).sum()) for v in ("holds", "holds with correction", "fails", "untested")}
    line = parsed.first_p
    assert f"{(claims['kind'] == 'claim').sum()} claims of the paper" in line
    assert f"{(claims['kind'] == 'finding').sum()} findings of ours" in line
    assert all(f"{n} {v}" in line for v, n in counts.items())


def test_markup_in_a_statement_is_shown_as_text():
    claims = _claims().head(3).copy()
    claims.loc[0, "statement"] = 'a <b>bold</b> & "quoted" |x̄_j − x̄| claim'
    page = verdicts_html(claims)
    assert "<b>bold</b>" not in page
    cells = _parse(page).tables["Claims of the paper"][0]
    assert cells[1] == ('a <b>bold</b> & "quoted" |x̄_j − x̄| claim',) * 2


def test_only_the_documented_columns_are_read_and_the_page_is_deterministic():
    claims = _claims()
    page = verdicts_html(claims)
    assert verdicts_html(claims[COLUMNS]) == page == verdicts_html(claims.copy())
    assert not any(e in page for e in claims["evidence"])  # the evidence stays in claims.csv


def test_a_table_without_the_columns_is_refused_in_one_line():
    with pytest.raises(DlgeomInputError) as err:
        verdicts_html(_claims().drop(columns=["verdict", "n_counter"]))
    assert "verdict, n_counter" in str(err.value) and "\n" not in str(err.value)
    claims = _claims()
    claims.loc[3, "kind"] = "remark"  # a row the two tables would leave out
    with pytest.raises(DlgeomInputError, match="column kind holds remark; allowed: claim, finding"):
        verdicts_html(claims)


def test_the_command_writes_the_page(tmp_path):
    out = tmp_path / "verdicts.html"
    assert main(["verdicts-html", "--claims", str(CLAIMS), "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == verdicts_html(_claims())
