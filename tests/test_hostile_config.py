"""Hostile study configs (typed and normalised before the DAG is built) and concurrent runs."""

from __future__ import annotations

import copy
import math
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from dlgeom.study.config import expand_grid, load_schema, validate_config
from dlgeom.validation import DlgeomInputError

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = load_schema(ROOT / "workflow" / "schemas" / "config.schema.yaml")
BASE = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
BASE["datasets"][0]["path"] = str(ROOT / "config" / "example_data" / "blobs.csv")
INF, NAN = math.inf, math.nan


def _set(path: str, value):
    """A mutation setting the config key ``a.b[2].c`` to ``value``."""

    def mutate(cfg):
        parts = path.replace("]", "").replace("[", ".").split(".")
        node = cfg
        for p in parts[:-1]:
            node = node[int(p)] if p.isdigit() else node.setdefault(p, {})
        last = parts[-1]
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


# (class, key that the message must name, mutation)
BAD_CONFIGS = [
    # non-finite numbers, anywhere
    ("NaN/inf", "grid.delta_ratio[0]", _set("grid.delta_ratio", [INF])),
    ("NaN/inf", "grid.delta_ratio[1]", _set("grid.delta_ratio", [0.1, NAN])),
    ("NaN/inf", "grid.theta[1]", _set("grid.theta", ["regular", INF])),
    ("NaN/inf", "zero_cost", _set("zero_cost", INF)),
    ("NaN/inf", "zero_cost", _set("zero_cost", NAN)),
    ("NaN/inf", "probe_eps[0]", _set("probe_eps", [NAN])),
    ("NaN/inf", "datasets[0].shrink[0]", _set("datasets[0].shrink", [INF])),
    ("NaN/inf", "datasets[0].test_fraction", _set("datasets[0].test_fraction", NAN)),
    ("NaN/inf", "landscape.rho[0]", _set("landscape.rho", [INF])),
    ("NaN/inf", "robustness.axes.delta_ratio[0]", _set("robustness.axes.delta_ratio", [NAN])),
    ("NaN/inf", "robustness.realdata.lambdas[0]", _set("robustness.realdata.lambdas", [INF])),
    ("NaN/inf", "beyond.shallow.delta_ratio_max", _set("beyond.shallow.delta_ratio_max", INF)),
    ("NaN/inf", "base_seed", _set("base_seed", INF)),
    # integers that are not integers
    ("integer", "mu_samples", _set("mu_samples", 2.5)),
    ("integer", "grid.Q[0]", _set("grid.Q", [2.5])),
    ("integer", "replicates", _set("replicates", "2")),
    ("integer", "replicates", _set("replicates", True)),
    ("integer", "layers_offsets[0]", _set("layers_offsets", [0.5])),
    # duplicates that differ only in spelling
    ("duplicate", "grid.Q[1]", _set("grid.Q", [2, 2.0])),
    ("duplicate", "grid.delta_ratio[1]", _set("grid.delta_ratio", [1, 1.0])),
    ("duplicate", "grid.theta[2]", _set("grid.theta", ["regular", 3.5, 3.50])),
    ("duplicate", "layers_offsets[1]", _set("layers_offsets", [0, 0.0])),
    ("duplicate", "datasets[0].shrink[1]", _set("datasets[0].shrink", [1, 1.0])),
    ("duplicate", "probe_eps[1]", _set("probe_eps", [0.01, 1e-2])),
    ("duplicate", "landscape.starts[1]", _set("landscape.starts", ["he", "he"])),
    # limits
    ("limit", "grid.Q[0]", _set("grid.Q", [11])),
    ("limit", "grid.Q[0]", _set("grid.Q", [10**9])),
    ("limit", "replicates", _set("replicates", 10**6)),
    ("limit", "n_per_class", _set("n_per_class", 10**9)),
    ("limit", "base_seed", _set("base_seed", -1)),
    ("limit", "base_seed", _set("base_seed", 2**64)),
    ("limit", "layers_offsets[0]", _set("layers_offsets", [10**6])),
    ("limit", "mu_samples", _set("mu_samples", 10**9)),
    ("limit", "zero_cost", _set("zero_cost", 5.0)),
    ("limit", "grid.delta_ratio[0]", _set("grid.delta_ratio", [0.0])),
    ("limit", "grid.theta[1]", _set("grid.theta", ["regular", 7.0])),
    ("limit", "landscape.runs", _set("landscape.runs", 10**9)),
    ("limit", "landscape.max_iter", _set("landscape.max_iter", 10**9)),
    ("limit", "landscape.optimiser_runs.gd", _set("landscape.optimiser_runs", {"gd": 0})),
    ("unknown", "landscape.optimiser_runs", _set("landscape.optimiser_runs", {"sgd": 5})),
    (
        "unused",
        "landscape.optimiser_runs.adam",
        lambda cfg: (_set("landscape.optimisers", ["lbfgs"])(cfg), _set("landscape.optimiser_runs", {"adam": 5})(cfg)),
    ),
    ("limit", "robustness.replicates", _set("robustness.replicates", 10**6)),
    ("limit", "beyond.highdim.M[0]", _set("beyond.highdim.M", [10**6])),
    # the curation figure's cell must be a cell of the grid
    ("curation", "figures.curation_Q", _set("figures.curation_Q", 5)),
    ("curation", "figures.curation_delta_ratio", _set("figures.curation_delta_ratio", 0.3)),
    ("curation", "figures.curation_Q", _set("figures.curation_Q", 2.5)),
    # paths and names
    ("dataset", "datasets[0].path", _set("datasets[0].path", "")),
    ("dataset", "datasets[0].path", _set("datasets[0].path", "/nonexistent/x.csv")),
    ("dataset", "datasets[0].path", _set("datasets[0].path", "/proc/self/status")),
    ("dataset", "datasets[0].name", _set("datasets[0].name", "x; touch INJECTED")),
    ("dataset", "datasets[0].name", _set("datasets[0].name", "a" * 100)),
    ("type", "(top level)", lambda c: c.update({"unknown_key": 1})),
    ("type", "grid", _set("grid", [1, 2])),
]


