"""Distances, nearest facilities, islands, population coverage and the 2SFCA family (vs PySAL access)."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coverage.access import (
    catchment_pairs,
    dai_gaussian_weight,
    floating_catchment,
    gaussian_weight,
    nearest_facility,
    population_access,
    two_step_fca,
)
from coverage.datasets import get_path

# ----------------------------------------------------------------------------- numeric core, hand oracles


def test_two_step_fca_hand_computed():
    # villages at x = 0, 10, 30 km (100, 200, 300 people); facilities at x = 5 (capacity 1) and 28 (capacity 2)
    villages = np.array([[0, 0], [10_000, 0], [30_000, 0]], dtype=float)
    facilities = np.array([[5_000, 0], [28_000, 0]], dtype=float)
    demand = np.array([100.0, 200.0, 300.0])
    supply = np.array([1.0, 2.0])
    got = floating_catchment(villages, facilities, demand, supply, 20_000)
    # facility 0 reaches villages 0 and 1 (300 people); facility 1 reaches villages 1 and 2 (500 people)
    r0, r1 = 1 / 300, 2 / 500
    np.testing.assert_allclose(got, [r0, r0 + r1, r1], rtol=0, atol=1e-15)


def test_catchment_edge_and_zero_distance_kept():
    i, j, d = catchment_pairs([[0.0, 0.0], [3.0, 4.0]], [[0.0, 0.0]], 5.0)
    assert sorted(zip(i.tolist(), j.tolist(), d.tolist(), strict=True)) == [(0, 0, 0.0), (1, 0, 5.0)]


def test_dai_gaussian_weights():
    w = dai_gaussian_weight(20.0)
    expected = (np.exp(-0.5 * 0.25) - np.exp(-0.5)) / (1 - np.exp(-0.5))  # Dai (2010) at d = d0/2
    np.testing.assert_allclose(w(np.array([0.0, 10.0, 20.0, 25.0])), [1.0, expected, 0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(gaussian_weight(20.0)(20.0), np.exp(-0.5))


def test_facility_without_demand_serves_nobody():
    got = two_step_fca([0, 1], [0, 1], 1.0, np.array([0.0, 10.0]), np.array([1.0, 1.0]))
    np.testing.assert_allclose(got, [0.0, 0.1])


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 40),
    m=st.integers(1, 15),
    method=st.sampled_from(["2sfca", "e2sfca"]),
)
def test_fca_conserves_supply(seed, n, m, method):
    """Σ people × access = total capacity of the facilities that reach anyone (both 2SFCA and E2SFCA)."""
    rng = np.random.default_rng(seed)
    v, f = rng.uniform(0, 30_000, (n, 2)), rng.uniform(0, 30_000, (m, 2))
    demand, supply = rng.integers(1, 1000, n).astype(float), rng.integers(1, 4, m).astype(float)
    access = floating_catchment(v, f, demand, supply, 10_000, method=method)
    i, j, d = catchment_pairs(v, f, 10_000)
    w = np.ones(len(d)) if method == "2sfca" else dai_gaussian_weight(10_000)(d)
    reached = np.bincount(j, weights=w * demand[i], minlength=m) > 0
    assert (access >= 0).all()
    np.testing.assert_allclose((demand * access).sum(), supply[reached].sum(), rtol=1e-9)


# ----------------------------------------------------------------------------- PySAL access, same inputs


def _pysal(demand, supply, cost, max_cost, weight_fn=None):
    import access

    with warnings.catch_warnings():
        # access 1.1 calls pandas APIs that pandas 3 deprecates; scoped to the third-party call
        warnings.simplefilter("ignore")
        model = access.Access(
            demand_df=demand, demand_index="geoid", demand_value="pop", supply_df=supply, supply_index="geoid",
            supply_value="cap", cost_df=cost, cost_origin="origin", cost_dest="dest", cost_name="cost",
        )
        if weight_fn is None:
            out = model.two_stage_fca(name="a", max_cost=max_cost)
        else:
            out = model.enhanced_two_stage_fca(name="a", max_cost=max_cost, weight_fn=weight_fn)
    return out["a_cap"].reindex(demand["geoid"]).fillna(0.0).to_numpy()


@pytest.fixture(scope="module")
def same_inputs(import_or_skip):
    """Random villages and facilities in the shapes of both libraries (PySAL access: the test extra)."""
    import_or_skip("access")
    rng = np.random.default_rng(42)
    n, m = 400, 60
    v = rng.uniform(0, 60_000, (n, 2))
    f = rng.uniform(0, 60_000, (m, 2))
    pop = rng.integers(1, 5000, n).astype(float)
    cap = rng.integers(1, 4, m).astype(float)
    # the cost table access needs: every village-facility pair (brute force), in metres
    d = np.hypot(v[:, None, 0] - f[None, :, 0], v[:, None, 1] - f[None, :, 1])
    oi, dj = np.nonzero(d <= 20_000)
    cost = pd.DataFrame({"origin": oi, "dest": dj, "cost": d[oi, dj]})
    demand = pd.DataFrame({"geoid": np.arange(n), "pop": pop})
    supply = pd.DataFrame({"geoid": np.arange(m), "cap": cap})
    return v, f, pop, cap, demand, supply, cost


def test_2sfca_matches_pysal_access(same_inputs):
    v, f, pop, cap, demand, supply, cost = same_inputs
    ours = floating_catchment(v, f, pop, cap, 20_000, method="2sfca")
    theirs = _pysal(demand, supply, cost, 20_000)
    assert np.count_nonzero(ours) > 300
    np.testing.assert_allclose(ours * 1e4, theirs * 1e4, rtol=0, atol=1e-9)


def test_e2sfca_dai_gaussian_matches_pysal_access(same_inputs):
    v, f, pop, cap, demand, supply, cost = same_inputs
    dai = dai_gaussian_weight(20_000)
    ours = floating_catchment(v, f, pop, cap, 20_000, method="e2sfca")
    theirs = _pysal(demand, supply, cost, 20_000, weight_fn=lambda d: float(dai(d)))
    np.testing.assert_allclose(ours * 1e4, theirs * 1e4, rtol=0, atol=1e-9)


def test_e2sfca_pysal_gaussian_sigma_matches(same_inputs):
    import access

    v, f, pop, cap, demand, supply, cost = same_inputs
    ours = floating_catchment(v, f, pop, cap, 20_000, weight=gaussian_weight(8_000))
    theirs = _pysal(demand, supply, cost, 20_000, weight_fn=access.weights.gaussian(8_000))
    np.testing.assert_allclose(ours * 1e4, theirs * 1e4, rtol=0, atol=1e-9)


# ----------------------------------------------------------------------------- nearest facility, islands


def _points(xy, land, codes, county="甲縣"):
    return pd.DataFrame({"code": codes, "x": [p[0] for p in xy], "y": [p[1] for p in xy], "land": land,
                         "county": county})


def test_nearest_facility_does_not_cross_the_sea():
    villages = _points([(0, 0), (3000, 0), (20_000, 0)], [0, 0, 1], ["v0", "v1", "island"])
    fac = _points([(1000, 0), (15_000, 0)], [0, 0], ["f0", "f1"]).rename(columns={"code": "facility_id"})
    fac = fac.assign(category="x", name=["甲", "乙"], towncode=["t0", "t0"], capacity=1.0)
    near = nearest_facility(villages, fac).set_index("code")
    assert near.loc["v0", "distance_km"] == 1.0 and near.loc["v0", "facility_name"] == "甲"
    assert near.loc["v1", "facility_name"] == "甲" and np.isnan(near.loc["v1", "across_sea_km"])
    # the island has no facility: no same-land distance; the nearest across the sea is reported apart
    assert np.isnan(near.loc["island", "distance_km"]) and pd.isna(near.loc["island", "facility_name"])
    assert near.loc["island", "across_sea_km"] == 5.0
    across = nearest_facility(villages, fac, cross_sea=True).set_index("code")
    assert across.loc["island", "distance_km"] == 5.0 and across.loc["island", "facility_name"] == "乙"


@pytest.mark.parametrize("seed", range(6))
def test_facilities_at_one_point_the_first_listed_is_nearest(seed):
    """Three facilities share one building (板橋's two centres do in the bundled registry), listed at random
    places among 40 others: the first listed of the three is every nearby point's facility, at the same
    distance (the k-d tree's own pick among exact ties is not a rule: it reorders its points)."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 20_000, (43, 2))
    same = np.sort(rng.choice(43, 3, replace=False))
    xy[same] = (10_000.0, 10_000.0)
    villages = _points([(10_003, 10_004), (10_030, 9_990), (9_950, 10_000)], [0, 0, 0], ["v0", "v1", "v2"])
    fac = _points([tuple(p) for p in xy], [0] * 43, [f"f{k}" for k in range(43)]).rename(
        columns={"code": "facility_id"}).assign(category="x", name=[f"站{k}" for k in range(43)], towncode="t0")
    near = nearest_facility(villages, fac)
    assert near["facility_name"].tolist() == [f"站{same[0]}"] * 3
    assert near["distance_km"].tolist() == pytest.approx([0.005, np.hypot(30, 10) / 1000, 0.05])


def test_each_county_served_by_its_own_points():
    """甲縣's village next to 乙縣's point is measured to 甲縣's farther point; 丙縣 has none: no distance
    (and no across-sea distance either). Across counties, the nearest point of any county."""
    villages = _points([(0, 0), (10_000, 0), (30_000, 0)], [0, 0, 0], ["a", "b", "c"], ["甲縣", "乙縣", "丙縣"])
    fac = _points([(9_000, 0), (1_000, 0)], [0, 0], ["fa", "fb"], ["甲縣", "乙縣"]).rename(
        columns={"code": "facility_id"}).assign(category="x", name=["甲站", "乙站"], towncode=["ta", "tb"])
    own = nearest_facility(villages, fac).set_index("code")
    assert own["facility_name"].tolist()[:2] == ["甲站", "乙站"] and own["distance_km"].tolist()[:2] == [9.0, 9.0]
    assert np.isnan(own.loc["c", "distance_km"]) and np.isnan(own.loc["c", "across_sea_km"])
    across = nearest_facility(villages, fac, across_counties=True).set_index("code")
    assert across["facility_name"].tolist() == ["乙站", "甲站", "甲站"]
    assert across["distance_km"].tolist() == [1.0, 1.0, 21.0]
    with pytest.raises(ValueError, match="needs a 'county' column"):
        nearest_facility(villages.drop(columns="county"), fac)
    # an island village of 甲縣: its own county's point across the sea, not 乙縣's nearer one
    island = _points([(12_000, 0)], [1], ["i"], "甲縣")
    far = nearest_facility(island, fac).set_index("code")
    assert np.isnan(far.loc["i", "distance_km"]) and far.loc["i", "across_sea_km"] == 3.0


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), extra=st.tuples(st.floats(0, 50_000), st.floats(0, 50_000)))
def test_adding_a_facility_never_lengthens_distances(seed, extra):
    rng = np.random.default_rng(seed)
    villages = _points(rng.uniform(0, 50_000, (30, 2)).tolist(), [0] * 30, [f"v{i}" for i in range(30)])
    xy = rng.uniform(0, 50_000, (3, 2)).tolist()

    def facilities(points):
        return _points(points, [0] * len(points), list(range(len(points)))).rename(
            columns={"code": "facility_id"}).assign(category="x", name="n", towncode="t", capacity=1.0)

    before = nearest_facility(villages, facilities(xy))["distance_km"].to_numpy()
    after = nearest_facility(villages, facilities([*xy, list(extra)]))["distance_km"].to_numpy()
    assert (after <= before + 1e-12).all()


