"""Tests of coverage.plaincsv: a quote-free CSV read column by column equals the careful reader of coverage.tabular."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from coverage.errors import UnreadableFileError
from coverage.registry_checks import categorical_columns
from coverage.tabular import read_table

_plain_seen: Counter = Counter()
# cells of quote-free registries: CJK, full-width forms NFKC changes (，Ａ１), odd spaces str.split() knows
# and characters NFKC composes with their neighbour (é + dot below, Hangul jamo, a Tamil vowel sign)
_CELL_CHARS = st.sampled_from([*"甲乙竹崎鄉ab1.-，Ａ１（）\u3000 \t\xa0\x1c\u2028\u200b", "嘉義縣竹崎鄉", "社福中心",
                               "120.55", *"é\u0323\u0301\u1100\u1161\u11a8\u0b92\u0bd7ｶﾞ"])
_plain_cell = st.lists(_CELL_CHARS, max_size=4).map("".join)


@st.composite
def _plain_csv_text(draw: st.DrawFn) -> tuple[str, str]:
    """A quote-free delimited file: a registry header (maybe trailing blank cells), ragged rows, blank lines."""
    delimiter = draw(st.sampled_from([",", ";", "|", "\t"]))
    header = ["類別", "名稱", "鄉鎮市區", *draw(st.sampled_from([[], ["備註"], ["", ""]]))]
    width = len(header)
    rows = draw(st.lists(st.one_of(
        st.lists(_plain_cell, min_size=width, max_size=width),  # lines up
        st.lists(_plain_cell, min_size=width, max_size=width),
        st.lists(_plain_cell, min_size=0, max_size=width + 2),  # ragged, or blank
    ), max_size=12))
    ends = draw(st.lists(st.sampled_from(["\n", "\n", "\n", "\r\n", "\r"]), min_size=len(rows) + 1,
                         max_size=len(rows) + 1))
    cells = [c.replace(delimiter, "") for c in header]
    lines = [delimiter.join(cells) + ends[0]]
    lines += [delimiter.join(c.replace(delimiter, "") for c in r) + e for r, e in zip(rows, ends[1:], strict=True)]
    if draw(st.booleans()):
        lines[-1] = lines[-1].rstrip("\r\n")  # no line break at the end
    return "".join(lines), delimiter


def _as_text(table):
    """``table`` with its Categorical columns as strings."""
    import pandas as pd

    cats = [c for c in table.columns if isinstance(table[c].dtype, pd.CategoricalDtype)]
    return table.astype(dict.fromkeys(cats, "str"))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(file=_plain_csv_text(), chunk=st.integers(1, 5), by_value=st.booleans(), bom=st.booleans(),
       distinct_min=st.sampled_from([0, 2, 1000]))
def test_quote_free_csv_read_by_columns_equals_the_careful_reader(tmp_path: Path, file: tuple[str, str],
                                                                  chunk: int, by_value: bool, bom: bool,
                                                                  distinct_min: int) -> None:
    """A CSV without quotes is read column by column (coverage.plaincsv) into the very table the
    record-by-record reader gives: same rows and row numbers, same cells, same malformed-row markers.

    Blocks of 1–5 lines put block boundaries after the header (and its BOM), between the two halves of
    a CRLF file's lines, and on either side of a ragged or blank line; a registry column is coded block by
    block against the distinct values so far, or turned back to text once found mostly distinct
    (``distinct_min``), and either way ends as categorical_columns makes the careful reader's column."""
    import pandas as pd

    from coverage import plaincsv, tabular

    text, _ = file
    path = tmp_path / "plain.csv"
    path.write_text(text, encoding="utf-8-sig" if bom else "utf-8")
    calls = Counter()
    real_plain, real_chunk = tabular._plain_csv, plaincsv._plain_chunk

    def spy_chunk(*args, **kwargs):
        table = real_chunk(*args, **kwargs)
        calls["plain chunk" if table is not None else "careful chunk"] += 1
        return table

    def outcome(read):
        try:
            return read(path)
        except UnreadableFileError as exc:
            return str(exc)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(plaincsv, "_CHUNK_LINES", chunk)
        mp.setattr(plaincsv, "_FILTER_MIN", 0 if by_value else 10**9)  # find the values to clean, or clean all
        mp.setattr(plaincsv, "_plain_chunk", spy_chunk)
        mp.setattr(plaincsv, "_MOSTLY_DISTINCT_MIN", distinct_min)
        by_columns = outcome(read_table)
        mp.setattr(tabular, "_plain_csv", lambda *a: pytest.fail("the careful reader was not used"))
        mp.setattr(tabular, "_scan", lambda *a: True)  # as if the file held a quote
        careful = outcome(read_table)
    if isinstance(careful, str):
        assert by_columns == careful
        kind = "refused"
    else:
        assert not isinstance(by_columns, str), by_columns
        # the same strings; the registry columns already coded (built block by block) exactly as
        # registry_checks.categorical_columns codes the careful reader's strings
        pd.testing.assert_frame_equal(_as_text(by_columns), careful)
        pd.testing.assert_frame_equal(categorical_columns(by_columns.copy()), categorical_columns(careful.copy()))
        kind = "read"
        coded = {c for c in by_columns.columns if isinstance(by_columns[c].dtype, pd.CategoricalDtype)}
        if len(by_columns) and "name" in by_columns.columns:
            calls["name coded" if "name" in coded else "name kept as text"] += 1
    assert real_plain is tabular._plain_csv
    for k in calls:
        event(k)
        _plain_seen[k] += 1
    event(kind)
    _plain_seen[kind] += 1


