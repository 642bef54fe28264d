"""Streaming reader of XLSX workbooks that follows the file's real content, not its declared shape.

:mod:`openpyxl` pads every row to the sheet's last column (a 5 KB workbook whose one cell sits
at ``XFD1048576`` becomes billions of empty cells) and loads the shared strings whole (a 1 MB
zip can hold 700 MB of them). This module reads the parts itself:

- before parsing, each zip member's declared size and compression ratio are checked
  (:func:`max_part_bytes`, :data:`MAX_RATIO`); :mod:`zipfile` never inflates a member past its
  declared size, so the check holds for the bytes actually read;
- XML is parsed with :mod:`pyexpat` in blocks; a DTD or entity declaration (never present in a
  workbook; the vehicle of "billion laughs") is refused;
- rows are yielded as they are parsed, each as the ``(column, value)`` pairs of the cells that
  exist, so no row is padded; a row's number is its ``r`` attribute;
- hidden sheets and hidden rows are reported, not read.

Only :mod:`openpyxl`'s date-format helpers are used. Errors are
:class:`~coverage.errors.UnreadableFileError` naming the file and the sheet.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

from .errors import UnreadableFileError

__all__ = ["MAX_RATIO", "SheetInfo", "Workbook", "max_part_bytes", "open_workbook", "sheet_rows"]

#: Largest compression ratio accepted for a zip member of more than 1 MB.
MAX_RATIO = 200
_BLOCK = 1 << 16
_MAIN = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"


def max_part_bytes() -> int:
    """Largest decompressed size of one workbook part (``SAFETYNET_MAX_XLSX_PART_MB``, default 256 MB).

    Returns
    -------
    int
        The limit in bytes.
    """
    return int(float(os.environ.get("SAFETYNET_MAX_XLSX_PART_MB", "256")) * 2**20)


@dataclass
class SheetInfo:
    """One sheet of the workbook: its name, ``visible``/``hidden``/``veryHidden`` state and zip part."""

    name: str
    state: str
    part: str | None


@dataclass
class Workbook:
    """An opened workbook: sheets in workbook order, shared strings and date styles."""

    path: Path
    zf: zipfile.ZipFile
    sheets: list[SheetInfo]
    strings: list[str] = field(default_factory=list)
    date_styles: frozenset[int] = frozenset()
    epoch: dt.datetime = dt.datetime(1899, 12, 30)

    def close(self) -> None:
        """Close the zip file."""
        self.zf.close()


def _local(name: str) -> str:
    return name.rsplit(" ", 1)[-1].rsplit(":", 1)[-1]


def _refuse_dtd(*_: Any) -> None:
    raise _DtdError


class _DtdError(Exception):
    pass


def _parser() -> expat.XMLParserType:
    p = expat.ParserCreate(namespace_separator=" ")
    p.StartDoctypeDeclHandler = _refuse_dtd
    p.EntityDeclHandler = _refuse_dtd
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.buffer_text = True
    return p


def _member(book_path: Path, zf: zipfile.ZipFile, name: str, what: str) -> zipfile.ZipInfo:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise UnreadableFileError(book_path, f"{what}: part {name} is missing from the workbook") from None
    limit = max_part_bytes()
    if info.file_size > limit:
        raise UnreadableFileError(
            book_path, f"{what}: {name} decompresses to {info.file_size / 2**20:,.0f} MB, over the "
            f"{limit / 2**20:,.0f} MB limit for one workbook part (a zip bomb?); raise SAFETYNET_MAX_XLSX_PART_MB "
            "if the workbook is genuine")
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > 2**20 and ratio > MAX_RATIO:
        raise UnreadableFileError(
            book_path, f"{what}: {name} decompresses {ratio:,.0f}:1 ({info.compress_size / 1024:,.0f} KB → "
            f"{info.file_size / 2**20:,.0f} MB), over the {MAX_RATIO}:1 limit (a zip bomb?)")
    return info


def _parse(book: Path, zf: zipfile.ZipFile, name: str, what: str, parser: expat.XMLParserType,
           ready: list | None = None) -> Iterator[list]:
    """Feed one zip member to ``parser`` in blocks; after each block yield (and clear) ``ready``."""
    info = _member(book, zf, name, what)
    try:
        with zf.open(info) as fh:
            while True:
                block = fh.read(_BLOCK)
                parser.Parse(block, not block)
                if ready:
                    yield ready[:]
                    ready.clear()
                if not block:
                    return
    except _DtdError:
        raise UnreadableFileError(book, f"{what}: {name} declares a DTD or XML entities, which a workbook "
                                        "never does (an entity-expansion bomb?)") from None
    except (expat.ExpatError, LookupError) as exc:  # LookupError: an XML declaration naming no known encoding
        raise UnreadableFileError(book, f"{what}: malformed XML in {name} ({exc})") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise UnreadableFileError(book, f"{what}: {name} is damaged in the zip ({exc})") from None


def _drain(book: Path, zf: zipfile.ZipFile, name: str, what: str, parser: expat.XMLParserType) -> None:
    for _ in _parse(book, zf, name, what, parser):
        pass


def _rels(book: Path, zf: zipfile.ZipFile, name: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, target part) of a ``.rels`` part (``{}`` if absent)."""
    if name not in zf.namelist():
        return {}
    base = posixpath.dirname(posixpath.dirname(name))
    out: dict[str, tuple[str, str]] = {}

    def start(tag: str, attrs: dict[str, str]) -> None:
        if _local(tag) == "Relationship" and "Id" in attrs and "Target" in attrs:
            target = attrs["Target"]
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
            out[attrs["Id"]] = (attrs.get("Type", ""), part)

    p = _parser()
    p.StartElementHandler = start
    _drain(book, zf, name, "relationships", p)
    return out


