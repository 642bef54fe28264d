"""Dates and status (coverage.dates): the closing date is the last day of service; status words win.

Issue 13 item 7.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from coverage import dates, facilities
from coverage.dates import STATUS_WORDS, parse_date, service_state, status_conflicts, status_kind
from coverage.facilities import MISMATCH_COLUMNS, read_facilities
from coverage.measure import county_coverage, facility_state, township_coverage
from coverage.plan import coverage_trend

TODAY = "2024-06-30"


def test_parse_date_moved_and_re_exported():
    assert facilities.parse_date is dates.parse_date
    assert parse_date("109/12/31") == pd.Timestamp("2020-12-31")


@pytest.mark.parametrize(("status", "kind"), [
    ("停辦", "closed"), ("已停辦", "closed"), ("已結束", "closed"), ("Closed", "closed"), ("inactive", "closed"),
    ("暫停服務", "suspended"), ("暫停營運", "suspended"), ("Suspended", "suspended"),
    ("規劃中", "planned"), ("籌備中", "planned"), ("Planned", "planned"), ("under construction", "planned"),
    ("營運中", "open"), ("服務中", "open"), ("Open", "open"), ("operating", "open"),
    ("", ""), (None, ""), (float("nan"), ""), ("備註", ""),
])
def test_status_kind(status, kind):
    assert status_kind(status) == kind


def test_closed_on_the_last_day_counts_that_day(toy_townships, make_facilities):
    fac = make_facilities([{"towncode": "90001010", "opened": "2019-01-01", "closed": "2020-12-31"}])
    assert facility_state(fac, "2020-12-31").tolist() == ["open"]
    assert facility_state(fac, "2021-01-01").tolist() == ["closed"]
    on = county_coverage(township_coverage(fac, toy_townships, as_of="2020-12-31", counties=["甲縣"])).iloc[0]
    after = county_coverage(township_coverage(fac, toy_townships, as_of="2021-01-01", counties=["甲縣"])).iloc[0]
    assert (on["covered"], after["covered"]) == (1, 0)


def test_trend_counts_a_point_closed_109_12_31_in_109(tmp_path, townships):
    path = tmp_path / "reg.csv"
    path.write_text("類別,名稱,縣市,鄉鎮市區,開辦日期,結束日期\n"
                    "社福中心,甲,嘉義縣,竹崎鄉,108/01/01,109/12/31\n", encoding="utf-8")
    reg = read_facilities(path, townships)
    t = coverage_trend(reg.facilities, townships, [2019, 2020, 2021], counties=["嘉義縣"])
    assert t[["roc_year", "covered", "facilities"]].values.tolist() == [[108, 1, 1], [109, 1, 1], [110, 0, 0]]


@st.composite
def days(draw):
    return pd.Timestamp(draw(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2090, 12, 31))))


def test_any_closing_day_counts_on_that_day_and_not_the_next(make_facilities):
    reached = {"n": 0}

    @settings(max_examples=200, deadline=None)
    @given(days(), st.integers(0, 4000), st.sampled_from(["", "營運中", "備註"]))
    def check(d, open_days, status):
        opened = d - pd.Timedelta(days=open_days)
        fac = make_facilities([{"opened": opened, "closed": d, "status": status}])
        # the status describes the day the registry was written, any day while the point was open
        today = opened
        event("one-day service" if open_days == 0 else "longer service")
        assert facility_state(fac, d, today=today).tolist() == ["open"]
        assert facility_state(fac, d + pd.Timedelta(days=1), today=today).tolist() == ["closed"]
        assert facility_state(fac, opened, today=today).tolist() == ["open"]
        assert facility_state(fac, opened - pd.Timedelta(days=1), today=today).tolist() == ["planned"]
        reached["n"] += 1

    check()
    assert reached["n"] >= 100


NOT_OPEN = [w for kind in ("closed", "suspended", "planned") for w in STATUS_WORDS[kind]]


def test_status_words_override_dates(make_facilities):
    reached = {"contradicted": 0, "today": 0, "later": 0}
    maybe_day = st.one_of(st.none(), days())

    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from(NOT_OPEN), maybe_day, maybe_day, days(), st.one_of(st.just(0), st.integers(-20000, 20000)),
           st.sampled_from(["", "已", "中"]))
    def check(word, opened, closed, today, offset, affix):
        if opened is not None and closed is not None and closed < opened:
            opened, closed = closed, opened
        status = f"{affix}{word.upper() if word.isascii() else word}"
        kind = status_kind(status)
        assert kind in ("closed", "suspended", "planned")
        fac = make_facilities([{"opened": opened, "closed": closed, "status": status}])
        when = today + pd.Timedelta(days=offset)
        state = facility_state(fac, when, today=today).iat[0]
        conflict = status_conflicts([status], [opened], [closed], today=today)[0]
        if conflict is not None:  # dates that contradict the status are not trusted, on any date
            event("dates contradict the status")
            reached["contradicted"] += 1
            assert state == ("planned" if kind == "planned" else "closed")
        elif when == today:  # the status is what is true on the day it describes
            event("as of the status's day")
            reached["today"] += 1
            assert state != "open"
        elif when > today and kind != "planned":  # closed or suspended stays so
            event("after the status's day")
            reached["later"] += 1
            assert state == "closed"
        else:
            event("history before the status's day, or a plan's opening")

    check()
    assert min(reached.values()) >= 5, reached  # every branch was exercised


def test_status_history_follows_agreeing_dates(make_facilities):
    fac = make_facilities([
        {"status": "停辦", "opened": "2018-01-01", "closed": "2022-06-30"},  # agrees: closed in the past
        {"status": "停辦", "opened": "2018-01-01", "closed": "2030-01-01"},  # contradicts: never counted
        {"status": "停辦"},  # no dates: never counted
        {"status": "籌備中", "opened": "2026-01-01"},  # agrees: planned until it opens
        {"status": "規劃中", "opened": "2020-01-01"},  # contradicts: planned, never open
        {"status": "暫停服務", "opened": "2018-01-01"},
        {"status": "營運中", "opened": "2030-01-01"},  # contradicts: follows its dates
    ])
    assert facility_state(fac, "2021-12-31", today=TODAY).tolist() == [
        "open", "closed", "closed", "planned", "planned", "closed", "planned"]
    assert facility_state(fac, TODAY, today=TODAY).tolist() == [
        "closed", "closed", "closed", "planned", "planned", "closed", "planned"]
    assert facility_state(fac, "2027-01-01", today=TODAY).tolist() == [
        "closed", "closed", "closed", "open", "planned", "closed", "planned"]


def test_status_conflicts_name_both_values():
    got = status_conflicts(
        ["規劃中", "營運中", "營運中", "停辦", "營運中", "停辦", ""],
        [pd.Timestamp("2019-03-01"), pd.Timestamp("2030-01-01"), None, None, pd.Timestamp("2019-03-01"), None, None],
        [None, None, pd.Timestamp("2020-12-31"), pd.Timestamp("2030-01-01"), None, pd.Timestamp("2020-01-01"),
         pd.Timestamp("2020-01-01")],
        today=TODAY,
    ).tolist()
    assert got == [
        "status '規劃中' but opened 2019-03-01 is past",
        "status '營運中' but opened 2030-01-01 is in the future",
        "status '營運中' but closed 2020-12-31 is past",
        "status '停辦' but closed 2030-01-01 is in the future",
        None, None, None,
    ]


def test_service_state_without_columns():
    assert service_state(None, None, None, "2024-01-01").tolist() == []
    frame = pd.DataFrame({"towncode": ["1", "2"]})
    assert facility_state(frame, "2024-01-01").tolist() == ["open", "open"]


def _status_registry(tmp_path):
    path = tmp_path / "reg.csv"
    path.write_text(
        "類別,名稱,縣市,鄉鎮市區,營運狀態,開辦日期,結束日期\n"
        "社福中心,規劃,嘉義縣,竹崎鄉,規劃中,2019-03-01,\n"
        "社福中心,未來,嘉義縣,番路鄉,營運中,2099-01-01,\n"
        "社福中心,已關,嘉義縣,梅山鄉,營運中,2015-01-01,109/12/31\n"
        "社福中心,正常,嘉義縣,大埔鄉,營運中,2015-01-01,\n"
        "社福中心,停了,嘉義縣,中埔鄉,停辦,2015-01-01,\n",
        encoding="utf-8",
    )
    return path


def test_status_mismatches_are_listed_with_both_values(tmp_path, townships):
    reg = read_facilities(_status_registry(tmp_path), townships)
    assert len(reg.facilities) == 5 and reg.rows_read == 5
    mm = reg.mismatches
    assert list(mm.columns) == MISMATCH_COLUMNS
    assert mm[["row", "kind", "declared", "located"]].values.tolist() == [
        [2, "status", "規劃中", "opened 2019-03-01, closed —"],
        [3, "status", "營運中", "opened 2099-01-01, closed —"],
        [4, "status", "營運中", "opened 2015-01-01, closed 2020-12-31"],
    ]
    assert mm["reason"].tolist()[0] == "status '規劃中' but opened 2019-03-01 is past"
    # and none of them counts as open today
    state = facility_state(reg.facilities)
    assert dict(zip(reg.facilities["name"], state, strict=True)) == {
        "規劃": "planned", "未來": "planned", "已關": "closed", "正常": "open", "停了": "closed"}


def test_status_mismatches_in_validate_and_summary(tmp_path):
    from coverage.cli import app
    from coverage.pipeline import run_coverage
    from coverage.report import write_report

    path = _status_registry(tmp_path)
    result = CliRunner().invoke(app, ["validate", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    text = result.output.replace("\n", "")
    assert "5 rows read: 5 accepted, 0 rejected, 3 mismatched" in result.output
    assert "規劃中" in text and "2019-03-01" in text
    report = run_coverage([path], counties=["嘉義縣"], as_of=TODAY)
    write_report(report, tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["registry"]["mismatches"] == 3
    assert [(m["row"], m["kind"], m["declared"]) for m in summary["mismatches"]] == [
        (2, "status", "規劃中"), (3, "status", "營運中"), (4, "status", "營運中")]
    covered = {r["category"]: r["covered"] for r in summary["coverage"]}
    assert covered == {"welfare_centre": 1}  # only 大埔鄉's point is open


def test_any_closing_date_written_in_a_registry_counts_that_day(tmp_path_factory, townships):
    """A registry file whose 結束日期 is written as planners write it (ROC or western, / - 年月日)."""
    reached = {"n": 0}
    forms = {
        "roc/": lambda d: f"{d.year - 1911}/{d.month:02d}/{d.day:02d}",
        "roc年": lambda d: f"民國{d.year - 1911}年{d.month}月{d.day}日",
        "iso": lambda d: d.strftime("%Y-%m-%d"),
        "slash": lambda d: f"{d.year}/{d.month}/{d.day}",
        "roc7": lambda d: f"{d.year - 1911:03d}{d.month:02d}{d.day:02d}",
    }

    @settings(max_examples=30, deadline=None)
    @given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 30)), st.sampled_from(sorted(forms)))
    def check(day, form):
        path = tmp_path_factory.mktemp("reg") / "reg.csv"
        path.write_text("類別,名稱,縣市,鄉鎮市區,開辦日期,結束日期\n"
                        f"社福中心,甲,嘉義縣,竹崎鄉,1999-01-01,{forms[form](day)}\n", encoding="utf-8")
        reg = read_facilities(path, townships)
        assert reg.rows_read == len(reg.facilities) == 1, reg.rejected.to_dict("records")
        d = pd.Timestamp(day)

        def covered(as_of):
            table = township_coverage(reg.facilities, townships, as_of=as_of, counties=["嘉義縣"])
            return int(table["covered"].sum())

        event(form)
        assert (covered(d), covered(d + pd.Timedelta(days=1))) == (1, 0)
        reached["n"] += 1

    check()
    assert reached["n"] >= 20


@settings(max_examples=300, deadline=None)
@given(day=st.dates(min_value=dt.date(1922, 1, 1), max_value=dt.date(2099, 12, 31)))  # ROC years of 2–3 digits
def test_every_accepted_date_form(day):
    roc = day.year - 1911
    full = [day.isoformat(), f"{day.year}/{day.month}/{day.day}", f"{day.year}.{day.month:02d}.{day.day:02d}",
            f"{day.year}{day.month:02d}{day.day:02d}", f"{roc}/{day.month:02d}/{day.day:02d}",
            f"{roc:03d}{day.month:02d}{day.day:02d}", f"民國{roc}年{day.month}月{day.day}日",
            f"{day.isoformat()} 10:30", f"{day.year}/{day.month}/{day.day} 下午 03:04:05",
            f"{day.isoformat()}T00:00:00"]
    month = [f"{day.year}-{day.month:02d}", f"{roc}/{day.month:02d}", f"民國{roc}年{day.month}月",
             f"{day.year}{day.month:02d}"] + ([f"{roc}{day.month:02d}"] if roc >= 100 else [])
    year = [str(day.year), f"{roc}年", f"民國{roc}年", str(roc)]
    for forms, expected in ((full, day), (month, day.replace(day=1)), (year, dt.date(day.year, 1, 1))):
        for text in forms:
            assert parse_date(text) == pd.Timestamp(expected), text
    serial = (day - dt.date(1899, 12, 30)).days
    if 20_000 <= serial <= 73_000:  # Excel serial day numbers: 1954-10-04 … 2099-11-12
        assert parse_date(serial) == pd.Timestamp(day)
