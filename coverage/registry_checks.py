"""The per-row checks of a facility registry: each takes the stacked table's columns and rejects what fails.

:func:`coverage.facilities.read_facilities` reads the files (:mod:`coverage.tabular`), then runs
:func:`check_rows`, which runs every step below in order on the arrays of
:func:`registry_columns`; a step adds its problems to one :class:`coverage.rejections.Rejections`
and returns what it found (programme keys, towncodes, dates …). The rules are stated in
:mod:`coverage.facilities`. Distinct values are checked once (a registry of a million rows
repeats its categories, townships and dates).
"""

from __future__ import annotations

import functools
import math
import re
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .columns import CELL_COUNT, COLUMNS, EXTRA_CELLS, GEOMETRY_PROBLEM, ROW_PROBLEM
from .coordinates import locate_by_coordinates
from .dates import parse_date, status_conflicts
from .errors import AmbiguousNameError, NameResolutionError
from .programmes import classify
from .rejections import WITHHELD, Rejections

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

__all__ = [
    "MISMATCH_COLUMNS",
    "categorical_columns",
    "check_cases",
    "check_categories",
    "check_dates",
    "check_precision",
    "check_rows",
    "check_serves",
    "find_mismatches",
    "locate_villages",
    "locate_without_coordinates",
    "registry_columns",
    "reject_duplicates",
    "reject_malformed_rows",
    "resolve_declared",
]

#: Columns of :attr:`Registry.mismatches`: ``kind`` is ``location`` (declared place vs coordinates; ``declared``
#: and ``located`` are places) or ``status`` (status vs dates; ``declared`` is the status, ``located`` the dates).
MISMATCH_COLUMNS = ["file", "row", "name", "kind", "declared", "located", "reason"]

_SERVES_SPLIT = re.compile(r"[、,;/\s]+")
_PRECISION = {"point": "point", "點": "point", "點位": "point",
              "township": "township", "鄉鎮": "township", "鄉鎮市區": "township",
              "office": "office", "辦公室": "office", "共用辦公室": "office",
              "village": "village", "村里": "village", "村": "village", "里": "village"}


# ----------------------------------------------------------------------------- helpers

def _objects(values: Any) -> np.ndarray:
    """A 1-d object array (tuples stay elements)."""
    items = list(values)
    return np.fromiter(items, dtype=object, count=len(items))


def _categorical(column: Any) -> Any:
    """A column (Series, Arrow string array, object array or Categorical) as a :class:`pandas.Categorical`,
    unless most of its values are distinct (names, coordinates): then its array as it is.

    A Categorical is returned as it is (no copy). Otherwise the categories are the distinct values in order
    of first appearance, kept in the column's own dtype (Arrow strings stay Arrow strings), and the codes
    take 1, 2 or 4 bytes a row. A column of mostly distinct values gains nothing from codes, and its
    categories would be hashed as one Python string each: it stays as read.
    """
    if isinstance(column, pd.Series):
        column = column.array
    if isinstance(column, pd.arrays.NumpyExtensionArray):  # an object column: its numpy array (not a copy)
        column = column.to_numpy()
    if isinstance(column, pd.Categorical):
        return column
    codes, uniques = pd.factorize(column)
    if len(codes) > _MOSTLY_DISTINCT_MIN and 2 * len(uniques) > len(codes):
        return column
    return pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(pd.Index(uniques)))


_MOSTLY_DISTINCT_MIN = 1000  # a shorter column is always made a Categorical


def _keys(column: Any) -> np.ndarray:
    """Values to compare rows by: a Categorical's integer codes (equal codes, equal values), an Arrow column's
    codes (no Python string per row), else the values."""
    if isinstance(column, pd.Categorical):
        return column.codes
    if isinstance(column, pd.api.extensions.ExtensionArray):
        return pd.factorize(column, use_na_sentinel=False)[0]
    return np.asarray(column)


def _codes(*columns: np.ndarray) -> np.ndarray:
    """One integer per row of aligned columns, equal for equal rows, numbered in order of first appearance
    (missing values equal to each other)."""
    codes = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        repeated = np.bincount(codes)[codes] > 1  # a row unique on the columns so far stays unique
        if not repeated.any():
            break
        c = np.zeros(len(codes), dtype=np.int64)
        c[repeated] = pd.factorize(_keys(column)[repeated], use_na_sentinel=False)[0]
        codes = pd.factorize(codes * (c.max() + 1) + c)[0]
    return codes


