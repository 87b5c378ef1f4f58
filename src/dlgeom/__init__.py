"""dlgeom: explicit L² minimisers of deep ReLU networks by truncation maps.

A numerical study of T. Chen and P. Muñoz Ewald, "Geometric structure of Deep Learning networks
and construction of global L² minimizers", arXiv:2309.10639.  Points are rows (N×Q arrays).
"""

from . import cpu_pin  # noqa: F401 - first: pins the BLAS kernel and numpy dispatch before numpy loads

# isort: split
from .construct import Construction, all_patterns, construct_global, construct_pattern
from .data import Dataset, load_dataset, save_dataset
from .geometry import Assumptions, Geometry, assumptions, geometry
from .network import Network, activation_margin, cost, cost_and_grad, cost_sq, curate, truncate
from .synthetic import make_clustered
from .validation import DlgeomInputError

__version__ = "0.1.0"

__all__ = [
    "Dataset",
    "load_dataset",
    "save_dataset",
    "Assumptions",
    "Geometry",
    "assumptions",
    "geometry",
    "Network",
    "activation_margin",
    "cost",
    "cost_and_grad",
    "cost_sq",
    "curate",
    "truncate",
    "Construction",
    "all_patterns",
    "construct_global",
    "construct_pattern",
    "make_clustered",
    "DlgeomInputError",
    "TruncationClassifier",
    "__version__",
]


def __getattr__(name):
    """``dlgeom.TruncationClassifier`` (the scikit-learn estimator, :mod:`dlgeom.estimator`), imported
    on first use so that ``import dlgeom`` does not load scikit-learn."""
    if name == "TruncationClassifier":
        from .estimator import TruncationClassifier

        return TruncationClassifier
    raise AttributeError(f"module 'dlgeom' has no attribute {name!r}")
