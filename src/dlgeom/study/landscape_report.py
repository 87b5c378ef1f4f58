"""Tables, claims rows and figures of the landscape stage (``dlgeom landscape``: optimiser runs,
end points, Hessians, μ-paths and a 2D slice per landscape cell).

* :func:`load_landscape` — landscape JSON files → the landscape tables (sorted rows);
  :func:`certified_minima` — the distinct certified non-zero local minima (landscape_minima).
* :func:`landscape_claims` — claims rows (:func:`verdicts.make_row`); none when the stage did not run.
* :func:`fig_landscape_runs`, :func:`fig_landscape_shape`, :func:`fig_landscape_minima` —
  matplotlib Figures (save with :func:`dlgeom.study.figures.save_figure`).
* The landscape as Q grows (``dlgeom landscape-scaling``, one JSON per Q): :func:`load_scaling_rows`,
  :func:`scaling_table` (landscape_scaling.csv), :func:`scaling_claims` (its findings row),
  :func:`write_scaling_tables`, :func:`fig_landscape_scaling`.

:mod:`dlgeom.study.aggregate` writes these tables with the grid's; matplotlib is imported only
when a figure is drawn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..jsonutil import malformed, read_json
from ..landscape import INIT_SCHEMES
from ..thresholds import ZERO_COST
from .evidence import item, items
from .tables import frac as _frac
from .tables import restore_nonfinite as _restore_nonfinite
from .verdicts import make_row

__all__ = [
    "CERT_DESCENT",
    "CERT_GRAD",
    "LANDSCAPE_TABLES",
    "certified_endpoints",
    "certified_minima",
    "distinct_minima",
    "fig_landscape_minima",
    "fig_landscape_runs",
    "fig_landscape_shape",
    "landscape_claims",
    "load_landscape",
    "SCALING_COLUMNS",
    "fig_landscape_scaling",
    "load_scaling_rows",
    "read_scaling_table",
    "scaling_claims",
    "scaling_table",
    "write_scaling_tables",
]

LANDSCAPE_TABLES = (
    "landscape_endpoints",
    "landscape_basins",
    "landscape_shape",
    "landscape_paths",
    "landscape_slice",
    "landscape_levels",
)


def _landscape_parts(d: dict, parts: dict) -> None:
    """Add the rows of one landscape JSON document to ``parts``."""
    parts["landscape_endpoints"].extend(d.get("rows", []))
    parts["landscape_basins"].extend(d.get("basins", []))
    for row in d.get("shape", []):
        parts["landscape_shape"].append({**row, "eigenvalues": " ".join(f"{v:.10g}" for v in row["eigenvalues"])})
    for row in d.get("paths", []):
        parts["landscape_paths"].append({**row, "profile": " ".join(f"{v:.10g}" for v in row["profile"])})
    if "shape" in d:
        for name, value in sorted(d["levels"].items()):
            parts["landscape_levels"].append({"cell": d["cell"], "level": name, "value": value})
    sl = d.get("slice")
    if sl:
        radii = sl["radii"]
        for i, a in enumerate(radii):
            for k, b in enumerate(radii):
                parts["landscape_slice"].append(
                    {
                        "cell": sl["cell"],
                        "alpha": a,
                        "beta": b,
                        "cost": sl["cost"][i][k],
                        "eps_safe": sl["eps_safe"],
                        "cos_d1_d2": sl["cos"],
                    }
                )


def load_landscape(paths) -> dict[str, pd.DataFrame]:
    """Tables of the landscape JSON files (runs_<start>.json and shape.json of every cell)."""
    parts = {name: [] for name in LANDSCAPE_TABLES}
    for p in sorted(map(str, paths)):
        d = read_json(p, "--landscape", "dlgeom landscape")
        with malformed(p, "--landscape", "dlgeom landscape"):
            _landscape_parts(d, parts)
    frames = {}
    for name, rows in parts.items():
        df = _restore_nonfinite(pd.DataFrame(rows))
        keys = [
            k
            for k in ("cell", "start", "optimiser", "run", "category", "point", "s", "alpha", "beta", "level")
            if k in df.columns
        ]
        frames[name] = df.sort_values(keys, kind="stable").reset_index(drop=True) if len(df) else df
    return frames


CERT_GRAD = 1e-6  # gradient norm of C² below which an end point counts as stationary
CERT_DESCENT = -1e-9  # relative change of C² along random directions below which descent was found


def certified_endpoints(end: pd.DataFrame) -> pd.DataFrame:
    """The L-BFGS end points certified as non-zero local minima (criteria of
    :func:`certified_minima`), with a column ``kind`` ('smooth' or 'nonsmooth')."""
    if end is None or not len(end) or "probe_min_rel_change" not in end:
        return pd.DataFrame(columns=list(end.columns if end is not None else []) + ["kind"])
    e = end[(end["optimiser"] == "lbfgs") & (end["category"] != "zero") & end["probe_min_rel_change"].notna()]
    no_descent = e["probe_min_rel_change"] >= CERT_DESCENT
    smooth = (e["grad_norm"] <= CERT_GRAD) & (e["hess_status"] == "ok") & (e["hess_n_negative"] == 0)
    kink = e["hess_status"] == "kink"
    keep = no_descent & (smooth | kink)
    return e[keep].assign(kind=np.where(smooth[keep], "smooth", "nonsmooth"))


def distinct_minima(cert: pd.DataFrame):
    """Groups of certified end points that are one minimum: same cell, same collapse structure,
    cost equal to 1e-6 (relative, consecutive in cost order).  Yields DataFrames (sorted by cost)."""
    for _, g in cert.groupby(["cell", "structure"], sort=True):
        g = g.sort_values("cost", kind="stable")
        group_start = 0
        costs = g["cost"].to_numpy()
        for i in range(1, len(g) + 1):
            if i == len(g) or costs[i] > costs[group_start] * (1 + 1e-6):
                yield g.iloc[group_start:i]
                group_start = i


def certified_minima(end: pd.DataFrame) -> pd.DataFrame:
    """Distinct certified non-zero local minima among L-BFGS end points, with multiplicity.

    Certified: no descent along random directions at radii 1e-8..1e-3 (``probe_min_rel_change``
    ≥ CERT_DESCENT), and either smooth (gradient norm ≤ CERT_GRAD, Hessian without negative
    eigenvalue) or on a kink, where the Hessian is not defined ('nonsmooth').  Distinct: same
    cell, same collapse structure, cost equal to 1e-6 (relative).  ``hess_n_outliers``,
    ``hess_n_nonzero``, ``hess_outlier_gap`` (:func:`dlgeom.landscape.hessian_outliers`; NaN on a
    kink) and ``dead_units`` (:func:`dlgeom.landscape.dead_units`) are those of the minimum's
    lowest-cost end point."""
    cols = [
        "cell",
        "Q",
        "kind",
        "cost",
        "category",
        "nearest_level",
        "structure",
        "multiplicity",
        "starts",
        "hess_n_outliers",
        "hess_n_nonzero",
        "hess_outlier_gap",
        "dead_units",
    ]
    if end is None or not len(end) or "probe_min_rel_change" not in end:
        return pd.DataFrame(columns=cols)
    rows = []
    for part in distinct_minima(certified_endpoints(end)):
        rows.append(
            {
                "cell": part["cell"].iloc[0],
                "Q": int(part["Q"].iloc[0]),
                "kind": "/".join(sorted(set(part["kind"]))),
                "cost": float(part["cost"].median()),
                "category": part["category"].iloc[0],
                "nearest_level": part["nearest_level"].iloc[0],
                "structure": part["structure"].iloc[0],
                "multiplicity": len(part),
                "starts": ",".join(sorted(set(part["start_kind"]))),
                **{c: part[c].iloc[0] if c in part.columns else np.nan for c in cols[-4:]},
            }
        )
    return (
        pd.DataFrame(rows, columns=cols)
        .sort_values(["cell", "cost", "structure"], kind="stable")
        .reset_index(drop=True)
    )


def _training_zero_row(rand: pd.DataFrame) -> dict:
    per = rand.groupby("optimiser")["category"].apply(lambda c: (c == "zero").mean())
    numbers = {
        "zero_runs": _frac(rand["category"] == "zero"),
        "by_optimiser": items("group_fraction", ({"group": k, "value": v} for k, v in per.items())),
    }
    return make_row("training_zero", len(rand), 0, numbers)


def _training_levels_row(rand: pd.DataFrame) -> dict:
    ended_zero = rand["category"] == "zero"
    nz = rand[~ended_zero & rand["status"].isin(["converged", "zero"])]
    cats = nz["category"].value_counts()
    allnz = rand[~ended_zero]["category"].value_counts()
    numbers = {"n_converged": len(nz)}
    for level in ("pattern", "merge", "other"):
        numbers[level] = int(cats.get(level, 0))
        numbers[f"all_{level}"] = int(allnz.get(level, 0))
    return make_row("training_levels", len(nz), 0, numbers)


def _training_hessian_row(end: pd.DataFrame, certified: pd.DataFrame) -> dict:
    by_cat = certified.groupby("category")["hess_n_negative"].apply(lambda v: f"{int((v == 0).sum())}/{len(v)}")
    numbers = {
        "psd": _frac(certified["hess_n_negative"] == 0),
        "by_level": items("group_value", ({"group": k, "value": v} for k, v in by_cat.items())),
        "n_kink": int((end["hess_status"] == "kink").sum()),
    }
    return make_row("training_hessian", len(certified), 0, numbers)


def _training_connected_row(found: pd.DataFrame, near: pd.DataFrame) -> dict:
    numbers = {
        "flat": _frac(found["path_barrier"] <= 1e-6),
        "median_barrier": found["path_barrier"].median(),
        "median_peak_t": found["path_peak_t"].median(),
        "median_barrier_minimiser": near["path_barrier"].median() if len(near) else float("nan"),
    }
    return make_row("training_connected", len(found), 0, numbers)


def _training_attraction_row(glob: pd.DataFrame) -> dict:
    small = glob[glob["rho"] == glob["rho"].min()]
    by_opt = small.groupby("optimiser")["returned"].apply(lambda r: r.astype(bool).mean())
    by_rho = glob.groupby(["rho", "optimiser"])["returned"].apply(lambda r: r.astype(bool).mean())
    numbers = {
        "rho": small["rho"].iloc[0],
        "by_optimiser": items("group_fraction", ({"group": k, "value": v} for k, v in by_opt.items())),
        "by_rho_optimiser": items(
            "rho_optimiser", ({"rho": r, "optimiser": o, "value": v} for (r, o), v in by_rho.items())
        ),
    }
    return make_row("training_attraction", len(small), 0, numbers)


def _training_rows(end: pd.DataFrame, zero: float) -> list[dict]:
    """The findings on gradient training (end points of the landscape runs)."""
    rows = []
    rand = end[end["start_kind"].isin(INIT_SCHEMES)]
    if len(rand):
        rows += [_training_zero_row(rand), _training_levels_row(rand)]
    if "hess_n_negative" in end.columns:
        certified = end[
            end["start_kind"].isin(INIT_SCHEMES) & (end["category"] != "zero") & end["hess_n_negative"].notna()
        ]
        if len(certified):
            rows.append(_training_hessian_row(end, certified))
    good = end[end["global_cost"] <= zero]
    if "path_barrier" in end.columns:
        found = good[good["start_kind"].isin(INIT_SCHEMES) & (good["category"] == "zero")]
        near = good[(good["start_kind"] == "global") & (good["category"] == "zero")]
        if len(found):
            rows.append(_training_connected_row(found, near))
    glob = good[good["start_kind"] == "global"]
    if len(glob):
        rows.append(_training_attraction_row(glob))
    return rows


def _other_minima_row(minima: pd.DataFrame) -> dict:
    new_min = minima[minima["category"] != "pattern"]
    top = new_min.sort_values("multiplicity", ascending=False, kind="stable").head(4)
    frequent = (
        {
            "cell": r.cell,
            "cost": r.cost,
            "level": r.nearest_level if r.category == "merge" else "other",
            "structure": r.structure,
            "multiplicity": r.multiplicity,
        }
        for r in top.itertuples()
    )
    numbers = {
        "n_points": int(minima["multiplicity"].sum()),
        "n_minima": len(minima),
        "n_new": len(new_min),
        "n_new_points": int(new_min["multiplicity"].sum()),
        "n_merge": int((new_min["category"] == "merge").sum()),
        "n_other": int((new_min["category"] == "other").sum()),
        "most_frequent": items("minimum", frequent, "; "),
    }
    return make_row("other_minima", len(minima), 0, numbers)


def _global_shape(shape, zero: float) -> pd.DataFrame:
    """The local-shape rows of the global minimisers with zero constructed cost."""
    return shape[(shape["point"] == "global") & (shape["global_cost"] <= zero)]


def _hessian_outliers_row(minima: pd.DataFrame, end, shape, zero: float) -> dict:
    from ..landscape import HESS_OUTLIER_RTOL

    m = minima[minima["hess_n_outliers"].notna()]
    q2 = m["Q"] ** 2
    numbers = {"rtol": HESS_OUTLIER_RTOL}
    if shape is not None and len(shape) and "hess_n_outliers" in shape.columns:
        g = _global_shape(shape, zero)
        cells = (
            {
                "cell": r.cell,
                "n_outliers": int(r.hess_n_outliers),
                "n_nonzero": int(r.n_params - r.n_zero_eig - r.n_negative_eig),
                "q2": int(r.Q) ** 2,
            }
            for r in g.itertuples()
        )
        numbers["constructed"] = items("outliers_cell", cells)
    zl = pd.DataFrame()
    if end is not None and len(end) and "hess_n_outliers" in end.columns:
        zl = end[(end["category"] == "zero") & end["hess_n_outliers"].notna()]
    if len(zl):
        numbers.update(
            n_zero_points=len(zl),
            zero_outliers_q2=_frac(zl["hess_n_outliers"] == zl["Q"] ** 2),
            zero_nonzero_q2=_frac(zl["hess_n_nonzero"] == zl["Q"] ** 2),
            zero_ratio=(zl["hess_n_outliers"] / zl["Q"] ** 2).median(),
            zero_gap=zl["hess_outlier_gap"].median(),
        )
    by = (
        m.assign(ratio=m["hess_n_outliers"] / q2)
        .groupby("category")
        .agg(
            n_min=("ratio", "size"),
            n_eq=("ratio", lambda v: int((v == 1).sum())),
            ratio_med=("ratio", "median"),
            gap_med=("hess_outlier_gap", "median"),
        )
    )
    levels = (
        {"level": k, "n_eq": int(r.n_eq), "n_min": int(r.n_min), "ratio": r.ratio_med, "gap": r.gap_med}
        for k, r in by.iterrows()
    )
    numbers.update(
        n_hessian=len(m),
        n_minima=len(minima),
        outliers_q2=_frac(m["hess_n_outliers"] == q2),
        per_level=items("outliers_level", levels, "; "),
    )
    n_counter = int((m["hess_n_outliers"] != q2).sum()) + (
        int((zl["hess_n_outliers"] != zl["Q"] ** 2).sum()) if len(zl) else 0
    )
    return make_row("hessian_outliers", len(m) + len(zl), n_counter, numbers)


def _dead_units_row(d: pd.DataFrame, end) -> dict:
    alive = d["dead_units"] == 0
    per = d.groupby("category")["dead_units"].agg(
        n_min="size", n_alive=lambda v: int((v == 0).sum()), dead_med="median"
    )
    levels = (
        {"level": k, "n_alive": int(r.n_alive), "n_min": int(r.n_min), "dead": r.dead_med} for k, r in per.iterrows()
    )
    numbers = {
        "alive": _frac(alive),
        "alive_points": int(d.loc[alive, "multiplicity"].sum()),
        "points": int(d["multiplicity"].sum()),
        "per_level": items("dead_level", levels, "; "),
    }
    zd = end[end["category"] == "zero"] if end is not None and len(end) and "dead_units" in end.columns else None
    if zd is not None and len(zd):
        numbers.update(
            n_zero_points=len(zd), zero_alive=_frac(zd["dead_units"] == 0), zero_dead=zd["dead_units"].median()
        )
    return make_row("dead_units", len(d), int(alive.sum()), numbers)


def _outlier_rows(minima: pd.DataFrame, end, shape, zero: float) -> list[dict]:
    """The findings ``hessian_outliers`` and ``dead_units`` (docs/claims.md)."""
    rows = [_hessian_outliers_row(minima, end, shape, zero)]
    d = minima[minima["dead_units"].notna()]
    if len(d):
        rows.append(_dead_units_row(d, end))
    return rows


def _family_ranks(r, names) -> str:
    """'family rank, …' of one cell's flat directions (families with a rank)."""
    return items(
        "family_rank",
        ({"family": f, "rank": int(r[f"modes_rank_{f}"])} for f in names if pd.notna(r.get(f"modes_rank_{f}"))),
    )


