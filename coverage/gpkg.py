"""GeoPackage for QGIS: the layers of one coverage run, each opening with a default style.

:func:`write_geopackage` writes ``coverage.gpkg`` with

* ``townships`` — polygons, one row per township: the flags and, per programme, ``‹key›_points`` and
  ``‹key›_covered`` (and with population the people, mean/max km; with a road network the mean/max
  minutes by road, and with both the people within the minutes);
* ``villages`` — polygons (with population: people and distance to the nearest point per programme;
  with a road network ``‹key›_nearest_min``, ``‹key›_network_km`` and ``‹key›_travel_reason`` where
  there are no minutes);
* ``facilities`` — points with category, name, place, precision, status, dates, source;
* ``gaps`` — polygons of the uncovered townships per programme, with their flags;
* ``priorities`` — polygons of the ranked townships (with population);

and a ``layer_styles`` table (the table QGIS reads and writes: ``f_table_name``, ``styleQML``,
``useAsDefault`` …) holding a QML style per layer, so QGIS opens each one coloured: townships by the
number of programmes present, gaps in red outline, facilities by programme, priorities by rank.
The file is written to a temporary sibling and renamed, like every other output.
"""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

    from .pipeline import CoverageReport

__all__ = ["LAYERS", "write_geopackage"]

#: Layers of :func:`write_geopackage`, in order.
LAYERS = ("townships", "villages", "facilities", "gaps", "priorities")

_COLOURS = {"welfare_centre": "31,119,180", "community_support_point": "44,160,44",
            "psychiatric_collab_point": "148,103,189", "mental_health_centre": "214,39,40"}


