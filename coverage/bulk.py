"""Bulk point location and nearest-service distance: many millions of points (every household
address, a 100 m population grid over many scenarios) on a Dask cluster through ``dask-geopandas``.

On one machine :func:`coverage.geography.locate_points` locates a million points in well under
a second once its grid is cached, and is the right tool up to a few tens of millions of points held in memory. Beyond
that — point sets larger than memory, or many scenario runs — partition the points and run
the same function on each partition with Dask (``engine="dask"``): locally on all cores, or on
a cluster through a ``distributed.Client``. Results are identical to the single-machine engine
because each partition runs exactly the same code against the same polygons.

:func:`nearest` does the same for the distance from every point to the nearest open facility of
each programme (k-d tree per programme in TWD97 TM2, same land mass unless ``cross_sea``, the
point's own county's facilities unless ``across_counties``). A located point's land mass is its
township's (:func:`land_per_township`); only points snapped from the sea and points of
townships on several islands are placed on a land mass geometrically.

Every input row is kept, in its order and with its own columns (an id, an address …), beside the
results, and each says what became of it (``status``): ``located``; ``outside`` (in no township
and more than 1 km from one: the point is not in Taiwan, and gets no township and no distance); or
``rejected`` (no usable coordinates: text, blank, NaN, infinite or out of range), with the
``reason``. Columns about a person (電話, 聯絡人, 姓名 …) are left out unless named public
(:func:`dropped_columns`). :func:`point_rejections` gives the rejected rows as the standard rejection table
(:data:`coverage.rejections.REJECTED_COLUMNS`); rows in == located + outside + rejected.

When to use ``dask``: the single-machine engines hold all points and results in memory (about
0.5 GB per 10 million points for locating, plus the geometries themselves). Use ``dask`` when
the points come as a (partitioned) GeoParquet larger than a comfortable share of memory, or to
spread many scenario runs over a cluster (``--scheduler tcp://…``). On a laptop-sized problem
(up to ~10^7 points) the local engine is as fast or faster: Dask adds scheduling overhead.
"""

from __future__ import annotations

import logging
import math
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InputError, UnreadableFileError

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import numpy as np
    import pandas as pd

__all__ = [
    "ENGINES",
    "LOCATE_COLUMNS",
    "NEAREST_COLUMNS",
    "STATUSES",
    "dropped_columns",
    "land_per_township",
    "locate",
    "locate_parquet",
    "nearest",
    "point_rejections",
    "read_points",
    "rejections_path",
]

log = logging.getLogger(__name__)

ENGINES = ("local", "dask")
#: What became of each input row.
STATUSES = ("located", "outside", "rejected")
#: Result columns of :func:`locate` after the input's own columns (``key`` first, then these).
LOCATE_COLUMNS = ["snapped", "status", "reason"]
#: Result columns of :func:`nearest` after the input's own columns.
NEAREST_COLUMNS = ["point", "towncode", "status", "reason", "category", "distance_km", "facility_id",
                   "facility_name", "facility_towncode", "across_sea_km"]
OUTSIDE_REASON = "outside Taiwan: in no township and more than 1 km from one; no township, no distance"
_NAN_WORDS = {"nan", "-nan", "+nan"}
_VALUE_CHARS = 60


# ----------------------------------------------------------------------------- reading


def _number(text: str) -> float | None:
    try:
        return float(unicodedata.normalize("NFKC", text).strip().replace(",", ""))
    except ValueError:
        return None


def _numbers(column: pd.Series) -> np.ndarray:
    """Floats of a text column (NaN where blank or not a number)."""
    import numpy as np

    values = [_number(v) if isinstance(v, str) else (float(v) if v is not None else None) for v in column]
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _data_lines(path: Path, encoding: str) -> np.ndarray:
    """Line numbers (from 1) of the lines that are not blank, after the header (the CSV parser skips blank
    lines)."""
    from array import array

    import numpy as np

    found = array("q")
    with open(path, encoding=encoding, newline=None) as fh:  # \r, \r\n and \n end a line, as for pandas
        found.extend(i for i, line in enumerate(fh, start=1) if line.strip(" \t\n"))
    return np.frombuffer(found, dtype=np.int64)[1:] if len(found) else np.empty(0, np.int64)


def _read_csv(path: Path) -> pd.DataFrame:
    import pandas as pd

    last: Exception | None = None
    for encoding in ("utf-8-sig", "cp950"):
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
            lines = _data_lines(path, encoding)
        except UnicodeDecodeError as exc:
            last = exc
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as exc:
            raise UnreadableFileError(path, f"not a readable CSV ({exc})") from exc
        if len(lines) != len(frame):  # a quote left open swallows the next lines into one record
            raise UnreadableFileError(path, f"{len(lines):,} data lines but {len(frame):,} records: a quote (\") "
                                            "left open joins lines into one record; close or remove it (a cell may "
                                            "not span lines)")
        frame.index = pd.Index(lines, name="row")
        return frame
    raise UnreadableFileError(path, f"neither UTF-8 nor Big5 (cp950) text ({last})")


