"""Travel-time benchmark: coverage.network vs networkx on the same graphs, each in a fresh process.

    python benchmarks/network.py [--nodes 2000000] [--villages 7701] [--facilities 150] [--peer-max 2000000]
                                 [--pairs-min 30] [--repeat 1]

Graphs: (1) the real OSM major roads of 苗栗縣 (../shared/data/roads; 5,152 lines) with its 275 village
representative points and 5 社福中心; (2) a synthetic road network the size of Taiwan's drivable OSM
graph: a jittered square grid of ~``--nodes`` nodes with 35% of its links removed at random (about 2.5 M
two-way links = 5 M directed edges), speeds drawn from the default classes, ``--villages`` origins and
``--facilities`` facilities at random.

Figures per graph: graph build from line geometries; the snapping and routing index, built once per
network and reused by every query (STRtree of the lines, their vertex arrays, the routing graph
``RoadNetwork.routing``); routing every origin to its fastest facility (``nearest_by_network``: snapping,
multi-source Dijkstra in scipy's compiled csgraph on the routing graph, dead-end trees swept after, network
km; the time inside scipy's Dijkstra is reported beside it, so the shortest paths alone can be set against
networkx's); every origin × facility pair within ``--pairs-min`` minutes
(``travel_pairs``: limited Dijkstra per facility); the nearest query by networkx
``multi_source_dijkstra_path_length`` on the same directed graph (built from ours, origins and
facilities joined at their nearest node, so networkx does strictly less work); osmnx's routing if osmnx
is installed (its shortest paths are networkx's); and each process's peak resident memory (VmHWM).
Prints a markdown table: wall time with CPU time (user + sys) beside it, the peak resident memory
(VmHWM) after each step, and the 1-minute load average before → after each process. Ours runs twice
in separate processes: the first run builds the graph and writes it to a temporary cache (then routes
and runs ``travel_pairs``); the second, a fresh process, loads the graph from that cache and routes,
as a planner's second run does. networkx runs in its own process, so its memory is not counted in ours. Each
process starts once the files of the one before are written to disk (``os.sync``). With ``--repeat N``,
N − 1 more pairs of fresh processes run on the synthetic graph (ours from the cache, then networkx, one
right after the other), and the median of the pairs' ratios is printed: this machine's speed drifts by
tens of percent over minutes, so a ratio is only taken within a pair.
Ours routes on the graph with chains of pass-through nodes contracted ("routed" edges); networkx gets
every road edge.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROADS = ROOT.parent / "shared" / "data" / "roads" / "Miaoli_Road_Network.shp"

# The synthetic road network's draws, shared with benchmarks/snapping.py (the same graph in both): a jittered
# square grid of ~nodes nodes 300 m apart, 35% of its links removed at random.
GRID = r"""
def street_grid(nodes, rng):
    side = int(np.sqrt(nodes))
    gx, gy = np.meshgrid(np.arange(side) * 300.0, np.arange(side) * 300.0)
    xy = np.c_[gx.ravel(), gy.ravel()] + rng.normal(0, 60, (side * side, 2))
    ids = np.arange(side * side).reshape(side, side)
    a = np.r_[ids[:, :-1].ravel(), ids[:-1, :].ravel()]
    b = np.r_[ids[:, 1:].ravel(), ids[1:, :].ravel()]
    keep = rng.random(len(a)) > 0.35
    return side, xy, a[keep], b[keep]
"""

CHILD = r"""
import json, resource, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
spec = json.loads(sys.argv[2])
import geopandas as gpd, shapely, scipy.sparse.csgraph, pyproj  # imports outside the timings
from coverage.network import DEFAULT_SPEEDS, nearest_by_network, network_from_lines, read_network, travel_pairs

def peak():
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("VmHWM:")) / 1024

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

