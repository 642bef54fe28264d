"""Coverage rates: which townships have a service point, per county and programme.

Two definitions (``definition=``):

* ``"presence"`` — a township is covered when at least one facility of the category is
  located in it. This is the figure counties report to the central government.
* ``"service-area"`` — presence, or the township is named in the ``serves`` list (official
  service district) of some facility of the category.

Facilities count on the as-of date when ``opened <= as_of <= closed`` (the closing date is
the last day of service); a facility without an opening date counts as open. A status that
says not open (停辦, 暫停服務, 規劃中 …) wins over dates that contradict it; see
:mod:`coverage.dates`. Facilities opening after the as-of date, or whose status says planned,
are *planned* and give the separate "with planned" figures.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import pandas as pd

__all__ = [
    "DEFINITIONS",
    "as_timestamp",
    "category_rank",
    "county_coverage",
    "facility_state",
    "rate",
    "township_coverage",
]

DEFINITIONS = ("presence", "service-area")
Definition = Literal["presence", "service-area"]

def as_timestamp(as_of: object) -> pd.Timestamp:
    """The day of a date-like ``as_of`` (midnight); today when ``as_of`` is None.

    Parameters
    ----------
    as_of : date-like or None
        A date, datetime, ISO string or :class:`pandas.Timestamp`; ``None`` means today.

    Returns
    -------
    pandas.Timestamp
        ``as_of`` normalised to midnight.

    Raises
    ------
    ValueError
        ``as_of`` is not a date pandas can read.

    Examples
    --------
    >>> as_timestamp("2024-01-01 13:45")
    Timestamp('2024-01-01 00:00:00')
    """
    import pandas as pd

    if as_of is None:
        return pd.Timestamp(dt.date.today())
    return pd.Timestamp(as_of).normalize()


def facility_state(facilities: pd.DataFrame, as_of: object = None, *, today: object = None) -> pd.Series:
    """State of each facility on ``as_of`` (default today): ``open``, ``planned`` or ``closed``.

    ``closed`` after the closing date (the last day of service: a point closed on
    2020-12-31 is open that day); ``planned`` before the opening date; ``open`` otherwise.
    A status that says not open (停辦, 已結束, 暫停服務 → ``closed``; 規劃中, 籌備中 →
    ``planned``) wins over dates that contradict it; dates that agree with it keep the
    history (:func:`coverage.dates.service_state`). ``today`` is the date the status
    describes (default today).

    Parameters
    ----------
    facilities : DataFrame
        With ``opened`` and ``closed`` (datetimes, NaT when unknown) and optionally ``status``.
    as_of : date-like, optional
        The day the state is asked for (default today).
    today : date-like, optional
        The day the ``status`` column describes (default today).

    Returns
    -------
    Series of str
        ``open``, ``planned`` or ``closed``, aligned to ``facilities``.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"opened": pd.to_datetime(["2019-01-01", None, None]),
    ...                   "closed": pd.to_datetime(["2020-12-31", None, "2030-01-01"]),
    ...                   "status": ["", "籌備中", "停辦"]})
    >>> facility_state(f, "2020-12-31").tolist(), facility_state(f, "2021-01-01").tolist()
    (['open', 'planned', 'closed'], ['closed', 'planned', 'closed'])
    """
    import pandas as pd

    from .dates import service_state

    missing = pd.Series(pd.NaT, index=facilities.index, dtype="datetime64[ns]")
    state = service_state(facilities.get("opened", missing), facilities.get("closed", missing),
                          facilities.get("status"), as_of, today=today)
    return pd.Series(state, index=facilities.index, name="state", dtype=object)


def _select(frame: pd.DataFrame, column: str, values: list[str] | None) -> pd.DataFrame:
    if not values:
        return frame
    return frame[frame[column].isin(values)]


def township_coverage(
    facilities: pd.DataFrame,
    townships: gpd.GeoDataFrame,
    *,
    definition: Definition = "presence",
    as_of: object = None,
    categories: list[str] | None = None,
    counties: list[str] | None = None,
) -> pd.DataFrame:
    """One row per township × category: facilities counted and whether it is covered.

    Parameters
    ----------
    facilities : DataFrame
        Accepted facilities (:func:`coverage.read_facilities`): ``category, towncode,
        opened, closed, status, serves``.
    townships : GeoDataFrame
        From :func:`coverage.load_townships`.
    definition : {"presence", "service-area"}
    as_of : date-like, optional
        Count facilities open on this date (default today).
    categories, counties : list of str, optional
        Restrict to these categories (default: every category in ``facilities``) and
        counties (official names; default all).

    Returns
    -------
    DataFrame with ``towncode, county, township, category, facilities, planned,
    covered, covered_with_planned`` and the township flags, sorted by category then
    towncode. When ``facilities`` has a ``cases`` column with any value, also ``cases``: the
    people served by the open facilities there that report a caseload (NaN when none does).
    Outputs write it through :func:`coverage.privacy.suppress_counts`.

    Raises
    ------
    ValueError
        ``definition`` is not one of :data:`DEFINITIONS`.
    """
    import pandas as pd

    from .geography import FLAGS

    if definition not in DEFINITIONS:
        raise ValueError(f"definition must be one of {DEFINITIONS}, got {definition!r}")
    towns = _select(pd.DataFrame(townships.drop(columns="geometry")), "county", counties)
    cats = list(categories) if categories else sorted(facilities["category"].dropna().unique().tolist())
    fac = facilities[facilities["category"].isin(cats)].copy()
    fac["state"] = facility_state(fac, as_of)

    grid = towns[["towncode", "county", "township", *[f for f in FLAGS if f in towns]]].merge(
        pd.DataFrame({"category": pd.Series(cats, dtype=object)}), how="cross"
    )
    counts = (
        fac[fac["state"].isin(["open", "planned"])]
        .groupby(["towncode", "category", "state"])
        .size()
        .unstack("state", fill_value=0)
        .reindex(columns=["open", "planned"], fill_value=0)
        .rename(columns={"open": "facilities"})
        .reset_index()
    )
    out = grid.merge(counts, on=["towncode", "category"], how="left")
    out[["facilities", "planned"]] = out[["facilities", "planned"]].fillna(0).astype(int)
    out["covered"] = out["facilities"] > 0
    out["covered_with_planned"] = (out["facilities"] + out["planned"]) > 0
    if definition == "service-area" and "serves" in fac:
        for state, col in (("open", "covered"), (("open", "planned"), "covered_with_planned")):
            states = (state,) if isinstance(state, str) else state
            served = fac[fac["state"].isin(states)][["category", "serves"]].explode("serves").dropna()
            served = set(zip(served["serves"], served["category"], strict=True))
            hit = [(t, c) in served for t, c in zip(out["towncode"], out["category"], strict=True)]
            out[col] = out[col] | pd.Series(hit, index=out.index)
    cols = ["towncode", "county", "township", "category", "facilities", "planned", "covered", "covered_with_planned"]
    if "cases" in fac and pd.to_numeric(fac["cases"], errors="coerce").notna().any():
        open_fac = fac[fac["state"] == "open"].assign(cases=lambda f: pd.to_numeric(f["cases"], errors="coerce"))
        cases = open_fac.groupby(["towncode", "category"])["cases"].sum(min_count=1).rename("cases").reset_index()
        out = out.merge(cases, on=["towncode", "category"], how="left")
        cols.append("cases")
    flags = [f for f in FLAGS if f in out]
    return out[cols + flags].sort_values(["category", "towncode"], ignore_index=True)


def county_coverage(township_table: pd.DataFrame) -> pd.DataFrame:
    """Per county × category: covered townships, total, rate (%, one decimal), missing.

    Parameters
    ----------
    township_table : DataFrame
        The output of :func:`township_coverage`.

    Returns
    -------
    DataFrame ``county, category, covered, total, rate, missing, facilities,
    covered_with_planned, rate_with_planned, missing_with_planned``; ``missing`` is the list
    of uncovered township names in code order. Rows follow the MOI county order
    (:data:`coverage.geography.COUNTY_ORDER`), then category.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"towncode": ["1", "2"], "county": ["甲縣", "甲縣"], "township": ["A鄉", "B鄉"],
    ...     "category": ["x", "x"], "facilities": [1, 0], "planned": [0, 1],
    ...     "covered": [True, False], "covered_with_planned": [True, True]})
    >>> row = county_coverage(t).iloc[0]
    >>> int(row["covered"]), int(row["total"]), float(row["rate"]), row["missing"]
    (1, 2, 50.0, ['B鄉'])
    """
    import pandas as pd

    t = township_table.sort_values("towncode")
    rows = []
    for (county, category), g in t.groupby(["county", "category"], sort=False):
        total = len(g)
        covered = int(g["covered"].sum())
        with_planned = int(g["covered_with_planned"].sum())
        rows.append(
            {
                "county": county,
                "category": category,
                "covered": covered,
                "total": total,
                "rate": rate(covered, total),
                "missing": g.loc[~g["covered"], "township"].tolist(),
                "facilities": int(g["facilities"].sum()),
                "covered_with_planned": with_planned,
                "rate_with_planned": rate(with_planned, total),
                "missing_with_planned": g.loc[~g["covered_with_planned"], "township"].tolist(),
                "_order": g["towncode"].iloc[0],
            }
        )
    cols = ["county", "category", "covered", "total", "rate", "missing", "facilities",
            "covered_with_planned", "rate_with_planned", "missing_with_planned"]
    if not rows:
        return pd.DataFrame(columns=cols)
    from .geography import county_rank

    out = pd.DataFrame(rows)
    out["_rank"] = county_rank(out["county"])
    out["_cat"] = category_rank(out["category"])
    out = out.sort_values(["_rank", "_order", "_cat"], ignore_index=True)
    return out[cols]


def category_rank(category: pd.Series) -> pd.Series:
    """Sort key: the four programme categories in programme order, then others by name.

    Parameters
    ----------
    category : Series
        Category keys or custom programme names.

    Returns
    -------
    Series
        Sortable ``(rank, name)`` tuples aligned to ``category``.
    """
    from .programmes import PROGRAMMES

    rank = {key: i for i, key in enumerate(PROGRAMMES)}
    return category.map(lambda c: (rank.get(c, len(rank)), c))


def rate(covered: int, total: int) -> float:
    """Percent with one decimal, rounded half up: the one rate of every output.

    Parameters
    ----------
    covered : int
        The count covered (townships, people …).
    total : int
        The count of which ``covered`` is a part.

    Returns
    -------
    float
        ``100 × covered / total`` rounded half up to one decimal; ``0.0`` when ``total`` is 0.

    Examples
    --------
    >>> rate(17, 18), rate(1, 8), rate(0, 0)
    (94.4, 12.5, 0.0)
    """
    from decimal import ROUND_HALF_UP, Decimal

    if total == 0:
        return 0.0
    return float((Decimal(covered * 100) / Decimal(total)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
