"""Reading road files and speeds tables for :mod:`coverage.network`.

Reading (:func:`coverage.network.read_network`)
    Any GDAL line layer (shapefile, GeoPackage, GeoJSON — an OpenStreetMap export or a 道路中心線
    layer) or an OpenStreetMap ``.osm.pbf`` (GDAL's OSM driver, layer ``lines``). The road class comes
    from ``road_class_column`` or the first of :data:`CLASS_COLUMNS` present; every class must have a
    speed (:data:`coverage.network.DEFAULT_SPEEDS`, or a ``speeds`` table ``class,kmh``): missing classes are one error
    listing them; a class written otherwise in case, width or spacing (``Primary``, ``ｐｒｉｍａｒｙ``) takes
    its class's speed. ``oneway`` (any case; yes/true/1 forward, -1/reverse against the line, no/0/reversible/
    alternating both ways; Geofabrik's B/F/T when the class column is ``fclass`` or a value is B) is respected
    where tagged; any other value in a file's ``oneway`` column is one error listing them, while in an
    ``.osm.pbf``'s tags (which a planner cannot fix) its lines are taken both ways, counted
    (:attr:`coverage.network.RoadNetwork.oneway_unknown`) and reported.

Hostile files
    A road file is read whole or refused in one line naming it (and the feature): a feature GDAL reads
    without geometry although the file holds one (a damaged shapefile record, a GeoPackage blob cut or with a
    wrong envelope flag, GeoJSON coordinates of no known form) is refused — only a geometry written as null
    or empty is a counted feature without geometry; a shapefile whose ``.dbf``/``.shx`` count other records
    than were read is refused; a vertex NaN, infinite or beyond 10,000 km, or metres under a lon/lat CRS
    (a GeoJSON without ``crs`` is WGS84), is refused; a file of several line layers is refused listing them
    (``layer=`` picks one); an empty part of a multi-line is no road, the rest is routed. A shapefile's
    companion files are part of the graph cache's key. Not detectable: an ``.osm.pbf`` cut exactly at a blob
    boundary (a valid, smaller file), and coordinates in a projected CRS other than the declared one that
    still fall on Earth (they route, off the villages, which then get no minutes with the reason).
"""

from __future__ import annotations

import hashlib
import logging
import re
from glob import escape as glob_escape
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InputError, UnreadableFileError

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import numpy as np
    import pandas as pd

__all__ = ["CLASS_COLUMNS", "MAX_COORD", "checked_speeds", "companion_hashes", "feature_list", "file_hash",
           "oneway_codes", "read_lines", "read_speeds", "road_classes"]

log = logging.getLogger(__name__)

#: Columns tried, in order, for the road class when none is named.
CLASS_COLUMNS = ("highway", "fclass", "road_class", "roadclass", "class", "type", "道路等級", "道路類別", "道路分類")

_ONEWAY_FWD = {"yes", "true", "1", "t", "y", "是"}
_ONEWAY_REV = {"-1", "reverse"}
_OSM_TAG = re.compile(r'"oneway"=>"([^"]*)"')


