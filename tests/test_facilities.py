"""Tests of coverage.facilities (and coverage.tabular): reading, validating, locating registries.

Every fixture file is written into ``tmp_path`` by the test that uses it; nothing binary is
committed. Coordinates are real: 嘉義縣竹崎鄉 ~ (120.55, 23.52), 嘉義縣阿里山鄉 ~ (120.80, 23.45),
嘉義市東區 ~ (120.47, 23.48), 金門縣金城鎮 ~ (118.32, 24.43).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import tempfile
import unicodedata
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from shapely.geometry import Point

from coverage.coordinates import locate_by_coordinates
from coverage.csvtext import csv_records
from coverage.errors import CoverageError, InputError, UnreadableFileError
from coverage.facilities import (
    CATEGORIES,
    FACILITY_COLUMNS,
    REJECTED_COLUMNS,
    Registry,
    check_cases,
    check_dates,
    check_precision,
    locate_villages,
    normalise_category,
    parse_date,
    read_facilities,
    read_registry_tables,
    read_table,
    registry_columns,
    registry_from_table,
    reject_duplicates,
    reject_malformed_rows,
    resolve_declared,
    split_extra_columns,
)
from coverage.privacy import is_personal_column
from coverage.rejections import WITHHELD, Rejections

ZHUQI, ALISHAN, CHIAYI_EAST, BANQIAO, YUANLIN, DAJIA, JINCHENG = (
    "10010140", "10010180", "10020010", "65000010", "10007100", "66000110", "09020010",
)
HEADER = ["類別", "名稱", "縣市", "鄉鎮市區", "地址", "經度", "緯度", "TWD97X", "TWD97Y",
          "啟用日期", "結束日期", "服務區域"]


def twd97(lon: float, lat: float, epsg: int = 3826) -> tuple[float, float]:
    return Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True).transform(lon, lat)


def write_csv(path: Path, rows: list[list[object]], encoding: str = "utf-8", header=HEADER) -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def row(**kw: object) -> list[object]:
    """A registry row in HEADER order from keyword arguments named by the canonical columns."""
    keys = ["category", "name", "county", "township", "address", "lon", "lat", "x", "y",
            "opened", "closed", "serves"]
    return [kw.get(k, "") for k in keys]


def check_invariant(reg: Registry) -> None:
    rejected_rows = reg.rejected.groupby("file")["row"].nunique().sum() if len(reg.rejected) else 0
    assert len(reg.facilities) + rejected_rows == reg.rows_read
    assert (reg.accepted, reg.rejected_rows) == (len(reg.facilities), rejected_rows)
    assert list(reg.rejected.columns) == REJECTED_COLUMNS
    assert list(reg.facilities.columns[: len(FACILITY_COLUMNS)]) == FACILITY_COLUMNS
    assert reg.facilities.crs.equals("EPSG:4326")
    accepted = set(zip(reg.facilities["file"], reg.facilities["row"], strict=True))
    assert not accepted & set(zip(reg.rejected["file"], reg.rejected["row"], strict=True))


# ----------------------------------------------------------------------------- the messy registry

def messy_file(tmp_path: Path) -> Path:
    """A cp950 registry with a dozen kinds of trouble (rows 2–13; see test_messy_registry_*)."""
    x, y = twd97(120.55, 23.52)
    ax, ay = twd97(120.80, 23.45)
    rows = [
        row(category="社福中心", name="竹崎社福中心", county="嘉義縣", township="竹崎鄉",  # 2
            lon=120.55, lat=23.52, opened="民國112年7月", serves="竹崎鄉、阿里山鄉"),
        row(category="小衛星", name="板橋據點", county="臺北縣", township="板橋市"),  # 3: historic
        row(category="會所", name="阿里山會所", county="嘉義縣\u3000", township="阿里山鄉",  # 4: swapped
            lon=23.45, lat=120.80),
        row(category="心衛中心", name="竹崎心衛", x=f"{x:.2f}", y=f"{y:.2f}", opened="1120701"),  # 5
        row(category="社福中心", name="巴黎中心", lon=2.35, lat=48.85),  # 6: outside Taiwan
        row(category="", name="無類別", county="嘉義市", township="東區"),  # 7: blank category
        row(category="社福中心", name="竹崎社福中心", county="嘉義縣", township="竹崎鄉",  # 8: duplicate
            lon=120.55, lat=23.52, opened="民國112年7月", serves="竹崎鄉、阿里山鄉"),
        row(category="社福中心", name="員林中心", county="彰化縣", township="員林鎮"),  # 9: historic
        row(category="家庭福利服務中心", name="大甲中心", county="台中市", township="大甲區"),  # 10: 台
        row(category="社福中心", name="ＡＢＣ\u3000中心", township="嘉義縣竹崎鄉"),  # 11: full width
        row(category="社福中心", name="打錯字", township="嘉義縣阿里山"),  # 12: unknown township
        row(category="社福中心", name="米制", lon=f"{ax:.1f}", lat=f"{ay:.1f}"),  # 13: TWD97 in lon/lat
    ]
    return write_csv(tmp_path / "messy.csv", rows, encoding="cp950")


@pytest.fixture
def messy(tmp_path: Path) -> Registry:
    return read_facilities(messy_file(tmp_path))


def test_messy_registry_towncodes(messy: Registry) -> None:
    f = messy.facilities.set_index("row")
    assert f["towncode"].to_dict() == {
        2: ZHUQI, 3: BANQIAO, 4: ALISHAN, 5: ZHUQI, 9: YUANLIN, 10: DAJIA, 11: ZHUQI, 13: ALISHAN,
    }
    assert f.loc[3, ["county", "township", "precision"]].tolist() == ["新北市", "板橋區", "township"]
    assert f.loc[2, "precision"] == "point"
    assert f.loc[2, "category"] == "welfare_centre"
    assert f.loc[4, "category"] == "psychiatric_collab_point"
    assert f.loc[10, "category"] == "welfare_centre"
    assert f.loc[11, "name"] == "ABC 中心"
    assert f.loc[4, ["lon", "lat"]].tolist() == [120.80, 23.45]
    assert "swapped" in f.loc[4, "note"]
    assert "TWD97" in f.loc[13, "note"]
    assert f.loc[5, ["lon", "lat"]].tolist() == pytest.approx([120.55, 23.52])
    assert f.loc[2, "serves"] == (ZHUQI, ALISHAN)
    assert f.loc[3, "serves"] == ()
    assert f.loc[2, "opened"] == pd.Timestamp("2023-07-01")
    assert f.loc[5, "opened"] == pd.Timestamp("2023-07-01")
    assert pd.isna(f.loc[2, "closed"])
    assert f.loc[2, "facility_id"] == "messy.csv:2"
    assert (f["file"] == "messy.csv").all()


def test_messy_registry_rejections(messy: Registry) -> None:
    rej = messy.rejected
    assert rej[["row", "field"]].values.tolist() == [
        [6, "lon"], [7, "category"], [8, "row"], [12, "township"],
    ]
    by_row = rej.set_index("row")
    assert "outside Taiwan" in by_row.loc[6, "reason"]
    assert by_row.loc[6, "value"] == "2.35"
    assert by_row.loc[8, "reason"] == "duplicate of messy.csv row 2"
    assert "did you mean 嘉義縣阿里山鄉" in by_row.loc[12, "reason"]
    assert by_row.loc[12, "value"] == "嘉義縣阿里山"
    assert messy.rows_read == 12
    check_invariant(messy)


def test_township_rows_stand_on_representative_point(messy: Registry) -> None:
    from coverage.geography import load_townships

    towns = load_townships().set_index("towncode")
    f = messy.facilities.set_index("row")
    rep = towns.geometry.representative_point()
    assert f.loc[3, "geometry"].equals_exact(rep.loc[BANQIAO], 1e-9)
    assert towns.loc[BANQIAO, "geometry"].contains(f.loc[3, "geometry"])


def test_utf8_bom_and_english_headers(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_text("Category, NAME ,Longitude,LAT\nwelfare_centre,A,120.55,23.52\n", encoding="utf-8-sig")
    reg = read_facilities(path)
    assert reg.facilities["towncode"].tolist() == [ZHUQI]
    assert reg.facilities["category"].tolist() == ["welfare_centre"]


@pytest.mark.parametrize(
    ("header", "canonical"),
    [
        (["服務類別", "機構名稱", "縣市別", "行政區"], None),
        (["據點類型", "據點名稱", "縣市", "鄉鎮"], None),
        (["類別", "單位名稱", "住址", "ＴＷＤ97 X", "TWD97Y", "設立日期", "服務範圍", "資料來源", "備註"],
         ["category", "name", "address", "x", "y", "opened", "serves", "source", "備註"]),
        (["類別", "名稱", "經度(WGS84)", "緯度（WGS84）", "成立日期", "停辦日期"],
         ["category", "name", "lon", "lat", "opened", "closed"]),
    ],
)
def test_chinese_headers(tmp_path: Path, header: list[str], canonical: list[str] | None) -> None:
    values = {
        "服務類別": "社福中心", "據點類型": "社福中心", "類別": "社福中心",
        "機構名稱": "甲", "據點名稱": "甲", "單位名稱": "甲", "名稱": "甲",
        "縣市別": "嘉義縣", "縣市": "嘉義縣", "行政區": "竹崎鄉", "鄉鎮": "竹崎鄉",
        "住址": "嘉義縣竹崎鄉竹崎村1號", "ＴＷＤ97 X": f"{twd97(120.55, 23.52)[0]:.1f}",
        "TWD97Y": f"{twd97(120.55, 23.52)[1]:.1f}", "設立日期": "112年7月1日", "服務範圍": "竹崎鄉 梅山鄉",
        "資料來源": "縣府", "備註": "電話 05-1234567", "經度(WGS84)": "120.55", "緯度（WGS84）": "23.52",
        "成立日期": "2023-07-01", "停辦日期": "113/12/31",
    }
    path = write_csv(tmp_path / "zh.csv", [[values[h] for h in header]], header=header)
    if canonical:
        table = read_table(path)
        assert [c for c in table.columns if c in canonical] == canonical
    reg = read_facilities(path)
    check_invariant(reg)
    assert reg.rejected.empty, reg.rejected.to_dict("records")
    assert reg.facilities["towncode"].tolist() == [ZHUQI]
    assert reg.facilities["name"].tolist() == ["甲"]


def test_extra_columns_are_kept(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", [["社福中心", "甲", "竹崎鄉", "05-1234567", "x"]],
                     header=["類別", "名稱", "鄉鎮市區", "電話", "note"])
    f = read_facilities(path, public_columns=["電話"]).facilities
    assert f["電話"].tolist() == ["05-1234567"]
    assert f["src_note"].tolist() == ["x"]  # a file column named like an output column is renamed
    assert "電話" not in read_facilities(path).facilities  # personal columns only when marked public


# ----------------------------------------------------------------------------- other formats

def test_xlsx_title_rows_dates_and_second_sheet(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    notes = book.active
    notes.title = "說明"
    notes.append(["本檔為社安網據點清冊"])
    sheet = book.create_sheet("據點")
    sheet.append(["嘉義縣社會福利據點一覽"])  # row 1: a title
    sheet.append([])  # row 2: blank
    sheet.append(["類別", "名稱", "經度", "緯度", "啟用日期", "結束日期"])  # row 3: header
    sheet.append(["社福中心", "甲", 120.55, 23.52, dt.datetime(2023, 7, 1), None])  # row 4
    sheet.append([])  # row 5: blank, skipped
    sheet.append(["小衛星", "乙", 120.80, 23.45, 1120701, 45658])  # row 6: ROC number, Excel serial
    sheet.append(["小衛星", "丙", 120.80, 23.45, "nonsense", None])  # row 7
    path = tmp_path / "registry.xlsx"
    book.save(path)
    reg = read_facilities(path)
    check_invariant(reg)
    f = reg.facilities.set_index("row")
    assert f.index.tolist() == [4, 6]
    assert f["towncode"].tolist() == [ZHUQI, ALISHAN]
    assert f.loc[4, "opened"] == pd.Timestamp("2023-07-01")
    assert f.loc[6, "opened"] == pd.Timestamp("2023-07-01")
    assert f.loc[6, "closed"] == pd.Timestamp("2025-01-01")
    assert reg.rejected[["row", "field", "value"]].values.tolist() == [[7, "opened", "nonsense"]]
    assert reg.rows_read == 3


def test_geojson(tmp_path: Path) -> None:
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [120.55, 23.52]},
         "properties": {"類別": "社福中心", "名稱": "甲", "鄉鎮市區": "竹崎鄉"}},
        {"type": "Feature", "geometry": None,
         "properties": {"類別": "小衛星", "名稱": "乙", "鄉鎮市區": "嘉義縣阿里山鄉"}},
        {"type": "Feature",
         "geometry": {"type": "Polygon", "coordinates": [[[120.5, 23.5], [120.6, 23.5], [120.6, 23.6],
                                                          [120.5, 23.5]]]},
         "properties": {"類別": "會所", "名稱": "丙", "鄉鎮市區": "竹崎鄉"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [120.47, 23.48]},
         "properties": {"類別": "會所", "名稱": "丁", "鄉鎮市區": "竹崎鄉"}},
    ]
    path = tmp_path / "points.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    reg = read_facilities(path)
    check_invariant(reg)
    f = reg.facilities.set_index("row")
    assert f["towncode"].to_dict() == {1: ZHUQI, 2: ALISHAN, 4: CHIAYI_EAST}
    assert f["precision"].to_dict() == {1: "point", 2: "township", 4: "point"}
    assert reg.rejected[["row", "field"]].values.tolist() == [[3, "geometry"]]
    assert "Polygon" in reg.rejected["reason"].iloc[0]
    assert reg.mismatches[["row", "declared", "located"]].values.tolist() == [[4, "嘉義縣竹崎鄉", "嘉義市東區"]]


def test_gpkg_is_reprojected(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"category": ["mental_health_centre", "社福中心"], "name": ["甲", "乙"],
         "opened": [dt.date(2023, 7, 1), None]},
        geometry=[Point(120.55, 23.52), Point(120.80, 23.45)], crs="EPSG:4326",
    ).to_crs("EPSG:3826")
    path = tmp_path / "points.gpkg"
    gdf.to_file(path, driver="GPKG", engine="pyogrio")
    reg = read_facilities(path)
    check_invariant(reg)
    f = reg.facilities
    assert f["towncode"].tolist() == [ZHUQI, ALISHAN]
    assert f["row"].tolist() == [1, 2]
    assert f["lon"].tolist() == pytest.approx([120.55, 120.80])
    assert f["opened"].tolist()[0] == pd.Timestamp("2023-07-01")


def test_gpkg_first_layer_with_registry_columns(tmp_path: Path) -> None:
    path = tmp_path / "layers.gpkg"
    gpd.GeoDataFrame({"說明": ["x"]}, geometry=[None], crs="EPSG:4326").to_file(
        path, layer="readme", driver="GPKG", engine="pyogrio")
    gpd.GeoDataFrame({"類別": ["社福中心"], "名稱": ["甲"]}, geometry=[Point(120.80, 23.45)],
                     crs="EPSG:4326").to_file(path, layer="points", driver="GPKG", engine="pyogrio")
    reg = read_facilities(path)
    assert reg.facilities[["row", "towncode"]].values.tolist() == [[1, ALISHAN]]


def test_several_files_in_order_with_cross_file_duplicate(tmp_path: Path) -> None:
    a = write_csv(tmp_path / "a.csv", [row(category="社福中心", name="甲", township="竹崎鄉")])
    b = write_csv(tmp_path / "b.csv", [row(category="小衛星", name="乙", township="阿里山鄉"),
                                       row(category="社福中心", name="甲", township="竹崎鄉")])
    reg = read_facilities([b, a])
    check_invariant(reg)
    assert reg.facilities["facility_id"].tolist() == ["b.csv:2", "b.csv:3"]
    assert reg.rejected[["file", "row", "reason"]].values.tolist() == [["a.csv", 2, "duplicate of b.csv row 3"]]


# ----------------------------------------------------------------------------- coordinates, places

def test_coordinates_win_and_mismatch_is_listed(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "m.csv", [
        row(category="社福中心", name="錯區", county="臺中市", township="東區", lon=120.47, lat=23.48),
        row(category="社福中心", name="錯縣", county="臺南市", lon=120.55, lat=23.52),
        row(category="社福中心", name="對", county="嘉義縣", township="竹崎鄉", lon=120.55, lat=23.52),
    ])
    reg = read_facilities(path)
    check_invariant(reg)
    assert reg.facilities["towncode"].tolist() == [CHIAYI_EAST, ZHUQI, ZHUQI]
    # kind/reason columns added with the status mismatches (issue 13 item 7)
    assert reg.mismatches.drop(columns=["kind", "reason"]).to_dict("records") == [
        {"file": "m.csv", "row": 2, "name": "錯區", "declared": "臺中市東區", "located": "嘉義市東區"},
        {"file": "m.csv", "row": 3, "name": "錯縣", "declared": "臺南市", "located": "嘉義縣竹崎鄉"},
    ]
    assert "declared 臺中市東區" in reg.facilities["note"].iloc[0]


def test_kinmen_in_tm2_zone_119(tmp_path: Path) -> None:
    x, y = twd97(118.32, 24.43, epsg=3825)
    path = write_csv(tmp_path / "k.csv", [row(category="社福中心", name="金城", county="金門縣", x=x, y=y)])
    reg = read_facilities(path)
    assert reg.facilities["towncode"].tolist() == [JINCHENG]
    assert "3825" in reg.facilities["note"].iloc[0]
    assert reg.facilities["lon"].iloc[0] == pytest.approx(118.32)


@pytest.mark.parametrize(
    ("kw", "field", "reason"),
    [
        ({"lon": "abc", "lat": 23.5}, "lon", "not a finite number"),
        ({"lon": "inf", "lat": 23.5}, "lon", "not a finite number"),
        ({"lon": "nan", "lat": 23.5}, "lon", "not a finite number"),
        ({"lon": 120.5}, "lat", "lat is blank"),
        ({"x": 200000}, "y", "y is blank"),
        ({"lon": 121.0, "lat": 20.0}, "lon", "outside Taiwan"),
        ({"lon": 119.0, "lat": 22.0}, "lon", "not within 1 km of any township"),
        ({"county": "嘉義"}, "county", "did you mean"),
        ({"township": "東區"}, "township", "give the county"),
        ({"address": "火星路1號"}, "address", "no township found"),
        ({}, "township", "no location"),
        ({"township": "竹崎鄉", "opened": "2023-13-01"}, "opened", "not a valid date"),
        ({"township": "竹崎鄉", "opened": "2023", "closed": "2022"}, "closed", "before opened"),
        ({"township": "竹崎鄉", "serves": "竹崎鄉、火星鄉"}, "serves", "'火星鄉'"),
    ],
)
def test_row_rejections(tmp_path: Path, kw: dict[str, object], field: str, reason: str) -> None:
    path = write_csv(tmp_path / "bad.csv", [row(category="社福中心", name="甲", **kw)])
    reg = read_facilities(path)
    check_invariant(reg)
    assert reg.facilities.empty
    assert reg.rejected[["file", "row", "field"]].values.tolist() == [["bad.csv", 2, field]]
    assert reason in reg.rejected["reason"].iloc[0]


def test_all_problems_of_a_row_are_reported(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bad.csv", [row(category="", lon="x", lat=23.5, opened="?")])
    reg = read_facilities(path)
    check_invariant(reg)
    assert sorted(reg.rejected["field"]) == ["category", "lon", "opened"]
    assert reg.rows_read == 1


def test_location_by_address_and_ambiguous_township(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "a.csv", [
        row(category="社福中心", name="甲", address="604嘉義縣竹崎鄉竹崎村1號"),
        row(category="社福中心", name="乙", township="東區", address="600嘉義市東區民族路1號"),
        row(category="社福中心", name="丙", county="嘉義市", address="東區民族路2號"),
    ])
    reg = read_facilities(path)
    check_invariant(reg)
    assert reg.facilities["towncode"].tolist() == [ZHUQI, CHIAYI_EAST, CHIAYI_EAST]
    assert reg.facilities["precision"].tolist() == ["village", "township", "township"]  # 竹崎村 is named


def test_precision_column(tmp_path: Path) -> None:
    header = ["類別", "名稱", "鄉鎮市區", "經度", "緯度", "precision"]
    path = write_csv(tmp_path / "p.csv", [
        ["社福中心", "甲", "", "120.55", "23.52", "township"],
        ["社福中心", "乙", "竹崎鄉", "", "", "point"],
        ["社福中心", "丙", "竹崎鄉", "", "", "exact"],
    ], header=header)
    reg = read_facilities(path)
    check_invariant(reg)
    assert reg.facilities["precision"].tolist() == ["township", "township"]
    assert "no coordinates" in reg.facilities["note"].iloc[1]
    assert reg.rejected[["row", "field"]].values.tolist() == [[4, "precision"]]


def test_malformed_row_and_blank_lines(tmp_path: Path) -> None:
    """A CSV row with another number of cells than the header (blank extras included): rejected whole, withheld.

    Blank extras count because a missing cell and an extra delimiter cancel out only in the named columns
    (a contact's name then sits in the date column). Cells the header itself has (blank header cells) are fine.
    """
    path = tmp_path / "r.csv"
    path.write_text("類別,名稱,鄉鎮市區\n社福中心,甲,竹崎鄉\n\n社福中心,乙,竹崎鄉,多的,\n社福中心,丙,竹崎鄉,,\n"
                    "社福中心,竹崎鄉\n", encoding="utf-8")
    reg = read_facilities(path)
    check_invariant(reg)
    assert reg.rows_read == 4
    assert reg.facilities["row"].tolist() == [2]
    assert reg.rejected[["row", "field", "value"]].values.tolist() == [[4, "row", "(withheld)"],
                                                                      [5, "row", "(withheld)"],
                                                                      [6, "row", "(withheld)"]]
    reasons = reg.rejected["reason"].tolist()
    assert "5 cells, more than the header's 3" in reasons[0]
    assert "5 cells, more than the header's 3" in reasons[1] and "2 cells, fewer than the header's 3" in reasons[2]
    assert not [r for r in reasons if "多的" in r or "竹崎鄉" in r]
    trailing = tmp_path / "t.csv"
    trailing.write_text("類別,名稱,鄉鎮市區,,\n社福中心,甲,竹崎鄉,,\n社福中心,乙,竹崎鄉\n", encoding="utf-8")
    assert read_facilities(trailing).facilities["row"].tolist() == [2, 3]


def test_row_numbers_are_physical_lines(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "q.csv", [row(category="社福中心", name="兩行\n名稱", township="竹崎鄉"),
                                          row(category="", name="乙", township="竹崎鄉")])
    reg = read_facilities(path)
    assert reg.facilities["name"].tolist() == ["兩行 名稱"]  # a well-formed quoted cell over two lines
    assert reg.rejected["row"].tolist() == [4]  # the line number in the file (coverage.csvtext)


@pytest.mark.parametrize(("delimiter", "encoding"), [(";", "utf-8"), ("\t", "utf-16"), ("|", "big5")])
def test_delimiters_and_encodings(tmp_path: Path, delimiter: str, encoding: str) -> None:
    path = tmp_path / "d.txt"
    text = f"嘉義縣社福據點,,\n類別{delimiter}名稱{delimiter}鄉鎮市區\n社福中心{delimiter}甲,乙{delimiter}竹崎鄉\n"
    path.write_bytes(text.encode(encoding))
    reg = read_facilities(path)
    assert reg.facilities[["row", "name", "towncode"]].values.tolist() == [[3, "甲,乙", ZHUQI]]


def test_ambiguous_township_settled_by_coordinates(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "e.csv", [row(category="社福中心", name="甲", township="東區", lon=120.47,
                                              lat=23.48)])
    reg = read_facilities(path)
    assert reg.facilities[["towncode", "note"]].values.tolist() == [[CHIAYI_EAST, ""]]
    assert reg.mismatches.empty


def test_own_township_table(tmp_path: Path) -> None:
    from coverage.geography import load_townships

    towns = load_townships()
    chiayi = towns[towns["county"] == "嘉義縣"]
    path = write_csv(tmp_path / "o.csv", [
        row(category="社福中心", name="甲", township="竹崎鄉"),
        row(category="社福中心", name="乙", lon=120.47, lat=23.48),  # 嘉義市東區: not in this table
    ])
    reg = read_facilities(path, townships=chiayi)
    check_invariant(reg)
    assert reg.facilities["towncode"].tolist() == [ZHUQI]
    assert reg.rejected[["row", "field"]].values.tolist() == [[3, "lon"]]


def test_no_files_gives_empty_registry() -> None:
    reg = read_facilities([])
    check_invariant(reg)
    assert reg.rows_read == 0


def test_header_only_file_gives_empty_registry(tmp_path: Path) -> None:
    reg = read_facilities(write_csv(tmp_path / "h.csv", []))
    check_invariant(reg)
    assert reg.rows_read == 0
    assert reg.facilities.empty and reg.rejected.empty and reg.mismatches.empty


# ----------------------------------------------------------------------------- unreadable files

@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("missing.csv", None, "not found"),
        ("empty.csv", b"", "empty"),
        ("blank.csv", b"  \n\n", "empty"),
        ("garbage.csv", bytes(range(256)) * 8, "binary"),
        ("latin.csv", b"\x81\xfe\xff\x80" * 50, "decode"),
        ("noheader.csv", b"a,b,c\n1,2,3\n", "no recognisable header"),
        ("garbage.xlsx", b"PK\x03\x04 not really a zip", "XLSX"),
        ("garbage.gpkg", b"SQLite format 3\x00 nonsense", "GeoPackage"),
        ("garbage.geojson", b"{not json", "GeoJSON"),
        ("nothing.geojson", b'{"type": "FeatureCollection", "features": []}', "no features"),
        ("directory.csv", "dir", "not a file"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: bytes | str | None, reason: str) -> None:
    path = tmp_path / name
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(UnreadableFileError, match=name.replace(".", r"\.")) as info:
        read_facilities(path)
    assert reason in str(info.value)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)


# ----------------------------------------------------------------------------- dates, categories

@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-07-01", "2023-07-01"),
        ("2023/7/1", "2023-07-01"),
        ("2023.07.01", "2023-07-01"),
        ("2023-07-01 00:00:00", "2023-07-01"),
        ("2023-07", "2023-07-01"),
        ("2023", "2023-01-01"),
        (2023, "2023-01-01"),
        ("20230701", "2023-07-01"),
        ("202307", "2023-07-01"),
        ("民國112年7月", "2023-07-01"),
        ("中華民國112年7月1日", "2023-07-01"),
        ("112年7月1日", "2023-07-01"),
        ("112年", "2023-01-01"),
        ("112/07", "2023-07-01"),
        ("112/07/01", "2023-07-01"),
        ("112-7-1", "2023-07-01"),
        ("99/12/25", "2010-12-25"),
        ("1120701", "2023-07-01"),
        (1120701, "2023-07-01"),
        ("11207", "2023-07-01"),
        ("991225", "2010-12-25"),
        ("112", "2023-01-01"),
        ("45108", "2023-07-01"),
        ("２０２３／７／１", "2023-07-01"),
        ("2023/7/1 上午 12:00:00", "2023-07-01"),
        ("民國 112 年 7 月 1 日", "2023-07-01"),
        (dt.date(2023, 7, 1), "2023-07-01"),
        (dt.datetime(2023, 7, 1, 9, 30), "2023-07-01 09:30"),
        (pd.Timestamp("2023-07-01"), "2023-07-01"),
    ],
)
def test_parse_date(value: object, expected: str) -> None:
    assert parse_date(value) == pd.Timestamp(expected)


@pytest.mark.parametrize("value", [None, "", "  ", float("nan"), pd.NaT])
def test_parse_blank_date(value: object) -> None:
    assert parse_date(value) is None


@pytest.mark.parametrize(
    "value", ["abc", "2023-13-01", "2023-02-30", "112/13", "1121301", "7/1", "99999", "3000", "1.5", 1.5,
              float("inf"), "2023-07-01-05", "民國abc"],
)
def test_parse_date_rejects_nonsense(value: object) -> None:
    with pytest.raises(ValueError, match="date|year"):
        parse_date(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("社會福利服務中心", "welfare_centre"),
        (" 社福中心 ", "welfare_centre"),
        ("家庭福利服務中心", "welfare_centre"),
        ("WELFARE_CENTRE", "welfare_centre"),
        ("兒少及家庭社區支持服務據點", "community_support_point"),
        ("兒少及家庭社區支持服務", "community_support_point"),
        ("小衛星", "community_support_point"),
        ("精神障礙者協作模式服務據點", "psychiatric_collab_point"),
        ("精障協作據點", "psychiatric_collab_point"),
        ("會所", "psychiatric_collab_point"),
        ("社區心理衛生中心", "mental_health_centre"),
        ("心衛中心", "mental_health_centre"),
        ("心衛　中心", "mental_health_centre"),
        ("  日間照顧  中心 ", "日間照顧 中心"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalise_category(value: object, expected: str) -> None:
    assert normalise_category(value) == expected


def test_categories_labels() -> None:
    assert CATEGORIES["welfare_centre"] == "社會福利服務中心"
    assert set(CATEGORIES) == {"welfare_centre", "community_support_point", "psychiatric_collab_point",
                               "mental_health_centre"}
    assert all(normalise_category(label) == key for key, label in CATEGORIES.items())


# ----------------------------------------------------------------------------- properties

_cell = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12),
    st.sampled_from(["社福中心", "小衛星", "竹崎鄉", "嘉義縣", "東區", "120.55", "23.52", "inf", "nan",
                     "2600000", "200000", "112/07/01", "民國112年", "臺北縣板橋市", "、", "1e400", "-0"]),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.lists(_cell, min_size=0, max_size=len(HEADER) + 2), min_size=0, max_size=12))
def test_junk_rows_never_raise_and_every_row_is_accounted_for(rows: list[list[str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = write_csv(Path(tmp) / "junk.csv", rows)
        reg = read_facilities(path)
        parsed = csv_records(path.read_text(encoding="utf-8"))
    check_invariant(reg)
    if any("\n" in c or "\r" in c for r in rows for c in r):  # rows over several lines: counted as lines
        assert reg.rows_read == len(parsed.records) - 1 + len(parsed.damaged_lines)
    else:
        assert reg.rows_read == sum(1 for r in rows if any(unicodedata.normalize("NFKC", c).split() for c in r))
    assert np.isfinite(reg.facilities[["lon", "lat"]].to_numpy()).all()
    assert reg.facilities["towncode"].notna().all()


def test_oversized_files_are_refused_early(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Absurd inputs are refused with a clear message before reading them into memory."""
    from coverage.errors import UnreadableFileError
    from coverage.facilities import read_facilities

    path = tmp_path / "big.csv"
    path.write_text("類別,名稱,鄉鎮市區\n" + "小衛星,甲,嘉義縣竹崎鄉\n" * 50, encoding="utf-8")
    monkeypatch.setenv("SAFETYNET_MAX_ROWS", "10")
    with pytest.raises(UnreadableFileError, match=r"big.csv: more than 10 lines, over the 10-row limit"):
        read_facilities(path)
    monkeypatch.setenv("SAFETYNET_MAX_ROWS", "100")
    monkeypatch.setenv("SAFETYNET_MAX_FILE_MB", "0.0001")
    with pytest.raises(UnreadableFileError, match=r"big.csv: file is .* MB, over the 0 MB limit"):
        read_facilities(path)
    monkeypatch.delenv("SAFETYNET_MAX_FILE_MB")
    assert len(read_facilities(path).facilities) == 1  # 49 duplicates rejected, nothing lost


def test_twd67_metres_are_read_when_declared(tmp_path, townships):
    """TWD67 TM2 metres are ~850 m from TWD97: undeclared, a point 300 m inside 太保市 lands in 新港鄉."""
    from typer.testing import CliRunner

    from coverage.cli import app

    path = tmp_path / "old.csv"
    path.write_text("類別,名稱,X,Y\n小衛星,太保舊據點,186550.4,2601550.6\n", encoding="utf-8")
    as97 = read_facilities(path, townships=townships).facilities.iloc[0]
    as67 = read_facilities(path, townships=townships, xy_datum="TWD67").facilities.iloc[0]
    assert (as97["township"], as67["township"]) == ("新港鄉", "太保市")
    assert "TWD67 TM2 (EPSG:3828)" in as67["note"]
    with pytest.raises(InputError, match="TWD97 or TWD67"):
        read_facilities(path, townships=townships, xy_datum="TWD83")
    r = CliRunner().invoke(app, ["validate", str(path), "--xy-datum", "twd67"])
    assert r.exit_code == 0 and "1 accepted" in r.output


# ----------------------------------------------------------------------------- every fixture: counts balance
# Each builder writes one registry fixture (a list of files) into tmp_path: the bundled seed registry, the files the
# tests above write, and hand-made hostile ones. Over all of them: rows_read == accepted + rejected_rows, in the
# Registry and in summary.json, every rejection names file, row, field and reason, and facility ids are unique.

def _fx_seed(tmp_path: Path) -> list[Path]:
    from coverage.datasets import get_path

    return [get_path("seed_registry")]


def _fx_messy(tmp_path: Path) -> list[Path]:
    return [messy_file(tmp_path)]


def _fx_two_files_cross_duplicate(tmp_path: Path) -> list[Path]:
    a = write_csv(tmp_path / "a.csv", [row(category="社福中心", name="甲", township="竹崎鄉")])
    b = write_csv(tmp_path / "b.csv", [row(category="小衛星", name="乙", township="阿里山鄉"),
                                       row(category="社福中心", name="甲", township="竹崎鄉")])
    return [b, a]


def _fx_same_name_two_folders(tmp_path: Path) -> list[Path]:
    paths = []
    for folder, name in (("north", "北"), ("south", "南")):
        (tmp_path / folder).mkdir()
        paths.append(write_csv(tmp_path / folder / "清冊.csv", [row(category="社福中心", name=name, township="竹崎鄉"),
                                                               row(category="", name="無類別", township="竹崎鄉")]))
    return paths


def _fx_same_file_twice(tmp_path: Path) -> list[Path]:
    path = write_csv(tmp_path / "twice.csv", [row(category="社福中心", name="甲", township="竹崎鄉"),
                                              row(category="小衛星", name="乙", township="火星鄉")])
    return [path, path]


def _fx_xlsx_titles(tmp_path: Path) -> list[Path]:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "說明"
    book.active.append(["本檔為社安網據點清冊"])
    sheet = book.create_sheet("據點")
    for r in (["嘉義縣社會福利據點一覽"], [], ["類別", "名稱", "經度", "緯度", "啟用日期", "結束日期"],
              ["社福中心", "甲", 120.55, 23.52, dt.datetime(2023, 7, 1), None], [],
              ["小衛星", "乙", 120.80, 23.45, 1120701, 45658], ["小衛星", "丙", 120.80, 23.45, "nonsense", None]):
        sheet.append(r)
    book.save(tmp_path / "registry.xlsx")
    return [tmp_path / "registry.xlsx"]


def _fx_xlsx_hostile(tmp_path: Path) -> list[Path]:
    """Cells beyond the header, a hidden sheet, a hidden row, formulas-looking text, a second registry sheet."""
    import openpyxl

    book = openpyxl.Workbook()
    main = book.active
    main.title = "小衛星"
    for r in (["類別", "名稱", "鄉鎮市區", "聯絡人"], ["小衛星", "甲", "竹崎鄉", "王小明"],
              ["小衛星", "乙", "竹崎鄉", "陳美麗", "0912-345-678"], ["=1+1", "+丙", "@竹崎鄉", "-"],
              ["小衛星", "丁", "番路鄉", ""]):
        main.append(r)
    main.row_dimensions[5].hidden = True
    other = book.create_sheet("社福中心")
    for r in (["類別", "名稱", "鄉鎮市區"], ["社福中心", "竹崎", "竹崎鄉"]):
        other.append(r)
    old = book.create_sheet("舊資料")
    for r in (["類別", "名稱", "鄉鎮市區"], ["社福中心", "舊", "竹崎鄉"]):
        old.append(r)
    old.sheet_state = "hidden"
    book.save(tmp_path / "清冊.xlsx")
    return [tmp_path / "清冊.xlsx"]


def _fx_geojson(tmp_path: Path) -> list[Path]:
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [120.55, 23.52]},
         "properties": {"類別": "社福中心", "名稱": "甲", "鄉鎮市區": "竹崎鄉", "聯絡人": "王小明"}},
        {"type": "Feature", "geometry": None,
         "properties": {"類別": "小衛星", "名稱": "乙", "鄉鎮市區": "嘉義縣阿里山鄉"}},
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[120.5, 23.5], [120.6, 23.5]]},
         "properties": {"類別": "會所", "名稱": "丙", "鄉鎮市區": "竹崎鄉"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [139.7, 35.7]},
         "properties": {"類別": "會所", "名稱": "東京", "鄉鎮市區": ""}},
    ]
    path = tmp_path / "points.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return [path]


