"""Interactive coverage maps: one HTML page per county, one for the whole country, and an index.

Each page is a folium (Leaflet) map that works from a file, without a server:

* one layer per category (programme) in the layer control — township fill by coverage state
  (covered / uncovered / uncovered in a flagged area) and the programme's service points (a
  colour and symbol per programme, clustered) — and a "gaps" layer outlining the uncovered
  townships of the selected programme in red;
* zh-TW tooltips (county, township, flags, facilities per programme) and popups (name,
  programme, address, status, opened, source, a note when only the township is known);
* title, legend, as-of date, scale bar, boundary attribution; basemap OpenStreetMap, the
  NLSC 通用版電子地圖 (EMAP) or none;
* with population figures (``run_coverage(population=…, dem=…)``, :mod:`coverage.maps.population`): the
  tooltips add the people of the age group (and in total), per programme the share within
  ``distance_km``, the mean/max distance to and name of the nearest point and the 2SFCA value,
  the computed 偏遠/山區 flags beside the official ones, village people and distances on village
  maps; and a 優先補點 layer numbers the ranked gap townships of the shown programme
  (:func:`coverage.priority.rank_priorities`; all ranks on a county map, on by default; the first
  five per county on the national map, off by default);
* with a siting plan (:func:`write_site_map`, ``safetynet site``): the recommended new sites as
  numbered markers, a layer of their service-radius circles, and the township fill switchable
  between 現況 (now) and 新增後 (with the new sites).

The maps draw without the internet: :func:`write_maps` always writes the JavaScript/CSS the pages
need into ``lib/`` beside them (taken from the package ``folium-offline``, which ships folium's web
assets), and no page links a script or style sheet off the machine. Only the basemap tiles come
from the network; when they fail to load the page says so in a note, and the coverage layers,
points and legend are drawn regardless. ``offline=True`` also makes the default basemap none.
Pages are byte-identical for identical inputs: folium's random element ids are replaced by ids
numbered in page order.

>>> import coverage, coverage.maps
>>> report = coverage.run_coverage(counties=["嘉義縣"], as_of="2024-01-01")
>>> html = coverage.maps.render_map(report, "嘉義縣")
>>> "阿里山鄉" in html
True
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..errors import CoverageError, InputError
from ..vocabulary import PARTIAL_MEANING
from .escape import esc

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import pandas as pd

    from ..pipeline import CoverageReport
    from ..siting import SitingPlan
    from .schema import MapPayload

__all__ = [
    "ASSET_DIR",
    "BASEMAPS",
    "LEVELS",
    "PARTIAL_NOTE",
    "PAYLOAD_ID",
    "TILE_NOTE",
    "MapFrame",
    "asset_text",
    "map_filename",
    "page_css",
    "render_index",
    "render_map",
    "show_map",
    "site_map_filename",
    "write_maps",
    "write_offline_assets",
    "write_site_map",
    "writing_maps",
]

log = logging.getLogger(__name__)

LEVELS = ("township", "village")
BASEMAPS = ("osm", "nlsc", "none")
#: Directory (beside the maps) that holds the JavaScript/CSS the pages link.
ASSET_DIR = "lib"
NATIONAL_FILE = "taiwan.html"
INDEX_FILE = "index.html"

NLSC_URL = "https://wmts.nlsc.gov.tw/wmts/EMAP/default/GoogleMapsCompatible/{z}/{y}/{x}"
NLSC_ATTRIBUTION = '&copy; <a href="https://maps.nlsc.gov.tw/">內政部國土測繪中心</a> 通用版電子地圖'
_BASE_LABELS = {"osm": "OpenStreetMap", "nlsc": "通用版電子地圖（國土測繪中心）", "none": "無底圖"}
_CLUSTER_RADIUS = {"nation": 50, "county": 14}
#: Shown on a page when basemap tiles fail to load (no internet): the rest of the map is local.
TILE_NOTE = ("底圖圖磚無法載入（底圖需要網路連線）；涵蓋圖層、服務據點與圖例不受影響。"
             "可於圖層選單改選「無底圖」。")


@lru_cache(maxsize=1)
def _asset_urls() -> dict[str, str]:
    """File name → the URL folium links for each web asset the pages use (looked up once per process).

    From the disk cache (:func:`_cached_assets`) when it holds them; else Leaflet's from ``folium.Map``,
    Leaflet.markercluster's read from the source of folium's ``MarkerCluster`` plugin
    (:func:`_class_links`) rather than importing ``folium.plugins``, which loads every plugin; imported
    only when that source cannot be read.
    """
    cached = _cached_assets()
    if cached is not None:
        return dict(cached[0])
    import folium

    js, css = dict(folium.Map.default_js), dict(folium.Map.default_css)
    links = _class_links("folium", "plugins/marker_cluster.py", "MarkerCluster")
    if links is None:  # pragma: no cover - a folium whose plugin is not plain source
        from folium.plugins import MarkerCluster

        links = (list(MarkerCluster.default_js), list(MarkerCluster.default_css))
    mc_js, mc_css = dict(links[0]), dict(links[1])
    return {
        "leaflet.js": js["leaflet"],
        "leaflet.css": css["leaflet_css"],
        "leaflet.markercluster.js": mc_js["markerclusterjs"],
        "MarkerCluster.css": mc_css["markerclustercss"],
    }


def _package_file(package: str, name: str) -> Path | None:
    """The file ``name`` of an installed ``package``, found without importing it (None when there is none,
    or when an import of it is blocked: ``sys.modules`` holds None for the package or the module)."""
    import importlib.util
    import sys

    module = f"{package}.{name.removesuffix('.py').replace('/', '.')}"
    if any(m in sys.modules and sys.modules[m] is None for m in (package, module)):
        return None
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / name
        if path.is_file():
            return path
    return None


def _class_links(package: str, name: str, cls: str) -> tuple[list, list] | None:
    """``default_js`` and ``default_css`` of class ``cls`` in file ``name`` of ``package``, read from its
    source (literals only); None when they cannot be read so."""
    import ast

    path = _package_file(package, name)
    if path is None:
        return None
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        body = next(node.body for node in tree.body if isinstance(node, ast.ClassDef) and node.name == cls)
        found = {target.id: ast.literal_eval(node.value) for node in body if isinstance(node, ast.Assign)
                 for target in node.targets
                 if isinstance(target, ast.Name) and target.id in ("default_js", "default_css")}
        return list(found["default_js"]), list(found["default_css"])
    except (OSError, SyntaxError, ValueError, StopIteration, KeyError):
        return None


# after a statement: blanks, lines joined by a backslash, a comment, the end of the line
_LINE_END = re.compile(r"(?:[ \t]*\\\n)*[ \t]*(?:#[^\n]*)?\n")


def _triple_quoted(source: str, start: int) -> str | None:
    """The triple-quoted string literal (no prefix) at ``start`` of ``source`` up to its closing quotes, when
    nothing but a comment follows it on its line; else None.

    The literal ends at the first three quotes whose first one no backslash escapes (an odd number of
    backslashes before it), as Python's tokenizer reads it.
    """
    quotes = source[start:start + 3]
    if quotes not in ("'''", '"""'):
        return None
    end = start + 3
    while (end := source.find(quotes, end)) >= 0:
        slashes = 0
        while source[end - 1 - slashes] == "\\":
            slashes += 1
        if slashes % 2 == 0:
            return source[start:end + 3] if _LINE_END.match(source, end + 3) else None
        end += 1
    return None


