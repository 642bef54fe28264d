"""The map outputs (issue 16): `map --png` for every county, and the national `report` with its maps.

    python benchmarks/maps.py --png [--repeat 3]       # `safetynet map --png --offline`, all counties
    python benchmarks/maps.py --report [--repeat 5]    # `safetynet report` (maps included) and `--no-maps`: warm
                                                       # and cold map cache, bytecode cached or not, import floor
    python benchmarks/maps.py --stages                 # where the national report's time goes, stage by stage
    python benchmarks/maps.py --figures                # county_figure() alone, all counties, in one process
    python benchmarks/maps.py --png --baseline DIR     # also the same commands from another checkout, in turn
                                                       # (e.g. `git archive 3cc2b6c | tar -x -C DIR`: before)

Every command runs as ``python -m coverage.cli`` from this checkout, in a subprocess, timed end to end
(start-up included); its CPU time (user + system, from ``getrusage`` of the children) is given beside the
wall time, since on a shared machine the wall time mostly measures the other processes. ``--stages``
runs the report's steps in this process with a timer around each (inclusive times: a stage contains
the ones indented below it). Prints markdown for BENCHMARKS.md, with the load average before and after.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (5 min {five:.2f}) on {os.cpu_count()} cores"


def summary(samples: list[float]) -> str:
    if len(samples) == 1:
        return f"{samples[0]:.2f} s (n=1)"
    return f"{statistics.median(samples):.2f} s (min {min(samples):.2f}, max {max(samples):.2f}, n={len(samples)})"


def cli(args: list[str], repeat: int, root: Path = ROOT) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of ``python -m coverage.cli ARGS`` run from checkout ``root``, ``repeat`` times."""
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "coverage.cli", *args], cwd=root, check=True, capture_output=True)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def bench_cli(repeat: int, runs: list[tuple[str, list[str], str]], baseline: Path | None = None) -> list[str]:
    """One row per run (and per run of ``baseline``, measured in turn with ours, repeat by repeat)."""
    lines = ["| what | code | command | wall | CPU (user + sys) | target |", "|---|---|---|---|---|---|"]
    sides = [("this checkout", ROOT)] + ([(f"baseline ({baseline.name})", baseline)] if baseline else [])
    with tempfile.TemporaryDirectory() as tmp:
        for label, args, target in runs:
            samples: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name, _ in sides}
            for i in range(repeat):
                for name, root in sides:
                    out = Path(tmp) / f"{label.replace(' ', '_')}-{i}-{len(name)}"
                    walls, cpus = cli([*args, "--out", str(out)], 1, root)
                    samples[name][0].extend(walls)
                    samples[name][1].extend(cpus)
            shown = " ".join(["safetynet", *args, "--out", "DIR"])
            for name, _ in sides:
                walls, cpus = samples[name]
                lines.append(f"| {label} | {name} | `{shown}` | {summary(walls)} | {summary(cpus)} | {target} |")
    return lines


