"""Hostile road files and speeds tables (round 7): structurally valid but malformed shapefiles, GeoPackages,
GeoJSON and speeds CSVs. Each is read right (the same minutes as the clean file) or refused in one line naming
the file (and the feature or row) — never a traceback, never exit 0 with roads silently lost or turned round."""

from __future__ import annotations

import json
import sqlite3
import struct

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point
from typer.testing import CliRunner

from coverage.cli import app
from coverage.errors import CoverageError, InputError, UnreadableFileError
from coverage.network import nearest_by_network, network_from_lines, read_network, read_speeds

CRS = "EPSG:3826"
X0, Y0 = 230_000, 2_720_000  # in 苗栗縣: the CLI's villages and facilities are near
# A: primary (0,0)→(1000,0); B: tertiary up the east side; C: residential up the west side, one-way northward;
# D: secondary along the top; E: primary on from the top-east corner round to (2000, 0)
TOY = [("primary", "", [(0, 0), (1000, 0)]), ("tertiary", "", [(1000, 0), (1000, 1000)]),
       ("residential", "yes", [(0, 0), (0, 500), (0, 1000)]), ("secondary", "", [(0, 1000), (1000, 1000)]),
       ("primary", "", [(1000, 1000), (2000, 1000), (2000, 0)])]
ORIGINS = [(0, 0), (0, 1000), (0, 500), (500, -100), (2000, 500), (1500, 1100)]
FACILITIES = [(1000, 1000), (2000, 0)]
GJ_CRS = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3826"}}
_SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]}


def pts(xy):
    return gpd.GeoSeries([Point(X0 + x, Y0 + y) for x, y in xy], crs=CRS)


def routes(net):
    res = nearest_by_network(net, pts(ORIGINS), pts(FACILITIES))
    return res["minutes"].round(6).tolist(), res["facility"].tolist()  # a zero-length edge costs 1e-9 min


def toy_frame(rows=TOY):
    return gpd.GeoDataFrame({"highway": [r[0] for r in rows], "oneway": [r[1] for r in rows]},
                            geometry=[LineString([(X0 + x, Y0 + y) for x, y in r[2]]) for r in rows], crs=CRS)


def features(rows=TOY):
    return [{"type": "Feature", "properties": {"highway": h, "oneway": o},
             "geometry": {"type": "LineString", "coordinates": [[X0 + x, Y0 + y] for x, y in c]}} for h, o, c in rows]


def write_geojson(path, feats, crs=GJ_CRS):
    doc = {"type": "FeatureCollection", "features": feats, **({"crs": crs} if crs else {})}
    path.write_text(json.dumps(doc, allow_nan=True), encoding="utf-8")  # NaN/Infinity: the JSON extension
    return path


@pytest.fixture(scope="module")
def clean_routes(tmp_path_factory):
    path = write_geojson(tmp_path_factory.mktemp("clean") / "roads.geojson", features())
    return routes(read_network(path, cache=False))


def read_or_refuse(path, **kw):
    """('read', routes) or ('refused', message); anything but the project's own errors fails the test."""
    try:
        net = read_network(path, cache=False, **kw)
    except CoverageError as exc:
        message = str(exc)
        assert "\n" not in message and path.name in message, message
        return "refused", message
    return "read", routes(net)


# --- shapefiles --------------------------------------------------------------------------------------------

_SHP_DAMAGE = ["part index", "negative part index", "numparts", "numpoints up", "numpoints down", "shp cut",
               "dbf count down", "dbf count up", "record number"]
_SHP_STATS = {"examples": 0, "refused": 0, "read": 0}


def _damage_shapefile(folder, how: str, record: int, cut: int):
    path = folder / "roads.shp"
    toy_frame().to_file(path)
    shp, dbf = bytearray(path.read_bytes()), bytearray(path.with_suffix(".dbf").read_bytes())
    offsets = [100]
    while offsets[-1] < len(shp):
        offsets.append(offsets[-1] + 8 + 2 * struct.unpack(">i", shp[offsets[-1] + 4: offsets[-1] + 8])[0])
    at = offsets[record % len(TOY)] + 8  # the record's content: type, box, parts, points, part index …
    if how == "part index":
        shp[at + 44: at + 48] = struct.pack("<i", 7)
    elif how == "negative part index":
        shp[at + 44: at + 48] = struct.pack("<i", -3)
    elif how == "numparts":
        shp[at + 36: at + 40] = struct.pack("<i", 1000)
    elif how in ("numpoints up", "numpoints down"):
        n = struct.unpack("<i", shp[at + 40: at + 44])[0]
        shp[at + 40: at + 44] = struct.pack("<i", n + 1000 if how == "numpoints up" else n - 1)
    elif how == "shp cut":
        del shp[len(shp) - 1 - cut % 40:]  # within the last record
    elif how in ("dbf count down", "dbf count up"):
        dbf[4:8] = struct.pack("<I", len(TOY) + (-2 if how == "dbf count down" else 4))
    else:  # the record number: not used by readers, harmless
        shp[at - 8: at - 4] = struct.pack(">i", 99)
    path.write_bytes(shp)
    path.with_suffix(".dbf").write_bytes(dbf)
    return path


