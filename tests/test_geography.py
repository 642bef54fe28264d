"""Bundled boundaries, classification flags, point location, user boundary files."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from coverage.datasets import available, get_path
from coverage.errors import DataFileNotFoundError, UnreadableFileError
from coverage.geography import (
    COUNTY_ORDER,
    FLAGS,
    classify_geometry,
    counties,
    load_boundaries,
    load_villages,
    locate_points,
)


def names(t, county, flag):
    return set(t.loc[(t.county == county) & t[flag], "township"])


def test_counts(townships):
    assert len(townships) == 368
    assert townships["towncode"].is_unique
    assert len(load_villages()) == 7701
    c = counties(townships)
    assert len(c) == 22 and set(c["county"]) == set(COUNTY_ORDER)
    assert c.set_index("county").loc["嘉義縣", "townships"] == 18
    assert c.set_index("county").loc["臺中市", "townships"] == 29


def test_official_names_use_tai(townships):
    for col in ("county", "township"):
        assert not townships[col].str.contains("台").any()
    assert "臺中市" in set(townships["county"])
    assert (townships["county"] + townships["township"]).str.contains("屏東縣霧臺鄉").any()
    villages = load_villages()
    assert not villages["village"].str.contains("台").any()
    assert villages["villcode"].str.len().eq(11).all()
    assert villages["towncode"].isin(townships["towncode"]).all()


def test_coastal_exact(townships):
    assert names(townships, "嘉義縣", "coastal") == {"東石鄉", "布袋鎮"}
    assert names(townships, "臺中市", "coastal") == {"大甲區", "大安區", "清水區", "梧棲區", "龍井區"}
    assert names(townships, "南投縣", "coastal") == set()


def test_island_exact(townships):
    islands = townships[townships["island"]]
    assert len(islands) == 19
    assert islands.groupby("county").size().to_dict() == {
        "澎湖縣": 6, "金門縣": 6, "連江縣": 4, "屏東縣": 1, "臺東縣": 2
    }
    assert {"琉球鄉", "綠島鄉", "蘭嶼鄉"} <= set(islands["township"])
    assert islands["coastal"].all()


def test_reference_flags(townships):
    assert townships["mountain_indigenous"].sum() == 30
    assert townships["plain_indigenous"].sum() == 25
    assert not (townships["mountain_indigenous"] & townships["plain_indigenous"]).any()
    assert names(townships, "嘉義縣", "mountain_indigenous") == {"阿里山鄉"}
    assert names(townships, "臺東縣", "mountain_indigenous") == {"海端鄉", "延平鄉", "金峰鄉", "達仁鄉", "蘭嶼鄉"}
    assert names(townships, "花蓮縣", "plain_indigenous") == {
        "花蓮市", "鳳林鎮", "玉里鎮", "新城鄉", "吉安鄉", "壽豐鄉", "光復鄉", "豐濱鄉", "瑞穗鄉", "富里鄉"
    }
    assert names(townships, "嘉義縣", "county_remote") == {"阿里山鄉", "竹崎鄉", "梅山鄉", "東石鄉", "布袋鎮"}
    assert townships["county_remote"].sum() == 5


def test_reference_codes_match_boundaries(townships):
    """Each reference list's TOWNCODE agrees with the names it gives (guards typos in geodata/)."""
    from coverage.geography import to_official

    lookup = dict(zip(townships["towncode"], townships["county"] + townships["township"], strict=True))
    for ref in ("mountain_indigenous", "plain_indigenous", "offshore_islands", "county_remote"):
        table = pd.read_csv(get_path(ref), dtype=str, comment="#")
        for row in table.itertuples():
            assert lookup[row.TOWNCODE] == to_official(row.COUNTYNAME) + to_official(row.TOWNNAME), (ref, row)


def test_offshore_reference_agrees_with_computed_islands(townships):
    listed = set(pd.read_csv(get_path("offshore_islands"), dtype=str, comment="#")["TOWNCODE"])
    computed = set(townships.loc[townships["island"], "towncode"])
    assert computed - listed == set(townships.loc[townships["township"] == "蘭嶼鄉", "towncode"])
    assert listed <= computed


