"""The shallow network (dlgeom.shallow): closed forms against direct least squares and explicit
networks, the bound (B − V)/B ≤ Q δ_P², and the fitted slope on synthetic data."""

from __future__ import annotations

import json

import numpy as np
import pytest

import dlgeom
from dlgeom.cli import main
from dlgeom.shallow import fit_slope, identity_network, shallow_values, shrink_dataset
from dlgeom.validation import DlgeomInputError


def _lstsq_linear(data):
    """min_A Σ_j (1/N_j) Σ_i |A x_{j,i} − y_j|², solved from scratch with numpy."""
    w = np.sqrt(data.weights)[:, None]
    A, *_ = np.linalg.lstsq(data.X * w, data.targets * w, rcond=None)
    r = (data.X @ A - data.targets) * w
    return float(np.sqrt(np.sum(r * r)))


@pytest.mark.parametrize("q,r,theta", [(2, 0.2, None), (3, 0.1, None), (4, 0.3, 2.0), (5, 0.05, None)])
def test_closed_forms_equal_least_squares(q, r, theta):
    data = dlgeom.make_clustered(q, 30, r, theta=theta, seed=[q, 1])
    v = shallow_values(data)
    assert v["V"] == pytest.approx(_lstsq_linear(data), rel=1e-10)
    assert v["V"] == pytest.approx(v["V_lstsq"], rel=1e-10)
    assert v["V"] == pytest.approx(v["V_network"], rel=1e-10)
    assert v["V"] == pytest.approx(v["V_paper_formula"], rel=1e-10)
    assert v["B"] == pytest.approx(v["B_network"], rel=1e-10)
    assert v["V_aff"] == pytest.approx(v["V_aff_lstsq"], rel=1e-9)
    assert v["V_aff"] == pytest.approx(v["V_aff_network"], rel=1e-9)
    # ordering and the bound (B − V)/B ≤ |Δ_2| ≤ Q δ_P²
    assert v["V_aff"] < v["V"] < v["B"]
    assert v["gap_rel"] <= v["gap_bound"] * (1 + 1e-12) <= v["gap_bound_Q"] * (1 + 1e-12)
    assert v["gap_rel"] == pytest.approx((v["B"] - v["V"]) / v["B"], rel=1e-6)


def test_delta_P_by_hand():
    X = np.array([[1.0, 0.0], [1.2, 0.0], [0.8, 0.0], [0.0, 1.0], [0.0, 1.1], [0.0, 0.9]])
    data = dlgeom.Dataset(X, [0, 0, 0, 1, 1, 1])
    v = shallow_values(data)  # X^red = I, deviations 0.2 and 0.1
    assert v["delta_P"] == pytest.approx(0.2, rel=1e-12)
    # B² = Σ_j (1/N_j) Σ_i |Δx|² with Y = X^red = I
    assert v["B"] ** 2 == pytest.approx((0.04 + 0.04) / 3 + (0.01 + 0.01) / 3, rel=1e-12)


def test_slope_two_on_synthetic_data():
    """Fresh draws over a sweep of the cluster radius: the fitted slope is 2 within 0.05."""
    q = 3
    dp, gap = [], []
    for i, r in enumerate(np.geomspace(2e-3, 0.05, 8)):
        v = shallow_values(dlgeom.make_clustered(q, 40, float(r), seed=[7, i]))
        dp.append(v["delta_P"])
        gap.append(v["gap_rel"])
    fit = fit_slope(dp, gap)
    assert fit["n"] == 8
    assert abs(fit["slope"] - 2.0) < 0.05
    assert fit["se"] < 0.05
    # shrinking one draw: the slope tends to exactly 2
    base = dlgeom.make_clustered(q, 40, 0.3, seed=8)
    pts = [shallow_values(shrink_dataset(base, lam)) for lam in np.geomspace(1e-3, 1e-1, 5)]
    fit2 = fit_slope([p["delta_P"] for p in pts], [p["gap_rel"] for p in pts])
    assert abs(fit2["slope"] - 2.0) < 1e-3


def test_fit_slope_recovers_power_law_and_handles_bad_points():
    x = np.geomspace(1e-3, 1, 9)
    f = fit_slope(x, 3.0 * x**1.5)
    assert f["slope"] == pytest.approx(1.5, abs=1e-12) and f["se"] < 1e-10
    assert f["intercept"] == pytest.approx(np.log(3.0), abs=1e-10)
    g = fit_slope([1.0, 2.0, -1.0, np.nan], [1.0, 2.0, 3.0, 4.0])
    assert g["n"] == 2 and np.isnan(g["slope"])


def test_identity_network_is_affine_on_the_data():
    data = dlgeom.make_clustered(3, 20, 0.1, seed=2)
    A = np.arange(9.0).reshape(3, 3) / 10
    c = np.array([0.1, -0.2, 0.3])
    out = identity_network(data, A, c).forward(data.X)
    np.testing.assert_allclose(out, data.X @ A.T + c, atol=1e-12)


