"""The code blocks of the documentation and how the tests run them as written (tests/test_doc_examples.py
states the convention; tests/test_module_usage.py runs docs/usage.md with it).

Every block runs from the root of a temporary copy of the repository's tracked files (the work tree
as it is, so nothing is ever written into the repository), with the environment of a fresh shell:
the venv that runs the tests is not on PATH, and is linked as ``.venv`` into the copy, as
``make test`` would have created it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
VENV = Path(sys.executable).parent.parent
RUN = {"bash", "python"}  # blocks that are run
FILE_NAME = re.compile(r"#\s*(\S+\.(?:ya?ml|csv|txt))\s*$")  # `# my-grid.yaml` on a yaml block's first line
# a fenced block, at the start of a line or indented inside a list item (its indent is removed)
_FENCE = re.compile(r"^(?P<indent>[ ]{0,4})```(?P<lang>[\w-]*)[^\n]*\n(?P<text>.*?)^(?P=indent)```[ \t]*$", re.S | re.M)
# a command word that starts long work: snakemake (by any path), make
_SNAKEMAKE = re.compile(r"(?:^|[\s;&|(])(?:\S*/)?snakemake(?=\s|$)")
_LONG = re.compile(r"(?P<word>(?:^|(?<=[\s;&|(]))(?:\S*/)?snakemake|(?:^|(?<=[\s;&|(]))make)(?=\s|$)", re.M)


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int  # line of the opening fence
    lang: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"

    @property
    def file_name(self) -> str | None:
        """For a yaml block whose first line is `# <name>`: the file the doc says to save it as."""
        first = self.text.splitlines()[0] if self.text.strip() else ""
        m = FILE_NAME.fullmatch(first.strip()) if self.lang in {"yaml", "yml"} else None
        return m.group(1) if m else None


def blocks(doc: Path) -> list[Block]:
    text = doc.read_text(encoding="utf-8")
    out = []
    for m in _FENCE.finditer(text):
        indent = m.group("indent")
        body = "".join(
            line[len(indent) :] if line.startswith(indent) else line.lstrip(" ")
            for line in m.group("text").splitlines(keepends=True)
        )
        out.append(Block(doc, text.count("\n", 0, m.start()) + 1, m.group("lang"), body))
    return out


def dry_run(script: str) -> str:
    """The bash ``script`` with every command that starts long work made a dry run: ``-n`` after
    every ``snakemake`` command word (``.venv/bin/snakemake``, ``$REPO/.venv/bin/snakemake`` …) and
    after every ``make``; a ``snakemake --report FILE`` (which needs the outputs a dry run does not
    make) is dry-run without ``--report FILE``.  Comments are left alone."""
    out = []
    for line in script.splitlines():
        code, hash_, comment = _split_comment(line)
        if _SNAKEMAKE.search(code):  # a report needs the study's outputs: its command is dry-run without it
            code = re.sub(r"\s--report(?:=|\s+)\S+", "", code)
        out.append(_LONG.sub(lambda m: m.group("word") + " -n", code) + hash_ + comment)
    return "\n".join(out) + "\n"


def _split_comment(line: str) -> tuple[str, str, str]:
    """A shell line split at its comment (a `#` at the start of a word, outside quotes)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i], "#", line[i + 1 :]
    return line, "", ""


def copy_repo(dest: Path) -> Path:
    """The tracked files of the work tree and the compiled kernel (what a clone has after
    ``make test``) copied to ``dest`` (a new directory), the test venv linked as ``dest/.venv``."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    dest.mkdir(parents=True)
    for name in filter(None, files.decode().split("\0")):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    for built in (ROOT / "src" / "dlgeom").glob("_fused*.so"):  # the compiled kernel, as the install leaves it
        shutil.copy2(built, dest / "src" / "dlgeom" / built.name)
    (dest / ".venv").symlink_to(VENV, target_is_directory=True)
    return dest


def shell_env(home: Path) -> dict[str, str]:
    """A fresh shell's environment: PATH without the test venv (and without any activated venv)."""
    venv_bins = {str(VENV / "bin"), os.environ.get("VIRTUAL_ENV", "") + "/bin"}
    path = [p for p in os.environ.get("PATH", "/usr/bin:/bin").split(":") if p and p not in venv_bins]
    keep = {k: v for k, v in os.environ.items() if k in {"LANG", "LC_ALL", "TMPDIR", "USER", "LOGNAME"}}
    return {**keep, "PATH": ":".join(path), "HOME": str(home), "PYTHONDONTWRITEBYTECODE": "1"}


def run_block(block: Block, repo: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run one block in the copy ``repo``: a yaml block with a file name is written there, a bash
    block runs (long work as a dry run), a python block runs with the venv's Python."""
    env = shell_env(repo.parent)
    if block.file_name:
        target = repo / block.file_name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.text, encoding="utf-8")
        return subprocess.CompletedProcess([], 0, "", "")
    if block.lang == "python":
        cmd = [str(repo / ".venv" / "bin" / "python"), "-c", block.text]
    elif block.lang == "bash":
        cmd = ["bash", "-e", "-o", "pipefail", "-c", dry_run(block.text)]
    else:
        raise ValueError(f"{block.where}: a ```{block.lang} block is not run")
    return subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=timeout)
