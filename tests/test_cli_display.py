"""Terminal tables (coverage.cli.display): no figure is ever split across lines, at any width."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console

from coverage.cli.display import print_table

#: What `trend` and `whatif` print, with the widest figures the bundled data gives.
TREND = (
    ["年", "縣市", "類別", "據點", "涵蓋", "涵蓋率%", "涵蓋人口", "人口涵蓋率%"],
    [["2019", "新北市", "社福中心", "13831", "28/29", "96.6", "4,013,831/4,030,954", "99.6"],
     ["2020", "嘉義縣", "精障協作據點", "8", "17/18", "94.4", "492,547/498,031", "98.9"]],
)
WHATIF = (
    ["縣市", "類別", "涵蓋", "涵蓋率", "人口", "涵蓋人口 (%)", "新涵蓋", "失去涵蓋"],
    [["嘉義縣", "小衛星", "17/18 → 18/18", "94.4% → 100.0%", "498,031",
      "57,108 (11.5%) → 57,947 (11.6%)", "阿里山鄉", ""],
     ["臺中市", "心衛中心", "3/29 → 5/29", "10.3% → 17.2%", "2,850,285",
      "1,234,567 (43.3%) → 1,500,000 (52.6%)", "潭子區、太平區", "大甲區"]],
)


def render(headers, rows, width: int) -> list[str]:
    con = Console(width=width, file=io.StringIO(), color_system=None, soft_wrap=False, highlight=False)
    print_table("標題 title", headers, rows, console=con)
    return con.file.getvalue().splitlines()


def figures_whole(rows, lines) -> int:
    """Every number of every figure cell appears whole on one printed line; returns how many were checked."""
    checked = 0
    for row in rows:
        for cell in row:
            for number in re.findall(r"\d[\d,./%]*", cell):
                pattern = rf"(?<![\d,./]){re.escape(number)}(?![\d,./])"
                assert any(re.search(pattern, line) for line in lines), (number, "\n".join(lines))
                checked += 1
    return checked


@pytest.mark.parametrize("width", [120, 80, 60, 40])
@pytest.mark.parametrize("table", [TREND, WHATIF], ids=["trend", "whatif"])
def test_numbers_never_split(table, width):
    headers, rows = table
    lines = render(headers, rows, width)
    assert max(cell_len(line) for line in lines) <= width
    assert figures_whole(rows, lines) >= 12


def test_wide_terminal_is_one_grid_narrow_is_vertical():
    headers, rows = TREND
    wide = render(headers, rows, 120)
    assert any("28/29" in line and "4,013,831/4,030,954" in line for line in wide)  # one row on one line
    narrow = render(headers, rows, 40)
    assert "── 1 ──" in narrow and any(line.strip().startswith("涵蓋人口") for line in narrow)


def test_before_after_goes_on_two_lines_before_going_vertical():
    headers, rows = WHATIF
    lines = render(headers[:4], [r[:4] for r in rows], 44)
    assert "── 1 ──" not in lines
    first = next(i for i, line in enumerate(lines) if "17/18" in line)
    assert "18/18" not in lines[first] and "→ 18/18" in lines[first + 1]
    assert "94.4%" in lines[first] and "→ 100.0%" in lines[first + 1]


_figure = st.builds(
    lambda a, b, arrow: f"{a:,}/{b:,}" + (f" → {b:,}/{b:,}" if arrow else ""),
    st.integers(0, 10**7), st.integers(1, 10**7), st.booleans(),
) | st.builds(lambda x: f"{x:.1f}", st.floats(0, 100)) | st.integers(0, 10**9).map(str)
_text = st.text(alphabet="嘉義縣阿里山鄉社福中心小衛星 abc、", min_size=0, max_size=30)
_COUNT = {"examples": 0}


@settings(max_examples=60, deadline=None)
@given(
    kinds=st.lists(st.booleans(), min_size=1, max_size=9),
    data=st.data(),
    width=st.integers(30, 140),
)
def test_random_tables_never_split_a_figure(kinds, data, width):
    """Any mix of figure and text columns, any width: each figure stays whole on one line."""
    n_rows = data.draw(st.integers(1, 4))
    rows = [[data.draw(_figure if k else _text) for k in kinds] for _ in range(n_rows)]
    headers = [f"欄{i}" for i in range(len(kinds))]
    lines = render(headers, rows, width)
    assert max(cell_len(line) for line in lines) <= width
    vertical = any(line.startswith("── 1 ──") for line in lines)
    event("vertical layout" if vertical else "grid")
    # figures in figure columns: whole; text columns may fold
    figure_rows = [[c for c, k in zip(r, kinds, strict=True) if k] for r in rows]
    figures_whole(figure_rows, lines)
    _COUNT["examples"] += 1


def test_random_tables_reached_the_asserts():
    """Runs after the property test (file order): its examples got through every assert."""
    assert _COUNT["examples"] >= 30


# ---------------------------------------------------------------------------------------------
# the table rendered once (issue 16): the plain rendering written as it is, the same characters as con.print

_SAME = {"grid": 0}


def _printed(headers, rows, width: int, *, terminal: bool) -> str:
    """print_table on a console without colour; ``terminal`` makes it render the table again with con.print
    (a terminal without a colour system writes the same characters), otherwise it writes its plain rendering."""
    con = Console(width=width, file=io.StringIO(), color_system=None, soft_wrap=False, highlight=False,
                  force_terminal=terminal)
    print_table("標題 title", headers, rows, console=con)
    return con.file.getvalue()


@settings(max_examples=60, deadline=None)
@given(kinds=st.lists(st.booleans(), min_size=1, max_size=8), data=st.data(), width=st.integers(30, 160))
def test_the_plain_rendering_written_once_is_what_console_print_writes(kinds, data, width):
    rows = [[data.draw(_figure if k else _text) for k in kinds] for _ in range(data.draw(st.integers(1, 5)))]
    headers = [data.draw(st.sampled_from(["欄", "涵蓋率 %", "人口涵蓋率%", "x"])) + str(i) for i in range(len(kinds))]
    once = _printed(headers, rows, width, terminal=False)
    again = _printed(headers, rows, width, terminal=True)
    assert once == again
    if not once.splitlines()[1].startswith("── 1 ──"):
        _SAME["grid"] += 1
        event("grid (rendered once)")


def test_the_rendered_once_property_reached_grids():
    assert _SAME["grid"] >= 20, _SAME


def test_report_printer_prints_what_print_report_prints(capsys):
    from coverage.cli.display import print_report, report_printer
    from coverage.pipeline import run_coverage

    result = run_coverage(counties=["嘉義縣", "花蓮縣"], as_of="2024-06-30")
    paths = {"coverage": Path("out/coverage.csv"),
             "map 嘉義縣": Path("out/嘉義縣.html"),
             "map index": Path("out/index.html")}
    print_report(result, paths)
    direct = capsys.readouterr().out
    show = report_printer(result)  # laid out before the files exist
    assert capsys.readouterr().out == ""  # nothing printed yet
    show(paths)
    assert capsys.readouterr().out == direct
    assert "wrote 2 HTML maps; open out/index.html" in direct and "嘉義縣" in direct


def test_road_summary_counts_osm_oneway_values_of_no_known_meaning():
    """The run's road line says how many roads an OSM oneway value of no known meaning left both ways, with the
    values as written (markup-looking text printed as it is)."""
    from types import SimpleNamespace

    import pandas as pd

    from coverage.cli.display import _print_travel

    travel = pd.DataFrame({"nearest_min": [3.0], "reason": [""]})
    for unknown, want in (({}, None), ({"yes;no": 3, "[bold]x[/bold]": 1},
                                      "4 roads with an OSM oneway value of no known meaning, taken both ways: "
                                      "yes;no (3), [bold]x[/bold] (1)")):
        con = Console(file=io.StringIO(), width=200, color_system=None)
        settings = {"file": "taiwan.osm.pbf", "graph_from_cache": False, **({"oneway_unknown": unknown} if unknown
                                                                            else {})}
        _print_travel(con, SimpleNamespace(travel_settings=settings, network=None, access=None, travel=travel))
        text = con.file.getvalue()
        assert text.startswith("道路 road network: taiwan.osm.pbf; graph built")
        assert (want in text) if want else ("oneway" not in text)
