"""Rebuild the bundled national registry in ``geodata/`` from the official lists in ``../shared/data/registries/``.

Usage::

    python scripts/build_registry.py                     # reads ../shared/data/registries
    python scripts/build_registry.py --source DIR --check   # rebuild in memory, fail if geodata/ differs

Inputs (see ../shared/data/PROVENANCE.md for licences and known defects):

* ``welfare_centers_national.geojson`` — the 157 rows of 衛生福利部社會及家庭署's list of 社會福利服務中心
  (data as of 2023-04), with each centre's official service area;
* ``mental_health_facilities_national.geojson`` — 衛生福利部 社會福利機構總表 (data.gov.tw 165355); only
  ``sub_code`` T0105 (社區心理衛生中心) is a programme of this project, and that list is partial;
* ``geodata/seed_registry.csv`` — the points typed from county programme reports (with dates);
* ``geodata/reference/registry_corrections.csv`` — every correction, with its reason and authority.

Outputs (deterministic: identical inputs give identical bytes):

* ``geodata/registry.csv`` — the default registry: national rows, merged with the seed (a seed row and a
  national row for the same centre are one point: matched by category + name, then by category + township;
  the seed's dates and status are kept; ambiguous matches are listed and not merged);
* ``geodata/service_areas.csv`` — each centre's official service area parsed into townships and villages
  (:func:`coverage.serviceareas.parse_service_area`), unresolved fragments included as ``part=unresolved``;
* ``geodata/registry_completeness.csv`` — per county × programme whether the bundled data is ``complete``
  or ``partial`` (a pair not listed has no data).

Rules: rows whose coordinates came from Google geocoding (``coord_source`` google) are bundled without
coordinates (the geocoder's terms forbid storing them) and are located by address; centres whose
coordinates are identical (one office's address geocoded for several centres) get ``precision=office``;
the two 澎湖 outposts (據點) are points of the programme with ``kind=outpost`` (see the corrections).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WELFARE = "welfare_centers_national.geojson"
MENTAL = "mental_health_facilities_national.geojson"
SHA256 = {WELFARE: ("555723bf", "d1c61f"), MENTAL: ("b72e5a81", "8c4e34")}  # as in shared/data/PROVENANCE.md
WELFARE_SOURCE = "衛生福利部社會及家庭署 社會福利服務中心資料（2023-04，政府資料開放授權條款 1.0）"
MENTAL_SOURCE = "衛生福利部 社會福利機構總表（data.gov.tw 165355，2024-11-12，政府資料開放授權條款 1.0；部分名單）"
COLUMNS = ["id", "category", "name", "county", "township", "address", "lon", "lat", "status", "opened", "closed",
           "serves", "serves_text", "source", "precision", "kind"]
PROVENANCE = ("# Derived by scripts/build_registry.py from ../shared/data/registries/ ({files}) and "
              "geodata/seed_registry.csv, with geodata/reference/registry_corrections.csv. "
              "Official data under the Open Government Data License 1.0.")
_GENERIC = re.compile(r"社會福利服務中心|家庭福利服務中心|社區心理衛生中心|社福中心|心衛中心|中心")


def read_source(path: Path) -> list[dict]:
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    head, tail = SHA256[path.name]
    if not (digest.startswith(head) and digest.endswith(tail)):
        raise SystemExit(f"{path}: sha256 {digest} is not the documented {head}…{tail}; check PROVENANCE.md")
    return json.loads(data)["features"]


def read_corrections(path: Path) -> list[dict]:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    return list(csv.DictReader(lines))


def apply_corrections(features: list[dict], corrections: list[dict], file: str) -> None:
    by_name = {f["properties"]["name"]: f["properties"] for f in features}
    for c in (c for c in corrections if c["file"] == file):
        props = by_name.get(c["name"])
        if props is None:
            raise SystemExit(f"correction for {c['name']!r}: no such record in {file}")
        value = props.get(c["field"]) or ""
        if c["found"] not in value and not (c["found"] == "" and value == ""):
            raise SystemExit(f"correction for {c['name']!r}: {c['field']} has no {c['found']!r} (it is {value!r})")
        props[c["field"]] = c["used"] if c["found"] == "" else value.replace(c["found"], c["used"])


def name_key(name: str, county: str) -> str:
    """Name without county, generic words, brackets and spaces: 嘉義市東區社會福利服務中心 → 東區."""
    text = unicodedata.normalize("NFKC", name).replace("台", "臺")
    text = re.sub(r"[\s()（）\-－]", "", text)
    if text.startswith(county):
        text = text[len(county):]
    return _GENERIC.sub("", text)


def welfare_rows(features: list[dict], towns, villages) -> tuple[list[dict], dict]:
    from coverage.names import resolve_county
    from coverage.serviceareas import parse_service_area

    coords = [tuple(f["geometry"]["coordinates"]) for f in features]
    shared = {c for c in coords if coords.count(c) > 1}
    rows, areas = [], {}
    for i, f in enumerate(features, start=1):
        p, lon, lat = f["properties"], *f["geometry"]["coordinates"]
        county = resolve_county(p["county"], townships=towns)
        ident = f"mohw-wc-{i:03d}"
        area = parse_service_area(p["service_area"] or "", county, townships=towns, villages=villages)
        if not (p["service_area"] or "").strip():
            area.unresolved.append("no service area given in the source")
        areas[ident] = area
        rows.append({
            "id": ident, "category": "welfare_centre", "name": p["name"], "county": county, "township": "",
            "address": "", "lon": f"{lon:.6f}", "lat": f"{lat:.6f}", "status": "營運中", "opened": "", "closed": "",
            "serves": "、".join(towns.set_index("towncode").loc[area.towncodes, "township"]),
            "serves_text": p["service_area"] or "", "source": WELFARE_SOURCE,
            "precision": "office" if (lon, lat) in shared else "point",
            "kind": "outpost" if p["name"].endswith("據點") else "centre",
        })
    return rows, areas


def mental_rows(features: list[dict], towns) -> list[dict]:
    from coverage.names import resolve_county

    rows = []
    for f in features:
        p = f["properties"]
        if p.get("sub_code") != "T0105":
            continue
        google = str(p.get("coord_source", "")).lower().startswith("google")
        lon, lat = f["geometry"]["coordinates"]
        rows.append({
            "id": f"mohw-mh-{p['uid'].split('_')[-1]}", "category": "mental_health_centre", "name": p["name"],
            "county": resolve_county(p["city"], townships=towns), "township": "", "address": p["address"] or "",
            "lon": "" if google else f"{lon:.6f}", "lat": "" if google else f"{lat:.6f}",
            "status": "營運中", "opened": "", "closed": "", "serves": "", "serves_text": "",
            "source": MENTAL_SOURCE + ("；座標不收錄（Google 地理編碼），依地址定位" if google else ""),
            "precision": "" if google else "point", "kind": "centre",
        })
    return rows


def locate(rows: list[dict], towns) -> list[str | None]:
    """Township code of each row: its point, else its address."""
    import geopandas as gpd

    from coverage.geography import locate_points
    from coverage.names import parse_address

    with_xy = [i for i, r in enumerate(rows) if r["lon"]]
    pts = gpd.GeoSeries.from_xy([float(rows[i]["lon"]) for i in with_xy], [float(rows[i]["lat"]) for i in with_xy],
                                crs="EPSG:4326")
    found = locate_points(pts, towns)["towncode"].tolist()
    codes: list[str | None] = [parse_address(r["address"], townships=towns) if r["address"] else None for r in rows]
    for i, code in zip(with_xy, found, strict=True):
        codes[i] = None if code is None or code != code else code
    return codes


def merge_seed(national: list[dict], codes: list, seed: list[dict], towns) -> tuple[list[dict], list[str]]:
    """National rows with the seed merged in; seed rows with no national twin appended. Returns notes."""
    from coverage.facilities import normalise_category
    from coverage.names import resolve_county, resolve_township

    notes, taken = [], set()
    extra = []
    for k, s in enumerate(seed, start=1):
        cat, county = normalise_category(s["category"]), resolve_county(s["county"], townships=towns)
        code = resolve_township(s["township"], county, townships=towns) if s["township"] else None
        pool = [i for i, r in enumerate(national) if r["category"] == cat and r["county"] == county and i not in taken]
        by_name = [i for i in pool if name_key(national[i]["name"], county) == name_key(s["name"], county)]
        by_place = [i for i in pool if code is not None and codes[i] == code]
        match = by_name if len(by_name) == 1 else by_place
        if len(match) > 1:
            notes.append(f"seed {s['name']}: ambiguous, {len(match)} national rows in its township "
                         f"({'、'.join(national[i]['name'] for i in match)}); not merged")
        if len(match) != 1:
            kind = "centre" if cat in ("welfare_centre", "mental_health_centre") else "point"
            extra.append({**dict.fromkeys(COLUMNS, ""), **{c: s.get(c, "") for c in COLUMNS if c in s},
                          "id": f"seed-{k:03d}", "category": cat, "kind": kind})
            continue
        i = match[0]
        taken.add(i)
        row = national[i]
        for field in ("status", "opened", "closed"):
            if s.get(field):
                row[field] = s[field]
        row["source"] = f"{row['source']}；{s['source']}"
        notes.append(f"seed {s['name']} = {row['name']} ({'name' if by_name else 'township'})")
    return national + extra, notes


def completeness(rows: list[dict], towns) -> list[dict]:
    """complete: the national 社福中心 list (every county); the seed programmes a county report lists in full.
    partial: the 社區心理衛生中心 list (T0105 is a partial list) and the other seed programmes."""
    complete_seed = {("嘉義縣", "community_support_point")}  # the report lists all 18 townships (17 + 尚缺阿里山鄉)
    out = {(c, "welfare_centre"): ("complete", WELFARE_SOURCE) for c in sorted(set(towns["county"]))}
    for r in rows:
        key = (r["county"], r["category"])
        if key in out:
            continue
        if r["category"] == "mental_health_centre":
            out[key] = ("partial", MENTAL_SOURCE)
        else:
            out[key] = ("complete" if key in complete_seed else "partial", r["source"].split("；")[-1])
    return [{"county": c, "category": k, "data": d, "basis": b} for (c, k), (d, b) in sorted(out.items())]


def to_csv(rows: list[dict], columns: list[str], provenance: str) -> bytes:
    buf = io.StringIO(newline="")
    buf.write(provenance + "\n")
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="raise")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def build(source: Path, geodata: Path) -> tuple[dict[str, bytes], list[str]]:
    """The bytes of each output file and the build notes (merges, unresolved fragments)."""
    from coverage.geography import load_townships, load_villages
    from coverage.serviceareas import service_area_table

    towns, villages = load_townships(), load_villages()
    corrections = read_corrections(geodata / "reference" / "registry_corrections.csv")
    welfare = read_source(source / WELFARE)
    apply_corrections(welfare, corrections, WELFARE)
    mental = read_source(source / MENTAL)
    apply_corrections(mental, corrections, MENTAL)
    w_rows, areas = welfare_rows(welfare, towns, villages)
    national = w_rows + mental_rows(mental, towns)
    codes = locate(national, towns)
    for row, code in zip(national, codes, strict=True):
        row["township"] = "" if code is None else towns.set_index("towncode").at[code, "township"]
    seed_lines = (geodata / "seed_registry.csv").read_text(encoding="utf-8").splitlines()
    seed = list(csv.DictReader(line for line in seed_lines if not line.startswith("#")))
    rows, notes = merge_seed(national, codes, seed, towns)
    table = service_area_table(areas)
    notes += [f"{ident}: unresolved service-area fragment: {note}"
              for ident, note in table.loc[table["part"] == "unresolved", ["id", "note"]].itertuples(index=False)]
    prov = PROVENANCE.format(files=f"{WELFARE}, {MENTAL}")
    files = {
        "registry.csv": to_csv(rows, COLUMNS, prov),
        "service_areas.csv": to_csv(table.to_dict("records"), list(table.columns), prov),
        "registry_completeness.csv": to_csv(completeness(rows, towns), ["county", "category", "data", "basis"], prov),
    }
    return files, notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data" / "registries")
    parser.add_argument("--out", type=Path, default=ROOT / "geodata")
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if geodata/ differs")
    args = parser.parse_args(argv)
    files, notes = build(args.source, args.out)
    for note in notes:
        print(note)
    differ = [name for name, data in files.items()
              if not (args.out / name).exists() or (args.out / name).read_bytes() != data]
    if args.check:
        print("differs: " + ", ".join(differ) if differ else "geodata/ is up to date")
        return 1 if differ else 0
    for name, data in files.items():
        (args.out / name).write_bytes(data)
        print(f"wrote {args.out / name} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
