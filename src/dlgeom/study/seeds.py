"""Seed lists for numpy's SeedSequence: a cell's prefix (base seed and cell ids) and more integers."""

from __future__ import annotations

__all__ = ["seed_list"]


def seed_list(prefix, *more) -> list[int]:
    """A seed list: the cell's prefix (base seed and ids) followed by ``more``."""
    return [int(x) for x in list(prefix) + list(more)]
