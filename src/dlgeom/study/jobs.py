"""What a stage's job derives from its cell key and its inputs, so the workflow's rules stay
declarative: the rules hand a command its settings files, its key and its input and output files;
the command finds the rest here.

* :func:`parse_cell_key`: a grid cell's key (``Q3/theta2.2/r0.1``, ``user/iris/lambda0.5``) as a
  :class:`~dlgeom.study.config.Cell`, or a one-line error.
* :func:`job_seed`: a stage command's ``seed_key`` default (see :func:`dlgeom.cli.derive_seed`):
  the base seed of the settings, two ids from the job's key and its seed stream
  (:mod:`dlgeom.study.seeds`), the same comma-separated text the workflow wrote out before.
* :func:`train_file`, :func:`cell_key_from`: a cell's data manifest given as input → the training
  part the job reads, and the cell's key (the path after the study's ``data/`` folder).
* :func:`cell_data_argv`: the ``make-data`` / ``prepare-data`` arguments that write a cell's datasets.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from ..validation import DlgeomInputError, check_choice
from .seeds import stream

__all__ = [
    "Cell",
    "cell_ids",
    "fmt_value",
    "OUT_DIR_HELP",
    "cell_data_argv",
    "cell_key_from",
    "cell_key_of_data",
    "figure_defaults",
    "job_seed",
    "parse_cell_key",
    "seed_text",
    "synthetic_key",
    "train_file",
]

#: ``--out-dir`` of a stage command that writes into a study folder (see :func:`dlgeom.cli.apply_settings`).
OUT_DIR_HELP = "output directory (with --settings: default the study's {}/ beside the settings folder)"


def fmt_value(v) -> str:
    """A grid value as it appears in paths: 'regular', integers as written, floats by repr."""
    return v if isinstance(v, str) else repr(v)


def cell_ids(key: str) -> list[int]:
    """Two stable 32-bit integers from a cell key (sha256, never Python's hash())."""
    digest = hashlib.sha256(key.encode()).digest()
    return [int.from_bytes(digest[0:4], "little"), int.from_bytes(digest[4:8], "little")]


@dataclass(frozen=True)
class Cell:
    """One job of the grid: a synthetic cell (Q, θ, r) or a user dataset at shrink λ."""

    key: str  # path fragment, e.g. 'Q3/theta2.2/r0.1' or 'user/iris/lambda0.5'
    kind: str  # 'synthetic' or 'user'
    Q: int | None
    theta: str
    delta_ratio: str
    name: str = ""
    shrink: str = ""
    path: str = ""
    test_fraction: float = 0.3

    @property
    def seed(self) -> list[int]:
        return cell_ids(self.key)

    def layers(self, offsets, q: int | None = None) -> list[int]:
        q = self.Q if q is None else q
        return [q + o for o in offsets]


_SYNTHETIC = re.compile(r"Q(\d+)/theta([^/]+)/r([^/]+)")
_USER = re.compile(r"user/([^/]+)/lambda([^/]+)")


def synthetic_key(Q: int, theta, delta_ratio) -> str:
    """The key of the synthetic cell (Q, θ, r), as :func:`~dlgeom.study.config.expand_grid` names it."""
    return f"Q{int(Q)}/theta{fmt_value(theta)}/r{fmt_value(delta_ratio)}"


def parse_cell_key(key: str) -> Cell:
    """The cell of ``key``: synthetic ``Q<int>/theta<θ>/r<r>`` or user ``user/<name>/lambda<λ>``
    (a user cell's file and test fraction are not in its key: ``path`` is empty)."""
    m = _SYNTHETIC.fullmatch(str(key))
    if m:
        return Cell(key, "synthetic", int(m.group(1)), m.group(2), m.group(3))
    m = _USER.fullmatch(str(key))
    if m:
        return Cell(key, "user", None, "", "", m.group(1), m.group(2))
    raise DlgeomInputError(
        f"--cell-key: {key!r} is not a cell key (Q<int>/theta<regular or angle>/r<ratio>, or user/<name>/lambda<λ>)"
    )


def seed_text(base_seed, key: str | None = None, stream_name: str | None = None) -> str:
    """``base_seed[,id1,id2][,stream]``: the seed prefix of a job whose key is ``key`` (None: none)
    on the stream ``stream_name`` (None: none)."""
    parts = [base_seed]
    if key is not None:
        parts += cell_ids(key)
    if stream_name is not None:
        parts.append(stream(stream_name))
    return ",".join(str(x) for x in parts)


def job_seed(key=None, stream_name: str | None = None):
    """A command's ``seed_key`` default: ``key`` is the job's key, a function of the parsed
    arguments or None (the base seed alone, as the tables and figures commands record it)."""
    if stream_name is not None:
        stream(stream_name)  # an unknown stream fails when the command is registered

    def seed_key(args, base_seed) -> str:
        k = key(args) if callable(key) else key
        return seed_text(base_seed, k, stream_name)

    return seed_key


def figure_defaults(args, names) -> None:
    """A figure command's ``--name`` (default: the name of the ``--out`` stem, one of ``names``) and
    ``--tables`` (default: the study's ``tables/`` beside the folder ``--out`` writes to)."""
    if getattr(args, "name", "") is None:
        args.name = check_choice(Path(args.out).name, "--name (from --out)", tuple(names))
    if getattr(args, "tables", "") is None:
        args.tables = str(Path(args.out).parent.parent / "tables")


def train_file(path) -> str:
    """The file a job reads as a cell's training data: given the cell's data manifest
    (``…/manifest.json``), the training part of replicate 0 beside it; any other path as it is."""
    p = Path(path)
    return str(p.parent / "train_0.npz") if p.name == "manifest.json" else str(path)


def cell_key_of_data(path) -> str:
    """The key of the grid cell whose data folder is ``path`` (``results/<study>/data/<key>``):
    the part after a folder named ``data`` that reads as a cell key (the leftmost such part)."""
    parts = Path(path).parts
    for i, part in enumerate(parts[:-1]):
        if part == "data":
            key = "/".join(parts[i + 1 :])
            try:
                parse_cell_key(key)
            except DlgeomInputError:
                continue
            return key
    raise DlgeomInputError(f"--data-dirs: {path} is not a cell's data folder (…/data/<cell key>); give --cell-keys")


def cell_key_from(args, dest: str) -> str:
    """A command's cell key: ``--cell-key`` when given, else the key of the cell whose data
    manifest (``…/data/<key>/manifest.json``) the option ``dest`` names, else ''."""
    if getattr(args, "cell_key", ""):
        return args.cell_key
    path = Path(str(getattr(args, dest, "") or ""))
    if path.name != "manifest.json":
        return ""
    return cell_key_of_data(path.parent)


def cell_data_argv(key: str, values: dict, out_dir, data=None) -> list[str]:
    """The ``dlgeom`` arguments that write the datasets of the cell ``key`` into ``out_dir``:
    ``make-data`` for a synthetic cell, ``prepare-data`` of the file ``data`` for a user cell, with
    the values of the grid's settings (``values``: replicates, n_per_class, n_test_per_class, noise,
    base_seed; a user cell's test_fraction)."""
    cell = parse_cell_key(key)
    seed = seed_text(values["base_seed"], key)
    if cell.kind == "user":
        if not data:
            raise DlgeomInputError(f"cell-data: the user cell {key!r} needs its data file")
        return [
            "prepare-data",
            "--data",
            str(data),
            "--name",
            cell.name,
            "--shrink",
            cell.shrink,
            "--test-fraction",
            repr(float(values["test_fraction"])),
            "--replicates",
            str(values["replicates"]),
            "--seed",
            seed,
            "--out-dir",
            str(out_dir),
        ]
    theta = [] if cell.theta == "regular" else ["--theta", cell.theta]
    return [
        "make-data",
        "--Q",
        str(cell.Q),
        *theta,
        "--delta-ratio",
        cell.delta_ratio,
        "--n",
        str(values["n_per_class"]),
        "--test-n",
        str(values["n_test_per_class"]),
        "--noise",
        values["noise"],
        "--replicates",
        str(values["replicates"]),
        "--seed",
        seed,
        "--out-dir",
        str(out_dir),
    ]
