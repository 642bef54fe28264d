"""Split an official population file (CSV or JSON) into a header, data rows and damaged lines.

The first half of :mod:`coverage.population`: it finds the header (also two header rows, English
then Chinese), names each column's role (:func:`classify_column`), and returns every non-blank
data row with its line number as in the file. CSV lines an unbalanced quote swallowed are
returned as damaged lines (:mod:`coverage.csvtext`), never merged into a row. It knows nothing
about townships, villages or age groups.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from .errors import UnreadableFileError

__all__ = ["OPEN_END", "PopulationRows", "classify_column", "normalise_header", "read_population_rows"]

#: Stands for "and over" as the last age of an interval (65歲以上 = (65, OPEN_END)).
OPEN_END = 10_000

# Header vocabulary, after normalise_header() (NFKC, no spaces, lower case).
_ROLES = {
    "period": {"統計年月", "年月", "資料年月", "statistic_yyymm", "ym", "yyymm"},
    "code": {"區域別代碼", "村里代碼", "區域代碼", "鄉鎮市區代碼", "villcode", "towncode", "district_code", "code"},
    "area": {"區域別", "區域", "鄉鎮市區別", "site_id", "area"},
    "county": {"縣市", "縣市名稱", "縣市別", "countyname", "county"},
    "township": {"鄉鎮市區", "鄉鎮市區名稱", "townname", "township"},
    "village": {"村里", "村里名稱", "村里別", "villname", "village"},
    "households": {"戶數", "household_no", "households"},
    "total": {"人口數", "人口", "總人口", "總人口數", "人口總數", "population", "people_total"},
    "size": {"size", "面積", "土地面積", "area_km2"},
    "ignore": {"人口數-男", "人口數-女", "男性人口", "女性人口", "男", "女", "male", "female",
               "people_total_m", "people_total_f", "性比例", "sex_ratio"},
}
_ROLE_OF = {name: role for role, names in _ROLES.items() for name in names}
_AGE_PATTERNS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], tuple[int, int]]]] = [
    (re.compile(r"^(\d+)歲(以上)?(?:-?[男女])?$"), lambda m: (int(m[1]), OPEN_END if m[2] else int(m[1]))),
    (re.compile(r"^people_age_(\d{3})(up)?(?:_[mf])?$"), lambda m: (int(m[1]), OPEN_END if m[2] else int(m[1]))),
    (re.compile(r"^age_(\d+)_(\d+)$"), lambda m: (int(m[1]), int(m[2]))),
    (re.compile(r"^age_(\d+)(?:plus|up)$"), lambda m: (int(m[1]), OPEN_END)),
    (re.compile(r"^(\d+)[-~～](\d+)歲$"), lambda m: (int(m[1]), int(m[2]))),
    (re.compile(r"^未滿(\d+)歲$"), lambda m: (0, int(m[1]) - 1)),
    # 超過64歲 is 65 and over; but the tabulated 超過20歲 column is 20 and over: nationally in 2021-03,
    # 人口 − 超過20歲 − 18-19歲 − 未滿15歲 = 645,129, three birth cohorts (15–17), not four.
    (re.compile(r"^超過20歲$"), lambda m: (20, OPEN_END)),
    (re.compile(r"^超過(\d+)歲$"), lambda m: (int(m[1]) + 1, OPEN_END)),
    (re.compile(r"^(\d+)歲以上(?:人口)?$"), lambda m: (int(m[1]), OPEN_END)),
    (re.compile(r"^elderly(\d+)$"), lambda m: (int(m[1]), OPEN_END)),
]


def normalise_header(text: object) -> str:
    """A header cell as matched: NFKC, no spaces, lower case (``人口 數`` → ``人口數``).

    Parameters
    ----------
    text : object
        The cell as read; None or empty gives ``""``.

    Returns
    -------
    str
        The matching key.
    """
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or ""))).lower()


def _decode(path: Path, data: bytes) -> str:
    for enc in ("utf-8-sig", "cp950", "big5hkscs"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise UnreadableFileError(path, "cannot decode the text; expected UTF-8 or Big5 (cp950)")


def classify_column(name: str) -> tuple[str, tuple[int, int] | None]:
    """(role, age interval or None) of a column name.

    Parameters
    ----------
    name : str
        A header cell of a population file (``人口數``, ``65歲以上``, ``people_age_000_m`` …).

    Returns
    -------
    role : str
        ``period``, ``code``, ``area``, ``county``, ``township``, ``village``, ``households``,
        ``total`` … for a known column, ``age`` for an age column, ``other`` otherwise.
    interval : tuple of (int, int) or None
        The ages an ``age`` column counts, both ends included (:data:`OPEN_END` for "and over");
        None for the other roles.
    """
    n = normalise_header(name)
    if n in _ROLE_OF:
        return _ROLE_OF[n], None
    for pattern, make in _AGE_PATTERNS:
        m = pattern.match(n)
        if m:
            return "age", make(m)
    return "other", None


class PopulationRows(NamedTuple):
    """A population file split into cells: the header, the data rows and the damaged lines."""

    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line in the file, cells) of each non-blank data row
    damaged: list[tuple[int, str]]  # (line, reason) of the lines that could not be split into cells


class _Repeated(list):
    """A JSON object whose keys repeat, kept as its (key, value) pairs (a dict would keep the last)."""


_REPEATED = "(key repeated in the record)"


def _json_object(pairs: list[tuple[str, object]]) -> dict | _Repeated:
    keys = [k for k, _ in pairs]
    return dict(pairs) if len(set(keys)) == len(keys) else _Repeated(pairs)


def _record(value: object) -> dict | None:
    """A JSON record as a dict; a field given twice holds a marker that is never a count or a name."""
    if isinstance(value, _Repeated):
        counts: dict[str, int] = {}
        for k, _ in value:
            counts[k] = counts.get(k, 0) + 1
        return {k: (_REPEATED if counts[k] > 1 else v) for k, v in value}
    return value if isinstance(value, dict) else None


def _rows_from_json(path: Path, text: str) -> PopulationRows:
    """Rows of a JSON object of records keyed by code, or a list of records; a code given twice is two rows."""
    try:
        data = json.loads(text, object_pairs_hook=_json_object)
    except RecursionError:
        raise UnreadableFileError(path, "JSON nested too deeply; expected a flat table of records") from None
    except json.JSONDecodeError as exc:
        raise UnreadableFileError(path, f"not valid JSON ({exc})") from None
    except ValueError as exc:  # an integer longer than Python converts (4,300 digits)
        raise UnreadableFileError(path, f"not valid JSON ({str(exc).split(':')[0]})") from None
    keyed = list(data) if isinstance(data, _Repeated) else list(data.items()) if isinstance(data, dict) else None
    if keyed and all(_record(v) is not None for _, v in keyed):
        records: list[Any] = [(str(code), _record(v)) for code, v in keyed]
        keys = list(dict.fromkeys(k for _, v in records for k in v))
        rows = [(i, [code, *[_cell(v.get(k)) for k in keys]]) for i, (code, v) in enumerate(records, 1)]
        return PopulationRows(["code", *keys], rows, [])
    if isinstance(data, list) and data and all(_record(v) is not None for v in data):
        records = [_record(v) for v in data]
        keys = list(dict.fromkeys(k for v in records for k in v))
        return PopulationRows(keys, [(i, [_cell(v.get(k)) for k in keys]) for i, v in enumerate(records, 1)], [])
    raise UnreadableFileError(path, "JSON must be an object of records keyed by code, or a list of records")


def _cell(value: object) -> str:
    if isinstance(value, (dict, list)):  # _Repeated is a list
        return "(nested JSON)"  # never a count; str() of a deep structure could itself overflow
    return "" if value is None else str(value)


def _csv_records(text: str) -> tuple[list[tuple[int, list[str]]], list[tuple[int, str]]]:
    """(first line, cells) of each CSV record, and (line, reason) of each line lost to damage.

    :func:`coverage.csvtext.csv_records` compares the records with the physical lines: the lines
    an unbalanced ``"`` swallowed (or a cell over the csv module's field limit, a NUL) are
    reported one by one, never merged into a record.
    """
    from .csvtext import csv_records

    parsed = csv_records(text)
    damaged = []
    for line in parsed.damaged_lines:
        reason = next(why for first, last, why in parsed.damaged if first <= line <= last)
        damaged.append((line, reason))
    return parsed.records, damaged


def _rows_from_csv(path: Path, text: str) -> PopulationRows:
    records, damaged = _csv_records(text)
    header_at = None
    for k, (_line, cells) in enumerate(records[:20]):
        if sum(classify_column(c)[0] != "other" for c in cells) >= 2:
            header_at = k
            break
    if header_at is None:
        early = [f"line {line}: {why}" for line, why in damaged[:1]]
        raise UnreadableFileError(
            path, "no population header found in the first 20 lines (expected columns such as 統計年月, "
            f"區域別, 村里, 人口數, or TOWNCODE, population){'; ' + early[0] if early else ''}"
        )
    header = records[header_at][1]
    start = header_at + 1
    # a second header row (English then Chinese, or the reverse) is not data
    while start < len(records) and (
            sum(classify_column(c)[0] != "other" for c in records[start][1]) >= max(2, len(header) // 2)):
        start += 1
    if start > header_at + 1:  # name each column as the last header row does (MOI: Chinese below English)
        rows_above = [cells for _line, cells in records[header_at:start]]
        header = [next((r[i] for r in reversed(rows_above) if i < len(r) and classify_column(r[i])[0] != "other"), name)
                  for i, name in enumerate(header)]
    first_data = records[start - 1][0] + 1
    rows = [(line, cells) for line, cells in records[start:] if any(c.strip() for c in cells)]
    return PopulationRows(header, rows, [(line, why) for line, why in damaged if line >= first_data])


def read_population_rows(path: str | Path) -> PopulationRows:
    """The header, the non-blank data rows and the damaged lines of a population CSV or JSON file.

    Parameters
    ----------
    path : str or Path
        The population file (CSV in UTF-8 or Big5, or JSON records).

    Returns
    -------
    PopulationRows
        Header cells, ``(line, cells)`` of each non-blank data row and ``(line, reason)`` of each
        damaged line.

    Raises
    ------
    UnreadableFileError
        Missing, too large, empty, binary, undecodable, JSON that is not a table of records or
        is nested too deeply, or a CSV without a population header in its first 20 lines.
    """
    path = Path(path)
    if not path.exists():
        raise UnreadableFileError(path, "file not found")
    if path.is_dir():
        raise UnreadableFileError(path, "is a directory, not a population file")
    from .tabular import max_file_bytes

    limit = max_file_bytes()
    if path.stat().st_size > limit:
        raise UnreadableFileError(
            path, f"file is {path.stat().st_size / 2**20:,.0f} MB, over the {limit / 2**20:,.0f} MB limit; "
            "raise SAFETYNET_MAX_FILE_MB if this machine has the memory"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFileError(path, f"cannot read ({exc.strerror or exc})") from exc
    if not data.strip():
        raise UnreadableFileError(path, "file is empty")
    if b"\x00" in data[:4096]:
        raise UnreadableFileError(path, "binary file; expected a CSV or JSON population table")
    text = _decode(path, data)
    if text.lstrip()[:1] in ("{", "["):
        return _rows_from_json(path, text)
    return _rows_from_csv(path, text)
