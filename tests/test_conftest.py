"""The gates of tests/conftest.py: a missing dependency skips with its reason locally and fails under CI=true.

Run on a copy of conftest.py in a scratch repository where ../shared/data does not exist."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent

GATED = '''
def test_needs_shared_data(shared_data):
    assert shared_data.is_dir()
'''


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("gate") / "repo"
    (repo / "tests").mkdir(parents=True)
    shutil.copy(HERE / "conftest.py", repo / "tests" / "conftest.py")
    (repo / "tests" / "__init__.py").write_text("", encoding="utf-8")
    (repo / "tests" / "test_gated.py").write_text(GATED, encoding="utf-8")
    assert not (repo.parent / "shared" / "data").exists()
    return repo


def _run(repo: Path, ci: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-rs", "-p", "no:cacheprovider", "--rootdir", str(repo),
                           "-c", os.devnull, "tests"], capture_output=True, text=True, cwd=repo, env=env, timeout=300)


@pytest.mark.parametrize("ci", [None, "false"])
def test_missing_shared_data_skips_with_its_reason_locally(scratch, ci):
    run = _run(scratch, ci)
    assert run.returncode == 0, run.stdout[-2000:]
    assert "1 skipped" in run.stdout and "real population/terrain/registry data not available" in run.stdout


@pytest.mark.parametrize("ci", ["true", "1"])
def test_missing_shared_data_fails_in_ci(scratch, ci):
    run = _run(scratch, ci)
    assert run.returncode == 1, run.stdout[-2000:]
    assert "1 error" in run.stdout and " skipped" not in run.stdout.splitlines()[-1]
    assert "real population/terrain/registry data not available" in run.stdout and "CI=true" in run.stdout


def test_tests_build_caches_in_a_folder_of_their_own():
    """No test writes road graphs or grids into the user's cache: the whole run has its own folder."""
    from pathlib import Path

    from coverage.datasets import cache_dir

    assert cache_dir() != Path.home() / ".cache" / "safetynet-coverage"
    assert cache_dir().name.startswith("safetynet-test-cache-") and cache_dir().is_dir()
