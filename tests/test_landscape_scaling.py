"""The landscape as Q grows: the per-Q job, its table (counts, Wilson intervals, distinct certified
minima), the findings row and the headline line computed from hand-made tables, the settings that
reach the command, and bad input."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from dlgeom import DlgeomInputError
from dlgeom.cli import apply_settings, full_parser, main
from dlgeom.study.config import load_schema, validate_config
from dlgeom.study.landscape_report import (
    SCALING_COLUMNS,
    fig_landscape_scaling,
    load_scaling_rows,
    scaling_claims,
    scaling_table,
)
from dlgeom.study.landscape_run import run_landscape_scaling
from dlgeom.study.layout import stage_settings
from dlgeom.study.summary import _scaling_sentence
from dlgeom.study.table_columns import column_names

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def _wilson_closed_form(k, n, z=1.959963984540054):
    """The Wilson score interval written out here, independently of the library."""
    p = k / n
    centre = (2 * n * p + z * z) / (2 * (n + z * z))
    half = z * math.sqrt(z * z + 4 * n * p * (1 - p)) / (2 * (n + z * z))
    return max(0.0, centre - half), min(1.0, centre + half)


def _row(q, opt, start, run, cost, category, **cert):
    base = {
        "cell": f"Q{q}/thetaregular/r0.1",
        "Q": q,
        "optimiser": opt,
        "start": start,
        "start_kind": start,
        "run": run,
        "cost": cost,
        "category": category,
        "structure": cert.get("structure", "00"),
        "grad_norm": cert.get("grad_norm", 1e-9),
        "hess_status": cert.get("hess_status", "ok" if opt == "lbfgs" else ""),
        "hess_n_negative": cert.get("hess_n_negative", 0.0 if opt == "lbfgs" else np.nan),
        "probe_min_rel_change": cert.get("probe_min_rel_change", 0.0 if opt == "lbfgs" and cost > 1e-6 else np.nan),
        "status": cert.get("status", "converged" if opt == "lbfgs" else "max_iter"),
    }
    return base


def _hand_rows():
    rows = []
    # Q = 2, lbfgs/he: 3 zero of 7; non-zero end points at two structures, one with two costs
    for i, c in enumerate([1e-12, 1e-9, 1e-8]):
        rows.append(_row(2, "lbfgs", "he", i, c, "zero"))
    rows.append(_row(2, "lbfgs", "he", 3, 0.25, "pattern", structure="10"))
    rows.append(_row(2, "lbfgs", "he", 4, 0.25 * (1 + 1e-8), "pattern", structure="10"))  # same minimum
    rows.append(_row(2, "lbfgs", "he", 5, 0.30, "pattern", structure="10"))  # another cost
    rows.append(_row(2, "lbfgs", "he", 6, 0.25, "other", structure="01"))  # another structure
    # Q = 2, lbfgs/xavier: one end point fails the probe, one has a negative eigenvalue, one on a kink
    rows.append(_row(2, "lbfgs", "xavier", 0, 0.4, "other", probe_min_rel_change=-1e-3))
    rows.append(_row(2, "lbfgs", "xavier", 1, 0.4, "other", hess_n_negative=2.0))
    rows.append(_row(2, "lbfgs", "xavier", 2, 0.5, "other", hess_status="kink", hess_n_negative=np.nan))
    rows.append(_row(2, "lbfgs", "xavier", 3, 1e-10, "zero"))
    # stopped by the budget: not certified, even with a passing probe
    rows.append(_row(2, "lbfgs", "xavier", 4, 0.7, "other", status="max_iter", probe_min_rel_change=np.nan))
    # gd: never certified
    for i in range(5):
        rows.append(_row(2, "gd", "he", i, 0.3 if i else 1e-7, "pattern" if i else "zero"))
        rows.append(_row(3, "gd", "he", i, 0.3, "pattern"))
    for i in range(4):
        rows.append(_row(3, "lbfgs", "he", i, 0.2 + 0.1 * i, "other", structure="000"))
    return pd.DataFrame(rows)


def test_table_counts_wilson_and_distinct_minima_from_hand_made_rows():
    rows = _hand_rows()
    t = scaling_table(rows).set_index(["Q", "optimiser", "start"])
    assert list(scaling_table(rows).columns) == SCALING_COLUMNS
    for key, g in rows.groupby(["Q", "optimiser", "start"]):
        n, k = len(g), int(sum(c <= 1e-6 for c in g["cost"]))
        r = t.loc[key]
        assert (r["n"], r["k_zero"]) == (n, k)
        assert r["p_zero"] == pytest.approx(k / n, rel=1e-15)
        lo, hi = _wilson_closed_form(k, n)
        assert (r["wilson_lo"], r["wilson_hi"]) == (pytest.approx(lo, abs=1e-12), pytest.approx(hi, abs=1e-12))
        assert r["n_max_iter"] == sum(st == "max_iter" for st in g["status"])
    # distinct minima counted by hand from the rows above
    assert t.loc[(2, "lbfgs", "he"), "n_distinct_minima"] == 3  # (10, 0.25) twice, (10, 0.30), (01, 0.25)
    assert t.loc[(2, "lbfgs", "xavier"), "n_distinct_minima"] == 1  # only the kink end point is certified
    assert t.loc[(3, "lbfgs", "he"), "n_distinct_minima"] == 4
    assert t.loc[[k for k in t.index if k[1] == "gd"], "n_distinct_minima"].isna().all()


def test_wilson_columns_match_scipy():
    stats = pytest.importorskip("scipy.stats")
    rows = []
    for k, n in [(0, 9), (4, 9), (9, 9), (1, 30)]:
        rows += [_row(4, "adam", f"s{k}", i, 0.0 if i < k else 1.0, "zero" if i < k else "other") for i in range(n)]
    t = scaling_table(pd.DataFrame(rows))
    for r in t.itertuples():
        ci = stats.binomtest(int(r.k_zero), int(r.n)).proportion_ci(confidence_level=0.95, method="wilson")
        assert r.wilson_lo == pytest.approx(ci.low, abs=1e-9) and r.wilson_hi == pytest.approx(ci.high, abs=1e-9)


def test_table_columns_are_documented():
    assert column_names("landscape_scaling") == SCALING_COLUMNS
    assert list(scaling_table(pd.DataFrame()).columns) == SCALING_COLUMNS


def test_finding_from_a_hand_made_table():
    t = pd.DataFrame(
        {
            "Q": [2, 2, 3, 3, 2, 3],
            "optimiser": ["lbfgs", "lbfgs", "lbfgs", "lbfgs", "gd", "gd"],
            "start": ["he", "xavier", "he", "xavier", "he", "he"],
            "n": [10, 10, 10, 10, 10, 10],
            "k_zero": [3, 5, 1, 0, 0, 0],
            "p_zero": [0.3, 0.5, 0.1, 0.0, 0.0, 0.0],
            "wilson_lo": 0.0,
            "wilson_hi": 1.0,
            "n_distinct_minima": [4, 2, 7, 6, np.nan, np.nan],
            "n_max_iter": [1, 0, 3, 4, 10, 10],
        }
    )
    (row,) = scaling_claims(t)
    assert (row["id"], row["kind"], row["verdict"]) == ("landscape_scaling", "finding", "finding")
    assert (row["n_cases"], row["n_counter"]) == (6, 3)  # three groups without a zero-cost run
    lo, hi = _wilson_closed_form(8, 20)  # L-BFGS at Q = 2, pooled over the starts
    assert f"lbfgs Q2 0.40 [{lo:.2f}, {hi:.2f}]" in row["evidence"]
    assert "gd Q2 0.00" in row["evidence"] and "60 runs in 6" in row["evidence"]
    assert "largest Q with a zero-cost run: gd none, lbfgs Q = 3" in row["evidence"]
    assert "Q2 4/2, Q3 7/6" in row["evidence"]
    assert "stopped by the iteration budget (not certified) per Q: Q2 1/20, Q3 7/20" in row["evidence"]
    assert scaling_claims(pd.DataFrame(columns=SCALING_COLUMNS)) == []


def test_headline_line_from_a_hand_made_table():
    t = pd.DataFrame(
        {"Q": [2, 2, 6, 6, 2, 6], "optimiser": ["lbfgs"] * 4 + ["adam"] * 2, "start": ["he", "xavier"] * 3}
    ).assign(n=100, k_zero=[20, 30, 0, 0, 2, 0])
    line = _scaling_sentence(t)
    hi = _wilson_closed_form(0, 200)[1]
    assert "L-BFGS reaches zero cost in 25 % of runs at Q = 2 and in 0 % at Q = 6" in line
    assert f"upper bound {100 * hi:.1f} %" in line and "Adam: at most 2.0 % at any Q" in line
    assert "\n" not in line
    assert _scaling_sentence(None) == _scaling_sentence(pd.DataFrame()) == "The landscape as Q grows: n/a."


def test_job_rows_give_the_table_and_reproduce(tmp_path):
    """A tiny end-to-end run of the stage's commands: the JSON of one Q, the table recomputed from
    its per-run records, the findings row, the figure; and the same seed gives the same rows."""
    out = tmp_path / "Q2.json"
    argv = ["landscape-scaling", "--Q", "2", "--runs", "3", "--max-iter", "40", "--n-per-class", "8"]
    argv += ["--optimisers", "lbfgs,gd", "--starts", "he,xavier", "--seed", "5,6", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    d = json.loads(out.read_text())
    assert (d["Q"], d["L"], d["cell"]) == (2, 2, "Q2/thetaregular/r0.1")
    assert len(d["rows"]) == 2 * 2 * 3
    tdir = tmp_path / "tables"
    assert main(["landscape-scaling-tables", "--runs", str(out), "--out-dir", str(tdir)]) == 0
    t = pd.read_csv(tdir / "landscape_scaling.csv")
    assert list(t.columns) == SCALING_COLUMNS and len(t) == 4
    for r in t.itertuples():
        runs = [x for x in d["rows"] if x["optimiser"] == r.optimiser and x["start"] == r.start]
        k = sum(x["category"] == "zero" for x in runs)
        assert (r.n, r.k_zero) == (len(runs), k) and r.p_zero == pytest.approx(k / len(runs))
        assert r.n_max_iter == sum(x["status"] == "max_iter" for x in runs)
        assert all((x["cost"] <= 1e-6) == (x["category"] == "zero") for x in runs)
    claims = pd.read_csv(tdir / "scaling_claims.csv")
    assert list(claims["id"]) == ["landscape_scaling"] and claims["n_cases"].iloc[0] == 4
    assert main(["landscape-scaling-figure", "--tables", str(tdir), "--out-dir", str(tdir)]) == 0
    assert (tdir / "landscape_scaling.png").stat().st_size > 0 and (tdir / "landscape_scaling.pdf").is_file()
    again = run_landscape_scaling(2, 0.1, 8, "uniform", 3, ("he", "xavier"), ("lbfgs", "gd"), 40, [5, 6])
    assert [r["cost"] for r in again["rows"]] == [r["cost"] for r in load_scaling_rows([out]).to_dict("records")]


def test_no_Q_gives_an_empty_table_and_a_no_data_figure(tmp_path):
    tdir = tmp_path / "tables"
    assert main(["landscape-scaling-tables", "--runs", "--out-dir", str(tdir)]) == 0
    t = pd.read_csv(tdir / "landscape_scaling.csv")
    assert list(t.columns) == SCALING_COLUMNS and not len(t)
    assert not len(pd.read_csv(tdir / "scaling_claims.csv"))
    fig = fig_landscape_scaling(t)
    assert "no data" in " ".join(x.get_text() for ax in fig.axes for x in ax.texts)


def _cfg(**scaling):
    cfg = {"grid": {"Q": [2, 3], "delta_ratio": [0.1], "theta": ["regular"]}, "landscape": {"scaling": scaling}}
    return validate_config(cfg, load_schema(SCHEMA))


@pytest.mark.parametrize(
    "scaling, expected",
    [
        ({"Q": [2, 9]}, "config key 'landscape.scaling.Q[1]': 9 is greater than the maximum of 8"),
        ({"Q": [1]}, "config key 'landscape.scaling.Q[0]': 1 is less than the minimum of 2"),
        ({"runs": 0}, "config key 'landscape.scaling.runs': 0 is less than the minimum of 1"),
        ({"runs": -5}, "config key 'landscape.scaling.runs': -5 is less than the minimum of 1"),
        ({"starts": ["global"]}, "config key 'landscape.scaling.starts[0]': 'global' is not one of"),
    ],
)
def test_bad_config_values_are_one_line_errors(scaling, expected):
    with pytest.raises(DlgeomInputError) as exc:
        _cfg(**scaling)
    assert str(exc.value).startswith(expected) and "\n" not in str(exc.value)


@pytest.mark.parametrize(
    "flags, expected",
    [
        (["--Q", "9"], "--Q"),
        (["--Q", "1"], "--Q"),
        (["--Q", "3", "--runs", "0"], "--runs"),
        (["--Q", "3", "--starts", "global"], "--starts: unknown value 'global'; allowed: he, xavier"),
        (["--Q", "3", "--optimisers", ""], "--optimisers: give at least one of"),
    ],
)
def test_bad_command_values_are_one_line_errors(tmp_path, capsys, flags, expected):
    out = tmp_path / "o.json"
    rc = main(["landscape-scaling", *flags, "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("dlgeom: error: ") and expected in err and err.count("\n") == 1, err
    assert not out.exists()


@pytest.mark.parametrize("config_file", ["config.yaml", "paper.yaml", "test.yaml"])
def test_the_settings_file_gives_the_command_the_config_values(tmp_path, config_file):
    raw = yaml.safe_load((ROOT / "config" / config_file).read_text())
    if config_file == "paper.yaml":  # paper.yaml extends config.yaml key by key
        base = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
        base["landscape"].update(raw.pop("landscape"))
        base.update(raw)
        raw = base
    for d in raw.get("datasets", []):
        d["path"] = str(ROOT / d["path"])
    cfg = validate_config(raw, load_schema(SCHEMA), base_dir=ROOT)
    sc = cfg["landscape"]["scaling"]
    f = tmp_path / "landscape_scaling.json"
    f.write_text(json.dumps(stage_settings(cfg)["landscape_scaling"]))
    parser, _ = full_parser()
    argv = ["--settings", str(f), "landscape-scaling", "--Q", "3", "--out", "o.json"]
    apply_settings(parser, argv)
    a = parser.parse_args(argv)
    assert (a.runs, a.max_iter, a.delta_ratio) == (sc["runs"], sc["max_iter"], sc["delta_ratio"])
    assert a.starts.split(",") == sc["starts"] and a.optimisers.split(",") == sc["optimisers"]
    assert (a.n_per_class, a.noise, a.engine) == (cfg["n_per_class"], cfg["noise"], cfg["landscape"]["engine"])
    assert "Q" not in stage_settings(cfg)["landscape_scaling"]  # which jobs exist, not a job's value


def test_the_function_refuses_a_Q_outside_2_to_8():
    with pytest.raises(DlgeomInputError, match="Q"):
        run_landscape_scaling(9, runs=1)
