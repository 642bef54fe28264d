"""Programme vocabulary (coverage.programmes): accepted names, custom programmes, near misses (issue 13 item 6)."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from coverage import facilities, programmes
from coverage.errors import InputError, UnknownProgrammeError
from coverage.names import name_key
from coverage.programmes import (
    PROGRAMME_NAMES,
    PROGRAMMES,
    classify,
    custom_programmes,
    near_programme,
    programme_key,
    resolve_programme,
)

#: The names the issue lists, typed here by hand (not read from the module under test).
ISSUE_NAMES = {
    "welfare_centre": ["社福中心", "社會福利中心", "家庭福利服務中心", "社會福利服務中心", "welfare_centre",
                       "WELFARE_CENTRE", "Welfare Centre", "welfare center", "Social Welfare Centre"],
    "community_support_point": ["小衛星", "小衛星據點", "兒少據點", "兒少及家庭支持服務據點",
                                "兒少及家庭社區支持服務據點", "兒童及少年家庭社區支持服務據點",
                                "Community_Support_Point", "community support point"],
    "mental_health_centre": ["心衛中心", "心理衛生中心", "社區心衛中心", "社區心理衛生中心",
                             "mental health centre", "Mental Health Center", "MENTAL_HEALTH_CENTRE"],
    "psychiatric_collab_point": ["會所", "精障會所", "精神障礙者協作模式服務據點", "psychiatric_collab_point",
                                 "Clubhouse"],
}


@pytest.mark.parametrize(("key", "name"), [(k, n) for k, names in ISSUE_NAMES.items() for n in names])
def test_every_accepted_name_maps_to_its_programme(key, name):
    assert programme_key(name) == key
    assert resolve_programme(name) == key
    assert resolve_programme(f"  {name}\u3000") == key
    assert facilities.normalise_category(name) == key  # the old entry point, re-exported


def _fullwidth(ch: str) -> str:
    if ch == " ":
        return "\u3000"
    return chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch


@st.composite
def written_variants(draw):
    """An accepted name as people type it: random case, full-width letters, stray spaces around and inside."""
    key = draw(st.sampled_from(list(PROGRAMMES)))
    name = draw(st.sampled_from([key, PROGRAMMES[key], *PROGRAMME_NAMES[key]]))
    out = []
    for ch in name:
        if draw(st.booleans()):
            ch = ch.swapcase()
        if draw(st.integers(0, 3)) == 0:
            ch = _fullwidth(ch)
        out.append(ch)
        if draw(st.integers(0, 6)) == 0:
            out.append(draw(st.sampled_from([" ", "\u3000", "\t", "  "])))
    pad = st.text(alphabet=" \u3000\t\n", max_size=3)
    return key, draw(pad) + "".join(out) + draw(pad), name


def test_any_case_width_space_variant_maps_to_its_key():
    seen = {"n": 0, "changed": 0}

    @settings(max_examples=300, deadline=None)
    @given(written_variants())
    def check(case):
        key, written, name = case
        event(f"programme {key}")
        event("latin name" if name.isascii() else "zh-TW name")
        seen["n"] += 1
        seen["changed"] += written != name
        assert programme_key(written) == key
        cats, problems = classify([written])
        assert cats.tolist() == [key] and problems.tolist() == [None]

    check()
    assert seen["n"] >= 100 and seen["changed"] >= 50  # the examples were real, varied, and reached the asserts


def test_name_key_is_one_nfkc_key():
    assert name_key(" Welfare_Centre ") == name_key("ｗｅｌｆａｒｅ　ｃｅｎｔｒｅ") == "welfarecentre"
    assert name_key("台中") == "臺中"
    assert name_key(None) == ""


def test_custom_programme_is_kept_and_listed():
    cats, problems = classify(["少年服務方案", " 少年服務方案 ", "社福中心"])
    assert cats.tolist() == ["少年服務方案", "少年服務方案", "welfare_centre"]
    assert problems.tolist() == [None, None, None]
    assert custom_programmes(cats) == ["少年服務方案"]
    assert resolve_programme("少年服務方案", custom=["少年服務方案"]) == "少年服務方案"


@pytest.mark.parametrize(("written", "meant"), [
    ("小衛", "小衛星"), ("社福中", "社福中心"), ("心理衛生中新", "心理衛生中心"), ("精障會", "精障會所"),
    ("welfare_centr", "welfare_centre"), ("mental helth centre", "mental_health_centre"),
])
def test_near_miss_is_rejected_with_did_you_mean(written, meant):
    assert near_programme(written) == meant
    _cats, problems = classify([written])
    assert f"did you mean {meant}" in problems[0]
    with pytest.raises(UnknownProgrammeError, match=f"did you mean {meant}") as info:
        resolve_programme(written)
    assert info.value.suggestions[0] == meant
    assert isinstance(info.value, InputError)


@pytest.mark.parametrize("custom", ["少年服務方案", "身障中心", "兒少福利服務中心", "老人共餐據點", "Youth outreach"])
def test_distinct_custom_names_are_not_near_misses(custom):
    assert near_programme(custom) is None
    assert classify([custom])[1].tolist() == [None]


def test_unknown_programme_lists_suggestions():
    with pytest.raises(UnknownProgrammeError, match="programme '火星' not found") as info:
        resolve_programme("火星")
    assert info.value.name == "火星"
    assert "welfare_centre" in str(info.value)


def test_one_character_off_an_accepted_name_is_rejected_not_forked():
    reached = {"near": 0}
    cjk_names = [n for names in PROGRAMME_NAMES.values() for n in names if not n.isascii() and len(n) >= 3]

    @settings(max_examples=200, deadline=None)
    @given(st.sampled_from(cjk_names), st.integers(0, 30), st.sampled_from(["drop", "swap"]),
           st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5))
    def check(name, pos, how, ch):
        pos %= len(name)
        written = name[:pos] + name[pos + 1:] if how == "drop" else name[:pos] + ch + name[pos + 1:]
        cats, problems = classify([written])
        if programme_key(written) is not None:  # the edit gave another accepted name (社區心衛中心 → 心衛中心)
            event("edit gave an accepted name")
            assert problems[0] is None
            return
        event(f"near miss by {how}")
        reached["near"] += 1
        assert cats[0] == unicodedata.normalize("NFKC", written).strip()
        assert problems[0] is not None and "did you mean" in problems[0]

    check()
    assert reached["near"] >= 50


def registry(tmp_path, body: str):
    path = tmp_path / "reg.csv"
    path.write_text("類別,名稱,縣市,鄉鎮市區\n" + body, encoding="utf-8")
    return path


def test_read_facilities_keeps_custom_rejects_near_miss(tmp_path):
    path = registry(tmp_path, "少年服務方案,甲,嘉義縣,竹崎鄉\n小衛,乙,嘉義縣,竹崎鄉\nWelfare Centre,丙,嘉義縣,竹崎鄉\n"
                              "兒童及少年家庭社區支持服務據點,丁,嘉義縣,竹崎鄉\n")
    reg = facilities.read_facilities(path)
    assert reg.facilities["category"].tolist() == ["少年服務方案", "welfare_centre", "community_support_point"]
    rej = reg.rejected.set_index("row")
    assert rej.loc[3, "field"] == "category" and "did you mean 小衛星" in rej.loc[3, "reason"]
    assert reg.rows_read == len(reg.facilities) + reg.rejected["row"].nunique()


def test_validate_and_report_list_custom_programmes(tmp_path):
    from coverage.cli import app
    from coverage.pipeline import run_coverage
    from coverage.report import write_report

    path = registry(tmp_path, "少年服務方案,甲,嘉義縣,竹崎鄉\n社福中心,乙,嘉義縣,竹崎鄉\n")
    result = CliRunner().invoke(app, ["validate", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "少年服務方案" in result.output and "custom programmes" in result.output
    report = run_coverage([path], counties=["嘉義縣"], as_of="2024-01-01")
    write_report(report, tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["custom_categories"] == ["少年服務方案"]
    assert {r["category"] for r in summary["coverage"]} == {"少年服務方案", "welfare_centre"}


def test_labels_cover_the_four_programmes():
    assert list(programmes.SHORT_LABELS) == list(PROGRAMMES) == list(PROGRAMME_NAMES)
    assert facilities.CATEGORIES is PROGRAMMES
    # every accepted name is NFKC-stable and maps to exactly one programme
    keys = [name_key(n) for names in PROGRAMME_NAMES.values() for n in names]
    assert all(unicodedata.normalize("NFKC", k) == k for k in keys)
    owner = {}
    for key, names in PROGRAMME_NAMES.items():
        for n in (key, PROGRAMMES[key], *names):
            assert owner.setdefault(name_key(n), key) == key


def test_registry_files_with_any_category_names_balance(tmp_path_factory, townships):
    """A registry CSV whose category cells are accepted names as typed, near misses, custom names or blanks."""
    reached = {"files": 0, "near": 0, "custom": 0}
    accepted = [n for k in PROGRAMMES for n in (k, PROGRAMMES[k], *PROGRAMME_NAMES[k])]
    cell = st.one_of(
        st.sampled_from(accepted).map(lambda n: f" {n.upper()} "),
        st.sampled_from(["小衛", "社福中", "精障會", "心衛中", "welfare_centr"]),
        st.sampled_from(["少年服務方案", "身障中心", "老人共餐據點"]),
        st.just(""),
        st.text(alphabet="社福小衛星中心據點少年方案 ", min_size=1, max_size=6),
    )

    @settings(max_examples=40, deadline=None)
    @given(st.lists(cell, min_size=1, max_size=8))
    def check(cells):
        path = tmp_path_factory.mktemp("reg") / "reg.csv"
        body = "".join(f'"{c}",點{i},嘉義縣,竹崎鄉\n' for i, c in enumerate(cells))
        path.write_text("類別,名稱,縣市,鄉鎮市區\n" + body, encoding="utf-8")
        reg = facilities.read_facilities(path, townships)
        assert reg.rows_read == len(cells) == len(reg.facilities) + reg.rejected["row"].nunique()
        for written, row in zip(cells, range(2, len(cells) + 2), strict=True):
            cats, problems = classify([written])
            kept = reg.facilities.loc[reg.facilities["row"] == row, "category"].tolist()
            if problems[0] is not None:
                assert kept == [] and row in set(reg.rejected["row"])
                reached["near"] += "did you mean" in problems[0]
            elif kept:
                assert kept == [cats[0]]
                reached["custom"] += cats[0] not in PROGRAMMES
        assert set(custom_programmes(reg.facilities["category"])) <= {c.strip() for c in cells}
        reached["files"] += 1
        event(f"{len(reg.facilities)} accepted")

    check()
    assert reached["files"] >= 20 and reached["near"] >= 5 and reached["custom"] >= 5, reached
