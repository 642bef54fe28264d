"""Shortest-path engines on the nearest-facility query of ``benchmarks/network.py``: is scipy's the fastest exact one?

    python benchmarks/engines.py [--nodes 2000000] [--repeat 3] [--site DIR] [--pandana]

The query graph is the one ``nearest_by_network`` hands to :func:`scipy.sparse.csgraph.dijkstra`: the synthetic
graph of ``benchmarks/network.py`` (same draws; loaded from, or built into, the cache folder of
``benchmarks/snapping.py``), its routing graph (reversed, dead-end trees left out) and the 150 facilities' virtual
rows. scipy runs its multi-source Dijkstra on it (``min_only``, with and without predecessors, as the product calls
it with them). The other engines get the same edges plus one super-source node joined to the virtual facility
nodes at 0 minutes, so that each runs ONE single-source Dijkstra: networkit (``Dijkstra``), igraph
(``distances``), rustworkx (``digraph_dijkstra_shortest_path_lengths``) and edsger (``compute_sssp``), each only
if it can be imported (none is a dependency: install them into a folder of their own, e.g.
``pip install --target DIR networkit igraph rustworkx``, and pass ``--site DIR``). Each engine's time is taken
beside scipy's in the same process, ``--repeat`` times (min and median); its distances are compared with scipy's
(share exactly equal, largest difference). ``--pandana`` adds pandana's contraction hierarchies (build time,
``nearest_pois`` over every node on the departure → arrival edges, and its precision). Prints a markdown table
with the 1-minute load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from network import GRID  # noqa: E402  (the synthetic graph of benchmarks/network.py)


def load() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:  # pragma: no cover - not Linux
        return "?"


def query_graph(nodes: int):
    """(csr graph, number of routing nodes m, the virtual facility nodes) of the benchmark's query."""
    import geopandas as gpd
    import numpy as np
    import shapely

    import coverage.network as N
    from coverage.snapping import core_entries, snap_points

    os.environ["SAFETYNET_CACHE"] = str(Path(tempfile.gettempdir()) / "safetynet-bench-cache")
    scope: dict = {"np": np}
    exec(GRID, scope)
    rng = np.random.default_rng(0)
    side, xy, a, b = scope["street_grid"](nodes, rng)
    kmh = rng.choice(np.array(list(N.DEFAULT_SPEEDS.values())[:12]), len(a))
    key = f"bench-synthetic-v{N._CACHE_VERSION}-{nodes}"  # a graph of an older format is rebuilt
    net = N._load_cached(key)
    if net is None:
        net = N.network_from_lines(gpd.GeoSeries(shapely.linestrings(np.stack([xy[a], xy[b]], axis=1)), crs=3826),
                                   kmh, contract=True)
        N._save_cached(key, net)
    span = side * 300.0
    rng.uniform(0, span, (2, 7701))  # the origins' draws, as in benchmarks/network.py: the same facilities follow
    fxy = rng.uniform(0, span, (2, 150)).T
    r = net.routing
    entries, _ = snap_points(net, fxy, N.ACCESS_KMH, outbound=False)
    core = core_entries(net, entries, outbound=False)
    at = r.index[core.node]
    keep = at >= 0
    g, _ = N._augmented(r, core.owner[keep], at[keep], core.minutes[keep], core.km[keep], 150)
    m = len(r.node_of)
    return g, m, np.arange(m, m + 150)


