"""Progress and planning: coverage over time, targets, what-if scenarios.

* :func:`coverage_trend` — township coverage at each year end, from opening/closing dates.
* :func:`load_targets` / :func:`compare_targets` — current value vs target ("已達標"/"未達標").
* :func:`apply_scenario` / :func:`whatif` — add or remove facilities and compare before → after.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .errors import InputError, UnreadableFileError

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import pandas as pd

    from .measure import Definition
    from .population import Population

__all__ = [
    "apply_scenario",
    "compare_targets",
    "coverage_trend",
    "load_targets",
    "parse_addition",
    "parse_year",
    "population_coverage",
    "read_scenario",
    "roc_year",
    "whatif",
]

ROC_OFFSET = 1911


def roc_year(year: int) -> str:
    """``2023`` → ``民國112年``.

    Parameters
    ----------
    year : int
        A western year.

    Returns
    -------
    str
    """
    return f"民國{year - ROC_OFFSET}年"


def parse_year(text: str | int) -> int:
    """A western or ROC year: ``2019``, ``108``, ``民國108``, ``108年`` → 2019.

    Parameters
    ----------
    text : str or int
        A year as written.

    Returns
    -------
    int
        The western year.

    Raises
    ------
    InputError
        Not a year.
    """
    import re

    s = str(text).strip().replace("民國", "").replace("年", "")
    if not re.fullmatch(r"\d{2,4}", s):
        raise InputError(f"not a year: {text!r} (use 2019 or ROC 108)")
    value = int(s)
    return value + ROC_OFFSET if value < 1000 else value


def coverage_trend(
    facilities: pd.DataFrame,
    townships: gpd.GeoDataFrame,
    years: Sequence[int],
    *,
    definition: str = "presence",
    categories: list[str] | None = None,
    counties: list[str] | None = None,
    population: Population | None = None,
    age_group: str = "total",
    data: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Township coverage at the end of each year (as of 31 December).

    Parameters
    ----------
    facilities : DataFrame
        Accepted facilities (:func:`coverage.read_facilities`), with their dates and status.
    townships : GeoDataFrame
        From :func:`coverage.load_townships`.
    years : sequence of int
        Western years, each measured on its 31 December.
    definition : {"presence", "service-area"}
    categories, counties : list of str, optional
        Category keys and official county names to restrict to (default: all).
    age_group : str
        Age group of the population figures (:data:`coverage.population.AGE_GROUPS`).
    population : Population, optional
        From :func:`coverage.read_population`: adds the population-weighted figures for
        ``age_group`` (see :func:`population_coverage`). The same population is used for every
        year (the file's month), so the change shows where points opened, not migration.

    data : DataFrame, optional
        How complete the registries are per ``county`` × ``category`` (``data``: complete, partial,
        none; :func:`coverage.completeness.target_data`). Default: every pair complete.

    Returns
    -------
    DataFrame ``year, roc_year, county, category, covered, total, rate, facilities, undated, data``;
    with ``population`` also ``people_covered, people_total, population_rate``. ``rate`` is empty
    where ``data`` is none (no data is not 0%).
    Facilities without an opening date count in every year, and ``undated`` says how many of a
    year's facilities are such: an early year's figure is then an upper bound (the national
    社福中心 list of 2023-04 has no dates). A facility counts in the years from its opening date to
    its closing date inclusive (closed 109/12/31 counts in 109), and a status that says not open
    wins over dates that contradict it (see :mod:`coverage.dates`).
    """
    import pandas as pd

    from .measure import county_coverage, township_coverage

    frames = []
    for year in years:
        table = township_coverage(
            facilities, townships, definition=cast("Definition", definition), as_of=f"{year}-12-31",
            categories=categories, counties=counties,
        )
        c = county_coverage(table)[["county", "category", "covered", "total", "rate", "facilities"]]
        c["undated"] = _undated(facilities, f"{year}-12-31", c)
        if population is not None:
            c = c.merge(population_coverage(table, population, age_group), on=["county", "category"], how="left")
        c.insert(0, "year", year)
        c.insert(1, "roc_year", year - ROC_OFFSET)
        frames.append(c)
    if not frames:
        cols = ["year", "roc_year", "county", "category", "covered", "total", "rate", "facilities", "undated", "data"]
        if population is not None:
            cols += _POPULATION_COLUMNS
        return pd.DataFrame(columns=cols)
    out = pd.concat(frames, ignore_index=True)
    states = {} if data is None else dict(zip(zip(data["county"], data["category"], strict=True), data["data"],
                                              strict=True))
    out.insert(9, "data", [states.get(k, "complete") for k in zip(out["county"], out["category"], strict=True)])
    out["rate"] = out["rate"].where(out["data"] != "none")  # no data is not 0%
    return out


