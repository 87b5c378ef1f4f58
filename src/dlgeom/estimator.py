"""The scikit-learn estimator of the construction: ``TruncationClassifier``, built on the functions of
:mod:`dlgeom.classifier` (which does not import this module: no import cycle)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from .classifier import predict_metric, predict_network
from .construct import construct_global
from .data import Dataset
from .validation import DlgeomInputError, as_float_array

__all__ = ["TruncationClassifier"]


class TruncationClassifier(ClassifierMixin, BaseEstimator):
    """scikit-learn estimator: ``fit`` builds the global construction (no gradient descent),
    ``predict`` uses the induced metric.

    Needs as many features as classes (the paper's setting).  Labels may be any sortable values;
    they are mapped to 0..Q−1 in sorted order (``classes_``).

    Parameters
    ----------
    n_layers : int or None
        L ≥ Q hidden layers (default Q).
    use_D : {'eff', 'paper'}
        D_eff = min(D, min_j |x̄_j − x̄|) (default) or the paper's D for the μ-box.
    theta0 : float or None
        The angle margin θ_0 (default (π − max_j θ_{*,j})/2).
    """

    def __init__(self, n_layers=None, use_D="eff", theta0=None):
        self.n_layers = n_layers
        self.use_D = use_D
        self.theta0 = theta0

    def fit(self, X, y):
        X = as_float_array(X, "X", 2)
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise DlgeomInputError(f"y: expected {X.shape[0]} labels in a 1-D array, got shape {y.shape}")
        self.classes_, codes = np.unique(y, return_inverse=True)
        if self.classes_.size != X.shape[1]:
            raise DlgeomInputError(
                f"X: has {X.shape[1]} features but y has {self.classes_.size} classes; "
                "the construction needs one feature per class (project the data first)"
            )
        self.data_ = Dataset(X, codes)
        self.construction_ = construct_global(self.data_, self.n_layers, use_D=self.use_D,
                                              theta0=self.theta0)
        self.n_features_in_ = X.shape[1]
        return self

    def _check_fitted(self):
        if not hasattr(self, "construction_"):
            raise DlgeomInputError("TruncationClassifier: call fit before predict")

    def predict(self, X):
        self._check_fitted()
        return self.classes_[predict_metric(self.construction_, self.data_.Y, X)]

    def predict_network(self, X):
        """Prediction by the network's own rule (agrees with :meth:`predict`)."""
        self._check_fitted()
        return self.classes_[predict_network(self.construction_, self.data_.Y, X)]
