"""Read official MOI (內政部戶政司) population files → people per village and per township, by age group.

A planner downloads population tables in several official layouts; :func:`read_population`
recognises them by their column names (Chinese or English), not by the file name:

* village single-year-of-age tables, old layout: ``統計年月,區域別,村里,戶數,人口數,人口數-男,…,
  0歲-男,0歲-女,…,100歲以上-女`` (ROC year-month such as ``10405``, a trailing comma, UTF-8 BOM);
* the newer code-keyed layout, ``統計年月,區域別代碼,區域別,村里名稱,…`` where 區域別代碼 is the
  11-digit village code (VILLCODE), and English single-age headers ``people_age_000_m`` …;
* village age-group tables keyed ``村里代碼 = 65000010-001`` (8-digit township code, ``-``,
  3-digit village number → VILLCODE ``65000010001``) with ``未滿15歲, 15-64歲, 超過64歲 …``;
* township totals: the JSON keyed by the 7-digit township code (TOWNCODE = key + ``"0"``) with
  ``area, size, households, population, male, female``; CSVs keyed by ``TOWNCODE`` or by
  county + township names (``COUNTYNAME,TOWNNAME,Elderly65``);
* any of these with two header rows (English, then Chinese), in UTF-8 or Big5/cp950.

Age groups (:data:`AGE_GROUPS`): ``total``, ``children`` (0–17), ``young_children`` (0–11) and
``elderly`` (65+). A group is computed when the file's age columns add up to it exactly —
directly, or as the total minus the complementary bands (0–17 = total − 18–19 − 20+); otherwise it
is listed in :attr:`Population.unavailable` with the reason (未滿15歲 does not give 0–17).

Villages are matched on VILLCODE, then on county + township + village name; what still does not
match is kept at township level. :attr:`Population.matching` says how many rows and people went
each way. One village is one village: a row giving a village (or, in a township table, a township)
that an earlier row gave already — whatever the spelling: ``10010140-001``, ``10010140001``, the
name only, ``嘉義縣 竹崎鄉``, trailing spaces, 台/臺 — is rejected as a duplicate of that row and its
people are counted once. Rows that cannot be used (a count that is negative or not a whole number,
an age column or group larger than the total, an unknown township, a township subtotal in a village
table, too many or too few cells, a line damaged by an unbalanced quote) go to
:attr:`Population.rejected` (``file, row, field, value, reason``; :mod:`coverage.rejections`),
never dropped silently: ``rows_read == accepted rows + rejected rows``, rows numbered as in the file.

Splitting the file into rows is :mod:`coverage.popfile`'s job; this module checks the rows' columns and counts,
and :mod:`coverage.popplaces` matches them to townships and villages.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InputError, UnreadableFileError
from .popfile import OPEN_END, PopulationRows, classify_column, normalise_header, read_population_rows
from .popplaces import find_places, match_villages, reject_duplicate_places
from .rejections import Rejections, rejected_rows
from .vocabulary import AGE_GROUP_TEXT

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import numpy as np
    import pandas as pd

__all__ = ["AGE_GROUPS", "Population", "read_population", "require_group", "resolve_age_group"]

log = logging.getLogger(__name__)

#: Age groups: key -> (first age, last age or None for open-ended, zh-TW label).
AGE_GROUPS: dict[str, tuple[int, int | None, str]] = {
    "total": (0, None, AGE_GROUP_TEXT["total"]),
    "children": (0, 17, AGE_GROUP_TEXT["children"]),
    "young_children": (0, 11, AGE_GROUP_TEXT["young_children"]),
    "elderly": (65, None, AGE_GROUP_TEXT["elderly"]),
}
_GROUP_ALIASES = {
    "all": "total", "全部": "total", "總人口": "total", "人口": "total",
    "兒少": "children", "兒童及少年": "children", "0-17": "children",
    "兒童": "young_children", "0-11": "young_children",
    "老人": "elderly", "高齡": "elderly", "長者": "elderly", "65+": "elderly",
}

_MAX_COUNT = 100_000_000  # no count (or area in km²) of one row can be larger



@dataclass(frozen=True)
class Population:
    """People per village and per township, by age group: the result of :func:`read_population`.

    Attributes
    ----------
    file : str
    layout : str
        What was recognised, e.g. ``"village single-year-of-age"``.
    level : {"village", "township"}
    period : str or None
        ``YYYY-MM`` of the statistics (ROC year-months converted).
    groups : tuple of str
        Age groups the file gives (keys of :data:`AGE_GROUPS`).
    unavailable : dict
        Age group -> why the file cannot give it.
    villages : DataFrame
        ``villcode, towncode, county, township, village`` + groups: every boundary village of the
        townships the file covers, with the people matched to it (0 when none); empty for
        township-level files.
    townships : DataFrame
        ``towncode, county, township`` + groups (+ ``area_km2`` when the file gives the area):
        all people, including those that matched no village.
    matching : DataFrame
        ``how, rows, people``: village code / village name / township only / township code /
        township name / rejected.
    rejected : DataFrame
        ``file, row, field, value, reason``.
    rows_read : int
        Non-blank data rows (or JSON entries) read.
    notes : list of str
        How ambiguous columns were read.
    """

    file: str
    layout: str
    level: str
    period: str | None
    groups: tuple[str, ...]
    unavailable: dict[str, str]
    villages: pd.DataFrame
    townships: pd.DataFrame
    matching: pd.DataFrame
    rejected: pd.DataFrame
    rows_read: int
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        """Plain JSON-able description (no tables but the matching counts)."""
        return {
            "file": Path(self.file).name,
            "layout": self.layout,
            "level": self.level,
            "period": self.period,
            "age_groups": list(self.groups),
            "unavailable": dict(self.unavailable),
            "rows_read": self.rows_read,
            "rejected_rows": rejected_rows(self.rejected),
            "matching": [
                {"how": r.how, "rows": int(r.rows), "people": int(r.people)}
                for r in self.matching.itertuples(index=False)
            ],
            "notes": list(self.notes),
        }


def require_group(population: Population, group: str) -> None:
    """Raise :class:`InputError` unless ``population`` gives the age group ``group``.

    Parameters
    ----------
    population : Population
        From :func:`read_population`.
    group : str
        A key of :data:`AGE_GROUPS`.

    Raises
    ------
    InputError
        ``group`` is not an age group, or the file cannot give it (the message says why and
        which groups it gives).
    """
    if group not in AGE_GROUPS:
        raise InputError(f"unknown age group {group!r}; choose one of {', '.join(AGE_GROUPS)}")
    if group not in population.groups:
        why = population.unavailable.get(group, "")
        raise InputError(
            f"{Path(population.file).name}: no '{group}' ({AGE_GROUPS[group][2]}) population: {why}; "
            f"this file gives {', '.join(population.groups) or 'no age group'}"
        )


def resolve_age_group(name: str) -> str:
    """Key of :data:`AGE_GROUPS` for a user-typed name (``兒少`` → ``children``).

    Parameters
    ----------
    name : str
        A key, a zh-TW label or an alias, in any width or case; ``-`` for ``_``.

    Returns
    -------
    str
        The key of :data:`AGE_GROUPS`.

    Raises
    ------
    InputError
        No age group has that name; the message lists them.

    Examples
    --------
    >>> resolve_age_group("老人"), resolve_age_group("young-children")
    ('elderly', 'young_children')
    """
    key = normalise_header(name).replace("-", "_").replace("–", "-")
    if key in AGE_GROUPS:
        return key
    alias = _GROUP_ALIASES.get(normalise_header(name).replace("–", "-"))
    if alias:
        return alias
    choices = ", ".join(f"{k} ({v[2]})" for k, v in AGE_GROUPS.items())
    raise InputError(f"age_group=: unknown age group {name!r}; choose one of {choices}")


# ----------------------------------------------------------------------------- reading


# ----------------------------------------------------------------------------- age groups


def _tile(lo: int, hi: int, intervals: list[tuple[int, int]]) -> list[tuple[int, int]] | None:
    """Disjoint available intervals that exactly cover [lo, hi], longest steps first."""
    by_start: dict[int, list[tuple[int, int]]] = {}
    for iv in intervals:
        by_start.setdefault(iv[0], []).append(iv)
    for ivs in by_start.values():
        ivs.sort(key=lambda iv: iv[1], reverse=True)
    best: dict[int, list[tuple[int, int]] | None] = {}

    def walk(start: int) -> list[tuple[int, int]] | None:
        if start in best:
            return best[start]
        best[start] = None
        for iv in by_start.get(start, ()):
            if iv[1] == hi:
                best[start] = [iv]
                break
            if iv[1] < hi:
                rest = walk(iv[1] + 1)
                if rest is not None:
                    best[start] = [iv, *rest]
                    break
        return best[start]

    return walk(lo)


def _recipes(intervals: list[tuple[int, int]], has_total: bool) -> tuple[dict, dict]:
    """Per age group: (sign, interval) terms (interval None = the total column), or why not."""
    recipes: dict[str, list[tuple[int, tuple[int, int] | None]]] = {}
    unavailable: dict[str, str] = {}
    for group, (lo, hi, _label) in AGE_GROUPS.items():
        hi = OPEN_END if hi is None else hi
        if group == "total" and has_total:
            recipes[group] = [(1, None)]
            continue
        direct = _tile(lo, hi, intervals)
        if direct is not None:
            recipes[group] = [(1, iv) for iv in direct]
            continue
        if has_total and lo == 0 and hi < OPEN_END:
            rest = _tile(hi + 1, OPEN_END, intervals)
            if rest is not None:
                recipes[group] = [(1, None), *[(-1, iv) for iv in rest]]
                continue
        if group == "total":
            unavailable[group] = "no total population column (人口數/population)"
        elif not intervals:
            unavailable[group] = "the file has no age columns, only totals"
        else:
            have = "、".join(_label_of(iv) for iv in sorted(intervals))
            unavailable[group] = f"the file's age columns ({have}) do not add up to {_label_of((lo, hi))}"
    return recipes, unavailable


def _label_of(iv: tuple[int, int]) -> str:
    lo, hi = iv
    if hi >= OPEN_END:
        return f"{lo}歲以上"
    return f"{lo}歲" if lo == hi else f"{lo}–{hi}歲"


# ----------------------------------------------------------------------------- the reader


def read_population(
    path: str | Path,
    *,
    townships: gpd.GeoDataFrame | None = None,
    villages: gpd.GeoDataFrame | None = None,
) -> Population:
    """Read an official population file into people per village and per township by age group.

    Every data row goes through the same checks, each a function of its own: its shape (cells
    split cleanly, as many as the header), its counts (whole numbers ≥ 0, no age group larger
    than the total), its township, its village, and whether an earlier row already gave the same
    place (one village is one village, however its code or name is written). A row failing a
    check is rejected with the reason and its people are counted nowhere.

    Parameters
    ----------
    path : path
        CSV (UTF-8, UTF-8 with BOM, Big5/cp950) or JSON, in one of the layouts of the module
        docstring.
    townships, villages : GeoDataFrame, optional
        Boundaries to match against; default the bundled ones.

    Returns
    -------
    Population
        People per village and per township by age group, the rejected rows and how each row
        was matched.

    Raises
    ------
    UnreadableFileError
        The file is missing, undecodable, not a table (JSON nested too deeply, a CSV cell too
        large to split), or has no place or population columns.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "pop.csv"
    >>> _ = f.write_text("TOWNCODE,age_0_14,age_15_64,age_65plus\\n10010180,600,3500,900\\n", encoding="utf-8")
    >>> pop = read_population(f)
    >>> pop.groups, int(pop.townships["total"].iloc[0])
    (('total', 'elderly'), 5000)
    """
    import numpy as np
    import pandas as pd

    from .geography import load_townships, load_villages

    path = Path(path)
    raw = read_population_rows(path)
    layout = column_layout(path, raw.header)
    towns = load_townships() if townships is None else townships
    line, cells, rej = _cell_table(raw, layout)
    whole = rej.bad.copy()  # rows rejected whole (damaged or misshapen): their cells are not read
    totals, band, area = _counts(cells, layout, rej, whole)
    groups = age_group_counts(totals, band, layout, rej)
    places = find_places(cells, layout.header, layout.cols, towns, rej, whole, bundled=townships is None)
    vill_table, assigned, how = None, pd.Series([None] * len(cells), dtype=object), places.how
    if places.level == "village":
        vill_table = load_villages() if villages is None else villages
        vill_table = vill_table[vill_table["towncode"].isin(set(places.towncode.dropna()))]
        assigned, how = match_villages(places, vill_table, layout.header, layout.cols, rej, whole)
    reject_duplicate_places(places, assigned, towns, vill_table, layout.header, layout.cols, line, rej)
    ok = ~rej.bad
    avail = tuple(g for g in AGE_GROUPS if g in groups)
    people = groups[avail[0]] if avail else np.zeros(len(cells))
    data = pd.DataFrame({"towncode": places.towncode.to_numpy(), "villcode": assigned.to_numpy()})
    for g in avail:
        data[g] = groups[g]
    if area is not None:
        data["area_km2"] = area
    town_out, vill_out = _outputs(data[ok], avail, towns, vill_table)
    notes = list(layout.notes)
    period = _period(cells.loc[~whole, layout.cols["period"]], notes) if "period" in layout.cols else None
    kind = _layout(places.level, layout.ages, "code" in layout.cols)
    rejected = rej.table(pd.DataFrame({"file": path.name, "row": line}))
    log.info("%s: %s, %d rows, %d rejected; groups %s", path.name, kind, len(cells), rejected_rows(rejected),
             ", ".join(avail))
    return Population(
        file=str(path), layout=kind, level=places.level, period=period, groups=avail,
        unavailable={g: layout.unavailable[g] for g in AGE_GROUPS if g in layout.unavailable},
        villages=vill_out, townships=town_out, matching=_matching(how, people, ok, line),
        rejected=rejected, rows_read=len(cells), notes=notes,
    )


@dataclass(frozen=True)
class ColumnLayout:
    """What each column of a population table holds."""

    header: list[str]
    cols: dict[str, int]  # role -> first column with it
    ages: dict[tuple[int, int], list[int]]  # age interval -> its columns (e.g. 男 and 女)
    recipes: dict[str, list]  # age group -> (sign, interval or None for the total) terms
    unavailable: dict[str, str]  # age group -> why the file cannot give it
    notes: list[str]
    width: int  # cells a data row needs: up to the last column read
    header_width: int  # named columns (a trailing comma adds an unnamed one)


def column_layout(path: Path, header: list[str]) -> ColumnLayout:
    """Classify the header's columns; refuse a table without place or population columns."""
    roles = [classify_column(c) for c in header]
    cols = {role: i for i, (role, _iv) in reversed(list(enumerate(roles))) if role not in ("age", "other")}
    ages, notes = _age_columns(header, roles)
    has_place = "code" in cols or "area" in cols or "township" in cols
    if not has_place or not ("total" in cols or ages):
        found = "".join(ch if ch.isprintable() else repr(ch)[1:-1]
                        for ch in ", ".join(c for c in header if c.strip())[:500]) or "none"
        what = ("place (區域別, 區域別代碼, TOWNCODE, 鄉鎮市區)" if not has_place
                else "population count (人口數, population or age)")
        raise UnreadableFileError(path, f"no {what} column; found columns: {found}. Is this a population table?")
    recipes, unavailable = _recipes(list(ages), "total" in cols)
    if any(normalise_header(c) == "超過20歲" for c in header):
        notes.append("超過20歲 read as ages 20 and over (checked against cohort sizes), "
                     "so 0–17 = 人口 − 18-19歲 − 超過20歲")
    for i, (role, _iv) in enumerate(roles):
        first = cols.get(role, i)
        if first != i and normalise_header(header[i]) == normalise_header(header[first]):
            notes.append(f"column {i + 1} ({header[i]}) repeats column {cols[role] + 1}; the first is read")
    used = [i for role, i in cols.items() if role != "ignore"] + [i for idx in ages.values() for i in idx]
    named = max((i + 1 for i, c in enumerate(header) if c.strip()), default=0)
    return ColumnLayout(header, cols, ages, recipes, unavailable, notes, max(used) + 1, named)


