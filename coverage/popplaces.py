"""Where each row of a population table belongs: its township, its village, and whether an earlier row gave it.

The place-matching steps of :func:`coverage.population.read_population`: a row's township comes
from its county + township names, else from its code (:func:`find_places`); in a village table its
village from the village code, then from the village name in that township (:func:`match_villages`);
a later row giving the same place as an earlier accepted one, however written, is rejected
(:func:`reject_duplicate_places`). Each step adds its problems to one
:class:`coverage.rejections.Rejections`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import TYPE_CHECKING, NamedTuple

from .errors import CoverageError

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import numpy as np
    import pandas as pd

    from .rejections import Rejections

__all__ = ["Places", "find_places", "match_villages", "reject_duplicate_places"]

_VILLAGE_CODE = re.compile(r"^(\d{8})-?(\d{3})$")
_TOWN_CODE = re.compile(r"^\d{7,8}$")


class Places(NamedTuple):
    """Where each row belongs, as far as its township."""

    level: str  # "village" or "township"
    code: pd.Series  # the code cell as written
    villcode: pd.Series  # the 11-digit village code read from it, "" when none
    place: pd.Series  # the county + township name as written
    village: pd.Series  # the village name as written
    name_code: pd.Series  # TOWNCODE from the names, or None
    towncode: pd.Series  # TOWNCODE from the names, else from the code, or None
    how: pd.Series  # "township name" / "township code"
    place_field: str  # the header of the place column


def find_places(cells: pd.DataFrame, header: list[str], cols: dict[str, int], towns: gpd.GeoDataFrame,
                rej: Rejections, skip: np.ndarray, *, bundled: bool) -> Places:
    """Each row's township, from its county + township names, else from its code; rows with none are rejected.

    Parameters
    ----------
    cells : DataFrame
        The rows' stripped cells, columns numbered as in the header.
    header : list of str
        The header's cells (named in rejections).
    cols : dict
        Role (``code``, ``area``, ``county``, ``township``, ``village`` …) -> its column.
    towns : GeoDataFrame
        Townships to match against.
    rej : Rejections
    skip : array of bool
        Rows already rejected whole (not rejected again).
    bundled : bool
        ``towns`` are the bundled townships (names resolved with the cached index).

    Returns
    -------
    Places
    """
    import numpy as np
    import pandas as pd

    n = len(cells)
    blank = pd.Series([""] * n, dtype=object)
    code = cells[cols["code"]].map(lambda c: unicodedata.normalize("NFKC", c)) if "code" in cols else blank
    vmatch = code.str.extract(_VILLAGE_CODE)
    villcode = (vmatch[0] + vmatch[1]).where(vmatch[0].notna(), "").astype(object)
    from_code = pd.Series(np.where(vmatch[0].notna(), vmatch[0], code.where(code.str.match(_TOWN_CODE), "")),
                          dtype=object).map(lambda c: c + "0" if len(c) == 7 else c)
    village = cells[cols["village"]] if "village" in cols else blank
    if "area" in cols:
        place = cells[cols["area"]]
    elif "township" in cols:
        place = (cells[cols["county"]] if "county" in cols else "") + cells[cols["township"]]
    else:
        place = blank
    by_name = dict(zip((towns["county"] + towns["township"]).map(_norm_place), towns["towncode"], strict=True))
    resolved = {name: _resolve_place(name, by_name, None if bundled else towns) for name in place.unique()}
    name_code = place.map(lambda p: resolved[p][0])
    towncode = name_code.where(name_code.notna(), from_code.where(from_code.isin(set(towns["towncode"])), None))
    how = pd.Series(np.where(name_code.notna(), "township name", "township code"), dtype=object)
    place_field = header[cols["area"]] if "area" in cols else header[cols.get("township", 0)]
    code_field = header[cols["code"]] if "code" in cols else place_field
    lost = towncode.isna().to_numpy() & ~skip
    error = place.map(lambda p: resolved[p][1] or "")
    named, coded = lost & (error != "").to_numpy(), lost & (error == "").to_numpy() & (code != "").to_numpy()
    rej.add(named, place_field or "place", place.to_numpy(), error.to_numpy())
    rej.add(coded, code_field or "code", code.to_numpy(),
            "township code not in the boundaries and no township name to fall back on")
    rej.add(lost & ~named & ~coded, code_field or "place", "", "no place: the township code and name are blank")
    level = "village" if ("village" in cols or (villcode != "").any()) else "township"
    return Places(level, code, villcode, place, village, name_code, towncode, how, place_field)


def match_villages(places: Places, vill_table: gpd.GeoDataFrame, header: list[str], cols: dict[str, int],
                   rej: Rejections, skip: np.ndarray) -> tuple[pd.Series, pd.Series]:
    """(VILLCODE or None, how matched) of each row: by village code, then by village name in its township.

    A row of a village table with neither a village code nor a village name (a township subtotal)
    is rejected: its people would be counted a second time.

    Parameters
    ----------
    places : Places
        :func:`find_places` of the rows.
    vill_table : GeoDataFrame
        Villages of the townships the file covers.
    header : list of str
    cols : dict
        As for :func:`find_places`.
    rej : Rejections
    skip : array of bool
        Rows already rejected whole.

    Returns
    -------
    assigned : Series
        VILLCODE of each row, or None.
    how : Series
        ``village code``, ``village name`` or ``township only (no matching village)``.
    """
    import numpy as np
    import pandas as pd

    towncode, villcode = places.towncode, places.villcode
    known = set(vill_table["villcode"])
    by_name = dict(zip(zip(vill_table["towncode"], vill_table["village"].map(_norm_place), strict=True),
                       vill_table["villcode"], strict=True))
    hit_code = villcode.isin(known) & towncode.notna()
    # a village code of another township than the names say is not trusted
    hit_code &= villcode.str[:8].eq(towncode.fillna("")) | places.name_code.isna()
    assigned = pd.Series(np.where(hit_code, villcode, None), dtype=object)
    by_name_hit = pd.Series([by_name.get((t, _norm_place(v))) for t, v in zip(towncode, places.village, strict=True)],
                            dtype=object)
    use_name = assigned.isna() & by_name_hit.notna()
    assigned[use_name] = by_name_hit[use_name]
    how = pd.Series(np.where(hit_code, "village code", np.where(use_name, "village name",
                                                               "township only (no matching village)")), dtype=object)
    subtotal = (places.village == "").to_numpy() & (villcode == "").to_numpy() & towncode.notna().to_numpy() & ~skip
    field = header[cols["village"]] if "village" in cols else places.place_field
    rej.add(subtotal, field or "village", "",
            "no village name or code in a village table (a township subtotal?): its people would count twice")
    return assigned, how


def reject_duplicate_places(places: Places, assigned: pd.Series, towns: gpd.GeoDataFrame,
                            vill_table: gpd.GeoDataFrame | None, header: list[str], cols: dict[str, int],
                            line: np.ndarray, rej: Rejections) -> None:
    """Reject each later row that gives the same place as an earlier accepted row.

    The place is what the row resolved to, not how it was written: ``10010140-001``,
    ``10010140001`` and the village's name in ``嘉義縣 竹崎鄉`` are one village, counted once.

    Parameters
    ----------
    places : Places
    assigned : Series
        VILLCODE of each row or None (:func:`match_villages`; all None in a township table).
    towns : GeoDataFrame
    vill_table : GeoDataFrame or None
    header : list of str
    cols : dict
        As for :func:`find_places`.
    line : array of int
        Each row's line number in the file (named in the reason).
    rej : Rejections
        Updated in place.
    """
    import numpy as np
    import pandas as pd

    town_name = dict(zip(towns["towncode"], towns["county"] + towns["township"], strict=True))
    vill_name = ({} if vill_table is None else
                 dict(zip(vill_table["villcode"], vill_table["county"] + vill_table["township"] + vill_table["village"],
                          strict=True)))
    if places.level == "village":
        # matched: the boundary village; unmatched: the code as written, else the name in its township
        key = pd.Series([v if v is not None else None if t is None else f"{t}|{c}|" if c else
                         f"{t}||{_norm_place(name)}" for v, t, c, name in
                         zip(assigned, places.towncode, places.villcode, places.village, strict=True)], dtype=object)
        label = [f"village {k} {vill_name[k]}" if k in vill_name else
                 f"village {(parts := str(k).split('|'))[1]} {town_name.get(parts[0], '')}{parts[2]}".replace("  ", " ")
                 for k in key]
    else:
        key = places.towncode
        label = [f"township {k} {town_name.get(k, '')}" for k in key]
    ok = ~rej.bad & key.notna().to_numpy()
    first = pd.Series(line[ok]).groupby(key[ok].to_numpy()).transform("first").to_numpy()
    first_row = np.zeros(len(line), dtype=np.int64)
    first_row[ok] = first
    dup = ok & (first_row != line)
    coded = (places.code != "").to_numpy()
    written = np.where(coded, places.code, (places.place + " " + places.village).str.strip())
    code_field = header[cols["code"]] if "code" in cols else ""
    rej.add(dup, np.where(coded, code_field or "code", places.place_field or "place"), written,
            lambda pos: [f"duplicate of row {first_row[p]}: the same {label[p]}, counted once" for p in pos])


@functools.lru_cache(maxsize=65_536)
def _norm_place(text: str) -> str:
    from .names import normalise_name

    return normalise_name(text)


def _resolve_place(name: str, by_name: dict[str, str], townships) -> tuple[str | None, str | None]:
    """(towncode, None) or (None, error message) for a county+township name."""
    from .names import resolve_township

    if not name:
        return None, None
    key = _norm_place(name)
    if key in by_name:
        return by_name[key], None
    try:
        return resolve_township(name, townships=townships), None
    except CoverageError as exc:
        return None, str(exc)

