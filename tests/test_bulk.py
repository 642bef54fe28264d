"""The Dask engine gives exactly the single-machine results, on a local cluster with small partitions."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from coverage.bulk import locate, nearest, read_points
from coverage.errors import InputError
from coverage.geography import load_villages


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(3)
    n = 5000
    return gpd.GeoDataFrame(
        {"id": np.arange(n)},
        geometry=gpd.points_from_xy(rng.uniform(119.9, 122.1, n), rng.uniform(21.8, 25.4, n)),
        crs="EPSG:4326",
        index=pd.RangeIndex(10, 10 + n),
    )


def test_dask_threads_equal_local(points, townships):
    local = locate(points, townships)
    dask = locate(points, townships, engine="dask", npartitions=7)
    pd.testing.assert_frame_equal(dask.sort_index(), local)
    assert local["towncode"].notna().sum() > 1000  # not a vacuous comparison


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # distributed's sockets at shutdown
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_dask_local_cluster_villages_equal_local(points):
    distributed = pytest.importorskip("distributed")
    villages = load_villages()
    local = locate(points, villages, key="villcode")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        remote = locate(points, villages, key="villcode", engine="dask", npartitions=9, client=client)
    pd.testing.assert_frame_equal(remote.sort_index(), local)


def test_lazy_parquet_points(tmp_path, points, townships):
    path = tmp_path / "points.parquet"
    points.to_parquet(path)
    lazy = read_points(path, lazy=True, npartitions=3)
    assert hasattr(lazy, "map_partitions")
    result = locate(lazy, townships, engine="dask")
    pd.testing.assert_frame_equal(result.sort_index(), locate(points, townships))


def test_cli_locate(tmp_path, points):
    from typer.testing import CliRunner

    from coverage.cli import app

    src = tmp_path / "pts.parquet"
    points.to_parquet(src)
    for engine in ("local", "dask"):
        out = tmp_path / f"{engine}.parquet"
        r = CliRunner().invoke(app, ["locate", str(src), "--engine", engine, "--level", "village", "--out", str(out)])
        assert r.exit_code == 0, r.output
    a, b = pd.read_parquet(tmp_path / "local.parquet"), pd.read_parquet(tmp_path / "dask.parquet")
    pd.testing.assert_frame_equal(a, b)
    assert {"villcode", "towncode", "snapped"} <= set(a.columns)


def test_csv_points_and_errors(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("lon,lat\n120.55,23.52\n", encoding="utf-8")
    assert len(read_points(path)) == 1
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="lon/lat"):
        read_points(path)
    with pytest.raises(InputError, match="engine must be one of local, dask"):
        locate(gpd.GeoDataFrame(geometry=[]), None, engine="spark")


@pytest.fixture(scope="module")
def seed_facilities(townships):
    from coverage.datasets import get_path
    from coverage.facilities import read_facilities

    return read_facilities(get_path("seed_registry"), townships=townships).facilities


def test_nearest_oracle(townships, seed_facilities):
    """Hand-checked: a point at a facility is 0 km from it; distances equal a brute-force minimum."""
    fac = seed_facilities[seed_facilities["category"] == "community_support_point"]
    here = fac.iloc[[0]]
    pts = gpd.GeoDataFrame(geometry=[*here.geometry, gpd.points_from_xy([120.8], [23.47])[0]],
                           crs="EPSG:4326", index=["at", "alishan"])
    out = nearest(pts, seed_facilities, townships, categories=["community_support_point"])
    at = out.set_index("point").loc["at"]
    assert at["distance_km"] == pytest.approx(0, abs=1e-6) and at["facility_name"] == here["name"].iloc[0]
    # both points are on the main island: facilities on other islands do not count
    main_island = fac[fac["towncode"].isin(townships.loc[~townships["island"], "towncode"])].to_crs(3826)
    brute = main_island.distance(pts.to_crs(3826).geometry["alishan"]).min() / 1000
    assert out.set_index("point").loc["alishan", "distance_km"] == pytest.approx(brute, rel=1e-9)


@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_nearest_dask_cluster_equals_local(points, townships, seed_facilities):
    distributed = pytest.importorskip("distributed")
    local = nearest(points, seed_facilities, townships)
    # about half the points are at sea (outside); the seed registry covers a few counties only
    assert local["distance_km"].notna().sum() > 400 and local["category"].nunique() >= 3
    assert local["distance_km"].isna().eq(local["status"].ne("located") | local["reason"].ne("")).all()
    threads = nearest(points, seed_facilities, townships, engine="dask", npartitions=6)
    pd.testing.assert_frame_equal(threads, local)
    across = nearest(points, seed_facilities, townships, across_counties=True)
    assert across["distance_km"].notna().sum() > 4 * local["distance_km"].notna().sum()
    pd.testing.assert_frame_equal(nearest(points, seed_facilities, townships, across_counties=True, engine="dask",
                                          npartitions=5), across)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        remote = nearest(points, seed_facilities, townships, engine="dask", npartitions=11, client=client)
    pd.testing.assert_frame_equal(remote, local)


def test_cli_nearest(tmp_path, points):
    from typer.testing import CliRunner

    from coverage.cli import app

    src = tmp_path / "pts.parquet"
    points.iloc[:500].to_parquet(src)
    frames = []
    for engine in ("local", "dask"):
        out = tmp_path / f"n-{engine}.parquet"
        r = CliRunner().invoke(app, ["nearest", str(src), "--engine", engine, "--category", "小衛星",
                                     "--as-of", "2024-01-01", "--out", str(out)])
        assert r.exit_code == 0, r.output
        assert "community_support_point: median" in r.output
        frames.append(pd.read_parquet(out))
    pd.testing.assert_frame_equal(*frames)
    assert set(frames[0]["category"]) == {"community_support_point"} and len(frames[0]) == 500


# ----------------------------------------------------------------------------- bad rows, outside points, own columns

HAND_MADE = (
    "id,address,lon,lat\n"
    "007,嘉義縣太保市祥和一路東段1號,120.38,23.47\n"  # row 2: 太保市
    "8,text,abc,23.4\n"  # row 3
    "9,blank,,\n"  # row 4
    "10,Tokyo,139.69,35.69\n"  # row 5: outside Taiwan
    "11,NaN,nan,23\n"  # row 6
    "12,swapped,23.5,120.5\n"  # row 7
    "13,inf,inf,23\n"  # row 8
    '14,"阿里山鄉, with a comma",120.80,23.47\n'  # row 9: 阿里山鄉
)


def test_bad_rows_rejected_outside_points_get_no_distance(tmp_path, townships, seed_facilities):
    """Hand-made: each bad row rejected with its reason and row number; Tokyo outside and without a
    distance (it was 2,299 km from a 社福中心); the input's columns kept as written (id 007)."""
    from coverage.bulk import point_rejections
    from coverage.rejections import REJECTED_COLUMNS, rejected_rows

    path = tmp_path / "pts.csv"
    path.write_text(HAND_MADE, encoding="utf-8")
    pts = read_points(path)
    assert pts.index.tolist() == [2, 3, 4, 5, 6, 7, 8, 9]
    located = locate(pts, townships)
    assert located.columns.tolist()[:4] == ["id", "address", "lon", "lat"]
    assert located["id"].tolist() == ["007", "8", "9", "10", "11", "12", "13", "14"]
    assert located["status"].tolist() == ["located", "rejected", "rejected", "outside", "rejected", "rejected",
                                          "rejected", "located"]
    assert located.loc[2, "towncode"] == townships.set_index("township").loc["太保市", "towncode"]
    assert pd.isna(located.loc[5, "towncode"]) and "outside Taiwan" in located.loc[5, "reason"]
    rej = point_rejections(pts, file="pts.csv")
    assert rej.columns.tolist() == REJECTED_COLUMNS and rejected_rows(rej) == 5
    reasons = dict(zip(zip(rej["row"], rej["field"], strict=True), rej["reason"], strict=True))
    assert reasons[(3, "lon")] == "lon 'abc' is not a number"
    assert reasons[(4, "lon")] == "lon is blank" and reasons[(4, "lat")] == "lat is blank"
    assert "not a finite number" in reasons[(6, "lon")] and "not a finite number" in reasons[(8, "lon")]
    assert "swapped" in reasons[(7, "lat")]
    near = nearest(pts, seed_facilities, townships, categories=["welfare_centre"])
    assert near["point"].tolist() == pts.index.tolist() and near["address"].tolist() == pts["address"].tolist()
    tokyo = near.set_index("point").loc[5]
    assert tokyo["status"] == "outside" and np.isnan(tokyo["distance_km"]) and pd.isna(tokyo["facility_name"])
    assert near["distance_km"].max() < 100  # no point drives the maximum from abroad
    # 太保市 is served by its own county's centre (水上鄉), not by 嘉義市's nearer one
    taibao = near.set_index("point").loc[2]
    assert taibao["facility_name"].startswith("嘉義縣") and taibao["facility_towncode"].startswith("10010")
    across = nearest(pts, seed_facilities, townships, categories=["welfare_centre"], across_counties=True)
    assert across.set_index("point").loc[2, "facility_name"].startswith("嘉義市")
    assert across.set_index("point").loc[2, "distance_km"] < taibao["distance_km"]
    assert np.isnan(across.set_index("point").loc[5, "distance_km"])


