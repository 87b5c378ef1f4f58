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


#: The settings stamp of the running command (``dlgeom --settings FILE …``), recorded in every
#: dict-valued JSON output under ``"settings"`` and in every provenance sidecar; None outside a study.
_STAMP: list = []


def set_settings_stamp(stamp) -> None:
    """Record ``stamp`` (a dict, a list of dicts, or None) in the outputs written from now on."""
    _STAMP[:] = [] if stamp is None else [stamp]


def settings_stamp():
    return _STAMP[0] if _STAMP else None


def write_json(obj, path) -> Path:
    """Write ``obj`` as indented JSON via a temporary file and rename (never a partial file).

    A dict gets the running command's settings stamp (if any) under ``"settings"``."""
    path = Path(path)
    if isinstance(obj, dict) and _STAMP and "settings" not in obj:
        obj = {**obj, "settings": _STAMP[0]}
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as fh:
        json.dump(jsonable(obj), fh, indent=2, sort_keys=False)
        fh.write("\n")
    os.replace(tmp, path)
    return path
