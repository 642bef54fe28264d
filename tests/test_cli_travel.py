"""`site`, `whatif` and `nearest` with --network: minutes by road on the real 苗栗縣 roads; usage errors
(exit 2) for half-given options; malformed road files are one-line input errors (exit 1)."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
from typer.testing import CliRunner

from coverage.cli import app

runner = CliRunner()
POPULATION = "village_population_agegroups_2021-03.csv"


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def roads(shared_data):
    return shared_data / "roads" / "Miaoli_Road_Network.shp"


def one_line_error(result, code):
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_site_by_road(tmp_path, roads, shared_data):
    out = tmp_path / "out"
    result = run("site", "-c", "苗栗縣", "--category", "welfare_centre", "--network", roads, "--radius-min", "20",
                 "--objective", "population", "--new", "2", "--population", shared_data / "population" / POPULATION,
                 "--as-of", "2024-01-01", "-o", out)
    assert result.exit_code == 0, result.output
    assert "20 minutes by road" in result.output and "Miaoli_Road_Network.shp (sha256 " in result.output
    assert "people within 20 minutes by road" in result.output
    assert "no map with --network" in result.output
    sites = pd.read_csv(out / "sites.csv", dtype={"towncode": str})
    assert len(sites) == 2 and (sites["service_radius"] == "20 minutes by road").all()
    assert sites["network"].str.startswith("Miaoli_Road_Network.shp (sha256 ").all()
    assert not sites["network"].str.contains("cache").any()  # the same file whether or not the graph was cached
    summary = json.loads((out / "sites.json").read_text(encoding="utf-8"))["summary"]
    assert summary["distance"] == "minutes by road" and summary["radius_min"] == 20.0
    assert summary["radius_km"] is None
    assert not list(out.glob("*.html"))  # the siting map draws straight-line circles: not written


def test_site_by_road_is_repeatable(tmp_path, roads):
    """The second run reads the cached graph and writes the same sites (the same bytes of sites.csv)."""
    outs = []
    for k in range(2):
        out = tmp_path / str(k)
        result = run("site", "-c", "苗栗縣", "--category", "welfare_centre", "--network", roads, "--radius-min", "15",
                     "--as-of", "2024-01-01", "--no-map", "-o", out)
        assert result.exit_code == 0, result.output
        outs.append(out)
    assert "graph from the cache" in result.output
    assert (outs[0] / "sites.csv").read_bytes() == (outs[1] / "sites.csv").read_bytes()
    first, second = (json.loads((o / "sites.json").read_text(encoding="utf-8")) for o in outs)
    for s in (first, second):
        s["summary"].pop("solve_seconds")  # the solver's time, as without --network
    assert first == second


@pytest.mark.parametrize(("args", "flags"), [
    (["--radius-min", "20"], ("--radius-min", "--network")),
    (["--network", "roads.shp"], ("--network", "--radius-min")),
])
def test_site_half_the_road_options_is_a_usage_error(tmp_path, args, flags):
    result = run("site", "-c", "苗栗縣", "--category", "welfare_centre", *args, "-o", tmp_path)
    line = one_line_error(result, 2)
    assert all(f in line for f in flags)
    assert not list(tmp_path.iterdir())


def test_site_radius_min_must_be_positive(tmp_path, roads):
    line = one_line_error(run("site", "-c", "苗栗縣", "--category", "welfare_centre", "--network", roads,
                              "--radius-min", "0", "-o", tmp_path), 2)
    assert "--radius-min" in line


def _broken_roads(tmp_path, kind):
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3826"}}
    line = {"type": "LineString", "coordinates": [[230000, 2720000], [231000, 2720000]]}
    if kind == "truncated":
        text = json.dumps({"type": "FeatureCollection", "crs": crs, "features": [
            {"type": "Feature", "properties": {"highway": "primary"}, "geometry": line}]})[:-7]
    elif kind == "points":
        text = json.dumps({"type": "FeatureCollection", "crs": crs, "features": [
            {"type": "Feature", "properties": {"highway": "primary"},
             "geometry": {"type": "Point", "coordinates": [230000, 2720000]}}]})
    elif kind == "unknown class":
        text = json.dumps({"type": "FeatureCollection", "crs": crs, "features": [
            {"type": "Feature", "properties": {"highway": h}, "geometry": line} for h in ("primary", "bridleway")]})
    else:  # no class column
        text = json.dumps({"type": "FeatureCollection", "crs": crs, "features": [
            {"type": "Feature", "properties": {"name": "台1線"}, "geometry": line}]})
    path = tmp_path / "roads.geojson"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", ["truncated", "points", "unknown class", "no class column"])
def test_malformed_road_files_are_one_line_errors(tmp_path, kind):
    path = _broken_roads(tmp_path, kind)
    out = tmp_path / "out"
    for args in (["site", "-c", "苗栗縣", "--category", "welfare_centre", "--network", path, "--radius-min", "20",
                  "--no-map", "-o", out],
                 ["nearest", _points(tmp_path), "-o", out / "near.parquet", "--category", "welfare_centre",
                  "--network", path]):
        line = one_line_error(run(*args), 1)
        assert "roads.geojson" in line
        if kind == "unknown class":
            assert "bridleway (1)" in line and "primary" not in line.split("speed:")[1]
        assert not (out / "sites.csv").exists() and not (out / "near.parquet").exists()


def test_whatif_by_road(roads, shared_data):
    result = run("whatif", "--add", "苗栗縣卓蘭鎮:welfare_centre", "-c", "苗栗縣", "--category", "welfare_centre",
                 "--population", shared_data / "population" / POPULATION, "--network", roads, "--within-min", "20",
                 "--as-of", "2024-01-01")
    assert result.exit_code == 0, result.output
    assert "people within 20 minutes by road" in result.output
    assert "road network: Miaoli_Road_Network.shp" in result.output
    assert "≤20min" in result.output and "≤5km" in result.output  # beside the straight-line figure


def test_whatif_network_needs_population(roads):
    line = one_line_error(run("whatif", "--add", "苗栗縣泰安鄉:welfare_centre", "--network", roads), 2)
    assert "--network" in line and "--population" in line


def _points(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("id,lon,lat\n1,120.8214,24.5602\n2,121.0,24.45\n3,120.3,22.6\n4,150,20\n5,120.75,abc\n",
                    encoding="utf-8")
    return path


def test_nearest_by_road(tmp_path, roads):
    out = tmp_path / "near.parquet"
    result = run("nearest", _points(tmp_path), "-o", out, "--category", "welfare_centre", "--network", roads)
    assert result.exit_code == 0, result.output
    assert "minutes by road" in result.output and "road network: Miaoli_Road_Network.shp" in result.output
    table = gpd.read_parquet(out).set_index("id")
    table.index = table.index.astype(int)
    cols = list(table.columns)
    at = cols.index("distance_km")
    assert cols[at + 1: at + 7] == ["nearest_min", "network_km", "snap_km", "travel_reason", "road_facility_id",
                                    "road_facility_name"]
    assert len(table) == 5  # every row once: 1 programme
    # in 苗栗縣: minutes, never below the straight line at 100 km/h
    for i in (1, 2):
        assert table.at[i, "nearest_min"] >= table.at[i, "distance_km"] / 100 * 60
        assert table.at[i, "network_km"] >= table.at[i, "distance_km"] and table.at[i, "travel_reason"] == ""
    # in 高雄 (off this network): a straight distance but no minutes, and why
    assert table.at[3, "distance_km"] > 0 and pd.isna(table.at[3, "nearest_min"])
    assert table.at[3, "travel_reason"].startswith("off the road network")
    assert table.at[4, "travel_reason"] == "not located (outside)"
    assert table.at[5, "travel_reason"] == "not located (rejected)"
    assert table["nearest_min"].notna().sum() == 2


def test_nearest_without_network_is_unchanged(tmp_path):
    out = tmp_path / "near.parquet"
    result = run("nearest", _points(tmp_path), "-o", out, "--category", "welfare_centre")
    assert result.exit_code == 0, result.output
    assert "minutes" not in result.output
    assert not {"nearest_min", "network_km", "snap_km", "travel_reason"} & set(gpd.read_parquet(out).columns)


def test_nearest_speeds_without_network_is_a_usage_error(tmp_path):
    speeds = tmp_path / "speeds.csv"
    speeds.write_text("class,kmh\nprimary,50\n", encoding="utf-8")
    line = one_line_error(run("nearest", _points(tmp_path), "-o", tmp_path / "n.parquet", "--speeds", speeds), 2)
    assert "--speeds" in line and "--network" in line


def test_network_of_another_region_is_refused(tmp_path, roads, shared_data):
    """苗栗縣's roads give 連江縣 (Matsu) no minutes: an input error naming the county, not 0 people within."""
    line = one_line_error(run("site", "-c", "連江縣", "--category", "welfare_centre", "--network", roads,
                              "--radius-min", "30", "--no-map", "-o", tmp_path), 1)
    assert "--network" in line and "連江縣" in line and "20 km" in line
    line = one_line_error(run("whatif", "--add", "連江縣北竿鄉:welfare_centre", "-c", "連江縣", "--category",
                              "welfare_centre", "--population", shared_data / "population" / POPULATION,
                              "--network", roads), 1)
    assert "--network" in line and "none of the people" in line
