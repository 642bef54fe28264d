"""Locating from several threads at once on one shared polygon table (Dask's threaded scheduler, a notebook's
thread pool). GEOS prepared geometries build their indexes lazily and are not thread-safe, so the shared
tables must never be prepared in place: before the fix, CI aborted with "double free or corruption" in the
Dask tests of test_bulk.py, and four threads on a fresh village table crashed about one run in three."""

from __future__ import annotations

import threading

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from coverage.geography import load_villages, locate_points, locate_points_exact, prepared_copies


def _fresh_villages() -> gpd.GeoDataFrame:
    """The village table with new, never prepared geometry objects (the cached table may have been used)."""
    villages = load_villages().copy()
    villages["geometry"] = shapely.force_2d(np.asarray(villages.geometry.values))
    return villages


def _points(seed: int, n: int) -> gpd.GeoSeries:
    rng = np.random.default_rng(seed)
    return gpd.GeoSeries(shapely.points(rng.uniform(120.0, 122.0, n), rng.uniform(21.9, 25.3, n)), crs=4326)


def test_locating_leaves_the_shared_polygons_unprepared():
    villages = _fresh_villages()
    shared = np.asarray(villages.geometry.values)
    found = locate_points_exact(_points(1, 5_000), villages, "villcode")
    assert found["villcode"].notna().sum() > 1_000  # the test ran points through the prepared path
    assert not shapely.is_prepared(shared).any()
    locate_points(_points(2, 5_000), villages, key="villcode")
    assert not shapely.is_prepared(shared).any()


def test_prepared_copies_are_new_equal_prepared_objects():
    shared = np.asarray(_fresh_villages().geometry.values[:50])
    copies = prepared_copies(shared)
    assert shapely.is_prepared(copies).all()
    assert not shapely.is_prepared(shared).any()
    assert not any(a is b for a, b in zip(copies, shared, strict=True))
    assert shapely.equals_exact(copies, shared, tolerance=0).all()


def test_threads_locating_on_one_table_at_once_agree_with_one_thread():
    villages = _fresh_villages()
    points = {seed: _points(seed, 10_000) for seed in range(4)}
    results: dict[int, pd.DataFrame] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(points))

    def run(seed: int) -> None:
        try:
            barrier.wait()
            results[seed] = locate_points_exact(points[seed], villages, "villcode")
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(seed,)) for seed in points]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for seed, pts in points.items():
        pd.testing.assert_frame_equal(results[seed], locate_points_exact(pts, villages, "villcode"))
