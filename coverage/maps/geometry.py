"""Display geometry of the map pages: polygons simplified as a coverage, quantised and delta-encoded.

A leaf module of :mod:`coverage.maps` (it imports only :mod:`coverage.maps.memo`'s disk cache): the
payload, the catchment outlines and the travel-time villages all encode their polygons here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

__all__ = ["QUANTUM", "TOLERANCE_M", "bounds_of", "display_geometry", "encode_geometry", "encoded_display",
           "main_island_bounds", "projected_polygons"]

log = logging.getLogger(__name__)

#: Display simplification tolerance (metres) and coordinate quantum (1/q degree) per map scale.
#: The quantum stays well under the tolerance (nation 1/10,000° ≈ 11 m vs 150 m; county
#: 1/20,000° ≈ 5 m vs 30 m): finer digits would only add bytes (1/100,000° made the 高雄市
#: village page with population 398 KB against the 400 KB budget; 1/20,000° makes it ~360 KB).
TOLERANCE_M = {("nation", "township"): 150.0, ("nation", "village"): 150.0,
               ("county", "township"): 30.0, ("county", "village"): 30.0}
QUANTUM = {"nation": 10_000, "county": 20_000}


def projected_polygons(frame: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """The polygons of ``frame`` in TWD97 metres, made valid: what :func:`display_geometry` simplifies.

    Each polygon is projected and repaired on its own, so the rows of the result for a whole table
    equal the result for any subset of its rows (the maps of one run project the boundaries once,
    :mod:`coverage.maps.memo`).

    Parameters
    ----------
    frame : GeoDataFrame
        Polygons (townships or villages) in any CRS.

    Returns
    -------
    GeoSeries
        In :data:`coverage.geography.PROJECTED_CRS`, with the index of ``frame``.
    """
    import geopandas as gpd
    import shapely

    from ..geography import PROJECTED_CRS

    proj = frame.geometry.to_crs(PROJECTED_CRS)
    return gpd.GeoSeries(shapely.make_valid(proj.values), index=frame.index, crs=PROJECTED_CRS)


def display_geometry(frame: gpd.GeoDataFrame, tolerance_m: float, *,
                     projected: gpd.GeoSeries | None = None) -> gpd.GeoSeries:
    """Polygons simplified for display, keeping shared edges shared (EPSG:4326, aligned to ``frame``).

    Uses :func:`shapely.coverage_simplify` (GEOS >= 3.12) in TWD97 metres: each edge between
    two polygons is simplified once, so neighbours never overlap or open a sliver. Without it
    each polygon is simplified on its own (``preserve_topology=True``), which can leave hairline
    gaps, and a warning is logged.

    Parameters
    ----------
    frame : GeoDataFrame
        Polygons (townships or villages) in any CRS; invalid ones are made valid first.
    tolerance_m : float
        Simplification tolerance in metres (:data:`TOLERANCE_M`); 0 or less keeps every vertex.
    projected : GeoSeries, optional
        :func:`projected_polygons` of ``frame`` (its rows in the same order), when already made.

    Returns
    -------
    GeoSeries
        The simplified polygons in EPSG:4326, with the index of ``frame``.
    """
    import geopandas as gpd
    import shapely

    from ..geography import PROJECTED_CRS

    geoms = (projected_polygons(frame) if projected is None else projected).values
    if tolerance_m <= 0:
        simple = geoms
    elif hasattr(shapely, "coverage_simplify"):
        simple = shapely.coverage_simplify(geoms, tolerance_m)
    else:  # pragma: no cover - shapely < 2.1 or GEOS < 3.12
        log.warning("shapely.coverage_simplify is unavailable (needs shapely>=2.1, GEOS>=3.12); "
                    "simplifying polygons one by one, neighbours may show hairline gaps")
        simple = shapely.simplify(geoms, tolerance_m, preserve_topology=True)
    return gpd.GeoSeries(simple, index=frame.index, crs=PROJECTED_CRS).to_crs("EPSG:4326")


def _encode_ring(coords, q: int):
    import numpy as np

    xy = np.rint(np.asarray(coords)[:, :2] * q).astype(np.int64)
    if len(xy) > 1 and (xy[-1] == xy[0]).all():
        xy = xy[:-1]  # Leaflet closes rings itself
    if len(xy) > 1:
        keep = np.ones(len(xy), dtype=bool)
        keep[1:] = (xy[1:] != xy[:-1]).any(axis=1)
        xy = xy[keep]
    if len(xy) > 1 and (xy[-1] == xy[0]).all():
        xy = xy[:-1]
    return np.vstack([xy[:1], np.diff(xy, axis=0)]).ravel().tolist() if len(xy) else []


def encode_geometry(geom, q: int) -> list[list[list[int]]]:
    """Polygon/MultiPolygon → ``[[ring, hole, …], …]``; a ring is ``[x0, y0, dx1, dy1, …]``.

    Coordinates are lon/lat in units of ``1/q`` degree (``q=10_000``: about 10 m), the first
    vertex absolute and the next ones as differences, closing vertex left out. Rings that
    quantisation collapses to fewer than three vertices are dropped (unless nothing else
    would be left of the geometry).

    Parameters
    ----------
    geom : shapely Polygon or MultiPolygon or None
        Geometry in lon/lat degrees; None or empty gives ``[]``.
    q : int
        Quantum: coordinates are rounded to ``1/q`` degree (:data:`QUANTUM`).

    Returns
    -------
    list of list of list of int
        Per polygon, its exterior ring then its holes, each delta-encoded.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> encode_geometry(box(120.0, 23.0, 120.001, 23.002), 1000)
    [[[120001, 23000, 0, 2, -1, 0, 0, -2]]]
    """
    import shapely

    if geom is None or geom.is_empty:
        return []
    out: list[list[list[int]]] = []
    fallback: list[list[list[int]]] = []
    for poly in shapely.get_parts(geom):
        rings = [_encode_ring(ring.coords, q) for ring in (poly.exterior, *poly.interiors)]
        if not fallback and rings[0]:
            fallback = [[rings[0]]]
        if len(rings[0]) >= 6:
            out.append([r for r in rings if len(r) >= 6])
    return out or fallback


def bounds_of(geoms: gpd.GeoSeries) -> list[list[float]]:
    """``[[south, west], [north, east]]`` of all of ``geoms`` (lon/lat), rounded to 4 decimals.

    Parameters
    ----------
    geoms : GeoSeries
        Geometries in lon/lat (EPSG:4326).

    Returns
    -------
    list of list of float
        ``[[south, west], [north, east]]`` in degrees.
    """
    minx, miny, maxx, maxy = geoms.total_bounds
    return [[round(float(miny), 4), round(float(minx), 4)], [round(float(maxy), 4), round(float(maxx), 4)]]


def main_island_bounds(geoms: gpd.GeoSeries) -> list[list[float]]:
    """``[[south, west], [north, east]]`` of the largest land mass of ``geoms`` (lon/lat polygons).

    The national map opens on it (Taiwan's main island) instead of on every island from 金門 to 蘭嶼.
    Parts are measured in degrees², which ranks land masses of one latitude band correctly. The
    polygons are merged as a coverage (:func:`display_geometry` keeps shared edges shared), which is
    fast; overlapping input only shifts where the page opens.

    Parameters
    ----------
    geoms : GeoSeries
        Polygons in lon/lat (EPSG:4326), e.g. from :func:`display_geometry`; missing ones are skipped.

    Returns
    -------
    list of list of float
        ``[[south, west], [north, east]]`` in degrees, rounded to 4 decimals.
    """
    import numpy as np
    import shapely

    land = shapely.coverage_union_all(shapely.make_valid(np.asarray(geoms.dropna().values)))
    parts = shapely.get_parts(land)
    largest = parts[int(np.argmax(shapely.area(parts)))]
    minx, miny, maxx, maxy = largest.bounds
    return [[round(float(miny), 4), round(float(minx), 4)], [round(float(maxy), 4), round(float(maxx), 4)]]


#: Bumped when what :func:`encoded_display` stores changes (with this module's source, part of the key).
_DISPLAY_FORMAT = "display-v1"


@lru_cache(maxsize=1)
def _display_versions() -> str:
    """This module's source and the versions of the libraries that simplify and project the polygons."""
    from .memo import code_digest

    return code_digest(_DISPLAY_FORMAT, (__file__,))


def _display_key(frame: gpd.GeoDataFrame, tolerance_m: float, q: int, view: bool) -> str:
    """Hash of everything :func:`encoded_display` depends on: the polygons (WKB, in row order), their CRS,
    the tolerance, quantum and ``view``, and :func:`_display_versions`."""
    import hashlib

    import shapely

    digest = hashlib.sha256(_display_versions().encode())
    digest.update(f"|{frame.crs}|{float(tolerance_m)!r}|{int(q)}|{bool(view)}|{len(frame)}|".encode())
    for wkb in shapely.to_wkb(frame.geometry.values, hex=False, output_dimension=2, include_srid=False):
        digest.update(len(wkb).to_bytes(8, "little"))
        digest.update(wkb)
    return digest.hexdigest()[:32]


def _valid_display(value: Any, rows: int, view: bool) -> bool:
    """Whether a cached entry has the shape :func:`encoded_display` returns for ``rows`` polygons."""
    def corners(b: Any) -> bool:
        return (isinstance(b, list) and len(b) == 2 and all(isinstance(p, list) and len(p) == 2 for p in b)
                and all(isinstance(x, float | int) and not isinstance(x, bool) for p in b for x in p))

    return (isinstance(value, dict) and isinstance(value.get("g"), list) and len(value["g"]) == rows
            and all(isinstance(g, list) for g in value["g"]) and corners(value.get("bounds"))
            and (corners(value.get("view")) if view else "view" not in value))


def encoded_display(frame: gpd.GeoDataFrame, tolerance_m: float, q: int, *, view: bool = False,
                    projected: Callable[[], gpd.GeoSeries] | None = None) -> dict[str, Any]:
    """The display geometry of ``frame`` as a map payload holds it, computed once per set of polygons.

    :func:`display_geometry` of the polygons, each :func:`encode_geometry` d, their :func:`bounds_of`
    and, with ``view``, :func:`main_island_bounds`. The result is kept in the disk cache
    (``datasets.cache_dir()/maps/display-KEY.json``), KEY a hash of the polygons (WKB), their CRS,
    ``tolerance_m``, ``q``, ``view``, this module's source and the versions of shapely, GEOS, pyproj and
    geopandas: the same boundaries give the same bytes without simplifying them again. An unreadable
    or malformed entry is computed again and rewritten; a cache that cannot be written is only logged.

    Parameters
    ----------
    frame : GeoDataFrame
        Polygons (townships) in any CRS, in the order of the payload.
    tolerance_m : float
        Simplification tolerance in metres (:data:`TOLERANCE_M`).
    q : int
        Quantum of the encoded coordinates (:data:`QUANTUM`).
    view : bool
        Also the bounds of the largest land mass (``view``, the national map's opening view).
    projected : callable, optional
        Gives :func:`projected_polygons` of ``frame`` when it is needed (only on a cache miss).

    Returns
    -------
    dict
        ``g`` (one encoded geometry per row of ``frame``), ``bounds`` and, with ``view``, ``view``.
    """
    from .memo import read_cached, write_cached

    key = _display_key(frame, tolerance_m, q, view)
    cached = read_cached("display", key)
    if _valid_display(cached, len(frame), view):
        return cached
    geoms = display_geometry(frame, tolerance_m, projected=None if projected is None else projected())
    value: dict[str, Any] = {"g": [encode_geometry(g, q) for g in geoms.values], "bounds": bounds_of(geoms)}
    if view:
        value["view"] = main_island_bounds(geoms)
    write_cached("display", key, value)
    return value

