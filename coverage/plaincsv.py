"""Delimited text without any quote character, read column by column with Arrow.

Most registry exports never quote a cell. In such a file every physical line is one record and
its cells are the line split at the delimiter, so :mod:`coverage.csvtext`'s record-by-record
parsing and :func:`coverage.columns.rows_table`'s cell-by-cell cleaning can be done on whole
columns: lines are split by Arrow, and a column is cleaned (NFKC, whitespace collapsed) only if
its text is not clean already, and then once per distinct value. The table is the one
:func:`coverage.columns.rows_table` gives for the same lines, row for row: a block of lines that
is not plain (a line break other than ``\\n``, a line longer than the ``csv`` field limit, a row
whose number of cells differs from the header's, cells beyond the header's named columns) is
handed to :func:`coverage.csvtext.iter_csv_rows` and :func:`coverage.columns.chunk_table`.

Blocks are not stacked as text (issue 16: 10^6 rows in 1 GB). Each registry column of a block is coded
against the distinct values seen so far (new ones appended in order of first appearance) and the
block's text freed; a column found mostly distinct (names, coordinates) keeps its blocks' text instead.
"""

from __future__ import annotations

import csv
import functools
import itertools
import re
import unicodedata
from typing import TYPE_CHECKING, Any

from .columns import CELL_COUNT, COLUMNS, EXTRA_CELLS, ROW_PROBLEM, chunk_table, with_all_columns
from .csvtext import iter_csv_rows
from .errors import UnreadableFileError

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Iterable
    from pathlib import Path

    import pandas as pd
    import pyarrow as pa

__all__ = ["COMBINING_STARTERS", "SPACE_CHARACTERS", "plain_table"]

#: Every character ``str.split()`` splits on (``str.isspace()``), for the cleanliness test.
SPACE_CHARACTERS = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
                    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_ASCII_SPACES = tuple(c for c in SPACE_CHARACTERS if c.isascii() and c not in " \n")
_OTHER_SPACES = re.compile("[" + re.escape(SPACE_CHARACTERS.replace(" ", "").replace("\n", "")) + "]")
#: Starters (combining class 0) that compose with the character before them: the second character of
#: a two-character canonical decomposition, and Hangul medial vowels and final consonants.
COMBINING_STARTERS = frozenset(
    "\u09be\u09d7\u0b3e\u0b56\u0b57\u0bbe\u0bd7\u0cc2\u0cd5\u0cd6\u0d3e\u0d57\u0dcf\u0ddf\u0fb5\u0fb7"
    "\u102e\u1b35\U00011127\U0001133e\U00011357\U000114b0\U000114ba\U000114bd\U000115af\U00011930"
    + "".join(map(chr, range(0x1161, 0x1176))) + "".join(map(chr, range(0x11A8, 0x11C3))))
_CHUNK_LINES = 20_000  # lines split and cleaned at a time (Arrow temporaries stay small)
_FILTER_MIN = 2_000  # a column this long is cleaned value by value only where a value may change


def _clean(value: str) -> str:
    """What :func:`coverage.columns.chunk_table` makes of a raw cell."""
    return " ".join(unicodedata.normalize("NFKC", value).split()) if value else ""


def _is_clean(text: str) -> bool:
    """Whether every value of ``text`` (values joined by ``"\n"``) is its own :func:`_clean`.

    That is: NFKC already, and no space character but single inner spaces (``str.split()``
    splits on :data:`SPACE_CHARACTERS`).
    """
    if "  " in text or "\n " in text or " \n" in text or text[:1] == " " or text[-1:] == " ":
        return False
    if text.isascii():  # NFKC leaves ASCII as it is
        return not any(c in text for c in _ASCII_SPACES)
    return _OTHER_SPACES.search(text) is None and unicodedata.is_normalized("NFKC", text)


#: A value that is ASCII is its own :func:`_clean` unless it matches this (RE2): a space at either end, two
#: spaces, or an ASCII character ``str.split()`` splits on other than the space (NFKC leaves ASCII as it is).
_ASCII_UNCLEAN = "^ | $|  |[" + "".join(f"\\x{{{ord(c):02x}}}" for c in (*_ASCII_SPACES, "\n")) + "]"


def _ascii_clean(column: pa.Array) -> bool:
    """Whether every value of ``column`` is ASCII and its own :func:`_clean`, found by Arrow without a Python
    string per value (coordinates, codes and dates are ASCII columns of mostly distinct values)."""
    import pyarrow.compute as pc

    return bool(pc.all(pc.string_is_ascii(column)).as_py()) and \
        not pc.any(pc.match_substring_regex(column, _ASCII_UNCLEAN)).as_py()


