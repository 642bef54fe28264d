"""numpydoc sections on every exported function (issue 14).

Every function named in ``coverage.__all__`` or in a module's ``__all__`` has a numpydoc docstring
(GL08) that documents each of its parameters (PR01) and no parameter it does not take (PR02), and a
Returns section when it returns a value (RT01) or a Yields section when it is a generator (YD01),
as checked by ``numpydoc.validate``. A function is checked once, under the module that defines it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from numpydoc import validate as numpydoc_validate  # the test extra; missing, this file errors rather than skips

# Modules whose exported functions still miss sections. Shrink this list as modules are completed:
# with xfail_strict, a module listed here that has become complete fails until it is removed.
XFAIL_MODULES: set[str] = set()

#: numpydoc.validate codes this test enforces (the others are style: summary punctuation, See Also, …).
CHECKS = {"GL08", "PR01", "PR02", "RT01", "YD01"}

def _modules() -> list[str]:
    import coverage

    names = ["coverage"]
    names += [m.name for m in pkgutil.walk_packages(coverage.__path__, "coverage.")]
    return sorted(names)


def _commands() -> set[object]:
    """The command-line commands: their parameters are options, documented by ``help=`` and ``--help``."""
    from coverage.cli import COMMANDS

    return {inspect.unwrap(command) for _, command in COMMANDS}


def _exported_functions() -> dict[str, list[str]]:
    """Defining module → dotted paths of the exported functions it defines (commands excepted)."""
    found: dict[str, set[str]] = {}
    commands = _commands()
    for name in _modules():
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", ()):
            obj = getattr(module, attr)
            func = inspect.unwrap(obj) if callable(obj) else obj
            if not inspect.isfunction(func) or not func.__module__.startswith("coverage") or func in commands:
                continue
            found.setdefault(func.__module__, set()).add(f"{func.__module__}.{func.__qualname__}")
    return {m: sorted(paths) for m, paths in sorted(found.items())}


EXPORTED = _exported_functions()


def problems(path: str) -> list[str]:
    """The enforced numpydoc findings for one object, as ``path: CODE message`` lines."""
    result = numpydoc_validate.validate(path)
    return [f"{path}: {code} {message}" for code, message in result["errors"] if code in CHECKS]


@pytest.mark.parametrize(
    "module",
    [pytest.param(m, marks=pytest.mark.xfail(reason="numpydoc sections still missing")) if m in XFAIL_MODULES
     else m for m in EXPORTED],
)
def test_exported_functions_have_numpydoc_sections(module):
    found = [line for path in EXPORTED[module] for line in problems(path)]
    assert not found, "\n".join(found)


def test_the_check_covers_the_package():
    # the public entry points are among the checked functions, so the walk over __all__ reached them
    checked = {p for paths in EXPORTED.values() for p in paths}
    for path in ("coverage.facilities.read_facilities", "coverage.population.read_population",
                 "coverage.geography.locate_points", "coverage.measure.township_coverage"):
        assert path in checked
    assert len(checked) > 150


def test_xfail_list_names_modules_that_export_functions():
    # a module renamed or moved (e.g. into a package) must leave this list, or its entry hides nothing
    assert not XFAIL_MODULES - set(EXPORTED), sorted(XFAIL_MODULES - set(EXPORTED))


def _documented(count: int, *, label: str = "x") -> list[str]:
    """Repeat a label.

    Parameters
    ----------
    count : int
        How many times.
    label : str
        What is repeated.

    Returns
    -------
    list of str
        ``count`` copies of ``label``.
    """
    return [label] * count


def _undocumented(count, label="x"):
    """Repeat a label."""
    return [label] * count


def _stale(count):
    """Repeat a label.

    Parameters
    ----------
    count : int
        How many times.
    label : str
        A parameter that is gone.

    Yields
    ------
    str
        The label.
    """
    yield from ["x"] * count


def _generator(count):
    """Repeat a label.

    Parameters
    ----------
    count : int
        How many times.
    """
    yield from ["x"] * count


def test_the_check_finds_missing_sections():
    here = __name__
    assert problems(f"{here}._documented") == []
    assert {line.split()[1] for line in problems(f"{here}._undocumented")} == {"PR01", "RT01"}
    assert {line.split()[1] for line in problems(f"{here}._stale")} == {"PR02"}
    assert {line.split()[1] for line in problems(f"{here}._generator")} == {"YD01"}