def _flat_rows(shape: pd.DataFrame, g: pd.DataFrame) -> list[dict]:
    """The rows ``flat_directions`` (the paper's directions) and ``flat_extended`` (ours)."""
    fams = [c[len("modes_in_null_") :] for c in shape.columns if c.startswith("modes_in_null_")]
    paper_fams = [f for f in ("mu", "layer_rescaling") if f"modes_rank_{f}" in g]
    ours = [f for f in fams if f not in paper_fams and f"modes_rank_{f}" in g]

    def not_flat(names):
        bad = pd.Series(False, index=g.index)
        for f in names:
            bad |= g[f"modes_in_null_{f}"] != g[f"modes_rank_{f}"]
        return bad

    bad_paper, bad_ours = not_flat(paper_fams), not_flat(ours)
    paper = {
        "flat": _frac(~bad_paper),
        "per_cell": items(
            "flat_cell",
            (
                {"cell": r["cell"], "families": _family_ranks(r, paper_fams), "null_dim": int(r["modes_null_dim"])}
                for _, r in g.iterrows()
            ),
            "; ",
        ),
    }
    extended = {
        "families": ", ".join(ours),
        "flat": _frac(~bad_ours),
        "n_explained": int(g["modes_explained"].sum()),
        "n_null": int(g["modes_null_dim"].sum()),
        "n_paper": int(sum(g[f"modes_rank_{f}"].sum() for f in paper_fams)),
        "null_is_theory": _frac(g["modes_null_dim"] == g["null_dim_theory"]),
        "per_cell": items(
            "cell_families", ({"cell": r["cell"], "families": _family_ranks(r, fams)} for _, r in g.iterrows()), "; "
        ),
    }
    return [
        make_row("flat_directions", len(g), int(bad_paper.sum()), paper),
        make_row("flat_extended", len(g), int(bad_ours.sum()), extended),
    ]


