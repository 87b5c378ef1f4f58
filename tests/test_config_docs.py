"""docs/config.md is generated from the schema and up to date; every key is described."""

from pathlib import Path

import yaml

from dlgeom.study.config_docs import main, render_config_reference, schema_keys

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text(encoding="utf-8"))
# JSON-schema keywords the config schema may use; anything else is a typo (or a YAML flow mapping
# broken by an unquoted comma, which silently creates a bogus key)
KEYWORDS = {
    "minLength",
    "maxLength",
    "$schema",
    "title",
    "description",
    "type",
    "properties",
    "additionalProperties",
    "required",
    "default",
    "items",
    "minItems",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "enum",
    "pattern",
    "anyOf",
    "oneOf",
}


def _nodes(node, path="(root)"):
    yield path, node
    for name, sub in node.get("properties", {}).items():
        yield from _nodes(sub, f"{path}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            yield from _nodes(node[key], f"{path}.{key}")
    for key in ("anyOf", "oneOf"):
        for k, sub in enumerate(node.get(key, [])):
            yield from _nodes(sub, f"{path}.{key}[{k}]")


def test_docs_config_md_is_the_generated_reference():
    expected = render_config_reference(SCHEMA)
    actual = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    assert actual == expected, "docs/config.md is out of date: run python -m dlgeom.study.config_docs"


def test_every_key_has_a_description_and_appears_in_the_reference():
    keys = schema_keys(SCHEMA)
    assert len(keys) > 80
    assert [k.path for k in keys if not k.description] == []
    text = render_config_reference(SCHEMA)
    for k in keys:
        assert f"| `{k.path}` |" in text


def test_schema_uses_only_known_keywords():
    for path, node in _nodes(SCHEMA):
        assert set(node) <= KEYWORDS, f"{path}: unknown keys {sorted(set(node) - KEYWORDS)}"


def test_reference_shows_defaults_limits_and_inherited_defaults():
    rows = {k.path: k for k in schema_keys(SCHEMA)}
    assert rows["replicates"].default == "5" and rows["replicates"].limits == "≥ 1; ≤ 1000"
    assert rows["zero_cost"].default == "1e-10" and rows["zero_cost"].limits == "> 0; ≤ 1"
    assert rows["datasets[].name"].limits.startswith("required")
    assert rows["robustness.axes.noise"].default.startswith("[uniform, gaussian, anisotropic]")
    assert "one of `lbfgs`, `gd`, `adam`" in rows["landscape.optimisers"].limits


def test_check_mode_detects_a_stale_file(tmp_path):
    out = tmp_path / "config.md"
    assert main(["--out", str(out), "--check"]) == 1
    assert main(["--out", str(out)]) == 0
    assert main(["--out", str(out), "--check"]) == 0
    out.write_text(out.read_text(encoding="utf-8") + "edited\n", encoding="utf-8")
    assert main(["--out", str(out), "--check"]) == 1


def _merge(base: dict, extra: dict) -> dict:
    """Snakemake's --configfile merge: nested mappings key by key, other values replaced."""
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return out


def _readme_examples() -> list[dict]:
    text = (ROOT / "config" / "README.md").read_text(encoding="utf-8").split("## Examples", 1)[1]
    blocks, current = [], []
    for line in text.splitlines() + ["end"]:
        if line.startswith("    ") or (current and not line.strip()):
            current.append(line[4:])
        elif current:
            blocks.append("\n".join(current))
            current = []
    return [yaml.safe_load(b) for b in blocks if b.strip()]


def test_config_readme_examples_are_valid_configs():
    from dlgeom.study.config import load_schema, validate_config

    schema = load_schema(ROOT / "workflow" / "schemas" / "config.schema.yaml")
    default = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    examples = _readme_examples()
    assert len(examples) == 3
    for example in examples:
        for entry in example.get("datasets", []):
            entry["path"] = str(ROOT / "config" / "example_data" / "blobs.csv")
        validate_config(_merge(default, example), schema)