def _fx_gpkg_two_layers(tmp_path: Path) -> list[Path]:
    path = tmp_path / "layers.gpkg"
    points = gpd.GeoDataFrame({"類別": ["社福中心", ""], "名稱": ["甲", "乙"]},
                              geometry=[Point(120.80, 23.45), Point(120.55, 23.52)], crs="EPSG:4326")
    points.to_crs("EPSG:3826").to_file(path, layer="points", driver="GPKG", engine="pyogrio")
    gpd.GeoDataFrame({"類別": ["小衛星"], "名稱": ["丙"]}, geometry=[Point(120.55, 23.52)], crs="EPSG:4326").to_file(
        path, layer="more", driver="GPKG", engine="pyogrio")
    return [path]


def _fx_malformed_rows(tmp_path: Path) -> list[Path]:
    path = tmp_path / "r.csv"
    path.write_text("類別,名稱,鄉鎮市區\n社福中心,甲,竹崎鄉\n\n社福中心,乙,竹崎鄉,多的,\n社福中心,丙,竹崎鄉,,\n"
                    "社福中心,竹崎鄉\n,,\n社福中心\n", encoding="utf-8")
    return [path]


def _fx_every_row_rejection(tmp_path: Path) -> list[Path]:
    kws = [{"lon": "abc", "lat": 23.5}, {"lon": "inf", "lat": 23.5}, {"lon": 120.5}, {"x": 200000},
           {"lon": 121.0, "lat": 20.0}, {"lon": 119.0, "lat": 22.0}, {"county": "嘉義"}, {"township": "東區"},
           {"address": "火星路1號"}, {}, {"township": "竹崎鄉", "opened": "2023-13-01"},
           {"township": "竹崎鄉", "opened": "2023", "closed": "2022"}, {"township": "竹崎鄉", "serves": "火星鄉"},
           {"category": "", "lon": "x", "lat": 23.5, "opened": "?"}, {"county": "嘉義縣", "address": "臺北市中正區1號"}]
    return [write_csv(tmp_path / "bad.csv", [row(**{"category": "社福中心", "name": f"甲{i}", **kw})
                                             for i, kw in enumerate(kws)])]


