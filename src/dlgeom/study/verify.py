"""A rerun against its committed reference: per table identical or how far off, per claim the verdict
and counts side by side, and a verdict of the whole (the contract of docs/studies.md).

On Linux x86-64 with AVX2 (the BLAS kernel and numpy's dispatch pinned, :mod:`dlgeom.cpu_pin`) and
the locked environment a rerun is byte-identical (``dlgeom verify --identical`` checks that).  Where
bytes cannot be equal (another architecture, another BLAS) the contract is:

* every row of ``claims.csv`` keeps its verdict, and every *claim* row (kind ``claim``: a statement
  of the paper) keeps its counts ``n_cases`` and ``n_counter``: the verifier fails otherwise;
* every table is written, with the same columns;
* numbers: per table the largest relative difference is printed (absolute below :data:`ABS_FLOOR`,
  where a quantity is rounding noise: residual costs, gradient norms at a minimum).  Deterministic
  tables beyond :data:`TOLERANCE` are marked ``beyond tolerance`` and counted, not failed: across
  OpenBLAS kernels a degenerate case can flip a derived number (an angle θ_max of π against ∞
  where the μ-box is empty) without moving any verdict or claim count.

The tables of :data:`CHAOTIC_TABLES` hold optimiser end points and what is counted from them (basins,
distinct minima, levels) or text quoting rounding-level numbers: a last-bit difference in a gradient
can send a run to another minimum, so they are reported only, and the counts of *finding* rows
computed from them are printed side by side and marked, not failed.  The tables of
:data:`MIXED_TABLES` hold both kinds of rows, told apart by their ``source``: the rows of trained
networks are reported, the rows of constructed ones are compared as a deterministic table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "TOLERANCE",
    "ABS_FLOOR",
    "DETERMINISTIC_TABLES",
    "CHAOTIC_TABLES",
    "MIXED_TABLES",
    "TableCheck",
    "ClaimCheck",
    "compare_table",
    "compare_claims",
    "verify_tables",
    "render",
]

#: Relative tolerance on the numbers of the deterministic tables across BLAS kernels / architectures.
TOLERANCE = 1e-6
#: Below this magnitude numbers are compared absolutely (rounding noise: costs, gradient norms ~1e-9).
ABS_FLOOR = 1e-6
#: Tables computed without an optimiser (constructions and their analysis): held to TOLERANCE.
DETERMINISTIC_TABLES = frozenset({"constructions", "curation", "degeneracy", "patterns", "phase", "prop22"})
#: Tables computed from optimiser end points (chaotic in the last bit): reported, not held to TOLERANCE.
CHAOTIC_TABLES = frozenset(
    {
        "landscape_endpoints",
        "landscape_basins",
        "landscape_minima",
        "landscape_levels",
        "landscape_paths",
        "landscape_shape",
        "landscape_slice",
        "landscape_scaling",
        "scaling_claims",
        "robustness",
        "robustness_summary",
        "robustness_claims",
        "robustness_optimisers",
        "width_plus_one",
        "realdata",
        "realdata_summary",
        "highdim",
        "sls",
        "shallow",
        "claims",
        "beyond_claims",
        "collapse_claims",
    }
)
#: Tables with rows of constructed networks and rows of trained ones (optimiser end points): the
#: column naming each row's networks, and the prefix of its values for trained ones.
MIXED_TABLES = {"neural_collapse": ("source", "trained"), "separation": ("source", "trained")}
COUNTS = ("n_cases", "n_counter")


@dataclass(frozen=True)
class TableCheck:
    name: str
    status: str  # identical | within tolerance | beyond tolerance | reported | other rows | missing
    max_rel: float | None  # largest relative difference of a numeric cell (None: not comparable)
    note: str = ""

    @property
    def ok(self) -> bool:
        """False only where the contract is broken: the table is missing or has other columns."""
        return self.status != "missing" and self.note != "other columns"


@dataclass(frozen=True)
class ClaimCheck:
    id: str
    kind: str
    reference: tuple  # (verdict, n_cases, n_counter) or None
    rerun: tuple
    ok: bool
    note: str = ""


def _rel_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise |a − b| / max(|a|, |b|), absolute below ABS_FLOOR; equal NaNs and infinities are 0."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), ABS_FLOOR)
        d = np.abs(a - b) / scale
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    return np.where(same, 0.0, np.where(np.isnan(d), np.inf, d))


def _numeric(col: pd.Series) -> np.ndarray | None:
    v = pd.to_numeric(col, errors="coerce")
    return v.to_numpy(float) if v.notna().sum() == col.notna().sum() else None


def compare_table(reference: Path, rerun: Path, tolerance: float = TOLERANCE) -> TableCheck:
    """One CSV table of a rerun against the reference's."""
    name = reference.stem
    if not rerun.is_file():
        return TableCheck(name, "missing", None, "not written by the rerun")
    if reference.read_bytes() == rerun.read_bytes():
        return TableCheck(name, "identical", 0.0)
    a = pd.read_csv(reference, keep_default_na=False, na_values=["", "nan", "NaN"])
    b = pd.read_csv(rerun, keep_default_na=False, na_values=["", "nan", "NaN"])
    if list(a.columns) != list(b.columns):
        return TableCheck(name, "reported" if name in CHAOTIC_TABLES else "other rows", None, "other columns")
    column, prefix = MIXED_TABLES.get(name, (None, None))
    if column in a.columns:  # the constructed rows as a deterministic table, the trained ones reported
        ta, tb = (t[column].astype(str).str.startswith(prefix) for t in (a, b))
        status, worst, note = _compare_rows(a[~ta], b[~tb], False, tolerance)
        _, worst_trained, note_trained = _compare_rows(a[ta], b[tb], True, tolerance)
        trained = f"trained rows reported: {note_trained or f'max rel diff {_fmt(worst_trained)}'}"
        return TableCheck(name, status, worst, "; ".join(filter(None, (note, trained))))
    status, worst, note = _compare_rows(a, b, name in CHAOTIC_TABLES, tolerance)
    if name not in DETERMINISTIC_TABLES | CHAOTIC_TABLES | MIXED_TABLES.keys():  # a table this verifier does not know
        note = "; ".join(filter(None, (note, "an unknown table, compared as deterministic")))
    return TableCheck(name, status, worst, note)


