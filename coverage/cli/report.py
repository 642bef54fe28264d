"""The coverage commands of the ``safetynet`` CLI: report and map. Thin: parse, call the library, print."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from . import progress
from .exits import failing
from .options import MapOptions, OutOpt, RunOptions, given_options, with_options
from .run import check_categories, check_minutes_measured, checked_keywords, command_record, input_files

__all__ = ["map_", "report"]

TargetsOpt = Annotated[
    Path | None,
    typer.Option("--targets", help="Targets table (scope, category, year, target_count/target_rate) for the "
                                   "workbook's 目標 sheet. Default: the national targets, for a national report."),
]


@with_options("facilities county category definition as_of boundaries out xlsx gpkg network speeds road_class_column "
              "road_layer access_kmh within_min catchment_min targets no_maps level basemap offline png population dem "
              "age_group distance_km catchment_km cross_sea across_counties mountain_m suppress_below public_column "
              "xy_datum layer")
def report(
    opts: RunOptions,
    maps: MapOptions,
    ctx: typer.Context,
    out: OutOpt = Path("maps"),
    xlsx: Annotated[bool, typer.Option("--xlsx", help="Also write the planner's workbook coverage.xlsx.")] = False,
    gpkg: Annotated[bool, typer.Option("--gpkg", help="Also write coverage.gpkg for QGIS (styled layers).")] = False,
    targets: TargetsOpt = None,
    no_maps: Annotated[bool, typer.Option("--no-maps", help="Do not write the HTML maps.")] = False,
) -> None:
    """Coverage per county × programme; writes coverage.csv, townships.csv, rejected.csv, summary.json.

    With --population also villages.csv and priorities.csv (population coverage, nearest service,
    2SFCA, computed remoteness, gap priority); with --dem the computed `mountain` flag. With
    --network minutes by road beside every km figure (travel_times.csv; share within --within-min
    minutes, 2SFCA in --catchment-min minutes, priorities weighted by minutes). The maps
    take the options of `map`. Every run writes manifest.json and removes what an earlier run
    wrote into DIR and this one did not.
    """
    with failing():
        from .. import run_coverage
        from ..report import MANIFEST_FILE, output_run, write_report

        given = given_options(ctx)
        keywords = checked_keywords(opts, given)
        with progress.step("計算涵蓋率 computing coverage"):
            result = run_coverage(**keywords)
        check_categories(opts.category, result)
        check_minutes_measured(opts, result, given)
        target_table = None
        if targets is not None:  # read before writing anything: a bad targets file fails the run early
            from ..plan import load_targets

            target_table = load_targets(targets)
        with output_run(out, command=command_record(ctx), inputs=input_files(result, opts, targets)), \
                _maps_writing(result, out, maps, national=not opts.county, skip=no_maps) as finish_maps, \
                (contextlib.nullcontext() if no_maps else progress.step("繪製地圖 drawing maps")):
            # the maps are rendered by a forked copy of this process while this one writes the tables
            # and lays out the summary; then it renders the maps the copy has not taken. The progress
            # bar (a thread, on a terminal) starts after the fork: the copy has only this thread
            paths = write_report(result, out)
            extra = {}
            if xlsx:
                from ..workbook import write_planner_workbook

                extra["workbook"] = write_planner_workbook(result, out, targets=target_table)
            if gpkg:
                from ..gpkg import write_geopackage

                extra["geopackage"] = write_geopackage(result, out)
            from .display import report_printer

            show = report_printer(result)
            paths.update(finish_maps())
            paths.update(extra)
        paths["manifest"] = out / MANIFEST_FILE
    show(paths)


@contextlib.contextmanager
def _maps_writing(result: Any, out: Path, maps: MapOptions, *, national: bool,
                  skip: bool) -> Iterator[Callable[[], dict[str, Path]]]:
    """The report's maps, written while the block runs: HTML ones as ``map NAME``, PNG figures by their own name."""
    if skip:
        yield dict
        return
    from ..maps import writing_maps

    with writing_maps(result, out, level=maps.level, basemap=maps.basemap, offline=maps.offline,
                      national=national, png=maps.png) as finish:
        def named() -> dict[str, Path]:
            written = finish()
            paths = {f"map {k}": v for k, v in written.items() if v.suffix == ".html"}
            paths.update({k: v for k, v in written.items() if v.suffix == ".png"})
            return paths

        yield named


@with_options("facilities county category level basemap offline as_of definition boundaries png out population dem "
              "age_group distance_km catchment_km cross_sea across_counties mountain_m suppress_below public_column "
              "xy_datum layer network speeds road_class_column road_layer access_kmh within_min catchment_min")
def map_(opts: RunOptions, maps: MapOptions, ctx: typer.Context, out: OutOpt = Path("maps")) -> None:
    """Interactive HTML maps: one per county (嘉義縣.html), taiwan.html when no --county, and index.html.

    With --population the tooltips add people, distances to the nearest service and 2SFCA, and a
    優先補點 layer marks the ranked gap townships; with --dem the computed `mountain` flag; with
    --network the minutes by road.
    """
    with failing():
        from .. import run_coverage
        from ..maps import write_maps
        from ..report import output_run

        given = given_options(ctx)
        keywords = checked_keywords(opts, given)
        if maps.png and not opts.county:  # the figure workers start up while the coverage is computed
            from ..maps import start_figure_workers

            start_figure_workers()
        with progress.step("計算涵蓋率 computing coverage"):
            result = run_coverage(**keywords)
        check_categories(opts.category, result)
        check_minutes_measured(opts, result, given)
        with output_run(out, command=command_record(ctx), inputs=input_files(result, opts)), \
                progress.step("繪製地圖 drawing maps"):
            paths = write_maps(result, out, level=maps.level, basemap=maps.basemap, offline=maps.offline,
                               national=not opts.county, png=maps.png)
    for name, path in paths.items():
        typer.echo(f"wrote {name}: {path} ({path.stat().st_size / 1024:.0f} KB)")
