"""Aggregation: cell results → tidy tables → the claims table with computed verdicts.

Every verdict is a function of the tables (never written by hand): 'holds', 'fails',
'holds with correction', or 'untested' when no case applies.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..jsonutil import malformed, read_json
from ..geometry import COND_W_LIMIT
from ..thresholds import ZERO_COST
from ..validation import DlgeomInputError
from .verdicts import COLUMNS as CLAIMS_COLUMNS
from .verdicts import assemble, make_row, render_markdown

TABLES = ("constructions", "patterns", "degeneracy", "prop22", "curation")
FLOAT_FORMAT = "%.10g"


def load_cells(paths) -> dict[str, pd.DataFrame]:
    """Concatenate the tables of many cell JSON files (sorted by cell key, then replicate, L)."""
    parts = {name: [] for name in TABLES}
    for p in sorted(map(str, paths)):
        cell = read_json(p, "--cells", "dlgeom cell")
        with malformed(p, "--cells", "dlgeom cell"):
            new = {name: list(cell["rows" if name == "constructions" else name]) for name in TABLES}
            if not all(isinstance(r, dict) for rows in new.values() for r in rows):
                raise TypeError("rows must be objects")
        for name in TABLES:
            parts[name].extend(new[name])
    frames = {}
    for name, rows in parts.items():
        df = _restore_nonfinite(pd.DataFrame(rows))
        keys = [k for k in ("cell", "replicate", "L", "s", "eps", "draw", "layer", "class") if k in df.columns]
        frames[name] = df.sort_values(keys, kind="stable").reset_index(drop=True) if len(df) else df
    return frames


_NONFINITE = {"inf": np.inf, "-inf": -np.inf, "nan": np.nan}


def _restore_nonfinite(df: pd.DataFrame) -> pd.DataFrame:
    """JSON stores non-finite floats as 'inf'/'-inf'/'nan' strings; turn such columns back to floats."""
    for col in df.columns:
        if df[col].dtype == object:
            vals = df[col].dropna()
            if len(vals) and all(isinstance(v, (int, float)) and not isinstance(v, bool) or v in _NONFINITE
                                 for v in vals):
                df[col] = df[col].map(lambda v: _NONFINITE.get(v, v) if isinstance(v, str) else v).astype(float)
    return df


LANDSCAPE_TABLES = ("landscape_endpoints", "landscape_basins", "landscape_shape", "landscape_paths",
                    "landscape_slice", "landscape_levels")


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
                parts["landscape_slice"].append({"cell": sl["cell"], "alpha": a, "beta": b,
                                                 "cost": sl["cost"][i][k], "eps_safe": sl["eps_safe"],
                                                 "cos_d1_d2": sl["cos"]})


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
        keys = [k for k in ("cell", "start", "optimiser", "run", "category", "point", "s", "alpha", "beta", "level")
                if k in df.columns]
        frames[name] = df.sort_values(keys, kind="stable").reset_index(drop=True) if len(df) else df
    return frames


CERT_GRAD = 1e-6       # gradient norm of C² below which an end point counts as stationary
CERT_DESCENT = -1e-9   # relative change of C² along random directions below which descent was found


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
    cell, same collapse structure, cost equal to 1e-6 (relative)."""
    cols = ["cell", "Q", "kind", "cost", "category", "nearest_level", "structure", "multiplicity", "starts"]
    if end is None or not len(end) or "probe_min_rel_change" not in end:
        return pd.DataFrame(columns=cols)
    rows = []
    for part in distinct_minima(certified_endpoints(end)):
        rows.append({"cell": part["cell"].iloc[0], "Q": int(part["Q"].iloc[0]),
                     "kind": "/".join(sorted(set(part["kind"]))),
                     "cost": float(part["cost"].median()), "category": part["category"].iloc[0],
                     "nearest_level": part["nearest_level"].iloc[0], "structure": part["structure"].iloc[0],
                     "multiplicity": len(part), "starts": ",".join(sorted(set(part["start_kind"])))})
    return (pd.DataFrame(rows, columns=cols).sort_values(["cell", "cost", "structure"], kind="stable")
            .reset_index(drop=True))


