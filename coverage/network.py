"""Travel time on a road network: minutes and network kilometres instead of straight lines.

Reading (:func:`read_network`)
    Road files and speeds tables are read by :mod:`coverage.roadfile` (GDAL line layers and ``.osm.pbf``;
    what a damaged or hostile file gets is described there).

Graph
    Lines are noded where they share a vertex (and at their ends); each piece between two nodes is an
    edge weighted by its length / the class speed. The graph is a compressed sparse matrix, and shortest
    paths run in compiled code (:func:`scipy.sparse.csgraph.dijkstra`, many sources at once). Chains of
    pass-through nodes are contracted into one edge each at build time (:mod:`coverage.contraction`);
    a point entering the network at a chain node joins the chain's ends at the chain's exact cost, so
    routes equal those on every road edge. The two-way dead-end trees left hanging from the rest of the
    graph by one node are found at build time too (:func:`coverage.contraction.prune_trees`): the
    nearest-facility Dijkstra runs on :attr:`RoadNetwork.routing`, which leaves them out unless a
    facility is on them, and sweeps them after, top down, with the same sums a Dijkstra over every node
    would make (results identical, bit for bit). The nodes are numbered along a Hilbert curve over
    their coordinates (:func:`coverage.contraction.hilbert_order`): a Dijkstra's frontier then touches
    nearby memory: on a 2 M-node graph the Dijkstra ran 1.43× faster than with the nodes numbered by x
    (``benchmarks/nodeorder.py``; BENCHMARKS.md, round 8).

Snapping
    A point joins the network at the nearest point of the nearest road (its projection on the line),
    then travels along that road piece to the piece's end nodes. The off-network leg — from the point to
    the road, and from the road to a facility — is a straight line at ``access_kmh`` (default
    :data:`ACCESS_KMH`, walking-to-driving compromise documented in the README) and is reported as
    ``snap_km``. A point whose road piece reaches no facility gets no minutes and a reason, never 0 and
    never a straight line. Islands without a ferry edge are unreachable from the main island.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .contraction import (
    CHAIN_FIELDS,
    TREE_FIELDS,
    Chains,
    Trees,
    contract_chains,
    hilbert_order,
    no_chains,
    no_trees,
    prune_trees,
)
from .errors import InputError, UnreadableFileError
from .roadfile import (
    CLASS_COLUMNS,
    MAX_COORD,
    checked_speeds,
    companion_hashes,
    feature_list,
    file_hash,
    oneway_codes,
    read_lines,
    read_speeds,
    road_classes,
)
from .snapping import Entries, chain_pairs, core_entries, piece_pairs, snap_points

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    from scipy.sparse import csr_matrix

__all__ = [
    "ACCESS_KMH",
    "CLASS_COLUMNS",
    "DEFAULT_SPEEDS",
    "MAX_SNAP_KM",
    "PAIR_COLUMNS",
    "TRAVEL_COLUMNS",
    "RoadNetwork",
    "nearest_by_network",
    "network_from_lines",
    "read_network",
    "read_speeds",
    "travel_pairs",
    "village_travel_times",
]

log = logging.getLogger(__name__)

#: Off-network legs (point → road, road → facility), km/h: a slow drive on a lane or farm track.
ACCESS_KMH = 15.0

#: Default speeds (km/h) per road class. OpenStreetMap classes: the statutory limits of 道路交通安全規則
#: 第 93 條 (no sign: 60 km/h outside built-up areas, 50 within) and 高速公路及快速公路交通管制規則 第 5 條
#: (freeways ≤ 110, expressways ≤ 100), taken below the limit for the class as a whole (links, towns,
#: bends); Taiwanese road-centreline classes (國道 … 鄉道) likewise. Mountain roads (阿里山公路, 南橫) are
#: slower than their class: give measured speeds with ``speeds=`` where that matters.
DEFAULT_SPEEDS: dict[str, float] = {
    "motorway": 100, "motorway_link": 60, "trunk": 80, "trunk_link": 50, "primary": 60, "primary_link": 40,
    "secondary": 50, "secondary_link": 40, "tertiary": 40, "tertiary_link": 30, "unclassified": 30,
    "residential": 30, "living_street": 15, "service": 20, "road": 30, "track": 15,
    "國道": 100, "高速公路": 100, "快速公路": 80, "快速道路": 80, "省道": 60, "縣道": 50, "市道": 50,
    "區道": 40, "鄉道": 40, "市區道路": 40, "產業道路": 25, "農路": 20,
}

#: A point farther than this (km, straight line) from every road of the network is off the network: it
#: gets no minutes (and a facility that far serves no one by road). A network covers a region (an OSM
#: extract of one county); a point outside it would otherwise "travel" tens of km at ``access_kmh`` to
#: the nearest road of another region. 20 km is well above the longest leg of 苗栗縣's villages to its
#: major roads (11 km in 泰安鄉) and well below the distance between Taiwan's counties' road networks.
MAX_SNAP_KM = 20.0

_KEY_QUANTUM = 0.01  # metres: vertices closer than 1 cm are one node


@dataclass
class RoadNetwork:
    """A routable road network in TWD97 TM2 metres (EPSG:3826).

    Attributes
    ----------
    node_xy : ndarray (n, 2)
        Node coordinates.
    minutes : csr_matrix (n, n)
        Travel time of each directed edge of the routable graph: chains of pass-through nodes are
        contracted into one edge each (``chains``); ``road_edges`` counts the edges before.
    km : csr_matrix (n, n)
        Length of each directed edge (same sparsity as ``minutes``).
    chains : Chains
        The contracted chains (:mod:`coverage.contraction`): how a chain node joins the graph.
    trees : Trees
        The two-way dead-end trees of the contracted graph (:func:`coverage.contraction.prune_trees`):
        the nearest-facility Dijkstra skips them and sweeps them after.
    road_edges : int
        Directed edges of the road graph before contraction.
    lines : GeoSeries
        The input lines (for snapping).
    seq_node, seq_pos : ndarray
        The nodes along every line, line after line, and their position along the line plus the
        line's offset ``line_base`` (so one sorted array serves every line).
    line_start : ndarray
        Index in ``seq_node`` of each line's first node (and one past the end).
    line_base, line_speed, line_oneway : ndarray
        Per line: offset of its positions, speed (km/h), direction (+1, −1, 0 both).
    source : str
        The file it came from and its content hash (and ``; graph from the cache`` when it was).
    classes : dict
        Lines per road class.
    from_cache : bool
        Whether :func:`read_network` took the built graph from the cache instead of reading the file.
    without_geometry : int
        Features of the file that had no geometry (or an empty one): not roads, counted, not routed.
    oneway_unknown : dict
        Lines per OpenStreetMap ``oneway`` value of no known meaning (e.g. ``yes;no``), routed both ways,
        counted (an ``.osm.pbf`` cannot be fixed by hand; a file's own ``oneway`` column with such values
        is refused instead).
    """

    node_xy: np.ndarray
    minutes: csr_matrix
    km: csr_matrix
    lines: gpd.GeoSeries
    seq_node: np.ndarray
    seq_pos: np.ndarray
    line_start: np.ndarray
    line_base: np.ndarray
    line_speed: np.ndarray
    line_oneway: np.ndarray
    source: str
    classes: dict
    chains: Chains
    road_edges: int
    trees: Trees | None = None
    from_cache: bool = False
    without_geometry: int = 0
    oneway_unknown: dict = field(default_factory=dict)

    @property
    def geoms(self) -> np.ndarray:
        """The lines as a plain array of shapely geometries (snapping works on it)."""
        if getattr(self, "_geoms", None) is None:
            import numpy as np

            self._geoms = np.asarray(self.lines.values)
        return self._geoms

    @property
    def vertices(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every line's vertices, line after line: coordinates (n, 2), each line's first vertex index (and
        one past the end), and each vertex's distance from its line's start (m); built on first use."""
        if getattr(self, "_vertices", None) is None:
            import numpy as np
            import shapely

            coords = shapely.get_coordinates(self.geoms)
            offsets = np.r_[0, np.cumsum(shapely.get_num_coordinates(self.geoms))]
            self._vertices = (coords, offsets, _along(coords, offsets[:-1], offsets[1:] - 1))
            self.simple_lines  # noqa: B018 - built with the vertices (one snapping index)
        return self._vertices

    @property
    def simple_lines(self) -> tuple[np.ndarray, bool, np.ndarray]:
        """Per line whether it is one straight segment (two vertices), whether every line is, and per line
        whether it is one piece (no node between its ends); built with ``vertices``."""
        if getattr(self, "_simple", None) is None:
            import numpy as np

            one = np.diff(self.vertices[1]) == 2
            self._simple = (one, bool(one.all()), np.diff(self.line_start) == 2)
        return self._simple

    @property
    def reversed_graph(self) -> tuple[csr_matrix, csr_matrix]:
        """Minutes and km of the reversed graph (arrival → departure), built on first use."""
        if getattr(self, "_reversed", None) is None:
            self._reversed = (self.minutes.T.tocsr(), self.km.T.tocsr())
        return self._reversed

    @property
    def routing(self) -> Routing:
        """The graph the nearest-facility Dijkstra runs on (:class:`Routing`), built on first use."""
        if getattr(self, "_routing", None) is None:
            self._routing = _routing(self.minutes, self.trees if self.trees is not None else no_trees(), self.source)
        return self._routing

    @property
    def tree(self):
        """A spatial index of the lines, built on first use. Nodes of 32 entries: snapping's box queries,
        which return ~80 roads per point, run ~20% faster than with GEOS's default of 10 (its results do
        not depend on the tree's shape)."""
        if getattr(self, "_tree", None) is None:
            import shapely

            self._tree = shapely.STRtree(self.geoms, node_capacity=32)
        return self._tree

    @property
    def n_nodes(self) -> int:
        return len(self.node_xy)

    @property
    def n_edges(self) -> int:
        """Directed edges of the road graph (before chains are contracted)."""
        return int(self.road_edges)


