"""One grid cell of the study: its datasets, and every measurement made on them.

A cell's data directory holds ``train_<k>.npz`` and ``test_<k>.npz`` for replicates k = 0..K−1
and a ``manifest.json`` written last (the completion marker).  :func:`run_cell` returns plain
rows (dicts) for the tables; a numerical failure or an invalid dataset becomes a row with a
``status`` instead of an exception, so aggregation always has its inputs.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..classifier import predict_metric, predict_network
from ..construct import construct_global
from ..data import Dataset, load_dataset, save_dataset
from ..degeneracy import degeneracy_probe, relative_margin
from ..geometry import (
    A3_LIMIT,
    COND_W_LIMIT,
    assumptions,
    class_means,
    depth_at,
    depth_sup,
    exact_collapse_bound,
    geometry,
    theta_cap_for_cond,
)
from ..jsonutil import write_json
from ..local_minima import analyse_patterns
from ..mu_box import check_box
from ..network import activation_margin, cost, relu, truncate
from ..safe_write import staged_directory
from ..synthetic import make_clustered
from ..thresholds import ZERO_COST
from ..validation import DlgeomInputError
from . import STUDY_THETA0
from .seeds import seed_list as _seed

__all__ = ["write_synthetic_cell", "write_user_cell", "run_cell", "read_manifest"]


def write_synthetic_cell(
    out_dir,
    q: int,
    theta,
    delta_ratio: float,
    n_per_class: int,
    n_test_per_class: int,
    noise: str,
    replicates: int,
    seed_prefix,
) -> Path:
    """Replicate k: training data with seed [*prefix, k, 0], held-out data [*prefix, k, 1]
    (same distribution: same means, same δ, same noise shape).  The directory is built in a
    temporary sibling and renamed into place at the end: a failure leaves nothing."""
    final = Path(out_dir)
    theta = None if theta in (None, "regular") else float(theta)
    with staged_directory(final) as out:
        files = []
        for k in range(replicates):
            train = make_clustered(q, n_per_class, delta_ratio, theta, noise, seed=_seed(seed_prefix, k, 0))
            test = make_clustered(q, n_test_per_class, delta_ratio, theta, noise, seed=_seed(seed_prefix, k, 1))
            save_dataset(train, out / f"train_{k}.npz")
            save_dataset(test, out / f"test_{k}.npz")
            files.append(
                {
                    "replicate": k,
                    "train": f"train_{k}.npz",
                    "test": f"test_{k}.npz",
                    "seed": _seed(seed_prefix, k, 0),
                    "seed_test": _seed(seed_prefix, k, 1),
                }
            )
        manifest = {
            "kind": "synthetic",
            "Q": q,
            "theta": "regular" if theta is None else theta,
            "delta_ratio": delta_ratio,
            "noise": noise,
            "n_per_class": n_per_class,
            "n_test_per_class": n_test_per_class,
            "seed_prefix": list(seed_prefix),
            "replicates": files,
        }
        write_json(manifest, out / "manifest.json")
    return final / "manifest.json"


def shrink_toward_means(data: Dataset, lam: float, means: np.ndarray) -> np.ndarray:
    """x ← x̄_j + λ(x − x̄_j) for every point (λ = 1 leaves the data unchanged)."""
    return means[data.y] + lam * (data.X - means[data.y])


def write_user_cell(
    out_dir, path, shrink: float, test_fraction: float, replicates: int, seed_prefix, name: str | None = None
) -> Path:
    """A user's dataset, shrunk toward its class means (of the whole file) by λ = ``shrink`` and
    split per replicate into stratified train/test parts (seed [*prefix, k]).  ``name``: the
    dataset's name in the tables (the config's ``datasets[].name``; default the file name without
    its extension).  Built in a temporary sibling directory and renamed into place at the end: a
    failure leaves nothing."""
    final = Path(out_dir)
    with staged_directory(final) as out:
        _write_user_cell(out, path, shrink, test_fraction, replicates, seed_prefix, name or Path(path).stem)
    return final / "manifest.json"


def _write_user_cell(
    out: Path, path, shrink: float, test_fraction: float, replicates: int, seed_prefix, name: str
) -> None:
    data = load_dataset(path)
    means = class_means(data.X, data.y, data.n_classes)
    X = shrink_toward_means(data, shrink, means)
    files = []
    for k in range(replicates):
        rng = np.random.default_rng(np.random.SeedSequence(_seed(seed_prefix, k)))
        test_mask = np.zeros(data.n_points, dtype=bool)
        for j in range(data.n_classes):
            rows = np.flatnonzero(data.y == j)
            n_test = min(max(1, int(round(test_fraction * rows.size))), rows.size - 2)
            test_mask[rng.choice(rows, size=n_test, replace=False)] = True
        meta = {"source": Path(path).name, "shrink": shrink, "seed": _seed(seed_prefix, k)}
        save_dataset(
            Dataset(X[~test_mask], data.y[~test_mask], data.Y, {**meta, "part": "train"}), out / f"train_{k}.npz"
        )
        save_dataset(Dataset(X[test_mask], data.y[test_mask], data.Y, {**meta, "part": "test"}), out / f"test_{k}.npz")
        files.append(
            {
                "replicate": k,
                "train": f"train_{k}.npz",
                "test": f"test_{k}.npz",
                "seed": _seed(seed_prefix, k),
                "seed_test": _seed(seed_prefix, k),
            }
        )
    manifest = {
        "kind": "user",
        "name": name,
        "source": Path(path).name,
        "shrink": shrink,
        "test_fraction": test_fraction,
        "Q": data.n_classes,
        "seed_prefix": list(seed_prefix),
        "replicates": files,
    }
    write_json(manifest, out / "manifest.json")


def read_manifest(data_dir) -> dict:
    from ..jsonutil import malformed, read_json

    if not Path(data_dir).is_dir():
        raise DlgeomInputError(
            f"--data-dir: {data_dir} is not a directory; create the cell's data first (dlgeom make-data --out-dir)"
        )
    path = Path(data_dir) / "manifest.json"
    if not path.exists():
        raise DlgeomInputError(f"{path}: no manifest; create the cell's data first (dlgeom make-data --out-dir)")
    made_by = "dlgeom make-data --out-dir or prepare-data"
    manifest = read_json(path, "--data-dir", made_by)
    with malformed(path, "--data-dir", made_by):
        if manifest["kind"] not in ("synthetic", "user"):
            raise ValueError(f"kind {manifest['kind']!r}")
        int(manifest["Q"])
        if not manifest["replicates"]:
            raise ValueError("no replicates")
        for entry in manifest["replicates"]:
            int(entry["replicate"]), str(entry["train"]), str(entry["test"]), list(entry["seed"])
            for name in (entry["train"], entry["test"]):
                if Path(name).name != name:
                    raise ValueError(f"file name {name!r} is not inside the cell directory")
    return manifest


def prop22_errors(net, X: np.ndarray) -> dict:
    """Prop 2.2 on real data, layer by layer: idempotence, scale invariance, and the cumulative
    identity X^(ℓ) = W^(ℓ)T_ℓ(X) + b^(ℓ), as max absolute errors relative to max|X|."""
    Wc, bc = net.cumulative()
    scale = max(1.0, float(np.abs(X).max()))
    T, H = X, X
    idem = scal = cumul = 0.0
    for ell, (W, b) in enumerate(zip(Wc, bc)):
        T_next = truncate(T, W, b)
        idem = max(idem, float(np.abs(truncate(T_next, W, b) - T_next).max()))
        scal = max(scal, float(np.abs(truncate(T, 2.5 * W, 2.5 * b) - T_next).max()))
        H = relu(H @ net.weights[ell].T + net.biases[ell])
        cumul = max(cumul, float(np.abs(T_next @ W.T + b - H).max()) / max(1.0, float(np.abs(H).max())))
        T = T_next
    return {"tau_idempotence_err": idem / scale, "tau_scale_err": scal / scale, "cumulative_err": cumul}


def curation_spread(net, data: Dataset) -> list[dict]:
    """Within-class spread max_i |T_ℓ(x_{j,i}) − mean_i T_ℓ(x_{j,i})| for ℓ = 0..L, per class."""
    rows = []
    T = data.X
    Wc, bc = net.cumulative()
    for ell in range(len(Wc) + 1):
        if ell:
            T = truncate(T, Wc[ell - 1], bc[ell - 1])
        m = class_means(T, data.y, data.n_classes)
        dev = np.linalg.norm(T - m[data.y], axis=1)
        for j in range(data.n_classes):
            rows.append({"layer": ell, "class": j, "spread": float(dev[data.y == j].max())})
    return rows


def _nearest_mean_accuracy(train: Dataset, test: Dataset) -> float:
    means = class_means(train.X, train.y, train.n_classes)
    d2 = ((test.X[:, None, :] - means[None, :, :]) ** 2).sum(axis=2)
    return float(np.mean(np.argmin(d2, axis=1) == test.y))


def _nan_row():
    keys = ("cost_global", "cost_paperD", "accuracy", "accuracy_train", "agreement", "activation_margin", "eps_safe")
    return {k: float("nan") for k in keys}


#: θ_* grid for "the box is empty for every θ_0" with the exact threshold: θ_max + (π − θ_max)(1 − 2^−k).
SUP_GRID = 40


def theta0_analysis(train: Dataset, geom) -> dict:
    """The μ-box for the chosen θ_0 and over all θ_0 (docs/mathematics.md §3).

    ``box_nonempty_sup``: sup over θ_0 of D (:func:`depth_sup`) exceeds 2δ√Q, i.e. some θ_0 < π
    opens the box; ``box_nonempty_cap``: the same within cond(W_*) ≤ COND_W_LIMIT;
    ``collapse_bound_exact``: the exact threshold at the chosen θ_*; ``box_nonempty_exact``: D
    exceeds it; ``box_nonempty_exact_sup``: D(θ_*) exceeds the exact threshold at θ_* for some θ_*
    of a grid of SUP_GRID values accumulating at π, or in the limit θ_* → π."""
    cb = geom.collapse_bound
    out = {
        "D_sup": float("nan"),
        "D_cap": float("nan"),
        "collapse_bound_exact": float("nan"),
        "box_nonempty_sup": False,
        "box_nonempty_cap": False,
        "box_nonempty_exact": False,
        "box_nonempty_exact_sup": False,
    }
    if not (geom.theta_max < A3_LIMIT and np.isfinite(geom.f).all()):
        return out
    d_sup = depth_sup(geom.means, geom.f, geom.delta)
    cap = min(theta_cap_for_cond(geom.n_classes, COND_W_LIMIT), A3_LIMIT)
    d_cap = depth_at(geom.means, geom.f, geom.delta, cap) if cap > geom.theta_max else float("nan")
    exact = exact_collapse_bound(train.X, train.y, geom.means, geom.f, geom.theta_star)
    grid = geom.theta_max + (np.pi - geom.theta_max) * (1 - 0.5 ** np.arange(1, SUP_GRID + 1))
    exact_any = any(
        depth_at(geom.means, geom.f, geom.delta, t) > exact_collapse_bound(train.X, train.y, geom.means, geom.f, t)
        for t in grid
        if t < np.pi
    )
    out.update(
        {
            "D_sup": d_sup,
            "D_cap": d_cap,
            "collapse_bound_exact": exact,
            "box_nonempty_sup": bool(d_sup > cb),
            "box_nonempty_cap": bool(d_cap > cb),
            "box_nonempty_exact": bool(geom.D > exact),
            "box_nonempty_exact_sup": bool(exact_any or d_sup > exact),
        }
    )
    return out


def run_cell(
    data_dir,
    layers_offsets,
    mu_samples_n: int = 8,
    probe_eps=(1e-8, 1e-4, 1e-2, 1e-1),
    probe_draws: int = 3,
    zero_cost: float = ZERO_COST,
    seed=(0,),
    cell_key: str = "",
    log=lambda msg: None,
    theta0=STUDY_THETA0,
    patterns_engine: str = "batched",
) -> dict:
    """Every measurement of one cell.  Returns {'cell', 'rows', 'patterns', 'degeneracy',
    'prop22', 'curation'} (no wall-clock time: reruns give the same bytes); seeds for μ draws and probes
    derive from ``seed``.

    ``theta0``: the rule or value of θ_0 (:func:`dlgeom.geometry.geometry`); the study uses the
    paper's 'open_box'.  Each μ-box (D_eff and the paper's D) is checked at its 2^Q corners and
    Q·2^(Q−1) edge midpoints (deterministic) and ``mu_samples_n`` random interior points
    (:func:`dlgeom.mu_box.check_box`).  ``patterns_engine``: the engine of
    :func:`dlgeom.local_minima.analyse_patterns` ('batched', 'fused' or 'sequential', equal to rounding)."""
    t0 = time.perf_counter()
    data_dir = Path(data_dir)
    manifest = read_manifest(data_dir)
    base = {
        "cell": cell_key,
        "kind": manifest["kind"],
        "Q": manifest["Q"],
        "theta": str(manifest.get("theta", "")),
        "delta_ratio": manifest.get("delta_ratio", float("nan")),
        "dataset": manifest.get("name", Path(manifest.get("source", "")).stem),
        "shrink": manifest.get("shrink"),
    }  # None (an empty cell) for synthetic cells
    out = {
        "cell": {**base, "seed": list(seed), "manifest": manifest},
        "rows": [],
        "patterns": [],
        "degeneracy": [],
        "prop22": [],
        "curation": [],
    }
    for entry in manifest["replicates"]:
        k = entry["replicate"]
        rep_seq = np.random.SeedSequence(list(seed) + [k])
        mu_seq, pat_seq, probe_seq = rep_seq.spawn(3)
        train = load_dataset(data_dir / entry["train"])
        test = load_dataset(data_dir / entry["test"])
        q = train.n_classes
        geom = geometry(train, theta0)
        rep = assumptions(geom)
        realised = train.meta.get("realised", {})
        common = {
            **base,
            "replicate": k,
            "seed": "-".join(map(str, entry["seed"])),
            "N": train.n_points,
            "r": geom.r,
            "theta_max": geom.theta_max,
            "theta0": geom.theta0,
            "theta_star": geom.theta_star,
            "cond_W": 1.0 / geom.lam,
            "theta_mean": realised.get("theta_mean_simplex", float("nan")),
            "cond_xred": geom.cond_xred,
            "A1": rep.A1.holds,
            "A2": rep.A2.holds,
            "A3": rep.A3.holds,
            "all_hold": rep.all_hold,
            "box_nonempty": rep.box_nonempty,
            "box_nonempty_paper": rep.box_nonempty_paper_D,
            "D": geom.D,
            "D_eff": geom.D_eff,
            "collapse_bound": geom.collapse_bound,
            "dist_min": float(geom.dist_to_barycenter.min()),
            **theta0_analysis(train, geom),
        }
        for L in [q + off for off in layers_offsets]:
            row = {**common, "L": L, **_nan_row(), "accuracy_ncm": _nearest_mean_accuracy(train, test)}
            try:
                con = construct_global(train, L, geom=geom)
                net = con.network
                row["mu_default"] = float(con.mu[0])
                row["cost_global"] = cost(net, train)
                row["cost_paperD"] = cost(construct_global(train, L, use_D="paper", geom=geom).network, train)
                rng = np.random.default_rng(mu_seq.spawn(1)[0])
                for which in ("eff", "paper"):
                    box = check_box(train, geom, L, which, mu_samples_n, rng, zero_cost)
                    row.update({f"box_{which}_{k}": v for k, v in box.items()})
                pred = predict_metric(con, train.Y, test.X)
                row["accuracy"] = float(np.mean(pred == test.y))
                row["agreement"] = float(np.mean(pred == predict_network(con, train.Y, test.X)))
                row["accuracy_train"] = float(np.mean(predict_metric(con, train.Y, train.X) == train.y))
                row["activation_margin"] = activation_margin(net, train.X)
                row["eps_safe"] = relative_margin(net, train.X)
                for p in analyse_patterns(
                    train, L, geom, mu_samples_n, pat_seq.spawn(1)[0].generate_state(1)[0], engine=patterns_engine
                ):
                    d = p.to_dict()
                    s = "".join(map(str, d.pop("s")))
                    n_intact = s.count("1")
                    out["patterns"].append(
                        {
                            **{
                                k2: common[k2]
                                for k2 in (
                                    "cell",
                                    "kind",
                                    "Q",
                                    "theta",
                                    "delta_ratio",
                                    "replicate",
                                    "r",
                                    "theta_max",
                                    "theta0",
                                    "theta_star",
                                    "all_hold",
                                    "box_nonempty",
                                )
                            },
                            "L": L,
                            "s": s,
                            "n_intact": n_intact,
                            "type": "global" if n_intact == 0 else ("none" if n_intact == q else "mixed"),
                            "value_paper": d["value_paper"],
                            "value_biasfree": d["value_biasfree"],
                            "value_affine": d["value_affine"],
                            "closed_form_error": d["closed_form_error"],
                            "mu_in_box": d["mu_in_box"],
                            "mu_dependent": d["mu_dependent"],
                            "mu_range": d["value_affine_max_over_mu"] - d["value_affine_min_over_mu"],
                            "stationary": d["stationary"],
                            "grad_norm": d["grad_norm"],
                            "max_abs_dF_dmu": float(np.max(np.abs(d["dF_dmu"]))),
                            "mu_descent": d["mu_descent"],
                            "descent_drop": d["descent_drop"],
                        }
                    )
                for pr in degeneracy_probe(
                    net, train, probe_eps, probe_draws, probe_seq.spawn(1)[0].generate_state(1)[0]
                ):
                    out["degeneracy"].append(
                        {
                            "cell": cell_key,
                            "Q": q,
                            "L": L,
                            "replicate": k,
                            "all_hold": rep.all_hold,
                            "zero_at_start": row["cost_global"] <= zero_cost,
                            **pr,
                        }
                    )
                if L == q:
                    out["prop22"].append({"cell": cell_key, "replicate": k, **prop22_errors(net, train.X)})
                    if k == 0:
                        out["curation"] = [{"cell": cell_key, **c} for c in curation_spread(net, train)]
                row["status"] = "ok"
            except DlgeomInputError as exc:
                row["status"] = f"invalid: {exc}"
            except (np.linalg.LinAlgError, FloatingPointError, ValueError) as exc:
                row["status"] = f"numerical: {type(exc).__name__}: {exc}"
            out["rows"].append(row)
            log(
                f"{cell_key} replicate {k} L={L}: C={row['cost_global']:.3e} status={row['status']}"
                f" ({time.perf_counter() - t0:.1f} s)"
            )
    return out
