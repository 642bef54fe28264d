"""Data commands of the ``safetynet`` CLI: locate large point sets. Thin: parse, call, print."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .cli import _fail, app
from .cli_options import check_choice, check_positive, parse_as_of, resolve_category_options


@app.command()
def locate(
    points: Annotated[Path, typer.Argument(help="Points: GeoParquet, GeoPackage/GeoJSON, or CSV with lon/lat or x/y.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output Parquet file.")],
    level: Annotated[str, typer.Option(help="township or village.")] = "township",
    engine: Annotated[str, typer.Option(help="local (one process) or dask (partitions, all cores).")] = "local",
    partitions: Annotated[int | None, typer.Option(help="Dask partitions (default 2 per core).")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Address of a Dask scheduler to run on (tcp://…).")] = None,
) -> None:
    """Township (or village) code of every point, for address- or grid-level point sets."""
    from .errors import CoverageError

    try:
        from .geography import load_townships, load_villages
        from .report import atomic_open
        from .scale import ENGINES, read_points
        from .scale import locate as run_locate

        level = check_choice("--level", level, ("township", "village"), lambda v: v.strip().lower())
        engine = check_choice("--engine", engine, ENGINES, lambda v: v.strip().lower())
        check_positive("--partitions", partitions)
        lazy = engine == "dask" and points.suffix.lower() == ".parquet"
        pts = read_points(points, lazy=lazy, npartitions=partitions)
        polygons = load_townships() if level == "township" else load_villages()
        key = "towncode" if level == "township" else "villcode"
        client = None
        if scheduler:
            from distributed import Client

            client = Client(scheduler)
        result = run_locate(pts, polygons, key=key, engine=engine, npartitions=partitions, client=client)
        if level == "village":
            town_of = dict(zip(polygons["villcode"], polygons["towncode"], strict=True))
            result.insert(1, "towncode", result["villcode"].map(town_of))
        with atomic_open(out, "wb") as fh:
            result.to_parquet(fh)
    except (CoverageError, OSError) as exc:
        raise _fail(exc) from exc
    found = int(result[key].notna().sum())
    typer.echo(f"{len(result):,} points: {found:,} located ({int(result['snapped'].sum()):,} snapped to the "
               f"shore), {len(result) - found:,} outside Taiwan; wrote {out}")


@app.command()
def nearest(
    points: Annotated[Path, typer.Argument(help="Points: GeoParquet, GeoPackage/GeoJSON, or CSV with lon/lat or x/y.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output Parquet file (one row per point × programme).")],
    facilities: Annotated[
        list[Path] | None, typer.Option("--facilities", "-f", help="Registry file(s); default the seed registry.")
    ] = None,
    category: Annotated[list[str] | None, typer.Option("--category", help="Programme(s); default all.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date (ISO or ROC); default today.")] = None,
    cross_sea: Annotated[bool, typer.Option("--cross-sea", help="Let a facility serve points on another island.")
                         ] = False,
    engine: Annotated[str, typer.Option(help="local (one process) or dask (partitions, all cores).")] = "local",
    partitions: Annotated[int | None, typer.Option(help="Dask partitions (default 2 per core).")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Address of a Dask scheduler to run on (tcp://…).")] = None,
) -> None:
    """Distance from every point to the nearest open facility of each programme (km, straight line)."""
    from .errors import CoverageError

    try:
        from .datasets import get_path
        from .facilities import read_facilities
        from .geography import load_townships
        from .report import atomic_open
        from .scale import ENGINES, read_points
        from .scale import nearest as run_nearest

        when = parse_as_of(as_of)
        engine = check_choice("--engine", engine, ENGINES, lambda v: v.strip().lower())
        check_positive("--partitions", partitions)
        towns = load_townships()
        registry = read_facilities(facilities or [get_path("seed_registry")], townships=towns)
        cats = resolve_category_options(category, set(registry.facilities["category"]))
        lazy = engine == "dask" and points.suffix.lower() == ".parquet"
        pts = read_points(points, lazy=lazy, npartitions=partitions)
        client = None
        if scheduler:
            from distributed import Client

            client = Client(scheduler)
        result = run_nearest(pts, registry.facilities, towns, as_of=when,
                             categories=cats, cross_sea=cross_sea, engine=engine,
                             npartitions=partitions, client=client)
        with atomic_open(out, "wb") as fh:
            result.to_parquet(fh)
    except (CoverageError, OSError) as exc:
        raise _fail(exc) from exc
    summary = result.groupby("category", sort=False)["distance_km"].agg(["median", "max", "count"])
    for cat, row in summary.iterrows():
        typer.echo(f"{cat}: median {row['median']:.1f} km, max {row['max']:.1f} km over {int(row['count']):,} points")
    typer.echo(f"wrote {out}")