def _compare_rows(a: pd.DataFrame, b: pd.DataFrame, chaotic: bool, tolerance: float) -> tuple:
    """(status, largest relative difference, note) of two frames with the same columns."""
    if len(a) != len(b):
        return ("reported" if chaotic else "other rows"), None, f"rows {len(a)} → {len(b)}"
    worst, text_cells = 0.0, 0
    for c in a.columns:
        x, y = _numeric(a[c]), _numeric(b[c])
        if x is not None and y is not None:
            worst = max(worst, float(_rel_diff(x, y).max(initial=0.0)))
        else:
            text_cells += int((a[c].fillna("").astype(str).to_numpy() != b[c].fillna("").astype(str).to_numpy()).sum())
    note = f"{text_cells} text cells differ" if text_cells else ""
    if chaotic:
        return "reported", worst, note
    return ("within tolerance" if worst <= tolerance and not text_cells else "beyond tolerance"), worst, note


def _claim_key(row) -> tuple:
    return (str(row["verdict"]), int(row["n_cases"]), int(row["n_counter"]))


def compare_claims(reference: Path, rerun: Path) -> list[ClaimCheck]:
    """Every row of the reference's claims.csv beside the rerun's (and rows only the rerun has)."""
    a = pd.read_csv(reference).set_index("id")
    b = pd.read_csv(rerun).set_index("id") if rerun.is_file() else pd.DataFrame(columns=a.columns)
    out = []
    for cid in list(a.index) + [i for i in b.index if i not in a.index]:
        ra = _claim_key(a.loc[cid]) if cid in a.index else None
        rb = _claim_key(b.loc[cid]) if cid in b.index else None
        kind = str((a if cid in a.index else b).loc[cid, "kind"])
        if ra is None or rb is None:
            where = "the rerun" if ra is None else "the reference"
            out.append(ClaimCheck(cid, kind, ra, rb, False, f"only in {where}"))
        elif ra[0] != rb[0]:
            out.append(ClaimCheck(cid, kind, ra, rb, False, "verdict differs"))
        elif ra[1:] != rb[1:]:
            claim = kind == "claim"
            out.append(
                ClaimCheck(
                    cid,
                    kind,
                    ra,
                    rb,
                    not claim,
                    "counts differ" if claim else "counts moved (a finding: optimiser outcomes)",
                )
            )
        else:
            out.append(ClaimCheck(cid, kind, ra, rb, True))
    return out


