"""Road networks and travel time (coverage.network): hand-made graphs with hand-computed minutes, the
OSM PBF reader, errors, and the real 苗栗縣 roads against a brute-force networkx oracle."""

from __future__ import annotations

import itertools
import json

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from coverage.errors import InputError, UnreadableFileError
from coverage.network import ACCESS_KMH, DEFAULT_SPEEDS, nearest_by_network, read_network, read_speeds

CRS = "EPSG:3826"
# A 1 km square: A (0,0)→(1000,0) primary, B up the east side tertiary, C up the west side residential and
# one-way northward, D along the top secondary; E an island road far away.
TOY = [
    ("A", "primary", "", [(0, 0), (1000, 0)]),
    ("B", "tertiary", "", [(1000, 0), (1000, 1000)]),
    ("C", "residential", "yes", [(0, 0), (0, 500), (0, 1000)]),
    ("D", "secondary", "", [(0, 1000), (1000, 1000)]),
    ("E", "primary", "", [(50_000, 50_000), (51_000, 50_000)]),
]


def minutes(km: float, kmh: float) -> float:
    return km / kmh * 60.0


def write_toy(tmp_path, rows=TOY, name="roads.geojson"):
    features = [{"type": "Feature", "properties": {"name": n, "highway": h, "oneway": o},
                 "geometry": {"type": "LineString", "coordinates": c}} for n, h, o, c in rows]
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features,
                                "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3826"}}}),
                    encoding="utf-8")
    return path


def pts(*xy):
    return gpd.GeoSeries([Point(x, y) for x, y in xy], crs=CRS)


@pytest.fixture
def toy(tmp_path):
    return read_network(write_toy(tmp_path))


def test_toy_graph_shape(toy):
    assert toy.n_nodes == 4 + 2  # four corners (C's middle vertex is on one line only: no node); E's two ends
    assert toy.classes == {"primary": 2, "residential": 1, "secondary": 1, "tertiary": 1}


def test_hand_computed_minutes(toy):
    fac = pts((1000, 1000))
    res = nearest_by_network(toy, pts((0, 0), (0, 1000), (0, 500), (0, -100), (50_500, 50_000)), fac)
    a, b, c, d = minutes(1, 60), minutes(1, 40), minutes(1, 30), minutes(1, 50)
    assert res["minutes"].iloc[0] == pytest.approx(a + b)  # A then B (2.5) beats C then D (3.2)
    assert res["minutes"].iloc[1] == pytest.approx(d)
    assert res["minutes"].iloc[2] == pytest.approx(c / 2 + d)  # one-way C: only northward
    leg = minutes(0.1, ACCESS_KMH)
    assert res["minutes"].iloc[3] == pytest.approx(leg + a + b)
    assert res["snap_km"].iloc[3] == pytest.approx(0.1)
    assert res["network_km"].iloc[0] == pytest.approx(2.0)
    assert res["network_km"].iloc[3] == pytest.approx(2.1)
    assert np.isnan(res["minutes"].iloc[4]) and res["reason"].iloc[4] == "no road connection to a facility"
    assert res["facility"].tolist() == [0, 0, 0, 0, -1]


def test_points_off_the_network_get_no_minutes(toy):
    """A point farther than MAX_SNAP_KM from every road has no minutes (not an hours-long straight leg), and a
    facility that far serves no one: the rule site/nearest apply holds for report's travel times too."""
    from coverage.network import MAX_SNAP_KM

    far = MAX_SNAP_KM * 1000 + 4000  # metres beyond the square's west side
    res = nearest_by_network(toy, pts((0, 0), (-far, 500)), pts((1000, 1000)))
    assert np.isfinite(res["minutes"].iloc[0])
    assert np.isnan(res["minutes"].iloc[1]) and res["facility"].iloc[1] == -1
    assert res["reason"].iloc[1].startswith("off the road network")
    assert res["snap_km"].iloc[1] > MAX_SNAP_KM  # the leg is still reported
    only_far = nearest_by_network(toy, pts((0, 0)), pts((-far, 500)))
    assert np.isnan(only_far["minutes"].iloc[0]) and only_far["reason"].iloc[0] == "no road connection to a facility"
    both = nearest_by_network(toy, pts((0, 0)), pts((-far, 0), (1000, 1000)))
    assert both["facility"].iloc[0] == 1  # the far facility is never the fastest, however short its leg looks