def read_points(path: str | Path, *, lazy: bool = False, npartitions: int | None = None):
    """Points from GeoParquet, GeoPackage/GeoJSON, or CSV with ``lon``/``lat`` (or ``x``/``y`` in TWD97).

    Every row is kept with all its columns. A CSV is read as text (an id ``007`` stays ``007``);
    its rows are labelled (index ``row``) with their line number in the file (header = 1) and
    a row whose coordinates are text, blank, NaN, infinite or out of range has no geometry
    (:func:`point_rejections` says why). GeoPackage/GeoJSON features are numbered from 1;
    Parquet keeps its stored index (rows are then numbered by position). With ``lazy=True`` a
    GeoParquet file is opened as a dask-geopandas frame without reading it.

    Parameters
    ----------
    path : str or Path
        The points file: ``.parquet``, ``.gpkg``, ``.geojson``/``.json``, ``.shp``; any other
        suffix is read as CSV.
    lazy : bool
        Open a GeoParquet file as a dask-geopandas frame instead of reading it.
    npartitions : int, optional
        Partitions of the lazy frame.

    Returns
    -------
    GeoDataFrame or dask_geopandas.GeoDataFrame
        Every row with all its columns; rows without usable coordinates have no geometry.
    """
    import geopandas as gpd
    import numpy as np
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
            frame = gpd.read_file(path, engine="pyogrio")
            frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
            return frame
    except (OSError, ValueError, RuntimeError) as exc:
        raise UnreadableFileError(path, f"not a readable point file ({exc})") from exc
    frame = _read_csv(path)
    cols = {str(c).lower().strip(): c for c in frame.columns}
    if {"lon", "lat"} <= set(cols):
        lon, lat = _numbers(frame[cols["lon"]]), _numbers(frame[cols["lat"]])
    elif {"x", "y"} <= set(cols):
        from pyproj import Transformer

        x, y = _numbers(frame[cols["x"]]), _numbers(frame[cols["y"]])
        ok = np.isfinite(x) & np.isfinite(y)
        lon, lat = np.full(len(frame), np.nan), np.full(len(frame), np.nan)
        if ok.any():
            lon[ok], lat[ok] = Transformer.from_crs("EPSG:3826", "EPSG:4326", always_xy=True).transform(x[ok], y[ok])
    else:
        raise UnreadableFileError(path, "needs lon/lat (WGS84) or x/y (TWD97 TM2) columns")
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    geometry = np.full(len(frame), None, dtype=object)
    geometry[ok] = gpd.points_from_xy(lon[ok], lat[ok])
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, index=frame.index, crs="EPSG:4326"),
                            crs="EPSG:4326")


def rejections_path(out: str | Path) -> Path:
    """Where the rejections of an output file go: ``points.parquet`` → ``points.rejected.csv``.

    Parameters
    ----------
    out : str or Path
        The output file.

    Returns
    -------
    Path
        Beside ``out``, named after its stem.
    """
    out = Path(out)
    return out.with_name(f"{out.stem}.rejected.csv")


# ----------------------------------------------------------------------------- checking


def _shown(value: object) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 1] + "…"


def _cell_problem(value: object, name: str, bound: float | None) -> str | None:
    """Why a coordinate cell is unusable, or None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{name} is blank"
    text = str(value).strip()
    if not text:
        return f"{name} is blank"
    number = _number(text)
    if number is None:
        return f"{name} {_shown(text)!r} is not a number"
    if not math.isfinite(number):
        return f"{name} {_shown(text)} is not a finite number"
    if bound is not None and abs(number) > bound:
        return f"{name} {_shown(text)} is outside −{bound:g}…{bound:g}"
    return None


def _coordinate_columns(points) -> tuple[tuple[str, str, float | None, float | None] | None, list]:
    cols = {str(c).lower().strip(): c for c in points.columns if c != points.geometry.name}
    if {"lon", "lat"} <= set(cols):
        return ("lon", "lat", 180.0, 90.0), [cols["lon"], cols["lat"]]
    if {"x", "y"} <= set(cols):
        return ("x", "y", None, None), [cols["x"], cols["y"]]
    return None, []


def _problems(points, coords: dict | None = None) -> pd.DataFrame:
    """One line per problem of each unusable row: ``_pos`` (position), ``field``, ``value``, ``reason``.

    ``coords``, when given, receives the points' own coordinates as ``x`` and ``y`` (in their CRS, NaN
    where not a point), read here anyway, so a caller needs no second pass over the geometries."""
    import numpy as np
    import pandas as pd
    import shapely

    geoms = np.asarray(points.geometry.values, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    kind = shapely.get_type_id(geoms)
    point = ~missing & (kind == 0)
    # the bounds of a point are its coordinates twice: one pass over the geometries, no masked copy
    bounds = shapely.bounds(geoms)
    x, y = np.where(point, bounds[:, 0], np.nan), np.where(point, bounds[:, 1], np.nan)
    if coords is not None:
        coords.update(x=x, y=y)
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(x) & np.isfinite(y)
        lon, lat = x.copy(), y.copy()
        crs = points.crs
        if crs is not None and not crs.is_geographic and finite.any():
            from pyproj import Transformer

            lon[finite], lat[finite] = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(
                x[finite], y[finite])
        in_range = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    lines: list[tuple[int, str, str, str]] = []
    names, columns = _coordinate_columns(points)
    for i in np.flatnonzero(missing):
        found = []
        if names is not None:
            (a, b, bound_a, bound_b), (col_a, col_b) = names, columns
            va, vb = points[col_a].iat[i], points[col_b].iat[i]
            for field, value, bound in ((a, va, bound_a), (b, vb, bound_b)):
                why = _cell_problem(value, field, bound)
                if why:
                    found.append((field, _shown(value), why))
            if bound_a is not None and len(found) == 1 and found[0][0] == b and "outside" in found[0][2]:
                na, nb = _number(str(va)), _number(str(vb))
                if na is not None and nb is not None and abs(na) <= 90 and abs(nb) <= 180:
                    found[0] = (b, found[0][1], found[0][2] + " (lon and lat swapped?)")
            if not found and a == "x":
                found.append((f"{a}/{b}", _shown(f"{va} {vb}"), "x/y do not convert to a place: out of range for "
                                                               "TWD97 TM2 metres"))
        if not found:
            empty = not shapely.is_missing(geoms[i])
            found.append(("geometry", "", "the geometry is empty" if empty else "no geometry"))
        lines += [(int(i), *f) for f in found]
    for i in np.flatnonzero(~missing & ~point):
        lines.append((int(i), "geometry", geoms[i].geom_type, f"geometry is a {geoms[i].geom_type}; expected a Point"))
    for i in np.flatnonzero(point & ~finite):
        lines.append((int(i), "geometry", _shown(f"{x[i]} {y[i]}"), "coordinates are not finite numbers"))
    for i in np.flatnonzero(point & finite & ~in_range):
        lines.append((int(i), "geometry", _shown(f"{x[i]} {y[i]}"),
                      "coordinates are out of range (longitude −180…180, latitude −90…90)"))
    frame = pd.DataFrame(lines, columns=["_pos", "field", "value", "reason"])
    return frame.sort_values("_pos", kind="stable", ignore_index=True)


def _numbered(index: pd.Index) -> bool:
    """Whether an index holds file row numbers (an integer index named ``row``, as from :func:`read_points`)."""
    import pandas as pd

    return index.name == "row" and pd.api.types.is_integer_dtype(index.dtype)


def _rows(index: pd.Index) -> np.ndarray:
    """Row numbers of points: the file's (:func:`_numbered`), else their position + 1."""
    import numpy as np

    if _numbered(index):
        return np.asarray(index, dtype="int64")
    return np.arange(1, len(index) + 1, dtype="int64")


