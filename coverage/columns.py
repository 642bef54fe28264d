"""Registry columns: canonical names, the header spellings that name them, and clean cell text.

A registry file's header may say ``機構名稱``, ``ＴＷＤ97_X`` or ``經度(WGS84)``: this module maps
header cells to the canonical :data:`COLUMNS`, cleans cells into strings (NFKC, stripped, inner
whitespace collapsed) and turns raw rows into the table of clean strings that
:func:`coverage.tabular.read_table` returns, marking malformed rows in the columns
:data:`EXTRA_CELLS`, :data:`CELL_COUNT` and :data:`ROW_PROBLEM`. It knows nothing about file
formats (:mod:`coverage.tabular`) nor about validation (:mod:`coverage.facilities`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
import unicodedata
from typing import TYPE_CHECKING, Any

from .errors import UnreadableFileError
from .names import header_key

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Iterable
    from pathlib import Path

    import pandas as pd

__all__ = [
    "CELL_COUNT",
    "COLUMNS",
    "EXTRA_CELLS",
    "GEOMETRY_PROBLEM",
    "HEADER_ALIASES",
    "HEADER_SEARCH_ROWS",
    "PART",
    "ROW_PROBLEM",
    "WIDE",
    "canonical_header",
    "cell_text",
    "chunk_table",
    "column_names",
    "find_header",
    "raw_text",
    "rows_table",
    "unused_duplicates",
    "with_all_columns",
]

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
#: Rows searched for a header (the first row naming at least two registry columns).
HEADER_SEARCH_ROWS = 20
#: Columns searched for a header; cells beyond are kept only as extra cells.
WIDE = 4096
_CHUNK_ROWS = 50_000  # rows cleaned at a time
_MAX_CELLS = 1000  # a row with more cells (and more than 10 x the header's) is not read
_EXTRA_CHARS = 200  # extra-cell text kept for the rejection
_RESERVED = {
    "facility_id", "file", "row", "towncode", "snapped", "note", "geometry", EXTRA_CELLS, GEOMETRY_PROBLEM,
    ROW_PROBLEM, PART, CELL_COUNT,
}

#: One raw row: (row number as the user sees it, raw cells, None or the reason it is damaged).
Row = tuple[int, list[Any], str | None]


def canonical_header(header: object) -> str | None:
    """Canonical column for a header cell, or ``None`` if it is not a registry column.

    Matching ignores case, spaces, full-width forms, ``_ - . : /`` and a parenthesised
    suffix such as ``經度(WGS84)``.

    Parameters
    ----------
    header : object
        A header cell as read (``None`` for an empty one).

    Returns
    -------
    str or None
        The canonical column name (``name``, ``x``, ``county`` …), or None.

    Examples
    --------
    >>> canonical_header(" 機構名稱 "), canonical_header("ＴＷＤ97_X"), canonical_header("備註")
    ('name', 'x', None)
    """
    if header is None:
        return None
    return _ALIAS.get(header_key(header))


def raw_text(value: Any) -> str:
    """One cell as a string, before cleaning: ``""`` if blank, integral floats without ``.0``.

    Parameters
    ----------
    value : object
        A cell as a reader gives it (str, number, date, None, NaN).

    Returns
    -------
    str
    """
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


def cell_text(value: Any) -> str:
    """One cell as a clean string: NFKC, stripped, inner whitespace collapsed, ``""`` if blank.

    Parameters
    ----------
    value : object
        A cell as a reader gives it (see :func:`raw_text`).

    Returns
    -------
    str
    """
    text = unicodedata.normalize("NFKC", raw_text(value))
    return _SPACES.sub(" ", text).strip()


def find_header(rows: list[list[str]]) -> int | None:
    """Index of the first row (of the first :data:`HEADER_SEARCH_ROWS`) naming at least two registry columns.

    Parameters
    ----------
    rows : list of list of str
        The first rows of a table, cells cleaned (:func:`cell_text`).

    Returns
    -------
    int or None
        ``None`` when no row is a registry header.
    """
    for i, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if len({c for c in map(canonical_header, cells) if c}) >= 2:
            return i
    return None


def column_names(header: list[str]) -> list[str]:
    """Output column names for a header row: canonical where recognised, else the header text.

    Parameters
    ----------
    header : list of str
        The header row's cells.

    Returns
    -------
    list of str
        One unique name per cell: the canonical column the first time a header names it, else
        the cell's text (``column_N`` when blank), prefixed ``src_`` when it would clash with a
        canonical or internal column.
    """
    names: list[str] = []
    for j, cell in enumerate(header):
        canon = canonical_header(cell)
        text = cell_text(cell)
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


def unused_duplicates(path: Path, parts: list) -> list[str]:
    """One line per registry column given twice: the first is read, the second kept as ``src_…`` only.

    Parameters
    ----------
    path : Path
        The file, named in each line.
    parts : list of (str, DataFrame)
        The file's sheets or layers (name, table), as :func:`rows_table` gives them.

    Returns
    -------
    list of str
    """
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


def with_all_columns(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with every canonical column of :data:`COLUMNS` (``""`` where it had none), in place.

    Parameters
    ----------
    table : DataFrame

    Returns
    -------
    DataFrame
        The same object.
    """
    for col in COLUMNS:
        if col not in table.columns:
            table[col] = ""
    return table


