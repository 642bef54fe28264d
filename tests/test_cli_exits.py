"""coverage.cli.exits: one-line errors, exit codes, library parameter names shown as flags."""

from __future__ import annotations

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from coverage.cli import app
from coverage.cli.exits import PARAMETER_FLAGS, OptionError, fail, flag_names
from coverage.errors import InputError

runner = CliRunner()


@pytest.mark.parametrize(("message", "shown"), [
    ("population=: 人口.csv is a township-level file", "--population: 人口.csv is a township-level file"),
    ("objective='children' needs people per village: give population=",
     "--objective 'children' needs people per village: give --population"),
    ("new= is required for the population objectives", "--new is required for the population objectives"),
    ("public_columns=['聯絡人']: not a column", "--public-column ['聯絡人']: not a column"),
    ("engine='spark' is not one of local, dask", "--engine 'spark' is not one of local, dask"),
    ("suppress_below= must be a whole number ≥ 0", "--suppress-below must be a whole number ≥ 0"),
    ("counties=, categories=", "--county, --category"),
])
def test_parameters_become_flags(message, shown):
    assert flag_names(message) == shown


@pytest.mark.parametrize("message", [
    "清冊.csv row 41: township '嘉義縣阿里山' not found; did you mean 嘉義縣阿里山鄉?",
    "--population: already a flag",
    "a.csv row 2, field 'population=': no",  # a quoted value as typed, not a parameter
    'value "new=3" is not a number',
    "x_population= and populations= are not parameters",  # part of a longer name
    "population 12 = 3 people",
])
def test_a_message_without_a_parameter_is_unchanged(message):
    assert flag_names(message) == message


@settings(max_examples=200, deadline=None)
@given(before=st.text(alphabet="abc 嘉義:;,", max_size=8), param=st.sampled_from(sorted(PARAMETER_FLAGS)),
       quoted=st.text(alphabet="abc=_ 嘉", max_size=6), after=st.text(alphabet=" ,;:.", max_size=3))
def test_flags_outside_quotes_only(before, param, quoted, after):
    """The parameter outside quotes becomes its flag; whatever is inside quotes stays as it was typed."""
    message = f"{before} {param}={after} '{param}={quoted}'"
    shown = flag_names(message)
    event("value follows" if after[:1] not in ("", " ", ",", ";", ":", ".") else "parameter alone")
    assert shown.endswith(f"'{param}={quoted}'")
    assert f" {PARAMETER_FLAGS[param]}" in shown
    assert shown.count(f"{param}=") == message.count(f"{param}=") - 1


def test_fail_exit_codes_and_one_line(capsys):
    assert fail(OptionError("--county", "no county named '火星縣'", ["嘉義縣"])).exit_code == 2
    err = capsys.readouterr().err
    assert err == "error: --county: no county named '火星縣'; did you mean 嘉義縣?\n"
    assert fail(InputError("a.csv row 3:\nbad\n\nvalue")).exit_code == 1
    assert capsys.readouterr().err == "error: a.csv row 3: / bad / value\n"


def test_a_library_error_from_a_command_names_the_flag(monkeypatch, tmp_path):
    """A library error raised inside `report` names its parameter; the user reads the flag (exit 1)."""
    import coverage

    def township_level(*args, **kwargs):
        raise InputError("population=: 人口.csv is a township-level file; age_group='elderly' needs ages")

    monkeypatch.setattr(coverage, "run_coverage", township_level)
    result = runner.invoke(app, ["report", "--no-maps", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr == ("error: --population: 人口.csv is a township-level file; --age-group 'elderly' "
                             "needs ages\n")


def test_a_library_error_without_a_parameter_is_shown_as_it_is(monkeypatch, tmp_path):
    import coverage

    def bad_row(*args, **kwargs):
        raise InputError("清冊.csv row 41: township '嘉義縣阿里山' not found")

    monkeypatch.setattr(coverage, "run_coverage", bad_row)
    result = runner.invoke(app, ["map", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr == "error: 清冊.csv row 41: township '嘉義縣阿里山' not found\n"


@pytest.mark.parametrize("prefix", ["as_of=: ", "--as-of: ", ""])
def test_a_resolved_option_names_the_flag_once(prefix):
    """A library error met while resolving an option is a usage error naming the flag once, not the parameter."""
    from coverage.cli.options import option

    with pytest.raises(OptionError) as info, option("--as-of"):
        raise InputError(f"{prefix}'someday' is not a date")
    assert str(info.value) == "--as-of: 'someday' is not a date"
    assert fail(info.value).exit_code == 2
