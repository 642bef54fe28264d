"""Population figures in minutes by road (coverage.travelaccess): hand-computed weighting, the 2SFCA in
minutes against a hand oracle on a small graph, and invariants of the within-T share."""

from __future__ import annotations

import dataclasses
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString

from coverage.access import AccessResult
from coverage.errors import InputError
from coverage.travelaccess import MINUTE_POINT_COLUMNS, add_minutes, minute_fca, township_minutes

CRS = "EPSG:3826"


def _access(people: list[int], towncodes: list[str], county: str = "甲縣") -> AccessResult:
    """An AccessResult with only what add_minutes reads: one programme, villages v0, v1, …"""
    codes = [f"v{k}" for k in range(len(people))]
    points = pd.DataFrame({"code": codes, "villcode": codes, "towncode": towncodes, "county": county,
                           "category": "welfare_centre", "people": people})
    towns = pd.DataFrame({"towncode": sorted(set(towncodes)), "category": "welfare_centre"})
    counties = pd.DataFrame({"county": [county], "category": ["welfare_centre"], "people_placed": [sum(people)]})
    return AccessResult(group="total", distance_km=5.0, catchment_km=20.0, cross_sea=False, basis="villages",
                        points=points, townships=towns, counties=counties)


def _travel(minutes: list[float], towncodes: list[str], county: str = "甲縣") -> pd.DataFrame:
    codes = [f"v{k}" for k in range(len(minutes))]
    reached = [not math.isnan(m) for m in minutes]
    return pd.DataFrame({
        "villcode": codes, "towncode": towncodes, "county": county, "category": "welfare_centre",
        "nearest_min": minutes, "network_km": [m / 2 for m in minutes], "snap_km": 0.1,
        "facility_id": ["f1" if r else "" for r in reached], "facility_name": ["甲中心" if r else "" for r in reached],
        "reason": ["" if r else "no road connection to a facility" for r in reached]})


def test_add_minutes_hand_computed():
    towns = ["T1", "T1", "T1", "T2"]
    acc = add_minutes(_access([100, 300, 50, 0], towns), _travel([10.0, 40.0, math.nan, 20.0], towns),
                      within_min=30)
    pts = acc.points.set_index("code")
    assert pts["nearest_min"].tolist()[:2] == [10.0, 40.0] and math.isnan(pts.at["v2", "nearest_min"])
    # never 0, never a straight line: the unreached village has no minutes, and its reason
    assert pts.at["v2", "travel_reason"] == "no road connection to a facility" and pts.at["v0", "travel_reason"] == ""
    assert pts["within_min"].tolist() == [True, False, False, True]
    assert pts.at["v0", "fastest_facility"] == "甲中心"
    t = acc.townships.set_index("towncode")
    assert t.at["T1", "mean_min"] == pytest.approx((100 * 10 + 300 * 40) / 400)  # v2 has no minutes: left out
    assert t.at["T1", "max_min"] == 40.0
    assert t.at["T1", "people_within_min"] == 100 and t.at["T1", "villages_without_min"] == 1
    assert t.at["T2", "mean_min"] == 20.0  # nobody lives there: the plain mean
    county = acc.counties.iloc[0]
    assert county["people_within_min"] == 100 and county["within_min_rate"] == pytest.approx(100 / 450 * 100, abs=0.05)
    assert acc.within_min == 30.0 and acc.catchment_min is None
    assert "fca_2sfca_min" not in acc.points  # no catchment given: no 2SFCA in minutes


def test_village_outside_the_travel_table_is_not_routed():
    acc = add_minutes(_access([10, 20], ["T1", "T1"]), _travel([5.0], ["T1"]), within_min=30)
    assert acc.points["travel_reason"].tolist() == ["", "not routed"]
    assert acc.townships.iloc[0]["villages_without_min"] == 1


@pytest.mark.parametrize("bad", [0, -5, math.nan])
def test_within_min_must_be_positive(bad):
    with pytest.raises(InputError, match="within_min="):
        add_minutes(_access([1], ["T1"]), _travel([1.0], ["T1"]), within_min=bad)


def test_township_minutes_plain_mean():
    table = township_minutes(_travel([10.0, 30.0, math.nan, 5.0], ["T1", "T1", "T1", "T2"]))
    t = table.set_index("towncode")
    assert t.at["T1", "mean_min"] == 20.0 and t.at["T1", "max_min"] == 30.0 and t.at["T1", "villages_without_min"] == 1
    assert t.at["T2", "villages_without_min"] == 0


_SEEN = {"unreached": 0, "runs": 0}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5000), st.one_of(st.just(math.nan), st.floats(0.5, 200)),
                          st.sampled_from(["T1", "T2", "T3"])), min_size=1, max_size=30),
       st.floats(1, 120), st.floats(1, 120))
