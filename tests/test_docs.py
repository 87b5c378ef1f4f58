"""The documentation resolves inside the repository: docs/mathematics.md has the fixed sections
1–9 (and the numbered steps of §4), every section cited in code and docs exists, and every paper
equation cited in the code is explained there."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MATH = ROOT / "docs" / "mathematics.md"
SECTIONS = {
    1: "Setting",
    2: "The truncation map",
    3: "Assumptions and constants",
    4: "Global minimiser",
    5: "Local minima",
    6: "Degeneracy",
    7: "Induced metric and classification",
    8: "Companion results",
    9: "Comparison with the literature",
}
CITING = ["src", "workflow", "tests", "config", "docs", "Snakefile", "README.md"]


def _files():
    for name in CITING:
        path = ROOT / name
        paths = [path] if path.is_file() else sorted(path.rglob("*"))
        for p in paths:
            if p.is_file() and p.suffix in {".py", ".smk", ".md", ".rst", ".yaml", ".yml", ""}:
                yield p


def _equations(text: str) -> set[str]:
    """Paper equation numbers written as [P a.b], [P a.b, c.d–e.f] or (a.bb), ranges expanded."""
    found = set()
    groups = re.findall(r"\[P ([0-9][^\]]*)\]", text) + re.findall(r"\(([2-5]\.\d{2})\)", text)
    for group in groups:
        for part in re.split(r",\s*", group):
            m = re.fullmatch(r"(\d)\.(\d{1,3})(?:\s*[–-]\s*(?:\d\.)?(\d{1,3}))?", part.strip())
            if m:
                lo = int(m[2])
                hi = int(m[3]) if m[3] else lo
                found.update(f"{m[1]}.{k}" for k in range(lo, hi + 1))
    return found


def test_mathematics_has_the_nine_sections_in_order():
    headings = re.findall(r"^## (\d)\. (.+)$", MATH.read_text(encoding="utf-8"), flags=re.M)
    assert [(int(n), t) for n, t in headings] == list(SECTIONS.items())


def test_section_4_has_its_numbered_steps():
    text = MATH.read_text(encoding="utf-8")
    assert re.findall(r"^\*\*4\.(\d) ", text, flags=re.M) == [str(k) for k in range(1, 8)]


def test_equation_parser():
    assert _equations("[P 2.48–2.52] and (4.74), [P Thm 2.3], (1.0)") == {
        "2.48",
        "2.49",
        "2.50",
        "2.51",
        "2.52",
        "4.74",
    }


@pytest.mark.parametrize("path", list(_files()), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_cited_section_exists(path):
    text = path.read_text(encoding="utf-8", errors="replace")
    for sec, step in re.findall(r"docs/mathematics\.md §(\d)(?:\.(\d))?", text):
        assert int(sec) in SECTIONS, f"{path}: §{sec} does not exist"
        if step:
            assert sec == "4" and 1 <= int(step) <= 7, f"{path}: §{sec}.{step} does not exist"


def test_every_paper_equation_cited_in_code_is_explained():
    cited = set()
    for path in _files():
        if path.suffix in {".py", ".smk", ".rst"} or path.name == "Snakefile":
            cited |= _equations(path.read_text(encoding="utf-8", errors="replace"))
    explained = _equations(MATH.read_text(encoding="utf-8"))
    assert cited, "no equation citations found: the parser is broken"
    assert sorted(cited - explained) == []
