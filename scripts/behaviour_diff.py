"""Prove that a change kept the tool's behaviour: run one fixed command set on two git refs, diff every output.

Usage (from the repository; the Makefile target is ``make behaviour-diff BASE=main [HEAD=HEAD]``)::

    python scripts/behaviour_diff.py BASE_REF [HEAD_REF] [--data DIR] [--python EXE] [--workdir DIR] [--keep]
                                      [--only NAME]... [--no-run]

``HEAD_REF`` defaults to ``HEAD``; the special value ``WORKTREE`` takes the current checkout as it is on disk
(uncommitted edits included). Each ref is exported with ``git archive`` (the shared repository is not
touched: no ``git worktree``, no checkout) into the SAME path, ``WORKDIR/checkout``, one ref after the
other, and every command runs in the SAME folder ``WORKDIR/run/NAME`` with the SAME absolute input paths.
So file paths that an output records (the bundled registry in ``manifest.json``, map sources, …) are
byte-identical for both refs and need no rewriting; the outputs of each ref are then moved to
``WORKDIR/out/<label>/NAME``. A run claims WORKDIR with ``WORKDIR/.lock`` (its pid): a second run into the
same folder is refused, since both would export into the same checkout path.

Each command runs with ``PYTHON -m coverage.cli …`` (default the interpreter running this script, e.g.
``.venv/bin/python``) and ``PYTHONPATH=WORKDIR/checkout``: the venv holds an editable install of one
checkout, so the script first checks that ``import coverage`` resolves inside the exported checkout and
stops otherwise. The environment is built from scratch (no inherited ``SAFETYNET_*`` variable):
``TZ=UTC``, ``LC_ALL=C.UTF-8``, ``COLUMNS=120`` (rich tables wrap by terminal width), ``NO_COLOR``,
``MPLBACKEND=Agg``, ``SAFETYNET_CACHE`` emptied per ref (a road graph cached by one ref must not be read by
the other). ``PYTHONHASHSEED`` is NOT fixed: an identical result of BASE vs BASE then also shows that set
and dict order does not leak into any output. Every date-dependent option is given (``--as-of``,
``trend --to``); nothing reads the network (maps only name tile URLs).

Inputs: the real files of ``../shared/data`` (``--data``, else ``SAFETYNET_SHARED_DATA``, else the sibling
of the repository; see its PROVENANCE.md) and a few small files this script writes once into
``WORKDIR/inputs`` before either ref runs (a lon/lat point grid over Taiwan with off-shore and malformed
rows, a registry with deliberately bad rows as CSV and XLSX, a later registry derived from the base ref's
bundled one for ``diff``, a what-if scenario).

Commands (``--only NAME`` runs a subset; names as below):

* ``report-national`` — every county: ``--population`` (village age groups 2021-03), ``--dem`` (both 1 km
  grids), maps (HTML, ``--png``), ``--xlsx``, ``--gpkg``: coverage, townships, priorities, villages, 2SFCA,
  remote/mountain flags, the workbook, the GeoPackage, every county map and index.html;
* ``report-network`` — 苗栗縣 with the road network (travel_times.csv, village level maps);
* ``report-bad`` — a registry with bad rows (rejected.csv, counts), service-area definition;
* ``report-xlsx-registry`` — the same bad registry as an XLSX workbook (skipped without openpyxl);
* ``map-village`` — 嘉義縣 village map from the MOI single-age file, NLSC basemap, PNG;
* ``trend``, ``trend-roc``, ``targets``, ``whatif``, ``whatif-scenario``, ``site-population``,
  ``site-setcover`` — the planning commands (priorities are part of the reports above);
* ``locate``, ``nearest`` — the point grid (village level; nearest per programme);
* ``brief`` — 嘉義縣's brief (pptx + pdf) with population and terrain;
* ``validate-bad``, ``validate-geojson`` — validate (prints only);
* ``diff`` — the derived later registry against the base one;
* ``error-population``, ``error-objective`` — input errors: the one-line message and exit code 1.

For every command the compared files are all files it wrote, plus ``_stdout.txt``, ``_stderr.txt`` and
``_exit.txt`` (its exit code).

Known non-deterministic parts, normalised before comparing (found by running BASE against BASE; each
normaliser is the regular expression listed in :data:`NORMALISERS`):

* ``sites.json`` of ``site``: ``"solve_seconds"`` (HiGHS wall time) → ``"<seconds>"``;
* ``_stdout.txt`` of ``site``: the solve time in ``solver: … gap 0.000%, 0.041 s; wrote …`` → ``<seconds> s``.

Nothing else is rewritten: every other file, binary ones (xlsx, gpkg, pptx, pdf, png, parquet) included,
must be identical byte for byte.

Exit status: 0 when every file is identical, 1 when some differ or are missing on one side (a table of
them is printed, with the head of a unified diff for text files and the differing members of zip files),
2 on a usage or setup error (unknown ref, missing data, ``coverage`` not importable from the checkout).

Cost: about 7 CPU minutes for both refs, most of it the national report (28 wall minutes measured on a
2-core machine shared with other jobs, load 8-10); ``--only`` for a quick look at one command.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path
from typing import NoReturn

__all__ = ["COMMANDS", "NORMALISERS", "compare_trees", "main", "run_ref"]

REPO = Path(__file__).resolve().parents[1]
AS_OF = "2025-12-31"

# (command name or "*", file name relative to the command's folder, pattern, replacement, why)
NORMALISERS: list[tuple[str, str, str, str, str]] = [
    ("site-*", "out/sites.json", r'"solve_seconds": [0-9.eE+-]+', '"solve_seconds": "<seconds>"',
     "HiGHS wall time"),
    ("site-*", "_stdout.txt", r"(optimality gap [0-9.]+%, )[0-9.eE+-]+ s;", r"\1<seconds> s;",
     "HiGHS wall time"),
]


def _d(name: str) -> str:
    return "{data}/" + name


POP_VILLAGE = _d("population/village_population_agegroups_2021-03.csv")
POP_TOWNSHIP = _d("population/township_population_2026-01.json")
POP_SINGLE_AGE = _d("population/moi_village_single_age_2015-05_chiayi_county.csv")
DEM = ["--dem", _d("terrain/G1km_TWD97-121_DTM_ELE.tif"), "--dem", _d("terrain/G1km_TWD97-119_DTM_ELE.tif")]

# name → argv after ``python -m coverage.cli``; {data} and {inputs} are absolute folders, the same for both refs.
COMMANDS: dict[str, list[str]] = {
    "report-national": ["report", "--population", POP_VILLAGE, *DEM, "--as-of", AS_OF, "--xlsx", "--gpkg", "--png",
                        "--out", "out"],
    "report-network": ["report", "--county", "苗栗縣", "--network", _d("roads/Miaoli_Road_Network.shp"),
                       "--population", POP_VILLAGE, "--level", "village", "--offline", "--as-of", AS_OF,
                       "--out", "out"],
    "report-bad": ["report", "-f", "{inputs}/bad_registry.csv", "--county", "嘉義縣", "--county", "臺中市",
                   "--definition", "service-area", "--as-of", AS_OF, "--no-maps", "--xlsx", "--out", "out"],
    "report-xlsx-registry": ["report", "-f", "{inputs}/bad_registry.xlsx", "--county", "嘉義縣", "--as-of", AS_OF,
                             "--no-maps", "--out", "out"],
    "map-village": ["map", "--county", "嘉義縣", "--level", "village", "--population", POP_SINGLE_AGE,
                    "--age-group", "children", "--basemap", "nlsc", "--png", "--as-of", AS_OF, "--out", "out"],
    "trend": ["trend", "--from", "2019", "--to", "2025", "--population", POP_TOWNSHIP, "--out", "out"],
    "trend-roc": ["trend", "--from", "108", "--to", "114", "--roc", "--county", "嘉義縣", "--no-chart",
                  "--out", "out"],
    "targets": ["targets", "--as-of", AS_OF, "--out", "out"],
    "whatif": ["whatif", "--add", "嘉義縣阿里山鄉:community_support_point", "--remove", "日安竹崎社會福利服務中心",
               "--population", POP_VILLAGE, "--as-of", AS_OF],
    "whatif-scenario": ["whatif", "--scenario", "{inputs}/scenario.csv", "--county", "嘉義縣", "--as-of", AS_OF],
    "site-population": ["site", "--county", "嘉義縣", "--category", "community_support_point", "--new", "2",
                        "--objective", "population", "--population", POP_VILLAGE, "--as-of", AS_OF, "--offline",
                        "--out", "out"],
    "site-setcover": ["site", "--county", "嘉義縣", "--category", "mental_health_centre", "--as-of", AS_OF,
                      "--no-map", "--out", "out"],
    "locate": ["locate", "{inputs}/points.csv", "--level", "village", "--out", "out/located.parquet"],
    "nearest": ["nearest", "{inputs}/points.csv", "--as-of", AS_OF, "--out", "out/nearest.parquet"],
    "brief": ["brief", "--county", "嘉義縣", "--population", POP_VILLAGE, *DEM, "--as-of", AS_OF, "--out", "out"],
    "validate-bad": ["validate", "{inputs}/bad_registry.csv"],
    "validate-geojson": ["validate", _d("registries/mental_health_facilities_national.geojson")],
    "diff": ["diff", "{inputs}/registry_old.csv", "{inputs}/registry_new.csv", "--as-of", AS_OF, "--out", "out"],
    "error-population": ["report", "--population", "{inputs}/no_such_population.csv", "--county", "嘉義縣",
                         "--no-maps", "--out", "out"],
    "error-objective": ["site", "--county", "嘉義縣", "--category", "community_support_point", "--objective",
                        "population", "--no-map", "--out", "out"],
}

BAD_REGISTRY = [
    ["category", "name", "county", "township", "address", "lon", "lat", "status", "opened", "closed", "serves",
     "電話", "cases"],
    ["community_support_point", "竹崎小衛星", "嘉義縣", "竹崎鄉", "", "120.5512", "23.5231", "營運中", "112/07", "",
     "", "05-1234567", "12"],
    ["小衛星", "東石據點", "", "", "嘉義縣東石鄉東石村1號", "", "", "營運中", "2022", "", "", "", "2"],
    ["welfare_centre", "民雄中心", "嘉義縣", "民雄鄉", "", "", "", "營運中", "", "", "民雄鄉、新港鄉、溪口鄉",
     "", "1,234"],
    ["小衛", "錯字據點", "嘉義縣", "梅山鄉", "", "", "", "營運中", "", "", "", "", ""],
    ["community_support_point", "無此鄉", "嘉義縣", "阿里山", "", "", "", "營運中", "", "", "", "", ""],
    ["community_support_point", "海上", "", "", "", "119.0", "22.0", "營運中", "", "", "", "", ""],
    ["community_support_point", "經緯度對調", "", "", "", "23.46", "120.25", "營運中", "", "", "", "", ""],
    ["community_support_point", "不符", "嘉義縣", "番路鄉", "", "120.2497", "23.4661", "營運中", "", "", "", "",
     ""],
    ["community_support_point", "規劃中據點", "嘉義縣", "大埔鄉", "", "", "", "規劃中", "2027", "", "", "", ""],
    ["community_support_point", "已結束", "嘉義縣", "六腳鄉", "", "", "", "營運中", "2019", "2020-12-31", "", "",
     ""],
    ["mental_health_centre", "=SUM(A1)", "臺中市", "豐原區", "", "", "", "營運中", "民國112年7月", "", "", "", "x"],
    ["custom programme", "自訂", "嘉義縣", "太保市", "", "", "", "營運中", "", "", "", "", ""],
    ["", "", "", "", "", "", "", "", "", "", "", "", ""],
    ["community_support_point", "壞日期", "嘉義縣", "水上鄉", "", "", "", "營運中", "13/45/99", "", "", "", ""],
]


def _write_inputs(inputs: Path, base_registry: bytes) -> None:
    """The small input files, written once (same bytes for both refs)."""
    inputs.mkdir(parents=True, exist_ok=True)
    with open(inputs / "bad_registry.csv", "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(BAD_REGISTRY)
        fh.write('community_support_point,"一個引號,嘉義縣,鹿草鄉,,,,營運中,,,,,\n')
    try:
        import openpyxl
    except ImportError:
        print("note: openpyxl not importable: report-xlsx-registry is skipped", file=sys.stderr)
    else:
        book = openpyxl.Workbook()
        for row in BAD_REGISTRY:
            book.active.append(row)
        book.save(inputs / "bad_registry.xlsx")
    rows = ["lon,lat,id"]
    n = 0
    for i in range(57):  # 0.05° grid over Taiwan, Penghu, Kinmen and Matsu, sea points included
        for j in range(74):
            rows.append(f"{119.3 + 0.05 * i:.2f},{21.85 + 0.05 * j:.2f},p{n}")
            n += 1
    rows += [",,blank", "abc,23.5,text", "200,23.5,out-of-range", "120.45,23.45,chiayi-duplicate",
             "120.45,23.45,chiayi-duplicate"]
    (inputs / "points.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (inputs / "scenario.csv").write_text(
        "action,target\nadd,嘉義縣阿里山鄉:community_support_point\n新增,嘉義縣大埔鄉:community_support_point\n"
        "remove,日安中埔社會福利服務中心\n", encoding="utf-8")
    (inputs / "registry_old.csv").write_bytes(base_registry)
    (inputs / "registry_new.csv").write_text(_later_registry(base_registry.decode("utf-8")), encoding="utf-8")


def _later_registry(text: str) -> str:
    """A plausible next year's registry: some points closed, one moved, one renamed, one opened, ids dropped."""
    lines = text.splitlines()
    comments = [ln for ln in lines if ln.startswith("#")]
    reader = csv.DictReader([ln for ln in lines if not ln.startswith("#")])
    fields = [f for f in reader.fieldnames if f != "id"]  # no id: matching by name, then township
    rows = list(reader)
    out = io.StringIO()
    out.write("\n".join(comments) + "\n" if comments else "")
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for k, row in enumerate(rows):
        if k % 37 == 5:
            continue  # closed
        if k % 41 == 7 and row["lon"]:
            row["lon"], row["lat"] = f"{float(row['lon']) + 0.08:.6f}", f"{float(row['lat']) + 0.05:.6f}"  # moved
        if k % 43 == 11:
            row["name"] = row["name"] + "（新址）"  # renamed
        writer.writerow(row)
    writer.writerow({"category": "community_support_point", "name": "阿里山小衛星", "county": "嘉義縣",
                     "township": "阿里山鄉", "status": "營運中", "opened": "2025-03-01"})
    return out.getvalue()


