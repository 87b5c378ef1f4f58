"""Helpers shared by the stages' reports (``*_report.py``): the CSV format of every table, JSON's
non-finite floats restored, and how the numbers of the claims' evidence texts are shown (the
templates themselves are in :mod:`.evidence`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["FLOAT_FORMAT", "fmt", "frac", "restore_nonfinite", "write_csv"]

FLOAT_FORMAT = "%.10g"

_NONFINITE = {"inf": np.inf, "-inf": -np.inf, "nan": np.nan}


def restore_nonfinite(df: pd.DataFrame) -> pd.DataFrame:
    """JSON stores non-finite floats as 'inf'/'-inf'/'nan' strings; turn such columns back to floats."""
    for col in df.columns:
        if df[col].dtype == object:
            vals = df[col].dropna()
            if len(vals) and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) or v in _NONFINITE for v in vals
            ):
                df[col] = df[col].map(lambda v: _NONFINITE.get(v, v) if isinstance(v, str) else v).astype(float)
    return df


def fmt(x, digits=3) -> str:
    """A number of an evidence text: 3 significant digits, 'n/a' for None and NaN."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "n/a"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return f"{x:.{digits}g}"


def as_bool(s: pd.Series) -> pd.Series:
    """A column of flags read back from a CSV: True for True and the text 'True', False for
    everything else (False, 'False', missing)."""
    return s.map(lambda v: bool(v) if isinstance(v, (bool, np.bool_)) else str(v) == "True")


def frac(mask) -> str:
    """'k/n': how many of the cases in ``mask`` are true."""
    mask = np.asarray(mask, bool)
    return f"{int(mask.sum())}/{mask.size}"


def write_csv(df: pd.DataFrame, path) -> Path:
    """A table as CSV with the study's float format, atomically (temporary file, then rename)."""
    from ..safe_write import open_output

    path = Path(path)
    text = df.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    with open_output(path, "w") as fh:
        fh.write(text)
    return path
