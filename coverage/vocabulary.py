"""The project's words: zh-TW (and English) labels of programmes, flags, gap kinds, age groups and columns.

One table per thing, so a label is changed in one place and every output follows. A leaf module:
it imports nothing from the package, and every other module takes its labels from here.

Where two outputs have always worded one thing differently, both wordings are kept, side by side
and documented, so that every output stays byte for byte what it was:

* age group ``total``: :data:`AGE_GROUP_LABELS` has 總人口 (the MOI's word, shown on the maps); the
  text outputs (priority reasons in ``priorities.csv``, messages) have the bilingual
  :data:`AGE_GROUP_TEXT` ``全部人口 all ages``. The other groups read the same in both.
* gap kind ``far``: ``priorities.csv`` reasons say 遠離服務 (:data:`GAP_KIND_LABELS`); the brief's
  narrow priority table says 距離遠 (:data:`GAP_KIND_SHORT`).
* the computed flags (:data:`COMPUTED_FLAG_LABELS`: 偏遠, 山區 …) are written ``偏遠 remote`` in
  priority reasons (:func:`bilingual`) and 偏遠 alone in the brief; as workbook column headers they
  carry ``(計算)`` (:data:`COLUMN_LABELS`), to tell them from the official lists.

>>> PROGRAMME_LABELS["community_support_point"], PROGRAMME_SHORT_LABELS["community_support_point"]
('兒少及家庭社區支持服務據點', '小衛星')
>>> bilingual(COMPUTED_FLAG_LABELS, "remote")
'偏遠 remote'
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "AGE_GROUP_LABELS",
    "AGE_GROUP_TEXT",
    "BOOLEAN_LABELS",
    "COLUMN_LABELS",
    "COMPUTED_FLAG_LABELS",
    "COVERAGE_STATE_LABELS",
    "DATA_LABELS",
    "DEFINITION_LABELS",
    "FLAG_LABELS",
    "GAP_KIND_ENGLISH",
    "GAP_KIND_LABELS",
    "GAP_KIND_SHORT",
    "MEASURE_LABELS",
    "PRECISION_LABELS",
    "PROGRAMME_LABELS",
    "PROGRAMME_SHORT_LABELS",
    "XY_DATUM_SPELLINGS",
    "bilingual",
]

# --- programmes -------------------------------------------------------------------------------------

#: Programme key -> zh-TW label (the official name of the programme).
PROGRAMME_LABELS: dict[str, str] = {
    "welfare_centre": "社會福利服務中心",
    "community_support_point": "兒少及家庭社區支持服務據點",
    "psychiatric_collab_point": "精神障礙者協作模式服務據點",
    "mental_health_centre": "社區心理衛生中心",
}

#: Programme key -> the short zh-TW name planners use (narrow terminal tables).
PROGRAMME_SHORT_LABELS: dict[str, str] = {
    "welfare_centre": "社福中心",
    "community_support_point": "小衛星",
    "psychiatric_collab_point": "精障協作據點",
    "mental_health_centre": "心衛中心",
}

# --- township flags ---------------------------------------------------------------------------------

#: Official classification flags of a township (from the bundled lists) -> zh-TW label.
FLAG_LABELS: dict[str, str] = {
    "mountain_indigenous": "山地原住民鄉",
    "plain_indigenous": "平地原住民鄉",
    "coastal": "沿海",
    "island": "離島",
    "county_remote": "縣定偏遠",
}

#: Flags the priority ranking computes or uses (:data:`coverage.priority.PRIORITY_BOOSTS`) -> zh-TW word.
COMPUTED_FLAG_LABELS: dict[str, str] = {"remote": "偏遠", "mountain": "山區", "island": "離島", "coastal": "沿海"}

# --- gaps and coverage states -----------------------------------------------------------------------

#: Kind of a priority gap -> zh-TW label, as the reasons of ``priorities.csv`` say it.
GAP_KIND_LABELS: dict[str, str] = {"uncovered": "未設點", "far": "遠離服務"}
#: Kind of a priority gap -> English words that follow the label in ``priorities.csv``.
GAP_KIND_ENGLISH: dict[str, str] = {"uncovered": "no facility in the township", "far": "far from service"}
#: Kind of a priority gap -> the short word of the brief's priority table.
GAP_KIND_SHORT: dict[str, str] = {"uncovered": "未設點", "far": "距離遠"}

#: True/False of a township's coverage -> zh-TW word.
COVERAGE_STATE_LABELS: dict[bool, str] = {True: "已涵蓋", False: "未涵蓋"}

#: Coverage definition -> zh-TW wording (maps, brief).
DEFINITION_LABELS: dict[str, str] = {"presence": "鄉鎮市區內至少一處據點", "service-area": "據點所在或其服務區域內"}

#: Completeness of a county's registry data (:mod:`coverage.completeness`) -> zh-TW label.
DATA_LABELS: dict[str, str] = {"complete": "完整資料", "partial": "部分資料", "none": "無資料"}
#: What partial data mean for a gap (maps, figures): said after 部分資料（programmes）：.
PARTIAL_MEANING = "清冊僅含部分據點，未涵蓋者未必為缺口"

#: How exactly a facility is placed (``precision`` of :func:`coverage.read_facilities`) -> zh-TW label:
#: its own coordinates, an office several centres share, its village's (村里) or its township's
#: representative point.
PRECISION_LABELS: dict[str, str] = {"point": "點位", "office": "共用辦公室", "village": "村里", "township": "鄉鎮市區"}

# --- age groups -------------------------------------------------------------------------------------

#: Age group -> zh-TW label (maps, tables).
AGE_GROUP_LABELS: dict[str, str] = {
    "total": "總人口",
    "children": "兒少 0–17歲",
    "young_children": "兒童 0–11歲",
    "elderly": "老人 65歲以上",
}
#: Age group -> its label in text outputs and messages (``total`` is bilingual there).
AGE_GROUP_TEXT: dict[str, str] = {**AGE_GROUP_LABELS, "total": "全部人口 all ages"}

# --- columns ----------------------------------------------------------------------------------------

#: English column key (as in the CSV outputs) -> zh-TW header (workbook sheets).
COLUMN_LABELS: dict[str, str] = {
    "county": "縣市", "category": "類別", "category_label": "類別名稱", "covered": "已涵蓋鄉鎮市區數",
    "total": "鄉鎮市區總數", "rate": "涵蓋率", "missing": "尚缺鄉鎮市區", "facilities": "據點數", "data": "資料完整度",
    "undated": "無設立日期據點數",
    "covered_with_planned": "含規劃涵蓋數", "rate_with_planned": "含規劃涵蓋率",
    "missing_with_planned": "含規劃仍缺鄉鎮市區", "towncode": "鄉鎮市區代碼",
    "township": "鄉鎮市區", "planned": "規劃中據點", "flags": "地區特性", "flagged": "偏遠/特殊地區",
    **FLAG_LABELS,
    "scope": "範圍", "year": "年度", "roc_year": "民國年", "measure": "指標",
    "current": "現況", "target": "目標", "gap": "差距", "met": "是否達標", "status": "達成情形",
    "still_needed": "尚需", "source": "來源", "file": "檔案", "row": "列", "field": "欄位", "value": "內容",
    "reason": "原因", "item": "項目", "detail": "說明",
    # population (population= / dem=)
    "population": "人口", "population_covered": "設點鄉鎮人口", "population_rate": "人口涵蓋率",
    "townships_without_population": "無人口資料鄉鎮數", "people_placed": "已定位人口", "people_within": "距離內人口",
    "within_rate": "距離內人口比率", "people_across_sea": "隔海人口", "people_no_facility_on_island": "島上無據點人口",
    "people_covered": "涵蓋人口", "people_total": "總人口", "mean_km": "平均距離(km)", "max_km": "最遠距離(km)",
    "nearest_facility": "最近據點",
    "nearest_precision": "最近據點定位精度", "population_within_km": "距離內人口", "density": "人口密度(人/km²)",
    "remote": f"{COMPUTED_FLAG_LABELS['remote']}(計算)", "seat_km": "距縣治(km)", "mean_elevation_m": "平均海拔(m)",
    "mountain": f"{COMPUTED_FLAG_LABELS['mountain']}(計算)",
    "rank": "優先序", "age_group": "年齡組", "people": "受影響人口", "distance_km": "平均距離(km)",
    "nearest_name": "最近據點", "boost": "加權", "score": "分數", "reasons": "理由",
    "cases": "個案數",
}

#: Column key -> zh-TW words for its true and false values (other true/false columns: 是/否).
BOOLEAN_LABELS: dict[str, tuple[str, str]] = {
    "covered": (COVERAGE_STATE_LABELS[True], COVERAGE_STATE_LABELS[False]),
    "covered_with_planned": (COVERAGE_STATE_LABELS[True], COVERAGE_STATE_LABELS[False]),
    "met": ("已達標", "未達標"),
}

#: A target's ``measure`` key -> zh-TW words (the workbook's 目標 sheet).
MEASURE_LABELS: dict[str, str] = {"count": "據點數", "rate": "涵蓋率(%)"}


def bilingual(labels: Mapping[str, str], key: str) -> str:
    """``zh-TW label`` + space + the English ``key`` (``偏遠 remote``), as the priority reasons write a flag.

    Parameters
    ----------
    labels : mapping of str to str
        One of this module's tables, e.g. :data:`COMPUTED_FLAG_LABELS`.
    key : str
        A key of ``labels``; a key with no label is returned alone.

    Returns
    -------
    str

    Examples
    --------
    >>> bilingual(COMPUTED_FLAG_LABELS, "coastal"), bilingual(COMPUTED_FLAG_LABELS, "other")
    ('沿海 coastal', 'other')
    """
    return f"{labels[key]} {key}" if key in labels else key


#: Other spellings of the two TM2 datums a user writes (after upper-casing and removing spaces) → the datum.
XY_DATUM_SPELLINGS: dict[str, str] = {"97": "TWD97", "67": "TWD67", "EPSG:3826": "TWD97", "EPSG:3828": "TWD67"}
