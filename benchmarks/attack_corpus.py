"""Hostile inputs for the ``safetynet`` CLI, each with the behaviour the documentation promises.

:func:`build` writes every input into a folder and returns the cases; ``benchmarks/attacks.py`` runs
them against a checkout and classifies each as HELD or BROKE. A case is a CLI argument list plus a
check: a function of the run's result (exit code, stdout, stderr, output folder) that returns the
list of problems found (empty: held). Checks are concrete: they read ``summary.json``,
``rejected.csv``, ``townships.csv`` … and compare them with what the hand-made input must give.

The files are structurally valid but malformed: a real CSV with one stray quote, a real XLSX zip
(hand-written XML parts) with a hidden sheet or a cell at XFD1048576, a real GeoPackage with two
point layers and a line layer (pyogrio), population, targets, scenario and point files.
"""

from __future__ import annotations

import csv
import json
import os
import re
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SENTINELS", "Case", "Result", "build"]

#: Personal values planted in every registry's contact/phone columns (and bad caseloads): they must
#: never appear in any output, rejection or message.
SENTINELS = ("甄秘密", "0987-654", "案主林")

# 嘉義縣 townships: towncode, name, representative point (lon, lat) of the bundled boundaries.
CHIAYI = [
    ("10010010", "太保市", 120.34456, 23.47212), ("10010020", "朴子市", 120.2419, 23.44268),
    ("10010030", "布袋鎮", 120.19067, 23.38141), ("10010040", "大林鎮", 120.4909, 23.59315),
    ("10010050", "民雄鄉", 120.43964, 23.54162), ("10010060", "溪口鄉", 120.39434, 23.59719),
    ("10010070", "新港鄉", 120.34178, 23.54876), ("10010080", "六腳鄉", 120.27612, 23.51502),
    ("10010090", "東石鄉", 120.18295, 23.45981), ("10010100", "義竹鄉", 120.22319, 23.34914),
    ("10010110", "鹿草鄉", 120.30945, 23.40663), ("10010120", "水上鄉", 120.42247, 23.42613),
    ("10010130", "中埔鄉", 120.54974, 23.39949), ("10010140", "竹崎鄉", 120.59802, 23.5021),
    ("10010150", "梅山鄉", 120.67695, 23.54768), ("10010160", "番路鄉", 120.6329, 23.41848),
    ("10010170", "大埔鄉", 120.58372, 23.29064), ("10010180", "阿里山鄉", 120.78525, 23.44907),
]
TOKYO = (139.6917, 35.6895)
SHARED = Path(os.environ.get("SAFETYNET_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
if not SHARED.exists():
    SHARED = Path("/work/shared/data")
CSP = "community_support_point"
HEADER = ["類別", "名稱", "縣市", "鄉鎮市區", "地址", "經度", "緯度", "狀態", "啟用日期", "結束日期", "資料來源",
          "聯絡人", "電話"]


@dataclass
class Result:
    """What one run of a case gave."""

    rc: int | None
    stdout: str
    stderr: str
    out: Path
    wall: float
    rss_mb: float
    timed_out: bool = False
    others: list[Result] = field(default_factory=list)  # concurrent runs of the same case


@dataclass
class Case:
    """One hostile input and the behaviour it must get."""

    id: str
    cls: str
    title: str
    argv: list[str]
    check: Callable[[Result], list[str]] | None = None
    expect: tuple[int, ...] = (0,)
    names_file: str | None = None  # a refusal (exit 1) must name this file
    bomb: bool = False
    parallel: int = 1
    pre: list[list[str]] = field(default_factory=list)  # commands run first (not measured)
    prepare: Callable[[Path], None] | None = None  # called with the out folder before the run
    module_entry: bool = False  # run as ``python -m coverage.cli`` instead of coverage.cli:main
    formula_scan: bool = False


# ----------------------------------------------------------------------------- reading results

def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def summary(res: Result) -> dict:
    p = res.out / "summary.json"
    if not p.exists():
        return {}
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except ValueError:
        return {"_unparsable": True}


def rejected(res: Result) -> list[dict[str, str]]:
    return _read_csv(res.out / "rejected.csv")


def township_counts(res: Result, category: str = CSP) -> dict[str, int]:
    return {r["towncode"]: int(float(r["facilities"] or 0)) for r in _read_csv(res.out / "townships.csv")
            if r.get("category") == category}


def coverage_row(res: Result, county: str, category: str) -> dict | None:
    for r in summary(res).get("coverage", []):
        if r.get("county") == county and r.get("category") == category:
            return r
    return None


def all_output_text(res: Result) -> str:
    """stdout, stderr and every file written (XLSX unzipped, Parquet as text)."""
    parts = [res.stdout, res.stderr]
    if res.out.exists():
        for p in sorted(res.out.rglob("*")):
            if not p.is_file():
                continue
            if p.suffix == ".xlsx":
                try:
                    with zipfile.ZipFile(p) as z:
                        parts += [z.read(n).decode("utf-8", "replace") for n in z.namelist()]
                except zipfile.BadZipFile:
                    parts.append(p.read_bytes().decode("utf-8", "replace"))
            elif p.suffix == ".parquet":
                try:
                    import pandas as pd

                    parts.append(pd.read_parquet(p).to_csv())
                except Exception as exc:
                    parts.append(f"<unreadable parquet {exc}>")
            elif p.suffix in (".png",):
                continue
            else:
                parts.append(p.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def _mentions(res: Result, *words: str) -> bool:
    """Whether stdout, stderr or summary.json says one of ``words`` (paths and "wrote …" lines left out)."""
    text = "\n".join(ln for ln in (res.stdout + "\n" + res.stderr).splitlines() if not ln.startswith("wrote "))
    text = (text + json.dumps(summary(res), ensure_ascii=False)).replace(str(res.out.parent.parent), "")
    return any(w.lower() in text.lower() for w in words)


# ----------------------------------------------------------------------------- generic checks

def balance(res: Result) -> list[str]:
    """rows_read == accepted + rejected_rows, and rejected_rows == distinct (file, row) of rejected.csv."""
    s = summary(res)
    if not s:
        return []
    if s.get("_unparsable"):
        return ["summary.json is not valid JSON"]
    reg = s.get("registry") or {}
    probs = []
    if {"rows_read", "accepted", "rejected_rows"} <= set(reg):
        if reg["rows_read"] != reg["accepted"] + reg["rejected_rows"]:
            probs.append(f"summary.json: rows_read {reg['rows_read']} != accepted {reg['accepted']} + "
                         f"rejected_rows {reg['rejected_rows']} (rejected_rows counts rejection lines, not rows)")
        rows = {(r["file"], r["row"]) for r in rejected(res)}
        if (res.out / "rejected.csv").exists() and len(rows) != reg["rejected_rows"]:
            probs.append(f"summary.json rejected_rows {reg['rejected_rows']} != {len(rows)} distinct rows "
                         "in rejected.csv")
    return probs


# ----------------------------------------------------------------------------- writers

def csv_line(cells: list[str]) -> str:
    return ",".join(cells)


def tokyo_row(category: str, name: str) -> dict[str, Any]:
    """A registry row at a point in Tokyo (to be rejected: outside Taiwan)."""
    return {"code": None, "cells": [category, name, "", "", "", f"{TOKYO[0]}", f"{TOKYO[1]}", "營運中", *[""] * 5]}


def base_rows(n: int = 10, category: str = "小衛星", start: int = 0) -> list[dict[str, Any]]:
    """``n`` valid registry rows, each in its own 嘉義縣 township, with planted personal values."""
    rows = []
    for i in range(n):
        code, town, lon, lat = CHIAYI[(start + i) % len(CHIAYI)]
        rows.append({
            "code": code, "cells": [
                category, f"測試據點{start + i + 1:02d}", "嘉義縣", town, "", f"{lon:.5f}", f"{lat:.5f}", "營運中",
                "2020/01/01", "", "縣府清冊", f"甄秘密{i}", f"0987-654-{i:03d}",
            ],
        })
    return rows


def write_registry(path: Path, rows: list[dict], header: list[str] = HEADER, encoding: str = "utf-8",
                   newline: str = "\n") -> Path:
    text = newline.join([csv_line(header), *[csv_line(r["cells"]) for r in rows]]) + newline
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def col_letter(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def _xml_text(v: str) -> str:
    return v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sheet_xml(rows: list[list[str]], hidden_rows: set[int] = frozenset(), extra: str = "",
              dimension: str | None = None) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
           '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">']
    if dimension:
        out.append(f'<dimension ref="{dimension}"/>')
    out.append("<sheetData>")
    for i, row in enumerate(rows, 1):
        hid = ' hidden="1"' if i in hidden_rows else ""
        cells = "".join(
            f'<c r="{col_letter(j)}{i}" t="inlineStr"><is><t>{_xml_text(v)}</t></is></c>'
            for j, v in enumerate(row, 1) if v != ""
        )
        out.append(f'<row r="{i}"{hid}>{cells}</row>')
    out.append(extra)
    out.append("</sheetData></worksheet>")
    return "".join(out)


def write_xlsx(path: Path, sheets: list[tuple[str, str, str]], shared_strings: Callable | None = None) -> Path:
    """A workbook from (name, state, sheet XML) triples; ``shared_strings(fh)`` writes sharedStrings.xml."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ct = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
          '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">',
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>',
          '<Default Extension="xml" ContentType="application/xml"/>',
          '<Override PartName="/xl/workbook.xml" '
          'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>']
    ct += [f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
           'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
           for i in range(1, len(sheets) + 1)]
    if shared_strings:
        ct.append('<Override PartName="/xl/sharedStrings.xml" '
                  'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>')
    ct.append("</Types>")
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>')
    wb = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
          '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
          'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>']
    wbrels = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
              '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">']
    for i, (name, state, _) in enumerate(sheets, 1):
        st = f' state="{state}"' if state != "visible" else ""
        wb.append(f'<sheet name="{_xml_text(name)}" sheetId="{i}"{st} r:id="rId{i}"/>')
        wbrels.append(f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                      f'relationships/worksheet" Target="worksheets/sheet{i}.xml"/>')
    if shared_strings:
        wbrels.append(f'<Relationship Id="rId{len(sheets) + 1}" Type="http://schemas.openxmlformats.org/'
                      'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>')
    wb.append("</sheets></workbook>")
    wbrels.append("</Relationships>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "".join(ct))
        z.writestr("_rels/.rels", rels)
        z.writestr("xl/workbook.xml", "".join(wb))
        z.writestr("xl/_rels/workbook.xml.rels", "".join(wbrels))
        for i, (_, _, xml) in enumerate(sheets, 1):
            z.writestr(f"xl/worksheets/sheet{i}.xml", xml)
        if shared_strings:
            with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as fh:
                shared_strings(fh)
    return path


# ----------------------------------------------------------------------------- checks

def check_registry(rows: list[dict], *, records: int | None = None, may_refuse: bool = True,
                   must_reject: tuple[int, ...] = (), category: str = CSP, first_line: int = 2,
                   ) -> Callable[[Result], list[str]]:
    """The registry integrity check.

    Exit 0: ``rows_read`` equals the physical data lines (``records`` when a legitimately quoted
    newline makes them differ); every rejected row number is a data line of the file; the
    facilities counted per township are exactly those of the rows not rejected (so no merged or
    misread record was accepted with another row's coordinates); ``must_reject`` rows are rejected.
    Exit 1 (a refusal naming the file) is accepted when ``may_refuse``.
    """
    n = len(rows) if records is None else records

    def check(res: Result) -> list[str]:
        if res.rc == 1:
            return [] if may_refuse else ["the file was refused; it should have been read"]
        if res.rc != 0:
            return []
        s = summary(res)
        reg = s.get("registry") or {}
        probs = []
        if reg.get("rows_read") != n:
            probs.append(f"rows_read {reg.get('rows_read')} != {n} physical data lines (records merged or lost)")
        rej_rows = {int(r["row"]) for r in rejected(res) if str(r.get("row", "")).lstrip("-").isdigit()}
        bad_no = sorted(r for r in rej_rows if not first_line <= r < first_line + len(rows))
        if bad_no:
            probs.append(f"rejected row numbers {bad_no} are not data lines of the file (lines {first_line}–"
                         f"{first_line + len(rows) - 1})")
        probs += [f"line {r} should be rejected and is not" for r in must_reject if r not in rej_rows]
        expected = Counter(row["code"] for k, row in enumerate(rows) if k + first_line not in rej_rows
                           and row.get("code"))
        got = {c: v for c, v in township_counts(res, category).items() if v}
        if dict(expected) != got:
            diff = sorted(set(expected) ^ set(got) | {c for c in expected if expected[c] != got.get(c)})
            names = {c: t for c, t, _, _ in CHIAYI}
            probs.append("facilities per township differ from the rows not rejected (a merged/misread record was "
                         "accepted): " + ", ".join(f"{names.get(c, c)} expected {expected.get(c, 0)} got "
                                                    f"{got.get(c, 0)}" for c in diff[:6]))
        return probs

    return check


def all_checks(*checks: Callable[[Result], list[str]]) -> Callable[[Result], list[str]]:
    def check(res: Result) -> list[str]:
        return [p for c in checks for p in c(res)]

    return check


def requires(pred: Callable[[Result], bool], message: str) -> Callable[[Result], list[str]]:
    def check(res: Result) -> list[str]:
        if res.rc != 0:
            return []
        try:
            ok = pred(res)
        except Exception as exc:
            return [f"{message} (check could not run: {type(exc).__name__}: {exc})"]
        return [] if ok else [message]

    return check


# ----------------------------------------------------------------------------- the corpus

def build(root: Path) -> list[Case]:
    """Write every hostile input under ``root`` and return the cases."""
    root.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []
    for make in (_controls, _csv_quotes, _csv_other, _programmes, _status_dates, _place_names, _xlsx, _vector,
                 _population, _targets, _scenario, _points, _cli, _outputs):
        cases += make(root)
    return cases


def _report(path: Path | list[Path], *more: str, county: str = "嘉義縣") -> list[str]:
    files = path if isinstance(path, list) else [path]
    argv = ["report"]
    for f in files:
        argv += ["--facilities", str(f)]
    if county:
        argv += ["--county", county]
    return [*argv, "--no-maps", "--out", "{out}", *more]


def _controls(root: Path) -> list[Case]:
    rows = base_rows(10)
    p = write_registry(root / "control" / "清冊.csv", rows)
    return [
        Case("control-report", "control", "valid 10-row registry, report (the baseline time and memory)",
             _report(p), check_registry(rows, may_refuse=False)),
        Case("control-validate", "control", "valid 10-row registry, validate", ["validate", str(p)]),
    ]


def _csv_quotes(root: Path) -> list[Case]:
    cases = []
    cells = {0: "category", 1: "name", 3: "township", 4: "address", 5: "lon", 7: "status", 11: "contact",
             12: "phone (last cell)"}
    for k, where in ((0, "first"), (4, "middle"), (9, "last")):
        for j, what in cells.items():
            rows = base_rows(10)
            rows[k]["cells"][j] = '"' + rows[k]["cells"][j]
            p = write_registry(root / f"q-{k}-{j}" / "清冊.csv", rows)
            cases.append(Case(
                f"csv-quote-{where}-{what.split()[0]}", "registry CSV: quote damage",
                f"stray opening quote in the {what} cell of the {where} data row (line {k + 2})",
                _report(p), check_registry(rows), names_file="清冊.csv"))
    # Two stray quotes: row 2 opens, row 5 closes -> one merged record with row 5's coordinates.
    rows = base_rows(10)
    rows[1]["cells"][1] = '"' + rows[1]["cells"][1]
    rows[4]["cells"][1] = rows[4]["cells"][1] + '"'
    p = write_registry(root / "q-pair" / "清冊.csv", rows)
    cases.append(Case("csv-quote-pair-merge", "registry CSV: quote damage",
                      "quote opened in line 3's name and closed in line 6's: lines 3-6 parse as one record carrying "
                      "line 6's coordinates", _report(p), check_registry(rows), names_file="清冊.csv"))
    # Unterminated quote in the very last cell, no final newline.
    rows = base_rows(10)
    rows[9]["cells"][12] = '"0987-654-999'
    p = root / "q-eof" / "清冊.csv"
    write_registry(p, rows)
    p.write_bytes(p.read_bytes().rstrip(b"\n"))
    cases.append(Case("csv-quote-unterminated-eof", "registry CSV: quote damage",
                      "unterminated quote in the last cell, no newline at end", _report(p), check_registry(rows),
                      names_file="清冊.csv"))
    # A quote inside a cell (not at its start): literal, harmless.
    rows = base_rows(10)
    rows[3]["cells"][1] = '測試"據點'
    p = write_registry(root / "q-mid" / "清冊.csv", rows)
    cases.append(Case("csv-quote-inside-cell", "registry CSV: quote damage", "a quote inside a name (literal)",
                      _report(p), check_registry(rows, may_refuse=False)))
    # A correctly quoted cell with doubled quotes and a comma.
    rows = base_rows(10)
    rows[3]["cells"][1] = '"測試""據點"",甲"'
    p = write_registry(root / "q-ok" / "清冊.csv", rows)
    cases.append(Case("csv-quote-escaped-ok", "registry CSV: quote damage",
                      "a correctly quoted name with doubled quotes and a comma (valid CSV)",
                      _report(p), check_registry(rows, may_refuse=False)))
    # A correctly quoted address holding a newline: 10 records on 11 lines.
    rows = base_rows(10)
    rows[3]["cells"][4] = '"嘉義縣大林鎮\n中山路1號"'
    p = write_registry(root / "q-nl" / "清冊.csv", rows)

    def nl_check(res: Result) -> list[str]:
        if res.rc != 0:
            return []
        reg = summary(res).get("registry") or {}
        probs = []
        if reg.get("rows_read") not in (10, 11):
            probs.append(f"rows_read {reg.get('rows_read')}; expected 10 records")
        got = {c: v for c, v in township_counts(res).items() if v}
        rej = {int(r["row"]) for r in rejected(res)}
        if not rej and got != dict(Counter(r["code"] for r in rows)):
            probs.append("facilities per township do not match the 10 records")
        return probs

    cases.append(Case("csv-quoted-newline-ok", "registry CSV: quote damage",
                      "a correctly quoted address containing a newline (valid CSV: 10 records on 11 lines)",
                      _report(p), nl_check, names_file="清冊.csv"))
    # Quote closed early then text: "abc"def
    rows = base_rows(10)
    rows[5]["cells"][1] = '"測試"據點06'
    p = write_registry(root / "q-after" / "清冊.csv", rows)
    cases.append(Case("csv-quote-text-after-close", "registry CSV: quote damage", 'name written "測試"據點06',
                      _report(p), check_registry(rows), names_file="清冊.csv"))
    return cases


def _csv_other(root: Path) -> list[Case]:
    cases = []
    C = "registry CSV: structure"

    def reg(name: str, rows: list[dict], **kw) -> Path:
        return write_registry(root / name / "清冊.csv", rows, **kw)

    # 1,000,000-comma row among normal rows.
    rows = base_rows(10)
    p = root / "wide" / "清冊.csv"
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "w", encoding="utf-8") as fh:
        fh.write(csv_line(HEADER) + "\n")
        for k, r in enumerate(rows):
            if k == 5:
                fh.write("小衛星,寬列" + "," * 1_000_000 + "\n")
            else:
                fh.write(csv_line(r["cells"]) + "\n")
    wide_rows = [r if k != 5 else {"code": None, "cells": []} for k, r in enumerate(rows)]
    cases.append(Case("csv-million-comma-row", C, "one row of 1,000,000 commas among 10 normal rows",
                      _report(p), check_registry(wide_rows, must_reject=(7,)), bomb=True, expect=(0, 1),
                      names_file="清冊.csv"))
    # Cell over the csv module's field limit (131,072).
    rows = base_rows(10)
    rows[3]["cells"][1] = "長" * 200_000
    rows[3]["code"] = None
    p = reg("field-limit", rows)
    cases.append(Case("csv-cell-over-field-limit", C, "a 200,000-character name (csv field limit 131,072)",
                      _report(p), check_registry(rows), names_file="清冊.csv", bomb=True, expect=(0, 1)))
    # NUL bytes.
    rows = base_rows(10)
    rows[0]["cells"][1] = "測試\x00據點"
    p = reg("nul-head", rows)
    cases.append(Case("csv-nul-first-row", C, "a NUL byte in the first data row", _report(p),
                      check_registry(rows), expect=(0, 1), names_file="清冊.csv"))
    rows = [{"code": r["code"], "cells": [r["cells"][0], f"據點{k:04d}", *r["cells"][2:]]}
            for k, r in enumerate(base_rows(10) * 20)]
    rows[150]["cells"][1] = "後段\x00據點"
    p = reg("nul-late", rows)
    cases.append(Case("csv-nul-after-4k", C, "a NUL byte in line 152 (past the first 4 KB)", _report(p),
                      check_registry(rows), expect=(0, 1), names_file="清冊.csv"))
    # BOM + Big5 mix.
    rows = base_rows(10)
    p = root / "bom-big5" / "清冊.csv"
    p.parent.mkdir(parents=True, exist_ok=True)
    body = (csv_line(HEADER) + "\n").encode("utf-8-sig")
    for k, r in enumerate(rows):
        body += (csv_line(r["cells"]) + "\n").encode("cp950" if k in (3, 7) else "utf-8")
    p.write_bytes(body)
    cases.append(Case("csv-bom-plus-big5-rows", C, "UTF-8 BOM and header, lines 5 and 9 in Big5", _report(p),
                      check_registry(rows), expect=(0, 1), names_file="清冊.csv"))
    rows = base_rows(10)
    p = reg("big5", rows, encoding="cp950")
    cases.append(Case("csv-big5-whole", C, "whole file in Big5 (cp950)", _report(p),
                      check_registry(rows, may_refuse=False)))
    rows = base_rows(10)
    p = reg("utf16", rows, encoding="utf-16")
    cases.append(Case("csv-utf16", C, "whole file in UTF-16 with BOM", _report(p), check_registry(rows)))
    rows = base_rows(10)
    p = reg("cr", rows, newline="\r")
    cases.append(Case("csv-cr-line-endings", C, "old Mac CR-only line endings", _report(p), check_registry(rows)))
    rows = base_rows(10)
    p = reg("crlf", rows, newline="\r\n")
    cases.append(Case("csv-crlf", C, "Windows CRLF line endings", _report(p),
                      check_registry(rows, may_refuse=False)))
    # Too few cells: 啟用日期 left out, the contact name lands in 結束日期.
    rows = base_rows(10)
    rows[4]["cells"] = rows[4]["cells"][:8] + rows[4]["cells"][9:]
    p = reg("few-shift", rows)
    cases.append(Case("csv-too-few-cells-contact-in-date", C,
                      "line 6 lacks its 啟用日期 cell: 結束日期 holds the source, 聯絡人 the phone (shifted)",
                      _report(p), check_registry(rows, must_reject=(6,)), names_file="清冊.csv"))
    hdr = ["類別", "名稱", "縣市", "鄉鎮市區", "經度", "緯度", "啟用日期", "結束日期", "聯絡人", "電話"]
    rows = [{"code": r["code"], "cells": [r["cells"][i] for i in (0, 1, 2, 3, 5, 6, 8, 9, 11, 12)]}
            for r in base_rows(10)]
    rows[4]["cells"] = rows[4]["cells"][:6] + rows[4]["cells"][7:]  # 啟用日期 missing: 結束日期 = contact
    p = write_registry(root / "few-shift2" / "清冊.csv", rows, header=hdr)
    cases.append(Case("csv-too-few-cells-name-in-closed", C,
                      "line 6 lacks 啟用日期: the contact's name lands in 結束日期 (privacy)",
                      _report(p), check_registry(rows, must_reject=(6,)), names_file="清冊.csv"))
    rows = base_rows(10)
    rows[6]["cells"] = rows[6]["cells"][:-1]
    p = reg("few-trailing", rows)
    cases.append(Case("csv-too-few-cells-trailing", C, "line 8 has one cell fewer than the header (phone missing)",
                      _report(p), check_registry(rows, must_reject=(8,)), names_file="清冊.csv"))
    rows = base_rows(10)
    rows[2]["cells"] = [*rows[2]["cells"][:1], "多一格", *rows[2]["cells"][1:]]
    p = reg("many", rows)
    cases.append(Case("csv-too-many-cells-personal", C, "line 4 has one cell more (values shifted right)",
                      _report(p), check_registry(rows, must_reject=(4,)), names_file="清冊.csv"))
    hdr2 = HEADER[:11]
    rows = [{"code": r["code"], "cells": r["cells"][:11]} for r in base_rows(10)]
    rows[2]["cells"] = [*rows[2]["cells"][:1], "多一格", *rows[2]["cells"][1:]]
    p = write_registry(root / "many2" / "清冊.csv", rows, header=hdr2)
    cases.append(Case("csv-too-many-cells-plain", C, "line 4 has one cell more; no personal columns",
                      _report(p), check_registry(rows, must_reject=(4,)), names_file="清冊.csv"))
    # Formula cells.
    rows = base_rows(10)
    rows[1]["cells"][1] = '"=HYPERLINK(""http://evil.example"",""x"")"'
    rows[2]["cells"][10] = "@SUM(A1:A9)"
    rows[3]["cells"][1] = "+cmd|' /C calc'!A0"
    rows[4]["cells"][1] = "-2+3"
    rows[5]["cells"][10] = "=1+1"
    rows.append({"code": None, "cells": ["=2+5", "公式類別", "嘉義縣", "竹崎鄉", "", "", "", "營運中", "", "", "x",
                                         "", ""]})
    p = reg("formula", rows)
    cases.append(Case("csv-formula-cells", C, "cells starting with = + - @ (name, source, a custom category)",
                      _report(p), all_checks(requires(lambda r: (summary(r).get("registry") or {}).get(
                          "rows_read") == 11, "rows_read != 11")), formula_scan=True))
    cases.append(Case("csv-formula-cells-xlsx", C, "same, with --xlsx: no formula in the workbook",
                      _report(p, "--xlsx"), None, formula_scan=True))
    # Duplicated headers.
    hdr3 = [*HEADER[:7], "經度", *HEADER[7:]]
    rows = [{"code": r["code"], "cells": [*r["cells"][:7], r["cells"][5], *r["cells"][7:]]} for r in base_rows(10)]
    p = write_registry(root / "dup-hdr" / "清冊.csv", rows, header=hdr3)
    cases.append(Case("csv-duplicate-header-same", C, "經度 twice with the same values", _report(p),
                      check_registry(rows)))
    rows = [{"code": r["code"], "cells": [*r["cells"][:7], f"{TOKYO[0]}", *r["cells"][7:]]} for r in base_rows(10)]
    p = write_registry(root / "dup-hdr2" / "清冊.csv", rows, header=hdr3)
    cases.append(Case("csv-duplicate-header-conflict", C,
                      "經度 twice, the second holding other values: must be refused, rejected or reported",
                      _report(p), all_checks(check_registry(rows), requires(
                          lambda r: _mentions(r, "duplicate", "重複", "經度"),
                          "a second, conflicting 經度 column was silently ignored (not mentioned)")),
                      names_file="清冊.csv"))
    # Header only, empty, title rows.
    p = root / "hdr-only" / "清冊.csv"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(csv_line(HEADER) + "\n", encoding="utf-8")
    cases.append(Case("csv-header-only", C, "header, no data rows", _report(p),
                      requires(lambda r: (summary(r).get("registry") or {}).get("rows_read") == 0, "rows_read != 0"),
                      expect=(0, 1), names_file="清冊.csv"))
    p = root / "empty" / "清冊.csv"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"")
    cases.append(Case("csv-empty", C, "an empty file", _report(p), expect=(1,), names_file="清冊.csv"))
    rows = base_rows(10)
    rows[3]["cells"][5], rows[3]["cells"][6] = f"{TOKYO[0]}", f"{TOKYO[1]}"
    p = root / "title" / "清冊.csv"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("嘉義縣 據點清冊\n製表日期 113/01/01\n" + csv_line(HEADER) + "\n"
                 + "\n".join(csv_line(r["cells"]) for r in rows) + "\n", encoding="utf-8")
    cases.append(Case("csv-title-rows-row-numbers", C,
                      "two title lines above the header; a Tokyo point on line 7 must be rejected as row 7",
                      _report(p), check_registry(rows, may_refuse=False, must_reject=(7,), first_line=4)))
    rows = base_rows(10)
    p = root / "semi" / "清冊.csv"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("\n".join(";".join(c) for c in [HEADER, *[r["cells"] for r in rows]]) + "\n", encoding="utf-8")
    cases.append(Case("csv-semicolon", C, "semicolon-delimited", _report(p), check_registry(rows, may_refuse=False)))
    # Coordinates.
    for name, lon, lat in (("tokyo", *TOKYO), ("nan", "nan", "nan"), ("inf", "inf", "-inf"),
                           ("1e400", "1e400", "23.5"), ("text", "東經120度", "北緯23度"),
                           ("negative", "-120.5", "-23.5")):
        rows = base_rows(10)
        rows[2]["cells"][5], rows[2]["cells"][6] = str(lon), str(lat)
        p = reg(f"coord-{name}", rows)
        cases.append(Case(f"csv-coordinates-{name}", "registry CSV: values",
                          f"line 4 at lon {lon}, lat {lat}: rejected with a reason", _report(p),
                          check_registry(rows, may_refuse=False, must_reject=(4,))))
    rows = base_rows(10)
    rows[2]["cells"][5], rows[2]["cells"][6] = rows[2]["cells"][6], rows[2]["cells"][5]
    p = reg("coord-swapped", rows)
    cases.append(Case("csv-coordinates-swapped", "registry CSV: values", "lon/lat swapped on line 4: recognised",
                      _report(p), check_registry(rows, may_refuse=False)))
    # Bad caseload carrying a personal note.
    hdr4 = [*HEADER, "個案數"]
    rows = [{"code": r["code"], "cells": [*r["cells"], "12"]} for r in base_rows(10)]
    rows[3]["cells"][-1] = "約37人(案主林某)"
    p = write_registry(root / "cases" / "清冊.csv", rows, header=hdr4)
    cases.append(Case("csv-cases-personal-text", "registry CSV: values",
                      "個案數 '約37人(案主林某)': rejected without echoing the value", _report(p),
                      check_registry(rows, may_refuse=False, must_reject=(5,))))
    # Duplicate rows.
    rows = base_rows(10)
    rows.append({"code": None, "cells": list(rows[0]["cells"])})
    p = reg("dup-rows", rows)
    cases.append(Case("csv-duplicate-row", "registry CSV: values", "line 12 repeats line 2: rejected as duplicate",
                      _report(p), check_registry(rows, may_refuse=False, must_reject=(12,))))
    return cases


_KNOWN_NAMES = [
    ("社福中心", "welfare_centre"), ("社會福利中心", "welfare_centre"), ("家庭福利服務中心", "welfare_centre"),
    ("社會福利服務中心", "welfare_centre"), ("小衛星", CSP), ("小衛星據點", CSP), ("兒少據點", CSP),
    ("兒少及家庭支持服務據點", CSP), ("兒童及少年家庭社區支持服務據點", CSP), ("兒少及家庭社區支持服務據點", CSP),
    ("心衛中心", "mental_health_centre"), ("心理衛生中心", "mental_health_centre"),
    ("社區心衛中心", "mental_health_centre"), ("會所", "psychiatric_collab_point"),
    ("精障會所", "psychiatric_collab_point"), ("精神障礙者協作模式服務據點", "psychiatric_collab_point"),
    ("WELFARE_CENTRE", "welfare_centre"), ("Welfare Centre", "welfare_centre"),
    ("  welfare centre ", "welfare_centre"), ("Community Support Point", CSP),
    ("ＷＥＬＦＡＲＥ＿ＣＥＮＴＲＥ", "welfare_centre"), ("Mental Health Centre", "mental_health_centre"),
]


def _programmes(root: Path) -> list[Case]:
    cases = []
    C = "programme names"
    for k, (name, key) in enumerate(_KNOWN_NAMES):
        rows = base_rows(3, category=name)
        for r in rows:
            r["cells"][0] = f'"{name}"' if name != name.strip() else name
        p = write_registry(root / f"prog-{k}" / "清冊.csv", rows)

        def chk(res: Result, key=key, rows=rows, name=name) -> list[str]:
            if res.rc != 0:
                return []
            row = coverage_row(res, "嘉義縣", key)
            if not row or row.get("covered") != 3:
                return [f"category {name.strip()!r} not read as {key} (嘉義縣 {key}: "
                        f"{row.get('covered') if row else 'absent'}/18; expected 3)"]
            return []

        cases.append(Case(f"programme-{key}-{k:02d}", C, f"category written {name!r} → {key}", _report(p), chk))
    # Custom programme: kept, listed as custom.
    rows = base_rows(3, category="少年服務方案")
    p = write_registry(root / "prog-custom" / "清冊.csv", rows)
    cases.append(Case("programme-custom-kept", C, "少年服務方案 is a custom programme: kept and listed as custom",
                      _report(p), all_checks(
                          requires(lambda r: (coverage_row(r, "嘉義縣", "少年服務方案") or {}).get("covered") == 3,
                                   "custom programme 少年服務方案 not kept (expected 3/18 in summary.json)"),
                          requires(lambda r: _mentions(r, "custom", "自訂"),
                                   "custom programme not listed as custom in output"))))
    near_misses = (("小衛", "小衛星"), ("社福中新", "社福中心"), ("心衛中", "心衛中心"), ("Welfare Center", "welfare"))
    for bad, near in near_misses:
        rows = base_rows(3, category=bad)
        p = write_registry(root / f"prog-typo-{near}" / "清冊.csv", rows)

        def chk(res: Result, bad=bad, near=near) -> list[str]:
            if res.rc != 0:
                return []
            if (coverage_row(res, "嘉義縣", bad) or {}).get("covered"):
                return [f"{bad!r} accepted as a new custom programme (a fork of {near}); expected a did-you-mean "
                        "rejection (or mapping to the known programme)"]
            mapped = any((coverage_row(res, "嘉義縣", k) or {}).get("covered") == 3 for _, k in _KNOWN_NAMES)
            reasons = " ".join(r["reason"] for r in rejected(res))
            if not mapped and near.lower() not in reasons.lower():
                return [f"{bad!r} rejected without a did-you-mean naming {near}"]
            return []

        cases.append(Case(f"programme-near-miss-{near}", C, f"category {bad!r}, near {near}: did-you-mean",
                          _report(p), chk))
    return cases


def _status_dates(root: Path) -> list[Case]:
    cases = []
    C = "status and dates"
    for status, opened, closed in (("停辦", "2020/01/01", ""), ("已結束", "109/01/01", ""),
                                   ("暫停服務", "2020/01/01", ""), ("規劃中", "2020/01/01", ""),
                                   ("籌備中", "2019/06/01", ""), ("營運中", "2099/01/01", "")):
        rows = base_rows(3)
        rows[0]["cells"][7], rows[0]["cells"][8], rows[0]["cells"][9] = status, opened, closed
        p = write_registry(root / f"st-{status}" / "清冊.csv", rows)
        checks = [requires(lambda r: township_counts(r).get("10010010", 0) == 0 and not any(
            t.get("towncode") == "10010010" and t.get("category") == CSP and t.get("covered") == "True"
            for t in _read_csv(r.out / "townships.csv")),
            f"a point with status {status} (opened {opened}) is counted as open in 太保市")]
        if status in ("規劃中", "籌備中", "營運中"):
            checks.append(requires(lambda r, s=status: s in json.dumps(summary(r), ensure_ascii=False),
                                   f"status {status} contradicting opened {opened} is not listed among the "
                                   "mismatches in summary.json"))
        cases.append(Case(f"status-{status}-opened-{opened.replace('/', '')}", C,
                          f"status {status}, opened {opened}: not open (and a contradiction is listed)",
                          _report(p), all_checks(*checks)))
    rows = base_rows(3)
    rows[0]["cells"][8], rows[0]["cells"][9] = "108/01/01", "109/12/31"
    p = write_registry(root / "closed-10912" / "清冊.csv", rows)
    cases.append(Case("closed-109-12-31-as-of-that-day", C, "closed 109/12/31 counts on 109/12/31 (last day)",
                      _report(p, "--as-of", "109/12/31"),
                      requires(lambda r: township_counts(r).get("10010010", 0) == 1,
                               "a point closed 109/12/31 is not counted on 109/12/31")))
    rows = base_rows(1)
    rows[0]["cells"][8], rows[0]["cells"][9] = "108/01/01", "109/12/31"
    p = write_registry(root / "closed-trend" / "清冊.csv", rows)

    def trend_chk(res: Result) -> list[str]:
        if res.rc != 0:
            return []
        t = [r for r in _read_csv(res.out / "trend.csv") if r.get("county") == "嘉義縣" and r.get("category") == CSP]
        y2020 = [r for r in t if r.get("year") == "2020" or r.get("roc_year") in ("109", "民國109")]
        if not y2020 or int(float(y2020[0].get("facilities") or 0)) != 1:
            return ["a point closed 109/12/31 is missing from 109's year-end trend"]
        return []

    cases.append(Case("closed-109-12-31-trend", C, "closed 109/12/31 counts in 109's year-end trend",
                      ["trend", "--facilities", str(p), "--county", "嘉義縣", "--from", "108", "--to", "110",
                       "--no-chart", "--out", "{out}"], trend_chk))
    rows = base_rows(3)
    rows[0]["cells"][8], rows[0]["cells"][9] = "2023/01/01", "2021/01/01"
    p = write_registry(root / "closed-before" / "清冊.csv", rows)
    cases.append(Case("closed-before-opened", C, "closed before opened: rejected", _report(p),
                      check_registry(rows, may_refuse=False, must_reject=(2,))))
    rows = base_rows(3)
    rows[0]["cells"][8] = "112/13/45"
    p = write_registry(root / "bad-date" / "清冊.csv", rows)
    cases.append(Case("date-nonsense-roc", C, "opened 112/13/45: rejected", _report(p),
                      check_registry(rows, may_refuse=False, must_reject=(2,))))
    return cases


def _place_names(root: Path) -> list[Case]:
    cases = []
    C = "place names (台/臺, variants)"
    tests = [
        ("addr-tai", {"地址": "台南市新營區中正路1號"}, "臺南市", "67000010"),
        ("addr-heng", {"地址": "屏東縣恒春鎮中正路1號"}, "屏東縣", "10013040"),
        ("town-heng", {"縣市": "屏東縣", "鄉鎮市區": "恒春鎮"}, "屏東縣", "10013040"),
        ("town-wutai", {"縣市": "屏東縣", "鄉鎮市區": "霧台鄉"}, "屏東縣", "10013270"),
        ("addr-wutai", {"地址": "屏東縣霧台鄉霧台村1號"}, "屏東縣", "10013270"),
        ("town-emei", {"縣市": "新竹縣", "鄉鎮市區": "峨嵋鄉"}, "新竹縣", "10004110"),
        ("town-nanao", {"縣市": "宜蘭縣", "鄉鎮市區": "南澳鎮"}, "宜蘭縣", "10002120"),
        ("county-tai", {"縣市": "台南市", "鄉鎮市區": "新營區"}, "臺南市", "67000010"),
        ("addr-old-county", {"地址": "台北縣板橋市文化路1號"}, "新北市", "65000010"),
    ]
    for name, fields, county, code in tests:
        cells = dict.fromkeys(HEADER, "")
        cells.update({"類別": "小衛星", "名稱": f"地名測試{name}", "狀態": "營運中", **fields})
        rows = [{"code": code, "cells": [cells[h] for h in HEADER]}]
        p = write_registry(root / f"place-{name}" / "清冊.csv", rows)
        cases.append(Case(f"place-{name}", C, f"{fields} locates in {code}", _report(p, county=county),
                          requires(lambda r, code=code: township_counts(r).get(code, 0) == 1,
                                   f"{'/'.join(fields.values())} not located in {code}")))
    rows = [{"code": None, "cells": ["小衛星", "地址錯字", "", "", "嘉義縣竹崎相中正路1號", "", "", "營運中",
                                     *[""] * 5]}]
    p = write_registry(root / "place-addr-typo" / "清冊.csv", rows)
    cases.append(Case("place-address-did-you-mean", C, "address 嘉義縣竹崎相… rejected with a did-you-mean (竹崎鄉)",
                      _report(p), requires(lambda r: any("竹崎鄉" in x["reason"] for x in rejected(r)),
                                           "rejected address has no did-you-mean naming 竹崎鄉")))
    return cases


def _xlsx(root: Path) -> list[Case]:
    cases = []
    C = "registry XLSX"
    d = root / "xlsx"

    def rows_of(rows: list[dict]) -> list[list[str]]:
        return [HEADER, *[r["cells"] for r in rows]]

    a, b = base_rows(3), base_rows(3, category="社福中心", start=3)
    a.append(tokyo_row("小衛星", "東京據點"))
    b.append(tokyo_row("社福中心", "東京中心"))
    p = write_xlsx(d / "sheets" / "清冊.xlsx", [("小衛星", "visible", sheet_xml(rows_of(a))),
                                                 ("社福中心", "visible", sheet_xml(rows_of(b)))])

    def sheets_chk(res: Result) -> list[str]:
        if res.rc != 0:
            return []
        probs = []
        reg = summary(res).get("registry") or {}
        if reg.get("rows_read") != 8:
            probs.append(f"rows_read {reg.get('rows_read')}; the two visible registry sheets hold 8 rows "
                         "(only the first sheet read?)")
        files = {r["file"] for r in rejected(res)}
        if not any("#小衛星" in f for f in files) or not any("#社福中心" in f for f in files):
            probs.append(f"rejected.csv file labels {sorted(files)} do not name the sheets (清冊.xlsx#小衛星)")
        want = dict.fromkeys(("10010040", "10010050", "10010060"), 1)
        if {c: v for c, v in township_counts(res, "welfare_centre").items() if v} != want:
            probs.append("the second sheet's 社福中心 are not counted")
        return probs

    cases.append(Case("xlsx-two-visible-sheets", C, "two visible sheets with registry headers: both read, labelled",
                      _report(p), sheets_chk))
    old = base_rows(2, start=10)
    p = write_xlsx(d / "hidden-sheet" / "清冊.xlsx", [("小衛星", "visible", sheet_xml(rows_of(base_rows(3)))),
                                                      ("舊資料", "hidden", sheet_xml(rows_of(old)))])
    cases.append(Case("xlsx-hidden-sheet", C, "a hidden sheet 舊資料: not read, but named in the output",
                      _report(p), all_checks(
                          requires(lambda r: sum(township_counts(r).values()) == 3,
                                   "rows of the hidden sheet were counted"),
                          requires(lambda r: _mentions(r, "舊資料"),
                                   "the skipped hidden sheet 舊資料 is not named in the output"))))
    rows = base_rows(4)
    p = write_xlsx(d / "hidden-row" / "清冊.xlsx", [("小衛星", "visible", sheet_xml(rows_of(rows), hidden_rows={3}))])
    cases.append(Case("xlsx-hidden-row", C, "row 3 hidden: not read, but named in the output", _report(p),
                      all_checks(requires(lambda r: township_counts(r).get(rows[1]["code"], 0) == 0,
                                          "the hidden row 3 was counted as a facility"),
                                 requires(lambda r: _mentions(r, "hidden", "隱藏"),
                                          "the skipped hidden row is not reported"))))
    p = write_xlsx(d / "xfd" / "清冊.xlsx", [("小衛星", "visible", sheet_xml(
        rows_of(base_rows(3)), extra='<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'))])
    cases.append(Case("xlsx-cell-at-XFD1048576", C, f"one cell at XFD1048576 ({p.stat().st_size:,} bytes)",
                      _report(p), balance, bomb=True, expect=(0, 1), names_file="清冊.xlsx"))
    lie_rows = base_rows(10) * 300
    p = write_xlsx(d / "dimension" / "清冊.xlsx", [("小衛星", "visible", sheet_xml(
        rows_of(lie_rows), dimension="A1:XFD3001"))])
    cases.append(Case("xlsx-dimension-lie", C, "3,000 rows, <dimension> claims 16,384 columns", _report(p),
                      balance, bomb=True, expect=(0, 1), names_file="清冊.xlsx"))

    def bomb_strings(fh) -> None:
        n = 12_000_000
        fh.write(f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
                 f'spreadsheetml/2006/main" count="{n}" uniqueCount="{n}">'.encode())
        chunk = b"<si><t>a</t></si>" * 100_000
        for _ in range(n // 100_000):
            fh.write(chunk)
        fh.write(b"</sst>")

    p = write_xlsx(d / "sst-bomb" / "清冊.xlsx", [("小衛星", "visible", sheet_xml(rows_of(base_rows(3))))],
                   shared_strings=bomb_strings)
    cases.append(Case("xlsx-shared-strings-bomb", C,
                      f"sharedStrings.xml of 12,000,000 strings (204 MB) in a {p.stat().st_size / 2**20:.1f} MB file",
                      _report(p), balance, bomb=True, expect=(0, 1), names_file="清冊.xlsx"))
    good = sheet_xml(rows_of(base_rows(3)))
    p = write_xlsx(d / "malformed" / "清冊.xlsx", [("小衛星", "visible", good[: len(good) // 2])])
    cases.append(Case("xlsx-malformed-sheet-xml", C, "sheet XML cut in the middle of a row", _report(p),
                      expect=(1,), names_file="清冊.xlsx"))
    p = write_xlsx(d / "malformed2" / "清冊.xlsx", [("小衛星", "visible", good.replace("</row>", "</rw>", 2))])
    cases.append(Case("xlsx-mismatched-tag", C, "sheet XML with a mismatched closing tag", _report(p),
                      expect=(1,), names_file="清冊.xlsx"))
    ents = '<!DOCTYPE worksheet [<!ENTITY a0 "ha">' + "".join(
        f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 10)) + "]>"
    laughs = good.replace('<worksheet', ents + '<worksheet', 1).replace("測試據點01", "&a9;")
    p = write_xlsx(d / "laughs" / "清冊.xlsx", [("小衛星", "visible", laughs)])
    cases.append(Case("xlsx-entity-expansion", C, "billion laughs (10^9 expansion) in the sheet XML", _report(p),
                      balance, bomb=True, expect=(1,), names_file="清冊.xlsx"))
    ext = good.replace('<worksheet', '<!DOCTYPE worksheet [<!ENTITY x SYSTEM "file:///etc/passwd">]><worksheet',
                       1).replace("測試據點01", "&x;")
    p = write_xlsx(d / "xxe" / "清冊.xlsx", [("小衛星", "visible", ext)])
    cases.append(Case("xlsx-external-entity", C, "external entity file:///etc/passwd in the sheet XML", _report(p),
                      all_checks(balance, requires(lambda r: "root:x:0" not in all_output_text(r),
                                                   "/etc/passwd content reached an output")),
                      expect=(0, 1), names_file="清冊.xlsx"))
    p = write_xlsx(d / "noreg" / "清冊.xlsx", [("說明", "visible", sheet_xml([["本檔為說明"], ["無資料"]])),
                                               ("統計", "visible", sheet_xml([["年", "數"], ["2020", "3"]]))])
    cases.append(Case("xlsx-no-registry-sheet", C, "no sheet has a registry header: one clear error", _report(p),
                      expect=(1,), names_file="清冊.xlsx"))
    p = d / "notzip" / "清冊.xlsx"
    p.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    cases.append(Case("xlsx-zip-without-workbook", C, "a zip holding no workbook", _report(p), expect=(1,),
                      names_file="清冊.xlsx"))
    return cases


def _vector(root: Path) -> list[Case]:
    import geopandas as gpd
    import pyogrio
    from shapely.geometry import LineString, Point

    cases = []
    C = "registry GeoPackage/GeoJSON"
    d = root / "vector"
    d.mkdir(parents=True, exist_ok=True)
    p = d / "清冊.gpkg"
    if p.exists():
        p.unlink()
    a = gpd.GeoDataFrame({"類別": ["小衛星"] * 3, "名稱": ["甲", "乙", "丙"]},
                         geometry=[Point(lon, lat) for _, _, lon, lat in CHIAYI[:3]], crs="EPSG:4326")
    b = gpd.GeoDataFrame({"類別": ["小衛星"] * 2 + ["小衛星"], "名稱": ["丁", "戊", "東京"]},
                         geometry=[Point(lon, lat) for _, _, lon, lat in CHIAYI[3:5]] + [Point(*TOKYO)],
                         crs="EPSG:4326")
    ln = gpd.GeoDataFrame({"類別": ["小衛星"], "名稱": ["路線"]},
                          geometry=[LineString([CHIAYI[6][2:], CHIAYI[7][2:]])], crs="EPSG:4326")
    for name, frame in (("小衛星A", a), ("小衛星B", b), ("道路", ln)):
        pyogrio.write_dataframe(frame, p, layer=name, driver="GPKG", append=p.exists())

    def gpkg_chk(res: Result) -> list[str]:
        if res.rc != 0:
            return []
        probs = []
        got = {c: v for c, v in township_counts(res).items() if v}
        want = {c: 1 for c, *_ in CHIAYI[:5]}
        if got != want:
            probs.append(f"facilities counted in {len(got)} townships, expected the 5 points of both point layers "
                         "(only the first layer read?)")
        labels = {r["file"] for r in rejected(res)}
        if not any("小衛星B" in f for f in labels):
            probs.append(f"the Tokyo point of layer 小衛星B is not rejected under a label naming the layer ({labels})")
        return probs

    cases.append(Case("gpkg-two-point-layers-and-line", C, "GeoPackage: point layers 小衛星A, 小衛星B and a line layer",
                      _report(p), gpkg_chk, expect=(0,)))
    deep = d / "deep" / "清冊.geojson"
    deep.parent.mkdir(parents=True, exist_ok=True)
    deep.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"類別":"小衛星",'
                    '"x":' + "[" * 100_000 + "]" * 100_000 + '},"geometry":{"type":"Point","coordinates":'
                    '[120.5,23.5]}}]}', encoding="utf-8")
    cases.append(Case("geojson-nested-100000", C, "GeoJSON with a property nested 100,000 deep", _report(deep),
                      balance, expect=(0, 1), names_file="清冊.geojson", bomb=True))
    gj = d / "tokyo" / "清冊.geojson"
    gj.parent.mkdir(parents=True, exist_ok=True)
    gj.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"類別": "小衛星", "名稱": "竹崎"},
         "geometry": {"type": "Point", "coordinates": list(CHIAYI[13][2:])}},
        {"type": "Feature", "properties": {"類別": "小衛星", "名稱": "東京"},
         "geometry": {"type": "Point", "coordinates": list(TOKYO)}},
        {"type": "Feature", "properties": {"類別": "小衛星", "名稱": "無點"}, "geometry": None},
    ]}, ensure_ascii=False), encoding="utf-8")
    cases.append(Case("geojson-tokyo-and-null", C, "GeoJSON: one good point, one in Tokyo, one without geometry",
                      _report(gj), requires(lambda r: (summary(r).get("registry") or {}).get("rows_read") == 3 and
                                            (summary(r).get("registry") or {}).get("accepted") == 1,
                                            "expected 3 read, 1 accepted")))
    # Two files with the same name in different folders.
    f1 = write_registry(d / "縣府" / "清冊.csv", [*base_rows(3), tokyo_row("小衛星", "東京一")])
    f2 = write_registry(d / "社會處" / "清冊.csv", [*base_rows(3, start=5), tokyo_row("小衛星", "東京二")])

    def same_chk(res: Result) -> list[str]:
        if res.rc != 0:
            return []
        probs = []
        labels = [r["file"] for r in rejected(res)]
        if len(set(labels)) != 2:
            probs.append(f"the two 清冊.csv files share one label in rejected.csv: {labels}")
        files = (summary(res).get("registry") or {}).get("files", [])
        if len(set(files)) != len(files):
            probs.append(f"summary.json lists the files as {files}: not distinct")
        if sum(township_counts(res).values()) != 6:
            probs.append("not all 6 good rows of the two files counted")
        return probs

    cases.append(Case("same-file-name-two-folders", C, "縣府/清冊.csv and 社會處/清冊.csv: labels and ids distinct",
                      _report([f1, f2]), same_chk))
    return cases


def _population(root: Path) -> list[Case]:
    cases = []
    C = "population"
    d = root / "pop"
    d.mkdir(parents=True, exist_ok=True)
    src = SHARED / "population" / "village_population_agegroups_2021-03.csv"
    lines = src.read_text(encoding="utf-8").splitlines()
    header, chiayi = lines[0], [ln for ln in lines[1:] if ",10010" in ln]
    zhuqi = next(ln for ln in chiayi if ",10010140-001," in ln)  # 竹崎村 2891 people

    def popfile(name: str, extra: list[str], body: list[str] | None = None) -> tuple[Path, int]:
        p = d / name / "人口.csv"
        p.parent.mkdir(parents=True, exist_ok=True)
        all_lines = [header, *(chiayi if body is None else body), *extra]
        p.write_text("\n".join(all_lines) + "\n", encoding="utf-8")
        return p, len(all_lines) - 1

    def pop_summary(res: Result) -> dict:
        s = summary(res)
        pop = s.get("population")
        return pop if isinstance(pop, dict) else {}

    def pop_rejected(res: Result) -> list[dict]:
        return _read_csv(res.out / "population_rejected.csv")

    def pop_check(n: int, reject_lines: tuple[int, ...] = (), words: tuple[str, ...] = ()) -> Callable:
        def check(res: Result) -> list[str]:
            if res.rc != 0:
                return []
            probs = []
            ps = pop_summary(res)
            if ps.get("rows_read") != n:
                probs.append(f"population rows_read {ps.get('rows_read')} != {n} physical data lines")
            rej = pop_rejected(res)
            rows = {int(r["row"]) for r in rej if str(r.get("row", "")).isdigit()}
            probs += [f"population line {line} is not rejected" for line in reject_lines if line not in rows]
            if words and reject_lines:
                reasons = " ".join(r.get("reason", "") for r in rej if str(r.get("row")) in map(str, reject_lines))
                if reasons and not any(w in reasons.lower() for w in words):
                    probs.append(f"rejection reason does not say {'/'.join(words)}: {reasons[:120]}")
            return probs

        return check

    parts = zhuqi.split(",")
    v2 = ",".join([parts[0], "10010140001", *parts[2:]])
    v3 = ",".join([parts[0], "", "嘉義縣 竹崎鄉 ", "竹崎村 ", *parts[4:]])
    p, n = popfile("dup3", [v2, v3])
    cases.append(Case("population-village-three-spellings", C,
                      "竹崎村 again as 10010140001 and by name '嘉義縣 竹崎鄉 ': later ones rejected as duplicates",
                      ["report", "--county", "嘉義縣", "--population", str(p), "--no-maps", "--out", "{out}"],
                      pop_check(n, (n, n + 1), ("duplicate", "重複"))))
    neg = ",".join([*parts[:5], "-2891", *parts[6:]])
    body = [neg if ln == zhuqi else ln for ln in chiayi]
    p, n = popfile("neg", [], body)
    line = body.index(neg) + 2
    cases.append(Case("population-negative-count", C, f"人口 -2891 on line {line}: rejected",
                      ["report", "--county", "嘉義縣", "--population", str(p), "--no-maps", "--out", "{out}"],
                      pop_check(n, (line,))))
    big = ",".join([*parts[:8], "99999", *parts[9:]])
    body = [big if ln == zhuqi else ln for ln in chiayi]
    p, n = popfile("agegt", [], body)
    line = body.index(big) + 2
    cases.append(Case("population-age-group-over-total", C, f"未滿15歲 99999 > 人口 2891 on line {line}: rejected",
                      ["report", "--county", "嘉義縣", "--population", str(p), "--no-maps", "--out", "{out}"],
                      pop_check(n, (line,))))
    q = ",".join([*parts[:3], '"' + parts[3], *parts[4:]])
    body = [q if ln == zhuqi else ln for ln in chiayi]
    p, n = popfile("quote", [], body)
    cases.append(Case("population-stray-quote", C, "a stray quote before a village name: no lines swallowed",
                      ["report", "--county", "嘉義縣", "--population", str(p), "--no-maps", "--out", "{out}"],
                      pop_check(n), expect=(0, 1), names_file="人口.csv"))
    for label, val in (("inf", "inf"), ("1e400", "1e400"), ("nan", "nan"), ("text", "約三千")):
        bad = ",".join([*parts[:5], val, *parts[6:]])
        body = [bad if ln == zhuqi else ln for ln in chiayi]
        p, n = popfile(f"val-{label}", [], body)
        line = body.index(bad) + 2
        cases.append(Case(f"population-count-{label}", C, f"人口 {val!r}: rejected",
                          ["report", "--county", "嘉義縣", "--population", str(p), "--no-maps", "--out", "{out}"],
                          pop_check(n, (line,))))
    deep = d / "deep" / "人口.json"
    deep.parent.mkdir(parents=True, exist_ok=True)
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    cases.append(Case("population-json-nested-100000", C, "population JSON nested 100,000 deep",
                      ["report", "--county", "嘉義縣", "--population", str(deep), "--no-maps", "--out", "{out}"],
                      expect=(1,), names_file="人口.json", bomb=True))
    deep2 = d / "deep2" / "人口.json"
    deep2.parent.mkdir(parents=True, exist_ok=True)
    deep2.write_text('{"1001014": {"area": "嘉義縣竹崎鄉", "population": ' + "[" * 50_000 + "]" * 50_000 + "}}",
                     encoding="utf-8")
    cases.append(Case("population-json-record-nested", C, "a township record whose population is nested 50,000 deep",
                      ["report", "--county", "嘉義縣", "--population", str(deep2), "--no-maps", "--out", "{out}"],
                      expect=(0, 1), names_file="人口.json"))
    tp = d / "town-dup" / "人口.csv"
    tp.parent.mkdir(parents=True, exist_ok=True)
    town_lines = ["COUNTYNAME,TOWNNAME,Elderly65"] + [f"嘉義縣,{t},1000" for _, t, _, _ in CHIAYI] + [
        "嘉義縣 ,竹崎鄉 ,1000", "嘉義縣,竹崎鄉\u3000,1000"]
    tp.write_text("\n".join(town_lines) + "\n", encoding="utf-8")
    cases.append(Case("population-township-spacing-duplicates", C,
                      "嘉義縣,竹崎鄉 repeated as '嘉義縣 ,竹崎鄉 ' and with a full-width space: duplicates rejected",
                      ["report", "--county", "嘉義縣", "--population", str(tp), "--age-group", "elderly", "--no-maps",
                       "--out", "{out}"], pop_check(20, (20, 21), ("duplicate", "重複"))))
    mix = d / "bom-big5" / "人口.csv"
    mix.parent.mkdir(parents=True, exist_ok=True)
    mix.write_bytes(("\n".join([header, *chiayi[:50]]) + "\n").encode("utf-8-sig")
                    + ("\n".join(chiayi[50:60]) + "\n").encode("cp950"))
    cases.append(Case("population-bom-plus-big5", C, "UTF-8 BOM file with 10 lines in Big5",
                      ["report", "--county", "嘉義縣", "--population", str(mix), "--no-maps", "--out", "{out}"],
                      pop_check(60), expect=(0, 1), names_file="人口.csv"))
    return cases


def _targets(root: Path) -> list[Case]:
    cases = []
    C = "targets"
    d = root / "targets"
    base = ["scope,category,year,target_count", "嘉義縣,小衛星,2026,18", "嘉義縣,社福中心,2026,6",
            "全國,小衛星,2026,500"]
    for label, line in (("inf", "嘉義縣,小衛星,2026,inf"), ("1e400", "嘉義縣,小衛星,2026,1e400"),
                        ("minus1", "嘉義縣,小衛星,2026,-1"), ("nan", "嘉義縣,小衛星,2026,nan"),
                        ("text", "嘉義縣,小衛星,2026,十八"), ("stray-quote", '"嘉義縣,小衛星,2026,18'),
                        ("huge", "全國,小衛星,2026,1e308"), ("rate-1e400", None)):
        p = d / label / "目標.csv"
        p.parent.mkdir(parents=True, exist_ok=True)
        if line is None:
            p.write_text("scope,category,year,target_rate\n嘉義縣,小衛星,2026,1e400\n嘉義縣,社福中心,2026,50\n",
                         encoding="utf-8")
        else:
            p.write_text("\n".join([base[0], line, *base[2:]]) + "\n", encoding="utf-8")

        def chk(res: Result, want: int = 2 if line is None else 3) -> list[str]:
            if res.rc != 0:
                return []
            rows = _read_csv(res.out / "targets.csv")
            probs = []
            for r in rows:
                for k in ("target", "gap", "still_needed", "current"):
                    v = str(r.get(k, "")).lower()
                    if v in ("inf", "-inf", "nan") or v.startswith("-"):
                        probs.append(f"targets.csv has {k} = {v} (row {r.get('scope')} {r.get('category')})")
                        break
            if len(rows) < want and not _mentions(res, "reject", "剔除"):
                probs.append(f"targets.csv has {len(rows)} rows of {want}; the others vanished without a "
                             "rejection")
            return probs

        cases.append(Case(f"targets-{label}", C, f"targets file with {line or 'target_rate 1e400'}",
                          ["targets", "--targets", str(p), "--out", "{out}"], chk, expect=(0, 1),
                          names_file="目標.csv"))
    return cases


def _scenario(root: Path) -> list[Case]:
    cases = []
    C = "scenario"
    d = root / "scenario"
    for label, text, expect in (
        ("stray-quote", 'action,target\nadd,"嘉義縣阿里山鄉:小衛星\nremove,不存在的據點\nadd,嘉義縣番路鄉:社福中心\n',
         (1,)),
        ("bad-action", "action,target\nadd,嘉義縣阿里山鄉:小衛星\ndestroy,全部\n", (1,)),
        ("formula", "action,target\nadd,=cmd|' /C calc'!A0\n", (1,)),
        ("bad-category", "action,target\nadd,嘉義縣阿里山鄉:小衛\n", (1, 2)),
        ("nul", "action,target\nadd,嘉義縣阿里山鄉:小衛星\x00\n", (1,)),
    ):
        p = d / label / "情境.csv"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        cases.append(Case(f"scenario-{label}", C, f"scenario file: {label}",
                          ["whatif", "--scenario", str(p), "--county", "嘉義縣"], None, expect=expect,
                          names_file="情境.csv"))
    return cases


def _points(root: Path) -> list[Case]:
    cases = []
    C = "locate/nearest points"
    d = root / "points"
    good = [f"{lon},{lat}" for _, _, lon, lat in CHIAYI[:5]]

    def pts(label: str, bad: str) -> Path:
        p = d / label / "點.csv"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("\n".join(["lon,lat", *good[:2], bad, *good[2:]]) + "\n", encoding="utf-8")
        return p

    def loc_chk(res: Result) -> list[str]:
        if res.rc != 0:
            return []
        import pandas as pd

        out = res.out / "points.parquet"
        if not out.exists():
            return ["no output written"]
        t = pd.read_parquet(out)
        located = int(t["towncode"].notna().sum()) if "towncode" in t else -1
        probs = []
        if located != 5:
            probs.append(f"{located} of the 5 good points located")
        if len(t) == 6 and not any(c in t.columns for c in ("reason", "rejected", "note", "problem", "status")) and \
                not _mentions(res, "reject", "剔除", "invalid"):
            probs.append("the bad point is kept as a plain 'outside Taiwan' row: not rejected with a reason")
        return probs

    for label, bad in (("text", "東經,北緯"), ("blank", ","), ("nan", "nan,nan"), ("range", "200,100"),
                       ("tokyo", f"{TOKYO[0]},{TOKYO[1]}")):
        p = pts(label, bad)
        check = loc_chk
        if label == "tokyo":
            def check(res: Result) -> list[str]:
                if res.rc != 0:
                    return []
                import pandas as pd

                t = pd.read_parquet(res.out / "points.parquet")
                return [] if len(t) == 6 and t["towncode"].isna().sum() == 1 else ["Tokyo not marked outside"]
        cases.append(Case(f"locate-{label}", C, f"locate: a point '{bad}' among 5 good ones",
                          ["locate", str(p), "--out", "{out}/points.parquet"], check, names_file="點.csv"))
    for label, bad in (("tokyo", f"{TOKYO[0]},{TOKYO[1]}"), ("text", "東經,北緯"), ("nan", "nan,nan")):
        p = pts(f"n-{label}", bad)

        def near_chk(res: Result, label=label) -> list[str]:
            if res.rc != 0:
                return []
            import pandas as pd

            t = pd.read_parquet(res.out / "points.parquet")
            probs = []
            if "distance_km" in t and t["distance_km"].max() > 400:
                probs.append(f"a point is {t['distance_km'].max():,.0f} km from a facility (the outside/bad point "
                             "got a distance and drives the maximum)")
            m = re.findall(r"max ([\d,\.]+) km", res.stdout)
            if any(float(x.replace(",", "")) > 400 for x in m):
                probs.append(f"printed maximum {max(m)} km comes from the outside point")
            return probs

        cases.append(Case(f"nearest-{label}", C, f"nearest: a point '{bad}' among 5 good ones",
                          ["nearest", str(p), "--out", "{out}/points.parquet"], near_chk, names_file="點.csv"))
    return cases


def _cli(root: Path) -> list[Case]:
    C = "CLI arguments"
    p = write_registry(root / "cli" / "清冊.csv", base_rows(5))
    pop = SHARED / "population" / "village_population_agegroups_2021-03.csv"
    cov17 = requires(lambda r: (coverage_row(r, "嘉義縣", CSP) or {}).get("covered") == 17,
                     "小衛星 in 嘉義縣 not 17/18 on the seed registry")
    return [
        Case("cli-unknown-county", C, "--county 火星市",
             ["report", "--county", "火星市", "--no-maps", "--out", "{out}"], expect=(2,)),
        Case("cli-category-xiaowei", C, "--category 小衛 (17 exist as 小衛星)",
             ["report", "--county", "嘉義縣", "--category", "小衛", "--no-maps", "--out", "{out}"], expect=(2,)),
        Case("cli-category-unknown", C, "--category 長照據點",
             ["report", "--county", "嘉義縣", "--category", "長照據點", "--no-maps", "--out", "{out}"], expect=(2,)),
        Case("cli-as-of-bad-month", C, "--as-of 2023-13-45",
             ["report", "--county", "嘉義縣", "--as-of", "2023-13-45", "--no-maps", "--out", "{out}"], expect=(2,)),
        Case("cli-as-of-text", C, "--as-of banana",
             ["report", "--county", "嘉義縣", "--as-of", "banana", "--no-maps", "--out", "{out}"], expect=(2,)),
        Case("cli-definition-bad", C, "--definition everywhere",
             ["report", "--county", "嘉義縣", "--definition", "everywhere", "--no-maps", "--out", "{out}"],
             expect=(2,)),
        Case("cli-age-group-bad", C, "--age-group teens",
             ["report", "--county", "嘉義縣", "--population", str(pop), "--age-group", "teens", "--no-maps", "--out",
              "{out}"], expect=(2,)),
        Case("cli-trend-category-xiaowei", C, "trend --category 小衛",
             ["trend", "--county", "嘉義縣", "--category", "小衛", "--no-chart", "--out", "{out}"], expect=(2,)),
        Case("cli-site-category-xiaowei", C, "site --category 小衛",
             ["site", "--county", "嘉義縣", "--category", "小衛", "--no-map", "--out", "{out}"], expect=(2,)),
        Case("cli-site-unknown-county", C, "site --county 火星市",
             ["site", "--county", "火星市", "--category", "小衛星", "--no-map", "--out", "{out}"], expect=(2,)),
        Case("cli-whatif-add-xiaowei", C, "whatif --add 嘉義縣阿里山鄉:小衛",
             ["whatif", "--add", "嘉義縣阿里山鄉:小衛", "--county", "嘉義縣"], expect=(2,)),
        Case("cli-map-unknown-county", C, "map --county 火星市",
             ["map", "--county", "火星市", "--out", "{out}"], expect=(2,)),
        Case("cli-missing-file", C, "--facilities that does not exist: input error",
             ["report", "--facilities", str(root / "none.csv"), "--no-maps", "--out", "{out}"], expect=(1,),
             names_file="none.csv"),
        Case("cli-county-tai", C, "--county 台中 resolves", ["report", "--county", "台中", "--no-maps", "--out",
                                                                "{out}"]),
        Case("cli-county-historic", C, "--county 臺北縣 → 新北市",
             ["report", "--county", "臺北縣", "--no-maps", "--out", "{out}"]),
        Case("cli-category-xiaoweixing", C, "--category 小衛星 gives 17/18",
             ["report", "--county", "嘉義縣", "--category", "小衛星", "--no-maps", "--out", "{out}"], cov17),
        Case("cli-as-of-roc", C, "--as-of 112/07/01 accepted",
             ["report", "--facilities", str(p), "--county", "嘉義縣", "--as-of", "112/07/01", "--no-maps", "--out",
              "{out}"]),
        Case("cli-python-m-entry", C, "`python -m coverage.cli targets --help` (the entry the briefs use)",
             ["targets", "--help"], module_entry=True),
    ]


def _outputs(root: Path) -> list[Case]:
    C = "outputs: concurrency, leftovers, determinism"
    p = write_registry(root / "out" / "清冊.csv", base_rows(10))

    def conc_chk(res: Result) -> list[str]:
        probs = []
        for k, r in enumerate([res, *res.others]):
            if r.rc != 0:
                line = next((ln for ln in r.stderr.splitlines() if ln.startswith("error")), r.stderr[-200:])
                probs.append(f"run {k + 1} of 2 exited {r.rc}: {line}")
        if not summary(res) or summary(res).get("_unparsable"):
            probs.append("summary.json missing or broken after two concurrent runs")
        return probs

    def stale(out: Path) -> None:
        import os
        import time

        out.mkdir(parents=True, exist_ok=True)
        part = out / ".summary.json.killed123.part"
        part.write_text("half")
        old = time.time() - 3 * 3600
        os.utime(part, (old, old))

    def manifest_chk(res: Result) -> list[str]:
        if res.rc != 0:
            return []
        m = res.out / "manifest.json"
        if not m.exists():
            return ["no manifest.json written"]
        return []

    def leftovers_chk(res: Result) -> list[str]:
        if res.rc != 0:
            return []
        left = sorted(x.name for x in res.out.glob("*.html"))
        return [f"files of the previous run remain beside this run's: {left[:4]}"] if left else []

    def determinism_chk(res: Result) -> list[str]:
        if res.rc != 0:
            return []
        a, b = res.out.parent / "first", res.out
        diff = []
        for f in sorted(x for x in a.rglob("*") if x.is_file()):
            g = b / f.relative_to(a)
            if not g.exists() or g.read_bytes() != f.read_bytes():
                diff.append(f.name)
        return [f"two identical runs differ in {diff[:6]}"] if diff else []

    def offline_chk(res: Result) -> list[str]:
        if res.rc != 0:
            return []
        html = (res.out / "嘉義縣.html").read_text(encoding="utf-8")
        ext = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', html)
        return [f"the map loads {len(ext)} scripts/styles from the internet (e.g. {ext[0]})"] if ext else []

    return [
        Case("concurrent-reports-one-out", C, "two `report` runs at once into one --out",
             ["report", "--facilities", str(p), "--county", "嘉義縣", "--out", "{out}"], conc_chk, parallel=2),
        Case("concurrent-reports-xlsx", C, "two `report --xlsx --no-maps` runs at once into one --out",
             ["report", "--facilities", str(p), "--county", "嘉義縣", "--no-maps", "--xlsx", "--out", "{out}"],
             conc_chk, parallel=2),
        Case("stale-part-removed", C, "a killed run's 3-hour-old .part is removed",
             _report(p), requires(lambda r: not (r.out / ".summary.json.killed123.part").exists(),
                                  "stale .part left"), prepare=stale),
        Case("manifest-written", C, "each run writes manifest.json", _report(p), manifest_chk),
        Case("leftover-files-removed", C, "a --no-maps run into a folder holding an earlier run's maps",
             _report(p), leftovers_chk,
             pre=[["report", "--facilities", str(p), "--county", "嘉義縣", "--out", "{out}"]]),
        Case("determinism-maps", C, "two identical `report` runs (maps, --xlsx) are byte-identical",
             ["report", "--facilities", str(p), "--county", "嘉義縣", "--xlsx", "--out", "{out}"],
             determinism_chk,
             pre=[["report", "--facilities", str(p), "--county", "嘉義縣", "--xlsx", "--out", "{first}"]]),
        Case("maps-offline-by-default", C, "`map` pages load no script/style from the internet",
             ["map", "--facilities", str(p), "--county", "嘉義縣", "--out", "{out}"], offline_chk),
    ]
