"""Locating synthetic points: ours vs geopandas.sjoin, time and peak memory; and nearest vs locate.

    python benchmarks/locate.py [--sizes 1000000 10000000] [--repeat 5] [--spread population area]
    python benchmarks/locate.py --nearest 1000000 --repeat 1
    python benchmarks/locate.py --stages --repeat 3 [--root CHECKOUT]  (villages, 10^6 points, per stage)

Every table is printed with the load average before and after it, and the CPU time (user + sys of
the measuring process, all its threads) beside the wall time. ``--nearest`` also measures
``nearest(..., across_counties=True)``: every located point is then projected and queried (with the
own-county rule, points of counties without facilities need neither); and the floor of nearest's output
format: its 4 × 10^6-row frame (same columns, dtypes, geometry) built from ready 10^6-row arrays in a fresh
process, nothing measured. Ratios are of the medians of ``--repeat`` runs, each in a fresh process.

Points spread by population: villages drawn with probability proportional to their 2021-03
population (../shared/data; uniform if absent), each point scattered around the village's
representative point (normal, sigma = half the radius of a circle of the village's area). Points
spread by area: villages drawn with probability proportional to their area, scattered the same
way (so uniform over the land, not over the sea). Each measurement runs in a fresh subprocess so
its peak resident memory (VmHWM) is its own; it includes building the points. The locate grid is
built (or read from the disk cache) before the clock starts; ``build`` times it alone. Prints a
markdown table.
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
n, level, engine, pop_path, spread = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[5], sys.argv[6]
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
if spread == "area":
    pop = proj.area.to_numpy()
rng = np.random.default_rng(0)
pick = rng.choice(len(v), n, p=pop / pop.sum())
sigma = np.sqrt(proj.area.to_numpy() / np.pi) / 2
x = rep.x.to_numpy()[pick] + rng.normal(0, 1, n) * sigma[pick]
y = rep.y.to_numpy()[pick] + rng.normal(0, 1, n) * sigma[pick]
pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=3826).to_crs(4326)
if engine in ("ours", "nearest", "nearest_all", "locate"):
    from coverage import geography
    t_build = time.perf_counter()
    geography._grid_for(polys, key, n_points=n)
    t_build = time.perf_counter() - t_build
else:
    t_build = 0.0
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
t0, c0 = time.perf_counter(), cpu()
if engine in ("nearest", "nearest_all"):
    from coverage.bulk import nearest
    from coverage.datasets import get_path
    from coverage.facilities import read_facilities
    fac = read_facilities(get_path("seed_registry"), townships=polys).facilities
    t_import = time.perf_counter()
    import scipy.spatial  # nearest's k-d trees: a one-time import, timed apart (locate needs none)
    t_import = time.perf_counter() - t_import
    t0, c0 = time.perf_counter(), cpu()
    out = nearest(gpd.GeoDataFrame(geometry=pts), fac, polys, across_counties=engine == "nearest_all")
    found = int(out["distance_km"].notna().sum())
elif engine == "floor":
    # the floor of nearest's output format: its 4 x 10^6-row frame (same columns, dtypes, geometry) built from
    # ready 10^6-row arrays, with no distance measured; fresh memory, as for nearest's own first call
    from geopandas.array import GeometryArray
    k = 4
    codes = polys["towncode"].to_numpy(dtype=object)
    ready = {"point": np.arange(n), "towncode": codes[rng.integers(0, len(codes), n)],
             "status": np.full(n, "located", dtype=object), "reason": np.full(n, "", dtype=object)}
    t0, c0 = time.perf_counter(), cpu()
    cols = {c: np.tile(v, k) for c, v in ready.items()}
    cols["category"] = np.empty(n * k, dtype=object)
    for i, c in enumerate("abcd"):
        cols["category"][i * n:(i + 1) * n] = c
    cols["distance_km"] = np.full(n * k, np.nan)
    for c in ("facility_id", "facility_name", "facility_towncode"):
        cols[c] = np.empty(n * k, dtype=object)
    cols["across_sea_km"] = np.full(n * k, np.nan)
    data = {c: pd.Series(v, dtype=object if v.dtype == object else None, copy=False) for c, v in cols.items()}
    data["geometry"] = pd.Series(GeometryArray(np.tile(np.asarray(pts.values), k), crs=pts.crs), copy=False)
    out = gpd.GeoDataFrame(data, geometry="geometry", crs=pts.crs, copy=False)
    found = int(out["distance_km"].notna().sum())  # 0: nothing measured
elif engine == "locate":
    from coverage.bulk import locate
    out = locate(gpd.GeoDataFrame(geometry=pts), polys)
    found = int(out["status"].eq("located").sum())
elif engine == "ours":
    out = locate_points(pts, polys, key=key)
    found = int(out[key].notna().sum())
else:
    joined = gpd.sjoin(gpd.GeoDataFrame(geometry=pts), polys[[key, "geometry"]], predicate="within", how="left")
    found = int(joined[key].notna().sum())
elapsed, used = time.perf_counter() - t0, cpu() - c0
try:  # VmHWM: this image's own peak (ru_maxrss keeps the forking parent's peak across exec)
    with open("/proc/self/status") as fh:
        peak = next(int(l.split()[1]) for l in fh if l.startswith("VmHWM:")) / 1024
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "cpu": used, "peak_mb": peak, "build": t_build,
                  "found": found, "import": globals().get("t_import", 0.0)}))
"""


