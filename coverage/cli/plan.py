"""Planning commands of the ``safetynet`` CLI: trend, targets, whatif, site, brief. Thin: parse, call, print."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from . import progress
from .display import print_frame, print_siting, print_trend, print_whatif, programme_label, series_with_facilities
from .exits import OptionError, failing, flag_names
from .options import (
    OutOpt,
    RunOptions,
    check_by_road,
    check_choice,
    check_definition,
    check_positive,
    check_removals,
    check_xy_datum,
    given_options,
    parse_as_of,
    parse_year_option,
    resolve_additions,
    resolve_age_group_option,
    resolve_category_option,
    resolve_category_options,
    resolve_county_option,
    resolve_county_options,
    with_options,
)
from .run import check_by_population, pipeline_keywords

__all__ = ["brief", "site", "targets", "trend", "whatif"]


def _load(opts: RunOptions) -> tuple[Any, Any]:
    """(The registries read, the townships): ``--facilities``, default the bundled seed registry."""
    from ..facilities import read_facilities
    from ..geography import load_townships

    towns = load_townships(opts.boundaries)
    with progress.step("讀取清冊 reading registries"):
        return read_facilities(registry_files(opts), townships=towns, xy_datum=opts.xy_datum), towns


def registry_files(opts: RunOptions) -> list[str]:
    """The registry files a command reads: ``--facilities``, default the bundled seed registry."""
    from ..datasets import get_path

    return [str(f) for f in (opts.facilities or [get_path("registry")])]


def _population(opts: RunOptions, towns: Any) -> tuple[Any, str]:
    """(Population, age group key) from ``--population``/``--age-group``, or (None, group)."""
    from ..population import read_population, require_group, resolve_age_group

    group = resolve_age_group(opts.age_group)
    if opts.population is None:
        return None, group
    with progress.step("讀取人口 reading population"):
        pop = read_population(opts.population, townships=towns)
    require_group(pop, group)
    return pop, group


@with_options("facilities county category year_from year_to roc definition boundaries out chart population "
              "age_group xy_datum")
def trend(
    opts: RunOptions,
    ctx: typer.Context,
    year_from: Annotated[str, typer.Option("--from", help="First year, e.g. 2019 or ROC 108.")] = "2019",
    year_to: Annotated[str | None, typer.Option("--to", help="Last year; default this year.")] = None,
    roc: Annotated[bool, typer.Option("--roc", help="Label years in ROC (民國).")] = False,
    out: OutOpt = Path("maps"),
    chart: Annotated[bool, typer.Option("--chart/--no-chart", help="Also write trend.png.")] = True,
) -> None:
    """Township coverage at each year end (from opening/closing dates): trend.csv and trend.png.

    With --population also the share of people (of --age-group) living in covered townships.
    """
    import datetime as dt

    with failing():
        from ..completeness import target_data
        from ..geography import load_townships
        from ..plan import coverage_trend
        from ..report import write_csv

        first = parse_year_option("--from", year_from)
        last = parse_year_option("--to", year_to) if year_to else dt.date.today().year
        if last < first:
            raise OptionError("--to", f"{year_to} is before --from {year_from}")
        definition = check_definition(opts.definition)
        resolve_age_group_option(opts.age_group)
        check_xy_datum(opts.xy_datum)
        check_by_population(opts, given_options(ctx))
        counties = resolve_county_options(opts.county, load_townships(opts.boundaries))
        registry, towns = _load(opts)
        cats = resolve_category_options(opts.category, set(registry.facilities["category"]))
        pop, group = _population(opts, towns)
        data = target_data(towns, cats or sorted(set(registry.facilities["category"])), registry.facilities,
                           registry_files(opts))
        table = coverage_trend(registry.facilities, towns, list(range(first, last + 1)), definition=definition,
                               categories=cats, counties=counties, population=pop, age_group=group, data=data)
        out.mkdir(parents=True, exist_ok=True)
        write_csv(table, out / "trend.csv")
        shown, hidden = series_with_facilities(table)
        png = None
        if chart and len(shown):
            from ..charts import trend_chart

            png = trend_chart(shown, out / "trend.png", roc=roc)
    print_trend(shown, roc=roc)
    undated = shown.loc[shown["undated"] > 0, ["county", "category"]].drop_duplicates() if len(shown) else shown
    if len(undated):
        typer.echo(f"{len(undated)} county × programme series count points without an opening date (設立日期) in "
                   "every year: their early years are upper bounds (see trend.csv `undated`)")
    if hidden:
        typer.echo(f"{hidden} county × programme series with no facility in any year are not shown (see trend.csv)")
    typer.echo(f"wrote {out / 'trend.csv'}" + (f", {png}" if png else ""))


@with_options("facilities targets_file as_of boundaries out xy_datum")
def targets(
    opts: RunOptions,
    targets_file: Annotated[Path | None, typer.Option("--targets", help="Targets CSV/XLSX; default national.")] = None,
    out: OutOpt = Path("maps"),
) -> None:
    """Current value vs targets: 已達標 / 未達標 and facilities still needed (targets.csv)."""
    with failing():
        from ..completeness import target_data
        from ..plan import compare_targets, load_targets
        from ..report import write_csv

        when = parse_as_of(opts.as_of)
        check_xy_datum(opts.xy_datum)
        registry, towns = _load(opts)
        wanted = load_targets(targets_file)
        data = target_data(towns, wanted["category"], registry.facilities, registry_files(opts))
        table = compare_targets(registry.facilities, towns, wanted, as_of=when, data=data)
        write_csv(table, out / "targets.csv")
    print_frame(table, "目標達成 targets", hide=("source", "met", "data"))
    typer.echo(f"wrote {out / 'targets.csv'}")


@with_options("facilities add remove scenario county category definition as_of boundaries population age_group "
              "xy_datum distance_km network speeds road_class_column road_layer access_kmh within_min across_counties")
def whatif(
    opts: RunOptions,
    ctx: typer.Context,
    add: Annotated[list[str] | None, typer.Option("--add", help="縣市鄉鎮市區:category; repeatable.")] = None,
    remove: Annotated[list[str] | None, typer.Option("--remove", help="Facility name; repeatable.")] = None,
    scenario: Annotated[Path | None, typer.Option(help="CSV with action (add/remove) and target columns.")] = None,
) -> None:
    """Recompute coverage with facilities added/removed and print before → after.

    With --population also the share of people (of --age-group) living in covered townships, and
    of those within --distance-km of a point where it changes (each county's own points unless
    --across-counties, as in report and site); with --network also of those within --within-min
    minutes by road.
    """
    with failing():
        from ..completeness import target_data
        from ..geography import load_townships
        from ..plan import whatif as run_whatif

        when = parse_as_of(opts.as_of)
        definition = check_definition(opts.definition)
        resolve_age_group_option(opts.age_group)
        check_xy_datum(opts.xy_datum)
        if not add and not remove and not scenario:
            raise OptionError("--add", "nothing to change: give --add, --remove or --scenario")
        if opts.network is not None and opts.population is None:
            raise OptionError("--network", "the what-if in minutes is a share of people: give --population FILE")
        check_positive("--within-min", opts.within_min)
        check_positive("--access-kmh", opts.access_kmh)
        check_by_road(opts.network, given_options(ctx))
        check_by_population(opts, given_options(ctx))
        counties = resolve_county_options(opts.county, load_townships(opts.boundaries))
        registry, towns = _load(opts)
        present = set(registry.facilities["category"])
        cats = resolve_category_options(opts.category, present)
        adds, removes = _changes(add or [], remove or [], scenario, registry, towns)
        pop, group = _population(opts, towns)
        table = run_whatif(registry.facilities, towns, adds, removes, definition=definition, as_of=when,
                           counties=counties, categories=cats, population=pop, age_group=group)
        within = by_road = None
        if pop is not None:
            from ..access import whatif_within
            from ..plan import apply_scenario

            after = apply_scenario(registry.facilities, towns, adds, removes)
            within = whatif_within(registry.facilities, after, towns, pop, group=group, distance_km=opts.distance_km,
                                   as_of=when, counties=counties, categories=cats,
                                   across_counties=opts.across_counties)
            net = _road_network(opts)
            if net is not None:
                from ..traveltime import whatif_within_minutes

                with progress.step("路網時間 minutes by road"):
                    by_road = whatif_within_minutes(registry.facilities, after, towns, pop, network=net,
                                                    within_min=opts.within_min, group=group, as_of=when,
                                                    counties=counties, categories=cats,
                                                    across_counties=opts.across_counties, access_kmh=opts.access_kmh)
    print_whatif(table, within, population=pop is not None, distance_km=opts.distance_km,
                 across_counties=opts.across_counties)
    if len(table):  # a change on a programme whose county data are incomplete: its "before" is not the county's
        data = target_data(towns, sorted(set(table["category"])), registry.facilities, registry_files(opts))
        changed = data.merge(table[["county", "category"]].drop_duplicates(), on=["county", "category"])
        for row in changed[changed["data"] != "complete"].itertuples(index=False):
            what = "部分資料 partial data: 'before' is a floor" if row.data == "partial" else \
                "無資料 no data: 'before' counts no point"
            typer.echo(f"note: {row.county} {programme_label(row.category)}: {what} (the registry does not list "
                       "every point of the programme there)")
    if by_road is not None:
        _print_within_minutes(by_road, opts.within_min, net.source, across_counties=opts.across_counties)


def _print_within_minutes(table: Any, within_min: float, source: str, *, across_counties: bool) -> None:
    """People within ``within_min`` minutes by road before → after, beside the straight-line figure."""
    from ..traveltime import BY_ROAD

    whose = "every county's points" if across_counties else "each county's own points"
    label = f"{within_min:g} {BY_ROAD}"
    if not len(table):
        typer.echo(f"people within {label} of a point ({whose}): unchanged; road network: {source}")
        return
    shown = table.assign(**{f"≤{within_min:g}min": [
        f"{a:,}/{t:,} ({ra:.1f}%) → {b:,}/{t:,} ({rb:.1f}%)"
        for a, b, t, ra, rb in zip(table["people_within_min_before"], table["people_within_min_after"],
                                   table["people_placed"], table["within_min_rate_before"],
                                   table["within_min_rate_after"], strict=True)]})
    print_frame(shown[["county", "category", f"≤{within_min:g}min"]], f"路網 people within {label} ({whose})")
    typer.echo(f"road network: {source}")


def _changes(add: list[str], remove: list[str], scenario: Path | None, registry: Any, towns: Any
             ) -> tuple[list[str], list[str]]:
    """The additions (programme keys filled in) and removals of ``--add``, ``--remove`` and ``--scenario``.

    The options' values are usage errors (exit 2); the scenario file's, input errors naming it (exit 1).
    """
    from ..errors import InputError
    from ..plan import read_scenario

    present = set(registry.facilities["category"])
    adds, removes = resolve_additions(add, towns, present), list(remove)
    check_removals(removes, registry.facilities["name"])
    if scenario:
        more_add, more_remove = read_scenario(scenario)
        try:
            adds += resolve_additions(more_add, towns, present, name="add")
            check_removals(more_remove, registry.facilities["name"], name="remove")
        except OptionError as exc:
            raise InputError(f"{Path(scenario).name}: {exc}") from exc
        removes += more_remove
    return adds, removes


@with_options("county category new radius_km radius_min network speeds road_class_column road_layer access_kmh "
              "objective population candidates facilities as_of time_limit boundaries out no_map offline xy_datum "
              "across_counties")
def site(
    opts: RunOptions,
    ctx: typer.Context,
    county: Annotated[str, typer.Option("--county", "-c", help="County/city, e.g. 嘉義縣.")],
    category: Annotated[str, typer.Option(help="Programme, e.g. community_support_point.")],
    new: Annotated[int | None, typer.Option("--new", help="Number of new points (townships: default fewest)")] = None,
    radius_km: Annotated[float, typer.Option("--radius-km", help="Service radius, km.")] = 5.0,
    radius_min: Annotated[float | None, typer.Option(
        "--radius-min", help="Service radius in minutes by road (with --network, instead of --radius-km).")] = None,
    objective: Annotated[str, typer.Option(help="townships, population or children.")] = "townships",
    population: Annotated[Path | None, typer.Option(help="MOI village population file.")] = None,
    candidates: Annotated[
        str, typer.Option(help="villages (default) or a registry-format file of sites.")
    ] = "villages",
    time_limit: Annotated[float, typer.Option("--time-limit", help="Solver seconds before greedy/incumbent.")] = 60.0,
    out: OutOpt = Path("maps"),
    no_map: Annotated[
        bool, typer.Option("--no-map", help="Do not write the map sites_<county>_<category>.html.")
    ] = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Map's JavaScript/CSS into DIR/lib, no basemap: works without internet.")
    ] = False,
) -> None:
    """Recommend where k new points should go (MCLP / set cover, solved exactly with HiGHS).

    Writes sites.csv, sites.json and the map sites_<county>_<category>.html (existing points,
    township fill 現況/新增後, numbered new sites and their service radius). With --network and
    --radius-min the radius is minutes by road (no map: its circles are straight lines).
    """
    with failing():
        from .. import run_coverage
        from ..geography import load_townships, load_villages
        from ..siting import site_new_points
        from ..sitingio import record_data_state, write_siting

        when = parse_as_of(opts.as_of)
        check_xy_datum(opts.xy_datum)
        objective = _check_siting(objective, population=population, new=new, radius_km=radius_km,
                                  time_limit=time_limit)
        _check_by_road(opts, radius_min, given_options(ctx))
        towns = load_townships(opts.boundaries)
        county_name = resolve_county_option(county, towns)
        cat: str | None
        try:  # one of the four programmes; a custom one is checked against the registry below
            cat = resolve_category_option(category, ())
        except OptionError:
            cat = None
        # Coverage of the county now (the map's 現況), from the same read of the registries.
        with progress.step("計算涵蓋率 computing coverage"):
            report = run_coverage(**pipeline_keywords(opts, counties=[county_name], categories=[cat or category],
                                                      as_of=when, across_counties=False))  # 現況: as reported
        if cat is None:
            cat = resolve_category_option(category, set(report.registry.facilities["category"]))
        pop = _village_population(population, objective)
        cand, cand_notes, cand_rejected = _candidates(candidates, cat, towns, opts.xy_datum)
        net = _road_network(opts)
        by_road = {} if net is None else {"network": net, "radius_min": radius_min, "access_kmh": opts.access_kmh}
        with progress.step("選址 siting"):
            plan = site_new_points(report.registry.facilities, towns, load_villages(), county=county_name,
                                   category=cat, new=new, radius_km=radius_km, objective=objective, population=pop,
                                   candidates=cand, as_of=report.as_of, time_limit=time_limit,
                                   across_counties=opts.across_counties, **by_road)
        data_note = record_data_state(plan, report)
        if data_note is not None:
            cand_notes = [*cand_notes, flag_names(data_note)]
        if net is not None:
            cand_notes = [*cand_notes, f"road network {net.source}"]
            if not no_map:
                cand_notes.append("no map with --network: the siting map draws straight-line circles")
        written = write_siting(report, plan, out, site_map=not no_map and net is None, offline=offline)
    print_siting(plan, county_name, cat, objective=objective, radius_km=radius_km, population=pop is not None,
                 notes=cand_notes, rejected=cand_rejected, written=written)


def _check_siting(objective: str, *, population: Path | None, new: int | None, radius_km: float,
                  time_limit: float) -> str:
    """The objective's key, after checking it and the numbers of ``site`` (usage errors, exit 2)."""
    from ..sitingio import SITING_OBJECTIVES

    objective = check_choice("--objective", objective, SITING_OBJECTIVES, lambda v: v.strip().lower())
    if objective != "townships" and population is None:
        raise OptionError("--objective", f"{objective} needs people per village: give --population FILE")
    if objective != "townships" and new is None:
        raise OptionError("--new", f"is required with --objective {objective} (how many new points)")
    check_positive("--new", new)
    check_positive("--radius-km", radius_km)
    check_positive("--time-limit", time_limit)
    return objective


