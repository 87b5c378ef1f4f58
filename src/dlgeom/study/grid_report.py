"""Tables, claims rows and figures of the grid stage (``dlgeom cell`` on every (Q, θ, r) cell and on
the user's datasets).

* :func:`load_cells` — cell JSON files → the tables constructions, patterns, degeneracy, prop22,
  curation (sorted rows); :func:`phase_table` — the phase table.
* :func:`grid_claims` — claims rows (:func:`verdicts.make_row`) of the construction, the patterns,
  the degeneracy probe and the classifier; every verdict is computed from the tables.
* :func:`fig_truncation`, :func:`fig_curation`, :func:`fig_phase`, :func:`fig_local_minima`,
  :func:`fig_accuracy` — matplotlib Figures (save with :func:`dlgeom.study.figures.save_figure`).

:mod:`dlgeom.study.aggregate` writes these tables and the claims table; matplotlib is imported
only when a figure is drawn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..construct import Construction
from ..data import Dataset
from ..geometry import COND_W_LIMIT, cone_angles
from ..jsonutil import malformed, read_json
from ..network import truncate
from ..synthetic import mean_simplex, regular_cone_angle
from ..thresholds import ZERO_COST
from .evidence import items
from .tables import frac as _frac
from .tables import restore_nonfinite as _restore_nonfinite
from .verdicts import make_row

__all__ = [
    "GRID_TABLES",
    "fig_accuracy",
    "fig_curation",
    "fig_local_minima",
    "fig_phase",
    "fig_truncation",
    "grid_claims",
    "load_cells",
    "phase_table",
    "regular_simplex_limits",
    "sufficient_boundary",
]

#: The tables of the grid stage, one row list per cell JSON key.
GRID_TABLES = ("constructions", "patterns", "degeneracy", "prop22", "curation")


def load_cells(paths) -> dict[str, pd.DataFrame]:
    """Concatenate the tables of many cell JSON files (sorted by cell key, then replicate, L)."""
    parts = {name: [] for name in GRID_TABLES}
    for p in sorted(map(str, paths)):
        cell = read_json(p, "--cells", "dlgeom cell")
        with malformed(p, "--cells", "dlgeom cell"):
            new = {name: list(cell["rows" if name == "constructions" else name]) for name in GRID_TABLES}
            if not all(isinstance(r, dict) for rows in new.values() for r in rows):
                raise TypeError("rows must be objects")
        for name in GRID_TABLES:
            parts[name].extend(new[name])
    frames = {}
    for name, rows in parts.items():
        df = _restore_nonfinite(pd.DataFrame(rows))
        keys = [k for k in ("cell", "replicate", "L", "s", "eps", "draw", "layer", "class") if k in df.columns]
        frames[name] = df.sort_values(keys, kind="stable").reset_index(drop=True) if len(df) else df
    return frames


# ---- claims ---------------------------------------------------------------------------------------


def _box_points(rows: pd.DataFrame, which: str) -> str:
    """Points tested in the μ-boxes of ``rows`` and failing: deterministic corners and edge midpoints, random ones."""
    return items(
        "box_points",
        (
            {
                "label": label,
                "n_fail": int(rows[f"box_{which}_fail_{k}"].sum()),
                "n": int(rows[f"box_{which}_n_{k}"].sum()),
            }
            for k, label in (("corner", "corners"), ("edge", "edge midpoints"), ("random", "random interior points"))
        ),
    )


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


def _prop22_row(p22: pd.DataFrame) -> dict:
    errs = p22[["tau_idempotence_err", "tau_scale_err", "cumulative_err"]]
    m = errs.max()
    numbers = {"idempotence": m.iloc[0], "scale_invariance": m.iloc[1], "cumulative": m.iloc[2]}
    return make_row("prop22", len(p22), int((errs >= 1e-10).any(axis=1).sum()), numbers)


def _thm23_zero_row(inside: pd.DataFrame, hyp: pd.DataFrame, apart: pd.DataFrame, zero: float) -> dict:
    good = hyp[hyp["box_nonempty"]]
    z = good["cost_global"] <= zero
    numbers = {
        "zero": zero,
        "zero_default": _frac(z),
        "max_cost": good["cost_global"].max(),
        "extra_layers": ", ".join(str(v) for v in sorted(set((good["L"] - good["Q"]).astype(int)))),
        "n_empty_box": len(apart),
        "n_eff_empty": len(hyp) - len(good),
        "zero_empty_box": _frac(apart["cost_global"] <= zero),
    }
    if "theta0" in inside:
        numbers["median_theta0"] = inside["theta0"].median()
    return make_row("thm23_zero", len(good), int((~z).sum()), numbers)


def _box_counter(hyp: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per case of the hypotheses: a tested μ of the paper's box misses zero other than by rounding;
    the box reaches past min_j|x̄_j − x̄| (D > min_j|x̄_j − x̄|)."""
    return _n_fail(hyp, "paper") > 0, hyp["D"] > hyp["dist_min"]


