"""Distances to services, population-weighted coverage and the two-step floating catchment family.

A pure numeric core works on coordinate arrays and sparse pair lists (:func:`catchment_pairs`,
:func:`two_step_fca`, :func:`floating_catchment`); a thin geo adapter feeds it villages,
facilities and population (:func:`population_access`).

Conventions
-----------
* Distances are straight lines in TWD97 TM2 (EPSG:3826), metres in the core, km in tables.
* People stand at **village representative points** (a point inside each village polygon). Finer,
  population-weighted points would need population below village level, which MOI does not
  publish; a township-level population file puts everyone at the township representative point.
* Islands: the land masses are the parts of the union of the township polygons. A facility on
  another land mass does not serve across the sea (``cross_sea=False``): villages whose only, or
  nearer, facility is across the sea are reported separately (``across_sea_km``).
* Counties: a county-run programme serves its own residents, so by default people are measured
  only to the points of their own county (nearest distance, share within D km, 2SFCA); a county
  with no point of a programme then has no distance for it. ``across_counties=True`` lets every
  county's points serve everyone (both directions of the 2SFCA).
* 2SFCA (Luo & Wang 2003): ``R_j = S_j / Σ_k P_k`` over villages ``k`` within the catchment of
  facility ``j``; ``A_i = Σ_j R_j`` over facilities within the catchment of village ``i``.
  E2SFCA (Luo & Qi 2009) weights both sums by a distance decay ``w(d)``; here the Gaussian of
  Dai (2010), ``w(d) = (exp(-½(d/d0)²) − exp(-½)) / (1 − exp(-½))`` for ``d ≤ d0``, else 0.
  Catchments include their edge (``d ≤ d0``), as in PySAL ``access``; results are reported as
  facilities (capacity-weighted, default capacity 1) per 10,000 people of the age group.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from .population import Population

__all__ = [
    "AccessResult",
    "catchment_pairs",
    "dai_gaussian_weight",
    "facility_points",
    "floating_catchment",
    "gaussian_weight",
    "land_masses",
    "land_of",
    "nearest_by_category",
    "nearest_facility",
    "population_access",
    "population_points",
    "stack_groups",
    "two_step_fca",
    "whatif_within",
]

log = logging.getLogger(__name__)

PROJECTED_CRS = "EPSG:3826"
PER_PEOPLE = 10_000
# Land masses are stacked this far apart on a third axis, so a k-d tree never pairs them.
_ISLAND_GAP_M = 1e8


# ----------------------------------------------------------------------------- numeric core


def catchment_pairs(origins, destinations, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (origin, destination) pair at most ``radius`` apart, with its distance.

    Parameters
    ----------
    origins, destinations : array (n, k)
        Coordinates (any number of axes, same units as ``radius``).
    radius : float

    Returns
    -------
    (i, j, d) : int32, int32 and float64 arrays; pairs exactly ``radius`` apart and zero
    distances are kept.
    """
    import numpy as np
    from scipy.spatial import cKDTree

    o = np.asarray(origins, dtype=float)
    d = np.asarray(destinations, dtype=float)
    if not len(o) or not len(d):
        return np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0, float)
    # d <= radius, inclusive (as PySAL access's max_cost). Contiguous int32 copies make the sparse
    # products below 4× faster than on the record array's strided fields.
    found = cKDTree(o).sparse_distance_matrix(cKDTree(d), radius, output_type="ndarray")
    return found["i"].astype(np.int32), found["j"].astype(np.int32), np.ascontiguousarray(found["v"])


def dai_gaussian_weight(catchment: float) -> Callable[[np.ndarray], np.ndarray]:
    """Gaussian distance decay of Dai (2010): 1 at distance 0, 0 at the catchment ``d0`` and beyond.

    Parameters
    ----------
    catchment : float
        The catchment ``d0`` (same units as the distances the weight is applied to).

    Returns
    -------
    callable
        Vectorised weight of an array of distances.

    Examples
    --------
    >>> w = dai_gaussian_weight(20.0)
    >>> [round(float(x), 6) for x in w([0.0, 10.0, 20.0, 30.0])]
    [1.0, 0.701367, 0.0, 0.0]
    """
    import numpy as np

    floor = np.exp(-0.5)

    def weight(distance):
        d = np.asarray(distance, dtype=float)
        w = (np.exp(-0.5 * (d / catchment) ** 2) - floor) / (1.0 - floor)
        return np.where(d <= catchment, w, 0.0)

    return weight


