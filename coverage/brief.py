"""The county brief for the planning meeting: an editable PowerPoint deck and a printable A4 PDF.

Counties present their 社安網 progress to the central government with slides of coverage per
programme, the missing townships, points per year and 已達標/未達標. :func:`write_brief` builds the
same from one coverage run: a title slide (county, as-of date in the ROC calendar, data sources);
coverage per programme with targets and data completeness; a map per programme; the gaps with their
flags; with population, the priority ranking with reasons and the people within reach; the trend by
ROC year; the siting suggestion for the top gap (before → after); data-quality notes.

The content is built once (:func:`brief_sections`) and rendered twice: ``python-pptx`` writes native
text and tables (editable, not pictures of text), ``fpdf2`` the PDF with the Noto CJK font embedded
(text extractable). Maps and the trend chart are PNG figures (:mod:`coverage.maps.static`,
:mod:`coverage.charts`). Both files are written atomically.
"""

from __future__ import annotations

import io
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .vocabulary import COMPUTED_FLAG_LABELS, GAP_KIND_SHORT

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .pipeline import CoverageReport

__all__ = ["Section", "brief_sections", "roc_date", "write_brief"]

log = logging.getLogger(__name__)

_MAX_ROWS = 14  # table rows per slide/page; longer tables continue on the next one


@dataclass
class Section:
    """One slide (and one PDF page): a title, an optional table (first row the header), picture, notes."""

    title: str
    subtitle: str = ""
    table: list[list[str]] | None = None
    image: Path | None = None
    notes: list[str] = field(default_factory=list)


def roc_date(when) -> str:
    """``2024-01-05`` → ``民國113年1月5日``.

    Parameters
    ----------
    when : date-like
        A date (``datetime.date``, ``datetime.datetime`` or ``pandas.Timestamp``).

    Returns
    -------
    str
    """
    return f"民國{when.year - 1911}年{when.month}月{when.day}日"


def _label(category: str) -> str:
    from .vocabulary import PROGRAMME_LABELS

    return PROGRAMME_LABELS.get(category, category)


def _rate(value) -> str:
    return "—" if value != value else f"{value:.1f}%"


def _targets_for(county: str | None, targets: pd.DataFrame | None) -> dict[str, str]:
    """Target text per category for the county (or 全國), from the nearest year's target."""
    if targets is None or targets.empty:
        return {}
    scope = county or "全國"
    rows = targets[targets["scope"] == scope].sort_values("year")
    out = {}
    for cat, group in rows.groupby("category"):
        t = group.iloc[0]
        parts = []
        if t["target_count"] == t["target_count"]:
            parts.append(f"{int(t['target_count'])} 處")
        if t["target_rate"] == t["target_rate"]:
            parts.append(f"{t['target_rate']:g}%")
        out[cat] = f"{'、'.join(parts)}（{int(t['year']) - 1911}年）"
    return out


def _national_state(data: dict, category: str) -> str:
    """The state of a national figure: complete only where every county's data are complete."""
    found = {v for (_, k), v in data.items() if k == category}
    if found and found <= {"none"}:
        return "none"
    return "partial" if found - {"complete"} else "complete"


def _judged(report: CoverageReport, county: str | None, targets) -> dict[str, str]:
    """已達標 / 未達標 / not judged per category, for the nearest year's target of the scope
    (:func:`coverage.plan.compare_targets`: outposts are not centres, incomplete data is not judged)."""
    if targets is None or targets.empty:
        return {}
    from .geography import load_townships
    from .plan import compare_targets

    scope = county or "全國"
    rows = targets[targets["scope"] == scope]
    rows = rows[rows["year"] == rows.groupby("category")["year"].transform("min")]
    if rows.empty:
        return {}
    table = compare_targets(report.registry.facilities, load_townships(), rows, as_of=report.as_of,
                            definition=report.definition, data=report.counties)
    out = {}
    for cat, group in table.groupby("category", sort=False):
        not_judged = group.loc[group["met"].isna(), "status"]
        out[cat] = not_judged.iloc[0] if len(not_judged) else ("已達標" if group["met"].all() else "未達標")
    return out


