"""Tables, claims rows and figures of the beyond-the-paper studies: inputs in R^M
(``highdim``), sequentially linearly separable data (``sls``) and the shallow network
(``shallow``).

* :func:`load_runs` — run JSON files → one DataFrame per study (fixed columns, sorted rows).
* :func:`write_beyond_tables` — results/tables/{highdim,sls,shallow,beyond_claims}.csv.
* :func:`beyond_claims` — claims rows (columns of :data:`verdicts.COLUMNS`); every
  verdict is computed from the tables.
* :func:`fig_highdim`, :func:`fig_sls`, :func:`fig_shallow` — matplotlib Figures (save with
  :func:`dlgeom.study.figures.save_figure`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..thresholds import ZERO_COST
from .tables import as_bool as _bool
from .tables import fmt, write_csv
from .tables import frac as _frac
from .verdicts import COLUMNS as CLAIMS_COLUMNS
from .verdicts import empty_row, make_row

__all__ = [
    "BEYOND_KEYS",
    "FIT_MAX_DELTA_P",
    "HIGHDIM_COLUMNS",
    "SHALLOW_COLUMNS",
    "SLOPE_TOL",
    "SLS_COLUMNS",
    "beyond_claims",
    "fig_highdim",
    "fig_shallow",
    "fig_sls",
    "load_runs",
    "shallow_fits",
    "write_beyond_tables",
]

HIGHDIM_COLUMNS = [
    "Q",
    "M",
    "delta_ratio",
    "perp_scale",
    "replicate",
    "method",
    "projection",
    "layers",
    "mu",
    "status",
    "cost",
    "zero",
    "Y_norm",
    "n_hidden",
    "n_params",
    "r_M",
    "r_Q",
    "r_V",
    "theta_max_V",
    "all_hold",
    "A2",
    "A3",
    "mu_in_box",
    "cond_zred",
    "activation_margin",
    "pca_captured",
    "N",
    "seed",
]
SLS_COLUMNS = [
    "kind",
    "Q",
    "M",
    "replicate",
    "ordering",
    "status",
    "feasible",
    "failed_step",
    "reason",
    "push",
    "violates_block",
    "min_gamma",
    "min_margin",
    "max_theta",
    "max_cond",
    "cost",
    "zero",
    "cost_formula_output",
    "cost_input_space",
    "zero_input_space",
    "truncation_error",
    "Y_norm",
    "n_numbers",
    "n_params",
    "n_orderings_total",
    "seed",
]
SHALLOW_COLUMNS = [
    "Q",
    "mode",
    "replicate",
    "level",
    "delta_ratio",
    "delta_P",
    "norm_Delta2",
    "B",
    "B_network",
    "V",
    "V_paper_formula",
    "V_lstsq",
    "V_network",
    "gap_rel",
    "gap_bound",
    "gap_bound_Q",
    "V_aff",
    "V_aff_lstsq",
    "V_aff_network",
    "ratio_aff",
    "V_train",
    "V_train_from_aff",
    "train_runs",
    "train_iter",
    "seed",
]
_KEYS = {
    "highdim": (HIGHDIM_COLUMNS, ["Q", "M", "delta_ratio", "perp_scale", "replicate", "method"]),
    "sls": (SLS_COLUMNS, ["kind", "Q", "M", "replicate", "ordering"]),
    "shallow": (SHALLOW_COLUMNS, ["Q", "mode", "replicate", "level"]),
}
#: Fit range of the shallow slope: δ_P at most this.
FIT_MAX_DELTA_P = 0.05
#: |slope − 2| allowed for the verdict 'holds' (or 3 standard errors of the mean slope if larger).
SLOPE_TOL = 0.05


# ---- tables -------------------------------------------------------------------------------------------


def _frame(rows: list[dict], name: str) -> pd.DataFrame:
    cols, keys = _KEYS[name]
    df = pd.DataFrame(rows)
    for c in cols:
        if c not in df.columns:
            df[c] = np.nan
    df = df[cols]
    if len(df):
        df = df.sort_values(keys, kind="stable").reset_index(drop=True)
    return df


def load_runs(groups: dict) -> dict[str, pd.DataFrame]:
    """{'highdim': [json paths], 'sls': [...], 'shallow': [...]} → {name: DataFrame}.  A file's
    ``kind`` must match its group."""
    from ..jsonutil import malformed, read_json
    from ..validation import DlgeomInputError

    out = {}
    for name in ("highdim", "sls", "shallow"):
        rows = []
        for path in groups.get(name, []) or []:
            doc = read_json(path, f"--{name}", f"dlgeom {name}")
            if doc.get("kind") != name:
                raise DlgeomInputError(f"--{name}: {path} holds kind {doc.get('kind')!r}, expected {name!r}")
            with malformed(path, f"--{name}", f"dlgeom {name}"):
                rows += list(doc["rows"])
        out[name] = _frame(rows, name)
    return out


def write_beyond_tables(
    frames: dict[str, pd.DataFrame], out_dir, zero: float = ZERO_COST, fit_max: float = FIT_MAX_DELTA_P
) -> list[Path]:
    """Write highdim.csv, sls.csv, shallow.csv (those present in ``frames``) and
    beyond_claims.csv; returns the paths.  Fixed float format: byte-stable."""
    out = Path(out_dir)
    tables = {k: v for k, v in frames.items() if v is not None}
    tables["beyond_claims"] = pd.DataFrame(beyond_claims(frames, zero, fit_max), columns=CLAIMS_COLUMNS)
    out.mkdir(exist_ok=True)
    return [write_csv(df, out / f"{name}.csv") for name, df in tables.items()]


# ---- claims ---------------------------------------------------------------------------------------------


def shallow_fits(shallow: pd.DataFrame, fit_max: float = FIT_MAX_DELTA_P) -> pd.DataFrame:
    """Slope of log((B − V)/B) against log δ_P per (Q, mode, replicate), over δ_P ≤ ``fit_max``
    and over the whole sweep: columns slope, se, n, slope_all, se_all."""
    from ..shallow import fit_slope

    sweep = shallow[shallow["mode"].isin(["shrink", "fresh"])]
    rows = []
    for (q, mode, rep), g in sweep.groupby(["Q", "mode", "replicate"], sort=True):
        small = g[g["delta_P"] <= fit_max]
        f, fa = fit_slope(small["delta_P"], small["gap_rel"]), fit_slope(g["delta_P"], g["gap_rel"])
        rows.append(
            {
                "Q": q,
                "mode": mode,
                "replicate": rep,
                "slope": f["slope"],
                "se": f["se"],
                "n": f["n"],
                "intercept": f["intercept"],
                "slope_all": fa["slope"],
                "se_all": fa["se"],
            }
        )
    return pd.DataFrame(rows)


#: The claims-table rows of this stage, in order (statements in :data:`verdicts.CATALOGUE`).
BEYOND_KEYS = (
    "highdim_zero",
    "highdim_near",
    "highdim_pca",
    "sls_zero",
    "sls_ordering",
    "sls_certificates",
    "shallow_slope",
    "shallow_closed",
    "shallow_bias",
)


def beyond_claims(
    frames: dict[str, pd.DataFrame], zero: float = ZERO_COST, fit_max: float = FIT_MAX_DELTA_P
) -> list[dict]:
    """Claims rows from the highdim, sls and shallow tables (each optional): one row per entry
    of :data:`BEYOND_KEYS`, in that order, 'untested' where the study has no case."""
    found = {}

    def add(key, n, n_counter, evidence, corrected=None):
        found[key] = make_row(key, n, n_counter, evidence, corrected)

    hd = frames.get("highdim")
    if hd is not None and len(hd):
        hd = hd.copy()
        ok = hd["status"] == "ok"
        hd["zero_"] = ok & (pd.to_numeric(hd["cost"], errors="coerce") <= zero * hd["Y_norm"])
        hold = _bool(hd["all_hold"].fillna(False))
        emb = hd[(hd["method"] == "means_embed")]
        good = emb[hold[emb.index]]
        fused = hd[(hd["method"] == "means_fused") & hold]
        a2fail = good[good["r_M"] >= 0.25]
        qm = sorted({(int(a), int(b)) for a, b in zip(good["Q"], good["M"])})
        add(
            "highdim_zero",
            len(good),
            int((~good["zero_"]).sum()),
            f"zero cost (C <= {zero:g} |Y|_F) in {_frac(good['zero_'])} cases where A1-A3 hold for the projected data "
            f"(max C {fmt(pd.to_numeric(good['cost']).max())}; (Q, M) in {qm}); the fused Q-layer variant: "
            f"{_frac(fused['zero_'])}; of these, cases with A2 failing in R^M (r_M >= 1/4) but holding after "
            f"projection: {_frac(a2fail['zero_'])}; all cases, assumptions or not: {_frac(emb['zero_'])}",
        )
        near = hd[(hd["method"] == "means_near") & hold]
        add(
            "highdim_near",
            len(near),
            int((~near["zero_"]).sum()),
            f"zero cost in {_frac(near['zero_'])} cases where A1-A3 hold for the projected data (max C "
            f"{fmt(pd.to_numeric(near['cost']).max())}); this μ lies outside §4's box (-D_eff, -2δ√Q) in "
            f"{_frac(~_bool(near['mu_in_box'].fillna(False)))} of them",
        )
        means_m = hd[hd["method"] == "means_embed"]
        pca = hd[hd["method"] == "pca_embed"]
        per = []
        for ps in sorted(pca["perp_scale"].unique()):
            a, b = means_m[means_m["perp_scale"] == ps], pca[pca["perp_scale"] == ps]
            per.append(
                f"noise {ps:g}δ in the extra directions: R^M {_frac(a['zero_'])}, PCA {_frac(b['zero_'])} "
                f"(median projected δ-ratio r_V: R^M {fmt(a['r_V'].median())}, PCA {fmt(b['r_V'].median())}; "
                f"PCA keeps a median {fmt(b['pca_captured'].median())} of the mean spread)"
            )
        add(
            "highdim_pca",
            len(pca),
            0,
            "zero cost: " + "; ".join(per) + f"; singular projections (PCA): {int((pca['status'] != 'ok').sum())}",
        )

    sls = frames.get("sls")
    if sls is not None and len(sls):
        sls = sls.copy()
        feas = _bool(sls["feasible"])
        f = sls[feas]
        zero_net = pd.to_numeric(f["cost"]) <= zero * f["Y_norm"]
        zero_in = pd.to_numeric(f["cost_input_space"]) <= zero * f["Y_norm"]
        bad = f[~zero_net]
        add(
            "sls_zero",
            len(f),
            int((~zero_net).sum()),
            f"network cost C <= {zero:g} |Y|_F in {_frac(zero_net)} feasible orderings (max C "
            f"{fmt(pd.to_numeric(f['cost']).max())}; with the output by the closed formula instead of fitted to the "
            f"computed hidden points: max C {fmt(pd.to_numeric(f['cost_formula_output']).max())}); the same numbers "
            f"applied in input space (Q truncation maps, then the affine output): C <= {zero:g} |Y|_F in "
            f"{_frac(zero_in)} (max {fmt(pd.to_numeric(f['cost_input_space']).max())}, "
            f"max distance of a point to its p_k {fmt(pd.to_numeric(f['truncation_error']).max())}); "
            f"layer conditioning: "
            f"max cond W^(k) {fmt(pd.to_numeric(f['max_cond']).max())} (θ_k -> π as the margin shrinks; smallest "
            f"margin {fmt(pd.to_numeric(f['min_margin']).min())})"
            + (
                f"; where the network misses zero: max cond {fmt(pd.to_numeric(bad['max_cond']).max())}, min margin "
                f"{fmt(pd.to_numeric(bad['min_margin']).min())}; correction: the same numbers applied in input space"
                if len(bad)
                else ""
            ),
            int((~zero_in).sum()),
        )
        per_ds = sls.assign(feas=feas).groupby(["kind", "Q", "M", "replicate"])["feas"].agg(["sum", "size"])
        mixed = (per_ds["sum"] > 0) & (per_ds["sum"] < per_ds["size"])
        sh = per_ds.loc["shadow"] if "shadow" in per_ds.index.get_level_values(0) else per_ds.iloc[:0]
        cl = per_ds.loc["clustered"] if "clustered" in per_ds.index.get_level_values(0) else per_ds.iloc[:0]
        hand = sls[sls["kind"] == "hand"]
        hand_txt = ", ".join(f"R^{int(r.M)} ordering {r.ordering}: {r.status}" for r in hand.itertuples())
        by_qm = sh.groupby(level=["Q", "M"]).apply(lambda g: f"{g['sum'].sum()}/{g['size'].sum()}")
        add(
            "sls_ordering",
            len(per_ds),
            0,
            f"datasets with some but not all orderings feasible: {_frac(mixed)}; satellite data, feasible orderings "
            "per (Q, M): "
            + ", ".join(f"({q}, {m}) {v}" for (q, m), v in by_qm.items())
            + f"; clustered data: all orderings feasible in {_frac(cl['sum'] == cl['size'])} datasets"
            + (f"; hand-made example: {hand_txt}" if len(hand) else ""),
        )
        blocked = sls[_bool(sls["violates_block"].fillna(False))]
        hand_bad = hand[hand["ordering"].astype(str) == "10"]
        checks = pd.concat([~_bool(blocked["feasible"]), ~_bool(hand_bad["feasible"])])
        add(
            "sls_certificates",
            len(checks),
            int((~checks).sum()),
            f"infeasible in {_frac(~_bool(blocked['feasible']))} orderings that violate a designed block and "
            f"{_frac(~_bool(hand_bad['feasible']))} hand-made ones; reasons: "
            + ", ".join(f"{k} {v}" for k, v in blocked["reason"].fillna("none").value_counts().sort_index().items()),
        )

    sh = frames.get("shallow")
    if sh is not None and len(sh):
        fits = shallow_fits(sh, fit_max)
        good = fits[np.isfinite(fits["slope"])]
        summ = good.groupby(["Q", "mode"]).agg(
            mean=("slope", "mean"), std=("slope", "std"), size=("slope", "size"), fit_se=("se", "median")
        )
        # SE of the mean slope: across replicates, or the fit's own SE with one replicate
        summ["se_mean"] = np.where(summ["size"] > 1, summ["std"] / np.sqrt(summ["size"]), summ["fit_se"])
        summ["tol"] = np.maximum(SLOPE_TOL, 3 * summ["se_mean"])
        off = int(((summ["mean"] - 2).abs() > summ["tol"]).sum())
        txt = "; ".join(
            f"Q={q} {mode}: {r['mean']:.4f} ± {r['se_mean']:.2g} (per-fit SE median {r['fit_se']:.2g})"
            for (q, mode), r in summ.iterrows()
        )
        add(
            "shallow_slope",
            len(summ),
            off,
            f"least squares over δ_P <= {fit_max:g}, slope mean ± SE over replicates: "
            + txt
            + f"; over the whole sweep (δ_P up to {fmt(sh['delta_P'].max())}): mean slope "
            f"{fmt(fits['slope_all'].mean(), 4)}; n_cases = (Q, mode) groups ({len(good)} fits); "
            f"a group counts against "
            f"the statement if |slope - 2| > max({SLOPE_TOL:g}, 3 SE)",
        )
        sweep = sh[sh["mode"].isin(["shrink", "fresh"])]
        rel = lambda a, b: (sweep[a] - sweep[b]).abs() / sweep[b].abs().clip(lower=1e-300)
        err = max(
            rel("V", "V_lstsq").max(),
            rel("V", "V_network").max(),
            rel("B", "B_network").max(),
            rel("V_aff", "V_aff_lstsq").max(),
            rel("V", "V_paper_formula").max(),
        )
        viol = (sweep["gap_rel"] > sweep["gap_bound"] * (1 + 1e-9)) | (
            sweep["gap_bound"] > sweep["gap_bound_Q"] * (1 + 1e-9)
        )
        add(
            "shallow_closed",
            len(sweep),
            0,
            f"max relative difference closed form vs least squares / explicit network {fmt(err)}; bound violated in "
            f"{int(viol.sum())}/{len(sweep)} sweep points (median (B - V)/B / (Q δ_P²) "
            f"{fmt((sweep['gap_rel'] / sweep['gap_bound_Q']).median())})",
        )
        lower = sweep["V_aff"] < sweep["V"] * (1 - 1e-12)
        med = sweep.groupby("Q")["ratio_aff"].median()
        tr = sh[sh["mode"] == "train"]
        tr_txt = ""
        if len(tr):
            below = tr["V_train"] < tr["V_aff"] * (1 - 1e-6)
            reach0 = tr["V_train"] <= 1e-8 * np.sqrt(tr["Q"])
            by_q = (
                tr.assign(r=tr["V_train"] / tr["V"], z=reach0)
                .groupby("Q")
                .agg(r=("r", "median"), z=("z", "sum"), n=("z", "size"))
            )
            tr_txt = (
                f"; training the shallow network (L-BFGS, {int(tr['train_runs'].iloc[0])} He starts + 1 from the "
                f"affine fit) finds a lower cost than V_aff in {_frac(below)} probes; median V_train/V by Q: "
                + ", ".join(f"{int(q)}: {r.r:.3f} (C ≈ 0 in {int(r.z)}/{int(r.n)})" for q, r in by_q.iterrows())
                + ": the affine value is not the shallow minimum either"
            )
        add(
            "shallow_bias",
            len(sweep),
            0,
            f"V_aff < V in {_frac(lower)} sweep points; median V_aff/V {fmt(sweep['ratio_aff'].median())} (by Q: "
            + ", ".join(f"{int(q)}: {v:.3f}" for q, v in med.items())
            + ")"
            + tr_txt,
        )
    return [found.get(k) or empty_row(k) for k in BEYOND_KEYS]


# ---- figures --------------------------------------------------------------------------------------------


def _m_axis(ax, ms):
    ax.set_xscale("log")
    ax.set_xticks(ms, [str(int(m)) for m in ms])
    ax.minorticks_off()


def fig_highdim(df: pd.DataFrame, zero: float = ZERO_COST):
    """(a) fraction of zero-cost cases (C ≤ ``zero`` |Y|_F) against M: the construction in R^M
    (Q+1 layers, and the near apex) vs PCA-then-construct, per noise level in the extra directions;
    (b) the largest cost; (c) the δ-ratio of the projected data (A2 needs < 1/4)."""
    from .figures import no_data, plt

    fig, axes = plt.subplots(1, 3, figsize=(11.5, 3.5))
    if df is None or not len(df):
        for ax in axes:
            no_data(ax)
        return fig
    df = df.copy()
    df["cost"] = pd.to_numeric(df["cost"], errors="coerce")
    df["z"] = (df["status"] == "ok") & (df["cost"] <= zero * df["Y_norm"])
    styles = {
        "means_embed": ("-", "o", "R^M, Q+1 layers"),
        "means_near": (":", "^", "R^M, apex 2.5δ"),
        "pca_embed": ("--", "s", "PCA to Q, then R^Q"),
    }
    colors = plt.get_cmap("viridis")
    perps = sorted(df["perp_scale"].unique())
    ms = sorted(df["M"].unique())
    for i, ps in enumerate(perps):
        col = colors(0.15 + 0.7 * i / max(1, len(perps) - 1))
        for meth, (ls, mk, lab) in styles.items():
            g = df[(df["method"] == meth) & (df["perp_scale"] == ps)].groupby("M")
            if not len(g):
                continue
            axes[0].plot(
                g["z"].mean().index,
                g["z"].mean().values,
                ls=ls,
                marker=mk,
                color=col,
                ms=4,
                label=f"{lab}, noise {ps:g}δ",
            )
            if meth != "means_near":
                axes[1].plot(
                    g["cost"].max().index, np.maximum(g["cost"].max().values, 1e-17), ls=ls, marker=mk, color=col, ms=4
                )
                rv = pd.to_numeric(df[(df["method"] == meth) & (df["perp_scale"] == ps)]["r_V"], errors="coerce")
                med = rv.groupby(df["M"]).median()
                axes[2].plot(med.index, med.values, ls=ls, marker=mk, color=col, ms=4, label=f"{lab}, noise {ps:g}δ")
    axes[0].set(
        xlabel="input dimension M", ylabel=f"fraction with C ≤ {zero:g} |Y|", ylim=(-0.05, 1.05), title="(a) zero cost"
    )
    axes[0].legend(fontsize=6, frameon=False)
    axes[1].axhline(zero, color="0.5", lw=0.8)
    axes[1].set(
        yscale="log", xlabel="input dimension M", ylabel="largest C", title="(b) cost: R^M (solid) vs PCA (dashed)"
    )
    axes[2].axhline(0.25, color="0.5", lw=0.8)
    axes[2].set(
        yscale="log",
        xlabel="input dimension M",
        ylabel="median δ-ratio after projection",
        title="(c) clustering after projection (A2: < 1/4)",
    )
    axes[2].legend(fontsize=6, frameon=False)
    for ax in axes:
        _m_axis(ax, ms)
    fig.tight_layout()
    return fig


def _draw_hand_example(ax):
    from ..sequential import check_ordering, shadow_example

    data = shadow_example(dim=2)
    cols = ["tab:blue", "tab:orange"]
    for j in range(2):
        P = data.X[data.y == j]
        ax.scatter(P[:, 0], P[:, 1], s=10, color=cols[j], label=f"class {j}", zorder=3)
    xbar = data.barycenter
    ax.scatter(*xbar, marker="*", s=80, color="k", zorder=4, label="x̄")
    res = check_ordering(data, (0, 1))
    xs = np.array([-11.0, 11.0])
    for k, st in enumerate(res.steps):
        w, c = np.asarray(st.w), st.c
        if abs(w[1]) > 1e-12:
            ax.plot(
                xs, (c - w[0] * xs) / w[1], color=cols[st.cls], lw=1.2, ls="-", label=f"ordering (0, 1), step {k + 1}"
            )
        ax.scatter(*st.p, marker="x", s=40, color=cols[st.cls], zorder=5)
    a = data.X[data.y == 0][0]
    ax.plot(
        [a[0], xbar[0]],
        [a[1], xbar[1]],
        color="tab:red",
        lw=1,
        ls="--",
        label="(1, 0) infeasible: a class-1 point\nis the midpoint of this segment",
    )
    bad = check_ordering(data, (1, 0))
    ax.set(xlim=(-11, 11), ylim=(-1.5, 6.5), title=f"(a) hand-made data: (0, 1) {res.status}, (1, 0) {bad.status}")
    ax.legend(fontsize=6, frameon=False, loc="upper left")


def fig_sls(df: pd.DataFrame, zero: float = ZERO_COST):
    """(a) the hand-made 2-D example with the hyperplanes of the feasible ordering and the
    certificate of the infeasible one; (b) feasible orderings per (Q, M); (c) network cost of
    the feasible orderings against their smallest margin (grey line: C = ``zero``)."""
    from .figures import no_data, plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    _draw_hand_example(axes[0])
    if df is None or not len(df):
        no_data(axes[1])
        no_data(axes[2])
        return fig
    df = df.copy()
    df["feas"] = _bool(df["feasible"])
    sub = df[df["kind"].isin(["shadow", "clustered"])]
    g = sub.groupby(["kind", "Q", "M"])["feas"].mean().reset_index()
    labels = sorted({(int(q), int(m)) for q, m in zip(g["Q"], g["M"])})
    x = np.arange(len(labels))
    for off, kind, col in ((-0.2, "shadow", "tab:purple"), (0.2, "clustered", "tab:green")):
        vals = [g[(g["kind"] == kind) & (g["Q"] == q) & (g["M"] == m)]["feas"].mean() for q, m in labels]
        axes[1].bar(
            x + off,
            np.nan_to_num(vals),
            width=0.4,
            color=col,
            label="satellite data" if kind == "shadow" else "clustered data",
        )
    axes[1].set_xticks(x, [f"Q{q}\nM{m}" for q, m in labels], fontsize=7)
    axes[1].set(ylabel="fraction of orderings feasible", ylim=(0, 1.05), title="(b) feasibility by ordering")
    axes[1].legend(fontsize=7, frameon=False)
    f = df[df["feas"]]
    for kind, col in (("shadow", "tab:purple"), ("clustered", "tab:green"), ("hand", "k")):
        h = f[f["kind"] == kind]
        axes[2].scatter(
            pd.to_numeric(h["min_margin"]),
            np.maximum(pd.to_numeric(h["cost"]), 1e-17),
            s=8,
            color=col,
            label=kind,
            alpha=0.7,
        )
        axes[2].scatter(
            pd.to_numeric(h["min_margin"]),
            np.maximum(pd.to_numeric(h["cost_input_space"]), 1e-17),
            s=8,
            color=col,
            marker="x",
            alpha=0.5,
        )
    axes[2].axhline(zero, color="0.5", lw=0.8)
    axes[2].set(
        xscale="log",
        yscale="log",
        xlabel="smallest geometric margin of the steps",
        ylabel="C (dots: network; x: input space)",
        title="(c) zero cost from Q(M+2) numbers",
    )
    axes[2].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def fig_shallow(df: pd.DataFrame, fit_max: float = FIT_MAX_DELTA_P):
    """(a) (B − V)/B against δ_P (log-log), with the least-squares line over δ_P ≤ ``fit_max``,
    a reference line of slope 2 and the bound Q δ_P²; (b) V_aff/V (and trained/V)."""
    from ..shallow import fit_slope
    from .figures import no_data, plt

    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.6))
    if df is None or not len(df):
        for ax in axes:
            no_data(ax)
        return fig
    sweep = df[df["mode"].isin(["shrink", "fresh"])]
    qs = sorted(sweep["Q"].unique())
    cmap = plt.get_cmap("tab10")
    for i, q in enumerate(qs):
        col = cmap(i)
        s = sweep[sweep["Q"] == q]
        fr, shr = s[s["mode"] == "fresh"], s[s["mode"] == "shrink"]
        axes[0].scatter(fr["delta_P"], fr["gap_rel"], s=7, color=col, alpha=0.6, label=f"Q={q} fresh draws")
        for _, g in shr.groupby("replicate"):
            axes[0].plot(g["delta_P"], g["gap_rel"], color=col, lw=0.6, alpha=0.6)
        small = s[s["delta_P"] <= fit_max]
        fit = fit_slope(small["delta_P"], small["gap_rel"])
        if np.isfinite(fit["slope"]):
            xx = np.geomspace(small["delta_P"].min(), small["delta_P"].max(), 10)
            axes[0].plot(
                xx,
                np.exp(fit["intercept"]) * xx ** fit["slope"],
                color=col,
                lw=2,
                ls="--",
                label=f"fit Q={q}: slope {fit['slope']:.3f}",
            )
        axes[1].scatter(s["delta_P"], s["ratio_aff"], s=7, color=col, label=f"Q={q}: V_aff/V")
    tr = df[df["mode"] == "train"]
    for i, q in enumerate(qs):
        t = tr[tr["Q"] == q]
        if len(t):
            axes[1].scatter(
                t["delta_P"],
                t["V_train"] / t["V"],
                marker="v",
                s=30,
                color=cmap(i),
                edgecolor="k",
                label=f"Q={q}: trained/V",
            )
    xs = np.geomspace(sweep["delta_P"].min(), sweep["delta_P"].max(), 10)
    y0 = sweep.loc[sweep["delta_P"].idxmin(), "gap_rel"]
    axes[0].plot(xs, y0 * (xs / xs[0]) ** 2, color="k", lw=0.8, ls=":", label="slope 2 (reference)")
    axes[0].axvline(fit_max, color="0.6", lw=0.6)
    axes[0].set(
        xscale="log",
        yscale="log",
        xlabel="δ_P = max |(X^red)^{-1}Δx|",
        ylabel="(B − V)/B",
        title="(a) V = B(1 − O(δ_P²))",
    )
    axes[0].legend(fontsize=6, frameon=False)
    axes[1].set(
        xscale="log", xlabel="δ_P", ylabel="ratio to V", ylim=(-0.03, 1.05), title="(b) with the free output bias"
    )
    axes[1].legend(fontsize=6, frameon=False)
    fig.tight_layout()
    return fig