def _clean_column(column: pa.Array) -> pa.Array:
    """``column`` with every value cleaned: tested as a whole first, then cleaned once per distinct value
    (or, in a long column of mostly distinct values, only the values that a cleaning may change)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(column) == 0 or _ascii_clean(column):
        return column
    encoded = column.dictionary_encode()
    distinct = encoded.dictionary.to_pylist()
    if len(column) < _FILTER_MIN or 4 * len(distinct) <= len(column):
        if _is_clean("\n".join(distinct)):
            return column
        return pa.array([_clean(v) for v in distinct], pa.string()).take(encoded.indices)
    text = "\n".join(distinct)
    if _is_clean(text):
        return column
    unsafe = sorted(c for c in set(text) if c != "\n" and not _safe_character(c))
    pattern = "|".join(["  ", "^ ", " $", *(["[" + "".join(f"\\x{{{ord(c):x}}}" for c in unsafe) + "]"]
                                              if unsafe else [])])  # RE2 syntax
    changes = pc.match_substring_regex(column, pattern)
    encoded = column.filter(changes).dictionary_encode()
    cleaned = pa.array([_clean(v) for v in encoded.dictionary.to_pylist()], pa.string()).take(encoded.indices)
    return pc.replace_with_mask(column, changes, cleaned)


@functools.lru_cache(maxsize=65_536)
def _safe_character(c: str) -> bool:
    """Whether a value made of such characters (and single inner spaces) is its own :func:`_clean`.

    NFKC leaves such a character as it is and never composes it with a neighbour: it is NFKC
    alone, of combining class 0, and not one of :data:`COMBINING_STARTERS`; and ``str.split()``
    does not split on it.
    """
    return (c == " " or not c.isspace()) and unicodedata.combining(c) == 0 and c not in COMBINING_STARTERS \
        and unicodedata.normalize("NFKC", c) == c


def _plain_chunk(lines: list[str], first: int, delimiter: str, names: list[str],
                 header_cells: int) -> pd.DataFrame | None:
    """The table of one block of plain lines (numbered from ``first``), or None if it is not plain."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    if lines and not lines[-1].endswith("\n"):
        lines = [*lines[:-1], lines[-1] + "\n"]
    text = "".join(lines)
    if "\r" in text:
        return None
    arr = pa.array(text.split("\n")[:-1], pa.string())
    if len(arr) and pc.max(pc.utf8_length(arr)).as_py() > csv.field_size_limit():
        return None
    cells = pc.split_pattern(arr, delimiter)
    count = pc.list_value_length(cells).to_numpy(zero_copy_only=False)
    empty = pc.equal(arr, "").to_numpy(zero_copy_only=False)
    width = len(names)
    if not ((count == header_cells) | empty).all() or header_cells > max(1000, 10 * width):
        return None
    keep_lines = ~empty
    cells = cells.filter(pa.array(keep_lines))
    columns = [_clean_column(pc.list_element(cells, j)) for j in range(header_cells)]
    if any(pc.any(pc.not_equal(col, "")).as_py() for col in columns[width:]):
        return None  # cells beyond the named columns: the careful path joins them into EXTRA_CELLS
    keep = np.zeros(len(cells), dtype=bool)
    for col in columns[:width]:
        keep |= pc.not_equal(col, "").to_numpy(zero_copy_only=False)
    rows = (np.flatnonzero(keep_lines) + first)[keep]
    index = pd.Index(rows.astype("int64"), name="row")
    mask = pa.array(keep)
    table = pd.DataFrame({name: pd.Series(col.filter(mask), dtype="str", index=index)
                          for name, col in zip(names, columns[:width], strict=True)}, index=index)
    for name in (EXTRA_CELLS, ROW_PROBLEM, CELL_COUNT):
        table[name] = pd.Series(pa.array([""] * len(rows), pa.string()), dtype="str", index=index)
    return table


#: A column this long whose distinct values are more than half its rows is kept as text, not as codes: the
#: rule of :func:`coverage.registry_checks.categorical_columns`, so that it finds nothing left to convert.
_MOSTLY_DISTINCT_MIN = 1000


def _new_state(encode: bool) -> dict[str, Any]:
    """What :func:`_add_block` keeps of one column: its distinct values so far and each block's codes into
    them, or (a column not encoded, or found mostly distinct) each block's text."""
    import pyarrow as pa

    return {"dictionary": pa.array([], pa.large_string()), "codes": [], "rows": 0, "text": None if encode else []}


