"""The collapse stage: end-point files, the per-cell runner on real landscape runs, the findings'
verdicts computed from the tables, and bad input."""

import json

import pandas as pd
import pytest

from dlgeom import DlgeomInputError
from dlgeom.cli import main
from dlgeom.data import save_dataset
from dlgeom.network import Network, cost
from dlgeom.study.collapse_report import collapse_claims, neural_collapse_table
from dlgeom.study.collapse_run import read_endpoints, run_collapse_landscape, write_endpoints
from dlgeom.study.landscape_run import run_landscape
from dlgeom.synthetic import make_clustered


@pytest.fixture(scope="module")
def small_landscape():
    data = make_clustered(2, 12, 0.3, seed=[11])
    out = run_landscape(
        data,
        2,
        runs=4,
        starts=("he", "global"),
        rhos=(0.1,),
        optimisers=("lbfgs",),
        max_iter=150,
        seed=(3,),
        shape=False,
        cell_key="Q2/test",
    )
    return data, out


def test_endpoint_file_round_trip_and_parameters_reproduce_the_costs(small_landscape, tmp_path):
    data, out = small_landscape
    path = write_endpoints(tmp_path / "e.npz", out["endpoint_params"], out["rows"])
    ep = read_endpoints(path)
    assert ep["x"].shape == (len(out["rows"]), 3 * (4 + 2))
    for row, x in zip(out["rows"], ep["x"]):
        assert cost(Network.from_flat(x, 2, 2), data) == pytest.approx(row["cost"], rel=1e-9, abs=1e-15)
    with pytest.raises(DlgeomInputError, match="endpoints"):
        write_endpoints(tmp_path / "f.npz", out["endpoint_params"][:-1], out["rows"])


def test_runner_rows_and_function_preservation(small_landscape, tmp_path):
    data, out = small_landscape
    ep = read_endpoints(write_endpoints(tmp_path / "e.npz", out["endpoint_params"], out["rows"]))
    doc = json.loads(json.dumps({"rows": out["rows"]}))  # as read back from the runs file
    res = run_collapse_landscape(data, [doc], [ep], "Q2/test", seed=[1], n_dirs=4, opt_iter=20)
    n_zero = sum(r["category"] == "zero" for r in out["rows"])
    assert res["n_zero"] == n_zero
    assert len(res["nc_rows"]) == 4 * (res["n_zero"] + res["n_certified"])  # input, L = 2 hidden, output
    assert len(res["width_rows"]) == 3 * res["n_minima"]
    for r in res["width_rows"]:
        assert r["cost_embedded"] == pytest.approx(r["cost_before"], rel=1e-9)
        assert r["escapable"] == (r["cost_after"] < r["cost_before"] * (1 - 1e-6))
    shuffled = {k: v[::-1].copy() for k, v in ep.items()}
    with pytest.raises(DlgeomInputError, match="order"):
        run_collapse_landscape(data, [doc], [shuffled], "Q2/test")


def _nc_rows(source, start, pattern, nc1_last, n=1, L=2, q=2):
    rows = []
    for k in range(n):
        for layer in range(0, L + 2):
            rows.append(
                {
                    "cell": "c",
                    "source": source,
                    "optimiser": "lbfgs" if start else "",
                    "start": start,
                    "run": k,
                    "category": "zero" if start else "",
                    "Q": q,
                    "L": L,
                    "cost": 0.0,
                    "layer": layer,
                    "layer_kind": "input" if layer == 0 else ("hidden" if layer <= L else "output"),
                    "collapse_layers": pattern,
                    "nc1_papyan": nc1_last if layer == L else 1.0,
                    "nc1_trace_ratio": 1.0,
                    "cdnv": 1.0,
                    "separation_fuzziness": q * (nc1_last if layer == L else 1.0),
                    "nc2_vs_targets": 0.0,
                    "nc2_vs_etf": 0.0,
                    "nc3_vs_targets": 0.5,
                    "nc3_papyan": 0.5,
                    "nc4_ncc_mismatch": 0.0,
                    "spread_max": 0.0,
                    "n_collapsed": q,
                }
            )
    return rows


def _answers(nc, width=None):
    """id -> (n_cases, n_counter) of the stage's findings rows."""
    rows = collapse_claims(neural_collapse_table(pd.DataFrame(nc)), width)
    assert all(r["kind"] == "finding" and r["verdict"] == "finding" for r in rows)
    return {r["id"]: (r["n_cases"], r["n_counter"]) for r in rows}


