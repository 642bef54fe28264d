"""Service areas on the maps: each centre's catchment (townships, villages where split), its popup text,
and the national headline over the counties with complete data (coverage.maps.catchments, payload)."""

from __future__ import annotations

import csv

import pytest
import shapely
from hypothesis import event, given, settings
from hypothesis import strategies as st

from coverage.geography import PROJECTED_CRS, load_townships, load_villages
from coverage.maps import (
    AREA_COLOURS,
    catchment_outlines,
    map_payload,
    service_area_text,
    to_script_json,
)
from coverage.pipeline import run_coverage
from coverage.serviceareas import facility_service_areas, load_service_areas
from tests.maps.conftest import AS_OF, XSS_CORPUS, XSS_IMG, XSS_SCRIPT, inner_point

XIULIN, WENLAN, TONGMEN = "10015110", "10015110006", "10015110005"
FENGSHAN = "64000120"


@pytest.fixture(scope="module")
def east_report():
    """The bundled registry (national 社福中心 with official service areas) in 花蓮縣 and 高雄市."""
    return run_coverage(counties=["花蓮縣", "高雄市"], as_of=AS_OF)


@pytest.fixture(scope="module")
def hualien(east_report):
    return map_payload(east_report, "花蓮縣")


def _town_index(payload) -> dict[str, int]:
    return {t["c"]: i for i, t in enumerate(payload["towns"])}


def _area(payload, name: str) -> dict:
    (area,) = [a for a in payload.get("areas", []) if a["n"] == name]
    return area


def _decode(geometry, q: int):
    """Payload geometry → shapely (lon/lat), the inverse of coverage.maps.encode_geometry."""
    polys = []
    for part in geometry:
        rings = []
        for ring in part:
            x = y = 0
            pts = []
            for i in range(0, len(ring), 2):
                x += ring[i]
                y += ring[i + 1]
                pts.append((x / q, y / q))
            rings.append(pts)
        polys.append(shapely.Polygon(rings[0], rings[1:]))
    return shapely.MultiPolygon(polys) if polys else shapely.Polygon()


def _area_m2(geom) -> float:
    import geopandas as gpd

    return float(gpd.GeoSeries([geom], crs="EPSG:4326").to_crs(PROJECTED_CRS).area.iloc[0])


# --- service-area parts of the facilities ---------------------------------------------------------


def test_official_parts_of_the_split_townships(east_report):
    fac = east_report.registry.facilities
    areas = facility_service_areas(fac)
    by_name = {fac.loc[k, "name"]: parts for k, parts in areas.items()}
    xinxiu = by_name["花蓮縣新秀社會福利服務中心"]
    assert [(p["towncode"], p["part"], set(p["villcodes"])) for p in xinxiu] == [
        ("10015040", "whole", set()), (XIULIN, "except", {WENLAN, TONGMEN})]
    jian = by_name["花蓮縣吉安社會福利服務中心"]
    assert [(p["part"], set(p["villcodes"])) for p in jian] == [("whole", set()), ("only", {WENLAN, TONGMEN})]
    for name in ("鳳山社會福利服務中心", "鳳山五甲社會福利服務中心"):
        assert [(p["towncode"], p["part"]) for p in by_name[name]] == [(FENGSHAN, "partial")]
    # every bundled centre with a service area has its parts; the unresolved one has none
    table = load_service_areas()
    assert set(table["part"]) <= {"whole", "except", "only", "partial", "unresolved"}
    assert all(parts for parts in areas.values())


def test_a_users_serves_list_is_whole_townships_and_a_borrowed_id_is_not_matched(tmp_path):
    path = tmp_path / "mine.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "category", "name", "county", "township", "serves"])
        # mohw-wc-136 is the official id of 新秀 (新城鄉 and 秀林鄉 but two villages): this row serves other townships
        w.writerow(["mohw-wc-136", "welfare_centre", "自訂中心", "花蓮縣", "新城鄉", "新城鄉、吉安鄉"])
        w.writerow(["x-2", "welfare_centre", "另一中心", "花蓮縣", "玉里鎮", ""])
    report = run_coverage([path], counties=["花蓮縣"], as_of=AS_OF)
    fac = report.registry.facilities
    areas = facility_service_areas(fac)
    assert len(areas) == 1  # a blank serves is no service area
    (parts,) = areas.values()
    assert [(p["towncode"], p["part"], p["villcodes"]) for p in parts] == [
        ("10015040", "whole", ()), ("10015050", "whole", ())]


# --- popup text --------------------------------------------------------------------------------------


