"""Hostile destinations: every writer goes through dlgeom.safe_write, and an output that exists and
is not a regular file (a device, a FIFO, a socket) is written through or refused - never replaced.

The devices here are nodes made in a temporary directory (never /dev itself), so a regression can
not damage the machine running the tests.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socket
import stat
import threading
from pathlib import Path

import pytest

from dlgeom.cli import main
from dlgeom.data import save_dataset
from dlgeom.synthetic import make_clustered

SRC = Path(__file__).resolve().parents[1] / "src" / "dlgeom"


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as exc:
            rc = exc.code
    return rc, out.getvalue(), err.getvalue()


def _one_line(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def data(tmp_path):
    save_dataset(make_clustered(2, 8, 0.1, seed=1), tmp_path / "d.npz")
    return tmp_path / "d.npz"


# --- every writer goes through the safe writer ---------------------------------------------------

#: Ways to write a file that bypass dlgeom.safe_write (a file name handed to a writer, a rename, a
#: temporary file of one's own).  Writers must get a file object from safe_write instead.
RAW_WRITERS = [
    r"\bopen\([^)]*[\"'][wax]b?\+?[\"']",  # open(path, "w"), open(tmp, "wb"), ...
    r"\.write_(text|bytes)\(",
    r"\bos\.(replace|rename)\(",
    r"\btempfile\.(mkstemp|NamedTemporaryFile|mkdtemp)\(",
    r"\bnp\.savez(_compressed)?\((?!fh\b|tmp\b)",  # savez on a name rather than the staged file object
    r"\bshutil\.(copy|copyfile|move)\w*\(",
]
#: The writer itself, and the study's lock file (an O_EXCL|O_NOFOLLOW lock, not an output).
ALLOWED = {"safe_write.py", "study/runlock.py"}


def test_no_module_writes_a_file_except_through_the_safe_writer():
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel in ALLOWED:
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines, 1):
            code = line.split("#", 1)[0]
            k = n
            while code.count("(") > code.count(")") and k < min(len(lines), n + 30):  # a call split over lines
                code = code.rstrip() + " " + lines[k].split("#", 1)[0].strip()
                k += 1
            code = re.sub(r"\(\s+", "(", code)
            if any(re.search(p, code) for p in RAW_WRITERS):
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert not offenders, "writers that bypass dlgeom.safe_write:\n" + "\n".join(offenders)


def _landscape(data, out, endpoints, *more):
    return run(
        "landscape",
        "--data",
        data,
        "--layers",
        "2",
        "--runs",
        "2",
        "--starts",
        "he",
        "--optimisers",
        "gd",
        "--max-iter",
        "5",
        "--no-shape",
        "--seed",
        "1",
        "--quiet",
        "--out",
        out,
        "--endpoints",
        endpoints,
        *more,
    )


def test_landscape_endpoints_never_follow_a_symlink_at_the_old_temporary_name(tmp_path, data):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n")
    (tmp_path / "e.npz.tmp").symlink_to(victim)
    rc, _, err = _landscape(data, tmp_path / "r.json", tmp_path / "e.npz")
    assert rc == 0, err
    assert victim.read_text() == "keep\n"
    assert (tmp_path / "e.npz").is_file() and not (tmp_path / "e.npz").is_symlink()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary files left behind"


@pytest.mark.parametrize("where", ["missing_dir", "a_file_as_dir", "special"])
def test_landscape_endpoints_destination_is_checked_before_the_work(tmp_path, data, monkeypatch, where):
    import dlgeom.study.landscape_run as lr

    def never(*a, **k):
        raise AssertionError("the computation ran before the destination was checked")

    monkeypatch.setattr(lr, "run_landscape", never)
    (tmp_path / "f").write_text("x")
    dest = {"missing_dir": tmp_path / "nope" / "e.npz", "a_file_as_dir": tmp_path / "f" / "e.npz"}.get(where)
    if where == "special":
        dest = tmp_path / "sock.npz"
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(dest))
        s.close()
    before = sorted(p.name for p in tmp_path.iterdir())
    rc, _, err = _landscape(data, tmp_path / "r.json", dest)
    assert rc == 2 and "--endpoints" in _one_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_landscape_failing_after_the_endpoints_leaves_neither_file(tmp_path, data, monkeypatch):
    import dlgeom.jsonutil as ju

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ju, "jsonable", boom)  # the JSON is written after the end points
    rc, _, err = _landscape(data, tmp_path / "r.json", tmp_path / "e.npz")
    assert rc == 1 and "nothing was written" in _one_line(err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.npz"]


def test_settings_files_have_the_mode_of_every_other_output(tmp_path):
    from dlgeom.jsonutil import write_json
    from dlgeom.study.layout import write_settings

    old = os.umask(0o022)
    try:
        paths = write_settings(tmp_path / "settings", {"grid": {"a": 1}, "landscape": {"b": 2}})
        write_json({"x": 1}, tmp_path / "other.json")
    finally:
        os.umask(old)
    want = stat.S_IMODE((tmp_path / "other.json").stat().st_mode)
    assert want == 0o644
    assert {stat.S_IMODE(p.stat().st_mode) for p in paths.values()} == {want}
    assert not [p for p in (tmp_path / "settings").iterdir() if p.name.startswith(".")]


# --- special files as outputs ----------------------------------------------------------------------


def _mknod(path: Path, kind: int, dev=(1, 3)) -> None:
    try:
        os.mknod(path, kind | 0o666, os.makedev(*dev))
    except PermissionError:
        pytest.skip("making device nodes needs root (the case the check protects)")


def _make(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / "dest.json"
    if kind == "chardev":  # a copy of /dev/null (major 1, minor 3)
        _mknod(path, stat.S_IFCHR)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink_to_chardev":
        _mknod(tmp_path / "null", stat.S_IFCHR)
        path.symlink_to(tmp_path / "null")
    elif kind == "blockdev":  # a node only: never opened (loop device numbers)
        _mknod(path, stat.S_IFBLK, (7, 250))
    elif kind == "socket":
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(path))
        s.close()
    return path


def _drain(path: Path, got: list):
    with open(path, "rb") as fh:
        got.append(fh.read())


def _commands(tmp_path, data, dest):
    return {
        "check": ["check", "--data", data, "--out", dest],
        "construct": [
            "construct",
            "--data",
            data,
            "--layers",
            "2",
            "--no-patterns",
            "--mu-samples",
            "0",
            "--out",
            dest,
        ],
        "landscape": [
            "landscape",
            "--data",
            data,
            "--layers",
            "2",
            "--runs",
            "1",
            "--starts",
            "he",
            "--optimisers",
            "gd",
            "--max-iter",
            "3",
            "--no-shape",
            "--seed",
            "1",
            "--quiet",
            "--out",
            dest,
        ],
    }


@pytest.mark.parametrize("command", ["check", "construct", "landscape"])
@pytest.mark.parametrize("kind", ["chardev", "fifo", "symlink_to_chardev"])
def test_a_stream_output_is_written_through_never_replaced(tmp_path, data, kind, command):
    dest = _make(tmp_path, kind)
    mode = os.stat(dest).st_mode
    got, reader = [], None
    if kind == "fifo":
        reader = threading.Thread(target=_drain, args=(dest, got), daemon=True)
        reader.start()
    rc, _, err = run(*_commands(tmp_path, data, dest)[command])
    if reader is not None:
        reader.join(30)
        assert json.loads(got[0])  # the whole document went through the pipe
    assert rc == 0, err
    assert os.stat(dest).st_mode == mode, "the special file was replaced"
    if kind == "symlink_to_chardev":
        assert dest.is_symlink()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".") or p.name.endswith(".prov.json")]
    assert not leftovers


@pytest.mark.parametrize("kind", ["blockdev", "socket"])
def test_another_special_output_is_refused_in_one_line(tmp_path, data, kind):
    dest = _make(tmp_path, kind)
    mode = os.stat(dest).st_mode
    rc, _, err = run("check", "--data", data, "--out", dest)
    line = _one_line(err)
    assert rc == 2 and "--out" in line and "not a regular file" in line
    assert os.stat(dest).st_mode == mode


def test_an_endpoints_stream_is_written_through(tmp_path, data):
    dest = tmp_path / "e.npz"
    _mknod(dest, stat.S_IFCHR)
    rc, _, err = _landscape(data, tmp_path / "r.json", dest)
    assert rc == 0, err
    assert stat.S_ISCHR(os.lstat(dest).st_mode)


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "--data", "{fifo}.npz", "--out", "{tmp}/o.json"],
        ["check", "--data", "{fifo}.csv", "--out", "{tmp}/o.json"],
        ["aggregate", "--cells", "{fifo}.json", "--out-dir", "{tmp}/tables"],
        ["cell", "--data-dir", "{tmp}/celldir", "--out", "{tmp}/c.json"],
    ],
    ids=["npz", "csv", "cell-json", "manifest"],
)
def test_a_fifo_given_as_input_is_named_as_such_never_read(tmp_path, argv):
    """Reading a FIFO nobody writes to blocks for ever: a subprocess with a timeout, so a hang fails."""
    import subprocess
    import sys

    (tmp_path / "celldir").mkdir()
    for suffix in (".npz", ".csv", ".json"):
        os.mkfifo(tmp_path / f"in{suffix}")
    os.mkfifo(tmp_path / "celldir" / "manifest.json")
    args = [a.format(fifo=tmp_path / "in", tmp=tmp_path) for a in argv]
    res = subprocess.run([sys.executable, "-m", "dlgeom", *args], capture_output=True, text=True, timeout=120)
    line = _one_line(res.stderr)
    assert res.returncode == 2 and "FIFO" in line and "no such file" not in line
