"""The verdict engine on small synthetic tables whose right verdicts and counts are known."""

import numpy as np
import pandas as pd
import pytest

from dlgeom.study.aggregate import write_tables
from dlgeom.study.grid_report import grid_claims, regular_simplex_limits
from dlgeom.study.verdicts import CATALOGUE, COLUMNS, assemble, empty_row, make_row, render_markdown, verdict


def test_verdict_rule():
    assert verdict("claim", 0, 0) == "untested"
    assert verdict("claim", 5, 0) == "holds"
    assert verdict("claim", 5, 2) == "fails"
    assert verdict("claim", 5, 2, 0) == "holds with correction"
    assert verdict("claim", 5, 2, 1) == "fails"
    assert verdict("finding", 5, 2) == "finding"
    assert verdict("finding", 0, 0) == "finding"


def test_make_row_checks_counts_and_keys():
    with pytest.raises(KeyError):
        make_row("no_such_claim", 1, 0, "")
    with pytest.raises(ValueError, match="n_counter"):
        make_row("prop22", 3, 4, "")
    r = make_row("prop22", 0, 0, "ignored")
    assert r["verdict"] == "untested" and r["evidence"] == "no applicable case in this study"


def test_assemble_is_independent_of_the_stages_run():
    full = assemble([])
    assert list(full.columns) == COLUMNS
    assert list(full["id"]) == [k for k in CATALOGUE if CATALOGUE[k].kind == "claim"] + [
        k for k in CATALOGUE if CATALOGUE[k].kind == "finding"
    ]
    assert set(full.loc[full["kind"] == "claim", "verdict"]) == {"untested"}
    assert set(full.loc[full["kind"] == "finding", "verdict"]) == {"finding"}
    assert (full["n_cases"] == 0).all()
    one = assemble([make_row("prop22", 4, 1, "x")])
    assert one.set_index("id").loc["prop22", "verdict"] == "fails"
    # same keys, statements and references whatever ran
    assert (one[["id", "kind", "statement", "reference"]] == full[["id", "kind", "statement", "reference"]]).all().all()
    with pytest.raises(ValueError, match="twice"):
        assemble([empty_row("prop22"), empty_row("prop22")])


def test_markdown_has_two_tables():
    md = render_markdown(assemble([make_row("prop22", 2, 0, "a | b")]))
    assert "## Claims of the paper" in md and "## Findings (our questions)" in md
    n_claims = sum(e.kind == "claim" for e in CATALOGUE.values())
    n_find = len(CATALOGUE) - n_claims
    assert md.count("\n| ") == n_claims + n_find + 2  # rows + two header rows
    assert "a \\| b" in md


# ---- synthetic study tables --------------------------------------------------------------------


