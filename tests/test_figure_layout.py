"""Figures are readable at page width (~800 px): grids rather than long rows, tick labels that do not
overlap, overplotted curves merged.  Drawn from the committed tables of the default study."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dlgeom.study.figures import plt, sparse_tick_labels
from dlgeom.study.grid_report import fig_local_minima, fig_phase
from dlgeom.study.robustness_report import fig_robustness

RESULTS = Path(__file__).resolve().parents[1] / "results"
# the committed default study (results/default/tables, or results/tables before the per-study layout)
TABLES = next((d for d in (RESULTS / "default" / "tables", RESULTS / "tables") if d.is_dir()), RESULTS / "tables")


def _aspect(fig) -> float:
    w, h = fig.get_size_inches()
    return w / h


def test_sparse_tick_labels_keep_a_minimum_gap():
    values = np.array([0.02, 0.05, 0.1, 0.2, 0.24, 0.3, 0.5, 1.0])
    labels = sparse_tick_labels(values)
    assert labels == ["0.02", "0.05", "0.1", "0.2", "", "0.3", "0.5", "1"]
    shown = values[[bool(lab) for lab in labels]]
    assert np.all(np.diff(np.log10(shown)) >= 0.12)


@pytest.mark.skipif(not (TABLES / "phase.csv").exists(), reason="no committed phase table")
def test_phase_is_a_grid_with_non_overlapping_tick_labels():
    fig = fig_phase(pd.read_csv(TABLES / "phase.csv", dtype={"theta": str}))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    heat = [ax for ax in fig.axes if ax.get_xscale() == "log"]
    assert len({round(ax.get_position().y0, 3) for ax in heat}) >= 2  # more than one row
    assert _aspect(fig) < 2.0
    for ax in heat:
        boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]
        assert not any(a.overlaps(b) for a, b in zip(boxes, boxes[1:]))
    plt.close(fig)


def test_local_minima_is_a_two_by_two_grid():
    rng = np.random.default_rng(0)
    n = 400
    vp = 10 ** rng.uniform(-2, -0.3, n)
    patterns = pd.DataFrame(
        {
            "type": np.where(np.arange(n) < 40, "none", "mixed"),
            "all_hold": True,
            "mu_in_box": True,
            "value_paper": vp,
            "value_biasfree": vp * rng.uniform(1, 2, n),
            "value_affine": vp * rng.uniform(0.8, 2, n),
            "mu_range": 10 ** rng.uniform(-16, -1, n),
        }
    )
    fig = fig_local_minima(patterns)
    panels = [ax for ax in fig.axes if ax.get_title().startswith("(")]
    assert [ax.get_title()[:3] for ax in panels] == ["(a)", "(b)", "(c)", "(d)"]
    assert _aspect(fig) < 1.5
    plt.close(fig)


@pytest.mark.skipif(not (TABLES / "robustness_summary.csv").exists(), reason="no committed robustness table")
def test_robustness_draws_coinciding_curves_once():
    summary = pd.read_csv(TABLES / "robustness_summary.csv")
    fig = fig_robustness(summary)
    flat = next(ax for ax in fig.axes if ax.get_title() == "noise")
    g = summary[summary["axis"] == "noise"]
    cols = ["frac_zero_default", "frac_zero_any", "frac_exact_best", "acc_best", "acc_metric", "acc_ncm", "acc_logreg"]
    distinct = {tuple(np.round(g[c].to_numpy(float), 12)) for c in cols}
    assert len(flat.get_lines()) == len(distinct)
    marks = [t.get_text() for t in flat.texts if t.get_text().startswith("×")]
    assert sum(int(m[1:]) for m in marks) + (len(distinct) - len(marks)) == len(cols)
    assert _aspect(fig) < 1.5
    plt.close(fig)
