"""Terminal output of the CLI (rich tables). Presentation only."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .analysis import CoverageReport
    from .facilities import Registry

__all__ = ["print_report", "print_validation"]


def _console():
    from rich.console import Console

    return Console(soft_wrap=False)


# Short names planners use for the four programmes, to keep terminal tables narrow.
_SHORT = {
    "welfare_centre": "社福中心",
    "community_support_point": "小衛星",
    "psychiatric_collab_point": "精障協作據點",
    "mental_health_centre": "心衛中心",
}


def _label(category: str) -> str:
    return _SHORT.get(category, category)


def print_report(result: CoverageReport, paths: dict[str, Path]) -> None:
    """Summary table of coverage, flagged gaps, rejections and files written."""
    from rich.table import Table

    from .programmes import custom_programmes

    con = _console()
    table = Table(
        title=f"鄉鎮市區涵蓋率 township coverage — as of {result.as_of.date().isoformat()} ({result.definition})"
    )
    for col, justify in (("縣市", "left"), ("類別", "left"), ("據點", "right"), ("涵蓋", "right"),
                         ("涵蓋率 %", "right"), ("尚缺", "left")):
        table.add_column(col, justify=justify, overflow="fold")
    acc = getattr(result, "access", None)
    pop_rows = {}
    if acc is not None:  # population coverage next to township coverage
        table.add_column("人口涵蓋%", justify="right", no_wrap=True)
        table.add_column(f"≤{acc.distance_km:g}km%", justify="right", no_wrap=True)
        pop_rows = {(r.county, r.category): r for r in acc.counties.itertuples(index=False)}
    empty = 0
    for row in result.counties.itertuples(index=False):
        missing = "、".join(row.missing)
        if row.facilities == 0 and row.covered_with_planned == 0:
            empty += 1
            missing = f"全部 {row.total}（清冊無此類據點 none in registry）"
        elif len(row.missing) > 8:
            missing = "、".join(row.missing[:8]) + f" …（共 {len(row.missing)}）"
        cells = [row.county, _label(row.category), str(row.facilities), f"{row.covered}/{row.total}",
                 f"{row.rate:.1f}", missing]
        if acc is not None:
            p = pop_rows.get((row.county, row.category))
            cells += [_pct(getattr(p, "population_rate", None)), _pct(getattr(p, "within_rate", None))]
        table.add_row(*cells)
    con.print(table)
    if acc is not None:
        _print_population(con, result)
    # flagged gaps where the county has the programme at all (a county with none is one line below)
    present = result.counties.loc[result.counties["facilities"] > 0, ["county", "category"]]
    flagged = result.gaps[result.gaps["flagged"]].merge(present, on=["county", "category"])
    if len(flagged):
        con.print(f"[bold]偏遠/山地/沿海/離島缺口 flagged gaps:[/bold] {len(flagged)}")
        for g in flagged.head(20).itertuples(index=False):
            con.print(f"  {g.county}{g.township}  {_label(g.category)}  [{g.flags}]", highlight=False)
        if len(flagged) > 20:
            con.print(f"  … {len(flagged) - 20} more in summary.json")
    if empty:
        con.print(f"[yellow]{empty} county × category pairs have no facility in the registry (0.0%); "
                  "is the registry complete for them?[/yellow]")
    reg = result.registry
    con.print(f"registry: {reg.rows_read} rows read, {len(reg.facilities)} accepted, "
              f"{reg.rows_read - len(reg.facilities)} rejected, {len(reg.mismatches)} mismatches (location or status)")
    custom = custom_programmes(reg.facilities["category"])
    if custom:
        con.print(f"custom programmes (自訂類別): {'、'.join(custom)}", highlight=False, markup=False)
    maps = {name: path for name, path in paths.items() if name.startswith("map ")}
    for name, path in paths.items():
        if name not in maps:
            con.print(f"wrote {name}: {path}", highlight=False)
    if maps:
        index = maps.get("map index", next(iter(maps.values())))
        con.print(f"wrote {len(maps)} HTML maps; open {index}", highlight=False)


def _pct(value) -> str:
    import math

    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.1f}"


def _print_population(con, result: CoverageReport) -> None:
    """Where the population figures come from, and the top gap priorities."""
    from .population import AGE_GROUPS

    pop, acc = result.population, result.access
    moved = "、".join(f"{r.how} {r.people:,}" for r in pop.matching.itertuples(index=False) if r.rows)
    con.print(f"人口 population: {Path(pop.file).name} ({pop.layout}, {pop.period or 'period not stated'}); "
              f"{AGE_GROUPS[acc.group][2]}; people matched by {moved}", highlight=False, markup=False)
    con.print(f"  人口涵蓋 = share living in covered townships; ≤{acc.distance_km:g}km = share living within "
              f"{acc.distance_km:g} km (straight line) of a facility, from {acc.basis}", highlight=False, markup=False)
    across = int(acc.counties["people_across_sea"].sum()) if len(acc.counties) else 0
    if across:
        con.print(f"  {across:,} people are within {acc.distance_km:g} km only across the sea (not counted)",
                  highlight=False)
    prio = result.priorities
    present = result.counties.loc[result.counties["facilities"] > 0, ["county", "category"]]
    prio = prio.merge(present, on=["county", "category"]) if prio is not None else None
    if prio is not None and len(prio):
        top = prio[prio["rank"] <= 3]
        con.print("[bold]優先順序 gap priorities[/bold] (top 3 per county × programme the registry has; "
                  "all in priorities.csv):")
        for r in top.head(24).itertuples(index=False):
            con.print(f"  {r.rank}. {r.county}{r.township}  {_label(r.category)}  score {r.score:,.0f}: {r.reasons}",
                      highlight=False, markup=False)


def print_validation(registry: Registry) -> None:
    """Accepted / rejected / mismatched rows of one registry."""
    from rich.table import Table

    from .programmes import custom_programmes

    con = _console()
    fac = registry.facilities
    con.print(f"{registry.rows_read} rows read: {len(fac)} accepted, "
              f"{registry.rows_read - len(fac)} rejected, {len(registry.mismatches)} mismatched")
    withheld = getattr(registry, "withheld_columns", ())
    if withheld:
        con.print(f"personal columns withheld from every output (個資欄位不輸出): {'、'.join(withheld)}; "
                  "name one with --public-column to keep it", highlight=False, markup=False)
    custom = custom_programmes(fac["category"])
    if custom:
        con.print(f"custom programmes (自訂類別, not one of the four): {'、'.join(custom)}", highlight=False,
                  markup=False)
    if len(fac):
        counts = fac.groupby(["county", "category"]).size().reset_index(name="n")
        t = Table(title="accepted")
        for col in ("縣市", "類別", "筆數"):
            t.add_column(col)
        for r in counts.itertuples(index=False):
            t.add_row(r.county, _label(r.category), str(r.n))
        con.print(t)
    if len(registry.rejected):
        # one line per rejection (not a table): messages stay whole and greppable
        con.print("[bold]rejected[/bold]")
        for r in registry.rejected.itertuples(index=False):
            con.print(f"  {r.file} row {r.row}, {r.field}={r.value!r}: {r.reason}", highlight=False, markup=False)
    if len(registry.mismatches):
        t = Table(title="mismatches (location: coordinates win; status: not open when the status says so)")
        for col in registry.mismatches.columns:
            t.add_column(str(col))
        for r in registry.mismatches.itertuples(index=False):
            t.add_row(*map(str, r))
        con.print(t)
