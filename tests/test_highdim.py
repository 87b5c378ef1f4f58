"""Inputs in R^M, M >= Q (dlgeom.highdim): both sides computed — the network's cost by a forward
pass, against zero; the embedding layer against an orthogonal projection; the generator against
its specification; the construction against PCA-then-construct."""

from __future__ import annotations

import json

import numpy as np
import pytest

import dlgeom
from dlgeom.cli import main
from dlgeom.data import Dataset
from dlgeom.highdim import (
    ReluNet,
    captured_mean_energy,
    class_cost,
    construct_highdim,
    embedding,
    make_clustered_highdim,
    network_cost,
    subspace_means,
    subspace_pca,
)
from dlgeom.validation import DlgeomInputError

ZERO = 1e-10


@pytest.mark.parametrize("q,m", [(2, 2), (2, 7), (3, 3), (3, 5), (4, 4), (4, 12), (5, 9)])
@pytest.mark.parametrize("layers", ["embed", "fused"])
def test_zero_cost_for_several_q_m(q, m, layers):
    data = make_clustered_highdim(q, m, 30, 0.1, perp_scale=1.0, seed=[q, m])
    con = construct_highdim(data, "means", layers)
    assert con.status == "ok"
    # the network: Q×M first layer, then Q×Q; Q + 1 hidden layers (embed) or Q (fused)
    assert con.network.weights[0].shape == (q, m)
    assert con.network.n_hidden == (q + 1 if layers == "embed" else q)
    c = network_cost(con.network, data)
    assert c <= ZERO * np.linalg.norm(data.Y)
    # the other side: the outputs are the targets point by point
    out = con.network.forward(data.X)
    assert np.max(np.abs(out - data.Y.T[data.y])) < 1e-9


def test_embedding_is_an_orthogonal_projection_onto_the_mean_span():
    data = make_clustered_highdim(3, 8, 25, 0.1, perp_scale=2.0, seed=4)
    P = subspace_means(data)
    np.testing.assert_allclose(P @ P.T, np.eye(3), atol=1e-12)
    D = data.means - data.barycenter
    # the mean differences lie in the row space of P: projecting keeps them
    np.testing.assert_allclose(D @ P.T @ P, D, atol=1e-12)
    assert captured_mean_energy(data, P) == pytest.approx(1.0, abs=1e-12)
    A, c, ok = embedding(data, P)
    assert ok
    Z = data.X @ A.T + c
    assert Z.min() > 0  # σ is the identity on the data: layer 1 is τ_{A,c} = A⁺A
    # τ_{A,c}(x) = A⁺(σ(Ax + c) − c) is the orthogonal projection onto span(P)
    tau = (np.maximum(Z, 0) - c) @ np.linalg.pinv(A).T
    np.testing.assert_allclose(tau, data.X @ P.T @ P, atol=1e-10)
    # the projected means are linearly independent (Z^red invertible)
    zmeans = np.array([Z[data.y == j].mean(axis=0) for j in range(3)])
    assert np.linalg.cond(zmeans) < 1e6


def test_m_equals_q_matches_the_rq_construction():
    base = dlgeom.make_clustered(3, 30, 0.1, seed=5)
    data = base
    c_rq = dlgeom.cost(dlgeom.construct_global(base, 3).network, base)
    c_hd = network_cost(construct_highdim(data).network, data)
    assert c_rq <= ZERO and c_hd <= ZERO


def test_near_apex_collapses():
    data = make_clustered_highdim(4, 10, 30, 0.1, seed=6)
    con = construct_highdim(data, mu="near")
    assert network_cost(con.network, data) <= ZERO * 2
    geom = con.inner.geometry
    # the apex sits at distance 2.5 δ_V from every class mean, towards the barycentre
    dist = np.linalg.norm(con.inner.apexes - geom.means, axis=1)
    np.testing.assert_allclose(dist, 2.5 * geom.delta, rtol=1e-12)
    assert not con.inner.mu_in_box  # outside §4's box (-D_eff, -2δ√Q)


