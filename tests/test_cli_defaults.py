"""The command line and the config schema have the same defaults.

Each pair below is a CLI option that a rule fills from a config key: run by hand without the
option, the command does what the default study does.  The schema is the source of truth; a
default changed in one place and not the other fails here.
"""

import argparse
import importlib
from pathlib import Path

import pytest
import yaml

from dlgeom import cli

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text(encoding="utf-8"))

# (subcommand, option dest, schema key)
PAIRS = [
    ("cell", "layers_offsets", "layers_offsets"),
    ("cell", "mu_samples", "mu_samples"),
    ("cell", "probe_eps", "probe_eps"),
    ("cell", "probe_draws", "probe_draws"),
    ("cell", "zero_cost", "zero_cost"),
    ("construct", "zero_cost", "zero_cost"),
    ("aggregate", "zero_cost", "zero_cost"),
    ("figure", "zero_cost", "zero_cost"),
    ("landscape", "zero_cost", "zero_cost"),
    ("robustness-tables", "zero_cost", "zero_cost"),
    ("robustness-figure", "zero_cost", "zero_cost"),
    ("beyond-tables", "zero_cost", "zero_cost"),
    ("beyond-figure", "zero_cost", "zero_cost"),
    ("landscape", "runs", "landscape.runs"),
    ("landscape", "starts", "landscape.starts"),
    ("landscape", "rho", "landscape.rho"),
    ("landscape", "optimisers", "landscape.optimisers"),
    ("landscape", "max_iter", "landscape.max_iter"),
    ("robustness", "base_Q", "robustness.base.Q"),
    ("robustness", "base_theta", "robustness.base.theta"),
    ("robustness", "base_delta_ratio", "robustness.base.delta_ratio"),
    ("robustness", "base_noise", "robustness.base.noise"),
    ("robustness", "base_elongation", "robustness.base.elongation"),
    ("robustness", "base_n_per_class", "robustness.base.n_per_class"),
    ("robustness", "n_test_per_class", "robustness.n_test_per_class"),
    ("robustness", "replicates", "robustness.replicates"),
    ("robustness", "mu_search_line", "robustness.mu_search.line"),
    ("robustness", "mu_search_random", "robustness.mu_search.random"),
    ("robustness", "optimisers", "robustness.optimisers.optimisers"),
    ("robustness", "optimisers_runs", "robustness.optimisers.runs"),
    ("robustness", "optimisers_max_iter", "robustness.optimisers.max_iter"),
    ("robustness", "zero_cost", "zero_cost"),
    ("realdata", "projections", "robustness.realdata.projections"),
    ("realdata", "lambdas", "robustness.realdata.lambdas"),
    ("realdata", "test_fraction", "robustness.realdata.test_fraction"),
    ("realdata", "max_train", "robustness.realdata.max_train"),
    ("realdata", "refine", "robustness.realdata.refine"),
    ("realdata", "mu_search_line", "robustness.mu_search.line"),
    ("realdata", "mu_search_random", "robustness.mu_search.random"),
    ("realdata", "zero_cost", "zero_cost"),
    ("highdim", "delta_ratio", "beyond.highdim.delta_ratio"),
    ("highdim", "perp_scale", "beyond.highdim.perp_scale"),
    ("highdim", "theta", "beyond.highdim.theta"),
    ("highdim", "replicates", "beyond.highdim.replicates"),
    ("highdim", "n_per_class", "beyond.highdim.n_per_class"),
    ("highdim", "zero_cost", "zero_cost"),
    ("sls", "replicates", "beyond.sls.replicates"),
    ("sls", "n_per_class", "beyond.sls.n_per_class"),
    ("sls", "max_orderings", "beyond.sls.max_orderings"),
    ("sls", "zero_cost", "zero_cost"),
    ("shallow", "replicates", "beyond.shallow.replicates"),
    ("shallow", "n_per_class", "beyond.shallow.n_per_class"),
    ("shallow", "delta_ratio_min", "beyond.shallow.delta_ratio_min"),
    ("shallow", "delta_ratio_max", "beyond.shallow.delta_ratio_max"),
    ("shallow", "points", "beyond.shallow.points"),
    ("shallow", "train_runs", "beyond.shallow.train_runs"),
    ("shallow", "train_iter", "beyond.shallow.train_iter"),
    ("shallow", "train_delta_ratio", "beyond.shallow.train_delta_ratio"),
]


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = cli._parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name in cli.EXTENSIONS:
        importlib.import_module(name).register(sub)
    return sub.choices


def _schema_default(key: str):
    node, default = SCHEMA, None
    for part in key.split("."):
        parent_default = node.get("default") if isinstance(node.get("default"), dict) else None
        node = node["properties"][part]
        default = node.get("default", (parent_default or {}).get(part))
    return default


def _normal(value):
    """A comma-separated CLI string, a list or a scalar, as a comparable list or scalar."""
    if isinstance(value, str) and "," in value:
        value = value.split(",")
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def _is_list(key: str) -> bool:
    node = SCHEMA
    for part in key.split("."):
        node = node["properties"][part]
    return node.get("type") == "array"


@pytest.mark.parametrize("command,dest,key", PAIRS, ids=[f"{c}--{d}" for c, d, _ in PAIRS])
def test_cli_default_equals_schema_default(command, dest, key):
    parser = _subparsers()[command]
    cli_default = parser.get_default(dest)
    schema_default = _schema_default(key)
    assert schema_default is not None, f"{key}: no default in the schema"
    cli_value = _normal(cli_default)
    if _is_list(key) and not isinstance(cli_value, list):  # a one-value CLI string
        cli_value = [cli_value]
    assert cli_value == _normal(schema_default), f"dlgeom {command} --{dest.replace('_', '-')} vs {key}"
