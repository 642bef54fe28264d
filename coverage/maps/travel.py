"""Travel times by road on the maps (``run_coverage(network=…)``, ``report.travel``).

Plain data for :func:`coverage.maps.payload.map_payload`, independent of folium and of the browser:

* :func:`town_minutes` — per township and category, the mean (population-weighted where the
  population is village-level, else the plain mean of its villages) and the maximum of the minutes
  from its villages to the nearest point by road, and how many villages have no minutes;
* :func:`add_travel` — puts those into the township tooltips (``Town.tm``) and, on a county map,
  a village layer coloured by minutes (:data:`TRAVEL_BINS`, its own legend) whose popups give the
  minutes, network km, off-network km and the facility (``payload["travel"]``).

A village without minutes (no road connection to a point of its county, or no open point) is
grey and says why; it never counts as 0 minutes. This module imports only the leaves
:mod:`coverage.maps.escape`, :mod:`coverage.maps.geometry` and :mod:`coverage.maps.schema`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .escape import esc
from .geometry import display_geometry, encode_geometry
from .schema import MapPayload, Travel, TravelVillage

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import pandas as pd

    from ..pipeline import CoverageReport

__all__ = ["NO_ROAD_COLOUR", "TRAVEL_BINS", "TRAVEL_COLOURS", "TRAVEL_LAYER", "add_travel", "town_minutes",
           "travel_reason_label"]

#: Upper bounds (minutes) of the colour classes of the village layer: ≤15, ≤30, ≤45, ≤60, >60.
TRAVEL_BINS = [15, 30, 45, 60]
#: Fill per class (short → long), one more than :data:`TRAVEL_BINS`.
TRAVEL_COLOURS = ["#1a9850", "#a6d96a", "#fee08b", "#fdae61", "#d73027"]
#: Fill of a village without minutes (no road connection, no open point): never a class of minutes.
NO_ROAD_COLOUR = "#8c8c8c"
#: Layer-control label of the village layer.
TRAVEL_LAYER = ('<span class="sn-layer" data-layer="travel"><i class="sn-sw sn-sw-travel"></i>'
                "行車時間（村里） <small>（所選服務類別）</small></span>")
_REASONS = {
    "no road connection to a facility": "無道路連線至本縣市此類據點",
    "no open point of the programme in the county": "本縣市無此類開放據點",
    "no open point of the programme": "無此類開放據點",
    "": "未計算行車時間",
}


def travel_reason_label(reason: object) -> str:
    """zh-TW text (escaped) of why a village has no minutes (a ``reason`` of ``report.travel``).

    Parameters
    ----------
    reason : object
        The reason as :func:`coverage.network.village_travel_times` writes it; a missing value is
        treated as ``""`` (no travel time computed), an unknown one is shown escaped as given.

    Returns
    -------
    str
        The text.

    Examples
    --------
    >>> travel_reason_label("no road connection to a facility")
    '無道路連線至本縣市此類據點'
    >>> travel_reason_label("<b>other</b>")
    '&lt;b&gt;other&lt;/b&gt;'
    """
    text = esc(reason)
    return _REASONS.get(text, text)


def _village_people(report: CoverageReport) -> pd.Series | None:
    """People per villcode when the report's population is village-level, else None."""
    acc, pop = report.access, report.population
    if acc is None or pop is None or pop.level != "village":
        return None
    pts = acc.points[acc.points["villcode"].notna()]
    return pts.drop_duplicates("villcode").set_index("villcode")["people"].astype(float)


def town_minutes(travel: pd.DataFrame, categories: Sequence[str],
                 people: pd.Series | None = None) -> dict[str, list[list[float | int | None] | None]]:
    """Per township, per category ``[mean minutes, max minutes, villages without minutes, villages]``.

    The mean is weighted by the villages' people when ``people`` is given (villages it lacks or with
    no people weigh 0; a township whose villages with minutes have no people at all takes the plain
    mean); villages without minutes are left out of the mean and the maximum and counted instead.

    Parameters
    ----------
    travel : DataFrame
        ``report.travel`` (:data:`coverage.network.TRAVEL_COLUMNS`): ``villcode``, ``towncode``,
        ``category``, ``nearest_min``.
    categories : sequence of str
        The map's categories, in the order of the lists.
    people : Series, optional
        People per villcode.

    Returns
    -------
    dict of str to list
        Towncode → one entry per category (None where the township has no row of it); mean and max
        are rounded to one decimal, None when no village of the township has minutes.
    """
    import numpy as np
    import pandas as pd

    t = travel[travel["category"].isin(categories)][["villcode", "towncode", "category", "nearest_min"]].copy()
    t["nearest_min"] = pd.to_numeric(t["nearest_min"], errors="coerce")
    reached = t["nearest_min"].notna()
    t["_w"] = 0.0 if people is None else t["villcode"].map(people).fillna(0.0).astype(float)
    t["_w"] = t["_w"].where(reached, 0.0)
    t["_wm"] = (t["_w"] * t["nearest_min"]).where(reached, 0.0)
    t["_reached"] = reached.astype(int)
    g = t.groupby(["towncode", "category"], sort=False).agg(
        w=("_w", "sum"), wm=("_wm", "sum"), plain=("nearest_min", "mean"), most=("nearest_min", "max"),
        reached=("_reached", "sum"), n=("villcode", "size"))
    mean = np.where(g["w"] > 0, g["wm"] / g["w"].where(g["w"] > 0, 1.0), g["plain"])
    figures = {key: (None if np.isnan(m) else round(float(m), 1), None if pd.isna(x) else round(float(x), 1),
                     int(n - r), int(n))
               for key, m, x, r, n in zip(g.index, mean, g["most"], g["reached"], g["n"], strict=True)}
    out: dict[str, list[list[float | int | None] | None]] = {}
    for code in dict.fromkeys(t["towncode"]):
        out[str(code)] = [list(figures[(code, c)]) if (code, c) in figures else None for c in categories]
    return out