def test_findings_counts_follow_the_tables():
    cons = _nc_rows("global", "", "1-2", 0.0)
    stair = _answers(
        cons + _nc_rows("trained_zero", "he", "1-2", 1e-30, n=3) + _nc_rows("trained_zero", "he", "2-2", 1e-30)
    )
    # 4 zero-cost end points from random starts, 3 of them collapse one class per layer
    assert stair["collapse_layers"] == (4, 1) and stair["collapse_last_hidden"] == (4, 0)
    late = _answers(
        cons + _nc_rows("trained_zero", "he", "2-2", 1e-3, n=3) + _nc_rows("trained_zero", "he", "1-2", 1e-3)
    )
    assert late["collapse_layers"] == (4, 3)
    # zero-cost end points only from perturbed constructions: the random-start findings have no case
    near = _answers(cons + _nc_rows("trained_zero", "global@0.1", "1-2", 0.0, n=2))
    assert near["collapse_layers"] == (0, 0)
    w = pd.DataFrame(
        {
            "cell": ["c"] * 4,
            "minimum": [0, 0, 1, 1],
            "level_type": ["pattern"] * 2 + ["other"] * 2,
            "multiplicity": [3, 3, 1, 1],
            "embedding": ["zero", "split"] * 2,
            "escapable": [True, False, False, False],
            "cost_before": [1.0] * 4,
            "cost_after": [0.5, 1.0, 1.0, 1.0],
            "rel_drop": [0.5, 0, 0, 0],
            "method": ["probe"] + ["none"] * 3,
        }
    )
    assert _answers(cons, w)["width_escape"] == (2, 1)  # two distinct minima, one not escapable
    w.loc[2, "escapable"] = True
    assert _answers(cons, w)["width_escape"] == (2, 0)


