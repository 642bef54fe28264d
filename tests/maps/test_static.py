"""Printable county figures (coverage.maps.static): labels, scale bar, clipping, village level, no data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import event, given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from coverage.errors import CoverageError, InputError
from coverage.geography import PROJECTED_CRS, load_townships
from coverage.maps import (
    NO_DATA_COLOUR,
    NO_DATA_LABEL,
    county_figure,
    draw_county_figure,
    label_offsets,
    scale_bar_corner,
    write_maps,
)
from coverage.pipeline import run_coverage
from tests.conftest import require


@pytest.fixture(scope="module")
def national():
    return run_coverage()


def _image(path):
    import matplotlib.image

    return matplotlib.image.imread(path)


def test_scale_bar_avoids_land():
    land = box(0, 0, 40_000, 20_000)  # land in the lower left quarter of a 100 × 100 km frame
    corner, bar = scale_bar_corner(land, (0, 0, 100_000, 100_000))
    assert corner == "lower right"
    assert not land.intersects(box(*bar))
    everywhere = box(-1, -1, 100_001, 100_001)
    assert scale_bar_corner(everywhere, (0, 0, 100_000, 100_000))[0] == "lower left"  # all equal: the first


def test_matsu_scale_bar_off_the_islands():
    towns = load_townships()
    matsu = towns[towns["county"] == "連江縣"].to_crs(PROJECTED_CRS)
    land = matsu.union_all()
    corner, bar = scale_bar_corner(land, tuple(matsu.total_bounds))
    assert corner != "lower left"  # 莒光 sits there
    assert land.intersection(box(*bar)).area == 0


def test_labels_move_off_markers():
    labels = [(0, 0), (10_000, 0)]
    assert label_offsets(labels, [(100, 50)], radius=500) == [-8.0, 0.0]
    assert label_offsets(labels, [], radius=500) == [0.0, 0.0]
    assert label_offsets(np.empty((0, 2)), [(0, 0)], radius=500) == []


def test_tall_county_footer_not_clipped(national, font, tmp_path):
    require(font is not None, "no CJK font installed (fonts-noto-cjk) for zh-TW figure labels")
    png = county_figure(national, "臺東縣", tmp_path / "臺東縣.png")
    img = _image(png)
    ink = (img[..., :3].mean(axis=2) < 0.6)
    rows = np.flatnonzero(ink.any(axis=1))
    # the lowest ink (the sources footer) ends above the bottom margin: nothing was cut at the edge
    assert rows.max() < img.shape[0] - 5
    assert rows.min() > 5


def test_village_level_draws_villages(font, tmp_path, shared_data):
    require(font is not None, "no CJK font installed (fonts-noto-cjk) for zh-TW figure labels")
    report = run_coverage(counties=["嘉義縣"],
                          population=shared_data / "population" / "village_population_agegroups_2021-03.csv")
    town = county_figure(report, "嘉義縣", tmp_path / "t.png")
    village = county_figure(report, "嘉義縣", tmp_path / "v.png", level="village")
    a, b = _image(town), _image(village)
    # village fill by distance: greens absent from the township figure appear
    dark_green = lambda img: ((img[..., 1] > 0.35) & (img[..., 0] < 0.1) & (img[..., 2] < 0.25)).sum()  # noqa: E731
    assert dark_green(b) > 10 * max(dark_green(a), 1)
    with pytest.raises(InputError, match="level="):
        county_figure(report, "嘉義縣", tmp_path / "x.png", level="street")


def test_identical_inputs_identical_png(national, font, tmp_path):
    require(font is not None, "no CJK font installed (fonts-noto-cjk) for zh-TW figure labels")
    one = county_figure(national, "連江縣", tmp_path / "a.png").read_bytes()
    two = county_figure(national, "連江縣", tmp_path / "b.png").read_bytes()
    assert one == two


def test_static_county_figure(chiayi_report, tmp_path):
    from coverage.charts import cjk_font


    try:
        cjk_font()
        has_font = True
    except CoverageError:
        has_font = False
    require(has_font, "no CJK font installed (fonts-noto-cjk) for zh-TW figure labels")
    import matplotlib.image

    paths = write_maps(chiayi_report, tmp_path, png=True)
    png = paths["嘉義縣.png"]
    assert png == tmp_path / "嘉義縣.png"
    height, width, _ = matplotlib.image.imread(png).shape
    assert width > 1000 and height > 1000  # five panels (four programmes and the test's own), legend, title
    assert not list(tmp_path.rglob("*.part"))


# ---------------------------------------------------------------------------------------------
# no data is not 0%: grey, 無資料, never a gap (issue 15 item 3), as on the HTML maps


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def _mask(path, hex_colour: str, tolerance: int) -> np.ndarray:
    """Where the PNG is within ``tolerance`` of a colour on every channel."""
    from PIL import Image

    img = np.asarray(Image.open(path).convert("RGB")).astype(int)
    return np.abs(img - np.array(_rgb(hex_colour))).max(axis=2) <= tolerance


def _pixels(path, hex_colour: str, tolerance: int = 6) -> int:
    return int(_mask(path, hex_colour, tolerance).sum())


@pytest.fixture(scope="module")
def no_data_report(tmp_path_factory):
    """嘉義縣 from a user registry of 小衛星 only: 社福中心 has no point in any registry read (data none)."""
    reg = tmp_path_factory.mktemp("reg") / "reg.csv"
    reg.write_text("category,name,county,township\n小衛星,甲,嘉義縣,竹崎鄉\n小衛星,乙,嘉義縣,民雄鄉\n",
                   encoding="utf-8")
    report = run_coverage([reg], counties=["嘉義縣"], categories=["community_support_point", "welfare_centre"])
    data = report.counties.set_index("category")["data"]
    assert data["welfare_centre"] == "none" and data["community_support_point"] == "complete"
    return report


def _titles(fig) -> list[str]:
    return [ax.get_title() for ax in fig.axes if ax.get_visible()]


def _legend_labels(fig) -> list[str]:
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def test_no_data_panel_is_grey_not_gaps(no_data_report, font):
    """The 無資料 panel: every township grey, no red gap outline, title 無資料 (not 0/18, 0.0%)."""
    require(font is not None, "no CJK font installed (fonts-noto-cjk) for zh-TW figure labels")
    from matplotlib.colors import to_hex

    from coverage.maps import GAP_COLOUR, STATE_COLOURS

    fig = draw_county_figure(no_data_report, "嘉義縣", dpi=40)
    titles = _titles(fig)
    assert titles[0].startswith("社會福利服務中心") and titles[0].endswith("無資料")
    assert "0/18" not in titles[0] and "%" not in titles[0]
    assert "2/18" in titles[1] and "無資料" not in titles[1]
    none_ax, data_ax = fig.axes[0], fig.axes[1]

    def faces(ax):
        return {to_hex(c) for coll in ax.collections for c in coll.get_facecolors() if c[3] > 0}

    def edges(ax):
        return {to_hex(c) for coll in ax.collections for c in coll.get_edgecolors() if c[3] > 0}

    assert NO_DATA_COLOUR in faces(none_ax)
    assert not faces(none_ax) & {to_hex(c) for c in STATE_COLOURS.values()}
    assert GAP_COLOUR not in edges(none_ax)
    assert GAP_COLOUR in edges(data_ax)  # 16 of 18 townships without a 小衛星 are gaps
    assert NO_DATA_COLOUR not in faces(data_ax)
    assert NO_DATA_LABEL in _legend_labels(fig)


def test_no_data_pixels(no_data_report, font, tmp_path):
    """Read back with PIL: the 無資料 panel is grey with no gap red; the panel with data has red outlines."""
    require(font is not None, "no CJK font installed (fonts-noto-cjk) for zh-TW figure labels")
    from coverage.maps import GAP_COLOUR, STATE_COLOURS, UNCOVERED, UNCOVERED_FLAGGED

    none = county_figure(no_data_report, "嘉義縣", tmp_path / "none.png", categories=["welfare_centre"], dpi=40)
    data = county_figure(no_data_report, "嘉義縣", tmp_path / "data.png", categories=["community_support_point"],
                         dpi=40)
    assert _pixels(none, NO_DATA_COLOUR, 2) > 5_000  # the county, grey (and the legend's swatch)
    red = _mask(none, GAP_COLOUR, 30)
    assert red.sum() < 100  # the legend's 缺口 swatch only: below the map
    assert np.flatnonzero(red.any(axis=1)).min() > 0.6 * red.shape[0]
    assert _pixels(none, STATE_COLOURS[UNCOVERED], 2) < 200  # the legend's swatches only
    assert _pixels(data, GAP_COLOUR, 30) > 200
    assert _pixels(data, STATE_COLOURS[UNCOVERED], 2) + _pixels(data, STATE_COLOURS[UNCOVERED_FLAGGED], 2) > 5_000
    assert _pixels(data, NO_DATA_COLOUR, 2) < _pixels(none, NO_DATA_COLOUR, 2) / 10  # text antialiasing only


def test_complete_data_has_no_data_notes(no_data_report, font):
    require(font is not None, "no CJK font installed (fonts-noto-cjk) for zh-TW figure labels")
    fig = draw_county_figure(no_data_report, "嘉義縣", categories=["community_support_point"], dpi=40)
    texts = _titles(fig) + _legend_labels(fig) + [t.get_text() for t in fig.texts]
    assert not any("無資料" in t or "部分資料" in t for t in texts)


def test_partial_data_says_so(national, font):
    """A programme with partial data: 部分資料 in its panel title and the note under the figure."""
    require(font is not None, "no CJK font installed (fonts-noto-cjk) for zh-TW figure labels")
    from coverage.facilities import CATEGORIES

    counties = national.counties
    partial = counties[counties["data"] == "partial"]
    require(len(partial) > 0, "the bundled registry has no partial county × programme")
    county, cat = partial.iloc[0][["county", "category"]]
    complete = counties[(counties["county"] == county) & (counties["data"] == "complete")]["category"].tolist()
    fig = draw_county_figure(national, county, categories=[cat, *complete], dpi=40)
    from coverage.maps import ordered_categories

    titles = dict(zip(ordered_categories([cat, *complete]), _titles(fig), strict=True))
    assert titles[cat].endswith("部分資料")
    row = partial.iloc[0]
    assert f"{row['covered']}/{row['total']}" in titles[cat]  # the figures still show, marked
    notes = [t.get_text() for t in fig.texts if "部分資料" in t.get_text()]
    assert len(notes) == 1 and f"部分資料（{CATEGORIES[cat]}）" in notes[0]
    assert all("部分資料" not in titles[c] for c in complete)


def test_village_level_no_data_has_no_distance_fill(font, tmp_path, shared_data):
    """At village level a programme without data stays grey: no distance-to-nearest fill."""
    require(font is not None, "no CJK font installed (fonts-noto-cjk) for zh-TW figure labels")
    from matplotlib.colors import to_hex

    reg = tmp_path / "reg.csv"
    reg.write_text("category,name,county,township\n小衛星,甲,嘉義縣,竹崎鄉\n", encoding="utf-8")
    report = run_coverage([reg], counties=["嘉義縣"], categories=["community_support_point", "welfare_centre"],
                          population=shared_data / "population" / "village_population_agegroups_2021-03.csv")
    fig = draw_county_figure(report, "嘉義縣", level="village", dpi=40)
    greens = {"#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c"}

    def faces(ax):
        return {to_hex(c) for coll in ax.collections for c in coll.get_facecolors() if c[3] > 0}

    none_ax, data_ax = fig.axes[0], fig.axes[1]
    assert _titles(fig)[0].endswith("無資料")
    assert not faces(none_ax) & greens
    assert faces(data_ax) & greens
    assert NO_DATA_LABEL in _legend_labels(fig)


def test_png_identical_across_processes(font, tmp_path):
    """The same figure from a fresh interpreter has the same bytes (no timestamp, no process state)."""
    require(font is not None, "no CJK font installed (fonts-noto-cjk) for zh-TW figure labels")
    import subprocess
    import sys

    script = ("import sys; from coverage.pipeline import run_coverage; from coverage.maps import county_figure; "
              "county_figure(run_coverage(counties=['連江縣']), '連江縣', sys.argv[1], dpi=60)")
    other = tmp_path / "other.png"
    run = subprocess.run([sys.executable, "-c", script, str(other)], capture_output=True, text=True, timeout=600,
                         cwd=Path(__file__).resolve().parents[2])
    assert run.returncode == 0, run.stderr[-2000:]
    here = county_figure(run_coverage(counties=["連江縣"]), "連江縣", tmp_path / "here.png", dpi=60)
    assert here.read_bytes() == other.read_bytes()
    assert b"tEXt" not in here.read_bytes() and b"tIME" not in here.read_bytes()


# ---------------------------------------------------------------------------------------------
# polygon_paths: what is drawn is the polygon, holes included, however its rings are wound

_WINDING_CASES = {"hole wound like exterior": 0, "hole wound opposite": 0}


@st.composite
def _holed_polygons(draw):
    """A box with a box-shaped hole, each ring wound either way, sometimes as a part of a multipolygon,
    with None and empty geometries among them."""
    from shapely.geometry import MultiPolygon, Polygon

    x0, y0 = draw(st.floats(0, 30)), draw(st.floats(0, 30))
    w, h = draw(st.floats(30, 60)), draw(st.floats(30, 60))
    hx, hy = x0 + draw(st.floats(5, w / 2 - 5)), y0 + draw(st.floats(5, h / 2 - 5))
    hw, hh = draw(st.floats(5, w / 2 - 5)), draw(st.floats(5, h / 2 - 5))
    outer = [(x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h)]
    hole = [(hx, hy), (hx + hw, hy), (hx + hw, hy + hh), (hx, hy + hh)]
    if draw(st.booleans()):
        outer = outer[::-1]
    if draw(st.booleans()):
        hole = hole[::-1]
    polygon = Polygon(outer, [hole])
    same = shapely.is_ccw(polygon.exterior) == shapely.is_ccw(polygon.interiors[0])
    geom = MultiPolygon([polygon, box(95, 95, 99, 99)]) if draw(st.booleans()) else polygon
    extra = draw(st.sampled_from([[], [None], [Polygon()]]))
    return [*extra, geom], same


@settings(max_examples=30, deadline=None)
@given(case=_holed_polygons())
def test_polygon_paths_fill_is_the_polygon(case):
    """Rendered black on white: every pixel centre at least 1.5 px from an edge is black exactly where
    the polygon contains it (holes white, whichever way the rings are wound)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import PathCollection
    from matplotlib.figure import Figure

    from coverage.maps import polygon_paths

    geoms, same = case
    label = "hole wound like exterior" if same else "hole wound opposite"
    event(label)
    _WINDING_CASES[label] += 1
    paths = polygon_paths(np.array(geoms, dtype=object))
    assert len(paths) == len(geoms)
    assert all(len(p.vertices) == 0 for p, g in zip(paths, geoms, strict=True) if g is None or g.is_empty)
    fig = Figure(figsize=(2, 2), dpi=50)  # 100 × 100 px over 0..100: one unit a pixel
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_axis_off()
    ax.add_collection(PathCollection(paths, sizes=None, facecolors="black", edgecolors="none"))
    fig.canvas.draw()
    img = np.asarray(fig.canvas.buffer_rgba())[..., 0]
    shape = geoms[-1]
    xs, ys = np.meshgrid(np.arange(100) + 0.5, 100 - (np.arange(100) + 0.5))
    pts = shapely.points(xs.ravel(), ys.ravel())
    far = shapely.distance(pts, shape.boundary) > 1.5
    inside = shapely.contains(shape, pts)
    black = img.ravel() < 128
    assert far.sum() > 5_000
    assert (black[far] == inside[far]).all()


