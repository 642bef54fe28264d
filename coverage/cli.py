"""The ``safetynet`` command line: parse, call the library, print. No analysis logic here.

Exit codes: 0 success (rejected rows are reported, not fatal); 1 an input error, with a
one-line message naming the file; 2 a usage error.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from .cli_options import (
    check_definition,
    check_positive,
    check_xy_datum,
    fail,
    parse_as_of,
    resolve_age_group_option,
    resolve_category_options,
    resolve_county_options,
)

app = typer.Typer(
    name="safetynet",
    help="強化社會安全網 服務據點涵蓋率 — township coverage of Taiwan's social safety net service points.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

FacilitiesOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--facilities", "-f", help="Registry file (CSV/XLSX/GeoJSON/GPKG); repeatable. Default: bundled seed registry."
    ),
]
CountyOpt = Annotated[list[str] | None, typer.Option("--county", "-c", help="County/city, e.g. 嘉義縣; repeatable.")]
CategoryOpt = Annotated[
    list[str] | None, typer.Option("--category", help="Programme, e.g. community_support_point or 小衛星; repeatable.")
]
DefinitionOpt = Annotated[
    str, typer.Option(help="presence (a facility in the township) or service-area (also its `serves` list).")
]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="Count facilities open on this date (ISO or ROC, e.g. 112/07/01).")
]
BoundariesOpt = Annotated[Path | None, typer.Option(help="Your own official township boundary file.")]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Output directory.")]
LayerOpt = Annotated[
    str | None,
    typer.Option("--layer", help="Read only this sheet (XLSX) or layer (GeoPackage); default every registry sheet "
                 "and every point layer."),
]

# Population options, shared by `report` and `map`.
SuppressOpt = Annotated[
    int, typer.Option("--suppress-below", min=0, help="Write caseloads from 1 to N−1 as <N (0: none).")
]
XyDatumOpt = Annotated[
    str, typer.Option("--xy-datum", help="Datum of x/y metre coordinates: TWD97 (default) or TWD67 (old registries).")
]
PublicColumnOpt = Annotated[
    list[str] | None,
    typer.Option("--public-column", help="Keep and show this personal registry column (e.g. 聯絡人); repeatable."),
]
PopulationOpt = Annotated[
    Path | None, typer.Option("--population", help="MOI population file (village or township, CSV/JSON).")
]
DemOpt = Annotated[
    list[Path] | None, typer.Option("--dem", help="Elevation raster (any GDAL format) for `mountain`; repeatable.")
]
AgeGroupOpt = Annotated[
    str, typer.Option("--age-group", help="total, children (0–17), young_children (0–11) or elderly (65+).")
]
DistanceKmOpt = Annotated[
    float, typer.Option("--distance-km", help="Straight-line distance counted as near a service.")
]
CatchmentKmOpt = Annotated[float, typer.Option("--catchment-km", help="2SFCA/E2SFCA catchment.")]
CrossSeaOpt = Annotated[bool, typer.Option("--cross-sea", help="Let a facility serve villages on another island.")]
AcrossCountiesOpt = Annotated[
    bool,
    typer.Option("--across-counties", help="Let other counties' points serve a county's people (distances, 2SFCA, "
                 "priorities, siting); default each county's own points only."),
]
MountainMOpt = Annotated[
    float, typer.Option("--mountain-m", help="Mean elevation (m) from which a township is `mountain`.")
]

# Map options, shared by `report` and `map`.
LevelOpt = Annotated[
    Literal["township", "village"],
    typer.Option(help="township (fill townships) or village (villages, by their township's state)."),
]
BasemapOpt = Annotated[
    Literal["osm", "nlsc", "none"] | None,
    typer.Option(help="osm (OpenStreetMap), nlsc (通用版電子地圖) or none. Default osm; none with --offline."),
]
OfflineOpt = Annotated[
    bool,
    typer.Option("--offline", help="No network at all: no basemap by default (the JavaScript/CSS is always "
                                   "written into DIR/lib, so the maps draw without internet anyway)."),
]
PngOpt = Annotated[bool, typer.Option("--png", help="Also a static PNG figure per county (print).")]
TargetsOpt = Annotated[
    Path | None,
    typer.Option("--targets", help="Targets table (scope, category, year, target_count/target_rate) for the "
                                   "workbook's 目標 sheet. Default: the national targets, for a national report."),
]


def _configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


# One place maps errors to messages and exit codes (2 usage, 1 input): coverage.cli_options.fail.
_fail = fail


def _run_options(*, county, definition, as_of, boundaries, age_group="total", xy_datum="TWD97",
                 distance_km=None, catchment_km=None):
    """Check the options of report and map before any file is read: (as-of date, county names, definition).

    Raises OptionError (exit 2) for a value that means nothing; a bad --boundaries file is an input error.
    """
    from .geography import load_townships

    when = parse_as_of(as_of)
    definition = check_definition(definition)
    resolve_age_group_option(age_group)
    check_xy_datum(xy_datum)
    check_positive("--distance-km", distance_km)
    check_positive("--catchment-km", catchment_km)
    return when, resolve_county_options(county, load_townships(boundaries)), definition


def _check_categories(category, result) -> None:
    """--category names a programme the registry read by ``result`` can have (else exit 2)."""
    resolve_category_options(category, set(result.registry.facilities["category"]))


@app.callback()
def _root(
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More log output (-vv for debug).")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors.")] = False,
) -> None:
    _configure_logging(verbose, quiet)


@app.command()
def report(
    ctx: typer.Context,
    facilities: FacilitiesOpt = None,
    county: CountyOpt = None,
    category: CategoryOpt = None,
    definition: DefinitionOpt = "presence",
    as_of: AsOfOpt = None,
    boundaries: BoundariesOpt = None,
    out: OutOpt = Path("maps"),
    xlsx: Annotated[bool, typer.Option("--xlsx", help="Also write the planner's workbook coverage.xlsx.")] = False,
    gpkg: Annotated[bool, typer.Option("--gpkg", help="Also write coverage.gpkg for QGIS (styled layers).")] = False,
    network: Annotated[Path | None, typer.Option(
        "--network", help="Road network (GDAL line layer or .osm.pbf): minutes by road per village → travel_times.csv.")
    ] = None,
    speeds: Annotated[Path | None, typer.Option("--speeds", help="Speeds per road class: CSV class,kmh.")] = None,
    road_class_column: Annotated[str | None, typer.Option("--road-class-column", help="Road-class column of --network.")
                                 ] = None,
    targets: TargetsOpt = None,
    no_maps: Annotated[bool, typer.Option("--no-maps", help="Do not write the HTML maps.")] = False,
    level: LevelOpt = "township",
    basemap: BasemapOpt = None,
    offline: OfflineOpt = False,
    png: PngOpt = False,
    population: PopulationOpt = None,
    dem: DemOpt = None,
    age_group: AgeGroupOpt = "total",
    distance_km: DistanceKmOpt = 5.0,
    catchment_km: CatchmentKmOpt = 20.0,
    cross_sea: CrossSeaOpt = False,
    across_counties: AcrossCountiesOpt = False,
    mountain_m: MountainMOpt = 500.0,
    suppress_below: SuppressOpt = 3,
    public_column: PublicColumnOpt = None,
    xy_datum: XyDatumOpt = "TWD97",
    layer: LayerOpt = None,
) -> None:
    """Coverage per county × programme; writes coverage.csv, townships.csv, rejected.csv, summary.json.

    With --population also villages.csv and priorities.csv (population coverage, nearest service,
    2SFCA, computed remoteness, gap priority); with --dem the computed `mountain` flag. The maps
    take the options of `map`. Every run writes manifest.json and removes what an earlier run
    wrote into DIR and this one did not.
    """
    from .errors import CoverageError

    try:
        from .pipeline import run_coverage
        from .report import MANIFEST_FILE, output_run, write_report

        when, counties, definition = _run_options(
            county=county, definition=definition, as_of=as_of, boundaries=boundaries, age_group=age_group,
            xy_datum=xy_datum, distance_km=distance_km, catchment_km=catchment_km,
        )
        with _status("計算涵蓋率 computing coverage…"):
            result = run_coverage(
                facilities, counties=counties, categories=category, definition=definition, as_of=when,
                boundaries=boundaries, population=population, dem=dem, age_group=age_group,
                distance_km=distance_km, catchment_km=catchment_km, cross_sea=cross_sea, mountain_m=mountain_m,
                suppress_below=suppress_below, public_columns=public_column or (), xy_datum=xy_datum,
                layer=layer,
                across_counties=across_counties,
                network=network, speeds=speeds, road_class_column=road_class_column,
            )
            _check_categories(category, result)
            target_table = None
            if targets is not None:  # read before writing anything: a bad targets file fails the run early
                from .plan import load_targets

                target_table = load_targets(targets)
        with output_run(out, command=_command(ctx),
                        inputs=_inputs(result, population, dem, boundaries, targets)):
            paths = write_report(result, out)
            if not no_maps:
                from .maps import write_maps

                maps = write_maps(result, out, level=level, basemap=basemap, offline=offline,
                                  national=not county, png=png)
                paths.update({f"map {k}": v for k, v in maps.items() if v.suffix == ".html"})
                paths.update({k: v for k, v in maps.items() if v.suffix == ".png"})
            if xlsx:
                from .workbook import write_planner_workbook

                paths["workbook"] = write_planner_workbook(result, out, targets=target_table)
            if gpkg:
                from .gpkg import write_geopackage

                paths["geopackage"] = write_geopackage(result, out)
        paths["manifest"] = out / MANIFEST_FILE
    except (CoverageError, OSError) as exc:
        raise _fail(exc) from exc
    from .display import print_report

    print_report(result, paths)


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="Registry file to check.")],
    boundaries: BoundariesOpt = None,
    xy_datum: XyDatumOpt = "TWD97",
    layer: LayerOpt = None,
) -> None:
    """Read a registry and show what was accepted, rejected and mismatched. Writes nothing."""
    from .errors import CoverageError

    try:
        check_xy_datum(xy_datum)
        from .facilities import read_facilities
        from .geography import load_townships

        registry = read_facilities([file], townships=load_townships(boundaries), xy_datum=xy_datum, layer=layer)
    except (CoverageError, OSError) as exc:
        raise _fail(exc) from exc
    from .display import print_validation

    print_validation(registry)


def _parse_as_of(value: str | None):
    if value is None:
        return None
    # a bad date is a usage error (exit 2): coverage.cli_options.parse_as_of
    when = parse_as_of(value)
    return when


def _command(ctx: typer.Context) -> dict:
    """The command and its options as given (``--out`` left out: the manifest is the same wherever written)."""

    def plain(value):
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return str(value) if isinstance(value, Path) else value

    return {"name": ctx.info_name, "options": {k: plain(v) for k, v in sorted(ctx.params.items()) if k != "out"}}


def _inputs(result, population, dem, boundaries, *more) -> list:
    """Input files of a run, for its manifest: the registries read (bundled when none was given) and the rest."""
    return [*result.files, *(p for p in (population, *(dem or []), boundaries, *more) if p is not None)]


def _status(message: str):
    import contextlib

    if not sys.stderr.isatty():
        return contextlib.nullcontext()
    from rich.console import Console

    return Console(stderr=True).status(message)


@app.command("map")
def map_(
    ctx: typer.Context,
    facilities: FacilitiesOpt = None,
    county: CountyOpt = None,
    category: CategoryOpt = None,
    level: LevelOpt = "township",
    basemap: BasemapOpt = None,
    offline: OfflineOpt = False,
    as_of: AsOfOpt = None,
    definition: DefinitionOpt = "presence",
    boundaries: BoundariesOpt = None,
    png: PngOpt = False,
    out: OutOpt = Path("maps"),
    population: PopulationOpt = None,
    dem: DemOpt = None,
    age_group: AgeGroupOpt = "total",
    distance_km: DistanceKmOpt = 5.0,
    catchment_km: CatchmentKmOpt = 20.0,
    cross_sea: CrossSeaOpt = False,
    across_counties: AcrossCountiesOpt = False,
    mountain_m: MountainMOpt = 500.0,
    suppress_below: SuppressOpt = 3,
    public_column: PublicColumnOpt = None,
    xy_datum: XyDatumOpt = "TWD97",
    layer: LayerOpt = None,
) -> None:
    """Interactive HTML maps: one per county (嘉義縣.html), taiwan.html when no --county, and index.html.

    With --population the tooltips add people, distances to the nearest service and 2SFCA, and a
    優先補點 layer marks the ranked gap townships; with --dem the computed `mountain` flag.
    """
    from .errors import CoverageError

    try:
        from .maps import write_maps
        from .pipeline import run_coverage
        from .report import output_run

        when, counties, definition = _run_options(
            county=county, definition=definition, as_of=as_of, boundaries=boundaries, age_group=age_group,
            xy_datum=xy_datum, distance_km=distance_km, catchment_km=catchment_km,
        )
        with _status("繪製地圖 drawing maps…"):
            result = run_coverage(
                facilities, counties=counties, categories=category, definition=definition, as_of=when,
                boundaries=boundaries, population=population, dem=dem, age_group=age_group,
                distance_km=distance_km, catchment_km=catchment_km, cross_sea=cross_sea, mountain_m=mountain_m,
                suppress_below=suppress_below, public_columns=public_column or (), xy_datum=xy_datum,
                layer=layer,
                across_counties=across_counties,
            )
            _check_categories(category, result)
        with output_run(out, command=_command(ctx), inputs=_inputs(result, population, dem, boundaries)):
            paths = write_maps(
                result, out, level=level, basemap=basemap, offline=offline, national=not county, png=png
            )
    except (CoverageError, OSError) as exc:
        raise _fail(exc) from exc
    for name, path in paths.items():
        typer.echo(f"wrote {name}: {path} ({path.stat().st_size / 1024:.0f} KB)")


def main() -> None:
    """Console-script entry point: never a traceback, one line and exit 1 even for a bug (``-vv`` shows it)."""
    try:
        app()
    except Exception as exc:  # a defect, not the user's input; typer.Exit/SystemExit are not Exceptions here
        logging.getLogger(__name__).debug("unexpected error", exc_info=True)
        typer.echo(f"error: unexpected {type(exc).__name__}: {' '.join(str(exc).split())[:300]} "
                   "(a defect in safetynet, please report it; run with -vv for the traceback)", err=True)
        sys.exit(1)


# Planning commands (trend, targets, whatif, site) register themselves on `app`.
from . import cli_data, cli_plan  # noqa: E402, F401, I001


if __name__ == "__main__":  # pragma: no cover
    # `python -m coverage.cli`: run the imported module's app, on which the planning and data
    # commands registered themselves (this __main__ module's own `app` has only report/map/validate).
    from coverage.cli import main as _imported_main

    _imported_main()
