"""The ``safetynet`` command line: parse, call the library, print. No analysis logic here.

Exit codes: 0 success (rejected rows are reported, not fatal); 1 an input error, with a
one-line message naming the file; 2 a usage error (:mod:`coverage.cli.exits`).

Layout (imports run one way, from here down):

* ``report``, ``plan``, ``data`` — the commands, by topic; each a plain function.
* ``run`` — one coverage run from the options: checked once, passed to :func:`coverage.run_coverage`.
* ``display`` — terminal tables and lines.
* ``options`` — the option definitions, the bundles commands share (``RunOptions``), their checks.
* ``progress`` — logging and progress bars on stderr; ``exits`` — error messages and exit codes.

Every command is registered here, in :data:`COMMANDS`, and nowhere else. Only typer and rich
are imported by ``safetynet --help``: the library is imported by a command when it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from . import data, plan, progress, report
from .exits import run_main

__all__ = ["COMMANDS", "app", "main"]

app = typer.Typer(
    name="safetynet",
    help="強化社會安全網 服務據點涵蓋率 — township coverage of Taiwan's social safety net service points.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: (name, command) in the order ``safetynet --help`` lists them.
COMMANDS: tuple[tuple[str, Callable[..., None]], ...] = (
    ("report", report.report),
    ("validate", data.validate),
    ("map", report.map_),
    ("locate", data.locate),
    ("nearest", data.nearest),
    ("diff", data.diff),
    ("trend", plan.trend),
    ("targets", plan.targets),
    ("whatif", plan.whatif),
    ("site", plan.site),
    ("brief", plan.brief),
)


@app.callback()
def _root(
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More log output (-vv for debug).")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors.")] = False,
) -> None:
    progress.configure(verbose, quiet)


def _register(commands: tuple[tuple[str, Callable[..., None]], ...]) -> None:
    for name, command in commands:
        app.command(name)(command)


_register(COMMANDS)


def main() -> None:
    """Console-script entry point: never a traceback, one line and exit 1 even for a bug (``-vv`` shows it)."""
    run_main(app)