def _cons(n_inside=4, n_outside=2, fail_paper=(), fail_eff=(), costly=(), empty=(), reach=(), rounding=()):
    """Construction rows: ``n_inside`` cases with A1-A3, then ``n_outside`` without.  Indices in
    ``fail_paper``/``fail_eff`` have one failing corner in that box, ``costly`` a non-zero default
    cost, ``empty`` an empty μ-box (for every θ_0), ``reach`` D > min_j|x̄_j − x̄|."""
    rows = []
    for i in range(n_inside + n_outside):
        inside = i < n_inside
        box = i not in empty
        row = {
            "cell": f"c{i}",
            "replicate": 0,
            "L": 2,
            "Q": 2,
            "kind": "synthetic",
            "status": "ok",
            "all_hold": inside,
            "A1": True,
            "A2": inside,
            "A3": True,
            "box_nonempty": box,
            "box_nonempty_paper": box,
            "box_nonempty_sup": box,
            "box_nonempty_cap": box,
            "box_nonempty_exact": True,
            "box_nonempty_exact_sup": True,
            "theta0": 0.5,
            "D": 2.0 if i in reach else 0.5,
            "dist_min": 1.0,
            "cost_global": 1e-3 if (i in costly or not inside) else 1e-14,
            "accuracy": 1.0,
            "agreement": 1.0,
            "accuracy_ncm": 1.0,
            "theta": "regular",
            "delta_ratio": 0.1,
            "r": 0.1,
            "theta_max": 1.0,
            "theta_star": 1.5,
            "theta_mean": 1.0,
        }
        for which, fails in (("paper", fail_paper), ("eff", fail_eff)):
            n = 4 if box else 0
            row.update(
                {
                    f"box_{which}_n_corner": n,
                    f"box_{which}_n_edge": n,
                    f"box_{which}_n_random": 2 if box else 0,
                    f"box_{which}_fail_corner": int(i in fails),
                    f"box_{which}_fail_edge": 0,
                    f"box_{which}_fail_random": 0,
                    f"box_{which}_past_min": int(i in fails),
                    f"box_{which}_fail_past_min": int(i in fails),
                    f"box_{which}_apex_out": int(i in fails),
                    f"box_{which}_fail_apex_out": int(i in fails),
                    f"box_{which}_fail_rounding": int(i in rounding and which == "paper"),
                }
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _pats(n_cases=3, lower=(1,), L=2):
    rows = []
    for i in range(n_cases):
        for s, typ in (("00", "global"), ("01", "mixed"), ("10", "mixed"), ("11", "none")):
            vp = 1.0
            rows.append(
                {
                    "cell": f"c{i}",
                    "replicate": 0,
                    "L": L,
                    "Q": 2,
                    "kind": "synthetic",
                    "s": s,
                    "type": typ,
                    "all_hold": True,
                    "box_nonempty": True,
                    "value_paper": vp,
                    "value_biasfree": vp,
                    "value_affine": 0.8 if (typ == "none" and i in lower) else vp,
                    "closed_form_error": 1e-14,
                    "mu_in_box": True,
                    "mu_dependent": typ == "mixed",
                    "stationary": typ != "mixed",
                    "mu_descent": typ == "mixed",
                    "grad_norm": 1e-12,
                }
            )
    return pd.DataFrame(rows)


def _frames(cons, pats=None):
    empty = pd.DataFrame()
    p22 = pd.DataFrame(
        {
            "cell": ["c0", "c1"],
            "replicate": [0, 0],
            "tau_idempotence_err": [1e-15, 1e-9],
            "tau_scale_err": [0.0, 0.0],
            "cumulative_err": [0.0, 0.0],
        }
    )
    return {
        "constructions": cons,
        "patterns": _pats() if pats is None else pats,
        "degeneracy": empty,
        "prop22": p22,
        "curation": empty,
    }


def _table(frames):
    return assemble(grid_claims(frames)).set_index("id")


def test_holds_everywhere():
    t = _table(_frames(_cons()))
    assert t.loc["thm23_zero", ["verdict", "n_cases", "n_counter"]].tolist() == ["holds", 4, 0]
    assert t.loc["thm23_box", ["verdict", "n_cases", "n_counter"]].tolist() == ["holds", 4, 0]
    assert t.loc["metric_classifier", "verdict"] == "holds"
    assert t.loc["thm23_outside", ["verdict", "n_cases", "n_counter"]].tolist() == ["finding", 2, 2]
    # prop22: one of two rows has an error ≥ 1e-10
    assert t.loc["prop22", ["verdict", "n_cases", "n_counter"]].tolist() == ["fails", 2, 1]
    # stages that did not run: untested claims, empty findings
    assert t.loc["flat_directions", ["verdict", "n_cases"]].tolist() == ["untested", 0]
    assert t.loc["training_zero", ["verdict", "n_cases"]].tolist() == ["finding", 0]
    assert t.loc["degeneracy_perturb", "verdict"] == "untested"


def test_box_fails_and_correction():
    # the paper's box fails in cases 0 and 2; the D_eff box in none: holds with correction
    t = _table(_frames(_cons(fail_paper=(0, 2), reach=(0, 2))))
    assert t.loc["thm23_box", ["verdict", "n_cases", "n_counter"]].tolist() == ["holds with correction", 4, 2]
    assert "2 both, 0 failing with D ≤" in t.loc["thm23_box", "evidence"]
    # the D_eff box fails too in case 2: fails
    t = _table(_frames(_cons(fail_paper=(0, 2), fail_eff=(2,))))
    assert t.loc["thm23_box", ["verdict", "n_cases", "n_counter"]].tolist() == ["fails", 4, 2]
    # a failure by rounding (exact curation) is not a counterexample
    t = _table(_frames(_cons(fail_paper=(0, 2), rounding=(2,))))
    assert t.loc["thm23_box", ["verdict", "n_cases", "n_counter"]].tolist() == ["holds with correction", 4, 1]
    assert "1 are rounding" in t.loc["thm23_box", "evidence"]


def test_empty_box_counted_apart():
    # case 1 has an empty μ-box: outside the hypotheses, not a counterexample even with a cost
    t = _table(_frames(_cons(empty=(1,), costly=(1,))))
    assert t.loc["thm23_zero", ["verdict", "n_cases", "n_counter"]].tolist() == ["holds", 3, 0]
    assert t.loc["thm23_box", ["n_cases", "n_counter"]].tolist() == [3, 0]
    assert t.loc["box_assumed", ["verdict", "n_cases", "n_counter"]].tolist() == ["finding", 4, 1]
    t = _table(_frames(_cons(costly=(3,))))
    assert t.loc["thm23_zero", ["verdict", "n_cases", "n_counter"]].tolist() == ["fails", 4, 1]


def test_thm24_split_and_layers():
    pats = pd.concat([_pats(3, lower=(1,), L=2), _pats(2, lower=(0, 1), L=4)], ignore_index=True)
    t = _table(_frames(_cons(), pats))
    # value statement: V_aff below (2.71) in 1 of 3 cases at L = Q; L = Q + 2 is a finding apart
    assert t.loc["thm24_value", ["verdict", "n_cases", "n_counter"]].tolist() == ["fails", 3, 1]
    assert t.loc["thm24_degenerate", ["verdict", "n_cases", "n_counter"]].tolist() == ["holds", 3, 0]
    assert t.loc["thm25_mixed", ["verdict", "n_cases", "n_counter"]].tolist() == ["fails", 6, 6]
    assert t.loc["thm25_count", ["verdict", "n_cases", "n_counter"]].tolist() == ["fails", 3, 3]
    assert t.loc["patterns_extra_layers", ["verdict", "n_cases"]].tolist() == ["finding", 8]
    assert "V_aff below (2.71) in 2/2" in t.loc["patterns_extra_layers", "evidence"]


def test_regular_simplex_limits_closed_form():
    lim = regular_simplex_limits((0.2, 0.24))
    # sup D = ρ(Q/(Q−1) − c0) ≤ 2 c0 ρ √Q first at Q = 7 for c0 = 0.2 and at Q = 5 for c0 = 0.24
    for c0, q in lim.items():
        f = lambda k, c0=c0: k / (k - 1) - c0 - 2 * c0 * np.sqrt(k)  # noqa: E731
        assert f(q) <= 0 < f(q - 1)
    assert lim == {0.2: 7, 0.24: 5}


def test_write_tables_renders_two_tables(tmp_path):
    write_tables(_frames(_cons()), tmp_path)
    c = pd.read_csv(tmp_path / "claims.csv", keep_default_na=False)
    assert list(c.columns) == COLUMNS and c["id"].is_unique and len(c) == len(CATALOGUE)
    md = (tmp_path / "claims.md").read_text()
    assert "## Findings (our questions)" in md
