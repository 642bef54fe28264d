"""The maps in a real browser: headless Debian chromium driven by Playwright, with no network.

The maps are written with ``offline=True`` (JavaScript/CSS in ``lib/`` beside them, no basemap)
and every request that is not a local file is blocked and recorded, so these tests also prove
that the pages need no internet.

Skipped, with the reason, when Playwright or chromium is missing; failed instead in CI
(``tests.conftest.require``). ``scripts/install_system_deps.sh`` installs chromium and
``fonts-noto-cjk``; Playwright comes from the ``test`` extra. No browser is downloaded:
Playwright drives Debian's chromium through ``executable_path``.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import require
from tests.maps.conftest import (
    AS_OF,
    XSS_CATEGORY,
    XSS_IMG,
    XSS_SCRIPT,
    make_site_plan,
    payload_of,
    write_fixture_registry,
)

CHROMIUM = os.environ.get("SAFETYNET_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _playwright_installed() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


MAPS = ["嘉義縣.html", "taiwan.html"]
SITE_MAP = "sites_嘉義縣_welfare_centre.html"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """Offline maps of the seed registry plus a 嘉義縣 registry with points and hostile strings."""
    from coverage.datasets import get_path
    from coverage.maps import render_map, write_maps, write_site_map
    from coverage.pipeline import run_coverage
    from coverage.report import atomic_open

    root = tmp_path_factory.mktemp("site")
    registry = write_fixture_registry(root / "chiayi.csv")
    report = run_coverage([get_path("seed_registry"), registry], as_of=AS_OF)
    write_maps(report, root / "maps", offline=True)
    with atomic_open(root / "maps" / "嘉義縣-村里.html") as fh:
        fh.write(render_map(report, "嘉義縣", level="village", basemap="none", offline=True))
    write_site_map(report, make_site_plan(report), root / "maps", offline=True)
    return root / "maps"


@pytest.fixture(scope="module")
def browser():
    require(_playwright_installed(), "Playwright for Python is not installed (pip install playwright)")
    require(CHROMIUM is not None, "chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Page:
    """One opened map with everything the browser reported."""

    def __init__(self, browser, path: Path) -> None:
        self.errors: list[str] = []
        self.blocked: list[str] = []
        self.dialogs: list[str] = []
        self.payload = payload_of(path.read_text(encoding="utf-8"))
        self.page = page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("dialog", self._dialog)
        page.route("**/*", self._route)
        page.goto(path.as_uri())
        page.wait_for_function("window.safetynet !== undefined && window.safetynet.active() >= 0")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:  # networking off: nothing but local files
            self.blocked.append(route.request.url)
            route.abort()

    def js(self, expression: str, arg=None):
        return self.page.evaluate(expression, arg)

    def count(self, selector: str) -> int:
        return self.js("s => document.querySelectorAll(s).length", selector)

    def drawn_fills(self) -> int:
        """Polygons actually drawn (an SVG path with a non-empty outline) in the overlay pane."""
        return self.js("""() => Array.from(document.querySelectorAll('.leaflet-overlay-pane path.sn-fill'))
                          .filter(p => { const d = p.getAttribute('d') || ''; return d.length > 8; }).length""")

    def category_checkbox(self, i: int):
        return self.page.locator(f'.leaflet-control-layers-overlays label:has(span[data-cat="{i}"]) input')

    def show_category(self, i: int) -> None:
        self.category_checkbox(i).check()
        assert self.js("() => window.safetynet.active()") == i

    def view(self, lat: float, lon: float, zoom: int) -> None:
        self.js("([lat, lon, z]) => { window.safetynet.map.setView([lat, lon], z, {animate: false}); }",
                [lat, lon, zoom])

    def page_point(self, lat: float, lon: float) -> tuple[float, float]:
        """Page coordinates of a place on the map."""
        x, y = self.js("""([lat, lon]) => {
            const m = window.safetynet.map, p = m.latLngToContainerPoint([lat, lon]),
                  r = m.getContainer().getBoundingClientRect();
            return [r.left + p.x, r.top + p.y]; }""", [lat, lon])
        return x, y

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def open_map(browser, site):
    pages = []

    def _open(name: str) -> Page:
        page = Page(browser, site / name)
        pages.append(page)
        return page

    yield _open
    for page in pages:
        page.close()


@pytest.mark.parametrize("name", MAPS)
def test_loads_offline_without_errors(open_map, name, tmp_path):
    m = open_map(name)
    assert m.errors == []
    assert m.blocked == []  # it asked for nothing outside the local files
    assert m.dialogs == []
    shot = tmp_path / f"{Path(name).stem}.png"
    m.page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # title, legend, scale bar and attribution are on the page
    text = m.page.inner_text(".leaflet-container")
    assert "強化社會安全網服務據點涵蓋" in text and f"資料日期 {AS_OF}" in text
    assert "圖例" in text and "內政部" in text
    assert m.count(".leaflet-control-scale-line") == 1


@pytest.mark.parametrize("name", MAPS)
def test_every_township_polygon_is_drawn(open_map, name):
    m = open_map(name)
    # taiwan.html opens on the main island, where Leaflet leaves the far islands (東引) undrawn: show them all
    m.js("b => window.safetynet.map.fitBounds(b, {animate: false})", m.payload["bounds"])
    expected = 18 if name == "嘉義縣.html" else 368
    assert len(m.payload["towns"]) == expected
    assert m.drawn_fills() == expected
    # the gaps layer outlines exactly the uncovered townships of the shown programme
    active = m.js("() => window.safetynet.active()")
    gaps = sum(t["s"][active] in "12" for t in m.payload["towns"])  # 3: no data, not a gap
    assert m.count(".leaflet-pane path.sn-gap") == gaps > 0


@pytest.mark.parametrize("name", MAPS)
def test_opens_on_its_view_at_once(browser, site, name):
    # The view the page's script leaves when it hands the map over (window.safetynet) is the view at rest: no
    # opening zoom still animating. While one animates, Leaflet ignores a view set by a reader or a test (the
    # national map then stayed on the main island, 東引 undrawn, whenever a test set its view too early).
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.add_init_script("""Object.defineProperty(window, "safetynet", {configurable: true,
            get() { return window.__sn; },
            set(v) {
                window.__sn = v;
                window.__handed = [v.map.getZoom(), v.map.getCenter(), !!v.map._animatingZoom];
            }});""")
        page.goto((site / name).as_uri())
        page.wait_for_function("window.__handed !== undefined")
        page.wait_for_timeout(600)  # beyond Leaflet's 250 ms zoom animation
        handed, now = page.evaluate("() => [window.__handed, [window.__sn.map.getZoom(), window.__sn.map.getCenter()]]")
        assert handed[2] is False  # not animating when handed over
        assert handed[:2] == now  # and nothing moved after
    finally:
        page.close()


@pytest.mark.parametrize("name", MAPS)
def test_markers_per_category_and_toggling(open_map, name):
    m = open_map(name)
    # taiwan.html opens on the main island, where Leaflet leaves the far islands (東引) undrawn: show them all
    m.js("b => window.safetynet.map.fitBounds(b, {animate: false})", m.payload["bounds"])
    expected = Counter(f["k"] for f in m.payload["fac"])
    assert set(expected) == set(range(len(m.payload["cats"])))
    for i, cat in enumerate(m.payload["cats"]):
        m.show_category(i)
        # markers (or clusters of them, nationwide) of this category, and only this one, are drawn
        assert m.count(f".leaflet-marker-pane .sn-cat-{i}") > 0, cat["key"]
        assert m.count(".leaflet-marker-pane .leaflet-marker-icon") == m.count(f".leaflet-marker-pane .sn-cat-{i}")
        assert m.js("i => window.safetynet.markers[i].getLayers().length", i) == expected[i]
        assert m.drawn_fills() == len(m.payload["towns"])
    # switching the layer off hides its markers, fills and gap outlines; on again shows them
    last = len(m.payload["cats"]) - 1
    m.category_checkbox(last).uncheck()
    assert m.count(f".leaflet-marker-pane .sn-cat-{last}") == 0
    assert m.drawn_fills() == 0 and m.count("path.sn-gap") == 0
    m.category_checkbox(0).check()
    assert m.count(".leaflet-marker-pane .sn-cat-0") > 0 and m.count(f".leaflet-marker-pane .sn-cat-{last}") == 0
    assert not m.category_checkbox(last).is_checked()
    # the gaps layer has its own switch
    m.page.locator('.leaflet-control-layers-overlays label:has(span[data-layer="gaps"]) input').uncheck()
    assert m.count("path.sn-gap") == 0 and m.drawn_fills() == len(m.payload["towns"])


@pytest.mark.parametrize("name", MAPS)
def test_hovering_alishan_shows_its_tooltip(open_map, name, tmp_path):
    from tests.maps.conftest import inner_point

    m = open_map(name)
    lon, lat = inner_point("阿里山鄉")
    m.view(lat, lon, 11)
    x, y = m.page_point(lat, lon)
    assert m.js("([x, y]) => document.elementFromPoint(x, y).classList.contains('sn-fill')", [x, y])
    m.page.mouse.move(x, y)
    # the pointer may cross a neighbour (中埔鄉) on its way in: that tooltip can still be fading out
    tooltip = m.page.locator(".leaflet-tooltip.sn-tooltip", has_text="阿里山鄉").last
    tooltip.wait_for(state="visible", timeout=5000)
    text = tooltip.inner_text()
    assert "嘉義縣 阿里山鄉" in text
    assert "山地原住民鄉" in text and "縣定偏遠" in text
    assert "兒少及家庭社區支持服務據點" in text and "0 處" in text
    assert "未涵蓋・特殊地區" in text
    m.page.screenshot(path=str(tmp_path / f"{Path(name).stem}-alishan.png"))
    assert m.errors == []


def test_hostile_strings_do_not_execute(open_map, tmp_path):
    m = open_map("嘉義縣.html")
    scripts = m.count("script")
    popups = []
    for i in range(len(m.payload["cats"])):
        m.show_category(i)
        # the fixture's markers: every one carries hostile text (name, address or source)
        hostile = m.js("""i => window.safetynet.markers[i].getLayers().map((l, j) => [j, l.getPopup().getContent()])
                          .filter(x => x[1].includes("測試 &lt;img")).map(x => x[0])""", i)
        assert hostile, m.payload["cats"][i]["key"]
        for j in hostile:
            # bring the marker into view as a user would (zoom in, spiderfy a cluster), then point at it
            m.js("""([i, j]) => new Promise(done => {
                const group = window.safetynet.markers[i], marker = group.getLayers()[j];
                document.querySelectorAll("[data-sn-test]").forEach(e => e.removeAttribute("data-sn-test"));
                window.safetynet.map.setView(marker.getLatLng(), 14, {animate: false});
                group.zoomToShowLayer(marker, () => {
                    marker.getElement().setAttribute("data-sn-test", "1");
                    done();
                });
            })""", [i, j])
            target = m.page.locator("[data-sn-test]")
            target.hover()  # Playwright waits until the marker is still and not covered
            m.page.locator(".leaflet-tooltip").first.wait_for(state="visible", timeout=5000)  # its name …
            target.click()  # … and its popup
            popup = m.page.locator(".leaflet-popup-content")
            popup.wait_for(state="visible", timeout=5000)
            popups.append(popup.inner_text())
            m.js("() => { window.safetynet.map.closePopup(); }")
            m.page.wait_for_function("() => !document.querySelector('.leaflet-popup')")
    m.page.screenshot(path=str(tmp_path / "hostile.png"))
    text = "\n".join(popups)
    # shown as text, literally …
    assert XSS_IMG in text and XSS_SCRIPT in text and '"><svg onload=alert(3)>' in text
    assert m.page.locator(".leaflet-control-layers").inner_text().count(XSS_CATEGORY) == 1
    # … and nothing ran or was injected
    assert m.dialogs == []
    assert m.errors == []
    assert m.count("script") == scripts
    assert m.count("img[src='x'], [onerror], [onload], [onmouseover], svg script") == 0


def test_village_level_map(open_map):
    m = open_map("嘉義縣-村里.html")
    assert m.errors == [] and m.blocked == []
    assert m.drawn_fills() == len(m.payload["villages"]) > 300
    assert m.count(".leaflet-pane path.sn-outline") == 18


def test_site_map(open_map, tmp_path):
    """`safetynet site` map: numbered sites with tooltips and popups, radius circles, 現況/新增後 fill."""
    m = open_map(SITE_MAP)
    assert m.errors == [] and m.blocked == [] and m.dialogs == []
    sites = m.payload["sites"]
    items, k = sites["items"], sites["k"]
    assert m.js("() => window.safetynet.active()") == k
    # numbered markers, one per recommended site, in rank order; their radius circles
    markers = m.page.locator(".leaflet-marker-pane .sn-site-marker")
    assert markers.count() == len(items) == 3
    assert sorted(markers.all_inner_texts()) == ["1", "2", "3"]
    assert m.count(".leaflet-pane path.sn-radius-site") == 3
    assert m.count(".leaflet-pane path.sn-radius-existing") > 0  # the existing points' radius, dashed
    # the existing facilities of every category are still there
    assert m.js("i => window.safetynet.markers[i].getLayers().length", k) == sum(f["k"] == k for f in m.payload["fac"])
    for item in items:
        m.view(item["a"][0], item["a"][1], 12)
        marker = m.page.locator(f".sn-site-{item['r']}")
        marker.hover()  # hovering shows the site's tooltip …
        tooltip = m.page.locator(".leaflet-tooltip.sn-site-tooltip", has_text=f"建議點 {item['r']}")
        tooltip.wait_for(state="visible", timeout=5000)
        text = tooltip.inner_text()
        assert "嘉義縣" in text and "新增服務人口" in text and "鄉鎮市區新涵蓋" in text
        marker.click()  # … and clicking it, its popup
        popup = m.page.locator(".leaflet-popup-content")
        popup.wait_for(state="visible", timeout=5000)
        text = popup.inner_text()
        assert f"建議新設點 第 {item['r']} 順位" in text
        for label in ("鄉鎮市區", "村里", "新增服務人口", "使鄉鎮市區新涵蓋"):
            assert label in text
        m.js("() => { window.safetynet.map.closePopup(); }")
        m.page.wait_for_function("() => !document.querySelector('.leaflet-popup')")
        m.page.mouse.move(5, 890)
    m.page.screenshot(path=str(tmp_path / "sites.png"))
    # 現況 → 新增後: the sited townships turn covered and leave the gaps layer; and back
    m.js("b => window.safetynet.map.fitBounds(b)", m.payload["bounds"])
    covered = m.count(".leaflet-overlay-pane path.sn-fill.sn-state-0")
    gaps = m.count(".leaflet-pane path.sn-gap")
    newly = sum(i["nc"] for i in items)
    assert covered == m.payload["cats"][k]["covered"] and newly == 3
    m.page.get_by_role("radio", name="新增後").check()
    assert m.js("() => window.safetynet.mode()") == 1
    assert m.count(".leaflet-overlay-pane path.sn-fill.sn-state-0") == covered + newly == sites["covered"]
    assert m.count(".leaflet-pane path.sn-gap") == gaps - newly
    assert "（新增後）" in m.page.inner_text(".sn-title .sn-sub")
    m.page.screenshot(path=str(tmp_path / "sites-after.png"))
    m.page.get_by_role("radio", name="現況").check()
    assert m.count(".leaflet-overlay-pane path.sn-fill.sn-state-0") == covered
    assert m.count(".leaflet-pane path.sn-gap") == gaps
    # the layer control switches the sites and circles off
    m.page.locator('.leaflet-control-layers-overlays label:has(span[data-layer="sites"]) input').uncheck()
    m.page.locator('.leaflet-control-layers-overlays label:has(span[data-layer="radius"]) input').uncheck()
    assert m.count(".sn-site-marker") == 0 and m.count("path.sn-radius") == 0
    assert m.errors == []


# --- with population (--population, --dem): tooltips and the 優先補點 layer -------------------------


@pytest.fixture(scope="module")
def pop_site(tmp_path_factory) -> Path:
    """Offline 嘉義縣 maps (township and village level) with the 2021-03 village population and the DEM."""
    from coverage.datasets import get_path
    from coverage.maps import render_map, write_maps
    from coverage.pipeline import run_coverage
    from coverage.report import atomic_open
    from tests.maps.conftest import shared_dems, shared_file

    population = shared_file("population", "village_population_agegroups_2021-03.csv")
    root = tmp_path_factory.mktemp("pop-site")
    registry = write_fixture_registry(root / "chiayi.csv")
    report = run_coverage([get_path("seed_registry"), registry], counties=["嘉義縣"], as_of=AS_OF,
                          population=population, dem=shared_dems())
    write_maps(report, root / "maps", offline=True)
    with atomic_open(root / "maps" / "嘉義縣-村里.html") as fh:
        fh.write(render_map(report, "嘉義縣", level="village", basemap="none", offline=True))
    return root / "maps"


@pytest.fixture
def open_pop_map(browser, pop_site):
    pages = []

    def _open(name: str) -> Page:
        page = Page(browser, pop_site / name)
        pages.append(page)
        return page

    yield _open
    for page in pages:
        page.close()


def _hover_alishan(m: Page) -> str:
    from tests.maps.conftest import inner_point

    lon, lat = inner_point("阿里山鄉")
    m.view(lat, lon, 11)
    x, y = m.page_point(lat, lon)
    m.page.mouse.move(x, y)
    tooltip = m.page.locator(".leaflet-tooltip.sn-tooltip", has_text="嘉義縣 阿里山鄉").last
    tooltip.wait_for(state="visible", timeout=5000)
    return tooltip.inner_text()


def test_population_tooltip(open_pop_map):
    m = open_pop_map("嘉義縣.html")
    assert m.errors == [] and m.blocked == []
    k = [c["key"] for c in m.payload["cats"]].index("community_support_point")
    m.show_category(k)
    town = next(t for t in m.payload["towns"] if t["c"] == "10010180")
    text = _hover_alishan(m)
    assert "嘉義縣 阿里山鄉" in text and "山地原住民鄉" in text  # the official flags …
    assert "計算：偏遠、山區" in text  # … and the computed ones beside them
    assert f"人口：總人口 {town['pp']:,} 人" in text
    assert "km 內人口" in text and "最近據點 平均／最遠 km" in text
    _share, mean, most, name, _fca, _across = town["ac"][k]
    assert f"{mean:.1f}／{most:.1f}" in text
    assert f"最近：{m.payload['names'][name]}" in text
    assert m.errors == [] and m.dialogs == []


def test_village_population_tooltip(open_pop_map):
    m = open_pop_map("嘉義縣-村里.html")
    assert m.errors == []
    text = _hover_alishan(m)
    assert "村里人口：總人口" in text and " 人" in text
    active = m.js("() => window.safetynet.active()")
    assert f"村里至最近{m.payload['cats'][active]['label']}：" in text and " km" in text
    assert m.errors == []


def test_priority_layer_toggles(open_pop_map, tmp_path):
    m = open_pop_map("嘉義縣.html")
    items = m.payload["prio"]["items"]
    for i in range(len(m.payload["cats"])):
        m.show_category(i)
        # one numbered badge per ranked township of the shown programme, on by default
        badges = m.page.locator(".leaflet-marker-pane .sn-prio-marker")
        assert badges.count() == len(items[i])
        assert sorted(int(t) for t in badges.all_inner_texts()) == [it["r"] for it in items[i]]
    k = next(i for i, its in enumerate(items) if its)
    m.show_category(k)
    first = items[k][0]
    m.view(first["a"][0], first["a"][1], 11)
    m.page.locator(".sn-prio-rank-1").hover()
    tooltip = m.page.locator(".leaflet-tooltip.sn-prio-tooltip", has_text="第 1 順位").last
    tooltip.wait_for(state="visible", timeout=5000)
    text = tooltip.inner_text()
    assert f"優先補點 第 1 順位：{first['n']}" in text
    assert f"{first['s']:,}" in text and f"{first['p']:,} 人" in text
    m.page.screenshot(path=str(tmp_path / "priority.png"))
    # the layer control switches the badges off and on again
    box = m.page.locator('.leaflet-control-layers-overlays label:has(span[data-layer="priority"]) input')
    assert box.is_checked()
    box.uncheck()
    assert m.count(".sn-prio-marker") == 0
    box.check()
    assert m.count(".sn-prio-marker") == len(items[k])
    assert m.errors == [] and m.dialogs == []


def test_priority_reasons_do_not_execute(open_pop_map):
    """The hostile facility names are the nearest mental health centre: shown as text in the reasons."""
    m = open_pop_map("嘉義縣.html")
    scripts = m.count("script")
    k = [c["key"] for c in m.payload["cats"]].index("mental_health_centre")
    m.show_category(k)
    hostile = [it for it in m.payload["prio"]["items"][k] if "&lt;/script&gt;" in it["w"]]
    assert hostile
    item = hostile[0]
    m.view(item["a"][0], item["a"][1], 11)
    m.page.locator(f".sn-prio-rank-{item['r']}").hover()
    tooltip = m.page.locator(".leaflet-tooltip.sn-prio-tooltip", has_text=f"第 {item['r']} 順位").last
    tooltip.wait_for(state="visible", timeout=5000)
    assert XSS_SCRIPT in tooltip.inner_text()
    assert m.dialogs == [] and m.errors == []
    assert m.count("script") == scripts
    assert m.count("img[src='x'], [onerror], [onload], [onmouseover], svg script") == 0


def test_xss_corpus_fires_no_dialog(browser, tmp_path_factory):
    """Every payload of tests.maps.conftest.XSS_CORPUS as name, address, status, source, public 聯絡人 and a
    category: every popup and tooltip opened, and the index page loaded; nothing runs or is injected."""
    from coverage.maps import write_maps
    from coverage.pipeline import run_coverage
    from tests.maps.conftest import XSS_CORPUS, write_xss_registry

    root = tmp_path_factory.mktemp("xss")
    registry = write_xss_registry(root / "xss.csv", XSS_CORPUS, category=XSS_CORPUS[0])
    report = run_coverage([registry], counties=["嘉義縣"], as_of=AS_OF, public_columns=["聯絡人"])
    write_maps(report, root / "maps", national=False, offline=True)
    m = Page(browser, root / "maps" / "嘉義縣.html")
    try:
        scripts = m.count("script")
        opened = 0
        for i in range(len(m.payload["cats"])):
            m.show_category(i)
            opened += m.js("""i => new Promise(done => {
                const group = window.safetynet.markers[i], layers = group.getLayers();
                const next = j => {
                    if (j >= layers.length) { done(layers.length); return; }
                    group.zoomToShowLayer(layers[j], () => {
                        layers[j].openTooltip(); layers[j].openPopup(); next(j + 1);
                    });
                };
                next(0);
            })""", i)
        assert opened == len(m.payload["fac"]) == len(XSS_CORPUS)
        m.page.wait_for_timeout(300)  # let an injected onerror/onload fire, if there were one
        assert m.dialogs == [] and m.errors == [] and m.blocked == []
        assert m.count("script") == scripts
        injected = "img[src='x'], iframe, [onerror], [onload], [onmouseover], svg script, a[href^='javascript']"
        assert m.count(injected) == 0
    finally:
        m.close()
    page, dialogs = browser.new_page(), []
    try:
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto((root / "maps" / "index.html").as_uri())
        page.wait_for_load_state("load")
        page.wait_for_timeout(300)
        assert dialogs == []
        assert page.evaluate("() => document.querySelectorAll('img, iframe, [onerror], [onload], script').length") == 0
        assert XSS_CORPUS[0] in page.inner_text("body")  # the category, shown as text
    finally:
        page.close()


def test_inline_page_loads_alone(browser, tmp_path):
    """An offline="inline" page copied anywhere, with no lib/ beside it, still draws every township."""
    from coverage.maps import render_map
    from coverage.pipeline import run_coverage

    report = run_coverage(counties=["嘉義縣"], as_of=AS_OF)
    path = tmp_path / "alone" / "嘉義縣.html"
    path.parent.mkdir()
    path.write_text(render_map(report, "嘉義縣", offline="inline", basemap="none"), encoding="utf-8")
    m = Page(browser, path)
    try:
        assert m.errors == [] and m.blocked == [] and m.dialogs == []
        assert m.drawn_fills() == 18
    finally:
        m.close()


def test_default_maps_draw_with_the_network_blocked(browser, tmp_path):
    """Maps written by default (basemap OpenStreetMap, no --offline) with every non-local request
    blocked: the vector layers are all drawn, only tile requests were refused, and the page shows
    the note that the basemap needs the network."""
    from coverage.maps import TILE_NOTE, write_maps
    from coverage.pipeline import run_coverage

    report = run_coverage(counties=["嘉義縣"], as_of=AS_OF)
    write_maps(report, tmp_path)
    m = Page(browser, tmp_path / "嘉義縣.html")
    try:
        m.page.wait_for_function("() => window.safetynet.tileNote() !== null")
        assert m.blocked and all(url.startswith("https://tile.openstreetmap.org/") for url in m.blocked)
        # the failed tiles are the only errors
        assert [e for e in m.errors if "net::ERR_FAILED" not in e] == []
        assert m.drawn_fills() == 18
        assert m.count(".leaflet-pane path.sn-gap") > 0
        assert m.count(".leaflet-marker-pane .leaflet-marker-icon") > 0
        note = m.page.locator(".sn-tile-note")
        assert note.count() == 1 and note.is_visible() and note.inner_text() == TILE_NOTE
        m.page.screenshot(path=str(tmp_path / "tiles-blocked.png"))
    finally:
        m.close()


def test_popup_shows_the_service_area(open_map, site, tmp_path):
    """Clicking a 社會福利服務中心 that has an official service area shows its 服務區域 townships
    (the bundled national registry; the seed registry names none)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    from coverage.maps import render_map
    from coverage.pipeline import run_coverage

    report = run_coverage(counties=["嘉義縣"], as_of=AS_OF)
    page = render_map(report, "嘉義縣", basemap="none", offline=True)
    (site / "嘉義縣-服務區域.html").write_text(page, encoding="utf-8")
    m = open_map("嘉義縣-服務區域.html")
    k = [c["key"] for c in m.payload["cats"]].index("welfare_centre")
    m.show_category(k)
    j = m.js("""i => window.safetynet.markers[i].getLayers().findIndex(l => l.getPopup().getContent()
                .includes("日安民雄社會福利服務中心"))""", k)
    assert j >= 0
    m.js("""([i, j]) => new Promise(done => {
        const group = window.safetynet.markers[i], marker = group.getLayers()[j];
        document.querySelectorAll("[data-sn-test]").forEach(e => e.removeAttribute("data-sn-test"));
        window.safetynet.map.setView(marker.getLatLng(), 14, {animate: false});
        group.zoomToShowLayer(marker, () => { marker.getElement().setAttribute("data-sn-test", "1"); done(); });
    })""", [k, j])
    popup = m.page.locator(".leaflet-popup-content")
    for attempt in range(3):  # the cluster may still be laying out its markers: a click can land before it settles
        m.page.locator("[data-sn-test]").click()
        try:
            popup.wait_for(state="visible", timeout=5000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                m.page.screenshot(path=str(tmp_path / "service-area-no-popup.png"))
                raise
    text = popup.inner_text()
    m.page.screenshot(path=str(tmp_path / "service-area.png"))
    assert "日安民雄社會福利服務中心" in text
    assert "服務區域" in text and "民雄鄉、大林鎮、溪口鄉、新港鄉" in text
    assert m.errors == []


def test_national_map_opens_on_the_main_island(open_map, tmp_path):
    """taiwan.html opens fitted to the main island: all of it in view, at a closer zoom than every island needs."""
    m = open_map("taiwan.html")
    (south, west), (north, east) = m.payload["view"]
    shown = m.js("""() => { const b = window.safetynet.map.getBounds();
                           return [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()]; }""")
    assert shown[0] <= south and shown[1] <= west and shown[2] >= north and shown[3] >= east
    zoom = m.js("() => window.safetynet.map.getZoom()")
    every_island = m.js("b => window.safetynet.map.getBoundsZoom(b, false, L.point(8, 8))", m.payload["bounds"])
    assert zoom > every_island
    m.page.screenshot(path=str(tmp_path / "taiwan.png"))
    assert m.errors == []


@pytest.mark.parametrize("name", MAPS)
def test_panels_leave_the_map_visible(open_map, name, tmp_path):
    """In a 1400×900 window the title, layer and legend panels together cover less than a quarter of the
    map, even with the legend's 資料說明 open; the legend collapses to its heading."""
    m = open_map(name)
    m.page.set_viewport_size({"width": 1400, "height": 900})
    m.page.locator(".sn-legend details.sn-data summary").click()  # open 資料說明: the legend at its largest
    m.page.wait_for_function("() => document.querySelector('.sn-legend details.sn-data').open")

    def area(selector: str) -> float:
        box = m.page.locator(selector).first.bounding_box()
        assert box is not None, selector
        return box["width"] * box["height"]

    panels = [".sn-title", ".leaflet-control-layers", ".sn-legend"]
    covered = sum(area(s) for s in panels)
    m.page.screenshot(path=str(tmp_path / f"{Path(name).stem}-panels.png"))
    assert 0 < covered < 0.25 * 1400 * 900, {s: area(s) for s in panels}
    open_height = m.page.locator(".sn-legend").bounding_box()["height"]
    m.page.locator(".sn-legend > details > summary").click()  # collapse the legend
    m.page.wait_for_function("() => !document.querySelector('.sn-legend > details').open")
    closed_height = m.page.locator(".sn-legend").bounding_box()["height"]
    assert closed_height < 40 < open_height
    assert m.errors == []


def _distinct_colours(png: Path) -> tuple[int, float]:
    """Distinct RGB colours of a screenshot and the share of its pixels that are not near-white."""
    import numpy as np
    from matplotlib.image import imread

    pixels = (imread(str(png))[..., :3] * 255).round().astype(np.uint8).reshape(-1, 3)
    distinct = len(np.unique(pixels, axis=0))
    non_white = float((pixels.min(axis=1) < 235).mean())
    return distinct, non_white


def test_county_screenshot_has_content_and_township_labels(open_map, tmp_path):
    """The screenshot of 嘉義縣.html is a drawn map (many colours, mostly not blank) and the township names are
    labels in the DOM, legible ones (not hidden) among them; the label layer has its own switch."""
    m = open_map("嘉義縣.html")
    m.page.set_viewport_size({"width": 1400, "height": 900})
    m.js("b => window.safetynet.map.fitBounds(b, {animate: false})", m.payload["bounds"])
    m.page.wait_for_timeout(100)
    shot = tmp_path / "chiayi.png"
    m.page.screenshot(path=str(shot))
    distinct, non_white = _distinct_colours(shot)
    assert distinct > 200 and non_white > 0.3, (distinct, non_white)
    labels = m.page.locator(".leaflet-marker-pane .sn-label, .leaflet-snLabels-pane .sn-label")
    names = labels.all_inner_texts()
    assert len(names) == 18 and "阿里山鄉" in names and "番路鄉" in names
    visible = m.page.locator(".leaflet-snLabels-pane .sn-label:not(.sn-label-hidden)").all_inner_texts()
    assert "阿里山鄉" in visible and len(visible) >= 9, visible
    # visible labels do not overlap one another
    boxes = m.js("""() => Array.from(document.querySelectorAll('.sn-label:not(.sn-label-hidden) span'))
                    .map(e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })""")
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)
    # legible: dark bold text with a white halo
    style = m.js("""() => { const s = getComputedStyle(document.querySelector('.sn-label span'));
                          return [s.color, s.fontWeight, s.textShadow]; }""")
    assert style[0] == "rgb(26, 26, 26)" and int(style[1]) >= 600 and "255, 255, 255" in style[2]
    box = m.page.locator('.leaflet-control-layers-overlays label:has(span[data-layer="labels"]) input')
    assert box.is_checked()
    box.uncheck()
    assert m.count(".sn-label") == 0
    box.check()
    assert m.count(".sn-label") == 18
    assert m.errors == []


