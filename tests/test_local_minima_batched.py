"""The batched pattern analysis (docs/mathematics.md §5, "Batched least squares") against the sequential
reference: every μ by a whole construction and np.linalg.lstsq."""

import numpy as np
import pytest

import dlgeom
import dlgeom.local_minima as lm
from dlgeom.construct import all_patterns

EXACT = (
    "s",
    "mu",
    "mu_in_box",
    "value_paper",
    "value_biasfree",
    "value_affine",
    "value_biasfree_closed",
    "value_affine_closed",
    "closed_form_error",
    "grad_norm",
)
VERDICTS = ("mu_dependent", "stationary", "mu_descent")

CASES = {
    "Q3 regular": lambda: dlgeom.make_clustered(3, 40, 0.1, seed=11),
    "Q4 anisotropic": lambda: dlgeom.make_clustered(4, 30, 0.08, seed=5, noise="anisotropic"),
    "Q5 tilted": lambda: dlgeom.make_clustered(5, 25, 0.2, theta=2.8, seed=3),
    "Q3 wide delta": lambda: dlgeom.make_clustered(3, 30, 1.0, seed=2),  # outside A1-A3: inexact curation
}


def _mus(data, geom, n, seed):
    """μ samples of every pattern, each pattern's box, plus the default μ and points just around it."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in all_patterns(data.n_classes):
        mu0 = dlgeom.construct.default_mu(geom, s)
        rows += [lm.mu_samples(geom, s, n, rng), mu0[None], mu0 + 1e-6 * np.eye(data.n_classes)]
    return np.concatenate(rows)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("extra_layers", [0, 2])
def test_batched_values_equal_lstsq(case, extra_layers):
    """Every least-squares value to 3e-11 (relative; θ = 2.8 makes W_* ill-conditioned and the forward
    pass itself loses that much) or 1e-13 of the largest value."""
    data = CASES[case]()
    geom = dlgeom.geometry(data)
    L = data.n_classes + extra_layers
    mus = _mus(data, geom, 6, 1)
    ref = lm.affine_values_sq_sequential(data, geom, mus, L)
    for kernel in ("numpy", "fused")[: 1 + (lm.fused_patterns_unavailable() is None)]:
        new = lm.affine_values_sq(data, geom, mus, L, kernel)
        assert new.shape == ref.shape == (len(mus),)
        np.testing.assert_allclose(new, ref, rtol=3e-11, atol=1e-13 * ref.max())


@pytest.mark.parametrize("case", ["Q3 regular", "Q5 tilted"])
def test_numpy_and_compiled_batches_agree(case, monkeypatch):
    """The stacked-numpy version (no compiler) gives the compiled kernel's values to rounding; where the
    kernel is not built, asking for it is a one-line error naming what needs nothing compiled."""
    if lm._fused_patterns is None:
        pytest.skip("dlgeom._fused_patterns is not built here")
    data = CASES[case]()
    geom = dlgeom.geometry(data)
    mus = _mus(data, geom, 4, 2)
    compiled = lm.affine_values_sq(data, geom, mus, data.n_classes, "fused")
    plain = lm.affine_values_sq(data, geom, mus, data.n_classes, "numpy")
    monkeypatch.setattr(lm, "_fused_patterns", None)
    with pytest.raises(dlgeom.DlgeomInputError, match="'numpy' needs nothing compiled"):
        lm.affine_values_sq(data, geom, mus, data.n_classes, "fused")
    with pytest.raises(dlgeom.DlgeomInputError, match="engine: 'fused' cannot run here"):
        lm.analyse_patterns(data, engine="fused")
    np.testing.assert_array_equal(lm.affine_values_sq(data, geom, mus, data.n_classes), plain)
    np.testing.assert_allclose(plain, compiled, rtol=3e-11, atol=1e-13 * compiled.max())


def test_ill_conditioned_rows_go_to_lstsq(monkeypatch):
    """With every eigenvalue below the rank tolerance and no null direction accepted, every value is the
    reference's own, bit for bit; with the real tolerances, the all-collapsed pattern's exact null
    direction is dropped and its value is zero to rounding, as lstsq's."""
    data = CASES["Q3 regular"]()
    geom = dlgeom.geometry(data)
    mus = _mus(data, geom, 3, 4)
    ref = lm.affine_values_sq_sequential(data, geom, mus, 3)
    collapsed = lm.mu_samples(geom, np.zeros(3, int), 5, np.random.default_rng(0))
    vals = lm.affine_values_sq(data, geom, collapsed, 3)
    assert np.all(np.abs(vals) <= 1e-20 * np.linalg.norm(data.Y) ** 2)
    monkeypatch.setattr(lm, "RANK_TOL", 2.0)
    monkeypatch.setattr(lm, "NULL_EPS", -1.0)
    np.testing.assert_array_equal(lm.affine_values_sq(data, geom, mus, 3), ref)
    if lm.fused_patterns_unavailable() is None:
        np.testing.assert_array_equal(lm.affine_values_sq(data, geom, mus, 3, "fused"), ref)