def _files_at(t: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
    """The file labels of ``t`` at ``rows`` (a mask or positions), without turning the whole column into objects."""
    at = np.flatnonzero(rows) if rows.dtype == bool else rows
    return np.asarray(t["file"].array.take(at), dtype=object)


def _looked_up(mapping: dict[Any, Any], keys: np.ndarray) -> np.ndarray:
    """``[mapping.get(k) for k in keys]`` as an object array, looked up once per distinct key."""
    codes, uniques = pd.factorize(keys, use_na_sentinel=False)
    return _objects(mapping.get(u) for u in uniques)[codes] if len(codes) else np.array([], dtype=object)


def _distinct(*columns: np.ndarray) -> tuple[np.ndarray, list[tuple[Any, ...]]]:
    """(code of each row, distinct rows) of aligned columns: row ``i`` holds ``distinct[codes[i]]``."""
    codes = _codes(*columns)
    _, first = np.unique(codes, return_index=True)
    return codes, [tuple(column[i] for column in columns) for i in first]


def _fields(results: list[tuple[Any, ...]], codes: np.ndarray, count: int) -> list[np.ndarray]:
    """Per row, each of the ``count`` fields of the result of its distinct key (object arrays)."""
    return [_objects(r[j] for r in results)[codes] for j in range(count)]


def _map_unique(keys: Iterable[Hashable], func: Callable[[Any], Any]) -> list[Any]:
    """``[func(k) for k in keys]``, calling ``func`` once per distinct key."""
    cache: dict[Hashable, Any] = {}
    return [cache[k] if k in cache else cache.setdefault(k, func(k)) for k in keys]


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


def _safe(func: Callable[[Any], Any]) -> Callable[[Any], tuple[Any, str | None]]:
    def wrapped(value: Any) -> tuple[Any, str | None]:
        try:
            return func(value), None
        except ValueError as exc:
            return None, str(exc)

    return wrapped


_CASES = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.0*)?(?:人|案|位|名)?")


def _cases(value: str) -> float:
    """People served: a whole number ≥ 0, NaN when blank (ValueError otherwise, not naming the value)."""
    if not value:
        return math.nan
    m = _CASES.fullmatch(value.replace(" ", ""))
    if not m:
        raise ValueError("cases is not a whole number ≥ 0 of people served (e.g. 12); the value is not shown")
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
        "file": _files_at(t, bad), "row": t["row"].to_numpy()[bad].astype("int64"),
        "name": col["name"][bad], "kind": "status", "declared": col["status"][bad],
        "located": [when(int(i)) for i in np.flatnonzero(bad)], "reason": why[bad],
    })
    out = pd.concat([mismatches, status], ignore_index=True) if len(status) else mismatches
    out = out.sort_values(["row"], kind="stable").sort_values(
        "file", key=lambda f: f.map({v: i for i, v in enumerate(pd.unique(t["file"]))}), kind="stable")
    return out.reset_index(drop=True)[MISMATCH_COLUMNS].astype(
        {"file": "str", "name": "str", "kind": "str", "declared": "str", "located": "str", "reason": "str"})

# ----------------------------------------------------------------------------- the steps of read_facilities

_SHIFTED = ("its values are not shown: they may have shifted between columns, into or out of personal columns; "
            "fix the row in the file")
#: Internal columns of a stacked table (not the files' own columns).

def registry_columns(t: pd.DataFrame) -> dict[str, Any]:
    """The canonical and internal columns of a stacked table as :class:`pandas.Categorical` (``""`` if absent).

    A registry of a million rows repeats its categories, townships, dates and blanks: the checks
    work on each column's distinct values (its categories) and map the results back by the integer
    codes, 1–4 bytes a row, never a Python object per row. A column of ``t`` that is a Categorical
    already (:func:`categorical_columns`) is shared, not copied; a long column of mostly distinct
    values (names, coordinates) is shared as it is (an Arrow string array as read).

    Parameters
    ----------
    t : DataFrame
        The files read by :func:`coverage.tabular.read_table`, stacked: ``file``, ``row`` and the
        canonical columns.

    Returns
    -------
    dict of str to Categorical or array
        Column name → its values, aligned to ``t``.
    """
    blank = pd.Categorical.from_codes(np.zeros(len(t), dtype=np.int8), dtype=pd.CategoricalDtype([""]))
    return {c: _categorical(t[c]) if c in t.columns else blank
            for c in (*COLUMNS, EXTRA_CELLS, CELL_COUNT, ROW_PROBLEM, GEOMETRY_PROBLEM)}


