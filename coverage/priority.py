"""Computed remoteness (MOI 偏遠地區) and a gap priority ranking with reasons.

Remoteness
----------
The Ministry of the Interior defines 偏遠地區 as a township whose population density is below one
fifth of the national density, or an offshore island 7.5 km or more from its county seat.
:func:`compute_remoteness` applies both rules to a population file:

* density = population / area, with the area the file gives (the MOI township JSON's ``size``,
  km²) or else the polygon area in TWD97 TM2; the national density is computed from the same file,
  so it needs every township (or ``national_density=``);
* offshore island = a township that does not touch the Taiwan main island (the ``island`` flag);
  the county seat is the representative point of the township that holds the county government
  (``geodata/reference/county_seats.csv``), and the island's distance is measured from there to
  the representative point of the township's largest land part.

Priority score
--------------
:func:`rank_priorities` ranks, per county × category, the townships that are uncovered or whose
people live on average farther than ``distance_km`` from the nearest facility::

    score = people affected × distance (km) × boost
    boost = 1 + 0.5·remote + 0.5·mountain + 0.5·island + 0.25·coastal     (PRIORITY_BOOSTS)

*people affected* are all the township's people of the age group when it is uncovered, else those
living beyond ``distance_km``; *distance* is their population-weighted mean distance to the
nearest facility on the same land mass (across the sea when there is none). ``mountain`` is the
DEM flag when a DEM was given, else the official 山地原住民鄉 list. Each row says why in ``reasons``.

With a road network (``within_min=``, :mod:`coverage.travelaccess`) the ranking is in minutes by road:
a covered township is a candidate when its people live on average beyond ``within_min`` minutes or
some of its villages have no road connection; *people affected* are those beyond ``within_min``
minutes, *distance* is their population-weighted mean minutes, and the reasons say so.

A county's people are measured to that county's own points (a county-run programme serves its
own residents). When the county has no open point of the programme (the registry holds none there,
e.g. a registry of other counties) its townships have no distance: they are ranked by people
affected, their ``score`` and ``distance_km`` are empty, and the reasons say so. With
``across_counties`` the distances run to other counties' points, and the reasons say that instead.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .vocabulary import COMPUTED_FLAG_LABELS, bilingual

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from .population import Population

__all__ = [
    "DENSITY_FRACTION",
    "ISLAND_SEAT_KM",
    "PRIORITY_BOOSTS",
    "PRIORITY_COLUMNS",
    "compute_remoteness",
    "county_seats",
    "rank_priorities",
]

log = logging.getLogger(__name__)

DENSITY_FRACTION = 0.2
ISLAND_SEAT_KM = 7.5
#: Added to the multiplier 1 for each flag a township has.
PRIORITY_BOOSTS = {"remote": 0.5, "mountain": 0.5, "island": 0.5, "coastal": 0.25}
PRIORITY_COLUMNS = [
    "county", "category", "rank", "towncode", "township", "age_group", "people", "distance_km", "max_km",
    "nearest_name", "covered", "remote", "mountain", "coastal", "island", "boost", "score", "reasons",
]


def _main_points(geoms) -> np.ndarray:
    """Representative point of the largest part of each (multi)polygon."""
    import numpy as np
    import shapely

    parts, owner = shapely.get_parts(np.asarray(geoms), return_index=True)
    area = shapely.area(parts)
    order = np.lexsort((-area, owner))
    first = np.ones(len(order), dtype=bool)
    first[1:] = owner[order][1:] != owner[order][:-1]
    largest = parts[order[first]]
    return shapely.point_on_surface(largest)


def county_seats(townships: gpd.GeoDataFrame) -> pd.DataFrame:
    """The county seats: ``county, towncode, township, government, geometry`` (points, EPSG:3826).

    Counties whose seat township is not in ``townships`` are left out.

    Parameters
    ----------
    townships : GeoDataFrame
        The township table.

    Returns
    -------
    DataFrame
        One row per county whose seat is in ``townships``, with the columns above.

    Raises
    ------
    DataFileNotFoundError
        The bundled list of county seats is missing (a broken install).
    """
    import pandas as pd

    from .datasets import geodata_dir
    from .errors import DataFileNotFoundError
    from .geography import PROJECTED_CRS, to_official

    path = geodata_dir() / "reference" / "county_seats.csv"
    if not path.exists():
        raise DataFileNotFoundError(f"bundled data 'county_seats' is missing at {path}")
    seats = pd.read_csv(path, dtype=str, comment="#")
    seats["county"] = seats["COUNTYNAME"].map(to_official)
    seats["township"] = seats["TOWNNAME"].map(to_official)
    towns = townships[["towncode", "county", "township", "geometry"]]
    seats = seats.merge(towns, on=["county", "township"], how="inner")
    points = _main_points(seats.set_geometry("geometry", crs=townships.crs).geometry.to_crs(PROJECTED_CRS).values)
    return pd.DataFrame({"county": seats["county"], "towncode": seats["towncode"], "township": seats["township"],
                         "government": seats["government"], "geometry": points})


def compute_remoteness(
    townships: gpd.GeoDataFrame,
    population: Population | None = None,
    *,
    national_density: float | None = None,
    density_fraction: float = DENSITY_FRACTION,
    island_km: float = ISLAND_SEAT_KM,
) -> pd.DataFrame:
    """Apply the MOI 偏遠地區 definition to every township.

    Parameters
    ----------
    townships : GeoDataFrame
        With the ``island`` flag (:func:`coverage.load_townships`).
    population : Population, optional
        Needs the ``total`` age group; without it only the island rule applies.
    national_density : float, optional
        People per km²; default: computed from ``population`` when it covers every township.
    density_fraction : float
        A township is of low density below this fraction of ``national_density``.
    island_km : float
        An island township is remote when its seat is this far (km) from the county seat.

    Returns
    -------
    DataFrame aligned to ``townships``: ``towncode, population, area_km2, density,
    national_density, low_density, seat_km, remote_island, remote, remote_reason``;
    ``low_density``/``remote`` are NA where the density cannot be known.
    """
    import numpy as np
    import pandas as pd
    import shapely

    from .geography import PROJECTED_CRS

    out = pd.DataFrame({"towncode": townships["towncode"].to_numpy()}, index=townships.index)
    proj = townships.geometry.to_crs(PROJECTED_CRS)
    polygon_area = proj.area.to_numpy() / 1e6
    out["population"] = np.nan
    out["area_km2"] = polygon_area
    note = ""
    if population is not None and "total" in population.groups:
        pt = population.townships.set_index("towncode")
        out["population"] = out["towncode"].map(pt["total"]).to_numpy(dtype=float)
        if "area_km2" in pt:
            given = out["towncode"].map(pt["area_km2"]).to_numpy(dtype=float)
            out["area_km2"] = np.where(given > 0, given, polygon_area)
        known = out["population"].notna()
        if national_density is None and known.all():
            national_density = float(out["population"].sum() / out["area_km2"].sum())
        elif national_density is None:
            note = f"national density unknown: the population file covers {int(known.sum())} of {len(out)} townships"
    out["density"] = out["population"] / out["area_km2"]
    out["national_density"] = np.nan if national_density is None else float(national_density)
    threshold = out["national_density"] * density_fraction
    low = pd.array(out["density"] < threshold, dtype="boolean")
    low[(out["density"].isna() | threshold.isna()).to_numpy()] = pd.NA
    out["low_density"] = low

    seats = county_seats(townships).set_index("county")
    here = _main_points(proj.values)
    seat_pt = townships["county"].map(seats["geometry"]).to_numpy()
    has_seat = pd.notna(seat_pt)
    seat_km = np.full(len(out), np.nan)
    seat_km[has_seat] = shapely.distance(here[has_seat], seat_pt[has_seat].astype(object)) / 1000
    out["seat_km"] = seat_km
    island = townships["island"].to_numpy(dtype=bool) if "island" in townships else np.zeros(len(out), bool)
    out["remote_island"] = island & (np.nan_to_num(seat_km, nan=np.inf) >= island_km)
    remote = out["low_density"].copy()
    remote[out["remote_island"].to_numpy()] = True
    out["remote"] = remote
    reasons = []
    for r in out.itertuples(index=False):
        parts = []
        if pd.notna(r.low_density) and bool(r.low_density):
            parts.append(f"人口密度 density {r.density:,.0f}/km² < 1/5 of national {r.national_density:,.0f}/km²")
        if r.remote_island:
            parts.append(f"離島 island {r.seat_km:.1f} km from the county seat (≥ {island_km:g} km)")
        if pd.isna(r.low_density) and note:
            parts.append(note)
        reasons.append("；".join(parts))
    out["remote_reason"] = reasons
    return out


def rank_priorities(
    township_table: pd.DataFrame,
    township_access: pd.DataFrame,
    flags: pd.DataFrame,
    *,
    distance_km: float,
    group: str = "total",
    population: Population | None = None,
    across_counties: bool = False,
    within_min: float | None = None,
) -> pd.DataFrame:
    """Rank uncovered or far-from-service townships per county × category (see the module docstring).

    Parameters
    ----------
    township_table : DataFrame
        :func:`coverage.measure.township_coverage` output (``covered`` and the official flags).
    township_access : DataFrame
        :attr:`coverage.access.AccessResult.townships` (people and distances per township × category).
    flags : DataFrame
        Per ``towncode``: ``remote`` and ``mountain`` (either may be missing or NA).
    distance_km : float
        The "near a service" distance.
    group : str
        The age group ranked (:data:`coverage.population.AGE_GROUPS`).
    population : Population, optional
        Township totals of ``group`` count the people of uncovered townships (else the people
        placed at village points).
    across_counties : bool
        Whether ``township_access`` measured people to other counties' points too
        (:func:`coverage.access.population_access`); only the reasons depend on it.
    within_min : float, optional
        With minutes by road in ``township_access`` (``mean_min``, ``max_min``, ``people_within_min``,
        :func:`coverage.travelaccess.add_minutes`): weight by minutes instead of km. A covered township
        is a candidate when its people live on average beyond ``within_min`` minutes or some of its
        villages have no road connection; *people affected* are those beyond ``within_min`` minutes,
        and ``score = people affected × mean minutes × boost``. The output gains ``mean_min`` and
        ``max_min``, and the reasons say the score is in minutes by road.

    Returns
    -------
    DataFrame with :data:`PRIORITY_COLUMNS` (and ``mean_min``, ``max_min`` with ``within_min``), by
    county (MOI order), category, rank. Townships the population file does not cover are not ranked
    (they cannot be scored).
    """
    import numpy as np
    import pandas as pd

    from .geography import county_rank
    from .measure import category_rank
    from .vocabulary import AGE_GROUP_TEXT

    t = township_table.merge(township_access, on=["towncode", "category"], how="left")
    f = flags.set_index("towncode")
    for flag in ("remote", "mountain"):
        col = f[flag] if flag in f else pd.Series(dtype="boolean")
        t[flag] = t["towncode"].map(col).astype("boolean").fillna(False).astype(bool)
    mountain_source = "DEM" if "mountain" in f and f["mountain"].notna().any() else "山地原住民鄉 list"
    if mountain_source != "DEM" and "mountain_indigenous" in t:
        t["mountain"] = t["mountain_indigenous"].astype(bool)
    for flag in ("coastal", "island"):
        t[flag] = t[flag].astype(bool) if flag in t else False
    # a county with no open point of a category: no distance (or, across counties, other counties')
    has = t["facilities"] > 0 if "facilities" in t else t["covered"].astype(bool)
    t["county_has_any"] = has.groupby([t["county"], t["category"]]).transform("any").astype(bool)
    if population is not None and group in population.groups:
        total = t["towncode"].map(population.townships.set_index("towncode")[group])
        known = total.notna() | t["people"].notna()
        t["town_people"] = total.fillna(t["people"]).fillna(0)
    else:
        known = t["people"].notna()
        t["town_people"] = t["people"].fillna(0)
    if not known.all():  # a partial population file: townships it does not cover cannot be scored
        log.info("priorities: %d township × category rows have no population data and are not ranked",
                 int((~known).sum()))
        t = t[known.to_numpy()]
    by_min = within_min is not None and "mean_min" in t
    no_land = t["mean_km"].isna() & t["mean_across_sea_km"].notna()
    if by_min:
        unrouted = t["villages_without_min"].fillna(0) > 0
        far = (t["mean_min"] > within_min) | (unrouted & t["county_has_any"])
        cand = t[~t["covered"] | far].copy()
        beyond = (cand["people"].fillna(0) - cand["people_within_min"].fillna(0)).clip(lower=0)
        cand["people_affected"] = np.where(~cand["covered"], cand["town_people"], beyond)
        cand["distance"] = cand["mean_min"]
    else:
        far = t["mean_km"] > distance_km
        cand = t[~t["covered"] | far | no_land].copy()
        cand["people_affected"] = np.where(~cand["covered"], cand["town_people"], cand["people_beyond"].fillna(0))
        cand["distance"] = cand["mean_km"].fillna(cand["mean_across_sea_km"])
    boost = np.ones(len(cand))
    for flag, add in PRIORITY_BOOSTS.items():
        boost += add * cand[flag].to_numpy(dtype=bool)
    cand["boost"] = boost
    # no distance (no point that may serve them): not scored, ranked after the scored by people
    cand["score"] = (cand["people_affected"] * cand["distance"] * cand["boost"]).round(1)
    label = AGE_GROUP_TEXT[group]
    limit = float(within_min) if within_min is not None else 0.0
    cand["reasons"] = [_reasons_min(r, label, limit, mountain_source, across_counties) if by_min
                       else _reasons(r, label, distance_km, mountain_source, across_counties)
                       for r in cand.itertuples(index=False)]
    cand["_rank"] = county_rank(cand["county"])
    cand["_cat"] = category_rank(cand["category"])
    cand["_people"] = cand["people_affected"] * cand["boost"]
    cand = cand.sort_values(["_rank", "_cat", "score", "_people", "towncode"],
                            ascending=[True, True, False, False, True], na_position="last")
    cand["rank"] = cand.groupby(["county", "category"], sort=False).cumcount() + 1
    if by_min:  # distance_km stays the straight-line figure; the score is in minutes
        cand["distance"] = cand["mean_km"].fillna(cand["mean_across_sea_km"])
    out = cand.drop(columns=["people", "distance_km"], errors="ignore").rename(
        columns={"people_affected": "people", "distance": "distance_km"})
    out["age_group"] = group
    out["people"] = out["people"].round().astype("int64")
    out["distance_km"] = out["distance_km"].round(2)
    out["max_km"] = out["max_km"].round(2)
    if by_min:
        out["mean_min"], out["max_min"] = out["mean_min"].round(1), out["max_min"].round(1)
        return out[[*PRIORITY_COLUMNS[:9], "mean_min", "max_min", *PRIORITY_COLUMNS[9:]]].reset_index(drop=True)
    return out[PRIORITY_COLUMNS].reset_index(drop=True)


def _gap_kind(kind: str) -> str:
    """``未設點 no facility in the township``: a gap kind as the reasons write it."""
    from .vocabulary import GAP_KIND_ENGLISH, GAP_KIND_LABELS

    return f"{GAP_KIND_LABELS[kind]} {GAP_KIND_ENGLISH[kind]}"


def _reasons_min(r, label: str, within_min: float, mountain_source: str, across_counties: bool) -> str:
    """The reasons of a priority weighted by minutes by road."""
    import pandas as pd

    people = int(round(r.people_affected))
    unrouted = int(r.villages_without_min) if pd.notna(r.villages_without_min) else 0
    if pd.notna(r.mean_min):
        near = f" ({r.nearest_name})" if isinstance(r.nearest_name, str) and r.nearest_name else ""
        where = f"{r.mean_min:.0f} min by road on average (max {r.max_min:.0f} min) from the nearest{near}"
    elif not r.county_has_any and not across_counties:
        where = "with no minutes measured (no point of the county)"
    else:
        where = "with no road connection to a facility"
    parts = [f"{_gap_kind('uncovered')}: {people:,} {label} live {where}" if not r.covered else
             f"{_gap_kind('far')}: {people:,} {label} live beyond {within_min:g} min by road; {where}"]
    if unrouted and r.county_has_any:
        parts.append(f"{unrouted} 村里無道路時間 villages with no minutes by road (travel_times.csv says why)")
    if not r.county_has_any:
        parts.append("全縣市無此類據點 none in the whole county (registry): not scored, ranked by people")
    flags = [bilingual(COMPUTED_FLAG_LABELS, f) + (f" ({mountain_source})" if f == "mountain" else "")
             for f in PRIORITY_BOOSTS if getattr(r, f)]
    if flags:
        parts.append(f"{'、'.join(flags)} → ×{r.boost:g}")
    parts.append("score = people × mean minutes by road × boost 依道路時間加權")
    return "；".join(parts)


def _reasons(r, label: str, distance_km: float, mountain_source: str, across_counties: bool) -> str:
    import pandas as pd

    parts = []
    people = int(round(r.people_affected))
    if pd.isna(r.mean_km) and pd.notna(r.mean_across_sea_km):
        where = f"no facility on the island; nearest across the sea, {r.mean_across_sea_km:.1f} km on average"
    elif pd.notna(r.distance):
        near = f" ({r.nearest_name})" if isinstance(r.nearest_name, str) and r.nearest_name else ""
        where = f"{r.distance:.1f} km on average (max {r.max_km:.1f} km) from the nearest{near}"
    elif not r.county_has_any and not across_counties:
        where = "with no distance measured (no point of the county)"
    else:
        where = "with no facility of this category within reach"
    if not r.covered:
        parts.append(f"{_gap_kind('uncovered')}: {people:,} {label} live {where}")
    else:
        parts.append(f"{_gap_kind('far')}: {people:,} {label} live beyond {distance_km:g} km; {where}")
    if not r.county_has_any and across_counties:
        parts.append("全縣市無此類據點 none in the whole county (registry): distances are to other counties' points "
                     "(across counties)")
    elif not r.county_has_any:
        parts.append("全縣市無此類據點 none in the whole county (registry): not scored, ranked by people; distances "
                     "to other counties' points only across counties (across_counties / --across-counties)")
    flags = [bilingual(COMPUTED_FLAG_LABELS, f) + (f" ({mountain_source})" if f == "mountain" else "")
             for f in PRIORITY_BOOSTS if getattr(r, f)]
    if flags:
        parts.append(f"{'、'.join(flags)} → ×{r.boost:g}")
    return "；".join(parts)
