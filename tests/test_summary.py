"""Generated prose: the headline block is a function of the tables, and a Markdown file's block
must equal it."""

from pathlib import Path

import pandas as pd
import pytest

from dlgeom.cli import main
from dlgeom.study.summary import BEGIN, END, block_is_current, extract_block, headline, replace_block
from dlgeom.study.verdicts import assemble, make_row

ROOT = Path(__file__).resolve().parents[1]


def _tables(tmp_path: Path) -> Path:
    t = tmp_path / "tables"
    t.mkdir()
    rows = [
        make_row("prop22", 3, 0, "e"),
        make_row("thm23_box", 4, 1, "e", 0),
        make_row("thm24_value", 4, 4, "e"),
        make_row("box_assumed", 4, 1, "e"),
    ]
    assemble(rows).to_csv(t / "claims.csv", index=False)
    cons = pd.DataFrame(
        {
            "kind": "synthetic",
            "status": "ok",
            "Q": [3, 3, 4, 4, 4],
            "delta_ratio": [0.1, 0.2, 0.1, 0.2, 0.24],
            "all_hold": [True, True, True, True, False],
            "box_nonempty_paper": [True, True, True, False, False],
            "box_nonempty_sup": [True, True, True, True, False],
            "box_nonempty_exact": [True, True, True, True, False],
        }
    )
    cons.to_csv(t / "constructions.csv", index=False)
    pd.DataFrame(
        {
            "axis": "theta",
            "x": [1.6, 2.8, 3.4, 3.77],
            "frac_all_hold": [1.0, 0.0, 0.0, 0.0],
            "frac_zero_default": [1.0, 1.0, 0.0, 0.0],
            "frac_zero_any": [1.0, 1.0, 1.0, 0.6],
        }
    ).to_csv(t / "robustness_summary.csv", index=False)
    pd.DataFrame(
        {
            "dataset": ["iris", "iris", "wine", "digits"],
            "projection": ["lda", "simplex", "lda", "lda"],
            "Q": [3, 3, 3, 10],
            "lambda_assumptions_grid": [float("nan"), 0.05, 0.15, float("nan")],
            "lambda_zero_any_refined": [0.0, 0.2625, 1.0, float("nan")],
            "zero_any_extent": ["lost_in_sweep", "lost_in_sweep", "whole_sweep", "never"],
            "acc_best_at_lambda1": [0.6667, 0.3, 0.94, 0.1],
            "acc_ncm_at_lambda1": [1.0, 0.7, 0.98, 0.9],
            "acc_logreg_at_lambda1": [1.0, 0.9, 0.98, float("nan")],
        }
    ).to_csv(t / "realdata_summary.csv", index=False)
    return t


def test_headline_numbers(tmp_path):
    md = headline(_tables(tmp_path))
    n_claims = md.split("checks ")[1].split(" ")[0]
    assert int(n_claims) >= 3
    assert "1 holds; 1 holds with correction: `thm23_box`; 1 fails: `thm24_value`; 13 untested)" in md
    assert "A1–A3 hold in 4 of 5 synthetic cases" in md
    assert "is still empty in 1 of them, for every θ_0 in 0" in md
    assert "Q = 4: r ∈ {0.2}" in md
    assert "a searched μ at θ ∈ {1.6, 2.8, 3.4}" in md and "misses zero cost in some replicate at θ ∈ {3.77}" in md
    assert "| iris | 3 | never hold | 0.00 | 0.67 / 1.00 / 1.00 |" in md
    assert "| wine | 3 | 0.15 | ≥ 1.00 | 0.94 / 0.98 / 0.98 |" in md  # zero cost never stops in the sweep
    assert "| digits | 10 | never hold | never | 0.10 / 0.90 / n/a |" in md
    assert "0.26" not in md and "LDA rows only" in md  # the simplex row is not shown
    assert "last λ with zero cost (refined)" in md and "λ where zero cost stops" not in md


