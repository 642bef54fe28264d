"""Data commands of the ``safetynet`` CLI: validate a registry, locate large point sets, nearest services,
compare two registries. Thin: parse, call the library, print."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from . import progress
from .exits import failing
from .options import (
    PublicColumnOpt,
    RunOptions,
    check_by_road,
    check_choice,
    check_positive,
    check_xy_datum,
    given_options,
    parse_as_of,
    resolve_category_options,
    with_options,
)

__all__ = ["diff", "locate", "nearest", "validate"]


@with_options("file boundaries xy_datum layer")
def validate(opts: RunOptions, file: Annotated[Path, typer.Argument(help="Registry file to check.")]) -> None:
    """Read a registry and show what was accepted, rejected and mismatched. Writes nothing."""
    with failing():
        check_xy_datum(opts.xy_datum)
        from ..facilities import read_facilities
        from ..geography import load_townships

        with progress.step("讀取清冊 reading the registry"):
            registry = read_facilities([file], townships=load_townships(opts.boundaries), xy_datum=opts.xy_datum,
                                       layer=opts.layer)
    from .display import print_validation

    print_validation(registry)


def locate(
    points: Annotated[Path, typer.Argument(help="Points: GeoParquet, GeoPackage/GeoJSON, or CSV with lon/lat or x/y.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output Parquet file.")],
    level: Annotated[str, typer.Option(help="township or village.")] = "township",
    engine: Annotated[str, typer.Option(help="local (one process) or dask (partitions, all cores).")] = "local",
    partitions: Annotated[int | None, typer.Option(help="Dask partitions (default 2 per core).")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Address of a Dask scheduler to run on (tcp://…).")] = None,
    public_column: PublicColumnOpt = None,
) -> None:
    """Township (or village) code of every point, for address- or grid-level point sets.

    Writes OUT with every input row, its own columns (personal ones left out), the code, status
    (located / outside / rejected) and reason; the rejected rows also to OUT's name + .rejected.csv.
    """
    with failing():
        from ..bulk import ENGINES
        from ..bulk import locate as run_locate
        from ..geography import load_townships, load_villages
        from ..pointio import write_points

        level = check_choice("--level", level, ("township", "village"), lambda v: v.strip().lower())
        engine = check_choice("--engine", engine, ENGINES, lambda v: v.strip().lower())
        check_positive("--partitions", partitions)
        pts = _read_points(points, engine, partitions)
        polygons = load_townships() if level == "township" else load_villages()
        key = "towncode" if level == "township" else "villcode"
        with progress.step("定位 locating points"):
            result = run_locate(pts, polygons, key=key, engine=engine, npartitions=partitions,
                                client=_client(scheduler), public_columns=public_column or ())
        rejected = write_points(result, pts, out, file=points.name)
    _note_dropped(pts, public_column)
    typer.echo(_counts(result["status"], rejected, snapped=int(result["snapped"].sum())))
    typer.echo(f"wrote {out}")


def _read_points(points: Path, engine: str, partitions: int | None) -> Any:
    """The points to locate: lazily (Dask partitions) for the dask engine on a Parquet file."""
    from ..bulk import read_points

    lazy = engine == "dask" and points.suffix.lower() == ".parquet"
    with progress.step(f"讀取點位 reading {points.name}"):
        return read_points(points, lazy=lazy, npartitions=partitions)


def _client(scheduler: str | None) -> Any:
    """A Dask client of the scheduler at ``scheduler``, or None (the default scheduler)."""
    if not scheduler:
        return None
    from distributed import Client

    return Client(scheduler)


def _note_dropped(pts: Any, public_column: list[str] | None) -> None:
    from ..bulk import dropped_columns

    dropped = dropped_columns(list(pts.columns), public_column or ())
    if dropped:
        typer.echo(f"personal columns not written: {', '.join(dropped)} (--public-column NAME to keep one)")


def _counts(status: Any, rejected: Path, snapped: int | None = None) -> str:
    """`N rows: located, outside, rejected` (each input row counted once)."""
    n = {s: int((status == s).sum()) for s in ("located", "outside", "rejected")}
    total = sum(n.values())
    shore = f" ({snapped:,} snapped to the shore)" if snapped else ""
    text = (f"{total:,} rows: {n['located']:,} located{shore}, {n['outside']:,} outside Taiwan (no township, "
            f"no distance), {n['rejected']:,} rejected")
    return text + (f" (row, field and reason in {rejected})" if n["rejected"] else "")


def nearest(
    ctx: typer.Context,
    points: Annotated[Path, typer.Argument(help="Points: GeoParquet, GeoPackage/GeoJSON, or CSV with lon/lat or x/y.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output Parquet file (one row per point × programme).")],
    facilities: Annotated[
        list[Path] | None, typer.Option("--facilities", "-f", help="Registry file(s); default the seed registry.")
    ] = None,
    category: Annotated[list[str] | None, typer.Option("--category", help="Programme(s); default all.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date (ISO or ROC); default today.")] = None,
    cross_sea: Annotated[bool, typer.Option("--cross-sea", help="Let a facility serve points on another island.")
                         ] = False,
    across_counties: Annotated[
        bool, typer.Option("--across-counties", help="Let other counties' facilities serve a point; default the "
                           "point's own county's only.")
    ] = False,
    engine: Annotated[str, typer.Option(help="local (one process) or dask (partitions, all cores).")] = "local",
    partitions: Annotated[int | None, typer.Option(help="Dask partitions (default 2 per core).")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Address of a Dask scheduler to run on (tcp://…).")] = None,
    public_column: PublicColumnOpt = None,
    network: Annotated[Path | None, typer.Option(
        "--network", help="Road network (GDAL line layer or .osm.pbf): also minutes by road (nearest_min, network_km, "
        "snap_km).")] = None,
    speeds: Annotated[Path | None, typer.Option("--speeds", help="Speeds per road class: CSV class,kmh.")] = None,
    road_class_column: Annotated[
        str | None, typer.Option("--road-class-column", help="Road-class column of --network.")] = None,
    road_layer: Annotated[str | None, typer.Option(
        "--road-layer", help="Layer of --network to read, for a file of several line layers (e.g. a GeoPackage).")
    ] = None,
    access_kmh: Annotated[float, typer.Option(
        "--access-kmh", help="Speed (km/h) of the straight legs between a point and the road network.")] = 15.0,
) -> None:
    """Distance from every point to the nearest open facility of each programme (km, straight line).

    Writes OUT with one row per input row × programme: its own columns (personal ones left out),
    status (located / outside / rejected), reason and the distance (none when outside or rejected,
    nor to other counties' facilities unless --across-counties); rejected rows also to
    OUT's name + .rejected.csv. With --network also nearest_min (minutes by road to the fastest
    point), network_km, snap_km and travel_reason (why a point has no minutes).
    """
    with failing():
        from ..bulk import ENGINES
        from ..bulk import nearest as run_nearest
        from ..datasets import get_path
        from ..facilities import read_facilities
        from ..geography import load_townships
        from ..pointio import write_points

        when = parse_as_of(as_of)
        engine = check_choice("--engine", engine, ENGINES, lambda v: v.strip().lower())
        check_positive("--partitions", partitions)
        check_positive("--access-kmh", access_kmh)
        check_by_road(network, given_options(ctx))
        towns = load_townships()
        with progress.step("讀取清冊 reading registries"):
            registry = read_facilities(facilities or [get_path("registry")], townships=towns)
        cats = resolve_category_options(category, set(registry.facilities["category"]))
        net = None
        if network is not None:
            from ..traveltime import road_network

            with progress.step("讀取道路網 reading the road network"):
                net = road_network(network, speeds=speeds, road_class_column=road_class_column, layer=road_layer)
        pts = _read_points(points, engine, partitions)
        with progress.step("最近據點 nearest services"):
            result = run_nearest(pts, registry.facilities, towns, as_of=when, categories=cats, cross_sea=cross_sea,
                                 across_counties=across_counties, engine=engine, npartitions=partitions,
                                 client=_client(scheduler), public_columns=public_column or ())
        if net is not None:
            from ..traveltime import nearest_minutes

            with progress.step("路網時間 minutes by road"):
                result = nearest_minutes(result, registry.facilities, towns, network=net, as_of=when,
                                         cross_sea=cross_sea, across_counties=across_counties, access_kmh=access_kmh)
        rejected = write_points(result, pts, out, file=points.name)
    _note_dropped(pts, public_column)
    first = result[result["category"] == result["category"].iloc[0]] if len(result) else result
    typer.echo(_counts(first["status"], rejected))
    summary = result.groupby("category", sort=False)["distance_km"].agg(["median", "max", "count"])
    for cat, row in summary.iterrows():
        if not row["count"]:
            typer.echo(f"{cat}: no located point has a distance (see the reason column)")
            continue
        typer.echo(f"{cat}: median {row['median']:.1f} km, max {row['max']:.1f} km over {int(row['count']):,} "
                   "located points")
    if net is not None:
        _echo_minutes(result, net.source)
    typer.echo(f"wrote {out}")


def _echo_minutes(result: Any, source: str) -> None:
    """Per programme: median and max minutes by road, and how many located points have none."""
    from ..traveltime import BY_ROAD

    typer.echo(f"road network: {source}")
    located = result[result["status"] == "located"]
    for cat, part in located.groupby("category", sort=False):
        minutes = part["nearest_min"].dropna()
        none = len(part) - len(minutes)
        missing = f"; {none:,} located points without minutes (see travel_reason)" if none else ""
        if not len(minutes):
            typer.echo(f"{cat}: no located point has minutes by road (see travel_reason)")
            continue
        typer.echo(f"{cat}: median {minutes.median():.1f}, max {minutes.max():.1f} {BY_ROAD} over "
                   f"{len(minutes):,} located points{missing}")


_CHANGE_LABELS = {"opened": "新增", "closed": "裁撤", "moved": "遷移", "renamed": "更名", "unchanged": "未變"}


def diff(
    old: Annotated[Path, typer.Argument(help="The earlier registry (e.g. last year's).")],
    new: Annotated[Path, typer.Argument(help="The later registry.")],
    county: Annotated[list[str] | None, typer.Option("--county", "-c", help="County (縣市); repeatable.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date (ISO or ROC); default today.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("maps"),
) -> None:
    """Compare two registries: points opened, closed, moved, renamed; coverage before → after."""
    with failing():
        from ..diff import diff_registries
        from ..facilities import read_facilities
        from ..geography import load_townships
        from ..pipeline import resolve_counties
        from ..report import write_csv

        towns = load_townships()
        # a county that is not one is an input error here (exit 1), as it always was for diff
        counties = resolve_counties(county, towns)
        with progress.step("讀取清冊 reading registries"):
            before = read_facilities([old], townships=towns).facilities
            after = read_facilities([new], townships=towns).facilities
        result = diff_registries(before, after, towns, counties=counties, as_of=parse_as_of(as_of))
        out.mkdir(parents=True, exist_ok=True)
        write_csv(result.points, out / "diff.csv")
        write_csv(result.coverage, out / "coverage_diff.csv")
    counts = result.counts()
    typer.echo("、".join(f"{_CHANGE_LABELS[c]} {n}" for c, n in counts.items()) + " 處")
    changed = result.coverage[result.coverage["covered_before"] != result.coverage["covered_after"]]
    for row in changed.itertuples():
        typer.echo(f"{row.county} {row.category}: {row.covered_before} → {row.covered_after} / {row.total} "
                   f"({row.rate_before:.1f}% → {row.rate_after:.1f}%)")
    for note in result.ambiguous:
        typer.echo(f"not paired (ambiguous): {note}")
    typer.echo(f"wrote {out / 'diff.csv'} and {out / 'coverage_diff.csv'}")
