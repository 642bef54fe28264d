"""The bundled national registry (geodata/registry.csv) and official service areas (issue 15)."""

from __future__ import annotations

import csv
import importlib.util
from collections import Counter

import pytest

from coverage.datasets import get_path
from coverage.facilities import read_facilities
from coverage.geography import load_townships, load_villages
from coverage.pipeline import run_coverage
from coverage.serviceareas import parse_service_area

from .conftest import REPO

# Per-county counts of the MOHW list (../shared/data/PROVENANCE.md), outposts included.
WELFARE_PER_COUNTY = {"臺北市": 12, "新北市": 14, "桃園市": 15, "臺中市": 14, "臺南市": 12, "高雄市": 18, "宜蘭縣": 5,
                      "新竹縣": 5, "苗栗縣": 5, "彰化縣": 8, "南投縣": 5, "雲林縣": 6, "嘉義縣": 6, "屏東縣": 6,
                      "臺東縣": 4, "花蓮縣": 5, "澎湖縣": 5, "基隆市": 4, "新竹市": 3, "嘉義市": 2, "金門縣": 2,
                      "連江縣": 1}


def _rows(name: str) -> list[dict]:
    lines = get_path(name).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# Derived by scripts/build_registry.py")  # provenance line
    return list(csv.DictReader(lines[1:]))


@pytest.fixture(scope="module")
def registry():
    return read_facilities(get_path("registry"))


@pytest.fixture(scope="module")
def towns():
    return load_townships()


def test_registry_reads_whole(registry):
    assert len(registry.rejected) == 0
    assert len(registry.facilities) == len(_rows("registry")) == 212
    assert registry.facilities["facility_id"].is_unique


def test_welfare_centres_per_county(registry):
    fac = registry.facilities
    got = Counter(fac.loc[fac["category"] == "welfare_centre", "county"])
    assert dict(got) == WELFARE_PER_COUNTY
    assert sum(got.values()) == 157  # 155 centres + 2 outposts (MOHW publishes 156 centres)
    kinds = Counter(r["kind"] for r in _rows("registry") if r["category"] == "welfare_centre")
    assert kinds == {"centre": 155, "outpost": 2}


def test_shared_office_coordinates_marked(registry):
    fac = registry.facilities
    office = fac[fac["precision"] == "office"]
    assert set(office["name"]) >= {"板橋第一社會福利服務中心", "板橋第二社會福利服務中心"}
    assert len(office) == 10  # five pairs share one office's coordinates
    assert office.geometry.to_wkt().value_counts().eq(2).all()


def test_mental_health_rows_are_t0105_only(registry):
    mh = registry.facilities[registry.facilities["category"] == "mental_health_centre"]
    national = [r for r in _rows("registry") if r["id"].startswith("mohw-mh-")]
    assert len(national) == 33
    assert not any("精神復健" in r["name"] or "戒" in r["name"] for r in national)
    assert len(mh) == 33 + 2  # + the seed's 潭子 and 太平 (not in the national list)


def test_no_google_coordinates_bundled():
    for r in _rows("registry"):
        if "Google" in r["source"]:
            assert r["lon"] == r["lat"] == ""


def test_seed_merged_with_national(registry):
    rows = _rows("registry")
    assert not any(r["id"].startswith("seed-") and r["category"] == "welfare_centre" for r in rows)
    chiayi = [r for r in rows if r["county"] == "嘉義縣" and r["category"] == "welfare_centre"]
    assert len(chiayi) == 6 and all(r["lon"] for r in chiayi)  # the seed's 6 townships, now with coordinates
    assert all("嘉義縣政府" in r["source"] for r in chiayi)  # the seed's source kept beside the national one
    taichung = {r["name"] for r in rows if r["county"] == "臺中市" and r["category"] == "mental_health_centre"}
    assert len(taichung) == 5  # 3 in both lists (one point each) + 潭子, 太平 from the seed


@pytest.mark.parametrize("as_of, key, covered, total, rate, missing", [
    ("2023-01-01", ("嘉義縣", "community_support_point"), 17, 18, 94.4, ["阿里山鄉"]),
    ("2023-01-01", ("嘉義市", "welfare_centre"), 2, 2, 100.0, []),
    ("2023-01-01", ("臺中市", "mental_health_centre"), 3, 29, 10.3, None),
    ("2024-06-01", ("臺中市", "mental_health_centre"), 5, 29, 17.2, None),
])
def test_seed_figures_hold(as_of, key, covered, total, rate, missing):
    row = run_coverage(as_of=as_of).counties.set_index(["county", "category"]).loc[key]
    assert (row["covered"], row["total"], row["rate"]) == (covered, total, rate)
    if missing is not None:
        assert list(row["missing"]) == missing


def test_service_area_definition_nationally():
    cov = run_coverage(definition="service-area").counties.set_index(["county", "category"])
    assert cov.loc[("嘉義縣", "welfare_centre"), "covered"] == 18  # 日安竹崎 serves 阿里山鄉
    assert cov.loc[("連江縣", "welfare_centre"), "covered"] == 4  # 連江縣 = all four townships
    presence = run_coverage().counties.set_index(["county", "category"])
    assert presence.loc[("嘉義縣", "welfare_centre"), "covered"] == 6