def _fx_delimiters_encodings(tmp_path: Path) -> list[Path]:
    paths = []
    for i, (delimiter, encoding) in enumerate([(";", "utf-8"), ("\t", "utf-16"), ("|", "big5")]):
        text = (f"嘉義縣社福據點,,\n類別{delimiter}名稱{delimiter}鄉鎮市區\n社福中心{delimiter}甲,乙{delimiter}竹崎鄉\n"
                f"社福中心{delimiter}丙\n")
        paths.append(tmp_path / f"d{i}.txt")
        paths[-1].write_bytes(text.encode(encoding))
    return paths


def _fx_quotes(tmp_path: Path) -> list[Path]:
    """A record over two lines, and a stray quote that makes the csv module swallow the following lines."""
    ok = write_csv(tmp_path / "q.csv", [row(category="社福中心", name="兩行\n名稱", township="竹崎鄉"),
                                        row(category="", name="乙", township="竹崎鄉")])
    stray = tmp_path / "stray.csv"
    stray.write_text('類別,名稱,鄉鎮市區,經度,緯度\n社福中心,"甲,竹崎鄉,,\n社福中心,乙,竹崎鄉,120.55,23.52\n'
                     "社福中心,丙,番路鄉,,\n", encoding="utf-8")
    return [ok, stray]


