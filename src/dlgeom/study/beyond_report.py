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
from .evidence import items
from .tables import as_bool as _bool
from .tables import frac as _frac
from .tables import write_csv
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


def _highdim_rows(hd: pd.DataFrame, zero: float) -> list[dict]:
    """highdim_zero, highdim_near and highdim_pca from the highdim table."""
    hd = hd.copy()
    ok = hd["status"] == "ok"
    hd["zero_"] = ok & (pd.to_numeric(hd["cost"], errors="coerce") <= zero * hd["Y_norm"])
    hold = _bool(hd["all_hold"].fillna(False))
    emb = hd[(hd["method"] == "means_embed")]
    good = emb[hold[emb.index]]
    fused = hd[(hd["method"] == "means_fused") & hold]
    near = hd[(hd["method"] == "means_near") & hold]
    pca = hd[hd["method"] == "pca_embed"]
    zero_numbers = {
        "zero": zero,
        "zero_cases": _frac(good["zero_"]),
        "max_cost": pd.to_numeric(good["cost"]).max(),
        "q_m": sorted({(int(a), int(b)) for a, b in zip(good["Q"], good["M"])}),
        "fused_zero": _frac(fused["zero_"]),
        "a2_fails_zero": _frac(good[good["r_M"] >= 0.25]["zero_"]),
        "all_zero": _frac(emb["zero_"]),
    }
    near_numbers = {
        "zero_cases": _frac(near["zero_"]),
        "max_cost": pd.to_numeric(near["cost"]).max(),
        "outside_box": _frac(~_bool(near["mu_in_box"].fillna(False))),
    }
    per_noise = []
    for ps in sorted(pca["perp_scale"].unique()):
        a, b = emb[emb["perp_scale"] == ps], pca[pca["perp_scale"] == ps]
        per_noise.append(
            {
                "scale": ps,
                "means_zero": _frac(a["zero_"]),
                "pca_zero": _frac(b["zero_"]),
                "means_r": a["r_V"].median(),
                "pca_r": b["r_V"].median(),
                "pca_captured": b["pca_captured"].median(),
            }
        )
    pca_numbers = {"per_noise": items("pca_noise", per_noise, "; "), "n_singular": int((pca["status"] != "ok").sum())}
    return [
        make_row("highdim_zero", len(good), int((~good["zero_"]).sum()), zero_numbers),
        make_row("highdim_near", len(near), int((~near["zero_"]).sum()), near_numbers),
        make_row("highdim_pca", len(pca), 0, pca_numbers),
    ]


def _sls_zero_row(f: pd.DataFrame, zero: float) -> dict:
    num = lambda col: pd.to_numeric(f[col])  # noqa: E731
    zero_net = num("cost") <= zero * f["Y_norm"]
    zero_in = num("cost_input_space") <= zero * f["Y_norm"]
    numbers = {
        "zero": zero,
        "zero_network": _frac(zero_net),
        "max_cost": num("cost").max(),
        "max_cost_formula": num("cost_formula_output").max(),
        "zero_input": _frac(zero_in),
        "max_cost_input": num("cost_input_space").max(),
        "max_truncation_error": num("truncation_error").max(),
        "max_cond": num("max_cond").max(),
        "min_margin": num("min_margin").min(),
    }
    bad = f[~zero_net]
    if len(bad):
        numbers["miss_max_cond"] = pd.to_numeric(bad["max_cond"]).max()
        numbers["miss_min_margin"] = pd.to_numeric(bad["min_margin"]).min()
    return make_row("sls_zero", len(f), int((~zero_net).sum()), numbers, int((~zero_in).sum()))


def _sls_ordering_row(sls: pd.DataFrame, feas: pd.Series, hand: pd.DataFrame) -> dict:
    per_ds = sls.assign(feas=feas).groupby(["kind", "Q", "M", "replicate"])["feas"].agg(["sum", "size"])
    mixed = (per_ds["sum"] > 0) & (per_ds["sum"] < per_ds["size"])
    sh = per_ds.loc["shadow"] if "shadow" in per_ds.index.get_level_values(0) else per_ds.iloc[:0]
    cl = per_ds.loc["clustered"] if "clustered" in per_ds.index.get_level_values(0) else per_ds.iloc[:0]
    by_qm = sh.groupby(level=["Q", "M"]).apply(lambda g: f"{g['sum'].sum()}/{g['size'].sum()}")
    numbers = {
        "mixed": _frac(mixed),
        "satellite": items("q_m_value", ({"q": q, "m": m, "value": v} for (q, m), v in by_qm.items())),
        "clustered_all": _frac(cl["sum"] == cl["size"]),
    }
    if len(hand):
        numbers["hand"] = items(
            "hand_ordering", ({"m": int(r.M), "ordering": r.ordering, "status": r.status} for r in hand.itertuples())
        )
    return make_row("sls_ordering", len(per_ds), 0, numbers)


def _sls_certificates_row(sls: pd.DataFrame, hand: pd.DataFrame) -> dict:
    blocked = sls[_bool(sls["violates_block"].fillna(False))]
    hand_bad = hand[hand["ordering"].astype(str) == "10"]
    checks = pd.concat([~_bool(blocked["feasible"]), ~_bool(hand_bad["feasible"])])
    reasons = blocked["reason"].fillna("none").value_counts().sort_index()
    numbers = {
        "blocked_infeasible": _frac(~_bool(blocked["feasible"])),
        "hand_infeasible": _frac(~_bool(hand_bad["feasible"])),
        "reasons": items("group_value", ({"group": k, "value": v} for k, v in reasons.items())),
    }
    return make_row("sls_certificates", len(checks), int((~checks).sum()), numbers)