@pytest.mark.parametrize(
    ("lon", "lat", "expected"),
    [
        (120.8030, 23.4530, "阿里山鄉"),  # 阿里山 area
        (120.4665, 23.4825, "東區"),  # 嘉義市 嘉義公園
        (121.5645, 25.0340, "信義區"),  # 臺北 101
        (118.3200, 24.4320, "金城鎮"),  # 金門
        (119.5660, 23.5680, "馬公市"),  # 澎湖
    ],
)
def test_locate_known_points(townships, lon, lat, expected):
    pts = gpd.GeoSeries([Point(lon, lat)], crs="EPSG:4326", index=[7])
    found = locate_points(pts, townships)
    assert list(found.index) == [7]
    code = found.loc[7, "towncode"]
    assert townships.set_index("towncode").loc[code, "township"] == expected
    assert not found.loc[7, "snapped"]


def test_locate_outside_and_near_shore(townships):
    """Mid-strait is nowhere; 300 m off 布袋鎮's shore, due west of its centre, snaps to 布袋鎮."""
    from shapely.geometry import LineString

    budai = townships[townships["township"] == "布袋鎮"].to_crs("EPSG:3826").geometry.iloc[0]
    y = budai.representative_point().y
    shore_x = budai.intersection(LineString([(100000, y), (300000, y)])).bounds[0]
    offshore = gpd.GeoSeries([Point(shore_x - 300, y)], crs="EPSG:3826").to_crs("EPSG:4326").iloc[0]
    found = locate_points(gpd.GeoSeries([Point(120.0, 24.0), offshore], crs="EPSG:4326"), townships)
    assert pd.isna(found["towncode"].iloc[0]) and not found["snapped"].iloc[0]
    assert found["snapped"].iloc[1]
    assert townships.set_index("towncode").loc[found["towncode"].iloc[1], "township"] == "布袋鎮"


def test_locate_many_points_matches_sjoin(townships):
    rng = np.random.default_rng(1)
    pts = gpd.GeoSeries(gpd.points_from_xy(rng.uniform(120, 122, 3000), rng.uniform(22, 25.3, 3000)), crs="EPSG:4326")
    ours = locate_points(pts, townships)
    ref = gpd.sjoin(gpd.GeoDataFrame(geometry=pts), townships[["towncode", "geometry"]], predicate="within")
    ref = ref[~ref.index.duplicated()]["towncode"]
    inside = ours.loc[ref.index]
    assert (inside["towncode"] == ref).all()
    assert not inside["snapped"].any()


def test_locate_shared_boundary_goes_to_lowest_code():
    """Points on a shared edge or corner go to the lowest code, whatever the polygon order."""
    from shapely.geometry import box

    # codes deliberately not in row order: the row order must not decide ties
    polys = gpd.GeoDataFrame(
        {"towncode": ["T3", "T1", "T2"]},
        geometry=[box(1, 0, 2, 1), box(0, 0, 1, 1), box(0, 1, 2, 2)],
        crs="EPSG:3826",
    )
    pts = gpd.GeoSeries(
        [Point(1.5, 0.5), Point(1, 0.5), Point(0.5, 0.5), Point(1, 1), Point(1.5, 1), Point(1.5, 1.5)],
        crs="EPSG:3826",
        index=[10, 11, 12, 13, 14, 15],
    )
    found = locate_points(pts, polys)
    assert found["towncode"].tolist() == ["T3", "T1", "T1", "T1", "T2", "T2"]
    assert not found["snapped"].any()
    # one point per call gives the same answers (the single-hit path)
    for i, code in zip(pts.index, found["towncode"], strict=True):
        assert locate_points(pts.loc[[i]], polys).loc[i, "towncode"] == code


def test_user_boundaries_same_schema(tmp_path, townships):
    """An MOI-schema shapefile (TWD97 TM2, 台 spellings) loads and classifies like the bundled one."""
    moi = townships.rename(
        columns={"towncode": "TOWNCODE", "countycode": "COUNTYCODE", "county": "COUNTYNAME",
                 "township": "TOWNNAME", "county_en": "COUNTYENG", "township_en": "TOWNENG"}
    )[["TOWNCODE", "COUNTYCODE", "COUNTYNAME", "TOWNNAME", "COUNTYENG", "TOWNENG", "geometry"]].to_crs("EPSG:3826")
    moi["COUNTYNAME"] = moi["COUNTYNAME"].str.replace("臺", "台")
    path = tmp_path / "TOWN_MOI.shp"
    moi.to_file(path, engine="pyogrio", encoding="utf-8")
    loaded = load_boundaries(path)
    assert len(loaded) == 368 and loaded.crs.equals("EPSG:4326")
    pd.testing.assert_frame_equal(
        loaded[["towncode", "county", "township", *FLAGS]].reset_index(drop=True),
        townships[["towncode", "county", "township", *FLAGS]].reset_index(drop=True),
    )


