"""Checking the ``safetynet`` command line's option values, and its exit codes. A leaf of the CLI.

Exit codes (README): 0 success; 1 an input error (a file that cannot be used: one line naming
it); 2 a usage error (an option value that means nothing: unknown county, programme or age
group, a bad date or year, a bad choice), with the closest valid values as suggestions.

The library raises :class:`~coverage.errors.InputError` for both kinds and names its
parameters. The commands resolve every option value here first, where an error can be told
apart as a usage error: :class:`OptionError`. :func:`fail` is the one place that maps an
exception to a message and an exit code. No pandas at import time (``import coverage.cli``
stays fast).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import typer

from .errors import InputError
from .names import name_key

__all__ = [
    "OptionError",
    "check_choice",
    "check_definition",
    "check_positive",
    "check_removals",
    "check_xy_datum",
    "fail",
    "option",
    "parse_as_of",
    "parse_year_option",
    "resolve_additions",
    "resolve_age_group_option",
    "resolve_category_options",
    "resolve_county_options",
]

USAGE_EXIT = 2
INPUT_EXIT = 1


class OptionError(InputError):
    """An option's value cannot be used: a usage error (exit code 2).

    ``option`` is the flag (``--county``), ``suggestions`` the closest valid values, best first.
    """

    def __init__(self, option: str, message: str, suggestions: Iterable[str] = ()) -> None:
        self.option = option
        self.suggestions = list(dict.fromkeys(s for s in suggestions if s))
        # one line whatever was typed: a newline or tab inside a quoted value is shown escaped
        message = re.sub(r"[\r\n\t\v\f]", lambda m: repr(m.group())[1:-1], message)
        hint = ""
        if self.suggestions and "did you mean" not in message:
            hint = f"; did you mean {'、'.join(self.suggestions)}?"
        super().__init__(f"{option}: {message}{hint}")


def fail(exc: BaseException) -> typer.Exit:
    """Print ``error: …`` on one line to stderr; the exit (2 usage, 1 input) for ``raise … from exc``."""
    text = " / ".join(part.strip() for part in str(exc).splitlines() if part.strip()) or type(exc).__name__
    typer.echo(f"error: {text}", err=True)
    return typer.Exit(code=USAGE_EXIT if isinstance(exc, OptionError) else INPUT_EXIT)


@contextmanager
def option(name: str) -> Iterator[None]:
    """Turn an InputError (or ValueError) raised while resolving the value of ``name`` into an OptionError."""
    try:
        yield
    except OptionError:
        raise
    except (InputError, ValueError) as exc:
        message = re.sub(rf"^{re.escape(name)}\s*:?\s*", "", str(exc))
        raise OptionError(name, message, getattr(exc, "suggestions", ())) from exc


def _closest(value: str, choices: Iterable[str], n: int = 3, cutoff: float = 0.5) -> list[str]:
    choices = list(choices)
    folded = {name_key(c): c for c in choices}
    hits = difflib.get_close_matches(name_key(value), list(folded), n=n, cutoff=cutoff)
    return [folded[h] for h in hits]


def check_choice(name: str, value: str, choices: Sequence[str], normalise: Callable[[str], str] | None = None) -> str:
    """``value`` if it is one of ``choices`` (after ``normalise``), else an :class:`OptionError` with suggestions."""
    key = normalise(value) if normalise else value
    if key in choices:
        return key
    sugg = _closest(value, choices) or _closest(value.replace("_", "-"), choices)
    raise OptionError(name, f"{value!r} is not one of {', '.join(choices)}", sugg)


def check_definition(value: str) -> str:
    """The coverage definition (``--definition``): presence or service-area."""
    from .measure import DEFINITIONS

    return check_choice("--definition", value, DEFINITIONS, lambda v: v.strip().lower().replace("_", "-"))


def check_xy_datum(value: str) -> str:
    """The datum of metre coordinates (``--xy-datum``): TWD97 or TWD67."""
    key = value.strip().upper().replace(" ", "")
    key = {"97": "TWD97", "67": "TWD67", "EPSG:3826": "TWD97", "EPSG:3828": "TWD67"}.get(key, key)
    if key not in ("TWD97", "TWD67"):
        raise OptionError("--xy-datum", f"{value!r} is not TWD97 or TWD67", _closest(value, ("TWD97", "TWD67")))
    return value


def check_positive(name: str, value: float | None, *, allow_zero: bool = False) -> None:
    """A distance, count or time limit must be a positive finite number."""
    import math

    if value is None:
        return
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise OptionError(name, f"must be a positive number, got {value:g}")


def parse_as_of(value: str | None) -> Any:
    """``--as-of`` (ISO or ROC date) as a Timestamp, or None for today."""
    if value is None:
        return None
    from .facilities import parse_date

    hint = "expected a date such as 2023-07-01, 2023/7/1 or ROC 112/07/01"
    with option("--as-of"):
        when = parse_date(value)
    if when is None:
        raise OptionError("--as-of", f"{value!r} is not a date; {hint}")
    return when


def parse_year_option(name: str, value: str) -> int:
    """``--from``/``--to``: a western (2019) or ROC (108) year."""
    from .plan import parse_year

    with option(name):
        return parse_year(value)


def resolve_county_options(names: Sequence[str] | None, townships: Any) -> list[str] | None:
    """Official names for ``--county`` values (``台中`` → ``臺中市``); None means all counties."""
    if not names:
        return None
    from .names import resolve_county

    out = []
    for n in names:
        try:
            out.append(resolve_county(n, townships=townships))
        except InputError as exc:
            counties = list(dict.fromkeys(townships["county"]))
            sugg = list(getattr(exc, "suggestions", ())) or _closest(n, counties, cutoff=0.3)
            known = "" if sugg else f" (counties: {'、'.join(counties)})"
            raise OptionError("--county", f"no county or city named {n!r}{known}", sugg) from exc
    return list(dict.fromkeys(out))


def resolve_age_group_option(name: str) -> str:
    """Key of the age group for ``--age-group`` (``兒少`` → ``children``)."""
    from .population import AGE_GROUPS, resolve_age_group

    try:
        return resolve_age_group(name)
    except InputError as exc:
        choices = ", ".join(f"{k} ({v[2]})" for k, v in AGE_GROUPS.items())
        raise OptionError("--age-group", f"unknown age group {name!r}; choose one of {choices}",
                          _closest(name, AGE_GROUPS)) from exc


# ----------------------------------------------------------------------------- programmes


def resolve_category_options(
    names: Sequence[str] | None, present: Collection[str], *, name: str = "--category"
) -> list[str] | None:
    """Category keys for ``--category`` values; None means every programme.

    A name is one of the four programmes in any of its common spellings, or a custom
    programme that the registry has (``少年服務方案``). Anything else is an
    :class:`OptionError` naming the closest programmes (``小衛`` → 小衛星): counting a
    programme that no row has would report 0 % coverage everywhere.
    """
    if not names:
        return None
    return list(dict.fromkeys(_resolve_category(n, present, name) for n in names))


def _resolve_category(text: str, present: Collection[str], name: str) -> str:
    from .programmes import PROGRAMMES, resolve_programme

    if not str(text).strip():
        raise OptionError(name, "empty programme name")
    customs = sorted({c for c in present if isinstance(c, str) and c and c not in PROGRAMMES})
    try:
        return resolve_programme(text, custom=customs)
    except InputError as exc:
        near_custom = _closest(text, customs)
        if not near_custom:
            raise OptionError(name, str(exc), getattr(exc, "suggestions", ())) from exc
        # a near miss of a custom programme the registry has: that is the likeliest meaning
        known = "、".join(PROGRAMMES)
        raise OptionError(name, f"programme '{str(text).strip()}' not found (programmes: {known}; custom: "
                                f"{'、'.join(customs)})", near_custom) from exc


def resolve_additions(adds: Sequence[str], townships: Any, present: Collection[str], *, name: str = "--add"
                      ) -> list[str]:
    """``--add 縣市鄉鎮市區:programme`` values with their township and programme checked; programme keys filled in."""
    from .names import resolve_township

    out = []
    for text in adds:
        place, sep, category = str(text).rpartition(":")
        if not sep or not place.strip() or not category.strip():
            raise OptionError(name, f"{text!r}: expected 縣市鄉鎮市區:programme, e.g. 嘉義縣阿里山鄉:小衛星")
        with option(name):
            resolve_township(place, townships=townships)
        key = _resolve_category(category, present, name)
        out.append(f"{place}:{key}")
    return out


def check_removals(removes: Sequence[str], facility_names: Iterable[str], *, name: str = "--remove") -> None:
    """Every ``--remove`` name must name a facility of the registry."""
    from .names import normalise_name

    names = {normalise_name(n): n for n in facility_names if isinstance(n, str)}
    for text in removes:
        if normalise_name(text) not in names:
            raise OptionError(name, f"no facility is named {text!r}", _closest(text, names.values()))

