"""Static charts (PNG) with zh-TW labels. matplotlib is imported lazily.

Chinese text needs a CJK font: the Debian/Ubuntu package ``fonts-noto-cjk`` (Noto Sans CJK TC)
or any installed font whose name contains "CJK TC", "TC" or "Taipei"; set
``SAFETYNET_CJK_FONT`` to a font file to force one.
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import CoverageError

if TYPE_CHECKING:  # pragma: no cover
    from typing import IO

    import pandas as pd
    from matplotlib.artist import Artist
    from matplotlib.figure import Figure

__all__ = ["MARKERS", "MAX_SERIES_ONE_PANEL", "PALETTE", "cjk_font", "series_style", "trend_chart", "trend_figure",
           "write_png"]

log = logging.getLogger(__name__)

_PREFERRED = ("Noto Sans CJK TC", "Noto Sans TC", "Noto Serif CJK TC", "Noto Sans CJK JP", "Noto Sans CJK SC")


def cjk_font() -> str:
    """Family name of an installed CJK font for matplotlib (registers ``SAFETYNET_CJK_FONT``).

    Use it for your own charts with zh-TW labels, e.g. in a notebook::

        plt.rcParams["font.family"] = coverage.cjk_font()

    Returns
    -------
    str
        The font family name.

    Raises
    ------
    CoverageError
        No CJK font is installed; the message says how to get one.
    """
    from matplotlib import font_manager

    forced = os.environ.get("SAFETYNET_CJK_FONT")
    if forced:
        font_manager.fontManager.addfont(forced)
        return font_manager.FontProperties(fname=forced).get_name()
    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in _PREFERRED:
        if name in names:
            return name
    for name in sorted(names):
        if "CJK" in name or name.endswith(" TC"):
            return name
    raise CoverageError(
        "no CJK font found for zh-TW chart labels; install fonts-noto-cjk (apt) or set SAFETYNET_CJK_FONT"
    )


#: Okabe–Ito colours (distinguishable with the common colour-vision deficiencies), yellow last.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
#: Above this many county × programme series, one small panel per county.
MAX_SERIES_ONE_PANEL = 6


def series_style(i: int) -> tuple[str, str]:
    """(colour, marker) of the ``i``-th series: every pair differs for the first 64 series.

    Parameters
    ----------
    i : int
        Index of the series.

    Returns
    -------
    colour : str
        A hex colour of :data:`PALETTE`.
    marker : str
        A matplotlib marker of :data:`MARKERS`.
    """
    n = len(PALETTE)
    return PALETTE[i % n], MARKERS[(i + i // n) % len(MARKERS)]


def trend_chart(trend: pd.DataFrame, path: str | Path, *, roc: bool = False, title: str | None = None) -> Path:
    """Line chart of township coverage (%) per year, one line per county × category; writes a PNG.

    See :func:`trend_figure` for the layout.

    Parameters
    ----------
    trend : DataFrame
        From :func:`coverage.plan.coverage_trend`.
    path : str or Path
        The PNG to write.
    roc : bool
        Label the years in ROC (民國) years.
    title : str, optional
        The chart's title.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    CoverageError
        No CJK font is installed (:func:`cjk_font`).
    """
    import matplotlib.pyplot as plt

    from .report import atomic_open

    fig = trend_figure(trend, roc=roc, title=title)
    path = Path(path)
    try:
        with atomic_open(path, "wb") as fh:
            fig.savefig(fh, format="png", bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def trend_figure(trend: pd.DataFrame, *, roc: bool = False, title: str | None = None):
    """The trend chart as a matplotlib Figure.

    Up to :data:`MAX_SERIES_ONE_PANEL` county × category series share one plot, each with its
    own colour and marker; more, and each county gets a small panel of its own, a programme
    keeping one style across panels. The legend sits outside the plots. With the population
    columns of :func:`coverage.plan.coverage_trend` each series also has a dashed line of the
    share of people living in covered townships.

    Parameters
    ----------
    trend : DataFrame
        From :func:`coverage.plan.coverage_trend`.
    roc : bool
        Label the years in ROC (民國) years.
    title : str, optional
        The chart's title.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    CoverageError
        No CJK font is installed (:func:`cjk_font`).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    family = cjk_font()
    x_col = "roc_year" if roc else "year"
    with_people = "population_rate" in trend.columns and trend["population_rate"].notna().any()
    groups = list(trend.groupby(["county", "category"], sort=False))
    counties = list(dict.fromkeys(trend["county"]))
    multiples = len(groups) > MAX_SERIES_ONE_PANEL and len(counties) > 1
    if multiples:
        ncols = min(4, math.ceil(math.sqrt(len(counties))))
        nrows = -(-len(counties) // ncols)
        fig, axes = plt.subplots(nrows, ncols, figsize=(3.3 * ncols + 1.6, 2.4 * nrows + 0.8), dpi=120,
                                 sharex=True, sharey=True, squeeze=False, layout="constrained")
        panels = dict(zip(counties, axes.ravel(), strict=False))
        for k, ax in enumerate(axes.ravel()):
            if k >= len(counties):
                ax.set_visible(False)
            elif k + ncols >= len(counties):  # no panel below this one: it shows the years
                ax.xaxis.set_tick_params(labelbottom=True)
        order = _category_order(trend["category"])
        style_of = {key: series_style(order.index(key[1])) for key, _ in groups}
    else:
        fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
        panels = dict.fromkeys(counties, ax)
        style_of = {key: series_style(i) for i, (key, _) in enumerate(groups)}
    legend: dict[str, Artist] = {}
    for (county, category), g in groups:
        ax = panels[county]
        colour, marker = style_of[(county, category)]
        name = _short(category) if multiples else f"{county} {_short(category)}"
        label = name + (" 鄉鎮市區" if with_people else "")
        (line,) = ax.plot(g[x_col], g["rate"], color=colour, marker=marker, markersize=5, linewidth=1.6, label=label)
        legend.setdefault(label, line)
        if with_people:
            (dashed,) = ax.plot(g[x_col], g["population_rate"], color=colour, marker=marker, markersize=5,
                                markerfacecolor="white", linestyle="--", linewidth=1.2, label=name + " 人口")
            legend.setdefault(name + " 人口", dashed)
        if len(groups) == 1:  # with more series the labels would collide; the values are in trend.csv
            _label_points(ax, g[x_col].tolist(), g["rate"].tolist(), colour, family)
    years = sorted(trend[x_col].unique())
    step = max(1, -(-len(years) // (6 if multiples else 12)))
    for county, ax in panels.items():
        ax.set_ylim(0, 105)
        ax.set_xticks(years[::step])
        ax.grid(alpha=0.3)
        if multiples:
            ax.set_title(county, family=family, fontsize=9)
            ax.tick_params(labelsize=7)
    heading = title or "服務據點鄉鎮市區涵蓋率趨勢（各年年底）"
    y_label = "涵蓋率 (%)" if with_people else "鄉鎮市區涵蓋率 (%)"
    x_label = "民國年" if roc else "年"
    if multiples:
        fig.suptitle(heading, family=family)
        fig.supxlabel(x_label, family=family)
        fig.supylabel(y_label, family=family)
        fig.legend(list(legend.values()), list(legend), prop={"family": family, "size": 8},
                   loc="outside right upper", frameon=False)
    else:
        ax = next(iter(panels.values()))
        ax.set_title(heading, family=family)
        ax.set_xlabel(x_label, family=family)
        ax.set_ylabel(y_label, family=family)
        ax.legend(list(legend.values()), list(legend), prop={"family": family, "size": 8},
                  loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)
        fig.tight_layout()
    return fig


def _short(category: str) -> str:
    from .vocabulary import PROGRAMME_SHORT_LABELS

    return PROGRAMME_SHORT_LABELS.get(category, category)


def _category_order(categories) -> list[str]:
    """The four programmes in their fixed order (one style each, whichever are present), then custom ones."""
    from .vocabulary import PROGRAMME_LABELS

    present = list(dict.fromkeys(categories))
    return list(PROGRAMME_LABELS) + [c for c in present if c not in PROGRAMME_LABELS]


def _label_points(ax, xs, ys, colour, family) -> None:
    """The value above each point of a lone series."""
    for x, y in zip(xs, ys, strict=True):
        ax.annotate(f"{y:.1f}", (x, y), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=7,
                    color=colour, family=family)


def write_png(fig: Figure, out: str | Path | IO[bytes], *, pad_inches: float = 0.25) -> None:
    """Draw ``fig`` once and write what was drawn, with a white margin, as an RGB PNG.

    The result of ``savefig(bbox_inches="tight")`` without its second drawing pass: the figure is
    drawn on its own Agg canvas at its own size (a renderer that already laid the figure out is
    reused, so no text is measured twice), then cropped to the tight box of its artists plus
    ``pad_inches``, the margin filled white where it reaches past the canvas. Should an artist
    lie outside the canvas, ``savefig(bbox_inches="tight")`` grows the canvas to it instead:
    nothing is ever clipped at the edge. No timestamp or software tag is written: identical
    figures give identical bytes. zlib level 3 (smaller than the default 6 on maps, and faster).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure; given an Agg canvas if it has none.
    out : path or binary file
        Where to write the PNG.
    pad_inches : float
        White margin around what was drawn, in inches.
    """
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    box = fig.get_tightbbox(canvas.get_renderer())
    width, height = fig.get_size_inches()
    if box.x0 < 0 or box.y0 < 0 or box.x1 > width or box.y1 > height:
        fig.savefig(out, format="png", bbox_inches="tight", pad_inches=pad_inches, metadata={"Software": None},
                    pil_kwargs={"compress_level": 3})
        return
    dpi = fig.dpi
    rgba = np.asarray(canvas.buffer_rgba())
    rows, cols = rgba.shape[:2]
    x0, x1 = math.floor((box.x0 - pad_inches) * dpi), math.ceil((box.x1 + pad_inches) * dpi)
    top, bottom = math.floor((height - box.y1 - pad_inches) * dpi), math.ceil((height - box.y0 + pad_inches) * dpi)
    image = np.full((bottom - top, x1 - x0, 3), 255, dtype=np.uint8)
    r0, r1, c0, c1 = max(top, 0), min(bottom, rows), max(x0, 0), min(x1, cols)
    image[r0 - top:r1 - top, c0 - x0:c1 - x0] = rgba[r0:r1, c0:c1, :3]
    Image.fromarray(image).save(out, format="png", compress_level=3, dpi=(dpi, dpi))