# ----------------------------------------------------------------------------- the real data


def _facility_frame(towns, rows):
    """Open facilities at the representative points of the given townships."""
    pts = towns.set_index("towncode").geometry.to_crs(3826).representative_point().to_crs(4326)
    return gpd.GeoDataFrame(
        {"facility_id": [f"f{i}" for i in range(len(rows))], "category": [c for c, _ in rows],
         "name": [f"{c}@{t}" for c, t in rows], "towncode": [t for _, t in rows]},
        geometry=[pts[t] for _, t in rows], crs="EPSG:4326",
    )


@pytest.fixture(scope="module")
def village_population(shared_data):
    from coverage.population import read_population

    return read_population(shared_data / "population" / "village_population_agegroups_2021-03.csv")


def test_chiayi_population_coverage(townships, village_population):
    from coverage.pipeline import run_coverage

    report = run_coverage(counties=["嘉義縣"], categories=["小衛星"], as_of="2024-01-01")
    acc = population_access(report.registry.facilities, report.townships, townships, village_population,
                            group="children", distance_km=5)
    row = acc.counties.iloc[0]
    alishan = village_population.townships.set_index("township").loc["阿里山鄉", "children"]
    assert row["population"] == row["population_covered"] + alishan  # 阿里山鄉 is the only gap
    assert 0 <= row["within_rate"] <= 100 and row["people_within"] <= row["people_placed"]
    t = acc.townships.merge(townships[["towncode", "township"]]).set_index("township")
    assert t.loc["阿里山鄉", "mean_km"] > 5 and t.loc["阿里山鄉", "max_km"] >= t.loc["阿里山鄉", "mean_km"]
    assert t.loc["太保市", "nearest_name"].endswith("(太保市)")
    assert len(acc.points) == 357 and set(acc.points["category"]) == {"community_support_point"}
    assert (acc.points["fca_2sfca"] >= 0).all() and acc.points["fca_e2sfca"].gt(0).any()