def _fx_shifted_personal(tmp_path: Path) -> list[Path]:
    path = tmp_path / "shifted.csv"
    path.write_text("聯絡人,類別,名稱,電話,鄉鎮市區,啟用日期,個案數\n"
                    "王小明,小衛星,甲,0912-345-678,竹崎鄉,2023-07-01,4\n"
                    "小衛星,乙,0912-000-111,番路鄉,2023-07-01,5\n"  # the contact's cell is missing
                    "陳美麗,,小衛星,丙,05-2591234,中埔鄉,2023-07-01,6\n", encoding="utf-8")  # one cell too many
    return [path]


def _fx_cases_and_precision(tmp_path: Path) -> list[Path]:
    cases = tmp_path / "cases.csv"
    cases.write_text('類別,名稱,鄉鎮市區,個案數\n小衛星,甲,嘉義縣竹崎鄉,"1,204人"\n小衛星,乙,嘉義縣番路鄉,-2\n'
                     "小衛星,丙,嘉義縣中埔鄉,2.5\n小衛星,丁,嘉義縣大林鎮,12.0\n", encoding="utf-8")
    precision = write_csv(tmp_path / "p.csv", [["社福中心", "甲", "", "120.55", "23.52", "township"],
                                               ["社福中心", "乙", "竹崎鄉", "", "", "point"],
                                               ["社福中心", "丙", "竹崎鄉", "", "", "exact"]],
                          header=["類別", "名稱", "鄉鎮市區", "經度", "緯度", "precision"])
    return [cases, precision]


