"""Trend, targets, what-if and siting on the bundled data and hand-made cases."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from coverage.cli import app
from coverage.errors import InputError
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


def test_cli_planning_commands(tmp_path):
    from coverage.charts import cjk_font
    from coverage.errors import CoverageError

    from .conftest import require

    try:
        cjk_font()
        has_font = True
    except CoverageError:
        has_font = False
    require(has_font, "no CJK font installed (fonts-noto-cjk) for zh-TW chart labels")
    out = tmp_path / "o"
    r = runner.invoke(app, ["trend", "--county", "臺中市", "--from", "108", "--to", "113", "--roc", "--out", str(out)])
    assert r.exit_code == 0, r.output
    trend = pd.read_csv(out / "trend.csv", encoding="utf-8-sig")
    assert trend["roc_year"].min() == 108 and trend["year"].max() == 2024
    assert (out / "trend.png").read_bytes()[:4] == b"\x89PNG"
    r = runner.invoke(app, ["targets", "--out", str(out)])
    assert r.exit_code == 0 and "未達標" in r.output
    r = runner.invoke(app, ["whatif", "--add", "嘉義縣阿里山鄉:小衛星"])
    assert r.exit_code == 0 and "94.4% → 100.0%" in r.output
    r = runner.invoke(app, ["whatif"])
    assert r.exit_code == 2 and "nothing to change" in r.output
    r = runner.invoke(app, ["site", "--county", "嘉義縣", "--category", "小衛星", "--out", str(out)])
    assert r.exit_code == 0, r.output
    sites = json.loads((out / "sites.json").read_text(encoding="utf-8"))
    assert [s["township"] for s in sites["sites"]] == ["阿里山鄉"]
    assert sites["summary"]["optimality_gap"] == 0
    r = runner.invoke(app, ["trend", "--from", "2025", "--to", "2020", "--out", str(out)])
    assert r.exit_code == 2 and "before" in r.output


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
