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