rng = np.random.default_rng(0)
cached = spec["engine"] == "ours-cached"
t0, c0 = time.perf_counter(), cpu()
if spec["graph"] == "miaoli":
    import coverage
    from coverage.geography import load_villages
    net = read_network(spec["roads"], cache=False)
    if spec["engine"] == "networkx":  # networkx gets every road edge (no contracted chains), built untimed below
        full = lambda: network_from_lines(net.lines, net.line_speed, net.line_oneway, contract=False)
    v = load_villages(); v = v[v["towncode"].str.startswith("10005")].to_crs(3826)
    reg = coverage.read_facilities(coverage.get_path("registry")).facilities
    fac = reg[(reg["county"] == "苗栗縣") & (reg["category"] == "welfare_centre")].to_crs(3826).geometry
    origins = v.representative_point()
else:
    from coverage.network import _load_cached, _save_cached  # the per-file graph cache, keyed here by size
    side, xy, a, b = street_grid(spec["nodes"], rng)
    speeds = np.array(list(DEFAULT_SPEEDS.values())[:12])
    kmh = rng.choice(speeds, len(a))  # the same draws in every process: the same graph and points
    key = f"bench-synthetic-{spec['nodes']}"
    if cached:  # a later run: the graph from the cache (saved by the "ours" process just before)
        del xy, a, b, kmh
        net = _load_cached(key)
    else:
        lines = gpd.GeoSeries(shapely.linestrings(np.stack([xy[a], xy[b]], axis=1)), crs=3826)
        del xy, a, b  # the benchmark's own inputs: not part of the build
        t0, c0 = time.perf_counter(), cpu()
        net = network_from_lines(lines, kmh, contract=spec["engine"] == "ours")
        del lines, kmh
        if spec["engine"] == "ours":
            _save_cached(key, net)
    full = lambda: net
    span = side * 300.0
    origins = gpd.GeoSeries(gpd.points_from_xy(*rng.uniform(0, span, (2, spec["villages"]))), crs=3826)
    fac = gpd.GeoSeries(gpd.points_from_xy(*rng.uniform(0, span, (2, spec["facilities"]))), crs=3826)
build = time.perf_counter() - t0
out = {"nodes": net.n_nodes, "edges": net.n_edges, "core_edges": int(net.minutes.nnz), "build_s": build,
       "build_cpu": cpu() - c0, "build_peak_mb": peak()}
if spec["engine"] != "networkx":
    t0 = time.perf_counter()
    net.tree, net.vertices, net.routing  # the snapping and routing index: once per network, reused by every query
    out["index_s"] = time.perf_counter() - t0
    csgraph, spent = scipy.sparse.csgraph, []
    engine = csgraph.dijkstra  # timed inside the query: the shortest paths alone (the module imports it per call)
    def timed(*args, **kwargs):
        t = time.perf_counter()
        try:
            return engine(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - t)
    csgraph.dijkstra = timed
    t0, c0 = time.perf_counter(), cpu()
    res = nearest_by_network(net, origins, fac)
    csgraph.dijkstra = engine
    out.update(dijkstra_s=sum(spent))
    out.update(route_s=time.perf_counter() - t0, route_cpu=cpu() - c0, reached=int(res["minutes"].notna().sum()),
               mean_min=float(res["minutes"].mean()), mean_km=float(res["network_km"].mean()), route_peak_mb=peak())
    if spec["engine"] == "ours":
        t0 = time.perf_counter()
        pairs = travel_pairs(net, origins, fac, limit_min=spec["pairs_min"])
        out.update(pairs_s=time.perf_counter() - t0, pairs=len(pairs))
else:
    import networkx as nx
    net = full()
    t0 = time.perf_counter()
    g = nx.from_scipy_sparse_array(net.minutes.T.tocsr(), create_using=nx.DiGraph)  # reversed: from facilities
    out["nx_build_s"] = time.perf_counter() - t0
    node_tree = shapely.STRtree(shapely.points(net.node_xy))
    src = node_tree.query_nearest(np.asarray(fac.values))[1]
    dst = node_tree.query_nearest(np.asarray(origins.values))[1]
    t0, c0 = time.perf_counter(), cpu()
    dist = nx.multi_source_dijkstra_path_length(g, set(src.tolist()), weight="weight")
    got = [dist.get(int(d), np.inf) for d in dst]
    out.update(route_s=time.perf_counter() - t0, route_cpu=cpu() - c0, reached=int(np.isfinite(got).sum()))