def _rejection_lines(points, file: str) -> pd.DataFrame:
    import pandas as pd

    from .rejections import REJECTED_COLUMNS

    lines = _problems(points)
    rows = _rows(points.index)[lines["_pos"].to_numpy(dtype="int64")]
    out = pd.DataFrame({"file": file, "row": rows.astype("int64"), "field": lines["field"].astype(str),
                        "value": lines["value"].astype(str), "reason": lines["reason"].astype(str)})
    return out[REJECTED_COLUMNS]


def point_rejections(points, *, file: str = "points") -> pd.DataFrame:
    """The rows of ``points`` with no usable coordinates, as a rejection table.

    Columns :data:`coverage.rejections.REJECTED_COLUMNS`: ``file``, ``row`` (the row number in the
    file: the index of :func:`read_points`, an integer index named ``row``; else the position + 1),
    ``field`` (``lon``, ``lat``, ``x``/``y`` or ``geometry``), ``value`` and ``reason``; a row with
    two bad coordinates has two lines (:func:`coverage.rejections.rejected_rows` counts it once).

    Parameters
    ----------
    points : GeoDataFrame
        Points as :func:`read_points` gives them.
    file : str
        The file name written in the ``file`` column.

    Returns
    -------
    DataFrame
        The rejection table, one line per bad coordinate.
    """
    from .rejections import empty_rejections

    if hasattr(points, "map_partitions"):
        if not _numbered(points._meta.index):  # positions are only known for the whole table
            points = points.compute()
        else:
            meta = empty_rejections()
            with _same_dtypes():
                table = points.map_partitions(_rejection_lines, file, meta=meta, align_dataframes=False).compute()
            return table.reset_index(drop=True).astype(meta.dtypes.to_dict())
    table = _rejection_lines(points, file)
    return table.reset_index(drop=True) if len(table) else empty_rejections()


# ----------------------------------------------------------------------------- locating


def dropped_columns(columns, public_columns=()) -> list[str]:
    """The input columns :func:`locate` and :func:`nearest` leave out: those about a person (電話, 聯絡人,
    姓名 … — :func:`coverage.privacy.is_personal_column`) not named in ``public_columns``.

    Parameters
    ----------
    columns : iterable of str
        The points' columns (``geometry`` is never personal).
    public_columns : sequence of str
        Columns about a person to keep all the same.

    Returns
    -------
    list of str
        The columns left out, in input order.
    """
    from .privacy import personal_columns

    return personal_columns([c for c in columns if c != "geometry"], public_columns)


def _input_columns(points, taken: set[str], public_columns=()) -> pd.DataFrame:
    """The points' own columns (geometry and personal ones apart), renamed ``input_<name>`` where a result
    column has the name."""
    personal = set(dropped_columns([c for c in points.columns if c != points.geometry.name], public_columns))
    frame = points.drop(columns=[points.geometry.name, *[c for c in points.columns if str(c) in personal]])
    names, used = {}, set(taken)
    for c in frame.columns:
        new = c
        while str(new) in used:
            new = f"input_{new}"
        names[c] = new
        used.add(str(new))
    return frame.rename(columns=names)


