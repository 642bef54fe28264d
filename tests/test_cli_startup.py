"""Start-up of the command line (issue 16): ``safetynet --help`` without typer, commands imported when used.

The root help of :mod:`coverage.cli.quickhelp` is compared byte for byte with what typer prints for
the same application registered the ordinary way (every command module imported, every command
built), in-process over generated widths, colour settings and program names, and end to end through
``main()`` on a pipe and on a terminal. The static command table is compared with the commands.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import json
import os
import string
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
import typer
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from coverage.cli import COMMANDS, app
from coverage.cli.application import build_command
from coverage.cli.commands import COMMAND_TABLE, ROOT_HELP, Command
from coverage.cli.quickhelp import program_name, quick_help, root_help

REPO = Path(__file__).resolve().parents[1]
COMMAND_MODULES = ("report", "data", "plan")
SNAPSHOT = REPO / "tests" / "snapshots" / "cli_options.json"


# ----------------------------------------------------------------------------- the table against the commands

def table_problems(table: tuple[Command, ...]) -> list[str]:
    """What differs between ``table`` and the commands: a public function of a command module missing from the
    table, names other than the snapshot's, a help line other than what typer lists for the function, a name
    twice. Empty when all is well.
    """
    problems = []
    listed = {(c.module, c.function) for c in table}
    for module in COMMAND_MODULES:
        problems += [f"coverage.cli.{module}.{function}: a command missing from the table"
                     for function in importlib.import_module(f"coverage.cli.{module}").__all__
                     if (module, function) not in listed]
    names = [c.name for c in table]
    if len(set(names)) != len(names):
        problems.append(f"a name twice in the table: {names}")
    # the command names: those of the options snapshot (tests/snapshots/cli_options.json, taken from main)
    known = set(json.loads(SNAPSHOT.read_text(encoding="utf-8"))) - {"(root)"}
    if set(names) != known:
        problems.append(f"names not those of {SNAPSHOT.name}: {sorted(set(names) ^ known)}")
    for entry in table:
        function = getattr(importlib.import_module(f"coverage.cli.{entry.module}"), entry.function, None)
        if function is None:
            problems.append(f"{entry.name}: no function coverage.cli.{entry.module}.{entry.function}")
            continue
        single = typer.Typer(add_completion=False)
        single.command(entry.name)(function)
        built = typer.main.get_command(single)
        # what typer's command list shows of a command: the first paragraph of its help
        shown = inspect.cleandoc(built.help or "").split("\n\n")[0].strip()
        if built.name != entry.name or shown != entry.help_line:
            problems.append(f"{entry.name}: typer lists {built.name!r} {shown!r}, the table {entry.help_line!r}")
    return problems


def test_table_is_the_commands():
    """Every command function is in the table, under the name and with the help line typer gives it; the group
    lists the table in its order, and builds each command from the table's function."""
    assert table_problems(COMMAND_TABLE) == []
    group = typer.main.get_command(app)
    assert group.list_commands(typer.Context(group)) == [c.name for c in COMMAND_TABLE]
    assert [name for name, _ in COMMANDS] == [c.name for c in COMMAND_TABLE]
    for (name, function), entry in zip(COMMANDS, COMMAND_TABLE, strict=True):
        module = importlib.import_module(f"coverage.cli.{entry.module}")
        assert function is getattr(module, entry.function)
        assert build_command(name, "rich").callback is not None


@pytest.mark.parametrize("breakage", ["help line", "missing", "name", "function", "duplicate"])
def test_table_check_can_fail(breakage):
    """The check above on deliberately wrong tables: each is caught."""
    table = list(COMMAND_TABLE)
    site = next(i for i, c in enumerate(table) if c.name == "site")
    if breakage == "help line":
        table[site] = table[site]._replace(help_line="Recommend where k new points should go.")
    elif breakage == "missing":
        del table[site]
    elif breakage == "name":
        table[site] = table[site]._replace(name="siting")
    elif breakage == "function":
        table[site] = table[site]._replace(function="no_such_command")
    else:
        table.append(table[site])
    problems = table_problems(tuple(table))
    assert problems, breakage
    assert any(("site" in p) or ("siting" in p) for p in problems), problems


# ----------------------------------------------------------------------------- the root help, byte for byte

