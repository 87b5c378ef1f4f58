"""Tables, findings rows and figures of neural collapse layer by layer and of one extra neuron.

* :func:`load_collapse` — the JSON files of ``collapse-constructed`` / ``collapse-landscape`` →
  per-network NC rows and escape-test rows.
* :func:`write_collapse_tables` — ``neural_collapse.csv`` (one row per (cell, source, optimiser,
  start, category, layer): medians over the networks of the group), ``width_plus_one.csv`` (one
  row per distinct certified non-zero minimum, representative and embedding) and
  ``collapse_claims.csv`` (findings rows for the claims table; every verdict is computed from
  the two tables).
* :func:`fig_neural_collapse`, :func:`fig_width_plus_one` — matplotlib Figures.

Sources: ``global`` (the constructed minimiser), ``s1`` (the s = 1 network), ``trained_zero``
(landscape end points with C ≤ 1e-6, any optimiser), ``trained_minimum`` (certified non-zero
L-BFGS minima).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..thresholds import OPTIMISER_ZERO
from .tables import frac as _frac
from .tables import write_csv
from .verdicts import COLUMNS, empty_row, make_row

__all__ = [
    "NC_COLUMNS", "WIDTH_COLUMNS", "SOURCES", "load_collapse", "neural_collapse_table", "collapse_claims",
    "write_collapse_tables", "read_collapse_tables", "fig_neural_collapse", "fig_width_plus_one",
]

SOURCES = ("global", "s1", "trained_zero", "trained_minimum")
NC_COLUMNS = [
    "cell", "source", "optimiser", "start", "layer", "nc1", "nc2", "nc3", "nc4", "layer_kind", "category", "Q", "L",
    "n_networks", "nc1_trace", "nc2_etf", "spread_max", "frac_classes_collapsed", "frac_staircase",
    "frac_all_last_hidden", "frac_not_collapsed_hidden", "collapse_layers_mode", "cost_median",
]
WIDTH_COLUMNS = [
    "cell", "Q", "L", "minimum", "representative", "level_type", "nearest_level", "structure", "kind",
    "multiplicity", "embedding", "escapable", "cost_before", "cost_embedded", "cost_after", "rel_drop", "method",
    "status", "grad_norm", "min_hess_eig", "probe_min_rel_change", "n_iter", "start", "optimiser", "run", "choice",
    "seed",
]
CLAIMS_COLUMNS = COLUMNS
#: an optimiser end point (after the width Q+1 escape) with C at or below this counts as zero
ZERO_END = OPTIMISER_ZERO


def _restore(df: pd.DataFrame) -> pd.DataFrame:
    from .tables import restore_nonfinite as _restore_nonfinite

    return _restore_nonfinite(df)


def load_collapse(constructed, landscape) -> dict[str, pd.DataFrame]:
    """{'nc': per-network NC rows, 'width': escape-test rows}."""
    from ..validation import DlgeomInputError

    nc, width = [], []
    for flag, paths, kind in (("constructed", constructed, "collapse_constructed"),
                              ("landscape", landscape, "collapse_landscape")):
        for p in sorted(map(str, paths)):
            try:
                doc = json.loads(Path(p).read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise DlgeomInputError(f"--{flag}: {p} is not a readable JSON file ({exc})") from None
            if doc.get("kind") != kind:
                raise DlgeomInputError(f"--{flag}: {p} holds kind {doc.get('kind')!r}, expected {kind!r}")
            nc += doc.get("rows", []) + doc.get("nc_rows", [])
            width += doc.get("width_rows", [])
    nc_df = _restore(pd.DataFrame(nc))
    w = _restore(pd.DataFrame(width))
    for c in WIDTH_COLUMNS:
        if c not in w.columns:
            w[c] = np.nan
    w = w[WIDTH_COLUMNS]
    if len(w):
        w = w.sort_values(["cell", "minimum", "representative", "embedding"], kind="stable").reset_index(drop=True)
    return {"nc": nc_df, "width": w}


def _layers(pattern: str) -> list[int]:
    return [int(v) for v in str(pattern).split("-") if v != ""]


def _pattern_flags(pattern: str, L: int) -> tuple[bool, bool, bool]:
    """(staircase: every class collapses at a hidden layer, all at different layers; all at the
    last hidden layer L; some class not collapsed at any hidden layer)."""
    ls = _layers(pattern)
    hidden = [1 <= v <= L for v in ls]
    stair = all(hidden) and len(set(ls)) == len(ls)
    last = all(v == L for v in ls)
    return stair, last, not all(hidden)


def neural_collapse_table(nc: pd.DataFrame) -> pd.DataFrame:
    """Per-network NC rows → one row per (cell, source, optimiser, start, category, layer) with
    medians over the networks of the group, the fraction of (network, class) pairs collapsed at
    that layer, and the collapse-layer pattern fractions (see :func:`_pattern_flags`)."""
    if nc is None or not len(nc):
        return pd.DataFrame(columns=NC_COLUMNS)
    df = nc.copy()
    for c in ("optimiser", "start", "category"):
        df[c] = df[c].fillna("").replace("", "-")
    flags = [_pattern_flags(p, int(L)) for p, L in zip(df["collapse_layers"], df["L"])]
    df["stair"], df["last"], df["never"] = (np.array([f[i] for f in flags], bool) for i in range(3))
    df["frac_c"] = df["n_collapsed"] / df["Q"]
    keys = ["cell", "source", "optimiser", "start", "category", "layer"]
    g = df.groupby(keys, sort=True)
    out = g.agg(layer_kind=("layer_kind", "first"), Q=("Q", "first"), L=("L", "first"), n_networks=("nc1", "size"),
                nc1=("nc1", "median"), nc2=("nc2_y", "median"), nc3=("nc3", "median"), nc4=("nc4", "median"),
                nc1_trace=("nc1_trace", "median"), nc2_etf=("nc2_etf", "median"),
                spread_max=("spread_max", "median"), frac_classes_collapsed=("frac_c", "mean"),
                frac_staircase=("stair", "mean"), frac_all_last_hidden=("last", "mean"),
                frac_not_collapsed_hidden=("never", "mean"),
                collapse_layers_mode=("collapse_layers", lambda s: s.value_counts().sort_index().idxmax()),
                cost_median=("cost", "median")).reset_index()
    order = {s: i for i, s in enumerate(SOURCES)}
    out["_o"] = out["source"].map(order)
    out = out.sort_values(["cell", "_o", "optimiser", "start", "category", "layer"], kind="stable")
    return out[NC_COLUMNS].reset_index(drop=True)


# ---- findings -------------------------------------------------------------------------------------------

#: The claims-table rows of this stage (findings; statements in :data:`verdicts.CATALOGUE`).
COLLAPSE_KEYS = ("collapse_layers", "collapse_last_hidden", "width_escape")
RANDOM_STARTS = ("he", "xavier")


def _g(x, digits=3) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "n/a" if x is None or np.isnan(x) else ("inf" if x > 0 else "-inf")
    return f"{x:.{digits}g}"


def _weighted(t: pd.DataFrame, col: str) -> float:
    n = t["n_networks"].sum()
    return float((t[col] * t["n_networks"]).sum() / n) if n else float("nan")


def _as_bool(s: pd.Series) -> pd.Series:
    return s.map(lambda v: str(v) == "True" if not isinstance(v, (bool, np.bool_)) else bool(v))


def _origin(t: pd.DataFrame) -> pd.Series:
    """'random' (He/Xavier starts), 'perturbed' (perturbed constructed networks) or '-' (constructed)."""
    return np.where(t["source"].isin(["global", "s1"]), "-",
                    np.where(t["start"].isin(RANDOM_STARTS), "random", "perturbed"))


def _pattern_text(g: pd.DataFrame, label: str) -> str:
    n = int(g["n_networks"].sum())
    modes = g.groupby("collapse_layers_mode")["n_networks"].sum().sort_values(ascending=False, kind="stable")
    return (f"{label} ({n} end points): one class per layer {_g(_weighted(g, 'frac_staircase'))}, all at the last "
            f"hidden layer {_g(_weighted(g, 'frac_all_last_hidden'))}, some class not collapsed in any hidden layer "
            f"{_g(_weighted(g, 'frac_not_collapsed_hidden'))} (most frequent collapse layers per class, 0 = not "
            "collapsed even at the output, L+1 = output: "
            + ", ".join(f"{k} ×{int(v)}" for k, v in modes.head(3).items()) + ")")


def collapse_claims(nc_table: pd.DataFrame, width: pd.DataFrame) -> list[dict]:
    """The findings rows of this stage (:data:`COLLAPSE_KEYS`) from the two tables; ``n_counter``
    counts the cases answering the question in the negative (not one class per layer; not
    escapable).  With no case a row says so."""
    found = {}

    def add(key, n_counter, evidence, n):
        found[key] = make_row(key, n, n_counter if n else 0, evidence) if n else empty_row(key)

    t = nc_table
    if t is not None and len(t):
        t = t.assign(origin=_origin(t))
        first = t[t["layer"] == 1]            # one row per group: the pattern fractions
        glob = first[first["source"] == "global"]
        tz = first[first["source"] == "trained_zero"]
        rnd = tz[tz["origin"] == "random"]
        parts = [f"construction (L = Q): one class per layer in "
                 f"{int(round((glob['frac_staircase'] * glob['n_networks']).sum()))}/{int(glob['n_networks'].sum())} "
                 "cells where A1-A3 hold"]
        for (origin, opt), g in tz.groupby(["origin", "optimiser"], sort=True):
            parts.append(_pattern_text(g, f"trained zero-cost, {origin} starts, {opt}"))
        n_rnd = int(rnd["n_networks"].sum())
        frac = _weighted(rnd, "frac_staircase") if n_rnd else float("nan")
        n_stair = int(round((rnd["frac_staircase"] * rnd["n_networks"]).sum())) if n_rnd else 0
        add("collapse_layers", n_rnd - n_stair, "; ".join(parts) + f" (random starts: one class per layer {_g(frac)})",
            n_rnd)
        last = t[(t["layer_kind"] == "hidden") & (t["layer"] == t["L"])]
        txt = []
        for (src, origin), s in last.groupby(["source", "origin"], sort=False):
            label = src if origin == "-" else f"{src} ({origin} starts)"
            txt.append(f"{label} ({int(s['n_networks'].sum())} networks in {len(s)} groups): median NC1 "
                       f"{_g(s['nc1'].median())}, NC1 trace form {_g(s['nc1_trace'].median())}, NC2 vs Y "
                       f"{_g(s['nc2'].median())}, NC2 vs ETF {_g(s['nc2_etf'].median())}, NC3 "
                       f"{_g(s['nc3'].median())}, NC4 {_g(s['nc4'].median())}, classes collapsed "
                       f"{_g(_weighted(s, 'frac_classes_collapsed'))}")
        tz_last = last[(last["source"] == "trained_zero") & (last["origin"] == "random")]
        med = float(tz_last["nc1"].median()) if len(tz_last) else float("nan")
        add("collapse_last_hidden", 0, f"median NC1 of trained zero-cost minima from random starts {_g(med)}; "
            "medians over groups (cell, optimiser, start, category) at layer L: " + "; ".join(txt),
            int(tz_last["n_networks"].sum()))
    w = width
    if w is not None and len(w):
        w = w.copy()
        w["escapable"] = _as_bool(w["escapable"])
        per_min = w.groupby(["cell", "minimum"]).agg(level_type=("level_type", "first"), any_=("escapable", "any"),
                                                     mult=("multiplicity", "first"),
                                                     after=("cost_after", "min"), before=("cost_before", "first"))
        parts = []
        for lt, g in per_min.groupby("level_type", sort=True):
            we = int(g.loc[g["any_"], "mult"].sum())
            ratio = _g((g["after"] / g["before"]).median())
            parts.append(f"{lt}: {_frac(g['any_'])} distinct minima ({we}/{int(g['mult'].sum())} end points) "
                         f"escapable; median lowest cost reached / cost before {ratio}, "
                         f"reaching C <= {ZERO_END:g} in {_frac(g['after'] <= ZERO_END)}")
        emb = []
        for e, g in w.groupby("embedding", sort=True):
            by = g.groupby("level_type")["escapable"].agg(["sum", "size"])
            meth = g[g["escapable"]]["method"].value_counts().sort_index()
            esc = g[g["escapable"]]
            emb.append(f"{e}: " + ", ".join(f"{lt} {int(r['sum'])}/{int(r['size'])}" for lt, r in by.iterrows())
                       + (" (found by " + ", ".join(f"{k} {int(v)}" for k, v in meth.items())
                          + f"; median relative drop {_g(esc['rel_drop'].median())})" if len(meth) else ""))
        add("width_escape", int((~per_min["any_"]).sum()),
            f"escapable under some embedding: {_frac(per_min['any_'])} distinct minima; per level type: "
            + "; ".join(parts) + "; per embedding: " + "; ".join(emb), len(per_min))
    return [found.get(k) or empty_row(k) for k in COLLAPSE_KEYS]


def write_collapse_tables(frames: dict[str, pd.DataFrame], out_dir) -> list[Path]:
    """neural_collapse.csv, width_plus_one.csv and collapse_claims.csv; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    nc = neural_collapse_table(frames.get("nc"))
    w = frames.get("width")
    w = pd.DataFrame(columns=WIDTH_COLUMNS) if w is None else w
    claims = pd.DataFrame(collapse_claims(nc, w), columns=CLAIMS_COLUMNS)
    return [write_csv(nc, out / "neural_collapse.csv"), write_csv(w, out / "width_plus_one.csv"),
            write_csv(claims, out / "collapse_claims.csv")]


