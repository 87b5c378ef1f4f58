"""Every code block of README.md and docs/*.md runs as written.

The convention (docs/contributing.md says it for authors):

* The blocks of one page run in order, from the root of a temporary copy of the repository's
  tracked files (``tests/doc_blocks.py``), in a fresh shell's environment: the venv that runs the
  tests is linked as ``.venv`` into the copy (as ``make test`` creates it) but is not on PATH.
  Nothing is written into the repository, and no block is changed except as said next.
* ```` ```bash ````: run by ``bash -e -o pipefail``.  A command that starts long work is a dry run:
  the test adds ``-n`` after every ``snakemake`` command word (by any path) and after every
  ``make`` (``make -n study``, ``make -n test``); ``snakemake --report FILE`` needs the outputs
  a dry run does not make, so it is dry-run without ``--report FILE``; everything else runs for real.
* ```` ```python ````: run by the venv's Python.
* ```` ```yaml ```` whose first line is ``# <file name>`` (e.g. ``# my-grid.yaml``): written to
  that file in the copy, for the blocks after it.  A yaml block without a file name is an excerpt:
  it must parse, nothing runs it.
* Anything else is not a command and is not run: ```` ```text ```` (output, layouts) or
  ```` ```console ```` (a transcript).  Every fence names its kind.  Commands are never written
  as indented blocks (those are never run).

A block that only runs with something a fresh clone does not have (a cluster, a data file of
yours) is written so that it runs on the clone instead, e.g. with the bundled example data.
"""

import re

import pytest
import yaml
from doc_blocks import DOCS, RUN, blocks, copy_repo, dry_run, run_block

PAGES = [d for d in DOCS if any(b.lang in RUN or b.file_name for b in blocks(d))]
KINDS = {"text", "console", "yaml", "yml", "python", "bash"}


def test_every_block_has_a_known_kind():
    unknown = [f"{b.where} ```{b.lang}" for d in DOCS for b in blocks(d) if b.lang not in KINDS]
    assert unknown == [], "use ```bash, ```python, ```yaml, ```text or ```console: " + ", ".join(unknown)


def test_no_command_hides_in_an_indented_block():
    """An indented code block is never run, so it must not hold a command."""
    commands = re.compile(r"^ {4,}(?:\S+=\S+ )*(?:\S*/)?(?:snakemake|make|dlgeom|python3?|pip|bash|cp|mkdir)\s", re.M)
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        outside = re.sub(r"^ {0,4}```.*?^ {0,4}```", "", text, flags=re.S | re.M)
        found += [f"{doc.name}: {m.group(0).strip()}" for m in commands.finditer(outside)]
    assert found == [], found


def test_yaml_excerpts_parse():
    for doc in DOCS:
        for b in blocks(doc):
            if b.lang in {"yaml", "yml"}:
                assert isinstance(yaml.safe_load(b.text), dict), b.where


def test_the_dry_run_rule():
    assert dry_run("make study   # the default study -> results/default/") == (
        "make -n study   # the default study -> results/default/\n"
    )
    assert dry_run('PATH="$PWD/.venv/bin:$PATH" snakemake --workflow-profile p  # make it') == (
        'PATH="$PWD/.venv/bin:$PATH" snakemake -n --workflow-profile p  # make it\n'
    )
    assert dry_run(".venv/bin/snakemake --cores all\ncd x && $REPO/.venv/bin/snakemake --report r.html") == (
        ".venv/bin/snakemake -n --cores all\ncd x && $REPO/.venv/bin/snakemake -n\n"
    )
    assert dry_run(".venv/bin/dlgeom make-data --out d.npz") == ".venv/bin/dlgeom make-data --out d.npz\n"


@pytest.mark.parametrize("doc", PAGES, ids=[d.name for d in PAGES])
def test_every_block_runs_as_written(doc, tmp_path):
    repo = copy_repo(tmp_path / "repo")
    for block in blocks(doc):
        if block.lang not in RUN and not block.file_name:
            continue
        res = run_block(block, repo)
        assert res.returncode == 0, (
            f"{block.where} ```{block.lang} failed (exit {res.returncode}):\n"
            f"{block.text}\n--- stderr ---\n{res.stderr[-3000:]}\n--- stdout ---\n"
            f"{res.stdout[-2000:]}"
        )
