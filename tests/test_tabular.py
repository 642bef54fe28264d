"""Tests of coverage.tabular (with coverage.columns), coverage.csvtext and coverage.xlsxread.

The quote-free column reader (coverage.plaincsv) is tested in test_plaincsv.py.

Real-world and hostile files.

Issue 13 items 1–3 for file reading: nothing read is lost (quote damage, every sheet and layer,
same-named files), memory follows the real content (XFD1048576, shared-strings bombs, a
1,000,000-comma row), and every malformed structure is one line naming the file.

Every fixture is written by the test into ``tmp_path``. Workbooks are real XLSX zips whose XML
parts are written here by hand (:func:`write_xlsx`), so a test can break exactly one part.
Memory and time of the bombs are measured by ``benchmarks/hostile.py``, not asserted here; the
file-size and row limits and the memory of a large registry are measured in a child process.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path
from xml.sax.saxutils import escape

import geopandas as gpd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, Polygon

from coverage.csvtext import csv_records, iter_csv_rows
from coverage.errors import UnreadableFileError
from coverage.facilities import Registry, read_facilities
from coverage.rejections import rejected_rows
from coverage.tabular import EXTRA_CELLS, PART, ROW_PROBLEM, file_labels, read_table
from coverage.xlsxread import open_workbook, sheet_rows

ZHUQI, ALISHAN = "10010140", "10010180"
HEADER = ["類別", "名稱", "鄉鎮市區", "經度", "緯度"]
GOOD = [["社福中心", "甲", "嘉義縣竹崎鄉", "120.55", "23.52"],
        ["小衛星", "乙", "嘉義縣阿里山鄉", "120.80", "23.45"],
        ["會所", "丙", "嘉義縣竹崎鄉", "120.56", "23.53"],
        ["心衛中心", "丁", "嘉義縣阿里山鄉", "120.81", "23.46"]]


def balanced(reg: Registry) -> None:
    """rows_read == accepted + rejected rows, and no row is both."""
    assert reg.rows_read == len(reg.facilities) + rejected_rows(reg.rejected)
    accepted = set(zip(reg.facilities["file"], reg.facilities["row"], strict=True))
    assert not accepted & set(zip(reg.rejected["file"], reg.rejected["row"], strict=True))
    assert reg.facilities["facility_id"].is_unique


def csv_text(rows: list[list[str]], header: list[str] = HEADER) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *rows])
    return buf.getvalue()


# ----------------------------------------------------------------------------- hand-made XLSX

def _cell(ref: str, value: object) -> str:
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def col_letter(j: int) -> str:
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


def sheet_xml(rows: list[list[object]], hidden: tuple[int, ...] = (), dimension: str | None = None,
              start: int = 1) -> str:
    body = []
    for i, r in enumerate(rows, start=start):
        attrs = ' hidden="1"' if i in hidden else ""
        cells = "".join(_cell(f"{col_letter(j)}{i}", v) for j, v in enumerate(r) if v not in (None, ""))
        body.append(f'<row r="{i}"{attrs}>{cells}</row>')
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f'{dim}<sheetData>{"".join(body)}</sheetData></worksheet>')


def write_xlsx(path: Path, sheets: list[tuple[str, str | bytes, str]], shared: str | None = None,
               compress: int = zipfile.ZIP_DEFLATED) -> Path:
    """A real XLSX zip; ``sheets`` are (name, sheet XML, state)."""
    ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    sheet_tags = "".join(
        f'<sheet name="{escape(n)}" sheetId="{i}" r:id="rId{i}"' + (f' state="{s}"' if s != "visible" else "") + "/>"
        for i, (n, _, s) in enumerate(sheets, start=1))
    rels = "".join(f'<Relationship Id="rId{i}" Type="{rel}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                   for i in range(1, len(sheets) + 1))
    if shared is not None:
        rels += f'<Relationship Id="rIdS" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>'
    with zipfile.ZipFile(path, "w", compress) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                    'package/2006/content-types"/>')
        zf.writestr("_rels/.rels", f'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                    f'package/2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" '
                    'Target="xl/workbook.xml"/></Relationships>')
        zf.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/'
                    f'spreadsheetml/2006/main" xmlns:r="{ns}"><sheets>{sheet_tags}</sheets></workbook>')
        zf.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.'
                    f'openxmlformats.org/package/2006/relationships">{rels}</Relationships>')
        for i, (_, xml, _) in enumerate(sheets, start=1):
            zf.writestr(f"xl/worksheets/sheet{i}.xml", xml)
        if shared is not None:
            zf.writestr("xl/sharedStrings.xml", shared)
    return path


# ----------------------------------------------------------------------------- csvtext

def test_stray_quote_swallowing_lines_is_reported_not_merged() -> None:
    text = csv_text(GOOD).replace("乙", '"乙', 1)  # line 3: "乙,… swallows lines 4 and 5 up to EOF
    r = csv_records(text)
    assert [line for line, _ in r.records] == [1, 2]
    assert r.damaged == [(3, 5, 'unbalanced quote (") swallows lines 3–5')]
    assert r.damaged_lines == [3, 4, 5]


def test_stray_quote_closed_by_a_later_quote_is_still_damage() -> None:
    # the stray quote in line 3 pairs with the opening quote of a quoted cell in line 4
    text = 'a,b,c\nx,1,2\ny,"3,4\nz,"5,6",7\nw,8,9\n'
    r = csv_records(text)
    assert [line for line, _ in r.records] == [1, 2, 5]
    assert r.damaged_lines == [3, 4]


def test_properly_closed_multiline_cell_of_header_width_is_a_record() -> None:
    r = csv_records('名稱,地址,備註\n甲,"竹崎鄉\n中山路1號",x\n乙,b,c\n')
    assert r.records == [(1, ["名稱", "地址", "備註"]), (2, ["甲", "竹崎鄉\n中山路1號", "x"]), (4, ["乙", "b", "c"])]
    assert not r.damaged
    short = csv_records('名稱,地址,備註\n甲,"竹崎鄉\n中山路1號"\n')  # closed, but 2 cells for a 3-cell header
    assert short.damaged == [(2, 3, 'unbalanced quote (") swallows lines 2–3')]


def test_unterminated_quote_on_the_last_line() -> None:
    for text in ('a,b\nx,"1', 'a,b\nx,"1\n', 'a,b\r\nx,"1\r\n'):
        r = csv_records(text)
        assert r.records == [(1, ["a", "b"])]
        assert r.damaged == [(2, 2, 'unterminated quote (") on line 2')]
    assert csv_records('a,b\nx,"1"\n').records == [(1, ["a", "b"]), (2, ["x", "1"])]


def test_cell_over_the_field_limit_is_damage_and_reading_resumes() -> None:
    text = 'a,b\nx,"' + "z" * 200_000 + '"\ny,2\n'
    r = csv_records(text)
    assert r.records == [(1, ["a", "b"]), (3, ["y", "2"])]
    (first, last, reason), = r.damaged
    assert (first, last) == (2, 2) and "131,072" in reason


def test_nul_and_blank_lines() -> None:
    r = csv_records("a,b\r\n\r\nx,1\r\n,,\r\ny,\x002\r\n   \r\nz,3")
    assert r.records == [(1, ["a", "b"]), (3, ["x", "1"]), (7, ["z", "3"])]
    assert r.damaged == [(5, 5, "line 5 contains a NUL character (binary data?)")]


def test_iter_csv_rows_streams_damaged_lines_one_by_one() -> None:
    rows = list(iter_csv_rows(io.StringIO('h1,h2\n"x,1\n\ny,2\n', newline="")))
    assert [(line, cells) for line, cells, _ in rows] == [(1, ["h1", "h2"]), (2, []), (4, [])]
    assert rows[1][2] == rows[2][2] == 'unbalanced quote (") swallows lines 2–4'


# ----------------------------------------------------------------------------- CSV registries

def test_registry_quote_damage_is_rejected_by_physical_line(tmp_path: Path, townships) -> None:
    path = tmp_path / "q.csv"
    path.write_text(csv_text(GOOD).replace("乙", '"乙', 1), encoding="utf-8")
    reg = read_facilities(path, townships=townships)
    balanced(reg)
    assert reg.rows_read == 4  # four physical data lines, not the parser's two records
    assert reg.facilities["row"].tolist() == [2]
    assert reg.rejected["row"].tolist() == [3, 4, 5]
    assert reg.rejected["reason"].str.contains(r'unbalanced quote \("\) swallows lines 3–5').all()
    assert (reg.rejected["value"] == "(withheld)").all()  # nothing of the swallowed lines is echoed


def test_million_comma_row_is_refused_without_padding(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    body = csv_text(GOOD[:2]) + "社福中心,戊" + "," * 1_000_000 + "\n" + csv_text(GOOD[2:], header=[])[1:]
    path.write_text(body, encoding="utf-8")
    t = read_table(path)
    assert t.index.tolist() == [2, 3, 4, 5, 6]
    assert "1,000,002 cells" in t.loc[4, ROW_PROBLEM]
    assert (t.loc[4, ["category", "name"]] == "").all()  # not read, not echoed
    assert (t.drop(index=4)[ROW_PROBLEM] == "").all()
    assert list(t.columns[:5]) == ["category", "name", "township", "lon", "lat"]
    assert len(t.columns) < 30  # not one column per comma


def test_extra_cells_text_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "extra.csv"
    path.write_text(csv_text([[*GOOD[0], *["x" * 50] * 9]]), encoding="utf-8")
    extra = read_table(path).loc[2, EXTRA_CELLS]
    assert extra.startswith("x" * 50 + ",") and extra.endswith("…") and len(extra) == 201


def test_same_file_name_in_two_folders_stays_distinct(tmp_path: Path, townships) -> None:
    paths = []
    for folder, rows in (("a", GOOD[:2]), ("b", GOOD[2:])):
        (tmp_path / folder).mkdir()
        paths.append(tmp_path / folder / "清冊.csv")
        paths[-1].write_text(csv_text(rows), encoding="utf-8")
    assert file_labels(paths) == ["a/清冊.csv", "b/清冊.csv"]
    assert file_labels([paths[0], paths[0]]) == ["清冊.csv", "清冊.csv (2)"]
    reg = read_facilities(paths, townships=townships)
    balanced(reg)
    assert reg.facilities["facility_id"].tolist() == ["a/清冊.csv:2", "a/清冊.csv:3", "b/清冊.csv:2", "b/清冊.csv:3"]


# ----------------------------------------------------------------------------- XLSX

def registry_sheet(rows: list[list[object]], **kw) -> str:
    return sheet_xml([HEADER, *rows], **kw)


def test_every_visible_sheet_is_read_and_hidden_ones_are_named(tmp_path: Path, townships) -> None:
    path = write_xlsx(tmp_path / "清冊.xlsx", [
        ("說明", sheet_xml([["本檔為社安網據點清冊"]]), "visible"),
        ("社福中心", registry_sheet([GOOD[0], GOOD[2]]), "visible"),
        ("小衛星", registry_sheet([GOOD[1], GOOD[3], ["小衛星", "藏", "嘉義縣竹崎鄉", 120.5, 23.5],
                                 ["小衛星", "藏2", "嘉義縣竹崎鄉", 120.5, 23.5]], hidden=(4, 5)), "visible"),
        ("舊資料", registry_sheet([GOOD[0]]), "hidden"),
        ("系統", sheet_xml([["x"]]), "veryHidden"),
    ])
    reg = read_facilities(path, townships=townships)
    balanced(reg)
    assert reg.facilities["facility_id"].tolist() == [
        "清冊.xlsx#社福中心:2", "清冊.xlsx#社福中心:3", "清冊.xlsx#小衛星:2", "清冊.xlsx#小衛星:3"]
    assert reg.rows_read == 4
    assert reg.skipped == (
        "清冊.xlsx#小衛星: skipped 2 hidden rows (rows 4, 5)",
        "清冊.xlsx: skipped hidden sheet 舊資料, 2 rows",
        "清冊.xlsx: skipped very hidden sheet 系統, 1 row",
        "清冊.xlsx: sheet 說明 has no registry header; not read",
    )
    chosen = read_facilities(path, townships=townships, layer="舊資料")  # layer= may name a hidden sheet
    assert chosen.facilities["facility_id"].tolist() == ["清冊.xlsx:2"]


def test_rejections_carry_the_sheet_label(tmp_path: Path, townships) -> None:
    path = write_xlsx(tmp_path / "清冊.xlsx", [
        ("甲表", registry_sheet([GOOD[0]]), "visible"),
        ("乙表", registry_sheet([["", "無類別", "嘉義縣竹崎鄉", "", ""]]), "visible"),
    ])
    reg = read_facilities(path, townships=townships)
    balanced(reg)
    assert reg.rejected[["file", "row", "field"]].values.tolist() == [["清冊.xlsx#乙表", 2, "category"]]


def test_workbook_without_registry_sheet_is_one_error(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "notes.xlsx", [("說明", sheet_xml([["只有說明"]]), "visible"),
                                                 ("舊", registry_sheet([GOOD[0]]), "hidden")])
    with pytest.raises(UnreadableFileError, match=r"notes\.xlsx: no sheet has a registry header row.*"
                       r"sheets: 說明, 舊 \(notes\.xlsx: skipped hidden sheet 舊, 2 rows\)"):
        read_table(path)
    with pytest.raises(UnreadableFileError, match="no sheet named '丙' \\(layer=\\); its sheets: 說明, 舊"):
        read_table(path, layer="丙")


def test_xfd1048576_workbook_reads_only_real_cells(tmp_path: Path) -> None:
    lone = write_xlsx(tmp_path / "lone.xlsx", [
        ("S", sheet_xml([["x"]], dimension="A1:XFD1048576", start=1048576).replace(
            'r="A1048576"', 'r="XFD1048576"'), "visible")])
    assert lone.stat().st_size < 5000
    with pytest.raises(UnreadableFileError, match="lone.xlsx: no sheet has a registry header"):
        read_table(lone)
    book = open_workbook(lone)
    assert list(sheet_rows(book, book.sheets[0])) == [(1048576, [(16383, "x")])]
    book.close()
    stray = sheet_xml([HEADER, GOOD[0]], dimension="A1:XFD1048576")
    stray = stray.replace("</sheetData>", '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>')
    t = read_table(write_xlsx(tmp_path / "stray.xlsx", [("S", stray, "visible")]))
    assert t.index.tolist() == [2, 1048576]
    assert "column 16,384" in t.loc[1048576, ROW_PROBLEM]


def test_shared_strings_bomb_is_refused_before_parsing(tmp_path: Path) -> None:
    sst = '<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + \
        "<si><t>" + "a" * (20 * 2**20) + "</t></si></sst>"
    path = write_xlsx(tmp_path / "bomb.xlsx", [("S", registry_sheet([GOOD[0]]), "visible")], shared=sst)
    assert path.stat().st_size < 100_000
    with pytest.raises(UnreadableFileError, match=r"bomb\.xlsx: workbook: xl/sharedStrings\.xml decompresses "
                       r"[\d,]+:1 .* over the 200:1 limit"):
        read_table(path)


def test_zip_member_lying_about_its_size_is_refused(tmp_path: Path) -> None:
    """A central directory declaring a small size: zipfile stops there, and the cut XML is one error."""
    path = tmp_path / "liar.xlsx"
    write_xlsx(path, [("S", registry_sheet(GOOD * 50), "visible")])
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp_path / "l.xlsx", "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
        dst.getinfo("xl/worksheets/sheet1.xml").file_size = 300  # written into the central directory
    with pytest.raises(UnreadableFileError, match=r"l\.xlsx: sheet 'S': (malformed XML|xl/worksheets/sheet1\.xml "
                       "is damaged)"):
        read_table(tmp_path / "l.xlsx")


def test_part_over_the_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFETYNET_MAX_XLSX_PART_MB", "0.001")
    path = write_xlsx(tmp_path / "big.xlsx", [("S", registry_sheet(GOOD), "visible")], compress=zipfile.ZIP_STORED)
    with pytest.raises(UnreadableFileError, match="xl/worksheets/sheet1.xml decompresses to 0 MB, over the 0 MB"):
        read_table(path)


@pytest.mark.parametrize(("xml", "message"), [
    (registry_sheet([GOOD[0]]).replace("</row>", "", 1), r"sheet 'S': malformed XML in xl/worksheets/sheet1\.xml"),
    (registry_sheet([GOOD[0]])[:-40], r"sheet 'S': malformed XML in xl/worksheets/sheet1\.xml \("),
    ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>'
     '<worksheet><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData>'
     "</worksheet>", r"sheet 'S': xl/worksheets/sheet1\.xml declares a DTD or XML entities"),
    (registry_sheet([GOOD[0]]).replace('t="inlineStr"><is><t>甲</t></is>', 't="s"><v>7</v>'),
     "sheet 'S': shared string '7' does not exist"),
])
def test_malformed_sheet_xml_is_one_line_naming_file_and_sheet(tmp_path: Path, xml: str, message: str) -> None:
    path = write_xlsx(tmp_path / "bad.xlsx", [("S", xml, "visible")])
    with pytest.raises(UnreadableFileError, match=r"bad\.xlsx: " + message) as info:
        read_table(path)
    assert "\n" not in str(info.value)


def test_billion_laughs_in_shared_strings(tmp_path: Path) -> None:
    ents = '<!ENTITY a0 "dha">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    sst = f'<?xml version="1.0"?><!DOCTYPE sst [{ents}]><sst><si><t>&a9;</t></si></sst>'
    path = write_xlsx(tmp_path / "laughs.xlsx", [("S", registry_sheet([GOOD[0]]), "visible")], shared=sst)
    with pytest.raises(UnreadableFileError, match="shared strings: xl/sharedStrings.xml declares a DTD"):
        read_table(path)


def test_cell_types_and_dates(tmp_path: Path) -> None:
    styles = ('<?xml version="1.0"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
              '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy/mm/dd"/></numFmts>'
              '<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/></cellXfs></styleSheet>')
    sst = ('<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           "<si><t>社福中心</t></si><si><r><t>竹崎</t></r><r><t>鄉</t></r><rPh><t>ㄓㄨˊ</t></rPh></si></sst>")
    xml = sheet_xml([["類別", "鄉鎮市區", "啟用日期", "結束日期", "個案數", "開放"]]).replace("</sheetData>", (
        '<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" t="s"><v>1</v></c><c r="C2" s="1"><v>45108</v></c>'
        '<c r="D2" s="2"><f>C2+1</f><v>45109</v></c><c r="E2"><v>12</v></c><c r="F2" t="b"><v>1</v></c></row>'
        "</sheetData>"))
    path = write_xlsx(tmp_path / "t.xlsx", [("S", xml, "visible")], shared=sst)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("xl/styles.xml", styles)
        rels = zf.read("xl/_rels/workbook.xml.rels").decode().replace("</Relationships>", (
            '<Relationship Id="rIdT" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'styles" Target="styles.xml"/></Relationships>'))
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp_path / "u.xlsx", "w") as dst:
        for info in src.infolist():
            if info.filename != "xl/_rels/workbook.xml.rels":
                dst.writestr(info.filename, src.read(info.filename))
        dst.writestr("xl/_rels/workbook.xml.rels", rels)
    t = read_table(tmp_path / "u.xlsx")
    assert t.loc[2, ["category", "township", "opened", "closed", "cases"]].tolist() == [
        "社福中心", "竹崎鄉", "2023-07-01", "2023-07-02", "12"]
    assert t.loc[2, "開放"] == "True"


# ----------------------------------------------------------------------------- GeoPackage / GeoJSON

def two_layer_gpkg(path: Path) -> Path:
    gpd.GeoDataFrame({"類別": ["社福中心"], "名稱": ["甲"]}, geometry=[Point(120.55, 23.52)], crs="EPSG:4326",
                     ).to_file(path, layer="社福", driver="GPKG", engine="pyogrio")
    gpd.GeoDataFrame({"類別": ["小衛星", "小衛星"], "名稱": ["乙", "丙"]},
                     geometry=[Point(120.80, 23.45), LineString([(120.5, 23.5), (120.6, 23.6)])],
                     crs="EPSG:4326").to_file(path, layer="小衛星", driver="GPKG", engine="pyogrio")
    gpd.GeoDataFrame({"name": ["界"]}, geometry=[Polygon([(120, 23), (121, 23), (121, 24)])], crs="EPSG:4326",
                     ).to_file(path, layer="鄉鎮界", driver="GPKG", engine="pyogrio")
    return path


def test_every_point_layer_is_read_or_layer_chooses(tmp_path: Path, townships) -> None:
    path = two_layer_gpkg(tmp_path / "pts.gpkg")
    reg = read_facilities(path, townships=townships)
    balanced(reg)
    assert reg.facilities[["facility_id", "towncode"]].values.tolist() == [
        ["pts.gpkg#社福:1", ZHUQI], ["pts.gpkg#小衛星:1", ALISHAN]]
    assert reg.rejected[["file", "row"]].drop_duplicates().values.tolist() == [["pts.gpkg#小衛星", 2]]
    assert "geometry is a LineString" in reg.rejected["reason"].iloc[0]
    assert reg.skipped == ("pts.gpkg: skipped layer 鄉鎮界 (Polygon, 1 feature; not points)",)
    one = read_facilities(path, townships=townships, layer="小衛星")
    assert one.facilities["facility_id"].tolist() == ["pts.gpkg:1"]
    assert one.skipped == ()
    with pytest.raises(UnreadableFileError, match="no layer named '社' \\(layer=\\); its layers: 社福, 小衛星, 鄉鎮界"):
        read_table(path, layer="社")
    assert set(read_table(path)[PART]) == {"社福", "小衛星"}


def test_geopackage_of_polygons_only_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "towns.gpkg"
    gpd.GeoDataFrame({"name": ["界"]}, geometry=[Polygon([(120, 23), (121, 23), (121, 24)])], crs="EPSG:4326",
                     ).to_file(path, layer="鄉鎮界", driver="GPKG", engine="pyogrio")
    with pytest.raises(UnreadableFileError, match="towns.gpkg: no layer has points or registry columns "
                       r"\(towns.gpkg: skipped layer 鄉鎮界 \(Polygon"):
        read_table(path)


@pytest.mark.parametrize("name", ["deep.geojson", "deep.json"])
def test_absurd_json_nesting_is_one_line(tmp_path: Path, name: str) -> None:
    depth = 100_000
    path = tmp_path / name
    path.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,'
                    '"properties":{"a":' + "[" * depth + "]" * depth + "}}]}", encoding="utf-8")
    with pytest.raises(UnreadableFileError, match=name.replace(".", r"\.") + ": not a readable GeoJSON") as info:
        read_table(path)
    assert "\n" not in str(info.value) and len(str(info.value)) < 500


def test_cli_layer_option(tmp_path: Path) -> None:
    path = two_layer_gpkg(tmp_path / "pts.gpkg")
    run = [sys.executable, "-m", "coverage.cli", "validate", str(path)]
    root = Path(__file__).resolve().parents[1]
    ok = subprocess.run([*run, "--layer", "社福"], capture_output=True, text=True, cwd=root, timeout=300)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([*run, "--layer", "無"], capture_output=True, text=True, cwd=root, timeout=300)
    assert bad.returncode == 1
    assert "no layer named '無'" in bad.stderr and "Traceback" not in bad.stderr


# ----------------------------------------------------------------------------- properties

_cells = st.text(alphabet=st.sampled_from(list('ab1 ,"\'臺.-')), max_size=6)
_rows = st.lists(st.lists(_cells, min_size=len(HEADER), max_size=len(HEADER)), min_size=1, max_size=6)
_seen: Counter = Counter()


@settings(max_examples=300, deadline=None)
@given(body=_rows, data=st.data())
def test_one_stray_quote_never_yields_a_merged_record(body: list[list[str]], data: st.DataObject) -> None:
    lines = csv_text(body).splitlines(keepends=True)
    i = data.draw(st.integers(1, len(lines) - 1), label="line")
    cells = [csv_text([[c]], header=[]).strip("\n") for c in body[i - 1]]
    j = data.draw(st.integers(0, len(cells) - 1), label="cell")
    k = data.draw(st.integers(0, len(cells[j])), label="position")
    cells[j] = cells[j][:k] + '"' + cells[j][k:]
    lines[i] = ",".join(cells) + "\n"
    r = csv_records("".join(lines))
    for line, got in r.records:
        assert all("\n" not in c for c in got)  # no record carries another line
        if line != i + 1:
            assert got == next(csv.reader([lines[line - 1]]))  # every other line is read as written
    data_lines = [ln for ln in lines[1:] if ln.strip(" ,\n")]
    assert len(r.records) - 1 + len(r.damaged_lines) == len(data_lines)
    outcome = "damaged" if r.damaged else "read"
    event(outcome)
    _seen[outcome] += 1


def test_stray_quote_property_reached_both_outcomes() -> None:
    if not _seen:
        pytest.skip("run with test_one_stray_quote_never_yields_a_merged_record")
    assert _seen["damaged"] > 10 and _seen["read"] > 10


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_stray_quote_registry_balances(tmp_path: Path, townships, data: st.DataObject) -> None:
    lines = csv_text(GOOD).splitlines(keepends=True)
    i = data.draw(st.integers(1, len(lines) - 1))
    k = data.draw(st.integers(0, len(lines[i]) - 1))
    lines[i] = lines[i][:k] + '"' + lines[i][k:]
    path = tmp_path / "r.csv"
    path.write_text("".join(lines), encoding="utf-8")
    reg = read_facilities(path, townships=townships)
    balanced(reg)
    assert reg.rows_read == len(GOOD)  # physical data lines
    for _, f in reg.facilities.iterrows():  # an accepted row is its own line, never a merge
        assert f["name"].strip('"') == GOOD[f["row"] - 2][1].strip('"') or f["row"] == i + 1
        assert f["name"] in lines[f["row"] - 1]
    event(f"rejected {rejected_rows(reg.rejected)}")
    _seen["registry"] += 1


_xlsx_seen: Counter = Counter()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0, 1), byte=st.integers(0, 255), mode=st.sampled_from(["truncate", "replace", "delete"]))
def test_damaged_sheet_xml_is_read_or_one_clean_error(tmp_path: Path, cut: float, byte: int, mode: str) -> None:
    xml = registry_sheet(GOOD).encode()
    at = min(int(cut * len(xml)), len(xml) - 1)
    broken = {"truncate": xml[:at], "replace": xml[:at] + bytes([byte]) + xml[at + 1:],
              "delete": xml[:at] + xml[at + 1:]}[mode]
    path = write_xlsx(tmp_path / "m.xlsx", [("S", broken, "visible")])
    try:
        t = read_table(path)
    except UnreadableFileError as exc:
        assert str(exc).startswith(f"{path}: ")
        assert "\n" not in str(exc)
        outcome = "refused"
    else:
        assert len(t) <= len(GOOD) + 1
        outcome = "read"
    event(f"{mode}: {outcome}")
    _xlsx_seen[outcome] += 1


def test_damaged_sheet_property_reached_both_outcomes() -> None:
    if not _xlsx_seen:
        pytest.skip("run with test_damaged_sheet_xml_is_read_or_one_clean_error")
    assert _xlsx_seen["refused"] > 10 and _xlsx_seen["read"] >= 3


def test_every_fixture_balances(tmp_path: Path, townships) -> None:
    """rows_read == accepted + rejected rows over every registry fixture of this file."""
    (tmp_path / "a").mkdir()
    files = [
        tmp_path / "q.csv", tmp_path / "wide.csv", two_layer_gpkg(tmp_path / "pts.gpkg"),
        write_xlsx(tmp_path / "a" / "清冊.xlsx", [("甲", registry_sheet(GOOD[:2], hidden=(3,)), "visible"),
                                                  ("乙", registry_sheet(GOOD[2:]), "visible")]),
    ]
    files[0].write_text(csv_text(GOOD).replace("丙", '"丙', 1), encoding="utf-8")
    files[1].write_text(csv_text(GOOD) + "社福中心,戊" + "," * 5000 + "\n", encoding="utf-8")
    reg = read_facilities(files, townships=townships)
    balanced(reg)
    assert reg.rows_read == 4 + 5 + 3 + 3
    assert json.dumps(list(reg.skipped), ensure_ascii=False).count("skipped") == 2
    labels = set(reg.facilities["file"]) | set(reg.rejected["file"])
    assert {"pts.gpkg#社福", "pts.gpkg#小衛星", "清冊.xlsx#甲", "清冊.xlsx#乙"} <= labels


def test_sheet_xml_declaring_an_unknown_encoding_is_one_error(tmp_path):
    """A damaged byte in the XML declaration (encoding="UTF-X") was a LookupError traceback."""
    import zipfile

    from coverage.errors import UnreadableFileError
    from coverage.tabular import read_table

    good = tmp_path / "good.xlsx"
    import pandas as pd

    table = pd.DataFrame({"類別": ["小衛星"], "名稱": ["甲"], "縣市": ["嘉義縣"], "鄉鎮市區": ["竹崎鄉"]})
    table.to_excel(good, index=False)
    bad = tmp_path / "清冊.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.startswith("xl/worksheets/"):
                data = data.replace(b'encoding="UTF-8"', b'encoding="UTF-X"', 1)
                assert b"UTF-X" in data
            dst.writestr(info, data)
    with pytest.raises(UnreadableFileError, match="清冊.xlsx.*malformed XML"):
        read_table(bad)


def test_quote_pair_spanning_rows_is_not_a_record(tmp_path):
    """A quote opened in line 3's name and closed in line 6's is balanced CSV: lines 3–6 parse as one
    record with line 6's coordinates. A multi-line cell holding delimiters is whole rows swallowed."""
    from coverage.csvtext import csv_records
    from coverage.facilities import read_facilities

    text = ("類別,名稱,縣市,鄉鎮市區,經度,緯度\n"
            "小衛星,甲,嘉義縣,竹崎鄉,120.55,23.52\n"
            '小衛星,"乙,嘉義縣,梅山鄉,120.57,23.58\n'
            "小衛星,丙,嘉義縣,番路鄉,120.58,23.46\n"
            "小衛星,丁,嘉義縣,大埔鄉,120.58,23.30\n"
            '小衛星,戊",嘉義縣,東石鄉,120.15,23.46\n'
            "小衛星,己,嘉義縣,布袋鎮,120.17,23.38\n")
    parsed = csv_records(text)
    assert [line for line, _ in parsed.records] == [1, 2, 7]
    assert parsed.damaged == [(3, 6, 'unbalanced quote (") swallows lines 3–6')]
    path = tmp_path / "清冊.csv"
    path.write_text(text, encoding="utf-8")
    reg = read_facilities(path)
    assert reg.rows_read == 6 and reg.accepted == 2 and reg.rejected_rows == 4
    assert sorted(reg.rejected["row"]) == [3, 4, 5, 6]


