"""Page-load timing of the offline maps in headless Debian chromium.

    python benchmarks/pageload.py [--repeat 5]

The maps are written by ``safetynet map --offline --as-of 2024-01-01`` (township level, then
``--level village``) into a temporary directory. Each page is opened ``repeat`` times, every time
in a fresh browser context (no shared cache), after one unmeasured warm-up load. Chromium is
launched with the flags of the browser tests (``tests/test_browser.py``) and every request that
is not a local file is blocked, as in the tests. Times are from navigation start (the page's
``performance.timeOrigin``):

* DOMContentLoaded: the page is parsed and its inline script has drawn the map;
* load: the load event has finished (``PerformanceNavigationTiming.loadEventEnd``);
* idle: Playwright's ``networkidle`` was reached (no request for 500 ms; chromium signals it
  no earlier than the load event), read as the page's ``performance.now()``. The maps make no
  request after their four ``lib/`` files, so idle is about max(load, last file + 500 ms).

Prints a markdown table; :func:`run` returns its lines. Without Playwright or chromium it
returns a one-line note instead.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
AS_OF = "2024-01-01"
#: (label, level, file) of the pages timed.
PAGES = [
    ("national, township", "township", "taiwan.html"),
    ("national, village", "village", "taiwan.html"),
    ("嘉義縣, township", "township", "嘉義縣.html"),
    ("嘉義縣, village", "village", "嘉義縣.html"),
]
_TIMES = """() => {
    const nav = performance.getEntriesByType("navigation")[0];
    return [nav.domContentLoadedEventEnd, nav.loadEventEnd, performance.now()];
}"""


def _browser_setup() -> tuple[str | None, list[str]]:
    """Chromium path and launch flags, the same as the browser tests'."""
    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

    return CHROMIUM, CHROMIUM_ARGS


def write_maps(out: Path) -> dict[str, Path]:
    """Write the offline maps of both levels with the CLI; level → directory."""
    dirs = {}
    for level in ("township", "village"):
        dirs[level] = out / level
        cmd = [str(BIN / "safetynet"), "map", "--offline", "--level", level, "--as-of", AS_OF,
               "--out", str(dirs[level])]
        subprocess.run(cmd, check=True, capture_output=True)
    return dirs


def load_times(browser, path: Path) -> tuple[list[float], list[str]]:
    """One load of ``path`` in a fresh context: [DOMContentLoaded, load, idle] in ms, and problems seen."""
    problems: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.on("console", lambda msg: msg.type == "error" and problems.append(f"console: {msg.text}"))
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

        def route(r) -> None:
            if r.request.url.startswith("file:"):
                r.continue_()
            else:  # networking off: nothing but local files
                problems.append(f"blocked: {r.request.url}")
                r.abort()

        page.route("**/*", route)
        page.goto(path.as_uri(), wait_until="networkidle", timeout=120_000)
        times = page.evaluate(_TIMES)
        if not page.evaluate("() => window.safetynet !== undefined && window.safetynet.active() >= 0"):
            problems.append("map not drawn")
    finally:
        context.close()
    return [float(t) for t in times], problems


def _ms(samples: list[float]) -> str:
    return f"{statistics.median(samples):,.0f} ms ({min(samples):,.0f}–{max(samples):,.0f})"


def run(repeat: int = 5) -> list[str]:
    """Markdown lines: per page the HTML size and median (min–max) times over ``repeat`` loads."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return ["skipped: Playwright for Python is not installed (pip install playwright)"]
    try:
        chromium, args = _browser_setup()
    except ImportError as exc:  # the test module needs pytest
        return [f"skipped: the browser tests' settings could not be imported ({exc})"]
    if chromium is None:
        return ["skipped: chromium is not installed (scripts/install_system_deps.sh)"]
    lines = ["| page | HTML | DOMContentLoaded | load | idle (networkidle: 500 ms without requests) | loads |",
             "|---|---|---|---|---|---|"]
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        dirs = write_maps(Path(tmp))
        browser = pw.chromium.launch(executable_path=chromium, args=args)
        try:
            for label, level, name in PAGES:
                path = dirs[level] / name
                load_times(browser, path)  # warm-up: OS file cache, chromium start-up paths
                samples = []
                for _ in range(repeat):
                    times, seen = load_times(browser, path)
                    samples.append(times)
                    problems += [f"{label}: {p}" for p in seen]
                dcl, load, idle = (list(col) for col in zip(*samples, strict=True))
                size = path.stat().st_size
                lines.append(f"| {label} (`{name}`) | {size / 1e6:.2f} MB | {_ms(dcl)} | {_ms(load)} | {_ms(idle)} "
                             f"| {repeat} |")
        finally:
            browser.close()
    version = _chromium_version(chromium)
    lines += ["", f"Median (min–max) from navigation start; headless {version}, each load in a fresh context, "
              f"non-local requests blocked; maps from `safetynet map --offline [--level village] --as-of {AS_OF}`."]
    if problems:
        lines.append(f"**problems: {'; '.join(sorted(set(problems)))}**")
    return lines


def _chromium_version(chromium: str) -> str:
    try:
        out = subprocess.run([chromium, "--version"], check=True, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return "chromium"
    return out.stdout.strip() or "chromium"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="loads per page (default 5)")
    args = parser.parse_args()
    lines = run(args.repeat)
    print("\n".join(lines))
    return 1 if any(line.startswith("**problems") for line in lines) else 0


if __name__ == "__main__":
    raise SystemExit(main())
