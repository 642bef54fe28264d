"""Registry dates and service status, and whether a point is open on a date.

Dates (:func:`parse_date`): ISO, a year alone, ROC (民國) forms, Excel dates and serial numbers.

What planners mean, and what every figure uses (:func:`service_state`):

* The opening date (開辦日期) is the first day of service and the closing date (結束日期) the
  last: a point with ``opened <= as_of <= closed`` is open on ``as_of``; one closed 109/12/31
  counts on 2020-12-31 and in 109's year-end figures, not on 2021-01-01. A missing opening
  date means open since ever, a missing closing date open until now.
* A status (營運狀態) of 停辦, 已結束, 暫停服務, 規劃中, 籌備中 … (:data:`STATUS_WORDS`) means
  *not open*, whatever the dates say. The status describes the registry's present ("today"),
  so dates that agree with it keep the history: 停辦 with a closing date in the past is open
  up to that date; 規劃中 with an opening date in the future opens on that date. Dates that
  contradict it are not trusted: the point is not open on any date (closed, or planned).
* A status that contradicts the dates (規劃中 with an opening date in the past, 營運中 with a
  future opening or a past closing, 停辦 with a future closing) is a mismatch
  (:func:`status_conflicts`) that :func:`coverage.read_facilities` lists with both values.
  Contradictory 營運中 rows follow their dates.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "STATUS_WORDS",
    "parse_date",
    "service_state",
    "status_conflicts",
    "status_kind",
]

_ROC_PREFIX = re.compile(r"^(?:中華)?民國")
_TIME = re.compile(r"(?:[T ]+|[T ]*[上下]午\s*)(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?(?:\s*[AP]M)?$", re.I)
_YMD = re.compile(r"^(\d{2,4})[-/.](\d{1,2})(?:[-/.](\d{1,2}))?$")
_CJK = re.compile(r"^(\d{2,4})年(?:(\d{1,2})月(?:(\d{1,2})日)?)?$")
_DATE_FORMS = "2023-07-01, 2023/7/1, 2023, 112/07/01, 1120701, 民國112年7月"


def _make_date(year: int, month: int, day: int, roc: bool, text: str) -> pd.Timestamp:
    year = year + 1911 if roc else year
    if not 1900 <= year <= 2100:
        raise ValueError(f"'{text}' gives the year {year}; expected a date such as {_DATE_FORMS}")
    try:
        return pd.Timestamp(dt.date(year, month, day))
    except ValueError as exc:
        raise ValueError(f"'{text}' is not a valid date ({exc})") from None


def parse_date(value: Any) -> pd.Timestamp | None:
    """A registry date: ISO, a year alone, ROC (民國) forms, Excel dates and serial numbers.

    Years of 2–3 digits are ROC years (112 → 2023). Digit strings: 8 = ``YYYYMMDD``,
    7 = ``yyyMMdd`` (ROC), 6 = ``YYYYMM`` or ``yyMMdd`` (ROC), 5 = ``yyyMM`` (ROC) or an
    Excel serial day number (45108 → 2023-07-01), 4 = a year, 2–3 = an ROC year.

    Parameters
    ----------
    value : object
        A registry cell: text, int, float, date, datetime or Timestamp; blank/NaN/None is no date.

    Returns
    -------
    Timestamp, or ``None`` for a blank value.

    Raises
    ------
    ValueError
        The value is not a date; the message says what was expected.

    Examples
    --------
    >>> [str(parse_date(v).date()) for v in ("2023/7/1", "民國112年7月", "1120701", "11207", 2023)]
    ['2023-07-01', '2023-07-01', '2023-07-01', '2023-07-01', '2023-01-01']
    """
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, (dt.date, pd.Timestamp)):
        return pd.Timestamp(value)
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if math.isnan(value):
            return None
        if not math.isfinite(value) or not float(value).is_integer():
            raise ValueError(f"{value!r} is not a date; expected a date such as {_DATE_FORMS}")
        value = str(int(value))
    original = str(value)
    text = _TIME.sub("", unicodedata.normalize("NFKC", original).strip())
    text = re.sub(r"\s+", "", text)
    if not text:
        return None
    roc = bool(_ROC_PREFIX.match(text))
    text = _ROC_PREFIX.sub("", text)
    m = _YMD.match(text) or _CJK.match(text)
    if m:
        y, mo, d = m.groups()
        return _make_date(int(y), int(mo or 1), int(d or 1), roc or len(y) < 4, original)
    if text.isdigit():
        n, num = len(text), int(text)
        if n == 8:
            return _make_date(num // 10000, num // 100 % 100, num % 100, roc, original)
        if n == 7:
            return _make_date(num // 10000, num // 100 % 100, num % 100, True, original)
        if n == 6:
            if 1900 <= num // 100 <= 2100 and 1 <= num % 100 <= 12 and not roc:
                return _make_date(num // 100, num % 100, 1, False, original)
            return _make_date(num // 10000, num // 100 % 100, num % 100, True, original)
        if n == 5:
            if 1 <= num % 100 <= 12 and num // 100 <= 189:
                return _make_date(num // 100, num % 100, 1, True, original)
            if 20_000 <= num <= 73_000 and not roc:
                return pd.Timestamp("1899-12-30") + pd.Timedelta(days=num)
        if n == 4:
            return _make_date(num, 1, 1, roc, original)
        if n in (2, 3):
            return _make_date(num, 1, 1, True, original)
    raise ValueError(f"'{original}' is not a date; expected a date such as {_DATE_FORMS}")


# ----------------------------------------------------------------------------- status

#: Words of a status (營運狀態) cell, by what they mean; matched in this order after NFKC and
#: lower-casing, Chinese words anywhere in the cell (已停辦, 停辦中), English ones as whole words.
STATUS_WORDS: dict[str, tuple[str, ...]] = {
    "closed": ("停辦", "結束", "關閉", "裁撤", "撤除", "撤銷", "廢止", "終止", "歇業", "停業", "停止",
               "closed", "terminated", "discontinued", "ceased", "ended", "shut", "inactive", "not open",
               "non-operational"),
    "suspended": ("暫停", "暫緩", "suspended", "paused", "on hold"),
    "planned": ("規劃", "籌備", "籌設", "預計", "興建", "建置中", "尚未", "未開辦", "未營運",
                "planned", "planning", "preparation", "preparing", "under construction", "not yet",
                "proposed"),
    "open": ("營運", "運作", "服務中", "開辦", "開放", "正常", "執行中", "辦理中", "啟用", "open",
             "operating", "operational", "active", "in service", "running"),
}


def _word_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    """English words match whole words only ("suspended" is not "ended"); Chinese ones anywhere."""
    return re.compile("|".join(rf"(?<![a-z]){re.escape(w)}(?![a-z])" if w.isascii() else re.escape(w) for w in words))


_STATUS_PATTERNS = {kind: _word_pattern(words) for kind, words in STATUS_WORDS.items()}


def status_kind(status: object) -> str:
    """What a status cell says: ``"closed"``, ``"suspended"``, ``"planned"``, ``"open"`` or ``""``.

    Parameters
    ----------
    status : object
        A status cell (any language the module docstring lists; blank/None is ``""``).

    Returns
    -------
    str

    Examples
    --------
    >>> [status_kind(s) for s in ("已停辦", "暫停服務", "籌備中", "營運中", "Planned", "", None)]
    ['closed', 'suspended', 'planned', 'open', 'planned', '', '']
    """
    if status is None or (isinstance(status, float) and math.isnan(status)):
        return ""
    text = unicodedata.normalize("NFKC", str(status)).lower()
    for kind, pattern in _STATUS_PATTERNS.items():
        if pattern.search(text):
            return kind
    return ""


def _day(value: object) -> pd.Timestamp:
    return pd.Timestamp(dt.date.today() if value is None else value).normalize()


def _dates(values: Any, n: int) -> pd.Series:
    if values is None:
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    s = values.reset_index(drop=True) if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    return pd.to_datetime(s).astype("datetime64[ns]").dt.normalize()


def _kinds(status: Iterable[object] | None, n: int) -> np.ndarray:
    if status is None:
        return np.full(n, "", dtype=object)
    if isinstance(status, np.ndarray) and status.dtype == object and not pd.isna(status).any():
        codes, distinct = pd.factorize(status)  # a registry of a million rows has a handful of statuses
        return np.array([status_kind(s) for s in distinct], dtype=object)[codes]
    cache: dict[object, str] = {}
    return np.array([cache[s] if s in cache else cache.setdefault(s, status_kind(s)) for s in status],
                    dtype=object)


def _contradicted(kind: np.ndarray, opened: pd.Series, closed: pd.Series, today: pd.Timestamp) -> np.ndarray:
    """Per row, whether the status contradicts the dates (see the module docstring)."""
    o, c = opened.to_numpy(), closed.to_numpy()
    o_set, c_set = ~np.isnat(o), ~np.isnat(c)
    t = np.datetime64(today, "ns")
    past_open, future_open = o_set & (o <= t), o_set & (o > t)
    past_close, future_close = c_set & (c < t), c_set & (c >= t)
    return (((kind == "planned") & past_open)
            | ((kind == "open") & (future_open | past_close))
            | (np.isin(kind, ["closed", "suspended"]) & future_close))


def status_conflicts(
    status: Iterable[object], opened: Iterable[Any], closed: Iterable[Any], *, today: object = None,
) -> np.ndarray:
    """Per row, ``None`` or why the status contradicts the dates (both values named).

    Parameters
    ----------
    status, opened, closed : sequences of equal length
        Status cells, and opening/closing dates (Timestamps or NaT/None).
    today : date-like, optional
        The date the status describes (default today).

    Returns
    -------
    ndarray of object
        ``None`` or the reason, per row.

    Examples
    --------
    >>> import pandas as pd
    >>> status_conflicts(["規劃中", "營運中", "停辦"], [pd.Timestamp("2019-03-01"), None, None],
    ...                  [None, pd.Timestamp("2020-12-31"), None], today="2024-01-01").tolist()
    ["status '規劃中' but opened 2019-03-01 is past", "status '營運中' but closed 2020-12-31 is past", None]
    """
    status = list(status)
    n = len(status)
    when = _day(today)
    o, c = _dates(opened, n), _dates(closed, n)
    kind = _kinds(status, n)
    bad = _contradicted(kind, o, c, when)
    out = np.full(n, None, dtype=object)
    for i in np.flatnonzero(bad):
        oi, ci = o.iat[i], c.iat[i]
        if kind[i] == "planned":
            why = f"opened {oi.date()} is past"
        elif kind[i] == "open":
            future = pd.notna(oi) and oi > when
            why = f"opened {oi.date()} is in the future" if future else f"closed {ci.date()} is past"
        else:
            why = f"closed {ci.date()} is in the future"
        out[i] = f"status '{status[i]}' but {why}"
    return out


def service_state(
    opened: Iterable[Any] | None, closed: Iterable[Any] | None, status: Iterable[object] | None,
    as_of: object = None, *, today: object = None,
) -> np.ndarray:
    """``"open"``, ``"planned"`` or ``"closed"`` for each point on ``as_of`` (default today).

    The rules are the module docstring's: the closing date is the last day of service; a status
    that says not open wins over dates that contradict it.

    Parameters
    ----------
    opened, closed : iterables of date-like, or None
        Opening and closing dates (None: none known for any point).
    status : iterable of str, or None
        Status cells (None: no status column).
    as_of : date-like, optional
        The day the state is asked for (default today).
    today : date-like, optional
        The day the status describes (default today).

    Returns
    -------
    ndarray of str

    Examples
    --------
    >>> import pandas as pd
    >>> closed = [pd.Timestamp("2020-12-31")] * 2
    >>> service_state(None, closed, ["", ""], "2020-12-31").tolist(), service_state(None, closed, None, "2021-01-01")[0]
    (['open', 'open'], 'closed')
    >>> service_state([pd.Timestamp("2019-01-01")], None, ["規劃中"], "2024-01-01", today="2024-01-01").tolist()
    ['planned']
    """
    cols = [c for c in (opened, closed, status) if c is not None]
    n = len(list(cols[0])) if cols else 0
    when, now = _day(as_of), _day(today)
    o, c = _dates(opened, n), _dates(closed, n)
    kind = _kinds(status, n)
    t = np.datetime64(when, "ns")
    on, cn = o.to_numpy(), c.to_numpy()
    state = np.where(~np.isnat(cn) & (cn < t), "closed", np.where(~np.isnat(on) & (on > t), "planned", "open"))
    distrusted = _contradicted(kind, o, c, now)
    not_open = np.isin(kind, ["closed", "suspended"])
    nc = np.isnat(cn)
    state = np.where(not_open & (nc | distrusted), "closed", state)
    state = np.where((kind == "planned") & (np.isnat(on) | distrusted), "planned", state)
    return state.astype(object)
