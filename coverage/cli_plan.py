"""Planning commands of the ``safetynet`` CLI: trend, targets, whatif, site. Thin: parse, call, print."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .cli import (
    AcrossCountiesOpt,
    AgeGroupOpt,
    AsOfOpt,
    BoundariesOpt,
    CategoryOpt,
    CountyOpt,
    DefinitionOpt,
    DistanceKmOpt,
    FacilitiesOpt,
    OutOpt,
    PopulationOpt,
    XyDatumOpt,
    _fail,
    _parse_as_of,
    app,
)

_HEADERS = {
    "year": "年", "roc_year": "民國年", "county": "縣市", "scope": "範圍", "category": "類別", "covered": "涵蓋",
    "total": "鄉鎮市區數", "rate": "涵蓋率%", "facilities": "據點", "measure": "指標", "current": "現況",
    "target": "目標", "gap": "差距", "status": "達成", "still_needed": "尚需", "rank": "序", "township": "鄉鎮市區",
    "village": "村里", "people_newly_within_radius": "新增服務人口", "township_newly_covered": "新涵蓋鄉鎮",
    "newly_covered": "新涵蓋", "newly_uncovered": "失去涵蓋", "people_covered": "涵蓋人口",
    "people_total": "人口", "population_rate": "人口涵蓋率%", "candidate": "候選點",
}


def _table(frame, title: str, hide: tuple[str, ...] = ()) -> None:
    from rich.console import Console
    from rich.table import Table

    from .display import _label

    frame = frame.drop(columns=[c for c in hide if c in frame])
    t = Table(title=title)
    for col in frame.columns:
        t.add_column(_HEADERS.get(str(col), str(col)), overflow="fold")
    for row in frame.itertuples(index=False):
        cells = []
        for col, v in zip(frame.columns, row, strict=True):
            if isinstance(v, list):
                v = "、".join(v)
            elif col == "category":
                v = _label(v)
            elif isinstance(v, bool):
                v = "是" if v else ""
            cells.append(str(v))
        t.add_row(*cells)
    Console().print(t)


def _load(facilities, boundaries, xy_datum="TWD97"):
    from .facilities import read_facilities
    from .geography import load_townships

    towns = load_townships(boundaries)
    if not facilities:
        from .datasets import get_path

        facilities = [get_path("registry")]
    return read_facilities(facilities, townships=towns, xy_datum=xy_datum), towns


@app.command()
def trend(
    facilities: FacilitiesOpt = None,
    county: CountyOpt = None,
    category: CategoryOpt = None,
    year_from: Annotated[str, typer.Option("--from", help="First year, e.g. 2019 or ROC 108.")] = "2019",
    year_to: Annotated[str | None, typer.Option("--to", help="Last year; default this year.")] = None,
    roc: Annotated[bool, typer.Option("--roc", help="Label years in ROC (民國).")] = False,
    definition: DefinitionOpt = "presence",
    boundaries: BoundariesOpt = None,
    out: OutOpt = Path("maps"),
    chart: Annotated[bool, typer.Option("--chart/--no-chart", help="Also write trend.png.")] = True,
    population: PopulationOpt = None,
    age_group: AgeGroupOpt = "total",
    xy_datum: XyDatumOpt = "TWD97",
) -> None:
    """Township coverage at each year end (from opening/closing dates): trend.csv and trend.png.

    With --population also the share of people (of --age-group) living in covered townships.
    """
    import datetime as dt

    from .errors import CoverageError

    try:
        from .analysis import resolve_categories, resolve_counties
        from .plan import coverage_trend, parse_year
        from .report import write_csv

        first = parse_year(year_from)
        last = parse_year(year_to) if year_to else dt.date.today().year
        if last < first:
            raise CoverageError(f"--to {year_to} is before --from {year_from}")
        registry, towns = _load(facilities, boundaries, xy_datum)
        pop, group = _population(population, age_group, towns)
        table = coverage_trend(registry.facilities, towns, list(range(first, last + 1)), definition=definition,
                               categories=resolve_categories(category), counties=resolve_counties(county, towns),
                               population=pop, age_group=group)
        out.mkdir(parents=True, exist_ok=True)
        write_csv(table, out / "trend.csv")
        png = None
        if chart and len(table):
            from .charts import trend_chart

            png = trend_chart(table[table["facilities"] > 0] if (table["facilities"] > 0).any() else table,
                              out / "trend.png", roc=roc)
    except (CoverageError, OSError) as exc:
        raise _fail(exc) from exc
    shown = table.drop(columns=["year"] if roc else ["roc_year"])
    shown = shown[shown["facilities"] > 0] if (shown["facilities"] > 0).any() else shown
    _table(shown, "涵蓋率趨勢 coverage by year end")
    typer.echo(f"wrote {out / 'trend.csv'}" + (f", {png}" if png else ""))


@app.command()
def targets(
    facilities: FacilitiesOpt = None,
    targets_file: Annotated[Path | None, typer.Option("--targets", help="Targets CSV/XLSX; default national.")] = None,
    as_of: AsOfOpt = None,
    boundaries: BoundariesOpt = None,
    out: OutOpt = Path("maps"),
    xy_datum: XyDatumOpt = "TWD97",
) -> None:
    """Current value vs targets: 已達標 / 未達標 and facilities still needed (targets.csv)."""
    from .errors import CoverageError

    try:
        from .plan import compare_targets, load_targets
        from .report import write_csv

        registry, towns = _load(facilities, boundaries, xy_datum)
        table = compare_targets(registry.facilities, towns, load_targets(targets_file), as_of=_parse_as_of(as_of))
        write_csv(table, out / "targets.csv")
    except (CoverageError, OSError) as exc:
        raise _fail(exc) from exc
    _table(table, "目標達成 targets", hide=("source", "met"))
    typer.echo(f"wrote {out / 'targets.csv'}")


@app.command()
def whatif(
    facilities: FacilitiesOpt = None,
    add: Annotated[list[str] | None, typer.Option("--add", help="縣市鄉鎮市區:category; repeatable.")] = None,
    remove: Annotated[list[str] | None, typer.Option("--remove", help="Facility name; repeatable.")] = None,
    scenario: Annotated[Path | None, typer.Option(help="CSV with action (add/remove) and target columns.")] = None,
    county: CountyOpt = None,
    category: CategoryOpt = None,
    definition: DefinitionOpt = "presence",
    as_of: AsOfOpt = None,
    boundaries: BoundariesOpt = None,
    population: PopulationOpt = None,
    age_group: AgeGroupOpt = "total",
    xy_datum: XyDatumOpt = "TWD97",
    distance_km: DistanceKmOpt = 5.0,
    across_counties: AcrossCountiesOpt = False,
) -> None:
    """Recompute coverage with facilities added/removed and print before → after.

    With --population also the share of people (of --age-group) living in covered townships, and
    of those within --distance-km of a point where it changes (each county's own points unless
    --across-counties, as in report and site).
    """
    from .errors import CoverageError

    try:
        from .analysis import resolve_categories, resolve_counties
        from .plan import read_scenario
        from .plan import whatif as run_whatif

        adds, removes = list(add or []), list(remove or [])
        if scenario:
            more_add, more_remove = read_scenario(scenario)
            adds += more_add
            removes += more_remove
        if not adds and not removes:
            raise CoverageError("nothing to change: give --add, --remove or --scenario")
        registry, towns = _load(facilities, boundaries, xy_datum)
        pop, group = _population(population, age_group, towns)
        when, counties, cats = _parse_as_of(as_of), resolve_counties(county, towns), resolve_categories(category)
        table = run_whatif(registry.facilities, towns, adds, removes, definition=definition,
                           as_of=when, counties=counties, categories=cats, population=pop, age_group=group)
        within = None
        if pop is not None:
            from .access import whatif_within
            from .plan import apply_scenario

            within = whatif_within(registry.facilities, apply_scenario(registry.facilities, towns, adds, removes),
                                   towns, pop, group=group, distance_km=distance_km, as_of=when, counties=counties,
                                   categories=cats, across_counties=across_counties)
    except (CoverageError, OSError) as exc:
        raise _fail(exc) from exc
    shown = table.assign(
        涵蓋=[f"{a}/{t} → {b}/{t}" for a, b, t in zip(table["covered_before"], table["covered_after"],
                                                      table["total"], strict=True)],
        涵蓋率=[f"{a:.1f}% → {b:.1f}%" for a, b in zip(table["rate_before"], table["rate_after"], strict=True)],
    )
    cols = ["county", "category", "涵蓋", "涵蓋率"]
    if pop is not None:
        shown["人口涵蓋率"] = [
            f"{a:,}/{t:,} ({ra:.1f}%) → {b:,}/{t:,} ({rb:.1f}%)"
            for a, b, t, ra, rb in zip(table["people_covered_before"], table["people_covered_after"],
                                       table["people_total"], table["population_rate_before"],
                                       table["population_rate_after"], strict=True)
        ]
        cols.append("人口涵蓋率")
    _table(shown[[*cols, "newly_covered", "newly_uncovered"]], "情境模擬 what-if (before → after)")
    if within is not None:
        whose = "every county's points" if across_counties else "each county's own points"
        if not len(within):
            typer.echo(f"people within {distance_km:g} km of a point ({whose}): unchanged")
            return
        shown = within.assign(**{f"≤{distance_km:g}km": [
            f"{a:,}/{t:,} ({ra:.1f}%) → {b:,}/{t:,} ({rb:.1f}%)"
            for a, b, t, ra, rb in zip(within["people_within_before"], within["people_within_after"],
                                       within["people_placed"], within["within_rate_before"],
                                       within["within_rate_after"], strict=True)]})
        _table(shown[["county", "category", f"≤{distance_km:g}km"]],
               f"{distance_km:g} km 內人口 people within {distance_km:g} km ({whose})")


@app.command()
def site(
    county: Annotated[str, typer.Option("--county", "-c", help="County/city, e.g. 嘉義縣.")],
    category: Annotated[str, typer.Option(help="Programme, e.g. community_support_point.")],
    new: Annotated[int | None, typer.Option("--new", help="Number of new points (townships: default fewest)")] = None,
    radius_km: Annotated[float, typer.Option("--radius-km", help="Service radius, km.")] = 5.0,
    objective: Annotated[str, typer.Option(help="townships, population or children.")] = "townships",
    population: Annotated[Path | None, typer.Option(help="MOI village population file.")] = None,
    candidates: Annotated[
        str, typer.Option(help="villages (default) or a registry-format file of sites.")
    ] = "villages",
    facilities: FacilitiesOpt = None,
    as_of: AsOfOpt = None,
    time_limit: Annotated[float, typer.Option("--time-limit", help="Solver seconds before greedy/incumbent.")] = 60.0,
    boundaries: BoundariesOpt = None,
    out: OutOpt = Path("maps"),
    no_map: Annotated[
        bool, typer.Option("--no-map", help="Do not write the map sites_<county>_<category>.html.")
    ] = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Map's JavaScript/CSS into DIR/lib, no basemap: works without internet.")
    ] = False,
    xy_datum: XyDatumOpt = "TWD97",
    across_counties: AcrossCountiesOpt = False,
) -> None:
    """Recommend where k new points should go (MCLP / set cover, solved exactly with HiGHS).

    Writes sites.csv, sites.json and the map sites_<county>_<category>.html (existing points,
    township fill 現況/新增後, numbered new sites and their service radius).
    """
    from .errors import CoverageError

    try:
        import json

        from .analysis import resolve_categories, resolve_counties, run_coverage
        from .geography import load_townships, load_villages
        from .report import atomic_open, write_csv
        from .siting import site_new_points

        towns = load_townships(boundaries)
        (county_name,) = resolve_counties([county], towns)
        (cat,) = resolve_categories([category])
        # Coverage of the county now (the map's 現況), from the same read of the registries.
        report = run_coverage(facilities, counties=[county_name], categories=[cat], as_of=_parse_as_of(as_of),
                              boundaries=boundaries, xy_datum=xy_datum)
        pop = _village_population(population, objective) if population else None
        cand, cand_notes, cand_rejected = None, [], None
        if candidates != "villages":
            from .siting import read_candidates

            cand, cand_rejected, cand_notes = read_candidates(candidates, category=cat, townships=towns,
                                                              xy_datum=xy_datum)
        plan = site_new_points(report.registry.facilities, towns, load_villages(), county=county_name, category=cat,
                               new=new, radius_km=radius_km, objective=objective, population=pop,
                               candidates=cand, as_of=report.as_of, time_limit=time_limit,
                               across_counties=across_counties)
        written = [write_csv(plan.sites, out / "sites.csv")]
        with atomic_open(out / "sites.json") as fh:
            json.dump({"summary": plan.summary, "sites": plan.sites.to_dict("records")}, fh, ensure_ascii=False,
                      indent=2, default=str)
        written.append(out / "sites.json")
        if not no_map:
            from .maps import write_site_map

            written.append(write_site_map(report, plan, out, offline=offline))
    except (CoverageError, OSError) as exc:
        raise _fail(exc) from exc
    s = plan.summary
    for note in cand_notes:
        typer.echo(f"note: {note}")
    if cand_rejected is not None and len(cand_rejected):
        from .rejections import rejected_rows

        first = cand_rejected.iloc[0]
        typer.echo(f"note: {rejected_rows(cand_rejected)} candidate rows rejected, e.g. row {first['row']}: "
                   f"{first['reason']}")
    _table(plan.sites, f"建議新設點 {county_name} {cat}（{objective}, {radius_km:g} km）", hide=("towncode", "county"))
    if pop is None:
        typer.echo("note: no --population given; townships are ranked without population (ties by township code)")
    people = (f"; people within {radius_km:g} km {s['population_within_radius_before']:,} → "
              f"{s['population_within_radius_after']:,}") if pop is not None else ""
    typer.echo(
        f"townships covered {s['townships_covered_before']}/{s['townships_total']} ({s['rate_before']}%) → "
        f"{s['townships_covered_after']}/{s['townships_total']} ({s['rate_after']}%){people}"
    )
    typer.echo(f"solver: {s['method']} ({s['status']}), optimality gap {100 * s['optimality_gap']:.3f}%, "
               f"{s['solve_seconds']} s; wrote {', '.join(str(p) for p in written)}")


def _population(path: Path | None, age_group: str, towns):
    """(Population, age group key) from the --population/--age-group options, or (None, group)."""
    from .population import read_population, require_group, resolve_age_group

    group = resolve_age_group(age_group)
    if path is None:
        return None, group
    pop = read_population(path, townships=towns)
    require_group(pop, group)
    return pop, group


def _village_population(path: Path, objective: str):
    """People per village (Series by villcode) for the objective's age group."""
    from .errors import InputError
    from .population import read_population, require_group

    pop = read_population(path)
    if pop.level != "village":
        raise InputError(f"{path.name}: siting needs people per village; this is a {pop.level}-level file "
                         f"({pop.layout})")
    column = "children" if objective == "children" else "total"
    require_group(pop, column)
    return pop.villages.set_index("villcode")[column]


