"""The fast paths of snapping (coverage.snapping) give exactly what the general code gives: the ordering of
candidates by (point, distance, line) equals ``np.lexsort`` including exact and rounding ties, and the
projection onto one-segment lines equals the per-segment projection bit for bit."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest

CRS = "EPSG:3826"
_ORDER_STATS = {"examples": 0, "exact_ties": 0, "rounding_ties": 0}
_PROJECT_STATS = {"examples": 0, "one_segment": 0, "several_segments": 0}


def test_candidate_order_equals_lexsort():
    """Property: for any points, distances and lines (unique (point, line) pairs), the two-argsort order
    is ``np.lexsort((line, distance, point))``, also when distances tie exactly (a point nearest to the
    node two lines share) or differ only below the float key's resolution (one ulp apart at 1,000 m)."""
    from hypothesis import given, settings, target
    from hypothesis import strategies as st

    from coverage.snapping import _by_point_distance_line

    base = 1000.0
    pool = [0.0, 1.0, 37.5, base, np.nextafter(base, 2 * base), np.nextafter(np.nextafter(base, 2 * base), 2 * base),
            999.9999999999, 2047.0]

    @settings(max_examples=200, deadline=None)
    @given(st.data())
    def check(data):
        n_points = data.draw(st.integers(1, 6))
        point = data.draw(st.lists(st.integers(0, n_points - 1), min_size=0, max_size=40))
        pi = np.asarray(point, dtype=np.int64)
        if data.draw(st.booleans()):
            pi = np.sort(pi)  # as the spatial index returns them
        values = st.sampled_from(pool) if data.draw(st.booleans()) else st.sampled_from(pool) | st.floats(0, 3000)
        d = np.asarray([data.draw(values) for _ in pi], dtype=float)
        li = np.asarray(data.draw(st.permutations(range(60)))[: len(pi)], dtype=np.int64)
        got = _by_point_distance_line(pi, d, li)
        assert np.array_equal(got, np.lexsort((li, d, pi)))
        same_point = pi[:, None] == pi[None, :]
        exact = int((same_point & (d[:, None] == d[None, :])).sum() - len(pi))
        near = int((same_point & (d[:, None] != d[None, :]) & (np.abs(d[:, None] - d[None, :]) < 1e-9)).sum())
        _ORDER_STATS["exact_ties"] += exact > 0
        _ORDER_STATS["rounding_ties"] += near > 0
        _ORDER_STATS["examples"] += 1
        target(float(exact + near))

    check()
    assert _ORDER_STATS["examples"] >= 100, _ORDER_STATS
    assert _ORDER_STATS["exact_ties"] >= 20 and _ORDER_STATS["rounding_ties"] >= 10, _ORDER_STATS


def test_one_segment_projection_equals_general():
    """Property: on a mix of one-segment and several-segment lines, the projection with the one-segment fast
    path equals the general per-segment projection exactly (distance and position)."""
    import shapely
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from coverage.network import network_from_lines
    from coverage.snapping import _project, _project_many

    coord = st.integers(0, 40).map(lambda v: v * 50.0 + 0.125)
    polyline = st.lists(st.tuples(coord, coord), min_size=2, max_size=5, unique=True)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(polyline, min_size=1, max_size=10),
           st.lists(st.tuples(st.floats(-500, 2500), st.floats(-500, 2500)), min_size=1, max_size=6))
    def check(polylines, points):
        lines = np.array([shapely.LineString(p) for p in polylines], dtype=object)
        net = network_from_lines(gpd.GeoSeries(lines, crs=CRS), [50.0] * len(lines))
        xy = np.asarray(points, dtype=float)
        owner = np.repeat(np.arange(len(xy)), len(lines))
        line = np.tile(np.arange(len(lines)), len(xy))
        vxy, voff, valong = net.vertices
        n_seg = voff[line + 1] - voff[line] - 1
        fast = _project(net, xy, owner, line)
        general = _project_many(vxy, voff, valong, xy, owner, line, n_seg)
        assert np.array_equal(fast[0], general[0]) and np.array_equal(fast[1], general[1])
        assert fast[0] == pytest.approx(shapely.distance(shapely.points(xy[owner]), lines[line]), abs=1e-6)
        _PROJECT_STATS["one_segment"] += int((n_seg == 1).any())
        _PROJECT_STATS["several_segments"] += int((n_seg > 1).any())
        _PROJECT_STATS["examples"] += 1

    check()
    assert _PROJECT_STATS["examples"] >= 30, _PROJECT_STATS
    assert _PROJECT_STATS["one_segment"] >= 15 and _PROJECT_STATS["several_segments"] >= 15, _PROJECT_STATS


def test_grid_candidates_equal_lexsort_order():
    """On a jittered grid of one-segment roads (every junction shared by up to four: many exact distance
    ties), the candidates come in lexsort order of (point, distance, line) and their distances are the
    general projection's."""
    import shapely

    from coverage.network import network_from_lines
    from coverage.snapping import _project_many, road_candidates

    rng = np.random.default_rng(7)
    side = 30
    gx, gy = np.meshgrid(np.arange(side) * 300.0, np.arange(side) * 300.0)
    xy = np.c_[gx.ravel(), gy.ravel()] + rng.normal(0, 60, (side * side, 2))
    ids = np.arange(side * side).reshape(side, side)
    a = np.r_[ids[:, :-1].ravel(), ids[:-1, :].ravel()]
    b = np.r_[ids[:, 1:].ravel(), ids[1:, :].ravel()]
    keep = rng.random(len(a)) > 0.35
    lines = shapely.linestrings(np.stack([xy[a[keep]], xy[b[keep]]], axis=1))
    net = network_from_lines(gpd.GeoSeries(lines, crs=CRS), [40.0] * len(lines))
    points = np.r_[rng.uniform(0, side * 300.0, (200, 2)), xy[:50]]  # 50 points exactly on junctions
    owner, line, dist, pos = road_candidates(net, points)
    assert np.array_equal(np.lexsort((line, dist, owner)), np.arange(len(owner)))
    vxy, voff, valong = net.vertices
    d, p = _project_many(vxy, voff, valong, points, owner, line, voff[line + 1] - voff[line] - 1)
    assert np.array_equal(d, dist) and np.array_equal(p, pos)
    ties = (owner[1:] == owner[:-1]) & (dist[1:] == dist[:-1])
    assert ties.sum() >= 50  # the junction points tie on every road meeting there
