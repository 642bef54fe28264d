"""Name and code normalisation, historic names, address parsing."""

from __future__ import annotations

import pytest

from coverage.errors import AmbiguousNameError, InputError, UnknownNameError
from coverage.names import normalise_name, official_name, parse_address, resolve_county, resolve_township


@pytest.mark.parametrize(
    ("township", "county", "expected"),
    [
        ("阿里山鄉", None, "嘉義縣阿里山鄉"),
        ("阿里山鄉", "嘉義縣", "嘉義縣阿里山鄉"),
        ("嘉義縣阿里山鄉", None, "嘉義縣阿里山鄉"),
        ("嘉義縣　阿里山鄉", None, "嘉義縣阿里山鄉"),  # full-width space
        (" 阿里山鄉 ", "嘉義縣", "嘉義縣阿里山鄉"),
        ("霧台鄉", None, "屏東縣霧臺鄉"),  # 台 → 臺
        ("大甲區", "台中市", "臺中市大甲區"),
        ("ＡＢ", None, None),
        ("東區", "嘉義市", "嘉義市東區"),
        ("嘉義市東區", None, "嘉義市東區"),
        # historic names
        ("臺北縣板橋市", None, "新北市板橋區"),
        ("板橋市", "臺北縣", "新北市板橋區"),
        ("板橋市", "新北市", "新北市板橋區"),
        ("台中縣大甲鎮", None, "臺中市大甲區"),
        ("太平市", "臺中縣", "臺中市太平區"),
        ("臺南縣新營市", None, "臺南市新營區"),
        ("高雄縣鳳山市", None, "高雄市鳳山區"),
        ("高雄縣三民鄉", None, "高雄市那瑪夏區"),
        ("桃園縣桃園市", None, "桃園市桃園區"),
        ("桃園縣中壢市", None, "桃園市中壢區"),
        ("復興鄉", "桃園縣", "桃園市復興區"),
        ("員林鎮", "彰化縣", "彰化縣員林市"),
        ("員林鎮", None, "彰化縣員林市"),
        ("頭份鎮", "苗栗縣", "苗栗縣頭份市"),
        ("西區", "臺南市", "臺南市中西區"),
    ],
)
def test_resolve_township(township, county, expected):
    if expected is None:
        with pytest.raises(UnknownNameError):
            resolve_township(township, county)
        return
    assert official_name(resolve_township(township, county)) == expected


def test_unknown_township_suggests_closest():
    with pytest.raises(UnknownNameError, match="did you mean 嘉義縣阿里山鄉") as info:
        resolve_township("嘉義縣阿里山")
    assert info.value.suggestions[0] == "嘉義縣阿里山鄉"
    assert isinstance(info.value, InputError) and isinstance(info.value, ValueError)


def test_ambiguous_township_lists_counties():
    with pytest.raises(AmbiguousNameError, match="give the county") as info:
        resolve_township("東區")
    assert info.value.suggestions == ["嘉義市東區", "新竹市東區", "臺中市東區", "臺南市東區"]


@pytest.mark.parametrize(
    ("county", "expected"),
    [("台北市", "臺北市"), ("臺北", "臺北市"), ("台北縣", "新北市"), ("桃園縣", "桃園市"),
     ("臺中縣", "臺中市"), ("高雄縣", "高雄市"), ("臺南縣", "臺南市"), ("嘉義縣", "嘉義縣")],
)
def test_resolve_county(county, expected):
    assert resolve_county(county) == expected


def test_resolve_county_unknown_or_ambiguous():
    with pytest.raises(UnknownNameError, match="嘉義市、嘉義縣|嘉義縣、嘉義市"):
        resolve_county("嘉義")
    with pytest.raises(UnknownNameError, match="county '火星縣' not found"):
        resolve_county("火星縣")


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("604嘉義縣竹崎鄉竹崎村舊車站1號", "嘉義縣竹崎鄉"),
        ("60441 嘉義縣竹崎鄉竹崎村1號", "嘉義縣竹崎鄉"),
        ("臺灣嘉義市東區民族路1號", "嘉義市東區"),
        ("台中市西屯區臺灣大道三段99號", "臺中市西屯區"),
        ("臺北縣板橋市文化路一段1號", "新北市板橋區"),
        ("台中縣豐原市中正路1號", "臺中市豐原區"),
        ("桃園縣中壢市中大路300號", "桃園市中壢區"),
        ("彰化縣員林鎮中山路1號", "彰化縣員林市"),
        ("阿里山鄉中正村1號", "嘉義縣阿里山鄉"),
        ("東區民族路1號", None),
        ("", None),
        ("火星基地1號", None),
    ],
)
def test_parse_address(address, expected):
    code = parse_address(address)
    assert (official_name(code) if code else None) == expected


