"""A small provenance record beside each table and figure: what made it, from what."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from .. import __version__
from ..jsonutil import write_json


def code_version() -> dict:
    """dlgeom's version and, when run from a git checkout, the commit (and whether it is dirty)."""
    here = Path(__file__).resolve().parent
    out = {"dlgeom": __version__}
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
        out["git_commit"] = commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        out["git_commit"] = None
    return out


def sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_provenance(output, inputs, command: str, config_hash: str | None = None, seed=None) -> Path:
    """Write ``<output>.prov.json``: command, code version, config hash, seed, inputs with sha256."""
    output = Path(output)
    record = {
        "output": output.name,
        "command": command,
        "code": code_version(),
        "config_hash": config_hash,
        "seed": seed,
        "inputs": [{"path": str(p), "sha256": sha256(p)} for p in sorted(map(str, inputs))],
    }
    return write_json(record, output.with_name(output.name + ".prov.json"))
