"""Same bytes on every x86-64 CPU with AVX2 and on every supported Python; a verifier a reader can run.

Fast tests: the pin's decisions (dlgeom.cpu_pin) on made-up CPUs, that the pin is in force in this
process (threadpoolctl's kernel, numpy's dispatch), provenance, and ``dlgeom verify`` on the tiny
study against perturbed copies of it.  Slow tests (``-m slow``): the tiny study rerun with another
OpenBLAS kernel forced, on Python 3.12 from requirements.lock, and on the lower bounds of
pyproject.toml, each compared with the tiny study of this process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dlgeom import cpu_pin

ROOT = Path(__file__).resolve().parents[1]
AVX2 = frozenset(cpu_pin.REQUIRED_FLAGS)


# --- the pin ---------------------------------------------------------------------------------------


def test_pin_sets_both_variables_on_an_avx2_cpu_and_marks_them_as_its_own():
    env = {}
    got = cpu_pin.pin(env, machine="x86_64", flags=AVX2 | {"avx512f"}, numpy_names=True)
    assert got == {"OPENBLAS_CORETYPE": "Haswell", "NPY_ENABLE_CPU_FEATURES": "X86_V3"}
    assert env[cpu_pin.MARKER] == "OPENBLAS_CORETYPE=Haswell,NPY_ENABLE_CPU_FEATURES=X86_V3"


def test_pin_keeps_what_the_user_set():
    env = {"OPENBLAS_CORETYPE": "SkylakeX"}
    got = cpu_pin.pin(env, machine="x86_64", flags=AVX2, numpy_names=True)
    assert got == {"OPENBLAS_CORETYPE": "SkylakeX", "NPY_ENABLE_CPU_FEATURES": "X86_V3"}
    assert env[cpu_pin.MARKER] == "NPY_ENABLE_CPU_FEATURES=X86_V3"


@pytest.mark.parametrize(
    "machine, flags",
    [("aarch64", AVX2), ("x86_64", AVX2 - {"avx2"}), ("x86_64", AVX2 - {"fma"}), ("x86_64", frozenset())],
)
def test_pin_leaves_cpus_that_cannot_run_it_alone(machine, flags):
    env = {}
    assert cpu_pin.pin(env, machine=machine, flags=flags, numpy_names=True) == {}
    assert env == {}


def test_a_pin_inherited_from_a_parent_is_removed_on_a_cpu_without_avx2():
    parent = {}
    cpu_pin.pin(parent, machine="x86_64", flags=AVX2, numpy_names=True)
    child = dict(parent)  # a cluster node that inherited the submitting host's environment
    assert cpu_pin.pin(child, machine="x86_64", flags=frozenset({"sse2"}), numpy_names=True) == {}
    assert child == {}


def test_older_numpy_gets_only_the_blas_pin():
    env = {}
    assert cpu_pin.pin(env, machine="x86_64", flags=AVX2, numpy_names=False) == {"OPENBLAS_CORETYPE": "Haswell"}


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    f = tmp_path / "cpuinfo"
    f.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 fma\n")
    assert cpu_pin.cpu_flags(str(f)) == {"fpu", "sse2", "avx2", "fma"}
    assert cpu_pin.cpu_flags(str(tmp_path / "missing")) == frozenset()


needs_pin = pytest.mark.skipif(not cpu_pin.can_pin(), reason="this CPU cannot run the pinned kernel (no AVX2)")


@needs_pin
def test_the_pinned_kernel_and_dispatch_run_in_this_process():
    """conftest imports dlgeom before numpy, so both OpenBLAS copies (numpy's and scipy's) run the pinned
    kernel and numpy dispatches to X86_V3 only, whatever this CPU would choose by itself."""
    import scipy.linalg  # noqa: F401 - loads scipy's OpenBLAS

    if os.environ.get("OPENBLAS_CORETYPE") != "Haswell":
        pytest.skip("OPENBLAS_CORETYPE set by the user")
    kernels = cpu_pin.blas_kernels()
    assert len(kernels) >= 2, kernels
    assert {k["kernel"] for k in kernels} == {"Haswell"}, kernels
    if cpu_pin._numpy_knows_x86_v3():
        assert cpu_pin.numpy_dispatch() == ["X86_V3"]


def test_the_numpy_version_read_without_importing_it_is_the_installed_one(tmp_path, monkeypatch):
    import importlib.machinery
    import importlib.util
    from importlib import metadata

    assert cpu_pin._numpy_version() == metadata.version("numpy")
    # a numpy whose version.py cannot be read: the package metadata answers
    fake = tmp_path / "numpy"
    fake.mkdir()
    (fake / "__init__.py").write_text("")
    spec = importlib.machinery.ModuleSpec("numpy", None, origin=str(fake / "__init__.py"))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec if name == "numpy" else None)
    assert cpu_pin._numpy_version() == metadata.version("numpy")
    (fake / "version.py").write_text('version: str = "2.3.1"\n')
    assert cpu_pin._numpy_version() == "2.3.1" and not cpu_pin._numpy_knows_x86_v3()


@needs_pin
def test_provenance_records_the_kernel_not_the_machine():
    from dlgeom.study.provenance import environment

    env = environment()
    assert env["blas_kernel"] == "Haswell"
    assert "cpu" not in env and not any("avx512" in str(v).lower() for v in env.values())


# --- the verifier ----------------------------------------------------------------------------------


def _verify(reference, rerun, *extra):
    return subprocess.run(
        [sys.executable, "-m", "dlgeom", "verify", "--reference", str(reference), "--rerun", str(rerun), *extra],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def rerun_copy(tiny_study, tmp_path):
    """A copy of the tiny study's tables and figures, to perturb."""
    src = tiny_study / "results" / "tiny"
    for sub in ("tables", "figures"):
        shutil.copytree(src / sub, tmp_path / sub)
    return src / "tables", tmp_path / "tables"