def _thm23_box_row(hyp: pd.DataFrame) -> dict:
    counter, reach = _box_counter(hyp)
    eff_ok = hyp["box_nonempty"] & (_n_fail(hyp, "eff") == 0)
    numbers = {
        "paper_points": _box_points(hyp, "paper"),
        "paper_rounding": int(hyp["box_paper_fail_rounding"].sum()),
        "failing": _frac(counter),
        "eff_ok": _frac(eff_ok),
        "eff_points": _box_points(hyp, "eff"),
        "eff_rounding": int(hyp["box_eff_fail_rounding"].sum()),
        "n_fail_reach": int((counter & reach).sum()),
        "n_fail_not_reach": int((counter & ~reach).sum()),
        "n_reach_no_fail": int((~counter & reach).sum()),
    }
    return make_row("thm23_box", len(hyp), int(counter.sum()), numbers, int((~eff_ok).sum()))


def _box_failing_set_row(hyp: pd.DataFrame) -> dict:
    counter, reach = _box_counter(hyp)
    numbers = {
        "n_fail_points": int(_n_fail(hyp, "paper").sum()),
        "n_rounding": int(hyp["box_paper_fail_rounding"].sum()),
        "n_tested": int(sum(hyp[f"box_paper_n_{k}"].sum() for k in ("corner", "edge", "random"))),
        "n_failing_cases": int(counter.sum()),
        "n_cases": len(hyp),
        "n_fail_past_min": int(hyp["box_paper_fail_past_min"].sum()),
        "n_past": int(hyp["box_paper_past_min"].sum()),
        "n_fail_apex": int(hyp["box_paper_fail_apex_out"].sum()),
        "n_apex": int(hyp["box_paper_apex_out"].sum()),
        "n_reach": int(reach.sum()),
        "n_fail_reach": int((counter & reach).sum()),
        "n_fail_not_reach": int((counter & ~reach).sum()),
    }
    return make_row("box_failing_set", len(hyp), int(counter.sum()), numbers)


def _box_assumed_row(inside: pd.DataFrame, apart: pd.DataFrame) -> dict:
    ex = inside[~inside["box_nonempty_exact"]] if "box_nonempty_exact" in inside else inside.iloc[:0]
    numbers = {
        "n_inside": len(inside),
        "n_empty": len(apart),
        "n_empty_sup": int((~inside["box_nonempty_sup"]).sum()),
        "cond_w_limit": COND_W_LIMIT,
        "n_empty_cap": int((~inside["box_nonempty_cap"]).sum()),
        "n_empty_exact": len(ex),
        "n_empty_exact_sup": int((~inside["box_nonempty_exact_sup"]).sum()),
        "regular_limits": items("regular_limit", ({"q": q, "c0": c} for c, q in regular_simplex_limits().items())),
    }
    return make_row("box_assumed", len(inside), len(apart), numbers)


def _thm23_outside_row(outside: pd.DataFrame, zero: float) -> dict:
    z = outside["cost_global"] <= zero
    per = (
        {"assumption": a, "zero": _frac(outside.loc[~outside[a], "cost_global"] <= zero)}
        for a in ("A2", "A3")
        if (~outside[a]).any()
    )
    numbers = {"zero_default": _frac(z), "per_assumption": items("assumption_fails", per, "; ")}
    return make_row("thm23_outside", len(outside), int((~z).sum()), numbers)


