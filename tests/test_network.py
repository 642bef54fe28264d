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


def test_osm_pbf(tmp_path):
    osmium = pytest.importorskip("osmium", reason="osmium (test extra) writes the PBF fixture")
    from pyproj import Transformer

    to_ll = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    origin = (200_000, 2_600_000)  # somewhere in 嘉義
    path = tmp_path / "toy.osm.pbf"
    writer = osmium.SimpleWriter(str(path))
    ids = {}
    for _, _, _, coords in TOY:
        for x, y in coords:
            if (x, y) not in ids:
                ids[(x, y)] = len(ids) + 1
                lon, lat = to_ll.transform(origin[0] + x, origin[1] + y)
                writer.add_node(osmium.osm.mutable.Node(id=ids[(x, y)], location=(lon, lat), version=1))
    for k, (name, highway, oneway, coords) in enumerate(TOY, start=1):
        tags = {"highway": highway, "name": name, **({"oneway": oneway} if oneway else {})}
        writer.add_way(osmium.osm.mutable.Way(id=k, nodes=[ids[c] for c in coords], tags=tags, version=1))
    writer.close()
    net = read_network(path)
    res = nearest_by_network(net, pts((origin[0], origin[1] + 1000)), pts((origin[0], origin[1])))
    # the one-way tag survived: from the top of C to its bottom goes round by D, B, A
    expected = minutes(1, 50) + minutes(1, 40) + minutes(1, 60)
    assert res["minutes"].iloc[0] == pytest.approx(expected, rel=2e-3)  # degrees ↔ metres rounding


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


def test_miaoli_equals_networkx(miaoli):
    """Independent oracle: networkx on every vertex of the raw lines, points joined by projection."""
    import networkx as nx
    import shapely

    from coverage.network import SNAP_SLACK_M

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
    assert "graph from the cache" in second.source
    assert (second.minutes != first.minutes).nnz == 0 and second.lines.geom_equals(first.lines).all()
    assert second.classes == first.classes
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