def test_island_villages_are_reported_apart(townships, village_population):
    from coverage.measure import township_coverage

    towns = townships[townships["county"] == "屏東縣"]
    code = dict(zip(towns["township"], towns["towncode"], strict=True))
    fac = _facility_frame(townships, [("welfare_centre", code["東港鎮"])])  # the ferry port to 小琉球
    table = township_coverage(fac, townships, categories=["welfare_centre"], counties=["屏東縣"])
    acc = population_access(fac, table, townships, village_population, distance_km=30)
    t = acc.townships.set_index("towncode")
    liuqiu = village_population.townships.set_index("towncode").loc[code["琉球鄉"], "total"]
    assert t.loc[code["琉球鄉"], "people_no_facility_on_island"] == liuqiu
    assert t.loc[code["琉球鄉"], "people_within"] == 0 and t.loc[code["琉球鄉"], "people_across_sea"] == liuqiu
    assert acc.counties.iloc[0]["people_across_sea"] == liuqiu
    crossing = population_access(fac, table, townships, village_population, distance_km=30, cross_sea=True)
    assert crossing.townships.set_index("towncode").loc[code["琉球鄉"], "people_within"] == liuqiu


def test_capacity_column_and_open_facilities_only(townships, tmp_path):
    from coverage.access import facility_points, land_masses
    from coverage.facilities import read_facilities

    reg = tmp_path / "reg.csv"
    reg.write_text("category,name,county,township,capacity,status\n"
                   "welfare_centre,甲,嘉義縣,太保市,3,\nwelfare_centre,乙,嘉義縣,朴子市,,\n"
                   "welfare_centre,丙,嘉義縣,布袋鎮,2,停辦\n", encoding="utf-8")
    fac = read_facilities([reg], townships=townships).facilities
    pts = facility_points(fac, land_masses(townships), as_of="2024-01-01")
    assert dict(zip(pts["name"], pts["capacity"], strict=True)) == {"甲": 3.0, "乙": 1.0}  # blank → 1; closed left out
    assert pts["land"].nunique() == 1


