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
each way. Rows that cannot be used (a count that is not a whole number, an unknown township, a
duplicate) go to :attr:`Population.rejected` (``file, row, field, value, reason``), never dropped
silently: ``rows_read == accepted rows + rejected rows``.
"""

from __future__ import annotations

import io
import json
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import CoverageError, InputError, UnreadableFileError
from .rejections import REJECTED_COLUMNS

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import pandas as pd

__all__ = ["AGE_GROUPS", "Population", "read_population", "require_group", "resolve_age_group"]

log = logging.getLogger(__name__)

#: Age groups: key -> (first age, last age or None for open-ended, zh-TW label).
AGE_GROUPS: dict[str, tuple[int, int | None, str]] = {
    "total": (0, None, "全部人口 all ages"),
    "children": (0, 17, "兒少 0–17歲"),
    "young_children": (0, 11, "兒童 0–11歲"),
    "elderly": (65, None, "老人 65歲以上"),
}
_GROUP_ALIASES = {
    "all": "total", "全部": "total", "總人口": "total", "人口": "total",
    "兒少": "children", "兒童及少年": "children", "0-17": "children",
    "兒童": "young_children", "0-11": "young_children",
    "老人": "elderly", "高齡": "elderly", "長者": "elderly", "65+": "elderly",
}

_INF = 10_000  # stands for "and over" in age intervals
_MAX_COUNT = 100_000_000  # no count (or area in km²) of one row can be larger

# Header vocabulary, after _norm() (NFKC, no spaces, lower case).
_ROLES = {
    "period": {"統計年月", "年月", "資料年月", "statistic_yyymm", "ym", "yyymm"},
    "code": {"區域別代碼", "村里代碼", "區域代碼", "鄉鎮市區代碼", "villcode", "towncode", "district_code", "code"},
    "area": {"區域別", "區域", "鄉鎮市區別", "site_id", "area"},
    "county": {"縣市", "縣市名稱", "縣市別", "countyname", "county"},
    "township": {"鄉鎮市區", "鄉鎮市區名稱", "townname", "township"},
    "village": {"村里", "村里名稱", "村里別", "villname", "village"},
    "households": {"戶數", "household_no", "households"},
    "total": {"人口數", "人口", "總人口", "總人口數", "人口總數", "population", "people_total"},
    "size": {"size", "面積", "土地面積", "area_km2"},
    "ignore": {"人口數-男", "人口數-女", "男性人口", "女性人口", "男", "女", "male", "female",
               "people_total_m", "people_total_f", "性比例", "sex_ratio"},
}
_ROLE_OF = {name: role for role, names in _ROLES.items() for name in names}
_AGE_PATTERNS: list[tuple[re.Pattern, object]] = [
    (re.compile(r"^(\d+)歲(以上)?(?:-?[男女])?$"), lambda m: (int(m[1]), _INF if m[2] else int(m[1]))),
    (re.compile(r"^people_age_(\d{3})(up)?(?:_[mf])?$"), lambda m: (int(m[1]), _INF if m[2] else int(m[1]))),
    (re.compile(r"^age_(\d+)_(\d+)$"), lambda m: (int(m[1]), int(m[2]))),
    (re.compile(r"^age_(\d+)(?:plus|up)$"), lambda m: (int(m[1]), _INF)),
    (re.compile(r"^(\d+)[-~～](\d+)歲$"), lambda m: (int(m[1]), int(m[2]))),
    (re.compile(r"^未滿(\d+)歲$"), lambda m: (0, int(m[1]) - 1)),
    # 超過64歲 is 65 and over; but the tabulated 超過20歲 column is 20 and over: nationally in 2021-03,
    # 人口 − 超過20歲 − 18-19歲 − 未滿15歲 = 645,129, three birth cohorts (15–17), not four.
    (re.compile(r"^超過20歲$"), lambda m: (20, _INF)),
    (re.compile(r"^超過(\d+)歲$"), lambda m: (int(m[1]) + 1, _INF)),
    (re.compile(r"^(\d+)歲以上(?:人口)?$"), lambda m: (int(m[1]), _INF)),
    (re.compile(r"^elderly(\d+)$"), lambda m: (int(m[1]), _INF)),
]
_VILLAGE_CODE = re.compile(r"^(\d{8})-?(\d{3})$")
_TOWN_CODE = re.compile(r"^\d{7,8}$")


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
            "rejected_rows": int(self.rejected["row"].nunique()) if len(self.rejected) else 0,
            "matching": [
                {"how": r.how, "rows": int(r.rows), "people": int(r.people)}
                for r in self.matching.itertuples(index=False)
            ],
            "notes": list(self.notes),
        }


def require_group(population: Population, group: str) -> None:
    """Raise :class:`InputError` unless ``population`` gives the age group ``group``."""
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

    >>> resolve_age_group("老人"), resolve_age_group("young-children")
    ('elderly', 'young_children')
    """
    key = _norm(name).replace("-", "_").replace("–", "-")
    if key in AGE_GROUPS:
        return key
    alias = _GROUP_ALIASES.get(_norm(name).replace("–", "-"))
    if alias:
        return alias
    choices = ", ".join(f"{k} ({v[2]})" for k, v in AGE_GROUPS.items())
    raise InputError(f"--age-group: unknown age group {name!r}; choose one of {choices}")