def _coverage_section(report: CoverageReport, county: str | None, targets, data) -> Section:
    from .vocabulary import DATA_LABELS

    rows = report.counties if county is None else report.counties[report.counties["county"] == county]
    goal = _targets_for(county, targets)
    table = [["服務方案", "已涵蓋／鄉鎮市區", "涵蓋率", "據點數", "目標", "達標", "資料"]]
    notes = []
    judged = _judged(report, county, targets)
    for cat, group in rows.groupby("category", sort=False):
        state = data.get((county, cat), "complete") if county else _national_state(data, cat)
        covered, total = int(group["covered"].sum()), int(group["total"].sum())
        facilities = int(group["facilities"].sum())
        rate = 100 * covered / total if total and state != "none" else float("nan")
        target = goal.get(cat, "—")
        met = judged.get(cat, "—") if cat in goal else "—"
        table.append([_label(cat), f"{covered}/{total}" if state != "none" else "—", _rate(rate),
                      str(facilities), target, met, DATA_LABELS[state]])
    if county and not goal:
        notes.append("未提供本縣市目標（以 --targets 提供縣市目標檔）；全國目標見全國簡報。")
    if any(r[-1] != DATA_LABELS["complete"] for r in table[1:]):
        notes.append("部分資料：清冊僅含部分據點，涵蓋率為下限；無資料：未讀到任何據點，不以 0% 呈現。")
    title = f"{county or '全國'} 各服務方案鄉鎮市區涵蓋率"
    from .vocabulary import DEFINITION_LABELS

    return Section(title=title, subtitle=f"涵蓋定義：{DEFINITION_LABELS[report.definition]}", table=table, notes=notes)


def _map_sections(report: CoverageReport, county: str, workdir: Path, data) -> list[Section]:
    from .maps.static import county_figure

    out = []
    for cat in report.counties.loc[report.counties["county"] == county, "category"]:
        if data.get((county, cat)) == "none":
            continue
        png = county_figure(report, county, workdir / f"map-{cat}.png", categories=[cat], dpi=110)
        row = report.counties[(report.counties["county"] == county) & (report.counties["category"] == cat)].iloc[0]
        missing = "、".join(row["missing"]) or "無"
        out.append(Section(title=f"{_label(cat)} 分布", image=png,
                           notes=[f"未涵蓋（紅框）：{missing}"]))
    return out


def _gap_section(report: CoverageReport, county: str | None, data) -> Section | None:
    gaps = report.gaps if county is None else report.gaps[report.gaps["county"] == county]
    gaps = gaps[[data.get((c, k), "complete") != "none" for c, k in zip(gaps["county"], gaps["category"],
                                                                     strict=True)]]
    if gaps.empty:
        return None
    if county is None:  # national: counts per county (the county briefs list the townships)
        cats = list(dict.fromkeys(gaps["category"]))
        counts = gaps.groupby(["county", "category"], sort=False).agg(n=("township", "size"),
                                                                      flagged=("flagged", "sum"))
        table = [["縣市", *[_label(c) for c in cats]]]
        table += [[name, *[f"{counts.at[(name, c), 'n']}（特殊 {counts.at[(name, c), 'flagged']}）"
                           if (name, c) in counts.index else "0" for c in cats]]
                  for name in dict.fromkeys(gaps["county"])]
        return Section(title="尚未涵蓋的鄉鎮市區數（缺口）", table=table,
                       notes=["（特殊 N）：其中位於山地／平地原住民鄉、沿海、離島或縣定偏遠者。各縣市名單見縣市簡報。"])
    table = [["服務方案", "缺口數", "尚未涵蓋（特殊地區標記）"]]
    for cat, group in gaps.groupby("category", sort=False):
        names = [f"{'' if county else r.county}{r.township}{f'（{r.flags}）' if r.flags else ''}"
                 for r in group.itertuples()]
        table.append([_label(cat), str(len(group)), "、".join(names)])
    return Section(title="尚未涵蓋的鄉鎮市區（缺口）", table=table,
                   notes=["標記：山地原住民鄉、平地原住民鄉、沿海、離島、縣定偏遠；有標記者列前。"])


