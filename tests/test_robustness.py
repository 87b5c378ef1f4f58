"""Robustness study: perturbations realise what they say, the μ search, measure_point,
the CLI, the claims' verdicts and the figures.  Every expected value is recomputed here with
numpy, never copied from a run."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from conftest import np_means

import dlgeom
from dlgeom.cli import main
from dlgeom.construct import collapse_thresholds
from dlgeom.robustness import (
    flip_labels,
    imbalance_counts,
    mu_candidates,
    near_singular_means,
    search_mu,
    with_means,
)
from dlgeom.study.measurements import make_point, measure_point
from dlgeom.study.robustness_axes import AXES, parse_axis_value, point_params
from dlgeom.validation import DlgeomInputError


def np_cond(M):
    s = np.linalg.svd(M, compute_uv=False)
    return s[0] / s[-1]


def np_r(X, y, q):
    m = np_means(X, y, q)
    return np.max(np.linalg.norm(X - m[y], axis=1)) / np.min(np.linalg.norm(m - m.mean(axis=0), axis=1))


@pytest.fixture(scope="module")
def base3():
    return dlgeom.make_clustered(3, 40, 0.1, seed=5)


# ---- perturbations -------------------------------------------------------------------------------


@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.05, 0.2, 0.5])
def test_flip_labels_realises_the_fraction(base3, fraction):
    noisy = flip_labels(base3, fraction, seed=[3, 1])
    changed = noisy.y != base3.y
    assert changed.sum() == round(fraction * base3.n_points)
    assert noisy.meta["label_noise"]["realised"] == pytest.approx(changed.mean(), abs=0)
    np.testing.assert_array_equal(noisy.X, base3.X)
    # same seed, same flips; another seed, other flips
    np.testing.assert_array_equal(flip_labels(base3, fraction, seed=[3, 1]).y, noisy.y)
    if fraction >= 0.05:
        assert not np.array_equal(flip_labels(base3, fraction, seed=[3, 2]).y, noisy.y)


def test_flip_labels_rejects_bad_fractions(base3):
    with pytest.raises(DlgeomInputError, match="label_noise"):
        flip_labels(base3, 0.9)
    with pytest.raises(DlgeomInputError, match="label_noise"):
        flip_labels(base3, -0.1)


@pytest.mark.parametrize("mode", ["flatten", "shift"])
@pytest.mark.parametrize("cond", [1.0, 7.5, 1e3, 1e6])
def test_near_singular_means_realise_the_condition_number(mode, cond):
    for q in (2, 3, 5):
        M = near_singular_means(q, cond, mode)
        assert np_cond(M.T) == pytest.approx(cond, rel=1e-9)


def test_shift_mode_keeps_the_affine_geometry():
    reg = np.eye(4)
    M = near_singular_means(4, 1e5, "shift")
    d = lambda A: np.linalg.norm(A[:, None, :] - A[None, :, :], axis=-1)
    np.testing.assert_allclose(d(M), d(reg), atol=1e-14)


@pytest.mark.parametrize("cond", [3.0, 100.0, 1e4])
def test_collinear_axis_point_realises_cond_and_keeps_r(cond):
    train, test = make_point(point_params({"n_per_class": 30}, "cond_xred", cond), [9])
    for d in (train, test):
        m = np_means(d.X, d.y, 3)
        assert np_cond(m.T) == pytest.approx(cond, rel=1e-9)
        assert np_r(d.X, d.y, 3) == pytest.approx(0.1, rel=1e-9)
    assert train.meta["means"]["cond_xred"] == pytest.approx(cond, rel=1e-9)


def test_with_means_rejects_wrong_shape(base3):
    with pytest.raises(DlgeomInputError, match="means"):
        with_means(base3, np.eye(2))


@pytest.mark.parametrize("fraction", [0.02, 0.1, 0.3])
def test_outlier_fraction_is_realised(fraction):
    train, _ = make_point(point_params({"n_per_class": 50}, "outlier_fraction", fraction), [4])
    expected = sum(math.ceil(fraction * n - 1e-9) for n in train.counts)
    assert train.meta["n_outliers"] == expected
    # outliers sit beyond the inliers: count points further than the largest inlier deviation
    m = np_means(train.X, train.y, 3)
    dev = np.linalg.norm(train.X - m[train.y], axis=1)
    assert np.sum(dev > np.sort(dev)[-expected - 1]) == expected


@pytest.mark.parametrize("ratio", [1.0, 3.0, 20.0])
def test_imbalance_counts(ratio):
    counts = imbalance_counts(3, 60, ratio)
    assert counts == [max(2, round(60 * ratio ** (-j / 2))) for j in range(3)]
    train, test = make_point(point_params({}, "imbalance", ratio), [2])
    np.testing.assert_array_equal(train.counts, counts)
    np.testing.assert_array_equal(test.counts, [100, 100, 100])  # balanced held-out data
    assert train.counts[0] / train.counts[-1] == pytest.approx(ratio, rel=0.1)


def test_label_noise_point_has_clean_test_labels():
    train, test = make_point(point_params({}, "label_noise", 0.1), [6])
    clean, _ = make_point(point_params({}, "label_noise", 0.0), [6])
    np.testing.assert_array_equal(train.X, clean.X)
    assert np.sum(train.y != clean.y) == round(0.1 * clean.n_points)
    m = np_means(test.X, test.y, 3)
    assert np.max(np.linalg.norm(test.X - m[test.y], axis=1)) / np.min(
        np.linalg.norm(m - m.mean(0), axis=1)
    ) == pytest.approx(0.1, rel=1e-9)


def test_axis_values_are_validated():
    assert parse_axis_value("theta", "regular") == "regular"
    assert parse_axis_value("n_per_class", "30") == 30
    for axis, bad in (
        ("noise", "laplace"),
        ("label_noise", 0.7),
        ("outlier_fraction", 0.5),
        ("cond_xred", 0.5),
        ("n_per_class", 2.5),
        ("delta_ratio", 0),
    ):
        with pytest.raises(DlgeomInputError, match=axis):
            parse_axis_value(axis, bad)
    with pytest.raises(DlgeomInputError, match="axis"):
        parse_axis_value("nope", 1)
    assert len(AXES) == 10


# ---- μ search and measure_point ----------------------------------------------------------------


def test_mu_candidates_lie_strictly_below_the_exact_thresholds(base3):
    geom = dlgeom.geometry(base3)
    mus, fam = mu_candidates(base3, geom, 5, 7, seed=1)
    t = collapse_thresholds(base3, geom)[:, 0]
    assert mus.shape == (5 + 5 + 7, 3) and set(fam) == {"class-line", "common-line", "random"}
    assert np.all(mus < t[None, :])


def test_search_finds_zero_where_the_default_mu_fails():
    train, _ = make_point(point_params({}, "delta_ratio", 0.3), [1, 2])
    geom = dlgeom.geometry(train)
    default = dlgeom.cost(dlgeom.construct_global(train, geom=geom).network, train)
    found = search_mu(train, geom, seed=[1])
    assert default > 0.1  # the default μ fails (all classes on one point)
    assert found["reaches_zero"] and found["best_cost"] <= 1e-10
    # the best cost is a real forward pass of a network with that μ and a least-squares output
    con = dlgeom.construct_pattern(train, np.zeros(3, int), 3, found["best_mu"], output="lstsq_affine", strict_mu=False)
    assert dlgeom.cost(con.network, train) == pytest.approx(found["best_cost"], abs=1e-12)


@pytest.mark.parametrize(
    "axis,value", [("delta_ratio", 0.1), ("delta_ratio", 1.0), ("theta", 3.4), ("label_noise", 0.05)]
)
def test_measure_point_is_never_worse_than_the_default(axis, value):
    train, test = make_point(point_params({"n_per_class": 30}, axis, value), [3])
    row = measure_point(train, test, seed=[0])
    assert row["status"] == "ok"
    assert row["cost_best"] <= row["cost_default"] + 1e-15
    assert row["reaches_zero_any"] == (row["cost_best"] <= 1e-10)
    assert row["reaches_zero_default"] == (row["cost_default"] <= 1e-10)
    # margins and flags agree with a numpy recomputation
    assert row["r"] == pytest.approx(np_r(train.X, train.y, 3), rel=1e-12)
    assert row["A2_margin"] == pytest.approx(0.25 - row["r"], abs=1e-15)
    assert row["A2"] == (row["r"] < 0.25)
    # baselines
    m = np_means(train.X, train.y, 3)
    ncm = np.argmin(((test.X[:, None, :] - m[None]) ** 2).sum(-1), axis=1)
    assert row["acc_ncm"] == pytest.approx(np.mean(ncm == test.y))
    assert 0.0 <= row["acc_logreg"] <= 1.0


def test_measure_point_inside_the_assumptions():
    train, test = make_point(point_params({"n_per_class": 30}, "delta_ratio", 0.1), [8])
    row = measure_point(train, test)
    assert row["all_hold"] and row["reaches_zero_default"] and row["exact_default"]
    assert row["acc_metric"] == 1.0 and row["acc_best"] == 1.0


def test_measure_point_reports_a_singular_xred_instead_of_raising():
    train, test = make_point(point_params({"n_per_class": 20}, "cond_shift", 1e13), [1])
    row = measure_point(train, test)
    assert row["status"] == "singular_xred"
    assert row["cond_xred"] > 1e12 and not row["A1"]
    assert math.isnan(row["cost_default"]) and not row["reaches_zero_any"]
    assert 0.0 <= row["acc_ncm"] <= 1.0


def test_theta_star_contains_theta_max_when_a3_barely_holds():
    # near-collinear means: A3 holds with θ_max ≥ 0.99π; θ_* must still exceed θ_max (below π)
    train, test = make_point(point_params({"n_per_class": 20}, "cond_xred", 1e3), [1])
    geom = dlgeom.geometry(train)
    assert 0.99 * np.pi <= geom.theta_max < np.pi
    assert geom.theta_max < geom.theta_star < np.pi
    row = measure_point(train, test)
    assert row["exact_default"]  # zero in exact arithmetic


# ---- command line --------------------------------------------------------------------------------


def _run(capsys, *argv):
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize(
    "argv,field",
    [
        (["--axis", "nope", "--values", "1"], "--axis"),
        (["--axis", "label_noise", "--values", "0.9"], "label_noise"),
        (["--axis", "theta", "--values", "regular", "--Q", "3", "--noise", "laplace"], "noise"),
        (["--axis", "delta_ratio", "--values", "0.1", "--optimisers", "sgd"], "--optimisers"),
        (["--axis", "delta_ratio", "--values", "0.1", "--seed", "-1"], "--seed"),
    ],
)
def test_cli_robustness_bad_input_is_one_line(tmp_path, capsys, argv, field):
    out = tmp_path / "r.json"
    rc, _, err = _run(capsys, "robustness", *argv, "--out", out)
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("dlgeom: error: ") and field in err
    assert not out.exists()


def test_cli_robustness_and_tables_end_to_end(tmp_path, capsys):
    args = [
        "robustness",
        "--axis",
        "delta_ratio",
        "--values",
        "0.1,0.5",
        "--n",
        "12",
        "--test-n",
        "10",
        "--replicates",
        "2",
        "--mu-line",
        "3",
        "--mu-random",
        "3",
        "--optimiser-at",
        "0.1",
        "--optimisers",
        "lbfgs",
        "--optimiser-runs",
        "2",
        "--optimiser-iter",
        "20",
        "--seed",
        "4,5",
        "--quiet",
    ]
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert _run(capsys, *args, "--out", a)[0] == 0
    assert _run(capsys, *args, "--out", b)[0] == 0
    assert a.read_bytes() == b.read_bytes()  # same inputs, same bytes
    d = json.loads(a.read_text())
    assert d["seed"] == [4, 5] and len(d["rows"]) == 4 and len(d["optimiser_rows"]) == 2
    assert {r["seed"] for r in d["rows"]} == {"4-5-0", "4-5-1"}
    rc, _, err = _run(capsys, "robustness-tables", "--robustness", a, "--out-dir", tmp_path / "t")
    assert rc == 0, err
    rob = pd.read_csv(tmp_path / "t" / "robustness.csv")
    assert list(rob["value"].astype(str)) == ["0.1", "0.1", "0.5", "0.5"]
    claims = pd.read_csv(tmp_path / "t" / "robustness_claims.csv")
    assert set(claims["verdict"]) <= {"holds", "fails", "holds with correction", "untested", "finding"}
    rc, _, err = _run(
        capsys, "robustness-figure", "--name", "robustness", "--tables", tmp_path / "t", "--out", tmp_path / "fig"
    )
    assert rc == 0, err
    assert (tmp_path / "fig.png").stat().st_size > 0 and (tmp_path / "fig.pdf").stat().st_size > 0


# ---- claims --------------------------------------------------------------------------------------


def _rows(n_in=4, n_out=3, zero_out=0):
    rows = []
    for k in range(n_in):
        rows.append(
            {
                "axis": "delta_ratio",
                "value": "0.1",
                "x": 0.1,
                "replicate": k,
                "status": "ok",
                "all_hold": True,
                "A1": True,
                "A2": True,
                "A3": True,
                "A3_margin": 1.0,
                "cond_xred": 1.0,
                "reaches_zero_default": True,
                "reaches_zero_any": True,
                "exact_default": True,
                "exact_best": True,
                "cost_default": 1e-15,
                "cost_default_affine": 1e-15,
                "acc_metric": 1.0,
                "acc_best": 1.0,
                "acc_ncm": 1.0,
                "acc_logreg": 1.0,
            }
        )
    for k in range(n_out):
        z = k < zero_out
        rows.append(
            {
                **rows[0],
                "value": "0.5",
                "x": 0.5,
                "replicate": k,
                "all_hold": False,
                "A2": False,
                "reaches_zero_default": False,
                "reaches_zero_any": z,
                "exact_default": False,
                "exact_best": z,
                "cost_default": 2.0,
                "acc_metric": 0.33,
            }
        )
    return pd.DataFrame(rows)


def _row(claims, key):
    return next(c for c in claims if c["id"] == key)


def _verdict(claims, key):
    return _row(claims, key)["verdict"]


def test_claims_sufficiency_verdict_flips_with_a_failing_row():
    from dlgeom.study.robustness_report import robustness_claims

    rob = _rows()
    assert _verdict(robustness_claims(rob, None), "robust_sufficient") == "holds"
    bad = pd.concat(
        [
            rob,
            rob.iloc[[0]].assign(
                reaches_zero_default=False, reaches_zero_any=False, exact_default=False, cost_default=0.5
            ),
        ],
        ignore_index=True,
    )
    c = _row(robustness_claims(bad, None), "robust_sufficient")
    assert (c["verdict"], c["n_cases"], c["n_counter"]) == ("fails", 5, 1)
    rounding = pd.concat([rob, rob.iloc[[0]].assign(reaches_zero_default=False, cost_default=1e-8)], ignore_index=True)
    c = _row(robustness_claims(rounding, None), "robust_sufficient")
    assert (c["verdict"], c["n_cases"], c["n_counter"]) == ("holds with correction", 5, 1)
    # a failure within rounding of the A3 boundary is reported, not counted
    edge = pd.concat(
        [rob, rob.iloc[[0]].assign(reaches_zero_default=False, exact_default=False, A3_margin=1e-9)], ignore_index=True
    )
    c = _row(robustness_claims(edge, None), "robust_sufficient")
    assert c["verdict"] == "holds" and c["n_cases"] == 4 and c["n_counter"] == 0 and "not counted: 1" in c["evidence"]
    # a failure where the μ-box is empty is outside Thm 2.3's hypotheses: counted apart, not a counterexample
    empty = pd.concat(
        [
            rob.assign(box_nonempty=True),
            rob.iloc[[0]].assign(
                box_nonempty=False, reaches_zero_default=False, reaches_zero_any=True, exact_default=False
            ),
        ],
        ignore_index=True,
    )
    c = _row(robustness_claims(empty, None), "robust_sufficient")
    assert (c["verdict"], c["n_cases"], c["n_counter"]) == ("holds", 4, 0)
    assert "counted apart: 1 cases with A1-A3 but an empty μ-box" in c["evidence"]


def test_necessity_is_a_finding_counting_zero_cost_outside():
    from dlgeom.study.robustness_report import robustness_claims

    none_zero = robustness_claims(_rows(zero_out=0), None)
    some_zero = robustness_claims(_rows(zero_out=2), None)
    assert _verdict(none_zero, "robust_necessary") == "finding"
    assert "0/3" in _row(none_zero, "robust_necessary")["evidence"]
    c = _row(some_zero, "robust_necessary")
    assert c["verdict"] == "finding" and "2/3" in c["evidence"] and c["n_cases"] == 3
    empty = robustness_claims(pd.DataFrame(), None)
    assert _verdict(empty, "robust_sufficient") == "untested"
    # every key of the stage, in order, whatever ran
    from dlgeom.study.robustness_report import ROBUSTNESS_KEYS

    assert [c["id"] for c in empty] == list(ROBUSTNESS_KEYS) == [c["id"] for c in some_zero]


# ---- config and workflow -------------------------------------------------------------------------


def _rob_config(**over):
    cfg = {
        "base": {
            "Q": 3,
            "theta": "regular",
            "delta_ratio": 0.1,
            "noise": "uniform",
            "elongation": 5.0,
            "n_per_class": 20,
        },
        "n_test_per_class": 10,
        "axes": {"delta_ratio": [0.1, 0.5], "theta": ["regular", 3.4], "noise": []},
        "optimisers": {"points": {"delta_ratio": [0.5], "noise": []}},
        "realdata": {"lambdas": [0.0, 1.0]},
    }
    for key, value in over.items():
        section, _, name = key.partition("__")
        cfg[section] = {**cfg[section], name: value} if name else value
    return {"robustness": cfg}


@pytest.mark.parametrize(
    "over,key",
    [
        ({"axes__theta": ["regular", 6.5]}, "robustness.axes.theta[1]"),
        ({"axes__label_noise": [0.1, 0.9]}, "robustness.axes.label_noise[1]"),
        ({"axes__delta_ratio": [0.1, 0.1]}, "robustness.axes.delta_ratio"),
        ({"optimisers": {"points": {"delta_ratio": [0.3]}}}, "robustness.optimisers.points.delta_ratio[0]"),
        ({"optimisers": {"points": {"imbalance": [2.0]}}}, "robustness.optimisers.points.imbalance"),
        ({"base__Q": 2}, "robustness.axes.theta[1]"),
        ({"realdata": {"lambdas": [0.5, 0.5]}}, "robustness.realdata.lambdas"),
    ],
)
def test_validate_robustness_config_names_the_key(over, key):
    from dlgeom.study.robustness_run import validate_robustness_config

    validate_robustness_config(_rob_config())  # the unmodified config is valid
    with pytest.raises(DlgeomInputError, match=f"config key '{key.replace('[', '.').replace(']', '.')}"):
        validate_robustness_config(_rob_config(**over))


def test_cli_options_from_the_config(tmp_path):
    """The base point of the robustness config reaches `dlgeom robustness` through its settings
    file: the group `base` flattens to the --base-* options."""
    import json

    from dlgeom.cli import apply_settings, full_parser
    from dlgeom.study.robustness_run import cli_list

    assert cli_list([0.1, 1e-06, "regular", 3]) == "0.1,1e-06,regular,3"
    assert [parse_axis_value("cond_xred", v) for v in cli_list([1.0, 1e13]).split(",")] == [1.0, 1e13]
    rob = _rob_config()["robustness"]
    f = tmp_path / "s.json"
    f.write_text(json.dumps({"base": rob["base"], "n_test_per_class": rob["n_test_per_class"]}))
    argv = ["--settings", str(f), "robustness", "--axis", "noise", "--values", "uniform", "--out", "o.json"]
    parser, _ = full_parser()
    apply_settings(parser, argv)
    args = parser.parse_args(argv)
    assert (args.base_Q, args.base_theta, args.base_n_per_class, args.n_test_per_class) == (3, "regular", 20, 10)
    assert parser.parse_args(argv[2:3] + ["--Q", "4", "--n", "7"] + argv[3:]).base_Q == 4  # the old spellings


def test_tiny_config_runs_the_robustness_rules():
    """Once the rules are wired into the Snakefile and the schema, the tiny study has their jobs."""
    import subprocess
    import sys
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[1]
    schema = yaml.safe_load((root / "workflow" / "schemas" / "config.schema.yaml").read_text())
    if "robustness" not in schema.get("properties", {}) or "robustness.smk" not in (root / "Snakefile").read_text():
        pytest.skip("workflow/rules/robustness.smk is not wired into the Snakefile and schema yet")
    snakemake = [sys.executable, "-m", "snakemake"]
    res = subprocess.run(
        snakemake + ["-n", "--forceall", "--configfile", "config/test.yaml"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert "robustness_axis" in res.stdout and "robustness_realdata" in res.stdout
