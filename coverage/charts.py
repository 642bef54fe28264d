"""Static charts (PNG) with zh-TW labels. matplotlib is imported lazily.

Chinese text needs a CJK font: the Debian/Ubuntu package ``fonts-noto-cjk`` (Noto Sans CJK TC)
or any installed font whose name contains "CJK TC", "TC" or "Taipei"; set
``SAFETYNET_CJK_FONT`` to a font file to force one.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import CoverageError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["cjk_font", "trend_chart"]

log = logging.getLogger(__name__)

_PREFERRED = ("Noto Sans CJK TC", "Noto Sans TC", "Noto Serif CJK TC", "Noto Sans CJK JP", "Noto Sans CJK SC")


def cjk_font() -> str:
    """Family name of an installed CJK font for matplotlib (registers ``SAFETYNET_CJK_FONT``).

    Use it for your own charts with zh-TW labels, e.g. in a notebook::

        plt.rcParams["font.family"] = coverage.cjk_font()

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


def trend_chart(trend: pd.DataFrame, path: str | Path, *, roc: bool = False, title: str | None = None) -> Path:
    """Line chart of township coverage (%) per year, one line per county × category.

    With the population columns of :func:`coverage.plan.coverage_trend` also a dashed line of the
    share of people in covered townships.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .facilities import CATEGORIES
    from .report import atomic_open

    family = cjk_font()
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    x_col = "roc_year" if roc else "year"
    with_people = "population_rate" in trend.columns and trend["population_rate"].notna().any()
    for (county, category), g in trend.groupby(["county", "category"], sort=False):
        label = f"{county} {CATEGORIES.get(category, category)}"
        (line,) = ax.plot(g[x_col], g["rate"], marker="o", label=label + (" 鄉鎮市區" if with_people else ""))
        for x, y in zip(g[x_col], g["rate"], strict=True):
            ax.annotate(f"{y:.1f}", (x, y), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8,
                        family=family)
        if with_people:
            ax.plot(g[x_col], g["population_rate"], marker="s", linestyle="--", color=line.get_color(),
                    label=label + " 人口")
    ax.set_ylim(0, 105)
    ax.set_xlabel("民國年" if roc else "年", family=family)
    ax.set_ylabel("涵蓋率 (%)：鄉鎮市區（實線）、人口（虛線）" if with_people else "鄉鎮市區涵蓋率 (%)", family=family)
    ax.set_xticks(sorted(trend[x_col].unique()))
    ax.set_title(title or "服務據點鄉鎮市區涵蓋率趨勢（各年年底）", family=family)
    ax.grid(alpha=0.3)
    ax.legend(prop={"family": family, "size": 8}, loc="best")
    fig.tight_layout()
    path = Path(path)
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png")
    plt.close(fig)
    return path
