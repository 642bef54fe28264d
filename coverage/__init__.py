"""safetynet-coverage: where Taiwan's Strengthening Social Safety Net (強化社會安全網) reaches.

Map service points onto the 368 townships (鄉鎮市區), compute the township coverage rate
counties report, list and flag the gaps.

>>> import coverage
>>> towns = coverage.load_townships()
>>> len(towns)
368
"""

from __future__ import annotations

from importlib import import_module

# Public functions, imported on first use so that `import coverage` and the CLI stay fast.
_EXPORTS = {
    "load_townships": "geography",
    "load_villages": "geography",
    "load_boundaries": "geography",
    "counties": "geography",
    "locate_points": "geography",
    "locate": "bulk",
    "nearest": "bulk",
    "read_points": "bulk",
    "point_rejections": "bulk",
    "classify_geometry": "geography",
    "FLAGS": "geography",
    "normalise_name": "names",
    "resolve_county": "names",
    "resolve_township": "names",
    "parse_address": "names",
    "read_facilities": "facilities",
    "Registry": "facilities",
    "CATEGORIES": "facilities",
    "normalise_category": "facilities",
    "parse_date": "dates",
    "service_state": "dates",
    "PROGRAMMES": "programmes",
    "resolve_programme": "programmes",
    "read_table": "facilities",
    "township_coverage": "measure",
    "county_coverage": "measure",
    "facility_state": "measure",
    "rate": "measure",
    "flag_gaps": "gaps",
    "run_coverage": "pipeline",
    "CoverageReport": "pipeline",
    "write_report": "report",
    "get_path": "datasets",
    "render_map": "maps",
    "write_maps": "maps",
    "write_workbook": "workbook",
    "site_new_points": "siting",
    "maximal_covering": "siting",
    "set_cover": "siting",
    "coverage_trend": "plan",
    "compare_targets": "plan",
    "load_targets": "plan",
    "whatif": "plan",
    "write_site_map": "maps",
    "write_offline_assets": "maps",
    "show_map": "maps",
    "cjk_font": "charts",
    "trend_chart": "charts",
    "read_population": "population",
    "Population": "population",
    "AGE_GROUPS": "population",
    "population_access": "access",
    "AccessResult": "access",
    "nearest_facility": "access",
    "floating_catchment": "access",
    "zonal_elevation": "terrain",
    "mountain_flags": "terrain",
    "compute_remoteness": "priority",
    "rank_priorities": "priority",
    "suppress_counts": "privacy",
    "personal_columns": "privacy",
    "parse_service_area": "serviceareas",
    "diff_registries": "diff",
    "read_network": "network",
    "nearest_by_network": "network",
    "travel_pairs": "network",
    "nearest_minutes": "traveltime",
    "whatif_within_minutes": "traveltime",
    "add_minutes": "travelaccess",
    "nearest_by_category": "access",
    "write_brief": "brief",
    "write_geopackage": "gpkg",
    "data_completeness": "completeness",
}

__all__ = ["__version__", *_EXPORTS]


def _version() -> str:
    """The installed version, read on first use (importlib.metadata is slow to import: ``safetynet --help``)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("safetynet-coverage")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0+unknown"


def __getattr__(name: str):
    if name == "__version__":
        globals()[name] = value = _version()
        return value
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'coverage' has no attribute {name!r}") from None
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
