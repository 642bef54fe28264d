"""coverage.cli.progress: progress bars on stderr on a terminal only, none with -q; outputs the same either way."""

from __future__ import annotations

import io
import logging
import sys

import pytest
from typer.testing import CliRunner

from coverage.cli import app, progress


class Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def loud(monkeypatch):
    monkeypatch.setitem(progress._STATE, "quiet", False)


def test_a_step_draws_on_a_terminal(monkeypatch, loud):
    err = Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    assert progress.shows_progress()
    with progress.step("讀取清冊 reading registries"):
        pass
    assert "reading registries" in err.getvalue()


def test_a_step_is_silent_when_stderr_is_not_a_terminal(monkeypatch, loud):
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    assert not progress.shows_progress()
    with progress.step("讀取清冊 reading registries"):
        pass
    assert err.getvalue() == ""


def test_quiet_silences_the_bars_on_a_terminal(monkeypatch):
    err = Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setitem(progress._STATE, "quiet", False)
    root = logging.getLogger()
    monkeypatch.setattr(root, "level", root.level)
    progress.configure(0, True)
    assert not progress.shows_progress()
    with progress.step("定位 locating points"):
        pass
    assert err.getvalue() == ""


def test_a_step_still_raises(monkeypatch, loud):
    monkeypatch.setattr(sys, "stderr", Terminal())
    with pytest.raises(KeyError), progress.step("x"):
        raise KeyError("towncode")


def test_progress_changes_no_output(monkeypatch, tmp_path):
    """With the bars drawn (as on a terminal) the command prints and writes the same as with -q."""
    runner = CliRunner()
    quiet = runner.invoke(app, ["-q", "report", "--county", "嘉義市", "--no-maps", "--out", str(tmp_path / "q")])
    monkeypatch.setattr(progress, "shows_progress", lambda: True)
    steps = []
    step = progress.step

    def counted(description):
        steps.append(description)
        return step(description)

    monkeypatch.setattr(progress, "step", counted)
    shown = runner.invoke(app, ["report", "--county", "嘉義市", "--no-maps", "--out", str(tmp_path / "p")])
    assert quiet.exit_code == shown.exit_code == 0, shown.output
    assert steps == ["計算涵蓋率 computing coverage"]
    assert shown.stdout.replace(str(tmp_path / "p"), "OUT") == quiet.stdout.replace(str(tmp_path / "q"), "OUT")
    for name in ("coverage.csv", "townships.csv", "summary.json"):
        assert (tmp_path / "p" / name).read_bytes() == (tmp_path / "q" / name).read_bytes()