def _construction_rows(ok: pd.DataFrame, zero: float) -> list[dict]:
    """The rows of the construction at the default μ and of its μ-box (synthetic cells with status ok)."""
    inside = ok[ok["all_hold"]]
    outside = ok[~ok["all_hold"]]
    hyp = inside[inside["box_nonempty_paper"]]  # D > 2δ√Q: the hypotheses of §4
    apart = inside[~inside["box_nonempty_paper"]]
    rows = []
    if len(inside):
        rows += [
            _thm23_zero_row(inside, hyp, apart, zero),
            _thm23_box_row(hyp),
            _box_failing_set_row(hyp),
            _box_assumed_row(inside, apart),
        ]
    if len(outside):
        rows.append(_thm23_outside_row(outside, zero))
    return rows


def _thm24_rows(none: pd.DataFrame, n_apart: int) -> list[dict]:
    rel = (none["value_paper"] - none["value_biasfree"]).abs() / none["value_paper"].clip(lower=1e-300)
    lower = none["value_affine"] < none["value_paper"] * (1 - 1e-9)
    flat = none["stationary"] & ~none["mu_dependent"] & ~none["mu_descent"]
    value = {
        "below": _frac(lower),
        "median_ratio": (none["value_affine"] / none["value_paper"]).median(),
        "max_rel_diff": rel.max(),
        "n_apart": n_apart,
    }
    degenerate = {"flat": _frac(flat), "max_grad": none["grad_norm"].max(), "n_apart": n_apart}
    return [
        make_row("thm24_value", len(none), int(lower.sum()), value),
        make_row("thm24_degenerate", len(none), int((~flat).sum()), degenerate),
    ]


def _thm25_mixed_row(mixed: pd.DataFrame, n_apart: int) -> dict:
    rel = (mixed["value_paper"] - mixed["value_biasfree"]).abs() / mixed["value_biasfree"].clip(lower=1e-300)
    bad = ~mixed["stationary"] | (rel >= 1e-8)
    numbers = {
        "stationary": _frac(mixed["stationary"]),
        "mu_dependent": _frac(mixed["mu_dependent"]),
        "mu_descent": _frac(mixed["mu_descent"]),
        "median_rel_diff": rel.median(),
        "n_apart": n_apart,
    }
    return make_row("thm25_mixed", len(mixed), int(bad.sum()), numbers)


def _thm25_count_row(pin: pd.DataFrame) -> dict:
    counted = (pin["type"] != "global") & pin["stationary"] & ~pin["mu_descent"]
    per_cell = counted.groupby([pin["cell"], pin["replicate"]]).sum().astype(int)
    expected = pin.groupby(["cell", "replicate"])["Q"].first().map(lambda q: 2**q - 1)
    numbers = {"per_case": sorted(set(per_cell.tolist())), "expected": sorted(set(expected.tolist()))}
    return make_row("thm25_count", len(per_cell), int((per_cell != expected).sum()), numbers)


def _extra_layers_row(extra: pd.DataFrame) -> dict:
    en, em = extra[extra["type"] == "none"], extra[extra["type"] == "mixed"]
    numbers = {
        "none_below": _frac(en["value_affine"] < en["value_paper"] * (1 - 1e-9)),
        "none_flat": _frac(en["stationary"] & ~en["mu_dependent"] & ~en["mu_descent"]),
        "mixed_stationary": _frac(em["stationary"]),
        "mixed_descent": _frac(em["mu_descent"]),
    }
    return make_row("patterns_extra_layers", len(extra), 0, numbers)


def _closed_forms_row(pats: pd.DataFrame, exact: pd.DataFrame) -> dict:
    err = exact["closed_form_error"]
    outside_box = pats.loc[~pats["mu_in_box"], "closed_form_error"]
    numbers = {
        "max_error": err.max(),
        "max_error_outside": outside_box.max() if len(outside_box) else float("nan"),
    }
    return make_row("closed_forms", len(exact), int((err >= 1e-10).sum()), numbers)


