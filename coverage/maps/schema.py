"""The one shape of a map page's data: what :func:`coverage.maps.payload.map_payload` returns and
``assets/coverage.js`` draws.

A leaf module of typing declarations only. Keys are short because the payload is written into
every page (a county map with population is a few hundred kB, mostly geometry). Every ``str``
that the script places in the page as HTML is escaped text or markup built from escaped text
(:mod:`coverage.maps.escape`); numbers are formatted by the script.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

__all__ = [
    "Area",
    "Category",
    "Facility",
    "MapPayload",
    "PopulationMeta",
    "Priorities",
    "PriorityItem",
    "SiteItem",
    "Sites",
    "Town",
    "Travel",
    "TravelVillage",
    "UiText",
    "Village",
]

#: Polygon parts → rings → ``[x0, y0, dx1, dy1, …]`` in units of ``1/q`` degree (lon, lat).
Geometry = list[list[list[int]]]


class Category(TypedDict):
    """One programme (category): its marker and its coverage on this map."""

    key: str  #: category key (escaped), also the URL fragment that selects it
    label: str  #: zh-TW name (escaped)
    colour: str  #: marker colour
    symbol: str  #: marker symbol name
    icon: str  #: marker SVG
    covered: int  #: townships covered
    total: int  #: townships
    rate: float  #: percent, one decimal
    gaps: int  #: townships not covered
    flaggedGaps: int  #: of which in a flagged area
    data: str  #: completeness of the data behind it: ``complete``, ``partial`` or ``none``
    cc: NotRequired[int]  #: national map, data not complete everywhere: counties with complete data, counted alone
    cn: NotRequired[int]  #: … of so many counties with the category


class Town(TypedDict):
    """One township: tooltip, coverage state per category, geometry; population figures if any."""

    c: str  #: towncode
    t: str  #: tooltip HTML
    s: str  #: one digit per category: 0 covered, 1 uncovered, 2 uncovered in a flagged area, 3 no data
    dq: str  #: one letter per category, its county's data: ``c`` complete, ``p`` partial, ``n`` none
    g: Geometry
    n: str  #: township name (escaped), the map label
    lp: list[float]  #: [lat, lon] of the label (a point inside the township)
    pp: NotRequired[int | None]  #: people of the age group (None: not in the population file)
    pt: NotRequired[int | None]  #: people of all ages (when the group is not ``total``)
    rf: NotRequired[list[int | None]]  #: computed [remote, mountain] flags
    dn: NotRequired[int]  #: people per km²
    el: NotRequired[int]  #: mean elevation (m)
    #: per category [share within distance %, mean km, max km, nearest name index, 2SFCA, km across the sea]
    ac: NotRequired[list[list[float | int | None] | None]]
    #: with travel times, per category [mean minutes, max minutes, villages without minutes, villages]
    tm: NotRequired[list[list[float | int | None] | None]]


class Village(TypedDict):
    """One village of a village-level map (filled with its township's state)."""

    n: str  #: village name (escaped)
    i: int  #: index of its township in ``towns``
    g: Geometry
    p: NotRequired[int]  #: people (village-level population files)
    d: NotRequired[list[float | None]]  #: km to the nearest facility, per category


class Facility(TypedDict):
    """One service point (closed ones are not drawn)."""

    k: int  #: category index
    a: list[float]  #: [lat, lon]
    n: str  #: name (escaped)
    p: str  #: popup HTML
    x: int  #: 1: location known only to the township (drawn at its representative point)
    pl: int  #: 1: planned, not yet open
    ar: NotRequired[int]  #: index of its service area in ``areas``


class Area(TypedDict):
    """A facility's service area (服務區域) on a county map, outlined in its own colour."""

    f: int  #: index of the facility in ``fac``
    k: int  #: category index
    n: str  #: facility name (escaped)
    c: str  #: outline colour
    ti: list[int]  #: indices in ``towns`` of the townships it serves whole
    tp: list[int]  #: indices in ``towns`` of the townships it serves only in part, villages not named (dashed)
    vi: list[int]  #: indices in ``villages`` of the villages of split townships it serves (village-level maps)
    g: Geometry  #: what else it serves, not among the payload's polygons (villages on a township-level map)
    gp: Geometry  #: … of which served only in part (dashed)
    t: str  #: tooltip HTML


class TravelVillage(TypedDict):
    """Minutes by road from one village to the nearest point of each category (``None``: no minutes)."""

    n: str  #: village name (escaped)
    i: int  #: index of its township in ``towns``
    g: NotRequired[Geometry]  #: its polygon, when the payload has no ``villages`` (else ``villages[j]``)
    m: list[float | None]  #: minutes per category
    km: list[float | None]  #: network km per category
    sk: list[float | None]  #: km off the network (village point → road, road → facility) per category
    f: list[int]  #: index of the nearest point's name in ``Travel.names`` per category, −1 none
    r: list[int]  #: index of the reason in ``Travel.reasons`` where there are no minutes, −1 none


class Travel(TypedDict):
    """Travel times by road (``run_coverage(network=…)``): the 行車時間 village layer and its legend."""

    bins: list[int]  #: upper bounds (minutes) of the colour classes; the last class is above the last bound
    colours: list[str]  #: one per class, then the colour of villages without minutes
    labels: list[str]  #: legend text per colour (escaped)
    weighted: bool  #: township means weighted by village population
    network: str  #: road network file name (escaped)
    layer: str  #: layer-control label HTML
    names: list[str]  #: nearest points' names (escaped)
    reasons: list[str]  #: zh-TW reasons for no minutes (escaped)
    v: list[TravelVillage] | None  #: county maps; None on the national map (township tooltips only)


class PopulationMeta(TypedDict):
    """The population run behind the figures."""

    group: str
    label: str  #: zh-TW age-group label (escaped)
    km: float  #: distance of "within" shares
    catchment: float  #: 2SFCA catchment (km)
    file: str  #: population file name (escaped)
    period: str | None
    level: str  #: "township" or "village"


class PriorityItem(TypedDict):
    """A ranked gap township, drawn as a numbered badge."""

    r: int  #: rank in its county and category
    c: int  #: colour class 1–4
    a: list[float]  #: [lat, lon] of the representative point
    n: str  #: "county township" (escaped)
    s: int | None  #: score
    p: int | None  #: people affected
    d: float | None  #: mean distance (km)
    m: float | None  #: max distance (km)
    u: int  #: 1: covered already (distance too long)
    w: str  #: reasons (escaped)


class Priorities(TypedDict):
    """The 優先補點 layer."""

    items: list[list[PriorityItem]]  #: per category
    top: int | None  #: ranks kept per county (national map)
    show: bool  #: layer shown at start
    layer: str  #: layer-control label HTML


class SiteItem(TypedDict):
    """A recommended new site."""

    r: int  #: rank
    a: list[float]  #: [lat, lon]
    t: str  #: tooltip HTML
    p: str  #: popup HTML
    nc: int  #: 1: its township becomes covered


class Sites(TypedDict):
    """A siting plan on its county's map."""

    k: int  #: category index of the plan
    radius: float  #: metres
    after: list[int]  #: state per township with the new sites
    covered: int
    total: int
    rate: float
    gaps: int
    flaggedGaps: int
    items: list[SiteItem]
    summary: str  #: title line HTML
    toggle: str  #: 現況／新增後 radio buttons HTML
    layer: str  #: layer-control label HTML
    radiusLayer: str  #: layer-control label HTML


class UiText(TypedDict):
    """Texts of the page's controls, added by :func:`coverage.maps.render.render_map`."""

    title: str
    legend: str
    attribution: str
    tileNote: str
    noBasemap: str  #: layer-control label of the "no basemap" choice
    noBasemapShown: bool  #: start without a basemap
    layersHeading: str  #: the layer panel's fold button
    partial: str  #: tooltip line of a township whose county has partial data for the category


class MapPayload(TypedDict):
    """Everything one map page draws."""

    q: int  #: coordinate quantum (1/q degree)
    level: str  #: "township" or "village"
    county: str | None
    bounds: list[list[float]]  #: [[south, west], [north, east]]
    view: NotRequired[list[list[float]]]  #: where the page opens, when not ``bounds`` (national map: main island)
    cats: list[Category]
    towns: list[Town]
    villages: list[Village] | None
    fac: list[Facility]
    colours: list[str]  #: fill per state
    stateLabels: list[str]  #: zh-TW per state
    gapColour: str
    pop: PopulationMeta | None
    prio: Priorities | None
    names: NotRequired[list[str]]  #: nearest facilities' names (escaped), indexed from ``Town.ac``
    sites: NotRequired[Sites]
    areas: NotRequired[list[Area]]  #: service areas of the facilities (county maps)
    areaLayer: NotRequired[str]  #: layer-control label HTML of ``areas``
    travel: NotRequired[Travel]  #: minutes by road (``report.travel``)
    clusterRadius: NotRequired[int]  #: set by the renderer
    ui: NotRequired[UiText]  #: set by the renderer