@lru_cache(maxsize=4)
def _bundled_texts(path: Path, urls: tuple[str, ...]) -> dict[str, str] | None:
    """URL → text of each asset in folium-offline's ``elements.py``, read from its source without importing it.

    folium-offline stores each asset as a statement ``_res['URL'] = <triple-quoted string>``; the last
    one of a URL is what an import would keep. The literal is evaluated by :func:`ast.literal_eval`.
    None when a URL is not assigned so (the caller then imports the module).
    """
    import ast

    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    texts = {}
    for url in urls:
        head = f"_res[{url!r}] = "
        start = source.rfind(head)
        literal = _triple_quoted(source, start + len(head)) if start >= 0 else None
        if literal is None or (start and source[start - 1] != "\n"):
            return None
        try:
            text = ast.literal_eval(literal)
        except (SyntaxError, ValueError):
            return None
        if not isinstance(text, str):
            return None
        texts[url] = text
    return texts


def _asset_texts() -> dict[str, str]:
    """File name → text of each web asset the pages use, from the package ``folium-offline``.

    Read from the package's source once per process (:func:`_bundled_texts`), not by importing it
    (which loads its own copy of folium, 7 MB of modules); imported only when that fails.
    """
    cached = _cached_assets()
    if cached is not None:
        return dict(cached[1])
    urls = _asset_urls()
    path = _package_file("offlinefolium", "elements.py")
    found = _bundled_texts(path, tuple(urls.values())) if path is not None else None
    bundled: dict[str, str]
    if found is not None:
        bundled = found
    else:
        try:
            from offlinefolium.elements import _res as bundled
        except ImportError as exc:
            raise CoverageError(
                "the maps need the package folium-offline (folium's web assets, written beside the maps so they "
                "draw without internet); install it with: pip install folium-offline"
            ) from exc
    texts = {}
    for name, url in urls.items():
        text = bundled.get(url)
        if text is None:
            raise CoverageError(f"folium-offline does not ship {url} (needed by this folium version); "
                                "install the folium-offline release matching folium")
        texts[name] = text
    _write_cache("assets", {"urls": urls, "texts": texts})
    return texts


# Disk cache of what folium gives the pages (issue 16: a warm run imports neither folium nor jinja2).
_ASSET_NAMES = ("leaflet.js", "leaflet.css", "leaflet.markercluster.js", "MarkerCluster.css")
_SKELETON_NAMES = frozenset(("title", "css", "data", "location"))
_CACHE_FORMAT = "folium-page-v1"


@lru_cache(maxsize=1)
def _code_digest() -> str:
    """Hash of this package's code and script that go into a page skeleton (the source of this module,
    of :mod:`coverage.maps.escape` and ``assets/coverage.js``): a changed one makes a new cache key."""
    import hashlib

    from . import escape

    digest = hashlib.sha256(_CACHE_FORMAT.encode())
    for source in (__file__, escape.__file__):
        digest.update(Path(source).read_bytes())
    digest.update(asset_text("coverage.js").encode("utf-8"))
    return digest.hexdigest()


