"""Output writers: atomic writes, failed writes, temporary parts of concurrent and killed runs,
manifest.json, determinism, and spreadsheet-formula neutralisation."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from coverage.cli import app
from coverage.errors import CoverageError, OutputError
from coverage.report import (
    MANIFEST_FILE,
    STALE_PART_HOURS,
    atomic_open,
    neutralise,
    neutralise_frame,
    output_run,
    remove_stale_parts,
    write_csv,
    write_report,
)

runner = CliRunner()


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=1+2", "'=1+2"), ("+886", "'+886"), ("-3", "'-3"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=x", "'\t=x"),
     ("阿里山鄉", "阿里山鄉"), ("", ""), (5, 5), (-5, -5), (None, None)],
)
def test_neutralise(value, expected):
    assert neutralise(value) == expected


def test_neutralise_frame_keeps_numbers():
    frame = pd.DataFrame({"name": ["=HYPERLINK(\"http://x\")", "ok"], "n": [-1, 2]})
    out = neutralise_frame(frame)
    assert out["name"].tolist() == ["'=HYPERLINK(\"http://x\")", "ok"]
    assert out["n"].tolist() == [-1, 2]
    assert frame["name"].iloc[0].startswith("=")  # input untouched


def test_atomic_open_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "coverage.csv"
    target.write_text("old\n", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_open(target) as fh:
        fh.write("half a new fi")
        raise RuntimeError("interrupted")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["coverage.csv"]  # no temporary left behind


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_atomic_outputs_get_ordinary_permissions(tmp_path):
    """A new output follows the umask (not mkstemp's private 0600: a map put on an intranet
    web server must be readable by it); a replaced file keeps the permissions it had."""
    old = os.umask(0o022)
    try:
        new = write_csv(pd.DataFrame({"a": [1]}), tmp_path / "new.csv")
        kept = tmp_path / "private.csv"
        kept.write_text("old\n", encoding="utf-8")
        kept.chmod(0o600)
        write_csv(pd.DataFrame({"a": [1]}), kept)
    finally:
        os.umask(old)
    assert stat.S_IMODE(new.stat().st_mode) == 0o644
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def test_write_csv_utf8_bom(tmp_path):
    path = write_csv(pd.DataFrame({"縣市": ["嘉義縣"]}), tmp_path / "sub" / "t.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "嘉義縣".encode() in raw


def test_killed_writer_leaves_no_partial_output(tmp_path):
    """SIGKILL in the middle of a large write: the target is absent or whole, never half-written,
    and the next run removes the hidden temporary file."""
    import signal

    target = tmp_path / "big.csv"
    code = (
        "import sys, time\n"
        "from coverage.report import atomic_open\n"
        "with atomic_open(sys.argv[1]) as fh:\n"
        "    for i in range(10**9):\n"
        "        fh.write(f'{i},阿里山鄉\\n')\n"
        "        if i == 1000:\n"
        "            print('writing', flush=True)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(target)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    assert not target.exists()
    parts = list(tmp_path.glob(".big.csv.*.part"))
    assert len(parts) == 1 and parts[0].stat().st_size > 0
    assert remove_stale_parts(tmp_path) == parts
    assert list(tmp_path.iterdir()) == []


# --- concurrency, leftovers, manifest ----------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]


def _dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _part(folder: Path, name: str, pid: int, age_hours: float = 0.0) -> Path:
    part = folder / f".{name}.{pid}-abc123.part"
    part.write_text("half", encoding="utf-8")
    if age_hours:
        when = time.time() - age_hours * 3600
        os.utime(part, (when, when))
    return part


def _manifest(folder: Path) -> dict:
    return json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))


def _present(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {MANIFEST_FILE}


def assert_manifest_is_the_folder(folder: Path) -> dict:
    """manifest.json lists exactly the files present, with their true sizes and sha256."""
    manifest = _manifest(folder)
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == _present(folder)
    for name, entry in listed.items():
        assert entry["size"] == (folder / name).stat().st_size
        assert entry["sha256"] == hashlib.sha256((folder / name).read_bytes()).hexdigest()
    return manifest


def test_stale_parts_dead_pid_removed_live_kept(tmp_path):
    """A part of a dead process is removed, one of a live process kept (another run writing now),
    unless untouched for longer than STALE_PART_HOURS; old-style parts without a PID are removed."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = _part(tmp_path, "coverage.csv", _dead_pid())
        live = _part(tmp_path, "summary.json", sleeper.pid)
        mine = _part(tmp_path, "townships.csv", os.getpid())
        old_live = _part(tmp_path, "index.html", sleeper.pid, age_hours=STALE_PART_HOURS + 1)
        legacy = tmp_path / ".rejected.csv.k2j4abcd.part"
        legacy.write_text("x", encoding="utf-8")
        assert sorted(remove_stale_parts(tmp_path)) == sorted([dead, old_live, legacy])
        assert live.exists() and mine.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_every_command_removes_stale_parts(tmp_path):
    """The first write into a folder, by any command, removes the stale parts and keeps live ones."""
    out = tmp_path / "o"
    out.mkdir()
    dead = _part(out, "coverage.csv", _dead_pid())
    live = _part(out, "coverage.csv", os.getpid())
    result = runner.invoke(app, ["report", "--county", "嘉義縣", "--no-maps", "--as-of", "2024-01-01",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert not dead.exists() and live.exists()
    live.unlink()
    assert_manifest_is_the_folder(out)


def test_two_concurrent_runs_into_one_folder(tmp_path):
    """Two processes writing the same report into one folder at once both succeed, leave no
    temporary part, and the folder holds one run's files, listed by its manifest."""
    out = tmp_path / "shared"
    cmd = [sys.executable, "-m", "coverage.cli", "report", "--county", "嘉義縣", "--as-of", "2024-01-01",
           "--xlsx", "--out", str(out)]
    procs = [subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [p.communicate(timeout=600) for p in procs]
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    assert not list(out.rglob("*.part"))
    manifest = assert_manifest_is_the_folder(out)
    assert {"coverage.csv", "coverage.xlsx", "嘉義縣.html", "lib/leaflet.js"} <= {f["path"] for f in manifest["files"]}


def test_concurrent_runs_in_threads(tmp_path):
    """The same in one process: two threads each in their own output_run, started together."""
    import threading

    from coverage.maps import write_maps
    from coverage.pipeline import run_coverage

    report = run_coverage(counties=["嘉義縣"], as_of="2024-01-01")
    out, barrier, errors = tmp_path / "o", threading.Barrier(2), []

    def run(with_maps: bool) -> None:
        try:
            barrier.wait()
            with output_run(out, command={"name": "test"}):
                write_report(report, out)
                if with_maps:
                    write_maps(report, out)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(m,)) for m in (True, False)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert not list(out.rglob("*.part"))
    assert_manifest_is_the_folder(out)


def test_manifest_and_pruning(tmp_path):
    """manifest.json lists the files, inputs (with hashes) and command; a later run removes what the
    earlier one wrote and it did not (empty lib/ included), keeps the user's own files and any
    output changed since."""
    out = tmp_path / "o"
    reg = tmp_path / "reg.csv"
    reg.write_text("類別,名稱,縣市,鄉鎮市區\n小衛星,甲,嘉義縣,竹崎鄉\n", encoding="utf-8")
    args = ["report", "-f", str(reg), "--county", "嘉義縣", "--as-of", "2024-01-01", "--out", str(out)]
    first = runner.invoke(app, [*args, "--xlsx"])
    assert first.exit_code == 0, first.output
    manifest = assert_manifest_is_the_folder(out)
    assert manifest["complete"] is True and manifest["tool"]["version"]
    assert manifest["command"]["name"] == "report" and manifest["command"]["options"]["xlsx"] is True
    assert "out" not in manifest["command"]["options"]
    assert manifest["inputs"] == [{"path": str(reg), "size": reg.stat().st_size,
                                   "sha256": hashlib.sha256(reg.read_bytes()).hexdigest()}]
    assert {"coverage.xlsx", "嘉義縣.html", "index.html", "lib/leaflet.js"} <= _present(out)
    (out / "my notes.txt").write_text("mine", encoding="utf-8")  # not any run's
    (out / "index.html").write_text("edited by hand", encoding="utf-8")  # changed since
    second = runner.invoke(app, [*args, "--no-maps"])
    assert second.exit_code == 0, second.output
    assert not (out / "coverage.xlsx").exists() and not (out / "嘉義縣.html").exists()
    assert not (out / "lib").exists()
    assert (out / "my notes.txt").exists() and (out / "index.html").read_text(encoding="utf-8") == "edited by hand"
    listed = {f["path"] for f in _manifest(out)["files"]}
    assert listed == {"coverage.csv", "townships.csv", "rejected.csv", "summary.json"}
    assert _present(out) == listed | {"my notes.txt", "index.html"}


@pytest.mark.parametrize("manifest", [
    '{"files": [{"path": "../outside.txt", "sha256": "%s"}, {"path": "%s", "sha256": "%s"}]}',
    "[" * 100_000 + "]" * 100_000,
    '{"files": "coverage.csv"}',
    "not json",
])
def test_hostile_manifest_deletes_nothing_outside(tmp_path, manifest):
    """A previous manifest is input too: paths outside the folder are never removed, and a broken
    one is ignored (with a warning), never a crash."""
    outside = tmp_path / "outside.txt"
    outside.write_text("keep", encoding="utf-8")
    digest = hashlib.sha256(b"keep").hexdigest()
    out = tmp_path / "o"
    out.mkdir()
    if "%s" in manifest:
        manifest = manifest % (digest, str(outside).replace("\\", "/"), digest)
    (out / MANIFEST_FILE).write_text(manifest, encoding="utf-8")
    with output_run(out):
        write_csv(pd.DataFrame({"a": [1]}), out / "a.csv")
    assert outside.read_text(encoding="utf-8") == "keep"
    assert [f["path"] for f in _manifest(out)["files"]] == ["a.csv"]


# --- a write that fails -------------------------------------------------------------------------


@pytest.mark.parametrize(("err", "reason"), [(errno.ENOSPC, "No space left on device"),
                                             (errno.EACCES, "Permission denied"),
                                             (errno.EROFS, "Read-only file system")])
def test_failed_write_is_one_line_naming_the_file(tmp_path, monkeypatch, err, reason):
    """Disk full, no permission, read-only folder: exit 1, one line naming the file being written,
    no traceback, no partial file; the run's manifest says it is incomplete."""
    out = tmp_path / "o"
    real_fsync = os.fsync
    calls = []

    def failing_fsync(fd):
        calls.append(fd)
        if len(calls) == 2:  # the second file of the run: townships.csv
            raise OSError(err, os.strerror(err))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    result = runner.invoke(app, ["report", "--county", "嘉義縣", "--no-maps", "--as-of", "2024-01-01",
                                 "--out", str(out)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines == [f"error: cannot write {out / 'townships.csv'}: {reason}"]
    assert "Traceback" not in result.output and not isinstance(result.exception, OSError | TypeError)
    assert not list(out.rglob("*.part")) and not (out / "townships.csv").exists()
    manifest = _manifest(out)
    assert manifest["complete"] is False and [f["path"] for f in manifest["files"]] == ["coverage.csv"]


def test_unwritable_folder_is_one_line(tmp_path):
    """--out under a file (not a folder): one line naming the output, exit 1."""
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    result = runner.invoke(app, ["report", "--county", "嘉義縣", "--no-maps", "--as-of", "2024-01-01",
                                 "--out", str(blocker / "out")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [f"error: cannot write {blocker / 'out'}: Not a directory"]


def test_output_error_is_an_oserror_and_a_coverage_error(tmp_path, monkeypatch):
    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "mkstemp", no_space)
    with pytest.raises(OutputError, match=r"cannot write .*x\.csv: No space left on device") as info:
        write_csv(pd.DataFrame({"a": [1]}), tmp_path / "x.csv")
    assert isinstance(info.value, OSError) and isinstance(info.value, CoverageError)
    assert list(tmp_path.iterdir()) == []


# --- determinism ---------------------------------------------------------------------------------


def test_national_report_is_byte_identical(tmp_path):
    """The national report with maps and the workbook, run twice into two folders: every file,
    HTML maps and manifest included, identical byte for byte."""
    for name in ("a", "b"):
        result = runner.invoke(app, ["report", "--as-of", "2024-01-01", "--xlsx", "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    a, b = _present(tmp_path / "a") | {MANIFEST_FILE}, _present(tmp_path / "b") | {MANIFEST_FILE}
    assert a == b and {"taiwan.html", "嘉義縣.html", "coverage.xlsx", "index.html"} <= a
    for name in sorted(a):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


_PIECES = ["..", "", ".", "old.csv", "a.csv", "sub", "lib", "outside.txt", "manifest.json", "\x00", "..\\outside.txt"]


def test_any_previous_manifest_prunes_only_its_own_unchanged_files():
    """Structurally valid manifests with hostile paths ('..', absolute, NUL, the manifest itself,
    wrong hashes, wrong types): the run succeeds, nothing outside the folder is touched, and a
    listed file inside is removed exactly when its hash is the listed one."""
    pruned: list[str] = []

    @settings(max_examples=60, deadline=None)
    @given(entries=st.lists(st.fixed_dictionaries({
        "path": st.one_of(st.sampled_from(["old.csv", "sub/old.csv", "sub/../old.csv", "./sub/old.csv"]),
                          st.lists(st.sampled_from(_PIECES), min_size=1, max_size=4).map("/".join),
                          st.sampled_from(["/", "//outside.txt"]), st.integers(), st.none()),
        "sha256": st.sampled_from([hashlib.sha256(b"keep").hexdigest()] * 3 + ["0" * 64, None, 5]),
        "size": st.integers(),
    }), max_size=6), absolute=st.booleans())
    # both listed files with their right hash, once for certain: random draws reach them only now and then
    @example(entries=[{"path": p, "sha256": hashlib.sha256(b"keep").hexdigest(), "size": 4}
                      for p in ("old.csv", "./sub/old.csv")], absolute=True)
    def run(entries, absolute):
        keep = hashlib.sha256(b"keep").hexdigest()
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            outside, out = root / "outside.txt", root / "o"
            (out / "sub").mkdir(parents=True)
            outside.write_text("keep", encoding="utf-8")
            for name in ("old.csv", "sub/old.csv"):
                (out / name).write_text("keep", encoding="utf-8")
            if absolute:
                entries = [*entries, {"path": str(outside), "sha256": keep}]
            (out / MANIFEST_FILE).write_text(json.dumps({"files": entries}), encoding="utf-8")
            with output_run(out):
                write_csv(pd.DataFrame({"a": [1]}), out / "a.csv")
            assert outside.read_text(encoding="utf-8") == "keep"
            assert (out / "a.csv").exists()

            def names(entry, name):
                path = entry["path"]
                if not isinstance(path, str) or "\x00" in path or entry["sha256"] != keep:
                    return False
                return (out / path).resolve() == (out / name).resolve()

            for name in ("old.csv", "sub/old.csv"):
                listed = any(names(e, name) for e in entries)
                assert (out / name).exists() is not listed, name
                if listed:
                    pruned.append(name)
                    event(f"pruned {name}")
            assert [f["path"] for f in _manifest(out)["files"]] == ["a.csv"]

    run()
    assert "old.csv" in pruned and "sub/old.csv" in pruned, pruned  # the strategy reached the pruning asserts


# ----------------------------------------------------------------------------- make demo (issue 15 item 4)

def _demo_commands() -> list[list[str]]:
    """The `safetynet` commands of the Makefile's demo recipe, in order, as argument lists."""
    import shlex

    lines = (Path(__file__).resolve().parents[1] / "Makefile").read_text(encoding="utf-8").splitlines()
    start = lines.index("demo: setup")
    recipe = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        recipe.append(shlex.split(line.strip()))
    assert all(cmd[0] == "$(BIN)/safetynet" for cmd in recipe), recipe
    return [cmd[1:] for cmd in recipe]


def test_make_demo_shows_the_national_welfare_centres_first(tmp_path):
    """make demo: 社福中心 of every county by presence, then by service area, then every programme into maps/.
    The first two commands, run as written (with --no-maps, into tmp_path), cover all 22 counties with
    complete data, and service areas cover at least what presence does."""
    commands = _demo_commands()
    assert [c[c.index("--out") + 1] for c in commands] == ["maps/welfare-centres", "maps/service-area", "maps"]
    presence, service_area, everything = commands
    assert presence[:3] == ["report", "--category", "welfare_centre"] and "--definition" not in presence
    assert service_area[:5] == ["report", "--category", "welfare_centre", "--definition", "service-area"]
    assert everything == ["report", "--out", "maps"]
    rates = {}
    for name, cmd in (("presence", presence), ("service-area", service_area)):
        args = [a for a in cmd if a != "--no-maps"]
        args[args.index("--out") + 1] = str(tmp_path / name)
        result = CliRunner().invoke(app, [*args, "--no-maps"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        table = pd.read_csv(tmp_path / name / "coverage.csv", dtype={"rate": float}, encoding="utf-8-sig",
                            keep_default_na=False)
        assert set(table["category"]) == {"welfare_centre"} and table["county"].nunique() == 22
        assert (table["data"] == "complete").all()
        rates[name] = table.set_index("county")["rate"]
    assert (rates["service-area"] >= rates["presence"]).all() and (rates["service-area"] > rates["presence"]).any()


def test_readme_counts_of_the_bundled_registry():
    """The README's paragraph on what is bundled says the counts the files hold."""
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    reg = pd.read_csv(root / "geodata" / "registry.csv", comment="#", dtype=str, keep_default_na=False)
    comp = pd.read_csv(root / "geodata" / "registry_completeness.csv", comment="#", dtype=str)
    wc = reg[reg["category"] == "welfare_centre"]
    mh = reg[reg["category"] == "mental_health_centre"]
    n_pairs = reg["county"].nunique() * 4
    data = comp["data"].value_counts()
    claims = [f"`geodata/registry.csv` holds {len(reg)} points", f"({len(wc)} rows: {(wc['kind'] == 'centre').sum()} "
              f"centres and\n{(wc['kind'] == 'outpost').sum()} 澎湖 outposts, all {wc['county'].nunique()} counties",
              f"({len(mh)} rows\nin {mh['county'].nunique()} counties",
              f"of the {n_pairs} pairs, {data['complete']} complete, {data['partial']} partial, and the other "
              f"{n_pairs - len(comp)} have no data"]
    for claim in claims:
        assert claim in readme, claim


# ----------------------------------------------------------------------------- minutes by road


def test_network_without_population_lists_unreached_villages(shared_data, tmp_path):
    """苗栗縣's roads reach 苗栗縣's villages, not most of 新竹縣's: those get no minutes, a reason, a listing;
    townships get the plain mean and max minutes of their villages (no population to weight them)."""
    from coverage.pipeline import run_coverage
    from coverage.report import write_report

    report = run_coverage(counties=["苗栗縣", "新竹縣"], categories=["社福中心"], as_of="2025-01-01",
                          network=shared_data / "roads" / "Miaoli_Road_Network.shp")
    paths = write_report(report, tmp_path)
    assert "villages" not in paths  # no population: no villages.csv
    summary = json.loads(paths["summary"].read_text(encoding="utf-8"))["travel"]
    travel = report.travel
    unreached = travel[travel["nearest_min"].isna()]
    assert len(unreached) and sum(summary["villages_without_min"].values()) == len(unreached)
    cut = unreached[unreached["reason"] == "no road connection to a facility"]
    assert {v["villcode"] for v in summary["unreached_villages"]} == set(cut["villcode"])
    assert all(v["village"] and v["township"] for v in summary["unreached_villages"])
    towns = pd.read_csv(paths["townships"], dtype={"towncode": str})
    assert {"mean_min", "max_min", "villages_without_min"} <= set(towns.columns)
    assert "population_within_min" not in towns  # needs village population
    by_town = travel.groupby("towncode")["nearest_min"]
    t = towns.set_index("towncode")
    assert t["mean_min"].to_numpy() == pytest.approx(by_town.mean().round(2).reindex(t.index).to_numpy(), nan_ok=True)
    assert (t["villages_without_min"] == by_town.apply(lambda s: s.isna().sum()).reindex(t.index)).all()
    miaoli = t[t["county"] == "苗栗縣"]
    assert miaoli["mean_min"].notna().all() and miaoli["mean_min"].idxmax() == "10005180"  # 泰安鄉
