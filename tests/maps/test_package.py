"""The coverage.maps package itself: its assets, its lazy exports, its one-way imports.

The page script is a real file (assets/coverage.js) that JavaScript tools parse (``node --check``
here; ESLint in ``make lint``); the package imports run one way with no circle, not even inside a
function, and no module imports another's private name.
"""

from __future__ import annotations

import ast
import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import coverage.maps
from coverage.errors import CoverageError
from coverage.maps import asset_text
from tests.conftest import require

PACKAGE = Path(coverage.maps.__file__).parent
REPO = PACKAGE.parents[1]
ASSETS = ("coverage.js", "coverage.css", "index.css")


def test_assets_are_package_files():
    for name in ASSETS:
        text = asset_text(name)
        assert text == (PACKAGE / "assets" / name).read_text(encoding="utf-8") and text.strip()


def test_missing_asset_names_what_the_package_has():
    with pytest.raises(CoverageError, match=r"'nope\.js' is missing .*coverage\.css, coverage\.js, index\.css"):
        asset_text("nope.js")


@pytest.mark.parametrize("name", ASSETS)
def test_assets_hold_no_template_delimiters(name):
    """folium renders the page's script and style once more as a Jinja template: an asset with ``{{``,
    ``{%`` or ``{#`` would be changed (or evaluated) on its way into the page."""
    text = asset_text(name)
    for delimiter in ("{{", "{%", "{#"):
        assert delimiter not in text, (name, delimiter)


@pytest.mark.parametrize(("name", "element"), [("coverage.js", "script"), ("coverage.css", "style"),
                                             ("index.css", "style")])
def test_assets_cannot_end_their_element(name, element):
    """The script and style are inlined in the page: ``</script`` (``</style``) or ``<!--`` in them would end
    or bend the element."""
    text = asset_text(name).lower()
    assert f"</{element}" not in text and "<!--" not in text and "<script" not in text


def test_page_script_parses_with_node(tmp_path):
    """``node --check`` parses coverage.js (syntax only; ESLint in `make lint-js` checks more)."""
    node = shutil.which("node")
    require(node is not None, "node is not installed: the page script cannot be parsed")
    result = subprocess.run([node, "--check", str(PACKAGE / "assets" / "coverage.js")], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
    # the check can fail: a syntax error is reported
    broken = tmp_path / "broken.js"
    broken.write_text(asset_text("coverage.js").replace("function safetynetDraw(map, D, tiles) {",
                                                        "function safetynetDraw(map, D, tiles) {{", 1),
                      encoding="utf-8")
    assert subprocess.run([node, "--check", str(broken)], capture_output=True, check=False).returncode != 0


def test_page_script_defines_only_its_entry_point():
    """coverage.js declares one global, ``safetynetDraw``, which the page calls (and sets window.safetynet)."""
    node = shutil.which("node")
    require(node is not None, "node is not installed: the page script cannot be run")
    code = ("const vm = require('vm'); const ctx = {}; vm.createContext(ctx);"
            f"vm.runInContext(require('fs').readFileSync({str(PACKAGE / 'assets' / 'coverage.js')!r}, 'utf8'), ctx);"
            "console.log(JSON.stringify(Object.keys(ctx)), typeof ctx.safetynetDraw, ctx.safetynetDraw.length);")
    out = subprocess.run([node, "-e", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ['["safetynetDraw"]', "function", "3"]


def test_exports_match_the_modules():
    """Every public name of every module is reachable from coverage.maps, and nothing else."""
    names = set()
    for module in coverage.maps._MODULES:
        sub = importlib.import_module(f"coverage.maps.{module}")
        assert sorted(sub.__all__) == sorted(coverage.maps._EXPORTS[module]), module
        for name in sub.__all__:
            assert getattr(coverage.maps, name) is getattr(sub, name)
        names |= set(sub.__all__)
    assert set(coverage.maps.__all__) == names
    with pytest.raises(AttributeError, match="no_such_name"):
        coverage.maps.no_such_name  # noqa: B018


def test_package_import_is_lazy():
    """``import coverage.maps`` (and reading a name) loads neither folium, pandas nor matplotlib."""
    code = ("import sys, coverage.maps; from coverage.maps import render_map, esc; "
            "print(*(m in sys.modules for m in ('folium', 'pandas', 'matplotlib', 'geopandas')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.stdout.split() == ["False"] * 4


def _imports(path: Path) -> list[tuple[str, str, int]]:
    """(imported module, name, line) of every import in ``path``, at any depth (functions included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = "coverage.maps" if path.parent.name == "maps" else "coverage"
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found += [(module, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, "", node.lineno) for alias in node.names]
    return found


def test_imports_run_one_way():
    """No import circle inside coverage.maps, module- or function-level; none back into the command line."""
    graph = {}
    for path in sorted(PACKAGE.glob("*.py")):
        me = "coverage.maps" if path.stem == "__init__" else f"coverage.maps.{path.stem}"
        deps = set()
        for module, name, _line in _imports(path):
            assert not module.startswith("coverage.cli"), (me, module)
            if module.startswith("coverage.maps.") or (module == "coverage.maps" and name):
                deps.add(module if module != "coverage.maps" else f"coverage.maps.{name}")
        graph[me] = deps - {me}
    assert len(graph) >= 7
    order: list[str] = []
    visiting: set[str] = set()

    def visit(node: str, path: tuple[str, ...]) -> None:
        assert node not in visiting, f"import circle: {' -> '.join((*path, node))}"
        if node in order:
            return
        visiting.add(node)
        for dep in sorted(graph.get(node, ())):
            visit(dep, (*path, node))
        visiting.discard(node)
        order.append(node)

    for node in graph:
        visit(node, ())
    # the leaves import nothing of the package
    assert graph["coverage.maps.escape"] == set() and graph["coverage.maps.schema"] == set()


def test_no_private_name_crosses_a_module():
    """No module of coverage.maps imports a ``_name`` of another module, with one isolated exception:
    payload.py falls back on ``coverage.measure._rate`` until ``coverage.measure.rate`` exists."""
    allowed = {("coverage.maps.payload", "coverage.measure", "_rate")}
    found = set()
    for path in sorted(PACKAGE.glob("*.py")):
        me = f"coverage.maps.{path.stem}"
        for module, name, line in _imports(path):
            if module.startswith("coverage") and name.startswith("_") and not name.startswith("__"):
                found.add((me, module, name))
                assert (me, module, name) in allowed, f"{path.name}:{line} imports {module}.{name}"
    assert found <= allowed