def _age_columns(header: list[str], roles: list[tuple[str, tuple[int, int] | None]]) -> tuple[dict, list[str]]:
    """Age interval -> the columns added up for it, and notes on the columns left out.

    The columns of one interval are added only when they are its sexes (``0歲-男`` + ``0歲-女``);
    a second column of the same ages (``0歲`` twice, ``超過64歲`` beside ``65歲以上``, or
    ``65歲以上`` beside its sexes) would count those people twice: the first (or the both-sexes
    one) is read and the others are named in a note.
    """
    by_sex: dict[tuple[int, int], dict[str, int]] = {}
    notes = []
    for i, (role, iv) in enumerate(roles):
        if role != "age":
            continue
        assert iv is not None  # classify_column gives every age column its interval
        name = normalise_header(header[i])
        sex = "m" if name.endswith(("男", "_m")) else "f" if name.endswith(("女", "_f")) else ""
        have = by_sex.setdefault(iv, {})
        if sex in have:
            notes.append(f"column {i + 1} ({header[i]}) gives the same ages as column {have[sex] + 1} "
                         f"({header[have[sex]]}); the first is read")
            continue
        have[sex] = i
    ages = {}
    for iv, have in by_sex.items():
        if "" in have and len(have) > 1:
            notes.append(f"{header[have['']]} is read for {_label_of(iv)}; its columns by sex are not added to it")
        ages[iv] = [have[""]] if "" in have else sorted(have.values())
    return ages, notes