out["peak_mb"] = peak()
print(json.dumps(out))
"""


def load() -> str:
    """The 1-minute load average now (``/proc/loadavg``)."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:  # pragma: no cover - not Linux
        return "?"


def measure(spec: dict, env: dict | None = None) -> dict:
    import os

    if hasattr(os, "sync"):  # the previous process's files (a ~0.5 GB graph cache) on disk before this one starts:
        os.sync()  # the kernel's writeback of them must not share the 2 cores with this measurement
    before = load()
    done = subprocess.run([sys.executable, "-c", GRID + CHILD, str(ROOT), json.dumps(spec)], capture_output=True,
                          text=True, env=env)
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else f"exit {done.returncode}"}
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "load": f"{before}→{load()}"}


def _peaks(r: dict) -> str:
    """Peak resident memory (VmHWM) of the process after each step it ran."""
    steps = [("build", "build_peak_mb"), ("routing", "route_peak_mb"), ("end", "peak_mb")]
    if r.get("engine") == "ours-cached":
        steps[0] = ("graph from cache", "build_peak_mb")
    return " / ".join(f"{name} {r[k]:,.0f}" for name, k in steps if k in r) + " MB"


def run(nodes: int, villages: int, facilities: int, peer_max: int, pairs_min: float, repeat: int = 1) -> list[str]:
    import os
    import tempfile

    rows = ["| graph | nodes / directed edges (routed) | engine | graph build (+ snapping index): wall (CPU) | "
            "route all origins: wall (CPU) | peak memory (VmHWM after each step) | reached | load |",
            "|---|---|---|---|---|---|---|---|"]
    graphs = []
    if ROADS.exists():
        graphs.append(("苗栗縣 OSM major roads, 275 villages → 5 社福中心",
                       {"graph": "miaoli", "roads": str(ROADS), "pairs_min": pairs_min}))
    graphs.append((f"synthetic ~{nodes:,} nodes, {villages:,} origins → {facilities} facilities",
                   {"graph": "synthetic", "nodes": nodes, "villages": villages, "facilities": facilities,
                    "pairs_min": pairs_min}))
    with tempfile.TemporaryDirectory(prefix="bench-network-") as cache:
        env = {**os.environ, "SAFETYNET_CACHE": cache}  # the synthetic graph's cache: written, read, removed
        for label, spec in graphs:
            runs = [("coverage.network, first run: build + cache write (scipy csgraph)",
                     {**measure({**spec, "engine": "ours"}, env), "engine": "ours"})]
            if spec["graph"] == "synthetic":
                runs.append(("coverage.network, graph from the cache (fresh process)",
                             {**measure({**spec, "engine": "ours-cached"}, env), "engine": "ours-cached"}))
            peer = (measure({**spec, "engine": "networkx"}) if spec.get("nodes", 0) <= peer_max
                    else {"error": "skipped (--peer-max)"})
            runs.append(("networkx multi_source_dijkstra", peer))
            rows += _rows(label, runs, pairs_min)
            if spec["graph"] == "synthetic" and repeat > 1 and "error" not in peer:
                rows += _repeats(label, spec, env, runs[1][1], peer, repeat)
            rows.append(f"| | | osmnx routing | | {osmnx_note()} | | | |")
    return rows


