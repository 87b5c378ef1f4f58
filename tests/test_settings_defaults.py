"""A job reads its values from its stage's settings file (`dlgeom --settings FILE <command>`): each
key is the default of the option of the same name, converted and checked as if typed; a flag on the
command line wins. The workflow's rules rely on it, so the values a command parses from the study's
settings files must be the config's values."""

import json
from pathlib import Path

import pytest
import yaml

from dlgeom.cli import apply_settings, full_parser, main
from dlgeom.study.config import load_schema, validate_config
from dlgeom.study.layout import stage_settings

ROOT = Path(__file__).resolve().parents[1]


def _parse(argv):
    parser, _ = full_parser()
    apply_settings(parser, argv)
    return parser.parse_args(argv)


def _write(path, record):
    path.write_text(json.dumps(record))
    return str(path)


def test_keys_become_defaults_and_flags_win(tmp_path):
    f = _write(
        tmp_path / "s.json",
        {
            "runs": 7,
            "max_iter": 11,
            "rho": [0.5, 0.25],
            "optimisers": ["gd"],
            "optimiser_runs": {"gd": 3},
            "engine": "sequential",
            "base_seed": 9,
        },
    )
    base = ["--settings", f, "landscape", "--data", "d.npz", "--layers", "3", "--out", "o.json"]
    args = _parse(base)
    assert (args.runs, args.max_iter, args.rho, args.optimisers) == (7, 11, [0.5, 0.25], "gd")
    assert (args.optimiser_runs, args.engine) == ("gd=3", "sequential")
    args = _parse(base + ["--runs", "5", "--rho", "0.1"])
    assert (args.runs, args.rho, args.max_iter) == (5, [0.1], 11)  # the command line wins, key by key
    plain = _parse(base[2:])
    assert (plain.runs, plain.max_iter) == (200, 500)  # without --settings: the option's own default


def test_a_required_option_can_come_from_the_settings(tmp_path):
    f = _write(tmp_path / "s.json", {"layers": 4})
    assert _parse(["--settings", f, "landscape", "--data", "d.npz", "--out", "o.json"]).layers == 4


def test_later_files_win_and_nested_groups_are_not_option_values(tmp_path):
    a = _write(tmp_path / "a.json", {"zero_cost": 1e-6, "optimisers": {"runs": 5, "optimisers": ["gd"]}})
    b = _write(tmp_path / "b.json", {"zero_cost": 1e-8})
    args = _parse(["--settings", a, "--settings", b, "landscape", "--data", "d", "--layers", "3", "--out", "o"])
    assert args.zero_cost == 1e-8
    assert args.optimisers == "lbfgs,gd,adam"  # robustness.optimisers is a group of the config, not a list