def read_speeds(path: str | Path) -> dict[str, float]:
    """A speeds table: CSV with columns ``class,kmh`` (one row per road class, km/h > 0).

    Each physical line is one row: a quote left open is an error naming the row, never a record merged
    with the next lines. Classes are matched to the road file's as written, else ignoring case, width
    (full-width letters) and spacing; two rows of one class (so compared) with different speeds are an
    error naming both rows.

    Parameters
    ----------
    path : str or Path
        The CSV file (UTF-8, with or without BOM).

    Returns
    -------
    dict of str to float
        Road class → speed in km/h.

    Raises
    ------
    UnreadableFileError
        The file cannot be read, is not UTF-8 (the row is named), or has no ``class,kmh`` header.
    InputError
        A row without 2 cells, an unbalanced quote, a speed that is not a number in (0, 200], or one class
        given two speeds; the message names the row.
    """
    import csv

    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UnreadableFileError(path, f"cannot read ({exc})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_no = raw[: exc.start].count(b"\n") + 1
        raise UnreadableFileError(path, f"row {line_no}: not UTF-8 (byte 0x{raw[exc.start]:02x}); save the table as "
                                  "UTF-8") from exc
    rows: list[tuple[int, list[str]]] = []
    for n, line in enumerate(text.splitlines(), start=1):
        try:
            rows.append((n, next(csv.reader([line], strict=True), [])))
        except csv.Error:
            raise InputError(f"{path.name} row {n}: an unbalanced quote (\" opened and not closed on its line); "
                             "quote whole cells or remove the stray quote") from None
    if not rows or [c.strip().lower() for c in rows[0][1][:2]] != ["class", "kmh"]:
        raise UnreadableFileError(path, "expected a header 'class,kmh'")
    speeds: dict[str, float] = {}
    seen: dict[str, tuple[int, float]] = {}
    for n, row in rows[1:]:
        if not any(c.strip() for c in row):
            continue
        if len(row) != 2:
            raise InputError(f"{path.name} row {n}: expected 2 cells (class,kmh), found {len(row)}")
        kmh = _speed(row[1], f"{path.name} row {n}")
        cls = row[0].strip()
        first = seen.setdefault(_class_key(cls), (n, kmh))
        if first[1] != kmh:
            raise InputError(f"{path.name} row {n}: class '{cls}' is given {kmh:g} km/h, and {first[1]:g} km/h "
                             f"in row {first[0]}; give each class once")
        speeds.setdefault(cls, kmh)
    return speeds


def _speed(value, where: str) -> float:
    """``value`` as a speed in (0, 200] km/h, else an error starting with ``where``."""
    try:
        kmh = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{where}: kmh {value!r} is not a number") from None
    if not (0 < kmh <= 200):  # NaN and inf too
        raise InputError(f"{where}: kmh {kmh:g} is not in (0, 200]")
    return kmh


def _class_key(name: str) -> str:
    """A road class as compared when not written alike: NFKC (full-width letters), case and spacing ignored."""
    import unicodedata

    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def checked_speeds(speeds: dict, what: str = "speeds=") -> dict[str, float]:
    """A speeds table given in code, checked: every speed a number in (0, 200] km/h, no class given twice
    (compared ignoring case, width and spacing) with two speeds.

    Parameters
    ----------
    speeds : dict
        Road class → km/h.
    what : str
        How the table is named in an error (the parameter).

    Returns
    -------
    dict
        Class (as text) → km/h (float).

    Raises
    ------
    InputError
        A speed that is not a number in (0, 200], or one class with two speeds.
    """
    out: dict[str, float] = {}
    seen: dict[str, tuple[str, float]] = {}
    for cls, value in speeds.items():
        kmh = _speed(value, f"{what} class {cls!r}")
        name = str(cls).strip()
        first = seen.setdefault(_class_key(name), (name, kmh))
        if first[1] != kmh:
            raise InputError(f"{what} classes {first[0]!r} and {name!r} are one class with two speeds "
                             f"({first[1]:g} and {kmh:g} km/h); give it once")
        out.setdefault(name, kmh)
    return out


def companion_hashes(path: Path) -> list[list[str]]:
    """Content hashes of a shapefile's companion files (``.dbf``, ``.shx``, ``.prj``, ``.cpg``, any case) that
    exist: part of the graph's cache key, so that editing the attribute table is never answered from the cache.

    Parameters
    ----------
    path : Path
        The road file (anything but a ``.shp`` has no companions).

    Returns
    -------
    list of [suffix, hash]
        Sorted by file name.
    """
    if path.suffix.lower() != ".shp":
        return []
    others = sorted(path.parent.glob(f"{glob_escape(path.stem)}.*"))
    return [[other.suffix.lower(), file_hash(other)] for other in others
            if other.suffix.lower() in (".dbf", ".shx", ".prj", ".cpg") and other.is_file()]


def file_hash(path: Path) -> str:
    """The first 16 hex digits of a file's SHA-256, read in 1 MiB blocks.

    Parameters
    ----------
    path : Path
        The file.

    Returns
    -------
    str
    """
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


#: Largest coordinate (m, TWD97 TM2) of a vertex: 10,000 km, beyond any place on Earth the projection maps; a
#: larger or non-finite one is a damaged vertex (and would overflow the graph's 1 cm vertex keys).
MAX_COORD = 1e7


def feature_list(positions, limit: int = 5, noun: str = "feature") -> str:
    """'feature 3' / 'features 3, 7, 9 … (12 in all)' for messages.

    Parameters
    ----------
    positions : sequence of int
        0-based positions of the features (shown 1-based).
    limit : int
        Positions shown at most.
    noun : str
        What the positions are ("feature", "line").

    Returns
    -------
    str
    """
    shown = ", ".join(str(int(p) + 1) for p in positions[:limit])
    more = f" … ({len(positions)} in all)" if len(positions) > limit else ""
    return f"{noun}{'s' if len(positions) > 1 else ''} {shown}{more}"


def _line_layer(path: Path, layer: str | None) -> str | None:
    """The layer to read: ``layer`` (an error listing the file's line layers when it has no such layer), ``lines``
    for an ``.osm.pbf``, else the file's only line layer when it has several layers; several line layers are an
    error listing them (which of them is the road network is not guessed)."""
    import pyogrio

    if layer is None and path.name.lower().endswith(".pbf"):
        return "lines"
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # GDAL raises DataSourceError, DataLayerError, …
        raise UnreadableFileError(path, f"not a readable line layer ({' '.join(str(exc).split())})") from exc
    lines = [str(name) for name, kind in layers if "linestring" in str(kind).lower()]
    if layer is not None:
        if layer not in {str(name) for name, _ in layers}:
            raise UnreadableFileError(path, f"no layer {layer!r} (its line layers: {', '.join(lines) or 'none'})")
        return layer
    if len(layers) < 2:
        return None
    if len(lines) > 1:
        raise UnreadableFileError(path, f"{len(lines)} line layers ({', '.join(lines)}): a road network is one "
                                  "layer: name one with road_layer= (read_network's layer parameter), or save it alone")
    return lines[0] if lines else None


def read_lines(path: Path, layer: str | None) -> tuple[gpd.GeoDataFrame, int]:
    """A road file's lines in TWD97 TM2 metres, read whole or refused (see the module's docstring).

    Parameters
    ----------
    path : Path
        A GDAL line layer or an ``.osm.pbf``.
    layer : str or None
        The layer to read (default: the file's only line layer; ``lines`` for an ``.osm.pbf``).

    Returns
    -------
    (GeoDataFrame, int)
        The features with a line geometry, and the number without geometry (null or empty: counted, not
        roads).

    Raises
    ------
    UnreadableFileError, InputError
        A file that cannot be read, or a damaged feature, named.
    """
    import warnings

    import numpy as np
    import pyogrio
    import shapely

    from .geography import PROJECTED_CRS

    if not path.exists():
        raise UnreadableFileError(path, "file not found")
    layer = _line_layer(path, layer)
    try:
        with warnings.catch_warnings(record=True) as caught:  # GDAL's warnings: logged, the same in tests and use
            warnings.simplefilter("always")
            frame = pyogrio.read_dataframe(path, layer=layer, fid_as_index=True)
    except Exception as exc:  # GDAL raises DataSourceError, DataLayerError, …
        if path.suffix.lower() == ".shp":  # a damaged record GEOS refused (e.g. one point left): named
            _damaged_geometries(path, layer, None, None)
        raise UnreadableFileError(path, f"not a readable line layer ({' '.join(str(exc).split())})") from exc
    for w in caught:  # numpy's "invalid value encountered in from_wkb" (a NaN vertex): the check below names it
        numeric = issubclass(w.category, RuntimeWarning) and "encountered in" in str(w.message)
        log.log(logging.DEBUG if numeric else logging.WARNING, "%s: %s", path.name, " ".join(str(w.message).split()))
    if frame.crs is None:
        raise UnreadableFileError(path, "the layer has no coordinate reference system (a shapefile needs its .prj): "
                                  "its coordinates are not guessed")
    if frame.empty:
        raise UnreadableFileError(path, "the layer has no features (no roads)")
    geoms = frame.geometry.to_numpy()
    missing = shapely.is_missing(geoms)  # GeoSeries.notna() warns on empty geometries
    _damaged_geometries(path, layer, frame, missing)
    types = set(frame.geometry.geom_type.dropna())
    if not types or not types <= {"LineString", "MultiLineString"}:
        raise UnreadableFileError(path, f"expected lines, found {', '.join(sorted(types)) or 'no geometry'}")
    keep = ~missing & ~shapely.is_empty(geoms)
    _check_coordinates(path, frame.crs, geoms, keep, projected=False)
    frame = frame.reset_index(drop=True)[keep].explode(index_parts=False)
    frame = frame[~frame.geometry.is_empty.to_numpy()]  # an empty part of a multi-line: no road, the rest routed
    position = frame.index.to_numpy()  # the feature of each line
    frame = frame.to_crs(PROJECTED_CRS).reset_index(drop=True)
    _check_coordinates(path, frame.crs, frame.geometry.to_numpy(), np.ones(len(frame), dtype=bool), projected=True,
                       position=position)
    return frame, int((~keep).sum())


def _check_coordinates(path: Path, crs, geoms: np.ndarray, keep: np.ndarray, *, projected: bool,
                       position: np.ndarray | None = None) -> None:
    """Every vertex finite and on Earth (in the layer's own CRS when geographic: lon within ±180°, lat ±90°;
    after projection to TWD97 TM2 within :data:`MAX_COORD`): else one error naming the features
    (``position``: the feature of each geometry, when exploded). Checked in blocks of lines (bounded memory)."""
    import numpy as np

    if not projected and not crs.is_geographic:
        return
    if not projected:
        limit = np.array([180.0, 90.0])
        # NaN: not here (a damaged vertex, refused after projection)
        at, x, y = _bad_vertices(geoms, keep, lambda c: (np.abs(c) > limit).any(axis=1))
        if len(at):
            raise InputError(f"{path.name} {feature_list(at)}: ({x:g}, {y:g}) is not a longitude/latitude, yet the "
                             f"layer's CRS is {crs.name} (a GeoJSON without a 'crs' member is WGS84): give the file "
                             "its real CRS")
        return
    at, _, _ = _bad_vertices(geoms, keep, lambda c: ~(np.abs(c) <= MAX_COORD).all(axis=1))
    if len(at):
        why = ("every feature: is the declared CRS the one of the coordinates?" if len(at) == len(geoms) else
               "a damaged geometry: repair or drop the feature")
        raise InputError(f"{path.name} {feature_list(position[at] if position is not None else at)}: a vertex is not "
                         f"a finite coordinate on Earth (NaN, infinite, or beyond 10,000 km once moved from the "
                         f"layer's CRS to TWD97 TM2): {why}")


def _bad_vertices(geoms: np.ndarray, keep: np.ndarray, bad, block: int = 200_000) -> tuple[np.ndarray, float, float]:
    """Positions of the geometries (among ``keep``) with a vertex that ``bad`` flags (2-D coordinates → bool per
    vertex), and the first such vertex; the lines are taken a block at a time."""
    import numpy as np
    import shapely

    rows = np.flatnonzero(keep)
    found: list[np.ndarray] = []
    first = (np.nan, np.nan)
    for start in range(0, len(rows), block):
        part = rows[start: start + block]
        coords, index = shapely.get_coordinates(geoms[part], return_index=True)
        flag = bad(coords)
        if flag.any():
            found.append(np.unique(part[index[flag]]))
            if not len(found) - 1:
                first = tuple(coords[flag][0])
    return (np.concatenate(found) if found else np.zeros(0, dtype=np.int64)), float(first[0]), float(first[1])


def _damaged_geometries(path: Path, layer: str | None, frame, missing: np.ndarray | None) -> None:
    """Features GDAL read without geometry although the file holds one (a cut or damaged record, an unknown
    geometry type): one error naming them. Truly null geometries pass (counted by the caller). ``frame`` None:
    the read failed (a shapefile's records are then checked on their own)."""
    import numpy as np

    suffix = path.suffix.lower()
    if suffix == ".shp":  # record counts checked even when every geometry was read
        damaged = _shapefile_damage(path, None if frame is None else len(frame), missing)
    elif missing is None or not missing.any():
        return
    elif suffix == ".gpkg":
        damaged = _gpkg_damage(path, layer, frame, missing)
    elif suffix in (".geojson", ".json"):
        damaged = _geojson_damage(path, missing)
    else:
        return
    if len(damaged):
        raise InputError(f"{path.name} {feature_list(np.asarray(damaged))}: the geometry cannot be read (a cut or "
                         "damaged record, or an unknown geometry type), so the road would vanish: repair the file")


def _geojson_damage(path: Path, missing: np.ndarray) -> np.ndarray:
    """Features without geometry beyond those written ``"geometry": null``: all of them when none is so
    written, else none named (the file is not parsed a second time)."""
    import mmap

    import numpy as np

    pattern = re.compile(rb'(?<!\\)"geometry"\s*:\s*null')
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        written_null = sum(1 for _ in pattern.finditer(data))
    at = np.flatnonzero(missing)
    if written_null >= len(at):
        return np.zeros(0, dtype=np.int64)
    if written_null == 0:
        return at
    raise InputError(f"{path.name}: {len(at)} features have no geometry GDAL can read but only {written_null} are "
                     f"written \"geometry\": null; the others (among {feature_list(at)}) are damaged: repair the file")


def _shapefile_damage(path: Path, n_read: int | None, missing: np.ndarray | None) -> np.ndarray:
    """Shapefile records GDAL returned without geometry (``missing``) whose ``.shp`` shape type is not null (0),
    or whose content length does not fit their parts and points; the ``.shx``, ``.dbf`` and features read
    (``n_read``, when the read succeeded) must count the same records. Positions of the damaged records."""
    import numpy as np

    shx, dbf = _companion(path, ".shx"), _companion(path, ".dbf")
    if not shx.exists():
        return np.zeros(0, dtype=np.int64)
    index = np.frombuffer(shx.read_bytes()[100:], dtype=">i4")
    n_shx = len(index) // 2
    if dbf.exists():
        with dbf.open("rb") as fh:
            head = fh.read(8)
        n_dbf = int.from_bytes(head[4:8], "little") if len(head) == 8 else -1
        if n_dbf != n_shx:
            raise UnreadableFileError(path, f"{dbf.name} holds {n_dbf:,} records and {shx.name} {n_shx:,}: one of the "
                                      "files is cut short or they do not belong together")
    if n_read is not None and n_read != n_shx:
        raise UnreadableFileError(path, f"{n_read:,} features read of the {n_shx:,} records in {shx.name}")
    offset = index[0 : 2 * n_shx : 2].astype(np.int64) * 2 + 8  # record content
    length = index[1 : 2 * n_shx : 2].astype(np.int64) * 2
    shp = np.memmap(path, dtype=np.uint8, mode="r")
    whole = (offset >= 8) & (offset + np.maximum(length, 4) <= len(shp))
    kind = np.full(n_shx, -1, dtype=np.int64)
    ok = np.flatnonzero(whole)
    kind[ok] = _le_int32(shp, offset[ok])
    # read as no geometry, written as some
    damaged = np.zeros(n_shx, dtype=bool) if missing is None else missing & (kind != 0)
    lines = np.flatnonzero(whole & np.isin(kind, (3, 13, 23)) & (length >= 44))
    if len(lines):
        parts, points = _le_int32(shp, offset[lines] + 36), _le_int32(shp, offset[lines] + 40)
        xy = 44 + 4 * parts + 16 * points
        zm = 16 + 8 * points
        fits = np.where(kind[lines] == 3, length[lines] == xy,
                        np.where(kind[lines] == 23, (length[lines] == xy) | (length[lines] == xy + zm),
                                 (length[lines] == xy + zm) | (length[lines] == xy + 2 * zm)))
        damaged[lines[~fits]] = True
    del shp
    return np.flatnonzero(damaged)


def _companion(path: Path, suffix: str) -> Path:
    """A shapefile's companion file with ``suffix`` in lower or upper case (the lower-case path when neither)."""
    upper = path.with_suffix(suffix.upper())
    return upper if not path.with_suffix(suffix).exists() and upper.exists() else path.with_suffix(suffix)


def _le_int32(data: np.ndarray, at: np.ndarray) -> np.ndarray:
    import numpy as np

    b = data[at[:, None] + np.arange(4)].astype(np.int64)
    value = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16) | (b[:, 3] << 24)
    return np.where(value >= 2**31, value - 2**32, value)


