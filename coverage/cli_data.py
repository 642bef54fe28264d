"""Data commands of the ``safetynet`` CLI: locate large point sets. Thin: parse, call, print."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .cli import _fail, app


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
    from .errors import CoverageError, InputError

    try:
        from .geography import load_townships, load_villages
        from .report import atomic_open
        from .scale import locate as run_locate
        from .scale import read_points

        if level not in ("township", "village"):
            raise InputError(f"--level must be township or village, got {level!r}")
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
    from .cli import _parse_as_of
    from .errors import CoverageError

    try:
        from .analysis import resolve_categories
        from .datasets import get_path
        from .facilities import read_facilities
        from .geography import load_townships
        from .report import atomic_open
        from .scale import nearest as run_nearest
        from .scale import read_points

        towns = load_townships()
        registry = read_facilities(facilities or [get_path("registry")], townships=towns)
        lazy = engine == "dask" and points.suffix.lower() == ".parquet"
        pts = read_points(points, lazy=lazy, npartitions=partitions)
        client = None
        if scheduler:
            from distributed import Client

            client = Client(scheduler)
        result = run_nearest(pts, registry.facilities, towns, as_of=_parse_as_of(as_of),
                             categories=resolve_categories(category), cross_sea=cross_sea, engine=engine,
                             npartitions=partitions, client=client)
        with atomic_open(out, "wb") as fh:
            result.to_parquet(fh)
    except (CoverageError, OSError) as exc:
        raise _fail(exc) from exc
    summary = result.groupby("category", sort=False)["distance_km"].agg(["median", "max", "count"])
    for cat, row in summary.iterrows():
        typer.echo(f"{cat}: median {row['median']:.1f} km, max {row['max']:.1f} km over {int(row['count']):,} points")
    typer.echo(f"wrote {out}")


_CHANGE_LABELS = {"opened": "新增", "closed": "裁撤", "moved": "遷移", "renamed": "更名", "unchanged": "未變"}


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(help="The earlier registry (e.g. last year's).")],
    new: Annotated[Path, typer.Argument(help="The later registry.")],
    county: Annotated[list[str] | None, typer.Option("--county", "-c", help="County (縣市); repeatable.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Date (ISO or ROC); default today.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("maps"),
) -> None:
    """Compare two registries: points opened, closed, moved, renamed; coverage before → after."""
    from .cli import _parse_as_of
    from .errors import CoverageError

    try:
        from .analysis import resolve_counties
        from .diff import diff_registries
        from .facilities import read_facilities
        from .geography import load_townships
        from .report import write_csv

        towns = load_townships()
        counties = resolve_counties(county, towns) if county else None
        before = read_facilities([old], townships=towns).facilities
        after = read_facilities([new], townships=towns).facilities
        result = diff_registries(before, after, towns, counties=counties, as_of=_parse_as_of(as_of))
        out.mkdir(parents=True, exist_ok=True)
        write_csv(result.points, out / "diff.csv")
        write_csv(result.coverage, out / "coverage_diff.csv")
    except (CoverageError, OSError) as exc:
        raise _fail(exc) from exc
    counts = result.counts()
    typer.echo("、".join(f"{_CHANGE_LABELS[c]} {n}" for c, n in counts.items()) + " 處")
    changed = result.coverage[result.coverage["covered_before"] != result.coverage["covered_after"]]
    for row in changed.itertuples():
        typer.echo(f"{row.county} {row.category}: {row.covered_before} → {row.covered_after} / {row.total} "
                   f"({row.rate_before:.1f}% → {row.rate_after:.1f}%)")
    for note in result.ambiguous:
        typer.echo(f"not paired (ambiguous): {note}")
    typer.echo(f"wrote {out / 'diff.csv'} and {out / 'coverage_diff.csv'}")
