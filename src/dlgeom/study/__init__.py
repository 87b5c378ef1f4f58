"""The Snakemake study's building blocks (pure Python; the workflow calls them through the CLI).

Importing this package is cheap: the figure names live here so that the CLI and the Snakefile
need not import matplotlib to list them."""

#: The study's figures (:mod:`dlgeom.study.figures` draws them).
FIGURES = ("truncation", "curation", "phase", "local_minima", "accuracy", "landscape_runs", "landscape_shape",
           "landscape_minima")
