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
    assert list(cov.columns) == ["county", "category", "covered", "total", "rate", "missing"]
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


def test_input_errors_exit_1(tmp_path):
    result = run("report", "-f", str(tmp_path / "missing.csv"), "--out", str(tmp_path))
    assert result.exit_code == 1
    assert "missing.csv" in result.output
    result = run("report", "--county", "火星縣", "--out", str(tmp_path))
    assert result.exit_code == 1 and "火星縣" in result.output
    result = run("report", "--as-of", "not-a-date", "--out", str(tmp_path))
    assert result.exit_code == 1 and "--as-of" in result.output
    result = run("report", "--definition", "nearby", "--out", str(tmp_path))
    assert result.exit_code == 1 and "presence" in result.output


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