def test_within_share_monotone_and_bounded(rows, t1, t2):
    """Within-T share in [0, 100] and never smaller for a larger T; counts balance; means within range."""
    people, mins, towns = (list(x) for x in zip(*rows, strict=True))
    lo, hi = sorted((t1, t2))
    base = _access(people, towns)
    travel = _travel(mins, towns)
    a, b = add_minutes(base, travel, within_min=lo), add_minutes(base, travel, within_min=hi)
    ra, rb = a.counties.iloc[0]["within_min_rate"], b.counties.iloc[0]["within_min_rate"]
    if sum(people):
        assert 0 <= ra <= rb <= 100
    assert (a.townships["people_within_min"] <= b.townships["people_within_min"]).all()
    assert int(a.townships["villages_without_min"].sum()) == sum(math.isnan(m) for m in mins)
    for town, g in pd.DataFrame({"t": towns, "m": mins, "p": people}).groupby("t"):
        row = a.townships.set_index("towncode").loc[town]
        if g["m"].notna().any():
            assert g["m"].min() - 1e-9 <= row["mean_min"] <= row["max_min"] + 1e-9
            lived = g.loc[g["p"] > 0, "m"].dropna()  # the farthest village where someone lives
            assert row["max_min"] == (lived.max() if len(lived) else g["m"].max())
        else:
            assert math.isnan(row["mean_min"])  # no minutes at all: none, never 0
    unreached = any(math.isnan(m) for m in mins)
    event("some village unreached" if unreached else "all reached")
    _SEEN["unreached"] += unreached
    _SEEN["runs"] += 1


def test_within_share_examples_reached_the_asserts():
    _SEEN.update(unreached=0, runs=0)
    test_within_share_monotone_and_bounded()
    assert _SEEN["runs"] >= 20 and _SEEN["unreached"] >= 1


def test_minute_fca_hand_computed():
    # villages 0 (100 people), 1 (300); facility 0 at 5 and 10 min, facility 1 at 40 min from village 1
    plain, enhanced = minute_fca([0, 1, 1], [0, 0, 1], [5.0, 10.0, 40.0], np.array([100.0, 300.0]),
                                 np.array([1.0, 2.0]), 30.0)
    assert plain.tolist() == pytest.approx([1 / 400, 1 / 400])  # facility 1 is beyond 30 min: not counted
    w = lambda d: (math.exp(-0.5 * (d / 30) ** 2) - math.exp(-0.5)) / (1 - math.exp(-0.5))  # noqa: E731
    r0 = 1 / (100 * w(5) + 300 * w(10))
    assert enhanced.tolist() == pytest.approx([w(5) * r0, w(10) * r0])


def test_minute_catchment_on_a_small_graph(monkeypatch):
    """2SFCA in minutes through the road graph (travel_pairs) equals a hand oracle.

    A 60 km/h straight road west → east (1 km per minute), two villages and two facilities on it
    (snapped exactly, no off-road legs): village a at x=0 (100 people), b at x=20 km (300 people);
    facility F at x=5 km, G at x=45 km. Catchment 30 min: a→F 5 min, b→F 15 min, b→G 25 min.
    """
    from coverage import network
    from coverage.travelaccess import minute_catchment

    if not hasattr(network, "travel_pairs"):
        pytest.skip("coverage.network.travel_pairs (wt/netperf) not merged yet")
    net = network.network_from_lines(gpd.GeoSeries([LineString([(0, 0), (60_000, 0)])], crs=CRS), [60.0])
    towns = pd.DataFrame({"code": ["a", "b"], "county": "甲縣", "category": "welfare_centre", "people": [100, 300]})
    monkeypatch.setattr("coverage.geography.load_villages", lambda: gpd.GeoDataFrame(
        {"villcode": ["a", "b"]}, geometry=gpd.points_from_xy([0, 20_000], [0, 0]).buffer(1e-3), crs=CRS))
    fac = gpd.GeoDataFrame({"facility_id": ["F", "G"], "category": "welfare_centre", "name": ["F", "G"],
                            "county": "甲縣", "status": "open", "opened": pd.NaT, "closed": pd.NaT},
                           geometry=gpd.points_from_xy([5_000, 45_000], [0, 0]), crs=CRS)
    township = gpd.GeoDataFrame({"towncode": ["T"], "county": ["甲縣"]},
                                geometry=[LineString([(-1e3, -1e3), (7e4, 1e3)]).envelope], crs=CRS)
    out = minute_catchment(net, towns, fac, township, group="total", catchment_min=30.0).set_index("code")
    r_f, r_g = 1 / 400, 1 / 300
    assert out.at["a", "fca_2sfca_min"] == pytest.approx(r_f * 1e4, rel=1e-6)
    assert out.at["b", "fca_2sfca_min"] == pytest.approx((r_f + r_g) * 1e4, rel=1e-6)
    w = lambda d: (math.exp(-0.5 * (d / 30) ** 2) - math.exp(-0.5)) / (1 - math.exp(-0.5))  # noqa: E731
    rf = 1 / (100 * w(5) + 300 * w(15))
    rg = 1 / (300 * w(25))
    assert out.at["a", "fca_e2sfca_min"] == pytest.approx(w(5) * rf * 1e4, rel=1e-4)
    assert out.at["b", "fca_e2sfca_min"] == pytest.approx((w(15) * rf + w(25) * rg) * 1e4, rel=1e-4)


def test_minute_columns_listed():
    acc = add_minutes(_access([1], ["T1"]), _travel([1.0], ["T1"]), within_min=30,
                      fca=pd.DataFrame({"code": ["v0"], "category": ["welfare_centre"], "fca_2sfca_min": [1.0],
                                        "fca_e2sfca_min": [0.5]}), catchment_min=20)
    assert set(MINUTE_POINT_COLUMNS) <= set(acc.points.columns) and acc.catchment_min == 20.0
    assert dataclasses.asdict(acc)["within_min"] == 30.0
