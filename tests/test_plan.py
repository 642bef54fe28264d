"""Trend, targets, what-if and siting on the bundled data and hand-made cases."""

from __future__ import annotations

import json
import re
from collections import Counter

import pandas as pd
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from coverage.cli import app
from coverage.errors import CoverageError, InputError
from coverage.facilities import read_facilities
from coverage.geography import load_villages
from coverage.plan import (
    compare_targets,
    coverage_trend,
    load_targets,
    parse_year,
    read_scenario,
    roc_year,
    whatif,
)
from coverage.siting import site_new_points

runner = CliRunner()


@pytest.fixture(scope="module")
def seed(townships):
    from coverage.datasets import get_path

    return read_facilities(get_path("seed_registry"), townships=townships).facilities


@pytest.mark.parametrize(("text", "year"), [("2019", 2019), ("108", 2019), ("民國108年", 2019), (115, 2026)])
def test_parse_year(text, year):
    assert parse_year(text) == year


def test_parse_year_rejects():
    with pytest.raises(InputError, match="not a year"):
        parse_year("去年")
    assert roc_year(2023) == "民國112年"


def test_trend_taichung_mental_health(seed, townships):
    t = coverage_trend(seed, townships, [2022, 2023, 2024], counties=["臺中市"], categories=["mental_health_centre"])
    assert t[["year", "roc_year", "covered", "total", "rate"]].values.tolist() == [
        [2022, 111, 3, 29, 10.3], [2023, 112, 5, 29, 17.2], [2024, 113, 5, 29, 17.2]
    ]


def test_trend_is_monotone_without_closures(seed, townships):
    t = coverage_trend(seed, townships, range(2019, 2027), counties=["臺中市"])
    for _, g in t.groupby("category"):
        assert g["covered"].is_monotonic_increasing


def test_national_targets(seed, townships):
    targets = load_targets()
    assert set(targets["target_count"]) == {156, 71, 49, 158, 101, 83}
    out = compare_targets(seed, townships, targets, as_of="2024-06-30")
    wc = out[(out["category"] == "welfare_centre") & (out["year"] == 2025)].iloc[0]
    assert (wc["current"], wc["target"], wc["still_needed"], wc["status"]) == (8, 156, 148, "未達標")


def test_county_rate_and_count_targets(tmp_path, seed, townships):
    path = tmp_path / "targets.csv"
    path.write_text(
        "縣市,類別,年度,目標處數,目標涵蓋率\n"
        "嘉義市,社福中心,114,2,\n"
        "嘉義縣,小衛星,115,,100\n"
        "台中市,心衛中心,2026,,20\n",
        encoding="utf-8",
    )
    out = compare_targets(seed, townships, load_targets(path), as_of="2024-06-30")
    rows = out.set_index(["scope", "category"])
    assert rows.loc[("嘉義市", "welfare_centre"), ["measure", "current", "met", "status"]].tolist() == [
        "count", 2, True, "已達標"
    ]
    csp = rows.loc[("嘉義縣", "community_support_point")]
    assert (csp["current"], csp["still_needed"], csp["status"]) == (94.4, 1, "未達標")
    # 20% of 29 townships = 5.8 → 6 covered needed; 5 covered now
    assert rows.loc[("臺中市", "mental_health_centre"), "still_needed"] == 1


def test_targets_file_errors(tmp_path):
    bad = tmp_path / "t.csv"
    bad.write_text("縣市,類別,年度\n嘉義縣,小衛星,115\n", encoding="utf-8")
    with pytest.raises(InputError, match="target_count or target_rate"):
        load_targets(bad)
    bad.write_text("縣市,類別,年度,目標處數\n火星縣,小衛星,115,3\n", encoding="utf-8")
    with pytest.raises(InputError, match="t.csv row 2: county '火星縣'"):
        load_targets(bad)


def test_whatif_add_and_remove(seed, townships):
    out = whatif(seed, townships, add=["嘉義縣阿里山鄉:小衛星"], remove=["嘉義縣日安社會福利服務中心（竹崎鄉）"])
    rows = out.set_index("category")
    csp = rows.loc["community_support_point"]
    assert (csp["covered_before"], csp["covered_after"], csp["rate_before"], csp["rate_after"]) == (17, 18, 94.4, 100.0)
    assert csp["newly_covered"] == ["阿里山鄉"]
    wc = rows.loc["welfare_centre"]
    assert (wc["covered_before"], wc["covered_after"], wc["newly_uncovered"]) == (6, 5, ["竹崎鄉"])
    assert len(out) == 2  # nothing else changed


