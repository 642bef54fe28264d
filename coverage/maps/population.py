"""What the maps show of a population run: people, distances, computed flags and gap priorities.

Plain data for :func:`coverage.maps.payload.map_payload` when the report was run with a population
file (``run_coverage(population=…)``) and/or a DEM (``dem=…``); independent of folium and of the browser.
This module imports only the leaf modules :mod:`coverage.maps.escape` and :mod:`coverage.maps.schema`
of the package (``payload`` imports it, never the other way).

* :func:`township_figures` — per township, the tooltip lines (people of the age group and in
  total, computed 偏遠/山區 beside the official flags) and, per category, the extra tooltip cells:
  share of people within ``distance_km``, population-weighted mean and maximum distance to the
  nearest facility, its name, and the 2SFCA value;
* :func:`village_figures` — per village, people and the distance to the nearest facility of
  each category (village-level population files only);
* :func:`priority_items` — the ranked gap townships of :func:`coverage.priority.rank_priorities`
  as numbered badges at each township's representative point.

Every text placed in HTML is escaped here (:func:`coverage.maps.escape.esc`); facility names and the
priority reasons come from user files.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from ..vocabulary import AGE_GROUP_LABELS
from .escape import esc
from .schema import MapPayload, PopulationMeta, Priorities, PriorityItem, Town, Village

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import pandas as pd

    from ..pipeline import CoverageReport

__all__ = [
    "NATIONAL_PRIORITY_TOP",
    "PRIORITY_CLASS_LABELS",
    "PRIORITY_COLOURS",
    "PRIORITY_LAYER",
    "add_population",
    "age_label",
    "population_meta",
    "priority_items",
    "priority_rank_class",
    "representative_points",
    "township_figures",
    "village_figures",
]

#: The national map marks only the first ranks of each county × category (the county maps mark all).
NATIONAL_PRIORITY_TOP = 5
#: Badge colour per rank class: 1, 2–3, 4–5, 6 and after.
PRIORITY_COLOURS = {1: "#67000d", 2: "#cb181d", 3: "#f16913", 4: "#fdd0a2"}
PRIORITY_CLASS_LABELS = {1: "第 1 順位", 2: "第 2–3 順位", 3: "第 4–5 順位", 4: "第 6 順位以後"}
PRIORITY_LAYER = ('<span class="sn-layer" data-layer="priority"><i class="sn-prio sn-prio-1 sn-prio-sw">1</i>'
                  "優先補點 <small>（所選服務類別）</small></span>")
_AGE_LABELS = AGE_GROUP_LABELS


def age_label(group: str) -> str:
    """zh-TW name of an age group (``children`` → ``兒少 0–17歲``), escaped.

    Parameters
    ----------
    group : str
        Age-group key (:data:`coverage.population.AGE_GROUPS`: ``total``, ``children`` …).

    Returns
    -------
    str
        Its zh-TW label (:data:`coverage.vocabulary.AGE_GROUP_LABELS`); an unknown key is returned as is,
        escaped.
    """
    from ..population import AGE_GROUPS

    return esc(_AGE_LABELS.get(group) or AGE_GROUPS.get(group, (0, 0, group))[2])


def _int(value: Any) -> int | None:
    import pandas as pd

    return None if value is None or pd.isna(value) else int(round(float(value)))


def population_meta(report: CoverageReport) -> PopulationMeta | None:
    """The payload's ``pop``: age group, its label, distance, file, period and level; None without population.

    Parameters
    ----------
    report : CoverageReport
        Its ``access`` (age group, ``distance_km``, ``catchment_km``) and ``population`` (file,
        period, level) give the figures.

    Returns
    -------
    PopulationMeta or None
        The dict described by :class:`coverage.maps.schema.PopulationMeta` (texts escaped); None
        when the report has no access figures or no population.
    """
    from pathlib import Path

    acc, pop = report.access, report.population
    if acc is None or pop is None:
        return None
    return {"group": esc(acc.group), "label": age_label(acc.group), "km": float(acc.distance_km),
            "catchment": float(acc.catchment_km), "file": esc(Path(pop.file).name), "period": esc(pop.period) or None,
            "level": pop.level}


def _fca_by_township(points: pd.DataFrame) -> pd.Series:
    """Population-weighted mean 2SFCA per township × category (plain mean where nobody lives)."""
    import numpy as np
    import pandas as pd

    p = points[["towncode", "category", "people", "fca_2sfca"]].copy()
    p["_w"] = p["people"].astype(float)
    p["_wf"] = p["_w"] * p["fca_2sfca"].astype(float)
    g = p.groupby(["towncode", "category"], sort=False).agg(w=("_w", "sum"), wf=("_wf", "sum"),
                                                           plain=("fca_2sfca", "mean"))
    return pd.Series(np.where(g["w"] > 0, g["wf"] / g["w"].where(g["w"] > 0, 1.0), g["plain"]), index=g.index)


def _round(value: Any, digits: int) -> float | None:
    import pandas as pd

    return None if value is None or pd.isna(value) else round(float(value), digits)


def _flag(value: object) -> int | None:
    import pandas as pd

    return None if value is None or pd.isna(value) else int(bool(value))


def township_figures(report: CoverageReport, codes: Sequence[str],
                     categories: Sequence[str]) -> tuple[dict[str, dict[str, Any]], list[str]] | None:
    """Per township of ``codes``, the numbers its tooltip shows; and the nearest facilities' names.

    Returns None when the report has neither population nor computed flags. Otherwise
    ``(figures, names)``: ``figures[towncode]`` has, where known, ``pp`` (people of the age
    group; None when the population file lacks the township), ``pt`` (all ages, when the group is
    not ``total``), ``rf`` (computed ``[remote, mountain]``, 1/0/None), ``dn`` (people per km²),
    ``el`` (mean elevation, m) and ``ac``: per category ``[share within distance_km (%), mean km,
    max km, index of the nearest facility's name in names or -1, 2SFCA per 10,000, km across the
    sea]`` (None where the category has no figure). ``names`` are escaped.

    Parameters
    ----------
    report : CoverageReport
        Its ``access``, ``population`` and ``remoteness`` (any may be None) give the figures.
    codes : sequence of str
        Towncodes of the map's townships; each gets an entry in ``figures``.
    categories : sequence of str
        The map's categories, in the order of the ``ac`` lists.

    Returns
    -------
    tuple of (dict of str to dict, list of str) or None
        ``(figures, names)`` as described above, or None.
    """
    import pandas as pd

    acc, pop, rem = report.access, report.population, report.remoteness
    if acc is None and rem is None:
        return None
    figures: dict[str, dict[str, Any]] = {c: {} for c in codes}
    names: dict[str, int] = {}
    if acc is not None and pop is not None:
        group = acc.group
        ptab = pop.townships.drop_duplicates("towncode").set_index("towncode")
        for code in codes:
            row = ptab.loc[code] if code in ptab.index else None
            figures[code]["pp"] = None if row is None else _int(row[group])
            if row is not None and group != "total" and "total" in ptab:
                figures[code]["pt"] = _int(row["total"])
    if rem is not None:
        r = rem.drop_duplicates("towncode").set_index("towncode")
        for code in codes:
            if code not in r.index:
                continue
            row, f = r.loc[code], figures[code]
            f["rf"] = [_flag(row.get("remote")), _flag(row.get("mountain"))]
            if pd.notna(row.get("density")):
                f["dn"] = _int(row["density"])
            if pd.notna(row.get("mean_elevation_m")):
                f["el"] = _int(row["mean_elevation_m"])
    if acc is not None:
        town = acc.townships.set_index(["towncode", "category"])
        fca = _fca_by_township(acc.points)
        for code in codes:
            ac: list[list[float | int | None] | None] = []
            for cat in categories:
                if (code, cat) not in town.index:
                    ac.append(None)
                    continue
                row = town.loc[(code, cat)]
                whole = _int(row["people"])
                share = round(100.0 * float(row["people_within"]) / whole, 1) if whole else None
                name = row["nearest_name"]
                idx = names.setdefault(esc(name), len(names)) if isinstance(name, str) and name else -1
                ac.append([share, _round(row["mean_km"], 1), _round(row["max_km"], 1), idx,
                           _round(fca.get((code, cat)), 2) or 0.0, _round(row["mean_across_sea_km"], 1)])
            if any(a is not None for a in ac):
                figures[code]["ac"] = ac
    return figures, list(names)


def village_figures(report: CoverageReport, villcodes: Sequence[str],
                    categories: Sequence[str]) -> list[dict[str, Any]] | None:
    """Per village (in ``villcodes`` order): people ``p`` and nearest distance (km) per category ``d``.

    None unless the report's population is village-level. A distance is None where no facility
    of the category is on the village's land mass.

    Parameters
    ----------
    report : CoverageReport
        Its ``access.points`` (per village × category: ``villcode``, ``people``, ``distance_km``)
        give the figures.
    villcodes : sequence of str
        Village codes in the payload's village order.
    categories : sequence of str
        The map's categories, in the order of each ``d`` list.

    Returns
    -------
    list of dict or None
        One dict per village of ``villcodes``: ``{"p": people, "d": [km or None, …]}``, or ``{}``
        for a village the population file lacks; None without village-level population.
    """
    import math

    acc, pop = report.access, report.population
    if acc is None or pop is None or pop.level != "village":
        return None
    pts = acc.points[acc.points["villcode"].notna()]
    people = pts.drop_duplicates("villcode").set_index("villcode")["people"]
    dist = pts.pivot_table(index="villcode", columns="category", values="distance_km", aggfunc="first",
                           dropna=False).reindex(columns=list(categories))
    out: list[dict[str, Any]] = []
    for code in villcodes:
        if code not in people.index:
            out.append({})
            continue
        row = dist.loc[code] if code in dist.index else None
        d = [None if row is None or math.isnan(float(row[c])) else round(float(row[c]), 1) for c in categories]
        out.append({"p": int(people.loc[code]), "d": d})
    return out


def representative_points(townships: gpd.GeoDataFrame) -> dict[str, tuple[float, float]]:
    """towncode → (lat, lon) of a point inside the township's largest part.

    Parameters
    ----------
    townships : GeoDataFrame
        Township boundaries with a ``towncode`` column, in any CRS; parts are compared by area in
        TWD97 metres.

    Returns
    -------
    dict of str to tuple of (float, float)
        Towncode → (lat, lon) in degrees, rounded to 5 decimals.
    """
    import numpy as np
    import shapely

    from ..geography import PROJECTED_CRS

    proj = townships.geometry.to_crs(PROJECTED_CRS)
    parts, owner = shapely.get_parts(np.asarray(proj.values), return_index=True)
    order = np.lexsort((-shapely.area(parts), owner))
    first = np.ones(len(order), dtype=bool)
    first[1:] = owner[order][1:] != owner[order][:-1]
    import geopandas as gpd

    pts = gpd.GeoSeries(shapely.point_on_surface(parts[order[first]]), crs=PROJECTED_CRS).to_crs("EPSG:4326")
    codes = townships["towncode"].to_numpy()[owner[order[first]]]
    return {c: (round(float(p.y), 5), round(float(p.x), 5)) for c, p in zip(codes, pts.values, strict=True)}


def priority_rank_class(rank: int) -> int:
    """Colour class of a rank: 1 → 1, 2–3 → 2, 4–5 → 3, later → 4 (:data:`PRIORITY_COLOURS`).

    Parameters
    ----------
    rank : int
        Priority rank in its county and category, from 1.

    Returns
    -------
    int
        The colour class, 1 to 4.
    """
    return 1 if rank <= 1 else 2 if rank <= 3 else 3 if rank <= 5 else 4


def priority_items(report: CoverageReport, county: str | None, categories: Sequence[str],
                   townships: gpd.GeoDataFrame, *, top: int | None = None) -> list[list[PriorityItem]] | None:
    """Per category (in ``categories`` order), the ranked gap townships as badges; None without priorities.

    Each item: rank ``r``, colour class ``c`` (:func:`priority_rank_class`), ``[lat, lon]`` ``a``
    (the township's representative point), escaped ``county township`` ``n``, score ``s``, people
    affected ``p``, mean and maximum distance ``d``/``m`` (km, None when unknown), already
    covered ``u`` (0/1) and the escaped reasons ``w``. ``top`` keeps the first ranks of each
    county × category.

    Parameters
    ----------
    report : CoverageReport
        Its ``priorities`` (:func:`coverage.priority.rank_priorities`) give the items.
    county : str or None
        Official county name; None keeps every county.
    categories : sequence of str
        The map's categories; priorities of other categories are left out.
    townships : GeoDataFrame
        Township boundaries (``towncode``, geometry) that give the representative points; a
        ranked township not among them is left out.
    top : int, optional
        Keep ranks up to ``top`` only (:data:`NATIONAL_PRIORITY_TOP` on the national map); None
        keeps all.

    Returns
    -------
    list of list of PriorityItem or None
        One list per category of ``categories``, in the order of the priorities; None when the
        report has no priorities or no access figures.
    """
    prio = report.priorities
    if prio is None or report.access is None:
        return None
    if county is not None:
        prio = prio[prio["county"] == county]
    if top is not None:
        prio = prio[prio["rank"] <= top]
    points = representative_points(townships[townships["towncode"].isin(set(prio["towncode"]))])
    out: list[list[PriorityItem]] = [[] for _ in categories]
    index = {c: i for i, c in enumerate(categories)}
    for row in prio.itertuples(index=False):
        i = index.get(row.category)
        if i is None or row.towncode not in points:
            continue
        out[i].append({"r": int(row.rank), "c": priority_rank_class(int(row.rank)), "a": list(points[row.towncode]),
                       "n": f"{esc(row.county)} {esc(row.township)}", "s": _int(row.score), "p": _int(row.people),
                       "d": _round(row.distance_km, 1), "m": _round(row.max_km, 1), "u": int(bool(row.covered)),
                       "w": esc(row.reasons)})
    return out


def add_population(payload: MapPayload, report: CoverageReport, county: str | None, codes: Sequence[str],
                   categories: Sequence[str], townships: gpd.GeoDataFrame,
                   villcodes: Sequence[str] | None = None) -> None:
    """Put the population figures of ``report`` into a map payload (in place).

    Sets ``pop`` (:func:`population_meta`), ``prio`` (None, or ``items`` per category from
    :func:`priority_items`, ``top``, ``show`` and the layer name ``layer``) and ``names``; merges
    :func:`township_figures` into ``towns`` and :func:`village_figures` into ``villages``
    (``villcodes``: the villages' codes in payload order). Without population and DEM it only
    sets ``pop`` and ``prio`` to None.

    Parameters
    ----------
    payload : MapPayload
        The payload of :func:`coverage.maps.payload.map_payload` with ``towns`` and ``villages``
        set; changed in place.
    report : CoverageReport
        The report the payload was made from.
    county : str or None
        Official county name of the map; None for the national map, which marks only the first
        :data:`NATIONAL_PRIORITY_TOP` ranks and starts with the priority layer hidden.
    codes : sequence of str
        Towncodes of the payload's townships, in payload order.
    categories : sequence of str
        The payload's categories, in order.
    townships : GeoDataFrame
        Township boundaries that give the priority badges' positions (:func:`priority_items`).
    villcodes : sequence of str, optional
        Village codes of the payload's villages, in payload order; None (a township-level map)
        adds no village figures.
    """
    payload["pop"] = population_meta(report)
    payload["prio"] = None
    found = township_figures(report, codes, categories)
    if found is not None:
        figures, names = found
        for town in payload["towns"]:
            town.update(cast("Town", figures.get(town["c"], {})))
        payload["names"] = names
    villages = payload["villages"]
    if villcodes is not None and villages:
        people = village_figures(report, villcodes, categories)
        if people is not None:
            for village, extra in zip(villages, people, strict=True):
                village.update(cast("Village", extra))
    top = NATIONAL_PRIORITY_TOP if county is None else None
    items = priority_items(report, county, categories, townships, top=top)
    if items is not None:
        prio: Priorities = {"items": items, "top": top, "show": county is not None, "layer": PRIORITY_LAYER}
        payload["prio"] = prio
