"""The configuration reference, generated from the JSON schema: ``docs/config.md``.

Every key of ``workflow/schemas/config.schema.yaml`` with its type, default, limits and
description, one table per top-level section.  Regenerate after editing the schema with

    python -m dlgeom.study.config_docs            # writes docs/config.md
    python -m dlgeom.study.config_docs --check    # exit 1 if docs/config.md is out of date

The test suite fails when ``docs/config.md`` differs from the generated text.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SchemaKey", "schema_keys", "render_config_reference", "main"]

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
REFERENCE = ROOT / "docs" / "config.md"

_LIMITS = [
    ("minimum", "≥ {}"),
    ("exclusiveMinimum", "> {}"),
    ("maximum", "≤ {}"),
    ("exclusiveMaximum", "< {}"),
    ("minItems", "at least {} item(s)"),
    ("minLength", "at least {} character(s)"),
    ("maxLength", "at most {} characters"),
    ("pattern", "matches `{}`"),
]


@dataclass(frozen=True)
class SchemaKey:
    """One key of the schema: dotted path (``datasets[].name``), type, default, limits, description."""

    path: str
    type: str
    default: str
    limits: str
    description: str


def _value(v) -> str:
    """A default as compact YAML-like flow text."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, float) and v != 0 and not 1e-3 <= abs(v) < 1e4:
        return format(v, "g")  # 1e-10, 1e+06 rather than 1e-10, 1000000.0
    return json.dumps(v)


def _type(node: dict) -> str:
    if "anyOf" in node or "oneOf" in node:
        return " or ".join(_type(n) for n in node.get("anyOf", node.get("oneOf")))
    t = node.get("type", "any")
    if isinstance(t, list):
        return " or ".join(_type({**node, "type": x}) for x in t)
    if t == "array":
        return f"list of {_type(node.get('items', {}))}"
    if t == "object" and "additionalProperties" in node and isinstance(node["additionalProperties"], dict):
        return f"mapping to {_type(node['additionalProperties'])}"
    if t == "string" and "enum" in node:
        return "string"
    return t


def _limits(node: dict, required: bool) -> str:
    parts = ["required"] if required else []
    for name, fmt in _LIMITS:
        if name in node:
            parts.append(fmt.format(_value(node[name])))
    if "enum" in node:
        parts.append("one of " + ", ".join(f"`{_value(e)}`" for e in node["enum"]))
    for key in ("items", "additionalProperties"):
        sub = node.get(key)
        if isinstance(sub, dict):
            inner = _limits(sub, False)
            if inner:
                parts.append(f"each {inner}")
    alts = node.get("anyOf", node.get("oneOf", []))
    if alts:
        parts.append(" or ".join(_alternative(alt) for alt in alts))
    return "; ".join(parts)


def _alternative(node: dict) -> str:
    r"""One branch of anyOf/oneOf: ``number > 0``, ``\`regular\```."""
    if "enum" in node:
        return ", ".join(f"`{_value(e)}`" for e in node["enum"])
    limits = _limits(node, False)
    return f"{_type(node)} {limits}" if limits else _type(node)


def schema_keys(schema: dict) -> list[SchemaKey]:
    """Every key of the schema, depth first in schema order."""
    out: list[SchemaKey] = []

    def walk(node: dict, prefix: str, parent_default):
        required = set(node.get("required", []))
        for name, sub in node.get("properties", {}).items():
            path = f"{prefix}.{name}" if prefix else name
            if "default" in sub:
                default = _value(sub["default"])
            elif isinstance(parent_default, dict) and name in parent_default:
                default = _value(parent_default[name]) + " (from the parent's default)"
            else:
                default = "—"
            if sub.get("type") == "object" and "properties" in sub and sub.get("default") == {}:
                default = "{} (every key at its default)"
            out.append(
                SchemaKey(
                    path,
                    _type(sub),
                    default,
                    _limits(sub, name in required),
                    " ".join(str(sub.get("description", "")).split()),
                )
            )
            if sub.get("type") == "object" and "properties" in sub:
                walk(sub, path, sub.get("default"))
            items = sub.get("items", {})
            if sub.get("type") == "array" and isinstance(items, dict) and "properties" in items:
                walk(items, path + "[]", None)

    walk(schema, "", None)
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_config_reference(schema: dict) -> str:
    """The Markdown text of docs/config.md."""
    keys = schema_keys(schema)
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated by `python -m dlgeom.study.config_docs` from workflow/schemas/config.schema.yaml;",
        "     do not edit by hand (a test fails when this file differs from the schema). -->",
        "",
        " ".join(str(schema.get("description", "")).split()),
        "",
        "Every key is optional unless marked *required*: a missing key takes the default shown here. "
        "A config is validated against the schema before any job runs, and an invalid one stops the "
        "workflow with one line per error (all of them at once), each naming the key. Some keys "
        "have further checks beyond the limits "
        "listed here (for example θ values must be reachable for every Q of the grid); their "
        "messages name the key and the allowed values. See config/README.md for examples.",
        "",
    ]
    objects = {k.path for k in keys if "." not in k.path and k.type in ("object", "list of object")}
    sections: dict[str, list[SchemaKey]] = {}
    for key in keys:
        top = key.path.split(".")[0].split("[")[0]
        sections.setdefault(top if top in objects else "", []).append(key)
    header = ["| key | type | default | limits | description |", "|---|---|---|---|---|"]
    for section, rows in sections.items():
        lines += [f"## `{section}`" if section else "## Top-level keys", ""]
        lines += header
        for k in rows:
            lines.append(
                f"| `{k.path}` | {_cell(k.type)} | `{_cell(k.default)}` | {_cell(k.limits)} | {_cell(k.description)} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    import yaml

    p = argparse.ArgumentParser(prog="python -m dlgeom.study.config_docs", description=__doc__.split("\n")[0])
    p.add_argument("--schema", default=str(SCHEMA), help="the JSON schema (YAML)")
    p.add_argument("--out", default=str(REFERENCE), help="the Markdown file to write or check")
    p.add_argument("--check", action="store_true", help="only check that --out is up to date")
    args = p.parse_args(argv)
    text = render_config_reference(yaml.safe_load(Path(args.schema).read_text(encoding="utf-8")))
    out = Path(args.out)
    if args.check:
        if not out.exists() or out.read_text(encoding="utf-8") != text:
            print(f"{out}: out of date; run python -m dlgeom.study.config_docs", file=sys.stderr)
            return 1
        return 0
    from ..safe_write import open_output

    out.parent.mkdir(parents=True, exist_ok=True)
    with open_output(out, "w") as fh:  # a private temporary file, renamed in
        fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