def _fx_coordinates(tmp_path: Path) -> list[Path]:
    x, y = twd97(118.32, 24.43, epsg=3825)
    return [write_csv(tmp_path / "m.csv", [
        row(category="社福中心", name="錯區", county="臺中市", township="東區", lon=120.47, lat=23.48),
        row(category="社福中心", name="錯縣", county="臺南市", lon=120.55, lat=23.52),
        row(category="社福中心", name="金城", county="金門縣", x=x, y=y),
        row(category="社福中心", name="東區", township="東區", lon=120.47, lat=23.48),
        row(category="社福中心", name="東區", township="東區", lon=120.47, lat=23.48),
    ])]


def _fx_header_only_and_none(tmp_path: Path) -> list[Path]:
    return [write_csv(tmp_path / "h.csv", [])]


def _fx_no_files(tmp_path: Path) -> list[Path]:
    return []


def _fx_junk_cells(tmp_path: Path) -> list[Path]:
    rows = [["\x7f社福中心", "甲\x1b[31m", "", "", "", "nan", "inf"],
            ["社福中心", "=HYPERLINK(\"x\")", "嘉義縣", "竹崎鄉"],
            ["小衛星", "x" * 5000, "", "臺北縣板橋市", "", "", "", "", "", "民國112年13月"], ["、", "、", "、"]]
    return [write_csv(tmp_path / "junk.csv", rows)]


REGISTRY_FIXTURES = [
    _fx_seed, _fx_messy, _fx_two_files_cross_duplicate, _fx_same_name_two_folders, _fx_same_file_twice,
    _fx_xlsx_titles, _fx_xlsx_hostile, _fx_geojson, _fx_gpkg_two_layers, _fx_malformed_rows, _fx_every_row_rejection,
    _fx_delimiters_encodings, _fx_quotes, _fx_shifted_personal, _fx_cases_and_precision, _fx_coordinates,
    _fx_header_only_and_none, _fx_no_files, _fx_junk_cells,
]


def check_rejections_name_their_rows(reg: Registry) -> None:
    """Every rejection line names a file, the row as numbered in it (≥ 1), a field and a reason; ids are unique."""
    rej = reg.rejected
    assert list(rej.columns) == REJECTED_COLUMNS
    assert (rej["file"].str.len() > 0).all() and (rej["field"].str.len() > 0).all()
    assert (rej["reason"].str.len() > 0).all() and (rej["row"] >= 1).all()
    assert rej["row"].dtype == "int64"
    assert reg.facilities["facility_id"].is_unique
    assert (reg.facilities["facility_id"] == reg.facilities["file"] + ":" + reg.facilities["row"].astype(str)).all()


@pytest.mark.parametrize("build", REGISTRY_FIXTURES, ids=lambda f: f.__name__.removeprefix("_fx_"))
def test_counts_balance_over_every_fixture(tmp_path: Path, build) -> None:
    """rows_read == accepted + rejected_rows in the Registry and in summary.json, for every registry fixture."""
    from coverage.pipeline import run_coverage
    from coverage.report import summary

    paths = build(tmp_path)
    reg = read_facilities(paths)
    check_invariant(reg)
    check_rejections_name_their_rows(reg)
    assert reg.rows_read == reg.accepted + reg.rejected_rows
    if not paths:
        return
    report = run_coverage(paths, counties=["嘉義縣"], as_of="2024-01-01")
    counts = summary(report)["registry"]
    assert counts["rows_read"] == counts["accepted"] + counts["rejected_rows"]
    assert (counts["rows_read"], counts["accepted"], counts["rejected_rows"]) == (
        reg.rows_read, reg.accepted, reg.rejected_rows)
    assert counts["rejected_rows"] <= len(summary(report)["rejected"])


def test_balance_counts_rows_not_problems(tmp_path: Path) -> None:
    """A row with three problems is one rejected row (summary.json used to count problems)."""
    from coverage.pipeline import run_coverage
    from coverage.report import summary

    path = write_csv(tmp_path / "three.csv", [row(category="", lon="x", lat=23.5, opened="?"),
                                              row(category="社福中心", name="甲", township="竹崎鄉")])
    counts = summary(run_coverage([path], counties=["嘉義縣"], as_of="2024-01-01"))["registry"]
    assert (counts["rows_read"], counts["accepted"], counts["rejected_rows"]) == (2, 1, 1)


@pytest.mark.parametrize("name", ["welfare_centers_national.geojson", "mental_health_facilities_national.geojson"])
def test_counts_balance_on_real_registries(shared_data: Path, name: str) -> None:
    reg = read_facilities(shared_data / "registries" / name)
    check_invariant(reg)
    check_rejections_name_their_rows(reg)
    assert reg.rows_read > 50  # the official lists have no category column (yet): rejected, but every row counted


def test_same_name_in_two_folders_stays_distinct(tmp_path: Path) -> None:
    reg = read_facilities(_fx_same_name_two_folders(tmp_path))
    assert reg.facilities["facility_id"].tolist() == ["north/清冊.csv:2", "south/清冊.csv:2"]
    assert reg.rejected[["file", "row"]].values.tolist() == [["north/清冊.csv", 3], ["south/清冊.csv", 3]]
    assert reg.rejected_rows == 2


def test_same_file_twice_is_read_twice_and_rejected_as_duplicates(tmp_path: Path) -> None:
    reg = read_facilities(_fx_same_file_twice(tmp_path))
    assert reg.facilities["facility_id"].tolist() == ["twice.csv:2"]
    dup = reg.rejected[reg.rejected["file"] == "twice.csv (2)"]
    assert dup[["row", "reason"]].values.tolist()[0] == [2, "duplicate of twice.csv row 2"]
    assert (reg.rows_read, reg.accepted, reg.rejected_rows) == (4, 1, 3)


# ----------------------------------------------------------------------------- the steps, each alone

def _table(rows: list[dict[str, str]], file: str = "t.csv") -> pd.DataFrame:
    """A stacked table as read_registry_tables gives it: file, row, every canonical column as text."""
    from coverage.tabular import COLUMNS

    frame = pd.DataFrame([{"file": file, "row": i + 2, **dict.fromkeys(COLUMNS, ""), **r} for i, r in enumerate(rows)])
    return frame.fillna("")


def test_registry_from_table_keeps_file_labels_opaque(townships) -> None:
    """Labels such as 清冊.xlsx#小衛星 or a/r.csv are kept as given: in ids, rejections and duplicate reasons."""
    rows = [{"category": "小衛星", "name": "甲", "township": "嘉義縣竹崎鄉"},
            {"category": "", "name": "乙", "township": "嘉義縣竹崎鄉"}]
    t = pd.concat([_table(rows, "清冊.xlsx#小衛星"), _table(rows, "清冊.xlsx#社福中心"), _table(rows, "a/r.csv")],
                  ignore_index=True)
    reg = registry_from_table(t, townships)
    assert reg.facilities["facility_id"].tolist() == ["清冊.xlsx#小衛星:2"]
    assert reg.rejected[["file", "row", "field"]].values.tolist() == [
        ["清冊.xlsx#小衛星", 3, "category"], ["清冊.xlsx#社福中心", 2, "row"], ["清冊.xlsx#社福中心", 3, "category"],
        ["a/r.csv", 2, "row"], ["a/r.csv", 3, "category"]]
    assert set(reg.rejected.loc[reg.rejected["field"] == "row", "reason"]) == {"duplicate of 清冊.xlsx#小衛星 row 2"}
    assert (reg.rows_read, reg.accepted, reg.rejected_rows) == (6, 1, 5)