def _pattern_rows(pats: pd.DataFrame) -> list[dict]:
    """The rows of the pattern networks (Thm 2.4-2.5, L = Q and beyond, the closed forms)."""
    box = pats["box_nonempty"] if "box_nonempty" in pats else pd.Series(True, index=pats.index)
    pin_all = pats[pats["all_hold"]]
    pin = pats[pats["all_hold"] & box & (pats["L"] == pats["Q"])]
    n_apart = int((pin_all["L"] == pin_all["Q"]).sum() - len(pin))
    rows = []
    none = pin[pin["type"] == "none"]
    if len(none):
        rows += _thm24_rows(none, n_apart)
    mixed = pin[pin["type"] == "mixed"]
    if len(mixed):
        rows.append(_thm25_mixed_row(mixed, n_apart))
    if len(pin):
        rows.append(_thm25_count_row(pin))
    extra = pats[pats["all_hold"] & box & (pats["L"] > pats["Q"])]
    if len(extra):
        rows.append(_extra_layers_row(extra))
    exact = pats[pats["mu_in_box"] & pats["all_hold"]]
    if len(exact):
        rows.append(_closed_forms_row(pats, exact))
    return rows


def _degeneracy_row(deg: pd.DataFrame, d0: pd.DataFrame, zero: float) -> dict:
    z = d0["cost"] <= zero
    big = deg[deg["zero_at_start"] & (deg["cost"] > zero)]
    by_case = ["cell", "replicate", "L"]
    ratio = (
        big.groupby(by_case)["eps"].min() / big.groupby(by_case)["eps_safe"].first()
        if len(big)
        else pd.Series(dtype=float)
    )
    numbers = {
        "zero_after": _frac(z),
        "eps_grid": sorted(set(deg["eps"].tolist())),
        "n_directions": int(deg.groupby(["cell", "replicate", "L", "eps"]).size().max()),
        "first_eps_ratio": ratio.median() if len(ratio) else float("nan"),
    }
    return make_row("degeneracy_perturb", len(d0), int((~z).sum()), numbers)


def _metric_classifier_row(zc: pd.DataFrame, ok: pd.DataFrame, zero: float) -> dict:
    other = ok[ok["cost_global"] <= zero]
    good = (zc["accuracy"] == 1.0) & (zc["agreement"] == 1.0)
    numbers = {
        "accurate": _frac(zc["accuracy"] == 1.0),
        "min_accuracy": zc["accuracy"].min(),
        "agree": _frac(zc["agreement"] == 1.0),
        "ncm_accuracy": zc["accuracy_ncm"].mean(),
        "all_accurate": _frac(other["accuracy"] == 1.0),
        "all_min_accuracy": other["accuracy"].min(),
    }
    return make_row("metric_classifier", len(zc), int((~good).sum()), numbers)


def grid_claims(t: dict[str, pd.DataFrame], zero: float = ZERO_COST) -> list[dict]:
    """Rows (:func:`verdicts.make_row`) of the construction stage; keys without data are left
    out (:func:`verdicts.assemble` fills them)."""
    cons = t["constructions"]
    ok = cons[(cons["status"] == "ok") & (cons["kind"] == "synthetic")] if len(cons) else cons
    pats = t["patterns"]
    pats = pats[pats["kind"] == "synthetic"] if len(pats) else pats
    deg, p22 = t["degeneracy"], t["prop22"]
    rows = [_prop22_row(p22)] if len(p22) else []
    if not len(ok):
        return rows
    rows += _construction_rows(ok, zero)
    if len(pats):
        rows += _pattern_rows(pats)
    d0 = deg[(deg["zero_at_start"]) & (deg["eps"] <= 0.1 * deg["eps_safe"])] if len(deg) else deg
    if len(d0):
        rows.append(_degeneracy_row(deg, d0, zero))
    inside = ok[ok["all_hold"]]
    hyp = inside[inside["box_nonempty_paper"]]
    zc = hyp[(hyp["cost_global"] <= zero) & hyp["box_nonempty"]] if len(inside) else ok.iloc[:0]
    if len(zc):
        rows.append(_metric_classifier_row(zc, ok, zero))
    return rows


