"""CSV records checked against the physical lines they came from.

A single stray or unterminated ``"`` makes a CSV parser swallow the following lines into one
cell: a 4-line file reads as 2 records and a merged record carries another row's coordinates.
This module counts physical lines at the source and compares them with the parsed records, so
that no merged record is ever returned.

The rule
--------
A record read from **one** physical line is a record. A record spanning **several** physical
lines (a quoted cell containing a line break) is returned only if all of these hold:

1. it is well formed: every quoted cell opens at the start of the cell, a quote inside it is
   doubled (``""``), its closing quote is followed by the delimiter or the end of the record,
   and no unquoted cell contains a quote;
2. every quoted cell that contains a line break ends with a character other than the
   delimiter or a line break (a stray quote that pairs with the *opening* quote of a later
   cell ends right after a delimiter or at a line start: this catches it), and holds no
   delimiter (a stray quote closed by another stray quote lines below swallows whole rows,
   delimiters and all: a balanced but merged record);
3. it has exactly the header's number of cells (``width``, by default the number of cells of
   the first non-blank record).

Registry, population, target and scenario cells never legitimately contain a line break, so
anything else is **damaged**: none of its lines becomes a record, and each non-blank physical
line it covers is reported with its line number as in the file and a reason such as
``unbalanced quote (") swallows lines 3–5``. Also damaged: a cell longer than the ``csv``
module's field limit (131,072 characters; the usual symptom of a quote swallowing the rest
of the file), a line containing a NUL character, and a last record whose quote is never
closed. Reading resumes on the next line after a damaged range.

Blank lines (no cells, or only blank cells; also a record whose only content is a quoted line
break) are not records and are not counted. Line
numbers count every physical line (``\\n``, ``\\r\\n`` or ``\\r``), from 1.

This is a leaf module: it imports only the standard library.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

__all__ = ["CsvRecords", "csv_records", "iter_csv_rows"]


@dataclass
class CsvRecords:
    """Result of :func:`csv_records`.

    Attributes
    ----------
    records : list of (int, list of str)
        Good records: the 1-based physical line number of the record's first line, and its cells.
    damaged : list of (int, int, str)
        Damaged ranges: first line, last line (physical, inclusive) and the reason.
    damaged_lines : list of int
        Every non-blank physical line inside a damaged range (each is one rejected row), so
        that ``len(records) + len(damaged_lines)`` is the number of non-blank data lines.
    """

    records: list[tuple[int, list[str]]] = field(default_factory=list)
    damaged: list[tuple[int, int, str]] = field(default_factory=list)
    damaged_lines: list[int] = field(default_factory=list)


def _span(first: int, last: int) -> str:
    return f"line {first}" if first == last else f"lines {first}–{last}"


_BLOCK_LINES = 4096  # physical lines read at a time
_QUOTED = re.compile(r'"((?:[^"]|"")*)"')


def _well_formed(delimiter: str) -> re.Pattern[str]:
    d = re.escape(delimiter)
    cell = rf'(?:"(?:[^"]|"")*"|[^"{d}\r\n]*)'
    return re.compile(rf"{cell}(?:{d}{cell})*(?:\r\n|\n|\r)?")


def _legitimate(raw: str, cells: list[str], delimiter: str, width: int | None) -> bool:
    """Whether a record spanning several lines is a properly closed multi-line record."""
    if width is None or len(cells) != width or not _well_formed(delimiter).fullmatch(raw):
        return False
    for m in _QUOTED.finditer(raw):
        content = m[1]
        if ("\n" in content or "\r" in content) and (
                not content or content[-1] in (delimiter, "\n", "\r") or delimiter in content):
            return False
    return True


def _ends_in_quote(line: str, delimiter: str) -> bool:
    """Whether ``line`` (one physical line, the file's last) leaves a quoted cell open."""
    inside, start = False, True
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if inside:
            if c == '"':
                if i + 1 < n and line[i + 1] == '"':
                    i += 1
                else:
                    inside = False
        elif c == '"' and start:
            inside = True
        start = c == delimiter
        i += 1
    return inside


def _blank(line: str, delimiter: str) -> bool:
    return not line.strip(f" \t\r\n\f\v{delimiter}")


def _events(lines: Iterable[str], delimiter: str, width: int | None) -> Iterator[tuple]:
    """``("record", line, cells)`` and ``("damaged", first, last, reason, raw_lines)`` in file order."""
    window: list[str] = []  # the physical lines from line base + 1 on, kept while a record may need them
    state = {"base": 0, "first": 1}

    def blocks() -> Iterator[list[str]]:
        it = iter(lines)
        while block := list(itertools.islice(it, _BLOCK_LINES)):
            drop = state["first"] - 1 - state["base"]
            if drop > 0:
                del window[:drop]
                state["base"] += drop
            window.extend(block)
            yield block

    reader = csv.reader(itertools.chain.from_iterable(blocks()), delimiter=delimiter)
    first = 1
    while True:
        state["first"] = first
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            last = max(reader.line_num, first)
            if "field larger than field limit" in str(exc):
                reason = (f"a cell is longer than the CSV limit of {csv.field_size_limit():,} characters "
                          f"({_span(first, last)}; an unbalanced quote (\") swallowing the lines below it?)")
            else:
                reason = f"malformed CSV ({exc}) in {_span(first, last)}"
            yield ("damaged", first, last, reason, window[first - 1 - state["base"]:last - state["base"]])
            first = last + 1
            continue
        last = reader.line_num
        if last == first:  # the common case: one physical line
            line = window[first - 1 - state["base"]] if last > state["base"] else ""
            if "\x00" in line:
                yield ("damaged", first, last, f"line {first} contains a NUL character (binary data?)", [line])
            elif cells and (cells[-1][-1:] in ("\n", "\r") or (
                    line[-1:] not in ("\n", "\r") and '"' in line and _ends_in_quote(line, delimiter))):
                # a quoted cell still open at the end of the file
                yield ("damaged", first, last, f"unterminated quote (\") on line {first}", [line])
            elif "".join(cells).strip():
                if width is None:
                    width = len(cells)
                yield ("record", first, cells)
        else:
            raw_lines = window[first - 1 - state["base"]:last - state["base"]]
            raw = "".join(raw_lines)
            if "\x00" in raw:
                reason = f"{_span(first, last)} contain a NUL character (binary data?)"
            elif not "".join(cells).strip():
                first = last + 1  # a blank record whose quoted cell holds only a line break
                continue
            elif _legitimate(raw, cells, delimiter, width):
                yield ("record", first, cells)
                first = last + 1
                continue
            else:
                reason = f"unbalanced quote (\") swallows {_span(first, last)}"
            yield ("damaged", first, last, reason, raw_lines)
        first = last + 1


def iter_csv_rows(
    lines: Iterable[str], *, delimiter: str = ",", width: int | None = None
) -> Iterator[tuple[int, list[str], str | None]]:
    """Stream the rows of CSV text: ``(line, cells, None)`` for a record, ``(line, [], reason)``
    for each non-blank physical line of a damaged range (see the module docstring).

    Parameters
    ----------
    lines : iterable of str
        Physical lines with their line endings, e.g. a file opened with ``newline=""``.
    delimiter : str
    width : int, optional
        The header's cell count; by default that of the first non-blank record.

    Yields
    ------
    line : int
        1-based physical line where the record starts.
    cells : list of str
        The record's cells; empty for a line of a damaged range.
    reason : str or None
        Why the line could not be split into cells; None for a record.

    Examples
    --------
    >>> list(iter_csv_rows(['a,b\\n', '"x,1\\n', 'y,2\\n']))
    [(1, ['a', 'b'], None), (2, [], 'unbalanced quote (") swallows lines 2–3'), \
(3, [], 'unbalanced quote (") swallows lines 2–3')]
    """
    for event in _events(lines, delimiter, width):
        if event[0] == "record":
            yield event[1], event[2], None
        else:
            _, first, _last, reason, raw = event
            for k, line in enumerate(raw):
                if not _blank(line, delimiter):
                    yield first + k, [], reason


def csv_records(text: str, *, delimiter: str = ",") -> CsvRecords:
    """Parse CSV text into good records and damaged line ranges (see the module docstring).

    Parameters
    ----------
    text : str
        The whole decoded file.
    delimiter : str
        One character, e.g. ``","`` or ``"\\t"``.

    Returns
    -------
    CsvRecords
        ``records`` (first physical line, cells), ``damaged`` (first line, last line,
        reason) and ``damaged_lines`` (the non-blank lines of the damaged ranges).

    Examples
    --------
    >>> r = csv_records('名稱,人口\\n"甲,10\\n乙,20\\n丙,30\\n')
    >>> r.records
    [(1, ['名稱', '人口'])]
    >>> r.damaged
    [(2, 4, 'unbalanced quote (") swallows lines 2–4')]
    >>> csv_records('name,note\\nA,"two\\nlines"\\nB,x\\n').records
    [(1, ['name', 'note']), (2, ['A', 'two\\nlines']), (4, ['B', 'x'])]
    """
    out = CsvRecords()
    for event in _events(io.StringIO(text, newline=""), delimiter, None):
        if event[0] == "record":
            out.records.append((event[1], event[2]))
        else:
            _, first, last, reason, raw = event
            out.damaged.append((first, last, reason))
            out.damaged_lines.extend(first + k for k, line in enumerate(raw) if not _blank(line, delimiter))
    return out