def _status_arrays(points, polygons: gpd.GeoDataFrame, key: str, coords: dict | None = None
                   ) -> dict[str, np.ndarray]:
    """``key`` (objects, None where missing), ``snapped``, ``status``, ``reason``, ``row`` (the polygon's
    position, −1 for none) and ``located`` (status is ``located``) of each point, as arrays in the points'
    order; ``coords`` as for :func:`_problems`."""
    import numpy as np
    import pandas as pd

    from .geography import locate_points

    lines = _problems(points, coords)
    bad = np.zeros(len(points), dtype=bool)
    bad[lines["_pos"].to_numpy(dtype="int64")] = True
    reasons = np.full(len(points), "", dtype=object)
    if len(lines):
        for pos, group in lines.groupby("_pos", sort=False):
            reasons[int(pos)] = "; ".join(group["reason"])
    geoms = points.geometry
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = None
    found = locate_points(geoms, polygons, key=key, rows=True)
    row = found["_row"].to_numpy()
    # the codes as objects, None where missing, taken by polygon position (not converted point by point)
    code = _lookup(polygons[key], row)
    outside = ~bad & pd.isna(code)
    kind = np.where(bad, 2, np.where(outside, 1, 0))
    status = np.array(["located", "outside", "rejected"], dtype=object)[kind]
    reasons[outside] = OUTSIDE_REASON
    return {key: code, "snapped": found["snapped"].to_numpy(dtype=bool) & ~bad, "status": status,
            "reason": reasons, "row": row, "located": kind == 0}


def _status(points, polygons: gpd.GeoDataFrame, key: str) -> pd.DataFrame:
    """``key``, ``snapped``, ``status``, ``reason`` of each point, aligned to its index."""
    import pandas as pd

    state = _status_arrays(points, polygons, key)
    index = points.index
    return pd.DataFrame({key: pd.Series(state[key], index=index, dtype=object),  # objects: no string inference
                         "snapped": pd.Series(state["snapped"], index=index),
                         "status": pd.Series(state["status"], index=index, dtype=object),
                         "reason": pd.Series(state["reason"], index=index, dtype=object)})


def _locate_partition(points, polygons: gpd.GeoDataFrame, key: str, public_columns=()):
    import geopandas as gpd
    import pandas as pd

    result = _status(points, polygons, key)
    if key != "towncode" and "towncode" in polygons:
        town_of = dict(zip(polygons[key], polygons["towncode"], strict=True))
        result.insert(1, "towncode", pd.Series([town_of.get(c) for c in result[key]], index=result.index,
                                               dtype=object))
    own = _input_columns(points, set(result.columns), public_columns)
    out = own.join(result)
    out[points.geometry.name] = points.geometry.to_numpy()
    return gpd.GeoDataFrame(out, geometry=points.geometry.name, crs=points.crs)


def _meta(points, columns: dict, public_columns=()):
    """Empty GeoDataFrame of a result: the input's own columns, then ``columns`` (name → dtype), geometry."""
    import geopandas as gpd
    import pandas as pd

    base = points._meta if hasattr(points, "_meta") else points.iloc[:0]
    own = _input_columns(base, set(columns), public_columns)
    for name, dtype in columns.items():
        own[name] = pd.Series(dtype=dtype)
    own[base.geometry.name] = gpd.GeoSeries([], crs=base.crs)
    return gpd.GeoDataFrame(own, geometry=base.geometry.name, crs=base.crs)


def _partitioned(points, npartitions: int | None):
    import os

    import dask_geopandas

    if hasattr(points, "map_partitions"):
        return points
    n = npartitions or 2 * (os.cpu_count() or 1)
    return dask_geopandas.from_geopandas(points, npartitions=max(1, min(n, len(points) or 1)))


def _same_dtypes():
    """Dask keeps the input's column dtypes (it would turn text columns into Arrow strings), so both
    engines return equal frames."""
    import dask

    return dask.config.set({"dataframe.convert-string": False})


def locate(
    points,
    polygons: gpd.GeoDataFrame,
    *,
    key: str = "towncode",
    engine: str = "local",
    npartitions: int | None = None,
    client=None,
    public_columns=(),
) -> gpd.GeoDataFrame:
    """Code of the polygon holding each point (see :func:`coverage.geography.locate_points`).

    Parameters
    ----------
    points : GeoDataFrame or dask_geopandas.GeoDataFrame
    polygons : GeoDataFrame
        Townships (``key="towncode"``) or villages (``key="villcode"``).
    key : str
        The polygons' code column.
    engine : {"local", "dask"}
        ``dask`` partitions the points (``npartitions``, default 2 per core) and locates each
        partition in parallel; with ``client`` (a ``distributed.Client``) on that cluster.
    npartitions : int, optional
        Partitions for ``engine="dask"``.
    client : distributed.Client, optional
        The cluster for ``engine="dask"``.
    public_columns : sequence of str
        Columns about a person to keep all the same (others are left out: :func:`dropped_columns`).

    Returns
    -------
    GeoDataFrame aligned to the points' index: the points' own columns but personal ones (one
    named like a result column becomes ``input_<name>``), ``key`` (and ``towncode`` for villages), ``snapped``,
    ``status`` (:data:`STATUSES`), ``reason`` and the geometry. Outside and rejected points have
    no code.
    """

    if engine not in ENGINES:
        raise InputError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "local":
        if hasattr(points, "compute"):
            points = points.compute()
        result = _locate_partition(points, polygons, key, public_columns)
    else:
        with _same_dtypes():
            result = _locate_dask(points, polygons, key, npartitions, client, public_columns)
    result["snapped"] = result["snapped"].to_numpy(dtype=bool)
    return _as_objects(result, [c for c in (key, "towncode", "status", "reason") if c in result])


