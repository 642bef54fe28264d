"""MCLP siting benchmark: ours (coverage.siting) vs PySAL spopt on the same instance.

    python benchmarks/siting.py [--repeat 5] [--spopt-repeat 5]

Instance: all 7,701 villages (bundled boundaries, representative points, TWD97) weighted by
2021-03 village population (../shared/data/population/village_population_agegroups_2021-03.csv),
1,500 candidate sites = villages drawn with numpy seed 42, p = 30, radius 5 km. spopt builds
its model from the full distance matrix and solves through PuLP with CBC and with HiGHS.
Prints a markdown table (wall and CPU = user + sys, child processes such as CBC included, with
the 1-minute load average at the start of each row); exits non-zero if the objectives differ.
Two reference rows: the coverage matrix alone, and one LP relaxation of the reduced instance
(the physical limit of an LP-based exact method: every such method solves it at least once).
Each spopt run is split in two rows: building the PuLP model in Python, and the solver run; the
versions of spopt, PuLP and highspy are printed above the table.
"""

from __future__ import annotations

import argparse
import os
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


def cpu() -> float:
    """CPU seconds (user + sys) of this process and of its finished children (CBC runs as one)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def load() -> float:
    return os.getloadavg()[0]


def lp_limit(cover, w, p: int) -> tuple[float, float]:
    """Wall and CPU seconds of the exact reductions plus one LP relaxation (HiGHS IPM, as ours) of the instance.

    Measures the solver's internals, so it uses coverage.siting's private helpers (a benchmark, not the package).
    """
    from coverage.siting import _highs, _mclp_model, _reduce

    t0, c0 = time.perf_counter(), cpu()
    red, rw, fixed, _ = _reduce(cover, w, p)
    _highs(**_mclp_model(red, rw, fixed, p, integer=False), time_limit=600, options={"solver": "ipm"})
    return time.perf_counter() - t0, cpu() - c0


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
    ours, ours_cpu, ours_obj, matrix, matrix_cpu, loads = [], [], set(), [], [], {}
    loads["ours"] = load()
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), cpu()
        cover = coverage_matrix(demand, cand, 5000.0)
        matrix.append(time.perf_counter() - t0)
        matrix_cpu.append(cpu() - c0)
        r = maximal_covering(cover, w, 30)
        ours.append(time.perf_counter() - t0)
        ours_cpu.append(cpu() - c0)
        ours_obj.add(r.objective)
        assert r.optimal and r.gap == 0.0, r
    loads["limit"] = load()
    limit = [lp_limit(cover, w, 30) for _ in range(repeat)]
    share = 100 * statistics.median(matrix) / statistics.median(ours)
    part_of: dict[int, tuple[list[float], list[float]]] = {}  # a spopt share's samples -> its whole run's
    rows = [("ours: coverage.siting.maximal_covering (HiGHS via highspy), incl. coverage matrix", ours, ours_cpu,
             sorted(ours_obj), loads["ours"]),
            (f"of which the coverage matrix (k-d tree, sparse; {cover.nnz:,} pairs): {share:.0f}% of ours",
             matrix, matrix_cpu, [], loads["ours"]),
            ("limit: exact reductions + one LP relaxation (HiGHS IPM) of the reduced instance",
             [t for t, _ in limit], [c for _, c in limit], [], loads["limit"])]
    if spopt_repeat:
        import pulp
        import spopt.locate as locate
        from scipy.spatial.distance import cdist

        for name, make in (("CBC", lambda: pulp.PULP_CBC_CMD(msg=False)), ("HiGHS", lambda: pulp.HiGHS(msg=False))):
            times, cpus, objs, start_load = [], [], set(), load()
            build, build_cpu = [], []
            for _ in range(spopt_repeat):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    t0, c0 = time.perf_counter(), cpu()
                    m = locate.MCLP.from_cost_matrix(cdist(demand, cand), w, service_radius=5000.0, p_facilities=30)
                    build.append(time.perf_counter() - t0)
                    build_cpu.append(cpu() - c0)
                    m = m.solve(make())
                    times.append(time.perf_counter() - t0)
                    cpus.append(cpu() - c0)
                objs.add(round(pulp.value(m.problem.objective), 3))
            rows.append((f"PySAL spopt MCLP via PuLP + {name}, incl. cost matrix", times, cpus, sorted(objs),
                         start_load))
            solve = [t - b for t, b in zip(times, build, strict=True)]
            solve_cpu = [c - b for c, b in zip(cpus, build_cpu, strict=True)]
            part_of[id(build)] = part_of[id(solve)] = (times, cpus)
            rows.append(("of which building the PuLP model in Python (`MCLP.from_cost_matrix`, cdist included)",
                         build, build_cpu, [], start_load))
            rows.append((f"of which the solver run ({name} as PuLP calls it: CBC on an MPS file, HiGHS by highspy)",
                         solve, solve_cpu, [], start_load))
    lines = ["| what | wall | CPU (user+sys) | load | objective (people covered) | ratio (wall; CPU) |",
             "|---|---|---|---|---|---|"]
    if spopt_repeat:
        import importlib.metadata as metadata

        versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("spopt", "PuLP", "highspy"))
        cbc = pulp.PULP_CBC_CMD().path
        lines.insert(0, f"Versions: {versions}; CBC binary {cbc} (PuLP's bundled CBC, run with its default "
                        "of one thread: PuLP passes no `threads`). Ours: HiGHS with threads=1.\n")
    base, base_cpu = statistics.median(ours), statistics.median(ours_cpu)
    for what, times, cpus, objs, at in rows:
        if times is ours:
            ratio = "1×"
        elif id(times) in part_of:  # a share of a spopt run
            whole, whole_cpu = part_of[id(times)]
            ratio = (f"{100 * statistics.median(times) / statistics.median(whole):.0f}% of that spopt run; "
                     f"{100 * statistics.median(cpus) / statistics.median(whole_cpu):.0f}% of its CPU")
        elif objs:
            ratio = (f"{statistics.median(times) / base:.1f}× slower than ours; "
                     f"{statistics.median(cpus) / base_cpu:.1f}×")
        else:
            ratio = (f"{100 * statistics.median(times) / base:.0f}% of ours; "
                     f"{100 * statistics.median(cpus) / base_cpu:.0f}%")
        lines.append(f"| {what} | {fmt(times)} | {fmt(cpus)} | {at:.1f} | {', '.join(f'{o:,.0f}' for o in objs)} "
                     f"| {ratio} |")
    rows = [(what, times, objs) for what, times, _, objs, _ in rows]
    all_objs = {round(o) for _, _, objs in rows for o in objs}
    if len(all_objs) != 1:
        lines.append(f"**objectives differ: {sorted(all_objs)}**")
    return lines, len(all_objs) == 1


if __name__ == "__main__":
    raise SystemExit(main())