@pytest.mark.parametrize("case", ["Q3 regular", "Q4 anisotropic", "Q3 wide delta"])
def test_batched_analysis_equals_the_sequential_one(case):
    """analyse_patterns batched and sequential: the quantities computed at the default μ bit for bit, every
    verdict the same, and the μ-sampled numbers to rounding.  dF/dμ is a central difference with step
    1e-6 of the box width, so rounding in the values reaches it amplified by 1/(2·1e-6 width) (measured:
    up to 1e-8 in either version where dF/dμ is zero, outside A1-A3): the two agree to 1/10 of the
    stationarity threshold STAT_TOL |Y|²; a relative error 1e-12 in the values would exceed that."""
    data = CASES[case]()
    geom = dlgeom.geometry(data)
    engines = ("batched", "fused")[: 1 + (lm.fused_patterns_unavailable() is None)]
    for L, engine in ((L, e) for L in (data.n_classes, data.n_classes + 2) for e in engines):
        new = [r.to_dict() for r in lm.analyse_patterns(data, L, geom, 6, seed=9, engine=engine)]
        old = [r.to_dict() for r in lm.analyse_patterns(data, L, geom, 6, seed=9, engine="sequential")]
        scale = np.linalg.norm(data.Y)
        for a, b in zip(new, old):
            for k in EXACT + VERDICTS:
                assert a[k] == b[k], (k, a["s"])
            for k in ("value_affine_min_over_mu", "value_affine_max_over_mu"):
                assert a[k] == pytest.approx(b[k], rel=1e-12, abs=1e-12 * scale)
            assert a["descent_drop"] == pytest.approx(b["descent_drop"], abs=1e-13 * scale**2)
            np.testing.assert_allclose(a["dF_dmu"], b["dF_dmu"], atol=0.1 * lm.STAT_TOL * scale**2, rtol=1e-6)


def test_single_pattern_matches_the_batched_set():
    """analyse_pattern of one pattern (its own rng) is the same report as in a batch of every pattern."""
    data = CASES["Q4 anisotropic"]()
    geom = dlgeom.geometry(data)
    s = np.array([1, 0, 0, 1])
    child = np.random.SeedSequence(4).spawn(16)[9]
    batch = lm.analyse_patterns(data, 4, geom, 5, seed=4)
    assert lm.all_patterns(4)[9].tolist() == s.tolist()
    one = lm.analyse_pattern(data, s, 4, geom=geom, n_mu_samples=5, rng=np.random.default_rng(child))
    assert one == batch[9]


def test_kernel_rejects_wrong_sizes():
    if lm._fused_patterns is None:
        pytest.skip("dlgeom._fused_patterns is not built here")
    fp = lm._fused_patterns
    q, L, M, N = 3, 3, 2, 10
    args = [
        np.zeros(q * N),
        np.zeros(L * q * q),
        np.zeros(M * L * q),
        np.ones(N),
        np.ones(N),
        np.zeros(q * N),
        np.empty(M * q * N),
        np.empty(M * q * q),
        np.empty(M * q * q),
    ]
    fp.moments(q, L, M, N, *args)
    with pytest.raises(ValueError, match="H: expected 60"):
        fp.moments(q, L, M, N, *args[:6], np.empty(M * q * N - 1), *args[7:])
    with pytest.raises(ValueError, match="q must be in 1..16"):
        fp.moments(17, L, M, N, *args)
    with pytest.raises(ValueError, match="A: expected"):
        fp.residuals(q, M, N, args[6], np.empty(3), args[5], np.empty(M))


def test_kernel_builds_give_the_same_bytes():
    """Every build this CPU runs (baseline, AVX2 + FMA, AVX-512) gives identical moments and residuals,
    for a width with a specialised body (Q = 5) and one without (Q = 10)."""
    if lm._fused_patterns is None:
        pytest.skip("dlgeom._fused_patterns is not built here")
    fp = lm._fused_patterns
    rng = np.random.default_rng(3)
    for q, L, M, N in ((5, 7, 3, 203), (10, 10, 2, 37)):
        XT, B = rng.standard_normal((q, N)), rng.standard_normal((M, L, q))
        W = rng.standard_normal((L, q, q)) / np.sqrt(q)
        w = rng.random(N) + 0.1
        Tc, A = rng.standard_normal((q, N)), rng.standard_normal((M, q, q))
        outs = []
        for build in (1, 2, 3):
            H, G, C, v = np.empty((M, q, N)), np.empty((M, q, q)), np.empty((M, q, q)), np.empty(M)
            try:
                fp.moments(q, L, M, N, XT, W, B, w, np.sqrt(w), Tc, H, G, C, build)
            except ValueError as exc:
                assert "this CPU runs builds" in str(exc)
                continue
            fp.residuals(q, M, N, H, A, Tc, v, build)
            outs.append((H, G, C, v))
        assert len(outs) >= 1
        for other in outs[1:]:
            for x, y in zip(outs[0], other):
                assert x.tobytes() == y.tobytes()
        H, G, C, v = outs[0]
        assert np.abs(G).max() > 0 and np.allclose(G, np.matmul(H, H.transpose(0, 2, 1)), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="build"):
        fp.residuals(q, M, N, H, A, Tc, v, 7)
