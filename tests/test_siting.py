"""Siting models against brute force, PySAL spopt, and hand-made cases."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

from coverage.siting import coverage_matrix, greedy_maximal_covering, maximal_covering, set_cover


def brute_force_mclp(cover: np.ndarray, w: np.ndarray, p: int) -> float:
    best = 0.0
    for combo in itertools.combinations(range(cover.shape[1]), min(p, cover.shape[1])):
        best = max(best, float(w[cover[:, list(combo)].any(axis=1)].sum()))
    return best


def brute_force_cover(cover: np.ndarray) -> int:
    need = cover.any(axis=1)
    for size in range(cover.shape[1] + 1):
        for combo in itertools.combinations(range(cover.shape[1]), size):
            if (cover[:, list(combo)].any(axis=1) >= need).all():
                return size
    raise AssertionError("unreachable")


instances = st.integers(min_value=1, max_value=10).flatmap(
    lambda n_demand: st.integers(min_value=1, max_value=7).flatmap(
        lambda n_cand: st.tuples(
            st.lists(st.lists(st.booleans(), min_size=n_cand, max_size=n_cand), min_size=n_demand, max_size=n_demand),
            st.lists(st.integers(min_value=0, max_value=50), min_size=n_demand, max_size=n_demand),
            st.integers(min_value=0, max_value=n_cand),
        )
    )
)


# Found by hypothesis: candidate 3 has the same rows as 1 besides the demand only it covers, so
# it is not dominated (open beside 1 it still adds 2); the optimum is {1, 3} = 5, not {1, 4} = 4.
_FIXED_GAIN_CASE = (
    [[j in c for j in range(5)] for c in ({1}, set(), set(), set(), {3}, {4}, {1, 3}, set(), set())],
    [2, 0, 0, 0, 2, 1, 1, 0, 0],
    2,
)


@settings(max_examples=300, deadline=None)
@given(instances)
@example(_FIXED_GAIN_CASE)
def test_mclp_matches_brute_force(instance):
    rows, weights, p = instance
    cover = np.array(rows, dtype=bool)
    w = np.array(weights, dtype=float)
    result = maximal_covering(sp.csr_matrix(cover), w, p)
    expected = brute_force_mclp(cover, w, p)
    assert result.objective == pytest.approx(expected)
    assert result.optimal
    assert len(set(result.selected)) == len(result.selected) <= p
    # the reported objective is what the chosen sites really cover
    chosen = cover[:, result.selected].any(axis=1) if result.selected else np.zeros(len(w), bool)
    assert w[chosen].sum() == pytest.approx(result.objective)
    # greedy never beats the optimum
    _, gains = greedy_maximal_covering(sp.csr_matrix(cover), w, p)
    assert sum(gains) <= expected + 1e-9


@settings(max_examples=100, deadline=None)
@given(instances)
def test_set_cover_matches_brute_force(instance):
    rows, _, _ = instance
    cover = np.array(rows, dtype=bool)
    result = set_cover(sp.csr_matrix(cover))
    assert result.objective == brute_force_cover(cover)
    covered = cover[:, result.selected].any(axis=1) if result.selected else np.zeros(cover.shape[0], bool)
    assert (covered >= cover.any(axis=1)).all()


def test_gains_are_ranked():
    cover = sp.csr_matrix(np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=bool))
    result = maximal_covering(cover, np.array([1.0, 10.0, 5.0]), p=2)
    assert result.selected == [1, 2]
    assert result.gains == [10.0, 5.0]


def test_coverage_matrix_includes_coincident_points():
    demand = np.array([[0, 0], [100, 0], [5000, 0]], dtype=float)
    cand = np.array([[0, 0], [4000, 0]], dtype=float)
    mat = coverage_matrix(demand, cand, radius=1000).toarray()
    assert mat.tolist() == [[True, False], [True, False], [False, True]]


# spopt builds its model with PuLP APIs that PuLP deprecates; the warning is theirs, not ours.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_matches_spopt_mclp():
    """Same optimal objective as PySAL spopt's MCLP on a small random instance."""
    spopt = pytest.importorskip("spopt.locate", reason="PySAL spopt not installed")
    pulp = pytest.importorskip("pulp")
    from scipy.spatial.distance import cdist

    rng = np.random.default_rng(7)
    demand = rng.uniform(0, 20_000, (200, 2))
    cand = rng.uniform(0, 20_000, (40, 2))
    weights = rng.integers(1, 1000, 200).astype(float)
    radius, p = 3000.0, 5
    model = spopt.MCLP.from_cost_matrix(cdist(demand, cand), weights, service_radius=radius, p_facilities=p)
    model = model.solve(pulp.PULP_CBC_CMD(msg=False))
    theirs = pulp.value(model.problem.objective)
    ours = maximal_covering(coverage_matrix(demand, cand, radius), weights, p)
    assert ours.objective == pytest.approx(theirs, abs=1e-6)
    assert ours.optimal


