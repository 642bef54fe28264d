"""One vocabulary (coverage.vocabulary), public shared helpers, parameter-named library errors.

The label tables of every module are the vocabulary's own objects; the vocabulary imports nothing
from the package; no module imports another's private name; library errors name parameters.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pandas as pd
import pytest

import coverage
from coverage import vocabulary as v
from coverage.errors import InputError

PACKAGE = Path(coverage.__file__).parent
_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py")


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


# --- the vocabulary -----------------------------------------------------------------------------------

def test_vocabulary_is_a_leaf():
    """It imports nothing from the package, at module or function level."""
    imports = [n for n in ast.walk(_tree(PACKAGE / "vocabulary.py")) if isinstance(n, ast.ImportFrom)]
    assert imports and all(n.level == 0 and n.module in ("__future__", "collections.abc") for n in imports)


def test_every_module_uses_the_vocabulary_tables_themselves():
    from coverage import completeness, facilities, geography, programmes, workbook
    from coverage.maps import payload, population

    assert programmes.PROGRAMMES is v.PROGRAMME_LABELS is facilities.CATEGORIES
    assert programmes.SHORT_LABELS is v.PROGRAMME_SHORT_LABELS
    assert geography.FLAG_LABELS is v.FLAG_LABELS
    assert workbook.ZH_HEADERS is v.COLUMN_LABELS
    assert workbook.BOOLEAN_LABELS is v.BOOLEAN_LABELS and workbook.MEASURE_LABELS is v.MEASURE_LABELS
    assert completeness.DATA_LABELS is v.DATA_LABELS
    assert population.age_label("children") == v.AGE_GROUP_LABELS["children"]
    assert payload.definition_label("service-area") == v.DEFINITION_LABELS["service-area"]


def test_no_second_table_of_programme_or_flag_labels():
    """A dict literal mapping programme (or flag) keys to zh-TW text exists only in the vocabulary."""
    keys = set(v.PROGRAMME_LABELS) | set(v.COMPUTED_FLAG_LABELS) | set(v.FLAG_LABELS) | set(v.DATA_LABELS)
    cjk = re.compile(r"[\u3400-\u9fff]")
    found = []
    for path in _modules():
        if path.name == "vocabulary.py":
            continue
        for node in ast.walk(_tree(path)):
            if not isinstance(node, ast.Dict):
                continue
            pairs = [(k.value, val.value) for k, val in zip(node.keys, node.values, strict=True)
                     if isinstance(k, ast.Constant) and isinstance(val, ast.Constant)
                     and isinstance(val.value, str) and cjk.search(val.value)]
            if len([k for k, _ in pairs if k in keys]) >= 2:
                found.append(f"{path.name}:{node.lineno}")
    assert found == []


def test_age_group_wordings_are_the_documented_two():
    from coverage.population import AGE_GROUPS

    assert {g: label for g, (_lo, _hi, label) in AGE_GROUPS.items()} == v.AGE_GROUP_TEXT
    differ = {g for g in v.AGE_GROUP_LABELS if v.AGE_GROUP_LABELS[g] != v.AGE_GROUP_TEXT[g]}
    assert differ == {"total"}  # 總人口 on the maps, 全部人口 all ages in text (module docstring)
    assert "總人口" in v.__doc__ and "全部人口 all ages" in v.__doc__


def test_column_labels_carry_the_flag_labels():
    for key, label in v.FLAG_LABELS.items():
        assert v.COLUMN_LABELS[key] == label
    assert v.COLUMN_LABELS["remote"] == "偏遠(計算)" and v.COLUMN_LABELS["mountain"] == "山區(計算)"


def test_priority_reasons_word_flags_and_gaps_from_the_vocabulary():
    """The reasons of priorities.csv: ``未設點 no facility in the township`` and ``偏遠 remote``."""
    from coverage.priority import _reasons

    row = next(pd.DataFrame([{
        "covered": False, "people_affected": 1200.0, "mean_km": 12.5, "distance": 12.5, "max_km": 20.0,
        "nearest_name": "甲", "mean_across_sea_km": float("nan"), "county_has_any": True,
        "remote": True, "mountain": True, "island": False, "coastal": True, "boost": 2.25}]).itertuples())
    text = _reasons(row, v.AGE_GROUP_TEXT["total"], 5.0, "DEM", False)
    assert text.startswith("未設點 no facility in the township: 1,200 全部人口 all ages live 12.5 km on average")
    assert "偏遠 remote、山區 mountain (DEM)、沿海 coastal → ×2.25" in text
    far = row._replace(covered=True)
    assert _reasons(far, "兒少 0–17歲", 5.0, "DEM", False).startswith("遠離服務 far from service: 1,200 兒少 0–17歲")


def test_bilingual():
    assert v.bilingual(v.COMPUTED_FLAG_LABELS, "island") == "離島 island"
    assert v.bilingual(v.COMPUTED_FLAG_LABELS, "unknown") == "unknown"


# --- public helpers, no private imports ----------------------------------------------------------------

def test_no_private_name_imported_across_modules():
    found = set()
    for path in _modules():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom) and node.level >= 1:
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        found.add((path.name, node.module, alias.name))
    assert not found, sorted(found)


def test_report_fields_are_read_as_attributes():
    """CoverageReport always has its fields: no getattr(report, "…", default)."""
    pattern = re.compile(r"getattr\((report|result|report\.registry), \"")
    assert [p.name for p in _modules() if pattern.search(p.read_text(encoding="utf-8"))] == []


# --- library errors name parameters ----------------------------------------------------------------

# Modules other engineers own whose errors still name a command-line flag (reported to the lead).
_KNOWN_FLAG_ERRORS: set[str] = set()


def _raised_texts(path: Path) -> list[str]:
    out = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Raise) and node.exc is not None:
            out += [c.value for c in ast.walk(node.exc) if isinstance(c, ast.Constant) and isinstance(c.value, str)]
    return out


def test_library_errors_name_parameters_not_flags():
    offenders = {p.name for p in _modules()
                 if "cli" not in p.relative_to(PACKAGE).parts and any(_FLAG.search(t) for t in _raised_texts(p))}
    assert offenders <= _KNOWN_FLAG_ERRORS, offenders - _KNOWN_FLAG_ERRORS


@pytest.mark.parametrize(("call", "parameter"), [
    (lambda: __import__("coverage.pipeline").pipeline.check_options(definition="nearby", suppress_below=3),
     "definition="),
    (lambda: __import__("coverage.pipeline").pipeline.resolve_categories(["  "]), "categories="),
    (lambda: __import__("coverage.coordinates").coordinates.check_xy_datum("WGS84"), "xy_datum="),
    (lambda: __import__("coverage.privacy").privacy.check_threshold("-2"), "suppress_below="),
])
def test_errors_say_which_parameter(call, parameter):
    with pytest.raises(InputError) as info:
        call()
    assert str(info.value).startswith(parameter) and not _FLAG.search(str(info.value))


def test_whatif_remove_error_names_the_parameter(toy_townships):
    import geopandas as gpd
    from shapely.geometry import Point

    from coverage.plan import apply_scenario

    fac = gpd.GeoDataFrame({"name": ["甲站"], "category": ["x"]}, geometry=[Point(500, 500)], crs="EPSG:3826")
    with pytest.raises(InputError, match=r"^remove= '乙站': no facility has this name"):
        apply_scenario(fac, toy_townships, remove=["乙站"])