def test_normalise_name():
    assert normalise_name(" 台中市　大甲區 ") == "臺中市大甲區"
    assert normalise_name("ＡＢＣ１２３") == "ABC123"
    assert normalise_name(None) == ""


def test_every_official_name_roundtrips(townships):
    for row in townships.itertuples():
        assert resolve_township(row.township, row.county) == row.towncode
        assert resolve_township(row.county + row.township) == row.towncode
        assert parse_address(f"{row.county}{row.township}某路1號") == row.towncode


# ----------------------------------------------------------------------------- issue 13 item 8: as people write them

@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("屏東縣恒春鎮", "屏東縣恆春鎮"),
        ("恒春鎮", "屏東縣恆春鎮"),
        ("新竹縣峨嵋鄉", "新竹縣峨眉鄉"),
        ("峨嵋鄉", "新竹縣峨眉鄉"),
        ("霧台鄉", "屏東縣霧臺鄉"),
        ("屏東縣霧台鄉", "屏東縣霧臺鄉"),
        ("雲林縣台西鄉", "雲林縣臺西鄉"),
        ("宜蘭縣南澳鎮", "宜蘭縣南澳鄉"),
        ("南澳鎮", "宜蘭縣南澳鄉"),
        ("苗栗縣苑里鎮", "苗栗縣苑裡鎮"),
        ("南投縣水裡鄉", "南投縣水里鄉"),
        ("臺中市後里區", "臺中市后里區"),
        ("臺南市后壁區", "臺南市後壁區"),
        ("高雄市茄定區", "高雄市茄萣區"),
        ("新北市新庄區", "新北市新莊區"),
        ("屏東縣滿洲鄉", "屏東縣滿州鄉"),
        ("台北市内湖區", "臺北市內湖區"),
        ("新北市双溪區", "新北市雙溪區"),
        ("臺北市万華區", "臺北市萬華區"),
        ("嘉義縣樸子市", "嘉義縣朴子市"),
        ("嘉義縣六脚鄉", "嘉義縣六腳鄉"),
        ("台東縣緑島鄉", "臺東縣綠島鄉"),
        ("臺南市塩水區", "臺南市鹽水區"),
        ("桃園市亀山區", "桃園市龜山區"),
        ("高雄縣三民鄉", "高雄市那瑪夏區"),  # a historic name still wins over the wrong-suffix rule
    ],
)
def test_variant_spellings_resolve(written, expected):
    assert official_name(resolve_township(written)) == expected
    assert official_name(parse_address(f"{written}中正路1號")) == expected
    assert official_name(parse_address(f"900{written}中正路1號")) == expected


@pytest.mark.parametrize(("township", "county", "expected"), [
    ("恒春鎮", "屏東縣", "屏東縣恆春鎮"), ("南澳鎮", "宜蘭縣", "宜蘭縣南澳鄉"), ("峨嵋鄉", "新竹縣", "新竹縣峨眉鄉"),
    ("霧台鄉", "屏東縣", "屏東縣霧臺鄉"), ("内湖區", "台北市", "臺北市內湖區"),
])
def test_variant_spellings_with_county_column(township, county, expected):
    assert official_name(resolve_township(township, county)) == expected


def test_variant_tables_never_turn_one_official_name_into_another(townships):
    from coverage.names import VARIANT_CHARACTERS, VARIANT_SPELLINGS

    full = [c + t for c, t in zip(townships["county"], townships["township"], strict=True)]
    text = "".join(full)
    assert not [ch for ch in VARIANT_CHARACTERS if ch in text]  # no official name uses a variant character
    assert all(ch in text for ch in VARIANT_CHARACTERS.values())
    assert not [s for s in VARIANT_SPELLINGS if any(s in f for f in full)]
    assert all(any(s in f for f in full) for s in VARIANT_SPELLINGS.values())
    assert all(normalise_name(f) == f for f in full)


def test_wrong_suffix_only_when_one_township_has_the_stem():
    with pytest.raises(UnknownNameError):
        resolve_township("東鄉", "嘉義市")  # one-character stems never match by stem
    with pytest.raises(UnknownNameError):
        resolve_township("阿里山")  # a missing suffix gets a did-you-mean, as before
    with pytest.raises(UnknownNameError, match="did you mean"):
        resolve_township("中正鄉")  # 中正區 exists in two cities: no guess