def test_polygon_paths_saw_both_windings():
    if sum(_WINDING_CASES.values()) == 0:
        pytest.skip("run with test_polygon_paths_fill_is_the_polygon")
    assert all(_WINDING_CASES.values()), _WINDING_CASES


# ---------------------------------------------------------------------------------------------
# many figures in worker processes (issue 16): the same bytes as one by one, listed in the manifest

_SMALL = ["連江縣", "金門縣", "澎湖縣"]  # the smallest counties: quick figures


@pytest.fixture(scope="module")
def islands():
    return run_coverage(counties=_SMALL)


def _figure_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_workers_write_the_same_bytes_as_one_process(islands, font, tmp_path):
    """``write_maps(png=True)`` with 2 worker processes writes exactly the files of the serial path (maps and
    figures), returns the same paths in the same order, and the manifest lists every figure with its digest."""
    require(font is not None, "no CJK font installed (fonts-noto-cjk) for zh-TW figure labels")
    import json

    from coverage.report import file_digest, output_run

    runs = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        with output_run(out):
            paths = write_maps(islands, out, png=True, offline=True, workers=workers, national=False)
        runs[workers] = (out, [(k, v.relative_to(out)) for k, v in paths.items()])
    (one, one_paths), (two, two_paths) = runs[1], runs[2]
    assert one_paths == two_paths
    assert [k for k, _ in one_paths if k.endswith(".png")] == [f"{c}.png" for c in sorted(_SMALL, key=_order(islands))]
    serial, parallel = _figure_bytes(one), _figure_bytes(two)
    assert serial.keys() == parallel.keys() and {f"{c}.png" for c in _SMALL} <= serial.keys()
    for name in serial:
        if name != "manifest.json":
            assert serial[name] == parallel[name], name
    listed = {f["path"]: f["sha256"] for f in json.loads((two / "manifest.json").read_text("utf-8"))["files"]}
    for county in _SMALL:
        assert listed[f"{county}.png"] == file_digest(two / f"{county}.png")
    assert (one / "manifest.json").read_bytes() == (two / "manifest.json").read_bytes()
    assert not list(two.rglob("*.part"))


