"""The Snakemake study's building blocks (pure Python; the workflow calls them through the CLI).

One layout for every study stage (grid, landscape, robustness, beyond, collapse):

* ``<stage>_run.py`` — the stage's runners and its CLI subcommands, added by
  ``register(sub) -> {name: handler}`` (listed in :data:`dlgeom.cli.EXTENSIONS`); cheap to import,
  heavy libraries are imported by the handlers.
* ``<stage>_report.py`` — the stage's tables, its claims rows (computed verdicts) and its figures.

:mod:`.aggregate` puts the stages' tables and claims rows together into the study's tables and the
claims table; :mod:`.tables`, :mod:`.evidence` and :mod:`.figures` hold what the reports share (the
CSV format, evidence numbers; the evidence templates of every claim; matplotlib's set-up and
:func:`~.figures.save_figure`).  The grid's measurements
of one cell are in :mod:`.cell` (run by ``grid_run``'s ``cell`` command), the robustness stage's
measurements of one point and of a real dataset's shrink sweep in :mod:`.measurements`.

Importing this package is cheap: the figure names live here so that the CLI and the Snakefile
need not import matplotlib to list them."""


def stage_logger(quiet: bool):
    """The progress logger of a stage's command: ``[dlgeom] message`` lines on stderr, or nothing."""
    import sys

    if quiet:
        return lambda msg: None
    return lambda msg: print(f"[dlgeom] {msg}", file=sys.stderr, flush=True)


#: The θ_0 rule of every study stage (docs/claims.md, "θ_0 as the study uses it"): the smallest θ_0
#: that opens the μ-box.  The library's own default (:func:`dlgeom.geometry.geometry`) is 'midpoint'.
STUDY_THETA0 = "open_box"

#: The figures of the grid and landscape stages (``dlgeom figure``; drawn by :mod:`dlgeom.study.grid_report`
#: and :mod:`dlgeom.study.landscape_report`).
FIGURES = (
    "truncation",
    "curation",
    "phase",
    "local_minima",
    "accuracy",
    "landscape_runs",
    "landscape_shape",
    "landscape_minima",
)
