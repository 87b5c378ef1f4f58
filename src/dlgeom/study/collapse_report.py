"""Tables, findings rows and figures of neural collapse layer by layer and of one extra neuron.

* :func:`load_collapse` — the JSON files of ``collapse-constructed`` / ``collapse-landscape`` →
  per-network NC rows and escape-test rows.
* :func:`write_collapse_tables` — ``neural_collapse.csv`` (one row per (cell, source, optimiser,
  start, category, layer): medians over the networks of the group), ``width_plus_one.csv`` (one
  row per distinct certified non-zero minimum, representative and embedding) and
  ``collapse_claims.csv`` (findings rows for the claims table; every verdict is computed from
  the two tables).
* :func:`separation_table` — ``separation.csv``: He & Su's fit of the separation fuzziness
  against depth (:func:`dlgeom.neural_collapse.separation_rate`), per network, summarised per
  (cell, source, optimiser, start, category).
* :func:`fig_neural_collapse`, :func:`fig_width_plus_one`, :func:`fig_separation` — matplotlib Figures.

Sources: ``global`` (the constructed minimiser), ``s1`` (the s = 1 network), ``trained_zero``
(landscape end points with C ≤ 1e-6, any optimiser), ``trained_minimum`` (certified non-zero
L-BFGS minima).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..landscape import INIT_SCHEMES
from ..thresholds import OPTIMISER_ZERO
from .evidence import item, items
from .tables import as_bool as _as_bool
from .tables import frac as _frac
from .tables import write_csv
from .verdicts import COLUMNS, empty_row, make_row

__all__ = [
    "NC_COLUMNS",
    "WIDTH_COLUMNS",
    "SEPARATION_COLUMNS",
    "SOURCES",
    "load_collapse",
    "neural_collapse_table",
    "separation_per_network",
    "separation_table",
    "collapse_claims",
    "write_collapse_tables",
    "read_collapse_tables",
    "fig_neural_collapse",
    "fig_width_plus_one",
    "fig_separation",
]

SOURCES = ("global", "s1", "trained_zero", "trained_minimum")
#: the per-network NC quantities (dlgeom.neural_collapse) whose medians the table holds, same names
NC_METRICS = (
    "nc1_papyan",
    "nc2_vs_targets",
    "nc3_vs_targets",
    "nc4_ncc_mismatch",
    "nc1_trace_ratio",
    "nc2_vs_etf",
    "nc3_papyan",
    "cdnv",
    "separation_fuzziness",
)
NC_COLUMNS = [
    "cell",
    "source",
    "optimiser",
    "start",
    "layer",
    "nc1_papyan",
    "nc2_vs_targets",
    "nc3_vs_targets",
    "nc4_ncc_mismatch",
    "layer_kind",
    "category",
    "Q",
    "L",
    "n_networks",
    "nc1_trace_ratio",
    "nc2_vs_etf",
    "nc3_papyan",
    "cdnv",
    "separation_fuzziness",
    "spread_max",
    "frac_classes_collapsed",
    "frac_staircase",
    "frac_all_last_hidden",
    "frac_not_collapsed_hidden",
    "collapse_layers_mode",
    "cost_median",
]
WIDTH_COLUMNS = [
    "cell",
    "Q",
    "L",
    "minimum",
    "representative",
    "level_type",
    "nearest_level",
    "structure",
    "kind",
    "multiplicity",
    "embedding",
    "escapable",
    "cost_before",
    "cost_embedded",
    "cost_after",
    "rel_drop",
    "method",
    "status",
    "grad_norm",
    "min_hess_eig",
    "probe_min_rel_change",
    "n_iter",
    "start",
    "optimiser",
    "run",
    "choice",
    "seed",
]
SEPARATION_COLUMNS = [
    "cell",
    "source",
    "optimiser",
    "start",
    "category",
    "Q",
    "L",
    "n_networks",
    "n_fitted",
    "rho_median",
    "rho_q25",
    "rho_q75",
    "pearson_r_median",
    "n_geometric_fit",
    "n_two_layer_fits",
    "n_layers_fitted_median",
    "n_layers_all_collapsed_median",
    "fuzziness_input_median",
    "fuzziness_last_hidden_median",
    "status",
]
#: a network's fit counts as geometric decay when it uses ≥ 3 layers and its Pearson r is at most this
GEOMETRIC_R = -0.9
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
    for flag, paths, kind in (
        ("constructed", constructed, "collapse_constructed"),
        ("landscape", landscape, "collapse_landscape"),
    ):
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
    """Per-network NC rows → one row per (cell, source, optimiser, start, category, layer; layer 0
    is the input) with medians over the networks of the group, the fraction of (network, class) pairs collapsed at
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
    out = g.agg(
        layer_kind=("layer_kind", "first"),
        Q=("Q", "first"),
        L=("L", "first"),
        n_networks=("nc1_papyan", "size"),
        **{c: (c, "median") for c in NC_METRICS},
        spread_max=("spread_max", "median"),
        frac_classes_collapsed=("frac_c", "mean"),
        frac_staircase=("stair", "mean"),
        frac_all_last_hidden=("last", "mean"),
        frac_not_collapsed_hidden=("never", "mean"),
        collapse_layers_mode=("collapse_layers", lambda s: s.value_counts().sort_index().idxmax()),
        cost_median=("cost", "median"),
    ).reset_index()
    order = {s: i for i, s in enumerate(SOURCES)}
    out["_o"] = out["source"].map(order)
    out = out.sort_values(["cell", "_o", "optimiser", "start", "category", "layer"], kind="stable")
    return out[NC_COLUMNS].reset_index(drop=True)