def test_county_without_the_programme_gets_no_distance(townships, seed_facilities):
    """阿里山鄉 has no 心衛中心 in its county: no distance (not 73 km to 臺中市) unless across counties."""
    pts = gpd.GeoDataFrame({"name": ["阿里山"]}, geometry=gpd.points_from_xy([120.80], [23.47]), crs="EPSG:4326")
    own = nearest(pts, seed_facilities, townships, categories=["mental_health_centre"]).iloc[0]
    assert np.isnan(own["distance_km"]) and own["status"] == "located"
    assert own["reason"] == "no open point of this programme of the point's own county (嘉義縣)"
    across = nearest(pts, seed_facilities, townships, categories=["mental_health_centre"],
                     across_counties=True).iloc[0]
    assert across["facility_name"].startswith("臺中市") and across["distance_km"] > 50 and across["reason"] == ""


def test_geometry_inputs_rejected_by_geometry(townships):
    """In-memory points: missing, empty, non-point, non-finite and out-of-range geometries are rejected."""
    from shapely.geometry import Point, Polygon

    from coverage.bulk import point_rejections

    geoms = [Point(120.33, 23.46), None, Point(), Polygon([(120, 23), (121, 23), (121, 24)]),
             Point(float("inf"), 23), Point(200, 23), Point(0, 0)]
    pts = gpd.GeoDataFrame({"status": list("abcdefg")}, geometry=geoms, crs="EPSG:4326")
    out = locate(pts, townships)
    assert out["input_status"].tolist() == list("abcdefg")  # the input's own `status` column is kept, renamed
    assert out["status"].tolist() == ["located", *["rejected"] * 5, "outside"]
    rej = point_rejections(pts)
    assert rej["row"].tolist() == [2, 3, 4, 5, 6]  # position + 1: the index is not file row numbers
    assert rej["reason"].tolist() == ["no geometry", "the geometry is empty", "geometry is a Polygon; expected a Point",
                                      "coordinates are not finite numbers",
                                      "coordinates are out of range (longitude −180…180, latitude −90…90)"]
    projected = pts.iloc[[0, 6]].to_crs(3826)
    assert locate(projected, townships)["status"].tolist() == ["located", "outside"]


