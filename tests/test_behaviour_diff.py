"""scripts/behaviour_diff.py: the comparison it draws its verdict from, its normalisers, its inputs, one real run."""

from __future__ import annotations

import csv
import importlib.util
import io
import os
import shutil
import subprocess
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("behaviour_diff", REPO / "scripts" / "behaviour_diff.py")
bd = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bd)


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


def test_identical_trees_give_no_difference(tmp_path, capsys):
    files = {"report/out/coverage.csv": "縣市,rate\n嘉義縣,94.4\n".encode(), "report/_exit.txt": b"0\n",
             "report/out/coverage.xlsx": _zip({"xl/a.xml": b"<a/>"})}
    assert bd.compare_trees(_tree(tmp_path / "a", files), _tree(tmp_path / "b", files)) == []
    assert "compared 3 files" in capsys.readouterr().out


def test_every_kind_of_difference_is_listed(tmp_path, capsys):
    base = _tree(tmp_path / "a", {"r/out/coverage.csv": b"county,rate\nA,94.4\nB,50.0\n", "r/only_base.txt": b"x",
                                  "r/out/book.xlsx": _zip({"xl/a.xml": b"<a/>", "xl/b.xml": b"<b/>"}),
                                  "r/out/map.png": b"\x89PNG\0\0\1"})
    head = _tree(tmp_path / "b", {"r/out/coverage.csv": b"county,rate\nA,94.5\nB,50.0\n", "r/only_head.txt": b"y",
                                  "r/out/book.xlsx": _zip({"xl/a.xml": b"<a/>", "xl/b.xml": b"<c/>"}),
                                  "r/out/map.png": b"\x89PNG\0\0\2"})
    problems = bd.compare_trees(base, head)
    assert {(s, p) for s, p, _ in problems} == {
        ("differs", "r/out/coverage.csv"), ("differs", "r/out/book.xlsx"), ("differs", "r/out/map.png"),
        ("only in base", "r/only_base.txt"), ("only in head", "r/only_head.txt")}
    out = capsys.readouterr().out
    assert "-A,94.4" in out and "+A,94.5" in out  # unified diff head of the text file
    assert "zip members differing: xl/b.xml" in out
    assert "binary: 7 vs 7 bytes" in out


def test_solver_time_is_the_only_thing_normalised(tmp_path):
    def site(seconds: str, rank: int) -> dict[str, bytes]:
        return {"site-population/out/sites.json": f'{{"solve_seconds": {seconds}, "rank": {rank}}}'.encode(),
                "site-population/_stdout.txt":
                    f"solver: highs (Optimal), optimality gap 0.000%, {seconds} s; wrote out/sites.csv\n".encode(),
                "report-national/_stdout.txt": f"took {seconds} s\n".encode()}

    base = _tree(tmp_path / "a", site("0.041", 1))
    assert [p for _, p, _ in bd.compare_trees(base, _tree(tmp_path / "b", site("12.5", 1)))] == [
        "report-national/_stdout.txt"]  # the same text outside site-* is compared as it is
    assert [p for _, p, _ in bd.compare_trees(base, _tree(tmp_path / "c", site("0.041", 2)))] == [
        "site-population/out/sites.json"]


def test_a_file_differs_exactly_when_its_bytes_differ(tmp_path_factory):
    counts: Counter = Counter()

    @settings(max_examples=60, deadline=None)
    @given(a=st.binary(max_size=64), b=st.binary(max_size=64), same=st.booleans(), text=st.booleans())
    def check(a, b, same, text):
        b = a if same else b
        if text:  # a text file: the unified-diff path; else the binary path
            a, b = a.hex().encode() + b"\n", b.hex().encode() + b"\n"
        root = tmp_path_factory.mktemp("fuzz")
        problems = bd.compare_trees(_tree(root / "a", {"cmd/out/f": a}), _tree(root / "b", {"cmd/out/f": b}))
        verdict = ("same" if a == b else "differs") + (" text" if text else " binary")
        event(verdict)
        assert (problems == []) == (a == b)
        counts[verdict] += 1

    check()
    assert set(counts) == {"same text", "same binary", "differs text", "differs binary"}, counts


