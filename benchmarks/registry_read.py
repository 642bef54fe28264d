"""Reading a large registry CSV: ``read_facilities`` against ``pandas.read_csv`` of the same file.

The file is the bundled registry (``geodata/registry.csv``, 213 rows) repeated to ``--rows`` rows
with Chinese headers, ROC dates (``112/07/01``) and coordinates jittered by up to ~100 m, as an
exported national registry looks. Each measurement runs in a fresh Python process (so one run's
memory never inflates another's) and reports its wall time and its peak resident memory
(``VmHWM``); the baseline is the process after imports (and, for ours, loading the townships)::

    python benchmarks/registry_read.py --rows 100000      # while developing
    python benchmarks/registry_read.py                    # 1,000,000 rows (issue 16)
    python benchmarks/registry_read.py --rows 100000 --profile   # cProfile of read_facilities, top 25
    python benchmarks/registry_read.py --stages          # read_facilities' peak memory step by step
    python benchmarks/registry_read.py --stages --trace  # the same, with tracemalloc's Python objects (slower)

Runs, each ``--repeat`` times (the minimum wall time is reported, with its CPU seconds — ``time.process_time`` of
the child, steadier than wall time on a loaded machine — and both ratios to ``pandas.read_csv``):

* ``bytes``: reading the file's bytes and decoding them (the physical floor of any reader);
* ``pandas.read_csv``: ``pandas.read_csv(path, dtype=str)`` (the peer of issue 16);
* ``read_table``: our raw reader (every cell a clean string, damaged lines found);
* ``read_facilities``: reading, validation and location of every row.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

HEADER = ["類別", "名稱", "縣市", "鄉鎮市區", "地址", "經度", "緯度", "狀態", "啟用日期", "結束日期", "服務區域",
          "資料來源", "精確度"]

_CHILD = textwrap.dedent("""
    import json, sys, time

    def peak_mb():
        with open("/proc/self/status") as fh:
            return next(int(l.split()[1]) for l in fh if l.startswith("VmHWM:")) / 1024

    what, path = sys.argv[1], sys.argv[2]
    import pandas as pd
    if what in ("read_table", "read_facilities"):
        from coverage.facilities import read_facilities
        from coverage.geography import load_townships
        from coverage.tabular import read_table
        towns = load_townships()
    base = peak_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    if what == "bytes":
        rows, outcome = open(path, "rb").read().decode("utf-8").count("\\n") - 1, "decoded"
    elif what == "pandas.read_csv":
        rows, outcome = len(pd.read_csv(path, dtype=str)), "read"
    elif what == "read_table":
        rows, outcome = len(read_table(path)), "read"
    else:
        reg = read_facilities(path, townships=towns)
        rows = reg.rows_read
        assert reg.rows_read == reg.accepted + reg.rejected_rows
        outcome = f"{reg.accepted:,} accepted, {reg.rejected_rows:,} rejected"
    print(json.dumps({"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0,
                      "peak_mb": peak_mb(), "base_mb": base,
                      "rows": rows, "outcome": outcome}))
""")


def _roc(day: int) -> str:
    """An ROC date ``yyy/mm/dd`` (day 0 = 2000-01-01, ROC 89)."""
    import datetime as dt

    d = dt.date(2000, 1, 1) + dt.timedelta(days=day)
    return f"{d.year - 1911}/{d.month:02d}/{d.day:02d}"


def write_registry(path: Path, rows: int, seed: int = 16) -> Path:
    """``rows`` rows of the bundled registry, repeated with jittered coordinates and ROC dates."""
    rng = random.Random(seed)
    with open(REPO / "geodata" / "registry.csv", encoding="utf-8", newline="") as fh:
        seed_rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    dates = [_roc(d) for d in range(0, 8000, 4)]  # 2,000 distinct opening dates
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(HEADER)
        for i in range(rows):
            r = seed_rows[i % len(seed_rows)]
            lon = float(r["lon"]) + rng.uniform(-0.0008, 0.0008) if r["lon"] else ""
            lat = float(r["lat"]) + rng.uniform(-0.0008, 0.0008) if r["lat"] else ""
            out.writerow([
                r["category"], f"{r['name']}{i // len(seed_rows) or ''}", r["county"], r["township"], r["address"],
                f"{lon:.6f}" if lon != "" else "", f"{lat:.6f}" if lat != "" else "", r["status"],
                rng.choice(dates), "", r["serves"], r["source"], r["precision"],
            ])
    return path


def measure(what: str, path: Path) -> dict:
    """One run in a fresh process: wall time and peak resident memory."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", _CHILD, what, str(path)], capture_output=True, text=True,
                          cwd=REPO, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def profile(path: Path, top: int = 25) -> None:
    """cProfile of ``read_facilities`` on ``path``: the ``top`` functions by cumulative and own time."""
    import cProfile
    import pstats

    sys.path.insert(0, str(REPO))
    from coverage.facilities import read_facilities
    from coverage.geography import load_townships

    towns = load_townships()
    prof = cProfile.Profile()
    prof.enable()
    read_facilities(path, townships=towns)
    prof.disable()
    stats = pstats.Stats(prof)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


