"""Figures on incomplete data say so: targets are judged only on complete data and count centres, not outposts;
the trend says which points are undated; gaps say when their data are partial."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from coverage.cli import app
from coverage.completeness import target_data
from coverage.datasets import get_path
from coverage.facilities import read_facilities
from coverage.plan import compare_targets, load_targets

runner = CliRunner()


@pytest.fixture(scope="module")
def bundled(townships):
    """The default registry: the national 社福中心 list (complete), the partial 心衛中心 list, the seed rows."""
    return read_facilities(get_path("registry"), townships=townships).facilities


def _targets(text: str, tmp_path) -> pd.DataFrame:
    path = tmp_path / "targets.csv"
    path.write_text("縣市,類別,年度,目標處數,目標涵蓋率\n" + text, encoding="utf-8")
    return load_targets(path)


def test_partial_county_data_is_not_judged(tmp_path, bundled, townships):
    """A county whose data are partial gets its current value (a floor) but no gap, no 已達標/未達標."""
    targets = _targets("臺中市,心衛中心,2026,30,\n嘉義縣,小衛星,2026,17,\n", tmp_path)
    data = target_data(townships, targets["category"], bundled, [str(get_path("registry"))])
    state = data.set_index(["county", "category"])["data"]
    assert state[("臺中市", "mental_health_centre")] == "partial"
    out = compare_targets(bundled, townships, targets, as_of="2024-06-30", data=data).set_index("scope")
    tc = out.loc["臺中市"]
    assert tc["data"] == "partial" and tc["met"] is None and tc["still_needed"] is None and pd.isna(tc["gap"])
    assert tc["status"] == "資料不完整，無法判定" and tc["current"] > 0
    cy = out.loc["嘉義縣"]  # 嘉義縣's 小衛星 list is complete: judged as before
    assert (cy["data"], cy["met"], cy["status"], cy["still_needed"]) == ("complete", True, "已達標", 0)
    # without data= every pair counts as complete (the library's old behaviour)
    plain = compare_targets(bundled, townships, targets, as_of="2024-06-30").set_index("scope")
    assert plain.loc["臺中市", "status"] in {"已達標", "未達標"}


def test_national_target_needs_every_county_complete(bundled, townships):
    targets = load_targets()
    targets = targets[targets["year"] == 2025]
    data = target_data(townships, targets["category"], bundled, [str(get_path("registry"))])
    out = compare_targets(bundled, townships, targets, as_of="2024-06-30", data=data).set_index("category")
    assert out.loc["mental_health_centre", "status"] == "資料不完整，無法判定"
    assert out.loc["psychiatric_collab_point", "data"] == "partial"  # a few counties partial, the rest none
    wc = out.loc["welfare_centre"]  # complete in all 22 counties: judged
    assert wc["data"] == "complete" and wc["met"] is not None
    # one county's 社福中心 data made partial: the national figure is no longer judged
    data.loc[(data["county"] == "澎湖縣") & (data["category"] == "welfare_centre"), "data"] = "partial"
    again = compare_targets(bundled, townships, targets, as_of="2024-06-30", data=data).set_index("category")
    assert again.loc["welfare_centre", "met"] is None
    # every county none: 無資料
    data["data"] = "none"
    none = compare_targets(bundled, townships, targets, as_of="2024-06-30", data=data).set_index("category")
    assert set(none["status"]) == {"無資料，無法判定"}


def test_count_targets_count_centres_not_outposts(bundled, townships):
    """澎湖's 七美據點 and 湖西據點 (kind=outpost) serve their townships but are not centres of a count target."""
    wc = bundled[bundled["category"] == "welfare_centre"]
    outposts = wc[wc["kind"] == "outpost"]
    assert sorted(outposts["name"]) == ["七美據點", "湖西據點"]
    targets = load_targets()
    targets = targets[(targets["year"] == 2025) & (targets["category"] == "welfare_centre")]
    out = compare_targets(bundled, townships, targets, as_of="2024-06-30").iloc[0]
    assert out["current"] == len(wc) - 2 == 155
    assert (out["still_needed"], out["status"]) == (1, "未達標")


