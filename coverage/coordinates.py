"""Coordinates of registry rows: recognised, reprojected and located in a township.

WGS84 ``lon``/``lat`` are used when given, else TWD97 TM2 ``x``/``y`` (EPSG:3826; EPSG:3825 for
a point that only lands in a township, or in its declared county, that way). Old TWD67 TM2 metres
cannot be told from TWD97 by their values (they lie ~850 m apart): they are read as TWD67 only
when declared (``xy_datum="TWD67"``: EPSG:3828, TM2 zone 121, converted with EPSG's TWD67 → TWD97
transformation). Swapped lon/lat and metres written in lon/lat columns are recognised and noted.
A point outside lon 118–123, lat 21.5–26.5, or farther than the snap distance from every
township, is rejected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import InputError
from .rejections import Rejections
from .vocabulary import XY_DATUM_SPELLINGS

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

__all__ = ["XY_DATUMS", "check_xy_datum", "locate_by_coordinates"]

# Generous bounds of Taiwan, Penghu, Kinmen and Matsu: WGS84 degrees, TWD97 TM2 metres.
_LON, _LAT = (118.0, 123.0), (21.5, 26.5)
_MX, _MY = (-100_000.0, 700_000.0), (2_300_000.0, 3_000_000.0)
_LOCATE_CHUNK = 250_000  # points located at a time (at least the count for which locate_points builds its grid)


def _numbers(text: Any) -> np.ndarray:
    """Numbers of coordinate cells (NaN where blank or not a number), ``°``, ``度`` and spaces ignored.

    ``text`` is an array of strings or a :class:`pandas.Categorical`; a Categorical's distinct values are
    parsed once each and mapped back by its codes (no Python string per row).
    """
    if isinstance(text, pd.api.extensions.ExtensionArray):  # Categorical, Arrow strings: each distinct value once
        codes, uniques = (text.codes, text.categories) if isinstance(text, pd.Categorical) else pd.factorize(text)
        parsed = np.append(_numbers(np.asarray(uniques, dtype=object)), np.nan)  # code -1: missing
        return parsed[codes]
    text = np.asarray(text, dtype=object)
    direct = pd.to_numeric(pd.Series(text, dtype="str").where(text != ""), errors="coerce")
    plain = direct.to_numpy(dtype=float, copy=True)
    retry = np.flatnonzero(np.isnan(plain) & (text != ""))  # only these can hold ° 度 or inner spaces
    if len(retry):
        cleaned = pd.Series(text[retry], dtype="str").str.replace(r"[°度\s]", "", regex=True)
        plain[retry] = pd.to_numeric(cleaned.where(cleaned != ""), errors="coerce").to_numpy(dtype=float)
    return plain


def _chosen(first: Any, second: Any, use_first: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The cells of ``first`` where ``use_first``, else of ``second``, taken only at the positions asked for."""
    def at(p: np.ndarray) -> np.ndarray:
        return np.where(use_first[p], np.asarray(first.take(p), dtype=object), np.asarray(second.take(p), dtype=object))

    return at