def test_damaged_shapefiles_are_refused_or_read_right(tmp_path_factory, clean_routes):
    """Property: a shapefile with one record's part index out of range, its part or point count changed, the
    .shp cut within its last record, or a .dbf whose header counts other records than the .shp, is refused in
    one line naming the feature or the files — before, GDAL read such a record as no geometry (counted as 'not a
    road') or read only the records the .dbf counts: roads vanished with exit 0."""
    calls = iter(range(10**6))

    @settings(max_examples=25, **_SETTINGS)
    @given(st.sampled_from(_SHP_DAMAGE), st.integers(0, 4), st.integers(0, 39))
    @example("part index", 0, 0)
    @example("negative part index", 2, 0)
    @example("numparts", 1, 0)
    @example("numpoints up", 3, 0)
    @example("numpoints down", 2, 0)
    @example("shp cut", 4, 5)
    @example("dbf count down", 0, 0)
    @example("dbf count up", 0, 0)
    @example("record number", 1, 0)
    def check(how, record, cut):
        path = _damage_shapefile(tmp_path_factory.mktemp(f"shp{next(calls)}"), how, record, cut)
        outcome, got = read_or_refuse(path)
        if how == "record number":
            assert (outcome, got) == ("read", clean_routes)
        else:
            assert outcome == "refused", (how, got)
            assert ("feature" in got) if how.startswith(("part", "neg", "num", "shp")) else ("records" in got), got
            assert "not a readable line layer" not in got, got  # the damaged record is named, not GEOS's message
        _SHP_STATS["examples"] += 1
        _SHP_STATS[outcome] += 1
        event(f"{how}: {outcome}")

    check()
    assert _SHP_STATS["refused"] >= 8 and _SHP_STATS["read"] >= 1, _SHP_STATS


def test_shapefile_without_prj_is_refused_and_other_crs_keep_the_minutes(tmp_path, clean_routes):
    """No .prj: refused (never guessed), whether the coordinates are metres or degrees. A .prj of another CRS
    (EPSG:3857, EPSG:4326) with coordinates in it gives the same minutes; a .prj of WGS84 over TWD97 metres is
    refused naming the features."""
    for crs in (CRS, "EPSG:4326"):
        path = tmp_path / f"noprj{crs[-4:]}" / "roads.shp"
        path.parent.mkdir()
        toy_frame().to_crs(crs).to_file(path)
        path.with_suffix(".prj").unlink()
        outcome, message = read_or_refuse(path)
        assert outcome == "refused" and "no coordinate reference system" in message
    for crs in ("EPSG:3857", "EPSG:4326"):
        path = tmp_path / f"prj{crs[-4:]}" / "roads.shp"
        path.parent.mkdir()
        toy_frame().to_crs(crs).to_file(path)
        minutes, fac = read_or_refuse(path)[1]
        assert fac == clean_routes[1] and np.allclose(minutes, clean_routes[0], rtol=1e-6)
    liar = tmp_path / "liar" / "roads.shp"
    liar.parent.mkdir()
    toy_frame().to_file(liar)
    liar.with_suffix(".prj").write_text((tmp_path / "prj4326" / "roads.prj").read_text())
    outcome, message = read_or_refuse(liar)
    assert outcome == "refused" and "features 1, 2, 3, 4, 5" in message and "longitude/latitude" in message


# --- GeoJSON -----------------------------------------------------------------------------------------------

#: damage → what the planner must get: "same" (the clean minutes) or "refused"
_GJ_DAMAGE = {
    "NaN vertex": "refused", "Infinity vertex": "refused", "1e300 vertex": "refused", "one vertex": "refused",
    "coordinates garbage": "refused", "type typo": "refused", "coordinates missing": "refused",
    "repeated vertices": "same", "zero-length extra line": "same", "3-D": "same", "multi with an empty part": "same",
    "class null": "refused", "class number": "refused",
}
_GJ_STATS = {"examples": 0, "refused": 0, "read": 0}


