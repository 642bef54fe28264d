"""The ``safetynet`` command line: parse, call the library, print. No analysis logic here.

Exit codes: 0 success (rejected rows are reported, not fatal); 1 an input error, with a
one-line message naming the file; 2 a usage error (:mod:`coverage.cli.exits`).

Layout (imports run one way, from here down):

* ``application`` — the Typer app: the root options, and a click group that builds each command
  from ``commands`` when it is asked for; ``quickhelp`` — ``safetynet --help`` with rich alone.
* ``commands`` — the static table of the commands (name, module, function, help line). A leaf.
* ``report``, ``plan``, ``data`` — the commands, by topic; each a plain function.
* ``run`` — one coverage run from the options: checked once, passed to :func:`coverage.run_coverage`.
* ``display`` — terminal tables and lines.
* ``options`` — the option definitions, the bundles commands share (``RunOptions``), their checks.
* ``progress`` — logging and progress bars on stderr; ``exits`` — error messages and exit codes.

Every command is listed once, in :data:`coverage.cli.commands.COMMAND_TABLE` (name, module,
function, help line); ``application`` assembles the Typer app, which imports a command's module
when that command runs or shows its help. ``safetynet --help`` imports no command module and not
typer (``quickhelp``: rich alone); the library is imported by a command when it runs.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__all__ = ["COMMANDS", "app", "import_help_formatter", "main"]


def __getattr__(name: str) -> Any:
    """``app`` (the Typer application) and ``COMMANDS`` ((name, function) of every command), built on first use.

    ``import coverage.cli`` imports neither typer nor a command module, so that ``safetynet --help``
    needs neither (:func:`main`).
    """
    if name == "app":
        from .application import app

        value: Any = app
    elif name == "COMMANDS":
        from .commands import commands

        value = commands()
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


#: Modules typer's help formatter imports at its top but uses only for Markdown help text
#: (``rich_markup_mode="markdown"``, not ours) and for pretty tracebacks (disabled above): module → names.
_UNUSED_BY_HELP = {"rich.markdown": ("Markdown",), "rich.traceback": ("Traceback",)}


def _deferred(module: str, name: str) -> type:
    """A stand-in for ``module.name`` that imports the real class when it is called or asked for a traceback."""

    def real() -> Any:
        return getattr(importlib.import_module(module), name)

    class Deferred:
        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            return real()(*args, **kwargs)

        @classmethod
        def from_exception(cls, *args: Any, **kwargs: Any) -> Any:
            return real().from_exception(*args, **kwargs)

    Deferred.__name__ = Deferred.__qualname__ = name
    return Deferred


def import_help_formatter() -> None:
    """Import typer's rich help formatter without rich.markdown and rich.traceback (issue 16: ``--help`` ≤ 0.2 s).

    ``typer.rich_utils`` imports both at its top (markdown_it, pygments, attrs: about a third of the
    start-up of ``safetynet --help``) though our help never renders Markdown nor a pretty traceback.
    While it is imported, the two modules are stand-ins whose classes import the real ones when
    used; they are removed from ``sys.modules`` right after, so any later ``import rich.markdown``
    gets the real module. The help text is the same (``tests/test_package.py``). Does nothing if the
    formatter is imported already (nor for a module imported already), nor without rich.
    """
    if "typer.rich_utils" in sys.modules:
        return
    stand_ins: dict[str, types.ModuleType] = {}
    for module, names in _UNUSED_BY_HELP.items():
        if module not in sys.modules:
            stand_ins[module] = types.ModuleType(module)
            for name in names:
                setattr(stand_ins[module], name, _deferred(module, name))
    sys.modules.update(stand_ins)
    try:
        importlib.import_module("typer.rich_utils")
    except ImportError:  # typer without rich (typer-slim): typer prints plain click help
        pass
    finally:
        for module, stand_in in stand_ins.items():
            if sys.modules.get(module) is stand_in:
                del sys.modules[module]


def main() -> None:
    """Console-script entry point: never a traceback, one line and exit 1 even for a bug (``-vv`` shows it).

    ``safetynet --help`` and ``safetynet`` alone are printed without typer (:mod:`coverage.cli.quickhelp`,
    the same bytes); everything else goes to the Typer application.
    """
    from .quickhelp import quick_help

    code = quick_help(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    import_help_formatter()
    from .application import app
    from .exits import run_main

    run_main(app)