def locate_parquet(
    source: str | Path,
    out: str | Path,
    polygons: gpd.GeoDataFrame,
    *,
    key: str = "towncode",
    batch_rows: int = 1_000_000,
    public_columns=(),
) -> dict[str, int]:
    """:func:`locate` a GeoParquet file larger than memory, ``batch_rows`` rows at a time.

    Each batch is read, located and written as one part of the GeoParquet dataset ``out`` (a
    directory: ``part-00000.parquet``, … in row order; ``geopandas.read_parquet(out)`` reads it
    whole), and its rejected rows to ``rejected.csv`` inside it. Rows are numbered by position
    from 1 (index ``row``), so the parts, the rejections and the counts refer to the same rows.
    Memory stays that of one batch (plus the polygons and their grid) whatever the file size.

    Parameters
    ----------
    source : str or Path
        The GeoParquet file of points.
    out : str or Path
        The output directory (created if missing).
    polygons : GeoDataFrame
        Townships (or villages, with ``key="villcode"``) to locate in.
    key : str, default "towncode"
        The code column of ``polygons``.
    batch_rows : int, default 1,000,000
        Rows read, located and written at a time (at least 1).
    public_columns : sequence of str, optional
        Input columns to keep although their names look personal (:func:`locate`).

    Returns
    -------
    dict of str to int
        ``rows``, ``located``, ``outside``, ``rejected`` (rows = the other three summed).

    Raises
    ------
    UnreadableFileError
        ``source`` is not a readable GeoParquet file.
    InputError
        ``batch_rows`` is below 1.
    """
    import geopandas as gpd
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .report import write_csv

    source, out = Path(source), Path(out)
    if batch_rows < 1:
        raise InputError(f"batch_rows= must be at least 1, got {batch_rows}")
    try:
        reader = pq.ParquetFile(source)
    except (OSError, pa.ArrowInvalid) as exc:
        raise UnreadableFileError(source, f"not a readable GeoParquet file ({exc})") from exc
    out.mkdir(parents=True, exist_ok=True)
    counts = dict.fromkeys(("rows", *STATUSES), 0)
    rejected = []
    for part, batch in enumerate(reader.iter_batches(batch_size=batch_rows)):
        try:
            frame = gpd.GeoDataFrame.from_arrow(pa.Table.from_batches([batch], schema=reader.schema_arrow))
        except (ValueError, TypeError) as exc:
            raise UnreadableFileError(source, f"not GeoParquet points ({exc})") from exc
        frame.index = pd.RangeIndex(counts["rows"] + 1, counts["rows"] + 1 + len(frame), name="row")
        result = locate(frame, polygons, key=key, public_columns=public_columns)
        result.to_parquet(out / f"part-{part:05d}.parquet")
        rejected.append(point_rejections(frame, file=source.name))
        counts["rows"] += len(frame)
        for status, n in result["status"].value_counts().items():
            counts[status] += int(n)
    from .rejections import empty_rejections

    table = pd.concat([r for r in rejected if len(r)], ignore_index=True) if any(len(r) for r in rejected) else (
        empty_rejections())
    write_csv(table, out / "rejected.csv")
    return counts


def _as_objects(result, columns: list[str]):
    """Result columns as Python objects, None where missing: the same frame from either engine."""
    import pandas as pd

    for col in columns:
        values = result[col].to_numpy(dtype=object)
        missing = pd.isna(values)
        if result[col].dtype == object and not missing.any():
            continue  # already objects, None where missing (pd.isna counts None)
        values = values.copy()
        values[missing] = None
        result[col] = pd.Series(values, index=result.index, dtype=object)
    return result


def _locate_dask(points, polygons, key, npartitions, client, public_columns):
    import dask

    points = _partitioned(points, npartitions)
    cols = {key: object, **({"towncode": object} if key != "towncode" and "towncode" in polygons else {}),
            "snapped": bool, "status": object, "reason": object}
    meta = _meta(points, cols, public_columns)
    # the polygons travel once to each worker as a delayed object, not once per task
    polys = dask.delayed(polygons, pure=True) if client is None else client.scatter(polygons, broadcast=True)
    located = points.map_partitions(_locate_partition, polys, key, tuple(public_columns), meta=meta,
                                    align_dataframes=False)
    return located.compute() if client is None else client.compute(located).result()


# ----------------------------------------------------------------------------- nearest


def land_per_township(townships: gpd.GeoDataFrame, lands: np.ndarray) -> np.ndarray:
    """The land mass (index into ``lands``) of each township, by position; −1 for a township on several
    land masses (or on none), whose points are placed one by one.

    A point inside a township that touches a single land mass lies on that land mass: the township is
    part of it. So island membership of located points comes from their township, and only points
    of multi-island townships, and points snapped from the sea, need a geometric query
    (:func:`coverage.access.land_of`).

    Parameters
    ----------
    townships : GeoDataFrame
        The township polygons, in any CRS (projected to TWD97 TM2 here).
    lands : array of Polygon
        The land masses in TWD97 TM2 metres (:func:`coverage.access.land_masses`).

    Returns
    -------
    array of int64
        Per township (by position), the index of its land mass in ``lands``, or −1.
    """
    import numpy as np
    import shapely

    from .geography import PROJECTED_CRS

    proj = np.asarray(townships.geometry.to_crs(PROJECTED_CRS).values)
    # the tree over the townships, the few land masses as the input (prepared once each): the pairs that
    # intersect, as from the other side (intersects is symmetric), ten times faster than preparing every township
    iland, itown = shapely.STRtree(proj).query(lands, predicate="intersects")
    count = np.bincount(itown, minlength=len(proj))
    out = np.full(len(proj), -1, dtype=np.int64)
    single = count[itown] == 1
    out[itown[single]] = iland[single]
    return out