def _gpkg_damage(path: Path, layer: str | None, frame, missing: np.ndarray) -> np.ndarray:
    """Features of a GeoPackage GDAL read without geometry although their geometry blob is not NULL."""
    import sqlite3

    import numpy as np
    import pyogrio

    try:
        info = pyogrio.read_info(path, layer=layer)
        table, fid, geom = info["layer_name"], info["fid_column"], info["geometry_name"]
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            written = {r[0] for r in con.execute(f'SELECT "{fid}" FROM "{table}" WHERE "{geom}" IS NOT NULL')}
        finally:
            con.close()
    except (sqlite3.Error, KeyError, TypeError, ValueError):
        return np.zeros(0, dtype=np.int64)
    at = np.flatnonzero(missing)
    return at[np.isin(frame.index.to_numpy()[at], list(written))]


def _as_text(values) -> pd.Series:
    """A column as text per feature: blank for a missing value, whole numbers without ``.0`` (an integer column
    with a gap is read as floats)."""
    import numpy as np
    import pandas as pd

    if pd.api.types.is_float_dtype(values.dtype):
        v = values.to_numpy(dtype=float)
        whole = (np.abs(np.nan_to_num(v)) < 2**53) & (np.mod(np.nan_to_num(v), 1) == 0) & np.isfinite(v)
        text = np.where(whole, np.char.mod("%d", np.where(whole, v, 0).astype(np.int64)), values.astype(str).to_numpy())
        return pd.Series(np.where(np.isnan(v), "", text).astype(object), index=values.index)
    return values.astype(object).where(values.notna(), "").astype(str)


