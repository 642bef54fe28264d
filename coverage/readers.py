"""Raw reading of facility registry files: CSV (any common encoding), XLSX, GeoJSON, GeoPackage.

This is the first half of :mod:`coverage.facilities`: it turns one file into a table of
clean strings with canonical column names and the row numbers a spreadsheet user sees.
It knows nothing about categories, coordinates or townships; validation happens in
:func:`coverage.facilities.read_facilities`.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import logging
import math
import os
import re
import unicodedata
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import UnreadableFileError

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    import pandas as pd

__all__ = [
    "COLUMNS",
    "EXTRA_CELLS",
    "GEOMETRY_PROBLEM",
    "HEADER_ALIASES",
    "canonical_header",
    "flatten_tables",
    "read_table",
]

log = logging.getLogger(__name__)

#: Canonical registry columns, in output order (``precision`` is optional).
COLUMNS = [
    "category", "name", "county", "township", "address", "lon", "lat", "x", "y",
    "status", "opened", "closed", "serves", "source", "precision",
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
}

#: Name of the column holding cells found beyond the header's width (a malformed row).
EXTRA_CELLS = "_extra_cells"
#: Name of the column of :func:`flatten_tables` naming a geometry that is not a point.
GEOMETRY_PROBLEM = "_geometry"

_ALIAS = {alias: canon for canon, names in HEADER_ALIASES.items() for alias in names}
_HEADER_JUNK = re.compile(r"\([^)]*\)|[\s_\-.:：/]+")
_SPACES = re.compile(r"\s+")
_HEADER_SEARCH_ROWS = 20
_RESERVED = {
    "facility_id", "file", "row", "towncode", "snapped", "note", "geometry", EXTRA_CELLS, GEOMETRY_PROBLEM,
}


def canonical_header(header: object) -> str | None:
    """Canonical column for a header cell, or ``None`` if it is not a registry column.

    Matching ignores case, spaces, full-width forms, ``_ - . : /`` and a parenthesised
    suffix such as ``經度(WGS84)``.

    >>> canonical_header(" 機構名稱 "), canonical_header("ＴＷＤ97_X"), canonical_header("備註")
    ('name', 'x', None)
    """
    if header is None:
        return None
    key = unicodedata.normalize("NFKC", str(header)).lower()
    key = _HEADER_JUNK.sub("", key).replace("台", "臺")
    return _ALIAS.get(key)


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


def _clean(column: pd.Series) -> pd.Series:
    """:func:`_cell_text` of a column of strings or ``None`` (a list comprehension is the fastest)."""
    import pandas as pd

    nfkc = unicodedata.normalize
    cells = [" ".join(nfkc("NFKC", v).split()) if v else "" for v in column.tolist()]
    return pd.Series(cells, index=column.index, dtype="str")


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


def _finish(table: pd.DataFrame) -> pd.DataFrame:
    for col in COLUMNS:
        if col not in table.columns:
            table[col] = ""
    return table


def _frame(path: Path, rows: list[list[Any]]) -> pd.DataFrame:
    """Table of clean strings from raw rows of strings (header somewhere in the first rows)."""
    import pandas as pd

    h = _find_header([[_cell_text(v) for v in r] for r in rows[:_HEADER_SEARCH_ROWS]])
    if h is None:
        raise UnreadableFileError(
            path,
            "no recognisable header row; expected columns such as 類別/category, 名稱/name, "
            "縣市/county, 鄉鎮市區/township, 地址/address, 經度/lon, 緯度/lat",
        )
    header = [_cell_text(v) for v in rows[h]]
    while header and not header[-1]:
        header.pop()
    names = _column_names(header)
    width = len(names)
    raw = rows[h + 1:]
    ncol = max([width, *map(len, raw)])
    body = pd.DataFrame([list(r) + [""] * (ncol - len(r)) for r in raw], columns=range(ncol), dtype="object")
    body.index = pd.RangeIndex(h + 2, h + 2 + len(body), name="row")
    cells = pd.DataFrame({j: _clean(body[j]) for j in body.columns}, index=body.index)
    cells = cells.loc[cells.ne("").any(axis=1)]  # a blank line is not a registry row
    table = cells.iloc[:, :width].set_axis(names, axis=1)
    over = cells.iloc[:, width:]
    extra = pd.Series("", index=table.index, dtype="str")
    bad = over.ne("").any(axis=1).to_numpy() if over.shape[1] else []
    if len(bad) and bad.any():
        extra[bad] = [",".join(c for c in r if c) for r in over.loc[bad].itertuples(index=False)]
    table[EXTRA_CELLS] = extra
    table.index = table.index.astype("int64")
    return _finish(table)


# ----------------------------------------------------------------------------- CSV

def _decode(path: Path, data: bytes) -> str:
    """Text of a CSV file: UTF-16 by BOM, else strict UTF-8, cp950, Big5-HKSCS, else a detector's guess."""
    if b"\x00" in data[:4096] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableFileError(path, "contains NUL bytes; it is a binary file, not a CSV table")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8-sig", "cp950", "big5hkscs"]
    for enc in candidates:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        log.debug("%s: decoded as %s", path, enc)
        return text
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None and best.encoding and best.chaos < 0.2:
        log.info("%s: not UTF-8 or Big5; decoded as %s (detected)", path, best.encoding)
        return str(best)
    raise UnreadableFileError(path, "cannot decode the text; save it as UTF-8 or Big5 (cp950)")