def landscape_claims(t: dict[str, pd.DataFrame], zero: float = ZERO_COST) -> list[dict]:
    """Rows (:func:`verdicts.make_row`) from the landscape tables; none when they were not run.
    Cells count for the claims about the global minimiser where its constructed cost is at most
    ``zero`` (the study's ``zero_cost``)."""
    rows = []
    end, shape, paths = t.get("landscape_endpoints"), t.get("landscape_shape"), t.get("landscape_paths")
    add = lambda key, n, n_counter, evidence, corrected=None: rows.append(  # noqa: E731
        make_row(key, n, n_counter, evidence, corrected))

    if end is not None and len(end):
        rand = end[end["start_kind"].isin(["he", "xavier"])]
        if len(rand):
            per = rand.groupby("optimiser")["category"].apply(lambda c: f"{(c == 'zero').mean():.2f}")
            ended_zero = rand["category"] == "zero"
            add("training_zero", len(rand), 0,
                f"zero cost in {_frac(ended_zero)} random-start runs; by optimiser: "
                + ", ".join(f"{k} {v}" for k, v in per.items()))
            nz = rand[~ended_zero & rand["status"].isin(["converged", "zero"])]
            cats = nz["category"].value_counts()
            allnz = rand[~ended_zero]["category"].value_counts()
            add("training_levels", len(nz), 0,
                f"of {len(nz)} converged non-zero end points: pattern level {int(cats.get('pattern', 0))}, "
                f"class-merging level {int(cats.get('merge', 0))}, other {int(cats.get('other', 0))}; "
                f"including unconverged runs: pattern {int(allnz.get('pattern', 0))}, merging "
                f"{int(allnz.get('merge', 0))}, other {int(allnz.get('other', 0))}")
        if "hess_n_negative" in end.columns:
            certified = end[end["start_kind"].isin(["he", "xavier"]) & (end["category"] != "zero")
                            & end["hess_n_negative"].notna()]
            if len(certified):
                psd = certified["hess_n_negative"] == 0
                by_cat = certified.groupby("category")["hess_n_negative"].apply(
                    lambda v: f"{int((v == 0).sum())}/{len(v)}")
                add("training_hessian", len(certified), 0,
                    f"no negative eigenvalue in {_frac(psd)} converged non-zero end points with a defined Hessian; by "
                    "level: " + ", ".join(f"{k} {v}" for k, v in by_cat.items())
                    + f"; another {int((end['hess_status'] == 'kink').sum())} end points sit on a ReLU kink (no "
                      "Hessian)")
        good = end[end["global_cost"] <= zero]
        if "path_barrier" in end.columns:
            found = good[good["start_kind"].isin(["he", "xavier"]) & (good["category"] == "zero")]
            near = good[(good["start_kind"] == "global") & (good["category"] == "zero")]
            if len(found):
                flat = found["path_barrier"] <= 1e-6
                add("training_connected", len(found), 0,
                    f"no barrier in {_frac(flat)} zero-cost end points from random starts (median barrier "
                    f"{_fmt(found['path_barrier'].median())} in units of C, peak at median t = "
                    f"{_fmt(found['path_peak_t'].median())}); from the perturbed minimiser itself: median barrier "
                    f"{_fmt(near['path_barrier'].median() if len(near) else float('nan'))}")
        glob = good[good["start_kind"] == "global"]
        if len(glob):
            small = glob[glob["rho"] == glob["rho"].min()]
            by_opt = small.groupby("optimiser")["returned"].apply(lambda r: r.astype(bool).mean())
            by_rho = glob.groupby(["rho", "optimiser"])["returned"].apply(lambda r: f"{r.astype(bool).mean():.2f}")
            add("training_attraction", len(small), 0,
                f"return fraction at ρ = {small['rho'].iloc[0]:g}: "
                + ", ".join(f"{k} {v:.2f}" for k, v in by_opt.items())
                + " (GD and Adam within their iteration budget); all (ρ, optimiser): "
                + ", ".join(f"({r:g}, {o}) {v}" for (r, o), v in by_rho.items()))
    minima = t.get("landscape_minima")
    if minima is not None and len(minima):
        new_min = minima[minima["category"] != "pattern"]
        n_runs = int(minima["multiplicity"].sum())
        top = new_min.sort_values("multiplicity", ascending=False, kind="stable").head(4)
        add("other_minima", len(minima), 0,
            f"{n_runs} L-BFGS end points certified as non-zero local minima (no descent along 16 random directions "
            f"at radii 1e-8..1e-3; smooth ones also stationary with a positive semi-definite Hessian) form "
            f"{len(minima)} distinct (cell, cost, collapse structure) minima; {len(new_min)} of them "
            f"({int(new_min['multiplicity'].sum())} end points) are not at a pattern level: "
            f"{int((new_min['category'] == 'merge').sum())} at class-merging levels, "
            f"{int((new_min['category'] == 'other').sum())} elsewhere; most frequent: "
            + "; ".join(f"{r.cell} C = {r.cost:.4g} ({r.nearest_level if r.category == 'merge' else 'other'}, "
                        f"structure {r.structure}) ×{r.multiplicity}" for r in top.itertuples()))
    if shape is not None and len(shape):
        g = shape[(shape["point"] == "global") & (shape["global_cost"] <= zero)]
        add("zero_modes", len(g), 0,
            f"zero eigenvalues = #params − rank J in {_frac(g['n_zero_eig'] == g['null_dim_J'])} cells; "
            + ", ".join(f"{r.cell}: {r.n_zero_eig}/{r.n_params} (null J {r.null_dim_J})" for r in g.itertuples()))
        if "modes_explained" in shape and len(g):
            fams = [c[len("modes_in_null_"):] for c in shape.columns if c.startswith("modes_in_null_")]
            paper_fams = [f for f in ("mu", "layer_rescaling") if f"modes_rank_{f}" in g]
            bad_paper = pd.Series(False, index=g.index)
            for f in paper_fams:
                bad_paper |= g[f"modes_in_null_{f}"] != g[f"modes_rank_{f}"]
            ours = [f for f in fams if f not in paper_fams and f"modes_rank_{f}" in g]
            bad_ours = pd.Series(False, index=g.index)
            for f in ours:
                bad_ours |= g[f"modes_in_null_{f}"] != g[f"modes_rank_{f}"]

            def fam_txt(r, names):
                return ", ".join(f"{f} {int(r[f'modes_rank_{f}'])}" for f in names
                                 if pd.notna(r.get(f"modes_rank_{f}")))

            add("flat_directions", len(g), int(bad_paper.sum()),
                "paper's reading (μ-box, one rescaling scalar per hidden layer): directions in the Hessian null space "
                f"in {_frac(~bad_paper)} cells; " + "; ".join(f"{r['cell']}: {fam_txt(r, paper_fams)} of "
                                                            f"{int(r['modes_null_dim'])} null dimensions"
                                                            for _, r in g.iterrows()))
            add("flat_extended", len(g), int(bad_ours.sum()),
                f"our extensions ({', '.join(ours)}) flat in {_frac(~bad_ours)} cells; all directions together explain "
                f"{int(g['modes_explained'].sum())} of {int(g['modes_null_dim'].sum())} null dimensions (the paper's "
                f"directions alone: rank sum {int(sum(g[f'modes_rank_{f}'].sum() for f in paper_fams))}); the null "
                f"dimension equals "
                f"#params − Q² in {_frac(g['modes_null_dim'] == g['null_dim_theory'])} cells (rank J = Q²: near the "
                "construction the zero set is a manifold of dimension #params − Q²); per cell: "
                + "; ".join(f"{r['cell']}: {fam_txt(r, fams)}" for _, r in g.iterrows()))
    if paths is not None and len(paths):
        ok_paths = paths[(paths["global_cost"] <= zero) & paths["all_hold"]]
        mixed = ok_paths[ok_paths["type"] == "mixed"]
        barrier = mixed["barrier"] > 1e-10 * mixed["F_start"].clip(lower=1e-300)
        s1 = ok_paths[ok_paths["type"] == "none"]
        add("thm25_mu_path", len(mixed), int((~barrier).sum()),
            f"barrier on the μ-path to the global minimiser in {_frac(barrier)} mixed patterns (monotone descent in "
            f"{_frac(mixed['monotone'])}); s = (1, …, 1): barrier in {_frac(s1['barrier'] > 1e-10 * s1['F_start'])}, "
            f"monotone in {_frac(s1['monotone'])}")
    return rows


