"""Data commands of the ``safetynet`` CLI: locate large point sets. Thin: parse, call, print."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .cli import PublicColumnOpt, _fail, app
from .cli_options import check_choice, check_positive, parse_as_of, resolve_category_options


@app.command()
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
    from .errors import CoverageError

    try:
        from .geography import load_townships, load_villages
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
        result = run_locate(pts, polygons, key=key, engine=engine, npartitions=partitions, client=client,
                            public_columns=public_column or ())
        rejected = _write_points(result, pts, points, out)
    except (CoverageError, OSError) as exc:
        raise _fail(exc) from exc
    _note_dropped(pts, public_column)
    typer.echo(_counts(result["status"], rejected, snapped=int(result["snapped"].sum())))
    typer.echo(f"wrote {out}")


def _write_points(result, pts, source: Path, out: Path) -> Path:
    """Write the result and, beside it, the rejected rows (always: a stale file never lingers)."""
    from .report import atomic_open, write_csv
    from .scale import point_rejections, rejections_path

    with atomic_open(out, "wb") as fh:
        result.to_parquet(fh)
    return write_csv(point_rejections(pts, file=source.name), rejections_path(out))


def _note_dropped(pts, public_column) -> None:
    from .scale import dropped_columns

    dropped = dropped_columns(list(pts.columns), public_column or ())
    if dropped:
        typer.echo(f"personal columns not written: {', '.join(dropped)} (--public-column NAME to keep one)")


def _counts(status, rejected: Path, snapped: int | None = None) -> str:
    """`N rows: located, outside, rejected` (each input row counted once)."""
    n = {s: int((status == s).sum()) for s in ("located", "outside", "rejected")}
    total = sum(n.values())
    shore = f" ({snapped:,} snapped to the shore)" if snapped else ""
    text = (f"{total:,} rows: {n['located']:,} located{shore}, {n['outside']:,} outside Taiwan (no township, "
            f"no distance), {n['rejected']:,} rejected")
    return text + (f" (row, field and reason in {rejected})" if n["rejected"] else "")


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
    across_counties: Annotated[
        bool, typer.Option("--across-counties", help="Let other counties' facilities serve a point; default the "
                           "point's own county's only.")
    ] = False,
    engine: Annotated[str, typer.Option(help="local (one process) or dask (partitions, all cores).")] = "local",
    partitions: Annotated[int | None, typer.Option(help="Dask partitions (default 2 per core).")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Address of a Dask scheduler to run on (tcp://…).")] = None,
    public_column: PublicColumnOpt = None,
) -> None:
    """Distance from every point to the nearest open facility of each programme (km, straight line).

    Writes OUT with one row per input row × programme: its own columns (personal ones left out),
    status (located / outside / rejected), reason and the distance (none when outside or rejected,
    nor to other counties' facilities unless --across-counties); rejected rows also to
    OUT's name + .rejected.csv.
    """
    from .errors import CoverageError

    try:
        from .datasets import get_path
        from .facilities import read_facilities
        from .geography import load_townships
        from .scale import ENGINES, read_points
        from .scale import nearest as run_nearest

        when = parse_as_of(as_of)
        engine = check_choice("--engine", engine, ENGINES, lambda v: v.strip().lower())
        check_positive("--partitions", partitions)
        towns = load_townships()
        registry = read_facilities(facilities or [get_path("registry")], townships=towns)
        cats = resolve_category_options(category, set(registry.facilities["category"]))
        lazy = engine == "dask" and points.suffix.lower() == ".parquet"
        pts = read_points(points, lazy=lazy, npartitions=partitions)
        client = None
        if scheduler:
            from distributed import Client

            client = Client(scheduler)
        result = run_nearest(pts, registry.facilities, towns, as_of=when, categories=cats, cross_sea=cross_sea,
                             across_counties=across_counties, engine=engine, npartitions=partitions, client=client,
                             public_columns=public_column or ())
        rejected = _write_points(result, pts, points, out)
    except (CoverageError, OSError) as exc:
        raise _fail(exc) from exc
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
    from .errors import CoverageError

    try:
        from .diff import diff_registries
        from .facilities import read_facilities
        from .geography import load_townships
        from .pipeline import resolve_counties
        from .report import write_csv

        towns = load_townships()
        counties = resolve_counties(county, towns) if county else None
        before = read_facilities([old], townships=towns).facilities
        after = read_facilities([new], townships=towns).facilities
        result = diff_registries(before, after, towns, counties=counties, as_of=parse_as_of(as_of))
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