def separation_per_network(nc: pd.DataFrame) -> pd.DataFrame:
    """He & Su's fit (:func:`dlgeom.neural_collapse.separation_rate`) of every network of the
    per-network NC rows, over its layers 0..L (input and hidden layers; the output is not a layer
    of the law).  A layer where every class is collapsed (``n_collapsed`` = Q) has D = 0 up to
    rounding and is left out of the fit and counted in ``n_layers_all_collapsed``."""
    from ..neural_collapse import separation_rate

    cols = [
        "cell",
        "source",
        "optimiser",
        "start",
        "category",
        "run",
        "Q",
        "L",
        "rho",
        "pearson_r",
        "n_layers_fitted",
        "n_layers_all_collapsed",
        "fuzziness_input",
        "fuzziness_last_hidden",
        "status",
    ]
    if nc is None or not len(nc) or "separation_fuzziness" not in nc.columns:
        return pd.DataFrame(columns=cols)
    df = nc[nc["layer"] <= nc["L"]].copy()
    for c in ("optimiser", "start", "category"):
        df[c] = df[c].fillna("").replace("", "-")
    rows = []
    for key, g in df.groupby(["cell", "source", "optimiser", "start", "category", "run"], sort=True):
        g = g.sort_values("layer")
        if list(g["layer"]) != list(range(int(g["L"].iloc[0]) + 1)):
            continue  # rows without the input layer: nothing to fit
        D = g["separation_fuzziness"].to_numpy(float)
        zero = (g["n_collapsed"] == g["Q"]).to_numpy()
        fit = separation_rate(D, zero)
        rows.append(
            dict(
                zip(cols[:6], key),
                Q=int(g["Q"].iloc[0]),
                L=int(g["L"].iloc[0]),
                **fit,
                n_layers_all_collapsed=int(zero.sum()),
                fuzziness_input=float(D[0]),
                fuzziness_last_hidden=float(D[-1]),
            )
        )
    return pd.DataFrame(rows, columns=cols)


