"""MCLP solver (coverage.siting.maximal_covering): exact optimum on small spatial instances, the benchmark's
known optimum, and deterministic choices among tied optima."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from coverage.siting import coverage_matrix, greedy_maximal_covering, maximal_covering

BENCHMARK_OPTIMUM = 15_048_266  # 7,701 villages × 1,500 candidates, p = 30, 5 km (BENCHMARKS.md "Siting")


def brute_force(cover: np.ndarray, w: np.ndarray, p: int) -> float:
    """Best covered weight over every choice of min(p, n) candidates."""
    best = 0.0
    for combo in itertools.combinations(range(cover.shape[1]), min(p, cover.shape[1])):
        best = max(best, float(w[cover[:, list(combo)].any(axis=1)].sum()))
    return best


# Points on a small grid, so that covers overlap the way villages and sites do (many shared rows, ties),
# with integer weights (ties between optima) or fractional ones.
_xy = st.tuples(st.integers(0, 8), st.integers(0, 8))
spatial = st.tuples(
    st.lists(_xy, min_size=1, max_size=24),   # demand
    st.lists(_xy, min_size=3, max_size=10),   # candidates
    st.sampled_from([1.5, 2.0, 2.5, 3.0]),   # radius
    st.integers(1, 4),                        # p
    st.one_of(st.lists(st.integers(0, 9), min_size=24, max_size=24),
              st.lists(st.floats(0, 100, allow_nan=False), min_size=24, max_size=24)),
    st.booleans(),                            # all on one line (y = 0): interval covers, where greedy often fails
)

def _instance(case):
    demand, cand, radius, p, weights, line = case
    demand, cand = np.array(demand, float), np.array(cand, float)
    if line:
        demand[:, 1] = cand[:, 1] = 0.0
    return coverage_matrix(demand, cand, radius), np.array(weights[: len(demand)], dtype=float), p


_seen = {"harder than greedy": 0, "examples": 0}


# Greedy takes the middle site (11) then adds 4; the two outer sites cover 20.
_GREEDY_TRAP = ([(0, 0), (2, 0), (4, 0), (6, 0), (8, 0)], [(2, 0), (4, 0), (6, 0)], 2.0, 2,
                [4, 5, 1, 5, 4] + [0] * 19, True)


@settings(max_examples=250, deadline=None)
@given(spatial)
@example(_GREEDY_TRAP)
def test_mclp_equals_brute_force_on_spatial_instances(case):
    cover, w, p = _instance(case)
    dense = cover.toarray()
    expected = brute_force(dense, w, p)
    result = maximal_covering(cover, w, p)
    _seen["examples"] += 1
    assert result.optimal, result
    assert result.gap == 0.0
    assert result.objective == pytest.approx(expected, rel=1e-9, abs=1e-9)
    # the chosen sites really cover what is reported, and there are at most p of them, all distinct
    assert len(result.selected) == len(set(result.selected)) <= p
    hit = dense[:, result.selected].any(axis=1) if result.selected else np.zeros(len(w), bool)
    assert w[hit].sum() == pytest.approx(result.objective, rel=1e-9, abs=1e-9)
    assert result.bound >= result.objective - 1e-9
    _, gains = greedy_maximal_covering(cover, w, p)
    if sum(gains) < expected - 1e-9:
        _seen["harder than greedy"] += 1
        event("greedy is below the optimum")
    event(f"status {result.status}")


def test_spatial_examples_include_instances_greedy_gets_wrong():
    """Runs after the property test: it met instances where greedy is not optimal (the solver's real work)."""
    if _seen["examples"] == 0:
        pytest.skip("run together with test_mclp_equals_brute_force_on_spatial_instances")
    assert _seen["harder than greedy"] >= 1, _seen


def _tied_instance():
    """A 6 × 6 grid of equal demand and a candidate on every demand point: many optimal choices."""
    xy = np.array([(x, y) for x in range(6) for y in range(6)], dtype=float)
    return coverage_matrix(xy, xy, 1.0), np.ones(len(xy))


@pytest.mark.parametrize("p", [1, 3, 5, 8])
def test_ties_are_broken_the_same_way_every_time(p):
    cover, w = _tied_instance()
    first = maximal_covering(cover, w, p)
    assert first.optimal
    for same in (cover.copy(), cover.tocsc(), sp.coo_matrix(cover), cover.toarray()):
        again = maximal_covering(same, w.copy(), p)
        assert again.selected == first.selected
        assert again.gains == first.gains
        assert again.objective == first.objective


@settings(max_examples=60, deadline=None)
@given(spatial)
def test_identical_inputs_give_identical_sites(case):
    cover, w, p = _instance(case)
    a, b = maximal_covering(cover, w, p), maximal_covering(cover.copy(), w.copy(), p)
    event(f"{len(a.selected)} sites")
    assert (a.selected, a.gains, a.objective, a.status) == (b.selected, b.gains, b.objective, b.status)


def test_benchmark_instance_reaches_the_known_optimum(shared_data):
    """The BENCHMARKS.md instance: 7,701 villages (population 2021-03) × 1,500 village candidates (seed 42),
    p = 30, 5 km — proven optimal at 15,048,266 people, the optimum PySAL spopt (CBC and HiGHS) finds."""
    import pandas as pd

    from coverage.geography import load_villages

    villages = load_villages().to_crs("EPSG:3826")
    pop = pd.read_csv(shared_data / "population" / "village_population_agegroups_2021-03.csv", dtype=str)
    people = pop.assign(villcode=pop["村里代碼"].str.replace("-", "")).set_index("villcode")["人口"].astype(int)
    w = villages["villcode"].map(people).fillna(0).to_numpy(dtype=float)
    pts = villages.geometry.representative_point()
    xy = np.c_[pts.x, pts.y]
    cand = xy[np.random.default_rng(42).choice(len(xy), 1500, replace=False)]
    cover = coverage_matrix(xy, cand, 5000.0)
    result = maximal_covering(cover, w, 30)
    assert result.optimal and result.gap == 0.0
    assert result.objective == BENCHMARK_OPTIMUM
    assert result.bound == pytest.approx(BENCHMARK_OPTIMUM, abs=1.0)
    assert len(set(result.selected)) == 30
    assert w[cover[:, result.selected].toarray().any(axis=1)].sum() == BENCHMARK_OPTIMUM
    assert maximal_covering(cover, w, 30).selected == result.selected
