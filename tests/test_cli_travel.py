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


@pytest.fixture(scope="module")
def two_layers(roads, tmp_path_factory):
    """The 苗栗縣 roads as layer 'roads' of a GeoPackage, beside a line layer 'aaa' of 10 of them (read first by
    name order)."""
    path = tmp_path_factory.mktemp("gpkg") / "two.gpkg"
    frame = gpd.read_file(roads)
    frame.iloc[:10].to_file(path, layer="aaa")
    frame.to_file(path, layer="roads")
    return path


def test_road_layer_picks_one_of_several_line_layers(tmp_path, roads, two_layers):
    """A file of two line layers is a one-line error naming them and --road-layer; with --road-layer the named layer
    is read, and gives the minutes of the shapefile it was saved from."""
    args = ["nearest", _points(tmp_path), "--category", "welfare_centre", "--network"]
    line = one_line_error(run(*args, two_layers, "-o", tmp_path / "x.parquet"), 1)
    assert "2 line layers (aaa, roads)" in line and "--road-layer" in line
    assert not (tmp_path / "x.parquet").exists()
    result = run(*args, two_layers, "--road-layer", "roads", "-o", tmp_path / "gpkg.parquet")
    assert result.exit_code == 0, result.output
    assert run(*args, roads, "-o", tmp_path / "shp.parquet").exit_code == 0
    got, expected = gpd.read_parquet(tmp_path / "gpkg.parquet"), gpd.read_parquet(tmp_path / "shp.parquet")
    assert got["nearest_min"].notna().sum() == 2
    pd.testing.assert_series_equal(got["nearest_min"], expected["nearest_min"])
    line = one_line_error(run(*args, two_layers, "--road-layer", "nope", "-o", tmp_path / "y.parquet"), 1)
    assert line.endswith("two.gpkg: no layer 'nope' (its line layers: aaa, roads)")


def test_report_records_the_road_layer(tmp_path, two_layers):
    out = tmp_path / "out"
    result = run("report", "-c", "苗栗縣", "--category", "welfare_centre", "--no-maps", "-o", out,
                 "--network", two_layers, "--road-layer", "roads")
    assert result.exit_code == 0, result.output
    text = json.dumps(json.loads((out / "summary.json").read_text(encoding="utf-8")), ensure_ascii=False)
    assert '"road_layer": "roads"' in text


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


# ----------------------------------------------------------------------------- minutes asked for, never ignored

#: command → the arguments of a run that needs no road network, and the options in minutes by road it takes.
_WITHOUT_NETWORK = {
    "report": (["report", "-c", "嘉義縣", "--no-maps"],
               ["--within-min", "--catchment-min", "--access-kmh", "--speeds", "--road-class-column", "--road-layer"]),
    "map": (["map", "-c", "嘉義縣"], ["--within-min", "--catchment-min", "--access-kmh", "--speeds",
                                      "--road-class-column", "--road-layer"]),
    "whatif": (["whatif", "--add", "嘉義縣阿里山鄉:小衛星"], ["--within-min", "--access-kmh", "--speeds",
                                                              "--road-class-column", "--road-layer"]),
    "site": (["site", "-c", "嘉義縣", "--category", "小衛星"], ["--access-kmh", "--speeds", "--road-class-column",
                                                              "--road-layer"]),
    "nearest": (["nearest", "{points}", "--category", "welfare_centre"],
                ["--access-kmh", "--speeds", "--road-class-column", "--road-layer"]),
}
#: A value for each option: the defaults among them (30, 30, 15) — given, they are still asked for.
_VALUES = {"--within-min": ["30", "20", "0.5"], "--catchment-min": ["30", "45"], "--access-kmh": ["15", "4"],
           "--speeds": ["{speeds}"], "--road-class-column": ["highway", "fclass"], "--road-layer": ["roads"]}
_ASKED = {"examples": 0}


