"""Real data: bundled datasets, projection to R^Q, splits, the shrink sweep and its λ
thresholds, user files, the CLI, the real-data claim and figure.  Expected values are recomputed
with numpy."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import np_means

import dlgeom
from dlgeom.cli import main
from dlgeom.geometry import cone_angles
from dlgeom.realdata import (
    REAL_DATASETS,
    assumption_lambdas,
    largest_prefix,
    load_real,
    load_table,
    prepare,
    prepare_real,
    prepare_user,
    project,
    shrink_pair,
    stratified_split,
)
from dlgeom.study.measurements import shrink_sweep, zero_at
from dlgeom.study.table_columns import column_names
from dlgeom.validation import DlgeomInputError


def np_delta(X, y, q):
    return np.max(np.linalg.norm(X - np_means(X, y, q)[y], axis=1))


@pytest.fixture(scope="module")
def wine():
    return prepare_real("wine", "lda", 0.3, [1])


@pytest.mark.parametrize("name", REAL_DATASETS)
def test_lda_projection_keeps_xred_invertible(name):
    X, y, meta = load_real(name)
    q = meta["Q"]
    assert q == np.unique(y).size and X.shape[0] == meta["n_points"]
    train, test, info = prepare(X, y, meta, "lda", 0.3, [2])
    assert train.X.shape[1] == q and test.X.shape[1] == q
    m = np_means(train.X, train.y, q)
    cond = np.linalg.cond(m.T)
    assert np.isfinite(cond) and cond < 100 and info["cond_xred"] == pytest.approx(cond, rel=1e-9)
    # the constant coordinate, and the centring at the barycenter of the training class means
    np.testing.assert_allclose(train.X[:, -1], info["constant_coordinate"], rtol=0, atol=0)
    np.testing.assert_allclose(test.X[:, -1], info["constant_coordinate"], rtol=0, atol=0)
    np.testing.assert_allclose(m[:, :-1].mean(axis=0), 0.0, atol=1e-12)


def test_simplex_projection_puts_the_class_means_on_the_unit_vectors():
    train, test, info = prepare_real("iris", "simplex", 0.3, [2])
    np.testing.assert_allclose(np_means(train.X, train.y, 3), np.eye(3), atol=1e-12)
    np.testing.assert_allclose(train.X.sum(axis=1), 1.0, atol=1e-12)  # barycentric coordinates
    np.testing.assert_allclose(test.X.sum(axis=1), 1.0, atol=1e-12)
    assert info["cond_xred"] == pytest.approx(1.0, abs=1e-9)


def test_projection_is_fitted_on_training_data_only():
    X, y, _meta = load_real("iris")
    tr, te = stratified_split(y, 0.3, [5])
    Z1, _, _ = project(X[tr], y[tr], X[te], 3, "lda")
    X2 = X.copy()
    X2[te] += 100.0  # changing the test rows changes nothing in train
    Z2, _, _ = project(X2[tr], y[tr], X2[te], 3, "lda")
    np.testing.assert_array_equal(Z1, Z2)
    with pytest.raises(DlgeomInputError, match="projection"):
        project(X[tr], y[tr], X[te], 3, "none")  # 4 features, Q = 3


def test_stratified_split_is_seeded_and_stratified():
    y = np.repeat([0, 1, 2], [50, 30, 10])
    tr, te = stratified_split(y, 0.3, [7])
    assert np.intersect1d(tr, te).size == 0 and tr.size + te.size == y.size
    assert [int(np.sum(y[te] == j)) for j in range(3)] == [15, 9, 3]
    np.testing.assert_array_equal(stratified_split(y, 0.3, [7])[1], te)
    assert not np.array_equal(stratified_split(y, 0.3, [8])[1], te)


def test_max_train_subsamples_stratified():
    train, test, info = prepare_real("digits", "lda", 0.3, [1], max_train=300)
    assert abs(train.n_points - 300) <= 10 and info["n_train"] == train.n_points
    assert train.counts.min() >= 25 and test.n_points == info["n_test"] > 500


def test_shrink_zero_gives_delta_zero_and_r_scales_linearly(wine):
    train, test, _ = wine
    q = train.n_classes
    m = np_means(train.X, train.y, q)
    t0, s0 = shrink_pair(train, test, 0.0)
    assert np_delta(t0.X, t0.y, q) <= 1e-12
    np.testing.assert_allclose(s0.X, m[test.y], atol=1e-12)  # test points on the training means
    d1 = np_delta(train.X, train.y, q)
    for lam in (0.25, 0.6):
        tl, _ = shrink_pair(train, test, lam)
        np.testing.assert_allclose(np_means(tl.X, tl.y, q), m, atol=1e-12)
        assert np_delta(tl.X, tl.y, q) == pytest.approx(lam * d1, rel=1e-12)


def test_assumption_lambdas_are_the_exact_crossings(wine):
    train, test, _ = wine
    lam = assumption_lambdas(train)
    q = train.n_classes
    m = np_means(train.X, train.y, q)
    r1 = np_delta(train.X, train.y, q) / np.min(np.linalg.norm(m - m.mean(0), axis=1))
    assert lam["lambda_A2"] == pytest.approx(0.25 / r1, rel=1e-12)
    for key, check in (("lambda_A2", lambda g: g.r < 0.25), ("lambda_A3", lambda g: dlgeom.assumptions(g).A3.holds)):
        at = lam[key]
        assert check(dlgeom.geometry(shrink_pair(train, test, at * (1 - 1e-9))[0]))
        assert not check(dlgeom.geometry(shrink_pair(train, test, at * (1 + 1e-9))[0]))
    assert lam["lambda_assumptions"] == min(lam["lambda_A2"], lam["lambda_A3"])


def test_obtuse_lda_mean_simplex_never_satisfies_a3():
    train, test, _ = prepare_real("iris", "lda", 0.3, [2])
    lam = assumption_lambdas(train)
    assert np.max(cone_angles(np_means(train.X, train.y, 3), 0.0)) >= np.pi
    assert lam["lambda_A3"] == 0.0 and np.isnan(lam["lambda_assumptions"])
    # at λ = 0 every point sits on its class mean: a zero-cost network classifies the held-out
    # points (also on the training means) perfectly, whichever μ achieved the zero
    rows, _ = shrink_sweep(train, test, [0.0], n_line=3, n_random=3, refine_steps=0)
    assert not rows[0]["all_hold"]
    if rows[0]["reaches_zero_any"]:
        assert rows[0]["acc_best"] == 1.0


def test_largest_prefix():
    assert largest_prefix([0.0, 0.5, 1.0], [True, True, False]) == 0.5
    assert largest_prefix([1.0, 0.0, 0.5], [True, True, False]) == 0.0
    assert np.isnan(largest_prefix([0.0, 0.5], [False, True]))


def test_shrink_sweep_thresholds(wine):
    train, test, _ = wine
    lams = [0.0, 0.1, 0.3, 1.0]
    rows, summ = shrink_sweep(train, test, lams, n_line=3, n_random=4, seed=[1], refine_steps=2)
    assert [r["lambda"] for r in rows] == sorted(lams)
    r0 = rows[0]
    assert r0["all_hold"] and r0["reaches_zero_default"] and r0["acc_metric"] == 1.0
    hold = [r["all_hold"] for r in rows]
    assert summ["lambda_assumptions_grid"] == largest_prefix(np.array(lams), hold)
    la = summ["lambda_assumptions"]
    assert all(h == (lam < la) for h, lam in zip(hold, sorted(lams)))  # grid agrees with the exact crossing
    zero = [r["reaches_zero_any"] for r in rows]
    assert summ["lambda_zero_any_grid"] == largest_prefix(np.array(lams), zero)
    assert summ["lambda_zero_any_refined"] >= summ["lambda_zero_any_grid"]
    for r in rows:
        assert r["cost_best"] <= r["cost_default"] + 1e-15
    if all(zero):
        assert summ["zero_any_extent"] == "whole_sweep" and summ["lambda_zero_any_refined"] == max(lams)
        assert summ["lambda_zero_any_lost"] == "nan"  # JSON-ready: NaN as 'nan'
    else:
        assert zero[0] and summ["zero_any_extent"] == "lost_in_sweep"
        assert summ["lambda_zero_any_refined"] < summ["lambda_zero_any_lost"]


def test_shrink_sweep_bracket_where_zero_cost_is_lost():
    train, test, _ = prepare_real("iris", "simplex", 0.3, [2])
    lams = [0.0, 0.25, 0.5]
    rows, summ = shrink_sweep(train, test, lams, n_line=3, n_random=4, seed=[1], refine_steps=3)
    zero = [r["reaches_zero_any"] for r in rows]
    assert summ["zero_any_extent"] == "lost_in_sweep" and not all(zero)
    lo, hi = summ["lambda_zero_any_refined"], summ["lambda_zero_any_lost"]
    grid = summ["lambda_zero_any_grid"]
    nxt = min(x for x in lams if x > grid)
    assert grid <= lo < hi <= nxt and hi - lo == pytest.approx((nxt - grid) / 2**3, rel=1e-12)
    assert zero_at(train, lo, n_line=3, n_random=4, seed=[1])  # both ends as the bisection saw them
    assert not zero_at(train, hi, n_line=3, n_random=4, seed=[1])


def test_shrink_sweep_extent_whole_sweep_and_never(wine):
    train, test, _ = wine
    _, whole = shrink_sweep(train, test, [0.0], n_line=3, n_random=3, refine_steps=3)
    assert whole["zero_any_extent"] == "whole_sweep" and whole["lambda_zero_any_refined"] == 0.0
    assert whole["lambda_zero_any_lost"] == "nan"
    far, _ = shrink_pair(train, test, 1e4)  # λ = 1e4: the classes overlap, no μ reaches zero
    _, never = shrink_sweep(far, test, [1.0, 2.0], n_line=3, n_random=3, refine_steps=1)
    assert never["zero_any_extent"] == "never"
    assert never["lambda_zero_any_refined"] == never["lambda_zero_any_lost"] == "nan"


def test_user_file_with_q_columns_is_used_as_is(tmp_path):
    data = dlgeom.make_clustered(3, 30, 0.1, seed=4)
    path = tmp_path / "mine.csv"
    dlgeom.save_dataset(data, path)
    train, test, info = prepare_user(path, "auto", 0.3, [1])
    assert info["projection"] == "none" and train.n_points + test.n_points == data.n_points
    rows = {tuple(x) for x in data.X}
    assert all(tuple(x) in rows for x in train.X)  # features unchanged


def test_user_file_with_more_features_and_string_labels(tmp_path):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(c, 0.3, (20, 5)) for c in (0.0, 2.0, 4.0)])
    frame = pd.DataFrame(X, columns=[f"f{k}" for k in range(5)])
    frame["label"] = np.repeat(["b", "a", "c"], 20)
    path = tmp_path / "wide.csv"
    frame.to_csv(path, index=False)
    Xl, _y, meta = load_table(path)
    assert meta["Q"] == 3 and meta["classes"] == ["a", "b", "c"] and Xl.shape == (60, 5)
    train, _, info = prepare_user(path, "auto", 0.3, [1])
    assert info["projection"] == "lda" and train.X.shape[1] == 3 and np.isfinite(info["cond_xred"])
    bad = tmp_path / "bad.csv"
    frame.drop(columns="label").to_csv(bad, index=False)
    with pytest.raises(DlgeomInputError, match="label"):
        load_table(bad)


def _run(capsys, *argv):
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_realdata_writes_seeds_and_is_reproducible(tmp_path, capsys):
    args = [
        "realdata",
        "--name",
        "iris",
        "--projections",
        "lda,simplex",
        "--lambdas",
        "0,0.5,1",
        "--refine",
        "1",
        "--mu-line",
        "3",
        "--mu-random",
        "3",
        "--seed",
        "3,1",
        "--quiet",
    ]
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert _run(capsys, *args, "--out", a)[0] == 0
    assert _run(capsys, *args, "--out", b)[0] == 0
    assert a.read_bytes() == b.read_bytes()
    d = json.loads(a.read_text())
    assert d["seed"] == [3, 1] and len(d["rows"]) == 6 and [s["projection"] for s in d["summary"]] == ["lda", "simplex"]
    assert d["summary"][0]["seed_split"] == [3, 1, 0]
    rc, _, err = _run(capsys, "robustness-tables", "--realdata", a, "--out-dir", tmp_path / "t")
    assert rc == 0, err
    summ = pd.read_csv(tmp_path / "t" / "realdata_summary.csv")
    assert list(summ["projection"]) == ["lda", "simplex"]
    assert list(summ.columns) == column_names("realdata_summary")
    rows = pd.read_csv(tmp_path / "t" / "realdata.csv")
    for s in summ.itertuples():  # the λ = 1 values are the sweep's row at λ = 1
        at1 = rows[(rows["projection"] == s.projection) & (rows["lambda"] == 1.0)].iloc[0]
        assert s.acc_best_at_lambda1 == at1["acc_best"] and s.silhouette_at_lambda1 == at1["silhouette"]
        assert s.r_at_lambda1 == pytest.approx(at1["r"], rel=1e-9)
    claims = pd.read_csv(tmp_path / "t" / "robustness_claims.csv")
    real = claims[claims["id"] == "realdata_lambda"].iloc[0]
    ok = summ["lambda_assumptions_grid"].isna() | (summ["lambda_zero_any_grid"] >= summ["lambda_assumptions_grid"])
    assert real["verdict"] == "finding" and real["n_cases"] == 2
    assert f"λ_zero >= λ_A (grid) in {int(ok.sum())}/2" in real["evidence"]
    rc, _, err = _run(
        capsys, "robustness-figure", "--name", "realdata", "--tables", tmp_path / "t", "--out", tmp_path / "f"
    )
    assert rc == 0, err
    assert (tmp_path / "f.png").is_file()


@pytest.mark.parametrize(
    "argv,field",
    [
        (["--name", "mnist"], "--name"),
        (["--name", "iris", "--lambdas", "0,-1"], "--lambdas"),
        (["--name", "iris", "--projections", "tsne"], "--projections"),
        (["--name", "iris", "--test-fraction", "1.5"], "--test-fraction"),
        ([], "--name/--data"),
    ],
)
def test_cli_realdata_bad_input_is_one_line(tmp_path, capsys, argv, field):
    out = tmp_path / "x.json"
    rc, _, err = _run(capsys, "realdata", *argv, "--out", out)
    assert rc == 2 and err.count("\n") == 1 and field in err and not out.exists()


def test_real_data_claim_flips():
    from dlgeom.study.robustness_report import robustness_claims

    base = {
        "dataset": "d",
        "projection": "lda",
        "lambda_A2": 0.2,
        "lambda_A3": 0.3,
        "lambda_assumptions": 0.2,
        "lambda_assumptions_grid": 0.2,
        "lambda_zero_any_refined": 0.5,
        "lambda_zero_any_grid": 0.5,
        "zero_any_extent": "lost_in_sweep",
        "r_at_lambda1": 1.2,
        "acc_best_at_lambda1": 0.9,
        "acc_ncm_at_lambda1": 0.9,
        "acc_logreg_at_lambda1": 0.9,
    }
    good = pd.DataFrame([base])
    bad = pd.DataFrame([base, {**base, "dataset": "e", "lambda_zero_any_grid": 0.1, "lambda_zero_any_refined": 0.12}])
    pick = lambda c: next(x for x in c if x["id"] == "realdata_lambda")
    assert "in 1/1 dataset" in pick(robustness_claims(None, None, good))["evidence"]
    assert "in 1/2 dataset" in pick(robustness_claims(None, None, bad))["evidence"]
    assert pick(robustness_claims(None, None, bad))["verdict"] == "finding"
