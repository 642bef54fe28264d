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


_PAIR_STATS = {"examples": 0, "piece_pairs": 0, "chain_pairs": 0, "chain_entries": 0, "one_way": 0}


def _random_network(data, st):
    """Lines on a 100 m lattice (shared vertices make junctions and pass-through nodes: chains), random speeds
    and directions, and origins/destinations near them (some exactly on a vertex)."""
    import shapely

    from coverage.network import network_from_lines

    coord = st.integers(0, 6).map(lambda v: v * 100.0)
    polyline = st.lists(st.tuples(coord, coord), min_size=2, max_size=5, unique=True)
    lines = [shapely.LineString(p) for p in data.draw(st.lists(polyline, min_size=1, max_size=9))]
    speed = data.draw(st.lists(st.sampled_from([20.0, 40.0, 60.0]), min_size=len(lines), max_size=len(lines)))
    way = data.draw(st.lists(st.sampled_from([0, 0, 1, -1]), min_size=len(lines), max_size=len(lines)))
    net = network_from_lines(gpd.GeoSeries(lines, crs=CRS), speed, way)
    point = st.one_of(st.tuples(st.floats(-200, 800), st.floats(-200, 800)), st.tuples(coord, coord))
    org = np.asarray(data.draw(st.lists(point, min_size=1, max_size=8)), dtype=float)
    dest = np.asarray(data.draw(st.lists(point, min_size=1, max_size=4)), dtype=float)
    return net, org, dest, way


def test_pairs_and_core_entries_equal_brute_force():
    """Property: on random networks (one-way lines, chains of pass-through nodes), ``piece_pairs`` gives, in
    order, every (origin's first entry of a piece, destination's first entry of the same piece) pair (origins'
    entries in order, destinations' in order) with the minutes and km of travel along the piece;
    ``chain_pairs`` every (origin entry, destination entry) pair on one chain; ``core_entries`` replaces
    each chain-node entry by its allowed ways to the chain's two ends, in order. Brute force in Python loops:
    the membership flags that skip the entries no destination shares change nothing."""
    from hypothesis import HealthCheck, event, given, settings
    from hypothesis import strategies as st

    from coverage.network import ACCESS_KMH
    from coverage.snapping import chain_pairs, core_entries, piece_pairs, snap_points

    @settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.data())
    def check(data):
        net, oxy, dxy, way = _random_network(data, st)
        org, _ = snap_points(net, oxy, ACCESS_KMH, outbound=True)
        dest, _ = snap_points(net, dxy, ACCESS_KMH, outbound=False)
        # piece_pairs
        def firsts(e):
            seen, out = set(), []
            for i in range(len(e.owner)):
                if (int(e.owner[i]), int(e.piece[i])) not in seen:
                    seen.add((int(e.owner[i]), int(e.piece[i])))
                    out.append(i)
            return out

        fd = firsts(dest)
        want = [(a, b) for a in firsts(org) for b in sorted(fd, key=lambda b: dest.piece[b])
                if dest.piece[b] == org.piece[a]]
        o, d, t, km = piece_pairs(org, dest, net, ACCESS_KMH)
        assert o.tolist() == [int(org.owner[a]) for a, _ in want]
        assert d.tolist() == [int(dest.owner[b]) for _, b in want]
        for (a, b), ti, ki in zip(want, t, km, strict=True):
            road = abs(dest.pos[b] - org.pos[a]) / 1000.0
            legs = org.leg_km[a] + dest.leg_km[b]
            w = net.line_oneway[org.line[a]]
            forward = dest.pos[b] >= org.pos[a]
            ok = not ((forward and w == -1) or (not forward and w == 1))
            assert ki == pytest.approx(road + legs, rel=1e-12)
            assert ti == (pytest.approx(road / net.line_speed[org.line[a]] * 60 + legs / ACCESS_KMH * 60, rel=1e-12)
                          if ok else np.inf)
        # chain_pairs
        ch = net.chains
        chain_of = ch.of_node
        by_chain = sorted((b for b in range(len(dest.owner)) if chain_of[dest.node[b]] >= 0),
                          key=lambda b: chain_of[dest.node[b]])
        want = [(a, b) for a in range(len(org.owner)) if chain_of[org.node[a]] >= 0 for b in by_chain
                if chain_of[dest.node[b]] == chain_of[org.node[a]]]
        o, d, t, km = chain_pairs(org, dest, net, ACCESS_KMH)
        assert o.tolist() == [int(org.owner[a]) for a, _ in want]
        assert d.tolist() == [int(dest.owner[b]) for _, b in want]
        # core_entries: each chain-node entry becomes its allowed ways to the chain's ends, in order
        for e, outbound in ((org, True), (dest, False)):
            core = core_entries(net, e, outbound)
            rows = []
            for i in range(len(e.owner)):
                c, v = int(chain_of[e.node[i]]), int(e.node[i])
                if c < 0:
                    rows.append((i, v, 0.0))
                    continue
                with np.errstate(invalid="ignore"):  # inf - inf: a one-way chain's way back, not allowed
                    if outbound:
                        ways = ((ch.end[c], ch.total_fwd_min[c] - ch.fwd_min[v]), (ch.start[c], ch.bwd_min[v]))
                    else:
                        ways = ((ch.start[c], ch.fwd_min[v]), (ch.end[c], ch.total_bwd_min[c] - ch.bwd_min[v]))
                rows += [(i, int(n), m) for n, m in ways if np.isfinite(m)]
                _PAIR_STATS["chain_entries"] += 1
            assert core.owner.tolist() == [int(e.owner[i]) for i, _, _ in rows]
            assert core.node.tolist() == [n for _, n, _ in rows]
            assert core.minutes.tolist() == [e.minutes[i] + m for i, _, m in rows]
        _PAIR_STATS["examples"] += 1
        _PAIR_STATS["piece_pairs"] += len(piece_pairs(org, dest, net, ACCESS_KMH)[0]) > 0
        _PAIR_STATS["chain_pairs"] += len(o) > 0
        _PAIR_STATS["one_way"] += any(way)
        event(f"pairs on one piece: {'some' if _PAIR_STATS['piece_pairs'] else 'none'}")

    check()
    assert _PAIR_STATS["examples"] >= 30, _PAIR_STATS
    assert _PAIR_STATS["piece_pairs"] >= 10 and _PAIR_STATS["chain_pairs"] >= 5, _PAIR_STATS
    assert _PAIR_STATS["chain_entries"] >= 20 and _PAIR_STATS["one_way"] >= 20, _PAIR_STATS


