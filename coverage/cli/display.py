"""Terminal output of the ``safetynet`` command line (rich tables, plain lines). Presentation only."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    from .. import CoverageReport
    from ..facilities import Registry

__all__ = [
    "COLUMN_HEADERS",
    "print_frame",
    "print_report",
    "print_siting",
    "print_table",
    "print_trend",
    "print_validation",
    "print_whatif",
    "programme_label",
    "report_printer",
    "series_with_facilities",
]


def _console() -> Console:
    from rich.console import Console

    return Console(soft_wrap=False)


# A cell of figures only ("17/18", "57,108/57,947 (98.6%) → 57,947/57,947 (100.0%)", "<3"): never wrapped.
_FIGURES = re.compile(r"^[\s\d.,/%()+\-–→<>≥≤~]*\d[\s\d.,/%()+\-–→<>≥≤~]*$")
_ARROW = " → "


def _is_figure(cell: str) -> bool:
    return bool(_FIGURES.match(cell))


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]], *,
                console: Console | None = None) -> None:
    """A terminal table in which no figure is ever split across lines or cut.

    A column whose cells are all figures is never wrapped (its header may be, onto two lines).
    When the terminal is too narrow for those columns, ``before → after`` cells go on two lines;
    when it is still too narrow, each row is printed as a block of ``header value`` lines (a
    vertical layout).

    Parameters
    ----------
    title : str
    headers : sequence of str
    rows : sequence of sequences of str
        Cells as printed.
    console : rich.console.Console, optional
        Default: one on stdout, as wide as the terminal.
    """
    con = console or _console()
    rows = [[str(c) for c in r] for r in rows]
    figure = [any(r[i].strip() for r in rows) and all(_is_figure(r[i]) for r in rows if r[i].strip())
              for i in range(len(headers))]
    for text_min in (12, 6):  # text columns fold, down to this width (or their own, if narrower)
        for split, brk in ((False, False), (False, True), (True, True)):
            shown = [[c.replace(_ARROW, "\n→ ") if split and figure[i] else c for i, c in enumerate(r)]
                     for r in rows]
            heads = [_break_header(h, [r[i] for r in shown]) if brk and figure[i] else h
                     for i, h in enumerate(headers)]
            widths = [max([_width(h)] + [_width(r[i]) for r in shown]) for i, h in enumerate(heads)]
            widths = [w if figure[i] else min(w, text_min) for i, w in enumerate(widths)]
            if sum(widths) + 3 * len(widths) - 1 > con.width:  # padding and rules, no outer edge
                continue
            table = _grid(title, heads, shown, figure, widths)
            plain = _plain_render(con.width, table)
            if _figures_whole(con.width, plain, shown, figure):
                if _renders_plain(con):  # what con.print(table) would write: the table is not rendered again
                    con.out(plain, end="", highlight=False)
                else:
                    con.print(table)
                return
    _print_vertical(con, title, headers, rows)


def _width(text: str) -> int:
    from rich.cells import cell_len

    return max((cell_len(line) for line in text.split("\n")), default=0)


def _break_header(head: str, cells: list[str]) -> str:
    """A figure column's header on two lines when it is wider than the column's figures."""
    from rich.cells import cell_len

    widest = max([_width(c) for c in cells] + [4])
    if cell_len(head) <= widest or " " in head or "\n" in head:
        return head
    cut = next((k for k in range(len(head), 0, -1) if cell_len(head[:k]) <= max(widest, cell_len(head) // 2 + 1)),
               len(head))
    return head[:cut] + "\n" + head[cut:]


def _grid(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]], figure: Sequence[bool],
          widths: Sequence[int]) -> Table:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    t = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False)
    for head, fig, width in zip(headers, figure, widths, strict=True):
        if fig:
            t.add_column(head, justify="right", no_wrap=True)
        else:
            t.add_column(head, overflow="fold", min_width=width)
    for r in rows:
        t.add_row(*(Text(c) for c in r))
    return t


def _plain_render(width: int, table: Table) -> str:
    """``table`` as a console ``width`` cells wide without colour writes it."""
    import io

    from rich.console import Console

    plain = Console(width=width, file=io.StringIO(), color_system=None, soft_wrap=False, highlight=False)
    with plain.capture() as cap:
        plain.print(table)
    return cap.get()


def _renders_plain(con: Console) -> bool:
    """Whether ``con`` writes a table as :func:`_plain_render` does: no colour, not a terminal, UTF-8."""
    return con.color_system is None and not con.is_terminal and not con.is_jupyter and con.encoding == "utf-8" \
        and not con.legacy_windows


def _figures_whole(width: int, rendered: str, rows: Sequence[Sequence[str]], figure: Sequence[bool]) -> bool:
    """Whether a table ``rendered`` ``width`` cells wide (:func:`_plain_render`) shows every line of every
    figure whole, on one line."""
    lines = rendered.splitlines()
    if any(_width(line) > width for line in lines):
        return False
    for r in rows:
        for cell, fig in zip(r, figure, strict=True):
            for part in cell.split("\n") if fig else ():
                if part.strip() and not any(part.strip() in line for line in lines):
                    return False
    return True


def _print_vertical(con: Console, title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    from rich.cells import cell_len

    con.print(f"[bold]{title}[/bold]" if title else "")
    pad = max((cell_len(h) for h in headers), default=0)
    for n, r in enumerate(rows, start=1):
        con.print(f"── {n} ──", highlight=False, markup=False)
        for head, cell in zip(headers, r, strict=True):
            gap = " " * (pad - cell_len(head))
            lines = [cell]
            if _is_figure(cell) and 4 + pad + _width(cell) > con.width:  # before, then → after below it
                lines = cell.replace(_ARROW, "\n→ ").split("\n")
            con.print(f"  {head}{gap}  {lines[0]}", highlight=False, markup=False)
            for more in lines[1:]:
                con.print(f"  {' ' * pad}  {more}", highlight=False, markup=False)


def programme_label(category: str) -> str:
    """Short zh-TW name of a programme for terminal tables (``community_support_point`` → 小衛星).

    Parameters
    ----------
    category : str
        A programme key, or a custom programme's name (returned as it is).

    Returns
    -------
    str
    """
    from ..programmes import SHORT_LABELS

    return SHORT_LABELS.get(category, category)


_label = programme_label


def print_report(result: CoverageReport, paths: dict[str, Path]) -> None:
    """Summary table of coverage, flagged gaps, rejections and files written.

    Parameters
    ----------
    result : CoverageReport
    paths : dict of str to Path
        What was written, by name (``map NAME`` for the HTML maps).
    """
    report_printer(result)(paths)


def report_printer(result: CoverageReport) -> Callable[[dict[str, Path]], None]:
    """Lay out :func:`print_report`'s summary now (while files are still being written), print it later.

    Parameters
    ----------
    result : CoverageReport

    Returns
    -------
    callable
        Takes the paths written (as for :func:`print_report`) and prints what :func:`print_report`
        prints, byte for byte: the summary laid out before, then the files.
    """
    con = _console()
    with con.capture() as cap:
        _print_summary(con, result)
    text = cap.get()

    def show(paths: dict[str, Path]) -> None:
        con.file.write(text)
        _print_written(con, paths)

    return show


def _print_summary(con: Console, result: CoverageReport) -> None:
    from ..programmes import custom_programmes

    title = f"鄉鎮市區涵蓋率 township coverage — as of {result.as_of.date().isoformat()} ({result.definition})"
    headers = ["縣市", "類別", "據點", "涵蓋", "涵蓋率 %", "尚缺"]
    acc = result.access
    pop_rows = {}
    if acc is not None:  # population coverage next to township coverage
        headers += ["人口涵蓋%", f"≤{acc.distance_km:g}km%"]
        if acc.within_min is not None:  # with --network: the minutes twin
            headers.append(f"≤{acc.within_min:g}min%")
        pop_rows = {(r.county, r.category): r for r in acc.counties.itertuples(index=False)}
    empty = 0
    rows = []
    for row in result.counties.itertuples(index=False):
        missing = "、".join(row.missing)
        data = row.data
        rate = f"{row.rate:.1f}" + ("（部分資料）" if data == "partial" else "")
        if data == "none" or (row.facilities == 0 and row.covered_with_planned == 0):
            empty += 1
            rate = "無資料" if data == "none" else rate
            missing = ("—（無資料 no data）" if data == "none"
                       else f"全部 {row.total}（清冊無此類據點 none in registry）")
        elif len(row.missing) > 8:
            missing = "、".join(row.missing[:8]) + f" …（共 {len(row.missing)}）"
        cells = [row.county, _label(row.category), str(row.facilities), f"{row.covered}/{row.total}",
                 rate, missing]
        if acc is not None:
            p = pop_rows.get((row.county, row.category))
            cells += [_pct(getattr(p, "population_rate", None)), _pct(getattr(p, "within_rate", None))]
            if acc.within_min is not None:
                cells.append(_pct(getattr(p, "within_min_rate", None)))
        rows.append(cells)
    if len(rows) > 1 and len({r[0] for r in rows}) == 1:  # one county: its name in the title, not in each row
        title = f"{rows[0][0]} {title}"
        headers, rows = headers[1:], [r[1:] for r in rows]
    print_table(title, headers, rows, console=con)
    if result.travel is not None:
        _print_travel(con, result)
    if acc is not None:
        _print_population(con, result)
    # flagged gaps where the county has the programme at all (a county with none is one line below)
    present = result.counties.loc[result.counties["facilities"] > 0, ["county", "category"]]
    flagged = result.gaps[result.gaps["flagged"]].merge(present, on=["county", "category"])
    if "data" in flagged:  # gaps on partial data last: the township may have a point the registry lacks
        flagged = flagged.sort_values("data", key=lambda d: d != "complete", kind="stable")
    if len(flagged):
        partial = int((flagged["data"] == "partial").sum()) if "data" in flagged else 0
        con.print(f"[bold]偏遠/山地/沿海/離島缺口 flagged gaps:[/bold] {len(flagged)}"
                  + (f"（其中 {partial} 處屬部分資料，可能已有清冊未列之據點）" if partial else ""))
        for g in flagged.head(20).itertuples(index=False):
            tag = "  （部分資料）" if getattr(g, "data", "complete") == "partial" else ""
            con.print(f"  {g.county}{g.township}  {_label(g.category)}  [{g.flags}]{tag}", highlight=False)
        if len(flagged) > 20:
            con.print(f"  … {len(flagged) - 20} more in summary.json")
    if empty:
        con.print(f"[yellow]{empty} county × category pairs have no data (無資料): no registry read has a point "
                  "of the programme there; they are not shown as 0%[/yellow]")
    reg = result.registry
    _print_skipped(con, reg)
    con.print(f"registry: {reg.rows_read} rows read, {len(reg.facilities)} accepted, "
              f"{reg.rows_read - len(reg.facilities)} rejected, {len(reg.mismatches)} mismatches (location or status)")
    custom = custom_programmes(reg.facilities["category"])
    if custom:
        con.print(f"custom programmes (自訂類別): {'、'.join(custom)}", highlight=False, markup=False)


def _print_written(con: Console, paths: dict[str, Path]) -> None:
    maps = {name: path for name, path in paths.items() if name.startswith("map ")}
    for name, path in paths.items():
        if name not in maps:
            con.print(f"wrote {name}: {path}", highlight=False)
    if maps:
        index = maps.get("map index", next(iter(maps.values())))
        con.print(f"wrote {len(maps)} HTML maps; open {index}", highlight=False)


def _print_skipped(con: Console, registry: Registry) -> None:
    """What the files held but was not read (hidden sheets and rows, other layers, duplicate columns)."""
    for line in registry.skipped:
        con.print(f"not read (未讀取): {line}", highlight=False, markup=False)


def _pct(value: object) -> str:
    import math

    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.1f}"


def _print_travel(con: Console, result: CoverageReport) -> None:
    """Where the minutes by road come from (and whether the graph came from the cache), and what has none."""
    settings = result.travel_settings or {}
    cache = "graph from the cache 快取" if settings.get("graph_from_cache") else "graph built 建立路網"
    name = Path(settings["file"]).name if settings.get("file") else result.network
    con.print(f"道路 road network: {name}; {cache}; speeds "
              f"{settings.get('speeds', 'default')}; off-road legs at {settings.get('access_kmh', 15.0):g} km/h",
              highlight=False, markup=False)
    if settings.get("features_without_geometry"):
        con.print(f"  {settings['features_without_geometry']:,} features of the road file have no geometry: not "
                  "roads, not routed", highlight=False, markup=False)
    if settings.get("oneway_unknown"):
        unknown = settings["oneway_unknown"]
        listed = ", ".join(f"{v} ({n:,})" for v, n in list(unknown.items())[:10])
        con.print(f"  {sum(unknown.values()):,} roads with an OSM oneway value of no known meaning, taken both ways: "
                  f"{listed}", highlight=False, markup=False)
    acc = result.access
    if acc is not None and acc.within_min is not None:
        fca = (f"; 2SFCA in minutes: catchment {acc.catchment_min:g} min (fca_2sfca_min)"
               if acc.catchment_min is not None else "")
        con.print(f"  ≤{acc.within_min:g}min = share living within {acc.within_min:g} minutes by road of a "
                  f"facility{fca}; priorities weighted by minutes", highlight=False, markup=False)
    assert result.travel is not None
    none = result.travel.loc[result.travel["nearest_min"].isna(), "reason"].value_counts()
    if len(none):
        listed = "; ".join(f"{reason} {n:,}" for reason, n in none.items())
        con.print(f"  village × programme pairs without minutes 無道路時間: {listed} (travel_times.csv)",
                  highlight=False, markup=False)


def _print_population(con: Console, result: CoverageReport) -> None:
    """Where the population figures come from, and the top gap priorities."""
    from ..population import AGE_GROUPS

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
    """Accepted / rejected / mismatched rows of one registry.

    Parameters
    ----------
    registry : Registry
    """
    from rich.table import Table

    from ..programmes import custom_programmes

    con = _console()
    fac = registry.facilities
    con.print(f"{registry.rows_read} rows read: {len(fac)} accepted, "
              f"{registry.rows_read - len(fac)} rejected, {len(registry.mismatches)} mismatched")
    withheld = registry.withheld_columns
    if withheld:
        con.print(f"personal columns withheld from every output (個資欄位不輸出): {'、'.join(withheld)}; "
                  "name one with --public-column to keep it", highlight=False, markup=False)
    custom = custom_programmes(fac["category"])
    if custom:
        con.print(f"custom programmes (自訂類別, not one of the four): {'、'.join(custom)}", highlight=False,
                  markup=False)
    _print_skipped(con, registry)
    if len(fac):
        counts = fac.groupby(["county", "category"]).size().reset_index(name="n")
        t = Table(title="accepted")
        for col in ("縣市", "類別", "筆數"):
            t.add_column(col)
        for r in counts.itertuples(index=False):
            t.add_row(r.county, _label(r.category), str(r.n))
        con.print(t)
    if len(registry.rejected):
        for line in _whole_file_rejections(registry):
            con.print(line, highlight=False, markup=False, soft_wrap=True)
        # one line per rejection (not a table, never wrapped): messages stay whole and greppable
        con.print("[bold]rejected[/bold]")
        for r in registry.rejected.itertuples(index=False):
            con.print(f"  {r.file} row {r.row}, {r.field}={r.value!r}: {r.reason}", highlight=False, markup=False,
                      soft_wrap=True)
    if len(registry.mismatches):
        t = Table(title="mismatches (location: coordinates win; status: not open when the status says so)")
        for col in registry.mismatches.columns:
            t.add_column(str(col))
        for r in registry.mismatches.itertuples(index=False):
            t.add_row(*map(str, r))
        con.print(t)


def _whole_file_rejections(registry: Registry) -> list[str]:
    """One hint per file whose every row was rejected on the same field: most likely a missing column."""
    rej = registry.rejected
    accepted = set(registry.facilities["file"]) if "file" in registry.facilities else set()
    lines = []
    for file, rows in rej.groupby("file", sort=False):
        n = rows["row"].nunique()
        every = rows.groupby("field")["row"].nunique()  # sorted by field: the same hint on every run
        common = every[every == n]
        if file in accepted or n < 2 or common.empty:
            continue
        field = str(common.index[0])
        lines.append(f"{file}: every row ({n}) was rejected on `{field}`: is that column missing or "
                     "named differently? (the registry format is in the README)")
    return lines


# ----------------------------------------------------------------------------- planning commands

#: zh-TW headers of the planning tables' columns.
COLUMN_HEADERS = {
    "year": "年", "roc_year": "民國年", "county": "縣市", "scope": "範圍", "category": "類別", "covered": "涵蓋",
    "total": "鄉鎮市區數", "rate": "涵蓋率%", "facilities": "據點", "measure": "指標", "current": "現況",
    "target": "目標", "gap": "差距", "status": "達成", "still_needed": "尚需", "rank": "序", "township": "鄉鎮市區",
    "village": "村里", "people_newly_within_radius": "新增服務人口", "township_newly_covered": "新涵蓋鄉鎮",
    "newly_covered": "新涵蓋", "newly_uncovered": "失去涵蓋", "people_covered": "涵蓋人口",
    "people_total": "人口", "population_rate": "人口涵蓋率%", "candidate": "候選點",
}


def print_frame(frame: pd.DataFrame, title: str, hide: tuple[str, ...] = ()) -> None:
    """A table (:func:`print_table`) of ``frame``: zh-TW headers, programme labels, lists joined, 是 for true.

    Parameters
    ----------
    frame : pandas.DataFrame
    title : str
    hide : tuple of str
        Columns left out.
    """
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
            elif v is None or type(v).__name__ == "NAType" or (isinstance(v, float) and v != v):
                v = "—"  # not judged / no value
            cells.append(str(v))
        rows.append(cells)
    print_table(title, [COLUMN_HEADERS.get(str(c), str(c)) for c in frame.columns], rows)


def series_with_facilities(table: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """(Rows of the county × category series that have a facility in some year, number of series left out).

    Every year of a kept series is kept, from the first year asked for, zeros included. When no
    series has a facility, all are kept (the table then shows the zeros rather than nothing).

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`coverage.coverage_trend`'s table.

    Returns
    -------
    tuple of (pandas.DataFrame, int)
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