def _check_by_road(opts: RunOptions, radius_min: float | None, given: frozenset[str]) -> None:
    """``--network`` and ``--radius-min`` go together; other road options need ``--network`` (usage errors: exit 2)."""
    if radius_min is not None and opts.network is None:
        raise OptionError("--radius-min", "needs --network FILE (a service radius in minutes is by road)")
    if opts.network is not None and radius_min is None:
        raise OptionError("--network", "siting by road needs --radius-min MINUTES (the service radius)")
    check_positive("--radius-min", radius_min)
    check_positive("--access-kmh", opts.access_kmh)
    check_by_road(opts.network, given)


def _road_network(opts: RunOptions) -> Any:
    """The road network of ``--network`` (with ``--speeds``, ``--road-class-column``, ``--road-layer``), or None."""
    if opts.network is None:
        return None
    from ..traveltime import road_network

    with progress.step("讀取道路網 reading the road network"):
        return road_network(opts.network, speeds=opts.speeds, road_class_column=opts.road_class_column,
                            layer=opts.road_layer)


def _candidates(candidates: str, category: str, towns: Any, xy_datum: str) -> tuple[Any, list[str], Any]:
    """(Candidate sites or None for every village, notes, rejected candidate rows or None)."""
    if candidates == "villages":
        return None, [], None
    from ..siting import read_candidates

    cand, rejected, notes = read_candidates(candidates, category=category, townships=towns, xy_datum=xy_datum)
    return cand, notes, rejected