def phase_table(cons: pd.DataFrame, zero: float = ZERO_COST) -> pd.DataFrame:
    """Per (Q, θ, r, L): fraction of replicates with zero cost, and of the assumptions holding."""
    syn = cons[cons["kind"] == "synthetic"]
    g = syn.groupby(["Q", "theta", "delta_ratio", "L"], sort=True)
    return g.agg(
        n=("cost_global", "size"),
        frac_zero=("cost_global", lambda c: float(np.mean(c <= zero))),
        frac_assumptions=("all_hold", "mean"),
        frac_box_nonempty=("box_nonempty", "mean"),
        frac_box_nonempty_paper=("box_nonempty_paper", "mean"),
        frac_box_nonempty_sup=("box_nonempty_sup", "mean"),
        r=("r", "mean"),
        theta_max=("theta_max", "mean"),
        theta0=("theta0", "mean"),
        theta_star=("theta_star", "mean"),
        theta_mean=("theta_mean", "mean"),
        accuracy=("accuracy", "mean"),
        accuracy_ncm=("accuracy_ncm", "mean"),
    ).reset_index()


# ---- figures --------------------------------------------------------------------------------------

# ---- (1) the truncation map in R² ---------------------------------------------------------


def fig_truncation(data: Dataset, con: Construction):
    """Q = 2: the data before and after each truncation layer, with each layer's forward cone
    (identity) and backward cone (collapsed to the apex) drawn in input space."""
    from .figures import CLASS_COLORS, plt

    Wc, bc = con.network.cumulative()
    L = len(Wc)
    fig, axes = plt.subplots(1, L + 1, figsize=(3.2 * (L + 1), 3.3), sharex=True, sharey=True)
    T = data.X
    lo = data.X.min(axis=0) - 0.6
    hi = data.X.max(axis=0) + 0.6
    for ell, ax in enumerate(axes):
        if ell:
            W, b = Wc[ell - 1], bc[ell - 1]
            p = -np.linalg.solve(W, b)
            E = np.linalg.inv(W)  # columns: cone edges W^{-1} e_k
            R = 10.0
            fwd = np.array([p, p + R * E[:, 0], p + R * (E[:, 0] + E[:, 1]), p + R * E[:, 1]])
            ax.fill(fwd[:, 0], fwd[:, 1], color="#cfe8cf", zorder=0, label="forward cone (identity)")
            ax.fill(*(2 * p - fwd).T, color="#f4d0d0", zorder=0, label="backward cone (→ apex)")
            ax.plot(*p, marker="*", color="k", ms=10, zorder=3, label="apex $p_\\ell$")
            T = truncate(T, W, b)
        for j in range(data.n_classes):
            pts = T[data.y == j]
            ax.scatter(pts[:, 0], pts[:, 1], s=6, color=CLASS_COLORS[j], zorder=2, label=f"class {j + 1}")
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_aspect("equal")
        ax.set_title("input $X_0$" if ell == 0 else f"after layer {ell}: $T_{ell}(X_0)$")
        ax.set_xlabel("$x_1$")
    axes[0].set_ylabel("$x_2$")
    handles, labels = axes[-1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=5, frameon=False, bbox_to_anchor=(0.5, -0.08))
    fig.suptitle("Truncation maps in input space (Q = 2): layer ℓ collapses class ℓ to its apex", y=1.02)
    return fig


# ---- (2) layer-by-layer curation --------------------------------------------------------


def fig_curation(curation: pd.DataFrame, title: str = ""):
    """Within-class spread max_i |T_ℓ(x) − mean| of every class against the layer ℓ."""
    from .figures import CLASS_COLORS, plt

    fig, ax = plt.subplots(figsize=(4.8, 3.4))
    floor = 1e-17
    for j, g in curation.groupby("class"):
        ax.plot(
            g["layer"],
            np.maximum(g["spread"], floor),
            marker="o",
            color=CLASS_COLORS[int(j)],
            label=f"class {int(j) + 1}",
        )
    ax.set_yscale("log")
    ax.axhline(floor, color="0.6", lw=0.8, ls=":")
    ax.text(0, floor * 3, "collapsed (spread 0)", fontsize=7, color="0.4")
    ax.set_xlabel("layer ℓ (0 = input)")
    ax.set_ylabel("within-class spread of $T_\\ell(X_0)$")
    ax.set_xticks(sorted(curation["layer"].unique()))
    ax.set_title(title or "Layer ℓ collapses class ℓ and keeps the others")
    ax.legend(frameon=False, fontsize=7)
    return fig


