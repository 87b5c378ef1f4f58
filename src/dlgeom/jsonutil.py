"""JSON helpers: plain types only, non-finite floats as strings, atomic writes."""

from __future__ import annotations

import json
import os
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
    """Write ``obj`` as indented JSON via a temporary file and rename (never a partial file)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as fh:
        json.dump(jsonable(obj), fh, indent=2, sort_keys=False)
        fh.write("\n")
    os.replace(tmp, path)
    return path
