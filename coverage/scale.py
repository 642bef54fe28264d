"""Point location and nearest-service distance at scale: many millions of points (every household
address, a 100 m population grid over many scenarios) on a Dask cluster through ``dask-geopandas``.

On one machine :func:`coverage.geography.locate_points` locates a million points in about two
seconds and is the right tool up to a few tens of millions of points held in memory. Beyond
that — point sets larger than memory, or many scenario runs — partition the points and run
the same function on each partition with Dask (``engine="dask"``): locally on all cores, or on
a cluster through a ``distributed.Client``. Results are identical to the single-machine engine
because each partition runs exactly the same code against the same polygons.

:func:`nearest` does the same for the distance from every point to the nearest open facility of
each programme (k-d tree per programme in TWD97 TM2, same land mass unless ``cross_sea``).

When to use ``dask``: the single-machine engines hold all points and results in memory (about
0.5 GB per 10 million points for locating, plus the geometries themselves). Use ``dask`` when
the points come as a (partitioned) GeoParquet larger than a comfortable share of memory, or to
spread many scenario runs over a cluster (``--scheduler tcp://…``). On a laptop-sized problem
(up to ~10^7 points) the local engine is as fast or faster: Dask adds scheduling overhead.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InputError, UnreadableFileError

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import pandas as pd

__all__ = ["ENGINES", "locate", "nearest", "read_points"]

log = logging.getLogger(__name__)

ENGINES = ("local", "dask")


def read_points(path: str | Path, *, lazy: bool = False, npartitions: int | None = None):
    """Points from GeoParquet, GeoPackage/GeoJSON, or CSV with ``lon``/``lat`` (or ``x``/``y`` in TWD97).

    With ``lazy=True`` a GeoParquet file is opened as a dask-geopandas frame without reading it.
    """
    import geopandas as gpd
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise UnreadableFileError(path, "file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            if lazy:
                import dask_geopandas

                return dask_geopandas.read_parquet(path, npartitions=npartitions)
            return gpd.read_parquet(path)
        if suffix in (".gpkg", ".geojson", ".json", ".shp"):
            return gpd.read_file(path, engine="pyogrio")
        frame = pd.read_csv(path, encoding="utf-8-sig")
    except (OSError, ValueError) as exc:
        raise UnreadableFileError(path, f"not a readable point file ({exc})") from exc
    cols = {c.lower(): c for c in frame.columns}
    if {"lon", "lat"} <= set(cols):
        geom = gpd.points_from_xy(frame[cols["lon"]], frame[cols["lat"]], crs="EPSG:4326")
    elif {"x", "y"} <= set(cols):
        geom = gpd.points_from_xy(frame[cols["x"]], frame[cols["y"]], crs="EPSG:3826").to_crs("EPSG:4326")
    else:
        raise UnreadableFileError(path, "needs lon/lat (WGS84) or x/y (TWD97 TM2) columns")
    return gpd.GeoDataFrame(frame, geometry=geom)


def locate(
    points,
    polygons: gpd.GeoDataFrame,
    *,
    key: str = "towncode",
    engine: str = "local",
    npartitions: int | None = None,
    client=None,
) -> pd.DataFrame:
    """Code of the polygon holding each point (see :func:`coverage.geography.locate_points`).

    Parameters
    ----------
    points : GeoDataFrame or dask_geopandas.GeoDataFrame
    polygons : GeoDataFrame
        Townships (``key="towncode"``) or villages (``key="villcode"``).
    engine : {"local", "dask"}
        ``dask`` partitions the points (``npartitions``, default 2 per core) and locates each
        partition in parallel; with ``client`` (a ``distributed.Client``) on that cluster.

    Returns
    -------
    DataFrame aligned to the points' index: ``key`` and ``snapped``.
    """
    from .geography import locate_points

    if engine not in ENGINES:
        raise InputError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "local":
        if hasattr(points, "compute"):
            points = points.compute()
        return locate_points(points, polygons, key=key)
    import os

    import dask_geopandas
    import pandas as pd

    if not hasattr(points, "map_partitions"):
        n = npartitions or 2 * (os.cpu_count() or 1)
        points = dask_geopandas.from_geopandas(points, npartitions=max(1, min(n, len(points) or 1)))
    meta = pd.DataFrame({key: pd.Series(dtype=object), "snapped": pd.Series(dtype=bool)})
    # the polygons travel once to each worker as a delayed object, not once per task
    import dask

    polys = dask.delayed(polygons, pure=True) if client is None else client.scatter(polygons, broadcast=True)
    located = points.map_partitions(locate_points, polys, key=key, meta=meta, align_dataframes=False)
    result = located.compute() if client is None else client.compute(located).result()
    codes = result[key].to_numpy(dtype=object)
    codes[pd.isna(codes)] = None
    # rebuilt like the local engine's frame so both engines give equal frames, dtypes included
    return pd.DataFrame({key: codes, "snapped": result["snapped"].to_numpy(dtype=bool)}, index=result.index)


NEAREST_COLUMNS = ["point", "category", "distance_km", "facility_id", "facility_name", "facility_towncode",
                   "across_sea_km"]


def _nearest_partition(points: gpd.GeoDataFrame, facilities: pd.DataFrame, lands, cross_sea: bool) -> pd.DataFrame:
    """:func:`coverage.access.nearest_facility` for one partition of points (any CRS)."""
    import numpy as np
    import pandas as pd
    import shapely

    from .access import PROJECTED_CRS, _land_of, nearest_facility

    if len(points) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in NEAREST_COLUMNS})
    pts = np.asarray(points.geometry.to_crs(PROJECTED_CRS).values)
    frame = pd.DataFrame({"code": np.asarray(points.index), "x": shapely.get_x(pts), "y": shapely.get_y(pts),
                          "land": _land_of(pts, lands)})
    out = nearest_facility(frame, facilities, cross_sea=cross_sea).rename(columns={"code": "point"})
    return out[NEAREST_COLUMNS].astype(object)


def nearest(
    points,
    facilities: gpd.GeoDataFrame,
    townships: gpd.GeoDataFrame,
    *,
    as_of: object = None,
    categories: list[str] | None = None,
    cross_sea: bool = False,
    engine: str = "local",
    npartitions: int | None = None,
    client=None,
) -> pd.DataFrame:
    """Distance from every point to the nearest open facility of each programme.

    Parameters
    ----------
    points : GeoDataFrame or dask_geopandas.GeoDataFrame
        Any CRS; points at sea count on the nearest land mass.
    facilities : GeoDataFrame
        A registry's facilities (:attr:`coverage.Registry.facilities`); those open on ``as_of``.
    townships : GeoDataFrame
        Their union gives the land masses (a facility serves across the sea only with ``cross_sea``).
    engine : {"local", "dask"}
        As in :func:`locate`.

    Returns
    -------
    DataFrame, one row per point × category, sorted by category then point: ``point`` (the
    points' index label), ``category``, ``distance_km`` (NaN when the point's land mass has
    none), ``facility_id``, ``facility_name``, ``facility_towncode``, ``across_sea_km``.
    """
    import pandas as pd

    from .access import facility_points, land_masses

    if engine not in ENGINES:
        raise InputError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    lands = land_masses(townships)
    fac = facility_points(facilities, lands, as_of=as_of, categories=categories)
    if engine == "local":
        if hasattr(points, "compute"):
            points = points.compute()
        result = _nearest_partition(points, fac, lands, cross_sea)
    else:
        import os

        import dask
        import dask_geopandas

        if not hasattr(points, "map_partitions"):
            n = npartitions or 2 * (os.cpu_count() or 1)
            points = dask_geopandas.from_geopandas(points, npartitions=max(1, min(n, len(points) or 1)))
        meta = pd.DataFrame({c: pd.Series(dtype=object) for c in NEAREST_COLUMNS})
        if client is None:
            fac_d, lands_d = dask.delayed(fac, pure=True), dask.delayed(lands, pure=True)
        else:
            fac_d, lands_d = client.scatter(fac, broadcast=True), client.scatter(lands, broadcast=True)
        parts = points.map_partitions(_nearest_partition, fac_d, lands_d, cross_sea, meta=meta,
                                      align_dataframes=False)
        result = parts.compute() if client is None else client.compute(parts).result()
    result = result.sort_values(["category", "point"], kind="stable", ignore_index=True)
    result["distance_km"] = pd.to_numeric(result["distance_km"]).astype(float)
    result["across_sea_km"] = pd.to_numeric(result["across_sea_km"]).astype(float)
    return result