def test_layer_panel_folds_on_wide_windows(open_map):
    """The layer panel is open on a wide window and folds to its heading button (and opens again)."""
    m = open_map("嘉義縣.html")
    m.page.set_viewport_size({"width": 1400, "height": 900})
    panel = m.page.locator(".leaflet-control-layers")
    open_box = panel.bounding_box()
    assert m.page.locator(".leaflet-control-layers-overlays").is_visible()
    m.page.locator(".leaflet-control-layers .sn-fold").click()
    assert not m.page.locator(".leaflet-control-layers-overlays").is_visible()
    folded = panel.bounding_box()
    assert folded["height"] < 40 < open_box["height"]
    assert m.page.locator(".sn-fold").get_attribute("aria-expanded") == "false"
    m.page.locator(".leaflet-control-layers .sn-fold").click()
    assert m.page.locator(".leaflet-control-layers-overlays").is_visible()
    m.show_category(0)
    assert m.errors == []


def test_national_labels_start_off(open_map):
    """Nationwide the 368 names start switched off; switched on at zoom 10, some show and none overlap."""
    m = open_map("taiwan.html")
    assert m.count(".sn-label") == 0
    m.page.locator('.leaflet-control-layers-overlays label:has(span[data-layer="labels"]) input').check()
    assert m.count(".sn-label") > 0
    assert m.count(".sn-label:not(.sn-label-hidden)") == 0  # zoomed out: no names
    m.view(23.5, 120.45, 10)
    m.page.wait_for_function("() => document.querySelectorAll('.sn-label:not(.sn-label-hidden)').length > 3")
    assert m.errors == []