def _die(message: str) -> NoReturn:
    """Stop with a one-line setup error (exit 2)."""
    print(f"behaviour_diff: {message}", file=sys.stderr)
    raise SystemExit(2)


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, check=False)


def _export(ref: str, dest: Path) -> str:
    """Put ``ref``'s tree at ``dest`` (emptied first); return a label with the commit."""
    if dest.exists():
        shutil.rmtree(dest)
    if ref == "WORKTREE":
        shutil.copytree(REPO, dest, ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.pyc",
                                                                   ".pytest_cache", ".hypothesis", "maps",
                                                                   ".mypy_cache", ".ruff_cache", "node_modules"))
        return "WORKTREE"
    rev = _git("rev-parse", "--verify", "--quiet", ref + "^{commit}")
    if rev.returncode:
        _die(f"unknown git ref {ref!r}")
    sha = rev.stdout.decode().strip()
    archive = _git("archive", "--format=tar", sha)
    if archive.returncode:
        _die(f"git archive {ref} failed: {archive.stderr.decode().strip()}")
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return sha[:12]


def _env(checkout: Path, cache: Path) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(cache.parent)),
        "PYTHONPATH": str(checkout),
        "PYTHONDONTWRITEBYTECODE": "1",
        "TZ": "UTC",
        "LC_ALL": "C.UTF-8",
        "LANG": "C.UTF-8",
        "COLUMNS": "120",
        "NO_COLOR": "1",
        "TERM": "dumb",
        "MPLBACKEND": "Agg",
        "SAFETYNET_CACHE": str(cache),
    }
    for keep in ("MPLCONFIGDIR", "XDG_CACHE_HOME", "SAFETYNET_CJK_FONT"):  # font lookup, not behaviour
        if keep in os.environ:
            env[keep] = os.environ[keep]
    return env