def _zero_modes_rows(shape: pd.DataFrame, zero: float) -> list[dict]:
    """The Hessian's zero modes at the global minimiser, and its flat directions."""
    g = _global_shape(shape, zero)
    cells = (
        {"cell": r.cell, "n_zero_eig": r.n_zero_eig, "n_params": r.n_params, "null_dim_J": r.null_dim_J}
        for r in g.itertuples()
    )
    numbers = {"equal": _frac(g["n_zero_eig"] == g["null_dim_J"]), "per_cell": items("zero_modes_cell", cells)}
    rows = [make_row("zero_modes", len(g), 0, numbers)]
    if "modes_explained" in shape and len(g):
        rows += _flat_rows(shape, g)
    return rows


def _mu_path_row(paths: pd.DataFrame, zero: float) -> dict:
    ok_paths = paths[(paths["global_cost"] <= zero) & paths["all_hold"]]
    mixed = ok_paths[ok_paths["type"] == "mixed"]
    barrier = mixed["barrier"] > 1e-10 * mixed["F_start"].clip(lower=1e-300)
    s1 = ok_paths[ok_paths["type"] == "none"]
    numbers = {
        "barrier": _frac(barrier),
        "monotone": _frac(mixed["monotone"]),
        "s1_barrier": _frac(s1["barrier"] > 1e-10 * s1["F_start"]),
        "s1_monotone": _frac(s1["monotone"]),
    }
    return make_row("thm25_mu_path", len(mixed), int((~barrier).sum()), numbers)