def test_features_without_geometry_are_counted(tmp_path, monkeypatch):
    """A road file's features with no (or an empty) geometry are not routed, but never vanish: counted on the
    network, through the cache too."""
    monkeypatch.setenv("SAFETYNET_CACHE", str(tmp_path / "cache"))
    path = write_toy(tmp_path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["features"] += [{"type": "Feature", "properties": {"highway": "primary"}, "geometry": None},
                        {"type": "Feature", "properties": {"highway": "primary"},
                         "geometry": {"type": "LineString", "coordinates": []}}]
    path.write_text(json.dumps(doc), encoding="utf-8")
    net = read_network(path)
    assert net.without_geometry == 2 and net.n_nodes == 6 and not net.from_cache
    again = read_network(path)
    assert again.from_cache and again.without_geometry == 2


def test_oneway_against_the_flow(toy):
    # from the top of C to its bottom: C is one-way northward, so D, B, A (1.2 + 1.5 + 1)
    res = nearest_by_network(toy, pts((0, 1000)), pts((0, 0)))
    assert res["minutes"].iloc[0] == pytest.approx(minutes(1, 50) + minutes(1, 40) + minutes(1, 60))
    back = nearest_by_network(toy, pts((0, 0)), pts((0, 1000)))
    assert back["minutes"].iloc[0] == pytest.approx(minutes(1, 30))


def test_same_piece_direct(toy):
    # origin and facility on A, 400 m apart: straight along A, not via a node
    res = nearest_by_network(toy, pts((300, 0)), pts((700, 0)))
    assert res["minutes"].iloc[0] == pytest.approx(minutes(0.4, 60))


def test_groups_route_to_own_group_only(toy):
    fac = pts((0, 1000), (1000, 1000))
    res = nearest_by_network(toy, pts((0, 900), (0, 900)), fac, origin_groups=["甲", "乙"],
                             facility_groups=["甲", "乙"])
    assert res["facility"].tolist() == [0, 1]
    assert res["minutes"].iloc[1] > res["minutes"].iloc[0]
    none = nearest_by_network(toy, pts((0, 900)), fac, origin_groups=["丙"], facility_groups=["甲", "乙"])
    assert none["reason"].iloc[0] == "no facility in its group" and np.isnan(none["minutes"].iloc[0])


def test_missing_speed_classes_listed(tmp_path):
    rows = [*TOY, ("F", "footway", "", [(0, 0), (-100, 0)]), ("G", "path", "", [(0, 0), (0, -100)])]
    with pytest.raises(InputError, match=r"without a speed: footway \(1\), path \(1\)"):
        read_network(write_toy(tmp_path, rows))


def test_speeds_table(tmp_path):
    table = tmp_path / "speeds.csv"
    table.write_text("class,kmh\n" + "".join(f"{c},{v}\n" for c, v in DEFAULT_SPEEDS.items() if c != "primary")
                     + "primary,30\n", encoding="utf-8")
    assert read_speeds(table)["primary"] == 30
    net = read_network(write_toy(tmp_path), speeds=table)
    res = nearest_by_network(net, pts((300, 0)), pts((700, 0)))
    assert res["minutes"].iloc[0] == pytest.approx(minutes(0.4, 30))
    bad = tmp_path / "bad.csv"
    for text, message in (("kind,speed\nprimary,30\n", "class,kmh"), ("class,kmh\nprimary,0\n", "row 2"),
                          ("class,kmh\nprimary,fast\n", "row 2: kmh 'fast'"), ("class,kmh\nprimary\n", "2 cells")):
        bad.write_text(text, encoding="utf-8")
        with pytest.raises((InputError, UnreadableFileError), match=message):
            read_speeds(bad)


def test_class_column(tmp_path):
    path = write_toy(tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    for f in data["features"]:
        f["properties"]["道路等級"] = {"primary": "省道", "tertiary": "鄉道", "residential": "市區道路",
                                      "secondary": "縣道"}[f["properties"].pop("highway")]
    path.write_text(json.dumps(data), encoding="utf-8")
    assert read_network(path).classes == {"市區道路": 1, "省道": 2, "縣道": 1, "鄉道": 1}
    with pytest.raises(InputError, match="no column 'kind'"):
        read_network(path, road_class_column="kind")
    for f in data["features"]:
        f["properties"].pop("道路等級")
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError, match="no road-class column; tried highway, fclass"):
        read_network(path)


def test_not_lines(tmp_path):
    path = tmp_path / "points.geojson"
    gpd.GeoDataFrame({"highway": ["primary"]}, geometry=[Point(0, 0)], crs=CRS).to_file(path)
    with pytest.raises(UnreadableFileError, match="expected lines, found Point"):
        read_network(path)
    with pytest.raises(UnreadableFileError, match="file not found"):
        read_network(tmp_path / "nope.shp")


def _toy_pbf(path, oneway_of_c=None):
    """TOY written as an .osm.pbf near 嘉義 (C's oneway tag replaced by ``oneway_of_c`` if given); its origin."""
    osmium = pytest.importorskip("osmium", reason="osmium (test extra) writes the PBF fixture")
    from pyproj import Transformer

    to_ll = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    origin = (200_000, 2_600_000)  # somewhere in 嘉義
    writer = osmium.SimpleWriter(str(path))
    ids = {}
    for _, _, _, coords in TOY:
        for x, y in coords:
            if (x, y) not in ids:
                ids[(x, y)] = len(ids) + 1
                lon, lat = to_ll.transform(origin[0] + x, origin[1] + y)
                writer.add_node(osmium.osm.mutable.Node(id=ids[(x, y)], location=(lon, lat), version=1))
    for k, (name, highway, oneway, coords) in enumerate(TOY, start=1):
        if oneway_of_c is not None and name == "C":
            oneway = oneway_of_c
        tags = {"highway": highway, "name": name, **({"oneway": oneway} if oneway else {})}
        writer.add_way(osmium.osm.mutable.Way(id=k, nodes=[ids[c] for c in coords], tags=tags, version=1))
    writer.close()
    return origin


def test_osm_pbf(tmp_path):
    path = tmp_path / "toy.osm.pbf"
    origin = _toy_pbf(path)
    net = read_network(path)
    res = nearest_by_network(net, pts((origin[0], origin[1] + 1000)), pts((origin[0], origin[1])))
    # the one-way tag survived: from the top of C to its bottom goes round by D, B, A
    expected = minutes(1, 50) + minutes(1, 40) + minutes(1, 60)
    assert res["minutes"].iloc[0] == pytest.approx(expected, rel=2e-3)  # degrees ↔ metres rounding
    assert net.oneway_unknown == {}


def test_osm_oneway_of_no_known_meaning_is_both_ways_and_counted(tmp_path, monkeypatch, caplog):
    """An .osm.pbf cannot be fixed by hand: a oneway tag of no known meaning (``yes;no``) takes its line both
    ways, with a warning and a count kept in the graph cache (a file's own oneway column with such a value is
    refused: tests/test_network_hostile.py)."""
    import logging

    monkeypatch.setenv("SAFETYNET_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "toy.osm.pbf"
    origin = _toy_pbf(path, oneway_of_c="yes;no")
    for run in ("built", "from the cache"):
        with caplog.at_level(logging.WARNING, logger="coverage.roadfile"):
            net = read_network(path)
        assert net.from_cache == (run == "from the cache")
        assert net.oneway_unknown == {"yes;no": 1}, run
        res = nearest_by_network(net, pts((origin[0], origin[1] + 1000)), pts((origin[0], origin[1])))
        down_c = minutes(1, DEFAULT_SPEEDS["residential"])  # straight down C, taken both ways
        assert res["minutes"].iloc[0] == pytest.approx(down_c, rel=2e-3), run
    assert "1 lines with an OSM oneway value of no known meaning, taken both ways: yes;no (1)" in caplog.text


# --- real data: OSM major roads of 苗栗縣 ------------------------------------------------------------


@pytest.fixture(scope="module")
def miaoli():
    from .conftest import SHARED_DATA, require

    require(SHARED_DATA.exists(), f"real road data not available: {SHARED_DATA} is missing")
    import coverage
    from coverage.geography import load_villages

    net = read_network(SHARED_DATA / "roads" / "Miaoli_Road_Network.shp")
    towns = coverage.load_townships()
    villages = load_villages()
    villages = villages[villages["towncode"].str.startswith("10005")].to_crs(CRS)
    reg = coverage.read_facilities(coverage.get_path("registry")).facilities
    fac = reg[(reg["county"] == "苗栗縣") & (reg["category"] == "welfare_centre")].to_crs(CRS)
    origins = villages.representative_point()
    res = nearest_by_network(net, origins, fac.geometry)
    res["township"] = villages["towncode"].map(towns.set_index("towncode")["township"]).to_numpy()
    return net, origins, fac, res


def test_miaoli_bounds(miaoli):
    net, origins, fac, res = miaoli
    assert (net.n_nodes, int(res["minutes"].notna().sum())) >= (5000, len(res) - 2)
    ok = res["facility"] >= 0
    target = fac.geometry.to_numpy()[res.loc[ok, "facility"].to_numpy()]
    straight_km = origins[ok].distance(gpd.GeoSeries(target, index=origins[ok].index, crs=CRS)) / 1000
    fastest = max(DEFAULT_SPEEDS.values())
    assert (res.loc[ok, "minutes"] >= minutes(straight_km, fastest) - 1e-9).all()
    assert (res.loc[ok, "network_km"] >= straight_km - 1e-6).all()
    median = res.groupby("township")["minutes"].median()
    assert median.idxmax() == "泰安鄉"


@pytest.mark.parametrize("level", [1, 2, 3, 6])
def test_hilbert_order_walks_a_full_grid_cell_by_cell(level):
    from coverage.contraction import hilbert_order

    side = 1 << level
    gx, gy = np.meshgrid(np.arange(side), np.arange(side))
    cells = np.c_[gx.ravel(), gy.ravel()] * 7.5 + [250_000.0, 2_650_000.0]  # any spacing and origin
    xy = cells[np.random.default_rng(level).permutation(len(cells))]
    order = hilbert_order(xy, level=level)
    assert np.array_equal(np.sort(order), np.arange(len(xy)))
    steps = np.abs(np.diff(xy[order], axis=0)).sum(axis=1)
    assert (steps == 7.5).all()  # every next cell of the curve is an edge neighbour: no jump
    assert xy[order[0]].tolist() == cells[0].tolist()  # from one corner


def test_hilbert_order_of_few_or_equal_points():
    from coverage.contraction import hilbert_order

    assert hilbert_order(np.zeros((0, 2))).tolist() == []
    assert hilbert_order(np.array([[5.0, 5.0]])).tolist() == [0]
    assert hilbert_order(np.full((4, 2), 3.0)).tolist() == [0, 1, 2, 3]  # one cell: input order kept


def test_nodes_are_numbered_along_the_curve(miaoli):
    from coverage.contraction import hilbert_order

    net = miaoli[0]
    assert np.array_equal(hilbert_order(net.node_xy), np.arange(net.n_nodes))
    # neighbours on the ground are near in memory: an edge's two nodes are numbered closer than when numbered by x
    rows, cols = np.repeat(np.arange(net.n_nodes), np.diff(net.minutes.indptr)), net.minutes.indices
    by_x = np.empty(net.n_nodes, dtype=np.int64)
    by_x[np.lexsort((net.node_xy[:, 1], net.node_xy[:, 0]))] = np.arange(net.n_nodes)
    assert 2 * np.median(np.abs(rows - cols)) <= np.median(np.abs(by_x[rows] - by_x[cols]))


def test_miaoli_equals_networkx(miaoli):
    """Independent oracle: networkx on every vertex of the raw lines, points joined by projection."""
    import networkx as nx
    import shapely

    from coverage.snapping import SNAP_SLACK_M

    net, origins, fac, res = miaoli
    lines = net.lines.to_numpy()
    speed = net.line_speed
    graph = nx.Graph()
    for li, line in enumerate(lines):
        xy = shapely.get_coordinates(line)
        for (x0, y0), (x1, y1) in itertools.pairwise(xy):
            a, b = (round(x0, 2), round(y0, 2)), (round(x1, 2), round(y1, 2))
            w = minutes(np.hypot(x1 - x0, y1 - y0) / 1000, speed[li])
            if a != b and (not graph.has_edge(a, b) or graph[a][b]["weight"] > w):
                graph.add_edge(a, b, weight=w)

    def join(node, point):
        d = shapely.distance(point, lines)
        for li in np.flatnonzero(d <= d.min() + SNAP_SLACK_M):
            line = lines[li]
            proj = shapely.line_interpolate_point(line, shapely.line_locate_point(line, point))
            xy = shapely.get_coordinates(line)
            seg = np.argmin([shapely.distance(proj, shapely.linestrings(xy[k:k + 2])) for k in range(len(xy) - 1)])
            for end in (xy[seg], xy[seg + 1]):
                along = np.hypot(*(np.asarray(end) - shapely.get_coordinates(proj)[0])) / 1000
                graph.add_edge(node, (round(end[0], 2), round(end[1], 2)),
                               weight=minutes(d[li] / 1000, ACCESS_KMH) + minutes(along, speed[li]))

    for k, g in enumerate(fac.geometry):
        join(("f", k), g)
    graph.add_node("sink")
    for k in range(len(fac)):
        graph.add_edge(("f", k), "sink", weight=0.0)
    sample = res.index[np.linspace(0, len(res) - 1, 20).astype(int)]
    for i in sample:
        join(("v", i), origins.loc[i])
        expected = nx.shortest_path_length(graph, ("v", i), "sink", weight="weight")
        assert res.at[i, "minutes"] == pytest.approx(expected, rel=1e-6), i
        graph.remove_node(("v", i))


def test_graph_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFETYNET_CACHE", str(tmp_path / "cache"))
    path = write_toy(tmp_path)
    first = read_network(path)
    assert "from the cache" not in first.source and list((tmp_path / "cache").glob("network-*.npz"))
    second = read_network(path)
    assert "graph from the cache" in second.source and second.from_cache and not first.from_cache
    assert (second.minutes != first.minutes).nnz == 0 and second.lines.geom_equals(first.lines).all()
    assert second.classes == first.classes
    assert second.road_edges == first.road_edges == first.n_edges
    from coverage.contraction import CHAIN_FIELDS

    for field in CHAIN_FIELDS:  # the contracted chains come back from the cache as built
        assert np.array_equal(getattr(second.chains, field), getattr(first.chains, field)), field
    from coverage.contraction import TREE_FIELDS

    for field in TREE_FIELDS:  # and the dead-end trees
        assert np.array_equal(getattr(second.trees, field), getattr(first.trees, field)), field
    import shapely

    assert shapely.equals_exact(second.geoms, first.geoms, 0).all()  # the lines, vertex for vertex
    for got, want in zip(second.vertices, first.vertices, strict=True):
        assert np.array_equal(got, want)
    origins, fac = pts((0, 0), (0, 500)), pts((1000, 1000))
    assert nearest_by_network(second, origins, fac).equals(nearest_by_network(first, origins, fac))
    other = tmp_path / "speeds.csv"
    other.write_text("class,kmh\n" + "".join(f"{c},{v / 2}\n" for c, v in DEFAULT_SPEEDS.items()), encoding="utf-8")
    assert "from the cache" not in read_network(path, speeds=other).source  # other speeds: another graph


def test_village_travel_times_miaoli(miaoli, tmp_path):
    import coverage
    from coverage.geography import load_villages
    from coverage.network import TRAVEL_COLUMNS, village_travel_times

    net, _, _, res = miaoli
    villages = load_villages()
    villages = villages[villages["towncode"].str.startswith(("10005", "10004"))]  # 苗栗縣 and 新竹縣
    reg = coverage.read_facilities(coverage.get_path("registry")).facilities
    table = village_travel_times(net, villages, reg, categories=["welfare_centre"])
    assert list(table.columns) == TRAVEL_COLUMNS
    miaoli_rows = table[table["county"] == "苗栗縣"].set_index("villcode")
    # 苗栗縣's villages reach 苗栗縣's own centres: the same minutes as routing to those alone
    expected = res.set_index(villages.loc[villages["towncode"].str.startswith("10005"), "villcode"].to_numpy())
    assert miaoli_rows["nearest_min"].to_numpy() == pytest.approx(expected["minutes"].round(2).to_numpy(),
                                                                 nan_ok=True)
    assert miaoli_rows["facility_name"].str.endswith("社會福利服務中心").all()
    # 新竹縣's centres are off this road extract's reach only through 苗栗縣's roads: their villages are
    # routed to 新竹縣's own centres, never to 苗栗縣's
    hsinchu = table[table["county"] == "新竹縣"]
    names = set(reg.loc[reg["county"] == "新竹縣", "name"])
    assert set(hsinchu["facility_name"]) - {""} <= names
    assert (hsinchu["nearest_min"].isna() == (hsinchu["reason"] != "")).all()


def test_report_with_network(tmp_path):
    """`report --network`: travel_times.csv with minutes per village × programme, summary.json's travel block."""
    import json

    import pandas as pd
    from typer.testing import CliRunner

    from coverage.cli import app

    from .conftest import SHARED_DATA, require

    require(SHARED_DATA.exists(), f"real road data not available: {SHARED_DATA} is missing")
    roads = SHARED_DATA / "roads" / "Miaoli_Road_Network.shp"
    result = CliRunner().invoke(app, ["report", "--county", "苗栗縣", "--category", "社福中心", "--no-maps",
                                      "--network", str(roads), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    travel = pd.read_csv(tmp_path / "travel_times.csv", dtype={"villcode": str, "towncode": str})
    assert len(travel) == 275 and set(travel["county"]) == {"苗栗縣"}
    assert travel["nearest_min"].notna().sum() >= 273
    assert (travel["nearest_min"].isna() == travel["reason"].notna()).all()
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    block = summary["travel"]["by_category"]["welfare_centre"]
    assert block["villages"] == 275 and block["max_min"] > block["median_min"] > 0
    assert summary["travel"]["network"].startswith("Miaoli_Road_Network.shp")
    slowest = travel.sort_values("nearest_min").dropna(subset=["nearest_min"]).iloc[-1]
    assert slowest["township"] == "泰安鄉"


# --- travel_pairs: every pair within a time limit ----------------------------------------------------


def oracle_graph(lines, speed, oneway):
    """networkx DiGraph on every vertex of the raw lines (independent of coverage.network's noding)."""
    import networkx as nx
    import shapely

    graph = nx.DiGraph()
    for li, line in enumerate(lines):
        xy = shapely.get_coordinates(line)
        for (x0, y0), (x1, y1) in itertools.pairwise(xy):
            a, b = (round(x0, 2), round(y0, 2)), (round(x1, 2), round(y1, 2))
            w = minutes(np.hypot(x1 - x0, y1 - y0) / 1000, speed[li])
            for u, v, ok in ((a, b, oneway[li] >= 0), (b, a, oneway[li] <= 0)):
                if ok and u != v and (not graph.has_edge(u, v) or graph[u][v]["weight"] > w):
                    graph.add_edge(u, v, weight=w)
    return graph


def oracle_join(graph, node, point, lines, speed, oneway, outbound):
    """Join a point to the oracle graph at its projection on every road within the snapping slack;
    returns its (line, segment, position along the line, leg km) for same-segment travel."""
    import shapely

    from coverage.snapping import SNAP_SLACK_M

    d = shapely.distance(point, lines)
    joins = []
    for li in np.flatnonzero(d <= d.min() + SNAP_SLACK_M):
        line = lines[li]
        pos = shapely.line_locate_point(line, point)
        proj = shapely.get_coordinates(shapely.line_interpolate_point(line, pos))[0]
        xy = shapely.get_coordinates(line)
        seg = int(np.argmin([shapely.distance(shapely.points(proj), shapely.linestrings(xy[k:k + 2]))
                             for k in range(len(xy) - 1)]))
        leg = minutes(d[li] / 1000, ACCESS_KMH)
        # towards the segment's start is against a forward one-way road when leaving, with it when arriving
        for end, against in ((xy[seg], 1), (xy[seg + 1], -1)):
            if oneway[li] == (against if outbound else -against):
                continue
            w = leg + minutes(np.hypot(*(end - proj)) / 1000, speed[li])
            u, v = (node, (round(end[0], 2), round(end[1], 2)))[:: 1 if outbound else -1]
            if not graph.has_edge(u, v) or graph[u][v]["weight"] > w:  # roads sharing an end: the fastest
                graph.add_edge(u, v, weight=w)
        joins.append((li, seg, pos, d[li] / 1000))
    return joins


def oracle_pairs(lines, speed, oneway, origins, destinations, limit):
    """{(origin, destination): minutes} within ``limit`` by brute force (networkx single-source Dijkstra)."""
    import networkx as nx

    graph = oracle_graph(lines, speed, oneway)
    ends = {}
    for k, p in enumerate(destinations):
        ends[k] = oracle_join(graph, ("d", k), p, lines, speed, oneway, outbound=False)
    pairs = {}
    for i, p in enumerate(origins):
        starts = oracle_join(graph, ("o", i), p, lines, speed, oneway, outbound=True)
        for k, joins in ends.items():  # along one segment both points enter, in an allowed direction
            for li, seg, pos, leg in starts:
                for lk, sk, fpos, fleg in joins:
                    if (li, seg) == (lk, sk) and oneway[li] != (-1 if fpos >= pos else 1):
                        w = minutes(leg + fleg, ACCESS_KMH) + minutes(abs(fpos - pos) / 1000, speed[li])
                        if not graph.has_edge(("o", i), ("d", k)) or graph[("o", i)][("d", k)]["weight"] > w:
                            graph.add_edge(("o", i), ("d", k), weight=w)
        dist = nx.single_source_dijkstra_path_length(graph, ("o", i), weight="weight")
        pairs.update({(i, k): dist[("d", k)] for k in range(len(destinations))
                      if ("d", k) in dist and dist[("d", k)] <= limit})
        graph.remove_node(("o", i))
    return pairs


def assert_pairs_equal(got, expected):
    found = {(int(o), int(d)): t for o, d, t in got[["origin", "destination", "minutes"]].itertuples(index=False)}
    near_limit = set(found) ^ set(expected)
    assert not near_limit, {k: (found.get(k), expected.get(k)) for k in near_limit}
    for key, t in expected.items():
        assert found[key] == pytest.approx(t, rel=1e-9, abs=1e-9), key


def test_travel_pairs_toy_by_hand(toy):
    from coverage.network import PAIR_COLUMNS, travel_pairs

    origins = pts((0, 0), (0, 1000), (300, 0), (50_500, 50_000))
    dests = pts((1000, 1000), (0, 0), (700, 0))
    pairs = travel_pairs(toy, origins, dests, limit_min=3.0)
    assert list(pairs.columns) == PAIR_COLUMNS
    assert pairs[["origin", "destination"]].to_numpy().tolist() == [
        [0, 0], [0, 1], [0, 2], [1, 0], [1, 2], [2, 0], [2, 1], [2, 2]]
    got = pairs.set_index(["origin", "destination"])["minutes"]
    a, b, d = minutes(1, 60), minutes(1, 40), minutes(1, 50)
    assert got[(0, 0)] == pytest.approx(a + b)  # 2.5: A then B
    assert got[(1, 0)] == pytest.approx(d)
    assert got[(1, 2)] == pytest.approx(d + b + minutes(0.3, 60))  # 1.2 + 1.5 + 0.3 = 3.0: exactly the limit
    assert (1, 1) not in got  # C is one-way northward: D, B, A = 3.7 > 3
    assert got[(2, 2)] == pytest.approx(minutes(0.4, 60))  # along A, no node between
    assert pairs.set_index(["origin", "destination"]).at[(0, 0), "network_km"] == pytest.approx(2.0)
    # the island road reaches none; an island destination is reached from the island only
    island = travel_pairs(toy, origins, pts((50_900, 50_000)), limit_min=60)
    assert island[["origin", "destination"]].to_numpy().tolist() == [[3, 0]]
    assert island["minutes"].iloc[0] == pytest.approx(minutes(0.4, 60))


def test_travel_pairs_direction_and_groups(toy):
    from coverage.network import travel_pairs

    up, down = pts((0, 100)), pts((0, 900))
    forward = travel_pairs(toy, up, down, limit_min=60)["minutes"].iloc[0]
    backward = travel_pairs(toy, down, up, limit_min=60)["minutes"].iloc[0]
    assert forward == pytest.approx(minutes(0.8, 30))  # along one-way C, northward
    # from the origin TO the destination: not down C; round by D, B, A would be 4.1 min, and the straight
    # off-network leg to A's end (900 m at ACCESS_KMH) then up C is 3.8
    assert backward == pytest.approx(minutes(0.9, ACCESS_KMH) + minutes(0.1, 30))
    assert backward == pytest.approx(nearest_by_network(toy, down, up)["minutes"].iloc[0])
    origins, dests = pts((0, 900), (0, 900), (0, 900)), pts((0, 1000), (1000, 1000))
    grouped = travel_pairs(toy, origins, dests, limit_min=60, origin_groups=["甲", "乙", "丙"],
                           destination_groups=["甲", "乙"])
    assert grouped[["origin", "destination"]].to_numpy().tolist() == [[0, 0], [1, 1]]


def test_travel_pairs_errors(toy):
    from coverage.network import PAIR_COLUMNS, travel_pairs

    o, d = pts((0, 0)), pts((1000, 1000))
    for bad in (0, -1, float("nan"), float("inf"), "soon", None):
        with pytest.raises(InputError, match="limit_min="):
            travel_pairs(toy, o, d, limit_min=bad)
    with pytest.raises(InputError, match="access_kmh="):
        travel_pairs(toy, o, d, limit_min=10, access_kmh=0)
    with pytest.raises(InputError, match=r"origin_groups= has 2 labels for 1 origins"):
        travel_pairs(toy, o, d, limit_min=10, origin_groups=["a", "b"])
    with pytest.raises(InputError, match=r"destination_groups= has 0 labels for 1 destinations"):
        travel_pairs(toy, o, d, limit_min=10, destination_groups=[])
    for empty in (travel_pairs(toy, o.iloc[:0], d, limit_min=10), travel_pairs(toy, o, d.iloc[:0], limit_min=10)):
        assert list(empty.columns) == PAIR_COLUMNS and empty.empty
        assert empty.dtypes.astype(str).tolist() == ["int64", "int64", "float64", "float64"]


def random_streets(draw_int, draw_bool, n_streets):
    """Horizontal and vertical streets on a 100 m grid (0..400), each a polyline through every grid point it
    spans (so crossings are shared vertices and the vertices between crossings are not nodes)."""
    import shapely

    lines, speed, oneway = [], [], []
    kmh = sorted({float(v) for v in DEFAULT_SPEEDS.values()})
    for _ in range(n_streets):
        fixed, a, b = draw_int(0, 4), draw_int(0, 4), draw_int(0, 4)
        if a == b:
            continue
        run = range(min(a, b), max(a, b) + 1)
        xy = [(100 * fixed, 100 * k) for k in run] if draw_bool() else [(100 * k, 100 * fixed) for k in run]
        lines.append(shapely.linestrings(xy))
        speed.append(kmh[draw_int(0, len(kmh) - 1)])
        oneway.append(draw_int(-1, 1) if draw_bool() else 0)
    return lines, speed, oneway


_PAIR_STATS = {"examples": 0, "pairs": 0, "one_way": 0}


def test_travel_pairs_equal_networkx_on_random_streets():
    """Property: on random street grids (one-way streets included) and random points, travel_pairs equals a
    brute-force networkx oracle, pair for pair, and the fastest pair equals nearest_by_network."""
    from hypothesis import HealthCheck, event, given, settings
    from hypothesis import strategies as st

    from coverage.network import network_from_lines, travel_pairs

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.data())
    def check(data):
        lines, speed, oneway = random_streets(lambda a, b: data.draw(st.integers(a, b)),
                                              lambda: data.draw(st.booleans()), data.draw(st.integers(1, 9)))
        if not lines:
            return
        coord = st.floats(-150, 550, allow_nan=False, allow_infinity=False)
        origins = pts(*data.draw(st.lists(st.tuples(coord, coord), min_size=1, max_size=6)))
        dests = pts(*data.draw(st.lists(st.tuples(coord, coord), min_size=1, max_size=4)))
        limit = data.draw(st.sampled_from([0.5, 2.0, 6.0, 30.0]))
        net = network_from_lines(gpd.GeoSeries(lines, crs=CRS), speed, oneway)
        got = travel_pairs(net, origins, dests, limit_min=limit)
        expected = oracle_pairs(np.asarray(lines), np.asarray(speed), np.asarray(oneway),
                                list(origins), list(dests), limit)
        assert_pairs_equal(got, expected)
        nearest = nearest_by_network(net, origins, dests)
        fastest = got.groupby("origin")["minutes"].min()
        for i, t in fastest.items():
            assert nearest.at[i, "minutes"] == pytest.approx(t, rel=1e-9), i
            assert got.loc[(got["origin"] == i) & (got["destination"] == nearest.at[i, "facility"]),
                           "minutes"].iloc[0] == pytest.approx(t, rel=1e-9)
        _PAIR_STATS["examples"] += 1
        _PAIR_STATS["pairs"] += len(got)
        _PAIR_STATS["one_way"] += any(oneway)
        event(f"pairs within limit: {'none' if got.empty else 'some'}")
        event(f"one-way streets: {'yes' if any(oneway) else 'no'}")

    check()
    assert _PAIR_STATS["examples"] >= 20 and _PAIR_STATS["pairs"] >= 50 and _PAIR_STATS["one_way"] >= 5, _PAIR_STATS


def test_travel_pairs_miaoli(miaoli):
    """Real 苗栗縣 roads: every village × 社福中心 pair within 45 min equals networkx, and each village's
    fastest pair equals nearest_by_network."""
    from coverage.network import travel_pairs

    net, origins, fac, res = miaoli
    pairs = travel_pairs(net, origins, fac.geometry, limit_min=45)
    assert pairs["origin"].is_monotonic_increasing and len(pairs) > len(origins)
    fastest = pairs.groupby("origin")["minutes"].min()
    near = res["minutes"].to_numpy()
    within = np.flatnonzero(near <= 45)
    assert set(fastest.index) == set(within)
    assert fastest.to_numpy() == pytest.approx(near[fastest.index], rel=1e-9)
    best = pairs.merge(pd_frame(origin=np.arange(len(res)), destination=res["facility"].to_numpy()))
    assert best["minutes"].to_numpy() == pytest.approx(near[best["origin"]], rel=1e-9)
    assert best["network_km"].to_numpy() == pytest.approx(res["network_km"].to_numpy()[best["origin"]], rel=1e-9)
    sample = np.linspace(0, len(origins) - 1, 12).astype(int)
    expected = oracle_pairs(net.lines.to_numpy(), net.line_speed, net.line_oneway,
                            [origins.iloc[i] for i in sample], list(fac.geometry), 45)
    sub = pairs[pairs["origin"].isin(sample)].assign(origin=lambda f: np.searchsorted(sample, f["origin"]))
    assert_pairs_equal(sub, expected)
    # a shorter limit keeps exactly the pairs within it, with the same minutes
    short = travel_pairs(net, origins, fac.geometry, limit_min=20)
    assert short.equals(pairs[pairs["minutes"] <= 20].reset_index(drop=True))


def pd_frame(**columns):
    import pandas as pd

    return pd.DataFrame(columns)


# --- snapping (coverage.snapping) ----------------------------------------------------------------------


_SNAP_STATS = {"examples": 0, "points": 0, "several_roads": 0, "inner_vertex": 0}


def test_snapping_equals_brute_force_projection():
    """Property: on random polylines (several vertices, shared ends) and random points, the vectorised
    candidates are exactly the roads within SNAP_SLACK_M of the nearest, with GEOS's distance and projected
    position on each; every entry's piece holds the projection."""
    import shapely
    from hypothesis import HealthCheck, event, given, settings
    from hypothesis import strategies as st

    from coverage.network import network_from_lines
    from coverage.snapping import SNAP_SLACK_M, road_candidates, snap_points

    coord = st.integers(0, 40).map(lambda v: v * 50.0)  # a 50 m lattice: lines share vertices and meet
    polyline = st.lists(st.tuples(coord, coord), min_size=2, max_size=7, unique=True)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(polyline, min_size=1, max_size=8),
           st.lists(st.tuples(st.floats(-1500, 3500), st.floats(-1500, 3500)), min_size=1, max_size=8))
    def check(polylines, points):
        lines = np.array([shapely.LineString(p) for p in polylines], dtype=object)
        net = network_from_lines(gpd.GeoSeries(lines, crs=CRS), [50.0] * len(lines))
        xy = np.asarray(points, dtype=float)
        owner, line, dist, pos = road_candidates(net, xy)
        for i, p in enumerate(shapely.points(xy)):
            d = shapely.distance(p, lines)
            expected = set(np.flatnonzero(d <= d.min() + SNAP_SLACK_M).tolist())
            mine = line[owner == i]
            assert set(mine.tolist()) == expected, i
            assert dist[owner == i] == pytest.approx(d[mine], rel=1e-9, abs=1e-6)
            assert pos[owner == i] == pytest.approx(shapely.line_locate_point(lines[mine], p), rel=1e-9, abs=1e-6)
            _SNAP_STATS["several_roads"] += len(mine) > 1
        entries, leg = snap_points(net, xy, ACCESS_KMH, outbound=True)
        at = net.line_base[entries.line] + entries.pos
        assert (net.seq_pos[entries.piece] <= at + 1e-6).all() and (at <= net.seq_pos[entries.piece + 1] + 1e-6).all()
        assert leg == pytest.approx(shapely.distance(shapely.points(xy)[:, None], lines[None, :]).min(axis=1) / 1000)
        inner = shapely.get_num_coordinates(lines)[entries.line] > 2
        _SNAP_STATS["inner_vertex"] += int(inner.any())
        _SNAP_STATS["examples"] += 1
        _SNAP_STATS["points"] += len(xy)
        event(f"candidates per point: {'several' if len(owner) > len(xy) else 'one'}")

    check()
    assert _SNAP_STATS["examples"] >= 30 and _SNAP_STATS["several_roads"] >= 10, _SNAP_STATS
    assert _SNAP_STATS["inner_vertex"] >= 10, _SNAP_STATS


def test_snapping_caps_candidates():
    """A point among more than MAX_CANDIDATES roads within the slack keeps the nearest MAX_CANDIDATES."""
    import shapely

    from coverage.network import network_from_lines
    from coverage.snapping import MAX_CANDIDATES, road_candidates

    lines = shapely.linestrings([[(10.0 * k, 0.0), (10.0 * k, 100.0)] for k in range(1, 101)])
    net = network_from_lines(gpd.GeoSeries(lines, crs=CRS), [30.0] * 100)
    owner, line, dist, _ = road_candidates(net, np.array([[0.0, 50.0]]))
    assert len(owner) == MAX_CANDIDATES and sorted(line.tolist()) == list(range(MAX_CANDIDATES))
    assert (np.diff(dist) >= 0).all()


def test_a_graph_beyond_int32_indices_is_refused_not_wrapped(monkeypatch):
    """The routing graph's indices are int32: a network with too many nodes or edges for them is refused with
    its name and size (lowered limit: a real one would need some 2 × 10^9 road edges), never routed on indices
    wrapped round to negative numbers; just under the limit it routes."""
    import shapely

    import coverage.network as network

    lines = shapely.linestrings([[(0.0, 1000.0 * k), (1000.0, 1000.0 * k)] for k in range(3)]
                                + [[(0.0, 0.0), (0.0, 2000.0)]])
    series = gpd.GeoSeries(lines, crs=CRS)
    size = network.network_from_lines(series, [60.0] * 4).minutes
    limit = max(size.shape[0], size.nnz + network._SPARE_ENTRIES)
    monkeypatch.setattr(network, "_INDEX_LIMIT", limit)
    net = network.network_from_lines(series, [60.0] * 4, source="roads.gpkg")
    with pytest.raises(InputError, match=r"^roads\.gpkg: .* routed edges; the routing graph holds fewer than"):
        _ = net.routing
    monkeypatch.setattr(network, "_INDEX_LIMIT", limit + 1)
    got = nearest_by_network(network.network_from_lines(series, [60.0] * 4), gpd.GeoSeries(
        gpd.points_from_xy([1000.0], [2000.0]), crs=CRS), gpd.GeoSeries(gpd.points_from_xy([0.0], [0.0]), crs=CRS))
    assert got["minutes"].iloc[0] == pytest.approx(3.0)  # 1 km east + 2 km south at 60 km/h


# --- contracted chains (coverage.contraction) ----------------------------------------------------------


def test_contraction_by_hand():
    """Chains between two junctions J1 (0,0) and J2 (3000,0): A along y=0 (three lines), B round the top (three
    lines, slower than A: its edge is dropped as a parallel one), C a one-way loop westward round the bottom;
    dead-end spurs west and east; an island ring keeps one core node. Hand-computed minutes (60 km/h) and the
    full graph's results."""
    import shapely

    from coverage.network import network_from_lines, travel_pairs

    lines = [
        [(-1000, 0), (0, 0)], [(3000, 0), (4000, 0)],  # spurs
        [(0, 0), (1000, 0)], [(1000, 0), (2000, 0)], [(2000, 0), (3000, 0)],  # A
        [(0, 0), (0, 1000)], [(0, 1000), (3000, 1000)], [(3000, 1000), (3000, 0)],  # B
        [(3000, 0), (3000, -1000)], [(3000, -1000), (0, -1000)], [(0, -1000), (0, 0)],  # C, one-way
        [(10_000, 0), (11_000, 0)], [(11_000, 0), (11_000, 1000)], [(11_000, 1000), (10_000, 0)],  # ring
    ]
    oneway = [0] * 8 + [1, 1, 1] + [0] * 3
    series = gpd.GeoSeries(shapely.linestrings(lines), crs=CRS)
    net = network_from_lines(series, [60.0] * len(lines), oneway)
    flat = network_from_lines(series, [60.0] * len(lines), oneway, contract=False)
    chains = net.chains
    assert (net.n_edges, flat.minutes.nnz, net.minutes.nnz) == (25, 25, 6)  # spurs 2 + 2, A both ways 2
    node = {tuple(xy): k for k, xy in enumerate(np.round(net.node_xy).astype(int).tolist())}
    core = sorted(xy for xy, k in node.items() if chains.of_node[k] < 0)
    ring = [(10_000, 0), (11_000, 0), (11_000, 1000)]
    assert [xy for xy in core if xy not in ring] == [(-1000, 0), (0, 0), (3000, 0), (4000, 0)]
    assert sum(xy in ring for xy in core) == 1  # one core node per ring
    j1, j2 = node[(0, 0)], node[(3000, 0)]
    a, b, c = (chains.of_node[node[xy]] for xy in ((1000, 0), (0, 1000), (0, -1000)))
    assert len({a, b, c}) == 3 and chains.of_node[node[(2000, 0)]] == a and chains.of_node[node[(3000, -1000)]] == c
    assert {int(chains.start[a]), int(chains.end[a])} == {int(chains.start[b]), int(chains.end[b])} == {j1, j2}
    assert (int(chains.start[c]), int(chains.end[c])) == (j2, j1)  # oriented along its one way
    assert chains.total_fwd_min[a] == pytest.approx(3.0) and chains.total_bwd_min[b] == pytest.approx(5.0)
    assert chains.total_fwd_min[c] == pytest.approx(5.0) and np.isinf(chains.total_bwd_min[c])
    origins = pts((1500, 1000), (500, -1000), (1500, 0), (10_500, 0))
    dests = pts((-1000, 0), (4000, 0), (2500, 0), (11_000, 500))
    res = nearest_by_network(net, origins.iloc[:2], dests.iloc[:2])
    assert res["minutes"].tolist() == pytest.approx([1.5 + 1 + 1, 0.5 + 1 + 1])  # B west; C west, up, the spur
    east = nearest_by_network(net, origins.iloc[1:2], dests.iloc[1:2])  # C west, then back east along A
    assert east["minutes"].iloc[0] == pytest.approx(0.5 + 1 + 3 + 1)
    assert east["network_km"].iloc[0] == pytest.approx(5.5)
    along = nearest_by_network(net, pts((1500, 1000)), pts((2500, 1000)))  # along chain B, between its nodes
    assert along["minutes"].iloc[0] == pytest.approx(1.0)
    ring_res = nearest_by_network(net, pts((10_500, 0)), pts((11_000, 500)))
    assert ring_res["minutes"].iloc[0] == pytest.approx(0.5 + 0.5)
    got, want = nearest_by_network(net, origins, dests), nearest_by_network(flat, origins, dests)
    assert got["facility"].tolist() == want["facility"].tolist()
    for column in ("minutes", "network_km"):
        assert got[column].to_numpy() == pytest.approx(want[column].to_numpy(), rel=1e-12, nan_ok=True)
    pairs, flat_pairs = (travel_pairs(g, origins, dests, limit_min=60) for g in (net, flat))
    assert len(pairs) >= 10 and pairs[["origin", "destination"]].equals(flat_pairs[["origin", "destination"]])
    for column in ("minutes", "network_km"):
        assert pairs[column].to_numpy() == pytest.approx(flat_pairs[column].to_numpy(), rel=1e-12)


def jittered_streets(data, st):
    """random_streets on a lattice whose points are moved by up to 30 m (the same move for a point on every
    street through it, so crossings stay shared), some streets split in two at an inner vertex (a pass-through
    node: chains), one-way streets included; no two routes tie."""
    import shapely

    lines, speed, oneway = random_streets(lambda a, b: data.draw(st.integers(a, b)),
                                          lambda: data.draw(st.booleans()), data.draw(st.integers(1, 12)))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    move = rng.uniform(-30, 30, (5, 5, 2))
    out_lines, out_speed, out_way = [], [], []
    for line, kmh, way in zip(lines, speed, oneway, strict=True):
        xy = shapely.get_coordinates(line)
        k = np.round(xy / 100).astype(int)
        xy = xy + move[k[:, 0], k[:, 1]]
        cut = data.draw(st.integers(0, len(xy) - 2)) if len(xy) > 2 and data.draw(st.booleans()) else 0
        pieces = [xy[: cut + 1], xy[cut:]] if cut else [xy]
        if cut:  # a split street: one-way (either way) more often than not
            way = data.draw(st.sampled_from([1, -1, 0]))
        for piece in pieces:
            out_lines.append(shapely.linestrings(piece))
            out_speed.append(kmh if len(pieces) == 1 else float(rng.choice([30.0, 40.0, 50.0, 60.0])))
            out_way.append(way)
    return out_lines, out_speed, out_way


def streets_and_origins(data, st):
    """jittered_streets and 1–8 origins anywhere around them; None when the draw has no street."""
    lines, speed, oneway = jittered_streets(data, st)
    if not lines:
        return None
    coord = st.floats(-150, 550, allow_nan=False, allow_infinity=False)
    return lines, speed, oneway, pts(*data.draw(st.lists(st.tuples(coord, coord), min_size=1, max_size=8)))


_CHAIN_STATS = {"examples": 0, "chains": 0, "one_way_chains": 0, "entries_on_chains": 0}


def test_contracted_graph_routes_equal_the_full_graph():
    """Property: on random jittered street grids (one-way streets, streets split into chains) and random points,
    the contracted graph gives the full graph's results: nearest_by_network's minutes, network km, snap km and
    facility, and travel_pairs' pairs, minutes and km (1e-9 relative)."""
    from hypothesis import HealthCheck, event, given, settings
    from hypothesis import strategies as st

    from coverage.network import network_from_lines, travel_pairs

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.data())
    def check(data):
        drawn = streets_and_origins(data, st)
        if drawn is None:
            return
        lines, speed, oneway, origins = drawn
        coord = st.floats(-150, 550, allow_nan=False, allow_infinity=False)
        # distinct destinations (facilities at one point: test_facilities_at_one_point_the_first_is_given)
        dests = pts(*data.draw(st.lists(st.tuples(coord, coord), min_size=1, max_size=4, unique=True)))
        series = gpd.GeoSeries(lines, crs=CRS)
        net = network_from_lines(series, speed, oneway)
        flat = network_from_lines(series, speed, oneway, contract=False)
        got, want = nearest_by_network(net, origins, dests), nearest_by_network(flat, origins, dests)
        assert got["facility"].tolist() == want["facility"].tolist()
        assert got["reason"].tolist() == want["reason"].tolist()
        for column in ("minutes", "network_km", "snap_km"):
            assert got[column].to_numpy() == pytest.approx(want[column].to_numpy(), rel=1e-9, nan_ok=True), column
        limit = data.draw(st.sampled_from([1.0, 3.0, 30.0]))
        pairs, flat_pairs = (travel_pairs(g, origins, dests, limit_min=limit) for g in (net, flat))
        assert pairs[["origin", "destination"]].equals(flat_pairs[["origin", "destination"]])
        for column in ("minutes", "network_km"):
            assert pairs[column].to_numpy() == pytest.approx(flat_pairs[column].to_numpy(), rel=1e-9), column
        chains = net.chains
        n_chains = len(chains.start)
        _CHAIN_STATS["examples"] += 1
        _CHAIN_STATS["chains"] += n_chains
        _CHAIN_STATS["one_way_chains"] += int(np.isinf(chains.total_bwd_min).sum())
        from coverage.snapping import snap_points

        xy = np.c_[origins.x, origins.y]
        entries, _ = snap_points(net, xy, ACCESS_KMH, outbound=True)
        _CHAIN_STATS["entries_on_chains"] += int((chains.of_node[entries.node] >= 0).any())
        event(f"chains: {'some' if n_chains else 'none'}")

    check()
    assert _CHAIN_STATS["examples"] >= 30 and _CHAIN_STATS["chains"] >= 15, _CHAIN_STATS
    assert _CHAIN_STATS["one_way_chains"] >= 3 and _CHAIN_STATS["entries_on_chains"] >= 8, _CHAIN_STATS


_TIE_STATS = {"examples": 0, "reached_a_copy": 0}


def test_facilities_at_one_point_the_first_is_given():
    """Property: facilities at one point tie on every route; the first of them (in the order given) is the
    facility of every origin they serve, on the contracted and the full graph alike (the Dijkstra's own pick
    among exact ties differs between the two), with the same minutes as without the later copies."""
    from hypothesis import HealthCheck, event, given, settings
    from hypothesis import strategies as st

    from coverage.network import network_from_lines

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.data())
    def check(data):
        drawn = streets_and_origins(data, st)
        if drawn is None:
            return
        lines, speed, oneway, origins = drawn
        whole_m = st.integers(-150, 550).map(float)  # distinct places at least 1 m apart: they never tie exactly
        places = data.draw(st.lists(st.tuples(whole_m, whole_m), min_size=1, max_size=3, unique=True))
        order = data.draw(st.lists(st.integers(0, len(places) - 1), min_size=len(places) + 1,
                                   max_size=len(places) + 4))  # at least one place twice
        order += [k for k in range(len(places)) if k not in order]
        dests = pts(*[places[k] for k in order])
        first = {k: order.index(k) for k in range(len(places))}
        series = gpd.GeoSeries(lines, crs=CRS)
        alone = nearest_by_network(network_from_lines(series, speed, oneway), origins, pts(*places))
        picks = []
        for contract in (True, False):
            got = nearest_by_network(network_from_lines(series, speed, oneway, contract=contract), origins, dests)
            served = got["facility"] >= 0
            assert (got["facility"][served] == [first[order[f]] for f in got["facility"][served]]).all()
            assert got["minutes"].to_numpy() == pytest.approx(alone["minutes"].to_numpy(), rel=1e-9, nan_ok=True)
            picks.append(got["facility"].tolist())
            copies = {k for k in order if order.count(k) > 1}
            _TIE_STATS["reached_a_copy"] += int(any(order[f] in copies for f in got["facility"][served]))
        assert picks[0] == picks[1]
        _TIE_STATS["examples"] += 1
        event(f"places: {len(places)}, facilities: {len(order)}")

    check()
    assert _TIE_STATS["examples"] >= 20 and _TIE_STATS["reached_a_copy"] >= 10, _TIE_STATS


