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


def _label(category: str) -> str:
    from .facilities import CATEGORIES

    return CATEGORIES.get(category, category)


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
        if row.facilities == 0 and row.covered_with_planned == 0:
            empty += 1
        missing = "、".join(row.missing)
        if len(row.missing) > 8:
            missing = "、".join(row.missing[:8]) + f" …（共 {len(row.missing)}）"
        table.add_row(row.county, _label(row.category), str(row.facilities), f"{row.covered}/{row.total}",
                      f"{row.rate:.1f}", missing)
    con.print(table)
    flagged = result.gaps[result.gaps["flagged"]]
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
    for name, path in paths.items():
        con.print(f"wrote {name}: {path}", highlight=False)


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
        t = Table(title="rejected")
        for col in ("file", "row", "field", "value", "reason"):
            t.add_column(col, overflow="fold")
        for r in registry.rejected.itertuples(index=False):
            t.add_row(str(r.file), str(r.row), str(r.field), str(r.value), str(r.reason))
        con.print(t)
    if len(registry.mismatches):
        t = Table(title="location mismatches (coordinates win)")
        for col in registry.mismatches.columns:
            t.add_column(str(col))
        for r in registry.mismatches.itertuples(index=False):
            t.add_row(*map(str, r))
        con.print(t)