def _fmt(x, digits=3) -> str:
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "n/a"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return f"{x:.{digits}g}"


def _frac(mask) -> str:
    mask = np.asarray(mask, bool)
    return f"{int(mask.sum())}/{mask.size}"


def _box_evidence(rows: pd.DataFrame, which: str) -> str:
    """Points tested in the μ-boxes of ``rows``: deterministic corners and edge midpoints, random ones."""
    parts = []
    for k, label in (("corner", "corners"), ("edge", "edge midpoints"), ("random", "random interior points")):
        n, f = int(rows[f"box_{which}_n_{k}"].sum()), int(rows[f"box_{which}_fail_{k}"].sum())
        parts.append(f"{label} {f}/{n} failing")
    return ", ".join(parts) + (f"; of the failing points {int(rows[f'box_{which}_fail_rounding'].sum())} are rounding "
                               "(every class exactly on its apex, so C = 0 in exact arithmetic)")


def _n_fail(rows: pd.DataFrame, which: str, rounding: bool = False) -> pd.Series:
    """Failing points per case; without those whose curation is exact (rounding) unless ``rounding``."""
    n = sum(rows[f"box_{which}_fail_{k}"] for k in ("corner", "edge", "random"))
    return n if rounding else n - rows[f"box_{which}_fail_rounding"]