def test_no_data_townships_are_grey_and_say_so(open_map):
    """On the national map the counties without data for the shown programme (臺中市 社福中心 in the bundled
    registry) are filled grey (state 3), are not outlined as gaps, and their tooltip says 無資料."""
    m = open_map("taiwan.html")
    m.js("b => window.safetynet.map.fitBounds(b, {animate: false})", m.payload["bounds"])
    k = [c["key"] for c in m.payload["cats"]].index("welfare_centre")
    m.show_category(k)
    none = [t for t in m.payload["towns"] if t["s"][k] == "3"]
    assert none and all(t["dq"][k] == "n" for t in none)
    assert any("臺中市" in t["t"] for t in none)
    assert m.count(".leaflet-overlay-pane path.sn-fill.sn-state-3") == len(none)
    assert m.count("path.sn-gap") == sum(t["s"][k] in "12" for t in m.payload["towns"])
    fill = m.js("() => getComputedStyle(document.querySelector('path.sn-state-3')).fill")
    assert fill == "rgb(212, 212, 212)"
    text = m.js("""code => { let out = null;
        window.safetynet.fills[window.safetynet.active()].eachLayer(p => {
          if (p.snUnit.c === code) { p.openTooltip(p.getCenter()); out = p.getTooltip().getElement().innerText; } });
        return out; }""", next(t["c"] for t in none if "臺中市" in t["t"]))
    assert "無資料" in text and "不以缺口計" in text
    assert m.payload["cats"][k]["data"] == "partial"  # nationwide: some counties have data, some none
    # the national figure counts only the counties with complete data, and the layer control says so
    label = m.page.locator(f'.leaflet-control-layers label:has(span[data-cat="{k}"])').inner_text()
    assert f"{m.payload['cats'][k]['rate']:.1f}%（{m.payload['cats'][k]['cc']} 縣市完整資料）" in label
    assert "無資料" in m.page.inner_text(".sn-legend")
    assert m.errors == []


