"""A small provenance record beside each table and figure: what made it, from what, with what.

No wall-clock time goes in: an identical rerun from the same commit and lock gives the same bytes.
Of the machine, a sidecar records only what decides the bytes: the BLAS kernel that ran and numpy's
SIMD dispatch targets in force (both pinned on x86-64 with AVX2, :mod:`dlgeom.cpu_pin`).  The CPU
model and flags go to the run's logs (:func:`write_machine_log`), which are not committed, so a
rerun on another CPU of the same kind leaves ``git status`` clean.
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
from ..cpu_pin import blas_kernels, machine_report, numpy_dispatch
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
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], cwd=here, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
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
        commit = subprocess.run(
            ["git", "log", "-1", "--format=%H", "--", *paths],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", *paths],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (commit + ("-dirty" if dirty else "")) or None


def code_version() -> dict:
    """dlgeom's version and the commit of the code (from the workflow, else computed here)."""
    return {"dlgeom": __version__, "git_commit": os.environ.get(CODE_ENV) or code_commit()}


@functools.cache
def environment() -> dict:
    """Python, the libraries that compute or draw the outputs, the BLAS numpy uses, the BLAS kernel
    that runs (numpy's and scipy's copies of OpenBLAS) and numpy's dispatch targets in force."""
    import numpy as np
    import scipy.linalg  # noqa: F401 - loads scipy's BLAS, so its kernel is reported too

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
    kernels = sorted({k["kernel"] for k in blas_kernels() if k["kernel"]})
    return {
        "python": platform.python_version(),
        **libs,
        "blas": blas,
        "blas_kernel": ", ".join(kernels) or None,
        "numpy_dispatch": " ".join(numpy_dispatch()) or None,
    }


def job_machine_report() -> dict:
    """:func:`dlgeom.cpu_pin.machine_report` as a job sees it: in a new interpreter with this dlgeom
    first on the path (the calling process, e.g. Snakemake's, may have loaded numpy before the pin)."""
    import json
    import sys

    src = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
    code = "import json, dlgeom.cpu_pin as c; print(json.dumps(c.machine_report()))"
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=True
        ).stdout
        return json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError):
        return machine_report()


def write_machine_log(path) -> Path:
    """The machine details of a run (:func:`job_machine_report`) to ``path``, with a one-line summary
    on stderr; for the run's logs, never for committed files."""
    import sys

    report = job_machine_report()
    kernels = ", ".join(sorted({str(k["kernel"]) for k in report["blas"]})) or "unknown"
    print(
        f"dlgeom: machine: {report['cpu']} ({report['machine']}); BLAS kernel {kernels}; numpy dispatch "
        f"{' '.join(report['numpy_dispatch']) or 'baseline'}"
        + (
            ""
            if report["cpu_pin_possible"]
            else "; this CPU cannot run the pinned code: bytes may differ from the reference (dlgeom verify)"
        ),
        file=sys.stderr,
    )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return write_json(report, path)


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
        "inputs": [
            {"path": Path(p).name if Path(p).is_absolute() else str(p), "sha256": sha256(p)}
            for p in sorted(map(str, inputs))
        ],
    }
    if config_hash is not None:
        record["config_hash"] = config_hash
    return write_json(record, output.with_name(output.name + ".prov.json"))
