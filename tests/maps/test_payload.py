"""coverage.maps.payload: coverage states and counts, village level, geometry encoding and display
simplification, a siting plan that does not fit its map."""

from __future__ import annotations

import pytest
import shapely

from coverage.errors import InputError
from coverage.geography import PROJECTED_CRS, load_townships
from coverage.maps import (
    COVERED,
    UNCOVERED,
    UNCOVERED_FLAGGED,
    display_geometry,
    encode_geometry,
    map_payload,
    render_map,
)
from coverage.pipeline import run_coverage
from tests.maps.conftest import (
    AS_OF,
    FIXTURE_ROWS,
)


def test_payload_states_and_counts(chiayi_report):
    p = map_payload(chiayi_report, "嘉義縣")
    assert len(p["towns"]) == 18
    keys = [c["key"] for c in p["cats"]]
    assert keys[:4] == ["welfare_centre", "community_support_point", "psychiatric_collab_point",
                        "mental_health_centre"]
    alishan = next(t for t in p["towns"] if "阿里山鄉" in t["t"])
    assert set(alishan["s"]) == {str(UNCOVERED_FLAGGED)}  # no facility, 山地原住民鄉 + 縣定偏遠
    assert "山地原住民鄉" in alishan["t"] and "縣定偏遠" in alishan["t"]
    minxiong = next(t for t in p["towns"] if "民雄鄉" in t["t"])
    assert minxiong["s"][0] == str(COVERED)
    xingang = next(t for t in p["towns"] if "新港鄉" in t["t"])
    assert xingang["s"][0] == str(UNCOVERED)  # not flagged
    support = p["cats"][1]
    assert (support["covered"], support["total"]) == (3, 18)
    assert support["gaps"] == 15
    # every facility shown once, in its category; the planned one marked, township precision marked
    assert sorted(f["k"] for f in p["fac"]) == sorted(keys.index(_key(r[0])) for r in FIXTURE_ROWS)
    planned = [f for f in p["fac"] if f["pl"]]
    assert len(planned) == 1 and "尚未啟用" in planned[0]["p"]
    approx = [f for f in p["fac"] if f["x"]]
    assert len(approx) == 1 and "位置僅知鄉鎮市區" in approx[0]["p"]


def _key(category: str) -> str:
    import html

    from coverage.facilities import normalise_category

    return html.escape(normalise_category(category))  # keys are escaped text in the payload


def test_payload_rejects_unknown_county_and_level(chiayi_report):
    with pytest.raises(InputError, match="not in this coverage report"):
        map_payload(chiayi_report, "臺北市")
    with pytest.raises(InputError, match="level"):
        map_payload(chiayi_report, "嘉義縣", level="county")


def test_village_level_payload(chiayi_report):
    from coverage.geography import load_villages

    p = map_payload(chiayi_report, "嘉義縣", level="village")
    villages = load_villages()
    assert len(p["villages"]) == (villages.county == "嘉義縣").sum()
    assert {v["i"] for v in p["villages"]} == set(range(18))
    assert all(t["g"] for t in p["towns"])  # township outlines drawn from the villages


def test_encode_geometry_round_trip():
    from shapely.geometry import MultiPolygon, Polygon

    outer = [(120.0, 23.0), (120.01, 23.0), (120.01, 23.01), (120.0, 23.01)]
    hole = [(120.004, 23.004), (120.006, 23.004), (120.006, 23.006)]
    geom = MultiPolygon([Polygon(outer, [hole]), Polygon([(121, 24), (121.001, 24), (121, 24.001)])])
    enc = encode_geometry(geom, 10_000)
    assert len(enc) == 2 and len(enc[0]) == 2

    def decode(ring):
        x = y = 0
        out = []
        for dx, dy in zip(ring[::2], ring[1::2], strict=True):
            x, y = x + dx, y + dy
            out.append((x / 10_000, y / 10_000))
        return out

    assert decode(enc[0][0]) == outer
    assert decode(enc[0][1]) == hole
    # a ring quantisation collapses is dropped, unless nothing else would be left
    tiny = Polygon([(120.0, 23.0), (120.00001, 23.0), (120.0, 23.00001)])
    assert encode_geometry(MultiPolygon([Polygon(outer), tiny]), 10_000) == [enc[0][:1]]
    assert encode_geometry(tiny, 10_000) != []


def _decoded_polygons(towns: list[dict], q: int):
    from shapely.geometry import MultiPolygon, Polygon

    polys = []
    for t in towns:
        parts = []
        for poly in t["g"]:
            rings = []
            for ring in poly:
                xs = [sum(ring[0:i + 1:2]) / q for i in range(0, len(ring), 2)]
                ys = [sum(ring[1:i + 2:2]) / q for i in range(0, len(ring), 2)]
                rings.append(list(zip(xs, ys, strict=True)))
            parts.append(Polygon(rings[0], rings[1:]))
        polys.append(MultiPolygon(parts))
    return polys