@pytest.mark.parametrize("cls,key,mutate", BAD_CONFIGS, ids=[f"{c}|{k}|{i}" for i, (c, k, _) in enumerate(BAD_CONFIGS)])
def test_bad_config_is_one_line_naming_the_key(cls, key, mutate):
    cfg = copy.deepcopy(BASE)
    mutate(cfg)
    with pytest.raises(DlgeomInputError) as info:
        validate_config(cfg, SCHEMA)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"config key '{key}'"), msg


def test_integral_floats_are_integers_and_integers_are_numbers():
    """Documented choice: 2.0 for an integer key is normalised to 2; 1 for a number key to 1.0,
    so the cell keys are the same however the value is spelt."""
    cfg = copy.deepcopy(BASE)
    cfg["grid"]["Q"] = [2.0, 3]
    cfg["replicates"] = 2.0
    cfg["grid"]["delta_ratio"] = [1, 0.05]
    out = validate_config(cfg, SCHEMA)
    assert out["grid"]["Q"] == [2, 3] and all(type(q) is int for q in out["grid"]["Q"])
    assert type(out["replicates"]) is int
    assert out["grid"]["delta_ratio"] == [1.0, 0.05] and type(out["grid"]["delta_ratio"][0]) is float
    keys = [c.key for c in expand_grid(out)]
    assert "Q2/thetaregular/r1.0" in keys and len(keys) == len(set(keys))
    cfg2 = copy.deepcopy(cfg)
    cfg2["grid"]["delta_ratio"] = [1.0, 0.05]
    cfg2["grid"]["Q"] = [2, 3]
    assert [c.key for c in expand_grid(validate_config(cfg2, SCHEMA))] == keys