def gaussian_weight(sigma: float) -> Callable[[np.ndarray], np.ndarray]:
    """Unnormalised Gaussian ``exp(-d² / 2σ²)``, as PySAL ``access.weights.gaussian(sigma)``.

    Parameters
    ----------
    sigma : float
        The Gaussian's standard deviation (same units as the distances).

    Returns
    -------
    callable
        Vectorised weight of an array of distances.

    Raises
    ------
    ValueError
        ``sigma`` is 0.
    """
    import numpy as np

    if sigma == 0:
        raise ValueError("sigma must be non-zero")
    return lambda distance: np.exp(-np.square(np.asarray(distance, dtype=float)) / (2 * sigma**2))


def two_step_fca(origin, destination, weight, demand, supply) -> np.ndarray:
    """Two-step floating catchment ratio from a sparse list of weighted pairs.

    Parameters
    ----------
    origin, destination : int arrays
        Pair indices into ``demand`` (villages) and ``supply`` (facilities).
    weight : float array or scalar
        Distance-decay weight of each pair (1 for plain 2SFCA).
    demand, supply : float arrays
        People at each origin; capacity of each destination.

    Returns
    -------
    Supply per person at each origin (0 where no facility is in reach). A facility with no
    demand in its catchment serves nobody (its ratio is 0, not infinite).

    >>> import numpy as np
    >>> # two villages (100, 300 people) both reach facility 0; village 1 also reaches facility 1
    >>> two_step_fca([0, 1, 1], [0, 0, 1], 1.0, np.array([100.0, 300.0]), np.array([1.0, 1.0]))
    array([0.0025    , 0.00583333])
    """
    import numpy as np
    from scipy import sparse

    demand = np.asarray(demand, dtype=float)
    supply = np.asarray(supply, dtype=float)
    origin = np.asarray(origin)
    w = np.broadcast_to(np.asarray(weight, dtype=float), origin.shape)
    pairs = sparse.coo_array((w, (origin, np.asarray(destination))), shape=(len(demand), len(supply)))
    reached = pairs.T @ demand
    ratio = np.divide(supply, reached, out=np.zeros(len(supply)), where=reached > 0)
    return pairs @ ratio


def floating_catchment(
    origins, destinations, demand, supply, catchment: float, *, method: str = "2sfca", weight=None
) -> np.ndarray:
    """2SFCA or E2SFCA from coordinates: supply per person at each origin.

    Parameters
    ----------
    origins, destinations : array (n, 2) or (n, 3)
        Projected coordinates (metres); a third axis may separate land masses.
    demand, supply : arrays
    catchment : float
        Catchment radius, same units as the coordinates.
    method : {"2sfca", "e2sfca"}
        ``e2sfca`` uses :func:`dai_gaussian_weight` unless ``weight`` is given.
    weight : callable, optional
        Vectorised distance-decay function (overrides ``method``'s).

    Returns
    -------
    ndarray
        Supply per person at each origin (0 where no destination is in reach).

    Raises
    ------
    ValueError
        ``method`` is neither ``2sfca`` nor ``e2sfca``.
    """
    import numpy as np

    if method not in ("2sfca", "e2sfca"):
        raise ValueError(f"method must be '2sfca' or 'e2sfca', got {method!r}")
    i, j, d = catchment_pairs(origins, destinations, catchment)
    if weight is None and method == "e2sfca":
        weight = dai_gaussian_weight(catchment)
    w = np.ones(len(d)) if weight is None else weight(d)
    return two_step_fca(i, j, w, demand, supply)


# ----------------------------------------------------------------------------- geo adapter


def land_masses(townships: gpd.GeoDataFrame) -> np.ndarray:
    """Polygons (EPSG:3826) of the separate land masses: the parts of the union of the townships.

    Parameters
    ----------
    townships : GeoDataFrame
        Township polygons (any CRS).

    Returns
    -------
    ndarray of shapely Polygon
        One polygon per land mass, in EPSG:3826.
    """
    import numpy as np
    import shapely

    polys = np.asarray(townships.geometry.to_crs(PROJECTED_CRS).values)
    union = shapely.coverage_union_all(polys)
    if not shapely.is_valid(union):  # not a clean coverage (e.g. user boundaries with overlaps)
        union = shapely.union_all(shapely.set_precision(polys, 0.01))
    return shapely.get_parts(union)


def land_of(points: np.ndarray, lands: np.ndarray) -> np.ndarray:
    """Index of the land mass each point (shapely points, EPSG:3826) lies on (the nearest one for
    points in the sea).

    Parameters
    ----------
    points : ndarray of shapely Point
        Points in EPSG:3826.
    lands : ndarray of shapely Polygon
        From :func:`land_masses`.

    Returns
    -------
    ndarray of int
        Index into ``lands`` for each point.
    """
    import numpy as np
    import shapely

    tree = shapely.STRtree(lands)
    out = np.full(len(points), -1, dtype=np.int64)
    ipt, iland = tree.query(points, predicate="intersects")
    out[ipt] = iland
    todo = np.flatnonzero(out < 0)
    if len(todo):
        ipt, iland = tree.query_nearest(points[todo], all_matches=False)
        out[todo[ipt]] = iland
    return out