def print_trend(table: pd.DataFrame, *, roc: bool) -> None:
    """The trend, narrow: covered/total in one cell; a county or programme common to all rows goes in the title.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`coverage.coverage_trend`'s table (the rows to show).
    roc : bool
        Years as ROC (民國) years.
    """
    import pandas as pd

    year = "roc_year" if roc else "year"
    if not len(table):
        typer.echo("no county × programme to show: the registry has no accepted facility for this selection")
        return
    shown = pd.DataFrame({year: table[year], "county": table["county"], "category": table["category"],
                          "facilities": table["facilities"]})
    shown["covered"] = [f"{a}/{t}" for a, t in zip(table["covered"], table["total"], strict=True)]
    data = table["data"] if "data" in table else pd.Series("complete", index=table.index)
    shown["rate"] = ["無資料" if d == "none" else f"{r:.1f}" + ("（部分資料）" if d == "partial" else "")
                     for r, d in zip(table["rate"], data, strict=True)]
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
    print_frame(shown, title)


def _people(a: Any, t: Any) -> str:
    import math

    if any(isinstance(v, float) and math.isnan(v) for v in (a, t)):
        return "–"
    return f"{int(a):,}/{int(t):,}"


def print_whatif(table: pd.DataFrame, within: pd.DataFrame | None, *, population: bool, distance_km: float,
                 across_counties: bool) -> None:
    """A what-if's before → after: townships covered, and with population the people covered and within reach.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`coverage.whatif`'s table.
    within : pandas.DataFrame, optional
        People within ``distance_km`` before and after, where it changes.
    population : bool
        Whether ``table`` has the population columns.
    distance_km : float
    across_counties : bool
        Whether other counties' points counted.
    """
    shown = table.assign(
        涵蓋=[f"{a}/{t} → {b}/{t}" for a, b, t in zip(table["covered_before"], table["covered_after"],
                                                      table["total"], strict=True)],
        涵蓋率=[f"{a:.1f}% → {b:.1f}%" for a, b in zip(table["rate_before"], table["rate_after"], strict=True)],
    )
    cols = ["county", "category", "涵蓋", "涵蓋率"]
    if population:
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
    print_frame(shown, title)
    if within is None:
        return
    whose = "every county's points" if across_counties else "each county's own points"
    if not len(within):
        typer.echo(f"people within {distance_km:g} km of a point ({whose}): unchanged")
        return
    shown = within.assign(**{f"≤{distance_km:g}km": [
        f"{a:,}/{t:,} ({ra:.1f}%) → {b:,}/{t:,} ({rb:.1f}%)"
        for a, b, t, ra, rb in zip(within["people_within_before"], within["people_within_after"],
                                   within["people_placed"], within["within_rate_before"],
                                   within["within_rate_after"], strict=True)]})
    print_frame(shown[["county", "category", f"≤{distance_km:g}km"]],
                f"{distance_km:g} km 內人口 people within {distance_km:g} km ({whose})")


