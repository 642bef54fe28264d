"""``safetynet --help`` (and ``safetynet`` alone) printed with rich alone, without importing typer (issue 16).

Importing typer (its click, its parameter types, its help formatter) is more than half of the start-up
of ``safetynet --help``. The root help is always the same text: the usage line, the description,
three options, and the command list of :data:`coverage.cli.commands.COMMAND_TABLE`. This module
lays it out with rich exactly as typer's rich help formatter does (same console, theme, highlighters,
panels and tables), so that the bytes printed are the same, colours and terminal width included —
``tests/test_cli_startup.py`` compares them with what typer prints, at many widths, with and without
colour, on a pipe and on a terminal.

Only the plain case is answered here: the argument list is empty or ``--help``, and no environment
variable changes how typer would answer (``TYPER_USE_RICH``, shell completion) or lay out the usage
line. Anything else, or any failure before a byte is written, returns ``None`` and typer answers.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Any

from .commands import COMMAND_TABLE, QUIET_HELP, ROOT_HELP, VERBOSE_HELP

__all__ = ["ROOT_OPTIONS", "program_name", "quick_help", "root_help"]

#: The root options as typer's help shows them: long flag, short flag, type, help, default shown.
ROOT_OPTIONS: tuple[tuple[str, str, str, str, str | None], ...] = (
    ("--verbose", "-v", "<int>", VERBOSE_HELP, "0"),
    ("--quiet", "-q", "<bool>", QUIET_HELP, None),
    ("--help", "", "<bool>", "Show this message and exit.", None),
)

# typer's help formatter: its console theme and highlighters (typer.rich_utils; compared byte for byte by the tests)
_THEME = {"option": "bold cyan", "switch": "bold green", "negative_option": "bold magenta",
          "negative_switch": "bold red", "types": "bold yellow", "types_sep": "dim", "usage": "yellow"}
_OPTION_PATTERNS = (r"(^|\W)(?P<switch>\-\w+)(?![a-zA-Z0-9])", r"(^|\W)(?P<option>\-\-[\w\-]+)(?![a-zA-Z0-9])",
                    r"(?P<types>\<[^\>]+\>)", r"(?P<usage>Usage: )")
_NEGATIVE_PATTERNS = (r"(^|\W)(?P<negative_switch>\-\w+)(?![a-zA-Z0-9])",
                      r"(^|\W)(?P<negative_option>\-\-[\w\-]+)(?![a-zA-Z0-9])")
_TYPES_PATTERNS = (r"^(?P<types_sep>(\[|<))", r"(?P<types_sep>\|)", r"(?P<types_sep>(\]|>))(\.\.\.)?$")
_USAGE_ARGS = "[OPTIONS] COMMAND [ARGS]..."


def program_name() -> str:
    """The program name click shows in the usage line: the script's name, or ``python -m package``.

    Returns
    -------
    str
        ``safetynet`` for the console script, ``python -m coverage.cli`` for ``python -m coverage.cli``.
    """
    path = sys.argv[0]  # os.path, not pathlib: nothing else of the quick help imports pathlib
    package = getattr(sys.modules.get("__main__"), "__package__", None)
    if not package:
        return os.path.basename(path)  # noqa: PTH119
    name = os.path.splitext(os.path.basename(path))[0]  # noqa: PTH119, PTH122
    module = package if name == "__main__" else f"{package}.{name}"
    return f"python -m {module.lstrip('.')}"


def _terminal_columns() -> int:
    """``shutil.get_terminal_size().columns`` (``COLUMNS``, else standard output's terminal, else 80), without
    importing shutil (and with it bz2, lzma, zlib: a few milliseconds of the start-up)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
        columns = columns or 80
    return columns


def _usage_fits(prog: str) -> bool:
    """Whether click writes the usage line on one line (its help width: terminal, at most 78, at least 50)."""
    width = max(min(_terminal_columns(), 80) - 2, 50)
    prefix = f"Usage: {prog} "
    return "\x1b" not in prog and width >= len(prefix) + 20 and len(prefix) + len(_USAGE_ARGS) <= width


def _typer_answers(prog: str) -> bool:
    """Whether the environment asks typer for something else than its rich help (plain click help, completion)."""
    complete_var = f"_{prog}_COMPLETE".replace("-", "_").upper()  # as typer names it
    return "TYPER_USE_RICH" in os.environ or complete_var in os.environ or not _usage_fits(prog)


def _highlighter(patterns: tuple[str, ...]) -> Any:
    from rich.highlighter import RegexHighlighter

    return type("Highlighter", (RegexHighlighter,), {"highlights": list(patterns)})()


def _console() -> Any:
    """The console typer's help formatter prints with (colour and width from the same environment variables)."""
    from rich.console import Console
    from rich.theme import Theme

    force_terminal = True if os.getenv("GITHUB_ACTIONS") or os.getenv("FORCE_COLOR") or os.getenv("PY_COLORS") \
        else None
    if os.getenv("_TYPER_FORCE_DISABLE_TERMINAL"):
        force_terminal = False
    width = os.getenv("TERMINAL_WIDTH")
    return Console(theme=Theme(_THEME), highlighter=_highlighter(_OPTION_PATTERNS), color_system="auto",
                   force_terminal=force_terminal, width=int(width) if width else None, stderr=False)


def _table(**columns: Any) -> Any:
    from rich.table import Table

    return Table(show_header=False, expand=True, box=None, show_lines=False, leading=0, border_style=None,
                 row_styles=None, pad_edge=False, padding=(0, 1), **columns)


def _renderables(prog: str) -> list[tuple[Any, str | None]]:
    """What typer's formatter prints for the root group, in order: (renderable, style)."""
    from rich.align import Align
    from rich.columns import Columns
    from rich.console import Group
    from rich.padding import Padding
    from rich.panel import Panel
    from rich.text import Text

    option, negative, types = (_highlighter(p) for p in (_OPTION_PATTERNS, _NEGATIVE_PATTERNS, _TYPES_PATTERNS))
    out: list[tuple[Any, str | None]] = [(Padding(option(f"Usage: {prog} {_USAGE_ARGS}"), 1), "bold")]
    description = Group(option(Text.from_markup(ROOT_HELP, style="")))
    out.append((Padding(Align(description, pad=False), (0, 1, 1, 1)), None))

    options = _table(highlight=True)
    for long, short, kind, help_text, default in ROOT_OPTIONS:
        shown = Text(style="bold yellow", overflow="fold")
        shown.append(kind)
        cells = [option(Text.from_markup(help_text, style=""))]
        if default is not None:
            cells.append(Text(f"[default: {default}]", style="dim"))
        options.add_row(option(long), option(short), negative(""), negative(""), types(shown), Columns(cells))
    out.append((Panel(options, border_style="dim", title="Options", title_align="left"), None))

    commands = _table(highlight=False)
    commands.add_column(style="bold cyan", no_wrap=True, width=max(len(c.name) for c in COMMAND_TABLE))
    commands.add_column("Description", justify="left", no_wrap=False, ratio=10)
    for entry in COMMAND_TABLE:
        commands.add_row(Text(entry.name), option(Text.from_markup(entry.help_line, style="")))
    out.append((Panel(commands, border_style="dim", title="Commands", title_align="left"), None))
    return out


def root_help(prog: str) -> str:
    """The text ``prog --help`` prints, laid out for standard output as it is now (terminal or not, width, colour).

    Parameters
    ----------
    prog : str
        The program name of the usage line (:func:`program_name`).

    Returns
    -------
    str
        What typer's rich help formatter prints for the root group, ANSI styles included when
        standard output takes colour; without the newline ``--help`` adds after it.
    """
    console = _console()
    with console.capture() as captured:
        for renderable, style in _renderables(prog):
            console.print(renderable, style=style)
    return captured.get()


def quick_help(argv: list[str], prog: str | None = None) -> int | None:
    """Print the root help for ``argv`` if it asks for nothing else; the exit code, or ``None`` for typer to answer.

    Parameters
    ----------
    argv : list of str
        The arguments after the program name.
    prog : str, optional
        The program name of the usage line; by default the one click would show (:func:`program_name`).

    Returns
    -------
    int or None
        0 after ``--help``, 2 with no argument (typer's ``no_args_is_help``), 1 when standard output
        is a closed pipe (as typer); ``None`` when typer must answer: other arguments, an environment
        that changes typer's answer, or a failure before anything was written.
    """
    if argv not in ([], ["--help"]):
        return None
    try:
        prog = program_name() if prog is None else prog
        if _typer_answers(prog):
            return None
        text = root_help(prog)
    except Exception:  # rich missing or changed: typer answers, as it would have
        return None
    try:
        # click echoes the (empty) help string after --help: one more newline
        sys.stdout.write(text + "\n" if argv else text)
        sys.stdout.flush()
    except Exception as exc:  # typer answers (and reports) anything but a closed pipe
        if not isinstance(exc, OSError) or exc.errno != errno.EPIPE:
            return None
        # as typer: exit 1, and no error at interpreter exit when flushing the closed pipe again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0 if argv else 2
