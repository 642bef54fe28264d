"""Population readers: every official layout, age groups, matching, rejections, real MOI files."""

from __future__ import annotations

import json

import pytest

from coverage.errors import InputError, UnreadableFileError
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
    with pytest.raises(InputError, match="--age-group.*young_children"):
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