def test_address_did_you_mean():
    from coverage.names import suggest_address

    assert parse_address("嘉義縣竹崎香竹崎村1號") is None
    assert suggest_address("嘉義縣竹崎香竹崎村1號") == ["嘉義縣竹崎鄉"]
    assert suggest_address("嘉意縣竹崎鄉竹崎村1號")[0] == "嘉義縣竹崎鄉"
    assert suggest_address("火星基地1號") == []
    assert suggest_address("") == []


def test_rejected_address_row_has_a_did_you_mean(tmp_path):
    from coverage.facilities import read_facilities

    path = tmp_path / "reg.csv"
    path.write_text("類別,名稱,地址\n社福中心,甲,嘉義縣竹崎香竹崎村1號\n社福中心,乙,宜蘭縣南澳鎮蘇花路1號\n",
                    encoding="utf-8")
    reg = read_facilities(path)
    assert reg.facilities["township"].tolist() == ["南澳鄉"]
    (reason,) = reg.rejected.loc[reg.rejected["field"] == "address", "reason"]
    assert "did you mean 嘉義縣竹崎鄉" in reason


_VARIANTS_OF: dict[str, list[str]] = {}


def _variants_of(ch: str) -> list[str]:
    from coverage.names import VARIANT_CHARACTERS

    if not _VARIANTS_OF:
        for variant, official in VARIANT_CHARACTERS.items():
            _VARIANTS_OF.setdefault(official, []).append(variant)
    return _VARIANTS_OF.get(ch, [])


def test_any_township_written_with_variants_resolves(townships):
    from hypothesis import event, given, settings
    from hypothesis import strategies as st

    rows = list(zip(townships["county"], townships["township"], townships["towncode"], strict=True))
    reached = {"changed": 0}

    @settings(max_examples=250, deadline=None)
    @given(st.sampled_from(rows), st.randoms(use_true_random=False), st.sampled_from(["", " ", "\u3000"]))
    def check(row, rnd, space):
        county, town, code = row
        written = "".join(rnd.choice([ch, *_variants_of(ch)]) for ch in county) + space + "".join(
            rnd.choice([ch, *_variants_of(ch)]) for ch in town)
        changed = written.replace(space, "") != county + town if space else written != county + town
        event("written with variants" if changed else "written officially")
        reached["changed"] += changed
        assert resolve_township(written) == code
        assert parse_address(f"{written}某某路1號") == code

    check()
    assert reached["changed"] >= 50


# --- one NFKC key: names.name_key and names.header_key, with the old per-module keys as oracles ---------

def _old_diff_key(name):  # coverage.diff before issue 14
    import unicodedata

    return "".join(unicodedata.normalize("NFKC", str(name)).replace("台", "臺").split())


def _old_header_key(header, junk):  # coverage.readers (junk without brackets) / coverage.privacy (with)
    import re
    import unicodedata

    return re.sub(junk, "", unicodedata.normalize("NFKC", str(header)).lower()).replace("台", "臺")


_READERS_JUNK = r"\([^)]*\)|[\s_\-.:：/]+"
_PRIVACY_JUNK = r"\([^)]*\)|[\s_\-.:：/（）()]+"


def _spelled_names():
    """Names and headers as registries write them: CJK, full-width forms, 台/臺, brackets (some unbalanced),
    separators and odd whitespace (ideographic space, tab, no-break space)."""
    from hypothesis import strategies as st

    parts = st.sampled_from(["聯絡人", "電話", "台", "臺", "社福中心", "A", "b", "Ｘ", "ＴＷＤ", "97", "１２",
                             "經度", "(WGS84)", "（備註）", "(", ")", "（", "）", "-", "_", ".", "/", ":", "：",
                             "·", " ", "\u3000", "\t", "\u00a0", "ß", "İ", "Welfare", "centre"])
    return st.lists(parts, min_size=0, max_size=8).map("".join)


def test_name_keys_equal_the_keys_they_replace():
    from hypothesis import event, given, settings

    from coverage.columns import canonical_header
    from coverage.names import header_key, name_key
    from coverage.privacy import column_key

    seen = {"different": 0}

    @settings(max_examples=300, deadline=None)
    @given(_spelled_names())
    def check(text):
        assert name_key(text, keep_case=True, keep_punctuation=True) == _old_diff_key(text)
        assert header_key(text) == _old_header_key(text, _READERS_JUNK)
        assert column_key(text) == header_key(text, lone_brackets=True) == _old_header_key(text, _PRIVACY_JUNK)
        assert canonical_header(text) == canonical_header(header_key(text))
        if header_key(text) != header_key(text, lone_brackets=True):
            seen["different"] += 1
            event("lone bracket: the two header keys differ")
        else:
            event("header keys agree")

    check()
    assert seen["different"] > 0  # the variants are not one key under two names


