"""Gap flags and their order (coverage.gaps) on the toy county."""

from __future__ import annotations

from coverage.gaps import flag_gaps
from coverage.measure import township_coverage


def test_gaps_flagged_first(toy_townships, make_facilities):
    fac = make_facilities([{"towncode": "90001020"}])
    gaps = flag_gaps(township_coverage(fac, toy_townships, counties=["甲縣"]))
    assert gaps["township"].tolist() == ["A鄉", "C鄉"]
    assert gaps["flags"].tolist() == ["山地原住民鄉", "沿海"]
    fac = make_facilities([{"towncode": "90001010"}])
    gaps = flag_gaps(township_coverage(fac, toy_townships, counties=["甲縣"]))
    assert gaps["township"].tolist() == ["C鄉", "B鄉"]  # flagged C before unflagged B
    assert gaps["flagged"].tolist() == [True, False]