def test_popups_name_the_village_parts(hualien, east_report):
    popups = {f["n"]: f["p"] for f in hualien["fac"]}
    assert "<th>服務區域</th><td>新城鄉、秀林鄉（文蘭村、銅門村除外）</td>" in popups["花蓮縣新秀社會福利服務中心"]
    assert "<th>服務區域</th><td>吉安鄉、秀林鄉文蘭村、銅門村</td>" in popups["花蓮縣吉安社會福利服務中心"]
    kaohsiung = map_payload(east_report, "高雄市")
    popup = next(f["p"] for f in kaohsiung["fac"] if f["n"] == "鳳山社會福利服務中心")
    # the villages are not named: the township is served in part, and the official words say which part
    assert "<td>鳳山區（部分，公告未列村里）</td>" in popup
    assert "<th>公告服務區域</th><td>鳳山區國泰路以北共41里</td>" in popup


@settings(max_examples=60, deadline=None)
@given(town=st.sampled_from([*XSS_CORPUS, "秀林鄉"]), village=st.sampled_from([*XSS_CORPUS, "銅門村"]),
       part=st.sampled_from(["whole", "except", "only", "partial"]),
       county=st.sampled_from(["花蓮縣", "<b>縣</b>"]))
def test_service_area_text_escapes_every_name(town, village, part, county):
    village += "#村"  # never a substring of the township's name
    names = {"1": (county, town)}
    text = service_area_text([{"towncode": "1", "part": part, "villcodes": ("v",)}], "花蓮縣", names, {"v": village})
    event(f"part={part}")
    assert "<" not in text and ">" not in text  # names from a user's boundary file are text, never markup
    from html import unescape

    plain = unescape(text)
    assert town in plain
    assert (village in plain) == (part in ("except", "only"))
    assert (county in plain) == (county != "花蓮縣")  # another county is named


# --- outlines ------------------------------------------------------------------------------------------


def test_hualien_catchments_with_the_split_township(hualien):
    index = _town_index(hualien)
    xinxiu = _area(hualien, "花蓮縣新秀社會福利服務中心")
    jian = _area(hualien, "花蓮縣吉安社會福利服務中心")
    # 新城鄉 is a polygon of the map; the villages of 秀林鄉 are not (a township-level map): sent as geometry
    assert xinxiu["ti"] == [index["10015040"]] and xinxiu["vi"] == [] and xinxiu["g"]
    assert jian["ti"] == [index["10015050"]] and jian["g"]
    villages = load_villages()
    xiulin = villages[villages["towncode"] == XIULIN]
    two = shapely.union_all(xiulin[xiulin["villcode"].isin([WENLAN, TONGMEN])].geometry.values)
    rest = shapely.union_all(xiulin[~xiulin["villcode"].isin([WENLAN, TONGMEN])].geometry.values)
    q = hualien["q"]
    got_rest, got_two = _decode(xinxiu["g"], q), _decode(jian["g"], q)
    assert _area_m2(got_rest) == pytest.approx(_area_m2(rest), rel=0.02)
    assert _area_m2(got_two) == pytest.approx(_area_m2(two), rel=0.02)
    # the two parts of 秀林鄉 meet along a border but do not overlap
    assert _area_m2(shapely.intersection(got_rest.buffer(0), got_two.buffer(0))) < 0.005 * _area_m2(two)
    # each facility with an area points at it; the catchments are of the 社福中心 layer
    fac = hualien["fac"]
    for j, area in enumerate(hualien["areas"]):
        assert fac[area["f"]]["ar"] == j and fac[area["f"]]["n"] == area["n"]
        assert hualien["cats"][area["k"]]["key"] == "welfare_centre"
    assert len(hualien["areas"]) == 5 and hualien["areaLayer"]


def test_village_level_map_names_the_villages(east_report):
    payload = map_payload(east_report, "花蓮縣", level="village")
    vill = dict(enumerate(payload["villages"]))
    villages = load_villages().set_index("villcode")
    names = {villages.loc[c, "village"] for c in (WENLAN, TONGMEN)}
    xinxiu = _area(payload, "花蓮縣新秀社會福利服務中心")
    jian = _area(payload, "花蓮縣吉安社會福利服務中心")
    # on a village-level map both parts of 秀林鄉 are the map's own village polygons: no geometry is sent
    assert xinxiu["g"] == [] and jian["g"] == []
    assert {vill[j]["n"] for j in jian["vi"]} == names
    assert len(xinxiu["vi"]) == (villages["towncode"] == XIULIN).sum() - 2
    assert not {vill[j]["n"] for j in xinxiu["vi"]} & names
    assert all(payload["towns"][vill[j]["i"]]["c"] == XIULIN for j in xinxiu["vi"] + jian["vi"])