def _without_network_args(tmp_path, command, flag, value):
    speeds = tmp_path / "speeds.csv"
    speeds.write_text("class,kmh\nprimary,50\n", encoding="utf-8")
    base, _ = _WITHOUT_NETWORK[command]
    out = tmp_path / "out"
    fill = {"points": str(_points(tmp_path)), "speeds": str(speeds)}
    args = [a.format(**fill) for a in base] + [flag, value.format(**fill)]
    args += ["-o", str(out / "near.parquet")] if command == "nearest" else ([] if command == "whatif" else
                                                                           ["-o", str(out)])
    return args, out


def test_minute_options_without_network_are_usage_errors(tmp_path):
    """Every option in minutes by road, on every command that takes it, given without --network — with any value,
    the default included (click's parameter source tells it was given) — is a one-line usage error (exit 2) naming
    it and --network, before anything is read or written: never a run that looks complete without minutes."""
    from hypothesis import event, given, settings
    from hypothesis import strategies as st

    cases = [(c, f, v) for c, (_, flags) in _WITHOUT_NETWORK.items() for f in flags for v in _VALUES[f]]

    @settings(max_examples=40, deadline=None, database=None)
    @given(case=st.sampled_from(cases))
    def check(case):
        command, flag, value = case
        args, out = _without_network_args(tmp_path, command, flag, value)
        line = one_line_error(run(*args), 2)
        assert line == f"error: {flag}: needs --network FILE (without a road network no figure is in minutes)"
        assert not out.exists()
        event(f"{command} {flag}")
        _ASKED["examples"] += 1

    check()
    assert _ASKED["examples"] >= 20


@pytest.mark.parametrize("flag", ["--within-min", "--catchment-min"])
def test_minutes_about_people_need_population(tmp_path, roads, flag):
    """With --network but no --population nothing uses --within-min/--catchment-min: refused (exit 2), naming both."""
    line = one_line_error(run("report", "-c", "苗栗縣", "--no-maps", "--network", roads, flag, "20", "-o", tmp_path), 2)
    assert line.startswith(f"error: {flag}: needs --population FILE")
    assert not list(tmp_path.iterdir())


def test_minutes_need_people_per_village(tmp_path, roads, shared_data):
    """A township-level population file gives no share within minutes: an explicit --within-min is an input error
    naming the file (exit 1), and nothing is written; without the flag the same run succeeds as before."""
    town = shared_data / "population" / "township_population_2026-01.json"
    args = ["report", "-c", "苗栗縣", "--category", "welfare_centre", "--no-maps", "--as-of", "2024-01-01",
            "--network", roads, "--population", town]
    line = one_line_error(run(*args, "--within-min", "20", "-o", tmp_path / "asked"), 1)
    assert "--within-min" in line and "township_population_2026-01.json" in line and "per village" in line
    assert not (tmp_path / "asked").exists()
    result = run(*args, "-o", tmp_path / "plain")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "plain" / "travel_times.csv").exists()


def test_whatif_within_min_is_the_shared_option():
    """whatif's --within-min is the one of cli/options.py: same flag, help text, default and type as report's."""
    import typer

    from coverage.cli import app as cli_app

    group = typer.main.get_command(cli_app)
    ctx = typer.Context(group)

    def within(command):
        param = next(p for p in group.get_command(ctx, command).params if p.name == "within_min")
        return param.opts, param.help, param.default, str(param.type_descriptor.annotation)

    assert within("whatif") == within("report") == within("map")
    assert within("whatif")[2] == 30.0


def test_whatif_within_min_default_given_is_the_default(roads, shared_data):
    """--within-min 30 given to whatif prints what leaving it out prints (the value is used, not only checked)."""
    args = ["whatif", "--add", "苗栗縣卓蘭鎮:welfare_centre", "-c", "苗栗縣", "--category", "welfare_centre",
            "--population", shared_data / "population" / POPULATION, "--network", roads, "--as-of", "2024-01-01"]
    plain, given, other = run(*args), run(*args, "--within-min", "30"), run(*args, "--within-min", "10")
    assert plain.exit_code == given.exit_code == other.exit_code == 0, plain.output
    assert "≤30min" in plain.output and plain.output == given.output
    assert "≤10min" in other.output and "≤30min" not in other.output
