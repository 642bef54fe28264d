"""The fast paths of nearest give the answers of the straightforward ones: county groups numbered as
before, k-d queries skipped only where their answer is known, land masses from the township, points of
counties without facilities left unprojected."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

_NAMES = ["嘉義縣", "臺中市", "澎湖縣", "", None, np.nan, "金門縣"]


def _reference(points, facilities, cross_sea, across_counties):
    """nearest_by_category as it was: two 3-D k-d tree queries per category over every point; of facilities at
    one point (and in one group), the first listed only in the first tree (the rule since round 7)."""
    from scipy.spatial import cKDTree

    from coverage import access

    gap = 1e8
    reach_p, reach_f, county_p, county_f = access._groups(points, facilities, cross_sea, across_counties)
    pts, flat = access._xyz(points, reach_p), access._xyz(points, county_p)
    out = []
    for category, at in access._by_category(facilities):
        fac = facilities.iloc[at]
        xyz = access._xyz(fac, reach_f[at])
        first = np.sort(np.unique(xyz, axis=0, return_index=True)[1])
        dist, idx = cKDTree(xyz[first]).query(pts, k=1, distance_upper_bound=gap / 2)
        reach = dist < gap / 2
        d_any, _ = cKDTree(access._xyz(fac, county_f[at])).query(flat, k=1, distance_upper_bound=gap / 2)
        d_any = np.where(d_any < gap / 2, d_any, np.inf)
        across = np.where(d_any < np.where(reach, dist, np.inf) - 1e-6, d_any, np.nan)
        facility = np.where(reach, at[first][np.minimum(idx, len(first) - 1)], -1)
        out.append((category, np.where(reach, dist, np.nan), facility, across))
    return out


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 400), m=st.integers(1, 30),
       cross_sea=st.booleans(), across_counties=st.booleans(), categorical=st.booleans())
@settings(max_examples=60, deadline=None)
def test_nearest_by_category_equals_two_full_queries(seed, n, m, cross_sea, across_counties, categorical):
    """Skipping the k-d query for points whose group has no facility, and the across-sea query where the
    county's facilities are all on the point's land mass, changes no distance, facility or across-sea
    distance; county groups get the numbers the joined factorisation gave (the points' county may be a
    Categorical), so ties between equidistant facilities fall the same way."""
    from coverage import access

    rng = np.random.default_rng(seed)
    county = rng.choice(np.array(_NAMES, dtype=object), n)
    points = pd.DataFrame({"code": np.arange(n), "x": rng.uniform(0, 5000, n).round(-1),
                           "y": rng.uniform(0, 5000, n).round(-1), "land": rng.integers(0, 3, n),
                           "county": pd.Categorical(county) if categorical else pd.Series(county, dtype=object)})
    facilities = pd.DataFrame({"category": rng.choice(["a", "b", "c"], m), "x": rng.uniform(0, 5000, m).round(-2),
                               "y": rng.uniform(0, 5000, m).round(-2), "land": rng.integers(0, 3, m),
                               "county": rng.choice(np.array(_NAMES, dtype=object), m)})
    if categorical:  # Categorical drops NaN/None into missing: compare with the same missing values
        points["county"] = pd.Categorical(points["county"])
    ref = access._groups(points.assign(county=points["county"].astype(object)), facilities, cross_sea,
                         across_counties)
    fast = access._nearest_groups(points, facilities, cross_sea, across_counties)
    for a, b in zip(ref, fast, strict=True):
        assert np.array_equal(a, b)
    got = access.nearest_by_category(points, facilities, cross_sea=cross_sea, across_counties=across_counties)
    want = _reference(points.assign(county=points["county"].astype(object)), facilities, cross_sea, across_counties)
    assert [c for c, _ in got] == [c for c, *_ in want]
    for (_, near), (_, dist, facility, across) in zip(got, want, strict=True):
        np.testing.assert_array_equal(near["distance_m"], dist)
        np.testing.assert_array_equal(near["facility"], facility)
        np.testing.assert_array_equal(near["across_sea_m"], across)
        event("some point measured" if np.isfinite(dist).any() else "no point measured")
        event("some across the sea" if np.isfinite(across).any() else "none across the sea")
        _REACHED["measured"] += int(np.isfinite(dist).sum())
        _REACHED["across"] += int(np.isfinite(across).sum())


_REACHED = {"measured": 0, "across": 0}


def test_nearest_by_category_reached_both_kinds():
    """Runs the property test above and checks its examples measured distances and across-sea ones."""
    _REACHED.update(measured=0, across=0)
    test_nearest_by_category_equals_two_full_queries()
    assert _REACHED["measured"] > 100 and _REACHED["across"] > 10


@pytest.mark.parametrize(("across_counties", "twins"), [(False, False), (True, False), (False, True), (True, True)])
def test_bulk_nearest_equals_every_point_projected(townships, across_counties, twins):
    """bulk.nearest (land mass from the township, snapped points of one-island townships without a query,
    points of counties without facilities neither projected nor handed to the k-d core) gives the distances
    nearest_facility gives when every located point is projected and placed on its land mass by the geometric
    query. With ``twins`` every facility has a twin at the same address (another id, listed after all the
    others), so every measured point is equally far from two: the facility picked is the one the full
    query over every located point picks, the first listed of the two, never the twin."""
    from coverage.access import facility_points, land_masses, land_of, nearest_facility
    from coverage.bulk import nearest
    from coverage.datasets import get_path
    from coverage.facilities import read_facilities

    fac = read_facilities(get_path("seed_registry"), townships=townships).facilities
    if twins:
        fac = pd.concat([fac, fac.assign(facility_id=fac["facility_id"] + "-twin")], ignore_index=True)
    rng = np.random.default_rng(11)
    n = 30_000
    x = np.r_[rng.uniform(119.9, 122.1, n // 2), rng.uniform(120.05, 120.3, n // 2)]  # Taiwan; Chiayi coast
    y = np.r_[rng.uniform(21.8, 25.4, n // 2), rng.uniform(23.3, 23.6, n // 2)]
    pts = gpd.GeoDataFrame({"id": np.arange(n)}, geometry=gpd.points_from_xy(x, y), crs=4326)
    got = nearest(pts, fac, townships, across_counties=across_counties)
    lands = land_masses(townships)
    f = facility_points(fac, lands, townships=townships)
    first = got[got["category"] == got["category"].iloc[0]]
    located = first["status"].to_numpy() == "located"
    proj = pts.geometry[located].to_crs(3826)
    county = townships.set_index("towncode")["county"]
    frame = pd.DataFrame({"code": pts.index[located], "x": proj.x.to_numpy(), "y": proj.y.to_numpy(),
                          "land": land_of(np.asarray(proj.values), lands),
                          "county": first["towncode"][located].map(county).to_numpy(dtype=object)})
    want = nearest_facility(frame, f, across_counties=across_counties)
    for category, part in want.groupby("category", sort=False):
        mine = got[(got["category"] == category) & (got["status"] == "located")]
        np.testing.assert_array_equal(mine["distance_km"].to_numpy(), part["distance_km"].to_numpy())
        np.testing.assert_array_equal(mine["across_sea_km"].to_numpy(), part["across_sea_km"].to_numpy())
        assert [v if pd.notna(v) else None for v in part["facility_id"]] == mine["facility_id"].tolist()
    from coverage.geography import locate_points

    assert got["distance_km"].notna().sum() > 1000 and located.sum() > n // 2
    if twins:  # every measured point ties between two; the first listed is picked, never its twin
        picked = set(got["facility_id"].dropna())
        assert picked and not any(p.endswith("-twin") for p in picked)
    assert locate_points(pts, townships)["snapped"].sum() > 10  # points snapped from the sea reached the check


_TIES = {"examples": 0, "tied": 0, "measured": 0, "across": 0, "one_spot": 0}


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 120), m=st.integers(1, 40), spots=st.integers(1, 6),
       cross_sea=st.booleans(), across_counties=st.booleans())
@settings(max_examples=80, deadline=None)
def test_nearest_by_category_brute_force_with_ties(seed, n, m, spots, cross_sea, across_counties):
    """Against a brute-force oracle on small inputs where ties are the rule: facilities share a few spots on a
    coarse grid (several of one programme at the same address) and points stand on the grid too, so many
    points are equally far from two or more facilities. Every distance is the smallest over the facilities
    allowed to serve the point (same land mass unless ``cross_sea``, same county unless ``across_counties``),
    the chosen facility is at that distance and is the first listed of those allowed at its very spot, and
    among equals elsewhere the choice is the one the single full k-d tree query makes (``_reference``)."""
    from coverage import access

    rng = np.random.default_rng(seed)
    grid = rng.integers(0, 4, (spots, 2)) * 1000.0
    where = rng.integers(0, spots, m)
    county_names = np.array(["嘉義縣", "臺中市", None], dtype=object)
    facilities = pd.DataFrame({"category": rng.choice(["a", "b"], m), "x": grid[where, 0], "y": grid[where, 1],
                               "land": rng.integers(0, 2, m), "county": rng.choice(county_names[:2], m)})
    points = pd.DataFrame({"code": np.arange(n), "x": rng.integers(0, 7, n) * 500.0,
                           "y": rng.integers(0, 7, n) * 500.0, "land": rng.integers(0, 2, n),
                           "county": rng.choice(county_names, n)})
    got = access.nearest_by_category(points, facilities, cross_sea=cross_sea, across_counties=across_counties)
    want = _reference(points, facilities, cross_sea, across_counties)
    _TIES["examples"] += 1
    for (category, near), (_, _, facility, across) in zip(got, want, strict=True):
        at = np.flatnonzero(facilities["category"].to_numpy() == category)
        for i in range(n):
            ok = np.ones(len(at), dtype=bool)
            if not cross_sea:
                ok &= facilities["land"].to_numpy()[at] == points["land"].iat[i]
            if not across_counties:
                ok &= (facilities["county"].to_numpy()[at] == points["county"].iat[i]) & (points["county"].iat[i]
                                                                                          is not None)
            d = np.hypot(facilities["x"].to_numpy()[at] - points["x"].iat[i],
                         facilities["y"].to_numpy()[at] - points["y"].iat[i])
            if not ok.any():
                assert np.isnan(near["distance_m"][i]) and near["facility"][i] == -1
                continue
            best = d[ok].min()
            assert near["distance_m"][i] == pytest.approx(best, abs=1e-9)
            chosen = near["facility"][i]
            assert chosen in at[ok] and d[np.flatnonzero(at == chosen)[0]] == pytest.approx(best, abs=1e-9)
            fx, fy = facilities["x"].to_numpy()[at], facilities["y"].to_numpy()[at]
            spot = at[ok & (fx == fx[at == chosen][0]) & (fy == fy[at == chosen][0])]
            assert chosen == spot.min()  # of the facilities at one point, the first listed
            _TIES["one_spot"] += int(len(spot) > 1)
            _TIES["measured"] += 1
            _TIES["tied"] += int((np.abs(d[ok] - best) < 1e-9).sum() > 1)
        np.testing.assert_array_equal(near["facility"], facility)  # ties fall as before
        np.testing.assert_array_equal(near["across_sea_m"], across)
        _TIES["across"] += int(np.isfinite(across).sum())
        event("a tie" if _TIES["tied"] else "no tie yet")


def test_nearest_by_category_brute_force_reached_ties():
    """Runs the oracle test above and checks its examples reached measured points, ties and across-sea
    distances (so the asserts on ties were exercised, not skipped)."""
    _TIES.update(examples=0, tied=0, measured=0, across=0, one_spot=0)
    test_nearest_by_category_brute_force_with_ties()
    assert _TIES["examples"] >= 50 and _TIES["measured"] > 500 and _TIES["tied"] > 100 and _TIES["across"] > 10
    assert _TIES["one_spot"] > 100, _TIES


_LEAD = {"examples": 0, "measured": 0, "tied": 0, "left_out": 0}


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 150), m=st.integers(1, 30), spots=st.integers(1, 5),
       cross_sea=st.booleans())
@settings(max_examples=80, deadline=None)
def test_leading_county_rows_keep_every_answer(seed, n, m, spots, cross_sea):
    """bulk.nearest hands the k-d core one row per county (in order of first appearance) and then only the
    points of counties holding a facility (``bulk._to_measure``): those points get exactly the answers of the
    frame of every located point — distance, the facility picked among equidistant ones (facilities share a
    few spots, points stand on a grid: ties are the rule), across-sea distance — and the points left out have
    none there either."""
    from coverage import access, bulk

    rng = np.random.default_rng(seed)
    names = ["嘉義縣", "臺中市", "澎湖縣", "金門縣", "臺東縣"]
    county = rng.integers(-1, len(names), n)  # −1: a township without a county
    grid = rng.integers(0, 4, (spots, 2)) * 1000.0
    where = rng.integers(0, spots, m)
    fcounty = rng.choice(np.array([*names[:3], None], dtype=object), m)  # the last two counties hold none
    facilities = pd.DataFrame({"category": rng.choice(["a", "b"], m), "x": grid[where, 0], "y": grid[where, 1],
                               "land": rng.integers(0, 2, m), "county": fcounty})
    x, y = rng.integers(0, 7, n) * 500.0, rng.integers(0, 7, n) * 500.0
    land = rng.integers(0, 2, n)
    full = pd.DataFrame({"code": np.arange(n), "x": x, "y": y, "land": land,
                         "county": pd.Categorical.from_codes(county, categories=names)})
    lead, keep = bulk._to_measure(county, np.array([c in set(fcounty) for c in names], dtype=bool))
    k = len(lead)
    reduced = pd.DataFrame({"code": np.r_[np.full(k, -1), keep], "x": np.r_[np.zeros(k), x[keep]],
                            "y": np.r_[np.zeros(k), y[keep]], "land": np.r_[np.zeros(k, dtype=np.int64), land[keep]],
                            "county": pd.Categorical.from_codes(np.r_[lead, county[keep]], categories=names)})
    want = access.nearest_by_category(full, facilities, cross_sea=cross_sea)
    got = access.nearest_by_category(reduced, facilities, cross_sea=cross_sea)
    left = np.setdiff1d(np.arange(n), keep)
    _LEAD["examples"] += 1
    _LEAD["left_out"] += len(left)
    for (category, a), (same, b) in zip(want, got, strict=True):
        assert category == same
        for name in ("distance_m", "facility", "across_sea_m"):
            np.testing.assert_array_equal(b[name][k:], a[name][keep])
        assert (a["facility"][left] == -1).all() and np.isnan(a["across_sea_m"][left]).all()
        picked = a["facility"][keep]
        for i in picked[picked >= 0]:  # another facility of the category, same county, same spot: a tie
            twin = ((facilities["category"] == category) & (facilities["county"] == facilities["county"].iat[i])
                    & (facilities["x"] == facilities["x"].iat[i]) & (facilities["y"] == facilities["y"].iat[i]))
            _LEAD["tied"] += int(twin.sum() > 1)
        _LEAD["measured"] += int((picked >= 0).sum())
    event("a tie" if _LEAD["tied"] else "no tie yet")


def test_leading_county_rows_reached_ties():
    """Runs the test above and checks its examples measured points, left points out and met ties."""
    _LEAD.update(examples=0, measured=0, tied=0, left_out=0)
    test_leading_county_rows_keep_every_answer()
    assert _LEAD["examples"] >= 50 and _LEAD["measured"] > 300 and _LEAD["tied"] > 100 and _LEAD["left_out"] > 300
