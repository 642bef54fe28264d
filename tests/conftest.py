"""Shared fixtures: the real bundled geodata, a hand-made three-township toy county, and the gates.

Gates. A test that needs something outside the repository asks for it through a fixture here:
``shared_data`` (../shared/data: real MOI population, DEM, registries), ``cjk_font`` (a CJK font
for zh-TW chart labels), ``chromium`` (a headless browser) or ``import_or_skip`` (a module of the
test extra). Each SKIPS with the reason when the thing is missing on a developer's machine and
FAILS when the environment variable ``CI`` is set (``.ci/run`` sets ``CI=true``), where a silent
skip would hide a whole family of untested behaviour (tests/test_conftest.py checks this).
Test files take these fixtures; they never import from each other or from this file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from hypothesis import settings
from shapely.geometry import box

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def in_ci() -> bool:
    """True when the environment variable ``CI`` is set to anything but an empty/false value."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


# Property tests: random examples on a developer's machine (a new corner each run), a fixed sequence in CI,
# so that a landing never depends on the draw and a CI failure replays exactly (``--hypothesis-seed`` aside).
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if in_ci():
    settings.load_profile("ci")


_USER_CACHE = pytest.StashKey[tuple[str, str | None]]()


def pytest_configure(config: pytest.Config) -> None:
    """The tests keep the road graphs, locate grids and map pieces they build in a cache folder of their own
    (``SAFETYNET_CACHE``, removed at the end; subprocesses and notebooks inherit it), never in the user's
    ``~/.cache/safetynet-coverage``: a run would otherwise leave some fifteen small road graphs there."""
    folder = tempfile.mkdtemp(prefix="safetynet-test-cache-")
    config.stash[_USER_CACHE] = (folder, os.environ.get("SAFETYNET_CACHE"))
    os.environ["SAFETYNET_CACHE"] = folder


def pytest_unconfigure(config: pytest.Config) -> None:
    if _USER_CACHE not in config.stash:
        return
    folder, before = config.stash[_USER_CACHE]
    if before is None:
        os.environ.pop("SAFETYNET_CACHE", None)
    else:
        os.environ["SAFETYNET_CACHE"] = before
    shutil.rmtree(folder, ignore_errors=True)


def require(available: bool, reason: str) -> None:
    """Skip a test whose system dependency is missing, except in CI, where it must be present."""
    if available:
        return
    if in_ci():
        pytest.fail(f"{reason} (CI=true: this must be present; scripts/install_system_deps.sh installs system "
                    "packages, ../shared/data is checked out beside the repository)")
    pytest.skip(reason)


def import_or_skip(module: str, reason: str | None = None):
    """``pytest.importorskip`` that fails instead in CI, where every test extra is installed."""
    if not in_ci():
        return pytest.importorskip(module, reason=reason)
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        pytest.fail(f"{reason or module + ' is not installed'} (CI=true: the test extra must be installed): {exc}")


@pytest.fixture(name="import_or_skip", scope="session")
def import_or_skip_fixture() -> Callable:
    """``import_or_skip(module, reason=None)``: a test extra module; skipped locally when absent, a failure in CI."""
    return import_or_skip


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository root (the directory holding pyproject.toml)."""
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data: skipped with the reason where it is absent, a failure in CI (where it is always present)."""
    require(SHARED_DATA.is_dir(), f"real population/terrain/registry data not available: {SHARED_DATA} is missing")
    return SHARED_DATA


@pytest.fixture(scope="session")
def cjk_font() -> str:
    """Family name of an installed CJK font (``coverage.cjk_font``); skipped locally, a failure in CI."""
    from coverage.charts import cjk_font
    from coverage.errors import CoverageError

    try:
        return cjk_font()
    except CoverageError:
        require(False, "no CJK font installed (fonts-noto-cjk) for zh-TW chart labels")
        raise  # pragma: no cover - require() skipped or failed


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of a chromium executable (``SAFETYNET_CHROMIUM`` or on PATH); skipped locally, a failure in CI."""
    path = os.environ.get("SAFETYNET_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    require(path is not None, "chromium is not installed")
    return str(path)


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


@pytest.fixture(name="make_facilities", scope="session")
def make_facilities_fixture() -> Callable[[list[dict]], pd.DataFrame]:
    """``make_facilities(rows)``: a facilities frame (the columns measure uses) from a list of partial rows."""
    return make_facilities
