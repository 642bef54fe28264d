"""Chains of pass-through nodes contracted into single edges, so shortest paths visit fewer nodes.

A node is *pass-through* when the road only goes through it: exactly two neighbours, reached both ways
from both (a two-way road) or entered from one and left to the other (a one-way road). A maximal run of
pass-through nodes between two other (*core*) nodes is a *chain*; the routable graph keeps, per chain,
one edge from its start core node to its end core node (and back, on a two-way chain) weighing the sum
of the chain's edges, and drops the chain's own edges. A ring of pass-through nodes only keeps one of
them as a core node.

Every chain node keeps its chain, its position along it and the cumulative minutes and km from the
chain's start (forward) and to it (backward), so a point that enters the network at a chain node is
joined to the chain's core ends at the exact cost of the edges it would have travelled
(:func:`coverage.snapping.core_entries`), and two points entering the same chain travel along it
directly (:func:`coverage.snapping.chain_pairs`). Shortest paths on the contracted graph therefore equal
those of the full graph (sums of the same edges, in another order: within 1e-12 relative).

Dead-end trees (:func:`prune_trees`): after the chains, a node of the contracted graph with one
neighbour, joined to it both ways, is a leaf; leaves are peeled off round after round, so what is peeled
is every two-way tree hanging from the rest of the graph (the *core*) by one node, its *attach* node. Any
way between a tree node and the core passes through the attach node, so a multi-source shortest path
need not visit the trees: :func:`coverage.network.nearest_by_network` runs its Dijkstra without the
edges from the trees into their attach nodes and then sweeps the trees from the top down, each node
taking its parent's time plus the edge up to it when that beats what the Dijkstra found inside the tree
(from a facility on the tree). Every value is the same sum, in the same order, as a Dijkstra over the
whole graph computes.

Node order (:func:`hilbert_order`): the graph's nodes are numbered along a Hilbert curve over their
coordinates, so nodes near one another on the ground are near one another in memory. A Dijkstra's
frontier is a ring on the ground; numbered this way, the rows, distances and heap entries it touches
share cache lines: the multi-source Dijkstra of 150 facilities over a 2 M-node street grid ran 1.43×
faster than with the nodes numbered by x (``benchmarks/nodeorder.py``; BENCHMARKS.md, round 8). The
numbering changes no distance a Dijkstra computes on a given graph; the chains' and trees' sums may run
the other way along a chain (last-bit differences, as the contraction allows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    from scipy.sparse import csr_matrix

__all__ = ["CHAIN_FIELDS", "TREE_FIELDS", "Chains", "Trees", "contract_chains", "hilbert_order", "no_chains",
           "no_trees", "prune_trees"]


@dataclass
class Chains:
    """Chains of pass-through nodes (see the module's docstring).

    Attributes
    ----------
    of_node : ndarray (n,) int32
        The chain of each node, −1 for a core node.
    pos : ndarray (n,) int32
        Position of a chain node along its chain (0 next to the start core node).
    fwd_min, fwd_km : ndarray (n,)
        Minutes and km from the chain's start core node to the node (inf where the chain is one-way
        the other way: never, chains are oriented along their one-way direction).
    bwd_min, bwd_km : ndarray (n,)
        Minutes and km from the node back to the chain's start core node (inf on a one-way chain).
    start, end : ndarray (chains,) int32
        The chain's core ends.
    total_fwd_min, total_fwd_km, total_bwd_min, total_bwd_km : ndarray (chains,)
        The whole chain, start → end and end → start (inf on a one-way chain's way back).
    """

    of_node: np.ndarray
    pos: np.ndarray
    fwd_min: np.ndarray
    fwd_km: np.ndarray
    bwd_min: np.ndarray
    bwd_km: np.ndarray
    start: np.ndarray
    end: np.ndarray
    total_fwd_min: np.ndarray
    total_fwd_km: np.ndarray
    total_bwd_min: np.ndarray
    total_bwd_km: np.ndarray


CHAIN_FIELDS = ("of_node", "pos", "fwd_min", "fwd_km", "bwd_min", "bwd_km", "start", "end", "total_fwd_min",
          "total_fwd_km", "total_bwd_min", "total_bwd_km")


def no_chains(n: int) -> Chains:
    """Chains of a graph that was not contracted: every node is a core node.

    Parameters
    ----------
    n : int
        Nodes of the graph.

    Returns
    -------
    Chains
        No chain; every node's ``of_node`` is −1.
    """
    import numpy as np

    per_node = {k: np.zeros(n) for k in ("fwd_min", "fwd_km", "bwd_min", "bwd_km")}
    per_chain = {k: np.zeros(0) for k in ("total_fwd_min", "total_fwd_km", "total_bwd_min", "total_bwd_km")}
    return Chains(of_node=np.full(n, -1, dtype=np.int32), pos=np.zeros(n, dtype=np.int32),
                  start=np.zeros(0, dtype=np.int32), end=np.zeros(0, dtype=np.int32), **per_node, **per_chain)


def _lookup(keys: np.ndarray, values: np.ndarray, want: np.ndarray) -> np.ndarray:
    """``values`` of the sorted ``keys`` asked for (inf where absent)."""
    import numpy as np

    at = np.minimum(np.searchsorted(keys, want), len(keys) - 1)
    return np.where(keys[at] == want, values[at], np.inf)


def contract_chains(minutes: csr_matrix, km: csr_matrix) -> tuple[csr_matrix, csr_matrix, Chains]:
    """Contract the chains of pass-through nodes of a directed graph.

    Parameters
    ----------
    minutes, km : csr_matrix (n, n)
        The graph (same sparsity, sorted indices, no self-loops, no duplicate edges).

    Returns
    -------
    (csr_matrix, csr_matrix, Chains)
        Minutes and km of the contracted graph (same n nodes; chain nodes have no edges left; parallel
        edges keep the fastest) and the chains.
    """
    import numpy as np
    from scipy.sparse import coo_matrix, csr_matrix
    from scipy.sparse.csgraph import breadth_first_order, connected_components

    n = minutes.shape[0]
    # int32 rows and columns (road graphs are far below 2^31 nodes): the int64 keys are computed from them
    rows = np.repeat(np.arange(n, dtype=np.int32), np.diff(minutes.indptr))
    cols = minutes.indices.astype(np.int32, copy=False)
    keys = rows.astype(np.int64) * n + cols  # sorted: canonical CSR
    pair = np.unique(np.minimum(rows, cols).astype(np.int64) * n + np.maximum(rows, cols))
    ua, ub = pair // n, pair % n
    del pair
    degree = np.bincount(ua, minlength=n) + np.bincount(ub, minlength=n)
    out_deg, in_deg = np.diff(minutes.indptr), np.bincount(cols, minlength=n)
    through = (degree == 2) & (((out_deg == 2) & (in_deg == 2)) | ((out_deg == 1) & (in_deg == 1)))
    while True:
        both = through[ua] & through[ub]
        sym = coo_matrix((np.ones(2 * both.sum(), dtype=np.int8), (np.r_[ua[both], ub[both]],
                                                                     np.r_[ub[both], ua[both]])), shape=(n, n))
        _, comp = connected_components(sym.tocsr(), directed=False)
        # the ways in: a chain node x beside a core node c with a road c → x
        one = through[ua] != through[ub]
        x = np.where(through[ua], ua, ub)[one]
        c = np.where(through[ua], ub, ua)[one]
        has_end = np.zeros(n, dtype=bool)
        has_end[comp[x]] = True
        ring = through & ~has_end[comp]
        if not ring.any():
            break
        _, first = np.unique(comp[ring], return_index=True)
        through[np.flatnonzero(ring)[first]] = False  # one core node per ring
    if not through.any():
        return minutes, km, no_chains(n)
    way_in = np.isfinite(_lookup(keys, np.zeros(len(keys)), c * n + x))
    x, c = x[way_in], c[way_in]
    order = np.lexsort((c, x, comp[x]))
    first = order[np.r_[True, comp[x[order]][1:] != comp[x[order]][:-1]]]
    start_node, start_core = x[first], c[first]  # one per chain
    n_chain = len(first)
    chain_of_comp = np.full(n, -1, dtype=np.int64)
    chain_of_comp[comp[start_node]] = np.arange(n_chain)
    of_node = np.where(through, chain_of_comp[comp], -1).astype(np.int32)
    # walk every chain at once from its start: the successor of a node is its other chain neighbour
    both = through[ua] & through[ub]
    root = n
    walk = coo_matrix((np.ones(2 * both.sum() + n_chain, dtype=np.int8),
                       (np.r_[ua[both], ub[both], np.full(n_chain, root)],
                        np.r_[ub[both], ua[both], start_node])), shape=(n + 1, n + 1)).tocsr()
    _, pred = breadth_first_order(walk, root, directed=True, return_predecessors=True)
    succ = np.full(n + 1, -1, dtype=np.int64)
    inner = np.flatnonzero(through & (pred[:n] >= 0) & (pred[:n] != root))
    succ[pred[inner]] = inner
    pos = np.zeros(n, dtype=np.int32)
    fwd_min, fwd_km, bwd_min, bwd_km = (np.full(n, np.inf) for _ in range(4))
    kdata = km.data

    def edge(a: np.ndarray, b: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        want = a * n + b
        return _lookup(keys, minutes.data, want), _lookup(keys, kdata, want)

    cur, prev = start_node, start_core
    f_min, f_km = edge(prev, cur, keys)
    b_min, b_km = edge(cur, prev, keys)
    last = np.empty(n_chain, dtype=np.int64)
    chain = np.arange(n_chain)
    step = 0
    while len(cur):
        pos[cur], fwd_min[cur], fwd_km[cur], bwd_min[cur], bwd_km[cur] = step, f_min, f_km, b_min, b_km
        last[chain] = cur
        nxt = succ[cur]
        go = nxt >= 0
        cur, nxt, chain = cur[go], nxt[go], chain[go]
        e_min, e_km = edge(cur, nxt, keys)
        r_min, r_km = edge(nxt, cur, keys)
        f_min, f_km = f_min[go] + e_min, f_km[go] + e_km
        b_min, b_km = r_min + b_min[go], r_km + b_km[go]
        cur = nxt
        step += 1
    # the end core node: the last node's neighbour that is not its predecessor in the chain
    lo = np.r_[ua[one], ub[one]]
    hi = np.r_[ub[one], ua[one]]  # (node, core neighbour)
    is_last = np.zeros(n, dtype=bool)
    is_last[last] = True
    pick = is_last[lo] & ~through[hi]
    lo, hi = lo[pick], hi[pick]
    end = np.full(n_chain, -1, dtype=np.int64)
    # a one-node chain has two core neighbours: the end is the one that is not its start
    other = hi != start_core[of_node[lo]]
    single = start_node[of_node[lo]] == last[of_node[lo]]
    ok = ~single | other
    end[of_node[lo][ok]] = hi[ok]
    e_min, e_km = edge(last, end, keys)
    r_min, r_km = edge(end, last, keys)
    total = (fwd_min[last] + e_min, fwd_km[last] + e_km, r_min + bwd_min[last], r_km + bwd_km[last])
    # the contracted graph: core → core edges and one edge per chain and direction (no self-loops)
    core_edge = ~through[rows] & ~through[cols]
    fwd_ok = np.isfinite(total[0]) & (start_core != end)
    bwd_ok = np.isfinite(total[2]) & (start_core != end)
    # the build's peak is here: free what the contracted edges do not need
    del keys, ua, ub, lo, hi, pred, succ, walk, sym, comp, chain_of_comp, degree, out_deg, in_deg, inner
    r = np.r_[rows[core_edge], start_core[fwd_ok], end[bwd_ok]]
    del rows
    k = np.r_[cols[core_edge], end[fwd_ok], start_core[bwd_ok]]
    del cols
    t = np.r_[minutes.data[core_edge], total[0][fwd_ok], total[2][bwd_ok]]
    d = np.r_[kdata[core_edge], total[1][fwd_ok], total[3][bwd_ok]]
    del core_edge
    order = np.lexsort((-t, k, r))  # parallel edges: the fastest comes last and is kept
    # one array at a time (not four new ones beside four old ones)
    r = r[order]
    k = k[order]
    t = t[order]
    d = d[order]
    del order
    keep = np.r_[(r[1:] != r[:-1]) | (k[1:] != k[:-1]), True][: len(r)]
    r = r[keep]
    k = k[keep]
    t = t[keep]
    d = d[keep]
    indptr = np.r_[0, np.cumsum(np.bincount(r, minlength=n))]
    itype = minutes.indices.dtype
    g_min = csr_matrix((t, k.astype(itype), indptr.astype(minutes.indptr.dtype)), shape=(n, n))
    g_km = csr_matrix((d, g_min.indices, g_min.indptr), shape=(n, n))
    chains = Chains(of_node=of_node, pos=pos, fwd_min=fwd_min, fwd_km=fwd_km, bwd_min=bwd_min, bwd_km=bwd_km,
                    start=start_core.astype(np.int32), end=end.astype(np.int32), total_fwd_min=total[0],
                    total_fwd_km=total[1], total_bwd_min=total[2], total_bwd_km=total[3])
    return g_min, g_km, chains


@dataclass
class Trees:
    """Dead-end trees peeled off a graph (see the module's docstring), parents before children.

    Attributes
    ----------
    node : ndarray (m,) int32
        The peeled nodes, top down: every node comes after its parent.
    parent : ndarray (m,) int32
        Each node's neighbour toward its attach node (the attach node itself for a tree's top nodes).
    up_min, up_km : ndarray (m,)
        Minutes and km of the edge from the node up to its parent.
    level : ndarray (levels + 1,) int64
        Start of each level in ``node`` (a level's parents are all in earlier levels or in the core).
    """

    node: np.ndarray
    parent: np.ndarray
    up_min: np.ndarray
    up_km: np.ndarray
    level: np.ndarray


TREE_FIELDS = ("node", "parent", "up_min", "up_km", "level")


def no_trees() -> Trees:
    """Trees of a graph that was not pruned: none.

    Returns
    -------
    Trees
        Empty arrays.
    """
    import numpy as np

    empty = np.zeros(0, dtype=np.int32)
    return Trees(node=empty, parent=empty.copy(), up_min=np.zeros(0), up_km=np.zeros(0),
                 level=np.zeros(1, dtype=np.int64))


def prune_trees(minutes: csr_matrix, km: csr_matrix) -> Trees:
    """The two-way dead-end trees of a directed graph, peeled leaf by leaf.

    Parameters
    ----------
    minutes, km : csr_matrix (n, n)
        The graph (same sparsity, canonical, no self-loops), e.g. the contracted graph of
        :func:`contract_chains`.

    Returns
    -------
    Trees
        The peeled nodes top down, their parents and the edge up to each. A component that is a tree
        keeps one node (its smallest leaf of the last round) unpeeled, as its core.
    """
    import numpy as np

    n = minutes.shape[0]
    rows = np.repeat(np.arange(n, dtype=np.int32), np.diff(minutes.indptr))
    cols = minutes.indices.astype(np.int32, copy=False)
    if not len(rows):
        return no_trees()
    lo, hi = np.minimum(rows, cols), np.maximum(rows, cols)
    key = lo.astype(np.int64) * n + hi
    del lo, hi
    pair, count = np.unique(key, return_counts=True)  # count 2: joined both ways
    del key
    ua, ub = (pair // n).astype(np.int32), (pair % n).astype(np.int32)
    two_way = count == 2
    del pair, count
    # the undirected neighbours of every node (CSR), with each link's two-way flag
    a = np.r_[ua, ub]
    b = np.r_[ub, ua]
    both = np.r_[two_way, two_way]
    del ua, ub, two_way
    order = np.argsort(a, kind="stable")
    nb, both = b[order], both[order]
    indptr = np.r_[0, np.cumsum(np.bincount(a, minlength=n))]
    del a, b, order
    degree = np.diff(indptr)
    gone = np.zeros(n, dtype=bool)
    rounds: list[tuple[np.ndarray, np.ndarray]] = []
    cand = np.flatnonzero(degree == 1)
    while len(cand):
        leaf = np.unique(cand[(degree[cand] == 1) & ~gone[cand]])
        if not len(leaf):
            break
        # each leaf's one neighbour left: scan its links for the one not peeled
        span = indptr[leaf + 1] - indptr[leaf]
        link = np.repeat(indptr[leaf], span) + np.arange(span.sum()) - np.repeat(np.cumsum(span) - span, span)
        alive = ~gone[nb[link]]
        link = link[alive]
        leaf = leaf[np.repeat(np.arange(len(span)), span)[alive]]
        keep = both[link]  # peeled only when joined both ways
        leaf, up = leaf[keep], nb[link[keep]]
        # two leaves of each other (a two-node component): the larger is peeled, the smaller stays
        is_leaf = np.zeros(n, dtype=bool)
        is_leaf[leaf] = True
        stay = is_leaf[up] & (leaf < up)
        leaf, up = leaf[~stay], up[~stay]
        if not len(leaf):
            break
        gone[leaf] = True
        np.subtract.at(degree, up, 1)
        rounds.append((leaf, up))
        cand = up
    if not rounds:
        return no_trees()
    rounds.reverse()  # top down: a node's parent is peeled in a later round (or is core)
    node = np.concatenate([r[0] for r in rounds]).astype(np.int32)
    parent = np.concatenate([r[1] for r in rounds]).astype(np.int32)
    level = np.r_[0, np.cumsum([len(r[0]) for r in rounds])].astype(np.int64)
    keys = rows.astype(np.int64) * n + cols  # sorted: canonical CSR
    at = np.searchsorted(keys, node.astype(np.int64) * n + parent)
    return Trees(node=node, parent=parent, up_min=minutes.data[at], up_km=km.data[at], level=level)


def hilbert_order(xy: np.ndarray, level: int = 16) -> np.ndarray:
    """The order of points along a Hilbert curve: the curve's cell of each point, cells in curve order.

    Parameters
    ----------
    xy : ndarray (n, 2)
        Finite coordinates.
    level : int
        The curve fills a square of ``2**level`` cells a side laid over the points' bounding box (same
        scale on both axes); points in one cell keep their order.

    Returns
    -------
    ndarray (n,) int64
        Indices of ``xy`` in curve order (a permutation; deterministic).

    Notes
    -----
    The cell's distance along the curve is built from the most significant bit down: at each level the
    quadrant adds its rank along the curve times the cells of a quadrant, and the lower bits are turned
    into that quadrant's own frame (transposed, and mirrored in the last quadrant), as in Hilbert's
    construction. Consecutive cells of the curve are always edge neighbours (tested on full grids).
    """
    import numpy as np

    if not len(xy):
        return np.zeros(0, dtype=np.int64)
    side = 1 << level
    lo = xy.min(axis=0)
    span = float((xy.max(axis=0) - lo).max())
    scale = (side - 1) / span if span > 0 else 0.0
    x = ((xy[:, 0] - lo[0]) * scale).astype(np.uint32)  # 0 … side − 1
    y = ((xy[:, 1] - lo[1]) * scale).astype(np.uint32)
    d = np.zeros(len(xy), dtype=np.uint64)
    rx, ry, t = (np.empty(len(xy), dtype=np.uint32) for _ in range(3))
    s = side >> 1
    while s:  # whole-array integer steps, in place (with the sort, ~1.2 s for 2 M points)
        np.bitwise_and(x, s, out=rx)
        np.bitwise_and(y, s, out=ry)
        np.minimum(rx, 1, out=rx)  # the bits as 0/1
        np.minimum(ry, 1, out=ry)
        np.multiply(rx, 3, out=t)
        t ^= ry
        d += t.astype(np.uint64) * np.uint64(s * s)  # the quadrant's rank along the curve
        ry ^= 1  # 1 where the lower bits turn: transposed, and mirrored too in the last quadrant
        rx &= ry
        rx *= side - 1
        x ^= rx
        y ^= rx
        np.bitwise_xor(x, y, out=t)
        t *= ry
        x ^= t
        y ^= t
        s >>= 1
    return np.argsort(d, kind="stable")