def test_miaoli_routes_unchanged_by_contraction(shared_data):
    """The real 苗栗縣 roads: routes equal those of the code before chains were contracted (snapshot
    tests/snapshots/network_miaoli_routes.json, written by commit 468c467 for the 275 villages' representative
    points and 苗栗縣's 5 社福中心 and 7 service points of every programme): same facility, minutes and network km
    within 1e-9 relative; travel_pairs within 40 min the same pairs."""
    from pathlib import Path

    from coverage.network import network_from_lines, travel_pairs

    snap = json.loads((Path(__file__).parent / "snapshots" / "network_miaoli_routes.json").read_text(encoding="utf-8"))
    net = read_network(shared_data / "roads" / "Miaoli_Road_Network.shp", cache=False)
    assert len(net.chains.start) > 100 and net.minutes.nnz < 0.8 * net.n_edges  # the real roads do have chains
    flat = network_from_lines(net.lines, net.line_speed, net.line_oneway, contract=False)
    origins = pts(*snap["origins"])
    for key, fac in (("nearest", snap["facilities"]), ("nearest_more", snap["more_facilities"])):
        want = snap[key]
        for graph in (net, flat):
            got = nearest_by_network(graph, origins, pts(*fac))
            assert got["facility"].tolist() == want["facility"], key
            for column in ("minutes", "network_km", "snap_km"):
                expected = np.array([np.nan if v is None else v for v in want[column]])
                assert got[column].to_numpy() == pytest.approx(expected, rel=1e-9, nan_ok=True), (key, column)
    pairs = travel_pairs(net, origins, pts(*snap["facilities"]), limit_min=40)
    want = snap["pairs_40min"]
    assert pairs["origin"].tolist() == want["origin"] and pairs["destination"].tolist() == want["destination"]
    assert pairs["minutes"].to_numpy() == pytest.approx(np.array(want["minutes"]), rel=1e-9)
    assert pairs["network_km"].to_numpy() == pytest.approx(np.array(want["network_km"]), rel=1e-9)


