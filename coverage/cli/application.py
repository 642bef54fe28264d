"""The Typer application of ``safetynet``, whose commands are imported when used (issue 16 start-up).

The commands are those of :data:`coverage.cli.commands.COMMAND_TABLE`. The click group lists them
from that table; a command's module (``coverage.cli.report``, ``.data``, ``.plan``) is imported,
and its click command built by typer, the first time the command is asked for: to run it, or to
show its ``--help``. The group's own ``--help`` lists the commands from the table, without
importing any command module. Everything else is typer's: parsing, help, errors, exit codes.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from . import progress
from .commands import COMMAND_TABLE, QUIET_HELP, ROOT_HELP, VERBOSE_HELP, command

__all__ = ["LazyGroup", "app", "build_command"]


def build_command(name: str, rich_markup_mode: Any) -> typer.core.TyperCommand:
    """The click command typer builds for the command ``name``, its module imported now.

    Built as ``app.command(name)(function)`` followed by ``typer.main.get_command(app)`` would build
    it, on a one-command Typer application (typer's public API only).

    Parameters
    ----------
    name : str
        A command of :data:`~coverage.cli.commands.COMMAND_TABLE`.
    rich_markup_mode : str or None
        The group's markup mode, passed on to the command as typer does.

    Returns
    -------
    typer.core.TyperCommand
    """
    single = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=rich_markup_mode)
    single.command(name)(command(name))
    built = typer.main.get_command(single)
    assert isinstance(built, TyperCommand) and built.name == name
    return built


class _Commands(MutableMapping[str, Any]):
    """The group's commands: the table's names, each click command built on first access."""

    def __init__(self, rich_markup_mode: Any) -> None:
        self._mode = rich_markup_mode
        self._built: dict[str, Any] = {}
        self._names = [c.name for c in COMMAND_TABLE]

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            if name not in self._names:
                raise KeyError(name)
            self._built[name] = build_command(name, self._mode)
        return self._built[name]

    def __setitem__(self, name: str, value: Any) -> None:
        if name not in self._names:
            self._names.append(name)
        self._built[name] = value

    def __delitem__(self, name: str) -> None:
        self._names.remove(name)
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def is_built(self, name: str) -> bool:
        """Whether the click command ``name`` is built already (its module imported)."""
        return name in self._built


class LazyGroup(TyperGroup):
    """typer's group whose commands are built when asked for, and listed from the table by ``--help``."""

    def __init__(self, *, commands: Any = None, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._lazy = _Commands(self.rich_markup_mode)
        self._lazy.update(commands or {})
        self.commands = self._lazy
        self._listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if self._listing:
            entry = next((c for c in COMMAND_TABLE if c.name == cmd_name), None)
            if entry is not None and not self._lazy.is_built(cmd_name):
                # what the command list shows of a command: its name and first paragraph
                return TyperCommand(name=entry.name, help=entry.help_line, rich_markup_mode=self.rich_markup_mode)
        return self.commands.get(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="safetynet",
    help=ROOT_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=LazyGroup,
)


@app.callback()
def _root(
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help=VERBOSE_HELP)] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=QUIET_HELP)] = False,
) -> None:
    progress.configure(verbose, quiet)