def test_negative_p():
    with pytest.raises(ValueError, match="p must be"):
        maximal_covering(sp.csr_matrix(np.ones((2, 2), bool)), np.ones(2), -1)


# ----------------------------------------------------------------------------- report and site agree; candidates

POPULATION = "village_population_agegroups_2021-03.csv"
SEED = str(Path(__file__).resolve().parents[1] / "geodata" / "seed_registry.csv")  # the registry these facts hold for


@pytest.mark.parametrize("across", [False, True])
@pytest.mark.parametrize(("county", "category"), [("嘉義縣", "welfare_centre"), ("嘉義縣", "community_support_point"),
                                                  ("嘉義市", "welfare_centre"), ("嘉義縣", "mental_health_centre")])
def test_site_before_equals_report(shared_data, townships, county, category, across):
    """Same registry and population: site's "before" figures are the report's for that county and programme,
    whether each county's own points serve it (default) or every county's (across_counties)."""
    from coverage.geography import load_villages
    from coverage.pipeline import run_coverage
    from coverage.siting import site_new_points

    path = shared_data / "population" / POPULATION
    report = run_coverage([SEED], counties=[county], categories=[category], population=path, distance_km=5,
                          as_of="2024-01-01", across_counties=across)
    pop = report.population.villages.set_index("villcode")["total"]
    plan = site_new_points(report.registry.facilities, townships, load_villages(), county=county, category=category,
                           new=1, radius_km=5, objective="population", population=pop, as_of=report.as_of,
                           across_counties=across)
    cov = report.counties.set_index(["county", "category"]).loc[(county, category)]
    acc = report.access.counties.set_index(["county", "category"]).loc[(county, category)]
    s = plan.summary
    assert (s["townships_covered_before"], s["townships_total"], s["rate_before"]) == (
        cov["covered"], cov["total"], cov["rate"])
    assert s["population_total"] == acc["people_placed"] > 0
    assert s["population_within_radius_before"] == acc["people_within"]
    assert s["across_counties"] is across
    if category == "mental_health_centre" and county == "嘉義縣":  # none in 嘉義縣; 臺中市's are too far for 5 km
        assert s["population_within_radius_before"] == 0
    if category == "welfare_centre" and county == "嘉義縣":
        # 嘉義市's two centres reach 嘉義縣's people (太保市, 水上鄉, 民雄鄉) only across counties
        own = run_coverage([SEED], counties=[county], categories=[category], population=path, distance_km=5,
                           as_of="2024-01-01").access.counties.iloc[0]["people_within"]
        assert (acc["people_within"] > own) if across else (acc["people_within"] == own)


def test_cli_report_and_site_agree(tmp_path, shared_data):
    """The CLI: `report` and `site` on the same files print/write the same before figures."""
    import json

    from typer.testing import CliRunner

    from coverage.cli import app

    pop = str(shared_data / "population" / POPULATION)
    for flag in ([], ["--across-counties"]):
        out = tmp_path / ("across" if flag else "own")
        r = CliRunner().invoke(app, ["report", "-f", SEED, "--county", "嘉義縣", "--category", "社福中心",
                                     "--population", pop, "--distance-km", "5", "--as-of", "2024-01-01",
                                     "--no-maps", "--out", str(out / "r"), *flag])
        assert r.exit_code == 0, r.output
        summary = json.loads((out / "r" / "summary.json").read_text(encoding="utf-8"))
        county = summary["population_coverage"]["counties"][0]
        assert summary["population_coverage"]["across_counties"] is bool(flag)
        r = CliRunner().invoke(app, ["site", "-f", SEED, "--county", "嘉義縣", "--category", "社福中心",
                                     "--population", pop, "--objective", "population", "--new", "1", "--radius-km",
                                     "5", "--as-of", "2024-01-01", "--no-map", "--out", str(out / "s"), *flag])
        assert r.exit_code == 0, r.output
        site = json.loads((out / "s" / "sites.json").read_text(encoding="utf-8"))["summary"]
        assert site["population_within_radius_before"] == county["people_within"]
        assert site["population_total"] == county["people_placed"]
        assert f"people within 5 km {county['people_within']:,} →" in r.output


