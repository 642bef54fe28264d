"""Start-up of the command line (issue 16: ``safetynet --help`` ≤ 0.2 s).

    python benchmarks/startup.py [--repeat 10] [--baseline DIR]

Runs, in turn (interleaved, so that a change of load hits all alike), each ``--repeat`` times in a fresh
interpreter: ``safetynet --help`` and ``safetynet report --help`` of this checkout — as the console script
runs them, ``python -c "import sys; sys.argv=['safetynet', …]; from coverage.cli import main; main()"`` —,
the same through typer's own help formatter (the path of every other command line), plain click help
(``TYPER_USE_RICH=0``), and the floors ``python -c pass`` and importing rich's console. With
``--baseline DIR`` (e.g. ``git archive 468c467 coverage | tar -x -C DIR``: before this work) also that
checkout's ``safetynet --help`` and ``safetynet report --help``. Wall time (best and median) and CPU time
(user + system of the child, ``getrusage``) are printed as a markdown table for BENCHMARKS.md, with the
load average before and after. The package's modules are byte-compiled first (``PYTHONDONTWRITEBYTECODE=1``
is set on the project machine; an installed wheel is compiled), so that every run measures imports, not
compiling.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MAIN = "import sys; sys.argv = ['safetynet', *{argv!r}]; from coverage.cli import main; main()"
TYPER = ("import sys; sys.argv = ['safetynet', *{argv!r}]; from coverage.cli import app, import_help_formatter; "
         "from coverage.cli.exits import run_main; import_help_formatter(); run_main(app)")


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (5 min {five:.2f}) on {os.cpu_count()} cores"


def run_once(code: str, checkout: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of ``python -c code`` with ``checkout`` first on the path."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], cwd=checkout, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(checkout), **env})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 2):
        raise SystemExit(f"{code!r} exited {done.returncode}")
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def cases(baseline: Path | None) -> list[tuple[str, str, Path, dict[str, str]]]:
    """(label, code, checkout, extra environment) of every command timed."""
    out = [
        ("`safetynet --help` (this checkout)", MAIN.format(argv=["--help"]), ROOT, {}),
        ("`safetynet --help` through typer's help (commands still lazy)", TYPER.format(argv=["--help"]), ROOT, {}),
        ("`safetynet report --help` (this checkout)", MAIN.format(argv=["report", "--help"]), ROOT, {}),
        ("plain click help: `TYPER_USE_RICH=0 safetynet --help`", MAIN.format(argv=["--help"]), ROOT,
         {"TYPER_USE_RICH": "0"}),
        ("floor: `python -c \"import rich.console, rich.table, rich.panel\"`",
         "import rich.console, rich.table, rich.panel", ROOT, {}),
        ("floor: `python -c pass`", "pass", ROOT, {}),
    ]
    if baseline is not None:
        out.insert(1, (f"`safetynet --help` (baseline {baseline.name})", MAIN.format(argv=["--help"]), baseline, {}))
        out.insert(4, (f"`safetynet report --help` (baseline {baseline.name})", MAIN.format(argv=["report", "--help"]),
                       baseline, {}))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--baseline", type=Path, help="another checkout (its coverage/ package), timed in turn")
    args = parser.parse_args()
    todo = cases(args.baseline)
    for checkout in {c for _, _, c, _ in todo}:
        compileall.compile_dir(checkout / "coverage", quiet=1)
    for _label, code, checkout, env in todo:  # one warm-up each (file cache)
        run_once(code, checkout, env)
    print(f"Before: {load()}; {args.repeat} runs each, interleaved; python {sys.version.split()[0]}\n")
    times: dict[str, list[tuple[float, float]]] = {label: [] for label, *_ in todo}
    for _ in range(args.repeat):
        for label, code, checkout, env in todo:
            times[label].append(run_once(code, checkout, env))
    reference = min(c for _, c in times[todo[1][0]])
    print(f"CPU ratio: best CPU ÷ best CPU of {todo[1][0]}\n")
    print("| command | wall best | wall median | CPU best | CPU median | CPU ratio |")
    print("|---|---|---|---|---|---|")
    for label, samples in times.items():
        walls, cpus = [w for w, _ in samples], [c for _, c in samples]
        print(f"| {label} | {min(walls):.3f} s | {statistics.median(walls):.3f} s | {min(cpus):.3f} s | "
              f"{statistics.median(cpus):.3f} s | {min(cpus) / reference:.2f} |")
    print(f"\nAfter: {load()}")


if __name__ == "__main__":
    main()