def eager_group() -> typer.core.TyperGroup:
    """The application registered the ordinary way, as before the commands became lazy: every command built."""
    eager = typer.Typer(name="safetynet", help=ROOT_HELP, no_args_is_help=True, add_completion=False,
                        pretty_exceptions_enable=False)
    eager.callback()(app.registered_callback.callback)
    for name, function in COMMANDS:
        eager.command(name)(function)
    group = typer.main.get_command(eager)
    assert type(group) is typer.core.TyperGroup
    return group


def typer_help(group: typer.core.TyperGroup, prog: str) -> str:
    """What typer prints for ``prog --help`` of ``group`` (its help option adds one newline after it)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rest = group.get_help(typer.Context(group, info_name=prog))
    return out.getvalue() + rest


_ENV_KEYS = ("COLUMNS", "FORCE_COLOR", "NO_COLOR", "TERM", "COLORTERM")
_COLOURS = [{}, {"FORCE_COLOR": "1"}, {"FORCE_COLOR": "1", "TERM": "xterm-256color"},
            {"FORCE_COLOR": "1", "COLORTERM": "truecolor"}, {"FORCE_COLOR": "1", "NO_COLOR": "1"},
            {"FORCE_COLOR": "1", "TERM": "dumb"}]
_PROGS = st.sampled_from(["safetynet", "python -m coverage.cli", "/usr/local/bin/safetynet"]) | st.text(
    string.ascii_letters + string.digits + "-_.", min_size=1, max_size=60)


def test_root_help_is_typers_byte_for_byte():
    """At any terminal width, with or without colour, for any program name: the quick root help is what typer
    prints for the ordinary application and for the lazy one; where click would wrap the usage line, the quick
    help declines (prints nothing) and typer answers."""
    eager = eager_group()
    lazy = typer.main.get_command(app)
    compared: list[str] = []

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(columns=st.integers(10, 250), colour=st.sampled_from(_COLOURS), prog=_PROGS)
    def check(columns: int, colour: dict[str, str], prog: str) -> None:
        with mock.patch.dict(os.environ, {"COLUMNS": str(columns), **colour}):
            for key in set(_ENV_KEYS) - {"COLUMNS", *colour}:
                os.environ.pop(key, None)
            expected = typer_help(eager, prog)
            assert typer_help(lazy, prog) == expected
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                code = quick_help(["--help"], prog=prog)
            usage = eager.get_usage(typer.Context(eager, info_name=prog))
            if "\n" in usage:  # click wraps the usage line: typer's answer
                event("usage wrapped: typer answers")
                assert code is None and out.getvalue() == ""
                return
            event(f"compared, colour {bool(colour.get('FORCE_COLOR')) and not colour.get('NO_COLOR')}")
            assert code == 0
            assert out.getvalue() == expected + "\n"
            assert root_help(prog) == expected
            compared.append(prog)

    check()
    assert len(compared) >= 20, len(compared)


def test_long_program_name_goes_to_typer():
    """A program name too long for click's one-line usage: the quick help declines and prints nothing."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), mock.patch.dict(os.environ, {"COLUMNS": "80"}):
        assert quick_help(["--help"], prog="x" * 60) is None
        assert quick_help(["--help"], prog="safetynet") == 0
    assert "\n Usage: safetynet [OPTIONS] COMMAND [ARGS]..." in out.getvalue()


def test_usage_line_width_is_clicks():
    """Whether the usage line fits is decided on click's width (``COLUMNS``, else the terminal, else 80): for
    ``python -m coverage.cli`` (one line from 59 columns) under every mix of the two, the quick help answers
    exactly when click writes the usage on one line."""
    eager = eager_group()
    prog = "python -m coverage.cli"
    cases = 0
    for columns in (None, "0", "-4", "abc", "58", "59", "120"):
        for terminal in ((58, 24), (59, 24), (0, 0), OSError("not a terminal")):
            def size(fd=None, terminal=terminal):
                if isinstance(terminal, OSError):
                    raise terminal
                return os.terminal_size(terminal)

            env = {} if columns is None else {"COLUMNS": columns}
            with mock.patch.dict(os.environ, env), mock.patch.object(os, "get_terminal_size", size):
                if columns is None:
                    os.environ.pop("COLUMNS", None)
                one_line = "\n" not in eager.get_usage(typer.Context(eager, info_name=prog))
                with contextlib.redirect_stdout(io.StringIO()):
                    answered = quick_help(["--help"], prog=prog) is not None
            assert answered == one_line, (columns, terminal)
            cases += one_line
    assert 0 < cases < 28  # both outcomes reached


