"""Raw reading of facility registry files: CSV (any common encoding), XLSX, GeoJSON, GeoPackage.

This is the first half of :mod:`coverage.facilities`: it turns one file into a table of
clean strings with canonical column names and the row numbers a spreadsheet user sees.
It knows nothing about categories, coordinates or townships; validation happens in
:func:`coverage.facilities.read_facilities`.
"""

from __future__ import annotations

import codecs
import datetime as dt
import itertools
import logging
import math
import os
import re
import unicodedata
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .csvtext import iter_csv_rows
from .errors import UnreadableFileError
from .names import header_key

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable, Iterable, Sequence

    import pandas as pd

__all__ = [
    "CELL_COUNT",
    "COLUMNS",
    "EXTRA_CELLS",
    "GEOMETRY_PROBLEM",
    "HEADER_ALIASES",
    "PART",
    "ROW_PROBLEM",
    "canonical_header",
    "file_labels",
    "flatten_tables",
    "read_table",
]

log = logging.getLogger(__name__)

#: Canonical registry columns, in output order (``precision`` and ``cases`` are optional).
COLUMNS = [
    "category", "name", "county", "township", "address", "lon", "lat", "x", "y",
    "status", "opened", "closed", "serves", "source", "precision", "cases",
]

#: Accepted header spellings of each canonical column (matched by :func:`canonical_header`).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "category": ("category", "type", "類別", "服務類別", "據點類型", "類型", "據點類別", "機構類別"),
    "name": ("name", "facility", "facilityname", "名稱", "機構名稱", "據點名稱", "單位名稱", "中心名稱"),
    "county": ("county", "city", "縣市", "縣市別", "縣市名稱"),
    "township": (
        "township", "town", "district", "鄉鎮市區", "鄉鎮", "鄉鎮市", "鄉鎮區", "行政區", "鄉鎮市區別",
    ),
    "address": ("address", "addr", "地址", "住址", "服務地址", "據點地址"),
    "lon": ("lon", "lng", "long", "longitude", "經度", "wgs84經度"),
    "lat": ("lat", "latitude", "緯度", "wgs84緯度"),
    "x": ("x", "twd97x", "xtwd97", "x坐標", "x座標", "twd97x坐標", "twd97x座標"),
    "y": ("y", "twd97y", "ytwd97", "y坐標", "y座標", "twd97y坐標", "twd97y座標"),
    "status": ("status", "狀態", "營運狀態", "服務狀態"),
    "opened": ("opened", "opendate", "啟用日期", "開辦日期", "設立日期", "成立日期", "開始日期"),
    "closed": ("closed", "closedate", "結束日期", "停辦日期", "關閉日期"),
    "serves": ("serves", "servicearea", "服務區域", "服務範圍", "服務鄉鎮"),
    "source": ("source", "資料來源", "來源"),
    "precision": ("precision", "精確度", "定位精度", "定位精確度"),
    "cases": ("cases", "caseload", "個案數", "服務人數", "案量", "服務個案數", "個案量"),
}

#: Name of the column holding cells found beyond the header's width (a malformed row).
EXTRA_CELLS = "_extra_cells"
#: Name of the column holding, for a row of delimited text whose number of cells differs from the
#: header's (fewer than its named columns, or more than all its cells, blank ones included),
#: ``"cells/header cells"``; ``""`` for a row that lines up. Such a row's values may have shifted.
CELL_COUNT = "_cell_count"
#: Name of the column of :func:`flatten_tables` naming a geometry that is not a point.
GEOMETRY_PROBLEM = "_geometry"
#: Name of the column holding why a row could not be read at all (e.g. a line swallowed by an
#: unbalanced quote); its other cells are blank and it must be rejected whole.
ROW_PROBLEM = "_row_problem"
#: Name of the column of :func:`read_table` naming the sheet or layer a row came from
#: (``""`` when the file has one part).
PART = "_part"