def _order(report):
    counties = list(dict.fromkeys(report.counties["county"]))
    return counties.index


def test_a_worker_that_fails_leaves_its_figures_to_this_process(islands, font, tmp_path, monkeypatch):
    """Workers that cannot start, or die, or answer nonsense: every figure is still written, drawn here,
    with the same bytes."""
    require(font is not None, "no CJK font installed (fonts-noto-cjk) for zh-TW figure labels")
    import sys

    import coverage.maps.static as static

    expected = {c: county_figure(islands, c, tmp_path / f"serial-{c}.png").read_bytes() for c in _SMALL}
    broken = {
        "cannot start": [str(tmp_path / "no-such-python"), "-c", "pass"],
        "dies": [sys.executable, "-c", "import sys; sys.exit(3)"],
        "answers nonsense": [sys.executable, "-c", "import sys; sys.stdin.buffer.read(1); print('hello')"],
    }
    for label, command in broken.items():
        monkeypatch.setattr(static, "_worker_command", lambda command=command: command)
        out = tmp_path / label.replace(" ", "-")
        figures = [(c, out / f"{c}.png") for c in _SMALL]
        with static.county_figures(islands, figures, workers=2) as drawn:
            written = drawn()
        assert list(written) == _SMALL, label
        for county in _SMALL:
            assert written[county].read_bytes() == expected[county], (label, county)