def separation_table(nc: pd.DataFrame) -> pd.DataFrame:
    """One row per (cell, source, optimiser, start, category): medians and quartiles of ρ over the
    networks with a fit, the median Pearson r, the networks whose fit is a geometric decay
    (≥ 3 layers, r ≤ :data:`GEOMETRIC_R`), those fitted through exactly two layers (|r| = 1 by
    construction), and status 'ok' or 'too_few_layers' (no network of the
    group has two positive layers)."""
    per = separation_per_network(nc)
    if not len(per):
        return pd.DataFrame(columns=SEPARATION_COLUMNS)
    per["fitted"] = per["status"] != "too_few_layers"
    per["geometric"] = (per["status"] == "ok") & (per["pearson_r"] <= GEOMETRIC_R)
    rows = []
    for key, g in per.groupby(["cell", "source", "optimiser", "start", "category"], sort=True):
        f = g[g["fitted"]]
        rho, r = f["rho"].to_numpy(float), f["pearson_r"].dropna().to_numpy(float)
        rows.append(
            dict(
                zip(SEPARATION_COLUMNS[:5], key),
                Q=int(g["Q"].iloc[0]),
                L=int(g["L"].iloc[0]),
                n_networks=len(g),
                n_fitted=len(f),
                rho_median=float(np.median(rho)) if rho.size else np.nan,
                rho_q25=float(np.quantile(rho, 0.25)) if rho.size else np.nan,
                rho_q75=float(np.quantile(rho, 0.75)) if rho.size else np.nan,
                pearson_r_median=float(np.median(r)) if r.size else np.nan,
                n_geometric_fit=int(g["geometric"].sum()),
                n_two_layer_fits=int((g["status"] == "two_layers").sum()),
                n_layers_fitted_median=float(g["n_layers_fitted"].median()),
                n_layers_all_collapsed_median=float(g["n_layers_all_collapsed"].median()),
                fuzziness_input_median=float(g["fuzziness_input"].median()),
                fuzziness_last_hidden_median=float(g["fuzziness_last_hidden"].median()),
                status="ok" if len(f) else "too_few_layers",
            )
        )
    out = pd.DataFrame(rows, columns=SEPARATION_COLUMNS)
    order = {s: i for i, s in enumerate(SOURCES)}
    out["_o"] = out["source"].map(order)
    return (
        out.sort_values(["cell", "_o", "optimiser", "start", "category"], kind="stable")
        .drop(columns="_o")
        .reset_index(drop=True)
    )


# ---- findings -------------------------------------------------------------------------------------------

#: The claims-table rows of this stage (findings; statements in :data:`verdicts.CATALOGUE`).
COLLAPSE_KEYS = ("collapse_layers", "collapse_last_hidden", "collapse_cdnv", "separation_law", "width_escape")


def _weighted(t: pd.DataFrame, col: str) -> float:
    n = t["n_networks"].sum()
    return float((t[col] * t["n_networks"]).sum() / n) if n else float("nan")


def _origin(t: pd.DataFrame) -> pd.Series:
    """'random' (He/Xavier starts), 'perturbed' (perturbed constructed networks) or '-' (constructed)."""
    return np.where(
        t["source"].isin(["global", "s1"]), "-", np.where(t["start"].isin(INIT_SCHEMES), "random", "perturbed")
    )


def _label(src, origin, optimiser=None) -> str:
    """A group's name: its source, with the kind of start (and the optimiser) of trained networks."""
    if origin == "-":
        return item("source", {"source": src})
    if optimiser is None:
        return item("source_starts", {"source": src, "origin": origin})
    return item("source_starts_optimiser", {"source": src, "origin": origin, "optimiser": optimiser})


def _pattern_item(g: pd.DataFrame, origin, optimiser) -> dict:
    modes = g.groupby("collapse_layers_mode")["n_networks"].sum().sort_values(ascending=False, kind="stable")
    return {
        "origin": origin,
        "optimiser": optimiser,
        "n": int(g["n_networks"].sum()),
        "staircase": _weighted(g, "frac_staircase"),
        "all_last": _weighted(g, "frac_all_last_hidden"),
        "not_collapsed": _weighted(g, "frac_not_collapsed_hidden"),
        "modes": items("mode_count", ({"mode": k, "count": int(v)} for k, v in modes.head(3).items())),
    }


def _collapse_layers_row(t: pd.DataFrame) -> dict:
    first = t[t["layer"] == 1]  # one row per group: the pattern fractions
    glob = first[first["source"] == "global"]
    tz = first[first["source"] == "trained_zero"]
    rnd = tz[tz["origin"] == "random"]
    n_rnd = int(rnd["n_networks"].sum())
    n_stair = int(round((rnd["frac_staircase"] * rnd["n_networks"]).sum())) if n_rnd else 0
    numbers = {
        "staircase_constructed": int(round((glob["frac_staircase"] * glob["n_networks"]).sum())),
        "n_constructed": int(glob["n_networks"].sum()),
        "random_staircase": _weighted(rnd, "frac_staircase") if n_rnd else float("nan"),
    }
    groups = list(tz.groupby(["origin", "optimiser"], sort=True))
    if groups:
        numbers["trained"] = items("trained_pattern", (_pattern_item(g, o, opt) for (o, opt), g in groups), "; ")
    return make_row("collapse_layers", n_rnd, n_rnd - n_stair if n_rnd else 0, numbers)


