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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smoke run, writes nothing")
    parser.add_argument("--no-peers", action="store_true", help="skip the slow PySAL peers (spopt ~70 s a run)")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    repeat = 2 if args.quick else 5
    n = 20_000 if args.quick else 1_000_000
    # (measurement, target from the issues; "-" where none was set)
    results = [
        (bench_load_townships(repeat), "≤ 0.2 s"),
        (bench_locate(repeat, n), "≤ 3 s (1M points)"),
        (bench_registry(repeat, 10_000 if args.quick else 100_000), "-"),
        (bench_cli(repeat, ["--help"], label="help", size="-"), "≤ 0.3 s"),
        (bench_cli(repeat, ["report"], label="report", size="22 counties, seed registry (33 rows)"), "≤ 3 s"),
    ]
    lines = [
        "# Benchmarks",
        "",
        f"Written by `python benchmarks/run.py` (`make bench`) on {platform.platform()}, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores. Median of {repeat} runs (min–max).",
        "",
        "## Core (issue 2 targets)",
        "",
        "| what | input | time | target |",
        "|---|---|---|---|",
        *[f"| {what} | {size} | {fmt(s)} | {target} |" for (what, size, s), target in results],
        "",
    ]
    lines += ["## Maps (issue 3 budgets: national township ≤ 1.5 MB, national village ≤ 4 MB, county ≤ 400 KB)", "",
              "Seed registry (33 facilities).", "", *bench_maps(1 if args.quick else 3), ""]
    from siting import run as siting_run

    peers = 0 if (args.quick or args.no_peers) else 5
    siting_lines, _ok = siting_run(1 if args.quick else 5, peers)
    lines += ["## Siting: MCLP, 7,701 villages × 1,500 candidates, p = 30, 5 km, population-weighted", "",
              "Ours vs PySAL spopt on the identical instance (`benchmarks/siting.py`); issue 5 asks ≥ 10×, same "
              "objective.", "", *siting_lines, ""]
    text = "\n".join(lines)
    print(text)
    if not args.quick:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