def read_collapse_tables(tables_dir) -> dict[str, pd.DataFrame]:
    out = {}
    for name in ("neural_collapse", "width_plus_one"):
        try:
            out[name] = pd.read_csv(Path(tables_dir) / f"{name}.csv", dtype={"collapse_layers_mode": str,
                                                                            "structure": str})
        except pd.errors.EmptyDataError:
            out[name] = pd.DataFrame()
    return out


# ---- figures ---------------------------------------------------------------------------------------------

_STYLE = {"global": ("k", "o", "constructed"), "s1": ("tab:gray", "s", "s = 1"),
          "trained_zero": ("tab:blue", "^", "trained C≈0"), "trained_minimum": ("tab:red", "v", "trained C>0 min")}
_Q_LINES = ("-", "--", ":", "-.")


def _plt():
    from .figures import plt

    return plt


def _no_data(ax, text="no data in this study"):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def fig_neural_collapse(t: pd.DataFrame):
    """2×3 grid against the layer counted from the output (ℓ − (L+1): 0 = output, −1 = last hidden
    layer): (a) NC1, (b) NC2 against Y's Gram matrix, (c) NC4, (d) fraction of classes collapsed
    (medians over the groups of a source; colour: source, line style: Q), (e) NC3 at the last hidden
    layer by source, (f) collapse-layer patterns by source."""
    plt = _plt()
    fig, axes = plt.subplots(2, 3, figsize=(12, 7))
    axes = axes.ravel()
    if t is None or not len(t):
        for ax in axes:
            _no_data(ax)
        return fig
    t = t.copy()
    t["pos"] = t["layer"] - (t["L"] + 1)
    floor = 1e-17
    qs = sorted(t["Q"].unique())
    for src in SOURCES:
        for qi, q in enumerate(qs):
            s = t[(t["source"] == src) & (t["Q"] == q)]
            if not len(s):
                continue
            col, mk, lab = _STYLE[src]
            med = s.groupby("pos")[["nc1", "nc2", "nc4", "frac_classes_collapsed"]].median()
            n = int(s[s["layer"] == 1]["n_networks"].sum())
            for ax, c in zip(axes[:4], ("nc1", "nc2", "nc4", "frac_classes_collapsed")):
                y = med[c].replace([np.inf], np.nan)
                if c in ("nc1", "nc2"):
                    y = np.maximum(y, floor)
                ax.plot(med.index, y, color=col, marker=mk, ms=4, lw=1.2, ls=_Q_LINES[qi % len(_Q_LINES)],
                        label=f"{lab}, Q={q} ({n})")
    titles = ("(a) NC1 = Tr(Σ_W Σ_B⁺)/Q", "(b) NC2: class-mean Gram vs Y's Gram", "(c) NC4: decision ≠ nearest mean",
              "(d) classes collapsed (spread ≤ 1e-6)")
    for ax, title in zip(axes[:4], titles):
        ax.set(xlabel="layer ℓ − (L+1) (0 = output)", title=title)
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0].set(yscale="log", ylabel="median NC1 (floored at 1e-17)")
    axes[1].set(yscale="log", ylabel="median NC2 (floored; 0 for Q = 2)")
    axes[2].set(ylabel="median fraction of points", ylim=(-0.03, 1.03))
    axes[3].set(ylabel="fraction of classes", ylim=(-0.03, 1.03))
    axes[3].legend(fontsize=6, frameon=False, ncol=2)
    last = t[(t["layer_kind"] == "hidden") & (t["layer"] == t["L"])]
    data, labels = [], []
    for src in SOURCES:
        v = last[last["source"] == src]["nc3"].dropna().to_numpy()
        if v.size:
            data.append(v)
            labels.append(_STYLE[src][2])
    if data:
        axes[4].boxplot(data, showfliers=True)
        axes[4].set_xticks(range(1, len(labels) + 1), labels, fontsize=7)
        axes[4].set(ylabel="NC3 at layer L", title="(e) NC3: output weights vs Ỹ Mᵀ")
    else:
        _no_data(axes[4])
    first = t[t["layer"] == 1]
    cats = ("frac_staircase", "frac_all_last_hidden", "frac_not_collapsed_hidden")
    names = ("one class per layer", "all at layer L", "a class never in hidden")
    srcs = [s for s in SOURCES if (first["source"] == s).any()]
    x = np.arange(len(srcs))
    for i, (c, nm) in enumerate(zip(cats, names)):
        vals = [_weighted(first[first["source"] == s], c) for s in srcs]
        axes[5].bar(x + (i - 1) * 0.27, vals, width=0.27, label=nm)
    axes[5].set_xticks(x, [_STYLE[s][2] for s in srcs], fontsize=7)
    axes[5].set(ylabel="fraction of networks", ylim=(0, 1.3), title="(f) where classes collapse")
    axes[5].legend(fontsize=7, frameon=False, loc="upper center", ncol=2)
    fig.tight_layout()
    return fig