def _cell_table(raw: PopulationRows, layout: ColumnLayout) -> tuple[np.ndarray, pd.DataFrame, Rejections]:
    """(line numbers, stripped cells, rejections) of every data row, damaged lines included.

    A damaged line (quote damage) and a row with more filled cells than the header names (its
    columns may be shifted) or too few to reach the columns read are rejected whole, without
    echoing their cells.
    """
    import numpy as np
    import pandas as pd

    width = len(layout.header)
    damaged = dict(raw.damaged)
    rows = sorted([*raw.rows, *((n, []) for n in damaged)], key=lambda r: r[0])
    line = np.array([n for n, _ in rows], dtype=np.int64)
    rej = Rejections(len(rows))
    if not rows:
        return line, pd.DataFrame(columns=range(width), dtype=object), rej
    is_damaged = np.array([n in damaged for n in line], dtype=bool)
    rej.add(is_damaged, "row", "", lambda pos: [damaged[line[p]] for p in pos])
    length = np.array([len(c) for _, c in rows])
    filled = np.array([max((i + 1 for i, c in enumerate(cs) if c.strip()), default=0) for _, cs in rows])
    extra = ~is_damaged & (filled > layout.header_width)
    rej.add(extra, "row", "", lambda pos: [
        f"{filled[p]} cells but the header names {layout.header_width} columns: the cells may be shifted"
        for p in pos])
    short = ~is_damaged & ~extra & (length < layout.width)
    rej.add(short, "row", "", lambda pos: [
        f"{length[p]} cells but the header has {layout.header_width} columns: the row is cut short" for p in pos])
    cells = pd.DataFrame([[c.strip() for c in (cs + [""] * width)[:width]] for _, cs in rows], columns=range(width),
                         dtype=object)
    return line, cells, rej


