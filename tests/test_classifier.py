"""docs/mathematics.md §7: the induced metric and the classifier."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import dlgeom
from dlgeom.classifier import induced_distance, metric_matrix, predict_metric, predict_network
from dlgeom.estimator import TruncationClassifier


def _fresh_ball_points(rng, means, delta, n):
    q = means.shape[1]
    y = rng.integers(0, means.shape[0], n)
    v = rng.standard_normal((n, q))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return means[y] + v * delta * rng.random(n)[:, None] ** (1 / q), y


@pytest.mark.parametrize("q,theta", [(2, None), (3, None), (4, 2.0), (5, None)])
def test_accuracy_one_on_fresh_points_within_delta(q, theta):
    data = dlgeom.make_clustered(q, 30, 0.1, theta=theta, seed=q)
    clf = TruncationClassifier().fit(data.X, data.y)
    g = clf.construction_.geometry
    X, y = _fresh_ball_points(np.random.default_rng(0), g.means, g.delta, 3000)
    assert clf.score(X, y) == 1.0
    assert np.array_equal(clf.predict(X), clf.predict_network(X))


def test_points_in_the_ball_are_at_distance_zero_from_their_class_point():
    data = dlgeom.make_clustered(3, 30, 0.1, seed=1)
    con = dlgeom.construct_global(data, 3)
    g = con.geometry
    X, y = _fresh_ball_points(np.random.default_rng(1), g.means, g.delta, 500)
    d = induced_distance(con, data.Y, dlgeom.curate(con.network, X), con.apexes[y])
    assert d.max() <= 1e-12
    # the metric maps class points to targets: |M p_j − y_j| = 0
    M = metric_matrix(con, data.Y)
    np.testing.assert_allclose(con.apexes @ M.T, data.Y.T, atol=1e-12)


def test_metric_rule_agrees_with_the_network_far_from_the_data():
    data = dlgeom.make_clustered(4, 30, 0.2, theta=1.8, seed=2)
    con = dlgeom.construct_global(data, 5)
    X = np.random.default_rng(3).normal(scale=3.0, size=(5000, 4))
    assert np.array_equal(predict_metric(con, data.Y, X), predict_network(con, data.Y, X))


def test_estimator_conventions():
    """Arbitrary labels, classes_, get_params/clone, errors for wrong feature counts."""
    from sklearn.base import clone

    data = dlgeom.make_clustered(3, 30, 0.1, seed=4)
    labels = np.array(["setosa", "versicolor", "virginica"])[data.y]
    clf = TruncationClassifier(n_layers=5)
    assert clone(clf).get_params() == {"n_layers": 5, "use_D": "eff", "theta0": None}
    clf.fit(data.X, labels)
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]
    assert clf.score(data.X, labels) == 1.0
    with pytest.raises(dlgeom.DlgeomInputError, match=r"X: has 1 feature\(s\) but y has 3 classes"):
        TruncationClassifier().fit(data.X[:, :1], labels)
    with pytest.raises(NotFittedError, match="fit"):
        TruncationClassifier().predict(data.X)