def _undated(facilities: pd.DataFrame, as_of: str, counties: pd.DataFrame) -> list[int]:
    """How many of each county × category's facilities open on ``as_of`` have no opening date."""
    from .measure import facility_state

    undated = (facility_state(facilities, as_of) == "open").to_numpy() & facilities["opened"].isna().to_numpy()
    open_ = facilities[undated]
    counts = open_.groupby(["county", "category"]).size()
    return [int(counts.get(k, 0)) for k in zip(counties["county"], counties["category"], strict=True)]


_POPULATION_COLUMNS = ["people_covered", "people_total", "population_rate"]


def population_coverage(township_table: pd.DataFrame, population: Population, age_group: str = "total"
                        ) -> pd.DataFrame:
    """Share of a county's people (of ``age_group``) who live in a covered township.

    Parameters
    ----------
    township_table : DataFrame
        :func:`coverage.township_coverage` output (``towncode, county, category, covered``).
    population : Population
        Village- or township-level; township totals are used (people that matched no village
        still count for their township).
    age_group : str
        A group the file gives (:data:`coverage.population.AGE_GROUPS`).

    Returns
    -------
    DataFrame ``county, category, people_covered, people_total, population_rate`` (percent, one
    decimal, rounded half up as the township rate). Townships the file does not cover count as 0
    people; a county with no people in the file gets ``population_rate`` NaN.
    """
    import pandas as pd

    from .measure import rate
    from .population import require_group

    require_group(population, age_group)
    people = population.townships.set_index("towncode")[age_group]
    t = township_table[["county", "category", "towncode", "covered"]].copy()
    t["people"] = people.reindex(t["towncode"]).fillna(0).to_numpy()
    t["people_covered"] = t["people"].where(t["covered"].astype(bool), 0)
    g = t.groupby(["county", "category"], sort=False)[["people_covered", "people"]].sum().reset_index()
    g = g.rename(columns={"people": "people_total"})
    g["people_covered"] = g["people_covered"].round().astype("int64")
    g["people_total"] = g["people_total"].round().astype("int64")
    g["population_rate"] = [
        rate(int(a), int(b)) if b > 0 else float("nan")
        for a, b in zip(g["people_covered"], g["people_total"], strict=True)
    ]
    return pd.DataFrame(g, columns=["county", "category", *_POPULATION_COLUMNS])


_TARGET_COLUMNS = {
    "scope": ("scope", "縣市", "county", "範圍"),
    "category": ("category", "類別"),
    "year": ("year", "年度", "目標年"),
    "target_count": ("target_count", "target", "目標處數", "目標數"),
    "target_rate": ("target_rate", "目標涵蓋率", "rate"),
    "source": ("source", "來源", "資料來源"),
}
_TARGET_TABLE = ["scope", "category", "year", "target_count", "target_rate", "source"]
_MAX_TARGET_COUNT = 100_000  # more service points than any programme could plan
_SHOWN_PROBLEMS = 3  # rows named in a refusal; the rest are counted
_MAX_CELLS = 256  # cells of a workbook row looked at; one further out makes the row too wide