def landscape_claims(t: dict[str, pd.DataFrame], zero: float = ZERO_COST) -> list[dict]:
    """Rows (:func:`verdicts.make_row`) from the landscape tables; none when they were not run.
    Cells count for the claims about the global minimiser where its constructed cost is at most
    ``zero`` (the study's ``zero_cost``)."""
    rows = []
    end, shape, paths = t.get("landscape_endpoints"), t.get("landscape_shape"), t.get("landscape_paths")
    if end is not None and len(end):
        rows += _training_rows(end, zero)
    minima = t.get("landscape_minima")
    if minima is not None and len(minima):
        rows.append(_other_minima_row(minima))
        if "hess_n_outliers" in minima.columns:
            rows += _outlier_rows(minima, end, shape, zero)
    if shape is not None and len(shape):
        rows += _zero_modes_rows(shape, zero)
    if paths is not None and len(paths):
        rows.append(_mu_path_row(paths, zero))
    return rows


# ---- (6, 7) the gradient landscape --------------------------------------------------------------


def _no_landscape(title):
    from .figures import no_data_figure

    return no_data_figure(title, "no landscape cells in this study\n(config key landscape.cells)")


def _good(df: pd.DataFrame, zero: float = ZERO_COST) -> pd.DataFrame:
    """Rows of cells where A1-A3 hold and the global construction has zero cost (C ≤ ``zero``)."""
    if "all_hold" not in df.columns:
        return df
    good = df[df["all_hold"].astype(bool) & (df["global_cost"] <= zero)]
    return good if len(good) else df


