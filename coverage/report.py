"""Write coverage results: CSV tables and a machine-readable JSON summary.

Every write is atomic (a temporary file in the same directory, then ``os.replace``), so an
interrupted run never leaves a half-written table. Text cells that a spreadsheet would run
as a formula (starting with ``= + - @``, tab or carriage return) are neutralised with a
leading apostrophe.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .analysis import CoverageReport

__all__ = ["COVERAGE_COLUMNS", "atomic_open", "neutralise", "neutralise_frame", "remove_stale_parts", "write_csv", "write_report"]

COVERAGE_COLUMNS = ["county", "category", "covered", "total", "rate", "missing"]
REJECTED_COLUMNS = ["file", "row", "field", "value", "reason"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open ``path`` for writing through a temporary sibling that replaces it on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        text = "b" not in mode
        with os.fdopen(fd, mode, encoding=encoding if text else None, newline="" if text else None) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def neutralise(value: object) -> object:
    """Make a text cell inert in spreadsheets: ``=SUM(A1)`` → ``'=SUM(A1)``."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``frame`` with every text cell passed through :func:`neutralise`."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype) in ("str", "string"):
            out[col] = out[col].map(neutralise).astype(object)
    return out


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as UTF-8 CSV with BOM (Excel opens it as Unicode), atomically."""
    with atomic_open(path, encoding="utf-8-sig") as fh:
        neutralise_frame(frame).to_csv(fh, index=False, lineterminator="\n")
    return Path(path)


def _coverage_table(report: CoverageReport) -> pd.DataFrame:
    table = report.counties[COVERAGE_COLUMNS].copy()
    table["missing"] = table["missing"].map("、".join)
    table["rate"] = table["rate"].map(lambda r: f"{r:.1f}")
    return table


def _township_table(report: CoverageReport) -> pd.DataFrame:
    from .geography import FLAGS

    cols = ["towncode", "county", "township", "category", "facilities", "covered"]
    flags = [f for f in FLAGS if f in report.townships]
    return report.townships[cols + flags]


def _records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records", force_ascii=False, date_format="iso"))


def summary(report: CoverageReport) -> dict:
    """Everything in the report as plain JSON-able data (no timestamps but the as-of)."""
    from . import __version__
    from .facilities import CATEGORIES

    reg = report.registry
    counties = report.counties.copy()
    counties.insert(2, "category_label", counties["category"].map(lambda c: CATEGORIES.get(c, c)))
    return {
        "tool": {"name": "safetynet-coverage", "version": __version__},
        "as_of": report.as_of.date().isoformat(),
        "definition": report.definition,
        "boundaries": report.boundaries,
        "registry": {
            "files": [Path(f).name for f in report.files],
            "rows_read": int(reg.rows_read),
            "accepted": len(reg.facilities),
            "rejected_rows": len(reg.rejected),
            "mismatches": len(reg.mismatches),
        },
        "coverage": _records(counties),
        "gaps": _records(report.gaps),
        "rejected": _records(reg.rejected[REJECTED_COLUMNS]),
        "mismatches": _records(reg.mismatches),
    }


def remove_stale_parts(out_dir: str | Path) -> list[Path]:
    """Delete temporary ``.<name>.*.part`` files a killed earlier run left in ``out_dir``."""
    removed = []
    for part in Path(out_dir).glob(".*.part"):
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
            removed.append(part)
    return removed


def write_report(report: CoverageReport, out_dir: str | Path) -> dict[str, Path]:
    """Write ``coverage.csv``, ``townships.csv``, ``rejected.csv`` and ``summary.json``.

    Returns the paths written, by name.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(out)
    paths = {
        "coverage": write_csv(_coverage_table(report), out / "coverage.csv"),
        "townships": write_csv(_township_table(report), out / "townships.csv"),
        "rejected": write_csv(report.registry.rejected[REJECTED_COLUMNS], out / "rejected.csv"),
    }
    with atomic_open(out / "summary.json") as fh:
        json.dump(summary(report), fh, ensure_ascii=False, indent=2, sort_keys=False)
        fh.write("\n")
    paths["summary"] = out / "summary.json"
    return paths
