"""Snapping points onto a road network: the roads a point may enter, its projection on each, and the
ways in and out of the routable graph (:mod:`coverage.network`).

A point may enter the nearest road and any road within :data:`SNAP_SLACK_M` metres beyond it (the
:data:`MAX_CANDIDATES` nearest of them); on each it joins at its projection (the nearest point of the
line) and travels along the road piece to the piece's end nodes. Everything is vectorised: one STRtree
query for the nearest road of every point, one bounding-box query for the candidates, and the exact
point-to-segment projections in numpy over the candidate lines' vertices (in bounded blocks), so the
position along a line uses the same cumulative vertex distances as the graph's nodes.

The functions take a :class:`coverage.network.RoadNetwork` (``net``): its ``tree``, ``vertices``,
``seq_node``/``seq_pos``/``line_start``/``line_base`` and ``line_speed``/``line_oneway``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["MAX_CANDIDATES", "SNAP_SLACK_M", "Entries", "chain_pairs", "core_entries", "piece_pairs", "road_candidates",
           "snap_points"]

#: A point may join the network at any road within this many metres beyond its nearest road: the fastest
#: entry wins, so a village beside a cul-de-sac fragment still reaches the highway 300 m away.
SNAP_SLACK_M = 1000.0

#: At most this many roads (the nearest) are tried per point.
MAX_CANDIDATES = 64

_BLOCK_ROWS = 500_000  # (point, segment) rows per block of the projection
_PROBE_M = 300.0  # half-side of the first box searched for each point's nearest road


@dataclass
class Entries:
    """Ways for points to enter (or leave) the network: each entry is a point, a road piece end node
    and the cost to reach it (off-network leg at ``access_kmh`` + along the piece). Flat arrays, sorted
    by point; a point's two entries of one piece (toward its tail, toward its head) are side by side.

    Attributes
    ----------
    owner : ndarray
        Position of the point.
    node : ndarray
        The network node reached.
    minutes, km : ndarray
        Cost of the entry (minutes inf where the piece's direction forbids it).
    line : ndarray
        The line of the piece.
    piece : ndarray
        Index of the piece's first node in ``net.seq_node`` (one number per piece of the network).
    pos : ndarray
        Position of the point's projection along the line (m).
    leg_km : ndarray
        The straight off-network leg.
    """

    owner: np.ndarray
    node: np.ndarray
    minutes: np.ndarray
    km: np.ndarray
    line: np.ndarray
    piece: np.ndarray
    pos: np.ndarray
    leg_km: np.ndarray

    def take(self, mask: np.ndarray) -> Entries:
        """The entries selected by a boolean mask or an index array."""
        return Entries(**{k: v[mask] for k, v in self.__dict__.items()})


def _project(net: Any, xy: np.ndarray, owner: np.ndarray, line: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance (m) from each point ``xy[owner]`` to its ``line`` and the position of its projection along
    the line: the nearest of the line's segments (the first on ties, as GEOS), in blocks of rows."""
    import numpy as np

    vxy, voff, valong = net.vertices
    one_segment, every_line, _ = net.simple_lines
    if every_line:  # every line one segment: line l is the row 2l..2l+1 of the vertices, read as one row
        ends = np.take(vxy.reshape(-1, 4), line, axis=0)
        return _project_segment(ends[:, :2], ends[:, 2:], np.take(xy, owner, axis=0))
    k = np.take(voff, line)
    one = np.take(one_segment, line)
    dist, pos = np.empty(len(line)), np.empty(len(line))
    if one.any():  # lines of one segment (most roads between two junctions): no per-segment minimum
        single = np.flatnonzero(one)
        ks = k[single]
        dist[single], pos[single] = _project_segment(np.take(vxy, ks, axis=0), np.take(vxy, ks + 1, axis=0),
                                                     np.take(xy, owner[single], axis=0))
        if len(single) == len(line):
            return dist, pos
    multi = np.flatnonzero(~one)
    dist[multi], pos[multi] = _project_many(vxy, voff, valong, xy, owner[multi], line[multi],
                                            np.take(voff, line[multi] + 1) - k[multi] - 1)
    return dist, pos


def _project_segment(a: np.ndarray, b: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_project` for lines of one segment from ``a`` to ``b`` (rows gathered whole from the
    contiguous coordinate arrays) and points ``p`` (rows, overwritten): the same arithmetic as
    :func:`_project_many`, row by row, in place where it can be. A line's first vertex is at 0 m along it
    (``valong`` is exactly 0.0 there), so the position is ``t`` times the segment's length."""
    import numpy as np

    d = b - a
    p -= a
    dx, dy, px, py = d[:, 0], d[:, 1], p[:, 0], p[:, 1]
    len2 = dx * dx
    len2 += dy * dy
    t = px * dx
    t += py * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        t /= len2
    flat = ~(len2 > 0)  # a segment of length 0: its first point (0/0 above)
    if flat.any():
        t[flat] = 0.0
    np.clip(t, 0.0, 1.0, out=t)
    ex, ey = t * dx, t * dy
    np.subtract(px, ex, out=ex)
    np.subtract(py, ey, out=ey)
    ex *= ex
    ey *= ey
    ex += ey
    np.sqrt(len2, out=len2)
    len2 *= t
    return np.sqrt(ex, out=ex), len2


def _project_many(vxy: np.ndarray, voff: np.ndarray, valong: np.ndarray, xy: np.ndarray, owner: np.ndarray,
                  line: np.ndarray, n_seg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_project` over every segment of the lines, in blocks of :data:`_BLOCK_ROWS` rows."""
    import numpy as np

    dist, pos = np.empty(len(line)), np.empty(len(line))
    ends = np.cumsum(n_seg)
    start = 0
    while start < len(line):
        stop = max(int(np.searchsorted(ends, (ends[start - 1] if start else 0) + _BLOCK_ROWS, side="right")),
                   start + 1)
        segs = n_seg[start:stop]
        pair = np.repeat(np.arange(start, stop), segs)
        first = np.r_[0, np.cumsum(segs)[:-1]]
        k = voff[line[pair]] + np.arange(len(pair)) - np.repeat(first, segs)  # each segment's first vertex
        ax, ay = vxy[k, 0], vxy[k, 1]
        dx, dy = vxy[k + 1, 0] - ax, vxy[k + 1, 1] - ay
        px, py = xy[owner[pair], 0] - ax, xy[owner[pair], 1] - ay
        len2 = dx * dx + dy * dy
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(len2 > 0, (px * dx + py * dy) / len2, 0.0)
        t = np.clip(t, 0.0, 1.0)
        ex, ey = px - t * dx, py - t * dy
        d2 = ex * ex + ey * ey
        best = np.minimum.reduceat(d2, first)
        hit = np.flatnonzero(d2 == np.repeat(best, segs))
        row = hit[np.r_[True, pair[hit][1:] != pair[hit][:-1]]]  # first nearest segment of each pair
        dist[start:stop] = np.sqrt(best)
        pos[start:stop] = valong[k[row]] + t[row] * np.sqrt(len2[row])
        start = stop
    return dist, pos


def road_candidates(net: Any, xy: np.ndarray) -> tuple[np.ndarray, ...]:
    """The roads each point may enter: its nearest and every road within :data:`SNAP_SLACK_M` beyond it
    (the :data:`MAX_CANDIDATES` nearest), with the point's projection on each.

    Parameters
    ----------
    net : RoadNetwork
        The network (:func:`coverage.network.read_network`).
    xy : ndarray (n, 2)
        Points in the network's metres.

    Returns
    -------
    tuple of ndarray
        ``(point, line, distance m, position m along the line)``, sorted by point, then distance, then line.

    Notes
    -----
    The spatial index bounds the roads exactly; only the roads it returns are projected. A road at
    distance ``r`` or less from a point has a point within the disc of radius ``r`` around it, hence
    inside the square box of half-side ``r``, so the road's envelope meets that box and the index returns
    it: a road the index leaves out of a box of half-side ``r`` is farther than ``r``.

    - Nearest road: the box of half-side ``P`` (``_PROBE_M``). If the smallest projection distance ``d``
      among the roads it returns is at most ``P``, every road left out is farther than ``P`` ≥ ``d``, so
      ``d`` is the nearest distance: a road whose straight-line distance exceeds the best candidate's can
      never be the nearest. Otherwise (``d`` > ``P``, or no road) GEOS's nearest-neighbour query answers.
    - Candidates: the box of half-side ``reach = d + SNAP_SLACK_M`` holds every road within ``reach``, and
      the exact projection keeps those with distance ≤ ``reach`` and no other: the candidates are exactly
      the roads within :data:`SNAP_SLACK_M` beyond the nearest, whatever the index's shape.

    The projections are the per-segment arithmetic of every version before (bit for bit); the order is
    ``np.lexsort((line, distance, point))`` (:func:`_by_point_distance_line`), so the first
    :data:`MAX_CANDIDATES` of a point are its nearest, ties broken by line.
    """
    import numpy as np
    import shapely

    tree = net.tree
    # the nearest road: a small box first (every road within _PROBE_M of a point meets its box, so the
    # nearest projection found there is the nearest road); GEOS's nearest query only for the others
    nearest = np.full(len(xy), np.inf)
    bi, li = tree.query(shapely.box(xy[:, 0] - _PROBE_M, xy[:, 1] - _PROBE_M, xy[:, 0] + _PROBE_M,
                                    xy[:, 1] + _PROBE_M))
    if len(bi):
        d, _ = _project(net, xy, bi, li)
        np.minimum.at(nearest, bi, d)
    nearest[nearest > _PROBE_M] = np.inf
    far = np.flatnonzero(~np.isfinite(nearest))
    if len(far):
        near, dist = tree.query_nearest(shapely.points(xy[far]), return_distance=True, all_matches=False)
        nearest[far[near[0]]] = dist
    reach = nearest + SNAP_SLACK_M
    has = np.flatnonzero(np.isfinite(reach))
    r = reach[has]
    boxes = shapely.box(xy[has, 0] - r, xy[has, 1] - r, xy[has, 0] + r, xy[has, 1] + r)
    bi, li = tree.query(boxes)
    pi = has[bi]
    d, pos = _project(net, xy, pi, li)
    near = np.flatnonzero(d <= np.take(reach, pi))
    rows = near[_by_point_distance_line(pi[near], d[near], li[near])]
    pi = pi[rows]
    count = np.bincount(pi)
    if len(count) and count.max() > MAX_CANDIDATES:  # the nearest MAX_CANDIDATES of each point
        first = np.cumsum(count) - count
        rank = np.arange(len(pi)) - np.repeat(first, count)
        keep = rank < MAX_CANDIDATES
        rows, pi = rows[keep], pi[keep]
    return pi, li[rows], d[rows], pos[rows]


def _by_point_distance_line(pi: np.ndarray, d: np.ndarray, li: np.ndarray) -> np.ndarray:
    """The order of ``np.lexsort((li, d, pi))`` for ``d`` ≥ 0 finite, at the cost of one argsort.

    One stable sort of the complex key ``(pi * K + d) + 1j * li`` (K a power of two above every ``d``;
    numpy orders complex numbers by real part, then imaginary part; ``li`` < 2^53 is exact as a float).
    Rounding is monotone, so a strictly smaller real part is a strictly smaller (point, distance): only
    rows of equal real parts can be out of order, equal real parts form runs whose slots no other row can
    take, and within a run of exactly equal (point, distance) the rows are already ordered by line. The
    runs whose distances differ below the key's resolution (a point projected onto a junction from two
    lines, a few ulps apart) are re-sorted by ``np.lexsort`` of the three keys, which keeps each run in
    its slots for the same reason.
    """
    import numpy as np

    if len(pi) < 2:
        return np.argsort(pi, kind="stable")
    scale = 2.0 ** np.ceil(np.log2(float(d.max()) + 1.0))
    key = pi * scale + d
    order = np.argsort(key + 1j * li, kind="stable")
    key = key[order]
    tie = np.flatnonzero(key[:-1] == key[1:])  # slots i, i + 1 of one run
    if not len(tie):
        return order
    a, b = order[tie], order[tie + 1]
    wrong = (pi[a] != pi[b]) | (d[a] != d[b])  # an equal key that rounding made equal
    if wrong.any():
        run = np.cumsum(np.r_[True, key[:-1] != key[1:]])
        bad_run = np.zeros(int(run[-1]) + 1, dtype=bool)
        bad_run[run[tie[wrong]]] = True
        bad = np.flatnonzero(bad_run[run])
        rows = order[bad]
        order[bad] = rows[np.lexsort((li[rows], d[rows], pi[rows]))]
    return order


def snap_points(net: Any, xy: np.ndarray, access_kmh: float, outbound: bool) -> tuple[Entries, np.ndarray]:
    """Entries of points onto the network, and each point's straight leg to its nearest road (km).

    Parameters
    ----------
    net : RoadNetwork
        The network.
    xy : ndarray (n, 2)
        Points in the network's metres.
    access_kmh : float
        Speed of the straight off-network leg.
    outbound : bool
        From the point onto the network (a one-way piece can be left only along its direction); else
        from the network to the point.

    Returns
    -------
    (Entries, ndarray)
        The allowed entries, and per point the km to its nearest road (NaN without any road).
    """
    import numpy as np

    owner, line, leg, pos = road_candidates(net, xy)
    # the piece holding each projection: a line of one piece holds it; on the others, one search in the
    # lines' concatenated node positions
    at = np.take(net.line_base, line) + pos
    j = np.take(net.line_start, line)
    many = np.flatnonzero(~np.take(net.simple_lines[2], line))
    if len(many):
        found = np.searchsorted(net.seq_pos, at[many], side="right") - 1
        j[many] = np.clip(found, j[many], net.line_start[line[many] + 1] - 2)
    tail, head = np.take(net.seq_node, j), np.take(net.seq_node, j + 1)
    to_tail = np.maximum(at - np.take(net.seq_pos, j), 0.0)
    to_head = np.maximum(np.take(net.seq_pos, j + 1) - at, 0.0)
    kmh, way = np.take(net.line_speed, line), np.take(net.line_oneway, line)
    leg_min = leg / 1000.0 / access_kmh * 60.0
    t_tail = to_tail / 1000.0 / kmh * 60.0 + leg_min
    t_head = to_head / 1000.0 / kmh * 60.0 + leg_min
    # toward the tail is against the line's direction when leaving the point, with it when arriving
    t_tail[way == (1 if outbound else -1)] = np.inf
    t_head[way == (-1 if outbound else 1)] = np.inf

    def pair(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # a candidate's two entries side by side
        out = np.empty(2 * len(a), dtype=np.result_type(a, b))
        out[0::2], out[1::2] = a, b
        return out

    def twice(a: np.ndarray) -> np.ndarray:
        return np.repeat(a, 2)

    leg_km = leg / 1000.0
    entries = Entries(
        owner=twice(owner), node=pair(tail, head), minutes=pair(t_tail, t_head),
        km=pair(to_tail / 1000.0 + leg_km, to_head / 1000.0 + leg_km), line=twice(line),
        piece=twice(j), pos=twice(pos), leg_km=twice(leg_km),
    )
    nearest_leg = np.full(len(xy), np.nan)
    first = _first_per(owner)  # candidates sorted by point, then distance: a point's first is its nearest
    nearest_leg[owner[first]] = leg_km[first]
    allowed = np.isfinite(entries.minutes)
    return (entries if allowed.all() else entries.take(allowed)), nearest_leg


def _first_per(keys: np.ndarray) -> np.ndarray:
    """Indices of the first occurrence of each key, in order of occurrence, for keys whose equal values
    are adjacent (a point's entries of one piece are side by side: :func:`snap_points`)."""
    import numpy as np

    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0, dtype=np.int64)


def piece_pairs(org: Entries, dest: Entries, net: Any, access_kmh: float) -> tuple[np.ndarray, ...]:
    """Every (origin, destination) pair whose points enter one road piece (no node in between).

    Parameters
    ----------
    org, dest : Entries
        Entries of the origins (outbound) and of the destinations (inbound).
    net : RoadNetwork
        The network.
    access_kmh : float
        Speed of the straight off-network legs.

    Returns
    -------
    tuple of ndarray
        ``(origin, destination, minutes, km)``: minutes directly along the piece (inf where the piece's
        direction forbids it), in the order of the origins' entries, then of the destinations' entries.
    """
    import numpy as np

    n_piece = len(net.seq_node) + 1
    # only the origins' entries on a piece some destination enters can pair: a flag per piece keeps them
    # (a point's two entries of a piece are kept or dropped together, so the first of each stays first)
    shared = np.zeros(n_piece, dtype=bool)
    shared[dest.piece] = True
    near = np.flatnonzero(np.take(shared, org.piece))
    a = near[_first_per(org.owner[near].astype(np.int64) * n_piece + org.piece[near])]
    b = _first_per(dest.owner.astype(np.int64) * n_piece + dest.piece)
    b = b[np.argsort(dest.piece[b], kind="stable")]
    b_piece = dest.piece[b]
    lo = np.searchsorted(b_piece, org.piece[a], side="left")
    hi = np.searchsorted(b_piece, org.piece[a], side="right")
    count = hi - lo
    ai = np.repeat(a, count)
    bi = b[np.repeat(lo, count) + np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)]
    line = org.line[ai]
    pos, fpos = org.pos[ai], dest.pos[bi]
    forward = fpos >= pos
    way = net.line_oneway[line]
    allowed = ~((forward & (way == -1)) | (~forward & (way == 1)))
    road = np.abs(fpos - pos) / 1000.0
    legs = org.leg_km[ai] + dest.leg_km[bi]
    t = np.where(allowed, road / net.line_speed[line] * 60.0 + legs / access_kmh * 60.0, np.inf)
    return org.owner[ai], dest.owner[bi], t, road + legs


