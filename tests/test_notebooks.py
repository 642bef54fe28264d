"""The tutorial notebooks: committed without outputs, on the python3 kernel, using the public API only.

``make notebooks`` (also run by ``make test``) executes them with nbmake and fails on any error;
these checks are part of the normal test suite.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import sys
from pathlib import Path

import pytest

import coverage

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
EXPECTED = {"01-coverage-quickstart.ipynb", "02-population-access.ipynb", "03-planning.ipynb", "04-brief.ipynb"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _cells(path: Path, kind: str | None = None) -> list[dict]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [c for c in cells if kind is None or c["cell_type"] == kind]


def _source(cell: dict) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def _public_module(name: str):
    """``coverage.<name>`` if it is a public module (declares ``__all__``), else None."""
    if name.startswith("_"):
        return None
    try:
        module = importlib.import_module(f"coverage.{name}")
    except ImportError:
        return None
    return module if hasattr(module, "__all__") else None


def _check_module_name(module: str, name: str) -> str | None:
    """Why ``module.name`` (module is ``coverage`` or a submodule) is not allowed, or None."""
    if module == "coverage":
        if name in coverage.__all__ or _public_module(name) is not None:
            return None
        return f"coverage.{name} is not public (not in coverage.__all__)"
    sub = _public_module(module.removeprefix("coverage."))
    if sub is None:
        return f"{module} is not a public module"
    if name in coverage.__all__:
        return f"{module}.{name} is exported: use coverage.{name}"
    if name not in sub.__all__:
        return f"{module}.{name} is not public (not in {module}.__all__)"
    return None


def private_uses(source: str) -> list[str]:
    """Non-public uses of the package in code: private names, unexported module members."""
    code = "\n".join("pass" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    problems = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "coverage" and len(parts) > 1:
                    problems.append(_check_module_name("coverage", parts[1]) or "")
                    if len(parts) > 2:
                        problems.append(f"import {alias.name}: modules below coverage.<module> are not public")
        elif isinstance(node, ast.ImportFrom):
            if node.level or not node.module or node.module.split(".")[0] != "coverage":
                continue
            problems.extend(_check_module_name(node.module, alias.name) or "" for alias in node.names)
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("_") and not (node.attr.startswith("__") and node.attr.endswith("__")):
                problems.append(f"private attribute .{node.attr}")
            elif isinstance(node.value, ast.Name) and node.value.id == "coverage":
                problems.append(_check_module_name("coverage", node.attr) or "")
            elif (isinstance(node.value, ast.Attribute) and isinstance(node.value.value, ast.Name)
                  and node.value.value.id == "coverage" and _public_module(node.value.attr) is not None):
                problems.append(_check_module_name(f"coverage.{node.value.attr}", node.attr) or "")
    return [p for p in problems if p]


def test_the_notebooks_are_there_and_numbered():
    assert {p.name for p in NOTEBOOKS} >= EXPECTED
    for path in NOTEBOOKS:
        assert re.fullmatch(r"\d{2}-[a-z0-9-]+\.ipynb", path.name), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    assert nb["metadata"]["kernelspec"]["name"] == "python3"  # nbmake runs the kernel of this name
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name} cell {i}: stored outputs; strip them"
            assert cell["execution_count"] is None, f"{path.name} cell {i}: stored execution count; strip it"
        assert not cell.get("attachments"), f"{path.name} cell {i}: attachments are not stored"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_public_api_only(path):
    problems = [f"cell {i}: {p}" for i, cell in enumerate(_cells(path)) if cell["cell_type"] == "code"
                for p in private_uses(_source(cell))]
    assert not problems, f"{path.name}: " + "; ".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_tutorial_text_in_zh_tw_and_english(path):
    cells = _cells(path)
    assert cells[0]["cell_type"] == "markdown" and _source(cells[0]).startswith("# ")
    for cell in _cells(path, "markdown"):
        text = _source(cell)
        assert CJK.search(text) and re.search(r"[A-Za-z]{4,}", text), f"{path.name}: {text[:60]!r}"
    code = "".join(_source(c) for c in _cells(path, "code"))
    if "shared" in code:  # reads the real population/terrain data: the first cell says where from
        intro = _source(cells[0])
        assert "../shared/data" in intro and "SAFETYNET_SHARED_DATA" in intro and "SAFETYNET_SHARED_DATA" in code


@pytest.mark.parametrize(("source", "problem"), [
    ("import coverage\ncoverage.run_coverage()", None),
    ("from coverage import load_townships, CATEGORIES", None),
    ("import coverage.plan\ncoverage.plan.roc_year(2023)", None),
    ("from coverage.access import two_step_fca", None),
    ("%matplotlib inline\nimport coverage", None),
    ("import coverage\ncoverage._EXPORTS", "private attribute ._EXPORTS"),
    ("from coverage.measure import _as_timestamp", "coverage.measure._as_timestamp is not public"),
    ("from coverage.plan import whatif", "coverage.plan.whatif is exported: use coverage.whatif"),
    ("import coverage\ncoverage.maps.render_map", "coverage.maps.render_map is exported"),
    ("report._private", "private attribute ._private"),
    ("import coverage._x", "coverage._x is not public"),
    ("from coverage import nope", "coverage.nope is not public"),
])
def test_private_use_checker(source, problem):
    found = private_uses(source)
    if problem is None:
        assert found == []
    else:
        assert any(problem in p for p in found), found


def test_python3_kernel_is_this_environment(import_or_skip):
    """nbmake starts the kernel named python3: it must be this interpreter, with this package."""
    kernelspec = import_or_skip("jupyter_client.kernelspec", reason="jupyter_client (test extra) not installed")
    import_or_skip("ipykernel", reason="ipykernel (test extra) not installed")
    argv = kernelspec.KernelSpecManager().get_kernel_spec("python3").argv
    # jupyter_client replaces a bare python/python3/python3.X by the running interpreter
    bare = {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info[:2])}
    assert argv[0] in bare or Path(argv[0]).resolve() == Path(sys.executable).resolve(), argv