def road_classes(frame, path: Path, column: str | None, speeds: dict[str, float]) -> tuple[np.ndarray, str, np.ndarray]:
    """Each line's road class and speed: a class is found in ``speeds`` as written, else ignoring case, width
    and spacing.

    Parameters
    ----------
    frame : DataFrame
        The lines (:func:`read_lines`).
    path : Path
        The road file, for messages.
    column : str or None
        The class column (default: the first of :data:`CLASS_COLUMNS` present, in any case).
    speeds : dict
        Class → km/h.

    Returns
    -------
    (ndarray, str, ndarray)
        Each line's class (as written, stripped), the class column, each line's km/h.

    Raises
    ------
    InputError
        No class column, or classes without a speed (listed with their counts).
    """
    import numpy as np

    if column is None:
        lower = {str(c).lower(): c for c in frame.columns}
        column = next((lower[c.lower()] for c in CLASS_COLUMNS if c.lower() in lower), None)
        if column is None:
            raise InputError(f"{path.name}: no road-class column; tried {', '.join(CLASS_COLUMNS)} "
                             "(name one with road_class_column=)")
    elif column not in frame.columns:
        raise InputError(f"{path.name}: no column {column!r}; columns are {', '.join(map(str, frame.columns))}")
    import pandas as pd

    cls = _as_text(frame[column]).str.strip().to_numpy(dtype=object)
    by_key = {_class_key(k): v for k, v in reversed(speeds.items())}  # the first of a key wins, as in speeds
    inverse, names = pd.factorize(cls, sort=True)
    kmh = np.array([speeds[n] if n in speeds else by_key.get(_class_key(n), np.nan) for n in names], dtype=float)
    missing = [str(n) for n in names[np.isnan(kmh)]]
    if missing:
        counts = np.bincount(inverse, minlength=len(names))[np.isnan(kmh)]
        listed = ", ".join(f"{m or '(blank)'} ({c})" for m, c in zip(missing[:20], counts[:20], strict=False))
        listed += f" … ({len(missing)} classes)" if len(missing) > 20 else ""
        raise InputError(f"{path.name}: road classes without a speed: {listed}; give them in a speeds table "
                         "(class,kmh) or drop those lines")
    return cls, column, kmh[inverse]