@pytest.mark.parametrize("county", ["嘉義縣", None])
def test_simplified_townships_keep_shared_edges(seed_report, county):
    """After simplification and quantisation neighbours still meet exactly: no gaps, no overlaps."""
    import geopandas as gpd

    p = map_payload(seed_report, county)
    polys = gpd.GeoSeries(_decoded_polygons(p["towns"], p["q"]), crs="EPSG:4326").to_crs(PROJECTED_CRS)
    original = load_townships()
    if county:
        original = original[original.county == county]
    original = original.geometry.to_crs(PROJECTED_CRS)
    # shared borders: every original neighbour pair still shares a border of similar length
    tree = shapely.STRtree(original.values)
    left, right = tree.query(original.values, predicate="touches")
    pairs = [(i, j) for i, j in zip(left, right, strict=True) if i < j]
    for i, j in pairs:
        before = shapely.length(shapely.intersection(original.values[i].boundary, original.values[j].boundary))
        if before < 500:  # corners and very short borders may simplify away
            continue
        after = shapely.length(shapely.intersection(polys.values[i].boundary, polys.values[j].boundary))
        assert after > 0.5 * before, (i, j, before, after)
    # no overlaps between neighbours (beyond numerical noise) and the total area is kept
    overlap = sum(shapely.area(shapely.intersection(polys.values[i], polys.values[j])) for i, j in pairs)
    assert overlap < 1e-4 * polys.area.sum()
    assert abs(polys.area.sum() - original.area.sum()) < 0.01 * original.area.sum()
    # simplification actually happened (the bundled data is already generalised at county scale)
    if county is None:
        before = shapely.get_num_coordinates(original.values).sum()
        assert shapely.get_num_coordinates(polys.values).sum() < 0.6 * before


def test_display_geometry_is_a_valid_coverage():
    towns = load_townships()
    simple = display_geometry(towns, 150)
    assert simple.index.equals(towns.index)
    assert shapely.coverage_is_valid(simple.to_crs(PROJECTED_CRS).values)


def test_site_map_rejects_mismatched_plan(chiayi_report, site_plan, seed_report):
    from coverage.siting import SitingPlan

    with pytest.raises(InputError, match="county"):
        map_payload(chiayi_report, None, sites=site_plan)
    other = SitingPlan(site_plan.sites, {**site_plan.summary, "county": "臺北市"}, site_plan.result)
    with pytest.raises(InputError, match="臺北市"):
        render_map(chiayi_report, "嘉義縣", sites=other)
    only = run_coverage(counties=["嘉義縣"], categories=["小衛星"], as_of=AS_OF)
    with pytest.raises(InputError, match="welfare_centre"):
        render_map(only, "嘉義縣", sites=site_plan)


def test_popups_show_the_service_area(seed_report):
    """A centre with an official service area (``serves``) lists its townships as 服務區域; others have no row."""
    p = map_payload(seed_report, "嘉義縣")
    minxiong = [f["p"] for f in p["fac"] if "日安民雄社會福利服務中心" in f["n"]]
    assert len(minxiong) == 1
    assert "<tr><th>服務區域</th><td>民雄鄉、大林鎮、溪口鄉、新港鄉</td></tr>" in minxiong[0]
    assert minxiong[0].index("服務區域") > minxiong[0].index("鄉鎮市區")  # right after the point's own township
    with_area = sum("服務區域" in f["p"] for f in p["fac"])
    assert 0 < with_area < len(p["fac"])


def test_service_area_names_other_counties():
    """A service area township in another county carries its county; an unknown code is shown as is."""
    import pandas as pd

    from coverage.maps import facility_popups

    frame = pd.DataFrame([{"category": "welfare_centre", "name": "甲", "county": "嘉義縣", "township": "民雄鄉",
                           "serves": ("A", "B", "Z"), "source": "s"},
                          {"category": "welfare_centre", "name": "乙", "county": "嘉義縣", "township": "民雄鄉",
                           "serves": (), "source": "s"}])
    styles = {"welfare_centre": {"label": "社福中心"}}
    names = {"A": ("嘉義縣", "大林鎮"), "B": ("嘉義市", "西區")}
    first, second = facility_popups(frame, pd.Series(["open", "open"]), styles, town_names=names)
    assert "<tr><th>服務區域</th><td>大林鎮、嘉義市西區、Z</td></tr>" in first
    assert "服務區域" not in second
    assert "服務區域" not in facility_popups(frame, pd.Series(["open", "open"]), styles)[0]  # without names


def test_national_map_opens_on_the_main_island(seed_report):
    """taiwan.html fits the main island (臺灣本島), not 金門 to 馬祖; county maps open on their own bounds."""
    p = map_payload(seed_report)
    (south, west), (north, east) = p["view"]
    assert 21.8 < south < 22.0 and 119.9 < west < 120.2 and 25.2 < north < 25.4 and 121.9 < east < 122.1
    assert p["bounds"][0][1] < 118.5 and p["bounds"][1][0] > 26.0  # every island stays on the map: 金門, 馬祖
    kinmen = map_payload(seed_report, "金門縣")
    assert "view" not in kinmen and kinmen["bounds"][0][1] < 118.5


def test_township_labels_name_a_point_inside_their_township(chiayi_report):
    """Each town carries its name (escaped) and a label point inside its own township."""
    p = map_payload(chiayi_report, "嘉義縣")
    towns = load_townships(None).set_index("towncode")
    for t in p["towns"]:
        assert t["n"] == towns.loc[t["c"], "township"] and t["n"] in t["t"]
        lat, lon = t["lp"]
        assert towns.loc[t["c"]].geometry.contains(shapely.Point(lon, lat)), t["n"]
    assert "阿里山鄉" in {t["n"] for t in p["towns"]}


@pytest.mark.parametrize("county", [None, "嘉義縣", "臺北市"])
def test_category_figures_from_unusual_column_types_are_the_same(seed_report, county):
    """A report whose county table has float counts (a hand-built or merged table) takes the pandas path for the
    category figures; it gives the same figures as the fast path, national partial-data counts included."""
    import copy

    fast = map_payload(seed_report, county)["cats"]
    other = copy.copy(seed_report)
    other.counties = seed_report.counties.astype({"covered": float, "total": float})
    slow = map_payload(other, county)["cats"]
    assert slow == fast
    assert all(type(c["covered"]) is int and type(c["total"]) is int for c in slow)
    if county is None:
        assert any("cc" in c for c in fast)  # the national figures of partial data were compared too
