"""The study's figures: one function per figure, tidy DataFrames (or a dataset) in, a Figure out.

:func:`save_figure` writes PNG and PDF with fixed metadata, so reruns are byte-stable.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402
import pandas as pd  # noqa: E402

from ..construct import Construction  # noqa: E402
from ..data import Dataset  # noqa: E402
from ..geometry import cone_angles  # noqa: E402
from ..network import truncate  # noqa: E402
from ..synthetic import mean_simplex, regular_cone_angle  # noqa: E402
from ..thresholds import ZERO_COST  # noqa: E402
from . import FIGURES  # noqa: E402,F401  (re-exported)

CLASS_COLORS = plt.get_cmap("tab10").colors

plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 150, "font.size": 9, "axes.titlesize": 10,
                     "axes.spines.top": False, "axes.spines.right": False})


def save_figure(fig, stem) -> list[Path]:
    """Write ``stem.png`` and ``stem.pdf`` with fixed metadata (byte-stable), atomically."""
    from ..safe_write import output_group, open_output

    stem = Path(stem)
    out = []
    try:
        with output_group():   # both files, or neither
            for ext, meta in (("png", {"Software": None}),
                              ("pdf", {"CreationDate": None, "Creator": None, "Producer": None})):
                path = stem.with_suffix("." + ext)
                with open_output(path, "wb") as fh:
                    fig.savefig(fh, format=ext, metadata=meta, bbox_inches="tight")
                out.append(path)
    finally:
        plt.close(fig)
    return out


def theta_value(theta: str, q: int) -> float:
    return regular_cone_angle(q) if theta == "regular" else float(theta)


# ---- (1) the truncation map in R² ---------------------------------------------------------

def fig_truncation(data: Dataset, con: Construction):
    """Q = 2: the data before and after each truncation layer, with each layer's forward cone
    (identity) and backward cone (collapsed to the apex) drawn in input space."""
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
    fig, ax = plt.subplots(figsize=(4.8, 3.4))
    floor = 1e-17
    for j, g in curation.groupby("class"):
        ax.plot(g["layer"], np.maximum(g["spread"], floor), marker="o", color=CLASS_COLORS[int(j)],
                label=f"class {int(j) + 1}")
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


def sparse_tick_labels(values, min_log_gap: float = 0.12) -> list[str]:
    """Labels for ticks at ``values`` on a log axis: a value closer than ``min_log_gap`` decades
    to the previous labelled one gets an empty label (its tick stays), so labels never overlap."""
    labels, last = [], None
    for v in values:
        if last is None or np.log10(v) - np.log10(last) >= min_log_gap:
            labels.append(f"{v:g}")
            last = v
        else:
            labels.append("")
    return labels


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
    L_min = phase.groupby("Q")["L"].transform("min")
    ph = phase[phase["L"] == L_min].copy()
    qs = sorted(ph["Q"].unique())
    ncol = 2 if len(qs) == 4 else min(len(qs), 3)  # a grid, not a long row: readable at page width
    nrow = -(-len(qs) // ncol)
    fig, grid = plt.subplots(nrow, ncol, figsize=(4.0 * ncol, 3.4 * nrow), squeeze=False,
                             gridspec_kw={"wspace": 0.3, "hspace": 0.55})
    axes = list(grid.ravel()[:len(qs)])
    for spare in grid.ravel()[len(qs):]:
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
            ax.contour(rr, tt / np.pi, inside.astype(float), levels=[0.5], colors="k", linewidths=0.6,
                       linestyles="--")
            row_first = axes[k - k % ncol]
            if ax is row_first or (k % ncol == 1 and qs[0] == 2 and row_first is axes[0]):
                ax.set_ylabel("cone angle θ of the mean simplex / π")
            ax.text(xe[0] * 1.1, ye[0] / np.pi + 0.02, "paper's\nsufficient\nregion", color="w", fontsize=7,
                    va="bottom")
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
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def fig_local_minima(patterns: pd.DataFrame):
    """(a) s = 1: the paper's value (2.85) against the least-squares values; (b) mixed patterns:
    the same as a 2D histogram (too many points to scatter); (c) the ratios LS / (2.85) of the mixed
    patterns; (d) how much each pattern's value moves with μ inside its box."""
    p = patterns[(patterns["type"] != "global") & patterns["all_hold"] & patterns["mu_in_box"]]
    fig, ((a, b), (c, d)) = plt.subplots(2, 2, figsize=(9, 7.2))
    none, mixed = p[p["type"] == "none"], p[p["type"] == "mixed"]
    lo = max(1e-4, p[["value_paper", "value_affine"]].min().min() * 0.8) if len(p) else 1e-4
    hi = p[["value_paper", "value_biasfree"]].max().max() * 1.2 if len(p) else 1.0
    lim = [lo, max(hi, lo * 10)]
    a.scatter(none["value_paper"], none["value_biasfree"], s=22, marker="o", facecolors="none",
              edgecolors="C0", lw=0.9, label="bias-free LS")
    a.scatter(none["value_paper"], none["value_affine"], s=10, marker="s", color="C2", alpha=0.6,
              label="LS with output bias")
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
        hb = b.hexbin(mixed["value_paper"].clip(lower=lim[0]), mixed["value_affine"].clip(lower=lim[0]),
                      xscale="log", yscale="log", gridsize=28, bins="log", mincnt=1, cmap="Greens",
                      extent=np.log10([lim[0], lim[1], lim[0], lim[1]]))
        fig.colorbar(hb, ax=b, label="cases per bin")
    for ax in (a, b):
        _plain_log_ticks(ax.xaxis)
        _plain_log_ticks(ax.yaxis)
    b.set_ylabel("LS value with output bias")
    b.legend(frameon=False, fontsize=7, loc="upper left")
    b.set_title(f"(b) mixed s ({len(mixed)} cases)", fontsize=9)
    ratios = {col: (mixed[col] / mixed["value_paper"]).replace([np.inf, -np.inf], np.nan).dropna()
              for col in ("value_biasfree", "value_affine")}
    positive = np.concatenate([r[r > 0].to_numpy() for r in ratios.values()] + [np.array([1.0])])
    bins = np.geomspace(positive.min() / 1.2, positive.max() * 1.2, 41)
    for col, color, label in (("value_biasfree", "C1", "bias-free LS / (2.85)"),
                              ("value_affine", "C3", "LS with output bias / (2.85)")):
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
    d.boxplot(groups, tick_labels=["s = 1 (no collapse)", "mixed s"], showfliers=True,
              flierprops={"markersize": 3, "alpha": 0.4})
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