def _edit_csv(path, row, column, fn):
    import pandas as pd

    df = pd.read_csv(path, keep_default_na=False)
    df.loc[row, column] = fn(df.loc[row, column])
    df.to_csv(path, index=False)


def test_verify_an_identical_rerun_passes_also_with_identical(rerun_copy):
    ref, new = rerun_copy
    res = _verify(ref, new, "--identical")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "tables identical" in res.stdout and "PASS" in res.stdout
    assert "prop22" in res.stdout and "identical" in res.stdout


def test_verify_a_number_moved_within_tolerance_passes_but_is_not_identical(rerun_copy):
    ref, new = rerun_copy
    _edit_csv(new / "phase.csv", 0, "r", lambda v: float(v) * (1 + 1e-9))
    res = _verify(ref, new)
    assert res.returncode == 0, res.stdout + res.stderr
    line = next(ln for ln in res.stdout.splitlines() if " phase " in ln)
    assert "within tolerance" in line and ("e-09" in line or "e-10" in line), line
    assert _verify(ref, new, "--identical").returncode == 1


def test_verify_a_number_beyond_tolerance_is_noted(rerun_copy):
    ref, new = rerun_copy
    _edit_csv(new / "phase.csv", 0, "r", lambda v: float(v) * 1.01)
    res = _verify(ref, new)
    line = next(ln for ln in res.stdout.splitlines() if " phase " in ln)
    assert line.strip().startswith("NOTE") and "beyond tolerance" in line
    assert res.returncode == 0


def test_verify_a_changed_verdict_fails(rerun_copy):
    ref, new = rerun_copy
    _edit_csv(new / "claims.csv", 0, "verdict", lambda v: "fails" if v != "fails" else "holds")
    res = _verify(ref, new)
    assert res.returncode == 1
    assert "verdict differs" in res.stdout and "FAIL" in res.stdout.splitlines()[-1]


def test_verify_a_changed_claim_count_fails_and_a_finding_count_is_marked(rerun_copy):
    import pandas as pd

    ref, new = rerun_copy
    claims = pd.read_csv(new / "claims.csv")
    finding = int(claims.index[claims["kind"] == "finding"][0])
    _edit_csv(new / "claims.csv", finding, "n_cases", lambda v: int(v) + 1)
    res = _verify(ref, new)
    assert res.returncode == 0 and "counts moved" in res.stdout, res.stdout
    claim = int(claims.index[claims["kind"] == "claim"][0])
    _edit_csv(new / "claims.csv", claim, "n_counter", lambda v: int(v) + 1)
    res = _verify(ref, new)
    assert res.returncode == 1 and "counts differ" in res.stdout, res.stdout


def test_verify_a_missing_table_fails_and_a_bad_directory_is_one_line(rerun_copy, tmp_path):
    ref, new = rerun_copy
    (new / "prop22.csv").unlink()
    res = _verify(ref, new)
    assert res.returncode == 1 and "missing" in res.stdout
    res = _verify(ref, tmp_path / "nowhere")
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "--rerun" in res.stderr