def _supply_per_county(acc, category):
    """Σ people × 2SFCA per county (facilities per 10,000 → facilities): the supply each county's people share."""
    pts = acc.points[acc.points["category"] == category]
    return (pts["people"] * pts["fca_2sfca"] / 1e4).groupby(pts["county"]).sum()


def test_own_county_points_serve_own_people(townships, village_population):
    """Real data, 嘉義縣 and 嘉義市: 太保市 is measured to 嘉義縣's own centres (not 嘉義市's); 嘉義縣 has no
    心衛中心, so no distance (not 73 km to 臺中市); each county's 2SFCA shares out exactly its own points."""
    from coverage.pipeline import run_coverage

    report = run_coverage([get_path("seed_registry")], counties=["嘉義縣", "嘉義市"], as_of="2024-01-01")
    acc = population_access(report.registry.facilities, report.townships, townships, village_population)
    t = acc.townships.merge(townships[["towncode", "county", "township"]])
    wc = t[t["category"] == "welfare_centre"].set_index("township")
    assert wc.loc["太保市", "nearest_name"].startswith("嘉義縣")
    mh = t[(t["category"] == "mental_health_centre") & (t["county"] == "嘉義縣")]
    assert mh["mean_km"].isna().all() and (mh["people_within"] == 0).all()
    supply = _supply_per_county(acc, "welfare_centre")
    assert supply["嘉義縣"] == pytest.approx(6) and supply["嘉義市"] == pytest.approx(2)  # 6 and 2 centres
    across = population_access(report.registry.facilities, report.townships, townships, village_population,
                               across_counties=True)
    ta = across.townships.merge(townships[["towncode", "county", "township"]])
    assert ta[ta["category"] == "welfare_centre"].set_index("township").loc["太保市", "nearest_name"].startswith(
        "嘉義市")
    mh = ta[(ta["category"] == "mental_health_centre") & (ta["county"] == "嘉義縣")]
    assert (mh["mean_km"] > 40).all()  # to 臺中市's centres
    shared = _supply_per_county(across, "welfare_centre")
    # across counties the shares cross the line: 嘉義市 (ringed by 嘉義縣) draws on 嘉義縣's centres too, and
    # 雲林縣's and 臺南市's people (not in this report) take a share of both counties' centres
    assert shared["嘉義市"] > 2.2 and shared.sum() < 8
    assert acc.across_counties is False and across.across_counties is True


