"""Safe output files: check the destination first, write through a private temporary file, and
replace atomically; never a partial, stale or foreign file.

Every command writes through this module:

* :func:`check_output_file` / :func:`check_output_dir` check a destination *before* the work
  (its directory exists, is a directory and is writable - tried by creating and removing a
  temporary file there, so read-only mounts and ``/proc`` are caught even as root);
* :class:`Outputs` collects the files of one command: each is written to a temporary file made
  with ``tempfile.mkstemp`` in the destination directory (exclusive create with a random name, so
  a symlink planted there is never followed), flushed and fsync'ed, and all are renamed into place
  with ``os.replace`` only after every one was written.  Any failure - including
  ``KeyboardInterrupt`` - removes the temporaries and leaves the previous outputs untouched;
* a provenance sidecar ``X.prov.json`` never outlives ``X``: replacing ``X`` first removes its old
  sidecar, and the new sidecar (staged after ``X``) is renamed in after ``X``;
* :func:`staged_directory` builds a whole output directory in a temporary sibling directory and
  renames it into place at the end (a failure leaves nothing);
* an output that exists and is not a regular file is never replaced: a character device or a FIFO
  (``/dev/null``, ``/dev/stdout``, a named pipe: a stream the user names on purpose) is written
  through, without a temporary file or a provenance sidecar; anything else (a block device, a
  socket) is refused with one line (:func:`output_stream_kind`).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path

from .validation import DlgeomInputError

__all__ = [
    "check_output_file",
    "check_output_dir",
    "Outputs",
    "open_output",
    "output_group",
    "readable",
    "staged_directory",
    "SIDECAR_SUFFIX",
    "remove_orphan_sidecars",
    "is_stream",
    "output_stream_kind",
]

SIDECAR_SUFFIX = ".prov.json"
#: The group that :func:`open_output` stages into (set by :meth:`Outputs.activate`; the CLI
#: activates one group per command, so all its files appear together, only on success).
_ACTIVE: contextvars.ContextVar = contextvars.ContextVar("dlgeom_outputs", default=None)


def _umask_mode(default: int = 0o666) -> int:
    mask = os.umask(0)
    os.umask(mask)
    return default & ~mask


def _probe_writable(directory: Path, what: str) -> None:
    """Create and remove a temporary file in ``directory`` (the only test that works for root)."""
    try:
        fd, name = tempfile.mkstemp(dir=directory, prefix=".dlgeom-probe-")
    except OSError as exc:
        raise DlgeomInputError(f"{what}: cannot write in {directory} ({exc.strerror or exc})") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)


_KINDS = (
    (stat.S_ISCHR, "character device"),
    (stat.S_ISFIFO, "FIFO"),
    (stat.S_ISBLK, "block device"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISDIR, "directory"),
)


def output_stream_kind(path) -> str | None:
    """What an existing output ``path`` is when it is not a regular file (following symlinks):
    'character device', 'FIFO', 'block device', 'socket' or 'directory'; None when it is absent
    or a regular file."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    return next((name for test, name in _KINDS if test(mode)), None)


def is_stream(path) -> bool:
    """True for an output that is written through, never replaced: an existing character device or
    FIFO (also through a symlink such as ``/dev/stdout``), or a symlink into ``/proc`` (a process's
    open file, e.g. ``/dev/stdout`` redirected to a file)."""
    if output_stream_kind(path) in ("character device", "FIFO"):
        return True
    return os.path.islink(path) and os.path.realpath(path).startswith("/proc/")


