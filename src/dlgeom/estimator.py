"""The scikit-learn estimator of the construction: ``TruncationClassifier``, built on the functions of
:mod:`dlgeom.classifier` (which does not import this module: no import cycle)."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .classifier import predict_metric, predict_network
from .construct import construct_global
from .data import Dataset
from .geometry import assumptions, geometry
from .highdim import construct_highdim, network_cost
from .network import cost
from .thresholds import ZERO_COST
from .validation import SINGULAR_COND, DlgeomInputError

__all__ = ["TruncationClassifier", "ConstructionWarning", "EXPECTED_FAILED_CHECKS"]


class ConstructionWarning(UserWarning):
    """:meth:`TruncationClassifier.fit` built a network that does not reach zero cost on its
    training data (the paper's assumptions A1–A3 fail there): classes are merged."""


#: The checks of :func:`sklearn.utils.estimator_checks.check_estimator` that this estimator fails by
#: design, with the reason (pass as ``expected_failed_checks``).  Every other check passes; the test
#: suite checks that exactly these fail.
EXPECTED_FAILED_CHECKS = {
    "check_classifiers_train": (
        "its blobs are not clustered in the paper's sense: assumption (A2) needs the class radius δ below "
        "1/4 of the smallest distance of a class mean from the barycentre, and the standardised blobs have "
        "r = δ/min_j |x̄_j − x̄| ≈ 1.5 (binary) and 1.6 (3 classes); the construction then merges the classes "
        "(training accuracy 0.5 and 1/3, the check wants > 0.83)"
    ),
}


class TruncationClassifier(ClassifierMixin, BaseEstimator):
    """scikit-learn estimator: ``fit`` builds a zero-cost construction (no gradient descent),
    ``predict`` classifies by the induced metric (docs/mathematics.md §7).

    Features.  Data with M features and Q ≥ 2 classes (labels: any sortable values, mapped to
    0..Q−1 in sorted order, ``classes_``):

    * M = Q: the paper's construction (Thm 2.3, docs/mathematics.md §4) on X itself, L hidden layers.
      If the class means are linearly dependent (X^red singular, A1 fails) but affinely
      independent, the construction of the next case, whose first layer moves them off the origin.
    * M > Q: the construction for inputs in R^M (docs/mathematics.md §8): a first layer
      z = σ(Ax + c) projects R^M onto V, the span of the Q − 1 class-mean differences and one
      direction of least within-class scatter (an isometry on V; the ReLU is the identity on the
      data), then the paper's construction on z: L + 1 hidden layers, all Q wide.  Fitting costs
      O(M³) time and O(M²) memory (two M×M decompositions): fine for tens or hundreds of features.
    * M = Q − 1: the same, after embedding R^{Q−1} in R^Q by a zero coordinate (an isometry, so
      distances, δ and the cone angles are unchanged; the zero coordinate's weights are dropped).
    * M < Q − 1: a ``ValueError`` naming X.  Q class means span at most an M-dimensional affine
      space, so they are affinely dependent: the zero-cost constructions need them affinely
      independent (A1), and projecting or padding cannot create that.

    Data whose class means are affinely dependent raise a ``ValueError`` naming X, for the same
    reason.  A data set that violates the paper's other assumptions is not an error: the
    construction is built anyway (its cost may then be > 0), and
    ``dlgeom.assumptions(clf.construction_.geometry)`` (the paper's construction) or
    ``clf.construction_.summary(clf.data_)`` (with the first layer) says which assumption fails.
    ``predict`` needs the ``n_features_in_`` features seen by ``fit`` (a ``ValueError``
    otherwise, as for every scikit-learn estimator).

    Parameters
    ----------
    n_layers : int or None, default=None
        L ≥ Q collapse layers (None: L = Q); for M ≠ Q the first layer comes on top.
    use_D : {'eff', 'paper'}, default='eff'
        D_eff = min(D, min_j |x̄_j − x̄|) or the paper's D (4.26) for the μ-box.
    theta0 : float or None, default=None
        The angle margin θ_0 (None: (π − max_j θ_{*,j})/2).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted; class ``classes_[j]`` is class j of the construction.
    n_features_in_ : int
        Number of features seen during fit (M ≥ Q − 1).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during fit; only set when X has string column names.
    data_ : dlgeom.Dataset
        The training data with labels coded 0..Q−1 (targets Y = I).
    construction_ : dlgeom.Construction or dlgeom.highdim.HighDimConstruction
        The paper's construction: the network, its geometry and μ.  With the first layer (M ≠ Q,
        or X^red singular): the first layer (``A``, ``c``), the whole network (``network``, a
        ``dlgeom.highdim.ReluNet``) and the construction on the embedded data (``inner``).

    See Also
    --------
    dlgeom.construct_global : the construction in R^Q as a function.
    dlgeom.highdim.construct_highdim : the construction in R^M as a function.
    dlgeom.classifier.predict_metric : the prediction rule as a function.

    Examples
    --------
    >>> import dlgeom
    >>> from dlgeom.estimator import TruncationClassifier
    >>> data = dlgeom.make_clustered(3, 50, 0.1, seed=0)
    >>> clf = TruncationClassifier().fit(data.X, data.y)
    >>> clf.classes_
    array([0, 1, 2])
    >>> float(clf.score(data.X, data.y))
    1.0
    >>> bool(dlgeom.cost(clf.construction_.network, clf.data_) < 1e-10)
    True

    More features than classes (M = 6, Q = 3):

    >>> from dlgeom.highdim import make_clustered_highdim, network_cost
    >>> wide = make_clustered_highdim(3, 6, 50, 0.1, seed=0)
    >>> clf = TruncationClassifier().fit(wide.X, wide.y)
    >>> clf.n_features_in_, clf.construction_.network.n_hidden
    (6, 4)
    >>> float(clf.score(wide.X, wide.y))
    1.0
    >>> bool(network_cost(clf.construction_.network, clf.data_) < 1e-10)
    True
    """

    def __init__(self, n_layers=None, use_D="eff", theta0=None):
        self.n_layers = n_layers
        self.use_D = use_D
        self.theta0 = theta0

    def fit(self, X, y):
        """Build the construction on (X, y).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training points, one per row; n_features ≥ n_classes − 1.
        y : array-like of shape (n_samples,)
            Class labels, at least 2 classes; every class needs at least two points.

        Returns
        -------
        self : TruncationClassifier
            The fitted estimator.
        """
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        q, m = self.classes_.size, X.shape[1]
        if q < 2:
            raise DlgeomInputError(f"y: needs at least 2 classes, got {q} class")
        if m < q - 1:
            raise DlgeomInputError(
                f"X: has {m} feature(s) but y has {q} classes; the construction needs at least Q - 1 = {q - 1} "
                "features (Q class means in fewer dimensions are affinely dependent)"
            )
        if m == q:
            self.data_ = Dataset(X, codes)
            geom = geometry(self.data_, self.theta0)
            if geom.cond_xred <= SINGULAR_COND:  # False for inf and nan
                self.construction_ = construct_global(
                    self.data_, self.n_layers, use_D=self.use_D, theta0=self.theta0, geom=geom
                )
                rep = assumptions(geom)
                checks = {"A1": rep.A1.holds, "A2": rep.A2.holds, "A3": rep.A3.holds}
                _warn_unless_zero(cost(self.construction_.network, self.data_), checks)
                return self
        self.data_ = Dataset(X, codes, np.eye(q))
        con = construct_highdim(self.data_, n_layers=self.n_layers, use_D=self.use_D, theta0=self.theta0)
        if con.status != "ok":
            raise DlgeomInputError(f"X: no construction, {con.message}")
        self.construction_ = con
        summary = con.summary(self.data_)
        _warn_unless_zero(network_cost(con.network, self.data_), {k: summary[k] for k in ("A1", "A2", "A3")})
        return self

    def predict(self, X):
        """Class of every row of X: truncate, then the nearest collapsed class point.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Points to classify.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted labels (values of ``classes_``).
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self.classes_[predict_metric(self.construction_, self.data_.Y, X)]

    def predict_network(self, X):
        """Prediction by the network's own rule argmin_j |f(x) − y_j|.  Agrees with :meth:`predict`
        except at exact ties: the truncation maps whole regions of unseen points onto the set where
        two targets are equally far, and rounding may then break the tie differently.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            Points to classify.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted labels (values of ``classes_``).
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self.classes_[predict_network(self.construction_, self.data_.Y, X)]


def _warn_unless_zero(training_cost: float, checks: dict) -> None:
    """A :class:`ConstructionWarning` when the fitted network's training cost is not zero."""
    if training_cost <= ZERO_COST:
        return
    failing = [name for name, holds in checks.items() if not holds]
    why = f"{', '.join(failing)} fail{'s' if len(failing) == 1 else ''}" if failing else "A1-A3 hold"
    warnings.warn(
        f"TruncationClassifier: the construction does not reach zero cost on the training data (C = "
        f"{training_cost:.3g}; {why}): classes are merged, and the prediction may be one class for every "
        "point; the paper's assumptions: docs/mathematics.md §3",
        ConstructionWarning,
        stacklevel=3,
    )
