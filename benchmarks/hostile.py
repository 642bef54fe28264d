"""Peak memory and wall time of reading hostile registry files (issue 13, item 2).

Each case is written into a temporary directory and read by :func:`coverage.read_facilities`
in a fresh Python process, so one case's memory never inflates another's. Prints a markdown
table: the case, the file's size on disk, the outcome (rows read, or the one-line refusal),
wall time and the child's peak resident memory (``VmHWM`` from ``/proc/self/status``)::

    python benchmarks/hostile.py

Cases: a 5 KB workbook whose one cell sits at XFD1048576 (openpyxl would pad every row to
16,384 columns); a shared-strings bomb (about 1 MB of zip holding 700 MB of strings); a CSV
with one 1,000,000-comma row among normal rows; an unterminated quote before 20,000
lines; XML entity expansion ("billion laughs") in a sheet; GeoJSON nested 100,000 deep.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEADER = "類別,名稱,鄉鎮市區,經度,緯度\n"
ROW = "社福中心,據點{i},嘉義縣竹崎鄉,120.55,23.52\n"

_CHILD = textwrap.dedent("""
    import json, sys, time
    from coverage.errors import CoverageError
    from coverage.facilities import read_facilities
    from coverage.geography import load_townships

    def peak_mb():
        with open("/proc/self/status") as fh:
            return next(int(l.split()[1]) for l in fh if l.startswith("VmHWM:")) / 1024

    towns = load_townships()
    t0 = time.perf_counter()
    try:
        reg = read_facilities(sys.argv[1], townships=towns)
        outcome = (f"read: {len(reg.facilities):,} accepted, "
                   f"{reg.rejected[['file', 'row']].drop_duplicates().shape[0]:,} rejected")
        reasons = sorted({r.split(";")[0][:70] for r in reg.rejected["reason"]})
        if reasons:
            outcome += " (" + " / ".join(reasons[:2]) + ")"
    except CoverageError as exc:
        outcome = "refused: " + str(exc).split(": ", 1)[1][:110]
    print(json.dumps({"seconds": time.perf_counter() - t0, "peak_mb": peak_mb(), "outcome": outcome}))
""")

_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _workbook(path: Path, sheet: str | None, shared: tuple[int, str] | None = None) -> Path:
    """An XLSX zip with one sheet (XML text, or None) and optionally ``shared`` = (MB, one string's text)."""
    rels = f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    if shared:
        rels += f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        zf.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships><Relationship Id="rId1" '
                    f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        zf.writestr("xl/workbook.xml", f'<?xml version="1.0"?><workbook {_NS} xmlns:r="{_REL}"><sheets>'
                    '<sheet name="清冊" sheetId="1" r:id="rId1"/></sheets></workbook>')
        zf.writestr("xl/_rels/workbook.xml.rels", f'<?xml version="1.0"?><Relationships>{rels}</Relationships>')
        zf.writestr("xl/worksheets/sheet1.xml", sheet or "")
        if shared:
            mb, text = shared
            with zf.open("xl/sharedStrings.xml", "w", force_zip64=True) as fh:
                fh.write(f'<?xml version="1.0"?><sst {_NS}>'.encode())
                item = f"<si><t>{text}</t></si>".encode()
                block = item * (2**20 // len(item))
                for _ in range(mb):
                    fh.write(block)
                fh.write(b"</sst>")
    return path


def _registry_sheet(extra: str = "", dimension: str = "A1:E2") -> str:
    cells = "".join(f'<c r="{c}1" t="inlineStr"><is><t>{h}</t></is></c>'
                    for c, h in zip("ABCDE", HEADER.strip().split(","), strict=True))
    row = "".join(f'<c r="{c}2" t="inlineStr"><is><t>{v}</t></is></c>'
                  for c, v in zip("ABCDE", ROW.format(i=1).strip().split(","), strict=True))
    return (f'<?xml version="1.0"?><worksheet {_NS}><dimension ref="{dimension}"/><sheetData>'
            f'<row r="1">{cells}</row><row r="2">{row}</row>{extra}</sheetData></worksheet>')


def make_cases(d: Path) -> list[tuple[str, Path]]:
    cases = []
    lone = f'<?xml version="1.0"?><worksheet {_NS}><dimension ref="A1:XFD1048576"/><sheetData>' \
           '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>'
    cases.append(("workbook, one cell at XFD1048576", _workbook(d / "xfd.xlsx", lone)))
    stray = _registry_sheet('<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>', "A1:XFD1048576")
    cases.append(("registry sheet + a stray cell at XFD1048576", _workbook(d / "xfd_stray.xlsx", stray)))
    cases.append(("shared-strings bomb (700 MB of strings)",
                  _workbook(d / "sst_bomb.xlsx", _registry_sheet(), shared=(700, "a" * 1000))))
    laughs = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    cases.append(("XML entity expansion (billion laughs) in the sheet", _workbook(
        d / "laughs.xlsx", f'<?xml version="1.0"?><!DOCTYPE worksheet [{laughs}]>'
        f'<worksheet {_NS}><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&a9;</t></is></c></row>'
        "</sheetData></worksheet>")))
    cases.append(("malformed sheet XML (unclosed tag)",
                  _workbook(d / "malformed.xlsx", _registry_sheet().replace("</row>", "", 1))))
    wide = d / "wide.csv"
    with open(wide, "w", encoding="utf-8") as fh:
        fh.write(HEADER)
        fh.writelines(ROW.format(i=i) for i in range(1000))
        fh.write("社福中心,寬" + "," * 1_000_000 + "\n")
        fh.writelines(ROW.format(i=i) for i in range(1000, 2000))
    cases.append(("CSV, one 1,000,000-comma row among 2,000", wide))
    swallow = d / "swallow.csv"
    with open(swallow, "w", encoding="utf-8") as fh:
        fh.write(HEADER + ROW.format(i=0) + '社福中心,"據點1,嘉義縣竹崎鄉,120.55,23.52\n')
        fh.writelines(ROW.format(i=i) for i in range(2, 20_000))
    cases.append(("CSV, unterminated quote before 20,000 lines", swallow))
    deep = d / "deep.geojson"
    deep.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,'
                    '"properties":{"a":' + "[" * 100_000 + "]" * 100_000 + "}}]}", encoding="utf-8")
    cases.append(("GeoJSON nested 100,000 deep", deep))
    return cases


def run(path: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, cwd=REPO,
                          timeout=600)
    if proc.returncode:
        return {"seconds": float("nan"), "peak_mb": float("nan"),
                "outcome": "CRASH: " + (proc.stderr.strip().splitlines() or ["?"])[-1][:110]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cases = make_cases(Path(tmp))
        print("| case | file KB | outcome | wall s | peak RSS MB |")
        print("|---|---:|---|---:|---:|")
        for name, path in cases:
            r = run(path)
            outcome = r["outcome"].replace("|", "\\|")
            print(f"| {name} | {path.stat().st_size / 1024:,.0f} | {outcome} | {r['seconds']:.2f} | "
                  f"{r['peak_mb']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
