"""Reading one registry file into a table of strings: CSV (any common encoding), XLSX, GeoJSON, GeoPackage.

This is the first step of :mod:`coverage.facilities`: it turns one file into a table of
clean strings with canonical column names (:mod:`coverage.columns`) and the row numbers a
spreadsheet user sees, and stacks several files into one table. It knows nothing about
categories, coordinates or townships; validation happens in
:func:`coverage.facilities.read_facilities`.
"""

from __future__ import annotations

import codecs
import itertools
import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .columns import (
    CELL_COUNT,
    COLUMNS,
    EXTRA_CELLS,
    GEOMETRY_PROBLEM,
    HEADER_ALIASES,
    HEADER_SEARCH_ROWS,
    PART,
    ROW_PROBLEM,
    WIDE,
    canonical_header,
    cell_text,
    column_names,
    find_header,
    raw_text,
    rows_table,
    unused_duplicates,
    with_all_columns,
)
from .csvtext import iter_csv_rows
from .errors import UnreadableFileError

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable, Sequence

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
    "max_file_bytes",
    "max_rows",
    "read_table",
]

log = logging.getLogger(__name__)

_BLOCK_BYTES = 2**20  # bytes decoded at a time
_DETECT_BYTES = 4 * 2**20  # bytes the encoding detector sees
#: The parts of one file: (sheet or layer name, table), and what was skipped (one line each).
Parts = tuple[list[tuple[str, "pd.DataFrame"]], list[str]]


# ----------------------------------------------------------------------------- CSV

def _encoding(path: Path) -> tuple[str, bool]:
    """Encoding of a CSV file, and whether it holds a quote character (``"``), found in one streaming
    pass that also enforces the row limit.

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
            quoted = _scan(path, enc)
        except UnicodeDecodeError:
            continue
        log.debug("%s: decoded as %s", path, enc)
        return enc, quoted
    from charset_normalizer import from_bytes

    with open(path, "rb") as fh:
        sample = fh.read(_DETECT_BYTES)
    best = from_bytes(sample).best()
    if best is not None and best.encoding and best.chaos < 0.2:
        try:
            quoted = _scan(path, best.encoding)
        except (UnicodeDecodeError, LookupError):
            pass
        else:
            log.info("%s: not UTF-8 or Big5; decoded as %s (detected)", path, best.encoding)
            return best.encoding, quoted
    raise UnreadableFileError(path, "cannot decode the text; save it as UTF-8 or Big5 (cp950)")


def _scan(path: Path, encoding: str) -> bool:
    """Decode the whole file in blocks (UnicodeDecodeError if it is not ``encoding``); refuse
    a blank or binary file and one with more than :func:`max_rows` lines. Whether it holds a ``"``."""
    decoder = codecs.getincrementaldecoder(encoding)()
    limit, lines, blank, quoted = max_rows(), 0, True, False
    with open(path, "rb") as fh:
        while True:
            block = fh.read(_BLOCK_BYTES)
            text = decoder.decode(block, final=not block)
            if "\x00" in text:
                raise UnreadableFileError(path, "contains NUL characters; it is a binary file, not a CSV table")
            blank = blank and not text.strip()
            quoted = quoted or '"' in text
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
    return quoted


def _delimiters(text: str) -> list[str]:
    """Candidate delimiters, most frequent in the first non-blank line (then the next lines) first."""
    lines = [ln for ln in text.splitlines()[:HEADER_SEARCH_ROWS] if ln.strip()] or [""]
    rank = {d: (lines[0].count(d), max(ln.count(d) for ln in lines)) for d in (",", "\t", ";", "|")}
    found = sorted((d for d in rank if rank[d][1]), key=lambda d: rank[d], reverse=True)
    return found + [","] * ("," not in found)


def max_file_bytes() -> int:
    """Largest registry file read (``SAFETYNET_MAX_FILE_MB``, default 512 MB).

    Returns
    -------
    int
        The limit in bytes.
    """
    return int(float(os.environ.get("SAFETYNET_MAX_FILE_MB", "512")) * 2**20)


