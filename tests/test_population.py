"""Population readers: every official layout, age groups, matching, rejections, real MOI files."""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections import Counter

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from coverage.errors import CoverageError, InputError, UnreadableFileError
from coverage.population import AGE_GROUPS, read_population, require_group, resolve_age_group

# Two villages of 嘉義縣太保市 (codes 10010010001 太保里, 10010010002 後庄里) and one of 阿里山鄉.
SINGLE_AGES = [f"{a}歲" for a in range(100)] + ["100歲以上"]


def single_age_file(path, rows, *, encoding="utf-8-sig", code_keyed=False, english_header=False):
    """An MOI 村里戶數、單一年齡人口 file: one count per age and sex, trailing comma."""
    id_cols = ["統計年月", "區域別代碼", "區域別", "村里名稱"] if code_keyed else ["統計年月", "區域別", "村里"]
    ages = [f"{a}-{s}" for a in SINGLE_AGES for s in ("男", "女")]
    header = [*id_cols, "戶數", "人口數", "人口數-男", "人口數-女", *ages]
    lines = []
    if english_header:
        eng_ids = ["statistic_yyymm", "district_code", "site_id", "village"][: len(id_cols)]
        eng_ages = [f"people_age_{a:03d}_{s}" for a in range(100) for s in "mf"] + ["people_age_100up_m",
                                                                                   "people_age_100up_f"]
        lines.append(",".join([*eng_ids, "household_no", "people_total", "people_total_m", "people_total_f",
                               *eng_ages]) + ",")
    lines.append(",".join(header) + ",")
    for ids, per_age in rows:  # per_age: count for each sex at each age (so 2× per age)
        counts = [per_age(a) for a in range(101) for _ in "mf"]
        lines.append(",".join([*ids, "10", str(sum(counts)), "0", "0", *map(str, counts)]) + ",")
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def test_old_single_age_layout(tmp_path):
    f = single_age_file(tmp_path / "moi.csv", [
        (["10405", "嘉義縣太保市", "太保里"], lambda a: 1),
        (["10405", "嘉義縣太保市", "後庄里"], lambda a: 2 if a >= 65 else 0),
    ])
    pop = read_population(f)
    assert pop.layout == "village single-year-of-age" and pop.level == "village"
    assert pop.period == "2015-05"  # ROC 104年05月
    assert pop.groups == ("total", "children", "young_children", "elderly") and pop.unavailable == {}
    v = pop.villages.set_index("villcode")
    # 太保里: 1 man + 1 woman at each of 101 ages
    assert v.loc["10010010001", ["total", "children", "young_children", "elderly"]].tolist() == [202, 36, 24, 72]
    assert v.loc["10010010002", ["total", "children", "elderly"]].tolist() == [144, 0, 144]
    assert v.loc["10010010003", "total"] == 0  # a village of the township without a row
    t = pop.townships.set_index("towncode")
    assert t.loc["10010010", "total"] == 346 and list(pop.townships["towncode"]) == ["10010010"]
    assert pop.matching.set_index("how").loc["village name", "people"] == 346
    assert pop.rows_read == 2 and pop.rejected.empty


def test_code_keyed_big5_two_header_rows_matching_and_rejections(tmp_path):
    rows = [
        (["11412", "10010010001", "嘉義縣太保市", "太保里"], lambda a: 1),  # by code
        (["11412", "10010099999", "嘉義縣太保市", "後庄里"], lambda a: 1),  # code unknown → by name
        (["11412", "10010010999", "嘉義縣太保市", "新設里"], lambda a: 1),  # neither → township only
        (["11412", "10010010001", "嘉義縣太保市", "太保里"], lambda a: 1),  # duplicate of row 3
        (["11412", "99999999001", "火星縣某鄉", "甲村"], lambda a: 1),  # unknown township
    ]
    f = single_age_file(tmp_path / "big5.csv", rows, encoding="cp950", code_keyed=True, english_header=True)
    text = f.read_bytes().decode("cp950").splitlines()
    text[3] = text[3].replace(",202,", ",2O2,", 1)  # a letter O in 人口數 on the second data row
    f.write_bytes(("\n".join(text) + "\n").encode("cp950"))
    pop = read_population(f)
    assert pop.layout == "village single-year-of-age (code-keyed)" and pop.period == "2025-12"
    assert pop.rows_read == 5
    rej = pop.rejected
    assert set(rej["row"]) == {4, 6, 7}  # lines: 2 header rows, then data from line 3
    assert rej.loc[rej["row"] == 4, ["field", "value", "reason"]].values.tolist() == [
        ["人口數", "2O2", "not a whole number ≥ 0"]]
    assert "duplicate of row 3" in rej.loc[rej["row"] == 6, "reason"].item()
    assert "火星縣" in rej.loc[rej["row"] == 7, "reason"].item()
    m = pop.matching.set_index("how")
    assert m.loc["village code", "rows"] == 1 and m.loc["township only (no matching village)", "rows"] == 1
    assert m.loc["rejected", "rows"] == 3
    assert m.loc[m.index != "rejected", "rows"].sum() + m.loc["rejected", "rows"] == pop.rows_read
    # the township keeps everyone accepted, the villages only those matched
    assert pop.townships.set_index("towncode").loc["10010010", "total"] == 2 * 202
    assert pop.villages["total"].sum() == 202


def test_code_keyed_name_fallback(tmp_path):
    f = single_age_file(tmp_path / "p.csv", [(["11412", "10010099999", "嘉義縣太保市", "後庄里"], lambda a: 1)],
                        code_keyed=True)
    pop = read_population(f)
    assert pop.matching.set_index("how").loc["village name", "people"] == 202
    assert pop.villages.set_index("villcode").loc["10010010002", "total"] == 202


