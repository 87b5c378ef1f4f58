"""One zero-cost threshold: the library default lives in dlgeom.thresholds, the study's configured
``zero_cost`` reaches every stage that decides zero cost, and a different value classifies
differently there (landscape verdicts, local shape, figures)."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
import yaml

matplotlib.use("Agg")

import dlgeom.robustness  # noqa: E402
from dlgeom import thresholds  # noqa: E402
from dlgeom.study import grid_report, landscape_report  # noqa: E402
from dlgeom.study.beyond_report import fig_highdim  # noqa: E402
from dlgeom.study.landscape_report import landscape_claims  # noqa: E402
from dlgeom.study.landscape_run import run_landscape  # noqa: E402
from dlgeom.study.robustness_report import fig_realdata  # noqa: E402
from dlgeom.synthetic import make_clustered  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def test_the_schema_default_is_the_library_constant():
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text(encoding="utf-8"))
    assert schema["properties"]["zero_cost"]["default"] == thresholds.ZERO_COST
    assert thresholds.OPTIMISER_ZERO > thresholds.ZERO_COST


def test_the_library_robustness_module_holds_no_study_convention():
    for name in ("AXES", "BASE", "ZERO_COST", "OPTIMISER_ZERO", "parse_axis_value", "point_params"):
        assert name not in dlgeom.robustness.__all__
    assert not hasattr(dlgeom.robustness, "AXES") and not hasattr(dlgeom.robustness, "BASE")


def test_no_literal_zero_cost_threshold_in_the_study_code():
    """The study code compares costs with the configured value, never with a literal 1e-10."""
    pattern = re.compile(r"(<=|<|>|>=)\s*1e-10\b|1e-10\s*\*|axhline\(1e-10|C ≤ 1e-10|C = 1e-10")
    hits = [
        f"{p.name}:{i}"
        for p in sorted((ROOT / "src" / "dlgeom" / "study").glob("*.py"))
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line) and "barrier" not in line and "err" not in line
    ]
    assert hits == []


def _shape_and_paths(global_cost: float):
    shape = pd.DataFrame(
        [
            {
                "cell": "Q2/x",
                "point": "global",
                "global_cost": global_cost,
                "n_zero_eig": 8,
                "null_dim_J": 8,
                "n_params": 12,
                "null_dim_theory": 8,
            }
        ]
    )
    paths = pd.DataFrame(
        [
            {
                "cell": "Q2/x",
                "global_cost": global_cost,
                "all_hold": True,
                "type": "mixed",
                "barrier": 0.5,
                "F_start": 1.0,
                "monotone": False,
            }
        ]
    )
    end = pd.DataFrame(
        [
            {
                "cell": "Q2/x",
                "global_cost": global_cost,
                "start_kind": kind,
                "rho": 1e-3,
                "optimiser": "lbfgs",
                "returned": True,
                "category": "zero",
                "status": "converged",
            }
            for kind in ("he", "global")
        ]
    )
    return {"landscape_shape": shape, "landscape_paths": paths, "landscape_endpoints": end}


@pytest.mark.parametrize("key", ["zero_modes", "thm25_mu_path", "training_attraction"])
def test_landscape_verdicts_follow_the_configured_zero_cost(key):
    t = _shape_and_paths(global_cost=1e-8)  # zero for 1e-6, not for the default 1e-10
    strict = {r["id"]: r for r in landscape_claims(t)}
    loose = {r["id"]: r for r in landscape_claims(t, zero=1e-6)}
    assert strict.get(key, {"n_cases": 0})["n_cases"] == 0
    assert loose[key]["n_cases"] == 1
    assert strict["training_zero"] == loose["training_zero"]  # optimiser end points: their own threshold


def test_the_local_shape_follows_the_configured_zero_cost():
    data = make_clustered(2, 8, 0.1, seed=1)
    default = run_landscape(data, 2, runs=1, starts=(), seed=(1,))
    glob = next(r for r in default["shape"] if r["point"] == "global")
    assert glob["global_cost"] <= thresholds.ZERO_COST
    strict = run_landscape(data, 2, runs=1, starts=(), seed=(1,), zero_cost=glob["global_cost"] / 2)
    glob_strict = next(r for r in strict["shape"] if r["point"] == "global")
    q = data.n_classes
    # rank J predicted Q·Q at a zero-cost minimiser, Q·(Q+1) otherwise
    assert glob["null_dim_theory"] == glob["n_params"] - q * q
    assert glob_strict["null_dim_theory"] == glob["n_params"] - q * (q + 1)


def test_the_landscape_figures_pick_cells_by_the_configured_zero_cost():
    df = pd.DataFrame({"cell": ["Q3/a", "Q2/b"], "all_hold": [True, True], "global_cost": [1e-8, 1e-12]})
    assert landscape_report._main_cell(df) == "Q2/b"  # Q3/a is not zero at 1e-10
    assert landscape_report._main_cell(df, zero=1e-6) == "Q3/a"  # the largest Q once both are zero
    assert list(landscape_report._good(df, zero=1e-13)["cell"]) == ["Q3/a", "Q2/b"]  # none zero: every cell


def test_the_phase_figure_labels_the_configured_zero_cost():
    phase = pd.DataFrame(
        {"Q": [2, 2], "L": [2, 2], "theta": ["regular", "regular"], "delta_ratio": [0.1, 0.3], "frac_zero": [1.0, 0.5]}
    )
    fig = grid_report.fig_phase(phase, zero=1e-7)
    assert fig.axes[0].get_ylabel() == "fraction with C ≤ 1e-07"
    assert grid_report.fig_phase(phase).axes[0].get_ylabel() == "fraction with C ≤ 1e-10"


def test_the_highdim_figure_counts_zero_cost_with_the_configured_value():
    df = pd.DataFrame(
        {
            "status": ["ok"],
            "cost": [1e-8],
            "Y_norm": [1.0],
            "method": ["means_embed"],
            "perp_scale": [1.0],
            "M": [3],
            "r_V": [0.1],
        }
    )
    strict, loose = fig_highdim(df), fig_highdim(df, zero=1e-6)
    assert list(strict.axes[0].lines[0].get_ydata()) == [0.0]
    assert list(loose.axes[0].lines[0].get_ydata()) == [1.0]
    assert "1e-06" in loose.axes[0].get_ylabel()


def test_the_realdata_figure_draws_the_configured_zero_cost():
    real = pd.DataFrame(
        {
            "dataset": ["d"] * 2,
            "projection": ["lda"] * 2,
            "lambda": [0.0, 1.0],
            "Q": [3, 3],
            "cost_best": [1e-17, 1.0],
            "cost_default": [1e-17, 1.0],
            "acc_best": [1.0, 0.5],
            "acc_ncm": [1.0, 0.5],
            "acc_logreg": [1.0, 0.5],
        }
    )
    fig = fig_realdata(real, None, zero=1e-7)
    labels = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    assert "dotted: C = 1e-07" in labels
    assert any(list(line.get_ydata()) == [1e-7, 1e-7] for line in fig.axes[0].lines)


RULES_DECIDING_ZERO = [
    "cell",
    "landscape_shape",
    "aggregate",
    "figure",
    "robustness_axis",
    "robustness_realdata",
    "robustness_user",
    "robustness_tables",
    "robustness_figure",
    "beyond_highdim",
    "beyond_sls",
    "beyond_tables",
    "beyond_figures",
]


def _rules() -> dict[str, str]:
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "workflow" / "rules").glob("*.smk")))
    parts = re.split(r"^rule (\w+):\n", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


@pytest.mark.parametrize("rule", RULES_DECIDING_ZERO)
def test_every_rule_that_decides_zero_cost_passes_the_configured_value(rule):
    """The rule hands its command a settings file that holds the configured zero_cost (the command
    reads it from there, tests/test_settings_defaults.py), and writes no --zero-cost of its own."""
    import yaml

    from dlgeom.study.config import load_schema, validate_config
    from dlgeom.study.layout import stage_settings

    body = _rules()[rule]
    # every command of the rule runs as JOB, which hands it the rule's settings files (common.smk)
    assert "{JOB} " in body and "{DLGEOM}" not in body
    common = (ROOT / "workflow" / "rules" / "common.smk").read_text()
    assert re.search(r'^JOB = f"\{DLGEOM\} --settings \{\{input\.settings:q\}\}"$', common, re.M)
    names = re.findall(r"""settings\(([^)]*)\)""", body)
    if "unpack(cell_inputs)" in body:  # a grid cell's settings come from cell_inputs (common.smk): the grid stage
        names.append('"grid"')
    assert names, rule
    stages = [re.sub(r"\{[^}]*\}", "", n.strip().lstrip("f").strip("\"'")) for arg in names for n in arg.split(",")]
    cfg = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
    cfg["datasets"][0]["path"] = str(ROOT / cfg["datasets"][0]["path"])
    cfg["zero_cost"] = 3e-9
    cfg = validate_config(cfg, load_schema(ROOT / "workflow" / "schemas" / "config.schema.yaml"), base_dir=ROOT)
    files = stage_settings(cfg)
    held = [k for k, v in files.items() for st in stages if (k == st or k.startswith(st)) and "zero_cost" in v]
    assert held and all(files[k]["zero_cost"] == 3e-9 for k in held), (rule, stages)
    assert "--zero-cost" not in body


def test_no_other_rule_passes_a_zero_cost():
    assert [r for r, body in _rules().items() if "zero_cost" in body and r not in RULES_DECIDING_ZERO] == []
