"""Read and validate facility registries (any format) into one GeoDataFrame plus a rejection table.

A registry is a table of service points: category, name, where it is (coordinates, a
township or an address), when it opened and closed, which townships it serves. Files come
as CSV (UTF-8 or Big5), XLSX, GeoJSON or GeoPackage (read by :mod:`coverage.tabular`).
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
  ``"township"``), or, when the address names a 村/里 of that township right after it, on the
  village's representative point (``precision`` = ``"village"``; :func:`locate_villages`). A 村/里
  that is not a village of the township is noted, and the row stays on the township's point.
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
(:func:`read_registry_tables` → :func:`registry_from_table`, which runs
:func:`coverage.registry_checks.check_rows` — :func:`reject_malformed_rows`, :func:`check_categories`,
:func:`resolve_declared`, :func:`coverage.coordinates.locate_by_coordinates`,
:func:`locate_without_coordinates`, the ``check_*`` functions, :func:`reject_duplicates`,
:func:`find_mismatches` — then :func:`facility_frame`), each usable on its own. The checks live in
:mod:`coverage.registry_checks` and are re-exported here.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .coordinates import check_xy_datum
from .dates import parse_date
from .programmes import PROGRAMMES, classify, programme_key
from .registry_checks import (
    MISMATCH_COLUMNS,
    categorical_columns,
    check_cases,
    check_categories,
    check_dates,
    check_precision,
    check_rows,
    check_serves,
    find_mismatches,
    locate_villages,
    locate_without_coordinates,
    registry_columns,
    reject_duplicates,
    reject_malformed_rows,
    resolve_declared,
)
from .rejections import REJECTED_COLUMNS, WITHHELD
from .rejections import rejected_rows as count_rejected_rows
from .tabular import (
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

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

__all__ = [
    "CATEGORIES",
    "FACILITY_COLUMNS",
    "MISMATCH_COLUMNS",
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
    "locate_villages",
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
        without a registry header, layers that are not points (:func:`coverage.tabular.read_table`).
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
        return count_rejected_rows(self.rejected)


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


# ----------------------------------------------------------------------------- reading and output

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
        Read only this sheet or layer of each file (:func:`coverage.tabular.read_table`).

    Returns
    -------
    table : DataFrame
        :func:`coverage.tabular.flatten_tables` of the files: ``file`` (an opaque label: the shortest
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


def facility_frame(t: pd.DataFrame, keep: np.ndarray, values: dict[str, Any], towns: gpd.GeoDataFrame,
                   notes: dict[Any, list[str]] | list[list[str]]) -> pd.DataFrame:
    """The :data:`FACILITY_COLUMNS` of the accepted rows (``keep``), in table order.

    ``values`` holds per-row arrays: ``category``, ``code``, ``lon``, ``lat``, ``precision``,
    ``dates`` (opened/closed), ``serves``, ``cases``, ``snapped`` and ``col`` (:func:`registry_columns`).
    ``facility_id`` is ``file:row`` with the file label kept as it is (it may carry a sheet or
    layer name, or a folder), so ids are unique as long as labels are.

    Parameters
    ----------
    t : DataFrame
        The files read by :func:`coverage.tabular.read_table`, stacked: ``file``, ``row`` and the
        canonical columns.
    keep : array of bool
        Rows accepted so far.
    values : dict of str to object
        The per-row arrays above.
    towns : GeoDataFrame
        The townships (:func:`coverage.load_townships` or the user's boundaries).
    notes : dict of int to list of str, or list of list of str
        Per-row notes (row position → notes; a ``defaultdict(list)`` keeps only the rows noted); appended to
        in place.

    Returns
    -------
    DataFrame
        One row per accepted facility, columns :data:`FACILITY_COLUMNS`.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    k = np.flatnonzero(keep)
    kc = values["code"][k]
    codes, distinct = pd.factorize(kc)  # every accepted row has a towncode
    by_code = towns.set_index("towncode")
    files, rows = _taken(t, "file", k), t["row"].to_numpy()[k].astype("int64")
    dates = values["dates"]
    ids = pc.binary_join_element_wise(pa.array(pd.array(files, dtype="str")).cast(pa.large_string()),
                                      pc.cast(pa.array(rows), pa.large_string()), pa.scalar(":", pa.large_string()))
    out = pd.DataFrame({
        "facility_id": pd.array(ids, dtype="str"),
        "file": _text(files),
        "row": rows,
        "category": _text(values["category"][k]),
        "name": _taken(t, "name", k),
        "county": _text(by_code["county"].reindex(distinct).to_numpy(), codes),
        "township": _text(by_code["township"].reindex(distinct).to_numpy(), codes),
        "towncode": _text(np.asarray(distinct, dtype=object), codes),
        "address": _taken(t, "address", k),
        "lon": values["lon"][k],
        "lat": values["lat"][k],
        "precision": _text(values["precision"][k]),
        "status": _taken(t, "status", k),
        "opened": _timestamps(dates["opened"][k]),
        "closed": _timestamps(dates["closed"][k]),
        "serves": pd.Series(_objects(values["serves"])[k], dtype=object),
        "source": _taken(t, "source", k),
        "cases": values["cases"][k],
        "snapped": values["snapped"][k],
        "note": _text(_note_texts(notes, k)),
    })
    text_cols = [c for c in FACILITY_COLUMNS if c not in ("row", "lon", "lat", "opened", "closed",
                                                           "serves", "cases", "snapped")]
    return out.astype(dict.fromkeys(text_cols, "str"))


def _text(values: Any, codes: np.ndarray | None = None) -> Any:
    """``values`` (or ``values[codes]``) as an Arrow string array, built from the distinct values by index:
    no Python string per row on the way (a Categorical's categories are taken by its codes)."""
    if isinstance(values, pd.Categorical):
        values, codes = values.categories.array, values.codes
    elif codes is None:
        codes, values = pd.factorize(np.asarray(values, dtype=object))
    text = values if isinstance(getattr(values, "dtype", None), pd.StringDtype) else \
        pd.array(np.asarray(values, dtype=object), dtype="str")
    return text.take(codes, allow_fill=True)


def _timestamps(values: np.ndarray) -> pd.Series:
    """Timestamps or None per row as a ``datetime64[ns]`` column, converted once per distinct date."""
    codes, distinct = pd.factorize(np.asarray(values, dtype=object))
    converted = pd.to_datetime(pd.Series(np.asarray(distinct, dtype=object), dtype=object)).astype("datetime64[ns]")
    # code -1 (None) takes the NaT appended last
    return pd.Series(np.append(converted.to_numpy(), np.datetime64("NaT", "ns"))[codes], dtype="datetime64[ns]")


def _release_memory() -> None:
    """Return the memory freed so far to the operating system: Arrow's pool, and glibc's heap where there is one.

    Arrow (mimalloc) and numpy (glibc malloc) keep freed pages for reuse by themselves only; between the steps
    of a large read (text → Categoricals → checks → output) each step's garbage would otherwise add to the
    next one's peak.
    """
    import ctypes
    import ctypes.util

    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        trim = getattr(libc, "malloc_trim", None)
    except OSError:  # pragma: no cover - no C library to load
        trim = None
    if trim is not None:
        trim(0)


@contextlib.contextmanager
def _system_arrow_pool() -> Iterator[None]:
    """Arrow allocates from the C library's heap (its system pool) while inside, then from the pool it used before.

    Arrow's default pool (mimalloc) keeps the pages of freed buffers for its own reuse, and
    ``release_unused`` gives back only part of them: at 10^6 rows ~130 MB of the read table's freed
    text stayed resident under the checks and the output (issue 16, ``benchmarks/registry_read.py``).
    Buffers from glibc's heap go back to the system with ``malloc_trim`` (:func:`_release_memory`).
    Each buffer remembers its pool, so arrays made inside are freed correctly after it.
    """
    import pyarrow as pa

    before = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(before)


def _objects(values: Any) -> np.ndarray:
    """``values`` (a list of tuples …) as a 1-d object array, each item one element."""
    if isinstance(values, np.ndarray):
        return values
    return np.fromiter(values, dtype=object, count=len(values))


def _note_texts(notes: dict[Any, list[str]] | list[list[str]], rows: np.ndarray) -> np.ndarray:
    """The notes of the rows at positions ``rows`` (increasing), each joined by ``"; "`` (``""`` for none)."""
    out = np.full(len(rows), "", dtype=object)
    noted = np.array(sorted(i for i in (notes if isinstance(notes, dict) else range(len(notes))) if notes[i]),
                     dtype=np.int64)
    at = np.searchsorted(rows, noted)
    inside = at < len(rows)
    inside[inside] = rows[at[inside]] == noted[inside]
    out[at[inside]] = ["; ".join(notes[i]) for i in noted[inside].tolist()]
    return out


def _taken(t: pd.DataFrame, column: str, rows: np.ndarray) -> Any:
    """The values of ``column`` of ``t`` at the positions ``rows`` (``""`` when ``t`` has no such column)."""
    if column not in t.columns:
        return np.full(len(rows), "", dtype=object)
    values = t[column].array
    if isinstance(values, pd.Categorical):  # its distinct values taken by code: no Python string per row
        return _text(values if len(rows) == len(t) else values.take(rows))
    if len(rows) == len(t):  # every row (rows are increasing): share the column, do not copy it
        return values
    return values.take(rows)


def split_extra_columns(
    t: pd.DataFrame, personal_of: dict[str, list[str]], public_columns: Sequence[str] = (),
) -> tuple[list[str], list[str], list[str]]:
    """The files' own columns: (kept, withheld as personal, marked public).

    A column is withheld when it is personal in any file (:func:`coverage.privacy.personal_columns`)
    and not marked public; a public mark that matches no column is logged.

    Parameters
    ----------
    t : DataFrame
        The files read by :func:`coverage.tabular.read_table`, stacked: ``file``, ``row`` and the
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
    return _registry_from([t], townships, personal_of=personal_of, public_columns=public_columns, xy_datum=xy_datum)


def _registry_from(
    holder: list[pd.DataFrame],
    townships: gpd.GeoDataFrame | None,
    *,
    personal_of: dict[str, list[str]] | None,
    public_columns: Sequence[str],
    xy_datum: str,
) -> Registry:
    """:func:`registry_from_table` of the one table in ``holder``, which it takes out (empties ``holder``).

    Once the output columns, the files' own kept columns and the rejections are taken from the table,
    nothing refers to it here, so when the caller held it only in ``holder`` it is freed before the points
    are made (issue 16: the points are the last and largest allocation of a large read).
    """
    import geopandas as gpd

    from .geography import load_townships

    datum = check_xy_datum(xy_datum)
    towns = load_townships() if townships is None else townships
    t = holder.pop().reset_index(drop=True)
    v = check_rows(t, towns, datum)
    v["values"].pop("col", None)  # the columns the checks read: not needed from here
    _release_memory()  # the checks' temporaries, before the output is built
    out = facility_frame(t, v["keep"], v["values"], towns, v["notes"])
    del v["values"]  # the checks' per-row arrays: freed before the points are made
    kept, withheld, public = split_extra_columns(t, personal_of or {}, public_columns)
    for c in kept:
        out[c] = t[c].to_numpy()[v["keep"]]
    malformed = v["malformed"]
    rejected = v["rej"].table(t, malformed != "", lambda p: malformed[p].tolist())
    rows_read, skipped = len(t), tuple(t.attrs.get("skipped", ()))
    mismatches = v["mismatches"]
    del t, v  # the table and the checks' arrays, freed before the points are made
    _release_memory()
    facilities = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(out["lon"], out["lat"]), crs="EPSG:4326")
    return Registry(facilities, rejected, mismatches, rows_read, tuple(withheld), tuple(public), skipped)


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
        CSV, XLSX, GeoJSON or GeoPackage files (see :func:`coverage.tabular.read_table`).
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
    with _system_arrow_pool():  # freed Arrow buffers go back to the system between the steps (issue 16)
        t, personal_of = read_registry_tables(paths, public_columns, layer=layer)
        # the text of the canonical columns freed column by column as each becomes a Categorical (issue 16:
        # a million rows in 1 GB); the checks then work on their codes and distinct values
        categorical_columns(t)
        _release_memory()  # the freed text, back to the system before the checks allocate theirs
        holder = [t]
        del t  # held only by ``holder`` from here: freed before the points are made
        reg = _registry_from(holder, townships, personal_of=personal_of, public_columns=public_columns,
                             xy_datum=datum)
    log.info("%d row(s) read from %d file(s): %d accepted, %d rejected, %d mismatch(es)",
             reg.rows_read, len(personal_of), reg.accepted, reg.rejected_rows, len(reg.mismatches))
    return reg