def test_village_age_groups_layout(tmp_path):
    f = tmp_path / "agegroups.csv"
    f.write_text(
        "年月,村里代碼,區域,村里,戶數,人口,男性人口,女性人口,未滿15歲,15-64歲,超過64歲,超過20歲,18-19歲\n"
        "2021-03,10010180-001,嘉義縣阿里山鄉,香林村,85,201,102,99,20,150,31,170,4\n",
        encoding="utf-8",
    )
    pop = read_population(f)
    assert pop.groups == ("total", "children", "elderly")
    assert "0–11歲" in pop.unavailable["young_children"] and "0–14歲" in pop.unavailable["young_children"]
    row = pop.villages.set_index("villcode").loc["10010180001"]  # 8-digit town + 3-digit village
    assert (row["total"], row["children"], row["elderly"]) == (201, 201 - 170 - 4, 31)
    assert pop.notes and "超過20歲" in pop.notes[0]
    with pytest.raises(InputError, match="young_children.*0–11"):
        require_group(pop, "young_children")


def test_township_json_and_area(tmp_path):
    f = tmp_path / "towns.json"
    f.write_text(json.dumps({"1001018": {"area": "嘉義縣阿里山鄉", "size": 427.8471, "households": 2100,
                                         "population": 5174, "male": 2700, "female": 2474}}), encoding="utf-8")
    pop = read_population(f)
    assert pop.level == "township" and pop.groups == ("total",)
    assert pop.unavailable["elderly"] == "the file has no age columns, only totals"
    t = pop.townships.iloc[0]
    assert (t["towncode"], t["total"], t["area_km2"]) == ("10010180", 5174, 427.8471)  # TOWNCODE = key + "0"


def test_township_names_only_elderly(tmp_path):
    f = tmp_path / "elderly.csv"
    f.write_text("COUNTYNAME,TOWNNAME,Elderly65\n嘉義縣,阿里山鄉,900\n台北縣,板橋市,70000\n", encoding="utf-8")
    pop = read_population(f)
    assert pop.groups == ("elderly",) and "total" in pop.unavailable
    assert dict(zip(pop.townships["towncode"], pop.townships["elderly"], strict=True)) == {
        "10010180": 900, "65000010": 70000}  # 臺北縣板橋市 is today's 新北市板橋區
    assert pop.matching.set_index("how").loc["township name", "rows"] == 2


def test_township_code_csv_bands(tmp_path):
    f = tmp_path / "bands.csv"
    f.write_text("TOWNCODE,area,ym,age_0_14,age_15_64,age_65plus\n10010180,,202208,600,3500,900\n", encoding="utf-8")
    pop = read_population(f)
    assert pop.groups == ("total", "elderly") and pop.period == "2022-08"
    assert "do not add up to 0–17歲" in pop.unavailable["children"]
    assert pop.matching.set_index("how").loc["township code", "people"] == 5000


@pytest.mark.parametrize(("content", "match"), [
    (None, "file not found"),
    (b"", "empty"),
    (b"\x00\x01\x02PK", "binary"),
    ("統計年月,區域別代碼,區域別,村里名稱,出生數,死亡數\n11412,10010010001,嘉義縣太保市,太保里,1,2\n".encode(),
     "no population count"),
    (b"a,b,c\n1,2,3\n", "no population header"),
    (b'{"x": 1}', "JSON"),
])
def test_unreadable_files_name_the_file(tmp_path, content, match):
    f = tmp_path / "bad_population.csv"
    if content is not None:
        f.write_bytes(content)
    with pytest.raises(UnreadableFileError, match=match) as info:
        read_population(f)
    assert "bad_population.csv" in str(info.value)


def test_age_group_names():
    assert resolve_age_group("兒少") == "children" and resolve_age_group("ELDERLY") == "elderly"
    with pytest.raises(InputError, match="^age_group=.*young_children"):
        resolve_age_group("teenagers")
    assert set(AGE_GROUPS) == {"total", "children", "young_children", "elderly"}


# ----------------------------------------------------------------------------- the real MOI files


def test_real_single_age_chiayi_2015(shared_data):
    pop = read_population(shared_data / "population" / "moi_village_single_age_2015-05_chiayi_county.csv")
    assert pop.period == "2015-05" and pop.rows_read == 357 and pop.rejected.empty
    assert pop.groups == ("total", "children", "young_children", "elderly")
    m = pop.matching.set_index("how")
    assert m.loc["village name", "rows"] == 357 and m.loc["village name", "people"] == 522_065
    assert len(pop.townships) == 18 and pop.townships["total"].sum() == 522_065
    t = pop.townships.set_index("township")
    assert t.loc["阿里山鄉", "children"] > t.loc["阿里山鄉", "young_children"] > 0


def test_real_village_agegroups_2021(shared_data):
    pop = read_population(shared_data / "population" / "village_population_agegroups_2021-03.csv")
    m = pop.matching.set_index("how")
    assert m.loc["village code", "rows"] == 7690  # ≈1% of 2021 codes are not in the boundary set
    assert m.loc["township only (no matching village)", "rows"] == 71
    assert pop.townships["total"].sum() == 23_525_623 == m["people"].sum()
    assert len(pop.townships) == 368 and len(pop.villages) == 7701
    assert pop.villages["total"].sum() == m.loc["village code", "people"]


def test_real_township_files(shared_data):
    json_pop = read_population(shared_data / "population" / "township_population_2026-01.json")
    assert len(json_pop.townships) == 368 and json_pop.rejected.empty and "area_km2" in json_pop.townships
    elderly = read_population(shared_data / "population" / "township_elderly_2024.csv")
    assert len(elderly.townships) == 368 and elderly.groups == ("elderly",)
    bands = read_population(shared_data / "population" / "township_population_agegroups_2022-08.csv")
    assert len(bands.townships) == 368 and bands.groups == ("total", "elderly")


def test_real_births_file_is_not_population(shared_data):
    with pytest.raises(UnreadableFileError, match="moi_village_births_deaths_2025-12.csv.*no population count"):
        read_population(shared_data / "population" / "moi_village_births_deaths_2025-12.csv")


# ----------------------------------------------------------------------------- one village is one village


def balanced(pop) -> None:
    """rows_read == accepted + rejected rows, and the matching table says the same."""
    from coverage.rejections import rejected_rows

    m = pop.matching.set_index("how")["rows"]
    assert pop.rows_read == int(m.drop("rejected").sum()) + rejected_rows(pop.rejected)
    assert int(m["rejected"]) == rejected_rows(pop.rejected)


