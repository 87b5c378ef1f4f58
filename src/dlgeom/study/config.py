"""Study configuration: validation against the JSON schema (with defaults), semantic checks,
and the expansion of the grid into cells.  Pure Python: the Snakefile calls it, so does pytest.

Every error is one line, ``config key 'grid.theta[2]': …``; all the errors of a config are raised
together (ConfigErrors, a DlgeomInputError) before any job runs.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..validation import ConfigErrors, DlgeomInputError, check_coordinate_range
from .jobs import Cell, cell_ids, fmt_value  # noqa: F401  (the grid's cells and keys, named here too)

MAX_Q = 10  # 2^Q patterns per cell


def _jsonschema_with_defaults():
    from jsonschema import Draft202012Validator, validators

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from Draft202012Validator.VALIDATORS["properties"](validator, properties, instance, schema)

    return validators.extend(Draft202012Validator, {"properties": set_defaults})


def _path(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top level)"


_KEY = re.compile(r"^config key '([^']*)'")


def _related(a: str, b: str) -> bool:
    """Whether two key paths are the same key or one lies inside the other."""
    short, long = sorted((a, b), key=len)
    return long == short or long.startswith(short + ".") or long.startswith(short + "[")


class _Errors:
    """Collects the errors of one config (one line each, in order, no repeats).  A semantic error
    of a key that already has a schema error (or lies inside or around one) is left out: it says
    the same thing again."""

    def __init__(self):
        self.lines: list[str] = []
        self.schema_keys: list[str] = []

    def add(self, message: str) -> None:
        message = " ".join(str(message).split())
        m = _KEY.match(message)
        if m and any(_related(m.group(1), k) for k in self.schema_keys):
            return
        if message not in self.lines:
            self.lines.append(message)

    @contextmanager
    def check(self):
        """Run one independent check: its DlgeomInputError is collected; any other exception
        is a consequence of a schema error already collected (a value of the wrong type)."""
        try:
            yield
        except DlgeomInputError as exc:
            for line in exc.lines if isinstance(exc, ConfigErrors) else [str(exc)]:
                self.add(line)
        except (TypeError, KeyError, ValueError, AttributeError, IndexError):
            if not self.schema_keys:
                raise

    def raise_if_any(self) -> None:
        if self.lines:
            raise ConfigErrors(self.lines)


def _nonfinite(value, parts=()):
    """``.inf``, ``-.inf`` and ``.nan`` are refused anywhere in the config, naming the key
    (JSON schema's bounds do not catch NaN, and infinity passes every minimum)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _nonfinite(v, (*parts, k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _nonfinite(v, (*parts, i))
    elif isinstance(value, float) and not math.isfinite(value):
        yield f"config key '{_path(parts)}': must be a finite number, got {value}"


def _types(schema: dict) -> set:
    t = schema.get("type")
    return set(t) if isinstance(t, list) else ({t} if t else set())


def _normalise(value, schema: dict):
    """Normalise ``value`` by its (already validated) schema: an integral float where the schema
    wants an integer becomes an int (``2.0`` -> ``2``), an int where it wants a number becomes a
    float (``1`` -> ``1.0``), so that values differing only in spelling are the same value and
    name the same cell."""
    if isinstance(value, bool) or not isinstance(schema, dict):
        return value
    for alt in ("anyOf", "oneOf"):
        if alt in schema:
            for sub in schema[alt]:
                if isinstance(value, (int, float)) and _types(sub) & {"integer", "number"}:
                    return _normalise(value, sub)
            return value
    types = _types(schema)
    if isinstance(value, float) and "integer" in types and "number" not in types and value.is_integer():
        return int(value)
    if isinstance(value, int) and "number" in types:
        return float(value)
    if isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        return {k: _normalise(v, props.get(k, extra if isinstance(extra, dict) else {})) for k, v in value.items()}
    if isinstance(value, list):
        items = schema.get("items", {})
        return [_normalise(v, items) for v in value]
    return value


def _duplicates(value, parts=()):
    """Every list of values holds distinct values (after normalisation: ``1`` and ``1.0`` are the
    same value); a repeated value would make a repeated cell or row."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _duplicates(v, (*parts, k))
    elif isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            seen = {}
            for i, v in enumerate(value):
                key = (type(v).__name__, repr(v))
                if key in seen:
                    yield (
                        f"config key '{_path((*parts, i))}': {v!r} repeats {_path((*parts, seen[key]))}; "
                        "values must be distinct"
                    )
                else:
                    seen[key] = i
        else:
            for i, v in enumerate(value):
                yield from _duplicates(v, (*parts, i))


def load_schema(path) -> dict:
    import yaml

    return yaml.safe_load(Path(path).read_text())


def _is_set(config, dotted: str) -> bool:
    node = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def follow_grid(cfg: dict, explicit: dict) -> None:
    """Make the grid-dependent keys that ``explicit`` (what the user wrote) does not set follow the
    grid of ``cfg`` (validated, defaults filled), in place: ``landscape.cells`` not in the grid and
    ``robustness.optimisers.points.<axis>`` values not among that axis's values are dropped; a
    ``figures.curation_Q`` / ``curation_delta_ratio`` not in the grid is replaced by its default
    (the largest Q; δ-ratio 0.1 if in the grid, else the smallest).  Values the user set are left
    alone and checked strictly."""
    grid = cfg["grid"]
    if not _is_set(explicit, "landscape.cells"):
        keys = {c.key for c in expand_grid({"grid": grid, "datasets": []})}
        cfg["landscape"]["cells"] = [c for c in cfg["landscape"]["cells"] if c in keys]
    fig = cfg["figures"]
    if not _is_set(explicit, "figures.curation_Q") and fig["curation_Q"] not in grid["Q"]:
        fig["curation_Q"] = None
    if not _is_set(explicit, "figures.curation_delta_ratio") and fig["curation_delta_ratio"] not in grid["delta_ratio"]:
        fig["curation_delta_ratio"] = None
    rob = cfg["robustness"]
    from .robustness_axes import parse_axis_value

    def on_axis(axis, v):
        try:
            return str(parse_axis_value(axis, v)) in {str(parse_axis_value(axis, x)) for x in rob["axes"].get(axis, [])}
        except DlgeomInputError:
            return False

    # each axis of the training points on its own (config files are merged key by key)
    points = rob["optimisers"]["points"]
    rob["optimisers"]["points"] = {
        axis: values
        if _is_set(explicit, f"robustness.optimisers.points.{axis}")
        else [v for v in values if on_axis(axis, v)]
        for axis, values in points.items()
    }


def validate_config(config: dict, schema: dict, base_dir=".", explicit: dict | None = None) -> dict:
    """Return a validated copy of ``config`` with defaults filled in.

    ``explicit`` is what the user wrote (for the workflow: the ``--configfile`` files and
    ``--config`` values merged; by default ``config`` itself).  Grid-dependent keys it does not
    set follow the grid (:func:`follow_grid`); those it sets must fit the grid.

    Every error is collected, one line each naming the key, and all are raised together as
    :class:`ConfigErrors` (a :class:`DlgeomInputError`): schema errors and the semantic checks
    below, Q in 2..10, δ-ratios > 0, θ in (0, 2π) and reachable for every Q ≥ 3 of the grid,
    layer offsets ≥ 0 (L ≥ Q), and every user dataset readable, in the paper's format.
    """
    if not isinstance(config, dict):
        raise DlgeomInputError("config: expected a mapping of keys to values")
    errs = _Errors()
    for line in _nonfinite(config):
        errs.add(line)
    errs.raise_if_any()
    explicit = config if explicit is None else explicit
    cfg = copy.deepcopy(config)
    # two passes: the second fills defaults inside objects that were themselves defaulted
    for _ in range(2):
        validator = _jsonschema_with_defaults()(schema)
        errors = sorted(validator.iter_errors(cfg), key=lambda e: (len(e.path), list(map(str, e.path))))
    for e in errors:
        errs.add(f"config key '{_path(e.path)}': {e.message}")
        errs.schema_keys.append(_path(e.path))
    # one typed value per key: 2.0 -> 2 for integers, 1 -> 1.0 for numbers; then no duplicates
    cfg = _normalise(cfg, schema)
    for line in _duplicates(cfg):  # a repeated value breaks its key like a schema error
        errs.add(line)
        errs.schema_keys.append(_KEY.match(line).group(1))
    # a key that depends on a broken grid (or robustness axes) is not checked against it
    grid_ok = not any(_related(k, "grid") for k in errs.schema_keys)
    axes_ok = not any(_related(k, "robustness.axes") or _related(k, "robustness.base") for k in errs.schema_keys)
    if grid_ok and axes_ok:
        with errs.check():
            follow_grid(cfg, explicit)
    with errs.check():
        _check_grid(cfg, errs)
    if grid_ok:
        with errs.check():
            _check_figures(cfg, errs)
        with errs.check():
            _check_landscape_cells(cfg, errs)
    with errs.check():
        _check_landscape(cfg, errs)
    with errs.check():
        _check_datasets(cfg, errs, base_dir)
    if axes_ok:
        with errs.check():
            from .robustness_run import validate_robustness_config

            validate_robustness_config(cfg)
    errs.raise_if_any()
    return cfg


def _check_grid(cfg: dict, errs: _Errors) -> None:
    from ..synthetic import max_cone_angle, regular_cone_angle

    grid = cfg["grid"]
    for i, q in enumerate(grid["Q"]):
        if not 2 <= q <= MAX_Q:
            errs.add(f"config key 'grid.Q[{i}]': Q must be in 2..{MAX_Q}, got {q}")
    for i, r in enumerate(grid["delta_ratio"]):
        if not r > 0:
            errs.add(f"config key 'grid.delta_ratio[{i}]': must be > 0, got {r}")
    for i, t in enumerate(grid["theta"]):
        if t == "regular":
            continue
        if not 0 < t < 2 * np.pi:
            errs.add(f"config key 'grid.theta[{i}]': must lie in (0, 2π) radians, got {t}")
            continue
        for q in grid["Q"]:
            if 3 <= q <= MAX_Q and not regular_cone_angle(q) <= t <= max_cone_angle(q):
                errs.add(
                    f"config key 'grid.theta[{i}]': {t} is not reachable for Q = {q}; allowed "
                    f"[{regular_cone_angle(q):.4f}, {max_cone_angle(q):.4f}] (or 'regular')"
                )
                break
    for i, off in enumerate(cfg["layers_offsets"]):
        if off < 0:
            errs.add(f"config key 'layers_offsets[{i}]': L = Q + {off} < Q, but the global construction needs L >= Q")
    for key in ("Q", "delta_ratio", "theta"):
        if len(set(map(str, grid[key]))) != len(grid[key]):
            errs.add(f"config key 'grid.{key}': values must be distinct")


def _check_figures(cfg: dict, errs: _Errors) -> None:
    grid, fig = cfg["grid"], cfg["figures"]
    if fig["curation_Q"] is None:  # default: the largest Q of the grid
        fig["curation_Q"] = max(grid["Q"])
    if fig["curation_delta_ratio"] is None:  # default: 0.1 when in the grid, else its smallest δ-ratio
        fig["curation_delta_ratio"] = 0.1 if 0.1 in grid["delta_ratio"] else min(grid["delta_ratio"])
    if fig["curation_Q"] not in grid["Q"]:
        errs.add(
            f"config key 'figures.curation_Q': {fig['curation_Q']} is not in grid.Q "
            f"{grid['Q']}; the curation figure shows a cell of the grid (leave it out to follow the grid)"
        )
    if fig["curation_delta_ratio"] not in grid["delta_ratio"]:
        errs.add(
            f"config key 'figures.curation_delta_ratio': {fig['curation_delta_ratio']} is not in "
            f"grid.delta_ratio {grid['delta_ratio']}; the curation figure shows a cell of the grid "
            "(leave it out to follow the grid)"
        )


def _check_landscape_cells(cfg: dict, errs: _Errors) -> None:
    grid_keys = sorted(c.key for c in expand_grid({"grid": cfg["grid"], "datasets": []}))
    for i, key in enumerate(cfg["landscape"]["cells"]):
        if key not in grid_keys:
            errs.add(
                f"config key 'landscape.cells[{i}]': {key!r} is not a synthetic cell of the grid "
                f"(e.g. {grid_keys[0]!r}; leave landscape.cells out to keep the cells that are in the grid)"
            )


def _check_landscape(cfg: dict, errs: _Errors) -> None:
    if cfg["patterns_engine"] == "fused":  # before any job starts: the compiled kernel is here
        from ..local_minima import fused_patterns_unavailable

        why = fused_patterns_unavailable()
        if why:
            errs.add(
                f"config key 'patterns_engine': 'fused' cannot run here: {why}; "
                "'batched' and 'sequential' need nothing compiled"
            )
    if cfg["landscape"]["engine"] == "fused":  # before any job starts: the compiled kernel is here
        from ..batched import fused_unavailable

        why = fused_unavailable()
        if why:
            errs.add(
                f"config key 'landscape.engine': 'fused' cannot run here: {why}; "
                "'batched' and 'sequential' need nothing compiled"
            )
    for name in cfg["landscape"]["optimiser_runs"]:
        if name not in cfg["landscape"]["optimisers"]:
            errs.add(
                f"config key 'landscape.optimiser_runs.{name}': {name} is not in "
                f"landscape.optimisers {cfg['landscape']['optimisers']}"
            )


def _check_datasets(cfg: dict, errs: _Errors, base_dir) -> None:
    from ..data import load_dataset

    names = [d["name"] for d in cfg["datasets"]]
    if len(set(names)) != len(names):
        errs.add("config key 'datasets': names must be distinct")
    for i, entry in enumerate(cfg["datasets"]):
        path = Path(entry["path"])
        if not path.is_absolute():
            path = Path(base_dir) / path
        for k, lam in enumerate(entry["shrink"]):
            if lam < 0:
                errs.add(f"config key 'datasets[{i}].shrink[{k}]': λ must be >= 0, got {lam}")
        try:
            data = load_dataset(path)
            check_coordinate_range(data.X, str(path))
        except DlgeomInputError as exc:
            errs.add(f"config key 'datasets[{i}].path': {exc}")
            continue
        if data.n_classes > MAX_Q:
            errs.add(f"config key 'datasets[{i}].path': Q = {data.n_classes} > {MAX_Q}")
            continue
        smallest = int(data.counts.min())
        if smallest * min(entry["test_fraction"], 1 - entry["test_fraction"]) < 1 or smallest < 4:
            errs.add(
                f"config key 'datasets[{i}].path': class sizes down to {smallest} are too small to split "
                f"with test_fraction {entry['test_fraction']} (need >= 2 training and >= 1 test point per class)"
            )
            continue
        entry["path"] = str(path)


def expand_grid(cfg: dict) -> list[Cell]:
    """Every cell of the study: Q = 2 with θ = 'regular' only, Q ≥ 3 with every θ; then the
    user datasets at every shrink factor."""
    cells = []
    g = cfg["grid"]
    for q in g["Q"]:
        thetas = ["regular"] if q == 2 else g["theta"]
        for t in thetas:
            for r in g["delta_ratio"]:
                key = f"Q{q}/theta{fmt_value(t)}/r{fmt_value(r)}"
                cells.append(Cell(key, "synthetic", q, fmt_value(t), fmt_value(r)))
    for d in cfg["datasets"]:
        for lam in d["shrink"]:
            key = f"user/{d['name']}/lambda{fmt_value(lam)}"
            cells.append(Cell(key, "user", None, "", "", d["name"], fmt_value(lam), d["path"], d["test_fraction"]))
    return cells


def config_hash(cfg: dict) -> str:
    """sha256 of the validated config as canonical JSON (first 16 hex digits)."""
    return hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:16]
