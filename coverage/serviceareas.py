"""Official service areas (服務區域) as written by counties → townships and villages.

The national list of 社會福利服務中心 gives each centre's service area as free text. Most are
township names joined by 、, but counties also write:

* a county prefix and a collective suffix: ``基隆市暖暖、七堵全區`` (暖暖區 and 七堵區, whole);
* a whole county: ``連江縣`` (its four townships);
* villages excluded from a township: ``秀林鄉(文蘭村、銅門村除外)``;
* villages of another township added: ``吉安鄉(含秀林鄉文蘭村、銅門村)``;
* a village count as a check: ``花蓮市(共44里)`` (the whole township, if it has 44 villages);
* a split described by a road: ``鳳山區國泰路以北共41里`` (part of the township, villages not named);
* full-width or half-width commas instead of 、.

:func:`parse_service_area` turns such a text into :class:`ServiceArea` parts — one row per township
with ``part`` = ``whole``, ``except`` (all villages but those listed), ``only`` (just those listed)
or ``partial`` (part of the township whose villages the text does not name) — and every fragment it
cannot resolve into ``unresolved`` with the reason. Nothing is dropped silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import pandas as pd

__all__ = ["AREA_PARTS", "ServiceArea", "facility_service_areas", "load_service_areas", "parse_service_area",
           "service_area_table"]

#: The kinds of part a township can be in a service area.
AREA_PARTS = ("whole", "except", "only", "partial")

_SPLIT = re.compile(r"[、,，;；/／]+")
_BRACKET = re.compile(r"^(?P<head>[^()（）]+)[(（](?P<inner>[^()（）]*)[)）]$")
_COUNT = re.compile(r"^共\s*(\d+)\s*[里村]$")
_ROAD_SPLIT = re.compile(r"^(?P<town>.+?[鄉鎮市區])(?P<rest>.+?以[東西南北].*?(?:共\s*(?P<n>\d+)\s*[里村])?)$")
_WHOLE = re.compile(r"(全區|全鄉|全鎮|全市|全部)$")
_VILLAGE_SUFFIX = "村里"


@dataclass
class ServiceArea:
    """A parsed service area.

    Attributes
    ----------
    parts : list of dict
        ``towncode``, ``part`` (one of :data:`AREA_PARTS`), ``villcodes`` (tuple; the villages
        excluded for ``except``, included for ``only``, empty otherwise) and ``note``.
    unresolved : list of str
        Fragments that name no township or village, each with the reason.
    """

    parts: list[dict] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)

    @property
    def towncodes(self) -> list[str]:
        """Townships served wholly or in part, in the order written."""
        return list(dict.fromkeys(p["towncode"] for p in self.parts))


def _resolve_town(name: str, county: str, townships) -> str | None:
    from .names import resolve_township

    name = name.strip()
    if not name:
        return None
    candidates = [name]
    if name[-1] not in "鄉鎮市區":  # 暖暖 → 暖暖區: try each suffix
        candidates += [name + s for s in "區鄉鎮市"]
    for cand in candidates:
        try:
            return resolve_township(cand, county, townships=townships)
        except InputError:
            continue
    return None


def _villages_named(text: str, towncode: str, villages) -> tuple[list[str], list[str]]:
    """VILLCODEs of the villages named in ``text`` (、-separated) within ``towncode``; unknown names."""
    from .names import normalise_name

    pool = villages[villages["towncode"] == towncode]
    by_name = {normalise_name(n): c for n, c in zip(pool["village"], pool["villcode"], strict=True)}
    found, missing = [], []
    for raw in _SPLIT.split(text):
        name = normalise_name(raw)
        if not name:
            continue
        code = by_name.get(name)
        if code is None and name[-1] not in _VILLAGE_SUFFIX:
            code = by_name.get(name + "村") or by_name.get(name + "里")
        (found.append(code) if code else missing.append(raw.strip()))
    return found, missing


def _bracketed(head: str, inner: str, county: str, townships, villages, out: ServiceArea) -> None:
    code = _resolve_town(head, county, townships)
    if code is None:
        out.unresolved.append(f"{head}({inner}): no township '{head}' in {county}")
        return
    inner = inner.strip()
    count = _COUNT.match(inner)
    if count:
        have = int((villages["towncode"] == code).sum())
        n = int(count.group(1))
        note = "" if have == n else f"text says {n} villages, the boundary set has {have}"
        out.parts.append({"towncode": code, "part": "whole", "villcodes": (), "note": note})
        return
    if inner.endswith("除外"):
        found, missing = _villages_named(inner[:-2], code, villages)
        out.parts.append({"towncode": code, "part": "except", "villcodes": tuple(found), "note": ""})
        out.unresolved += [f"{head}({inner}): no village '{m}' in that township" for m in missing]
        return
    if inner.startswith("含"):
        out.parts.append({"towncode": code, "part": "whole", "villcodes": (), "note": ""})
        _added_villages(inner[1:], county, townships, villages, out)
        return
    out.unresolved.append(f"{head}({inner}): the bracket is neither 共N里, …除外 nor 含…")


def _added_villages(text: str, county: str, townships, villages, out: ServiceArea) -> None:
    """``秀林鄉文蘭村、銅門村``: villages of another township (the first item names it)."""
    from .names import normalise_name

    items = [normalise_name(x) for x in _SPLIT.split(text) if x.strip()]
    if not items:
        return
    town = re.match(r"^(.+?[鄉鎮市區])(.+)$", items[0])
    if town is None:
        out.unresolved.append(f"含{text}: the first item names no township")
        return
    code = _resolve_town(town.group(1), county, townships)
    if code is None:
        out.unresolved.append(f"含{text}: no township '{town.group(1)}' in {county}")
        return
    found, missing = _villages_named("、".join([town.group(2), *items[1:]]), code, villages)
    if found:
        out.parts.append({"towncode": code, "part": "only", "villcodes": tuple(found), "note": ""})
    out.unresolved += [f"含{text}: no village '{m}' in that township" for m in missing]


def _fragment(frag: str, county: str, townships, villages, out: ServiceArea) -> None:
    from .names import normalise_name, resolve_county

    frag = normalise_name(frag)
    if not frag:
        return
    bracket = _BRACKET.match(frag)
    if bracket:
        _bracketed(bracket["head"], bracket["inner"], county, townships, villages, out)
        return
    try:  # a whole county (連江縣)
        whole_county = resolve_county(frag, townships=townships)
    except InputError:
        whole_county = None
    if whole_county is not None and frag.endswith(("縣", "市")) and whole_county == county:
        codes = sorted(townships.loc[townships["county"] == county, "towncode"])
        out.parts += [{"towncode": c, "part": "whole", "villcodes": (), "note": f"whole county ({frag})"}
                      for c in codes]
        return
    name = _WHOLE.sub("", frag)
    if name.startswith(county) and len(name) > len(county):
        name = name[len(county):]
    code = _resolve_town(name, county, townships)
    if code is not None:
        out.parts.append({"towncode": code, "part": "whole", "villcodes": (), "note": ""})
        return
    road = _ROAD_SPLIT.match(name)
    if road:
        code = _resolve_town(road["town"], county, townships)
        if code is not None:
            note = f"part of the township ({road['rest']}); the text names no villages"
            out.parts.append({"towncode": code, "part": "partial", "villcodes": (), "note": note})
            return
    out.unresolved.append(f"{frag}: no township of that name in {county}")


def parse_service_area(
    text: str,
    county: str,
    *,
    townships: gpd.GeoDataFrame | None = None,
    villages: gpd.GeoDataFrame | None = None,
) -> ServiceArea:
    """Parse one official service-area text of a centre in ``county``.

    Parameters
    ----------
    text : str
        The 服務區域 text, e.g. ``秀林鄉(文蘭村、銅門村除外)、新城鄉``.
    county : str
        The centre's county (official name); township names are resolved within it.
    townships, villages : GeoDataFrame, optional
        Boundary tables (default: the bundled ones).

    Returns
    -------
    ServiceArea

    Examples
    --------
    >>> area = parse_service_area("基隆市暖暖、七堵全區", "基隆市")
    >>> [p["towncode"] for p in area.parts], area.unresolved
    (['10017030', '10017020'], [])
    """
    from .geography import load_townships, load_villages

    towns = load_townships() if townships is None else townships
    vills = load_villages() if villages is None else villages
    out = ServiceArea()
    depth, start, frags = 0, 0, []
    for i, ch in enumerate(text or ""):  # split on separators outside brackets
        if ch in "(（":
            depth += 1
        elif ch in ")）":
            depth = max(depth - 1, 0)
        elif depth == 0 and _SPLIT.fullmatch(ch):
            frags.append(text[start:i])
            start = i + 1
    frags.append((text or "")[start:])
    for frag in frags:
        _fragment(frag, county, towns, vills, out)
    return out


def service_area_table(areas: dict[str, ServiceArea], villages: gpd.GeoDataFrame | None = None):
    """One row per centre × township (× village for ``except``/``only``): the catchments to draw.

    ``areas`` maps a centre id to its parsed area. Columns: ``id, towncode, part, villcode, note``;
    ``villcode`` is blank for whole and partial townships.

    Parameters
    ----------
    areas : dict of str to ServiceArea
        Centre id → its parsed service area (:func:`parse_service_area`).
    villages : GeoDataFrame, optional
        Village boundaries, for ``except``/``only`` areas (default: the bundled villages).

    Returns
    -------
    DataFrame
        The columns above, one row per centre × township (× village).
    """
    import pandas as pd

    rows = []
    for ident, area in areas.items():
        for p in area.parts:
            if p["villcodes"]:
                rows += [{"id": ident, "towncode": p["towncode"], "part": p["part"], "villcode": v,
                          "note": p["note"]} for v in p["villcodes"]]
            else:
                rows.append({"id": ident, "towncode": p["towncode"], "part": p["part"], "villcode": "",
                             "note": p["note"]})
        rows += [{"id": ident, "towncode": "", "part": "unresolved", "villcode": "", "note": u}
                 for u in area.unresolved]
    return pd.DataFrame(rows, columns=["id", "towncode", "part", "villcode", "note"])


def load_service_areas() -> pd.DataFrame:
    """The bundled official service areas (``geodata/service_areas.csv``, :func:`service_area_table` of
    the national registry's centres): one row per centre × township (× village).

    Returns
    -------
    DataFrame
        Columns ``id, towncode, part, villcode, note`` as text (blank cells ``""``); ``part`` is one of
        :data:`AREA_PARTS` or ``unresolved``.
    """
    import csv

    import pandas as pd

    from .datasets import get_path

    lines = get_path("service_areas").read_text(encoding="utf-8").splitlines()
    rows = list(csv.DictReader(x for x in lines if not x.startswith("#")))
    return pd.DataFrame(rows, columns=["id", "towncode", "part", "villcode", "note"]).fillna("")


def facility_service_areas(facilities: pd.DataFrame, table: pd.DataFrame | None = None) -> dict:
    """The service area of each facility that has one, as township parts (villages where a township is split).

    A facility whose ``id`` is in ``table`` (the official areas, default :func:`load_service_areas`) and
    whose ``serves`` names the same townships takes the parts of the table: ``whole``, ``except`` (all
    villages but ``villcodes``), ``only`` (just ``villcodes``) or ``partial`` (part of the township, the
    villages not named). Any other facility with a ``serves`` list gets one ``whole`` part per township
    of it. An ``id`` of a user's registry that happens to equal an official one but serves other
    townships is not matched (its own ``serves`` is used).

    Parameters
    ----------
    facilities : DataFrame
        Rows of :attr:`Registry.facilities <coverage.facilities.Registry>`; ``serves`` (tuple of
        towncodes) and ``id`` are used where present.
    table : DataFrame, optional
        Official areas with the columns of :func:`load_service_areas`.

    Returns
    -------
    dict
        Index label of ``facilities`` → list of parts, each a dict ``towncode``, ``part``, ``villcodes``
        (tuple) and ``note``, in the order written; facilities without a service area are left out.
    """
    if "serves" not in facilities:
        return {}
    official: dict[str, list[dict]] = {}
    if "id" in facilities:
        table = load_service_areas() if table is None else table
        for row in table.itertuples(index=False):
            if row.part not in AREA_PARTS:
                continue
            parts = official.setdefault(str(row.id), [])
            same = next((p for p in parts if p["towncode"] == row.towncode and p["part"] == row.part), None)
            if same is None:
                parts.append({"towncode": str(row.towncode), "part": str(row.part),
                              "villcodes": (str(row.villcode),) if row.villcode else (), "note": str(row.note)})
            elif row.villcode:
                same["villcodes"] = (*same["villcodes"], str(row.villcode))
    out: dict = {}
    ids = facilities["id"] if "id" in facilities else [None] * len(facilities)
    for label, serves, ident in zip(facilities.index, facilities["serves"], ids, strict=True):
        if not isinstance(serves, (tuple, list)) or not serves:
            continue
        found = official.get(str(ident)) if isinstance(ident, str) and ident else None
        if found and {p["towncode"] for p in found} == set(serves):
            out[label] = [dict(p) for p in found]
        else:
            out[label] = [{"towncode": str(c), "part": "whole", "villcodes": (), "note": ""}
                          for c in dict.fromkeys(serves)]
    return out