def test_a_registry_column_given_twice_is_named(tmp_path):
    from coverage.facilities import read_facilities

    path = tmp_path / "清冊.csv"
    path.write_text("類別,名稱,縣市,鄉鎮市區,經度,緯度,經度\n小衛星,甲,嘉義縣,竹崎鄉,120.55,23.52,121.0\n",
                    encoding="utf-8")
    reg = read_facilities(path)
    assert reg.accepted == 1
    assert any("the column lon appears twice" in line and "經度" in line for line in reg.skipped)


def test_summary_names_same_named_files_apart(tmp_path):
    import json

    from coverage.pipeline import run_coverage
    from coverage.report import write_report

    paths = []
    for folder in ("north", "south"):
        (tmp_path / folder).mkdir()
        paths.append(tmp_path / folder / "清冊.csv")
        paths[-1].write_text("類別,名稱,縣市,鄉鎮市區\n小衛星,甲,嘉義縣,竹崎鄉\n", encoding="utf-8")
    write_report(run_coverage(paths, counties=["嘉義縣"]), tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["registry"]["files"] == ["north/清冊.csv", "south/清冊.csv"]


# ----------------------------------------------------------------------------- absurd sizes

_MEASURE = """
import json, resource, sys
from coverage.errors import CoverageError
from coverage.tabular import read_table
import pandas, pyarrow, geopandas  # noqa: F401  (imports out of the baseline)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    outcome = f"read {len(read_table(sys.argv[1]))} rows"
except CoverageError as exc:
    outcome = str(exc)
grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
print(json.dumps({"outcome": outcome, "grew_mb": grew}))
"""


def _read_in_child(path, **env):
    """(outcome, MB the peak resident memory grew by) of read_table in a fresh process."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, cwd=repo,
                          env={**os.environ, **env}, check=True)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return out["outcome"], out["grew_mb"]


def test_two_gigabyte_file_refused_before_reading(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_bytes("類別,名稱,鄉鎮市區\n小衛星,甲,嘉義縣竹崎鄉\n".encode())
    os.truncate(path, 2 * 2**30)  # sparse: no 2 GB written
    outcome, grew = _read_in_child(path)
    assert "huge.csv: file is 2,048 MB, over the 512 MB limit" in outcome and "SAFETYNET_MAX_FILE_MB" in outcome
    assert grew < 50


def test_too_many_rows_refused_as_soon_as_counted(tmp_path):
    """Past the row limit the rest of the file is never read: here 1.9 GB of it (a sparse hole),
    which reading the file whole would have put in memory."""
    path = tmp_path / "rows.csv"
    path.write_bytes("類別,名稱,鄉鎮市區\n".encode() + b"x,y,z\n" * 400_000)  # 2.3 MB of lines
    os.truncate(path, int(1.9 * 2**30))
    outcome, grew = _read_in_child(path, SAFETYNET_MAX_ROWS="1000", SAFETYNET_MAX_FILE_MB="4096")
    assert "rows.csv: more than 1,000 lines, over the 1,000-row limit" in outcome
    assert grew < 50


def test_large_registry_read_in_bounded_memory(tmp_path):
    """300,000 rows (25 MB): the table of clean strings costs a few times the file, not ~15×
    as a list of Python cells did (benchmarks/memory.py measures a million rows)."""
    path = tmp_path / "large.csv"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("類別,名稱,鄉鎮市區,經度,緯度,啟用日期,個案數\n")
        fh.writelines(f"小衛星,據點{i},嘉義縣竹崎鄉,120.5512,23.5231,112/07/01,{i % 50}\n" for i in range(300_000))
    size_mb = path.stat().st_size / 2**20
    outcome, grew = _read_in_child(path)
    assert outcome == "read 300000 rows"
    assert grew < 5 * size_mb, (grew, size_mb)