def open_workbook(path: Path) -> Workbook:
    """Open an XLSX file: sheets and their states, shared strings, date styles.

    Parameters
    ----------
    path : Path
        The workbook.

    Returns
    -------
    Workbook
        The open workbook; its zip file stays open for :func:`sheet_rows`.

    Raises
    ------
    UnreadableFileError
        Not a zip, a part over the size or ratio limits, malformed XML, a DTD.
    """
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise UnreadableFileError(path, f"not a readable XLSX workbook ({exc})") from None
    try:
        for info in zf.infolist():  # every part, before anything is parsed
            _member(path, zf, info.filename, "workbook")
        main = next((t for k, t in _rels(path, zf, "_rels/.rels").values() if k == _MAIN), "xl/workbook.xml")
        rels = _rels(path, zf, posixpath.join(posixpath.dirname(main), "_rels", posixpath.basename(main) + ".rels"))
        sheets: list[SheetInfo] = []
        flags: dict[str, str] = {}

        def wb_start(tag: str, attrs: dict[str, str]) -> None:
            local = _local(tag)
            if local == "sheet":
                rid = next((v for k, v in attrs.items() if _local(k) == "id"), None)
                kind, part = rels.get(rid, ("", None)) if rid else ("", None)
                if kind and not kind.endswith("/worksheet"):
                    part = None
                sheets.append(SheetInfo(attrs.get("name", f"sheet{len(sheets) + 1}"),
                                        attrs.get("state", "visible"), part))
            elif local == "workbookPr":
                flags["date1904"] = attrs.get("date1904", "")

        p = _parser()
        p.StartElementHandler = wb_start
        _drain(path, zf, main, "workbook", p)
        book = Workbook(path, zf, sheets)
        if flags.get("date1904", "").lower() in ("1", "true"):
            book.epoch = dt.datetime(1904, 1, 1)
        kinds = {k.rsplit("/", 1)[-1]: t for k, t in rels.values()}
        if kinds.get("sharedStrings") in zf.namelist():
            book.strings = _shared_strings(path, zf, kinds["sharedStrings"])
        if kinds.get("styles") in zf.namelist():
            book.date_styles = _date_styles(path, zf, kinds["styles"])
        return book
    except BaseException:
        zf.close()
        raise


def _shared_strings(path: Path, zf: zipfile.ZipFile, name: str) -> list[str]:
    strings: list[str] = []
    parts: list[str] = []
    state = {"t": False, "rph": 0}

    def start(tag: str, attrs: dict[str, str]) -> None:
        local = _local(tag)
        if local == "si":
            parts.clear()
        elif local == "rPh":
            state["rph"] += 1
        elif local == "t" and not state["rph"]:
            state["t"] = True

    def end(tag: str) -> None:
        local = _local(tag)
        if local == "si":
            strings.append("".join(parts))
        elif local == "rPh":
            state["rph"] -= 1
        elif local == "t":
            state["t"] = False

    def text(data: str) -> None:
        if state["t"]:
            parts.append(data)

    p = _parser()
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, text
    _drain(path, zf, name, "shared strings", p)
    return strings


def _date_styles(path: Path, zf: zipfile.ZipFile, name: str) -> frozenset[int]:
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

    custom: dict[int, str] = {}
    xf_formats: list[int] = []
    where = {"cellXfs": False}

    def start(tag: str, attrs: dict[str, str]) -> None:
        local = _local(tag)
        if local == "numFmt":
            with contextlib.suppress(ValueError):
                custom[int(attrs.get("numFmtId", ""))] = attrs.get("formatCode", "")
        elif local == "cellXfs":
            where["cellXfs"] = True
        elif local == "xf" and where["cellXfs"]:
            try:
                xf_formats.append(int(attrs.get("numFmtId", "0")))
            except ValueError:
                xf_formats.append(0)

    def end(tag: str) -> None:
        if _local(tag) == "cellXfs":
            where["cellXfs"] = False

    p = _parser()
    p.StartElementHandler, p.EndElementHandler = start, end
    _drain(path, zf, name, "styles", p)
    dates = set()
    for i, fmt in enumerate(xf_formats):
        code = custom.get(fmt, BUILTIN_FORMATS.get(fmt, ""))
        if code and is_date_format(code):
            dates.add(i)
    return frozenset(dates)