AGEGROUP_HEADER = "年月,村里代碼,區域,村里,戶數,人口,男性人口,女性人口,未滿15歲,15-64歲,超過64歲,超過20歲,18-19歲\n"
竹崎村 = "1017,2891,1446,1445,318,2048,525,2437,69"  # a real 2021-03 row of 嘉義縣竹崎鄉竹崎村 (10010140-001)


@pytest.mark.parametrize("again", [
    "10010140001,嘉義縣竹崎鄉,竹崎村",  # the code without its dash
    "10010140-001,嘉義縣竹崎鄉,竹崎村",  # the same spelling twice
    ",嘉義縣竹崎鄉,竹崎村",  # by name only
    ",嘉義縣 竹崎鄉,竹崎村",  # a space between county and township
    ",嘉義縣竹崎鄉 , 竹崎村 ",  # trailing spaces
    ",台灣 嘉義縣竹崎鄉,竹崎村",  # no: 台灣 is not a county (rejected, but not as a duplicate)
    ",嘉義縣竹崎鄉,竹崎村",
])
def test_one_village_is_one_village(tmp_path, again):
    f = tmp_path / "dup.csv"
    f.write_text(AGEGROUP_HEADER + f"2021-03,10010140-001,嘉義縣竹崎鄉,竹崎村,{竹崎村}\n"
                 f"2021-03,{again},{竹崎村}\n", encoding="utf-8")
    pop = read_population(f)
    balanced(pop)
    assert pop.townships.set_index("towncode").loc["10010140", "total"] == 2891  # counted once
    assert pop.villages.set_index("villcode").loc["10010140001", "total"] == 2891
    assert pop.rejected["row"].tolist() == [3]
    reason = pop.rejected["reason"].item()
    if "台灣" in again:
        assert "not found" in reason
    else:
        assert reason == "duplicate of row 2: the same village 10010140001 嘉義縣竹崎鄉竹崎村, counted once"


def test_first_spelling_wins_whichever_it_is(tmp_path):
    """Name first, code later: the later row is the duplicate; a third village is unaffected."""
    f = tmp_path / "dup.csv"
    f.write_text(AGEGROUP_HEADER + f"2021-03,,嘉義縣竹崎鄉,竹崎村,{竹崎村}\n"
                 "2021-03,10010140-002,嘉義縣竹崎鄉,和平村,819,2566,1334,1232,309,1799,458,2134,60\n"
                 f"2021-03,10010140001,嘉義縣竹崎鄉,竹崎村,{竹崎村}\n", encoding="utf-8")
    pop = read_population(f)
    balanced(pop)
    rej = pop.rejected
    assert rej[["row", "field", "value"]].values.tolist() == [[4, "村里代碼", "10010140001"]]
    assert "duplicate of row 2" in rej["reason"].item()
    assert pop.townships["total"].sum() == 2891 + 2566


def test_township_duplicates_old_and_new_names(tmp_path):
    """臺北縣板橋市 is today's 新北市板橋區: the same township twice is counted once."""
    f = tmp_path / "towns.csv"
    f.write_text("COUNTYNAME,TOWNNAME,Elderly65\n新北市,板橋區,70000\n台北縣,板橋市,70000\n嘉義縣,阿里山鄉,900\n"
                 "嘉義縣 ,阿里山鄉 ,900\n", encoding="utf-8")
    pop = read_population(f)
    balanced(pop)
    assert pop.townships["elderly"].sum() == 70900
    assert pop.rejected["row"].tolist() == [3, 5]
    assert pop.rejected["reason"].str.startswith("duplicate of row ").all()
    assert "row 2: the same township 65000010 新北市板橋區" in pop.rejected["reason"].iloc[0]


def test_a_real_row_appended_in_other_spellings_changes_nothing(tmp_path, shared_data):
    src = shared_data / "population" / "village_population_agegroups_2021-03.csv"
    lines = src.read_text(encoding="utf-8").splitlines()
    row = next(i for i, line in enumerate(lines) if ",10010140-001," in line)  # 竹崎村 at line row + 1
    cells = lines[row].split(",")
    again = [
        ",".join([cells[0], cells[1].replace("-", ""), *cells[2:]]),
        ",".join([cells[0], "", "嘉義縣 竹崎鄉", *cells[3:]]),
        ",".join([cells[0], "", "嘉義縣竹崎鄉 ", cells[3] + " ", *cells[4:]]),
    ]
    f = tmp_path / "village_population_with_duplicates.csv"
    f.write_text("\n".join([*lines, *again]) + "\n", encoding="utf-8")
    base, pop = read_population(src), read_population(f)
    balanced(pop)
    assert pop.rows_read == base.rows_read + 3
    assert pop.townships["total"].sum() == base.townships["total"].sum() == 23_525_623
    assert pop.villages["total"].tolist() == base.villages["total"].tolist()
    n = len(lines)
    assert pop.rejected["row"].tolist() == [n + 1, n + 2, n + 3]
    assert (pop.rejected["reason"] == f"duplicate of row {row + 1}: the same village 10010140001 嘉義縣竹崎鄉竹崎村, "
                                      "counted once").all()


def test_real_single_age_file_duplicate_by_name(tmp_path, shared_data):
    src = shared_data / "population" / "moi_village_single_age_2015-05_chiayi_county.csv"
    text = src.read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    f = tmp_path / "chiayi.csv"
    f.write_text("\n".join([*lines, lines[1].replace("嘉義縣太保市", "嘉義縣 太保市", 1)]) + "\n", encoding="utf-8")
    pop = read_population(f)
    balanced(pop)
    assert pop.townships["total"].sum() == 522_065
    assert pop.rejected["reason"].item().startswith("duplicate of row 2: the same village ")


# ----------------------------------------------------------------------------- counts that cannot be right


