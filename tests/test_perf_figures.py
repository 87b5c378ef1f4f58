"""The performance figures and the log-log fit helper, on small synthetic benchmark JSONs (no timing)."""

import json

import numpy as np
import pytest

from dlgeom.study.figures import save_figure
from dlgeom.study.perf_figures import (
    PERF_FIGURES,
    fig_scaling,
    fig_time_to_cost,
    fit_loglog,
    machine_info,
)


def test_fit_recovers_a_known_exponent():
    x = np.array([1e3, 1e4, 1e5, 1e6, 1e7])
    fit = fit_loglog(x, 3e-8 * x**1.25)
    assert fit["slope"] == pytest.approx(1.25, abs=1e-12)
    assert fit["intercept"] == pytest.approx(np.log10(3e-8), abs=1e-10)
    assert fit["se"] == pytest.approx(0.0, abs=1e-12) and fit["n"] == 5


def test_fit_standard_error_and_bad_points():
    rng = np.random.default_rng(0)
    x = np.geomspace(2, 64, 12)
    y = 0.5 * x**2.0 * 10 ** rng.normal(0, 0.05, x.size)
    fit = fit_loglog(x, y)
    assert abs(fit["slope"] - 2.0) < 4 * fit["se"] and 0 < fit["se"] < 0.1
    # zeros, negatives and non-finite values are left out; too few points give nan
    fit = fit_loglog([1, 10, 100, 1000], [0.0, 2.0, 20.0, np.nan])
    assert fit["n"] == 2 and fit["slope"] == pytest.approx(1.0) and np.isnan(fit["se"])
    assert np.isnan(fit_loglog([1], [1])["slope"])


def _scaling_json():
    rows = []
    for sweep, var, values, fixed in (
        ("N", "N", [1000, 10000, 100000], {"Q": 10, "L": 10}),
        ("Q", "Q", [2, 4, 8], {"N": 100000}),
        ("L", "L", [10, 20, 30], {"Q": 10, "N": 100000}),
        ("L_Q64", "L", [64, 128], {"Q": 64, "N": 10000}),
    ):
        for v in values:
            r = {"sweep": sweep, **fixed, var: v}
            r.setdefault("L", r["Q"])
            work = r["N"] * r["Q"] ** 2 * r["L"] * 1e-10
            r.update(
                forward_s=work,
                construct_verify_s=1.5 * work + 1e-4,
                ratio=1.5 + 1e-4 / work,
                construct_verify_peak_extra_rss_MB=0.0,
                forward_peak_extra_rss_MB=r["N"] * r["Q"] * 8 / 2**20,
                construct_verify_peak_traced_MB=0.2 * r["N"] * r["Q"] * 8 / 2**20,
                forward_peak_traced_MB=1.2 * r["N"] * r["Q"] * 8 / 2**20,
                data_MB=r["N"] * (r["Q"] + 1) * 8 / 2**20,
            )
            rows.append(r)
    return {"rows": rows, "r": 0.02, "threads": 1, "machine": {"cpu": "test CPU", "cores": 2}}


def _ttc_json():
    cases = []
    for q in (3, 5):
        for n in (1000, 10000):
            runs = [
                {"method": m, "trace_t": [1e-4, 1e-2, 1.0], "trace_c": [2.0, 1e-2, 1e-7 if m == "lbfgs" else 0.5]}
                for m in ("gd", "adam", "lbfgs")
            ]
            cases.append(
                {
                    "Q": q,
                    "N": n - (n % q),
                    "N_nominal": n,
                    "runs": runs,
                    "construction": {"time_s": 1e-3, "cost": 1e-14},
                    "speedup_construction_1e-10_vs_fastest_1e-6": 1000.0 if q == 3 else None,
                }
            )
    return {"cases": cases, "thresholds": [1e-3, 1e-6, 1e-10]}


@pytest.mark.parametrize("name", PERF_FIGURES)
def test_figures_from_json_files(tmp_path, name):
    payload = _scaling_json() if name == "scaling" else _ttc_json()
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(payload))
    fn = fig_scaling if name == "scaling" else fig_time_to_cost
    fig = fn(path)  # from a path
    assert len(fig.axes) == (9 if name == "scaling" else 4)
    out = save_figure(fig, tmp_path / name)
    assert [p.suffix for p in out] == [".png", ".pdf"] and all(p.stat().st_size > 1000 for p in out)
    first = out[0].read_bytes()
    save_figure(fn(payload), tmp_path / name)  # from a dict; byte-stable
    assert out[0].read_bytes() == first


def test_machine_info_describes_the_machine():
    info = machine_info()
    assert info["cores"] >= 1 and info["python"] and info["numpy"] and "blas" in info
    json.dumps(info)