def test_cli_writes_rejections_beside_the_output(tmp_path):
    from typer.testing import CliRunner

    from coverage.cli import app
    from coverage.rejections import REJECTED_COLUMNS

    src = tmp_path / "pts.csv"
    src.write_text(HAND_MADE, encoding="utf-8")
    out = tmp_path / "out" / "near.parquet"
    r = CliRunner().invoke(app, ["nearest", str(src), "--category", "社福中心", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "8 rows: 2 located, 1 outside Taiwan (no township, no distance), 5 rejected" in r.output
    rejected = pd.read_csv(tmp_path / "out" / "near.rejected.csv", encoding="utf-8-sig")
    assert rejected.columns.tolist() == REJECTED_COLUMNS and sorted(set(rejected["row"])) == [3, 4, 6, 7, 8]
    table = pd.read_parquet(out)
    assert table["id"].tolist()[:2] == ["007", "8"] and table["status"].tolist()[3] == "outside"
    r = CliRunner().invoke(app, ["locate", str(src), "--level", "village", "--out", str(tmp_path / "loc.parquet")])
    assert r.exit_code == 0, r.output
    loc = pd.read_parquet(tmp_path / "loc.parquet")
    assert loc.columns.tolist()[:7] == ["id", "address", "lon", "lat", "villcode", "towncode", "snapped"]
    assert (tmp_path / "loc.rejected.csv").exists()


# Hypothesis: rows of a points CSV, each of a known kind.
_TOWNS_LONLAT: list[tuple[float, float]] = []


def _inside_points() -> list[tuple[float, float]]:
    if not _TOWNS_LONLAT:
        from coverage.geography import load_townships

        towns = load_townships()
        rep = towns.geometry.to_crs(3826).representative_point().to_crs(4326)
        _TOWNS_LONLAT.extend(zip(rep.x.round(7), rep.y.round(7), strict=True))
    return _TOWNS_LONLAT


_OUTSIDE = [(139.69, 35.69), (121.0, 14.6), (0.0, 0.0), (-74.0, 40.7), (123.5, 21.0), (150.0, -60.0)]
_bad_number = st.sampled_from(["abc", "", " ", "nan", "NaN", "inf", "-inf", "1e400", "12,3,4", "１２０度", "--5"])
_out_of_range = st.sampled_from([(200.0, 23.0), (120.0, 95.0), (23.5, 120.5), (-181.0, 0.0), (0.0, -90.5)])
_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r\n"), max_size=12)

row_kinds = st.one_of(
    st.tuples(st.just("valid"), st.integers(0, 367)),
    st.tuples(st.just("outside"), st.sampled_from(_OUTSIDE)),
    st.tuples(st.just("text_lon"), _bad_number),
    st.tuples(st.just("text_lat"), _bad_number),
    st.tuples(st.just("range"), _out_of_range),
)
EXPECTED = {"valid": "located", "outside": "outside", "text_lon": "rejected", "text_lat": "rejected",
            "range": "rejected"}
_seen: dict[str, int] = {}


def _cells(kind, arg) -> tuple[str, str]:
    if kind == "valid":
        lon, lat = _inside_points()[arg]
        return repr(lon), repr(lat)
    if kind in ("outside", "range"):
        return repr(arg[0]), repr(arg[1])
    return (arg, "23.5") if kind == "text_lon" else ("120.5", arg)


@settings(max_examples=40, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate])  # ~1 s each
@given(rows=st.lists(st.tuples(row_kinds, _text.map(lambda t: t[:6]), _text), min_size=1, max_size=12),
       order=st.sampled_from([("id", "lon", "lat", "address"), ("lat", "address", "id", "lon")]))
def test_points_csv_rows_balance(tmp_path_factory, townships, seed_facilities, rows, order):
    """Any mix of valid, text, blank, NaN, inf, out-of-range and outside-Taiwan rows: rows in ==
    located + outside + rejected; each row gets its kind's status; no distance for outside or
    rejected rows; the input's columns come back in order with the values written."""
    import csv

    from hypothesis import event

    from coverage.bulk import point_rejections
    from coverage.rejections import rejected_rows

    path = tmp_path_factory.mktemp("pts") / "pts.csv"
    written = []
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(order)
        for (kind, arg), ident, address in rows:
            lon, lat = _cells(kind, arg)
            cells = {"id": ident, "lon": lon, "lat": lat, "address": address}
            written.append(cells)
            out.writerow([cells[c] for c in order])
            event(kind)
            _seen[kind] = _seen.get(kind, 0) + 1
    pts = read_points(path)
    located = locate(pts, townships)
    status = located["status"].tolist()
    counts = {s: status.count(s) for s in ("located", "outside", "rejected")}
    assert len(rows) == len(located) == sum(counts.values())
    assert status == [EXPECTED[kind] for (kind, _), _, _ in rows]
    assert rejected_rows(point_rejections(pts, file="pts.csv")) == counts["rejected"]
    assert located.columns.tolist()[:4] == list(order)
    for c in order:  # pandas reads a CSV's text back as written (csv module quoting)
        assert located[c].tolist() == [w[c] for w in written]
    near = nearest(pts, seed_facilities, townships, categories=["welfare_centre"], across_counties=True,
                   cross_sea=True)
    assert near.columns.tolist()[:4] == list(order) and len(near) == len(rows)
    has_distance = near["distance_km"].notna()
    assert not has_distance[near["status"] != "located"].any()
    # across counties and the sea, every located point has a distance
    assert (has_distance == (near["status"] == "located")).all()
    _seen["asserted"] = _seen.get("asserted", 0) + 1


def test_points_csv_rows_balance_reached_every_kind():
    """The property test above ran its asserts, on every kind of row (pytest runs tests in file order)."""
    if not _seen:
        pytest.skip("run together with test_points_csv_rows_balance")
    assert _seen.get("asserted", 0) >= 20
    assert {k: _seen.get(k, 0) > 0 for k in EXPECTED} == dict.fromkeys(EXPECTED, True)


def test_dask_engine_keeps_rows_and_rejections(tmp_path, townships, seed_facilities):
    """The Dask engine gives the local results for bad rows too, and the same rejection table."""
    from coverage.bulk import point_rejections

    path = tmp_path / "pts.csv"
    path.write_text(HAND_MADE, encoding="utf-8")
    pts = read_points(path)
    pd.testing.assert_frame_equal(locate(pts, townships, engine="dask", npartitions=3).sort_index(),
                                  locate(pts, townships))
    pd.testing.assert_frame_equal(nearest(pts, seed_facilities, townships, engine="dask", npartitions=3),
                                  nearest(pts, seed_facilities, townships))
    import dask_geopandas

    lazy = dask_geopandas.from_geopandas(pts, npartitions=3)
    pd.testing.assert_frame_equal(point_rejections(lazy, file="pts.csv"), point_rejections(pts, file="pts.csv"))
    assert len(point_rejections(lazy, file="pts.csv")) == 6


def test_personal_columns_are_not_written(tmp_path, townships, seed_facilities):
    """The input's own columns come back, but not those about a person (unless named public)."""
    from typer.testing import CliRunner

    from coverage.cli import app

    path = tmp_path / "households.csv"
    path.write_text("id,聯絡人,電話,address,lon,lat\nA1,王小明,0912345678,嘉義縣太保市,120.38,23.47\n",
                    encoding="utf-8")
    pts = read_points(path)
    out = locate(pts, townships)
    assert out.columns.tolist()[:4] == ["id", "address", "lon", "lat"]
    assert "王小明" not in out.to_string() and "0912345678" not in out.to_string()
    kept = nearest(pts, seed_facilities, townships, public_columns=["聯絡人"])
    assert kept.columns.tolist()[:5] == ["id", "聯絡人", "address", "lon", "lat"] and "電話" not in kept
    target = tmp_path / "o.parquet"
    r = CliRunner().invoke(app, ["locate", str(path), "--out", str(target)])
    assert r.exit_code == 0, r.output
    assert "personal columns not written: 聯絡人, 電話" in r.output
    assert b"0912345678" not in target.read_bytes() and "王小明".encode() not in target.read_bytes()


@pytest.mark.parametrize("text", [
    'id,lon,lat\n"2,x\n3",120.6,23.6\n4,120.7,23.7\n',  # a merged record with row 3's coordinates
    'id,lon,lat\n1,120.3,23.4\r2,"x\r\n3",23.6\n',
])
def test_open_quote_refused_not_merged(tmp_path, text):
    """A quote left open never merges rows silently: the file is refused with one line naming it."""
    path = tmp_path / "quote.csv"
    path.write_text(text, encoding="utf-8", newline="")
    with pytest.raises(InputError, match=r"quote.csv.*data lines but .* records: a quote"):
        read_points(path)


def test_blank_lines_and_line_endings_are_not_rows(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("lon,lat\r\n120.3,23.4\r\n\r\n   \n,\r120.5,23.5", encoding="utf-8", newline="")
    pts = read_points(path)
    assert len(pts) == 3 and pts.index.tolist() == [2, 5, 6]  # blank lines skipped; `,` is a (blank) row
    from coverage.bulk import point_rejections

    assert point_rejections(pts)["row"].tolist() == [5, 5]  # its line in the file


def test_land_from_township_equals_land_of(townships):
    """Island membership taken from the located township (land_per_township) is the land mass a geometric
    query finds, on coasts and multi-island townships; only snapped points and multi-island townships are
    left to the query. The examples' counts are asserted in the same test, so it does not depend on the
    order tests run in (a counter asserted by another test failed when that test ran alone)."""
    from hypothesis import event

    from coverage.access import land_masses, land_of
    from coverage.bulk import land_per_township
    from coverage.geography import locate_points

    lands = land_masses(townships)
    town_land = land_per_township(townships, lands)
    assert (town_land == -1).sum() >= 1 and (town_land >= 0).sum() > 300  # some townships span islands
    seen = {"checked": 0, "islands": 0}

    @settings(max_examples=25, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate])
    @given(seed=st.integers(0, 2**32 - 1), county=st.sampled_from(["澎湖縣", "金門縣", "連江縣", "屏東縣", "臺東縣",
                                                                   "新北市", "基隆市"]))
    def check(seed, county):
        rng = np.random.default_rng(seed)
        minx, miny, maxx, maxy = townships[townships["county"] == county].total_bounds
        n = 3000
        pts = gpd.GeoSeries(gpd.points_from_xy(rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)), crs=4326)
        found = locate_points(pts, townships)
        town = pd.Index(townships["towncode"]).get_indexer(found["towncode"].to_numpy(dtype=object))
        fast = (town >= 0) & ~found["snapped"].to_numpy()
        fast &= town_land[np.maximum(town, 0)] >= 0
        proj = np.asarray(pts[fast].to_crs(3826).values)
        assert (land_of(proj, lands) == town_land[town[fast]]).all()
        seen["checked"] += int(fast.sum())
        seen["islands"] += int((town_land[np.maximum(town, 0)][town >= 0] == -1).sum())
        event(f"points decided by township: {'some' if fast.any() else 'none'}")

    check()
    assert seen["checked"] > 10_000 and seen["islands"] > 100