def main() -> None:
    import numpy as np
    from scipy.sparse.csgraph import dijkstra

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--site", type=Path, action="append", default=[],
                        help="a folder holding optional engines (repeatable)")
    parser.add_argument("--pandana", action="store_true", help="also pandana's contraction hierarchies (slow)")
    args = parser.parse_args()
    for folder in args.site:
        sys.path.insert(0, str(folder))
    g, m, virtual = query_graph(args.nodes)
    n = g.shape[0]
    g = g.tocsr()
    nnz = int(g.indptr[-1])
    src = np.r_[np.repeat(np.arange(n), np.diff(g.indptr)), np.full(len(virtual), n)]
    dst = np.r_[g.indices[:nnz], virtual].astype(np.int64)
    w = np.r_[g.data[:nnz], np.zeros(len(virtual))]
    ref = dijkstra(g, directed=True, indices=virtual, min_only=True)
    finite = np.isfinite(ref)

    def scipy_time(predecessors: bool) -> float:
        t0 = time.perf_counter()
        dijkstra(g, directed=True, indices=virtual, min_only=True, return_predecessors=predecessors)
        return time.perf_counter() - t0

    def timed(run) -> tuple[list[float], list[float], np.ndarray]:
        ours, theirs, dist = [], [], None
        for _ in range(args.repeat):
            theirs.append(scipy_time(True))
            t0 = time.perf_counter()
            dist = run()
            ours.append(time.perf_counter() - t0)
        return ours, theirs, np.asarray(dist, dtype=float)[:n]

    def networkit_run():
        import networkit as nk

        nk.setNumberOfThreads(1)
        graph = nk.GraphFromCoo((w, (src, dst)), n=n + 1, weighted=True, directed=True)

        def run():
            d = nk.distance.Dijkstra(graph, n, storePaths=False, storeNodesSortedByDistance=False)
            d.run()
            out = np.asarray(d.getDistances())
            out[out >= np.finfo(float).max] = np.inf
            return out
        return f"networkit {nk.__version__}", run

    def igraph_run():
        import igraph as ig

        graph = ig.Graph(n=n + 1, edges=np.c_[src, dst], directed=True)
        graph.es["w"] = w
        return f"igraph {ig.__version__}", lambda: graph.distances(source=[n], weights="w", mode="out")[0]

    def rustworkx_run():
        import rustworkx as rx

        graph = rx.PyDiGraph()
        graph.add_nodes_from(range(n + 1))
        graph.add_edges_from(list(zip(src.tolist(), dst.tolist(), w.tolist(), strict=True)))

        def run():
            res = rx.digraph_dijkstra_shortest_path_lengths(graph, n, edge_cost_fn=float)
            out = np.full(n + 1, np.inf)
            out[np.fromiter(res.keys(), np.int64, len(res))] = np.fromiter(res.values(), float, len(res))
            out[n] = 0.0
            return out
        return f"rustworkx {rx.__version__}", run

    def edsger_run():
        import edsger
        from edsger.dijkstra import compute_sssp

        order = np.lexsort((dst, src))
        indptr = np.r_[0, np.cumsum(np.bincount(src, minlength=n + 1))].astype(np.uint32)
        cols, vals = dst[order].astype(np.uint32), w[order]
        return (f"edsger {getattr(edsger, '__version__', '?')}",
                lambda: compute_sssp(indptr, cols, vals, n, n + 1, n + 1))

    rows = []
    for make in (networkit_run, igraph_run, rustworkx_run, edsger_run):
        name = make.__name__.removesuffix("_run")
        try:
            t0 = time.perf_counter()
            label, run = make()
            build = time.perf_counter() - t0
        except ImportError:
            rows.append(f"| {name} | not installed | | | | | |")
            continue
        before = load()
        ours, theirs, dist = timed(run)
        same = float(np.mean(dist[finite] == ref[finite]))
        worst = float(np.max(np.abs(dist[finite] - ref[finite])))
        rows.append(f"| {label} (1 super-source) | {min(ours):.3f} / {np.median(ours):.3f} | {min(theirs):.3f} / "
                    f"{np.median(theirs):.3f} | {np.median(ours) / np.median(theirs):.2f}× | {build:.2f} s | "
                    f"{same:.6f}, {worst:.3g} min | {before}→{load()} |")
    if args.pandana:
        rows.append(pandana_row(g, m, virtual, ref, scipy_time))
    bare = min(scipy_time(False) for _ in range(3))
    print(f"synthetic graph ~{args.nodes:,} nodes: {m:,} routing nodes + {len(virtual)} facility nodes, {nnz:,} "
          f"edges; scipy's multi-source Dijkstra without predecessors: {bare:.3f} s (min of 3)\n")
    print("| engine | time, min / median (s) | scipy with predecessors, same run | engine ÷ scipy (medians) | "
          "import + graph build | exactly equal share, largest difference | load |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


def pandana_row(g, m, virtual, ref, scipy_time) -> str:
    """pandana: contraction hierarchies built on the departure → arrival edges (it measures node → POI)."""
    import numpy as np
    import pandas as pd

    try:
        import pandana
    except ImportError:
        return "| pandana | not installed | | | | | |"
    n = g.shape[0]
    nnz = int(g.indptr[-1])
    src = np.repeat(np.arange(n), np.diff(g.indptr))
    xs, ys = np.arange(n, dtype=float), np.zeros(n)
    ys[m:] = 1e7  # the facility nodes apart from every other: each POI lands on its own node
    before = load()
    t0 = time.perf_counter()
    net = pandana.Network(pd.Series(xs), pd.Series(ys), pd.Series(g.indices[:nnz].astype(np.int64)), pd.Series(src),
                          pd.DataFrame({"min": g.data[:nnz]}), twoway=False)
    build = time.perf_counter() - t0
    reach = float(np.nanmax(ref[np.isfinite(ref)])) * 1.01
    net.set_pois("fac", reach, 1, pd.Series(xs[m:]), pd.Series(ys[m:]))
    t0 = time.perf_counter()
    res = net.nearest_pois(reach, "fac", num_pois=1)
    query = time.perf_counter() - t0
    theirs = scipy_time(True)
    got = res[1].to_numpy()[:m]
    finite = np.isfinite(ref[:m])
    diff = np.abs(got[finite] - ref[:m][finite])
    return (f"| pandana {pandana.__version__} (contraction hierarchies, `nearest_pois` for every node) | {query:.3f} "
            f"(n=1) | {theirs:.3f} | {query / theirs:.1f}× | {build:.1f} s | {np.mean(diff == 0):.6f}, "
            f"{diff.max():.3g} min | {before}→{load()} |")


if __name__ == "__main__":
    main()
