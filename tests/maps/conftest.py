"""Fixtures and helpers of the map tests (tests/maps/): a 嘉義縣 registry with a point for every
programme and hostile strings, reports on it, the payload of a written page, the real shared data.

Fixtures are package-scoped: each report is computed once for all map tests.
"""

from __future__ import annotations

import csv
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import shapely

from coverage.geography import load_townships
from coverage.maps import render_map
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


@pytest.fixture(scope="package")
def fixture_registry(tmp_path_factory) -> Path:
    return write_fixture_registry(tmp_path_factory.mktemp("registry") / "chiayi.csv")


@pytest.fixture(scope="package")
def chiayi_report(fixture_registry):
    return run_coverage([fixture_registry], counties=["嘉義縣"], as_of=AS_OF)


@pytest.fixture(scope="package")
def seed_report():
    return run_coverage(as_of=AS_OF)


@pytest.fixture(scope="package")
def chiayi_html(chiayi_report) -> str:
    return render_map(chiayi_report, "嘉義縣", basemap="osm")


def payload_of(html: str) -> dict:
    """The data the page's script draws: the JSON of ``<script type="application/json" id="sn-payload">``."""
    match = re.search(r'<script type="application/json" id="sn-payload">(.*?)</script>', html, re.DOTALL)
    assert match, "payload not found"
    return json.loads(match.group(1))


class LinkParser(HTMLParser):
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
        parser = LinkParser()
        parser.feed(page.read_text(encoding="utf-8"))
        for tag, url in parser.urls:
            parts = urlsplit(url)
            assert not parts.scheme and not parts.netloc and not url.startswith("//"), (page.name, tag, url)
            assert (page.parent / unquote(parts.path)).is_file(), (page.name, url)
            loaded += 1
    return loaded


def make_site_plan(report, category: str = "welfare_centre", new: int | None = 3):
    """Recommended sites in 嘉義縣 for the report's registry (townships objective, no population)."""
    from coverage.geography import load_villages
    from coverage.siting import site_new_points

    return site_new_points(report.registry.facilities, load_townships(), load_villages(), county="嘉義縣",
                           category=category, new=new, objective="townships", as_of=report.as_of)


@pytest.fixture(scope="package")
def site_plan(chiayi_report):
    return make_site_plan(chiayi_report)


def shared_file(*parts: str) -> Path:
    """A file of ../shared/data (real MOI population, DEM); skipped when absent, a failure in CI."""
    from tests.conftest import SHARED_DATA, require

    path = SHARED_DATA.joinpath(*parts)
    require(path.exists(), f"real population/terrain data not available: {path} is missing")
    return path


def shared_dems() -> list[Path]:
    return [shared_file("terrain", f"G1km_TWD97-{zone}_DTM_ELE.tif") for zone in (121, 119)]


@pytest.fixture(scope="package")
def chiayi_pop_report(fixture_registry):
    """The fixture registry with the 2026-01 township population and the DEM."""
    return run_coverage([fixture_registry], counties=["嘉義縣"], as_of=AS_OF, dem=shared_dems(),
                        population=shared_file("population", "township_population_2026-01.json"))


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


@pytest.fixture(scope="module")
def font():
    """The CJK font the static figures use, or None where there is none (tests that need it gate on it)."""
    from coverage.charts import cjk_font
    from coverage.errors import CoverageError

    try:
        return cjk_font()
    except CoverageError:
        return None
