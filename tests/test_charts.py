"""trend.png (coverage.charts): legend outside the plot, a distinct style per series, small multiples.

Drawing needs a CJK font (the ``cjk_font`` fixture: skipped locally without one, a failure in CI);
what does not draw is tested without it."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest
from typer.testing import CliRunner

from coverage.charts import MAX_SERIES_ONE_PANEL, PALETTE, series_style
from coverage.cli import app

COUNTIES = ["新北市", "臺中市", "嘉義縣", "臺東縣", "澎湖縣", "花蓮縣"]


def trend_frame(counties, categories, years=range(2019, 2025), people=False) -> pd.DataFrame:
    rows = []
    for k, (county, cat) in enumerate(itertools.product(counties, categories)):
        for i, year in enumerate(years):
            rate = min(100.0, 10.0 + 5 * i + k)
            row = {"year": year, "roc_year": year - 1911, "county": county, "category": cat, "covered": 1,
                   "total": 10, "rate": rate, "facilities": 1}
            if people:
                row.update(people_covered=10, people_total=100, population_rate=rate / 2)
            rows.append(row)
    return pd.DataFrame(rows)


def legend_and_axes(fig):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
    assert len(legends) == 1
    axes = [ax for ax in fig.axes if ax.get_visible()]
    return legends[0].get_window_extent(renderer), [ax.get_window_extent(renderer) for ax in axes], axes


@pytest.mark.parametrize(("counties", "categories", "people"), [
    (["嘉義縣"], ["community_support_point"], False),
    (["臺中市", "嘉義縣"], ["community_support_point", "mental_health_centre"], False),
    (["臺中市", "嘉義縣"], ["community_support_point", "mental_health_centre"], True),
    (COUNTIES, ["welfare_centre", "community_support_point"], False),
])
def test_legend_lies_outside_every_plot(cjk_font, counties, categories, people):
    import matplotlib.pyplot as plt

    from coverage.charts import trend_figure

    fig = trend_figure(trend_frame(counties, categories, people=people))
    try:
        legend, boxes, _ = legend_and_axes(fig)
        for box in boxes:
            assert not legend.overlaps(box), (legend, box)
    finally:
        plt.close(fig)


def test_first_64_series_styles_are_distinct():
    assert len({series_style(i) for i in range(64)}) == 64
    assert all(series_style(i)[0] in PALETTE for i in range(64))


def test_series_styles_are_distinct(cjk_font):
    """Every series of one plot has its own colour and marker (4 series)."""
    import matplotlib.pyplot as plt

    from coverage.charts import trend_figure

    fig = trend_figure(trend_frame(["臺中市", "嘉義縣"], ["community_support_point", "mental_health_centre"]))
    try:
        lines = fig.axes[0].get_lines()
        assert len(lines) == 4
        assert len({line.get_color() for line in lines}) == 4
        assert len({line.get_marker() for line in lines}) == 4
        assert all(line.get_color() in PALETTE for line in lines)
    finally:
        plt.close(fig)


def test_many_series_become_one_panel_per_county(cjk_font):
    """12 series (6 counties × 2 programmes): 6 panels; a programme keeps its style in every panel."""
    import matplotlib.pyplot as plt

    from coverage.charts import trend_figure

    frame = trend_frame(COUNTIES, ["welfare_centre", "community_support_point"])
    assert frame.groupby(["county", "category"]).ngroups > MAX_SERIES_ONE_PANEL
    fig = trend_figure(frame)
    try:
        _, _, axes = legend_and_axes(fig)
        assert [ax.get_title() for ax in axes] == COUNTIES
        styles = {(line.get_label(), line.get_color(), line.get_marker()) for ax in axes for line in ax.get_lines()}
        assert len(styles) == 2 and len({s[0] for s in styles}) == 2
        # every panel shows its years (bottom row, and panels with no panel below)
        assert all(any(t.get_text() for t in ax.get_xticklabels()) for ax in axes[-3:])
    finally:
        plt.close(fig)


def _trend_command(tmp_path, *extra):
    reg = tmp_path / "reg.csv"
    reg.write_text("category,name,county,township,opened\n"
                   "小衛星,甲,嘉義縣,竹崎鄉,2022-03-01\n小衛星,乙,嘉義縣,民雄鄉,2023-05-01\n", encoding="utf-8")
    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["trend", "-f", str(reg), "--county", "嘉義縣", "--from", "2019", "--to", "2024",
                                      "--out", str(out), *extra], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    return result, out


def test_trend_command_starts_at_from_year(tmp_path):
    """Early years with no facility still show: the table and trend.csv start at --from (no chart: no font needed)."""
    result, out = _trend_command(tmp_path, "--no-chart")
    years = [int(line.split()[0]) for line in result.stdout.splitlines() if line.strip()[:4].isdigit()]
    assert years == list(range(2019, 2025))
    first = next(line for line in result.stdout.splitlines() if line.strip().startswith("2019"))
    assert "0/18" in first
    trend = pd.read_csv(out / "trend.csv", encoding="utf-8-sig")
    assert trend["year"].min() == 2019
    assert not (out / "trend.png").exists()


def test_trend_command_writes_png(tmp_path, cjk_font):
    _, out = _trend_command(tmp_path)
    assert (out / "trend.png").read_bytes()[:4] == b"\x89PNG"
    assert pd.read_csv(out / "trend.csv", encoding="utf-8-sig")["year"].min() == 2019
