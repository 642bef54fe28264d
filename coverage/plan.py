"""Progress and planning: coverage over time, targets, what-if scenarios.

* :func:`coverage_trend` — township coverage at each year end, from opening/closing dates.
* :func:`load_targets` / :func:`compare_targets` — current value vs target ("已達標"/"未達標").
* :func:`apply_scenario` / :func:`whatif` — add or remove facilities and compare before → after.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InputError, UnreadableFileError

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import pandas as pd

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
    """``2023`` → ``民國112年``."""
    return f"民國{year - ROC_OFFSET}年"


def parse_year(text: str | int) -> int:
    """A western or ROC year: ``2019``, ``108``, ``民國108``, ``108年`` → 2019."""
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
) -> pd.DataFrame:
    """Township coverage at the end of each year (as of 31 December).

    Parameters
    ----------
    population : Population, optional
        From :func:`coverage.read_population`: adds the population-weighted figures for
        ``age_group`` (see :func:`population_coverage`). The same population is used for every
        year (the file's month), so the change shows where points opened, not migration.

    Returns
    -------
    DataFrame ``year, roc_year, county, category, covered, total, rate, facilities``; with
    ``population`` also ``people_covered, people_total, population_rate``.
    Facilities without an opening date count in every year; a facility counts in the years from
    its opening date to its closing date inclusive (closed 109/12/31 counts in 109), and a status
    that says not open wins over dates that contradict it (see :mod:`coverage.dates`).
    """
    import pandas as pd

    from .measure import county_coverage, township_coverage

    frames = []
    for year in years:
        table = township_coverage(
            facilities, townships, definition=definition, as_of=f"{year}-12-31",
            categories=categories, counties=counties,
        )
        c = county_coverage(table)[["county", "category", "covered", "total", "rate", "facilities"]]
        if population is not None:
            c = c.merge(population_coverage(table, population, age_group), on=["county", "category"], how="left")
        c.insert(0, "year", year)
        c.insert(1, "roc_year", year - ROC_OFFSET)
        frames.append(c)
    if not frames:
        cols = ["year", "roc_year", "county", "category", "covered", "total", "rate", "facilities"]
        if population is not None:
            cols += _POPULATION_COLUMNS
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)


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

    from .measure import _rate
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
        _rate(int(a), int(b)) if b > 0 else float("nan")
        for a, b in zip(g["people_covered"], g["people_total"], strict=True)
    ]
    return pd.DataFrame(g, columns=["county", "category", *_POPULATION_COLUMNS])


_TARGET_COLUMNS = {
    "scope": ("scope", "縣市", "county", "範圍"),
    "category": ("category", "類別"),
    "year": ("year", "年度", "目標年"),
    "target_count": ("target_count", "target", "目標處數", "目標數"),
    "target_rate": ("target_rate", "目標涵蓋率", "rate"),
}


def load_targets(path: str | Path | None = None) -> pd.DataFrame:
    """Targets: ``scope`` (a county, or 全國 for national), ``category``, ``year``,
    ``target_count`` and/or ``target_rate`` (percent), ``source``.

    Default: the bundled national programme targets (社安網第二期 and 社安網 2.0).
    """
    import pandas as pd

    from .datasets import get_path
    from .facilities import normalise_category
    from .names import resolve_county

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
    if not path.exists():
        raise UnreadableFileError(path, "file not found")

    try:
        raw = pd.read_excel(path, dtype=str) if path.suffix.lower() in (".xlsx", ".xlsm") else pd.read_csv(
            path, dtype=str, encoding="utf-8-sig"
        )
    except Exception as exc:  # pandas raises many types for unreadable files
        raise UnreadableFileError(path, f"not a readable targets table ({exc})") from exc
    rename = {}
    for col in raw.columns:
        key = str(col).strip().lower()
        for canon, aliases in _TARGET_COLUMNS.items():
            if key in aliases:
                rename[col] = canon
    raw = raw.rename(columns=rename)
    for need in ("scope", "category", "year"):
        if need not in raw:
            raise UnreadableFileError(path, f"no '{need}' column; expected {', '.join(_TARGET_COLUMNS)}")
    if "target_count" not in raw and "target_rate" not in raw:
        raise UnreadableFileError(path, "needs a target_count or target_rate column")
    rows = []
    for i, r in enumerate(raw.fillna("").to_dict("records"), start=2):
        where = f"{path.name} row {i}"
        scope = str(r["scope"]).strip()
        try:
            scope = "全國" if scope in ("全國", "national", "") else resolve_county(scope)
            year = parse_year(r["year"])
            count = float(r["target_count"]) if str(r.get("target_count", "")).strip() else math.nan
            rate = float(str(r["target_rate"]).rstrip("%")) if str(r.get("target_rate", "")).strip() else math.nan
        except (InputError, ValueError) as exc:
            raise InputError(f"{where}: {exc}") from exc
        if math.isnan(count) and math.isnan(rate):
            raise InputError(f"{where}: neither target_count nor target_rate is given")
        rows.append({"scope": scope, "category": normalise_category(r["category"]), "year": year,
                     "target_count": count, "target_rate": rate, "source": str(r.get("source", path.name))})
    return pd.DataFrame(rows, columns=["scope", "category", "year", "target_count", "target_rate", "source"])


def compare_targets(
    facilities: pd.DataFrame,
    townships: gpd.GeoDataFrame,
    targets: pd.DataFrame,
    *,
    as_of: object = None,
    definition: str = "presence",
) -> pd.DataFrame:
    """Current value vs each target: ``scope, category, year, measure, current, target, gap,
    met, status, still_needed``.

    ``measure`` is ``count`` (open facilities) or ``rate`` (township coverage, %). For a
    rate target, ``still_needed`` is the number of townships still to cover, i.e. at least
    that many new points.
    """
    import pandas as pd

    from .measure import county_coverage, facility_state, township_coverage

    state = facility_state(facilities, as_of)
    open_fac = facilities[state == "open"]
    table = township_coverage(facilities, townships, definition=definition, as_of=as_of,
                              categories=sorted(set(targets["category"])))
    per_county = county_coverage(table).set_index(["county", "category"])
    rows = []
    for t in targets.itertuples(index=False):
        mask = open_fac["category"] == t.category
        if t.scope != "全國":
            mask &= open_fac["county"] == t.scope
        if not math.isnan(t.target_count):
            current = int(mask.sum())
            needed = max(0, math.ceil(t.target_count - current))
            rows.append(_target_row(t, "count", current, t.target_count, needed))
        if not math.isnan(t.target_rate):
            if t.scope == "全國":
                covered = int(table.loc[table["category"] == t.category, "covered"].sum())
                total = int((table["category"] == t.category).sum())
            else:
                row = per_county.loc[(t.scope, t.category)]
                covered, total = int(row["covered"]), int(row["total"])
            current = round(100 * covered / total, 1) if total else 0.0
            needed = max(0, math.ceil(t.target_rate / 100 * total - 1e-9) - covered)
            rows.append(_target_row(t, "rate", current, t.target_rate, needed))
    return pd.DataFrame(rows, columns=["scope", "category", "year", "measure", "current", "target", "gap", "met",
                                       "status", "still_needed", "source"])


def _target_row(t, measure: str, current: float, target: float, needed: int) -> dict:
    met = current >= target - 1e-9
    return {"scope": t.scope, "category": t.category, "year": int(t.year), "measure": measure, "current": current,
            "target": target, "gap": round(max(0.0, target - current), 1), "met": met,
            "status": "已達標" if met else "未達標", "still_needed": needed, "source": t.source}


def parse_addition(text: str, townships: gpd.GeoDataFrame) -> dict:
    """``"嘉義縣阿里山鄉:community_support_point"`` → a township-precision facility row."""
    from .facilities import normalise_category
    from .names import resolve_township

    place, sep, category = text.rpartition(":")
    if not sep or not place.strip() or not category.strip():
        raise InputError(f"--add {text!r}: expected 縣市鄉鎮市區:category, e.g. 嘉義縣阿里山鄉:community_support_point")
    code = resolve_township(place, townships=townships)
    row = townships.loc[townships["towncode"] == code].iloc[0]
    return {"category": normalise_category(category), "name": f"（新增）{row['county']}{row['township']}",
            "county": row["county"], "township": row["township"], "towncode": code, "precision": "township",
            "status": "what-if", "serves": (), "source": "what-if"}


def read_scenario(path: str | Path) -> tuple[list[str], list[str]]:
    """A scenario file: CSV with ``action`` (add/remove, 新增/移除) and ``target`` columns."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise UnreadableFileError(path, "file not found")
    try:
        raw = pd.read_csv(path, dtype=str, encoding="utf-8-sig").fillna("")
    except Exception as exc:  # pandas raises many types
        raise UnreadableFileError(path, f"not a readable scenario CSV ({exc})") from exc
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    if not {"action", "target"} <= set(raw.columns):
        raise UnreadableFileError(path, "needs columns action (add/remove) and target")
    add, remove = [], []
    for i, r in enumerate(raw.to_dict("records"), start=2):
        action = r["action"].strip().lower()
        if action in ("add", "新增"):
            add.append(r["target"].strip())
        elif action in ("remove", "移除", "刪除"):
            remove.append(r["target"].strip())
        else:
            raise InputError(f"{path.name} row {i}: action {r['action']!r} is not add/remove (新增/移除)")
    return add, remove


def apply_scenario(
    facilities: gpd.GeoDataFrame, townships: gpd.GeoDataFrame, add: Sequence[str] = (), remove: Sequence[str] = ()
) -> gpd.GeoDataFrame:
    """Facilities with the scenario applied: ``add`` township:category items, ``remove`` by name."""
    import geopandas as gpd
    import pandas as pd

    from .names import normalise_name

    out = facilities
    for name in remove:
        hit = out["name"].map(normalise_name) == normalise_name(name)
        if not hit.any():
            raise InputError(f"--remove {name!r}: no facility has this name")
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
    """
    import pandas as pd

    from .measure import county_coverage, township_coverage

    after_fac = apply_scenario(facilities, townships, add, remove)
    cats = categories or sorted(set(facilities["category"]) | set(after_fac["category"]))
    kw = dict(definition=definition, as_of=as_of, categories=cats, counties=counties)
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