def regular_simplex_limits(c0s=(0.1, 0.2, 0.24), q_max: int = 64) -> dict:
    """Regular simplex, δ = c_0 ρ: the smallest Q ≤ ``q_max`` at which sup over θ_0 of D (closed form
    ρ(Q/(Q−1) − c_0), :func:`dlgeom.geometry.regular_simplex_depth`) is ≤ 2δ√Q, per c_0."""
    from ..geometry import regular_simplex_depth

    out = {}
    for c0 in c0s:
        out[c0] = next((q for q in range(2, q_max + 1) if regular_simplex_depth(q, c0) <= 2 * c0 * np.sqrt(q)), None)
    return out


def compute_claims(t: dict[str, pd.DataFrame], zero: float = ZERO_COST) -> list[dict]:
    """Rows (:func:`verdicts.make_row`) of the construction stage; keys without data are left
    out (:func:`verdicts.assemble` fills them)."""
    cons = t["constructions"]
    ok = cons[(cons["status"] == "ok") & (cons["kind"] == "synthetic")] if len(cons) else cons
    pats = t["patterns"]
    pats = pats[pats["kind"] == "synthetic"] if len(pats) else pats
    deg, p22 = t["degeneracy"], t["prop22"]
    rows = []
    add = lambda key, n, n_counter, evidence, corrected=None: rows.append(  # noqa: E731
        make_row(key, n, n_counter, evidence, corrected))

    if len(p22):
        errs = p22[["tau_idempotence_err", "tau_scale_err", "cumulative_err"]]
        bad = (errs >= 1e-10).any(axis=1)
        m = errs.max()
        add("prop22", len(p22), int(bad.sum()),
            f"max relative errors on the data: idempotence {_fmt(m.iloc[0])}, scale invariance {_fmt(m.iloc[1])}, "
            f"X^(l) = W^(l) T_l(X) + b^(l): {_fmt(m.iloc[2])}; counterexample: any error ≥ 1e-10")
    if not len(ok):
        return rows
    inside = ok[ok["all_hold"]]
    outside = ok[~ok["all_hold"]]
    hyp = inside[inside["box_nonempty_paper"]]             # D > 2δ√Q: the hypotheses of §4
    apart = inside[~inside["box_nonempty_paper"]]
    theta0_txt = (f"θ_0 chosen per case (smallest θ_0 opening the μ-box, cond(W_*) capped; median θ_0 "
                  f"{_fmt(inside['theta0'].median())})" if "theta0" in inside else "")
    if len(inside):
        good = hyp[hyp["box_nonempty"]]
        z = good["cost_global"] <= zero
        add("thm23_zero", len(good), int((~z).sum()),
            f"zero cost (C ≤ {zero:g}) at the default μ (midpoint of (−D_eff, −2δ√Q), "
            f"D_eff = min(D, min_j|x̄_j − x̄|)) in {_frac(z)} cases (max C {_fmt(good['cost_global'].max())}; L − Q ∈ "
            f"{{{', '.join(str(v) for v in sorted(set((good['L'] - good['Q']).astype(int))))}}}); {theta0_txt}. "
            f"Outside the hypotheses, counted apart: {len(apart)} cases with A1-A3 but an empty μ-box (D ≤ 2δ√Q), "
            f"and {len(hyp) - len(good)} with D > 2δ√Q but D_eff ≤ 2δ√Q; the default μ gives zero cost in "
            f"{_frac(apart['cost_global'] <= zero)} of the former")
        nf_paper = _n_fail(hyp, "paper")
        eff_ok = hyp["box_nonempty"] & (_n_fail(hyp, "eff") == 0)
        counter = nf_paper > 0
        reach = hyp["D"] > hyp["dist_min"]
        n_fail_pts, n_apex, n_fail_apex = int(nf_paper.sum()), int(hyp["box_paper_apex_out"].sum()), \
            int(hyp["box_paper_fail_apex_out"].sum())
        n_round = int(hyp["box_paper_fail_rounding"].sum())
        add("thm23_box", len(hyp), int(counter.sum()),
            f"paper's box (−D, −2δ√Q)^Q tested at every corner and edge midpoint (deterministic, inset 1e-3 of the "
            f"width) and at random interior points ({_box_evidence(hyp, 'paper')}); a case counts against the "
            f"statement if a tested μ misses zero cost other than by rounding: {_frac(counter)}. "
            "Correction D_eff = min(D, min_j|x̄_j − x̄|): every tested μ of (−D_eff, −2δ√Q)^Q reaches zero in "
            f"{_frac(eff_ok)} cases ({_box_evidence(hyp, 'eff')}). "
            f"Failing cases vs cases with D > min_j|x̄_j − x̄|: {int((counter & reach).sum())} both, "
            f"{int((counter & ~reach).sum())} failing with D ≤ min_j|x̄_j − x̄|, {int((~counter & reach).sum())} "
            f"D > min_j|x̄_j − x̄| without failure; see box_failing_set", int((~eff_ok).sum()))
        n_past = int(hyp["box_paper_past_min"].sum())
        add("box_failing_set", len(hyp), int(counter.sum()),
            f"{n_fail_pts} failing μ (besides {n_round} rounding failures) among "
            f"{int(sum(hyp[f'box_paper_n_{k}'].sum() for k in ('corner', 'edge', 'random')))}"
            f" tested in {int(counter.sum())}/{len(hyp)} cases; failing points with some μ_j < −min_k|x̄_k − x̄|: "
            f"{int(hyp['box_paper_fail_past_min'].sum())}/{n_fail_pts} (points past it: {n_past}, so the predicate is "
            f"necessary, not sufficient); failing points = points where an earlier apex x̄_j − μ_j f_j leaves a later "
            f"layer's cone (exact test W^(ℓ)p_j + b^(ℓ) ≱ 0): {n_fail_apex}/{n_fail_pts} failing points have it, "
            f"{n_apex} points have it in all; cases where the box reaches past min_j|x̄_j − x̄| "
            f"(D > min_j|x̄_j − x̄|): {int(reach.sum())}, of which failing {int((counter & reach).sum())}; "
            f"failing cases with D ≤ min_j|x̄_j − x̄|: {int((counter & ~reach).sum())}")
        lim = regular_simplex_limits()
        ex = inside[~inside["box_nonempty_exact"]] if "box_nonempty_exact" in inside else inside.iloc[:0]
        add("box_assumed", len(inside), len(apart),
            f"A1-A3 hold in {len(inside)} cases; the μ-box (−D, −2δ√Q) is empty for the chosen θ_0 in {len(apart)}, "
            "for every θ_0 (sup_θ0 D = min_ℓ≠j (x̄_j − x̄_ℓ)·f_ℓ − δ ≤ 2δ√Q) in "
            f"{int((~inside['box_nonempty_sup']).sum())}, "
            f"within cond(W_*) ≤ {COND_W_LIMIT:g} in {int((~inside['box_nonempty_cap']).sum())}; "
            f"with the exact collapse threshold in place of 2δ√Q: empty for the chosen θ_0 in {len(ex)}, for every "
            "θ_0 (grid of 40 θ_* → π) in "
            f"{int((~inside['box_nonempty_exact_sup']).sum())}. §4 assumes the box is non-empty; "
            "A1-A3 do not imply it: for the regular simplex sup_θ0 D = ρ(Q/(Q−1) − c_0) (closed form, tested against "
            "the library), so "
            f"D > 2δ√Q needs c_0 < Q/((Q−1)(1 + 2√Q)); it fails for every θ_0 from Q = "
            + ", ".join(f"{q} at c_0 = {c:g}" for c, q in lim.items()))
    if len(outside):
        z = outside["cost_global"] <= zero
        parts = [f"{a} fails: zero in {_frac(outside.loc[~outside[a], 'cost_global'] <= zero)}"
                 for a in ("A2", "A3") if (~outside[a]).any()]
        add("thm23_outside", len(outside), int((~z).sum()),
            f"zero cost at the default μ in {_frac(z)} cases outside A1-A3; " + "; ".join(parts))

    if len(pats):
        box = pats["box_nonempty"] if "box_nonempty" in pats else pd.Series(True, index=pats.index)
        pin_all = pats[pats["all_hold"]]
        pin = pats[pats["all_hold"] & box & (pats["L"] == pats["Q"])]
        n_apart = int((pin_all["L"] == pin_all["Q"]).sum() - len(pin))
        apart_txt = f"; outside the hypotheses (empty μ-box), counted apart: {n_apart} pattern rows"
        none = pin[pin["type"] == "none"]
        if len(none):
            rel = (none["value_paper"] - none["value_biasfree"]).abs() / none["value_paper"].clip(lower=1e-300)
            lower = none["value_affine"] < none["value_paper"] * (1 - 1e-9)
            add("thm24_value", len(none), int(lower.sum()),
                f"min over W_(L+1) and b_(L+1) (affine least squares, V_aff) is below (2.71) in {_frac(lower)} cases "
                f"(median V_aff/(2.71) {_fmt((none['value_affine'] / none['value_paper']).median())}); (2.71) is the "
                f"minimum over W_(L+1) with b_(L+1) = −W_(L+1) b^(L) fixed (bias-free least squares; max rel. diff "
                f"{_fmt(rel.max())})" + apart_txt)
            flat = none["stationary"] & ~none["mu_dependent"] & ~none["mu_descent"]
            add("thm24_degenerate", len(none), int((~flat).sum()),
                f"stationary with the output re-solved, μ-independent and no μ-descent in {_frac(flat)} cases "
                f"(max |grad C²| {_fmt(none['grad_norm'].max())})" + apart_txt)
        mixed = pin[pin["type"] == "mixed"]
        if len(mixed):
            rel = (mixed["value_paper"] - mixed["value_biasfree"]).abs() / mixed["value_biasfree"].clip(lower=1e-300)
            bad = ~mixed["stationary"] | (rel >= 1e-8)
            add("thm25_mixed", len(mixed), int(bad.sum()),
                f"stationary in {_frac(mixed['stationary'])} pattern rows; value depends on μ in "
                f"{_frac(mixed['mu_dependent'])}; a μ-step lowers it in {_frac(mixed['mu_descent'])}; "
                f"(2.85) as printed differs from the bias-free least-squares value by a median "
                f"{_fmt(rel.median())} (relative)" + apart_txt)
        if len(pin):
            per_cell = pin.groupby(["cell", "replicate"]).apply(
                lambda g: int(((g["type"] != "global") & g["stationary"] & ~g["mu_descent"]).sum()),
                include_groups=False)
            expected = pin.groupby(["cell", "replicate"])["Q"].first().map(lambda q: 2 ** q - 1)
            add("thm25_count", len(per_cell), int((per_cell != expected).sum()),
                f"stationary non-global patterns per case: {sorted(set(per_cell.tolist()))} "
                f"against 2^Q − 1 = {sorted(set(expected.tolist()))}")
        extra = pats[pats["all_hold"] & box & (pats["L"] > pats["Q"])]
        if len(extra):
            en, em = extra[extra["type"] == "none"], extra[extra["type"] == "mixed"]
            add("patterns_extra_layers", len(extra), 0,
                "L = Q + 2: s = (1, …, 1): V_aff below (2.71) in "
                f"{_frac(en['value_affine'] < en['value_paper'] * (1 - 1e-9))}, "
                f"stationary and μ-flat in {_frac(en['stationary'] & ~en['mu_dependent'] & ~en['mu_descent'])}; mixed "
                f"patterns stationary in {_frac(em['stationary'])}, lowered by a μ-step in {_frac(em['mu_descent'])}")
        exact = pats[pats["mu_in_box"] & pats["all_hold"]]
        if len(exact):
            err = exact["closed_form_error"]
            outside_box = pats.loc[~pats["mu_in_box"], "closed_form_error"]
            add("closed_forms", len(exact), int((err >= 1e-10).sum()),
                f"max |closed form − least squares| {_fmt(err.max())} over patterns with every μ_j in its box (exact "
                f"curation); with μ outside an empty box the curation is inexact and the error reaches "
                f"{_fmt(outside_box.max() if len(outside_box) else float('nan'))}")
    d0 = deg[(deg["zero_at_start"]) & (deg["eps"] <= 0.1 * deg["eps_safe"])] if len(deg) else deg
    if len(d0):
        z = d0["cost"] <= zero
        big = deg[deg["zero_at_start"] & (deg["cost"] > zero)]
        ratio = (big.groupby(["cell", "replicate", "L"])["eps"].min()
                 / big.groupby(["cell", "replicate", "L"])["eps_safe"].first()) if len(big) else pd.Series(dtype=float)
        add("degeneracy_perturb", len(d0), int((~z).sum()),
            f"zero after re-solving the output in {_frac(z)} perturbations with ε ≤ ε_safe/10 (ε_safe: the relative "
            f"activation margin; ε from a fixed grid {sorted(set(deg['eps'].tolist()))}, deterministic; directions "
            f"random, {int(deg.groupby(['cell', 'replicate', 'L', 'eps']).size().max())} per ε); the first ε with "
            f"non-zero cost is a median {_fmt(ratio.median()) if len(ratio) else 'n/a'} × ε_safe")
    zc = hyp[(hyp["cost_global"] <= zero) & hyp["box_nonempty"]] if len(inside) else ok.iloc[:0]
    if len(zc):
        other = ok[ok["cost_global"] <= zero]
        good = (zc["accuracy"] == 1.0) & (zc["agreement"] == 1.0)
        add("metric_classifier", len(zc), int((~good).sum()),
            f"cases: A1-A3 hold, non-empty μ-box, zero cost; test accuracy 1 in {_frac(zc['accuracy'] == 1.0)} "
            f"(min {_fmt(zc['accuracy'].min())}; test points within δ of their mean); metric rule = network rule in "
            f"{_frac(zc['agreement'] == 1.0)}; nearest-class-mean baseline mean accuracy "
            f"{_fmt(zc['accuracy_ncm'].mean())}."
            f" Over all zero-cost cases (also outside A1-A3 or with an empty μ-box) accuracy 1 in "
            f"{_frac(other['accuracy'] == 1.0)} (min {_fmt(other['accuracy'].min())})")
    return rows