def core_entries(net: Any, entries: Entries, outbound: bool) -> Entries:
    """The entries moved onto the contracted graph: an entry at a chain node becomes entries at the
    chain's core ends, at the cost of the chain's edges in between (:mod:`coverage.contraction`).

    Parameters
    ----------
    net : RoadNetwork
        The network (its ``chains``).
    entries : Entries
        Entries of :func:`snap_points`.
    outbound : bool
        Entries from points onto the network (travel from the chain node to an end), else from the
        network to points (from an end to the chain node).

    Returns
    -------
    Entries
        Entries at core nodes only, sorted by owner (``line``, ``piece``, ``pos``, ``leg_km`` are those
        of the entry they come from).
    """
    import numpy as np

    ch = net.chains
    chain = np.take(ch.of_node, entries.node)
    inner = np.flatnonzero(chain >= 0)
    if not len(inner):
        return entries
    c, v = chain[inner], entries.node[inner]
    with np.errstate(invalid="ignore"):  # inf - inf on a one-way chain's way back: masked by ``ok``
        ways = _chain_ways(ch, c, v, outbound)
    # each entry in place, in order (the order by owner stays): an entry at a core node is kept; a chain
    # node's entry becomes its allowed ways to the chain's two ends (up to two rows, the end way first)
    (end0, min0, km0, ok0), (end1, min1, km1, ok1) = ways
    count = (chain < 0).astype(np.int64)
    count[inner] = ok0.astype(np.int64) + ok1
    first = np.cumsum(count) - count
    row = np.repeat(np.arange(len(count)), count)
    out = Entries(**{k: np.take(v, row) for k, v in entries.__dict__.items()})
    at0 = first[inner[ok0]]
    at1 = first[inner[ok1]] + ok0[ok1]
    for at, ok, end, a_min, a_km in ((at0, ok0, end0, min0, km0), (at1, ok1, end1, min1, km1)):
        out.node[at] = end[ok]
        out.minutes[at] += a_min[ok]
        out.km[at] += a_km[ok]
    return out


