"""One folder per study: study names, per-stage settings, settings stamps, the run lock, provenance,
and, end to end, a fresh copy of the repository running the tiny study with interruptions."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from dlgeom import DlgeomInputError
from dlgeom.study.config import load_schema, validate_config
from dlgeom.study.layout import (
    check_settings,
    settings_stamp,
    stage_settings,
    study_name,
    write_settings,
)
from dlgeom.study.provenance import CODE_PATHS, code_commit, environment, write_provenance

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = load_schema(ROOT / "workflow" / "schemas" / "config.schema.yaml")


def _config(**over):
    cfg = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
    cfg["datasets"][0]["path"] = str(ROOT / "config" / "example_data" / "blobs.csv")
    cfg.update(over)
    return validate_config(cfg, SCHEMA)


# ---- study names ------------------------------------------------------------------------------


def test_study_names():
    assert study_name({"study": "default"}, {}) == "default"
    assert study_name({"study": "mine"}, {"study": "mine", "zero_cost": 1e-9}) == "mine"
    for cfg, over, words in [
        ({"study": "default"}, {"zero_cost": 1e-9}, "must name its study"),  # a user config without a name
        ({"study": "default"}, {"study": "default"}, "committed reference"),  # nobody else writes there
        ({"study": "../x"}, {"study": "../x"}, "not a study name"),
        ({"study": "a b"}, {"study": "a b"}, "not a study name"),
        ({"study": "benchmarks"}, {"study": "benchmarks"}, "not a study name"),
        ({"study": ""}, {"study": ""}, "not a study name"),
    ]:
        with pytest.raises(DlgeomInputError, match=words) as err:
            study_name(cfg, over)
        assert "config key 'study'" in str(err.value) and "\n" not in str(err.value)


def test_snakemake_refuses_a_user_config_without_a_study(tmp_path):
    cfg = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
    del cfg["study"]
    cfg["datasets"] = []
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(cfg))
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(ROOT / "Snakefile"),
            "-d",
            str(tmp_path),
            "--configfile",
            str(path),
            "-n",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode != 0
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("dlgeom:")]
    assert len(lines) == 1 and "config key 'study'" in lines[0], res.stderr
    assert not (tmp_path / "results").exists()


# ---- settings per stage -------------------------------------------------------------------------


def test_a_changed_value_changes_exactly_the_settings_of_its_stages():
    base = stage_settings(_config())
    rob = _config()
    rob["robustness"]["axes"]["delta_ratio"] = [0.1, 0.4]
    changed = {k for k, v in stage_settings(rob).items() if base.get(k) != v}
    assert changed == {"robustness_axis_delta_ratio"}
    more_cells = _config()
    more_cells["grid"]["delta_ratio"] = [0.05, 0.2, 0.5]  # new jobs, no changed job
    assert stage_settings(more_cells) == base
    zero = _config(zero_cost=1e-9)
    changed = {k for k, v in stage_settings(zero).items() if base.get(k) != v}
    # every stage that decides whether a cost is zero, and no other (optimiser end points and the
    # neural-collapse stage use their own threshold, dlgeom.thresholds.OPTIMISER_ZERO)
    deciding = {
        "grid",
        "landscape_shape",
        "aggregate",
        "figures",
        "robustness_realdata",
        "robustness_tables",
        "beyond_highdim",
        "beyond_sls",
        "beyond_tables",
    }
    deciding |= {k for k in base if k.startswith("robustness_axis_")}
    assert changed == deciding
    assert all(stage_settings(zero)[k]["zero_cost"] == 1e-9 for k in deciding)
    land = _config()
    land["landscape"]["runs"] = 5
    assert {k for k, v in stage_settings(land).items() if base.get(k) != v} == {"landscape_runs"}


def test_settings_files_are_rewritten_only_when_they_change(tmp_path):
    s = stage_settings(_config())
    paths = write_settings(tmp_path, s)
    before = {k: (p.stat().st_mtime_ns, p.stat().st_ino) for k, p in paths.items()}
    time.sleep(0.01)
    write_settings(tmp_path, s)
    assert {k: (p.stat().st_mtime_ns, p.stat().st_ino) for k, p in paths.items()} == before
    s2 = dict(s, landscape_runs={**s["landscape_runs"], "runs": 99})
    write_settings(tmp_path, s2)
    after = {k: (p.stat().st_mtime_ns, p.stat().st_ino) for k, p in paths.items()}
    assert [k for k in before if after[k] != before[k]] == ["landscape_runs"]
    assert json.loads(paths["landscape_runs"].read_text())["runs"] == 99
    assert not list(tmp_path.glob("*.tmp"))


def test_outputs_with_other_settings_are_refused(tmp_path):
    from dlgeom.jsonutil import set_settings_stamp, write_json

    folder = tmp_path / "settings"
    paths = write_settings(folder, {"grid": {"a": 1}, "aggregate": {"b": 2}})
    try:
        set_settings_stamp(settings_stamp(paths["grid"]))
        write_json({"x": 1}, tmp_path / "cell.json")
        set_settings_stamp(settings_stamp(paths["aggregate"]))
        (tmp_path / "t.csv").write_text("a\n1\n")
        write_provenance(tmp_path / "t.csv", [tmp_path / "cell.json"], "test")
    finally:
        set_settings_stamp(None)
    assert json.loads((tmp_path / "cell.json").read_text())["settings"]["stage"] == "grid"
    check_settings([tmp_path / "cell.json", tmp_path / "t.csv"], folder)  # current: accepted
    write_settings(folder, {"grid": {"a": 2}})  # the grid's settings change
    with pytest.raises(DlgeomInputError, match=r"cell\.json \(stage grid\)") as err:
        check_settings([tmp_path / "cell.json", tmp_path / "t.csv"], folder)
    assert "t.csv" not in str(err.value) and "\n" not in str(err.value)
    (tmp_path / "bare.json").write_text("{}")
    with pytest.raises(DlgeomInputError, match="no settings recorded"):
        check_settings([tmp_path / "bare.json"], folder)


def test_the_check_settings_command(tmp_path):
    from dlgeom.cli import main

    folder = tmp_path / "settings"
    paths = write_settings(folder, {"grid": {"a": 1}})
    out = tmp_path / "c.json"
    assert (
        main(
            [
                "--settings",
                str(paths["grid"]),
                "check",
                "--data",
                str(ROOT / "config" / "example_data" / "blobs.csv"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert main(["check-settings", "--settings-dir", str(folder), "--inputs", str(out)]) == 0
    write_settings(folder, {"grid": {"a": 3}})
    assert main(["check-settings", "--settings-dir", str(folder), "--inputs", str(out)]) == 2


# ---- the run lock ---------------------------------------------------------------------------------


def test_one_run_per_study_and_stale_snakemake_locks_go(tmp_path):
    locks = tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.output.lock").write_text(f"{tmp_path}/results/mine/tables/claims.csv\n")
    (locks / "0.input.lock").write_text("config/example_data/blobs.csv\nresults/mine/cells/a.json\n")
    (locks / "1.output.lock").write_text("results/other/tables/claims.csv\n")
    code = (
        "import sys, time; from dlgeom.study.runlock import acquire_study_lock;"
        "print(len(acquire_study_lock('mine')), flush=True); time.sleep(30)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "2"  # both locks naming study 'mine' were stale
        assert sorted(p.name for p in locks.iterdir()) == ["1.output.lock"]
        second = subprocess.run(
            [sys.executable, "-c", "from dlgeom.study.runlock import acquire_study_lock;acquire_study_lock('mine')"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert second.returncode != 0 and f"pid {holder.pid}" in second.stderr and "wait for it" in second.stderr
        other = subprocess.run(
            [sys.executable, "-c", "from dlgeom.study.runlock import acquire_study_lock;acquire_study_lock('other')"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert other.returncode == 0, other.stderr  # another study may run beside it
    finally:
        holder.kill()
        holder.wait()
    # the holder was killed hard: the lock went with it
    again = subprocess.run(
        [sys.executable, "-c", "from dlgeom.study.runlock import acquire_study_lock;acquire_study_lock('mine')"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0, again.stderr


# ---- provenance ---------------------------------------------------------------------------------


def test_provenance_records_the_environment_and_no_clock(tmp_path):
    env = environment()
    for lib in ("python", "numpy", "scipy", "pandas", "matplotlib", "scikit-learn", "snakemake", "blas"):
        assert env[lib], lib
    (tmp_path / "t.csv").write_text("a\n")
    p1 = write_provenance(tmp_path / "t.csv", [], "test", seed=[1]).read_bytes()
    time.sleep(1.1)
    assert write_provenance(tmp_path / "t.csv", [], "test", seed=[1]).read_bytes() == p1


def _git(*args, cwd=ROOT):
    out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout
    return out.rstrip("\n") if args[0] == "status" else out.strip()


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="not a git checkout")
def test_code_commit_is_the_last_commit_of_the_code():
    expected = _git("log", "-1", "--format=%H", "--", *[p for p in CODE_PATHS if (ROOT / p).exists()])
    assert code_commit().removesuffix("-dirty") == expected


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="not a git checkout")
def test_the_reference_study_is_built_from_the_current_code():
    """results/default/ must come from a clean checkout of the newest commit that changed the code or
    config/config.yaml; otherwise it is stale, and this says which files changed since."""
    provs = sorted((ROOT / "results" / "default").rglob("*.prov.json"))
    assert provs, "results/default/ has no provenance sidecars"
    recorded = {json.loads(p.read_text())["code"]["git_commit"] for p in provs}
    assert len(recorded) == 1, f"results/default/ mixes outputs of several commits: {sorted(recorded)}"
    ref = recorded.pop()
    assert ref and not ref.endswith("-dirty"), f"results/default/ was built from a dirty tree ({ref})"
    paths = [p for p in (*CODE_PATHS, "config/config.yaml") if (ROOT / p).exists()]
    head = _git("log", "-1", "--format=%H", "--", *paths)
    changed = _git("diff", "--name-only", ref, head, "--", *paths) if ref != head else ""
    assert ref == head, (
        f"results/default/ is stale: built from {ref[:12]}, but these files changed since "
        f"(rebuild with `make reference`): {changed.split()}"
    )


# ---- end to end: a fresh copy, interrupted and resumed, then a changed config ------------------------


def _fresh_copy(dest: Path) -> Path:
    """The repository's tracked files as they are in the work tree, committed in a new git repository."""
    files = _git("ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
    for f in filter(None, files):
        src = ROOT / f
        if src.is_file():
            (dest / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dest / f)
    ident = ["-c", "user.name=test", "-c", "user.email=test@example.org"]
    for args in (["init", "-q"], ["add", "-A"], [*ident, "commit", "-qm", "copy"]):
        _git(*args, cwd=dest)
    return dest


def _outputs(folder: Path) -> int:
    return sum(1 for _ in folder.rglob("*.json")) if folder.exists() else 0


def _interrupt(cmd, cwd, env, after_outputs, how, timeout=300):
    """Start ``cmd``, wait until ``after_outputs`` JSON outputs exist under results/tiny, then
    interrupt it: 'int' (Ctrl-C to the process group), 'term' (kill PID) or 'kill' (the whole group,
    hard).  Returns the exit code; fails if the run does not end within a minute of the signal."""
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    t0 = time.monotonic()
    while proc.poll() is None and _outputs(cwd / "results" / "tiny") < after_outputs:
        assert time.monotonic() - t0 < timeout, "the run made no progress"
        time.sleep(0.2)
    if proc.poll() is None:
        if how == "int":
            os.killpg(proc.pid, signal.SIGINT)
        elif how == "term":
            proc.send_signal(signal.SIGTERM)
        else:
            os.killpg(proc.pid, signal.SIGKILL)
    try:
        rc = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"snakemake did not end within 60 s of SIG{how.upper()} (it hung)")
    # jobs that outlived their Snakemake (possible after `kill PID`) end before the resume
    subprocess.run(["pkill", "-KILL", "-s", str(proc.pid)], capture_output=True)
    return rc