def print_siting(plan: Any, county: str, category: str, *, objective: str, radius_km: float, population: bool,
                 notes: Sequence[str], rejected: pd.DataFrame | None, written: Sequence[Path]) -> None:
    """The suggested sites, townships covered before → after, the solver's figures and the files written.

    Parameters
    ----------
    plan : SitingPlan
        :func:`coverage.site_new_points`' result.
    county, category : str
    objective : str
    radius_km : float
    population : bool
        Whether people per village were given.
    notes : sequence of str
        Notes on the candidate sites.
    rejected : pandas.DataFrame, optional
        Rejected candidate rows.
    written : sequence of Path
    """
    s = plan.summary
    for note in notes:
        typer.echo(f"note: {note}")
    if rejected is not None and len(rejected):
        from ..rejections import rejected_rows

        first = rejected.iloc[0]
        typer.echo(f"note: {rejected_rows(rejected)} candidate rows rejected, e.g. row {first['row']}: "
                   f"{first['reason']}")
    radius = f"{radius_km:g} km"
    if s.get("radius_min") is not None:  # sited by road (site --network)
        radius = f"{s['radius_min']:g} {s['distance']}"
    print_frame(plan.sites, f"建議新設點 {county} {programme_label(category)}（{objective}, {radius}）",
                hide=("towncode", "county", "service_radius", "network"))
    if s.get("radius_min") is not None:
        typer.echo(f"service radius {radius} on {s['network']} (off-road legs at {s['access_kmh']:g} km/h)")
        if s.get("villages_off_network"):
            from ..traveltime import MAX_SNAP_KM

            typer.echo(f"note: {s['villages_off_network']} villages are off the road network (no road within "
                       f"{MAX_SNAP_KM:g} km): never within the radius")
    if not population:
        typer.echo("note: no --population given; townships are ranked without population (ties by township code)")
    people = (f"; people within {radius} {s['population_within_radius_before']:,} → "
              f"{s['population_within_radius_after']:,}") if population else ""
    typer.echo(
        f"townships covered {s['townships_covered_before']}/{s['townships_total']} ({s['rate_before']}%) → "
        f"{s['townships_covered_after']}/{s['townships_total']} ({s['rate_after']}%){people}"
    )
    typer.echo(f"solver: {s['method']} ({s['status']}), optimality gap {100 * s['optimality_gap']:.3f}%, "
               f"{s['solve_seconds']} s; wrote {', '.join(str(p) for p in written)}")
