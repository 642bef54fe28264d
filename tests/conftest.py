"""Shared fixtures: the real bundled geodata, and a hand-made three-township toy county."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def townships() -> gpd.GeoDataFrame:
    from coverage.geography import load_townships

    return load_townships()


@pytest.fixture(scope="session")
def toy_townships() -> gpd.GeoDataFrame:
    """A toy county 甲縣 of three 1×1 km townships in a row (A, B, C) and a one-township 乙市."""
    rows = [
        ("90001010", "90001", "甲縣", "A鄉", box(0, 0, 1000, 1000), True, False),
        ("90001020", "90001", "甲縣", "B鄉", box(1000, 0, 2000, 1000), False, False),
        ("90001030", "90001", "甲縣", "C鄉", box(2000, 0, 3000, 1000), False, True),
        ("90002010", "90002", "乙市", "D區", box(0, 2000, 1000, 3000), False, False),
    ]
    frame = pd.DataFrame(
        rows, columns=["towncode", "countycode", "county", "township", "geometry", "mountain_indigenous", "coastal"]
    )
    for flag in ("plain_indigenous", "island", "county_remote"):
        frame[flag] = False
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:3826")


def make_facilities(rows: list[dict]) -> pd.DataFrame:
    """Facilities frame in the shape read_facilities returns (only the columns measure uses)."""
    base = {"category": "x", "towncode": None, "opened": pd.NaT, "closed": pd.NaT, "status": "", "serves": ()}
    frame = pd.DataFrame([{**base, **r} for r in rows], columns=list(base))
    for col in ("opened", "closed"):
        frame[col] = pd.to_datetime(frame[col])
    return frame


def require(available: bool, reason: str) -> None:
    """Skip a test whose system dependency is missing, except in CI, where it must be present."""
    if available:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI installs it with scripts/install_system_deps.sh)")
    pytest.skip(reason)


@pytest.fixture
def shared_data() -> Path:
    """../shared/data: skipped with the reason where it is absent, a failure in CI (where it is always present)."""
    require(SHARED_DATA.exists(), f"real population/terrain/registry data not available: {SHARED_DATA} is missing")
    return SHARED_DATA