def test_headline_minima_line_counts_dead_units_and_q2_outliers(tmp_path):
    t = _tables(tmp_path)
    # five minima: Q = 2 and 3; dead units 0/2/0/1/3; Hessian outliers 4 (= Q²), 3, none, 9 (= Q²), 8
    pd.DataFrame(
        {
            "Q": [2, 2, 3, 3, 3],
            "dead_units": [0, 2, 0, 1, 3],
            "hess_n_outliers": [4, 3, None, 9, 8],
        }
    ).to_csv(t / "landscape_minima.csv", index=False)
    m = pd.read_csv(t / "landscape_minima.csv")
    alive = sum(int(d) == 0 for d in m["dead_units"])
    defined = [(q, h) for q, h in zip(m["Q"], m["hess_n_outliers"]) if h == h]  # NaN != NaN
    q2 = sum(int(h) == q * q for q, h in defined)
    assert (alive, len(defined), q2) == (2, 4, 2)
    md = headline(t)
    assert f"Of 5 distinct certified non-zero minima of L-BFGS, {5 - alive} have a dead unit" in md
    assert f"and {alive} have none; {q2} of the {len(defined)} with a defined Hessian have exactly Q²" in md
    pd.DataFrame({"Q": [2], "cost": [0.5]}).to_csv(t / "landscape_minima.csv", index=False)  # an older study
    assert "the Q² Hessian outliers: n/a." in headline(t)


def test_headline_realdata_with_columns_of_an_older_study(tmp_path):
    t = _tables(tmp_path)
    s = pd.read_csv(t / "realdata_summary.csv").rename(columns={"acc_best_at_lambda1": "acc_best_at_max"})
    s.to_csv(t / "realdata_summary.csv", index=False)
    assert "Real data: n/a (realdata_summary.csv has no column acc_best_at_lambda1: rerun the study)." in headline(t)


def test_headline_without_tables(tmp_path):
    md = headline(tmp_path)
    assert "Claims table: n/a." in md and "Real data: n/a." in md


def test_block_round_trip_and_drift(tmp_path):
    t = _tables(tmp_path)
    doc = tmp_path / "doc.md"
    doc.write_text(f"# Title\n\nBefore.\n\n{BEGIN}\nold text\n{END}\n\nAfter.\n")
    assert not block_is_current(doc, t)
    doc.write_text(replace_block(doc.read_text(), headline(t)))
    assert block_is_current(doc, t)
    assert doc.read_text().startswith("# Title\n\nBefore.\n") and doc.read_text().endswith("\nAfter.\n")
    # a hand edit of a generated number is caught
    doc.write_text(doc.read_text().replace("0.67 / 1.00", "0.64 / 1.00"))
    assert not block_is_current(doc, t)
    with pytest.raises(SystemExit) as exc:
        main(["headline", "--tables", str(t), "--check", str(doc)])
    assert exc.value.code == 1
    assert main(["headline", "--tables", str(t), "--update", str(doc)]) == 0
    assert main(["headline", "--tables", str(t), "--check", str(doc)]) == 0
    with pytest.raises(ValueError, match="no generated block"):
        replace_block("no markers", "x")
    assert extract_block("no markers") is None


def _study_tables() -> Path | None:
    for p in (ROOT / "results" / "default" / "tables", ROOT / "results" / "tables"):
        if p.is_dir():
            return p
    return None


@pytest.mark.parametrize("doc", [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))], ids=lambda p: p.name)
def test_generated_blocks_are_current(doc):
    """README and docs: a generated block must equal headline() of the committed default study."""
    if not doc.is_file() or extract_block(doc.read_text()) is None:
        pytest.skip(f"{doc.name} has no generated block")
    tables = _study_tables()
    assert tables is not None, "no committed study tables"
    assert block_is_current(doc, tables), f"{doc.name}: run dlgeom headline --tables {tables} --update {doc}"


def test_the_timing_block_of_the_performance_page_is_the_recorded_run():
    """docs/performance.md's default-study timing equals results/benchmarks/study_default.json
    (written by `make reference`), so the page cannot drift from the measurement."""
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("study_timing", ROOT / "benchmarks" / "study_timing.py")
    timing = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(timing)
    source = ROOT / "results" / "benchmarks" / "study_default.json"
    rec = json.loads(source.read_text())
    text = (ROOT / "docs" / "performance.md").read_text()
    block = text[text.index(timing.BEGIN) : text.index(timing.END) + len(timing.END)]
    assert block == timing.timing_block(rec["summary"], rec["by_rule"], source)