def test_user_boundaries_errors(tmp_path):
    with pytest.raises(UnreadableFileError, match="nope.shp: file not found"):
        load_boundaries(tmp_path / "nope.shp")
    bad = tmp_path / "bad.geojson"
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[Point(121, 23).buffer(0.1)], crs="EPSG:4326").to_file(bad)
    with pytest.raises(UnreadableFileError, match=r"bad.geojson: .*TOWNCODE"):
        load_boundaries(bad)


def test_classify_geometry_toy(toy_townships):
    out = classify_geometry(toy_townships.drop(columns=["coastal", "island"]).to_crs("EPSG:4326"))
    # the largest landmass is the 3-township strip; 乙市 D區 is its own island
    assert out.set_index("township")["island"].to_dict() == {"A鄉": False, "B鄉": False, "C鄉": False, "D區": True}
    assert out["coastal"].all()  # every toy township has some edge on the outline


def test_datasets_locator():
    assert "townships" in available()
    with pytest.raises(DataFileNotFoundError, match="valid names: .*townships"):
        get_path("township")


# --- grid pre-index of locate_points: identical to the exact test ---------------------------------


@pytest.fixture(scope="module")
def grid_cache(tmp_path_factory):
    import os

    old = os.environ.get("SAFETYNET_CACHE")
    os.environ["SAFETYNET_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("SAFETYNET_CACHE")
    else:
        os.environ["SAFETYNET_CACHE"] = old


@pytest.mark.parametrize("level", ["township", "village"])
def test_grid_locate_equals_exact(level, grid_cache):
    import geopandas as gpd
    import numpy as np
    import shapely
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from coverage import geography
    from coverage.geography import load_townships, load_villages, locate_points, locate_points_exact

    polys = load_townships() if level == "township" else load_villages()
    key = "towncode" if level == "township" else "villcode"
    assert geography._grid_for(polys, key, n_points=2**63) is not None  # built, and cached on disk
    geography._GRIDS.clear()
    assert geography._grid_for(polys, key, n_points=0) is not None  # read back from the disk cache
    verts = shapely.get_coordinates(np.asarray(polys.geometry.values))
    seen = {"on_vertex": 0, "outside": 0, "snapped": 0, "by_lookup": 0}

    @settings(max_examples=8, deadline=None)
    @given(seed=st.integers(0, 2**32 - 1))
    def check(seed):
        rng = np.random.default_rng(seed)
        n = geography._GRID_MIN_POINTS + 5_000
        x = rng.uniform(118.1, 122.1, n)
        y = rng.uniform(21.8, 26.4, n)
        k = rng.integers(0, len(verts), n // 3)  # exactly on boundaries: shared edges and corners
        x[: n // 3], y[: n // 3] = verts[k, 0], verts[k, 1]
        close = rng.integers(0, len(verts), n // 3)  # within metres of a boundary: fine cells, both sides
        x[n // 3: 2 * (n // 3)] = verts[close, 0] + rng.normal(0, 0.0001, n // 3)
        y[n // 3: 2 * (n // 3)] = verts[close, 1] + rng.normal(0, 0.0001, n // 3)
        near = rng.integers(0, len(verts), 500)  # just off the coast (snapping)
        x[-500:], y[-500:] = verts[near, 0] + rng.normal(0, 0.004, 500), verts[near, 1] + rng.normal(0, 0.004, 500)
        x[5], y[5] = np.nan, np.nan
        pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=polys.crs)
        pts.iloc[7] = None
        fast, exact = locate_points(pts, polys, key), locate_points_exact(pts, polys, key)
        assert fast.equals(exact)
        which = geography._grid_lookup(geography._grid_for(polys, key), pts)
        seen["by_lookup"] += int((which >= 0).sum())  # the grid did decide points, in fine cells too
        seen["on_vertex"] += 1
        seen["outside"] += int(exact[key].isna().sum())
        seen["snapped"] += int(exact["snapped"].sum())

    check()
    assert seen["on_vertex"] == 8 and seen["outside"] > 0 and seen["snapped"] > 0 and seen["by_lookup"] > 8 * 2000


@pytest.mark.parametrize("level", ["township", "village"])
def test_snapping_matches_brute_force_distances(level):
    """Points off the coast snap to the nearest polygon within 1 km (lowest code on ties), as measured
    to every polygon whole: the boundary-piece index gives the same answer as brute force."""
    import geopandas as gpd
    import numpy as np
    import shapely
    from hypothesis import event, given, settings
    from hypothesis import strategies as st

    from coverage.geography import PROJECTED_CRS, SNAP_DISTANCE_M, load_townships, load_villages, locate_points_exact

    polys = load_townships() if level == "township" else load_villages()
    key = "towncode" if level == "township" else "villcode"
    proj = np.asarray(polys.geometry.to_crs(PROJECTED_CRS).values)
    land = shapely.union_all(np.asarray(polys.geometry.values))
    shapely.prepare(land)
    verts = shapely.get_coordinates(shapely.boundary(land))
    codes = polys[key].to_numpy(dtype=object)
    seen = {"snapped": 0, "outside": 0}

    @settings(max_examples=5, deadline=None)
    @given(seed=st.integers(0, 2**32 - 1), spread=st.sampled_from([0.002, 0.006, 0.012]))
    def check(seed, spread):
        rng = np.random.default_rng(seed)
        k = rng.integers(0, len(verts), 150)
        x, y = verts[k, 0] + rng.normal(0, spread, 150), verts[k, 1] + rng.normal(0, spread, 150)
        pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=polys.crs)
        pts = pts[~shapely.intersects(land, pts.values)]  # off the land: snapped or outside
        got = locate_points_exact(pts, polys, key)
        pp = np.asarray(pts.to_crs(PROJECTED_CRS).values)
        for i, p in enumerate(pp):
            d = shapely.distance(proj, p)
            best = d.min()
            want = None if best > SNAP_DISTANCE_M else min(codes[d == best])
            assert got[key].iat[i] == want or (want is None and got[key].isna().iat[i])
            seen["snapped" if want else "outside"] += 1
        event(f"spread {spread}")

    check()
    assert seen["snapped"] > 50 and seen["outside"] > 5


@pytest.mark.parametrize("level", ["township", "village"])
def test_edge_locate_equals_exact(level, grid_cache):
    """Points in fine cells a boundary touches are placed by the edges of their block (reference point, parity
    of crossings) exactly as the exact point-in-polygon test places them: on vertices, on the midpoints of
    edges, a hair off edges, anywhere in the blocks. Points it cannot decide (an orientation test not certain:
    on an edge or a vertex) are left undecided, and both kinds are reached."""
    import geopandas as gpd
    import numpy as np
    import shapely
    from hypothesis import event, given, settings
    from hypothesis import strategies as st

    from coverage import geography
    from coverage.geography import load_townships, load_villages, locate_points_exact

    polys = load_townships() if level == "township" else load_villages()
    key = "towncode" if level == "township" else "villcode"
    grid = geography._grid_for(polys, key, n_points=2**63)
    assert (grid.ref_label >= -1).mean() > 0.99  # nearly every block has a reference cell
    verts = shapely.get_coordinates(np.asarray(polys.geometry.values))
    seen = {"decided": 0, "in_none": 0, "undecided": 0}

    @settings(max_examples=6, deadline=None)
    @given(seed=st.integers(0, 2**32 - 1), offset=st.sampled_from([0.0, 1e-12, 1e-9, 1e-6]))
    def check(seed, offset):
        rng = np.random.default_rng(seed)
        m = 4000
        k = rng.integers(0, len(verts) - 1, m)
        a, b = verts[k], verts[k + 1]  # consecutive vertices: mostly an edge (else across two rings)
        t = rng.choice([0.0, 0.5, rng.uniform()], m)  # on the vertex, the midpoint, anywhere along
        xy = a + (b - a) * t[:, None] + offset * rng.normal(size=(m, 2))
        xy = np.vstack([xy, verts[rng.integers(0, len(verts), 1000)] + rng.normal(0, 0.0003, (1000, 2))])
        pts = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=polys.crs)
        _, cxy, block = geography._grid_cells(grid, pts)
        fine = np.flatnonzero(block >= 0)
        got = geography._edge_locate(grid, cxy[fine], block[fine])
        want = locate_points_exact(pts.iloc[fine], polys, key, rows=True)
        row, snapped = want["_row"].to_numpy(), want["snapped"].to_numpy()
        decided = got >= 0
        assert (got[decided] == row[decided]).all() and not snapped[decided].any()
        none = got == -1  # in no polygon: the exact test finds none either (it snaps, or leaves it outside)
        assert ((row[none] < 0) | snapped[none]).all()
        seen["decided"] += int(decided.sum())
        seen["in_none"] += int(none.sum())
        seen["undecided"] += int((got == geography._EXACT).sum())
        event(f"offset {offset}: undecided {'some' if (got == geography._EXACT).any() else 'none'}")

    check()
    assert seen["decided"] > 6 * 1000 and seen["in_none"] > 0 and seen["undecided"] > 0


@pytest.mark.parametrize("level", ["township", "village", "township in metres"])
def test_sea_cells_snap_as_measured(level, grid_cache):
    """Coarse cells in no polygon (and the sea part of blocks) decided at build — every point of the cell
    snaps to one polygon, or none is within reach — place points exactly as the snapping measured point by
    point: anywhere in those cells, on their corners and edges, and in undecided cells beside them."""
    import geopandas as gpd
    import numpy as np
    from hypothesis import event, given, settings
    from hypothesis import strategies as st

    from coverage import geography
    from coverage.geography import load_townships, load_villages, locate_points, locate_points_exact

    polys = load_villages() if level == "village" else load_townships()
    if level == "township in metres":  # a projected table: cells and snapping in its own units
        polys = polys.to_crs(geography.PROJECTED_CRS)
    key = "villcode" if level == "village" else "towncode"
    grid = geography._grid_for(polys, key, n_points=2**63)
    nx = grid.coarse.shape[1]
    cell = grid.fine * grid.split
    flat = grid.coarse.ravel()
    blocks = np.flatnonzero(flat <= geography._BLOCK)
    wet = (grid.coarse >= grid.base) | (grid.coarse == geography._SEA)
    beside = np.zeros_like(wet)  # out of reach, next to a cell at sea within reach: the 1 km limit
    beside[1:] |= wet[:-1]
    beside[:-1] |= wet[1:]
    beside[:, 1:] |= wet[:, :-1]
    beside[:, :-1] |= wet[:, 1:]
    kinds = {
        "snapped cell": np.flatnonzero(flat >= grid.base),
        "cell out of reach": np.flatnonzero((grid.coarse == -1) & beside),
        "undecided cell": np.flatnonzero(flat == geography._SEA),
        "snapped block": blocks[grid.block_snap[geography._BLOCK - flat[blocks]] >= grid.base],
    }
    assert all(len(c) for c in kinds.values())
    seen = {"by_lookup": 0, "snapped": 0, "outside": 0}

    @settings(max_examples=6, deadline=None)
    @given(seed=st.integers(0, 2**32 - 1), where=st.sampled_from(["inside", "corners", "edges"]))
    def check(seed, where):
        rng = np.random.default_rng(seed)
        n = geography._GRID_MIN_POINTS + 4_000
        parts = []
        for cells in kinds.values():
            c = cells[rng.integers(0, len(cells), n // len(kinds))]
            cy, cx = np.divmod(c, nx)
            u, v = rng.uniform(size=len(c)), rng.uniform(size=len(c))
            if where == "corners":
                u, v = rng.integers(0, 2, len(c)).astype(float), rng.integers(0, 2, len(c)).astype(float)
            elif where == "edges":
                u = rng.integers(0, 2, len(c)).astype(float)
            parts.append(np.column_stack([grid.x0 + (cx + u) * cell, grid.y1 - (cy + v) * cell]))
        xy = np.vstack(parts)
        pts = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=polys.crs)
        fast, exact = locate_points(pts, polys, key), locate_points_exact(pts, polys, key)
        assert fast.equals(exact)
        which = geography._grid_lookup(grid, pts)
        seen["by_lookup"] += int((which >= grid.base).sum())
        seen["snapped"] += int(exact["snapped"].sum())
        seen["outside"] += int(exact[key].isna().sum())
        event(f"{where}: snapped by lookup {'some' if (which >= grid.base).any() else 'none'}")

    check()
    assert seen["by_lookup"] > 6 * 1000 and seen["snapped"] > seen["by_lookup"] and seen["outside"] > 0
