"""The Dask engine gives exactly the single-machine results, on a local cluster with small partitions."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from coverage.errors import InputError
from coverage.geography import load_villages
from coverage.scale import locate, nearest, read_points


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(3)
    n = 5000
    return gpd.GeoDataFrame(
        {"id": np.arange(n)},
        geometry=gpd.points_from_xy(rng.uniform(119.9, 122.1, n), rng.uniform(21.8, 25.4, n)),
        crs="EPSG:4326",
        index=pd.RangeIndex(10, 10 + n),
    )


def test_dask_threads_equal_local(points, townships):
    local = locate(points, townships)
    dask = locate(points, townships, engine="dask", npartitions=7)
    pd.testing.assert_frame_equal(dask.sort_index(), local)
    assert local["towncode"].notna().sum() > 1000  # not a vacuous comparison


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # distributed's sockets at shutdown
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_dask_local_cluster_villages_equal_local(points):
    distributed = pytest.importorskip("distributed")
    villages = load_villages()
    local = locate(points, villages, key="villcode")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        remote = locate(points, villages, key="villcode", engine="dask", npartitions=9, client=client)
    pd.testing.assert_frame_equal(remote.sort_index(), local)


def test_lazy_parquet_points(tmp_path, points, townships):
    path = tmp_path / "points.parquet"
    points.to_parquet(path)
    lazy = read_points(path, lazy=True, npartitions=3)
    assert hasattr(lazy, "map_partitions")
    result = locate(lazy, townships, engine="dask")
    pd.testing.assert_frame_equal(result.sort_index(), locate(points, townships))


def test_cli_locate(tmp_path, points):
    from typer.testing import CliRunner

    from coverage.cli import app

    src = tmp_path / "pts.parquet"
    points.to_parquet(src)
    for engine in ("local", "dask"):
        out = tmp_path / f"{engine}.parquet"
        r = CliRunner().invoke(app, ["locate", str(src), "--engine", engine, "--level", "village", "--out", str(out)])
        assert r.exit_code == 0, r.output
    a, b = pd.read_parquet(tmp_path / "local.parquet"), pd.read_parquet(tmp_path / "dask.parquet")
    pd.testing.assert_frame_equal(a, b)
    assert {"villcode", "towncode", "snapped"} <= set(a.columns)


def test_csv_points_and_errors(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("lon,lat\n120.55,23.52\n", encoding="utf-8")
    assert len(read_points(path)) == 1
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="lon/lat"):
        read_points(path)
    with pytest.raises(InputError, match="engine must be one of local, dask"):
        locate(gpd.GeoDataFrame(geometry=[]), None, engine="spark")


@pytest.fixture(scope="module")
def seed_facilities(townships):
    from coverage.datasets import get_path
    from coverage.facilities import read_facilities

    return read_facilities(get_path("seed_registry"), townships=townships).facilities


def test_nearest_oracle(townships, seed_facilities):
    """Hand-checked: a point at a facility is 0 km from it; distances equal a brute-force minimum."""
    fac = seed_facilities[seed_facilities["category"] == "community_support_point"]
    here = fac.iloc[[0]]
    pts = gpd.GeoDataFrame(geometry=[*here.geometry, gpd.points_from_xy([120.8], [23.47])[0]],
                           crs="EPSG:4326", index=["at", "alishan"])
    out = nearest(pts, seed_facilities, townships, categories=["community_support_point"])
    at = out.set_index("point").loc["at"]
    assert at["distance_km"] == pytest.approx(0, abs=1e-6) and at["facility_name"] == here["name"].iloc[0]
    # both points are on the main island: facilities on other islands do not count
    main_island = fac[fac["towncode"].isin(townships.loc[~townships["island"], "towncode"])].to_crs(3826)
    brute = main_island.distance(pts.to_crs(3826).geometry["alishan"]).min() / 1000
    assert out.set_index("point").loc["alishan", "distance_km"] == pytest.approx(brute, rel=1e-9)


@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_nearest_dask_cluster_equals_local(points, townships, seed_facilities):
    distributed = pytest.importorskip("distributed")
    local = nearest(points, seed_facilities, townships)
    # about half the points are at sea (outside); the seed registry covers a few counties only
    assert local["distance_km"].notna().sum() > 400 and local["category"].nunique() >= 3
    assert local["distance_km"].isna().eq(local["status"].ne("located") | local["reason"].ne("")).all()
    threads = nearest(points, seed_facilities, townships, engine="dask", npartitions=6)
    pd.testing.assert_frame_equal(threads, local)
    across = nearest(points, seed_facilities, townships, across_counties=True)
    assert across["distance_km"].notna().sum() > 4 * local["distance_km"].notna().sum()
    pd.testing.assert_frame_equal(nearest(points, seed_facilities, townships, across_counties=True, engine="dask",
                                          npartitions=5), across)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        remote = nearest(points, seed_facilities, townships, engine="dask", npartitions=11, client=client)
    pd.testing.assert_frame_equal(remote, local)


def test_cli_nearest(tmp_path, points):
    from typer.testing import CliRunner

    from coverage.cli import app

    src = tmp_path / "pts.parquet"
    points.iloc[:500].to_parquet(src)
    frames = []
    for engine in ("local", "dask"):
        out = tmp_path / f"n-{engine}.parquet"
        r = CliRunner().invoke(app, ["nearest", str(src), "--engine", engine, "--category", "小衛星",
                                     "--as-of", "2024-01-01", "--out", str(out)])
        assert r.exit_code == 0, r.output
        assert "community_support_point: median" in r.output
        frames.append(pd.read_parquet(out))
    pd.testing.assert_frame_equal(*frames)
    assert set(frames[0]["category"]) == {"community_support_point"} and len(frames[0]) == 500