def _cache_key() -> str | None:
    """Key of the disk cache of folium's pieces: the versions of folium, branca, jinja2 and folium-offline,
    the size and modification time of folium-offline's asset table and :func:`_code_digest`.

    None (no cache: the pieces come from folium and folium-offline themselves) when folium-offline's
    table cannot be found without importing it or a version cannot be read.
    """
    import hashlib
    import sys
    from importlib.metadata import PackageNotFoundError, version

    table = _package_file("offlinefolium", "elements.py")
    if table is None or any(name in sys.modules and sys.modules[name] is None for name in ("folium", "branca")):
        return None  # an import blocked (sys.modules holds None): the pieces come the long way, which says so
    try:
        versions = [version(name) for name in ("folium", "branca", "jinja2", "folium-offline")]
        stat = table.stat()
    except (PackageNotFoundError, OSError):
        return None
    text = "|".join([_code_digest(), *versions, str(table), str(stat.st_size), str(stat.st_mtime_ns)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def _read_cache(kind: str) -> Any:
    """The value cached for ``kind`` under the current :func:`_cache_key`; None without a key or an entry."""
    from .memo import read_cached

    key = _cache_key()
    return None if key is None else read_cached(f"folium-{kind}", key)


def _write_cache(kind: str, value: Any) -> None:
    """Keep ``value`` for ``kind`` under the current :func:`_cache_key` (nothing without a key)."""
    from .memo import write_cached

    key = _cache_key()
    if key is not None:
        write_cached(f"folium-{kind}", key, value)


def _is_text_table(value: Any) -> bool:
    return (isinstance(value, dict) and tuple(value) == _ASSET_NAMES
            and all(isinstance(v, str) for v in value.values()))


def _cached_assets() -> tuple[dict[str, str], dict[str, str]] | None:
    """(URLs, texts) of the web assets from the disk cache, or None when it holds no valid entry."""
    value = _read_cache("assets")
    if not (isinstance(value, dict) and _is_text_table(value.get("urls")) and _is_text_table(value.get("texts"))):
        return None
    return value["urls"], value["texts"]


def write_offline_assets(out_dir: str | Path) -> list[Path]:
    """Write Leaflet and Leaflet.markercluster (JS, CSS) into ``out_dir/lib`` for offline maps.

    The files come from the package ``folium-offline``, which ships the web assets of the
    same folium release (images inlined as data URIs), looked up by the URL folium uses.

    Parameters
    ----------
    out_dir : str or Path
        Directory of the maps; the files go into its ``lib`` subdirectory (:data:`ASSET_DIR`),
        written atomically.

    Returns
    -------
    list of Path
        The files written: ``leaflet.js``, ``leaflet.css``, ``leaflet.markercluster.js`` and
        ``MarkerCluster.css``.

    Raises
    ------
    CoverageError
        When ``folium-offline`` is not installed or lacks an asset of this folium version.
    """
    from ..report import atomic_open

    written = []
    for name, text in _asset_texts().items():
        path = Path(out_dir) / ASSET_DIR / name
        with atomic_open(path) as fh:
            fh.write(text)
        written.append(path)
    return written


class MapFrame(str):
    """A map page that shows itself in Jupyter: the page in a sandboxed ``<iframe srcdoc>``.

    It is the HTML string itself (``str`` methods, ``open(...).write(frame)`` work); in a notebook
    cell it displays the map. Made by :func:`show_map`.
    """

    height: int = 560

    def _repr_html_(self) -> str:
        import html

        style = f"width:100%;height:{int(self.height)}px;border:1px solid #ccc;box-sizing:border-box"
        return (f'<iframe srcdoc="{html.escape(str(self), quote=True)}" style="{style}" '
                'sandbox="allow-scripts"></iframe>')


def show_map(page: str, height: int = 560) -> MapFrame:
    """Wrap a map page (:func:`render_map` with ``offline="inline"``) for display in a notebook.

    Parameters
    ----------
    page : str
        The HTML page.
    height : int
        Height of the ``<iframe>`` in pixels.

    Returns
    -------
    MapFrame
        The page as a :class:`MapFrame` of that height.

    Examples
    --------
    >>> frame = show_map("<html><body>地圖</body></html>", height=300)
    >>> 'srcdoc="&lt;html&gt;' in frame._repr_html_() and "300px" in frame._repr_html_()
    True
    """
    frame = MapFrame(page)
    frame.height = height
    return frame


def _safe_name(text: str, default: str) -> str:
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", text).strip(" .") or default


def map_filename(county: str | None) -> str:
    """File name of a county's map (``嘉義縣.html``), or of the national map (``taiwan.html``).

    Parameters
    ----------
    county : str or None
        Official county name; None for the national map.

    Returns
    -------
    str
        The file name; characters not allowed in file names become ``_``.
    """
    if county is None:
        return NATIONAL_FILE
    return f"{_safe_name(county, 'county')}.html"


def site_map_filename(county: str, category: str) -> str:
    """File name of a siting map: ``sites_嘉義縣_community_support_point.html``.

    Parameters
    ----------
    county : str
        Official county name of the plan.
    category : str
        Category key of the plan.

    Returns
    -------
    str
        The file name; characters not allowed in file names become ``_``.
    """
    return f"sites_{_safe_name(county, 'county')}_{_safe_name(category, 'category')}.html"


def _check(level: str, basemap: str) -> None:
    if level not in LEVELS:
        raise InputError(f"level must be one of {', '.join(LEVELS)}; got {level!r}")
    if basemap not in BASEMAPS:
        raise InputError(f"basemap must be one of {', '.join(BASEMAPS)}; got {basemap!r}")


#: What a partial registry means, in tooltips and the legend (coverage.completeness: ``partial``).
PARTIAL_NOTE = f"部分資料：{PARTIAL_MEANING}"


def _title_html(report: CoverageReport, place: str, index_href: str | None, payload: MapPayload) -> str:
    from .payload import definition_label

    link = f'・<a href="{esc(index_href)}">各縣市總表</a>' if index_href else ""
    sites = payload.get("sites")
    heading = "強化社會安全網服務據點涵蓋"
    extra = ""
    if sites:
        heading = f"{payload['cats'][sites['k']]['label']} 建議新設點"
        extra = f'<div class="sn-meta sn-site-summary">{sites["summary"]}</div>'
    return (
        f"<h1>{esc(place)} {heading}</h1>"
        '<div class="sn-sub"></div>'
        f"{extra}"
        f'<div class="sn-meta">資料日期 {report.as_of.date().isoformat()}・涵蓋定義：'
        f"{definition_label(report.definition)}{link}</div>"
    )


def _legend_html(report: CoverageReport, payload: MapPayload, attribution: str) -> str:
    from .. import __version__
    from .payload import STATE_LABELS, definition_label

    colours = payload["colours"]
    parts = ['<details open><summary>圖例</summary>',
             '<div class="sn-h">鄉鎮市區涵蓋狀態（<span class="sn-active-label"></span>）</div>']
    parts += [f'<div><i class="sn-sw" style="background:{colours[s]}"></i>{label}</div>'
              for s, label in STATE_LABELS.items()]
    parts.append('<div><i class="sn-sw sn-sw-gap"></i>缺口：未涵蓋的鄉鎮市區（紅框）</div>')
    parts += _data_legend(payload)
    parts.append('<div class="sn-h">服務據點</div>')
    parts += [f"<div>{c['icon']} {c['label']}</div>" for c in payload["cats"]]
    parts.append('<div class="sn-meta">淡色：位置僅知鄉鎮市區（標於代表點）；灰色：規劃中、尚未啟用</div>')
    sites = payload.get("sites")
    if sites:
        km = f"{sites['radius'] / 1000:g} km"
        parts += ['<div class="sn-h">建議新設點</div>',
                  '<div><i class="sn-site sn-site-new sn-site-sw">1</i>依建議順位編號；紅：使鄉鎮市區新涵蓋，'
                  '黑：該鄉鎮市區已有據點（點選看新增服務人口）</div>',
                  f'<div><i class="sn-sw sn-sw-radius"></i>服務半徑 {km}（直線）；虛線：既有據點</div>',
                  '<div class="sn-meta">「新增後」：有建議點的鄉鎮市區視為已涵蓋</div>']
    parts += _priority_legend(payload)
    parts += _area_legend(payload)
    parts += _travel_legend(payload)
    files = "、".join(esc(Path(f).name) for f in report.files) or "—"
    parts.append(
        '<details class="sn-data"><summary>資料說明</summary><div class="sn-meta">'
        f"資料日期：{report.as_of.date().isoformat()}<br>"
        f"涵蓋定義：{definition_label(report.definition)}<br>"
        f"據點清冊：{files}<br>{attribution}<br>"
        f"特殊地區：{'、'.join(_flag_labels())}<br>"
        f"{_population_note(report, payload)}"
        f"產製：safetynet-coverage {esc(__version__)}</div></details></details>"
    )
    return "".join(parts)


def _data_legend(payload: MapPayload) -> list[str]:
    """Legend lines of the data completeness: the grey 無資料 fill, 部分資料 (none when all is complete)."""
    from .payload import NO_DATA, NO_DATA_LABEL

    quality = {c["label"]: c.get("data", "complete") for c in payload["cats"]}
    parts = []
    if any(d == "none" for d in quality.values()) or any("n" in t.get("dq", "") for t in payload["towns"]):
        none = "、".join(label for label, d in quality.items() if d == "none")
        parts.append(f'<div class="sn-nodata"><i class="sn-sw" style="background:{payload["colours"][NO_DATA]}">'
                     f"</i>{NO_DATA_LABEL}{'：' + none if none and payload['county'] else ''}</div>")
    partial = "、".join(label for label, d in quality.items() if d == "partial")
    if partial:
        parts.append(f'<div class="sn-partial">部分資料（{partial}）：{PARTIAL_MEANING}</div>')
    return parts


def _priority_legend(payload: MapPayload) -> list[str]:
    """Legend lines of the 優先補點 layer (none without population)."""
    from .population import PRIORITY_CLASS_LABELS

    prio, pop = payload.get("prio"), payload.get("pop")
    if not prio or not pop:
        return []
    parts = ['<div class="sn-h">優先補點（所選服務類別）</div>']
    parts += [f'<div><i class="sn-prio sn-prio-{c} sn-prio-sw">{label.split()[1].split("–")[0]}</i>{label}</div>'
              for c, label in PRIORITY_CLASS_LABELS.items()]
    top = f"全國圖僅標示各縣市前 {prio['top']} 順位。" if prio.get("top") else ""
    parts.append(f'<div class="sn-meta">未設點、或{pop["label"]}平均距最近據點超過 {pop["km"]:g} km 的鄉鎮市區，'
                 "各縣市依優先分數排序：分數 = 受影響人口 × 平均最近距離 × 加權"
                 f"（偏遠、山區、離島各 +0.5，沿海 +0.25）。{top}滑鼠移至編號看原因。</div>")
    return parts


def _area_legend(payload: MapPayload) -> list[str]:
    """Legend lines of the 服務區域 layer (none without service areas)."""
    if not payload.get("areas"):
        return []
    return ['<div class="sn-h">服務區域（所選服務類別）</div>',
            '<div><i class="sn-sw sn-sw-area"></i>各據點公告之服務區域，一據點一色框；滑鼠移至框線看據點名稱，'
            "點選據點亦標示其服務區域</div>",
            '<div><i class="sn-sw sn-sw-area sn-sw-area-part"></i>虛線：僅服務該鄉鎮市區的一部分（公告未列村里）</div>']


def _travel_legend(payload: MapPayload) -> list[str]:
    """Legend of the 行車時間 village layer, shown while the layer is on (none without it)."""
    travel = payload.get("travel")
    if not travel or travel["v"] is None:
        return []
    rows = "".join(f'<div><i class="sn-sw" style="background:{colour}"></i>{label}</div>'
                   for colour, label in zip(travel["colours"], travel["labels"], strict=True))
    return ['<div class="sn-tlegend"><div class="sn-h">行車時間（村里至最近所選服務類別據點，道路）</div>'
            f'{rows}<div class="sn-meta">點選村里看分鐘數、道路與離路公里數、最近據點</div></div>']


def _population_note(report: CoverageReport, payload: MapPayload) -> str:
    """資料說明 lines on population, distances and the computed flags (empty without them)."""
    pop = payload.get("pop")
    lines = []
    if pop:
        period = f"（{pop['period']}）" if pop["period"] else ""
        where = "村里代表點" if pop["level"] == "village" else "鄉鎮市區代表點"
        lines.append(f"人口資料：{pop['file']}{period}，{pop['label']}<br>"
                     f"距離：{where}至最近據點的直線距離（人口加權平均／最遠）；"
                     f"2SFCA：服務圈 {pop['catchment']:g} km 內每萬人據點數<br>")
    travel = payload.get("travel")
    if travel:
        mean = "人口加權平均" if travel["weighted"] else "村里平均"
        lines.append(f"行車時間：路網 {travel['network'] or '—'}；村里代表點經道路至最近據點的分鐘數"
                     f"（鄉鎮市區：{mean}／最遠），離路段以直線計；無道路連線者不計分鐘<br>")
    if report.remoteness is not None:
        mountain = "；山區 = 數值地形模型（DEM）平均海拔達門檻" if "mountain" in report.remoteness else ""
        lines.append("計算旗標：偏遠 = 人口密度低於全國 1/5，或距縣治 7.5 km 以上之離島（內政部定義）"
                     f"{mountain}<br>")
    return "".join(lines)


def _flag_labels() -> list[str]:
    from ..geography import FLAG_LABELS

    return list(FLAG_LABELS.values())


def asset_text(name: str) -> str:
    """Text of a file of the package's ``coverage/maps/assets`` (``coverage.js``, ``coverage.css``, ``index.css``).

    Parameters
    ----------
    name : str
        File name inside ``coverage/maps/assets``.

    Returns
    -------
    str
        The file's text (UTF-8).

    Raises
    ------
    CoverageError
        When the package was installed without its assets (the names it has are listed).
    """
    return _read_asset(name)


@lru_cache(maxsize=8)
def _read_asset(name: str) -> str:
    """:func:`asset_text`, read once per process (an error is not kept: the next call tries again)."""
    from importlib.resources import files

    folder = files(__package__).joinpath("assets")
    try:
        return folder.joinpath(name).read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError) as exc:
        have = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        raise CoverageError(f"map asset {name!r} is missing from the installed package "
                            f"(coverage/maps/assets has: {', '.join(have) or 'nothing'}); reinstall safetynet-coverage"
                            ) from exc


def page_css(payload: MapPayload) -> str:
    """The map page's stylesheet: ``assets/coverage.css`` and the rules that depend on the payload.

    Those are the gap colour (a CSS variable), the priority badge colours and, per category, the
    bold tooltip row of the programme shown.

    Parameters
    ----------
    payload : MapPayload
        The page's payload; its ``cats`` give the number of tooltip-row rules.

    Returns
    -------
    str
        The CSS text.
    """
    from .payload import GAP_COLOUR
    from .population import PRIORITY_COLOURS

    prio = "\n".join(f".sn-prio-{c} {{ background: {colour}; {'color: #333; ' if c == 4 else ''}}}"
                     for c, colour in PRIORITY_COLOURS.items())
    rows = "\n".join(f".sn-active-{i} .sn-tooltip .sn-r{i} {{ font-weight: bold; }}"
                     for i in range(len(payload["cats"])))
    if payload.get("travel"):
        rows += "".join(f"\n.sn-active-{i} .sn-tmin .sn-r{i} {{ font-weight: bold; }}"
                        for i in range(len(payload["cats"])))
    return f":root {{ --sn-gap: {GAP_COLOUR}; }}\n{asset_text('coverage.css')}{prio}\n{rows}\n"


#: ``id`` of the page element that holds the payload as JSON.
PAYLOAD_ID = "sn-payload"


@lru_cache(maxsize=1)
def _layers_class() -> type:
    """The folium element class that draws the payload (made once per process: its template compiled once)."""
    from branca.element import MacroElement
    from folium.template import Template

    from .escape import to_script_json

    class CoverageLayers(MacroElement):
        _template = Template(
            "{% macro header(this, kwargs) %}<style>{{ this.css }}</style>{% endmacro %}"
            "{% macro html(this, kwargs) %}<script type=\"application/json\" id=\"" + PAYLOAD_ID + "\">"
            "{{ this.data }}</script>{% endmacro %}"
            "{% macro script(this, kwargs) %}{{ this.script_text(this._parent.get_name()) }}{% endmacro %}"
        )

        def __init__(self, css: str, data: str, tiles: dict[str, Any]) -> None:
            super().__init__()
            self._name = "CoverageLayers"
            self.css = css
            self.data = data
            self.tiles = tiles

        def script_text(self, map_name: str) -> str:
            # tile layer names are read at render time, after the page's ids are final
            layers = ", ".join(f"{to_script_json(_BASE_LABELS[k])}: {t.get_name()}" for k, t in self.tiles.items())
            return (f"{asset_text('coverage.js')}\nsafetynetDraw({map_name}, "
                    f"JSON.parse(document.getElementById({to_script_json(PAYLOAD_ID)}).textContent), "
                    f"{{{layers}}});\n")

    return CoverageLayers


def _layers_element(css: str, data: str, tiles: dict[str, Any]) -> Any:
    """The folium element that draws the payload.

    The stylesheet ``css`` goes into the head; the payload's JSON ``data`` into a
    ``<script type="application/json">`` element of the body; ``assets/coverage.js`` and one call of
    its ``safetynetDraw`` after the map and its tile layers are made.
    """
    return _layers_class()(css, data, tiles)


def _folium_page(*, location: list[float], zoom: int, basemap: str, offline: bool | str, title: str, css: str,
                 data: str) -> str:
    """The page as folium renders it: the map, its tile layers, the stylesheet, the payload and the script."""
    import folium

    fmap = folium.Map(location=location, zoom_start=zoom, tiles=None, zoom_control=False, control_scale=False)
    src = _asset_sources(offline)
    # Only what the page uses: folium's default bootstrap, jQuery and font icons are not needed.
    fmap.default_js = [("leaflet", src["leaflet.js"]), ("markerclusterjs", src["leaflet.markercluster.js"])]
    fmap.default_css = [("leaflet_css", src["leaflet.css"]), ("markerclustercss", src["MarkerCluster.css"])]
    tiles = {
        "osm": folium.TileLayer("OpenStreetMap", name=_BASE_LABELS["osm"], show=basemap == "osm"),
        "nlsc": folium.TileLayer(NLSC_URL, attr=NLSC_ATTRIBUTION, name=_BASE_LABELS["nlsc"], max_zoom=19,
                                 max_native_zoom=19, show=basemap == "nlsc"),
    }
    for tile in tiles.values():
        tile.add_to(fmap)
    _layers_element(css, data, tiles).add_to(fmap)
    root: Any = fmap.get_root()  # a branca Figure
    root.title = title
    return _numbered_ids(root, root.render()).replace("<html>", '<html lang="zh-Hant-TW">', 1)


# Stand-ins rendered by folium once in a page skeleton (_skeleton), then replaced by each map's own values.
_MARKS = {"title": "sn-title-3f8a1c", "css": "sn-css-3f8a1c", "data": "sn-data-3f8a1c"}
_MARK_LOCATION = [12.345678, 98.765432]
# folium renders a macro's output once more as a Jinja template: text is unchanged by it only without
# Jinja delimiters and carriage returns (which Jinja would turn into newlines).
_NOT_VERBATIM = ("{{", "{%", "{#", "\r")


@lru_cache(maxsize=8)
def _skeleton(zoom: int, basemap: str, offline: bool | str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """folium's page for these options with stand-ins for the title, centre, stylesheet and payload, cut
    at each stand-in: (the pieces, the name of the value between each two). None when a stand-in is
    not found exactly once (the page is then rendered by folium whole).

    Kept on disk (``datasets.cache_dir()/maps``, keyed by :func:`_cache_key`): a later run takes it from
    there without importing folium; an unreadable or malformed entry is rendered again and rewritten.
    """
    import json

    kind = f"skeleton-{zoom}-{basemap}-{offline}"
    cached = _read_cache(kind)
    if (isinstance(cached, list) and len(cached) == 2 and isinstance(cached[1], list)
            and sorted(cached[1]) == sorted(_SKELETON_NAMES) and isinstance(cached[0], list)
            and len(cached[0]) == len(cached[1]) + 1 and all(isinstance(p, str) for p in cached[0])):
        return tuple(cached[0]), tuple(cached[1])
    page = _folium_page(location=_MARK_LOCATION, zoom=zoom, basemap=basemap, offline=offline, **_MARKS)
    marks = {**_MARKS, "location": json.dumps(_MARK_LOCATION)}
    if any(page.count(mark) != 1 for mark in marks.values()):
        return None
    pieces, names, at = [], [], 0
    for pos, name, mark in sorted((page.index(mark), name, mark) for name, mark in marks.items()):
        pieces.append(page[at:pos])
        names.append(name)
        at = pos + len(mark)
    pieces.append(page[at:])
    _write_cache(kind, [pieces, names])
    return tuple(pieces), tuple(names)


def _page_html(*, location: list[float], zoom: int, basemap: str, offline: bool | str, title: str, css: str,
               data: str) -> str:
    """:func:`_folium_page`, byte for byte, without rendering folium's elements for every map.

    folium renders the page skeleton of these options once per process (:func:`_skeleton`); each map
    fills in its title, centre (as folium writes it: JSON of the two floats), stylesheet and payload.
    A value that folium would not keep verbatim (an empty title, a non-finite centre, text with Jinja
    delimiters or a carriage return) has the page rendered by folium whole, as before.
    """
    import json
    import math

    verbatim = (bool(title) and all(math.isfinite(x) for x in location)  # folium writes no <title> for ""
                and not any(mark in text for text in (css, data) for mark in _NOT_VERBATIM))
    skeleton = _skeleton(zoom, basemap, offline) if verbatim else None
    if skeleton is None:
        return _folium_page(location=location, zoom=zoom, basemap=basemap, offline=offline, title=title, css=css,
                            data=data)
    pieces, names = skeleton
    values = {"title": title, "css": css, "data": data,
              "location": json.dumps([float(location[0]), float(location[1])])}
    out = [pieces[0]]
    for name, piece in zip(names, pieces[1:], strict=True):
        out += [values[name], piece]
    return "".join(out)


def render_map(
    report: CoverageReport,
    county: str | None = None,
    *,
    level: str = "township",
    basemap: str = "osm",
    offline: bool | str = True,
    index_href: str | None = None,
    townships: gpd.GeoDataFrame | None = None,
    sites: SitingPlan | None = None,
) -> str:
    """One coverage map as a complete HTML page.

    Parameters
    ----------
    report : CoverageReport
        From :func:`coverage.run_coverage`.
    county : str, optional
        Official county name; None maps every county in the report.
    level : {"township", "village"}
        Fill townships, or villages coloured by their township's state (township outlines on top).
    basemap : {"osm", "nlsc", "none"}
        The basemap shown first; the others stay selectable in the layer control.
    offline : bool or "inline"
        ``True`` (default): link the JavaScript/CSS from ``lib/`` beside the page (see
        :func:`write_offline_assets`). ``"inline"``: embed them in the page (data URIs; one
        self-contained file, about 0.2 MB larger — for notebooks, see :func:`show_map`, or to send
        a single file). ``False``: link them from folium's CDN (the page then needs the internet).
    index_href : str, optional
        Link to the index page shown in the title.
    townships : GeoDataFrame, optional
        The report's township boundaries, if already loaded.
    sites : SitingPlan, optional
        Recommended new sites of ``county`` (:func:`coverage.siting.site_new_points`), drawn as
        numbered markers with their service radius; the township fill of the plan's category
        can be switched between 現況 and 新增後.

    Returns
    -------
    str
        The HTML. A page's URL fragment (``嘉義縣.html#community_support_point``) selects
        the category shown first.

    Raises
    ------
    InputError
        When ``level``, ``basemap`` or ``offline`` is not one of its choices, ``county`` is not in
        the report, or ``sites`` is for another county or category.
    """
    from .escape import to_script_json

    _check(level, basemap)
    if offline not in (True, False, "inline"):
        raise InputError(f"offline must be True, False or 'inline', got {offline!r}")
    payload = _page_payload(report, county, level=level, basemap=basemap, index_href=index_href,
                            townships=townships, sites=sites)
    (south, west), (north, east) = payload["bounds"]
    return _page_html(location=[(south + north) / 2, (west + east) / 2], zoom=7 if county is None else 10,
                      basemap=basemap, offline=offline, title=_page_title(report, county, sites),
                      css=page_css(payload), data=to_script_json(payload))


def _page_payload(report: CoverageReport, county: str | None, *, level: str, basemap: str,
                  index_href: str | None, townships: gpd.GeoDataFrame | None,
                  sites: SitingPlan | None) -> MapPayload:
    """:func:`coverage.maps.payload.map_payload` with the page's texts (``ui``) and cluster radius."""
    from .payload import boundary_attribution, map_payload

    payload = map_payload(report, county, level=level, townships=townships, sites=sites)
    attribution = boundary_attribution(report, level)
    place = county if county is not None else "全國"
    payload["clusterRadius"] = _CLUSTER_RADIUS["nation" if county is None else "county"]
    payload["ui"] = {
        "title": _title_html(report, place, index_href, payload),
        "legend": _legend_html(report, payload, attribution),
        "attribution": attribution,
        "tileNote": TILE_NOTE,
        "noBasemap": _BASE_LABELS["none"],
        "noBasemapShown": basemap == "none",
        "layersHeading": "圖層",
        "partial": PARTIAL_NOTE,
    }
    return payload


def _asset_sources(offline: bool | str) -> dict[str, str]:
    """File name → where the page loads each web asset: ``lib/…``, a data URI (inline) or folium's CDN."""
    if offline == "inline":
        import base64

        return {name: f"data:{'text/javascript' if name.endswith('.js') else 'text/css'};base64,"
                      f"{base64.b64encode(text.encode('utf-8')).decode('ascii')}"
                for name, text in _asset_texts().items()}
    urls = _asset_urls()
    return {name: f"{ASSET_DIR}/{name}" if offline else url for name, url in urls.items()}


def _page_title(report: CoverageReport, county: str | None, sites: SitingPlan | None) -> str:
    """The page's ``<title>`` (escaped)."""
    place = county if county is not None else "全國"
    what = "社會安全網服務據點涵蓋地圖"
    if sites is not None:
        from ..facilities import CATEGORIES

        category = sites.summary["category"]
        what = f"{CATEGORIES.get(category, category)} 建議新設點地圖"
    return esc(f"{place} {what}（{report.as_of.date().isoformat()}）")


def _numbered_ids(root, html: str) -> str:
    """``html`` with folium/branca's random element ids replaced by ids numbered in page order.

    Only the ids of the page's own elements (walked from ``root``) are replaced, so two renders
    of the same map are byte-identical.
    """
    ids: list[str] = []
    stack = [root]
    while stack:
        element = stack.pop()
        ids.append(element._id)
        stack.extend(reversed(list(element._children.values())))
    numbered = {old: f"sn{n}" for n, old in enumerate(dict.fromkeys(ids), start=1)}
    if not numbered:
        return html
    return re.sub("|".join(map(re.escape, numbered)), lambda m: numbered[m.group()], html)


_RATE_BINS = [(100.0, "#a6dba0"), (75.0, "#d9f0d3"), (50.0, "#fee0b6"), (25.0, "#fdb863"), (0.0, "#f4a582")]


def _rate_colour(rate: float, total: int) -> str:
    if not total:
        return "#eeeeee"
    return next(colour for floor, colour in _RATE_BINS if rate >= floor)


def render_index(report: CoverageReport, links: dict[str, str], national_href: str | None = None) -> str:
    """The index page: county × category coverage table, each cell linking to its county map.

    Parameters
    ----------
    report : CoverageReport
        From :func:`coverage.run_coverage`.
    links : dict
        County name → map file name (relative href); counties without a map are not linked.
    national_href : str, optional
        File name of the national map.

    Returns
    -------
    str
        The HTML page (style: ``assets/index.css``).
    """
    from .. import __version__
    from .payload import BUNDLED_ATTRIBUTION, category_styles, definition_label, ordered_categories

    table = report.counties
    cats = ordered_categories(table["category"].unique().tolist())
    styles = category_styles(cats)
    as_of = report.as_of.date().isoformat()
    head = "".join(f"<th>{styles[c]['label']}</th>" for c in cats)
    rows = _index_rows(table, links, cats, styles)
    nat_total = int(table.drop_duplicates("county")["total"].sum())
    nat_name = f'<a href="{esc(quote(national_href))}">全國</a>' if national_href else "合計"
    rows.append(f"<tr class=total><th scope=row>{nat_name}</th><td class=n>{nat_total}</td>"
                f"{''.join(_index_totals(table, cats))}</tr>")
    files = "、".join(esc(Path(f).name) for f in report.files) or "—"
    boundaries = (esc(BUNDLED_ATTRIBUTION) if report.boundaries.startswith("bundled")
                  else esc(f"鄉鎮市區界線：{Path(report.boundaries).name}（使用者提供）"))
    national = f'<p><a href="{esc(quote(national_href))}">全國地圖</a></p>' if national_href else ""
    return f"""<!DOCTYPE html>
<html lang="zh-Hant-TW">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>強化社會安全網服務據點 鄉鎮市區涵蓋率（{as_of}）</title>
<style>
{asset_text("index.css")}</style>
</head>
<body>
<h1>強化社會安全網服務據點 鄉鎮市區涵蓋率</h1>
<p class="meta">資料日期 {as_of}・涵蓋定義：{definition_label(report.definition)}・
涵蓋率 = 有據點的鄉鎮市區數 / 鄉鎮市區數。點選縣市或數字開啟該縣市地圖。</p>
{national}
<table>
<thead><tr><th>縣市</th><th>鄉鎮市區</th>{head}</tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>
<p class="meta">據點清冊：{files}<br>{boundaries}<br>產製：safetynet-coverage {esc(__version__)}</p>
</body>
</html>
"""


_NO_DATA_CELL = '<td class=nodata style="background:#e0e0e0;color:#555">無資料</td>'


def _index_rows(table: pd.DataFrame, links: dict[str, str], cats: list[str],
                styles: dict[str, dict[str, str]]) -> list[str]:
    """One table row per county: its name (linked to its map), township count and a cell per category."""
    rows = []
    by_key = {(r.county, r.category): r for r in table.itertuples(index=False)}
    for county in dict.fromkeys(table["county"]):
        href = links.get(county)
        total = next((by_key[(county, c)].total for c in cats if (county, c) in by_key), 0)
        name = f'<a href="{esc(quote(href))}">{esc(county)}</a>' if href else esc(county)
        cells = [f"<th scope=row>{name}</th><td class=n>{total}</td>"]
        cells += [_index_cell(by_key.get((county, cat)), county, cat, href, styles) for cat in cats]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return rows


def _index_cell(r: Any, county: str, cat: str, href: str | None, styles: dict[str, dict[str, str]]) -> str:
    """The cell of one county × category (``r``: its row of ``report.counties``, or None)."""
    if r is None:
        return "<td>—</td>"
    data = getattr(r, "data", "complete")  # an itertuples row: a report without the data column has none
    if data == "none":  # no data is not 0%: a grey cell
        return _NO_DATA_CELL
    text = f"{r.covered}/{r.total}<br><b>{r.rate:.1f}%</b>"
    if data == "partial":
        text += "<br><small>部分資料</small>"
    if r.missing:
        text += f"<br><small>缺 {len(r.missing)}</small>"
    if href:
        title = f'{esc(county)} {styles[cat]["label"]}'
        text = f'<a href="{esc(quote(href))}#{esc(quote(cat))}" title="{title}">{text}</a>'
    return f'<td style="background:{_rate_colour(r.rate, r.total)}">{text}</td>'


def _index_totals(table: pd.DataFrame, cats: list[str]) -> list[str]:
    """The national cell per category: counties with complete data only, and it says so."""
    from .payload import coverage_rate

    totals = []
    for cat in cats:
        sub = table[table["category"] == cat]
        note = ""
        if "data" in sub:
            complete = sub[sub["data"] == "complete"]
            if complete.empty:
                totals.append(_NO_DATA_CELL)
                continue
            note = "" if len(complete) == len(sub) else f"<br><small>僅 {len(complete)} 縣市完整資料</small>"
            sub = complete
        covered, total = int(sub["covered"].sum()), int(sub["total"].sum())
        rate = coverage_rate(covered, total)
        totals.append(f'<td style="background:{_rate_colour(rate, total)}">'
                      f"{covered}/{total}<br><b>{rate:.1f}%</b>{note}</td>")
    return totals


def write_maps(
    report: CoverageReport,
    out_dir: str | Path,
    *,
    level: str = "township",
    basemap: str | None = None,
    offline: bool = False,
    national: bool | None = None,
    png: bool = False,
    workers: int | None = None,
) -> dict[str, Path]:
    """Write every county's map, the national map and ``index.html`` into ``out_dir``, atomically.

    Parameters
    ----------
    report : CoverageReport
        From :func:`coverage.run_coverage`; one map per county in it.
    out_dir : str or Path
        Directory to write into (created if missing).
    level : {"township", "village"}
        Polygons filled, as for :func:`render_map`.
    basemap : {"osm", "nlsc", "none"}, optional
        Default ``osm``, or ``none`` when ``offline``. Only the basemap needs the network.
    offline : bool
        No network at all: the default basemap becomes none. (The JavaScript/CSS is written into
        ``out_dir/lib`` and linked from there in any case.)
    national : bool, optional
        Also write ``taiwan.html``; default: when the report covers every county of its boundaries.
    png : bool
        Also write a static figure per county (``嘉義縣.png``, :func:`coverage.maps.static.county_figure`).
    workers : int, optional
        Processes that work, this one included. With ``png``: those drawing the figures, this one
        once it has written the HTML maps (``workers − 1`` start at once;
        :func:`coverage.maps.static.county_figures`). Without: with 2 or more, the pages are shared
        with one forked copy of this process (:func:`coverage.maps.forkshare.forked_share`). The same
        bytes either way. Default: 2, or 1 on a machine with one core; 1 does everything here.

    Returns
    -------
    dict
        ``index``, ``taiwan`` (if written), each county name, ``<county>.png`` (png) and
        ``lib/…`` → path.
    """
    with writing_maps(report, out_dir, level=level, basemap=basemap, offline=offline, national=national, png=png,
                      workers=workers) as finish:
        return finish()


@contextlib.contextmanager
def writing_maps(
    report: CoverageReport,
    out_dir: str | Path,
    *,
    level: str = "township",
    basemap: str | None = None,
    offline: bool = False,
    national: bool | None = None,
    png: bool = False,
    workers: int | None = None,
) -> Iterator[Callable[[], dict[str, Path]]]:
    """:func:`write_maps` with the caller's own work in between: the maps are written while the block runs.

    Use as a context manager. On entering, the web assets are written and (``workers`` 2 or more, no
    ``png``, on a machine that can fork) a copy of this process is forked that starts rendering
    the pages, first to last, while the block runs. The function the block receives renders the pages
    that copy has not taken yet (last to first), waits for it and writes ``index.html``; it returns
    what :func:`write_maps` returns, with the same bytes in every file. A page the copy could not
    write is rendered again here, so its error is raised here, in page order. Leaving the block
    without calling the function stops the copy after its current page.

    Parameters
    ----------
    report, out_dir, level, basemap, offline, national, png, workers
        As for :func:`write_maps`.

    Yields
    ------
    callable
        Takes nothing; writes what is left and returns the paths as :func:`write_maps` does.

    Raises
    ------
    InputError
        When ``level`` or ``basemap`` is not one of its choices.
    """
    from ..geography import load_townships
    from ..report import atomic_open, record_output
    from .forkshare import forked_share
    from .memo import sharing

    basemap = basemap or ("none" if offline else "osm")
    _check(level, basemap)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for path in write_offline_assets(out):
        paths[f"{ASSET_DIR}/{path.name}"] = path
    towns = load_townships(None if report.boundaries.startswith("bundled") else report.boundaries)
    counties = list(dict.fromkeys(report.counties["county"]))
    if national is None:
        national = set(counties) >= set(towns["county"])
    options = {"level": level, "basemap": basemap, "offline": True, "index_href": INDEX_FILE,
               "townships": towns}
    targets = ([None] if national else []) + counties
    if workers is None:
        workers = min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)

    def write_page(i: int) -> Path:
        county = targets[i]
        name = map_filename(county)
        log.info("writing %s", out / name)
        html = render_map(report, county, **options)
        with atomic_open(out / name) as fh:
            fh.write(html)
        return out / name

    def finished(pngs: dict[str, Path]) -> dict[str, Path]:
        links = {}
        for county in targets:
            paths["taiwan" if county is None else county] = out / map_filename(county)
            if county is not None:
                links[county] = map_filename(county)
        for county in counties:  # the order of the paths: each county's map, then its figure
            paths[county] = paths.pop(county)
            if county in pngs:
                paths[f"{county}.png"] = pngs[county]
        with atomic_open(out / INDEX_FILE) as fh:
            fh.write(render_index(report, links, NATIONAL_FILE if national else None))
        paths["index"] = out / INDEX_FILE
        return paths

    if png:
        from .static import county_figures

        figures = [(county, out / f"{Path(map_filename(county)).stem}.png") for county in counties]
        with county_figures(report, figures, townships=towns, level=level, workers=workers) as drawn, sharing():
            def draw_all() -> dict[str, Path]:
                for i in range(len(targets)):
                    write_page(i)
                return finished(drawn())

            yield draw_all
        return
    with sharing(), forked_share(len(targets) if workers >= 2 else 0, write_page,
                                 reported=lambda i: record_output(out / map_filename(targets[i]))) as share:
        def write_rest() -> dict[str, Path]:
            who = share()
            for i in range(len(targets)):  # in page order: the first page that fails raises its error here
                if i not in who:
                    write_page(i)
            return finished({})

        yield write_rest


def write_site_map(
    report: CoverageReport,
    plan: SitingPlan,
    out_dir: str | Path,
    *,
    level: str = "township",
    basemap: str | None = None,
    offline: bool = False,
) -> Path:
    """Write the siting map ``out_dir/sites_<county>_<category>.html`` (atomically) and return its path.

    The county's map (:func:`render_map`) of ``report`` with ``plan``'s recommended sites.
    The JavaScript/CSS goes into ``out_dir/lib``; with ``offline`` the basemap is ``none`` by default.

    Parameters
    ----------
    report : CoverageReport
        Coverage of the plan's county (and category) on the plan's date.
    plan : SitingPlan
        From :func:`coverage.siting.site_new_points`.
    out_dir : str or Path
        Directory to write into.
    level : {"township", "village"}
        Polygons filled, as for :func:`render_map`.
    basemap : {"osm", "nlsc", "none"}, optional
        Default ``osm``, or ``none`` when ``offline``.
    offline : bool
        No network at all: the default basemap becomes none. (The JavaScript/CSS is linked from
        ``out_dir/lib`` in any case.)

    Returns
    -------
    Path
        The page written.

    Raises
    ------
    InputError
        When ``level`` or ``basemap`` is not one of its choices, or the plan's county or category
        is not in ``report``.
    """
    from ..report import atomic_open

    basemap = basemap or ("none" if offline else "osm")
    _check(level, basemap)
    county, category = plan.summary["county"], plan.summary["category"]
    html = render_map(report, county, level=level, basemap=basemap, offline=True, sites=plan)
    out = Path(out_dir)
    write_offline_assets(out)
    path = out / site_map_filename(county, category)
    log.info("writing %s", path)
    with atomic_open(path) as fh:
        fh.write(html)
    return path
