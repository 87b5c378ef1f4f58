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
from ..thresholds import ZERO_COST
from .tables import fmt as _fmt
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


def landscape_claims(t: dict[str, pd.DataFrame], zero: float = ZERO_COST) -> list[dict]:
    """Rows (:func:`verdicts.make_row`) from the landscape tables; none when they were not run.
    Cells count for the claims about the global minimiser where its constructed cost is at most
    ``zero`` (the study's ``zero_cost``)."""
    rows = []
    end, shape, paths = t.get("landscape_endpoints"), t.get("landscape_shape"), t.get("landscape_paths")
    add = lambda key, n, n_counter, evidence, corrected=None: rows.append(  # noqa: E731
        make_row(key, n, n_counter, evidence, corrected)
    )

    if end is not None and len(end):
        rand = end[end["start_kind"].isin(["he", "xavier"])]
        if len(rand):
            per = rand.groupby("optimiser")["category"].apply(lambda c: f"{(c == 'zero').mean():.2f}")
            ended_zero = rand["category"] == "zero"
            add(
                "training_zero",
                len(rand),
                0,
                f"zero cost in {_frac(ended_zero)} random-start runs; by optimiser: "
                + ", ".join(f"{k} {v}" for k, v in per.items()),
            )
            nz = rand[~ended_zero & rand["status"].isin(["converged", "zero"])]
            cats = nz["category"].value_counts()
            allnz = rand[~ended_zero]["category"].value_counts()
            add(
                "training_levels",
                len(nz),
                0,
                f"of {len(nz)} converged non-zero end points: pattern level {int(cats.get('pattern', 0))}, "
                f"class-merging level {int(cats.get('merge', 0))}, other {int(cats.get('other', 0))}; "
                f"including unconverged runs: pattern {int(allnz.get('pattern', 0))}, merging "
                f"{int(allnz.get('merge', 0))}, other {int(allnz.get('other', 0))}",
            )
        if "hess_n_negative" in end.columns:
            certified = end[
                end["start_kind"].isin(["he", "xavier"]) & (end["category"] != "zero") & end["hess_n_negative"].notna()
            ]
            if len(certified):
                psd = certified["hess_n_negative"] == 0
                by_cat = certified.groupby("category")["hess_n_negative"].apply(
                    lambda v: f"{int((v == 0).sum())}/{len(v)}"
                )
                add(
                    "training_hessian",
                    len(certified),
                    0,
                    f"no negative eigenvalue in {_frac(psd)} converged non-zero end points with a defined Hessian; by "
                    "level: "
                    + ", ".join(f"{k} {v}" for k, v in by_cat.items())
                    + f"; another {int((end['hess_status'] == 'kink').sum())} end points sit on a ReLU kink (no "
                    "Hessian)",
                )
        good = end[end["global_cost"] <= zero]
        if "path_barrier" in end.columns:
            found = good[good["start_kind"].isin(["he", "xavier"]) & (good["category"] == "zero")]
            near = good[(good["start_kind"] == "global") & (good["category"] == "zero")]
            if len(found):
                flat = found["path_barrier"] <= 1e-6
                add(
                    "training_connected",
                    len(found),
                    0,
                    f"no barrier in {_frac(flat)} zero-cost end points from random starts (median barrier "
                    f"{_fmt(found['path_barrier'].median())} in units of C, peak at median t = "
                    f"{_fmt(found['path_peak_t'].median())}); from the perturbed minimiser itself: median barrier "
                    f"{_fmt(near['path_barrier'].median() if len(near) else float('nan'))}",
                )
        glob = good[good["start_kind"] == "global"]
        if len(glob):
            small = glob[glob["rho"] == glob["rho"].min()]
            by_opt = small.groupby("optimiser")["returned"].apply(lambda r: r.astype(bool).mean())
            by_rho = glob.groupby(["rho", "optimiser"])["returned"].apply(lambda r: f"{r.astype(bool).mean():.2f}")
            add(
                "training_attraction",
                len(small),
                0,
                f"return fraction at ρ = {small['rho'].iloc[0]:g}: "
                + ", ".join(f"{k} {v:.2f}" for k, v in by_opt.items())
                + " (GD and Adam within their iteration budget); all (ρ, optimiser): "
                + ", ".join(f"({r:g}, {o}) {v}" for (r, o), v in by_rho.items()),
            )
    minima = t.get("landscape_minima")
    if minima is not None and len(minima):
        new_min = minima[minima["category"] != "pattern"]
        n_runs = int(minima["multiplicity"].sum())
        top = new_min.sort_values("multiplicity", ascending=False, kind="stable").head(4)
        add(
            "other_minima",
            len(minima),
            0,
            f"{n_runs} L-BFGS end points certified as non-zero local minima (no descent along 16 random directions "
            f"at radii 1e-8..1e-3; smooth ones also stationary with a positive semi-definite Hessian) form "
            f"{len(minima)} distinct (cell, cost, collapse structure) minima; {len(new_min)} of them "
            f"({int(new_min['multiplicity'].sum())} end points) are not at a pattern level: "
            f"{int((new_min['category'] == 'merge').sum())} at class-merging levels, "
            f"{int((new_min['category'] == 'other').sum())} elsewhere; most frequent: "
            + "; ".join(
                f"{r.cell} C = {r.cost:.4g} ({r.nearest_level if r.category == 'merge' else 'other'}, "
                f"structure {r.structure}) ×{r.multiplicity}"
                for r in top.itertuples()
            ),
        )
    if minima is not None and len(minima) and "hess_n_outliers" in minima.columns:
        _outlier_rows(add, minima, end, shape, zero)
    if shape is not None and len(shape):
        g = shape[(shape["point"] == "global") & (shape["global_cost"] <= zero)]
        add(
            "zero_modes",
            len(g),
            0,
            f"zero eigenvalues = #params − rank J in {_frac(g['n_zero_eig'] == g['null_dim_J'])} cells; "
            + ", ".join(f"{r.cell}: {r.n_zero_eig}/{r.n_params} (null J {r.null_dim_J})" for r in g.itertuples()),
        )
        if "modes_explained" in shape and len(g):
            fams = [c[len("modes_in_null_") :] for c in shape.columns if c.startswith("modes_in_null_")]
            paper_fams = [f for f in ("mu", "layer_rescaling") if f"modes_rank_{f}" in g]
            bad_paper = pd.Series(False, index=g.index)
            for f in paper_fams:
                bad_paper |= g[f"modes_in_null_{f}"] != g[f"modes_rank_{f}"]
            ours = [f for f in fams if f not in paper_fams and f"modes_rank_{f}" in g]
            bad_ours = pd.Series(False, index=g.index)
            for f in ours:
                bad_ours |= g[f"modes_in_null_{f}"] != g[f"modes_rank_{f}"]

            def fam_txt(r, names):
                return ", ".join(
                    f"{f} {int(r[f'modes_rank_{f}'])}" for f in names if pd.notna(r.get(f"modes_rank_{f}"))
                )

            add(
                "flat_directions",
                len(g),
                int(bad_paper.sum()),
                "paper's reading (μ-box, one rescaling scalar per hidden layer): directions in the Hessian null space "
                f"in {_frac(~bad_paper)} cells; "
                + "; ".join(
                    f"{r['cell']}: {fam_txt(r, paper_fams)} of {int(r['modes_null_dim'])} null dimensions"
                    for _, r in g.iterrows()
                ),
            )
            add(
                "flat_extended",
                len(g),
                int(bad_ours.sum()),
                f"our extensions ({', '.join(ours)}) flat in {_frac(~bad_ours)} cells; all directions together explain "
                f"{int(g['modes_explained'].sum())} of {int(g['modes_null_dim'].sum())} null dimensions (the paper's "
                f"directions alone: rank sum {int(sum(g[f'modes_rank_{f}'].sum() for f in paper_fams))}); the null "
                f"dimension equals "
                f"#params − Q² in {_frac(g['modes_null_dim'] == g['null_dim_theory'])} cells (rank J = Q²: near the "
                "construction the zero set is a manifold of dimension #params − Q²); per cell: "
                + "; ".join(f"{r['cell']}: {fam_txt(r, fams)}" for _, r in g.iterrows()),
            )
    if paths is not None and len(paths):
        ok_paths = paths[(paths["global_cost"] <= zero) & paths["all_hold"]]
        mixed = ok_paths[ok_paths["type"] == "mixed"]
        barrier = mixed["barrier"] > 1e-10 * mixed["F_start"].clip(lower=1e-300)
        s1 = ok_paths[ok_paths["type"] == "none"]
        add(
            "thm25_mu_path",
            len(mixed),
            int((~barrier).sum()),
            f"barrier on the μ-path to the global minimiser in {_frac(barrier)} mixed patterns (monotone descent in "
            f"{_frac(mixed['monotone'])}); s = (1, …, 1): barrier in {_frac(s1['barrier'] > 1e-10 * s1['F_start'])}, "
            f"monotone in {_frac(s1['monotone'])}",
        )
    return rows