def test_candidates_without_category_column(tmp_path, townships):
    """A candidates file with no category column: every candidate is the requested programme, and a note
    says so; the 村里 column holds the candidate's village (located), not its name; no population → no
    people figure at all."""
    from coverage.datasets import get_path
    from coverage.facilities import read_facilities
    from coverage.geography import load_villages, locate_points
    from coverage.siting import read_candidates, site_new_points

    path = tmp_path / "cand.csv"
    path.write_text("name,lon,lat\n阿里山候選點,120.80,23.47\n太保候選點,120.33,23.46\n",
                    encoding="utf-8")
    cand, rejected, notes = read_candidates(path, category="community_support_point", townships=townships)
    assert len(cand) == 2 and len(rejected) == 0 and set(cand["category"]) == {"community_support_point"}
    assert notes == ["cand.csv has no category (類別) column or values: every candidate is taken as "
                     "community_support_point"]
    assert cand["row"].tolist() == [2, 3] and set(cand["file"]) == {"cand.csv"}
    villages = load_villages()
    seed = read_facilities(get_path("seed_registry"), townships=townships).facilities
    plan = site_new_points(seed, townships, villages, county="嘉義縣", category="community_support_point", new=1,
                           objective="townships", candidates=cand)
    site = plan.sites.iloc[0]
    assert site["candidate"] == "阿里山候選點" and site["township"] == "阿里山鄉"
    code = locate_points(cand.iloc[[0]], villages, key="villcode")["villcode"].item()
    assert site["village"] == villages.set_index("villcode").loc[code, "village"] != site["candidate"]
    assert "people_newly_within_radius" not in plan.sites
    assert plan.summary["population_total"] is None and plan.summary["population_within_radius_before"] is None


def test_candidates_with_categories_and_bad_rows(tmp_path, townships):
    from coverage.errors import InputError
    from coverage.siting import read_candidates

    path = tmp_path / "cand.csv"
    path.write_text("category,name,county,township,village\n小衛星,甲,嘉義縣,阿里山鄉,樂野村\n社福中心,乙,嘉義縣,番路鄉,\n"
                    ",丙,嘉義縣,大埔鄉,\n", encoding="utf-8")
    cand, rejected, notes = read_candidates(path, category="community_support_point", townships=townships)
    assert cand["name"].tolist() == ["甲"] and notes == ["cand.csv: 1 candidates of other categories left out"]
    assert rejected["row"].tolist() == [4] and rejected["field"].tolist() == ["category"]
    with pytest.raises(InputError, match="no candidate of category 'mental_health_centre'"):
        read_candidates(path, category="mental_health_centre", townships=townships)


def test_cli_site_candidates_file(tmp_path):
    from typer.testing import CliRunner

    from coverage.cli import app

    path = tmp_path / "cand.csv"
    path.write_text("name,county,township,village\n候選甲,嘉義縣,阿里山鄉,樂野村\n候選乙,臺北市,中正區,\n",
                    encoding="utf-8")
    r = CliRunner().invoke(app, ["site", "--county", "嘉義縣", "--category", "小衛星", "--candidates", str(path),
                                 "--no-map", "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert "every candidate is taken as community_support_point" in r.output
    assert "樂野村" in r.output and "候選甲" in r.output  # township-precision: the file's own village column
    assert "新增服務人口" not in r.output and "people within" not in r.output
    path.write_text("name,county,township\n候選乙,臺北市,中正區\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["site", "--county", "嘉義縣", "--category", "小衛星", "--candidates", str(path),
                                 "--no-map", "--out", str(tmp_path / "o")])
    assert r.exit_code == 1 and "none of the 1 candidates given lies in 嘉義縣" in r.output