def run_ref(ref: str, label: str, workdir: Path, python: str, data: Path, names: list[str]) -> dict[str, float]:
    """Export ``ref``, run the commands ``names`` on it, move their outputs to ``workdir/out/label``.

    Returns the wall seconds of each command.
    """
    checkout, run, cache = workdir / "checkout", workdir / "run", workdir / "run-cache"
    sha = _export(ref, checkout)
    for folder in (run, cache):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    env = _env(checkout, cache)
    where = subprocess.run([python, "-c", "import coverage; print(coverage.__file__)"], cwd=run, env=env,
                           capture_output=True, text=True, check=False)
    found = Path(where.stdout.strip() or "?").resolve()
    if where.returncode or not found.is_relative_to(checkout.resolve()):
        _die(f"with PYTHONPATH={checkout}, coverage is imported from {found} "
                         f"({where.stderr.strip()[-300:]}); expected the exported checkout")
    print(f"[{label}] {ref} ({sha}) → coverage from {found}", flush=True)
    values = {"data": str(data), "inputs": str(workdir / "inputs")}
    seconds = {}
    for name in names:
        folder = run / name
        folder.mkdir()
        argv = [python, "-m", "coverage.cli", *(a.format(**values) for a in COMMANDS[name])]
        start = time.monotonic()
        with open(folder / "_stdout.txt", "wb") as out, open(folder / "_stderr.txt", "wb") as err:
            code = subprocess.run(argv, cwd=folder, env=env, stdout=out, stderr=err, check=False).returncode
        seconds[name] = time.monotonic() - start
        (folder / "_exit.txt").write_text(f"{code}\n", encoding="utf-8")
        print(f"[{label}] {name:22s} exit {code}  {seconds[name]:7.1f} s", flush=True)
    dest = workdir / "out" / label
    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(run), str(dest))
    (dest / "_ref.txt").write_text(f"{ref} {sha}\n", encoding="utf-8")
    return seconds