def test_whatif_errors(seed, townships):
    with pytest.raises(InputError, match="no facility has this name"):
        whatif(seed, townships, remove=["不存在的中心"])
    with pytest.raises(InputError, match="expected 縣市鄉鎮市區:category"):
        whatif(seed, townships, add=["嘉義縣阿里山鄉"])


def test_scenario_file(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("action,target\n新增,嘉義縣阿里山鄉:小衛星\nremove,甲中心\n", encoding="utf-8")
    assert read_scenario(path) == (["嘉義縣阿里山鄉:小衛星"], ["甲中心"])
    path.write_text("action,target\nmove,x\n", encoding="utf-8")
    with pytest.raises(InputError, match="row 2"):
        read_scenario(path)


def test_site_townships_set_cover(seed, townships):
    plan = site_new_points(seed, townships, load_villages(), county="嘉義縣", category="community_support_point",
                           new=None, objective="townships")
    assert plan.sites["township"].tolist() == ["阿里山鄉"]
    assert plan.summary["rate_before"] == 94.4 and plan.summary["rate_after"] == 100.0
    assert plan.result.optimal
    plan = site_new_points(seed, townships, load_villages(), county="嘉義縣", category="welfare_centre",
                           new=None, objective="townships")
    assert len(plan.sites) == 12 and plan.summary["townships_covered_after"] == 18


def test_site_population_objective(seed, townships):
    villages = load_villages()
    chiayi = villages[villages["county"] == "嘉義縣"]
    # hand-made population: all people in one village of 阿里山鄉
    target = chiayi[chiayi["township"] == "阿里山鄉"]["villcode"].iloc[0]
    pop = pd.Series(0.0, index=villages["villcode"])
    pop[target] = 1000.0
    plan = site_new_points(seed, townships, villages, county="嘉義縣", category="community_support_point", new=1,
                           objective="population", population=pop)
    assert plan.sites["people_newly_within_radius"].tolist() == [1000]
    assert plan.summary["population_within_radius_after"] == 1000
    with pytest.raises(InputError, match="needs village population"):
        site_new_points(seed, townships, villages, county="嘉義縣", category="welfare_centre", new=1)


@pytest.fixture
def no_cjk_font(monkeypatch):
    """As on a machine without fonts-noto-cjk: coverage.charts.cjk_font raises (so a test using this
    fixture proves its command does not need the font)."""
    from coverage import charts
    from coverage.errors import CoverageError

    def missing() -> str:
        raise CoverageError("no CJK font installed (test: fonts hidden)")

    monkeypatch.setattr(charts, "cjk_font", missing)


def test_cli_trend_table(tmp_path, no_cjk_font):
    out = tmp_path / "o"
    r = runner.invoke(app, ["trend", "--county", "臺中市", "--from", "108", "--to", "113", "--roc", "--no-chart",
                            "--out", str(out)])
    assert r.exit_code == 0, r.output
    trend = pd.read_csv(out / "trend.csv", encoding="utf-8-sig")
    assert trend["roc_year"].min() == 108 and trend["year"].max() == 2024
    mh = trend[trend["category"] == "mental_health_centre"].set_index("year")
    assert mh.loc[[2022, 2023, 2024], "covered"].tolist() == [3, 5, 5]  # as coverage_trend above
    assert not (out / "trend.png").exists()
    r = runner.invoke(app, ["trend", "--from", "2025", "--to", "2020", "--out", str(out)])
    assert r.exit_code == 2 and "before" in r.output
    r = runner.invoke(app, ["trend", "--county", "臺中市", "--from", "2023", "--to", "2024", "--out", str(out)])
    assert r.exit_code == 1 and r.output.strip() == "error: no CJK font installed (test: fonts hidden)", r.output


def test_cli_trend_chart(tmp_path, cjk_font):
    """Only the chart needs the CJK font."""
    out = tmp_path / "o"
    r = runner.invoke(app, ["trend", "--county", "臺中市", "--from", "108", "--to", "113", "--roc", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert (out / "trend.png").read_bytes()[:4] == b"\x89PNG"
    assert len(pd.read_csv(out / "trend.csv", encoding="utf-8-sig")) > 0


def test_cli_targets(tmp_path, no_cjk_font):
    r = runner.invoke(app, ["targets", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "未達標" in r.output


def test_cli_whatif(no_cjk_font):
    r = runner.invoke(app, ["whatif", "--add", "嘉義縣阿里山鄉:小衛星"])
    assert r.exit_code == 0 and "94.4% → 100.0%" in r.output, r.output
    r = runner.invoke(app, ["whatif"])
    assert r.exit_code == 2 and "nothing to change" in r.output


def test_cli_site(tmp_path, no_cjk_font):
    out = tmp_path / "o"
    r = runner.invoke(app, ["site", "--county", "嘉義縣", "--category", "小衛星", "--out", str(out)])
    assert r.exit_code == 0, r.output
    sites = json.loads((out / "sites.json").read_text(encoding="utf-8"))
    assert [s["township"] for s in sites["sites"]] == ["阿里山鄉"]
    assert sites["summary"]["optimality_gap"] == 0


def test_planning_commands_take_the_xy_datum(tmp_path):
    """An old registry in TWD67 metres: the point 300 m inside 太保市 lands there only when declared."""
    path = tmp_path / "old.csv"
    path.write_text("類別,名稱,X,Y\n小衛星,太保舊據點,186550.4,2601550.6\n", encoding="utf-8")
    base = ["whatif", "--facilities", str(path), "--county", "嘉義縣", "--category", "小衛星",
            "--add", "嘉義縣新港鄉:小衛星"]
    r = runner.invoke(app, base)  # read as TWD97 the point is in 新港鄉 already: nothing changes
    assert r.exit_code == 0 and "1/18 → 1/18" in r.output, r.output
    r = runner.invoke(app, [*base, "--xy-datum", "TWD67"])
    assert r.exit_code == 0 and "1/18 → 2/18" in r.output, r.output
    for command in (["trend", "--from", "2025", "--to", "2025", "--no-chart"], ["targets"]):
        r = runner.invoke(app, [*command, "--facilities", str(path), "--xy-datum", "TWD67", "--out", str(tmp_path)])
        assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["site", "--county", "嘉義縣", "--category", "小衛星", "--facilities", str(path),
                            "--xy-datum", "TWD67", "--no-map", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    sites = json.loads((tmp_path / "sites.json").read_text(encoding="utf-8"))
    assert "太保市" not in {s["township"] for s in sites["sites"]}  # already covered by the old point
    r = runner.invoke(app, ["targets", "--facilities", str(path), "--xy-datum", "TWD83"])
    assert r.exit_code == 2 and "TWD67" in r.output


@pytest.fixture(scope="module")
def chiayi_people(tmp_path_factory, townships):
    """Hand-made township population for 嘉義縣: 阿里山鄉 5,000, 太保市 30,000, 竹崎鄉 10,000 (others absent)."""
    from coverage.population import read_population

    path = tmp_path_factory.mktemp("pop") / "towns.csv"
    path.write_text("COUNTYNAME,TOWNNAME,人口數\n嘉義縣,阿里山鄉,5000\n嘉義縣,太保市,30000\n嘉義縣,竹崎鄉,10000\n",
                    encoding="utf-8")
    return read_population(path, townships=townships)


def test_population_weighted_trend(seed, townships, chiayi_people):
    t = coverage_trend(seed, townships, [2024], counties=["嘉義縣"], categories=["community_support_point"],
                       population=chiayi_people)
    row = t.iloc[0]
    # 17 of 18 townships covered, 阿里山鄉 not: 40,000 of the 45,000 people live in covered townships
    assert (row["covered"], row["people_covered"], row["people_total"]) == (17, 40000, 45000)
    assert row["population_rate"] == 88.9
    empty = coverage_trend(seed, townships, [], population=chiayi_people)
    assert "population_rate" in empty.columns and empty.empty


def test_population_weighted_whatif(seed, townships, chiayi_people):
    out = whatif(seed, townships, add=["嘉義縣阿里山鄉:小衛星"], remove=["嘉義縣日安社會福利服務中心（竹崎鄉）"],
                 population=chiayi_people).set_index("category")
    csp = out.loc["community_support_point"]
    assert (csp["people_covered_before"], csp["people_covered_after"], csp["people_total"]) == (40000, 45000, 45000)
    assert (csp["population_rate_before"], csp["population_rate_after"]) == (88.9, 100.0)
    wc = out.loc["welfare_centre"]  # losing 竹崎鄉's centre leaves its 10,000 people uncovered
    assert wc["people_covered_before"] - wc["people_covered_after"] == 10000
    with pytest.raises(InputError, match="children"):
        whatif(seed, townships, add=["嘉義縣阿里山鄉:小衛星"], population=chiayi_people, age_group="children")


def test_cli_trend_and_whatif_with_population(tmp_path, shared_data):
    pop = shared_data / "population" / "township_population_2026-01.json"
    out = tmp_path / "o"
    r = runner.invoke(app, ["trend", "--county", "嘉義縣", "--category", "小衛星", "--from", "2023", "--to", "2024",
                            "--no-chart", "--population", str(pop), "--out", str(out)])
    assert r.exit_code == 0, r.output
    trend = pd.read_csv(out / "trend.csv", encoding="utf-8-sig")
    people = json.loads(pop.read_text(encoding="utf-8"))
    assert set(trend["people_total"]) == {sum(int(v["population"]) for k, v in people.items() if k.startswith("10010"))}
    assert (trend["people_covered"] < trend["people_total"]).all()  # 阿里山鄉 uncovered
    r = runner.invoke(app, ["whatif", "--add", "嘉義縣阿里山鄉:小衛星", "--population", str(pop)])
    assert r.exit_code == 0 and "→" in r.output and "100.0%)" in r.output, r.output
    r = runner.invoke(app, ["whatif", "--add", "嘉義縣阿里山鄉:小衛星", "--population", str(pop),
                            "--age-group", "children"])
    assert r.exit_code == 1 and "children" in r.output


# ----------------------------------------------------------------------------- targets and scenarios: whole or refused

TARGET_HEADER = "縣市,類別,年度,目標處數,目標涵蓋率\n"


@pytest.mark.parametrize(("count", "rate", "reason"), [
    ("inf", "", "target_count 'inf' is not a finite number"),
    ("1e400", "", "target_count '1e400' is not a finite number"),
    ("nan", "", "target_count 'nan' is not a finite number"),
    ("-1", "", "target_count '-1' is not a whole number from 0 to 100,000"),
    ("3.5", "", "target_count '3.5' is not a whole number from 0 to 100,000"),
    ("三", "", "target_count '三' is not a whole number"),
    ("", "101", "target_rate '101' is not a number from 0 to 100"),
    ("", "-inf%", "target_rate '-inf' is not a finite number"),
    ("", "", "neither target_count nor target_rate is given"),
])
def test_target_values_out_of_range_are_refused_with_the_row(tmp_path, count, rate, reason):
    path = tmp_path / "t.csv"
    path.write_text(TARGET_HEADER + "嘉義市,社福中心,114,2,\n" + f"嘉義縣,小衛星,115,{count},{rate}\n",
                    encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_targets(path)
    assert str(info.value) == f"t.csv row 3: {reason}. The targets file is not used until this row is fixed"


def test_target_forms_that_are_fine(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(TARGET_HEADER + "嘉義市,社福中心,114,\"1,200\",\n嘉義縣,小衛星,民國115年,,９５％\n"
                    "全國,心衛中心,2030,101,\n", encoding="utf-8")
    t = load_targets(path)
    assert t[["scope", "year", "target_count"]].values[0].tolist() == ["嘉義市", 2025, 1200]
    assert t["target_rate"].iloc[1] == 95 and t["source"].tolist() == ["t.csv"] * 3


def test_every_bad_target_row_is_named_in_one_line(tmp_path):
    path = tmp_path / "targets.csv"
    path.write_text(TARGET_HEADER + "嘉義市,社福中心,114,2,\n"  # row 2 fine
                    ",小衛星,115,3,\n"  # blank scope (not silently national)
                    "嘉義縣,小衛星,115,,100\n"  # fine
                    "嘉義縣,小衛星,115,,90\n"  # the same rate target again
                    "火星縣,小衛星,115,3,\n"
                    "嘉義縣,小衛星,1921,3,\n"
                    "嘉義縣,小衛星,115,3,,多的欄\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_targets(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith("targets.csv row 3: scope (縣市) is blank")
    assert "row 5: duplicate of row 4: the same target_rate for 嘉義縣 community_support_point 2026" in message
    assert "row 6: county '火星縣'" in message
    assert message.endswith("also rows 7, 8. The targets file is not used until these 5 rows are fixed")


def test_quote_damage_in_a_targets_file_is_refused_never_merged(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(TARGET_HEADER + '嘉義市,"社福中心,114,2,\n嘉義縣,小衛星,115,,100\n台中市,心衛中心,2026,,20\n',
                    encoding="utf-8")
    with pytest.raises(InputError, match=r't.csv row 2: unbalanced quote \("\) swallows lines 2–4; row 3: .*row 4'):
        load_targets(path)


def test_targets_workbook(tmp_path):
    path = tmp_path / "t.xlsx"
    pd.DataFrame({"縣市": ["嘉義市", "嘉義縣"], "類別": ["社福中心", "小衛星"], "年度": ["114", "115"],
                  "目標處數": ["2", "inf"]}).to_excel(path, index=False)
    with pytest.raises(InputError, match="t.xlsx row 3: target_count 'inf' is not a finite number"):
        load_targets(path)
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(InputError, match="t.xlsx: not a readable XLSX workbook"):
        load_targets(path)


def test_targets_workbook_hidden_rows_and_sheets(tmp_path):
    """A notes sheet is fine; a hidden target row, or targets on two sheets, refuse the file."""
    from openpyxl import Workbook

    def book(hide_row=False, second=False, hidden_sheet=False):
        wb = Workbook()
        ws = wb.active
        ws.title = "說明"
        ws.append(["本檔為各縣市目標"])
        for title in ["目標", *(["更多"] if second else [])]:
            t = wb.create_sheet(title)
            for row in (["縣市", "類別", "年度", "目標處數"], ["嘉義市", "社福中心", 114, 2],
                        ["嘉義縣", "小衛星", 115, 18]):
                t.append(row)
            if hide_row:
                t.row_dimensions[3].hidden = True
            if hidden_sheet and title == "目標":
                t.sheet_state = "hidden"
        path = tmp_path / "t.xlsx"
        wb.save(path)
        return path

    table = load_targets(book())
    assert table[["scope", "target_count"]].values.tolist() == [["嘉義市", 2], ["嘉義縣", 18]]
    with pytest.raises(InputError, match="t.xlsx row 3: row 3 of sheet '目標' is hidden"):
        load_targets(book(hide_row=True))
    with pytest.raises(InputError, match="targets on 2 sheets \\(目標、更多\\)"):
        load_targets(book(second=True))
    with pytest.raises(InputError, match="hidden: 目標"):
        load_targets(book(hidden_sheet=True))


@pytest.mark.parametrize(("column", "value"), [("target_count", float("inf")), ("target_count", 1e300),
                                               ("target_count", -1.0), ("target_rate", float("inf")),
                                               ("target_rate", 250.0), ("target_count", "x")])
def test_compare_targets_refuses_impossible_targets(seed, townships, column, value):
    """A targets table made in code gets the same checks (no OverflowError from math.ceil(inf))."""
    targets = load_targets().head(2).copy()
    targets["target_count"] = targets["target_count"].astype(object)
    targets.loc[targets.index[1], column] = value
    with pytest.raises(InputError, match=f"targets= row 1: {column}"):
        compare_targets(seed, townships, targets, as_of="2024-06-30")


def test_compare_targets_needs_a_target(seed, townships):
    targets = pd.DataFrame({"scope": ["全國"], "category": ["welfare_centre"], "year": [2025],
                            "target_count": [float("nan")], "target_rate": [float("nan")]})
    with pytest.raises(InputError, match="targets= row 0: neither"):
        compare_targets(seed, townships, targets)
    out = compare_targets(seed, townships, targets.assign(target_count=[156.0]), as_of="2024-06-30")
    assert out["still_needed"].tolist() == [148] and out["source"].tolist() == [""]


def test_scenario_rows_are_checked_and_named(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("動作,目標\n新增,嘉義縣阿里山鄉：小衛星\n移除,甲中心\n", encoding="utf-8")
    assert read_scenario(path) == (["嘉義縣阿里山鄉：小衛星"], ["甲中心"])
    path.write_text("action,target\n"
                    "add,嘉義縣阿里山鄉:小衛星\n"  # fine
                    "add,嘉義縣阿里山鄉\n"  # no category
                    "remove,\n"  # blank
                    "remove,甲中心\n"
                    "remove, 甲 中心 \n"  # the same facility again
                    "move,x\n"
                    'add,"嘉義縣竹崎鄉:小衛星\nremove,乙中心\n', encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_scenario(path)
    message = str(info.value)
    assert message.startswith("s.csv row 3: target '嘉義縣阿里山鄉': expected 縣市鄉鎮市區:category")
    assert "row 4: target is blank" in message and "row 6: duplicate of row 5: '甲 中心' is removed already" in message
    assert message.endswith("also rows 7, 8, 9. The scenario file is not used until these 6 rows are fixed")


def test_whatif_takes_a_full_width_colon(seed, townships):
    out = whatif(seed, townships, add=["嘉義縣阿里山鄉：小衛星"])
    assert out.set_index("category").loc["community_support_point", "covered_after"] == 18


# ----------------------------------------------------------------------------- fuzz: targets and scenario files

# hostile cells, as in the registry fuzz tests (test_facilities.py)
cells = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["=HYPERLINK(\"http://x\")", "+1", "@SUM(A1)", "nan", "inf", "-inf", "1e400", "民國112年13月",
                     "112/02/30", "0", "", "　", "\x00", "\x1b[31m", "臺北縣板橋市", "東區", "嘉義縣阿里山",
                     "120.55", "23.52", "190000", "2600000", "x" * 5000]),
)
settings_ = settings(max_examples=60, deadline=None)

TARGET_HEADERS = ["縣市,類別,年度,目標處數,目標涵蓋率", "scope,category,year,target_count,target_rate"]
good_target_rows = st.lists(st.tuples(
    st.sampled_from(["嘉義縣", "全國", "臺中市", "台中市", "嘉義市"]),
    st.sampled_from(["社福中心", "小衛星", "心衛中心", "會所", "welfare_centre"]),
    st.sampled_from(["114", "2026", "民國115年", "2030"]),
    st.sampled_from(["3", "0", "1,200", "", "156"]),
    st.sampled_from(["", "50", "100%", "33.3"]),
).filter(lambda r: r[3] or r[4]), min_size=1, max_size=6, unique_by=lambda r: (
    r[0].replace("台", "臺"), r[1].replace("welfare_centre", "社福中心"), parse_year(r[2])))
# a hostile cell put somewhere, a stray quote, an extra cell: each must refuse the file, never merge or drop
damage = st.one_of(
    st.none(),
    st.tuples(st.just("cell"), st.integers(0, 5), st.integers(0, 4), cells),
    st.tuples(st.just("quote"), st.integers(0, 5), st.integers(0, 60)),
    st.tuples(st.just("extra"), st.integers(0, 5), cells.filter(lambda c: c.strip() != "")),
)


def _damaged_csv(header: str, rows_: list[tuple], hit) -> tuple[str, int | None]:
    """(CSV text, the 1-based file line damaged or None) of ``rows_`` with ``hit`` applied to one row."""
    lines = [",".join('"' + str(c).replace('"', '""') + '"' if any(ch in str(c) for ch in ',"\n\r') else str(c)
                      for c in r) for r in rows_]
    line = None
    if hit is not None:
        k = hit[1] % len(lines)
        line = k + 2
        cells_ = list(rows_[k])
        if hit[0] == "cell":
            cells_[hit[2] % len(cells_)] = hit[3]
            lines[k] = ",".join('"' + str(c).replace('"', '""') + '"' for c in cells_)
        elif hit[0] == "quote":
            pos = hit[2] % (len(lines[k]) + 1)
            lines[k] = lines[k][:pos] + '"' + lines[k][pos:]
        else:
            lines[k] = lines[k] + "," + '"' + hit[2].replace('"', '""') + '"'
    return header + "\n" + "\n".join(lines) + "\n", line


def test_targets_reader(tmp_path):
    """Valid targets files with one hostile cell, stray quote or extra cell: the file is read whole
    (every row a target, each the row it came from) or refused in one line naming the file."""
    import math

    from coverage.errors import UnreadableFileError

    seen: Counter = Counter()

    @settings_
    @given(rows_=good_target_rows, header=st.sampled_from(TARGET_HEADERS), hit=damage)
    def run(rows_, header, hit):
        path = tmp_path / "t.csv"
        text, line = _damaged_csv(header, rows_, hit)
        path.write_text(text, encoding="utf-8")
        try:
            table = load_targets(path)
        except InputError as exc:
            message = str(exc)
            assert "\n" not in message and "t.csv" in message
            assert isinstance(exc, UnreadableFileError) or re.search(r"^t\.csv row \d", message)
            seen["refused"] += 1
            event("refused")
            return
        assert len(table) == len(rows_)  # nothing dropped, nothing merged
        for n, (got, want) in enumerate(zip(table.itertuples(index=False), rows_, strict=True), start=2):
            assert math.isnan(got.target_count) or (math.isfinite(got.target_count) and got.target_count >= 0)
            assert math.isnan(got.target_rate) or 0 <= got.target_rate <= 100
            if n != line:  # an undamaged row reads as written
                count = float(want[3].replace(",", "")) if want[3] else math.nan
                rate = float(want[4].rstrip("%")) if want[4] else math.nan
                assert (got.scope, got.year) == (want[0].replace("台", "臺"), parse_year(want[2]))
                assert got.target_count == count or (math.isnan(count) and math.isnan(got.target_count))
                assert got.target_rate == rate or (math.isnan(rate) and math.isnan(got.target_rate))
        seen["accepted, damaged" if line else "accepted"] += 1
        event("accepted" + (" despite the damage" if line else ""))

    run()
    assert seen["accepted"] and seen["refused"], seen


def test_scenario_reader(tmp_path):
    """Scenario files: read whole (every row an add or a remove) or refused in one line."""

    seen: Counter = Counter()
    rows_ = st.lists(st.tuples(st.sampled_from(["add", "新增", "remove", "移除", "ADD"]),
                               st.sampled_from(["嘉義縣阿里山鄉:小衛星", "臺中市北區:社福中心", "甲中心", "乙中心",
                                                "丙中心"])), min_size=1, max_size=6, unique_by=lambda r: r[1])

    @settings_
    @given(rows_=rows_, header=st.sampled_from(["action,target", "動作,目標", "target,action"]),
           hit=st.one_of(damage, st.tuples(st.just("cell"), st.integers(0, 5), st.integers(0, 1),
                                           st.sampled_from(["move", "", "嘉義縣阿里山鄉", "新增 "]))))
    def run(rows_, header, hit):
        if header.startswith("target"):
            rows_ = [(t, a) for a, t in rows_]
        path = tmp_path / "s.csv"
        text, _line = _damaged_csv(header, rows_, hit)
        path.write_text(text, encoding="utf-8")
        try:
            add, remove = read_scenario(path)
        except InputError as exc:
            assert "\n" not in str(exc) and "s.csv" in str(exc)
            seen["refused"] += 1
            event("refused")
            return
        assert len(add) + len(remove) == len(rows_)  # every row used, none merged
        assert all(":" in a for a in add)
        seen["accepted"] += 1
        event("accepted")

    run()
    assert seen["accepted"] and seen["refused"], seen


@pytest.mark.parametrize("blob", [b"", b"\xff\xfe\x00", b"PK\x03\x04garbage", b"\x00" * 100])
def test_targets_and_scenario_garbage(tmp_path, blob):
    for reader, name in ((load_targets, "t.csv"), (read_scenario, "s.csv")):
        path = tmp_path / name
        path.write_bytes(blob)
        with pytest.raises(CoverageError, match=name):
            reader(path)
