"""Dead-end trees peeled off the contracted graph (coverage.contraction.prune_trees) and the nearest-facility
Dijkstra that skips them (coverage.network): same results, bit for bit, as the graph without pruning."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

CRS = "EPSG:3826"


def pts(*xy):
    return gpd.GeoSeries([Point(x, y) for x, y in xy], crs=CRS)


def graph(n, edges):
    """CSR minutes and km of directed edges (a, b, minutes); km = minutes / 2."""
    from scipy.sparse import csr_matrix

    a, b, t = (np.array(c) for c in zip(*edges, strict=True))
    mins = csr_matrix((t.astype(float), (a, b)), shape=(n, n))
    mins.sum_duplicates()
    return mins, csr_matrix((mins.data / 2, mins.indices, mins.indptr), shape=(n, n))


def both(a, b, t):
    return [(a, b, t), (b, a, t)]


def test_prune_trees_by_hand():
    """A two-way square (0-1-2-3) with a tree hanging from 0 (0-4, 4-5, 4-6, 6-7), a one-way spur 1 → 8
    and a two-way spur 2-9 reached only one way further (9 → 10), and a two-node component 11-12: the tree
    and the two-node component's larger node are peeled, top down; the one-way spur is not."""
    from coverage.contraction import no_trees, prune_trees

    edges = both(0, 1, 1.0) + both(1, 2, 1.0) + both(2, 3, 1.0) + both(3, 0, 1.0)
    edges += both(0, 4, 2.0) + both(4, 5, 3.0) + both(4, 6, 4.0) + [(6, 7, 5.0), (7, 6, 6.0)]
    edges += [(1, 8, 1.5), *both(2, 9, 2.5), (9, 10, 0.5), *both(11, 12, 7.0)]
    mins, km = graph(13, edges)
    trees = prune_trees(mins, km)
    node, parent = trees.node.tolist(), trees.parent.tolist()
    assert sorted(node) == [4, 5, 6, 7, 12]
    assert dict(zip(node, parent, strict=True)) == {4: 0, 5: 4, 6: 4, 7: 6, 12: 11}
    seen = {0, 11}
    for a, b in zip(trees.level[:-1], trees.level[1:], strict=True):  # parents in earlier levels
        assert all(p in seen for p in parent[a:b])
        seen |= set(node[a:b])
    up = dict(zip(node, trees.up_min.tolist(), strict=True))
    assert up == {4: 2.0, 5: 3.0, 6: 4.0, 7: 6.0, 12: 7.0}  # the edge from the node up to its parent
    assert dict(zip(node, trees.up_km.tolist(), strict=True))[7] == 3.0
    assert len(no_trees().node) == 0 and no_trees().level.tolist() == [0]


def test_routing_graph_leaves_out_the_way_into_the_attach_node():
    """The routing graph (reversed, on routable nodes) has no edge from a tree's top node into its attach
    node, keeps every other edge, int32 canonical CSR."""
    from scipy.sparse import csr_matrix

    from coverage.contraction import prune_trees
    from coverage.network import _routing

    edges = both(0, 1, 1.0) + both(1, 2, 1.0) + both(2, 0, 1.0) + both(0, 3, 2.0) + both(3, 4, 3.0)
    mins, km = graph(6, edges)  # node 5: no edge, not routable
    r = _routing(mins, prune_trees(mins, km))
    assert r.indices.dtype == np.int32 and r.indptr.dtype == np.int32
    assert r.index[5] == -1 and sorted(r.node_of.tolist()) == [0, 1, 2, 3, 4]
    g = csr_matrix((r.data[: r.nnz], r.indices[: r.nnz], r.indptr), shape=(5, 5))
    assert g.has_canonical_format
    back = {(int(r.node_of[i]), int(r.node_of[j])): v for i, j, v in zip(*g.nonzero(), g.data, strict=True)}
    # reversed: (arrival, departure); the road 3 → 0 (top node up to the attach node) is left out
    assert (0, 3) not in back and back[(3, 0)] == 2.0 and back[(3, 4)] == 3.0 and back[(4, 3)] == 3.0
    assert len(back) == len(edges) - 1


def tree_streets(rng, n_core, n_tree, one_way_share, loops):
    """A two-way core path of ``n_core`` segments with ``n_tree`` dead-end segments hanging from random earlier
    nodes (trees; some one-way, so not peeled), and ``loops`` segments joining two random nodes (turning some
    trees back into core); random speeds. Returns the lines, speeds, directions and node points."""
    import shapely

    from coverage.network import DEFAULT_SPEEDS

    kmh = sorted({float(v) for v in DEFAULT_SPEEDS.values()})
    xy = [np.array([0.0, 0.0])]
    lines, speed, way = [], [], []

    def add(p, q, w):
        lines.append(shapely.linestrings([xy[p], xy[q]]))
        speed.append(float(rng.choice(kmh)))
        way.append(w)

    for _ in range(n_core):
        xy.append(xy[-1] + rng.uniform([800, -300], [1600, 300]))
        add(len(xy) - 2, len(xy) - 1, 0)
    for _ in range(n_tree):
        parent = int(rng.integers(0, len(xy)))
        xy.append(xy[parent] + rng.uniform(-1500, 1500, 2))
        add(parent, len(xy) - 1, int(rng.choice([1, -1])) if rng.random() < one_way_share else 0)
    for _ in range(loops):
        p, q = rng.choice(len(xy), 2, replace=False)
        add(int(p), int(q), 0)
    return lines, speed, way, np.array(xy)


_TREE_STATS = {"examples": 0, "peeled": 0, "facility_on_tree": 0, "origin_on_tree": 0, "inside_tree": 0,
               "via_attach": 0}