@pytest.mark.parametrize("argv", [["-v", "--help"], ["--help", "report"], ["report"], ["--quiet"], ["-h"]])
def test_other_arguments_go_to_typer(argv, capsys):
    assert quick_help(argv, prog="safetynet") is None
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("env", [{"TYPER_USE_RICH": "0"}, {"TYPER_USE_RICH": "1"}, {"_SAFETYNET_COMPLETE": "x"}])
def test_environment_for_typer_goes_to_typer(env, capsys):
    with mock.patch.dict(os.environ, env):
        assert quick_help(["--help"], prog="safetynet") is None
    assert capsys.readouterr().out == ""


def test_program_name_is_clicks():
    """The usage line's program name, as click detects it, for the console script and for ``python -m``."""
    from typer._click.utils import _detect_program_name  # the oracle: click's own detection

    main = sys.modules["__main__"]
    for argv0, package in [("/venv/bin/safetynet", None), ("safetynet", ""), ("/x/coverage/cli/__main__.py",
                                                                               "coverage.cli"),
                           ("/x/coverage/cli/run.py", "coverage.cli")]:
        with mock.patch.object(sys, "argv", [argv0, "--help"]), mock.patch.object(main, "__package__", package):
            assert program_name() == _detect_program_name(), (argv0, package)


# ----------------------------------------------------------------------------- end to end through main()

_MAIN = """import json, sys
sys.argv = [{argv0!r}, *{argv!r}]
{entry}
try:
    main()
finally:
    with open({record!r}, "w") as f:
        json.dump(sorted(sys.modules), f)
"""
_QUICK = "from coverage.cli import main"
# typer's answer, as main() ran before the quick help: the formatter imported light, then the application
_TYPER = ("from coverage.cli import app, import_help_formatter\nfrom coverage.cli.exits import run_main\n"
          "def main():\n    import_help_formatter()\n    run_main(app)")


def run_main(tmp_path: Path, entry: str, argv: list[str], env: dict[str, str] | None = None,
             **kwargs) -> tuple[subprocess.CompletedProcess, set[str]]:
    record = tmp_path / "modules.json"
    code = _MAIN.format(argv0="safetynet", argv=argv, entry=entry, record=str(record))
    full_env = {k: v for k, v in os.environ.items() if k not in (*_ENV_KEYS, "TYPER_USE_RICH", "GITHUB_ACTIONS",
                                                                 "TERMINAL_WIDTH", "PY_COLORS")}
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**full_env, **(env or {})}, **kwargs)
    return run, set(json.loads(record.read_text()))


_LIGHT = {"coverage", "coverage.cli", "coverage.cli.commands", "coverage.cli.quickhelp"}


@pytest.mark.parametrize("argv", [["--help"], []])
@pytest.mark.parametrize("env", [{"COLUMNS": "100"}, {"FORCE_COLOR": "1", "TERMINAL_WIDTH": "70"},
                                 {"GITHUB_ACTIONS": "true", "COLUMNS": "64"}])
def test_main_prints_what_typer_prints(tmp_path, argv, env):
    """``safetynet --help`` and ``safetynet`` alone: the same stdout, stderr and exit code (0, and 2 for no
    argument) as typer's answer, without importing typer, click or any command module."""
    quick, loaded = run_main(tmp_path, _QUICK, argv, env, capture_output=True)
    slow, slow_loaded = run_main(tmp_path, _TYPER, argv, env, capture_output=True)
    assert (quick.returncode, quick.stdout, quick.stderr) == (slow.returncode, slow.stdout, slow.stderr)
    assert quick.returncode == (0 if argv else 2) and b"Commands" in quick.stdout and quick.stderr == b""
    assert "typer" in slow_loaded
    assert not {m for m in loaded if m.split(".")[0] in ("typer", "click", "pydantic")}
    assert {m for m in loaded if m.split(".")[0] == "coverage"} == _LIGHT