_ALIAS = {alias: canon for canon, names in HEADER_ALIASES.items() for alias in names}
_SPACES = re.compile(r"\s+")
_HEADER_SEARCH_ROWS = 20
_CHUNK_ROWS = 50_000  # rows cleaned at a time
_BLOCK_BYTES = 2**20  # bytes decoded at a time
_DETECT_BYTES = 4 * 2**20  # bytes the encoding detector sees
_WIDE = 4096  # columns searched for a header; cells beyond are kept only as extra cells
_MAX_CELLS = 1000  # a row with more cells (and more than 10 x the header's) is not read
_EXTRA_CHARS = 200  # extra-cell text kept for the rejection
_RESERVED = {
    "facility_id", "file", "row", "towncode", "snapped", "note", "geometry", EXTRA_CELLS, GEOMETRY_PROBLEM,
    ROW_PROBLEM, PART, CELL_COUNT,
}

#: One raw row: (row number as the user sees it, raw cells, None or the reason it is damaged).
Row = tuple[int, list[Any], str | None]
#: The parts of one file: (sheet or layer name, table), and what was skipped (one line each).
Parts = tuple[list[tuple[str, "pd.DataFrame"]], list[str]]


def canonical_header(header: object) -> str | None:
    """Canonical column for a header cell, or ``None`` if it is not a registry column.

    Matching ignores case, spaces, full-width forms, ``_ - . : /`` and a parenthesised
    suffix such as ``經度(WGS84)``.

    >>> canonical_header(" 機構名稱 "), canonical_header("ＴＷＤ97_X"), canonical_header("備註")
    ('name', 'x', None)
    """
    if header is None:
        return None
    return _ALIAS.get(header_key(header))