def test_curation_default_follows_the_grid():
    cfg = copy.deepcopy(BASE)
    del cfg["figures"]
    out = validate_config(cfg, SCHEMA)
    assert out["figures"] == {"curation_Q": 3, "curation_delta_ratio": 0.05}


def test_every_error_of_a_config_is_reported_at_once():
    """Independent mistakes in one config: one exception, one line per error, each naming its key."""
    from dlgeom.validation import ConfigErrors

    cfg = copy.deepcopy(BASE)
    cfg["replicates"] = 0  # schema: below the minimum
    cfg["grid"]["theta"] = ["regular", 9.0]  # schema: not an angle in (0, 2π)
    cfg["landscape"]["optimisers"] = ["lbfgs"]
    cfg["landscape"]["optimiser_runs"] = {"gd": 5}  # semantic: gd is not run
    cfg["datasets"][0]["shrink"] = [-1.0]  # semantic: λ < 0
    cfg["robustness"]["optimisers"]["points"] = {"delta_ratio": [0.3]}  # semantic: not an axis value
    with pytest.raises(ConfigErrors) as info:
        validate_config(cfg, SCHEMA)
    lines = str(info.value).splitlines()
    keys = [line.split("'")[1] for line in lines]
    assert sorted(keys) == [
        "datasets[0].shrink[0]",
        "grid.theta[1]",
        "landscape.optimiser_runs.gd",
        "replicates",
        "robustness.optimisers.points.delta_ratio[0]",
    ], lines
    assert all(line.startswith("config key '") for line in lines)


def _default_with(user: dict) -> dict:
    """config/config.yaml extended by ``user`` the way Snakemake merges a --configfile."""

    def merge(base, over):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
        return out

    return merge(yaml.safe_load((ROOT / "config" / "config.yaml").read_text()), user)


def test_keys_that_depend_on_the_grid_follow_a_new_grid():
    """A config that changes the grid and leaves the grid-dependent keys out: the values inherited
    from config/config.yaml that are not in the new grid are dropped, the rest kept."""
    user = {
        "study": "mine",
        "grid": {"Q": [3, 4], "delta_ratio": [0.1, 0.2], "theta": ["regular", 2.0]},
        "robustness": {"axes": {"delta_ratio": [0.1, 1.0], "theta": [], "label_noise": [0.05]}},
    }
    out = validate_config(_default_with(user), SCHEMA, explicit=user)
    assert out["landscape"]["cells"] == ["Q3/thetaregular/r0.1"]  # the one default cell in the grid
    assert out["figures"] == {"curation_Q": 4, "curation_delta_ratio": 0.1}
    assert out["robustness"]["optimisers"]["points"] == {"delta_ratio": [0.1], "theta": [], "label_noise": [0.05]}
    # the same values set by the user are checked strictly, every error at once
    strict = {
        **user,
        "landscape": {"cells": ["Q2/thetaregular/r0.1"]},
        "robustness": {**user["robustness"], "optimisers": {"points": {"theta": [3.4]}}},
    }
    with pytest.raises(DlgeomInputError) as info:
        validate_config(_default_with(strict), SCHEMA, explicit=strict)
    assert [line.split("'")[1] for line in str(info.value).splitlines()] == [
        "landscape.cells[0]",
        "robustness.optimisers.points.theta",
    ]


def test_the_default_study_keeps_its_own_grid_dependent_values():
    default = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    out = validate_config(default, SCHEMA)
    assert out["landscape"]["cells"] == default["landscape"]["cells"]
    assert out["figures"] == default["figures"]
    assert out["robustness"]["optimisers"]["points"] == default["robustness"]["optimisers"]["points"]