# --- service areas, the national headline, minutes by road -------------------------------------------


@pytest.fixture(scope="module")
def area_site(tmp_path_factory) -> Path:
    """花蓮縣's map from the bundled registry: five 社福中心 with official service areas, 秀林鄉 split by village."""
    from coverage.maps import write_maps
    from coverage.pipeline import run_coverage

    root = tmp_path_factory.mktemp("areas")
    write_maps(run_coverage(counties=["花蓮縣"], as_of=AS_OF), root, offline=True, national=False)
    return root


def test_service_area_layer_outlines_each_centre(browser, area_site, tmp_path):
    m = Page(browser, area_site / "花蓮縣.html")
    try:
        k = [c["key"] for c in m.payload["cats"]].index("welfare_centre")
        m.show_category(k)
        box = m.page.locator('.leaflet-control-layers-overlays label:has(span[data-layer="areas"]) input')
        assert not box.is_checked() and m.count("path.sn-area") == 0  # off at first: the gaps stay readable
        box.check()
        areas = [a for a in m.payload["areas"] if a["k"] == k]
        assert len(areas) == 5
        # one outline per centre (a second, dashed one where a township is served in part), each in its colour
        expected = sum(bool(a["ti"] or a["vi"] or a["g"]) + bool(a["tp"] or a["gp"]) for a in areas)
        assert m.count(".leaflet-pane path.sn-area") == expected
        colours = m.js("() => Array.from(document.querySelectorAll('path.sn-area')).map(p => p.getAttribute('stroke'))")
        assert set(colours) == {a["c"] for a in areas}
        m.js("b => window.safetynet.map.fitBounds(b, {animate: false})", m.payload["bounds"])
        # hovering an outline names its centre
        j = next(i for i, a in enumerate(m.payload["areas"]) if a["n"] == "花蓮縣吉安社會福利服務中心")
        x, y = m.js("""j => { const p = document.querySelector('path.sn-area-' + j), n = p.getTotalLength();
                              for (let s = 0.05; s < 1; s += 0.05) {
                                const q = p.getPointAtLength(n * s), c = p.getScreenCTM();
                                const x = c.a * q.x + c.c * q.y + c.e, y = c.b * q.x + c.d * q.y + c.f;
                                if (document.elementFromPoint(x, y) === p) { return [x, y]; } }
                              return [null, null]; }""", j)
        assert x is not None
        m.page.mouse.move(x, y)
        tip = m.page.locator(".leaflet-tooltip.sn-area-tooltip").last
        tip.wait_for(state="visible", timeout=5000)
        assert "花蓮縣吉安社會福利服務中心" in tip.inner_text() and "秀林鄉文蘭村、銅門村" in tip.inner_text()
        m.page.screenshot(path=str(tmp_path / "areas.png"))
        # the centre's popup highlights its area (filled), and closing it removes the highlight
        box.uncheck()
        assert m.count("path.sn-area") == 0
        f = m.payload["areas"][j]["f"]
        m.js("""([i, f]) => new Promise(done => {
            const group = window.safetynet.markers[i];
            const marker = group.getLayers().find(l => l.getPopup().getContent().includes("吉安社會福利服務中心"));
            group.zoomToShowLayer(marker, () => { marker.openPopup(); done(); }); })""", [k, f])
        m.page.locator(".leaflet-popup-content").wait_for(state="visible", timeout=5000)
        assert "吉安鄉、秀林鄉文蘭村、銅門村" in m.page.inner_text(".leaflet-popup-content")
        assert m.count(f"path.sn-area-lit.sn-area-{j}") >= 2  # the fill and its outline
        m.page.screenshot(path=str(tmp_path / "area-popup.png"))
        m.js("() => { window.safetynet.map.closePopup(); }")
        m.page.wait_for_function("() => !document.querySelector('.leaflet-popup')")
        assert m.count("path.sn-area-lit") == 0
        assert m.errors == [] and m.dialogs == [] and m.blocked == []
    finally:
        m.close()