def test_fengshan_is_outlined_dashed_for_both_centres(east_report):
    payload = map_payload(east_report, "高雄市")
    index = _town_index(payload)
    for name in ("鳳山社會福利服務中心", "鳳山五甲社會福利服務中心"):
        area = _area(payload, name)
        assert area["tp"] == [index[FENGSHAN]] and area["ti"] == [] and area["g"] == []
        assert "虛線" in area["t"]
    # every other catchment is whole townships of the map, drawn from the map's own polygons
    others = [a for a in payload["areas"] if not a["tp"]]
    assert len(others) == len(payload["areas"]) - 2 and all(a["ti"] and a["g"] == [] for a in others)


def test_touching_catchments_have_different_colours(east_report):
    payload = map_payload(east_report, "高雄市")
    towns = load_townships().set_index("towncode").to_crs(PROJECTED_CRS).geometry
    codes = [t["c"] for t in payload["towns"]]
    shapes = [shapely.union_all([towns.loc[codes[i]] for i in a["ti"] + a["tp"]]) for a in payload["areas"]]
    pairs = 0
    for i, a in enumerate(payload["areas"]):
        assert a["c"] in AREA_COLOURS
        for j in range(i):
            if shapes[i].buffer(10).intersects(shapes[j]):
                pairs += 1
                assert a["c"] != payload["areas"][j]["c"], (a["n"], payload["areas"][j]["n"])
    assert pairs > 10  # the check had neighbours to compare


def test_no_areas_on_the_national_map_or_without_service_areas(chiayi_report, east_report):
    assert "areas" not in map_payload(chiayi_report, "嘉義縣")  # the fixture registry names no service area
    national = map_payload(run_coverage(as_of=AS_OF), None)
    assert "areas" not in national and all("ar" not in f for f in national["fac"])
    # popups on the national map still name the village parts
    assert any("秀林鄉（文蘭村、銅門村除外）" in f["p"] for f in national["fac"])


def test_hostile_names_in_a_catchment_are_escaped(tmp_path):
    path = tmp_path / "xss.csv"
    lon, lat = inner_point("民雄鄉")
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["category", "name", "county", "township", "lon", "lat", "serves"])
        w.writerow(["welfare_centre", XSS_IMG, "嘉義縣", "民雄鄉", lon, lat, "民雄鄉、新港鄉"])
        w.writerow(["welfare_centre", XSS_SCRIPT, "嘉義縣", "民雄鄉", lon, lat, "大林鎮"])
    report = run_coverage([path], counties=["嘉義縣"], as_of=AS_OF)
    payload = map_payload(report, "嘉義縣")
    assert len(payload["areas"]) == 2
    for area in payload["areas"]:
        assert "<img" not in area["n"] and "<script" not in area["n"] and "</script" not in area["t"]
        assert area["n"] in area["t"]
    text = to_script_json(payload)
    assert "<img" not in text and "</script" not in text


def test_catchment_outlines_skip_unknown_townships():
    towns = load_townships()
    index = {"10015040": 0}
    areas = [(0, 0, "甲", "新城鄉", [{"towncode": "10015040", "part": "whole", "villcodes": ()},
                                     {"towncode": "99999999", "part": "whole", "villcodes": ()}]),
             (1, 0, "乙", "花蓮市", [{"towncode": "10015010", "part": "whole", "villcodes": ()}])]
    out = catchment_outlines(areas, towns, None, 30.0, 20_000, town_index=index)
    assert out[0]["ti"] == [0] and out[0]["g"] == []  # the unknown code is left out, not a crash
    assert out[1]["ti"] == [] and out[1]["g"]  # a township not on the map is sent as geometry
    assert out[0]["c"] != out[1]["c"]  # 新城鄉 and 花蓮市 touch


# --- national headline ---------------------------------------------------------------------------------


def test_national_headline_counts_only_complete_counties():
    from coverage.datasets import get_path

    report = run_coverage([get_path("seed_registry")], as_of=AS_OF)
    payload = map_payload(report, None)
    table = report.counties
    seen = 0
    for cat in payload["cats"]:
        rows = table[table["category"] == cat["key"]]
        complete = rows[rows["data"] == "complete"]
        if cat["data"] == "partial":
            seen += 1
            assert cat["cc"] == len(complete) < cat["cn"] == len(rows)
            assert (cat["covered"], cat["total"]) == (int(complete["covered"].sum()), int(complete["total"].sum()))
            assert cat["gaps"] == cat["total"] - cat["covered"]  # gaps of the counted counties only
        else:
            assert "cc" not in cat
    assert seen
    # a county map keeps its own figures
    county = map_payload(report, "嘉義縣")
    assert all("cc" not in c for c in county["cats"])
