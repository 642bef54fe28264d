"""Writing the tables of :func:`coverage.bulk.locate` and :func:`coverage.bulk.nearest`: one GeoParquet file of every
input row, and beside it the rows whose coordinates could not be used (always written, so that a rejection file of an
earlier run never lingers beside a new result).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

__all__ = ["write_points"]


def write_points(result: gpd.GeoDataFrame, points: gpd.GeoDataFrame, out: str | Path, *, file: str) -> Path:
    """Write ``result`` to ``out`` (GeoParquet) and the rejected rows of ``points`` beside it.

    Both files are written atomically (:func:`coverage.report.atomic_open`). The rejections go to
    :func:`coverage.bulk.rejections_path` of ``out`` (``near.parquet`` → ``near.rejected.csv``),
    columns :data:`coverage.rejections.REJECTED_COLUMNS`, even when there is none.

    Parameters
    ----------
    result : GeoDataFrame
        From :func:`coverage.bulk.locate`, :func:`coverage.bulk.nearest` or
        :func:`coverage.traveltime.nearest_minutes`.
    points : GeoDataFrame or dask GeoDataFrame
        The points as :func:`coverage.bulk.read_points` gave them (their rejected rows are listed).
    out : str or Path
        The Parquet file to write.
    file : str
        The points file's name, written in the rejections' ``file`` column.

    Returns
    -------
    Path
        The rejections file.

    Raises
    ------
    OutputError
        A file cannot be written.
    """
    from .bulk import point_rejections, rejections_path
    from .report import atomic_open, write_csv

    with atomic_open(Path(out), "wb") as fh:
        result.to_parquet(fh)
    return write_csv(point_rejections(points, file=file), rejections_path(out))
