"""Aggregation of the robustness study: JSON files → tidy tables, claims rows with
computed verdicts, and two figures.

Tables (deterministic row order, floats as ``%.10g`` like the study's other tables):

* ``robustness.csv``: one row per (axis, value, replicate) point;
* ``robustness_summary.csv``: per (axis, value): fractions of replicates with the assumptions
  holding, zero cost at the default μ / at some searched μ, exact curation, mean accuracies;
* ``robustness_optimisers.csv``: gradient-training runs at a few axis values (replicate 0);
* ``realdata.csv``: one row per (dataset, projection, λ);
* ``realdata_summary.csv``: per (dataset, projection): sizes, cond(X^red), clusteredness, the
  exact λ where A2/A3 stop holding, the grid and refined λ where zero cost is lost, accuracies.

Every column of every table is described in :mod:`dlgeom.study.table_columns` (``docs/tables.md``).

Every verdict of :func:`robustness_claims` is a function of these tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..jsonutil import malformed, read_json
from ..safe_write import readable
from ..thresholds import OPTIMISER_ZERO, ZERO_COST
from .evidence import item, items
from .robustness_axes import AXES
from .table_columns import column_names
from .tables import as_bool as _bool
from .tables import fmt as _fmt
from .tables import frac as _frac
from .tables import restore_nonfinite as _restore_nonfinite
from .tables import write_csv
from .verdicts import empty_row, make_row

__all__ = [
    "A3_TOL",
    "LOG_AXES",
    "ROBUSTNESS_TABLES",
    "fig_realdata",
    "fig_robustness",
    "load_realdata",
    "load_robustness",
    "read_robustness_tables",
    "robustness_claims",
    "ROBUSTNESS_KEYS",
    "robustness_summary",
    "write_robustness_tables",
]

ROBUSTNESS_TABLES = ("robustness", "robustness_summary", "robustness_optimisers", "realdata", "realdata_summary")
#: Cases whose A3 margin π − θ_* is below this are within rounding of the boundary: they are
#: reported separately, not used for the sufficiency verdict.
A3_TOL = 1e-6
#: Axes drawn with a logarithmic x axis.
LOG_AXES = ("delta_ratio", "elongation", "imbalance", "cond_xred", "cond_shift", "n_per_class")


def _order_columns(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """The columns in the order of :mod:`dlgeom.study.table_columns`; any other column after them,
    sorted (the tables' test then names it as undocumented)."""
    first = [c for c in column_names(name) if c in df.columns]
    return df[first + sorted(c for c in df.columns if c not in first)]


def _axis_rank(axis: pd.Series) -> pd.Series:
    order = {a: i for i, a in enumerate(AXES)}
    return axis.map(lambda a: order.get(a, len(order)))


def load_robustness(paths) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(points, optimiser runs) from ``dlgeom robustness`` JSON files, sorted by axis (in the
    order of :data:`dlgeom.study.robustness_axes.AXES`), x, value, replicate."""
    rows, opt = [], []
    for p in sorted(map(str, paths)):
        d = read_json(p, "--robustness", "dlgeom robustness")
        with malformed(p, "--robustness", "dlgeom robustness"):
            if d.get("kind", "robustness") != "robustness":
                raise ValueError(f"kind {d.get('kind')!r}")
            new_rows, new_opt = list(d["rows"]), list(d.get("optimiser_rows", []))
        rows.extend(new_rows)
        opt.extend(new_opt)
    df = _restore_nonfinite(pd.DataFrame(rows))
    if len(df):
        df = (
            df.assign(_rank=_axis_rank(df["axis"]))
            .sort_values(["_rank", "x", "value", "replicate"], kind="stable")
            .drop(columns="_rank")
            .reset_index(drop=True)
        )
    # gradient training runs on replicate 0 only: its replicate column would be constant
    od = _restore_nonfinite(pd.DataFrame(opt)).drop(columns="replicate", errors="ignore")
    if len(od):
        xs = df.drop_duplicates(["axis", "value"]).set_index(["axis", "value"])["x"] if len(df) else None
        od["_x"] = [xs.get((a, v), np.nan) if xs is not None else np.nan for a, v in zip(od["axis"], od["value"])]
        od = (
            od.assign(_rank=_axis_rank(od["axis"]))
            .sort_values(["_rank", "_x", "value", "optimiser", "run"], kind="stable")
            .drop(columns=["_rank", "_x"])
            .reset_index(drop=True)
        )
    return _order_columns(df, "robustness"), _order_columns(od, "robustness_optimisers")


def _realdata_rows(d: dict, rows: list, summ: list) -> None:
    """Add the sweep rows and summaries of one realdata JSON document (the summaries restricted to
    the columns of ``realdata_summary`` in :data:`dlgeom.study.table_columns.TABLES`, in that
    order: the JSON's seeds and settings are not repeated on every row)."""
    cols = column_names("realdata_summary")
    rows.extend(d["rows"])
    summ.extend({c: s.get(c, np.nan) for c in cols} for s in d["summary"])


def load_realdata(paths) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(sweep rows, summaries) from ``dlgeom realdata`` JSON files, sorted by dataset,
    projection, λ."""
    rows, summ = [], []
    for p in sorted(map(str, paths)):
        d = read_json(p, "--realdata", "dlgeom realdata")
        with malformed(p, "--realdata", "dlgeom realdata"):
            if d.get("kind", "realdata") != "realdata":
                raise ValueError(f"kind {d.get('kind')!r}")
            _realdata_rows(d, rows, summ)
    # the sweep uses L = Q layers: the rows' L would repeat Q
    df = _restore_nonfinite(pd.DataFrame(rows)).drop(columns="L", errors="ignore")
    if len(df):
        df = df.sort_values(["dataset", "projection", "lambda"], kind="stable").reset_index(drop=True)
    sd = _restore_nonfinite(pd.DataFrame(summ))
    if len(sd):
        sd = sd.sort_values(["dataset", "projection"], kind="stable").reset_index(drop=True)
    return _order_columns(df, "realdata"), sd[column_names("realdata_summary")] if len(sd) else sd


def robustness_summary(rob: pd.DataFrame) -> pd.DataFrame:
    """Per (axis, value): replicate count and fractions / means over replicates."""
    if not len(rob):
        return pd.DataFrame()
    ok = rob.assign(ok=rob["status"] == "ok")
    g = ok.groupby(["axis", "value"], sort=False)
    out = g.agg(
        x=("x", "first"),
        Q=("Q", "first"),
        n=("replicate", "size"),
        n_ok=("ok", "sum"),
        frac_all_hold=("all_hold", "mean"),
        frac_zero_default=("reaches_zero_default", "mean"),
        frac_zero_any=("reaches_zero_any", "mean"),
        frac_exact_default=("exact_default", "mean"),
        frac_exact_best=("exact_best", "mean"),
        r_mean=("r", "mean"),
        theta_max_mean=("theta_max", "mean"),
        cond_xred_mean=("cond_xred", "mean"),
        cost_default_median=("cost_default", "median"),
        cost_best_median=("cost_best", "median"),
        acc_metric=("acc_metric", "mean"),
        acc_best=("acc_best", "mean"),
        acc_ncm=("acc_ncm", "mean"),
        acc_logreg=("acc_logreg", "mean"),
    ).reset_index()
    for c in ("frac_all_hold", "frac_zero_default", "frac_zero_any", "frac_exact_default", "frac_exact_best"):
        out[c] = out[c].astype(float)
    return out


def write_robustness_tables(robustness_paths, realdata_paths, out_dir) -> list[Path]:
    """Write the five tables of this module to ``out_dir`` (atomically); returns their paths."""
    rob, opt = load_robustness(robustness_paths)
    real, real_sum = load_realdata(realdata_paths)
    frames = {
        "robustness": rob,
        "robustness_summary": robustness_summary(rob),
        "robustness_optimisers": opt,
        "realdata": real,
        "realdata_summary": real_sum,
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(exist_ok=True)
    return [write_csv(frames[name], out_dir / f"{name}.csv") for name in ROBUSTNESS_TABLES]


def read_robustness_tables(tables_dir) -> dict[str, pd.DataFrame]:
    """The tables written by :func:`write_robustness_tables` (empty frames for empty files)."""
    out = {}
    for name in ROBUSTNESS_TABLES:
        path = readable(Path(tables_dir) / f"{name}.csv")  # staged and not yet committed: its temporary file
        try:
            out[name] = pd.read_csv(path, dtype={"value": str, "seed": str})
        except (pd.errors.EmptyDataError, FileNotFoundError):
            out[name] = pd.DataFrame()
    return out


# ---- claims ----------------------------------------------------------------------------------

#: The claims-table rows of this stage, in order.
ROBUSTNESS_KEYS = (
    "robust_sufficient",
    "robust_necessary",
    "realdata_lambda",
    "realdata_accuracy",
    "a1_output_bias",
    "robust_training",
)


def _cases(rob: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    """Synthetic and real points with status 'ok', tagged by source ('axis' or dataset)."""
    parts = []
    if rob is not None and len(rob):
        parts.append(rob.assign(source=rob["axis"]))
    if real is not None and len(real):
        parts.append(real.assign(source="real:" + real["dataset"] + "/" + real["projection"]))
    if not parts:
        return pd.DataFrame()
    df = pd.concat(parts, ignore_index=True, sort=False)
    df = df[df["status"] == "ok"].copy()
    for c in ("all_hold", "reaches_zero_default", "reaches_zero_any", "exact_default", "exact_best"):
        if c in df.columns:
            df[c] = _bool(df[c])
    return df


def _axis_extents(rob: pd.DataFrame) -> list[dict]:
    """Per axis: the furthest value (in x) at which every replicate still reaches zero at some
    μ, against the last value where the assumptions hold in every replicate."""
    out = []
    if rob is None or not len(rob):
        return out
    for axis in [a for a in AXES if a in set(rob["axis"])]:
        g = rob[(rob["axis"] == axis) & (rob["status"] == "ok")]
        per = (
            g.groupby("value", sort=False)
            .agg(x=("x", "first"), hold=("all_hold", "all"), zero=("reaches_zero_any", "all"))
            .sort_values("x")
        )
        if not len(per):
            continue
        last_hold = per.index[per["hold"]].tolist()
        last_zero = per.index[per["zero"]].tolist()
        out.append(
            {
                "axis": axis,
                "hold": last_hold[-1] if last_hold else "none",
                "zero": last_zero[-1] if last_zero else "none",
            }
        )
    return out


def _last_zero(r) -> str:
    """The last λ with zero cost of a realdata_summary row, '>= λ' when zero cost holds over the
    whole sweep (the value is then a lower bound)."""
    whole = getattr(r, "zero_any_extent", "") == "whole_sweep"
    return (">= " if whole else "") + _fmt(r.lambda_zero_any_refined)


def _robust_sufficient_row(cases: pd.DataFrame, zero: float) -> dict:
    inside_all = cases[cases["all_hold"]]
    # an empty μ-box (D <= 2δ√Q for the chosen θ_0) is outside Thm 2.3's hypotheses: counted apart
    box = _bool(inside_all["box_nonempty"]) if "box_nonempty" in inside_all else pd.Series(True, inside_all.index)
    empty_box = inside_all[~box]
    inside_all = inside_all[box]
    boundary = inside_all[inside_all["A3_margin"] < A3_TOL]
    inside = inside_all[inside_all["A3_margin"] >= A3_TOL]
    z, exact = inside["reaches_zero_default"], inside["exact_default"]
    rounding = inside[~z & exact]
    numbers = {
        "zero": zero,
        "zero_default": _frac(z),
        "zero_any": _frac(inside["reaches_zero_any"]),
        "exact": _frac(exact),
        "n_failures": int((~z).sum()),
    }
    if len(rounding):
        numbers.update(
            n_rounding=len(rounding),
            rounding_max_cost=rounding["cost_default"].max(),
            rounding_max_cond=rounding["cond_xred"].max(),
            rounding_axes=", ".join(sorted(set(rounding["source"]))),
        )
    if len(boundary):
        numbers.update(
            n_boundary=len(boundary),
            a3_tol=A3_TOL,
            boundary_zero=_frac(boundary["reaches_zero_default"]),
            boundary_exact=_frac(boundary["exact_default"]),
        )
    if len(empty_box):
        numbers.update(
            n_empty_box=len(empty_box),
            empty_box_zero=_frac(empty_box["reaches_zero_default"]),
            empty_box_any=_frac(empty_box["reaches_zero_any"]),
        )
    return make_row("robust_sufficient", len(inside), int((~z).sum()), numbers, int((~z & ~exact).sum()))


def _robust_necessary_row(cases: pd.DataFrame, rob: pd.DataFrame) -> dict:
    out = cases[~cases["all_hold"]]
    zany = out["reaches_zero_any"]
    per = (
        {"assumption": a, "zero": _frac(out.loc[~_bool(out[a]), "reaches_zero_any"])}
        for a in ("A1", "A2", "A3")
        if a in out.columns and (~_bool(out[a])).any()
    )
    numbers = {
        "zero_any": _frac(zany),
        "share_any": zany.mean(),
        "zero_default": _frac(out["reaches_zero_default"]),
        "per_assumption": items("assumption_any", per, "; "),
    }
    extents = _axis_extents(rob)
    if extents:
        numbers["per_axis"] = items("axis_extent", extents, "; ")
    return make_row("robust_necessary", len(out), 0, numbers) if len(out) else empty_row("robust_necessary")


def _realdata_lambda_row(s: pd.DataFrame) -> dict:
    la = s["lambda_assumptions_grid"].astype(float)
    lz = s["lambda_zero_any_grid"].astype(float)
    pairs = (
        {
            "dataset": r.dataset,
            "projection": r.projection,
            "lambda_A": r.lambda_assumptions,
            "lambda_A2": r.lambda_A2,
            "lambda_A3": r.lambda_A3,
            "lambda_zero": _last_zero(r),
            "lambda_zero_grid": r.lambda_zero_any_grid,
            "acc_best": r.acc_best_at_lambda1,
            "acc_ncm": r.acc_ncm_at_lambda1,
            "acc_logreg": r.acc_logreg_at_lambda1,
        }
        for r in s.itertuples()
    )
    numbers = {
        "zero_beyond": _frac(la.isna() | (lz >= la)),
        "n_never": len(s[s["lambda_assumptions"].isna() | la.isna()]),
        "a2_holds": _frac(s["r_at_lambda1"].astype(float) < 0.25),
        "per_pair": items("realdata_pair", pairs, "; "),
    }
    return make_row("realdata_lambda", len(s), 0, numbers)


def _realdata_accuracy_row(cases: pd.DataFrame) -> dict:
    zc = cases[cases["reaches_zero_any"]]
    nz = cases[~cases["reaches_zero_any"]]
    if not len(zc):
        return empty_row("realdata_accuracy")
    numbers = {
        "n_zero": len(zc),
        "acc_best": zc["acc_best"].mean(),
        "acc_best_min": zc["acc_best"].min(),
        "acc_metric": zc["acc_metric"].mean(),
        "acc_ncm": zc["acc_ncm"].mean(),
        "acc_logreg": zc["acc_logreg"].mean(),
        "n_not_zero": len(nz),
        "acc_best_not_zero": nz["acc_best"].mean(),
        "acc_ncm_not_zero": nz["acc_ncm"].mean(),
    }
    return make_row("realdata_accuracy", len(zc), 0, numbers)


def _a1_output_bias_row(shift: pd.DataFrame, zero: float) -> dict:
    okk = shift[shift["status"] == "ok"]
    zdef = _bool(okk["reaches_zero_default"])
    lost = okk.loc[~zdef, "cond_xred"]
    numbers = {
        "affine_zero": _frac(okk["cost_default_affine"] <= zero),
        "max_cond": okk["cond_xred"].max(),
        "paper_zero": _frac(zdef),
        "lost_from_cond": lost.min() if len(lost) else float("nan"),
        "max_cost": okk["cost_default"].max(),
        "n_singular": len(shift[shift["status"] == "singular_xred"]),
    }
    return make_row("a1_output_bias", len(okk), 0, numbers) if len(okk) else empty_row("a1_output_bias")


def _robust_training_row(optim: pd.DataFrame, rob: pd.DataFrame) -> dict:
    by = optim.groupby("optimiser")["zero"].apply(lambda z: _frac(_bool(z)))
    per_point = optim.groupby(["axis", "value"], sort=False)["zero"].apply(lambda z: _bool(z).mean())
    pts = rob[(rob["replicate"] == 0)].set_index(["axis", "value"]) if rob is not None and len(rob) else None

    def point(a, v, f):
        c = bool(pts.loc[(a, v), "reaches_zero_any"]) if pts is not None and (a, v) in pts.index else None
        return item("training_point_zero" if c else "training_point_not_zero", {"axis": a, "value": v, "fraction": f})

    numbers = {
        "optimiser_zero": OPTIMISER_ZERO,
        "zero_runs": _frac(_bool(optim["zero"])),
        "by_optimiser": items("group_value", ({"group": k, "value": v} for k, v in by.items())),
        "per_point": "; ".join(point(a, v, f) for (a, v), f in per_point.items()),
    }
    return make_row("robust_training", len(optim), 0, numbers)


def robustness_claims(
    rob: pd.DataFrame,
    real: pd.DataFrame,
    real_summary: pd.DataFrame | None = None,
    optim: pd.DataFrame | None = None,
    zero: float = ZERO_COST,
) -> list[dict]:
    """Claims rows (:func:`dlgeom.study.verdicts.make_row`) computed from the robustness and
    real-data tables: one per key of :data:`ROBUSTNESS_KEYS`, in that order ('untested' or an
    empty finding where the study has no case)."""
    cases = _cases(rob, real)
    shift = rob[(rob["axis"] == "cond_shift")] if rob is not None and len(rob) else pd.DataFrame()
    has_summary = real_summary is not None and len(real_summary)
    return [
        _robust_sufficient_row(cases, zero) if len(cases) else empty_row("robust_sufficient"),
        _robust_necessary_row(cases, rob) if len(cases) else empty_row("robust_necessary"),
        _realdata_lambda_row(real_summary.copy()) if has_summary else empty_row("realdata_lambda"),
        _realdata_accuracy_row(cases) if len(cases) else empty_row("realdata_accuracy"),
        _a1_output_bias_row(shift, zero) if len(shift) else empty_row("a1_output_bias"),
        _robust_training_row(optim, rob) if optim is not None and len(optim) else empty_row("robust_training"),
    ]


# ---- figures ---------------------------------------------------------------------------------

_LABELS = {
    "delta_ratio": "δ-ratio r",
    "theta": "cone angle θ of the mean simplex (rad)",
    "noise": "noise shape",
    "elongation": "elongation (anisotropic)",
    "outlier_fraction": "outlier fraction",
    "label_noise": "label-noise fraction (train)",
    "imbalance": "imbalance N$_{max}$/N$_{min}$",
    "cond_xred": "cond(X$^{red}$), squashed simplex",
    "cond_shift": "cond(X$^{red}$), shifted simplex",
    "n_per_class": "training points per class",
}


def _spans(x: np.ndarray, log: bool) -> np.ndarray:
    """Edges of one band per x value (midpoints, in log space for log axes)."""
    v = np.log(x) if log else x.astype(float)
    if len(v) == 1:
        e = np.array([v[0] - 0.5, v[0] + 0.5]) if not log else np.array([v[0] - 0.3, v[0] + 0.3])
    else:
        mid = (v[1:] + v[:-1]) / 2
        e = np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])
    return np.exp(e) if log else e


#: The curves of every robustness panel: summary column and line style (legend label included).
_SERIES = [
    ("frac_zero_default", {"marker": "o", "ms": 4, "color": "C0", "label": "zero cost, default μ"}),
    ("frac_zero_any", {"marker": "s", "ms": 3.5, "color": "C3", "label": "zero cost, searched μ"}),
    (
        "frac_exact_best",
        {"color": "C4", "lw": 2.2, "alpha": 0.35, "label": "zero in exact arithmetic (curation exact), searched μ"},
    ),
    ("acc_best", {"ls": "--", "color": "C3", "lw": 1, "alpha": 0.8, "label": "accuracy, network rule (best μ)"}),
    ("acc_metric", {"ls": "--", "color": "C0", "lw": 1, "alpha": 0.8, "label": "accuracy, induced metric (default μ)"}),
    ("acc_ncm", {"ls": ":", "color": "0.25", "lw": 1.2, "label": "accuracy, nearest class mean"}),
    ("acc_logreg", {"ls": "-.", "color": "C2", "lw": 1, "label": "accuracy, logistic regression"}),
]


def fig_robustness(summary: pd.DataFrame, optim: pd.DataFrame | None = None, title: str | None = None):
    """One panel per axis: fraction of replicates reaching zero cost at the default μ and at some
    searched μ, held-out accuracy of the induced-metric classifier against the baselines, gradient
    training (stars) where it was run; green bands: fraction of replicates where A1-A3 hold."""
    from .figures import plt

    if summary is None or not len(summary):
        fig, ax = plt.subplots(figsize=(5, 2))
        ax.axis("off")
        ax.text(0.5, 0.5, "no robustness axes in this study\n(config key robustness.axes)", ha="center", va="center")
        return fig
    axes_present = [a for a in AXES if a in set(summary["axis"])]
    ncol = min(3, len(axes_present))  # readable at page width
    nrow = int(np.ceil(len(axes_present) / ncol))
    fig, axs = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 2.9 * nrow), squeeze=False)
    opt_frac = None
    if optim is not None and len(optim):
        best = optim.assign(zero=_bool(optim["zero"])).groupby(["axis", "value", "optimiser"])["zero"].mean()
        best = best.groupby(level=[0, 1]).max()
        opt_frac = {a: {str(v): f for (aa, v), f in best.items() if aa == a} for a in best.index.get_level_values(0)}
    for i, axis in enumerate(axes_present):
        ax = axs[i // ncol][i % ncol]
        g = summary[summary["axis"] == axis].sort_values("x", kind="stable")
        x = g["x"].to_numpy(float)
        log = axis in LOG_AXES and np.all(x > 0)
        edges = _spans(x, log)
        for k, f in enumerate(g["frac_all_hold"].to_numpy(float)):
            if f > 0:
                ax.axvspan(
                    edges[k],
                    edges[k + 1],
                    color="#b9e3b9",
                    alpha=0.25 + 0.55 * f,
                    lw=0,
                    label="A1-A3 hold" if k == int(np.argmax(g["frac_all_hold"].to_numpy() > 0)) else None,
                )
        # curves that coincide on this panel (e.g. all at 1) are drawn once, marked "×n"
        drawn: list[tuple[np.ndarray, dict, list]] = []
        for col, style in _SERIES:
            y = g[col].to_numpy(float)
            same = next((d for d in drawn if np.allclose(d[0], y, atol=1e-9, equal_nan=True)), None)
            if same is not None:
                same[2].append(col)
                continue
            ax.plot(x, y, **style)
            drawn.append((y, style, [col]))
        for y, style, cols in drawn:
            if len(cols) > 1 and np.isfinite(y[-1]):
                ax.annotate(
                    f"×{len(cols)}",
                    (x[-1], y[-1]),
                    xytext=(3, -9),
                    textcoords="offset points",
                    fontsize=7,
                    color=style["color"],
                )
        if opt_frac is not None:
            pts = [(xx, opt_frac.get(axis, {}).get(v, np.nan)) for xx, v in zip(x, g["value"])]
            pts = [(a, b) for a, b in pts if np.isfinite(b)]
            if pts:
                ax.scatter(
                    *zip(*pts),
                    marker="*",
                    s=70,
                    color="C1",
                    zorder=4,
                    edgecolor="k",
                    lw=0.4,
                    label="gradient training from He starts: fraction of runs with C ≤ 1e-6 (best optimiser)",
                )
        if log:
            ax.set_xscale("log")
        if axis == "noise":
            ax.set_xticks(x, list(g["value"]))
        elif axis == "delta_ratio":
            ax.axvline(0.25, color="k", lw=0.7, ls=":")
            ax.text(0.25, 0.5, " 1/4", transform=ax.get_xaxis_transform(), fontsize=7)
        elif axis == "theta":
            ax.axvline(np.pi, color="k", lw=0.7, ls=":")
            ax.text(np.pi, 0.5, " π", transform=ax.get_xaxis_transform(), fontsize=7)
        ax.set_xlim(edges[0], edges[-1])
        ax.set_ylim(-0.04, 1.04)
        ax.set_xlabel(_LABELS.get(axis, axis))
        if i % ncol == 0:
            ax.set_ylabel("fraction / accuracy")
        ax.set_title(axis, fontsize=9)
    # legend from the styles (a curve hidden under another on every panel still gets its entry)
    from matplotlib.lines import Line2D

    handles = {style["label"]: Line2D([], [], **style) for _col, style in _SERIES}
    for row in axs:
        for ax in row:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                handles.setdefault(lab, h)
    handles["×n: n curves coincide on the panel (drawn once)"] = Line2D([], [], ls="none")
    for j in range(len(axes_present), nrow * ncol):
        axs[j // ncol][j % ncol].axis("off")
    base_q = f" (Q = {int(summary['Q'].iloc[0])})" if "Q" in summary and summary["Q"].nunique() == 1 else ""
    fig.suptitle(
        title
        or "Robustness beyond the paper's assumptions: one factor at a time from a base point"
        + base_q
        + "\ngreen bands: fraction of seeds where A1-A3 hold",
        y=1.0,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.legend(
        list(handles.values()),
        list(handles.keys()),
        loc="upper center",
        ncol=4 if ncol >= 3 else 2,
        frameon=False,
        fontsize=7,
        bbox_to_anchor=(0.5, 0.0),
    )
    return fig


def fig_realdata(real: pd.DataFrame, summary: pd.DataFrame, zero: float = ZERO_COST):
    """Per dataset (columns): cost against the shrink factor λ at the default μ and the best
    searched μ (top), held-out accuracy (bottom), one colour per projection; shaded: λ where
    A1-A3 hold (exact thresholds), vertical line: last λ with zero cost (refined; drawn where zero
    cost is lost inside the sweep), dotted: C = ``zero``."""
    from .figures import plt

    if real is None or not len(real):
        fig, ax = plt.subplots(figsize=(5, 2))
        ax.axis("off")
        ax.text(0.5, 0.5, "no real datasets in this study\n(config key robustness.realdata)", ha="center", va="center")
        return fig
    names = sorted(real["dataset"].unique())
    projs = sorted(
        real["projection"].unique(),
        key=lambda p: ("lda", "simplex", "pca", "none").index(p) if p in ("lda", "simplex", "pca", "none") else 9,
    )
    colors = {p: f"C{k}" for k, p in enumerate(projs)}
    fig, axs = plt.subplots(2, len(names), figsize=(3.5 * len(names), 5.6), squeeze=False, sharex=True)
    floor = 1e-16
    for c, name in enumerate(names):
        top, bot = axs[0][c], axs[1][c]
        for p in projs:
            g = real[(real["dataset"] == name) & (real["projection"] == p)].sort_values("lambda")
            if not len(g):
                continue
            s = (
                summary[(summary["dataset"] == name) & (summary["projection"] == p)]
                if summary is not None and len(summary)
                else None
            )
            col = colors[p]
            top.plot(
                g["lambda"],
                np.clip(g["cost_best"].astype(float), floor, None),
                color=col,
                marker="o",
                ms=3,
                label=f"{p}: best searched μ",
            )
            top.plot(
                g["lambda"],
                np.clip(g["cost_default"].astype(float), floor, None),
                color=col,
                ls="--",
                lw=1,
                label=f"{p}: default μ",
            )
            bot.plot(g["lambda"], g["acc_best"], color=col, marker="o", ms=3, label=f"{p}: network rule (best μ)")
            bot.plot(g["lambda"], g["acc_ncm"], color=col, ls=":", lw=1.2, label=f"{p}: nearest class mean")
            bot.plot(g["lambda"], g["acc_logreg"], color=col, ls="-.", lw=1, label=f"{p}: logistic regression")
            if s is not None and len(s):
                s = s.iloc[0]
                la = float(s["lambda_assumptions"]) if pd.notna(s["lambda_assumptions"]) else np.nan
                if np.isfinite(la) and la > 0:
                    for ax in (top, bot):
                        ax.axvspan(0, min(la, float(g["lambda"].max())), color=col, alpha=0.12, lw=0)
                lz = float(s["lambda_zero_any_refined"]) if pd.notna(s["lambda_zero_any_refined"]) else np.nan
                if np.isfinite(lz) and s.get("zero_any_extent") == "lost_in_sweep":
                    for ax in (top, bot):
                        ax.axvline(lz, color=col, lw=1, ls=(0, (4, 2)), alpha=0.9)
                if "acc_logreg_all_features" in s and pd.notna(s["acc_logreg_all_features"]) and p == projs[0]:
                    bot.axhline(
                        float(s["acc_logreg_all_features"]),
                        color="0.4",
                        lw=0.8,
                        ls="-",
                        label="logistic regression, all standardised features",
                    )
        top.axhline(zero, color="k", lw=0.6, ls=":")
        top.set_yscale("log")
        top.set_ylim(floor / 3, None)
        qv = int(real.loc[real["dataset"] == name, "Q"].iloc[0])
        top.set_title(f"{name} (Q = {qv})", fontsize=9)
        bot.set_xlabel("shrink factor λ  (x ← x̄$_j$ + λ(x − x̄$_j$))")
        bot.set_ylim(-0.03, 1.03)
        if c == 0:
            top.set_ylabel("cost C (C ≤ 1e-16 shown at 1e-16)")
            bot.set_ylabel("held-out accuracy")
    handles = {}
    for row in axs:
        for ax in row:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                handles.setdefault(lab, h)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles["shaded: A1-A3 hold (exact λ)"] = Patch(color="0.6", alpha=0.3)
    handles["dashed vertical: last λ with zero cost (where it is lost in the sweep)"] = Line2D(
        [], [], color="0.3", ls=(0, (4, 2))
    )
    handles[f"dotted: C = {zero:g}"] = Line2D([], [], color="k", ls=":", lw=0.6)
    fig.suptitle("Real data projected to R$^Q$ and shrunk toward the class means", y=1.0)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.legend(
        list(handles.values()),
        list(handles.keys()),
        loc="upper center",
        ncol=4 if len(names) >= 3 else 2,
        frameon=False,
        fontsize=7,
        bbox_to_anchor=(0.5, 0.0),
    )
    return fig
