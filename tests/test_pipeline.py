"""Tests of coverage.pipeline: run_coverage is its named steps."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st


def test_run_coverage_is_its_steps(townships):
    from coverage.pipeline import BUNDLED_BOUNDARIES, measure_coverage, read_registries, run_coverage

    whole = run_coverage(counties=["嘉義縣"], as_of="2024-01-01", suppress_below=5)
    paths, registry = read_registries(None, townships)
    steps = measure_coverage(registry, townships, paths, as_of="2024-01-01", counties=["嘉義縣"])
    pd.testing.assert_frame_equal(whole.counties, steps.counties)
    pd.testing.assert_frame_equal(whole.gaps, steps.gaps)
    assert whole.boundaries == steps.boundaries == BUNDLED_BOUNDARIES
    assert (whole.suppress_below, steps.suppress_below) == (5, 3)
    assert whole.files == steps.files == [str(paths[0])]


# ----------------------------------------------------------------------------- minutes by road (real data)


@pytest.fixture(scope="module")
def miaoli_minutes(shared_data, tmp_path_factory):
    """苗栗縣's 社福中心 (bundled registry), the real village population and 苗栗縣's OSM roads."""
    import os

    from coverage.pipeline import run_coverage

    cache = tmp_path_factory.mktemp("cache")
    before = os.environ.get("SAFETYNET_CACHE")
    os.environ["SAFETYNET_CACHE"] = str(cache)
    try:
        report = run_coverage(counties=["苗栗縣"], categories=["社福中心"], as_of="2025-01-01",
                              population=shared_data / "population" / "village_population_agegroups_2021-03.csv",
                              network=shared_data / "roads" / "Miaoli_Road_Network.shp", within_min=30)
    finally:
        if before is None:
            os.environ.pop("SAFETYNET_CACHE")
        else:
            os.environ["SAFETYNET_CACHE"] = before
    return report


def test_minutes_never_below_the_straight_line(miaoli_minutes):
    from coverage.network import DEFAULT_SPEEDS

    pts = miaoli_minutes.access.points
    reached = pts[pts["nearest_min"].notna()]
    assert len(reached) >= len(pts) - 2 and len(pts) == 275
    fastest = max(DEFAULT_SPEEDS.values())
    # the straight line to the nearest point (any point) is the least distance to the fastest one
    assert (reached["nearest_min"] >= reached["distance_km"] / fastest * 60 - 0.01).all()
    assert (reached["network_km"] >= reached["distance_km"] - 0.001).all()
    assert (reached["snap_km"] >= 0).all()
    unreached = pts[pts["nearest_min"].isna()]
    assert (unreached["travel_reason"] != "").all() and (reached["travel_reason"] == "").all()


def test_taian_villages_are_the_farthest(miaoli_minutes):
    towns = miaoli_minutes.townships.set_index("township")
    assert towns["mean_min"].idxmax() == "泰安鄉" and towns["max_min"].idxmax() == "泰安鄉"
    assert (towns["mean_min"] <= towns["max_min"] + 1e-9).all()
    assert (towns["population_within_min"] <= towns["population"]).all()
    # the priority list weighs by minutes and says so
    prio = miaoli_minutes.priorities
    assert {"mean_min", "max_min"} <= set(prio.columns)
    assert prio["reasons"].str.contains("minutes by road").all()
    assert "泰安鄉" in set(prio.loc[prio["rank"] <= 3, "township"])


def test_minute_figures_in_the_outputs(miaoli_minutes, tmp_path):
    import json

    from coverage.report import write_report

    paths = write_report(miaoli_minutes, tmp_path)
    villages = pd.read_csv(paths["villages"], dtype={"villcode": str})
    cols = list(villages.columns)
    assert cols[cols.index("nearest_km") + 1:cols.index("nearest_km") + 4] == ["nearest_min", "network_km", "snap_km"]
    assert {"within_min", "fca_2sfca_min", "fca_e2sfca_min", "travel_reason"} <= set(cols)
    towns = pd.read_csv(paths["townships"], dtype={"towncode": str})
    assert {"mean_min", "max_min", "population_within_min", "villages_without_min"} <= set(towns.columns)
    summary = json.loads(paths["summary"].read_text(encoding="utf-8"))
    travel = summary["travel"]
    assert travel["access_kmh"] == 15.0 and travel["within_min"] == 30.0 and travel["catchment_min"] == 30.0
    assert travel["speeds"].startswith("default") and travel["graph_from_cache"] is False
    assert travel["file"].endswith("Miaoli_Road_Network.shp")
    assert sum(travel["villages_without_min"].values()) == int(miaoli_minutes.travel["nearest_min"].isna().sum())
    county = summary["population_coverage"]["counties"][0]
    assert 0 < county["within_min_rate"] <= 100 and county["people_within_min"] <= county["people_placed"]
    # 2SFCA in minutes: a village with a point within 30 min has supply, one without has none
    v = villages.set_index("villcode")
    assert (v.loc[v["nearest_min"] <= 30, "fca_2sfca_min"] > 0).all()
    assert (v.loc[~(v["nearest_min"] <= 30), "fca_2sfca_min"] == 0).all()


_WITHIN = {"runs": 0}


def _without_minutes(acc):
    import dataclasses

    from coverage.travelaccess import MINUTE_POINT_COLUMNS, MINUTE_TOWNSHIP_COLUMNS

    return dataclasses.replace(
        acc, points=acc.points.drop(columns=MINUTE_POINT_COLUMNS, errors="ignore"),
        townships=acc.townships.drop(columns=MINUTE_TOWNSHIP_COLUMNS, errors="ignore"),
        counties=acc.counties.drop(columns=["people_within_min", "within_min_rate"], errors="ignore"))


def test_within_share_monotone_in_t(miaoli_minutes):
    """Share within T minutes by road, on the real 苗栗縣 figures: in [0, 100], never smaller for a larger T."""
    from coverage.travelaccess import add_minutes

    base = _without_minutes(miaoli_minutes.access)

    @settings(max_examples=25, deadline=None)
    @given(st.floats(0.5, 180), st.floats(0.5, 180))
    def check(t1, t2):
        lo, hi = sorted((t1, t2))
        a = add_minutes(base, miaoli_minutes.travel, within_min=lo).counties.iloc[0]["within_min_rate"]
        b = add_minutes(base, miaoli_minutes.travel, within_min=hi).counties.iloc[0]["within_min_rate"]
        assert 0 <= a <= b <= 100
        event("equal shares" if a == b else "larger T, larger share")
        _WITHIN["runs"] += 1

    check()
    rates = [add_minutes(base, miaoli_minutes.travel, within_min=t).counties.iloc[0]["within_min_rate"]
             for t in (1, 10, 30, 60, 600)]
    assert rates == sorted(rates) and rates[0] < rates[-1] and not any(math.isnan(r) for r in rates)
    assert _WITHIN["runs"] >= 10


def test_run_without_network_has_no_minutes():
    from coverage.pipeline import run_coverage

    report = run_coverage(counties=["嘉義縣"], categories=["小衛星"], as_of="2024-01-01")
    assert report.travel is None and report.travel_settings is None
    assert "mean_min" not in report.townships


@pytest.mark.parametrize("name", ["within_min", "catchment_min", "access_kmh"])
def test_minute_options_must_be_positive(name):
    from coverage.errors import InputError
    from coverage.pipeline import run_coverage

    with pytest.raises(InputError, match=f"{name}="):
        run_coverage(counties=["嘉義縣"], **{name: 0})