#: Virtual facility entries a query appends to the routing graph in place (beyond: one copy of the graph).
_SPARE_ENTRIES = 2**16

#: The routing graph's int32 indices hold fewer nodes and edges (room included) than this (Taiwan: ~5 M edges).
_INDEX_LIMIT = 2**31


@dataclass
class Routing:
    """The graph the nearest-facility Dijkstra runs on, built once per network (:attr:`RoadNetwork.routing`).

    The reversed graph (arrival → departure) of :attr:`RoadNetwork.minutes` on its routable nodes only
    (chain nodes and nodes without edges left out), the core's nodes first, then the dead-end trees'
    (:attr:`RoadNetwork.trees`), without the edges from the trees into their attach nodes, so the
    Dijkstra does not enter a tree unless a facility is on it. Canonical CSR with int32 indices; the
    ``indices``/``data`` buffers have room after the last edge for the virtual facility rows of a query
    (written there in place: one network serves one query at a time, not two threads at once).

    Attributes
    ----------
    node_of : ndarray (m,) int32
        The network node of each routing node.
    index : ndarray (n,) int32
        The routing node of each network node (−1 where none).
    indptr : ndarray (m + 1,) int32
        Row pointers.
    indices, data : ndarray
        Columns and minutes of the ``nnz`` edges, then free room.
    nnz : int
        Edges of the graph.
    tree_node, tree_parent : ndarray int32
        The trees' nodes top down and their parents, as routing nodes.
    tree_up_min : ndarray
        Minutes of the edge from each tree node up to its parent.
    tree_level : ndarray int64
        Start of each level in ``tree_node``.
    """

    node_of: np.ndarray
    index: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    nnz: int
    tree_node: np.ndarray
    tree_parent: np.ndarray
    tree_up_min: np.ndarray
    tree_level: np.ndarray


def _routing(minutes: csr_matrix, trees: Trees, source: str = "road network") -> Routing:
    import numpy as np
    from scipy.sparse import coo_matrix

    n = minutes.shape[0]
    if max(n, minutes.nnz + _SPARE_ENTRIES) >= _INDEX_LIMIT:  # refused, never wrapped round in int32
        raise InputError(f"{source}: {n:,} nodes and {minutes.nnz:,} routed edges; the routing graph holds fewer "
                         f"than {_INDEX_LIMIT - _SPARE_ENTRIES:,} of each: split the road file (e.g. by county)")
    out_deg = np.diff(minutes.indptr)
    has_edge = (out_deg > 0) | (np.bincount(minutes.indices, minlength=n) > 0)
    in_tree = np.zeros(n, dtype=bool)
    in_tree[trees.node] = True
    node_of = np.r_[np.flatnonzero(has_edge & ~in_tree), trees.node].astype(np.int32)
    m = len(node_of)
    index = np.full(n, -1, dtype=np.int32)
    index[node_of] = np.arange(m, dtype=np.int32)
    rows = np.repeat(np.arange(n, dtype=np.int32), out_deg)
    keep = np.ones(len(rows), dtype=bool)
    top = ~in_tree[trees.parent]  # a tree's top nodes: the edge up to the attach node is left out
    if top.any():
        keys = rows.astype(np.int64) * n + minutes.indices  # sorted: canonical CSR
        keep[np.searchsorted(keys, trees.node[top].astype(np.int64) * n + trees.parent[top])] = False
        del keys
    rev = coo_matrix((minutes.data[keep], (index[minutes.indices[keep]], index[rows[keep]])), shape=(m, m)).tocsr()
    del rows, keep
    rev.sum_duplicates()  # canonical: sorted columns (there are no duplicates to sum)
    nnz = int(rev.nnz)
    indices = np.empty(nnz + _SPARE_ENTRIES, dtype=np.int32)
    data = np.empty(nnz + _SPARE_ENTRIES)
    indices[:nnz], data[:nnz] = rev.indices, rev.data
    return Routing(node_of=node_of, index=index, indptr=rev.indptr.astype(np.int32), indices=indices, data=data,
                   nnz=nnz, tree_node=index[trees.node], tree_parent=index[trees.parent],
                   tree_up_min=trees.up_min, tree_level=trees.level)