def _projected_xy(x: np.ndarray, y: np.ndarray, crs) -> tuple[np.ndarray, np.ndarray]:
    """``x, y`` (points' coordinates in ``crs``) in TWD97 TM2 metres: the transform of ``GeoSeries.to_crs``
    on the bare coordinates, as new arrays."""
    import numpy as np

    from .geography import PROJECTED_CRS

    if crs is None:  # same error as before: naive geometries cannot be projected
        import geopandas as gpd

        gpd.GeoSeries([], crs=None).to_crs(PROJECTED_CRS)
    if crs.equals(PROJECTED_CRS):
        return np.array(x, dtype=float), np.array(y, dtype=float)
    x, y = _transformer(crs, PROJECTED_CRS).transform(x, y)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


@lru_cache(maxsize=8)
def _transformer(source, target: str):
    """A pyproj Transformer (building one costs a tenth of a second), kept for the next call: the one
    ``GeoSeries.to_crs`` keeps for the same pair of CRS when geopandas offers it (the land masses and the
    facilities are projected with it), so a call builds one, not two."""
    from pyproj import CRS, Transformer

    try:
        from geopandas.array import TransformerFromCRS as make
    except ImportError:  # pragma: no cover - a geopandas without its cache
        make = Transformer.from_crs
    return make(CRS.from_user_input(source), CRS.from_user_input(target), always_xy=True)


def _point_lands(x, y, town, snapped, lands: np.ndarray, town_land: np.ndarray) -> np.ndarray:
    """Land mass of located points: their township's (:func:`land_per_township`), else by geometry.

    A point snapped from the sea to a township on one land mass is on that land mass: the nearest
    township holds the nearest stretch of coast. Only points of townships on several land masses are
    placed geometrically (and, off the coast, on the nearest land mass)."""
    import numpy as np
    import shapely

    from .access import land_of
    from .geography import prepared_copies

    land = town_land[np.maximum(town, 0)]
    land[town < 0] = -1
    todo = np.flatnonzero(land < 0)
    if len(todo):
        pts = shapely.points(x[todo], y[todo])
        # on a land mass: box candidates, then the exact test on prepared land masses (a tree query with a
        # predicate would test against the unprepared island outlines, point by point)
        ipt, iland = shapely.STRtree(lands).query(pts)
        hit = shapely.intersects(prepared_copies(lands)[iland], pts[ipt])  # never prepare the shared ones
        found = np.full(len(todo), -1, dtype=np.int64)
        found[ipt[hit]] = iland[hit]
        sea = np.flatnonzero(found < 0)  # snapped from the sea: the nearest land mass
        if len(sea):
            found[sea] = land_of(pts[sea], lands)
        land[todo] = found
    return land


def _lookup(values, positions: np.ndarray) -> np.ndarray:
    """``values`` (objects, None where missing) at ``positions``; None at −1."""
    import numpy as np
    import pandas as pd

    table = np.empty(len(values) + 1, dtype=object)  # the last one (position −1) stays None
    table[:-1] = np.asarray(values, dtype=object)
    table[:-1][pd.isna(table[:-1])] = None
    return table[positions]


def _objects(values) -> np.ndarray:
    """``values`` as an array of objects, None where missing."""
    import numpy as np
    import pandas as pd

    table = np.array(values, dtype=object)  # a copy: None written in place
    table[pd.isna(table)] = None
    return table