def _collapse_last_hidden_row(t: pd.DataFrame) -> dict:
    last = t[(t["layer_kind"] == "hidden") & (t["layer"] == t["L"])]
    medians = ("nc1_papyan", "nc1_trace_ratio", "cdnv", "nc2_vs_targets", "nc2_vs_etf", "nc3_vs_targets")
    groups = (
        {
            "label": _label(src, origin),
            "n_networks": int(s["n_networks"].sum()),
            "n_groups": len(s),
            **{c: s[c].median() for c in medians + ("nc3_papyan", "nc4_ncc_mismatch")},
            "classes_collapsed": _weighted(s, "frac_classes_collapsed"),
        }
        for (src, origin), s in last.groupby(["source", "origin"], sort=False)
    )
    tz_last = last[(last["source"] == "trained_zero") & (last["origin"] == "random")]
    numbers = {
        "median_nc1": float(tz_last["nc1_papyan"].median()) if len(tz_last) else float("nan"),
        "per_group": items("last_hidden_group", groups, "; "),
    }
    n = int(tz_last["n_networks"].sum())
    return make_row("collapse_last_hidden", n, 0, numbers) if n else empty_row("collapse_last_hidden")


def _collapse_cdnv_row(t: pd.DataFrame) -> dict:
    """CDNV and Papyan's NC1 from the input to the last hidden layer per (source, origin); n_counter:
    the networks in groups whose median CDNV at layer L is not below the input's."""
    keys = ["cell", "source", "optimiser", "start", "category"]
    last = t[(t["layer_kind"] == "hidden") & (t["layer"] == t["L"])]
    both = t[t["layer"] == 0].merge(last, on=keys, how="inner", suffixes=("_in", "_L"))
    if not len(both):
        return empty_row("collapse_cdnv")
    both["not_lower"] = ~(both["cdnv_L"] < both["cdnv_in"])
    groups = (
        {
            "label": _label(src, origin),
            "n_networks": int(s["n_networks_in"].sum()),
            "cdnv_in": s["cdnv_in"].median(),
            "cdnv_L": s["cdnv_L"].median(),
            "nc1_in": s["nc1_papyan_in"].median(),
            "nc1_L": s["nc1_papyan_L"].median(),
            "nc2_etf_L": s["nc2_vs_etf_L"].median(),
            "nc3_L": s["nc3_papyan_L"].median(),
            "nc4_L": s["nc4_ncc_mismatch_L"].median(),
        }
        for (src, origin), s in both.groupby(["source", "origin_in"], sort=False)
    )
    numbers = {"per_group": items("cdnv_group", groups, "; ")}
    n = int(both["n_networks_in"].sum())
    return make_row("collapse_cdnv", n, int(both.loc[both["not_lower"], "n_networks_in"].sum()), numbers)


def _separation_row(sep: pd.DataFrame) -> dict:
    """He & Su's fit per (source, origin, optimiser); n_counter: the networks with a fit that is
    not a geometric decay."""
    s = sep.assign(origin=_origin(sep))
    groups = []
    for (src, origin, opt), g in s.groupby(["source", "origin", "optimiser"], sort=False):
        nf = int(g["n_fitted"].sum())
        groups.append(
            {
                "label": _label(src, origin, opt),
                "n_fitted": nf,
                "n_networks": int(g["n_networks"].sum()),
                "n_two": int(g["n_two_layer_fits"].sum()),
                "rho": float((g["rho_median"] * g["n_fitted"]).sum() / nf) if nf else float("nan"),
                "r": float((g["pearson_r_median"] * g["n_fitted"]).sum() / nf) if nf else float("nan"),
                "geometric_r": GEOMETRIC_R,
                "n_geometric": int(g["n_geometric_fit"].sum()),
                "collapsed_layers": float(g["n_layers_all_collapsed_median"].median()),
            }
        )
    numbers = {"per_group": items("separation_group", groups, "; ")}
    n = int(s["n_fitted"].sum())
    n_not = n - int(s["n_geometric_fit"].sum())
    return make_row("separation_law", n, n_not, numbers) if n else empty_row("separation_law")


