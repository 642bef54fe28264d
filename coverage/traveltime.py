"""Minutes by road for the planning steps: siting coverage, what-if shares and nearest services.

Glue between :mod:`coverage.network` (the road graph and its shortest paths) and the planning
functions (:func:`coverage.site_new_points`, the what-if, :func:`coverage.bulk.nearest`'s points):

* :func:`road_network` — a :class:`~coverage.network.RoadNetwork` from a network or a file.
* :func:`cover_by_road` — the sparse origin × destination matrix "within ``limit_min`` minutes by
  road" (siting's coverage matrix, the candidate being the destination).
* :func:`minutes_to_nearest` — minutes, network km and snap km to the fastest facility of a group.
* :func:`whatif_within_minutes` — people within ``within_min`` minutes before → after a change.
* :func:`nearest_minutes` — the minutes twin of :func:`coverage.bulk.nearest`'s distances.

Who may be served by whom follows the straight-line rules: a facility serves the points of its
own county unless ``across_counties``, and of its own land mass unless ``cross_sea`` (a road
graph with no ferry edge could not cross the sea anyway, but a point is snapped to the nearest
road, which for an island without roads in the file may be on another island: the land rule
keeps such a point unreached instead of crossing the sea at the access speed). A point that no
road piece joins to a facility gets no minutes and a reason — never 0, never a straight line.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import InputError
from .network import ACCESS_KMH, MAX_SNAP_KM, RoadNetwork, nearest_by_network, read_network, travel_pairs

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp

    from .population import Population

__all__ = [
    "BY_ROAD",
    "MAX_SNAP_KM",
    "NEAREST_MINUTES_COLUMNS",
    "check_minutes",
    "cover_by_road",
    "minutes_to_nearest",
    "nearest_minutes",
    "network_label",
    "off_network",
    "road_network",
    "whatif_within_minutes",
]

log = logging.getLogger(__name__)

#: How the figures in minutes are labelled in outputs and printouts.
BY_ROAD = "minutes by road"

#: Columns :func:`nearest_minutes` adds beside ``distance_km``.
NEAREST_MINUTES_COLUMNS = ["nearest_min", "network_km", "snap_km", "travel_reason", "road_facility_id",
                           "road_facility_name"]



def off_network(net: RoadNetwork, points: gpd.GeoSeries) -> np.ndarray:
    """Whether each point is farther than :data:`MAX_SNAP_KM` from every road of ``net``.

    Parameters
    ----------
    net : RoadNetwork
    points : GeoSeries
        Points (any CRS).

    Returns
    -------
    ndarray of bool, aligned to ``points``
    """
    import numpy as np

    from .geography import PROJECTED_CRS

    if not len(points):
        return np.zeros(0, dtype=bool)
    geoms = np.asarray(points.to_crs(PROJECTED_CRS).values)
    (at, _), dist = net.tree.query_nearest(geoms, return_distance=True, all_matches=False)
    far = np.ones(len(geoms), dtype=bool)
    far[at] = dist > MAX_SNAP_KM * 1000.0
    return far


def road_network(
    network: RoadNetwork | str | Path,
    *,
    speeds: dict[str, float] | str | Path | None = None,
    road_class_column: str | None = None,
    layer: str | None = None,
) -> RoadNetwork:
    """The road network itself, or read from a file (:func:`coverage.read_network`).

    Parameters
    ----------
    network : RoadNetwork or path
        A network already read, or its file.
    speeds : dict or path, optional
        km/h per road class (only when ``network`` is a file).
    road_class_column : str, optional
        Road-class column of the file.
    layer : str, optional
        The file's layer to read (a file of several line layers; default its only line layer).

    Returns
    -------
    RoadNetwork

    Raises
    ------
    InputError
        ``network`` is neither a network nor a path, or the file cannot be read.
    """
    if isinstance(network, RoadNetwork):
        return network
    if not isinstance(network, (str, Path)):
        raise InputError(f"network= must be a road network or its file, got {type(network).__name__}")
    return read_network(network, speeds=speeds, road_class_column=road_class_column, layer=layer)


def network_label(net: RoadNetwork) -> str:
    """The network's file and content hash, for outputs (the same whether or not the graph came from the cache).

    Parameters
    ----------
    net : RoadNetwork

    Returns
    -------
    str
        E.g. ``Miaoli_Road_Network.shp (sha256 64340ba0f836d530)``.
    """
    return net.source.replace("; graph from the cache", "")


def check_minutes(name: str, value: float | None) -> float:
    """``value`` as a positive number of minutes; the error names the parameter ``name``.

    Parameters
    ----------
    name : str
        The parameter, e.g. ``radius_min``.
    value : float or None

    Returns
    -------
    float

    Raises
    ------
    InputError
        ``value`` is missing, not a number, or not > 0.
    """
    import math

    try:
        minutes = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{name}={value!r}: expected a number of minutes > 0") from None
    if not (minutes > 0 and math.isfinite(minutes)):
        raise InputError(f"{name}={value!r}: expected a number of minutes > 0")
    return minutes


def cover_by_road(
    net: RoadNetwork,
    origins: gpd.GeoSeries,
    destinations: gpd.GeoSeries,
    *,
    limit_min: float,
    origin_groups: np.ndarray | None = None,
    destination_groups: np.ndarray | None = None,
    access_kmh: float = ACCESS_KMH,
) -> sp.csr_matrix:
    """Boolean sparse matrix: origin i reaches destination j within ``limit_min`` minutes by road.

    The road twin of :func:`coverage.siting.coverage_matrix`, from :func:`coverage.network.travel_pairs`:
    travel is from the origin (a village) to the destination (a candidate site), off-network legs at
    ``access_kmh``. Points farther than :data:`MAX_SNAP_KM` from every road cover and are covered
    by nothing.

    Parameters
    ----------
    net : RoadNetwork
    origins, destinations : GeoSeries
        Points (any CRS).
    limit_min : float
        Minutes within which a destination covers an origin (inclusive).
    origin_groups, destination_groups : array, optional
        A group label per point (land mass, county): an origin is covered only by destinations of
        its own group. Default: one group.
    access_kmh : float
        Speed of the straight legs between a point and the road.

    Returns
    -------
    scipy.sparse.csr_matrix (n_origins × n_destinations), bool

    Raises
    ------
    InputError
        ``limit_min`` is not a positive number of minutes.
    """
    import numpy as np
    import scipy.sparse as sp

    limit = check_minutes("limit_min", limit_min)
    shape = (len(origins), len(destinations))
    o_on = np.flatnonzero(~off_network(net, origins))
    d_on = np.flatnonzero(~off_network(net, destinations))
    if not len(o_on) or not len(d_on):
        return sp.csr_matrix(shape, dtype=bool)
    pairs = travel_pairs(net, origins.iloc[o_on].reset_index(drop=True),
                         destinations.iloc[d_on].reset_index(drop=True), limit_min=limit, access_kmh=access_kmh,
                         origin_groups=None if origin_groups is None else np.asarray(origin_groups, dtype=object)[o_on],
                         destination_groups=(None if destination_groups is None
                                             else np.asarray(destination_groups, dtype=object)[d_on]))
    rows = o_on[pairs["origin"].to_numpy(dtype=np.int64)]
    cols = d_on[pairs["destination"].to_numpy(dtype=np.int64)]
    keep = pairs["minutes"].to_numpy(dtype=float) <= limit
    return sp.csr_matrix((np.ones(int(keep.sum()), dtype=bool), (rows[keep], cols[keep])), shape=shape)


def minutes_to_nearest(
    net: RoadNetwork,
    origins: gpd.GeoSeries,
    facilities: gpd.GeoSeries,
    *,
    origin_groups: np.ndarray | None = None,
    facility_groups: np.ndarray | None = None,
    access_kmh: float = ACCESS_KMH,
) -> pd.DataFrame:
    """Minutes by road from each origin to the fastest facility of its group.

    :func:`coverage.network.nearest_by_network`, with a reason naming why an origin has no minutes.

    Parameters
    ----------
    net : RoadNetwork
    origins, facilities : GeoSeries
        Points (any CRS).
    origin_groups, facility_groups : array, optional
        Group labels: an origin is routed only to the facilities of its own group.
    access_kmh : float
        Speed of the straight legs between a point and the road.

    Returns
    -------
    DataFrame aligned to ``origins``: ``minutes``, ``network_km``, ``snap_km``, ``facility``
    (position, −1 when none) and ``reason`` (empty where there are minutes). An origin farther
    than :data:`MAX_SNAP_KM` from every road has no minutes (reason: off the road network), and a
    facility that far serves no one.
    """
    import numpy as np

    og = None if origin_groups is None else np.asarray(origin_groups, dtype=object)
    fg = None if facility_groups is None else np.asarray(facility_groups, dtype=object)
    # nearest_by_network applies the off-network rule itself (origins and facilities beyond MAX_SNAP_KM)
    return nearest_by_network(net, origins, facilities, access_kmh=access_kmh, origin_groups=og, facility_groups=fg)


def _group_labels(frame: pd.DataFrame, *, cross_sea: bool, across_counties: bool) -> np.ndarray:
    """Who may serve whom: the county (unless ``across_counties``) and land mass (unless ``cross_sea``)."""
    import numpy as np

    n = len(frame)
    county = (np.full(n, "", dtype=object) if across_counties
              else frame["county"].astype(object).where(frame["county"].notna(), None).to_numpy(dtype=object))
    land = np.zeros(n, dtype=np.int64) if cross_sea else frame["land"].to_numpy(dtype=np.int64)
    return np.array([None if c is None else f"{c}|{g}" for c, g in zip(county, land, strict=True)], dtype=object)


def _points(frame: pd.DataFrame) -> gpd.GeoSeries:
    """``x, y`` (TWD97 TM2 metres) as a GeoSeries."""
    import geopandas as gpd

    from .geography import PROJECTED_CRS

    return gpd.GeoSeries(gpd.points_from_xy(frame["x"].to_numpy(dtype=float), frame["y"].to_numpy(dtype=float)),
                         crs=PROJECTED_CRS)


def whatif_within_minutes(
    before: gpd.GeoDataFrame,
    after: gpd.GeoDataFrame,
    townships: gpd.GeoDataFrame,
    population: Population,
    *,
    network: RoadNetwork | str | Path,
    within_min: float = 30.0,
    group: str = "total",
    as_of: object = None,
    counties: list[str] | None = None,
    categories: list[str] | None = None,
    cross_sea: bool = False,
    across_counties: bool = False,
    access_kmh: float = ACCESS_KMH,
) -> pd.DataFrame:
    """People within ``within_min`` minutes by road of a point, before → after a what-if change.

    The minutes twin of :func:`coverage.access.whatif_within`: people stand at the same points
    (:func:`coverage.access.population_points`), a county's own points serve them unless
    ``across_counties``, and a point on another land mass never does unless ``cross_sea``.
    People whose village has no road connection to a point are placed but never within.

    Parameters
    ----------
    before, after : GeoDataFrame
        Facilities before and after the change (e.g. :func:`coverage.plan.apply_scenario`).
    townships : GeoDataFrame
        The township boundaries used.
    population : Population
        From :func:`coverage.read_population`.
    network : RoadNetwork or path
        The road network (:func:`coverage.read_network`).
    within_min : float
        Minutes by road counted as near a service.
    group : str
        Age group (:data:`coverage.population.AGE_GROUPS`).
    as_of : date-like, optional
        Count the facilities open on this date (default today).
    counties, categories : list of str, optional
        Official county names and category keys to report (default: all).
    cross_sea, across_counties : bool
        As :func:`coverage.access.population_access`.
    access_kmh : float
        Speed of the straight legs between a point and the road.

    Returns
    -------
    DataFrame ``county, category, people_placed, people_within_min_before, people_within_min_after,
    within_min_rate_before, within_min_rate_after, people_off_network``: one row per county ×
    category whose figure changed; ``people_off_network`` are the placed people farther than
    :data:`MAX_SNAP_KM` from every road (never within).

    Raises
    ------
    InputError
        ``within_min`` is not a positive number, ``group`` is not in ``population``, or every
        population point is off the network.
    """
    import pandas as pd

    from .access import facility_points, land_masses, population_points
    from .population import require_group

    limit = check_minutes("within_min", within_min)
    require_group(population, group)
    net = road_network(network)
    lands = land_masses(townships)
    pts = population_points(population, townships, lands)
    if counties:
        pts = pts[pts["county"].isin(counties)].reset_index(drop=True)
    people = pts[group].fillna(0).round().to_numpy(dtype=float)
    cats = list(categories) if categories else sorted(
        set(before["category"].dropna()) | set(after["category"].dropna()))
    origins = _points(pts)
    p_groups = _group_labels(pts, cross_sea=cross_sea, across_counties=across_counties)
    off = off_network(net, origins)
    if len(pts) and off.all():
        raise InputError(f"network= covers none of the people: every population point is more than {MAX_SNAP_KM:g} "
                         "km from its roads (a network of another region?)")
    columns = ["county", "category", "people_placed", "people_within_min_before", "people_within_min_after",
               "within_min_rate_before", "within_min_rate_after", "people_off_network"]
    rows = []
    for cat in cats:
        within = {}
        for when, fac in (("before", before), ("after", after)):
            fp = facility_points(fac, lands, as_of=as_of, categories=[cat], townships=townships)
            res = minutes_to_nearest(net, origins, _points(fp), origin_groups=p_groups,
                                     facility_groups=_group_labels(fp, cross_sea=cross_sea,
                                                                   across_counties=across_counties),
                                     access_kmh=access_kmh)
            within[when] = res["minutes"].to_numpy(dtype=float) <= limit
        for county, idx in pts.groupby("county", sort=True).indices.items():
            placed = float(people[idx].sum())
            b, a = float(people[idx][within["before"][idx]].sum()), float(people[idx][within["after"][idx]].sum())
            if b == a:
                continue
            rows.append({"county": county, "category": cat, "people_placed": int(placed),
                         "people_within_min_before": int(b), "people_within_min_after": int(a),
                         "within_min_rate_before": round(100 * b / placed, 1) if placed else None,
                         "within_min_rate_after": round(100 * a / placed, 1) if placed else None,
                         "people_off_network": int(people[idx][off[idx]].sum())})
    log.info("what-if within %g %s: %d points × %d categories", limit, BY_ROAD, len(pts), len(cats))
    ints = [*columns[2:5], "people_off_network"]
    return pd.DataFrame(rows, columns=columns).astype(dict.fromkeys(ints, "int64")) if rows else (
        pd.DataFrame({c: pd.Series(dtype="int64" if c in ints else object) for c in columns}))


def nearest_minutes(
    result: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    townships: gpd.GeoDataFrame,
    *,
    network: RoadNetwork | str | Path,
    as_of: object = None,
    cross_sea: bool = False,
    across_counties: bool = False,
    access_kmh: float = ACCESS_KMH,
) -> gpd.GeoDataFrame:
    """:func:`coverage.bulk.nearest`'s result with minutes by road beside ``distance_km``.

    Adds :data:`NEAREST_MINUTES_COLUMNS` after ``distance_km``: ``nearest_min`` (minutes by road to
    the fastest open point of the row's programme), ``network_km`` (road km plus the off-network
    legs), ``snap_km`` (the point's straight leg to its nearest road) and ``travel_reason`` (why
    there are no minutes: not located, off the road network, no open point the point may use, or no
    road connection to one; empty where there are minutes), ``road_facility_id`` and
    ``road_facility_name`` (the fastest point by road: not always the nearest in a straight line).
    The same points serve as for the distance: the point's own county unless ``across_counties``,
    its own land mass unless ``cross_sea``.

    Parameters
    ----------
    result : GeoDataFrame
        :func:`coverage.bulk.nearest`'s output (``status``, ``towncode``, ``category``, geometry).
    facilities : GeoDataFrame
        The registry's facilities given to :func:`coverage.bulk.nearest`.
    townships : GeoDataFrame
        Where the points were located.
    network : RoadNetwork or path
        The road network (:func:`coverage.read_network`).
    as_of : date-like, optional
        Facilities open on this date count (default today).
    cross_sea, across_counties : bool
        As in :func:`coverage.bulk.nearest`.
    access_kmh : float
        Speed of the straight legs between a point and the road.

    Returns
    -------
    GeoDataFrame
        ``result`` with :data:`NEAREST_MINUTES_COLUMNS` added (the rows and their order unchanged).

    Raises
    ------
    InputError
        ``result`` lacks the columns of :func:`coverage.bulk.nearest`.
    """
    import numpy as np
    import pandas as pd

    from .access import facility_points, land_masses, land_of
    from .geography import PROJECTED_CRS

    missing = [c for c in ("status", "towncode", "category", "distance_km") if c not in result]
    if missing:
        raise InputError(f"result= lacks {', '.join(missing)}: expected coverage.bulk.nearest's output")
    net = road_network(network)
    lands = land_masses(townships)
    n = len(result)
    minutes, net_km, snap_km = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    fac_id, fac_name = np.full(n, None, dtype=object), np.full(n, None, dtype=object)
    status = result["status"].to_numpy(dtype=object)
    reason = np.array([f"not located ({s})" for s in status], dtype=object)
    located = status == "located"
    county_of = townships.set_index("towncode")["county"]
    if located.any():
        geom = result.geometry[located].to_crs(PROJECTED_CRS)
        frame = pd.DataFrame({"x": geom.x.to_numpy(), "y": geom.y.to_numpy(),
                              "county": result["towncode"][located].map(county_of).to_numpy(dtype=object),
                              "land": land_of(np.asarray(geom.values), lands)})
        rows = np.flatnonzero(located)
        cats = result["category"].to_numpy(dtype=object)[located]
        for cat in dict.fromkeys(cats):
            mine = cats == cat
            part = frame[mine].reset_index(drop=True)
            fp = facility_points(facilities, lands, as_of=as_of, categories=[cat], townships=townships)
            p_groups = _group_labels(part, cross_sea=cross_sea, across_counties=across_counties)
            f_groups = _group_labels(fp, cross_sea=cross_sea, across_counties=across_counties)
            res = minutes_to_nearest(net, _points(part), _points(fp), origin_groups=p_groups,
                                     facility_groups=f_groups, access_kmh=access_kmh)
            at = rows[mine]
            minutes[at] = res["minutes"].round(2).to_numpy(dtype=float)
            net_km[at] = res["network_km"].round(3).to_numpy(dtype=float)
            snap_km[at] = res["snap_km"].round(3).to_numpy(dtype=float)
            has_point = np.isin(p_groups, f_groups)
            given = res["reason"].to_numpy(dtype=object)
            why = np.where(np.isfinite(res["minutes"].to_numpy(dtype=float)), "",
                           np.where(~has_point, _no_point_reason(across_counties, cross_sea), given))
            reason[at] = why
            pos = res["facility"].to_numpy()
            got = pos >= 0
            fac_id[at[got]] = fp["facility_id"].to_numpy(dtype=object)[pos[got]]
            fac_name[at[got]] = fp["name"].to_numpy(dtype=object)[pos[got]]
    out = result.copy()
    at = list(out.columns).index("distance_km") + 1
    values = (minutes, net_km, snap_km, reason, fac_id, fac_name)
    for k, (name, column) in enumerate(zip(NEAREST_MINUTES_COLUMNS, values, strict=True)):
        out.insert(at + k, name, pd.Series(column, index=out.index, dtype=float if k < 3 else object))
    return out


def _no_point_reason(across_counties: bool, cross_sea: bool) -> str:
    where = [] if across_counties else ["of the point's own county"]
    if not cross_sea:
        where.append("on its island")
    return "no open point of this programme" + (" " + " ".join(where) if where else "")
