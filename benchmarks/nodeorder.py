"""Node numbering and the speed of the nearest-facility Dijkstra: why the road graph is numbered along a Hilbert curve.

    python benchmarks/nodeorder.py [--nodes 2000000] [--repeat 3]

The query graph is the one ``nearest_by_network`` hands to :func:`scipy.sparse.csgraph.dijkstra` on the synthetic
graph of ``benchmarks/network.py`` (``benchmarks/engines.py``'s ``query_graph``: same draws, same cache folder). Its
routing nodes are renumbered in turn by: the Hilbert curve the product uses (:func:`coverage.contraction.hilbert_order`;
the graph as built), x then y (the order before round 8), a random permutation, reverse Cuthill–McKee
(:func:`scipy.sparse.csgraph.reverse_cuthill_mckee`) and a Z-order (Morton) curve. The 150 virtual facility rows stay
last. Each order's Dijkstra runs ``--repeat`` times beside the Hilbert one, in turn, in one process (min and median);
its distances are compared with the Hilbert graph's, node by node (they must be equal: a Dijkstra's sums do not
depend on the numbering). Prints a markdown table with the 1-minute load average before and after.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engines import load, query_graph  # the query graph of benchmarks/engines.py


def _morton(xy):
    import numpy as np

    def spread(v):
        v = v.astype(np.uint64)
        for shift, mask in ((16, 0x0000FFFF0000FFFF), (8, 0x00FF00FF00FF00FF), (4, 0x0F0F0F0F0F0F0F0F),
                            (2, 0x3333333333333333), (1, 0x5555555555555555)):
            v = (v | (v << np.uint64(shift))) & np.uint64(mask)
        return v

    q = ((xy - xy.min(axis=0)) / max(float((xy.max(axis=0) - xy.min(axis=0)).max()), 1.0) * 65535).astype(np.uint64)
    return np.argsort(spread(q[:, 0]) | (spread(q[:, 1]) << np.uint64(1)), kind="stable")


def main() -> None:
    import numpy as np
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra, reverse_cuthill_mckee

    import coverage.network as N

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    before = load()
    g, m, virtual = query_graph(args.nodes)
    g = g.tocsr()
    net = N._load_cached(f"bench-synthetic-v{N._CACHE_VERSION}-{args.nodes}")
    xy = net.node_xy[net.routing.node_of]  # the routing nodes' coordinates (the virtual rows have none)
    n = g.shape[0]
    ref = dijkstra(g, directed=True, indices=virtual, min_only=True)

    def renumbered(order):
        """The graph with routing node ``order[i]`` numbered i (virtual rows kept last), and the new numbers."""
        full = np.r_[order, np.arange(m, n)]
        rank = np.empty(n, dtype=np.int64)
        rank[full] = np.arange(n)
        h = g[full][:, full].tocsr()
        h.sort_indices()
        return csr_matrix((h.data, h.indices, h.indptr), shape=h.shape), rank

    t0 = time.perf_counter()
    rcm = np.asarray(reverse_cuthill_mckee((g + g.T)[:m, :m].tocsr(), symmetric_mode=True))
    rcm_s = time.perf_counter() - t0
    orders = [("Hilbert curve (the product: the graph as built)", np.arange(m)),
              ("x then y (before round 8)", np.lexsort((xy[:, 1], xy[:, 0]))),
              ("random permutation", np.random.default_rng(1).permutation(m)),
              (f"reverse Cuthill–McKee (ordering {rcm_s:.2f} s)", rcm),
              ("Z-order (Morton) curve", _morton(xy))]
    rows = ["| node numbering | scipy Dijkstra: min / median | ÷ Hilbert (medians, same process) | distances |",
            "|---|---|---|---|"]
    base: list[float] = []
    for label, order in orders:
        h, rank = renumbered(order)
        src = rank[virtual]
        mine, hilbert = [], []
        for _ in range(args.repeat):
            for graph, sources, out in ((g, virtual, hilbert), (h, src, mine)):
                t0 = time.perf_counter()
                dist = dijkstra(graph, directed=True, indices=sources, min_only=True, return_predecessors=True)[0]
                out.append(time.perf_counter() - t0)
        base += hilbert
        equal = np.array_equal(dist[rank], ref)
        rows.append(f"| {label} | {min(mine):.3f} / {statistics.median(mine):.3f} s | "
                    f"{statistics.median(mine) / statistics.median(hilbert):.2f}× | "
                    f"{'all exactly equal' if equal else 'DIFFERENT'} |")
    print(f"{args.nodes:,} nodes requested: {m:,} routing nodes, {g.nnz:,} edges with the 150 virtual rows; "
          f"load {before}→{load()}; the Hilbert graph's runs: min {min(base):.3f} s, median "
          f"{statistics.median(base):.3f} s")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
