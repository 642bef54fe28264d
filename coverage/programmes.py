"""Programme vocabulary: the four programmes' keys, zh-TW labels and every name planners use for them.

A registry's ``category`` cell, a ``category=`` argument or a what-if addition names a programme in
any of its accepted names (:data:`PROGRAMME_NAMES`): the English key in any letter case, the zh-TW
label, the names planners write (社福中心, 小衛星, 心衛中心, 會所 …) or plain English
("Welfare Centre"), compared by :func:`coverage.names.name_key` (NFKC, case-folded, no spaces).

Any other name is a *custom* programme (少年服務方案), kept as written and listed by
:func:`custom_programmes`, unless it is a near miss of an accepted name (小衛, 社福中, 心理衛生中新):
such a registry row is rejected with a did-you-mean (:func:`classify`), since counting it as a
programme of its own would silently split one programme in two.

>>> resolve_programme("  Welfare Centre "), resolve_programme("小衛星據點")
('welfare_centre', 'community_support_point')
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from functools import lru_cache

import numpy as np

from .errors import UnknownProgrammeError
from .names import name_key
from .vocabulary import PROGRAMME_LABELS, PROGRAMME_SHORT_LABELS

__all__ = [
    "PROGRAMMES",
    "PROGRAMME_NAMES",
    "SHORT_LABELS",
    "classify",
    "custom_programmes",
    "display_name",
    "near_programme",
    "programme_key",
    "resolve_programme",
]

#: Programme key -> zh-TW label (the official name of the programme; :mod:`coverage.vocabulary`).
PROGRAMMES: dict[str, str] = PROGRAMME_LABELS

#: Short zh-TW names planners use (narrow terminal tables; :mod:`coverage.vocabulary`).
SHORT_LABELS: dict[str, str] = PROGRAMME_SHORT_LABELS

#: Programme key -> every accepted name besides the key and the label.
PROGRAMME_NAMES: dict[str, tuple[str, ...]] = {
    "welfare_centre": (
        "社福中心", "社會福利中心", "家庭福利服務中心", "社會福利服務中心",
        "welfare centre", "welfare center", "social welfare centre", "social welfare center",
        "social welfare service centre", "social welfare service center",
        "family welfare service centre", "family welfare service center",
    ),
    "community_support_point": (
        "小衛星", "小衛星據點", "兒少據點", "兒少及家庭支持服務據點", "兒少及家庭社區支持服務據點",
        "兒少及家庭社區支持服務", "兒童及少年家庭社區支持服務據點",
        "community support point", "family support point", "child and family support point",
        "children and family community support point",
    ),
    "psychiatric_collab_point": (
        "會所", "精障會所", "精神障礙者協作模式服務據點", "精障協作據點", "精障據點",
        "psychiatric collaboration point", "psychiatric collab point", "clubhouse",
        "psychiatric collaborative point",
    ),
    "mental_health_centre": (
        "心衛中心", "心理衛生中心", "社區心衛中心", "社區心理衛生中心",
        "mental health centre", "mental health center", "community mental health centre",
        "community mental health center",
    ),
}

_SPACES = re.compile(r"\s+")
_CJK = re.compile(r"[\u3400-\u9fff]")


@lru_cache(maxsize=1)
def _lookup() -> dict[str, str]:
    return {name_key(name): key for key, label in PROGRAMMES.items()
            for name in (key, label, *PROGRAMME_NAMES[key])}


def _as_text(value: object) -> str:
    """A name as written: NFKC, stripped, inner whitespace collapsed; ``""`` for blank/NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", str(value))).strip()


def programme_key(name: object) -> str | None:
    """Key of an accepted programme name, else ``None``.

    Parameters
    ----------
    name : object
        A programme name as written (any case, spacing, full-width form).

    Returns
    -------
    str or None
        The programme key, or ``None`` for a custom or blank name.

    Examples
    --------
    >>> programme_key("MENTAL_HEALTH_CENTRE"), programme_key("社區 心衛中心"), programme_key("少年服務方案")
    ('mental_health_centre', 'mental_health_centre', None)
    """
    return _lookup().get(name_key(_as_text(name)))


def _max_edits(key: str) -> int:
    """Edits within which a custom name counts as a near miss: 1 in Chinese, 2 in a longer Latin name."""
    return 1 if _CJK.search(key) or len(key) < 8 else 2


def _suggestions(name: str, limit: int = 3) -> list[str]:
    """Accepted names closest to ``name``, at most one per programme, best first."""
    from rapidfuzz import fuzz, process

    lookup = _lookup()
    names = {name_key(n): n for key, label in PROGRAMMES.items() for n in (key, label, *PROGRAMME_NAMES[key])}
    found = process.extract(name_key(name), list(names), scorer=fuzz.WRatio, limit=20, score_cutoff=40)
    out, seen = [], set()
    for key_text, _score, _i in found:
        if lookup[key_text] not in seen:
            seen.add(lookup[key_text])
            out.append(names[key_text])
    return out[:limit]


