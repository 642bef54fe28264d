"""Hostile inputs to every reader: only the project's own errors, never a crash, nothing lost."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coverage.errors import CoverageError
from coverage.facilities import read_facilities
from coverage.plan import load_targets, read_scenario

HEADERS = ["類別,名稱,縣市,鄉鎮市區,經度,緯度,啟用日期", "category,name,township,x,y,opened,closed,serves"]
cells = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["=HYPERLINK(\"http://x\")", "+1", "@SUM(A1)", "nan", "inf", "-inf", "1e400", "民國112年13月",
                     "112/02/30", "0", "", "　", "\x00", "\x1b[31m", "臺北縣板橋市", "東區", "嘉義縣阿里山",
                     "120.55", "23.52", "190000", "2600000", "x" * 5000]),
)
rows = st.lists(st.lists(cells, min_size=0, max_size=9), min_size=0, max_size=8)
settings_ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _csv(rows_: list[list[str]], header: str) -> str:
    def q(c: str) -> str:
        return '"' + c.replace('"', '""') + '"'

    return header + "\n" + "\n".join(",".join(q(c) for c in r) for r in rows_) + "\n"


@settings_
@given(data=rows, header=st.sampled_from(HEADERS), encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp950"]))
def test_registry_rows_never_crash_and_balance(tmp_path, townships, data, header, encoding):
    path = tmp_path / "r.csv"
    try:
        path.write_bytes(_csv(data, header).encode(encoding, errors="replace"))
    except UnicodeEncodeError:  # pragma: no cover
        return
    try:
        reg = read_facilities(path, townships=townships)
    except CoverageError:
        return
    assert reg.rows_read == len(reg.facilities) + reg.rejected.groupby("file")["row"].nunique().sum()
    assert set(reg.rejected.columns) >= {"file", "row", "field", "value", "reason"}
    assert reg.rejected["reason"].str.len().gt(0).all()


@settings_
@given(blob=st.binary(max_size=2000), suffix=st.sampled_from([".csv", ".xlsx", ".geojson", ".gpkg", ".txt"]))
def test_random_bytes_are_refused_cleanly(tmp_path, townships, blob, suffix):
    path = tmp_path / f"junk{suffix}"
    path.write_bytes(blob)
    try:
        reg = read_facilities(path, townships=townships)
    except CoverageError as exc:
        assert "junk" in str(exc)
        return
    assert reg.rows_read == len(reg.facilities) + reg.rejected.groupby("file")["row"].nunique().sum()


@settings_
@given(data=rows, header=st.sampled_from(["縣市,類別,年度,目標處數", "scope,category,year,target_rate", "x,y"]))
def test_targets_reader(tmp_path, data, header):
    path = tmp_path / "t.csv"
    path.write_text(_csv(data, header), encoding="utf-8")
    try:
        table = load_targets(path)
    except CoverageError:
        return
    assert set(table.columns) >= {"scope", "category", "year", "target_count", "target_rate"}


@settings_
@given(data=rows, header=st.sampled_from(["action,target", "target", "動作,目標"]))
def test_scenario_reader(tmp_path, data, header):
    path = tmp_path / "s.csv"
    path.write_text(_csv(data, header), encoding="utf-8")
    try:
        add, remove = read_scenario(path)
    except CoverageError:
        return
    assert len(add) + len(remove) <= len(data)


@pytest.mark.parametrize("blob", [b"", b"\xff\xfe\x00", b"PK\x03\x04garbage", b"\x00" * 100])
def test_targets_and_scenario_garbage(tmp_path, blob):
    for reader, name in ((load_targets, "t.csv"), (read_scenario, "s.csv")):
        path = tmp_path / name
        path.write_bytes(blob)
        with pytest.raises(CoverageError, match=name):
            reader(path)
