"""A job reads its values from its stage's settings files (`dlgeom --settings FILE... <command>`):
each key is the default of the option of the same name (a nested group's keys as GROUP_KEY),
converted and checked as if typed; a flag on the command line wins; a stage command's seed is the
settings' base_seed, two ids of its key and its seed stream. The workflow's rules rely on it, so
the values a command parses from the study's settings files must be the config's values."""

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from dlgeom.cli import apply_settings, derive_seed, full_parser, main, normalise_argv
from dlgeom.study.config import load_schema, validate_config
from dlgeom.study.layout import stage_settings

ROOT = Path(__file__).resolve().parents[1]


def _parse(argv):
    parser, _ = full_parser()
    argv = normalise_argv(parser, argv)
    apply_settings(parser, argv)
    args = parser.parse_args(argv)
    derive_seed(parser, args)
    return args


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
    f = _write(tmp_path / "s.json", {"values": [0.5, 0.25]})
    assert _parse(["--settings", f, "robustness", "--axis", "delta_ratio", "--out", "o.json"]).values == "0.5,0.25"


@pytest.mark.parametrize("one_flag", [True, False])
def test_later_files_win_and_nested_groups_flatten(tmp_path, one_flag):
    a = _write(
        tmp_path / "a.json",
        {"zero_cost": 1e-6, "mu_search": {"line": 5}, "optimisers": {"runs": 4, "optimisers": ["gd"], "points": []}},
    )
    b = _write(tmp_path / "b.json", {"zero_cost": 1e-8})
    settings = ["--settings", a, b] if one_flag else ["--settings", a, "--settings", b]
    args = _parse([*settings, "robustness", "--axis", "noise", "--values", "uniform", "--out", "o"])
    assert args.zero_cost == 1e-8  # the later file wins
    # mu_search.line -> --mu-search-line, optimisers.runs -> --optimisers-runs, optimisers.optimisers -> --optimisers
    assert (args.mu_search_line, args.optimisers_runs, args.optimisers, args.optimisers_points) == (5, 4, "gd", "")
    assert args.mu_search_random == 16  # not in the file: the option's own default
    nested = _write(tmp_path / "n.json", {"rho": {"a": [1.0]}})
    assert _parse(["--settings", nested, "landscape", "--data", "d", "--out", "o"]).rho == [1e-4, 1e-1]


def _ids(key):
    digest = hashlib.sha256(key.encode()).digest()
    return [int.from_bytes(digest[i : i + 4], "little") for i in (0, 4)]