def _delimiters(text: str) -> list[str]:
    """Candidate delimiters, most frequent in the first non-blank line (then the next lines) first."""
    lines = [ln for ln in text.splitlines()[:_HEADER_SEARCH_ROWS] if ln.strip()] or [""]
    rank = {d: (lines[0].count(d), max(ln.count(d) for ln in lines)) for d in (",", "\t", ";", "|")}
    found = sorted((d for d in rank if rank[d][1]), key=lambda d: rank[d], reverse=True)
    return found + [","] * ("," not in found)


def max_file_bytes() -> int:
    """Largest registry file read (``SAFETYNET_MAX_FILE_MB``, default 1,024 MB)."""
    return int(float(os.environ.get("SAFETYNET_MAX_FILE_MB", "1024")) * 2**20)


def max_rows() -> int:
    """Most rows read from one registry file (``SAFETYNET_MAX_ROWS``, default 5,000,000)."""
    return int(os.environ.get("SAFETYNET_MAX_ROWS", "5000000"))


def _read_csv(path: Path) -> pd.DataFrame:
    data = path.read_bytes()
    if not data.strip():
        raise UnreadableFileError(path, "file is empty")
    lines = data.count(b"\n")
    if lines > max_rows():
        raise UnreadableFileError(
            path, f"{lines:,} lines, over the {max_rows():,}-row limit for a registry; split it, "
            "or raise SAFETYNET_MAX_ROWS"
        )
    text = _decode(path, data)
    if "\x00" in text:
        raise UnreadableFileError(path, "contains NUL characters; it is a binary file, not a CSV table")
    first_error = None
    for delimiter in _delimiters(text):  # the first one under which a header is found
        try:
            rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        except csv.Error as exc:
            raise UnreadableFileError(path, f"malformed CSV ({exc})") from exc
        try:
            return _frame(path, rows)
        except UnreadableFileError as exc:
            first_error = first_error or exc
    raise first_error


# ----------------------------------------------------------------------------- XLSX

def _read_xlsx(path: Path) -> pd.DataFrame:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError, InvalidFileException …
        reason = f"not a readable XLSX workbook ({type(exc).__name__}: {exc})"
        raise UnreadableFileError(path, reason) from exc
    try:
        first_error: UnreadableFileError | None = None
        for sheet in book.worksheets:
            rows = [[_raw_text(v) for v in r] for r in sheet.iter_rows(values_only=True)]
            try:
                table = _frame(path, rows)
            except UnreadableFileError as exc:
                first_error = first_error or exc
                continue
            log.debug("%s: reading sheet %r", path, sheet.title)
            return table
    finally:
        book.close()
    if first_error is None:
        raise UnreadableFileError(path, "the workbook has no sheets")
    raise UnreadableFileError(path, f"no sheet has a recognisable header row ({first_error.reason})")


# ----------------------------------------------------------------------------- GeoJSON / GPKG