def test_negative_counts_and_age_groups_larger_than_the_total(tmp_path):
    f = tmp_path / "counts.csv"
    f.write_text(
        AGEGROUP_HEADER
        + "2021-03,10010140-001,嘉義縣竹崎鄉,竹崎村,1017,-2891,1446,1445,318,2048,525,2437,69\n"  # negative total
        + "2021-03,10010140-002,嘉義縣竹崎鄉,和平村,819,2566,1334,1232,-309,1799,458,2134,60\n"  # negative band
        + "2021-03,10010140-003,嘉義縣竹崎鄉,坑頭村,271,849,454,395,71,586,900,739,16\n"  # 65+ > total
        + "2021-03,10010140-004,嘉義縣竹崎鄉,鹿滿村,271,849,454,395,71,586,500,739,16\n"  # bands add up > total
        + "2021-03,10010140-005,嘉義縣竹崎鄉,紫雲村,271,849,454,395,71,586,192,839,16\n"  # 18-19 + 20+ > total
        + "2021-03,10010140-006,嘉義縣竹崎鄉,沙坑村,271,849,454,395,71,586,192,739,16\n",  # fine
        encoding="utf-8")
    pop = read_population(f)
    balanced(pop)
    rej = pop.rejected.set_index("row")
    assert rej.loc[2, ["field", "value", "reason"]].tolist() == ["人口", "-2891", "negative count"]
    assert rej.loc[3, ["field", "reason"]].tolist() == ["未滿15歲", "negative count"]
    assert rej.loc[4, ["field", "value", "reason"]].tolist() == ["超過64歲", "900",
                                                                   "超過64歲 900 is more than the total (人口) 849"]
    assert rej.loc[5, "reason"] == "the age columns add up to 1,157, more than the total (人口) 849"
    assert rej.loc[6, "reason"] == "age columns give a negative children count; the row's totals disagree"
    assert list(rej.index) == [2, 3, 4, 5, 6]
    assert pop.townships["total"].tolist() == [849]


def test_single_age_band_larger_than_total(tmp_path):
    f = single_age_file(tmp_path / "moi.csv", [(["10405", "嘉義縣太保市", "太保里"], lambda a: 1)])
    text = f.read_text(encoding="utf-8-sig").splitlines()
    text[1] = text[1].replace(",202,", ",150,", 1)  # the total says 150, the ages add up to 202
    f.write_text("\n".join(text) + "\n", encoding="utf-8")
    pop = read_population(f)
    assert pop.rejected["reason"].item() == "the age columns add up to 202, more than the total (人口數) 150"
    assert pop.townships.empty
    balanced(pop)


def test_rows_with_shifted_or_missing_cells_are_rejected_whole(tmp_path):
    f = tmp_path / "shape.csv"
    f.write_text("統計年月,區域別,村里,人口數\n"
                 "11412,嘉義縣太保市,太保里,5,多的欄\n"  # one cell too many: the columns may be shifted
                 "11412,嘉義縣太保市\n"  # cut short before 人口數
                 "11412,嘉義縣太保市,後庄里,7,\n"  # an empty trailing cell is fine
                 "11412,嘉義縣太保市,埤鄉里,3\n", encoding="utf-8")
    pop = read_population(f)
    balanced(pop)
    rej = pop.rejected
    assert rej[["row", "field", "value"]].values.tolist() == [[2, "row", ""], [3, "row", ""]]
    assert "5 cells but the header names 4 columns" in rej["reason"].iloc[0]
    assert "2 cells but the header has 4 columns" in rej["reason"].iloc[1]
    assert pop.townships["total"].tolist() == [10]


def test_township_subtotal_in_a_village_table_is_not_counted_twice(tmp_path):
    f = tmp_path / "subtotal.csv"
    f.write_text("統計年月,區域別,村里,人口數\n11412,嘉義縣太保市,,12\n11412,嘉義縣太保市,太保里,5\n"
                 "11412,嘉義縣太保市,後庄里,7\n", encoding="utf-8")
    pop = read_population(f)
    balanced(pop)
    assert pop.rejected["row"].tolist() == [2] and "subtotal" in pop.rejected["reason"].item()
    assert pop.townships["total"].tolist() == [12]


# ----------------------------------------------------------------------------- damaged files


VALID = ("統計年月,區域別代碼,區域別,村里名稱,戶數,人口數\n"
         "11412,10010010001,嘉義縣太保市,太保里,10,200\n"
         "11412,10010010002,嘉義縣太保市,後庄里,10,300\n"
         "11412,10010010003,嘉義縣太保市,埤鄉里,10,400\n"
         "11412,10010010004,嘉義縣太保市,東勢里,10,50\n")


@pytest.mark.parametrize(("damage", "lost"), [
    (('後庄里', '"後庄里'), [3, 4, 5]),  # a stray quote opens a cell that the end of the file closes
    (('埤鄉里,10,400', '"埤鄉里,10,400'), [4, 5]),
    (('東勢里,10,50', '東勢里,10,"50'), [5]),  # unterminated on the last line
    (('後庄里,10,300\n', '後庄里,10,"300\n'), [3, 4, 5]),
])
def test_quote_damage_rejects_the_lines_never_merges_them(tmp_path, damage, lost):
    f = tmp_path / "quote.csv"
    f.write_text(VALID.replace(*damage), encoding="utf-8")
    pop = read_population(f)
    balanced(pop)
    assert pop.rows_read == 4  # physical data lines, not parsed records
    assert pop.rejected["row"].tolist() == lost
    assert pop.rejected["reason"].str.contains('quote \\("\\)').all()
    assert (pop.rejected["value"] == "").all()
    counts = {2: 200, 3: 300, 4: 400, 5: 50}
    assert pop.townships["total"].sum() == sum(v for k, v in counts.items() if k not in lost)


