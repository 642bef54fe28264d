"""Benchmark harness: run each measurement several times and write BENCHMARKS.md.

    python benchmarks/run.py            # full run (make bench)
    python benchmarks/run.py --quick    # smoke run: fewer repeats and points, no file written

Each figure: the command or call, input size, median of N runs and min–max.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
BIN = Path(sys.executable).parent


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def fmt(samples: list[float]) -> str:
    return f"{statistics.median(samples):.3f} s (min {min(samples):.3f}, max {max(samples):.3f}, n={len(samples)})"


def bench_load_townships(repeat: int) -> tuple[str, str, list[float]]:
    from coverage import geography

    def run():
        geography._load_bundled.cache_clear()
        geography.load_townships()

    run()  # warm the imports, not the cache
    return ("load_townships() (bundled GeoParquet + reference flags)", "368 townships", timed(run, repeat))


def bench_locate(repeat: int, n: int) -> tuple[str, str, list[float]]:
    import geopandas as gpd
    import numpy as np

    from coverage.geography import load_townships, locate_points

    towns = load_townships()
    rng = np.random.default_rng(0)
    pts = gpd.GeoSeries(gpd.points_from_xy(rng.uniform(120.0, 122.0, n), rng.uniform(21.9, 25.3, n)), crs="EPSG:4326")
    label = (f"locate_points(): {n:,} points uniform over 120–122°E × 21.9–25.3°N (about half at sea, which "
             "exercises the 1 km shoreline snapping)")
    return (label, f"{n:,} points × 368 polygons",
            timed(lambda: locate_points(pts, towns), repeat))


def bench_registry(repeat: int, n: int) -> tuple[str, str, list[float]]:
    import numpy as np
    import pandas as pd

    from coverage.facilities import read_facilities
    from coverage.geography import load_townships

    towns = load_townships()
    rng = np.random.default_rng(1)
    pick = towns.sample(n, replace=True, random_state=1)
    pts = pick.geometry.representative_point()
    frame = pd.DataFrame({
        "類別": rng.choice(["社福中心", "小衛星", "會所", "心衛中心"], n),
        "名稱": [f"據點{i}" for i in range(n)],
        "縣市": pick["county"].str.replace("臺", "台").to_numpy(),
        "鄉鎮市區": pick["township"].to_numpy(),
        "經度": (pts.x + rng.normal(0, 1e-4, n)).round(6).to_numpy(),
        "緯度": (pts.y + rng.normal(0, 1e-4, n)).round(6).to_numpy(),
        "啟用日期": rng.choice(["112/07/01", "2021-03-01", "民國110年5月", ""], n),
    })
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "registry.csv"
        frame.to_csv(path, index=False, encoding="utf-8-sig")
        samples = timed(lambda: read_facilities(path, townships=towns), repeat)
    return ("read_facilities(): CSV with Chinese headers, lon/lat, ROC dates, declared townships checked",
            f"{n:,} rows", samples)


def bench_cli(repeat: int, args: list[str], label: str, size: str) -> tuple[str, str, list[float]]:
    exe = BIN / "safetynet"
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(exe), *args] + (["--out", tmp] if "report" in args else [])
        subprocess.run(cmd, check=True, capture_output=True)  # warm the OS file cache
        return (f"`{' '.join(['safetynet', *args])}` wall time incl. start-up", size,
                timed(lambda: subprocess.run(cmd, check=True, capture_output=True), repeat))


def bench_maps(repeat: int) -> list[str]:
    """`safetynet map` wall time and HTML sizes: national township/village maps, the largest county map."""
    exe = BIN / "safetynet"
    lines = ["| map | command | size | time (all files of the run) |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for level in ("township", "village"):
            out = Path(tmp) / level
            cmd = [str(exe), "map", "--level", level, "--as-of", "2024-01-01", "--out", str(out)]
            samples = timed(lambda cmd=cmd: subprocess.run(cmd, check=True, capture_output=True), repeat)
            national = (out / "taiwan.html").stat().st_size
            skip = ("taiwan.html", "index.html")
            counties = {p.name: p.stat().st_size for p in out.glob("*.html") if p.name not in skip}
            biggest = max(counties, key=counties.get)
            shown = " ".join(["safetynet", *cmd[1:-2], "--out", "DIR"])
            lines.append(f"| national, {level} (taiwan.html) | `{shown}` | {national / 1e6:.2f} MB | {fmt(samples)} |")
            lines.append(f"| largest county, {level} ({biggest}) | same run | {counties[biggest] / 1e3:.0f} KB | - |")
            lines.append(f"| peer: naive folium, {level} polygons with tooltips | `folium.GeoJson(gdf)` | "
                         f"{naive_folium_size(level, Path(tmp)) / 1e6:.2f} MB | - |")
    return lines


def naive_folium_size(level: str, tmp: Path) -> int:
    """Size of a straightforward folium map of the same polygons (no simplification or rounding)."""
    import folium

    from coverage.geography import load_townships, load_villages

    gdf = load_townships() if level == "township" else load_villages()
    fields = ["county", "township"] + (["village"] if level == "village" else [])
    m = folium.Map(location=[23.7, 121], zoom_start=7)
    folium.GeoJson(gdf[[*fields, "geometry"]], tooltip=folium.GeoJsonTooltip(fields=fields)).add_to(m)
    path = tmp / f"naive-{level}.html"
    m.save(path)
    return path.stat().st_size


def profile_report(top: int = 8) -> list[str]:
    """cProfile of the end-to-end national run (run_coverage + write_report + maps): top functions by own time."""
    import cProfile
    import pstats

    from coverage.maps import write_maps
    from coverage.pipeline import run_coverage
    from coverage.report import write_report

    with tempfile.TemporaryDirectory() as tmp:
        def run():
            report = run_coverage()
            write_report(report, tmp)
            write_maps(report, tmp)

        run()  # warm imports and caches: the profile is of the work, not of importing
        prof = cProfile.Profile()
        prof.enable()
        run()
        prof.disable()
    stats = pstats.Stats(prof)
    total = stats.total_tt
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    lines = [f"`cProfile` of `run_coverage()` + `write_report()` + `write_maps()` for all 22 counties, warm: "
             f"{total:.2f} s of profiled time. Top functions by own time:", "",
             "| function | own time | calls |", "|---|---|---|"]
    for (file, line, name), (_cc, calls, own, _cum, _callers) in rows:
        where = Path(file).name if file != "~" else "builtin"
        lines.append(f"| `{name}` ({where}:{line}) | {own:.3f} s ({100 * own / total:.0f}%) | {calls:,} |")
    return lines


PROFILE_CHANGES = [
    "Hot spots removed after profiling (pyinstrument on the national run; cProfile on locating points), "
    "in the order found:",
    "",
    "* township-name index rebuilt for every registry read (70 ms a report): now cached per township table "
    "by identity (`coverage.names`);",
    "* shoreline snapping projected every polygon for every unlocated point: it now projects only the polygons "
    "within reach of the unlocated points (`coverage.geography.locate_points`);",
    "* locating points (cProfile of `locate_points`, 10^6 points into villages): the tie-break between polygons "
    "sorted every point's string code (~0.4 s per million) and the code column was re-inferred from Python "
    "strings (0.14 s); it now sorts only when some point lies in two polygons, on integer ranks, and takes the "
    "codes from the column itself (10^6 points into villages 2.03 → 1.40 s).",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smoke run, writes nothing unless --out is given")
    parser.add_argument("--no-peers", action="store_true", help="skip the slow PySAL peers (spopt ~70 s a run)")
    parser.add_argument("--out", type=Path, default=None, help="default BENCHMARKS.md (not written by --quick)")
    args = parser.parse_args()
    quick = args.quick
    out = args.out or (None if quick else ROOT / "BENCHMARKS.md")
    repeat = 2 if quick else 5
    n = 20_000 if quick else 1_000_000
    village_pop = ROOT.parent / "shared" / "data" / "population" / "village_population_agegroups_2021-03.csv"
    # (measurement, target from the issues; "-" where none was set)
    results = [
        (bench_load_townships(repeat), "≤ 0.2 s"),
        (bench_locate(repeat, n), "≤ 3 s (1M points)"),
        (bench_registry(repeat, 10_000 if quick else 100_000), "-"),
        (bench_cli(repeat, ["--help"], label="help", size="-"), "≤ 0.3 s"),
        (bench_cli(repeat, ["report", "--no-maps"], label="report", size="22 counties, seed registry (33 rows)"),
         "≤ 3 s"),
        (bench_cli(repeat, ["report"], label="report", size="22 counties, seed registry, + 22 county maps, "
                                                            "national map, index"), "-"),
    ]
    if village_pop.exists():
        results.append((bench_cli(repeat, ["report", "--no-maps", "--population", str(village_pop)],
                                  label="report", size="22 counties, 7,701 villages' population (2021-03): "
                                                       "population coverage, nearest, 2SFCA, remoteness, "
                                                       "priorities"), "-"))
    lines = [
        "# Benchmarks",
        "",
        f"Written by `python benchmarks/run.py` (`make bench`) on {platform.platform()}, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores. Median of {repeat} runs (min–max).",
        "",
        "## Core: start-up, reading, locating, the national report",
        "",
        "| what | input | time | target |",
        "|---|---|---|---|",
        *[f"| {what.replace(str(village_pop), 'village_population_agegroups_2021-03.csv')} | {size} | {fmt(s)} | "
          f"{target} |" for (what, size, s), target in results],
        "",
    ]
    from locate import run as locate_run

    sizes = [20_000] if quick else [1_000_000, 10_000_000]
    lines += ["## Locating points placed by population (10^6, 10^7) into townships and villages", "",
              "Each run in its own process (`benchmarks/locate.py`), peak resident memory of that process "
              "(includes building the points); peer `geopandas.sjoin(predicate='within')` on the same points "
              "(up to 10^6). Ours also snaps points up to 1 km off the coastline onto the nearest township, "
              "which sjoin leaves unlocated.", "",
              *locate_run(sizes, 1 if quick else 5), ""]
    from fca import run as fca_run

    fca_lines, fca_ok = fca_run(1 if quick else 5, 0 if args.no_peers else (1 if quick else 5))
    lines += ["## 2SFCA / Gaussian E2SFCA: ours vs PySAL access (7,701 villages × 2,000 facilities, 20 km)", "",
              "`benchmarks/fca.py`; issue 4 asks ≥ 10× on this instance. Two like-for-like comparisons: both "
              "from coordinates (each builds its own distances), and both given the same cost table.", "",
              *fca_lines, "", *([] if fca_ok else ["**results differ from PySAL access by more than 1e-9**", ""])]
    from siting import run as siting_run

    peers = 0 if (quick or args.no_peers) else 5
    siting_lines, _ok = siting_run(1 if quick else 5, peers)
    lines += ["## Siting: MCLP, 7,701 villages × 1,500 candidates, p = 30, 5 km, population-weighted", "",
              "Ours vs PySAL spopt on the identical instance (`benchmarks/siting.py`); issue 5 asks ≥ 10×, same "
              "objective.", "", *siting_lines, ""]
    lines += ["## Maps (issue 3 budgets: national township ≤ 1.5 MB, national village ≤ 4 MB, county ≤ 400 KB)", "",
              "Seed registry (33 facilities).", "", *bench_maps(1 if quick else 3), ""]
    from pageload import run as pageload_run

    lines += ["## Map page load in headless Chromium (`benchmarks/pageload.py`)", "",
              *pageload_run(1 if quick else 5), ""]
    try:
        from memory import run as memory_run
    except ImportError:
        memory_run = None
    if memory_run is not None:
        lines += ["## Large and absurd registries: time and peak memory (`benchmarks/memory.py`)", "",
                  *memory_run(quick=quick), ""]
    lines += ["## Profile of the national run", "", *profile_report(), "", *PROFILE_CHANGES, ""]
    text = "\n".join(lines)
    print(text)
    if out is not None:
        out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
