"""Argument types of the command line, shared by :mod:`dlgeom.cli` and the study's subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path


def int_list(text: str) -> list[int]:
    """``"1,2,3"`` → ``[1, 2, 3]``."""
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer or comma-separated integers, got {text!r}") from None


def float_list(text: str) -> list[float]:
    """``"0.1,1e-3"`` → ``[0.1, 0.001]``."""
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def theta0(text: str):
    """``--theta0``: a number (radians) or a rule name ('midpoint', 'open_box')."""
    if text in ("midpoint", "open_box"):
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number in (0, pi), 'midpoint' or 'open_box', got {text!r}"
        ) from None


def check_json_out(path: str, suffix: str = ".json") -> None:
    """``--out`` of a study step: the right suffix, in an existing directory (one-line error)."""
    from .validation import DlgeomInputError

    if not str(path).endswith(suffix):
        raise DlgeomInputError(f"--out: must end in {suffix}, got {path!r}")
    if not Path(path).parent.is_dir():
        raise DlgeomInputError(f"--out: directory {str(Path(path).parent)!r} does not exist")


def check_inputs_exist(paths, flag: str) -> None:
    """Input files of a step: a one-line error naming ``flag``, the number missing and one of them."""
    from .validation import DlgeomInputError, not_a_file_reason

    bad = [(p, why) for p in paths if (why := not_a_file_reason(p))]
    missing = [p for p, why in bad if why == "no such file"]
    if missing:
        raise DlgeomInputError(f"{flag}: {len(missing)} file(s) missing, e.g. {missing[0]}")
    if bad:
        raise DlgeomInputError(f"{flag}: {bad[0][0]} {bad[0][1]}")


def check_out_dir(path) -> Path:
    """``--out-dir`` of a step that writes tables: its parent directory exists (one-line error)."""
    from .validation import DlgeomInputError

    out = Path(path)
    if not out.parent.is_dir():
        raise DlgeomInputError(f"--out-dir: parent directory {str(out.parent)!r} does not exist")
    return out