def verify_tables(reference: Path, rerun: Path, tolerance: float = TOLERANCE):
    """(table checks, claim checks, figures identical, figures compared) for two tables directories
    (``results/<study>/tables``); figures are looked up in the sibling ``figures`` directories."""
    reference, rerun = Path(reference), Path(rerun)
    tables = [compare_table(p, rerun / p.name, tolerance) for p in sorted(reference.glob("*.csv"))]
    claims = compare_claims(reference / "claims.csv", rerun / "claims.csv")
    figs = sorted((reference.parent / "figures").glob("*.png")) + sorted((reference.parent / "figures").glob("*.pdf"))
    same = sum(
        1
        for f in figs
        if (rerun.parent / "figures" / f.name).is_file()
        and f.read_bytes() == (rerun.parent / "figures" / f.name).read_bytes()
    )
    return tables, claims, same, len(figs)


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else ("inf" if math.isinf(x) else f"{x:.2e}")


def render(tables, claims, same_figs, n_figs, tolerance: float = TOLERANCE) -> tuple[str, bool]:
    """The verifier's report and whether the rerun keeps the contract."""
    lines = [f"Tables (numbers of deterministic tables within {tolerance:g} relative):"]
    for t in tables:
        detail = "" if t.status == "identical" else f"  max rel diff {_fmt(t.max_rel)}"
        flag = "FAIL" if not t.ok else ("NOTE" if t.status in ("beyond tolerance", "other rows") else "ok  ")
        lines.append(f"  {flag} {t.name:28s} {t.status}{detail}" + (f"  ({t.note})" if t.note else ""))
    lines.append(f"Figures: {same_figs} of {n_figs} byte-identical (figures are reported, not checked)")
    lines.append("Claims (verdict, n_cases, n_counter): reference | rerun")
    for c in claims:
        ref = "—" if c.reference is None else f"{c.reference[0]:22s} {c.reference[1]:>6d} {c.reference[2]:>6d}"
        new = "—" if c.rerun is None else f"{c.rerun[0]:22s} {c.rerun[1]:>6d} {c.rerun[2]:>6d}"
        lines.append(
            f"  {'ok  ' if c.ok else 'FAIL'} {c.id:24s} {c.kind:8s} {ref:36s} | {new}"
            + (f"  ({c.note})" if c.note else "")
        )
    ok = all(t.ok for t in tables) and all(c.ok for c in claims)
    n_ident = sum(t.status == "identical" for t in tables)
    n_note = sum(t.status in ("beyond tolerance", "other rows") for t in tables)
    lines.append(
        f"{'PASS' if ok else 'FAIL'}: {n_ident} of {len(tables)} tables identical, {n_note} deterministic "
        f"tables beyond tolerance (noted), {sum(not c.ok for c in claims)} claim rows off, "
        f"{sum(not t.ok for t in tables)} tables missing or with other columns"
    )
    return "\n".join(lines), ok
