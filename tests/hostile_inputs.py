"""Hostile inputs for the CLI: a workspace of good and bad files, and the tables of tries.

Used by ``tests/test_hostile.py``.  Every try is (class, id, argv); ``{ws}`` in an argument is
the workspace directory.  Each must exit non-zero with at most one line on stderr, no traceback,
no warning, and leave every file of the workspace as it was.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from dlgeom.data import save_dataset
from dlgeom.synthetic import make_clustered


def _npz(path: Path, **arrays) -> None:
    np.savez(path, **arrays)


def build_workspace(ws: Path) -> None:
    """Good inputs (a dataset, a cell, a cell JSON, tables) and a zoo of bad ones."""
    from dlgeom.cli import main

    good = make_clustered(3, 12, 0.1, seed=3)
    save_dataset(good, ws / "good.npz")
    save_dataset(good, ws / "good.csv")
    good2 = make_clustered(2, 10, 0.1, seed=4)
    save_dataset(good2, ws / "good2.npz")
    X, y = np.array(good.X), np.array(good.y)

    # --- files that are not datasets
    (ws / "empty.npz").write_bytes(b"")
    (ws / "empty.csv").write_bytes(b"")
    (ws / "garbage.npz").write_bytes(os.urandom(256))
    (ws / "garbage.csv").write_bytes(bytes(range(256)) * 4)
    (ws / "text.npz").write_text("x1,x2,label\n1,2,0\n")
    (ws / "data.txt").write_text("x1,x2,label\n1,2,0\n")
    (ws / "dir.npz").mkdir()
    with zipfile.ZipFile(ws / "badzip.npz", "w") as zf:
        zf.writestr("X.npy", b"not an array")
        zf.writestr("y.npy", b"nor this")
    # --- .npz with wrong names, types and shapes
    _npz(ws / "wrongnames.npz", A=X, B=y)
    _npz(ws / "onlyX.npz", X=X)
    _npz(ws / "pickled.npz", X=X, y=np.array([object()] * len(y), dtype=object))
    _npz(ws / "strX.npz", X=X.astype(str), y=y)
    _npz(ws / "complexX.npz", X=X + 1j, y=y)
    _npz(ws / "X1d.npz", X=X[:, 0], y=y)
    _npz(ws / "X3d.npz", X=X[:, :, None], y=y)
    _npz(ws / "y2d.npz", X=X, y=y[:, None])
    _npz(ws / "ylen.npz", X=X, y=y[:-1])
    _npz(ws / "emptyX.npz", X=np.zeros((0, 3)), y=np.zeros(0, int))
    Xn = X.copy()
    Xn[2, 1] = np.nan
    _npz(ws / "nan.npz", X=Xn, y=y)
    Xi = X.copy()
    Xi[0, 0] = np.inf
    _npz(ws / "inf.npz", X=Xi, y=y)
    _npz(ws / "labels_oob.npz", X=X, y=np.where(y == 2, 5, y))
    _npz(ws / "labels_neg.npz", X=X, y=np.where(y == 2, -1, y))
    _npz(ws / "labels_frac.npz", X=X, y=y + 0.5)
    _npz(ws / "labels_huge.npz", X=X, y=np.where(y == 2, np.iinfo(np.int64).max, y))
    one = y.copy()
    one[one == 2] = 1
    one[0] = 2 if y[0] != 2 else one[0]
    onept = y.copy()
    idx2 = np.flatnonzero(y == 2)
    onept[idx2[1:]] = 0
    _npz(ws / "onepoint.npz", X=X, y=onept)
    _npz(ws / "emptyclass.npz", X=X, y=np.where(y == 2, 0, y))
    _npz(ws / "q1.npz", X=X[:, :1], y=(y > 0).astype(int))
    _npz(ws / "Ybad.npz", X=X, y=y, Y=np.ones((3, 3)))
    _npz(ws / "Yshape.npz", X=X, y=y, Y=np.eye(2))
    _npz(ws / "Ynan.npz", X=X, y=y, Y=np.full((3, 3), np.nan))
    _npz(ws / "metabad.npz", X=X, y=y, meta=np.array("{not json"))
    # singular means: the three class means on one line through the origin (X^red singular)
    # (each class: its mean ± 0.01 e_k, so the means are exactly (1,1,1), (2,2,2), (4,4,4))
    offsets = 0.01 * np.vstack([np.eye(3), -np.eye(3)])
    lin = np.vstack([m + offsets for m in ([1.0, 1, 1], [2.0, 2, 2], [4.0, 4, 4])])
    _npz(ws / "singular.npz", X=lin, y=np.repeat(np.arange(3), 6))
    _npz(ws / "identical.npz", X=np.ones((12, 3)), y=np.repeat(np.arange(3), 4))
    # --- scale: the geometry is scale invariant
    _npz(ws / "tiny.npz", X=X * 1e-300, y=y)
    _npz(ws / "large.npz", X=X * 1e300, y=y)
    Xb = X.copy()
    Xb[0, 0] = 1e308
    _npz(ws / "big1.npz", X=Xb, y=y)
    # --- CSV
    (ws / "nolabel.csv").write_text("x1,x2,x3\n1,2,3\n4,5,6\n")
    (ws / "nonnumeric.csv").write_text("x1,x2,x3,label\n1,a,3,0\n4,5,6,1\n")
    (ws / "nan.csv").write_text("x1,x2,x3,label\n1,,3,0\n4,5,6,1\n")
    (ws / "inf.csv").write_text(
        "x1,x2,x3,label\n"
        + "\n".join(f"{'inf' if i == 0 else X[i, 0]},{X[i, 1]},{X[i, 2]},{y[i]}" for i in range(len(y)))
        + "\n"
    )
    (ws / "header_only.csv").write_text("x1,x2,x3,label\n")
    (ws / "ragged.csv").write_text("x1,x2,x3,label\n1,2,3,0\n4,5,6,1,7,8\n")
    (ws / "semicolon.csv").write_text("x1;x2;x3;label\n1;2;3;0\n")
    (ws / "strlabels.csv").write_text(
        "x1,x2,x3,label\n" + "\n".join(f"{X[i, 0]},{X[i, 1]},{X[i, 2]},c{y[i]}" for i in range(len(y))) + "\n"
    )
    (ws / "fraclabels.csv").write_text(
        "x1,x2,x3,label\n" + "\n".join(f"{X[i, 0]},{X[i, 1]},{X[i, 2]},{y[i] + 0.5}" for i in range(len(y))) + "\n"
    )
    (ws / "utf16.csv").write_bytes("x1,x2,x3,label\n1,2,3,0\n".encode("utf-16"))
    # --- a cell, its JSON, tables
    cell = ws / "cell"
    assert main(["make-data", "--Q", "2", "--n", "6", "--test-n", "6", "--out-dir", str(cell), "--seed", "5"]) == 0
    assert (
        main(
            [
                "cell",
                "--data-dir",
                str(cell),
                "--mu-samples",
                "1",
                "--probe-draws",
                "1",
                "--probe-eps",
                "0.01",
                "--out",
                str(ws / "cell.json"),
                "--cell-key",
                "Q2/thetaregular/r0.1",
                "--quiet",
            ]
        )
        == 0
    )
    (ws / "tables").mkdir()
    assert main(["aggregate", "--cells", str(ws / "cell.json"), "--out-dir", str(ws / "tables")]) == 0
    # broken cells
    (ws / "nomanifest").mkdir()
    for name, text in (
        ("badjson", "{not json"),
        ("badkeys", json.dumps({"kind": "synthetic"})),
        ("badlist", "[1, 2, 3]"),
        (
            "missingfiles",
            json.dumps(
                {
                    "kind": "synthetic",
                    "Q": 2,
                    "replicates": [{"replicate": 0, "train": "t.npz", "test": "u.npz", "seed": [0]}],
                }
            ),
        ),
    ):
        (ws / name).mkdir()
        (ws / name / "manifest.json").write_text(text)
    (ws / "garbage.json").write_text("{not json")
    (ws / "empty.json").write_text("")
    (ws / "list.json").write_text("[1, 2]")
    (ws / "wrongcell.json").write_text(json.dumps({"rows": "nope"}))
    (ws / "claims_bad.csv").write_text("a,b\n1,2\n")
    (ws / "badtables").mkdir()
    (ws / "badtables" / "curation.csv").write_bytes(b"\x00\x01garbage")
    (ws / "badtables" / "phase.csv").write_text("x\n1\n")
    # an existing output with its provenance sidecar: every failure must leave both intact
    (ws / "existing.json").write_text('{"previous": true}\n')
    (ws / "existing.json.prov.json").write_text('{"output": "existing.json"}\n')
    (ws / "existing.npz").write_bytes(b"previous bytes")
    (ws / "existing.png").write_bytes(b"previous png")
    (ws / "existing.pdf").write_bytes(b"previous pdf")
    (ws / "afile").write_text("a regular file\n")
    # the old, predictable temporary names, planted as symlinks to a victim
    (ws / "victim.txt").write_text("must never change\n")
    for name in ("out.json.tmp", "existing.json.tmp", "d.npz.tmp", "t.csv.tmp"):
        os.symlink(ws / "victim.txt", ws / name)


# classes of hostile input -----------------------------------------------------------------------

BAD_DATA = [
    "empty.npz",
    "empty.csv",
    "garbage.npz",
    "garbage.csv",
    "text.npz",
    "data.txt",
    "dir.npz",
    "badzip.npz",
    "wrongnames.npz",
    "onlyX.npz",
    "pickled.npz",
    "strX.npz",
    "complexX.npz",
    "X1d.npz",
    "X3d.npz",
    "y2d.npz",
    "ylen.npz",
    "emptyX.npz",
    "nan.npz",
    "inf.npz",
    "labels_oob.npz",
    "labels_neg.npz",
    "labels_frac.npz",
    "labels_huge.npz",
    "onepoint.npz",
    "emptyclass.npz",
    "q1.npz",
    "Yshape.npz",
    "Ynan.npz",
    "metabad.npz",
    "nolabel.csv",
    "nonnumeric.csv",
    "nan.csv",
    "inf.csv",
    "header_only.csv",
    "ragged.csv",
    "semicolon.csv",
    "strlabels.csv",
    "fraclabels.csv",
    "utf16.csv",
    "missing.npz",
    "missing.csv",
]
#: files that load but cannot be constructed on
UNCONSTRUCTIBLE = ["Ybad.npz", "singular.npz", "identical.npz", "tiny.npz", "large.npz", "big1.npz"]

DESTINATIONS = {  # output path -> what is wrong with it
    "nodir/out.json": "missing directory",
    "afile/out.json": "parent is a regular file",
    "cell": "an existing directory",
    "/proc/dlgeom-out.json": "a directory nobody can write (procfs)",
}


def tries() -> list[tuple[str, str, list[str]]]:
    """Every try: (class, id, argv)."""
    out: list[tuple[str, str, list[str]]] = []

    def add(cls, cid, *argv):
        out.append((cls, cid, [str(a) for a in argv]))

    o = "{ws}/out.json"
    # bad data files, for every command that reads a dataset
    for f in BAD_DATA:
        add("bad file", f"check:{f}", "check", "--data", f"{{ws}}/{f}")
        add("bad file", f"construct:{f}", "construct", "--data", f"{{ws}}/{f}", "--layers", 3, "--out", o)
        add("bad file", f"prepare-data:{f}", "prepare-data", "--data", f"{{ws}}/{f}", "--out-dir", "{ws}/newcell")
        add("bad file", f"landscape:{f}", "landscape", "--data", f"{{ws}}/{f}", "--layers", 3, "--out", o)
    for f in ("garbage.csv", "nan.csv", "nonnumeric.csv", "missing.csv"):
        add("bad file", f"realdata:{f}", "realdata", "--data", f"{{ws}}/{f}", "--out", o)
    for f in UNCONSTRUCTIBLE:
        add("numbers", f"construct:{f}", "construct", "--data", f"{{ws}}/{f}", "--layers", 3, "--out", o)
    for f in ("tiny.npz", "large.npz", "big1.npz"):
        add("numbers", f"landscape:{f}", "landscape", "--data", f"{{ws}}/{f}", "--layers", 3, "--out", o)
        add("numbers", f"prepare-data:{f}", "prepare-data", "--data", f"{{ws}}/{f}", "--out-dir", "{ws}/newcell")
    add(
        "bad file",
        "construct:test-data-garbage",
        "construct",
        "--data",
        "{ws}/good.npz",
        "--layers",
        3,
        "--test-data",
        "{ws}/garbage.npz",
        "--out",
        o,
    )
    add(
        "bad file",
        "construct:test-data-Q2",
        "construct",
        "--data",
        "{ws}/good.npz",
        "--layers",
        3,
        "--test-data",
        "{ws}/good2.npz",
        "--out",
        o,
    )

    # sizes and values that used to pass and then crash
    g = "{ws}/good.npz"
    for args, cid in (
        (["--Q", 100000, "--n", 2], "Q=1e5"),
        (["--Q", 1], "Q=1"),
        (["--Q", "2.5"], "Q=2.5"),
        (["--Q", "x"], "Q=x"),
        (["--Q", 3, "--n", 1], "n=1"),
        (["--Q", 3, "--n", 10**7], "n=1e7"),
        (["--Q", 1000, "--n", 100], "N*Q"),
        (["--Q", 3, "--n", "5,5"], "n count"),
        (["--Q", 3, "--n", "-5"], "n<0"),
        (["--Q", 3, "--seed", -1], "seed -1"),
        (["--Q", 3, "--seed", 2**64], "seed 2^64"),
        (["--Q", 3, "--seed", ",".join(["1"] * 40)], "seed 40 words"),
        (["--Q", 3, "--seed", "a"], "seed a"),
        (["--Q", 3, "--scale", 1e308], "scale 1e308"),
        (["--Q", 3, "--scale", 0], "scale 0"),
        (["--Q", 3, "--scale", "nan"], "scale nan"),
        (["--Q", 3, "--scale", -1], "scale -1"),
        (["--Q", 3, "--scale", 1e-300], "scale 1e-300"),
        (["--Q", 3, "--scale", "inf"], "scale inf"),
        (["--Q", 3, "--delta-ratio", "nan"], "r nan"),
        (["--Q", 3, "--delta-ratio", "inf"], "r inf"),
        (["--Q", 3, "--delta-ratio", 0], "r 0"),
        (["--Q", 3, "--delta-ratio", -1], "r<0"),
        (["--Q", 3, "--theta", "nan"], "theta nan"),
        (["--Q", 3, "--theta", 7], "theta 7"),
        (["--Q", 3, "--theta", -1], "theta<0"),
        (["--Q", 2, "--theta", 2], "theta Q2"),
        (["--Q", 3, "--outliers", 0.5], "outliers .5"),
        (["--Q", 3, "--outliers", "nan"], "outliers nan"),
        (["--Q", 3, "--elongation", 0.5], "elong .5"),
        (["--Q", 3, "--elongation", "inf"], "elong inf"),
        (["--Q", 3, "--noise", "pink"], "noise"),
    ):
        add("sizes and values", f"make-data:{cid}", "make-data", *args, "--out", "{ws}/d.npz")
    for args, cid in (
        (["--replicates", 0], "replicates 0"),
        (["--replicates", 10**6], "replicates 1e6"),
        (["--test-n", 0], "test-n 0"),
        (["--test-n", 10**8], "test-n 1e8"),
        (["--n", "4,4"], "n list"),
    ):
        add("sizes and values", f"make-data --out-dir:{cid}", "make-data", "--Q", 3, *args, "--out-dir", "{ws}/newcell")
    for args, cid in (
        (["--layers", 10**9], "layers 1e9"),
        (["--layers", 2], "layers<Q"),
        (["--layers", -5], "layers<0"),
        (["--layers", "3.5"], "layers 3.5"),
        (["--mu", "0.1,0.2"], "mu count"),
        (["--mu", "nan,nan,nan"], "mu nan"),
        (["--mu", "inf,-1,-1"], "mu inf"),
        (["--mu-samples", -1], "mu-samples -1"),
        (["--mu-samples", 10**9], "mu-samples 1e9"),
        (["--seed", -1], "seed -1"),
        (["--seed", 2**64], "seed 2^64"),
        (["--theta0", "nan"], "theta0 nan"),
        (["--theta0", 4], "theta0 4"),
        (["--theta0", 0], "theta0 0"),
        (["--D", "nope"], "D"),
        (["--zero-cost", "nan"], "zero nan"),
        (["--zero-cost", 0], "zero 0"),
        (["--zero-cost", 2], "zero 2"),
    ):
        add("sizes and values", f"construct:{cid}", "construct", "--data", g, "--layers", 3, *args, "--out", o)
    for args, cid in (
        (["--theta0", "nan"], "theta0 nan"),
        (["--theta0", "-1"], "theta0 -1"),
        (["--theta0", "inf"], "theta0 inf"),
    ):
        add("sizes and values", f"check:{cid}", "check", "--data", g, *args)
    for args, cid in (
        (["--shrink", -1], "shrink -1"),
        (["--shrink", "nan"], "shrink nan"),
        (["--shrink", "inf"], "shrink inf"),
        (["--shrink", 1e308], "shrink 1e308"),
        (["--test-fraction", 0], "tf 0"),
        (["--test-fraction", 1], "tf 1"),
        (["--test-fraction", "nan"], "tf nan"),
        (["--replicates", 0], "replicates 0"),
        (["--replicates", 10**6], "replicates 1e6"),
        (["--seed", -1], "seed -1"),
    ):
        add("sizes and values", f"prepare-data:{cid}", "prepare-data", "--data", g, *args, "--out-dir", "{ws}/newcell")
    # a grid cell's data from its key: no grid settings, a key that is no cell, an output that is no manifest
    add("sizes and values", "cell-data:no settings", "cell-data", "--cell-key", "Q3/thetaregular/r0.1", "--out", o)
    add("sizes and values", "cell-data:bad key", "cell-data", "--cell-key", "Q3/r0.1", "--out", "{ws}/manifest.json")
    # the same inside the cell job (--make-data): the data path must be the manifest to write, the key a cell
    add("sizes and values", "cell:make-data no manifest", "cell", "--data", "{ws}/cell", "--out", o, "--make-data")
    add(
        "sizes and values",
        "cell:make-data bad key",
        "cell",
        "--cell-key",
        "Q3/r0.1",
        "--data",
        "{ws}/manifest.json",
        "--out",
        o,
        "--make-data",
    )
    c = "{ws}/cell"
    for args, cid in (
        (["--layers-offsets", -1], "offset -1"),
        (["--layers-offsets", 10**6], "offset 1e6"),
        (["--mu-samples", 0], "mu 0"),
        (["--mu-samples", 10**9], "mu 1e9"),
        (["--probe-eps", 0], "eps 0"),
        (["--probe-eps", "nan"], "eps nan"),
        (["--probe-eps", "inf"], "eps inf"),
        (["--probe-draws", 0], "draws 0"),
        (["--zero-cost", "nan"], "zero nan"),
        (["--zero-cost", 0], "zero 0"),
        (["--zero-cost", 2], "zero 2"),
        (["--seed", -1], "seed -1"),
    ):
        add("sizes and values", f"cell:{cid}", "cell", "--data-dir", c, *args, "--out", o, "--quiet")
    for d, cid in (
        ("{ws}/nomanifest", "no manifest"),
        ("{ws}/badjson", "manifest garbage"),
        ("{ws}/badkeys", "manifest keys"),
        ("{ws}/badlist", "manifest list"),
        ("{ws}/missingfiles", "manifest files"),
        ("{ws}/nothere", "missing dir"),
        ("{ws}/good.npz", "a file"),
    ):
        add("bad file", f"cell:{cid}", "cell", "--data-dir", d, "--out", o, "--quiet")
    for args, cid in (
        (["--layers", 10**9], "layers 1e9"),
        (["--runs", 0], "runs 0"),
        (["--runs", 10**9], "runs 1e9"),
        (["--max-iter", 0], "iter 0"),
        (["--max-iter", 10**9], "iter 1e9"),
        (["--starts", "he,bogus"], "starts"),
        (["--optimisers", "sgd"], "optimisers"),
        (["--rho", "nan"], "rho nan"),
        (["--rho", "-1"], "rho -1"),
        (["--rho", 0], "rho 0"),
        (["--seed", -1], "seed -1"),
        (["--optimiser-runs", "gd=0"], "optimiser runs 0"),
        (["--optimiser-runs", "gd=1e9"], "optimiser runs float"),
        (["--optimiser-runs", "sgd=5"], "optimiser runs name"),
        (["--optimiser-runs", "gd"], "optimiser runs no count"),
        (["--optimiser-runs", "gd=5,gd=6"], "optimiser runs twice"),
        (["--optimiser-runs", "gd=$(touch INJECTED)"], "optimiser runs shell"),
        (["--zero-cost", "nan"], "zero nan"),
        (["--zero-cost", 0], "zero 0"),
        (["--zero-cost", 2], "zero 2"),
    ):
        add(
            "sizes and values",
            f"landscape:{cid}",
            "landscape",
            "--data",
            g,
            "--layers",
            3,
            *args,
            "--out",
            o,
            "--quiet",
        )
    # the landscape as Q grows: one job per Q, its table and its figure
    for args, cid in (
        (["--Q", 1], "Q 1"),
        (["--Q", 9], "Q 9"),
        (["--Q", 3, "--runs", 0], "runs 0"),
        (["--Q", 3, "--max-iter", 0], "max iter 0"),
        (["--Q", 3, "--delta-ratio", "nan"], "delta ratio nan"),
        (["--Q", 3, "--delta-ratio", 0], "delta ratio 0"),
        (["--Q", 3, "--n-per-class", 1], "n per class 1"),
        (["--Q", 3, "--starts", "global"], "starts global"),
        (["--Q", 3, "--starts", "he,he"], "starts twice"),
        (["--Q", 3, "--optimisers", "sgd"], "optimisers sgd"),
        (["--Q", 3, "--optimisers", "lbfgs;$(touch INJECTED)"], "optimisers shell"),
    ):
        add("sizes and values", f"landscape-scaling:{cid}", "landscape-scaling", *args, "--out", o, "--quiet")
    for f in ("missing.json", "garbage.json", "list.json", "empty.json"):
        add(
            "bad file",
            f"landscape-scaling-tables:{f}",
            "landscape-scaling-tables",
            "--runs",
            f"{{ws}}/{f}",
            "--out-dir",
            "{ws}/scaling_tables",
        )
    for d, cid in (("{ws}/nothere", "tables missing"), ("{ws}/badtables", "tables garbage")):
        add(
            "bad file",
            f"landscape-scaling-figure:{cid}",
            "landscape-scaling-figure",
            "--tables",
            d,
            "--out-dir",
            "{ws}",
        )
    t = "{ws}/tables"
    for args, cid in (
        (["--cells", "{ws}/missing.json"], "cells missing"),
        (["--cells", "{ws}/garbage.json"], "cells garbage"),
        (["--cells", "{ws}/empty.json"], "cells empty"),
        (["--cells", "{ws}/list.json"], "cells list"),
        (["--cells", "{ws}/wrongcell.json"], "cells wrong"),
        (["--cells", "{ws}/cell.json", "--landscape", "{ws}/garbage.json"], "landscape garbage"),
        (["--cells", "{ws}/cell.json", "--landscape", "{ws}/list.json"], "landscape list"),
        (["--cells", "{ws}/cell.json", "--extra-claims", "{ws}/claims_bad.csv"], "claims columns"),
        (["--cells", "{ws}/cell.json", "--extra-claims", "{ws}/empty.csv"], "claims empty"),
        (["--cells", "{ws}/cell.json", "--extra-claims", "{ws}/garbage.csv"], "claims garbage"),
        (["--cells", "{ws}/cell.json", "--zero-cost", "nan"], "zero nan"),
        (["--cells", "{ws}/cell.json", "--zero-cost", "-1"], "zero -1"),
        (["--cells", "{ws}/cell.json", "--seed", "-1"], "seed -1"),
    ):
        add(
            "bad file" if "cells" in cid or "landscape" in cid or "claims" in cid else "sizes and values",
            f"aggregate:{cid}",
            "aggregate",
            *args,
            "--out-dir",
            t,
        )
    for args, cid in (
        (["--name", "curation", "--tables", "{ws}/nothere"], "tables missing"),
        (["--name", "curation", "--tables", "{ws}/badtables"], "tables garbage"),
        (["--name", "phase", "--tables", "{ws}/badtables"], "phase columns"),
        (["--name", "curation", "--tables", t, "--cell", "Q9/none"], "unknown cell"),
        (["--name", "curation"], "no tables"),
        (["--name", "bogus"], "name"),
        (["--name", "truncation", "--seed", "-1"], "seed -1"),
        (["--name", "phase", "--tables", t, "--zero-cost", "nan"], "zero nan"),
        (["--name", "phase", "--tables", t, "--zero-cost", 0], "zero 0"),
        (["--name", "phase", "--tables", t, "--zero-cost", 2], "zero 2"),
    ):
        add(
            "bad file" if "tables" in cid else "sizes and values",
            f"figure:{cid}",
            "figure",
            *args,
            "--out",
            "{ws}/existing",
        )
    # extension commands
    for args, cid in (
        (["--axis", "bogus", "--values", "1"], "axis"),
        (["--axis", "delta_ratio", "--values", "nan"], "nan"),
        (["--axis", "delta_ratio", "--values", "0.1", "--replicates", 0], "replicates 0"),
        (["--axis", "delta_ratio", "--values", "0.1", "--seed", "-1"], "seed -1"),
        (["--axis", "delta_ratio", "--values", "0.1", "--Q", 10**6], "Q 1e6"),
    ):
        add("sizes and values", f"robustness:{cid}", "robustness", *args, "--out", o, "--quiet")
    for args, cid in (
        (["--robustness", "{ws}/garbage.json"], "garbage"),
        (["--robustness", "{ws}/missing.json"], "missing"),
        (["--robustness", "{ws}/list.json"], "list"),
        (["--realdata", "{ws}/cell.json"], "wrong kind"),
    ):
        add("bad file", f"robustness-tables:{cid}", "robustness-tables", *args, "--out-dir", t)
    add(
        "bad file",
        "robustness-figure:no tables",
        "robustness-figure",
        "--name",
        "robustness",
        "--tables",
        "{ws}/nothere",
        "--out",
        "{ws}/existing",
    )
    for z in ("nan", 0, -1):
        add(
            "sizes and values",
            f"robustness-figure:zero {z}",
            "robustness-figure",
            "--name",
            "realdata",
            "--tables",
            t,
            "--zero-cost",
            z,
            "--out",
            "{ws}/existing",
        )
        add(
            "sizes and values",
            f"beyond-figure:zero {z}",
            "beyond-figure",
            "--name",
            "sls",
            "--tables",
            t,
            "--zero-cost",
            z,
            "--out-dir",
            "{ws}",
        )
    for cmd, args, cid in (
        ("highdim", ["--Q", 1, "--M", 3], "Q 1"),
        ("highdim", ["--Q", 3, "--M", "0"], "M 0"),
        ("highdim", ["--Q", 3, "--M", 3, "--seed", -1], "seed -1"),
        ("highdim", ["--Q", 10**6, "--M", 3], "Q 1e6"),
        ("highdim", ["--Q", 3, "--M", 10**6], "M 1e6"),
        ("sls", ["--Q", 1, "--M", 3], "Q 1"),
        ("sls", ["--Q", 3, "--M", 3, "--n", 0], "n 0"),
        ("sls", ["--Q", 3, "--M", 3, "--radius", "nan"], "radius nan"),
        ("shallow", ["--Q", 1], "Q 1"),
        ("shallow", ["--Q", 2, "--points", 1], "points 1"),
        ("shallow", ["--Q", 2, "--r-min", "nan"], "r nan"),
    ):
        add("sizes and values", f"{cmd}:{cid}", cmd, *args, "--out", o, "--quiet")
    for args, cid in (
        (["--highdim", "{ws}/garbage.json"], "garbage"),
        (["--sls", "{ws}/cell.json"], "wrong kind"),
        (["--shallow", "{ws}/missing.json"], "missing"),
    ):
        add("bad file", f"beyond-tables:{cid}", "beyond-tables", *args, "--out-dir", t)
    add(
        "bad file",
        "beyond-figure:no tables",
        "beyond-figure",
        "--name",
        "sls",
        "--tables",
        "{ws}/nothere",
        "--out-dir",
        "{ws}",
    )
    for args, cid in (
        (["--data", "{ws}/garbage.json"], "garbage"),
        (["--data", "{ws}/list.json"], "list"),
        (["--data", "{ws}/missing.json"], "missing"),
        (["--data", "{ws}/cell.json"], "wrong json"),
    ):
        add("bad file", f"perf-figure:{cid}", "perf-figure", "--name", "scaling", *args, "--out", "{ws}/existing")

    # the generated headline block
    add("bad file", "headline:no tables", "headline", "--tables", "{ws}/nothere")
    add("bad file", "headline:missing md", "headline", "--tables", "{ws}", "--update", "{ws}/missing.md")
    add("bad file", "headline:no block", "headline", "--tables", "{ws}", "--update", "{ws}/existing.json")
    add("bad file", "compare-studies:no base", "compare-studies", "--base", "{ws}/nothere", "--other", "{ws}")
    add("bad file", "compare-studies:no other", "compare-studies", "--base", "{ws}", "--other", "{ws}/nothere")
    add(
        "bad file",
        "compare-studies:missing md",
        "compare-studies",
        "--base",
        "{ws}",
        "--other",
        "{ws}",
        "--check",
        "{ws}/missing.md",
    )
    add(
        "bad file",
        "compare-studies:no block",
        "compare-studies",
        "--base",
        "{ws}",
        "--other",
        "{ws}",
        "--update",
        "{ws}/existing.json",
    )
    # the report's verdict summary
    for f in ("missing.csv", "claims_bad.csv", "garbage.csv", "empty.csv", "utf16.csv", "garbage.json", "cell"):
        add("bad file", f"verdicts-html:{f}", "verdicts-html", "--claims", f"{{ws}}/{f}", "--out", "{ws}/out.html")
    # the verifier of a rerun against its reference
    add("bad file", "verify:no reference", "verify", "--reference", "{ws}/nothere", "--rerun", "{ws}")
    add("bad file", "verify:no rerun", "verify", "--reference", "{ws}", "--rerun", "{ws}/nothere")
    add("bad file", "verify:reference is a file", "verify", "--reference", "{ws}/garbage.json", "--rerun", "{ws}")
    # the settings check and the neural-collapse stage
    for args, cid in (
        (["--inputs", "{ws}/garbage.json"], "garbage"),
        (["--inputs", "{ws}/missing.json"], "missing"),
        (["--inputs", "{ws}/cell.json"], "no stamp"),
    ):
        add("bad file", f"check-settings:{cid}", "check-settings", "--settings-dir", "{ws}/nothere", *args)
    add(
        "bad file",
        "collapse-constructed:missing dir",
        "collapse-constructed",
        "--data-dirs",
        "{ws}/nothere",
        "--cell-keys",
        "a",
        "--out",
        o,
    )
    add(
        "sizes and values",
        "collapse-constructed:keys",
        "collapse-constructed",
        "--data-dirs",
        "{ws}/cell",
        "--cell-keys",
        "a",
        "b",
        "--out",
        o,
    )
    add(
        "bad file",
        "collapse-landscape:garbage",
        "collapse-landscape",
        "--data",
        "{ws}/garbage.npz",
        "--runs",
        "{ws}/garbage.json",
        "--endpoints",
        "{ws}/missing.npz",
        "--out",
        o,
    )
    add(
        "bad file",
        "collapse-tables:garbage",
        "collapse-tables",
        "--constructed",
        "{ws}/garbage.json",
        "--out-dir",
        "{ws}/newtables",
    )
    add("bad file", "collapse-figure:no tables", "collapse-figure", "--tables", "{ws}/nothere", "--out-dir", "{ws}")

    # destinations: missing, not a directory, unwritable, an existing directory; and the planted symlinks
    for dest, why in DESTINATIONS.items():
        p = dest if dest.startswith("/") else "{ws}/" + dest
        add("destination", f"make-data:{why}", "make-data", "--Q", 3, "--n", 5, "--out", p.replace(".json", ".npz"))
        add("destination", f"check:{why}", "check", "--data", g, "--out", p)
        add("destination", f"construct:{why}", "construct", "--data", g, "--layers", 3, "--out", p)
        add("destination", f"cell:{why}", "cell", "--data-dir", c, "--out", p, "--quiet")
        add("destination", f"landscape:{why}", "landscape", "--data", g, "--layers", 3, "--out", p, "--quiet")
        add("destination", f"figure:{why}", "figure", "--name", "truncation", "--out", p.replace(".json", ""))
        add(
            "destination",
            f"robustness:{why}",
            "robustness",
            "--axis",
            "delta_ratio",
            "--values",
            "0.1",
            "--out",
            p,
            "--quiet",
        )
        add("destination", f"shallow:{why}", "shallow", "--Q", 2, "--out", p, "--quiet")
        add("destination", f"highdim:{why}", "highdim", "--Q", 2, "--M", 3, "--out", p, "--quiet")
        add("destination", f"realdata:{why}", "realdata", "--name", "iris", "--out", p, "--quiet")
    for dest, why in (
        ("{ws}/nodir/x", "missing parent"),
        ("{ws}/afile/x", "parent is a file"),
        ("{ws}/afile", "is a regular file"),
        ("/proc/dlgeom-cell", "procfs"),
    ):
        add("destination", f"make-data --out-dir:{why}", "make-data", "--Q", 3, "--n", 5, "--out-dir", dest)
        add("destination", f"prepare-data:{why}", "prepare-data", "--data", g, "--out-dir", dest)
        add("destination", f"aggregate:{why}", "aggregate", "--cells", "{ws}/cell.json", "--out-dir", dest)
        add("destination", f"robustness-tables:{why}", "robustness-tables", "--out-dir", dest)
        add("destination", f"beyond-tables:{why}", "beyond-tables", "--out-dir", dest)
    # existing outputs stay as they were when the command fails (here: after the destination check)
    add(
        "existing output",
        "construct:existing",
        "construct",
        "--data",
        "{ws}/singular.npz",
        "--layers",
        3,
        "--out",
        "{ws}/existing.json",
    )
    add("existing output", "check:existing", "check", "--data", "{ws}/garbage.npz", "--out", "{ws}/existing.json")
    add("existing output", "make-data:existing", "make-data", "--Q", 3, "--scale", 0, "--out", "{ws}/existing.npz")
    add(
        "existing output",
        "figure:existing",
        "figure",
        "--name",
        "curation",
        "--tables",
        "{ws}/badtables",
        "--out",
        "{ws}/existing",
    )
    add(
        "existing output",
        "make-data --out-dir:existing",
        "make-data",
        "--Q",
        3,
        "--delta-ratio",
        "nan",
        "--out-dir",
        "{ws}/cell",
    )
    add(
        "existing output",
        "prepare-data:existing",
        "prepare-data",
        "--data",
        "{ws}/onepoint.npz",
        "--out-dir",
        "{ws}/cell",
    )
    add("existing output", "aggregate:existing", "aggregate", "--cells", "{ws}/garbage.json", "--out-dir", t)
    return out