def _village_population(path: Path | None, objective: str) -> Any:
    """People per village (Series by villcode) for the objective's age group, or None without ``--population``."""
    if path is None:
        return None
    from ..sitingio import village_population

    with progress.step("讀取人口 reading population"):
        return village_population(path, objective=objective)


@with_options("county facilities as_of definition boundaries population dem targets_file no_siting out")
def brief(
    opts: RunOptions,
    county: Annotated[str | None, typer.Option("--county", "-c", help="County/city; default the national brief.")
                      ] = None,
    dem: Annotated[list[Path] | None, typer.Option("--dem", help="Elevation raster(s) for `mountain`.")] = None,
    targets_file: Annotated[Path | None, typer.Option("--targets", help="Targets file (scope,category,year,…).")
                            ] = None,
    no_siting: Annotated[bool, typer.Option("--no-siting", help="Leave out the siting suggestion.")] = False,
    out: OutOpt = Path("maps"),
) -> None:
    """The planning-meeting brief: ‹縣市›_brief.pptx (editable) and ‹縣市›_brief.pdf (A4 landscape)."""
    with failing():
        from .. import run_coverage
        from ..brief import write_brief
        from ..geography import load_townships
        from ..pipeline import resolve_counties
        from ..plan import load_targets

        # a county that is not one is an input error here (exit 1), as it always was for brief
        names = resolve_counties([county] if county else None, load_townships(opts.boundaries))
        with progress.step("計算涵蓋率 computing coverage"):
            result = run_coverage(**pipeline_keywords(opts, counties=names, as_of=parse_as_of(opts.as_of), dem=dem))
        paths = write_brief(result, out, names[0] if names else None, targets=load_targets(targets_file),
                            siting=not no_siting)
    typer.echo(f"wrote {paths['pptx']} and {paths['pdf']}")
