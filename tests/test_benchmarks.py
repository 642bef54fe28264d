"""CI runs a quick smoke version of the benchmark harness (no timings are asserted, only that it works)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_quick_harness_writes_every_section(tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "run.py"), "--quick", "--no-peers", "--out",
                          str(out)], capture_output=True, text=True, cwd=tmp_path, timeout=1800)
    assert run.returncode == 0, run.stderr[-3000:]
    text = out.read_text(encoding="utf-8")
    for heading in ("## Core", "## Locating points", "## 2SFCA", "## Siting", "## Maps", "## Map page load",
                    "## Large and absurd registries", "## Profile"):
        assert heading in text, heading
    assert "`safetynet --help` wall time" in text
    assert "| ours: coverage.siting.maximal_covering" in text  # the siting instance was solved
    assert "**results differ" not in text and "**problems" not in text
