"""Minutes by road on the maps (coverage.maps.travel): township tooltips, the 行車時間 village layer, and
pages without a network unchanged."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from coverage.geography import load_villages
from coverage.maps import (
    NO_ROAD_COLOUR,
    TRAVEL_BINS,
    TRAVEL_COLOURS,
    map_payload,
    ordered_categories,
    page_css,
    render_map,
    to_script_json,
    town_minutes,
    travel_reason_label,
)
from coverage.network import TRAVEL_COLUMNS
from tests.maps.conftest import AS_OF, XSS_IMG, XSS_SCRIPT, payload_of

ESCAPED_IMG = "&lt;img src=x onerror=alert(1)&gt;"
ESCAPED_SCRIPT = "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"


def _rows(rows: list[tuple]) -> pd.DataFrame:
    """travel rows (villcode, towncode, category, minutes, reason) with the other columns filled."""
    out = []
    for villcode, towncode, category, minutes, reason in rows:
        ok = minutes is not None and not (isinstance(minutes, float) and math.isnan(minutes))
        out.append({"villcode": villcode, "towncode": towncode, "county": "嘉義縣", "category": category,
                    "nearest_min": minutes if ok else float("nan"),
                    "network_km": minutes * 0.9 if ok else float("nan"), "snap_km": 0.25,
                    "facility_id": "f1" if ok else "", "facility_name": "甲中心" if ok else "",
                    "reason": "" if ok else reason})
    return pd.DataFrame(out, columns=TRAVEL_COLUMNS)


def test_town_minutes_oracle():
    travel = _rows([("v1", "T", "a", 10.0, ""), ("v2", "T", "a", 20.0, ""),
                    ("v3", "T", "a", None, "no road connection to a facility"),
                    ("v1", "T", "b", None, "no open point of the programme in the county"),
                    ("v4", "U", "a", 7.5, "")])
    plain = town_minutes(travel, ["a", "b"])
    assert plain["T"] == [[15.0, 20.0, 1, 3], [None, None, 1, 1]]  # the unreached village is not a 0
    assert plain["U"] == [[7.5, 7.5, 0, 1], None]
    people = pd.Series({"v1": 100, "v2": 300, "v3": 10_000, "v4": 0})
    weighted = town_minutes(travel, ["a", "b"], people)
    assert weighted["T"][0] == [17.5, 20.0, 1, 3]  # (100·10 + 300·20) / 400; v3's people have no minutes
    assert weighted["U"][0] == [7.5, 7.5, 0, 1]  # nobody lives there: the plain mean


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["T", "U"]), st.one_of(st.none(), st.floats(0, 300)),
                          st.integers(0, 5000)), min_size=1, max_size=12))
def test_town_minutes_properties(villages):
    travel = _rows([(f"v{i}", town, "a", m, "no road connection to a facility")
                    for i, (town, m, _p) in enumerate(villages)])
    people = pd.Series({f"v{i}": p for i, (_t, _m, p) in enumerate(villages)})
    for weights in (None, people):
        got = town_minutes(travel, ["a"], weights)
        for town in {t for t, _m, _p in villages}:
            (mean, most, without, n), = got[town]
            minutes = [m for t, m, _p in villages if t == town and m is not None]
            assert n == sum(t == town for t, _m, _p in villages) and without == n - len(minutes)  # counts balance
            if not minutes:
                event("township without minutes")
                assert mean is None and most is None
            else:
                event("township with minutes")
                assert most == round(max(minutes), 1)
                assert round(min(minutes), 1) - 0.05 <= mean <= most + 0.05


def test_reason_labels():
    assert travel_reason_label("no road connection to a facility") == "無道路連線至本縣市此類據點"
    assert travel_reason_label("no open point of the programme in the county") == "本縣市無此類開放據點"
    assert travel_reason_label(None) == "未計算行車時間"
    assert travel_reason_label(XSS_IMG) == "&lt;img src=x onerror=alert(1)&gt;"


def _chiayi_travel(report) -> pd.DataFrame:
    """Minutes for every 嘉義縣 village and category: villcode-derived, 阿里山鄉 unreachable, hostile names."""
    villages = load_villages()
    villages = villages[villages["villcode"].str.startswith("10010")]
    cats = sorted(report.counties["category"].unique())
    rows = []
    for n, (villcode, towncode) in enumerate(zip(villages["villcode"], villages["towncode"], strict=True)):
        for cat in cats:
            far = towncode == "10010180"
            rows.append({"villcode": villcode, "towncode": towncode, "county": "嘉義縣", "category": cat,
                         "nearest_min": float("nan") if far else float(n % 90), "network_km": float("nan") if far
                         else n % 90 * 0.8, "snap_km": 0.123, "facility_id": "" if far else f"id{n % 3}",
                         "facility_name": "" if far else [XSS_IMG, XSS_SCRIPT, "民雄中心"][n % 3],
                         "reason": (XSS_SCRIPT if cat == cats[0] else "no road connection to a facility")
                         if far else ""})
    return pd.DataFrame(rows, columns=TRAVEL_COLUMNS)


@pytest.fixture(scope="module")
def travel_report(chiayi_report):
    report = dataclasses.replace(chiayi_report)
    report.travel = _chiayi_travel(chiayi_report)
    report.network = "roads.gpkg (sha256 0123; graph from the cache)"
    return report


def test_county_payload_carries_minutes(travel_report):
    payload = map_payload(travel_report, "嘉義縣")
    travel = payload["travel"]
    cats = ordered_categories(travel_report.counties["category"].tolist())  # raw keys (the payload's are escaped)
    villages = load_villages()
    villages = villages[villages["villcode"].str.startswith("10010")].sort_values("villcode")
    assert len(travel["v"]) == len(villages) > 300 and all(v["g"] for v in travel["v"])
    assert travel["bins"] == TRAVEL_BINS and travel["colours"] == [*TRAVEL_COLOURS, NO_ROAD_COLOUR]
    assert len(travel["labels"]) == len(travel["colours"]) and not travel["weighted"]
    assert travel["network"] == "roads.gpkg"  # never whether the cache was used: pages stay byte-identical
    rows = travel_report.travel.set_index(["villcode", "category"])
    towns = [t["c"] for t in payload["towns"]]
    for entry, villcode, town in zip(travel["v"], villages["villcode"], villages["towncode"], strict=True):
        assert towns[entry["i"]] == town
        for k, cat in enumerate(cats):
            row = rows.loc[(villcode, cat)]
            if town == "10010180":  # 阿里山鄉: no minutes, a reason, never 0
                assert entry["m"][k] is None and entry["km"][k] is None and entry["f"][k] == -1
                assert travel["reasons"][entry["r"][k]] in ("無道路連線至本縣市此類據點", ESCAPED_SCRIPT)
            else:
                assert entry["m"][k] == round(row["nearest_min"], 1) and entry["r"][k] == -1
                assert entry["sk"][k] == 0.12
                assert travel["names"][entry["f"][k]] in (ESCAPED_IMG, ESCAPED_SCRIPT, "民雄中心")
    # township tooltips: the mean and max of their villages, 阿里山鄉 all without minutes
    expected = town_minutes(travel_report.travel, cats)
    for town in payload["towns"]:
        assert town["tm"] == expected[town["c"]]
    alishan = next(t for t in payload["towns"] if t["c"] == "10010180")
    assert alishan["tm"][0][:2] == [None, None] and alishan["tm"][0][2] == alishan["tm"][0][3] > 0
    text = to_script_json(payload)
    assert "<img" not in text and "</script" not in text


def test_village_level_payload_shares_the_village_polygons(travel_report):
    payload = map_payload(travel_report, "嘉義縣", level="village")
    travel = payload["travel"]
    assert len(travel["v"]) == len(payload["villages"])
    for entry, village in zip(travel["v"], payload["villages"], strict=True):
        assert "g" not in entry and entry["n"] == village["n"] and entry["i"] == village["i"]


def test_national_payload_has_tooltips_only(travel_report):
    payload = map_payload(travel_report, None)
    assert payload["travel"]["v"] is None
    assert sum("tm" in t for t in payload["towns"]) == 18  # the 18 townships of 嘉義縣, the only ones with minutes


def test_pages_without_a_network_have_no_minutes(chiayi_report, travel_report):
    plain = render_map(chiayi_report, "嘉義縣")
    payload = payload_of(plain)
    assert "travel" not in payload and all("tm" not in t for t in payload["towns"])
    assert "sn-tlegend" not in plain.split("<script", 1)[0] and "行車時間：" not in payload["ui"]["legend"]
    assert ".sn-tmin .sn-r0" not in page_css(payload)
    # with minutes: the legend of the village layer, the note in 資料說明, the bold row of the popups
    page = render_map(travel_report, "嘉義縣")
    with_minutes = payload_of(page)
    assert 'class="sn-tlegend"' in with_minutes["ui"]["legend"]
    assert "行車時間：路網 roads.gpkg" in with_minutes["ui"]["legend"]
    assert ".sn-active-0 .sn-tmin .sn-r0" in page_css(with_minutes)
    assert render_map(travel_report, "嘉義縣") == page  # byte-identical for identical inputs


def test_real_roads_of_miaoli(shared_data):
    """苗栗縣 with the OSM roads of ../shared/data/roads: every village has its entry; 泰安鄉 is the farthest."""
    from coverage.pipeline import run_coverage

    roads = shared_data / "roads" / "Miaoli_Road_Network.shp"
    report = run_coverage(counties=["苗栗縣"], as_of=AS_OF, network=roads)
    payload = map_payload(report, "苗栗縣")
    k = [c["key"] for c in payload["cats"]].index("welfare_centre")
    villages = load_villages()
    assert len(payload["travel"]["v"]) == int((villages["towncode"].str.startswith("10005")).sum())
    means = {t["n"]: t["tm"][k][0] for t in payload["towns"] if t["tm"][k] and t["tm"][k][0] is not None}
    assert max(means, key=means.get) == "泰安鄉"
    minutes = report.travel[report.travel["category"] == "welfare_centre"].set_index("villcode")["nearest_min"]
    codes = villages[villages["towncode"].str.startswith("10005")].sort_values("villcode")["villcode"]
    for entry, code in zip(payload["travel"]["v"], codes, strict=True):
        value = minutes.loc[code]
        assert entry["m"][k] == (None if pd.isna(value) else round(float(value), 1))