# ---- (3) phase diagram --------------------------------------------------------------------


def _edges(values, log=False):
    v = np.log(values) if log else np.asarray(values, float)
    if len(v) == 1:
        mids = np.array([v[0] - 0.5, v[0] + 0.5])
    else:
        inner = (v[1:] + v[:-1]) / 2
        mids = np.concatenate([[v[0] - (inner[0] - v[0])], inner, [v[-1] + (v[-1] - inner[-1])]])
    return np.exp(mids) if log else mids


def sufficient_boundary(q: int, thetas: np.ndarray, rs: np.ndarray) -> np.ndarray:
    """θ_*(r, θ) = max_j θ_{*,j} with the 4δ margins on a grid (rows θ, columns r)."""
    out = np.empty((len(thetas), len(rs)))
    for i, t in enumerate(thetas):
        means = mean_simplex(q, None if np.isclose(t, regular_cone_angle(q)) else t)
        m = float(np.min(np.linalg.norm(means - means.mean(axis=0), axis=1)))
        for k, r in enumerate(rs):
            out[i, k] = np.max(cone_angles(means, r * m))
    return out


def fig_phase(phase: pd.DataFrame, zero: float = ZERO_COST):
    """Fraction of replicates with C ≤ ``zero`` over (r, θ), one panel per Q, the smallest L; the
    paper's sufficient region (r < 1/4 and θ_* < π, θ_* with its 4δ margins) outlined."""
    from .figures import plt, sparse_tick_labels, theta_value

    L_min = phase.groupby("Q")["L"].transform("min")
    ph = phase[phase["L"] == L_min].copy()
    qs = sorted(ph["Q"].unique())
    ncol = 2 if len(qs) == 4 else min(len(qs), 3)  # a grid, not a long row: readable at page width
    nrow = -(-len(qs) // ncol)
    fig, grid = plt.subplots(
        nrow, ncol, figsize=(4.0 * ncol, 3.4 * nrow), squeeze=False, gridspec_kw={"wspace": 0.3, "hspace": 0.55}
    )
    axes = list(grid.ravel()[: len(qs)])
    for spare in grid.ravel()[len(qs) :]:
        spare.axis("off")
    mesh = None
    for k, (ax, q) in enumerate(zip(axes, qs)):
        g = ph[ph["Q"] == q].copy()
        g["theta_num"] = [theta_value(t, q) for t in g["theta"]]
        rs = np.sort(g["delta_ratio"].unique().astype(float))
        ths = np.sort(g["theta_num"].unique())
        Z = np.full((len(ths), len(rs)), np.nan)
        for row in g.itertuples():
            Z[np.searchsorted(ths, row.theta_num), np.searchsorted(rs, float(row.delta_ratio))] = row.frac_zero
        if q == 2 or len(ths) == 1:
            ax.plot(rs, Z[0], marker="o", color="C0")
            ax.set_ylim(-0.05, 1.05)
            ax.set_ylabel(f"fraction with C ≤ {zero:g}")
            ax.axvspan(rs.min() * 0.8, 0.25, color="#cfe8cf", alpha=0.6, label="r < 1/4 (paper's A2)")
            ax.legend(frameon=False, fontsize=7, loc="lower left")
        else:
            xe, ye = _edges(rs, log=True), _edges(ths)
            ye[0] = max(ye[0], regular_cone_angle(q))  # no mean simplex has a smaller angle
            mesh = ax.pcolormesh(xe, ye / np.pi, Z, vmin=0, vmax=1, cmap="viridis", shading="flat")
            rr = np.geomspace(xe[0], xe[-1], 120)
            tt = np.linspace(max(ye[0], regular_cone_angle(q)), ye[-1], 90)
            S = sufficient_boundary(q, tt, rr)
            inside = (S < np.pi) & (rr[None, :] < 0.25)
            ax.contour(rr, tt / np.pi, inside.astype(float), levels=[0.5], colors="w", linewidths=1.6)
            ax.contour(rr, tt / np.pi, inside.astype(float), levels=[0.5], colors="k", linewidths=0.6, linestyles="--")
            row_first = axes[k - k % ncol]
            if ax is row_first or (k % ncol == 1 and qs[0] == 2 and row_first is axes[0]):
                ax.set_ylabel("cone angle θ of the mean simplex / π")
            ax.text(
                xe[0] * 1.1, ye[0] / np.pi + 0.02, "paper's\nsufficient\nregion", color="w", fontsize=7, va="bottom"
            )
        ax.set_xscale("log")
        ax.set_xticks(rs, sparse_tick_labels(rs), rotation=45, fontsize=7)
        ax.minorticks_off()
        ax.set_xlabel("δ-ratio r = δ / min$_j$|x̄$_j$ − x̄|")
        ax.set_title(f"Q = {q}, L = {int(g['L'].iloc[0])}")
    if mesh is not None:
        fig.colorbar(mesh, ax=list(grid.ravel()), fraction=0.03, pad=0.03, label=f"fraction of seeds with C ≤ {zero:g}")
    fig.suptitle("Where the construction reaches zero cost (outline: A2 and A3 hold)", y=0.98)
    return fig


# ---- (4) local-minimum values -----------------------------------------------------------


def _plain_log_ticks(axis):
    """Log-axis ticks at 1, 2, 5 × 10^k labelled as plain numbers, no minor labels (they collide)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def fig_local_minima(patterns: pd.DataFrame):
    """(a) s = 1: the paper's value (2.85) against the least-squares values; (b) mixed patterns:
    the same as a 2D histogram (too many points to scatter); (c) the ratios LS / (2.85) of the mixed
    patterns; (d) how much each pattern's value moves with μ inside its box."""
    from .figures import plt

    p = patterns[(patterns["type"] != "global") & patterns["all_hold"] & patterns["mu_in_box"]]
    fig, ((a, b), (c, d)) = plt.subplots(2, 2, figsize=(9, 7.2))
    none, mixed = p[p["type"] == "none"], p[p["type"] == "mixed"]
    lo = max(1e-4, p[["value_paper", "value_affine"]].min().min() * 0.8) if len(p) else 1e-4
    hi = p[["value_paper", "value_biasfree"]].max().max() * 1.2 if len(p) else 1.0
    lim = [lo, max(hi, lo * 10)]
    a.scatter(
        none["value_paper"],
        none["value_biasfree"],
        s=22,
        marker="o",
        facecolors="none",
        edgecolors="C0",
        lw=0.9,
        label="bias-free LS",
    )
    a.scatter(
        none["value_paper"], none["value_affine"], s=10, marker="s", color="C2", alpha=0.6, label="LS with output bias"
    )
    for ax in (a, b):
        ax.plot(lim, lim, color="k", lw=0.8, ls="--", label="= (2.85)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lim)
        ax.set_ylim(lim)
        ax.set_xlabel("value (2.85) as printed, $V_P[s]$")
    a.set_ylabel("least-squares value on $T_L(X_0)$")
    a.legend(frameon=False, fontsize=7, loc="upper left")
    a.set_title(f"(a) s = 1, no collapse ({len(none)} cases)", fontsize=9)
    if len(mixed):
        hb = b.hexbin(
            mixed["value_paper"].clip(lower=lim[0]),
            mixed["value_affine"].clip(lower=lim[0]),
            xscale="log",
            yscale="log",
            gridsize=28,
            bins="log",
            mincnt=1,
            cmap="Greens",
            extent=np.log10([lim[0], lim[1], lim[0], lim[1]]),
        )
        fig.colorbar(hb, ax=b, label="cases per bin")
    for ax in (a, b):
        _plain_log_ticks(ax.xaxis)
        _plain_log_ticks(ax.yaxis)
    b.set_ylabel("LS value with output bias")
    b.legend(frameon=False, fontsize=7, loc="upper left")
    b.set_title(f"(b) mixed s ({len(mixed)} cases)", fontsize=9)
    ratios = {
        col: (mixed[col] / mixed["value_paper"]).replace([np.inf, -np.inf], np.nan).dropna()
        for col in ("value_biasfree", "value_affine")
    }
    positive = np.concatenate([r[r > 0].to_numpy() for r in ratios.values()] + [np.array([1.0])])
    bins = np.geomspace(positive.min() / 1.2, positive.max() * 1.2, 41)
    for col, color, label in (
        ("value_biasfree", "C1", "bias-free LS / (2.85)"),
        ("value_affine", "C3", "LS with output bias / (2.85)"),
    ):
        c.hist(ratios[col].clip(bins[0], bins[-1]), bins=bins, histtype="step", lw=1.4, color=color, label=label)
    c.axvline(1.0, color="k", lw=0.8, ls="--")
    c.set_xscale("log")
    _plain_log_ticks(c.xaxis)
    c.set_xlabel("ratio to the printed value (2.85), mixed s")
    c.set_ylabel("pattern cases")
    c.legend(frameon=False, fontsize=7, loc="upper left")
    c.set_title("(c) how far (2.85) is off for mixed s", fontsize=9)
    floor = 1e-16
    groups = [p.loc[p["type"] == t, "mu_range"].clip(lower=floor) for t in ("none", "mixed")]
    d.boxplot(groups, showfliers=True, flierprops={"markersize": 3, "alpha": 0.4})
    d.set_xticks([1, 2], ["s = 1 (no collapse)", "mixed s"])  # boxplot's label keyword was renamed in 3.9
    d.set_yscale("log")
    d.axhline(1e-8, color="0.5", ls=":", lw=0.8)
    d.set_ylabel("range of the value over μ in the box")
    d.set_title("(d) μ-dependence (dotted: tolerance)", fontsize=9)
    fig.suptitle(f"Pattern networks where A1-A3 hold and μ is in its box ({len(p)} pattern cases)")
    fig.tight_layout()
    return fig


# ---- (5) accuracy -----------------------------------------------------------------------------


def fig_accuracy(cons: pd.DataFrame):
    """Held-out accuracy of the induced-metric classifier against r (mean over θ and seeds,
    L = Q), with the nearest-class-mean baseline; left: mean simplices with θ < π, right: θ > π."""
    from .figures import plt, sparse_tick_labels

    syn = cons[(cons["kind"] == "synthetic") & (cons["L"] == cons["Q"])].copy()
    syn["delta_ratio"] = syn["delta_ratio"].astype(float)
    syn["obtuse"] = [t != "regular" and float(t) > np.pi for t in syn["theta"].astype(str)]
    rs = np.sort(syn["delta_ratio"].unique())
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
    for ax, obtuse in zip(axes, (False, True)):
        part = syn[syn["obtuse"] == obtuse]
        for q, g in part.groupby("Q"):
            m = g.groupby("delta_ratio")[["accuracy", "accuracy_ncm"]].mean()
            ax.plot(m.index, m["accuracy"], marker="o", color=f"C{q - 2}", label=f"Q = {q}, construction")
            ax.plot(m.index, m["accuracy_ncm"], ls="--", color=f"C{q - 2}", alpha=0.6, label=f"Q = {q}, nearest mean")
        ax.axvline(0.25, color="k", lw=0.8, ls=":")
        ax.text(0.25, 0.5, " r = 1/4", transform=ax.get_xaxis_transform(), fontsize=7)
        ax.set_xscale("log")
        ax.set_xticks(rs, sparse_tick_labels(rs), rotation=45, fontsize=7)
        ax.minorticks_off()
        ax.set_xlabel("δ-ratio r")
        ax.set_ylim(-0.02, 1.02)
        ax.set_title("mean simplex θ > π (A3 fails)" if obtuse else "mean simplex θ < π", fontsize=9)
        if len(part):
            ax.legend(frameon=False, fontsize=6.5, ncol=2, loc="lower left")
    axes[0].set_ylabel("held-out accuracy (mean over θ and seeds, L = Q)")
    fig.suptitle("Classification by the induced metric", y=1.0)
    return fig
