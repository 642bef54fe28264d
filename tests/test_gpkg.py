"""GeoPackage for QGIS (coverage.gpkg): every layer read back, a default style per layer, stable bytes."""

from __future__ import annotations

import sqlite3

import pyogrio
import pytest

from coverage.gpkg import LAYERS, write_geopackage
from coverage.pipeline import run_coverage


@pytest.fixture(scope="module")
def chiayi(shared_data):
    return run_coverage(counties=["嘉義縣"], as_of="2024-01-01",
                        population=shared_data / "population" / "village_population_agegroups_2021-03.csv")


def test_every_layer_reads_back(chiayi, tmp_path):
    path = write_geopackage(chiayi, tmp_path)
    assert path == tmp_path / "coverage.gpkg"
    names = [name for name, _ in pyogrio.list_layers(path)]
    assert [n for n in names if n != "layer_styles"] == list(LAYERS)
    towns = pyogrio.read_dataframe(path, layer="townships")
    assert len(towns) == 18 and towns.crs.to_epsg() == 4326
    row = towns.set_index("township").loc["阿里山鄉"]
    assert row["community_support_point_covered"] == 0 and bool(row["mountain_indigenous"])
    assert towns["community_support_point_covered"].sum() == 17
    gaps = pyogrio.read_dataframe(path, layer="gaps")
    assert len(gaps) == len(chiayi.gaps)
    fac = pyogrio.read_dataframe(path, layer="facilities")
    assert len(fac) == int(chiayi.registry.facilities["county"].eq("嘉義縣").sum())
    vills = pyogrio.read_dataframe(path, layer="villages")
    assert vills["population"].sum() == pytest.approx(chiayi.access.counties["population"].iloc[0])
    assert vills["welfare_centre_nearest_km"].notna().all()
    pri = pyogrio.read_dataframe(path, layer="priorities")
    assert pri["rank"].min() == 1 and pri.geometry.notna().all()
    assert not list(tmp_path.glob(".*.part*"))


def test_default_styles(chiayi, tmp_path):
    path = write_geopackage(chiayi, tmp_path)
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT f_table_name, useAsDefault, styleQML FROM layer_styles ORDER BY id").fetchall()
    db.close()
    assert [r[0] for r in rows] == list(LAYERS) and all(r[1] == 1 for r in rows)
    import xml.etree.ElementTree as ET

    for _, _, qml in rows:
        assert ET.fromstring(qml).find("renderer-v2") is not None  # well-formed QML with a renderer
    assert 'attr="category"' in rows[2][2] and "社會福利服務中心" in rows[2][2]


def test_identical_runs_identical_bytes(tmp_path):
    report = run_coverage(counties=["嘉義市"], as_of="2024-01-01")
    one = write_geopackage(report, tmp_path / "a").read_bytes()
    two = write_geopackage(report, tmp_path / "b", villages=True).read_bytes()
    assert one == two
    assert "priorities" not in [n for n, _ in pyogrio.list_layers(tmp_path / "a" / "coverage.gpkg")]


def test_report_gpkg_option(tmp_path):
    import json

    from typer.testing import CliRunner

    from coverage.cli import app

    result = CliRunner().invoke(app, ["report", "--county", "嘉義市", "--no-maps", "--gpkg", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    layers = [n for n, _ in pyogrio.list_layers(tmp_path / "coverage.gpkg")]
    assert layers[:3] == ["townships", "villages", "facilities"]
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert "coverage.gpkg" in json.dumps(manifest)
