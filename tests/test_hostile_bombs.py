"""Resource bombs are refused before work, in one line: YAML alias bombs, duplicate keys and YTE
templates in config files, grids with too many cells, dataset files that inflate past their limit
(.npz zip bombs, .npy headers that declare huge arrays, huge or sparse CSV files), control characters
and option-like paths in the config."""

from __future__ import annotations

import copy
import io
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import yaml

import dlgeom.data as data_mod
from dlgeom.data import load_dataset, save_dataset
from dlgeom.realdata import load_table
from dlgeom.study.config import expand_grid, load_schema, validate_config
from dlgeom.study.config_limits import (
    MAX_CELLS,
    MAX_CONFIG_VALUES,
    check_config_files,
    check_config_limits,
    check_config_size,
)
from dlgeom.synthetic import make_clustered
from dlgeom.validation import MAX_DATASET_BYTES, DlgeomInputError

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = load_schema(ROOT / "workflow" / "schemas" / "config.schema.yaml")
BASE = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
BASE["datasets"][0]["path"] = str(ROOT / "config" / "example_data" / "blobs.csv")


def _one_line(exc) -> str:
    msg = str(exc)
    assert "\n" not in msg and msg
    return msg


# --- config files -------------------------------------------------------------------------------


def _list_bomb(levels=9, width=9) -> str:
    lines = ["study: bomb", "a0: &a0 [" + ", ".join(["1"] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def _dict_bomb(levels=9, width=9) -> str:
    lines = ["study: bomb", "a0: &a0 {" + ", ".join(f"k{j}: 1" for j in range(width)) + "}"]
    lines += [
        f"a{i}: &a{i} {{" + ", ".join(f"k{j}: *a{i - 1}" for j in range(width)) + "}" for i in range(1, levels + 1)
    ]
    return "\n".join(lines) + "\n"


BAD_FILES = {
    "list alias bomb": (_list_bomb(), "aliases"),
    "dict alias bomb": (_dict_bomb(), "aliases"),
    "nested alias bomb under a real key": (
        "study: b\ngrid:\n  x: &x [1,1,1,1,1,1,1,1,1,1]\n  y: &y [*x,*x,*x,*x,*x,*x,"
        "*x,*x,*x,*x]\n"
        + "".join(f"  z{i}: &z{i} [" + ",".join([f"*{'y' if i == 0 else f'z{i - 1}'}"] * 10) + "]\n" for i in range(4)),
        "aliases",
    ),
    "duplicate top-level key": ("study: a\nreplicates: 2\nreplicates: 3\n", "'replicates' appears twice"),
    "duplicate nested key": ("study: a\ngrid:\n  Q: [3]\n  theta: [regular]\n  Q: [4]\n", "'grid.Q' appears twice"),
    "duplicate key in a list item": (
        "study: a\ndatasets:\n  - name: x\n    path: a.csv\n    name: y\n",
        "'datasets[0].name' appears twice",
    ),
    "YTE template": ("__use_yte__: true\nstudy: a\n?if True:\n  replicates: 2\n", "YTE"),
    "oversized file": ("study: a\n" + "# padding\n" * 120_000, "bytes"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_config_file_is_refused_quickly_in_one_line(tmp_path, name):
    text, words = BAD_FILES[name]
    path = tmp_path / "c.yaml"
    path.write_text(text)
    t0 = time.perf_counter()
    with pytest.raises(DlgeomInputError) as info:
        check_config_files([path])
    assert time.perf_counter() - t0 < 5
    msg = _one_line(info.value)
    assert str(path) in msg and words in msg


@pytest.mark.parametrize("name", ["config.yaml", "paper.yaml", "test.yaml"])
def test_the_repository_configs_pass_the_file_checks(name):
    check_config_files([ROOT / "config" / name])
    check_config_size(yaml.safe_load((ROOT / "config" / name).read_text()))


def test_a_small_anchor_reused_a_few_times_is_fine(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("study: a\nshrink: &s [0.0, 0.5]\nother: *s\n")
    check_config_files([path])


def test_loaded_config_with_shared_values_is_bounded_without_walking_them():
    bomb = yaml.safe_load(_list_bomb())  # shared lists: cheap to load, 9^10 values to walk
    t0 = time.perf_counter()
    with pytest.raises(DlgeomInputError, match=f"{MAX_CONFIG_VALUES:,}"):
        check_config_size(bomb)
    assert time.perf_counter() - t0 < 5
    loop = {"a": []}
    loop["a"].append(loop)
    with pytest.raises(DlgeomInputError):
        check_config_size(loop)


def _validated(mutate=None):
    cfg = copy.deepcopy(BASE)
    if mutate:
        mutate(cfg)
    return validate_config(cfg, SCHEMA)


def _big_grid(cfg, n_delta):
    """The test grid with every Q and n_delta more δ-ratios (its landscape cells stay in the grid)."""
    cfg["grid"]["Q"] = sorted(set(cfg["grid"]["Q"]) | set(range(3, 11)))
    cfg["grid"]["delta_ratio"] = cfg["grid"]["delta_ratio"] + [round(1e-5 * (i + 1), 8) for i in range(n_delta)]


def test_too_many_grid_cells_are_refused_naming_the_override():
    cfg = _validated(lambda c: _big_grid(c, MAX_CELLS // 9 + 1))
    with pytest.raises(DlgeomInputError) as info:
        check_config_limits(cfg)
    msg = _one_line(info.value)
    assert "max_cells" in msg and f"{len(expand_grid(cfg)):,} cells" in msg


def test_max_cells_raises_or_lowers_the_limit_on_purpose():
    def mutate(c):
        _big_grid(c, MAX_CELLS // 9 + 1)
        c["max_cells"] = 10 * MAX_CELLS

    check_config_limits(_validated(mutate))
    small = _validated(lambda c: c.update(max_cells=1))
    with pytest.raises(DlgeomInputError, match="max_cells"):
        check_config_limits(small)


@pytest.mark.parametrize("key", ["probe_eps", "robustness.realdata.lambdas"])
def test_a_list_outside_the_grid_is_bounded(key):
    from dlgeom.study.config_limits import MAX_LIST_ITEMS

    cfg = _validated()
    node, parts = cfg, key.split(".")
    for p in parts[:-1]:
        node = node[p]
    node[parts[-1]] = [round(1e-4 * (i + 1), 8) for i in range(MAX_LIST_ITEMS + 1)]
    with pytest.raises(DlgeomInputError) as info:
        check_config_limits(cfg)
    assert key in _one_line(info.value) and f"{MAX_LIST_ITEMS:,}" in str(info.value)


def test_the_repository_studies_are_within_the_limits():
    for name in ("test.yaml", "paper.yaml"):
        cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
        if name != "test.yaml":
            cfg.update(yaml.safe_load((ROOT / "config" / name).read_text()))
        check_config_limits(validate_config(cfg, SCHEMA, base_dir=ROOT))


@pytest.mark.parametrize(
    "where,value",
    [
        ("study", "default\n"),
        ("datasets.0.name", "blobs\n"),
        ("datasets.0.name", "bl\tobs"),
        ("datasets.0.path", str(ROOT / "config" / "example_data" / "blobs.csv") + "\n"),
        ("noise", "uniform\r"),
    ],
)
def test_control_characters_in_names_and_paths_are_refused(where, value):
    cfg = copy.deepcopy(BASE)
    node, parts = cfg, where.split(".")
    for p in parts[:-1]:
        node = node[int(p)] if p.isdigit() else node[p]
    node[parts[-1]] = value
    with pytest.raises(DlgeomInputError) as info:  # by the schema, the dataset check or, for a final
        check_config_limits(validate_config(cfg, SCHEMA))  # newline (the schema's "$" lets it through), here
    msg = _one_line(info.value)
    assert parts[-1] in msg or "control character" in msg


def test_a_final_newline_in_a_name_is_refused_by_the_limits():
    cfg = copy.deepcopy(BASE)
    cfg["datasets"][0]["name"] = "blobs\n"
    validated = validate_config(cfg, SCHEMA)  # passes the schema's pattern "^...$"
    with pytest.raises(DlgeomInputError) as info:
        check_config_limits(validated)
    assert "datasets[0].name" in _one_line(info.value) and "control character" in str(info.value)


def test_a_dataset_path_that_reads_as_an_option_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / "config" / "example_data" / "blobs.csv", tmp_path / "-blobs.csv")
    cfg = copy.deepcopy(BASE)
    cfg["datasets"][0]["path"] = "-blobs.csv"
    with pytest.raises(DlgeomInputError) as info:
        check_config_limits(validate_config(cfg, SCHEMA))
    assert "datasets[0].path" in _one_line(info.value)


def _snakemake():
    exe = Path(sys.executable).parent / "snakemake"
    if not exe.exists():
        pytest.skip("snakemake is not installed")
    return str(exe)


@pytest.mark.parametrize("name", ["list alias bomb", "duplicate nested key", "YTE template"])
def test_snakemake_dry_run_refuses_the_bad_config_file_in_one_line(tmp_path, name):
    path = tmp_path / "c.yaml"
    path.write_text(BAD_FILES[name][0])
    res = subprocess.run(
        [_snakemake(), "-n", "--configfile", str(path), "-d", str(tmp_path / "run")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
    )
    assert res.returncode == 1
    errors = [line for line in res.stderr.splitlines() if line.startswith("dlgeom: config error:")]
    assert len(errors) == 1 and BAD_FILES[name][1] in errors[0] and "Traceback" not in res.stderr


# --- dataset files -------------------------------------------------------------------------------


def _npy_bytes(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _zip_bomb(path: Path, n_bytes: int) -> None:
    """X.npy declares and holds n_bytes of zeros (deflated to a few KB per MB), y.npy is small."""
    rows = n_bytes // 16
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("X.npy", "w", force_zip64=True) as fh:
            np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False, "shape": (rows, 2)})
            block = bytes(1 << 20)
            for _ in range(rows * 16 // len(block)):
                fh.write(block)
            fh.write(bytes(rows * 16 % len(block)))
        zf.writestr("y.npy", _npy_bytes(np.zeros(4, np.int64)))


def _lying_header(path: Path) -> None:
    """A tiny .npz whose X.npy header declares a 10^12-entry array."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_2_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("X.npy", buf.getvalue() + bytes(64))
        zf.writestr("y.npy", _npy_bytes(np.zeros(4, np.int64)))


def _never_load(*a, **k):
    raise AssertionError("the archive was inflated before its size was checked")


@pytest.mark.parametrize("loader", [load_dataset, load_table])
def test_npz_that_would_inflate_past_the_limit_is_refused_before_loading(tmp_path, monkeypatch, loader):
    monkeypatch.setattr(data_mod, "MAX_DATASET_BYTES", 1 << 20)  # a 2 MB bomb against a 1 MB limit
    _zip_bomb(tmp_path / "bomb.npz", 2 << 20)
    assert (tmp_path / "bomb.npz").stat().st_size < 64 << 10
    _lying_header(tmp_path / "header.npz")
    monkeypatch.setattr(np, "load", _never_load)
    for name in ("bomb.npz", "header.npz"):
        with pytest.raises(DlgeomInputError) as info:
            loader(tmp_path / name)
        msg = _one_line(info.value)
        assert name in msg and "unpack" in msg


def test_npz_header_declaring_a_huge_array_is_refused_at_the_real_limit(tmp_path, monkeypatch):
    _lying_header(tmp_path / "header.npz")
    monkeypatch.setattr(np, "load", _never_load)
    with pytest.raises(DlgeomInputError, match=f"{MAX_DATASET_BYTES:,}"):
        load_dataset(tmp_path / "header.npz")


def test_datasets_within_the_limit_still_load(tmp_path):
    good = make_clustered(3, 12, 0.1, seed=3)
    save_dataset(good, tmp_path / "g.npz")
    save_dataset(good, tmp_path / "g.csv")
    for name in ("g.npz", "g.csv"):
        got = load_dataset(tmp_path / name)
        np.testing.assert_array_equal(got.X, good.X)
        np.testing.assert_array_equal(got.y, good.y)


@pytest.mark.parametrize("loader", [load_dataset, load_table])
def test_a_sparse_csv_past_the_byte_limit_is_refused_before_reading(tmp_path, monkeypatch, loader):
    import pandas as pd

    path = tmp_path / "big.csv"
    with open(path, "w") as fh:
        fh.write("x1,x2,label\n")
        fh.truncate(MAX_DATASET_BYTES + 1)  # sparse: no disk used
    monkeypatch.setattr(pd, "read_csv", _never_load)
    with pytest.raises(DlgeomInputError) as info:
        loader(path)
    assert "big.csv" in _one_line(info.value) and "bytes" in str(info.value)


def test_a_csv_with_too_many_rows_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(data_mod, "MAX_CSV_ROWS", 50)
    path = tmp_path / "rows.csv"
    path.write_text("x1,x2,label\n" + "".join(f"{i % 7}.5,{i % 5}.25,{i % 2}\n" for i in range(60)))
    with pytest.raises(DlgeomInputError, match="more than 50 data rows"):
        load_dataset(path)