def _priority_section(report: CoverageReport, county: str | None) -> Section | None:
    pri = report.priorities
    if pri is None or pri.empty:
        return None
    pri = pri if county is None else pri[pri["county"] == county]
    pri = pri[pri["rank"] <= 3].sort_values(["rank", "score"], ascending=[True, False]).head(_MAX_ROWS)
    table = [["優先", "服務方案", "鄉鎮市區", "影響人口", "平均距離", "理由"]]
    for r in pri.itertuples():
        flags = "、".join(w for k, w in COMPUTED_FLAG_LABELS.items() if bool(getattr(r, k)))
        why = GAP_KIND_SHORT["far" if r.covered else "uncovered"] + (f"；{flags}" if flags else "")
        far = f"{r.distance_km:.1f} 公里" if r.distance_km == r.distance_km else "—（縣市內無據點）"
        table.append([str(r.rank), _label(r.category), f"{'' if county else r.county}{r.township}",
                      f"{int(r.people):,}", far, why])
    return Section(title="優先補點排序（各方案前 3 名）", table=table,
                   notes=["分數＝影響人口 × 平均距離 ×（偏遠、山區、離島各 +0.5，沿海 +0.25）；"
                          "完整理由見 priorities.csv。"])


def _reach_section(report: CoverageReport, county: str | None) -> Section | None:
    acc = report.access
    if acc is None:
        return None
    assert report.population is not None  # access is computed from a population file
    rows = acc.counties if county is None else acc.counties[acc.counties["county"] == county]
    table = [["服務方案", "人口", "住在已涵蓋鄉鎮", f"{acc.distance_km:g} 公里內"]]
    table += [[_label(r.category), f"{int(r.population):,}",
               f"{int(r.population_covered):,}（{r.population_rate:.1f}%）",
               f"{int(r.people_within):,}（{r.within_rate:.1f}%）"] for r in rows.itertuples()]
    return Section(title="服務可及人口", table=table,
                   notes=[f"人口：{Path(report.population.file).name}（{report.population.period or '期間不明'}）；"
                          "距離為直線距離（TWD97）。"])


def _trend_section(report: CoverageReport, county: str | None, workdir: Path) -> Section | None:
    from .charts import trend_chart
    from .geography import load_townships
    from .plan import coverage_trend

    fac = report.registry.facilities
    opened = fac["opened"].dropna()
    if opened.empty:
        return None
    first = max(int(opened.min().year), report.as_of.year - 9)
    years = list(range(first, report.as_of.year + 1))
    trend = coverage_trend(fac, load_townships(), years, counties=[county] if county else None,
                           categories=sorted(report.counties["category"].unique()))
    if county is None:
        trend = trend.groupby(["year", "roc_year", "category"], as_index=False)[
            ["covered", "total", "facilities"]].sum()
        trend["county"] = "全國"
        trend["rate"] = (100 * trend["covered"] / trend["total"]).round(1)
    table = [["民國年", *[_label(c) for c in trend["category"].unique()]]]
    for year, group in trend.groupby("roc_year"):
        table.append([str(year), *[f"{r.covered}/{r.total}（{r.rate:.1f}%）" for r in group.itertuples()]])
    png = trend_chart(trend, workdir / "trend.png", roc=True, title=f"{county or '全國'} 歷年涵蓋率")
    return Section(title="歷年涵蓋率（年底）", table=table, image=png,
                   notes=["依清冊之啟用、結束日期推算；未填日期之據點視為一直營運。"])


