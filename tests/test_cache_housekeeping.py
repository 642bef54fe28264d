"""The disk cache of built road graphs and locate grids does not grow for ever: files not used for
``CACHE_KEEP_DAYS`` days are removed when another one is saved; files in use are kept."""

from __future__ import annotations

import json
import os
import time

import numpy as np

from coverage.datasets import CACHE_KEEP_DAYS, mark_used, prune_cache

DAY = 86400.0


def _aged(path, days: float) -> None:
    stamp = time.time() - days * DAY
    os.utime(path, (stamp, stamp))


def _roads(path, east: float = 1000.0):
    """Two roads meeting at a corner, in TWD97 TM2 metres."""
    features = [{"type": "Feature", "properties": {"highway": "primary"},
                 "geometry": {"type": "LineString", "coordinates": c}}
                for c in ([[0, 0], [east, 0]], [[east, 0], [east, 1000]])]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features,
                                "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3826"}}}),
                    encoding="utf-8")
    return path


def test_prune_removes_only_old_files_of_the_pattern(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFETYNET_CACHE", str(tmp_path))
    ages = {"network-old.npz": CACHE_KEEP_DAYS + 1, "network-recent.npz": CACHE_KEEP_DAYS - 1,
            "grid-old.npz": CACHE_KEEP_DAYS + 5, ".network-x.npz.abc.part": 2, ".network-y.npz.def.part": 0.5,
            "notes.txt": 400}
    for name, days in ages.items():
        (tmp_path / name).write_bytes(b"x")
        _aged(tmp_path / name, days)
    (tmp_path / "maps").mkdir()
    removed = prune_cache("network-*.npz")
    assert [p.name for p in removed] == [".network-x.npz.abc.part", "network-old.npz"]
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [".network-y.npz.def.part", "grid-old.npz", "maps", "network-recent.npz", "notes.txt"]
    assert [p.name for p in prune_cache("grid-*.npz")] == ["grid-old.npz"]
    assert prune_cache("grid-*.npz") == []  # nothing left to remove; a missing folder is no error either
    monkeypatch.setenv("SAFETYNET_CACHE", str(tmp_path / "absent"))
    assert prune_cache("network-*.npz") == []


def test_mark_used_keeps_a_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SAFETYNET_CACHE", str(tmp_path))
    path = tmp_path / "network-a.npz"
    path.write_bytes(b"x")
    _aged(path, CACHE_KEEP_DAYS + 10)
    mark_used(path)
    assert prune_cache("network-*.npz") == [] and path.exists()
    mark_used(tmp_path / "missing.npz")  # a file gone meanwhile: nothing raised


def test_reading_a_road_file_marks_its_graph_and_prunes_stale_ones(tmp_path, monkeypatch):
    from coverage.network import read_network

    cache = tmp_path / "cache"
    monkeypatch.setenv("SAFETYNET_CACHE", str(cache))
    path = _roads(tmp_path / "roads.geojson")
    read_network(path)
    (graph,) = cache.glob("network-*.npz")
    _aged(graph, CACHE_KEEP_DAYS + 3)
    assert read_network(path).from_cache  # used again: marked
    assert time.time() - graph.stat().st_mtime < DAY
    stale = cache / "network-0123456789abcdef01234567.npz"  # the graph of a road file since replaced
    stale.write_bytes(graph.read_bytes())
    _aged(stale, CACHE_KEEP_DAYS + 3)
    _aged(graph, CACHE_KEEP_DAYS + 3)
    read_network(_roads(tmp_path / "roads2.geojson", east=1200.0))  # another graph, saved now: prunes the stale
    names = sorted(p.name for p in cache.glob("network-*.npz"))
    assert len(names) == 1 and stale.name not in names and graph.name not in names


def test_locate_grid_is_marked_and_stale_grids_pruned(tmp_path, monkeypatch):
    import geopandas as gpd
    import shapely

    from coverage import geography

    monkeypatch.setenv("SAFETYNET_CACHE", str(tmp_path))
    monkeypatch.setattr(geography, "_GRIDS", {})
    squares = [shapely.box(x, 0, x + 1000, 1000) for x in range(0, 20000, 1000)]
    polys = gpd.GeoDataFrame({"towncode": [f"{i:08d}" for i in range(len(squares))]}, geometry=squares,
                             crs=3826)
    stale = tmp_path / "grid-000000000000000000000000.npz"
    stale.write_bytes(b"x")
    _aged(stale, CACHE_KEEP_DAYS + 1)
    grid = geography._grid_for(polys, "towncode", n_points=10**9)
    assert grid is not None and not stale.exists()
    (saved,) = tmp_path.glob("grid-*.npz")
    _aged(saved, CACHE_KEEP_DAYS + 1)
    monkeypatch.setattr(geography, "_GRIDS", {})
    again = geography._grid_for(polys, "towncode")
    assert again is not None
    for name in type(grid)._fields:  # the grid read back from the disk, as built
        assert np.array_equal(getattr(again, name), getattr(grid, name)), name
    assert time.time() - saved.stat().st_mtime < DAY