def test_noise_in_extra_directions_breaks_pca_not_the_construction():
    data = make_clustered_highdim(3, 10, 30, 0.1, perp_scale=10.0, seed=7)
    assert data.ratio > 0.25  # A2 fails in R^M
    good = construct_highdim(data, "means")
    pca = construct_highdim(data, "pca")
    assert network_cost(good.network, data) <= ZERO * 2
    s = pca.summary(data)
    assert s["status"] == "ok" and s["cost"] > 1e-2
    assert s["r_V"] > good.summary(data)["r_V"]
    # PCA keeps the mean spread but picks up the noisy direction
    assert captured_mean_energy(data, subspace_pca(data)) > 0.99


def test_generator_spec_and_determinism():
    a = make_clustered_highdim(3, 6, 20, 0.2, perp_scale=3.0, seed=[1, 2])
    b = make_clustered_highdim(3, 6, 20, 0.2, perp_scale=3.0, seed=[1, 2])
    np.testing.assert_array_equal(a.X, b.X)
    base = dlgeom.make_clustered(3, 20, 0.2, seed=[1, 2, 0])
    # an isometric embedding: pairwise distances of the class means are those of the R^Q data
    da = np.linalg.norm(a.means[:, None] - a.means[None], axis=-1)
    mb = dlgeom.geometry(base).means
    db = np.linalg.norm(mb[:, None] - mb[None], axis=-1)
    np.testing.assert_allclose(da, db, atol=1e-12)
    assert a.meta["r_Q"] == pytest.approx(0.2)
    # the noise in the extra directions has largest norm perp_scale · δ, the in-span noise δ:
    # so 3δ <= max |x − x̄_j| <= sqrt(1 + 3²) δ
    delta = base.meta["realised"]["delta"]
    dev = np.linalg.norm(a.X - a.means[a.y], axis=1)
    assert 3 * delta * (1 - 1e-12) <= dev.max() <= np.sqrt(10) * delta * (1 + 1e-12)
    # without that noise the data lie in a Q-dimensional linear subspace of R^M
    flat = make_clustered_highdim(3, 6, 20, 0.2, perp_scale=0.0, seed=[1, 2])
    sv = np.linalg.svd(flat.X, compute_uv=False)
    assert sv[3] < 1e-12 * sv[0] and sv[2] > 1e-3 * sv[0]


def test_relu_net_forward_and_cost():
    rng = np.random.default_rng(0)
    W1, b1 = rng.standard_normal((3, 5)), rng.standard_normal(3)
    W2, b2 = rng.standard_normal((2, 3)), rng.standard_normal(2)
    net = ReluNet((W1, W2), (b1, b2))
    X = rng.standard_normal((7, 5))
    expected = np.maximum(X @ W1.T + b1, 0) @ W2.T + b2
    np.testing.assert_allclose(net.forward(X), expected, atol=1e-14)
    assert net.n_params == 3 * 5 + 3 + 2 * 3 + 2
    y = np.array([0, 0, 0, 1, 1, 1, 1])
    Y = np.eye(2)
    direct = np.sqrt(sum(np.sum((expected[y == j] - Y[:, j]) ** 2) / np.sum(y == j) for j in range(2)))
    assert class_cost(expected, y, Y) == pytest.approx(direct, rel=1e-14)