def test_quote_damage_in_the_real_file(tmp_path, shared_data):
    src = shared_data / "population" / "township_population_agegroups_2022-08.csv"
    lines = src.read_text(encoding="utf-8").splitlines()
    lines[10] = lines[10].replace(",", ',"', 1)  # line 11: the quote swallows the lines below until the next quote
    lines[20] = lines[20] + '"'  # … which this one (line 21) supplies
    f = tmp_path / "bands.csv"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    base, pop = read_population(src), read_population(f)
    balanced(pop)
    assert pop.rows_read == base.rows_read == 368
    assert pop.rejected["row"].tolist() == list(range(11, 22))
    assert len(pop.townships) == 368 - 11
    lost = base.townships[~base.townships["towncode"].isin(pop.townships["towncode"])]
    assert pop.townships["total"].sum() == base.townships["total"].sum() - lost["total"].sum()


def test_a_cell_over_the_csv_field_limit_is_one_rejected_line(tmp_path):
    f = tmp_path / "huge_cell.csv"
    f.write_text(VALID.replace("後庄里", "x" * 200_000), encoding="utf-8")
    pop = read_population(f)
    balanced(pop)
    assert pop.rejected["row"].tolist() == [3] and "CSV limit" in pop.rejected["reason"].item()
    assert pop.townships["total"].sum() == 650


@pytest.mark.parametrize(("text", "match"), [
    ("[" * 100_000, "JSON nested too deeply"),
    ('{"1001018": {"population": ' + "9" * 5000 + "}}", "not valid JSON"),
    ('"' + VALID, "no population header.*line 1: unbalanced quote"),
])
def test_hostile_structure_is_one_line(tmp_path, text, match):
    f = tmp_path / "hostile.json"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(UnreadableFileError, match=match) as info:
        read_population(f)
    assert "\n" not in str(info.value) and "hostile.json" in str(info.value)


def test_nested_json_values_are_rejected_not_echoed(tmp_path):
    f = tmp_path / "nested.json"
    f.write_text(json.dumps({"1001018": {"area": "嘉義縣阿里山鄉", "population": [[[[5174]]]]},
                             "1001001": {"area": "嘉義縣太保市", "population": 37000}}), encoding="utf-8")
    pop = read_population(f)
    balanced(pop)
    assert pop.rejected[["row", "field", "value"]].values.tolist() == [[1, "population", "(nested JSON)"]]
    assert pop.townships["total"].tolist() == [37000]


# ----------------------------------------------------------------------------- each step alone


def test_steps_alone():
    import numpy as np
    import pandas as pd

    from coverage.population import age_group_counts, column_layout, whole_numbers
    from coverage.rejections import Rejections

    layout = column_layout(__import__("pathlib").Path("x.csv"), ["區域別", "人口數", "未滿15歲", "15-64歲", "超過64歲"])
    assert layout.cols == {"area": 0, "total": 1} and layout.width == 5
    assert set(layout.recipes) == {"total", "elderly"}
    cells = pd.DataFrame({1: ["10", "1,000", "-3", "2.5", "", "1e400", "x"]})
    rej = Rejections(7)
    values = whole_numbers(cells, [1], ["區域別", "人口數"], rej, np.zeros(7, dtype=bool))
    assert values[:, 0].tolist() == [10, 1000, 0, 0, 0, 0, 0]
    assert rej.bad.tolist() == [False, False, True, True, True, True, True]
    table = rej.table(pd.DataFrame({"file": "x.csv", "row": range(2, 9)}))
    assert table["reason"].tolist() == ["negative count", "not a whole number", "empty count",
                                        "not a whole number ≥ 0", "not a whole number ≥ 0"]
    rej = Rejections(2)
    groups = age_group_counts(np.array([10.0, 10.0]), {(0, 14): np.array([2.0, 2.0]), (15, 64): np.array([5.0, 5.0]),
                                                 (65, 10_000): np.array([3.0, 30.0])}, layout, rej)
    assert groups["elderly"].tolist() == [3, 30] and rej.bad.tolist() == [False, True]


def test_population_rows_keep_the_file_line_numbers(tmp_path):
    """Two header rows, a blank line, a legitimately quoted cell and a damaged line: rows keep their
    line numbers as in the file, the damaged lines come back separately."""
    from coverage.popfile import classify_column, read_population_rows

    f = tmp_path / "rows.csv"
    f.write_text("statistic_yyymm,site_id,village,people_total\n統計年月,區域別,村里,人口數\n"
                 '11412,"嘉義縣太保市",太保里,5\n\n11412,"嘉義縣太保市,後庄里,7\n11412,嘉義縣太保市,埤鄉里,9\n',
                 encoding="utf-8")
    rows = read_population_rows(f)
    assert rows.header == ["統計年月", "區域別", "村里", "人口數"]
    assert rows.rows == [(3, ["11412", "嘉義縣太保市", "太保里", "5"])]
    assert [line for line, _ in rows.damaged] == [5, 6] and "unbalanced quote" in rows.damaged[0][1]
    assert classify_column("65歲以上") == ("age", (65, 10_000)) and classify_column(" 人口 數") == ("total", None)


def test_json_code_or_field_given_twice_is_not_lost_silently(tmp_path):
    """json.loads keeps the last of repeated keys; the reader sees both and counts the township once."""
    f = tmp_path / "towns.json"
    f.write_text('{"1001018": {"area": "嘉義縣阿里山鄉", "population": 5174},'
                 ' "1001018": {"area": "嘉義縣阿里山鄉", "population": 9999},'
                 ' "1001001": {"area": "嘉義縣太保市", "population": 1, "population": 37000}}', encoding="utf-8")
    pop = read_population(f)
    balanced(pop)
    assert pop.rows_read == 3
    assert pop.townships.set_index("towncode")["total"].to_dict() == {"10010180": 5174}
    rej = pop.rejected.set_index("row")
    assert rej.loc[2, "reason"].startswith("duplicate of row 1: the same township 10010180")
    assert rej.loc[3, ["field", "value"]].tolist() == ["population", "(key repeated in the record)"]