_STAGES = textwrap.dedent("""
    import json, sys, time, tracemalloc
    import geopandas
    import coverage.facilities as F
    from coverage.geography import load_townships

    def status(key):
        with open("/proc/self/status") as fh:
            return next(int(l.split()[1]) for l in fh if l.startswith(key)) / 1024

    def reset_peak():
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")

    trace, steps, depth = sys.argv[2] == "trace", [], [0]

    def measured(name, func):
        def run(*args, **kwargs):
            if depth[0]:  # called by another measured step (the checks make points too): part of it
                return func(*args, **kwargs)
            reset_peak()
            c0 = time.process_time()
            depth[0] += 1
            try:
                out = func(*args, **kwargs)
            finally:
                depth[0] -= 1
            step = {"step": name, "cpu": time.process_time() - c0, "peak_mb": status("VmHWM:"),
                    "after_mb": status("VmRSS:")}
            if trace:
                now, top = tracemalloc.get_traced_memory()
                step.update(py_mb=now / 2**20, py_peak_mb=top / 2**20)
                tracemalloc.reset_peak()
            steps.append(step)
            reset_peak()
            return out
        return run

    for name, attr in (("read the files (read_registry_tables)", "read_registry_tables"),
                       ("Categoricals (categorical_columns)", "categorical_columns"),
                       ("checks (check_rows)", "check_rows"), ("output table (facility_frame)", "facility_frame")):
        setattr(F, attr, measured(name, getattr(F, attr)))
    geopandas.points_from_xy = measured("points (points_from_xy)", geopandas.points_from_xy)
    towns = load_townships()
    base = status("VmRSS:")
    if trace:
        tracemalloc.start()
    reset_peak()
    c0 = time.process_time()
    reg = F.read_facilities(sys.argv[1], townships=towns)
    steps.append({"step": "whole read_facilities", "cpu": time.process_time() - c0, "peak_mb": max(
        [s["peak_mb"] for s in steps] + [status("VmHWM:")]), "after_mb": status("VmRSS:")})
    print(json.dumps({"base_mb": base, "steps": steps, "rows": reg.rows_read}))
""")


def stages(path: Path, trace: bool = False) -> None:
    """Print ``read_facilities``' steps at ``path``: CPU seconds, the peak resident memory of each step (``VmHWM``
    reset at its start), the resident memory after it, and with ``trace`` the Python objects alive (tracemalloc)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", _STAGES, str(path), "trace" if trace else "-"], capture_output=True,
                          text=True, cwd=REPO, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"stages failed:\n{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"baseline (imports + townships) {result['base_mb']:,.0f} MB; {result['rows']:,} rows\n")
    extra = " | Python objects after MB | Python peak MB" if trace else ""
    print(f"| step | CPU s | peak RSS MB | RSS after MB{extra} |")
    print("|---|---:|---:|---:|" + "---:|" * (2 * trace))
    for s in result["steps"]:
        more = f" | {s['py_mb']:,.0f} | {s['py_peak_mb']:,.0f}" if "py_mb" in s else (" | - | -" if trace else "")
        print(f"| {s['step']} | {s['cpu']:.1f} | {s['peak_mb']:,.0f} | {s['after_mb']:,.0f}{more} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="cProfile read_facilities instead of timing")
    parser.add_argument("--stages", action="store_true", help="peak memory of each step of read_facilities")
    parser.add_argument("--trace", action="store_true", help="with --stages: tracemalloc's Python objects too")
    parser.add_argument("--runs", default="bytes,pandas.read_csv,read_table,read_facilities")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="safetynet-registry-") as tmp:
        path = write_registry(Path(tmp) / "registry.csv", args.rows)
        if args.profile:
            profile(path)
            return
        if args.stages:
            print(f"load average {os.getloadavg()[0]:.2f} before")
            stages(path, args.trace)
            print(f"\nload average {os.getloadavg()[0]:.2f} after")
            return
        size = path.stat().st_size / 2**20
        load = os.getloadavg()[0]
        print(f"{args.rows:,} rows, {size:,.0f} MB; load average {load:.2f} before the runs\n")
        print("| run | outcome | wall s (min of n) | × read_csv wall | CPU s | × read_csv CPU | peak RSS MB "
              "| over baseline MB |")
        print("|---|---|---:|---:|---:|---:|---:|---:|")
        peer: dict | None = None
        for what in args.runs.split(","):
            results = [measure(what, path) for _ in range(args.repeat)]
            best = min(results, key=lambda r: r["seconds"])
            peer = best if what == "pandas.read_csv" else peer
            ratio = f"{best['seconds'] / peer['seconds']:.1f}" if peer else "-"
            cpu_ratio = f"{best['cpu'] / peer['cpu']:.1f}" if peer else "-"
            print(f"| `{what}` | {best['rows']:,} rows {best['outcome']} | {best['seconds']:.2f} (n={args.repeat}) | "
                  f"{ratio} | {best['cpu']:.2f} | {cpu_ratio} | {best['peak_mb']:,.0f} | "
                  f"{best['peak_mb'] - best['base_mb']:,.0f} |", flush=True)
        print(f"\nload average {os.getloadavg()[0]:.2f} after the runs")


if __name__ == "__main__":
    main()
