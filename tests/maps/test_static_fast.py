"""Figures drawn by several processes (coverage.maps.static.county_figures): this process takes its share."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

import coverage.maps.static as static
from coverage.pipeline import run_coverage
from tests.conftest import require

_SMALL = ["連江縣", "金門縣", "澎湖縣"]  # the smallest counties: quick figures


@pytest.fixture(scope="module")
def islands():
    return run_coverage(counties=_SMALL)


@pytest.fixture(scope="module")
def expected(islands, font, tmp_path_factory):
    """Each small county's figure drawn alone in this process: the bytes every other path must write."""
    require(font is not None, "no CJK font installed (fonts-noto-cjk) for zh-TW figure labels")
    folder = tmp_path_factory.mktemp("serial")
    return {c: static.county_figure(islands, c, folder / f"{c}.png").read_bytes() for c in _SMALL}


# A worker that takes one figure, says so (a file), and holds it until the test releases it (another file);
# then it exits without answering, so its figure is drawn again in this process.
_HOLDING_WORKER = """
import os, pickle, sys, time
sys.path.insert(0, {root!r})
tasks = sys.stdin.buffer
pickle.load(tasks)
task = pickle.load(tasks)
if task is not None:
    open({taken!r}, "w").close()
    while not os.path.exists({release!r}):
        time.sleep(0.01)
"""


def test_this_process_draws_while_a_worker_is_busy(islands, expected, tmp_path, monkeypatch):
    """With 2 drawing processes, one worker is started and this process draws the figures the worker has not
    taken, while the worker still holds its own: the time the cores are shared is not spent starting a
    second worker. The worker's figure, never answered, is drawn here last; every byte as drawn alone."""
    taken, release = tmp_path / "taken", tmp_path / "release"
    root = str(Path(static.__file__).resolve().parents[2])
    code = _HOLDING_WORKER.format(root=root, taken=str(taken), release=str(release))
    monkeypatch.setattr(static, "_worker_command", lambda: [sys.executable, "-c", code])
    real = static.county_figure
    seen: list[tuple[str, int]] = []

    def here(report, county, path, **kwargs):
        busy = sum(t.name.startswith("figure worker") and t.is_alive() for t in threading.enumerate())
        seen.append((county, busy))
        out = real(report, county, path, **kwargs)
        release.touch()
        return out

    monkeypatch.setattr(static, "county_figure", here)
    out = tmp_path / "out"
    figures = [(c, out / f"{c}.png") for c in _SMALL]
    with static.county_figures(islands, figures, workers=2) as drawn:
        deadline = time.monotonic() + 120
        while not taken.exists():  # the worker has the first figure
            assert time.monotonic() < deadline, "the worker never took a figure"
            time.sleep(0.01)
        written = drawn()
    assert list(written) == _SMALL
    for county in _SMALL:
        assert written[county].read_bytes() == expected[county], county
    # one worker only (2 processes draw: it and this one), busy while this process drew the second figure
    assert seen[0] == (_SMALL[1], 1)
    assert [c for c, _ in seen] == [_SMALL[1], _SMALL[2], _SMALL[0]]
    assert not list(out.glob("*.part"))


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_any_number_of_processes_writes_the_same_bytes(islands, expected, tmp_path, workers):
    """1 (this process alone), 2 (one worker and this one) or 3 processes: the same files, the same bytes,
    listed in the order given, whichever process drew each."""
    figures = [(c, tmp_path / f"{c}.png") for c in _SMALL]
    with static.county_figures(islands, figures, workers=workers) as drawn:
        written = drawn()
    assert list(written) == _SMALL
    assert {c: p.read_bytes() for c, p in written.items()} == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{c}.png" for c in _SMALL)


def test_workers_started_ahead_draw_the_figures(islands, expected, tmp_path):
    """A worker started before the report exists (start_figure_workers: its imports overlap the coverage
    run) is the one county_figures uses: none is left waiting, and the bytes are those drawn alone."""
    assert static.start_figure_workers(2) == 1
    assert len(static._READY) == 1
    figures = [(c, tmp_path / f"{c}.png") for c in _SMALL]
    with static.county_figures(islands, figures, workers=2) as drawn:
        assert static._READY == []  # taken by county_figures
        written = drawn()
    assert {c: p.read_bytes() for c, p in written.items()} == expected
    assert static.start_figure_workers(1) == 0 and static._READY == []


def test_workers_started_ahead_and_never_used_end(tmp_path):
    """Workers started ahead for figures that never come end with this process (here: at its exit hook),
    and one started with another command is never handed a report."""
    assert static.start_figure_workers(3) == 2
    procs = [proc for _, proc, _ in static._READY]
    assert static._take_ready(["another", "command"]) is None  # ends both: neither matches
    assert static._READY == [] and all(proc.poll() is not None for proc in procs)
    static.start_figure_workers(2)
    (proc,) = [proc for _, proc, _ in static._READY]
    static._stop_ready()
    assert static._READY == [] and proc.poll() is not None
