"""One study run per working directory, with a message that says what to do.

Snakemake's own lock answers a second run in the same directory with a ``LockException`` and the
advice to ``--unlock`` (wrong while the first run is alive), and simultaneous starts can race
inside Snakemake.  :func:`claim_study_run`, called from ``workflow/rules/common.smk`` while the
Snakefile is parsed, takes an exclusive ``flock`` on ``.snakemake/dlgeom-run.lock`` for the life
of the Snakemake process.  The kernel drops the lock when the process ends, however it ends, so
the lock is never stale.  Dry runs and the job processes that executors start for each job are
not the main run and skip it.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

LOCK_NAME = "dlgeom-run.lock"
_HELD: dict[str, int] = {}   # lock path -> open descriptor, kept for the life of the process


class StudyRunActive(RuntimeError):
    """Another main run of the study holds the working directory."""


#: Snakemake options that only look (no job runs): they never take the run lock.
_LOOK_ONLY = {"--dry-run", "--dryrun", "--lint", "--list", "--list-rules", "--list-target-rules", "--summary",
              "--detailed-summary", "--dag", "--rulegraph", "--filegraph", "--d3dag", "--list-changes",
              "--list-input-changes", "--list-code-changes", "--list-params-changes", "--list-untracked",
              "--compile-wrappers", "--report", "--containerize", "--print-compilation"}


def _looks_only(argv) -> bool:
    for arg in argv[1:]:
        if arg.split("=")[0] in _LOOK_ONLY:
            return True
        if arg.startswith("-") and not arg.startswith("--") and arg[1:].isalpha() and set(arg[1:]) & set("nlSD"):
            return True
    return False


def _is_main_run(workflow) -> bool:
    if _looks_only(sys.argv):
        return False
    if workflow is None:
        return True
    try:
        if not workflow.is_main_process:
            return False
    except Exception:  # noqa: BLE001 - an older or newer Snakemake without the property
        pass
    try:
        if workflow.dryrun:
            return False
    except Exception:  # noqa: BLE001
        pass
    return True


def acquire(directory) -> int | None:
    """Take the run lock of ``directory`` (non-blocking).  Returns the descriptor, or raises
    :class:`StudyRunActive` with a one-line message naming the holder and what to do."""
    import fcntl

    lock_dir = Path(directory) / ".snakemake"
    lock_dir.mkdir(exist_ok=True)
    path = lock_dir / LOCK_NAME
    key = str(path.resolve())
    if key in _HELD:
        return _HELD[key]
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown process"
        os.close(fd)
        raise StudyRunActive(
            f"another run of this study is active in {Path(directory).resolve()} ({holder}); wait for it to "
            "finish, or run in a different working directory (snakemake -d DIR); do not use --unlock while "
            "it runs") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
    _HELD[key] = fd
    return fd


def claim_study_run(workflow=None, directory=".") -> None:
    """The one line of ``common.smk``: take the run lock of the working directory, or print one
    line (``dlgeom: …``) and exit with status 1."""
    if not _is_main_run(workflow):
        return
    try:
        acquire(directory)
    except StudyRunActive as exc:
        print(f"dlgeom: {exc}", file=sys.stderr)
        sys.exit(1)
    except OSError as exc:      # e.g. a read-only working directory: Snakemake reports it itself
        print(f"dlgeom: cannot take the run lock in {directory}: {exc.strerror or exc}", file=sys.stderr)
        sys.exit(1)
