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

    con = _console()
    table = Table(
        title=f"鄉鎮市區涵蓋率 township coverage — as of {result.as_of.date().isoformat()} ({result.definition})"
    )
    for col, justify in (("縣市", "left"), ("類別", "left"), ("據點", "right"), ("涵蓋", "right"),
                         ("涵蓋率 %", "right"), ("尚缺", "left")):
        table.add_column(col, justify=justify, overflow="fold")
    empty = 0
    for row in result.counties.itertuples(index=False):
        missing = "、".join(row.missing)
        if row.facilities == 0 and row.covered_with_planned == 0:
            empty += 1
            missing = f"全部 {row.total}（清冊無此類據點 none in registry）"
        elif len(row.missing) > 8:
            missing = "、".join(row.missing[:8]) + f" …（共 {len(row.missing)}）"
        table.add_row(row.county, _label(row.category), str(row.facilities), f"{row.covered}/{row.total}",
                      f"{row.rate:.1f}", missing)
    con.print(table)
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
              f"{reg.rows_read - len(reg.facilities)} rejected, {len(reg.mismatches)} location mismatches")
    maps = {name: path for name, path in paths.items() if name.startswith("map ")}
    for name, path in paths.items():
        if name not in maps:
            con.print(f"wrote {name}: {path}", highlight=False)
    if maps:
        index = maps.get("map index", next(iter(maps.values())))
        con.print(f"wrote {len(maps)} HTML maps; open {index}", highlight=False)


def print_validation(registry: Registry) -> None:
    """Accepted / rejected / mismatched rows of one registry."""
    from rich.table import Table

    con = _console()
    fac = registry.facilities
    con.print(f"{registry.rows_read} rows read: {len(fac)} accepted, "
              f"{registry.rows_read - len(fac)} rejected, {len(registry.mismatches)} mismatched")
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
        t = Table(title="location mismatches (coordinates win)")
        for col in registry.mismatches.columns:
            t.add_column(str(col))
        for r in registry.mismatches.itertuples(index=False):
            t.add_row(*map(str, r))
        con.print(t)