def _without_code(path: Path):
    rec = json.loads(path.read_text())
    rec.pop("code", None)
    return rec


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="not a git checkout")
def test_fresh_copy_interrupted_resumed_and_rerun_by_config(tmp_path, tiny_study):
    """From a fresh copy with results/ deleted: the tiny study by the README's command, interrupted
    by SIGINT, SIGTERM and SIGKILL and resumed by the same command, ends with the same tables and
    figures as an uninterrupted run; it writes only results/tiny/; and a changed robustness axis
    reruns exactly that axis and what is computed from it, also without Snakemake's metadata."""
    repo = _fresh_copy(tmp_path / "repo")
    shutil.rmtree(repo / "results")
    env = {**os.environ, "PYTHONPATH": str(repo / "src")}
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "config/test.yaml"]
    for after, how in ((3, "int"), (10, "term"), (20, "kill")):
        _interrupt(cmd, repo, env, after, how)
    res = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    # the same bytes as the uninterrupted run (provenance: the same apart from the commit of the copy)
    mine, ref = repo / "results" / "tiny", tiny_study / "results" / "tiny"
    compared = 0
    for sub in ("tables", "figures"):
        names = sorted(p.name for p in (ref / sub).iterdir())
        assert sorted(p.name for p in (mine / sub).iterdir()) == names
        for n in names:
            if n.endswith(".prov.json"):
                assert _without_code(mine / sub / n) == _without_code(ref / sub / n), n
            else:
                assert (mine / sub / n).read_bytes() == (ref / sub / n).read_bytes(), n
            compared += 1
    assert compared > 40
    # it wrote nothing outside results/tiny/ (and Snakemake's own .snakemake/)
    status = _git("status", "--porcelain", "--ignored", "--untracked-files=all", cwd=repo).splitlines()
    outside = [ln for ln in status if not ln[3:].startswith(("results/", ".snakemake/")) and "__pycache__" not in ln]
    assert outside == []
    written = {p.relative_to(repo / "results").parts[0] for p in (repo / "results").iterdir()}
    assert written == {"tiny"}
    assert [ln for ln in status if ln.startswith(" M")] == []
    # nothing to do when nothing changed, also without the metadata
    shutil.rmtree(repo / ".snakemake")
    dry = subprocess.run(cmd + ["-n"], cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    assert dry.returncode == 0 and "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout[-2000:]
    # a changed robustness axis: exactly its job and what is computed from it
    cfg = yaml.safe_load((repo / "config" / "test.yaml").read_text())
    cfg["robustness"]["axes"]["delta_ratio"] = [0.1, 0.4]
    (repo / "mine.yaml").write_text(yaml.safe_dump(cfg))
    dry = subprocess.run(
        cmd[:-1] + ["mine.yaml", "-n", "--quiet", "rules"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert dry.returncode == 0, dry.stderr[-2000:]
    counts = {}
    for ln in dry.stdout.splitlines():
        parts = ln.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] != "total":
            counts[parts[0]] = int(parts[1])
    assert counts.get("robustness_axis") == 1, counts
    upstream = {
        "cell",
        "landscape_runs",
        "landscape_shape",
        "robustness_realdata",
        "robustness_user",
        "beyond_highdim",
        "beyond_sls",
        "beyond_shallow",
        "beyond_tables",
        "beyond_figures",
    }
    assert not upstream & set(counts), counts
    assert {"robustness_tables", "aggregate"} <= set(counts), counts


def test_a_hostile_dataset_path_reaches_the_shell_quoted(tmp_path):
    """A user dataset whose file name holds a space, quotes and a command substitution: the cell job
    reads the file and runs no code (every value reaches the shell through Snakemake's quoting)."""
    data = tmp_path / "x $(touch INJECTED) 'q'.csv"
    shutil.copy(ROOT / "config" / "example_data" / "blobs.csv", data)
    cfg = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
    cfg["study"] = "hostile"
    cfg["datasets"] = [{"name": "blobs", "path": str(data), "shrink": [1.0], "test_fraction": 0.3}]
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(cfg))
    target = "results/hostile/cells/user/blobs/lambda1.0.json"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(ROOT / "Snakefile"),
            "-d",
            str(tmp_path),
            "--configfile",
            str(tmp_path / "c.yaml"),
            "--cores",
            "1",
            target,
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert not list(tmp_path.rglob("INJECTED")) and not (Path.cwd() / "INJECTED").exists()
    cell = json.loads((tmp_path / target).read_text())
    assert cell["rows"] and all(r["status"] == "ok" for r in cell["rows"])