def phase_table(cons: pd.DataFrame, zero: float = ZERO_COST) -> pd.DataFrame:
    """Per (Q, θ, r, L): fraction of replicates with zero cost, and of the assumptions holding."""
    syn = cons[cons["kind"] == "synthetic"]
    g = syn.groupby(["Q", "theta", "delta_ratio", "L"], sort=True)
    return g.agg(
        n=("cost_global", "size"),
        frac_zero=("cost_global", lambda c: float(np.mean(c <= zero))),
        frac_assumptions=("all_hold", "mean"),
        frac_box_nonempty=("box_nonempty", "mean"), frac_box_nonempty_paper=("box_nonempty_paper", "mean"),
        frac_box_nonempty_sup=("box_nonempty_sup", "mean"),
        r=("r", "mean"), theta_max=("theta_max", "mean"), theta0=("theta0", "mean"),
        theta_star=("theta_star", "mean"), theta_mean=("theta_mean", "mean"),
        accuracy=("accuracy", "mean"), accuracy_ncm=("accuracy_ncm", "mean"),
    ).reset_index()


def claims_markdown(claims: pd.DataFrame) -> str:
    """claims.md: claims and findings as two tables (:func:`verdicts.render_markdown`)."""
    return render_markdown(claims)


def write_csv(df: pd.DataFrame, path) -> Path:
    """A table as CSV with the study's float format, atomically (temporary file, then rename)."""
    from ..safe_write import open_output

    path = Path(path)
    text = df.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    with open_output(path, "w") as fh:
        fh.write(text)
    return path


