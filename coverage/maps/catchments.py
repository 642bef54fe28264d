"""Service areas (服務區域) on the maps: each centre's catchment outlined, and named in its popup.

A centre's official service area (:func:`coverage.serviceareas.facility_service_areas`) is a list of
township parts: whole townships, a township except some villages (秀林鄉 but 文蘭村、銅門村), only
some villages of a township (文蘭村、銅門村 from 吉安), or part of a township whose villages the text
does not name (鳳山區 north and south of 國泰路). Here they become

* :func:`service_area_text` — the popup's 服務區域 line, with the village parts;
* :func:`catchment_outlines` — per centre the polygons of the map its area is made of (whole
  townships, villages where a township is split; dashed, the townships it serves only in part
  without named villages), from which the page draws one outline, and an outline colour that
  differs from those of the centres whose areas touch or overlap it.

This module imports only the leaves :mod:`coverage.maps.escape`, :mod:`coverage.maps.geometry`,
:mod:`coverage.maps.memo` and :mod:`coverage.maps.schema` of the package.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from .escape import esc
from .geometry import encode_geometry
from .memo import code_digest, shared
from .schema import Area

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

__all__ = ["AREA_COLOURS", "AREA_LAYER", "catchment_outlines", "service_area_text"]

#: Outline colours of the catchments, handed out so that touching catchments differ (greedy colouring).
AREA_COLOURS = ["#1f78b4", "#e66101", "#33a02c", "#6a3d9a", "#b15928", "#e7298a", "#01665e", "#666666"]
#: Layer-control label of the catchment layer.
AREA_LAYER = ('<span class="sn-layer" data-layer="areas"><i class="sn-sw sn-sw-area"></i>'
              "服務區域 <small>（所選服務類別各據點）</small></span>")
_TOUCH_M = 50.0  # catchments closer than this count as neighbours for the colouring


def _town_label(code: str, county: object, town_names: Mapping[str, tuple[str, str]]) -> str:
    town_county, township = town_names.get(code, ("", str(code)))
    return esc(township if town_county == county else f"{town_county}{township}")


def service_area_text(parts: Sequence[Mapping[str, Any]], county: object,
                      town_names: Mapping[str, tuple[str, str]],
                      village_names: Mapping[str, str] | None = None) -> str:
    """The 服務區域 of a facility as escaped zh-TW text, village parts included.

    ``秀林鄉（文蘭村、銅門村除外）`` for an ``except`` part, ``秀林鄉文蘭村、銅門村`` for ``only``,
    ``鳳山區（部分，公告未列村里）`` for ``partial``; a township of another county is prefixed with it.

    Parameters
    ----------
    parts : sequence of dict
        The facility's parts (:func:`coverage.serviceareas.facility_service_areas`): ``towncode``,
        ``part``, ``villcodes``.
    county : object
        The facility's county; townships of other counties are named with theirs.
    town_names : mapping of str to tuple of (str, str)
        Towncode → (county, township).
    village_names : mapping of str to str, optional
        Villcode → village name; a code it lacks is shown as the code.

    Returns
    -------
    str
        The parts joined by 、 (escaped).

    Examples
    --------
    >>> names = {"10015110": ("花蓮縣", "秀林鄉"), "10015040": ("花蓮縣", "新城鄉")}
    >>> parts = [{"towncode": "10015040", "part": "whole", "villcodes": ()},
    ...          {"towncode": "10015110", "part": "except", "villcodes": ("10015110006",)}]
    >>> service_area_text(parts, "花蓮縣", names, {"10015110006": "銅門村"})
    '新城鄉、秀林鄉（銅門村除外）'
    """
    villages = village_names or {}
    out = []
    for p in parts:
        town = _town_label(str(p["towncode"]), county, town_names)
        names = "、".join(esc(villages.get(v, v)) for v in p.get("villcodes", ()))
        if p["part"] == "except" and names:
            out.append(f"{town}（{names}除外）")
        elif p["part"] == "only" and names:
            out.append(f"{town}{names}")
        elif p["part"] == "partial":
            out.append(f"{town}（部分，公告未列村里）")
        else:
            out.append(town)
    return "、".join(out)


def _colours(geoms: list) -> list[str]:
    """Greedy colouring: each catchment the first colour none of its earlier neighbours has."""
    import shapely

    grown = [shapely.buffer(g, _TOUCH_M) if g is not None else None for g in geoms]
    chosen: list[int] = []
    for i, g in enumerate(grown):
        taken = {chosen[j] for j in range(i) if g is not None and grown[j] is not None and g.intersects(grown[j])}
        chosen.append(next((c for c in range(len(AREA_COLOURS)) if c not in taken), i % len(AREA_COLOURS)))
    return [AREA_COLOURS[c] for c in chosen]


def catchment_outlines(areas: Sequence[tuple[int, int, str, str, Sequence[Mapping[str, Any]]]],
                       townships: gpd.GeoDataFrame, villages: gpd.GeoDataFrame | None,
                       tolerance_m: float, q: int, *, town_index: Mapping[str, int],
                       village_index: Mapping[str, int] | None = None) -> list[Area]:
    """One catchment per facility with a service area: the ``areas`` of a county map's payload.

    A catchment names the payload's polygons it is made of — townships ``ti`` (whole), ``tp`` (served
    in part, villages not named) and, on a village-level map, villages ``vi`` — and the page draws its
    outline from their shared display geometry (edges two members share are inside). Only what the
    payload lacks is sent as geometry: on a township-level map the villages of a split township, and
    any township not on the map (``g``; ``gp`` for a partly served one).

    The outlines are kept on disk (:func:`coverage.maps.memo.write_cached`), named by a hash of all
    they are made from: the areas, the polygons of the townships (and split townships' villages) they
    name, both indices, the tolerance and quantum, this code and the versions of shapely, GEOS, pyproj
    and geopandas. The same service areas on the same boundaries are then not merged again.

    Parameters
    ----------
    areas : sequence of tuple
        Per facility ``(f, k, name, area_text, parts)``: its index in the payload's ``fac``, its
        category index, its escaped name, its escaped :func:`service_area_text` and its parts
        (:func:`coverage.serviceareas.facility_service_areas`).
    townships : GeoDataFrame
        Township boundaries (``towncode``, polygons, any CRS) holding every township of the parts.
    villages : GeoDataFrame or None
        Village boundaries (``villcode``, ``towncode``, polygons) for ``except``/``only`` parts; None
        when no part needs them.
    tolerance_m : float
        Simplification tolerance (metres) of the geometry sent.
    q : int
        Coordinate quantum (:data:`coverage.maps.geometry.QUANTUM`).
    town_index : mapping of str to int
        Towncode → index in the payload's ``towns``.
    village_index : mapping of str to int, optional
        Villcode → index in the payload's ``villages`` (a village-level map).

    Returns
    -------
    list of Area
        In the order of ``areas``: ``f``, ``k``, ``n``, outline colour ``c`` (touching catchments
        differ), ``ti``, ``tp``, ``vi``, ``g``, ``gp`` and the tooltip HTML ``t``.
    """
    from .memo import read_cached, write_cached

    key = _outlines_key(areas, townships, villages, tolerance_m, q, town_index, village_index)
    cached = None if key is None else read_cached("outlines", key)
    if _valid_outlines(cached, areas):
        return cast("list[Area]", cached)
    out = _outlines(areas, townships, villages, tolerance_m, q, town_index, village_index)
    if key is not None:
        write_cached("outlines", key, out)
    return out


#: Bumped when what :func:`catchment_outlines` keeps on disk changes (with the source, part of the key).
_OUTLINES_FORMAT = "outlines-v1"


@lru_cache(maxsize=1)
def _code_versions() -> str:
    """The source of this module and of :mod:`coverage.maps.geometry`, and the versions of the libraries
    that project, repair, merge and simplify the outlines."""
    from . import geometry

    return code_digest(_OUTLINES_FORMAT, (__file__, geometry.__file__))


def _rows_by_town(frame: gpd.GeoDataFrame, code_column: str) -> tuple[dict[str, list[int]], Any, Any] | None:
    """Per ``towncode`` the positions of its rows in ``frame`` (row order), with the codes of
    ``code_column`` and the polygons as arrays; None when ``code_column`` repeats a code (the outlines
    are then not cached)."""
    import numpy as np

    codes = frame[code_column].astype(str)
    if codes.duplicated().any():
        return None
    rows: dict[str, list[int]] = {}
    for i, town in enumerate(frame["towncode"].astype(str).tolist()):
        rows.setdefault(town, []).append(i)
    return rows, np.asarray(codes.tolist(), dtype=object), np.asarray(frame.geometry.values, dtype=object)


def _wkb_of(table: tuple[dict[str, list[int]], Any, Any], town: str) -> bytes:
    """The codes and polygons (WKB) of the rows of ``town`` in ``table`` (:func:`_rows_by_town`), as one
    byte string for a hash."""
    import shapely

    rows, codes, geoms = table
    at = rows.get(town, [])
    wkbs = shapely.to_wkb(geoms[at], hex=False, output_dimension=2, include_srid=False) if at else []
    return b"".join(str(code).encode() + b"|" + len(wkb).to_bytes(8, "little") + wkb
                    for code, wkb in zip(codes[at], wkbs, strict=True))


def _outlines_key(areas: Sequence[tuple[int, int, str, str, Sequence[Mapping[str, Any]]]],
                  townships: gpd.GeoDataFrame, villages: gpd.GeoDataFrame | None, tolerance_m: float, q: int,
                  town_index: Mapping[str, int], village_index: Mapping[str, int] | None) -> str | None:
    """Hash of everything :func:`catchment_outlines` reads: the areas (indices, names, texts, parts), the
    polygons of every township named by a part (WKB) and, for a part split by village, of every village
    of that township, both CRSs, the tolerance, quantum, both indices and :func:`_code_versions`.
    None when the parts cannot be keyed so (a code repeated in the boundaries)."""
    import hashlib
    import json

    towns = shared("catchments: township rows", (townships,), lambda: _rows_by_town(townships, "towncode"))
    vills = None if villages is None else shared("catchments: village rows", (villages,),
                                                  lambda: _rows_by_town(villages, "villcode"))
    if towns is None or (villages is not None and vills is None):
        return None
    digest = hashlib.sha256(_code_versions().encode())
    head = [str(townships.crs), None if villages is None else str(villages.crs), repr(float(tolerance_m)), int(q),
            sorted(town_index.items()), None if village_index is None else sorted(village_index.items())]
    try:
        digest.update(json.dumps(head, ensure_ascii=False).encode())
        for f, k, name, text, parts in areas:
            listed = [(str(p["towncode"]), str(p["part"]), [str(v) for v in p.get("villcodes", ())]) for p in parts]
            digest.update(json.dumps([int(f), int(k), str(name), str(text), listed], ensure_ascii=False).encode())
            for code, _part, villcodes in listed:
                digest.update(b"township" + _wkb_of(towns, code))
                if villcodes and vills is not None:
                    digest.update(b"villages" + _wkb_of(vills, code))
    except (TypeError, ValueError, KeyError):
        return None
    return digest.hexdigest()[:32]


def _valid_outlines(value: Any, areas: Sequence[tuple[int, int, str, str, Sequence[Mapping[str, Any]]]]) -> bool:
    """Whether a cached entry has the shape of :func:`catchment_outlines`' result for ``areas``."""
    fields = {"f", "k", "n", "c", "ti", "tp", "vi", "g", "gp", "t"}
    return (isinstance(value, list) and len(value) == len(areas)
            and all(isinstance(a, dict) and set(a) == fields and a["f"] == area[0] and a["k"] == area[1]
                    and a["n"] == area[2] for a, area in zip(value, areas, strict=True)))


def _outlines(areas: Sequence[tuple[int, int, str, str, Sequence[Mapping[str, Any]]]],
              townships: gpd.GeoDataFrame, villages: gpd.GeoDataFrame | None,
              tolerance_m: float, q: int, town_index: Mapping[str, int],
              village_index: Mapping[str, int] | None) -> list[Area]:
    """:func:`catchment_outlines`, computed."""
    import geopandas as gpd
    import shapely

    from ..geography import PROJECTED_CRS

    # projected once per boundary table in a run of maps (coverage.maps.memo), each polygon on its own
    towns = shared("catchments: townships in metres", (townships,),
                   lambda: townships.set_index("towncode").geometry.to_crs(PROJECTED_CRS))
    vills = None if villages is None else shared("catchments: villages by code", (villages,),
                                                  lambda: villages.set_index("villcode"))
    vgeom = None if vills is None else shared("catchments: villages in metres", (vills,),
                                              lambda: vills.geometry.to_crs(PROJECTED_CRS))
    members, extra, extra_part, footprint = [], [], [], []
    for _f, _k, _name, _text, parts in areas:
        ti: list[int] = []
        tp: list[int] = []
        vi: list[int] = []
        pieces: list[Any] = []
        partly: list[Any] = []
        every: list[Any] = []
        for p in parts:
            code = str(p["towncode"])
            if code not in towns.index:
                continue
            chosen = set(p.get("villcodes", ()))
            if p["part"] in ("except", "only") and chosen and vills is not None and vgeom is not None:
                mine = vills.index[vills["towncode"] == code]
                keep = [v for v in mine if (v in chosen) == (p["part"] == "only")]
                geoms = list(shapely.make_valid(vgeom.loc[keep].to_numpy()))
                every += geoms
                if village_index is not None and all(v in village_index for v in keep):
                    vi += [village_index[v] for v in keep]
                else:
                    pieces += geoms
                continue
            geom = shapely.make_valid(towns.loc[code])
            every.append(geom)
            if code in town_index:
                (tp if p["part"] == "partial" else ti).append(town_index[code])
            else:
                (partly if p["part"] == "partial" else pieces).append(geom)
        members.append((ti, tp, vi))
        extra.append(shapely.union_all(pieces, grid_size=1.0) if pieces else None)
        extra_part.append(shapely.union_all(partly, grid_size=1.0) if partly else None)
        footprint.append(shapely.union_all(every, grid_size=1.0) if every else None)
    colours = _colours(footprint)

    def encoded(geoms: list) -> list:
        present = [g for g in geoms if g is not None and not g.is_empty]
        simple = iter(gpd.GeoSeries(shapely.simplify(present, tolerance_m, preserve_topology=True),
                                    crs=PROJECTED_CRS).to_crs("EPSG:4326").to_numpy() if present else [])
        return [encode_geometry(next(simple), q) if g is not None and not g.is_empty else [] for g in geoms]

    out: list[Area] = []
    for (f, k, name, text, _parts), colour, (ti, tp, vi), g, gp in zip(
            areas, colours, members, encoded(extra), encoded(extra_part), strict=True):
        tooltip = (f'<div class="sn-tt"><b>{name}</b><div>服務區域：{text}</div>'
                   + ('<div class="sn-note">虛線：僅服務該鄉鎮市區的一部分（公告未列村里）</div>' if tp or gp else "")
                   + "</div>")
        out.append({"f": f, "k": k, "n": name, "c": colour, "ti": ti, "tp": tp, "vi": vi, "g": g, "gp": gp,
                    "t": tooltip})
    return out
