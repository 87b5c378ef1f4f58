"""One run of a study at a time in a folder, and no stale lock after an interrupted run.

Snakemake locks the files a run will write under ``.snakemake/locks/``.  A run killed hard leaves
those lock files behind, and the next run stops until ``snakemake --unlock`` is run by hand.  The
workflow takes, at start-up, an exclusive ``flock`` on ``.snakemake/dlgeom-<study>.lock`` that the
operating system releases whenever the process ends, however it ends.  Holding it proves that no
other run of the same study is alive in this folder, so Snakemake lock files that name any of this
study's files are stale and are removed.  Failing to get it means another run of the study is
alive: the new one stops with one line that says what to do.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from ..validation import DlgeomInputError

_HELD: list = []  # open lock files, kept for the life of the process


def acquire_study_lock(study: str, workdir=".") -> list[Path]:
    """Take the study's lock and remove stale Snakemake locks of its outputs; returns the lock
    files removed.  Raises DlgeomInputError when another run of the study holds the lock."""
    meta = Path(workdir) / ".snakemake"
    meta.mkdir(exist_ok=True)
    path = meta / f"dlgeom-{study}.lock"
    fh = open(path, "a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.seek(0)
        owner = fh.read().strip() or "unknown"
        fh.close()
        raise DlgeomInputError(
            f"another run of study '{study}' (pid {owner}) is working in this folder; wait for it to end "
            f"or stop it (kill {owner}), then run the same command again") from None
    fh.seek(0)
    fh.truncate()
    fh.write(str(os.getpid()))
    fh.flush()
    _HELD.append(fh)
    prefix = f"results/{study}/"
    removed = []
    locks = meta / "locks"
    for lock in sorted(locks.glob("*.lock")) if locks.is_dir() else []:
        try:
            named = [ln.strip() for ln in lock.read_text().splitlines() if ln.strip()]
        except OSError:
            continue
        if any(_relative(n, workdir).startswith(prefix) for n in named):
            lock.unlink(missing_ok=True)
            removed.append(lock)
    return removed


def _relative(name: str, workdir) -> str:
    p = Path(name)
    if p.is_absolute():
        try:
            return str(p.relative_to(Path(workdir).resolve()))
        except ValueError:
            return name
    return name