def test_later_registry_closes_moves_renames_and_opens_points():
    text = (REPO / "geodata" / "registry.csv").read_text(encoding="utf-8")
    old = list(csv.DictReader(ln for ln in text.splitlines() if not ln.startswith("#")))
    new = list(csv.DictReader(ln for ln in bd._later_registry(text).splitlines() if not ln.startswith("#")))
    assert "id" not in new[0]  # matched by name, then township: the paths without ids are exercised
    names_old, names_new = {r["name"] for r in old}, {r["name"] for r in new}
    assert len(names_old - names_new) >= 4 and any(n.endswith("（新址）") for n in names_new)
    assert new[-1]["name"] == "阿里山小衛星"
    moved = {(r["name"], r["lon"]) for r in new} - {(r["name"], r["lon"]) for r in old}
    assert any(not n.endswith("（新址）") and n != "阿里山小衛星" for n, _ in moved)


def test_inputs_are_written_once_and_are_well_formed(tmp_path):
    bd._write_inputs(tmp_path, (REPO / "geodata" / "registry.csv").read_bytes())
    rows = list(csv.reader((tmp_path / "bad_registry.csv").read_text(encoding="utf-8").splitlines()))
    assert rows[0] == bd.BAD_REGISTRY[0]
    points = (tmp_path / "points.csv").read_text(encoding="utf-8").splitlines()
    assert points[0] == "lon,lat,id" and len(points) == 1 + 57 * 74 + 5
    for name in ("scenario.csv", "registry_old.csv", "registry_new.csv", "bad_registry.xlsx"):
        assert (tmp_path / name).stat().st_size > 0


def test_commands_name_only_known_inputs():
    for name, argv in bd.COMMANDS.items():
        for arg in argv:
            assert "{" not in arg or arg.startswith(("{data}/", "{inputs}/")), (name, arg)
        assert argv[0] in {"report", "map", "trend", "targets", "whatif", "site", "locate", "nearest", "brief",
                           "validate", "diff"}, name


def test_unknown_ref_is_a_setup_error(tmp_path, shared_data, capsys):
    if shutil.which("git") is None or subprocess.run(["git", "-C", str(REPO), "rev-parse"]).returncode:
        pytest.skip("not a git checkout")
    with pytest.raises(SystemExit) as info:
        bd.main(["no-such-ref-xyz", "--data", str(shared_data), "--workdir", str(tmp_path / "w"),
                 "--only", "error-objective"])
    assert info.value.code == 2
    assert "no-such-ref-xyz" in capsys.readouterr().err


def test_one_command_on_two_checkouts_is_identical(tmp_path, shared_data, capsys):
    """A real run: the checkout as on disk against itself, on the quickest command (a usage error, exit 2)."""
    if shutil.which("git") is None or subprocess.run(["git", "-C", str(REPO), "rev-parse"]).returncode:
        pytest.skip("not a git checkout")
    work = tmp_path / "w"
    assert bd.main(["HEAD", "WORKTREE", "--data", str(shared_data), "--workdir", str(work),
                    "--only", "error-objective", "--only", "validate-bad"]) == 0
    out = capsys.readouterr().out
    assert "coverage from " + str(work / "checkout") in out  # PYTHONPATH won over the editable install
    assert "IDENTICAL" in out
    assert (work / "out" / "head" / "error-objective" / "_exit.txt").read_text() == "2\n"
    assert "--population" in (work / "out" / "head" / "error-objective" / "_stderr.txt").read_text()
    assert "8 accepted" in (work / "out" / "base" / "validate-bad" / "_stdout.txt").read_text()
    assert not (work / "checkout").exists()


def test_a_working_folder_in_use_is_refused_and_a_stale_lock_replaced(tmp_path, capsys):
    (tmp_path / ".lock").write_text(f"{os.getpid()}\n")  # a live process holds it
    with pytest.raises(SystemExit) as info:
        bd._lock(tmp_path)
    assert info.value.code == 2 and f"in use by process {os.getpid()}" in capsys.readouterr().err
    gone = subprocess.Popen(["true"])
    gone.wait()
    (tmp_path / ".lock").write_text(f"{gone.pid}\n")  # its process has ended
    assert bd._lock(tmp_path).read_text() == f"{os.getpid()}\n"


def test_compare_only_needs_both_output_trees(tmp_path, capsys):
    _tree(tmp_path / "out" / "base", {"x/_exit.txt": b"0\n"})
    with pytest.raises(SystemExit) as info:
        bd.main(["main", "--no-run", "--workdir", str(tmp_path)])
    assert info.value.code == 2 and "out/head does not exist" in capsys.readouterr().err
    _tree(tmp_path / "out" / "head", {"x/_exit.txt": b"1\n"})
    assert bd.main(["main", "--no-run", "--workdir", str(tmp_path)]) == 1
    assert "DIFFERENT: 1 files" in capsys.readouterr().out