def test_quote_free_property_reached_both_paths() -> None:
    if not _plain_seen:
        pytest.skip("run with test_quote_free_csv_read_by_columns_equals_the_careful_reader")
    assert _plain_seen["plain chunk"] > 20 and _plain_seen["careful chunk"] > 20 and _plain_seen["read"] > 20
    assert _plain_seen["name coded"] > 10 and _plain_seen["name kept as text"] > 10


def test_combining_starters_are_those_unicodedata_knows() -> None:
    """Every starter that is the second character of a canonical pair (plus Hangul medial and final jamo)."""
    import unicodedata

    from coverage.plaincsv import COMBINING_STARTERS

    second = set()
    for c in map(chr, range(0x110000)):
        parts = unicodedata.decomposition(c).split()
        if len(parts) == 2 and not parts[0].startswith("<") and unicodedata.combining(chr(int(parts[1], 16))) == 0:
            second.add(chr(int(parts[1], 16)))
    jamo = {chr(i) for i in [*range(0x1161, 0x1176), *range(0x11A8, 0x11C3)]}
    assert second | jamo == COMBINING_STARTERS


def test_space_characters_are_those_str_split_splits_on() -> None:
    from coverage.plaincsv import SPACE_CHARACTERS

    assert "".join(c for c in map(chr, range(0x110000)) if c.isspace()) == SPACE_CHARACTERS


_ascii_seen: Counter = Counter()


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.text(st.sampled_from([*"ab1.-", " ", "\t", "\x0b", "\x0c", "\r", "\x1c", "\x1f", "\x7f",
                                                 "\x85", "\xa0", "甲"]), max_size=5), min_size=1, max_size=6))
def test_ascii_column_found_clean_by_arrow_as_by_python(values: list[str]) -> None:
    """The Arrow test of an ASCII column (coordinates, dates: no Python string per value) says "clean" exactly when
    every value is ASCII and the Python test (NFKC, str.split) finds the column clean."""
    import pyarrow as pa

    from coverage import plaincsv

    values = [v.replace("\n", "") for v in values]
    by_arrow = plaincsv._ascii_clean(pa.array(values, pa.string()))
    by_python = all(v.isascii() for v in values) and plaincsv._is_clean("\n".join(values))
    assert by_arrow == by_python
    kind = "clean" if by_arrow else "ascii, not clean" if all(v.isascii() for v in values) else "not ascii"
    event(kind)
    _ascii_seen[kind] += 1


def test_ascii_property_reached_each_case() -> None:
    if not _ascii_seen:
        pytest.skip("run with test_ascii_column_found_clean_by_arrow_as_by_python")
    assert min(_ascii_seen[k] for k in ("clean", "ascii, not clean", "not ascii")) >= 10, _ascii_seen