def near_programme(name: object) -> str | None:
    """The accepted name a custom ``name`` is a near miss of (a few edits, or a truncation), else ``None``.

    Parameters
    ----------
    name : object
        A name that is not an accepted programme name.

    Returns
    -------
    str or None
        The accepted name it is closest to, or ``None`` when it is an accepted name, blank, or far
        from every accepted name.

    Examples
    --------
    >>> near_programme("小衛"), near_programme("社福中"), near_programme("少年服務方案")
    ('小衛星', '社福中心', None)
    """
    from rapidfuzz.distance import Levenshtein

    text = _as_text(name)
    key = name_key(text)
    if not key or key in _lookup():
        return None
    limit = _max_edits(key)
    best: tuple[int, str] | None = None
    for programme, label in PROGRAMMES.items():
        for accepted in (programme, label, *PROGRAMME_NAMES[programme]):
            other = name_key(accepted)
            d = Levenshtein.distance(key, other, score_cutoff=limit)
            if d > limit and not (len(key) >= 2 and key in other):
                continue
            if best is None or d < best[0]:
                best = (d, accepted)
    return best[1] if best else None


def resolve_programme(name: str, *, custom: Collection[str] = ()) -> str:
    """Key of a programme named in any accepted way; ``custom`` names are accepted as written.

    Parameters
    ----------
    name : str
        A programme name (``小衛星``, ``Welfare Centre``, ``mental_health_centre`` …).
    custom : collection of str, optional
        Custom programme names that exist (e.g. the custom categories of a registry); a name
        equal to one of them (compared by :func:`coverage.names.name_key`) is returned as it is
        written there.

    Returns
    -------
    str
        The programme key, or the custom name as written in ``custom``.

    Raises
    ------
    UnknownProgrammeError
        ``name`` matches no programme; ``suggestions`` holds the closest accepted names.

    Examples
    --------
    >>> resolve_programme("Mental Health Center")
    'mental_health_centre'
    >>> resolve_programme("小衛")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    coverage.errors.UnknownProgrammeError: programme '小衛' not found; did you mean 小衛星...
    """
    found = programme_key(name)
    if found is not None:
        return found
    text = _as_text(name)
    for c in custom:
        if name_key(c) == name_key(text) and text:
            return c
    near = near_programme(text)
    by_programme: dict[str, str] = {}
    for n in ([near] if near else []) + _suggestions(text):
        by_programme.setdefault(_lookup()[name_key(n)], n)
    sugg = list(by_programme.values())[:3]
    hint = f"; did you mean {'、'.join(sugg)} ({_key_list(sugg)})?" if sugg else ""
    known = "、".join(PROGRAMMES) + (f"; custom: {'、'.join(custom)}" if custom else "")
    raise UnknownProgrammeError(f"programme '{text}' not found{hint} (programmes: {known})", text, sugg)


def _key_list(names: Sequence[str]) -> str:
    return "、".join(dict.fromkeys(_lookup()[name_key(n)] for n in names))


def display_name(name: object) -> str:
    """The zh-TW label of a programme key, or a custom name as it is.

    Parameters
    ----------
    name : object
        A programme key or a custom programme name.

    Returns
    -------
    str
        The official zh-TW label (:data:`coverage.vocabulary.PROGRAMME_LABELS`), or ``str(name)``.

    Examples
    --------
    >>> display_name("welfare_centre"), display_name("少年服務方案")
    ('社會福利服務中心', '少年服務方案')
    """
    return PROGRAMMES.get(str(name), str(name))


def _classify_one(value: object) -> tuple[str, str | None]:
    text = _as_text(value)
    if not text:
        return "", (f"category is blank; expected one of {'、'.join(PROGRAMMES.values())} "
                    "or another service type")
    found = programme_key(text)
    if found is not None:
        return found, None
    near = near_programme(text)
    if near is not None:
        key = _lookup()[name_key(near)]
        return text, (f"category '{text}' is not a programme name; did you mean {near} ({key})? A custom "
                      "programme needs a name not this close to one of the four programmes")
    return text, None


def classify(values: Iterable[object]) -> tuple[np.ndarray, np.ndarray]:
    """Programme of each registry ``category`` cell, and why a cell is rejected.

    Parameters
    ----------
    values : iterable
        The ``category`` cells of a registry, in row order.

    Returns
    -------
    categories : ndarray of str
        The programme key of an accepted name, else the name as written (a custom programme).
    problems : ndarray of object
        ``None``, or the rejection reason: blank, or a near miss of an accepted name
        (with a did-you-mean).

    Examples
    --------
    >>> cats, problems = classify(["社福中心", "少年服務方案", "小衛", ""])
    >>> cats.tolist()
    ['welfare_centre', '少年服務方案', '小衛', '']
    >>> [p is None for p in problems]
    [True, True, False, False]
    """
    cache: dict[object, tuple[str, str | None]] = {}
    pairs = [cache[v] if v in cache else cache.setdefault(v, _classify_one(v)) for v in values]
    cats = np.array([c for c, _ in pairs], dtype=object)
    problems = np.empty(len(pairs), dtype=object)
    problems[:] = [p for _, p in pairs]
    return cats, problems


def custom_programmes(categories: Iterable[object]) -> list[str]:
    """The custom programme names among ``categories`` (not one of the four), sorted, once each.

    Parameters
    ----------
    categories : iterable
        Category keys or names (e.g. the ``category`` column of accepted facilities).

    Returns
    -------
    list of str
        The names that are not one of the four programme keys; blanks and non-strings left out.

    Examples
    --------
    >>> custom_programmes(["welfare_centre", "少年服務方案", "少年服務方案", ""])
    ['少年服務方案']
    """
    return sorted({str(c) for c in categories if isinstance(c, str) and c and c not in PROGRAMMES})