def _sls_rows(sls: pd.DataFrame, zero: float) -> list[dict]:
    """sls_zero, sls_ordering and sls_certificates from the sls table."""
    sls = sls.copy()
    feas = _bool(sls["feasible"])
    hand = sls[sls["kind"] == "hand"]
    return [_sls_zero_row(sls[feas], zero), _sls_ordering_row(sls, feas, hand), _sls_certificates_row(sls, hand)]


def _shallow_slope_row(sh: pd.DataFrame, fit_max: float) -> dict:
    fits = shallow_fits(sh, fit_max)
    good = fits[np.isfinite(fits["slope"])]
    summ = good.groupby(["Q", "mode"]).agg(
        mean=("slope", "mean"), std=("slope", "std"), size=("slope", "size"), fit_se=("se", "median")
    )
    # SE of the mean slope: across replicates, or the fit's own SE with one replicate
    summ["se_mean"] = np.where(summ["size"] > 1, summ["std"] / np.sqrt(summ["size"]), summ["fit_se"])
    summ["tol"] = np.maximum(SLOPE_TOL, 3 * summ["se_mean"])
    off = int(((summ["mean"] - 2).abs() > summ["tol"]).sum())
    groups = (
        {"q": q, "mode": mode, "mean": r["mean"], "se": r["se_mean"], "fit_se": r["fit_se"]}
        for (q, mode), r in summ.iterrows()
    )
    numbers = {
        "fit_max": fit_max,
        "per_group": items("slope_group", groups, "; "),
        "max_delta_p": sh["delta_P"].max(),
        "slope_all": fits["slope_all"].mean(),
        "n_fits": len(good),
        "slope_tol": SLOPE_TOL,
    }
    return make_row("shallow_slope", len(summ), off, numbers)


def _shallow_closed_row(sweep: pd.DataFrame) -> dict:
    rel = lambda a, b: (sweep[a] - sweep[b]).abs() / sweep[b].abs().clip(lower=1e-300)  # noqa: E731
    pairs = (
        ("V", "V_lstsq"),
        ("V", "V_network"),
        ("B", "B_network"),
        ("V_aff", "V_aff_lstsq"),
        ("V", "V_paper_formula"),
    )
    viol = (sweep["gap_rel"] > sweep["gap_bound"] * (1 + 1e-9)) | (
        sweep["gap_bound"] > sweep["gap_bound_Q"] * (1 + 1e-9)
    )
    numbers = {
        "max_rel_diff": max(rel(a, b).max() for a, b in pairs),
        "n_violated": int(viol.sum()),
        "n_points": len(sweep),
        "median_gap_ratio": (sweep["gap_rel"] / sweep["gap_bound_Q"]).median(),
    }
    return make_row("shallow_closed", len(sweep), 0, numbers)


def _shallow_bias_row(sh: pd.DataFrame, sweep: pd.DataFrame) -> dict:
    med = sweep.groupby("Q")["ratio_aff"].median()
    numbers = {
        "lower": _frac(sweep["V_aff"] < sweep["V"] * (1 - 1e-12)),
        "median_ratio": sweep["ratio_aff"].median(),
        "by_q": items("q_ratio", ({"q": int(q), "ratio": v} for q, v in med.items())),
    }
    tr = sh[sh["mode"] == "train"]
    if len(tr):
        reach0 = tr["V_train"] <= 1e-8 * np.sqrt(tr["Q"])
        by_q = (
            tr.assign(r=tr["V_train"] / tr["V"], z=reach0)
            .groupby("Q")
            .agg(r=("r", "median"), z=("z", "sum"), n=("z", "size"))
        )
        numbers.update(
            train_runs=int(tr["train_runs"].iloc[0]),
            train_below=_frac(tr["V_train"] < tr["V_aff"] * (1 - 1e-6)),
            train_by_q=items(
                "q_train", ({"q": int(q), "ratio": r.r, "n_zero": int(r.z), "n": int(r.n)} for q, r in by_q.iterrows())
            ),
        )
    return make_row("shallow_bias", len(sweep), 0, numbers)


def _shallow_rows(sh: pd.DataFrame, fit_max: float) -> list[dict]:
    """shallow_slope, shallow_closed and shallow_bias from the shallow table."""
    sweep = sh[sh["mode"].isin(["shrink", "fresh"])]
    return [_shallow_slope_row(sh, fit_max), _shallow_closed_row(sweep), _shallow_bias_row(sh, sweep)]


def beyond_claims(
    frames: dict[str, pd.DataFrame], zero: float = ZERO_COST, fit_max: float = FIT_MAX_DELTA_P
) -> list[dict]:
    """Claims rows from the highdim, sls and shallow tables (each optional): one row per entry
    of :data:`BEYOND_KEYS`, in that order, 'untested' where the study has no case."""
    rows = []
    for name, make in (
        ("highdim", lambda df: _highdim_rows(df, zero)),
        ("sls", lambda df: _sls_rows(df, zero)),
        ("shallow", lambda df: _shallow_rows(df, fit_max)),
    ):
        df = frames.get(name)
        if df is not None and len(df):
            rows += make(df)
    found = {r["id"]: r for r in rows}
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