def _embedding_item(e, g: pd.DataFrame) -> str:
    by = g.groupby("level_type")["escapable"].agg(["sum", "size"])
    esc = g[g["escapable"]]
    meth = esc["method"].value_counts().sort_index()
    numbers = {
        "embedding": e,
        "by_level": items(
            "group_value", ({"group": lt, "value": f"{int(r['sum'])}/{int(r['size'])}"} for lt, r in by.iterrows())
        ),
    }
    if not len(meth):
        return item("embedding", numbers)
    methods = items("group_value", ({"group": k, "value": int(v)} for k, v in meth.items()))
    return item("embedding_found", {**numbers, "methods": methods, "drop": esc["rel_drop"].median()})


def _width_escape_row(w: pd.DataFrame) -> dict:
    w = w.copy()
    w["escapable"] = _as_bool(w["escapable"])
    per_min = w.groupby(["cell", "minimum"]).agg(
        level_type=("level_type", "first"),
        any_=("escapable", "any"),
        mult=("multiplicity", "first"),
        after=("cost_after", "min"),
        before=("cost_before", "first"),
    )
    levels = (
        {
            "level": lt,
            "escapable": _frac(g["any_"]),
            "escapable_points": int(g.loc[g["any_"], "mult"].sum()),
            "points": int(g["mult"].sum()),
            "ratio": (g["after"] / g["before"]).median(),
            "zero_end": ZERO_END,
            "reach_zero": _frac(g["after"] <= ZERO_END),
        }
        for lt, g in per_min.groupby("level_type", sort=True)
    )
    numbers = {
        "escapable": _frac(per_min["any_"]),
        "per_level": items("escape_level", levels, "; "),
        "per_embedding": "; ".join(_embedding_item(e, g) for e, g in w.groupby("embedding", sort=True)),
    }
    n = len(per_min)
    return make_row("width_escape", n, int((~per_min["any_"]).sum()), numbers) if n else empty_row("width_escape")


def collapse_claims(nc_table: pd.DataFrame, width: pd.DataFrame, separation: pd.DataFrame | None = None) -> list[dict]:
    """The findings rows of this stage (:data:`COLLAPSE_KEYS`) from the tables; ``n_counter``
    counts the cases answering the question in the negative (not one class per layer; CDNV not
    lower at layer L than at the input; not a geometric decay of the fuzziness; not escapable).
    With no case a row says so."""
    rows = []
    if nc_table is not None and len(nc_table):
        t = nc_table.assign(origin=_origin(nc_table))
        rows += [_collapse_layers_row(t), _collapse_last_hidden_row(t), _collapse_cdnv_row(t)]
    if separation is not None and len(separation):
        rows.append(_separation_row(separation))
    if width is not None and len(width):
        rows.append(_width_escape_row(width))
    found = {r["id"]: r for r in rows}
    return [found.get(k) or empty_row(k) for k in COLLAPSE_KEYS]


