"""The Snakemake study's building blocks (pure Python; the workflow calls them through the CLI)."""
