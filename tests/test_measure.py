"""Coverage rates against hand-computed oracles, plus invariants."""

from __future__ import annotations

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from coverage.measure import county_coverage, facility_state, township_coverage
from coverage.measure import rate as rate_of


def test_presence_oracle(toy_townships, make_facilities):
    fac = make_facilities([
        {"towncode": "90001010", "category": "x"},
        {"towncode": "90001010", "category": "x"},
        {"towncode": "90001030", "category": "y"},
    ])
    table = township_coverage(fac, toy_townships, as_of="2024-01-01")
    # every county × every category in the registry
    assert len(table) == 4 * 2
    got = county_coverage(table).set_index(["county", "category"])
    assert got.loc[("甲縣", "x"), ["covered", "total", "rate", "facilities"]].tolist() == [1, 3, 33.3, 2]
    assert got.loc[("甲縣", "x"), "missing"] == ["B鄉", "C鄉"]
    assert got.loc[("甲縣", "y"), ["covered", "total", "rate"]].tolist() == [1, 3, 33.3]
    assert got.loc[("乙市", "x"), ["covered", "total", "rate", "missing"]].tolist() == [0, 1, 0.0, ["D區"]]


def test_service_area_adds_served_townships(toy_townships, make_facilities):
    fac = make_facilities([{"towncode": "90001010", "serves": ("90001010", "90001020")}])
    presence = county_coverage(township_coverage(fac, toy_townships, counties=["甲縣"])).iloc[0]
    service = county_coverage(
        township_coverage(fac, toy_townships, definition="service-area", counties=["甲縣"])
    ).iloc[0]
    assert (presence["covered"], service["covered"]) == (1, 2)
    assert service["missing"] == ["C鄉"]


def test_as_of_and_planned(toy_townships, make_facilities):
    fac = make_facilities([
        {"towncode": "90001010", "opened": "2020-01-01"},
        {"towncode": "90001020", "opened": "2023-07-01"},
        {"towncode": "90001030", "opened": "2019-01-01", "closed": "2022-01-01"},
    ])
    row = county_coverage(township_coverage(fac, toy_townships, as_of="2023-01-01", counties=["甲縣"])).iloc[0]
    assert (row["covered"], row["covered_with_planned"], row["rate_with_planned"]) == (1, 2, 66.7)
    row = county_coverage(township_coverage(fac, toy_townships, as_of="2023-07-01", counties=["甲縣"])).iloc[0]
    assert (row["covered"], row["missing"]) == (2, ["C鄉"])
    row = county_coverage(township_coverage(fac, toy_townships, as_of="2021-12-31", counties=["甲縣"])).iloc[0]
    assert row["covered"] == 2  # the closed one still counts before its closing date


def test_facility_state_from_status_words(make_facilities):
    fac = make_facilities([
        {"status": "營運中"}, {"status": "停辦"}, {"status": "規劃中"},
        {"status": "規劃中", "opened": "2020-01-01"}, {"status": "", "closed": "2030-01-01"},
    ])
    # issue 13 item 7: 規劃中 with a past opening date is not open (it was "open" before)
    assert facility_state(fac, "2024-01-01", today="2024-01-01").tolist() == [
        "open", "closed", "planned", "planned", "open"]


def test_bad_definition(toy_townships, make_facilities):
    with pytest.raises(ValueError, match="definition must be one of"):
        township_coverage(make_facilities([]), toy_townships, definition="nearby")


@pytest.mark.parametrize(("covered", "total", "rate"), [(17, 18, 94.4), (6, 18, 33.3), (3, 29, 10.3),
                                                        (5, 29, 17.2), (1, 8, 12.5), (0, 5, 0.0), (2, 2, 100.0)])
def test_rate_rounding(covered, total, rate):
    assert rate_of(covered, total) == rate


towncodes = st.sampled_from(["90001010", "90001020", "90001030", "90002010"])
facility_rows = st.lists(
    st.fixed_dictionaries({"towncode": towncodes, "category": st.sampled_from(["x", "y"])}), max_size=12
)


@settings(max_examples=60, deadline=None)
@given(rows=facility_rows, extra=st.fixed_dictionaries({"towncode": towncodes, "category": st.just("x")}))
def test_invariants(toy_townships, make_facilities, rows, extra):
    table = township_coverage(make_facilities(rows), toy_townships, categories=["x", "y"])
    counties = county_coverage(table)
    assert counties["rate"].between(0, 100).all()
    # county totals equal the sum of their townships
    per_town = table.groupby(["county", "category"])["covered"].sum()
    for r in counties.itertuples():
        assert r.covered == per_town[(r.county, r.category)]
        assert r.covered + len(r.missing) == r.total
    # adding a facility never lowers coverage
    after = county_coverage(township_coverage(make_facilities([*rows, extra]), toy_townships, categories=["x", "y"]))
    merged = counties.merge(after, on=["county", "category"], suffixes=("", "_after"))
    assert (merged["covered_after"] >= merged["covered"]).all()
    event("the extra facility covered a new township" if (merged["covered_after"] > merged["covered"]).any()
          else "the extra facility's township was covered already")


def test_rate_is_the_half_up_percent_of_every_count():
    """measure.rate (public, the one rate of every output): the exact percent rounded half up, in [0, 100]."""
    from fractions import Fraction

    from hypothesis import event, given
    from hypothesis import strategies as st

    reached = {"checked": 0}

    @settings(max_examples=400, deadline=None)
    @given(st.integers(min_value=0, max_value=10**7).flatmap(
        lambda total: st.tuples(st.integers(min_value=0, max_value=total), st.just(total))))
    def check(pair):
        covered, total = pair
        got = rate_of(covered, total)
        if total == 0:
            assert got == 0.0
            event("empty total")
            return
        exact = Fraction(covered * 1000, total)  # tenths of a percent
        oracle = (exact.numerator * 2 + exact.denominator) // (2 * exact.denominator)  # half up
        assert got == oracle / 10 and 0.0 <= got <= 100.0
        reached["checked"] += 1
        event("a tie, rounded up" if exact.denominator == 2 else "not a tie")

    check()
    assert reached["checked"] > 100
    assert rate_of(1, 8) == 12.5 and rate_of(1, 16) == 6.3 and rate_of(3, 16) == 18.8  # ties go up


def test_as_timestamp_is_a_day():
    import datetime as dt

    import pandas as pd

    from coverage.measure import as_timestamp

    assert as_timestamp("2024-02-29 23:59") == pd.Timestamp("2024-02-29")
    assert as_timestamp(dt.date(2023, 7, 1)) == pd.Timestamp("2023-07-01")
    assert as_timestamp(None) == pd.Timestamp(dt.date.today())
    with pytest.raises(ValueError):
        as_timestamp("not a date")
