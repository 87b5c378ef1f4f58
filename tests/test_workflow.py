"""The Snakemake study: config validation, lint, dry runs, and the tiny study end to end."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from dlgeom import DlgeomInputError
from dlgeom.study.config import expand_grid, load_schema, validate_config
from dlgeom.study.figures import FIGURES

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = load_schema(ROOT / "workflow" / "schemas" / "config.schema.yaml")
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
pytestmark = pytest.mark.skipif(
    shutil.which("snakemake") is None and not (Path(sys.executable).parent / "snakemake").exists(),
    reason="snakemake is not installed (pip install -e '.[workflow]')",
)


def _test_config(tmp_path) -> dict:
    cfg = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
    cfg["datasets"][0]["path"] = str(ROOT / "config" / "example_data" / "blobs.csv")
    return cfg


# ---- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mutate,key",
    [
        (lambda c: c.update(bogus=1), "(top level)"),
        (lambda c: c["grid"].update(colour=[1]), "grid"),
        (lambda c: c["grid"].update(Q=[1, 3]), "grid.Q[0]"),
        (lambda c: c["grid"].update(delta_ratio=[0.1, -0.2]), "grid.delta_ratio[1]"),
        (lambda c: c["grid"].update(theta=["regular", 7.0]), "grid.theta[1]"),
        (lambda c: c["grid"].update(theta=[0.5]), "grid.theta[0]"),  # below the regular simplex
        (lambda c: c.update(layers_offsets=[0, -1]), "layers_offsets[1]"),
        (lambda c: c.update(replicates=0), "replicates"),
        (lambda c: c.update(noise="pink"), "noise"),
        (lambda c: c["datasets"][0].update(path="/nonexistent/data.csv"), "datasets[0].path"),
        (lambda c: c["datasets"][0].update(shrink=[-0.5]), "datasets[0].shrink[0]"),
        (lambda c: c["landscape"].update(cells=["Q7/thetaregular/r0.1"]), "landscape.cells[0]"),
        (lambda c: c["landscape"].update(optimisers=["sgd"]), "landscape.optimisers[0]"),
    ],
)
def test_config_errors_name_the_key(tmp_path, mutate, key):
    cfg = _test_config(tmp_path)
    mutate(cfg)
    with pytest.raises(DlgeomInputError) as err:
        validate_config(cfg, SCHEMA)
    lines = str(err.value).splitlines()  # every error of the config, one line each
    assert lines[0].startswith(f"config key '{key}'"), lines
    assert all(line.startswith("config key '") for line in lines), lines


def test_malformed_dataset_file_is_a_config_error(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("x1,x2,label\n0.1,abc,0\n0.2,0.3,1\n")
    cfg = _test_config(tmp_path)
    cfg["datasets"][0]["path"] = str(bad)
    with pytest.raises(DlgeomInputError, match=r"config key 'datasets\[0\].path': .*bad.csv.*'x2'"):
        validate_config(cfg, SCHEMA)


def test_defaults_are_filled_and_the_grid_expands(tmp_path):
    cfg = validate_config({"grid": {"Q": [2, 3], "delta_ratio": [0.1], "theta": ["regular", 2.0]}}, SCHEMA)
    assert cfg["replicates"] == 5 and cfg["layers_offsets"] == [0, 2] and cfg["figures"]["curation_Q"] == 3
    keys = [c.key for c in expand_grid(cfg)]
    assert keys == ["Q2/thetaregular/r0.1", "Q3/thetaregular/r0.1", "Q3/theta2.0/r0.1"]


def test_snakemake_stops_before_any_job_with_one_line(tmp_path):
    cfg = _test_config(tmp_path)
    cfg["grid"]["Q"] = [3, 1]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    res = subprocess.run(
        SNAKEMAKE
        + ["-s", str(ROOT / "Snakefile"), "-d", str(tmp_path / "run"), "--configfile", str(path), "--cores", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode != 0
    lines = [l for l in res.stderr.splitlines() if "config error" in l]
    assert lines == ["dlgeom: config error: config key 'grid.Q[1]': 1 is less than the minimum of 2"]
    assert not (tmp_path / "run" / "results").exists()


def test_snakemake_reports_every_config_error_at_once(tmp_path):
    cfg = _test_config(tmp_path)
    cfg["replicates"] = 0
    cfg["landscape"]["cells"] = ["Q4/thetaregular/r0.05"]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    res = subprocess.run(
        SNAKEMAKE
        + ["-s", str(ROOT / "Snakefile"), "-d", str(tmp_path / "run"), "--configfile", str(path), "--cores", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode != 0
    lines = [l for l in res.stderr.splitlines() if "config error" in l]
    assert [l.split("'")[1] for l in lines] == ["replicates", "landscape.cells[0]"], lines
    assert all(l.startswith("dlgeom: config error: config key '") for l in lines)
    assert not (tmp_path / "run" / "results").exists()


# ---- lint and dry runs ------------------------------------------------------------------------


def test_lint_is_clean():
    res = subprocess.run(
        SNAKEMAKE + ["--lint", "--configfile", "config/test.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    text = res.stdout + res.stderr
    assert res.returncode == 0, text
    assert not [l for l in text.splitlines() if l.strip().startswith("* ")], text


@pytest.mark.parametrize(
    "configfile,expected_cells",
    [("config/config.yaml", 8 + 3 * 8 * 6), ("config/test.yaml", 2 + 4 + 2), ("config/paper.yaml", 8 + 3 * 8 * 6)],
)
def test_dry_run(tmp_path, configfile, expected_cells):
    cfg = yaml.safe_load((ROOT / configfile).read_text())
    for d in cfg.get("datasets") or []:
        d["path"] = str(ROOT / d["path"])
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    # the default study is config/config.yaml alone: a --configfile on top must name another study
    given = [] if configfile == "config/config.yaml" else ["--configfile", str(path)]
    res = subprocess.run(
        SNAKEMAKE + ["-s", str(ROOT / "Snakefile"), "-d", str(tmp_path), *given, "-n", "--quiet", "rules"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    names = (
        "cell",
        "aggregate",
        "figure",
        "landscape_runs",
        "landscape_shape",
        "collapse_constructed",
        "collapse_landscape",
    )
    counts = dict(tuple(l.split()) for l in res.stdout.splitlines() if l.split() and l.split()[0] in names)
    assert int(counts["cell"]) == expected_cells
    assert int(counts["aggregate"]) == 1 and int(counts["figure"]) == len(FIGURES)
    land = cfg["landscape"]
    assert int(counts["landscape_runs"]) == len(land["cells"]) * len(land["starts"])
    assert int(counts["landscape_shape"]) == len(land["cells"])
    assert int(counts["collapse_constructed"]) == 1 and int(counts.get("collapse_landscape", 0)) == len(land["cells"])


# ---- the tiny study end to end -------------------------------------------------------------------


def _claims(tmp):
    return pd.read_csv(tmp / "results" / "tiny" / "tables" / "claims.csv", keep_default_na=False).set_index("id")


def test_tiny_study_tables(tiny_study):
    t = tiny_study / "results" / "tiny" / "tables"
    cons = pd.read_csv(t / "constructions.csv", dtype={"theta": str})
    # 6 synthetic cells + 2 user cells, 2 replicates, one L each
    assert len(cons) == 8 * 2
    assert set(cons["status"]) == {"ok"}
    syn = cons[cons["kind"] == "synthetic"]
    # realised r matches the grid value (no outliers): the data really are where the config says
    assert np.allclose(syn["r"], syn["delta_ratio"].astype(float), rtol=1e-9)
    inside = syn[syn["all_hold"]]
    assert len(inside) > 0 and (inside["cost_global"] <= 1e-10).all()
    assert (inside["accuracy"] == 1.0).all()
    pats = pd.read_csv(t / "patterns.csv", dtype={"s": str, "theta": str})
    # 2^Q patterns per (cell, replicate, L)
    per = pats.groupby(["cell", "replicate", "L"]).size()
    q = pats.groupby(["cell", "replicate", "L"])["Q"].first()
    assert (per == 2**q).all()
    # the closed forms assume exact curation, which the paper's assumptions guarantee
    assert (pats.loc[pats["all_hold"], "closed_form_error"] < 1e-10).all()
    user = cons[cons["kind"] == "user"]
    assert sorted(user["shrink"].unique()) == [0.25, 1.0]
    # shrinking toward the means scales δ (hence r) by λ
    r = user.groupby("shrink")["r"].mean()
    assert r[0.25] == pytest.approx(0.25 * r[1.0], rel=0.2)


def test_tiny_study_claims(tiny_study):
    from dlgeom.study.verdicts import CATALOGUE, COLUMNS

    c = _claims(tiny_study)
    assert list(c.reset_index().columns) == COLUMNS and c.index.is_unique and set(c.index) == set(CATALOGUE)
    claims, findings = c[c["kind"] == "claim"], c[c["kind"] == "finding"]
    assert set(claims["verdict"]) <= {"holds", "fails", "holds with correction", "untested"}
    assert set(findings["verdict"]) == {"finding"}
    assert ((c["n_counter"] >= 0) & (c["n_counter"] <= c["n_cases"])).all()
    assert (claims.loc[claims["verdict"] == "holds", "n_counter"] == 0).all()
    assert (claims.loc[claims["verdict"].isin(["fails", "holds with correction"]), "n_counter"] > 0).all()
    assert c.loc["thm23_zero", "verdict"] == "holds"
    assert c.loc["prop22", "verdict"] == "holds"
    assert c.loc["thm25_mixed", "verdict"] == "fails"  # mixed patterns are not local minima
    assert c.loc["thm25_count", "verdict"] == "fails"  # not 2^Q - 1 local minima
    assert c.loc["thm24_value", "verdict"] == "fails"  # V_aff < (2.71): the value statement
    assert c.loc["thm24_degenerate", "verdict"] == "holds"
    assert c.loc["metric_classifier", "verdict"] == "holds"
    # the tiny study has no L = Q + 2: that finding is present, with no case
    assert c.loc["patterns_extra_layers", "n_cases"] == 0
    assert (claims.drop(index="thm24_value")["n_cases"] > 0).sum() >= 10
    md = (tiny_study / "results" / "tiny" / "tables" / "claims.md").read_text()
    assert md.count("\n| ") == len(c) + 2 and md.count("\n|---") == 2  # two tables, one header each


def test_tiny_study_is_reproducible(tiny_study, tmp_path):
    """Rerunning a cell and the aggregation from scratch gives identical tables; a figure is
    byte-identical when drawn again."""
    res = tiny_study / "results" / "tiny"
    cell = "Q3/theta3.5/r0.05"
    log = (res / "logs" / "cells" / f"{cell}.log").read_text()
    assert "wrote" in log
    first = json.loads((res / "cells" / f"{cell}.json").read_text())
    from dlgeom.cli import main

    out = tmp_path / "again.json"
    seed = ",".join(map(str, first["cell"]["seed"]))
    assert (
        main(
            [
                "cell",
                "--data-dir",
                str(res / "data" / cell),
                "--layers-offsets",
                "0",
                "--mu-samples",
                "2",
                "--probe-eps",
                "1e-8,0.01,0.3",
                "--probe-draws",
                "2",
                "--seed",
                seed,
                "--cell-key",
                cell,
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    again = json.loads(out.read_text())
    for key in ("rows", "patterns", "degeneracy", "prop22"):
        assert again[key] == first[key]
    cells = sorted(str(p) for p in (res / "cells").rglob("*.json"))
    land = sorted(str(p) for p in (res / "landscape").rglob("*.json"))
    extra = [
        str(res / "tables" / f)
        for f in ("robustness_claims.csv", "beyond_claims.csv", "collapse_claims.csv", "scaling_claims.csv")
    ]
    assert (
        main(
            [
                "aggregate",
                "--cells",
                *cells,
                "--landscape",
                *land,
                "--extra-claims",
                *extra,
                "--out-dir",
                str(tmp_path / "tables"),
            ]
        )
        == 0
    )
    for name in (
        "claims.csv",
        "constructions.csv",
        "patterns.csv",
        "degeneracy.csv",
        "landscape_endpoints.csv",
        "landscape_shape.csv",
    ):
        assert (tmp_path / "tables" / name).read_bytes() == (res / "tables" / name).read_bytes()
    assert main(["figure", "--name", "phase", "--tables", str(res / "tables"), "--out", str(tmp_path / "phase")]) == 0
    for ext in ("png", "pdf"):
        assert (tmp_path / f"phase.{ext}").read_bytes() == (res / "figures" / f"phase.{ext}").read_bytes()
    prov = json.loads((res / "tables" / "claims.csv.prov.json").read_text())
    assert (
        prov["settings"]["stage"] == "aggregate"
        and prov["seed"] == [7]
        and len(prov["inputs"]) == 8 + len(land) + len(extra)
    )


def test_tiny_study_landscape(tiny_study):
    """The landscape tables: every run is there, Hessian zero modes = #params − rank J at the
    global minimiser, the slice is zero at its centre, the claims rows are computed."""
    t = tiny_study / "results" / "tiny" / "tables"
    end = pd.read_csv(t / "landscape_endpoints.csv", dtype={"structure": str})
    # 2 cells × (he + 2 ρ for global + 2 ρ for none) × 2 optimisers × 4 runs
    assert len(end) == 2 * (1 + 2 + 2) * 2 * 4
    assert set(end["category"]) <= {"zero", "pattern", "merge", "other"}
    assert ((end["category"] == "zero") == (end["cost"] <= 1e-6)).all()
    shape = pd.read_csv(t / "landscape_shape.csv")
    g = shape[shape["point"] == "global"]
    assert len(g) == 2 and (g["n_zero_eig"] == g["null_dim_J"]).all() and (g["n_zero_eig"] > 0).all()
    sl = pd.read_csv(t / "landscape_slice.csv")
    centre = sl[(sl["alpha"].abs() < 1e-12) & (sl["beta"].abs() < 1e-12)]
    assert len(centre) == 2 and (centre["cost"] <= 1e-12).all()
    c = _claims(tiny_study)
    assert c.loc["zero_modes", "verdict"] == "finding" and c.loc["zero_modes", "n_cases"] == 2
    assert c.loc["flat_directions", "verdict"] == "holds"
    assert "landscape_runs.png" in {p.name for p in (tiny_study / "results" / "tiny" / "figures").iterdir()}


def test_tiny_study_landscape_scaling(tiny_study):
    """The landscape as Q grows: one row per configured (Q, optimiser, start), counts that add up
    to the configured runs, its finding in the claims table, and the figure."""
    cfg = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())["landscape"]["scaling"]
    res = tiny_study / "results" / "tiny"
    t = pd.read_csv(res / "tables" / "landscape_scaling.csv")
    assert len(t) == len(cfg["Q"]) * len(cfg["optimisers"]) * len(cfg["starts"])
    assert set(t["Q"]) == set(cfg["Q"]) and (t["n"] == cfg["runs"]).all()
    assert ((t["wilson_lo"] <= t["p_zero"]) & (t["p_zero"] <= t["wilson_hi"])).all()
    finding = _claims(tiny_study).loc["landscape_scaling"]
    assert finding["kind"] == "finding" and finding["n_cases"] == len(t)
    assert finding["n_counter"] == int((t["k_zero"] == 0).sum())
    for ext in ("png", "pdf"):
        assert (res / "figures" / f"landscape_scaling.{ext}").stat().st_size > 0


def test_tiny_study_collapse(tiny_study, tmp_path):
    """Neural collapse and one extra neuron: the tables have their rows, the construction collapses
    every class by layer L, the embeddings preserve the cost of every tested minimum, the findings
    are in the claims table, and the per-cell job reruns to the same bytes."""
    res = tiny_study / "results" / "tiny"
    t = res / "tables"
    nc = pd.read_csv(t / "neural_collapse.csv", dtype={"collapse_layers_mode": str})
    assert list(nc.columns[:9]) == [
        "cell",
        "source",
        "optimiser",
        "start",
        "layer",
        "nc1_papyan",
        "nc2_vs_targets",
        "nc3_vs_targets",
        "nc4_ncc_mismatch",
    ]
    assert (nc.loc[nc["layer"] == 0, "layer_kind"] == "input").all() and (nc["layer"] == 0).any()
    assert {"global", "s1", "trained_zero", "trained_minimum"} <= set(nc["source"])
    glob = nc[(nc["source"] == "global") & (nc["layer"] == nc["L"])]
    assert len(glob) > 0 and (glob["nc1_papyan"] <= 1e-12).all() and (glob["frac_classes_collapsed"] == 1).all()
    assert (glob["frac_staircase"] == 1).all()
    w = pd.read_csv(t / "width_plus_one.csv", dtype={"structure": str})
    minima = pd.read_csv(t / "landscape_minima.csv", dtype={"structure": str})
    assert len(w) == 3 * len(minima) > 0  # three embeddings, one representative
    assert np.allclose(w["cost_embedded"], w["cost_before"], rtol=1e-9, atol=0)
    kept = w[~w["escapable"]]
    assert (kept["cost_after"] >= kept["cost_before"] * (1 - 1e-6)).all()
    assert set(w["level_type"]) <= {"class-merging", "pattern", "other"}
    c = _claims(tiny_study)
    finding = c.loc["width_escape"]
    assert finding["kind"] == "finding" and finding["n_cases"] == minima.groupby(["cell"]).size().sum()
    for ext in ("png", "pdf"):
        assert (res / "figures" / f"neural_collapse.{ext}").stat().st_size > 0
        assert (res / "figures" / f"width_plus_one.{ext}").stat().st_size > 0
        assert (res / "figures" / f"separation.{ext}").stat().st_size > 0

    # the job again, single-threaded BLAS like every job of the workflow (the short L-BFGS runs
    # amplify the rounding differences of multi-threaded BLAS)
    cell = "Q2/thetaregular/r0.05"
    first = json.loads((res / "collapse" / "landscape" / f"{cell}.json").read_text())
    runs = [str(res / "landscape" / cell / f"runs_{s}.json") for s in ("he", "global", "none")]
    out = tmp_path / "again.json"
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONPATH": str(ROOT / "src"),
    }
    # the job's settings file too: its hash is part of the output
    cmd = [
        sys.executable,
        "-m",
        "dlgeom",
        "--settings",
        str(res / "settings" / "collapse.json"),
        "collapse-landscape",
        "--data",
        str(res / "data" / cell / "train_0.npz"),
        "--runs",
        *runs,
        "--endpoints",
        *[r[:-5] + ".npz" for r in runs],
        "--cell-key",
        cell,
        "--n-dirs",
        "8",
        "--opt-iter",
        "50",
        "--seed",
        ",".join(map(str, first["seed"])),
        "--out",
        str(out),
        "--quiet",
    ]
    assert subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300).returncode == 0
    assert out.read_bytes() == (res / "collapse" / "landscape" / f"{cell}.json").read_bytes()


def test_report_builds(tiny_study, tmp_path):
    cfg = tiny_study / "test.yaml"
    res = subprocess.run(
        SNAKEMAKE
        + [
            "-s",
            str(ROOT / "Snakefile"),
            "-d",
            str(tiny_study),
            "--configfile",
            str(cfg),
            "--report",
            str(tmp_path / "report.html"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    html = (tmp_path / "report.html").read_text(errors="replace")
    assert "claims.csv" in html and "phase.png" in html


# ---- the report in a real browser ----------------------------------------------------------------

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
# Run inside the report after it loads: open the claims (and the other tables shown in captions) the
# way a click does, and show every figure through the report's own view manager; the findings go
# into an attribute of <body>, read back from chromium's --dump-dom.
REPORT_CHECK_JS = """
<script>
(async () => {
  const out = {tables: {}, figures: {}, errors: []};
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  try {
    for (let i = 0; i < 100 && typeof app === "undefined"; i++) await sleep(100);
    const paths = Object.keys(results);
    for (const p of paths.filter(p => p.endsWith(".csv"))) {
      app.showResultInfo(p);
      await sleep(300);
      const table = document.querySelector("table.dlgeom-table");
      if (!table) continue;
      const cells = tr => [...tr.querySelectorAll("th, td")].map(c => c.textContent.replace(/\\s+/g, " ").trim());
      out.tables[p] = {head: cells(table.querySelector("thead tr")),
                       rows: [...table.querySelectorAll("tbody tr")].map(cells),
                       claims: table.classList.contains("dlgeom-claims"),
                       width: table.getBoundingClientRect().width};
    }
    const views = new ToggleViewManager(app);
    for (const p of paths.filter(p => p.endsWith(".png"))) {
      views.handleSelectedResult(p);
      await sleep(300);
      const img = [...document.querySelectorAll("img")].find(i => i.src === results[p].data_uri);
      if (img && !img.complete) await new Promise(r => { img.onload = r; img.onerror = r; });
      out.figures[p] = img ? {w: img.naturalWidth, h: img.naturalHeight, shown: img.getBoundingClientRect().width}
                           : null;
    }
  } catch (e) { out.errors.push(String(e)); }
  document.body.setAttribute("data-dlgeom-check", JSON.stringify(out));
})();
</script>
"""


def _normal_text(s) -> str:
    return " ".join(str(s).split())


@pytest.fixture(scope="module")
def tiny_report(tiny_study, tmp_path_factory) -> Path:
    """The tiny study's Snakemake report, built once (no docutils error or warning)."""
    report = tmp_path_factory.mktemp("report") / "report.html"
    res = subprocess.run(
        SNAKEMAKE
        + [
            "-s",
            str(ROOT / "Snakefile"),
            "-d",
            str(tiny_study),
            "--configfile",
            str(tiny_study / "test.yaml"),
            "--report",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert "ERROR/" not in res.stderr and "WARNING/" not in res.stderr, res.stderr[-2000:]  # docutils messages
    return report


def _run_in_chromium(report: Path, script: str, tmp_path: Path, window: str, attribute: str) -> dict:
    """Open ``report`` with ``script`` appended to its body in headless chromium; the JSON the script
    leaves in the ``attribute`` of <body>, read back from --dump-dom."""
    import html as html_lib
    import re
    import tempfile

    head, tail = report.read_text(encoding="utf-8").rsplit("</body>", 1)
    probe = tmp_path / "probe.html"
    probe.write_text(head + script + "</body>" + tail, encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                f"--window-size={window}",
                "--virtual-time-budget=120000",
                "--dump-dom",
                probe.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
    m = re.search(attribute + r'="([^"]*)"', dom.stdout)
    assert m, "the check script did not finish: " + dom.stderr[-2000:]
    return json.loads(html_lib.unescape(m.group(1)))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run does it)")
def test_report_renders_tables_and_figures_in_chromium(tiny_study, tiny_report, tmp_path):
    out = _run_in_chromium(tiny_report, REPORT_CHECK_JS, tmp_path, "1400,1000", "data-dlgeom-check")
    assert out["errors"] == []

    # the claims table: every row and cell of claims.csv, as written (| and _ not eaten by rst)
    claims_csv = next(tiny_study.glob("results/**/tables/claims.csv"))
    claims = pd.read_csv(claims_csv, dtype=str, keep_default_na=False)
    shown = [t for p, t in out["tables"].items() if p.endswith("/claims.csv")]
    assert len(shown) == 1 and shown[0]["claims"] and shown[0]["width"] > 300
    assert shown[0]["head"] == list(claims.columns)
    assert shown[0]["rows"] == [[_normal_text(v) for v in row] for row in claims.itertuples(index=False)]
    assert any("|" in v for v in claims["evidence"]) or any("|" in v for v in claims["claim"])
    # the other tables shown in captions
    for name in ("robustness_summary", "realdata_summary", "landscape_shape", "landscape_paths"):
        csv = next(tiny_study.glob(f"results/**/tables/{name}.csv"))
        table = next(t for p, t in out["tables"].items() if p.endswith(f"/{name}.csv"))
        assert len(table["rows"]) == len(pd.read_csv(csv)), name
    # every figure of the report decodes and is shown
    pngs = {p.name for p in tiny_study.glob("results/**/figures/*.png")}
    assert {Path(p).name for p in out["figures"]} == pngs
    for path, img in out["figures"].items():
        assert img is not None and img["w"] > 100 and img["h"] > 50 and img["shown"] > 100, path


# Run inside the report when it opens (the landing page, nothing clicked): once the layout has settled, every
# row of the verdict summary as a person sees it in the window: the text of each cell, whether the cell lies
# wholly inside the window, is the element found at its centre (nothing covers it) and shows all its text
# (no clipping); the same for the captions and the counting line.
FIRST_SCREEN_JS = """
<script>
(async () => {
  const out = {rows: [], captions: [], counts: null, errors: []};
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const seen = el => {
    const b = el.getBoundingClientRect(), s = getComputedStyle(el);
    const hit = document.elementFromPoint(b.x + b.width / 2, b.y + b.height / 2);
    return b.width > 0 && b.height > 0 && b.left >= 0 && b.top >= 0 && b.right <= innerWidth
      && b.bottom <= innerHeight && s.visibility === "visible" && Number(s.opacity) > 0.5
      && hit !== null && el.contains(hit) && el.scrollWidth <= el.clientWidth + 1;
  };
  const text = el => el.innerText.replace(/\\s+/g, " ").trim();
  try {
    let last = "";
    for (let i = 0; i < 200; i++) {
      await sleep(250);
      const box = document.querySelector(".dlgeom-verdicts");
      const nav = document.querySelector("nav");
      if (!box || !nav || getComputedStyle(nav).backgroundColor === "rgba(0, 0, 0, 0)") continue;
      const now = JSON.stringify([box.getBoundingClientRect(), nav.getBoundingClientRect()]);
      if (now === last) break;
      last = now;
    }
    const box = document.querySelector(".dlgeom-verdicts");
    out.window = [innerWidth, innerHeight];
    for (const table of box.querySelectorAll("table")) {
      const cap = table.querySelector("caption");
      out.captions.push({text: text(cap), seen: seen(cap)});
      for (const tr of table.querySelectorAll("tbody tr")) {
        out.rows.push({caption: text(cap), cells: [...tr.cells].map(td => ({text: text(td), seen: seen(td),
                                                                             title: td.title}))});
      }
    }
    const counts = box.querySelector("p");
    out.counts = {text: text(counts), seen: seen(counts)};
  } catch (e) { out.errors.push(String(e)); }
  document.body.setAttribute("data-dlgeom-first-screen", JSON.stringify(out));
})();
</script>
"""


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; .ci/run does it)")
def test_report_first_screen_shows_every_verdict(tiny_study, tiny_report, tmp_path):
    """The landing page of the report, in a 1366x768 window, shows every claim with its verdict and counts and
    every finding with its counts, without a click or a scroll."""
    import re

    out = _run_in_chromium(tiny_report, FIRST_SCREEN_JS, tmp_path, "1366,768", "data-dlgeom-first-screen")
    assert out["errors"] == []
    claims = pd.read_csv(next(tiny_study.glob("results/**/tables/claims.csv")), dtype=str, keep_default_na=False)
    assert {"claim", "finding"} == set(claims["kind"])
    captions = {"claim": "Claims of the paper", "finding": "Findings beyond the paper"}
    assert [(c["text"], c["seen"]) for c in out["captions"]] == [(captions["claim"], True), (captions["finding"], True)]
    rows = {r["cells"][0]["text"]: r for r in out["rows"]}
    assert len(rows) == len(out["rows"]) == len(claims)
    for c in claims.itertuples(index=False):
        row = rows[c.id]
        assert row["caption"] == captions[c.kind], c.id
        shown = [cell["text"] for cell in row["cells"]]
        expected = [c.id, c.verdict, c.n_cases, c.n_counter] if c.kind == "claim" else [c.id, c.n_cases, c.n_counter]
        assert [shown[0]] + shown[2:] == expected, c.id
        # id, verdict and counts are in the window, uncovered and unclipped; the statement (cut to the
        # column) is whole in its tooltip
        assert all(cell["seen"] for i, cell in enumerate(row["cells"]) if i != 1), (c.id, row)
        assert row["cells"][1]["title"] == c.statement and row["cells"][1]["text"] == _normal_text(c.statement)
    # the counting line: number of claims per verdict and of findings, from the same table
    assert out["counts"]["seen"]
    kinds = claims["kind"].value_counts()
    verdicts = claims.loc[claims["kind"] == "claim", "verdict"].value_counts()
    assert f"{kinds['claim']} claims of the paper" in out["counts"]["text"]
    assert f"{kinds['finding']} findings of ours" in out["counts"]["text"]
    for v in ("holds", "holds with correction", "fails", "untested"):
        assert re.search(rf"(?<![0-9]){verdicts.get(v, 0)} {v}[,;]", out["counts"]["text"]), v


def _report_captions(report: Path) -> dict[str, str]:
    """File name -> caption (HTML) of every result of a built report, from its embedded `results` JSON."""
    import re

    m = re.search(r"var results = (\{.*?\});\n", report.read_text(encoding="utf-8"), re.S)
    assert m, "no results JSON in the report"
    return {Path(path).name: res["caption"] for path, res in json.loads(m.group(1)).items()}


def test_figure_captions_follow_the_configured_zero_cost(tiny_study, tiny_report, tmp_path):
    """The phase figure's caption names the zero-cost threshold of the config, also when it is changed (the
    report rebuilt from a copy of the study with another `zero_cost`)."""
    cfg = yaml.safe_load((tiny_study / "test.yaml").read_text())
    assert f"reaches C ≤ {cfg['zero_cost']!r}, over" in _report_captions(tiny_report)["phase.png"]
    copy = tmp_path / "study"
    for sub in ("results", ".snakemake"):
        shutil.copytree(tiny_study / sub, copy / sub, ignore=shutil.ignore_patterns("locks", "incomplete"))
    cfg["zero_cost"] = cfg["zero_cost"] * 10
    (copy / "other.yaml").write_text(yaml.safe_dump(cfg))
    report = tmp_path / "report.html"
    res = subprocess.run(
        SNAKEMAKE
        + [
            "-s",
            str(ROOT / "Snakefile"),
            "-d",
            str(copy),
            "--configfile",
            str(copy / "other.yaml"),
            "--report",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    caption = _report_captions(report)["phase.png"]
    assert f"reaches C ≤ {cfg['zero_cost']!r}, over" in caption and "1e-10" not in caption


def test_tiny_study_literature_metrics(tiny_study):
    """Separation law, Hessian outliers and dead units: the tables hold one fit per network group,
    the constructed minimiser's fuzziness ends at D = 0 (a layer with every class collapsed), and its
    Hessian has Q² outliers."""
    t = tiny_study / "results" / "tiny" / "tables"
    sep = pd.read_csv(t / "separation.csv")
    assert list(sep.columns[:5]) == ["cell", "source", "optimiser", "start", "category"]
    assert {"rho_median", "pearson_r_median", "n_fitted", "status"} <= set(sep.columns)
    glob = sep[sep["source"] == "global"]
    assert len(glob) > 0 and (glob["n_layers_all_collapsed_median"] >= 1).all()
    assert (glob["fuzziness_last_hidden_median"] < 1e-20).all() and (glob["fuzziness_input_median"] > 0).all()
    nc = pd.read_csv(t / "neural_collapse.csv", dtype={"collapse_layers_mode": str})
    counts = nc[nc["layer"] == 0].groupby(["cell", "source", "optimiser", "start", "category"])["n_networks"].sum()
    assert counts.sum() == sep["n_networks"].sum()  # every network has its fit
    shape = pd.read_csv(t / "landscape_shape.csv")
    g = shape[shape["point"] == "global"]
    assert (g["hess_n_outliers"] == g["Q"] ** 2).all()
    minima = pd.read_csv(t / "landscape_minima.csv", dtype={"structure": str})
    assert {"hess_n_outliers", "hess_n_nonzero", "hess_outlier_gap", "dead_units"} <= set(minima.columns)
    assert (minima["dead_units"] >= 0).all()
    c = _claims(tiny_study)
    for key in ("separation_law", "collapse_cdnv", "hessian_outliers", "dead_units"):
        assert c.loc[key, "kind"] == "finding" and int(c.loc[key, "n_cases"]) > 0, key