@pytest.mark.parametrize("grow_m", [0.0, -500.0, 300.0])
def test_land_per_township_equals_pairwise_intersects(townships, grow_m):
    """land_per_township (one tree query over the townships, land masses as the input) gives each township the
    one land mass it intersects, tested pair by pair, and −1 where it intersects several or none; land masses
    shrunk or grown by ``grow_m`` make their outlines cross townships, so both −1 cases are reached."""
    import shapely

    from coverage.access import land_masses
    from coverage.bulk import land_per_township

    lands = land_masses(townships)
    if grow_m:
        lands = shapely.get_parts(shapely.buffer(lands, grow_m))
    proj = np.asarray(townships.geometry.to_crs(3826).values)
    hits = [np.flatnonzero(shapely.intersects(lands, town)) for town in proj]
    want = np.array([h[0] if len(h) == 1 else -1 for h in hits], dtype=np.int64)
    got = land_per_township(townships, lands)
    np.testing.assert_array_equal(got, want)
    assert (got >= 0).sum() > 300 and any(len(h) > 1 for h in hits)
    if grow_m < 0:  # islets smaller than the shrinking vanish: townships on no land mass
        assert any(len(h) == 0 for h in hits)


def test_nearest_same_whatever_the_row_order(points, townships, seed_facilities):
    """Rows come out by category then point, whether the input index is sorted (no sort done) or not."""
    ordered = nearest(points, seed_facilities, townships)
    shuffled = nearest(points.sample(frac=1, random_state=2), seed_facilities, townships)
    pd.testing.assert_frame_equal(shuffled, ordered)
    assert ordered["point"].is_monotonic_increasing is False  # one block per category
    first = ordered[ordered["category"] == ordered["category"].iloc[0]]
    assert first["point"].is_monotonic_increasing and len(first) == len(points)