def test_new_village_codes_are_distinct_villages(tmp_path):
    """Codes not in the boundary set (villages created since) count at township level, one per code;
    the same unknown code twice is a duplicate."""
    f = tmp_path / "new.csv"
    f.write_text("統計年月,區域別代碼,區域別,村里名稱,人口數\n11412,10010140901,嘉義縣竹崎鄉,,100\n"
                 "11412,10010140902,嘉義縣竹崎鄉,,200\n11412,10010140-902,嘉義縣竹崎鄉,,200\n"
                 "11412,,嘉義縣竹崎鄉,新村,50\n11412,,嘉義縣竹崎鄉,新 村,50\n", encoding="utf-8")
    pop = read_population(f)
    balanced(pop)
    assert pop.townships["total"].tolist() == [350]
    assert pop.rejected["row"].tolist() == [4, 6]
    assert pop.rejected["reason"].tolist() == [
        "duplicate of row 3: the same village 10010140902 嘉義縣竹崎鄉, counted once",
        "duplicate of row 5: the same village 嘉義縣竹崎鄉新村, counted once"]


def test_the_same_ages_twice_are_not_added(tmp_path):
    """0歲 twice, or 超過64歲 beside 65歲以上: the people would be counted twice; the first is read."""
    f = tmp_path / "ages.csv"
    f.write_text("區域別,人口數,0歲,0歲,1歲以上,超過64歲,65歲以上\n嘉義縣太保市,100,4,4,96,20,20\n", encoding="utf-8")
    pop = read_population(f)
    balanced(pop)
    t = pop.townships.iloc[0]
    assert (t["total"], t["elderly"]) == (100, 20) and pop.rejected.empty
    assert sum("the first is read" in n for n in pop.notes) == 2
    f.write_text("區域別,人口數,65歲以上,65歲以上-男,65歲以上-女,0-64歲\n嘉義縣太保市,100,20,9,11,80\n",
                 encoding="utf-8")
    pop = read_population(f)
    assert pop.townships["elderly"].tolist() == [20] and "by sex are not added" in pop.notes[-1]


# ----------------------------------------------------------------------------- hostile population files

POP_HEADERS = [
    "統計年月,區域別,村里,戶數,人口數,人口數-男,人口數-女,0歲-男,0歲-女,100歲以上-男,100歲以上-女,",
    "統計年月,區域別代碼,區域別,村里名稱,戶數,人口數,0歲-男,0歲-女",
    "年月,村里代碼,區域,村里,戶數,人口,未滿15歲,15-64歲,超過64歲,超過20歲,18-19歲",
    "TOWNCODE,area,ym,age_0_14,age_15_64,age_65plus",
    "COUNTYNAME,TOWNNAME,Elderly65",
    "statistic_yyymm,district_code,site_id,village,household_no,people_total\n統計年月,區域別代碼,區域別,村里名稱,戶數,人口數",
    "人口數,人口數,區域別,區域別,村里,村里",  # duplicated headers
    "區域別,人口數,人口數-男,0歲,0歲,1歲,超過64歲,65歲以上",  # overlapping age columns
]
pop_cells = st.one_of(
    st.text(max_size=20),
    st.sampled_from([
        "10405", "11412", "999", "00000", "11413", "1130", "民國112年13月", "112/02/30", "-1", "3.5", "1,234", "1e9",
        "1e400", "nan", "inf", "-inf", "", " ", "\x00", "\x1b[31m", "\u2028", "=1+2", "@SUM(A1)", "+886",
        "嘉義縣太保市", "嘉義縣阿里山鄉", "台北縣板橋市", "東區", "火星縣某鄉", "太保里", "10010010001",
        "10010180-001", "1001018", "10010180", "99999999", "65000010-001", "x" * 3000,
    ]),
)
pop_rows = st.lists(st.lists(pop_cells, min_size=0, max_size=13), min_size=0, max_size=8)


@pytest.fixture(scope="module")
def villages():
    from coverage.geography import load_villages

    return load_villages()


def _check_population(pop, name: str) -> None:
    """The reader's contract: everything read is accepted or rejected, each rejection says where and why."""
    m = pop.matching.set_index("how")["rows"]
    accepted = int(m.drop("rejected", errors="ignore").sum())
    rejected_rows = pop.rejected["row"].nunique()
    assert pop.rows_read == accepted + rejected_rows
    assert int(m.get("rejected", 0)) == rejected_rows
    rej = pop.rejected
    assert list(rej.columns) == ["file", "row", "field", "value", "reason"]
    assert (rej["file"] == name).all()
    assert all(isinstance(r, int) and r >= 1 for r in rej["row"])
    assert rej["field"].map(lambda f: isinstance(f, str) and f != "").all()
    assert rej["value"].map(lambda v: isinstance(v, str)).all()
    assert rej["reason"].map(lambda r: isinstance(r, str) and r != "").all()
    for g in pop.groups:
        assert (pop.townships[g] >= 0).all()
    assert pop.period is None or re.fullmatch(r"(19|20)\d\d-(0[1-9]|1[0-2])", pop.period), pop.period


def _event(text: str) -> None:
    """Count outcomes in ``--hypothesis-show-statistics`` (outside a hypothesis test: nothing)."""
    with contextlib.suppress(InvalidArgument):
        event(text)


def _read_population_or_refuse(path, townships, villages, seen: Counter) -> str:
    """Read ``path``: refused in one line naming it, or read under the reader's contract. Counts the outcome."""
    from coverage.population import read_population

    try:
        pop = read_population(path, townships=townships, villages=villages)
    except CoverageError as exc:
        assert path.name in str(exc) and "\n" not in str(exc), str(exc)
        outcome = "refused"
        _event(f"refused: {type(exc).__name__}")
    else:
        _check_population(pop, path.name)
        outcome = "read, some rows rejected" if len(pop.rejected) else "read, no row rejected"
        _event(outcome)
    seen[outcome] += 1
    return outcome


_POP_SETTINGS = settings(max_examples=150, deadline=None)