def whole_numbers(cells: pd.DataFrame, columns: list[int], header: list[str], rej: Rejections, skip: np.ndarray,
                   *, allow_fraction: bool = False) -> np.ndarray:
    """The columns' numbers (rows × columns); a cell that is not a count (or an area) is rejected with the reason."""
    import numpy as np
    import pandas as pd

    n = len(cells)
    if not columns:
        return np.zeros((n, 0))
    raw = cells[columns].to_numpy(dtype=object)
    text = pd.Series(raw.ravel(order="F"), dtype=object).str.replace(",", "", regex=False)
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float).reshape(raw.shape, order="F")
    finite = np.isfinite(values)
    reason = np.full(raw.shape, "", dtype=object)
    reason[~finite] = "not a number ≥ 0" if allow_fraction else "not a whole number ≥ 0"
    reason[(text == "").to_numpy().reshape(raw.shape, order="F")] = "empty count"
    if not allow_fraction:
        reason[finite & (values != np.round(values))] = "not a whole number"
    reason[finite & (values < 0)] = f"negative {'area' if allow_fraction else 'count'}"
    reason[finite & (values > _MAX_COUNT)] = f"more than {_MAX_COUNT:,}, over Taiwan's whole population"
    for k in np.flatnonzero(((reason != "") & ~skip[:, None]).any(axis=0)):
        rej.add((reason[:, k] != "") & ~skip, header[columns[k]], raw[:, k], reason[:, k])
    return np.where(reason == "", values, 0.0)