def test_national_headline_says_how_many_counties_are_complete(open_map):
    """taiwan.html of the seed registry plus a 嘉義縣 file: a programme complete in some counties only is
    counted over those, and the headline and the layer control say how many."""
    m = open_map("taiwan.html")
    cats = m.payload["cats"]
    k = next(i for i, c in enumerate(cats) if c.get("cc"))
    m.show_category(k)
    text = m.page.inner_text(".sn-title .sn-sub")
    c = cats[k]
    assert f"涵蓋 {c['covered']}/{c['total']} 鄉鎮市區（{c['rate']:.1f}%）" in text
    assert f"（{c['cc']} 縣市完整資料，共 {c['cn']} 縣市）" in text
    label = m.page.locator(f'.leaflet-control-layers label:has(span[data-cat="{k}"])').inner_text()
    assert f"{c['rate']:.1f}%（{c['cc']} 縣市完整資料）" in label
    assert m.errors == []


@pytest.fixture(scope="module")
def travel_site(tmp_path_factory) -> Path:
    """苗栗縣's maps with minutes by road over the OSM roads of ../shared/data/roads."""
    from coverage.maps import render_map, write_maps
    from coverage.pipeline import run_coverage
    from tests.maps.conftest import shared_file

    roads = shared_file("roads", "Miaoli_Road_Network.shp")
    root = tmp_path_factory.mktemp("travel")
    report = run_coverage(counties=["苗栗縣"], as_of=AS_OF, network=roads)
    write_maps(report, root, offline=True, national=False)
    (root / "苗栗縣-村里.html").write_text(render_map(report, "苗栗縣", level="village", basemap="none"),
                                          encoding="utf-8")
    return root