def _outlier_rows(add, minima: pd.DataFrame, end, shape, zero: float) -> None:
    """The findings ``hessian_outliers`` and ``dead_units`` (docs/claims.md)."""
    from ..landscape import HESS_OUTLIER_RTOL

    m = minima[minima["hess_n_outliers"].notna()]
    q2 = m["Q"] ** 2
    cons = ""
    if shape is not None and len(shape) and "hess_n_outliers" in shape.columns:
        g = shape[(shape["point"] == "global") & (shape["global_cost"] <= zero)]
        cons = (
            "constructed minimiser (outliers / non-zero / Q²): "
            + ", ".join(
                f"{r.cell} {int(r.hess_n_outliers)}/{int(r.n_params - r.n_zero_eig - r.n_negative_eig)}/{int(r.Q) ** 2}"
                for r in g.itertuples()
            )
            + "; "
        )
    zl = pd.DataFrame()
    if end is not None and len(end) and "hess_n_outliers" in end.columns:
        zl = end[(end["category"] == "zero") & end["hess_n_outliers"].notna()]
    zero_txt = (
        f"L-BFGS zero-cost end points with a defined Hessian: {len(zl)}, outliers = Q² in "
        f"{_frac(zl['hess_n_outliers'] == zl['Q'] ** 2)}, non-zero eigenvalues = Q² in "
        f"{_frac(zl['hess_n_nonzero'] == zl['Q'] ** 2)}, median outliers/Q² "
        f"{_fmt((zl['hess_n_outliers'] / zl['Q'] ** 2).median())}, median gap "
        f"{_fmt(zl['hess_outlier_gap'].median())}; "
        if len(zl)
        else ""
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
    add(
        "hessian_outliers",
        len(m) + len(zl),
        int((m["hess_n_outliers"] != q2).sum())
        + (int((zl["hess_n_outliers"] != zl["Q"] ** 2).sum()) if len(zl) else 0),
        f"outliers: eigenvalues above {HESS_OUTLIER_RTOL:g} x the largest; "
        + cons
        + zero_txt
        + f"distinct certified non-zero minima with a defined Hessian: {len(m)} of {len(minima)}, outliers = Q² in "
        f"{_frac(m['hess_n_outliers'] == q2)}; per level: "
        + "; ".join(
            f"{k} {int(r.n_eq)}/{int(r.n_min)} (median outliers/Q² {_fmt(r.ratio_med)}, median gap {_fmt(r.gap_med)})"
            for k, r in by.iterrows()
        ),
    )
    d = minima[minima["dead_units"].notna()]
    if len(d):
        alive = d["dead_units"] == 0
        per = d.groupby("category")["dead_units"].agg(
            n_min="size", n_alive=lambda v: int((v == 0).sum()), dead_med="median"
        )
        zd = end[end["category"] == "zero"] if end is not None and len(end) and "dead_units" in end.columns else None
        add(
            "dead_units",
            len(d),
            int(alive.sum()),
            f"distinct certified non-zero minima without a dead unit: {_frac(alive)} "
            f"({int(d.loc[alive, 'multiplicity'].sum())}/{int(d['multiplicity'].sum())} end points); per level "
            "(without a dead unit / minima, median dead units): "
            + "; ".join(f"{k} {int(r.n_alive)}/{int(r.n_min)}, {_fmt(r.dead_med)}" for k, r in per.iterrows())
            + (
                f"; zero-cost end points (all optimisers): {len(zd)}, without a dead unit "
                f"{_frac(zd['dead_units'] == 0)}, median dead units {_fmt(zd['dead_units'].median())}"
                if zd is not None and len(zd)
                else ""
            ),
        )


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
    rand = end[(end["cell"] == cell) & end["start_kind"].isin(["he", "xavier"])]
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
    rb = basins[basins["start_kind"].isin(["he", "xavier"])]
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


def scaling_claims(t: pd.DataFrame) -> list[dict]:
    """The findings row ``landscape_scaling`` from landscape_scaling.csv (none when the stage did
    not run).  n_cases: (Q, optimiser, start) groups; n_counter: groups where no run reached zero cost."""
    if t is None or not len(t):
        return []
    pooled = _pooled(t)
    per_opt = []
    for opt, g in pooled.groupby("optimiser", sort=True):
        per_opt.append(f"{opt} " + ", ".join(f"Q{int(r.Q)} {r.p:.2f} [{r.lo:.2f}, {r.hi:.2f}]" for r in g.itertuples()))
    lb = t[t["optimiser"] == "lbfgs"]
    starts = sorted(set(lb["start"]))
    minima = (
        f"; distinct certified non-zero minima of L-BFGS per Q ({'/'.join(starts)} starts): "
        + ", ".join(
            f"Q{int(q)} " + "/".join(str(int(v)) for v in g.sort_values("start")["n_distinct_minima"])
            for q, g in lb.groupby("Q", sort=True)
        )
        if len(lb)
        else ""
    )
    budget = (
        "; L-BFGS runs stopped by the iteration budget (not certified) per Q: "
        + ", ".join(
            f"Q{int(q)} {int(g['n_max_iter'].sum())}/{int(g['n'].sum())}" for q, g in lb.groupby("Q", sort=True)
        )
        if len(lb) and "n_max_iter" in lb.columns
        else ""
    )
    reach = pooled[pooled["k_zero"] > 0].groupby("optimiser")["Q"].max()
    largest = ", ".join(
        f"{opt} {('Q = ' + str(int(reach[opt]))) if opt in reach.index else 'none'}"
        for opt in sorted(set(pooled["optimiser"]))
    )
    none = t["k_zero"] == 0
    return [
        make_row(
            "landscape_scaling",
            len(t),
            int(none.sum()),
            f"{int(t['n'].sum())} runs in {len(t)} (Q, optimiser, start) groups, {int(none.sum())} groups without a "
            f"zero-cost run; fraction reaching zero cost (C ≤ 1e-6), pooled over the starts, with Wilson 95 %: "
            + "; ".join(per_opt)
            + f"; largest Q with a zero-cost run: {largest}"
            + minima
            + budget,
        )
    ]


def write_scaling_tables(paths, out_dir) -> list:
    """landscape_scaling.csv and scaling_claims.csv (its findings row) from the JSON files; returns the paths."""
    from pathlib import Path

    from .tables import write_csv
    from .verdicts import COLUMNS

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t = scaling_table(load_scaling_rows(paths))
    claims = pd.DataFrame(scaling_claims(t), columns=COLUMNS)
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