def _damage_geojson(path, how: str, k: int):
    feats = features()
    geom = feats[k]["geometry"]
    c = geom["coordinates"]
    if how in ("NaN vertex", "Infinity vertex", "1e300 vertex"):
        c[-1][1] = {"NaN vertex": float("nan"), "Infinity vertex": float("inf"), "1e300 vertex": 1e300}[how]
    elif how == "one vertex":
        geom["coordinates"] = c[:1]
    elif how == "coordinates garbage":
        geom["coordinates"] = [c[0], "x", c[-1]]
    elif how == "type typo":
        geom["type"] = "LineStrin"
    elif how == "coordinates missing":
        del geom["coordinates"]
    elif how == "repeated vertices":
        geom["coordinates"] = [v for v in c for _ in (0, 1)]
    elif how == "zero-length extra line":
        feats.append({"type": "Feature", "properties": {"highway": "primary", "oneway": ""},
                      "geometry": {"type": "LineString", "coordinates": [c[0], c[0]]}})
    elif how == "3-D":
        geom["coordinates"] = [[*v, 120.5] for v in c]
    elif how == "multi with an empty part":
        feats[k]["geometry"] = {"type": "MultiLineString", "coordinates": [[], c] if k % 2 else [c, []]}
    elif how == "class null":
        feats[k]["properties"]["highway"] = None
    else:
        feats[k]["properties"]["highway"] = 5
    return write_geojson(path, feats)


def test_hostile_geojson_is_refused_or_read_right(tmp_path_factory, clean_routes):
    """Property: one feature of the toy network damaged (NaN/Infinity/1e300 vertex, one vertex, unreadable
    coordinates, an unknown type, repeated vertices, a zero-length extra line, 3-D, a multi-line with an empty
    part, a null or numeric class) is read with the clean file's minutes or refused in one line naming the file;
    before, NaN/Infinity/1e300 crashed or gave other minutes, an unreadable geometry was counted as 'no geometry'
    and its road vanished, and an empty part raised IndexError."""
    calls = iter(range(10**6))

    @settings(max_examples=30, **_SETTINGS)
    @given(st.sampled_from(sorted(_GJ_DAMAGE)), st.integers(0, len(TOY) - 1))
    @example("NaN vertex", 2)
    @example("Infinity vertex", 2)
    @example("1e300 vertex", 4)
    @example("coordinates garbage", 2)
    @example("type typo", 2)
    @example("coordinates missing", 1)
    @example("multi with an empty part", 2)
    @example("multi with an empty part", 1)
    @example("repeated vertices", 2)
    def check(how, k):
        path = _damage_geojson(tmp_path_factory.mktemp(f"gj{next(calls)}") / "roads.geojson", how, k)
        outcome, got = read_or_refuse(path)
        if _GJ_DAMAGE[how] == "same":
            assert (outcome, got) == ("read", clean_routes), how
        else:
            assert outcome == "refused", (how, got)
            if how.endswith(("vertex", "garbage", "typo", "missing")) and how != "one vertex":
                assert f"feature {k + 1}" in got, got
        _GJ_STATS["examples"] += 1
        _GJ_STATS[outcome] += 1
        event(f"{how}: {outcome}")

    check()
    assert _GJ_STATS["refused"] >= 6 and _GJ_STATS["read"] >= 3, _GJ_STATS


def test_metres_in_a_geojson_without_crs_are_refused(tmp_path):
    """A GeoJSON without a 'crs' member is WGS84 (RFC 7946): TWD97 metres in it are refused, naming the
    features, instead of being projected to infinity (a crash, or garbage nodes)."""
    with pytest.raises(InputError, match=r"roads.geojson features 1, 2, 3, 4, 5: \(230000, 2.72e\+06\) is not a "
                                         r"longitude/latitude"):
        read_network(write_geojson(tmp_path / "roads.geojson", features(), crs=None), cache=False)


# --- oneway and classes ----------------------------------------------------------------------------------

# From the top of C to its bottom and back: forward-only C goes round by D, B, A one way (3.7 min)
UP_DOWN = [(0, 1000), (0, 0)]


def _c_minutes(path, **kw):
    net = read_network(path, cache=False, **kw)
    down = nearest_by_network(net, pts(UP_DOWN[:1]), pts(UP_DOWN[1:]))["minutes"].iloc[0]
    up = nearest_by_network(net, pts(UP_DOWN[1:]), pts(UP_DOWN[:1]))["minutes"].iloc[0]
    return round(down, 6), round(up, 6)


FORWARD, BACKWARD, BOTH = (3.7, 2.0), (2.0, 3.7), (2.0, 2.0)


#: (column, oneway of each toy line, how C is then travelled)
_ONEWAY_CASES = [
    ("oneway", ["", "", "yes", "", ""], FORWARD),
    ("ONEWAY", ["", "", "yes", "", ""], FORWARD),  # before: an upper-case column was not read (both ways)
    ("Oneway", ["", "", "-1", "", ""], BACKWARD),
    ("oneway", [None, 0, 1, 0, 0], FORWARD),  # an integer column with a gap is read as floats: 1.0
    ("oneway", [0, 0, -1, None, 0], BACKWARD),  # before: '-1.0' matched nothing: both ways
    ("oneway", ["B", "B", "T", "B", "B"], BACKWARD),  # Geofabrik: T against the line (before: forward)
    ("oneway", ["B", "B", "F", "B", "B"], FORWARD),  # Geofabrik: F along the line (before: both ways)
    ("oneway", ["", "", "reversible", "", ""], BOTH),
    ("oneway", ["no", "no", "t", "no", "no"], FORWARD),  # t/f as true/false when not Geofabrik's
]


