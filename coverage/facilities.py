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
  are dropped unless named in ``public_columns``.
* A malformed row — non-blank cells beyond the header's width or, in CSV, fewer or more cells
  than the header (blank ones included) — is rejected whole with one line and none of its
  values, since they may have shifted (a contact's name in the date column). A bad ``cases``
  value is rejected without being shown.

Counts balance: ``rows_read == accepted + rejected_rows``. The steps are public functions
(:func:`read_registry_tables` → :func:`registry_from_table`, which runs :func:`reject_malformed_rows`,
:func:`check_categories`, :func:`resolve_declared`, :func:`coverage.coordinates.locate_by_coordinates`,
:func:`locate_without_coordinates`, the ``check_*`` functions, :func:`reject_duplicates`,
:func:`find_mismatches` and :func:`facility_frame`), each usable on its own.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .coordinates import check_xy_datum, locate_by_coordinates
from .dates import parse_date, status_conflicts
from .errors import AmbiguousNameError, NameResolutionError
from .programmes import PROGRAMMES, classify, programme_key
from .readers import (
    CELL_COUNT,
    COLUMNS,
    EXTRA_CELLS,
    GEOMETRY_PROBLEM,
    PART,
    ROW_PROBLEM,
    file_labels,
    flatten_tables,
    read_table,
)
from .rejections import REJECTED_COLUMNS, WITHHELD, Rejections
from .rejections import rejected_rows as _rejected_rows

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

__all__ = [
    "CATEGORIES",
    "FACILITY_COLUMNS",
    "REJECTED_COLUMNS",
    "WITHHELD",
    "Registry",
    "check_cases",
    "check_categories",
    "check_dates",
    "check_precision",
    "check_serves",
    "facility_frame",
    "find_mismatches",
    "locate_without_coordinates",
    "normalise_category",
    "parse_date",
    "read_facilities",
    "read_registry_tables",
    "read_table",
    "registry_columns",
    "registry_from_table",
    "reject_duplicates",
    "reject_malformed_rows",
    "resolve_declared",
    "split_extra_columns",
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

_SERVES_SPLIT = re.compile(r"[、,;/\s]+")
_PRECISION = {"point": "point", "點": "point", "點位": "point",
              "township": "township", "鄉鎮": "township", "鄉鎮市區": "township",
              "office": "office", "辦公室": "office", "共用辦公室": "office"}


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
        problems has several lines (count rows with :attr:`rejected_rows`). A malformed row
        (its cells do not line up with the header) has one line, its values withheld.
    mismatches : DataFrame
        :data:`MISMATCH_COLUMNS`: accepted rows whose coordinates lie in another township (or
        county) than the declared one (kind ``location``; official ``縣市鄉鎮市區`` names), and
        accepted rows whose status contradicts their dates (kind ``status``).
    rows_read : int
        Non-blank data rows read. Invariant: ``rows_read == accepted + rejected_rows``.
    withheld_columns : tuple of str
        Personal columns of the files that were dropped (:mod:`coverage.privacy`).
    public_columns : tuple of str
        Columns the user marked public (kept, and shown in map popups).
    skipped : tuple of str
        What the files held but was not read, one line each: hidden sheets and rows, sheets
        without a registry header, layers that are not points (:func:`coverage.readers.read_table`).
    """

    facilities: gpd.GeoDataFrame
    rejected: pd.DataFrame
    mismatches: pd.DataFrame
    rows_read: int
    withheld_columns: tuple[str, ...] = ()
    public_columns: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()

    @property
    def accepted(self) -> int:
        """Number of accepted rows (``len(facilities)``)."""
        return len(self.facilities)

    @property
    def rejected_rows(self) -> int:
        """Number of distinct rows rejected (a row with three problems counts once)."""
        return _rejected_rows(self.rejected)


def normalise_category(value: object) -> str:
    """Canonical key of a programme name, or the name as written if it is not an accepted one.

    Blank input gives ``""`` (which :func:`read_facilities` rejects). See :mod:`coverage.programmes`.

    Parameters
    ----------
    value : object
        A programme name or key as written in a registry or typed by a user.

    Returns
    -------
    str
        The canonical key (``welfare_centre`` …), or the name as written.

    Examples
    --------
    >>> normalise_category(" 社福中心 "), normalise_category("小衛星"), normalise_category("少年服務方案")
    ('welfare_centre', 'community_support_point', '少年服務方案')
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

    def when(i: int | np.integer) -> str:
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

# ----------------------------------------------------------------------------- the steps of read_facilities

_SHIFTED = ("its values are not shown: they may have shifted between columns, into or out of personal columns; "
            "fix the row in the file")
#: Internal columns of a stacked table (not the files' own columns).
_INTERNAL = ("file", "row", EXTRA_CELLS, CELL_COUNT, ROW_PROBLEM, GEOMETRY_PROBLEM)


def read_registry_tables(
    paths: str | Path | Sequence[str | Path], public_columns: Sequence[str] = (), *, layer: str | None = None,
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Read registry files and stack them into one table of strings.

    Parameters
    ----------
    paths : path or sequence of paths
    public_columns : sequence of str
        Personal columns the user marked public (not listed as personal).
    layer : str, optional
        Read only this sheet or layer of each file (:func:`coverage.readers.read_table`).

    Returns
    -------
    table : DataFrame
        :func:`coverage.readers.flatten_tables` of the files: ``file`` (an opaque label: the shortest
        unique path, ``#sheet`` or ``#layer`` for a part of a file), ``row`` (as numbered in the file),
        the canonical and the files' own columns; ``attrs["skipped"]`` names what was not read.
    personal : dict
        Personal columns (:func:`coverage.privacy.personal_columns`) of each file label.
    """
    from .privacy import personal_columns

    path_list = [paths] if isinstance(paths, (str, Path)) else list(paths)
    labels = file_labels(path_list)
    tables = [(read_table(p, layer=layer), label) for p, label in zip(path_list, labels, strict=True)]
    personal_of: dict[str, list[str]] = {}
    for table, file in tables:
        personal = personal_columns(table.columns, public_columns)
        parts = set(table[PART].unique()) if PART in table.columns else set()
        for key in (file, *(f"{file}#{p}" for p in parts if p)):
            personal_of.setdefault(key, []).extend(personal)
    return flatten_tables(tables), personal_of


def registry_columns(t: pd.DataFrame) -> dict[str, np.ndarray]:
    """The canonical and internal columns of a stacked table as object arrays (``""`` if absent).

    Equal values are one Python object (a registry of a million rows repeats its categories,
    townships and blanks), so the arrays cost 8 bytes a cell.

    Parameters
    ----------
    t : DataFrame
        The files read by :func:`coverage.readers.read_table`, stacked: ``file``, ``row`` and the
        canonical columns.

    Returns
    -------
    dict of str to array
        Column name → object array aligned to ``t``.
    """
    return {c: _shared_objects(t[c]) if c in t.columns else np.full(len(t), "", dtype=object)
            for c in (*COLUMNS, EXTRA_CELLS, CELL_COUNT, ROW_PROBLEM, GEOMETRY_PROBLEM)}


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
    category, problem = classify(col["category"])
    rej.add(pd.notna(problem), "category", col["category"], problem)
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
    decl = _map_unique(list(zip(col["county"], col["township"], strict=True)),
                       lambda k: _declared(k[0], k[1], towns))
    d = dict(zip(("code", "county", "field", "msg", "sugg"), (_objects(x[j] for x in decl) for j in range(5)),
                 strict=True))
    county_of = dict(zip(towns["towncode"], towns["county"], strict=True))
    d["decl_county"] = np.array([county_of.get(c, k) for c, k in zip(d["code"], d["county"], strict=True)],
                                dtype=object)
    return d


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
                    notes: list[list[str]]) -> np.ndarray:
    """``point``, ``office`` or ``township`` per row: ``point`` with coordinates unless the row says
    ``township``, or ``office`` (the point is an office several centres share).

    Parameters
    ----------
    col : dict of str to array
        Per-row object arrays of the stacked table (:func:`registry_columns`).
    has : array of bool
        Rows with usable coordinates.
    rej : Rejections
        Collects the rejected rows; added to in place.
    notes : list of list of str
        Per-row notes; appended to in place.

    Returns
    -------
    array of str
        The precision of every row.
    """
    given = col["precision"]
    prec_in = np.array([_PRECISION.get(p.lower(), "?") if p else "" for p in given], dtype=object)
    rej.add(prec_in == "?", "precision", given,
            lambda p: [f"precision '{given[i]}' is not point, office or township" for i in p])
    precision = np.where(has, "point", "township").astype(object)
    precision[prec_in == "township"] = "township"
    precision[has & (prec_in == "office")] = "office"
    for i in np.flatnonzero(~has & (prec_in == "point")):
        notes[i].append("precision 'point' given but no coordinates; located by township")
    return precision


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
        parsed = _map_unique(col[field], _safe(parse_date))
        dates[field] = np.array([d for d, _ in parsed], dtype=object)
        err = np.array([e for _, e in parsed], dtype=object)
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
    ctx = [county_of.get(c) or (k or None) for c, k in zip(code, col["county"], strict=True)]
    keys = list(zip(col["serves"], ctx, strict=True))
    serves = _map_unique(keys, lambda k: _serves(k[0], k[1], towns) if k[0] else ((), None))
    err = np.array([e for _, e in serves], dtype=object)
    rej.add(pd.notna(err), "serves", col["serves"], err)
    return [s for s, _ in serves]


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
    parsed = _map_unique(col["cases"], _safe(_cases))
    err = np.array([e for _, e in parsed], dtype=object)
    rej.add(pd.notna(err), "cases", WITHHELD, err)
    return np.array([np.nan if c is None else c for c, _ in parsed], dtype=float)


def _positions(xy: dict[str, np.ndarray], precision: np.ndarray, code: np.ndarray,
               towns: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """lon/lat of every row: its coordinates, or its township's representative point."""
    rep = towns.set_index("towncode").geometry.representative_point()
    lon, lat = xy["lon"].astype(float), xy["lat"].astype(float)
    town_rows = np.flatnonzero((precision == "township") & pd.notna(code))
    lon[town_rows] = rep.x.reindex(code[town_rows]).to_numpy()
    lat[town_rows] = rep.y.reindex(code[town_rows]).to_numpy()
    return lon, lat


def reject_duplicates(t: pd.DataFrame, keys: dict[str, np.ndarray], rej: Rejections) -> None:
    """Reject each otherwise accepted row that repeats an earlier one on every key.

    ``keys`` are arrays aligned to ``t`` (category, name, address, towncode, rounded lon/lat,
    precision); the reason names the first row by its file label and row number.

    Parameters
    ----------
    t : DataFrame
        The files read by :func:`coverage.readers.read_table`, stacked: ``file``, ``row`` and the
        canonical columns.
    keys : dict of str to array
        The compared values, aligned to ``t``.
    rej : Rejections
        Collects the rejected rows; added to in place.
    """
    n = len(t)
    good = np.flatnonzero(~rej.bad)
    frame = pd.DataFrame({k: v[good] for k, v in keys.items()})
    first = pd.Series(good).groupby([frame[k] for k in frame], dropna=False, sort=False).transform("first")
    dup = np.zeros(n, dtype=bool)
    dup[good] = first.to_numpy() != good
    first_of = np.zeros(n, dtype=int)
    first_of[good] = first.to_numpy()
    files, rows = t["file"].to_numpy(), t["row"].to_numpy()
    rej.add(dup, "row", keys["name"], lambda p: [f"duplicate of {files[first_of[i]]} row {rows[first_of[i]]}"
                                                 for i in p])


def find_mismatches(
    t: pd.DataFrame, col: dict[str, np.ndarray], keep: np.ndarray, has: np.ndarray, code: np.ndarray,
    decl: dict[str, np.ndarray], towns: gpd.GeoDataFrame, notes: list[list[str]],
) -> pd.DataFrame:
    """Accepted rows whose coordinates lie in another township (or county) than the declared one.

    Also notes, on each accepted row located by coordinates, a declaration that disagrees or
    could not be used.

    Parameters
    ----------
    t : DataFrame
        The files read by :func:`coverage.readers.read_table`, stacked: ``file``, ``row`` and the
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
    notes : list of list of str
        Per-row notes; appended to in place.

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
    located_county = np.array([county_of.get(c) for c in code], dtype=object)
    mism &= np.where(pd.notna(d_code), d_code != code, d_county != located_county)
    declared = np.where(pd.notna(d_code), [full_of.get(c) for c in d_code], d_county)  # type: ignore[arg-type]
    for i in np.flatnonzero(mism):
        notes[i].append(f"declared {declared[i]}, coordinates in {full_of[code[i]]}")
    for i in np.flatnonzero(keep & has & pd.notna(d_msg)):
        notes[i].append(f"declared place not used: {d_msg[i]}")
    return pd.DataFrame({
        "file": t["file"].to_numpy()[mism], "row": t["row"].to_numpy()[mism].astype("int64"),
        "name": col["name"][mism], "kind": "location", "declared": declared[mism],
        "located": [full_of[c] for c in code[mism]],
        "reason": [f"declared {declared[i]}, coordinates in {full_of[code[i]]}" for i in np.flatnonzero(mism)],
    })


def facility_frame(t: pd.DataFrame, keep: np.ndarray, values: dict[str, Any], towns: gpd.GeoDataFrame,
                   notes: list[list[str]]) -> pd.DataFrame:
    """The :data:`FACILITY_COLUMNS` of the accepted rows (``keep``), in table order.

    ``values`` holds per-row arrays: ``category``, ``code``, ``lon``, ``lat``, ``precision``,
    ``dates`` (opened/closed), ``serves``, ``cases``, ``snapped`` and ``col`` (:func:`registry_columns`).
    ``facility_id`` is ``file:row`` with the file label kept as it is (it may carry a sheet or
    layer name, or a folder), so ids are unique as long as labels are.

    Parameters
    ----------
    t : DataFrame
        The files read by :func:`coverage.readers.read_table`, stacked: ``file``, ``row`` and the
        canonical columns.
    keep : array of bool
        Rows accepted so far.
    values : dict of str to object
        The per-row arrays above.
    towns : GeoDataFrame
        The townships (:func:`coverage.load_townships` or the user's boundaries).
    notes : list of list of str
        Per-row notes; appended to in place.

    Returns
    -------
    DataFrame
        One row per accepted facility, columns :data:`FACILITY_COLUMNS`.
    """
    k = np.flatnonzero(keep)
    col, kc = values["col"], values["code"][k]
    county_of = dict(zip(towns["towncode"], towns["county"], strict=True))
    town_of = dict(zip(towns["towncode"], towns["township"], strict=True))
    files, rows = t["file"].to_numpy()[k], t["row"].to_numpy()[k].astype("int64")
    dates = values["dates"]
    out = pd.DataFrame({
        "facility_id": [f"{f}:{r}" for f, r in zip(files, rows, strict=True)],
        "file": files,
        "row": rows,
        "category": values["category"][k],
        "name": col["name"][k],
        "county": [county_of[c] for c in kc],
        "township": [town_of[c] for c in kc],
        "towncode": kc,
        "address": col["address"][k],
        "lon": values["lon"][k],
        "lat": values["lat"][k],
        "precision": values["precision"][k],
        "status": col["status"][k],
        "opened": pd.to_datetime(pd.Series(dates["opened"][k], dtype=object)).astype("datetime64[ns]"),
        "closed": pd.to_datetime(pd.Series(dates["closed"][k], dtype=object)).astype("datetime64[ns]"),
        "serves": pd.Series([values["serves"][i] for i in k], dtype=object),
        "source": col["source"][k],
        "cases": values["cases"][k],
        "snapped": values["snapped"][k],
        "note": ["; ".join(notes[i]) for i in k],
    })
    text_cols = [c for c in FACILITY_COLUMNS if c not in ("row", "lon", "lat", "opened", "closed",
                                                           "serves", "cases", "snapped")]
    return out.astype(dict.fromkeys(text_cols, "str"))


def split_extra_columns(
    t: pd.DataFrame, personal_of: dict[str, list[str]], public_columns: Sequence[str] = (),
) -> tuple[list[str], list[str], list[str]]:
    """The files' own columns: (kept, withheld as personal, marked public).

    A column is withheld when it is personal in any file (:func:`coverage.privacy.personal_columns`)
    and not marked public; a public mark that matches no column is logged.

    Parameters
    ----------
    t : DataFrame
        The files read by :func:`coverage.readers.read_table`, stacked: ``file``, ``row`` and the
        canonical columns.
    personal_of : dict of str to list of str
        File label (and ``label#sheet`` or layer) → its personal columns not marked public.
    public_columns : sequence of str
        Columns about a person the caller marks public.

    Returns
    -------
    kept : list of str
        The files' own columns that are not withheld.
    withheld : list of str
        Personal columns left out.
    public : list of str
        The files' own columns that ``public_columns`` names.
    """
    from .privacy import column_key

    extras = [c for c in t.columns if c not in {*_INTERNAL, *COLUMNS}]
    personal = {p for cols in personal_of.values() for p in cols}
    withheld = [c for c in extras if c in personal]
    marked = {column_key(p) for p in public_columns}
    public = [c for c in extras if column_key(c) in marked or column_key(c.removeprefix("src_")) in marked]
    if withheld:
        log.info("personal column(s) not kept: %s (mark one public to keep it)", ", ".join(withheld))
    unknown = sorted(marked - {column_key(c) for c in public} - {column_key(c.removeprefix("src_")) for c in public})
    if unknown:
        log.warning("public column(s) not found in the registry: %s; its other columns: %s",
                    ", ".join(p for p in public_columns if column_key(p) in unknown),
                    ", ".join(extras) or "none")
    return [c for c in extras if c not in withheld], withheld, public


def _validate(t: pd.DataFrame, towns: gpd.GeoDataFrame, datum: str) -> dict[str, Any]:
    """Every per-row check of a stacked table; the values, rejections and notes they give."""
    n = len(t)
    notes: list[list[str]]
    rej, notes, col = Rejections(n), [[] for _ in range(n)], registry_columns(t)
    malformed = reject_malformed_rows(col, rej)
    category = check_categories(col, rej)
    decl = resolve_declared(col, towns)
    xy = locate_by_coordinates(col, towns, decl["decl_county"], rej, notes, datum)
    code = locate_without_coordinates(col, decl, xy, towns, rej)
    precision = check_precision(col, xy["has"], rej, notes)
    values: dict[str, Any] = {"col": col, "category": category, "code": code, "precision": precision,
              "dates": check_dates(col, rej), "serves": check_serves(col, code, towns, rej),
              "cases": check_cases(col, rej), "snapped": xy["snapped"]}
    values["lon"], values["lat"] = _positions(xy, precision, code, towns)
    rounded = {k: np.where(rej.bad, 0.0, values[k]).round(6) for k in ("lon", "lat")}  # rejected ones may be 1e308
    reject_duplicates(t, {"category": category, "name": col["name"], "address": col["address"], "code": code,
                          **rounded, "precision": precision}, rej)
    keep = ~rej.bad
    mismatches = find_mismatches(t, col, keep, xy["has"], code, decl, towns, notes)
    mismatches = _with_status_mismatches(mismatches, t, col, values["dates"], keep)
    return {"rej": rej, "malformed": malformed, "values": values, "notes": notes, "keep": keep,
            "mismatches": mismatches}


def registry_from_table(
    t: pd.DataFrame,
    townships: gpd.GeoDataFrame | None = None,
    *,
    personal_of: dict[str, list[str]] | None = None,
    public_columns: Sequence[str] = (),
    xy_datum: str = "TWD97",
) -> Registry:
    """Validate and locate a stacked registry table (:func:`read_registry_tables`).

    Parameters
    ----------
    t : DataFrame
        ``file`` (an opaque label, kept as it is in ids and rejections), ``row``, the canonical
        columns (absent ones count as blank) and the files' own columns, all strings.
    townships : GeoDataFrame, optional
        Townships to locate in; default :func:`coverage.geography.load_townships`.
    personal_of : dict, optional
        Personal columns of each file label; they are not kept.
    public_columns : sequence of str
    xy_datum : {"TWD97", "TWD67"}

    Returns
    -------
    Registry
        Every row of ``t`` is either a facility or rejected (``rows_read == len(t)``).
    """
    import geopandas as gpd

    from .geography import load_townships

    datum = check_xy_datum(xy_datum)
    towns = load_townships() if townships is None else townships
    t = t.reset_index(drop=True)
    v = _validate(t, towns, datum)
    out = facility_frame(t, v["keep"], v["values"], towns, v["notes"])
    kept, withheld, public = split_extra_columns(t, personal_of or {}, public_columns)
    for c in kept:
        out[c] = t[c].to_numpy()[v["keep"]]
    facilities = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(out["lon"], out["lat"]), crs="EPSG:4326")
    malformed = v["malformed"]
    rejected = v["rej"].table(t, malformed != "", lambda p: malformed[p].tolist())
    return Registry(facilities, rejected, v["mismatches"], len(t), tuple(withheld), tuple(public),
                    tuple(t.attrs.get("skipped", ())))


def read_facilities(
    paths: str | Path | Sequence[str | Path],
    townships: gpd.GeoDataFrame | None = None,
    *,
    public_columns: Sequence[str] = (),
    xy_datum: str = "TWD97",
    layer: str | None = None,
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
    layer : str, optional
        Read only this sheet (XLSX) or layer (GeoPackage) of each file that has several; by
        default every visible sheet with a registry header and every point layer is read, its
        name appended to the file label (``清冊.xlsx#小衛星``).

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
    >>> reg.rejected[["row", "field"]].values.tolist(), (reg.rows_read, reg.accepted, reg.rejected_rows)
    ([[3, 'township']], (2, 1, 1))
    """
    datum = check_xy_datum(xy_datum)
    t, personal_of = read_registry_tables(paths, public_columns, layer=layer)
    reg = registry_from_table(t, townships, personal_of=personal_of, public_columns=public_columns,
                              xy_datum=datum)
    log.info("%d row(s) read from %d file(s): %d accepted, %d rejected, %d mismatch(es)",
             reg.rows_read, len(personal_of), reg.accepted, reg.rejected_rows, len(reg.mismatches))
    return reg
