"""The evidence texts: one template per claim id (dlgeom.study.evidence), rendered from the numbers
a claims function computes.  Every template renders; a template's placeholders are exactly the
numbers given (a missing or an extra number fails); and on one hand-made table per claims function
the numbers are the ones recomputed here."""

import numpy as np
import pandas as pd
import pytest

from dlgeom.study.beyond_report import beyond_claims
from dlgeom.study.collapse_report import collapse_claims
from dlgeom.study.evidence import ITEMS, TEMPLATES, OptionalPart, item, placeholders, render
from dlgeom.study.grid_report import grid_claims
from dlgeom.study.landscape_report import landscape_claims, scaling_claims
from dlgeom.study.robustness_report import robustness_claims
from dlgeom.study.verdicts import CATALOGUE, COLUMNS, NO_CASE, make_row


def _parts(key):
    t = TEMPLATES[key]
    return (t,) if isinstance(t, str) else t


def _names(part):
    import string

    return {name for _, name, _, _ in string.Formatter().parse(part) if name}


def check_placeholders(row):
    """The row's numbers are exactly the placeholders of the parts of its template that it shows:
    every required part's, and an optional part's all or none."""
    numbers = set(row["numbers"])
    expected = set()
    for part in _parts(row["id"]):
        names = _names(part)
        if isinstance(part, OptionalPart) and not names & numbers:
            continue
        expected |= names
    assert numbers == expected, row["id"]
    assert render(row["id"], row["numbers"]) == row["evidence"]


def _rendered(rows):
    """The rows with a case (their evidence is rendered from numbers); each checked."""
    out = {r["id"]: r for r in rows if r["n_cases"]}
    for r in out.values():
        assert r["evidence"] != NO_CASE
        check_placeholders(r)
    return out


def test_every_claim_id_has_one_template_and_nothing_else_has():
    assert set(TEMPLATES) == set(CATALOGUE)


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_every_template_renders_with_its_numbers(key):
    numbers = {name: 1 for name in placeholders(key)}
    text = render(key, numbers)
    assert text and "{" not in text.replace("{1}", "") and "}" not in text.replace("{1}", "")


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_a_missing_or_an_extra_number_fails(key):
    required = set().union(*(_names(p) for p in _parts(key) if not isinstance(p, OptionalPart)))
    numbers = {name: 1 for name in placeholders(key)}
    with pytest.raises(KeyError, match="not in its template"):
        render(key, {**numbers, "no_such_number": 1})
    if required:
        del numbers[sorted(required)[0]]
        with pytest.raises(KeyError, match="missing"):
            render(key, numbers)


def test_optional_parts_are_left_out_without_their_numbers():
    key = "robust_sufficient"
    required = set().union(*(_names(p) for p in _parts(key) if not isinstance(p, OptionalPart)))
    text = render(key, {name: 1 for name in required})
    assert "rounding (exact curation" not in text and text.endswith("not a counterexample")
    some = {name: 1 for name in required} | {"n_rounding": 1}  # one number of an optional part only
    with pytest.raises(KeyError, match="missing"):
        render(key, some)


def test_formatting_of_numbers():
    assert item("group_value", {"group": "lbfgs", "value": "3/4"}) == "lbfgs 3/4"
    assert item("q_ratio", {"q": 3, "ratio": 0.12345}) == "3: 0.123"
    numbers = {name: 1 for name in placeholders("prop22")} | {"idempotence": 1.23456e-12, "scale_invariance": np.nan}
    text = render("prop22", numbers)
    assert "idempotence 1.23e-12" in text and "scale invariance n/a" in text
    assert set(ITEMS) >= {"group_value", "q_ratio"}


def test_make_row_keeps_the_numbers_out_of_the_table_and_no_case_wins():
    numbers = {"idempotence": 0.0, "scale_invariance": 0.0, "cumulative": 0.0}
    row = make_row("prop22", 2, 0, numbers)
    assert row["numbers"] == numbers and row["evidence"] == render("prop22", numbers)
    assert list(pd.DataFrame([row], columns=COLUMNS).columns) == COLUMNS
    none = make_row("prop22", 0, 0, numbers)
    assert none["evidence"] == NO_CASE and none["n_counter"] == 0


# ---- one hand-made table per claims function ------------------------------------------------------