@pytest.mark.parametrize(
    "record, expected",
    [
        ({"runs": "many"}, "--settings: key 'runs' (--runs): "),
        ({"engine": "warp"}, "--settings: key 'engine' (--engine): 'warp' is not one of batched"),
        ({"rho": ["a"]}, "--settings: key 'rho' (--rho): "),
    ],
)
def test_a_bad_settings_value_is_one_line_naming_key_and_option(tmp_path, capsys, record, expected):
    f = _write(tmp_path / "s.json", record)
    out = tmp_path / "o.json"
    rc = main(["--settings", f, "landscape", "--data", "d.npz", "--layers", "3", "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("dlgeom: error: " + expected) and err.count("\n") == 1, err
    assert not out.exists()


@pytest.mark.parametrize("content", ["{not json", "[1, 2]"])
def test_a_damaged_settings_file_is_named(tmp_path, capsys, content):
    f = tmp_path / "s.json"
    f.write_text(content)
    rc = main(["--settings", str(f), "landscape", "--data", "d.npz", "--layers", "3", "--out", "o.json"])
    err = capsys.readouterr().err
    assert rc == 2 and str(f) in err and err.count("\n") == 1, err


def _study_config(name):
    cfg = yaml.safe_load((ROOT / "config" / name).read_text())
    for d in cfg.get("datasets", []):
        d["path"] = str(ROOT / d["path"])
    return validate_config(cfg, load_schema(ROOT / "workflow" / "schemas" / "config.schema.yaml"), base_dir=ROOT)


@pytest.mark.parametrize("config_file", ["config.yaml", "test.yaml"])
def test_the_study_settings_give_each_command_the_config_values(tmp_path, config_file):
    """The values every stage's command parses from its settings file (the rules pass no flag for
    them) are those of the config: one home for each value."""
    cfg = _study_config(config_file)
    files = {k: _write(tmp_path / f"{k}.json", v) for k, v in stage_settings(cfg).items()}
    ld, col, rob, real = cfg["landscape"], cfg["collapse"], cfg["robustness"], cfg["robustness"]["realdata"]
    hd, sls, sh = cfg["beyond"]["highdim"], cfg["beyond"]["sls"], cfg["beyond"]["shallow"]

    def parse(stage, *argv):
        return _parse(["--settings", files[stage], *argv])

    cell = parse("grid", "cell", "--data-dir", "d", "--out", "o.json")
    assert cell.layers_offsets == cfg["layers_offsets"] and cell.probe_eps == cfg["probe_eps"]
    assert (cell.mu_samples, cell.probe_draws) == (cfg["mu_samples"], cfg["probe_draws"])
    assert (cell.zero_cost, cell.patterns_engine) == (cfg["zero_cost"], cfg["patterns_engine"])
    runs = parse("landscape_runs", "landscape", "--data", "d", "--layers", "3", "--out", "o")
    assert (runs.runs, runs.max_iter, runs.rho, runs.engine) == (ld["runs"], ld["max_iter"], ld["rho"], ld["engine"])
    assert runs.optimisers.split(",") == ld["optimisers"]
    assert runs.optimiser_runs == ",".join(f"{k}={v}" for k, v in ld["optimiser_runs"].items())
    shape = parse("landscape_shape", "landscape", "--data", "d", "--layers", "3", "--out", "o")
    assert shape.zero_cost == cfg["zero_cost"]
    cc = parse("collapse", "collapse-constructed", "--data-dirs", "d", "--cell-keys", "k", "--out", "o")
    assert (cc.layers_offset, cc.rel_tol) == (col["layers_offset"], col["rel_tol"])
    cl = parse("collapse", "collapse-landscape", "--data", "d", "--runs", "r", "--endpoints", "e", "--out", "o")
    assert (cl.representatives, cl.n_dirs, cl.opt_iter, cl.rel_tol) == (
        col["representatives"],
        col["n_dirs"],
        col["opt_iter"],
        col["rel_tol"],
    )
    assert cl.embeddings.split(",") == col["embeddings"]
    for axis, values in rob["axes"].items():
        if values:
            a = parse(f"robustness_axis_{axis}", "robustness", "--axis", axis, "--out", "o")
            assert (a.replicates, a.zero_cost) == (rob["replicates"], cfg["zero_cost"])
            assert a.values == ",".join(v if isinstance(v, str) else repr(v) for v in values)
    r = parse("robustness_realdata", "realdata", "--name", "iris", "--out", "o")
    assert (r.test_fraction, r.max_train, r.refine, r.zero_cost) == (
        real["test_fraction"],
        real["max_train"],
        real["refine"],
        cfg["zero_cost"],
    )
    assert r.lambdas == ",".join(map(repr, real["lambdas"])) and r.projections.split(",") == real["projections"]
    h = parse("beyond_highdim", "highdim", "--Q", "3", "--out", "o")
    assert (h.M, h.delta_ratio, h.perp_scale, h.replicates) == (
        hd["M"],
        hd["delta_ratio"],
        hd["perp_scale"],
        hd["replicates"],
    )
    assert str(h.theta) == str(hd["theta"]) and h.zero_cost == cfg["zero_cost"]
    s = parse("beyond_sls", "sls", "--Q", "3", "--out", "o")
    assert s.clustered_delta_ratio == sls["clustered_delta_ratio"]  # a key added to the schema only
    assert (s.M, s.replicates, s.max_orderings, s.zero_cost) == (
        sls["M"],
        sls["replicates"],
        sls["max_orderings"],
        cfg["zero_cost"],
    )
    w = parse("beyond_shallow", "shallow", "--Q", "3", "--out", "o")
    assert (w.replicates, w.points, w.train_runs, w.train_iter) == (
        sh["replicates"],
        sh["points"],
        sh["train_runs"],
        sh["train_iter"],
    )
    for stage, command in [
        ("aggregate", "aggregate"),
        ("figures", "figure"),
        ("beyond_tables", "beyond-tables"),
        ("robustness_tables", "robustness-tables"),
    ]:
        action = next(a for a in full_parser()[0]._actions if hasattr(a, "choices") and isinstance(a.choices, dict))
        opts = [o for a in action.choices[command]._actions if a.required for o in a.option_strings[-1:]]
        argv = [x for o in opts for x in (o, "phase" if o == "--name" else "x")]
        assert parse(stage, command, *argv).zero_cost == cfg["zero_cost"], stage


def test_a_key_added_to_the_schema_reaches_its_command(tmp_path):
    """beyond.sls.clustered_delta_ratio was added to the schema and nowhere else (no rule, no
    settings code): a value set in the config is the value the sls job parses."""
    cfg = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
    cfg["datasets"][0]["path"] = str(ROOT / cfg["datasets"][0]["path"])
    cfg.setdefault("beyond", {}).setdefault("sls", {})["clustered_delta_ratio"] = 0.25
    cfg = validate_config(cfg, load_schema(ROOT / "workflow" / "schemas" / "config.schema.yaml"), base_dir=ROOT)
    f = _write(tmp_path / "beyond_sls.json", stage_settings(cfg)["beyond_sls"])
    assert _parse(["--settings", f, "sls", "--Q", "3", "--out", "o"]).clustered_delta_ratio == 0.25