def population_points(population: Population, townships: gpd.GeoDataFrame, lands: np.ndarray,
                      villages: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
    """Where the people of ``population`` stand: village (or township) representative points.

    Returns a DataFrame ``code, villcode, towncode, county, township, village, x, y, land`` and
    the population's age-group columns.

    Parameters
    ----------
    population : Population
        From :func:`coverage.population.read_population`.
    townships : GeoDataFrame
        Township boundaries (for township-level files and unmatched villages).
    lands : ndarray
        Land-mass polygons (:func:`land_masses`).
    villages : GeoDataFrame, optional
        Village boundaries (default: the bundled villages).

    Returns
    -------
    DataFrame
        One row per village (or township) with the columns above.
    """
    import numpy as np
    import pandas as pd
    import shapely

    from .geography import load_villages

    if population.level == "village":
        table = population.villages
        geo = load_villages() if villages is None else villages
        geo = geo.set_index("villcode").loc[table["villcode"]]
        code = table["villcode"].to_numpy()
    else:
        table = population.townships
        geo = townships.set_index("towncode").loc[table["towncode"]]
        code = table["towncode"].to_numpy()
    pts = geo.geometry.to_crs(PROJECTED_CRS).representative_point().to_numpy()
    out = pd.DataFrame({
        "code": code,
        "villcode": table["villcode"].to_numpy() if "villcode" in table else None,
        "towncode": table["towncode"].to_numpy(),
        "county": table["county"].to_numpy(),
        "township": table["township"].to_numpy(),
        "village": table["village"].to_numpy() if "village" in table else "",
        "x": shapely.get_x(pts),
        "y": shapely.get_y(pts),
        "land": land_of(np.asarray(pts), lands),
    })
    for g in population.groups:
        out[g] = table[g].to_numpy(dtype=float)
    return out


def facility_points(facilities: gpd.GeoDataFrame, lands: np.ndarray, *, as_of=None,
                    categories: list[str] | None = None,
                    townships: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
    """Open facilities on ``as_of`` as ``facility_id, category, name, towncode, county, x, y, land, capacity``.

    ``capacity`` comes from a ``capacity`` column when the registry has one (blank or invalid → 1).
    ``county`` is the county of the facility's township in ``townships`` when given, else the
    registry's ``county`` column (None when neither is known).

    Parameters
    ----------
    facilities : GeoDataFrame
        Accepted registry rows.
    lands : ndarray
        Land-mass polygons (:func:`land_masses`).
    as_of : date-like, optional
        Keep the facilities open on this date (default today).
    categories : list of str, optional
        Keep only these categories (default: all).
    townships : GeoDataFrame, optional
        Township table that gives each facility its county.

    Returns
    -------
    DataFrame
        One row per open facility, with the columns above (``x, y`` in EPSG:3826 metres).
    """
    import numpy as np
    import pandas as pd
    import shapely

    from .measure import facility_state

    fac = facilities[facility_state(facilities, as_of) == "open"]
    if categories:
        fac = fac[fac["category"].isin(categories)]
    fac = fac[~fac.geometry.is_empty & fac.geometry.notna()]
    pts = np.asarray(fac.geometry.to_crs(PROJECTED_CRS).values)
    cap = (pd.to_numeric(fac["capacity"], errors="coerce") if "capacity" in fac else pd.Series(np.nan, fac.index))
    cap = cap.where(cap > 0, 1.0).fillna(1.0).to_numpy(dtype=float)
    county = pd.Series(fac["county"].to_numpy(dtype=object) if "county" in fac else None, index=fac.index,
                       dtype=object)
    if townships is not None and "towncode" in fac:
        county = fac["towncode"].map(townships.set_index("towncode")["county"]).astype(object).fillna(county)
    return pd.DataFrame({
        "facility_id": fac["facility_id"].to_numpy() if "facility_id" in fac else np.arange(len(fac)),
        "category": fac["category"].to_numpy(),
        "name": fac["name"].astype(str).to_numpy() if "name" in fac else "",
        "towncode": fac["towncode"].to_numpy() if "towncode" in fac else None,
        "county": county.to_numpy(dtype=object),
        "x": shapely.get_x(pts),
        "y": shapely.get_y(pts),
        "land": land_of(pts, lands) if len(pts) else np.empty(0, np.int64),
        "capacity": cap,
    })


def _groups(points: pd.DataFrame, facilities: pd.DataFrame, cross_sea: bool, across_counties: bool
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Who may be served by whom: (reach group of each point, of each facility, county group of each
    point, of each facility). A facility serves a point only in the same reach group; its county
    group bounds the across-sea search. Points without a county share no group with any facility."""
    import numpy as np
    import pandas as pd

    def land(frame):
        return frame["land"].to_numpy(dtype=np.int64) if "land" in frame else np.zeros(len(frame), np.int64)

    if across_counties:
        pc, fc, n = np.zeros(len(points), np.int64), np.zeros(len(facilities), np.int64), 1
    else:
        for name, frame in (("points", points), ("facilities", facilities)):
            if "county" not in frame:
                raise ValueError(f"{name}= needs a 'county' column to keep each county's points to its own "
                                 "residents, or pass across_counties=True")
        names = pd.concat([points["county"], facilities["county"]], ignore_index=True).astype(object)
        codes, uniques = pd.factorize(names.where(names.notna() & (names.astype(str) != ""), None))
        n = len(uniques)
        pc, fc = codes[: len(points)].astype(np.int64), codes[len(points):].astype(np.int64)
        pc = np.where(pc < 0, n, pc)  # a point with no county: a group no facility has
        fc = np.where(fc < 0, n + 1, fc)
        n += 2
    if cross_sea:
        return pc, fc, pc, fc
    return land(points) * n + pc, land(facilities) * n + fc, pc, fc


def _by_category(facilities: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
    """(category, positions of its facilities), categories sorted."""
    import numpy as np

    cats = facilities["category"].to_numpy(dtype=object)
    return [(c, np.flatnonzero(cats == c)) for c in sorted(set(facilities["category"].dropna()))]


def stack_groups(x, y, group) -> np.ndarray:
    """(n, 3) coordinates: ``x, y`` (metres) and a third axis that stacks the groups (land masses,
    counties) so far apart that no catchment or k-d tree query pairs two groups.

    Parameters
    ----------
    x, y : array-like
        Projected coordinates (metres).
    group : array-like of int
        Group of each point (land mass or county index).

    Returns
    -------
    ndarray
        Shape (n, 3).
    """
    import numpy as np

    z = np.asarray(group, dtype=float) * _ISLAND_GAP_M
    return np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float), z])


def _xyz(frame: pd.DataFrame, group: np.ndarray) -> np.ndarray:
    return stack_groups(frame["x"].to_numpy(dtype=float), frame["y"].to_numpy(dtype=float), group)


def _county_groups(points: pd.DataFrame, facilities: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    """County group of each point and facility, numbered as :func:`_groups` numbers them (first appearance
    over the points, then the facilities; blank and missing apart), without joining the two columns:
    the points' column (10^6 values, perhaps a Categorical) is factorised once, the few distinct names
    are matched by value."""
    import numpy as np
    import pandas as pd

    for name, frame in (("points", points), ("facilities", facilities)):
        if "county" not in frame:
            raise ValueError(f"{name}= needs a 'county' column to keep each county's points to its own "
                             "residents, or pass across_counties=True")
    codes: list[np.ndarray] = []
    names: dict[object, int] = {}
    for frame in (points, facilities):
        local, uniques = pd.factorize(frame["county"])
        number = np.empty(len(uniques) + 1, dtype=np.int64)
        number[-1] = -1  # missing (code −1)
        for i, value in enumerate(uniques.tolist()):
            blank = value is None or (isinstance(value, float) and np.isnan(value)) or str(value) == ""
            number[i] = -1 if blank else names.setdefault(value, len(names))
        codes.append(number[local])
    n = len(names)
    pc = np.where(codes[0] < 0, n, codes[0])  # a point with no county: a group no facility has
    fc = np.where(codes[1] < 0, n + 1, codes[1])
    return pc, fc, n + 2


def _nearest_groups(points: pd.DataFrame, facilities: pd.DataFrame, cross_sea: bool, across_counties: bool
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_groups`, the same numbers, for many points (:func:`_county_groups`)."""
    import numpy as np

    def land(frame):
        return frame["land"].to_numpy(dtype=np.int64) if "land" in frame else np.zeros(len(frame), np.int64)

    if across_counties:
        pc, fc, n = np.zeros(len(points), np.int64), np.zeros(len(facilities), np.int64), 1
    else:
        pc, fc, n = _county_groups(points, facilities)
    if cross_sea:
        return pc, fc, pc, fc
    return land(points) * n + pc, land(facilities) * n + fc, pc, fc


def nearest_by_category(points: pd.DataFrame, facilities: pd.DataFrame, *, cross_sea: bool = False,
                        across_counties: bool = False) -> list[tuple[str, dict[str, np.ndarray]]]:
    """The numeric core of :func:`nearest_facility`: arrays per category, no table.

    One k-d tree query per category (workers=-1) over the points whose group (land mass, county) has
    a facility of the category; a second, over the county's facilities on every land mass (for
    ``across_sea_m``), only for the points of a county whose facilities of the category are not all
    on the point's own land mass (elsewhere its answer is the first one's).

    Parameters
    ----------
    points, facilities : DataFrame
        As for :func:`nearest_facility`; the points' ``county`` may be a Categorical.
    cross_sea, across_counties : bool
        As for :func:`nearest_facility`.

    Returns
    -------
    list of (category, arrays)
        Categories sorted; per category, aligned to ``points``: ``distance_m`` (NaN when no
        facility may serve the point), ``facility`` (position in ``facilities``, −1 for none) and
        ``across_sea_m`` (as ``across_sea_km`` of :func:`nearest_facility`, in metres).
    """
    import numpy as np
    from scipy.spatial import cKDTree

    out = []
    reach_p, reach_f, county_p, county_f = _nearest_groups(points, facilities, cross_sea, across_counties)
    size = int(max(reach_p.max(initial=0), reach_f.max(initial=0), county_p.max(initial=0),
                   county_f.max(initial=0))) + 1
    bound = _ISLAND_GAP_M / 2  # prunes the other groups: a distance past it is inf, and counts as none either way
    n = len(points)
    # only the points of a county with a facility (a reach group is within a county) can get a distance or
    # one across the sea; the others keep none, as the trees would say, and are not looked at again
    ask = np.flatnonzero(np.bincount(county_f, minlength=size)[county_p] > 0)
    if len(ask) == n:
        ask = np.arange(n)
        pts = _xyz(points, reach_p)
    else:
        pts = stack_groups(points["x"].to_numpy(dtype=float)[ask], points["y"].to_numpy(dtype=float)[ask],
                           reach_p[ask])
    reach_a, county_a = reach_p[ask], county_p[ask]
    fxyz, fflat = _xyz(facilities, reach_f), _xyz(facilities, county_f)
    for category, at in _by_category(facilities):
        in_reach = np.bincount(reach_f[at], minlength=size)
        distance, facility = np.full(n, np.nan), np.full(n, -1, dtype=np.int64)
        across = np.full(n, np.nan)
        # asked only of the points whose group has a facility of the category (elsewhere: none, as the tree says);
        # each point's answer is its own, so asking fewer points changes no answer
        served = np.flatnonzero(in_reach[reach_a] > 0)
        if len(served):
            # of facilities at one point (same group), the first listed is the answer: the tree holds it alone
            first = at[np.sort(np.unique(fxyz[at], axis=0, return_index=True)[1])]
            dist, idx = cKDTree(fxyz[first]).query(pts if len(served) == len(pts) else pts[served], k=1,
                                                   workers=-1, distance_upper_bound=bound)
            hit = dist < bound
            distance[ask[served[hit]]] = dist[hit]
            facility[ask[served[hit]]] = first[idx[hit]]
        # the county's facilities on any land mass: the same answer as the first query where they are all on the
        # point's own land mass (same group, same tree points), so no distance across the sea; asked only of the
        # points of a county with facilities of the category on another land mass
        other = (np.flatnonzero(np.bincount(county_f[at], minlength=size)[county_a] > in_reach[reach_a])
                 if not cross_sea else np.empty(0, dtype=np.intp))
        if len(other):
            flat = stack_groups(pts[other, 0], pts[other, 1], county_a[other])
            sub, _ = cKDTree(fflat[at]).query(flat, k=1, workers=-1, distance_upper_bound=bound)
            d_any = np.where(sub < bound, sub, np.inf)
            d_own = distance[ask[other]]
            d_reach = np.where(np.isnan(d_own), np.inf, d_own)
            across[ask[other]] = np.where(d_any < d_reach - 1e-6, d_any, np.nan)
        out.append((category, {"distance_m": distance, "facility": facility, "across_sea_m": across}))
    return out


def nearest_facility(points: pd.DataFrame, facilities: pd.DataFrame, *, cross_sea: bool = False,
                     across_counties: bool = False) -> pd.DataFrame:
    """Nearest facility of each category for every point (k-d tree, one query per category).

    Parameters
    ----------
    points, facilities : DataFrame
        ``x, y`` (metres), ``land`` (land mass) and, unless ``across_counties``, ``county``;
        points also ``code``, facilities ``category, facility_id, name, towncode``.
    cross_sea : bool
        Let a facility serve points on another land mass.
    across_counties : bool
        Let a facility serve points of another county (default: each county's own points only;
        a point with no county then has no distance).

    Returns
    -------
    One row per point × category: ``code, category, distance_km`` (NaN when no facility may serve
    the point), ``facility_id, facility_name, facility_towncode`` and ``across_sea_km`` (distance
    to the nearest facility of the point's own county — any county with ``across_counties`` — on
    another land mass, where that one is nearer or the only one; NaN otherwise). Of facilities at
    one point, the first listed is given.
    """
    import numpy as np
    import pandas as pd

    frames = []
    for category, near in nearest_by_category(points, facilities, cross_sea=cross_sea,
                                              across_counties=across_counties):
        idx, reach = near["facility"], near["facility"] >= 0
        frames.append(pd.DataFrame({
            "code": points["code"].to_numpy(),
            "category": category,
            "distance_km": near["distance_m"] / 1000,
            "facility_id": np.where(reach, facilities["facility_id"].to_numpy()[idx], None),
            "facility_name": np.where(reach, facilities["name"].to_numpy()[idx], None),
            "facility_towncode": np.where(reach, facilities["towncode"].to_numpy()[idx], None),
            "across_sea_km": near["across_sea_m"] / 1000,
        }))
    cols = ["code", "category", "distance_km", "facility_id", "facility_name", "facility_towncode", "across_sea_km"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def _fca_columns(points, facilities, demand, catchment_m, cross_sea, across_counties) -> pd.DataFrame:
    """2SFCA and E2SFCA per point × category, per 10,000 people (a facility's demand and a point's
    supply both within the same reach group: land mass and, unless ``across_counties``, county)."""
    import pandas as pd

    frames = []
    reach_p, reach_f, _, _ = _groups(points, facilities, cross_sea, across_counties)
    pts = _xyz(points, reach_p)
    for category, at in _by_category(facilities):
        fac = facilities.iloc[at]
        i, j, d = catchment_pairs(pts, _xyz(fac, reach_f[at]), catchment_m)
        supply = fac["capacity"].to_numpy(dtype=float)
        plain = two_step_fca(i, j, 1.0, demand, supply)
        gauss = two_step_fca(i, j, dai_gaussian_weight(catchment_m)(d), demand, supply)
        frames.append(pd.DataFrame({"code": points["code"].to_numpy(), "category": category,
                                    "fca_2sfca": plain * PER_PEOPLE, "fca_e2sfca": gauss * PER_PEOPLE}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["code", "category", "fca_2sfca", "fca_e2sfca"])


@dataclass
class AccessResult:
    """Population-weighted figures of one run (:func:`population_access`).

    ``points``: one row per village (or township) × category — people, nearest facility,
    distance, whether within ``distance_km``, across-sea distance, 2SFCA/E2SFCA.
    ``townships``: per township × category — people, population-weighted mean and maximum
    distance, the facility nearest for most people, people within/beyond ``distance_km``.
    ``counties``: per county × category — population coverage in covered townships and
    within ``distance_km``. ``across_counties``: whether other counties' points served a county's
    people (default: each county's own points only). ``within_min`` / ``catchment_min``: set when
    :func:`coverage.travelaccess.add_minutes` put minutes by road beside the kilometres.
    """

    group: str
    distance_km: float
    catchment_km: float
    cross_sea: bool
    basis: str
    points: pd.DataFrame
    townships: pd.DataFrame
    counties: pd.DataFrame
    across_counties: bool = False
    within_min: float | None = None  # with a road network (coverage.travelaccess.add_minutes)
    catchment_min: float | None = None


def population_access(
    facilities: gpd.GeoDataFrame,
    township_table: pd.DataFrame,
    townships: gpd.GeoDataFrame,
    population: Population,
    *,
    group: str = "total",
    distance_km: float = 5.0,
    catchment_km: float = 20.0,
    as_of=None,
    cross_sea: bool = False,
    villages: gpd.GeoDataFrame | None = None,
    across_counties: bool = False,
) -> AccessResult:
    """Population coverage, nearest facilities and 2SFCA/E2SFCA for a coverage run.

    Parameters
    ----------
    facilities : GeoDataFrame
        Accepted registry rows (:attr:`coverage.facilities.Registry.facilities`); the open ones
        of a county serve its people (every county's with ``across_counties``).
    township_table : DataFrame
        :func:`coverage.measure.township_coverage` output: which townships × categories are
        covered, and which counties and categories to report.
    townships : GeoDataFrame
        The township boundaries used.
    population : Population
        From :func:`coverage.population.read_population`.
    group : str
        Age group (:data:`coverage.population.AGE_GROUPS`).
    distance_km, catchment_km : float
        "Near a service" distance, and the 2SFCA catchment.
    cross_sea : bool
        Let facilities serve villages on another land mass.
    across_counties : bool
        Let facilities serve the people of other counties. Default False: a county-run programme
        serves its own residents, so a county with no point of a category has no distance for it
        (not a distance to another county's point).
    as_of : date-like, optional
        Count the facilities open on this date (default today).
    villages : GeoDataFrame, optional
        Village boundaries whose representative points place the people (default: the bundled
        villages).

    Returns
    -------
    AccessResult
        Per village point, township and county × category: people, distances, the share within
        ``distance_km`` and the 2SFCA/E2SFCA ratios.

    Raises
    ------
    InputError
        ``distance_km`` or ``catchment_km`` is not positive (the message names both parameters),
        or ``group`` is not in ``population``.
    """
    import pandas as pd

    from .population import require_group

    require_group(population, group)
    if distance_km <= 0 or catchment_km <= 0:
        from .errors import InputError

        raise InputError(f"distances must be positive: distance_km={distance_km}, catchment_km={catchment_km}")
    cats = sorted(township_table["category"].unique().tolist())
    lands = land_masses(townships)
    pts = population_points(population, townships, lands, villages)
    fac = facility_points(facilities, lands, as_of=as_of, categories=cats, townships=townships)
    demand = pts[group].to_numpy(dtype=float)
    near = nearest_facility(pts, fac, cross_sea=cross_sea, across_counties=across_counties)
    fca = _fca_columns(pts, fac, demand, catchment_km * 1000, cross_sea, across_counties)
    base = pts[["code", "villcode", "towncode", "county", "township", "village", group]].rename(
        columns={group: "people"})
    grid = base.merge(pd.DataFrame({"category": pd.Series(cats, dtype=object)}), how="cross")
    table = grid.merge(near, on=["code", "category"], how="left").merge(fca, on=["code", "category"], how="left")
    table["within"] = table["distance_km"] <= distance_km
    table[["fca_2sfca", "fca_e2sfca"]] = table[["fca_2sfca", "fca_e2sfca"]].fillna(0.0)
    table["people"] = table["people"].round().astype("int64")
    wanted = set(township_table["towncode"])
    table = table[table["towncode"].isin(wanted)].sort_values(["category", "code"], ignore_index=True)
    town = _township_access(table, distance_km)
    counties = _county_figures(township_table, town, population, group)
    basis = ("village representative points" if population.level == "village"
             else "township representative points (township-level population file)")
    log.info("population access: %d points × %d categories, %d open facilities", len(pts), len(cats), len(fac))
    return AccessResult(group=group, distance_km=float(distance_km), catchment_km=float(catchment_km),
                        cross_sea=cross_sea, basis=basis, points=table, townships=town, counties=counties,
                        across_counties=bool(across_counties))


def _township_access(table: pd.DataFrame, distance_km: float) -> pd.DataFrame:
    """Per township × category: people, pop-weighted mean/max distance, nearest facility for most people."""
    import numpy as np

    t = table.copy()
    t["reach"] = t["distance_km"].notna()
    w = t["people"].to_numpy(dtype=float)
    t["_wd"] = np.where(t["reach"], w * t["distance_km"].fillna(0).to_numpy(), 0.0)
    t["_wr"] = np.where(t["reach"], w, 0.0)
    t["_max"] = t["distance_km"].where((t["people"] > 0) & t["reach"])
    t["_within"] = np.where(t["within"], w, 0.0)
    t["_across"] = np.where(~t["within"] & (t["across_sea_km"] <= distance_km), w, 0.0)
    t["_unreach"] = np.where(~t["reach"], w, 0.0)
    # mean across-sea distance of the people with no facility on their land mass (1e-9: empty villages count)
    t["_wu"] = np.where(~t["reach"] & t["across_sea_km"].notna(), w + 1e-9, 0.0)
    t["_wa"] = t["_wu"] * t["across_sea_km"].fillna(0)
    keys = ["towncode", "category"]
    agg = t.groupby(keys, sort=False).agg(
        people=("people", "sum"), _wd=("_wd", "sum"), _wr=("_wr", "sum"), max_km=("_max", "max"),
        people_within=("_within", "sum"), people_across_sea=("_across", "sum"),
        people_no_facility_on_island=("_unreach", "sum"), _wu=("_wu", "sum"), _wa=("_wa", "sum"),
    ).reset_index()
    agg["mean_across_sea_km"] = agg["_wa"] / agg["_wu"].where(agg["_wu"] > 0)
    agg["mean_km"] = np.where(agg["_wr"] > 0, agg["_wd"] / agg["_wr"].where(agg["_wr"] > 0, 1), np.nan)
    # a township whose villages are all empty: plain mean of its villages' distances
    plain = t.groupby(keys, sort=False)["distance_km"].mean()
    agg = agg.set_index(keys)
    agg["mean_km"] = agg["mean_km"].fillna(plain)
    agg["max_km"] = agg["max_km"].fillna(t.groupby(keys, sort=False)["distance_km"].max())
    most = (t[t["reach"]].groupby([*keys, "facility_name"], sort=False)["people"].sum().reset_index()
            .sort_values("people", ascending=False, kind="stable").drop_duplicates(keys).set_index(keys))
    agg["nearest_name"] = most["facility_name"]
    agg = agg.reset_index()
    for col in ("people", "people_within", "people_across_sea", "people_no_facility_on_island"):
        agg[col] = agg[col].round().astype("int64")
    agg["people_beyond"] = agg["people"] - agg["people_within"]
    cols = ["towncode", "category", "people", "mean_km", "max_km", "nearest_name", "people_within",
            "people_beyond", "people_across_sea", "people_no_facility_on_island", "mean_across_sea_km"]
    return agg[cols].sort_values(keys, ignore_index=True)


def _county_figures(township_table: pd.DataFrame, town: pd.DataFrame, population: Population,
                    group: str) -> pd.DataFrame:
    """Per county × category: the age group's population, share in covered townships, share within D km."""
    import pandas as pd

    from .measure import rate

    pop = population.townships.set_index("towncode")[group]
    t = township_table[["towncode", "county", "category", "covered"]].copy()
    t["population"] = t["towncode"].map(pop)
    t = t.merge(town[["towncode", "category", "people", "people_within", "people_across_sea",
                      "people_no_facility_on_island"]], on=["towncode", "category"], how="left")
    rows = []
    for (county, category), g in t.groupby(["county", "category"], sort=False):
        known = g["population"].notna()
        total = int(g.loc[known, "population"].sum())
        covered = int(g.loc[known & g["covered"], "population"].sum())
        placed = int(g["people"].fillna(0).sum())
        within = int(g["people_within"].fillna(0).sum())
        rows.append({
            "county": county, "category": category, "population": total if known.any() else None,
            "population_covered": covered if known.any() else None,
            "population_rate": rate(covered, total) if total else None,
            "townships_without_population": int((~known).sum()),
            "people_placed": placed, "people_within": within,
            "within_rate": rate(within, placed) if placed else None,
            "people_across_sea": int(g["people_across_sea"].fillna(0).sum()),
            "people_no_facility_on_island": int(g["people_no_facility_on_island"].fillna(0).sum()),
        })
    return pd.DataFrame(rows)


def whatif_within(
    before: gpd.GeoDataFrame,
    after: gpd.GeoDataFrame,
    townships: gpd.GeoDataFrame,
    population: Population,
    *,
    group: str = "total",
    distance_km: float = 5.0,
    as_of=None,
    counties: list[str] | None = None,
    categories: list[str] | None = None,
    cross_sea: bool = False,
    across_counties: bool = False,
) -> pd.DataFrame:
    """People within ``distance_km`` of a point, before → after a what-if change, where it changes.

    ``before`` and ``after`` are facilities (e.g. a registry's, and
    :func:`coverage.plan.apply_scenario` of them); the figures are :func:`population_access`'s, so
    they equal the report's for the same inputs. With ``across_counties`` a point added in one
    county can change its neighbours' figures; by default only its own county's.

    Parameters
    ----------
    before, after : GeoDataFrame
        Facilities before and after the change.
    townships : GeoDataFrame
        The township boundaries used.
    population : Population
        From :func:`coverage.population.read_population`.
    group : str
        Age group (:data:`coverage.population.AGE_GROUPS`).
    distance_km : float
        The "near a service" distance.
    as_of : date-like, optional
        Count the facilities open on this date (default today).
    counties, categories : list of str, optional
        Official county names and category keys to report (default: all).
    cross_sea, across_counties : bool
        As :func:`population_access`.

    Returns
    -------
    DataFrame ``county, category, people_placed, people_within_before, people_within_after,
    within_rate_before, within_rate_after``: one row per county × category whose figure changed.
    """
    from .measure import township_coverage

    cats = list(categories) if categories else sorted(
        set(before["category"].dropna()) | set(after["category"].dropna()))

    def figures(fac):
        table = township_coverage(fac, townships, as_of=as_of, categories=cats, counties=counties)
        acc = population_access(fac, table, townships, population, group=group, distance_km=distance_km,
                                as_of=as_of, cross_sea=cross_sea, across_counties=across_counties)
        return acc.counties[["county", "category", "people_placed", "people_within", "within_rate"]]

    merged = figures(before).merge(figures(after), on=["county", "category", "people_placed"],
                                   suffixes=("_before", "_after"))
    changed = merged["people_within_before"] != merged["people_within_after"]
    cols = ["county", "category", "people_placed", "people_within_before", "people_within_after",
            "within_rate_before", "within_rate_after"]
    return merged.loc[changed.to_numpy(), cols].reset_index(drop=True)
