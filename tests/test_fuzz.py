"""Hostile inputs to the registry and population readers: only the project's own errors, never a crash, nothing lost.

Targets and scenario files are fuzzed in test_plan.py, date forms in test_dates.py. Every property counts its
outcomes and asserts that both the read path and the refusal path were reached."""

from __future__ import annotations

import contextlib
import os
import re
from collections import Counter

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from coverage.errors import CoverageError
from coverage.facilities import read_facilities
from coverage.privacy import is_personal_column

HEADERS = ["類別,名稱,縣市,鄉鎮市區,經度,緯度,啟用日期", "category,name,township,x,y,opened,closed,serves",
           "類別,名稱,鄉鎮市區,個案數,聯絡人,電話,名稱,聯絡人"]
cells = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["=HYPERLINK(\"http://x\")", "+1", "@SUM(A1)", "nan", "inf", "-inf", "1e400", "民國112年13月",
                     "112/02/30", "0", "", "　", "\x00", "\x1b[31m", "臺北縣板橋市", "東區", "嘉義縣阿里山",
                     "120.55", "23.52", "190000", "2600000", "x" * 5000]),
)
rows = st.lists(st.lists(cells, min_size=0, max_size=9), min_size=0, max_size=8)
settings_ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _csv(rows_: list[list[str]], header: str) -> str:
    def q(c: str) -> str:
        return '"' + c.replace('"', '""') + '"'

    return header + "\n" + "\n".join(",".join(q(c) for c in r) for r in rows_) + "\n"


def test_registry_rows_never_crash_and_balance(tmp_path, townships):
    """Rows of hostile cells under real header layouts: refused in one line naming the file, or read with
    every row accepted or rejected (with a reason) and no personal column kept. Both outcomes must occur."""
    seen: Counter = Counter()

    @settings_
    @given(data=rows, header=st.sampled_from(HEADERS), encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp950"]))
    def run(data, header, encoding):
        path = tmp_path / "r.csv"
        path.write_bytes(_csv(data, header).encode(encoding, errors="replace"))
        try:
            reg = read_facilities(path, townships=townships)
        except CoverageError as exc:
            assert "\n" not in str(exc) and "r.csv" in str(exc), str(exc)
            seen["refused"] += 1
            event(f"refused: {type(exc).__name__}")
            return
        assert reg.rows_read == len(reg.facilities) + reg.rejected.groupby("file")["row"].nunique().sum()
        assert set(reg.rejected.columns) >= {"file", "row", "field", "value", "reason"}
        assert reg.rejected["reason"].str.len().gt(0).all()
        assert not [c for c in reg.facilities.columns if is_personal_column(c)]
        cases = reg.facilities["cases"].dropna()
        assert (cases >= 0).all() and (cases == cases.round()).all()
        outcome = "read, some rows rejected" if len(reg.rejected) else "read, no row rejected"
        seen[outcome] += 1
        event(outcome)

    run()
    assert seen["read, some rows rejected"] and seen["refused"], seen


def test_random_bytes_are_refused_cleanly(tmp_path, townships):
    """Random bytes under a reader's suffix: refused naming the file (or, rarely, read with counts balancing)."""
    seen: Counter = Counter()

    @settings_
    @given(blob=st.binary(max_size=2000), suffix=st.sampled_from([".csv", ".xlsx", ".geojson", ".gpkg", ".txt"]))
    def run(blob, suffix):
        path = tmp_path / f"junk{suffix}"
        path.write_bytes(blob)
        try:
            reg = read_facilities(path, townships=townships)
        except CoverageError as exc:
            assert "junk" in str(exc) and "\n" not in str(exc), str(exc)
            seen["refused"] += 1
            event(f"refused: {type(exc).__name__}")
            return
        assert reg.rows_read == len(reg.facilities) + reg.rejected.groupby("file")["row"].nunique().sum()
        seen["read"] += 1
        event("read")

    run()
    assert seen["refused"], seen


# ----------------------------------------------------------------------------- population files

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


# ----------------------------------------------------------------------------- registry: coordinates and dates

COORD_FORMS = ["wgs84", "wgs84 swapped", "twd97", "twd97 swapped", "twd97 in lon/lat", "twd67", "nan", "inf"]


def _coordinate_cells(lon: float, lat: float, form: str) -> tuple[str, str, str, str]:
    """(lon, lat, x, y) cells of a point written in ``form``."""
    from pyproj import Transformer

    if form in ("nan", "inf"):
        return form, f"{lat:.6f}", "", ""
    if form.startswith("wgs84"):
        a, b = f"{lon:.6f}", f"{lat:.6f}"
        return (b, a, "", "") if "swapped" in form else (a, b, "", "")
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3826", always_xy=True).transform(lon, lat)
    if form == "twd67":  # EPSG's TWD97 → TWD67 transformation (TM2 zone 121), as old registries hold
        x, y = Transformer.from_crs("EPSG:3826", "EPSG:3828", always_xy=True).transform(x, y)
    a, b = f"{x:.2f}", f"{y:.2f}"
    if form == "twd97 in lon/lat":
        return a, b, "", ""
    return ("", "", b, a) if "swapped" in form else ("", "", a, b)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.tuples(st.integers(0, 367), st.sampled_from(COORD_FORMS)), min_size=1, max_size=6),
       duplicate_header=st.booleans())
