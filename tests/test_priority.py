"""Computed remoteness (MOI 偏遠地區), gap priority scores and the `report --population/--dem` outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from coverage.priority import PRIORITY_COLUMNS, compute_remoteness, county_seats, rank_priorities

# ----------------------------------------------------------------------------- priority score, hand oracle


def test_rank_priorities_hand_computed():
    table = pd.DataFrame({
        "towncode": ["A", "B", "C", "D"], "county": "甲縣", "township": ["A鄉", "B鄉", "C鄉", "D鄉"],
        "category": "x", "covered": [False, True, True, False],
        "coastal": [False, True, False, True], "island": [False, False, False, True],
        "mountain_indigenous": False,
    })
    access = pd.DataFrame({
        "towncode": ["A", "B", "C", "D"], "category": "x", "people": [1000, 2000, 3000, 200],
        "mean_km": [8.0, 6.0, 2.0, np.nan], "max_km": [12.0, 9.0, 4.0, np.nan],
        "nearest_name": ["甲站", "乙站", "丙站", None], "people_beyond": [900, 500, 0, 200],
        "mean_across_sea_km": [np.nan, np.nan, np.nan, 12.0],
    })
    flags = pd.DataFrame({"towncode": ["A", "B", "C", "D"], "remote": [True, False, False, True],
                          "mountain": [True, False, False, False]})
    out = rank_priorities(table, access, flags, distance_km=5, group="children")
    assert list(out.columns) == PRIORITY_COLUMNS
    assert out["township"].tolist() == ["A鄉", "D鄉", "B鄉"]  # C is covered and near: not a gap
    assert out["rank"].tolist() == [1, 2, 3]
    # A: uncovered, all 1,000 people × 8 km × (1 + remote 0.5 + mountain 0.5)
    # D: uncovered island, 200 × 12 km across the sea × (1 + remote 0.5 + island 0.5 + coastal 0.25)
    # B: covered but far: 500 beyond 5 km × 6 km × (1 + coastal 0.25)
    assert out["score"].tolist() == [16000.0, 5400.0, 3750.0]
    assert out["boost"].tolist() == [2.0, 2.25, 1.25]
    reasons = dict(zip(out["township"], out["reasons"], strict=True))
    assert reasons["A鄉"].startswith("未設點 no facility in the township: 1,000 兒少 0–17歲 live 8.0 km on average")
    assert "偏遠 remote、山區 mountain (DEM) → ×2" in reasons["A鄉"]
    assert "no facility on the island; nearest across the sea, 12.0 km" in reasons["D鄉"]
    assert reasons["B鄉"].startswith("遠離服務 far from service: 500 兒少 0–17歲 live beyond 5 km")
    assert not out["reasons"].str.contains("none in the whole county").any()  # B and C are covered


def test_rank_priorities_by_minutes_hand_computed():
    """With minutes by road (within_min=): candidates, people and score in minutes; the reasons say so."""
    table = pd.DataFrame({
        "towncode": ["A", "B", "C", "E"], "county": "甲縣", "township": ["A鄉", "B鄉", "C鄉", "E鄉"],
        "category": "x", "covered": [False, True, True, True], "coastal": False, "island": False,
        "mountain_indigenous": False, "facilities": [0, 1, 1, 1],
    })
    access = pd.DataFrame({
        "towncode": ["A", "B", "C", "E"], "category": "x", "people": [1000, 2000, 3000, 400],
        "mean_km": [8.0, 6.0, 2.0, 1.0], "max_km": [12.0, 9.0, 4.0, 2.0],
        "nearest_name": ["甲站", "乙站", "丙站", "丁站"],
        "people_beyond": [900, 500, 0, 0], "mean_across_sea_km": np.nan,
        # B is far in km (6 > 5) but near by road; C near in km and by road; E near but one village has no road
        "mean_min": [25.0, 12.0, 8.0, 6.0], "max_min": [40.0, 20.0, 15.0, 9.0],
        "people_within_min": [300, 2000, 3000, 350], "villages_without_min": [0, 0, 0, 1],
    })
    flags = pd.DataFrame({"towncode": ["A", "B", "C", "E"], "remote": [True, False, False, False]})
    out = rank_priorities(table, access, flags, distance_km=5, within_min=15)
    assert list(out.columns) == [*PRIORITY_COLUMNS[:9], "mean_min", "max_min", *PRIORITY_COLUMNS[9:]]
    assert out["township"].tolist() == ["A鄉", "E鄉"]  # B: far in km only, not a gap by road
    # A: uncovered, all 1,000 × 25 min × (1 + remote 0.5); E: 50 people beyond 15 min × 6 min
    assert out["score"].tolist() == [37500.0, 300.0]
    assert out["distance_km"].tolist() == [8.0, 1.0]  # the straight-line figure is kept beside the minutes
    reasons = dict(zip(out["township"], out["reasons"], strict=True))
    assert "live 25 min by road on average (max 40 min) from the nearest (甲站)" in reasons["A鄉"]
    assert "1 村里無道路時間 villages with no minutes by road" in reasons["E鄉"]
    assert out["reasons"].str.contains("score = people × mean minutes by road × boost").all()


def test_county_without_any_point_says_so():
    """Across counties: no township of 乙縣 is covered, its distances run to 甲縣's point, and the reasons say that."""
    table = pd.DataFrame({"towncode": ["A", "B", "C"], "county": ["甲縣", "甲縣", "乙縣"],
                          "township": ["A鄉", "B鄉", "C鄉"], "category": "x", "covered": [True, False, False]})
    access = pd.DataFrame({"towncode": ["A", "B", "C"], "category": "x", "people": [10, 20, 30],
                           "mean_km": [1.0, 9.0, 40.0], "max_km": [2.0, 10.0, 45.0],
                           "nearest_name": ["甲站"] * 3, "people_beyond": [0, 20, 30],
                           "mean_across_sea_km": np.nan})
    out = rank_priorities(table, access, pd.DataFrame({"towncode": ["A", "B", "C"]}), distance_km=5,
                          across_counties=True)
    reasons = dict(zip(out["township"], out["reasons"], strict=True))
    assert set(reasons) == {"B鄉", "C鄉"}
    assert "全縣市無此類據點 none in the whole county (registry): distances are to other counties' points" in (
        reasons["C鄉"])
    assert "none in the whole county" not in reasons["B鄉"]
    assert out.set_index("township").loc["C鄉", "score"] == 30 * 40.0


