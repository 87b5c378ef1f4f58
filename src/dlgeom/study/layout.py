"""One folder per study, and the settings each stage of a study depends on.

Every output of a study goes under ``results/<study>/``.  The study's name comes from the config
key ``study``; ``default`` is the committed reference and belongs to ``config/config.yaml`` alone.

Reruns follow the config without relying on Snakemake's metadata: each stage's settings (the part
of the config its jobs read) are written to ``results/<study>/settings/<stage>.json``, rewritten
only when their content changes, and every job of the stage takes that file as an input.  A
changed value makes the file newer than the stage's outputs, so exactly those jobs (and what
depends on them) rerun, also in a folder without ``.snakemake/``.  Every output records the hash
of the settings it was made with (:func:`settings_stamp`), and the aggregating steps refuse to
combine outputs made with other settings (:func:`check_settings`).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from ..validation import DlgeomInputError
from .provenance import sha256

#: A study's name: a folder name that is safe everywhere (no path separators, no dots, no spaces).
STUDY_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
#: The committed reference, built from config/config.yaml with nothing on top.
REFERENCE_STUDY = "default"
#: Names that are folders of results/ but not studies.
NOT_STUDIES = ("benchmarks",)


def study_name(config: dict, overrides: dict) -> str:
    """The study of a run, or a one-line error.

    ``overrides`` is what the command line put on top of config/config.yaml (``--configfile``
    files and ``--config`` values, merged).  A run with overrides must name its own study, and
    only config/config.yaml alone may write the reference study ``default``."""
    name = config.get("study")
    if overrides and "study" not in overrides:
        raise DlgeomInputError(
            "config key 'study': a config given on the command line must name its study "
            "(add `study: <name>`; its outputs go to results/<name>/)"
        )
    if overrides and name == REFERENCE_STUDY:
        raise DlgeomInputError(
            f"config key 'study': '{REFERENCE_STUDY}' is the committed reference, built from config/config.yaml "
            "alone; give your study another name"
        )
    if not isinstance(name, str) or not STUDY_NAME.fullmatch(name) or name in NOT_STUDIES:
        raise DlgeomInputError(
            f"config key 'study': {name!r} is not a study name (1-64 of a-z, 0-9, '_', '-', starting with a "
            f"letter or digit; not {', '.join(NOT_STUDIES)})"
        )
    return name


def _pick(d: dict, *keys) -> dict:
    return {k: d[k] for k in keys}


def stage_settings(cfg: dict) -> dict[str, dict]:
    """The settings file of every stage: name -> the config values its jobs read.

    Lists that only say *which* jobs exist (grid values, landscape cells and starts, axis names,
    dataset names, the Q of the companion studies) are not settings of the jobs: adding a grid
    value adds jobs and leaves the others alone."""
    seed, zero = cfg["base_seed"], cfg["zero_cost"]
    out = {
        "grid": {
            **_pick(
                cfg,
                "base_seed",
                "replicates",
                "n_per_class",
                "n_test_per_class",
                "noise",
                "layers_offsets",
                "mu_samples",
                "patterns_engine",
                "probe_eps",
                "probe_draws",
                "zero_cost",
            )
        },
        # the runs and the local shape of a landscape cell are two jobs of the same command
        "landscape_runs": {
            "base_seed": seed,
            **_pick(cfg["landscape"], "runs", "optimiser_runs", "rho", "optimisers", "max_iter", "engine"),
            "no_shape": True,
        },
        "landscape_shape": {"base_seed": seed, "zero_cost": zero, "starts": []},
        "landscape_scaling": {
            "base_seed": seed,
            **_pick(cfg, "n_per_class", "noise"),
            **{k: v for k, v in cfg["landscape"]["scaling"].items() if k != "Q"},
            "engine": cfg["landscape"]["engine"],
        },
        "landscape_scaling_tables": {"base_seed": seed},
        "aggregate": {"base_seed": seed, "zero_cost": zero},
        "figures": {"base_seed": seed, "zero_cost": zero, **cfg["figures"]},
    }
    for d in cfg["datasets"]:
        # the file by content, not by path: the same data give the same settings in any clone
        out[f"dataset_{d['name']}"] = {
            "file": Path(d["path"]).name,
            "sha256": sha256(d["path"]),
            "test_fraction": d["test_fraction"],
            # its robustness sweep: named as in the config, projected to R^Q as the data allow
            "label": d["name"],
            "projections": "auto",
        }
    rob = cfg["robustness"]
    common = {"base_seed": seed, "zero_cost": zero, "mu_search": rob["mu_search"]}
    for axis, values in rob["axes"].items():
        if values:
            out[f"robustness_axis_{axis}"] = {
                **common,
                "values": values,
                "base": rob["base"],
                **_pick(rob, "replicates", "n_test_per_class"),
                "optimisers": {
                    **{k: v for k, v in rob["optimisers"].items() if k != "points"},
                    "points": rob["optimisers"]["points"].get(axis, []),
                },
            }
    out["robustness_realdata"] = {
        **common,
        **{k: v for k, v in rob["realdata"].items() if k not in ("datasets", "user_datasets")},
    }
    out["robustness_tables"] = {"base_seed": seed, "zero_cost": zero}
    beyond = cfg["beyond"]
    for name in ("highdim", "sls", "shallow"):
        s = {k: v for k, v in beyond[name].items() if k != "Q"}
        if name == "sls" and beyond[name]["Q"]:
            s["hand_Q"] = min(beyond[name]["Q"])  # the hand-made example runs with the smallest Q
        uses_zero = {"zero_cost": zero} if name != "shallow" else {}  # shallow decides no zero cost
        out[f"beyond_{name}"] = {"base_seed": seed, **uses_zero, **s}
    out["collapse"] = {"base_seed": seed, **cfg["collapse"]}
    out["collapse_tables"] = {"base_seed": seed}
    out["beyond_tables"] = {
        "base_seed": seed,
        "zero_cost": zero,
        "fit_max_delta_P": beyond["shallow"].get("fit_max_delta_P"),
    }
    return out


def _canonical(settings: dict) -> bytes:
    return (json.dumps(settings, sort_keys=True, indent=1) + "\n").encode()


def write_settings(folder, settings: dict[str, dict]) -> dict[str, Path]:
    """Write each stage's settings to ``folder/<stage>.json``, touching only files whose content
    changes (their modification time is what makes Snakemake rerun a stage)."""
    from ..safe_write import open_output

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, values in settings.items():
        path = folder / f"{name}.json"
        data = _canonical(values)
        if not (path.is_file() and not path.is_symlink() and path.read_bytes() == data):
            with open_output(path, "wb") as fh:  # a private temporary file, renamed in; mode as any output
                fh.write(data)
        paths[name] = path
    return paths


def settings_stamp(path) -> dict:
    """``{"stage": <name>, "hash": <16 hex digits>}`` of a settings file, recorded in outputs."""
    path = Path(path)
    return {"stage": path.stem, "hash": hashlib.sha256(path.read_bytes()).hexdigest()[:16]}


def recorded_stamps(path) -> list[dict]:
    """The settings stamps an output records: a JSON output's ``settings`` field, or the
    ``settings`` field of a table's or figure's provenance sidecar (``<file>.prov.json``)."""
    path = Path(path)
    source = (
        path
        if path.suffix == ".json" and not path.name.endswith(".prov.json")
        else path.with_name(path.name + ".prov.json")
    )
    try:
        record = json.loads(source.read_text())
    except (OSError, ValueError):
        return []
    stamp = record.get("settings") if isinstance(record, dict) else None
    if isinstance(stamp, dict):
        return [stamp]
    return [s for s in stamp if isinstance(s, dict)] if isinstance(stamp, list) else []


def truncated_outputs(folder) -> list[Path]:
    """The JSON files under ``folder`` (a study's results) that do not end as every JSON output of
    dlgeom ends, with ``}`` or ``]`` (before trailing white space): truncated by hand, by a full disk
    outside dlgeom, or by a copy cut short.  Only the last bytes of each file are read."""
    bad = []
    for path in sorted(Path(folder).rglob("*.json")):
        try:
            with open(path, "rb") as fh:
                size = fh.seek(0, 2)
                fh.seek(max(size - 64, 0))
                tail = fh.read().rstrip()
        except OSError:
            continue
        if not tail.endswith((b"}", b"]")):
            bad.append(path)
    return bad


def check_no_truncated_outputs(folder) -> None:
    """Refuse, in one line naming the file, to run a study whose folder holds a truncated JSON
    output: the workflow would not rerun the job that makes it (its settings did not change), and
    the jobs that read it would fail after their old outputs were deleted."""
    bad = truncated_outputs(folder)
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise DlgeomInputError(f"{bad[0]}{more}: a truncated output; delete it and rerun, and the study recomputes it")


def _corrupt_record(path: Path) -> str | None:
    """Why the record holding ``path``'s settings stamp (the JSON output itself, or a table's or
    figure's sidecar) is damaged - missing, truncated, not a JSON object - or None if it reads."""
    source = (
        path
        if path.suffix == ".json" and not path.name.endswith(".prov.json")
        else path.with_name(path.name + ".prov.json")
    )
    if not source.exists():
        return None if source != path else f"{path}: missing"
    try:
        record = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return f"{source}: not a complete output of the study (truncated or edited: {' '.join(str(exc).split())})"
    if not isinstance(record, dict):
        return f"{source}: not a complete output of the study (a JSON object expected)"
    return None