def _env(cache: Path, pyc: Path | None) -> dict[str, str]:
    """The environment of a timed run: ``SAFETYNET_CACHE=cache``; with ``pyc`` the package's bytecode kept
    there (``PYTHONPYCACHEPREFIX``, as an installed tool has it), else none written (``PYTHONDONTWRITEBYTECODE``,
    as on this machine: every run compiles the package afresh)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    env["SAFETYNET_CACHE"] = str(cache)
    if pyc is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env["PYTHONPYCACHEPREFIX"] = str(pyc)
    return env


def _timed(cmd: list[str], root: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + sys of the child) seconds of one run of ``cmd`` from ``root``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=root, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def bench_report(repeat: int, baseline: Path | None = None) -> list[str]:
    """The national ``report`` (seed registry) with and without maps: warm and cold map cache, the package's
    bytecode cached or not; the baseline checkout (if any) measured in turn, run by run; the import floor.

    The map cache (``SAFETYNET_CACHE``) of each checkout is its own folder, warmed by one untimed run; a
    cold run gets an empty folder. Bytecode cached: ``PYTHONPYCACHEPREFIX`` (a folder per checkout, filled
    by the untimed run); not cached: ``PYTHONDONTWRITEBYTECODE=1``.
    """
    sides = [("this checkout", ROOT)] + ([(f"baseline ({baseline.name})", baseline)] if baseline else [])
    runs = [("report with maps, warm cache", ["report"], "warm", False, "≤ 1.5 s"),
            ("report with maps, warm cache", ["report"], "warm", True, "≤ 1.5 s"),
            ("report with maps, cold cache", ["report"], "cold", False, "-"),
            ("report --no-maps", ["report", "--no-maps"], "warm", False, "-"),
            ("report --no-maps", ["report", "--no-maps"], "warm", True, "-")]
    floors = [("floor: `import pandas, geopandas, shapely, pyarrow.parquet`",
               [sys.executable, "-c", "import pandas, geopandas, shapely, pyarrow.parquet"]),
              ("floor: `import pandas, geopandas, shapely, pyarrow.parquet, typer, rich.table`",
               [sys.executable, "-c", "import pandas, geopandas, shapely, pyarrow.parquet, typer, rich.table"]),
              ("floor: `python -c pass`", [sys.executable, "-c", "pass"])]
    lines = ["| what | bytecode | code | command | wall | CPU (user + sys) | CPU ratio to baseline | load (1 min) "
             "| target |", "|---|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for n, (_name, root) in enumerate(sides):  # warm the map cache and the bytecode of each side
            for pyc in (None, base / f"pyc-{n}"):
                _timed([sys.executable, "-m", "coverage.cli", "report", "--out", str(base / "warmup")], root,
                       _env(base / f"cache-{n}", pyc))
        for label, args, cache, bytecode, target in runs:
            samples: dict[int, tuple[list[float], list[float]]] = {n: ([], []) for n in range(len(sides))}
            loads = []
            for i in range(repeat):
                for n, (_name, root) in enumerate(sides):
                    folder = base / f"cache-{n}" if cache == "warm" else base / f"cold-{n}-{i}-{len(label)}"
                    env = _env(folder, base / f"pyc-{n}" if bytecode else None)
                    loads.append(os.getloadavg()[0])
                    out = base / f"out-{n}-{i}"
                    wall, cpu = _timed([sys.executable, "-m", "coverage.cli", *args, "--out", str(out)], root, env)
                    samples[n][0].append(wall)
                    samples[n][1].append(cpu)
            shown = " ".join(["safetynet", *args, "--out", "DIR"])
            ours = statistics.median(samples[0][1])
            for n, (name, _root) in enumerate(sides):
                walls, cpus = samples[n]
                ratio = f"{ours / statistics.median(cpus):.2f}×" if baseline and n else "-"
                lines.append(f"| {label} | {'cached' if bytecode else 'none'} | {name} | `{shown}` | "
                             f"{summary(walls)} | {summary(cpus)} | {ratio if n else '-'} | "
                             f"{min(loads):.2f}–{max(loads):.2f} | {target} |")
        for label, cmd in floors:
            walls, cpus, loads = [], [], []
            for _ in range(repeat):
                loads.append(os.getloadavg()[0])
                wall, cpu = _timed(cmd, ROOT, _env(base / "cache-0", base / "pyc-0"))
                walls.append(wall)
                cpus.append(cpu)
            lines.append(f"| {label} | cached | - | - | {summary(walls)} | {summary(cpus)} | - | "
                         f"{min(loads):.2f}–{max(loads):.2f} | - |")
    return lines


def bench_figures() -> list[str]:
    """county_figure() for every county in one process (report computed once, fonts warm)."""
    sys.path.insert(0, str(ROOT))
    from coverage.geography import load_townships
    from coverage.maps import county_figure
    from coverage.pipeline import run_coverage

    report = run_coverage()
    towns = load_townships()
    counties = list(dict.fromkeys(report.counties["county"]))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        county_figure(report, counties[-1], Path(tmp) / "warm.png", townships=towns)
        t0, c0 = time.perf_counter(), time.process_time()
        for county in counties:
            t, c = time.perf_counter(), time.process_time()
            path = county_figure(report, county, Path(tmp) / f"{county}.png", townships=towns)
            rows.append((county, time.perf_counter() - t, time.process_time() - c, path.stat().st_size))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    slowest = sorted(rows, key=lambda r: -r[2])[:3]
    return [f"`county_figure()` for the {len(counties)} counties, one process, report computed once: "
            f"{wall:.2f} s wall, {cpu:.2f} s CPU ({cpu / len(counties):.3f} s CPU a figure); slowest: "
            + ", ".join(f"{c} {cp:.2f} s ({size / 1e3:.0f} KB)" for c, _w, cp, size in slowest) + "."]


# (module, function, depth) timed by --stages; depth indents the row under the stage that contains it
STAGES = [
    ("coverage.geography", "load_townships", 0),  # called by the CLI's checks, run_coverage and write_maps
    ("coverage.pipeline", "run_coverage", 0),
    ("coverage.pipeline", "read_registries", 1),
    ("coverage.pipeline", "measure_coverage", 1),
    ("coverage.report", "write_report", 0),
    ("coverage.maps.render", "write_offline_assets", 0),
    ("coverage.maps.render", "_asset_texts", 1),
    ("coverage.cli.display", "report_printer", 0),  # the summary laid out while the forked copy renders pages
    ("coverage.maps.render", "render_map", 0),  # the pages THIS process renders (the forked copy's are not timed)
    ("coverage.maps.payload", "map_payload", 1),
    ("coverage.maps.payload", "display_geometry", 2),
    ("coverage.maps.payload", "township_tooltips", 2),
    ("coverage.maps.payload", "_facility_payload", 2),
    ("coverage.maps.payload", "_category_payload", 2),
    ("coverage.maps.payload", "township_states", 2),
    ("coverage.maps.payload", "_data_states", 2),
    ("coverage.maps.render", "render_index", 0),
]


def bench_stages() -> list[str]:
    """The national ``report`` (maps included) in this process, a timer around each stage of STAGES."""
    sys.path.insert(0, str(ROOT))
    t_import = time.perf_counter()
    from typer.testing import CliRunner

    from coverage.cli import app
    imported = time.perf_counter() - t_import
    spent: dict[tuple[str, str], list[float]] = {}

    def timer(key: tuple[str, str], fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            t, c = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                cell = spent.setdefault(key, [0.0, 0.0, 0])
                cell[0] += time.perf_counter() - t
                cell[1] += time.process_time() - c
                cell[2] += 1
        return wrapped

    for module, name, _depth in STAGES:
        mod = importlib.import_module(module)
        if hasattr(mod, name):  # a private helper renamed since: its row stays empty
            setattr(mod, name, timer((module, name), getattr(mod, name)))
    if "run_coverage" in vars(importlib.import_module("coverage")):  # the lazy re-export, if already resolved
        importlib.import_module("coverage").run_coverage = importlib.import_module("coverage.pipeline").run_coverage
    with tempfile.TemporaryDirectory() as tmp:
        t, c = time.perf_counter(), time.process_time()
        result = CliRunner().invoke(app, ["report", "--out", str(Path(tmp) / "out")])
        wall, cpu = time.perf_counter() - t, time.process_time() - c
    assert result.exit_code == 0, result.output
    lines = [f"`safetynet report --out DIR` in one process (CLI imported first: {imported:.2f} s): "
             f"{wall:.2f} s wall, {cpu:.2f} s CPU. Inclusive times; indented rows are inside the row above "
             "(load_townships is called from three places; its first call reads the file). The pages are shared "
             "with a forked copy of the process (coverage.maps.forkshare): `render_map` counts only the pages "
             "rendered in this process, the copy's run beside it on the other core.", "",
             "| stage (module: function) | calls | wall | CPU |", "|---|---|---|---|"]
    for module, name, depth in STAGES:
        w, cp, n = spent.get((module, name), (0.0, 0.0, 0))
        indent = "&nbsp;&nbsp;" * 2 * depth
        lines.append(f"| {indent}`{module.removeprefix('coverage.')}: {name}` | {n} | {w:.3f} s | {cp:.3f} s |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--png", action="store_true", help="`map --png --offline` for all counties (CLI)")
    parser.add_argument("--report", action="store_true", help="`report` with and without maps (CLI)")
    parser.add_argument("--stages", action="store_true", help="the national report, stage by stage")
    parser.add_argument("--figures", action="store_true", help="county_figure() alone, all counties")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout to run the CLI from, in turn")
    args = parser.parse_args()
    print(f"before: {load()}\n")
    if args.png:
        print("\n".join(bench_cli(args.repeat, [("map --png, all 22 counties (HTML maps + PNG figures)",
                                                 ["map", "--png", "--offline"], "≤ 15 s"),
                                                ("map, all 22 counties, no PNG (for comparison)",
                                                 ["map", "--offline"], "-")], args.baseline)), "\n")
    if args.report:
        print("\n".join(bench_report(args.repeat, args.baseline)), "\n")
    if args.figures:
        print("\n".join(bench_figures()), "\n")
    if args.stages:
        print("\n".join(bench_stages()), "\n")
    print(f"after: {load()}")


if __name__ == "__main__":
    main()
