"""Study configuration: validation against the JSON schema (with defaults), semantic checks,
and the expansion of the grid into cells.  Pure Python: the Snakefile calls it, so does pytest.

Every error is one line, ``config key 'grid.theta[2]': …``, raised as DlgeomInputError before any
job runs.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..validation import DlgeomInputError, check_coordinate_range

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


def _reject_nonfinite(value, parts=()) -> None:
    """``.inf``, ``-.inf`` and ``.nan`` are refused anywhere in the config, naming the key
    (JSON schema's bounds do not catch NaN, and infinity passes every minimum)."""
    if isinstance(value, dict):
        for k, v in value.items():
            _reject_nonfinite(v, (*parts, k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _reject_nonfinite(v, (*parts, i))
    elif isinstance(value, float) and not math.isfinite(value):
        raise DlgeomInputError(f"config key '{_path(parts)}': must be a finite number, got {value}")


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


def _reject_duplicates(value, parts=()) -> None:
    """Every list of values holds distinct values (after normalisation: ``1`` and ``1.0`` are the
    same value); a repeated value would make a repeated cell or row."""
    if isinstance(value, dict):
        for k, v in value.items():
            _reject_duplicates(v, (*parts, k))
    elif isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            seen = {}
            for i, v in enumerate(value):
                key = (type(v).__name__, repr(v))
                if key in seen:
                    raise DlgeomInputError(
                        f"config key '{_path((*parts, i))}': {v!r} repeats {_path((*parts, seen[key]))}; "
                        "values must be distinct")
                seen[key] = i
        else:
            for i, v in enumerate(value):
                _reject_duplicates(v, (*parts, i))


def load_schema(path) -> dict:
    import yaml

    return yaml.safe_load(Path(path).read_text())


def validate_config(config: dict, schema: dict, base_dir=".") -> dict:
    """Return a validated copy of ``config`` with defaults filled in.

    Schema errors and the semantic checks below raise :class:`DlgeomInputError` with one line
    naming the key: Q in 2..10, δ-ratios > 0, θ in (0, 2π) and reachable for every Q ≥ 3 of the
    grid, layer offsets ≥ 0 (L ≥ Q), and every user dataset readable, in the paper's format.
    """
    if not isinstance(config, dict):
        raise DlgeomInputError("config: expected a mapping of keys to values")
    _reject_nonfinite(config)
    cfg = copy.deepcopy(config)
    # grid/figures defaults must exist before their own properties' defaults are filled
    validator = _jsonschema_with_defaults()(schema)
    errors = sorted(validator.iter_errors(cfg), key=lambda e: (len(e.path), list(map(str, e.path))))
    if errors:
        e = errors[0]
        raise DlgeomInputError(f"config key '{_path(e.path)}': {e.message}")
    # second pass fills defaults inside objects that were themselves defaulted
    validator = _jsonschema_with_defaults()(schema)
    for e in validator.iter_errors(cfg):  # pragma: no cover - first pass already passed
        raise DlgeomInputError(f"config key '{_path(e.path)}': {e.message}")
    # one typed value per key: 2.0 -> 2 for integers, 1 -> 1.0 for numbers; then no duplicates
    cfg = _normalise(cfg, schema)
    _reject_duplicates(cfg)

    from ..synthetic import max_cone_angle, regular_cone_angle

    grid = cfg["grid"]
    for i, q in enumerate(grid["Q"]):
        if not 2 <= q <= MAX_Q:
            raise DlgeomInputError(f"config key 'grid.Q[{i}]': Q must be in 2..{MAX_Q}, got {q}")
    for i, r in enumerate(grid["delta_ratio"]):
        if not r > 0:
            raise DlgeomInputError(f"config key 'grid.delta_ratio[{i}]': must be > 0, got {r}")
    for i, t in enumerate(grid["theta"]):
        if t == "regular":
            continue
        if not 0 < t < 2 * np.pi:
            raise DlgeomInputError(f"config key 'grid.theta[{i}]': must lie in (0, 2π) radians, got {t}")
        for q in grid["Q"]:
            if q >= 3 and not regular_cone_angle(q) <= t <= max_cone_angle(q):
                raise DlgeomInputError(
                    f"config key 'grid.theta[{i}]': {t} is not reachable for Q = {q}; allowed "
                    f"[{regular_cone_angle(q):.4f}, {max_cone_angle(q):.4f}] (or 'regular')"
                )
    for i, off in enumerate(cfg["layers_offsets"]):
        if off < 0:
            raise DlgeomInputError(
                f"config key 'layers_offsets[{i}]': L = Q + {off} < Q, but the global construction needs L >= Q")
    for key in ("Q", "delta_ratio", "theta"):
        if len(set(map(str, grid[key]))) != len(grid[key]):
            raise DlgeomInputError(f"config key 'grid.{key}': values must be distinct")
    fig = cfg["figures"]
    if fig["curation_Q"] is None:          # default: the largest Q of the grid
        fig["curation_Q"] = max(grid["Q"])
    if fig["curation_delta_ratio"] is None:  # default: 0.1 when in the grid, else its smallest δ-ratio
        fig["curation_delta_ratio"] = 0.1 if 0.1 in grid["delta_ratio"] else min(grid["delta_ratio"])
    if fig["curation_Q"] not in grid["Q"]:
        raise DlgeomInputError(f"config key 'figures.curation_Q': {fig['curation_Q']} is not in grid.Q "
                               f"{grid['Q']}; the curation figure shows a cell of the grid")
    if fig["curation_delta_ratio"] not in grid["delta_ratio"]:
        raise DlgeomInputError(f"config key 'figures.curation_delta_ratio': {fig['curation_delta_ratio']} is not in "
                               f"grid.delta_ratio {grid['delta_ratio']}; the curation figure shows a cell of the grid")
    grid_keys = {c.key for c in expand_grid(cfg)}
    for i, key in enumerate(cfg["landscape"]["cells"]):
        if key not in grid_keys or key.startswith("user/"):
            raise DlgeomInputError(
                f"config key 'landscape.cells[{i}]': {key!r} is not a synthetic cell of the grid "
                f"(e.g. {sorted(k for k in grid_keys if not k.startswith('user/'))[0]!r})")
    if cfg["patterns_engine"] == "fused":       # before any job starts: the compiled kernel is here
        from ..local_minima import fused_patterns_unavailable
        why = fused_patterns_unavailable()
        if why:
            raise DlgeomInputError(f"config key 'patterns_engine': 'fused' cannot run here: {why}; "
                                   "'batched' and 'sequential' need nothing compiled")
    if cfg["landscape"]["engine"] == "fused":   # before any job starts: the compiled kernel is here
        from ..batched import fused_unavailable
        why = fused_unavailable()
        if why:
            raise DlgeomInputError(f"config key 'landscape.engine': 'fused' cannot run here: {why}; "
                                   "'batched' and 'sequential' need nothing compiled")
    for name in cfg["landscape"]["optimiser_runs"]:
        if name not in cfg["landscape"]["optimisers"]:
            raise DlgeomInputError(f"config key 'landscape.optimiser_runs.{name}': {name} is not in "
                                   f"landscape.optimisers {cfg['landscape']['optimisers']}")
    names = [d["name"] for d in cfg["datasets"]]
    if len(set(names)) != len(names):
        raise DlgeomInputError("config key 'datasets': names must be distinct")
    from ..data import load_dataset

    for i, entry in enumerate(cfg["datasets"]):
        path = Path(entry["path"])
        if not path.is_absolute():
            path = Path(base_dir) / path
        for k, lam in enumerate(entry["shrink"]):
            if lam < 0:
                raise DlgeomInputError(f"config key 'datasets[{i}].shrink[{k}]': λ must be >= 0, got {lam}")
        try:
            data = load_dataset(path)
        except DlgeomInputError as exc:
            raise DlgeomInputError(f"config key 'datasets[{i}].path': {exc}") from None
        try:
            check_coordinate_range(data.X, str(path))
        except DlgeomInputError as exc:
            raise DlgeomInputError(f"config key 'datasets[{i}].path': {exc}") from None
        if data.n_classes > MAX_Q:
            raise DlgeomInputError(f"config key 'datasets[{i}].path': Q = {data.n_classes} > {MAX_Q}")
        smallest = int(data.counts.min())
        if smallest * min(entry["test_fraction"], 1 - entry["test_fraction"]) < 1 or smallest < 4:
            raise DlgeomInputError(
                f"config key 'datasets[{i}].path': class sizes down to {smallest} are too small to split "
                f"with test_fraction {entry['test_fraction']} (need >= 2 training and >= 1 test point per class)")
        entry["path"] = str(path)
    from .robustness_run import validate_robustness_config

    validate_robustness_config(cfg)
    return cfg


def fmt_value(v) -> str:
    """A grid value as it appears in paths: 'regular', integers as written, floats by repr."""
    return v if isinstance(v, str) else repr(v)


def cell_ids(key: str) -> list[int]:
    """Two stable 32-bit integers from a cell key (sha256, never Python's hash())."""
    digest = hashlib.sha256(key.encode()).digest()
    return [int.from_bytes(digest[0:4], "little"), int.from_bytes(digest[4:8], "little")]


@dataclass(frozen=True)
class Cell:
    """One job of the grid: a synthetic cell (Q, θ, r) or a user dataset at shrink λ."""

    key: str          # path fragment, e.g. 'Q3/theta2.2/r0.1' or 'user/iris/lambda0.5'
    kind: str         # 'synthetic' or 'user'
    Q: int | None
    theta: str
    delta_ratio: str
    name: str = ""
    shrink: str = ""
    path: str = ""
    test_fraction: float = 0.3

    @property
    def seed(self) -> list[int]:
        return cell_ids(self.key)

    def layers(self, offsets, q: int | None = None) -> list[int]:
        q = self.Q if q is None else q
        return [q + o for o in offsets]


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
            cells.append(Cell(key, "user", None, "", "", d["name"], fmt_value(lam), d["path"],
                              d["test_fraction"]))
    return cells


def config_hash(cfg: dict) -> str:
    """sha256 of the validated config as canonical JSON (first 16 hex digits)."""
    return hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:16]
