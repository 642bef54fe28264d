"""Terrain from a digital elevation model: mean elevation per township and a computed ``mountain`` flag.

Zonal statistics come from ``exactextract`` (each cell weighted by the fraction of it inside the
township polygon, so a district smaller than a 1 km cell still gets a value) on rasters opened
with ``rasterio`` — any raster GDAL reads, in any projected or geographic CRS. Several DEMs may be
given (Taiwan's official grids come in two TM2 zones: EPSG:3826 for the main island, EPSG:3825 for
Kinmen, Matsu and Penghu); each township takes its mean from the DEM that covers most of it.

``mountain`` = mean elevation ≥ ``threshold_m`` (default 500 m). With the 1 km grid of the MOI
20 m DTM this flags, in 嘉義縣, 阿里山鄉 (≈1,480 m), 梅山鄉, 番路鄉, 竹崎鄉 and 大埔鄉.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import UnreadableFileError

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import pandas as pd

__all__ = ["MOUNTAIN_THRESHOLD_M", "mountain_flags", "zonal_elevation"]

log = logging.getLogger(__name__)

#: Mean elevation (m) from which a township counts as ``mountain``.
MOUNTAIN_THRESHOLD_M = 500.0


def _zonal(path: Path, townships: gpd.GeoDataFrame) -> pd.DataFrame:
    """``towncode, sum, count`` (coverage-weighted, valid cells only) of one raster."""
    import rasterio
    from exactextract import exact_extract
    from rasterio.errors import RasterioError

    if not path.exists():
        raise UnreadableFileError(path, "file not found")
    try:
        with warnings.catch_warnings():
            # rasterio warns (NotGeoreferencedWarning) on rasters without a CRS; we refuse those below
            warnings.simplefilter("ignore")
            src = rasterio.open(path)
    except (RasterioError, OSError) as exc:
        raise UnreadableFileError(path, f"not a raster GDAL can read ({exc})") from exc
    with src:
        if src.crs is None:
            raise UnreadableFileError(path, "the raster has no coordinate reference system; "
                                            "save it as a GeoTIFF with its CRS (e.g. EPSG:3826)")
        if src.count < 1:
            raise UnreadableFileError(path, "the raster has no band")
        zones = townships[["towncode", "geometry"]].to_crs(src.crs)
        try:
            stats = exact_extract(src, zones, ["sum", "count"], include_cols=["towncode"], output="pandas")
        except Exception as exc:  # exactextract/GDAL raise several unrelated types
            raise UnreadableFileError(path, f"cannot compute zonal statistics ({exc})") from exc
    return stats[["towncode", "sum", "count"]]


def zonal_elevation(townships: gpd.GeoDataFrame, dems: Sequence[str | Path] | str | Path) -> pd.DataFrame:
    """Mean elevation of each township from one or more DEM rasters.

    Parameters
    ----------
    townships : GeoDataFrame
        Township polygons (any CRS) with ``towncode``.
    dems : path or list of paths
        Elevation rasters (metres); nodata cells are ignored.

    Returns
    -------
    DataFrame ``towncode, mean_elevation_m, dem_cells, dem_file`` aligned to ``townships``;
    ``mean_elevation_m`` is NaN (and ``dem_file`` empty) where no DEM covers the township.
    """
    import numpy as np
    import pandas as pd

    paths = [Path(dems)] if isinstance(dems, (str, Path)) else [Path(p) for p in dems]
    best = pd.DataFrame({"towncode": townships["towncode"].to_numpy(), "mean_elevation_m": np.nan,
                         "dem_cells": 0.0, "dem_file": ""})
    for path in paths:
        stats = _zonal(path, townships)
        count = stats["count"].to_numpy(dtype=float)
        better = count > best["dem_cells"].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = stats["sum"].to_numpy(dtype=float) / count
        best.loc[better, "mean_elevation_m"] = mean[better]
        best.loc[better, "dem_cells"] = count[better]
        best.loc[better, "dem_file"] = path.name
    missing = int(best["mean_elevation_m"].isna().sum())
    if missing:
        log.info("%d townships are not covered by the DEM(s) %s", missing, ", ".join(p.name for p in paths))
    best.index = townships.index
    return best


def mountain_flags(
    townships: gpd.GeoDataFrame,
    dems: Sequence[str | Path] | str | Path,
    *,
    threshold_m: float = MOUNTAIN_THRESHOLD_M,
) -> pd.DataFrame:
    """:func:`zonal_elevation` plus ``mountain`` (mean elevation ≥ ``threshold_m``; NA where unknown).

    Parameters
    ----------
    townships : GeoDataFrame
        Township polygons.
    dems : path or sequence of paths
        Elevation rasters (GeoTIFF), as :func:`zonal_elevation`.
    threshold_m : float
        Mean elevation (m) from which a township is a mountain township.

    Returns
    -------
    DataFrame
        :func:`zonal_elevation`'s columns plus ``mountain`` (nullable boolean).

    Raises
    ------
    UnreadableFileError
        A raster is missing, unreadable, without a coordinate reference system or without a band.
    """
    import pandas as pd

    out = zonal_elevation(townships, dems)
    known = out["mean_elevation_m"].notna()
    out["mountain"] = pd.array((out["mean_elevation_m"] >= threshold_m).where(known, None), dtype="boolean")
    return out
