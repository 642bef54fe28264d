"""The planner's Excel workbook (``coverage.xlsx``), written with XlsxWriter.

Sheets: 摘要 (county × programme matrix of coverage rates, coloured), 缺口 (missing townships
with flags), 鄉鎮明細 (per township), with population also 人口涵蓋 (population-weighted
coverage per county × programme) and 優先補點 (ranked gap priorities with their reasons), with a
road network 道路時間 (villages with minutes by road per county × programme, and why the rest have none;
the minute columns sit beside the km ones in the other sheets), 目標
(targets and progress), 趨勢 (coverage at each year end), 剔除 (rejected registry rows), 資料來源
(sources and dates: as-of, boundary vintage, population file and month). Each table has a zh-TW header
row with the English key beneath, frozen, with filters and percent formats. Programme keys and
true/false values are written as zh-TW labels (社福中心, 已涵蓋/未涵蓋, 是/否); the English key appears
only in the header's second row. Every text cell, headers and keys included, is written as text
(never a formula) and neutralised; the file is written atomically and is byte-identical for
identical inputs (fixed document dates).

The 目標 sheet compares the report's own scope with targets of that scope: a national report
with the national targets (and any county targets given), a county report with that county's
targets only — or a line saying none were given; national targets are never set against one
county's registry.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from .vocabulary import BOOLEAN_LABELS, COLUMN_LABELS, MEASURE_LABELS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .pipeline import CoverageReport

__all__ = ["BOOLEAN_LABELS", "MEASURE_LABELS", "ZH_HEADERS", "cell_label", "targets_for_report",
           "write_planner_workbook", "write_workbook"]

#: zh-TW header of each English column key used in the workbook (:data:`coverage.vocabulary.COLUMN_LABELS`).
ZH_HEADERS = COLUMN_LABELS
_RATE_COLUMNS = {"rate", "rate_with_planned", "population_rate", "within_rate", "within_min_rate"}
# Headers of the minute columns a road network adds (coverage.travelaccess), beside the km ones.
_MINUTE_HEADERS = {
    "mean_min": "平均道路時間(分)", "max_min": "最長道路時間(分)", "population_within_min": "道路時間內人口",
    "people_within_min": "道路時間內人口", "within_min_rate": "道路時間內人口比率",
    "villages_without_min": "無道路時間村里數",
}
# Headers of the 道路時間 sheet's own columns.
_TRAVEL_HEADERS = {"villages": "村里數", "reached": "有道路時間村里數", "median_min": "道路時間中位數(分)",
                   "unreached": "無道路時間原因"}
# Headers of a per-township sheet, where `covered` is a township's state rather than a count.
_TOWNSHIP_HEADERS = {"covered": "涵蓋狀態", "covered_with_planned": "含規劃涵蓋狀態"}


def cell_label(key: str, value: object) -> object:
    """What a workbook cell shows for ``value`` in column ``key``: zh-TW words for programme keys,
    measures and true/false; anything else unchanged.

    Parameters
    ----------
    key : str
        The column's English key.
    value : object
        The cell's value.

    Returns
    -------
    object
        The zh-TW words (:mod:`coverage.vocabulary`), or ``value``.

    Examples
    --------
    >>> cell_label("category", "welfare_centre"), cell_label("covered", False), cell_label("island", True)
    ('社會福利服務中心', '未涵蓋', '是')
    """
    import numpy as np

    from .vocabulary import PROGRAMME_LABELS

    if isinstance(value, bool | np.bool_):
        yes, no = BOOLEAN_LABELS.get(key, ("是", "否"))
        return yes if value else no
    if key == "category" and isinstance(value, str):
        return PROGRAMME_LABELS.get(value, value)
    if key == "measure" and isinstance(value, str):
        return MEASURE_LABELS.get(value, value)
    return value


def _text(ws, row: int, col: int, value: object, fmt=None) -> None:
    """Write ``value`` as a neutralised text cell (never a formula)."""
    from .report import neutralise

    ws.write_string(row, col, str(neutralise(str(value))), fmt)


def _sheet(wb, name: str, frame: pd.DataFrame, formats: dict, widths: dict[str, int] | None = None,
           headers: dict[str, str] | None = None):
    """Write ``frame`` with a zh-TW header row and an English key row; freeze and filter."""
    import math

    ws = wb.add_worksheet(name)
    cols = list(frame.columns)
    headers = {**ZH_HEADERS, **_MINUTE_HEADERS, **(headers or {})}
    for c, key in enumerate(cols):
        _text(ws, 0, c, headers.get(key, key), formats["head"])
        _text(ws, 1, c, key, formats["key"])
        width = (widths or {}).get(key) or min(40, max(8, 2 * len(ZH_HEADERS.get(key, key)) + 2, len(key) + 2))
        ws.set_column(c, c, width, formats["pct"] if key in _RATE_COLUMNS else None)
    for r, row in enumerate(frame.itertuples(index=False), start=2):
        for c, (key, value) in enumerate(zip(cols, row, strict=True)):
            if isinstance(value, list | tuple):
                value = "、".join(map(str, value))
            value = cell_label(key, value)
            if value is None or (isinstance(value, float) and math.isnan(value)):
                ws.write_blank(r, c, None)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                ws.write_number(r, c, value / 100 if key in _RATE_COLUMNS else value,
                                formats["pct"] if key in _RATE_COLUMNS else None)
            else:
                _text(ws, r, c, value)
    ws.freeze_panes(2, 0)
    if cols:
        ws.autofilter(1, 0, max(1, len(frame) + 1), len(cols) - 1)
    return ws


def write_workbook(
    report: CoverageReport,
    path: str | Path,
    *,
    targets: pd.DataFrame | None = None,
    trend: pd.DataFrame | None = None,
    extra_sheets: dict[str, pd.DataFrame] | None = None,
) -> Path:
    """Write the planner's workbook for ``report`` to ``path`` (atomically).

    Parameters
    ----------
    report : CoverageReport
        From :func:`coverage.run_coverage`.
    path : str or Path
        The workbook to write.
    targets : DataFrame, optional
        Compared targets (:func:`coverage.plan.compare_targets`) for the 目標 sheet.
    trend : DataFrame, optional
        :func:`coverage.plan.coverage_trend` for the 趨勢 sheet.
    extra_sheets : dict of str to DataFrame, optional
        More sheets, by name.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OutputError
        The workbook cannot be written.
    """
    import numpy as np
    import pandas as pd
    import xlsxwriter

    from . import __version__
    from .privacy import suppress_counts
    from .report import atomic_open
    from .vocabulary import DATA_LABELS, PROGRAMME_LABELS

    path = Path(path)
    counties = report.counties.copy()
    none = counties["data"].eq("none").to_numpy() if "data" in counties else np.zeros(len(counties), dtype=bool)
    if none.any():  # no data is not 0%: blank rates, no "missing" list, 無資料 in the matrix
        counties.loc[none, [c for c in ("rate", "rate_with_planned") if c in counties]] = np.nan
        counties["missing"] = [[] if n else m for m, n in zip(counties["missing"], none, strict=True)]
    if "data" in counties:
        counties["data"] = counties["data"].map(lambda d: DATA_LABELS.get(d, d))
    with atomic_open(path, "wb") as fh:
        wb = xlsxwriter.Workbook(fh, {"strings_to_formulas": False, "strings_to_urls": False,
                                      "strings_to_numbers": False})
        when = dt.datetime.combine(report.as_of.date(), dt.time())
        wb.set_properties({"title": "強化社會安全網 服務據點涵蓋率", "author": "safetynet-coverage",
                           "created": when, "comments": f"safetynet-coverage {__version__}"})
        formats = {
            "head": wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True}),
            "key": wb.add_format({"italic": True, "font_color": "#666666", "border": 1}),
            "pct": wb.add_format({"num_format": "0.0%"}),
        }
        # 摘要: county × category matrix of rates
        labels = {c: PROGRAMME_LABELS.get(c, c) for c in counties["category"].unique()}
        matrix = counties.pivot_table(index="county", columns="category", values="rate", sort=False)
        matrix = matrix.reindex(index=list(dict.fromkeys(counties["county"])),
                                columns=list(dict.fromkeys(counties["category"])))
        nodata = set(zip(counties["county"][none], counties["category"][none], strict=True))
        ws = wb.add_worksheet("摘要")
        _text(ws, 0, 0, "縣市", formats["head"])
        _text(ws, 1, 0, "county", formats["key"])
        for c, key in enumerate(matrix.columns, start=1):
            _text(ws, 0, c, labels[key], formats["head"])
            _text(ws, 1, c, key, formats["key"])
            ws.set_column(c, c, 16, formats["pct"])
        ws.set_column(0, 0, 10)
        for r, (county, row) in enumerate(matrix.iterrows(), start=2):
            _text(ws, r, 0, county)
            for c, value in enumerate(row, start=1):
                if pd.notna(value):
                    ws.write_number(r, c, float(value) / 100, formats["pct"])
                elif (county, matrix.columns[c - 1]) in nodata:
                    _text(ws, r, c, DATA_LABELS["none"])
        last = len(matrix) + 1
        if len(matrix.columns):
            ws.conditional_format(2, 1, last, len(matrix.columns), {
                "type": "3_color_scale", "min_color": "#F8696B", "mid_color": "#FFEB84", "max_color": "#63BE7B",
                "min_type": "num", "min_value": 0, "mid_type": "num", "mid_value": 0.5,
                "max_type": "num", "max_value": 1,
            })
        ws.freeze_panes(2, 1)
        _text(ws, last + 2, 0, f"資料日期 as of {report.as_of.date().isoformat()}；定義 {report.definition}")

        _sheet(wb, "涵蓋率", counties, formats, {"missing": 60})
        _sheet(wb, "缺口", report.gaps, formats, headers=_TOWNSHIP_HEADERS)
        _sheet(wb, "鄉鎮明細", suppress_counts(report.townships, threshold=report.suppress_below), formats,
               headers=_TOWNSHIP_HEADERS)
        access = report.access
        if access is not None:
            _sheet(wb, "人口涵蓋", access.counties, formats)
        priorities = report.priorities
        if priorities is not None:
            _sheet(wb, "優先補點", priorities, formats, {"reasons": 80, "nearest_name": 30})
        if report.travel is not None:
            _sheet(wb, "道路時間", _travel_sheet(report.travel), formats, {"unreached": 60}, headers=_TRAVEL_HEADERS)
        if targets is not None:
            _sheet(wb, "目標", targets, formats, {"source": 40})
        if trend is not None:
            _sheet(wb, "趨勢", trend, formats)
        for name, frame in (extra_sheets or {}).items():
            _sheet(wb, name, frame, formats)
        _sheet(wb, "剔除", report.registry.rejected[["file", "row", "field", "value", "reason"]], formats,
               {"reason": 60, "value": 30})
        sources = pd.DataFrame([
            {"item": "資料日期 as-of", "detail": report.as_of.date().isoformat()},
            {"item": "涵蓋定義 definition", "detail": report.definition},
            {"item": "鄉鎮市區界 boundaries", "detail": report.boundaries},
            {"item": "據點清冊 registry", "detail": "、".join(Path(f).name for f in report.files)},
            *_population_sources(report),
            *_travel_sources(report),
            {"item": "讀入列數 rows read", "detail": str(report.registry.rows_read)},
            {"item": "剔除列數 rows rejected",
             "detail": str(report.registry.rows_read - len(report.registry.facilities))},
            {"item": "偏遠與原住民鄉清單 reference lists",
             "detail": "原住民族委員會 山地/平地原住民鄉；嘉義縣 2021-11-24 報告之偏遠山海區；"
                       "見 geodata/PROVENANCE.md"},
            {"item": "產生工具 tool", "detail": f"safetynet-coverage {__version__}"},
        ])
        _sheet(wb, "資料來源", sources, formats, {"item": 28, "detail": 80})
        wb.close()
    return path


def _travel_sheet(travel: pd.DataFrame) -> pd.DataFrame:
    """道路時間: per county × programme, villages with minutes by road, median and max, and why the rest have none."""
    import pandas as pd

    rows = []
    for (county, category), g in travel.groupby(["county", "category"], sort=False):
        reached = g["nearest_min"].dropna()
        why = g.loc[g["nearest_min"].isna(), "reason"].value_counts()
        rows.append({"county": county, "category": category, "villages": len(g), "reached": len(reached),
                     "median_min": round(float(reached.median()), 1) if len(reached) else None,
                     "max_min": round(float(reached.max()), 1) if len(reached) else None,
                     "unreached": "；".join(f"{r} {n}" for r, n in why.items())})
    return pd.DataFrame(rows, columns=["county", "category", "villages", "reached", "median_min", "max_min",
                                       "unreached"])


def _travel_sources(report: CoverageReport) -> list[dict]:
    """Rows of the 資料來源 sheet that describe the road network (none without one)."""
    settings = report.travel_settings
    if report.travel is None or settings is None:
        return []
    detail = (f"{report.network}；速度 speeds {settings['speeds']}；路外步段 off-road legs "
              f"{settings['access_kmh']:g} km/h；{settings['within_min']:g} 分鐘內人口；"
              f"2SFCA 服務範圍 {settings['catchment_min']:g} 分鐘")
    return [{"item": "道路路網 road network", "detail": detail}]


def _population_sources(report: CoverageReport) -> list[dict]:
    """Rows of the 資料來源 sheet that describe the population input (none without one)."""
    pop = report.population
    if pop is None:
        return []
    rows = [
        {"item": "人口資料 population file", "detail": f"{Path(pop.file).name}（{pop.layout}）"},
        {"item": "人口資料年月 population month", "detail": pop.period or "未載明 not stated in the file"},
        {"item": "人口配對 matching",
         "detail": "；".join(f"{r.how} {int(r.rows):,} 列 {int(r.people):,} 人" for r in pop.matching.itertuples())},
    ]
    if pop.unavailable:
        rows.append({"item": "無法計算的年齡組 unavailable age groups",
                     "detail": "；".join(f"{k}: {v}" for k, v in pop.unavailable.items())})
    access = report.access
    if access is not None:
        sea = "是" if access.cross_sea else "否"
        rows.append({"item": "距離與可近性 distances",
                     "detail": f"年齡組 {access.group}；直線距離 {access.distance_km:g} km（TWD97 EPSG:3826）；"
                               f"2SFCA 服務範圍 {access.catchment_km:g} km；跨海服務 {sea}"})
    return rows


def targets_for_report(report: CoverageReport, targets: pd.DataFrame | None) -> tuple[pd.DataFrame, str | None]:
    """The targets that apply to ``report``'s scope, and a note when none do.

    A report of every county compares with the national targets (``targets=None``: the bundled
    ones) and with any county targets given; a report of some counties only with those counties'
    targets — national targets are never set against one county's registry. Targets of
    programmes the report does not cover are left out.

    Parameters
    ----------
    report : CoverageReport
        From :func:`coverage.run_coverage`.
    targets : DataFrame or None
        Targets given (:func:`coverage.plan.load_targets`); None: the bundled national ones.

    Returns
    -------
    (DataFrame, str or None)
        The applicable targets (columns of :func:`coverage.plan.load_targets`), and a note for the
        目標 sheet when there are none.
    """
    from .geography import load_townships
    from .plan import load_targets

    towns = load_townships(None if report.boundaries.startswith("bundled") else report.boundaries)
    counties = list(dict.fromkeys(report.counties["county"]))
    national = set(counties) >= set(towns["county"])
    if targets is None:
        targets = load_targets() if national else load_targets().iloc[0:0]
    scopes = set(counties) | ({"全國"} if national else set())
    keep = targets["scope"].isin(scopes) & targets["category"].isin(set(report.counties["category"]))
    applicable = targets[keep].reset_index(drop=True)
    if len(applicable):
        return applicable, None
    where = "全國" if national else "、".join(counties)
    note = (f"未提供{where}的目標（可以 targets 檔案提供，例如 safetynet report --targets 目標.csv）。"
            + ("" if national else "全國目標不與單一縣市的據點比較。"))
    return applicable, note


def write_planner_workbook(
    report: CoverageReport,
    out_dir: str | Path,
    *,
    first_year: int | None = None,
    targets: pd.DataFrame | str | Path | None = None,
) -> Path:
    """``coverage.xlsx`` for ``report``: with the targets of its scope and the trend since ``first_year``.

    ``first_year`` defaults to the earliest opening year in the registry (at least 2018, the
    programme's first phase) and the trend runs to the as-of year. ``targets`` (a table of
    :func:`coverage.plan.load_targets`, or its file) defaults to the national targets for a
    national report and to none for a county report (:func:`targets_for_report`).

    Parameters
    ----------
    report : CoverageReport
        From :func:`coverage.run_coverage`.
    out_dir : str or Path
        The output folder; the workbook is ``coverage.xlsx`` in it.
    first_year : int, optional
        First year of the trend sheet.
    targets : DataFrame or path, optional
        Targets to compare with.

    Returns
    -------
    Path
        The workbook written.

    Raises
    ------
    OutputError
        The workbook cannot be written.
    """
    import pandas as pd

    from .geography import load_townships
    from .plan import compare_targets, coverage_trend, load_targets

    fac = report.registry.facilities
    towns = load_townships(None if report.boundaries.startswith("bundled") else report.boundaries)
    last = report.as_of.year
    if first_year is None:
        opened = pd.to_datetime(fac["opened"]).dropna() if "opened" in fac else pd.Series(dtype="datetime64[ns]")
        first_year = max(2018, int(opened.dt.year.min())) if len(opened) else last - 4
    first_year = min(first_year, last)
    cats = sorted(report.townships["category"].unique())
    counties = sorted(report.townships["county"].unique())
    pop = report.population
    access = report.access
    trend = coverage_trend(fac, towns, range(first_year, last + 1), definition=report.definition,
                           categories=cats, counties=counties, population=pop,
                           age_group=access.group if access is not None else "total", data=report.counties)
    if targets is not None and not isinstance(targets, pd.DataFrame):
        targets = load_targets(targets)
    applicable, note = targets_for_report(report, targets)
    if note is None:
        table = compare_targets(fac, towns, applicable, as_of=report.as_of, definition=report.definition,
                                data=report.counties)
    else:
        table = pd.DataFrame({"scope": ["、".join(dict.fromkeys(report.counties["county"]))], "detail": [note]})
    return write_workbook(report, Path(out_dir) / "coverage.xlsx", targets=table, trend=trend)
