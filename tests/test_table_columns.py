"""Every column of every study table is documented: docs/tables.md is generated from
dlgeom.study.table_columns, and the committed tables and a fresh tiny study have exactly the
documented columns, in the documented order."""

from pathlib import Path

import pandas as pd
import pytest

from dlgeom.study.table_columns import COMMON, TABLES, column_names, main, render_tables_reference

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = sorted(p for study in ("default", "paper") for p in (ROOT / "results" / study / "tables").glob("*.csv"))


def _header(path: Path) -> list[str] | None:
    """The table's columns, None for an empty file (a stage without cases writes one)."""
    try:
        return list(pd.read_csv(path, nrows=0).columns)
    except pd.errors.EmptyDataError:
        return None


def test_docs_tables_md_is_the_generated_reference():
    actual = (ROOT / "docs" / "tables.md").read_text(encoding="utf-8")
    expected = render_tables_reference()
    assert actual == expected, "docs/tables.md is out of date: run python -m dlgeom.study.table_columns"


def test_check_mode_detects_a_stale_file(tmp_path):
    out = tmp_path / "tables.md"
    assert main(["--out", str(out)]) == 0
    assert main(["--check", "--out", str(out)]) == 0
    out.write_text(out.read_text(encoding="utf-8").replace("| `dataset` |", "| `name` |", 1), encoding="utf-8")
    assert main(["--check", "--out", str(out)]) == 1


def test_every_column_has_one_meaning():
    for name, (description, columns) in TABLES.items():
        names = [c for c, _ in columns]
        assert description and len(names) == len(set(names)), name
        for c, meaning in columns:
            assert (meaning or COMMON.get(c, "")).strip(), f"{name}.{c}: no meaning"
    text = render_tables_reference()
    for name in TABLES:
        assert f"## {name}.csv" in text
        for c in column_names(name):
            assert f"| `{c}` |" in text


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: f"{p.parents[1].name}/{p.name}")
def test_committed_tables_have_the_documented_columns(path):
    assert path.stem in TABLES, f"{path}: a table not described in dlgeom.study.table_columns"
    header = _header(path)
    if header is not None:
        assert header == column_names(path.stem), (
            f"{path}: undocumented {sorted(set(header) - set(column_names(path.stem)))}, "
            f"missing {sorted(set(column_names(path.stem)) - set(header))} (or another order)"
        )


def test_tiny_study_tables_have_the_documented_columns(tiny_study):
    tables = sorted(tiny_study.glob("results/*/tables/*.csv"))
    assert {p.stem for p in tables} == set(TABLES)  # every table the study writes, and only those
    for path in tables:
        header = _header(path)
        if header is not None:
            assert header == column_names(path.stem), path.name


def test_a_user_dataset_has_one_name_in_every_table(tiny_study):
    t = next(tiny_study.glob("results/*/tables"))
    cons = pd.read_csv(t / "constructions.csv")
    user = cons[cons["kind"] == "user"]
    names = {c.split("/")[1] for c in user["cell"]}
    assert len(user) and set(user["dataset"]) == names == {"blobs"}  # the config's datasets[].name
    for table in ("realdata", "realdata_summary"):
        assert names <= set(pd.read_csv(t / f"{table}.csv")["dataset"]), table


def test_a_user_cell_carries_the_config_name_not_the_file_name(tmp_path):
    """The name given to prepare-data (the config's datasets[].name) is the cell's dataset, even when
    the file is called something else."""
    import json
    import shutil

    from dlgeom.cli import main

    data = tmp_path / "measurements_2024.csv"
    shutil.copy(ROOT / "config" / "example_data" / "blobs.csv", data)
    cell = tmp_path / "cell"
    assert main(["prepare-data", "--data", str(data), "--name", "mine", "--out-dir", str(cell)]) == 0
    out = tmp_path / "cell.json"
    assert (
        main(
            [
                "cell",
                "--data-dir",
                str(cell),
                "--layers-offsets",
                "0",
                "--mu-samples",
                "1",
                "--probe-eps",
                "0.1",
                "--probe-draws",
                "1",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    assert {r["dataset"] for r in json.loads(out.read_text())["rows"]} == {"mine"}
    default = tmp_path / "cell_default"
    assert main(["prepare-data", "--data", str(data), "--out-dir", str(default)]) == 0
    assert json.loads((default / "manifest.json").read_text())["name"] == "measurements_2024"