def test_county_without_any_point_has_no_distance():
    """Own county's points only (the default): 乙縣 has none, so its townships have no distance, are not
    scored, are ranked by people affected, and the reasons say why and how to measure across counties."""
    table = pd.DataFrame({"towncode": ["A", "B", "C", "D"], "county": ["甲縣", "甲縣", "乙縣", "乙縣"],
                          "township": ["A鄉", "B鄉", "C鄉", "D鄉"], "category": "x",
                          "facilities": [1, 0, 0, 0], "covered": [True, False, False, False]})
    access = pd.DataFrame({"towncode": ["A", "B", "C", "D"], "category": "x", "people": [10, 20, 30, 50],
                           "mean_km": [1.0, 9.0, np.nan, np.nan], "max_km": [2.0, 10.0, np.nan, np.nan],
                           "nearest_name": ["甲站", "甲站", None, None], "people_beyond": [0, 20, 30, 50],
                           "mean_across_sea_km": np.nan})
    flags = pd.DataFrame({"towncode": ["A", "B", "C", "D"], "remote": [False, False, True, False]})
    out = rank_priorities(table, access, flags, distance_km=5)
    yi = out[out["county"] == "乙縣"].set_index("township")
    assert yi.index.tolist() == ["D鄉", "C鄉"] and yi["rank"].tolist() == [1, 2]  # 50 × 1 before 30 × 1.5 (remote)
    assert yi["score"].isna().all() and yi["distance_km"].isna().all()
    assert yi["people"].tolist() == [50, 30]
    for reason in yi["reasons"]:
        assert "with no distance measured (no point of the county)" in reason
        assert "none in the whole county (registry): not scored, ranked by people" in reason
        assert "--across-counties" in reason and "km" not in reason.split("；")[0]
    jia = out[out["county"] == "甲縣"].set_index("township")
    assert jia.index.tolist() == ["B鄉"] and jia.loc["B鄉", "score"] == 20 * 9.0
    assert "none in the whole county" not in jia.loc["B鄉", "reasons"]


def test_without_dem_mountain_is_the_official_list():
    table = pd.DataFrame({"towncode": ["A"], "county": "甲縣", "township": ["A鄉"], "category": "x",
                          "covered": [False], "mountain_indigenous": [True]})
    access = pd.DataFrame({"towncode": ["A"], "category": "x", "people": [10], "mean_km": [3.0], "max_km": [4.0],
                           "nearest_name": ["站"], "people_beyond": [0], "mean_across_sea_km": [np.nan]})
    out = rank_priorities(table, access, pd.DataFrame({"towncode": ["A"], "remote": [False]}), distance_km=5)
    assert out["mountain"].tolist() == [True] and "山地原住民鄉 list" in out["reasons"].item()
    assert out["score"].item() == 10 * 3.0 * 1.5


# ----------------------------------------------------------------------------- remoteness


def test_county_seats_are_located(townships):
    seats = county_seats(townships).set_index("county")
    assert len(seats) == 22
    assert seats.loc["澎湖縣", "township"] == "馬公市" and seats.loc["嘉義縣", "township"] == "太保市"


def test_island_rule_without_population(townships):
    rem = compute_remoteness(townships).join(townships[["county", "township"]]).set_index("township")
    assert rem.loc[["蘭嶼鄉", "綠島鄉", "琉球鄉", "望安鄉", "七美鄉", "東引鄉"], "remote_island"].all()
    # the seat's own township, and islands within 7.5 km of the seat
    assert not rem.loc[["馬公市", "湖西鄉", "北竿鄉", "烈嶼鄉"], "remote_island"].any()
    assert rem.loc["南竿鄉", "seat_km"] == 0
    # without population the density rule is unknown, so only islands are known to be remote
    assert rem["low_density"].isna().all()
    assert rem.loc["蘭嶼鄉", "remote"] and pd.isna(rem.loc["阿里山鄉", "remote"])


