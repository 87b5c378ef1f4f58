"""The rules stay declarative: a job's values reach its command through the stage's settings
files, so the rules carry few ``params`` and few written-out CLI flags.

Counted over the Snakefile and workflow/rules/*.smk, comments excluded: ``params`` entries inside
``params:`` blocks of rules; ``--flag`` tokens in rule ``shell:`` strings and in every other string
of the rule files (e.g. the ``JOB`` prefix and any argv builder a rule calls).  The targets are the
ceilings the plumbing was brought under; a rule that writes out values again fails here."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RULE_FILES = [ROOT / "Snakefile", *sorted((ROOT / "workflow" / "rules").glob("*.smk"))]
MAX_PARAMS, MAX_FLAGS = 25, 45
FLAG = re.compile(r"""(?<![\w-])--[A-Za-z][\w-]*""")
STRING = re.compile(r"""(?:f|r|rf|fr)?("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""")


def _code_lines(path):
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip().startswith("#"):
            yield line


def count_params(lines) -> int:
    n, block = 0, None
    for line in lines:
        stripped, indent = line.strip(), len(line) - len(line.lstrip())
        if block is not None and stripped and indent <= block:
            block = None
        if stripped == "params:":
            block = indent
        elif block is not None and indent == block + 4 and re.match(r"\w+\s*=", stripped):
            n += 1
    return n


def count_flags(lines) -> int:
    return sum(len(FLAG.findall(s)) for line in lines for s in STRING.findall(line))


def test_the_counters_count():
    rule = [
        "rule r:",
        "    params:",
        "        a=1,",
        "        b=lambda w: [",
        "            '--x',",
        "        ],",
        "    shell:",
        '        f"{DLGEOM} --settings {{input:q}} cmd --out {{output:q}}"',
        "        # --not-counted",
        '        " --y=3 > {log:q}"',
        "X = ['--builder', 'plain', 'a--b']",
    ]
    lines = [x for x in rule if not x.strip().startswith("#")]
    assert count_params(lines) == 2
    assert count_flags(lines) == 5


def test_rules_carry_few_params_and_flags():
    lines = [line for path in RULE_FILES for line in _code_lines(path)]
    params, flags = count_params(lines), count_flags(lines)
    assert params <= MAX_PARAMS, f"{params} params entries in the rules (at most {MAX_PARAMS})"
    assert flags <= MAX_FLAGS, f"{flags} written-out CLI flags in the rules (at most {MAX_FLAGS})"
