"""coverage.sitingio: the people a siting weighs, the data state of its county × programme, the files it writes —
moved out of the command line (issue 17 loose ends) and checked here on the real bundled data."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
import pytest
from typer.testing import CliRunner

from coverage.cli import app
from coverage.errors import InputError
from coverage.sitingio import SITING_OBJECTIVES, record_data_state, village_population, write_siting
from coverage.vocabulary import DATA_LABELS

AS_OF = "2025-12-31"
VILLAGE_FILE = "village_population_agegroups_2021-03.csv"


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


# ----------------------------------------------------------------------------- village_population


@pytest.fixture(scope="module")
def village_file(shared_data):
    return shared_data / "population" / VILLAGE_FILE


def test_village_population_weighs_the_objective(village_file):
    """Everyone for population/townships, the children (0–17) for children; one figure per boundary village."""
    from coverage.population import read_population

    everyone = village_population(village_file)
    children = village_population(village_file, objective="children")
    assert village_population(village_file, objective="townships").equals(everyone)
    assert everyone.index.name == "villcode" and everyone.index.is_unique and len(everyone) == 7701
    pop = read_population(village_file)
    assert int(everyone.sum()) == int(pop.villages["total"].sum())
    assert int(children.sum()) == int(pop.villages["children"].sum())
    assert (children <= everyone).all() and 0 < children.sum() < everyone.sum()


def test_village_population_refuses_a_township_file(shared_data):
    path = shared_data / "population" / "township_population_agegroups_2022-08.csv"
    with pytest.raises(InputError, match=r"^township_population_agegroups_2022-08\.csv: siting needs people per "
                                         r"village; this is a township-level file"):
        village_population(path)


@pytest.mark.parametrize("objective", ["people", "Population", "", "--objective"])
def test_village_population_unknown_objective_names_the_parameter(objective):
    """Checked before the file is read (the path does not exist); the message names objective=, never a flag."""
    with pytest.raises(InputError) as info:
        village_population("no_such_file.csv", objective=objective)
    message = str(info.value)
    assert message.startswith(f"objective={objective!r}: expected one of ")
    assert all(o in message for o in SITING_OBJECTIVES) and "--objective" not in message.replace(repr(objective), "")


_MANGLED = {"examples": 0, "refused": 0}


def _small_village_file(village_file, tmp_path, kind: str, row: int, text: str):
    lines = village_file.read_text(encoding="utf-8").splitlines()[:25]
    head, body = lines[0].split(","), [line.split(",") for line in lines[1:]]
    r = row % len(body)
    if kind == "stray quote":
        body[r][3] = '"' + body[r][3]
    elif kind == "bad number":
        body[r][5] = text or "x"
    elif kind == "blank code":
        body[r][1] = ""
    elif kind == "short row":
        body[r] = body[r][:4]
    elif kind == "no total column":
        head, body = head[:5] + head[6:], [b[:5] + b[6:] for b in body]
    path = tmp_path / f"village_{kind.replace(' ', '_')}.csv"
    path.write_text("\n".join(",".join(x) for x in [head, *body]) + "\n", encoding="utf-8")
    return path


def test_village_population_of_malformed_files_is_a_series_or_one_input_error(village_file, tmp_path):
    """Real MOI rows, one of them broken (stray quote, text where a number is, blank code, short row, a column
    missing): people per village or an InputError naming the file — never another exception, never a negative."""
    from hypothesis import event, given, settings
    from hypothesis import strategies as st

    kinds = ["stray quote", "bad number", "blank code", "short row", "no total column"]

    @settings(max_examples=25, deadline=None, database=None)
    @given(kind=st.sampled_from(kinds), row=st.integers(0, 30), text=st.sampled_from(["", "-5", "1,2", "abc", "1e3"]))
    def check(kind, row, text):
        path = _small_village_file(village_file, tmp_path, kind, row, text)
        try:
            people = village_population(path)
        except InputError as exc:
            assert path.name in str(exc) and "\n" not in str(exc).strip()
            _MANGLED["refused"] += 1
            event(f"{kind}: refused")
        else:
            assert people.index.name == "villcode" and (people >= 0).all()
            event(f"{kind}: read")
        _MANGLED["examples"] += 1

    check()
    assert _MANGLED["examples"] >= 20  # read_population keeps bad rows as rejections: most files are read


# ----------------------------------------------------------------------------- record_data_state


@pytest.fixture(scope="module")
def chiayi_report():
    from coverage import run_coverage

    return run_coverage(counties=["嘉義縣"], as_of=AS_OF)


@pytest.mark.parametrize(("category", "state"), [
    ("community_support_point", "complete"), ("welfare_centre", "complete"), ("mental_health_centre", "partial"),
])
def test_record_data_state_of_the_bundled_registry(chiayi_report, category, state):
    """The state recorded is the report's (geodata/registry_completeness.csv for the bundled registry); the note
    is there exactly when the data are not complete, and names the parameter facilities=, not a flag."""
    plan = SimpleNamespace(summary={"county": "嘉義縣", "category": category})
    note = record_data_state(plan, chiayi_report)
    assert plan.summary["data"] == state
    row = chiayi_report.counties[(chiayi_report.counties["county"] == "嘉義縣")
                                 & (chiayi_report.counties["category"] == category)]
    assert row["data"].iloc[0] == state
    if state == "complete":
        assert note is None
    else:
        assert note.startswith(f"{DATA_LABELS[state]} partial data: ") and "'before' is a floor" in note
        assert note.endswith("with facilities=") and "--" not in note


def test_record_data_state_of_a_pair_the_report_does_not_have(chiayi_report):
    plan = SimpleNamespace(summary={"county": "臺北市", "category": "welfare_centre"})
    assert record_data_state(plan, chiayi_report) is None and plan.summary["data"] == "complete"


def test_site_without_data_notes_it_with_the_flag(tmp_path, shared_data):
    """On the command line the note of a county × programme with no data names --facilities (translated from
    facilities=), and sites.json records the state."""
    out = tmp_path / "out"
    result = run("site", "-c", "苗栗縣", "--category", "community_support_point", "--facilities",
                 shared_data / "registries" / "welfare_centers_national.geojson", "--as-of", AS_OF, "--no-map",
                 "-o", out)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "無資料 no data: no registry read has a point of this programme in the county" in text
    assert "give the county's registry with --facilities if it has points" in text and "facilities=" not in text
    assert json.loads((out / "sites.json").read_text(encoding="utf-8"))["summary"]["data"] == "none"


# ----------------------------------------------------------------------------- write_siting


@pytest.fixture(scope="module")
def chiayi_plan(chiayi_report):
    from coverage import load_townships, load_villages, site_new_points

    plan = site_new_points(chiayi_report.registry.facilities, load_townships(), load_villages(), county="嘉義縣",
                           category="community_support_point", new=None, objective="townships",
                           as_of=chiayi_report.as_of)
    record_data_state(plan, chiayi_report)
    return plan


def test_write_siting_writes_what_site_writes(chiayi_report, chiayi_plan, tmp_path):
    """The library's files are the command's: sites.csv byte for byte; sites.json the same but for the solver's
    time; the map only when asked; no temporary part left behind."""
    lib = tmp_path / "lib"
    paths = write_siting(chiayi_report, chiayi_plan, lib, site_map=False)
    assert paths == [lib / "sites.csv", lib / "sites.json"] and sorted(p.name for p in lib.iterdir()) == [
        "sites.csv", "sites.json"]
    cli = tmp_path / "cli"
    result = run("site", "-c", "嘉義縣", "--category", "小衛星", "--as-of", AS_OF, "--no-map", "-o", cli)
    assert result.exit_code == 0, result.output
    assert (lib / "sites.csv").read_bytes() == (cli / "sites.csv").read_bytes()
    mine, theirs = (json.loads((d / "sites.json").read_text(encoding="utf-8")) for d in (lib, cli))
    for s in (mine, theirs):
        s["summary"].pop("solve_seconds")
    assert mine == theirs
    sites = pd.read_csv(lib / "sites.csv", dtype={"towncode": str})
    assert list(sites["township"]) == ["阿里山鄉"]  # the one township 嘉義縣's 小衛星 miss


def test_write_siting_with_the_map(chiayi_report, chiayi_plan, tmp_path):
    paths = write_siting(chiayi_report, chiayi_plan, tmp_path, site_map=True, offline=True)
    assert [p.name for p in paths] == ["sites.csv", "sites.json", "sites_嘉義縣_community_support_point.html"]
    assert all(p.stat().st_size for p in paths) and (tmp_path / "lib").is_dir()
    assert not list(tmp_path.rglob("*.part"))
    summary = json.loads(paths[1].read_text(encoding="utf-8"))["summary"]
    assert summary["data"] == "complete" and summary["county"] == "嘉義縣"
