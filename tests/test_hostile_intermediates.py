"""Damaged outputs: a truncated or hand-edited intermediate file is named (with what to do), never
blamed on "other settings"; and a hand edit of a committed table is caught by the provenance
sidecars of the files computed from it."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from dlgeom.study.layout import check_settings, settings_stamp, write_settings
from dlgeom.validation import DlgeomInputError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def study(tmp_path):
    """A settings folder and two current outputs: a cell JSON and a table with its sidecar."""
    folder = tmp_path / "settings"
    write_settings(folder, {"grid": {"a": 1}})
    stamp = settings_stamp(folder / "grid.json")
    (tmp_path / "cell.json").write_text(json.dumps({"settings": stamp, "rows": [1, 2, 3]}, indent=2))
    (tmp_path / "t.csv").write_text("a\n1\n")
    (tmp_path / "t.csv.prov.json").write_text(json.dumps({"settings": [stamp]}, indent=2))
    check_settings([tmp_path / "cell.json", tmp_path / "t.csv"], folder)  # current: accepted
    return tmp_path, folder


@pytest.mark.parametrize("damage", ["truncated", "emptied", "not an object", "binary"])
@pytest.mark.parametrize("which", ["cell.json", "t.csv.prov.json"])
def test_a_damaged_intermediate_is_named_not_blamed_on_settings(study, which, damage):
    root, folder = study
    path = root / which
    text = path.read_text()
    path.write_bytes(
        {
            "truncated": text[: len(text) // 2].encode(),
            "emptied": b"",
            "not an object": b"[1, 2]",
            "binary": b"\xff\xfe\x00garbage",
        }[damage]
    )
    with pytest.raises(DlgeomInputError) as info:
        check_settings([root / "cell.json", root / "t.csv"], folder)
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg
    assert "not a complete output" in msg and "delete it" in msg and "other settings" not in msg


def test_outputs_of_other_settings_are_still_refused_as_such(study):
    root, folder = study
    write_settings(folder, {"grid": {"a": 2}})
    with pytest.raises(DlgeomInputError, match="other settings"):
        check_settings([root / "cell.json", root / "t.csv"], folder)


# --- committed reference tables ------------------------------------------------------------------


def recorded_input_mismatches(results: Path, repo: Path) -> list[str]:
    """Every input a committed sidecar records that is itself a committed file of ``results``, whose
    sha256 differs from the recorded one (the file was changed after what was computed from it)."""
    bad = []
    for side in sorted(results.rglob("*.prov.json")):
        for entry in json.loads(side.read_text())["inputs"]:
            path = repo / entry["path"]
            rel = Path(entry["path"])
            if rel.is_absolute() or not path.is_file() or results.name not in rel.parts[:2]:
                continue
            if hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
                bad.append(f"{side.name}: {entry['path']}")
    return bad


@pytest.mark.parametrize("study_name", ["default", "paper"])
def test_committed_tables_are_those_their_figures_and_claims_were_computed_from(study_name):
    results = ROOT / "results" / study_name
    if not results.is_dir():
        pytest.skip(f"results/{study_name} is not committed here")
    assert recorded_input_mismatches(results, ROOT) == []


def test_a_hand_edit_of_a_committed_table_is_caught(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "results" / "default", repo / "results" / "default")
    phase = repo / "results" / "default" / "tables" / "phase.csv"
    lines = phase.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace("1", "2", 1) if "1" in lines[1] else lines[1] + " "
    phase.write_text("".join(lines))
    bad = recorded_input_mismatches(repo / "results" / "default", repo)
    assert any("results/default/tables/phase.csv" in b for b in bad)


# --- truncated outputs stop the workflow before any job (and before Snakemake deletes anything) -----


def test_truncated_json_outputs_are_found_from_their_last_bytes(tmp_path):
    from dlgeom.jsonutil import write_json
    from dlgeom.study.layout import truncated_outputs

    good = [write_json({"a": [1, 2]}, tmp_path / "a.json"), write_json([1, {"b": 2}], tmp_path / "b.json")]
    (tmp_path / "sub").mkdir()
    text = (tmp_path / "a.json").read_text()
    cuts = {
        "half": text[: len(text) // 2],
        "inside a string": '{"key": "Q2/thet',
        "empty": "",
        "after a number": text[: text.index("1") + 1],
    }
    for name, cut in cuts.items():
        (tmp_path / "sub" / f"{name}.json").write_text(cut)
    (tmp_path / "spaced.json").write_text('{"a": 1}  \n\n')  # a hand-formatted complete file
    found = truncated_outputs(tmp_path)
    assert sorted(p.name for p in found) == sorted(f"{n}.json" for n in cuts)
    assert not set(good) & set(found)


def test_a_study_with_a_truncated_cell_stops_before_any_job_and_deletes_nothing(tmp_path):
    import os
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "snakemake"
    if not exe.exists():
        pytest.skip("snakemake is not installed")
    shutil.copytree(ROOT / "config", tmp_path / "config")
    study = tmp_path / "results" / "tiny"
    (study / "cells" / "Q2" / "thetaregular").mkdir(parents=True)
    (study / "tables").mkdir()
    cell = study / "cells" / "Q2" / "thetaregular" / "r0.05.json"
    cell.write_text('{\n  "key": "Q2/thetaregular/r0.05",\n  "rows": [\n    {"a": 1')
    (study / "tables" / "phase.csv").write_text("a\n1\n")
    (study / "tables" / "phase.csv.prov.json").write_text("{}\n")
    before = sorted(str(p.relative_to(tmp_path)) for p in study.rglob("*"))
    res = subprocess.run(
        [str(exe), "-s", str(ROOT / "Snakefile"), "--configfile", "config/test.yaml", "--cores", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
    )
    assert res.returncode == 1
    errors = [line for line in res.stderr.splitlines() if line.startswith("dlgeom: error:")]
    assert len(errors) == 1 and str(cell.relative_to(tmp_path)) in errors[0] and "truncated" in errors[0]
    assert sorted(str(p.relative_to(tmp_path)) for p in study.rglob("*")) == before
