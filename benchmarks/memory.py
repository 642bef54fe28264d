"""Peak memory and wall time of reading very large (and absurd) registries.

Generates the inputs into a temporary directory, runs each measurement in a fresh Python
process (so one run's memory never inflates another's), and prints a markdown table::

    python benchmarks/memory.py              # 1,000,000 rows, 100 MB, 10 M rows and 2 GB refused
    python benchmarks/memory.py --rows 200000 --mb 20   # quicker

Columns: the input, what was run (``read_table``: the raw reader; ``read_facilities``: reading
plus validation and location of every row), rows kept, wall time, the process's peak resident
memory (``VmHWM``, the process's own high-water mark) and the peak minus the baseline after
imports and loading the townships.
The 2 GB file is sparse (``os.truncate``), so nothing near 2 GB is written to disk; the 10 M
row file is 10 million short lines (about 20 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_CHILD = textwrap.dedent("""
    import json, resource, sys, time
    from coverage.errors import CoverageError
    from coverage.facilities import read_facilities
    from coverage.geography import load_townships
    from coverage.tabular import read_table

    def peak_mb():
        # VmHWM: this process image's own peak. ru_maxrss would carry over the peak of the parent
        # it was forked from (Linux keeps it across exec), e.g. the benchmark harness's.
        try:
            with open("/proc/self/status") as fh:
                return next(int(l.split()[1]) for l in fh if l.startswith("VmHWM:")) / 1024
        except (OSError, StopIteration):
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    towns = load_townships()
    base = peak_mb()
    t0 = time.perf_counter()
    try:
        if sys.argv[1] == "read_table":
            rows, outcome = len(read_table(sys.argv[2])), "read"
        else:
            reg = read_facilities(sys.argv[2], townships=towns)
            rows = len(reg.facilities)
            outcome = f"{rows:,} accepted, {reg.rejected['row'].nunique():,} rejected"
    except CoverageError as exc:
        rows, outcome = 0, "refused: " + str(exc).split(": ", 1)[1].split(";")[0]
    print(json.dumps({"seconds": time.perf_counter() - t0, "peak_mb": peak_mb(), "base_mb": base,
                      "rows": rows, "outcome": outcome}))
""")


def _townships() -> tuple[list[str], list[float], list[float]]:
    sys.path.insert(0, str(REPO))
    from coverage.geography import load_townships

    towns = load_townships()
    rep = towns.set_index("towncode").geometry.representative_point()
    return (towns["county"] + towns["township"]).tolist(), rep.x.tolist(), rep.y.tolist()


def write_rows(path: Path, rows: int, *, note: str = "") -> Path:
    """A registry of ``rows`` points spread over the 368 townships (coordinates, dates, caseloads)."""
    names, xs, ys = _townships()
    cats = ["小衛星", "社福中心", "會所", "心衛中心"]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("類別,名稱,鄉鎮市區,經度,緯度,啟用日期,個案數,備註\n")
        for i in range(rows):
            k = i % len(names)
            fh.write(f"{cats[i % 4]},據點{i},{names[k]},{xs[k]:.6f},{ys[k]:.6f},112/07/01,{i % 50},{note}\n")
    return path


def write_megabytes(path: Path, mb: float) -> Path:
    """A registry of about ``mb`` MB: rows with a long remark, as exported registries often have."""
    note = "服務時間週一至週五上午九點至下午五點，另有夜間及假日預約服務" * 3
    per_row = len(f"小衛星,據點000000,嘉義縣阿里山鄉,120.000000,23.000000,112/07/01,10,{note}\n".encode())
    return write_rows(path, int(mb * 2**20 / per_row), note=note)


def write_many_lines(path: Path, lines: int) -> Path:
    """A header and ``lines`` short lines: an absurd row count in a small file."""
    with open(path, "wb") as fh:
        fh.write("類別,名稱,鄉鎮市區\n".encode())
        block = b"x\n" * 1_000_000
        for _ in range(lines // 1_000_000):
            fh.write(block)
        fh.write(b"x\n" * (lines % 1_000_000))
    return path


def write_sparse(path: Path, size: int) -> Path:
    """A valid header, then a hole up to ``size`` bytes (no disk blocks written)."""
    path.write_bytes("類別,名稱,鄉鎮市區\n小衛星,甲,嘉義縣竹崎鄉\n".encode())
    os.truncate(path, size)
    return path


def measure(what: str, path: Path, env: dict[str, str] | None = None) -> dict:
    """Run one read in a fresh process; its wall time and peak RSS."""
    proc = subprocess.run([sys.executable, "-c", _CHILD, what, str(path)], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, **(env or {})}, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} {path.name} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(*, quick: bool = False, rows: int = 1_000_000, mb: float = 100.0, absurd_rows: int = 10_000_000,
        absurd_gb: float = 2.0) -> list[str]:
    """Markdown lines: time and peak memory of reading large registries; refusal of absurd ones."""
    if quick:
        rows, mb, absurd_rows, absurd_gb = 20_000, 2.0, 2_100_000, 0.6
    lines = ["Each read in a fresh process; baseline = the process after imports and loading the townships. "
             "Limits at their defaults (`SAFETYNET_MAX_ROWS` 2,000,000 lines, `SAFETYNET_MAX_FILE_MB` 512).", "",
             "| input | file MB | run | outcome | wall s | peak RSS MB | over baseline MB |",
             "|---|---:|---|---|---:|---:|---:|"]
    with tempfile.TemporaryDirectory(prefix="safetynet-memory-") as tmp:
        d = Path(tmp)
        inputs = [
            (f"{rows:,} rows", write_rows(d / "rows.csv", rows), ("read_table", "read_facilities")),
            (f"{mb:g} MB", write_megabytes(d / "big.csv", mb), ("read_table", "read_facilities")),
            (f"{absurd_rows:,} rows", write_many_lines(d / "lines.csv", absurd_rows), ("read_facilities",)),
            (f"{absurd_gb:g} GB (sparse)", write_sparse(d / "sparse.csv", int(absurd_gb * 2**30)),
             ("read_facilities",)),
        ]
        for label, path, runs in inputs:
            size = path.stat().st_size / 2**20
            for what in runs:
                r = measure(what, path)
                lines.append(f"| {label} | {size:,.0f} | `{what}` | {r['outcome']} | {r['seconds']:.1f} | "
                             f"{r['peak_mb']:,.0f} | {r['peak_mb'] - r['base_mb']:,.0f} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the large registry")
    parser.add_argument("--mb", type=float, default=100.0, help="size of the large-file registry")
    parser.add_argument("--absurd-rows", type=int, default=10_000_000, help="rows of the refused file")
    parser.add_argument("--absurd-gb", type=float, default=2.0, help="size of the refused sparse file")
    args = parser.parse_args(argv)
    print(f"Python {sys.version.split()[0]}\n")
    print("\n".join(run(rows=args.rows, mb=args.mb, absurd_rows=args.absurd_rows, absurd_gb=args.absurd_gb)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
