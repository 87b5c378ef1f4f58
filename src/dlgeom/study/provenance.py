"""A small provenance record beside each table and figure: what made it, from what, with what.

No wall-clock time goes in: an identical rerun from the same commit and lock gives the same bytes.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from .. import __version__
from ..jsonutil import settings_stamp, write_json

#: What decides a study's outputs, relative to the repository root (the study's config files are
#: added by the Snakefile, which passes the result in the environment variable below).
CODE_PATHS = ("src", "workflow", "Snakefile", "pyproject.toml", "setup.py", "requirements.lock")
CODE_ENV = "DLGEOM_CODE_COMMIT"
LIBRARIES = ("numpy", "scipy", "pandas", "matplotlib", "scikit-learn", "snakemake")


def repository_root() -> Path | None:
    """The git checkout this code runs from, or None (an installed copy)."""
    here = Path(__file__).resolve().parent
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=here, capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(top) if (Path(top) / "src" / "dlgeom").is_dir() else None


def code_commit(paths=CODE_PATHS, root: Path | None = None) -> str | None:
    """The newest commit that changed ``paths``, with ``-dirty`` when the work tree differs from it
    there: the commit the outputs were built from, unchanged by commits of docs or results."""
    root = root or repository_root()
    if root is None:
        return None
    paths = [p for p in paths if (root / p).exists()]
    try:
        commit = subprocess.run(["git", "log", "-1", "--format=%H", "--", *paths], cwd=root, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", *paths], cwd=root,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (commit + ("-dirty" if dirty else "")) or None


def code_version() -> dict:
    """dlgeom's version and the commit of the code (from the workflow, else computed here)."""
    return {"dlgeom": __version__, "git_commit": os.environ.get(CODE_ENV) or code_commit()}


@functools.cache
def environment() -> dict:
    """Python, the libraries that compute or draw the outputs, and the BLAS numpy uses."""
    import numpy as np

    libs = {}
    for name in LIBRARIES:
        try:
            libs[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            libs[name] = None
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{blas.get('name')} {blas.get('version')}".strip()
    except Exception:  # noqa: BLE001 - an unusual numpy build: record that we could not tell
        blas = None
    return {"python": platform.python_version(), **libs, "blas": blas}


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_provenance(output, inputs, command: str, config_hash: str | None = None, seed=None) -> Path | None:
    """Write ``<output>.prov.json``: command, code and environment, settings, seed, inputs with sha256.
    An output written through to a stream (``/dev/null``, a FIFO) gets none (nothing is written
    beside a device)."""
    from ..safe_write import is_stream

    output = Path(output)
    if is_stream(output):
        return None
    record = {
        "output": output.name,
        "command": command,
        "code": code_version(),
        "environment": environment(),
        "settings": settings_stamp(),
        "seed": seed,
        "inputs": [{"path": Path(p).name if Path(p).is_absolute() else str(p), "sha256": sha256(p)}
                   for p in sorted(map(str, inputs))],
    }
    if config_hash is not None:
        record["config_hash"] = config_hash
    return write_json(record, output.with_name(output.name + ".prov.json"))