def test_schema_states_a_limit_for_every_number():
    """Every integer or number in the schema has both a lower and an upper bound (or an enum)."""
    missing = []

    def walk(node, path):
        if isinstance(node, dict):
            types = node.get("type")
            types = set(types) if isinstance(types, list) else {types}
            if types & {"integer", "number"}:
                low = "minimum" in node or "exclusiveMinimum" in node
                high = "maximum" in node or "exclusiveMaximum" in node
                # gradient-training points must be values of their axis (checked against it)
                among_axis_values = "points.additionalProperties" in path
                if not among_axis_values and not (low and high):
                    missing.append(path)
            for k, v in node.items():
                walk(v, f"{path}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")

    walk(SCHEMA["properties"], "")
    assert missing == [], missing


# ---- concurrency ------------------------------------------------------------------------------

_HOLD = textwrap.dedent("""
    import sys, time
    from dlgeom.study.runlock import claim_study_run
    claim_study_run(None, sys.argv[1], "tiny")   # the study of BASE (config/test.yaml)
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
""")


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def test_second_run_in_the_same_folder_is_told_what_to_do(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(tmp_path), "30"], stdout=subprocess.PIPE, text=True, env=_env()
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        res = subprocess.run(
            [sys.executable, "-c", _HOLD, str(tmp_path), "0"], capture_output=True, text=True, env=_env(), timeout=60
        )
        assert res.returncode == 1
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and f"pid {holder.pid}" in lines[0]
        assert "wait for it to finish" in lines[0] and "do not use --unlock" in lines[0]
    finally:
        holder.kill()
        holder.wait()
    # the kernel drops the lock with the process: never stale
    res = subprocess.run(
        [sys.executable, "-c", _HOLD, str(tmp_path), "0"], capture_output=True, text=True, env=_env(), timeout=60
    )
    assert res.returncode == 0 and res.stdout.strip() == "locked"


def test_three_simultaneous_starts_one_runs_two_are_told(tmp_path):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _HOLD, str(tmp_path), "3"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for _ in range(3)
    ]
    results = [(p.wait(timeout=60), p.stdout.read(), p.stderr.read()) for p in procs]
    assert sorted(rc for rc, _, _ in results) == [0, 1, 1]
    for rc, _out, err in results:
        if rc:
            assert len(err.strip().splitlines()) == 1 and "another run of this study" in err
            assert "Traceback" not in err


def test_dry_runs_and_listings_never_take_the_lock():
    from dlgeom.study.runlock import _looks_only

    for argv in (
        ["snakemake", "-n"],
        ["snakemake", "--dry-run"],
        ["snakemake", "-qn"],
        ["snakemake", "--lint"],
        ["snakemake", "--summary"],
        ["snakemake", "--dag"],
    ):
        assert _looks_only(argv), argv
    for argv in (["snakemake", "--cores", "2"], ["snakemake", "-j2"], ["snakemake", "--unlock"]):
        assert not _looks_only(argv), argv


@pytest.mark.skipif(not (Path(sys.executable).parent / "snakemake").exists(), reason="snakemake is not installed")
def test_snakemake_run_while_another_runs_gives_the_one_line_advice(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(tmp_path), "60"], stdout=subprocess.PIPE, text=True, env=_env()
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        cfg = copy.deepcopy(BASE)
        (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
        t0 = time.time()
        res = subprocess.run(
            [
                sys.executable,
                "-m",
                "snakemake",
                "-s",
                str(ROOT / "Snakefile"),
                "-d",
                str(tmp_path),
                "--configfile",
                str(tmp_path / "c.yaml"),
                "--cores",
                "1",
            ],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=120,
        )
        assert res.returncode != 0, time.time() - t0
        ours = [line for line in res.stderr.splitlines() if line.startswith("dlgeom:")]
        assert len(ours) == 1 and "another run of this study" in ours[0]
        assert "Traceback" not in res.stderr and "LockException" not in res.stderr
        assert not (tmp_path / "results").exists()
    finally:
        holder.kill()
        holder.wait()