def categorical_columns(t: pd.DataFrame, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Turn the text columns of ``t`` into Categoricals, in place, one column at a time.

    The file label, the canonical and the internal columns of a stacked registry table are
    mostly repeated values (a column of mostly distinct values is left as it is); as Categoricals
    they cost 1–4 bytes a row plus their distinct values,
    and each column's text is freed as soon as it is converted (when nothing else holds it).
    :func:`registry_columns` then shares them. Values are unchanged (``t[c].astype("str")`` gives
    them back).

    Parameters
    ----------
    t : DataFrame
        A stacked registry table (:func:`coverage.facilities.read_registry_tables`).
    columns : iterable of str, optional
        The columns to convert; default ``file``, the canonical :data:`coverage.columns.COLUMNS` and the
        internal columns that ``t`` has.

    Returns
    -------
    DataFrame
        ``t`` itself.
    """
    names = ["file", *COLUMNS, EXTRA_CELLS, CELL_COUNT, ROW_PROBLEM, GEOMETRY_PROBLEM] if columns is None else columns
    for c in names:
        if c in t.columns and not isinstance(t[c].dtype, pd.CategoricalDtype):
            converted = _categorical(t[c])
            if isinstance(converted, pd.Categorical):
                t[c] = converted
    return t


def reject_malformed_rows(col: dict[str, np.ndarray], rej: Rejections) -> np.ndarray:
    """Reject rows whose cells do not line up with the header, and geometries that are not points.

    A row with non-blank cells beyond the header or, in delimited text, another number of cells
    than the header (fewer, or more even if blank: a missing cell and an extra delimiter cancel
    out only in the count of named columns) may have its values shifted: a contact's name in the
    date column. Such a row is rejected whole and none of its values is shown.

    Parameters
    ----------
    col : dict of str to array
        Per-row object arrays of the stacked table (:func:`registry_columns`).
    rej : Rejections
        Collects the rejected rows; added to in place.

    Returns
    -------
    array of str
        Per row, the reason it is malformed (``""`` for a row that lines up); pass the rows with
        a reason to :meth:`Rejections.table` as ``withhold``.
    """
    malformed = np.full(len(col["category"]), "", dtype=object)
    extra, counted = col[EXTRA_CELLS] != "", col[CELL_COUNT] != ""
    malformed[extra] = ("the row has more cells than the header (an unquoted comma or delimiter in a "
                        f"value?); {_SHIFTED}")
    malformed[counted] = [_cell_count_reason(c) for c in col[CELL_COUNT][counted]]
    unread = col[ROW_PROBLEM] != ""  # a line swallowed by a quote, a runaway row: never read
    malformed[unread] = col[ROW_PROBLEM][unread]
    rej.add(malformed != "", "row", WITHHELD, malformed)
    geometry = col[GEOMETRY_PROBLEM]
    rej.add(geometry != "", "geometry", geometry, lambda p: [f"geometry is a {geometry[i]}; expected a Point"
                                                               for i in p])
    return malformed


def _cell_count_reason(count: str) -> str:
    cells, header = (int(x) for x in count.split("/"))
    if cells < header:
        return (f"the row has {cells} cells, fewer than the header's {header} (a missing delimiter?); "
                f"{_SHIFTED}")
    return (f"the row has {cells} cells, more than the header's {header} (an unquoted comma or delimiter "
            f"in a value?); {_SHIFTED}")


def check_categories(col: dict[str, np.ndarray], rej: Rejections) -> np.ndarray:
    """Programme key of every row (:func:`coverage.programmes.classify`): a known programme's key, or a
    custom programme as written; blank names and near misses of a known name (did-you-mean) are rejected.

    Parameters
    ----------
    col : dict of str to array
        Per-row object arrays of the stacked table (:func:`registry_columns`).
    rej : Rejections
        Collects the rejected rows; added to in place.

    Returns
    -------
    array
        The programme of every row.
    """
    column = _categorical(col["category"])
    if isinstance(column, pd.Categorical) and (column.codes >= 0).all():  # once per distinct name
        kinds, problems = classify(column.categories)
        category, problem = kinds[column.codes], problems[column.codes]
    else:  # mostly distinct names, or a missing value (not read from a file): row by row (classify caches)
        category, problem = classify(column)
    rej.add(pd.notna(problem), "category", column, problem)
    return category


def resolve_declared(col: dict[str, np.ndarray], towns: gpd.GeoDataFrame) -> dict[str, np.ndarray]:
    """The place each row declares (county/township columns), resolved once per distinct pair.

    Parameters
    ----------
    col : dict of str to array
        Per-row object arrays of the stacked table (:func:`registry_columns`).
    towns : GeoDataFrame
        The townships (:func:`coverage.load_townships` or the user's boundaries).

    Returns
    -------
    dict of arrays
        ``code`` (towncode or ``None``), ``county`` (official county when only a county is
        given), ``field``/``msg`` (the column and message of a name that does not resolve),
        ``sugg`` (the candidates of an ambiguous township, else ``None``), ``decl_county``
        (the official county declared either way).
    """
    codes, pairs = _distinct(col["county"], col["township"])
    decl = [_declared(county, township, towns) for county, township in pairs]
    county_of = dict(zip(towns["towncode"], towns["county"], strict=True))
    decl = [(*x, county_of.get(x[0], x[1])) for x in decl]
    return dict(zip(("code", "county", "field", "msg", "sugg", "decl_county"), _fields(decl, codes, 6),
                    strict=True))


def locate_without_coordinates(
    col: dict[str, np.ndarray], decl: dict[str, np.ndarray], xy: dict[str, np.ndarray],
    towns: gpd.GeoDataFrame, rej: Rejections,
) -> np.ndarray:
    """Towncode of every row: its coordinates' (``xy["code"]``), else the declared township, else the address.

    An ambiguous township (東區) is settled by the address when it names one of the candidates.
    Rows with neither are rejected, naming the field at fault. ``decl["code"]``/``decl["field"]``
    are updated for settled rows.

    Parameters
    ----------
    col : dict of str to array
        Per-row object arrays of the stacked table (:func:`registry_columns`).
    decl : dict of str to array
        The declared places (:func:`resolve_declared`).
    xy : dict of str to array
        The coordinates' result (:func:`coverage.coordinates.locate_by_coordinates`): ``code``, ``has`` ….
    towns : GeoDataFrame
        The townships (:func:`coverage.load_townships` or the user's boundaries).
    rej : Rejections
        Collects the rejected rows; added to in place.

    Returns
    -------
    array
        Towncode of every row, None where none was found.
    """
    from . import names

    full_of = {c: k + t for c, k, t in zip(towns["towncode"], towns["county"], towns["township"], strict=True)}
    county_of = dict(zip(towns["towncode"], towns["county"], strict=True))
    address, d_code, d_field = col["address"], decl["code"], decl["field"]
    code, need = xy["code"].copy(), ~xy["has"]
    for i in np.flatnonzero(need & pd.notna(decl["sugg"]) & (address != "")):
        parsed = names.parse_address(address[i], townships=towns)
        if parsed is not None and full_of.get(parsed) in decl["sugg"][i]:
            d_code[i], d_field[i] = parsed, None
    code[need] = d_code[need]
    rej.add(need & pd.notna(d_field), d_field, lambda p: [col[d_field[i]][i] for i in p], decl["msg"])
    by_addr = need & (col["township"] == "") & pd.isna(d_field) & (address != "")
    keys = list(zip(address[by_addr], col["county"][by_addr], strict=True))
    code[by_addr] = _map_unique(keys, lambda k: names.parse_address(k[0], townships=towns)
                                or (names.parse_address(k[1] + k[0], townships=towns) if k[1] else None))
    rej.add(by_addr & pd.isna(code), "address", address, lambda p: [
        f"no township found in address '{address[i]}'{hint}; add a 鄉鎮市區 column or coordinates"
        for i, hint in zip(p, _map_unique(address[p], lambda a: _did_you_mean(a, towns)), strict=True)])
    wrong = by_addr & pd.notna(code) & pd.notna(decl["decl_county"])
    wrong[wrong] = [county_of.get(c) != d for c, d in zip(code[wrong], decl["decl_county"][wrong], strict=True)]
    rej.add(wrong, "address", address, lambda p: [
        f"address is in {full_of[code[i]]} but county is {decl['decl_county'][i]}" for i in p])
    rej.add(need & (col["township"] == "") & (address == "") & pd.isna(d_field), "township", "",
            "no location: give lon/lat, TWD97 x/y, a township (鄉鎮市區) or an address")
    return code


def check_precision(col: dict[str, np.ndarray], has: np.ndarray, rej: Rejections,
                    notes: dict[Any, list[str]] | list[list[str]]) -> np.ndarray:
    """``point``, ``office``, ``village`` or ``township`` per row: ``point`` with coordinates unless the row
    says ``township``, ``village`` (the coordinates stand for a 村/里) or ``office`` (the point is an office
    several centres share); ``township`` without coordinates (:func:`locate_villages` may then refine it).

    Parameters
    ----------
    col : dict of str to array
        Per-row object arrays of the stacked table (:func:`registry_columns`).
    has : array of bool
        Rows with usable coordinates.
    rej : Rejections
        Collects the rejected rows; added to in place.
    notes : dict of int to list of str, or list of list of str
        Per-row notes (row position → notes; a ``defaultdict(list)`` keeps only the rows noted); appended to
        in place.

    Returns
    -------
    array of str
        The precision of every row.
    """
    given = col["precision"]
    prec_in = _precision_given(given)
    rej.add(prec_in == "?", "precision", given,
            lambda p: [f"precision '{given[i]}' is not point, office, village or township" for i in p])
    precision = np.array(["township", "point"], dtype=object)[np.asarray(has, dtype=np.intp)]  # 2 str objects
    precision[prec_in == "township"] = "township"
    precision[has & (prec_in == "office")] = "office"
    precision[has & (prec_in == "village")] = "village"
    for i in np.flatnonzero(~has & (prec_in == "point")):
        notes[i].append("precision 'point' given but no coordinates; located by township")
    return precision


def _precision_given(given: np.ndarray) -> np.ndarray:
    """The precision each row declares (``""`` when blank, ``"?"`` when not a known word)."""
    codes, distinct = _distinct(given)
    return _objects(_PRECISION.get(p.lower(), "?") if p else "" for p, in distinct)[codes]


def locate_villages(col: dict[str, np.ndarray], code: np.ndarray, precision: np.ndarray, has: np.ndarray,
                    towns: gpd.GeoDataFrame, notes: dict[Any, list[str]] | list[list[str]]) -> dict[str, np.ndarray]:
    """Rows without coordinates whose address names a 村/里 of their township: that village's point.

    The village is looked for right after the township in the address, among the villages of the
    row's own township only (:func:`coverage.names.village_in_address`); the row then stands on the
    village's representative point (inside its polygon, computed in EPSG:3826 as the village's people
    are placed by :func:`coverage.access.population_points`; ``precision`` = ``"village"``). A 村/里 that
    is not a village of the township is noted and the row stays on the township's point. A row
    declaring ``precision`` = ``township`` is left there. Townships whose code and name are not
    those of the bundled villages (:func:`coverage.geography.load_villages`) are not refined.

    Parameters
    ----------
    col : dict of str to array
        Per-row object arrays of the stacked table (:func:`registry_columns`).
    code : array
        Towncode of every row (:func:`locate_without_coordinates`), None where unknown.
    precision : array of str
        The precision of every row (:func:`check_precision`); ``village`` set in place.
    has : array of bool
        Rows with usable coordinates.
    towns : GeoDataFrame
        The townships the rows were located in.
    notes : dict of int to list of str, or list of list of str
        Per-row notes (row position → notes; a ``defaultdict(list)`` keeps only the rows noted); appended to
        in place.

    Returns
    -------
    dict of str to array
        ``villcode`` (None where not placed in a village), ``lon`` and ``lat`` (NaN there).
    """
    from . import names

    n = len(code)
    out = {"villcode": np.full(n, None, dtype=object), "lon": np.full(n, np.nan), "lat": np.full(n, np.nan)}
    address = col["address"]
    declared = _precision_given(col["precision"])
    todo = ~has & pd.notna(code) & (address != "") & (declared != "township") & (declared != "?")
    todo[todo] = pd.Series(address[todo], dtype=object).str.contains("[村里]", regex=True).to_numpy(dtype=bool)
    if not todo.any():
        for i in np.flatnonzero(~has & (declared == "village")):
            notes[i].append("precision 'village' given but the address names no village of the township; "
                            "located by township")
        return out
    index = _village_index()
    town_name = dict(zip(towns["towncode"], towns["township"], strict=True))
    full_name = {c: k + t for c, k, t in zip(towns["towncode"], towns["county"], towns["township"], strict=True)}
    rows = np.flatnonzero(todo)

    def find(key: tuple[str, str]) -> tuple[str | None, str | None]:
        addr, town = key
        own = index["by_town"].get(town)
        if own is None or own[0] != town_name.get(town):  # another set of boundaries
            return None, None
        village, unknown = names.village_in_address(addr, own[0], list(own[1]))
        return (own[1][village] if village else None), unknown

    found = _map_unique(zip(address[rows], code[rows], strict=True), find)
    villcode = np.array([v for v, _ in found], dtype=object)
    for i, (_, unknown) in zip(rows, found, strict=True):
        if unknown:
            notes[i].append(f"address names {unknown}, not a village of {full_name[code[i]]}; located by township")
    placed = rows[pd.notna(villcode)]
    if len(placed):
        import geopandas as gpd

        from .geography import PROJECTED_CRS

        distinct, inverse = np.unique(villcode[pd.notna(villcode)].astype(str), return_inverse=True)
        geoms = gpd.GeoSeries(index["geometry"][[index["position"][v] for v in distinct]], crs="EPSG:4326")
        # the point people of the village stand on (coverage.access.population_points): same projection
        rep = geoms.to_crs(PROJECTED_CRS).representative_point().to_crs("EPSG:4326").to_numpy()
        out["villcode"][placed] = distinct[inverse]
        out["lon"][placed] = np.array([p.x for p in rep])[inverse]
        out["lat"][placed] = np.array([p.y for p in rep])[inverse]
        precision[placed] = "village"
    for i in np.flatnonzero(~has & (declared == "village") & pd.isna(out["villcode"])):
        notes[i].append("precision 'village' given but the address names no village of the township; "
                        "located by township")
    return out


@functools.lru_cache(maxsize=1)
def _village_index() -> dict[str, Any]:
    """The bundled villages: per towncode (township name, {village name: villcode}), geometries, positions."""
    from .geography import load_villages

    v = load_villages()
    by_town: dict[str, tuple[str, dict[str, str]]] = {}
    for vc, tc, town, name in zip(v["villcode"], v["towncode"], v["township"], v["village"], strict=True):
        by_town.setdefault(tc, (town, {}))[1][name] = vc
    return {"by_town": by_town, "geometry": v.geometry.to_numpy(),
            "position": {c: k for k, c in enumerate(v["villcode"])}}


def check_dates(col: dict[str, np.ndarray], rej: Rejections) -> dict[str, np.ndarray]:
    """``opened``/``closed`` as Timestamps (``None`` when blank); bad dates, and closed before opened, rejected.

    Parameters
    ----------
    col : dict of str to array
        Per-row object arrays of the stacked table (:func:`registry_columns`).
    rej : Rejections
        Collects the rejected rows; added to in place.

    Returns
    -------
    dict of str to array
        ``opened`` and ``closed``, object arrays of Timestamps or None.
    """
    dates = {}
    for field in ("opened", "closed"):
        codes, distinct = _distinct(col[field])
        dates[field], err = _fields([_safe(parse_date)(v) for v, in distinct], codes, 2)
        rej.add(pd.notna(err), field, col[field], err)
    both = pd.notna(dates["opened"]) & pd.notna(dates["closed"])
    both[both] = dates["closed"][both] < dates["opened"][both]
    rej.add(both, "closed", col["closed"], lambda p: [
        f"closed {dates['closed'][i].date()} is before opened {dates['opened'][i].date()}" for i in p])
    return dates


def check_serves(col: dict[str, np.ndarray], code: np.ndarray, towns: gpd.GeoDataFrame,
                 rej: Rejections) -> list[tuple[str, ...]]:
    """Towncodes each row serves (read in the row's own county); unknown names are rejected.

    Parameters
    ----------
    col : dict of str to array
        Per-row object arrays of the stacked table (:func:`registry_columns`).
    code : array
        Towncode of every row (:func:`locate_without_coordinates`), None where unknown.
    towns : GeoDataFrame
        The townships (:func:`coverage.load_townships` or the user's boundaries).
    rej : Rejections
        Collects the rejected rows; added to in place.

    Returns
    -------
    list of tuple of str
        Per row, the towncodes of its ``serves`` column (empty when blank).
    """
    county_of = dict(zip(towns["towncode"], towns["county"], strict=True))
    located = _looked_up(county_of, code)  # the row's county: its township's, else the one it declares
    declared = np.asarray(col["county"], dtype=object).copy()  # one str per county, shared
    declared[declared == ""] = None
    ctx = np.where(pd.notna(located) & (located != ""), located, declared)
    codes, pairs = _distinct(col["serves"], ctx)
    serves, err = _fields([_serves(v, c, towns) if v else ((), None) for v, c in pairs], codes, 2)
    rej.add(pd.notna(err), "serves", col["serves"], err)
    return list(serves)


def check_cases(col: dict[str, np.ndarray], rej: Rejections) -> np.ndarray:
    """People served per row (NaN when blank); a bad value is rejected without being shown.

    Parameters
    ----------
    col : dict of str to array
        Per-row object arrays of the stacked table (:func:`registry_columns`).
    rej : Rejections
        Collects the rejected rows; added to in place.

    Returns
    -------
    array of float
        The caseload of every row.
    """
    codes, distinct = _distinct(col["cases"])
    parsed = [_safe(_cases)(v) for v, in distinct]
    err = _fields(parsed, codes, 2)[1]
    rej.add(pd.notna(err), "cases", WITHHELD, err)
    return np.array([np.nan if c is None else c for c, _ in parsed], dtype=float)[codes]


def _positions(xy: dict[str, np.ndarray], precision: np.ndarray, code: np.ndarray,
               towns: gpd.GeoDataFrame, village: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """lon/lat of every row: its coordinates, its village's or its township's representative point."""
    rep = towns.set_index("towncode").geometry.representative_point()
    lon, lat = xy["lon"].astype(float), xy["lat"].astype(float)
    town_rows = np.flatnonzero((precision == "township") & pd.notna(code))
    lon[town_rows] = rep.x.reindex(code[town_rows]).to_numpy()
    lat[town_rows] = rep.y.reindex(code[town_rows]).to_numpy()
    in_village = pd.notna(village["villcode"])
    lon[in_village], lat[in_village] = village["lon"][in_village], village["lat"][in_village]
    return lon, lat


def reject_duplicates(t: pd.DataFrame, keys: dict[str, np.ndarray], rej: Rejections) -> None:
    """Reject each otherwise accepted row that repeats an earlier one on every key.

    ``keys`` are arrays aligned to ``t`` (category, name, address, towncode, rounded lon/lat,
    precision); the reason names the first row by its file label and row number.

    Parameters
    ----------
    t : DataFrame
        The files read by :func:`coverage.tabular.read_table`, stacked: ``file``, ``row`` and the
        canonical columns.
    keys : dict of str to array
        The compared values, aligned to ``t``.
    rej : Rejections
        Collects the rejected rows; added to in place.
    """
    n = len(t)
    good = np.flatnonzero(~rej.bad)
    # one integer per distinct combination of keys (blanks and NaN equal to each other), then the first row of each
    # a Categorical compares by its codes (equal codes, equal values): no Python string per row
    numbers_first = sorted((_keys(v) for v in keys.values()), key=lambda v: v.dtype == object)  # cheap first
    codes = _codes(*(v[good] for v in numbers_first))
    new = np.ones(len(codes), dtype=bool)  # codes count from 0 in order of first appearance
    new[1:] = codes[1:] > np.maximum.accumulate(codes)[:-1]
    first = good[np.flatnonzero(new)[codes]]
    dup = np.zeros(n, dtype=bool)
    dup[good] = first != good
    first_of = np.zeros(n, dtype=int)
    first_of[good] = first
    rows = t["row"].to_numpy()
    rej.add(dup, "row", keys["name"], lambda p: [f"duplicate of {file} row {rows[first_of[i]]}"
                                                 for i, file in zip(p, _files_at(t, first_of[p]), strict=True)])


def find_mismatches(
    t: pd.DataFrame, col: dict[str, np.ndarray], keep: np.ndarray, has: np.ndarray, code: np.ndarray,
    decl: dict[str, np.ndarray], towns: gpd.GeoDataFrame,
    notes: dict[Any, list[str]] | list[list[str]],
) -> pd.DataFrame:
    """Accepted rows whose coordinates lie in another township (or county) than the declared one.

    Also notes, on each accepted row located by coordinates, a declaration that disagrees or
    could not be used.

    Parameters
    ----------
    t : DataFrame
        The files read by :func:`coverage.tabular.read_table`, stacked: ``file``, ``row`` and the
        canonical columns.
    col : dict of str to array
        Per-row object arrays of the stacked table (:func:`registry_columns`).
    keep : array of bool
        Rows accepted so far.
    has : array of bool
        Rows with usable coordinates.
    code : array
        Towncode of every row (:func:`locate_without_coordinates`), None where unknown.
    decl : dict of str to array
        The declared places (:func:`resolve_declared`).
    towns : GeoDataFrame
        The townships (:func:`coverage.load_townships` or the user's boundaries).
    notes : dict of int to list of str, or list of list of str
        Per-row notes (row position → notes; a ``defaultdict(list)`` keeps only the rows noted); appended to
        in place.

    Returns
    -------
    DataFrame
        :data:`MISMATCH_COLUMNS` with kind ``location`` (official names).
    """
    county_of = dict(zip(towns["towncode"], towns["county"], strict=True))
    full_of = {c: county_of[c] + t_ for c, t_ in zip(towns["towncode"], towns["township"], strict=True)}
    d_code, d_county, d_msg = decl["code"], decl["county"], decl["msg"]
    for i in np.flatnonzero(keep & has & pd.notna(decl["sugg"])):
        if full_of.get(code[i]) in decl["sugg"][i]:  # an ambiguous 東區 that the coordinates settle
            d_code[i], d_msg[i] = code[i], None
    mism = keep & has & pd.notna(code) & (pd.notna(d_code) | pd.notna(d_county))
    located_county = _looked_up(county_of, code)
    mism &= np.where(pd.notna(d_code), d_code != code, d_county != located_county)
    declared = np.where(pd.notna(d_code), _looked_up(full_of, d_code), d_county)
    for i in np.flatnonzero(mism):
        notes[i].append(f"declared {declared[i]}, coordinates in {full_of[code[i]]}")
    for i in np.flatnonzero(keep & has & pd.notna(d_msg)):
        notes[i].append(f"declared place not used: {d_msg[i]}")
    return pd.DataFrame({
        "file": _files_at(t, mism), "row": t["row"].to_numpy()[mism].astype("int64"),
        "name": col["name"][mism], "kind": "location", "declared": declared[mism],
        "located": [full_of[c] for c in code[mism]],
        "reason": [f"declared {declared[i]}, coordinates in {full_of[code[i]]}" for i in np.flatnonzero(mism)],
    })



def check_rows(t: pd.DataFrame, towns: gpd.GeoDataFrame, datum: str) -> dict[str, Any]:
    """Every per-row check of a stacked table, in order; the values, rejections and notes they give.

    Parameters
    ----------
    t : DataFrame
        The stacked registry table (:func:`coverage.facilities.read_registry_tables`), with a RangeIndex.
    towns : GeoDataFrame
        Townships to locate in.
    datum : {"TWD97", "TWD67"}
        Datum of TM2 metre coordinates (:func:`coverage.coordinates.check_xy_datum`).

    Returns
    -------
    dict
        ``rej`` (the :class:`~coverage.rejections.Rejections`), ``malformed`` (per row, why it is
        malformed, else ``""``), ``values`` (per-row arrays for
        :func:`coverage.facilities.facility_frame`), ``notes`` (row position → its notes, rows noted only),
        ``keep`` (accepted rows) and ``mismatches`` (:data:`MISMATCH_COLUMNS`).
    """
    n = len(t)
    notes: defaultdict[int, list[str]] = defaultdict(list)  # only the rows noted (a few of a million)
    rej, col = Rejections(n), registry_columns(t)
    malformed = reject_malformed_rows(col, rej)
    category = check_categories(col, rej)
    decl = resolve_declared(col, towns)
    xy = locate_by_coordinates(col, towns, decl["decl_county"], rej, notes, datum)
    code = locate_without_coordinates(col, decl, xy, towns, rej)
    precision = check_precision(col, xy["has"], rej, notes)
    village = locate_villages(col, code, precision, xy["has"], towns, notes)
    values: dict[str, Any] = {"col": col, "category": category, "code": code, "precision": precision,
              "dates": check_dates(col, rej), "serves": check_serves(col, code, towns, rej),
              "cases": check_cases(col, rej), "snapped": xy["snapped"]}
    values["lon"], values["lat"] = _positions(xy, precision, code, towns, village)
    rounded = {k: np.where(rej.bad, 0.0, values[k]).round(6) for k in ("lon", "lat")}  # rejected ones may be 1e308
    reject_duplicates(t, {"category": category, "name": col["name"], "address": col["address"], "code": code,
                          **rounded, "precision": precision}, rej)
    keep = ~rej.bad
    mismatches = find_mismatches(t, col, keep, xy["has"], code, decl, towns, notes)
    mismatches = _with_status_mismatches(mismatches, t, col, values["dates"], keep)
    return {"rej": rej, "malformed": malformed, "values": values, "notes": notes, "keep": keep,
            "mismatches": mismatches}
