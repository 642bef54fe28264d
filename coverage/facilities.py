"""Read and validate facility registries (any format) into one GeoDataFrame plus a rejection table.

A registry is a table of service points: category, name, where it is (coordinates, a
township or an address), when it opened and closed, which townships it serves. Files come
as CSV (UTF-8 or Big5), XLSX, GeoJSON or GeoPackage (read by :mod:`coverage.readers`).
Every row read ends up either as a facility or in the rejection table, with the file, the
row number a spreadsheet user sees, the field, the value and the reason::

    reg = read_facilities(["taipei.xlsx", "chiayi.csv"])
    reg.facilities        # accepted rows, EPSG:4326
    reg.rejected          # file, row, field, value, reason
    reg.mismatches        # coordinates in another township than the one declared

Rules, in the order they are checked:

* ``category`` must not be blank; the programmes' accepted names map to the keys of :data:`CATEGORIES`
  (:mod:`coverage.programmes`); any other name is a custom programme kept as written, unless it is a
  near miss of an accepted name (小衛 for 小衛星), which is rejected with a did-you-mean.
* Coordinates: WGS84 ``lon``/``lat`` (used when given), else TWD97 TM2 ``x``/``y`` (EPSG:3826; EPSG:3825 for a
  point that only lands in a township, or in its declared county, that way). Old TWD67 TM2
  metres cannot be told from TWD97 by their values (they lie ~850 m apart): declare them with
  ``xy_datum="TWD67"`` (EPSG:3828, TM2 zone 121, converted with EPSG's TWD67 → TWD97
  transformation; CLI ``--xy-datum TWD67``). Swapped
  lon/lat and metres written in lon/lat columns are recognised and noted in ``note``.
  A point outside lon 118–123, lat 21.5–26.5 or farther than 1 km from every township
  is rejected. Coordinates win over the declared township; a disagreement is listed in
  ``mismatches``.
* Without coordinates, the declared county/township locates the row, else the address;
  the facility then stands on the township's representative point (``precision`` =
  ``"township"``).
* ``opened``/``closed``: see :func:`coverage.dates.parse_date`; ``closed`` (the last day of service)
  before ``opened`` is rejected. A ``status`` that contradicts the dates (規劃中 with a past opening date)
  is listed in ``mismatches`` (kind ``status``); see :mod:`coverage.dates` for what status words mean.
* ``serves``: township names separated by ``、 , ; /`` or spaces, resolved to towncodes.
* A row repeating an earlier accepted row (same category, name, address and place) is
  rejected as a duplicate of it.
* ``cases`` (個案數, 服務人數, 案量; optional): people served, a whole number ≥ 0 (``1,234`` and a
  trailing 人/案/位/名 allowed); blank is unknown. Outputs suppress small values (:mod:`coverage.privacy`).
* Columns about a person (聯絡人, 負責人, 承辦人, 社工, 電話, email …; :func:`coverage.privacy.is_personal_column`)
  are dropped unless named in ``public_columns``. A malformed row (more cells than the header) of a
  file with such columns is rejected with its cells withheld, since they may have shifted.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .dates import parse_date, status_conflicts
from .errors import AmbiguousNameError, InputError, NameResolutionError
from .programmes import PROGRAMMES, classify, programme_key
from .readers import COLUMNS, EXTRA_CELLS, GEOMETRY_PROBLEM, flatten_tables, read_table
from .rejections import REJECTED_COLUMNS, Rejections

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

__all__ = [
    "CATEGORIES",
    "FACILITY_COLUMNS",
    "REJECTED_COLUMNS",
    "Registry",
    "normalise_category",
    "parse_date",
    "read_facilities",
    "read_table",
]

log = logging.getLogger(__name__)

#: Canonical category key -> zh-TW label (:data:`coverage.programmes.PROGRAMMES`).
CATEGORIES: dict[str, str] = PROGRAMMES

#: Columns of :attr:`Registry.facilities` (then any extra columns of the files, then geometry).
FACILITY_COLUMNS = [
    "facility_id", "file", "row", "category", "name", "county", "township", "towncode", "address",
    "lon", "lat", "precision", "status", "opened", "closed", "serves", "source", "cases", "snapped", "note",
]
#: Columns of :attr:`Registry.mismatches`: ``kind`` is ``location`` (declared place vs coordinates; ``declared``
#: and ``located`` are places) or ``status`` (status vs dates; ``declared`` is the status, ``located`` the dates).
MISMATCH_COLUMNS = ["file", "row", "name", "kind", "declared", "located", "reason"]

# Generous bounds of Taiwan, Penghu, Kinmen and Matsu: WGS84 degrees, TWD97 TM2 metres.
_LON, _LAT = (118.0, 123.0), (21.5, 26.5)
_MX, _MY = (-100_000.0, 700_000.0), (2_300_000.0, 3_000_000.0)
_SERVES_SPLIT = re.compile(r"[、,;/\s]+")
_PRECISION = {"point": "point", "點": "point", "點位": "point",
              "township": "township", "鄉鎮": "township", "鄉鎮市區": "township"}


@dataclass(frozen=True)
class Registry:
    """The result of :func:`read_facilities`.

    Attributes
    ----------
    facilities : GeoDataFrame
        Accepted rows (EPSG:4326), columns :data:`FACILITY_COLUMNS`, the files' other
        columns, ``geometry``; sorted by file order, then row.
    rejected : DataFrame
        ``file, row, field, value, reason``: one line per problem, so a row with several
        problems has several lines.
    mismatches : DataFrame
        :data:`MISMATCH_COLUMNS`: accepted rows whose coordinates lie in another township (or
        county) than the declared one (kind ``location``; official ``縣市鄉鎮市區`` names), and
        accepted rows whose status contradicts their dates (kind ``status``).
    rows_read : int
        Non-blank data rows read. Invariant:
        ``rows_read == len(facilities) + rejected.groupby("file")["row"].nunique().sum()``.
    withheld_columns : tuple of str
        Personal columns of the files that were dropped (:mod:`coverage.privacy`).
    public_columns : tuple of str
        Columns the user marked public (kept, and shown in map popups).
    """

    facilities: gpd.GeoDataFrame
    rejected: pd.DataFrame
    mismatches: pd.DataFrame
    rows_read: int
    withheld_columns: tuple[str, ...] = ()
    public_columns: tuple[str, ...] = ()


def normalise_category(value: object) -> str:
    """Canonical key of a programme name, or the name as written if it is not an accepted one.

    >>> normalise_category(" 社福中心 "), normalise_category("小衛星"), normalise_category("少年服務方案")
    ('welfare_centre', 'community_support_point', '少年服務方案')

    Blank input gives ``""`` (which :func:`read_facilities` rejects). See :mod:`coverage.programmes`.
    """
    key = programme_key(value)
    return key if key is not None else str(classify([value])[0][0])


# ----------------------------------------------------------------------------- helpers

def _objects(values: Any) -> np.ndarray:
    """A 1-d object array (tuples stay elements)."""
    items = list(values)
    return np.fromiter(items, dtype=object, count=len(items))


def _shared_objects(column: pd.Series) -> np.ndarray:
    """A string column as an object array in which equal values are one Python object.

    A registry of a million rows repeats its categories, townships, dates and blanks; sharing
    them keeps the arrays the validation works on at 8 bytes a cell instead of ~60.
    """
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    return np.asarray(uniques, dtype=object)[codes] if len(codes) else np.array([], dtype=object)


def _map_unique(keys: Sequence[Hashable], func: Callable[[Any], Any]) -> list[Any]:
    """``[func(k) for k in keys]``, calling ``func`` once per distinct key."""
    cache: dict[Hashable, Any] = {}
    return [cache[k] if k in cache else cache.setdefault(k, func(k)) for k in keys]


def _numbers(text: np.ndarray) -> np.ndarray:
    cleaned = pd.Series(text, dtype="str").str.replace(r"[°度\s]", "", regex=True)
    return pd.to_numeric(cleaned.where(cleaned != ""), errors="coerce").to_numpy(dtype=float)


def _inside(v: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    return (v >= bounds[0]) & (v <= bounds[1])


def _declared(county: str, township: str, names_towns: Any) -> tuple[Any, ...]:
    """(towncode or None, official county or None, error field, error message, suggestions)."""
    from . import names

    if township:
        try:
            code = names.resolve_township(township, county or None, townships=names_towns)
        except NameResolutionError as exc:
            field = "township"
            if county:
                try:
                    names.resolve_county(county, townships=names_towns)
                except NameResolutionError:
                    field = "county"
            sugg = tuple(exc.suggestions) if isinstance(exc, AmbiguousNameError) else None
            return None, None, field, str(exc), sugg
        return code, None, None, None, None
    if county:
        try:
            return None, names.resolve_county(county, townships=names_towns), None, None, None
        except NameResolutionError as exc:
            return None, None, "county", str(exc), None
    return None, None, None, None, None


def _serves(value: str, county: str | None, names_towns: Any) -> tuple[tuple[str, ...], str | None]:
    """(towncodes, error message) of a ``serves`` cell."""
    from . import names

    codes: list[str] = []
    for part in filter(None, _SERVES_SPLIT.split(value)):
        try:
            code = names.resolve_township(part, county, townships=names_towns)
        except NameResolutionError as exc:
            return (), f"'{part}': {exc}"
        if code not in codes:
            codes.append(code)
    return tuple(codes), None


#: Projected CRS of TM2 metres per datum: (zone 121 — Taiwan, Penghu; zone 119 — Kinmen, Matsu).
#: TWD67 is read in zone 121 only (the zone EPSG defines a TWD67 → TWD97 transformation for).
XY_DATUMS = {"TWD97": ("EPSG:3826", "EPSG:3825"), "TWD67": ("EPSG:3828",)}


def _xy_datum(value: str) -> str:
    key = str(value).strip().upper().replace(" ", "")
    key = {"97": "TWD97", "67": "TWD67", "EPSG:3826": "TWD97", "EPSG:3828": "TWD67"}.get(key, key)
    if key not in XY_DATUMS:
        raise InputError(f"--xy-datum must be TWD97 or TWD67, got {value!r}")
    return key


def _coordinates(
    t: pd.DataFrame, towns: gpd.GeoDataFrame, decl_county: np.ndarray, county_of: dict[str, str],
    rej: Rejections, notes: list[list[str]], datum: str = "TWD97",
) -> dict[str, np.ndarray]:
    """Parse, recognise, reproject and locate the coordinates of every row that has some."""
    import geopandas as gpd
    from pyproj import Transformer

    from .geography import SNAP_DISTANCE_M, locate_points

    n = len(t)
    lon_s, lat_s, x_s, y_s = (_shared_objects(t[c]) for c in ("lon", "lat", "x", "y"))
    use_ll = (lon_s != "") | (lat_s != "")
    has = use_ll | (x_s != "") | (y_s != "")
    a_s, b_s = np.where(use_ll, lon_s, x_s), np.where(use_ll, lat_s, y_s)
    fa, fb = np.where(use_ll, "lon", "x"), np.where(use_ll, "lat", "y")
    a, b = _numbers(a_s), _numbers(b_s)
    for f, g, s, other, num in ((fa, fb, a_s, b_s, a), (fb, fa, b_s, a_s, b)):
        rej.add(has & (s == "") & (other != ""), f, "",
                lambda p, f=f, g=g, o=other: [f"{f[i]} is blank but {g[i]} is '{o[i]}'; give both or neither"
                                              for i in p])
        rej.add(has & (s != "") & ~np.isfinite(num), f, s,
                lambda p, s=s, f=f: [f"{f[i]} '{s[i]}' is not a finite number" for i in p])
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
        zones = (("EPSG:3826", (lon, lat)), ("EPSG:3825", (alt_lon, alt_lat)))
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
        f"({fa[i]}, {fb[i]}) = ({a_s[i]}, {b_s[i]}) lies outside Taiwan; expected WGS84 lon "
        f"{_LON[0]:g}–{_LON[1]:g} and lat {_LAT[0]:g}–{_LAT[1]:g}, or {datum} TM2 metres" for i in p])
    ip, ia = np.flatnonzero(prim), np.flatnonzero(alt)
    pts = gpd.GeoSeries(gpd.points_from_xy(np.r_[lon[ip], alt_lon[ia]], np.r_[lat[ip], alt_lat[ia]]),
                        crs="EPSG:4326")
    found = locate_points(pts, towns[["towncode", "geometry"]])
    code, code2 = np.full(n, None, dtype=object), np.full(n, None, dtype=object)
    snapped, snapped2 = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    code[ip], snapped[ip] = found["towncode"].to_numpy()[: len(ip)], found["snapped"].to_numpy()[: len(ip)]
    code2[ia], snapped2[ia] = found["towncode"].to_numpy()[len(ip):], found["snapped"].to_numpy()[len(ip):]
    county1 = np.array([county_of.get(c) for c in code], dtype=object)
    county2 = np.array([county_of.get(c) for c in code2], dtype=object)
    use2 = alt & pd.notna(code2) & (
        pd.isna(code) | (pd.notna(decl_county) & (county1 != decl_county) & (county2 == decl_county))
    )
    code[use2], snapped[use2] = code2[use2], snapped2[use2]
    lon[use2], lat[use2] = alt_lon[use2], alt_lat[use2]
    rej.add((prim | alt) & pd.isna(code), fa, a_s, lambda p: [
        f"point (lon {lon[i]:.5f}, lat {lat[i]:.5f}) is not within {SNAP_DISTANCE_M / 1000:g} km "
        "of any township" for i in p])
    for mask, text in (
        (deg_sw, "lon/lat swapped"),
        (met_sw, "x/y swapped"),
        (deg & ~use_ll, "x/y hold degrees; read as lon/lat"),
        (proj & use_ll, f"lon/lat hold {datum} metres; read as x/y"),
        (use2, "TWD97 TM2 zone 119 (EPSG:3825)"),
        (proj & ~use2 if datum != "TWD97" else np.zeros(n, bool), f"{datum} TM2 ({XY_DATUMS[datum][0]})"),
    ):
        for i in np.flatnonzero(mask & pd.notna(code)):
            notes[i].append(text)
    return {"has": has, "code": code, "snapped": snapped, "lon": lon, "lat": lat}


def _safe(func: Callable[[Any], Any]) -> Callable[[Any], tuple[Any, str | None]]:
    def wrapped(value: Any) -> tuple[Any, str | None]:
        try:
            return func(value), None
        except ValueError as exc:
            return None, str(exc)

    return wrapped


_CASES = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.0*)?(?:人|案|位|名)?")


def _cases(value: str) -> float:
    """People served: a whole number ≥ 0, NaN when blank (ValueError otherwise)."""
    if not value:
        return math.nan
    m = _CASES.fullmatch(value.replace(" ", ""))
    if not m:
        raise ValueError(f"cases '{value}' is not a whole number ≥ 0 of people served (e.g. 12)")
    return float(m[1].replace(",", ""))


def _did_you_mean(address: str, townships: gpd.GeoDataFrame | None) -> str:
    from .names import suggest_address

    sugg = suggest_address(address, townships=townships)
    return f" (did you mean {'、'.join(sugg)}?)" if sugg else ""


def _with_status_mismatches(
    mismatches: pd.DataFrame, t: pd.DataFrame, col: dict[str, np.ndarray], dates: dict[str, np.ndarray],
    keep: np.ndarray,
) -> pd.DataFrame:
    """``mismatches`` (kind location) plus the accepted rows whose status contradicts their dates."""
    why = np.full(len(keep), None, dtype=object)
    why[keep] = status_conflicts(col["status"][keep], dates["opened"][keep], dates["closed"][keep])
    bad = pd.notna(why)

    def when(i: int) -> str:
        o, c = dates["opened"][i], dates["closed"][i]
        return f"opened {o.date() if pd.notna(o) else '—'}, closed {c.date() if pd.notna(c) else '—'}"

    status = pd.DataFrame({
        "file": t["file"].to_numpy()[bad], "row": t["row"].to_numpy()[bad].astype("int64"),
        "name": col["name"][bad], "kind": "status", "declared": col["status"][bad],
        "located": [when(i) for i in np.flatnonzero(bad)], "reason": why[bad],
    })
    out = pd.concat([mismatches, status], ignore_index=True) if len(status) else mismatches
    out = out.sort_values(["row"], kind="stable").sort_values(
        "file", key=lambda f: f.map({v: i for i, v in enumerate(pd.unique(t["file"]))}), kind="stable")
    return out.reset_index(drop=True)[MISMATCH_COLUMNS].astype(
        {"file": "str", "name": "str", "kind": "str", "declared": "str", "located": "str", "reason": "str"})


def read_facilities(
    paths: str | Path | Sequence[str | Path],
    townships: gpd.GeoDataFrame | None = None,
    *,
    public_columns: Sequence[str] = (),
    xy_datum: str = "TWD97",
) -> Registry:
    """Read, validate and locate one or more facility registries.

    Parameters
    ----------
    paths : path or sequence of paths
        CSV, XLSX, GeoJSON or GeoPackage files (see :func:`coverage.readers.read_table`).
    townships : GeoDataFrame, optional
        Township table to locate against; defaults to
        :func:`coverage.geography.load_townships`.
    public_columns : sequence of str, optional
        Columns to keep even though they are about a person (e.g. ``["聯絡人"]``); every other
        personal column is dropped (:func:`coverage.privacy.is_personal_column`).
    xy_datum : {"TWD97", "TWD67"}
        Datum of TM2 metre coordinates (``x``/``y``, or metres in ``lon``/``lat``). WGS84
        degrees are unaffected.

    Returns
    -------
    Registry
        Accepted facilities, rejected rows, coordinate/declaration mismatches and the
        number of rows read. See the module docstring for the rules.

    Raises
    ------
    UnreadableFileError
        A file cannot be read at all. Bad rows never raise: they are rejected.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "registry.csv"
    >>> _ = p.write_text("類別,名稱,鄉鎮市區\\n社福中心,竹崎,嘉義縣竹崎鄉\\n小衛星,,\\n", encoding="utf-8")
    >>> reg = read_facilities(p)
    >>> reg.facilities[["facility_id", "category", "towncode", "precision"]].values.tolist()
    [['registry.csv:2', 'welfare_centre', '10010140', 'township']]
    >>> reg.rejected[["row", "field"]].values.tolist(), reg.rows_read
    ([[3, 'township']], 2)
    """
    import geopandas as gpd

    from . import names
    from .geography import load_townships
    from .privacy import column_key, personal_columns

    datum = _xy_datum(xy_datum)
    path_list = [paths] if isinstance(paths, (str, Path)) else list(paths)
    towns = load_townships() if townships is None else townships
    tables = [(read_table(p), Path(p).name) for p in path_list]
    personal_of = {file: personal_columns(table.columns, public_columns) for table, file in tables}
    t = flatten_tables(tables)
    del tables
    n = len(t)
    rej, notes = Rejections(n), [[] for _ in range(n)]
    county_of = dict(zip(towns["towncode"], towns["county"], strict=True))
    town_of = dict(zip(towns["towncode"], towns["township"], strict=True))
    full_of = {c: county_of[c] + town_of[c] for c in county_of}
    col = {c: _shared_objects(t[c]) for c in (*COLUMNS, EXTRA_CELLS, GEOMETRY_PROBLEM)}

    # Whole-row problems and category.
    rej.add(col[EXTRA_CELLS] != "", "row", col[EXTRA_CELLS],
            "the row has more cells than the header (an unquoted comma or delimiter in a value?)")
    rej.add(col[GEOMETRY_PROBLEM] != "", "geometry", col[GEOMETRY_PROBLEM],
            lambda p: [f"geometry is a {col[GEOMETRY_PROBLEM][i]}; expected a Point" for i in p])
    category, cat_problem = classify(col["category"])
    rej.add(pd.notna(cat_problem), "category", col["category"], cat_problem)

    # Declared county/township, resolved once per distinct pair.
    decl = _map_unique(list(zip(col["county"], col["township"], strict=True)),
                       lambda k: _declared(k[0], k[1], townships))
    d_code, d_county, d_field, d_msg, d_sugg = (_objects(d[j] for d in decl) for j in range(5))
    decl_county = np.array([county_of.get(c, d) for c, d in zip(d_code, d_county, strict=True)], dtype=object)

    # Location by coordinates, else by declared township, else by address.
    xy = _coordinates(t, towns, decl_county, county_of, rej, notes, datum)
    has, code = xy["has"], xy["code"]
    need = ~has
    amb = need & pd.notna(d_sugg) & (col["address"] != "")
    for i in np.flatnonzero(amb):
        parsed = names.parse_address(col["address"][i], townships=townships)
        if parsed is not None and full_of.get(parsed) in d_sugg[i]:
            d_code[i], d_field[i] = parsed, None
    code[need] = d_code[need]
    rej.add(need & pd.notna(d_field), d_field,
            lambda p: [col[d_field[i]][i] for i in p], d_msg)
    by_addr = need & (col["township"] == "") & pd.isna(d_field) & (col["address"] != "")
    addr_keys = list(zip(col["address"][by_addr], col["county"][by_addr], strict=True))
    code[by_addr] = _map_unique(addr_keys, lambda k: names.parse_address(k[0], townships=townships)
                                or (names.parse_address(k[1] + k[0], townships=townships) if k[1] else None))
    rej.add(by_addr & pd.isna(code), "address", col["address"], lambda p: [
        f"no township found in address '{col['address'][i]}'{_did_you_mean(col['address'][i], townships)}; "
        "add a 鄉鎮市區 column or coordinates" for i in p])
    wrong = by_addr & pd.notna(code) & pd.notna(decl_county)
    wrong[wrong] = [county_of.get(c) != d for c, d in zip(code[wrong], decl_county[wrong], strict=True)]
    rej.add(wrong, "address", col["address"], lambda p: [
        f"address is in {full_of[code[i]]} but county is {decl_county[i]}" for i in p])
    rej.add(need & (col["township"] == "") & (col["address"] == "") & pd.isna(d_field), "township", "",
            "no location: give lon/lat, TWD97 x/y, a township (鄉鎮市區) or an address")

    # Precision, dates, serves.
    prec_in = np.array([_PRECISION.get(p.lower(), "?") if p else "" for p in col["precision"]], dtype=object)
    rej.add(prec_in == "?", "precision", col["precision"],
            lambda p: [f"precision '{col['precision'][i]}' is not point or township" for i in p])
    precision = np.where(has, "point", "township").astype(object)
    precision[prec_in == "township"] = "township"
    for i in np.flatnonzero(need & (prec_in == "point")):
        notes[i].append("precision 'point' given but no coordinates; located by township")
    dates = {}
    for field in ("opened", "closed"):
        parsed = _map_unique(col[field], _safe(parse_date))
        dates[field] = np.array([d for d, _ in parsed], dtype=object)
        err = np.array([e for _, e in parsed], dtype=object)
        rej.add(pd.notna(err), field, col[field], err)
    both = pd.notna(dates["opened"]) & pd.notna(dates["closed"])
    both[both] = dates["closed"][both] < dates["opened"][both]
    rej.add(both, "closed", col["closed"], lambda p: [
        f"closed {dates['closed'][i].date()} is before opened {dates['opened'][i].date()}" for i in p])
    ctx = [county_of.get(c) or (k or None) for c, k in zip(code, col["county"], strict=True)]
    serves_keys = [(v, c) for v, c in zip(col["serves"], ctx, strict=True)]
    serves = _map_unique(serves_keys, lambda k: _serves(k[0], k[1], townships) if k[0] else ((), None))
    s_err = np.array([e for _, e in serves], dtype=object)
    rej.add(pd.notna(s_err), "serves", col["serves"], s_err)
    parsed_cases = _map_unique(col["cases"], _safe(_cases))
    cases = np.array([np.nan if c is None else c for c, _ in parsed_cases], dtype=float)
    c_err = np.array([e for _, e in parsed_cases], dtype=object)
    rej.add(pd.notna(c_err), "cases", col["cases"], c_err)

    # Geometry of township-precision rows: the township's representative point.
    rep = towns.set_index("towncode").geometry.representative_point()
    lon, lat = xy["lon"].astype(float), xy["lat"].astype(float)
    town_rows = np.flatnonzero((precision == "township") & pd.notna(code))
    lon[town_rows] = rep.x.reindex(code[town_rows]).to_numpy()
    lat[town_rows] = rep.y.reindex(code[town_rows]).to_numpy()

    # Exact duplicates among otherwise accepted rows.
    good = np.flatnonzero(~rej.bad)
    keys = pd.DataFrame({"c": category[good], "n": col["name"][good], "a": col["address"][good],
                         "t": code[good], "x": np.round(lon[good], 6), "y": np.round(lat[good], 6),
                         "p": precision[good]})
    first = pd.Series(good).groupby([keys[k] for k in keys], dropna=False, sort=False).transform("first")
    dup = np.zeros(n, dtype=bool)
    dup[good] = first.to_numpy() != good
    first_of = np.zeros(n, dtype=int)
    first_of[good] = first.to_numpy()
    rej.add(dup, "row", col["name"], lambda p: [
        f"duplicate of {t['file'].iat[first_of[i]]} row {t['row'].iat[first_of[i]]}" for i in p])

    # Mismatches between coordinates and the declared place; notes on unusable declarations.
    keep = ~rej.bad
    for i in np.flatnonzero(keep & has & pd.notna(d_sugg)):
        if full_of.get(code[i]) in d_sugg[i]:  # an ambiguous 東區 that the coordinates settle
            d_code[i], d_msg[i] = code[i], None
    mism = keep & has & pd.notna(code) & (pd.notna(d_code) | pd.notna(d_county))
    located_county = np.array([county_of.get(c) for c in code], dtype=object)
    mism &= np.where(pd.notna(d_code), d_code != code, d_county != located_county)
    declared = np.where(pd.notna(d_code), [full_of.get(c) for c in d_code], d_county)
    for i in np.flatnonzero(mism):
        notes[i].append(f"declared {declared[i]}, coordinates in {full_of[code[i]]}")
    for i in np.flatnonzero(keep & has & pd.notna(d_msg)):
        notes[i].append(f"declared place not used: {d_msg[i]}")
    mismatches = pd.DataFrame({
        "file": t["file"].to_numpy()[mism], "row": t["row"].to_numpy()[mism].astype("int64"),
        "name": col["name"][mism], "kind": "location", "declared": declared[mism],
        "located": [full_of[c] for c in code[mism]],
        "reason": [f"declared {declared[i]}, coordinates in {full_of[code[i]]}" for i in np.flatnonzero(mism)],
    })
    mismatches = _with_status_mismatches(mismatches, t, col, dates, keep)

    k = np.flatnonzero(keep)
    kc = code[k]
    out = pd.DataFrame({
        "facility_id": [f"{f}:{r}" for f, r in zip(t["file"].to_numpy()[k], t["row"].to_numpy()[k],
                                                     strict=True)],
        "file": t["file"].to_numpy()[k],
        "row": t["row"].to_numpy()[k].astype("int64"),
        "category": category[k],
        "name": col["name"][k],
        "county": [county_of[c] for c in kc],
        "township": [town_of[c] for c in kc],
        "towncode": kc,
        "address": col["address"][k],
        "lon": lon[k],
        "lat": lat[k],
        "precision": precision[k],
        "status": col["status"][k],
        "opened": pd.to_datetime(pd.Series(dates["opened"][k], dtype=object)).astype("datetime64[ns]"),
        "closed": pd.to_datetime(pd.Series(dates["closed"][k], dtype=object)).astype("datetime64[ns]"),
        "serves": pd.Series([serves[i][0] for i in k], dtype=object),
        "source": col["source"][k],
        "cases": cases[k],
        "snapped": xy["snapped"][k],
        "note": ["; ".join(notes[i]) for i in k],
    })
    text_cols = [c for c in FACILITY_COLUMNS if c not in ("row", "lon", "lat", "opened", "closed",
                                                           "serves", "cases", "snapped")]
    out = out.astype(dict.fromkeys(text_cols, "str"))
    extras = [c for c in t.columns if c not in {"file", "row", *COLUMNS, EXTRA_CELLS, GEOMETRY_PROBLEM}]
    withheld = [c for c in extras if c in {p for cols in personal_of.values() for p in cols}]
    marked = {column_key(p) for p in public_columns}
    public = [c for c in extras if column_key(c) in marked or column_key(c.removeprefix("src_")) in marked]
    if withheld:
        log.info("personal column(s) not kept: %s (mark one public to keep it)", ", ".join(withheld))
    unknown = sorted(marked - {column_key(c) for c in public} - {column_key(c.removeprefix("src_")) for c in public})
    if unknown:
        log.warning("public column(s) not found in the registry: %s; its other columns: %s",
                    ", ".join(p for p in public_columns if column_key(p) in unknown),
                    ", ".join(extras) or "none")
    for c in extras:
        if c not in withheld:
            out[c] = t[c].to_numpy()[k]
    facilities = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(out["lon"], out["lat"]), crs="EPSG:4326")
    file_col = t["file"].to_numpy()
    shifted = (col[EXTRA_CELLS] != "") & np.isin(file_col, [f for f, cols in personal_of.items() if cols])
    rejected = rej.table(t, shifted, lambda p: [
        "the row has more cells than the header (an unquoted comma or delimiter in a value?); its cells are "
        f"not shown because the file has personal columns ({'、'.join(personal_of[file_col[i]])}) whose values "
        "may have moved" for i in p])
    log.info("%d row(s) read from %d file(s): %d accepted, %d rejected, %d mismatch(es)",
             n, len(path_list), len(facilities), int(rej.bad.sum()), len(mismatches))
    return Registry(facilities, rejected, mismatches, n, tuple(withheld), tuple(public))