@pytest.mark.parametrize("table", ["neural_collapse", "separation"])
def test_verify_holds_the_constructed_rows_of_a_mixed_table_and_reports_the_trained_ones(table, tmp_path):
    """A table with rows of constructed and of trained networks: a trained row that moves or
    disappears (another optimiser outcome) is reported in the note; a constructed row that moves
    beyond the tolerance is a NOTE, as in any deterministic table."""
    import pandas as pd

    from dlgeom.study.verify import compare_table

    ref = ROOT / "results" / "default" / "tables" / f"{table}.csv"
    df = pd.read_csv(ref, keep_default_na=False)
    trained = df["source"].str.startswith("trained")
    assert trained.any() and (~trained).any(), "the committed table should hold both kinds of rows"
    number = next(c for c in df.columns if c not in ("cell", "source", "Q", "L") and df[c].dtype.kind == "f")
    new = tmp_path / f"{table}.csv"

    moved = df.copy()
    row = int(moved.index[trained & (moved[number].abs() > 1e-3)][0])
    moved.loc[row, number] *= 1.5
    moved.drop(index=moved.index[trained][-1]).to_csv(new, index=False)
    check = compare_table(ref, new)
    assert check.status == "within tolerance" and check.ok, check
    assert f"trained rows reported: rows {int(trained.sum())} → {int(trained.sum()) - 1}" in check.note

    constructed = df.copy()
    row = int(constructed.index[~trained & (constructed[number].abs() > 1e-3)][0])
    constructed.loc[row, number] *= 1.01
    constructed.to_csv(new, index=False)
    check = compare_table(ref, new)
    assert check.status == "beyond tolerance" and 0.009 < check.max_rel < 0.011, check
    assert "trained rows reported: max rel diff 0.00e+00" in check.note


@pytest.mark.parametrize("study", ["default", "paper"])
def test_verify_knows_every_table_a_study_writes(study):
    """Every committed table is deterministic, an optimiser outcome or mixed, and in one class only:
    a new table of the workflow fails here until the verifier is told how to compare it (the
    scaling stage's tables, optimiser outcomes, were once compared as deterministic)."""
    from dlgeom.study.verify import CHAOTIC_TABLES, DETERMINISTIC_TABLES, MIXED_TABLES

    classes = [DETERMINISTIC_TABLES, CHAOTIC_TABLES, frozenset(MIXED_TABLES)]
    assert sum(len(c) for c in classes) == len(frozenset().union(*classes)), "a table in two classes"
    written = {p.stem for p in (ROOT / "results" / study / "tables").glob("*.csv")}
    assert written, f"results/{study}/tables has no tables"
    assert written <= frozenset().union(*classes), f"unclassified: {sorted(written - frozenset().union(*classes))}"
    assert {"landscape_scaling", "scaling_claims"} <= CHAOTIC_TABLES


def test_verify_names_a_table_it_does_not_know(tmp_path):
    from dlgeom.study.verify import compare_table

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "mine.csv").write_text("x,y\n1,2.0\n")
    (tmp_path / "b" / "mine.csv").write_text("x,y\n1,2.0000000001\n")
    check = compare_table(tmp_path / "a" / "mine.csv", tmp_path / "b" / "mine.csv")
    assert check.status == "within tolerance" and "unknown table" in check.note, check


# --- slow: other kernels, other Pythons, the lower bounds ---------------------------------------


