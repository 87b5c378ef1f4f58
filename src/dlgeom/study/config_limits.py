"""Limits on a study config that keep a hostile or careless config from exhausting memory or time
before the first job runs, and the checks of its YAML files that a YAML loader does not make.

The workflow (``workflow/rules/common.smk``) calls, before and after
:func:`dlgeom.study.config.validate_config`:

* :func:`check_config_files` on every config file: at most :data:`MAX_CONFIG_BYTES` bytes, at most
  :data:`MAX_CONFIG_VALUES` values once YAML aliases are expanded (an alias bomb of a few hundred
  bytes expands to billions), no key twice in one mapping (YAML loaders keep the last silently),
  and no YTE templating (``__use_yte__``: Snakemake renders such a file by running the Python in
  it before dlgeom sees it; config files are trusted input, and a study never uses such a file);
* :func:`check_config_size` on the loaded config (also the values given with ``--config``);
* :func:`check_config_limits` on the validated config: no control characters in any key or
  string (a name with a trailing newline), no dataset path that a command would read as an option,
  at most :data:`MAX_LIST_ITEMS` values in a list outside the grid, and at most :data:`MAX_CELLS`
  grid cells (``max_cells`` in the config raises it on purpose).

Every error is one line naming the file or the key.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..validation import DlgeomInputError

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_CONFIG_VALUES",
    "MAX_CELLS",
    "MAX_LIST_ITEMS",
    "check_config_files",
    "check_config_size",
    "check_config_limits",
    "count_values",
]

#: Bytes of one config file.
MAX_CONFIG_BYTES = 1 << 20
#: Values (mappings, lists and scalars, counted once per place they appear) of a config once its
#: YAML aliases are expanded.  The default config has about 400; the paper's about 450.
MAX_CONFIG_VALUES = 100_000
#: Items of any other list of the config (robustness axes, λ values, probe radii, ...): each item is
#: about one job or one row, and the repository's configs have at most 21.
MAX_LIST_ITEMS = 1000
#: Lists bounded by the number of cells instead (their product is the grid).
_GRID_LISTS = {("grid", "Q"), ("grid", "theta"), ("grid", "delta_ratio")}
#: Cells of the grid (synthetic cells and user datasets × shrink factors); each is a few jobs.
#: The default study has 152.  A config key ``max_cells`` sets another limit on purpose.
MAX_CELLS = 2000

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _path(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


def _node_values(node, memo: dict, limit: int) -> int:
    """Values below a composed YAML node with every alias expanded (memoised per node: linear in
    the file, whatever the expansion); stops counting once above ``limit``."""
    import yaml

    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = limit + 1  # a node that contains itself expands without end
    total = 1
    if isinstance(node, yaml.MappingNode):
        children = [n for pair in node.value for n in pair]
    elif isinstance(node, yaml.SequenceNode):
        children = node.value
    else:
        children = []
    for child in children:
        total += _node_values(child, memo, limit)
        if total > limit:
            break
    memo[key] = total
    return total


def _duplicate_key(node, parts=(), seen=None):
    """(key path, line) of the first key that appears twice in one mapping, or None."""
    import yaml

    seen = set() if seen is None else seen
    if id(node) in seen:
        return None
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys = {}
        for k, v in node.value:
            name = k.value if isinstance(k, yaml.ScalarNode) else repr(k.value)
            if name in keys:
                return _path((*parts, name)), k.start_mark.line + 1, keys[name]
            keys[name] = k.start_mark.line + 1
            found = _duplicate_key(v, (*parts, name), seen)
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            found = _duplicate_key(v, (*parts, i), seen)
            if found:
                return found
    return None


def check_config_files(paths) -> None:
    """Each config file: size, expanded size, duplicate keys, no YTE (see the module docstring)."""
    import yaml

    for path in paths:
        path = Path(path)
        try:
            size = path.stat().st_size
        except OSError:
            continue  # Snakemake itself reports a missing config file
        if size > MAX_CONFIG_BYTES:
            raise DlgeomInputError(f"{path}: {size:,} bytes; a config file may have at most {MAX_CONFIG_BYTES:,}")
        try:
            node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
            raise DlgeomInputError(f"{path}: not a YAML or JSON file ({' '.join(str(exc).split())})") from None
        if node is None:
            continue
        values = _node_values(node, {}, MAX_CONFIG_VALUES)
        if values > MAX_CONFIG_VALUES:
            raise DlgeomInputError(
                f"{path}: more than {MAX_CONFIG_VALUES:,} values once its YAML aliases are "
                "expanded; a config lists values, it does not multiply them"
            )
        dup = _duplicate_key(node)
        if dup:
            key, line, first = dup
            raise DlgeomInputError(
                f"{path}: config key '{key}' appears twice (lines {first} and {line}); give each key once"
            )
        if isinstance(node, yaml.MappingNode) and any(
            isinstance(k, yaml.ScalarNode) and k.value == "__use_yte__" for k, _ in node.value
        ):
            raise DlgeomInputError(
                f"{path}: uses YTE templating (__use_yte__), which runs the code in the file; a "
                "study config holds plain values only (config files are trusted input)"
            )


def count_values(value, memo: dict | None = None, limit: int = MAX_CONFIG_VALUES) -> int:
    """Values of a loaded config (dicts, lists and scalars), shared objects counted at every place
    they appear (as they would be walked), in time linear in the distinct objects."""
    memo = {} if memo is None else memo
    if not isinstance(value, (dict, list, tuple)):
        return 1
    key = id(value)
    if key in memo:
        return memo[key]
    memo[key] = limit + 1  # a container that contains itself
    total = 1
    for child in value.values() if isinstance(value, dict) else value:
        total += count_values(child, memo, limit)
        if total > limit:
            break
    memo[key] = total
    return total


def check_config_size(config) -> None:
    """The loaded config has at most :data:`MAX_CONFIG_VALUES` values (aliases expanded)."""
    if count_values(config) > MAX_CONFIG_VALUES:
        raise DlgeomInputError(
            f"config: more than {MAX_CONFIG_VALUES:,} values once YAML aliases are expanded; "
            "a config lists values, it does not multiply them"
        )


def _reject_control_characters(value, parts=()) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str) and _CONTROL.search(k):
                raise DlgeomInputError(f"config key '{_path(parts)}': key {k!r} contains a control character")
            _reject_control_characters(v, (*parts, k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _reject_control_characters(v, (*parts, i))
    elif isinstance(value, str) and _CONTROL.search(value):
        raise DlgeomInputError(
            f"config key '{_path(parts)}': {value!r} contains a control character "
            "(a newline, tab, ...); names and paths are one plain line"
        )


def _check_list_lengths(value, parts=()) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _check_list_lengths(v, (*parts, k))
    elif isinstance(value, list):
        grid = parts in _GRID_LISTS or (len(parts) == 3 and parts[0] == "datasets" and parts[2] == "shrink")
        if len(value) > MAX_LIST_ITEMS and not grid:
            raise DlgeomInputError(
                f"config key '{_path(parts)}': {len(value):,} values; a list may hold at most {MAX_LIST_ITEMS:,}"
            )
        for i, v in enumerate(value):
            _check_list_lengths(v, (*parts, i))


def check_config_limits(cfg: dict) -> None:
    """The validated config: no control characters, no dataset path starting with '-', and at most
    ``cfg['max_cells']`` (default :data:`MAX_CELLS`) grid cells."""
    _reject_control_characters(cfg)
    _check_list_lengths(cfg)
    for i, entry in enumerate(cfg.get("datasets", [])):
        if str(entry.get("path", "")).startswith("-"):
            raise DlgeomInputError(
                f"config key 'datasets[{i}].path': {entry['path']!r} starts with '-', which a "
                "command reads as an option; give an absolute path or rename the file"
            )
    limit = cfg.get("max_cells", MAX_CELLS)
    g = cfg["grid"]
    n_q3 = sum(1 for q in g["Q"] if q != 2)
    cells = ((len(g["Q"]) - n_q3) + n_q3 * len(g["theta"])) * len(g["delta_ratio"]) + sum(
        len(d["shrink"]) for d in cfg.get("datasets", [])
    )
    if cells > limit:
        raise DlgeomInputError(
            f"config: the grid has {cells:,} cells (a few jobs each); at most {limit:,} are allowed "
            "(set config key 'max_cells' to allow more on purpose)"
        )
