"""Hostile input: every bad try on the CLI exits non-zero with at most one line on stderr (no
traceback, no warning) and leaves every file as it was.  The tries are tabled by class in
``tests/hostile_inputs.py``; most run in-process (fast), a representative subset by subprocess.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import subprocess
import sys
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from dlgeom.cli import main

sys.path.insert(0, str(Path(__file__).parent))
from hostile_inputs import build_workspace, tries  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TRIES = tries()


def snapshot(root: Path) -> dict:
    """Every entry under ``root`` (hidden ones too): kind and content hash; symlinks by target."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p))
            elif p.is_dir():
                out[rel] = ("dir",)
            else:
                out[rel] = ("file", hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def run_in_process(argv):
    """(exit code, stdout, stderr, warnings) of ``dlgeom argv`` run in this process."""
    out, err = io.StringIO(), io.StringIO()
    with (
        warnings.catch_warnings(record=True) as caught,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        warnings.simplefilter("always")
        with np.errstate(all="warn"):
            try:
                rc = main(argv)
            except SystemExit as exc:  # argparse
                rc = exc.code
    return rc, out.getvalue(), err.getvalue(), [str(w.message) for w in caught]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    ws = tmp_path_factory.mktemp("hostile")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        build_workspace(ws)
    return ws


def assert_clean_failure(rc, err, caught=()):
    assert rc not in (0, None), "exit status 0"
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) <= 1, f"{len(lines)} lines on stderr:\n{err}"
    assert "Traceback" not in err and "Warning" not in err, err
    assert not caught, f"warnings: {caught}"
    if lines:
        assert lines[0].startswith("dlgeom"), lines[0]


def fill(argv, ws):
    return [a.replace("{ws}", str(ws)) for a in argv]


@pytest.mark.parametrize("cls,cid,argv", TRIES, ids=[f"{c}|{i}" for c, i, _ in TRIES])
def test_bad_input_is_refused_cleanly(workspace, cls, cid, argv):
    before = snapshot(workspace)
    rc, out, err, caught = run_in_process(fill(argv, workspace))
    assert_clean_failure(rc, err, caught)
    assert snapshot(workspace) == before, "files changed"


def test_tries_cover_every_class_and_command():
    classes = Counter(c for c, _, _ in TRIES)
    commands = {argv[0] for _, _, argv in TRIES}
    assert set(classes) == {"bad file", "numbers", "sizes and values", "destination", "existing output"}
    import argparse
    import importlib

    from dlgeom.cli import EXTENSIONS, _parser

    parser = _parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name in EXTENSIONS:
        importlib.import_module(name).register(sub)
    assert commands == set(sub.choices), set(sub.choices) ^ commands


SUBPROCESS_SUBSET = [
    "bad file|check:garbage.npz",
    "bad file|construct:pickled.npz",
    "numbers|construct:big1.npz",
    "sizes and values|make-data:Q=1e5",
    "sizes and values|construct:layers 1e9",
    "destination|construct:parent is a regular file",
    "destination|aggregate:procfs",
    "existing output|aggregate:existing",
    "bad file|cell:manifest garbage",
]


@pytest.mark.parametrize("key", SUBPROCESS_SUBSET)
def test_bad_input_by_subprocess(workspace, key):
    argv = next(a for c, i, a in TRIES if f"{c}|{i}" == key)
    before = snapshot(workspace)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONWARNINGS": "always"}
    res = subprocess.run(
        [sys.executable, "-m", "dlgeom", *fill(argv, workspace)], capture_output=True, text=True, env=env, timeout=120
    )
    assert_clean_failure(res.returncode, res.stderr)
    assert snapshot(workspace) == before