def test_a_figure_that_fails_in_a_worker_raises_here(islands, font, tmp_path):
    """A figure whose drawing fails (a county not in the report) raises the error of the serial path, in
    this process, and the other figures are written."""
    require(font is not None, "no CJK font installed (fonts-noto-cjk) for zh-TW figure labels")
    from coverage.maps.static import county_figures

    figures = [("連江縣", tmp_path / "a.png"), ("臺北市", tmp_path / "b.png"), ("金門縣", tmp_path / "c.png")]
    with pytest.raises(InputError, match="臺北市"), county_figures(islands, figures, workers=2) as drawn:
        drawn()
    assert (tmp_path / "a.png").is_file() and not (tmp_path / "b.png").exists()
    assert not list(tmp_path.glob("*.part"))


def test_leaving_early_stops_the_workers(islands, font, tmp_path):
    """An error in the block (an HTML map that fails) stops the workers: no figure is written after the block,
    no temporary part is left, and the error is the block's."""
    require(font is not None, "no CJK font installed (fonts-noto-cjk) for zh-TW figure labels")
    import threading

    from coverage.maps.static import county_figures

    figures = [(c, tmp_path / f"{c}-{i}.png") for i in range(4) for c in _SMALL]
    before = threading.active_count()
    with pytest.raises(RuntimeError, match="html failed"), county_figures(islands, figures, workers=2):
        raise RuntimeError("html failed")
    written = sorted(tmp_path.glob("*.png"))
    assert len(written) < len(figures)  # at most the figures already being drawn
    assert threading.active_count() == before
    assert not list(tmp_path.glob("*.part"))
