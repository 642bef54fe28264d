"""The package is this repository's `coverage`, never coverage.py."""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


HEAVY = ("geopandas", "shapely", "pandas", "numpy", "pyproj", "pyogrio", "folium", "matplotlib", "scipy",
         "rasterio", "openpyxl", "typer")
_IMPORTED = ("import sys, json, {module}; print(json.dumps(sorted(m for m in sys.modules "
             "if m.split('.')[0] in {heavy} or m.startswith('coverage.'))))")


def heavy_imports(module: str, path: Path = REPO) -> list[str]:
    """Heavy third-party modules and coverage submodules loaded by ``import module`` in a fresh interpreter
    with ``path`` first on sys.path."""
    code = _IMPORTED.format(module=module, heavy=set(HEAVY))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=path, check=True,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(path)})
    return json.loads(out.stdout)


def lazy_api_problems(package) -> list[str]:
    """What is wrong with ``package``'s lazy public API: names in ``__all__`` that do not resolve, or resolve to
    something other than the public name of the module the lazy table names; ``__all__``, ``dir()`` and the table
    disagreeing. Empty when all is well."""
    table = vars(package)["_EXPORTS"]  # the lazy table: public name -> submodule
    problems = []
    if list(package.__all__) != ["__version__", *table]:
        odd = sorted(set(package.__all__) ^ {"__version__", *table})
        problems.append(f"__all__ is not __version__ + the lazy table: {odd}")
    if dir(package) != sorted(package.__all__):
        problems.append(f"dir() differs from __all__: {sorted(set(dir(package)) ^ set(package.__all__))}")
    if len(set(package.__all__)) != len(package.__all__):
        problems.append("__all__ has duplicates")
    for name in package.__all__:
        if name == "__version__":
            continue
        if name.startswith("_"):
            problems.append(f"{name}: a private name in __all__")
            continue
        try:
            value = getattr(package, name)
        except (AttributeError, ImportError) as exc:
            problems.append(f"{name}: does not resolve ({type(exc).__name__}: {exc})")
            continue
        module = importlib.import_module(f"{package.__name__}.{table[name]}")
        if name not in getattr(module, "__all__", ()):
            problems.append(f"{name}: not in {module.__name__}.__all__")
        if getattr(module, name, None) is not value:
            problems.append(f"{name}: is not {module.__name__}.{name}")
    return problems


def test_public_api_is_complete():
    """Every name of coverage.__all__ resolves to the public name of the submodule its lazy table names, and
    __all__ == ["__version__", *table] and dir(coverage) == sorted(__all__).

    Proved able to fail: ``test_lazy_api_checks_can_fail`` runs the same checks on broken copies of the package
    (a table entry naming the wrong module, a name missing from the table, ``dir`` hiding a name)."""
    assert lazy_api_problems(coverage) == []
    assert coverage.__version__ != "0+unknown"
    assert re.fullmatch(r"\d+(\.\d+)*\S*", coverage.__version__)


def test_import_coverage_is_lazy():
    """``import coverage`` (and resolving its version) loads none of the heavy libraries: each public function's
    module is imported on first use only. Proved able to fail: see ``test_lazy_api_checks_can_fail``."""
    assert heavy_imports("coverage") == []
    # the lazy table really defers: resolving a name imports its module then, not before
    assert "coverage.measure" in heavy_imports("coverage; coverage.county_coverage")


def _broken_copy(tmp_path: Path, edit) -> Path:
    """A copy of the package whose ``__init__.py`` is passed through ``edit`` (the submodules are the real ones)."""
    root = tmp_path / "pkg"
    shutil.copytree(REPO / "coverage", root / "coverage", ignore=shutil.ignore_patterns("__pycache__"))
    init = root / "coverage" / "__init__.py"
    init.write_text(edit(init.read_text(encoding="utf-8")), encoding="utf-8")
    return root