def test_oneway_values_are_read_as_meant(tmp_path):
    """Each coding of oneway turns C the way it means; before, an upper-case column, an integer column with a
    gap and Geofabrik's B/F/T were read as both ways or (T) as along the line."""
    got = []
    for k, (column, values, _) in enumerate(_ONEWAY_CASES):
        feats = features()
        for f, v in zip(feats, values, strict=True):
            f["properties"].pop("oneway")
            f["properties"][column] = v
        got.append(_c_minutes(write_geojson(tmp_path / f"roads{k}.geojson", feats)))
    assert got == [want for *_, want in _ONEWAY_CASES]


@pytest.mark.parametrize("value", ["yes;no", "2", "sometimes", "-2"])
def test_an_oneway_value_of_no_known_meaning_is_refused(tmp_path, value):
    """Before: any value not in the known set was taken as both ways, silently."""
    feats = features()
    feats[2]["properties"]["oneway"] = value
    with pytest.raises(InputError, match=rf"roads.geojson: oneway values of no known meaning: {value} \(1\)"):
        read_network(write_geojson(tmp_path / "roads.geojson", feats), cache=False)


def test_geofabrik_fclass_codes_t_as_against_the_line(tmp_path):
    """Geofabrik's shapefiles (class column fclass) code oneway as B/F/T: T is against the line even when no
    line is B."""
    feats = features()
    for f in feats:
        f["properties"]["fclass"] = f["properties"].pop("highway")
        f["properties"]["oneway"] = "T" if f["properties"]["fclass"] == "residential" else "F"
    down, up = _c_minutes(write_geojson(tmp_path / "roads.geojson", feats))
    assert (down, up)[0] == BACKWARD[0]


def test_classes_differing_by_case_width_or_spacing_take_the_class_speed(tmp_path, clean_routes):
    """Before: 'Primary' or full-width 'ｐｒｉｍａｒｙ' was a class without a speed (an error though the speed is
    known)."""
    for k, written in enumerate(["Primary", "PRIMARY", "ｐｒｉｍａｒｙ", "primary  ", "ＰＲＩＭＡＲＹ"]):
        feats = features()
        feats[0]["properties"]["highway"] = written
        assert read_or_refuse(write_geojson(tmp_path / f"roads{k}.geojson", feats)) == ("read", clean_routes), written


def test_numeric_classes_with_a_gap_are_named_as_written(tmp_path):
    """An integer class column with a blank is read as floats: its classes stay '1', '2' (not '1.0'), and the
    blank is named as such; before, pandas warned on the fill and the classes were '1.0', '2.0'."""
    feats = features()
    for k, f in enumerate(feats):
        f["properties"]["highway"] = None if k == 0 else k % 2 + 1
    path = write_geojson(tmp_path / "roads.geojson", feats)
    with pytest.raises(InputError, match=r"without a speed: \(blank\) \(1\); give"):
        read_network(path, cache=False, speeds={"1": 60, "2": 40})
    net = read_network(path, cache=False, speeds={"1": 60, "2": 40, "": 30})
    assert net.classes == {"": 1, "1": 2, "2": 2}


# --- GeoPackage --------------------------------------------------------------------------------------------

_GPKG_STATS = {"examples": 0, "refused": 0, "read": 0}


def _edit_blob(path, fid, edit):
    con = sqlite3.connect(path)
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        con.execute(f'DROP TRIGGER "{name}"')  # the R-tree triggers call GDAL's SQL functions
    (blob,) = con.execute("SELECT geom FROM roads WHERE fid = ?", (fid,)).fetchone()
    con.execute("UPDATE roads SET geom = ? WHERE fid = ?", (edit(bytes(blob)), fid))
    con.commit()
    con.close()