def rows_table(path: Path, rows: Iterable[Row], *, limit: int, delimited: bool = False) -> pd.DataFrame:
    """Table of clean strings from raw rows (header somewhere in the first rows).

    ``rows`` yields ``(row number, cells, problem)``: the row number as the user sees it, the
    raw cells (strings), and ``None`` or the reason the row is damaged (its cells are then
    empty; it becomes a :data:`ROW_PROBLEM` row for the caller to reject). It may be an iterator
    over the open file: the body is cleaned :data:`_CHUNK_ROWS` rows at a time into Arrow-backed
    string columns, so the peak memory is about the size of the table; more than ``limit``
    rows are refused as soon as they are seen. No row is padded beyond the header's width:
    cells past it are joined into :data:`EXTRA_CELLS`, and a row with far more cells than the
    header is a :data:`ROW_PROBLEM` row.

    Parameters
    ----------
    path : Path
        The file, named in errors.
    rows : iterable of (int, list, str or None)
        The raw rows (:data:`Row`).
    limit : int
        Most data rows read (:func:`coverage.tabular.max_rows`).
    delimited : bool
        Delimited text: rows whose number of cells differs from the header's are marked in
        :data:`CELL_COUNT`.

    Returns
    -------
    DataFrame
        Indexed by ``row``; the columns of :func:`column_names`, every canonical column, then
        :data:`EXTRA_CELLS`, :data:`ROW_PROBLEM` and :data:`CELL_COUNT`; entirely blank rows dropped.

    Raises
    ------
    UnreadableFileError
        No header row among the first rows, or more than ``limit`` rows.
    """
    import pandas as pd

    it = iter(rows)
    head = list(itertools.islice(it, HEADER_SEARCH_ROWS))
    h = find_header([[cell_text(v) for v in r[1][:WIDE]] for r in head])
    if h is None:
        damage = next((r[2] for r in head if r[2]), None)
        raise UnreadableFileError(
            path,
            "no recognisable header row; expected columns such as 類別/category, 名稱/name, "
            "縣市/county, 鄉鎮市區/township, 地址/address, 經度/lon, 緯度/lat"
            + (f" (the first lines are damaged: {damage})" if damage else ""),
        )
    header = [cell_text(v) for v in head[h][1][:WIDE]]
    header_cells = len(head[h][1]) if delimited else None
    while header and not header[-1]:
        header.pop()
    names = column_names(header)
    body = itertools.chain(head[h + 1:], it)
    parts, seen = [], 0
    while chunk := list(itertools.islice(body, _CHUNK_ROWS)):
        parts.append(chunk_table(chunk, names, header_cells))
        seen += len(chunk)
        if seen > limit:
            raise UnreadableFileError(
                path, f"more than {limit:,} rows, over the row limit for a registry; split it, "
                "or raise SAFETYNET_MAX_ROWS"
            )
    if not parts:
        parts.append(chunk_table([], names))
    table = pd.concat(parts) if len(parts) > 1 else parts[0]
    return with_all_columns(table)


def chunk_table(chunk: list[Row], names: list[str], header_cells: int | None = None) -> pd.DataFrame:
    """Clean string table of raw rows, indexed by their row numbers; blank rows dropped.

    With ``header_cells`` (delimited text), rows with fewer cells than ``names`` or more than
    ``header_cells`` are marked in :data:`CELL_COUNT` (``"cells/header cells"``).

    Parameters
    ----------
    chunk : list of (int, list, str or None)
        Raw rows (:data:`Row`) after the header.
    names : list of str
        Column names (:func:`column_names`).
    header_cells : int, optional
        The header's number of cells, blank ones included (delimited text only).

    Returns
    -------
    DataFrame
        Indexed by ``row``: ``names``, then :data:`EXTRA_CELLS`, :data:`ROW_PROBLEM` and
        :data:`CELL_COUNT`, all ``str``.
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
            over = ",".join(t for c in cells[width:] if (t := cell_text(c)))
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

