"""coverage.pointio.write_points: the table of locate/nearest and its rejections beside it (moved out of the CLI)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from typer.testing import CliRunner

from coverage.bulk import locate, read_points
from coverage.cli import app
from coverage.pointio import write_points
from coverage.rejections import REJECTED_COLUMNS, rejected_rows

_POINTS = ("id,lon,lat,電話\n1,120.45,23.45,05-1234567\n2,121.0,24.45,\n3,150,20,\n4,120.75,abc,\n5,,,\n"
           "6,120.3,22.6,\n")


@pytest.fixture(scope="module")
def located(tmp_path_factory, townships):
    path = tmp_path_factory.mktemp("points") / "points.csv"
    path.write_text(_POINTS, encoding="utf-8")
    pts = read_points(path)
    return path, pts, locate(pts, townships, key="towncode")


def _cells(frame):
    """The non-geometry cells, a missing value of any kind as None (Parquet reads text back as pandas strings)."""
    plain = frame.drop(columns="geometry")
    return [[None if pd.isna(v) else v for v in row] for row in plain.itertuples(index=False)]


def read_rejections(path):
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def test_write_points_writes_the_table_and_its_rejections(located, tmp_path):
    """Every input row in the Parquet file; the rows without usable coordinates beside it, by row and field;
    counts balance (rows read = located + outside + rejected rows); no personal column anywhere."""
    source, pts, result = located
    out = tmp_path / "located.parquet"
    rejected = write_points(result, pts, out, file=source.name)
    assert rejected == tmp_path / "located.rejected.csv"
    table = gpd.read_parquet(out)
    assert len(table) == len(pts) == 6 and "電話" not in table.columns
    assert list(table.columns) == list(result.columns) and _cells(table) == _cells(result)
    assert table.geometry.geom_equals(result.geometry).sum() == result.geometry.notna().sum()
    rows = read_rejections(rejected)
    assert list(rows.columns) == REJECTED_COLUMNS and set(rows["file"]) == {"points.csv"}
    assert set(rows["row"]) == {"5", "6"}  # file lines of ids 4 and 5 (header = line 1)
    assert rejected_rows(rows) == int((table["status"] == "rejected").sum()) == 2
    n = table["status"].value_counts()
    assert n.get("located", 0) + n.get("outside", 0) + n.get("rejected", 0) == len(pts)
    assert "05-1234567" not in rejected.read_text(encoding="utf-8-sig")


def test_write_points_replaces_a_stale_rejections_file(located, tmp_path):
    """A clean run leaves an empty rejections file (header only), never the one of an earlier run."""
    source, pts, result = located
    out = tmp_path / "located.parquet"
    stale = tmp_path / "located.rejected.csv"
    stale.write_text("file,row,field,value,reason\nold.csv,9,lon,x,stale\n", encoding="utf-8")
    good = pts[pts.geometry.notna()]
    write_points(result.loc[good.index], good, out, file=source.name)
    rows = read_rejections(stale)
    assert list(rows.columns) == REJECTED_COLUMNS and rows.empty
    assert not list(tmp_path.glob("*.part")) and not list(tmp_path.glob(".*"))


def test_locate_command_writes_what_write_points_writes(located, tmp_path):
    """`safetynet locate` writes the same rejections file byte for byte and the same table as the library call."""
    source, pts, result = located
    lib = tmp_path / "lib.parquet"
    write_points(result, pts, lib, file=source.name)
    cli = tmp_path / "cli.parquet"
    outcome = CliRunner().invoke(app, ["locate", str(source), "--out", str(cli)])
    assert outcome.exit_code == 0, outcome.output
    assert (tmp_path / "cli.rejected.csv").read_bytes() == (tmp_path / "lib.rejected.csv").read_bytes()
    pd.testing.assert_frame_equal(gpd.read_parquet(cli), gpd.read_parquet(lib))
    assert "6 rows: " in outcome.output and "2 rejected" in outcome.output