def _normalise(rel: str, data: bytes) -> bytes:
    command, _, inner = rel.partition("/")
    for pattern_cmd, pattern_file, regex, repl, _why in NORMALISERS:
        if Path(command).match(pattern_cmd) and inner == pattern_file:
            data = re.sub(regex.encode(), repl.encode(), data)
    return data


def _files(root: Path) -> set[str]:
    skip = {"_ref.txt"}
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.name not in skip}


def _text(data: bytes) -> list[str] | None:
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return None


def _zip_members(data: bytes) -> dict[str, bytes] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return {i.filename: zf.read(i) for i in zf.infolist()}
    except (zipfile.BadZipFile, OSError):
        return None


def _explain(rel: str, a: bytes, b: bytes, head: int) -> list[str]:
    """A few lines saying how two versions of one file differ."""
    lines_a, lines_b = _text(a), _text(b)
    if lines_a is not None and lines_b is not None:
        diff = list(difflib.unified_diff(lines_a, lines_b, f"base/{rel}", f"head/{rel}", n=1))
        shown = [ln.rstrip("\n")[:200] for ln in diff[:head]]
        return shown + ([f"… {len(diff) - head} more diff lines"] if len(diff) > head else [])
    za, zb = _zip_members(a), _zip_members(b)
    if za is not None and zb is not None:
        names = sorted(set(za) | set(zb))
        changed = [n for n in names if za.get(n) != zb.get(n)]
        return [f"zip members differing: {', '.join(changed[:12])}" + (" …" if len(changed) > 12 else "")]
    return [f"binary: {len(a)} vs {len(b)} bytes"]


