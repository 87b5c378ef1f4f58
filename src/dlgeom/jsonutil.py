"""JSON helpers: plain types only, non-finite floats as strings, safe atomic writes."""

from __future__ import annotations

import json
from contextlib import contextmanager
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
    """Write ``obj`` as indented JSON through :func:`dlgeom.safe_write.open_output` (a private
    temporary file renamed into place: never a partial file, never a followed symlink).

    A dict gets the running command's settings stamp (if any) under ``"settings"``."""
    from .safe_write import open_output

    path = Path(path)
    if isinstance(obj, dict) and _STAMP and "settings" not in obj:
        obj = {**obj, "settings": _STAMP[0]}
    text = json.dumps(jsonable(obj), indent=2, sort_keys=False, allow_nan=False) + "\n"
    with open_output(path, "w") as fh:
        fh.write(text)
    return path


def read_json(path, what: str, made_by: str) -> dict:
    """The JSON object in ``path``; a one-line :class:`DlgeomInputError` naming ``what`` (the
    argument) and the file when it is missing, not JSON, or not an object."""
    from .validation import DlgeomInputError, not_a_file_reason

    why = not_a_file_reason(path)  # a FIFO or device would block or never end: named, not read
    if why == "no such file":
        raise DlgeomInputError(f"{what}: no such file: {path}")
    if why:
        raise DlgeomInputError(f"{what}: {path} {why}")
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DlgeomInputError(f"{what}: no such file: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DlgeomInputError(f"{what}: {path} is not a readable JSON file ({exc})") from None
    if not isinstance(doc, dict):
        raise DlgeomInputError(f"{what}: {path} is not a result of {made_by} (a JSON object expected)")
    return doc


@contextmanager
def malformed(path, what: str, made_by: str):
    """Turn a missing key or a wrong type while reading ``path`` into a one-line
    :class:`DlgeomInputError` naming the file and the command that makes such files."""
    from .validation import DlgeomInputError

    try:
        yield
    except DlgeomInputError:
        raise
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as exc:
        detail = f"missing key {exc}" if isinstance(exc, KeyError) else f"{type(exc).__name__}: {exc}"
        raise DlgeomInputError(f"{what}: {path} is not a result of {made_by} ({detail})") from None