def _raw_text(value: Any) -> str:
    """One cell as a string, before cleaning: ``""`` if blank, integral floats without ``.0``."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time(0) else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        import pandas as pd

        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


def _cell_text(value: Any) -> str:
    """One cell as a clean string: NFKC, stripped, inner whitespace collapsed, ``""`` if blank."""
    text = unicodedata.normalize("NFKC", _raw_text(value))
    return _SPACES.sub(" ", text).strip()


def _find_header(rows: list[list[str]]) -> int | None:
    """Index of the first row (of the first few) naming at least two registry columns."""
    for i, cells in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        if len({c for c in map(canonical_header, cells) if c}) >= 2:
            return i
    return None


def _column_names(header: list[str]) -> list[str]:
    """Output column names for a header row: canonical where recognised, else the header text."""
    names: list[str] = []
    for j, cell in enumerate(header):
        canon = canonical_header(cell)
        text = _cell_text(cell)
        if canon and canon not in names:
            names.append(canon)
            continue
        name = text or f"column_{j + 1}"
        if name in _RESERVED or name in COLUMNS or name in names:
            name = f"src_{name}"
        while name in names:
            name += "_"
        names.append(name)
    return names


def _unused_duplicates(path: Path, parts: list) -> list[str]:
    """One line per registry column given twice: the first is read, the second kept as ``src_…`` only."""
    lines = []
    for part, frame in parts:
        for name in frame.columns:
            text = str(name).removeprefix("src_").rstrip("_")
            canon = text if text in COLUMNS else canonical_header(text)
            if canon in COLUMNS and name != canon and canon in frame.columns:
                where = f"{path.name}#{part}" if part else path.name
                lines.append(f"{where}: the column {canon} appears twice; only the first is read "
                             f"(the other, {name}, is not used)")
    return lines


def _finish(table: pd.DataFrame) -> pd.DataFrame:
    for col in COLUMNS:
        if col not in table.columns:
            table[col] = ""
    return table


def _frame(path: Path, rows: Iterable[Row], delimited: bool = False) -> pd.DataFrame:
    """Table of clean strings from raw rows (header somewhere in the first rows).

    ``rows`` yields ``(row number, cells, problem)``: the row number as the user sees it, the
    raw cells (strings), and ``None`` or the reason the row is damaged (its cells are then
    empty; it becomes a :data:`ROW_PROBLEM` row for the caller to reject). It may be an iterator
    over the open file: the body is cleaned :data:`_CHUNK_ROWS` rows at a time into Arrow-backed
    string columns, so the peak memory is about the size of the table; more than
    :func:`max_rows` rows are refused as soon as they are seen. No row is padded beyond the
    header's width: cells past it are joined into :data:`EXTRA_CELLS`, and a row with far more
    cells than the header is a :data:`ROW_PROBLEM` row.
    """
    import pandas as pd

    it = iter(rows)
    head = list(itertools.islice(it, _HEADER_SEARCH_ROWS))
    h = _find_header([[_cell_text(v) for v in r[1][:_WIDE]] for r in head])
    if h is None:
        damage = next((r[2] for r in head if r[2]), None)
        raise UnreadableFileError(
            path,
            "no recognisable header row; expected columns such as 類別/category, 名稱/name, "
            "縣市/county, 鄉鎮市區/township, 地址/address, 經度/lon, 緯度/lat"
            + (f" (the first lines are damaged: {damage})" if damage else ""),
        )
    header = [_cell_text(v) for v in head[h][1][:_WIDE]]
    header_cells = len(head[h][1]) if delimited else None
    while header and not header[-1]:
        header.pop()
    names = _column_names(header)
    body = itertools.chain(head[h + 1:], it)
    parts, seen, limit = [], 0, max_rows()
    while chunk := list(itertools.islice(body, _CHUNK_ROWS)):
        parts.append(_chunk_table(chunk, names, header_cells))
        seen += len(chunk)
        if seen > limit:
            raise UnreadableFileError(
                path, f"more than {limit:,} rows, over the row limit for a registry; split it, "
                "or raise SAFETYNET_MAX_ROWS"
            )
    if not parts:
        parts.append(_chunk_table([], names))
    table = pd.concat(parts) if len(parts) > 1 else parts[0]
    return _finish(table)


def _chunk_table(chunk: list[Row], names: list[str], header_cells: int | None = None) -> pd.DataFrame:
    """Clean string table of raw rows, indexed by their row numbers; blank rows dropped.

    With ``header_cells`` (delimited text), rows with fewer cells than ``names`` or more than
    ``header_cells`` are marked in :data:`CELL_COUNT` (``"cells/header cells"``).
    """
    import numpy as np
    import pandas as pd

    width = len(names)
    most = max(_MAX_CELLS, 10 * width)
    nfkc = unicodedata.normalize
    extra = [""] * len(chunk)
    problem = [p or "" for _, _, p in chunk]
    padded = []
    blank = [""] * width
    for k, (_, cells, _) in enumerate(chunk):
        n = len(cells)
        if n > most and not problem[k]:
            problem[k] = (f"the row has {n:,} cells but the header {width} (a runaway delimiter?); "
                          "the row is not read")
        if problem[k]:  # not read: its cells (possibly shifted, possibly personal) are not kept
            padded.append(blank)
        elif n == width:
            padded.append(cells)
        elif n < width:
            padded.append([*cells, *[""] * (width - n)])
        else:
            padded.append(cells[:width])
            over = ",".join(t for c in cells[width:] if (t := _cell_text(c)))
            extra[k] = over if len(over) <= _EXTRA_CHARS else over[:_EXTRA_CHARS] + "…"
    columns = [
        [" ".join(nfkc("NFKC", c).split()) if c else "" for c in col] for col in zip(*padded, strict=True)
    ] if chunk else [[] for _ in range(width)]
    keep = np.fromiter((bool(e or p) for e, p in zip(extra, problem, strict=True)), dtype=bool, count=len(chunk))
    for col in columns:
        keep |= np.fromiter((c != "" for c in col), dtype=bool, count=len(chunk))
    rownum = np.fromiter((r for r, _, _ in chunk), dtype="int64", count=len(chunk))
    index = pd.Index(rownum[keep], name="row")
    table = pd.DataFrame(
        {name: pd.Series(np.asarray(col, dtype=object)[keep], dtype="str", index=index)
         for name, col in zip(names, columns, strict=True)},
        index=index,
    )
    counts = [""] * len(chunk)
    if header_cells is not None:
        for k, (_, cells, _) in enumerate(chunk):
            n = len(cells)
            if not problem[k] and (n < width or n > header_cells):
                counts[k] = f"{n}/{width}" if n < width else f"{n}/{header_cells}"
    for name, values in ((EXTRA_CELLS, extra), (ROW_PROBLEM, problem), (CELL_COUNT, counts)):
        table[name] = pd.Series(np.asarray(values, dtype=object)[keep], dtype="str", index=index)
    return table


# ----------------------------------------------------------------------------- CSV

def _encoding(path: Path) -> str:
    """Encoding of a CSV file, found in one streaming pass that also enforces the row limit.

    UTF-16 by BOM, else the first of strict UTF-8, cp950 and Big5-HKSCS that decodes the whole
    file, else a detector's guess on its first megabytes. The file is read in 1 MB blocks, never
    whole; more lines than :func:`max_rows` are refused as soon as they are counted.
    """
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableFileError(path, "contains NUL bytes; it is a binary file, not a CSV table")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8-sig", "cp950", "big5hkscs"]
    for enc in candidates:
        try:
            _scan(path, enc)
        except UnicodeDecodeError:
            continue
        log.debug("%s: decoded as %s", path, enc)
        return enc
    from charset_normalizer import from_bytes

    with open(path, "rb") as fh:
        sample = fh.read(_DETECT_BYTES)
    best = from_bytes(sample).best()
    if best is not None and best.encoding and best.chaos < 0.2:
        try:
            _scan(path, best.encoding)
        except (UnicodeDecodeError, LookupError):
            pass
        else:
            log.info("%s: not UTF-8 or Big5; decoded as %s (detected)", path, best.encoding)
            return best.encoding
    raise UnreadableFileError(path, "cannot decode the text; save it as UTF-8 or Big5 (cp950)")


def _scan(path: Path, encoding: str) -> None:
    """Decode the whole file in blocks (UnicodeDecodeError if it is not ``encoding``); refuse
    a blank or binary file and one with more than :func:`max_rows` lines."""
    decoder = codecs.getincrementaldecoder(encoding)()
    limit, lines, blank = max_rows(), 0, True
    with open(path, "rb") as fh:
        while True:
            block = fh.read(_BLOCK_BYTES)
            text = decoder.decode(block, final=not block)
            if "\x00" in text:
                raise UnreadableFileError(path, "contains NUL characters; it is a binary file, not a CSV table")
            blank = blank and not text.strip()
            lines += text.count("\n")
            if lines > limit:
                raise UnreadableFileError(
                    path, f"more than {limit:,} lines, over the {limit:,}-row limit for a registry; split it, "
                    "or raise SAFETYNET_MAX_ROWS"
                )
            if not block:
                break
    if blank:
        raise UnreadableFileError(path, "file is empty")


def _delimiters(text: str) -> list[str]:
    """Candidate delimiters, most frequent in the first non-blank line (then the next lines) first."""
    lines = [ln for ln in text.splitlines()[:_HEADER_SEARCH_ROWS] if ln.strip()] or [""]
    rank = {d: (lines[0].count(d), max(ln.count(d) for ln in lines)) for d in (",", "\t", ";", "|")}
    found = sorted((d for d in rank if rank[d][1]), key=lambda d: rank[d], reverse=True)
    return found + [","] * ("," not in found)


def max_file_bytes() -> int:
    """Largest registry file read (``SAFETYNET_MAX_FILE_MB``, default 512 MB)."""
    return int(float(os.environ.get("SAFETYNET_MAX_FILE_MB", "512")) * 2**20)


def max_rows() -> int:
    """Most rows read from one registry file (``SAFETYNET_MAX_ROWS``, default 2,000,000).

    Validating a registry takes about 2 KB of memory a row (1.9 GB for a million rows,
    ``benchmarks/memory.py``); real registries have hundreds to thousands of rows.
    """
    return int(os.environ.get("SAFETYNET_MAX_ROWS", "2000000"))


def _read_csv(path: Path, layer: str | None = None) -> Parts:
    """The one table of a CSV file (``layer`` is ignored: a CSV has one part)."""
    encoding = _encoding(path)
    with open(path, encoding=encoding, newline="") as fh:
        head = fh.read(_BLOCK_BYTES)
    first_error = None
    for delimiter in _delimiters(head):  # the first one under which a header is found
        with open(path, encoding=encoding, newline="") as fh:
            peek = list(itertools.islice(iter_csv_rows(fh, delimiter=delimiter), _HEADER_SEARCH_ROWS))
        h = _find_header([[_cell_text(v) for v in r[1][:_WIDE]] for r in peek])
        width = len(peek[h][1]) if h is not None else None
        with open(path, encoding=encoding, newline="") as fh:
            try:
                return [("", _frame(path, iter_csv_rows(fh, delimiter=delimiter, width=width), delimited=True))], []
            except UnreadableFileError as exc:
                if "row limit" in exc.reason:
                    raise
                first_error = first_error or exc
    raise first_error


# ----------------------------------------------------------------------------- XLSX

def _dense(pairs: list[tuple[int, Any]]) -> tuple[list[str], str | None]:
    """A row's cells as a list from its (column, value) pairs, and a problem if a cell is beyond :data:`_WIDE`."""
    top = max(c for c, _ in pairs)
    cells = [""] * (min(top, _WIDE - 1) + 1)
    for c, v in pairs:
        if c < _WIDE:
            cells[c] = _raw_text(v)
    if top < _WIDE:
        return cells, None
    return cells, (f"a cell at column {top + 1:,} lies far beyond the header (a stray cell?); "
                   "the row is not read")


