"""County and township names: normalisation, historic names, address parsing.

Planners' registries spell places many ways: 台 or 臺, variant characters (恒春 for 恆春,
峨嵋 for 峨眉, 双溪 for 雙溪, 内湖 for 內湖 …, see :data:`VARIANT_CHARACTERS`), old or common
spellings (苑里 for 苑裡, 後里 for 后里 …, :data:`VARIANT_SPELLINGS`), the wrong 鄉/鎮/市/區
(南澳鎮 for 南澳鄉, when the stem names one township), full-width characters, stray spaces,
with or without the county, and names from before the 2010/2014 mergers
(臺北縣板橋市 is today's 新北市板橋區). Everything here resolves such spellings to one
MOI township code (TOWNCODE), or raises an error that suggests the closest official names.

>>> resolve_township("台北縣板橋市")
'65000010'
>>> resolve_township("阿里山鄉", county="嘉義縣")
'10010180'
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from .errors import AmbiguousNameError, UnknownNameError

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable, Sequence

    import geopandas as gpd

__all__ = [
    "VARIANT_CHARACTERS",
    "VARIANT_SPELLINGS",
    "header_key",
    "name_key",
    "normalise_name",
    "official_name",
    "parse_address",
    "resolve_county",
    "resolve_township",
    "suggest_address",
    "village_in_address",
]

_SPACES = re.compile(r"\s+")
_ADDRESS_PREFIX = re.compile(r"^(?:\d{3,6}|中華民國|臺灣省|臺灣|\(\d+\))+")
_SUFFIXES = "鄉鎮市區"
# A 村/里 named right after the township (not the start of a road: 里港路, 村中街).
_VILLAGE_WORD = re.compile(r"^([^\d\W]{1,5}?[村里])(?![路街巷道段弄號])")


#: Variant forms (old, common, Japanese or simplified) of characters used in official place names.
#: Only characters that occur in no official county or township name are listed, so mapping them
#: everywhere (names, addresses) never turns one official name into another.
VARIANT_CHARACTERS: dict[str, str] = {
    "台": "臺", "恒": "恆", "嵋": "眉", "双": "雙", "万": "萬", "内": "內", "来": "來", "脚": "腳",
    "塩": "鹽", "盐": "鹽", "樸": "朴", "豊": "豐", "丰": "豐", "亀": "龜", "龟": "龜", "湾": "灣",
    "峡": "峽", "帰": "歸", "归": "歸", "竜": "龍", "龙": "龍", "芦": "蘆", "緑": "綠", "绿": "綠",
    "関": "關", "关": "關", "宝": "寶", "学": "學", "将": "將", "営": "營", "营": "營", "东": "東",
    "県": "縣", "县": "縣", "乡": "鄉", "镇": "鎮", "区": "區", "兰": "蘭", "义": "義", "凤": "鳳",
    "罗": "羅", "苏": "蘇", "弥": "彌", "壮": "壯", "寿": "壽", "満": "滿",
    "满": "滿", "栄": "榮", "楽": "樂", "乐": "樂", "浜": "濱", "滨": "濱", "边": "邊",
    "辺": "邊", "杨": "楊", "栖": "棲", "乌": "烏", "鸟": "鳥", "马": "馬", "长": "長",
    "门": "門", "间": "間", "园": "園", "圆": "園", "华": "華",
}
#: Old or common spellings of official township names that differ by a character official elsewhere
#: (後 is official in 後龍, 后 in 后里), so they are replaced as whole names.
VARIANT_SPELLINGS: dict[str, str] = {
    "苑里": "苑裡", "水裡": "水里", "後里": "后里", "后壁": "後壁", "后龍": "後龍", "茄定": "茄萣",
    "新庄": "新莊", "南莊": "南庄", "滿洲": "滿州",
}
_VARIANTS = str.maketrans(VARIANT_CHARACTERS)
_SPELLINGS = re.compile("|".join(sorted(VARIANT_SPELLINGS, key=len, reverse=True)))
_KEY_DROP = re.compile(r"[\s_\-‐‑–—.·・/]+")
_HEADER_DROP = re.compile(r"\([^)]*\)|[\s_\-.:：/]+")
_HEADER_DROP_LONE_BRACKETS = re.compile(r"\([^)]*\)|[\s_\-.:：/（）()]+")


def name_key(text: object, *, keep_case: bool = False, keep_punctuation: bool = False) -> str:
    """The key two spellings of one name share: NFKC, case-folded, no spaces or ``_ - . · /``, 臺 for 台.

    The one matching key for names typed by people (programmes, facility names); place names
    also go through :func:`normalise_name`, column headers through :func:`header_key`.

    Parameters
    ----------
    text : object
        A name; ``None`` is ``""``, anything else is compared as ``str(text)``.
    keep_case : bool
        Do not case-fold (``Welfare`` and ``welfare`` stay two keys).
    keep_punctuation : bool
        Drop only whitespace, not ``_ - . · /`` (facility names, where ``A-1`` and ``A1``
        may be two places: :func:`coverage.diff.diff_registries` pairs them by this key).

    Returns
    -------
    str

    Examples
    --------
    >>> name_key(" Welfare_Centre "), name_key("welfare centre"), name_key("台中")
    ('welfarecentre', 'welfarecentre', '臺中')
    >>> name_key("台北 A-1 站", keep_case=True, keep_punctuation=True)
    '臺北A-1站'
    """
    if text is None:
        return ""
    text = unicodedata.normalize("NFKC", str(text))
    if keep_punctuation:
        text = "".join(text.split())
    else:
        text = _KEY_DROP.sub("", text)
    return (text if keep_case else text.casefold()).replace("台", "臺")


def header_key(header: object, *, lone_brackets: bool = False) -> str:
    """The key a column header is matched by: NFKC, lower case, no notes in brackets, no ``_ - . : /``, 臺 for 台.

    ``經度(WGS84)``, ``經度 (wgs84)`` and ``經度`` share a key; registries and the privacy check
    compare headers by it.

    Parameters
    ----------
    header : object
        A header cell, compared as ``str(header)``.
    lone_brackets : bool
        Also drop brackets that open or close no note (``電話(`` → ``電話``): the privacy check
        (:func:`coverage.privacy.column_key`) errs towards finding a personal column.

    Returns
    -------
    str

    Examples
    --------
    >>> header_key(" ＴＷＤ97_X "), header_key("經度(WGS84)"), header_key("台 電話(", lone_brackets=True)
    ('twd97x', '經度', '臺電話')
    """
    text = unicodedata.normalize("NFKC", str(header)).lower()
    junk = _HEADER_DROP_LONE_BRACKETS if lone_brackets else _HEADER_DROP
    return junk.sub("", text).replace("台", "臺")


def normalise_name(text: object) -> str:
    """Canonical spelling of a place name for matching.

    NFKC (full-width → half-width), no spaces, variant characters to the official ones
    (台 → 臺, 恒 → 恆, 双 → 雙 …; :data:`VARIANT_CHARACTERS`) and common misspellings of
    official names (苑里 → 苑裡; :data:`VARIANT_SPELLINGS`).

    Parameters
    ----------
    text : object
        A place name or address; ``None`` is ``""``.

    Returns
    -------
    str

    Examples
    --------
    >>> normalise_name(" 台中市　大甲區 "), normalise_name("屏東縣恒春鎮"), normalise_name("苗栗縣苑里鎮")
    ('臺中市大甲區', '屏東縣恆春鎮', '苗栗縣苑裡鎮')
    """
    if text is None:
        return ""
    s = unicodedata.normalize("NFKC", str(text))
    s = _SPACES.sub("", s).translate(_VARIANTS)
    return _SPELLINGS.sub(lambda m: VARIANT_SPELLINGS[m[0]], s)


@dataclass(frozen=True)
class _Index:
    counties: tuple[str, ...]  # current official county names, longest first
    by_full: dict[str, str]  # 縣市鄉鎮市區 -> towncode
    by_town: dict[str, tuple[str, ...]]  # 鄉鎮市區 -> towncodes
    towns_of: dict[str, tuple[str, ...]]  # county -> its township names, longest first
    full_of: dict[str, str]  # towncode -> 縣市鄉鎮市區
    merged: dict[str, str]  # historic county -> today's county
    renames: dict[tuple[str, str], tuple[str, str]]  # (old county or "", old township) -> (county, township)
    by_stem: dict[tuple[str, str], tuple[str, ...]]  # (county or "", stem of ≥ 2 characters) -> towncodes
    by_length: dict[int, list[str]]  # length -> 縣市鄉鎮市區 names of that length (address did-you-mean)


def _stem(township: str) -> str:
    return township[:-1] if len(township) > 1 and township[-1] in _SUFFIXES else township


def _build_index(townships: gpd.GeoDataFrame) -> _Index:
    import pandas as pd

    from .datasets import get_path

    county = townships["county"].map(normalise_name).tolist()
    town = townships["township"].map(normalise_name).tolist()
    codes = townships["towncode"].astype(str).tolist()
    by_full = {c + t: code for c, t, code in zip(county, town, codes, strict=True)}
    by_town: dict[str, list[str]] = {}
    towns_of: dict[str, list[str]] = {}
    for c, t, code in zip(county, town, codes, strict=True):
        by_town.setdefault(t, []).append(code)
        towns_of.setdefault(c, []).append(t)
    hist = pd.read_csv(get_path("historic_names"), dtype=str, comment="#").fillna("")
    merged, renames = {}, {}
    for row in hist.itertuples(index=False):
        oc, ot = normalise_name(row.old_county), normalise_name(row.old_township)
        nc, nt = normalise_name(row.new_county), normalise_name(row.new_township)
        if not ot:
            merged[oc] = nc
        else:
            renames[(oc, ot)] = (nc, nt)
            renames.setdefault(("", ot), (nc, nt))
    by_stem: dict[tuple[str, str], list[str]] = {}
    for c, t, code in zip(county, town, codes, strict=True):
        if len(_stem(t)) >= 2:
            by_stem.setdefault((c, _stem(t)), []).append(code)
            by_stem.setdefault(("", _stem(t)), []).append(code)
    by_length: dict[int, list[str]] = {}
    for full in by_full:
        by_length.setdefault(len(full), []).append(full)
    return _Index(
        # longest first; ties by name, not by the hash seed
        counties=tuple(sorted(set(county), key=lambda name: (-len(name), name))),
        by_full=by_full,
        by_town={k: tuple(v) for k, v in by_town.items()},
        towns_of={k: tuple(sorted(v, key=len, reverse=True)) for k, v in towns_of.items()},
        full_of={code: full for full, code in by_full.items()},
        merged=merged,
        renames=renames,
        by_stem={k: tuple(v) for k, v in by_stem.items()},
        by_length=by_length,
    )


@lru_cache(maxsize=8)
def _cached_index(key: tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]) -> _Index:
    import pandas as pd

    codes, county, town = key
    return _build_index(pd.DataFrame({"towncode": codes, "county": county, "township": town}))


@lru_cache(maxsize=1)
def _bundled_index() -> _Index:
    from .geography import load_townships

    return _index(load_townships())


_BY_IDENTITY: dict[int, tuple[Callable[[], object], _Index]] = {}


def _index(townships: gpd.GeoDataFrame | None) -> _Index:
    """Name index of a township table, built once per distinct table (the bundled one by default).

    Looked up first by the table's identity (a weak reference, so a table that is collected
    does not match its successor at the same address), then by its codes and names.
    """
    import weakref

    if townships is None:
        return _bundled_index()
    hit = _BY_IDENTITY.get(id(townships))
    if hit is not None and hit[0]() is townships:
        return hit[1]
    key = tuple(tuple(townships[c].astype(str)) for c in ("towncode", "county", "township"))
    index = _cached_index(key)
    if len(_BY_IDENTITY) > 64:
        _BY_IDENTITY.clear()
    _BY_IDENTITY[id(townships)] = (weakref.ref(townships), index)
    return index


def _suggest(query: str, choices: list[str], limit: int = 3) -> list[str]:
    from rapidfuzz import fuzz, process

    found = process.extract(query, choices, scorer=fuzz.WRatio, limit=limit, score_cutoff=50)
    return [name for name, _score, _i in found]


def _resolve_county_in(idx: _Index, name: str) -> str | None:
    n = normalise_name(name)
    if n in idx.counties:
        return n
    if n in idx.merged:
        return idx.merged[n]
    hits = [c for c in idx.counties if _stem(c) == n or c[:-1] == n]
    return hits[0] if len(hits) == 1 else None


def resolve_county(county: str, *, townships: gpd.GeoDataFrame | None = None) -> str:
    """Official name of a county or city (直轄市、縣市).

    Accepts 台/臺, full-width forms, a missing 縣/市 where unambiguous (臺北 → 臺北市) and
    the counties merged in 2010/2014 (臺北縣 → 新北市, 桃園縣 → 桃園市).

    Parameters
    ----------
    county : str
        A county or city name as written (``台中``, ``臺北縣``, ``臺北``).
    townships : GeoDataFrame, optional
        Township table whose counties are the official names (default: the bundled one).

    Returns
    -------
    str
        Today's official name (``臺中市``).

    Raises
    ------
    UnknownNameError
        With the closest official names as suggestions.
    """
    idx = _index(townships)
    found = _resolve_county_in(idx, county)
    if found is None:
        sugg = _suggest(normalise_name(county), list(idx.counties))
        hint = f"; did you mean {'、'.join(sugg)}?" if sugg else ""
        raise UnknownNameError(f"county '{county}' not found{hint}", str(county), sugg)
    return found


def _split_county(idx: _Index, text: str) -> tuple[str | None, str | None, str]:
    """Split a leading county name (current or historic) off ``text``.

    Returns (today's county, the historic county written or None, rest).
    """
    for old, new in idx.merged.items():
        if text.startswith(old):
            return new, old, text[len(old):]
    for c in idx.counties:
        if text.startswith(c):
            return c, None, text[len(c):]
    return None, None, text


def _lookup(idx: _Index, county: str, town: str, old_county: str | None) -> str | None:
    """Township code for an official or historic name inside a known county."""
    code = idx.by_full.get(county + town)
    if code:
        return code
    for key in ((old_county or county, town), ("", town)):
        if key in idx.renames:
            nc, nt = idx.renames[key]
            if nc == county or key[0] == old_county:
                code = idx.by_full.get(nc + nt)
                if code:
                    return code
    # Merged counties: every 鄉/鎮/市 of the old county became a 區 of the same stem.
    merged_into = set(idx.merged.values())
    if county in merged_into and town and town[-1] in "鄉鎮市":
        code = idx.by_full.get(county + _stem(town) + "區")
        if code:
            return code
    return _by_stem(idx, county, town)


def _by_stem(idx: _Index, county: str, town: str) -> str | None:
    """The one township of ``county`` (``""``: of Taiwan) whose name differs only in 鄉/鎮/市/區 (南澳鎮 → 南澳鄉).

    A name without its 鄉/鎮/市/區 (阿里山) is not matched this way: it gets a did-you-mean.
    """
    if len(town) < 3 or town[-1] not in _SUFFIXES:
        return None
    codes = idx.by_stem.get((county, _stem(town)), ())
    return codes[0] if len(codes) == 1 else None


def resolve_township(
    township: str,
    county: str | None = None,
    *,
    townships: gpd.GeoDataFrame | None = None,
) -> str:
    """MOI township code (TOWNCODE) of a township name.

    Parameters
    ----------
    township : str
        A township name, optionally prefixed by its county (``嘉義縣阿里山鄉``), in any of
        the spellings described in the module docstring, or a historic name.
    county : str, optional
        The county, when the registry has it in a column of its own.
    townships : GeoDataFrame, optional
        Township table to resolve against (default: the bundled one).

    Returns
    -------
    str
        The township's 8-digit code (TOWNCODE).

    Raises
    ------
    AmbiguousNameError
        The name exists in several counties (e.g. ``東區``) and no county was given.
    UnknownNameError
        No such township; the message suggests the closest official names.

    Examples
    --------
    >>> resolve_township("員林鎮", county="彰化縣")  # a 鎮 that became a 市 in 2015
    '10007100'
    """
    idx = _index(townships)
    text = normalise_name(township)
    label = f"{normalise_name(county) if county else ''}{text}"
    c_given = _resolve_county_in(idx, county) if county else None
    old_given = normalise_name(county) if county and normalise_name(county) in idx.merged else None
    if county and c_given is None:
        resolve_county(county, townships=townships)  # raises with suggestions
    c_pref, old_pref, rest = _split_county(idx, text)
    c: str | None
    if c_pref is not None and rest:
        text, c, old = rest, c_pref, old_pref
    else:
        c, old = c_given, old_given
    if c is not None:
        code = _lookup(idx, c, text, old)
        if code:
            return code
        pool = [c + t for t in idx.towns_of.get(c, ())]
    else:
        codes = idx.by_town.get(text, ())
        if len(codes) == 1:
            return codes[0]
        if len(codes) > 1:
            options = sorted(idx.full_of[code] for code in codes)
            raise AmbiguousNameError(
                f"township '{township}' exists in {len(codes)} counties ({'、'.join(options)}); "
                "give the county",
                str(township),
                options,
            )
        key = ("", text)
        if key in idx.renames:
            nc, nt = idx.renames[key]
            code = idx.by_full.get(nc + nt)
            if code:
                return code
        code = _by_stem(idx, "", text)
        if code:
            return code
        pool = list(idx.by_full)
    sugg = _suggest(label if c is None else c + text, pool)
    hint = f"; did you mean {'、'.join(sugg)}?" if sugg else ""
    raise UnknownNameError(f"township '{label}' not found{hint}", str(township), sugg)


def parse_address(address: str, *, townships: gpd.GeoDataFrame | None = None) -> str | None:
    """Township code parsed from a Taiwanese address, or ``None`` if it names none.

    Leading postal codes and 臺灣/臺灣省 are skipped; the county may be historic
    (臺北縣板橋市文化路 → 新北市板橋區) or absent when the township name is unique in Taiwan.

    Parameters
    ----------
    address : str
        A Taiwanese address as written in a registry.
    townships : GeoDataFrame, optional
        Township table to resolve against (default: the bundled one).

    Returns
    -------
    str or None
        The township code, or ``None`` when the address names no township unambiguously.

    Examples
    --------
    >>> parse_address("604嘉義縣竹崎鄉竹崎村舊車站1號")
    '10010140'
    >>> parse_address("東區民族路1號") is None   # 東區 exists in four cities
    True
    """
    idx = _index(townships)
    text = _ADDRESS_PREFIX.sub("", normalise_name(address))
    if not text:
        return None
    county, old, rest = _split_county(idx, text)
    if county is not None:
        for t in idx.towns_of.get(county, ()):
            if rest.startswith(t):
                return idx.by_full[county + t]
        # historic township of a merged county (臺北縣板橋市…), a renamed one, or the wrong 鄉/鎮/市/區
        for end in range(3, min(len(rest), 5) + 1):
            if rest[end - 1] in _SUFFIXES:
                code = _lookup(idx, county, rest[:end], old)
                if code:
                    return code
        return None
    for t, codes in idx.by_town.items():
        if len(codes) == 1 and text.startswith(t) and len(t) >= 2:
            return codes[0]
    for end in range(3, min(len(text), 5) + 1):
        if text[end - 1] in _SUFFIXES:
            code = _by_stem(idx, "", text[:end])
            if code:
                return code
    return None


def village_in_address(address: str, township: str, villages: Sequence[str]) -> tuple[str | None, str | None]:
    """The village (村/里) an address names right after its township, among ``villages``.

    The township is the one the address was located in (:func:`parse_address`); only its own
    villages are tried, since one 村/里 name exists in many townships. Spellings are compared by
    :func:`normalise_name` and :func:`name_key` (台/臺, spaces, full-width characters).

    Parameters
    ----------
    address : str
        A Taiwanese address as written in a registry.
    township : str
        Official name of the township the address lies in (竹崎鄉).
    villages : sequence of str
        Official names of that township's villages.

    Returns
    -------
    village : str or None
        The official name of the village named, ``None`` when the address names none of ``villages``.
    unknown : str or None
        A 村/里 the address names that is not one of ``villages`` (``None`` otherwise).

    Examples
    --------
    >>> village_in_address("604嘉義縣竹崎鄉竹崎村舊車站1號", "竹崎鄉", ["竹崎村", "和平村"])
    ('竹崎村', None)
    >>> village_in_address("嘉義縣竹崎鄉龍安里1號", "竹崎鄉", ["竹崎村"])
    (None, '龍安里')
    >>> village_in_address("嘉義縣竹崎鄉中山路1號", "竹崎鄉", ["竹崎村"])
    (None, None)
    """
    text = name_key(normalise_name(address))
    town = name_key(normalise_name(township))
    at = text.find(town)
    if at >= 0:
        rest = text[at + len(town):]
    else:  # a historic name (板橋市 for 板橋區): its stem and any suffix
        stem = _stem(town)
        at = text.find(stem) if len(stem) >= 2 else -1
        if at < 0 or at + len(stem) >= len(text) or text[at + len(stem)] not in _SUFFIXES:
            return None, None
        rest = text[at + len(stem) + 1:]
    keys = sorted(((name_key(normalise_name(v)), v) for v in villages), key=lambda kv: -len(kv[0]))
    for key, official in keys:
        if key and rest.startswith(key) and rest[len(key):len(key) + 1] not in ("路", "街", "巷", "道", "段"):
            return official, None
    m = _VILLAGE_WORD.match(rest)
    return None, (m[1] if m else None)


def suggest_address(address: str, *, townships: gpd.GeoDataFrame | None = None, limit: int = 3) -> list[str]:
    """Official ``縣市鄉鎮市區`` names closest to the start of an address that names no township.

    For the did-you-mean of a rejected address; empty when nothing is close.

    Parameters
    ----------
    address : str
        An address that :func:`parse_address` could not place.
    townships : GeoDataFrame, optional
        Township table to suggest from (default: the bundled one).
    limit : int
        At most this many suggestions.

    Returns
    -------
    list of str
        Official ``縣市鄉鎮市區`` names, closest first.

    Examples
    --------
    >>> suggest_address("嘉義縣竹崎香竹崎村1號")
    ['嘉義縣竹崎鄉']
    """
    from rapidfuzz import fuzz, process

    idx = _index(townships)
    text = _ADDRESS_PREFIX.sub("", normalise_name(address))
    if not text:
        return []
    scored: list[tuple[float, str]] = []
    for length, names in idx.by_length.items():
        found = process.extract(text[:length], names, scorer=fuzz.ratio, score_cutoff=75, limit=limit)
        scored += [(-score, name) for name, score, _i in found]
    return [name for _score, name in sorted(scored)[:limit]]


def official_name(towncode: str, *, townships: gpd.GeoDataFrame | None = None) -> str:
    """``縣市鄉鎮市區`` official full name of a township code.

    Parameters
    ----------
    towncode : str
        An 8-digit MOI township code (TOWNCODE).
    townships : GeoDataFrame, optional
        Township table to look it up in (default: the bundled one).

    Returns
    -------
    str
        ``縣市鄉鎮市區``, e.g. ``嘉義縣阿里山鄉``.

    Raises
    ------
    KeyError
        No township of ``townships`` has this code.
    """
    return _index(townships).full_of[str(towncode)]
