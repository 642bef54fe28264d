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
from .cli_options import (
    OptionError,
    check_choice,
    check_definition,
    check_positive,
    check_removals,
    check_xy_datum,
    parse_year_option,
    resolve_additions,
    resolve_age_group_option,
    resolve_category_options,
    resolve_county_options,
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
    from .display import print_table, programme_label

    frame = frame.drop(columns=[c for c in hide if c in frame])
    rows = []
    for row in frame.itertuples(index=False):
        cells = []
        for col, v in zip(frame.columns, row, strict=True):
            if isinstance(v, list | tuple):
                v = "、".join(map(str, v))
            elif col == "category":
                v = programme_label(v)
            elif isinstance(v, bool):
                v = "是" if v else ""
            cells.append(str(v))
        rows.append(cells)
    print_table(title, [_HEADERS.get(str(c), str(c)) for c in frame.columns], rows)


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
        from .geography import load_townships
        from .plan import coverage_trend
        from .report import write_csv

        first = parse_year_option("--from", year_from)
        last = parse_year_option("--to", year_to) if year_to else dt.date.today().year
        if last < first:
            raise OptionError("--to", f"{year_to} is before --from {year_from}")
        definition = check_definition(definition)
        resolve_age_group_option(age_group)
        check_xy_datum(xy_datum)
        counties = resolve_county_options(county, load_townships(boundaries))
        registry, towns = _load(facilities, boundaries, xy_datum)
        cats = resolve_category_options(category, set(registry.facilities["category"]))
        pop, group = _population(population, age_group, towns)
        table = coverage_trend(registry.facilities, towns, list(range(first, last + 1)), definition=definition,
                               categories=cats, counties=counties, population=pop, age_group=group)
        out.mkdir(parents=True, exist_ok=True)
        write_csv(table, out / "trend.csv")
        shown, hidden = _series_with_facilities(table)
        png = None
        if chart and len(shown):
            from .charts import trend_chart

            png = trend_chart(shown, out / "trend.png", roc=roc)
    except (CoverageError, OSError) as exc:
        raise _fail(exc) from exc
    _trend_table(shown, roc=roc)
    if hidden:
        typer.echo(f"{hidden} county × programme series with no facility in any year are not shown (see trend.csv)")
    typer.echo(f"wrote {out / 'trend.csv'}" + (f", {png}" if png else ""))


def _trend_table(table, *, roc: bool) -> None:
    """The trend, narrow: covered/total in one cell; a county or programme common to all rows goes in the title."""
    import pandas as pd

    from .display import programme_label

    year = "roc_year" if roc else "year"
    if not len(table):
        typer.echo("no county × programme to show: the registry has no accepted facility for this selection")
        return
    shown = pd.DataFrame({year: table[year], "county": table["county"], "category": table["category"],
                          "facilities": table["facilities"]})
    shown["covered"] = [f"{a}/{t}" for a, t in zip(table["covered"], table["total"], strict=True)]
    shown["rate"] = [f"{r:.1f}" for r in table["rate"]]
    if "people_covered" in table:
        shown["people_covered"] = [_people(a, t) for a, t in zip(table["people_covered"], table["people_total"],
                                                                  strict=True)]
        shown["population_rate"] = [_pct(r) for r in table["population_rate"]]
    title = "涵蓋率趨勢 coverage by year end"
    for col in ("county", "category"):
        if len(shown) > 1 and shown[col].nunique() == 1:
            value = shown[col].iloc[0]
            title += f" {programme_label(value) if col == 'category' else value}"
            shown = shown.drop(columns=[col])
    _table(shown, title)


def _people(a, t) -> str:
    import math

    if any(isinstance(v, float) and math.isnan(v) for v in (a, t)):
        return "–"
    return f"{int(a):,}/{int(t):,}"


def _pct(value) -> str:
    import math

    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.1f}"