def test_the_seed_follows_base_seed_key_and_stream(tmp_path):
    """The seed prefix a job derives is the one the rules wrote out: base_seed, two ids from the
    sha256 of its key, its stream's number (the streams' table is tests/test_seed_streams.py's)."""
    f = _write(tmp_path / "s.json", {"base_seed": 11, "M": [3]})
    data = tmp_path / "results" / "s" / "data" / "Q3" / "theta2.2" / "r0.1"
    data.mkdir(parents=True)
    manifest = str(data / "manifest.json")

    def seed(*argv):
        return _parse(["--settings", f, *argv]).seed

    key = "Q3/theta2.2/r0.1"
    assert seed("cell", "--data", manifest, "--out", "o") == [11, *_ids(key), 1000]
    assert seed("landscape", "--data", manifest, "--out", "o") == [11, *_ids(key), 2000]
    assert seed("landscape", "--data", "d.npz", "--cell-key", "Q2/thetaregular/r0.5", "--out", "o") == [
        11,
        *_ids("Q2/thetaregular/r0.5"),
        2000,
    ]
    assert seed("collapse-landscape", "--data", manifest, "--out", "o") == [11, *_ids(key), 3000]
    assert seed("robustness", "--axis", "noise", "--values", "uniform", "--out", "o") == ",".join(
        map(str, [11, *_ids("robustness"), 3000])
    )
    assert seed("realdata", "--name", "iris", "--out", "o") == ",".join(map(str, [11, *_ids("realdata"), 3001]))
    assert seed("realdata", "--data", "x.csv", "--label", "mine", "--out", "o") == ",".join(
        map(str, [11, *_ids("user/mine"), 3002])
    )
    for name, stream in (("highdim", 7001), ("sls", 7002), ("shallow", 7003)):
        assert seed(name, "--Q", "4", "--out", "o") == [11, *_ids(f"beyond/{name}/Q4"), stream]
    assert seed("aggregate", "--cells", "c.json") == [11]  # tables and figures record the base seed
    assert seed("figure", "--out", "f") == [11]
    assert seed("cell", "--data", manifest, "--seed", "5", "--out", "o") == [5]  # a flag wins
    plain = _parse(["landscape", "--data", manifest, "--out", "o"])
    assert plain.seed == [0]  # without settings: the option's own default


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
    assert cell.seed == [cfg["base_seed"], *_ids(""), 1000]
    assert cell.layers_offsets == cfg["layers_offsets"] and cell.probe_eps == cfg["probe_eps"]
    assert (cell.mu_samples, cell.probe_draws) == (cfg["mu_samples"], cfg["probe_draws"])
    assert (cell.zero_cost, cell.patterns_engine) == (cfg["zero_cost"], cfg["patterns_engine"])
    runs = parse("landscape_runs", "landscape", "--data", "d", "--out", "o")
    assert runs.no_shape and runs.starts == "he,xavier,global,none"  # the runs job names its start
    assert (runs.runs, runs.max_iter, runs.rho, runs.engine) == (ld["runs"], ld["max_iter"], ld["rho"], ld["engine"])
    assert runs.optimisers.split(",") == ld["optimisers"]
    assert runs.optimiser_runs == ",".join(f"{k}={v}" for k, v in ld["optimiser_runs"].items())
    shape = parse("landscape_shape", "landscape", "--data", "d", "--layers", "3", "--out", "o")
    assert shape.zero_cost == cfg["zero_cost"] and shape.starts == "" and not shape.no_shape
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
            b, opt = rob["base"], rob["optimisers"]
            assert (a.base_Q, a.base_theta, a.base_delta_ratio, a.base_noise, a.base_elongation) == (
                b["Q"],
                str(b["theta"]),
                b["delta_ratio"],
                b["noise"],
                b["elongation"],
            )
            assert (a.base_n_per_class, a.n_test_per_class) == (b["n_per_class"], rob["n_test_per_class"])
            assert (a.mu_search_line, a.mu_search_random) == (rob["mu_search"]["line"], rob["mu_search"]["random"])
            assert (a.optimisers.split(","), a.optimisers_runs, a.optimisers_max_iter) == (
                opt["optimisers"],
                opt["runs"],
                opt["max_iter"],
            )
            assert a.optimisers_points == ",".join(
                v if isinstance(v, str) else repr(v) for v in opt["points"].get(axis, [])
            )
    r = parse("robustness_realdata", "realdata", "--name", "iris", "--out", "o")
    assert (r.test_fraction, r.max_train, r.refine, r.zero_cost) == (
        real["test_fraction"],
        real["max_train"],
        real["refine"],
        cfg["zero_cost"],
    )
    assert r.lambdas == ",".join(map(repr, real["lambdas"])) and r.projections.split(",") == real["projections"]
    assert (r.mu_search_line, r.mu_search_random) == (rob["mu_search"]["line"], rob["mu_search"]["random"])
    for d in cfg["datasets"]:  # a user dataset's sweep: the dataset's own file wins
        u = _parse(
            ["--settings", files["robustness_realdata"], files[f"dataset_{d['name']}"], "realdata", "--out", "o"]
        )
        assert (u.label, u.projections, u.test_fraction) == (d["name"], "auto", d["test_fraction"])
    h = parse("beyond_highdim", "highdim", "--Q", "3", "--out", "o")
    assert (h.M, h.delta_ratio, h.perp_scale, h.replicates) == (
        hd["M"],
        hd["delta_ratio"],
        hd["perp_scale"],
        hd["replicates"],
    )
    assert str(h.theta) == str(hd["theta"]) and h.zero_cost == cfg["zero_cost"]
    assert h.n_per_class == hd["n_per_class"]
    s = parse("beyond_sls", "sls", "--Q", "3", "--out", "o")
    assert s.clustered_delta_ratio == sls["clustered_delta_ratio"]  # a key added to the schema only
    assert (s.n_per_class, s.hand_Q) == (sls["n_per_class"], min(sls["Q"]) if sls["Q"] else None)
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
    assert (w.n_per_class, w.delta_ratio_min, w.delta_ratio_max, w.train_delta_ratio) == (
        sh["n_per_class"],
        sh["delta_ratio_min"],
        sh["delta_ratio_max"],
        sh["train_delta_ratio"],
    )
    for command in ("beyond-tables", "beyond-figure"):
        assert parse("beyond_tables", command).fit_max_delta_P == sh["fit_max_delta_P"]
    fig = parse("figures", "figure", "--out", "f")
    assert (fig.curation_Q, fig.curation_delta_ratio) == (
        cfg["figures"]["curation_Q"],
        repr(cfg["figures"]["curation_delta_ratio"]),
    )
    for stage, argv, folder in [
        ("aggregate", ["aggregate", "--cells", "c"], "tables"),
        ("collapse_tables", ["collapse-tables"], "tables"),
        ("figures", ["collapse-figure"], "figures"),
    ]:  # a study command writes into the study folder that holds its settings folder
        assert parse(stage, *argv).out_dir == str(tmp_path.parent / folder)
    for stage, command in [
        ("aggregate", "aggregate"),
        ("figures", "figure"),
        ("beyond_tables", "beyond-tables"),
        ("robustness_tables", "robustness-tables"),
    ]:
        action = next(a for a in full_parser()[0]._actions if hasattr(a, "choices") and isinstance(a.choices, dict))
        opts = [o for a in action.choices[command]._actions if a.required for o in a.option_strings[-1:]]
        argv = [x for o in opts for x in (o, "x")]
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