def _main_cell(df: pd.DataFrame, zero: float = ZERO_COST) -> str:
    """The cell with the largest Q (then the first by name) among the cells where A1-A3 hold and
    the construction has zero cost (any cell if there is none)."""
    cells = sorted(_good(df, zero)["cell"].unique(), key=lambda c: (-int(c.split("/")[0][1:]), c))
    return cells[0]


def fig_landscape_runs(end: pd.DataFrame, basins: pd.DataFrame, levels: pd.DataFrame, zero: float = ZERO_COST):
    """(a) final costs of random-start runs with the predicted levels; (b) basin probabilities of
    random starts with Wilson 95 % intervals; (c) return probability against the start radius ρ.
    Shown: the cells where A1-A3 hold and the construction has C ≤ ``zero`` (any cell if none)."""
    from .figures import plt

    if end is None or not len(end):
        return _no_landscape("Optimiser runs")
    cell = _main_cell(end, zero)
    fig, ((a, b), (c, d)) = plt.subplots(2, 2, figsize=(11, 8.4))
    rand = end[(end["cell"] == cell) & end["start_kind"].isin(INIT_SCHEMES)]
    floor = 1e-16
    bins = np.logspace(-16, 1, 52)
    for i, (opt, g) in enumerate(rand.groupby("optimiser")):
        a.hist(np.clip(g["cost"], floor, None), bins=bins, histtype="step", lw=1.4, color=f"C{i}", label=opt)
    lv = levels[levels["cell"] == cell]
    for r in lv.itertuples():
        style = (
            ("k", ":", 0.6)
            if r.level.startswith("merge")
            else (("C3", "--", 0.8) if r.level.startswith("V_aff") else ("0.6", "-", 0.4))
        )
        a.axvline(r.value, color=style[0], ls=style[1], lw=style[2])
    a.plot([], [], "C3--", lw=0.8, label="V_aff[s] (pattern, LS)")
    a.plot([], [], color="0.6", lw=0.4, label="V_P, V_bf")
    a.plot([], [], "k:", lw=0.6, label="class-merging levels")
    a.set_xscale("log")
    a.set_xlabel("final cost C (C ≤ 1e-16 shown at 1e-16)")
    a.set_ylabel("runs")
    a.set_title(f"(a) random starts, {cell}", fontsize=9)
    a.legend(frameon=False, fontsize=6.5)
    rb = basins[basins["start_kind"].isin(INIT_SCHEMES)]
    cats = ["zero", "pattern", "merge", "other"]
    groups = sorted({(r.cell, r.optimiser) for r in rb.itertuples()})
    x = np.arange(len(groups))
    bottom = np.zeros(len(groups))
    for k, cat in enumerate(cats):
        sub = rb[rb["category"] == cat].groupby(["cell", "optimiser"])[["k", "n"]].sum()
        p = np.array([sub.loc[gk, "k"] / sub.loc[gk, "n"] if gk in sub.index else 0.0 for gk in groups])
        b.bar(x, p, bottom=bottom, color=f"C{k}", label=cat, width=0.8)
        if cat == "zero":
            from ..landscape import wilson_interval

            ci = np.array(
                [
                    wilson_interval(int(sub.loc[gk, "k"]), int(sub.loc[gk, "n"])) if gk in sub.index else (0, 0)
                    for gk in groups
                ]
            )
            yerr = np.clip([p - ci[:, 0], ci[:, 1] - p], 0.0, None)  # rounding can make a bound cross p
            b.errorbar(x, p, yerr=yerr, fmt="none", ecolor="k", capsize=2, lw=0.8)
        bottom += p
    b.set_xticks(x, [f"{c}\n{o}" for c, o in groups], rotation=70, fontsize=6)
    b.set_ylabel("fraction of random-start runs")
    b.set_title("(b) where training ends (bars: Wilson 95 % for zero)", fontsize=9)
    b.legend(frameon=False, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    anchored = _good(end, zero)
    anchored = anchored[anchored["start_kind"].isin(["global", "none"])]
    for i, ((kind, opt), g) in enumerate(anchored.groupby(["start_kind", "optimiser"])):
        m = g.groupby("rho")["returned"].apply(lambda r: r.astype(bool).mean())
        c.plot(
            m.index,
            m.values,
            marker="o" if kind == "global" else "s",
            ls="-" if kind == "global" else "--",
            color=f"C{['lbfgs', 'gd', 'adam'].index(opt) if opt in ('lbfgs', 'gd', 'adam') else i}",
            label=f"{'global minimiser' if kind == 'global' else 's = 1'}, {opt}",
        )
    c.set_xscale("log")
    c.set_ylim(-0.03, 1.03)
    c.set_xlabel("relative start radius ρ")
    c.set_ylabel("fraction returning to the start's level")
    c.set_title("(c) return probability (cells where A1-A3 hold)", fontsize=9)
    c.legend(frameon=False, fontsize=6.5)
    if "path_profile" in end.columns:
        prof = end[(end["cell"] == cell) & end["path_profile"].fillna("").astype(str).str.len().gt(0)]
        for r in prof.itertuples():
            F = np.array([float(v) for v in str(r.path_profile).split()])
            color = {"zero": "C0", "pattern": "C1", "merge": "C2"}.get(r.category, "C3")
            d.plot(np.linspace(0, 1, F.size), F, color=color, lw=0.7, alpha=0.7)
        for cat, color in (("zero", "C0"), ("pattern", "C1"), ("merge", "C2"), ("other", "C3")):
            d.plot([], [], color=color, label=f"end point: {cat}")
        d.set_yscale("symlog", linthresh=1e-3)
        d.set_xlabel("t (0: global minimiser, 1: optimiser end point, aligned)")
        d.set_ylabel("C along the straight path")
        d.set_title(f"(d) paths to end points, {cell}", fontsize=9)
        d.legend(frameon=False, fontsize=6.5)
    fig.tight_layout()
    return fig


def fig_landscape_shape(shape: pd.DataFrame, paths: pd.DataFrame, slc: pd.DataFrame, zero: float = ZERO_COST):
    """(a) Hessian spectra at the global minimiser and at s = 1; (b) μ-paths from every pattern to
    the global minimiser; (c) a 2D slice of C around the global minimiser.  Shown: the cell of
    :func:`fig_landscape_runs` (A1-A3 hold, construction C ≤ ``zero``)."""
    from .figures import plt

    if shape is None or not len(shape):
        return _no_landscape("Local shape")
    cell = _main_cell(shape, zero)
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(13, 3.8))
    floor = 1e-16
    for i, r in enumerate(shape[shape["cell"] == cell].itertuples()):
        ev = np.sort(np.abs(np.array([float(v) for v in r.eigenvalues.split()])))
        a.semilogy(
            np.arange(ev.size),
            np.maximum(ev, floor),
            marker=".",
            ls="none",
            color=f"C{i}",
            label=f"{'global minimiser' if r.point == 'global' else 's = 1'}: {r.n_zero_eig} zero modes "
            f"(#params − rank J = {r.null_dim_J}) of {r.n_params}"
            + (f"; the paper's directions span {r.modes_explained}" if hasattr(r, "modes_explained") else ""),
        )
    a.set_xlabel("eigenvalue index (sorted by |λ|)")
    a.set_ylabel("|eigenvalue| of the Hessian of C²")
    a.set_title(f"(a) Hessian spectra, {cell}", fontsize=9)
    a.legend(frameon=False, fontsize=6.5, loc="upper left")
    pc = paths[paths["cell"] == cell]
    for r in pc.itertuples():
        F = np.array([float(v) for v in r.profile.split()])
        b.plot(
            np.linspace(0, 1, F.size),
            F,
            color="C0" if r.type == "none" else "C1",
            lw=1.6 if r.type == "none" else 0.8,
            label=None,
        )
    b.plot([], [], "C0", lw=1.6, label="s = 1 (no collapse)")
    b.plot([], [], "C1", lw=0.8, label="mixed patterns")
    b.set_xlabel("t: μ(t) = (1 − t) μ_pattern + t μ_global")
    b.set_ylabel("min over the output layer of C")
    b.set_title("(b) μ-paths to the global minimiser", fontsize=9)
    b.legend(frameon=False, fontsize=7)
    sc = slc[slc["cell"] == cell]
    radii = np.sort(sc["alpha"].unique())
    Z = sc.pivot(index="alpha", columns="beta", values="cost").loc[radii, radii].to_numpy()
    cs = c.contourf(radii, radii, np.log10(np.maximum(Z, floor)).T, levels=20, cmap="magma")
    fig.colorbar(cs, ax=c, label="log10 C")
    eps = float(sc["eps_safe"].iloc[0])
    c.add_patch(plt.Circle((0, 0), eps, fill=False, color="w", lw=1.2))
    lin = float(np.min(np.abs(radii[radii != 0]))) if np.any(radii != 0) else 1e-4
    c.set_xscale("symlog", linthresh=lin)
    c.set_yscale("symlog", linthresh=lin)
    ticks = [-0.1, -1e-3, 0.0, 1e-3, 0.1]
    c.set_xticks(ticks, ["−0.1", "−1e-3", "0", "1e-3", "0.1"])
    c.set_yticks(ticks, ["−0.1", "−1e-3", "0", "1e-3", "0.1"])
    c.axhline(0, color="w", lw=0.3)
    c.axvline(0, color="w", lw=0.3)
    c.set_xlabel("α (row-normalised direction d₁)")
    c.set_ylabel("β (direction d₂)")
    c.set_title(f"(c) 2D slice around the global minimiser (circle: ε_safe = {eps:.2g})", fontsize=9)
    fig.tight_layout()
    return fig


