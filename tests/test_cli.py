"""The `safetynet` command: acceptance figures on the bundled data, outputs, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from coverage.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


@pytest.fixture(scope="module")
def chiayi(tmp_path_factory):
    out = tmp_path_factory.mktemp("chiayi")
    result = run("report", "--county", "嘉義縣", "--out", str(out))
    assert result.exit_code == 0, result.output
    return out, result


def test_chiayi_county_acceptance(chiayi):
    out, result = chiayi
    cov = read_csv(out / "coverage.csv")
    assert list(cov.columns) == ["county", "category", "covered", "total", "rate", "missing", "data"]
    csp = cov[cov["category"] == "community_support_point"].iloc[0]
    assert (csp["county"], csp["covered"], csp["total"], csp["rate"], csp["missing"]) == (
        "嘉義縣", "17", "18", "94.4", "阿里山鄉"
    )
    wc = cov[cov["category"] == "welfare_centre"].iloc[0]
    assert (wc["covered"], wc["total"], wc["rate"]) == ("6", "18", "33.3")
    assert set(cov["county"]) == {"嘉義縣"}
    assert "94.4" in result.output and "阿里山鄉" in result.output


def test_chiayi_gap_flags(chiayi):
    out, _ = chiayi
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    gaps = [g for g in summary["gaps"] if g["category"] == "community_support_point"]
    assert [g["township"] for g in gaps] == ["阿里山鄉"]
    assert gaps[0]["mountain_indigenous"] and gaps[0]["county_remote"] and gaps[0]["flagged"]
    assert gaps[0]["flags"] == "山地原住民鄉、縣定偏遠"
    towns = read_csv(out / "townships.csv")
    assert list(towns.columns) == [
        "towncode", "county", "township", "category", "facilities", "covered",
        "mountain_indigenous", "plain_indigenous", "coastal", "island", "county_remote",
    ]
    assert len(towns[towns["category"] == "community_support_point"]) == 18
    alishan = towns[(towns["township"] == "阿里山鄉") & (towns["category"] == "community_support_point")].iloc[0]
    assert (alishan["facilities"], alishan["covered"], alishan["mountain_indigenous"]) == ("0", "False", "True")
    assert summary["registry"]["rows_read"] == summary["registry"]["accepted"] + summary["registry"]["rejected_rows"]


def test_chiayi_city(tmp_path):
    assert run("report", "--county", "嘉義市", "--out", str(tmp_path)).exit_code == 0
    cov = read_csv(tmp_path / "coverage.csv").set_index("category")
    assert cov.loc["welfare_centre", ["covered", "total", "rate"]].tolist() == ["2", "2", "100.0"]
    assert cov.loc["psychiatric_collab_point", ["covered", "total", "rate"]].tolist() == ["2", "2", "100.0"]


@pytest.mark.parametrize(("as_of", "figures", "missing_planned"), [
    ("2023-01-01", ["3", "29", "10.3"], True),
    ("2024-01-01", ["5", "29", "17.2"], False),
    ("112/01/01", ["3", "29", "10.3"], True),  # ROC date
])
def test_taichung_mental_health_as_of(tmp_path, as_of, figures, missing_planned):
    args = ["--county", "台中市", "--category", "心衛中心", "--as-of", as_of, "--out", str(tmp_path)]
    result = run("report", *args)
    assert result.exit_code == 0, result.output
    cov = read_csv(tmp_path / "coverage.csv")
    assert len(cov) == 1
    assert cov[["county", "category"]].iloc[0].tolist() == ["臺中市", "mental_health_centre"]
    assert cov[["covered", "total", "rate"]].iloc[0].tolist() == figures
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    row = summary["coverage"][0]
    assert row["covered_with_planned"] == 5  # 潭子 (2023-07) and 太平 (end 2023) planned at 2023-01-01
    assert ("潭子區" in row["missing"]) is missing_planned


def test_all_counties_default_registry(tmp_path):
    result = run("report", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    cov = read_csv(tmp_path / "coverage.csv")
    assert cov["county"].nunique() == 22
    assert cov["county"].iloc[0] == "新北市"  # MOI county order
    assert len(cov) == 22 * 4
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["registry"]["rows_read"] == 212 and summary["registry"]["accepted"] == 212
    assert read_csv(tmp_path / "rejected.csv").columns.tolist() == ["file", "row", "field", "value", "reason"]


def test_service_area_definition(tmp_path):
    reg = tmp_path / "reg.csv"
    reg.write_text(
        "category,name,county,township,serves\n"
        "welfare_centre,民雄社福中心,嘉義縣,民雄鄉,新港鄉、溪口鄉\n",
        encoding="utf-8",
    )
    for definition, covered in (("presence", "1"), ("service-area", "3")):
        out = tmp_path / definition
        assert run("report", "-f", str(reg), "--county", "嘉義縣", "--definition", definition,
                   "--out", str(out)).exit_code == 0
        assert read_csv(out / "coverage.csv")["covered"].tolist() == [covered]


def test_validate(tmp_path):
    reg = tmp_path / "reg.csv"
    reg.write_text(
        "類別,名稱,縣市,鄉鎮市區\n小衛星,甲,嘉義縣,竹崎鄉\n,乙,嘉義縣,竹崎鄉\n小衛星,丙,嘉義縣,阿里山\n",
        encoding="utf-8",
    )
    result = run("validate", str(reg))
    assert result.exit_code == 0, result.output
    assert "3 rows read: 1 accepted, 2 rejected" in result.output
    assert "did you mean 嘉義縣阿里山鄉" in result.output.replace("\n", "")
    assert not (tmp_path / "coverage.csv").exists()


def test_validate_a_file_without_a_column(tmp_path):
    """Every row rejected on the same field (here: no 類別 column): one hint naming the field before the rejection
    lines, and every rejection on its own physical line however long (not wrapped at the console width)."""
    reg = tmp_path / "nocat.csv"
    reg.write_text("名稱,縣市,鄉鎮市區\n甲,嘉義縣,竹崎鄉\n乙,嘉義縣,梅山鄉\n丙,嘉義縣,東石鄉\n", encoding="utf-8")
    lines = run("validate", str(reg)).output.splitlines()
    assert lines[0] == "3 rows read: 0 accepted, 3 rejected, 0 mismatched"
    assert lines[1].startswith("nocat.csv: every row (3) was rejected on `category`")
    rows = [line for line in lines if line.startswith("  nocat.csv row ")]
    assert [r.split(",")[0] for r in rows] == [f"  nocat.csv row {i}" for i in (2, 3, 4)]  # physical lines
    assert all(r.endswith("or another service type") for r in rows)
    assert len(lines) == 2 + 1 + 3  # counts, hint, "rejected", one line per row


def test_validate_gives_no_hint_when_some_rows_pass(tmp_path):
    reg = tmp_path / "reg.csv"
    reg.write_text("類別,名稱,縣市,鄉鎮市區\n小衛星,甲,嘉義縣,竹崎鄉\n,乙,嘉義縣,竹崎鄉\n,丙,嘉義縣,梅山鄉\n",
                   encoding="utf-8")
    output = run("validate", str(reg)).output
    assert "1 accepted, 2 rejected" in output and "every row" not in output


def test_input_and_usage_errors(tmp_path):
    result = run("report", "-f", str(tmp_path / "missing.csv"), "--out", str(tmp_path))
    assert result.exit_code == 1
    assert "missing.csv" in result.output
    result = run("report", "--county", "火星縣", "--out", str(tmp_path))
    assert result.exit_code == 2 and "火星縣" in result.output
    result = run("report", "--as-of", "not-a-date", "--out", str(tmp_path))
    assert result.exit_code == 2 and "--as-of" in result.output
    result = run("report", "--definition", "nearby", "--out", str(tmp_path))
    assert result.exit_code == 2 and "presence" in result.output


def test_console_script_exit_codes(tmp_path):
    exe = Path(sys.executable).parent / "safetynet"
    ok = subprocess.run([exe, "report", "--county", "嘉義市", "--out", tmp_path], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([exe, "validate", tmp_path / "nope.csv"], capture_output=True, text=True)
    assert bad.returncode == 1
    assert bad.stderr.strip().count("\n") == 0 and "nope.csv" in bad.stderr
    usage = subprocess.run([exe, "report", "--no-such-option"], capture_output=True, text=True)
    assert usage.returncode == 2


def test_outputs_neutralise_formulas(tmp_path):
    reg = tmp_path / "reg.csv"
    reg.write_text("category,name,county,township\n=1+2,甲,嘉義縣,竹崎鄉\n", encoding="utf-8")
    assert run("report", "-f", str(reg), "--county", "嘉義縣", "--out", str(tmp_path / "o")).exit_code == 0
    text = (tmp_path / "o" / "coverage.csv").read_text(encoding="utf-8-sig")
    assert ",=1+2," not in text
    assert "嘉義縣,'=1+2,1,18,5.6," in text


def test_user_boundaries_option(tmp_path, townships):
    """--boundaries: an MOI-schema shapefile (TWD97 TM2, 台 spellings) gives the same figures."""
    moi = townships.rename(columns={"towncode": "TOWNCODE", "countycode": "COUNTYCODE", "county": "COUNTYNAME",
                                    "township": "TOWNNAME"})[["TOWNCODE", "COUNTYCODE", "COUNTYNAME", "TOWNNAME",
                                                              "geometry"]]
    moi = moi[moi["COUNTYNAME"].isin(["嘉義縣", "嘉義市"])].to_crs("EPSG:3826")
    moi["COUNTYNAME"] = moi["COUNTYNAME"].str.replace("臺", "台")
    shp = tmp_path / "TOWN_MOI_1120825.shp"
    moi.to_file(shp, engine="pyogrio", encoding="utf-8")
    args = ["--boundaries", str(shp), "--county", "嘉義縣", "--category", "小衛星", "--out", str(tmp_path)]
    result = run("report", *args)
    assert result.exit_code == 0, result.output
    cov = read_csv(tmp_path / "coverage.csv")
    assert cov[["covered", "total", "rate", "missing"]].iloc[0].tolist() == ["17", "18", "94.4", "阿里山鄉"]
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["boundaries"].endswith("TOWN_MOI_1120825.shp")
    # coastal computed from the user's own outline: here only two counties, so inland edges become "coast"
    towns = read_csv(tmp_path / "townships.csv")
    assert set(towns.loc[towns["coastal"] == "True", "township"]) >= {"東石鄉", "布袋鎮"}


def test_messy_big5_registry_end_to_end(tmp_path):
    """Big5, 台/臺, full-width spaces, historic names, TWD97, swapped lon/lat, outside Taiwan,
    blank category, duplicate: correct coverage and a complete rejection table."""
    from pyproj import Transformer

    x, y = Transformer.from_crs(4326, 3826, always_xy=True).transform(120.55, 23.52)  # 竹崎鄉
    lines = [
        "類別,名稱,縣市,鄉鎮市區,經度,緯度,X,Y",
        "小衛星,竹崎,嘉義縣,竹崎鄉,120.55,23.52,,",
        f"小衛星,竹崎TWD97,,,,,{x:.1f},{y:.1f}",
        "小衛星,阿里山,嘉義縣,阿里山鄉,23.45,120.80,,",  # swapped
        "小衛星,東石,嘉義縣　,東石鄉 ,,,,",  # full-width and trailing spaces
        "小衛星,板橋,台北縣,板橋市,,,,",  # historic name, 台
        "小衛星,巴黎,,,2.35,48.85,,",  # outside Taiwan
        ",無類別,嘉義縣,布袋鎮,,,,",  # blank category
        "小衛星,竹崎,嘉義縣,竹崎鄉,120.55,23.52,,",  # duplicate of row 2
    ]
    reg = tmp_path / "messy.csv"
    reg.write_bytes(("\n".join(lines) + "\n").encode("cp950"))
    result = run("report", "-f", str(reg), "--county", "嘉義縣", "--county", "新北市", "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    rejected = read_csv(tmp_path / "o" / "rejected.csv")
    summary = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    reg_info = summary["registry"]
    assert reg_info["rows_read"] == 8
    assert reg_info["accepted"] + rejected["row"].nunique() == 8
    # outside Taiwan, blank category, duplicate of row 2
    assert rejected[["row", "field"]].values.tolist() == [["7", "lon"], ["8", "category"], ["9", "row"]]
    assert reg_info["accepted"] == 5
    cov = read_csv(tmp_path / "o" / "coverage.csv").set_index("county")
    # 竹崎 (by lon/lat and by TWD97), 阿里山 (swapped lon/lat), 東石
    assert cov.loc["嘉義縣", ["covered", "total", "rate"]].tolist() == ["3", "18", "16.7"]
    assert cov.loc["新北市", ["covered", "total", "rate", "missing"]].tolist()[:3] == ["1", "29", "3.4"]
    assert "板橋區" not in cov.loc["新北市", "missing"]


# ----------------------------------------------------------------------------- exit codes, every command

_CHIAYI = ["--county", "嘉義縣"]
#: (command line, what the one-line message must contain): each is a usage error, exit 2.
USAGE_ERRORS = {
    "report-county": (["report", "--county", "嘉義", "--no-maps"], ["--county", "嘉義縣"]),
    "report-category": (["report", *_CHIAYI, "--category", "小衛", "--no-maps"], ["--category", "小衛星"]),
    "report-custom-category-absent": (["report", *_CHIAYI, "--category", "少年服務方案", "--no-maps"],
                                      ["--category", "少年服務方案", "welfare_centre"]),
    "report-as-of": (["report", "--as-of", "2023-13-45"], ["--as-of", "2023-13-45"]),
    "report-definition": (["report", "--definition", "nearby"], ["--definition", "presence", "service-area"]),
    "report-age-group": (["report", "--age-group", "kids"], ["--age-group", "children"]),
    "report-xy-datum": (["report", "--xy-datum", "TWD98"], ["--xy-datum", "TWD97"]),
    "report-distance": (["report", "--distance-km", "-1"], ["--distance-km"]),
    "map-county": (["map", "--county", "台終市"], ["--county"]),
    "map-category": (["map", *_CHIAYI, "--category", "心衛"], ["--category", "心衛中心"]),
    "map-as-of": (["map", "--as-of", "112/13/01"], ["--as-of"]),
    "map-definition": (["map", "--definition", "service_area2"], ["--definition", "service-area"]),
    "map-level": (["map", "--level", "county"], ["--level"]),
    "validate-xy-datum": (["validate", "x.csv", "--xy-datum", "WGS"], ["--xy-datum"]),
    "trend-county": (["trend", "--county", "嘉義鄉", "--no-chart"], ["--county", "嘉義縣"]),
    "trend-category": (["trend", *_CHIAYI, "--category", "小衛", "--no-chart"], ["--category", "小衛星"]),
    "trend-from": (["trend", "--from", "abc", "--no-chart"], ["--from", "2019"]),
    "trend-to-before-from": (["trend", "--from", "2025", "--to", "2020", "--no-chart"], ["--to", "before"]),
    "trend-definition": (["trend", "--definition", "near", "--no-chart"], ["--definition"]),
    "trend-age-group": (["trend", "--age-group", "old"], ["--age-group", "elderly"]),
    "targets-as-of": (["targets", "--as-of", "someday"], ["--as-of", "someday"]),
    "targets-xy-datum": (["targets", "--xy-datum", "TWD83"], ["--xy-datum", "TWD67"]),
    "whatif-nothing": (["whatif"], ["nothing to change"]),
    "whatif-add-township": (["whatif", "--add", "嘉義縣阿里山:小衛星"], ["--add", "嘉義縣阿里山鄉"]),
    "whatif-add-category": (["whatif", "--add", "嘉義縣阿里山鄉:小衛"], ["--add", "小衛星"]),
    "whatif-add-format": (["whatif", "--add", "嘉義縣阿里山鄉"], ["--add", "縣市鄉鎮市區:"]),
    "whatif-remove": (["whatif", "--remove", "嘉義縣日安社會福利服務中心"],
                      ["--remove", "did you mean", "日安竹崎社會福利服務中心"]),
    "whatif-county": (["whatif", "--add", "嘉義縣阿里山鄉:小衛星", "--county", "加義縣"], ["--county", "嘉義縣"]),
    "whatif-category": (["whatif", "--add", "嘉義縣阿里山鄉:小衛星", "--category", "社福"], ["--category", "社福中心"]),
    "whatif-as-of": (["whatif", "--add", "嘉義縣阿里山鄉:小衛星", "--as-of", "soon"], ["--as-of"]),
    "whatif-definition": (["whatif", "--add", "嘉義縣阿里山鄉:小衛星", "--definition", "x"], ["--definition"]),
    "whatif-age-group": (["whatif", "--add", "嘉義縣阿里山鄉:小衛星", "--age-group", "x"], ["--age-group"]),
    "site-county": (["site", "--county", "嘉義", "--category", "小衛星", "--no-map"], ["--county", "嘉義縣"]),
    "site-category": (["site", *_CHIAYI, "--category", "小衛", "--no-map"], ["--category", "小衛星"]),
    "site-objective": (["site", *_CHIAYI, "--category", "小衛星", "--objective", "people"], ["--objective"]),
    "site-objective-needs-population": (["site", *_CHIAYI, "--category", "小衛星", "--objective", "population",
                                         "--new", "1"], ["--population"]),
    "site-new": (["site", *_CHIAYI, "--category", "小衛星", "--new", "0"], ["--new"]),
    "site-radius": (["site", *_CHIAYI, "--category", "小衛星", "--radius-km", "0"], ["--radius-km"]),
    "site-as-of": (["site", *_CHIAYI, "--category", "小衛星", "--as-of", "x"], ["--as-of"]),
    "locate-level": (["locate", "p.csv", "--out", "o.parquet", "--level", "town"], ["--level", "township"]),
    "locate-engine": (["locate", "p.csv", "--out", "o.parquet", "--engine", "spark"], ["--engine", "local"]),
    "nearest-category": (["nearest", "p.csv", "--out", "o.parquet", "--category", "小衛"], ["--category", "小衛星"]),
    "nearest-as-of": (["nearest", "p.csv", "--out", "o.parquet", "--as-of", "x"], ["--as-of"]),
    "nearest-engine": (["nearest", "p.csv", "--out", "o.parquet", "--engine", "dask2"], ["--engine", "dask"]),
}


def _one_line_error(result) -> str:
    """The message of a failed command: one line on stderr, starting with error:, no traceback."""
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize("case", sorted(USAGE_ERRORS))
def test_usage_errors_exit_2_with_a_suggestion(tmp_path, monkeypatch, case):
    """Issue 13 item 10: an option value that means nothing exits 2, on one line, with the closest values."""
    monkeypatch.chdir(tmp_path)
    args, expected = USAGE_ERRORS[case]
    if args[0] not in ("whatif", "validate", "locate", "nearest"):
        args = [*args, "--out", str(tmp_path / "o")]
    result = runner.invoke(app, args)
    if case == "map-level":  # click's own choice check: its usage message, still exit 2
        assert result.exit_code == 2 and "--level" in result.output
        return
    assert result.exit_code == 2, result.output
    message = _one_line_error(result)
    for text in expected:
        assert text in message, message
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())  # nothing written


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad")
    files = {
        "registry": d / "清冊.xlsx",  # not a zip: a broken workbook
        "csv": d / "壞.csv",
        "population": d / "人口.csv",
        "targets": d / "目標.csv",
        "scenario": d / "情境.csv",
        "scenario_category": d / "情境類別.csv",
        "scenario_remove": d / "情境移除.csv",
        "points": d / "點位.csv",
        "boundaries": d / "界線.shp",
    }
    files["registry"].write_bytes(b"PK\x03\x04 this is not a workbook")
    files["csv"].write_bytes(b"\xff\xfe\x00garbage\x00\x00")
    files["population"].write_text("甲,乙\n1,2\n", encoding="utf-8")
    files["targets"].write_text("甲,乙\n1,2\n", encoding="utf-8")
    files["scenario"].write_text("甲,乙\n1,2\n", encoding="utf-8")
    # a near-miss programme in a scenario must not become a custom programme of its own
    files["scenario_category"].write_text("action,target\nadd,嘉義縣阿里山鄉:小衛\n", encoding="utf-8")
    files["scenario_remove"].write_text("action,target\nremove,不存在的中心\n", encoding="utf-8")
    files["points"].write_text("甲,乙\n1,2\n", encoding="utf-8")
    files["boundaries"].write_bytes(b"\x00\x00\x27\x0a not a shapefile")
    files["missing"] = d / "不存在.csv"
    return files


#: (command line with {file} placeholders, the file the message must name): each is an input error, exit 1.
INPUT_ERRORS = {
    "report-registry": (["report", "-f", "{registry}", "--no-maps"], "registry"),
    "report-missing": (["report", "-f", "{missing}", "--no-maps"], "missing"),
    "report-population": (["report", *_CHIAYI, "--population", "{population}", "--no-maps"], "population"),
    "report-boundaries": (["report", "--boundaries", "{boundaries}", "--no-maps"], "boundaries"),
    "map-registry": (["map", "-f", "{csv}"], "csv"),
    "validate-registry": (["validate", "{registry}"], "registry"),
    "validate-missing": (["validate", "{missing}"], "missing"),
    "trend-registry": (["trend", "-f", "{registry}", "--no-chart"], "registry"),
    "trend-population": (["trend", *_CHIAYI, "--population", "{population}", "--no-chart"], "population"),
    "targets-targets": (["targets", "--targets", "{targets}"], "targets"),
    "targets-missing": (["targets", "--targets", "{missing}"], "missing"),
    "whatif-registry": (["whatif", "-f", "{csv}", "--add", "嘉義縣阿里山鄉:小衛星"], "csv"),
    "whatif-scenario": (["whatif", "--scenario", "{scenario}"], "scenario"),
    "whatif-scenario-category": (["whatif", "--scenario", "{scenario_category}"], "scenario_category"),
    "whatif-scenario-remove": (["whatif", "--scenario", "{scenario_remove}"], "scenario_remove"),
    "whatif-population": (["whatif", "--add", "嘉義縣阿里山鄉:小衛星", "--population", "{population}"], "population"),
    "site-candidates": (["site", *_CHIAYI, "--category", "小衛星", "--candidates", "{missing}", "--no-map"], "missing"),
    "site-registry": (["site", *_CHIAYI, "--category", "小衛星", "-f", "{registry}", "--no-map"], "registry"),
    "site-population": (["site", *_CHIAYI, "--category", "小衛星", "--population", "{population}", "--no-map"],
                        "population"),
    "locate-points": (["locate", "{points}", "--out", "o.parquet"], "points"),
    "locate-missing": (["locate", "{missing}", "--out", "o.parquet"], "missing"),
    "nearest-points": (["nearest", "{points}", "--out", "o.parquet"], "points"),
    "nearest-registry": (["nearest", "{points}", "-f", "{registry}", "--out", "o.parquet"], "registry"),
}


@pytest.mark.parametrize("case", sorted(INPUT_ERRORS))
def test_input_errors_exit_1_naming_the_file(tmp_path, monkeypatch, bad_files, case):
    """Issue 13 item 10: a file that cannot be used exits 1 with one line naming it, never a traceback."""
    monkeypatch.chdir(tmp_path)
    args, named = INPUT_ERRORS[case]
    args = [a.format(**{k: str(v) for k, v in bad_files.items()}) for a in args]
    if args[0] not in ("whatif", "validate", "locate", "nearest"):
        args = [*args, "--out", str(tmp_path / "o")]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert bad_files[named].name in _one_line_error(result)


def test_custom_programme_works_as_category(tmp_path):
    """A custom programme the registry has (少年服務方案) is a valid --category and --add programme."""
    reg = tmp_path / "reg.csv"
    reg.write_text("category,name,county,township\n少年服務方案,甲,嘉義縣,竹崎鄉\n小衛星,乙,嘉義縣,民雄鄉\n",
                   encoding="utf-8")
    result = run("report", "-f", str(reg), *_CHIAYI, "--category", "少年服務方案", "--no-maps", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    cov = read_csv(tmp_path / "coverage.csv")
    assert cov[["category", "covered", "total"]].values.tolist() == [["少年服務方案", "1", "18"]]
    result = run("whatif", "-f", str(reg), *_CHIAYI, "--category", "少年服務方案",
                 "--add", "嘉義縣阿里山鄉:少年服務方案")
    assert result.exit_code == 0, result.output
    assert "1/18 → 2/18" in result.output
    result = runner.invoke(app, ["report", "-f", str(reg), *_CHIAYI, "--category", "少年服務方", "--no-maps",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 2 and "did you mean 少年服務方案?" in _one_line_error(result)


def test_category_spellings_are_one_programme(tmp_path):
    """--category in any common spelling counts the same 17 of 18 (today `小衛` would report 0/18)."""
    for spelling in ("小衛星", "community_support_point", " 兒少及家庭社區支持服務據點 "):
        out = tmp_path / spelling.strip()
        result = run("report", *_CHIAYI, "--category", spelling, "--no-maps", "--out", str(out))
        assert result.exit_code == 0, result.output
        assert read_csv(out / "coverage.csv")[["covered", "total"]].values.tolist() == [["17", "18"]]


def test_unexpected_error_is_one_line_not_a_traceback(monkeypatch, capsys):
    """A defect inside a command still ends in one line and exit 1 from the console entry point."""
    import coverage
    from coverage.cli import main

    def broken(*args, **kwargs):
        raise KeyError("towncode")

    monkeypatch.setattr(coverage, "run_coverage", broken)  # the CLI calls the public coverage.run_coverage
    monkeypatch.setattr(sys, "argv", ["safetynet", "report", "--no-maps"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1
    assert err.startswith("error: unexpected KeyError") and "-vv" in err


def test_python_dash_m_has_every_command():
    """`python -m coverage.cli` registers the planning and data commands too."""
    out = subprocess.run([sys.executable, "-m", "coverage.cli", "--help"], capture_output=True, text=True,
                         env={**__import__("os").environ, "COLUMNS": "120"})
    assert out.returncode == 0, out.stderr
    for command in ("report", "map", "validate", "trend", "targets", "whatif", "site", "locate", "nearest"):
        assert command in out.stdout


# ----------------------------------------------------------------------------- the package's shape

PACKAGE = Path(__file__).resolve().parents[1] / "coverage"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Modules of the coverage package that ``path`` imports, at module level or inside a function."""
    import ast

    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "coverage")
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            if target.split(".")[0] != "coverage":
                continue
            for alias in node.names:  # `from . import progress` imports the module coverage.cli.progress
                sub = f"{target}.{alias.name}"
                found.add(sub if (PACKAGE.parent / (sub.replace(".", "/") + ".py")).exists() else target)
    return found - {name}