def compare_trees(base: Path, head: Path, *, diff_lines: int = 20) -> list[tuple[str, str, str]]:
    """Compare two output trees file by file after :data:`NORMALISERS`; print and return the differences.

    Returns ``(status, path, detail)`` per differing file, status ``differs``, ``only in base`` or
    ``only in head``; an empty list means identical.
    """
    fa, fb = _files(base), _files(head)
    problems: list[tuple[str, str, str]] = []
    details: list[str] = []
    for rel in sorted(fa | fb):
        if rel not in fb:
            problems.append(("only in base", rel, f"{(base / rel).stat().st_size} bytes"))
            continue
        if rel not in fa:
            problems.append(("only in head", rel, f"{(head / rel).stat().st_size} bytes"))
            continue
        a, b = _normalise(rel, (base / rel).read_bytes()), _normalise(rel, (head / rel).read_bytes())
        if a != b:
            problems.append(("differs", rel, f"{len(a)} → {len(b)} bytes"))
            details += [f"--- {rel}", *_explain(rel, a, b, diff_lines), ""]
    print(f"compared {len(fa | fb)} files ({len(fa)} base, {len(fb)} head)")
    if problems:
        width = max(len(p[1]) for p in problems)
        print(f"\n{'status':13s}  {'file':{width}s}  detail")
        for status, rel, detail in problems:
            print(f"{status:13s}  {rel:{width}s}  {detail}")
        print()
        print("\n".join(details))
    return problems