def test_locate_parquet_in_batches_equals_locate(tmp_path, points, townships):
    """Streaming a GeoParquet file batch by batch gives the rows locate gives on the whole table, and the
    counts balance: rows = located + outside + rejected."""
    from coverage.bulk import locate_parquet

    pts = points.reset_index(drop=True).copy()
    pts.loc[[3, 1234], "geometry"] = None  # rejected rows, in two different batches
    src = tmp_path / "points.parquet"
    pts.to_parquet(src, row_group_size=700)
    counts = locate_parquet(src, tmp_path / "out", townships, batch_rows=1000)
    parts = sorted((tmp_path / "out").glob("part-*.parquet"))
    assert len(parts) == 5  # 5,000 rows in batches of 1,000
    streamed = pd.concat([gpd.read_parquet(p) for p in parts])
    whole = pts.copy()
    whole.index = pd.RangeIndex(1, len(pts) + 1, name="row")
    expected = locate(whole, townships)
    expected.to_parquet(tmp_path / "whole.parquet")  # the same round trip through Parquet
    pd.testing.assert_frame_equal(streamed, gpd.read_parquet(tmp_path / "whole.parquet"))
    assert counts == {"rows": 5000, "located": int((expected["status"] == "located").sum()),
                      "outside": int((expected["status"] == "outside").sum()), "rejected": 2}
    rejected = pd.read_csv(tmp_path / "out" / "rejected.csv", encoding="utf-8-sig")
    assert rejected["row"].tolist() == [4, 1235] and set(rejected["file"]) == {"points.parquet"}
    with pytest.raises(InputError, match="batch_rows="):
        locate_parquet(src, tmp_path / "o2", townships, batch_rows=0)


