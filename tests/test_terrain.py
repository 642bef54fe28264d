"""DEM zonal statistics and the computed mountain flag: a hand-made raster and the shared MOI grids."""

from __future__ import annotations

import numpy as np
import pytest

from coverage.errors import UnreadableFileError
from coverage.terrain import mountain_flags, zonal_elevation


def write_raster(path, values, *, crs="EPSG:3826", cell=500.0, origin=(0.0, 3000.0), nodata=-9999.0):
    import rasterio
    from affine import Affine

    values = np.asarray(values, dtype="float32")
    profile = {"driver": "GTiff", "height": values.shape[0], "width": values.shape[1], "count": 1,
               "dtype": "float32", "transform": Affine(cell, 0.0, origin[0], 0.0, -cell, origin[1]), "nodata": nodata}
    if crs:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values, 1)
    return path


@pytest.fixture
def toy_dem(tmp_path):
    """6×6 cells of 500 m over the toy county: A 100 m, B 600 m, C 1000 m (one nodata cell), D 499 m."""
    grid = np.full((6, 6), -9999.0)
    grid[4:6, 0:2] = 100.0  # A: x 0–1000, y 0–1000 (rows from the top)
    grid[4:6, 2:4] = 600.0  # B
    grid[4:6, 4:6] = 1000.0  # C
    grid[5, 5] = -9999.0  # a hole in C: ignored, not zero
    grid[0:2, 0:2] = 499.0  # D: x 0–1000, y 2000–3000
    return write_raster(tmp_path / "dem.tif", grid)


def test_zonal_mean_and_threshold(toy_townships, toy_dem):
    flags = mountain_flags(toy_townships, toy_dem).set_index("towncode")
    assert flags["mean_elevation_m"].tolist() == pytest.approx([100.0, 600.0, 1000.0, 499.0])
    assert flags["mountain"].tolist() == [False, True, True, False]
    assert flags.loc["90001030", "dem_cells"] == pytest.approx(3.0)  # the nodata cell does not count
    lower = mountain_flags(toy_townships, toy_dem, threshold_m=450).set_index("towncode")
    assert lower.loc["90002010", "mountain"]


def test_each_township_takes_the_dem_covering_most_of_it(toy_townships, tmp_path):
    left = np.full((6, 6), -9999.0)
    left[:, 0:2] = 50.0  # covers A and D only
    everywhere = np.full((6, 6), 700.0)
    paths = [write_raster(tmp_path / "left.tif", left), write_raster(tmp_path / "all.tif", everywhere)]
    out = zonal_elevation(toy_townships, paths).set_index("towncode")
    # equal coverage of A: the first DEM read wins; B and C only in the second
    assert out.loc["90001010", ["mean_elevation_m", "dem_file"]].tolist() == [50.0, "left.tif"]
    assert out.loc["90001020", ["mean_elevation_m", "dem_file"]].tolist() == [700.0, "all.tif"]


def test_township_outside_every_dem_is_unknown(toy_townships, tmp_path):
    far = write_raster(tmp_path / "far.tif", np.full((2, 2), 300.0), origin=(100_000.0, 200_000.0))
    flags = mountain_flags(toy_townships, far)
    assert flags["mean_elevation_m"].isna().all() and flags["mountain"].isna().all()


def test_unreadable_rasters(toy_townships, tmp_path):
    with pytest.raises(UnreadableFileError, match="missing.tif: file not found"):
        zonal_elevation(toy_townships, tmp_path / "missing.tif")
    text = tmp_path / "notes.tif"
    text.write_text("not a raster", encoding="utf-8")
    with pytest.raises(UnreadableFileError, match="notes.tif: not a raster"):
        zonal_elevation(toy_townships, text)
    bare = write_raster(tmp_path / "nocrs.tif", np.ones((2, 2)), crs=None)
    with pytest.raises(UnreadableFileError, match="nocrs.tif: the raster has no coordinate reference system"):
        zonal_elevation(toy_townships, bare)


def test_shared_dem_mountain_townships_of_chiayi(townships, shared_data):
    dems = sorted((shared_data / "terrain").glob("*_DTM_ELE.tif"))
    flags = mountain_flags(townships, dems).join(townships[["county", "township"]])
    chiayi = flags[flags["county"] == "嘉義縣"]
    mountain = set(chiayi.loc[chiayi["mountain"].astype(bool), "township"])
    assert mountain == {"阿里山鄉", "梅山鄉", "番路鄉", "竹崎鄉", "大埔鄉"}
    elev = chiayi.set_index("township")["mean_elevation_m"]
    assert elev["阿里山鄉"] == pytest.approx(1480, abs=30) and elev["東石鄉"] < 20
    # every township is covered; Kinmen, Matsu and Penghu come from the TM2 zone 119 grid
    assert flags["mean_elevation_m"].notna().all()
    offshore = flags[flags["county"].isin(["金門縣", "連江縣", "澎湖縣"])]
    assert set(offshore["dem_file"]) == {"G1km_TWD97-119_DTM_ELE.tif"}
