"""The optimisers of the landscape stage and the result of one run (shared by
:mod:`dlgeom.landscape`, run by run, and :mod:`dlgeom.batched`, many runs at once)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

OPTIMISERS = ("gd", "adam", "lbfgs")


@dataclass(frozen=True)
class OptResult:
    """End point of one optimiser run (scipy-style fields).  ``cost`` is C (not C²)."""

    x: np.ndarray
    cost: float
    grad_norm: float
    n_iter: int
    status: str  # 'converged' | 'zero' | 'max_iter' | 'diverged'
    message: str
    seconds: float
    history: list = field(default_factory=list)  # C every ``record_every`` iterations

    @property
    def success(self) -> bool:
        return self.status in ("converged", "zero")