def _scattered(values: np.ndarray, size: int, parts: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """An array of ``size`` objects, None but at the rows of ``parts`` (rows, positions in ``values``)."""
    import numpy as np

    out = np.empty(size, dtype=object)  # None throughout
    for rows, at in parts:
        out[rows] = values[at]
    return out


def _to_measure(county: np.ndarray, held: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For the own-county rule: the counties (positions, ``county`` −1 for none) in order of first appearance
    over the located points, and the positions of the points of a county that ``held`` (by county) a facility.

    :func:`coverage.access.nearest_by_category` numbers the county groups by first appearance over its points,
    and equidistant facilities may tie by those numbers: handed one leading row per county in this order and
    then only the points to measure, it numbers them as over every point, and gives those points the
    answers it gives them among all (``tests/test_nearest_perf.py``)."""
    import numpy as np
    import pandas as pd

    lead = pd.unique(county)
    return lead[lead >= 0], np.flatnonzero(np.append(held, False)[county])


def _blocks(values: list, n: int) -> np.ndarray:
    """Each of ``values`` ``n`` times over, in blocks, as objects (``np.repeat`` without its per-item loop)."""
    import numpy as np

    out = np.empty(len(values) * n, dtype=object)
    for i, value in enumerate(values):
        out[i * n:(i + 1) * n] = value
    return out


def _absent_reasons(reason: np.ndarray, ok: np.ndarray, county: np.ndarray, names: list,
                    across_counties: bool) -> np.ndarray:
    """Each point's reason when no facility of a programme may serve it: its own ``reason`` unless ``ok``
    (located); for a located point, the programme has no open point (in the point's own county unless
    ``across_counties``; ``county`` is its position in ``names``, −1 for none)."""
    import numpy as np

    out = reason.copy()
    at = np.flatnonzero(ok)
    if across_counties:
        out[at] = "no open point of this programme"
    else:
        text = np.array([f"no open point of this programme of the point's own county ({c})" for c in [*names, None]],
                        dtype=object)
        out[at] = text[county[at]]  # −1: the last, "(None)", as before
    return out


def _nearest_partition(points, facilities: pd.DataFrame, lands, town_land, townships: gpd.GeoDataFrame,
                       cats: list[str], cross_sea: bool, across_counties: bool, public_columns=()):
    """:func:`nearest` for one partition of points (any CRS); ``town_land`` from :func:`land_per_township`.

    Every result column is built as one array (objects with None where missing), and the table once;
    township, county and land mass of each point are taken by the position of its township. The
    coordinates come from the pass that checks them; the rows a facility serves are written one by one
    category, the others keep the reason their point has with no facility (one block, tiled)."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    from geopandas.array import GeometryArray

    from .access import nearest_by_category

    coords: dict[str, np.ndarray] = {}
    state = _status_arrays(points, townships, "towncode", coords)
    ok = state["located"]
    codes = state["towncode"]
    town = np.where(ok, state["row"], -1)
    county_of_town, names = pd.factorize(townships["county"].to_numpy(dtype=object))
    names = list(names)
    county_code = np.append(county_of_town, -1)[town]  # −1 (the appended one) where no township
    if not cats:
        return _meta(points, dict.fromkeys(NEAREST_COLUMNS, object), public_columns)
    n, k = len(points), len(cats)
    # one block of n rows per category, in the order of ``cats``: row i * n + j is point j, category i
    distance, across = np.full(n * k, np.nan), np.full(n * k, np.nan)
    served: list[tuple[np.ndarray, np.ndarray]] = []  # (rows, facility positions)
    at_sea: list[np.ndarray] = []  # rows with no facility on the island but one across the sea
    if ok.any() and len(facilities):
        at = np.flatnonzero(ok)
        lead = np.empty(0, dtype=np.int64)
        if across_counties or not names:
            sub = at
        else:
            # a point of a county without facilities (each county serves its own) is measured to none: it is
            # neither projected nor placed on a land mass, nor handed to the k-d core. That core numbers the
            # county groups by first appearance over its points (equidistant facilities tie by those numbers),
            # so one row per county leads, in the order of first appearance over every located point; the
            # leading rows' answers are dropped
            held = set(facilities["county"].dropna().tolist()) if "county" in facilities else set()
            lead, keep = _to_measure(county_code[at], np.array([c in held for c in names], dtype=bool))
            sub = at[keep]
        m = len(lead)
        x, y = np.zeros(m + len(sub)), np.zeros(m + len(sub))
        land = np.zeros(m + len(sub), dtype=np.int64)
        if len(sub):
            x[m:], y[m:] = _projected_xy(coords["x"][sub], coords["y"][sub], points.crs)
            land[m:] = _point_lands(x[m:], y[m:], town[sub], state["snapped"][sub], lands, town_land)
        county = (pd.Categorical.from_codes(np.concatenate([lead, county_code[sub]]), categories=names) if names
                  else pd.Series(None, index=range(len(sub)), dtype=object))
        frame = pd.DataFrame({"code": np.concatenate([np.full(m, -1), sub]), "x": x, "y": y, "land": land,
                              "county": county}, copy=False)
        block = {c: i for i, c in enumerate(cats)}
        for category, near in nearest_by_category(frame, facilities, cross_sea=cross_sea,
                                                  across_counties=across_counties):
            if category not in block:
                continue
            # only the measured points (a distance, or one across the sea) are written; the rest stay none
            i = block[category] * n
            found, facility, sea_m = near["distance_m"][m:], near["facility"][m:], near["across_sea_m"][m:]
            got = np.flatnonzero(facility >= 0)
            rows = i + sub[got]
            distance[rows] = found[got] / 1000
            served.append((rows, facility[got]))
            sea = np.flatnonzero(~np.isnan(sea_m))
            across[i + sub[sea]] = sea_m[sea] / 1000
            at_sea.append(i + sub[sea])
    own = _input_columns(points, set(NEAREST_COLUMNS), public_columns)
    # every row's reason as if no facility served it, then the served rows and those served across the sea
    reason = np.tile(_absent_reasons(state["reason"], ok, county_code, names, across_counties), k)
    for rows in at_sea:
        reason[rows] = "no open point of this programme on the island; nearest across the sea"
    for rows, _ in served:
        reason[rows] = state["reason"][rows % n]  # the point's own (a located point has none)
    columns = {
        "point": np.tile(points.index.to_numpy(), k),
        "towncode": np.tile(codes, k),
        "status": np.tile(state["status"], k),
        "reason": reason,
        "category": _blocks(cats, n),
        "distance_km": distance,
        "facility_id": _scattered(_objects(facilities["facility_id"]), n * k, served),
        "facility_name": _scattered(_objects(facilities["name"]), n * k, served),
        "facility_towncode": _scattered(_objects(facilities["towncode"]), n * k, served),
        "across_sea_km": across,
    }
    # the points' geometries k times over, wrapped without the copy a new GeoSeries would make
    values = points.geometry.values
    geometry = pd.Series(GeometryArray(np.tile(np.asarray(values), k), crs=values.crs), copy=False)
    if own.columns.is_unique and points.geometry.name not in own.columns:
        data = {c: _tiled(own[c], k) for c in own.columns}
        for c, v in columns.items():  # objects stay objects (no string inference); "point" as before
            data[c] = (pd.Series(v, dtype=object, copy=False) if v.dtype == object and c != "point"
                       else pd.Series(v, copy=False))
        data[points.geometry.name] = geometry
        return gpd.GeoDataFrame(data, geometry=points.geometry.name, crs=points.crs, copy=False)
    out = own.take(np.tile(np.arange(n), k)).reset_index(drop=True)
    for c, v in columns.items():
        out[c] = pd.Series(v, dtype=object, copy=False) if v.dtype == object and c != "point" else v
    out[points.geometry.name] = geometry
    out = out[[*own.columns, *NEAREST_COLUMNS, points.geometry.name]]
    return gpd.GeoDataFrame(out, geometry=points.geometry.name, crs=points.crs)


def _tiled(column: pd.Series, k: int) -> pd.Series:
    """``column`` k times over, numbered from 0 (``Series.take`` of its rows k times)."""
    import numpy as np

    return column.take(np.tile(np.arange(len(column)), k)).reset_index(drop=True)


def nearest(
    points,
    facilities: gpd.GeoDataFrame,
    townships: gpd.GeoDataFrame,
    *,
    as_of: object = None,
    categories: list[str] | None = None,
    cross_sea: bool = False,
    across_counties: bool = False,
    engine: str = "local",
    npartitions: int | None = None,
    client=None,
    public_columns=(),
) -> gpd.GeoDataFrame:
    """Distance from every point to the nearest open facility of each programme.

    Parameters
    ----------
    points : GeoDataFrame or dask_geopandas.GeoDataFrame
        Any CRS. Each point is first located (:func:`locate`): a point in no township (more
        than 1 km out) is ``outside`` and gets no distance; a row with no usable coordinates
        is ``rejected``.
    facilities : GeoDataFrame
        A registry's facilities (:attr:`coverage.Registry.facilities`); those open on ``as_of``.
    townships : GeoDataFrame
        Where points are located; their union gives the land masses (a facility serves across
        the sea only with ``cross_sea``).
    as_of : date-like, optional
        Facilities open on this date count (default today).
    categories : list of str, optional
        Programmes to measure to; default every programme with an open facility.
    cross_sea : bool
        Let a facility serve points on another land mass.
    across_counties : bool
        Let other counties' facilities serve a point. Default False: a point is measured to the
        facilities of its own county (a county-run programme serves its own residents); in a
        county with none, its distance is absent and the ``reason`` says so.
    engine, npartitions, client, public_columns
        As in :func:`locate`.

    Returns
    -------
    GeoDataFrame, one row per point × category, sorted by category then point: the points' own
    columns but personal ones (renamed ``input_<name>`` where a result column has the name), then
    :data:`NEAREST_COLUMNS`: ``point`` (the points' index label), ``towncode``, ``status``,
    ``reason``, ``category``, ``distance_km`` (NaN when outside, rejected or no facility may
    serve the point), ``facility_id``, ``facility_name``, ``facility_towncode``,
    ``across_sea_km``; and the geometry.
    """

    from .access import facility_points, land_masses

    if engine not in ENGINES:
        raise InputError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    masses = land_masses(townships)
    fac = facility_points(facilities, masses, as_of=as_of, categories=categories, townships=townships)
    cats = list(dict.fromkeys(categories)) if categories else sorted(set(fac["category"]))
    if not cats:
        raise InputError("facilities= has no open facility on the as_of date: nothing to measure to")
    if engine == "local":
        if hasattr(points, "compute"):
            points = points.compute()
        result = _nearest_partition(points, fac, masses, land_per_township(townships, masses), townships, cats,
                                    cross_sea, across_counties, public_columns)
        ordered = points.index.is_monotonic_increasing  # blocks by category, each in the points' order
        return _nearest_result(result, cats, ordered, objects=True)
    else:
        shared = (fac, masses, land_per_township(townships, masses), townships)
        result = _nearest_dask(points, shared, cats, cross_sea, across_counties, npartitions, client,
                               public_columns)
        ordered = False
    return _nearest_result(result, cats, ordered)


def _nearest_dask(points, shared: tuple, cats, cross_sea, across_counties, npartitions, client, public_columns):
    """:func:`nearest` over partitions; ``shared`` (facilities, land masses, land of each township, townships)
    travel once to each worker."""
    import dask

    with _same_dtypes():
        points = _partitioned(points, npartitions)
        cols = {c: (float if c in ("distance_km", "across_sea_km") else object) for c in NEAREST_COLUMNS}
        meta = _meta(points, cols, public_columns)
        if client is None:
            handles = [dask.delayed(v, pure=True) for v in shared]
        else:
            handles = [client.scatter(v, broadcast=True) for v in shared]
        parts = points.map_partitions(_nearest_partition, *handles, cats, cross_sea,
                                      across_counties, tuple(public_columns), meta=meta, align_dataframes=False)
        return parts.compute() if client is None else client.compute(parts).result()


def _nearest_result(result, cats: list[str], ordered: bool, objects: bool = False):
    """Rows sorted by category then point (``ordered``: they already are), numbered from 0, the same
    dtypes from either engine (``objects``: the text columns already are objects, None where missing)."""
    import pandas as pd

    if not ordered:
        order = pd.Categorical(result["category"], categories=cats, ordered=True)
        result = result.assign(_cat=order).sort_values(["_cat", "point"], kind="stable").drop(columns="_cat")
    result = result.reset_index(drop=True)
    for col in ("distance_km", "across_sea_km"):
        if result[col].dtype != "float64":  # (the local engine's are: no two copies of 4 × 10^6 floats)
            result[col] = pd.to_numeric(result[col]).astype(float)
    if objects:
        return result
    return _as_objects(result, ["towncode", "status", "reason", "category", "facility_id", "facility_name",
                                "facility_towncode"])