def _import_copy(root: Path):
    """Import the copied package under its own name without touching ``sys.modules['coverage']``."""
    spec = importlib.util.spec_from_file_location("coverage_copy", root / "coverage" / "__init__.py",
                                                  submodule_search_locations=[str(root / "coverage")])
    module = importlib.util.module_from_spec(spec)
    sys.modules["coverage_copy"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["coverage_copy"]
        raise
    return module


@pytest.mark.parametrize("breakage", ["eager pandas", "wrong module", "module's private import", "not in the table",
                                      "dir hides a name", "private name"])
def test_lazy_api_checks_can_fail(tmp_path, breakage):
    """The two checks above on deliberately broken copies of coverage/__init__.py: each breakage is caught."""
    edits = {
        "eager pandas": lambda s: s + "\nimport pandas  # noqa\n",
        "wrong module": lambda s: s.replace('"load_townships": "geography"', '"load_townships": "measure"'),
        "module's private import": lambda s: s.replace('"get_path": "datasets"', '"get_path": "geography"'),
        "not in the table": lambda s: s.replace('__all__ = ["__version__", *_EXPORTS]',
                                                '__all__ = ["__version__", *_EXPORTS, "no_such_function"]'),
        "dir hides a name": lambda s: s.replace("return sorted(__all__)", "return sorted(__all__)[1:]"),
        "private name": lambda s: s.replace('"load_townships": "geography"',
                                            '"load_townships": "geography", "_read_reference": "geography"'),
    }
    expected = {"wrong module": "load_townships: does not resolve",
                "module's private import": "get_path: not in coverage_copy.geography.__all__",
                "not in the table": "__all__ is not __version__ + the lazy table: ['no_such_function']",
                "dir hides a name": "dir() differs from __all__",
                "private name": "_read_reference: a private name in __all__"}
    root = _broken_copy(tmp_path, edits[breakage])
    assert (root / "coverage" / "__init__.py").read_text(encoding="utf-8") != (
        REPO / "coverage" / "__init__.py").read_text(encoding="utf-8"), "the edit no longer applies: update it"
    if breakage == "eager pandas":
        assert "pandas" in heavy_imports("coverage", root)
        return
    try:
        problems = lazy_api_problems(_import_copy(root))
    finally:
        for name in [m for m in sys.modules if m == "coverage_copy" or m.startswith("coverage_copy.")]:
            del sys.modules[name]
    assert any(p.startswith(expected[breakage]) for p in problems), problems


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


_HELP = """import sys
sys.argv = ["safetynet", *{argv!r}]
{prelude}
from coverage.cli import main
try:
    main()
except SystemExit:
    pass
print("@@", sorted(m for m in ("rich.markdown", "rich.traceback", "markdown_it", "pygments", "attr")
                   if m in sys.modules))
"""


def _help(argv: list[str], prelude: str = "") -> tuple[str, list[str]]:
    env = {**__import__("os").environ, "COLUMNS": "100", "TERM": "dumb"}
    out = subprocess.run([sys.executable, "-c", _HELP.format(argv=argv, prelude=prelude)], capture_output=True,
                         text=True, cwd=REPO, check=True, env=env)
    text, _, loaded = out.stdout.rpartition("@@ ")
    return text + out.stderr, eval(loaded)  # a list literal printed just above


@pytest.mark.parametrize("argv", [["-v", "--help"], ["report", "--help"], ["site", "--help"], ["report", "--bogus"]])
def test_help_is_the_same_without_markdown_and_traceback(argv):
    """typer's rich help formatter is imported without rich.markdown/rich.traceback (issue 16 start-up), and prints
    byte for byte what it prints when imported the ordinary way. (``safetynet --help`` alone does not import it:
    ``tests/test_cli_startup.py``; ``-v --help`` is the root help through typer.)"""
    text, loaded = _help(argv)
    ordinary, loaded_ordinarily = _help(argv, prelude="import typer.rich_utils")
    assert loaded == []
    assert "rich.markdown" in loaded_ordinarily  # the comparison is with the full formatter
    assert text == ordinary
    assert "safetynet" in text


def test_deferred_help_classes_are_the_real_ones_when_used():
    """After the light import, rich.markdown is the real module again, and the formatter's stand-ins build
    real objects (Markdown help text, pretty tracebacks) when a caller uses them."""
    code = ("import sys; from coverage.cli import import_help_formatter; import_help_formatter(); "
            "import typer.rich_utils as ru; assert 'rich.markdown' not in sys.modules; "
            "import rich.markdown, rich.traceback; "
            "m = ru.Markdown('*x*'); assert type(m) is rich.markdown.Markdown, type(m)\n"
            "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n"
            "    tb = ru.Traceback.from_exception(type(e), e, e.__traceback__)\n"
            "    assert type(tb) is rich.traceback.Traceback\n"
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False)
    assert out.stdout.strip() == "ok", out.stderr