def test_python_dash_m_prints_what_typer_prints():
    """``python -m coverage.cli --help``: the program name is ``python -m coverage.cli``, as typer shows it."""
    env = {**os.environ, "COLUMNS": "90"}
    quick = subprocess.run([sys.executable, "-m", "coverage.cli", "--help"], cwd=REPO, env=env, capture_output=True)
    slow = subprocess.run([sys.executable, "-c", "import sys; sys.argv[0] = 'python -m coverage.cli'\n" + _TYPER
                           + "\nmain()", "--help"], cwd=REPO, env=env, capture_output=True)
    assert quick.returncode == slow.returncode == 0
    assert b"Usage: python -m coverage.cli [OPTIONS]" in quick.stdout
    assert quick.stdout == slow.stdout and quick.stderr == slow.stderr == b""


def test_terminal_output_is_typers(tmp_path):
    """On a terminal (a pseudo-terminal of 100 × 30): the same bytes, colours included."""
    pty, fcntl, termios, struct = (importlib.import_module(m) for m in ("pty", "fcntl", "termios", "struct"))
    outputs = []
    for entry in (_QUICK, _TYPER):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        run, _ = run_main(tmp_path, entry, ["--help"], {"TERM": "xterm-256color"}, stdout=slave,
                          stderr=subprocess.PIPE)
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(master)
        assert run.returncode == 0 and run.stderr == b""
        outputs.append(b"".join(chunks))
    assert b"\x1b[" in outputs[0] and b"Commands" in outputs[0]  # coloured: a terminal
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize("env", [{"TYPER_USE_RICH": "0"}, {}])
def test_closed_pipe_and_plain_help_as_before(tmp_path, env):
    """Standard output a closed pipe: exit 1 and nothing on stderr, as typer. ``TYPER_USE_RICH=0``: typer's plain
    click help, unchanged."""
    read, write = os.pipe()
    os.close(read)
    quick, _ = run_main(tmp_path, _QUICK, ["--help"], env, stdout=write, stderr=subprocess.PIPE)
    slow, _ = run_main(tmp_path, _TYPER, ["--help"], env, stdout=write, stderr=subprocess.PIPE)
    os.close(write)
    assert (quick.returncode, quick.stderr) == (slow.returncode, slow.stderr) == (1, b"")
    if env:
        quick, loaded = run_main(tmp_path, _QUICK, ["--help"], env, capture_output=True)
        slow, _ = run_main(tmp_path, _TYPER, ["--help"], env, capture_output=True)
        assert quick.stdout == slow.stdout and b"Commands:" in quick.stdout and "typer" in loaded


# ----------------------------------------------------------------------------- what each start-up imports

def test_import_coverage_cli_is_light():
    code = "import sys, coverage.cli; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    loaded = set(out.stdout.split())
    assert not {m for m in loaded if m.split(".")[0] in ("typer", "click", "rich", "pydantic")}
    assert {m for m in loaded if m.split(".")[0] == "coverage"} == {"coverage", "coverage.cli"}


@pytest.mark.parametrize(("command", "module"), [("report", "report"), ("site", "plan"), ("locate", "data")])
def test_command_help_imports_its_module_only(tmp_path, command, module):
    """``safetynet COMMAND --help`` imports that command's module, not the other command modules."""
    run, loaded = run_main(tmp_path, _QUICK, [command, "--help"], capture_output=True)
    assert run.returncode == 0 and command.encode() in run.stdout
    assert f"coverage.cli.{module}" in loaded
    assert {f"coverage.cli.{m}" for m in COMMAND_MODULES if m != module}.isdisjoint(loaded)


def test_output_the_terminal_cannot_encode_is_reported_as_before(tmp_path):
    """Standard output in ASCII: the help cannot be written; the quick help writes nothing and typer reports it,
    with the same exit code and message as before."""
    quick, _ = run_main(tmp_path, _QUICK, ["--help"], {"PYTHONIOENCODING": "ascii"}, capture_output=True)
    slow, _ = run_main(tmp_path, _TYPER, ["--help"], {"PYTHONIOENCODING": "ascii"}, capture_output=True)
    assert (quick.returncode, quick.stdout, quick.stderr) == (slow.returncode, slow.stdout, slow.stderr)
    assert quick.returncode == 1 and b"UnicodeEncodeError" in quick.stderr