def _constructions(n_inside=4, n_outside=2):
    rows = []
    for i in range(n_inside + n_outside):
        inside = i < n_inside
        row = {
            "cell": f"c{i}",
            "replicate": 0,
            "L": 2 + (i % 2),
            "Q": 2,
            "kind": "synthetic",
            "status": "ok",
            "all_hold": inside,
            "A2": inside,
            "A3": True,
            "box_nonempty": True,
            "box_nonempty_paper": True,
            "box_nonempty_sup": True,
            "box_nonempty_cap": True,
            "box_nonempty_exact": True,
            "box_nonempty_exact_sup": True,
            "theta0": 0.1 * (i + 1),
            "D": 0.5,
            "dist_min": 1.0,
            "cost_global": 1e-3 if not inside else 1e-14 * (i + 1),
            "accuracy": 1.0 if i else 0.9,
            "agreement": 1.0,
            "accuracy_ncm": 0.5 + 0.1 * i,
        }
        for which in ("paper", "eff"):
            for k in ("corner", "edge", "random", "past_min", "apex_out"):
                row[f"box_{which}_n_{k}"] = 4
                row[f"box_{which}_fail_{k}"] = int(i == 1 and k == "corner")
            row[f"box_{which}_past_min"] = row[f"box_{which}_apex_out"] = 0
            row[f"box_{which}_fail_rounding"] = 0
        rows.append(row)
    return pd.DataFrame(rows)


def test_grid_claims_numbers():
    cons = _constructions()
    p22 = pd.DataFrame({"tau_idempotence_err": [1e-15, 2e-12], "tau_scale_err": [0.0, 3e-11], "cumulative_err": 0.0})
    empty = pd.DataFrame()
    rows = _rendered(
        grid_claims({"constructions": cons, "patterns": empty, "degeneracy": empty, "prop22": p22, "curation": empty})
    )
    assert rows["prop22"]["numbers"] == {"idempotence": 2e-12, "scale_invariance": 3e-11, "cumulative": 0.0}
    inside = cons[cons["all_hold"]]
    z = rows["thm23_zero"]["numbers"]
    assert z["zero_default"] == f"{int((inside['cost_global'] <= 1e-10).sum())}/{len(inside)}"
    assert z["max_cost"] == inside["cost_global"].max() and z["extra_layers"] == "0, 1"
    assert z["median_theta0"] == pytest.approx(np.median([0.1, 0.2, 0.3, 0.4]))
    box = rows["thm23_box"]["numbers"]
    assert box["failing"] == "1/4" and box["paper_points"].startswith("corners 1/16 failing, edge midpoints 0/16")
    assert rows["thm23_outside"]["numbers"]["zero_default"] == "0/2"
    mc = rows["metric_classifier"]["numbers"]
    assert mc["accurate"] == "3/4" and mc["min_accuracy"] == 0.9
    assert mc["ncm_accuracy"] == pytest.approx(np.mean([0.5, 0.6, 0.7, 0.8]))


def test_landscape_claims_numbers():
    end = pd.DataFrame(
        {
            "start_kind": ["he", "he", "xavier", "xavier", "global"],
            "optimiser": ["lbfgs", "gd", "lbfgs", "gd", "lbfgs"],
            "category": ["zero", "pattern", "zero", "merge", "zero"],
            "status": ["zero", "converged", "zero", "max_iter", "zero"],
            "global_cost": 0.0,
            "rho": [np.nan] * 4 + [0.1],
            "returned": [False] * 4 + [True],
        }
    )
    rows = _rendered(landscape_claims({"landscape_endpoints": end}))
    tz = rows["training_zero"]["numbers"]
    assert tz["zero_runs"] == "2/4" and tz["by_optimiser"] == "gd 0.00, lbfgs 1.00"
    levels = rows["training_levels"]["numbers"]
    assert (levels["n_converged"], levels["pattern"], levels["merge"], levels["all_merge"]) == (1, 1, 0, 1)
    assert rows["training_attraction"]["numbers"]["rho"] == 0.1


def test_scaling_claims_numbers():
    t = pd.DataFrame(
        {
            "Q": [2, 2, 3],
            "optimiser": ["lbfgs", "lbfgs", "lbfgs"],
            "start": ["he", "xavier", "he"],
            "n": [10, 10, 10],
            "k_zero": [4, 0, 1],
            "n_distinct_minima": [1, 2, 3],
            "n_max_iter": [0, 1, 2],
        }
    )
    (row,) = scaling_claims(t)
    check_placeholders(row)
    n = row["numbers"]
    assert (n["n_runs"], n["n_groups"], n["n_none"]) == (30, 3, 1)
    assert n["largest_q"] == "lbfgs Q = 3" and n["minima"] == "Q2 1/2, Q3 3" and n["budget"] == "Q2 1/20, Q3 2/10"
    assert n["per_optimiser"].startswith("lbfgs Q2 0.20 [")