def _siting_section(report: CoverageReport, county: str) -> Section | None:
    from .geography import load_townships, load_villages
    from .siting import site_new_points

    rows = report.counties[(report.counties["county"] == county) & (report.counties["covered"] > 0)
                           & (report.counties["covered"] < report.counties["total"])]
    if rows.empty:
        return None
    row = rows.sort_values(["rate", "category"], ascending=[False, True]).iloc[0]
    try:
        plan = site_new_points(report.registry.facilities, load_townships(), load_villages(), county=county,
                               category=row["category"], new=1, objective="townships", as_of=report.as_of)
    except Exception as exc:  # a siting failure must not sink the brief: say so on the slide
        log.warning("siting for the brief failed: %s", exc)
        return Section(title="建議新增據點", notes=[f"無法計算：{exc}"])
    s = plan.summary
    table = [["服務方案", "建議位置", "涵蓋鄉鎮（前→後）", "涵蓋率（前→後）"]]
    table += [[_label(row["category"]), f"{site.township}{site.village}",
               f"{s['townships_covered_before']} → {s['townships_covered_after']}／{s['townships_total']}",
               f"{s['rate_before']:.1f}% → {s['rate_after']:.1f}%"] for site in plan.sites.itertuples()]
    return Section(title="建議新增據點（最接近全面涵蓋的方案）", table=table,
                   notes=["以整數規劃（HiGHS）求新增 1 處可多涵蓋最多鄉鎮市區的位置；實際設點仍需考量場地與人力。"])


def _quality_section(report: CoverageReport, data, county: str | None) -> Section:
    reg = report.registry
    rejected = int(reg.rejected[["file", "row"]].drop_duplicates().shape[0]) if len(reg.rejected) else 0
    notes = [f"清冊：{'、'.join(Path(f).name for f in report.files)}；讀入 {reg.rows_read} 列，"
             f"採用 {len(reg.facilities)} 列，剔除 {rejected} 列（見 rejected.csv）。",
             f"位置與宣告鄉鎮不符：{len(reg.mismatches)} 處。",
             f"鄉鎮市區界線：{report.boundaries}。"]
    partial = sorted({_label(k) for (c, k), v in data.items() if v == "partial" and (county is None or c == county)})
    none = sorted({_label(k) for (c, k), v in data.items() if v == "none" and (county is None or c == county)})
    if partial:
        notes.append("部分資料（涵蓋率為下限）：" + "、".join(partial) + "。")
    if none:
        notes.append("無資料（未以 0% 呈現）：" + "、".join(none) + "。")
    return Section(title="資料品質說明", notes=notes)


def brief_sections(
    report: CoverageReport,
    county: str | None,
    workdir: Path,
    *,
    targets: pd.DataFrame | None = None,
    siting: bool = True,
) -> list[Section]:
    """The sections of the brief, in order (pictures written into ``workdir``).

    Parameters
    ----------
    report : CoverageReport
        From :func:`coverage.run_coverage`.
    county : str or None
        Official county name; None for the national brief.
    workdir : Path
        Folder for the pictures of the sections.
    targets : DataFrame, optional
        :func:`coverage.plan.load_targets`.
    siting : bool
        Add the siting suggestion (county briefs only).

    Returns
    -------
    list of Section
        Title, coverage, maps, gaps, priorities, reach, trend, siting and data-quality sections;
        long tables split over several.
    """
    from .completeness import data_completeness

    states = data_completeness(report.counties, report.registry.facilities, report.files)
    data = dict(zip(zip(report.counties["county"], report.counties["category"], strict=True), states, strict=True))
    sources = [f"服務據點清冊：{'、'.join(Path(f).name for f in report.files)}",
               f"鄉鎮市區界線：{report.boundaries}"]
    if report.population is not None:
        sources.append(f"人口：{Path(report.population.file).name}（{report.population.period or '期間不明'}）")
    title = Section(title=f"{county or '全國'} 強化社會安全網 服務據點涵蓋簡報",
                    subtitle=f"資料日期：{roc_date(report.as_of)}", notes=sources)
    sections = [title, _coverage_section(report, county, targets, data)]
    if county is not None:
        sections += _map_sections(report, county, workdir, data)
    sections += [s for s in (_gap_section(report, county, data), _priority_section(report, county),
                             _reach_section(report, county), _trend_section(report, county, workdir)) if s]
    if siting and county is not None:
        sections += [s for s in (_siting_section(report, county),) if s]
    sections.append(_quality_section(report, data, county))
    return _paginate(sections)


