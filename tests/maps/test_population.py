"""coverage.maps.population: people, distances, computed flags and the 優先補點 layer in the payload,
the map/report commands with population, page sizes with population."""

from __future__ import annotations

import csv

import shapely

from coverage.geography import load_townships
from coverage.maps import (
    map_payload,
    render_map,
    write_maps,
)
from coverage.pipeline import run_coverage
from tests.maps.conftest import (
    AS_OF,
    XSS_CATEGORY,
    XSS_IMG,
    XSS_SCRIPT,
    payload_of,
    shared_dems,
    shared_file,
)


def test_population_payload(chiayi_pop_report):
    import html

    report = chiayi_pop_report
    p = map_payload(report, "嘉義縣")
    assert p["pop"] == {"group": "total", "label": "總人口", "km": 5.0, "catchment": 20.0,
                        "file": "township_population_2026-01.json", "period": report.population.period,
                        "level": "township"}
    people = report.population.townships.set_index("towncode")["total"]
    assert {t["c"]: t["pp"] for t in p["towns"]} == {c: int(people[c]) for c in (t["c"] for t in p["towns"])}
    alishan = next(t for t in p["towns"] if "阿里山鄉" in t["t"])
    assert alishan["pp"] == 5174  # MOI 2026-01
    assert alishan["rf"] == [1, 1]  # computed 偏遠 (density < 1/5 national) and 山區 (DEM), beside the official flags
    assert alishan["dn"] == 12 and 1400 < alishan["el"] < 1550
    dongshi = next(t for t in p["towns"] if "東石鄉" in t["t"])
    assert dongshi["rf"] == [0, 0] and dongshi["el"] < 50
    # per category: share within 5 km, mean/max distance, the nearest facility's name, 2SFCA
    acc = report.access.townships.set_index(["towncode", "category"])
    keys = [c["key"] for c in p["cats"]]
    for k, cat in enumerate(keys):
        share, mean, most, name, fca, across = alishan["ac"][k]
        row = acc.loc[("10010180", html.unescape(cat))]
        assert mean == round(row["mean_km"], 1) and most == round(row["max_km"], 1) and across is None
        assert share == round(100 * row["people_within"] / row["people"], 1)
        assert p["names"][name] == html.escape(row["nearest_name"])
        assert fca >= 0
    k = keys.index("community_support_point")
    assert alishan["ac"][k][0] == 0.0 and 10 < alishan["ac"][k][1] < 30  # nobody within 5 km of 梅山/竹崎
    assert p["names"][alishan["ac"][k][3]] in ("梅山小衛星", "竹崎小衛星")
    covered = next(t for t in p["towns"] if "竹崎鄉" in t["t"])
    assert covered["ac"][k][1] < 10 and covered["ac"][k][0] > 0
    # the script draws these lines into the township tooltips
    html_page = render_map(report, "嘉義縣", basemap="none")
    for text in ("人口：", "計算：", "km 內人口", "最近據點 平均／最遠 km", "2SFCA／萬人", "最近："):
        assert text in html_page
    legend = payload_of(html_page)["ui"]["legend"]
    assert "人口資料：township_population_2026-01.json" in legend and "計算旗標：偏遠" in legend


def test_priority_layer_matches_report(chiayi_pop_report):
    report = chiayi_pop_report
    p = map_payload(report, "嘉義縣")
    prio = p["prio"]
    assert prio["show"] is True and prio["top"] is None and 'data-layer="priority"' in prio["layer"]
    keys = [c["key"] for c in p["cats"]]
    towns = load_townships().set_index("towncode")
    expected = report.priorities
    assert len(expected) > 0
    for k, key in enumerate(keys):
        import html

        rows = expected[expected["category"] == html.unescape(key)]
        items = prio["items"][k]
        assert [(i["r"], i["n"], i["s"], i["p"]) for i in items] == [
            (r.rank, f"嘉義縣 {esc_text(r.township)}", round(r.score), r.people) for r in rows.itertuples()]
        for item, row in zip(items, rows.itertuples(), strict=True):
            assert item["c"] == (1 if row.rank == 1 else 2 if row.rank <= 3 else 3 if row.rank <= 5 else 4)
            lat, lon = item["a"]
            assert towns.loc[row.towncode, "geometry"].contains(shapely.Point(lon, lat))  # inside its township
            assert item["u"] == int(row.covered)
    # 阿里山鄉, uncovered: all its people, their mean distance, flags ×2 in the reasons
    k = keys.index("community_support_point")
    (alishan,) = [i for i in prio["items"][k] if i["n"] == "嘉義縣 阿里山鄉"]
    assert alishan["p"] == 5174 and alishan["u"] == 0 and alishan["d"] > 5
    assert abs(alishan["s"] - 5174 * alishan["d"] * 2) <= 5174 * 0.05 * 2  # score = people × km × boost; d to 0.1 km
    assert "未設點" in alishan["w"] and "偏遠 remote、山區 mountain (DEM) → ×2" in alishan["w"]
    legend = payload_of(render_map(report, "嘉義縣"))["ui"]["legend"]
    assert "優先補點" in legend and "受影響人口 × 平均最近距離" in legend


