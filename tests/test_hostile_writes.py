"""Outputs under failure: interrupted, disk full, planted symlinks, failed reruns, sidecars.

Each test runs a command that would succeed, makes it fail at the worst moment (after the work,
while writing), and checks that nothing new appears, the previous outputs are intact, and no
temporary file is left.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

import dlgeom.safe_write as safe_write
from dlgeom.cli import main
from dlgeom.data import save_dataset
from dlgeom.safe_write import Outputs, check_output_dir, check_output_file, open_output, staged_directory
from dlgeom.synthetic import make_clustered
from dlgeom.validation import DlgeomInputError


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as exc:
            rc = exc.code
    return rc, out.getvalue(), err.getvalue()


def listing(root: Path) -> dict:
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() and not p.is_symlink() else None)
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture
def data(tmp_path):
    save_dataset(make_clustered(2, 8, 0.1, seed=1), tmp_path / "d.npz")
    return tmp_path / "d.npz"


def _one_line(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# --- the writer itself ---------------------------------------------------------------------------


def test_planted_symlink_at_the_old_temporary_name_is_never_followed(tmp_path, data):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n")
    for name in ("out.json.tmp", ".out.json.tmp"):
        os.symlink(victim, tmp_path / name)
    rc, _, err = run(
        "construct",
        "--data",
        data,
        "--layers",
        2,
        "--no-patterns",
        "--out",
        tmp_path / "out.json",
        "--quiet",
        "--mu-samples",
        1,
    )
    assert rc == 0, err
    assert victim.read_text() == "keep\n"
    assert json.loads((tmp_path / "out.json").read_text())["layers"] == 2
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp") and not p.is_symlink()]


def test_temporary_names_are_random_and_exclusive(tmp_path):
    with Outputs() as out:
        with out.open(tmp_path / "a.txt") as f1, out.open(tmp_path / "a.txt.2") as f2:
            f1.write("1")
            f2.write("2")
        names = [Path(t).name for _, t in out._staged]
        assert len(set(names)) == 2 and all(n.startswith(".a.txt") and n.endswith(".tmp") for n in names)
    assert (tmp_path / "a.txt").read_text() == "1"


def test_output_file_has_ordinary_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        with open_output(tmp_path / "x.txt") as fh:
            fh.write("x")
    finally:
        os.umask(old)
    assert (tmp_path / "x.txt").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("exc", [KeyboardInterrupt, OSError(errno.ENOSPC, "No space left on device"), RuntimeError])
def test_a_failure_inside_a_group_leaves_nothing_and_keeps_the_old_file(tmp_path, exc):
    (tmp_path / "a.csv").write_text("old\n")
    with pytest.raises(type(exc) if isinstance(exc, BaseException) else exc):
        with Outputs() as out:
            with out.open(tmp_path / "a.csv") as fh:
                fh.write("new\n")
            with out.open(tmp_path / "b.csv") as fh:
                fh.write("new\n")
                raise exc if isinstance(exc, BaseException) else exc()
    assert listing(tmp_path) == {"a.csv": b"old\n"}


def test_check_output_refuses_before_any_work(tmp_path):
    (tmp_path / "f").write_text("")
    for bad in (tmp_path / "no" / "x", tmp_path / "f" / "x", tmp_path, Path("/proc/x.json")):
        with pytest.raises(DlgeomInputError):
            check_output_file(bad)
    for bad in (tmp_path / "no" / "d", tmp_path / "f", Path("/proc/dlgeom-d")):
        with pytest.raises(DlgeomInputError):
            check_output_dir(bad)


def test_read_only_directory_is_refused(tmp_path):
    """Root writes anywhere a mode allows nothing; an immutable directory (chattr +i) stops root too."""
    import shutil
    import subprocess

    ro = tmp_path / "ro"
    ro.mkdir()
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(ro)], capture_output=True).returncode:
        pytest.skip("chattr +i is not available here (needs CAP_LINUX_IMMUTABLE and a supporting file system)")
    try:
        rc, _, err = run("make-data", "--Q", 2, "--n", 5, "--out", ro / "d.npz")
        assert rc == 2 and "cannot write" in _one_line(err)
    finally:
        subprocess.run(["chattr", "-i", str(ro)], check=False)


def test_staged_directory_replaces_as_a_whole_or_not_at_all(tmp_path):
    d = tmp_path / "cell"
    d.mkdir()
    (d / "old.txt").write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with staged_directory(d) as tmp:
            (tmp / "new.txt").write_text("new")
            raise KeyboardInterrupt
    assert listing(tmp_path) == {"cell": None, "cell/old.txt": b"old"}
    with staged_directory(d) as tmp:
        (tmp / "new.txt").write_text("new")
    assert listing(tmp_path) == {"cell": None, "cell/new.txt": b"new"}


# --- commands interrupted or out of space while writing ------------------------------------------


def _fail_on_nth_fsync(monkeypatch, n, exc):
    calls = {"n": 0}
    real = os.fsync

    def fsync(fd):
        if stat.S_ISREG(os.fstat(fd).st_mode):  # count files, not the directory syncs
            calls["n"] += 1
            if calls["n"] == n:
                raise exc
        return real(fd)

    monkeypatch.setattr(safe_write.os, "fsync", fsync)


@pytest.mark.parametrize(
    "exc,rc_expected", [(KeyboardInterrupt(), 130), (OSError(errno.ENOSPC, "No space left on device"), 1)]
)
def test_construct_failing_while_writing_keeps_the_previous_output(tmp_path, data, monkeypatch, exc, rc_expected):
    out = tmp_path / "c.json"
    out.write_text('{"previous": 1}\n')
    before = listing(tmp_path)
    _fail_on_nth_fsync(monkeypatch, 1, exc)
    rc, _, err = run(
        "construct", "--data", data, "--layers", 2, "--no-patterns", "--mu-samples", 1, "--out", out, "--quiet"
    )
    assert rc == rc_expected
    assert _one_line(err).startswith("dlgeom")
    assert listing(tmp_path) == before


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), OSError(errno.ENOSPC, "No space left on device")])
def test_make_data_out_dir_failing_midway_leaves_nothing(tmp_path, monkeypatch, exc):
    before = listing(tmp_path)
    _fail_on_nth_fsync(monkeypatch, 3, exc)  # in the second replicate
    rc, _, err = run("make-data", "--Q", 2, "--n", 5, "--test-n", 5, "--replicates", 2, "--out-dir", tmp_path / "c")
    assert rc != 0 and _one_line(err)
    assert listing(tmp_path) == before


def test_make_data_out_dir_rerun_failing_keeps_the_previous_cell(tmp_path, monkeypatch):
    assert run("make-data", "--Q", 2, "--n", 5, "--test-n", 5, "--out-dir", tmp_path / "c")[0] == 0
    before = listing(tmp_path)
    _fail_on_nth_fsync(monkeypatch, 2, KeyboardInterrupt())
    rc, _, err = run("make-data", "--Q", 2, "--n", 6, "--test-n", 5, "--out-dir", tmp_path / "c", "--seed", 9)
    assert rc == 130 and _one_line(err)
    assert listing(tmp_path) == before


def test_prepare_data_failing_leaves_no_partial_directory(tmp_path, data, monkeypatch):
    before = listing(tmp_path)
    _fail_on_nth_fsync(monkeypatch, 2, OSError(errno.EIO, "Input/output error"))
    rc, _, err = run("prepare-data", "--data", data, "--replicates", 2, "--out-dir", tmp_path / "u")
    assert rc == 1 and "Input/output error" in _one_line(err)
    assert listing(tmp_path) == before


def test_figure_failing_on_the_pdf_keeps_png_pdf_and_sidecars(tmp_path, monkeypatch):
    stem = tmp_path / "fig"
    assert run("figure", "--name", "truncation", "--out", stem)[0] == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["fig.pdf", "fig.pdf.prov.json", "fig.png", "fig.png.prov.json"]
    before = listing(tmp_path)
    _fail_on_nth_fsync(monkeypatch, 2, KeyboardInterrupt())  # after the PNG, while the PDF is written
    rc, _, err = run("figure", "--name", "truncation", "--out", stem, "--seed", 3)
    assert rc == 130 and _one_line(err)
    assert listing(tmp_path) == before


# --- reruns and provenance sidecars ------------------------------------------------------------


@pytest.fixture
def cell_json(tmp_path):
    c = tmp_path / "cell"
    assert run("make-data", "--Q", 2, "--n", 6, "--test-n", 6, "--out-dir", c)[0] == 0
    assert (
        run(
            "cell",
            "--data-dir",
            c,
            "--mu-samples",
            1,
            "--probe-draws",
            1,
            "--probe-eps",
            0.01,
            "--out",
            tmp_path / "cell.json",
            "--quiet",
        )[0]
        == 0
    )
    return tmp_path / "cell.json"


def test_failed_aggregate_rerun_keeps_every_table_and_sidecar(tmp_path, cell_json, monkeypatch):
    tables = tmp_path / "tables"
    assert run("aggregate", "--cells", cell_json, "--out-dir", tables, "--config-hash", "a")[0] == 0
    files = sorted(p.name for p in tables.iterdir())
    mains = [f for f in files if not f.endswith(".prov.json")]
    assert len(files) >= 16 and all((tables / (f + ".prov.json")).is_file() for f in mains)
    before = listing(tables)
    _fail_on_nth_fsync(monkeypatch, 10, OSError(errno.ENOSPC, "No space left on device"))
    rc, _, err = run("aggregate", "--cells", cell_json, "--out-dir", tables, "--config-hash", "b")
    assert rc == 1 and "No space left" in _one_line(err)
    assert listing(tables) == before


def test_orphan_sidecars_are_removed_and_fresh_ones_replace_old(tmp_path, cell_json):
    tables = tmp_path / "tables"
    assert run("aggregate", "--cells", cell_json, "--out-dir", tables, "--config-hash", "a")[0] == 0
    # a workflow manager deletes the outputs before a rerun; the rerun then fails on its input
    for p in list(tables.iterdir()):
        if not p.name.endswith(".prov.json"):
            p.unlink()
    rc, _, _ = run("aggregate", "--cells", tmp_path / "missing.json", "--out-dir", tables)
    assert rc == 2
    assert list(tables.iterdir()) == []  # no sidecar outlives its file
    assert run("aggregate", "--cells", cell_json, "--out-dir", tables, "--config-hash", "c")[0] == 0
    sides = [json.loads(p.read_text()) for p in tables.glob("*.prov.json")]
    assert sides and all(s["config_hash"] == "c" for s in sides)
    assert all((tables / s["output"]).is_file() for s in sides)


def test_check_output_never_follows_a_symlinked_output_into_another_file(tmp_path, data):
    """An output path that is a symlink is replaced by a file; its target is left alone."""
    victim = tmp_path / "victim.json"
    victim.write_text("keep")
    os.symlink(victim, tmp_path / "out.json")
    assert run("check", "--data", data, "--out", tmp_path / "out.json")[0] == 0
    assert victim.read_text() == "keep"
    assert not (tmp_path / "out.json").is_symlink()
    assert json.loads((tmp_path / "out.json").read_text())["dataset"]["Q"] == 2


# --- numbers at the ends of float64 ------------------------------------------------------------


@pytest.mark.parametrize("factor", [1e-300, 2.0**-1000, 1e300, 2.0**1000])
def test_geometry_is_scale_invariant_at_the_ends_of_float64(factor):
    import warnings

    from dlgeom.data import Dataset
    from dlgeom.geometry import geometry

    base = make_clustered(3, 20, 0.1, seed=2)
    ref = geometry(base)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            g = geometry(Dataset(base.X * factor, base.y))
    assert g.r == pytest.approx(ref.r, rel=1e-12)
    assert g.theta_max == pytest.approx(ref.theta_max, rel=1e-12)
    assert g.cond_xred == pytest.approx(ref.cond_xred, rel=1e-9)
    assert g.delta == pytest.approx(ref.delta * factor, rel=1e-12)
    assert g.D_eff == pytest.approx(ref.D_eff * factor, rel=1e-12)


def test_check_at_scale_1e300_and_one_entry_1e308(tmp_path):
    from dlgeom.data import Dataset

    base = make_clustered(3, 20, 0.1, seed=2)
    save_dataset(Dataset(base.X * 1e300, base.y), tmp_path / "big.npz")
    X = np.array(base.X)
    X[0, 0] = 1e308
    save_dataset(Dataset(X, base.y), tmp_path / "one.npz")
    rc, out, err = run("check", "--data", tmp_path / "big.npz")
    assert rc == 0 and err == ""
    assert json.loads(out)["assumptions"]["r"] == pytest.approx(0.1, rel=1e-9)
    rc, out, err = run("check", "--data", tmp_path / "one.npz")
    assert rc == 0 and err == ""
    rep = json.loads(out)["assumptions"]
    # one point 1e308 away from its class: δ is that distance (up to the mean's shift), A2 fails
    n0 = int(np.sum(base.y == base.y[0]))
    assert rep["delta"] == pytest.approx(1e308 * (1 - 1 / n0), rel=1e-6)
    assert rep["A2"]["holds"] is False


def test_geometry_of_ordinary_data_is_unchanged_bit_for_bit():
    """Inside [2^-100, 2^100] no scaling happens: the same bits as the plain computation."""
    from dlgeom.geometry import _geometry, geometry

    d = make_clustered(4, 30, 0.2, seed=5)
    a, b = geometry(d), _geometry(d.X, d, None)
    assert a.r == b.r and a.delta == b.delta and a.D == b.D and a.theta_max == b.theta_max


def test_orphan_sweep_leaves_a_sidecar_that_is_being_renamed_in_now(tmp_path):
    """A concurrent command renames its new sidecar in after this command started: kept."""
    import time

    from dlgeom.safe_write import remove_orphan_sidecars

    old = tmp_path / "a.csv.prov.json"
    old.write_text("{}")
    started = time.time() + 1.0  # 'a.csv.prov.json' changed before this command started
    fresh = tmp_path / "b.csv.prov.json"
    assert remove_orphan_sidecars(tmp_path, started) == [old]
    fresh.write_text("{}")  # changed after the start: another command's, in flight
    assert remove_orphan_sidecars(tmp_path, time.time() - 5.0) == []
    assert fresh.exists()