def _read_vector(path: Path) -> pd.DataFrame:
    """The first layer (GeoPackage: of several) with registry columns or point geometry."""
    import pyogrio

    try:
        layers = [str(layer[0]) for layer in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio raises DataSourceError, DataLayerError, …
        raise UnreadableFileError(path, f"not a readable GeoJSON/GeoPackage file ({exc})") from exc
    first_error = UnreadableFileError(path, "the file has no layers")
    for i, layer in enumerate(layers):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                raw = pyogrio.read_dataframe(path, layer=layer)
        except Exception as exc:  # as above
            error = UnreadableFileError(path, f"layer {layer!r} is not readable ({exc})")
        else:
            for w in caught:
                log.info("%s: layer %r: %s", path, layer, w.message)
            try:
                return _vector_table(path, raw)
            except UnreadableFileError as exc:
                error = exc
        first_error = error if i == 0 else first_error
    raise first_error


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
    geom = raw.geometry if isinstance(raw, gpd.GeoDataFrame) else gpd.GeoSeries([None] * len(raw))
    if geom.crs is not None and not geom.crs.equals("EPSG:4326"):
        geom = geom.to_crs("EPSG:4326")
    out = gpd.GeoDataFrame(table, geometry=geom.reset_index(drop=True), crs=geom.crs)
    blank = out.drop(columns="geometry").eq("").all(axis=1) & out.geometry.isna()
    out = out.loc[~blank.to_numpy()]
    out.index = pd.Index(out.index.to_numpy() + 1, dtype="int64", name="row")
    return out


def _flatten(raw: pd.DataFrame, file: str) -> pd.DataFrame:
    """One file's table with ``file``/``row`` columns, point geometry moved into lon/lat."""
    import numpy as np
    import pandas as pd
    import shapely

    t = pd.DataFrame(raw.drop(columns="geometry", errors="ignore"))
    t.insert(0, "row", raw.index.to_numpy(dtype="int64"))
    t.insert(0, "file", file)
    t[GEOMETRY_PROBLEM] = ""
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
    tables : list of (table, file name)

    Returns
    -------
    DataFrame with a RangeIndex and the columns ``file``, ``row``, the canonical and
    extra columns of every table (``""`` where a table lacks one), :data:`EXTRA_CELLS` and
    :data:`GEOMETRY_PROBLEM` (the type of a non-point geometry, else ``""``). A point
    geometry replaces ``lon``/``lat`` (and blanks ``x``/``y``).
    """
    import pandas as pd

    frames = [_flatten(table, file) for table, file in tables]
    if not frames:
        columns = ["file", *COLUMNS, EXTRA_CELLS, GEOMETRY_PROBLEM]
        return pd.DataFrame({c: pd.Series([], dtype="str") for c in columns}).assign(row=0)
    t = pd.concat(frames, ignore_index=True)
    text = [c for c in t.columns if c != "row"]
    t[text] = t[text].fillna("").astype("str")
    return t



_FORMATS = {
    ".csv": _read_csv, ".txt": _read_csv, ".tsv": _read_csv,
    ".xlsx": _read_xlsx, ".xlsm": _read_xlsx,
    ".geojson": _read_vector, ".json": _read_vector, ".gpkg": _read_vector,
}


def _sniff(path: Path) -> Callable[[Path], pd.DataFrame]:
    with open(path, "rb") as fh:
        head = fh.read(16)
    if head.startswith(b"PK\x03\x04"):
        return _read_xlsx
    if head.startswith(b"SQLite format 3"):
        return _read_vector
    if head.lstrip()[:1] == b"{":
        return _read_vector
    return _read_csv


def read_table(path: str | Path) -> pd.DataFrame:
    """Read one registry file into a table of clean strings.

    The format is chosen by extension (``.csv .txt .tsv``, ``.xlsx .xlsm``, ``.geojson .json``,
    ``.gpkg``), else by content. CSV text may be UTF-8 (with or without BOM), Big5/cp950 or
    UTF-16; the delimiter may be ``, ; | tab``. In CSV and XLSX the header is the first row
    (of the first 20) naming at least two registry columns; in an XLSX workbook, the first
    sheet that has one is read.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    DataFrame
        Indexed by ``row``, the row number a spreadsheet user sees (the header of a file
        whose header is on the first line is row 1, its first data row is row 2; for
        GeoJSON/GeoPackage, the feature number from 1). Columns are the canonical
        :data:`COLUMNS` (always all present, ``""`` when absent), then the file's other
        columns under their own header, then ``_extra_cells`` (non-blank cells beyond the
        header's width, comma-joined; non-empty means a malformed row). Values are ``str``:
        NFKC-normalised (full-width → half-width), stripped, inner whitespace collapsed,
        ``""`` when blank; XLSX dates become ISO dates. Entirely blank rows are skipped.
        GeoJSON/GeoPackage give a GeoDataFrame whose geometry is in EPSG:4326 when the
        layer has a CRS (kept as is when it has none).

    Raises
    ------
    UnreadableFileError
        The file is missing, empty, binary, undecodable, or has no recognisable header.

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
    table = reader(path)
    log.debug("%s: %d rows", path, len(table))
    return table
