"""The package is this repository's `coverage`, never coverage.py."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import coverage

REPO = Path(__file__).resolve().parents[1]


def test_import_coverage_resolves_to_this_repo():
    assert Path(coverage.__file__).resolve() == REPO / "coverage" / "__init__.py"
    spec = importlib.util.find_spec("coverage")
    assert spec is not None and Path(spec.origin).resolve().is_relative_to(REPO)
    # coverage.py has these; this package must not be mistaken for it
    assert not hasattr(coverage, "Coverage")


def test_coverage_py_is_not_installed():
    out = subprocess.run([sys.executable, "-m", "pip", "show", "coverage"], capture_output=True, text=True)
    assert out.returncode != 0, "coverage.py is installed in the project environment; it shadows this package"


def test_public_api_is_lazy_and_complete():
    for name in coverage.__all__:
        assert getattr(coverage, name) is not None
    assert coverage.__version__ != "0+unknown"


def test_unknown_attribute_is_an_attribute_error():
    try:
        coverage.no_such_function  # noqa: B018
    except AttributeError as exc:
        assert "no_such_function" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_cli_import_does_not_load_geopandas():
    code = "import sys, coverage.cli; print('geopandas' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.split() == ["False", "False"]
