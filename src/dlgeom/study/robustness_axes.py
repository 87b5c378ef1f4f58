"""The robustness study's axes: which factors it moves away from the base point, and that point.

:data:`AXES` names every axis and what it changes; :data:`BASE` is the base point every axis
starts from (one factor at a time).  :func:`parse_axis_value` checks a value of an axis and
:func:`point_params` makes the parameters of one point, for
:func:`dlgeom.study.measurements.make_point`.  These are conventions of the study (``dlgeom
robustness``, config key ``robustness``); the library module :mod:`dlgeom.robustness` has the
perturbations and the μ search they use, :mod:`dlgeom.study.measurements` the measurements.
"""

from __future__ import annotations

import numpy as np

from ..synthetic import NOISE_SHAPES
from ..validation import DlgeomInputError, check_choice, check_float, check_int

__all__ = ["AXES", "BASE", "parse_axis_value", "point_params"]

#: The robustness axes and what each one changes (the base point is :data:`BASE`).
AXES = {
    "delta_ratio": "δ-ratio r of the inliers (A2 needs r < 1/4)",
    "theta": "cone angle of the mean simplex at δ = 0, radians or 'regular' (A3 needs θ_* < π)",
    "noise": "noise shape: uniform (in the ball), gaussian, anisotropic (elongation from the base)",
    "elongation": "axis ratio of anisotropic Gaussian clusters (noise = anisotropic)",
    "outlier_fraction": "fraction of each class placed at 2-4 δ (raises the realised r)",
    "label_noise": "fraction of training labels moved to another class (test labels stay clean)",
    "imbalance": "ratio N_1 / N_Q of the largest to the smallest class, sizes geometric in between",
    "cond_xred": "cond(X^red) of a mean simplex squashed towards affine dependence (near-collinear)",
    "cond_shift": "cond(X^red) of the regular simplex translated towards the origin (A1 only)",
    "n_per_class": "training points per class (the largest class under imbalance)",
}

#: The base point of every axis.
BASE = {
    "Q": 3,
    "theta": "regular",
    "delta_ratio": 0.1,
    "noise": "uniform",
    "elongation": 5.0,
    "outlier_fraction": 0.0,
    "label_noise": 0.0,
    "imbalance": 1.0,
    "cond_xred": None,
    "cond_shift": None,
    "n_per_class": 60,
    "n_test_per_class": 100,
}


def parse_axis_value(axis: str, value):
    """The value of an axis point as a number or a string ('regular' for θ, a noise shape);
    raises :class:`DlgeomInputError` naming the axis and what is allowed."""
    check_choice(axis, "axis", tuple(AXES))
    if axis == "noise":
        return check_choice(str(value), "noise", NOISE_SHAPES)
    if axis == "theta" and str(value) == "regular":
        return "regular"
    if axis == "n_per_class":
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise DlgeomInputError(f"n_per_class: expected an integer >= 2, got {value!r}") from None
        if not v.is_integer():
            raise DlgeomInputError(f"n_per_class: expected an integer >= 2, got {value!r}")
        return check_int(int(v), "n_per_class", minimum=2)
    bounds = {
        "delta_ratio": {"low": 0.0, "low_open": True},
        "theta": {"low": 0.0, "high": 2 * np.pi, "low_open": True},
        "elongation": {"low": 1.0},
        "outlier_fraction": {"low": 0.0, "high": 0.5, "high_open": True},
        "label_noise": {"low": 0.0, "high": 0.5},
        "imbalance": {"low": 1.0},
        "cond_xred": {"low": 1.0},
        "cond_shift": {"low": 1.0},
    }[axis]
    return check_float(value, axis, **bounds)


def point_params(base: dict, axis: str, value) -> dict:
    """The base point with one factor changed (``noise`` is set to 'anisotropic' on the
    elongation axis)."""
    unknown = sorted(set(base) - set(BASE))
    if unknown:
        raise DlgeomInputError(f"base: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(BASE)}")
    p = {**BASE, **base, axis: parse_axis_value(axis, value)}
    if axis == "elongation":
        p["noise"] = "anisotropic"
    return p