def test_damaged_geopackage_blobs_are_refused(tmp_path_factory, clean_routes):
    """Property: one geometry blob cut anywhere, its envelope flag changed, or its magic bytes broken is refused
    in one line naming the feature; before, GDAL read it as no geometry and the road vanished (exit 0, counted
    as 'not a road'). A NULL blob is a feature without geometry: counted, the rest read."""
    calls = iter(range(10**6))

    @settings(max_examples=25, **_SETTINGS)
    @given(st.sampled_from(["cut", "envelope", "magic", "null"]), st.integers(1, len(TOY)), st.integers(0, 10**6),
           st.integers(0, 7))
    @example("cut", 3, 10, 0)
    @example("envelope", 3, 0, 0)
    @example("envelope", 3, 0, 2)
    @example("magic", 1, 0, 0)
    @example("null", 4, 0, 0)
    def check(how, fid, cut, flag):
        path = tmp_path_factory.mktemp(f"gpkg{next(calls)}") / "roads.gpkg"
        toy_frame().to_file(path, layer="roads")
        if how == "envelope" and flag == 1:
            flag = 0  # 1 is the envelope GDAL wrote: no damage
        edits = {"cut": lambda b: b[: 8 + cut % (len(b) - 8)], "magic": lambda b: b"XX" + b[2:], "null": lambda b: None,
                 "envelope": lambda b: bytes([*b[:3], (b[3] & 0b11110001) | (flag << 1), *b[4:]])}
        _edit_blob(path, fid, edits[how])
        outcome, got = read_or_refuse(path)
        if how == "null":
            assert outcome == "read" and read_network(path, cache=False).without_geometry == 1
        else:
            assert outcome == "refused" and f"feature {fid}" in got, (how, got)
        _GPKG_STATS["examples"] += 1
        _GPKG_STATS[outcome] += 1
        event(f"{how}: {outcome}")

    check()
    assert _GPKG_STATS["refused"] >= 4 and _GPKG_STATS["read"] >= 1, _GPKG_STATS


def test_geopackage_layers(tmp_path, clean_routes):
    """Two line layers: refused, listing them (before: the first was read, with only a warning); a point layer
    beside the roads: the line layer is read (before: 'expected lines, found Point'); a layer of 0 features: one
    line."""
    two = tmp_path / "two.gpkg"
    toy_frame().iloc[:2].to_file(two, layer="aaa")
    toy_frame().to_file(two, layer="roads")
    with pytest.raises(UnreadableFileError, match=r"two.gpkg: 2 line layers \(aaa, roads\)"):
        read_network(two, cache=False)
    assert routes(read_network(two, cache=False, layer="roads")) == clean_routes
    mixed = tmp_path / "mixed.gpkg"
    gpd.GeoDataFrame({"highway": ["x"]}, geometry=[Point(X0, Y0)], crs=CRS).to_file(mixed, layer="a_points")
    toy_frame().to_file(mixed, layer="roads")
    assert routes(read_network(mixed, cache=False)) == clean_routes
    empty = tmp_path / "empty.gpkg"
    toy_frame().iloc[:0].to_file(empty, layer="roads")
    with pytest.raises(UnreadableFileError, match="empty.gpkg: the layer has no features"):
        read_network(empty, cache=False)


# --- speeds tables -----------------------------------------------------------------------------------------

_SPEEDS = {"primary": 60.0, "tertiary": 40.0, "residential": 30.0, "secondary": 50.0}
_SPEED_STATS = {"examples": 0, "refused": 0, "read": 0}


@st.composite
def hostile_speeds(draw):
    """A speeds table with one hostile change; what must come of it: a dict, or an error naming a row."""
    rows = [f"{c},{v:g}" for c, v in _SPEEDS.items()]
    k = draw(st.integers(0, len(rows) - 1))
    how = draw(st.sampled_from(["stray quote", "quote closing late", "duplicate, other speed", "duplicate, same speed",
                                "case twin, other speed", "full-width twin, other speed", "bad kmh", "blank lines",
                                "bom and crlf"]))
    want: object = dict(_SPEEDS)
    cls = list(_SPEEDS)[k]
    if how == "stray quote":
        rows[k] = draw(st.sampled_from([f'"{rows[k]}', f'{cls},"{_SPEEDS[cls]:g}']))
        want = k + 2
    elif how == "quote closing late":  # a quoted field left open, closed on a later line: never one merged record
        rows[k] = f'"{cls}'
        rows.insert(k + 1, f'x",{_SPEEDS[cls]:g}')
        want = k + 2
    elif how.startswith(("duplicate", "case twin", "full-width")):
        twin = {"duplicate": cls, "case twin": cls.upper(), "full-width twin": "".join(chr(ord(ch) + 0xFEE0)
                                                                                       for ch in cls)}
        speed = _SPEEDS[cls] if how.endswith("same speed") else _SPEEDS[cls] + 7
        rows.append(f"{twin[how.split(',')[0]]},{speed:g}")
        want = dict(_SPEEDS) if how.endswith("same speed") else len(rows) + 1
    elif how == "bad kmh":
        rows[k] = f"{cls},{draw(st.sampled_from(['nan', 'inf', '-inf', '1e400', '0', '-30', '250', 'fast', '']))}"
        want = k + 2
    elif how == "blank lines":
        rows = [r for row in rows for r in (row, "", " , ")]
    event(how)
    text = "class,kmh\n" + "\n".join(rows) + "\n"
    if how == "bom and crlf":
        return ("\ufeff" + text.replace("\n", "\r\n")).encode("utf-8"), want
    return text.encode("utf-8"), want


