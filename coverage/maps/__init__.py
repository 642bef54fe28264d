"""Coverage maps: interactive HTML pages (Leaflet, through folium) and printable PNG figures.

The step "render" of the pipeline, one module per part, imported one way (each line imports only
those below it):

* :mod:`~coverage.maps.render` — the pages: one per county, the national map, the index, the
  siting map; writes them with their offline web assets (``lib/``);
* :mod:`~coverage.maps.static` — printable county figures (PNG, matplotlib);
* :mod:`~coverage.maps.payload` — what a page shows, as plain data (:func:`map_payload`);
* :mod:`~coverage.maps.catchments` — the service areas (服務區域) of the points: outlines and popup text;
* :mod:`~coverage.maps.travel` — minutes by road (``report.travel``): township tooltips, the village layer;
* :mod:`~coverage.maps.population` — the population layer of the payload: people, distances,
  computed flags, gap priorities;
* :mod:`~coverage.maps.geometry` — display geometry (simplified as a coverage, quantised, delta-encoded),
  :mod:`~coverage.maps.schema` — the payload's shape (TypedDicts) and
  :mod:`~coverage.maps.escape` — HTML escaping and script-safe JSON: leaves;
* :mod:`~coverage.maps.memo` — the work the maps of one run share (computed once, not per map): a leaf;
* :mod:`~coverage.maps.forkshare` — pages shared with a forked copy of the process, on two cores: a leaf.

The page's own script and style are files of the package, ``assets/coverage.js`` and
``assets/coverage.css`` (and ``assets/index.css``), read with :mod:`importlib.resources`; the
payload reaches the script as JSON in a ``<script type="application/json">`` element.

The public names of the modules are reachable from here (``from coverage.maps import render_map``),
each imported on first use: ``import coverage.maps`` loads neither folium nor pandas.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_MODULES = ("render", "static", "payload", "catchments", "travel", "population", "geometry", "schema", "escape",
            "memo", "forkshare")
_EXPORTS = {
    "render": ["ASSET_DIR", "BASEMAPS", "LEVELS", "PARTIAL_NOTE", "PAYLOAD_ID", "TILE_NOTE", "MapFrame", "asset_text",
               "map_filename", "page_css", "render_index", "render_map", "show_map", "site_map_filename",
               "write_maps", "write_offline_assets", "write_site_map", "writing_maps"],
    "static": ["county_figure", "county_figures", "draw_county_figure", "label_offsets", "polygon_paths",
               "scale_bar_corner", "start_figure_workers"],
    "payload": ["BUNDLED_ATTRIBUTION", "COVERED", "GAP_COLOUR", "NO_DATA", "NO_DATA_COLOUR", "NO_DATA_LABEL",
                "STATE_COLOURS", "STATE_LABELS", "UNCOVERED", "UNCOVERED_FLAGGED", "boundary_attribution",
                "category_styles", "coverage_rate", "definition_label", "facility_popups",
                "map_payload", "marker_svg", "ordered_categories", "sites_payload",
                "township_states",
                "township_tooltips"],
    "population": ["NATIONAL_PRIORITY_TOP", "PRIORITY_CLASS_LABELS", "PRIORITY_COLOURS", "PRIORITY_LAYER",
                   "add_population", "age_label", "population_meta", "priority_items", "priority_rank_class",
                   "representative_points", "township_figures", "village_figures"],
    "catchments": ["AREA_COLOURS", "AREA_LAYER", "catchment_outlines", "service_area_text"],
    "travel": ["TRAVEL_BINS", "TRAVEL_COLOURS", "TRAVEL_LAYER", "NO_ROAD_COLOUR", "add_travel", "town_minutes",
               "travel_reason_label"],
    "geometry": ["QUANTUM", "TOLERANCE_M", "bounds_of", "display_geometry", "encode_geometry", "encoded_display",
                 "main_island_bounds",
                 "projected_polygons"],
    "schema": ["Area", "Category", "Facility", "MapPayload", "PopulationMeta", "Priorities", "PriorityItem", "SiteItem",
               "Sites", "Town", "Travel", "TravelVillage", "UiText", "Village"],
    "escape": ["esc", "to_script_json"],
    "forkshare": ["can_fork", "forked_share"],
    "memo": ["cached_path", "code_digest", "is_sharing", "read_cached", "shared", "sharing", "write_cached"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return import_module(f".{name}", __name__)
    try:
        module = _WHERE[name]
    except KeyError:
        raise AttributeError(f"module 'coverage.maps' has no attribute {name!r}") from None
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*__all__, *_MODULES])