def test_robustness_claims_numbers():
    base = {
        "axis": "delta_ratio",
        "status": "ok",
        "A1": True,
        "A2": True,
        "A3": True,
        "A3_margin": 1.0,
        "cond_xred": 1.0,
        "exact_default": True,
        "exact_best": True,
        "cost_default": 1e-15,
        "cost_default_affine": 1e-15,
        "acc_metric": 1.0,
        "acc_ncm": 0.8,
        "acc_logreg": 0.9,
    }
    rob = pd.DataFrame(
        [
            {**base, "value": "0.1", "x": 0.1, "replicate": k, "all_hold": True, "reaches_zero_default": k < 2}
            | {"reaches_zero_any": True, "acc_best": 1.0 - 0.1 * k}
            for k in range(3)
        ]
        + [
            {**base, "value": "0.5", "x": 0.5, "replicate": 0, "all_hold": False, "A2": False}
            | {"reaches_zero_default": False, "reaches_zero_any": False, "acc_best": 0.5}
        ]
    )
    rows = _rendered(robustness_claims(rob, None))
    s = rows["robust_sufficient"]["numbers"]
    assert (s["zero_default"], s["zero_any"], s["n_failures"], s["n_rounding"]) == ("2/3", "3/3", 1, 1)
    assert s["rounding_axes"] == "delta_ratio"
    nec = rows["robust_necessary"]["numbers"]
    assert nec["zero_any"] == "0/1" and nec["per_assumption"] == "A2 fails: 0/1"
    assert nec["per_axis"] == "delta_ratio: assumptions up to 0.1, zero (any μ, all replicates) up to 0.1"
    acc = rows["realdata_accuracy"]["numbers"]
    assert acc["n_zero"] == 3 and acc["acc_best"] == pytest.approx(0.9) and acc["acc_best_not_zero"] == 0.5


def test_beyond_claims_numbers():
    hd = pd.DataFrame(
        {
            "status": "ok",
            "method": ["means_embed", "means_embed", "means_embed", "means_near", "pca_embed"],
            "cost": [0.0, 1e-12, 1.0, 0.0, 0.0],
            "Y_norm": 2.0,
            "all_hold": [True, True, False, True, True],
            "Q": 3,
            "M": [5, 6, 5, 5, 5],
            "r_M": [0.1, 0.3, 0.1, 0.1, 0.1],
            "mu_in_box": [True, True, True, False, True],
            "perp_scale": 1.0,
            "r_V": [0.1, 0.2, 0.3, 0.1, 0.4],
            "pca_captured": 0.9,
        }
    )
    rows = _rendered(beyond_claims({"highdim": hd}))
    z = rows["highdim_zero"]["numbers"]
    assert (z["zero_cases"], z["all_zero"], z["a2_fails_zero"], z["q_m"]) == ("2/2", "2/3", "1/1", [(3, 5), (3, 6)])
    assert z["max_cost"] == 1e-12
    assert rows["highdim_near"]["numbers"]["outside_box"] == "1/1"
    pca = rows["highdim_pca"]["numbers"]
    assert pca["n_singular"] == 0 and "R^M 2/3, PCA 1/1" in pca["per_noise"]


def test_collapse_claims_numbers():
    w = pd.DataFrame(
        {
            "cell": ["c"] * 4,
            "minimum": [0, 0, 1, 1],
            "level_type": ["pattern"] * 2 + ["other"] * 2,
            "multiplicity": [3, 3, 1, 1],
            "embedding": ["zero", "split"] * 2,
            "escapable": [True, False, False, False],
            "cost_before": [1.0] * 4,
            "cost_after": [0.5, 1.0, 1.0, 1.0],
            "rel_drop": [0.5, 0, 0, 0],
            "method": ["probe"] + ["none"] * 3,
        }
    )
    rows = _rendered(collapse_claims(None, w))
    n = rows["width_escape"]["numbers"]
    assert n["escapable"] == "1/2"
    assert "pattern: 1/1 distinct minima (3/3 end points) escapable" in n["per_level"]
    assert "median lowest cost reached / cost before 0.5" in n["per_level"]
    assert n["per_embedding"] == "split: other 0/1, pattern 0/1; zero: other 0/1, pattern 1/1 (found by probe 1; " + (
        "median relative drop 0.5)"
    )
    assert rows["width_escape"]["n_counter"] == 1