def read_claims(path) -> pd.DataFrame:
    """A claims CSV of another stage (same columns as claims.csv), checked."""
    try:
        df = pd.read_csv(path, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise DlgeomInputError(f"{path}: not a claims CSV ({type(exc).__name__}: {exc})") from None
    if list(df.columns) != CLAIMS_COLUMNS:
        raise DlgeomInputError(f"{path}: expected the claims columns {', '.join(CLAIMS_COLUMNS)}, "
                               f"got {', '.join(df.columns)}")
    return df


def write_tables(frames: dict[str, pd.DataFrame], out_dir, zero: float = ZERO_COST,
                 extra_claims: list[pd.DataFrame] = ()) -> list[Path]:
    """Write every table (CSV, fixed float format) plus claims.md; returns the paths written.
    Landscape tables are written (possibly empty) whenever ``frames`` holds them; the rows of
    ``extra_claims`` (other stages) are appended to the claims."""
    from ..safe_write import open_output

    out = Path(out_dir)
    rows = compute_claims(frames, zero)
    if "landscape_endpoints" in frames:
        frames = {**frames, "landscape_minima": certified_minima(frames["landscape_endpoints"])}
    rows += landscape_claims(frames, zero)
    for df in extra_claims:
        rows += [r for r in df[CLAIMS_COLUMNS].to_dict("records") if r["n_cases"] > 0]
    claims = assemble(rows)
    tables = dict(frames)
    tables["claims"] = claims
    tables["phase"] = phase_table(frames["constructions"], zero) if len(frames["constructions"]) else pd.DataFrame()
    text = claims_markdown(claims)
    out.mkdir(exist_ok=True)
    written = [write_csv(df, out / f"{name}.csv") for name, df in tables.items()]
    md = out / "claims.md"
    with open_output(md, "w") as fh:
        fh.write(text)
    written.append(md)
    return written
