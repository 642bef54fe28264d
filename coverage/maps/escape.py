"""Text that goes into a map page: HTML-escaped values and JSON safe inside a ``<script>`` element.

A leaf module (it imports nothing from the package): every other module of :mod:`coverage.maps`
escapes through it.
"""

from __future__ import annotations

import html
import json
from typing import Any

__all__ = ["esc", "to_script_json"]


def esc(value: object) -> str:
    """HTML-escaped text of a value; missing values (None, NaN, NaT, "") give ``""``.

    Parameters
    ----------
    value : object
        A cell or any other value; it is converted with :class:`str` (lists and tuples too,
        never tested for missing values element-wise).

    Returns
    -------
    str
        ``str(value)`` with ``&``, ``<``, ``>``, ``"`` and ``'`` escaped, or ``""`` for a missing value.

    Examples
    --------
    >>> esc("<b>A&B</b>"), esc(None), esc(float("nan"))
    ('&lt;b&gt;A&amp;B&lt;/b&gt;', '', '')
    """
    import pandas as pd

    if value is None or (not isinstance(value, (str, list, tuple)) and pd.isna(value)):
        return ""
    return html.escape(str(value), quote=True)


def to_script_json(obj: Any) -> str:
    """JSON safe to place inside a ``<script>`` element (also ``type="application/json"``).

    In a script element the HTML parser only reacts to ``<`` followed by ``/`` (an end tag such
    as ``</script>``) or ``!`` (``<!--``, which starts the escaped states where ``<script`` nests),
    so exactly those are escaped: ``</`` as ``<\\/`` (JSON's escaped solidus) and ``<!`` as
    ``\\u003c!``. The markup of the pre-built tooltips and popups therefore costs one byte per
    end tag instead of five per angle bracket (``\\u003c``), which had made facility popups twice
    their size. U+2028/2029 are escaped for older JavaScript engines.

    ``{{``, ``{%`` and ``{#`` (only ever inside strings) are broken up too: folium/branca render a
    page's script text once more as a Jinja template, where ``{{ … }}`` from a registry cell would
    be evaluated (template injection).

    The result is valid JSON (``JSON.parse`` and :func:`json.loads` read it back unchanged).

    Parameters
    ----------
    obj : object
        JSON-able data (dict, list, str, numbers, bool, None); written compactly, non-ASCII text
        kept as is. NaN and infinity are refused (:func:`json.dumps` with ``allow_nan=False``
        raises ValueError).

    Returns
    -------
    str
        The JSON text with ``</``, ``<!``, U+2028, U+2029, ``{{``, ``{%`` and ``{#`` escaped.

    Examples
    --------
    >>> to_script_json({"a": "</script>{{x}}"})
    '{"a":"<\\\\/script>{\\\\u007bx}}"}'
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, code in (("</", "<\\/"), ("<!", "\\u003c!"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"),
                       ("{{", "{\\u007b"), ("{%", "{\\u0025"), ("{#", "{\\u0023")):
        text = text.replace(char, code)
    return text