def test_no_import_circle_through_the_cli():
    """No module of coverage.cli reaches itself again by imports (module- or function-level), and the
    library never imports the command line."""
    graph = {_module_name(p): _imports(p) for p in PACKAGE.rglob("*.py")}
    cli = sorted(m for m in graph if m == "coverage.cli" or m.startswith("coverage.cli."))
    assert len(cli) >= 9
    for start in cli:
        seen, todo = set(), list(graph[start])
        while todo:
            module = todo.pop()
            assert module != start, f"{start} imports itself back"
            if module not in seen:
                seen.add(module)
                todo.extend(graph.get(module, ()))
    library = [m for m in graph if m not in cli]
    assert not [m for m in library if any(i.startswith("coverage.cli") for i in graph[m])]


def test_no_private_name_imported_across_cli_modules():
    import ast

    for path in (PACKAGE / "cli").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("coverage")):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports {private} from {node.module}"


def test_no_cli_function_over_100_lines():
    import ast

    for path in (PACKAGE / "cli").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef):
                assert node.end_lineno - node.lineno < 100, f"{path.name}: {node.name}"


def test_help_imports_typer_and_rich_only():
    """`safetynet --help` (and a command's --help) loads no part of the library but its errors, and no
    pandas, numpy, geopandas, shapely …: the start-up stays at typer's own cost."""
    code = (
        "import sys\n"
        "from coverage.cli import main\n"
        "for args in (['--help'], ['report', '--help'], ['site', '--help'], []):\n"
        "    sys.argv = ['safetynet', *args]\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent)
    assert out.returncode == 0, out.stderr
    loaded = set(out.stderr.split())
    assert "report" in out.stdout and "typer" in loaded and "rich" in loaded
    heavy = {"pandas", "numpy", "geopandas", "shapely", "pyproj", "pyogrio", "scipy", "matplotlib", "folium",
             "rasterio", "openpyxl", "highspy", "pyarrow"}
    assert not heavy & loaded, sorted(heavy & loaded)
    ours = {m for m in loaded if m.split(".")[0] == "coverage"}
    assert {m for m in ours if not m.startswith("coverage.cli")} <= {"coverage", "coverage.errors"}


# ----------------------------------------------------------------------------- --network: minutes by road


@pytest.fixture(scope="module")
def miaoli_network(shared_data, tmp_path_factory):
    """`report --network --population --xlsx --gpkg` on 苗栗縣's 社福中心, twice (the second from the graph cache)."""
    import os

    out = tmp_path_factory.mktemp("miaoli_network")
    args = ["report", "--county", "苗栗縣", "--category", "社福中心", "--no-maps", "--as-of", "2025-01-01",
            "--population", str(shared_data / "population" / "village_population_agegroups_2021-03.csv"),
            "--network", str(shared_data / "roads" / "Miaoli_Road_Network.shp"), "--within-min", "20",
            "--catchment-min", "25", "--xlsx", "--gpkg", "--out", str(out)]
    before = os.environ.get("SAFETYNET_CACHE")
    os.environ["SAFETYNET_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    try:
        first, second = run(*args), run(*args)
    finally:
        if before is None:
            os.environ.pop("SAFETYNET_CACHE")
        else:
            os.environ["SAFETYNET_CACHE"] = before
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    return out, first.output, second.output


def test_report_network_prints_minutes_and_cache(miaoli_network):
    out, first, second = miaoli_network
    first, second = "".join(first.split()), "".join(second.split())  # the terminal wraps long lines
    assert "roadnetwork:Miaoli_Road_Network.shp" in first and "graphbuilt" in first
    assert "graphfromthecache" in second and "graphfromthecache" not in first
    assert "≤20min" in first and "20minutesbyroad" in first and "catchment25min" in first
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["travel"]["graph_from_cache"] is True  # the second run wrote this folder
    assert (summary["travel"]["within_min"], summary["travel"]["catchment_min"]) == (20.0, 25.0)


def test_report_network_outputs(miaoli_network):
    import openpyxl
    import pyogrio

    out, _, _ = miaoli_network
    villages = read_csv(out / "villages.csv")
    reached = villages[villages["nearest_min"] != ""]
    assert len(reached) >= len(villages) - 2
    assert (reached["within_min"] == (reached["nearest_min"].astype(float) <= 20).astype(str)).all()
    assert (villages.loc[villages["nearest_min"] == "", "travel_reason"] != "").all()  # never 0, a reason instead
    towns = read_csv(out / "townships.csv")
    cols = list(towns.columns)
    assert cols.index("max_km") + 1 == cols.index("mean_min")  # beside mean_km / max_km
    wb = openpyxl.load_workbook(out / "coverage.xlsx", read_only=True)
    assert "道路時間" in wb.sheetnames
    heads = [c.value for c in next(wb["鄉鎮明細"].iter_rows(min_row=2, max_row=2))]
    assert {"mean_min", "max_min", "population_within_min"} <= set(heads)
    sources = [r[1] for r in wb["資料來源"].iter_rows(min_row=3, values_only=True)]
    assert any(isinstance(s, str) and s.startswith("Miaoli_Road_Network.shp") for s in sources)
    wb.close()
    layer = pyogrio.read_dataframe(out / "coverage.gpkg", layer="villages", read_geometry=False)
    assert {"welfare_centre_nearest_min", "welfare_centre_network_km"} <= set(layer.columns)
    towns_layer = pyogrio.read_dataframe(out / "coverage.gpkg", layer="townships", read_geometry=False)
    assert "welfare_centre_mean_min" in towns_layer.columns


def test_map_takes_the_network(shared_data, tmp_path):
    result = run("map", "--county", "苗栗縣", "--category", "社福中心", "--network",
                 str(shared_data / "roads" / "Miaoli_Road_Network.shp"), "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["command"]["options"]["network"].endswith("Miaoli_Road_Network.shp")


@pytest.mark.parametrize("flag", ["--within-min", "--catchment-min"])
def test_minute_flags_must_be_positive(flag, tmp_path):
    result = runner.invoke(app, ["report", "--county", "嘉義縣", "--no-maps", flag, "0", "--out", str(tmp_path)])
    assert result.exit_code == 2 and flag in result.output