def fig_landscape_minima(minima: pd.DataFrame, levels: pd.DataFrame):
    """Distinct certified non-zero local minima per landscape cell: cost (log scale), marker area
    ∝ multiplicity, colour = level category, marker = smooth or on a kink; the predicted levels of
    the cell as ticks (pattern values V_aff, class-merging levels)."""
    from .figures import plt

    if minima is None or not len(minima):
        return _no_landscape("Certified local minima")
    cells = sorted(minima["cell"].unique())
    fig, ax = plt.subplots(figsize=(10, 0.9 + 0.75 * len(cells)))
    colors = {"pattern": "C3", "merge": "C0", "other": "C2"}
    for i, cell in enumerate(cells):
        lv = levels[levels["cell"] == cell] if levels is not None and len(levels) else levels
        if lv is not None:
            for r in lv.itertuples():
                if r.level.startswith("V_aff"):
                    ax.plot([r.value] * 2, [i - 0.32, i + 0.32], color="C3", lw=0.8, alpha=0.7)
                elif r.level.startswith("merge"):
                    ax.plot([r.value] * 2, [i - 0.32, i + 0.32], color="k", lw=0.6, ls=":")
        m = minima[minima["cell"] == cell]
        jitter = np.linspace(-0.22, 0.22, len(m)) if len(m) > 1 else np.zeros(len(m))
        for r, dy in zip(m.itertuples(), jitter):
            ax.scatter(
                r.cost,
                i + dy,
                s=12 + 6 * np.sqrt(r.multiplicity),
                color=colors.get(r.category, "0.5"),
                marker="o" if "smooth" == r.kind else ("X" if r.kind == "nonsmooth" else "D"),
                alpha=0.75,
                edgecolor="none",
            )
    ax.set_yticks(range(len(cells)), cells)
    ax.set_ylim(-0.6, len(cells) - 0.4)
    ax.set_xscale("log")
    ax.set_xlabel("cost C of the local minimum")
    for cat, col in colors.items():
        ax.scatter([], [], color=col, s=30, label=f"{cat} level")
    ax.scatter([], [], color="0.4", marker="o", s=30, label="smooth (PSD Hessian)")
    ax.scatter([], [], color="0.4", marker="X", s=30, label="on a ReLU kink")
    ax.scatter([], [], color="0.4", marker="D", s=30, label="both (end points of each kind)")
    ax.plot([], [], color="C3", lw=0.8, label="V_aff[s], pattern values")
    ax.plot([], [], color="k", lw=0.6, ls=":", label="class-merging levels")
    ax.legend(frameon=False, fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    n, k = int(minima["multiplicity"].sum()), len(minima)
    ax.set_title(
        f"Certified non-zero local minima of L-BFGS end points: {k} distinct ({n} end points; "
        f"marker area ∝ multiplicity)",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


# ---- the landscape as Q grows ---------------------------------------------------------------------

SCALING_COLUMNS = [
    "Q",
    "optimiser",
    "start",
    "n",
    "k_zero",
    "p_zero",
    "wilson_lo",
    "wilson_hi",
    "n_distinct_minima",
    "n_max_iter",
]


def load_scaling_rows(paths) -> pd.DataFrame:
    """The per-run rows of the ``dlgeom landscape-scaling`` JSON files (one per Q), in one frame."""
    rows = []
    for p in sorted(map(str, paths)):
        d = read_json(p, "--runs", "dlgeom landscape-scaling")
        with malformed(p, "--runs", "dlgeom landscape-scaling"):
            rows.extend(d["rows"])
    return _restore_nonfinite(pd.DataFrame(rows))


def scaling_table(rows: pd.DataFrame) -> pd.DataFrame:
    """landscape_scaling.csv: one row per (Q, optimiser, start).  ``k_zero`` counts the runs whose
    end point is in category 'zero' (C ≤ :data:`dlgeom.thresholds.OPTIMISER_ZERO`), ``p_zero`` =
    k_zero / n with its 95 % Wilson interval; ``n_distinct_minima`` counts the distinct certified
    non-zero minima among the group's end points by the rule of landscape_minima.csv
    (:func:`certified_endpoints`, :func:`distinct_minima`): only L-BFGS end points are certified,
    so it is empty (NaN) for the other optimisers.  ``n_max_iter`` counts the runs stopped by the
    iteration budget (an L-BFGS end point stopped there is not certified)."""
    from ..landscape import wilson_interval

    if rows is None or not len(rows):
        return pd.DataFrame(columns=SCALING_COLUMNS)
    out = []
    for (q, opt, start), g in rows.groupby(["Q", "optimiser", "start"], sort=True):
        n, k = len(g), int((g["category"] == "zero").sum())
        lo, hi = wilson_interval(k, n)
        n_min = sum(1 for _ in distinct_minima(certified_endpoints(g))) if opt == "lbfgs" else np.nan
        out.append(
            {
                "Q": int(q),
                "optimiser": opt,
                "start": start,
                "n": n,
                "k_zero": k,
                "p_zero": k / n,
                "wilson_lo": lo,
                "wilson_hi": hi,
                "n_distinct_minima": n_min,
                "n_max_iter": int((g["status"] == "max_iter").sum()),
            }
        )
    return pd.DataFrame(out, columns=SCALING_COLUMNS)


def _pooled(t: pd.DataFrame) -> pd.DataFrame:
    """Per (optimiser, Q): runs and zero-cost runs summed over the start types, with p and Wilson."""
    from ..landscape import wilson_interval

    g = t.groupby(["optimiser", "Q"], sort=True)[["n", "k_zero"]].sum().reset_index()
    ci = [wilson_interval(int(k), int(n)) for k, n in zip(g["k_zero"], g["n"])]
    return g.assign(p=g["k_zero"] / g["n"], lo=[c[0] for c in ci], hi=[c[1] for c in ci])


def _largest_q(pooled: pd.DataFrame) -> str:
    """Per optimiser, the largest Q with a zero-cost run ('none' without one)."""
    reach = pooled[pooled["k_zero"] > 0].groupby("optimiser")["Q"].max()
    return ", ".join(
        item("largest_q", {"optimiser": opt, "q": int(reach[opt])})
        if opt in reach.index
        else item("largest_none", {"optimiser": opt})
        for opt in sorted(set(pooled["optimiser"]))
    )


def scaling_claims(t: pd.DataFrame) -> list[dict]:
    """The findings row ``landscape_scaling`` from landscape_scaling.csv (none when the stage did
    not run).  n_cases: (Q, optimiser, start) groups; n_counter: groups where no run reached zero cost."""
    if t is None or not len(t):
        return []
    pooled = _pooled(t)
    per_opt = (
        {
            "optimiser": opt,
            "points": items(
                "scaling_point", ({"q": int(r.Q), "p": r.p, "lo": r.lo, "hi": r.hi} for r in g.itertuples())
            ),
        }
        for opt, g in pooled.groupby("optimiser", sort=True)
    )
    none = t["k_zero"] == 0
    numbers = {
        "n_runs": int(t["n"].sum()),
        "n_groups": len(t),
        "n_none": int(none.sum()),
        "per_optimiser": items("optimiser_points", per_opt, "; "),
        "largest_q": _largest_q(pooled),
    }
    lb = t[t["optimiser"] == "lbfgs"]
    if len(lb):
        by_q = list(lb.groupby("Q", sort=True))
        numbers["starts"] = "/".join(sorted(set(lb["start"])))
        numbers["minima"] = items(
            "q_values",
            (
                {"q": int(q), "values": "/".join(str(int(v)) for v in g.sort_values("start")["n_distinct_minima"])}
                for q, g in by_q
            ),
        )
        if "n_max_iter" in lb.columns:
            numbers["budget"] = items(
                "q_count", ({"q": int(q), "k": int(g["n_max_iter"].sum()), "n": int(g["n"].sum())} for q, g in by_q)
            )
    return [make_row("landscape_scaling", len(t), int(none.sum()), numbers)]


def write_scaling_tables(paths, out_dir) -> list:
    """landscape_scaling.csv and scaling_claims.csv (its findings row) from the JSON files; returns the paths."""
    from pathlib import Path

    from .tables import write_csv
    from .verdicts import COLUMNS

    t = scaling_table(load_scaling_rows(paths))  # a bad input fails here, before the folder is made
    claims = pd.DataFrame(scaling_claims(t), columns=COLUMNS)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [write_csv(t, out / "landscape_scaling.csv"), write_csv(claims, out / "scaling_claims.csv")]


def read_scaling_table(path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame(columns=SCALING_COLUMNS)


def fig_landscape_scaling(t: pd.DataFrame):
    """(a) fraction of random-start runs reaching zero cost against Q, per optimiser (colour) and
    start (marker), with Wilson 95 % bars; (b) distinct certified non-zero minima of L-BFGS
    against Q per start."""
    from .figures import no_data_figure, plt

    if t is None or not len(t):
        return no_data_figure(
            "The landscape as Q grows", "no data: the stage did not run\n(config key landscape.scaling.Q)"
        )
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    opts = [o for o in ("lbfgs", "gd", "adam") if o in set(t["optimiser"])] + sorted(
        set(t["optimiser"]) - {"lbfgs", "gd", "adam"}
    )
    starts = sorted(set(t["start"]))
    markers = {"he": "o", "xavier": "s"}
    n_lines = len(opts) * len(starts)
    for i, opt in enumerate(opts):
        for j, st in enumerate(starts):
            g = t[(t["optimiser"] == opt) & (t["start"] == st)].sort_values("Q")
            if not len(g):
                continue
            dx = 0.06 * ((i * len(starts) + j) - (n_lines - 1) / 2)  # side by side at each Q
            p = g["p_zero"].to_numpy(float)
            yerr = np.clip([p - g["wilson_lo"].to_numpy(float), g["wilson_hi"].to_numpy(float) - p], 0.0, None)
            a.errorbar(
                g["Q"].to_numpy(float) + dx,
                p,
                yerr=yerr,
                color=f"C{i}",
                marker=markers.get(st, "^"),
                ls="-" if j == 0 else "--",
                capsize=2,
                lw=1.0,
                ms=4,
                label=f"{opt}, {st}",
            )
    qs = sorted(set(int(q) for q in t["Q"]))
    a.set_xticks(qs)
    a.set_ylim(-0.03, 1.03)
    a.set_xlabel("Q (classes = width; L = Q hidden layers)")
    a.set_ylabel("fraction of runs reaching zero cost")
    n_runs = int(t["n"].max())
    a.set_title(f"(a) random starts reaching C ≤ 1e-6 (≤ {n_runs} runs each; bars: Wilson 95 %)", fontsize=9)
    a.legend(frameon=False, fontsize=7)
    lb = t[t["optimiser"] == "lbfgs"]
    for j, st in enumerate(starts):
        g = lb[lb["start"] == st].sort_values("Q")
        if len(g):
            b.plot(
                g["Q"], g["n_distinct_minima"], marker=markers.get(st, "^"), color=f"C{j + 3}", label=f"L-BFGS, {st}"
            )
    if len(lb) and "n_max_iter" in lb.columns:  # the uncertified share: end points stopped by the budget
        share = lb.groupby("Q")[["n_max_iter", "n"]].sum()
        b2 = b.twinx()
        b2.plot(share.index, share["n_max_iter"] / share["n"], color="0.5", ls=":", marker=".", label="budget")
        b2.set_ylim(-0.03, 1.03)
        b2.set_ylabel("L-BFGS runs stopped by the iteration budget (dotted)", color="0.4", fontsize=8)
    b.set_xticks(qs)
    b.set_xlabel("Q")
    b.set_ylabel("distinct certified non-zero minima")
    b.set_title("(b) distinct certified non-zero local minima among L-BFGS end points", fontsize=9)
    if len(lb):
        b.legend(frameon=False, fontsize=7)
    else:
        b.text(0.5, 0.5, "L-BFGS not run", ha="center", va="center", transform=b.transAxes)
    fig.tight_layout()
    return fig