def test_hostile_speeds_tables(tmp_path):
    """Property: a speeds table with a stray quote, a class given twice (also in upper case or full-width) with
    another speed, a speed of nan/inf/1e400/0/-30/250/text/blank, blank lines, a BOM and CRLF is read as meant
    or refused naming the row; before, a stray quote merged the following rows into one cell and the last of
    two speeds for a class won silently."""
    path = tmp_path / "speeds.csv"

    @settings(max_examples=60, **_SETTINGS)
    @given(hostile_speeds())
    @example((b"class,kmh\nprimary,60\nprimary,30\n", 3))
    @example((b'class,kmh\nprimary,"60\nsecondary,50\n', 2))
    @example(("class,kmh\nprimary,60\nＰＲＩＭＡＲＹ,30\n".encode(), 3))
    def check(case):
        data, want = case
        path.write_bytes(data)
        try:
            got = read_speeds(path)
        except CoverageError as exc:
            assert isinstance(want, int), (data, exc)
            assert f"speeds.csv row {want}:" in str(exc) and "\n" not in str(exc), (data, str(exc))
            outcome = "refused"
        else:
            assert got == want, (data, got)
            outcome = "read"
        _SPEED_STATS["examples"] += 1
        _SPEED_STATS[outcome] += 1

    check()
    assert _SPEED_STATS["refused"] >= 10 and _SPEED_STATS["read"] >= 3, _SPEED_STATS


def test_speeds_in_latin1_name_the_row_and_speeds_given_as_a_dict_are_checked(tmp_path):
    path = tmp_path / "speeds.csv"
    path.write_bytes("class,kmh\nprimary,60\ncafé,20\n".encode("latin-1"))
    with pytest.raises(UnreadableFileError, match=r"speeds.csv: row 3: not UTF-8 \(byte 0xe9\)"):
        read_speeds(path)
    roads = write_geojson(tmp_path / "roads.geojson", features())
    for value, message in ((float("nan"), "kmh nan is not in"), (0, "kmh 0 is not in"), (-5, "kmh -5 is not in"),
                           ("fast", "kmh 'fast' is not a number")):
        with pytest.raises(InputError, match=f"speeds= class 'primary': {message}"):
            read_network(roads, cache=False, speeds={**_SPEEDS, "primary": value})
    with pytest.raises(InputError, match="speeds= classes 'primary' and 'Primary' are one class with two speeds"):
        read_network(roads, cache=False, speeds={**_SPEEDS, "Primary": 20})


def test_network_from_lines_checks_its_input():
    """The library entry point refuses what would build a wrong graph: before, a NaN or 0 speed gave NaN or
    infinite minutes, a negative one negative minutes, a NaN vertex merged unrelated nodes, and an empty line
    shifted every later line's nodes (IndexError or wrong snapping)."""
    lines = gpd.GeoSeries([LineString([(0, 0), (1000, 0)]), LineString([(1000, 0), (1000, 1000)])], crs=CRS)
    for kmh, message in (([60, float("nan")], "kmh= line 2: the speed nan"), ([60, 0], "kmh= line 2: the speed 0"),
                         ([-5, 60], "kmh= line 1: the speed -5"), ([60], "kmh= has 1 speeds for 2 lines")):
        with pytest.raises(InputError, match=message):
            network_from_lines(lines, kmh)
    with pytest.raises(InputError, match="oneway= values must be -1"):
        network_from_lines(lines, [60, 60], [0, 2])
    empty = gpd.GeoSeries([LineString(), *lines], crs=CRS)
    with pytest.raises(InputError, match="lines= line 1: not a LineString"):
        network_from_lines(empty, [60, 60, 60])
    with np.errstate(invalid="ignore"):  # shapely warns building a NaN vertex
        nan = gpd.GeoSeries([LineString([(0, 0), (np.nan, 5)]), *lines], crs=CRS)
    with pytest.raises(InputError, match="lines= line 1: a vertex is not a finite coordinate"):
        network_from_lines(nan, [60, 60, 60])


# --- through the command line --------------------------------------------------------------------------------

runner = CliRunner()


@pytest.mark.parametrize("kind", ["shp part index", "gpkg cut blob", "geojson NaN", "geojson metres as WGS84",
                                  "oneway yes;no", "speeds class twice"])