def _counts(cells: pd.DataFrame, layout: ColumnLayout, rej: Rejections, skip: np.ndarray
            ) -> tuple[np.ndarray | None, dict, np.ndarray | None]:
    """(total column, people per age interval, area in km²) of each row; None where absent."""
    header, cols = layout.header, layout.cols
    counted = ([cols["total"]] if "total" in cols else []) + [c for idx in layout.ages.values() for c in idx]
    values = dict(zip(counted, whole_numbers(cells, counted, header, rej, skip).T, strict=True))
    totals = values[cols["total"]] if "total" in cols else None
    band = {iv: sum(values[c] for c in idx) for iv, idx in layout.ages.items()}
    area = (whole_numbers(cells, [cols["size"]], header, rej, skip, allow_fraction=True)[:, 0]
            if "size" in cols else None)
    return totals, band, area


def age_group_counts(totals: np.ndarray | None, band: dict, layout: ColumnLayout,
                     rej: Rejections) -> dict[str, np.ndarray]:
    """People of each age group per row; rows whose age columns contradict their total are rejected.

    An age column or group larger than the total, age columns that add up to more than the total,
    or a group derived as total minus bands that comes out negative: the row's figures disagree.
    """
    import numpy as np

    groups = {g: np.asarray(sum(sign * (totals if iv is None else band[iv]) for sign, iv in terms), dtype=float)
              for g, terms in layout.recipes.items()}
    if totals is not None:
        total_name = layout.header[layout.cols["total"]]
        for iv, values in sorted(band.items()):
            label = "+".join(layout.header[c] for c in layout.ages[iv])
            rej.add((values > totals) & ~rej.bad, label, values.astype(np.int64).astype(str),
                    lambda pos, v=values, label=label: [f"{label} {int(v[p]):,} is more than the total "
                                                        f"({total_name}) {int(totals[p]):,}" for p in pos])
        full = _tile(0, OPEN_END, list(band))
        if full and len(full) > 1:
            summed = sum(band[iv] for iv in full)
            rej.add((summed > totals) & ~rej.bad, "、".join(_label_of(iv) for iv in full),
                    summed.astype(np.int64).astype(str),
                    lambda pos: [f"the age columns add up to {int(summed[p]):,}, more than the total "
                                 f"({total_name}) {int(totals[p]):,}" for p in pos])
    for g, values in groups.items():
        rej.add((values < 0) & ~rej.bad, g, values.astype(np.int64).astype(str),
                f"age columns give a negative {g} count; the row's totals disagree")
    return groups