# ----------------------------------------------------------------------------- reading


def _norm(text: object) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or ""))).lower()


def _decode(path: Path, data: bytes) -> str:
    for enc in ("utf-8-sig", "cp950", "big5hkscs"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise UnreadableFileError(path, "cannot decode the text; expected UTF-8 or Big5 (cp950)")


def _classify(name: str) -> tuple[str, object]:
    """(role, age interval or None) of a column name."""
    n = _norm(name)
    if n in _ROLE_OF:
        return _ROLE_OF[n], None
    for pattern, make in _AGE_PATTERNS:
        m = pattern.match(n)
        if m:
            return "age", make(m)
    return "other", None


def _rows_from_json(path: Path, text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableFileError(path, f"not valid JSON ({exc})") from exc
    if isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
        keys = list(dict.fromkeys(k for v in data.values() for k in v))
        header = ["code", *keys]
        rows = [(i, [str(code), *[_cell(v.get(k)) for k in keys]]) for i, (code, v) in enumerate(data.items(), 1)]
        return header, rows
    if isinstance(data, list) and data and all(isinstance(v, dict) for v in data):
        keys = list(dict.fromkeys(k for v in data for k in v))
        return keys, [(i, [_cell(v.get(k)) for k in keys]) for i, v in enumerate(data, 1)]
    raise UnreadableFileError(path, "JSON must be an object of records keyed by code, or a list of records")


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def _rows_from_csv(path: Path, text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    import csv

    lines = list(csv.reader(io.StringIO(text, newline="")))
    header_at = None
    for i, row in enumerate(lines[:20]):
        roles = [_classify(c)[0] for c in row]
        if sum(r not in ("other",) for r in roles) >= 2:
            header_at = i
            break
    if header_at is None:
        raise UnreadableFileError(
            path, "no population header found in the first 20 lines (expected columns such as 統計年月, "
            "區域別, 村里, 人口數, or TOWNCODE, population)"
        )
    header = lines[header_at]
    start = header_at + 1
    # a second header row (English then Chinese, or the reverse) is not data
    while start < len(lines) and sum(_classify(c)[0] != "other" for c in lines[start]) >= max(2, len(header) // 2):
        start += 1
    if start > header_at + 1:  # name each column as the last header row does (MOI: Chinese below English)
        rows_above = lines[header_at:start]
        header = [next((r[i] for r in reversed(rows_above) if i < len(r) and _classify(r[i])[0] != "other"), name)
                  for i, name in enumerate(header)]
    rows = [(i + 1, row) for i, row in enumerate(lines) if i >= start and any(c.strip() for c in row)]
    return header, rows


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    if not path.exists():
        raise UnreadableFileError(path, "file not found")
    if path.is_dir():
        raise UnreadableFileError(path, "is a directory, not a population file")
    from .readers import max_file_bytes

    limit = max_file_bytes()
    if path.stat().st_size > limit:
        raise UnreadableFileError(
            path, f"file is {path.stat().st_size / 2**20:,.0f} MB, over the {limit / 2**20:,.0f} MB limit; "
            "raise SAFETYNET_MAX_FILE_MB if this machine has the memory"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFileError(path, f"cannot read ({exc.strerror or exc})") from exc
    if not data.strip():
        raise UnreadableFileError(path, "file is empty")
    if b"\x00" in data[:4096]:
        raise UnreadableFileError(path, "binary file; expected a CSV or JSON population table")
    text = _decode(path, data)
    if text.lstrip()[:1] in ("{", "["):
        return _rows_from_json(path, text)
    return _rows_from_csv(path, text)


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
    recipes, unavailable = {}, {}
    for group, (lo, hi, _label) in AGE_GROUPS.items():
        hi = _INF if hi is None else hi
        if group == "total" and has_total:
            recipes[group] = [(1, None)]
            continue
        direct = _tile(lo, hi, intervals)
        if direct is not None:
            recipes[group] = [(1, iv) for iv in direct]
            continue
        if has_total and lo == 0 and hi < _INF:
            rest = _tile(hi + 1, _INF, intervals)
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
    if hi >= _INF:
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

    Parameters
    ----------
    path : path
        CSV (UTF-8, UTF-8 with BOM, Big5/cp950) or JSON, in one of the layouts of the module
        docstring.
    townships, villages : GeoDataFrame, optional
        Boundaries to match against; default the bundled ones.

    Raises
    ------
    UnreadableFileError
        The file is missing, undecodable, or has no place or population columns.

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
    header, rows = _read_rows(path)
    towns = load_townships() if townships is None else townships
    bundled_towns = townships is None
    roles = [_classify(c) for c in header]
    cols = {role: i for i, (role, _iv) in reversed(list(enumerate(roles))) if role not in ("age", "other")}
    ages: dict[tuple[int, int], list[int]] = {}
    for i, (role, iv) in enumerate(roles):
        if role == "age":
            ages.setdefault(iv, []).append(i)
    has_place = "code" in cols or "area" in cols or "township" in cols
    if not has_place or not ("total" in cols or ages):
        found = ", ".join(c for c in header if c.strip()) or "none"
        what = ("place (區域別, 區域別代碼, TOWNCODE, 鄉鎮市區)" if not has_place
                else "population count (人口數, population or age)")
        raise UnreadableFileError(path, f"no {what} column; found columns: {found}. Is this a population table?")
    recipes, unavailable = _recipes(list(ages), "total" in cols)
    notes = []
    if any(_norm(c) == "超過20歲" for c in header):
        notes.append("超過20歲 read as ages 20 and over (checked against cohort sizes), "
                     "so 0–17 = 人口 − 18-19歲 − 超過20歲")

    width = len(header)
    file = path.name
    n_rows = len(rows)
    line = np.array([r for r, _ in rows], dtype=np.int64)
    cells = pd.DataFrame([(cells + [""] * width)[:width] for _, cells in rows], columns=range(width), dtype=object)
    cells = cells.fillna("").astype(str).apply(lambda s: s.str.strip())
    rejected: list[tuple] = []
    bad = np.zeros(n_rows, dtype=bool)

    def number(col: int, *, allow_fraction: bool = False) -> np.ndarray:
        text = cells[col].str.replace(",", "", regex=False)
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(values) & (values >= 0)
        if not allow_fraction:
            ok &= values == np.round(values)
        too_big = ok & (values > _MAX_COUNT)
        ok &= ~too_big
        for k in np.flatnonzero(~ok & ~bad):
            reason = "empty count" if not text.iloc[k] else "not a whole number ≥ 0"
            if allow_fraction:
                reason = "not a number ≥ 0"
            if too_big[k]:
                reason = f"more than {_MAX_COUNT:,}, over Taiwan's whole population"
            rejected.append((file, int(line[k]), header[col], cells[col].iloc[k], reason))
        bad[~ok] = True
        return np.where(ok, values, 0.0)

    totals = number(cols["total"]) if "total" in cols else None
    band = {iv: sum(number(c) for c in idx) for iv, idx in ages.items()}
    groups = {}
    for group, terms in recipes.items():
        groups[group] = sum(sign * (totals if iv is None else band[iv]) for sign, iv in terms)
        groups[group] = np.asarray(groups[group], dtype=float)
    for group in list(groups):
        neg = (groups[group] < 0) & ~bad
        rejected.extend((file, int(line[k]), group, str(int(groups[group][k])),
                         f"age columns give a negative {group} count; the row's totals disagree")
                        for k in np.flatnonzero(neg))
        bad |= neg
    area = number(cols["size"], allow_fraction=True) if "size" in cols else None

    # ---- where each row belongs
    code = cells[cols["code"]] if "code" in cols else pd.Series([""] * n_rows, dtype=object)
    vmatch = code.str.extract(_VILLAGE_CODE)
    villcode = (vmatch[0] + vmatch[1]).where(vmatch[0].notna(), "").astype(object)
    towncode_from_code = np.where(vmatch[0].notna(), vmatch[0], code.where(code.str.match(_TOWN_CODE), ""))
    towncode_from_code = pd.Series(towncode_from_code, dtype=object).map(lambda c: c + "0" if len(c) == 7 else c)
    village_name = cells[cols["village"]] if "village" in cols else pd.Series([""] * n_rows, dtype=object)
    level = "village" if ("village" in cols or (villcode != "").any()) else "township"
    if "area" in cols:
        place = cells[cols["area"]]
    elif "township" in cols:
        place = (cells[cols["county"]] if "county" in cols else "") + cells[cols["township"]]
    else:
        place = pd.Series([""] * n_rows, dtype=object)
    known_towns = set(towns["towncode"])
    by_name = dict(zip((towns["county"] + towns["township"]).map(_norm_place), towns["towncode"], strict=True))
    resolved: dict[str, tuple[str | None, str | None]] = {}
    for name in place.unique():
        resolved[name] = _resolve_place(name, by_name, None if bundled_towns else towns)
    name_code = place.map(lambda n: resolved[n][0])
    name_error = place.map(lambda n: resolved[n][1])
    code_ok = towncode_from_code.isin(known_towns)
    towncode = name_code.where(name_code.notna(), towncode_from_code.where(code_ok, None))
    how = pd.Series(np.where(name_code.notna(), "township name", "township code"), dtype=object)
    place_field = header[cols["area"]] if "area" in cols else header[cols.get("township", 0)]
    for k in np.flatnonzero(towncode.isna().to_numpy() & ~bad):
        error = name_error.iloc[k]
        if isinstance(error, str) and error:
            fld, value, reason = place_field, place.iloc[k], error
        elif "code" in cols and code.iloc[k]:
            fld, value, reason = header[cols["code"]], code.iloc[k], (
                "township code not in the boundaries and no township name to fall back on")
        else:
            fld, value, reason = (header[cols["code"]] if "code" in cols else place_field), "", (
                "no place: the township code and name are blank")
        rejected.append((file, int(line[k]), fld or "place", value, reason))
    bad |= towncode.isna().to_numpy()

    # duplicates: the same code (or the same names when there is no code) twice
    key = code.where(code != "", place + "|" + village_name)
    first_row = pd.Series(line).groupby(key.to_numpy()).transform("first").to_numpy()
    dup = (first_row != line) & ~bad
    rejected.extend((file, int(line[k]), header[cols["code"]] if "code" in cols else "place",
                     key.iloc[k].replace("|", ""), f"duplicate of row {first_row[k]}") for k in np.flatnonzero(dup))
    bad |= dup

    vill_table = None
    assigned = pd.Series([None] * n_rows, dtype=object)
    if level == "village":
        vill_table = load_villages() if villages is None else villages
        vill_table = vill_table[vill_table["towncode"].isin(set(towncode.dropna()))]
        known_vill = set(vill_table["villcode"])
        by_vname = dict(zip(zip(vill_table["towncode"], vill_table["village"].map(_norm_place), strict=True),
                            vill_table["villcode"], strict=True))
        hit_code = villcode.isin(known_vill) & towncode.notna()
        # a village code of another township than the names say is not trusted
        hit_code &= villcode.str[:8].eq(towncode.fillna("")) | (name_code.isna())
        assigned[hit_code] = villcode[hit_code]
        by_name_hit = [by_vname.get((t, _norm_place(v))) for t, v in zip(towncode, village_name, strict=True)]
        by_name_hit = pd.Series(by_name_hit, dtype=object)
        use_name = assigned.isna() & by_name_hit.notna()
        assigned[use_name] = by_name_hit[use_name]
        how = pd.Series(np.where(hit_code, "village code", np.where(use_name, "village name",
                                                                   "township only (no matching village)")),
                        dtype=object)

    ok = ~bad
    first_group = "total" if "total" in groups else (next(iter(groups)) if groups else None)
    people = groups[first_group] if first_group else np.zeros(n_rows)
    match = pd.DataFrame({"how": how[ok].to_numpy(), "people": people[ok]})
    matching = match.groupby("how", sort=False).agg(rows=("people", "size"), people=("people", "sum")).reset_index()
    matching = pd.concat([matching, pd.DataFrame([{"how": "rejected", "rows": int(np.unique(line[bad]).size),
                                                   "people": float(people[bad].sum())}])], ignore_index=True)
    matching["people"] = matching["people"].round().astype("int64")
    avail = tuple(g for g in AGE_GROUPS if g in groups)
    data = pd.DataFrame({"towncode": towncode.to_numpy(), "villcode": assigned.to_numpy()})
    for g in avail:
        data[g] = groups[g]
    if area is not None:
        data["area_km2"] = area
    data = data[ok]
    town_cols = ["towncode", "county", "township"]
    tsum = data.groupby("towncode")[[*avail, *(["area_km2"] if area is not None else [])]].sum()
    town_out = towns[town_cols].merge(tsum, left_on="towncode", right_index=True, how="inner")
    for g in avail:
        town_out[g] = town_out[g].round().astype("int64")
    if level == "village":
        vsum = data.dropna(subset=["villcode"]).groupby("villcode")[list(avail)].sum()
        vcols = ["villcode", "towncode", "county", "township", "village"]
        vill_out = pd.DataFrame(vill_table[vcols]).merge(vsum, left_on="villcode", right_index=True, how="left")
        for g in avail:
            vill_out[g] = vill_out[g].fillna(0).round().astype("int64")
        vill_out = vill_out.sort_values("villcode", ignore_index=True)
    else:
        vill_out = pd.DataFrame(columns=["villcode", "towncode", "county", "township", "village", *avail])
    rejected_frame = pd.DataFrame(rejected, columns=REJECTED_COLUMNS).sort_values(["row", "field"], ignore_index=True)
    period = _period(cells[cols["period"]], notes) if "period" in cols else None
    layout = _layout(level, ages, "code" in cols)
    pop = Population(
        file=str(path), layout=layout, level=level, period=period, groups=avail,
        unavailable={g: unavailable[g] for g in AGE_GROUPS if g in unavailable},
        villages=vill_out, townships=town_out.sort_values("towncode", ignore_index=True), matching=matching,
        rejected=rejected_frame, rows_read=n_rows, notes=notes,
    )
    log.info("%s: %s, %d rows, %d rejected; groups %s", file, layout, n_rows, int(bad.sum()), ", ".join(avail))
    return pop


def _norm_place(text: object) -> str:
    from .names import normalise_name

    return normalise_name(text)


def _resolve_place(name: str, by_name: dict[str, str], townships) -> tuple[str | None, str | None]:
    """(towncode, None) or (None, error message) for a county+township name."""
    from .names import resolve_township

    if not name:
        return None, None
    key = _norm_place(name)
    if key in by_name:
        return by_name[key], None
    try:
        return resolve_township(name, townships=townships), None
    except CoverageError as exc:
        return None, str(exc)


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
    year, month = None, None
    if len(text) in (4, 5):  # ROC yyymm
        year, month = int(text[:-2]) + 1911, int(text[-2:])
    elif len(text) == 6:
        year, month = int(text[:4]), int(text[4:])
    if year is not None and 1946 <= year <= 2100 and 1 <= month <= 12:
        return f"{year:04d}-{month:02d}"
    if notes is not None:
        notes.append(f"statistics period {common!r} is not a year-month (ROC 11412 or 2025-12); period unknown")
    return None


def _layout(level: str, ages: dict, coded: bool) -> str:
    single = sum(1 for lo, hi in ages if lo == hi) >= 50
    kind = "single-year-of-age" if single else ("age groups" if ages else "totals")
    return f"{level} {kind}{' (code-keyed)' if coded and level == 'village' else ''}"
