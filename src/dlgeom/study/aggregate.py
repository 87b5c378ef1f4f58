"""The study's tables: the grid stage's and the landscape stage's tables, and the claims table of
every stage, with computed verdicts.

Every verdict is a function of the tables (never written by hand): 'holds', 'fails',
'holds with correction', or 'untested' when no case applies.  The rows come from the stages'
reports (:mod:`.grid_report`, :mod:`.landscape_report`, and the claims CSVs that the
robustness, beyond and collapse stages write); :func:`write_tables` puts them together
(``dlgeom aggregate``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..thresholds import ZERO_COST
from ..validation import DlgeomInputError
from .grid_report import grid_claims, phase_table
from .landscape_report import certified_minima, landscape_claims
from .tables import write_csv
from .verdicts import COLUMNS as CLAIMS_COLUMNS
from .verdicts import assemble, render_markdown

__all__ = ["claims_markdown", "read_claims", "write_tables"]


def claims_markdown(claims: pd.DataFrame) -> str:
    """claims.md: claims and findings as two tables (:func:`verdicts.render_markdown`)."""
    return render_markdown(claims)


def read_claims(path) -> pd.DataFrame:
    """A claims CSV of another stage (same columns as claims.csv), checked."""
    try:
        df = pd.read_csv(path, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise DlgeomInputError(f"{path}: not a claims CSV ({type(exc).__name__}: {exc})") from None
    if list(df.columns) != CLAIMS_COLUMNS:
        raise DlgeomInputError(
            f"{path}: expected the claims columns {', '.join(CLAIMS_COLUMNS)}, got {', '.join(df.columns)}"
        )
    return df


def write_tables(
    frames: dict[str, pd.DataFrame], out_dir, zero: float = ZERO_COST, extra_claims: list[pd.DataFrame] = ()
) -> list[Path]:
    """Write every table (CSV, fixed float format) plus claims.md; returns the paths written.
    Landscape tables are written (possibly empty) whenever ``frames`` holds them; the rows of
    ``extra_claims`` (other stages) are appended to the claims."""
    from ..safe_write import open_output

    out = Path(out_dir)
    rows = grid_claims(frames, zero)
    if "landscape_endpoints" in frames:
        frames = {**frames, "landscape_minima": certified_minima(frames["landscape_endpoints"])}
    rows += landscape_claims(frames, zero)
    for df in extra_claims:
        rows += [r for r in df[CLAIMS_COLUMNS].to_dict("records") if r["n_cases"] > 0]
    claims = assemble(rows)
    tables = dict(frames)
    tables["claims"] = claims
    tables["phase"] = phase_table(frames["constructions"], zero) if len(frames["constructions"]) else pd.DataFrame()
    text = claims_markdown(claims)
    out.mkdir(exist_ok=True)
    written = [write_csv(df, out / f"{name}.csv") for name, df in tables.items()]
    md = out / "claims.md"
    with open_output(md, "w") as fh:
        fh.write(text)
    written.append(md)
    return written