def _matching(how: pd.Series, people: np.ndarray, ok: np.ndarray, line: np.ndarray) -> pd.DataFrame:
    """``how, rows, people``: how the accepted rows matched, and the rejected rows."""
    import numpy as np
    import pandas as pd

    match = pd.DataFrame({"how": how[ok].to_numpy(), "people": people[ok]})
    matching = match.groupby("how", sort=False).agg(rows=("people", "size"), people=("people", "sum")).reset_index()
    rejected = pd.DataFrame([{"how": "rejected", "rows": int(np.unique(line[~ok]).size),
                              "people": float(people[~ok].sum())}])
    matching = pd.concat([matching, rejected], ignore_index=True)
    matching["people"] = matching["people"].round().astype("int64")
    return matching


def _outputs(data: pd.DataFrame, avail: tuple[str, ...], towns: gpd.GeoDataFrame,
             vill_table: gpd.GeoDataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(townships, villages) tables from the accepted rows' ``towncode, villcode`` + groups (+ area)."""
    import pandas as pd

    sums = [*avail, *(["area_km2"] if "area_km2" in data else [])]
    tsum = data.groupby("towncode")[sums].sum()
    town_out = towns[["towncode", "county", "township"]].merge(tsum, left_on="towncode", right_index=True, how="inner")
    for g in avail:
        town_out[g] = town_out[g].round().astype("int64")
    town_out = town_out.sort_values("towncode", ignore_index=True)
    vcols = ["villcode", "towncode", "county", "township", "village"]
    if vill_table is None:
        return town_out, pd.DataFrame(columns=[*vcols, *avail])
    vsum = data.dropna(subset=["villcode"]).groupby("villcode")[list(avail)].sum()
    vill_out = pd.DataFrame(vill_table[vcols]).merge(vsum, left_on="villcode", right_index=True, how="left")
    for g in avail:
        vill_out[g] = vill_out[g].fillna(0).round().astype("int64")
    return town_out, vill_out.sort_values("villcode", ignore_index=True)



def _period(values: pd.Series, notes: list[str] | None = None) -> str | None:
    """``YYYY-MM`` of the most common period value (ROC ``10405`` → ``2015-05``), None if it is not one.

    >>> import pandas as pd
    >>> _period(pd.Series(["10405", "10405", ""])), _period(pd.Series(["2022/08"])), _period(pd.Series(["11413"]))
    ('2015-05', '2022-08', None)
    """
    values = values[values != ""]
    if values.empty:
        return None
    common = values.mode().iloc[0]
    text = re.sub(r"\D", "", common)
    year: int | None = None
    month: int | None = None
    if len(text) in (4, 5):  # ROC yyymm
        year, month = int(text[:-2]) + 1911, int(text[-2:])
    elif len(text) == 6:
        year, month = int(text[:4]), int(text[4:])
    if year is not None and month is not None and 1946 <= year <= 2100 and 1 <= month <= 12:
        return f"{year:04d}-{month:02d}"
    if notes is not None:
        notes.append(f"statistics period {common!r} is not a year-month (ROC 11412 or 2025-12); period unknown")
    return None


def _layout(level: str, ages: dict, coded: bool) -> str:
    single = sum(1 for lo, hi in ages if lo == hi) >= 50
    kind = "single-year-of-age" if single else ("age groups" if ages else "totals")
    return f"{level} {kind}{' (code-keyed)' if coded and level == 'village' else ''}"