def check_settings(inputs, settings_dir) -> None:
    """Refuse, in one line naming the files, to combine outputs made with settings other than
    the study's current ones (or with no settings stamp at all)."""
    settings_dir = Path(settings_dir)
    for p in map(Path, inputs):
        corrupt = _corrupt_record(p)
        if corrupt:
            raise DlgeomInputError(
                f"{corrupt}; delete it and rerun the study to recompute it (a workflow reruns a "
                "job for changed settings, not for a damaged file)"
            )
    current: dict[str, str | None] = {}
    stale = []
    for p in map(Path, inputs):
        stamps = recorded_stamps(p)
        if not stamps:
            stale.append(f"{p} (no settings recorded)")
            continue
        for s in stamps:
            stage = s.get("stage")
            if stage not in current:
                f = settings_dir / f"{stage}.json"
                current[stage] = settings_stamp(f)["hash"] if f.is_file() else None
            if s.get("hash") != current[stage]:
                stale.append(f"{p} (stage {stage})")
    if stale:
        more = f" and {len(stale) - 3} more" if len(stale) > 3 else ""
        raise DlgeomInputError(
            f"refusing to combine outputs made with other settings than {settings_dir}: "
            f"{', '.join(stale[:3])}{more}; rerun the study (snakemake reruns them when their settings change)"
        )
