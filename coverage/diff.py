"""Compare two registries (last year's and this year's): which points opened, closed, moved or were renamed,
and how each county's coverage changed.

Points are matched in three passes, each on the points the earlier passes left:

1. by an ``id`` column, when both registries have one;
2. by category + name (NFKC, 台→臺, spaces ignored);
3. by category + township, where exactly one unmatched point of that category stands in the township
   on each side (several on either side are left unmatched: listed, not guessed).

A matched pair is ``moved`` when its township differs, else ``renamed`` when its name differs, else
``unchanged``; an unmatched point of the new registry is ``opened``, of the old one ``closed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["CHANGES", "COVERAGE_DIFF_COLUMNS", "DIFF_COLUMNS", "RegistryDiff", "diff_coverage", "diff_registries"]

#: Values of the ``change`` column, in output order.
CHANGES = ("opened", "closed", "moved", "renamed", "unchanged")
DIFF_COLUMNS = ["change", "category", "name", "county", "township_before", "township_after", "name_before",
                "matched_by"]
COVERAGE_DIFF_COLUMNS = ["county", "category", "covered_before", "covered_after", "total", "rate_before",
                         "rate_after", "change_points"]


@dataclass(frozen=True)
class RegistryDiff:
    """Result of :func:`diff_registries`.

    Attributes
    ----------
    points : DataFrame
        One row per point (:data:`DIFF_COLUMNS`); ``matched_by`` is ``id``, ``name``, ``township``
        or empty for opened/closed points.
    coverage : DataFrame
        One row per county × category (:data:`COVERAGE_DIFF_COLUMNS`).
    ambiguous : list of str
        Townships where several unmatched points of one category stand on a side: not paired.
    """

    points: pd.DataFrame
    coverage: pd.DataFrame
    ambiguous: list[str]

    def counts(self) -> dict[str, int]:
        """Number of points per change, every change listed."""
        got = self.points["change"].value_counts()
        return {c: int(got.get(c, 0)) for c in CHANGES}


def _name_key(name: object) -> str:
    from .names import name_key

    return name_key(str(name), keep_case=True, keep_punctuation=True)


def _pair(old: pd.DataFrame, new: pd.DataFrame, left: set, right: set, key_old, key_new, how: str,
          pairs: list, ambiguous: list | None = None) -> None:
    """Pair the still unmatched rows whose keys are equal and unique on both sides."""
    from collections import defaultdict

    a, b = defaultdict(list), defaultdict(list)
    for i in sorted(left):
        k = key_old(old.loc[i])
        if k is not None:
            a[k].append(i)
    for j in sorted(right):
        k = key_new(new.loc[j])
        if k is not None:
            b[k].append(j)
    for k in sorted(set(a) & set(b), key=str):
        if len(a[k]) == 1 and len(b[k]) == 1:
            pairs.append((a[k][0], b[k][0], how))
            left.discard(a[k][0])
            right.discard(b[k][0])
        elif ambiguous is not None:
            ambiguous.append(f"{k[0]} in {k[1]}: {len(a[k])} before, {len(b[k])} after; not paired")


def _match(old: pd.DataFrame, new: pd.DataFrame) -> tuple[list[tuple], set, set, list[str]]:
    pairs: list[tuple]
    ambiguous: list[str]
    left, right, pairs, ambiguous = set(old.index), set(new.index), [], []
    if "id" in old.columns and "id" in new.columns:
        by_id = lambda r: (str(r["id"]).strip() or None) if r["id"] == r["id"] else None  # noqa: E731
        _pair(old, new, left, right, by_id, by_id, "id", pairs)
    by_name = lambda r: (r["category"], _name_key(r["name"]))  # noqa: E731
    _pair(old, new, left, right, by_name, by_name, "name", pairs)
    by_place = lambda r: (r["category"], r["towncode"]) if r["towncode"] == r["towncode"] else None  # noqa: E731
    _pair(old, new, left, right, by_place, by_place, "township", pairs, ambiguous)
    return pairs, left, right, ambiguous


def _point_rows(old, new, pairs, left, right, names) -> list[dict]:
    rows = []
    for i, j, how in pairs:
        a, b = old.loc[i], new.loc[j]
        change = ("moved" if a["towncode"] != b["towncode"]
                  else "renamed" if _name_key(a["name"]) != _name_key(b["name"]) else "unchanged")
        rows.append({"change": change, "category": b["category"], "name": b["name"], "county": b["county"],
                     "township_before": names.get(a["towncode"], ""), "township_after": names.get(b["towncode"], ""),
                     "name_before": a["name"] if change == "renamed" else "", "matched_by": how})
    rows += [{"change": "closed", "category": old.at[i, "category"], "name": old.at[i, "name"],
              "county": old.at[i, "county"], "township_before": names.get(old.at[i, "towncode"], ""),
              "township_after": "", "name_before": "", "matched_by": ""} for i in sorted(left)]
    rows += [{"change": "opened", "category": new.at[j, "category"], "name": new.at[j, "name"],
              "county": new.at[j, "county"], "township_before": "",
              "township_after": names.get(new.at[j, "towncode"], ""),
              "name_before": "", "matched_by": ""} for j in sorted(right)]
    return rows


def diff_coverage(before: pd.DataFrame, after: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """County × category coverage before → after (from two :func:`coverage.measure.county_coverage` tables).

    Parameters
    ----------
    before, after : DataFrame
        County × category coverage of the old and the new registry.
    points : DataFrame
        The paired points (:attr:`RegistryDiff.points`), whose changes are counted per county × category.

    Returns
    -------
    DataFrame
        :data:`COVERAGE_DIFF_COLUMNS`: covered townships and rate before and after, and the
        number of points that changed, per county × category.
    """
    import pandas as pd

    keys = ["county", "category"]
    merged = before[[*keys, "covered", "total", "rate"]].merge(
        after[[*keys, "covered", "total", "rate"]], on=keys, how="outer", suffixes=("_before", "_after"))
    moved = points[points["change"] != "unchanged"].groupby(keys).size().rename("change_points")
    merged = merged.merge(moved, left_on=keys, right_index=True, how="left")
    merged["total"] = merged["total_after"].fillna(merged["total_before"]).astype(int)
    merged["change_points"] = merged["change_points"].fillna(0).astype(int)
    for col in ("covered_before", "covered_after"):
        merged[col] = merged[col].fillna(0).astype(int)
    return pd.DataFrame(merged[COVERAGE_DIFF_COLUMNS]).reset_index(drop=True)


def diff_registries(
    old: pd.DataFrame,
    new: pd.DataFrame,
    townships,
    *,
    counties: list[str] | None = None,
    as_of=None,
) -> RegistryDiff:
    """Compare two facility tables (``Registry.facilities`` of :func:`coverage.read_facilities`).

    Parameters
    ----------
    old, new : GeoDataFrame
        The registries before and after, read with the same township boundaries.
    townships : GeoDataFrame
        Those boundaries.
    counties : list of str, optional
        Official county names to compare (default: all).
    as_of : date-like, optional
        Coverage is counted for points open on this date (default today) in both registries.

    Returns
    -------
    RegistryDiff
    """
    import pandas as pd

    from .measure import county_coverage, township_coverage

    if counties:
        old = old[old["county"].isin(counties)]
        new = new[new["county"].isin(counties)]
    old, new = old.reset_index(drop=True), new.reset_index(drop=True)
    names = dict(zip(townships["towncode"], townships["township"], strict=True))
    pairs, left, right, ambiguous = _match(old, new)
    points = pd.DataFrame(_point_rows(old, new, pairs, left, right, names), columns=DIFF_COLUMNS)
    order = {c: k for k, c in enumerate(CHANGES)}
    points = points.sort_values(["county", "category", "change", "name"], key=lambda s: s.map(order)
                                if s.name == "change" else s, kind="stable").reset_index(drop=True)
    cats = sorted(set(old["category"]) | set(new["category"]))
    tables = [county_coverage(township_coverage(frame, townships, as_of=as_of, categories=cats, counties=counties))
              for frame in (old, new)]
    return RegistryDiff(points=points, coverage=diff_coverage(*tables, points),  # type: ignore[call-arg]  # 2 tables
                        ambiguous=ambiguous)
