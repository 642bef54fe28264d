"""trend.png (coverage.charts): legend outside the plot, a distinct style per series, small multiples.

Drawing needs a CJK font (the ``cjk_font`` fixture: skipped locally without one, a failure in CI);
what does not draw is tested without it."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
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


# ---------------------------------------------------------------------------------------------
# write_png: one drawing pass, cropped to what was drawn; nothing clipped, identical bytes

_MARK_COLOURS = ("#ff0000", "#0000ff", "#00a000", "#ff00ff")
_WRITE_PNG_CASES = {"inside": 0, "outside": 0}


def _png(data: bytes):
    import io

    import numpy as np
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)


def _marks_figure(marks, size=(3.0, 2.0), dpi=50):
    """A bare Figure with solid, non-antialiased rectangles placed in figure fractions (x, y, w, h)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    fig = Figure(figsize=size, dpi=dpi)
    FigureCanvasAgg(fig)
    for (x, y, w, h), colour in zip(marks, _MARK_COLOURS, strict=False):
        fig.add_artist(Rectangle((x, y), w, h, transform=fig.transFigure, facecolor=colour, edgecolor="none",
                                 antialiased=False))
    return fig


@st.composite
def _marks(draw):
    """1–4 rectangles in separate horizontal bands (no overlap): all inside the canvas, or spread from
    well left of it to well right of it and from below to above it (partly or wholly outside)."""
    n = draw(st.integers(1, 4))
    inside = draw(st.booleans())
    marks = []
    for i in range(n):
        if inside:
            w, h = draw(st.floats(0.05, 0.3)), draw(st.floats(0.05, 0.18))
            x, y = draw(st.floats(0.0, 0.7)), 0.02 + 0.24 * i + draw(st.floats(0.0, 0.04))
        else:
            w, h = draw(st.floats(0.05, 0.3)), draw(st.floats(0.05, 0.3))
            x, y = draw(st.floats(-0.5, 1.3)), -0.4 + 0.5 * i + draw(st.floats(0.0, 0.15))
        marks.append((x, y, w, h))
    return marks


@settings(max_examples=40, deadline=None)
@given(marks=_marks())
def test_write_png_clips_nothing(marks):
    """Every mark arrives whole (its pixel count is its area), with at least the margin of white
    around all the ink, whether the marks lie inside the canvas (crop) or past it (canvas grown)."""
    import io

    import numpy as np

    from coverage.charts import write_png

    size, dpi, pad = (3.0, 2.0), 50, 0.25
    fig = _marks_figure(marks, size, dpi)
    outside = any(x < 0 or y < 0 or x + w > 1 or y + h > 1 for x, y, w, h in marks)
    case = "outside" if outside else "inside"
    event(case)
    _WRITE_PNG_CASES[case] += 1
    buf = io.BytesIO()
    write_png(fig, buf, pad_inches=pad)
    img = _png(buf.getvalue())
    for (_x, _y, w, h), colour in zip(marks, _MARK_COLOURS, strict=False):
        rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
        count = int((np.abs(img - rgb).max(axis=2) <= 2).sum())
        wpx, hpx = w * size[0] * dpi, h * size[1] * dpi
        assert (wpx - 1.5) * (hpx - 1.5) <= count <= (wpx + 1.5) * (hpx + 1.5), (colour, count, wpx, hpx)
    ink = (img < 250).any(axis=2)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    margin = pad * dpi - 2
    assert rows.min() >= margin and cols.min() >= margin
    assert img.shape[0] - 1 - rows.max() >= margin and img.shape[1] - 1 - cols.max() >= margin


def test_write_png_saw_both_paths():
    """The property test above reached both the crop (inside) and the grown canvas (outside)."""
    if sum(_WRITE_PNG_CASES.values()) == 0:
        pytest.skip("run with test_write_png_clips_nothing")
    assert _WRITE_PNG_CASES["inside"] > 0 and _WRITE_PNG_CASES["outside"] > 0, _WRITE_PNG_CASES


def test_write_png_like_savefig_tight(cjk_font, tmp_path):
    """Same size (±1 px) as savefig(bbox_inches="tight") of the same figure; RGB, no text chunks;
    identical figures give identical bytes."""
    import io

    from coverage.charts import trend_figure, write_png

    def fig():
        return trend_figure(trend_frame(["臺中市", "嘉義縣"], ["community_support_point", "mental_health_centre"]))

    import matplotlib.pyplot as plt

    one, two, ref = fig(), fig(), fig()
    try:
        a, b, c = io.BytesIO(), io.BytesIO(), io.BytesIO()
        write_png(one, a)
        write_png(two, b)
        ref.savefig(c, format="png", bbox_inches="tight", pad_inches=0.25)
    finally:
        for f in (one, two, ref):
            plt.close(f)
    assert a.getvalue() == b.getvalue()
    assert a.getvalue()[:8] == b"\x89PNG\r\n\x1a\n" and b"tEXt" not in a.getvalue() and b"tIME" not in a.getvalue()
    mine, theirs = _png(a.getvalue()), _png(c.getvalue())
    assert abs(mine.shape[0] - theirs.shape[0]) <= 1 and abs(mine.shape[1] - theirs.shape[1]) <= 1
