"""Options that only the figures about people (``--population``) or elevation (``--dem``) use, given without
that file: a one-line usage error (exit 2) on every command that takes them, never a run that silently ignores
them and looks as if they had been applied."""

from __future__ import annotations

import pytest
import typer.main
from typer.testing import CliRunner

from coverage.cli import app
from coverage.cli.run import DEM_OPTIONS, PEOPLE_OPTIONS

runner = CliRunner()

#: A value for each option; the defaults among them (5, 20, 500 and a plain --cross-sea) are still "given".
_VALUES = {"--age-group": "0-17", "--distance-km": "5", "--catchment-km": "20", "--cross-sea": None,
           "--mountain-m": "500"}
#: command → arguments of a run that needs neither population nor elevation.
_BASE = {
    "report": ["report", "-c", "嘉義縣", "--no-maps"],
    "map": ["map", "-c", "嘉義縣"],
    "whatif": ["whatif", "--add", "嘉義縣阿里山鄉:小衛星"],
    "trend": ["trend", "-c", "嘉義縣", "--no-chart"],
}


def _flag(name):
    return "--" + name.replace("_", "-")


def _cases():
    """(command, flag, file it needs) for every command of the CLI that takes such an option and its file."""
    commands = typer.main.get_command(app).commands
    cases = []
    for command, click_command in sorted(commands.items()):
        params = {p.name for p in click_command.params}
        # `nearest` has --cross-sea of its own, used with no population file
        if "population" in params:
            cases += [(command, _flag(n), "--population") for n in PEOPLE_OPTIONS if n in params]
        if "dem" in params:
            cases += [(command, _flag(n), "--dem") for n in DEM_OPTIONS if n in params]
    return cases


def test_every_command_taking_such_an_option_is_tested():
    """The cases below come from the CLI itself: a new command with --distance-km must have a base run here."""
    commands = {c for c, _, _ in _cases()}
    assert commands == set(_BASE), commands
    assert len(_cases()) >= 12


@pytest.mark.parametrize(("command", "flag", "needs"), _cases())
def test_option_without_its_file_is_a_usage_error(tmp_path, command, flag, needs):
    out = tmp_path / "out"
    value = _VALUES[flag]
    args = [*_BASE[command], flag, *([value] if value is not None else [])]
    args += [] if command == "whatif" else ["-o", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [f"error: {flag}: {lines[0].split(': ', 2)[2]}"], result.output
    assert f"needs {needs} FILE" in lines[0]
    assert not out.exists()


def test_the_same_run_without_the_option_succeeds(tmp_path):
    """Control: the base runs are valid, so the refusal above comes from the option alone."""
    for command in ("report", "trend"):
        result = runner.invoke(app, [*_BASE[command], "-o", str(tmp_path / command)])
        assert result.exit_code == 0, result.output


def test_with_population_the_option_is_used(tmp_path, shared_data):
    """With --population, --distance-km is accepted and changes the figure it names (the share within D km)."""
    pop = shared_data / "population" / "village_population_agegroups_2021-03.csv"
    shares = {}
    for km in ("2", "10"):
        out = tmp_path / km
        result = runner.invoke(app, ["report", "-c", "嘉義縣", "--no-maps", "--population", str(pop),
                                     "--distance-km", km, "--as-of", "2024-01-01", "-o", str(out)])
        assert result.exit_code == 0, result.output
        shares[km] = (out / "townships.csv").read_bytes()
    assert shares["2"] != shares["10"]