def measure(n: int, level: str, engine: str, spread: str = "population") -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), level, engine, str(ROOT), str(POP), spread],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(sizes: list[int], repeat: int, peer_max: int = 1_000_000, spreads=("population",)) -> list[str]:
    lines = [f"load: {_load()}", "",
             "| points | spread by | polygons | engine | locate time | CPU (user+sys) | "
             "grid build (once, then cached) | peak memory (process) | located | sjoin ÷ ours |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for n in sizes:
        for spread in spreads:
            for level in ("township", "village"):
                ours = None
                for engine in ("ours", "geopandas.sjoin"):
                    if engine != "ours" and n > peer_max:
                        continue
                    runs = [measure(n, level, "ours" if engine == "ours" else "sjoin", spread) for _ in range(repeat)]
                    s = [r["seconds"] for r in runs]
                    build = f"{max(r['build'] for r in runs):.2f} s" if engine == "ours" else "-"
                    ratio = "-"
                    if engine == "ours":
                        ours = statistics.median(s)
                    else:
                        ratio = f"{statistics.median(s) / ours:.1f}×"
                    lines.append(
                        f"| {n:,} | {spread} | {level}s ({'368' if level == 'township' else '7,701'}) | {engine} | "
                        f"{statistics.median(s):.2f} s (min {min(s):.2f}, max {max(s):.2f}, n={len(s)}) | "
                        f"{statistics.median(r['cpu'] for r in runs):.2f} s | {build} | "
                        f"{max(r['peak_mb'] for r in runs):,.0f} MB | {runs[0]['found']:,} | {ratio} |"
                    )
    lines.append(f"load: {_load()}")
    return lines


def _load() -> str:
    """``uptime``'s load averages, printed beside every table."""
    import os

    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


# --stages: the points of the benchmark (CHILD up to its engines), then locate_points timed stage by stage
STAGES = CHILD[:CHILD.index("if engine in")] + r"""
import os, resource, shapely
from coverage import geography as G
proj.to_crs(4326)  # the transformers exist before the clock, as in the benchmark (points made by to_crs)
v.geometry.to_crs(3826)
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
rows = {}
def rec(name, t, c):
    rows.setdefault(name, []).append((time.perf_counter() - t, cpu() - c))
grid = G._grid_for(polys, key, n_points=n)
new = hasattr(grid, "block_snap")  # this round's grid (sea cells decided) or the one before
codes = polys[key].to_numpy(dtype=object)
for _ in range(int(sys.argv[7])):
    T, C = time.perf_counter(), cpu()
    t, c = time.perf_counter(), cpu()
    values = np.asarray(pts.values)
    simple = shapely.get_type_id(values) == 0
    xy = shapely.bounds(values)[:, :2]
    rec("coordinates out of shapely (get_type_id + bounds)", t, c)
    t, c = time.perf_counter(), cpu()
    which, xy, block = G._grid_cells(grid, pts)
    rec("grid lookup, coarse + fine (incl. the coordinates)", t, c)
    t, c = time.perf_counter(), cpu()
    fine = np.flatnonzero(block >= 0)
    found = G._edge_locate(grid, xy[fine], block[fine])
    which[fine] = np.where(found == -1, grid.block_snap[block[fine]] if new else G._EXACT, found)
    rec(f"edge tests ({len(fine):,} points)", t, c)
    snapped = np.zeros(len(which), dtype=bool)
    t, c = time.perf_counter(), cpu()
    if new:
        snapped = which >= grid.base
        which[snapped] -= grid.base
        sea = np.flatnonzero(which == G._SEA)
        which[sea] = -1
        G._snap(values, sea, polys, codes, which, snapped)
    else:
        sea = []
    rec(f"snapping measured, no exact test ({len(sea):,} points)", t, c)
    t, c = time.perf_counter(), cpu()
    exact = np.flatnonzero(which == G._EXACT)
    if len(exact):
        sub = G.locate_points_exact(pts.iloc[exact], polys, key, rows=True)
        which[exact] = sub["_row"].to_numpy()
        snapped[exact] = sub["snapped"].to_numpy()
    rec(f"exact test + snapping ({len(exact):,} points)", t, c)
    t, c = time.perf_counter(), cpu()
    which[which < 0] = -1
    out = pd.DataFrame({key: polys[key].array.take(which, allow_fill=True), "snapped": snapped}, index=pts.index)
    rec("output frame (Arrow take of the codes)", t, c)
    rec("sum of the stages", T, C)
    t, c = time.perf_counter(), cpu()
    ref = locate_points(pts, polys, key=key)
    rec(f"locate_points() as called ({int(ref['snapped'].sum()):,} snapped)", t, c)
    assert ref.equals(out)
    t, c = time.perf_counter(), cpu()
    values = np.asarray(pts.values)
    shapely.get_type_id(values)
    b = shapely.bounds(values)
    cell = grid.fine * grid.split
    with np.errstate(invalid="ignore"):
        ix = ((b[:, 0] - grid.x0) / cell).astype(np.int64)
        iy = ((grid.y1 - b[:, 1]) / cell).astype(np.int64)
    grid.coarse.ravel().take(iy * grid.coarse.shape[1] + ix, mode="clip")
    rec("floor: get_type_id + bounds + one gather into the coarse grid", t, c)
print(json.dumps({k: [list(x) for x in r] for k, r in rows.items()}))
"""


def run_stages(repeat: int, root: Path, level: str = "village") -> list[str]:
    """``locate_points`` stage by stage on the benchmark's 10^6 points (wall and CPU, median of ``repeat``)."""
    lines = [f"load: {_load()}", "", f"code: {root}", "",
             "| spread by | stage | wall, median (min–max) | CPU (user+sys), median |", "|---|---|---|---|"]
    for spread in ("population", "area"):
        out = subprocess.run([sys.executable, "-c", STAGES, "1000000", level, "stages", str(root), str(POP), spread,
                              str(repeat)], check=True, capture_output=True, text=True)
        rows = json.loads(out.stdout.strip().splitlines()[-1])
        for name, r in rows.items():
            w, c = [x[0] for x in r], [x[1] for x in r]
            lines.append(f"| {spread} | {name} | {statistics.median(w):.3f} s ({min(w):.3f}–{max(w):.3f}, n={len(w)}) "
                         f"| {statistics.median(c):.3f} s |")
    lines.append(f"load: {_load()}")
    return lines


STREAM = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from coverage.bulk import locate_parquet
from coverage.geography import load_townships
t = load_townships()
t0 = time.perf_counter()
counts = locate_parquet(sys.argv[2], sys.argv[3], t, batch_rows=1_000_000)
elapsed = time.perf_counter() - t0
with open("/proc/self/status") as fh:
    peak = next(int(l.split()[1]) for l in fh if l.startswith("VmHWM:")) / 1024
print(json.dumps({"seconds": elapsed, "peak_mb": peak, **counts}))
"""

WRITE = r"""
import sys
import numpy as np, geopandas as gpd, pyarrow.parquet as pq
n, path = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(0)
writer = None
for start in range(0, n, 1_000_000):
    m = min(1_000_000, n - start)
    g = gpd.GeoDataFrame({"id": np.arange(start, start + m)},
                         geometry=gpd.points_from_xy(rng.uniform(120.0, 122.0, m), rng.uniform(21.9, 25.3, m)),
                         crs=4326)
    g.to_parquet(f"{path}.{start // 1_000_000:04d}.parquet")
"""


def run_stream(n: int, workdir: Path) -> list[str]:
    """Peak memory of :func:`coverage.bulk.locate_parquet` on ``n`` points (townships, batches of 10^6)."""
    import pyarrow.parquet as pq

    workdir.mkdir(parents=True, exist_ok=True)
    stem = workdir / "points"
    subprocess.run([sys.executable, "-c", WRITE, str(n), str(stem)], check=True)
    parts = sorted(workdir.glob("points.*.parquet"))
    schema = pq.read_schema(parts[0])
    with pq.ParquetWriter(workdir / "points.parquet", schema) as writer:  # one file, row groups of 10^6
        for part in parts:
            writer.write_table(pq.read_table(part))
            part.unlink()
    out = subprocess.run([sys.executable, "-c", STREAM, str(ROOT), str(workdir / "points.parquet"),
                          str(workdir / "located")], check=True, capture_output=True, text=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return ["| points | function | time | peak memory (process) | located / outside / rejected |",
            "|---|---|---|---|---|",
            f"| {r['rows']:,} (uniform 120–122°E × 21.9–25.3°N) | coverage.bulk.locate_parquet, townships, batches "
            f"of 10^6 | {r['seconds']:.1f} s | {r['peak_mb']:,.0f} MB | {r['located']:,} / {r['outside']:,} / "
            f"{r['rejected']:,} |"]


def run_nearest(n: int, repeat: int) -> list[str]:
    """``coverage.nearest`` vs ``coverage.locate`` on the same points (townships, seed registry), each in a fresh
    process; ``import scipy.spatial`` (nearest's k-d trees, ~0.3 s once per process) is timed apart, before the
    clock, as the imports locate needs are."""
    lines = [f"load: {_load()}", "", "| points | function | time | CPU (user+sys) | peak memory (process) | "
             "rows with a value | ÷ locate (time) | ÷ locate (CPU) | one-time `import scipy.spatial` |",
             "|---|---|---|---|---|---|---|---|---|"]
    base = base_cpu = None
    for engine in ("locate", "nearest", "nearest_all", "floor"):
        runs = [measure(n, "township", engine) for _ in range(repeat)]
        s = [r["seconds"] for r in runs]
        c = statistics.median(r["cpu"] for r in runs)
        base = base or statistics.median(s)
        base_cpu = base_cpu or c
        name = {"nearest_all": "coverage.nearest(across_counties=True)",
                "floor": "floor: nearest's 4 × 10^6-row output frame from ready arrays"}.get(
                    engine, f"coverage.{engine}")
        imp = f"{statistics.median(r['import'] for r in runs):.2f} s" if engine.startswith("nearest") else "-"
        lines.append(f"| {n:,} | {name} | {statistics.median(s):.2f} s (min {min(s):.2f}, max "
                     f"{max(s):.2f}, n={len(s)}) | {c:.2f} s | "
                     f"{max(r['peak_mb'] for r in runs):,.0f} MB | {runs[0]['found']:,} | "
                     f"{statistics.median(s) / base:.2f}× | {c / base_cpu:.2f}× | {imp} |")
    lines.append(f"load: {_load()}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--spread", nargs="+", default=["population", "area"], choices=["population", "area"])
    parser.add_argument("--nearest", type=int, default=0, help="compare nearest with locate on this many points")
    parser.add_argument("--stream", type=int, default=0, help="peak memory of locate_parquet on this many points")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/safetynet-locate-stream"))
    parser.add_argument("--stages", action="store_true", help="locate_points into villages, stage by stage")
    parser.add_argument("--root", type=Path, default=ROOT, help="the code measured by --stages (a checkout)")
    args = parser.parse_args()
    if args.stages:
        print("\n".join(run_stages(args.repeat, args.root)))
        return
    if args.stream:
        print("\n".join(run_stream(args.stream, args.workdir)))
        return
    if args.nearest:
        print("\n".join(run_nearest(args.nearest, args.repeat)))
        return
    print("\n".join(run(args.sizes, args.repeat, spreads=args.spread)))


if __name__ == "__main__":
    main()