def _lock(workdir: Path) -> Path:
    """Claim ``workdir`` for this process (``.lock`` holding the pid); stop if a live process holds it."""
    lock = workdir / ".lock"
    for _attempt in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid = int(lock.read_text(encoding="utf-8").strip() or 0)
                os.kill(pid, 0)
            except (ValueError, ProcessLookupError, FileNotFoundError):
                lock.unlink(missing_ok=True)  # left by a run that is gone
                continue
            except PermissionError:
                pass
            _die(f"{workdir} is in use by process {pid}; give another --workdir")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()}\n")
        return lock
    _die(f"cannot claim {workdir} (.lock keeps reappearing)")


def _data_dir(given: str | None) -> Path:
    for candidate in (given, os.environ.get("SAFETYNET_SHARED_DATA"), str(REPO.parent / "shared" / "data")):
        if candidate and (Path(candidate) / "PROVENANCE.md").is_file():
            return Path(candidate).resolve()
    _die("no shared data folder (give --data DIR or SAFETYNET_SHARED_DATA; "
                     "it holds PROVENANCE.md, population/, terrain/, roads/, registries/)")


def main(argv: list[str] | None = None) -> int:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base", help="git ref before the change (e.g. main, a commit)")
    parser.add_argument("head", nargs="?", default="HEAD", help="git ref after (default HEAD; WORKTREE: as on disk)")
    parser.add_argument("--data", help="shared data folder (default SAFETYNET_SHARED_DATA or ../shared/data)")
    parser.add_argument("--python", default=sys.executable, help="interpreter with the dependencies")
    parser.add_argument("--workdir", help="working folder (default a new temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the working folder (always kept with --workdir)")
    parser.add_argument("--only", action="append", choices=sorted(COMMANDS), metavar="NAME",
                        help="run only this command; repeatable")
    parser.add_argument("--no-run", action="store_true", help="only compare WORKDIR/out/base and WORKDIR/out/head")
    parser.add_argument("--diff-lines", type=int, default=20, help="unified diff lines shown per text file")
    args = parser.parse_args(argv)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="behaviour-diff-")).resolve()
    keep = args.keep or args.workdir is not None
    names = args.only or list(COMMANDS)
    if not args.no_run:
        _run_both(args, workdir, names, keep)
    base, head = workdir / "out" / "base", workdir / "out" / "head"
    for side in (base, head):
        if not side.is_dir():
            _die(f"{side} does not exist: nothing to compare (run without --no-run first)")
    problems = compare_trees(base, head, diff_lines=args.diff_lines)
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"outputs kept in {workdir}/out/{{base,head}}")
    print("IDENTICAL" if not problems else f"DIFFERENT: {len(problems)} files")
    return 1 if problems else 0


def _run_both(args: argparse.Namespace, workdir: Path, names: list[str], keep: bool) -> None:
    """Write the inputs, then run BASE and HEAD one after the other into ``workdir/out``."""
    data = _data_dir(args.data)
    workdir.mkdir(parents=True, exist_ok=True)
    lock = _lock(workdir)
    ok = False
    try:
        shutil.rmtree(workdir / "inputs", ignore_errors=True)
        shutil.rmtree(workdir / "out", ignore_errors=True)
        registry = _git("show", f"{args.base}:geodata/registry.csv")
        if registry.returncode:
            _die(f"cannot read geodata/registry.csv at {args.base!r}: {registry.stderr.decode().strip()}")
        _write_inputs(workdir / "inputs", registry.stdout)
        if not (workdir / "inputs" / "bad_registry.xlsx").exists():
            names = [n for n in names if n != "report-xlsx-registry"]
        start = time.monotonic()
        for ref, label in ((args.base, "base"), (args.head, "head")):
            seconds = run_ref(ref, label, workdir, args.python, data, names)
            print(f"[{label}] {sum(seconds.values()):.0f} s in commands", flush=True)
        print(f"wall time {time.monotonic() - start:.0f} s")
        ok = True
    finally:
        shutil.rmtree(workdir / "checkout", ignore_errors=True)
        lock.unlink(missing_ok=True)
        if not ok and not keep:
            shutil.rmtree(workdir, ignore_errors=True)

if __name__ == "__main__":
    sys.exit(main())