def _paginate(sections: list[Section]) -> list[Section]:
    """Split long tables over several sections (header repeated, 「（續）」 in the title)."""
    out = []
    for s in sections:
        if s.table is None or len(s.table) - 1 <= _MAX_ROWS:
            out.append(s)
            continue
        head, body = s.table[0], s.table[1:]
        for k in range(0, len(body), _MAX_ROWS):
            first = k == 0
            out.append(Section(title=s.title + ("" if first else "（續）"), subtitle=s.subtitle if first else "",
                               table=[head, *body[k:k + _MAX_ROWS]], image=s.image if first else None,
                               notes=s.notes if k + _MAX_ROWS >= len(body) else []))
    return out


def _font_file() -> tuple[str, int]:
    """Path and collection index of the CJK font matplotlib uses (Noto Sans CJK TC)."""
    from matplotlib import font_manager

    from .charts import cjk_font

    family = cjk_font()
    path = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    index = 0
    if path.lower().endswith(".ttc"):
        from fontTools.ttLib import TTCollection

        names = [f["name"].getDebugName(1) for f in TTCollection(path).fonts]
        index = names.index(family) if family in names else 0
    return path, index


def write_pptx(sections: list[Section], path: Path) -> Path:
    """Write the sections as a 16:9 deck: native titles, text boxes and tables."""
    import datetime as dt

    from pptx import Presentation
    from pptx.util import Emu, Pt

    from .report import atomic_open

    deck = Presentation()
    deck.slide_width, deck.slide_height = Emu(12192000), Emu(6858000)
    blank = deck.slide_layouts[6]
    width, height = deck.slide_width, deck.slide_height
    assert width is not None and height is not None
    margin = Emu(457200)
    for s in sections:
        slide = deck.slides.add_slide(blank)
        box = slide.shapes.add_textbox(margin, Emu(300000), width - 2 * margin, Emu(700000)).text_frame
        box.text = s.title
        box.paragraphs[0].runs[0].font.size = Pt(28 if s is sections[0] else 24)
        box.paragraphs[0].runs[0].font.bold = True
        if s.subtitle:
            para = box.add_paragraph()
            para.text = s.subtitle
            para.runs[0].font.size = Pt(14)
        top: int = Emu(1150000)
        if s.image is not None and s.table is None:
            pic_h = height - top - Emu(900000)
            slide.shapes.add_picture(str(s.image), margin, top, height=pic_h)
            top = top + pic_h
        if s.table is not None:
            cols, rows = len(s.table[0]), len(s.table)
            table_w = (width - 2 * margin) // (2 if s.image is not None else 1)
            shape = slide.shapes.add_table(rows, cols, margin, top, table_w, Emu(300000) * rows)
            for i, row in enumerate(s.table):
                for j, cell in enumerate(row):
                    tcell = shape.table.cell(i, j)
                    tcell.text = cell
                    for para in tcell.text_frame.paragraphs:
                        for run in para.runs:
                            run.font.size = Pt(11 if cols > 4 else 12)
            if s.image is not None:
                slide.shapes.add_picture(str(s.image), margin + table_w + Emu(100000), top, width=table_w)
            top = top + Emu(300000) * rows + Emu(150000)
        if s.notes:
            note = slide.shapes.add_textbox(margin, min(top, height - Emu(1000000)), width - 2 * margin,
                                            Emu(800000)).text_frame
            note.word_wrap = True
            note.text = s.notes[0]
            for extra in s.notes[1:]:
                note.add_paragraph().text = extra
            for para in note.paragraphs:
                for run in para.runs:
                    run.font.size = Pt(14 if s is sections[0] else 12)
    created = dt.datetime(2000, 1, 1)
    deck.core_properties.created = deck.core_properties.modified = created
    deck.core_properties.last_printed = created
    deck.core_properties.revision = 1
    raw = io.BytesIO()
    deck.save(raw)
    with atomic_open(path, "wb") as fh:
        fh.write(_stable_zip(raw.getvalue()))
    return path