def test_population_rows_never_crash_and_balance(tmp_path, townships, villages):
    """Hostile cells under real MOI header layouts. Refusals and reads with rejected rows must both occur."""
    seen: Counter = Counter()

    @_POP_SETTINGS
    @given(data=pop_rows, header=st.sampled_from(POP_HEADERS),
           encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp950"]), quote=st.booleans())
    def run(data, header, encoding, quote):
        def q(c: str) -> str:
            return '"' + c.replace('"', '""') + '"' if quote or any(ch in c for ch in ',"\n\r') else c

        text = header + "\n" + "\n".join(",".join(q(c) for c in r) for r in data) + "\n"
        path = tmp_path / "pop.csv"
        path.write_bytes(text.encode(encoding, errors="replace"))
        _read_population_or_refuse(path, townships, villages, seen)

    run()
    assert seen["refused"] and seen["read, some rows rejected"], seen


_VALID_POPULATION = (
    "統計年月,區域別代碼,區域別,村里名稱,戶數,人口數,0歲,1歲以上\n"
    "11412,10010010001,嘉義縣太保市,太保里,10,200,2,198\n"
    "11412,10010010002,嘉義縣太保市,後庄里,10,300,3,297\n"
    "11412,,嘉義縣阿里山鄉,香林村,5,100,1,99\n"
)


def test_population_corrupted_bytes(tmp_path, townships, villages):
    """A valid file, re-encoded, truncated and with random bytes overwritten. Some survive and are read."""
    seen: Counter = Counter()

    @_POP_SETTINGS
    @given(
        encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp950", "utf-16", "latin-1", "shift_jis"]),
        cut=st.integers(min_value=0, max_value=400),
        flips=st.lists(st.tuples(st.integers(min_value=0, max_value=400), st.integers(min_value=0, max_value=255)),
                       max_size=6),
        suffix=st.sampled_from([".csv", ".json", ".txt"]),
    )
    def run(encoding, cut, flips, suffix):
        data = bytearray(_VALID_POPULATION.encode(encoding, errors="replace"))[:cut]
        for pos, byte in flips:
            if pos < len(data):
                data[pos] = byte
        path = tmp_path / f"pop{suffix}"
        path.write_bytes(bytes(data))
        _read_population_or_refuse(path, townships, villages, seen)

    run()
    assert seen["refused"] and seen["read, no row rejected"] + seen["read, some rows rejected"], seen


def test_population_json_never_crashes(tmp_path, townships, villages):
    """Arbitrary JSON documents: refused naming the file, or read under the contract."""
    import json

    seen: Counter = Counter()

    @settings(max_examples=100, deadline=None)
    @given(doc=st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
                  st.sampled_from(["1001018", "10010180", "嘉義縣阿里山鄉", "population", "人口數"])),
        lambda kids: st.one_of(st.lists(kids, max_size=4),
                               st.dictionaries(st.sampled_from(["area", "population", "size", "1001018", "區域別",
                                                                "人口數", "TOWNCODE", "age_65plus", "x"]),
                                               kids, max_size=5)),
        max_leaves=20,
    ))
    def run(doc):
        path = tmp_path / "pop.json"
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        _read_population_or_refuse(path, townships, villages, seen)

    run()
    assert seen["refused"], seen


@pytest.mark.parametrize("text", [
    "統計年月,區域別,村里,人口數\n",  # header only
    "統計年月,區域別,村里,人口數\n\n\n",
    "統計年月,區域別,村里,人口數\n11412,嘉義縣太保市,太保里,5,多的欄,又一欄\n",  # extra cells
    "統計年月,區域別,村里,人口數\n11412,嘉義縣太保市\n",  # missing cells
    "統計年月,區域別,村里,人口數\n99999,嘉義縣太保市,太保里,5\n",  # nonsense ROC year-month
    "統計年月,區域別,村里,人口數\n民國一百年,嘉義縣太保市,太保里,5\n",
    "統計年月,區域別,村里,人口數\n11413,嘉義縣太保市,太保里,5\n",  # month 13
    "統計年月,區域別,村里,人口數\n0,嘉義縣太保市,太保里,5\n",
])
def test_population_edge_files(tmp_path, townships, villages, text):
    path = tmp_path / "edge.csv"
    path.write_text(text, encoding="utf-8")
    seen: Counter = Counter()
    _read_population_or_refuse(path, townships, villages, seen)
    assert sum(seen.values()) == 1


def test_population_json_records(tmp_path, townships, villages):
    """The township JSON layout (keyed by 7-digit code) with hostile values: some files are read, with rejections."""
    import json

    seen: Counter = Counter()

    @settings(max_examples=100, deadline=None)
    @given(records=st.dictionaries(
        st.one_of(st.sampled_from(["1001018", "1001001", "6500001", "9999999", "", "abc"]), st.text(max_size=8)),
        st.dictionaries(st.sampled_from(["area", "size", "households", "population", "male", "female", "age_65plus"]),
                        st.one_of(pop_cells, st.integers(-10, 10**7), st.floats(allow_nan=True), st.none(),
                                  st.lists(st.integers(), max_size=2)), max_size=7),
        max_size=6,
    ), as_list=st.booleans())
    def run(records, as_list):
        doc = [{"TOWNCODE": k, **v} for k, v in records.items()] if as_list else records
        path = tmp_path / "towns.json"
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        _read_population_or_refuse(path, townships, villages, seen)

    run()
    assert seen["refused"] and seen["read, some rows rejected"], seen


def test_population_file_size_limit(tmp_path):
    from coverage.errors import UnreadableFileError
    from coverage.population import read_population

    path = tmp_path / "pop.csv"
    path.write_text("TOWNCODE,population\n10010180,5000\n", encoding="utf-8")
    os.truncate(path, 2 * 2**30)
    with pytest.raises(UnreadableFileError, match="pop.csv: file is 2,048 MB, over the 512 MB limit"):
        read_population(path)


# ----------------------------------------------------------------------------- population: stray quotes, duplicates