@pytest.mark.parametrize(("text", "keys"), [
    ("台北 A-1 站", {"": "臺北a1站", "case": "臺北A1站", "punct": "臺北a-1站", "both": "臺北A-1站"}),
    ("Ｗｅｌｆａｒｅ_Centre", {"": "welfarecentre", "case": "WelfareCentre", "punct": "welfare_centre",
                              "both": "Welfare_Centre"}),
    (None, {"": "", "case": "", "punct": "", "both": ""}),
])
def test_name_key_variants(text, keys):
    from coverage.names import name_key

    assert name_key(text) == keys[""]
    assert name_key(text, keep_case=True) == keys["case"]
    assert name_key(text, keep_punctuation=True) == keys["punct"]
    assert name_key(text, keep_case=True, keep_punctuation=True) == keys["both"]


def test_header_key_drops_notes_and_lone_brackets_only_when_asked():
    from coverage.names import header_key

    assert header_key("經度(WGS84)") == header_key("經度 （wgs84）") == "經度"
    assert header_key("電話(") == "電話(" and header_key("電話(", lone_brackets=True) == "電話"
    assert header_key(" ＴＷＤ97_X ") == "twd97x"


# --- addresses to villages (issue 15 item 6) -----------------------------------------------------------

def test_village_in_address_hand_made():
    from coverage.names import village_in_address

    assert village_in_address("604嘉義縣竹崎鄉竹崎村舊車站1號", "竹崎鄉", ["竹崎村", "和平村"]) == ("竹崎村", None)
    assert village_in_address("台北市 大安區 龍安里 15鄰", "大安區", ["龍安里"]) == ("龍安里", None)
    assert village_in_address("嘉義縣竹崎鄉龍安里1號", "竹崎鄉", ["竹崎村"]) == (None, "龍安里")
    assert village_in_address("屏東縣里港鄉里港路1號", "里港鄉", ["里港村"]) == (None, None)  # a road, not 里港村
    assert village_in_address("新北市萬里區萬里里1號", "萬里區", ["萬里里", "大鵬里"]) == ("萬里里", None)
    assert village_in_address("臺北縣板橋市文化里1號", "板橋區", ["文化里"]) == ("文化里", None)  # historic 板橋市
    assert village_in_address("竹崎村1號", "竹崎鄉", ["竹崎村"]) == (None, None)  # township not named


def test_any_village_in_an_address_is_found():
    """Every bundled village, written after its county and township with 台/臺 variants and spacing, and
    followed by a road; malformed tails (a road right after the township, stray digits) give no village
    of another township."""
    from hypothesis import event, given, settings
    from hypothesis import strategies as st

    from coverage.geography import load_villages
    from coverage.names import village_in_address

    v = load_villages()
    own = v.groupby("towncode")["village"].agg(list).to_dict()
    rows = list(zip(v["county"], v["township"], v["towncode"], v["village"], strict=True))
    reached = {"found": 0, "none": 0}

    @settings(max_examples=200, deadline=None)
    @given(st.sampled_from(rows), st.sampled_from(["", " ", "\u3000"]), st.booleans(),
           st.sampled_from(["中山路1號", "15鄰民生路2段3號", "", "１２號"]), st.text(max_size=4))
    def check(row, space, variant, tail, junk):
        county, town, code, village = row
        written_county = county.replace("臺", "台") if variant else county
        address = f"{written_county}{space}{town}{space}{village}{tail}"
        assert village_in_address(address, town, own[code]) == (village, None)
        reached["found"] += 1
        got, _unknown = village_in_address(f"{county}{town}{junk}", town, own[code])
        assert got is None or got in own[code]
        event("junk named a village" if got else "no village in junk")
        reached["none"] += got is None

    check()
    assert reached["found"] >= 100 and reached["none"] >= 50


def test_county_hint_order_does_not_depend_on_the_hash_seed():
    """嘉義縣 and 嘉義市 tie on length: the hint's order came from a set and changed with PYTHONHASHSEED."""
    import os
    import subprocess
    import sys

    code = ("from coverage.names import resolve_county\n"
            "try:\n    resolve_county('嘉義')\nexcept Exception as exc:\n    print(exc)\n")
    seen = set()
    for seed in ("0", "1", "2", "3", "4", "5"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        seen.add(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                check=True).stdout)
    assert len(seen) == 1, seen
    assert "嘉義市、嘉義縣" in seen.pop()
