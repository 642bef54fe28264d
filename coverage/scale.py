"""Point location at scale: many millions of points (every household address, a 100 m population
grid over many scenarios) on a Dask cluster through ``dask-geopandas``.

On one machine :func:`coverage.geography.locate_points` locates a million points in about two
seconds and is the right tool up to a few tens of millions of points held in memory. Beyond
that — point sets larger than memory, or many scenario runs — partition the points and run
the same function on each partition with Dask (``engine="dask"``): locally on all cores, or on
a cluster through a ``distributed.Client``. Results are identical to the single-machine engine
because each partition runs exactly the same code against the same polygons.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InputError, UnreadableFileError

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import pandas as pd

__all__ = ["ENGINES", "locate", "read_points"]

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