_REF = re.compile(r"([A-Za-z]{1,3})(\d*)")


def _column(ref: str) -> int | None:
    """0-based column of a cell reference such as ``B3`` (``None`` if malformed)."""
    m = _REF.match(ref)
    if not m:
        return None
    n = 0
    for ch in m[1].upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def _value(book: Workbook, kind: str, style: int, raw: str, what: str) -> Any:
    """A cell's value as openpyxl would give it (data only)."""
    if kind == "s":
        try:
            return book.strings[int(raw)]
        except (ValueError, IndexError):
            raise UnreadableFileError(book.path, f"{what}: shared string {raw!r} does not exist") from None
    if kind in ("inlineStr", "str", "e"):
        return raw
    if kind == "b":
        return raw.strip() in ("1", "true")
    if kind == "d":
        try:
            return dt.datetime.fromisoformat(raw.strip())
        except ValueError:
            return raw
    text = raw.strip()
    if not text:
        return None
    try:
        number: float | int = int(text) if text.lstrip("-").isdigit() else float(text)
    except ValueError:
        return raw
    if style in book.date_styles:
        from openpyxl.utils.datetime import from_excel

        try:
            return from_excel(number, book.epoch)
        except (ValueError, OverflowError, TypeError):
            return number
    return number


def sheet_rows(book: Workbook, sheet: SheetInfo, hidden: list[int] | None = None,
               ) -> Iterator[tuple[int, list[tuple[int, Any]]]]:
    """Stream the rows of one sheet as ``(row number, [(column, value), …])``; only cells that exist.

    Rows marked hidden are not yielded; their numbers (if they hold a value) are appended to
    ``hidden``. Rows without any cell are not yielded.

    Parameters
    ----------
    book : Workbook
        From :func:`open_workbook`.
    sheet : SheetInfo
        One of ``book.sheets``.
    hidden : list of int, optional
        Receives the numbers of the hidden rows that hold a value.

    Yields
    ------
    row : int
        1-based row number in the sheet.
    cells : list of (int, object)
        ``(0-based column, value)`` of each cell present, in column order.

    Raises
    ------
    UnreadableFileError
        A sheet part over the size limits or with malformed XML.
    """
    what = f"sheet {sheet.name!r}"
    if sheet.part is None:
        return
    ready: list[tuple[int, list[tuple[int, Any]]]] = []
    st: dict[str, Any] = {"row": 0, "hide": False, "cells": [], "col": -1, "kind": "n", "style": 0,
                          "text": None, "in": 0, "rph": 0}

    def start(tag: str, attrs: dict[str, str]) -> None:
        local = _local(tag)
        if local == "row":
            try:
                st["row"] = int(attrs["r"])
            except (KeyError, ValueError):
                st["row"] += 1
            st["hide"] = attrs.get("hidden", "").lower() in ("1", "true")
            st["cells"], st["col"] = [], -1
        elif local == "c":
            col = _column(attrs.get("r", "")) if "r" in attrs else None
            st["col"] = st["col"] + 1 if col is None else col
            st["kind"] = attrs.get("t", "n")
            try:
                st["style"] = int(attrs.get("s", "0"))
            except ValueError:
                st["style"] = 0
            st["text"] = None
        elif local == "rPh":
            st["rph"] += 1
        elif local in ("v", "t") and not st["rph"]:
            st["in"] += 1
            if st["text"] is None:
                st["text"] = []

    def end(tag: str) -> None:
        local = _local(tag)
        if local in ("v", "t") and not st["rph"]:
            st["in"] -= 1
        elif local == "rPh":
            st["rph"] -= 1
        elif local == "c":
            if st["text"] is not None:
                value = _value(book, st["kind"], st["style"], "".join(st["text"]), what)
                if value is not None and value != "":
                    st["cells"].append((st["col"], value))
        elif local == "row":
            if st["cells"]:
                if st["hide"]:
                    if hidden is not None:
                        hidden.append(st["row"])
                else:
                    ready.append((st["row"], st["cells"]))
            st["cells"] = []

    def text(data: str) -> None:
        if st["in"] and st["text"] is not None:
            st["text"].append(data)

    p = _parser()
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, text
    for rows in _parse(book.path, book.zf, sheet.part, what, p, ready):
        yield from rows
