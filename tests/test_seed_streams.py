"""The study's seed streams live in one table (dlgeom.study.seeds.SEED_STREAMS): every stage
command names its stream (``job_seed(key, "name")`` / ``seed_text(base, key, "name")`` where it
registers), no command or rule writes a stream number, no rule writes a seed, and streams are
shared only where documented."""

import ast
from collections import Counter
from pathlib import Path

import pytest

from dlgeom.study.seeds import SEED_STREAMS, stream

ROOT = Path(__file__).resolve().parents[1]
RULE_FILES = sorted((ROOT / "workflow" / "rules").glob("*.smk")) + [ROOT / "Snakefile"]
STAGE_FILES = sorted((ROOT / "src" / "dlgeom" / "study").glob("*_run.py"))
# stages that share a stream number on purpose (their keys never coincide; see the module docstring)
SHARED_ON_PURPOSE = {3000: {"robustness", "collapse"}}


def _streams():
    """(file, stream argument) of every job_seed(key, stream) / seed_text(base, key, stream) call."""
    for path in STAGE_FILES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("job_seed", "seed_text"):
                at = 1 if node.func.id == "job_seed" else 2
                if len(node.args) > at:
                    yield path.name, node.args[at]


def test_every_stage_seed_names_its_stream():
    found = list(_streams())
    assert found, "no job_seed/seed_text calls with a stream found: the parser is broken"
    used = set()
    for name, arg in found:
        assert isinstance(arg, ast.Constant) and isinstance(arg.value, str), f"{name}: {ast.dump(arg)} is not a name"
        used.add(arg.value)
    assert used <= set(SEED_STREAMS), used - set(SEED_STREAMS)
    # every stream of the table seeds something
    assert used == set(SEED_STREAMS)


def test_no_rule_writes_a_seed():
    for path in RULE_FILES:
        code = "\n".join(
            line for line in path.read_text(encoding="utf-8").splitlines() if not line.strip().startswith("#")
        )
        assert "--seed" not in code and "seed_arg" not in code and "stream(" not in code, path.name


def test_streams_are_distinct_unless_shared_on_purpose():
    counts = Counter(SEED_STREAMS.values())
    for number, n in counts.items():
        if n > 1:
            sharing = {k for k, v in SEED_STREAMS.items() if v == number}
            assert sharing == SHARED_ON_PURPOSE.get(number), f"stream {number} shared by {sorted(sharing)}"


def test_unknown_stream_is_named():
    with pytest.raises(KeyError, match="seed stream 'nope'"):
        stream("nope")