@pytest.mark.parametrize("text, county, expect, unresolved", [
    ("基隆市暖暖、七堵全區", "基隆市", [("暖暖區", "whole", 0), ("七堵區", "whole", 0)], 0),
    ("連江縣", "連江縣", [("南竿鄉", "whole", 0), ("北竿鄉", "whole", 0), ("莒光鄉", "whole", 0),
                          ("東引鄉", "whole", 0)], 0),
    ("新城鄉、秀林鄉(文蘭村、銅門村除外)", "花蓮縣", [("新城鄉", "whole", 0), ("秀林鄉", "except", 2)], 0),
    ("吉安鄉(含秀林鄉文蘭村、銅門村)", "花蓮縣", [("吉安鄉", "whole", 0), ("秀林鄉", "only", 2)], 0),
    ("花蓮市(共44里)", "花蓮縣", [("花蓮市", "whole", 0)], 0),
    ("鳳山區國泰路以北共41里", "高雄市", [("鳳山區", "partial", 0)], 0),
    ("望安鄉，七美鄉", "澎湖縣", [("望安鄉", "whole", 0), ("七美鄉", "whole", 0)], 0),
    ("台西鄉、麥寮鄉", "雲林縣", [("臺西鄉", "whole", 0), ("麥寮鄉", "whole", 0)], 0),
    ("仁德區、龍崎嶇", "臺南市", [("仁德區", "whole", 0)], 1),  # a typo is reported, never dropped
    ("秀林鄉(文蘭村、不存在村除外)", "花蓮縣", [("秀林鄉", "except", 1)], 1),
    ("秀林鄉(東邊一半)", "花蓮縣", [], 1),
])
def test_service_area_forms(towns, text, county, expect, unresolved):
    area = parse_service_area(text, county, townships=towns, villages=load_villages())
    names = towns.set_index("towncode")["township"]
    assert [(names[p["towncode"]], p["part"], len(p["villcodes"])) for p in area.parts] == expect
    assert len(area.unresolved) == unresolved
    if unresolved:
        assert all(text.split("、")[-1][:2] in u or "(" in u for u in area.unresolved)


def test_service_area_file_covers_every_centre():
    areas = _rows("service_areas")
    ids = {r["id"] for r in _rows("registry") if r["id"].startswith("mohw-wc-")}
    assert {a["id"] for a in areas} == ids
    unresolved = [a for a in areas if a["part"] == "unresolved"]
    assert [a["note"] for a in unresolved] == ["no service area given in the source"]  # 板橋第二
    xiulin = [a for a in areas if a["part"] in ("except", "only")]
    assert len(xiulin) == 4 and all(a["villcode"] for a in xiulin)


def test_completeness_table():
    rows = {(r["county"], r["category"]): r["data"] for r in _rows("registry_completeness")}
    assert all(rows[(c, "welfare_centre")] == "complete" for c in WELFARE_PER_COUNTY)
    assert rows[("嘉義縣", "community_support_point")] == "complete"
    assert rows[("臺中市", "mental_health_centre")] == "partial"
    assert ("臺東縣", "community_support_point") not in rows  # no data at all


def test_rebuild_reproduces_committed_files(shared_data):
    spec = importlib.util.spec_from_file_location("build_registry", REPO / "scripts" / "build_registry.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    files, notes = module.build(shared_data / "registries", REPO / "geodata")
    for name, data in files.items():
        assert (REPO / "geodata" / name).read_bytes() == data, f"{name} differs from its rebuild"
    assert any("unresolved" in n for n in notes)


def test_no_data_is_not_zero_percent(tmp_path):
    """coverage.csv says `none` and leaves rate and missing empty where no registry holds the programme;
    index.html shows a grey 無資料 cell; partial data is marked."""
    import pandas as pd

    from coverage.maps import render_index
    from coverage.report import write_report

    report = run_coverage(counties=["嘉義縣", "臺東縣"], as_of="2024-01-01")
    write_report(report, tmp_path)
    cov = pd.read_csv(tmp_path / "coverage.csv", dtype=str, keep_default_na=False).set_index(["county", "category"])
    assert cov.loc[("嘉義縣", "community_support_point"), ["rate", "data"]].tolist() == ["94.4", "complete"]
    assert cov.loc[("臺東縣", "community_support_point"), ["rate", "missing", "data"]].tolist() == ["", "", "none"]
    assert cov.loc[("嘉義縣", "mental_health_centre"), "data"] == "partial"
    assert cov.loc[("臺東縣", "welfare_centre"), "data"] == "complete"
    html = render_index(report, {})
    assert html.count("無資料") >= 3 and "部分資料" in html
    import json

    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    states = {(r["county"], r["category"]): r["data"] for r in summary["coverage"]}
    assert states[("臺東縣", "community_support_point")] == "none"


def test_users_own_registry_has_no_data_where_it_has_no_points(tmp_path):
    reg = tmp_path / "mine.csv"
    reg.write_text("category,name,county,township\n小衛星,甲,嘉義縣,竹崎鄉\n", encoding="utf-8")
    report = run_coverage([reg], counties=["嘉義縣"])
    data = report.counties.set_index("category")["data"]
    assert data["community_support_point"] == "complete"
    assert (data.drop("community_support_point") == "none").all()