def max_rows() -> int:
    """Most rows read from one registry file (``SAFETYNET_MAX_ROWS``, default 2,000,000).

    Validating a registry takes under 1 KB of memory a row (about 0.95 GB peak for a million rows,
    ``benchmarks/registry_read.py``); real registries have hundreds to thousands of rows.

    Returns
    -------
    int
        The limit in rows.
    """
    return int(os.environ.get("SAFETYNET_MAX_ROWS", "2000000"))


def _read_csv(path: Path, layer: str | None = None) -> Parts:
    """The one table of a CSV file (``layer`` is ignored: a CSV has one part)."""
    encoding, quoted = _encoding(path)
    with open(path, encoding=encoding, newline="") as fh:
        head = fh.read(_BLOCK_BYTES)
    first_error: UnreadableFileError | None = None
    for delimiter in _delimiters(head):  # the first one under which a header is found
        with open(path, encoding=encoding, newline="") as fh:
            peek = list(itertools.islice(iter_csv_rows(fh, delimiter=delimiter), HEADER_SEARCH_ROWS))
        h = find_header([[cell_text(v) for v in r[1][:WIDE]] for r in peek])
        width = len(peek[h][1]) if h is not None else None
        if h is not None and not quoted:  # every line is one record: read column by column
            return [("", _plain_csv(path, encoding, delimiter, peek[h]))], []
        with open(path, encoding=encoding, newline="") as fh:
            try:
                rows = iter_csv_rows(fh, delimiter=delimiter, width=width)
                return [("", rows_table(path, rows, limit=max_rows(), delimited=True))], []
            except UnreadableFileError as exc:
                if "row limit" in exc.reason:
                    raise
                first_error = first_error or exc
    assert first_error is not None  # _delimiters always offers at least ","
    raise first_error


def _plain_csv(path: Path, encoding: str, delimiter: str, header_row: tuple) -> pd.DataFrame:
    """The table of a CSV file without quotes whose header is ``header_row`` (:mod:`coverage.plaincsv`)."""
    from .plaincsv import plain_table

    line, cells, _ = header_row
    header = [cell_text(v) for v in cells[:WIDE]]
    while header and not header[-1]:
        header.pop()
    with open(path, encoding=encoding, newline="") as fh:
        body = itertools.islice(fh, line, None)
        return plain_table(path, body, first=line + 1, delimiter=delimiter, names=column_names(header),
                           header_cells=len(cells), limit=max_rows())


# ----------------------------------------------------------------------------- XLSX

def _dense(pairs: list[tuple[int, Any]]) -> tuple[list[str], str | None]:
    """A row's cells as a list from its (column, value) pairs, and a problem if a cell is beyond :data:`WIDE`."""
    top = max(c for c, _ in pairs)
    cells = [""] * (min(top, WIDE - 1) + 1)
    for c, v in pairs:
        if c < WIDE:
            cells[c] = raw_text(v)
    if top < WIDE:
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
                table = rows_table(path, rows, limit=max_rows())
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
    names = column_names(attrs)
    table = pd.DataFrame(
        {name: raw[col].map(cell_text).astype("str") for name, col in zip(names, attrs, strict=True)},
        index=pd.RangeIndex(len(raw)),
    )
    table = with_all_columns(table)
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
        # a Categorical column (a large quote-free CSV: coverage.plaincsv) stays one: it is never missing here
        text = [c for c in t.columns if c != "row" and not isinstance(t[c].dtype, pd.CategoricalDtype)]
        t[text] = t[text].fillna("").astype("str")
    t.attrs["skipped"] = skipped
    return t


def file_labels(paths: Sequence[str | Path]) -> list[str]:
    """Labels naming each file by the shortest path suffix that no other file shares.

    Files with the same name in different folders stay distinct (``a/清冊.csv``,
    ``b/清冊.csv``); the same file given twice is numbered (``清冊.csv (2)``).

    Parameters
    ----------
    paths : sequence of str or Path
        The files, in the order given.

    Returns
    -------
    list of str
        One label per path, in the same order.

    Examples
    --------
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
        one). ``attrs["skipped"]`` lists what was not read. Values are ``str`` (in a CSV without quotes,
        the canonical columns and the markers come as pandas Categoricals of those strings,
        :mod:`coverage.plaincsv`):
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
    table.attrs["skipped"] = [*skipped, *unused_duplicates(path, parts)]
    for line in skipped:
        log.info("%s", line)
    log.debug("%s: %d rows", path, len(table))
    return table