def test_hostile_road_files_are_one_line_errors_on_the_command_line(tmp_path, kind):
    """nearest and site with --network: exit 1, one `error:` line naming the file, no output written. Python's
    warnings as a planner's run shows them (not errors, as the suite makes them): before, a NaN vertex was then
    an unexpected ValueError, metres under WGS84 a garbage graph, and the rest exit 0."""
    import warnings

    speeds = []
    if kind == "shp part index":
        path = _damage_shapefile(tmp_path, "part index", 0, 0)
    elif kind == "gpkg cut blob":
        path = tmp_path / "roads.gpkg"
        toy_frame().to_file(path, layer="roads")
        _edit_blob(path, 3, lambda b: b[:20])
    elif kind.startswith("geojson"):
        path = _damage_geojson(tmp_path / "roads.geojson", "NaN vertex", 2) if kind == "geojson NaN" else \
            write_geojson(tmp_path / "roads.geojson", features(), crs=None)
    elif kind == "oneway yes;no":
        feats = features()
        feats[1]["properties"]["oneway"] = "yes;no"
        path = write_geojson(tmp_path / "roads.geojson", feats)
    else:
        path = write_geojson(tmp_path / "roads.geojson", features())
        table = tmp_path / "speeds.csv"
        table.write_text("class,kmh\nprimary,60\nsecondary,50\ntertiary,40\nresidential,30\nPrimary,30\n",
                         encoding="utf-8")
        speeds = ["--speeds", table]
    points = tmp_path / "points.csv"
    points.write_text("id,lon,lat\n1,120.8214,24.5602\n2,121.0,24.45\n", encoding="utf-8")
    out = tmp_path / "out"
    commands = [["nearest", points, "-o", out / "near.parquet", "--category", "welfare_centre", "--network", path,
                 *speeds]]
    if kind in ("shp part index", "geojson NaN"):
        commands.append(["site", "-c", "苗栗縣", "--category", "welfare_centre", "--network", path, "--radius-min",
                         "20", "--no-map", "-o", out, *speeds])
    name = (speeds[1] if speeds else path).name
    for args in commands:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = runner.invoke(app, [str(a) for a in args])
        assert result.exit_code == 1, result.output
        lines = [line for line in result.output.splitlines() if line.strip() and not line.startswith("WARNING")]
        assert len(lines) == 1 and lines[0].startswith("error: ") and name in lines[0], result.output
        assert "Traceback" not in result.output and "error: unexpected" not in result.output
        assert not (out / "near.parquet").exists() and not (out / "sites.csv").exists()


# --- OpenStreetMap .osm.pbf --------------------------------------------------------------------------------


def _toy_pbf(path):
    osmium = pytest.importorskip("osmium", reason="osmium (test extra) writes the PBF fixture")
    from pyproj import Transformer

    to_ll = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    writer = osmium.SimpleWriter(str(path))
    ids: dict = {}
    for _, _, coords in TOY:
        for x, y in coords:
            if (x, y) not in ids:
                ids[(x, y)] = len(ids) + 1
                writer.add_node(osmium.osm.mutable.Node(id=ids[(x, y)], location=to_ll.transform(X0 + x, Y0 + y),
                                                        version=1))
    for k, (highway, oneway, coords) in enumerate(TOY, start=1):
        tags = {"highway": highway, **({"oneway": oneway} if oneway else {})}
        writer.add_way(osmium.osm.mutable.Way(id=k, nodes=[ids[c] for c in coords], tags=tags, version=1))
    writer.close()
    return path


def _blobs(raw: bytes) -> list[tuple[int, int, int]]:
    """(start, header bytes, data bytes) of each blob of a PBF: a 4-byte length, a BlobHeader whose field 3 is
    the data size (a varint)."""
    out, at = [], 0
    while at < len(raw):
        n = struct.unpack(">I", raw[at: at + 4])[0]
        header, j, size = raw[at + 4: at + 4 + n], 0, 0
        while j < len(header):
            key = header[j]
            j += 1
            if key & 7 == 2:
                j += 1 + header[j]
            else:
                value = shift = 0
                while True:
                    b = header[j]
                    j += 1
                    value |= (b & 0x7F) << shift
                    shift += 7
                    if not b & 0x80:
                        break
                size = value if key >> 3 == 3 else size
        out.append((at, 4 + n, size))
        at += 4 + n + size
    return out