def _townships(report: CoverageReport, towns: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    import geopandas as gpd

    table = report.townships
    wide = table.pivot_table(index="towncode", columns="category", values=["facilities", "covered"],
                             aggfunc="first")
    wide.columns = [f"{cat}_{'points' if what == 'facilities' else 'covered'}" for what, cat in wide.columns]
    for col in wide.columns:
        wide[col] = wide[col].astype(int)
    cover_cols = [c for c in wide.columns if c.endswith("_covered")]
    wide["programmes_present"] = wide[cover_cols].sum(axis=1).astype(int)
    flags = [c for c in ("mountain_indigenous", "plain_indigenous", "coastal", "island", "county_remote")
             if c in towns.columns]
    base = towns.loc[towns["towncode"].isin(wide.index), ["towncode", "county", "township", *flags, "geometry"]]
    out = base.merge(wide, left_on="towncode", right_index=True)
    if report.access is not None:
        acc = report.access.townships
        keep = [c for c in ("population", "mean_km", "max_km", "mean_min", "max_min", "people_within_min")
                if c in acc.columns]
        for cat, group in acc.groupby("category"):
            part = group.set_index("towncode")[keep].add_prefix(f"{cat}_")
            out = out.merge(part, left_on="towncode", right_index=True, how="left")
    elif "mean_min" in table:  # a road network without village population: plain mean/max minutes
        for cat, group in table.groupby("category"):
            part = group.set_index("towncode")[["mean_min", "max_min"]].add_prefix(f"{cat}_")
            out = out.merge(part, left_on="towncode", right_index=True, how="left")
    return gpd.GeoDataFrame(out, geometry="geometry", crs=towns.crs)


def _villages(report: CoverageReport, codes: set[str]) -> gpd.GeoDataFrame:
    import geopandas as gpd

    from .geography import load_villages

    vills = load_villages()
    vills = vills[vills["towncode"].isin(codes)][["villcode", "towncode", "village", "geometry"]]
    if report.access is not None and "villcode" in report.access.points.columns:
        pts = report.access.points
        people = pts.drop_duplicates("villcode").set_index("villcode")["people"].rename("population")
        vills = vills.merge(people, left_on="villcode", right_index=True, how="left")
        for cat, group in pts.groupby("category"):
            km = group.set_index("villcode")["distance_km"].rename(f"{cat}_nearest_km")
            vills = vills.merge(km, left_on="villcode", right_index=True, how="left")
    if report.travel is not None:  # minutes by road, with or without population (blank + reason: no road)
        for cat, group in report.travel.groupby("category"):
            part = group.set_index("villcode")[["nearest_min", "network_km", "reason"]]
            part.columns = [f"{cat}_nearest_min", f"{cat}_network_km", f"{cat}_travel_reason"]
            vills = vills.merge(part, left_on="villcode", right_index=True, how="left")
    return gpd.GeoDataFrame(vills, geometry="geometry", crs=vills.crs)


def _facilities(report: CoverageReport, codes: set[str]) -> gpd.GeoDataFrame:
    from .measure import facility_state

    fac = report.registry.facilities
    fac = fac[fac["towncode"].isin(codes)]
    cols = [c for c in ("facility_id", "category", "name", "county", "township", "towncode", "address", "precision",
                        "status", "source") if c in fac.columns]
    out = fac[[*cols, "geometry"]].copy()
    out["state"] = facility_state(fac, report.as_of).to_numpy()
    for col in ("opened", "closed"):
        out[col] = fac[col].dt.strftime("%Y-%m-%d").fillna("")
    return out


def _gaps(report: CoverageReport, towns: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    import geopandas as gpd

    gaps = report.gaps[["county", "category", "towncode", "township", "flags", "flagged"]]
    out = gaps.merge(towns[["towncode", "geometry"]], on="towncode")
    return gpd.GeoDataFrame(out, geometry="geometry", crs=towns.crs)


def _priorities(report: CoverageReport, towns: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
    import geopandas as gpd

    if report.priorities is None or report.priorities.empty:
        return None
    cols = [c for c in ("county", "category", "rank", "towncode", "township", "people", "distance_km", "score",
                        "reasons") if c in report.priorities.columns]
    out = report.priorities[cols].merge(towns[["towncode", "geometry"]], on="towncode")
    return gpd.GeoDataFrame(out, geometry="geometry", crs=towns.crs)


def _qml_graduated(field: str, classes: list[tuple[float, float, str, str]], outline: str = "80,80,80") -> str:
    ranges = "".join(f'<range lower="{lo}" upper="{hi}" label="{escape(label)}" symbol="{k}" render="true"/>'
                     for k, (lo, hi, _, label) in enumerate(classes))
    symbols = "".join(_fill_symbol(str(k), colour, outline) for k, (_, _, colour, _) in enumerate(classes))
    return (f'<qgis version="3.28"><renderer-v2 type="graduatedSymbol" attr="{field}"><ranges>{ranges}</ranges>'
            f"<symbols>{symbols}</symbols></renderer-v2></qgis>")


def _fill_symbol(name: str, colour: str, outline: str, width: float = 0.26, style: str = "solid") -> str:
    return (f'<symbol type="fill" name="{name}" alpha="1"><layer class="SimpleFill">'
            f'<Option type="Map"><Option name="color" value="{colour},255" type="QString"/>'
            f'<Option name="style" value="{style}" type="QString"/>'
            f'<Option name="outline_color" value="{outline},255" type="QString"/>'
            f'<Option name="outline_width" value="{width}" type="QString"/></Option></layer></symbol>')


def _qml_categorised(field: str, values: dict[str, tuple[str, str]]) -> str:
    cats = "".join(f'<category value="{escape(v)}" label="{escape(label)}" symbol="{k}" render="true"/>'
                   for k, (v, (_, label)) in enumerate(values.items()))
    symbols = "".join(
        f'<symbol type="marker" name="{k}" alpha="1"><layer class="SimpleMarker"><Option type="Map">'
        f'<Option name="color" value="{colour},255" type="QString"/><Option name="size" value="3" type="QString"/>'
        f"</Option></layer></symbol>" for k, (colour, _) in enumerate(values.values()))
    return (f'<qgis version="3.28"><renderer-v2 type="categorizedSymbol" attr="{field}"><categories>{cats}'
            f"</categories><symbols>{symbols}</symbols></renderer-v2></qgis>")


def _qml_single(symbol: str) -> str:
    return f'<qgis version="3.28"><renderer-v2 type="singleSymbol"><symbols>{symbol}</symbols></renderer-v2></qgis>'


def _styles(categories: list[str]) -> dict[str, tuple[str, str]]:
    """QML and a description per layer."""
    from .vocabulary import PROGRAMME_LABELS

    n = len(categories)
    towns = _qml_graduated("programmes_present", [(-0.5, 0.5, "253,174,97", "無任何方案"),
                                                   (0.5, n - 0.5, "255,255,191", "部分方案"),
                                                   (n - 0.5, n + 0.5, "166,217,106", "全部方案")])
    return {
        "townships": (towns, "鄉鎮市區：涵蓋方案數"),
        "villages": (_qml_single(_fill_symbol("0", "255,255,255", "150,150,150", 0.1, "no")), "村里界"),
        "facilities": (_qml_categorised("category", {c: (_COLOURS.get(c, "90,90,90"), PROGRAMME_LABELS.get(c, c))
                                                     for c in categories}), "服務據點：依方案"),
        "gaps": (_qml_single(_fill_symbol("0", "215,25,28", "215,25,28", 0.8, "no")), "缺口：未涵蓋鄉鎮市區"),
        "priorities": (_qml_graduated("rank", [(0.5, 1.5, "189,0,38", "第 1 名"), (1.5, 3.5, "240,59,32", "第 2–3 名"),
                                                (3.5, 5.5, "253,141,60", "第 4–5 名"),
                                                (5.5, 1e9, "254,204,92", "第 6 名以後")]), "優先補點排序"),
    }


def _write_styles(path: Path, styles: dict[str, tuple[str, str]], layers: list[str]) -> None:
    """The ``layer_styles`` table QGIS reads, one default style per layer."""
    with sqlite3.connect(path) as db:
        db.execute("""CREATE TABLE IF NOT EXISTS layer_styles (
            id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), f_table_schema TEXT(256),
            f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT,
            styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),
            update_time DATETIME DEFAULT '2000-01-01T00:00:00Z')""")
        for layer in layers:
            qml, description = styles[layer]
            db.execute("INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column,"
                       " styleName, styleQML, styleSLD, useAsDefault, description, owner, ui, update_time)"
                       " VALUES ('', '', ?, 'geom', ?, ?, '', 1, ?, '', '', '2000-01-01T00:00:00Z')",
                       (layer, layer, qml, description))
    db.close()


def write_geopackage(report: CoverageReport, out_dir: str | Path, *, villages: bool = True) -> Path:
    """Write ``out_dir/coverage.gpkg`` (layers :data:`LAYERS`, each with a default QGIS style).

    Parameters
    ----------
    report : CoverageReport
    out_dir : path
    villages : bool
        Include the village layer (7,701 polygons nationally; about 2 MB).

    Returns
    -------
    Path of the GeoPackage.
    """
    from .geography import load_townships

    towns = load_townships(None if report.boundaries.startswith("bundled") else report.boundaries)
    town_layer = _townships(report, towns)
    codes = set(town_layer["towncode"])
    layers = {"townships": town_layer, "villages": _villages(report, codes) if villages else None,
              "facilities": _facilities(report, codes), "gaps": _gaps(report, towns),
              "priorities": _priorities(report, towns)}
    layers = {k: v for k, v in layers.items() if v is not None}
    import pyogrio

    from .report import atomic_open

    path = Path(out_dir) / "coverage.gpkg"
    # GDAL writes the file itself, so build it in a private folder, then hand the bytes to atomic_open
    # (temporary part, rename, manifest) like every other output
    with tempfile.TemporaryDirectory(prefix="safetynet-gpkg-") as tmp_dir:
        tmp = Path(tmp_dir) / "coverage.gpkg"
        # GDAL stamps gpkg_contents with the current time: a fixed date keeps identical runs identical
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2000-01-01T00:00:00.000Z"})
        try:
            for layer, frame in layers.items():
                frame.to_file(tmp, layer=layer, driver="GPKG", engine="pyogrio")
        finally:
            pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})
        _write_styles(tmp, _styles(sorted(report.townships["category"].unique())), list(layers))
        with atomic_open(path, "wb") as fh:
            fh.write(tmp.read_bytes())
    return path