def test_registry_coordinate_systems(tmp_path, townships, picks, duplicate_header):
    """WGS84, TWD97 (also swapped, or in the lon/lat columns) land in the right township; undeclared
    TWD67 (read as TWD97, about 850 m off) never lands farther than 1.5 km; NaN/inf are rejected."""
    reps = townships.set_index("towncode").geometry.representative_point()
    header = "類別,名稱,經度,緯度,X,Y" + (",名稱,經度" if duplicate_header else "")
    lines, truth = [header], {}
    for i, (k, form) in enumerate(picks):
        code = reps.index[k]
        pt = reps.iloc[k]
        cells = _coordinate_cells(pt.x, pt.y, form)
        lines.append(",".join(["小衛星", f"點{i}", *cells] + (["別名", "1"] if duplicate_header else [])))
        truth[f"點{i}"] = (code, form, pt)
    path = tmp_path / "coords.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    reg = read_facilities(path, townships=townships)
    assert reg.rows_read == len(reg.facilities) + reg.rejected["row"].nunique() == len(picks)
    accepted = reg.facilities.set_index("name")
    for name, (code, form, pt) in truth.items():
        event(form)
        if form in ("nan", "inf"):
            assert name not in accepted.index
            continue
        if form == "twd67":
            if name in accepted.index:
                row = accepted.loc[name]
                assert abs(row["lon"] - pt.x) < 0.016 and abs(row["lat"] - pt.y) < 0.014
            continue
        assert name in accepted.index, reg.rejected
        assert accepted.loc[name, "towncode"] == code, (form, accepted.loc[name, "note"])
    if duplicate_header:
        assert "名稱" in reg.facilities.columns  # the second 名稱 column kept under its own name


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.integers(0, 367), min_size=1, max_size=6))
def test_declared_twd67_lands_in_its_township(tmp_path, townships, picks):
    """TWD67 TM2 metres declared with xy_datum="TWD67" land in the right township (main island)."""
    main = townships[~townships["island"]].set_index("towncode").geometry.representative_point()
    lines = ["類別,名稱,X,Y"]
    for i, k in enumerate(picks):
        _, _, x, y = _coordinate_cells(main.iloc[k % len(main)].x, main.iloc[k % len(main)].y, "twd67")
        lines.append(f"小衛星,點{i},{x},{y}")
    path = tmp_path / "twd67.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    got = read_facilities(path, townships=townships, xy_datum="TWD67").facilities.set_index("name")["towncode"]
    assert [got[f"點{i}"] for i in range(len(picks))] == [main.index[k % len(main)] for k in picks]


@pytest.mark.parametrize("text", ["2023-02-30", "112/13/01", "民國112年13月", "0000-00-00", "2101-01-01", "1899",
                                  "12345678", "1", "昨天", "2023-07-01-01", "--", "９９９９", "1e5", "2023/7/1 25:00"])
def test_nonsense_dates_are_rejected_with_the_value(tmp_path, townships, text):
    path = tmp_path / "dates.csv"
    path.write_text(f'類別,名稱,鄉鎮市區,啟用日期\n小衛星,甲,嘉義縣竹崎鄉,"{text}"\n', encoding="utf-8")
    reg = read_facilities(path, townships=townships)
    assert reg.facilities.empty
    assert reg.rejected[["row", "field", "value"]].values.tolist() == [[2, "opened", text.replace("９", "9")]]


# ----------------------------------------------------------------------------- absurd sizes

_MEASURE = """
import json, resource, sys
from coverage.errors import CoverageError
from coverage.tabular import read_table
import pandas, pyarrow, geopandas  # noqa: F401  (imports out of the baseline)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    outcome = f"read {len(read_table(sys.argv[1]))} rows"
except CoverageError as exc:
    outcome = str(exc)
grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
print(json.dumps({"outcome": outcome, "grew_mb": grew}))
"""


def _read_in_child(path, **env):
    """(outcome, MB the peak resident memory grew by) of read_table in a fresh process."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, cwd=repo,
                          env={**os.environ, **env}, check=True)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return out["outcome"], out["grew_mb"]


def test_two_gigabyte_file_refused_before_reading(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_bytes("類別,名稱,鄉鎮市區\n小衛星,甲,嘉義縣竹崎鄉\n".encode())
    os.truncate(path, 2 * 2**30)  # sparse: no 2 GB written
    outcome, grew = _read_in_child(path)
    assert "huge.csv: file is 2,048 MB, over the 512 MB limit" in outcome and "SAFETYNET_MAX_FILE_MB" in outcome
    assert grew < 50


def test_too_many_rows_refused_as_soon_as_counted(tmp_path):
    """Past the row limit the rest of the file is never read: here 1.9 GB of it (a sparse hole),
    which reading the file whole would have put in memory."""
    path = tmp_path / "rows.csv"
    path.write_bytes("類別,名稱,鄉鎮市區\n".encode() + b"x,y,z\n" * 400_000)  # 2.3 MB of lines
    os.truncate(path, int(1.9 * 2**30))
    outcome, grew = _read_in_child(path, SAFETYNET_MAX_ROWS="1000", SAFETYNET_MAX_FILE_MB="4096")
    assert "rows.csv: more than 1,000 lines, over the 1,000-row limit" in outcome
    assert grew < 50


def test_large_registry_read_in_bounded_memory(tmp_path):
    """300,000 rows (25 MB): the table of clean strings costs a few times the file, not ~15×
    as a list of Python cells did (benchmarks/memory.py measures a million rows)."""
    path = tmp_path / "large.csv"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("類別,名稱,鄉鎮市區,經度,緯度,啟用日期,個案數\n")
        fh.writelines(f"小衛星,據點{i},嘉義縣竹崎鄉,120.5512,23.5231,112/07/01,{i % 50}\n" for i in range(300_000))
    size_mb = path.stat().st_size / 2**20
    outcome, grew = _read_in_child(path)
    assert outcome == "read 300000 rows"
    assert grew < 5 * size_mb, (grew, size_mb)


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