def fig_width_plus_one(w: pd.DataFrame):
    """(a) fraction of distinct certified minima escapable at width Q+1, per level type and
    embedding; (b) cost reached against cost before (log-log); (c) which test found the descent."""
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    if w is None or not len(w):
        for ax in axes:
            _no_data(ax)
        return fig
    w = w.copy()
    w["escapable"] = _as_bool(w["escapable"])
    types = sorted(w["level_type"].unique())
    embs = sorted(w["embedding"].unique())
    x = np.arange(len(types))
    width = 0.8 / max(len(embs), 1)
    for i, e in enumerate(embs):
        vals = [w[(w["level_type"] == lt) & (w["embedding"] == e)]["escapable"].mean() for lt in types]
        ns = [int(((w["level_type"] == lt) & (w["embedding"] == e)).sum()) for lt in types]
        bars = axes[0].bar(x + (i - (len(embs) - 1) / 2) * width, np.nan_to_num(vals), width=width, label=e)
        for b, n in zip(bars, ns):
            axes[0].text(b.get_x() + b.get_width() / 2, b.get_height() + 0.02, str(n), ha="center", fontsize=6)
    axes[0].set_xticks(x, types)
    axes[0].set(ylabel="fraction escapable", ylim=(0, 1.35), title="(a) escapable at width Q+1 (n above bars)")
    axes[0].legend(fontsize=7, frameon=False, title="embedding", title_fontsize=7, loc="upper center", ncol=3)
    colors = dict(zip(types, plt.get_cmap("tab10").colors))
    markers = dict(zip(embs, "os^Dv"))
    floor = 1e-17
    for (lt, e), g in w.groupby(["level_type", "embedding"]):
        axes[1].scatter(g["cost_before"], np.maximum(g["cost_after"], floor), s=14, color=colors[lt], marker=markers[e],
                        alpha=0.7, label=f"{lt}, {e}")
    lo = max(float(w["cost_before"].min()), 1e-6)
    hi = float(w["cost_before"].max())
    axes[1].plot([lo, hi], [lo, hi], color="0.5", lw=0.8, ls="--")
    axes[1].set(xscale="log", yscale="log", xlabel="C at the width-Q minimum",
                ylabel="C reached at width Q+1 (floor 1e-17)", title="(b) cost before and after")
    axes[1].legend(fontsize=6, frameon=False)
    meth = w[w["escapable"]].groupby(["embedding", "method"]).size().unstack(fill_value=0)
    if len(meth):
        bottom = np.zeros(len(meth))
        for m in meth.columns:
            axes[2].bar(np.arange(len(meth)), meth[m].to_numpy(), bottom=bottom, label=m)
            bottom += meth[m].to_numpy()
        axes[2].set_xticks(np.arange(len(meth)), meth.index)
        axes[2].legend(fontsize=7, frameon=False, title="found by", title_fontsize=7)
    axes[2].set(ylabel="escapable minima", title="(c) which test found the descent")
    fig.tight_layout()
    return fig