@pytest.mark.parametrize("name", ["苗栗縣.html", "苗栗縣-村里.html"])
def test_travel_layer_and_its_legend(browser, travel_site, name, tmp_path):
    m = Page(browser, travel_site / name)
    try:
        travel = m.payload["travel"]
        k = [c["key"] for c in m.payload["cats"]].index("welfare_centre")
        m.show_category(k)
        legend = m.page.locator(".sn-legend .sn-tlegend")
        assert legend.count() == 1 and not legend.is_visible()  # the layer is off: so is its legend
        m.page.locator('.leaflet-control-layers-overlays label:has(span[data-layer="travel"]) input').check()
        assert legend.is_visible()
        text = legend.inner_text()
        assert "≤ 15 分鐘" in text and "&gt;" not in text and "> 60 分鐘" in text and "無行車時間" in text
        # every village drawn, in the class of its minutes
        assert m.count(".leaflet-pane path.sn-tfill") == len(travel["v"]) > 200

        def klass(minutes):
            if minutes is None:
                return len(travel["bins"]) + 1
            return next((b for b, bound in enumerate(travel["bins"]) if minutes <= bound), len(travel["bins"]))

        counts = Counter(klass(v["m"][k]) for v in travel["v"])
        for c, n in counts.items():
            assert m.count(f"path.sn-tfill.sn-tclass-{c}") == n
        fills = m.js("() => Array.from(document.querySelectorAll('path.sn-tclass-0')).map(p => p.getAttribute('fill'))")
        assert set(fills) == {travel["colours"][0]}
        assert counts[len(travel["bins"])] > 0  # 泰安鄉's villages: more than an hour
        m.js("b => window.safetynet.map.fitBounds(b, {animate: false})", m.payload["bounds"])
        m.page.screenshot(path=str(tmp_path / f"travel-{name}.png"))
        # a village's popup: minutes, network km, off-network km and the facility
        j = next(i for i, v in enumerate(travel["v"]) if v["m"][k] is not None)
        text = m.js("""([j]) => { const l = window.safetynet.travel.getLayers()[j]; l.openPopup();
                                 return document.querySelector('.leaflet-popup-content').innerText; }""", [j])
        v = travel["v"][j]
        assert f"{v['m'][k]:.1f} 分鐘・道路 {v['km'][k]:.1f} km・離路 {v['sk'][k]:.2f} km" in text
        assert f"最近：{travel['names'][v['f'][k]]}" in text
        # switching the programme recolours the layer; switching the layer off hides it and its legend
        m.show_category(0 if k else 1)
        assert m.count("path.sn-tfill") == len(travel["v"])
        m.page.locator('.leaflet-control-layers-overlays label:has(span[data-layer="travel"]) input').uncheck()
        assert m.count("path.sn-tfill") == 0 and not legend.is_visible()
        assert m.errors == [] and m.dialogs == [] and m.blocked == []
    finally:
        m.close()


def test_township_tooltip_shows_minutes(browser, travel_site):
    m = Page(browser, travel_site / "苗栗縣.html")
    try:
        k = [c["key"] for c in m.payload["cats"]].index("welfare_centre")
        m.show_category(k)
        town = next(t for t in m.payload["towns"] if t["n"] == "泰安鄉")
        mean, most, _without, _n = town["tm"][k]
        text = m.js("""code => { let out = null;
            window.safetynet.fills[window.safetynet.active()].eachLayer(p => {
              if (p.snUnit.c === code) {
                p.openTooltip(p.getCenter()); out = p.getTooltip().getElement().innerText; } });
            return out; }""", town["c"])
        assert f"道路：平均 {mean:.1f}／最遠 {most:.1f} 分鐘（村里平均）" in text
        assert m.errors == []
    finally:
        m.close()
