"""The ``dlgeom`` command line, in-process via ``dlgeom.cli.main`` (and ``python -m dlgeom``)."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys

import numpy as np
import pytest

import dlgeom
from dlgeom.cli import main

CHECK_KEYS = ("holds", "value", "bound", "margin")


# --------------------------------------------------------------------------------------------
# helpers


def run(capsys, *argv):
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def read_xy(path):
    """X, y read with numpy directly (not through dlgeom)."""
    path = str(path)
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as f:
            return f["X"], f["y"]
    table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)
    return table[:, :-1], table[:, -1].astype(np.int64)


def np_geometry(X, y):
    """δ, r, max_j θ_{*,j} (4δ margins) and cond(X^red), recomputed with numpy."""
    q = X.shape[1]
    m = np.array([X[y == j].mean(axis=0) for j in range(q)])
    delta = np.max(np.linalg.norm(X - m[y], axis=1))
    bary = m.mean(axis=0)
    r = delta / np.min(np.linalg.norm(m - bary, axis=1))
    theta = -np.inf
    for j in range(q):
        f = bary - m[j]
        for k in range(q):
            if k != j:
                e = m[k] - m[j]
                c = e @ f / (np.linalg.norm(e) * np.linalg.norm(f))
                half = math.acos(min(1.0, max(-1.0, c))) + math.asin(4 * delta / np.linalg.norm(e))
                theta = max(theta, 2 * half)
    sv = np.linalg.svd(m.T, compute_uv=False)
    return delta, r, theta, sv[0] / sv[-1]


def make_data(capsys, path, q=3, n=20, delta_ratio=0.05, *extra):
    rc, out, err = run(
        capsys, "make-data", "--Q", q, "--n", n, "--delta-ratio", delta_ratio, "--seed", 3, "--out", path, *extra
    )
    assert rc == 0, err
    assert path.is_file()
    return out


def assert_one_error_line(err):
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("dlgeom: error: ")
    return lines[0]


# --------------------------------------------------------------------------------------------
# help


@pytest.mark.parametrize(
    "sub,options",
    [
        ([], ["make-data", "check", "construct", "--version"]),
        (["make-data"], ["--Q", "--n", "--delta-ratio", "--theta", "--noise", "--outliers", "--seed", "--out"]),
        (["check"], ["--data", "--theta0", "--out"]),
        (["construct"], ["--data", "--layers", "--out", "--mu", "--mu-samples", "--probe"]),
    ],
)
def test_help_via_python_m(sub, options):
    proc = subprocess.run([sys.executable, "-m", "dlgeom", *sub, "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.startswith(f"usage: dlgeom {' '.join(sub)}".rstrip())
    for opt in options:
        assert opt in proc.stdout


def test_help_and_version_in_process(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: dlgeom")
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"dlgeom {dlgeom.__version__}"


def test_missing_subcommand_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2


# --------------------------------------------------------------------------------------------
# round trip


@pytest.mark.parametrize("q,suffix", [(3, ".npz"), (3, ".csv"), (2, ".npz")])
def test_make_data_check_construct_round_trip(tmp_path, capsys, q, suffix):
    data = tmp_path / f"train{suffix}"
    out = make_data(capsys, data, q)
    X, y = read_xy(data)
    assert X.shape == (20 * q, q) and X.dtype == np.float64
    np.testing.assert_array_equal(np.bincount(y), [20] * q)
    delta, r, theta, cond = np_geometry(X, y)
    assert abs(r - 0.05) <= 1e-12
    assert out.startswith(f"wrote {data}: N={20 * q} Q={q} ")

    # check: assumptions report as JSON on stdout (and the same in --out)
    report_path = tmp_path / "check.json"
    rc, out, err = run(capsys, "check", "--data", data, "--out", report_path)
    assert rc == 0 and err == ""
    report = json.loads(out)
    assert json.loads(report_path.read_text()) == report
    assert report["dataset"]["N"] == 20 * q and report["dataset"]["Q"] == q
    a = report["assumptions"]
    for key in ("A1", "A2", "A3"):
        assert set(CHECK_KEYS) <= set(a[key])
        assert isinstance(a[key]["holds"], bool)
        for k in ("value", "bound", "margin"):
            assert isinstance(a[key][k], float)
    assert a["r"] == pytest.approx(r, rel=1e-12)
    assert a["theta_max"] == pytest.approx(theta, rel=1e-12)
    assert a["cond_xred"] == pytest.approx(cond, rel=1e-9)
    assert a["A2"] == pytest.approx({"holds": True, "value": r, "bound": 0.25, "margin": 0.25 - r}, rel=1e-12)
    assert a["A3"]["value"] == pytest.approx(theta, rel=1e-12)
    assert a["A3"]["bound"] == pytest.approx(np.pi - 1e-7, rel=1e-15)  # A3_LIMIT: π less the angle tolerance
    assert a["A3"]["holds"] is bool(theta < np.pi - 1e-7)
    assert a["A1"]["holds"] is True
    assert a["A1"]["value"] == pytest.approx(cond, rel=1e-9)  # Y = I, so cond(X^red) rules
    assert a["delta"] == pytest.approx(delta, rel=1e-12)
    if suffix == ".csv":
        assert report["dataset"]["meta"] == {"source": str(data)}
    else:
        assert report["dataset"]["meta"]["realised"]["r"] == pytest.approx(r, rel=1e-12)

    # construct with L = Q and L = Q + 1
    for L in (q, q + 1):
        result = tmp_path / f"construct-{L}.json"
        rc, out, err = run(capsys, "construct", "--data", data, "--layers", L, "--out", result, "--mu-samples", 2)
        assert rc == 0, err
        assert out == ""
        assert all(line.startswith("[dlgeom] ") for line in err.splitlines())
        res = json.loads(result.read_text())
        for key in ("cost", "mu", "assumptions", "patterns"):
            assert key in res
        assert res["layers"] == L
        assert 0.0 <= res["cost"] <= 1e-12
        assert res["zero_cost"] is True
        assert len(res["mu"]) == q
        lo, hi = res["mu_box"]
        assert hi == pytest.approx(-2 * delta * math.sqrt(q), rel=1e-12)
        assert all(lo < m < hi for m in res["mu"]) and res["mu_in_box"] is True
        for key in ("r", "theta_max", "theta0", "theta_star", "cond_xred", "A1", "A2", "A3"):
            assert key in res["assumptions"]
        assert res["assumptions"]["r"] == pytest.approx(r, rel=1e-12)
        pats = res["patterns"]
        assert len(pats) == 2**q
        assert sorted(tuple(p["s"]) for p in pats) == sorted(itertools.product((0, 1), repeat=q))
        for p in pats:
            for key in ("s", "value_paper", "value_biasfree", "value_affine", "mu_dependent", "stationary"):
                assert key in p
            assert isinstance(p["mu_dependent"], bool) and isinstance(p["stationary"], bool)
            assert p["value_affine"] <= p["value_biasfree"] + 1e-12  # a free bias can only help
        zero = next(p for p in pats if not any(p["s"]))
        assert zero["value_paper"] <= 1e-10 and zero["value_affine"] <= 1e-10
        full = next(p for p in pats if all(p["s"]))
        assert full["value_affine"] > 1e-6  # nothing collapsed: the noise costs something


def test_construct_uses_given_mu_exactly(tmp_path, capsys):
    data = tmp_path / "d.npz"
    make_data(capsys, data)
    first = tmp_path / "first.json"
    assert (
        run(
            capsys,
            "construct",
            "--data",
            data,
            "--layers",
            3,
            "--out",
            first,
            "--mu-samples",
            0,
            "--no-patterns",
            "--quiet",
        )[0]
        == 0
    )
    lo, hi = json.loads(first.read_text())["mu_box"]
    mu = [lo + (hi - lo) * t for t in (0.2, 0.5, 0.8)]
    second = tmp_path / "second.json"
    rc, out, err = run(
        capsys,
        "construct",
        "--data",
        data,
        "--layers",
        3,
        "--out",
        second,
        "--mu=" + ",".join(repr(m) for m in mu),
        "--mu-samples",
        0,
        "--no-patterns",
        "--quiet",
    )
    assert rc == 0 and out == "" and err == ""
    res = json.loads(second.read_text())
    assert res["mu"] == mu
    assert res["cost"] <= 1e-12
    assert "patterns" not in res


def test_construct_accepts_negative_mu_as_separate_argument(tmp_path, capsys, train):
    first = tmp_path / "first.json"
    assert (
        run(
            capsys,
            "construct",
            "--data",
            train,
            "--layers",
            3,
            "--out",
            first,
            "--mu-samples",
            0,
            "--no-patterns",
            "--quiet",
        )[0]
        == 0
    )
    mu = json.loads(first.read_text())["mu"]
    second = tmp_path / "second.json"
    rc, _, err = run(
        capsys,
        "construct",
        "--data",
        train,
        "--layers",
        3,
        "--out",
        second,
        "--mu",
        ",".join(repr(m) for m in mu),
        "--no-patterns",
        "--quiet",
    )
    assert rc == 0, err
    assert json.loads(second.read_text())["mu"] == mu


def test_check_reports_r_of_outlier_data(tmp_path, capsys):
    data = tmp_path / "o.npz"
    make_data(capsys, data, 3, 20, 0.1, "--outliers", 0.1, "--noise", "gaussian")
    X, y = read_xy(data)
    _, r, _, _ = np_geometry(X, y)
    assert r > 0.1
    rc, out, _ = run(capsys, "check", "--data", data)
    assert rc == 0
    a = json.loads(out)["assumptions"]
    assert a["r"] == pytest.approx(r, rel=1e-12)
    assert a["A2"]["holds"] is bool(r < 0.25)


def test_make_data_is_deterministic(tmp_path, capsys):
    make_data(capsys, tmp_path / "a.npz")
    make_data(capsys, tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


# --------------------------------------------------------------------------------------------
# errors


@pytest.fixture
def train(tmp_path, capsys):
    path = tmp_path / "train.npz"
    make_data(capsys, path)
    return path


def _malformed_csv(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("x1,x2,x3,label\n1,0,0,0\n1,0,0,0\n0,1,zero,1\n0,1,0,1\n0,0,1,2\n0,0,1,2\n")
    return path


@pytest.mark.parametrize(
    "case",
    ["layers < Q", "layers 0", "mu count", "mu outside box", "missing data", "malformed csv", "missing test data"],
)
def test_construct_errors(tmp_path, capsys, train, case):
    out_file = tmp_path / "result.json"
    data = train
    extra = []
    layers = 3
    if case == "layers < Q":
        layers, expect = 2, "--layers"
    elif case == "layers 0":
        layers, expect = 0, "--layers"
    elif case == "mu count":
        extra, expect = ["--mu=-0.3,-0.3"], "--mu"
    elif case == "mu outside box":
        extra, expect = ["--mu=-0.3,0.5,-0.3"], "mu[1]"
    elif case == "missing data":
        data = tmp_path / "nope.npz"
        expect = str(data)
    elif case == "malformed csv":
        data = _malformed_csv(tmp_path)
        expect = str(data)
    else:
        extra = ["--test-data", str(tmp_path / "missing-test.csv")]
        expect = str(tmp_path / "missing-test.csv")
    rc, out, err = run(
        capsys, "construct", "--data", data, "--layers", layers, "--out", out_file, "--mu-samples", 2, *extra
    )
    assert rc == 2
    line = assert_one_error_line(err)
    assert line.startswith(f"dlgeom: error: {expect}"), line
    assert not out_file.exists()
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


@pytest.mark.parametrize("which", ["missing", "malformed"])
def test_check_errors(tmp_path, capsys, which):
    data = tmp_path / "nope.csv" if which == "missing" else _malformed_csv(tmp_path)
    out_file = tmp_path / "report.json"
    rc, out, err = run(capsys, "check", "--data", data, "--out", out_file)
    assert rc == 2 and out == ""
    assert assert_one_error_line(err).startswith(f"dlgeom: error: {data}:")
    assert not out_file.exists()


@pytest.mark.parametrize("name", ["d.txt", "d.json", "d", "d.npz.old"])
def test_make_data_bad_suffix_leaves_no_file(tmp_path, capsys, name):
    rc, out, err = run(capsys, "make-data", "--Q", 3, "--n", 10, "--out", tmp_path / name)
    assert rc == 2 and out == ""
    assert assert_one_error_line(err).startswith("dlgeom: error: --out:")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args,name",
    [
        (["--Q", 1], "--Q"),
        (["--Q", 3, "--n", 1], "--n"),
        (["--Q", 3, "--n", "10,10"], "n_per_class"),
        (["--Q", 2, "--theta", 1.0], "theta"),
        (["--Q", 3, "--delta-ratio", 0], "delta_ratio"),
        (["--Q", 3, "--outliers", 0.5], "outlier_fraction"),
        (["--Q", 3, "--seed", -4], "--seed"),
    ],
)
def test_make_data_bad_arguments(tmp_path, capsys, args, name):
    target = tmp_path / "d.npz"
    rc, out, err = run(capsys, "make-data", *args, "--out", target)
    assert rc == 2 and out == ""
    assert assert_one_error_line(err).startswith(f"dlgeom: error: {name}:")
    assert list(tmp_path.iterdir()) == []


def test_data_and_cell_commands_do_not_import_the_heavy_libraries(tmp_path):
    """Every study job starts the CLI: building the parser and making a dataset must not import
    scikit-learn, matplotlib or pandas (about 2 s per job before; see README, Performance)."""
    code = (
        "import sys; from dlgeom.cli import main; "
        f"rc = main(['make-data', '--Q', '3', '--delta-ratio', '0.1', '--n', '5', '--test-n', '3', "
        f"'--replicates', '1', '--seed', '1', '--out-dir', {str(tmp_path / 'd')!r}]); "
        "import dlgeom.study.cell; "
        "print(rc, sorted(m for m in ('sklearn', 'matplotlib', 'pandas', 'scipy.stats') if m in sys.modules))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split()[-2:] == ["0", "[]"], res.stdout


def test_a_closed_stdout_pipe_stops_quietly(tmp_path):
    """`dlgeom check … | head`: when the reader of stdout has gone, the command stops with 141
    (as a tool killed by SIGPIPE) and no error line; a real failure still gets its line."""
    import os

    data = tmp_path / "d.npz"
    assert main(["make-data", "--Q", "3", "--n", "50", "--out", str(data)]) == 0
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the command writes
    try:
        res = subprocess.run(
            [sys.executable, "-m", "dlgeom", "check", "--data", str(data)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert res.returncode == 141 and res.stderr == ""
    missing = subprocess.run(
        [sys.executable, "-m", "dlgeom", "check", "--data", str(tmp_path / "none.npz")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "none.npz" in missing.stderr


def test_the_commands_of_the_help_epilog_run_as_written(tmp_path):
    """Every command of ``dlgeom --help``'s "start here" runs as printed, in a fresh folder that
    holds only the user's CSV the last one names."""
    import re
    import shutil

    from dlgeom.cli import EPILOG

    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    shutil.copy(root / "config" / "example_data" / "blobs.csv", tmp_path / "mydata.csv")
    commands = re.findall(r"^  (dlgeom .+?)(?:\s{2,}|$)", EPILOG, re.M)
    assert [c.split()[1] for c in commands] == ["make-data", "check", "construct", "realdata"]
    for command in commands:
        res = subprocess.run(
            [sys.executable, "-m", *command.split()], cwd=tmp_path, capture_output=True, text=True, timeout=600
        )
        assert res.returncode == 0, (command, res.stderr)
    assert {"data.npz", "construction.json", "real.json"} <= {p.name for p in tmp_path.iterdir()}