def _series_with_facilities(table):
    """(rows of the county × category series that have a facility in some year, number of series left out).

    Every year of a kept series is kept, from the first year asked for, zeros included. When no
    series has a facility, all are kept (the table then shows the zeros rather than nothing).
    """
    keys = ["county", "category"]
    if not len(table):
        return table, 0
    has = table.groupby(keys, sort=False)["facilities"].transform("max") > 0
    if not has.any():
        return table, 0
    n_all = table[keys].drop_duplicates().shape[0]
    kept = table[has]
    return kept, n_all - kept[keys].drop_duplicates().shape[0]


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

        when = _parse_as_of(as_of)
        check_xy_datum(xy_datum)
        registry, towns = _load(facilities, boundaries, xy_datum)
        table = compare_targets(registry.facilities, towns, load_targets(targets_file), as_of=when)
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
        from .errors import InputError
        from .geography import load_townships
        from .plan import read_scenario
        from .plan import whatif as run_whatif

        when = _parse_as_of(as_of)
        definition = check_definition(definition)
        resolve_age_group_option(age_group)
        check_xy_datum(xy_datum)
        if not add and not remove and not scenario:
            raise OptionError("--add", "nothing to change: give --add, --remove or --scenario")
        counties = resolve_county_options(county, load_townships(boundaries))
        registry, towns = _load(facilities, boundaries, xy_datum)
        present = set(registry.facilities["category"])
        cats = resolve_category_options(category, present)
        adds, removes = resolve_additions(add or [], towns, present), list(remove or [])
        check_removals(removes, registry.facilities["name"])
        if scenario:
            more_add, more_remove = read_scenario(scenario)
            try:  # the file's additions and removals, checked like the options, but an input error (exit 1)
                adds += resolve_additions(more_add, towns, present, name="add")
                check_removals(more_remove, registry.facilities["name"], name="remove")
            except OptionError as exc:
                raise InputError(f"{Path(scenario).name}: {exc}") from exc
            removes += more_remove
        pop, group = _population(population, age_group, towns)
        table = run_whatif(registry.facilities, towns, adds, removes, definition=definition, as_of=when,
                           counties=counties, categories=cats, population=pop, age_group=group)
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
        shown["人口"] = [f"{t:,}" for t in table["people_total"]]
        shown["涵蓋人口 (%)"] = [
            f"{a:,} ({ra:.1f}%) → {b:,} ({rb:.1f}%)"
            for a, b, ra, rb in zip(table["people_covered_before"], table["people_covered_after"],
                                    table["population_rate_before"], table["population_rate_after"], strict=True)
        ]
        cols += ["人口", "涵蓋人口 (%)"]
    shown = shown[[*cols, "newly_covered", "newly_uncovered"]]
    title = "情境模擬 what-if (before → after)"
    if len(shown) > 1 and shown["county"].nunique() == 1:
        title += f" {shown['county'].iloc[0]}"
        shown = shown.drop(columns=["county"])
    _table(shown, title)
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

        from .geography import load_townships, load_villages
        from .pipeline import run_coverage
        from .report import atomic_open, write_csv
        from .siting import site_new_points

        when = _parse_as_of(as_of)
        check_xy_datum(xy_datum)
        objective = check_choice("--objective", objective, ("townships", "population", "children"),
                                 lambda v: v.strip().lower())
        if objective != "townships" and population is None:
            raise OptionError("--objective", f"{objective} needs people per village: give --population FILE")
        if objective != "townships" and new is None:
            raise OptionError("--new", f"is required with --objective {objective} (how many new points)")
        check_positive("--new", new)
        check_positive("--radius-km", radius_km)
        check_positive("--time-limit", time_limit)
        towns = load_townships(boundaries)
        (county_name,) = resolve_county_options([county], towns)
        try:  # one of the four programmes; a custom one is checked against the registry below
            (cat,) = resolve_category_options([category], ())
        except OptionError:
            cat = None
        # Coverage of the county now (the map's 現況), from the same read of the registries.
        report = run_coverage(facilities, counties=[county_name], categories=[cat or category], as_of=when,
                              boundaries=boundaries, xy_datum=xy_datum)
        if cat is None:
            (cat,) = resolve_category_options([category], set(report.registry.facilities["category"]))
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
        from .brief import write_brief
        from .geography import load_townships
        from .pipeline import resolve_counties, run_coverage
        from .plan import load_targets

        names = resolve_counties([county], load_townships(boundaries)) if county else None
        result = run_coverage(facilities, counties=names, definition=definition, as_of=_parse_as_of(as_of),
                              boundaries=boundaries, population=population, dem=dem)
        paths = write_brief(result, out, names[0] if names else None, targets=load_targets(targets_file),
                            siting=not no_siting)
    except (CoverageError, OSError) as exc:
        raise _fail(exc) from exc
    typer.echo(f"wrote {paths['pptx']} and {paths['pdf']}")