def check_output_file(path, what: str = "--out") -> Path:
    """Check that ``path`` can be written: its directory exists, is a directory and is writable,
    and ``path`` itself is not a directory.  A character device or FIFO is written through (see
    :func:`is_stream`); any other existing output that is not a regular file is refused.  Raises
    one-line :class:`DlgeomInputError`."""
    if path is None or str(path) == "":
        raise DlgeomInputError(f"{what}: an output path is required")
    path = Path(path)
    if is_stream(path):
        return path
    kind = output_stream_kind(path)
    if kind not in (None, "directory"):
        raise DlgeomInputError(
            f"{what}: {path} is a {kind}, not a regular file; outputs are written to regular "
            "files, character devices and FIFOs only"
        )
    parent = path.parent
    if path.name in ("", ".", ".."):
        raise DlgeomInputError(f"{what}: {path} is not a file name")
    if not parent.exists():
        raise DlgeomInputError(f"{what}: directory {parent} does not exist; create it first")
    if not parent.is_dir():
        raise DlgeomInputError(f"{what}: {parent} is not a directory")
    if path.is_dir():
        raise DlgeomInputError(f"{what}: {path} is a directory; give a file name")
    _probe_writable(parent, what)
    return path


def check_output_dir(path, what: str = "--out-dir") -> Path:
    """Check that directory ``path`` can be created or replaced: its parent exists and is a
    writable directory, and ``path`` is absent or a directory."""
    if path is None or str(path) == "":
        raise DlgeomInputError(f"{what}: an output directory is required")
    path = Path(path)
    if path.name in ("", ".", ".."):
        path = path.resolve()
    if path.exists() and not path.is_dir():
        raise DlgeomInputError(f"{what}: {path} exists and is not a directory")
    parent = path.parent
    if not parent.exists():
        raise DlgeomInputError(f"{what}: directory {parent} does not exist; create it first")
    if not parent.is_dir():
        raise DlgeomInputError(f"{what}: {parent} is not a directory")
    _probe_writable(path if path.is_dir() else parent, what)
    return path


def remove_orphan_sidecars(directory, older_than: float | None = None) -> list[Path]:
    """Remove every ``X.prov.json`` in ``directory`` whose ``X`` is missing (e.g. deleted by a
    workflow manager before a rerun): a sidecar must never describe a file that is not there.

    Only sidecars whose inode changed before ``older_than`` (default: now) are removed, so a
    sidecar that a concurrent command is renaming into place right now (rename sets ctime) is
    left alone."""
    removed = []
    directory = Path(directory)
    if not directory.is_dir():
        return removed
    cutoff = time.time() if older_than is None else older_than
    for side in directory.glob("*" + SIDECAR_SUFFIX):
        base = side.with_name(side.name[: -len(SIDECAR_SUFFIX)])
        try:
            st = side.lstat()
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_ctime < cutoff and not os.path.lexists(base):
            with contextlib.suppress(OSError):
                side.unlink()
                removed.append(side)
    return removed


class Outputs:
    """The output files of one command, committed together at the end.

    >>> with Outputs() as out:                       # doctest: +SKIP
    ...     with out.open("a.csv", "w") as fh:
    ...         fh.write("x\\n")
    ...     with out.open("a.csv.prov.json", "w") as fh:
    ...         fh.write("{}\\n")
    # both appear only here, after the with-block ended without an exception

    ``open`` returns a file object on a fresh temporary file in the destination's directory
    (``mkstemp``: O_CREAT|O_EXCL, random name, no symlink followed).  Writers that want a file
    name get a file object instead (``savefig``, ``to_csv``, ``np.savetxt`` and ``zipfile``
    all accept one).
    """

    def __init__(self):
        self._staged: list[tuple[Path, str]] = []  # (final path, temporary name)
        self._done = False

    def __enter__(self):
        return self

    @contextlib.contextmanager
    def activate(self):
        """Make this the group that :func:`open_output` stages into, inside the with-block."""
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)

    def staged_name(self, path) -> Path | None:
        """The temporary file staged for ``path`` (to read back before the commit), or None."""
        path = Path(path)
        for final, tmp in reversed(self._staged):
            if final == path:
                return Path(tmp)
        return None

    def open(self, path, mode: str = "w"):
        if mode not in ("w", "wb"):
            raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
        path = Path(path)
        if is_stream(path):  # /dev/null, /dev/stdout, a FIFO: written through, never replaced
            return _StreamFile(open(path, mode, **({"encoding": "utf-8", "newline": ""} if mode == "w" else {})))
        kind = output_stream_kind(path)
        if kind not in (None, "directory"):
            raise DlgeomInputError(f"{path}: is a {kind}, not a regular file; it is never replaced")
        parent = path.parent if str(path.parent) else Path(".")
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{path.name[:40]}.", suffix=".tmp")
        self._staged.append((path, tmp))
        try:
            os.fchmod(fd, _umask_mode())
            fh = os.fdopen(fd, mode, **({"encoding": "utf-8", "newline": ""} if mode == "w" else {}))
        except BaseException:
            os.close(fd)
            raise
        return _SyncingFile(fh)

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            try:
                self.commit()
                return False
            except BaseException:
                self.discard()
                raise
        self.discard()
        return False

    def discard(self) -> None:
        for _, tmp in self._staged:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        self._staged = []

    def commit(self) -> list[Path]:
        """Rename every staged file into place, in the order staged (a file before its sidecar);
        the old sidecar of a replaced file is removed first."""
        done, dirs = [], set()
        for path, tmp in self._staged:
            if not path.name.endswith(SIDECAR_SUFFIX):  # a new sidecar, if any, follows this file
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path.with_name(path.name + SIDECAR_SUFFIX))
            os.replace(tmp, path)
            done.append(path)
            dirs.add(path.parent)
        self._staged = []
        for d in dirs:
            _fsync_dir(d)
        return done