def test_read_registry_tables_labels_and_personal_columns(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = write_csv(tmp_path / "a" / "r.csv", [["社福中心", "甲", "王小明"]], header=["類別", "名稱", "聯絡人"])
    b = write_csv(tmp_path / "b" / "r.csv", [["社福中心", "乙", "0912"]], header=["類別", "名稱", "電話"])
    t, personal = read_registry_tables([a, b])
    assert t[["file", "row", "name"]].values.tolist() == [["a/r.csv", 2, "甲"], ["b/r.csv", 2, "乙"]]
    assert personal == {"a/r.csv": ["聯絡人"], "b/r.csv": ["電話"]}
    from coverage.tabular import file_labels

    assert file_labels([a, a]) == ["r.csv", "r.csv (2)"]


def test_reject_malformed_rows_alone() -> None:
    t = _table([{"category": "甲"}, {"category": "乙", "_extra_cells": "王小明"},
                {"category": "丙", "_cell_count": "2/5"}, {"category": "丁", "_cell_count": "7/5"},
                {"category": "戊", "_geometry": "Polygon"}])
    rej = Rejections(len(t))
    malformed = reject_malformed_rows(registry_columns(t), rej)
    assert [bool(m) for m in malformed] == [False, True, True, True, False]
    assert "2 cells, fewer than the header's 5" in malformed[2] and "7 cells, more than the header's 5" in malformed[3]
    assert rej.bad.tolist() == [False, True, True, True, True]
    table = rej.table(t, malformed != "", lambda p: malformed[p].tolist())
    assert table[["row", "field", "value"]].values.tolist() == [
        [3, "row", "(withheld)"], [4, "row", "(withheld)"], [5, "row", "(withheld)"], [6, "geometry", "Polygon"]]
    assert "王小明" not in table.to_csv()


def test_check_cases_alone() -> None:
    col = registry_columns(_table([{"cases": "1,204人"}, {"cases": ""}, {"cases": "王小明"}, {"cases": "-3"}]))
    rej = Rejections(4)
    cases = check_cases(col, rej)
    assert cases[0] == 1204 and np.isnan(cases[1:]).all()
    table = rej.table(_table([{}] * 4))
    assert table[["row", "value"]].values.tolist() == [[4, "(withheld)"], [5, "(withheld)"]]
    assert not table["reason"].str.contains("王小明|-3").any()


def test_check_dates_and_precision_alone() -> None:
    col = registry_columns(_table([{"opened": "112/07/01", "closed": "2023-01-01", "precision": "鄉鎮"},
                                   {"opened": "nonsense", "precision": "exact"}, {"precision": "point"}]))
    rej, notes = Rejections(3), [[], [], []]
    dates = check_dates(col, rej)
    assert dates["opened"][0] == pd.Timestamp("2023-07-01") and dates["opened"][2] is None
    precision = check_precision(col, np.array([True, True, False]), rej, notes)
    assert precision.tolist() == ["township", "point", "township"]
    assert notes[2] == ["precision 'point' given but no coordinates; located by township"]
    table = rej.table(_table([{}] * 3))
    assert table[["row", "field"]].values.tolist() == [[2, "closed"], [3, "opened"], [3, "precision"]]


def test_coordinates_and_declared_place_alone(townships) -> None:
    col = registry_columns(_table([{"lon": "23.52", "lat": "120.55", "county": "嘉義縣", "township": "竹崎鄉"},
                                   {"lon": "139.7", "lat": "35.7"}, {"township": "東區"}]))
    decl = resolve_declared(col, townships)
    assert decl["code"][0] == ZHUQI and decl["field"][2] == "township" and decl["sugg"][2] is not None
    rej, notes = Rejections(3), [[], [], []]
    xy = locate_by_coordinates(col, townships, decl["decl_county"], rej, notes)
    assert xy["has"].tolist() == [True, True, False] and xy["code"].tolist() == [ZHUQI, None, None]
    assert notes[0] == ["lon/lat swapped"] and xy["lon"][0] == pytest.approx(120.55)
    assert rej.table(_table([{}] * 3))[["row", "field"]].values.tolist() == [[3, "lon"]]


def test_reject_duplicates_alone() -> None:
    t = _table([{}] * 4)
    rej = Rejections(4)
    rej.add(np.array([False, False, True, False]), "x", "", "bad")
    reject_duplicates(t, {"name": np.array(["甲", "乙", "甲", "甲"], dtype=object)}, rej)
    table = rej.table(t)
    assert table[["row", "reason"]].values.tolist() == [[4, "bad"], [5, "duplicate of t.csv row 2"]]


def test_split_extra_columns_alone() -> None:
    t = _table([{"聯絡人": "王小明", "備註": "x", "電話": "0912"}])
    kept, withheld, public = split_extra_columns(t, {"t.csv": ["聯絡人", "電話"]}, public_columns=["電話"])
    assert (kept, withheld, public) == (["備註"], ["聯絡人", "電話"], ["電話"])


def test_coordinates_with_degree_signs_and_spaces_are_read(tmp_path: Path, townships) -> None:
    """Plain numbers are parsed directly and only the other cells lose their ° 度 and spaces: both read alike."""
    path = tmp_path / "deg.csv"
    path.write_text("類別,名稱,經度,緯度\n"
                    "社福中心,甲,120.55°,23.52度\n"
                    "社福中心,乙,120 .551,23.521\n"
                    "社福中心,丙,120.552,23.522\n"
                    "社福中心,丁,12O.55,23.52\n"
                    "社福中心,戊,°,23.52\n", encoding="utf-8")
    reg = read_facilities(path, townships=townships)
    got = dict(zip(reg.facilities["name"], zip(reg.facilities["lon"], reg.facilities["lat"], strict=True),
                   strict=True))
    assert got == {"甲": (120.55, 23.52), "乙": (120.551, 23.521), "丙": (120.552, 23.522)}
    assert sorted(reg.rejected["row"]) == [5, 6]
    assert reg.rows_read == reg.accepted + reg.rejected_rows


# ----------------------------------------------------------------------------- hostile registry files

HEADERS = ["類別,名稱,縣市,鄉鎮市區,經度,緯度,啟用日期", "category,name,township,x,y,opened,closed,serves",
           "類別,名稱,鄉鎮市區,個案數,聯絡人,電話,名稱,聯絡人"]
cells = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["=HYPERLINK(\"http://x\")", "+1", "@SUM(A1)", "nan", "inf", "-inf", "1e400", "民國112年13月",
                     "112/02/30", "0", "", "　", "\x00", "\x1b[31m", "臺北縣板橋市", "東區", "嘉義縣阿里山",
                     "120.55", "23.52", "190000", "2600000", "x" * 5000]),
)
rows = st.lists(st.lists(cells, min_size=0, max_size=9), min_size=0, max_size=8)
settings_ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _csv(rows_: list[list[str]], header: str) -> str:
    def q(c: str) -> str:
        return '"' + c.replace('"', '""') + '"'

    return header + "\n" + "\n".join(",".join(q(c) for c in r) for r in rows_) + "\n"


def test_registry_rows_never_crash_and_balance(tmp_path, townships):
    """Rows of hostile cells under real header layouts: refused in one line naming the file, or read with
    every row accepted or rejected (with a reason) and no personal column kept. Both outcomes must occur."""
    seen: Counter = Counter()

    @settings_
    @given(data=rows, header=st.sampled_from(HEADERS), encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp950"]))
    def run(data, header, encoding):
        path = tmp_path / "r.csv"
        path.write_bytes(_csv(data, header).encode(encoding, errors="replace"))
        try:
            reg = read_facilities(path, townships=townships)
        except CoverageError as exc:
            assert "\n" not in str(exc) and "r.csv" in str(exc), str(exc)
            seen["refused"] += 1
            event(f"refused: {type(exc).__name__}")
            return
        assert reg.rows_read == len(reg.facilities) + reg.rejected.groupby("file")["row"].nunique().sum()
        assert set(reg.rejected.columns) >= {"file", "row", "field", "value", "reason"}
        assert reg.rejected["reason"].str.len().gt(0).all()
        assert not [c for c in reg.facilities.columns if is_personal_column(c)]
        cases = reg.facilities["cases"].dropna()
        assert (cases >= 0).all() and (cases == cases.round()).all()
        outcome = "read, some rows rejected" if len(reg.rejected) else "read, no row rejected"
        seen[outcome] += 1
        event(outcome)

    run()
    assert seen["read, some rows rejected"] and seen["refused"], seen


def test_random_bytes_are_refused_cleanly(tmp_path, townships):
    """Random bytes under a reader's suffix: refused naming the file (or, rarely, read with counts balancing)."""
    seen: Counter = Counter()

    @settings_
    @given(blob=st.binary(max_size=2000), suffix=st.sampled_from([".csv", ".xlsx", ".geojson", ".gpkg", ".txt"]))
    def run(blob, suffix):
        path = tmp_path / f"junk{suffix}"
        path.write_bytes(blob)
        try:
            reg = read_facilities(path, townships=townships)
        except CoverageError as exc:
            assert "junk" in str(exc) and "\n" not in str(exc), str(exc)
            seen["refused"] += 1
            event(f"refused: {type(exc).__name__}")
            return
        assert reg.rows_read == len(reg.facilities) + reg.rejected.groupby("file")["row"].nunique().sum()
        seen["read"] += 1
        event("read")

    run()
    assert seen["refused"], seen


# ----------------------------------------------------------------------------- registry: coordinates and dates

COORD_FORMS = ["wgs84", "wgs84 swapped", "twd97", "twd97 swapped", "twd97 in lon/lat", "twd67", "nan", "inf"]


def _coordinate_cells(lon: float, lat: float, form: str) -> tuple[str, str, str, str]:
    """(lon, lat, x, y) cells of a point written in ``form``."""
    from pyproj import Transformer

    if form in ("nan", "inf"):
        return form, f"{lat:.6f}", "", ""
    if form.startswith("wgs84"):
        a, b = f"{lon:.6f}", f"{lat:.6f}"
        return (b, a, "", "") if "swapped" in form else (a, b, "", "")
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3826", always_xy=True).transform(lon, lat)
    if form == "twd67":  # EPSG's TWD97 → TWD67 transformation (TM2 zone 121), as old registries hold
        x, y = Transformer.from_crs("EPSG:3826", "EPSG:3828", always_xy=True).transform(x, y)
    a, b = f"{x:.2f}", f"{y:.2f}"
    if form == "twd97 in lon/lat":
        return a, b, "", ""
    return ("", "", b, a) if "swapped" in form else ("", "", a, b)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.tuples(st.integers(0, 367), st.sampled_from(COORD_FORMS)), min_size=1, max_size=6),
       duplicate_header=st.booleans())