def test_cli_errors_are_one_line(tmp_path, capsys):
    data = make_clustered(2, 6, 0.3, seed=[1])
    save_dataset(data, tmp_path / "d.npz")
    runs = tmp_path / "r.json"
    runs.write_text(json.dumps({"rows": []}))
    rc = main(
        [
            "collapse-landscape",
            "--data",
            str(tmp_path / "d.npz"),
            "--runs",
            str(runs),
            "--endpoints",
            "--out",
            str(tmp_path / "o.json"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "--endpoints" in err and err.count("\n") == 1
    rc = main(
        [
            "collapse-landscape",
            "--data",
            str(tmp_path / "d.npz"),
            "--runs",
            str(runs),
            "--endpoints",
            str(runs),
            "--embeddings",
            "triple",
            "--out",
            str(tmp_path / "o.json"),
        ]
    )
    assert rc == 2 and not (tmp_path / "o.json").exists()
    rc = main(
        [
            "collapse-constructed",
            "--data-dirs",
            str(tmp_path),
            "--cell-keys",
            "a",
            "b",
            "--out",
            str(tmp_path / "c.json"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "--cell-keys" in err


def test_separation_fit_of_the_runner_rows_matches_an_independent_fit(small_landscape, tmp_path):
    import numpy as np

    from dlgeom.study.collapse_report import separation_per_network, separation_table

    data, out = small_landscape
    ep = read_endpoints(write_endpoints(tmp_path / "e.npz", out["endpoint_params"], out["rows"]))
    res = run_collapse_landscape(
        data, [json.loads(json.dumps({"rows": out["rows"]}))], [ep], "Q2/test", n_dirs=2, opt_iter=5
    )
    nc = pd.DataFrame(res["nc_rows"])
    per = separation_per_network(nc)
    assert len(per) == res["n_zero"] + res["n_certified"] > 0
    for r in per.itertuples():
        g = nc[
            (nc["source"] == r.source) & (nc["start"] == r.start) & (nc["run"] == r.run) & (nc["layer"] <= nc["L"])
        ].sort_values("layer")
        D = g["separation_fuzziness"].to_numpy(float)
        keep = np.isfinite(D) & (D > 0) & (g["n_collapsed"] < g["Q"]).to_numpy()
        assert r.n_layers_fitted == keep.sum() and r.n_layers_all_collapsed == (g["n_collapsed"] == g["Q"]).sum()
        if keep.sum() >= 2:
            ell = np.flatnonzero(keep)
            assert r.rho == pytest.approx(np.exp(np.polyfit(ell, np.log(D[keep]), 1)[0]), rel=1e-10)
        else:
            assert r.status == "too_few_layers"
    t = separation_table(nc)
    assert t["n_networks"].sum() == len(per) and set(t["source"]) <= {"trained_zero", "trained_minimum"}
    assert t["n_two_layer_fits"].sum() == (per["n_layers_fitted"] == 2).sum()
    assert t["n_fitted"].sum() == (per["n_layers_fitted"] >= 2).sum()


def test_cdnv_and_separation_findings_count_from_the_tables():
    from dlgeom.study.collapse_report import separation_table

    def rows(source, start, cdnv_in, cdnv_last, fuzz, run=0, q=2, L=2):
        out = []
        for layer in range(L + 2):
            out.append(
                {
                    "cell": "c",
                    "source": source,
                    "optimiser": "lbfgs" if start else "",
                    "start": start,
                    "run": run,
                    "category": "zero" if start else "",
                    "Q": q,
                    "L": L,
                    "cost": 0.0,
                    "layer": layer,
                    "layer_kind": "input" if layer == 0 else ("hidden" if layer <= L else "output"),
                    "collapse_layers": "1-2",
                    "nc1_papyan": 1.0,
                    "nc1_trace_ratio": 1.0,
                    "cdnv": cdnv_in if layer == 0 else cdnv_last,
                    "separation_fuzziness": fuzz[min(layer, L)],
                    "nc2_vs_targets": 0.0,
                    "nc2_vs_etf": 0.0,
                    "nc3_vs_targets": 0.5,
                    "nc3_papyan": 0.5,
                    "nc4_ncc_mismatch": 0.0,
                    "spread_max": 0.0,
                    "n_collapsed": 0,
                }
            )
        return out

    geometric = [1.0, 0.1, 0.01]
    flat = [1.0, 1.0, 1.0001]
    nc = (
        rows("global", "", 1.0, 1e-3, geometric)
        + rows("trained_zero", "he", 1.0, 2.0, flat, run=0)
        + rows("trained_zero", "he", 1.0, 2.0, geometric, run=1)
    )
    sep = separation_table(pd.DataFrame(nc))
    found = {
        r["id"]: (r["n_cases"], r["n_counter"])
        for r in collapse_claims(neural_collapse_table(pd.DataFrame(nc)), None, sep)
    }
    # three networks fitted: the constructed one and one trained decay geometrically (r = -1), one does not
    assert found["separation_law"] == (3, 1)
    # the trained group's median CDNV rises from the input to layer L: its 2 networks count against
    assert found["collapse_cdnv"] == (3, 2)
    assert sep.set_index("source").loc["global", "rho_median"] == pytest.approx(0.1)


def test_constructed_networks_use_the_study_theta0_rule(tmp_path):
    """The collapse stage builds the global minimiser with the study's θ_0 rule ('open_box', as the
    grid and landscape stages do), not the library default ('midpoint'): its first hidden layer
    equals the one built from geometry(data, 'open_box') and differs from the midpoint one."""
    import numpy as np

    from dlgeom.construct import construct_global
    from dlgeom.geometry import geometry
    from dlgeom.study import STUDY_THETA0
    from dlgeom.study.collapse_run import run_collapse_constructed

    data = make_clustered(3, 15, 0.1, seed=[5])
    save_dataset(data, tmp_path / "train_0.npz")
    out = run_collapse_constructed([("Q3/test", tmp_path)], layers_offset=0)
    rows = pd.DataFrame(out["rows"])
    got = rows[(rows["source"] == "global") & (rows["layer"] == 1)].iloc[0]

    def first_layer_cdnv(rule):
        from dlgeom.neural_collapse import cdnv, layer_features

        net = construct_global(data, 3, geom=geometry(data, rule)).network
        return cdnv(layer_features(net, data.X)[0], data.y, 3)

    assert STUDY_THETA0 == "open_box"
    study, library = first_layer_cdnv("open_box"), first_layer_cdnv("midpoint")
    assert not np.isclose(study, library, rtol=1e-6)  # the two rules give different networks here
    assert got["cdnv"] == pytest.approx(study, rel=1e-12)