_CACHE_STATS = {"examples": 0, "rebuilt": 0, "from_cache": 0}


def test_a_damaged_graph_cache_is_rebuilt_never_routed_on(tmp_path_factory):
    """Property: a cache file altered in a structurally valid way (a member dropped, cut to half, its dtype or
    shape changed, the zip cut short, the meta garbled) is either refused and the graph rebuilt from the file, or
    read back whole: read_network never raises, and the routes equal those of the network built afresh."""
    import io

    from hypothesis import HealthCheck, event, given, settings
    from hypothesis import strategies as st

    base = tmp_path_factory.mktemp("damaged")
    path = write_toy(base)
    fresh = read_network(path, cache=False)
    origins, fac = pts((0, 0), (0, 500), (900, 100)), pts((1000, 1000))
    want = nearest_by_network(fresh, origins, fac)
    calls = itertools.count()

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                     HealthCheck.function_scoped_fixture])
    @given(st.data())
    def check(data):
        import os

        cache = base / f"cache{next(calls)}"  # a new cache each call (replays included)
        os.environ["SAFETYNET_CACHE"] = str(cache)
        try:
            read_network(path)  # writes the cache
            (file,) = cache.glob("network-*.npz")
            with np.load(file, allow_pickle=False) as npz:
                members = {k: npz[k] for k in npz.files}
            name = data.draw(st.sampled_from(sorted(members)))
            how = data.draw(st.sampled_from(["drop", "half", "float32", "2d", "cut zip", "meta"]))
            if how == "cut zip":
                raw = file.read_bytes()
                file.write_bytes(raw[: data.draw(st.integers(0, len(raw) - 1))])
            else:
                if how == "drop":
                    members.pop(name)
                elif how == "half":
                    flat = members[name].reshape(-1)
                    members[name] = flat[: len(flat) // 2]
                elif how == "float32":
                    a = members[name]
                    members[name] = a.astype(np.float32) if a.dtype.kind in "iuf" else np.zeros(a.shape, np.float32)
                elif how == "2d":
                    members[name] = members[name].reshape(1, -1)
                else:
                    members["meta"] = np.array(data.draw(st.sampled_from(['{"classes": 3}', "[", '{}', '"x"'])))
                buffer = io.BytesIO()
                np.savez(buffer, **members)
                file.write_bytes(buffer.getvalue())
            net = read_network(path)
            got = nearest_by_network(net, origins, fac)
            assert got.equals(want) or np.allclose(got["minutes"], want["minutes"], rtol=1e-12, equal_nan=True)
            assert got["facility"].tolist() == want["facility"].tolist()
            _CACHE_STATS["examples"] += 1
            _CACHE_STATS["from_cache" if net.from_cache else "rebuilt"] += 1
            event(f"{how}: {'from the cache' if net.from_cache else 'rebuilt'}")
        finally:
            os.environ.pop("SAFETYNET_CACHE", None)

    check()
    assert _CACHE_STATS["examples"] >= 30 and _CACHE_STATS["rebuilt"] >= 15, _CACHE_STATS


def test_graph_cache_keeps_3d_lines_and_2d_lines_exactly(tmp_path, monkeypatch):
    """The cache keeps 2-D lines as vertex arrays and anything else (here 3-D lines) as WKB: both come back
    equal vertex for vertex (Z included), with the same trees and routes."""
    import shapely

    from coverage.network import _load_cached, _save_cached, network_from_lines

    monkeypatch.setenv("SAFETYNET_CACHE", str(tmp_path))
    flat2 = [shapely.linestrings([(0, 0), (500, 0), (1000, 0)]), shapely.linestrings([(500, 0), (500, 700)]),
             shapely.linestrings([(1000, 0), (1000, 400), (1300, 400)])]
    for dims, geoms in (("2d", flat2), ("3d", [shapely.force_3d(g, 12.5) for g in flat2])):
        net = network_from_lines(gpd.GeoSeries(geoms, crs=CRS), [30.0, 50.0, 40.0])
        _save_cached(dims, net)
        back = _load_cached(dims)
        assert back is not None and len(net.trees.node) >= 1
        assert shapely.equals_exact(back.geoms, net.geoms, 0).all()
        assert shapely.has_z(back.geoms).all() == (dims == "3d")
        for field in ("node", "parent", "up_min", "level"):
            assert np.array_equal(getattr(back.trees, field), getattr(net.trees, field))
        origins, fac = pts((100, 50), (1250, 450)), pts((500, 690))
        assert nearest_by_network(back, origins, fac).equals(nearest_by_network(net, origins, fac))