def test_registry_coordinate_systems(tmp_path, townships, picks, duplicate_header):
    """WGS84, TWD97 (also swapped, or in the lon/lat columns) land in the right township; undeclared
    TWD67 (read as TWD97, about 850 m off) never lands farther than 1.5 km; NaN/inf are rejected."""
    reps = townships.set_index("towncode").geometry.representative_point()
    header = "類別,名稱,經度,緯度,X,Y" + (",名稱,經度" if duplicate_header else "")
    lines, truth = [header], {}
    for i, (k, form) in enumerate(picks):
        code = reps.index[k]
        pt = reps.iloc[k]
        cells = _coordinate_cells(pt.x, pt.y, form)
        lines.append(",".join(["小衛星", f"點{i}", *cells] + (["別名", "1"] if duplicate_header else [])))
        truth[f"點{i}"] = (code, form, pt)
    path = tmp_path / "coords.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    reg = read_facilities(path, townships=townships)
    assert reg.rows_read == len(reg.facilities) + reg.rejected["row"].nunique() == len(picks)
    accepted = reg.facilities.set_index("name")
    for name, (code, form, pt) in truth.items():
        event(form)
        if form in ("nan", "inf"):
            assert name not in accepted.index
            continue
        if form == "twd67":
            if name in accepted.index:
                row = accepted.loc[name]
                assert abs(row["lon"] - pt.x) < 0.016 and abs(row["lat"] - pt.y) < 0.014
            continue
        assert name in accepted.index, reg.rejected
        assert accepted.loc[name, "towncode"] == code, (form, accepted.loc[name, "note"])
    if duplicate_header:
        assert "名稱" in reg.facilities.columns  # the second 名稱 column kept under its own name


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.integers(0, 367), min_size=1, max_size=6))
def test_declared_twd67_lands_in_its_township(tmp_path, townships, picks):
    """TWD67 TM2 metres declared with xy_datum="TWD67" land in the right township (main island)."""
    main = townships[~townships["island"]].set_index("towncode").geometry.representative_point()
    lines = ["類別,名稱,X,Y"]
    for i, k in enumerate(picks):
        _, _, x, y = _coordinate_cells(main.iloc[k % len(main)].x, main.iloc[k % len(main)].y, "twd67")
        lines.append(f"小衛星,點{i},{x},{y}")
    path = tmp_path / "twd67.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    got = read_facilities(path, townships=townships, xy_datum="TWD67").facilities.set_index("name")["towncode"]
    assert [got[f"點{i}"] for i in range(len(picks))] == [main.index[k % len(main)] for k in picks]


@pytest.mark.parametrize("text", ["2023-02-30", "112/13/01", "民國112年13月", "0000-00-00", "2101-01-01", "1899",
                                  "12345678", "1", "昨天", "2023-07-01-01", "--", "９９９９", "1e5", "2023/7/1 25:00"])
def test_nonsense_dates_are_rejected_with_the_value(tmp_path, townships, text):
    path = tmp_path / "dates.csv"
    path.write_text(f'類別,名稱,鄉鎮市區,啟用日期\n小衛星,甲,嘉義縣竹崎鄉,"{text}"\n', encoding="utf-8")
    reg = read_facilities(path, townships=townships)
    assert reg.facilities.empty
    assert reg.rejected[["row", "field", "value"]].values.tolist() == [[2, "opened", text.replace("９", "9")]]


# ----------------------------------------------------------------------------- addresses to villages (issue 15)

DAAN = "63000030"  # 臺北市大安區


def _village_polygon(towncode: str, village: str):
    from coverage.geography import load_villages

    v = load_villages()
    return v.loc[(v["towncode"] == towncode) & (v["village"] == village), "geometry"].item()


def test_address_naming_a_village_stands_on_the_village(tmp_path: Path) -> None:
    """竹崎村 of 竹崎鄉 and 龍安里 of 大安區 (台/臺, a space) are placed inside their village polygon with
    precision village; a 里 of another township and a 村 that exists nowhere keep the township's point,
    with a note; a row declaring township precision and one naming no 村/里 stay on the township."""
    path = write_csv(tmp_path / "v.csv", [
        [*row(category="社福中心", name="竹崎", address="604嘉義縣竹崎鄉竹崎村舊車站1號"), ""],
        [*row(category="社福中心", name="龍安", address="台北市大安區 龍安里新生南路三段1號"), ""],
        [*row(category="社福中心", name="他鄉", address="嘉義縣竹崎鄉龍安里1號"), ""],  # 龍安里: 大安區
        [*row(category="社福中心", name="無此村", address="嘉義縣竹崎鄉不存在村1號"), ""],
        [*row(category="社福中心", name="路名", address="嘉義縣竹崎鄉中山路1號"), ""],
        [*row(category="社福中心", name="縣內", county="嘉義縣", address="竹崎鄉和平村2號"), ""],
        ["社福中心", "宣告", "", "", "嘉義縣竹崎鄉竹崎村3號", "", "", "", "", "", "", "", "township"],
    ], header=[*HEADER, "precision"])
    reg = read_facilities(path)
    check_invariant(reg)
    assert (reg.rows_read, reg.accepted, reg.rejected_rows) == (7, 7, 0)
    f = reg.facilities.set_index("name")
    assert f["precision"].to_dict() == {"竹崎": "village", "龍安": "village", "他鄉": "township",
                                        "無此村": "township", "路名": "township", "縣內": "village",
                                        "宣告": "township"}
    assert f.loc["竹崎", "towncode"] == ZHUQI and f.loc["龍安", "towncode"] == DAAN
    assert _village_polygon(ZHUQI, "竹崎村").contains(f.loc["竹崎", "geometry"])
    assert _village_polygon(DAAN, "龍安里").contains(f.loc["龍安", "geometry"])
    assert _village_polygon(ZHUQI, "和平村").contains(f.loc["縣內", "geometry"])
    assert not _village_polygon(ZHUQI, "竹崎村").contains(f.loc["路名", "geometry"])
    town_point = f.loc["路名", "geometry"]
    for name in ("他鄉", "無此村", "宣告"):
        assert f.loc[name, "geometry"].equals(town_point)
    assert f.loc["他鄉", "note"] == "address names 龍安里, not a village of 嘉義縣竹崎鄉; located by township"
    assert "不存在村" in f.loc["無此村", "note"]
    assert f.loc["竹崎", "note"] == f.loc["路名", "note"] == ""


def test_village_precision_declared(tmp_path: Path) -> None:
    """precision 村里 is a word of the vocabulary: with coordinates they are kept and the precision said;
    without, the address's village places the row, and an address naming none is noted."""
    header = ["類別", "名稱", "地址", "經度", "緯度", "precision"]
    path = write_csv(tmp_path / "p.csv", [
        ["社福中心", "甲", "", "120.55", "23.52", "村里"],
        ["社福中心", "乙", "嘉義縣竹崎鄉竹崎村1號", "", "", "village"],
        ["社福中心", "丙", "嘉義縣竹崎鄉中山路1號", "", "", "village"],
        ["社福中心", "丁", "嘉義縣竹崎鄉", "", "", "hamlet"],
    ], header=header)
    reg = read_facilities(path)
    check_invariant(reg)
    assert reg.facilities["precision"].tolist() == ["village", "village", "township"]
    assert reg.facilities["lon"].iloc[0] == 120.55
    assert "precision 'village' given" in reg.facilities["note"].iloc[2]
    assert reg.rejected[["row", "field"]].values.tolist() == [[5, "precision"]]
    assert "not point, office, village or township" in reg.rejected["reason"].iloc[0]


def test_locate_villages_once_per_distinct_address() -> None:
    """locate_villages alone: rows with coordinates or an unknown township are not touched; repeated
    addresses give the same point."""
    from coverage.geography import load_townships

    towns = load_townships()
    col = registry_columns(_table([{"address": "嘉義縣竹崎鄉竹崎村1號"}] * 3 + [{"address": "竹崎村1號"}]))
    code = np.array([ZHUQI, ZHUQI, ZHUQI, None], dtype=object)
    precision = np.array(["township", "township", "point", "township"], dtype=object)
    has = np.array([False, False, True, False])
    notes: list[list[str]] = [[] for _ in range(4)]
    out = locate_villages(col, code, precision, has, towns, notes)
    assert precision.tolist() == ["village", "village", "point", "township"]
    assert out["villcode"][0] == out["villcode"][1] and out["villcode"][0].startswith(ZHUQI)
    assert pd.isna(out["villcode"][2:]).all() and np.isnan(out["lon"][2:]).all()
    assert out["lon"][0] == out["lon"][1]
    assert notes == [[], [], [], []]


