"""Population figures in minutes by road: the travel-time twins of :mod:`coverage.access`'s kilometres.

With a road network (:mod:`coverage.network`) every village has, per programme, the minutes to its
fastest open point (:func:`coverage.network.village_travel_times`). This module puts those minutes
beside the straight-line figures of a :class:`coverage.access.AccessResult`:

* per village: ``nearest_min``, ``network_km``, ``snap_km``, ``fastest_facility`` (the point fastest by
  road, which may differ from the nearest in a straight line) and ``travel_reason`` (why there are no
  minutes: never 0, never a straight line);
* per township: population-weighted ``mean_min`` and ``max_min`` over the villages that have minutes,
  ``people_within_min`` (people within ``within_min`` minutes) and ``villages_without_min``;
* per county: ``people_within_min`` and ``within_min_rate`` (of the people placed; people in villages
  without minutes are never within);
* 2SFCA / E2SFCA with catchments in minutes (:func:`minute_catchment`, pairs from
  :func:`coverage.network.travel_pairs`): ``fca_2sfca_min`` and ``fca_e2sfca_min`` beside the km ones.

Without village-level population (no population file, or a township-level one) townships get the plain
mean and maximum minutes of their villages (:func:`township_minutes`).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from .access import AccessResult
    from .network import RoadNetwork

__all__ = [
    "MINUTE_POINT_COLUMNS",
    "MINUTE_TOWNSHIP_COLUMNS",
    "add_minutes",
    "minute_catchment",
    "minute_fca",
    "township_minutes",
]

log = logging.getLogger(__name__)

#: Columns :func:`add_minutes` adds to ``AccessResult.points``.
MINUTE_POINT_COLUMNS = ["nearest_min", "network_km", "snap_km", "fastest_facility", "travel_reason", "within_min",
                        "fca_2sfca_min", "fca_e2sfca_min"]
#: Columns :func:`add_minutes` adds to ``AccessResult.townships``.
MINUTE_TOWNSHIP_COLUMNS = ["mean_min", "max_min", "people_within_min", "villages_without_min"]


def minute_fca(origin, destination, minutes, demand, supply, catchment_min: float
               ) -> tuple[np.ndarray, np.ndarray]:
    """2SFCA and E2SFCA (Dai's Gaussian decay) from origin → destination pairs with their minutes.

    Pairs beyond ``catchment_min`` are dropped (a catchment includes its edge), so the pairs may come
    from a search with a larger limit.

    Parameters
    ----------
    origin, destination : int arrays
        Pair indices into ``demand`` and ``supply``.
    minutes : float array
        Travel time of each pair.
    demand, supply : float arrays
        People at each origin; capacity of each destination.
    catchment_min : float
        The catchment in minutes.

    Returns
    -------
    (plain, enhanced) : ndarrays
        Supply per person at each origin (0 where no destination is within the catchment).

    Examples
    --------
    >>> import numpy as np
    >>> plain, _ = minute_fca([0, 1, 1], [0, 0, 1], [5.0, 10.0, 40.0], np.array([100.0, 300.0]),
    ...                       np.array([1.0, 1.0]), 30.0)
    >>> plain.round(6).tolist()
    [0.0025, 0.0025]
    """
    import numpy as np

    from .access import dai_gaussian_weight, two_step_fca

    t = np.asarray(minutes, dtype=float)
    keep = np.isfinite(t) & (t <= catchment_min)
    i, j, t = np.asarray(origin)[keep], np.asarray(destination)[keep], t[keep]
    plain = two_step_fca(i, j, 1.0, demand, supply)
    enhanced = two_step_fca(i, j, dai_gaussian_weight(catchment_min)(t), demand, supply)
    return plain, enhanced


def minute_catchment(
    net: RoadNetwork,
    points: pd.DataFrame,
    facilities: gpd.GeoDataFrame,
    townships: gpd.GeoDataFrame,
    *,
    group: str,
    catchment_min: float,
    as_of=None,
    across_counties: bool = False,
    access_kmh: float = 15.0,
) -> pd.DataFrame:
    """2SFCA and E2SFCA per village × programme with catchments of ``catchment_min`` minutes by road.

    Parameters
    ----------
    net : RoadNetwork
        From :func:`coverage.network.read_network`.
    points : DataFrame
        :attr:`coverage.access.AccessResult.points` of a village-level population (``code``,
        ``villcode``, ``county``, ``category``, ``people``).
    facilities : GeoDataFrame
        Accepted registry rows; the open ones on ``as_of`` serve (capacity as in
        :func:`coverage.access.facility_points`).
    townships : GeoDataFrame
        Township boundaries (each facility's county).
    group : str
        The age group (for the log only: ``points.people`` is that group's people).
    catchment_min : float
        The catchment in minutes by road.
    as_of : date-like, optional
        Count the facilities open on this date.
    across_counties : bool
        Let a county's points serve other counties' people (default: its own only).
    access_kmh : float
        Speed of the straight legs between a point and the road.

    Returns
    -------
    DataFrame ``code, category, fca_2sfca_min, fca_e2sfca_min`` (per 10,000 people).
    """
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from .access import PER_PEOPLE, PROJECTED_CRS, facility_points, land_masses
    from .geography import load_villages
    from .network import travel_pairs

    cols = ["code", "category", "fca_2sfca_min", "fca_e2sfca_min"]
    if points.empty:
        return pd.DataFrame(columns=cols)
    vills = points.drop_duplicates("code")[["code", "county"]].reset_index(drop=True)
    geo = load_villages().set_index("villcode").loc[vills["code"]].to_crs(PROJECTED_CRS)
    origins = gpd.GeoSeries(geo.geometry.representative_point().to_numpy(), crs=PROJECTED_CRS)
    cats = sorted(points["category"].unique())
    fac = facility_points(facilities, land_masses(townships), as_of=as_of, categories=cats, townships=townships)
    frames = []
    for cat in cats:
        f = fac[fac["category"] == cat].reset_index(drop=True)
        people = points[points["category"] == cat].set_index("code")["people"].reindex(vills["code"])
        demand = people.fillna(0).to_numpy(dtype=float)
        plain = enhanced = np.zeros(len(vills))
        if len(f):
            dest = gpd.GeoSeries(gpd.points_from_xy(f["x"], f["y"]), crs=PROJECTED_CRS)
            pairs = travel_pairs(net, origins, dest, limit_min=catchment_min,
                                 origin_groups=None if across_counties else vills["county"].to_numpy(dtype=object),
                                 destination_groups=None if across_counties else f["county"].to_numpy(dtype=object),
                                 access_kmh=access_kmh)
            plain, enhanced = minute_fca(pairs["origin"].to_numpy(dtype=np.int64),
                                         pairs["destination"].to_numpy(dtype=np.int64),
                                         pairs["minutes"].to_numpy(dtype=float), demand,
                                         f["capacity"].to_numpy(dtype=float), catchment_min)
        frames.append(pd.DataFrame({"code": vills["code"].to_numpy(), "category": cat,
                                    "fca_2sfca_min": plain * PER_PEOPLE, "fca_e2sfca_min": enhanced * PER_PEOPLE}))
    log.info("2SFCA in minutes (%s): %d villages × %d programmes, catchment %g min", group, len(vills), len(cats),
             catchment_min)
    return pd.concat(frames, ignore_index=True)


def add_minutes(access: AccessResult, travel: pd.DataFrame, *, within_min: float,
                fca: pd.DataFrame | None = None, catchment_min: float | None = None) -> AccessResult:
    """``access`` with the minutes of ``travel`` beside its kilometres (villages, townships, counties).

    Parameters
    ----------
    access : AccessResult
        From :func:`coverage.access.population_access` with a village-level population.
    travel : DataFrame
        :func:`coverage.network.village_travel_times` (:data:`coverage.network.TRAVEL_COLUMNS`).
    within_min : float
        Minutes by road counted as near a service.
    fca : DataFrame, optional
        :func:`minute_catchment` output; without it the ``fca_*_min`` columns are left out.
    catchment_min : float, optional
        The catchment ``fca`` was computed with (recorded on the result).

    Returns
    -------
    AccessResult
        A copy with :data:`MINUTE_POINT_COLUMNS` on ``points`` (the ``fca_*_min`` ones only with
        ``fca``), :data:`MINUTE_TOWNSHIP_COLUMNS` on ``townships``, ``people_within_min`` and
        ``within_min_rate`` on ``counties``, and ``within_min`` / ``catchment_min`` set.

    Raises
    ------
    InputError
        ``within_min`` is not positive.
    """
    import numpy as np
    import pandas as pd

    from .measure import rate

    if not within_min > 0:
        from .errors import InputError

        raise InputError(f"within_min={within_min!r}: expected minutes > 0")
    t = travel.rename(columns={"villcode": "code", "reason": "travel_reason", "facility_name": "fastest_facility"})
    t = t[["code", "category", "nearest_min", "network_km", "snap_km", "fastest_facility", "travel_reason"]]
    pts = access.points.merge(t, on=["code", "category"], how="left")
    # a village the travel table does not hold (outside the network run) has no minutes either
    reason = pts["travel_reason"].fillna("").astype(object).replace("", "not routed")
    pts["travel_reason"] = np.where(pts["nearest_min"].isna(), reason, "").astype(object)
    pts["within_min"] = (pts["nearest_min"] <= within_min).to_numpy(dtype=bool)
    if fca is not None:
        pts = pts.merge(fca, on=["code", "category"], how="left")
        pts[["fca_2sfca_min", "fca_e2sfca_min"]] = pts[["fca_2sfca_min", "fca_e2sfca_min"]].fillna(0.0)
    keys = ["towncode", "category"]
    w = pts["people"].to_numpy(dtype=float)
    has = pts["nearest_min"].notna().to_numpy()
    frame = pd.DataFrame({
        "towncode": pts["towncode"], "category": pts["category"],
        "_wt": np.where(has, w * pts["nearest_min"].fillna(0).to_numpy(), 0.0), "_w": np.where(has, w, 0.0),
        "_max": pts["nearest_min"].where(pts["people"] > 0), "_any_max": pts["nearest_min"],
        "_plain": pts["nearest_min"], "_within": np.where(pts["within_min"], w, 0.0), "_none": ~has,
    })
    agg = frame.groupby(keys, sort=False).agg(
        _wt=("_wt", "sum"), _w=("_w", "sum"), max_min=("_max", "max"), _any_max=("_any_max", "max"),
        _plain=("_plain", "mean"), people_within_min=("_within", "sum"), villages_without_min=("_none", "sum"))
    weighted = agg["_wt"] / agg["_w"].where(agg["_w"] > 0)
    agg["mean_min"] = weighted.fillna(agg["_plain"])  # a township whose villages are all empty: plain mean
    agg["max_min"] = agg["max_min"].fillna(agg["_any_max"])
    agg["people_within_min"] = agg["people_within_min"].round().astype("int64")
    agg["villages_without_min"] = agg["villages_without_min"].astype("int64")
    town = access.townships.merge(agg[MINUTE_TOWNSHIP_COLUMNS].reset_index(), on=keys, how="left")
    town["people_within_min"] = town["people_within_min"].fillna(0).astype("int64")
    town["villages_without_min"] = town["villages_without_min"].fillna(0).astype("int64")
    county_of = pts.drop_duplicates("towncode").set_index("towncode")["county"]
    within = town.assign(county=town["towncode"].map(county_of)).groupby(
        ["county", "category"], sort=False)["people_within_min"].sum()
    counties = access.counties.copy()
    counties["people_within_min"] = [int(within.get((c, k), 0)) for c, k in
                                     zip(counties["county"], counties["category"], strict=True)]
    counties["within_min_rate"] = [rate(n, placed) if placed else None for n, placed in
                                   zip(counties["people_within_min"], counties["people_placed"], strict=True)]
    return dataclasses.replace(access, points=pts, townships=town, counties=counties, within_min=float(within_min),
                               catchment_min=None if fca is None else catchment_min)


def township_minutes(travel: pd.DataFrame) -> pd.DataFrame:
    """Plain mean and maximum minutes over each township's villages (no population to weight them).

    Parameters
    ----------
    travel : DataFrame
        :func:`coverage.network.village_travel_times`.

    Returns
    -------
    DataFrame ``towncode, category, mean_min, max_min, villages_without_min``: villages without
    minutes are left out of the mean and max and counted.
    """
    agg = travel.assign(_none=travel["nearest_min"].isna()).groupby(["towncode", "category"], sort=False).agg(
        mean_min=("nearest_min", "mean"), max_min=("nearest_min", "max"), villages_without_min=("_none", "sum"))
    agg["villages_without_min"] = agg["villages_without_min"].astype("int64")
    return agg.reset_index()
