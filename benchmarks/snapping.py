"""Where one ``nearest_by_network`` query spends its time: snapping and the stages around the Dijkstra.

    python benchmarks/snapping.py [--nodes 500000] [--repeat 3] [--baseline DIR]

The synthetic graph and the points of ``benchmarks/network.py`` (the same draws: a jittered square grid of
~``--nodes`` nodes, 35% of its links removed, 7,701 origins and 150 facilities at random), loaded from the
graph cache (built and cached on the first run, in ``safetynet-bench-cache`` under the system's temporary
folder, not in the user's cache). Each stage runs ``--repeat`` times after one warm-up call, in a fresh process
per code base; the table gives the run with the least CPU (user + sys) and its wall time, and the 1-minute
load average before → after each process. With
``--baseline DIR`` (a directory holding another version's ``coverage/`` package, e.g. from
``git archive COMMIT coverage | tar -x -C DIR``) both code bases run in turn, the baseline first, on the same
cached graph, and the table gains their CPU ratio. Every stage's results are compared: "results identical"
means every array (minutes, km, facility, snap km, the origins' and facilities' entries before and after
contraction) is bit-identical.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from network import GRID  # noqa: E402  (the synthetic graph of benchmarks/network.py)

CHILD = r"""
import json, resource, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
spec = json.loads(sys.argv[2])
import geopandas as gpd, shapely, scipy.sparse.csgraph
import coverage.network as N
import coverage.snapping as S

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

rng = np.random.default_rng(0)
side, xy, a, b = street_grid(spec["nodes"], rng)  # benchmarks/network.py's graph
speeds = np.array(list(N.DEFAULT_SPEEDS.values())[:12])
kmh = rng.choice(speeds, len(a))
key = f"bench-synthetic-v{N._CACHE_VERSION}-{spec['nodes']}"  # a graph of an older format is rebuilt
net = N._load_cached(key)
if net is None:
    lines = gpd.GeoSeries(shapely.linestrings(np.stack([xy[a], xy[b]], axis=1)), crs=3826)
    net = N.network_from_lines(lines, kmh, contract=True)
    N._save_cached(key, net)
del xy, a, b
span = side * 300.0
origins = gpd.GeoSeries(gpd.points_from_xy(*rng.uniform(0, span, (2, 7701))), crs=3826)
fac = gpd.GeoSeries(gpd.points_from_xy(*rng.uniform(0, span, (2, 150))), crs=3826)
t0 = time.perf_counter()
net.tree, net.vertices, net.reversed_graph  # the snapping index, outside the timings (as benchmarks/network.py)
index_s = time.perf_counter() - t0
oxy, fxy = np.c_[origins.x, origins.y], np.c_[fac.x, fac.y]
rows = []

def timed(name, f, *args):
    f(*args)  # warm-up
    best = None
    for _ in range(spec["repeat"]):
        t0, c0 = time.perf_counter(), cpu()
        r = f(*args)
        w, c = time.perf_counter() - t0, cpu() - c0
        best = (w, c) if best is None or c < best[1] else best
    rows.append((name, *best))
    return r

res = timed("nearest_by_network, whole", N.nearest_by_network, net, origins, fac)
timed("road_candidates (7,851 points)", S.road_candidates, net, np.r_[oxy, fxy])
org, _ = timed("snap_points, origins (road_candidates included)", S.snap_points, net, oxy, N.ACCESS_KMH, True)
fe, _ = timed("snap_points, facilities", S.snap_points, net, fxy, N.ACCESS_KMH, False)
oc = timed("core_entries, origins", S.core_entries, net, org, True)
fc = timed("core_entries, facilities", S.core_entries, net, fe, False)
timed("_same_piece (piece_pairs + chain_pairs)", N._same_piece, org, fe, net, N.ACCESS_KMH, len(oxy))
timed("_route (Dijkstra, network km, first minimum, same piece)", N._route, net, org, len(oxy), fe,
      np.arange(len(fxy)), N.ACCESS_KMH, oc, fc)
arrays = {"minutes": res["minutes"].to_numpy(), "km": res["network_km"].to_numpy(),
          "snap": res["snap_km"].to_numpy(), "facility": res["facility"].to_numpy(),
          **{f"{p}_{k}": v for p, e in (("org", org), ("oc", oc), ("fe", fe), ("fc", fc))
             for k, v in e.__dict__.items()}}
np.savez(spec["out"], **arrays)
print(json.dumps({"rows": rows, "index_s": index_s, "nodes": net.n_nodes, "candidates": int(len(org.owner) // 2),
                  "mean_min": float(res["minutes"].mean()), "mean_km": float(res["network_km"].mean())}))
"""


def load() -> str:
    """The 1-minute load average now (``/proc/loadavg``)."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:  # pragma: no cover - not Linux
        return "?"


def run(code: Path, spec: dict) -> dict:
    before = load()
    import os
    import tempfile

    # the synthetic graph is kept between runs, in a folder of its own: not in the user's cache
    env = {**os.environ, "SAFETYNET_CACHE": str(Path(tempfile.gettempdir()) / "safetynet-bench-cache")}
    done = subprocess.run([sys.executable, "-c", GRID + CHILD, str(code), json.dumps(spec)], capture_output=True,
                          text=True, env=env)
    if done.returncode:
        raise SystemExit(done.stderr.strip().splitlines()[-1] if done.stderr else f"exit {done.returncode}")
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "load": f"{before}→{load()}"}


def main() -> None:
    import tempfile

    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", type=Path, help="a directory holding another version's coverage/ package")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bases = ([("baseline", args.baseline)] if args.baseline else []) + [("ours", ROOT)]
        got = {name: run(code, {"nodes": args.nodes, "repeat": args.repeat, "out": f"{tmp}/{name}.npz"})
               for name, code in bases}
        same = None
        if args.baseline:
            a, b = np.load(f"{tmp}/baseline.npz"), np.load(f"{tmp}/ours.npz")
            same = a.files == b.files and all(np.array_equal(a[k], b[k], equal_nan=True) for k in a.files)
    ours = got["ours"]
    print(f"synthetic graph, {ours['nodes']:,} nodes; 7,701 origins → 150 facilities; {ours['candidates']:,} "
          f"(origin, road) candidates; mean {ours['mean_min']:.10f} min, {ours['mean_km']:.10f} km; "
          f"snapping index (not timed below) {ours['index_s']:.2f} s")
    if same is not None:
        print(f"results identical to the baseline: {'yes' if same else 'NO'}")
    names = list(got)
    head = " | ".join(f"{n}: wall s (CPU s)" for n in names)
    print(f"\n| stage | {head} |" + (" CPU baseline / ours |" if args.baseline else ""))
    print("|---|" + "---|" * (len(names) + bool(args.baseline)))
    for i, row in enumerate(ours["rows"]):
        cells = " | ".join(f"{got[n]['rows'][i][1]:.3f} ({got[n]['rows'][i][2]:.3f})" for n in names)
        ratio = f" {got['baseline']['rows'][i][2] / max(row[2], 1e-9):.2f}× |" if args.baseline else ""
        print(f"| {row[0]} | {cells} |{ratio}")
    print("| load average, before → after | " + " | ".join(got[n]["load"] for n in names) + " |"
          + (" |" if args.baseline else ""))


if __name__ == "__main__":
    main()