def test_shrink_keeps_means_and_scales_deviations():
    data = dlgeom.make_clustered(3, 20, 0.2, seed=3)
    small = shrink_dataset(data, 0.5)
    g, gs = dlgeom.geometry(data), dlgeom.geometry(small)
    np.testing.assert_allclose(g.means, gs.means, atol=1e-14)
    assert gs.delta == pytest.approx(0.5 * g.delta, rel=1e-12)


def test_bad_input():
    with pytest.raises(DlgeomInputError, match="data"):
        shallow_values(np.zeros((4, 2)))
    X = np.array([[1.0, 1.0], [1.1, 1.1], [2.0, 2.0], [2.1, 2.1]])  # collinear means: X^red singular
    with pytest.raises(DlgeomInputError, match="X\\^red"):
        shallow_values(dlgeom.Dataset(X, [0, 0, 1, 1]))
    with pytest.raises(DlgeomInputError, match="lambda"):
        shrink_dataset(dlgeom.make_clustered(2, 5, 0.1, seed=1), 0.0)


def test_cli_shallow(tmp_path, capsys):
    out = tmp_path / "sh.json"
    rc = main(
        [
            "shallow",
            "--Q",
            "2",
            "--replicates",
            "1",
            "--n",
            "10",
            "--points",
            "4",
            "--train-runs",
            "1",
            "--train-iter",
            "30",
            "--seed",
            "2",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert rc == 0
    doc = json.loads(out.read_text())
    modes = [r["mode"] for r in doc["rows"]]
    assert modes.count("shrink") == 4 and modes.count("fresh") == 4 and modes.count("train") == 1
    assert doc["seed"] == [2]
    capsys.readouterr()
    bad = tmp_path / "bad.json"
    rc = main(["shallow", "--Q", "2", "--r-min", "0.5", "--r-max", "0.1", "--out", str(bad)])
    err = capsys.readouterr().err
    assert rc == 2 and not bad.exists() and err.count("\n") == 1 and "--r-max" in err


def test_tables_claims_figures_are_byte_stable(tmp_path, capsys):
    """beyond-tables twice on the same run files: identical bytes; verdicts computed."""
    from dlgeom.study.beyond_report import (
        BEYOND_KEYS,
        fig_highdim,
        fig_shallow,
        fig_sls,
        load_runs,
    )

    hd, sl, sh = tmp_path / "hd.json", tmp_path / "sls.json", tmp_path / "sh.json"
    assert (
        main(
            [
                "highdim",
                "--Q",
                "2",
                "--M",
                "3",
                "--perp-scale",
                "1",
                "--replicates",
                "1",
                "--n",
                "8",
                "--out",
                str(hd),
                "--quiet",
            ]
        )
        == 0
    )
    assert (
        main(["sls", "--Q", "2", "--M", "2", "--replicates", "1", "--n", "8", "--hand", "--out", str(sl), "--quiet"])
        == 0
    )
    assert (
        main(
            [
                "shallow",
                "--Q",
                "2",
                "--replicates",
                "1",
                "--n",
                "10",
                "--points",
                "5",
                "--r-min",
                "1e-3",
                "--r-max",
                "0.04",
                "--out",
                str(sh),
                "--quiet",
            ]
        )
        == 0
    )
    outs = []
    for k in range(2):
        d = tmp_path / f"t{k}"
        assert (
            main(["beyond-tables", "--highdim", str(hd), "--sls", str(sl), "--shallow", str(sh), "--out-dir", str(d)])
            == 0
        )
        outs.append({n: (d / f"{n}.csv").read_bytes() for n in ("highdim", "sls", "shallow", "beyond_claims")})
    assert outs[0] == outs[1]
    import pandas as pd

    claims = pd.read_csv(tmp_path / "t0" / "beyond_claims.csv")
    assert list(claims["id"]) == list(BEYOND_KEYS)
    assert set(claims["verdict"]) <= {"holds", "fails", "holds with correction", "untested", "finding"}
    slope = claims[claims["id"] == "shallow_slope"].iloc[0]
    assert slope["verdict"] == "holds" and slope["n_cases"] == 2 and slope["n_counter"] == 0
    frames = load_runs({"highdim": [hd], "sls": [sl], "shallow": [sh]})
    for fig in (fig_highdim(frames["highdim"]), fig_sls(frames["sls"]), fig_shallow(frames["shallow"])):
        assert len(fig.axes) >= 2
    # a run file of the wrong kind is a one-line error
    capsys.readouterr()
    rc = main(["beyond-tables", "--highdim", str(sh), "--out-dir", str(tmp_path / "t9")])
    assert rc == 2 and "kind" in capsys.readouterr().err
