"""Locating synthetic points placed by population: ours vs geopandas.sjoin, time and peak memory.

    python benchmarks/locate.py [--sizes 1000000 10000000] [--repeat 5]

Points: villages drawn with probability proportional to their 2021-03 population
(../shared/data; uniform if absent), each point scattered around the village's representative
point (normal, sigma = half the radius of a circle of the village's area). Each measurement runs in
a fresh subprocess so its peak resident memory (VmHWM) is its own; it includes building the
points. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POP = ROOT.parent / "shared" / "data" / "population" / "village_population_agegroups_2021-03.csv"

CHILD = r"""
import json, resource, sys, time
import numpy as np, pandas as pd, geopandas as gpd
sys.path.insert(0, sys.argv[4])
from coverage.geography import load_townships, load_villages, locate_points
n, level, engine, pop_path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[5]
v = load_villages()
polys = load_townships() if level == "township" else v
key = "towncode" if level == "township" else "villcode"
proj = v.geometry.to_crs(3826)
rep = proj.representative_point()
try:
    pop = pd.read_csv(pop_path, dtype=str)
    pop = v["villcode"].map(pop.assign(villcode=pop["村里代碼"].str.replace("-", "")).set_index("villcode")["人口"]
                            .astype(float)).fillna(0).to_numpy()
except FileNotFoundError:
    pop = np.ones(len(v))
rng = np.random.default_rng(0)
pick = rng.choice(len(v), n, p=pop / pop.sum())
sigma = np.sqrt(proj.area.to_numpy() / np.pi) / 2
x = rep.x.to_numpy()[pick] + rng.normal(0, 1, n) * sigma[pick]
y = rep.y.to_numpy()[pick] + rng.normal(0, 1, n) * sigma[pick]
pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=3826).to_crs(4326)
t0 = time.perf_counter()
if engine == "ours":
    out = locate_points(pts, polys, key=key)
    found = int(out[key].notna().sum())
else:
    joined = gpd.sjoin(gpd.GeoDataFrame(geometry=pts), polys[[key, "geometry"]], predicate="within", how="left")
    found = int(joined[key].notna().sum())
elapsed = time.perf_counter() - t0
try:  # VmHWM: this image's own peak (ru_maxrss keeps the forking parent's peak across exec)
    with open("/proc/self/status") as fh:
        peak = next(int(l.split()[1]) for l in fh if l.startswith("VmHWM:")) / 1024
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "peak_mb": peak,
                  "found": found}))
"""


def measure(n: int, level: str, engine: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), level, engine, str(ROOT), str(POP)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(sizes: list[int], repeat: int, peer_max: int = 1_000_000) -> list[str]:
    lines = ["| points | polygons | engine | locate time | peak memory (process) | located |",
             "|---|---|---|---|---|---|"]
    for n in sizes:
        for level in ("township", "village"):
            for engine in ("ours", "geopandas.sjoin"):
                if engine != "ours" and n > peer_max:
                    continue
                runs = [measure(n, level, "ours" if engine == "ours" else "sjoin") for _ in range(repeat)]
                s = [r["seconds"] for r in runs]
                lines.append(
                    f"| {n:,} | {level}s ({'368' if level == 'township' else '7,701'}) | {engine} | "
                    f"{statistics.median(s):.2f} s (min {min(s):.2f}, max {max(s):.2f}, n={len(s)}) | "
                    f"{max(r['peak_mb'] for r in runs):,.0f} MB | {runs[0]['found']:,} |"
                )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print("\n".join(run(args.sizes, args.repeat)))


if __name__ == "__main__":
    main()