def test_pruned_trees_route_exactly_as_the_unpruned_graph():
    """Property: on random networks rich in dead-end trees (one-way branches and loops included), with origins
    and facilities near the tree nodes, nearest_by_network on the pruned graph gives the unpruned contracted
    graph's minutes, network km, snap km, facility and reason bit for bit, and the full road graph's within
    1e-9; this holds with facilities on the trees (reached from inside the tree and through the attach node)."""
    from hypothesis import HealthCheck, event, given, settings
    from hypothesis import strategies as st

    from coverage.network import network_from_lines, travel_pairs
    from coverage.snapping import snap_points

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.data())
    def check(data):
        rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
        lines, speed, way, node_xy = tree_streets(rng, data.draw(st.integers(1, 4)), data.draw(st.integers(1, 14)),
                                                  data.draw(st.sampled_from([0.0, 0.2])), data.draw(st.integers(0, 2)))
        near = st.integers(0, len(node_xy) - 1)
        o_at = data.draw(st.lists(near, min_size=1, max_size=8))
        f_at = data.draw(st.lists(near, min_size=1, max_size=3, unique=True))
        origins = pts(*(node_xy[o_at] + rng.uniform(-40, 40, (len(o_at), 2))))
        facilities = pts(*(node_xy[f_at] + rng.uniform(-40, 40, (len(f_at), 2))))
        series = gpd.GeoSeries(lines, crs=CRS)
        net = network_from_lines(series, speed, way)
        whole = network_from_lines(series, speed, way, prune=False)
        flat = network_from_lines(series, speed, way, contract=False)
        got, want = nearest_by_network(net, origins, facilities), nearest_by_network(whole, origins, facilities)
        assert got["facility"].tolist() == want["facility"].tolist()
        assert got["reason"].tolist() == want["reason"].tolist()
        for column in ("minutes", "network_km", "snap_km"):
            assert np.array_equal(got[column].to_numpy(), want[column].to_numpy(), equal_nan=True), column
        base = nearest_by_network(flat, origins, facilities)
        assert got["facility"].tolist() == base["facility"].tolist()
        for column in ("minutes", "network_km"):
            assert got[column].to_numpy() == pytest.approx(base[column].to_numpy(), rel=1e-9, nan_ok=True), column
        pairs, flat_pairs = (travel_pairs(g, origins, facilities, limit_min=30) for g in (net, flat))
        assert pairs[["origin", "destination"]].equals(flat_pairs[["origin", "destination"]])
        # what the examples exercised
        on_tree = np.zeros(net.n_nodes, dtype=bool)
        on_tree[net.trees.node] = True
        f_entries, _ = snap_points(net, np.c_[facilities.x, facilities.y], 15.0, outbound=False)
        o_entries, _ = snap_points(net, np.c_[origins.x, origins.y], 15.0, outbound=True)
        _TREE_STATS["examples"] += 1
        _TREE_STATS["peeled"] += int(len(net.trees.node) > 0)
        fac_on = bool(on_tree[f_entries.node].any())
        _TREE_STATS["facility_on_tree"] += fac_on
        _TREE_STATS["origin_on_tree"] += int(on_tree[o_entries.node].any())
        if fac_on:  # did some origin on a tree reach its facility inside the tree, or through the attach node?
            from scipy.sparse.csgraph import dijkstra

            from coverage.network import _augmented

            r = net.routing
            at = r.index[f_entries.node]
            ok = at >= 0
            g, _ = _augmented(r, f_entries.owner[ok], at[ok], f_entries.minutes[ok], f_entries.km[ok],
                              len(facilities))
            m = len(r.node_of)
            dist = dijkstra(g, indices=np.arange(m, m + len(facilities)), min_only=True)
            tree_nodes = r.index[net.trees.node]
            _TREE_STATS["inside_tree"] += int(np.isfinite(dist[tree_nodes]).any())
            _TREE_STATS["via_attach"] += int((~np.isfinite(dist[tree_nodes])).any())
        event(f"facility on a tree: {fac_on}")

    check()
    s = _TREE_STATS
    assert s["examples"] >= 40 and s["peeled"] >= 30 and s["origin_on_tree"] >= 20, s
    assert s["facility_on_tree"] >= 10 and s["inside_tree"] >= 10 and s["via_attach"] >= 5, s


def test_virtual_rows_without_room_give_the_same_routes(monkeypatch):
    """More virtual facility entries than the routing graph has room for: the graph is copied once, and the
    routes are the same as with the rows written in place."""
    import shapely

    import coverage.network as network

    rng = np.random.default_rng(7)
    lines, speed, way, node_xy = tree_streets(rng, 4, 30, 0.1, 2)
    series = gpd.GeoSeries(lines, crs=CRS)
    origins = pts(*(node_xy + rng.uniform(-40, 40, node_xy.shape)))
    facilities = pts(*(node_xy[::5] + rng.uniform(-40, 40, node_xy[::5].shape)))
    roomy = network.network_from_lines(series, speed, way)
    want = nearest_by_network(roomy, origins, facilities)
    monkeypatch.setattr(network, "_SPARE_ENTRIES", 0)
    tight = network.network_from_lines(series, speed, way)
    assert len(tight.routing.indices) == tight.routing.nnz
    got = nearest_by_network(tight, origins, facilities)
    assert got.equals(want) and want["minutes"].notna().sum() >= 20
    assert shapely.equals_exact(np.asarray(tight.lines.values), np.asarray(series.values), 0).all()


def nearest_by_network(net, origins, facilities):
    from coverage.network import nearest_by_network as nearest

    return nearest(net, origins, facilities)
