"""Write coverage results: CSV tables and a machine-readable JSON summary.

Every write is atomic (a temporary file in the same directory, then ``os.replace``), so an
interrupted run never leaves a half-written table. Text cells that a spreadsheet would run
as a formula (starting with ``= + - @``, tab or carriage return) are neutralised with a
leading apostrophe. Caseloads below the report's ``suppress_below`` are written as ``"<3"``
(:mod:`coverage.privacy`).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

from .rejections import REJECTED_COLUMNS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .analysis import CoverageReport

__all__ = [
    "COVERAGE_COLUMNS",
    "atomic_open",
    "neutralise",
    "neutralise_frame",
    "remove_stale_parts",
    "write_csv",
    "write_report",
]

COVERAGE_COLUMNS = ["county", "category", "covered", "total", "rate", "missing"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open ``path`` for writing through a temporary sibling that replaces it on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        # mkstemp makes the file private (0600); the result gets the permissions of the file
        # it replaces, or those of any new file (umask), so a map put on a web server is readable
        try:
            mode_bits = path.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode_bits = 0o666 & ~_umask()
        Path(tmp).chmod(mode_bits)
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


def _umask() -> int:
    """The process umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def neutralise(value: object) -> object:
    """Make a text cell inert in spreadsheets: ``=SUM(A1)`` → ``'=SUM(A1)``."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``frame`` with every text cell passed through :func:`neutralise`."""
    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype) in ("str", "string"):
            # a list, not Series.map, which would turn a column of ints and None into floats
            out[col] = pd.Series([neutralise(v) for v in out[col].tolist()], index=out.index, dtype=object)
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


def _threshold(report: CoverageReport) -> int:
    from .privacy import DEFAULT_THRESHOLD

    return getattr(report, "suppress_below", DEFAULT_THRESHOLD)


def _township_table(report: CoverageReport) -> pd.DataFrame:
    from .geography import FLAGS
    from .privacy import CASELOAD_COLUMNS, suppress_counts

    cols = ["towncode", "county", "township", "category", "facilities", "covered"]
    cols += [c for c in CASELOAD_COLUMNS if c in report.townships]  # registries with a cases column
    flags = [f for f in FLAGS if f in report.townships]
    extra = [c for c in POPULATION_TOWNSHIP_COLUMNS if c in report.townships]  # with --population / --dem
    table = report.townships[cols + flags + extra]
    if extra:
        table = table.round({"mean_km": 3, "max_km": 3, "density": 1, "seat_km": 2, "mean_elevation_m": 1})
    return suppress_counts(table, threshold=_threshold(report))


# Columns --population / --dem add to townships.csv (coverage.analysis._population_figures).
POPULATION_TOWNSHIP_COLUMNS = ["population", "population_within_km", "mean_km", "max_km", "nearest_facility",
                               "density", "remote", "seat_km", "mean_elevation_m", "mountain"]
VILLAGE_COLUMNS = ["villcode", "towncode", "county", "township", "village", "category", "population",
                   "nearest_km", "nearest_facility", "within_km", "across_sea_km", "fca_2sfca", "fca_e2sfca"]


def _village_table(report: CoverageReport) -> pd.DataFrame:
    points = report.access.points.rename(columns={"people": "population", "distance_km": "nearest_km",
                                                  "facility_name": "nearest_facility", "within": "within_km"})
    out = points[VILLAGE_COLUMNS].copy()
    for col in ("nearest_km", "across_sea_km"):
        out[col] = out[col].round(3)
    for col in ("fca_2sfca", "fca_e2sfca"):
        out[col] = out[col].round(6)
    return out


def _population_summary(report: CoverageReport) -> dict:
    """The --population / --dem figures for summary.json."""
    out: dict = {}
    pop, acc = getattr(report, "population", None), getattr(report, "access", None)
    remoteness, priorities = getattr(report, "remoteness", None), getattr(report, "priorities", None)
    if pop is not None:
        out["population"] = pop.summary()
    if acc is not None:
        out["population_coverage"] = {
            "age_group": acc.group,
            "distance_km": acc.distance_km,
            "catchment_km": acc.catchment_km,
            "cross_sea": acc.cross_sea,
            "points": acc.basis,
            "fca_unit": "facilities (capacity-weighted) per 10,000 people of the age group",
            "counties": _records(acc.counties),
        }
    if remoteness is not None:
        towns = set(report.townships["towncode"])
        rem = remoteness[remoteness["towncode"].isin(towns)]
        names = report.townships.drop_duplicates("towncode").set_index("towncode")[["county", "township"]]
        rem = rem.join(names, on="towncode")
        out["remoteness"] = {
            "remote": _records(rem.loc[rem["remote"].fillna(False).astype(bool),
                                       ["towncode", "county", "township", "remote_reason"]]),
            **({"mountain": _records(rem.loc[rem["mountain"].fillna(False).astype(bool),
                                             ["towncode", "county", "township", "mean_elevation_m"]])}
               if "mountain" in rem else {}),
        }
    if priorities is not None:
        out["priorities"] = _records(priorities)
    return out


def _records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records", force_ascii=False, date_format="iso"))


def summary(report: CoverageReport) -> dict:
    """Everything in the report as plain JSON-able data (no timestamps but the as-of)."""
    from . import __version__
    from .facilities import CATEGORIES
    from .privacy import suppress_counts
    from .programmes import custom_programmes

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
            "withheld_columns": list(getattr(reg, "withheld_columns", ())),
            "public_columns": list(getattr(reg, "public_columns", ())),
        },
        "custom_categories": custom_programmes(reg.facilities["category"]),
        "suppress_below": _threshold(report),
        "coverage": _records(suppress_counts(counties, threshold=_threshold(report))),
        "gaps": _records(suppress_counts(report.gaps, threshold=_threshold(report))),
        "rejected": _records(reg.rejected[REJECTED_COLUMNS]),
        "mismatches": _records(reg.mismatches),
        **_population_summary(report),
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
    if getattr(report, "access", None) is not None and report.population.level == "village":
        paths["villages"] = write_csv(_village_table(report), out / "villages.csv")
    if getattr(report, "priorities", None) is not None:
        paths["priorities"] = write_csv(report.priorities, out / "priorities.csv")
    if getattr(report, "population", None) is not None and len(report.population.rejected):
        paths["population rejected"] = write_csv(report.population.rejected, out / "population_rejected.csv")
    with atomic_open(out / "summary.json") as fh:
        json.dump(summary(report), fh, ensure_ascii=False, indent=2, sort_keys=False)
        fh.write("\n")
    paths["summary"] = out / "summary.json"
    return paths