def _read_xlsx(path: Path, layer: str | None = None) -> Parts:
    """Every visible sheet with a registry header (or the sheet ``layer``)."""
    from .xlsxread import open_workbook, sheet_rows

    book = open_workbook(path)
    parts: list[tuple[str, pd.DataFrame]] = []
    skipped: list[str] = []
    plain: list[str] = []
    try:
        names = [s.name for s in book.sheets]
        if layer is not None and layer not in names:
            raise UnreadableFileError(path, f"no sheet named {layer!r} (layer=); its sheets: {', '.join(names)}")
        for sheet in book.sheets:
            if layer is not None and sheet.name != layer:
                continue
            if sheet.part is None:
                skipped.append(f"{path.name}: skipped sheet {sheet.name} (a chart sheet)")
                continue
            hidden: list[int] = []
            if sheet.state != "visible" and layer is None:
                n = sum(1 for _ in sheet_rows(book, sheet, hidden)) + len(hidden)
                kind = "very hidden" if sheet.state == "veryHidden" else "hidden"
                skipped.append(f"{path.name}: skipped {kind} sheet {sheet.name}, {n:,} row{'s' * (n != 1)}")
                continue
            rows = ((r, *_dense(pairs)) for r, pairs in sheet_rows(book, sheet, hidden))
            try:
                table = _frame(path, rows)
            except UnreadableFileError as exc:
                if exc.reason.startswith("sheet "):
                    raise
                if not exc.reason.startswith("no recognisable header"):
                    raise UnreadableFileError(path, f"sheet {sheet.name!r}: {exc.reason}") from None
                plain.append(sheet.name)
                continue
            if hidden:
                shown = ", ".join(map(str, hidden[:20])) + (", …" if len(hidden) > 20 else "")
                skipped.append(f"{path.name}#{sheet.name}: skipped {len(hidden):,} hidden "
                               f"row{'s' * (len(hidden) != 1)} (rows {shown})")
            log.debug("%s: reading sheet %r", path, sheet.name)
            parts.append((sheet.name, table))
    finally:
        book.close()
    if not parts:
        others = "; ".join(skipped)
        raise UnreadableFileError(
            path, "no sheet has a registry header row (columns such as 類別/category, 名稱/name, 縣市/county, "
            f"鄉鎮市區/township, 地址/address, 經度/lon, 緯度/lat); sheets: {', '.join(names) or 'none'}"
            + (f" ({others})" if others else ""))
    skipped.extend(f"{path.name}: sheet {name} has no registry header; not read" for name in plain)
    return parts, skipped


