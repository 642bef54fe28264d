"""Rows of a frame as dicts (issue 16): popups and tooltips read each row's values exactly as ``iterrows`` gives
them (same types, same missing values), without a Series per row."""

from __future__ import annotations

import math

import pandas as pd
from hypothesis import event, given, settings
from hypothesis import strategies as st

from coverage.maps.payload import _row_dicts, _values

_SEEN = {"fast": 0}


def _same(a, b) -> bool:
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


_text = st.none() | st.text(alphabet="嘉義縣阿里山鄉 ab'<&\"", max_size=6)
_COLUMN = st.sampled_from(["str", "string[pyarrow]", "int", "float", "bool", "date", "object", "tuple"])


def _column(kind: str, values: list) -> pd.Series:
    if kind in ("str", "string[pyarrow]"):
        return pd.Series(values, dtype="str" if kind == "str" else "string[pyarrow]")
    if kind == "int":
        return pd.Series([len(v or "") for v in values], dtype="int64")
    if kind == "float":
        return pd.Series([math.nan if v is None else len(v) / 3 for v in values], dtype="float64")
    if kind == "bool":
        return pd.Series([v is None for v in values], dtype=bool)
    if kind == "date":
        return pd.Series([pd.NaT if v is None else pd.Timestamp(2020, 1, 1 + len(v)) for v in values])
    if kind == "tuple":  # as ``serves``: towncodes, one or several, or none
        out = pd.Series([None] * len(values), dtype=object)
        for i, v in enumerate(values):
            out[i] = () if v is None else tuple(v[: 1 + len(v) % 3]) if v else ("1001",)
        return out
    return pd.Series(values, dtype=object)


@settings(max_examples=80, deadline=None)
@given(kinds=st.lists(_COLUMN, min_size=1, max_size=6), rows=st.integers(0, 6), data=st.data())
def test_row_dicts_give_the_values_of_iterrows(kinds, rows, data):
    if data.draw(st.booleans()):  # as the registry and the townships have: text beside other columns
        kinds = [data.draw(st.sampled_from(["str", "string[pyarrow]"])), *kinds, "int"]
    frame = pd.DataFrame({f"c{i}": _column(k, data.draw(st.lists(_text, min_size=rows, max_size=rows)))
                          for i, k in enumerate(kinds)}, index=pd.RangeIndex(10, 10 + rows))
    if data.draw(st.integers(0, 4)) == 0 and len(kinds) > 1:  # a repeated column name: iterrows itself
        frame.columns = ["same"] * len(kinds)
    expected = list(frame.iterrows())
    got = list(_row_dicts(frame))
    assert [label for label, _ in got] == [label for label, _ in expected]
    for (_, want), (_, row) in zip(expected, got, strict=True):
        if not frame.columns.is_unique:  # iterrows' own rows
            assert isinstance(row, pd.Series) and row.equals(want)
            continue
        for name in frame.columns.unique():
            assert _same(want.get(name), row.get(name)), (name, want.get(name), row.get(name))
        assert row.get("missing") is None
    fast = frame.columns.is_unique and any(k in ("str", "string[pyarrow]") for k in kinds) and \
        len(set(frame.dtypes)) > 1 and rows > 0
    if fast:
        _SEEN["fast"] += 1
    event("converted column by column" if fast else "iterrows")


def test_row_dicts_property_reached_the_fast_path():
    assert _SEEN["fast"] >= 10, _SEEN


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(["str", "string[pyarrow]", "object"]), values=st.lists(_text, max_size=8))
def test_values_are_what_iterating_gives(kind, values):
    column = _column(kind, values)
    assert all(_same(a, b) for a, b in zip(list(column), _values(column), strict=True))
    assert len(_values(column)) == len(column)
    event(kind)