@app.command()
def brief(
    county: Annotated[str | None, typer.Option("--county", "-c", help="County/city; default the national brief.")
                      ] = None,
    facilities: FacilitiesOpt = None,
    as_of: AsOfOpt = None,
    definition: DefinitionOpt = "presence",
    boundaries: BoundariesOpt = None,
    population: PopulationOpt = None,
    dem: Annotated[list[Path] | None, typer.Option("--dem", help="Elevation raster(s) for `mountain`.")] = None,
    targets_file: Annotated[Path | None, typer.Option("--targets", help="Targets file (scope,category,year,…).")
                            ] = None,
    no_siting: Annotated[bool, typer.Option("--no-siting", help="Leave out the siting suggestion.")] = False,
    out: OutOpt = Path("maps"),
) -> None:
    """The planning-meeting brief: ‹縣市›_brief.pptx (editable) and ‹縣市›_brief.pdf (A4 landscape)."""
    from .errors import CoverageError

    try:
        from .analysis import resolve_counties, run_coverage
        from .brief import write_brief
        from .geography import load_townships
        from .plan import load_targets

        names = resolve_counties([county], load_townships(boundaries)) if county else None
        result = run_coverage(facilities, counties=names, definition=definition, as_of=_parse_as_of(as_of),
                              boundaries=boundaries, population=population, dem=dem)
        paths = write_brief(result, out, names[0] if names else None, targets=load_targets(targets_file),
                            siting=not no_siting)
    except (CoverageError, OSError) as exc:
        raise _fail(exc) from exc
    typer.echo(f"wrote {paths['pptx']} and {paths['pdf']}")