def esc_text(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def test_priority_reasons_are_escaped(chiayi_pop_report):
    """Facility names from the registry reach the reasons (nearest facility): escaped on the page."""
    report = chiayi_pop_report
    mental = report.priorities[report.priorities["category"] == "mental_health_centre"]
    assert mental["reasons"].str.contains(XSS_SCRIPT, regex=False).all()  # the hostile name is the nearest
    html_page = render_map(report, "嘉義縣")
    for raw in (XSS_IMG, XSS_SCRIPT, XSS_CATEGORY):
        assert raw not in html_page
    assert html_page.count("<script") == html_page.count("</script>") == 5
    p = payload_of(html_page)
    k = [c["key"] for c in p["cats"]].index("mental_health_centre")
    assert p["prio"]["items"][k]
    for item in p["prio"]["items"][k]:
        assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in item["w"] and "<" not in item["w"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in p["names"]
    assert all("<" not in name for name in p["names"])


def test_no_population_no_priority_layer(chiayi_report):
    p = payload_of(render_map(chiayi_report, "嘉義縣"))
    assert p["pop"] is None and p["prio"] is None and "names" not in p
    assert not any(key in t for t in p["towns"] for key in ("pp", "ac", "rf"))
    assert "優先補點" not in p["ui"]["legend"] and "人口資料" not in p["ui"]["legend"]


def test_village_payload_with_population(fixture_registry):
    import html

    import pandas as pd

    report = run_coverage([fixture_registry], counties=["嘉義縣"], as_of=AS_OF, age_group="兒少",
                          population=shared_file("population", "village_population_agegroups_2021-03.csv"))
    p = map_payload(report, "嘉義縣", level="village")
    assert p["pop"]["label"] == "兒少 0–17歲" and p["pop"]["level"] == "village"
    keys = [c["key"] for c in p["cats"]]
    points = report.access.points.set_index(["villcode", "category"])
    from coverage.geography import load_villages

    vill = load_villages()
    vill = vill[vill["county"] == "嘉義縣"].sort_values("villcode").reset_index(drop=True)
    with_people = 0
    for v, code in zip(p["villages"], vill["villcode"], strict=True):
        if "p" not in v:
            continue
        with_people += 1
        for k, key in enumerate(keys):
            row = points.loc[(code, html.unescape(key))]
            assert v["p"] == row["people"]
            assert v["d"][k] == (None if pd.isna(row["distance_km"]) else round(row["distance_km"], 1))
    assert with_people > 340
    alishan = [v for v, t in zip(p["villages"], vill["township"], strict=True) if t == "阿里山鄉"]
    assert sum(v["p"] for v in alishan) == int(
        report.access.townships.query("towncode == '10010180'")["people"].iloc[0])
    # townships still carry the age group and the total
    town = next(t for t in p["towns"] if "阿里山鄉" in t["t"])
    assert town["pt"] > town["pp"] > 0


def test_map_and_report_commands_with_population(fixture_registry, tmp_path):
    from typer.testing import CliRunner

    from coverage.cli import app

    pop = shared_file("population", "village_population_agegroups_2021-03.csv")
    dems = [arg for dem in shared_dems() for arg in ("--dem", str(dem))]
    args = ["-f", str(fixture_registry), "--county", "嘉義縣", "--as-of", "113/01/01", "--population", str(pop),
            "--age-group", "兒少", "--distance-km", "3", "--catchment-km", "15", *dems]
    result = CliRunner().invoke(app, ["map", *args, "--mountain-m", "700", "--out", str(tmp_path / "map")])
    assert result.exit_code == 0, result.output
    p = payload_of((tmp_path / "map" / "嘉義縣.html").read_text(encoding="utf-8"))
    assert p["pop"]["group"] == "children" and p["pop"]["km"] == 3.0 and p["pop"]["catchment"] == 15.0
    mountain = {t["t"].split("</b>")[0].split()[-1] for t in p["towns"] if t["rf"][1]}
    assert mountain == {"阿里山鄉", "梅山鄉"}  # mean elevation ≥ 700 m (番路 616, 竹崎 537, 大埔 529 are not)
    assert p["prio"] is not None
    # `report` writes its maps from the same report: population figures and priorities included
    result = CliRunner().invoke(app, ["report", *args, "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    q = payload_of((tmp_path / "report" / "嘉義縣.html").read_text(encoding="utf-8"))
    assert q["pop"] == p["pop"] and q["prio"]["items"]
    text = (tmp_path / "report" / "priorities.csv").read_text(encoding="utf-8-sig")
    prio = list(csv.DictReader(text.splitlines()))
    k = [c["key"] for c in q["cats"]].index("community_support_point")
    expected = [int(r["rank"]) for r in prio if r["category"] == "community_support_point"]
    assert [i["r"] for i in q["prio"]["items"][k]] == expected


def test_sizes_with_population(tmp_path):
    """Size budgets hold with population: national ≤ 1.5 MB, county ≤ 400 KB (also the largest at
    village level), national village ≤ 4 MB."""
    report = run_coverage(as_of=AS_OF, dem=shared_dems(),
                          population=shared_file("population", "village_population_agegroups_2021-03.csv"))
    paths = write_maps(report, tmp_path)
    national = paths["taiwan"].read_text(encoding="utf-8")
    assert len(national.encode("utf-8")) <= 1_500_000
    p = payload_of(national)
    assert p["prio"]["top"] == 5 and p["prio"]["show"] is False
    assert max(i["r"] for items in p["prio"]["items"] for i in items) == 5
    counties = [k for k in paths if k not in ("taiwan", "index")]
    sizes = {k: paths[k].stat().st_size for k in counties}
    assert max(sizes.values()) <= 400_000, sizes
    village = render_map(report, None, level="village")
    assert len(village.encode("utf-8")) <= 4_000_000
    assert sum("p" in v for v in payload_of(village)["villages"]) > 7600
    # the heaviest county page: 高雄市 (891 villages) at village level with people and distances
    kaohsiung = render_map(report, "高雄市", level="village")
    assert len(kaohsiung.encode("utf-8")) <= 400_000
    assert len(payload_of(kaohsiung)["villages"]) > 850
