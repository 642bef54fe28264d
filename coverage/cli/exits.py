"""Errors and exit codes of the ``safetynet`` command line, in one place. A leaf of the CLI package.

Exit codes (README): 0 success; 1 an input error (a file that cannot be used: one line naming
it); 2 a usage error (an option value that means nothing: unknown county, programme or age
group, a bad date or year, a bad choice), with the closest valid values as suggestions; 1 also
for a defect (one line; ``-vv`` shows the traceback).

The library names its parameters (``population=``), never a flag; :func:`flag_names` turns
them into this command line's flags (``--population``) in every message shown, and leaves a
message that names no parameter as it is.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import typer

from ..errors import CoverageError, InputError

__all__ = [
    "INPUT_EXIT",
    "PARAMETER_FLAGS",
    "USAGE_EXIT",
    "OptionError",
    "fail",
    "failing",
    "flag_names",
    "run_main",
]

USAGE_EXIT = 2
INPUT_EXIT = 1

#: Library parameter → the flag that sets it. Parameters spelled like their flag (``age_group`` →
#: ``--age-group``) are here too, so that only names of this table are ever rewritten.
PARAMETER_FLAGS: dict[str, str] = {
    "facilities": "--facilities", "counties": "--county", "county": "--county", "categories": "--category",
    "category": "--category", "definition": "--definition", "as_of": "--as-of", "boundaries": "--boundaries",
    "population": "--population", "dem": "--dem", "age_group": "--age-group", "distance_km": "--distance-km",
    "catchment_km": "--catchment-km", "cross_sea": "--cross-sea", "across_counties": "--across-counties",
    "mountain_m": "--mountain-m", "suppress_below": "--suppress-below", "public_columns": "--public-column",
    "xy_datum": "--xy-datum", "layer": "--layer", "network": "--network", "speeds": "--speeds",
    "access_kmh": "--access-kmh", "road_class_column": "--road-class-column", "road_layer": "--road-layer",
    "targets": "--targets", "objective": "--objective", "new": "--new",
    "radius_km": "--radius-km", "candidates": "--candidates", "time_limit": "--time-limit", "engine": "--engine",
    "npartitions": "--partitions", "scheduler": "--scheduler", "level": "--level", "basemap": "--basemap",
    "offline": "--offline", "add": "--add", "remove": "--remove", "scenario": "--scenario",
    "within_min": "--within-min", "catchment_min": "--catchment-min", "radius_min": "--radius-min",
}

# ``name=`` (the parameter itself) or ``name=value``; never inside a quoted value the user typed.
_QUOTED = re.compile(r"""('[^']*'|"[^"]*")""")
_PARAMETER = re.compile(r"(?<![\w\-.=])(" + "|".join(sorted(PARAMETER_FLAGS, key=len, reverse=True)) + r")=")


def flag_names(message: str) -> str:
    """``message`` with each library parameter (``population=``) named by its flag (``--population``).

    ``name=`` alone becomes the flag; ``name=value`` becomes ``--flag value``. Text inside quotes
    (a value as typed) is left alone, and so is a message that names no parameter.

    Parameters
    ----------
    message : str
        A library error's message.

    Returns
    -------
    str

    Examples
    --------
    >>> flag_names("objective='children' needs people per village: give population=")
    "--objective 'children' needs people per village: give --population"
    >>> flag_names("嘉義縣 row 3: township 'x=' not found")
    "嘉義縣 row 3: township 'x=' not found"
    """
    quoted = [m.span() for m in _QUOTED.finditer(message)]

    def flag(match: re.Match[str]) -> str:
        if any(a <= match.start() < b for a, b in quoted):
            return match.group()
        name = PARAMETER_FLAGS[match.group(1)]
        follows = message[match.end():match.end() + 1]
        return f"{name} " if follows and not follows.isspace() and follows not in ",;:.)]" else name

    return _PARAMETER.sub(flag, message)


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
    """Print ``error: …`` on one line to stderr; the exit (2 usage, 1 input) for ``raise … from exc``.

    Parameters
    ----------
    exc : BaseException
        The error; a library error's parameter names are shown as flags (:func:`flag_names`).

    Returns
    -------
    typer.Exit
        Exit code 2 for an :class:`OptionError`, else 1.
    """
    text = " / ".join(part.strip() for part in str(exc).splitlines() if part.strip()) or type(exc).__name__
    typer.echo(f"error: {flag_names(text)}", err=True)
    return typer.Exit(code=USAGE_EXIT if isinstance(exc, OptionError) else INPUT_EXIT)


@contextmanager
def failing() -> Iterator[None]:
    """Turn a :class:`~coverage.errors.CoverageError` or ``OSError`` raised inside into one line and its exit code.

    Yields
    ------
    None
    """
    try:
        yield
    except (CoverageError, OSError) as exc:
        raise fail(exc) from exc


def run_main(app: Callable[[], object]) -> None:
    """Run ``app``: never a traceback, one line and exit 1 even for a bug (``-vv`` shows it).

    Parameters
    ----------
    app : callable
        The Typer application.
    """
    try:
        app()
    except Exception as exc:  # a defect, not the user's input; typer.Exit/SystemExit are not Exceptions here
        logging.getLogger("coverage.cli").debug("unexpected error", exc_info=True)
        typer.echo(f"error: unexpected {type(exc).__name__}: {' '.join(str(exc).split())[:300]} "
                   "(a defect in safetynet, please report it; run with -vv for the traceback)", err=True)
        sys.exit(INPUT_EXIT)