def _chain_ways(ch: Any, c: np.ndarray, v: np.ndarray, outbound: bool) -> tuple:
    """(core node, added minutes, added km, allowed) from chain nodes ``v`` of chains ``c`` to both ends."""
    import numpy as np

    if outbound:  # onward to the end (forward) or back to the start (backward)
        total, bwd_min = np.take(ch.total_fwd_min, c), np.take(ch.bwd_min, v)
        ways = ((np.take(ch.end, c), total - np.take(ch.fwd_min, v),
                 np.take(ch.total_fwd_km, c) - np.take(ch.fwd_km, v), np.isfinite(total)),
                (np.take(ch.start, c), bwd_min, np.take(ch.bwd_km, v), np.isfinite(bwd_min)))
    else:  # arriving from the start (forward) or from the end (backward)
        total, fwd_min = np.take(ch.total_bwd_min, c), np.take(ch.fwd_min, v)
        ways = ((np.take(ch.start, c), fwd_min, np.take(ch.fwd_km, v), np.isfinite(fwd_min)),
                (np.take(ch.end, c), total - np.take(ch.bwd_min, v),
                 np.take(ch.total_bwd_km, c) - np.take(ch.bwd_km, v), np.isfinite(total)))
    return ways


def chain_pairs(org: Entries, dest: Entries, net: Any, access_kmh: float) -> tuple[np.ndarray, ...]:
    """Every (origin, destination) pair whose entries are nodes of one chain, travelling along it.

    Parameters
    ----------
    org, dest : Entries
        Entries of the origins (outbound) and of the destinations (inbound), from :func:`snap_points`.
    net : RoadNetwork
        The network (its ``chains``).
    access_kmh : float
        Unused (the entries' costs hold the off-network legs); kept beside :func:`piece_pairs`.

    Returns
    -------
    tuple of ndarray
        ``(origin, destination, minutes, km)`` (inf minutes where the chain's direction forbids it).
    """
    import numpy as np

    ch = net.chains
    # only the origins' entries at a node of a chain some destination enters can pair (a flag per
    # chain, the last slot for "no chain")
    b = np.flatnonzero(ch.of_node[dest.node] >= 0)
    shared = np.zeros(len(ch.start) + 1, dtype=bool)
    shared[ch.of_node[dest.node[b]]] = True
    a = np.flatnonzero(np.take(shared, np.take(ch.of_node, org.node)))
    b = b[np.argsort(ch.of_node[dest.node[b]], kind="stable")]
    b_chain = ch.of_node[dest.node[b]]
    a_chain = ch.of_node[org.node[a]]
    lo = np.searchsorted(b_chain, a_chain, side="left")
    count = np.searchsorted(b_chain, a_chain, side="right") - lo
    ai = np.repeat(a, count)
    bi = b[np.repeat(lo, count) + np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)]
    x, y = org.node[ai], dest.node[bi]
    forward = ch.pos[y] >= ch.pos[x]
    with np.errstate(invalid="ignore"):  # inf - inf on a one-way chain's way back: not allowed
        along_min = np.where(forward, ch.fwd_min[y] - ch.fwd_min[x], ch.bwd_min[x] - ch.bwd_min[y])
        along_km = np.where(forward, ch.fwd_km[y] - ch.fwd_km[x], ch.bwd_km[x] - ch.bwd_km[y])
    t = org.minutes[ai] + along_min + dest.minutes[bi]
    t = np.where(np.isfinite(t), t, np.inf)
    return org.owner[ai], dest.owner[bi], t, org.km[ai] + along_km + dest.km[bi]