def _inside(v: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    return (v >= bounds[0]) & (v <= bounds[1])


#: Projected CRS of TM2 metres per datum: (zone 121 — Taiwan, Penghu; zone 119 — Kinmen, Matsu).
#: TWD67 is read in zone 121 only (the zone EPSG defines a TWD67 → TWD97 transformation for).
XY_DATUMS = {"TWD97": ("EPSG:3826", "EPSG:3825"), "TWD67": ("EPSG:3828",)}


def check_xy_datum(value: str) -> str:
    """``"TWD97"`` or ``"TWD67"`` for a datum as a user writes it (``97``, ``epsg:3828`` …), else :class:`InputError`.

    Parameters
    ----------
    value : str
        ``TWD97``, ``TWD67``, ``97``, ``67``, ``EPSG:3826`` or ``EPSG:3828``, in any case.

    Returns
    -------
    str
        ``"TWD97"`` or ``"TWD67"``.

    Raises
    ------
    InputError
        Any other datum; the message names ``xy_datum=``.

    Examples
    --------
    >>> check_xy_datum("twd67"), check_xy_datum("EPSG:3826")
    ('TWD67', 'TWD97')
    """
    key = str(value).strip().upper().replace(" ", "")
    key = XY_DATUM_SPELLINGS.get(key, key)
    if key not in XY_DATUMS:
        raise InputError(f"xy_datum= must be TWD97 or TWD67, got {value!r}")
    return key


def _read_coordinates(col: dict[str, np.ndarray], rej: Rejections, datum: str) -> dict[str, np.ndarray]:
    """Parse the coordinate cells, recognise degrees or metres (swapped or not), project metres.

    ``lon``/``lat`` are the positions in WGS84 (metres read in zone 121), ``alt_lon``/``alt_lat``
    the same metres read in zone 119 (NaN where not metres, or for TWD67).
    """
    from pyproj import Transformer

    n = len(col["lon"])
    lon_s, lat_s, x_s, y_s = (col[c] for c in ("lon", "lat", "x", "y"))
    given = {c: np.asarray(col[c] != "", dtype=bool) for c in ("lon", "lat", "x", "y")}
    use_ll = given["lon"] | given["lat"]
    has = use_ll | given["x"] | given["y"]
    # the cells used, lon/lat where either is given, else x/y: as numbers, and as text only where shown
    a_s, b_s = _chosen(lon_s, x_s, use_ll), _chosen(lat_s, y_s, use_ll)
    a_given, b_given = np.where(use_ll, given["lon"], given["x"]), np.where(use_ll, given["lat"], given["y"])
    fa = np.array(["x", "lon"], dtype=object)[use_ll.astype(np.intp)]
    fb = np.array(["y", "lat"], dtype=object)[use_ll.astype(np.intp)]
    a, b = np.where(use_ll, _numbers(lon_s), _numbers(x_s)), np.where(use_ll, _numbers(lat_s), _numbers(y_s))
    for f, g, s, other, s_given, other_given, num in ((fa, fb, a_s, b_s, a_given, b_given, a),
                                                      (fb, fa, b_s, a_s, b_given, a_given, b)):
        rej.add(has & ~s_given & other_given, f, "",
                lambda p, f=f, g=g, o=other: [f"{f[i]} is blank but {g[i]} is '{v}'; give both or neither"
                                              for i, v in zip(p, o(p), strict=True)])
        rej.add(has & s_given & ~np.isfinite(num), f, s,
                lambda p, s=s, f=f: [f"{f[i]} '{v}' is not a finite number" for i, v in zip(p, s(p), strict=True)])
    ok = has & np.isfinite(a) & np.isfinite(b)
    deg = ok & _inside(a, _LON) & _inside(b, _LAT)
    deg_sw = ok & ~deg & _inside(b, _LON) & _inside(a, _LAT)
    met = ok & ~deg & ~deg_sw & _inside(a, _MX) & _inside(b, _MY)
    met_sw = ok & ~deg & ~deg_sw & ~met & _inside(b, _MX) & _inside(a, _MY)
    proj = met | met_sw
    lon, lat = np.where(deg_sw | met_sw, b, a), np.where(deg_sw | met_sw, a, b)
    alt_lon, alt_lat = np.full(n, np.nan), np.full(n, np.nan)
    if proj.any():
        mx, my = lon[proj], lat[proj]
        zones: tuple[tuple[str, tuple[np.ndarray, np.ndarray]], ...] = (
            ("EPSG:3826", (lon, lat)), ("EPSG:3825", (alt_lon, alt_lat)))
        if datum == "TWD67":
            # EPSG's TWD67 → TWD97 transformation for TM2 zone 121 (PROJ has only a ballpark shift
            # from TWD67 degrees or zone 119); zone 119 (Kinmen, Matsu) is not offered for TWD67.
            mx, my = Transformer.from_crs("EPSG:3828", "EPSG:3826", always_xy=True).transform(mx, my)
            zones = zones[:1]
        for epsg, (xs, ys) in zones:
            xs[proj], ys[proj] = Transformer.from_crs(epsg, "EPSG:4326", always_xy=True).transform(mx, my)
    prim = (deg | deg_sw | proj) & _inside(lon, _LON) & _inside(lat, _LAT)
    alt = proj & _inside(alt_lon, _LON) & _inside(alt_lat, _LAT)
    rej.add(ok & ~prim & ~alt, fa, a_s, lambda p: [
        f"({fa[i]}, {fb[i]}) = ({va}, {vb}) lies outside Taiwan; expected WGS84 lon "
        f"{_LON[0]:g}–{_LON[1]:g} and lat {_LAT[0]:g}–{_LAT[1]:g}, or {datum} TM2 metres"
        for i, va, vb in zip(p, a_s(p), b_s(p), strict=True)])
    return {"has": has, "use_ll": use_ll, "fa": fa, "a_s": a_s, "deg": deg, "deg_sw": deg_sw, "met_sw": met_sw,
            "proj": proj, "prim": prim, "alt": alt, "lon": lon, "lat": lat, "alt_lon": alt_lon, "alt_lat": alt_lat}


def locate_by_coordinates(
    col: dict[str, np.ndarray], towns: gpd.GeoDataFrame, decl_county: np.ndarray,
    rej: Rejections, notes: dict[Any, list[str]] | list[list[str]], datum: str = "TWD97",
) -> dict[str, np.ndarray]:
    """Parse, recognise, reproject and locate the coordinates of every row that has some.

    Parameters
    ----------
    col : dict of arrays
        Columns of :func:`registry_columns`.
    towns : GeoDataFrame
        Townships to locate in (``towncode``, ``county``, geometry).
    decl_county : array
        Official county each row declares (``None`` if none): it chooses TM2 zone 119 over
        zone 121 for metres that land in a township either way.
    rej : Rejections
        Receives the rows whose coordinates are unusable.
    notes : dict of int to list of str, or list of list of str
        Per row; receives what was recognised (swapped, metres in lon/lat, zone 119 …).
    datum : {"TWD97", "TWD67"}

    Returns
    -------
    dict of arrays
        ``has`` (the row gives coordinates), ``code`` (towncode or ``None``), ``snapped``,
        ``lon``, ``lat`` (WGS84).
    """
    import geopandas as gpd

    from .geography import SNAP_DISTANCE_M, locate_points

    c = _read_coordinates(col, rej, datum)
    n, county_of = len(c["has"]), dict(zip(towns["towncode"], towns["county"], strict=True))
    lon, lat, prim, alt = c["lon"], c["lat"], c["prim"], c["alt"]
    ip, ia = np.flatnonzero(prim), np.flatnonzero(alt)
    xs, ys = np.r_[lon[ip], c["alt_lon"][ia]], np.r_[lat[ip], c["alt_lat"][ia]]
    polygons = towns[["towncode", "geometry"]]
    found_code, found_snapped = np.full(len(xs), None, dtype=object), np.zeros(len(xs), dtype=bool)
    for part in np.array_split(np.arange(len(xs)), max(1, -(-len(xs) // _LOCATE_CHUNK))):
        # one chunk of points at a time: a million shapely points would cost ~150 MB at once
        pts = gpd.GeoSeries(gpd.points_from_xy(xs[part], ys[part]), crs="EPSG:4326")
        found = locate_points(pts, polygons)
        codes, towncodes = pd.factorize(found["towncode"], use_na_sentinel=False)
        found_code[part] = np.asarray(towncodes, dtype=object)[codes]  # one str object per township, not per row
        found_snapped[part] = found["snapped"].to_numpy()
        del pts, found
    code, code2 = np.full(n, None, dtype=object), np.full(n, None, dtype=object)
    snapped, snapped2 = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    code[ip], snapped[ip] = found_code[: len(ip)], found_snapped[: len(ip)]
    code2[ia], snapped2[ia] = found_code[len(ip):], found_snapped[len(ip):]
    del xs, ys, found_code, found_snapped
    county1, county2 = (_counties(county_of, k) for k in (code, code2))
    use2 = alt & pd.notna(code2) & (
        pd.isna(code) | (pd.notna(decl_county) & (county1 != decl_county) & (county2 == decl_county))
    )
    code[use2], snapped[use2] = code2[use2], snapped2[use2]
    lon[use2], lat[use2] = c["alt_lon"][use2], c["alt_lat"][use2]
    rej.add((prim | alt) & pd.isna(code), c["fa"], c["a_s"], lambda p: [
        f"point (lon {lon[i]:.5f}, lat {lat[i]:.5f}) is not within {SNAP_DISTANCE_M / 1000:g} km "
        "of any township" for i in p])
    _coordinate_notes(c, use2, code, notes, datum)
    return {"has": c["has"], "code": code, "snapped": snapped, "lon": lon, "lat": lat}


def _counties(county_of: dict[str, str], code: np.ndarray) -> np.ndarray:
    """The county of each towncode (None where none), looked up once per distinct code."""
    codes, uniques = pd.factorize(code, use_na_sentinel=False)
    counties = np.empty(len(uniques), dtype=object)
    counties[:] = [county_of.get(u) for u in uniques]
    return counties[codes]


def _coordinate_notes(c: dict[str, np.ndarray], use2: np.ndarray, code: np.ndarray,
                      notes: dict[Any, list[str]] | list[list[str]], datum: str) -> None:
    """Note on each located row what was recognised in its coordinates."""
    proj, use_ll = c["proj"], c["use_ll"]
    for mask, text in (
        (c["deg_sw"], "lon/lat swapped"),
        (c["met_sw"], "x/y swapped"),
        (c["deg"] & ~use_ll, "x/y hold degrees; read as lon/lat"),
        (proj & use_ll, f"lon/lat hold {datum} metres; read as x/y"),
        (use2, "TWD97 TM2 zone 119 (EPSG:3825)"),
        (proj & ~use2 if datum != "TWD97" else np.zeros(len(proj), bool), f"{datum} TM2 ({XY_DATUMS[datum][0]})"),
    ):
        for i in np.flatnonzero(mask & pd.notna(code)):
            notes[i].append(text)