# ----------------------------------------------------------------------------- GeoJSON / GPKG

_NOT_POINT = ("LineString", "Polygon", "Curve", "Surface", "TIN", "Triangle")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]


def _read_vector(path: Path, layer: str | None = None) -> Parts:
    """Every layer with point geometry or registry columns (or the layer ``layer``).

    Layers of lines or polygons are not read but named in the skipped list.
    """
    import pyogrio

    try:
        layers = [(str(name), None if kind is None else str(kind)) for name, kind in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError, …
        raise UnreadableFileError(path, f"not a readable GeoJSON/GeoPackage file ({_one_line(exc)})") from None
    if layer is not None and layer not in [name for name, _ in layers]:
        raise UnreadableFileError(path, f"no layer named {layer!r} (layer=); its layers: "
                                  f"{', '.join(name for name, _ in layers) or 'none'}")
    parts: list[tuple[str, pd.DataFrame]] = []
    skipped: list[str] = []
    for name, kind in layers:
        if layer is not None and name != layer:
            continue
        try:
            features = int(pyogrio.read_info(path, layer=name).get("features") or 0)
        except Exception:  # as above
            features = 0
        what = f"layer {name!r}" if len(layers) > 1 else "the layer"
        if layer is None and kind and any(k in kind for k in _NOT_POINT):
            skipped.append(f"{path.name}: skipped layer {name} ({kind}, {features:,} "
                           f"feature{'s' * (features != 1)}; not points)")
            continue
        if features > max_rows():
            raise UnreadableFileError(path, f"{what} has {features:,} features, over the "
                                      f"{max_rows():,}-row limit for a registry; split it, or raise SAFETYNET_MAX_ROWS")
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                raw = pyogrio.read_dataframe(path, layer=name)
        except Exception as exc:  # as above
            raise UnreadableFileError(path, f"{what} is not readable ({_one_line(exc)})") from None
        for w in caught:
            log.info("%s: layer %r: %s", path, name, w.message)
        try:
            table = _vector_table(path, raw)
        except UnreadableFileError as exc:
            if len(layers) == 1 or layer is not None:
                raise
            skipped.append(f"{path.name}: skipped layer {name} ({exc.reason})")
            continue
        parts.append((name, table))
    if not parts:
        raise UnreadableFileError(path, "no layer has points or registry columns" + (
            f" ({'; '.join(skipped)})" if skipped else " (the file has no layers)"))
    return parts, skipped


def _vector_table(path: Path, raw: pd.DataFrame) -> pd.DataFrame:
    import geopandas as gpd
    import pandas as pd

    has_geom = isinstance(raw, gpd.GeoDataFrame) and raw.geometry.notna().any()
    attrs = [c for c in raw.columns if c != "geometry"]
    recognised = {canonical_header(c) for c in attrs} - {None}
    if not recognised and not has_geom:
        reason = "the layer has no features" if raw.empty else "no recognisable attribute columns and no geometry"
        raise UnreadableFileError(path, reason)
    names = _column_names(attrs)
    table = pd.DataFrame(
        {name: raw[col].map(_cell_text).astype("str") for name, col in zip(names, attrs, strict=True)},
        index=pd.RangeIndex(len(raw)),
    )
    table = _finish(table)
    table[EXTRA_CELLS] = ""
    table[ROW_PROBLEM] = ""
    geom = raw.geometry if isinstance(raw, gpd.GeoDataFrame) else gpd.GeoSeries([None] * len(raw))
    if geom.crs is not None and not geom.crs.equals("EPSG:4326"):
        geom = geom.to_crs("EPSG:4326")
    out = gpd.GeoDataFrame(table, geometry=geom.reset_index(drop=True), crs=geom.crs)
    blank = out.drop(columns="geometry").eq("").all(axis=1) & out.geometry.isna()
    out = out.loc[~blank.to_numpy()]
    out.index = pd.Index(out.index.to_numpy() + 1, dtype="int64", name="row")
    return out


def _flatten(raw: pd.DataFrame, file: str) -> pd.DataFrame:
    """One file's table with ``file``/``row`` columns, point geometry moved into lon/lat.

    ``file`` becomes ``file#part`` for the rows of a named sheet or layer (:data:`PART`).
    """
    import numpy as np
    import pandas as pd
    import shapely

    t = pd.DataFrame(raw.drop(columns=["geometry", PART], errors="ignore"))
    t.insert(0, "row", raw.index.to_numpy(dtype="int64"))
    part = raw[PART].to_numpy(dtype=object) if PART in raw.columns else np.full(len(raw), "", dtype=object)
    t.insert(0, "file", [f"{file}#{p}" if p else file for p in part])
    t[GEOMETRY_PROBLEM] = ""
    for marker in (ROW_PROBLEM, CELL_COUNT, EXTRA_CELLS):
        if marker not in t.columns:
            t[marker] = ""
    if "geometry" in raw.columns:
        geoms = np.asarray(raw.geometry.values, dtype=object)
        kind = shapely.get_type_id(geoms)
        single = (kind == 0) | ((kind == 4) & (shapely.get_num_geometries(geoms) == 1))
        point = single & ~shapely.is_empty(geoms)
        pts = shapely.get_geometry(geoms[point], 0)
        for col, coord in (("lon", shapely.get_x(pts)), ("lat", shapely.get_y(pts))):
            t.loc[point, col] = [repr(float(c)) for c in coord]
        t.loc[point, ["x", "y"]] = ""
        other = (kind > 0) & ~single
        t.loc[other, "_geometry"] = [g.geom_type for g in geoms[other]]
    return t.reset_index(drop=True)


def flatten_tables(tables: list[tuple[pd.DataFrame, str]]) -> pd.DataFrame:
    """Tables of :func:`read_table` stacked into one, for validation.

    Parameters
    ----------
    tables : list of (table, file label)
        Labels as given by :func:`file_labels`.

    Returns
    -------
    DataFrame with a RangeIndex and the columns ``file`` (the label, ``label#sheet`` for the
    rows of one sheet or layer of a file that has several), ``row``, the canonical and extra
    columns of every table (``""`` where a table lacks one), :data:`EXTRA_CELLS`,
    :data:`ROW_PROBLEM` and :data:`GEOMETRY_PROBLEM` (the type of a non-point geometry, else
    ``""``). A point geometry replaces ``lon``/``lat`` (and blanks ``x``/``y``).
    ``attrs["skipped"]`` lists what the files held but was not read (hidden sheets and rows,
    layers that are not points).
    """
    import pandas as pd

    frames = [_flatten(table, file) for table, file in tables]
    skipped = [line for table, _ in tables for line in table.attrs.get("skipped", [])]
    if not frames:
        columns = ["file", *COLUMNS, EXTRA_CELLS, CELL_COUNT, ROW_PROBLEM, GEOMETRY_PROBLEM]
        t = pd.DataFrame({c: pd.Series([], dtype="str") for c in columns}).assign(row=0)
    else:
        t = pd.concat(frames, ignore_index=True)
        text = [c for c in t.columns if c != "row"]
        t[text] = t[text].fillna("").astype("str")
    t.attrs["skipped"] = skipped
    return t


def file_labels(paths: Sequence[str | Path]) -> list[str]:
    """Labels naming each file by the shortest path suffix that no other file shares.

    Files with the same name in different folders stay distinct (``a/清冊.csv``,
    ``b/清冊.csv``); the same file given twice is numbered (``清冊.csv (2)``).

    >>> file_labels(["/d/a/清冊.csv", "/d/b/清冊.csv", "/d/x.csv"])
    ['a/清冊.csv', 'b/清冊.csv', 'x.csv']
    """
    full = [Path(p).resolve().parts for p in paths]
    labels = []
    for i, parts in enumerate(full):
        others = [q for j, q in enumerate(full) if j != i and q != parts]
        k = 1
        while k < len(parts) and any(q[-k:] == parts[-k:] for q in others):
            k += 1
        labels.append("/".join(parts[-k:]).replace("//", "/"))
    seen: dict[str, int] = {}
    for i, label in enumerate(labels):
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            labels[i] = f"{label} ({seen[label]})"
    return labels


_FORMATS = {
    ".csv": _read_csv, ".txt": _read_csv, ".tsv": _read_csv,
    ".xlsx": _read_xlsx, ".xlsm": _read_xlsx,
    ".geojson": _read_vector, ".json": _read_vector, ".gpkg": _read_vector,
}


def _sniff(path: Path) -> Callable[[Path, str | None], Parts]:
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head.startswith(b"PK\x03\x04"):
        return _read_xlsx
    if head.startswith(b"SQLite format 3"):
        return _read_vector
    if head.lstrip()[:1] in (b"{", b"["):
        return _read_vector
    return _read_csv


def _stack(path: Path, parts: list[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """The parts of one file in one table, each row's part in :data:`PART` (``""`` if only one)."""
    import pandas as pd

    if len(parts) == 1:
        table = parts[0][1]
        table[PART] = ""
        return table
    crs = {str(getattr(t, "crs", None)) for _, t in parts}
    if len(crs) > 1:
        raise UnreadableFileError(path, f"its layers {', '.join(n for n, _ in parts)} have different coordinate "
                                  "systems, some unknown; choose one with layer=")
    for name, table in parts:
        table[PART] = name
    return pd.concat([t for _, t in parts])


def read_table(path: str | Path, *, layer: str | None = None) -> pd.DataFrame:
    """Read one registry file into a table of clean strings.

    The format is chosen by extension (``.csv .txt .tsv``, ``.xlsx .xlsm``, ``.geojson .json``,
    ``.gpkg``), else by content. CSV text may be UTF-8 (with or without BOM), Big5/cp950 or
    UTF-16; the delimiter may be ``, ; | tab``. In CSV and XLSX the header is the first row
    (of the first 20) naming at least two registry columns.

    Nothing read is lost: a CSV line swallowed by an unbalanced quote is never merged into a
    record (:mod:`coverage.csvtext`); it is a row whose :data:`ROW_PROBLEM` says why, as is a
    row with far more cells than the header. Every visible sheet of a workbook that has a
    registry header is read, and every GeoPackage/GeoJSON layer of points (or with registry
    columns and no geometry type); the rows' sheet or layer is in :data:`PART` when the file
    has several. Hidden sheets, hidden rows, sheets without a header and layers of lines or
    polygons are not read but listed in ``attrs["skipped"]``, one line each. Workbooks are read
    by :mod:`coverage.xlsxread`, which follows the cells that exist, not the declared shape.

    Parameters
    ----------
    path : str or Path
    layer : str, optional
        Read only this sheet (XLSX) or layer (GeoPackage/GeoJSON), hidden or not. Ignored for CSV.

    Returns
    -------
    DataFrame
        Indexed by ``row``, the row number a spreadsheet user sees (the header of a file
        whose header is on the first line is row 1, its first data row is row 2; for
        GeoJSON/GeoPackage, the feature number from 1). Columns are the canonical
        :data:`COLUMNS` (always all present, ``""`` when absent), then the file's other
        columns under their own header, then ``_extra_cells`` (non-blank cells beyond the
        header's width, comma-joined; non-empty means a malformed row), ``_row_problem``
        (non-empty: the row could not be read, e.g. a line swallowed by an unbalanced quote;
        its cells are blank) and ``_part`` (sheet or layer name, ``""`` if the file has only
        one). ``attrs["skipped"]`` lists what was not read. Values are ``str``:
        NFKC-normalised (full-width → half-width), stripped, inner whitespace collapsed,
        ``""`` when blank; XLSX dates become ISO dates. Entirely blank rows are skipped.
        GeoJSON/GeoPackage give a GeoDataFrame whose geometry is in EPSG:4326 when the
        layer has a CRS (kept as is when it has none).

    Raises
    ------
    UnreadableFileError
        The file is missing, empty, binary, undecodable, has no recognisable header (no sheet or
        layer with one), no sheet or layer named ``layer``, a workbook part over the size or
        compression-ratio limits, malformed XML or an XML DTD, or GeoJSON nested too deep.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.csv"
    >>> _ = p.write_text("名稱,鄉鎮市區\\n竹崎社福中心,嘉義縣竹崎鄉\\n", encoding="utf-8")
    >>> t = read_table(p)
    >>> t.index.tolist(), t.loc[2, "name"], t.loc[2, "township"]
    ([2], '竹崎社福中心', '嘉義縣竹崎鄉')
    """
    path = Path(path)
    if not path.exists():
        raise UnreadableFileError(path, "file not found")
    if not path.is_file():
        raise UnreadableFileError(path, "not a file")
    size = path.stat().st_size
    if size == 0:
        raise UnreadableFileError(path, "file is empty")
    limit = max_file_bytes()
    if size > limit:
        raise UnreadableFileError(
            path, f"file is {size / 2**20:,.0f} MB, over the {limit / 2**20:,.0f} MB limit for a registry; "
            "split it, or raise SAFETYNET_MAX_FILE_MB if this machine has the memory"
        )
    reader = _FORMATS.get(path.suffix.lower()) or _sniff(path)
    parts, skipped = reader(path, layer)
    table = _stack(path, parts)
    table.attrs["skipped"] = [*skipped, *_unused_duplicates(path, parts)]
    for line in skipped:
        log.info("%s", line)
    log.debug("%s: %d rows", path, len(table))
    return table
