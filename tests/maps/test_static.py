"""Printable county figures (coverage.maps.static): labels, scale bar, clipping, village level."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import box

from coverage.errors import CoverageError, InputError
from coverage.geography import PROJECTED_CRS, load_townships
from coverage.maps import county_figure, label_offsets, scale_bar_corner, write_maps
from coverage.pipeline import run_coverage
from tests.conftest import require


@pytest.fixture(scope="module")
def font():
    from coverage.charts import cjk_font

    try:
        return cjk_font()
    except CoverageError:
        return None


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
