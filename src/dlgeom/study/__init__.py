"""The Snakemake study's building blocks (pure Python; the workflow calls them through the CLI).

One layout for every study stage (grid, landscape, robustness, beyond, collapse):

* ``<stage>_run.py`` — the stage's runners and its CLI subcommands, added by
  ``register(sub) -> {name: handler}`` (listed in :data:`dlgeom.cli.EXTENSIONS`); cheap to import,
  heavy libraries are imported by the handlers.
* ``<stage>_report.py`` — the stage's tables, its claims rows (computed verdicts) and its figures.

:mod:`.aggregate` puts the stages' tables and claims rows together into the study's tables and the
claims table; :mod:`.tables` and :mod:`.figures` hold what the reports share (the CSV format,
evidence numbers; matplotlib's set-up and :func:`~.figures.save_figure`).  The grid's measurements
of one cell are in :mod:`.cell` (run by ``grid_run``'s ``cell`` command).

Importing this package is cheap: the figure names live here so that the CLI and the Snakefile
need not import matplotlib to list them."""

#: The figures of the grid and landscape stages (``dlgeom figure``; drawn by :mod:`dlgeom.study.grid_report`
#: and :mod:`dlgeom.study.landscape_report`).
FIGURES = ("truncation", "curation", "phase", "local_minima", "accuracy", "landscape_runs", "landscape_shape",
           "landscape_minima")