def test_bad_input():
    with pytest.raises(DlgeomInputError, match="M"):
        make_clustered_highdim(4, 3)
    with pytest.raises(DlgeomInputError, match="y"):
        Dataset(np.zeros((4, 3)), [0, 0, 2, 2])
    with pytest.raises(DlgeomInputError, match="M >= Q - 1"):
        construct_highdim(
            Dataset(np.random.default_rng(0).standard_normal((12, 2)), np.repeat([0, 1, 2, 3], 3), np.eye(4))
        )
    data = make_clustered_highdim(2, 3, 10, seed=1)
    with pytest.raises(DlgeomInputError, match="projection"):
        construct_highdim(data, "lda")
    with pytest.raises(DlgeomInputError, match="weights"):
        ReluNet((np.eye(2), np.eye(3)), (np.zeros(2), np.zeros(3)))
    # affinely dependent means: a status from the embedding, an error from the subspace
    X = np.array([[0, 0, 0], [0.1, 0, 0], [1, 0, 0], [1.1, 0, 0], [2, 0, 0], [2.1, 0, 0]], float)
    with pytest.raises(DlgeomInputError, match="affinely dependent"):
        subspace_means(Dataset(X, [0, 0, 1, 1, 2, 2]))


def test_cli_highdim(tmp_path, capsys):
    out = tmp_path / "hd.json"
    rc = main(
        [
            "highdim",
            "--Q",
            "2",
            "--M",
            "3",
            "--delta-ratio",
            "0.1",
            "--perp-scale",
            "1,10",
            "--replicates",
            "1",
            "--n",
            "10",
            "--seed",
            "3",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert rc == 0
    doc = json.loads(out.read_text())
    assert doc["seed"] == [3] and doc["kind"] == "highdim"
    methods = {r["method"] for r in doc["rows"]}
    assert {"means_embed", "means_fused", "means_near", "pca_embed", "rq_direct"} <= methods
    assert all(r["seed"].startswith("3-") for r in doc["rows"])
    # bad input: one line, exit 2, no file
    bad = tmp_path / "bad.json"
    capsys.readouterr()
    rc = main(["highdim", "--Q", "1", "--M", "3", "--out", str(bad)])
    err = capsys.readouterr().err
    assert rc == 2 and not bad.exists()
    assert err.count("\n") == 1 and "--Q" in err


def _in_mean_hull(data: Dataset) -> Dataset:
    """``data`` (R^Q) in coordinates of the affine hull of its class means: R^{Q−1}."""
    U, _, _ = np.linalg.svd((data.means - data.barycenter).T)
    return Dataset((data.X - data.barycenter) @ U[:, : data.n_classes - 1], data.y, data.Y)


@pytest.mark.parametrize("q", [2, 3, 4])
def test_one_dimension_fewer_than_classes(q):
    data = _in_mean_hull(dlgeom.make_clustered(q, 25, 0.1, seed=[7, q]))
    assert data.dim == q - 1
    con = construct_highdim(data)
    assert con.status == "ok"
    assert con.network.weights[0].shape == (q, q - 1)
    assert con.A.shape == (q, q - 1)
    # the cost from a forward pass written out here, against zero
    H = data.X
    for W, b in zip(con.network.weights[:-1], con.network.biases[:-1]):
        H = np.maximum(H @ W.T + b, 0.0)
    out = H @ con.network.weights[-1].T + con.network.biases[-1]
    assert np.sqrt(sum(np.mean(np.sum((out[data.y == j] - data.Y[:, j]) ** 2, axis=1)) for j in range(q))) < ZERO
    # the same function as the construction on the data padded by a zero coordinate
    padded = Dataset(np.column_stack([data.X, np.zeros(data.X.shape[0])]), data.y, data.Y)
    probe = np.random.default_rng(q).standard_normal((50, q - 1)) * 2
    assert np.allclose(
        con.network.forward(probe),
        construct_highdim(padded).network.forward(np.column_stack([probe, np.zeros(50)])),
        rtol=0,
        atol=1e-12,
    )


def test_collapse_layer_count_and_D_pass_through():
    data = make_clustered_highdim(3, 5, 20, 0.1, seed=4)
    con = construct_highdim(data, n_layers=5)
    assert con.network.n_hidden == 6 and con.inner.network.n_hidden == 5
    assert network_cost(con.network, data) < ZERO
    assert construct_highdim(data, use_D="paper").inner.use_D == "paper"
    with pytest.raises(DlgeomInputError, match="n_layers"):
        construct_highdim(data, n_layers=2)