def test_simple_lines_flags():
    """``RoadNetwork.simple_lines``: per line one segment (two vertices), whether every line is, and per line one
    piece (no node between its ends); the projection's every-line-one-segment path is the general one."""
    import shapely

    from coverage.network import network_from_lines
    from coverage.snapping import _project, _project_many

    lines = [shapely.LineString([(0, 0), (100, 0)]),  # one segment, one piece
             shapely.LineString([(100, 0), (150, 50), (200, 0)]),  # two segments, one piece
             shapely.LineString([(0, 100), (100, 100), (200, 100)]),  # two segments, split at (100, 100) ...
             shapely.LineString([(100, 100), (100, 0)])]  # ... where this line meets it
    net = network_from_lines(gpd.GeoSeries(lines, crs=CRS), [40.0] * 4)
    one, every, one_piece = net.simple_lines
    assert one.tolist() == [True, False, False, True] and every is False
    assert one_piece.tolist() == [True, True, False, True]
    grid = network_from_lines(gpd.GeoSeries([lines[0], lines[3]], crs=CRS), [40.0] * 2)
    assert grid.simple_lines[1] is True
    xy = np.array([[50.0, 30.0], [100.0, 100.0], [-20.0, -5.0], [120.0, 40.0]])
    owner, line = np.repeat(np.arange(4), 2), np.tile([0, 1], 4)
    vxy, voff, valong = grid.vertices
    fast = _project(grid, xy, owner, line)
    general = _project_many(vxy, voff, valong, xy, owner, line, voff[line + 1] - voff[line] - 1)
    assert np.array_equal(fast[0], general[0]) and np.array_equal(fast[1], general[1])
    assert fast[0].tolist()[:2] == [30.0, 50.0]  # (50, 30): 30 m above line 0, 50 m beside line 1


_FIRST_STATS = {"examples": 0, "ties": 0, "all_inf": 0}


def test_first_min_is_the_first_smallest_finite():
    """Property: ``_first_min`` gives, per owner (sorted), the index of its first smallest finite value, and
    nothing for an owner whose values are all infinite (ties and infinities drawn on purpose)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from coverage.network import _first_min

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from([0.5, 1.0, 1.0, 2.0, np.inf])), max_size=30))
    def check(rows):
        rows = sorted(rows, key=lambda r: r[0])  # owners sorted, values in drawn order
        owner = np.array([r[0] for r in rows], dtype=np.int64)
        t = np.array([r[1] for r in rows], dtype=float)
        want = []
        for o in dict.fromkeys(owner.tolist()):
            idx = [i for i in range(len(owner)) if owner[i] == o and np.isfinite(t[i])]
            if idx:
                low = min(t[i] for i in idx)
                want.append(next(i for i in idx if t[i] == low))
                _FIRST_STATS["ties"] += sum(t[i] == low for i in idx) > 1
            else:
                _FIRST_STATS["all_inf"] += 1
        assert _first_min(owner, t).tolist() == want
        _FIRST_STATS["examples"] += 1

    check()
    assert _FIRST_STATS["examples"] >= 100, _FIRST_STATS
    assert _FIRST_STATS["ties"] >= 20 and _FIRST_STATS["all_inf"] >= 10, _FIRST_STATS