class _SyncingFile:
    """A file object whose ``close`` (and ``with`` exit) flushes and fsyncs first."""

    def __init__(self, fh):
        self._fh = fh

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __iter__(self):
        return iter(self._fh)

    def close(self):
        if not self._fh.closed:
            try:
                self._fh.flush()
                os.fsync(self._fh.fileno())
            finally:
                self._fh.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class _StreamFile(_SyncingFile):
    """A character device or FIFO written through: flushed on close (fsync does not apply)."""

    def close(self):
        if not self._fh.closed:
            try:
                self._fh.flush()
            finally:
                self._fh.close()


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory if str(directory) else ".", os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def open_output(path, mode: str = "w"):
    """A file object for output ``path``: staged in the active :class:`Outputs` group (renamed in
    when the group commits), or, outside any group, a temporary file renamed in on close."""
    group = _ACTIVE.get()
    if group is not None:
        with group.open(path, mode) as fh:
            yield fh
        return
    with Outputs() as own:
        with own.open(path, mode) as fh:
            yield fh


@contextlib.contextmanager
def output_group():
    """The active :class:`Outputs` group, or a new one (activated, committed on success)."""
    group = _ACTIVE.get()
    if group is not None:
        yield group
        return
    with Outputs() as own, own.activate():
        yield own


def readable(path) -> Path:
    """Where to read output ``path`` written earlier by this command: its staged temporary file
    while the active group has not committed yet, else ``path`` itself."""
    group = _ACTIVE.get()
    staged = group.staged_name(path) if group is not None else None
    return staged if staged is not None else Path(path)


@contextlib.contextmanager
def staged_directory(path):
    """Build directory ``path`` in a temporary sibling and rename it into place at the end.

    Yields the temporary directory.  On success an existing ``path`` is replaced as a whole; on
    any failure (also ``KeyboardInterrupt``) the temporary directory is removed and ``path`` is as
    before."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{path.name[:40]}.", suffix=".tmp"))
    token = _ACTIVE.set(None)  # files inside go straight into the private directory
    try:
        os.chmod(tmp, _umask_mode(0o777))
        yield tmp
        _ACTIVE.reset(token)
        token = None
        if path.is_dir() and not path.is_symlink():
            old = Path(tempfile.mkdtemp(dir=parent, prefix=f".{path.name[:40]}.", suffix=".old"))
            os.replace(path, old / "d")
            try:
                os.replace(tmp, path)
            except BaseException:
                os.replace(old / "d", path)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
        _fsync_dir(parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if token is not None:
            _ACTIVE.reset(token)