def test_cli_targets_says_not_judged(tmp_path):
    """safetynet targets on the bundled registry: 心衛中心's national target is not judged; blanks in targets.csv."""
    r = runner.invoke(app, ["targets", "--as-of", "2024-06-30", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    table = pd.read_csv(tmp_path / "targets.csv", encoding="utf-8-sig", keep_default_na=False)
    mh = table[table["category"] == "mental_health_centre"]
    assert len(mh) == 2 and set(mh["status"]) == {"資料不完整，無法判定"}
    assert set(mh["still_needed"]) == {""} and set(mh["gap"]) == {""} and set(mh["met"]) == {""}
    assert "資料不完整" in r.output


def test_trend_says_undated_points_and_no_data(bundled, townships):
    """coverage_trend: points without an opening date are counted in every year and said so (`undated`); a pair
    with no data has no rate (not 0%), a partial one says partial."""
    from coverage.plan import coverage_trend

    data = target_data(townships, sorted(set(bundled["category"])), bundled, [str(get_path("registry"))])
    table = coverage_trend(bundled, townships, [2019, 2024], data=data).set_index(["year", "county", "category"])
    wc = table.xs("welfare_centre", level="category")
    # the national 社福中心 list (2023-04) has no opening dates: every centre counted in 2019 is undated
    assert (wc["undated"] == wc["facilities"]).all() and wc["undated"].sum() > 150
    none = table[table["data"] == "none"]
    assert len(none) and none["rate"].isna().all()
    assert table.loc[(2024, "臺中市", "mental_health_centre"), "data"] == "partial"
    dated = table.loc[(2024, "臺中市", "mental_health_centre")]
    assert dated["undated"] < dated["facilities"]  # 臺中市's seed rows carry their dates
    # without data= every pair is complete, and rates are numbers
    plain = coverage_trend(bundled, townships, [2024])
    assert set(plain["data"]) == {"complete"} and plain["rate"].notna().all()


def test_cli_trend_marks_partial_and_undated(tmp_path, monkeypatch):
    monkeypatch.setattr("coverage.charts.cjk_font", lambda: "DejaVu Sans")  # drawing is not what is tested here
    r = runner.invoke(app, ["trend", "--county", "臺中市", "--no-chart", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "（部分資料）" in r.output and "without an opening date" in r.output
    table = pd.read_csv(tmp_path / "trend.csv", encoding="utf-8-sig")
    assert {"undated", "data"} <= set(table.columns)


def test_gaps_say_when_their_data_are_partial(tmp_path):
    """A township without a 心衛中心 in 臺中市 (partial list) may have one the registry lacks: gaps carry data=partial,
    and the printed list puts them last, marked."""
    from coverage import run_coverage

    report = run_coverage(counties=["臺中市", "嘉義縣"], as_of="2024-06-30")
    states = report.gaps.groupby(["county", "category"])["data"].first()
    assert states[("臺中市", "mental_health_centre")] == "partial"
    assert states[("嘉義縣", "community_support_point")] == "complete"
    assert ("嘉義縣", "mental_health_centre") not in states or states[("嘉義縣", "mental_health_centre")] != "complete"
    r = runner.invoke(app, ["report", "--county", "臺中市", "--no-maps", "--as-of", "2024-06-30", "--out",
                            str(tmp_path)])
    assert r.exit_code == 0, r.output
    listed = [line for line in r.output.splitlines() if line.startswith("  臺中市")]
    marked = [i for i, line in enumerate(listed) if "（部分資料）" in line]
    assert marked and marked == list(range(len(listed) - len(marked), len(listed)))  # partial ones last


def test_site_on_partial_data_says_so(tmp_path):
    """site on a programme whose county data are partial (臺中市 心衛中心 in the bundled list): the plan says so in
    sites.json and in the printout; on complete data it does not."""
    import json

    r = runner.invoke(app, ["site", "--county", "臺中市", "--category", "心衛中心", "--new", "1", "--no-map",
                            "--as-of", "2024-06-30", "--out", str(tmp_path / "p")])
    assert r.exit_code == 0, r.output
    sites = json.loads((tmp_path / "p" / "sites.json").read_text(encoding="utf-8"))
    assert sites["summary"]["data"] == "partial"
    assert "部分資料 partial data" in r.output and "mental_health_centre" not in r.output  # zh-TW title
    r = runner.invoke(app, ["site", "--county", "嘉義縣", "--category", "小衛星", "--no-map", "--as-of",
                            "2024-06-30", "--out", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    assert "partial data" not in r.output and "no data" not in r.output
    assert json.loads((tmp_path / "c" / "sites.json").read_text(encoding="utf-8"))["summary"]["data"] == "complete"


def test_whatif_on_partial_data_says_so():
    r = runner.invoke(app, ["whatif", "--add", "臺中市和平區:心衛中心", "--add", "嘉義縣阿里山鄉:小衛星",
                            "--as-of", "2024-06-30"])
    assert r.exit_code == 0, r.output
    notes = [line for line in r.output.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and "臺中市 心衛中心" in notes[0] and "部分資料" in notes[0]  # 嘉義縣's 小衛星: complete