REAL_VILLAGE_ROWS = [  # real rows of village_population_agegroups_2021-03.csv (MOI 戶政司, 2021-03)
    ("65000010-001", "新北市板橋區", "留侯里", "690,1679,802,877,236,1145,298,1382,21"),
    ("10010010-001", "嘉義縣太保市", "太保里", "1012,2747,1401,1346,317,2017,413,2291,54"),
    ("10010140-001", "嘉義縣竹崎鄉", "竹崎村", "1017,2891,1446,1445,318,2048,525,2437,69"),
    ("10010140-002", "嘉義縣竹崎鄉", "和平村", "819,2566,1334,1232,309,1799,458,2134,60"),
    ("10010140-003", "嘉義縣竹崎鄉", "坑頭村", "271,849,454,395,71,586,192,739,16"),
    ("10020010-001", "嘉義市東區", "荖藤里", "2043,5751,2773,2978,1016,4200,535,4378,147"),
    ("09007010-001", "連江縣南竿鄉", "介壽村", "661,2377,1266,1111,322,1751,304,1934,47"),
]
VILLAGE_HEADER = "年月,村里代碼,區域,村里,戶數,人口,男性人口,女性人口,未滿15歲,15-64歲,超過64歲,超過20歲,18-19歲"


def _village_line(row: tuple[str, str, str, str], code: str | None = None, place: str | None = None,
                  village: str | None = None) -> str:
    return ",".join(["2021-03", row[0] if code is None else code, row[1] if place is None else place,
                     row[2] if village is None else village, row[3]])


def _people(row: tuple[str, str, str, str]) -> int:
    return int(row[3].split(",")[1])


def test_population_stray_quote_never_merges(tmp_path, townships, villages):
    """Real rows with one ``"`` inserted anywhere in the data: every township total is exactly the
    sum of the rows read whole (by their own line numbers); a damaged line is a rejected row."""
    from collections import Counter

    from coverage.population import read_population

    seen: Counter = Counter()

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(picks=st.lists(st.integers(0, len(REAL_VILLAGE_ROWS) - 1), min_size=2, max_size=6, unique=True),
           where=st.integers(0, 10_000), crlf=st.booleans())
    def run(picks, where, crlf):
        rows_ = [REAL_VILLAGE_ROWS[k] for k in picks]
        body = "\n".join(_village_line(r) for r in rows_) + "\n"
        pos = where % len(body)
        body = body[:pos] + '"' + body[pos:]
        text = VILLAGE_HEADER + "\n" + body
        path = tmp_path / "quote.csv"
        path.write_bytes(text.replace("\n", "\r\n" if crlf else "\n").encode("utf-8"))
        pop = read_population(path, townships=townships, villages=villages)
        _check_population(pop, path.name)
        assert pop.rows_read == len(rows_)  # physical data lines, whatever the quote swallowed
        rejected = set(pop.rejected["row"])
        expected: dict[str, int] = {}
        for line, r in enumerate(rows_, start=2):
            if line not in rejected:
                expected[r[0][:8]] = expected.get(r[0][:8], 0) + _people(r)
        assert dict(zip(pop.townships["towncode"], pop.townships["total"], strict=True)) == expected
        for line in rejected:  # a line named as damaged is one the quote touched or swallowed
            reason = " ".join(pop.rejected.loc[pop.rejected["row"] == line, "reason"])
            assert "quote" in reason or "not a whole number" in reason or "cells" in reason, reason
        swallowed = int(pop.rejected["reason"].str.contains("swallows").sum())
        seen["lines swallowed" if swallowed else ("a row rejected" if rejected else "all rows read")] += 1
        event(f"{swallowed} lines swallowed, {len(rejected)} rows rejected")

    run()
    assert seen["lines swallowed"] and seen["all rows read"], seen


SPELLINGS = ["code", "code without dash", "name only", "space in place", "trailing spaces", "台 for 臺",
             "full-width digits"]


def _respell(row: tuple[str, str, str, str], how: str) -> str:
    code, place, village = row[0], row[1], row[2]
    if how == "code without dash":
        return _village_line(row, code=code.replace("-", ""))
    if how == "name only":
        return _village_line(row, code="")
    if how == "space in place":
        return _village_line(row, code="", place=place[:3] + " " + place[3:])
    if how == "trailing spaces":
        return _village_line(row, code="", place=place + " ", village=" " + village + "　")
    if how == "台 for 臺":
        return _village_line(row, code="", place=place.replace("臺", "台"), village=village.replace("臺", "台"))
    if how == "full-width digits":
        return _village_line(row, code=code.translate(str.maketrans("0123456789-", "０１２３４５６７８９－")))
    return _village_line(row)


def test_population_duplicates_in_any_spelling_count_once(tmp_path, townships, villages):
    """Real rows, then some of them again in random spellings: totals as without the copies,
    each copy rejected as a duplicate of its first row."""
    from collections import Counter

    from coverage.population import read_population

    seen: Counter = Counter()

    @settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(picks=st.lists(st.integers(0, len(REAL_VILLAGE_ROWS) - 1), min_size=1, max_size=5, unique=True),
           again=st.lists(st.tuples(st.integers(0, 4), st.sampled_from(SPELLINGS)), min_size=1, max_size=5),
           first_spelling=st.sampled_from(SPELLINGS))
    def run(picks, again, first_spelling):
        rows_ = [REAL_VILLAGE_ROWS[k] for k in picks]
        lines = [_respell(r, first_spelling) for r in rows_]
        copies = [(k % len(rows_), how) for k, how in again]
        lines += [_respell(rows_[k], how) for k, how in copies]
        path = tmp_path / "dups.csv"
        path.write_text(VILLAGE_HEADER + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
        pop = read_population(path, townships=townships, villages=villages)
        _check_population(pop, path.name)
        expected: dict[str, int] = {}
        for r in rows_:
            expected[r[0][:8]] = expected.get(r[0][:8], 0) + _people(r)
        assert dict(zip(pop.townships["towncode"], pop.townships["total"], strict=True)) == expected
        rej = pop.rejected.set_index("row")["reason"]
        for i, (k, how) in enumerate(copies):
            line = len(rows_) + 2 + i
            assert rej[line].startswith(f"duplicate of row {k + 2}: the same village "), (how, rej[line])
        assert sorted(rej.index) == list(range(len(rows_) + 2, len(lines) + 2))
        seen[first_spelling] += 1
        event(f"first written as {first_spelling}; copies as {', '.join(sorted({h for _, h in copies}))}")

    run()
    assert len(seen) >= 3, seen
