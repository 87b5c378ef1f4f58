"""JSON helpers: plain types only, non-finite floats as strings, safe atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def jsonable(obj):
    """Convert numpy scalars/arrays and dataclass dicts to plain JSON types.

    Non-finite floats become the strings ``"inf"``, ``"-inf"`` or ``"nan"`` so the output stays
    standard JSON."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return x if np.isfinite(x) else str(x)
    return obj


def write_json(obj, path) -> Path:
    """Write ``obj`` as indented JSON through :func:`dlgeom.safe_write.open_output` (a private
    temporary file renamed into place: never a partial file, never a followed symlink)."""
    from .safe_write import open_output

    path = Path(path)
    text = json.dumps(jsonable(obj), indent=2, sort_keys=False, allow_nan=False) + "\n"
    with open_output(path, "w") as fh:
        fh.write(text)
    return path