def test_damaged_osm_pbf_is_one_line(tmp_path, clean_routes):
    """A .osm.pbf cut in the middle of any blob, with a zlib stream overwritten, empty, or holding only its
    header: one line naming the file (GDAL's OSM driver reports the first three; the last said 'expected lines,
    found no geometry' before and now says the layer has no roads). The clean file gives the minutes of the
    GeoJSON within the degrees ↔ metres rounding. A file cut exactly at a blob boundary is a valid smaller file:
    not detectable."""
    path = _toy_pbf(tmp_path / "toy.osm.pbf")
    minutes, fac = routes(read_network(path, cache=False))
    assert fac == clean_routes[1] and np.allclose(minutes, clean_routes[0], rtol=2e-3)
    raw = path.read_bytes()
    blobs = _blobs(raw)
    assert len(blobs) >= 3 and sum(h + d for _, h, d in blobs) == len(raw)
    damaged = {"empty": b"", "header only": raw[: blobs[1][0]]}
    for k, (start, head, size) in enumerate(blobs):
        damaged[f"cut in blob {k}"] = raw[: start + head + size // 2]
        if k:
            data = bytearray(raw)
            data[start + head + size // 2: start + head + size // 2 + 8] = bytes(8)
            damaged[f"zlib of blob {k} overwritten"] = bytes(data)
    for k, (how, data) in enumerate(damaged.items()):
        bad = tmp_path / f"bad{k}.osm.pbf"
        bad.write_bytes(data)
        outcome, message = read_or_refuse(bad)
        assert outcome == "refused", (how, message)
        if how == "header only":
            assert "the layer has no features" in message


def test_an_edited_shapefile_table_is_never_answered_from_the_cache(tmp_path, monkeypatch, clean_routes):
    """The graph cache was keyed by the .shp alone: a road class edited in the .dbf (what a GIS does when only
    attributes change) or another .prj gave the old graph and the old minutes, exit 0. Now every companion file
    is in the key; the .shp's own hash is still the one shown as the network's source."""
    monkeypatch.setenv("SAFETYNET_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "roads.shp"
    toy_frame().to_file(path)
    first = read_network(path)
    assert routes(first) == clean_routes and read_network(path).from_cache
    edited = toy_frame()
    edited.loc[0, "highway"] = "tertiary"  # A at 40 km/h instead of 60
    edited.to_file(tmp_path / "edited.shp")
    path.with_suffix(".dbf").write_bytes((tmp_path / "edited.dbf").read_bytes())
    again = read_network(path)
    assert not again.from_cache and again.classes == {"primary": 1, "residential": 1, "secondary": 1, "tertiary": 2}
    assert routes(again)[0][0] == pytest.approx(1 / 40 * 60 + 1 / 40 * 60)  # A then B, both at 40 km/h
    assert again.source.split(" (sha256 ")[1][:16] == first.source.split(" (sha256 ")[1][:16]


def test_upper_case_shapefile_companions_are_checked_too(tmp_path):
    """ROADS.SHP with ROADS.SHX and ROADS.DBF (older tools write upper case): a .dbf counting 3 of 5 records is
    refused as in lower case; before, 3 roads were read and 2 vanished, exit 0."""
    toy_frame().to_file(tmp_path / "roads.shp")
    for f in list(tmp_path.iterdir()):
        f.rename(tmp_path / f"ROADS{f.suffix.upper()}")
    dbf = tmp_path / "ROADS.DBF"
    data = bytearray(dbf.read_bytes())
    data[4:8] = struct.pack("<I", 3)
    dbf.write_bytes(data)
    with pytest.raises(UnreadableFileError, match="ROADS.DBF holds 3 records and ROADS.SHX 5"):
        read_network(tmp_path / "ROADS.SHP", cache=False)


def test_many_classes_without_a_speed_are_one_short_line(tmp_path):
    """500 unknown classes: the first 20 and the count, not a 10,000-character line."""
    feats = [{"type": "Feature", "properties": {"highway": f"class{k:03d}"},
              "geometry": {"type": "LineString", "coordinates": [[X0 + k, Y0], [X0 + k, Y0 + 10]]}} for k in range(500)]
    with pytest.raises(InputError) as info:
        read_network(write_geojson(tmp_path / "roads.geojson", feats), cache=False)
    message = str(info.value)
    assert "class000 (1), class001 (1)" in message and "class019 (1) … (500 classes)" in message
    assert "class020" not in message and len(message) < 600


def test_a_null_geometry_is_counted_a_damaged_one_refused_in_every_format(tmp_path, clean_routes):
    """The line between the two exclusions: a feature written without geometry (shapefile null record, NULL
    blob, "geometry": null) is counted and the rest routed as before; the same feature with a geometry that
    cannot be read is refused (before: counted the same way, its road gone)."""
    import pandas as pd

    frame = pd.concat([toy_frame(), gpd.GeoDataFrame({"highway": ["primary"], "oneway": [""]}, geometry=[None],
                                                     crs=CRS)], ignore_index=True)
    frame = gpd.GeoDataFrame(frame, geometry="geometry", crs=CRS)
    for suffix in (".shp", ".gpkg", ".geojson"):
        folder = tmp_path / suffix[1:]
        folder.mkdir()
        path = folder / f"roads{suffix}"
        frame.to_file(path, **({"layer": "roads"} if suffix == ".gpkg" else {}))
        net = read_network(path, cache=False)
        assert net.without_geometry == 1 and routes(net) == clean_routes, suffix
        if suffix == ".shp":
            data = bytearray(path.read_bytes())
            data[108 + 40: 108 + 44] = struct.pack("<i", 1000)  # the first record's point count
            path.write_bytes(data)
        elif suffix == ".gpkg":
            _edit_blob(path, 2, lambda b: b[:30])
        else:
            doc = json.loads(path.read_text(encoding="utf-8"))
            doc["features"][1]["geometry"]["type"] = "LineStrin"
            path.write_text(json.dumps(doc), encoding="utf-8")
        outcome, message = read_or_refuse(path)
        assert outcome == "refused" and "damaged" in message and "feature" in message, (suffix, message)
