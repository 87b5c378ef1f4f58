"""Figure helpers shared by the stages' reports: matplotlib set up for files (Agg backend, the
study's style), :func:`save_figure`, class colours and tick labels.

The figures themselves live with their stage: ``fig_*`` of :mod:`.grid_report`,
:mod:`.landscape_report`, :mod:`.robustness_report`, :mod:`.beyond_report`,
:mod:`.collapse_report` (and :mod:`.perf_figures`).  :func:`save_figure` writes PNG and PDF with
fixed metadata, so reruns are byte-stable; :func:`publish_figure`, what every figure command
does, adds their provenance sidecars and says what it wrote.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..synthetic import regular_cone_angle  # noqa: E402
from . import FIGURES  # noqa: E402,F401  (re-exported)

__all__ = [
    "CLASS_COLORS",
    "FIGURES",
    "no_data",
    "no_data_figure",
    "plt",
    "publish_figure",
    "save_figure",
    "sparse_tick_labels",
    "theta_value",
]

CLASS_COLORS = plt.get_cmap("tab10").colors

plt.rcParams.update(
    {
        "figure.dpi": 100,
        "savefig.dpi": 150,
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)


def save_figure(fig, stem) -> list[Path]:
    """Write ``stem.png`` and ``stem.pdf`` with fixed metadata (byte-stable), atomically."""
    from ..safe_write import open_output, output_group

    stem = Path(stem)
    out = []
    try:
        with output_group():  # both files, or neither
            for ext, meta in (
                ("png", {"Software": None}),
                ("pdf", {"CreationDate": None, "Creator": None, "Producer": None}),
            ):
                path = stem.with_suffix("." + ext)
                with open_output(path, "wb") as fh:
                    fig.savefig(fh, format=ext, metadata=meta, bbox_inches="tight")
                out.append(path)
    finally:
        plt.close(fig)
    return out


def publish_figure(fig, stem, inputs, command: str, config_hash: str | None = None, seed=None) -> list[Path]:
    """:func:`save_figure`, then a provenance sidecar beside each file (its ``inputs``, the
    ``command``, the settings' ``config_hash`` and ``seed``), and one line on stdout."""
    from .provenance import write_provenance

    paths = save_figure(fig, stem)
    for path in paths:
        write_provenance(path, inputs, command, config_hash, seed)
    print(f"wrote {Path(stem)}.png and {Path(stem)}.pdf")
    return paths


def no_data(ax, text: str = "no data in this study") -> None:
    """An empty panel that says so."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def no_data_figure(title: str, text: str):
    """A small figure that only says why it is empty."""
    fig, ax = plt.subplots(figsize=(5, 2))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center")
    ax.set_title(title)
    return fig


def theta_value(theta: str, q: int) -> float:
    """A cell's ``theta`` (radians, or 'regular' for the regular simplex's cone angle) as a number."""
    return regular_cone_angle(q) if theta == "regular" else float(theta)


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