def _node(lines) -> tuple:
    """Node ids of the vertices that are line ends or shared by two lines; vertex arrays per line."""
    import numpy as np
    import shapely

    coords, line_of = shapely.get_coordinates(lines.values, return_index=True)
    span = np.r_[coords.min(axis=0), coords.max(axis=0)] if len(coords) else np.zeros(1)  # NaN propagates
    if not (np.abs(span) <= MAX_COORD).all():  # NaN too: no 1 cm key would hold them
        bad = ~(np.abs(coords) <= MAX_COORD).all(axis=1)
        raise InputError(f"lines= {feature_list(np.unique(line_of[bad]), noun='line')}: a vertex is not "
                         "a finite coordinate within 10,000 km (TWD97 TM2 metres)")
    keys = np.round(coords / _KEY_QUANTUM).astype(np.int64)
    lo = keys.min(axis=0) if len(keys) else np.zeros(2, dtype=np.int64)
    span = [int(v) + 1 for v in (keys.max(axis=0) - lo)] if len(keys) else [1, 1]
    if span[0] * span[1] < 2**62:  # one int64 key per vertex, in the same (x, y) order: a cheaper sort
        flat = (keys[:, 0] - lo[0]) * span[1] + (keys[:, 1] - lo[1])
        del keys
        _, vid, inverse = np.unique(flat, return_index=True, return_inverse=True)
        del flat
    else:
        _, vid, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        del keys
    inverse = inverse.ravel()
    starts = np.r_[0, np.flatnonzero(np.diff(line_of)) + 1]
    ends = np.r_[starts[1:] - 1, len(line_of) - 1]
    # a vertex is a node if it ends a line or appears on two different lines
    n_lines = int(line_of[-1]) + 1 if len(line_of) else 1
    pairs = np.unique(inverse.astype(np.int64) * n_lines + line_of)  # (vertex, line) once each
    lines_per_vertex = np.bincount(pairs // n_lines, minlength=len(vid))
    del pairs
    is_node = lines_per_vertex[inverse] >= 2
    is_node[starts] = True
    is_node[ends] = True
    node_keys, node_id = np.unique(inverse[is_node], return_inverse=True)
    node_xy = coords[vid[node_keys]]
    # nodes numbered along a Hilbert curve: neighbours on the ground are neighbours in memory (faster Dijkstra)
    order = hilbert_order(node_xy)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return node_xy[order], rank[node_id.ravel()], is_node, line_of, _along(coords, starts, ends)


def _along(coords: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Distance (m) of every vertex from the start of its line (lines concatenated, ``starts``/``ends`` the
    index of each line's first and last vertex): one formula for the graph's nodes and for snapping."""
    import numpy as np

    seg = np.r_[0.0, np.hypot(*np.diff(coords, axis=0).T)]
    seg[starts] = 0.0
    along = np.cumsum(seg)
    along -= np.repeat(along[starts], ends - starts + 1)
    return along


def _graph(n: int, tail, head, km, minutes, oneway):
    import numpy as np
    from scipy.sparse import csr_matrix

    fwd = oneway >= 0
    rev = oneway <= 0
    key = np.r_[tail[fwd], head[rev]].astype(np.int64) * n + np.r_[head[fwd], tail[rev]]  # (row, column)
    t = np.r_[minutes[fwd], minutes[rev]]
    d = np.r_[km[fwd], km[rev]]
    keep = key // n != key % n  # no self-loops
    key, t, d = key[keep], t[keep], d[keep]
    del keep
    # parallel edges: keep the fastest (sorted by edge, the fastest last); one array at a time
    order = np.lexsort((-t, key))
    key = key[order]
    t = t[order]
    d = d[order]
    del order
    last = np.r_[key[1:] != key[:-1], True][: len(key)]  # no edge: none kept
    key, t, d = key[last], t[last], d[last]
    # csgraph treats an explicit 0 as "no edge": a zero-length edge costs a hair
    t = np.maximum(t, 1e-9)
    d = np.maximum(d, 1e-12)
    itype = np.int32 if max(n, len(key)) < 2**31 else np.int64
    indptr = np.r_[0, np.cumsum(np.bincount(key // n, minlength=n))].astype(itype)
    mins = csr_matrix((t, (key % n).astype(itype), indptr), shape=(n, n))  # canonical: sorted, no duplicates
    kms = csr_matrix((d, mins.indices, mins.indptr), shape=(n, n))
    return mins, kms


def read_network(
    path: str | Path,
    *,
    road_class_column: str | None = None,
    speeds: dict[str, float] | str | Path | None = None,
    layer: str | None = None,
    cache: bool = True,
) -> RoadNetwork:
    """Read a road network and build its routable graph.

    The built graph is kept in the cache folder (``SAFETYNET_CACHE``, default
    ``~/.cache/safetynet-coverage``) under the file's content hash and the speeds, so the next run
    skips reading and noding; ``RoadNetwork.source`` says when the cache was used.

    Parameters
    ----------
    path : path
        A GDAL line layer (``.shp``, ``.gpkg``, ``.geojson`` …) or an OpenStreetMap ``.osm.pbf``.
    road_class_column : str, optional
        Column with the road class; default the first of :data:`CLASS_COLUMNS` present.
    speeds : dict or path, optional
        km/h per class, or a CSV ``class,kmh``; default :data:`DEFAULT_SPEEDS`.
    layer : str, optional
        Layer of a multi-layer file (default: the first; ``lines`` for ``.osm.pbf``).
    cache : bool
        Use and fill the graph cache.

    Returns
    -------
    RoadNetwork

    Raises
    ------
    UnreadableFileError, InputError
        Unreadable file, no class column, or classes with no speed (all listed); a damaged feature, record
        count or coordinate (named), several line layers, oneway values of no known meaning, or a speed in
        ``speeds`` that is not a number in (0, 200] km/h.
    """
    import json

    import numpy as np

    path = Path(path)
    table = read_speeds(speeds) if isinstance(speeds, (str, Path)) else checked_speeds(dict(speeds or DEFAULT_SPEEDS))
    if not path.exists():
        raise UnreadableFileError(path, "file not found")
    digest = file_hash(path)
    # a shapefile's classes, CRS and records are in its companions: an edited .dbf is another network
    key = hashlib.sha256(json.dumps([_CACHE_VERSION, digest, companion_hashes(path), road_class_column, layer,
                                     sorted(table.items())]).encode()).hexdigest()[:24]
    cached = _load_cached(key) if cache else None
    if cached is not None:
        log.info("%s: road graph from the cache (%s)", path.name, _cache_file(key))
        cached.source = f"{path.name} (sha256 {digest}; graph from the cache)"
        cached.from_cache = True
        return cached
    frame, without_geometry = read_lines(path, layer)
    if frame.empty:
        raise UnreadableFileError(path, "the layer has no lines")
    if without_geometry:
        log.warning("%s: %d features without geometry are not roads (counted, not routed)", path.name,
                    without_geometry)
    cls, column, kmh = road_classes(frame, path, road_class_column, table)
    way, oneway_unknown = oneway_codes(frame, path, column)
    net = network_from_lines(frame.geometry, kmh, way, source=f"{path.name} (sha256 {digest})")
    net.classes = {c: int(n) for c, n in zip(*np.unique(cls, return_counts=True), strict=True)}
    net.without_geometry, net.oneway_unknown = without_geometry, oneway_unknown
    if cache:
        _save_cached(key, net)
    return net


def network_from_lines(lines: gpd.GeoSeries, kmh, oneway=None, *, source: str = "lines",
                       contract: bool = True, prune: bool = True) -> RoadNetwork:
    """Build the routable graph of line geometries in TWD97 TM2 metres, with a speed (km/h) per line and
    optionally a direction (+1 forward only, −1 reverse only, 0 both).

    Parameters
    ----------
    lines : GeoSeries
        LineStrings in TWD97 TM2 metres (EPSG:3826); lines meet where they share a vertex.
    kmh : array-like of float
        Speed of each line, km/h.
    oneway : array-like of int, optional
        Direction of each line: +1 forward only, −1 reverse only, 0 both ways (the default).
    source : str
        What the lines came from, for the log and :attr:`RoadNetwork.source`.
    contract : bool
        Contract chains of pass-through nodes (:mod:`coverage.contraction`): same results, faster
        shortest paths. ``False`` keeps every road edge in the routable graph.
    prune : bool
        Find the two-way dead-end trees of the contracted graph (:func:`coverage.contraction.prune_trees`),
        which the nearest-facility Dijkstra then skips: same results, fewer nodes visited. Only with
        ``contract``.

    Returns
    -------
    RoadNetwork
        The graph: minutes and km per directed edge, and each line's nodes for snapping.
    """
    import numpy as np

    lines, kmh, oneway = _checked_lines(lines, kmh, oneway)
    node_xy, node_id, is_node, line_of, along = _node(lines)
    # edges: consecutive nodes along each line
    nline = line_of[is_node]
    npos = along[is_node]
    del line_of, along, is_node  # per vertex: not needed beyond the nodes (frees memory before the contraction)
    same = nline[1:] == nline[:-1]
    tail, head = node_id[:-1][same], node_id[1:][same]
    km = (npos[1:] - npos[:-1])[same] / 1000.0
    eline = nline[1:][same]
    minutes = km / kmh[eline] * 60.0
    mins, kms = _graph(len(node_xy), tail, head, km, minutes, oneway[eline])
    del tail, head, km, minutes, eline
    road_edges = int(mins.nnz)
    if contract:
        mins, kms, chains = contract_chains(mins, kms)
    else:
        chains = no_chains(len(node_xy))
    trees = prune_trees(mins, kms) if contract and prune else no_trees()
    bounds = np.r_[0, np.flatnonzero(np.diff(nline)) + 1, len(nline)]
    lengths = lines.length.to_numpy()
    line_base = np.r_[0.0, np.cumsum(lengths + 1.0)[:-1]]  # 1 m gap: a line's end never meets the next start
    log.info("%s: %d lines, %d nodes, %d directed edges (%d after contracting %d chains; %d nodes on dead-end "
             "trees)", source, len(lines), len(node_xy), road_edges, mins.nnz, len(chains.start), len(trees.node))
    return RoadNetwork(node_xy=node_xy, minutes=mins, km=kms, lines=lines, seq_node=node_id,
                       seq_pos=npos + line_base[nline], line_start=bounds, line_base=line_base,
                       line_speed=kmh, line_oneway=oneway, source=source, classes={}, chains=chains,
                       road_edges=road_edges, trees=trees)


def _checked_lines(lines, kmh, oneway) -> tuple[gpd.GeoSeries, np.ndarray, np.ndarray]:
    """The input of :func:`network_from_lines` checked: LineStrings, none missing or empty; one finite speed
    > 0 per line; one direction (−1, 0, +1) per line. Errors name the parameter and the first lines."""
    import numpy as np
    import shapely

    lines = lines.reset_index(drop=True)
    geoms = lines.to_numpy()
    bad = shapely.is_missing(geoms) | (shapely.get_type_id(geoms) != 1) | shapely.is_empty(geoms)
    if bad.any():
        raise InputError(f"lines= {feature_list(np.flatnonzero(bad), noun='line')}: not a LineString "
                         "with vertices (missing, empty or another type)")
    try:
        kmh = np.asarray(kmh, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise InputError("kmh= must be numbers: a speed (km/h) per line") from None
    if len(kmh) != len(lines):
        raise InputError(f"kmh= has {len(kmh)} speeds for {len(lines)} lines: expected one per line")
    bad = ~(np.isfinite(kmh) & (kmh > 0))
    if bad.any():
        raise InputError(f"kmh= {feature_list(np.flatnonzero(bad), noun='line')}: the speed "
                         f"{kmh[bad][0]:g} is not a finite number > 0 km/h")
    if oneway is None:
        return lines, kmh, np.zeros(len(lines), dtype=np.int8)
    way = np.asarray(oneway).reshape(-1)
    if len(way) != len(lines):
        raise InputError(f"oneway= has {len(way)} values for {len(lines)} lines: expected one per line")
    if way.dtype.kind not in "iubf" or not np.isin(way, (-1, 0, 1)).all():
        raise InputError("oneway= values must be -1 (against the line), 0 (both ways) or +1 (along the line)")
    return lines, kmh, way.astype(np.int8)


_CACHE_VERSION = 5  # 2: the count of features without geometry is kept; 3: chains contracted; 4: dead-end trees,
# 2-D lines kept as their vertex arrays (no WKB); 5: nodes numbered along a Hilbert curve
_ARRAYS = ("node_xy", "seq_node", "seq_pos", "line_start", "line_base", "line_speed", "line_oneway")


def _cache_file(key: str) -> Path:
    from .datasets import cache_dir

    return cache_dir() / f"network-{key}.npz"


def _load_cached(key: str) -> RoadNetwork | None:
    import json

    import geopandas as gpd
    import numpy as np
    import shapely
    from scipy.sparse import csr_matrix

    from .geography import PROJECTED_CRS

    try:
        with _cache_file(key).open("rb") as fh, np.load(fh, allow_pickle=False) as data:  # our handle: closed
            shape = tuple(data["shape"])
            mats = [csr_matrix((data[f"{m}_data"], data["indices"], data["indptr"]), shape=shape)
                    for m in ("minutes", "km")]
            vertices = None
            if "line_xy" in data:  # 2-D lines: rebuilt from their vertices in one call (no per-line objects)
                coords, offsets = data["line_xy"], data["line_offsets"]
                counts = np.diff(offsets)
                geoms = shapely.linestrings(coords, indices=np.repeat(np.arange(len(counts)), counts))
                vertices = (coords, offsets, _along(coords, offsets[:-1], offsets[1:] - 1))
            else:
                blob, offsets = data["wkb"].tobytes(), data["wkb_offsets"]
                geoms = shapely.from_wkb([blob[a:b] for a, b in itertools.pairwise(offsets)])
            lines = gpd.GeoSeries(geoms, crs=PROJECTED_CRS)
            arrays = {k: data[k] for k in _ARRAYS}
            chains = Chains(**{k: data[f"chain_{k}"] for k in CHAIN_FIELDS})
            trees = Trees(**{k: data[f"tree_{k}"] for k in TREE_FIELDS})
            meta = json.loads(str(data["meta"]))
            classes, road_edges = dict(meta["classes"]), int(meta["road_edges"])
            without_geometry = int(meta.get("without_geometry", 0))
            oneway_unknown = {str(k): int(v) for k, v in dict(meta.get("oneway_unknown", {})).items()}
    except (OSError, KeyError, ValueError, TypeError, AttributeError, EOFError, zipfile.BadZipFile):
        return None
    try:
        problem = _cache_problem(shape, arrays, chains, trees, len(geoms), vertices, mats)
    except (ValueError, TypeError, IndexError) as exc:
        problem = str(exc)
    if problem:
        log.warning("road graph cache %s is inconsistent (%s): rebuilt", _cache_file(key), problem)
        return None
    net = RoadNetwork(minutes=mats[0], km=mats[1], lines=lines, source="", classes=classes,
                      without_geometry=without_geometry, oneway_unknown=oneway_unknown, chains=chains, trees=trees,
                      road_edges=road_edges, **arrays)
    if vertices is not None:
        net._geoms, net._vertices = geoms, vertices
    from .datasets import mark_used

    mark_used(_cache_file(key))
    return net


def _cache_problem(shape: tuple, arrays: dict, chains: Chains, trees: Trees, n_lines: int, vertices,
                   mats: list) -> str:
    """What is wrong with the arrays of a cached graph ('' when they fit together): a cache file cut short or
    altered must be rebuilt, never routed on."""
    import numpy as np

    n = int(shape[0]) if len(shape) == 2 else -1
    named = {**arrays, **{f"chain_{k}": getattr(chains, k) for k in CHAIN_FIELDS},
             **{f"tree_{k}": getattr(trees, k) for k in TREE_FIELDS}}
    if vertices is not None:
        named.update(line_xy=vertices[0], line_offsets=vertices[1])
    for name, a in named.items():
        two_d = name in ("node_xy", "line_xy")
        whole = name in ("seq_node", "line_start", "line_oneway", "line_offsets", "chain_of_node", "chain_pos",
                         "chain_start", "chain_end", "tree_node", "tree_parent", "tree_level")
        if a.ndim != (2 if two_d else 1) or a.dtype.kind != ("i" if whole else "f"):
            return f"{name}: {a.ndim}-D {a.dtype}"
    for m in mats:
        if m.shape != (n, n) or m.data.dtype != np.float64:
            return "graph matrices of the wrong shape or type"
    sizes = {"node_xy": (n, 2), "line_start": (n_lines + 1,), "line_base": (n_lines,), "line_speed": (n_lines,),
             "line_oneway": (n_lines,)}
    for name, want in sizes.items():
        if arrays[name].shape != want:
            return f"{name} has shape {arrays[name].shape}, expected {want}"
    seq = len(arrays["seq_node"])
    if len(arrays["seq_pos"]) != seq or (n_lines and int(arrays["line_start"][-1]) != seq):
        return "seq_node, seq_pos and line_start do not match"
    per_node = [getattr(chains, k) for k in ("of_node", "pos", "fwd_min", "fwd_km", "bwd_min", "bwd_km")]
    per_chain = [getattr(chains, k) for k in ("start", "end", "total_fwd_min", "total_fwd_km", "total_bwd_min",
                                               "total_bwd_km")]
    if any(len(a) != n for a in per_node) or len({len(a) for a in per_chain}) != 1:
        return "chain arrays of the wrong length"
    m = len(trees.node)
    if any(len(a) != m for a in (trees.parent, trees.up_min, trees.up_km)) or not (
            len(trees.level) and trees.level[0] == 0 and trees.level[-1] == m and np.all(np.diff(trees.level) >= 0)):
        return "tree arrays of the wrong length"
    for name, a in (("seq_node", arrays["seq_node"]), ("chain ends", np.r_[chains.start, chains.end]),
                    ("tree nodes", np.r_[trees.node, trees.parent])):
        if len(a) and (a.min() < 0 or a.max() >= n):
            return f"{name} outside the {n} nodes"
    if vertices is not None and (len(vertices[1]) != n_lines + 1 or int(vertices[1][-1]) != len(vertices[0])):
        return "line vertices do not match"
    return ""


def _save_cached(key: str, net: RoadNetwork) -> None:
    """Write the graph to the cache atomically (a cache that cannot be written is only logged)."""
    import json
    import os
    import tempfile

    import numpy as np
    import shapely

    path = _cache_file(key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        geoms = net.geoms
        if (shapely.has_z(geoms).any() or not (shapely.get_type_id(geoms) == 1).all()
                or not (shapely.get_num_coordinates(geoms) >= 2).all()):
            wkb = shapely.to_wkb(geoms)
            lines = {"wkb": np.frombuffer(b"".join(wkb), dtype=np.uint8),
                     "wkb_offsets": np.r_[0, np.cumsum([len(w) for w in wkb])]}
        else:  # 2-D LineStrings (every line read from a file or built by the benchmark): their vertices
            coords, offsets, _ = net.vertices
            lines = {"line_xy": coords, "line_offsets": offsets}
        trees = net.trees if net.trees is not None else no_trees()
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, shape=np.array(net.minutes.shape), indices=net.minutes.indices, indptr=net.minutes.indptr,
                     minutes_data=net.minutes.data, km_data=net.km.data, **lines,
                     **{f"tree_{k}": getattr(trees, k) for k in TREE_FIELDS},
                     meta=json.dumps({"classes": net.classes, "without_geometry": net.without_geometry,
                                      "oneway_unknown": net.oneway_unknown, "road_edges": net.road_edges}),
                     **{k: getattr(net, k) for k in _ARRAYS},
                     **{f"chain_{k}": getattr(net.chains, k) for k in CHAIN_FIELDS})
        os.replace(tmp, path)
    except OSError as exc:
        log.debug("road graph cache not written (%s)", exc)
        return
    from .datasets import prune_cache

    prune_cache("network-*.npz")  # graphs of road files not used for a month


def _path_km(pred: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Kilometres from the root of a shortest-path tree to every node, by pointer doubling.

    ``pred`` is csgraph's predecessor array (negative for roots and unreached nodes) and ``step`` the
    length of the tree edge into each node (0 for roots). After k rounds each node holds the sum over
    the 2^k edges above it: O(n log depth), vectorised.
    """
    import numpy as np

    total = step.copy()
    anc = np.where(pred >= 0, pred, -1)
    idx = np.flatnonzero(anc >= 0)
    while len(idx):
        up = anc[idx]
        total[idx] += total[up]
        anc[idx] = anc[up]
        idx = idx[anc[idx] >= 0]
    return total


def _augmented(r: Routing, owner: np.ndarray, node: np.ndarray, minutes: np.ndarray, km: np.ndarray,
               n_fac: int):
    """The routing graph plus one virtual node per facility (numbered from the routing graph's nodes) with
    an edge to each routing node ``node`` its entries reach (the cheapest per node); returns the graph and
    the km of each virtual edge, keyed ``facility * nodes + node`` (sorted). The virtual rows are written
    into the free room after the graph's edges (one copy of the graph only when they do not fit)."""
    import numpy as np
    from scipy.sparse import csr_matrix

    m = len(r.node_of)
    first = _cheapest(owner, node, minutes)  # sorted by (facility, node): the virtual rows' CSR order
    k = len(first)
    if k <= len(r.indices) - r.nnz:
        indices, data = r.indices[: r.nnz + k], r.data[: r.nnz + k]  # views: nothing copied
    else:
        indices = np.r_[r.indices[: r.nnz], np.zeros(k, dtype=np.int32)]
        data = np.r_[r.data[: r.nnz], np.zeros(k)]
    indices[r.nnz:] = node[first]
    data[r.nnz:] = np.maximum(minutes[first], 1e-9)  # csgraph reads an explicit 0 as no edge
    per = np.cumsum(np.bincount(owner[first], minlength=n_fac))
    indptr = np.r_[r.indptr, r.nnz + per].astype(np.int32)
    g_min = csr_matrix((data, indices, indptr), shape=(m + n_fac, m + n_fac))
    keys = owner[first].astype(np.int64) * m + node[first]
    return g_min, (keys, np.maximum(km, 1e-12)[first])


def _sweep_trees(r: Routing, dist: np.ndarray, pred: np.ndarray, src: np.ndarray) -> None:
    """The dead-end trees after the Dijkstra, top down: a node takes its parent's minutes plus the edge up
    when that is faster than what the Dijkstra found inside its tree (the same sum a Dijkstra over the
    whole graph makes), with the parent as predecessor and the parent's source (in place)."""
    import numpy as np

    for a, b in itertools.pairwise(r.tree_level):
        v, p = r.tree_node[a:b], r.tree_parent[a:b]
        via = dist[p] + r.tree_up_min[a:b]
        better = np.flatnonzero(via < dist[v])
        if len(better):
            v, p = v[better], p[better]
            dist[v], pred[v], src[v] = via[better], p, src[p]


def _root_km(net: RoadNetwork, pred: np.ndarray, start: np.ndarray, virtual_km) -> np.ndarray:
    """Km from each routing node ``start`` up its shortest-path tree (``pred`` of the routing graph plus
    virtual facility nodes numbered after its nodes) to the root: the tree edges summed from the start
    upward, only along the paths asked for."""
    import numpy as np

    r = net.routing
    n = len(r.node_of)
    keys, km_virtual = virtual_km
    walker, tail, head = [], [], []
    cur = np.asarray(start, dtype=np.int64)
    alive = np.flatnonzero(pred[cur] >= 0)
    cur = cur[alive]
    while len(alive):
        up = pred[cur].astype(np.int64)
        walker.append(alive)
        tail.append(cur)
        head.append(up)
        go = up < n  # a virtual facility node is the root
        alive, cur = alive[go], up[go]
    total = np.zeros(len(start))
    if not walker:
        return total
    w, v, up = np.concatenate(walker), np.concatenate(tail), np.concatenate(head)
    step = np.empty(len(w))
    road = up < n
    # a reversed edge up → v is the road v → up
    step[road] = _edge_values(net.km, r.node_of[v[road]], r.node_of[up[road]])
    step[~road] = km_virtual[np.searchsorted(keys, (up[~road] - n) * n + v[~road])]
    order = np.argsort(w, kind="stable")  # each walker's steps from its start upward
    w, step = w[order], step[order]
    first = np.r_[0, np.flatnonzero(np.diff(w)) + 1]
    total[w[first]] = np.add.reduceat(step, first)
    return total


def _first_min(owner: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Index of the first smallest finite ``t`` of every owner (``owner`` sorted), owners with one only."""
    import numpy as np

    if not len(owner):
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    best = np.minimum.reduceat(t, starts)  # per run of one owner, spread back over the run below
    hit = np.flatnonzero((t == np.repeat(best, np.diff(np.r_[starts, len(owner)]))) & np.isfinite(t))
    return hit[np.r_[True, owner[hit][1:] != owner[hit][:-1]]] if len(hit) else hit


def _same_piece(org: Entries, fac: Entries, net: RoadNetwork, access_kmh: float, n_org: int):
    """Direct travel along a road piece both points enter (no node in between), or along a chain both
    points enter at its nodes: per origin the best minutes, km and facility (inf / nan / −1 where none)."""
    import numpy as np

    best_t, best_d, best_f = np.full(n_org, np.inf), np.full(n_org, np.nan), np.full(n_org, -1)
    owner, fac_id, t, d = (np.r_[a, b] for a, b in zip(piece_pairs(org, fac, net, access_kmh),
                                                        chain_pairs(org, fac, net, access_kmh), strict=True))
    if not len(owner):
        return best_t, best_d, best_f
    order = np.lexsort((t, owner))
    first = order[np.r_[True, owner[order][1:] != owner[order][:-1]]]
    first = first[np.isfinite(t[first])]
    best_t[owner[first]], best_d[owner[first]], best_f[owner[first]] = t[first], d[first], fac_id[first]
    return best_t, best_d, best_f


def _route(net: RoadNetwork, org: Entries, n_org: int, fac: Entries, fac_ids: np.ndarray, access_kmh: float,
           org_core: Entries, fac_core: Entries):
    """Fastest facility of every origin among ``fac_ids`` (facility positions): minutes, km, facility.
    ``org``/``fac`` are the entries of :func:`snap_points`, ``org_core``/``fac_core`` the same on the
    contracted graph (:func:`coverage.snapping.core_entries`), sorted by origin."""
    import numpy as np
    from scipy.sparse.csgraph import dijkstra

    minutes, km, which = np.full(n_org, np.inf), np.full(n_org, np.nan), np.full(n_org, -1)
    sub = fac.take(np.isin(fac.owner, fac_ids))
    if not len(sub.owner) or not len(org.owner):
        return minutes, km, which
    r = net.routing
    m = len(r.node_of)
    core = fac_core.take(np.isin(fac_core.owner, fac_ids))
    at = r.index[core.node]
    core, at = core.take(at >= 0), at[at >= 0]  # a node without edges is no way in
    local = np.searchsorted(fac_ids, core.owner)  # facility → virtual node number
    g_min, virtual_km = _augmented(r, local, at, core.minutes, core.km, len(fac_ids))
    virtual = np.arange(m, m + len(fac_ids))
    dist, pred, src = dijkstra(g_min, directed=True, indices=virtual, min_only=True, return_predecessors=True)
    _sweep_trees(r, dist, pred, src)
    at = r.index[org_core.node]
    t = org_core.minutes + np.where(at >= 0, dist[at], np.inf)
    first = _first_min(org_core.owner, t)  # per origin, its fastest entry
    o, node = org_core.owner[first], at[first]
    minutes[o] = t[first]
    km[o] = org_core.km[first] + _root_km(net, pred, node, virtual_km)
    which[o] = fac_ids[src[node] - m]
    direct_t, direct_d, direct_f = _same_piece(org, sub, net, access_kmh, n_org)
    better = direct_t < minutes
    minutes[better], km[better], which[better] = direct_t[better], direct_d[better], direct_f[better]
    return minutes, km, which


def nearest_by_network(
    net: RoadNetwork,
    origins: gpd.GeoSeries,
    facilities: gpd.GeoSeries,
    *,
    origin_groups: np.ndarray | None = None,
    facility_groups: np.ndarray | None = None,
    access_kmh: float = ACCESS_KMH,
) -> pd.DataFrame:
    """Fastest facility of each origin by road: minutes, network km, snap km.

    Parameters
    ----------
    net : RoadNetwork
    origins, facilities : GeoSeries
        Points (any CRS; projected to TWD97 TM2).
    origin_groups, facility_groups : array, optional
        A group label per origin and per facility (e.g. the county): an origin is routed only to the
        facilities of its own group. Default: every facility serves every origin.
    access_kmh : float
        Speed of the straight off-network legs (point → road, road → facility).

    Returns
    -------
    DataFrame aligned to ``origins``: ``minutes``, ``network_km`` (road km plus both off-network
    legs), ``snap_km`` (the origin's straight leg to its nearest road), ``facility`` (position in
    ``facilities``, −1 if none), ``reason`` (why there are no minutes, else empty). Facilities at
    one point (and in one group) tie on every route: the first of them in ``facilities`` is the one
    given, on the contracted and the full graph alike.
    """
    import numpy as np
    import pandas as pd

    from .geography import PROJECTED_CRS

    if not access_kmh > 0:
        raise InputError(f"access_kmh={access_kmh!r}: expected a speed > 0 km/h")
    o_proj, f_proj = origins.to_crs(PROJECTED_CRS), facilities.to_crs(PROJECTED_CRS)
    oxy, fxy = np.c_[o_proj.x, o_proj.y], np.c_[f_proj.x, f_proj.y]
    out = pd.DataFrame({"minutes": np.nan, "network_km": np.nan, "snap_km": np.nan, "facility": -1,
                        "reason": "no facility"}, index=origins.index)
    if not len(oxy):
        return out
    org, leg = snap_points(net, oxy, access_kmh, outbound=True)
    out["snap_km"] = leg
    if not len(fxy):
        return out
    fac, fleg = snap_points(net, fxy, access_kmh, outbound=False)
    org_core, fac_core = core_entries(net, org, outbound=True), core_entries(net, fac, outbound=False)
    og = np.zeros(len(oxy), dtype=object) if origin_groups is None else np.asarray(origin_groups, dtype=object)
    fg = np.zeros(len(fxy), dtype=object) if facility_groups is None else np.asarray(facility_groups, dtype=object)
    # a facility off the network serves no one by road; of facilities at one point, the first serves (the others
    # would tie with it exactly, and the Dijkstra's pick among exact ties is not a rule)
    first_at = ~pd.DataFrame({"group": fg, "x": fxy[:, 0], "y": fxy[:, 1]}).duplicated().to_numpy()
    serving = np.flatnonzero(~(fleg > MAX_SNAP_KM) & first_at)
    minutes, km, which = _route(net, org, len(oxy), fac, serving, access_kmh, org_core, fac_core)
    # the overall fastest is the group's fastest when it belongs to the group; route the rest per group
    wrong = (which < 0) | (fg[np.maximum(which, 0)] != og)
    for group in sorted(set(og[wrong]), key=str):
        rows = np.flatnonzero(wrong & (og == group))
        part = org.take(np.isin(org.owner, rows))
        part_core = org_core.take(np.isin(org_core.owner, rows))
        m, d, w = _route(net, part, len(oxy), fac, serving[fg[serving] == group], access_kmh, part_core, fac_core)
        minutes[rows], km[rows], which[rows] = m[rows], d[rows], w[rows]
    off = ~(leg <= MAX_SNAP_KM)  # farther than MAX_SNAP_KM from every road (or no road at all)
    reached = np.isfinite(minutes) & ~off
    has_group = np.isin(og, fg)
    out["minutes"] = np.where(reached, minutes, np.nan)
    out["network_km"] = np.where(reached, km, np.nan)
    out["facility"] = np.where(reached, which, -1)
    out["reason"] = np.where(reached, "", np.where(
        off, f"off the road network (no road within {MAX_SNAP_KM:g} km)",
        np.where(has_group, "no road connection to a facility", "no facility in its group")))
    return out


#: Columns of :func:`travel_pairs`.
PAIR_COLUMNS = ["origin", "destination", "minutes", "network_km"]

#: Memory for one block of limited Dijkstra rows (destinations × graph nodes: distances, predecessors,
#: path km); a county graph with ~1,500 candidate sites is routed in blocks of this size.
_PAIRS_BLOCK_BYTES = 256 * 2**20


def _edge_values(mat, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``mat[rows[i], cols[i]]`` of a CSR matrix for edges known to exist (compiled row scans)."""
    import numpy as np

    return np.asarray(mat[rows, cols]).ravel()


def _cheapest(owner: np.ndarray, node: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    """Index of the cheapest entry of every (owner, node), sorted by owner then node."""
    import numpy as np

    order = np.lexsort((minutes, node, owner))
    if not len(order):
        return order
    return order[np.r_[True, (np.diff(owner[order]) != 0) | (np.diff(node[order]) != 0)]]


def _pair_graph(net: RoadNetwork, dest: Entries, n_dest: int, org: Entries, n_org: int, values: str,
                d: np.ndarray, o: np.ndarray):
    """The reversed graph of ``net.minutes`` or ``net.km`` (``values``) plus one source node per
    destination (edges to the end nodes of its pieces, entries ``d``) and one sink node per origin (edges
    from the end nodes of its pieces, entries ``o``): Dijkstra from a destination reaches each origin's
    sink by its fastest entry."""
    import numpy as np
    from scipy.sparse import csr_matrix

    base = net.reversed_graph[0 if values == "minutes" else 1]
    n = net.n_nodes
    size = n + n_dest + n_org
    floor = 1e-9 if values == "minutes" else 1e-12  # csgraph reads an explicit 0 as no edge
    itype = np.int32 if size + base.nnz + len(o) + len(d) < 2**31 else np.int64
    # sink edges go after each network row's own entries (their columns are the largest): built in
    # place, without a COO copy of the whole graph
    order = np.lexsort((org.owner[o], org.node[o]))
    s_row, s_col = org.node[o][order], (n + n_dest + org.owner[o][order]).astype(itype)
    s_val = np.maximum(getattr(org, values)[o][order], floor)
    s_count, b_count = np.bincount(s_row, minlength=n), np.diff(base.indptr)
    s_before = np.r_[0, np.cumsum(s_count)]
    indptr = np.r_[0, np.cumsum(b_count + s_count)].astype(np.int64)
    n_net = int(indptr[-1])
    indices = np.empty(n_net + len(d), dtype=itype)
    data = np.empty(n_net + len(d))
    at = np.arange(base.nnz, dtype=np.int64) + np.repeat(s_before[:-1], b_count)
    indices[at], data[at] = base.indices, base.data
    at = indptr[s_row] + b_count[s_row] + np.arange(len(s_row)) - s_before[s_row]
    indices[at], data[at] = s_col, s_val
    # source rows (d is sorted by destination, then node), then the sinks' empty rows
    indices[n_net:], data[n_net:] = dest.node[d], np.maximum(getattr(dest, values)[d], floor)
    per_dest = np.cumsum(np.bincount(dest.owner[d], minlength=n_dest))
    indptr = np.r_[indptr, n_net + per_dest, np.full(n_org, n_net + len(d))].astype(itype)
    return csr_matrix((data, indices, indptr), shape=(size, size))


def _tree_km(pred: np.ndarray, g_km, wanted: np.ndarray) -> np.ndarray:
    """Km from the root of each row's shortest-path tree to the flat cells ``wanted`` of ``pred``
    (rows × nodes): pointer doubling over the reached cells only."""
    import numpy as np

    n_all = pred.shape[1]
    flat = pred.ravel()
    reached = np.flatnonzero(flat >= 0)
    compact = np.full(len(flat), -1, dtype=np.int64)  # flat cell → its number among the reached
    compact[reached] = np.arange(len(reached))
    up = compact[(reached // n_all) * n_all + flat[reached]]  # -1 for the roots (the destinations)
    step = _edge_values(g_km, flat[reached], reached % n_all)
    return _path_km(up, step)[compact[wanted]]


def _pairs_within(net: RoadNetwork, org: Entries, dest: Entries, dest_ids: np.ndarray, limit_min: float,
                  access_kmh: float, org_core: Entries, dest_core: Entries) -> tuple[np.ndarray, ...]:
    """Pairs (origin, destination position, minutes, km) within ``limit_min`` between the origins of
    ``org`` and the destinations ``dest_ids``: limited Dijkstra on the reversed graph from one source node
    per destination to one sink node per origin, many destinations per call in blocks of bounded memory,
    plus travel along a shared road piece or chain. ``org``/``dest`` are the entries of
    :func:`snap_points`, ``org_core``/``dest_core`` the same on the contracted graph."""
    import numpy as np
    from scipy.sparse.csgraph import dijkstra

    found: list[tuple[np.ndarray, ...]] = []
    sub = dest_core.take(np.isin(dest_core.owner, dest_ids))
    ent = org_core.take(org_core.minutes <= limit_min)
    if len(sub.owner) and len(ent.owner):
        n, n_dest = net.n_nodes, len(dest_ids)
        org_ids = np.unique(ent.owner)
        sub = Entries(**{**sub.__dict__, "owner": np.searchsorted(dest_ids, sub.owner)})
        ent = Entries(**{**ent.__dict__, "owner": np.searchsorted(org_ids, ent.owner)})
        best = _cheapest(ent.owner, ent.node, ent.minutes)  # each sink's entries, by (origin, node)
        d_best = _cheapest(sub.owner, sub.node, sub.minutes)
        g_min = _pair_graph(net, sub, n_dest, ent, len(org_ids), "minutes", d_best, best)
        g_km = _pair_graph(net, sub, n_dest, ent, len(org_ids), "km", d_best, best)
        entry_key = ent.owner[best].astype(np.int64) * n + ent.node[best]
        n_all = g_min.shape[0]
        block = int(max(1, _PAIRS_BLOCK_BYTES // (n_all * 48)))
        for start in range(0, n_dest, block):
            rows = np.arange(start, min(start + block, n_dest))
            dist, pred = dijkstra(g_min, directed=True, indices=n + rows, limit=limit_min + 1e-6,
                                  return_predecessors=True)
            k, o = np.nonzero(dist[:, n + n_dest:] <= limit_min + 1e-6)
            if not len(k):
                continue
            node = pred[k, n + n_dest + o]  # the end node through which the origin left its road
            e = best[np.searchsorted(entry_key, o.astype(np.int64) * n + node)]
            t = ent.minutes[e] + dist[k, node]  # as nearest_by_network adds them
            km = ent.km[e] + _tree_km(pred, g_km, k * n_all + node)
            ok = t <= limit_min
            found.append((org_ids[o[ok]], dest_ids[rows[k[ok]]], t[ok], km[ok]))
    sub = dest.take(np.isin(dest.owner, dest_ids))
    if len(sub.owner) and len(org.owner):
        for o, d, t, km in (piece_pairs(org, sub, net, access_kmh), chain_pairs(org, sub, net, access_kmh)):
            near = t <= limit_min
            found.append((o[near], d[near], t[near], km[near]))
    if not found:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0), np.zeros(0)
    o, d, t, km = (np.concatenate(c) for c in zip(*found, strict=True))
    if not len(o):
        return o, d, t, km
    # per pair its fastest way (stable: through the graph before along a shared piece, as nearest_by_network)
    order = np.lexsort((t, d, o))
    o, d, t, km = o[order], d[order], t[order], km[order]
    first = np.r_[True, (o[1:] != o[:-1]) | (d[1:] != d[:-1])]
    return o[first], d[first], t[first], km[first]


def _group_labels(groups, n: int, name: str, what: str) -> np.ndarray:
    import numpy as np

    if groups is None:
        return np.zeros(n, dtype=object)
    labels = np.asarray(groups, dtype=object)
    if labels.shape != (n,):
        raise InputError(f"{name}= has {labels.size} labels for {n} {what}: expected one label per point")
    return labels


def travel_pairs(
    net: RoadNetwork,
    origins: gpd.GeoSeries,
    destinations: gpd.GeoSeries,
    *,
    limit_min: float,
    origin_groups: np.ndarray | None = None,
    destination_groups: np.ndarray | None = None,
    access_kmh: float = ACCESS_KMH,
) -> pd.DataFrame:
    """Every origin × destination pair reachable by road within ``limit_min`` minutes.

    Travel runs FROM the origin TO the destination (one-way roads respected), with the snapping,
    off-network legs and same-road-piece travel of :func:`nearest_by_network`: a pair's minutes equal
    :func:`nearest_by_network`'s when that destination is the origin's fastest. Computed by one limited
    Dijkstra (:func:`scipy.sparse.csgraph.dijkstra` with ``limit``) per destination on the reversed
    graph, many destinations per call, in blocks of bounded memory; use it for catchments in minutes
    (villages → facilities) and coverage radii in minutes (villages → candidate sites).

    Parameters
    ----------
    net : RoadNetwork
        The road graph (:func:`read_network`).
    origins, destinations : GeoSeries
        Points (any CRS; projected to TWD97 TM2).
    limit_min : float
        Largest travel time kept, minutes (> 0); pairs at exactly ``limit_min`` are kept.
    origin_groups, destination_groups : array, optional
        A group label per origin and per destination (e.g. the county): only pairs of equal labels are
        returned. Default: every pair.
    access_kmh : float
        Speed of the straight off-network legs (point → road, road → destination).

    Returns
    -------
    DataFrame
        :data:`PAIR_COLUMNS`: ``origin`` and ``destination`` (integer positions in ``origins`` and
        ``destinations``), ``minutes`` and ``network_km`` (road km plus both off-network legs) of the
        fastest way, one row per reachable pair, sorted by (origin, destination). Pairs not reachable
        within ``limit_min`` (or not at all) are absent.

    Raises
    ------
    InputError
        ``limit_min`` or ``access_kmh`` not a positive number, or groups of the wrong length.

    Examples
    --------
    >>> pairs = travel_pairs(net, villages.representative_point(), sites.geometry,
    ...                      limit_min=30, origin_groups=village_county,
    ...                      destination_groups=site_county)  # doctest: +SKIP
    """
    import math

    import numpy as np
    import pandas as pd

    from .geography import PROJECTED_CRS

    try:
        limit = float(limit_min)
    except (TypeError, ValueError):
        raise InputError(f"limit_min={limit_min!r}: expected minutes, a number > 0") from None
    if not (limit > 0 and math.isfinite(limit)):
        raise InputError(f"limit_min={limit_min!r}: expected minutes, a finite number > 0")
    if not access_kmh > 0:
        raise InputError(f"access_kmh={access_kmh!r}: expected a speed > 0 km/h")
    og = _group_labels(origin_groups, len(origins), "origin_groups", "origins")
    dg = _group_labels(destination_groups, len(destinations), "destination_groups", "destinations")
    out: dict[str, list[np.ndarray]] = {"origin": [np.zeros(0, dtype=np.int64)],
                                        "destination": [np.zeros(0, dtype=np.int64)],
                                        "minutes": [np.zeros(0)], "network_km": [np.zeros(0)]}
    if len(origins) and len(destinations):
        o_proj, d_proj = origins.to_crs(PROJECTED_CRS), destinations.to_crs(PROJECTED_CRS)
        org, _ = snap_points(net, np.c_[o_proj.x, o_proj.y], access_kmh, outbound=True)
        dest, _ = snap_points(net, np.c_[d_proj.x, d_proj.y], access_kmh, outbound=False)
        org_core, dest_core = core_entries(net, org, outbound=True), core_entries(net, dest, outbound=False)
        for group in sorted(set(og) & set(dg), key=str):
            members = np.flatnonzero(og == group)
            part = org.take(np.isin(org.owner, members))
            part_core = org_core.take(np.isin(org_core.owner, members))
            found = _pairs_within(net, part, dest, np.flatnonzero(dg == group), limit, access_kmh, part_core,
                                  dest_core)
            for column, values in zip(PAIR_COLUMNS, found, strict=True):
                out[column].append(values)
    frame = pd.DataFrame({c: np.concatenate(v) for c, v in out.items()})
    frame = frame.astype({"origin": "int64", "destination": "int64", "minutes": "float64", "network_km": "float64"})
    return frame.sort_values(["origin", "destination"], kind="stable").reset_index(drop=True)


#: Columns of :func:`village_travel_times`.
TRAVEL_COLUMNS = ["villcode", "towncode", "county", "category", "nearest_min", "network_km", "snap_km",
                  "facility_id", "facility_name", "reason"]


def village_travel_times(
    net: RoadNetwork,
    villages: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    as_of: object = None,
    categories: list[str] | None = None,
    across_counties: bool = False,
    access_kmh: float = ACCESS_KMH,
) -> pd.DataFrame:
    """Minutes by road from every village to the fastest open point of each programme.

    Parameters
    ----------
    net : RoadNetwork
    villages : GeoDataFrame
        ``villcode``, ``towncode`` and polygons (:func:`coverage.load_villages`, or a subset); travel
        starts at each village's representative point.
    facilities : GeoDataFrame
        Accepted facilities (:func:`coverage.read_facilities`): ``category``, ``county``, ``facility_id``,
        ``name``, dates and status; only those open on ``as_of`` count.
    as_of : date-like, optional
        Count facilities open on this date (default today).
    categories : list of str, optional
        Programmes (default: every one among the facilities).
    across_counties : bool
        Let a village use another county's points; by default a county's points serve its own residents.
    access_kmh : float
        Speed of the off-network legs.

    Returns
    -------
    DataFrame (:data:`TRAVEL_COLUMNS`), one row per village × programme; ``nearest_min`` and
    ``network_km`` are NaN with the ``reason`` where no point is reachable (never 0, never a straight line).
    """
    import numpy as np
    import pandas as pd

    from .geography import PROJECTED_CRS, load_townships
    from .measure import facility_state

    county_of = load_townships().set_index("towncode")["county"]
    vills = villages.to_crs(PROJECTED_CRS)
    origins = vills.representative_point()
    v_county = vills["towncode"].map(county_of).to_numpy(dtype=object)
    open_fac = facilities[facility_state(facilities, as_of).to_numpy() == "open"]
    cats = categories if categories is not None else sorted(open_fac["category"].unique())
    parts = []
    for cat in cats:
        fac = open_fac[open_fac["category"] == cat]
        res = nearest_by_network(
            net, origins, fac.geometry, access_kmh=access_kmh,
            origin_groups=None if across_counties else v_county,
            facility_groups=None if across_counties else fac["county"].to_numpy(dtype=object))
        pos = res["facility"].to_numpy()
        hit = pos >= 0
        ids = np.full(len(res), "", dtype=object)
        names = np.full(len(res), "", dtype=object)
        ids[hit] = fac["facility_id"].to_numpy(dtype=object)[pos[hit]]
        names[hit] = fac["name"].to_numpy(dtype=object)[pos[hit]]
        reason = res["reason"].replace({"no facility in its group": "no open point of the programme in the county",
                                        "no facility": "no open point of the programme"}).to_numpy(dtype=object)
        parts.append(pd.DataFrame({
            "villcode": vills["villcode"].to_numpy(), "towncode": vills["towncode"].to_numpy(), "county": v_county,
            "category": cat, "nearest_min": res["minutes"].round(2).to_numpy(),
            "network_km": res["network_km"].round(3).to_numpy(), "snap_km": res["snap_km"].round(3).to_numpy(),
            "facility_id": ids, "facility_name": names, "reason": reason}))
    if not parts:
        return pd.DataFrame(columns=TRAVEL_COLUMNS)
    return pd.concat(parts, ignore_index=True)[TRAVEL_COLUMNS]
