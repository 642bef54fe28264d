"""2SFCA / Gaussian E2SFCA benchmark: ours (coverage.access) vs PySAL access on the same instance.

    python benchmarks/fca.py [--repeat 5] [--access-repeat 5]

(Named fca.py, not access.py, so that it never shadows PySAL's ``access`` package.)

Instance: all 7,701 villages (bundled boundaries, representative points, TWD97 TM2) weighted by
2021-03 village population (../shared/data/population/village_population_agegroups_2021-03.csv,
read with coverage.population.read_population), 2,000 facilities of capacity 1 = village points
drawn with numpy seed 42, catchment 20 km; E2SFCA with the Gaussian of Dai (2010).

Two like-for-like comparisons:

* from coordinates — ours: k-d tree pairs + sparse products; access: ``Access`` on point
  GeoDataFrames + its own ``create_euclidean_distance(threshold=20 km)`` + the method;
* on a given cost table — every village–facility pair within 20 km (built with a k-d tree, not
  timed); ours: the sparse products; access: ``Access(...)`` + the method.

Median of N runs after one warm-up; prints a markdown table and the largest difference of the
results (facilities per 10,000 people); exits non-zero above 1e-9.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
POP = ROOT.parent / "shared" / "data" / "population" / "village_population_agegroups_2021-03.csv"
N_FACILITIES, CATCHMENT_M = 2000, 20_000.0


def instance():
    import numpy as np

    from coverage.geography import load_villages
    from coverage.population import read_population

    villages = load_villages()
    pop = read_population(POP).villages.set_index("villcode")["total"]
    w = villages["villcode"].map(pop).fillna(0).to_numpy(dtype=float)
    pts = villages.geometry.to_crs("EPSG:3826").representative_point()
    xy = np.c_[pts.x, pts.y]
    fac = xy[np.random.default_rng(42).choice(len(xy), N_FACILITIES, replace=False)]
    return xy, fac, w, np.ones(N_FACILITIES)


def timed(fn, repeat: int) -> tuple[list[float], object]:
    out = fn()  # warm-up (imports, caches)
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        samples.append(time.perf_counter() - t0)
    return samples, out


def fmt(s: list[float]) -> str:
    return f"{statistics.median(s) * 1000:.1f} ms (min {min(s) * 1000:.1f}, max {max(s) * 1000:.1f}, n={len(s)})"


def run(repeat: int, access_repeat: int) -> tuple[list[str], bool]:
    """Markdown lines of the comparison, and whether the results agree within 1e-9 per 10,000."""
    if not POP.exists():
        return [f"skipped: {POP} not found (needs ../shared/data)"], True
    import numpy as np
    import pandas as pd

    from coverage.access import catchment_pairs, dai_gaussian_weight, floating_catchment, two_step_fca

    xy, fac, pop, cap = instance()
    i, j, d = catchment_pairs(xy, fac, CATCHMENT_M)
    cost = pd.DataFrame({"origin": i.astype(np.int64), "dest": j.astype(np.int64), "cost": d})
    demand = pd.DataFrame({"geoid": np.arange(len(xy)), "pop": pop})
    supply = pd.DataFrame({"geoid": np.arange(len(fac)), "cap": cap})
    dai = dai_gaussian_weight(CATCHMENT_M)
    lines = [
        f"Instance: {len(xy):,} villages (2021-03 population {pop.sum():,.0f}) × {len(fac):,} facilities, "
        f"{CATCHMENT_M / 1000:g} km catchment, {len(d):,} village–facility pairs in reach.",
        "",
        "| method | input | ours | PySAL access | access ÷ ours | max abs diff per 10,000 |",
        "|---|---|---|---|---|---|",
    ]
    ok = True
    med = statistics.median
    for method in ("2sfca", "e2sfca"):
        ours_xy, a_xy = timed(lambda m=method: floating_catchment(xy, fac, pop, cap, CATCHMENT_M, method=m), repeat)
        weight = 1.0 if method == "2sfca" else None

        def core(w=weight):
            return two_step_fca(i, j, dai(d) if w is None else w, pop, cap)

        ours_cost, a_cost = timed(core, repeat)
        ok &= float(np.max(np.abs(a_cost - a_xy)) * 1e4) <= 1e-9
        rows = [("from coordinates", ours_xy, a_xy, lambda m=method: _access_points(xy, fac, pop, cap, m)),
                ("cost table given", ours_cost, a_cost, lambda m=method: _access(demand, supply, cost, m))]
        for label, ours, a_ours, theirs_fn in rows:
            if not access_repeat:
                lines.append(f"| {method.upper()} | {label} | {fmt(ours)} | (skipped) | - | - |")
                continue
            theirs, a_theirs = timed(theirs_fn, access_repeat)
            diff = float(np.nanmax(np.abs(a_ours - a_theirs)) * 1e4)
            ok &= diff <= 1e-9
            lines.append(f"| {method.upper()} | {label} | {fmt(ours)} | {fmt(theirs)} | "
                         f"{med(theirs) / med(ours):.1f}× | {diff:.1e} |")
    return lines, ok


def _dai_scalar(x: float) -> float:
    """Dai (2010) Gaussian as the plain-Python scalar function access applies row by row (its fastest form)."""
    import math

    floor = math.exp(-0.5)
    return (math.exp(-0.5 * (x / CATCHMENT_M) ** 2) - floor) / (1.0 - floor) if x <= CATCHMENT_M else 0.0


def _run_access(method, n, **frames):
    import access
    logging.getLogger("access").setLevel(logging.WARNING)  # access logs "Overwriting …" at INFO on its own handler
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # access 1.1 uses pandas APIs pandas 3 deprecates
        model = access.Access(demand_index="geoid", demand_value="pop", supply_index="geoid", supply_value="cap",
                              **frames)
        if "cost_df" not in frames:
            model.create_euclidean_distance(name="cost", threshold=CATCHMENT_M)
        if method == "2sfca":
            out = model.two_stage_fca(name="a", max_cost=CATCHMENT_M)
        else:
            out = model.enhanced_two_stage_fca(name="a", max_cost=CATCHMENT_M, weight_fn=_dai_scalar)
    import numpy as np

    return out["a_cap"].reindex(np.arange(n)).fillna(0.0).to_numpy()


def _access(demand, supply, cost, method):
    """access on a given cost table."""
    return _run_access(method, len(demand), demand_df=demand.copy(), supply_df=supply.copy(), cost_df=cost.copy(),
                       cost_origin="origin", cost_dest="dest", cost_name="cost")


def _access_points(xy, fac, pop, cap, method):
    """access from points: its own Euclidean distances (create_euclidean_distance), then the method."""
    import geopandas as gpd
    import numpy as np

    demand = gpd.GeoDataFrame({"geoid": np.arange(len(xy)), "pop": pop},
                              geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:3826")
    supply = gpd.GeoDataFrame({"geoid": np.arange(len(fac)), "cap": cap},
                              geometry=gpd.points_from_xy(fac[:, 0], fac[:, 1]), crs="EPSG:3826")
    return _run_access(method, len(xy), demand_df=demand, supply_df=supply)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--access-repeat", type=int, default=5, help="0 skips PySAL access")
    args = parser.parse_args()
    lines, ok = run(args.repeat, args.access_repeat)
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
