"""The study used as a Snakemake module from another directory (docs/usage.md), set up by the doc's
own blocks word for word: a user Snakefile with ``module dlgeom: snakefile: <repo>/Snakefile,
config: config`` and ``use rule * from dlgeom``, the tiny config, a project beside the repository.
Dry run of the whole study, then one grid cell run for real (the whole tiny study end to end is
covered by tests/test_workflow.py)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from doc_blocks import blocks, copy_repo, run_block

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
HAS_SNAKEMAKE = shutil.which("snakemake") is not None or (Path(sys.executable).parent / "snakemake").exists()
pytestmark = pytest.mark.skipif(not HAS_SNAKEMAKE, reason="snakemake is not installed (pip install -e '.[workflow]')")

USAGE = ROOT / "docs" / "usage.md"


def _project(tmp_path: Path, rename: str = "") -> Path:
    """The project directory of docs/usage.md, made by its set-up block exactly as written, run from
    the root of a temporary copy of the repository (the project lands beside the copy).  With
    ``rename``, the last line of its Snakefile takes the suffix docs/usage.md describes."""
    setup = next(b for b in blocks(USAGE) if b.lang == "bash" and "Snakefile" in b.text)
    repo = copy_repo(tmp_path / "repo")
    res = run_block(setup, repo)
    assert res.returncode == 0, res.stderr
    project = tmp_path / "my-study"
    if rename:
        snakefile = project / "Snakefile"
        text = snakefile.read_text(encoding="utf-8")
        assert text.endswith("use rule * from dlgeom\n")
        snakefile.write_text(text[:-1] + rename + "\n", encoding="utf-8")
    return project


def test_the_run_block_of_the_doc_runs_as_written(tmp_path):
    """docs/usage.md's run block (the study and the report as dry runs, by the doc-test convention)."""
    run = [b for b in blocks(USAGE) if b.lang == "bash"][-1]
    assert "cd ../my-study" in run.text
    _project(tmp_path)
    res = run_block(run, tmp_path / "repo")
    assert res.returncode == 0, res.stderr[-3000:]
    assert "This was a dry-run" in res.stdout


def _snakemake(cwd: Path, *args, timeout=300):
    # a clean environment: the module must find the repository's dlgeom by itself
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "HOME": str(cwd)}
    return subprocess.run(SNAKEMAKE + list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _job_counts(stdout: str) -> dict[str, int]:
    lines = stdout.split("Job stats:")[1].splitlines()
    counts = {}
    for line in lines[3:]:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    return counts


def test_dry_run_as_a_module_from_another_directory(tmp_path):
    project = _project(tmp_path)
    res = _snakemake(project, "-n", "--cores", "1")
    assert res.returncode == 0, res.stderr[-3000:]
    counts = _job_counts(res.stdout)
    # the tiny grid: 2 Q × 2 θ (θ = 3.5 only for Q = 3) × 2 r synthetic cells + 2 user cells
    assert counts["cell"] == 8
    assert counts["all"] == 1 and counts["aggregate"] == 1
    # a dry run writes nothing but the study's settings files (results/<study>/settings/)
    written = [p for p in (project / "results").rglob("*") if p.is_file()] if (project / "results").exists() else []
    assert all(p.parent.name == "settings" for p in written), written


def test_rule_names_can_be_prefixed(tmp_path):
    project = _project(tmp_path, rename=" as dlgeom_*")
    res = _snakemake(project, "-n", "--cores", "1")
    assert res.returncode == 0, res.stderr[-3000:]
    counts = _job_counts(res.stdout)
    assert counts["dlgeom_cell"] == 8 and counts["dlgeom_all"] == 1


def test_one_cell_runs_for_real_in_the_users_directory(tmp_path):
    project = _project(tmp_path)
    target = "results/tiny/cells/Q2/thetaregular/r0.05.json"
    res = _snakemake(project, "--cores", "1", target, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    cell = json.loads((project / target).read_text(encoding="utf-8"))
    assert cell["cell"]["cell"] == "Q2/thetaregular/r0.05"
    rows = cell["rows"]
    assert len(rows) == 2 and all(r["status"] == "ok" and r["all_hold"] for r in rows)
    assert max(r["cost_global"] for r in rows) <= 1e-10


def test_a_config_error_is_one_line_through_the_module(tmp_path):
    project = _project(tmp_path)
    cfg = yaml.safe_load((project / "config.yaml").read_text(encoding="utf-8"))
    cfg["grid"]["Q"] = [3, 1]
    (project / "config.yaml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    res = _snakemake(project, "-n", "--cores", "1")
    assert res.returncode != 0
    assert "dlgeom: config error: config key 'grid.Q[1]'" in res.stderr