def _add_block(state: dict[str, Any], values: pa.Array) -> None:
    """Add one block's values of a column: coded against the distinct values seen so far (new ones appended in
    order of first appearance), or kept as text once the column is found mostly distinct."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if state["text"] is not None:
        state["text"].append(values)
        return
    dictionary = state["dictionary"]
    at = pc.index_in(values, value_set=dictionary)
    if at.null_count:
        dictionary = pa.concat_arrays([dictionary, pc.unique(values.filter(pc.is_null(at)))])
        at = pc.index_in(values, value_set=dictionary)
    state["dictionary"] = dictionary
    state["codes"].append(at.to_numpy(zero_copy_only=False).astype(np.int32, copy=False))
    state["rows"] += len(values)
    if state["rows"] > _MOSTLY_DISTINCT_MIN and 2 * len(dictionary) > state["rows"]:
        state["text"] = [dictionary.take(pa.array(np.concatenate(state["codes"])))]
        state["codes"], state["dictionary"] = [], None


def _finish(state: dict[str, Any]) -> Any:
    """The column of :func:`_add_block`'s blocks: a Categorical (categories in order of first appearance, as
    ``pandas.factorize`` gives them) unless the column is mostly distinct, then Arrow strings."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    if state["text"] is None:
        codes = np.concatenate(state["codes"]) if state["codes"] else np.empty(0, dtype=np.int32)
        dictionary = state["dictionary"]
        if not (len(codes) > _MOSTLY_DISTINCT_MIN and 2 * len(dictionary) > len(codes)):
            categories = pd.Index(pd.array(dictionary, dtype="str"))
            return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories))
        state["text"] = [dictionary.take(pa.array(codes))]
    text = pa.chunked_array(state["text"], pa.large_string())
    state["text"] = None
    return pd.array(text, dtype="str")


def plain_table(path: Path, lines: Iterable[str], *, first: int, delimiter: str, names: list[str],
                header_cells: int, limit: int) -> pd.DataFrame:
    """The table of the data lines of a delimited file that holds no quote character.

    Parameters
    ----------
    path : Path
        The file, named in errors.
    lines : iterable of str
        The physical lines after the header line, with their line endings (a file opened with
        ``newline=""`` and advanced past the header).
    first : int
        The line number of the first of ``lines``.
    delimiter : str
    names : list of str
        Column names (:func:`coverage.columns.column_names` of the header, trailing blank cells dropped).
    header_cells : int
        The header's number of cells, blank ones included.
    limit : int
        Most data rows read.

    Returns
    -------
    DataFrame
        What :func:`coverage.columns.rows_table` gives for the same file (``delimited=True``),
        without the header, except that the canonical :data:`coverage.columns.COLUMNS` and the
        malformed-row markers are built block by block as pandas Categoricals (categories in order of
        first appearance, as :func:`coverage.registry_checks.categorical_columns` makes them), unless a
        column is mostly distinct (then Arrow strings): the raw text of every block is never held at once.

    Raises
    ------
    UnreadableFileError
        More than ``limit`` rows.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    markers = (EXTRA_CELLS, ROW_PROBLEM, CELL_COUNT)
    encoded = {*COLUMNS, *markers}  # the columns a registry read turns into Categoricals
    states = {name: _new_state(name in encoded) for name in [*names, *markers]}
    rows: list[np.ndarray] = []
    it = iter(lines)
    seen, number = 0, first
    while chunk := list(itertools.islice(it, _CHUNK_LINES)):
        table = _plain_chunk(chunk, number, delimiter, names, header_cells)
        if table is None:
            block = [(number - 1 + n, c, p) for n, c, p in iter_csv_rows(chunk, delimiter=delimiter)]
            table = chunk_table(block, names, header_cells)
        number += len(chunk)
        del chunk
        rows.append(table.index.to_numpy(dtype="int64"))
        for name, state in states.items():
            _add_block(state, pa.array(table[name].array, pa.large_string()))
        seen += len(table)
        del table  # the block's text: only its codes (or, for a column of mostly distinct values, its text) stay
        if seen > limit:
            raise UnreadableFileError(path, f"more than {limit:,} rows, over the row limit for a registry; "
                                      "split it, or raise SAFETYNET_MAX_ROWS")
    index = pd.Index(np.concatenate(rows) if rows else np.empty(0, dtype="int64"), name="row")
    columns = {}
    for name in list(states):
        columns[name] = pd.Series(_finish(states.pop(name)), index=index, copy=False)
    return with_all_columns(pd.DataFrame(columns, index=index, copy=False))