def _run_tiny(python: Path, workdir: Path, env: dict | None = None) -> Path:
    """The tiny study with ``python`` (its environment's Snakemake and dlgeom) in ``workdir``."""
    cfg = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
    cfg["datasets"][0]["path"] = str(ROOT / "config" / "example_data" / "blobs.csv")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "test.yaml").write_text(yaml.safe_dump(cfg))
    full = {**os.environ, **(env or {}), "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}"}
    res = subprocess.run(
        [
            str(python),
            "-m",
            "snakemake",
            "-s",
            str(ROOT / "Snakefile"),
            "-d",
            str(workdir),
            "--configfile",
            str(workdir / "test.yaml"),
            "--cores",
            "2",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        env=full,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return workdir / "results" / "tiny"


def _differing(a: Path, b: Path) -> list[str]:
    """Tables and figures (not provenance sidecars, which name the Python and libraries) that differ."""
    names = sorted(
        str(p.relative_to(a))
        for sub in ("tables", "figures")
        for p in (a / sub).iterdir()
        if not p.name.endswith(".prov.json")
    )
    return [n for n in names if not (b / n).is_file() or (a / n).read_bytes() != (b / n).read_bytes()]


@pytest.mark.slow
@needs_pin
def test_tiny_study_another_kernel_forced_keeps_the_contract(tiny_study, tmp_path):
    """SkylakeX forced (this machine's own choice where it has AVX-512): bytes may differ, but every
    verdict and every claim's counts equal the pinned run's (the contract of docs/studies.md)."""
    other = _run_tiny(Path(sys.executable), tmp_path / "skx", {"OPENBLAS_CORETYPE": "SkylakeX"})
    res = _verify(tiny_study / "results" / "tiny" / "tables", other / "tables")
    assert res.returncode == 0, res.stdout[-4000:]


def _python(version: str) -> str | None:
    """An interpreter of ``version`` (PATH, then pyenv's versions), or None."""
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(str(p) for p in Path.home().glob(f".pyenv/versions/{version}*/bin/python{version}"))
    for c in filter(None, candidates):
        if subprocess.run([c, "--version"], capture_output=True).returncode == 0:
            return c
    return None


def _venv(python: str, where: Path, *requirements: list[str]) -> Path:
    subprocess.run([python, "-m", "venv", str(where)], check=True, timeout=300)
    py = where / "bin" / "python"
    for req in requirements:
        res = subprocess.run(
            [str(py), "-m", "pip", "install", "--quiet", *req], capture_output=True, text=True, timeout=1800
        )
        assert res.returncode == 0, res.stderr[-3000:]
    return py


@pytest.mark.slow
@needs_pin
@pytest.mark.parametrize("version", ["3.12", "3.13"])
def test_tiny_study_on_another_python_from_the_lock_gives_the_same_bytes(tiny_study, tmp_path, version):
    """The lock installed on another supported Python: every table and figure has the bytes of
    this Python's run (the compiled kernels are built for the Python that runs the tests; the tiny
    study does not use them)."""
    python = _python(version)
    if python is None:
        pytest.skip(f"no python{version} on this machine (PATH or pyenv): cannot check the lock on Python {version}")
    py = _venv(python, tmp_path / "venv", ["--require-hashes", "--no-deps", "-r", str(ROOT / "requirements.lock")])
    # dlgeom itself comes from this repository's src/ (the Snakefile puts it first on the path)
    other = _run_tiny(py, tmp_path / "run")
    assert _differing(tiny_study / "results" / "tiny", other) == []


def _lower_bounds() -> list[str]:
    """``name==version`` for every dependency of pyproject.toml (and the workflow extra) at its lower bound."""
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["workflow"]
    return [re.sub(r">=", "==", r) for r in reqs]


@pytest.mark.slow
def test_the_lower_bounds_run_the_tiny_study_and_keep_the_contract(tiny_study, tmp_path):
    """Every direct dependency at its lower bound (pyproject.toml), the rest resolved by pip: the tiny
    study runs, and every verdict and claim count equals the locked environment's."""
    py = _venv(sys.executable, tmp_path / "venvlow", _lower_bounds())
    other = _run_tiny(py, tmp_path / "runlow")
    res = _verify(tiny_study / "results" / "tiny" / "tables", other / "tables")
    assert res.returncode == 0, res.stdout[-4000:]


# --- no C compiler -------------------------------------------------------------------------------


def test_without_the_compiled_kernel_help_marks_fused_unavailable(monkeypatch, capsys):
    from dlgeom import batched, cli

    monkeypatch.setattr(batched, "_fused", None)
    with pytest.raises(SystemExit):
        cli.main(["landscape", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "fused: the same with the compiled kernel" in out and "[UNAVAILABLE here" in out


def test_with_the_compiled_kernel_help_does_not_mark_it(capsys):
    from dlgeom import batched, cli

    if batched.fused_unavailable() is not None:
        pytest.skip("the compiled kernel is not built here")
    with pytest.raises(SystemExit):
        cli.main(["landscape", "--help"])
    assert "UNAVAILABLE" not in capsys.readouterr().out


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_the_install_stamp_depends_on_the_compiler_and_the_install_says_so():
    """`make test` after a compiler appears (or disappears) reinstalls: the stamp hashes the compiler's path;
    the install prints whether the kernel was built."""

    def dry(cc):
        res = subprocess.run(
            ["make", "-n", "test", f"CC={cc}", "VENV=/nonexistent-venv"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert res.returncode == 0, res.stderr
        return res.stdout

    with_cc, without = dry("cc"), dry("/nonexistent/cc")
    stamp = [ln for ln in with_cc.splitlines() if "touch" in ln and ".installed-" in ln]
    stamp_without = [ln for ln in without.splitlines() if "touch" in ln and ".installed-" in ln]
    if shutil.which("cc"):
        assert stamp != stamp_without
    assert "no C compiler found" in without and "'fused' is unavailable" in " ".join(without.split())


# --- lower bounds named at start ------------------------------------------------------------------


def test_a_library_older_than_its_lower_bound_is_named_before_any_work(monkeypatch):
    from importlib import metadata

    from dlgeom import versions
    from dlgeom.validation import DlgeomInputError

    real = metadata.version
    monkeypatch.setattr(versions.metadata, "version", lambda name: "2.0.3" if name == "pandas" else real(name))
    with pytest.raises(DlgeomInputError, match=r"pandas 2\.0\.3 is older than 2\.1"):
        versions.check_versions()
    monkeypatch.setattr(versions.metadata, "version", real)
    versions.check_versions()
