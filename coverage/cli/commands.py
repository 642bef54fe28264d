"""The ``safetynet`` commands as a static table: name, module, function, the line ``--help`` lists. A leaf.

``safetynet --help`` lists the commands from this table alone, and a command's module is imported
only when that command runs or shows its own help (issue 16: ``--help`` ≤ 0.2 s). The table is
checked against the real commands (names, order, help lines: ``tests/test_cli_startup.py``), so it
cannot drift from the modules: a command added to a module and not here fails that test.

Nothing is imported here but :mod:`importlib`, and only when a command is asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import NamedTuple

__all__ = ["COMMAND_TABLE", "QUIET_HELP", "ROOT_HELP", "VERBOSE_HELP", "Command", "command", "commands"]

#: ``safetynet --help``'s description (one paragraph).
ROOT_HELP = "強化社會安全網 服務據點涵蓋率 — township coverage of Taiwan's social safety net service points."
#: The help of the options every command takes (``safetynet -v report …``).
VERBOSE_HELP = "More log output (-vv for debug)."
QUIET_HELP = "Only errors."


class Command(NamedTuple):
    """One command: its name, the module of ``coverage.cli`` and the function there, the help line listed."""

    name: str
    module: str
    function: str
    help_line: str


#: Every command, in the order ``safetynet --help`` lists them. ``help_line`` is the first paragraph
#: of the function's docstring, as the command list shows it.
COMMAND_TABLE: tuple[Command, ...] = (
    Command("report", "report", "report",
            "Coverage per county × programme; writes coverage.csv, townships.csv, rejected.csv, summary.json."),
    Command("validate", "data", "validate",
            "Read a registry and show what was accepted, rejected and mismatched. Writes nothing."),
    Command("map", "report", "map_",
            "Interactive HTML maps: one per county (嘉義縣.html), taiwan.html when no --county, and index.html."),
    Command("locate", "data", "locate",
            "Township (or village) code of every point, for address- or grid-level point sets."),
    Command("nearest", "data", "nearest",
            "Distance from every point to the nearest open facility of each programme (km, straight line)."),
    Command("diff", "data", "diff",
            "Compare two registries: points opened, closed, moved, renamed; coverage before → after."),
    Command("trend", "plan", "trend",
            "Township coverage at each year end (from opening/closing dates): trend.csv and trend.png."),
    Command("targets", "plan", "targets",
            "Current value vs targets: 已達標 / 未達標 and facilities still needed (targets.csv)."),
    Command("whatif", "plan", "whatif",
            "Recompute coverage with facilities added/removed and print before → after."),
    Command("site", "plan", "site",
            "Recommend where k new points should go (MCLP / set cover, solved exactly with HiGHS)."),
    Command("brief", "plan", "brief",
            "The planning-meeting brief: ‹縣市›_brief.pptx (editable) and ‹縣市›_brief.pdf (A4 landscape)."),
)


def command(name: str) -> Callable[..., None]:
    """The function of the command ``name``, its module imported now.

    Parameters
    ----------
    name : str
        A command name of :data:`COMMAND_TABLE` (``report``, ``site`` …).

    Returns
    -------
    callable
        The command's function (``coverage.cli.report.report`` for ``report``).

    Raises
    ------
    KeyError
        ``name`` is not a command.
    """
    entry = next((c for c in COMMAND_TABLE if c.name == name), None)
    if entry is None:
        raise KeyError(name)
    function: Callable[..., None] = getattr(importlib.import_module(f"{__package__}.{entry.module}"), entry.function)
    return function


def commands() -> tuple[tuple[str, Callable[..., None]], ...]:
    """(name, function) of every command, in table order; imports every command module.

    Returns
    -------
    tuple of (str, callable)
    """
    return tuple((c.name, command(c.name)) for c in COMMAND_TABLE)
