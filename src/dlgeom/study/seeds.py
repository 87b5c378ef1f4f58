"""Seeds of the study: the table of seed streams, and seed lists for numpy's SeedSequence.

Every job of the study draws from ``SeedSequence([base_seed, id1, id2, stream, ...])``: the base
seed of the config, two ids from the sha256 of the job's key (a cell key such as ``Q3/theta2/r0.1``
or a name such as ``robustness``), and the number of the *stream* below, named for what it seeds.
Two jobs whose keys differ draw independent numbers even on the same stream; the stream number
keeps apart stages that share a key (a grid cell's data and its landscape runs, for instance).

``robustness`` and ``collapse`` both use 3000: their keys never coincide (``robustness`` against
grid-cell keys), so their numbers are independent, and the committed studies were drawn with it.
"""

from __future__ import annotations

__all__ = ["SEED_STREAMS", "seed_list", "stream"]

SEED_STREAMS: dict[str, int] = {
    "cell_data": 1000,  # a grid cell's synthetic data, constructions and probes
    "landscape": 2000,  # a landscape cell's starts, runs and probes
    "landscape_scaling": 2001,  # the landscape as Q grows: data and runs per Q (keys "landscape_scaling/Q<Q>")
    "robustness": 3000,  # the robustness axes' replicates (key "robustness")
    "collapse": 3000,  # the collapse stage's escape tests (keys: grid cells)
    "realdata": 3001,  # the bundled real data sets' splits and sweeps (key "realdata")
    "user_data": 3002,  # a user dataset's robustness sweep (key "user/<name>")
    "beyond_highdim": 7001,  # data in R^M, M > Q
    "beyond_sls": 7002,  # the sequential least-squares construction
    "beyond_shallow": 7003,  # the shallow (one hidden layer) comparison
}


def stream(name: str) -> int:
    """The number of the seed stream ``name`` (a key of :data:`SEED_STREAMS`)."""
    try:
        return SEED_STREAMS[name]
    except KeyError:
        raise KeyError(f"seed stream {name!r}: not one of {sorted(SEED_STREAMS)}") from None


def seed_list(prefix, *more) -> list[int]:
    """A seed list: the cell's prefix (base seed and ids) followed by ``more``."""
    return [int(x) for x in list(prefix) + list(more)]