def load_targets(path: str | Path | None = None) -> pd.DataFrame:
    """Targets: ``scope`` (a county, or 全國 for national), ``category``, ``year``,
    ``target_count`` and/or ``target_rate`` (percent), ``source``.

    Default: the bundled national programme targets (社安網第二期 and 社安網 2.0).

    A targets file (CSV in UTF-8 or Big5, or XLSX) is used whole or not at all: a target left
    out would make the comparison silently incomplete. Every row is checked (a blank or unknown
    county, a year that is not one, a count that is not a whole number ≥ 0, a rate outside
    0–100, ``inf``/``nan``/``1e400``, a row repeating an earlier target, a line damaged by an
    unbalanced quote or with too many or too few cells) and if any fails, one
    :class:`InputError` names the file and every failing row (the first three in full).

    Parameters
    ----------
    path : str or Path, optional
        A targets file; default the bundled national targets.

    Returns
    -------
    DataFrame
        ``scope, category, year, target_count, target_rate, source``; NaN where a target has no
        count or no rate.

    Raises
    ------
    UnreadableFileError
        The file is missing, not a table, or lacks the scope/category/year/target columns.
    InputError
        One or more rows cannot be used.
    """
    import pandas as pd

    from .datasets import get_path

    if path is None:
        raw = pd.read_csv(get_path("national_targets"), dtype=str, comment="#")
        return pd.DataFrame({
            "scope": "全國",
            "category": raw["category"],
            "year": raw["year_to"].astype(int),
            "target_count": pd.to_numeric(raw["target"]),
            "target_rate": float("nan"),
            "source": raw["programme"] + "：" + raw["source"],
        })
    path = Path(path)
    header, rows, problems = _small_table(path, "targets", _TARGET_COLUMNS)
    canon = [next((c for c, aliases in _TARGET_COLUMNS.items() if str(h).strip().lower() in aliases), None)
             for h in header]
    for need in ("scope", "category", "year"):
        if need not in canon:
            raise UnreadableFileError(path, f"no '{need}' column; expected {', '.join(_TARGET_COLUMNS)}")
    if "target_count" not in canon and "target_rate" not in canon:
        raise UnreadableFileError(path, "needs a target_count or target_rate column")
    seen: dict[tuple, int]
    out, seen = [], {}
    for line, cells in rows:
        values = {c: str(cells[i]).strip() for i, c in reversed(list(enumerate(canon))) if c and i < len(cells)}
        try:
            row = _parse_target(values, path.name)
        except InputError as exc:
            problems.append((line, str(exc)))
            continue
        for measure in ("target_count", "target_rate"):
            if not math.isnan(row[measure]):
                key = (row["scope"], row["category"], row["year"], measure)
                if key in seen:
                    problems.append((line, f"duplicate of row {seen[key]}: the same {measure} for "
                                           f"{row['scope']} {row['category']} {row['year']}"))
                seen.setdefault(key, line)
        out.append(row)
    _refuse_if_any(path, problems, "targets")
    return pd.DataFrame(out, columns=_TARGET_TABLE)


def _parse_target(values: dict[str, str], file: str) -> dict:
    """One target from the row's cells; :class:`InputError` says what is wrong."""
    from .facilities import normalise_category
    from .names import resolve_county

    scope = values.get("scope", "")
    if not scope:
        raise InputError("scope (縣市) is blank; write a county, or 全國 for a national target")
    scope = "全國" if scope.lower() in ("全國", "national") else resolve_county(scope)
    category = normalise_category(values.get("category", ""))
    if not category:
        raise InputError("category (類別) is blank")
    year = parse_year(values.get("year", ""))
    if not 1990 <= year <= 2100:
        raise InputError(f"year {values['year']!r} gives {year}, not a target year (2019, or ROC 108)")
    count = _target_number(values.get("target_count", ""), "target_count", whole=True, top=_MAX_TARGET_COUNT)
    rate = _target_number(values.get("target_rate", ""), "target_rate", whole=False, top=100)
    if math.isnan(count) and math.isnan(rate):
        raise InputError("neither target_count nor target_rate is given")
    return {"scope": scope, "category": category, "year": year, "target_count": count, "target_rate": rate,
            "source": values.get("source") or file}


def _target_number(text: str, name: str, *, whole: bool, top: float) -> float:
    """NaN for a blank cell, else a finite number in [0, top] (whole for counts); :class:`InputError` if not."""
    import unicodedata

    text = unicodedata.normalize("NFKC", text).replace(",", "").strip()
    if not whole:
        text = text.removesuffix("%").strip()
    if not text:
        return math.nan
    kind = "a whole number" if whole else "a number"
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{name} {text!r} is not {kind}") from None
    if not math.isfinite(value):
        raise InputError(f"{name} {text!r} is not a finite number")
    if value < 0 or value > top or (whole and value != int(value)):
        raise InputError(f"{name} {text!r} is not {kind} from 0 to {top:,}")
    return value