def _round(value: Any, digits: int) -> float | None:
    import pandas as pd

    return None if value is None or pd.isna(value) else round(float(value), digits)


def _villages(report: CoverageReport, codes: Sequence[str], categories: Sequence[str],
              villcodes: Sequence[str], town_index: dict[str, int], vill: pd.DataFrame | None,
              names: dict[str, int], reasons: dict[str, int]) -> list[TravelVillage]:
    """One entry per village of ``villcodes`` (names and towns from ``vill``), its figures per category."""
    travel = report.travel
    assert travel is not None
    t = travel[travel["villcode"].isin(set(villcodes)) & travel["category"].isin(categories)]
    rows = {(v, c): r for v, c, r in zip(t["villcode"], t["category"], t.itertuples(index=False), strict=True)}
    out: list[TravelVillage] = []
    info = {} if vill is None else dict(zip(vill["villcode"], zip(vill["village"], vill["towncode"], strict=True),
                                            strict=True))
    for code in villcodes:
        name, town = info.get(code, ("", ""))
        entry: TravelVillage = {"n": esc(name), "i": town_index.get(town, -1), "m": [], "km": [], "sk": [], "f": [],
                                "r": []}
        for cat in categories:
            r = rows.get((code, cat))
            minutes = None if r is None else _round(r.nearest_min, 1)
            entry["m"].append(minutes)
            entry["km"].append(None if minutes is None or r is None else _round(r.network_km, 1))
            entry["sk"].append(None if r is None else _round(r.snap_km, 2))
            facility = "" if r is None or minutes is None else esc(r.facility_name)
            entry["f"].append(names.setdefault(facility, len(names)) if facility else -1)
            label = "" if minutes is not None else travel_reason_label("" if r is None else r.reason)
            entry["r"].append(reasons.setdefault(label, len(reasons)) if label else -1)
        out.append(entry)
    return out


def add_travel(payload: MapPayload, report: CoverageReport, county: str | None, codes: Sequence[str],
               categories: Sequence[str], *, villcodes: Sequence[str] | None = None,
               villages: gpd.GeoDataFrame | None = None, tolerance_m: float = 30.0, q: int = 20_000) -> None:
    """Put the travel times of ``report`` into a map payload (in place); nothing without ``report.travel``.

    Every township of ``codes`` with rows in ``report.travel`` gets ``tm`` (:func:`town_minutes`);
    ``payload["travel"]`` gets the legend classes, the layer label, and on a county map (``county``
    given) one :class:`~coverage.maps.schema.TravelVillage` per village: aligned with the payload's
    ``villages`` on a village-level map (``villcodes``), else with its own polygon ``g``.

    Parameters
    ----------
    payload : MapPayload
        The payload with ``towns`` (and ``villages``) set; changed in place.
    report : CoverageReport
        Its ``travel`` (and village population, for the weights) gives the figures.
    county : str or None
        Official county name of the map; None for the national map (no village layer).
    codes : sequence of str
        Towncodes of the payload's townships, in payload order.
    categories : sequence of str
        The payload's categories, in order.
    villcodes : sequence of str, optional
        Village codes of the payload's ``villages`` (a village-level map).
    villages : GeoDataFrame, optional
        Village boundaries (default: the bundled ones).
    tolerance_m : float
        Simplification tolerance of the village polygons (township-level county maps).
    q : int
        Coordinate quantum.
    """
    travel = report.travel
    if travel is None or travel.empty:
        return
    from pathlib import Path

    people = _village_people(report)
    minutes = town_minutes(travel[travel["towncode"].isin(set(codes))], categories, people)
    for town in payload["towns"]:
        if town["c"] in minutes:
            town["tm"] = minutes[town["c"]]
    names: dict[str, int] = {}
    reasons: dict[str, int] = {}
    entries = None
    if county is not None:
        from ..geography import load_villages

        town_index = {c: i for i, c in enumerate(codes)}
        vill = load_villages() if villages is None else villages
        vill = vill[vill["towncode"].isin(set(codes))].sort_values("villcode").reset_index(drop=True)
        if villcodes is not None:
            entries = _villages(report, codes, categories, villcodes, town_index, vill, names, reasons)
        else:
            entries = _villages(report, codes, categories, vill["villcode"].tolist(), town_index, vill, names,
                                reasons)
            for entry, geom in zip(entries, display_geometry(vill, tolerance_m).to_numpy(), strict=True):
                entry["g"] = encode_geometry(geom, q)
    bounds = [f"≤ {b} 分鐘" if i == 0 else f"{TRAVEL_BINS[i - 1]}–{b} 分鐘" for i, b in enumerate(TRAVEL_BINS)]
    network = str(report.network or "").split(" (", 1)[0]
    meta: Travel = {
        "bins": list(TRAVEL_BINS),
        "colours": [*TRAVEL_COLOURS, NO_ROAD_COLOUR],
        "labels": [*bounds, f"&gt; {TRAVEL_BINS[-1]} 分鐘", "無行車時間（無道路連線或無據點）"],
        "weighted": people is not None,
        "network": esc(Path(network).name) if network else "",
        "layer": TRAVEL_LAYER,
        "names": list(names),
        "reasons": list(reasons),
        "v": entries,
    }
    payload["travel"] = meta
