"""Two studies side by side: the comparison block is a function of both tables directories, and
README's block must equal it for the committed default and paper-grade studies."""

from pathlib import Path

import pandas as pd
import pytest

from dlgeom.cli import main
from dlgeom.landscape import wilson_interval
from dlgeom.study.compare import BEGIN, END, comparison, comparison_is_current
from dlgeom.study.summary import extract_block
from dlgeom.study.verdicts import assemble, make_row

ROOT = Path(__file__).resolve().parents[1]


def _study(root: Path, k: int, n: int, multiplicities: list[int], thm25_counter: int, extra_cell=False) -> Path:
    t = root / "tables"
    t.mkdir(parents=True)
    rows = [make_row("prop22", 3, 0, "e"), make_row("thm25_count", 4, thm25_counter, "e")]
    assemble(rows).to_csv(t / "claims.csv", index=False)
    lo, hi = wilson_interval(k, n)
    basins = [
        {
            "cell": "Q2/x",
            "start": "he",
            "optimiser": "lbfgs",
            "category": "zero",
            "k": k,
            "n": n,
            "p": k / n,
            "wilson_lo": lo,
            "wilson_hi": hi,
        },
        {
            "cell": "Q2/x",
            "start": "he",
            "optimiser": "gd",
            "category": "zero",
            "k": 0,
            "n": n,
            "p": 0.0,
            "wilson_lo": 0.0,
            "wilson_hi": 0.1,
        },
    ]
    basins += (
        [
            {
                "cell": "Q9/only-here",
                "start": "he",
                "optimiser": "lbfgs",
                "category": "zero",
                "k": 1,
                "n": n,
                "p": 1 / n,
                "wilson_lo": 0.0,
                "wilson_hi": 0.1,
            }
        ]
        if extra_cell
        else []
    )
    pd.DataFrame(basins).to_csv(t / "landscape_basins.csv", index=False)
    pd.DataFrame({"cell": "Q2/x", "multiplicity": multiplicities}).to_csv(t / "landscape_minima.csv", index=False)
    return t


def test_comparison_numbers(tmp_path):
    a = _study(tmp_path / "a", 20, 100, [5, 3], thm25_counter=0)
    b = _study(tmp_path / "b", 190, 1000, [50, 30, 1, 1], thm25_counter=2, extra_cell=True)
    md = comparison(a, b)
    n_claims = len(assemble([]).query("kind == 'claim'"))  # every claim of the catalogue, untested or not
    assert f"Default: {n_claims} claims (2 holds," in md and f"paper-grade: {n_claims} claims (1 holds," in md
    # thm25_count holds with no counter-example in a, fails with 2 in b: the row names both counts
    assert "`thm25_count`" in md and "0/4 → 2/4 counter-examples" in md and "`prop22`" not in md
    lo_a, hi_a = wilson_interval(20, 100)
    lo_b, hi_b = wilson_interval(190, 1000)
    row = next(line for line in md.splitlines() if line.startswith("| Q2/x"))
    assert f"20.0 % of 100 ({100 * lo_a:.1f}–{100 * hi_a:.1f} %)" in row
    assert f"19.0 % of 1000 ({100 * lo_b:.1f}–{100 * hi_b:.1f} %)" in row
    assert f"| {(hi_b - lo_b) / (hi_a - lo_a):.2f} |" in row
    assert row.endswith("| 2 / 4 | 0 / 2 |")
    assert "Q9/only-here" not in md  # a cell of one study only is not compared


def test_comparison_of_a_study_with_itself_and_without_tables(tmp_path):
    a = _study(tmp_path / "a", 20, 100, [5, 3], thm25_counter=0)
    md = comparison(a, a)
    n_claims = len(assemble([]).query("kind == 'claim'"))
    assert f"Every one of the {n_claims} claim verdicts is the same in both studies." in md and "| 1.00 |" in md
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "Verdicts: n/a." in comparison(a, empty) and "no cell in both studies" in comparison(a, empty)


def test_compare_command_update_and_check(tmp_path, capsys):
    a = _study(tmp_path / "a", 20, 100, [5, 3], thm25_counter=0)
    b = _study(tmp_path / "b", 190, 1000, [50, 30, 1], thm25_counter=0)
    doc = tmp_path / "doc.md"
    doc.write_text(f"# T\n\n{BEGIN}\nold\n{END}\n")
    args = ["compare-studies", "--base", str(a), "--other", str(b)]
    with pytest.raises(SystemExit) as exc:
        main([*args, "--check", str(doc)])
    assert exc.value.code == 1
    assert main([*args, "--update", str(doc)]) == 0
    assert main([*args, "--check", str(doc)]) == 0 and comparison_is_current(doc, a, b)
    assert not comparison_is_current(doc, b, a)


def test_readme_comparison_is_current():
    """README's comparison block equals comparison() of the committed default and paper-grade
    tables."""
    readme = ROOT / "README.md"
    if extract_block(readme.read_text(), BEGIN, END) is None:
        pytest.skip("README has no comparison block")
    base, other = ROOT / "results" / "default" / "tables", ROOT / "results" / "paper" / "tables"
    assert base.is_dir() and other.is_dir(), "the comparison needs both committed studies"
    fix = f"dlgeom compare-studies --base {base.relative_to(ROOT)} --other {other.relative_to(ROOT)} --update README.md"
    assert comparison_is_current(readme, base, other), f"run {fix}"