# ---- (6, 7) the gradient landscape --------------------------------------------------------------

def _no_data(title):
    fig, ax = plt.subplots(figsize=(5, 2))
    ax.axis("off")
    ax.text(0.5, 0.5, "no landscape cells in this study\n(config key landscape.cells)", ha="center", va="center")
    ax.set_title(title)
    return fig


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
    if end is None or not len(end):
        return _no_data("Optimiser runs")
    cell = _main_cell(end, zero)
    fig, ((a, b), (c, d)) = plt.subplots(2, 2, figsize=(11, 8.4))
    rand = end[(end["cell"] == cell) & end["start_kind"].isin(["he", "xavier"])]
    floor = 1e-16
    bins = np.logspace(-16, 1, 52)
    for i, (opt, g) in enumerate(rand.groupby("optimiser")):
        a.hist(np.clip(g["cost"], floor, None), bins=bins, histtype="step", lw=1.4, color=f"C{i}", label=opt)
    lv = levels[levels["cell"] == cell]
    for r in lv.itertuples():
        style = (("k", ":", 0.6) if r.level.startswith("merge")
                 else (("C3", "--", 0.8) if r.level.startswith("V_aff") else ("0.6", "-", 0.4)))
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
            ci = np.array([wilson_interval(int(sub.loc[gk, "k"]), int(sub.loc[gk, "n"])) if gk in sub.index else (0, 0)
                           for gk in groups])
            yerr = np.clip([p - ci[:, 0], ci[:, 1] - p], 0.0, None)   # rounding can make a bound cross p
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
        c.plot(m.index, m.values, marker="o" if kind == "global" else "s", ls="-" if kind == "global" else "--",
               color=f"C{['lbfgs', 'gd', 'adam'].index(opt) if opt in ('lbfgs', 'gd', 'adam') else i}",
               label=f"{'global minimiser' if kind == 'global' else 's = 1'}, {opt}")
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
    if shape is None or not len(shape):
        return _no_data("Local shape")
    cell = _main_cell(shape, zero)
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(13, 3.8))
    floor = 1e-16
    for i, r in enumerate(shape[shape["cell"] == cell].itertuples()):
        ev = np.sort(np.abs(np.array([float(v) for v in r.eigenvalues.split()])))
        a.semilogy(np.arange(ev.size), np.maximum(ev, floor), marker=".", ls="none", color=f"C{i}",
                   label=f"{'global minimiser' if r.point == 'global' else 's = 1'}: {r.n_zero_eig} zero modes "
                         f"(#params − rank J = {r.null_dim_J}) of {r.n_params}"
                         + (f"; the paper's directions span {r.modes_explained}"
                            if hasattr(r, "modes_explained") else ""))
    a.set_xlabel("eigenvalue index (sorted by |λ|)")
    a.set_ylabel("|eigenvalue| of the Hessian of C²")
    a.set_title(f"(a) Hessian spectra, {cell}", fontsize=9)
    a.legend(frameon=False, fontsize=6.5, loc="upper left")
    pc = paths[paths["cell"] == cell]
    for r in pc.itertuples():
        F = np.array([float(v) for v in r.profile.split()])
        b.plot(np.linspace(0, 1, F.size), F, color="C0" if r.type == "none" else "C1",
               lw=1.6 if r.type == "none" else 0.8, label=None)
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
    if minima is None or not len(minima):
        return _no_data("Certified local minima")
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
        for (r, dy) in zip(m.itertuples(), jitter):
            ax.scatter(r.cost, i + dy, s=12 + 6 * np.sqrt(r.multiplicity), color=colors.get(r.category, "0.5"),
                       marker="o" if "smooth" == r.kind else ("X" if r.kind == "nonsmooth" else "D"),
                       alpha=0.75, edgecolor="none")
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
    ax.set_title(f"Certified non-zero local minima of L-BFGS end points: {k} distinct ({n} end points; "
                 f"marker area ∝ multiplicity)", fontsize=9)
    fig.tight_layout()
    return fig