#: ``oneway`` values taken both ways: untagged, no, and OSM's reversible/alternating (direction by time of day).
_ONEWAY_BOTH = {"", "no", "false", "0", "n", "否", "reversible", "alternating"}
#: Geofabrik's shapefiles (``fclass``): B both ways, F along the line, T against it.
_GEOFABRIK = {"b": 0, "f": 1, "t": -1}


def oneway_codes(frame, path: Path | None = None, class_column: str | None = None
            ) -> tuple[np.ndarray, dict[str, int]]:
    """+1 forward only, -1 reverse only, 0 both ways, and the lines per value of no known meaning.

    The column ``oneway`` (any case), else OSM's tag in ``other_tags``. Geofabrik's B/F/T coding is used
    when the class column is ``fclass`` or a value is ``B``; else ``t``/``f`` are true/false. A value of
    no known meaning in a ``oneway`` column is an error listing them; in OSM's tags (an ``.osm.pbf``,
    which a planner cannot fix by hand) its lines are taken both ways and counted, with a warning.

    Parameters
    ----------
    frame : DataFrame
        The lines.
    path : Path, optional
        The road file, for messages.
    class_column : str, optional
        The road-class column (``fclass``: Geofabrik's coding).

    Returns
    -------
    (ndarray, dict)
        int8 code per line; OSM value of no known meaning → lines (empty unless read from OSM tags).

    Raises
    ------
    InputError
        A ``oneway`` column with values of no known meaning (listed with their counts).
    """
    import numpy as np
    import pandas as pd

    out = np.zeros(len(frame), dtype=np.int8)
    column = "oneway" if "oneway" in frame.columns else next(
        (c for c in frame.columns if str(c).lower() == "oneway"), None)
    if column is not None:
        values = _as_text(frame[column]).str.strip().str.lower()
    elif "other_tags" in frame.columns:  # GDAL's OSM driver keeps unlisted tags here
        values = (frame["other_tags"].fillna("").astype(str).str.extract(_OSM_TAG, expand=False).fillna("")
                  .str.strip().str.lower())
    else:
        return out, {}
    from_tags = column is None
    inverse, names = pd.factorize(values.to_numpy(dtype=object), sort=True)
    geofabrik = str(class_column).lower() == "fclass" or "b" in set(names)
    code = {}
    for name in names:
        if geofabrik and name in _GEOFABRIK:
            code[name] = _GEOFABRIK[name]
        elif name in _ONEWAY_FWD:
            code[name] = 1
        elif name in _ONEWAY_REV:
            code[name] = -1
        elif name in _ONEWAY_BOTH or (name == "f" and not geofabrik):
            code[name] = 0
    unknown = [n for n in names if n not in code]
    counts = np.bincount(inverse, minlength=len(names))
    listed = ", ".join(f"{n} ({counts[list(names).index(n)]})" for n in unknown[:10])
    where = path.name if path is not None else "oneway"
    if unknown and from_tags:
        log.warning("%s: %d lines with an OSM oneway value of no known meaning, taken both ways: %s", where,
                    sum(int(counts[list(names).index(n)]) for n in unknown), listed)
        code.update(dict.fromkeys(unknown, 0))
    elif unknown:
        raise InputError(f"{where}: oneway values of no known meaning: {listed}; expected yes/true/1, no/false/0, "
                         "-1/reverse (or Geofabrik's B/F/T): fix or drop those lines")
    return (np.array([code[n] for n in names], dtype=np.int8)[inverse],
            {str(n): int(counts[list(names).index(n)]) for n in unknown})