def write_collapse_tables(frames: dict[str, pd.DataFrame], out_dir) -> list[Path]:
    """neural_collapse.csv, width_plus_one.csv, separation.csv and collapse_claims.csv; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    nc = neural_collapse_table(frames.get("nc"))
    w = frames.get("width")
    w = pd.DataFrame(columns=WIDTH_COLUMNS) if w is None else w
    sep = separation_table(frames.get("nc"))
    claims = pd.DataFrame(collapse_claims(nc, w, sep), columns=CLAIMS_COLUMNS)
    return [
        write_csv(nc, out / "neural_collapse.csv"),
        write_csv(w, out / "width_plus_one.csv"),
        write_csv(sep, out / "separation.csv"),
        write_csv(claims, out / "collapse_claims.csv"),
    ]


def read_collapse_tables(tables_dir) -> dict[str, pd.DataFrame]:
    out = {}
    for name in ("neural_collapse", "width_plus_one", "separation"):
        try:
            out[name] = pd.read_csv(
                Path(tables_dir) / f"{name}.csv", dtype={"collapse_layers_mode": str, "structure": str}
            )
        except pd.errors.EmptyDataError:
            out[name] = pd.DataFrame()
    return out


# ---- figures ---------------------------------------------------------------------------------------------

_STYLE = {
    "global": ("k", "o", "constructed"),
    "s1": ("tab:gray", "s", "s = 1"),
    "trained_zero": ("tab:blue", "^", "trained C≈0"),
    "trained_minimum": ("tab:red", "v", "trained C>0 min"),
}
_Q_LINES = ("-", "--", ":", "-.")


def fig_neural_collapse(t: pd.DataFrame):
    """2×3 grid against the layer counted from the output (ℓ − (L+1): 0 = output, −1 = last hidden
    layer, −(L+1) = input): (a) Papyan's NC1, (b) CDNV, (c) NC4 mismatch, (d) fraction of classes collapsed
    (medians over the groups of a source; colour: source, line style: Q), (e) NC3 at the last hidden
    layer by source, (f) collapse-layer patterns by source."""
    from .figures import no_data, plt

    fig, axes = plt.subplots(2, 3, figsize=(12, 7))
    axes = axes.ravel()
    if t is None or not len(t):
        for ax in axes:
            no_data(ax)
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
            cols = ["nc1_papyan", "cdnv", "nc4_ncc_mismatch", "frac_classes_collapsed"]
            med = s.groupby("pos")[cols].median()
            n = int(s[s["layer"] == 1]["n_networks"].sum())
            for ax, c in zip(axes[:4], cols):
                y = med[c].replace([np.inf], np.nan)
                if c in ("nc1_papyan", "cdnv"):
                    y = np.maximum(y, floor)
                ax.plot(
                    med.index,
                    y,
                    color=col,
                    marker=mk,
                    ms=4,
                    lw=1.2,
                    ls=_Q_LINES[qi % len(_Q_LINES)],
                    label=f"{lab}, Q={q} ({n})",
                )
    titles = (
        "(a) Papyan NC1 = Tr(Σ_W Σ_B⁺)/Q",
        "(b) CDNV (Galanti et al.)",
        "(c) NC4: decision ≠ nearest mean",
        "(d) classes collapsed (spread ≤ 1e-6)",
    )
    for ax, title in zip(axes[:4], titles):
        ax.set(xlabel="layer ℓ − (L+1) (0 = output, −(L+1) = input)", title=title)
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0].set(yscale="log", ylabel="median NC1 (floored at 1e-17)")
    axes[1].set(yscale="log", ylabel="median CDNV (floored at 1e-17)")
    axes[2].set(ylabel="median fraction of points", ylim=(-0.03, 1.03))
    axes[3].set(ylabel="fraction of classes", ylim=(-0.03, 1.03))
    axes[3].legend(fontsize=6, frameon=False, ncol=2)
    last = t[(t["layer_kind"] == "hidden") & (t["layer"] == t["L"])]
    data, labels = [], []
    for src in SOURCES:
        v = last[last["source"] == src]["nc3_vs_targets"].dropna().to_numpy()
        if v.size:
            data.append(v)
            labels.append(_STYLE[src][2])
    if data:
        axes[4].boxplot(data, showfliers=True)
        axes[4].set_xticks(range(1, len(labels) + 1), labels, fontsize=7)
        axes[4].set(ylabel="NC3 at layer L", title="(e) NC3: output weights vs Ỹ Mᵀ")
    else:
        no_data(axes[4])
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
    from .figures import no_data, plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    if w is None or not len(w):
        for ax in axes:
            no_data(ax)
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
        axes[1].scatter(
            g["cost_before"],
            np.maximum(g["cost_after"], floor),
            s=14,
            color=colors[lt],
            marker=markers[e],
            alpha=0.7,
            label=f"{lt}, {e}",
        )
    lo = max(float(w["cost_before"].min()), 1e-6)
    hi = float(w["cost_before"].max())
    axes[1].plot([lo, hi], [lo, hi], color="0.5", lw=0.8, ls="--")
    axes[1].set(
        xscale="log",
        yscale="log",
        xlabel="C at the width-Q minimum",
        ylabel="C reached at width Q+1 (floor 1e-17)",
        title="(b) cost before and after",
    )
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


def fig_separation(nc: pd.DataFrame, sep: pd.DataFrame):
    """(a) median separation fuzziness D_ℓ / D_0 against the layer ℓ = 0..L per source and Q (from
    neural_collapse.csv; floored at 1e-17, the constructed minimiser reaches D = 0 at ℓ = L);
    (b) the fitted rate ρ per source and optimiser (group medians, bars: quartiles); (c) the
    median Pearson r of the fit."""
    from .figures import no_data, plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.9))
    if nc is None or not len(nc) or sep is None or not len(sep):
        for ax in axes:
            no_data(ax)
        return fig
    t = nc[(nc["layer"] <= nc["L"])].copy()
    floor = 1e-17
    qs = sorted(t["Q"].unique())
    for src in SOURCES:
        for qi, q in enumerate(qs):
            s = t[(t["source"] == src) & (t["Q"] == q)]
            if not len(s):
                continue
            d0 = s[s["layer"] == 0].set_index(["cell", "optimiser", "start", "category"])["separation_fuzziness"]
            rel = s.join(d0.rename("d0"), on=["cell", "optimiser", "start", "category"])
            rel = rel.assign(ratio=rel["separation_fuzziness"] / rel["d0"]).replace([np.inf], np.nan)
            med = rel.groupby("layer")["ratio"].median()
            col, mk, lab = _STYLE[src]
            axes[0].plot(
                med.index,
                np.maximum(med.to_numpy(float), floor),
                color=col,
                marker=mk,
                ms=4,
                lw=1.2,
                ls=_Q_LINES[qi % len(_Q_LINES)],
                label=f"{lab}, Q={q}",
            )
    axes[0].set(
        yscale="log",
        xlabel="layer ℓ (0 = input, L = last hidden)",
        ylabel="median D_ℓ / D_0 (floor 1e-17)",
        title="(a) separation fuzziness D_ℓ = Tr(SS_w SS_b⁺)",
    )
    axes[0].xaxis.get_major_locator().set_params(integer=True)
    axes[0].legend(fontsize=6, frameon=False, ncol=2)
    s = sep.assign(origin=_origin(sep))
    s = s[s["n_fitted"] > 0]
    labels, rho, lo, hi, r, colors = [], [], [], [], [], []
    for (src, origin, opt), g in s.groupby(["source", "origin", "optimiser"], sort=False):
        labels.append(_STYLE[src][2] if origin == "-" else f"{_STYLE[src][2]}\n{origin}, {opt}")
        w = g["n_fitted"].to_numpy(float)
        rho.append(float(np.average(g["rho_median"], weights=w)))
        lo.append(float(np.average(g["rho_q25"], weights=w)))
        hi.append(float(np.average(g["rho_q75"], weights=w)))
        rr = g["pearson_r_median"].to_numpy(float)
        ok = np.isfinite(rr)
        r.append(float(np.average(rr[ok], weights=w[ok])) if ok.any() else np.nan)
        colors.append(_STYLE[src][0])
    x = np.arange(len(labels))
    rho, lo, hi = np.array(rho), np.array(lo), np.array(hi)
    axes[1].bar(x, rho, color=colors, yerr=[np.maximum(rho - lo, 0), np.maximum(hi - rho, 0)], capsize=2)
    axes[1].axhline(1.0, color="0.5", lw=0.8, ls="--")
    axes[1].set(
        yscale="log", ylabel="fitted ρ (group medians, weighted; bars: quartiles)", title="(b) decay rate per layer ρ"
    )
    axes[2].bar(x, np.nan_to_num(r), color=colors)
    axes[2].axhline(GEOMETRIC_R, color="0.5", lw=0.8, ls="--")
    axes[2].set(
        ylim=(-1.05, 1.05),
        ylabel="median Pearson r of ℓ and log D_ℓ",
        title=f"(c) fit quality (dashed: r = {GEOMETRIC_R:g})",
    )
    for ax in axes[1:]:
        ax.set_xticks(x, labels, fontsize=5.5, rotation=60, ha="right")
    fig.tight_layout()
    return fig