def test_nearest_text_columns_are_objects_with_none(points, townships, seed_facilities):
    """The local engine builds its text columns directly (no conversion pass): objects, None where missing —
    value for value what the dask engine's conversion gives, NaN nowhere."""
    local = nearest(points, seed_facilities, townships)
    dask_ = nearest(points, seed_facilities, townships, engine="dask", npartitions=3)
    text = ["towncode", "status", "reason", "category", "facility_id", "facility_name", "facility_towncode"]
    missing = 0
    for col in text:
        assert local[col].dtype == object
        values = local[col].tolist()
        assert all(v is None or isinstance(v, str) for v in values), col
        assert values == dask_[col].tolist(), col  # NaN != NaN: a NaN anywhere would fail here
        missing += sum(v is None for v in values)
    assert missing > 1000  # outside points and points without a facility reached the check


def test_point_lands_equal_land_of(townships):
    """Points of multi-island townships and snapped points are placed on land masses by a prepared test
    (and the nearest land mass off the coast): the answer of the reference query land_of. The examples'
    counts are asserted here, whatever order the tests run in."""
    from hypothesis import event

    from coverage import bulk
    from coverage.access import land_masses, land_of
    from coverage.geography import locate_points

    lands = land_masses(townships)
    town_land = bulk.land_per_township(townships, lands)
    seen = {"geometric": 0, "sea": 0}

    @settings(max_examples=12, deadline=None)
    @given(seed=st.integers(0, 2**32 - 1), county=st.sampled_from(["澎湖縣", "金門縣", "連江縣", "屏東縣", "臺東縣"]))
    def check(seed, county):
        rng = np.random.default_rng(seed)
        minx, miny, maxx, maxy = townships[townships["county"] == county].total_bounds
        pts = gpd.GeoSeries(gpd.points_from_xy(rng.uniform(minx, maxx, 2000), rng.uniform(miny, maxy, 2000)),
                            crs=4326)
        found = locate_points(pts, townships)
        town = pd.Index(townships["towncode"]).get_indexer(found["towncode"].to_numpy(dtype=object))
        ok = town >= 0
        proj = pts[ok].to_crs(3826)
        x, y = proj.x.to_numpy(), proj.y.to_numpy()
        snapped = found["snapped"].to_numpy()[ok]
        got = bulk._point_lands(x, y, town[ok], snapped, lands, town_land)
        assert (got == land_of(np.asarray(proj.values), lands)).all()
        seen["geometric"] += int((town_land[town[ok]] < 0).sum())
        seen["sea"] += int(snapped.sum())
        event(f"snapped points: {'some' if snapped.any() else 'none'}")

    check()
    assert seen["geometric"] > 100 and seen["sea"] > 10


def test_nearest_of_two_centres_in_one_building_is_the_first_listed(townships):
    """The bundled registry lists 板橋第一 and 板橋第二社會福利服務中心 at one address (rows 15 and 16): points around
    it are given the first listed, by straight line (here) and by road (tests/test_network.py, property test)."""
    import coverage

    reg = coverage.read_facilities(coverage.get_path("registry")).facilities
    pair = reg[reg["name"].isin(["板橋第一社會福利服務中心", "板橋第二社會福利服務中心"])]
    assert pair["name"].tolist() == ["板橋第一社會福利服務中心", "板橋第二社會福利服務中心"]
    at = pair.geometry.to_crs(3826).iloc[0]
    assert pair.geometry.to_crs(3826).iloc[1].equals(at)
    around = gpd.GeoDataFrame({"id": range(4)}, geometry=gpd.GeoSeries.from_xy(
        at.x + np.array([40.0, -40.0, 0.0, 25.0]), at.y + np.array([0.0, 30.0, -60.0, 25.0]), crs=3826).to_crs(4326))
    got = nearest(around, reg, townships)
    got = got[got["category"] == "welfare_centre"]
    assert got["facility_name"].tolist() == ["板橋第一社會福利服務中心"] * 4