def test_village_point_in_villages_csv_and_popup(tmp_path: Path, shared_data) -> None:
    """With population: the village that holds the point is 0 km from it, and villages.csv says the
    nearest point's precision; the map popup says 定位精度 村里."""
    from typer.testing import CliRunner

    from coverage.cli import app
    from coverage.maps.payload import facility_popups

    path = write_csv(tmp_path / "v.csv", [
        row(category="小衛星", name="竹崎", address="嘉義縣竹崎鄉竹崎村舊車站1號"),
        row(category="小衛星", name="朴子", township="嘉義縣朴子市"),
    ])
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [
        "report", "--county", "嘉義縣", "--facilities", str(path), "--no-maps", "--out", str(out),
        "--population", str(shared_data / "population" / "village_population_agegroups_2021-03.csv")],
        catch_exceptions=False)
    assert result.exit_code == 0, result.output
    villages = pd.read_csv(out / "villages.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert "nearest_precision" in villages.columns
    assert set(villages["nearest_precision"]) == {"village", "township"}
    zhuqi = villages[(villages["towncode"] == ZHUQI) & (villages["village"] == "竹崎村")].iloc[0]
    assert (zhuqi["nearest_facility"], zhuqi["nearest_precision"]) == ("竹崎", "village")
    assert float(zhuqi["nearest_km"]) == 0.0
    puzi = villages[villages["township"] == "朴子市"]
    assert (puzi["nearest_precision"] == "township").all()
    reg = read_facilities(path)
    styles = {"community_support_point": {"label": "小衛星"}}
    popups = facility_popups(reg.facilities, pd.Series(["open"] * 2, index=reg.facilities.index), styles)
    assert "<th>定位精度</th><td>村里</td>" in popups[0] and "<th>定位精度</th><td>鄉鎮市區</td>" in popups[1]


# ----------------------------------------------------------------------------- fast path = general path (issue 16)

_fast_seen: Counter = Counter()
_FAST_HEADER = ["類別", "名稱", "縣市", "鄉鎮市區", "地址", "經度", "緯度", "啟用日期", "結束日期", "個案數",
                "服務區域", "精確度", "聯絡人"]
_FAST_CELLS = {
    "類別": ["社福中心", "小衛星", "小衛", "", "少年服務方案", "ｓｏｃｉａｌ"],
    "名稱": ["甲", "乙 社福", "", "竹崎  中心", "Ａ１", "丙"],
    "縣市": ["", "嘉義縣", "台北市", "花蓮縣", "不存在縣"],
    "鄉鎮市區": ["嘉義縣竹崎鄉", "竹崎鄉", "東區", "", "不存在鄉", "大安區", "中正區"],
    "地址": ["", "嘉義縣竹崎鄉竹崎村1號", "臺北市大安區", "新竹市東區光復路", "無此地"],
    "經度": ["120.55", "", "23.52", "abc", "121.543", "200000", "120°33'", "0"],
    "緯度": ["23.52", "", "120.55", "25.03", "2600000", "23.5 度", "0"],
    "啟用日期": ["", "112/07/01", "2020-01-01", "not a date", "89/13/01", "2030-01-01"],
    "結束日期": ["", "111/01/01", "2025-12-31"],
    "個案數": ["", "12", "1,234人", "-3", "x"],
    "服務區域": ["", "竹崎鄉、中埔鄉", "不存在", "大安區"],
    "精確度": ["", "點", "township", "村里", "zzz"],
    "聯絡人": ["", "王小明"],
}

_FAST_GOOD = {"縣市": 1, "結束日期": 1}  # how many of the first cells of a column are valid in any row (else 2)


@st.composite
def _quote_free_registry(draw: st.DrawFn) -> str:
    """A quote-free registry: rows drawn from valid and invalid cells, repeated rows (duplicates), rows with
    fewer or more cells than the header (malformed), blank lines."""
    rows = []
    for _ in range(draw(st.integers(1, 14))):
        kind = draw(st.sampled_from(["good", "good", "good", "row", "row", "repeat", "short", "long", "blank"]))
        if kind == "repeat" and rows:
            rows.append(draw(st.sampled_from(rows)))
            continue
        cells = [draw(st.sampled_from(_FAST_CELLS[h][:_FAST_GOOD.get(h, 2)] if kind == "good" else _FAST_CELLS[h]))
                 for h in _FAST_HEADER]
        if kind == "good":  # both coordinates or neither
            cells[5:7] = draw(st.sampled_from([["120.55", "23.52"], ["", ""], ["121.543", "25.03"]]))
        if kind == "short":
            cells = cells[: draw(st.integers(1, len(cells) - 1))]
        elif kind == "long":
            cells += draw(st.sampled_from([[""], ["x"], ["王小明", "0912"]]))
        elif kind == "blank":
            cells = []
        rows.append(",".join(cells))
    return "\n".join([",".join(_FAST_HEADER), *rows]) + draw(st.sampled_from(["\n", ""]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_quote_free_registry(), chunk=st.integers(1, 6), locate_chunk=st.integers(1, 4))
def test_fast_path_gives_the_rows_of_the_general_path(tmp_path: Path, townships, text: str, chunk: int,
                                                      locate_chunk: int) -> None:
    """A quote-free registry read by the fast path (columns split by Arrow, cleaned per distinct value, points
    located a chunk at a time) gives the very facilities, rejections (file/row/field/value/reason) and mismatches
    of the general path (record by record, every point at once); counts balance on both."""
    from coverage import coordinates, plaincsv, tabular

    path = tmp_path / "清冊.csv"
    path.write_text(text, encoding="utf-8")
    used = Counter()
    real_chunk = plaincsv._plain_chunk

    def spy_chunk(*args, **kwargs):
        table = real_chunk(*args, **kwargs)
        used["plain chunk" if table is not None else "careful chunk"] += 1
        return table

    def read():
        try:
            return read_facilities(path, townships=townships)
        except UnreadableFileError as exc:
            return str(exc)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plaincsv, "_CHUNK_LINES", chunk)
        mp.setattr(plaincsv, "_plain_chunk", spy_chunk)
        mp.setattr(coordinates, "_LOCATE_CHUNK", locate_chunk)
        fast = read()
        mp.setattr(tabular, "_plain_csv", lambda *a: pytest.fail("the general reader was not used"))
        mp.setattr(tabular, "_scan", lambda *a: True)  # as if the file held a quote
        mp.setattr(coordinates, "_LOCATE_CHUNK", 10**9)
        general = read()
    if isinstance(general, str):
        assert fast == general
        event("refused")
        _fast_seen["refused"] += 1
        return
    assert not isinstance(fast, str), fast
    for reg in (fast, general):
        assert reg.rows_read == reg.accepted + reg.rejected_rows
    pd.testing.assert_frame_equal(fast.facilities.drop(columns="geometry"), general.facilities.drop(columns="geometry"))
    assert fast.facilities.geometry.geom_equals(general.facilities.geometry).all()
    pd.testing.assert_frame_equal(fast.rejected, general.rejected)
    pd.testing.assert_frame_equal(fast.mismatches, general.mismatches)
    assert (fast.rows_read, fast.withheld_columns) == (general.rows_read, general.withheld_columns)
    assert "王小明" not in fast.rejected.to_string() + fast.facilities.to_string()
    for what, hit in (("accepted", fast.accepted), ("rejected", fast.rejected_rows),
                      ("malformed", (fast.rejected["value"] == WITHHELD).any()),
                      ("duplicate", fast.rejected["reason"].str.startswith("duplicate").any()),
                      ("mismatch", len(fast.mismatches)), *used.items()):
        if hit:
            event(what)
            _fast_seen[what] += 1


def test_fast_path_property_reached_its_cases() -> None:
    if not _fast_seen:
        pytest.skip("run with test_fast_path_gives_the_rows_of_the_general_path")
    assert min(_fast_seen[k] for k in ("accepted", "rejected", "malformed", "duplicate", "plain chunk")) >= 3, \
        _fast_seen


# ------------------------------------------------------------------ Categorical columns = text columns (issue 16)

_forms_seen: Counter = Counter()


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_quote_free_registry(), form=st.sampled_from(["categorical", "object", "arrow"]),
       distinct_min=st.sampled_from([0, 1000]))
def test_checks_give_the_same_registry_for_any_column_form(tmp_path: Path, townships, text: str, form: str,
                                                           distinct_min: int) -> None:
    """The checks read the table's columns as Categoricals (codes and distinct values, issue 16: a million rows in
    1 GB), as Arrow strings (long columns of mostly distinct values) or as object arrays (a table built by hand):
    the facilities, rejections (file/row/field/value/reason) and mismatches are the same as from the text
    columns as read, and read_facilities (which makes the columns Categoricals) gives them too."""
    from coverage import registry_checks
    from coverage.registry_checks import categorical_columns

    path = tmp_path / "清冊.csv"
    path.write_text(text, encoding="utf-8")
    try:
        t, personal = read_registry_tables(path)
    except UnreadableFileError:
        event("refused")
        _forms_seen["refused"] += 1
        return
    reference = registry_from_table(t.copy(), townships, personal_of=personal)
    other = t.copy()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(registry_checks, "_MOSTLY_DISTINCT_MIN", distinct_min)
        if form == "categorical":
            categorical_columns(other)
            kinds = {type(other[c].array).__name__ for c in ("category", "name", "lon")}
            event(f"column kinds {sorted(kinds)}")
            _forms_seen["kept as read"] += "Categorical" not in {type(other[c].array).__name__ for c in other}
        elif form == "object":
            other = other.astype({c: object for c in other.columns if c != "row"})
        got = registry_from_table(other, townships, personal_of=personal)
        whole = read_facilities(path, townships=townships)
    for reg in (got, whole):
        pd.testing.assert_frame_equal(reg.facilities.drop(columns="geometry"),
                                      reference.facilities.drop(columns="geometry"))
        assert reg.facilities.geometry.geom_equals(reference.facilities.geometry).all()
        pd.testing.assert_frame_equal(reg.rejected, reference.rejected)
        pd.testing.assert_frame_equal(reg.mismatches, reference.mismatches)
        assert reg.rows_read == reg.accepted + reg.rejected_rows == len(t)
    assert "王小明" not in got.rejected.to_string() + got.facilities.to_string()
    for what, hit in (("accepted", got.accepted), ("rejected", got.rejected_rows), (form, True),
                      ("mismatch", len(got.mismatches))):
        if hit:
            event(what)
            _forms_seen[what] += 1


def test_column_forms_property_reached_its_cases() -> None:
    if not _forms_seen:
        pytest.skip("run with test_checks_give_the_same_registry_for_any_column_form")
    assert min(_forms_seen[k] for k in ("accepted", "rejected", "categorical", "object", "arrow")) >= 3, _forms_seen


def test_read_facilities_restores_arrow_pool_and_matches_registry_from_table(tmp_path: Path) -> None:
    """read_facilities allocates Arrow buffers from the system heap while it reads (issue 16: mimalloc kept freed
    text resident) and gives the default pool back afterwards, also when a file cannot be read; the registry it
    builds (its table freed before the points) equals registry_from_table's on the same stacked table."""
    import pyarrow as pa

    from coverage.facilities import read_registry_tables, registry_from_table
    from coverage.registry_checks import categorical_columns

    path = tmp_path / "r.csv"
    path.write_text("類別,名稱,鄉鎮市區,經度,緯度\n社福中心,竹崎,嘉義縣竹崎鄉,,\n小衛星,甲,,120.55,23.52\n小衛星,,,,\n",
                    encoding="utf-8")
    before = pa.default_memory_pool().backend_name
    reg = read_facilities(path)
    assert pa.default_memory_pool().backend_name == before
    with pytest.raises(UnreadableFileError):
        read_facilities(tmp_path / "missing.csv")
    assert pa.default_memory_pool().backend_name == before
    t, personal = read_registry_tables(path)
    other = registry_from_table(categorical_columns(t), personal_of=personal)
    pd.testing.assert_frame_equal(reg.facilities, other.facilities)
    pd.testing.assert_frame_equal(reg.rejected, other.rejected)
    assert (reg.rows_read, reg.accepted, reg.rejected_rows) == (other.rows_read, 2, 1)
