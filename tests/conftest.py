import dlgeom  # first: pins the BLAS kernel and numpy's dispatch before numpy loads (dlgeom.cpu_pin)

# isort: split

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml


@pytest.fixture(scope="session")
def data3():
    """Q = 3, regular mean simplex, r = 0.1: all assumptions hold."""
    return dlgeom.make_clustered(3, 40, 0.1, seed=11)


@pytest.fixture(scope="session")
def data3_tilted():
    """Q = 3, cone angle 2.0 rad at δ = 0, r = 0.05."""
    return dlgeom.make_clustered(3, 40, 0.05, theta=2.0, seed=12)


def random_orthogonal(rng, q):
    Q, R = np.linalg.qr(rng.standard_normal((q, q)))
    return Q * np.sign(np.diag(R))


def random_network(rng, q, L, scale=1.0):
    ws = [random_orthogonal(rng, q) + 0.3 * rng.standard_normal((q, q)) for _ in range(L + 1)]
    bs = [scale * 0.5 * rng.standard_normal(q) for _ in range(L + 1)]
    return dlgeom.Network(tuple(ws), tuple(bs))


def np_means(X, y, q):
    """Class means computed the plain way (reference for the library's)."""
    return np.array([X[y == j].mean(axis=0) for j in range(q)])


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory):
    """The tiny study (config/test.yaml) run once, in an empty working directory (no results/ at
    all), with the repository's Snakefile.  Its outputs are under ``<dir>/results/tiny/``."""
    if importlib.util.find_spec("snakemake") is None:
        pytest.skip("snakemake is not installed (pip install -e '.[workflow]')")
    tmp = tmp_path_factory.mktemp("tiny")
    cfg = yaml.safe_load((ROOT / "config" / "test.yaml").read_text())
    cfg["datasets"][0]["path"] = str(ROOT / "config" / "example_data" / "blobs.csv")
    path = tmp / "test.yaml"
    path.write_text(yaml.safe_dump(cfg))
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(ROOT / "Snakefile"),
            "-d",
            str(tmp),
            "--configfile",
            str(path),
            "--cores",
            "2",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return tmp
