"""Registry diffs (coverage.diff, `safetynet diff`): opened, closed, moved, renamed, coverage before → after."""

from __future__ import annotations

import pytest

from coverage.diff import CHANGES, diff_registries
from coverage.facilities import read_facilities
from coverage.geography import load_townships

HEADER = "id,category,name,county,township\n"
OLD = HEADER + (
    "a1,小衛星,竹崎據點,嘉義縣,竹崎鄉\n"
    "a2,小衛星,梅山據點,嘉義縣,梅山鄉\n"
    "a3,小衛星,東石據點,嘉義縣,東石鄉\n"
    "a4,小衛星,布袋據點,嘉義縣,布袋鎮\n"
    "a5,社福中心,民雄社福中心,嘉義縣,民雄鄉\n"
)
NEW = HEADER + (
    "a1,小衛星,竹崎據點,嘉義縣,竹崎鄉\n"          # unchanged
    "a2,小衛星,梅山據點,嘉義縣,番路鄉\n"          # moved (same id, other township)
    "a3,小衛星,東石兒少據點,嘉義縣,東石鄉\n"      # renamed
    "a6,小衛星,阿里山據點,嘉義縣,阿里山鄉\n"      # opened
    "a5,社福中心,民雄社福中心,嘉義縣,民雄鄉\n"   # unchanged; 布袋 closed
)


@pytest.fixture(scope="module")
def towns():
    return load_townships()


def _read(tmp_path, name, text, towns):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return read_facilities(path, townships=towns).facilities


def test_diff_by_id(tmp_path, towns):
    d = diff_registries(_read(tmp_path, "old.csv", OLD, towns), _read(tmp_path, "new.csv", NEW, towns), towns)
    got = {(r.change, r.name) for r in d.points.itertuples()}
    assert got == {("unchanged", "竹崎據點"), ("moved", "梅山據點"), ("renamed", "東石兒少據點"),
                   ("opened", "阿里山據點"), ("closed", "布袋據點"), ("unchanged", "民雄社福中心")}
    moved = d.points[d.points["change"] == "moved"].iloc[0]
    assert (moved["township_before"], moved["township_after"]) == ("梅山鄉", "番路鄉")
    assert d.points.loc[d.points["change"] == "renamed", "name_before"].item() == "東石據點"
    assert d.counts() == {"opened": 1, "closed": 1, "moved": 1, "renamed": 1, "unchanged": 2}
    cov = d.coverage.set_index(["county", "category"]).loc[("嘉義縣", "community_support_point")]
    assert (cov["covered_before"], cov["covered_after"], cov["total"]) == (4, 4, 18)
    assert cov["change_points"] == 4


def test_diff_without_ids_matches_by_name_then_place(tmp_path, towns):
    strip = lambda text: "\n".join(line.split(",", 1)[1] for line in text.splitlines()) + "\n"  # noqa: E731
    d = diff_registries(_read(tmp_path, "o.csv", strip(OLD), towns), _read(tmp_path, "n.csv", strip(NEW), towns),
                        towns)
    by = {r.name: (r.change, r.matched_by) for r in d.points.itertuples()}
    assert by["竹崎據點"] == ("unchanged", "name")
    assert by["東石兒少據點"] == ("renamed", "township")  # new name, same township: one point
    assert by["梅山據點"] == ("moved", "name")


def test_ambiguous_places_are_listed_not_guessed(tmp_path, towns):
    old = "category,name,county,township\n小衛星,甲,嘉義縣,竹崎鄉\n小衛星,乙,嘉義縣,竹崎鄉\n"
    new = "category,name,county,township\n小衛星,丙,嘉義縣,竹崎鄉\n小衛星,丁,嘉義縣,竹崎鄉\n"
    d = diff_registries(_read(tmp_path, "o.csv", old, towns), _read(tmp_path, "n.csv", new, towns), towns)
    assert d.counts()["opened"] == 2 and d.counts()["closed"] == 2
    assert len(d.ambiguous) == 1 and "2 before, 2 after" in d.ambiguous[0]


def test_identical_registries_are_unchanged(towns):
    from coverage.datasets import get_path

    reg = read_facilities(get_path("registry"), townships=towns).facilities
    d = diff_registries(reg, reg, towns)
    assert set(d.points["change"]) == {"unchanged"}
    assert len(d.points) == len(reg)
    assert (d.coverage["covered_before"] == d.coverage["covered_after"]).all()
    assert list(CHANGES) == ["opened", "closed", "moved", "renamed", "unchanged"]


def test_diff_command(tmp_path):
    from typer.testing import CliRunner

    from coverage.cli import app

    (tmp_path / "old.csv").write_text(OLD, encoding="utf-8")
    (tmp_path / "new.csv").write_text(NEW, encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["diff", str(tmp_path / "old.csv"), str(tmp_path / "new.csv"),
                                      "--county", "嘉義縣", "--out", str(out)])
    assert result.exit_code == 0, result.output
    import pandas as pd

    points = pd.read_csv(out / "diff.csv", dtype=str)
    assert points.columns[:6].tolist() == ["change", "category", "name", "county", "township_before", "township_after"]
    assert len(points) == 6
    cov = pd.read_csv(out / "coverage_diff.csv", dtype=str)
    assert {"county", "category", "covered_before", "covered_after", "rate_before", "rate_after"} <= set(cov.columns)
    assert "新增 1" in result.output and "裁撤 1" in result.output and "遷移 1" in result.output
