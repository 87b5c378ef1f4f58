"""The installed libraries against the lower bounds dlgeom declares (pyproject.toml): a library that is
too old is named with its version before any work, instead of failing later somewhere in a table.

The lower bounds are tested: a slow test installs exactly them and runs the tiny study
(tests/test_reproducible.py)."""

from __future__ import annotations

import re
from importlib import metadata

from .validation import DlgeomInputError

#: Used where dlgeom runs from a source tree that is not installed (no metadata): pyproject.toml's bounds.
FALLBACK = {
    "numpy": "1.26",
    "scipy": "1.11",
    "pandas": "2.1",
    "scikit-learn": "1.6",
    "matplotlib": "3.8",
    "pyyaml": "6.0",
    "jsonschema": "4.18",
}


def _release(version: str) -> tuple[int, ...]:
    """The leading release numbers of a version string ('2.1.4rc1' → (2, 1, 4))."""
    return tuple(
        int(p) for p in re.findall(r"\d+", re.match(r"[\d.]+", version).group(0) if version[:1].isdigit() else "0")
    )


def lower_bounds() -> dict[str, str]:
    """``{package: minimum version}`` of dlgeom's required dependencies."""
    try:
        reqs = metadata.requires("dlgeom") or []
    except metadata.PackageNotFoundError:
        return dict(FALLBACK)
    out = {}
    for r in reqs:
        m = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*>=\s*([\d.]+)\s*$", r)
        if m:  # extras carry a marker ('; extra == ...') and are skipped
            out[m.group(1).lower()] = m.group(2)
    return out or dict(FALLBACK)


def check_versions() -> None:
    """Raise :class:`DlgeomInputError` naming every installed dependency older than its lower bound."""
    too_old = []
    for name, minimum in lower_bounds().items():
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            too_old.append(f"{name} is not installed (dlgeom needs >= {minimum})")
            continue
        if _release(have) < _release(minimum):
            too_old.append(f"{name} {have} is older than {minimum}, the lowest version dlgeom supports")
    if too_old:
        raise DlgeomInputError(
            "; ".join(too_old) + "; install the locked versions: pip install --require-hashes "
            "--no-deps -r requirements.lock (or `make test`)"
        )