def test_chiayi_remote_2026(townships, shared_data):
    from coverage.population import read_population

    pop = read_population(shared_data / "population" / "township_population_2026-01.json")
    rem = compute_remoteness(townships, pop).join(townships[["county", "township"]])
    chiayi = rem[rem["county"] == "嘉義縣"]
    assert set(chiayi.loc[chiayi["remote"].astype(bool), "township"]) == {"阿里山鄉", "大埔鄉", "番路鄉"}
    national = rem["national_density"].iloc[0]
    assert national == pytest.approx(pop.townships["total"].sum() / pop.townships["area_km2"].sum())
    assert "< 1/5 of national" in chiayi.set_index("township").loc["大埔鄉", "remote_reason"]


def test_partial_population_needs_a_national_density(townships, shared_data):
    from coverage.population import read_population

    pop = read_population(shared_data / "population" / "moi_village_single_age_2015-05_chiayi_county.csv")
    rem = compute_remoteness(townships, pop)
    assert rem["low_density"].isna().all()
    assert "covers 18 of 368 townships" in rem.loc[rem["towncode"] == "10010180", "remote_reason"].item()
    given = compute_remoteness(townships, pop, national_density=640.0).join(townships[["county", "township"]])
    chiayi = given[given["county"] == "嘉義縣"]
    assert set(chiayi.loc[chiayi["remote"].astype(bool), "township"]) == {"阿里山鄉", "大埔鄉", "番路鄉"}


# ----------------------------------------------------------------------------- report --population --dem


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def test_report_with_population_and_dem(tmp_path, shared_data):
    from coverage.cli import app

    dems = sorted((shared_data / "terrain").glob("*_DTM_ELE.tif"))
    args = ["report", "--county", "嘉義縣", "--population",
            str(shared_data / "population" / "village_population_agegroups_2021-03.csv"),
            "--age-group", "兒少", "--distance-km", "5", "--no-maps", "--out", str(tmp_path)]
    for dem in dems:
        args += ["--dem", str(dem)]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "人口涵蓋%" in result.output and "≤5km%" in result.output and "94.4" in result.output
    towns = _read(tmp_path / "townships.csv")
    assert {"population", "population_within_km", "mean_km", "nearest_facility", "remote", "mountain"} <= set(
        towns.columns)
    csp = towns[towns["category"] == "community_support_point"].set_index("township")
    assert set(csp.index[csp["mountain"] == "True"]) == {"阿里山鄉", "梅山鄉", "番路鄉", "竹崎鄉", "大埔鄉"}
    villages = _read(tmp_path / "villages.csv")
    assert len(villages) == 357 * 4 and villages["villcode"].str.len().eq(11).all()
    prio = _read(tmp_path / "priorities.csv")
    assert list(prio.columns) == PRIORITY_COLUMNS
    first = prio[prio["category"] == "community_support_point"].iloc[0]
    assert first["rank"] == "1" and first["reasons"]
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    cov = {r["category"]: r for r in summary["population_coverage"]["counties"]}
    assert summary["population_coverage"]["age_group"] == "children"
    assert 90 < cov["community_support_point"]["population_rate"] < 100  # only 阿里山鄉's children are uncovered
    assert summary["population"]["matching"][0] == {"how": "village code", "rows": 7690, "people": 23439143}
    remote = {r["township"] for r in summary["remoteness"]["remote"]}
    assert remote == {"阿里山鄉", "大埔鄉", "番路鄉"}  # density from the 2021 file's own total and polygons


def test_report_population_errors_exit_1(tmp_path, shared_data):
    from coverage.cli import app

    pop = shared_data / "population" / "township_elderly_2024.csv"
    args = ["report", "--county", "嘉義縣", "--population", str(pop), "--no-maps", "--out", str(tmp_path)]
    result = CliRunner().invoke(app, args)  # default age group total: not in an elderly-only file
    assert result.exit_code == 1 and "township_elderly_2024.csv" in result.output and "elderly" in result.output
    result = CliRunner().invoke(app, [*args[:-2], "--population", str(tmp_path / "nope.csv"), "--out", str(tmp_path)])
    assert result.exit_code == 1 and "nope.csv" in result.output


def test_partial_population_ranks_only_covered_townships(shared_data):
    """A 嘉義縣-only file on a two-county run: 嘉義市 has no population data and is not ranked at 0 people."""
    from coverage.pipeline import run_coverage

    pop = shared_data / "population" / "moi_village_single_age_2015-05_chiayi_county.csv"
    report = run_coverage(counties=["嘉義縣", "嘉義市"], population=pop, as_of="2024-01-01")
    pri = report.priorities
    assert set(pri["county"]) == {"嘉義縣"}
    assert (pri["people"] > 0).all()
    assert "阿里山鄉" in set(pri.loc[pri["category"] == "community_support_point", "township"])
