"""Privacy of outputs: small caseloads suppressed everywhere, personal columns never written unless public."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
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
    with pytest.raises(InputError, match="suppress_below="):
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

    from coverage.maps import map_payload
    from coverage.pipeline import run_coverage

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


# ----------------------------------------------------------------------------- shifted rows: nothing echoed
# A row with fewer or more cells than the header may have its values shifted: a contact's name in the name or
# date column. Such a row is rejected whole, one line, no value; its personal values reach no output.

SHIFT_HEADER = ["聯絡人", "類別", "名稱", "電話", "鄉鎮市區", "地址", "啟用日期", "結束日期", "個案數", "經度", "緯度",
                "備註", "email"]
_GIVEN = ("甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥金木水火土"
          "天地玄黃宇宙洪荒日月盈昃辰宿列張寒來暑往秋收冬藏閏餘成歲")


def _person(i: int) -> dict[str, str]:
    """Personal values no output could contain by chance (unique per row)."""
    return {"聯絡人": f"游{_GIVEN[i]}萍", "電話": f"0977-{i:03d}-{i:03d}", "email": f"shift{i:03d}@example.org"}


def _shift_row(i: int, township: str = "竹崎鄉") -> list[str]:
    values = {"類別": "小衛星", "名稱": f"據點{i}", "鄉鎮市區": township, "地址": "", "啟用日期": "2023-07-01",
              "結束日期": "", "個案數": str(7000 + i), "經度": "", "緯度": "", "備註": "週三休", **_person(i)}
    return [values[h] for h in SHIFT_HEADER]


def shifted_rows() -> tuple[list[list[str]], list[list[str]]]:
    """(good rows, shifted rows): k cells inserted or deleted at the start (names, phones and e-mails land in
    every column, and beyond), and one cell inserted or deleted at every position."""
    good = [_shift_row(i, t) for i, t in enumerate(["竹崎鄉", "番路鄉", "中埔鄉"])]
    shifted, i = [], len(good)
    width = len(SHIFT_HEADER)
    for k in range(1, width):
        shifted.append([""] * k + _shift_row(i))  # contact → column k, phone → 3 + k, e-mail beyond the header
        shifted.append(_shift_row(i + 1)[k:])  # e-mail → column 12 − k, phone → 3 − k
        i += 2
    for j in range(width):
        r = _shift_row(i)
        shifted.append([*r[:j], "", *r[j:]])
        shifted.append(r[:j] + r[j + 1:] if j < width - 1 else r[:-2] + r[-1:])
        i += 1
    return good, shifted


def _shift_personal(n: int) -> list[str]:
    return [v for i in range(n) for v in _person(i).values()]


@pytest.fixture(scope="module")
def shifted_file(tmp_path_factory) -> Path:
    import csv

    good, shifted = shifted_rows()
    path = tmp_path_factory.mktemp("shift") / "shifted.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([SHIFT_HEADER, *good, *shifted])
    return path


def test_shifted_rows_are_rejected_whole_without_values(shifted_file):
    _, shifted = shifted_rows()
    reg = read_facilities(shifted_file)
    assert reg.facilities["row"].tolist() == [2, 3, 4]
    assert reg.rejected["row"].tolist() == list(range(5, 5 + len(shifted)))  # one line per shifted row
    assert set(reg.rejected["field"]) == {"row"} and set(reg.rejected["value"]) == {"(withheld)"}
    assert reg.rejected["reason"].str.contains(r"cells, (?:more|fewer) than the header.s 13").all()
    assert (reg.rows_read, reg.accepted, reg.rejected_rows) == (3 + len(shifted), 3, len(shifted))
    text = reg.rejected.to_csv() + reg.facilities.drop(columns="geometry").to_csv() + reg.mismatches.to_csv()
    personal = _shift_personal(3 + len(shifted))
    assert [w for w in personal if w in text] == []
    assert not [c for c in (str(7000 + i) for i in range(3, 3 + len(shifted))) if c in reg.rejected.to_csv()]


def test_shifted_personal_values_reach_no_written_file(shifted_file, tmp_path):
    """report --xlsx: every CSV, JSON, HTML and every XML part of the workbook (剔除 sheet included)."""
    out = _report(shifted_file, tmp_path / "out")
    texts = _all_text(out)
    assert {"rejected.csv", "summary.json", "coverage.xlsx"} <= set(texts)
    assert "(withheld)" in texts["rejected.csv"] and "(withheld)" in texts["coverage.xlsx"]
    _, shifted = shifted_rows()
    personal = _shift_personal(3 + len(shifted))
    leaks = [(name, word) for name, text in texts.items() for word in personal if word in text]
    assert leaks == []
    summary = json.loads(texts["summary.json"])["registry"]
    assert (summary["rows_read"], summary["accepted"], summary["rejected_rows"]) == (3 + len(shifted), 3, len(shifted))
    r = runner.invoke(app, ["validate", str(shifted_file)])
    assert r.exit_code == 0, r.output
    assert [w for w in personal if w in r.output] == []


def test_bad_caseload_is_rejected_without_its_value(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("類別,名稱,鄉鎮市區,個案數\n小衛星,甲,嘉義縣竹崎鄉,王小明3人\n小衛星,乙,嘉義縣番路鄉,-17\n",
                    encoding="utf-8")
    reg = read_facilities(path)
    assert reg.rejected[["row", "field", "value"]].values.tolist() == [[2, "cases", "(withheld)"],
                                                                      [3, "cases", "(withheld)"]]
    assert not reg.rejected["reason"].str.contains("王小明|17").any()


def test_xlsx_cells_beyond_the_header_are_withheld(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    for r in (["類別", "名稱", "鄉鎮市區", "聯絡人"], ["小衛星", "甲", "竹崎鄉", "王小明"],
              ["小衛星", "乙", "番路鄉", "陳美麗", "0912-345-678"]):
        book.active.append(r)
    book.save(tmp_path / "r.xlsx")
    reg = read_facilities(tmp_path / "r.xlsx")
    assert reg.rejected[["row", "field", "value"]].values.tolist() == [[3, "row", "(withheld)"]]
    text = reg.rejected.to_csv() + reg.facilities.drop(columns="geometry").to_csv()
    assert not [w for w in ("王小明", "陳美麗", "0912-345-678") if w in text]


def test_any_shift_of_any_header_order_echoes_nothing():
    """Whatever the column order and wherever cells go missing or appear, personal values are not echoed.

    The property runs inside this test so that the count of examples that reached the asserts is checked.
    """
    import csv
    import tempfile

    reached: dict[str, int] = {}

    @settings(max_examples=60, deadline=None)
    @given(order=st.permutations(SHIFT_HEADER), op=st.sampled_from(["insert", "delete"]), k=st.integers(1, 4),
           at=st.integers(0, len(SHIFT_HEADER) - 1))
    def shifted_row_is_withheld(order, op, k, at):
        good = dict(zip(SHIFT_HEADER, _shift_row(0), strict=True))
        bad = dict(zip(SHIFT_HEADER, _shift_row(1), strict=True))
        cells = [bad[h] for h in order]
        cells = [*cells[:at], *[""] * k, *cells[at:]] if op == "insert" else cells[:at] + cells[at + k:]
        event(f"{op}, {'non-blank' if any(cells[len(order):]) else 'blank'} cells beyond the header")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "s.csv"
            with open(path, "w", encoding="utf-8", newline="") as fh:
                csv.writer(fh).writerows([order, [good[h] for h in order], cells])
            reg = read_facilities(path)
        assert (reg.rows_read, reg.accepted, reg.rejected_rows) == (2, 1, 1)
        assert reg.rejected[["row", "field", "value"]].values.tolist() == [[3, "row", "(withheld)"]]
        text = reg.rejected.to_csv() + reg.facilities.drop(columns="geometry").to_csv()
        assert [w for w in [*_person(0).values(), *_person(1).values()] if w in text] == []
        assert bad["個案數"] not in reg.rejected.to_csv()
        reached[op] = reached.get(op, 0) + 1

    shifted_row_is_withheld()
    assert reached.get("insert", 0) > 0 and reached.get("delete", 0) > 0, reached