def test_whatif_within_own_and_across_counties(townships, village_population):
    """Removing 嘉義市's 西區 centre: its own people lose; 嘉義縣's people lose too only across counties, and the
    'before' figures are the report's (population_access) for the same inputs."""
    from coverage.access import whatif_within
    from coverage.pipeline import run_coverage
    from coverage.plan import apply_scenario

    report = run_coverage([get_path("seed_registry")], counties=["嘉義縣", "嘉義市"], categories=["社福中心"],
                          as_of="2024-01-01")
    before = report.registry.facilities
    after = apply_scenario(before, townships, [], ["嘉義市西區社會福利服務中心"])
    kw = dict(counties=["嘉義縣", "嘉義市"], categories=["welfare_centre"], as_of=report.as_of)
    own = whatif_within(before, after, townships, village_population, **kw)
    assert own["county"].tolist() == ["嘉義市"]
    assert (own["people_within_after"] < own["people_within_before"]).all()
    report_own = population_access(before, report.townships, townships, village_population, as_of=report.as_of)
    assert own["people_within_before"].item() == report_own.counties.set_index("county").loc["嘉義市", "people_within"]
    across = whatif_within(before, after, townships, village_population, across_counties=True, **kw)
    assert sorted(across["county"]) == ["嘉義市", "嘉義縣"]
    report_across = population_access(before, report.townships, townships, village_population, as_of=report.as_of,
                                      across_counties=True).counties.set_index("county")
    for row in across.itertuples(index=False):
        assert row.people_within_before == report_across.loc[row.county, "people_within"]


def test_cli_whatif_across_counties(tmp_path, shared_data):
    from typer.testing import CliRunner

    from coverage.cli import app

    args = ["whatif", "-f", str(get_path("seed_registry")), "--remove", "嘉義市西區社會福利服務中心",
            "--county", "嘉義縣", "--county", "嘉義市",
            "--category", "社福中心", "--as-of", "2024-01-01", "--population",
            str(shared_data / "population" / "village_population_agegroups_2021-03.csv")]
    own = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert own.exit_code == 0, own.output
    assert "people within 5 km (each county's own points)" in own.output
    assert "498,031" not in own.output  # 嘉義縣's row is not in the within table (its own points are unchanged)
    across = CliRunner().invoke(app, [*args, "--across-counties"], env={"COLUMNS": "200"})
    assert across.exit_code == 0, across.output
    assert "people within 5 km (every county's points)" in across.output and "498,031" in across.output
