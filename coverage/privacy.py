"""Privacy of what is written out: small caseloads suppressed, personal columns withheld.

Two rules protect the people a service point serves and the staff who run it:

* **Small counts.** A caseload (the registry's optional ``cases`` column: 個案數, 服務人數, 案量)
  between 1 and ``threshold − 1`` is written as ``"<threshold"`` (default ``"<3"``) in every
  output table — CSV, XLSX, JSON and map tooltips — so a township with one or two cases cannot
  be read off a report. Zero and unknown are written as they are. Caseloads are published only
  per township × programme, never as county totals beside suppressed townships (a total minus the
  shown townships would give the suppressed one back). Population counts of whole villages and
  townships are public MOI statistics and are not suppressed.
* **Personal columns.** A registry column naming or reaching a person — 聯絡人, 負責人, 承辦人,
  社工, 個案姓名, 電話, email, contact … (see :func:`is_personal_column`) — is dropped when the
  registry is read, unless the user marks it public (``--public-column 聯絡人``). Public columns are
  shown in the map popups of their service points.

Example
-------
>>> import pandas as pd
>>> table = pd.DataFrame({"township": ["A鄉", "B鄉", "C鄉", "D鄉"], "cases": [0, 2, 3, None]})
>>> suppress_counts(table)["cases"].tolist()
[0, '<3', 3, None]
>>> is_personal_column("聯絡人"), is_personal_column("承辦社工"), is_personal_column("備註")
(True, True, False)
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from .errors import InputError
from .names import header_key

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "CASELOAD_COLUMNS",
    "DEFAULT_THRESHOLD",
    "PERSONAL_WORDS",
    "check_threshold",
    "column_key",
    "is_personal_column",
    "personal_columns",
    "suppress_counts",
    "suppress_value",
]

#: Smallest caseload written as it is; 1 and 2 become ``"<3"``.
DEFAULT_THRESHOLD = 3
#: Columns holding counts of people served (suppressed by :func:`suppress_counts`).
CASELOAD_COLUMNS = ("cases",)
#: Header fragments of columns about a person (matched after :func:`column_key`).
PERSONAL_WORDS = (
    "聯絡人", "連絡人", "負責人", "承辦人", "督導", "社工", "姓名", "個案", "案主", "個管",
    "電話", "手機", "傳真", "信箱", "郵件", "身分證", "身份證", "生日", "出生",
    "contact", "person", "phone", "mobile", "email", "mail", "fax", "caseworker", "socialworker",
    "manager", "staff", "birth", "idno", "firstname", "lastname", "surname", "fullname",
)
_WORD_ONLY = re.compile(r"(?:src)?(?:tel|cell)\d*")  # personal only as the whole header


def column_key(header: object) -> str:
    """A header as compared here: NFKC, lower case, no spaces or ``_ - . : /``, 台 → 臺.

    :func:`coverage.names.header_key` that also drops lone brackets.

    Parameters
    ----------
    header : object
        A column header.

    Returns
    -------
    str

    Examples
    --------
    >>> column_key("聯絡人(姓名)"), column_key("Contact_Phone")
    ('聯絡人', 'contactphone')
    """
    return header_key(header, lone_brackets=True)


def is_personal_column(header: object) -> bool:
    """Whether a registry column (not a canonical one) holds data about a person.

    ``name`` alone is the facility's name (a canonical column) and is never personal; ``name of
    person``, ``contact_person``, ``聯絡人電話`` are.

    Parameters
    ----------
    header : object
        A column header of a registry.

    Returns
    -------
    bool
    """
    key = column_key(header)
    return bool(key) and (any(word in key for word in PERSONAL_WORDS) or bool(_WORD_ONLY.fullmatch(key)))


def personal_columns(columns: Iterable[object], public: Sequence[str] = ()) -> list[str]:
    """The columns of ``columns`` that are personal and not marked public (in their order).

    Parameters
    ----------
    columns : iterable
        Column headers of a registry.
    public : sequence of str
        Headers the user marked public (compared by :func:`column_key`, also with a ``src_`` prefix).

    Returns
    -------
    list of str
        The personal columns to drop.
    """
    marked = {column_key(p) for p in public}
    return [str(c) for c in columns if is_personal_column(c) and column_key(c) not in marked
            and column_key(str(c).removeprefix("src_")) not in marked]


def check_threshold(threshold: object) -> int:
    """``threshold`` as an int ≥ 0 (0 and 1 switch suppression off), else :class:`InputError`.

    Parameters
    ----------
    threshold : object
        The ``suppress_below`` a user gave (int or text).

    Returns
    -------
    int

    Raises
    ------
    InputError
        Not a whole number ≥ 0; the message names ``suppress_below=``.
    """
    try:
        value = int(str(threshold))
    except ValueError:
        value = -1
    if value < 0:
        raise InputError(f"suppress_below= must be a whole number ≥ 0 (0 or 1: no suppression), got {threshold!r}")
    return value


def suppress_value(value: object, threshold: int = DEFAULT_THRESHOLD) -> object:
    """One count for output: ``"<threshold"`` when 1 ≤ value < threshold, an int otherwise, None if unknown.

    Parameters
    ----------
    value : object
        A count (int, float, None or NaN).
    threshold : int
        Counts from 1 to ``threshold − 1`` are suppressed; 0 or 1 suppress nothing.

    Returns
    -------
    object
        ``"<threshold"``, an int, or ``None`` for an unknown count.

    Examples
    --------
    >>> [suppress_value(v) for v in (0, 1, 2.0, 3, None, float("nan"))]
    [0, '<3', '<3', 3, None, None]
    """
    if value is None or isinstance(value, str):
        return value
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return value
    if math.isnan(number):
        return None
    if 0 < number < threshold:
        return f"<{threshold}"
    return int(number) if number.is_integer() else number


def suppress_counts(
    frame: pd.DataFrame,
    columns: Sequence[str] = CASELOAD_COLUMNS,
    threshold: int = DEFAULT_THRESHOLD,
) -> pd.DataFrame:
    """Copy of ``frame`` ready to write: each of ``columns`` present passed through :func:`suppress_value`.

    Parameters
    ----------
    frame : DataFrame
    columns : column names
        Counts of people (default :data:`CASELOAD_COLUMNS`); absent ones are ignored.
    threshold : int
        Counts from 1 to ``threshold − 1`` become ``"<threshold"``; 0 or 1 suppress nothing.

    Returns
    -------
    DataFrame
        The same rows and columns; suppressed columns have object dtype (ints, strings, None).
    """
    import pandas as pd

    threshold = check_threshold(threshold)
    present = [c for c in columns if c in frame.columns]
    if not present:
        return frame
    out = frame.copy()
    for col in present:
        values = [suppress_value(v, threshold) for v in out[col].tolist()]
        out[col] = pd.Series(values, index=out.index, dtype=object)
    return out