def _small_table(path: Path, kind: str, aliases: Mapping[str, tuple[str, ...]]
                 ) -> tuple[list[str], list[tuple[int, list[str]]], list[tuple[int, str]]]:
    """(header, (row number, cells) of each non-blank data row, (row, problem) lines) of a small CSV or XLSX.

    CSV lines damaged by an unbalanced quote (:mod:`coverage.csvtext`) and rows with more filled
    cells than the header, or fewer, come back as problems, never as rows. A workbook is read
    with :mod:`coverage.xlsxread` (size, ratio and XML checks) from the one sheet whose first row
    names columns of ``aliases``; its hidden rows are problems (a hidden target still counts).
    """
    from .csvtext import csv_records
    from .tabular import max_file_bytes

    if not path.exists():
        raise UnreadableFileError(path, "file not found")
    if path.is_dir() or path.stat().st_size > max_file_bytes():
        raise UnreadableFileError(path, f"not a {kind} table (a directory, or over the size limit)")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        records, damaged = _workbook_records(path, kind, aliases)
    else:
        data = path.read_bytes()
        if b"\x00" in data[:4096]:
            raise UnreadableFileError(path, f"binary file; expected a {kind} CSV or XLSX")
        text = None
        for encoding in ("utf-8-sig", "cp950"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        if text is None:
            raise UnreadableFileError(path, "cannot decode the text; expected UTF-8 or Big5 (cp950)")
        parsed = csv_records(text)
        records = parsed.records
        damaged = [(line, next(why for a, b, why in parsed.damaged if a <= line <= b))
                   for line in parsed.damaged_lines]
    records = [(n, cells) for n, cells in records if any(str(c).strip() for c in cells)]
    if not records:
        raise UnreadableFileError(path, f"no header row; an empty {kind} file")
    (head_line, header), rows = records[0], records[1:]
    width = max((i + 1 for i, c in enumerate(header) if str(c).strip()), default=0)
    problems = [(line, why) for line, why in damaged if line > head_line]
    good = []
    for line, cells in rows:
        filled = max((i + 1 for i, c in enumerate(cells) if str(c).strip()), default=0)
        if filled > width:
            problems.append((line, f"{filled} cells but the header names {width} columns: the cells may be shifted"))
        elif len(cells) < width:
            problems.append((line, f"{len(cells)} cells but the header has {width} columns: the row is cut short"))
        else:
            good.append((line, cells))
    return header, good, problems


def _workbook_records(path: Path, kind: str, aliases: Mapping[str, tuple[str, ...]]
                      ) -> tuple[list[tuple[int, list[str]]], list[tuple[int, str]]]:
    """(row number, cells) of the workbook's one sheet of ``kind``, and its hidden rows as problems."""
    from .xlsxread import open_workbook, sheet_rows

    known = {a for names in aliases.values() for a in names}
    book = open_workbook(path)
    try:
        tables, first = [], None
        for sheet in book.sheets:
            hidden: list[int] = []
            rows = [(n, [str(v) for v in _dense(pairs)]) for n, pairs in sheet_rows(book, sheet, hidden)]
            if sheet.state == "visible" and first is None:
                first = (sheet.name, rows, hidden)
            if rows and sum(str(c).strip().lower() in known for c in rows[0][1]) >= 2:
                tables.append((sheet.name, rows, hidden, sheet.state))
    finally:
        book.close()
    hidden_tables = [name for name, _r, _h, state in tables if state != "visible"]
    if hidden_tables or len(tables) > 1:
        names = "、".join(name for name, *_ in tables)
        raise UnreadableFileError(path, f"{kind} on {len(tables)} sheets ({names}"
                                        f"{'; hidden: ' + '、'.join(hidden_tables) if hidden_tables else ''}); "
                                        f"put the {kind} on one visible sheet")
    name, rows, hidden = tables[0][:3] if tables else (first or ("", [], []))
    return rows, [(n, f"row {n} of sheet {name!r} is hidden: unhide or delete it") for n in hidden]


def _dense(pairs: list[tuple[int, object]]) -> list[object]:
    """Cells of a row from its (column, value) pairs, blanks where no cell exists."""
    width = max((c for c, _ in pairs), default=-1) + 1
    cells: list[object] = [""] * min(width, _MAX_CELLS)
    for c, v in pairs:
        if c < _MAX_CELLS:
            cells[c] = v
    return cells if width <= _MAX_CELLS else [*cells, f"(a cell beyond column {_MAX_CELLS})"]


def _refuse_if_any(path: Path, problems: list[tuple[int, str]], kind: str) -> None:
    """One :class:`InputError` naming the file and every row of ``problems``; nothing if there are none."""
    if not problems:
        return
    problems = sorted(problems)
    shown = "; ".join(f"row {line}: {why}" for line, why in problems[:_SHOWN_PROBLEMS])
    rows = sorted({line for line, _ in problems})
    rest = sorted({line for line, _ in problems[_SHOWN_PROBLEMS:]} - {line for line, _ in problems[:_SHOWN_PROBLEMS]})
    more = f"; also rows {', '.join(map(str, rest[:20]))}{', …' if len(rest) > 20 else ''}" if rest else ""
    message = (f"{path.name} {shown}{more}. The {kind} file is not used until "
               f"{'this row is' if len(rows) == 1 else f'these {len(rows)} rows are'} fixed")
    raise InputError("".join(c if c.isprintable() else repr(c)[1:-1] for c in message))  # one line


def compare_targets(
    facilities: pd.DataFrame,
    townships: gpd.GeoDataFrame,
    targets: pd.DataFrame,
    *,
    as_of: object = None,
    definition: str = "presence",
    data: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Current value vs each target: ``scope, category, year, measure, current, target, gap,
    met, status, still_needed, data``.

    ``measure`` is ``count`` (open facilities) or ``rate`` (township coverage, %). For a
    rate target, ``still_needed`` is the number of townships still to cover, i.e. at least
    that many new points. A count target counts the programme's points but outposts (registry
    column ``kind`` = ``outpost``, e.g. 澎湖's 七美據點): they serve their township, but are not a
    centre. A target whose scope has incomplete data for its programme is not
    judged: ``met``, ``gap`` and ``still_needed`` are left empty and ``status`` says why
    (資料不完整 — the current value is only a floor; 無資料). A national target needs complete
    data in every county.

    Parameters
    ----------
    facilities : DataFrame
        Accepted facilities.
    townships : GeoDataFrame
        From :func:`coverage.load_townships`.
    targets : DataFrame
        From :func:`load_targets`.
    as_of : date-like, optional
        The day the current values are measured (default today).
    definition : {"presence", "service-area"}
    data : DataFrame, optional
        How complete the registries are: ``county``, ``category``, ``data`` (complete, partial, none),
        e.g. ``CoverageReport.counties`` (:func:`coverage.completeness.data_completeness`). Default:
        every pair complete.

    Returns
    -------
    DataFrame
        One row per target and measure, with the columns above.

    Raises
    ------
    InputError
        A target's scope has no township in ``townships`` (the message names ``targets=`` and the row).
    """
    import pandas as pd

    from .measure import county_coverage, facility_state, township_coverage

    targets = _checked_targets(targets)
    state = facility_state(facilities, as_of)
    open_fac = facilities[state == "open"]
    table = township_coverage(facilities, townships, definition=cast("Definition", definition), as_of=as_of,
                              categories=sorted(set(targets["category"])))
    per_county = county_coverage(table).set_index(["county", "category"])
    states = _target_data(data, per_county.index)
    rows = []
    current: float
    for i, t in enumerate(targets.itertuples(index=False)):
        if t.scope != "全國" and (t.scope, t.category) not in per_county.index:
            raise InputError(f"targets= row {i}: no township of {t.scope!r} in the boundaries")
        mask = open_fac["category"] == t.category
        if t.scope != "全國":
            mask &= open_fac["county"] == t.scope
        if not math.isnan(t.target_count):  # a target counts centres: outposts (kind=outpost) serve, but are not one
            current = int((mask & (open_fac["kind"] != "outpost")).sum()) if "kind" in open_fac else int(mask.sum())
            needed = max(0, math.ceil(t.target_count - current))
            rows.append(_target_row(t, "count", current, t.target_count, needed, states(t.scope, t.category)))
        if not math.isnan(t.target_rate):
            if t.scope == "全國":
                covered = int(table.loc[table["category"] == t.category, "covered"].sum())
                total = int((table["category"] == t.category).sum())
            else:
                row = per_county.loc[(t.scope, t.category)]
                covered, total = int(row["covered"]), int(row["total"])
            current = round(100 * covered / total, 1) if total else 0.0
            needed = max(0, math.ceil(t.target_rate / 100 * total - 1e-9) - covered)
            rows.append(_target_row(t, "rate", current, t.target_rate, needed, states(t.scope, t.category)))
    columns = ["scope", "category", "year", "measure", "current", "target", "gap", "met", "status", "still_needed",
               "data", "source"]
    out = pd.DataFrame(rows, columns=columns)
    for col in ("met", "still_needed"):  # None where not judged, not NaN: a count stays a whole number
        out[col] = pd.Series([r[col] for r in rows], index=out.index, dtype=object)
    return out


def _target_data(data: pd.DataFrame | None, pairs) -> Callable[[str, str], str]:
    """scope, category → complete / partial / none (全國: the worst state over the counties)."""
    known = {} if data is None else dict(zip(zip(data["county"], data["category"], strict=True), data["data"],
                                             strict=True))

    def state(scope: str, category: str) -> str:
        if scope != "全國":
            return known.get((scope, category), "complete")
        found = {known.get((c, k), "complete") for c, k in pairs if k == category}
        if found <= {"none"} and found:
            return "none"
        return "partial" if found - {"complete"} else "complete"

    return state


def _checked_targets(targets: pd.DataFrame) -> pd.DataFrame:
    """``targets`` with a ``source`` column, after checking every target is a finite number in range.

    A count or rate of ``inf``, ``-1`` or ``1e400`` (and a row with neither) is an
    :class:`InputError` naming the ``targets=`` row (0-based position); NaN means "not given".
    """
    missing = [c for c in ("scope", "category", "year", "target_count", "target_rate") if c not in targets]
    if missing:
        raise InputError(f"targets= lacks the column(s) {', '.join(missing)}; see load_targets()")
    for i, t in enumerate(targets.itertuples(index=False)):
        given = 0
        for name, top, whole in (("target_count", _MAX_TARGET_COUNT, True), ("target_rate", 100, False)):
            value = getattr(t, name)
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise InputError(f"targets= row {i}: {name} {value!r} is not a number") from None
            if math.isnan(number):
                continue
            given += 1
            if not math.isfinite(number) or number < 0 or number > top or (whole and number != int(number)):
                raise InputError(f"targets= row {i}: {name} {value!r} is not a finite "
                                 f"{'whole number' if whole else 'number'} from 0 to {top:,}")
        if not given:
            raise InputError(f"targets= row {i}: neither target_count nor target_rate is given")
        try:
            int(t.year)
        except (TypeError, ValueError, OverflowError):
            raise InputError(f"targets= row {i}: year {t.year!r} is not a year") from None
    return targets if "source" in targets else targets.assign(source="")


def _target_row(t, measure: str, current: float, target: float, needed: int, data: str) -> dict:
    row = {"scope": t.scope, "category": t.category, "year": int(t.year), "measure": measure, "current": current,
           "target": target, "data": data, "source": t.source}
    if data != "complete":  # a floor is not a gap: not judged
        status = "無資料，無法判定" if data == "none" else "資料不完整，無法判定"
        return {**row, "gap": None, "met": None, "status": status, "still_needed": None}
    met = current >= target - 1e-9
    return {**row, "gap": round(max(0.0, target - current), 1), "met": met, "status": "已達標" if met else "未達標",
            "still_needed": needed}


def parse_addition(text: str, townships: gpd.GeoDataFrame) -> dict:
    """``"嘉義縣阿里山鄉:community_support_point"`` → a township-precision facility row.

    Parameters
    ----------
    text : str
        ``縣市鄉鎮市區:category`` (any spelling :func:`coverage.names.resolve_township` and
        :func:`coverage.programmes.resolve_programme` accept).
    townships : GeoDataFrame
        The township table to resolve the township against.

    Returns
    -------
    dict
        The facility row: ``category, name, county, township, towncode, precision, status, serves, source``.

    Raises
    ------
    InputError
        No ``:``, or an unknown township or programme (with a did-you-mean).
    """
    from .facilities import normalise_category
    from .names import resolve_township

    place, sep, category = text.replace("：", ":").rpartition(":")
    if not sep or not place.strip() or not category.strip():
        raise InputError(f"addition {text!r}: expected 縣市鄉鎮市區:category, "
                         "e.g. 嘉義縣阿里山鄉:community_support_point")
    code = resolve_township(place, townships=townships)
    row = townships.loc[townships["towncode"] == code].iloc[0]
    return {"category": normalise_category(category), "name": f"（新增）{row['county']}{row['township']}",
            "county": row["county"], "township": row["township"], "towncode": code, "precision": "township",
            "status": "what-if", "serves": (), "source": "what-if"}


_SCENARIO_COLUMNS = {"action": ("action", "動作", "操作"), "target": ("target", "目標", "對象")}
_ADD, _REMOVE = ("add", "新增", "加入"), ("remove", "移除", "刪除")


def read_scenario(path: str | Path) -> tuple[list[str], list[str]]:
    """A scenario file: CSV (or XLSX) with ``action`` (add/remove, 新增/移除) and ``target`` columns.

    Returns ``(add, remove)``: ``縣市鄉鎮市區:category`` items to add and facility names to remove.
    Like a targets file, a scenario is used whole or not at all: a row with an unknown action, a
    blank target, an addition without ``:category``, a facility removed twice, or a line damaged
    by an unbalanced quote or with too many or too few cells makes one :class:`InputError`
    naming the file and every failing row.

    Parameters
    ----------
    path : str or Path
        A CSV or XLSX scenario file.

    Returns
    -------
    add : list of str
        ``縣市鄉鎮市區:category`` items to add.
    remove : list of str
        Facility names to remove.

    Raises
    ------
    UnreadableFileError
        The file cannot be read or lacks the ``action`` and ``target`` columns.
    InputError
        One or more rows cannot be used.
    """
    from .names import normalise_name

    path = Path(path)
    header, rows, problems = _small_table(path, "scenario", _SCENARIO_COLUMNS)
    canon = [next((c for c, aliases in _SCENARIO_COLUMNS.items() if str(h).strip().lower() in aliases), None)
             for h in header]
    if "action" not in canon or "target" not in canon:
        raise UnreadableFileError(path, "needs columns action (add/remove, 新增/移除) and target")
    at, tt = canon.index("action"), canon.index("target")
    removed: dict[str, int]
    add, remove, removed = [], [], {}
    for line, cells in rows:
        action, target = str(cells[at]).strip(), str(cells[tt]).strip()
        if action.lower() in _ADD:
            place, sep, category = target.replace("：", ":").rpartition(":")
            if sep and place.strip() and category.strip():
                add.append(target)
            else:
                problems.append((line, f"target {target!r}: expected 縣市鄉鎮市區:category, "
                                       "e.g. 嘉義縣阿里山鄉:community_support_point"))
        elif action.lower() in _REMOVE:
            key = normalise_name(target)
            if not key:
                problems.append((line, "target is blank: which facility is removed?"))
            elif key in removed:
                problems.append((line, f"duplicate of row {removed[key]}: {target!r} is removed already"))
            else:
                removed[key] = line
                remove.append(target)
        else:
            problems.append((line, f"action {action!r} is not add/remove (新增/移除)"))
    _refuse_if_any(path, problems, "scenario")
    return add, remove


def apply_scenario(
    facilities: gpd.GeoDataFrame, townships: gpd.GeoDataFrame, add: Sequence[str] = (), remove: Sequence[str] = ()
) -> gpd.GeoDataFrame:
    """Facilities with the scenario applied: ``add`` township:category items, ``remove`` by name.

    Parameters
    ----------
    facilities : GeoDataFrame
        Accepted facilities.
    townships : GeoDataFrame
        The township table additions are placed in (at a representative point).
    add : sequence of str
        ``縣市鄉鎮市區:category`` items (:func:`parse_addition`).
    remove : sequence of str
        Facility names, compared by :func:`coverage.names.normalise_name`; every facility of that
        name is removed.

    Returns
    -------
    GeoDataFrame
        ``facilities`` without the removed rows, plus one township-precision row per addition.

    Raises
    ------
    InputError
        A name in ``remove`` names no facility (the message names ``remove=``), or an addition
        cannot be parsed.
    """
    import geopandas as gpd
    import pandas as pd

    from .names import normalise_name

    out = facilities
    for name in remove:
        hit = out["name"].map(normalise_name) == normalise_name(name)
        if not hit.any():
            raise InputError(f"remove= {name!r}: no facility has this name")
        out = out[~hit]
    if add:
        rows = pd.DataFrame([parse_addition(a, townships) for a in add])
        rep = townships.set_index("towncode").geometry.representative_point()
        rows["geometry"] = rep.reindex(rows["towncode"]).to_numpy()
        new = gpd.GeoDataFrame(rows, geometry="geometry", crs=townships.crs)
        out = pd.concat([out, new.reindex(columns=out.columns)], ignore_index=True)
    return out


def whatif(
    facilities: gpd.GeoDataFrame,
    townships: gpd.GeoDataFrame,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
    *,
    definition: str = "presence",
    as_of: object = None,
    counties: list[str] | None = None,
    categories: list[str] | None = None,
    population: Population | None = None,
    age_group: str = "total",
) -> pd.DataFrame:
    """Before → after coverage for every county × category the scenario changes.

    Returns ``county, category, covered_before, covered_after, total, rate_before,
    rate_after, facilities_before, facilities_after, newly_covered, newly_uncovered``; with
    ``population`` (:func:`coverage.read_population`) also ``people_covered_before``,
    ``people_covered_after``, ``people_total``, ``population_rate_before``,
    ``population_rate_after`` for ``age_group`` (see :func:`population_coverage`).

    Parameters
    ----------
    facilities : GeoDataFrame
        Accepted facilities, before the change.
    townships : GeoDataFrame
        From :func:`coverage.load_townships`.
    add, remove : sequence of str
        The scenario (see :func:`apply_scenario`).
    definition : {"presence", "service-area"}
    as_of : date-like, optional
        Count facilities open on this date (default today).
    counties, categories : list of str, optional
        Official county names and category keys to restrict to (default: all).
    population : Population, optional
        Adds the population-weighted figures.
    age_group : str
        Age group of the population figures.

    Returns
    -------
    DataFrame
        The rows of the county × category pairs that change, with the columns above.

    Raises
    ------
    InputError
        The scenario cannot be applied (see :func:`apply_scenario`).
    """
    import pandas as pd

    from .measure import county_coverage, township_coverage

    after_fac = apply_scenario(facilities, townships, add, remove)
    cats = categories or sorted(set(facilities["category"]) | set(after_fac["category"]))
    kw: dict[str, Any] = dict(definition=definition, as_of=as_of, categories=cats, counties=counties)
    before_t = township_coverage(facilities, townships, **kw)
    after_t = township_coverage(after_fac, townships, **kw)
    before, after = county_coverage(before_t), county_coverage(after_t)
    merged = before.merge(after, on=["county", "category", "total"], suffixes=("_before", "_after"))
    keys = ["towncode", "category"]
    joined = before_t[[*keys, "county", "township", "covered"]].merge(after_t[[*keys, "covered"]], on=keys,
                                                                        suffixes=("_b", "_a"))
    gained = joined[~joined["covered_b"] & joined["covered_a"]].groupby(["county", "category"])["township"].agg(list)
    lost = joined[joined["covered_b"] & ~joined["covered_a"]].groupby(["county", "category"])["township"].agg(list)
    idx = pd.MultiIndex.from_frame(merged[["county", "category"]])
    merged["newly_covered"] = gained.reindex(idx).tolist()
    merged["newly_uncovered"] = lost.reindex(idx).tolist()
    for col in ("newly_covered", "newly_uncovered"):
        merged[col] = merged[col].map(lambda v: v if isinstance(v, list) else [])
    changed = (merged["covered_before"] != merged["covered_after"]) | (
        merged["facilities_before"] != merged["facilities_after"])
    cols = ["county", "category", "covered_before", "covered_after", "total", "rate_before", "rate_after",
            "facilities_before", "facilities_after", "newly_covered", "newly_uncovered"]
    if population is not None:
        pb = population_coverage(before_t, population, age_group)
        pa = population_coverage(after_t, population, age_group)
        p = pb.merge(pa, on=["county", "category", "people_total"], suffixes=("_before", "_after"))
        merged = merged.merge(p, on=["county", "category"], how="left")
        cols += ["people_covered_before", "people_covered_after", "people_total", "population_rate_before",
                 "population_rate_after"]
    return merged.loc[changed.to_numpy(), cols].reset_index(drop=True)