def _rows(label: str, runs: list, pairs_min: float) -> list[str]:
    rows = []
    for name, r in runs:
        if "error" in r:
            rows.append(f"| {label} | | {name} | | {r['error']} | | | |")
            continue
        extra = f" (+ networkx graph {r['nx_build_s']:.1f} s)" if "nx_build_s" in r else ""
        extra += f" (+ {r['index_s']:.2f} s)" if "index_s" in r else ""
        build = f"{r['build_s']:.2f} s ({r['build_cpu']:.2f} s){extra}"
        routed = f" ({r['core_edges']:,})" if r["core_edges"] != r["edges"] else ""
        mean = f"; mean {r['mean_min']:.6f} min, {r['mean_km']:.6f} km" if "mean_min" in r else ""
        rows.append(f"| {label} | {r['nodes']:,} / {r['edges']:,}{routed} | {name} | {build} | "
                    f"{r['route_s']:.2f} s ({r['route_cpu']:.2f} s) | {_peaks(r)} | {r['reached']:,}{mean} | "
                    f"{r['load']} |")
        if "pairs_s" in r:
            rows.append(f"| | | travel_pairs: every pair within {pairs_min:g} min | | {r['pairs_s']:.2f} s | | "
                        f"{r['pairs']:,} pairs | |")
    peer = runs[-1][1]
    for name, ours in runs[:-1]:
        if "error" not in ours and "error" not in peer:
            rows.append(f"| | | ratio networkx / ours ({name.split(', ', 1)[1].split(' (')[0]}) | | "
                        f"{peer['route_s'] / ours['route_s']:.1f}× wall "
                        f"({peer['route_cpu'] / ours['route_cpu']:.1f}× CPU) | | | |")
            if ours.get("dijkstra_s"):
                rows.append(f"| | | of which scipy's Dijkstra ({name.split(', ', 1)[1].split(' (')[0]}): "
                            f"{ours['dijkstra_s']:.2f} s; networkx's Dijkstra ÷ it | | "
                            f"{peer['route_s'] / ours['dijkstra_s']:.1f}× wall | | | |")
    return rows


def _repeats(label: str, spec: dict, env: dict, ours: dict, peer: dict, repeat: int) -> list[str]:
    """``repeat`` − 1 more pairs of fresh processes, ours from the cache then networkx, one right after the
    other: the machine's speed drifts over minutes, so the ratio of each pair and their median are given."""
    import statistics

    pairs = [(ours, peer)] + [(measure({**spec, "engine": "ours-cached"}, env), measure({**spec, "engine": "networkx"}))
                              for _ in range(repeat - 1)]
    pairs = [(o, n) for o, n in pairs if "error" not in o and "error" not in n]
    whole = [n["route_s"] / o["route_s"] for o, n in pairs]
    alone = [n["route_s"] / o["dijkstra_s"] for o, n in pairs if o.get("dijkstra_s")]
    each = "; ".join(f"{o['route_s']:.2f} s (Dijkstra {o.get('dijkstra_s', 0):.2f} s) vs {n['route_s']:.2f} s, "
                     f"load {o['load']}" for o, n in pairs)
    rows = [f"| {label} | | {len(pairs)} pairs, ours from the cache then networkx: {each} | | median "
            f"{statistics.median(whole):.1f}× wall (min {min(whole):.1f}×, max {max(whole):.1f}×) | | | |"]
    if alone:
        rows.append(f"| | | the same pairs, networkx's Dijkstra ÷ scipy's inside ours | | median "
                    f"{statistics.median(alone):.1f}× (min {min(alone):.1f}×, max {max(alone):.1f}×) | | | |")
    return rows


def osmnx_note() -> str:
    """osmnx routes with networkx's Dijkstra on a MultiDiGraph: measured only if it is installed."""
    import importlib.util

    if importlib.util.find_spec("osmnx") is None:
        return "not measured: osmnx is not installed (not a dependency; its routing is networkx's Dijkstra)"
    return "installed but not measured here (same Dijkstra as the networkx row)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=2_000_000)
    parser.add_argument("--villages", type=int, default=7_701)
    parser.add_argument("--facilities", type=int, default=150)
    parser.add_argument("--peer-max", type=int, default=2_000_000, help="largest graph networkx is run on")
    parser.add_argument("--pairs-min", type=float, default=30.0, help="time limit of the travel_pairs query")
    parser.add_argument("--repeat", type=int, default=1,
                        help="pairs of fresh processes (ours from the cache, then networkx) on the synthetic graph")
    args = parser.parse_args(argv)
    print("\n".join(run(args.nodes, args.villages, args.facilities, args.peer_max, args.pairs_min, args.repeat)))


if __name__ == "__main__":
    main()
