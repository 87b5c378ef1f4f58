"""One run of a study at a time in a folder, a message that says what to do, and no stale lock.

Snakemake locks the files a run will write under ``.snakemake/locks/``.  A second run in the same
folder then gets a ``LockException`` with the advice to ``--unlock`` (wrong while the first run is
alive), simultaneous starts can race inside Snakemake, and a run killed hard leaves its lock files
behind, so the next run stops until ``snakemake --unlock`` is run by hand.

:func:`claim_study_run`, called from ``workflow/rules/common.smk`` while the Snakefile is parsed,
takes an exclusive ``flock`` on ``.snakemake/dlgeom-<study>.lock`` for the life of the Snakemake
process.  The kernel drops it when the process ends, however it ends, so it is never stale.
Holding it proves that no other run of the same study is alive in the folder, so Snakemake lock
files that name any of the study's files are stale and are removed.  Failing to get it means
another run of the study is alive: the new one stops with one line that says what to do.  Runs of
different studies in one folder do not block each other.  Dry runs, listings and the job
processes that executors start for each job are not the main run and skip all of this.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..validation import DlgeomInputError

_HELD: dict[str, int] = {}  # lock path -> open descriptor, kept for the life of the process

#: Snakemake options that only look (no job runs): they never take the run lock.
_LOOK_ONLY = {
    "--dry-run",
    "--dryrun",
    "--lint",
    "--list",
    "--list-rules",
    "--list-target-rules",
    "--summary",
    "--detailed-summary",
    "--dag",
    "--rulegraph",
    "--filegraph",
    "--d3dag",
    "--list-changes",
    "--list-input-changes",
    "--list-code-changes",
    "--list-params-changes",
    "--list-untracked",
    "--compile-wrappers",
    "--report",
    "--containerize",
    "--print-compilation",
}


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
    for attr, main_when in (("is_main_process", True), ("dryrun", False)):
        try:
            if bool(getattr(workflow, attr)) != main_when:
                return False
        except Exception:  # noqa: BLE001 - a Snakemake without the property
            pass
    return True


def acquire_study_lock(study: str, workdir=".") -> list[Path]:
    """Take the study's lock in ``workdir`` and remove Snakemake's stale locks of its files;
    returns the lock files removed.  Raises :class:`DlgeomInputError` (one line) when another run
    of the study holds the lock."""
    import fcntl

    meta = Path(workdir) / ".snakemake"
    meta.mkdir(exist_ok=True)
    path = meta / f"dlgeom-{study}.lock"
    key = str(path.resolve())
    if key not in _HELD:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown process"
            os.close(fd)
            raise DlgeomInputError(
                f"another run of this study ('{study}') is active in {Path(workdir).resolve()} ({holder}); wait for "
                "it to finish or stop it, then run the same command again; do not use --unlock"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
        _HELD[key] = fd
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


def claim_study_run(workflow, directory=".", study: str = "default") -> None:
    """The workflow's call: in a main run, take the study's lock (or stop with one line) and
    clear stale Snakemake locks of the study, saying so."""
    if not _is_main_run(workflow):
        return
    try:
        for lock in acquire_study_lock(study, directory):
            print(f"dlgeom: removed a stale lock of an interrupted run ({lock})", file=sys.stderr)
    except DlgeomInputError as exc:
        print(f"dlgeom: {exc}", file=sys.stderr)
        sys.exit(1)
    except OSError as exc:  # e.g. a read-only working directory
        print(f"dlgeom: cannot take the run lock in {directory}: {exc.strerror or exc}", file=sys.stderr)
        sys.exit(1)


def _relative(name: str, workdir) -> str:
    p = Path(name)
    if p.is_absolute():
        try:
            return str(p.relative_to(Path(workdir).resolve()))
        except ValueError:
            return name
    return name
