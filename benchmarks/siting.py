"""MCLP siting benchmark: ours (coverage.siting) vs PySAL spopt on the same instance.

    python benchmarks/siting.py [--repeat 5] [--spopt-repeat 5]

Instance: all 7,701 villages (bundled boundaries, representative points, TWD97) weighted by
2021-03 village population (../shared/data/population/village_population_agegroups_2021-03.csv),
1,500 candidate sites = villages drawn with numpy seed 42, p = 30, radius 5 km. spopt builds
its model from the full distance matrix and solves through PuLP with CBC and with HiGHS.
Prints a markdown table; exits non-zero if the objectives differ.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
POP = ROOT.parent / "shared" / "data" / "population" / "village_population_agegroups_2021-03.csv"


def instance():
    import numpy as np
    import pandas as pd

    from coverage.geography import load_villages

    v = load_villages().to_crs("EPSG:3826")
    pop = pd.read_csv(POP, dtype=str)
    pop["villcode"] = pop["村里代碼"].str.replace("-", "")
    w = v["villcode"].map(pop.set_index("villcode")["人口"].astype(int)).fillna(0).to_numpy(dtype=float)
    pts = v.geometry.representative_point()
    xy = np.c_[pts.x, pts.y]
    cand = np.random.default_rng(42).choice(len(xy), 1500, replace=False)
    return xy, xy[cand], w


def fmt(s: list[float]) -> str:
    return f"{statistics.median(s):.2f} s (min {min(s):.2f}, max {max(s):.2f}, n={len(s)})"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--spopt-repeat", type=int, default=5)
    args = parser.parse_args()
    lines, ok = run(args.repeat, args.spopt_repeat)
    print("\n".join(lines))
    return 0 if ok else 1


def run(repeat: int, spopt_repeat: int) -> tuple[list[str], bool]:
    """Markdown lines of the comparison, and whether all objectives agree."""
    if not POP.exists():
        return [f"skipped: {POP} not found (needs ../shared/data)"], True
    from coverage.siting import coverage_matrix, maximal_covering

    demand, cand, w = instance()
    ours, ours_obj, matrix = [], set(), []
    for _ in range(repeat):
        t0 = time.perf_counter()
        cover = coverage_matrix(demand, cand, 5000.0)
        matrix.append(time.perf_counter() - t0)
        r = maximal_covering(cover, w, 30)
        ours.append(time.perf_counter() - t0)
        ours_obj.add(r.objective)
        assert r.optimal, r
    rows = [("ours: coverage.siting.maximal_covering (HiGHS via highspy), incl. coverage matrix", ours,
             sorted(ours_obj)),
            (f"of which the coverage matrix (k-d tree, sparse; {cover.nnz:,} pairs): "
             f"{100 * statistics.median(matrix) / statistics.median(ours):.0f}% of ours", matrix, [])]
    peers = {}
    if spopt_repeat:
        import pulp
        import spopt.locate as locate
        from scipy.spatial.distance import cdist

        for name, make in (("CBC", lambda: pulp.PULP_CBC_CMD(msg=False)), ("HiGHS", lambda: pulp.HiGHS(msg=False))):
            times, objs = [], set()
            for _ in range(spopt_repeat):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    t0 = time.perf_counter()
                    m = locate.MCLP.from_cost_matrix(cdist(demand, cand), w, service_radius=5000.0, p_facilities=30)
                    m = m.solve(make())
                    times.append(time.perf_counter() - t0)
                objs.add(round(pulp.value(m.problem.objective), 3))
            peers[name] = times
            rows.append((f"PySAL spopt MCLP via PuLP + {name}, incl. cost matrix",
                         times, sorted(objs)))
    lines = ["| what | time | objective (people covered) | ratio |", "|---|---|---|---|"]
    base = statistics.median(ours)
    for what, times, objs in rows:
        ratio = "1×" if times is ours else "-" if times is matrix else (
            f"{statistics.median(times) / base:.1f}× slower than ours")
        lines.append(f"| {what} | {fmt(times)} | {', '.join(f'{o:,.0f}' for o in objs)} | {ratio} |")
    all_objs = {round(o) for _, _, objs in rows for o in objs}
    if len(all_objs) != 1:
        lines.append(f"**objectives differ: {sorted(all_objs)}**")
    return lines, len(all_objs) == 1


if __name__ == "__main__":
    raise SystemExit(main())
