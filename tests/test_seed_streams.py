"""The study's seed streams live in one table (dlgeom.study.seeds.SEED_STREAMS): every rule names
its stream, no rule writes a stream number, and streams are shared only where documented."""

import re
from collections import Counter
from pathlib import Path

import pytest

from dlgeom.study.seeds import SEED_STREAMS, stream

ROOT = Path(__file__).resolve().parents[1]
RULE_FILES = sorted((ROOT / "workflow" / "rules").glob("*.smk")) + [ROOT / "Snakefile"]
# stages that share a stream number on purpose (their keys never coincide; see the module docstring)
SHARED_ON_PURPOSE = {3000: {"robustness", "collapse"}}


def _seed_calls():
    for path in RULE_FILES:
        for call in re.findall(r"seed_arg\(([^\n]*)\)", path.read_text(encoding="utf-8")):
            yield path.name, call


def test_every_rule_seed_names_its_stream():
    calls = [(name, call) for name, call in _seed_calls() if not call.startswith("key,")]
    assert calls, "no seed_arg calls found: the parser is broken"
    used = set()
    for name, call in calls:
        assert not re.search(r",\s*\d+\s*\)?$", call), f"{name}: numeric seed stream in seed_arg({call})"
        found = re.findall(r'stream\("([a-z_]+)"\)', call)
        if found:
            used.update(found)
    assert used <= set(SEED_STREAMS)
    # every stream of the table seeds something
    assert used == set(SEED_STREAMS)


def test_streams_are_distinct_unless_shared_on_purpose():
    counts = Counter(SEED_STREAMS.values())
    for number, n in counts.items():
        if n > 1:
            sharing = {k for k, v in SEED_STREAMS.items() if v == number}
            assert sharing == SHARED_ON_PURPOSE.get(number), f"stream {number} shared by {sorted(sharing)}"


def test_unknown_stream_is_named():
    with pytest.raises(KeyError, match="seed stream 'nope'"):
        stream("nope")
