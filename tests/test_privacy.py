"""Privacy of outputs: small caseloads suppressed everywhere, personal columns never written unless public."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from coverage.cli import app
from coverage.errors import InputError
from coverage.facilities import read_facilities
from coverage.privacy import check_threshold, is_personal_column, personal_columns, suppress_counts, suppress_value

runner = CliRunner()

# 嘉義縣 community support points with caseloads and the people behind them.
HEADER = "類別,名稱,鄉鎮市區,個案數,聯絡人,電話,email,承辦社工,備註"
ROWS = [
    "小衛星,竹崎據點,嘉義縣竹崎鄉,2,王小明,0912-345-678,wang@example.org,李阿芳,週三休",
    "小衛星,番路據點,嘉義縣番路鄉,5,陳美麗,05-2591234,chen@example.org,李阿芳,",
    "小衛星,中埔甲據點,嘉義縣中埔鄉,1,林志強,,,李阿芳,",
    "小衛星,中埔乙據點,嘉義縣中埔鄉,1,林志強,,,李阿芳,",  # township total 2 → <3
    "小衛星,大林甲據點,嘉義縣大林鎮,1,黃淑惠,,,,",
    "小衛星,大林乙據點,嘉義縣大林鎮,2,黃淑惠,,,,",  # township total 3 → shown
    "小衛星,民雄據點,嘉義縣民雄鄉,0,,,,,",
    "小衛星,水上據點,嘉義縣水上鄉,,,,,,",  # no caseload reported
    "小衛星,太保據點,嘉義縣太保市,3,張志明,0933-111-222,,,多出來的,一格",  # malformed: 2 cells too many
]
PERSONAL = ["王小明", "陳美麗", "林志強", "黃淑惠", "張志明", "李阿芳", "0912-345-678", "05-2591234", "0933-111-222",
            "wang@example.org", "chen@example.org"]
EXPECTED_CASES = {"竹崎鄉": "<3", "番路鄉": "5", "中埔鄉": "<3", "大林鎮": "3", "民雄鄉": "0", "水上鄉": "",
                  "太保市": "", "阿里山鄉": ""}


@pytest.fixture(scope="module")
def registry_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("reg") / "chiayi_cases.csv"
    path.write_text(HEADER + "\n" + "\n".join(ROWS) + "\n", encoding="utf-8")
    return path


def _report(registry_file: Path, out: Path, *extra: str) -> Path:
    result = runner.invoke(app, ["report", "-f", str(registry_file), "--county", "嘉義縣", "--as-of", "2024-01-01",
                                 "--xlsx", "--out", str(out), *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def _all_text(out: Path) -> dict[str, str]:
    """Every written file as text (XLSX: every XML part), by relative name."""
    texts = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                texts[path.name] = "".join(z.read(n).decode("utf-8") for n in z.namelist())
        else:
            texts[str(path.relative_to(out))] = path.read_bytes().decode("utf-8", errors="replace")
    return texts


@pytest.fixture(scope="module")
def private_run(registry_file, tmp_path_factory) -> Path:
    return _report(registry_file, tmp_path_factory.mktemp("private"))


@pytest.fixture(scope="module")
def public_run(registry_file, tmp_path_factory) -> Path:
    return _report(registry_file, tmp_path_factory.mktemp("public"), "--public-column", "聯絡人")


# ----------------------------------------------------------------------------- the rules


@pytest.mark.parametrize(("value", "threshold", "expected"), [
    (0, 3, 0), (1, 3, "<3"), (2, 3, "<3"), (2.0, 3, "<3"), (3, 3, 3), (250, 3, 250), (None, 3, None),
    (float("nan"), 3, None), (4, 5, "<5"), (1, 1, 1), (1, 0, 1), (2, 2, 2), (1, 2, "<2"),
])
def test_suppress_value(value, threshold, expected):
    assert suppress_value(value, threshold) == expected


def test_suppress_counts_only_touches_caseloads():
    frame = pd.DataFrame({"facilities": [1, 2], "cases": [1.0, 7.0], "population": [2, 2]})
    out = suppress_counts(frame)
    assert out["cases"].tolist() == ["<3", 7] and out["facilities"].tolist() == [1, 2]
    assert out["population"].tolist() == [2, 2]  # whole-village population counts are public statistics
    assert frame["cases"].tolist() == [1.0, 7.0]  # input untouched
    with pytest.raises(InputError, match="suppress-below"):
        check_threshold(-1)


@pytest.mark.parametrize(("header", "personal"), [
    ("聯絡人", True), ("負責人", True), ("承辦人", True), ("社工", True), ("個案姓名", True), ("contact", True),
    ("contact_person", True), ("Name of person", True), ("電話", True), ("Phone", True), ("E-mail", True),
    ("TEL", True), ("手機號碼", True), ("備註", False), ("營業時間", False), ("承辦單位", False), ("hotel", False),
])
def test_personal_columns(header, personal):
    assert is_personal_column(header) is personal


def test_public_marks_match_loosely():
    assert personal_columns(["聯絡人", "電話", "備註"], public=[" 聯絡人 "]) == ["電話"]
    assert personal_columns(["Contact_Person"], public=["contact person"]) == []


def test_reader_keeps_cases_and_drops_personal_columns(registry_file):
    reg = read_facilities(registry_file)
    f = reg.facilities.set_index("name")
    assert f.loc["竹崎據點", "cases"] == 2 and pd.isna(f.loc["水上據點", "cases"])
    assert reg.withheld_columns == ("聯絡人", "電話", "email", "承辦社工")
    assert not set(reg.withheld_columns) & set(reg.facilities.columns) and "備註" in reg.facilities
    # the malformed row: rejected once, its shifted cells not shown
    bad = reg.rejected[reg.rejected["row"] == 10]
    assert bad[["field", "value"]].values.tolist() == [["row", "(withheld)"]]
    assert "personal columns" in bad["reason"].item() and "張志明" not in bad["reason"].item()
    assert reg.rows_read == len(reg.facilities) + reg.rejected["row"].nunique()
    public = read_facilities(registry_file, public_columns=["聯絡人"])
    assert public.public_columns == ("聯絡人",)
    assert public.facilities.set_index("name").loc["竹崎據點", "聯絡人"] == "王小明"
    assert "聯絡人" not in public.withheld_columns


@pytest.mark.parametrize("alias", ["cases", "個案數", "服務人數", "案量", "Caseload"])
def test_cases_aliases_and_bad_values(tmp_path, alias):
    path = tmp_path / "r.csv"
    path.write_text(f"類別,名稱,鄉鎮市區,{alias}\n小衛星,甲,嘉義縣竹崎鄉,\"1,204人\"\n小衛星,乙,嘉義縣番路鄉,-2\n"
                    "小衛星,丙,嘉義縣中埔鄉,2.5\n小衛星,丁,嘉義縣大林鎮,12.0\n", encoding="utf-8")
    reg = read_facilities(path)
    assert dict(zip(reg.facilities["name"], reg.facilities["cases"], strict=True)) == {"甲": 1204, "丁": 12}
    assert reg.rejected[["row", "field"]].values.tolist() == [[3, "cases"], [4, "cases"]]
    assert reg.rejected["reason"].str.contains("whole number").all()


# ----------------------------------------------------------------------------- every output


def test_caseloads_suppressed_in_csv_json_and_xlsx(private_run):
    towns = pd.read_csv(private_run / "townships.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    got = towns.set_index("township")["cases"].to_dict()
    assert {t: got[t] for t in EXPECTED_CASES} == EXPECTED_CASES
    assert set(got.values()) <= {"", "0", "<3", "3", "5"}  # never a raw 1 or 2

    import openpyxl

    book = openpyxl.load_workbook(private_run / "coverage.xlsx", read_only=True)
    try:
        rows = list(book["鄉鎮明細"].iter_rows(values_only=True))
    finally:
        book.close()  # read-only workbooks keep the file open until closed
    keys = list(rows[1])
    xlsx = {r[keys.index("township")]: r[keys.index("cases")] for r in rows[2:]}
    assert {t: xlsx[t] for t in ("竹崎鄉", "中埔鄉", "大林鎮", "番路鄉", "民雄鄉")} == {
        "竹崎鄉": "<3", "中埔鄉": "<3", "大林鎮": 3, "番路鄉": 5, "民雄鄉": 0}
    assert not [v for v in xlsx.values() if v in (1, 2)]

    summary = json.loads((private_run / "summary.json").read_text(encoding="utf-8"))
    assert summary["suppress_below"] == 3
    assert summary["registry"]["withheld_columns"] == ["聯絡人", "電話", "email", "承辦社工"]


def test_threshold_is_configurable(registry_file, tmp_path):
    out = _report(registry_file, tmp_path / "six", "--suppress-below", "6", "--no-maps")
    towns = pd.read_csv(out / "townships.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    got = towns.set_index("township")["cases"]
    assert (got["番路鄉"], got["大林鎮"], got["竹崎鄉"], got["民雄鄉"]) == ("<6", "<6", "<6", "0")
    out = _report(registry_file, tmp_path / "off", "--suppress-below", "0", "--no-maps")
    towns = pd.read_csv(out / "townships.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert towns.set_index("township").loc["竹崎鄉", "cases"] == "2"
    result = runner.invoke(app, ["report", "-f", str(registry_file), "--suppress-below", "-1"])
    assert result.exit_code == 2


def test_personal_data_never_written(private_run):
    texts = _all_text(private_run)
    assert {"coverage.csv", "townships.csv", "rejected.csv", "summary.json", "coverage.xlsx", "嘉義縣.html",
            "index.html"} <= set(texts)
    leaks = [(name, word) for name, text in texts.items() for word in PERSONAL if word in text]
    assert leaks == []
    assert "竹崎據點" in texts["嘉義縣.html"]  # the facilities themselves are on the map


def test_public_column_is_shown_and_only_it(public_run):
    texts = _all_text(public_run)
    assert "王小明" in texts["嘉義縣.html"]  # in the popup of 竹崎據點
    others = [w for w in PERSONAL if w not in ("王小明", "陳美麗", "林志強", "黃淑惠")]
    leaks = [(name, word) for name, text in texts.items() for word in others if word in text]
    assert leaks == []  # phone, e-mail, the social worker and the malformed row stay out
    summary = json.loads((public_run / "summary.json").read_text(encoding="utf-8"))
    assert summary["registry"]["public_columns"] == ["聯絡人"]


def test_map_tooltips_suppress_caseloads(registry_file, private_run):
    import re

    from coverage.analysis import run_coverage
    from coverage.mapdata import map_payload

    report = run_coverage([registry_file], counties=["嘉義縣"], as_of="2024-01-01")
    tips = {t["c"]: t["t"] for t in map_payload(report, "嘉義縣")["towns"]}
    assert "個案 &lt;3" in tips["10010140"] and "個案 &lt;3" in tips["10010130"]  # 竹崎鄉 2, 中埔鄉 1+1
    assert "個案 5" in tips["10010160"] and "個案 3" in tips["10010040"]  # 番路鄉, 大林鎮
    assert not [t for t in tips.values() if re.search(r"個案 [12]\D", t)]
    assert "個案" not in tips["10010180"]  # 阿里山鄉: no facility, no caseload
    html = (private_run / "嘉義縣.html").read_text(encoding="utf-8")
    assert "個案 &lt;3" in html and not re.search(r"個案 [12][^0-9]", html)
    popups = " ".join(f["p"] for f in map_payload(report, "嘉義縣")["fac"])
    assert "個案" not in popups  # facility caseloads are never shown, only township totals


def test_map_command_has_the_same_privacy_options(registry_file, tmp_path):
    """`safetynet map` withholds personal columns by default and honours --public-column/--suppress-below."""
    out = tmp_path / "maps"
    args = ["map", "-f", str(registry_file), "--county", "嘉義縣", "--as-of", "2024-01-01", "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    page = (out / "嘉義縣.html").read_text(encoding="utf-8")
    assert not [w for w in PERSONAL if w in page]
    r = runner.invoke(app, [*args, "--public-column", "聯絡人", "--suppress-below", "6"])
    assert r.exit_code == 0, r.output
    page = (out / "嘉義縣.html").read_text(encoding="utf-8")
    assert "王小明" in page and "0912-345-678" not in page
    assert "個案 &lt;6" in page and "個案 5" not in page  # 番路鄉's 5 is now below the threshold


def test_validate_names_the_withheld_columns(registry_file):
    r = runner.invoke(app, ["validate", str(registry_file)])
    assert r.exit_code == 0, r.output
    text = "".join(r.output.splitlines())  # the console may wrap the line
    line = text[text.index("withheld"):]
    for column in ("聯絡人", "電話", "email", "承辦社工"):
        assert column in line
    assert "王小明" not in r.output  # the values themselves are not shown