def _stable_zip(data: bytes) -> bytes:
    """The same zip with every member dated 1980-01-01: identical decks give identical bytes."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            stable = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            stable.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(stable, src.read(info.filename))
    return out.getvalue()


def write_pdf(sections: list[Section], path: Path) -> Path:
    """Write the sections as A4 landscape pages (fpdf2, CJK font embedded, text extractable)."""
    import datetime as dt

    from fpdf import FPDF
    from fpdf.fonts import FontFace

    from .report import atomic_open

    font, index = _font_file()
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_creation_date(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))  # identical inputs, identical bytes
    pdf.add_font("cjk", fname=font, collection_font_number=index)
    pdf.set_auto_page_break(auto=True, margin=12)
    for s in sections:
        pdf.add_page()
        pdf.set_font("cjk", size=20 if s is sections[0] else 16)
        pdf.multi_cell(0, 10, s.title, new_x="LMARGIN", new_y="NEXT")
        if s.subtitle:
            pdf.set_font("cjk", size=11)
            pdf.multi_cell(0, 7, s.subtitle, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
        if s.table is not None:
            pdf.set_font("cjk", size=9)
            width = pdf.epw / (2 if s.image is not None else 1)
            y0 = pdf.get_y()
            heading = FontFace(emphasis="", fill_color=(225, 232, 240))
            with pdf.table(width=width, align="LEFT", first_row_as_headings=True, line_height=6,
                           headings_style=heading) as table:
                for row in s.table:
                    table.row(row)
            if s.image is not None:
                pdf.image(str(s.image), x=pdf.l_margin + width + 4, y=y0, w=width - 4)
        elif s.image is not None:
            pdf.image(str(s.image), x=pdf.l_margin, h=pdf.eph - 30, w=pdf.epw, keep_aspect_ratio=True)
        if s.notes:
            pdf.ln(3)
            pdf.set_font("cjk", size=10)
            for note in s.notes:
                pdf.multi_cell(0, 6, note, new_x="LMARGIN", new_y="NEXT")
    with atomic_open(path, "wb") as fh:
        fh.write(bytes(pdf.output()))
    return path


def write_brief(
    report: CoverageReport,
    out_dir: str | Path,
    county: str | None = None,
    *,
    targets: pd.DataFrame | None = None,
    siting: bool = True,
) -> dict[str, Path]:
    """Write ``‹縣市›_brief.pptx`` and ``‹縣市›_brief.pdf`` (``全國_brief.*`` without a county).

    Parameters
    ----------
    report : CoverageReport
        From :func:`coverage.run_coverage` (with population for the reach and priority slides).
    out_dir : path
    county : str, optional
        Official county name; default the national brief.
    targets : DataFrame, optional
        :func:`coverage.plan.load_targets`; only the county's own targets (or 全國 for the national
        brief) are compared.
    siting : bool
        Add the siting suggestion for the programme closest to full coverage.

    Returns
    -------
    dict with ``pptx`` and ``pdf`` paths.

    Raises
    ------
    InputError
        ``county`` is not in ``report`` (the message names ``county=``).
    OutputError
        A file cannot be written.
    """
    from .errors import InputError

    if county is not None and county not in set(report.counties["county"]):
        raise InputError(f"county={county!r} is not in this coverage report")
    out = Path(out_dir)
    stem = f"{county or '全國'}_brief"
    with tempfile.TemporaryDirectory(prefix="brief-") as tmp:
        sections = brief_sections(report, county, Path(tmp), targets=targets, siting=siting)
        paths = {"pptx": write_pptx(sections, out / f"{stem}.pptx"), "pdf": write_pdf(sections, out / f"{stem}.pdf")}
    log.info("brief: %d slides → %s", len(sections), out)
    return paths
