"""The maps of a run shared with a forked copy of the process (issue 16): every page once, the same bytes,
errors raised here.

``coverage.maps.forkshare.forked_share`` is checked on its own (each task done, by one process or the other,
whatever fails where), then through ``write_maps`` (the same files with one process and with two) and the
``report`` command (a page that fails in the copy is rendered again here; one that fails everywhere is a
one-line error, exit 1; an error in the caller's own work stops the copy, and what it wrote is listed).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import coverage.maps.render as render
from coverage.cli import app
from coverage.maps import can_fork, forked_share, write_maps

pytestmark = pytest.mark.skipif(not can_fork(), reason="needs os.fork and two cores")

AS_OF = "2024-06-30"


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------------------------
# forked_share on its own

_SEEN = {"forked": 0, "child failures": 0}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(0, 12), fail_in_child=st.sets(st.integers(0, 11), max_size=4),
       fail_everywhere=st.sets(st.integers(0, 11), max_size=2), stop_after=st.none() | st.integers(0, 11))
def test_every_task_is_done_once_by_one_of_the_processes(tmp_path_factory, count, fail_in_child, fail_everywhere,
                                                         stop_after):
    """Each task's file is written by the child or here; the result says which, and a task left out is one that
    failed (in the child only: the caller does it again; everywhere: its error is the caller's to raise)."""
    folder = tmp_path_factory.mktemp("tasks")
    parent = os.getpid()

    def do(i: int) -> None:
        child = os.getpid() != parent
        if i in fail_everywhere or (child and i in fail_in_child):
            raise ValueError(f"task {i}")
        if child and stop_after is not None and i > stop_after:
            os._exit(3)  # the child dies without a word: the caller finds its tasks undone
        (folder / f"{i}.{'child' if child else 'here'}").write_text(str(i))

    reported: list[int] = []
    with forked_share(count, do, reported=reported.append) as finish:
        done = finish()
    files = {p.name for p in folder.iterdir()}
    for i in range(count):
        written = {f for f in files if f.split(".")[0] == str(i)}
        if i in done:
            assert f"{i}.{done[i]}" in written  # the process named wrote it
        else:  # failed where it was tried, or taken by a child that died first
            assert i in fail_everywhere or i in fail_in_child or stop_after is not None, (i, done, files)
        if i in fail_everywhere:
            assert i not in done and not written
    assert sorted(reported) == sorted(i for i, who in done.items() if who == "child")
    if count >= 2:
        _SEEN["forked"] += 1
        event("forked")
        if any(i in done and done[i] == "here" for i in range(count)) and "child" in done.values():
            event("both processes did tasks")
    if set(range(count)) & fail_in_child - set(done):
        _SEEN["child failures"] += 1
        event("a task failed in the child only")


def test_the_fuzz_above_reached_its_asserts():
    assert _SEEN["forked"] >= 5 and _SEEN["child failures"] >= 1, _SEEN


def test_leaving_the_block_on_an_error_stops_the_child_and_reports_what_it_finished(tmp_path):
    parent = os.getpid()

    def do(i: int) -> None:
        if os.getpid() != parent:
            (tmp_path / f"{i}").write_text("x")

    reported: list[int] = []
    with pytest.raises(RuntimeError, match="the caller's own work"), \
            forked_share(50, do, reported=reported.append):
        raise RuntimeError("the caller's own work failed")
    written = sorted(int(p.name) for p in tmp_path.iterdir())
    assert sorted(reported) == written  # every file the child finished was reported, none other
    assert len(written) < 50 or reported  # it stopped (or had finished everything already)


def test_an_interrupt_in_this_process_stops_the_child_too(tmp_path):
    """Ctrl-C (or any BaseException) while this process does its share: the child stops after its task and
    is waited for; the interrupt goes on."""
    parent = os.getpid()

    def do(i: int) -> None:
        if os.getpid() == parent:
            raise KeyboardInterrupt
        (tmp_path / f"{i}").write_text("x")

    reported: list[int] = []
    with pytest.raises(KeyboardInterrupt), forked_share(200, do, reported=reported.append) as finish:
        finish()
    assert sorted(reported) == sorted(int(p.name) for p in tmp_path.iterdir())


# ---------------------------------------------------------------------------------------------
# write_maps: the same files with one process and with two


def test_two_processes_write_the_same_files_as_one(seed_report, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    paths_one = write_maps(seed_report, one, offline=True, workers=1)
    paths_two = write_maps(seed_report, two, offline=True, workers=2)
    assert [(k, p.relative_to(one)) for k, p in paths_one.items()] == \
        [(k, p.relative_to(two)) for k, p in paths_two.items()]  # the same names, in the same order
    a, b = _tree(one), _tree(two)
    assert a.keys() == b.keys() and len(a) > 20
    assert [k for k in a if a[k] != b[k]] == []


# ---------------------------------------------------------------------------------------------
# the report command


def _report(tmp_path: Path, *extra: str):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["report", "-c", "嘉義縣", "-c", "嘉義市", "-c", "花蓮縣", "--as-of", AS_OF,
                                      "--out", str(out), *extra])
    return result, out


def test_a_page_that_fails_in_the_copy_is_rendered_here_with_the_same_bytes(tmp_path, monkeypatch):
    before, _ = _report(tmp_path / "plain", "--offline")
    assert before.exit_code == 0, before.output
    parent = os.getpid()
    original = render.render_map

    def flaky(report, county=None, **kwargs):
        if os.getpid() != parent:
            raise RuntimeError("the copy could not render this page")
        return original(report, county, **kwargs)

    monkeypatch.setattr(render, "render_map", flaky)
    after, out = _report(tmp_path / "flaky", "--offline")
    assert after.exit_code == 0, after.output
    assert after.output == before.output.replace(str(tmp_path / "plain"), str(tmp_path / "flaky"))
    plain = _tree(tmp_path / "plain" / "out")
    flaky_tree = _tree(out)
    assert {k for k in plain if k != "manifest.json"} == {k for k in flaky_tree if k != "manifest.json"}
    assert [k for k in plain if k != "manifest.json" and plain[k] != flaky_tree[k]] == []
    listed = {f["path"] for f in json.loads((out / "manifest.json").read_text(encoding="utf-8"))["files"]}
    assert {"嘉義縣.html", "嘉義市.html", "花蓮縣.html", "index.html"} <= listed


def test_a_page_that_fails_everywhere_is_one_line_and_exit_1(tmp_path, monkeypatch):
    original = render.render_map

    def broken(report, county=None, **kwargs):
        if county == "花蓮縣":
            from coverage.errors import InputError

            raise InputError("花蓮縣: cannot draw this county (test)")
        return original(report, county, **kwargs)

    monkeypatch.setattr(render, "render_map", broken)
    result, out = _report(tmp_path, "--offline")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "花蓮縣: cannot draw this county (test)" in lines[0], result.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["complete"] is False
    listed = {f["path"] for f in manifest["files"]}
    for name in listed:  # whatever either process finished is listed, with its bytes
        assert (out / name).is_file()
    assert not list(out.glob(".*.part")) and not list(out.glob("**/.*.part"))


def test_an_error_in_the_tables_stops_the_copy_and_lists_its_pages(tmp_path, monkeypatch):
    import coverage.report as report_module

    def failing(*args, **kwargs):
        from coverage.errors import OutputError

        raise OutputError(tmp_path / "out" / "coverage.csv", "disk full (test)")

    monkeypatch.setattr(report_module, "write_report", failing)
    result, out = _report(tmp_path, "--offline")
    assert result.exit_code == 1 and "disk full (test)" in result.output
    assert "Traceback" not in result.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["complete"] is False
    pages = {p.name for p in out.glob("*.html")}
    listed = {f["path"] for f in manifest["files"]}
    assert pages <= listed  # every page the copy wrote before it stopped is in the manifest
